//! Read-only access for queries, replay and audits, and the record iterator shared with the
//! writer.

use std::fs::File;
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use super::error::Damage;
use super::frame;
use super::marker::{self, Durable};
use super::recovery::{self, Start};
use super::resume::Resume;
use super::segment::{self, SEGMENT_HEADER_BYTES};
use super::{JournalError, RecordRef, TornTail};

/// The valid record region of one segment, or part of one.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Span<'a> {
    pub segment: u32,
    /// The bytes of the segment from offset `origin` on.
    pub bytes: &'a [u8],
    /// Segment offset of `bytes[0]`.
    pub origin: usize,
    /// Segment offset of the first record of the span.
    pub start: usize,
    /// Segment offset just past the last record.
    pub end: usize,
}

impl<'a> Span<'a> {
    /// The records of a whole segment mapped at `bytes`, up to `end`.
    pub fn whole(segment: u32, bytes: &'a [u8], end: usize) -> Span<'a> {
        Span {
            segment,
            bytes,
            origin: 0,
            start: SEGMENT_HEADER_BYTES,
            end,
        }
    }
}

/// Iterator over validated records (no checks are repeated: the spans were scanned).
#[derive(Clone, Debug)]
pub struct Records<'a> {
    spans: Vec<Span<'a>>,
    span: usize,
    pos: usize,
}

impl<'a> Records<'a> {
    pub(crate) fn new(spans: Vec<Span<'a>>) -> Records<'a> {
        let pos = spans.first().map_or(SEGMENT_HEADER_BYTES, |s| s.start);
        Records {
            spans,
            span: 0,
            pos,
        }
    }
}

impl<'a> Records<'a> {
    /// The records of `spans` from position `pos` of span `span` on.
    pub(crate) fn after(spans: Vec<Span<'a>>, (span, pos): (usize, usize)) -> Records<'a> {
        debug_assert!(span < spans.len());
        Records { spans, span, pos }
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = RecordRef<'a>;

    fn next(&mut self) -> Option<RecordRef<'a>> {
        loop {
            let span = *self.spans.get(self.span)?;
            if self.pos < span.end {
                let f = frame::decode_trusted(span.bytes, self.pos - span.origin);
                let offset = self.pos;
                self.pos += f.bytes();
                debug_assert!(self.pos <= span.end);
                return Some(RecordRef {
                    segment: span.segment,
                    offset: offset as u64,
                    lsn: f.lsn,
                    ingest_us: f.ingest_us,
                    kind: f.kind,
                    link: f.link,
                    payload: f.payload,
                });
            }
            self.span += 1;
            self.pos = self.spans.get(self.span).map_or(0, |s| s.start);
        }
    }
}

/// Finds where the records after the one at `lsn` (0: before the first) start in spans of
/// whole segments, as (span, offset), by walking frame lengths from the header of the segment
/// holding it (at most one segment's walk, never the journal's). `None` when the spans do not
/// hold it.
fn locate(spans: &[Span<'_>], lsn: u64) -> Option<(usize, usize)> {
    let mut found = None;
    for (i, span) in spans.iter().enumerate() {
        if span.origin != 0 || span.start != SEGMENT_HEADER_BYTES {
            continue; // not a whole segment (staged bytes): no header to start from
        }
        let header = segment::SegmentHeader::decode(span.bytes).ok()?;
        if header.first_lsn > lsn.max(1) {
            break;
        }
        found = Some((i, header));
    }
    let (i, header) = found?;
    let span = &spans[i];
    if lsn == 0 {
        return (header.first_lsn == 1).then_some((i, span.start));
    }
    let (mut pos, mut expect) = (span.start, header.first_lsn);
    while pos < span.end {
        let f = frame::decode_trusted(span.bytes, pos);
        debug_assert_eq!(f.lsn, expect);
        pos += f.bytes();
        if f.lsn == lsn {
            if pos == span.end && i + 1 < spans.len() {
                return Some((i + 1, spans[i + 1].start));
            }
            return Some((i, pos));
        }
        expect += 1;
    }
    None
}

/// Where the records after LSN `lsn` start in `spans`, whose first record is `first_lsn`:
/// (span, offset). Found at once when `lsn` is just before the first record (a journal opened
/// after it), else by walking its segment ([`locate`]).
pub(crate) fn start_after(spans: &[Span<'_>], first_lsn: u64, lsn: u64) -> Option<(usize, usize)> {
    match spans.first() {
        Some(first) if lsn + 1 == first_lsn => Some((0, first.start)),
        _ => locate(spans, lsn),
    }
}

/// Maps the segment files of `dir` read-only (from the one a scan needing no record at or
/// before `after` starts at, with its header). `NoJournal` when there are none.
pub(crate) fn map_segments(
    dir: &Path,
    resume: Option<&Resume>,
) -> Result<(Segments, Option<Start>), JournalError> {
    if !dir.is_dir() {
        return Err(JournalError::NoJournal(dir.to_owned()));
    }
    let listed = segment::list(dir)?;
    if listed.is_empty() {
        return Err(JournalError::NoJournal(dir.to_owned()));
    }
    let start = segment::start_for(&listed, resume)?;
    let from = start.as_ref().map_or(0, |(k, _)| *k);
    let mut maps = Vec::with_capacity(listed.len() - from);
    for (index, path) in listed.into_iter().skip(from) {
        let file = File::open(&path).map_err(|e| JournalError::io(&path, e))?;
        // SAFETY: segment files are never truncated or shrunk while a journal exists (the
        // writer only appends into preallocated space and zeroes torn tails in place).
        let map = unsafe { Mmap::map(&file) }.map_err(|e| JournalError::io(&path, e))?;
        maps.push((index, map));
    }
    Ok((maps, start.map(|(_, h)| h)))
}

/// Mapped segment files with their indexes, in order.
pub(crate) type Segments = Vec<(u64, Mmap)>;

/// Reads the durable marker, then maps the segments (in that order, so that every record the
/// marker promises is in the page cache when mapped, even with a live writer). A marker that is
/// missing or unreadable is returned as damage, for the caller to report.
/// With `resume`, only the segments from the one holding its record (see
/// [`segment::start_for`], whose start is returned).
pub(crate) fn map_with_marker(
    dir: &Path,
    resume: Option<&Resume>,
) -> Result<MappedJournal, JournalError> {
    if !dir.is_dir() {
        return Err(JournalError::NoJournal(dir.to_owned()));
    }
    let durable = marker::read(dir)?;
    let (maps, start) = map_segments(dir, resume)?;
    Ok((maps, durable, start))
}

/// Mapped segments, the durable marker (or why it cannot be read), and where the scan starts
/// when not at the first segment's start.
pub(crate) type MappedJournal = (Segments, Result<Durable, Damage>, Option<Start>);

/// Read-only view of a journal: takes no lock, never modifies files, works with or without a
/// writer. It sees the journal as it was when opened (reopen to see later records).
pub struct JournalReader {
    dir: PathBuf,
    first_lsn: u64,
    /// The last valid record: its ingest time, chain link and place.
    last: Resume,
    maps: Vec<(u64, Mmap)>,
    /// Where each mapped segment's scanned records start and end.
    ends: Vec<(usize, usize)>,
    records: u64,
    last_lsn: u64,
    torn_tail: Option<TornTail>,
    damage: Option<Damage>,
}

impl JournalReader {
    /// Opens and scans the journal in `dir` ([`JournalError::NoJournal`] when there is none).
    /// Damage does not fail the open: [`JournalReader::records`] yields the records before it,
    /// then the error.
    pub fn open(dir: &Path) -> Result<JournalReader, JournalError> {
        JournalReader::open_after(dir, None)
    }

    /// [`Self::open`] for a reader that holds the state after the record `resume` names (from
    /// a snapshot; checked with [`super::check_resume`]): it maps and checks nothing before
    /// that record, and [`Self::records`] starts just past it. `None`: every segment.
    pub fn open_after(dir: &Path, resume: Option<&Resume>) -> Result<JournalReader, JournalError> {
        let (maps, durable, start) = map_with_marker(dir, resume)?;
        let views = recovery::views(&maps);
        let scan = match durable {
            Ok(durable) => recovery::scan(&views, durable, start.as_ref(), None),
            Err(damage) => recovery::Scan::damaged(damage),
        };
        let torn_tail = scan.torn_tail(&views);
        let ends = scan.segments.iter().map(|s| (s.start, s.end)).collect();
        drop(views);
        Ok(JournalReader {
            dir: dir.to_owned(),
            first_lsn: scan.first_lsn,
            last: Resume {
                lsn: scan.last_lsn,
                ingest_us: scan.last_ingest_us,
                link: scan.last_link,
                pos: super::RecordPos {
                    segment: scan.last_segment,
                    anchor_offset: scan.last_anchor as u64,
                    end_offset: scan.last_end as u64,
                },
            },
            maps,
            ends,
            records: scan.records,
            last_lsn: scan.last_lsn,
            torn_tail,
            damage: scan.damage,
        })
    }

    /// Records in LSN order; stops silently at a torn tail (see [`Self::torn_tail`]); yields
    /// `Err` once, after the last good record, when the journal is damaged.
    pub fn records(&self) -> impl Iterator<Item = Result<RecordRef<'_>, JournalError>> + '_ {
        Records::new(self.spans())
            .map(Ok)
            .chain(self.damage.iter().map(|d| Err(d.to_error())))
    }

    /// The records after LSN `lsn` (as [`Self::records`] from there), or `None` when the
    /// journal does not hold the record at `lsn`.
    pub fn records_after(
        &self,
        lsn: u64,
    ) -> Option<impl Iterator<Item = Result<RecordRef<'_>, JournalError>> + '_> {
        let spans = self.spans();
        let at = start_after(&spans, self.first_lsn, lsn)?;
        Some(
            Records::after(spans, at)
                .map(Ok)
                .chain(self.damage.iter().map(|d| Err(d.to_error()))),
        )
    }

    /// The last valid record: its LSN, ingest time, chain link and place (what a snapshot
    /// of the state there records).
    pub fn last(&self) -> Resume {
        self.last
    }

    fn spans(&self) -> Vec<Span<'_>> {
        self.ends
            .iter()
            .zip(&self.maps)
            .map(|(&(start, end), (index, map))| Span {
                start,
                ..Span::whole(*index as u32, &map[..], end)
            })
            .collect()
    }

    /// The torn tail found at open, if any.
    pub fn torn_tail(&self) -> Option<&TornTail> {
        self.torn_tail.as_ref()
    }

    /// The damage found at open, if any (also yielded by [`Self::records`]).
    pub fn damage(&self) -> Option<JournalError> {
        self.damage.as_ref().map(Damage::to_error)
    }

    /// Number of valid records (before any torn tail or damage).
    pub fn record_count(&self) -> u64 {
        self.records
    }

    /// LSN of the first record of the first segment read: 1, unless the reader was opened
    /// after an LSN or the journal's first segments were archived.
    pub fn first_lsn(&self) -> u64 {
        self.first_lsn
    }

    /// LSN of the last valid record (0 when there is none).
    pub fn last_lsn(&self) -> u64 {
        self.last_lsn
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}
