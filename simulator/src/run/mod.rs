//! Driving a scenario through the core: generate the world, deliver it through the faulty
//! network, submit every delivery to a real [`Core`](waybill_core::engine::Core) (as wire
//! bytes, decoded like any input), crash and reopen where the scenario says, measure, then
//! check everything.
//!
//! The journal sees only deterministic inputs: each record's ingest time is the simulated
//! arrival time of its delivery, so the same scenario and seed give byte-identical journal
//! files whatever the batching or the machine's speed (unless a crash fault repeats records).
//!
//! - [`ingest`]: the decoder thread and the loop that feeds the core.
//! - [`crash`]: the crash schedule, the reopen and the redelivery of what was not acknowledged.
//! - [`ledger`]: the producers' account of hand-overs, acknowledgements and what crashes cut.
//! - [`expected`]: the counters the core must show, from the deliveries the journal must hold.
//! - [`latency`]: pacing (intended send times), histograms and timeline buckets.
//! - [`effects`]: the outbox's lanes polled in simulated time; [`release`]: when they may read
//!   a committed record; [`downstream`]: the simulated receivers; [`effect_log_cut`]: what a
//!   power cut does to the effect log.
//! - [`derived`]: the effects of the live core's log and of a replay; [`effect_checks`],
//!   [`effect_truth`], [`sink_outage_checks`]: the effect checks; [`effect_verdict`]: them all;
//!   [`effect_report`] and [`sla`]: the report's effects section.
//! - [`observe`]: reading the core after the run; the shuffled-order digest.
//! - [`money`]: money totals per currency against the ground truth; leakage per currency.
//! - [`verdict`]: the checklist of a run and the report it becomes; [`timeline`]: its charts' series.
//! - [`sabotage`]: ways to make the core misbehave, so tests prove each check can fail.

mod crash;
mod derived;
mod downstream;
mod effect_checks;
mod effect_log_cut;
mod effect_report;
mod effect_truth;
mod effect_verdict;
mod effects;
mod expected;
mod ingest;
mod latency;
mod ledger;
mod money;
mod observe;
mod release;
mod sabotage;
mod sink_outage_checks;
mod sla;
mod timeline;
mod verdict;

pub use sabotage::Sabotage;

use crate::network::{self, Stream};
use crate::report::{Progress, ProgressOptions};
use crate::scenario::Scenario;
use crate::world::{self, World};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;
use waybill_core::engine::CoreError;
use waybill_core::journal::JournalOptions;

#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Overrides the scenario's seed.
    pub seed: Option<u64>,
    /// Journal directory; a fresh temporary one when None (removed after a passing run).
    pub journal: Option<PathBuf>,
    /// Draw a one-line progress display on stderr (give it only when stderr is a terminal).
    pub progress: Option<ProgressOptions>,
    pub sabotage: Sabotage,
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// Bad usage (exit 2).
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error("{0}")]
    Io(String),
    #[error("effect delivery: {0}")]
    Outbox(#[from] waybill_core::outbox::OutboxError),
}

/// The world and its delivered stream.
pub struct Prepared {
    pub seed: u64,
    pub world: World,
    pub stream: Stream,
    pub generate_seconds: f64,
}

pub fn prepare(scenario: &Scenario, seed: u64) -> Prepared {
    let t0 = Instant::now();
    let world = world::generate(scenario, seed);
    let stream = network::deliver(&world, scenario, seed);
    Prepared {
        seed,
        world,
        stream,
        generate_seconds: t0.elapsed().as_secs_f64(),
    }
}

/// Writes the stream as delivered to the core (faults included, crashes aside), in arrival
/// order, one JSON line per delivery. Returns the number of lines.
pub fn export(scenario: &Scenario, seed: u64, out: &mut dyn Write) -> std::io::Result<u64> {
    let p = prepare(scenario, seed);
    let mut line = Vec::with_capacity(1024);
    for d in &p.stream.deliveries {
        line.clear();
        network::encode(&p.world, &p.stream.wire, d, &mut line);
        line.push(b'\n');
        out.write_all(&line)?;
    }
    out.flush()?;
    Ok(p.stream.deliveries.len() as u64)
}

/// Runs `scenario` through a real core and checks it.
///
/// Without [`RunOptions::journal`] the run journals into a fresh temporary directory, which
/// is removed afterwards unless the run completed and failed a check (the report then names
/// it, for inspection).
pub fn run(scenario: &Scenario, opts: &RunOptions) -> Result<crate::report::Report, SimError> {
    let seed = opts.seed.unwrap_or(scenario.seed);
    let (journal_dir, temporary) = match &opts.journal {
        Some(d) => (d.clone(), false),
        None => (temp_journal_dir(), true),
    };
    if holds_journal(&journal_dir) {
        return Err(SimError::Usage(format!(
            "{} already holds a journal; a simulation needs a fresh one",
            journal_dir.display()
        )));
    }
    let mut progress = Progress::new(opts.progress.clone());
    progress.phase("generating the world and its delivery");
    let prepared = prepare(scenario, seed);
    let buckets = latency::buckets_for(&prepared.stream, scenario);
    let ingested = ingest::ingest(
        scenario,
        &prepared,
        &journal_dir,
        &buckets,
        opts,
        &mut progress,
    );
    let (mut ingested, live) = match ingested {
        Ok(x) => x,
        Err(e) => {
            remove_temporary(&journal_dir, temporary);
            return Err(e);
        }
    };

    opts.sabotage
        .falsify_receipts(&mut ingested.effects.receivers);
    let t_check = Instant::now();
    let ended = verdict::Ended {
        scenario,
        prepared: &prepared,
        dir: &journal_dir,
        ingested: &ingested,
        buckets: &buckets,
        live: &live,
    };
    let checked = verdict::check_run(&ended, opts.sabotage, &mut progress);
    drop(live);
    progress.clear();
    let mut report = match checked {
        Ok(r) => r,
        Err(e) => {
            remove_temporary(&journal_dir, temporary);
            return Err(e);
        }
    };
    report.throughput.check_seconds = t_check.elapsed().as_secs_f64();
    report.journal = journal_dir.display().to_string();
    if temporary && report.passed {
        remove_temporary(&journal_dir, temporary);
        report.journal = format!(
            "{} (temporary, removed after the run passed)",
            journal_dir.display()
        );
    }
    Ok(report)
}

/// Removes a temporary journal (never one the user named).
fn remove_temporary(dir: &Path, temporary: bool) {
    if temporary {
        let _ = std::fs::remove_dir_all(dir);
    }
}

fn temp_journal_dir() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    std::env::temp_dir().join(format!("waybill-sim-{}-{nanos}", std::process::id()))
}

/// True when `dir` already holds journal segments (a run needs a fresh journal).
pub fn holds_journal(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut it| {
        it.any(|e| e.is_ok_and(|e| e.path().extension().is_some_and(|x| x == "seg")))
    })
}

/// Opens the core of a run on `disk`, with the scenario's journal options and snapshot policy.
fn open_core(
    dir: &std::path::Path,
    scenario: &Scenario,
    disk: std::sync::Arc<waybill_core::journal::storage::SimulatedDisk>,
) -> Result<waybill_core::engine::Core, waybill_core::engine::CoreError> {
    let mut core =
        waybill_core::engine::Core::open_with_storage(dir, journal_options(scenario), disk)?;
    if scenario.run.snapshot_every > 0 {
        core.set_snapshot_policy(waybill_core::snapshot::policy::SnapshotPolicy {
            every_records: scenario.run.snapshot_every,
            on_close_min_records: u64::MAX,
            keep: 2,
        });
    }
    Ok(core)
}

fn journal_options(scenario: &Scenario) -> JournalOptions {
    JournalOptions {
        segment_bytes: scenario.run.segment_bytes,
        durability: scenario.run.durability,
        ..JournalOptions::default()
    }
}
