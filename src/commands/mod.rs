//! One module per command; each returns the exit code or a [`CliError`].

mod bench;
mod cluster;
mod dead_letters;
mod effects;
mod history;
mod ingest;
mod journal;
mod live_effects;
mod load;
mod schema;
mod serve;
mod sim;
mod snapshot;
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
        Command::Journal(JournalCommand::Archive(a)) => journal::archive(a),
        Command::DeadLetters(a) => dead_letters::run(a),
        Command::Effects(a) => effects::run(a),
        Command::Snapshot(a) => snapshot::run(a),
        Command::Sim(SimCommand::Run(a)) => sim::run(a),
        Command::Bench(a) => bench::run(a),
        Command::Serve(a) => serve::run(a),
        Command::Load(a) => load::run(a),
        Command::Cluster(c) => cluster::run(c),
        Command::Schema(a) => schema::run(a),
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

/// Replays the journal read-only from its newest usable snapshot (warning about those
/// skipped), turning a missing journal into a clear usage error.
pub fn replay(dir: &Path, until: Until) -> Result<Replayed, CliError> {
    let r = engine::replay(dir, until)?;
    note_replayed(&r);
    Ok(r)
}

/// Warnings about what a replay found: snapshots skipped, a torn tail.
fn note_replayed(r: &Replayed) {
    warn_skipped(&r.snapshots.skipped);
    if let Some(t) = &r.torn_tail {
        eprintln!("waybill: note: {t} (cut when a writer next opens the journal)");
    }
}

/// One warning per snapshot passed over (the state is still right: an older snapshot or a
/// longer replay stood in).
pub fn warn_skipped(skipped: &[waybill_core::snapshot::Skipped]) {
    for s in skipped {
        eprintln!("waybill: warning: skipped {}", s.why);
    }
}

/// Replays the journal read-only, turning a missing journal into a clear usage error.
pub fn replay_with(
    dir: &Path,
    until: Until,
    visit: impl FnMut(&engine::Visit<'_>),
) -> Result<Replayed, CliError> {
    let r = engine::replay_with(dir, until, visit)?;
    note_replayed(&r);
    if let Some((path, lsn)) = &r.snapshots.loaded {
        // Only an archived journal starts a visiting replay from a snapshot.
        eprintln!(
            "waybill: note: the journal's first segments were archived: records up to lsn {lsn} are not listed (the state starts from {})",
            path.display()
        );
    }
    Ok(r)
}
