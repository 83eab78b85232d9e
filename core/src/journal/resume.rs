//! Resuming a journal after a known record: where a record lies ([`RecordPos`]), and the check
//! that lets a scan start right after it instead of at its segment's start.
//!
//! A snapshot records, with its LSN and the chain link there, where that record lies: its
//! segment, the end of its frame, and an *anchor*: the last frame at or before it that stores
//! its chain link (every [`LINK_EVERY`]-th record does), or the segment's header. Opening then
//! checks the few frames from the anchor to the record (at most [`LINK_EVERY`]: their CRCs,
//! LSNs and chain, against the anchor's stored link) and scans from the end of the record on,
//! so it reads no byte of the journal before the anchor.

use std::fs::File;
use std::path::Path;

use memmap2::Mmap;

use super::chain::{Link, next_link};
use super::frame::{self, LINK_EVERY, MAX_PAYLOAD_BYTES};
use super::segment::{SEGMENT_HEADER_BYTES, SegmentHeader, segment_file_name};

/// Where the record at an LSN lies in its journal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordPos {
    /// The segment holding it (the number in the file name).
    pub segment: u64,
    /// The offset of the last frame at or before it, in that segment, that stores its chain
    /// link; 0: none does, the chain starts from the segment header's link.
    pub anchor_offset: u64,
    /// The offset just past its frame.
    pub end_offset: u64,
}

/// A known record to resume after: its LSN, ingest time, chain link and place (what a
/// snapshot of the state after it records).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resume {
    pub lsn: u64,
    /// Ingest time of the record at `lsn` (`i64::MIN` at 0).
    pub ingest_us: i64,
    /// Chain link of the record at `lsn` (the genesis link at 0).
    pub link: Link,
    pub pos: RecordPos,
}

impl Resume {
    /// Before any record: the journal's start.
    pub const START: Resume = Resume {
        lsn: 0,
        ingest_us: i64::MIN,
        link: super::chain::GENESIS_LINK,
        pos: RecordPos {
            segment: 0,
            anchor_offset: 0,
            end_offset: SEGMENT_HEADER_BYTES as u64,
        },
    };

    /// `self`, unless it is before any record (then opening has nothing to skip).
    pub fn past_start(self) -> Option<Resume> {
        (self.lsn > 0).then_some(self)
    }
}

/// Checks that the journal in `dir` holds `r`'s record where `r` says, with `r`'s chain link
/// and ingest time: reads its segment's header and the frames from the anchor to the record
/// (each frame's CRCs, the LSNs in order, the chain from the anchor's stored link). `Err` says
/// why not (another journal's snapshot, a journal cut before it, or damage there).
pub fn check_resume(dir: &Path, r: &Resume) -> Result<(), String> {
    find_record(dir, r).map_err(|why| {
        format!(
            "its record (lsn {}) is not in the journal where it says: {why} (a snapshot of another journal, or of records that were lost)",
            r.lsn
        )
    })?;
    Ok(())
}

/// [`check_resume`] up to the record's link and ingest time, which the caller's error names.
fn find_record(dir: &Path, r: &Resume) -> Result<(), String> {
    let path = dir.join(segment_file_name(r.pos.segment));
    let file = File::open(&path).map_err(|e| format!("segment {}: {e}", path.display()))?;
    // SAFETY: segment files are never truncated or shrunk while a journal exists.
    let map =
        unsafe { Mmap::map(&file) }.map_err(|e| format!("segment {}: {e}", path.display()))?;
    let header = SegmentHeader::decode(&map)?;
    if header.index != r.pos.segment {
        return Err(format!("segment header names segment {}", header.index));
    }
    let (mut lsn, mut link, mut pos) =
        (header.first_lsn - 1, header.prev_link, SEGMENT_HEADER_BYTES);
    let mut ingest_us = i64::MIN;
    if r.pos.anchor_offset != 0 {
        let f = frame::parse(&map, r.pos.anchor_offset as usize, MAX_PAYLOAD_BYTES)
            .map_err(|bad| format!("no record at the anchor: {}", bad.describe()))?;
        let stored = f.link.ok_or("the anchor stores no chain link")?;
        (lsn, link, pos) = (f.lsn, stored, r.pos.anchor_offset as usize + f.bytes());
        ingest_us = f.ingest_us;
        if f.lsn > r.lsn {
            return Err(format!("the anchor is at lsn {}, past {}", f.lsn, r.lsn));
        }
    }
    for _ in 0..=2 * LINK_EVERY {
        if lsn == r.lsn {
            break;
        }
        let f = frame::parse(&map, pos, MAX_PAYLOAD_BYTES)
            .map_err(|bad| format!("lsn {}: {}", lsn + 1, bad.describe()))?;
        if f.lsn != lsn + 1 {
            return Err(format!("lsn {} found, {} expected", f.lsn, lsn + 1));
        }
        link = next_link(&link, f.lsn, f.ingest_us, f.kind, f.payload);
        if f.link.is_some_and(|stored| stored != link) {
            return Err(format!("the chain breaks at lsn {}", f.lsn));
        }
        (lsn, ingest_us, pos) = (f.lsn, f.ingest_us, pos + f.bytes());
    }
    if lsn != r.lsn || pos as u64 != r.pos.end_offset {
        return Err("it ends elsewhere".to_owned());
    }
    if link != r.link {
        return Err("the journal's record there has another chain link".to_owned());
    }
    if ingest_us != r.ingest_us {
        return Err("the journal's record there has another ingest time".to_owned());
    }
    Ok(())
}

/// Where the record at `target` is, walking `records` (those after `base`, in order) from
/// `base`: its link recomputed, its place tracked. `None` when they end before it.
pub(crate) fn walk<'a>(
    records: impl Iterator<Item = Result<super::RecordRef<'a>, super::JournalError>>,
    base: Resume,
    target: u64,
) -> Option<Resume> {
    let mut cur = base;
    if target == cur.lsn {
        return Some(cur);
    }
    for r in records {
        let r = r.ok()?;
        debug_assert_eq!(r.lsn, cur.lsn + 1);
        let segment = u64::from(r.segment);
        let anchor_offset = match r.link {
            Some(_) => r.offset,
            None if segment == cur.pos.segment => cur.pos.anchor_offset,
            None => 0,
        };
        cur = Resume {
            lsn: r.lsn,
            ingest_us: r.ingest_us,
            link: next_link(&cur.link, r.lsn, r.ingest_us, r.kind, r.payload),
            pos: RecordPos {
                segment,
                anchor_offset,
                end_offset: r.offset + frame::frame_bytes(r.lsn, r.payload.len()) as u64,
            },
        };
        if let Some(stored) = r.link {
            debug_assert_eq!(stored, cur.link, "a scanned record's stored link");
        }
        if r.lsn == target {
            return Some(cur);
        }
    }
    None
}
