//! The full audit behind `journal verify`.

use std::path::Path;

use super::chain::{GENESIS_LINK, next_link};
use super::reader::map_segments;
use super::recovery::{self, SegView};
use super::{JournalError, RecordKind, VerifyReport};

/// The caller's check of one payload (e.g. rkyv validation): `Err` describes what is wrong.
pub type PayloadCheck<'a> = dyn FnMut(RecordKind, &[u8]) -> Result<(), String> + 'a;

/// Audits the journal in `dir` without modifying it: segment headers, framing, CRCs, LSN
/// continuity, ingest-time order, the hash chain (every link recomputed from the first record)
/// and `check_payload` on every payload (e.g. rkyv validation). A torn tail is reported, not an
/// error; everything else is [`JournalError::Corrupt`] naming segment, offset and LSN.
pub fn verify(
    dir: &Path,
    check_payload: &mut PayloadCheck<'_>,
) -> Result<VerifyReport, JournalError> {
    let maps = map_segments(dir)?;
    let views: Vec<SegView<'_>> = maps
        .iter()
        .map(|(index, map)| SegView {
            index: *index,
            bytes: &map[..],
        })
        .collect();
    let mut link = GENESIS_LINK;
    let scan = recovery::scan(&views, &mut |_, _, f| {
        let expected = next_link(&link, f.lsn, f.ingest_us, f.kind, f.payload);
        if expected != f.link {
            return Err(
                "hash chain mismatch (a record was edited, removed or reordered)".to_owned(),
            );
        }
        check_payload(f.kind, f.payload).map_err(|e| format!("payload check failed: {e}"))?;
        link = expected;
        Ok(())
    });
    if let Some(d) = &scan.damage {
        return Err(d.to_error());
    }
    debug_assert_eq!(scan.last_link, link);
    Ok(VerifyReport {
        records: scan.records,
        segments: (views.len() - scan.dropped) as u32,
        last_lsn: scan.last_lsn,
        head_link: link,
        torn_tail: scan.torn_tail(&views),
    })
}
