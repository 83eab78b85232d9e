//! The content digest of `verify` (the BLAKE3 anchor): what it covers, that it does not depend
//! on segment size, the digest at an LSN, and a forger who rebuilds the chain.

mod journal_util;

use std::fs;
use std::path::Path;

use journal_util::*;
use waybill_core::journal::{
    Durability, Journal, JournalError, JournalOptions, RecordKind, SEGMENT_HEADER_BYTES,
    VerifyReport, carries_link, chain, frame_bytes, header_bytes, verify_at,
};

/// Payload sizes mixing padded and unpadded frames, small and large.
fn sizes(n: usize) -> Vec<usize> {
    (0..n)
        .map(|i| [150, 96, 1, 3000, 160, 700][i % 6])
        .collect()
}

fn build(dir: &Path, segment_bytes: u64, n: usize) -> Vec<Rec> {
    let o = JournalOptions {
        segment_bytes,
        ..opts(Durability::None)
    };
    let (mut j, _) = Journal::open(dir, o).unwrap();
    let recs = append_sizes(&mut j, &sizes(n));
    j.flush().unwrap();
    recs
}

fn verify_upto(dir: &Path, n: Option<u64>) -> Result<VerifyReport, JournalError> {
    verify_at(dir, n, &|_, _| Ok(()))
}

/// BLAKE3 of the first `n` frames (header and payload, no padding), from the segment files.
fn independent_digest(dir: &Path, n: usize) -> [u8; 32] {
    let mut all = Vec::new();
    let mut segments: Vec<(u32, Vec<u8>)> = Vec::new();
    for loc in locate(dir).iter().take(n) {
        if segments.last().is_none_or(|(s, _)| *s != loc.segment) {
            segments.push((loc.segment, fs::read(seg_path(dir, loc.segment)).unwrap()));
        }
        let bytes = &segments.last().unwrap().1;
        all.extend_from_slice(&bytes[loc.offset..loc.offset + loc.header_len + loc.payload_len]);
    }
    *blake3::hash(&all).as_bytes()
}

#[test]
fn content_digest_is_blake3_of_the_concatenated_frames() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    build(dir, SEGMENT_BYTES, 300);
    let report = verify_plain(dir).unwrap();
    assert!(report.segments >= 3, "{} segments", report.segments);
    assert_eq!((report.last_lsn, report.content_lsn), (300, 300));
    assert_eq!(report.content_digest, independent_digest(dir, 300));
}

#[test]
fn empty_journal_has_the_digest_of_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    drop(Journal::open(tmp.path(), opts(Durability::Sync)).unwrap());
    let report = verify_plain(tmp.path()).unwrap();
    assert_eq!(report.content_lsn, 0);
    assert_eq!(report.content_digest, *blake3::hash(b"").as_bytes());
}

#[test]
fn content_digest_and_head_do_not_depend_on_segment_size() {
    let tmp = tempfile::tempdir().unwrap();
    let small = tmp.path().join("small");
    let large = tmp.path().join("large");
    build(&small, 64 * 1024, 400);
    build(&large, 1024 * 1024, 400);
    let (a, b) = (verify_plain(&small).unwrap(), verify_plain(&large).unwrap());
    assert!(a.segments > b.segments, "{} vs {}", a.segments, b.segments);
    assert_eq!(a.content_digest, b.content_digest);
    assert_eq!(a.head_link, b.head_link);
    assert_eq!(a.last_lsn, b.last_lsn);
}

#[test]
fn digest_at_an_lsn_is_the_digest_of_that_prefix() {
    let tmp = tempfile::tempdir().unwrap();
    let full = tmp.path().join("full");
    build(&full, SEGMENT_BYTES, 120);
    let full_report = verify_upto(&full, None).unwrap();
    for n in [0usize, 1, 2, 5, 37, 119, 120] {
        let prefix = tmp.path().join(format!("prefix{n}"));
        build(&prefix, SEGMENT_BYTES, n);
        let at = verify_upto(&full, Some(n as u64)).unwrap();
        // The checks still cover the whole journal.
        assert_eq!(
            (at.records, at.last_lsn, at.content_lsn),
            (120, 120, n as u64)
        );
        assert_eq!(at.head_link, full_report.head_link);
        let whole_prefix = verify_upto(&prefix, None).unwrap();
        assert_eq!(at.content_digest, whole_prefix.content_digest, "at lsn {n}");
        assert_eq!(
            at.content_digest,
            independent_digest(&full, n),
            "at lsn {n}"
        );
    }
    assert!(matches!(
        verify_upto(&full, Some(121)),
        Err(JournalError::Short {
            anchor_lsn: 121,
            last_lsn: 120
        })
    ));
}

/// Rebuilds every segment header link and every record link and CRC from the first record on,
/// as a forger who knows the format would after editing a record. Returns the last link.
fn relink(dir: &Path) -> [u8; 16] {
    let mut link = chain::GENESIS_LINK;
    for segment in 0.. {
        let path = seg_path(dir, segment);
        if !path.exists() {
            break;
        }
        edit_segment(dir, segment, |b| {
            b[40..56].copy_from_slice(&link);
            let crc = crc32c::crc32c(&b[..60]);
            b[60..64].copy_from_slice(&crc.to_le_bytes());
            let mut pos = SEGMENT_HEADER_BYTES;
            loop {
                let len = u32::from_le_bytes(b[pos..pos + 4].try_into().unwrap()) as usize;
                if len == 0 {
                    break;
                }
                let lsn = u64::from_le_bytes(b[pos + 8..pos + 16].try_into().unwrap());
                let ingest_us = i64::from_le_bytes(b[pos + 16..pos + 24].try_into().unwrap());
                let kind = RecordKind(b[pos + 24]);
                let h = header_bytes(lsn);
                let payload = &b[pos + h..pos + h + len];
                link = chain::next_link(&link, lsn, ingest_us, kind, payload);
                rewrite_frame(b, pos, lsn, None);
                if carries_link(lsn) {
                    rewrite_link(b, pos, &link);
                }
                pos += frame_bytes(lsn, len);
            }
        });
    }
    link
}

#[test]
fn a_forger_who_rebuilds_the_chain_passes_it_but_not_the_content_digest() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    build(dir, SEGMENT_BYTES, 150);
    let locs = locate(dir);
    let n = locs.len() as u64;
    let before: Vec<VerifyReport> = (0..=n)
        .map(|at| verify_upto(dir, Some(at)).unwrap())
        .collect();
    // Edit one payload byte of a record in the first segment (later segments follow it).
    let k = locs.iter().filter(|l| l.segment == 0).count() / 2;
    let edited = locs[k].lsn;
    edit_segment(dir, locs[k].segment, |b| {
        b[locs[k].offset + locs[k].header_len] ^= 0x01
    });
    // The CRC alone gives it away; with the CRC recomputed, the chain does.
    assert_corrupt(verify_plain(dir), locs[k].segment, locs[k].offset, edited);
    edit_segment(dir, locs[k].segment, |b| {
        rewrite_frame(b, locs[k].offset, edited, None)
    });
    let (seg, offset, lsn) = at_group_start(&locs, k);
    let what = assert_corrupt(verify_plain(dir), seg, offset, lsn);
    assert!(what.contains("hash chain"), "{what}");
    // With every later link rebuilt too, the chain passes up to the durable marker, whose link
    // gives it away...
    let head = relink(dir);
    let last = locs.last().unwrap();
    let what = assert_corrupt(verify_plain(dir), last.segment, last.offset, n);
    assert!(what.contains("durable marker"), "{what}");
    // ...and with the marker forged as well, every check passes...
    forge_marker(dir, n, head);
    let after = verify_plain(dir).unwrap();
    assert_eq!(after.records, n);
    assert_ne!(after.head_link, before[n as usize].head_link);
    // ...but the anchor at every LSN from the edited one on has changed, and none before it.
    for at in 0..=n {
        let report = verify_upto(dir, Some(at)).unwrap();
        if at >= edited {
            assert_ne!(
                report.content_digest, before[at as usize].content_digest,
                "at lsn {at}"
            );
        } else {
            assert_eq!(
                report.content_digest, before[at as usize].content_digest,
                "at lsn {at}"
            );
        }
    }
}
