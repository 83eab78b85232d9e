//! [`EffectLog`]: the writer of the effect log, owned by the core thread.
//!
//! Appends go to the page cache with plain `pwrite`s (a process crash keeps them); [`EffectLog::sync`]
//! makes them durable (`fdatasync`, and after a new segment the directory). Call it before the
//! journal's durable LSN covers the records that derived the appended effects, or re-derive the
//! effects the log lacks after a power cut: derivation is deterministic, so the same records give
//! the same effects with the same seqs, and a cursor that got ahead of the log is right again.
//!
//! Opening recovers: every segment is scanned and checked; an incomplete or torn last frame
//! (or a zeroed tail) of the last segment is cut, anything else is an error naming the file and
//! offset, and nothing is changed. A new segment is written under a temporary name and renamed
//! into place once its header is there, so readers never see a segment without one.

use super::frame::{self, FRAME_HEADER_BYTES, MAX_EFFECT_JSON_BYTES};
use super::lock::{self, Lock};
use super::reader::LogReader;
use super::segment::{
    self, End, SEGMENT_BYTES_DEFAULT, SEGMENT_BYTES_MAX, SEGMENT_BYTES_MIN, SEGMENT_HEADER_BYTES,
    SegmentReader, Step, segment_file_name,
};
use super::{OutboxError, effects_dir};
use crate::effect::EffectOut;
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Options of the effect log's writer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EffectLogOptions {
    /// Size at which a new segment starts ([`SEGMENT_BYTES_MIN`]..=[`SEGMENT_BYTES_MAX`]).
    pub segment_bytes: u64,
}

impl Default for EffectLogOptions {
    fn default() -> Self {
        EffectLogOptions {
            segment_bytes: SEGMENT_BYTES_DEFAULT,
        }
    }
}

/// What opening cut: an incomplete or torn last frame.
///
/// Only the tail of the last segment is ever cut (what a crash can leave); damage anywhere
/// else is an [`OutboxError::Corrupt`]. A last segment whose header was never completed is
/// removed whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TornEffects {
    /// The segment file that was cut (or removed).
    pub path: PathBuf,
    /// The byte offset it was cut at: the end of its last valid frame (0 for a removed
    /// segment).
    pub offset: u64,
    /// How many bytes were cut (0 for a removed segment).
    pub bytes_cut: u64,
    /// What was wrong with them.
    pub what: String,
}

struct Active {
    first_seq: u64,
    path: PathBuf,
    file: File,
    len: u64,
}

/// The effect log's single writer (an exclusive lock on `<journal>/effects`).
///
/// Owned by the thread that journals and applies records: it appends each derived effect in
/// seq order ([`EffectLog::append`]), makes them durable ([`EffectLog::sync`]) before the
/// journal's durable LSN covers their records, and drops the effects of records the journal
/// did not recover ([`EffectLog::truncate_after_lsn`]). Delivery reads the log without it.
pub struct EffectLog {
    dir: PathBuf,
    segment_bytes: u64,
    active: Active,
    last_seq: u64,
    last_cause_lsn: u64,
    dir_dirty: bool,
    frame: Vec<u8>,
    torn: Option<TornEffects>,
    _lock: Lock,
}

/// Where recovery left the log.
struct Recovered {
    last_seq: u64,
    last_cause_lsn: u64,
    /// The last segment and its valid end, `None` when there is none.
    active: Option<(u64, PathBuf, u64)>,
    torn: Option<TornEffects>,
}

impl EffectLog {
    /// Opens (or creates) the effect log of the journal in `journal_dir`.
    pub fn open(journal_dir: &Path) -> Result<EffectLog, OutboxError> {
        EffectLog::open_with(journal_dir, EffectLogOptions::default())
    }

    /// [`Self::open`] with options; [`OutboxError::Config`] when `opts.segment_bytes` is out
    /// of range.
    pub fn open_with(journal_dir: &Path, opts: EffectLogOptions) -> Result<EffectLog, OutboxError> {
        if !(SEGMENT_BYTES_MIN..=SEGMENT_BYTES_MAX).contains(&opts.segment_bytes) {
            return Err(OutboxError::Config(format!(
                "segment_bytes {} is outside {SEGMENT_BYTES_MIN}..={SEGMENT_BYTES_MAX}",
                opts.segment_bytes
            )));
        }
        let dir = effects_dir(journal_dir);
        lock::create_dir(&dir)?;
        let lock = lock::lock(&dir, true)?;
        remove_temporaries(&dir)?;
        let rec = recover(&dir)?;
        let active = match rec.active {
            Some((first_seq, path, len)) => open_active(first_seq, path, len)?,
            None => {
                let a = create_segment(&dir, rec.last_seq + 1)?;
                a.file
                    .sync_data()
                    .map_err(|e| OutboxError::io(&a.path, e))?;
                lock::fsync_dir(&dir)?;
                a
            }
        };
        Ok(EffectLog {
            dir,
            segment_bytes: opts.segment_bytes,
            active,
            last_seq: rec.last_seq,
            last_cause_lsn: rec.last_cause_lsn,
            dir_dirty: false,
            frame: Vec::new(),
            torn: rec.torn,
            _lock: lock,
        })
    }

    /// `<journal>/effects`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Seq of the last effect in the log (0 when none was ever appended).
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// Cause LSN of the last effect the log holds (0 when it holds none).
    pub fn last_cause_lsn(&self) -> u64 {
        self.last_cause_lsn
    }

    /// What opening cut, if anything.
    pub fn torn_tail(&self) -> Option<&TornEffects> {
        self.torn.as_ref()
    }

    /// Appends `e`, whose seq must follow the last one and whose cause LSN must not go back.
    /// Not durable until [`Self::sync`].
    pub fn append(&mut self, e: &EffectOut) -> Result<(), OutboxError> {
        assert_eq!(
            e.seq,
            self.last_seq + 1,
            "effects are appended in seq order"
        );
        assert!(
            e.cause_lsn >= self.last_cause_lsn,
            "seq {}: cause lsn {} below the previous {}",
            e.seq,
            e.cause_lsn,
            self.last_cause_lsn
        );
        if e.json.len() > MAX_EFFECT_JSON_BYTES {
            return Err(OutboxError::Refused {
                seq: e.seq,
                what: format!(
                    "{} bytes of JSON, over the limit of {MAX_EFFECT_JSON_BYTES}",
                    e.json.len()
                ),
            });
        }
        let frame_bytes = (FRAME_HEADER_BYTES + e.json.len()) as u64;
        let has_frames = self.active.len > SEGMENT_HEADER_BYTES as u64;
        if has_frames && self.active.len + frame_bytes > self.segment_bytes {
            self.rollover(e.seq)?;
        }
        self.frame.clear();
        frame::encode(e, &mut self.frame);
        let a = &mut self.active;
        if let Err(err) = a.file.write_all_at(&self.frame, a.len) {
            // Leave no partial frame behind a later append.
            let _ = a.file.set_len(a.len);
            return Err(OutboxError::io(&a.path, err));
        }
        a.len += frame_bytes;
        self.last_seq = e.seq;
        self.last_cause_lsn = e.cause_lsn;
        Ok(())
    }

    /// Seals the active segment (its frames made durable first) and starts the next.
    fn rollover(&mut self, first_seq: u64) -> Result<(), OutboxError> {
        let a = &self.active;
        assert!(
            first_seq > a.first_seq,
            "a new segment starts after the active one"
        );
        a.file
            .sync_data()
            .map_err(|e| OutboxError::io(&a.path, e))?;
        self.active = create_segment(&self.dir, first_seq)?;
        self.dir_dirty = true;
        Ok(())
    }

    /// Makes every appended effect durable.
    pub fn sync(&mut self) -> Result<(), OutboxError> {
        let a = &self.active;
        a.file
            .sync_data()
            .map_err(|e| OutboxError::io(&a.path, e))?;
        if self.dir_dirty {
            lock::fsync_dir(&self.dir)?;
            self.dir_dirty = false;
        }
        Ok(())
    }

    /// Drops every effect whose cause LSN is above `lsn` (the journal recovered fewer records
    /// than the log saw) and makes the cut durable. Returns how many effects were dropped.
    pub fn truncate_after_lsn(&mut self, lsn: u64) -> Result<u64, OutboxError> {
        if self.last_cause_lsn <= lsn {
            return Ok(0);
        }
        let listed = segment::list(&self.dir)?;
        let cut_in = segment_of_cut(&listed, lsn)?;
        // Later segments go first, last to first, so a crash leaves a contiguous log.
        for (_, path) in listed[cut_in + 1..].iter().rev() {
            fs::remove_file(path).map_err(|e| OutboxError::io(path, e))?;
        }
        lock::fsync_dir(&self.dir)?;
        let (first, path) = &listed[cut_in];
        let mut r = SegmentReader::open(path, *first)?;
        while let Step::Frame(h) = r.peek()? {
            if h.cause_lsn > lsn {
                break;
            }
            r.consume();
        }
        let dropped = self.last_seq - (r.next_seq() - 1);
        let active = open_active(*first, path.clone(), r.offset())?;
        active
            .file
            .set_len(r.offset())
            .and_then(|()| active.file.sync_all())
            .map_err(|e| OutboxError::io(path, e))?;
        self.active = active;
        self.last_seq = r.next_seq() - 1;
        self.last_cause_lsn = r.last_cause_lsn();
        self.dir_dirty = false;
        Ok(dropped)
    }

    /// A reader of this log from `from_seq` on (it sees what was appended, synced or not).
    #[doc(hidden)]
    pub fn reader(&self, from_seq: u64) -> LogReader {
        LogReader::open(&self.dir, from_seq)
    }

    /// The effect with seq `seq`, if the log holds it.
    pub fn read(&self, seq: u64) -> Result<Option<EffectOut>, OutboxError> {
        if seq == 0 || seq > self.last_seq {
            return Ok(None);
        }
        match self.reader(seq).next_effect(u64::MAX) {
            Err(OutboxError::Gone { .. }) => Ok(None),
            r => r,
        }
    }

    /// Every effect from `from_seq` on, in seq order.
    pub fn iter_from(&self, from_seq: u64) -> LogIter {
        LogIter {
            reader: Some(self.reader(from_seq.max(1))),
        }
    }
}

/// Makes every segment of the effect log of `journal_dir` durable as far as it was written
/// (without the writer: a snapshot thread or process syncs the log it does not own). A journal
/// without an effect log has nothing to sync.
pub fn sync_log_files(journal_dir: &Path) -> Result<(), OutboxError> {
    for (_, path) in segment::list(&super::effects_dir(journal_dir))? {
        File::open(&path)
            .and_then(|f| f.sync_data())
            .map_err(|e| OutboxError::io(&path, e))?;
    }
    Ok(())
}

/// The effects of a log from a seq on ([`EffectLog::iter_from`]); ends after an error.
pub struct LogIter {
    reader: Option<LogReader>,
}

impl Iterator for LogIter {
    type Item = Result<EffectOut, OutboxError>;

    fn next(&mut self) -> Option<Self::Item> {
        let r = self.reader.as_mut()?.next_effect(u64::MAX).transpose();
        if !matches!(r, Some(Ok(_))) {
            self.reader = None;
        }
        r
    }
}

/// Index of the segment in which the first effect with a cause LSN above `lsn` lies (or at
/// whose end the cut falls).
fn segment_of_cut(listed: &[(u64, PathBuf)], lsn: u64) -> Result<usize, OutboxError> {
    let mut cut_in = 0;
    for (i, (first, path)) in listed.iter().enumerate() {
        match SegmentReader::open(path, *first)?.peek()? {
            Step::Frame(h) if h.cause_lsn <= lsn => cut_in = i,
            _ => break,
        }
    }
    Ok(cut_in)
}

fn open_active(first_seq: u64, path: PathBuf, len: u64) -> Result<Active, OutboxError> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| OutboxError::io(&path, e))?;
    Ok(Active {
        first_seq,
        path,
        file,
        len,
    })
}

/// Writes a new segment's header under a temporary name and renames it into place.
fn create_segment(dir: &Path, first_seq: u64) -> Result<Active, OutboxError> {
    let path = dir.join(segment_file_name(first_seq));
    let tmp = dir.join(format!("{}.tmp", segment_file_name(first_seq)));
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .map_err(|e| OutboxError::io(&tmp, e))?;
    file.write_all_at(&segment::header(first_seq), 0)
        .map_err(|e| OutboxError::io(&tmp, e))?;
    if path.exists() {
        return Err(OutboxError::corrupt(
            &path,
            0,
            "a segment for this seq exists already",
        ));
    }
    fs::rename(&tmp, &path).map_err(|e| OutboxError::io(&path, e))?;
    Ok(Active {
        first_seq,
        path,
        file,
        len: SEGMENT_HEADER_BYTES as u64,
    })
}

fn remove_temporaries(dir: &Path) -> Result<(), OutboxError> {
    for entry in fs::read_dir(dir).map_err(|e| OutboxError::io(dir, e))? {
        let entry = entry.map_err(|e| OutboxError::io(dir, e))?;
        let name = entry.file_name();
        if name.to_str().is_some_and(|n| n.ends_with(".efx.tmp")) {
            fs::remove_file(entry.path()).map_err(|e| OutboxError::io(entry.path(), e))?;
        }
    }
    Ok(())
}

/// Scans every segment; cuts a torn tail of the last; refuses anything else out of place.
fn recover(dir: &Path) -> Result<Recovered, OutboxError> {
    let mut listed = segment::list(dir)?;
    let mut torn = None;
    if let Some((first, path)) = listed.last().cloned()
        && let Some(what) = torn_header(&path, first)?
    {
        fs::remove_file(&path).map_err(|e| OutboxError::io(&path, e))?;
        lock::fsync_dir(dir)?;
        torn = Some(TornEffects {
            path,
            offset: 0,
            bytes_cut: 0,
            what,
        });
        listed.pop();
        if listed.is_empty() {
            // The only segment was never complete: start again where it was to start.
            return Ok(Recovered {
                last_seq: first - 1,
                last_cause_lsn: 0,
                active: None,
                torn,
            });
        }
    }
    let mut rec = Recovered {
        last_seq: 0,
        last_cause_lsn: 0,
        active: None,
        torn,
    };
    for (i, (first, path)) in listed.iter().enumerate() {
        if i > 0 && *first != rec.last_seq + 1 {
            return Err(OutboxError::corrupt(
                path,
                0,
                format!(
                    "segment starts at seq {first}, the previous one ends at seq {}",
                    rec.last_seq
                ),
            ));
        }
        let is_last = i + 1 == listed.len();
        let end = scan_segment(path, *first, rec.last_cause_lsn, is_last, &mut rec)?;
        if is_last {
            rec.active = Some((*first, path.clone(), end));
        }
    }
    Ok(rec)
}

/// Why the last segment's header is not there (a rollover cut short), if it is not.
fn torn_header(path: &Path, first: u64) -> Result<Option<String>, OutboxError> {
    let bytes = {
        let f = File::open(path).map_err(|e| OutboxError::io(path, e))?;
        let mut h = [0u8; SEGMENT_HEADER_BYTES];
        let n = f.read_at(&mut h, 0).map_err(|e| OutboxError::io(path, e))?;
        let len = f.metadata().map_err(|e| OutboxError::io(path, e))?.len();
        (h, n, len)
    };
    let (h, n, len) = bytes;
    if n < SEGMENT_HEADER_BYTES && len == n as u64 {
        return Ok(Some(format!("segment header incomplete ({n} bytes)")));
    }
    match segment::parse_header(&h[..n]) {
        Ok(f) if f == first => Ok(None),
        // A header of zeros with nothing after it: the rollover's header never reached the disk.
        Err(what) if len == SEGMENT_HEADER_BYTES as u64 && h.iter().all(|&b| b == 0) => {
            Ok(Some(what))
        }
        _ => Ok(None), // SegmentReader::open reports it as damage
    }
}

/// Scans one segment into `rec`; returns the offset where its valid frames end.
fn scan_segment(
    path: &Path,
    first: u64,
    cause_floor: u64,
    is_last: bool,
    rec: &mut Recovered,
) -> Result<u64, OutboxError> {
    let mut r = SegmentReader::open(path, first)?;
    r.set_cause_floor(cause_floor);
    let end = loop {
        match r.peek()? {
            Step::Frame(_) => r.consume(),
            Step::End(End::Clean) => break None,
            Step::End(end) => break Some(end),
        }
    };
    rec.last_seq = r.next_seq() - 1;
    rec.last_cause_lsn = r.last_cause_lsn();
    let Some(end) = end else {
        return Ok(r.offset());
    };
    let incomplete = end == End::Incomplete;
    let what = match end {
        End::Invalid(what) => what,
        _ => "incomplete frame".to_owned(),
    };
    if !is_last || !(incomplete || r.reaches_end()? || r.zero_tail()?) {
        return Err(OutboxError::corrupt(path, r.offset(), what));
    }
    let len = r.file_len()?;
    let offset = r.offset();
    let f = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| OutboxError::io(path, e))?;
    f.set_len(offset)
        .and_then(|()| f.sync_all())
        .map_err(|e| OutboxError::io(path, e))?;
    rec.torn = Some(TornEffects {
        path: path.to_owned(),
        offset,
        bytes_cut: len - offset,
        what,
    });
    Ok(offset)
}
