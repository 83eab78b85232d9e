//! The restart curve of `waybill bench --only restart` (docs/cli.md): one journal grown in
//! steps to 1/20, 1/4, 1/2 and all of the run's events; at each step a snapshot near the end
//! (a tail of 1 % of the events after it), then the restart from it (`Core::open`) and the
//! full replay it saves (`replay_with`, which uses no snapshot), each timed.

use super::paths::{self, SNAPSHOTS_KEPT, feed, ms};
use super::{BATCH_EVENTS, settle};
use serde::Serialize;
use std::path::Path;
use std::time::Instant;
use waybill_core::engine::{self, Core, Until};
use waybill_core::event::Entry;
use waybill_core::journal::{JournalOptions, JournalReader};

/// The journal sizes of the curve, as shares (numerator, denominator) of the run's events.
pub const STEP_SHARES: [(usize, usize); 4] = [(1, 20), (1, 4), (1, 2), (1, 1)];
/// The tail after each step's snapshot is 1/`TAIL_DIVISOR` of the run's events.
pub const TAIL_DIVISOR: usize = 100;

/// One step of the curve.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RestartPoint {
    /// Records in the journal (one per event).
    pub events: u64,
    /// Bytes its records occupy in the segments (frames and padding; as
    /// `journal_bytes_per_record` counts them).
    pub journal_bytes: u64,
    /// The LSN of the snapshot the restart loaded.
    pub snapshot_lsn: u64,
    /// Records the restart replayed after the snapshot.
    pub tail_records: u64,
    /// `Core::open`: the snapshot loaded, then the tail.
    pub restart_ms: f64,
    /// A replay of every record, no snapshot used.
    pub restart_full_ms: f64,
}

/// The journal sizes of the curve for a run of `n` events: each share of `n` (at least one
/// event), increasing, without repeats (a tiny run has fewer steps).
pub fn step_events(n: usize) -> Vec<usize> {
    let mut steps: Vec<usize> = STEP_SHARES
        .iter()
        .map(|&(num, den)| (n * num / den).max(1))
        .collect();
    steps.dedup();
    debug_assert!(steps.windows(2).all(|w| w[0] < w[1]), "{steps:?}");
    steps
}

/// The records after each step's snapshot (at most what the step adds, at least one when it
/// adds any besides the snapshot's own record).
fn tail_records(n: usize) -> usize {
    (n / TAIL_DIVISOR).max(1)
}

/// Grows one journal in `dir` to each step of [`step_events`] of `entries` and measures the
/// restarts there; `progress` gets a line per step.
pub fn curve(
    entries: &[Entry],
    dir: &Path,
    opts: JournalOptions,
    progress: &mut impl FnMut(&str),
) -> Vec<RestartPoint> {
    let n = entries.len();
    let tail = tail_records(n);
    let mut core = Core::open(dir, opts.clone()).expect("open journal");
    let mut batches = 0i64;
    let mut points = Vec::new();
    for events in step_events(n) {
        let at = core.machine().lsn() as usize;
        debug_assert!(at < events, "each step adds records");
        let snap_at = events.saturating_sub(tail).max(at).max(1);
        core = ingest(core, &entries[at..snap_at], &mut batches);
        let (_, snapshot_lsn) = core.snapshot(SNAPSHOTS_KEPT).expect("snapshot");
        debug_assert_eq!(snapshot_lsn, snap_at as u64);
        core = ingest(core, &entries[snap_at..events], &mut batches);
        core.flush().expect("flush");
        drop(core);
        let (point, reopened) = measure(dir, &opts, events as u64, snapshot_lsn);
        core = reopened;
        progress(&format!(
            "restart at {:>11} events: {:>9.1} ms from the snapshot at lsn {} ({} replayed), \
             {:>9.1} ms in full",
            point.events,
            point.restart_ms,
            point.snapshot_lsn,
            point.tail_records,
            point.restart_full_ms
        ));
        points.push(point);
    }
    points
}

/// Feeds `entries` to `core` through a pipeline, batch times following on from `batches`.
fn ingest(core: Core, entries: &[Entry], batches: &mut i64) -> Core {
    let core = feed(core, entries, *batches);
    *batches += entries.len().div_ceil(BATCH_EVENTS) as i64;
    core
}

/// The restart of the closed journal in `dir` holding `events` records, its snapshot at
/// `snapshot_lsn`, then its full replay; returns the point and the reopened core.
fn measure(
    dir: &Path,
    opts: &JournalOptions,
    events: u64,
    snapshot_lsn: u64,
) -> (RestartPoint, Core) {
    settle();
    let t0 = Instant::now();
    let core = Core::open(dir, opts.clone()).expect("reopen journal");
    let restart_ms = ms(t0);
    let used = core.snapshots();
    assert_eq!(
        used.loaded.as_ref().map(|l| l.1),
        Some(snapshot_lsn),
        "{used:?}"
    );
    assert_eq!(core.machine().lsn(), events);
    let tail_records = used.replayed;
    assert_eq!(tail_records, events - snapshot_lsn, "the tail");
    let t0 = Instant::now();
    let full = engine::replay_with(dir, Until::End, |_| {}).expect("replay");
    let restart_full_ms = ms(t0);
    assert_eq!(full.machine.lsn(), events);
    assert_eq!(full.snapshots.loaded, None, "a full replay");
    drop(full);
    let reader = JournalReader::open(dir).expect("read journal");
    let (records, journal_bytes) =
        paths::record_bytes(reader.records().map(|r| r.expect("an undamaged journal")));
    assert_eq!(records, events, "a record per event");
    let point = RestartPoint {
        events,
        journal_bytes,
        snapshot_lsn,
        tail_records,
        restart_ms,
        restart_full_ms,
    };
    (point, core)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_the_shares_of_the_run() {
        assert_eq!(
            step_events(20_000_000),
            [1_000_000, 5_000_000, 10_000_000, 20_000_000]
        );
        assert_eq!(step_events(20_000), [1_000, 5_000, 10_000, 20_000]);
        assert_eq!(step_events(10), [1, 2, 5, 10]);
        assert_eq!(step_events(2), [1, 2]);
        assert_eq!(step_events(1), [1]);
        assert_eq!(tail_records(20_000), 200);
        assert_eq!(tail_records(10), 1);
    }
}
