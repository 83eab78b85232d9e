//! For any sequence of wire lines and typed events, hostile ones included (huge strings,
//! extreme numbers, many sources, broken JSON), under any limits: ingest never panics and
//! fails only with bad input or a capacity refusal that journals nothing; the conservation
//! law holds; the journal verifies, reopens and replays to the live state; and every read path
//! (summary, shipment and vehicle views, a history-style walk with visits, the dead letters)
//! runs without a panic.

use proptest::prelude::*;
use std::path::Path;
use waybill_core::encode::event_to_json;
use waybill_core::engine::{Core, ErrorKind, Until, replay_with};
use waybill_core::event::{
    Body, ChargeKind, Contract, DeadLetter, DeadLetterReason, Entry, Event, GeoPoint, Pod, Stop,
};
use waybill_core::input::{InputReader, RawBatch};
use waybill_core::journal::{Durability, JournalOptions, PayloadCheck, verify};
use waybill_core::limits::{Limits, TEXT_CHUNK_BYTES};
use waybill_core::machine::{Machine, Outcome, Summary};
use waybill_core::record::EntryView;

const T0_US: i64 = 1_795_766_400_000_000;

/// Field values: valid ones (valid extremes included), or anything when `hostile`.
fn text(hostile: bool) -> BoxedStrategy<String> {
    if !hostile {
        return prop_oneof![
            8 => "[a-zA-Z0-9._-]{1,10}",
            1 => Just("x".repeat(128)),
        ]
        .boxed();
    }
    prop_oneof![
        2 => "[a-zA-Z0-9._-]{1,10}",
        1 => Just(String::new()),
        1 => Just("y".repeat(129)),
        1 => Just("z".repeat(4097)),
        1 => Just("q".repeat(70_000)),
        1 => "\\PC{0,12}",
    ]
    .boxed()
}

fn cents(hostile: bool) -> BoxedStrategy<i64> {
    if !hostile {
        return prop_oneof![8 => 1i64..10_000, 1 => Just(i64::MAX)].boxed();
    }
    prop_oneof![Just(0i64), Just(-1i64), Just(i64::MIN), any::<i64>()].boxed()
}

fn time(hostile: bool) -> BoxedStrategy<i64> {
    let valid = (0i64..10_000).prop_map(|m| T0_US + m * 60_000_000);
    if !hostile {
        return valid.boxed();
    }
    prop_oneof![valid, Just(i64::MIN), Just(i64::MAX), any::<i64>()].boxed()
}

fn point(hostile: bool) -> BoxedStrategy<GeoPoint> {
    let coord = if hostile {
        prop_oneof![
            Just(i32::MIN),
            Just(i32::MAX),
            Just(180_000_001),
            any::<i32>()
        ]
        .boxed()
    } else {
        (-90_000_000i32..=90_000_000).boxed()
    };
    (coord.clone(), coord)
        .prop_map(|(lat_ud, lon_ud)| GeoPoint { lat_ud, lon_ud })
        .boxed()
}

fn currency(hostile: bool) -> BoxedStrategy<[u8; 3]> {
    if hostile {
        return any::<[u8; 3]>().boxed();
    }
    prop_oneof![Just(*b"EUR"), Just(*b"USD"), Just(*b"JPY")].boxed()
}

fn body(h: bool) -> BoxedStrategy<Body> {
    let contract = (
        currency(h),
        cents(h).prop_map(|c| c.saturating_sub(1)),
        any::<u32>(),
        cents(h),
    )
        .prop_map(|(c, b, f, per_hour)| Contract {
            currency: c,
            base_cents: b,
            detention_free_min: f % 600,
            detention_cents_per_hour: per_hour,
        });
    let kind = prop_oneof![
        Just(ChargeKind::Base),
        Just(ChargeKind::Detention),
        Just(ChargeKind::Fuel)
    ];
    let stop = prop_oneof![Just(Stop::Pickup), Just(Stop::Delivery)];
    let ids = prop_oneof![
        8 => proptest::collection::vec(text(h), 0..4),
        1 => (0usize..5_000).prop_map(|n| (0..n).map(|i| format!("c{}", i % 7)).collect()),
    ];
    let version = if h {
        prop_oneof![Just(0u32), Just(1)].boxed()
    } else {
        prop_oneof![2u32..6, Just(u32::MAX)].boxed()
    };
    let pod_text = if h {
        text(h)
    } else {
        prop_oneof![4 => text(h), 1 => Just("p".repeat(65_000))].boxed()
    };
    prop_oneof![
        (
            text(h),
            point(h),
            point(h),
            time(h),
            0i64..600,
            any::<u32>(),
            contract
        )
            .prop_map(
                |(customer_id, origin, destination, s, minutes, weight_kg, contract)| {
                    Body::OrderCreated {
                        customer_id,
                        origin,
                        destination,
                        window_start_us: s,
                        window_end_us: s.saturating_add(minutes * 60_000_000),
                        weight_kg,
                        contract,
                    }
                }
            ),
        (
            version,
            proptest::option::of(time(h)),
            proptest::option::of(point(h))
        )
            .prop_map(|(v, s, d)| Body::OrderAmended {
                order_version: v,
                window_start_us: s,
                window_end_us: s.map(|s| s.saturating_add(3_600_000_000)),
                destination: d,
            }),
        text(h).prop_map(|reason| Body::OrderCancelled { reason }),
        (text(h), cents(h)).prop_map(|(invoice_id, amount_cents)| Body::InvoiceSettled {
            invoice_id,
            amount_cents
        }),
        (text(h), any::<u64>(), any::<u16>(), time(h)).prop_map(|(r, v, i, t)| {
            Body::RoutePlanned {
                stop_index: i,
                route_id: r,
                vehicle_id: v,
                eta_us: t,
            }
        }),
        time(h).prop_map(|eta_us| Body::EtaRevised { eta_us }),
        (
            point(h),
            any::<u32>(),
            proptest::option::of(any::<u16>()),
            proptest::option::of(any::<u32>())
        )
            .prop_map(|(position, speed_kph_milli, heading, accuracy_mm)| {
                Body::VehiclePosition {
                    position,
                    speed_kph_milli,
                    // Hostile too: a heading past 359 must be refused, never applied.
                    heading_deg: heading,
                    accuracy_mm,
                }
            }),
        stop.clone().prop_map(|stop| Body::StopArrived { stop }),
        stop.prop_map(|stop| Body::StopDeparted { stop }),
        Just(Body::ShipmentPickedUp),
        proptest::option::of((pod_text, proptest::option::of(text(h)))).prop_map(|pod| {
            Body::ShipmentDelivered {
                pod: pod.map(|(signed_by, photo_ref)| Pod {
                    signed_by,
                    photo_ref,
                }),
            }
        }),
        text(h).prop_map(|reason| Body::DeliveryFailed { reason }),
        (text(h), kind, cents(h), currency(h)).prop_map(|(charge_id, kind, amount_cents, c)| {
            Body::ChargeAdded {
                charge_id,
                kind,
                amount_cents,
                currency: c,
            }
        }),
        text(h).prop_map(|charge_id| Body::ChargeVoided { charge_id }),
        (text(h), cents(h), ids).prop_map(|(invoice_id, total_cents, charge_ids)| {
            Body::InvoiceIssued {
                invoice_id,
                total_cents,
                charge_ids,
            }
        }),
    ]
    .boxed()
}

/// An event: mostly valid (its owner's source, a few sources, sequences and subjects that
/// collide), sometimes hostile in any field.
fn event_with(h: bool) -> BoxedStrategy<Event> {
    let source = if h {
        prop_oneof![
            2 => ("(erp|route|fleet|billing)", 0u32..12).prop_map(|(s, n)| format!("{s}/u{n}")),
            1 => Just("nowhere".to_string()),
            1 => Just(format!("fleet/{}", "n".repeat(65))),
        ]
        .boxed()
    } else {
        (0u32..12).prop_map(|n| format!("u{n}")).boxed()
    };
    let sequence = if h {
        prop_oneof![Just(0u64), Just(u64::MAX), any::<u64>()].boxed()
    } else {
        prop_oneof![8 => 1u64..8, 1 => Just(u64::MAX)].boxed()
    };
    let subject = prop_oneof![8 => 0u64..6, 1 => any::<u64>()];
    let trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_string();
    let traceparent = if h {
        proptest::option::of(text(h)).boxed()
    } else {
        proptest::option::of(Just(trace)).boxed()
    };
    (
        text(h),
        source,
        sequence,
        time(h),
        subject,
        proptest::option::of(text(h)),
        traceparent,
        body(h),
    )
        .prop_map(
            move |(id, source, sequence, time_us, subject, correlation_id, traceparent, body)| {
                // A valid event's source belongs to its type's owner.
                let source = if h {
                    source
                } else {
                    format!("{}/{source}", body.event_type().owner().as_str())
                };
                Event {
                    id,
                    source,
                    sequence,
                    time_us,
                    subject,
                    correlation_id,
                    traceparent,
                    body,
                }
            },
        )
        .boxed()
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![12 => event_with(false), 1 => event_with(true)]
}

/// A wire line: a hostile event's JSON, maybe damaged; junk; or an oversized line.
fn line() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => (event(), proptest::option::weighted(0.2, (any::<prop::sample::Index>(), any::<u8>())))
            .prop_map(|(e, edit)| {
                let mut b = event_to_json(&e).into_bytes();
                if let Some((at, byte)) = edit {
                    let i = at.index(b.len());
                    b[i] = if byte == b'\n' { b' ' } else { byte };
                }
                b
            }),
        1 => proptest::collection::vec(any::<u8>().prop_filter("no newline", |b| *b != b'\n'), 0..64),
        1 => Just(vec![b'a'; 70_000]),
    ]
}

#[derive(Debug, Clone)]
enum Step {
    Typed(Vec<Entry>),
    Submit(Entry),
    Wire(Vec<Vec<u8>>),
}

fn entry() -> impl Strategy<Value = Entry> {
    prop_oneof![
        8 => event().prop_map(Entry::Event),
        1 => (0usize..70_000, any::<u64>(), 0usize..1_100).prop_map(|(raw, len, detail)| {
            Entry::DeadLetter(DeadLetter {
                reason: DeadLetterReason::InvalidData,
                detail: "d".repeat(detail),
                raw: vec![b'r'; raw],
                raw_len_bytes: len,
            })
        }),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        proptest::collection::vec(entry(), 0..8).prop_map(Step::Typed),
        entry().prop_map(Step::Submit),
        proptest::collection::vec(line(), 0..8).prop_map(Step::Wire),
    ]
}

fn limits() -> impl Strategy<Value = Limits> {
    let small = (
        (0u64..6, 0u64..6, 0u64..4, 0u64..8, 0u64..4),
        (0u64..12, 0u64..3, 0u64..3, 0u64..3, 0u64..4, 0u64..3),
    )
        .prop_map(
            |((sources, shipments, vehicles, charges, invoices), rest)| {
                let (listed_charges, customers, routes, contract_terms, chunks, failed_attempts) =
                    rest;
                Limits {
                    sources,
                    shipments,
                    vehicles,
                    charges,
                    invoices,
                    listed_charges,
                    customers,
                    routes,
                    contract_terms,
                    text_bytes: chunks * TEXT_CHUNK_BYTES,
                    failed_attempts,
                }
            },
        );
    prop_oneof![Just(Limits::default()), small]
}

/// What the steps did over every case, to show the test reaches every path.
#[derive(Debug, Default)]
struct Tally {
    applied: u64,
    duplicates: u64,
    dead_lettered: u64,
    invalid: u64,
    capacity: u64,
    steps: u64,
}

/// Runs one step; an error must be bad input or a capacity refusal that left no trace.
fn run(core: &mut Core, step: &Step, tally: &mut Tally) {
    let before = core.machine().summary();
    let result = match step {
        Step::Typed(entries) => core.ingest(entries, T0_US).map(drop),
        Step::Submit(entry) => core.submit(entry, T0_US).map(drop),
        Step::Wire(lines) => {
            let mut input = Vec::new();
            for l in lines {
                input.extend_from_slice(l);
                input.push(b'\n');
            }
            let mut raw = RawBatch::new();
            InputReader::new(&input[..])
                .read_batch(&mut raw, lines.len().max(1))
                .unwrap();
            core.ingest_raw(&raw, T0_US).map(drop)
        }
    };
    tally.steps += 1;
    if let Err(e) = result {
        match e.kind() {
            ErrorKind::BadInput => tally.invalid += 1,
            ErrorKind::Capacity => tally.capacity += 1,
            _ => panic!("unexpected error {e}"),
        }
        assert_eq!(
            core.machine().summary(),
            before,
            "a failed call changed the state: {e}"
        );
    }
    let c = core.machine().counters();
    assert!(c.conserved(), "{c:?}");
}

/// Every read path over a machine: summary, every view (and its JSON), the digest.
fn read_all(m: &Machine) -> Summary {
    let s = m.summary();
    serde_json::to_string(&s).unwrap();
    serde_json::to_value(&s).unwrap();
    assert_eq!(s.received, s.applied + s.duplicates + s.dead_lettered);
    for id in m.state().shipment_ids() {
        let v = m.state().shipment_view(id, m.sources()).unwrap();
        serde_json::to_string(&v).unwrap();
        serde_json::to_value(&v).unwrap();
    }
    for id in m.state().vehicle_ids() {
        serde_json::to_string(&m.state().vehicle_view(id).unwrap()).unwrap();
    }
    s
}

/// A history-style and dead-letter walk of the journal, then a reopen and a verify.
fn reread(dir: &Path, live: &Summary) {
    let mut dead = 0u64;
    let mut touched = 0u64;
    let replayed = replay_with(dir, Until::End, |v| match v.entry {
        EntryView::DeadLetter(dl) => {
            dead += 1;
            assert!(matches!(v.outcome, Outcome::DeadLettered(_)));
            assert!(dl.raw.len() as u64 <= dl.raw_len_bytes.to_native());
            let _ = (dl.detail.as_str(), dl.reason.native());
        }
        EntryView::Event(ev) => {
            touched += u64::from(ev.subject() < 6);
            let _ = (ev.id().to_string(), ev.source(), ev.event_type());
        }
        EntryView::Settings(_) => panic!("no settings record was written"),
        EntryView::Notice(_) => panic!("no notice record was written"),
    })
    .unwrap();
    assert_eq!(dead, live.dead_lettered);
    assert_eq!(&read_all(&replayed.machine), live);
    let check = |_kind, _payload: &[u8]| Ok(());
    let check: &PayloadCheck<'_> = &check;
    assert_eq!(verify(dir, check).unwrap().last_lsn, live.lsn);
    let core = Core::open(dir, opts()).unwrap();
    assert_eq!(&read_all(core.machine()), live);
    let _ = touched;
}

fn opts() -> JournalOptions {
    JournalOptions {
        durability: Durability::None,
        segment_bytes: 2 << 20,
        ..JournalOptions::default()
    }
}

fn one_case(limits: Limits, steps: &[Step], tally: &mut Tally) {
    let dir = tempfile::tempdir().unwrap();
    let mut core = Core::open(dir.path(), opts()).unwrap();
    core.set_limits(limits).unwrap();
    for step in steps {
        run(&mut core, step, tally);
    }
    let live = read_all(core.machine());
    tally.applied += live.applied;
    tally.duplicates += live.duplicates;
    tally.dead_lettered += live.dead_lettered;
    core.flush().unwrap();
    drop(core);
    reread(dir.path(), &live);
}

#[test]
fn hostile_input_never_breaks_the_journal() {
    use proptest::test_runner::{Config, TestRunner};
    let mut runner = TestRunner::new(Config {
        cases: 128,
        ..Config::default()
    });
    let tally = std::cell::RefCell::new(Tally::default());
    let strategy = (limits(), proptest::collection::vec(step(), 1..10));
    runner
        .run(&strategy, |(limits, steps)| {
            one_case(limits, &steps, &mut tally.borrow_mut());
            Ok(())
        })
        .unwrap();
    // Every outcome and every kind of refusal was reached (the generators are not too
    // hostile to ever get an event through, nor too tame to break a rule).
    let t = tally.into_inner();
    eprintln!("{t:?}");
    assert!(
        t.applied > 0 && t.duplicates > 0 && t.dead_lettered > 0 && t.invalid > 0 && t.capacity > 0,
        "{t:?}"
    );
}
