//! Helpers shared by the journal tests: small segments, deterministic payloads, a reference
//! model of what was appended, and byte surgery on segment files.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};

use waybill_core::journal::{
    Durability, Journal, JournalError, JournalOptions, JournalReader, RecordKind, chain,
    frame_bytes, header_bytes, segment_file_name, verify,
};

pub const SEGMENT_BYTES: u64 = 64 * 1024;

pub fn opts(durability: Durability) -> JournalOptions {
    JournalOptions {
        segment_bytes: SEGMENT_BYTES,
        durability,
        ..JournalOptions::default()
    }
}

/// Deterministic payload bytes for record `i` of length `len`.
pub fn payload(i: u64, len: usize) -> Vec<u8> {
    let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// What a record should read back as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rec {
    pub lsn: u64,
    pub ingest_us: i64,
    pub kind: RecordKind,
    pub payload: Vec<u8>,
}

/// Appends records with the given payload sizes (ingest time = 1000 + lsn) and returns them.
pub fn append_sizes(j: &mut Journal, sizes: &[usize]) -> Vec<Rec> {
    sizes
        .iter()
        .map(|&len| {
            let lsn = j.last_lsn() + 1;
            let p = payload(lsn, len);
            let a = j
                .append(1000 + lsn as i64, RecordKind::ENTRY, &p)
                .expect("append");
            assert_eq!(a.lsn, lsn);
            assert_eq!(a.payload, &p[..]);
            Rec {
                lsn,
                ingest_us: a.ingest_us,
                kind: RecordKind::ENTRY,
                payload: p,
            }
        })
        .collect()
}

/// Every record as a [`JournalReader`] sees it (panics on damage).
pub fn read_all(dir: &Path) -> Vec<Rec> {
    let r = JournalReader::open(dir).expect("reader");
    r.records()
        .map(|rec| {
            let rec = rec.expect("record");
            Rec {
                lsn: rec.lsn,
                ingest_us: rec.ingest_us,
                kind: rec.kind,
                payload: rec.payload.to_vec(),
            }
        })
        .collect()
}

/// Where a record sits on disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loc {
    pub segment: u32,
    pub offset: usize,
    pub frame_len: usize,
    /// Bytes of the frame header: the payload starts at `offset + header_len`.
    pub header_len: usize,
    pub payload_len: usize,
    pub lsn: u64,
}

pub fn locate(dir: &Path) -> Vec<Loc> {
    let r = JournalReader::open(dir).expect("reader");
    r.records()
        .map(|rec| {
            let rec = rec.expect("record");
            Loc {
                segment: rec.segment,
                offset: rec.offset as usize,
                frame_len: frame_bytes(rec.lsn, rec.payload.len()),
                header_len: header_bytes(rec.lsn),
                payload_len: rec.payload.len(),
                lsn: rec.lsn,
            }
        })
        .collect()
}

pub fn seg_path(dir: &Path, segment: u32) -> PathBuf {
    dir.join(segment_file_name(segment as u64))
}

/// Applies `edit` to the bytes of one segment file.
pub fn edit_segment(dir: &Path, segment: u32, edit: impl FnOnce(&mut Vec<u8>)) {
    let path = seg_path(dir, segment);
    let mut bytes = fs::read(&path).expect("read segment");
    edit(&mut bytes);
    fs::write(&path, bytes).expect("write segment");
}

/// Snapshot of every file in the journal directory (to prove that nothing was modified).
pub fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

pub fn verify_plain(dir: &Path) -> Result<waybill_core::journal::VerifyReport, JournalError> {
    verify(dir, &|_, _| Ok(()))
}

/// The chain link after `recs`, computed independently of the journal.
pub fn model_head(recs: &[Rec]) -> [u8; 16] {
    recs.iter().fold(chain::GENESIS_LINK, |link, r| {
        chain::next_link(&link, r.lsn, r.ingest_us, r.kind, &r.payload)
    })
}

/// Asserts that `res` is `Corrupt` at the given place.
#[track_caller]
pub fn assert_corrupt<T: std::fmt::Debug>(
    res: Result<T, JournalError>,
    segment: u32,
    offset: usize,
    lsn: u64,
) -> String {
    match res {
        Err(JournalError::Corrupt {
            segment: s,
            offset: o,
            lsn: l,
            what,
        }) => {
            assert_eq!(
                (s.as_str(), o, l),
                (
                    segment_file_name(segment as u64).as_str(),
                    offset as u64,
                    lsn
                ),
                "wrong place; what = {what}"
            );
            what
        }
        other => {
            panic!("expected Corrupt at segment {segment} offset {offset} lsn {lsn}, got {other:?}")
        }
    }
}

/// Rewrites the frame at `offset` in `bytes` with a new LSN (and ingest time) and recomputed
/// CRCs (payload and header), as a forger would. The new LSN must need a header of the same
/// size (both or neither carry a link); a stored link is kept.
pub fn rewrite_frame(bytes: &mut [u8], offset: usize, lsn: u64, ingest_us: Option<i64>) {
    let old_lsn = u64::from_le_bytes(bytes[offset + 8..offset + 16].try_into().unwrap());
    assert_eq!(
        header_bytes(old_lsn),
        header_bytes(lsn),
        "header size changes"
    );
    bytes[offset + 8..offset + 16].copy_from_slice(&lsn.to_le_bytes());
    if let Some(t) = ingest_us {
        bytes[offset + 16..offset + 24].copy_from_slice(&t.to_le_bytes());
    }
    let len = u32::from_le_bytes(bytes[offset..offset + 4].try_into().unwrap()) as usize;
    let at = offset + header_bytes(lsn);
    let payload_crc = crc32c::crc32c(&bytes[at..at + len]);
    bytes[offset + 4..offset + 8].copy_from_slice(&payload_crc.to_le_bytes());
    rewrite_header_crc(bytes, offset);
}

/// Where the header CRC of the frame at `offset` sits (its last 4 header bytes; it covers
/// every header byte before it).
pub fn header_crc_at(bytes: &[u8], offset: usize) -> usize {
    let lsn = u64::from_le_bytes(bytes[offset + 8..offset + 16].try_into().unwrap());
    offset + header_bytes(lsn) - 4
}

/// Recomputes only the header CRC of the frame at `offset`.
pub fn rewrite_header_crc(bytes: &mut [u8], offset: usize) {
    let at = header_crc_at(bytes, offset);
    let crc = crc32c::crc32c(&bytes[offset..at]);
    bytes[at..at + 4].copy_from_slice(&crc.to_le_bytes());
}

/// Stores `link` in the frame at `offset`, which must carry one, and recomputes its header CRC.
pub fn rewrite_link(bytes: &mut [u8], offset: usize, link: &[u8; 16]) {
    let lsn = u64::from_le_bytes(bytes[offset + 8..offset + 16].try_into().unwrap());
    assert!(
        waybill_core::journal::carries_link(lsn),
        "lsn {lsn} stores no link"
    );
    bytes[offset + 28..offset + 44].copy_from_slice(link);
    rewrite_header_crc(bytes, offset);
}

/// Rewrites the durable marker (file `DURABLE`) to say that records up to `lsn`, whose chain
/// link is `link`, are durable: both slots, from the documented layout, as a forger would.
pub fn forge_marker(dir: &Path, lsn: u64, link: [u8; 16]) {
    let slot = |write: u64| {
        let mut s = [0u8; 64];
        s[..8].copy_from_slice(b"WBDURABL");
        s[8..12].copy_from_slice(&waybill_core::journal::FORMAT_VERSION.to_le_bytes());
        s[16..24].copy_from_slice(&write.to_le_bytes());
        s[24..32].copy_from_slice(&lsn.to_le_bytes());
        s[32..48].copy_from_slice(&link);
        let crc = crc32c::crc32c(&s[..60]);
        s[60..].copy_from_slice(&crc.to_le_bytes());
        s
    };
    let mut bytes = slot(1_000_000).to_vec();
    bytes.extend_from_slice(&slot(1_000_001));
    fs::write(dir.join(waybill_core::journal::MARKER_FILE_NAME), bytes).expect("write marker");
}

/// The durable marker as the journal reads it.
pub fn durable_of(dir: &Path) -> waybill_core::journal::Durable {
    verify_plain(dir).expect("verify").durable
}

/// Where a record edited with its CRCs recomputed shows: the chain finds it at the next
/// stored link (or at the next segment's header, whose link follows the segment's last
/// record), and the damage is named at the first record the last stored link before it did
/// not cover: the first record after a record that stores its link, or the segment's first.
pub fn at_group_start(locs: &[Loc], k: usize) -> (u32, usize, u64) {
    let seg = locs[k].segment;
    let start = (0..k)
        .rev()
        .take_while(|&i| locs[i].segment == seg)
        .find(|&i| waybill_core::journal::carries_link(locs[i].lsn))
        .map_or_else(
            || locs.iter().position(|l| l.segment == seg).unwrap(),
            |i| i + 1,
        );
    (locs[start].segment, locs[start].offset, locs[start].lsn)
}
