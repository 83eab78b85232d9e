//! The embedding API (`Waybill`, `Options`): every way in gives the same journal and state as
//! the lower-level core, errors carry their kind and where, nothing refused is journaled, and
//! effects reach a pull consumer and a Rust sink only once their events are durable.

mod state_support;

use state_support::*;
use std::io::{self, Read};
use std::path::Path;
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;
use waybill_core::event::Event;
use waybill_core::input::{InputReader, RawBatch};
use waybill_core::{
    Downstream, Durability, EffectOut, ErrorKind, Limits, Options, Outcome, SinkError, SlaTargets,
    SnapshotPolicy, Waybill, sink_fn,
};

const DAY: &str = "../examples/day.jsonl";
const T0_US: i64 = 1_795_000_000_000_000;

fn fixed_clock() -> i64 {
    T0_US
}

fn day() -> Vec<u8> {
    std::fs::read(DAY).expect("the bundled day")
}

fn opts() -> Options {
    Options::new().clock(fixed_clock)
}

/// The state, journal length and effects of `dir` after ingesting the day one way.
fn fingerprint(w: &mut Waybill) -> (String, u64, u64, Vec<(u64, String)>) {
    w.flush().unwrap();
    let s = w.summary();
    let effects = w
        .effects(0)
        .map(|e| {
            let e = e.unwrap();
            (e.seq, e.key.to_hex())
        })
        .collect();
    (s.digest, s.lsn, s.received, effects)
}

#[test]
fn every_way_in_gives_the_same_journal_state_and_effects() {
    type Way = fn(&mut Waybill);
    let ways: [(&str, Way); 4] = [
        ("bytes", |w| {
            w.ingest(&day()).unwrap();
        }),
        ("file", |w| {
            w.ingest_file(DAY).unwrap();
        }),
        ("reader", |w| {
            w.ingest_reader(io::Cursor::new(day())).unwrap();
        }),
        ("line by line", |w| {
            for line in day().split(|b| *b == b'\n') {
                w.ingest(line).unwrap();
            }
        }),
    ];
    let mut seen = Vec::new();
    for (name, ingest) in ways {
        let dir = tempfile::tempdir().unwrap();
        let mut w = opts().open(dir.path()).unwrap();
        ingest(&mut w);
        let fp = fingerprint(&mut w);
        w.close().unwrap();
        assert!(
            fp.2 > 1000 && !fp.3.is_empty(),
            "{name}: the day was ingested"
        );
        seen.push((name, fp));
    }
    // The same state as the lower-level core ingesting the same raw batches.
    let dir = tempfile::tempdir().unwrap();
    let mut core = opts().open_core(dir.path()).unwrap();
    let bytes = day();
    let (mut reader, mut raw) = (InputReader::new(&bytes[..]), RawBatch::new());
    while reader.read_batch(&mut raw, 4096).unwrap() > 0 {
        core.ingest_raw(&raw, T0_US).unwrap();
        raw.clear();
    }
    let digest = core.machine().summary().digest;
    for (name, fp) in &seen {
        assert_eq!(fp, &seen[0].1, "{name} differs from {}", seen[0].0);
        assert_eq!(fp.0, digest, "{name} differs from the core");
    }
}

#[test]
fn reopening_rebuilds_the_state_and_continues_the_effects() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = opts().open(dir.path()).unwrap();
    let bytes = day();
    let half = bytes.len() / 2;
    let cut = half + bytes[half..].iter().position(|b| *b == b'\n').unwrap() + 1;
    w.ingest(&bytes[..cut]).unwrap();
    let first = fingerprint(&mut w);
    w.close().unwrap();
    let mut w = opts().open(dir.path()).unwrap();
    assert_eq!(fingerprint(&mut w), first, "reopened as closed");
    w.ingest(&bytes[cut..]).unwrap();
    let end = fingerprint(&mut w);
    w.close().unwrap();

    let whole = tempfile::tempdir().unwrap();
    let mut once = opts().open(whole.path()).unwrap();
    once.ingest(&bytes).unwrap();
    assert_eq!(
        fingerprint(&mut once),
        end,
        "two sessions derive what one does"
    );
    once.close().unwrap();
}

#[test]
fn a_snapshot_is_where_the_next_open_starts() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = opts()
        .snapshots(SnapshotPolicy::OFF)
        .open(dir.path())
        .unwrap();
    w.ingest_file(DAY).unwrap();
    let taken = w.snapshot().unwrap();
    assert_eq!(taken.lsn, w.summary().lsn);
    assert!(
        taken.path.starts_with(dir.path()),
        "{}",
        taken.path.display()
    );
    let summary = w.summary();
    w.close().unwrap();
    let w = opts().open(dir.path()).unwrap();
    assert_eq!(w.core().snapshots().loaded, Some((taken.path, taken.lsn)));
    assert_eq!(w.core().snapshots().replayed, 0);
    assert_eq!(w.summary(), summary);
}

#[test]
fn history_and_dead_letters_read_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = opts().open(dir.path()).unwrap();
    w.ingest_file(DAY).unwrap();
    let malformed = b"{\"specversion\":\"1.0\",\"id\":\"x\"\nnot json at all\n";
    let ingested = w.ingest(malformed).unwrap();
    assert_eq!(ingested.counters.dead_lettered, 2);
    let dead = w.dead_letters().unwrap();
    assert_eq!(dead.len() as u64, w.summary().dead_lettered);
    let last = dead.last().unwrap();
    assert_eq!(last.lsn, ingested.last_lsn);
    assert_eq!(last.raw_str(), Some("not json at all"));

    let history = w.history(1).unwrap();
    assert!(history.len() > 3, "shipment 1 has a day of events");
    assert!(history.windows(2).all(|p| p[0].lsn < p[1].lsn));
    assert!(history.iter().all(|r| r.outcome != Outcome::Settings));
    assert_eq!(history[0].event_type.as_str(), "order.created");
    assert!(w.history(987_654).unwrap().is_empty());
    // The free functions read a closed journal the same way.
    w.close().unwrap();
    assert_eq!(waybill_core::history(dir.path(), 1).unwrap(), history);
    assert_eq!(waybill_core::dead_letters(dir.path()).unwrap(), dead);
}

fn order(sequence: u64, shipment: u64) -> Event {
    event("erp/main", sequence, m(0), shipment, created(10, 70))
}

#[test]
fn typed_events_are_one_batch_checked_before_anything_is_journaled() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = opts().open(dir.path()).unwrap();
    let ok = w
        .ingest_events(&[order(1, 1), order(2, 2), order(2, 2)])
        .unwrap();
    assert_eq!((ok.first_lsn, ok.last_lsn), (1, 3));
    assert_eq!((ok.counters.applied, ok.counters.duplicates), (2, 1));
    assert_eq!(w.shipment(2).unwrap().status, "created");

    let mut bad = order(4, 4);
    bad.source = "no-slash".to_owned();
    let err = w.ingest_events(&[order(3, 3), bad]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadInput, "{err}");
    assert!(err.to_string().contains("index 1"), "{err}");
    assert_eq!(
        w.summary().lsn,
        3,
        "nothing of the refused batch was journaled"
    );
    assert!(w.shipment(3).is_none());
}

#[test]
fn a_batch_past_a_limit_is_refused_whole_with_kind_capacity() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        shipments: 2,
        ..Limits::default()
    };
    let mut w = opts().limits(limits).open(dir.path()).unwrap();
    w.ingest_events(&[order(1, 1)]).unwrap();
    let err = w.ingest_events(&[order(2, 2), order(3, 3)]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Capacity, "{err}");
    assert_eq!(w.summary().lsn, 1);
    assert_eq!(w.summary().shipments, 1);
}

/// A reader that gives `good` bytes, then fails.
struct Failing {
    good: io::Cursor<Vec<u8>>,
}

impl Read for Failing {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.good.read(buf)? {
            0 => Err(io::Error::other("the producer went away")),
            n => Ok(n),
        }
    }
}

#[test]
fn errors_say_their_kind_and_where() {
    let dir = tempfile::tempdir().unwrap();
    // Each case: what fails, the kind, the path it names.
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"").unwrap();
    let err = Waybill::open(&file).err().unwrap();
    assert_eq!(
        (err.kind(), err.path()),
        (ErrorKind::BadInput, Some(&*file))
    );

    let journal = dir.path().join("journal");
    let mut w = opts().open(&journal).unwrap();
    let missing = dir.path().join("missing.jsonl");
    let err = w.ingest_file(&missing).unwrap_err();
    assert_eq!(
        (err.kind(), err.path()),
        (ErrorKind::Environment, Some(&*missing))
    );

    let err = Waybill::open(&journal).err().unwrap();
    assert_eq!(err.kind(), ErrorKind::Environment, "{err}");
    assert_eq!(err.path(), Some(&*journal), "a second writer: {err}");

    let lines: Vec<u8> = day()
        .split_inclusive(|b| *b == b'\n')
        .take(10)
        .flatten()
        .copied()
        .collect();
    let err = w
        .ingest_reader(Failing {
            good: io::Cursor::new(lines),
        })
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Environment);
    assert!(
        matches!(
            err,
            waybill_core::Error::Input {
                events_read: 10,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(w.summary().received, 10, "what was read stays journaled");

    let bad_options = Options::new()
        .segment_bytes(1000)
        .open(dir.path().join("j2"));
    assert_eq!(bad_options.err().unwrap().kind(), ErrorKind::BadInput);
    w.close().unwrap();
}

#[test]
fn a_pull_consumer_sees_only_effects_whose_events_are_durable() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = opts()
        .durability(Durability::None)
        .open(dir.path())
        .unwrap();
    let ingested = w.ingest_file(DAY).unwrap();
    assert!(ingested.effect_seq > 0);
    assert_eq!(ingested.durable_lsn, 0, "nothing is durable under none");
    assert_eq!(
        w.effects(0).count(),
        0,
        "no effect before its event is durable"
    );
    assert_eq!(w.flush().unwrap(), ingested.last_lsn);
    let all: Vec<EffectOut> = w.effects(0).map(Result::unwrap).collect();
    let seqs: Vec<u64> = all.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=ingested.effect_seq).collect::<Vec<_>>());
    let k = ingested.effect_seq / 2;
    let rest: Vec<EffectOut> = w.effects(k).map(Result::unwrap).collect();
    assert_eq!(
        rest[..],
        all[k as usize..],
        "a consumer resumes after its last seq"
    );
    w.close().unwrap();
}

#[test]
fn the_same_input_and_clock_derive_the_same_effects_byte_for_byte() {
    let run = || {
        let dir = tempfile::tempdir().unwrap();
        let mut w = opts().open(dir.path()).unwrap();
        w.ingest_file(DAY).unwrap();
        w.flush().unwrap();
        let effects: Vec<Vec<u8>> = w.effects(0).map(|e| e.unwrap().json).collect();
        w.close().unwrap();
        effects
    };
    let first = run();
    assert!(!first.is_empty());
    assert_eq!(run(), first);
}

#[test]
fn a_rust_sink_that_fails_at_first_still_gets_every_effect_with_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let (tx, rx) = mpsc::channel::<EffectOut>();
    let failures = Arc::new(Mutex::new(2u32));
    let sink = sink_fn(move |batch| {
        let mut left = failures.lock().unwrap();
        if *left > 0 {
            *left -= 1;
            return Err(SinkError::transient("not yet"));
        }
        batch.iter().for_each(|e| tx.send(e.clone()).unwrap());
        Ok(())
    });
    let mut w = opts().sink(Downstream::Ops, sink).open(dir.path()).unwrap();
    w.ingest_file(DAY).unwrap();
    assert!(w.wait_delivered(Duration::from_secs(30)).unwrap());
    let want: Vec<(u64, String)> = w
        .effects(0)
        .map(Result::unwrap)
        .filter(|e| e.effect_type.sink() == Downstream::Ops)
        .map(|e| (e.seq, e.key.to_hex()))
        .collect();
    w.close().unwrap();
    let mut got: Vec<(u64, String)> = rx.try_iter().map(|e| (e.seq, e.key.to_hex())).collect();
    got.sort();
    got.dedup();
    assert!(!want.is_empty());
    assert_eq!(got, want, "every ops effect, none of another system's");
}

#[test]
fn sla_targets_are_journaled_once() {
    let dir = tempfile::tempdir().unwrap();
    let sla = SlaTargets {
        order_to_dispatch_min: Some(120),
        ..SlaTargets::default()
    };
    let w = opts().sla(sla).open(dir.path()).unwrap();
    let lsn = w.summary().lsn;
    assert_eq!(lsn, 1, "a settings record");
    assert_eq!(w.summary().received, 0, "not an event");
    w.close().unwrap();
    let w = opts().sla(sla).open(dir.path()).unwrap();
    assert_eq!(w.summary().lsn, lsn, "the same targets again write nothing");
    w.close().unwrap();
}

#[test]
fn the_pipeline_opens_with_the_same_options() {
    let dir = tempfile::tempdir().unwrap();
    let options = opts().snapshots(SnapshotPolicy::OFF);
    let pipeline = options
        .open_pipeline(dir.path(), Default::default())
        .unwrap();
    let mut batch = pipeline.batch();
    for e in [order(1, 1), order(2, 2)] {
        batch
            .push(&waybill_core::event::Entry::Event(e), T0_US)
            .unwrap();
    }
    pipeline.send(batch).unwrap();
    let ack = pipeline.acks().recv().unwrap();
    assert_eq!(ack.counters.applied, 2);
    let core = pipeline.finish().unwrap();
    core.close().unwrap();
    let w = options.open(dir.path()).unwrap();
    assert_eq!(w.summary().shipments, 2);
    assert!(
        Path::new(&dir.path().join("effects")).is_dir(),
        "effects kept"
    );
    w.close().unwrap();
}
