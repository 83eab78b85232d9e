//! The validating scan shared by [`super::Journal::open`], [`super::JournalReader`] and
//! [`super::verify`]: frames, CRCs, LSN continuity, segment headers, and the decision between
//! a torn tail (cut or skipped) and damage (an error naming segment, offset and LSN).

use super::chain::{GENESIS_LINK, Link};
use super::error::Damage;
use super::frame::{self, Bad, FRAME_ALIGN_BYTES, FRAME_HEADER_BYTES, Frame, MAX_PAYLOAD_BYTES};
use super::segment::{SEGMENT_HEADER_BYTES, SegmentHeader, segment_file_name};

/// A segment file's bytes, with the index from its file name.
pub(crate) struct SegView<'a> {
    pub index: u64,
    pub bytes: &'a [u8],
}

/// Views of mapped segments (`(index, mapping)` pairs), for [`scan`].
pub(crate) fn views<M: std::ops::Deref<Target = [u8]>>(maps: &[(u64, M)]) -> Vec<SegView<'_>> {
    maps.iter()
        .map(|(index, map)| SegView {
            index: *index,
            bytes: &map[..],
        })
        .collect()
}

/// The valid part of one scanned segment.
#[derive(Clone, Debug)]
pub(crate) struct SegScan {
    pub index: u64,
    /// Offset just past the last valid record.
    pub end: usize,
}

/// A torn tail: `views[view]` from `offset` to `nonzero_end` is to be cut.
#[derive(Clone, Debug)]
pub(crate) struct TornAt {
    pub view: usize,
    pub offset: usize,
    pub nonzero_end: usize,
    pub lsn: u64,
}

/// Outcome of a scan. With `damage`, `segments` holds the valid records before the damage.
#[derive(Debug)]
pub(crate) struct Scan {
    pub segments: Vec<SegScan>,
    pub records: u64,
    pub last_lsn: u64,
    /// The stored link of the last valid record (the genesis link when there is none).
    pub last_link: Link,
    /// Ingest time of the last valid record (`i64::MIN` when there is none).
    pub last_ingest_us: i64,
    pub torn: Option<TornAt>,
    /// Number of segment files after the kept ones that hold no records and go with the tail.
    pub dropped: usize,
    pub damage: Option<Damage>,
}

impl Scan {
    pub fn torn_tail(&self, views: &[SegView<'_>]) -> Option<super::TornTail> {
        self.torn.as_ref().map(|t| super::TornTail {
            segment: segment_file_name(views[t.view].index),
            offset: t.offset as u64,
            bytes_cut: (t.nonzero_end - t.offset) as u64,
            lsn: t.lsn,
        })
    }
}

/// Called for every valid record in order; an `Err` is damage at that record.
pub(crate) type OnRecord<'c> = &'c mut dyn FnMut(u64, usize, &Frame<'_>) -> Result<(), String>;

fn damage(index: u64, offset: usize, lsn: u64, what: impl Into<String>) -> Damage {
    Damage {
        segment: segment_file_name(index),
        offset: offset as u64,
        lsn,
        what: what.into(),
    }
}

/// Whether every byte is zero (word at a time).
pub(crate) fn is_zero(bytes: &[u8]) -> bool {
    let mut chunks = bytes.chunks_exact(64);
    let words_zero = chunks.all(|c| c.iter().fold(0u8, |acc, &b| acc | b) == 0);
    words_zero && chunks.remainder().iter().all(|&b| b == 0)
}

/// Offset just past the last non-zero byte (0 when all are zero).
fn nonzero_len(bytes: &[u8]) -> usize {
    const CHUNK: usize = 4096;
    let mut end = bytes.len();
    while end > 0 {
        let start = end.saturating_sub(CHUNK);
        if let Some(at) = bytes[start..end].iter().rposition(|&b| b != 0) {
            return start + at + 1;
        }
        end = start;
    }
    0
}

/// The first 16-byte aligned position at or after `from` holding a CRC-valid frame.
fn find_plausible(bytes: &[u8], from: usize) -> Option<usize> {
    debug_assert_eq!(from % FRAME_ALIGN_BYTES, 0);
    let last = bytes.len().checked_sub(FRAME_HEADER_BYTES)?;
    (from..=last).step_by(FRAME_ALIGN_BYTES).find(|&pos| {
        frame::len_at(bytes, pos) != 0 && frame::plausible_at(bytes, pos, MAX_PAYLOAD_BYTES)
    })
}

/// Decodes a segment header and checks it against the file name and length.
fn check_header(view: &SegView<'_>) -> Result<SegmentHeader, String> {
    let header = SegmentHeader::decode(view.bytes)?;
    if header.index != view.index {
        return Err(format!("segment header names segment {}", header.index));
    }
    if header.segment_bytes != view.bytes.len() as u64 {
        return Err(format!(
            "segment header says {} bytes, the file has {}",
            header.segment_bytes,
            view.bytes.len()
        ));
    }
    Ok(header)
}

/// Whether `views[from..]` hold no records at all (headers must still be sound).
fn trailing_empty(views: &[SegView<'_>], from: usize, expect_lsn: u64) -> Result<bool, Damage> {
    for (i, view) in views.iter().enumerate().skip(from) {
        if view.index != i as u64 {
            return Err(damage(i as u64, 0, expect_lsn, "segment file missing"));
        }
        check_header(view).map_err(|what| damage(view.index, 0, expect_lsn, what))?;
        if find_plausible(view.bytes, SEGMENT_HEADER_BYTES).is_some() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Scans `views` (all segment files, sorted by index) and validates every frame.
pub(crate) fn scan(views: &[SegView<'_>], on_record: OnRecord<'_>) -> Scan {
    let mut s = Scan {
        segments: Vec::with_capacity(views.len()),
        records: 0,
        last_lsn: 0,
        last_link: GENESIS_LINK,
        last_ingest_us: i64::MIN,
        torn: None,
        dropped: 0,
        damage: None,
    };
    for (i, view) in views.iter().enumerate() {
        let expect_lsn = s.last_lsn + 1;
        if view.index != i as u64 {
            s.damage = Some(damage(i as u64, 0, expect_lsn, "segment file missing"));
            return s;
        }
        let header = match check_header(view) {
            Ok(h) => h,
            Err(what) => {
                s.damage = Some(damage(view.index, 0, expect_lsn, what));
                return s;
            }
        };
        if header.first_lsn != expect_lsn || header.prev_link != s.last_link {
            // Records lost at the end of the previous segment are a torn tail only when this
            // and every later segment are empty (the writer rolled over, then died).
            if i > 0 {
                match trailing_empty(views, i, expect_lsn) {
                    Ok(true) => {
                        let end = s.segments[i - 1].end;
                        s.torn = Some(TornAt {
                            view: i - 1,
                            offset: end,
                            nonzero_end: end,
                            lsn: expect_lsn,
                        });
                        s.dropped = views.len() - i;
                        return s;
                    }
                    Ok(false) => {}
                    Err(d) => {
                        s.damage = Some(d);
                        return s;
                    }
                }
            }
            let mut what = if header.first_lsn != expect_lsn {
                format!(
                    "segment starts at lsn {}, expected {expect_lsn} (a segment is missing or out of order)",
                    header.first_lsn
                )
            } else {
                "segment header link does not match the previous record (a segment is missing or replaced)"
                    .to_owned()
            };
            if let Some(prev) = s.segments.last() {
                what.push_str(&format!(
                    "; the previous segment's records end at offset {}",
                    prev.end
                ));
            }
            s.damage = Some(damage(view.index, 0, expect_lsn, what));
            return s;
        }

        let bytes = view.bytes;
        let mut pos = SEGMENT_HEADER_BYTES;
        let bad: Option<String> = loop {
            debug_assert_eq!(pos % FRAME_ALIGN_BYTES, 0);
            match frame::parse(bytes, pos, MAX_PAYLOAD_BYTES) {
                Ok(f) => {
                    let expect = s.last_lsn + 1;
                    if f.lsn != expect {
                        break Some(format!("lsn {} found, expected {expect}", f.lsn));
                    }
                    if f.ingest_us < s.last_ingest_us {
                        break Some(format!(
                            "ingest time {} goes back from {}",
                            f.ingest_us, s.last_ingest_us
                        ));
                    }
                    if let Err(what) = on_record(view.index, pos, &f) {
                        break Some(what);
                    }
                    s.last_lsn = f.lsn;
                    s.last_link = f.link;
                    s.last_ingest_us = f.ingest_us;
                    s.records += 1;
                    pos += f.bytes();
                }
                Err(Bad::Empty) if is_zero(&bytes[pos..]) => break None,
                Err(bad) => break Some(bad.describe()),
            }
        };
        s.segments.push(SegScan {
            index: view.index,
            end: pos,
        });
        let Some(what) = bad else { continue };

        // The first position that is not the valid next record: torn tail or damage?
        let expect = s.last_lsn + 1;
        if find_plausible(bytes, pos).is_some() {
            s.damage = Some(damage(view.index, pos, expect, what));
            return s;
        }
        match trailing_empty(views, i + 1, expect) {
            Ok(true) => {
                let nonzero_end = pos + frame::align_up(nonzero_len(&bytes[pos..]));
                s.torn = Some(TornAt {
                    view: i,
                    offset: pos,
                    nonzero_end: nonzero_end.min(bytes.len()),
                    lsn: expect,
                });
                s.dropped = views.len() - (i + 1);
            }
            Ok(false) => {
                s.damage = Some(damage(
                    view.index,
                    pos,
                    expect,
                    format!("{what} (a later segment holds records)"),
                ));
            }
            Err(d) => s.damage = Some(d),
        }
        return s;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_helpers() {
        let mut b = vec![0u8; 10_000];
        assert!(is_zero(&b));
        assert_eq!(nonzero_len(&b), 0);
        b[9_999] = 1;
        assert!(!is_zero(&b));
        assert_eq!(nonzero_len(&b), 10_000);
        b[9_999] = 0;
        b[17] = 3;
        assert!(!is_zero(&b));
        assert_eq!(nonzero_len(&b), 18);
    }
}
