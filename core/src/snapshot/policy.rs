//! When a writer takes snapshots, and the thread that takes them without stopping it.
//!
//! The writer never serializes its own state while ingesting: it asks a background thread
//! for a snapshot at an LSN its journal already holds on disk, and that thread rebuilds the
//! machine read-only from the newest snapshot and the journal's records up to there (replay
//! equals live, so this is the writer's own machine at that LSN) and writes it. The writer's
//! cost is one message; the snapshot's cost is a replay of the records since the previous
//! snapshot, and a second copy of the state while it is written. At most one snapshot is
//! being taken at a time; asks while one runs are dropped (the next ask covers them).

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::thread::JoinHandle;

use super::SNAPSHOTS_KEPT_DEFAULT;

/// When a writer takes snapshots. Snapshots cost disk (about the size of the state each) and
/// save replay: restart replays at most `every_records` records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotPolicy {
    /// Ask for a snapshot (off the writer) once this many records were appended since the
    /// last one asked for; 0: never while ingesting.
    pub every_records: u64,
    /// At a clean close, write one when at least this many records were appended since the
    /// last; `u64::MAX`: never.
    pub on_close_min_records: u64,
    /// Snapshots kept (the newest; at least 1).
    pub keep: usize,
}

/// Default of [`SnapshotPolicy::every_records`]: at the bench's pace, a snapshot every few
/// seconds of full-speed ingest, so a restart replays seconds, not hours.
pub const SNAPSHOT_EVERY_RECORDS_DEFAULT: u64 = 5_000_000;
/// Default of [`SnapshotPolicy::on_close_min_records`]: short runs leave no snapshot (their
/// replay is already quick).
pub const SNAPSHOT_ON_CLOSE_MIN_RECORDS_DEFAULT: u64 = 100_000;

impl Default for SnapshotPolicy {
    fn default() -> Self {
        SnapshotPolicy {
            every_records: SNAPSHOT_EVERY_RECORDS_DEFAULT,
            on_close_min_records: SNAPSHOT_ON_CLOSE_MIN_RECORDS_DEFAULT,
            keep: SNAPSHOTS_KEPT_DEFAULT,
        }
    }
}

impl SnapshotPolicy {
    /// No snapshots, ever (what a test or a benchmark of the bare writer wants).
    pub const OFF: SnapshotPolicy = SnapshotPolicy {
        every_records: 0,
        on_close_min_records: u64::MAX,
        keep: SNAPSHOTS_KEPT_DEFAULT,
    };
}

/// What a background snapshot did: where it was written and at which LSN, or why it failed.
pub type Taken = Result<(PathBuf, u64), String>;

/// The background thread that takes snapshots of a journal directory.
pub struct Snapshotter {
    asks: Option<SyncSender<u64>>,
    done: Receiver<Taken>,
    thread: Option<JoinHandle<()>>,
}

impl Snapshotter {
    /// Starts the thread for the journal in `dir`, keeping the newest `keep` snapshots.
    pub fn start(dir: &Path, keep: usize) -> Snapshotter {
        // One ask waits while one runs; more are dropped.
        let (asks, asked) = mpsc::sync_channel::<u64>(1);
        let (report, done) = mpsc::sync_channel::<Taken>(SNAPSHOT_REPORTS_MAX);
        let dir = dir.to_owned();
        let thread = std::thread::Builder::new()
            .name("waybill-snapshot".into())
            .spawn(move || {
                for lsn in asked {
                    let taken =
                        crate::engine::snapshot_journal(&dir, crate::engine::Until::Lsn(lsn), keep)
                            .map(|(path, header, _)| (path, header.lsn))
                            .map_err(|e| e.to_string());
                    // Reports nobody collects are dropped, never waited for.
                    let _ = report.try_send(taken);
                }
            })
            .expect("spawn the snapshot thread");
        Snapshotter {
            asks: Some(asks),
            done,
            thread: Some(thread),
        }
    }

    /// Asks for a snapshot at `lsn` (records the journal holds on disk); false when one is
    /// still being taken (the ask is dropped).
    pub fn ask(&self, lsn: u64) -> bool {
        let asks = self.asks.as_ref().expect("asks open until drop");
        match asks.try_send(lsn) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => false,
            Err(TrySendError::Disconnected(_)) => false,
        }
    }

    /// Reports of the snapshots finished since the last call.
    pub fn finished(&self) -> Vec<Taken> {
        self.done.try_iter().collect()
    }

    /// Waits for the snapshot being taken (if any) and stops the thread; returns the reports
    /// not collected yet.
    pub fn finish(mut self) -> Vec<Taken> {
        self.stop();
        self.finished()
    }

    fn stop(&mut self) {
        drop(self.asks.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Reports kept for the writer to collect.
const SNAPSHOT_REPORTS_MAX: usize = 16;

impl Drop for Snapshotter {
    fn drop(&mut self) {
        self.stop();
    }
}
