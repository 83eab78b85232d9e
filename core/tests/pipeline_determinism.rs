//! Every ingest path writes the same journal bytes and builds the same state for the same
//! entries and ingest times, whatever the batch sizes: `Core::submit`, `Core::ingest`,
//! `Core::ingest_raw`, `Core::ingest_encoded` and the threaded `Pipeline`.

use std::fs;
use std::path::Path;

use waybill_core::decode::decode;
use waybill_core::encode::event_to_json;
use waybill_core::engine::{Core, Until, replay};
use waybill_core::event::{Body, ChargeKind, Entry, Event, GeoPoint, Stop};
use waybill_core::input::RawBatch;
use waybill_core::journal::{Durability, JournalOptions, PayloadCheck, verify};
use waybill_core::machine::Summary;
use waybill_core::pipeline::{EncodedBatch, Pipeline, PipelineOptions};

const T0_US: i64 = 1_795_766_400_000_000;
/// Entries share an ingest time in groups of this many (so `ingest` / `ingest_raw`, which take
/// one time per batch, can be given the same times).
const TIME_GROUP: usize = 10;

fn ingest_time(i: usize) -> i64 {
    let g = (i / TIME_GROUP) as i64;
    // Group 3 goes back in time: the journal clamps it, the same way on every path.
    if g == 3 { T0_US } else { T0_US + g * 1_000 }
}

fn opts() -> JournalOptions {
    JournalOptions {
        segment_bytes: 64 * 1024,
        durability: Durability::None,
        ..Default::default()
    }
}

/// Raw lines: mostly positions, some shipment events, duplicates and dead letters.
fn lines() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for i in 0..1400u64 {
        let (source, seq, subject, body) = match i % 10 {
            0 => (
                "billing/core".to_owned(),
                i / 10 + 1,
                i % 13,
                Body::ChargeAdded {
                    charge_id: format!("ch-{i}"),
                    kind: ChargeKind::Fuel,
                    amount_cents: 100 + i as i64,
                    currency: *b"EUR",
                },
            ),
            1 => (
                "fleet/mobile".to_owned(),
                i / 10 + 1,
                i % 13,
                Body::StopArrived {
                    stop: Stop::Delivery,
                },
            ),
            _ => (
                format!("fleet/veh-{}", i % 7),
                i / 7 + 1,
                i % 7,
                Body::VehiclePosition {
                    position: GeoPoint {
                        lat_ud: (i as i32) * 1_000,
                        lon_ud: -(i as i32) * 2_000,
                    },
                    speed_kph_milli: (i * 37 % 90_000) as u32,
                    heading_deg: i.is_multiple_of(3).then_some((i % 360) as u16),
                    accuracy_mm: i.is_multiple_of(5).then_some((i * 11) as u32),
                },
            ),
        };
        let e = Event {
            id: format!("e{i}"),
            source,
            sequence: seq,
            time_us: T0_US + i as i64 * 1_000_000,
            subject,
            correlation_id: None,
            traceparent: None,
            body,
        };
        let line = event_to_json(&e).into_bytes();
        if i % 50 == 7 {
            out.push(line.clone()); // a duplicate
        }
        if i % 97 == 5 {
            out.push(b"{not json".to_vec()); // malformed_json
        }
        out.push(line);
    }
    out
}

fn segments(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".seg"))
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

fn finish(core: Core, dir: &Path) -> (Vec<(String, Vec<u8>)>, Summary) {
    let summary = core.machine().summary();
    drop(core);
    let replayed = replay(dir, Until::End).unwrap();
    assert_eq!(
        replayed.machine.summary(),
        summary,
        "replay disagrees with live"
    );
    let check = |_kind, _payload: &[u8]| Ok(());
    let check: &PayloadCheck<'_> = &check;
    verify(dir, check).unwrap();
    (segments(dir), summary)
}

#[test]
fn every_path_writes_the_same_journal_and_state() {
    let lines = lines();
    let entries: Vec<Entry> = lines.iter().map(|l| decode(l)).collect();
    let n = entries.len();
    assert!(n > 1400);
    let tmp = tempfile::tempdir().unwrap();

    // Reference: one entry at a time.
    let dir = tmp.path().join("submit");
    let mut core = Core::open(&dir, opts()).unwrap();
    for (i, e) in entries.iter().enumerate() {
        core.submit(e, ingest_time(i)).unwrap();
        if i % 33 == 0 {
            core.commit().unwrap();
        }
    }
    let reference = finish(core, &dir);
    assert!(reference.0.len() > 1, "segments rolled over");
    assert!(reference.1.duplicates > 0 && reference.1.dead_lettered > 0);

    let mut results = Vec::new();

    // `ingest` and `ingest_raw`, one batch per time group.
    let dir = tmp.path().join("ingest");
    let mut core = Core::open(&dir, opts()).unwrap();
    for (g, chunk) in entries.chunks(TIME_GROUP).enumerate() {
        core.ingest(chunk, ingest_time(g * TIME_GROUP)).unwrap();
    }
    results.push(("ingest", finish(core, &dir)));

    let dir = tmp.path().join("ingest_raw");
    let mut core = Core::open(&dir, opts()).unwrap();
    for (g, chunk) in lines.chunks(TIME_GROUP).enumerate() {
        let mut raw = RawBatch::new();
        for l in chunk {
            raw.push(l, l.len() as u64);
        }
        core.ingest_raw(&raw, ingest_time(g * TIME_GROUP)).unwrap();
    }
    results.push(("ingest_raw", finish(core, &dir)));

    // Encoded batches of varied sizes, on this thread and through the pipeline thread.
    for sizes in [&[1usize][..], &[3, 17, 64], &[500, 1], &[4096]] {
        let dir = tmp.path().join(format!("encoded-{sizes:?}"));
        let mut core = Core::open(&dir, opts()).unwrap();
        let mut i = 0;
        let mut k = 0;
        while i < n {
            let size = sizes[k % sizes.len()].min(n - i);
            let mut batch = EncodedBatch::new();
            for (j, e) in entries.iter().enumerate().skip(i).take(size) {
                batch.push(e, ingest_time(j)).unwrap();
            }
            core.ingest_encoded(&batch).unwrap();
            i += size;
            k += 1;
        }
        results.push(("ingest_encoded", finish(core, &dir)));

        let dir = tmp.path().join(format!("pipeline-{sizes:?}"));
        let core = Core::open(&dir, opts()).unwrap();
        let pipeline = Pipeline::start(core, PipelineOptions { queue_batches: 2 });
        let (mut i, mut k, mut acked) = (0, 0, 0u64);
        while i < n {
            let size = sizes[k % sizes.len()].min(n - i);
            let mut batch = pipeline.batch();
            for (j, e) in entries.iter().enumerate().skip(i).take(size) {
                batch.push(e, ingest_time(j)).unwrap();
            }
            pipeline.send(batch).unwrap();
            while let Ok(r) = pipeline.acks().try_recv() {
                acked += r.counters.received;
            }
            i += size;
            k += 1;
        }
        let core = pipeline.finish().unwrap();
        assert!(acked <= n as u64);
        results.push(("pipeline", finish(core, &dir)));
    }

    for (name, (segs, summary)) in results {
        assert_eq!(summary, reference.1, "{name}: state differs");
        assert_eq!(segs.len(), reference.0.len(), "{name}: segment count");
        for (a, b) in segs.iter().zip(&reference.0) {
            assert_eq!(a.0, b.0);
            assert!(a.1 == b.1, "{name}: segment {} differs", a.0);
        }
    }
}

/// Queries run on the core thread between batches: each sees the state at a batch boundary,
/// with the counters conserved, while the writer keeps going.
#[test]
fn queries_see_batch_boundaries_without_stopping_the_writer() {
    let dir = tempfile::tempdir().unwrap();
    let entries: Vec<Entry> = lines().iter().map(|l| decode(l)).collect();
    let batch_len = 7;
    let core = Core::open(dir.path(), opts()).unwrap();
    let p = Pipeline::start(core, PipelineOptions::default());
    let mut seen = Vec::new();
    for (i, chunk) in entries.chunks(batch_len).enumerate() {
        let mut b = p.batch();
        for e in chunk {
            b.push(e, ingest_time(i)).unwrap();
        }
        p.send(b).unwrap();
        let (lsn, conserved) = p
            .query(|m| (m.lsn(), m.counters().conserved()))
            .expect("core thread runs");
        assert!(conserved);
        seen.push(lsn);
    }
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
    for lsn in &seen {
        assert!(
            *lsn % batch_len as u64 == 0 || *lsn == entries.len() as u64,
            "{lsn} is not a batch boundary"
        );
    }
    let core = p.finish().unwrap();
    assert_eq!(core.machine().lsn(), entries.len() as u64);
}
