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
