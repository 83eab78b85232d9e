//! The full audit behind `journal verify`, and the BLAKE3 content digest (the anchor).

use std::path::Path;

use super::frame::Frame;
use super::reader::map_with_marker;
use super::recovery;
use super::{JournalError, RecordKind, VerifyReport};

/// The caller's check of one payload (e.g. rkyv validation): `Err` describes what is wrong.
pub type PayloadCheck<'a> = dyn FnMut(RecordKind, &[u8]) -> Result<(), String> + 'a;

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
pub fn verify(
    dir: &Path,
    check_payload: &mut PayloadCheck<'_>,
) -> Result<VerifyReport, JournalError> {
    verify_at(dir, None, check_payload)
}

/// Audits the journal in `dir` without modifying it: segment headers, framing, CRCs, LSN
/// continuity, ingest-time order, the hash chain (every link recomputed from the first record),
/// the durable marker (every record up to it present, its chain link matching) and
/// `check_payload` on every payload (e.g. rkyv validation). A torn tail past the durable LSN is
/// reported, not an error; everything else is [`JournalError::Corrupt`] naming segment, offset
/// and LSN.
///
/// It also computes the content digest ([`VerifyReport::content_digest`]) over the records
/// `1..=anchor_lsn` (all of them when `None`), while the checks above still cover the whole
/// journal. An `anchor_lsn` past the last valid record is [`JournalError::Short`].
pub fn verify_at(
    dir: &Path,
    anchor_lsn: Option<u64>,
    check_payload: &mut PayloadCheck<'_>,
) -> Result<VerifyReport, JournalError> {
    let (maps, durable, start) = map_with_marker(dir, None)?;
    // An archived journal is checked from its first segment's header link on.
    let first_index = start.as_ref().map_or(0, |h| h.index);
    let first_lsn = start.as_ref().map_or(1, |h| h.first_lsn);
    let durable = durable.map_err(|d| d.to_error())?;
    let views = recovery::views(&maps);
    let upto = anchor_lsn.unwrap_or(u64::MAX);
    let mut anchor = Anchor::new();
    // The scan checks frames, CRCs, LSNs, ingest times, the hash chain and the marker.
    let mut on_record = |index: u64, pos: usize, f: &Frame<'_>| {
        check_payload(f.kind, f.payload).map_err(|e| format!("payload check failed: {e}"))?;
        if f.lsn <= upto {
            // The scan checked that segment `index` is `views[index - first_index]`.
            let seg = views[(index - first_index) as usize].bytes;
            anchor.add(&seg[pos..pos + f.unpadded_bytes()]);
        }
        Ok(())
    };
    let scan = recovery::scan(&views, durable, start.as_ref(), Some(&mut on_record));
    if let Some(d) = &scan.damage {
        return Err(d.to_error());
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
        content_digest: anchor.finish(),
        content_lsn,
        torn_tail: scan.torn_tail(&views),
    })
}
