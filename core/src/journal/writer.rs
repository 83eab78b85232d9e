//! The single writer: append into a staging buffer, write out and make durable on commit
//! (inline or by the group flusher), segment rollover. Opening and recovery are in `open.rs`.

use std::fs::File;
use std::mem;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use memmap2::Mmap;

use super::chain::{Link, next_link_summed};
use super::clock::{Clock, SystemClock};
use super::flusher::Flusher;
use super::frame::{self, FRAME_ALIGN_BYTES};
use super::io::{self, IoThread, Job, WRITEBACK_EVERY_BYTES};
use super::marker::{Durable, Marker};
use super::reader::{self, Records, Span};
use super::resume::{RecordPos, Resume};
use super::segment::{self, Opened, SEGMENT_COUNT_MAX, SEGMENT_HEADER_BYTES, SegmentHeader};
use super::spare::Spare;
use super::stage::Stage;
use super::storage::{OsStorage, Storage};
use super::{Appended, Durability, JournalError, JournalOptions, PayloadSums, RecordKind};

/// What the journal needs from its surroundings: where bytes are written and become durable,
/// and the clock that paces group commits. The default is the real disk and the machine's
/// clock; tests and the simulator inject a [`super::storage::SimulatedDisk`] or a
/// [`super::clock::ManualClock`].
#[derive(Clone, Debug)]
pub struct JournalEnv {
    pub storage: Arc<dyn Storage>,
    pub clock: Arc<dyn Clock>,
}

impl Default for JournalEnv {
    fn default() -> Self {
        JournalEnv {
            storage: Arc::new(OsStorage),
            clock: Arc::new(SystemClock::default()),
        }
    }
}

impl JournalEnv {
    /// The default environment with another storage.
    pub fn with_storage(storage: Arc<dyn Storage>) -> JournalEnv {
        JournalEnv {
            storage,
            ..JournalEnv::default()
        }
    }
}

/// One segment file: open for writing (through the storage), mapped read-only for reading.
pub(crate) struct Seg {
    pub index: u64,
    /// Offset of its first record the writer knows of (the end of the header, unless the
    /// journal was opened after a record inside this segment).
    pub start: usize,
    pub file: Arc<File>,
    pub map: Mmap,
    /// Offset just past the last record, staged ones included (the active segment's append
    /// offset).
    pub end: usize,
    /// Everything before this offset was written to the file.
    pub written: usize,
    /// Everything before this offset was made durable.
    pub flushed: usize,
    /// LSN of its last record, once sealed (0 before).
    pub last_lsn: u64,
}

/// A sealed segment whose records are all durable: the writer keeps only a read-only mapping
/// of it, for [`Journal::records`], and no file handle (so the open files stay bounded by the
/// segments not yet durable, however long the writer runs).
pub(crate) struct Retired {
    index: u64,
    start: usize,
    end: usize,
    map: Mmap,
}

impl Retired {
    pub(crate) fn of(seg: Seg) -> Retired {
        debug_assert!(seg.flushed == seg.written || seg.last_lsn > 0);
        Retired {
            index: seg.index,
            start: seg.start,
            end: seg.written,
            map: seg.map,
        }
    }

    fn span(&self) -> Span<'_> {
        Span {
            start: self.start,
            ..Span::whole(self.index as u32, &self.map[..], self.end)
        }
    }
}

impl Seg {
    pub fn new(index: u64, opened: Opened, end: usize, flushed: usize) -> Seg {
        debug_assert!(flushed <= end && end <= opened.map.len());
        Seg {
            index,
            start: SEGMENT_HEADER_BYTES,
            file: Arc::new(opened.file),
            map: opened.map,
            end,
            written: end,
            flushed,
            last_lsn: 0,
        }
    }

    pub fn flush(&mut self, dir: &Path, storage: &dyn Storage) -> Result<(), JournalError> {
        debug_assert_eq!(self.written, self.end, "staged bytes are written out first");
        if self.flushed < self.written {
            segment::sync(dir, storage, self.index, &self.file, self.written)?;
            self.flushed = self.written;
        }
        Ok(())
    }

    /// The records written to the file.
    fn span(&self) -> Span<'_> {
        Span {
            start: self.start,
            ..Span::whole(self.index as u32, &self.map[..], self.written)
        }
    }
}

/// The journal's single writer. Holds an exclusive lock on the journal directory itself while
/// it lives (deleting a file cannot break it); on drop it writes out and flushes what is
/// unflushed (except in [`Durability::None`], where it only writes out) and releases the lock.
/// [`Journal::crash`] drops it without writing out or flushing anything.
pub struct Journal {
    pub(crate) dir: PathBuf,
    pub(crate) opts: JournalOptions,
    pub(crate) env: JournalEnv,
    /// Largest payload accepted: [`super::MAX_PAYLOAD_BYTES`], or less if it would not fit in an
    /// empty segment of `opts.segment_bytes`.
    pub(crate) max_payload: usize,
    /// LSN of the first record of the first segment opened (1, unless opened after an LSN
    /// or the first segments were archived).
    pub(crate) first_lsn: u64,
    /// The segment and offset of the last frame that stores its chain link (what a snapshot
    /// of the last record names as its anchor when they share a segment).
    pub(crate) last_anchor: (u64, usize),
    /// Sealed segments whose records are all durable, in order (from the first one opened).
    pub(crate) retired: Vec<Retired>,
    /// The sealed segments after them, in order, not all durable yet.
    pub(crate) sealed: Vec<Seg>,
    /// Sealed segments before this one are fully flushed.
    pub(crate) sealed_unflushed_from: usize,
    pub(crate) active: Seg,
    /// Frames of the active segment not yet written to its file.
    pub(crate) stage: Stage,
    /// The next segment, prepared in the background.
    pub(crate) spare: Option<Spare>,
    pub(crate) last_lsn: u64,
    pub(crate) last_link: Link,
    pub(crate) last_ingest_us: i64,
    /// Every record up to this LSN is durable: raised by [`Self::flush`] and by the flusher,
    /// after the durable marker.
    pub(crate) durable_lsn: Arc<AtomicU64>,
    /// The durable marker file, shared with the flusher.
    pub(crate) marker: Arc<Mutex<Marker>>,
    /// When the last inline flush started, by `env.clock`.
    pub(crate) last_flush_us: u64,
    /// Group mode: flushes the active segment on its own thread (`None` in the other modes,
    /// or when no thread could be started: group commits then run inline).
    pub(crate) flusher: Option<Flusher>,
    /// Segments up to this index have durable directory entries (see [`Self::roll`]).
    pub(crate) dir_synced_segment: u64,
    /// The last LSN handed to the flusher.
    pub(crate) published_lsn: u64,
    /// Under `none` and `group`: writes committed frames to the files on a thread of its own
    /// (`None` under `sync`, or when no thread could be started: frames are then written
    /// inline).
    pub(crate) io: Option<IoThread>,
    /// Under `none`: the offset of the active segment up to which write-back was started.
    pub(crate) writeback_from: usize,
    /// False after [`Self::crash`]: drop then writes out and flushes nothing.
    pub(crate) flush_on_drop: bool,
    /// Held for the writer's whole life; declared last so that it is released last.
    pub(crate) _lock: File,
}

/// Under `none`, a commit writes the staged records out once at least this many bytes are
/// staged: nothing is promised durable, and a write per small batch cost the applying thread a
/// system call (or a thread wake-up) each time, which set the applied latency at low rates.
pub const NONE_WRITE_OUT_BYTES: usize = 256 << 10;

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the marker leaves plain data behind: keep going.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Journal {
    /// Dies without shutdown, as a killed process does: nothing more is written out or
    /// flushed (a group flush already under way completes), the durable marker stays where it
    /// is, and what was written but not flushed stays in the page cache, where a power cut can
    /// still take it (see [`super::storage::SimulatedDisk::cut_power`]). Staged records that
    /// were never written out are lost with the process; committed ones already handed to the
    /// write thread are written first (the process dies just after its last write), so what a
    /// crash leaves does not depend on thread timing.
    pub fn crash(mut self) {
        self.flush_on_drop = false;
    }

    /// Appends one record and returns its LSN, the stored ingest time
    /// (`max(ingest_us, last_ingest_us())`: ingest times never go backwards) and the payload as
    /// it now sits in the writer's staging buffer, exactly as it will sit in the file (16-byte
    /// aligned, for zero-copy reads). The payload's sums (CRC32C and XXH3-128, see
    /// [`PayloadSums`]) are computed here; the chain link then hashes a fixed-size input. The
    /// record reaches the file at the next [`Self::commit`] (or when the staging buffer is
    /// full) and is not durable until a commit or [`Self::flush`] says so. No allocation.
    #[inline]
    pub fn append(
        &mut self,
        ingest_us: i64,
        kind: RecordKind,
        payload: &[u8],
    ) -> Result<Appended<'_>, JournalError> {
        self.append_summed(ingest_us, kind, payload, PayloadSums::of(payload))
    }

    /// [`Self::append`] with the payload's sums computed ahead by the caller (on a producer
    /// thread, see `EncodedBatch`). `sums` must be `PayloadSums::of(payload)` (asserted in
    /// debug builds): wrong sums would journal a record that every reader refuses.
    #[inline]
    pub(crate) fn append_summed(
        &mut self,
        ingest_us: i64,
        kind: RecordKind,
        payload: &[u8],
        sums: PayloadSums,
    ) -> Result<Appended<'_>, JournalError> {
        debug_assert_eq!(
            sums,
            PayloadSums::of(payload),
            "payload sums do not match the payload"
        );
        let payload_len = payload.len();
        self.check_record(kind, payload_len)?;
        let lsn = self
            .last_lsn
            .checked_add(1)
            .ok_or_else(|| JournalError::Full("LSN space exhausted".into()))?;
        let frame_len = frame::frame_bytes(lsn, payload_len);
        if self.active.end + frame_len > self.active.map.len() {
            self.roll()?;
        }
        if !self.stage.fits(frame_len) {
            self.write_out()?;
        }
        let ingest_us = ingest_us.max(self.last_ingest_us);
        let link = next_link_summed(
            &self.last_link,
            lsn,
            ingest_us,
            kind,
            payload_len,
            &sums.xxh3_128,
        );
        let at = self.active.end;
        debug_assert_eq!(at % FRAME_ALIGN_BYTES, 0);
        debug_assert_eq!(at, self.stage.base() + self.stage.len());
        debug_assert!(at >= SEGMENT_HEADER_BYTES && at + frame_len <= self.active.map.len());
        let dst = self.stage.grow(frame_len);
        frame::write(dst, lsn, ingest_us, &link, kind, payload, sums.crc32c);
        self.active.end = at + frame_len;
        if frame::carries_link(lsn) {
            self.last_anchor = (self.active.index, at);
        }
        self.last_lsn = lsn;
        self.last_link = link;
        self.last_ingest_us = ingest_us;
        let stored = self.stage.at(at + frame::header_bytes(lsn), payload_len);
        debug_assert_eq!(stored.as_ptr() as usize % FRAME_ALIGN_BYTES, 0);
        Ok(Appended {
            lsn,
            ingest_us,
            payload: stored,
        })
    }

    fn check_record(&self, kind: RecordKind, payload_len: usize) -> Result<(), JournalError> {
        if payload_len == 0 {
            return Err(JournalError::EmptyPayload);
        }
        if payload_len > self.max_payload {
            return Err(JournalError::PayloadTooLarge {
                len: payload_len,
                max: self.max_payload,
            });
        }
        if !kind.is_valid() {
            return Err(JournalError::InvalidKind(kind.0));
        }
        Ok(())
    }

    /// Writes the staged frames to the active segment's file (one `pwrite`), on the write
    /// thread when there is one (the frames are handed over with their buffer).
    fn write_out(&mut self) -> Result<(), JournalError> {
        if self.stage.is_empty() {
            return Ok(());
        }
        let a = &mut self.active;
        debug_assert_eq!(self.stage.base(), a.written);
        debug_assert_eq!(a.written + self.stage.len(), a.end);
        if let Some(io) = &mut self.io {
            let fresh = io.send(Job {
                segment: a.index,
                file: Arc::clone(&a.file),
                offset: a.written,
                buf: self.stage.take(),
                lsn: self.last_lsn,
                link: self.last_link,
            });
            self.stage.install(fresh, a.end);
        } else {
            let storage = &*self.env.storage;
            let bytes = self.stage.bytes();
            segment::write(&self.dir, storage, a.index, &a.file, a.written, bytes)?;
            self.stage.restart(a.end);
        }
        a.written = a.end;
        Ok(())
    }

    /// Writes every record appended so far to the segment files, where readers see them, and
    /// waits until they are there (the write thread writes committed records shortly after the
    /// commit; under `none` small batches stay staged); the error that stopped writing, if
    /// any. Makes nothing durable.
    pub fn wait_written(&mut self) -> Result<(), JournalError> {
        self.write_out()?;
        if let Some(io) = &self.io {
            io.wait_written();
        }
        self.io_error()
    }

    /// The error that stopped the write thread or the flusher, if one did.
    fn io_error(&self) -> Result<(), JournalError> {
        let failed = self.io.as_ref().and_then(IoThread::take_error);
        let failed = failed.or_else(|| self.flusher.as_ref().and_then(Flusher::take_error));
        match failed {
            Some((path, e)) => Err(JournalError::io(&path, e)),
            None => Ok(()),
        }
    }

    /// Moves to a new segment (the record did not fit): writes out what is staged for the old
    /// one, writes the new one's header and renames it into place, and waits for no disk.
    /// Whoever flushes next (the group flusher, or [`Self::flush`]) syncs the rest of the old
    /// segment, the new one and the directory before the durable marker passes into it; until
    /// then a power cut can lose the old segment's tail or the new segment, never a durable
    /// record (recovery cuts them as a torn tail).
    #[cold]
    fn roll(&mut self) -> Result<(), JournalError> {
        self.write_out()?;
        // The flusher learns of the old segment's end here.
        self.publish_inline();
        let index = self.active.index + 1;
        if index >= SEGMENT_COUNT_MAX {
            return Err(JournalError::Full(format!(
                "segment count limit {SEGMENT_COUNT_MAX}"
            )));
        }
        let header = SegmentHeader {
            index,
            first_lsn: self.last_lsn + 1,
            segment_bytes: self.opts.segment_bytes,
            prev_link: self.last_link,
        };
        let prepared = match self.spare.take() {
            Some(spare) if spare.index() == index => spare.take(&self.dir)?,
            _ => segment::allocate(&self.dir, index, self.opts.segment_bytes, self.populates())?,
        };
        let opened = segment::install(&self.dir, &*self.env.storage, &header, prepared)?;
        let fresh = Seg::new(index, opened, SEGMENT_HEADER_BYTES, SEGMENT_HEADER_BYTES);
        let mut old = mem::replace(&mut self.active, fresh);
        old.last_lsn = self.last_lsn;
        self.sealed.push(old);
        self.stage.restart(SEGMENT_HEADER_BYTES);
        self.writeback_from = SEGMENT_HEADER_BYTES;
        if index + 1 < SEGMENT_COUNT_MAX {
            let populate = self.populates();
            self.spare = Some(Spare::start(
                &self.dir,
                index + 1,
                self.opts.segment_bytes,
                populate,
            ));
        }
        Ok(())
    }

    /// End of a batch. `none`: writes the staged records to the file once
    /// [`NONE_WRITE_OUT_BYTES`] are staged (nothing is promised, so small batches are not each
    /// worth a write; [`Self::wait_written`] writes the rest), starts write-back now and then,
    /// so dirty pages stay few; `sync`: writes and flushes everything appended so far; `group`:
    /// writes the staged records and hands them to the flusher (or flushes inline when
    /// `group_commit_interval_us` has passed, if it has no thread). Returns the durable LSN
    /// (only what was flushed counts; in `none` mode that is what [`Self::flush`] flushed). In
    /// group mode the caller should call `commit` again when idle, so that the last batch does
    /// not wait for the next one.
    pub fn commit(&mut self) -> Result<u64, JournalError> {
        if self.opts.durability != Durability::None || self.stage.len() >= NONE_WRITE_OUT_BYTES {
            self.write_out()?;
        }
        let durable_lsn = match self.opts.durability {
            Durability::None => {
                if self.io.is_none() {
                    self.start_writeback();
                }
                self.io_error()?;
                self.durable_lsn()
            }
            Durability::Sync => self.flush()?,
            Durability::Group => self.commit_group()?,
        };
        if !self.sealed.is_empty() {
            self.retire_durable();
        }
        Ok(durable_lsn)
    }

    /// With a flusher but no write thread (records written inline): hands the flusher what
    /// was written and not yet published. A write thread publishes every write it makes.
    fn publish_inline(&mut self) {
        if self.io.is_none()
            && self.published_lsn < self.last_lsn
            && let Some(f) = &self.flusher
        {
            let a = &self.active;
            debug_assert_eq!(a.written, a.end, "staged bytes are written out first");
            f.publish(a.index, &a.file, a.written, self.last_lsn, self.last_link);
            self.published_lsn = self.last_lsn;
        }
    }

    fn commit_group(&mut self) -> Result<u64, JournalError> {
        if self.flusher.is_some() {
            self.io_error()?;
            self.publish_inline();
            Ok(self.durable_lsn())
        } else if self.durable_lsn() < self.last_lsn
            && self.env.clock.now_us().saturating_sub(self.last_flush_us)
                >= self.opts.group_commit_interval_us
        {
            self.flush()
        } else {
            Ok(self.durable_lsn())
        }
    }

    /// Under `none` without a write thread: once [`WRITEBACK_EVERY_BYTES`] were written since
    /// the last time, starts write-back of them (see `io::start_writeback`).
    fn start_writeback(&mut self) {
        let a = &self.active;
        if a.written >= self.writeback_from + WRITEBACK_EVERY_BYTES {
            io::start_writeback(&a.file, self.writeback_from, a.written);
            self.writeback_from = a.written;
        }
    }

    /// True when records are written on the applying thread (no write thread): the pages of a
    /// new segment are then brought into the page cache beforehand, by the thread that
    /// prepares it, so that the writes do not allocate them. A write thread allocates them as it
    /// writes, off the applying thread: populating them as well only doubled the work (A/B in
    /// BENCHMARKS.md).
    pub(crate) fn populates(&self) -> bool {
        self.io.is_none()
    }

    /// True when group commits run on the flusher thread: [`Self::commit`] then never waits
    /// for the disk, and the durable LSN rises by itself (see [`Self::durable_handle`]).
    pub fn flushes_in_background(&self) -> bool {
        self.flusher.is_some()
    }

    /// Writes out and flushes (fdatasync) everything appended so far, whatever the mode, then
    /// raises the durable marker (synced) and the durable LSN; returns the durable LSN.
    pub fn flush(&mut self) -> Result<u64, JournalError> {
        self.write_out()?;
        self.wait_written()?;
        if self.durable_lsn() == self.last_lsn {
            return Ok(self.last_lsn);
        }
        self.last_flush_us = self.env.clock.now_us();
        let storage = &*self.env.storage;
        for seg in &mut self.sealed[self.sealed_unflushed_from..] {
            seg.flush(&self.dir, storage)?;
        }
        self.sealed_unflushed_from = self.sealed.len();
        self.active.flush(&self.dir, storage)?;
        if self.dir_synced_segment < self.active.index {
            // Segments installed since the last flush: their directory entries too.
            segment::fsync_dir(&self.dir)?;
            self.dir_synced_segment = self.active.index;
        }
        lock(&self.marker).raise(Durable {
            lsn: self.last_lsn,
            link: self.last_link,
        })?;
        self.durable_lsn.fetch_max(self.last_lsn, Ordering::AcqRel);
        debug_assert!(lock(&self.marker).current().lsn >= self.durable_lsn());
        self.retire_durable();
        Ok(self.last_lsn)
    }

    /// LSN of the first record of the first segment opened (see [`Self::open_after`]).
    pub fn first_lsn(&self) -> u64 {
        self.first_lsn
    }

    /// LSN of the last record (0 when the journal is empty).
    pub fn last_lsn(&self) -> u64 {
        self.last_lsn
    }

    /// Records up to this LSN have been flushed, and the durable marker says so. At open it
    /// is the last recovered LSN: open syncs every segment it kept and raises the marker.
    pub fn durable_lsn(&self) -> u64 {
        self.durable_lsn.load(Ordering::Acquire)
    }

    /// The durable LSN as a shared counter, for readers on other threads: it rises as the
    /// flusher (group mode) or [`Self::flush`] makes records durable, never past one that is
    /// not.
    pub fn durable_handle(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.durable_lsn)
    }

    /// Ingest time of the last record (`i64::MIN` when the journal is empty).
    pub fn last_ingest_us(&self) -> i64 {
        self.last_ingest_us
    }

    /// The chain link of the last record (the genesis link when the journal is empty).
    pub fn head_link(&self) -> [u8; 16] {
        self.last_link
    }

    /// The largest payload this writer accepts.
    pub fn max_payload_bytes(&self) -> usize {
        self.max_payload
    }

    pub fn options(&self) -> &JournalOptions {
        &self.opts
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Iterates the records the writer holds, in LSN order: from where it opened (the first
    /// record, or the one after the snapshot it resumed after: see [`Self::open_after`]) to
    /// the last appended, staged ones included (it first waits for the write thread to write
    /// what it holds). Used right after open to rebuild state.
    pub fn records(&self) -> Records<'_> {
        Records::new(self.spans())
    }

    /// The records after LSN `lsn` (as [`Self::records`] from there), or `None` when the
    /// journal's segments do not hold the record at `lsn`.
    pub fn records_after(&self, lsn: u64) -> Option<Records<'_>> {
        let spans = self.spans();
        let at = reader::start_after(&spans, self.first_lsn, lsn)?;
        Some(Records::after(spans, at))
    }

    /// The last record: its LSN, ingest time, chain link and where it lies (what a snapshot
    /// of the state after it records).
    pub fn last_resume(&self) -> Resume {
        Resume {
            lsn: self.last_lsn,
            ingest_us: self.last_ingest_us,
            link: self.last_link,
            pos: self.last_record_pos(),
        }
    }

    /// Where the last record lies (its segment, anchor and end: see [`RecordPos`]).
    fn last_record_pos(&self) -> RecordPos {
        let a = &self.active;
        let (segment, end) = if a.end > SEGMENT_HEADER_BYTES {
            (a.index, a.end)
        } else if let Some(s) = self.sealed.last() {
            (s.index, s.written)
        } else if let Some(r) = self.retired.last() {
            (r.index, r.end)
        } else {
            (a.index, a.end) // no record yet
        };
        let (anchor_segment, anchor) = self.last_anchor;
        RecordPos {
            segment,
            anchor_offset: if anchor_segment == segment {
                anchor as u64
            } else {
                0
            },
            end_offset: end as u64,
        }
    }

    fn spans(&self) -> Vec<Span<'_>> {
        if let Some(io) = &self.io {
            io.wait_written();
        }
        let staged = Span {
            segment: self.active.index as u32,
            bytes: self.stage.bytes(),
            origin: self.stage.base(),
            start: self.stage.base(),
            end: self.active.end,
        };
        self.retired
            .iter()
            .map(Retired::span)
            .chain(self.sealed.iter().map(Seg::span))
            .chain([self.active.span(), staged])
            .collect()
    }

    /// Retires the sealed segments whose records are all durable (closing their files).
    fn retire_durable(&mut self) {
        let durable_lsn = self.durable_lsn();
        let k = self
            .sealed
            .iter()
            .take_while(|s| s.last_lsn <= durable_lsn)
            .count();
        if k > 0 {
            self.retired.extend(self.sealed.drain(..k).map(Retired::of));
            self.sealed_unflushed_from = self.sealed_unflushed_from.saturating_sub(k);
        }
        debug_assert!(self.sealed_unflushed_from <= self.sealed.len());
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        // The flusher stops first (after a flush in progress), then the tail is flushed here;
        // the write thread ends after writing every frame handed to it (after a crash too).
        drop(self.flusher.take());
        if self.flush_on_drop {
            // Best effort: errors cannot be reported from drop; call flush() to see them.
            let _ = match self.opts.durability {
                Durability::None => self.write_out(),
                Durability::Group | Durability::Sync => self.flush().map(|_| ()),
            };
        }
        drop(self.io.take());
        // Wait for and remove the unused spare while the lock is still held.
        drop(self.spare.take());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::reader::map_segments;

    fn opts() -> JournalOptions {
        JournalOptions {
            segment_bytes: 64 * 1024,
            durability: Durability::None,
            ..JournalOptions::default()
        }
    }

    /// Sums given ahead give exactly the bytes of a plain append.
    #[test]
    fn append_summed_writes_what_append_writes() {
        let payloads: Vec<Vec<u8>> = (0..300u32)
            .map(|i| (0..(i % 97 + 1)).map(|b| (b * 13 + i) as u8).collect())
            .collect();
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        {
            let (mut ja, _) = Journal::open(a.path(), opts()).unwrap();
            let (mut jb, _) = Journal::open(b.path(), opts()).unwrap();
            for (i, p) in payloads.iter().enumerate() {
                ja.append(i as i64, RecordKind::ENTRY, p).unwrap();
                jb.append_summed(i as i64, RecordKind::ENTRY, p, PayloadSums::of(p))
                    .unwrap();
            }
            assert_eq!(ja.head_link(), jb.head_link());
            ja.flush().unwrap();
            jb.flush().unwrap();
        }
        let (ma, mb) = (
            map_segments(a.path(), None).unwrap().0,
            map_segments(b.path(), None).unwrap().0,
        );
        assert_eq!(ma.len(), mb.len());
        for ((_, x), (_, y)) in ma.iter().zip(&mb) {
            assert!(x[..] == y[..], "segments differ");
        }
    }

    /// A sealed segment keeps its file open only until its records are durable; every record
    /// stays readable through the writer, in order.
    #[test]
    fn durable_sealed_segments_are_retired() {
        let payload = [7u8; 1000];
        for durability in [Durability::Sync, Durability::None] {
            let dir = tempfile::tempdir().unwrap();
            let opts = JournalOptions {
                durability,
                ..opts()
            };
            let (mut j, _) = Journal::open(dir.path(), opts).unwrap();
            for i in 0..600u64 {
                j.append(0, RecordKind::ENTRY, &payload).unwrap();
                if i % 10 == 9 {
                    j.commit().unwrap();
                }
            }
            let sealed = j.sealed.len() + j.retired.len();
            assert!(sealed >= 5, "{sealed} segments sealed");
            match durability {
                // Every batch flushed: every sealed segment retired at once.
                Durability::Sync => assert_eq!((j.sealed.len(), j.retired.len()), (0, sealed)),
                // Nothing durable until a flush; then all of them.
                _ => {
                    assert_eq!(j.retired.len(), 0);
                    j.flush().unwrap();
                    assert_eq!((j.sealed.len(), j.retired.len()), (0, sealed));
                }
            }
            let lsns: Vec<u64> = j.records().map(|r| r.lsn).collect();
            assert_eq!(lsns, (1..=600).collect::<Vec<_>>());
        }
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "payload sums do not match the payload")]
    fn wrong_sums_are_caught_in_debug_builds() {
        let dir = tempfile::tempdir().unwrap();
        let (mut j, _) = Journal::open(dir.path(), opts()).unwrap();
        let _ = j.append_summed(0, RecordKind::ENTRY, b"abc", PayloadSums::of(b"abd"));
    }
}
