//! The group-commit flusher: under [`super::Durability::Group`] the active segment is made
//! durable on a thread of its own, on the group schedule, so the writer never waits for the
//! disk.
//!
//! Protocol. After a batch the writer publishes (active segment, where its mapping starts,
//! the end of its records, last LSN written); every record up to that LSN sits in that
//! segment or in an earlier one, and earlier segments were flushed by the writer itself
//! before it rolled past them. At most once per group interval the flusher takes the latest
//! published target, `msync`s the part of the segment written since its last flush (not the
//! whole file: the pages ahead of the writer are pre-faulted and dirty) and only then raises
//! the durable LSN. So the durable LSN never passes a record that is not on disk, and it only
//! grows. An I/O error stops the flusher; the writer reports it at its next commit.
//!
//! The writer keeps every segment it wrote mapped for its whole life and stops (joins) the
//! flusher before it unmaps anything, so a published mapping outlives every use here.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::segment::segment_file_name;

/// Name of the flusher thread.
const THREAD_NAME: &str = "journal-flush";

#[derive(Clone, Copy, Debug, Default)]
struct Target {
    segment: u64,
    /// Address of the segment's mapping (page aligned).
    base: usize,
    /// Offset just past the last record published.
    end: usize,
    lsn: u64,
    stop: bool,
}

struct Shared {
    target: Mutex<Target>,
    wake: Condvar,
    /// Every record up to this LSN is durable. Also raised by the writer's own flushes.
    durable_lsn: Arc<AtomicU64>,
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

impl Flusher {
    /// Starts flushing segments of `dir` at most once per `interval`; `durable_lsn` is the
    /// journal's durable LSN, which the flusher raises. `None` when no thread can be started
    /// (the writer then flushes inline).
    pub fn start(dir: &Path, interval: Duration, durable_lsn: Arc<AtomicU64>) -> Option<Flusher> {
        let shared = Arc::new(Shared {
            target: Mutex::new(Target {
                lsn: durable_lsn.load(Ordering::Acquire),
                ..Target::default()
            }),
            wake: Condvar::new(),
            durable_lsn,
            failed: Mutex::new(None),
        });
        let thread_shared = Arc::clone(&shared);
        let dir = dir.to_owned();
        let thread = thread::Builder::new()
            .name(THREAD_NAME.to_owned())
            .spawn(move || run(&dir, interval, &thread_shared))
            .ok()?;
        Some(Flusher {
            shared,
            thread: Some(thread),
        })
    }

    /// Every record up to `lsn` is written: those past the already durable ones sit in
    /// `segment` (mapped at `base`, up to offset `end`). Makes them durable on the next tick.
    /// `base` must stay mapped until this flusher is dropped.
    pub fn publish(&self, segment: u64, base: *const u8, end: usize, lsn: u64) {
        let mut t = lock(&self.shared.target);
        debug_assert!(lsn >= t.lsn && segment >= t.segment);
        if lsn > t.lsn {
            *t = Target {
                segment,
                base: base as usize,
                end,
                lsn,
                stop: false,
            };
            self.shared.wake.notify_one();
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

fn run(dir: &Path, interval: Duration, shared: &Shared) {
    // (segment, offset) up to which this thread has flushed.
    let mut flushed: (u64, usize) = (u64::MAX, 0);
    let mut last_flush = Instant::now();
    loop {
        // Wait for records that are not durable yet, then for the group interval to pass
        // since the last flush (more records may be published meanwhile).
        let target = {
            let mut t = lock(&shared.target);
            loop {
                if t.stop {
                    return;
                }
                let pending = t.lsn > shared.durable_lsn.load(Ordering::Acquire);
                let due = last_flush.elapsed() >= interval;
                if pending && due {
                    break *t;
                }
                let wait = if pending {
                    interval.saturating_sub(last_flush.elapsed())
                } else {
                    interval
                };
                t = shared
                    .wake
                    .wait_timeout(t, wait)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
        };
        let from = if flushed.0 == target.segment {
            flushed.1
        } else {
            0
        };
        let from = from - from % page_bytes();
        // The schedule counts from the start of a flush: one flush per interval, not per
        // interval plus the time the flush took.
        let started = Instant::now();
        debug_assert!(from <= target.end);
        // SAFETY: `base..base + end` lies in a live shared mapping of the segment (the writer
        // keeps it mapped until this thread has been joined, see `Flusher::publish`); msync
        // reads no memory of ours, it asks the kernel to write those pages back.
        let rc = unsafe {
            libc::msync(
                (target.base + from) as *mut libc::c_void,
                target.end - from,
                libc::MS_SYNC,
            )
        };
        if rc != 0 {
            let path = dir.join(segment_file_name(target.segment));
            *lock(&shared.failed) = Some((path, io::Error::last_os_error()));
            return;
        }
        shared.durable_lsn.fetch_max(target.lsn, Ordering::AcqRel);
        flushed = (target.segment, target.end);
        last_flush = started;
    }
}

fn page_bytes() -> usize {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(n).ok().filter(|&n| n > 0).unwrap_or(4096)
}
