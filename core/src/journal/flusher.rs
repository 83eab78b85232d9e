//! The group-commit flusher: under [`super::Durability::Group`] the active segment is made
//! durable on a thread of its own, on the group schedule, so the writer never waits for the
//! disk.
//!
//! Protocol. After a batch the writer writes its records to the segment file and publishes
//! (active segment and its file, the end of its records, last LSN written, its link); every
//! record up to that LSN sits in that segment or in an earlier one. A publish that names a
//! later segment than the one before it keeps the earlier segment's last published end, to be
//! synced too (the writer does not wait for the disk when it rolls over). At most once per
//! group interval the flusher takes the latest published target, `fdatasync`s the segments
//! left since its last flush and then the target's through the journal's [`Storage`], fsyncs
//! the directory when the target's segment was installed since it last did (its header and
//! name), raises the durable marker (synced) and only then the durable LSN.
//! So neither ever passes a record that is not on disk, and both only grow. An I/O error stops
//! the flusher; the writer reports it at its next commit. "Due" is read from the journal's
//! [`Clock`].

use std::fs::File;
use std::io;
use std::mem;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::JournalError;
use super::chain::{GENESIS_LINK, Link};
use super::clock::Clock;
use super::marker::{Durable, Marker};
use super::segment::{self, segment_file_name};
use super::storage::Storage;

/// Name of the flusher thread.
const THREAD_NAME: &str = "journal-flush";

/// A segment the writer rolled past, and the end of its records to sync.
#[derive(Clone, Debug)]
struct Sealed {
    segment: u64,
    file: Arc<File>,
    end: usize,
}

#[derive(Clone, Debug)]
struct Target {
    /// Segments rolled past since the flusher last took a target, oldest first (one per
    /// rollover in a group interval: a handful at most).
    sealed: Vec<Sealed>,
    segment: u64,
    /// The segment's file (`None` before anything was published).
    file: Option<Arc<File>>,
    /// Offset just past the last record published (written to the file).
    end: usize,
    lsn: u64,
    /// The chain link of the record at `lsn`.
    link: Link,
    stop: bool,
}

/// What the writer and the flusher share.
pub(crate) struct Shared {
    target: Mutex<Target>,
    wake: Condvar,
    /// Every record up to this LSN is durable. Also raised by the writer's own flushes.
    durable_lsn: Arc<AtomicU64>,
    /// The durable marker, raised after each flush (by the writer's flushes too).
    marker: Arc<Mutex<Marker>>,
    storage: Arc<dyn Storage>,
    clock: Arc<dyn Clock>,
    /// The error that stopped the flusher, with the file it concerned.
    failed: Mutex<Option<(PathBuf, io::Error)>>,
}

/// A running flusher. Dropping it stops the thread (after the flush in progress, if any).
pub(crate) struct Flusher {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding these locks leaves plain data behind: keep going.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Publishes written records to a flusher ([`Flusher::publish`]); publishing after the
/// flusher stopped does nothing.
pub(crate) struct Publisher {
    shared: Arc<Shared>,
}

impl Publisher {
    /// See [`Flusher::publish`].
    pub fn publish(&self, segment: u64, file: &Arc<File>, end: usize, lsn: u64, link: Link) {
        let mut t = lock(&self.shared.target);
        debug_assert!(lsn >= t.lsn && segment >= t.segment);
        if lsn > t.lsn && !t.stop {
            let mut sealed = mem::take(&mut t.sealed);
            if segment > t.segment
                && let Some(old) = t.file.take()
                && t.lsn > self.shared.durable_lsn.load(Ordering::Acquire)
            {
                sealed.push(Sealed {
                    segment: t.segment,
                    file: old,
                    end: t.end,
                });
            }
            *t = Target {
                sealed,
                segment,
                file: Some(Arc::clone(file)),
                end,
                lsn,
                link,
                stop: false,
            };
            self.shared.wake.notify_one();
        }
    }
}

/// What a flusher needs from its journal.
pub(crate) struct FlusherParts {
    /// Segments up to this index have durable directory entries.
    pub dir_synced_segment: u64,
    pub durable_lsn: Arc<AtomicU64>,
    pub marker: Arc<Mutex<Marker>>,
    pub storage: Arc<dyn Storage>,
    pub clock: Arc<dyn Clock>,
}

impl Flusher {
    /// Starts flushing segments of `dir` at most once per `interval_us` (by `parts.clock`);
    /// raises the marker and then the durable LSN after each flush. `None` when no thread can
    /// be started (the writer then flushes inline).
    pub fn start(dir: &Path, interval_us: u64, parts: FlusherParts) -> Option<Flusher> {
        let lsn = parts.durable_lsn.load(Ordering::Acquire);
        let shared = Arc::new(Shared {
            target: Mutex::new(Target {
                sealed: Vec::new(),
                segment: 0,
                file: None,
                end: 0,
                lsn,
                link: GENESIS_LINK,
                stop: false,
            }),
            wake: Condvar::new(),
            durable_lsn: parts.durable_lsn,
            marker: parts.marker,
            storage: parts.storage,
            clock: parts.clock,
            failed: Mutex::new(None),
        });
        let thread_shared = Arc::clone(&shared);
        let dir = dir.to_owned();
        // The schedule starts now, not whenever the thread gets to run.
        let started_us = shared.clock.now_us();
        let dir_synced = parts.dir_synced_segment;
        let thread = thread::Builder::new()
            .name(THREAD_NAME.to_owned())
            .spawn(move || run(&dir, interval_us, started_us, dir_synced, &thread_shared))
            .ok()?;
        Some(Flusher {
            shared,
            thread: Some(thread),
        })
    }

    /// Every record up to `lsn` (whose link is `link`) is written to the files: those past
    /// the already durable ones sit in `segment` (open as `file`), before offset `end`. Makes
    /// them durable on the next tick.
    pub fn publish(&self, segment: u64, file: &Arc<File>, end: usize, lsn: u64, link: Link) {
        self.publisher().publish(segment, file, end, lsn, link);
    }

    /// A handle that publishes to this flusher from another thread (the write thread).
    pub fn publisher(&self) -> Publisher {
        Publisher {
            shared: Arc::clone(&self.shared),
        }
    }

    /// The error that stopped the flusher, if one did (reported once).
    pub fn take_error(&self) -> Option<(PathBuf, io::Error)> {
        lock(&self.shared.failed).take()
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        lock(&self.shared.target).stop = true;
        self.shared.wake.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Waits for records that are not durable yet and for the group interval to pass since the
/// last flush (more records may be published meanwhile); `None` when told to stop.
fn next_target(shared: &Shared, interval_us: u64, last_flush_us: u64) -> Option<Target> {
    let mut t = lock(&shared.target);
    loop {
        if t.stop {
            return None;
        }
        let pending = t.lsn > shared.durable_lsn.load(Ordering::Acquire);
        let since_us = shared.clock.now_us().saturating_sub(last_flush_us);
        if pending && since_us >= interval_us {
            let sealed = mem::take(&mut t.sealed);
            return Some(Target {
                sealed,
                ..t.clone()
            });
        }
        let mut wait = Duration::from_micros(if pending {
            interval_us - since_us
        } else {
            interval_us.max(1)
        });
        if let Some(cap) = shared.clock.recheck_after() {
            wait = wait.min(cap);
        }
        t = shared
            .wake
            .wait_timeout(t, wait)
            .unwrap_or_else(|p| p.into_inner())
            .0;
    }
}

fn run(dir: &Path, interval_us: u64, started_us: u64, dir_synced: u64, shared: &Shared) {
    let mut last_flush_us = started_us;
    let mut dir_synced = dir_synced;
    while let Some(target) = next_target(shared, interval_us, last_flush_us) {
        // The schedule counts from the start of a flush: one flush per interval, not per
        // interval plus the time the flush took.
        let started_us = shared.clock.now_us();
        if let Err((path, e)) = flush(dir, shared, &target, &mut dir_synced) {
            *lock(&shared.failed) = Some((path, e));
            return;
        }
        shared.durable_lsn.fetch_max(target.lsn, Ordering::AcqRel);
        last_flush_us = started_us;
    }
}

/// Syncs the segments `target` names (those rolled past, then its own), the directory when
/// the target's segment is newer than the last one whose entry was synced, and raises the
/// durable marker to the target.
fn flush(
    dir: &Path,
    shared: &Shared,
    target: &Target,
    dir_synced: &mut u64,
) -> Result<(), (PathBuf, io::Error)> {
    let Some(file) = &target.file else {
        debug_assert!(false, "a pending target names its file");
        return Ok(());
    };
    debug_assert!(target.sealed.iter().all(|s| s.segment < target.segment));
    let sync = |segment: u64, file: &File, end: usize| {
        shared
            .storage
            .sync_segment(segment, file, end)
            .map_err(|e| (dir.join(segment_file_name(segment)), e))
    };
    for s in &target.sealed {
        sync(s.segment, &s.file, s.end)?;
    }
    sync(target.segment, file, target.end)?;
    let as_io = |e: JournalError| match e {
        JournalError::Io { path, source } => (path, source),
        other => (
            dir.join(segment_file_name(target.segment)),
            io::Error::other(other.to_string()),
        ),
    };
    if target.segment > *dir_synced {
        segment::fsync_dir(dir).map_err(as_io)?;
        *dir_synced = target.segment;
    }
    let durable = Durable {
        lsn: target.lsn,
        link: target.link,
    };
    lock(&shared.marker).raise(durable).map_err(as_io)
}
