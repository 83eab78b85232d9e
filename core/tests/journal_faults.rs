//! Fault injection: segment files edited on disk, each fault reported by `verify`, by
//! `Journal::open` and by `JournalReader` with the right segment, offset and LSN; torn tails
//! cut by open and skipped by readers.

mod journal_util;

use std::fs;
use std::path::Path;

use journal_util::*;
use waybill_core::journal::{
    Durability, FORMAT_VERSION, FRAME_HEADER_BYTES, Journal, JournalError, JournalReader,
    LINK_EVERY, MARKER_FILE_NAME, RecordKind, SEGMENT_HEADER_BYTES,
};

/// Writes a journal of about three segments with mixed payload sizes; returns the records.
fn build(dir: &Path) -> Vec<Rec> {
    let sizes: Vec<usize> = (0..120)
        .map(|i| [100, 700, 1500, 3000, 33][i % 5])
        .collect();
    let (mut j, _) = Journal::open(dir, opts(Durability::None)).unwrap();
    let recs = append_sizes(&mut j, &sizes);
    j.flush().unwrap();
    recs
}

/// The middle record of segment 1 and its successor.
fn target(locs: &[Loc]) -> (usize, usize) {
    let in_seg1: Vec<usize> = (0..locs.len()).filter(|&i| locs[i].segment == 1).collect();
    let k = in_seg1[in_seg1.len() / 2];
    assert_eq!(locs[k + 1].segment, 1);
    (k, k + 1)
}

struct Case {
    name: &'static str,
    /// Edits the journal directory given the record locations and the target index.
    fault: fn(&Path, &[Loc], usize),
    /// Expected (segment, offset, lsn) given the locations and the target index.
    at: fn(&[Loc], usize) -> (u32, usize, u64),
    /// What verify's message must contain ("" for anything).
    says: &'static str,
}

fn at_record(locs: &[Loc], k: usize) -> (u32, usize, u64) {
    (locs[k].segment, locs[k].offset, locs[k].lsn)
}

fn at_segment_1(locs: &[Loc], _k: usize) -> (u32, usize, u64) {
    let first = locs.iter().find(|l| l.segment == 1).unwrap();
    (1, 0, first.lsn)
}

fn flip(dir: &Path, seg: u32, at: usize) {
    edit_segment(dir, seg, |b| b[at] ^= 0x20);
}

const CASES: &[Case] = &[
    Case {
        name: "flipped payload byte",
        fault: |d, l, k| {
            flip(
                d,
                l[k].segment,
                l[k].offset + l[k].header_len + l[k].payload_len / 2,
            )
        },
        at: at_record,
        says: "payload crc mismatch",
    },
    Case {
        name: "flipped payload crc byte",
        fault: |d, l, k| flip(d, l[k].segment, l[k].offset + 5),
        at: at_record,
        says: "header crc mismatch",
    },
    Case {
        name: "flipped header crc byte",
        fault: |d, l, k| flip(d, l[k].segment, l[k].offset + l[k].header_len - 2),
        at: at_record,
        says: "header crc mismatch",
    },
    Case {
        name: "flipped payload byte, header crc still matching",
        fault: |d, l, k| {
            edit_segment(d, l[k].segment, |b| {
                b[l[k].offset + l[k].header_len + l[k].payload_len - 1] ^= 0x04;
                // Even recomputed, the header CRC does not cover the payload.
                rewrite_header_crc(b, l[k].offset);
            })
        },
        at: at_record,
        says: "payload crc mismatch",
    },
    Case {
        name: "payload edited with its crc, header crc left alone",
        fault: |d, l, k| {
            edit_segment(d, l[k].segment, |b| {
                let p = l[k].offset + l[k].header_len;
                b[p] ^= 0x04;
                let crc = crc32c::crc32c(&b[p..p + l[k].payload_len]);
                b[l[k].offset + 4..l[k].offset + 8].copy_from_slice(&crc.to_le_bytes());
            })
        },
        at: at_record,
        says: "header crc mismatch",
    },
    Case {
        name: "payload edited with both crcs recomputed",
        fault: |d, l, k| {
            edit_segment(d, l[k].segment, |b| {
                b[l[k].offset + l[k].header_len + 3] ^= 0x04;
                rewrite_frame(b, l[k].offset, l[k].lsn, None);
            })
        },
        at: at_group_start,
        says: "hash chain mismatch",
    },
    Case {
        name: "flipped ingest time byte",
        fault: |d, l, k| flip(d, l[k].segment, l[k].offset + 17),
        at: at_record,
        says: "",
    },
    Case {
        name: "flipped lsn byte",
        fault: |d, l, k| flip(d, l[k].segment, l[k].offset + 8),
        at: at_record,
        says: "",
    },
    Case {
        name: "flipped length byte",
        fault: |d, l, k| flip(d, l[k].segment, l[k].offset + 1),
        at: at_record,
        says: "",
    },
    Case {
        name: "flipped kind byte",
        fault: |d, l, k| flip(d, l[k].segment, l[k].offset + 24),
        at: at_record,
        says: "",
    },
    Case {
        name: "flipped padding byte",
        fault: |d, l, k| {
            // Record sizes 100 and 700 leave padding (n is not a multiple of 16).
            let k = (k..).find(|&i| l[i].payload_len % 16 != 0).unwrap();
            flip(d, l[k].segment, l[k].offset + l[k].frame_len - 1)
        },
        at: |l, k| at_record(l, (k..).find(|&i| l[i].payload_len % 16 != 0).unwrap()),
        says: "",
    },
    Case {
        name: "record removed from the middle",
        fault: |d, l, k| {
            edit_segment(d, l[k].segment, |b| {
                let (start, len) = (l[k].offset, l[k].frame_len);
                b.drain(start..start + len);
                b.extend(std::iter::repeat_n(0, len));
            })
        },
        at: at_record,
        says: "",
    },
    Case {
        name: "two records swapped",
        fault: |d, l, k| {
            edit_segment(d, l[k].segment, |b| {
                let (a, b_len) = (l[k].frame_len, l[k + 1].frame_len);
                let start = l[k].offset;
                let first = b[start..start + a].to_vec();
                let second = b[start + a..start + a + b_len].to_vec();
                b[start..start + b_len].copy_from_slice(&second);
                b[start + b_len..start + b_len + a].copy_from_slice(&first);
            })
        },
        at: at_record,
        says: "",
    },
    Case {
        name: "two records swapped, lsns edited and crcs recomputed",
        fault: |d, l, k| {
            edit_segment(d, l[k].segment, |b| {
                let (a, b_len) = (l[k].frame_len, l[k + 1].frame_len);
                let start = l[k].offset;
                let first = b[start..start + a].to_vec();
                let second = b[start + a..start + a + b_len].to_vec();
                b[start..start + b_len].copy_from_slice(&second);
                b[start + b_len..start + b_len + a].copy_from_slice(&first);
                rewrite_frame(b, start, l[k].lsn, None);
                rewrite_frame(b, start + b_len, l[k + 1].lsn, None);
            })
        },
        // The ingest times moved with the records: the second one (now after the shorter or
        // longer first) goes back.
        at: |l, k| (l[k].segment, l[k].offset + l[k + 1].frame_len, l[k + 1].lsn),
        says: "",
    },
    Case {
        name: "two records swapped, lsns and ingest times edited and crcs recomputed",
        fault: |d, l, k| {
            edit_segment(d, l[k].segment, |b| {
                let (a, b_len) = (l[k].frame_len, l[k + 1].frame_len);
                let start = l[k].offset;
                let first = b[start..start + a].to_vec();
                let second = b[start + a..start + a + b_len].to_vec();
                b[start..start + b_len].copy_from_slice(&second);
                b[start + b_len..start + b_len + a].copy_from_slice(&first);
                rewrite_frame(b, start, l[k].lsn, Some(1000 + l[k].lsn as i64));
                rewrite_frame(
                    b,
                    start + b_len,
                    l[k + 1].lsn,
                    Some(1000 + l[k + 1].lsn as i64),
                );
            })
        },
        // Ingest times in order again: only the chain finds the swap.
        at: at_group_start,
        says: "",
    },
    Case {
        name: "record zeroed in the middle",
        fault: |d, l, k| {
            edit_segment(d, l[k].segment, |b| {
                b[l[k].offset..l[k].offset + l[k].frame_len].fill(0)
            })
        },
        at: at_record,
        says: "",
    },
    Case {
        name: "last record of a segment zeroed",
        fault: |d, l, _| {
            let k = l.iter().rposition(|x| x.segment == 0).unwrap();
            edit_segment(d, 0, |b| {
                b[l[k].offset..l[k].offset + l[k].frame_len].fill(0)
            })
        },
        // Segment 0 now ends early with zeros, which is how a rollover looks: the mismatch
        // shows at the next segment's header (the message names where segment 0 ends), and
        // the LSN expected there is the one that vanished.
        at: |l, _| (1, 0, l.iter().rfind(|x| x.segment == 0).unwrap().lsn),
        says: "",
    },
    Case {
        name: "middle segment removed",
        fault: |d, _, _| fs::remove_file(seg_path(d, 1)).unwrap(),
        at: at_segment_1,
        says: "",
    },
    Case {
        name: "middle segment replaced by the next one",
        fault: |d, _, _| fs::rename(seg_path(d, 2), seg_path(d, 1)).unwrap(),
        at: at_segment_1,
        says: "",
    },
    Case {
        name: "segment header first lsn byte flipped",
        fault: |d, _, _| flip(d, 1, 24),
        at: at_segment_1,
        says: "",
    },
    Case {
        name: "segment header magic damaged",
        fault: |d, _, _| flip(d, 1, 0),
        at: at_segment_1,
        says: "",
    },
    Case {
        name: "segment header link byte flipped",
        fault: |d, _, _| flip(d, 1, 45),
        at: at_segment_1,
        says: "",
    },
    Case {
        name: "segment file truncated",
        fault: |d, _, _| {
            let f = fs::OpenOptions::new()
                .write(true)
                .open(seg_path(d, 1))
                .unwrap();
            f.set_len(SEGMENT_BYTES - 4096).unwrap();
        },
        at: at_segment_1,
        says: "",
    },
];

#[test]
fn every_fault_is_reported_where_it_is() {
    for case in CASES {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let recs = build(dir);
        let locs = locate(dir);
        assert!(locs.last().unwrap().segment >= 2, "need three segments");
        let (k, _) = target(&locs);
        (case.fault)(dir, &locs, k);
        let (seg, offset, lsn) = (case.at)(&locs, k);
        let before = snapshot(dir);

        let what = assert_corrupt(verify_plain(dir), seg, offset, lsn);
        eprintln!("{}: verify says {what}", case.name);
        assert!(what.contains(case.says), "{}: {what}", case.name);

        // Open checks the hash chain too: it refuses at the same place, changing nothing.
        let opened = Journal::open(dir, opts(Durability::None)).map(|_| ());
        assert_corrupt(opened, seg, offset, lsn);

        // The reader yields every record before the damage that the chain confirmed (up to
        // the last stored link before it, when the damage is inside a segment), then the error.
        let reader = JournalReader::open(dir).unwrap();
        let mut got: Vec<_> = reader.records().collect();
        let good = if offset == 0 {
            (lsn - 1) as usize
        } else {
            (at_group_start(&locs, (lsn - 1) as usize).2 - 1) as usize
        };
        assert_eq!(got.len(), good + 1, "{}", case.name);
        for (r, m) in got[..good].iter().zip(&recs) {
            let r = r.as_ref().unwrap();
            assert_eq!((r.lsn, r.payload), (m.lsn, &m.payload[..]));
        }
        assert_corrupt(got.pop().unwrap().map(|_| ()), seg, offset, lsn);
        assert_eq!(reader.torn_tail(), None);
        assert_eq!(snapshot(dir), before, "{}: files changed", case.name);
    }
}

/// Cut points inside the last record, relative to its frame start (0 removes it entirely).
#[derive(Clone, Copy, Debug)]
enum Cut {
    ZeroFrom(usize),
    PayloadGarbageFrom(usize),
    Flip(usize),
}

/// Writes `sizes_before` records of 700 bytes and a last one of `last_len`, all flushed when
/// `durable`, else the last one only written (the writer then dies without flushing it).
fn build_with_last(dir: &Path, sizes_before: usize, last_len: usize, durable: bool) -> Vec<Rec> {
    let (mut j, _) = Journal::open(dir, opts(Durability::None)).unwrap();
    let mut recs = append_sizes(&mut j, &vec![700; sizes_before]);
    j.flush().unwrap();
    recs.extend(append_sizes(&mut j, &[last_len]));
    if durable {
        j.flush().unwrap();
    }
    j.wait_written().unwrap(); // written to the file, not made durable
    j.crash();
    assert_eq!(durable_of(dir).lsn, recs.len() as u64 - u64::from(!durable));
    recs
}

fn tear(dir: &Path, last: &Loc, cut: Cut) {
    edit_segment(dir, last.segment, |b| match cut {
        Cut::ZeroFrom(from) => b[last.offset + from..last.offset + last.frame_len].fill(0),
        Cut::PayloadGarbageFrom(from) => {
            b[last.offset + from..last.offset + last.frame_len + 40].fill(0xAB)
        }
        Cut::Flip(at) => b[last.offset + at] ^= 0x08,
    });
}

/// Damage to the last record: past the durable point it is a torn tail, cut by open (and
/// appends continue at its LSN); at the durable point it is an error naming segment, offset
/// and LSN, from verify, open and the reader alike, and nothing is changed.
#[test]
fn the_last_record_is_a_torn_tail_only_when_it_was_not_durable() {
    let payload_len = 1500usize;
    // The last record (LSN 4 or 61) stores no link: its header is the short one.
    let h = FRAME_HEADER_BYTES;
    let cuts = [
        (Cut::ZeroFrom(0), false),
        (Cut::ZeroFrom(2), true),
        (Cut::ZeroFrom(4), true),
        (Cut::ZeroFrom(8), true),
        (Cut::ZeroFrom(20), true),
        (Cut::ZeroFrom(h - 7), true),
        (Cut::ZeroFrom(h), true),
        (Cut::ZeroFrom(h + payload_len / 2), true),
        (Cut::ZeroFrom(h + payload_len - 1), true),
        (Cut::PayloadGarbageFrom(h + 100), true),
        (Cut::Flip(9), true),
        (Cut::Flip(h + 700), true),
    ];
    for (cut, torn) in cuts {
        for sizes_before in [3usize, 60] {
            for durable in [false, true] {
                let tmp = tempfile::tempdir().unwrap();
                let dir = tmp.path();
                let recs = build_with_last(dir, sizes_before, payload_len, durable);
                let locs = locate(dir);
                let last = locs.last().unwrap().clone();
                assert_eq!(last.header_len, h);
                tear(dir, &last, cut);
                if durable {
                    damaged_last_record_is_refused(dir, &locs);
                } else {
                    torn_last_record_is_cut(dir, &last, &recs, torn, cut);
                }
            }
        }
    }
}

fn damaged_last_record_is_refused(dir: &Path, locs: &[Loc]) {
    let last = locs.last().unwrap();
    let before = snapshot(dir);
    let at = (last.segment, last.offset, last.lsn);
    assert_corrupt(verify_plain(dir), at.0, at.1, at.2);
    assert_corrupt(
        Journal::open(dir, opts(Durability::Sync)).map(|_| ()),
        at.0,
        at.1,
        at.2,
    );
    // The records the chain has not confirmed (since the last stored link) are not given out.
    let reader = JournalReader::open(dir).unwrap();
    let mut got: Vec<_> = reader.records().collect();
    let confirmed = at_group_start(locs, locs.len() - 1).2 - 1;
    assert_eq!(got.len() as u64, confirmed + 1);
    assert_corrupt(got.pop().unwrap().map(|_| ()), at.0, at.1, at.2);
    assert_eq!(snapshot(dir), before);
}

fn torn_last_record_is_cut(dir: &Path, last: &Loc, recs: &[Rec], torn: bool, cut: Cut) {
    // Readers stop at the tail and change nothing.
    let before = snapshot(dir);
    let reader = JournalReader::open(dir).unwrap();
    assert_eq!(reader.records().count(), recs.len() - 1, "{cut:?}");
    let report = verify_plain(dir).unwrap();
    assert_eq!(report.records, recs.len() as u64 - 1);
    assert_eq!(report.torn_tail.is_some(), torn, "{cut:?}");
    assert_eq!(snapshot(dir), before);

    let (mut j, rec) = Journal::open(dir, opts(Durability::Sync)).unwrap();
    assert_eq!(rec.records, recs.len() as u64 - 1, "{cut:?}");
    match (&rec.torn_tail, torn) {
        (Some(t), true) => {
            assert_eq!(
                t.segment,
                waybill_core::journal::segment_file_name(last.segment as u64)
            );
            assert_eq!((t.offset, t.lsn), (last.offset as u64, last.lsn), "{cut:?}");
            assert!(
                t.bytes_cut > 0 && t.bytes_cut <= last.frame_len as u64 + 48,
                "{cut:?} {t:?}"
            );
        }
        (None, false) => {}
        other => panic!("{cut:?}: unexpected {other:?}"),
    }
    assert_eq!(j.last_lsn(), last.lsn - 1);
    assert_eq!(read_all(dir), recs[..recs.len() - 1]);
    let a = j.append(5, RecordKind::ENTRY, b"after the cut").unwrap();
    assert_eq!(a.lsn, last.lsn);
    drop(j);
    let report = verify_plain(dir).unwrap();
    assert_eq!((report.records, report.torn_tail), (last.lsn, None));
    assert_eq!(report.durable.lsn, last.lsn);
    let (_, rec) = Journal::open(dir, opts(Durability::Sync)).unwrap();
    assert_eq!(rec.torn_tail, None);
}

/// Builds a journal whose last record `n` is the first record of segment 1, all of it durable
/// or none of it (the writer then dies without flushing).
fn build_rolled(dir: &Path, durable: bool) -> (Vec<Rec>, Vec<Loc>) {
    let (mut j, _) = Journal::open(dir, opts(Durability::None)).unwrap();
    let recs = append_sizes(&mut j, &[20_000, 20_000, 20_000, 20_000]);
    if durable {
        j.flush().unwrap();
    }
    j.wait_written().unwrap(); // written to the file, not made durable
    j.crash();
    let locs = locate(dir);
    assert_eq!(
        locs.iter().map(|l| l.segment).collect::<Vec<_>>(),
        [0, 0, 0, 1]
    );
    (recs, locs)
}

#[test]
fn torn_tail_before_an_empty_new_segment() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (recs, locs) = build_rolled(dir, false);
    // The writer rolled over (segment 1 exists) but neither record 3's end nor record 4 survived.
    edit_segment(dir, 1, |b| {
        b[locs[3].offset..locs[3].offset + locs[3].frame_len].fill(0)
    });
    edit_segment(dir, 0, |b| {
        b[locs[2].offset + 100..locs[2].offset + locs[2].frame_len].fill(0)
    });
    let (mut j, rec) = Journal::open(dir, opts(Durability::Sync)).unwrap();
    assert_eq!((rec.records, rec.segments, rec.removed_segments), (2, 1, 1));
    let t = rec.torn_tail.unwrap();
    assert_eq!(
        (t.segment.as_str(), t.offset, t.lsn),
        ("00000000000000000000.seg", locs[2].offset as u64, 3)
    );
    assert!(!seg_path(dir, 1).exists());
    assert_eq!(read_all(dir), recs[..2]);
    assert_eq!(j.append(0, RecordKind::ENTRY, b"x").unwrap().lsn, 3);
    drop(j);
    assert_eq!(verify_plain(dir).unwrap().records, 3);
}

#[test]
fn records_lost_before_an_empty_new_segment() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (recs, locs) = build_rolled(dir, false);
    // Record 3 vanished completely (zeros), record 4 too: segment 1's header expects lsn 4.
    edit_segment(dir, 1, |b| {
        b[locs[3].offset..locs[3].offset + locs[3].frame_len].fill(0)
    });
    edit_segment(dir, 0, |b| {
        b[locs[2].offset..locs[2].offset + locs[2].frame_len].fill(0)
    });
    let report = verify_plain(dir).unwrap();
    assert_eq!((report.records, report.segments), (2, 1));
    let (mut j, rec) = Journal::open(dir, opts(Durability::Sync)).unwrap();
    assert_eq!((rec.records, rec.segments, rec.removed_segments), (2, 1, 1));
    let t = rec.torn_tail.unwrap();
    assert_eq!(
        (t.offset, t.lsn, t.bytes_cut),
        (locs[2].offset as u64, 3, 0)
    );
    assert_eq!(read_all(dir), recs[..2]);
    assert_eq!(j.append(0, RecordKind::ENTRY, b"x").unwrap().lsn, 3);
}

/// A record torn while a later segment holds records: after a power cut that kept a later
/// page and lost an earlier one, past the durable point, the journal is cut at the last intact
/// record (the later segment goes too); at or below it, that is damage.
#[test]
fn a_torn_record_before_a_segment_with_records() {
    for durable in [false, true] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let (recs, locs) = build_rolled(dir, durable);
        edit_segment(dir, 0, |b| {
            b[locs[2].offset + 100..locs[2].offset + locs[2].frame_len].fill(0)
        });
        if durable {
            assert_corrupt(verify_plain(dir), 0, locs[2].offset, 3);
            let opened = Journal::open(dir, opts(Durability::Sync)).map(|_| ());
            assert_corrupt(opened, 0, locs[2].offset, 3);
            continue;
        }
        let report = verify_plain(dir).unwrap();
        assert_eq!((report.records, report.segments), (2, 1));
        let (_, rec) = Journal::open(dir, opts(Durability::Sync)).unwrap();
        assert_eq!((rec.records, rec.segments, rec.removed_segments), (2, 1, 1));
        assert_eq!(rec.torn_tail.unwrap().offset, locs[2].offset as u64);
        assert!(!seg_path(dir, 1).exists());
        assert_eq!(read_all(dir), recs[..2]);
    }
}

#[test]
fn garbage_after_the_last_record_is_a_tail() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (mut j, _) = Journal::open(dir, opts(Durability::Sync)).unwrap();
    let recs = append_sizes(&mut j, &[100, 200]);
    drop(j);
    let end = locate(dir)
        .iter()
        .map(|l| l.offset + l.frame_len)
        .max()
        .unwrap();
    edit_segment(dir, 0, |b| b[end + 500..end + 517].fill(0x11));
    let (_, rec) = Journal::open(dir, opts(Durability::Sync)).unwrap();
    let t = rec.torn_tail.unwrap();
    assert_eq!((t.offset, t.lsn, t.bytes_cut), (end as u64, 3, 528));
    assert_eq!(read_all(dir), recs);
    assert!(
        fs::read(seg_path(dir, 0)).unwrap()[end..]
            .iter()
            .all(|&b| b == 0)
    );
}

#[test]
fn damaged_header_of_the_only_segment_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (mut j, _) = Journal::open(dir, opts(Durability::Sync)).unwrap();
    append_sizes(&mut j, &[100]);
    drop(j);
    flip(dir, 0, 9);
    assert_corrupt(verify_plain(dir), 0, 0, 1);
    assert_corrupt(
        Journal::open(dir, opts(Durability::Sync)).map(|_| ()),
        0,
        0,
        1,
    );
    let reader = JournalReader::open(dir).unwrap();
    let got: Vec<_> = reader.records().collect();
    assert_eq!(got.len(), 1);
    assert!(matches!(got[0], Err(JournalError::Corrupt { .. })));
    let _ = SEGMENT_HEADER_BYTES;
}

#[test]
fn a_journal_of_another_format_version_is_refused() {
    for version in [5u32, 6, FORMAT_VERSION - 1, FORMAT_VERSION + 1] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let (mut j, _) = Journal::open(dir, opts(Durability::Sync)).unwrap();
        append_sizes(&mut j, &[100, 200]);
        drop(j);
        // A well-formed header of that version (its CRC recomputed).
        edit_segment(dir, 0, |b| {
            b[8..12].copy_from_slice(&version.to_le_bytes());
            let crc = crc32c::crc32c(&b[..60]);
            b[60..64].copy_from_slice(&crc.to_le_bytes());
        });
        let before = snapshot(dir);
        let what = assert_corrupt(verify_plain(dir), 0, 0, 1);
        assert!(
            what.contains(&format!("unsupported format version {version}")),
            "{what}"
        );
        assert_corrupt(
            Journal::open(dir, opts(Durability::Sync)).map(|_| ()),
            0,
            0,
            1,
        );
        let reader = JournalReader::open(dir).unwrap();
        assert!(matches!(
            reader.records().next(),
            Some(Err(JournalError::Corrupt { .. }))
        ));
        assert_eq!(snapshot(dir), before);
    }
}

/// A zeroed range of durable records (here the second half of the last segment's written
/// part) looks like a clean end of the journal; the durable marker says otherwise, so verify,
/// open and the reader all refuse it, naming where the records stop.
#[test]
fn a_zeroed_range_of_durable_records_is_damage() {
    for whole_tail in [false, true] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let recs = build(dir);
        let locs = locate(dir);
        let last_seg = locs.last().unwrap().segment;
        let in_last: Vec<&Loc> = locs.iter().filter(|l| l.segment == last_seg).collect();
        let first_zeroed = if whole_tail {
            in_last.len() - 1
        } else {
            in_last.len() / 2
        };
        let from = in_last[first_zeroed];
        let end = in_last.last().map(|l| l.offset + l.frame_len).unwrap();
        edit_segment(dir, last_seg, |b| b[from.offset..end].fill(0));
        let before = snapshot(dir);
        let what = assert_corrupt(verify_plain(dir), last_seg, from.offset, from.lsn);
        assert!(what.contains("durable marker"), "{what}");
        let opened = Journal::open(dir, opts(Durability::Sync)).map(|_| ());
        assert_corrupt(opened, last_seg, from.offset, from.lsn);
        // The reader gives out the records before the zeroed range that the chain confirmed
        // (up to the last stored link before it), then the error.
        let reader = JournalReader::open(dir).unwrap();
        let mut got: Vec<_> = reader.records().collect();
        let confirmed = at_group_start(&locs, (from.lsn - 1) as usize).2 - 1;
        assert!(confirmed + LINK_EVERY >= from.lsn && confirmed < from.lsn);
        assert_eq!(got.len() as u64, confirmed + 1);
        assert_corrupt(
            got.pop().unwrap().map(|_| ()),
            last_seg,
            from.offset,
            from.lsn,
        );
        assert!(got.len() < recs.len() - (in_last.len() - first_zeroed) + 1);
        assert_eq!(snapshot(dir), before);
    }
}

/// The durable marker is part of the journal: without it, or with both of its slots
/// damaged, nothing can tell a torn tail from damage, so the journal is refused (named as file
/// `DURABLE`); one damaged slot falls back to the other, one write older.
#[test]
fn a_missing_or_damaged_durable_marker_is_refused() {
    type Fault = fn(&Path);
    let cases: [(&str, Fault); 4] = [
        ("removed", |d| {
            fs::remove_file(d.join(MARKER_FILE_NAME)).unwrap()
        }),
        ("emptied", |d| {
            fs::write(d.join(MARKER_FILE_NAME), b"").unwrap()
        }),
        ("both slots flipped", |d| {
            let path = d.join(MARKER_FILE_NAME);
            let mut b = fs::read(&path).unwrap();
            b[30] ^= 1;
            b[64 + 30] ^= 1;
            fs::write(path, b).unwrap();
        }),
        ("replaced by another version", |d| {
            let path = d.join(MARKER_FILE_NAME);
            let mut b = fs::read(&path).unwrap();
            for slot in [0, 64] {
                b[slot + 8] = 5;
                let crc = crc32c::crc32c(&b[slot..slot + 60]);
                b[slot + 60..slot + 64].copy_from_slice(&crc.to_le_bytes());
            }
            fs::write(path, b).unwrap();
        }),
    ];
    for (name, fault) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        build(dir);
        fault(dir);
        let before = snapshot(dir);
        for res in [
            verify_plain(dir).map(|_| ()),
            Journal::open(dir, opts(Durability::Sync)).map(|_| ()),
            JournalReader::open(dir)
                .unwrap()
                .records()
                .last()
                .unwrap()
                .map(|_| ()),
        ] {
            match res {
                Err(JournalError::Corrupt { segment, .. }) => {
                    assert_eq!(segment, MARKER_FILE_NAME, "{name}")
                }
                other => panic!("{name}: expected Corrupt naming the marker, got {other:?}"),
            }
        }
        assert_eq!(snapshot(dir), before, "{name}");
    }
    // One damaged slot: the other (one write older, still covering everything) is used.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let recs = build(dir);
    let path = dir.join(MARKER_FILE_NAME);
    let mut b = fs::read(&path).unwrap();
    b[30] ^= 1;
    fs::write(&path, b).unwrap();
    assert_eq!(verify_plain(dir).unwrap().records, recs.len() as u64);
}
