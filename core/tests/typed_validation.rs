//! One validator for the wire and the typed API: every per-event rule is a dead letter on the
//! wire and an error of the typed call (`Core::submit`, `Core::ingest`, `EncodedBatch::push`),
//! with nothing journaled. Issue reproductions: `order_version` 0, a pod or an id over 64 KiB
//! reached panics in apply through the typed API.

mod state_support;

use state_support::*;
use waybill_core::decode::decode;
use waybill_core::encode::event_to_json;
use waybill_core::engine::{Core, CoreError, ErrorKind};
use waybill_core::event::{
    Body, ChargeKind, Contract, DeadLetter, DeadLetterReason, Entry, Event, MAX_EVENT_BYTES, Pod,
    Stop,
};
use waybill_core::journal::{JournalOptions, MAX_PAYLOAD_BYTES};
use waybill_core::pipeline::EncodedBatch;
use waybill_core::validate::{self, MAX_CHARGE_IDS, MAX_POD_BYTES, MAX_REASON_BYTES};

fn core() -> (tempfile::TempDir, Core) {
    let dir = tempfile::tempdir().unwrap();
    let core = Core::open(dir.path(), JournalOptions::default()).unwrap();
    (dir, core)
}

fn on_shipment(source: &str, body: Body) -> Event {
    event(source, 1, m(0), 7, body)
}

/// A valid event of every type.
fn valid_events() -> Vec<Event> {
    vec![
        on_shipment("erp/main", created(0, 60)),
        on_shipment("erp/main", amended(2, Some(1), Some(2), Some(geo(1, 2)))),
        on_shipment("erp/main", cancelled()),
        on_shipment("erp/main", settled("INV-1", 5)),
        on_shipment("route/opt", planned("R-1", 3, 1, 30)),
        on_shipment("route/opt", eta(40)),
        event("fleet/truck-3", 1, m(0), 3, position(1, 2, 3)),
        on_shipment("fleet/truck-3", arrived(Stop::Pickup)),
        on_shipment("fleet/truck-3", departed(Stop::Delivery)),
        on_shipment("fleet/truck-3", picked_up()),
        on_shipment("fleet/truck-3", delivered(Some("J. Doe"))),
        on_shipment("fleet/truck-3", failed()),
        on_shipment("billing/b", charge("CH-1", ChargeKind::Base, 100, USD)),
        on_shipment("billing/b", void("CH-1")),
        on_shipment("billing/b", invoice("INV-1", 100, &["CH-1"])),
    ]
}

type Edit = fn(&mut Event);

/// (what is broken, the edit, the field named, the dead-letter reason on the wire).
fn cases() -> Vec<(&'static str, Event, Edit, &'static str, DeadLetterReason)> {
    use DeadLetterReason::{InvalidData as Data, InvalidEnvelope as Env, OwnershipViolation};
    let created_ev = on_shipment("erp/main", created(0, 60));
    let amended_ev = on_shipment("erp/main", amended(2, None, None, None));
    let charge_ev = on_shipment("billing/b", charge("CH-1", ChargeKind::Fuel, 1, EUR));
    let invoice_ev = on_shipment("billing/b", invoice("INV-1", 1, &["CH-1"]));
    let pod_ev = on_shipment("fleet/t", delivered(Some("J. Doe")));
    let pos_ev = event("fleet/t", 1, m(0), 3, position(0, 0, 0));
    vec![
        ("empty id", created_ev.clone(), |e| e.id.clear(), "id", Env),
        (
            "id over 128 bytes",
            created_ev.clone(),
            |e| e.id = "i".repeat(129),
            "id",
            Env,
        ),
        (
            "id over 64 KiB",
            created_ev.clone(),
            |e| e.id = "i".repeat(70_000),
            "id",
            Env,
        ),
        (
            "source without system",
            created_ev.clone(),
            |e| e.source = "main".into(),
            "source",
            Env,
        ),
        (
            "source name charset",
            created_ev.clone(),
            |e| e.source = "erp/a b".into(),
            "source",
            Env,
        ),
        (
            "source name too long",
            created_ev.clone(),
            |e| e.source = format!("erp/{}", "n".repeat(65)),
            "source",
            Env,
        ),
        (
            "sequence 0",
            created_ev.clone(),
            |e| e.sequence = 0,
            "sequence",
            Env,
        ),
        (
            "time past year 9999",
            created_ev.clone(),
            |e| e.time_us = i64::MAX,
            "time",
            Env,
        ),
        (
            "correlation id too long",
            created_ev.clone(),
            |e| e.correlation_id = Some("c".repeat(129)),
            "correlationid",
            Env,
        ),
        (
            "traceparent malformed",
            created_ev.clone(),
            |e| e.traceparent = Some("00-zz".into()),
            "traceparent",
            Env,
        ),
        (
            "wrong owner",
            created_ev.clone(),
            |e| e.source = "fleet/t".into(),
            "source",
            OwnershipViolation,
        ),
        (
            "customer id empty",
            created_ev.clone(),
            |e| set_customer(e, String::new()),
            "data.customer_id",
            Data,
        ),
        (
            "customer id over 64 KiB",
            created_ev.clone(),
            |e| set_customer(e, "c".repeat(70_000)),
            "data.customer_id",
            Data,
        ),
        (
            "latitude past 90",
            created_ev.clone(),
            |e| set_origin_lat(e, 90_000_001),
            "data.origin.lat",
            Data,
        ),
        (
            "window end before start",
            created_ev.clone(),
            |e| set_window(e, m(10), m(9)),
            "data.window_end",
            Data,
        ),
        (
            "window out of range",
            created_ev.clone(),
            |e| set_window(e, i64::MIN, m(9)),
            "data.window_start",
            Data,
        ),
        (
            "currency lowercase",
            created_ev.clone(),
            |e| {
                set_contract(
                    e,
                    Contract {
                        currency: *b"usd",
                        ..contract()
                    },
                )
            },
            "data.contract.currency",
            Data,
        ),
        (
            "negative base",
            created_ev.clone(),
            |e| {
                set_contract(
                    e,
                    Contract {
                        base_cents: -1,
                        ..contract()
                    },
                )
            },
            "data.contract.base_cents",
            Data,
        ),
        (
            "order_version 0",
            amended_ev.clone(),
            |e| set_version(e, 0),
            "data.order_version",
            Data,
        ),
        (
            "order_version 1",
            amended_ev.clone(),
            |e| set_version(e, 1),
            "data.order_version",
            Data,
        ),
        (
            "amount 0",
            charge_ev.clone(),
            |e| set_amount(e, 0),
            "data.amount_cents",
            Data,
        ),
        (
            "amount negative",
            charge_ev.clone(),
            |e| set_amount(e, i64::MIN),
            "data.amount_cents",
            Data,
        ),
        (
            "charge id over 64 KiB",
            charge_ev.clone(),
            |e| set_charge_id(e, "c".repeat(70_000)),
            "data.charge_id",
            Data,
        ),
        (
            "charge currency",
            charge_ev.clone(),
            |e| set_charge_currency(e, *b"EU1"),
            "data.currency",
            Data,
        ),
        (
            "invoice total 0",
            invoice_ev.clone(),
            |e| set_total(e, 0),
            "data.total_cents",
            Data,
        ),
        (
            "too many charge ids",
            invoice_ev.clone(),
            |e| set_charge_ids(e, (0..=MAX_CHARGE_IDS).map(|i| i.to_string()).collect()),
            "data.charge_ids",
            Data,
        ),
        (
            "listed charge id empty",
            invoice_ev.clone(),
            |e| set_charge_ids(e, vec!["a".into(), String::new()]),
            "data.charge_ids",
            Data,
        ),
        (
            "pod over 64 KiB",
            pod_ev.clone(),
            |e| set_pod(e, "p".repeat(70_000), None),
            "data.pod",
            Data,
        ),
        (
            "pod parts too long together",
            pod_ev.clone(),
            |e| set_pod(e, "p".repeat(MAX_POD_BYTES - 10), Some("q".repeat(11))),
            "data.pod",
            Data,
        ),
        (
            "reason too long",
            on_shipment("erp/main", cancelled()),
            |e| {
                e.body = Body::OrderCancelled {
                    reason: "r".repeat(MAX_REASON_BYTES + 1),
                }
            },
            "data.reason",
            Data,
        ),
        (
            "longitude past 180",
            pos_ev,
            |e| e.body = position(0, -180_000_001, 0),
            "data.lon",
            Data,
        ),
    ]
}

fn set_customer(e: &mut Event, v: String) {
    if let Body::OrderCreated { customer_id, .. } = &mut e.body {
        *customer_id = v;
    }
}
fn set_origin_lat(e: &mut Event, v: i32) {
    if let Body::OrderCreated { origin, .. } = &mut e.body {
        origin.lat_ud = v;
    }
}
fn set_window(e: &mut Event, start: i64, end: i64) {
    if let Body::OrderCreated {
        window_start_us,
        window_end_us,
        ..
    } = &mut e.body
    {
        (*window_start_us, *window_end_us) = (start, end);
    }
}
fn set_contract(e: &mut Event, v: Contract) {
    if let Body::OrderCreated { contract, .. } = &mut e.body {
        *contract = v;
    }
}
fn set_version(e: &mut Event, v: u32) {
    if let Body::OrderAmended { order_version, .. } = &mut e.body {
        *order_version = v;
    }
}
fn set_amount(e: &mut Event, v: i64) {
    if let Body::ChargeAdded { amount_cents, .. } = &mut e.body {
        *amount_cents = v;
    }
}
fn set_charge_id(e: &mut Event, v: String) {
    if let Body::ChargeAdded { charge_id, .. } = &mut e.body {
        *charge_id = v;
    }
}
fn set_charge_currency(e: &mut Event, v: [u8; 3]) {
    if let Body::ChargeAdded { currency, .. } = &mut e.body {
        *currency = v;
    }
}
fn set_total(e: &mut Event, v: i64) {
    if let Body::InvoiceIssued { total_cents, .. } = &mut e.body {
        *total_cents = v;
    }
}
fn set_charge_ids(e: &mut Event, v: Vec<String>) {
    if let Body::InvoiceIssued { charge_ids, .. } = &mut e.body {
        *charge_ids = v;
    }
}
fn set_pod(e: &mut Event, signed_by: String, photo_ref: Option<String>) {
    e.body = Body::ShipmentDelivered {
        pod: Some(Pod {
            signed_by,
            photo_ref,
        }),
    };
}

fn invalid_field(err: &CoreError) -> (usize, &'static str, DeadLetterReason) {
    match err {
        CoreError::Invalid { index, invalid } => (*index, invalid.field, invalid.reason),
        other => panic!("expected an invalid entry, got {other}"),
    }
}

/// Every case fails the typed calls with the field named and nothing journaled, and the
/// core stays usable; on the wire (when the event can be written at all) it is dead-lettered
/// with the same reason.
#[test]
fn every_rule_fails_the_typed_call_and_dead_letters_on_the_wire() {
    let (_dir, mut core) = core();
    let good = on_shipment("erp/main", created(0, 60));
    for (what, base, edit, field, reason) in cases() {
        let mut bad = base.clone();
        edit(&mut bad);
        let bad = Entry::Event(bad);
        let lsn = core.journal().last_lsn();

        let err = core.submit(&bad, T0_US).unwrap_err();
        assert_eq!(invalid_field(&err), (0, field, reason), "{what}: {err}");
        assert_eq!(err.kind(), ErrorKind::BadInput, "{what}");
        let batch = [
            Entry::Event(good.clone()),
            bad.clone(),
            Entry::Event(good.clone()),
        ];
        let err = core.ingest(&batch, T0_US).unwrap_err();
        assert_eq!(invalid_field(&err), (1, field, reason), "{what}: {err}");
        let mut encoded = EncodedBatch::new();
        let err = encoded.push(&bad, T0_US).unwrap_err();
        assert_eq!(invalid_field(&err), (0, field, reason), "{what}: {err}");
        assert!(encoded.is_empty(), "{what}");
        assert_eq!(core.journal().last_lsn(), lsn, "{what}: nothing journaled");

        let Entry::Event(bad) = &bad else {
            unreachable!()
        };
        let line = event_to_json(bad);
        match decode(line.as_bytes()) {
            Entry::DeadLetter(dl) if line.len() > MAX_EVENT_BYTES => {
                assert_eq!(dl.reason, DeadLetterReason::TooLarge, "{what}")
            }
            // An out-of-range time cannot be written as RFC 3339: it fails as a bad time.
            Entry::DeadLetter(dl) => assert_eq!(dl.reason, reason, "{what}: {}", dl.detail),
            other => panic!("{what}: decoded as {other:?}"),
        }
    }
    // The core still takes good events; the failed calls left no trace.
    let report = core.ingest([&Entry::Event(good)], T0_US).unwrap();
    assert_eq!((report.first_lsn, report.counters.applied), (1, 1));
}

/// Every valid event passes the typed calls, and decoding what the encoder writes gives the
/// same event (the validator accepts all the decoder accepts).
#[test]
fn valid_events_pass_both_ways() {
    let (_dir, mut core) = core();
    for ev in valid_events() {
        assert_eq!(validate::event(&ev), Ok(()), "{ev:?}");
        let decoded = decode(event_to_json(&ev).as_bytes());
        assert_eq!(decoded, Entry::Event(ev.clone()));
        core.submit(&Entry::Event(ev), T0_US).unwrap();
    }
    assert_eq!(
        core.machine().counters().received,
        valid_events().len() as u64
    );
}

/// Issue reproductions through the typed API, then a reopen: the journal still opens.
#[test]
fn typed_reproductions_are_refused_and_the_journal_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let mut core = Core::open(dir.path(), JournalOptions::default()).unwrap();
    let mut amended = on_shipment("erp/main", amended(2, None, None, None));
    set_version(&mut amended, 0);
    let mut pod = on_shipment("fleet/t", delivered(None));
    set_pod(&mut pod, "p".repeat(70_000), None);
    let mut id = on_shipment("billing/b", charge("c", ChargeKind::Base, 1, USD));
    set_charge_id(&mut id, "c".repeat(70_000));
    for ev in [amended, pod, id] {
        assert!(matches!(
            core.submit(&Entry::Event(ev), T0_US),
            Err(CoreError::Invalid { .. })
        ));
    }
    core.submit(&Entry::Event(on_shipment("erp/main", created(0, 1))), T0_US)
        .unwrap();
    core.flush().unwrap();
    drop(core);
    let core = Core::open(dir.path(), JournalOptions::default()).unwrap();
    assert_eq!(core.machine().lsn(), 1);
}

/// Dead letters given to the typed API keep their limits too.
#[test]
fn typed_dead_letters_are_checked() {
    let (_dir, mut core) = core();
    let dl = |raw: usize, raw_len_bytes: u64, detail: usize| {
        Entry::DeadLetter(DeadLetter {
            reason: DeadLetterReason::MalformedJson,
            detail: "d".repeat(detail),
            raw: vec![b'x'; raw],
            raw_len_bytes,
        })
    };
    core.submit(&dl(MAX_EVENT_BYTES, 1 << 40, 10), T0_US)
        .unwrap();
    for (bad, field) in [
        (dl(MAX_EVENT_BYTES + 1, 1 << 40, 10), "raw"),
        (dl(10, 9, 10), "raw_len_bytes"),
        (dl(10, 10, validate::MAX_DETAIL_BYTES + 1), "detail"),
    ] {
        let err = core.submit(&bad, T0_US).unwrap_err();
        assert_eq!(invalid_field(&err).1, field);
    }
    assert_eq!(core.journal().last_lsn(), 1);
}

/// The largest valid entry still fits one journal record.
#[test]
fn the_largest_valid_entry_fits_a_record() {
    let id = |c: char| c.to_string().repeat(128);
    let mut big = on_shipment("billing/b", invoice("x", 1, &[]));
    big.id = id('i');
    big.source = format!("billing/{}", "s".repeat(64));
    big.correlation_id = Some(id('c'));
    big.traceparent = Some(format!(
        "01-{}-{}-01-{}",
        "a".repeat(32),
        "b".repeat(16),
        "t".repeat(validate::MAX_TRACEPARENT_BYTES - 56)
    ));
    set_charge_ids(&mut big, (0..MAX_CHARGE_IDS).map(|_| id('l')).collect());
    if let Body::InvoiceIssued { invoice_id, .. } = &mut big.body {
        *invoice_id = id('v');
    }
    assert_eq!(validate::event(&big), Ok(()));
    let bytes = rkyv::to_bytes::<rkyv::rancor::Error>(&Entry::Event(big.clone())).unwrap();
    assert!(bytes.len() <= MAX_PAYLOAD_BYTES, "{} bytes", bytes.len());
    let (_dir, mut core) = core();
    core.submit(&Entry::Event(big), T0_US).unwrap();
}

/// A journal that holds an entry apply cannot apply (as an older version wrote through the
/// typed API: `order_version` 0, a 70,000-byte pod) is refused on open and on replay with the
/// record's LSN, never a panic in apply; the records before it still read.
#[test]
fn a_journaled_entry_that_breaks_a_rule_is_an_error_not_a_panic() {
    use waybill_core::engine::{Until, replay};
    use waybill_core::journal::{Journal, RecordKind};
    let poisons = [
        {
            let mut e = on_shipment("erp/main", amended(2, None, None, None));
            set_version(&mut e, 0);
            e
        },
        {
            let mut e = on_shipment("fleet/t", delivered(None));
            set_pod(&mut e, "p".repeat(70_000), None);
            e
        },
    ];
    for poison in poisons {
        let dir = tempfile::tempdir().unwrap();
        let (mut journal, _) = Journal::open(dir.path(), JournalOptions::default()).unwrap();
        for entry in [
            Entry::Event(on_shipment("erp/main", created(0, 60))),
            Entry::Event(poison),
        ] {
            let bytes = rkyv::to_bytes::<rkyv::rancor::Error>(&entry).unwrap();
            journal.append(T0_US, RecordKind::ENTRY, &bytes).unwrap();
        }
        journal.flush().unwrap();
        drop(journal);
        for err in [
            Core::open(dir.path(), JournalOptions::default())
                .err()
                .unwrap(),
            replay(dir.path(), Until::End).err().unwrap(),
        ] {
            assert_eq!(err.kind(), ErrorKind::Corrupt, "{err}");
            assert!(matches!(err, CoreError::BadRecord { lsn: 2, .. }), "{err}");
            assert!(err.to_string().contains("data."), "{err}");
        }
        assert_eq!(
            replay(dir.path(), Until::Lsn(1))
                .unwrap()
                .machine
                .counters()
                .applied,
            1
        );
    }
}
