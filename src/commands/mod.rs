//! One module per command; each returns the exit code or a [`CliError`].

mod bench;
mod dead_letters;
mod history;
mod ingest;
mod journal;
mod sim;
mod state;

use crate::args::{Cli, Command, JournalCommand, SimCommand};
use crate::error::CliError;
use std::path::Path;
use std::process::ExitCode;
use waybill_core::engine::{self, Replayed, Until};

pub fn run(cli: Cli) -> Result<ExitCode, CliError> {
    match cli.command {
        Command::Ingest(a) => ingest::run(a),
        Command::State(a) => state::run(a),
        Command::History(a) => history::run(a),
        Command::Journal(JournalCommand::Verify(a)) => journal::verify(a),
        Command::Journal(JournalCommand::Dump(a)) => journal::dump(a),
        Command::DeadLetters(a) => dead_letters::run(a),
        Command::Sim(SimCommand::Run(a)) => sim::run(a),
        Command::Bench(a) => bench::run(a),
        Command::Sim(SimCommand::Export(a)) => sim::export(a),
    }
}

/// A `--journal` path that exists must be a directory (a missing one is reported by the
/// command: "no journal", or created by `ingest`).
pub fn check_journal_dir(dir: &Path) -> Result<(), CliError> {
    match std::fs::metadata(dir) {
        Ok(m) if !m.is_dir() => Err(CliError::Usage(format!(
            "--journal {} is not a directory (a journal is a directory of segment files)",
            dir.display()
        ))),
        _ => Ok(()),
    }
}

/// Replays the journal read-only, turning a missing journal into a clear usage error.
pub fn replay_with(
    dir: &Path,
    until: Until,
    visit: impl FnMut(&engine::Visit<'_>),
) -> Result<Replayed, CliError> {
    match engine::replay_with(dir, until, visit) {
        Ok(r) => {
            if let Some(t) = &r.torn_tail {
                eprintln!("waybill: note: {t} (cut when a writer next opens the journal)");
            }
            Ok(r)
        }
        Err(e) => Err(e.into()),
    }
}
