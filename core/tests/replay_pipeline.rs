//! Replay (verification and apply on two threads) against a plain sequential loop over the
//! journal reader's records: the same machine (digest, counters, summary, views) and the same
//! visits, in the same order, for every `Until`, on a journal of many segments; and the same
//! records visited before an invalid payload stops both.

mod state_support;

use std::path::Path;

use state_support::{T0_US, amended, cancelled, created, event, position};
use waybill_core::engine::{Core, CoreError, Until, Visit, access_record, replay_with};
use waybill_core::event::{DeadLetter, DeadLetterReason, Entry};
use waybill_core::journal::{
    Durability, Journal, JournalOptions, JournalReader, RecordKind, SEGMENT_BYTES_MIN,
};
use waybill_core::machine::{Machine, Outcome};
use waybill_core::record::EntryView;

/// What a visitor saw of one record.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    lsn: u64,
    ingest_us: i64,
    segment: u32,
    offset: u64,
    event_id: Option<String>,
    outcome: Outcome,
}

fn seen(v: &Visit<'_>) -> Seen {
    Seen {
        lsn: v.lsn,
        ingest_us: v.ingest_us,
        segment: v.segment,
        offset: v.offset,
        event_id: match v.entry {
            EntryView::Event(e) => Some(e.id().to_string()),
            EntryView::DeadLetter(_) | EntryView::Settings(_) | EntryView::Notice(_) => None,
        },
        outcome: v.outcome,
    }
}

fn opts() -> JournalOptions {
    JournalOptions {
        segment_bytes: SEGMENT_BYTES_MIN,
        durability: Durability::None,
        ..JournalOptions::default()
    }
}

/// Positions of 300 vehicles, shipment events, duplicates and dead letters, in batches of
/// 100 with an ingest time per batch.
fn write_journal(dir: &Path, records: usize) {
    let mut core = Core::open(dir, opts()).unwrap();
    let mut seqs = vec![0u64; 300];
    let mut erp = 0u64;
    let mut n = 0usize;
    let mut batch_no = 0i64;
    while n < records {
        let mut batch = Vec::new();
        for i in 0..100usize {
            let k = n + i;
            let t = T0_US + k as i64 * 1_000;
            let entry = match k % 10 {
                0 | 1 => {
                    erp += 1;
                    let body = if k.is_multiple_of(20) {
                        created(k as i64, k as i64 + 60)
                    } else {
                        amended(2 + k as u32, Some(k as i64 + 120), None, None)
                    };
                    Entry::Event(event("erp/main", erp, t, (k % 500) as u64, body))
                }
                2 if k % 30 == 2 => Entry::DeadLetter(DeadLetter {
                    reason: DeadLetterReason::InvalidData,
                    detail: format!("bad {k}"),
                    raw: b"{}".to_vec(),
                    raw_len_bytes: 2,
                }),
                3 if k % 40 == 3 && erp > 1 => {
                    // A resend of an earlier sequence: a duplicate.
                    Entry::Event(event("erp/main", erp - 1, t, 1, cancelled()))
                }
                _ => {
                    let v = k % 300;
                    seqs[v] += 1;
                    // Every 7th vehicle skips a sequence now and then: gaps.
                    if v.is_multiple_of(7) && seqs[v].is_multiple_of(5) {
                        seqs[v] += 1;
                    }
                    let source = format!("fleet/veh-{v:05}");
                    Entry::Event(event(
                        &source,
                        seqs[v],
                        t,
                        v as u64,
                        position(k as i32, 2, 3),
                    ))
                }
            };
            batch.push(entry);
        }
        n += batch.len();
        core.ingest(&batch, T0_US + batch_no * 1_000_000).unwrap();
        batch_no += 1;
    }
    core.flush().unwrap();
}

/// The reference: check-then-step over `JournalReader::records`, one thread.
fn sequential(dir: &Path, until: Until) -> (Result<(), String>, Machine, Vec<Seen>) {
    let reader = JournalReader::open(dir).unwrap();
    let mut m = Machine::new();
    let mut visits = Vec::new();
    for rec in reader.records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => return (Err(e.to_string()), m, visits),
        };
        let stop = match until {
            Until::End => false,
            Until::Lsn(n) => rec.lsn > n,
            Until::IngestTime(t) => rec.ingest_us > t,
        };
        if stop {
            break;
        }
        let entry = match access_record(rec.lsn, rec.kind, rec.payload) {
            Ok(e) => e,
            Err(e) => return (Err(e.to_string()), m, visits),
        };
        let outcome = m.step(rec.lsn, rec.ingest_us, entry);
        visits.push(seen(&Visit {
            lsn: rec.lsn,
            ingest_us: rec.ingest_us,
            segment: rec.segment,
            offset: rec.offset,
            entry,
            outcome,
        }));
    }
    (Ok(()), m, visits)
}

fn assert_same_machine(a: &Machine, b: &Machine) {
    assert_eq!(a.lsn(), b.lsn());
    assert_eq!(a.counters(), b.counters());
    assert_eq!(a.digest(), b.digest());
    assert_eq!(a.summary(), b.summary());
    assert_eq!(a.state().shipment_ids(), b.state().shipment_ids());
    for id in a.state().shipment_ids() {
        assert_eq!(
            a.state().shipment_view(id, a.sources()),
            b.state().shipment_view(id, b.sources())
        );
    }
    assert_eq!(a.state().vehicle_ids(), b.state().vehicle_ids());
    for id in a.state().vehicle_ids() {
        assert_eq!(a.state().vehicle_view(id), b.state().vehicle_view(id));
    }
}

fn check(dir: &Path, until: Until) -> usize {
    let (want_result, want, want_visits) = sequential(dir, until);
    assert!(want_result.is_ok());
    let mut visits = Vec::new();
    let got = replay_with(dir, until, |v| visits.push(seen(v))).unwrap();
    assert_same_machine(&got.machine, &want);
    assert_eq!(visits, want_visits, "{until:?}");
    assert_eq!(got.last_ingest_us, want_visits.last().map(|v| v.ingest_us));
    visits.len()
}

#[test]
fn pipelined_replay_matches_a_sequential_loop() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("j");
    let records = 30_000;
    write_journal(&dir, records);
    let reader = JournalReader::open(&dir).unwrap();
    let segments: std::collections::BTreeSet<u32> =
        reader.records().map(|r| r.unwrap().segment).collect();
    assert!(segments.len() >= 3, "{} segments", segments.len());
    drop(reader);

    assert_eq!(check(&dir, Until::End), records);
    for n in [0, 1, 99, 4_095, 4_096, 12_345, 29_999, 30_000, 40_000] {
        assert_eq!(check(&dir, Until::Lsn(n)), n.min(records as u64) as usize);
    }
    // Ingest times are T0 + batch * 1 s, batches of 100 records.
    for (t, want) in [
        (T0_US - 1, 0),
        (T0_US, 100),
        (T0_US + 41_000_000, 4_200),
        (T0_US + 41_500_000, 4_200),
        (T0_US + 10_000_000_000, records),
    ] {
        assert_eq!(check(&dir, Until::IngestTime(t)), want, "{t}");
    }

    // The writer's replay on open rebuilds the same machine.
    let core = Core::open(&dir, opts()).unwrap();
    assert_same_machine(core.machine(), &sequential(&dir, Until::End).1);
}

#[test]
fn an_invalid_payload_stops_both_after_the_same_records() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("j");
    let good = 9_000;
    write_journal(&dir, good);
    {
        // A frame with a valid CRC whose payload is not an entry.
        let (mut j, _) = Journal::open(&dir, opts()).unwrap();
        j.append(T0_US + 1_000_000_000, RecordKind::ENTRY, &[0xAB; 40])
            .unwrap();
        j.flush().unwrap();
    }
    let (want_result, _, want_visits) = sequential(&dir, Until::End);
    assert!(want_result.is_err());
    assert_eq!(want_visits.len(), good);
    let mut visits = Vec::new();
    let err = replay_with(&dir, Until::End, |v| visits.push(seen(v)))
        .err()
        .expect("the bad record fails replay");
    assert!(
        matches!(err, CoreError::BadRecord { lsn, .. } if lsn == good as u64 + 1),
        "{err}"
    );
    assert_eq!(visits, want_visits);
    // Up to the record before it, replay succeeds and matches.
    assert_eq!(check(&dir, Until::Lsn(good as u64)), good);
    assert!(Core::open(&dir, opts()).is_err());
}
