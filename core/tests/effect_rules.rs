//! The effect rules of docs/effects.md, case by case: events (with their ingest times) through
//! a machine that collects effects, and the effects each case must derive, in order.

mod state_support;

use rkyv::util::AlignedVec;
use serde_json::Value;
use state_support::*;
use waybill_core::effect::{EffectBuf, SlaTargets, render};
use waybill_core::event::{ChargeKind, Entry, Event, Settings, Stop};
use waybill_core::machine::Machine;
use waybill_core::record;

const ERP: &str = "erp/sap";
const ROUTE: &str = "route/opt";
const FLEET: &str = "fleet/truck-1";
const BILL: &str = "billing/engine";

/// One record of a case: an event ingested at `T0 + minutes`, or a settings change.
enum Rec {
    At(i64, Event),
    Set(Settings),
}

/// Steps `recs` through a fresh machine, collecting, and returns every effect rendered.
fn run(recs: &[Rec]) -> Vec<Value> {
    let mut m = Machine::new();
    m.collect_effects(true);
    let mut out = Vec::new();
    let mut buf = EffectBuf::new();
    for (i, r) in recs.iter().enumerate() {
        let (entry, ingest_us) = match r {
            Rec::At(min, e) => (Entry::Event(e.clone()), m_us(*min)),
            Rec::Set(s) => (Entry::Settings(*s), T0_US),
        };
        let (bytes, kind) = record::encode_entry(&entry, AlignedVec::new()).unwrap();
        m.step(i as u64 + 1, ingest_us, record::read(kind, &bytes).unwrap());
        m.take_effects(&mut buf);
        for e in buf.effects() {
            let o = render(&buf, e, m.sources());
            assert_eq!(o.seq, e.seq);
            out.push(serde_json::from_slice::<Value>(&o.json).unwrap());
        }
    }
    let seqs: Vec<u64> = out
        .iter()
        .map(|v| v["effectseq"].as_u64().unwrap())
        .collect();
    assert_eq!(
        seqs,
        (1..=out.len() as u64).collect::<Vec<_>>(),
        "contiguous effect_seq"
    );
    assert_eq!(m.effect_seq(), out.len() as u64);
    out
}

fn m_us(minutes: i64) -> i64 {
    m(minutes)
}

fn types(effects: &[Value]) -> Vec<String> {
    effects
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["type"].as_str().unwrap(),
                e["subject"].as_str().unwrap()
            )
        })
        .collect()
}

/// An event of `source` with sequence `seq`, at event time `T0 + minutes`, about shipment 1.
fn ev(source: &str, seq: u64, minutes: i64, body: waybill_core::event::Body) -> Event {
    event(source, seq, m(minutes), 1, body)
}

/// Ordered, routed shipment 1 (window 0..600 minutes), ingested at once.
fn routed() -> Vec<Rec> {
    vec![
        Rec::At(0, ev(ERP, 1, 0, created(0, 600))),
        Rec::At(1, ev(ROUTE, 1, 1, planned("r1", 7, 1, 300))),
    ]
}

fn with(mut base: Vec<Rec>, more: Vec<Rec>) -> Vec<Rec> {
    base.extend(more);
    base
}

#[test]
fn each_rule_derives_its_effects_in_order() {
    let delivered_late = vec![Rec::At(700, ev(FLEET, 1, 700, delivered(Some("ann"))))];
    let cases: Vec<(&str, Vec<Rec>, Vec<&str>)> = vec![
        (
            "an ordered, routed shipment derives nothing",
            routed(),
            vec![],
        ),
        (
            "a window change of a routed shipment asks for a replan",
            with(
                routed(),
                vec![Rec::At(2, ev(ERP, 2, 2, amended(2, Some(60), None, None)))],
            ),
            vec!["route.replan_requested shipment/1"],
        ),
        (
            "a destination change too",
            with(
                routed(),
                vec![Rec::At(
                    2,
                    ev(ERP, 2, 2, amended(2, None, None, Some(geo(1, 2)))),
                )],
            ),
            vec!["route.replan_requested shipment/1"],
        ),
        (
            "a cancellation of a routed shipment",
            with(routed(), vec![Rec::At(2, ev(ERP, 2, 2, cancelled()))]),
            vec!["route.replan_requested shipment/1"],
        ),
        (
            "an amendment before routing asks for nothing",
            vec![
                Rec::At(0, ev(ERP, 1, 0, created(0, 600))),
                Rec::At(2, ev(ERP, 2, 2, amended(2, Some(60), None, None))),
            ],
            vec![],
        ),
        (
            "a late delivery without charges: late, confirmed to billing, base leaks",
            with(routed(), delivered_late),
            vec![
                "alert.late_delivery shipment/1",
                "billing.delivery_confirmed shipment/1",
                "alert.leakage shipment/1",
            ],
        ),
        (
            "an event before the order flags the orphan",
            vec![Rec::At(0, ev(FLEET, 1, 0, picked_up()))],
            vec!["alert.anomaly shipment/1"],
        ),
        (
            "a charge in another currency",
            vec![
                Rec::At(0, ev(ERP, 1, 0, created(0, 600))),
                Rec::At(1, ev(BILL, 1, 1, charge("c1", ChargeKind::Fuel, 100, EUR))),
            ],
            vec!["alert.anomaly shipment/1"],
        ),
        (
            "a billed, invoiced, delivered shipment is ready for the ERP",
            vec![
                Rec::At(0, ev(ERP, 1, 0, created(0, 600))),
                Rec::At(
                    1,
                    ev(BILL, 1, 1, charge("c1", ChargeKind::Base, 10_000, USD)),
                ),
                Rec::At(2, ev(BILL, 2, 2, invoice("inv-1", 10_000, &["c1"]))),
                Rec::At(100, ev(FLEET, 1, 100, delivered(Some("ann")))),
            ],
            vec![
                "billing.delivery_confirmed shipment/1",
                "erp.invoice_ready shipment/1",
            ],
        ),
        (
            "the same delivery again derives nothing; a later time confirms again",
            vec![
                Rec::At(0, ev(ERP, 1, 0, created(0, 600))),
                Rec::At(
                    1,
                    ev(BILL, 1, 1, charge("c1", ChargeKind::Base, 10_000, USD)),
                ),
                Rec::At(100, ev(FLEET, 1, 100, delivered(Some("ann")))),
                Rec::At(101, ev(FLEET, 2, 100, delivered(Some("ann")))),
                Rec::At(102, ev(FLEET, 3, 110, delivered(Some("ann")))),
            ],
            vec![
                "billing.delivery_confirmed shipment/1",
                "billing.delivery_confirmed shipment/1",
            ],
        ),
        (
            "detention after the delivery confirms again and leaks",
            vec![
                Rec::At(0, ev(ERP, 1, 0, created(0, 600))),
                Rec::At(
                    1,
                    ev(BILL, 1, 1, charge("c1", ChargeKind::Base, 10_000, USD)),
                ),
                Rec::At(100, ev(FLEET, 1, 100, delivered(Some("ann")))),
                Rec::At(101, ev(FLEET, 2, 90, arrived(Stop::Delivery))),
                Rec::At(300, ev(FLEET, 3, 300, departed(Stop::Delivery))),
            ],
            vec![
                "billing.delivery_confirmed shipment/1",
                "billing.delivery_confirmed shipment/1",
                "alert.leakage shipment/1",
            ],
        ),
    ];
    for (what, recs, want) in cases {
        assert_eq!(types(&run(&recs)), want, "{what}");
    }
}

#[test]
fn a_new_missing_range_alerts_once_and_a_late_arrival_does_not() {
    let pos = |seq| Rec::At(0, event(FLEET, seq, m(0), 9, position(1, 1, 0)));
    let got = run(&[pos(1), pos(4), pos(3), pos(2), pos(7)]);
    let ranges: Vec<(u64, u64)> = got
        .iter()
        .map(|e| {
            (
                e["data"]["first"].as_u64().unwrap(),
                e["data"]["last"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(ranges, [(2, 3), (5, 6)]);
    assert_eq!(got[0]["subject"], "source/fleet/truck-1");
    assert_eq!(got[0]["data"]["missing"], 2);
}

#[test]
fn sla_targets_come_from_settings_records_and_breach_once() {
    let targets = Settings {
        order_to_dispatch_min: Some(60),
        invoice_cycle_min: Some(1440),
        pod_propagation_min: Some(30),
    };
    let recs = vec![
        Rec::Set(targets),
        Rec::At(0, ev(ERP, 1, 0, created(0, 6000))),
        Rec::At(1, ev(ROUTE, 1, 1, planned("r1", 7, 1, 300))),
        // Picked up 120 minutes after the order: past the 60-minute target.
        Rec::At(120, ev(FLEET, 1, 120, picked_up())),
        Rec::At(121, ev(FLEET, 2, 121, picked_up())),
        // Received 45 minutes after it happened: past the 30-minute target.
        Rec::At(245, ev(FLEET, 3, 200, delivered(Some("ann")))),
    ];
    let got = run(&recs);
    let sla: Vec<(&str, i64)> = got
        .iter()
        .filter(|e| e["type"] == "alert.sla_breached")
        .map(|e| {
            (
                e["data"]["measure"].as_str().unwrap(),
                e["data"]["minutes"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(sla, [("order_to_dispatch", 120), ("pod_propagation", 45)]);
    // Without targets, nothing breaches.
    let none: Vec<Rec> = recs.into_iter().skip(1).collect();
    assert!(
        !types(&run(&none))
            .iter()
            .any(|t| t.starts_with("alert.sla_breached"))
    );
    assert_eq!(SlaTargets::default().order_to_dispatch_min, None);
}

#[test]
fn keys_follow_the_facts_and_carry_the_cause() {
    let amend = |seq, start| {
        Rec::At(
            2,
            ev(ERP, seq, 2, amended(seq as u32, Some(start), None, None)),
        )
    };
    let a = run(&with(routed(), vec![amend(2, 60)]));
    let b = run(&with(routed(), vec![amend(2, 60)]));
    let c = run(&with(routed(), vec![amend(2, 61)]));
    assert_eq!(a[0]["id"], b[0]["id"], "the same facts give the same key");
    assert_ne!(a[0]["id"], c[0]["id"], "another window gives another key");
    assert_eq!(a[0]["id"].as_str().unwrap().len(), 32);
    assert_eq!(a[0]["causelsn"], 3);
    assert_eq!(a[0]["time"], mt(2));
    assert_eq!(a[0]["data"]["window_start"], mt(60));
    assert_eq!(a[0]["data"]["vehicle_id"], 7);

    let mut traced = ev(ERP, 2, 2, cancelled());
    traced.correlation_id = Some("order-42".into());
    traced.traceparent = Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".into());
    let d = run(&with(routed(), vec![Rec::At(2, traced)]));
    assert_eq!(d[0]["correlationid"], "order-42");
    assert_eq!(d[0]["data"]["cancelled"], true);
    assert!(d[0]["traceparent"].as_str().unwrap().starts_with("00-0af7"));
}

#[test]
fn counting_without_collecting_numbers_the_same_effects() {
    let recs = with(
        routed(),
        vec![
            Rec::At(2, ev(ERP, 2, 2, amended(2, Some(60), None, None))),
            Rec::At(700, ev(FLEET, 1, 700, delivered(None))),
        ],
    );
    let collected = run(&recs).len() as u64;
    let mut m = Machine::new();
    for (i, r) in recs.iter().enumerate() {
        let Rec::At(min, e) = r else { unreachable!() };
        let (bytes, kind) =
            record::encode_entry(&Entry::Event(e.clone()), AlignedVec::new()).unwrap();
        m.step(
            i as u64 + 1,
            m_us(*min),
            record::read(kind, &bytes).unwrap(),
        );
    }
    assert!(collected >= 3);
    assert_eq!(m.effect_seq(), collected);
    assert!(m.effects().is_empty());
}
