//! Property tests: what goes in comes back out, whatever the sizes and reopen points; any
//! single flipped byte inside a record is detected.

mod journal_util;

use journal_util::*;
use proptest::prelude::*;
use waybill_core::journal::{Durability, Journal, JournalError, RecordKind, segment_file_name};

#[derive(Clone, Debug)]
enum Op {
    Append { len: usize, ingest_delta: i64 },
    Commit,
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (1usize..6000, -50i64..100).prop_map(|(len, ingest_delta)| Op::Append { len, ingest_delta }),
        1 => Just(Op::Commit),
        1 => Just(Op::Reopen),
    ]
}

fn durability() -> impl Strategy<Value = Durability> {
    prop_oneof![
        Just(Durability::None),
        Just(Durability::Group),
        Just(Durability::Sync)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn appended_records_come_back(ops in prop::collection::vec(op(), 1..120), d in durability()) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let mut model: Vec<Rec> = Vec::new();
        let mut clock = 0i64;
        let mut j = Journal::open(dir, opts(d)).unwrap().0;
        for op in ops {
            match op {
                Op::Append { len, ingest_delta } => {
                    clock += ingest_delta;
                    let lsn = model.len() as u64 + 1;
                    let p = payload(lsn, len);
                    let a = j.append(clock, RecordKind::ENTRY, &p).unwrap();
                    let expect_ingest = model.last().map_or(clock, |r| r.ingest_us.max(clock));
                    prop_assert_eq!((a.lsn, a.ingest_us, a.payload), (lsn, expect_ingest, &p[..]));
                    model.push(Rec { lsn, ingest_us: expect_ingest, kind: RecordKind::ENTRY, payload: p });
                }
                Op::Commit => {
                    let durable = j.commit().unwrap();
                    prop_assert!(durable <= j.last_lsn());
                    if d == Durability::Sync {
                        prop_assert_eq!(durable, model.len() as u64);
                    }
                }
                Op::Reopen => {
                    drop(j);
                    let (jj, rec) = Journal::open(dir, opts(d)).unwrap();
                    prop_assert_eq!(rec.records, model.len() as u64);
                    prop_assert_eq!(rec.torn_tail, None);
                    j = jj;
                }
            }
        }
        let got: Vec<Rec> = j
            .records()
            .map(|r| Rec { lsn: r.lsn, ingest_us: r.ingest_us, kind: r.kind, payload: r.payload.to_vec() })
            .collect();
        prop_assert_eq!(&got, &model);
        prop_assert_eq!(j.head_link(), model_head(&model));
        drop(j);
        prop_assert_eq!(&read_all(dir), &model);
        let report = verify_plain(dir).unwrap();
        prop_assert_eq!(report.records, model.len() as u64);
        prop_assert_eq!(report.head_link, model_head(&model));
        prop_assert_eq!(report.torn_tail, None);
    }

    /// A flipped byte in a durable record is damage named by segment, offset and LSN; past the
    /// durable point it ends the journal there (a torn tail: nothing after it was promised).
    #[test]
    fn any_flipped_byte_in_a_record_is_detected(
        sizes in prop::collection::vec(1usize..3000, 1..60),
        durable_count in any::<prop::sample::Index>(),
        pick in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        mask in 1u8..=255,
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let (mut j, _) = Journal::open(dir, opts(Durability::None)).unwrap();
        let durable = durable_count.index(sizes.len() + 1);
        append_sizes(&mut j, &sizes[..durable]);
        j.flush().unwrap();
        append_sizes(&mut j, &sizes[durable..]);
        j.wait_written().unwrap(); // written to the file, not made durable
        j.crash();
        let locs = locate(dir);
        let target = &locs[pick.index(locs.len())];
        let byte = target.offset + at.index(target.frame_len);
        edit_segment(dir, target.segment, |b| b[byte] ^= mask);

        let is_durable = target.lsn <= durable as u64;
        match verify_plain(dir) {
            Err(JournalError::Corrupt { segment, offset, lsn, .. }) => {
                prop_assert_eq!(segment, segment_file_name(target.segment as u64));
                prop_assert_eq!((offset, lsn), (target.offset as u64, target.lsn));
            }
            Ok(report) => {
                prop_assert!(!is_durable, "undetected flip at byte {} of lsn {}", byte - target.offset, target.lsn);
                let t = report.torn_tail.expect("torn tail");
                prop_assert_eq!((t.offset, t.lsn), (target.offset as u64, target.lsn));
                prop_assert_eq!(report.records, target.lsn - 1);
            }
            Err(e) => prop_assert!(false, "unexpected error {e}"),
        }
    }
}
