//! The full audit behind `journal verify`, and the BLAKE3 content digest (the anchor).

use std::path::Path;

use super::error::Damage;
use super::frame;
use super::reader::{Records, Span, map_with_marker};
use super::recovery;
use super::segment::segment_file_name;
use super::{JournalError, RecordKind, VerifyReport};

/// The caller's check of one payload (e.g. rkyv validation): `Err` describes what is wrong.
pub type PayloadCheck<'a> = dyn Fn(RecordKind, &[u8]) -> Result<(), String> + Sync + 'a;

/// Frames are gathered in a buffer of this size and handed to BLAKE3 a buffer at a time: an
/// `update` with many 1 KiB chunks runs BLAKE3's SIMD over several chunks at once, while one
/// `update` per small frame would be a sequential compression per 64 bytes.
const ANCHOR_BUFFER_BYTES: usize = 256 * 1024;

/// `BLAKE3(frame(1) || frame(2) || ... || frame(n))`, each frame its exact bytes (header and
/// payload, not the padding after it), fed in large slices. The hash does not depend on how
/// the input is split, so this equals BLAKE3 of the concatenation.
struct Anchor {
    hasher: blake3::Hasher,
    buf: Vec<u8>,
}

impl Anchor {
    fn new() -> Anchor {
        Anchor {
            hasher: blake3::Hasher::new(),
            buf: Vec::with_capacity(ANCHOR_BUFFER_BYTES),
        }
    }

    #[inline]
    fn add(&mut self, frame: &[u8]) {
        if self.buf.len() + frame.len() > ANCHOR_BUFFER_BYTES {
            self.hasher.update(&self.buf);
            self.buf.clear();
        }
        if frame.len() >= ANCHOR_BUFFER_BYTES {
            self.hasher.update(frame);
        } else {
            self.buf.extend_from_slice(frame);
        }
    }

    fn finish(mut self) -> [u8; 32] {
        self.hasher.update(&self.buf);
        *self.hasher.finalize().as_bytes()
    }
}

/// [`verify_at`] with the content digest taken over every record.
pub fn verify(dir: &Path, check_payload: &PayloadCheck<'_>) -> Result<VerifyReport, JournalError> {
    verify_at(dir, None, check_payload)
}

/// Audits the journal in `dir` without modifying it: segment headers, framing, CRCs, LSN
/// continuity, ingest-time order, the hash chain (every link recomputed from the first record),
/// the durable marker (every record up to it present, its chain link matching) and
/// `check_payload` on every payload (e.g. rkyv validation). A torn tail past the durable LSN is
/// reported, not an error; everything else is [`JournalError::Corrupt`] naming segment, offset
/// and LSN (the first such record in LSN order).
///
/// It also computes the content digest ([`VerifyReport::content_digest`]) over the records
/// `first_lsn..=anchor_lsn` (all of them when `None`), while the checks above still cover the
/// whole journal. An `anchor_lsn` past the last valid record is [`JournalError::Short`].
///
/// The work splits where it decides no order: segments are scanned in parallel and joined in
/// order (the chain links across segments are checked in order), then payloads are checked a
/// segment per task while the content digest is hashed in LSN order beside them.
pub fn verify_at(
    dir: &Path,
    anchor_lsn: Option<u64>,
    check_payload: &PayloadCheck<'_>,
) -> Result<VerifyReport, JournalError> {
    let (maps, durable, start) = map_with_marker(dir, None)?;
    let durable = durable.map_err(|d| d.to_error())?;
    // An archived journal is checked from its first segment's header link on.
    let first_lsn = start.as_ref().map_or(1, |st| st.header.first_lsn);
    let views = recovery::views(&maps);
    let scan = recovery::scan(&views, durable, start.as_ref(), None);
    let spans: Vec<Span<'_>> = scan
        .segments
        .iter()
        .zip(&views)
        .map(|(s, v)| {
            debug_assert_eq!(s.index, v.index);
            Span::whole(v.index as u32, v.bytes, s.end)
        })
        .collect();
    let upto = anchor_lsn.unwrap_or(u64::MAX);
    let (payloads, content_digest) = rayon::join(
        || first_bad_payload(&spans, check_payload),
        || content_digest(&spans, upto),
    );
    // The first problem in LSN order: a bad payload before the scan's damage comes first.
    match (payloads, &scan.damage) {
        (Some(bad), Some(d)) if bad.lsn < d.lsn => return Err(bad.to_error()),
        (_, Some(d)) => return Err(d.to_error()),
        (Some(bad), None) => return Err(bad.to_error()),
        (None, None) => {}
    }
    let content_lsn = match anchor_lsn {
        Some(n) if n > scan.last_lsn => {
            return Err(JournalError::Short {
                anchor_lsn: n,
                last_lsn: scan.last_lsn,
            });
        }
        Some(n) => n,
        None => scan.last_lsn,
    };
    Ok(VerifyReport {
        first_lsn,
        records: scan.records,
        segments: (views.len() - scan.dropped) as u32,
        last_lsn: scan.last_lsn,
        head_link: scan.last_link,
        durable,
        content_digest,
        content_lsn,
        torn_tail: scan.torn_tail(&views),
    })
}

/// The first record (in LSN order) whose payload `check` refuses, checking a segment per task.
fn first_bad_payload(spans: &[Span<'_>], check: &PayloadCheck<'_>) -> Option<Damage> {
    use rayon::prelude::*;
    spans
        .par_iter()
        .map(|span| {
            Records::new(vec![*span]).find_map(|r| {
                check(r.kind, r.payload).err().map(|e| Damage {
                    segment: segment_file_name(u64::from(r.segment)),
                    offset: r.offset,
                    lsn: r.lsn,
                    what: format!("payload check failed: {e}"),
                })
            })
        })
        .find_first(Option::is_some)
        .flatten()
}

/// The content digest of the records up to `upto`, in LSN order.
fn content_digest(spans: &[Span<'_>], upto: u64) -> [u8; 32] {
    let mut anchor = Anchor::new();
    'spans: for span in spans {
        for r in Records::new(vec![*span]) {
            if r.lsn > upto {
                break 'spans;
            }
            let at = r.offset as usize;
            let len = frame::header_bytes(r.lsn) + r.payload.len();
            anchor.add(&span.bytes[at..at + len]);
        }
    }
    anchor.finish()
}
