//! Every state limit is checked before a batch is journaled: a batch that could take a store
//! past its limit is refused whole (`CoreError::Capacity`, naming the limit), nothing of it is
//! journaled or applied, and the journal then opens, verifies and answers with the state
//! before the refusal. Each limit is lowered to a small number and driven to its edge and past.

mod state_support;

use state_support::*;
use std::io::Cursor;
use std::ops::ControlFlow;
use std::path::Path;
use waybill_core::encode::event_to_json;
use waybill_core::engine::{Core, CoreError, ErrorKind, replay};
use waybill_core::event::{Body, ChargeKind, Contract, Entry, Event, Pod};
use waybill_core::input::{InputReader, RawBatch};
use waybill_core::journal::{Durability, JournalOptions, PayloadCheck, verify};
use waybill_core::limits::{CapacityExceeded, Limits, TEXT_CHUNK_BYTES};
use waybill_core::machine::Summary;
use waybill_core::pipeline::{
    EncodedBatch, Pipeline, PipelineOptions, StreamOptions, StreamReport, ingest_reader,
};

fn opts() -> JournalOptions {
    JournalOptions {
        durability: Durability::None,
        ..JournalOptions::default()
    }
}

fn open(dir: &Path, limits: Limits) -> Core {
    let mut core = Core::open(dir, opts()).unwrap();
    core.set_limits(limits).unwrap();
    core
}

fn refused(err: CoreError) -> CapacityExceeded {
    assert_eq!(err.kind(), ErrorKind::Capacity, "{err}");
    match err {
        CoreError::Capacity(c) => c,
        other => panic!("expected a capacity refusal, got {other}"),
    }
}

/// The journal in `dir` verifies, and a fresh replay and a reopened writer (with default
/// limits) both answer `want`.
fn reopens_with(dir: &Path, want: &Summary) {
    let check = |_kind, _payload: &[u8]| Ok(());
    let check: &PayloadCheck<'_> = &check;
    let report = verify(dir, check).unwrap();
    assert_eq!(report.last_lsn, want.lsn);
    assert_eq!(
        &replay(dir, waybill_core::engine::Until::End)
            .unwrap()
            .machine
            .summary(),
        want
    );
    let core = Core::open(dir, opts()).unwrap();
    assert_eq!(&core.machine().summary(), want);
}

/// Ingests `batch(0)`, `batch(1)`, ... under `limits`: the first `fits` are accepted, the
/// next is refused naming `limit`, by every path (typed batch, encoded batch, raw wire lines,
/// and each entry alone when it is one). Nothing of the refused batch is journaled; a batch
/// that adds nothing (`again`: the first batch once more, all duplicates) is still accepted;
/// the journal reopens with the state before the refusal.
fn drive(limit: &str, limits: Limits, fits: usize, batch: impl Fn(usize) -> Vec<Event>) {
    let dir = tempfile::tempdir().unwrap();
    let mut core = open(dir.path(), limits);
    for i in 0..fits {
        let entries: Vec<Entry> = batch(i).into_iter().map(Entry::Event).collect();
        if let Err(e) = core.ingest(&entries, T0_US) {
            panic!("{limit}: batch {i} of {fits} refused: {e}");
        }
    }
    let before = core.machine().summary();
    let past: Vec<Entry> = batch(fits).into_iter().map(Entry::Event).collect();

    let err = refused(core.ingest(&past, T0_US).unwrap_err());
    assert_eq!(err.limit, limit, "{err}");
    assert!(err.held + err.needed > err.max && err.max == limit_value(&limits, limit));
    assert!(err.to_string().contains(&format!("`{limit}`")), "{err}");

    let mut encoded = EncodedBatch::new();
    for e in &past {
        encoded.push(e, T0_US).unwrap();
    }
    assert_eq!(
        refused(core.ingest_encoded(&encoded).unwrap_err()).limit,
        limit
    );

    let lines: String = past
        .iter()
        .map(|e| match e {
            Entry::Event(ev) => event_to_json(ev) + "\n",
            Entry::DeadLetter(_) | Entry::Settings(_) | Entry::Notice(_) => unreachable!(),
        })
        .collect();
    let mut raw = RawBatch::new();
    InputReader::new(Cursor::new(lines.into_bytes()))
        .read_batch(&mut raw, past.len())
        .unwrap();
    assert_eq!(raw.len(), past.len());
    assert_eq!(
        refused(core.ingest_raw(&raw, T0_US).unwrap_err()).limit,
        limit
    );

    if let [one] = &past[..] {
        assert_eq!(refused(core.submit(one, T0_US).unwrap_err()).limit, limit);
    }
    assert_eq!(core.machine().summary(), before, "{limit}: nothing applied");
    assert_eq!(
        core.journal().last_lsn(),
        before.lsn,
        "{limit}: nothing journaled"
    );

    // What adds nothing is still accepted at the edge: the first batch again (duplicates).
    let again: Vec<Entry> = batch(0).into_iter().map(Entry::Event).collect();
    let report = core.ingest(&again, T0_US).unwrap();
    assert_eq!(report.counters.duplicates, again.len() as u64, "{limit}");
    let after = core.machine().summary();
    core.flush().unwrap();
    drop(core);
    reopens_with(dir.path(), &after);
    // The same limits after a reopen refuse the same batch.
    let mut core = open(dir.path(), limits);
    assert_eq!(refused(core.ingest(&past, T0_US).unwrap_err()).limit, limit);
}

fn limit_value(l: &Limits, name: &str) -> u64 {
    l.named()
        .into_iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
        .unwrap()
}

fn with(f: impl FnOnce(&mut Limits)) -> Limits {
    let mut l = Limits::default();
    f(&mut l);
    l
}

fn order(customer: &str, contract: Contract) -> Body {
    created_with(customer, 0, 60, contract)
}

fn pod(signed_by_bytes: usize, i: usize) -> Body {
    Body::ShipmentDelivered {
        pod: Some(Pod {
            signed_by: format!("{i:05}{}", "s".repeat(signed_by_bytes - 5)),
            photo_ref: None,
        }),
    }
}

#[test]
fn sources() {
    drive("sources", with(|l| l.sources = 3), 3, |i| {
        vec![event(&format!("fleet/s{i}"), 1, m(0), 1, position(1, 2, 3))]
    });
    // Several events of one new source count once; two new sources twice.
    drive("sources", with(|l| l.sources = 4), 2, |i| {
        let a = format!("fleet/a{i}");
        let b = format!("fleet/b{i}");
        (1..=3)
            .flat_map(|seq| {
                [
                    event(&a, seq, m(0), 1, position(1, 2, 3)),
                    event(&b, seq, m(0), 1, position(1, 2, 3)),
                ]
            })
            .collect()
    });
}

#[test]
fn shipments_and_vehicles() {
    drive("shipments", with(|l| l.shipments = 3), 3, |i| {
        vec![event("fleet/t", i as u64 + 1, m(0), i as u64, picked_up())]
    });
    drive("vehicles", with(|l| l.vehicles = 3), 3, |i| {
        vec![event(
            "fleet/t",
            i as u64 + 1,
            m(0),
            i as u64,
            position(1, 2, 3),
        )]
    });
    // Vehicles and shipments are counted apart.
    drive("vehicles", with(|l| l.vehicles = 1), 1, |i| {
        vec![
            event("fleet/t", 2 * i as u64 + 1, m(0), i as u64, picked_up()),
            event(
                "fleet/t",
                2 * i as u64 + 2,
                m(0),
                i as u64,
                position(1, 2, 3),
            ),
        ]
    });
}

#[test]
fn charges_invoices_and_listings() {
    drive("charges", with(|l| l.charges = 5), 5, |i| {
        let id = format!("CH-{i}");
        vec![event(
            "billing/b",
            i as u64 + 1,
            m(0),
            1,
            charge(&id, ChargeKind::Fuel, 1, EUR),
        )]
    });
    drive("invoices", with(|l| l.invoices = 3), 3, |i| {
        vec![event(
            "erp/e",
            i as u64 + 1,
            m(0),
            1,
            settled(&format!("I-{i}"), 1),
        )]
    });
    drive("listed_charges", with(|l| l.listed_charges = 6), 3, |i| {
        let (a, b) = (format!("a{i}"), format!("b{i}"));
        vec![event(
            "billing/b",
            i as u64 + 1,
            m(0),
            1,
            invoice(&format!("I-{i}"), 1, &[&a, &b]),
        )]
    });
}

#[test]
fn interned_values() {
    drive("customers", with(|l| l.customers = 3), 3, |i| {
        vec![event(
            "erp/e",
            i as u64 + 1,
            m(0),
            i as u64,
            order(&format!("C-{i}"), contract()),
        )]
    });
    drive("routes", with(|l| l.routes = 3), 3, |i| {
        vec![event(
            "route/r",
            i as u64 + 1,
            m(0),
            1,
            planned(&format!("R-{i}"), 1, 0, 9),
        )]
    });
    drive("contract_terms", with(|l| l.contract_terms = 3), 3, |i| {
        let terms = Contract {
            detention_free_min: i as u32,
            ..contract()
        };
        vec![event(
            "erp/e",
            i as u64 + 1,
            m(0),
            i as u64,
            order("C", terms),
        )]
    });
}

/// Each text store is limited on its own, in whole chunks: two chunks of ids and pods hold
/// four pods of 65,000 bytes (65,005 with their header and length); one chunk holds 1,008
/// customer ids (or route ids) of 128 bytes (130 each).
#[test]
fn text_stores() {
    let two_chunks = with(|l| l.text_bytes = 2 * TEXT_CHUNK_BYTES);
    drive("text_bytes", two_chunks, 4, |i| {
        vec![event(
            "fleet/t",
            i as u64 + 1,
            m(0),
            i as u64,
            pod(65_000, i),
        )]
    });
    let one_chunk = with(|l| l.text_bytes = TEXT_CHUNK_BYTES);
    let id = |i: usize| format!("{i:04}{}", "x".repeat(124));
    drive("text_bytes", one_chunk, 1_008, |i| {
        vec![event(
            "erp/e",
            i as u64 + 1,
            m(0),
            i as u64,
            order(&id(i), contract()),
        )]
    });
    drive("text_bytes", one_chunk, 1_008, |i| {
        vec![event(
            "route/r",
            i as u64 + 1,
            m(0),
            1,
            planned(&id(i), 1, 0, 9),
        )]
    });
    // Charge and invoice ids share the store with pods.
    drive("text_bytes", one_chunk, 1_008 / 2, |i| {
        vec![
            event(
                "billing/b",
                i as u64 + 1,
                m(0),
                1,
                charge(&id(2 * i), ChargeKind::Fuel, 1, EUR),
            ),
            event("erp/e", i as u64 + 1, m(0), 1, settled(&id(2 * i + 1), 1)),
        ]
    });
}

#[test]
fn failed_attempts_per_shipment() {
    drive("failed_attempts", with(|l| l.failed_attempts = 3), 3, |i| {
        vec![event("fleet/t", i as u64 + 1, m(0), 1, failed())]
    });
    // Another shipment's attempts count on their own.
    let dir = tempfile::tempdir().unwrap();
    let mut core = open(dir.path(), with(|l| l.failed_attempts = 2));
    let on = |seq: u64, subject: u64| Entry::Event(event("fleet/t", seq, m(0), subject, failed()));
    core.ingest(&[on(1, 1), on(2, 1), on(3, 2)], T0_US).unwrap();
    assert_eq!(
        refused(core.ingest(&[on(4, 1)], T0_US).unwrap_err()).limit,
        "failed_attempts"
    );
    core.ingest(&[on(5, 2)], T0_US).unwrap();
    assert_eq!(
        refused(core.ingest(&[on(6, 2)], T0_US).unwrap_err()).limit,
        "failed_attempts"
    );
}

/// Dead letters never touch state: a core at every limit still takes them.
#[test]
fn dead_letters_pass_any_limit() {
    let dir = tempfile::tempdir().unwrap();
    let zero = Limits {
        sources: 0,
        shipments: 0,
        vehicles: 0,
        charges: 0,
        invoices: 0,
        listed_charges: 0,
        customers: 0,
        routes: 0,
        contract_terms: 0,
        text_bytes: 0,
        failed_attempts: 0,
    };
    let mut core = open(dir.path(), zero);
    let lines = b"not json\n{\"specversion\":\"1.0\"}\n";
    let mut raw = RawBatch::new();
    InputReader::new(Cursor::new(&lines[..]))
        .read_batch(&mut raw, 10)
        .unwrap();
    let report = core.ingest_raw(&raw, T0_US).unwrap();
    assert_eq!(report.counters.dead_lettered, 2);
    let one = Entry::Event(event("fleet/t", 1, m(0), 1, picked_up()));
    assert_eq!(
        refused(core.ingest([&one], T0_US).unwrap_err()).limit,
        "sources"
    );
}

/// Limits above what the core can hold are refused.
#[test]
fn limits_above_the_ceilings_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut core = Core::open(dir.path(), opts()).unwrap();
    assert_eq!(core.limits(), &Limits::default());
    let err = core
        .set_limits(with(|l| l.sources = Limits::MAX.sources + 1))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadInput);
    assert!(err.to_string().contains("sources"), "{err}");
}

fn wire(ev: &Event) -> String {
    event_to_json(ev) + "\n"
}

fn clock() -> i64 {
    T0_US
}

/// `text` through the command line's path (`ingest_reader`, two decoder threads).
fn stream(text: String, core: &mut Core) -> Result<StreamReport, CoreError> {
    let opts = StreamOptions {
        decoders: 2,
        ..StreamOptions::default()
    };
    ingest_reader(
        Cursor::new(text.into_bytes()),
        core,
        &opts,
        clock,
        &mut |_| ControlFlow::Continue(()),
    )
}

/// Issue reproduction: `shipment.delivered` events from one fleet source, each with a
/// 65,000-byte `pod.signed_by`, filled the 4 GiB text store and the next one was journaled,
/// then panicked in apply for ever. With the store lowered to 4 chunks (8 pods), the ninth is
/// refused through the command line's path (`ingest_reader`), and the journal reopens.
#[test]
fn reproduction_pods_fill_the_text_store() {
    let dir = tempfile::tempdir().unwrap();
    let limits = with(|l| l.text_bytes = 4 * TEXT_CHUNK_BYTES);
    let mut core = open(dir.path(), limits);
    let input: String = (0..9)
        .map(|i| {
            wire(&event(
                "fleet/truck-1",
                i as u64 + 1,
                m(0),
                i as u64,
                pod(65_000, i),
            ))
        })
        .collect();
    // One event per batch (a batch of more would be refused as a whole).
    let lines: Vec<String> = input.lines().map(|l| format!("{l}\n")).collect();
    for line in &lines[..8] {
        stream(line.clone(), &mut core).unwrap();
    }
    let before = core.machine().summary();
    assert_eq!(before.applied, 8);
    let err = stream(lines[8].clone(), &mut core).unwrap_err();
    assert_eq!(refused(err).limit, "text_bytes");
    core.flush().unwrap();
    drop(core);
    reopens_with(dir.path(), &before);
}

/// Issue reproduction: 16,777,217 distinct valid sources panicked in apply ("more than
/// 16777216 sources"). With the limit lowered to 16, the seventeenth source is refused, also
/// through a `Pipeline` (whose core thread stops with the error), and the journal reopens.
#[test]
fn reproduction_too_many_sources() {
    let dir = tempfile::tempdir().unwrap();
    let limits = with(|l| l.sources = 16);
    let mut core = open(dir.path(), limits);
    let ev = |i: usize| {
        event(
            &format!("fleet/unit-{i}"),
            1,
            m(0),
            i as u64,
            position(1, 2, 3),
        )
    };
    let first: String = (0..16).map(|i| wire(&ev(i))).collect();
    stream(first, &mut core).unwrap();
    let before = core.machine().summary();
    assert_eq!(before.sources, 16);
    let err = stream(wire(&ev(16)), &mut core).unwrap_err();
    let c = refused(err);
    assert_eq!((c.limit, c.max, c.held, c.needed), ("sources", 16, 16, 1));

    let pipeline = Pipeline::start(core, PipelineOptions::default());
    let mut batch = pipeline.batch();
    batch.push(&Entry::Event(ev(17)), T0_US).unwrap();
    pipeline.send(batch).unwrap();
    let Err(err) = pipeline.finish() else {
        panic!("the pipeline took a seventeenth source")
    };
    assert_eq!(refused(err).limit, "sources");
    reopens_with(dir.path(), &before);
}

/// The defaults are the structural ceilings, where apply would otherwise fail: admission
/// refuses before any of them is reached.
#[test]
fn default_limits_are_the_structural_ceilings() {
    use waybill_core::state;
    let l = Limits::default();
    assert_eq!(l.sources, waybill_core::source::MAX_SOURCES as u64);
    assert_eq!(l.shipments, state::MAX_SHIPMENTS as u64);
    assert_eq!(l.vehicles, state::MAX_SHIPMENTS as u64);
    for records in [l.charges, l.invoices, l.listed_charges] {
        assert_eq!(records, state::MAX_RECORDS as u64);
    }
    for symbols in [l.customers, l.routes, l.contract_terms] {
        assert_eq!(symbols, state::MAX_SYMBOLS as u64);
    }
    assert_eq!(l.text_bytes, state::MAX_TEXT_STORE_BYTES as u64);
    assert_eq!(l.text_bytes, 4 << 30);
    assert_eq!(l.failed_attempts, u64::from(u32::MAX));
}
