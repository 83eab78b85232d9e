//! The single writer: open with recovery, append, group commit, segment rollover.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::mem;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use memmap2::MmapMut;

use super::chain::{GENESIS_LINK, Link, next_link_summed};
use super::clock::{Clock, SystemClock};
use super::flusher::{Flusher, FlusherParts};
use super::frame::{self, FRAME_ALIGN_BYTES, FRAME_HEADER_BYTES, MAX_PAYLOAD_BYTES};
use super::marker::{self, Durable, Marker};
use super::reader::{Records, Span};
use super::recovery::{self, Scan};
use super::segment::{self, SEGMENT_COUNT_MAX, SEGMENT_HEADER_BYTES, SegmentHeader};
use super::spare::Spare;
use super::storage::{OsStorage, Storage};
use super::{
    Appended, Durability, GROUP_COMMIT_INTERVAL_US_MAX, JournalError, JournalOptions, PayloadSums,
    RecordKind, Recovery,
};

/// What the journal needs from its surroundings: where bytes become durable and the clock that
/// paces group commits. The default is the real disk and the machine's clock; tests and the
/// simulator inject a [`super::storage::SimulatedDisk`] or a [`super::clock::ManualClock`].
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

/// One mapped segment file.
struct Seg {
    index: u64,
    map: MmapMut,
    /// Offset just past the last record (the write offset of the active segment).
    end: usize,
    /// Everything before this offset has been flushed.
    flushed: usize,
}

impl Seg {
    fn flush(&mut self, dir: &Path, storage: &dyn Storage) -> Result<(), JournalError> {
        if self.flushed < self.end {
            segment::sync(dir, storage, self.index, &self.map, self.flushed, self.end)?;
            self.flushed = self.end;
        }
        Ok(())
    }

    fn span(&self) -> Span<'_> {
        Span {
            segment: self.index as u32,
            bytes: &self.map[..],
            end: self.end,
        }
    }
}

/// The journal's single writer. Holds an exclusive lock on the journal directory itself while
/// it lives (deleting a file cannot break it); on drop it flushes what is unflushed (except in
/// [`Durability::None`]) and releases the lock. [`Journal::crash`] drops it without flushing.
pub struct Journal {
    dir: PathBuf,
    opts: JournalOptions,
    env: JournalEnv,
    /// Largest payload accepted: [`MAX_PAYLOAD_BYTES`], or less if it would not fit in an
    /// empty segment of `opts.segment_bytes`.
    max_payload: usize,
    /// Segments before the active one, in order.
    sealed: Vec<Seg>,
    /// Sealed segments before this one are fully flushed.
    sealed_unflushed_from: usize,
    active: Seg,
    /// The next segment, prepared in the background.
    spare: Option<Spare>,
    last_lsn: u64,
    last_link: Link,
    last_ingest_us: i64,
    /// Every record up to this LSN is durable: raised by [`Self::flush`] and by the flusher,
    /// after the durable marker.
    durable_lsn: Arc<AtomicU64>,
    /// The durable marker file, shared with the flusher.
    marker: Arc<Mutex<Marker>>,
    /// When the last inline flush started, by `env.clock`.
    last_flush_us: u64,
    /// Group mode: flushes the active segment on its own thread (`None` in the other modes,
    /// or when no thread could be started: group commits then run inline).
    flusher: Option<Flusher>,
    /// The last LSN handed to the flusher.
    published_lsn: u64,
    /// False after [`Self::crash`]: drop then flushes nothing.
    flush_on_drop: bool,
    /// Held for the writer's whole life; declared last so that it is released last.
    _lock: File,
}

fn check_options(opts: &JournalOptions) -> Result<(), JournalError> {
    segment::check_segment_bytes(opts.segment_bytes).map_err(JournalError::InvalidOptions)?;
    if opts.group_commit_interval_us > GROUP_COMMIT_INTERVAL_US_MAX {
        return Err(JournalError::InvalidOptions(format!(
            "group_commit_interval_us {} exceeds {GROUP_COMMIT_INTERVAL_US_MAX}",
            opts.group_commit_interval_us
        )));
    }
    Ok(())
}

/// Takes the single writer's lock: an exclusive `flock` on the journal directory itself, so
/// that no file in it can be deleted or replaced to let a second writer in. Released when the
/// returned handle is closed.
pub(crate) fn lock_dir(dir: &Path) -> Result<File, JournalError> {
    let file = File::open(dir).map_err(|e| JournalError::io(dir, e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(JournalError::Locked(dir.to_owned())),
        Err(TryLockError::Error(e)) => Err(JournalError::io(dir, e)),
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the marker leaves plain data behind: keep going.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Creates `dir` if needed; an existing path that is not a directory is refused.
fn prepare_dir(dir: &Path) -> Result<(), JournalError> {
    match fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(JournalError::NotADirectory(dir.to_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            fs::create_dir_all(dir).map_err(|e| JournalError::io(dir, e))
        }
        Err(e) => Err(JournalError::io(dir, e)),
    }
}

/// Maps every segment file of `dir` writable.
fn map_writable(listed: &[(u64, PathBuf)]) -> Result<Vec<(u64, MmapMut)>, JournalError> {
    let mut maps = Vec::with_capacity(listed.len());
    for (index, path) in listed {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| JournalError::io(path, e))?;
        // SAFETY: we hold the writer lock; segment files are never truncated.
        let map = unsafe { MmapMut::map_mut(&file) }.map_err(|e| JournalError::io(path, e))?;
        maps.push((*index, map));
    }
    Ok(maps)
}

/// Cuts what the scan found torn (zeroes it and syncs the zeros) and removes the segment
/// files after it; returns the kept segments.
fn cut_tail(
    dir: &Path,
    storage: &dyn Storage,
    listed: &[(u64, PathBuf)],
    mut maps: Vec<(u64, MmapMut)>,
    scan: &Scan,
) -> Result<Vec<Seg>, JournalError> {
    if let Some(t) = &scan.torn {
        let (index, map) = &mut maps[t.view];
        map[t.offset..t.nonzero_end].fill(0);
        segment::sync(dir, storage, *index, map, t.offset, t.nonzero_end)?;
    }
    let kept = scan.segments.len();
    debug_assert_eq!(kept + scan.dropped, maps.len());
    if scan.dropped > 0 {
        for (_, path) in &listed[kept..] {
            fs::remove_file(path).map_err(|e| JournalError::io(path, e))?;
        }
        segment::fsync_dir(dir)?;
        maps.truncate(kept);
    }
    Ok(maps
        .into_iter()
        .zip(&scan.segments)
        .map(|((index, map), s)| {
            debug_assert_eq!(index, s.index);
            // Synced from the start at open, header included: what recovery keeps is all
            // made durable before it is reported so.
            Seg {
                index,
                map,
                end: s.end,
                flushed: 0,
            }
        })
        .collect())
}

impl Journal {
    /// Opens the journal in `dir` (creating the directory, the durable marker and the first
    /// segment if absent) with an exclusive lock ([`JournalError::Locked`] if another writer
    /// holds it), on the real disk and clock.
    ///
    /// Recovery validates every frame (framing, both CRCs, LSN continuity, ingest-time order,
    /// the hash chain, segment headers) against the durable marker: damage at or below the
    /// durable LSN is [`JournalError::Corrupt`] and nothing is changed; past it, the records
    /// from the first bad position on are a torn tail, which is cut (zeroed and synced, with
    /// every later segment removed). Then everything kept is synced and the marker raised to
    /// it, so the durable LSN starts at the last recovered record.
    pub fn open(dir: &Path, opts: JournalOptions) -> Result<(Journal, Recovery), JournalError> {
        Journal::open_with(dir, opts, JournalEnv::default())
    }

    /// [`Self::open`] with the storage and clock of `env`.
    pub fn open_with(
        dir: &Path,
        opts: JournalOptions,
        env: JournalEnv,
    ) -> Result<(Journal, Recovery), JournalError> {
        check_options(&opts)?;
        prepare_dir(dir)?;
        let lock_file = lock_dir(dir)?;
        segment::remove_temporaries(dir)?;
        let storage = &*env.storage;
        let mut listed = segment::list(dir)?;
        let mut marker = if listed.is_empty() {
            let marker = Marker::create(dir, Arc::clone(&env.storage))?;
            let header = SegmentHeader {
                index: 0,
                first_lsn: 1,
                segment_bytes: opts.segment_bytes,
                prev_link: GENESIS_LINK,
            };
            drop(segment::create(dir, storage, &header)?);
            listed = segment::list(dir)?;
            marker
        } else {
            let durable = marker::read(dir)?.map_err(|d| d.to_error())?;
            Marker::open(dir, Arc::clone(&env.storage), durable)?
        };
        let maps = map_writable(&listed)?;
        let views = recovery::views(&maps);
        let scan = recovery::scan(&views, marker.current(), None);
        if let Some(d) = &scan.damage {
            return Err(d.to_error());
        }
        let torn_tail = scan.torn_tail(&views);
        drop(views);
        let mut segs = cut_tail(dir, storage, &listed, maps, &scan)?;
        // What recovery kept is made durable before it is reported so.
        for seg in &mut segs {
            seg.flush(dir, storage)?;
        }
        marker.raise(Durable {
            lsn: scan.last_lsn,
            link: scan.last_link,
        })?;
        let mut active = segs.pop().expect("a journal has at least one segment");
        segment::prefault(&mut active.map, active.end);
        let recovery = Recovery {
            records: scan.records,
            segments: (segs.len() + 1) as u32,
            torn_tail,
            removed_segments: scan.dropped as u32,
        };
        let journal = Journal::assemble(dir, opts, env, (segs, active), &scan, marker, lock_file);
        Ok((journal, recovery))
    }

    /// Puts a recovered journal together and starts its background threads.
    fn assemble(
        dir: &Path,
        opts: JournalOptions,
        env: JournalEnv,
        (sealed, active): (Vec<Seg>, Seg),
        scan: &Scan,
        marker: Marker,
        lock_file: File,
    ) -> Journal {
        let max_payload = MAX_PAYLOAD_BYTES
            .min(opts.segment_bytes as usize - SEGMENT_HEADER_BYTES - FRAME_HEADER_BYTES);
        let spare = Spare::start(dir, active.index + 1, opts.segment_bytes);
        let durable_lsn = Arc::new(AtomicU64::new(scan.last_lsn));
        let marker = Arc::new(Mutex::new(marker));
        let flusher = match opts.durability {
            Durability::Group => Flusher::start(
                dir,
                opts.group_commit_interval_us,
                FlusherParts {
                    durable_lsn: Arc::clone(&durable_lsn),
                    marker: Arc::clone(&marker),
                    storage: Arc::clone(&env.storage),
                    clock: Arc::clone(&env.clock),
                },
            ),
            Durability::None | Durability::Sync => None,
        };
        let last_flush_us = env.clock.now_us();
        Journal {
            dir: dir.to_owned(),
            _lock: lock_file,
            opts,
            env,
            max_payload,
            sealed_unflushed_from: sealed.len(),
            sealed,
            spare: Some(spare),
            active,
            last_lsn: scan.last_lsn,
            last_link: scan.last_link,
            last_ingest_us: scan.last_ingest_us,
            durable_lsn,
            marker,
            last_flush_us,
            flusher,
            published_lsn: scan.last_lsn,
            flush_on_drop: true,
        }
    }

    /// Dies without shutdown, as a killed process does: nothing more is flushed (a group
    /// flush already under way completes), the durable marker stays where it is, and what was
    /// written but not flushed stays in the page cache, where a power cut can still take it
    /// (see [`super::storage::SimulatedDisk::cut_power`]).
    pub fn crash(mut self) {
        self.flush_on_drop = false;
    }

    /// Appends one record and returns its LSN, the stored ingest time
    /// (`max(ingest_us, last_ingest_us())`: ingest times never go backwards) and the payload as
    /// it now sits in the mapping (16-byte aligned, for zero-copy reads). The payload's sums
    /// (CRC32C and XXH3-128, see [`PayloadSums`]) are computed here; the chain link then hashes
    /// a fixed-size input. The record is not durable until [`Self::commit`] or [`Self::flush`]
    /// says so. No allocation.
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
        let frame_len = frame::frame_bytes(payload_len);
        if self.active.end + frame_len > self.active.map.len() {
            self.roll()?;
        }
        let lsn = self
            .last_lsn
            .checked_add(1)
            .ok_or_else(|| JournalError::Full("LSN space exhausted".into()))?;
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
        debug_assert!(at >= SEGMENT_HEADER_BYTES && at + frame_len <= self.active.map.len());
        frame::write(
            &mut self.active.map[at..at + frame_len],
            lsn,
            ingest_us,
            &link,
            kind,
            payload,
            sums.crc32c,
        );
        self.active.end = at + frame_len;
        self.last_lsn = lsn;
        self.last_link = link;
        self.last_ingest_us = ingest_us;
        let payload_at = at + FRAME_HEADER_BYTES;
        let stored = &self.active.map[payload_at..payload_at + payload_len];
        debug_assert_eq!(stored.as_ptr() as usize % FRAME_ALIGN_BYTES, 0);
        Ok(Appended {
            lsn,
            ingest_us,
            payload: stored,
        })
    }

    /// Moves to a new segment (the record did not fit). In group and sync mode the old
    /// segment is flushed first, so a later segment never holds records while an earlier one
    /// has unflushed ones.
    #[cold]
    fn roll(&mut self) -> Result<(), JournalError> {
        if self.opts.durability != Durability::None {
            self.flush()?;
        }
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
            _ => segment::allocate(&self.dir, index, self.opts.segment_bytes)?,
        };
        let map = segment::install(&self.dir, &*self.env.storage, &header, prepared)?;
        let fresh = Seg {
            index,
            map,
            end: SEGMENT_HEADER_BYTES,
            flushed: SEGMENT_HEADER_BYTES,
        };
        let old = mem::replace(&mut self.active, fresh);
        self.sealed.push(old);
        if index + 1 < SEGMENT_COUNT_MAX {
            self.spare = Some(Spare::start(&self.dir, index + 1, self.opts.segment_bytes));
        }
        Ok(())
    }

    /// End of a batch. `none`: nothing; `sync`: flush everything appended so far; `group`:
    /// flush if `group_commit_interval_us` has passed since the last flush. Returns the
    /// durable LSN (only what was flushed counts; in `none` mode that is what [`Self::flush`]
    /// flushed). In group mode the caller should call `commit` again when idle, so that the
    /// last batch does not wait for the next one.
    pub fn commit(&mut self) -> Result<u64, JournalError> {
        match self.opts.durability {
            Durability::None => Ok(self.durable_lsn()),
            Durability::Sync => self.flush(),
            Durability::Group => {
                if let Some(f) = &self.flusher {
                    if let Some((path, e)) = f.take_error() {
                        return Err(JournalError::io(&path, e));
                    }
                    if self.published_lsn < self.last_lsn {
                        // The active segment stays mapped (sealed segments too) until
                        // the flusher is joined in `drop`.
                        f.publish(
                            self.active.index,
                            (self.active.map.as_ptr(), self.active.map.len()),
                            self.active.end,
                            self.last_lsn,
                            self.last_link,
                        );
                        self.published_lsn = self.last_lsn;
                    }
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
        }
    }

    /// True when group commits run on the flusher thread: [`Self::commit`] then never waits
    /// for the disk, and the durable LSN rises by itself (see [`Self::durable_handle`]).
    pub fn flushes_in_background(&self) -> bool {
        self.flusher.is_some()
    }

    /// Flushes (msync) everything appended so far, whatever the mode, then raises the durable
    /// marker (synced) and the durable LSN; returns the durable LSN.
    pub fn flush(&mut self) -> Result<u64, JournalError> {
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
        lock(&self.marker).raise(Durable {
            lsn: self.last_lsn,
            link: self.last_link,
        })?;
        self.durable_lsn.fetch_max(self.last_lsn, Ordering::AcqRel);
        debug_assert!(lock(&self.marker).current().lsn >= self.durable_lsn());
        Ok(self.last_lsn)
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

    /// Iterates every record in the journal, in LSN order (those recovered at open and those
    /// appended since). Used right after open to rebuild state.
    pub fn records(&self) -> Records<'_> {
        let spans = self
            .sealed
            .iter()
            .map(Seg::span)
            .chain(std::iter::once(self.active.span()))
            .collect();
        Records::new(spans)
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        // The flusher stops first (after a flush in progress), then the tail is flushed here.
        drop(self.flusher.take());
        if self.flush_on_drop && self.opts.durability != Durability::None {
            // Best effort: errors cannot be reported from drop; call flush() to see them.
            let _ = self.flush();
        }
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
            map_segments(a.path()).unwrap(),
            map_segments(b.path()).unwrap(),
        );
        assert_eq!(ma.len(), mb.len());
        for ((_, x), (_, y)) in ma.iter().zip(&mb) {
            assert!(x[..] == y[..], "segments differ");
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
