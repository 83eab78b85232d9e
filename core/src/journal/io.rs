//! The journal's write thread: under `none` and `group` the staged frames of a commit are
//! handed here and written to the segment file (`pwrite`) off the writer's thread, so the
//! thread that applies events never waits in the kernel. A buffered write can wait for a
//! page lock held by write-back of the very page being appended to (measured: up to tens of
//! milliseconds on this ext4), and an application thread stuck there stalls every event
//! behind it.
//!
//! Protocol. The writer sends jobs (a staging buffer, the segment, its file, the offset, the
//! last LSN and link in it) over a bounded channel; this thread writes them in order, then
//! under `group` publishes the written end to the flusher (so the flusher only syncs what is
//! in the file), under `none` starts write-back every [`WRITEBACK_EVERY_BYTES`], and returns the
//! buffer. Buffers are few ([`BUFFERS_MAX`]), so a writer that outruns the disk waits for one
//! to come back: memory stays bounded. After a write error nothing more is written (the
//! buffers still come back) and the writer reports the error at its next commit. Dropping the
//! handle closes the channel and joins the thread after every job sent was written.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};

use crossbeam_channel::{Receiver, Sender};
use rkyv::util::AlignedVec;

use super::FRAME_ALIGN_BYTES;
use super::chain::Link;
use super::flusher::Publisher;
use super::segment::{SEGMENT_HEADER_BYTES, segment_file_name};
use super::storage::Storage;

/// Staging buffers in existence at most: one the writer fills, the others in flight.
pub(crate) const BUFFERS_MAX: usize = 3;

/// Under `none`, write-back of what was written is started (not waited for) every this many
/// bytes, so that dirty pages stay few and the kernel never throttles the writer.
pub(crate) const WRITEBACK_EVERY_BYTES: usize = 8 << 20;

const THREAD_NAME: &str = "journal-write";

pub(crate) type Buffer = AlignedVec<{ FRAME_ALIGN_BYTES }>;

/// One commit's frames, to be written at `offset` of segment `segment`.
pub(crate) struct Job {
    pub segment: u64,
    pub file: Arc<File>,
    pub offset: usize,
    pub buf: Buffer,
    /// The last record in `buf` and its chain link.
    pub lsn: u64,
    pub link: Link,
}

/// What the writer and the thread share.
struct Shared {
    /// Jobs written (or skipped after an error) so far.
    done: Mutex<u64>,
    done_changed: Condvar,
    failed: Mutex<Option<(PathBuf, io::Error)>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The writer's handle on the write thread.
pub(crate) struct IoThread {
    jobs: Option<Sender<Job>>,
    returned: Receiver<Buffer>,
    /// Buffers back from the thread, ready for the writer.
    free: Vec<Buffer>,
    /// Buffers created so far (at most [`BUFFERS_MAX`], one of them the writer's stage).
    created: usize,
    /// Jobs sent so far.
    sent: u64,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// How the thread follows a write: publish to the group flusher, or start write-back.
pub(crate) enum After {
    Publish(Publisher),
    Writeback,
}

impl IoThread {
    /// Starts the thread; `None` when it cannot be started (the writer then writes inline).
    pub fn start(dir: &Path, storage: Arc<dyn Storage>, after: After) -> Option<IoThread> {
        let (jobs, jobs_rx) = crossbeam_channel::bounded::<Job>(BUFFERS_MAX);
        let (returned_tx, returned) = crossbeam_channel::bounded::<Buffer>(BUFFERS_MAX);
        let shared = Arc::new(Shared {
            done: Mutex::new(0),
            done_changed: Condvar::new(),
            failed: Mutex::new(None),
        });
        let thread_shared = Arc::clone(&shared);
        let dir = dir.to_owned();
        let thread = thread::Builder::new()
            .name(THREAD_NAME.to_owned())
            .spawn(move || {
                run(
                    &dir,
                    &*storage,
                    &after,
                    &jobs_rx,
                    &returned_tx,
                    &thread_shared,
                )
            })
            .ok()?;
        Some(IoThread {
            jobs: Some(jobs),
            returned,
            free: Vec::with_capacity(BUFFERS_MAX),
            created: 1,
            sent: 0,
            shared,
            thread: Some(thread),
        })
    }

    /// Hands `job` to the thread and returns an empty buffer for the next frames: one that
    /// came back, a new one while fewer than [`BUFFERS_MAX`] exist, or else the next one to
    /// come back (waiting for the disk).
    pub fn send(&mut self, job: Job) -> Buffer {
        debug_assert!(!job.buf.is_empty() && job.offset.is_multiple_of(FRAME_ALIGN_BYTES));
        debug_assert!(job.offset >= SEGMENT_HEADER_BYTES);
        let capacity = job.buf.capacity();
        let jobs = self.jobs.as_ref().expect("the channel is open until drop");
        // The thread holds at most BUFFERS_MAX - 1 jobs, so the channel never blocks here;
        // a thread that ended only after an error drains the rest (see `run`).
        if jobs.send(job).is_err() {
            debug_assert!(false, "the write thread ended early");
        }
        self.sent += 1;
        self.free.extend(self.returned.try_iter());
        let mut buf = match self.free.pop() {
            Some(buf) => buf,
            None if self.created < BUFFERS_MAX => {
                self.created += 1;
                Buffer::with_capacity(capacity)
            }
            None => self.returned.recv().unwrap_or_else(|_| Buffer::new()),
        };
        buf.clear();
        debug_assert!(self.created <= BUFFERS_MAX);
        buf
    }

    /// Waits until every job sent so far was written (or skipped after an error).
    pub fn wait_written(&self) {
        let mut done = lock(&self.shared.done);
        while *done < self.sent {
            done = self
                .shared
                .done_changed
                .wait(done)
                .unwrap_or_else(|p| p.into_inner());
        }
        debug_assert_eq!(*done, self.sent);
    }

    /// The error that stopped writing, if one did (reported once).
    pub fn take_error(&self) -> Option<(PathBuf, io::Error)> {
        lock(&self.shared.failed).take()
    }
}

impl Drop for IoThread {
    fn drop(&mut self) {
        // Closing the channel ends the thread once every job sent was written.
        drop(self.jobs.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(
    dir: &Path,
    storage: &dyn Storage,
    after: &After,
    jobs: &Receiver<Job>,
    returned: &Sender<Buffer>,
    shared: &Shared,
) {
    // Under `none`: the segment and offset from which write-back was not started yet.
    let mut writeback = (u64::MAX, SEGMENT_HEADER_BYTES);
    for job in jobs {
        let failed = lock(&shared.failed).is_some();
        let end = job.offset + job.buf.len();
        if !failed {
            match storage.write_segment(job.segment, &job.file, job.offset as u64, &job.buf) {
                Ok(()) => match after {
                    After::Publish(p) => p.publish(job.segment, &job.file, end, job.lsn, job.link),
                    After::Writeback => {
                        if writeback.0 != job.segment {
                            writeback = (job.segment, job.offset);
                        }
                        if end >= writeback.1 + WRITEBACK_EVERY_BYTES {
                            start_writeback(&job.file, writeback.1, end);
                            writeback.1 = end;
                        }
                    }
                },
                Err(e) => {
                    let path = dir.join(segment_file_name(job.segment));
                    *lock(&shared.failed) = Some((path, e));
                }
            }
        }
        // The writer may already hold every other buffer and wait for this one; if it is
        // gone, the buffer goes too.
        let _ = returned.try_send(job.buf);
        *lock(&shared.done) += 1;
        shared.done_changed.notify_all();
    }
}

/// Asks the kernel to start writing back `from..to` of `file` (`sync_file_range` with
/// `SYNC_FILE_RANGE_WRITE`: it does not wait for the disk and promises nothing). Without it
/// nothing bounds the dirty pages under `none`, and the kernel throttles the writer once they
/// pass its limits, which made `none` slower than `group`. Best effort: an error is ignored (a
/// later flush reports real trouble).
pub(crate) fn start_writeback(file: &File, from: usize, to: usize) {
    debug_assert!(from < to);
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: a valid open descriptor and a range inside the file; the call only
        // schedules write-back of those pages.
        unsafe {
            libc::sync_file_range(
                file.as_raw_fd(),
                from as libc::off64_t,
                (to - from) as libc::off64_t,
                libc::SYNC_FILE_RANGE_WRITE,
            );
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (file, from, to);
}
