//! The generated event stream: deterministic, valid for the core, numbered per source, sorted,
//! consistent with what the world says happened.

use std::collections::{BTreeMap, BTreeSet};
use waybill_core::decode::decode;
use waybill_core::encode::event_to_json;
use waybill_core::event::{Body, ChargeKind, Contract, Entry, EventType, Stop};
use waybill_sim::scenario::Scenario;
use waybill_sim::world::{World, generate};

const SMALL: &str = r#"
name = "small"
[world]
shipments = 400
vehicles = 8
depots = 2
start = "2026-11-27T00:00:00Z"
horizon = "14h"
ping_interval = "60s"
amend_share = 0.2
cancel_share = 0.1
failed_delivery_share = 0.1
[[world.demand]]
from = "2h"
to = "4h"
multiplier = 4.0
[billing]
detention_omission = 0.3
void_share = 0.1
dispute_share = 0.1
"#;

fn small() -> (Scenario, World) {
    let s = Scenario::from_toml(SMALL).unwrap();
    let w = generate(&s, 11);
    (s, w)
}

#[test]
fn same_seed_same_world_other_seed_other_world() {
    let s = Scenario::from_toml(SMALL).unwrap();
    let a = generate(&s, 5);
    let b = generate(&s, 5);
    assert_eq!(a.events, b.events);
    assert_eq!(a.facts, b.facts);
    let c = generate(&s, 6);
    assert_ne!(a.events, c.events);
}

#[test]
fn every_event_decodes_back_to_itself() {
    let (_, w) = small();
    assert!(w.events.len() > 2_000, "{}", w.events.len());
    for we in &w.events {
        let json = event_to_json(&we.event);
        match decode(json.as_bytes()) {
            Entry::Event(e) => assert_eq!(e, we.event, "{json}"),
            other => panic!("not decoded back: {other:?}: {json}"),
        }
    }
}

#[test]
fn sources_number_their_events_from_one_in_emit_order() {
    let (s, w) = small();
    let end = s.world.start_us + s.world.horizon_us;
    let mut next: BTreeMap<&str, u64> = BTreeMap::new();
    let mut ids = BTreeSet::new();
    for we in &w.events {
        let e = &we.event;
        let n = next.entry(e.source.as_str()).or_insert(1);
        assert_eq!(e.sequence, *n, "{}", e.source);
        *n += 1;
        assert!(ids.insert(e.id.clone()), "id {} reused", e.id);
        assert!(we.emit_us >= e.time_us, "{}", e.id);
        assert!(we.emit_us - e.time_us <= 2_000_000, "{}", e.id);
        assert!(we.emit_us <= end, "{} after the horizon", e.id);
        assert!(e.time_us >= s.world.start_us, "{}", e.id);
        // The owner emits; vehicle units name their own vehicle.
        let system = e.source.split('/').next().unwrap();
        assert_eq!(system, e.event_type().owner().as_str(), "{}", e.id);
        if e.event_type() == EventType::VehiclePosition {
            assert_eq!(e.source, format!("fleet/truck-{}", e.subject));
        }
    }
    let key = |i: usize| {
        let e = &w.events[i];
        (e.emit_us, e.event.source.as_bytes(), e.event.sequence)
    };
    assert!((1..w.events.len()).all(|i| key(i - 1) < key(i)), "sorted");
    // One ERP, one route engine, one billing engine, one unit per vehicle that moved.
    assert!(next.contains_key("erp/main"));
    assert!(next.contains_key("route/optimizer"));
    assert!(next.contains_key("billing/engine"));
    assert!(next.keys().filter(|k| k.starts_with("fleet/")).count() <= 8);
}

#[test]
fn exactly_the_requested_orders_in_creation_order() {
    let (s, w) = small();
    let created: Vec<(u64, i64)> = w
        .events
        .iter()
        .filter(|e| e.event.event_type() == EventType::OrderCreated)
        .map(|e| (e.event.subject, e.event.time_us))
        .collect();
    assert_eq!(created.len() as u64, s.world.shipments);
    assert_eq!(w.facts.shipments, s.world.shipments);
    let mut by_id = created.clone();
    by_id.sort();
    assert!(
        by_id
            .iter()
            .enumerate()
            .all(|(i, &(id, _))| id == i as u64 + 1)
    );
    assert!(
        by_id.windows(2).all(|p| p[0].1 <= p[1].1),
        "ids follow creation"
    );
    for we in &w.events {
        if let Body::OrderCreated {
            window_start_us,
            window_end_us,
            weight_kg,
            contract,
            ..
        } = &we.event.body
        {
            let lead = window_start_us - we.event.time_us;
            assert!((2 * 3_600_000_000..=8 * 3_600_000_000 + 60_000_000).contains(&lead));
            let width = window_end_us - window_start_us;
            assert!((2 * 3_600_000_000..=4 * 3_600_000_000).contains(&width));
            assert!(*weight_kg > 0);
            assert!(contract.base_cents > 0);
            assert!((30..=60).contains(&contract.detention_free_min));
            assert!((4000..=9000).contains(&contract.detention_cents_per_hour));
        }
    }
}

#[test]
fn pings_follow_moving_time() {
    let (s, w) = small();
    let interval_s = (s.world.ping_interval_us / 1_000_000) as u64;
    let mut per_vehicle: BTreeMap<u64, u64> = BTreeMap::new();
    for we in &w.events {
        if we.event.event_type() == EventType::VehiclePosition {
            *per_vehicle.entry(we.event.subject).or_default() += 1;
        }
    }
    assert_eq!(w.facts.per_vehicle.len(), 8);
    let mut total = 0;
    for v in &w.facts.per_vehicle {
        let pings = per_vehicle.get(&v.vehicle).copied().unwrap_or(0);
        assert_eq!(pings, v.pings);
        let expected = v.moving_s / interval_s;
        // Each leg starts and ends between two ticks: at most one ping more or less per leg.
        assert!(
            pings.abs_diff(expected) <= u64::from(v.legs) + 2,
            "vehicle {}: {pings} pings for {} s moving over {} legs",
            v.vehicle,
            v.moving_s,
            v.legs
        );
        assert!(v.tours > 0, "vehicle {} never went out", v.vehicle);
        total += pings;
    }
    assert_eq!(total, w.facts.pings);
    assert!(
        w.facts.pings > w.events.len() as u64 / 3,
        "telematics is the bulk"
    );
}

/// A shipment as its events tell it.
#[derive(Default)]
struct Story {
    contract: Option<Contract>,
    picked_up: Option<i64>,
    arrived: Option<i64>,
    departed: Option<i64>,
    delivered: Option<i64>,
    failed: u32,
    charges: BTreeMap<String, (ChargeKind, i64, [u8; 3])>,
    voided: BTreeSet<String>,
    invoices: Vec<(i64, Vec<String>)>,
}

fn stories(w: &World) -> BTreeMap<u64, Story> {
    let mut out: BTreeMap<u64, Story> = BTreeMap::new();
    for we in &w.events {
        let e = &we.event;
        if e.event_type() == EventType::VehiclePosition {
            continue;
        }
        let s = out.entry(e.subject).or_default();
        let t = Some(e.time_us);
        match &e.body {
            Body::OrderCreated { contract, .. } => s.contract = Some(*contract),
            Body::ShipmentPickedUp => s.picked_up = s.picked_up.max(t),
            Body::StopArrived {
                stop: Stop::Delivery,
            } => s.arrived = s.arrived.max(t),
            Body::StopDeparted {
                stop: Stop::Delivery,
            } => s.departed = s.departed.max(t),
            Body::ShipmentDelivered { .. } => s.delivered = s.delivered.max(t),
            Body::DeliveryFailed { .. } => s.failed += 1,
            Body::ChargeAdded {
                charge_id,
                kind,
                amount_cents,
                currency,
            } => {
                s.charges
                    .insert(charge_id.clone(), (*kind, *amount_cents, *currency));
            }
            Body::ChargeVoided { charge_id } => {
                s.voided.insert(charge_id.clone());
            }
            Body::InvoiceIssued {
                total_cents,
                charge_ids,
                ..
            } => s.invoices.push((*total_cents, charge_ids.clone())),
            _ => {}
        }
    }
    out
}

fn spec_detention(c: &Contract, arrived: i64, departed: i64) -> (i64, i64) {
    let minutes =
        ((departed - arrived).div_euclid(60_000_000) - i64::from(c.detention_free_min)).max(0);
    (minutes, minutes * c.detention_cents_per_hour / 60)
}

#[test]
fn milestones_and_billing_tell_a_consistent_story() {
    let (_, w) = small();
    let stories = stories(&w);
    let omitted: BTreeSet<u64> = w
        .facts
        .detention_omissions
        .iter()
        .map(|o| o.shipment)
        .collect();
    let mut invoiced = 0;
    for (id, s) in &stories {
        let c = s.contract.expect("every shipment has its order");
        if let Some(d) = s.delivered {
            let (a, p, dep) = (s.arrived.unwrap(), s.picked_up.unwrap(), s.departed);
            assert!(
                p < a && a < d,
                "shipment {id}: picked {p} arrived {a} delivered {d}"
            );
            if let Some(dep) = dep {
                assert!(d < dep, "shipment {id}: delivered just before departing");
            }
        }
        for (total, ids) in &s.invoices {
            invoiced += 1;
            let sum: i64 = ids
                .iter()
                .map(|i| {
                    assert!(!s.voided.contains(i), "shipment {id}: voided {i} invoiced");
                    s.charges[i].1
                })
                .sum();
            assert_eq!(*total, sum, "shipment {id}");
            // Every standing charge is on the invoice, in the contract's currency.
            let standing: BTreeSet<&String> = s
                .charges
                .keys()
                .filter(|k| !s.voided.contains(*k))
                .collect();
            assert_eq!(standing, ids.iter().collect(), "shipment {id}");
            assert!(s.charges.values().all(|ch| ch.2 == c.currency));
            let detention_billed: i64 = ids
                .iter()
                .filter(|i| s.charges[*i].0 == ChargeKind::Detention)
                .map(|i| s.charges[i].1)
                .sum();
            let (_, due) = spec_detention(&c, s.arrived.unwrap(), s.departed.unwrap());
            if omitted.contains(id) {
                assert!(due > 0);
                assert_eq!(detention_billed, 0, "shipment {id}");
            } else {
                assert_eq!(detention_billed, due, "shipment {id}");
            }
            assert!(ids.iter().any(|i| s.charges[i].0 == ChargeKind::Base));
            assert_eq!(
                ids.iter().any(|i| s.charges[i].0 == ChargeKind::Redelivery),
                s.failed > 0,
                "shipment {id}"
            );
        }
    }
    assert!(invoiced > 50, "{invoiced}");
    assert_eq!(w.facts.invoices, invoiced);
}

#[test]
fn omitted_detention_is_what_the_spec_computes() {
    let (_, w) = small();
    let stories = stories(&w);
    assert!(!w.facts.detention_omissions.is_empty());
    assert_eq!(
        w.facts.detention_omitted,
        w.facts.detention_omissions.len() as u64
    );
    let mut cents = 0;
    for o in &w.facts.detention_omissions {
        let s = &stories[&o.shipment];
        assert!(s.delivered.is_some());
        let (minutes, due) = spec_detention(
            &s.contract.unwrap(),
            s.arrived.unwrap(),
            s.departed.unwrap(),
        );
        assert_eq!((o.detention_minutes, o.cents), (minutes, due));
        assert!(due > 0);
        assert!(
            !s.charges.values().any(|c| c.0 == ChargeKind::Detention),
            "shipment {}",
            o.shipment
        );
        cents += due;
    }
    assert_eq!(w.facts.detention_omitted_cents, cents);
    // Due = delivered with a dwell past the free minutes.
    let due = stories
        .values()
        .filter(|s| {
            s.delivered.is_some()
                && s.departed.is_some()
                && spec_detention(
                    &s.contract.unwrap(),
                    s.arrived.unwrap(),
                    s.departed.unwrap(),
                )
                .0 > 0
        })
        .count() as u64;
    assert_eq!(w.facts.detention_due, due);
}

/// Odd corners of the scenario space still give valid, well-numbered streams.
#[test]
fn edge_worlds_stay_valid() {
    let cases = [
        // One order, one truck, one hour.
        "shipments = 1\nvehicles = 1\nhorizon = \"1h\"\n",
        // More trucks than orders, more depots than trucks.
        "shipments = 30\nvehicles = 5\ndepots = 9\nhorizon = \"12h\"\n",
        // Near the pole and the antimeridian, a wide region, slow roads, long pings.
        "shipments = 60\nvehicles = 3\nhorizon = \"1d\"\nping_interval = \"7m\"\nspeed_kph = 5\n[world.region]\nlat = 80.0\nlon = 179.0\nradius_km = 500.0\n",
        // Everything amended, cancelled and failing; a short burst.
        "shipments = 80\nvehicles = 4\nhorizon = \"10h\"\namend_share = 1.0\ncancel_share = 1.0\nfailed_delivery_share = 1.0\n[[world.demand]]\nfrom = \"1h\"\nto = \"1h1m\"\nmultiplier = 500.0\n",
    ];
    for (i, case) in cases.iter().enumerate() {
        let text = format!("name = \"edge\"\n[world]\nstart = \"2026-11-27T00:00:00Z\"\n{case}");
        let s = Scenario::from_toml(&text).unwrap();
        let w = generate(&s, i as u64);
        let mut next: BTreeMap<&str, u64> = BTreeMap::new();
        for we in &w.events {
            let json = event_to_json(&we.event);
            assert!(
                matches!(decode(json.as_bytes()), Entry::Event(ref e) if *e == we.event),
                "case {i}: {json}"
            );
            let n = next.entry(we.event.source.as_str()).or_insert(1);
            assert_eq!(we.event.sequence, *n, "case {i}");
            *n += 1;
        }
        assert_eq!(w.facts.shipments, s.world.shipments, "case {i}");
    }
}
