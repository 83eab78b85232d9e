//! The world's distributions on a medium world: demand shape, the configured shares of
//! amended, cancelled and failed orders and of forgotten detention, and dock dwell times.

use std::collections::{BTreeMap, BTreeSet};
use waybill_core::event::{Body, EventType, Stop};
use waybill_sim::scenario::Scenario;
use waybill_sim::world::{World, generate};

const HOUR_US: i64 = 3_600_000_000;

const MEDIUM: &str = r#"
name = "medium"
[world]
shipments = 3000
vehicles = 150
depots = 3
start = "2026-11-27T00:00:00Z"
horizon = "24h"
ping_interval = "5m"
amend_share = 0.2
cancel_share = 0.1
failed_delivery_share = 0.1
[[world.demand]]
from = "8h"
to = "10h"
multiplier = 10.0
[billing]
detention_omission = 0.2
void_share = 0.05
dispute_share = 0.05
"#;

fn medium() -> (Scenario, World) {
    let s = Scenario::from_toml(MEDIUM).unwrap();
    let w = generate(&s, 2026);
    (s, w)
}

/// Creation offset (from start) of every order, by shipment id.
fn created(s: &Scenario, w: &World) -> BTreeMap<u64, i64> {
    w.events
        .iter()
        .filter(|e| e.event.event_type() == EventType::OrderCreated)
        .map(|e| (e.event.subject, e.event.time_us - s.world.start_us))
        .collect()
}

fn subjects_of(w: &World, ty: EventType) -> BTreeSet<u64> {
    w.events
        .iter()
        .filter(|e| e.event.event_type() == ty)
        .map(|e| e.event.subject)
        .collect()
}

fn share(hit: &BTreeSet<u64>, among: &BTreeSet<u64>) -> f64 {
    among.iter().filter(|id| hit.contains(id)).count() as f64 / among.len() as f64
}

#[test]
fn distributions_match_the_scenario() {
    let (s, w) = medium();
    let created = created(&s, &w);

    // Demand: the x10 window creates orders ten times as fast.
    let inside = created
        .values()
        .filter(|&&t| (8 * HOUR_US..10 * HOUR_US).contains(&t))
        .count() as f64;
    let outside = created.len() as f64 - inside;
    let ratio = (inside / 2.0) / (outside / 22.0);
    assert!((8.5..=11.5).contains(&ratio), "rate ratio {ratio}");

    // Amendments come before the window (at most 8 h after creation), cancellations at most
    // 14 h after: count among orders old enough for all of theirs to be in the stream.
    let old = |h: i64| -> BTreeSet<u64> {
        created
            .iter()
            .filter(|&(_, &t)| t < s.world.horizon_us - h * HOUR_US)
            .map(|(&id, _)| id)
            .collect()
    };
    let amended = share(&subjects_of(&w, EventType::OrderAmended), &old(9));
    assert!((amended - 0.2).abs() < 0.035, "amended share {amended}");
    let cancelled = share(&subjects_of(&w, EventType::OrderCancelled), &old(15));
    assert!(
        (cancelled - 0.1).abs() < 0.03,
        "cancelled share {cancelled}"
    );

    // Failed first attempts among shipments that had an attempt.
    let failed = subjects_of(&w, EventType::DeliveryFailed);
    let attempted: BTreeSet<u64> = subjects_of(&w, EventType::ShipmentDelivered)
        .union(&failed)
        .copied()
        .collect();
    assert!(attempted.len() > 1000, "{}", attempted.len());
    let failed_share = share(&failed, &attempted);
    assert!(
        (failed_share - 0.1).abs() < 0.03,
        "failed share {failed_share}"
    );

    // Forgotten detention among the due ones.
    let f = &w.facts;
    assert!(f.detention_due > 200, "{}", f.detention_due);
    let omitted = f.detention_omitted as f64 / f.detention_due as f64;
    assert!((omitted - 0.2).abs() < 0.06, "omission share {omitted}");
    assert!(f.voided_charges > 0 && f.disputed_settlements > 0);
    assert!(f.amendments >= subjects_of(&w, EventType::OrderAmended).len() as u64);
    assert!(f.redeliveries > 0 && f.replans > 0 && f.eta_revisions > 0);
    assert!(
        f.delivered_and_cancelled > 0,
        "some cancelled after delivery"
    );
}

#[test]
fn dock_dwell_is_heavy_tailed_around_half_an_hour() {
    let (_, w) = medium();
    let f = &w.facts;
    // Dock wait: median about 25 min, a tail past 2 h.
    let p50_min = f.dock_wait_p50_s / 60;
    assert!((18..=40).contains(&p50_min), "dock wait p50 {p50_min} min");
    assert!(
        f.dock_wait_p99_s > 100 * 60,
        "dock wait p99 {} s",
        f.dock_wait_p99_s
    );
    // Dwell as the events show it (arrival to departure of successful deliveries).
    let mut arrived: BTreeMap<u64, i64> = BTreeMap::new();
    let mut dwell_min: Vec<i64> = Vec::new();
    // Delivered so far: a fleet unit reports the delivery before leaving the dock.
    let mut delivered: BTreeSet<u64> = BTreeSet::new();
    for we in &w.events {
        let e = &we.event;
        match e.body {
            Body::StopArrived {
                stop: Stop::Delivery,
            } => {
                arrived.insert(e.subject, e.time_us);
            }
            Body::ShipmentDelivered { .. } => {
                delivered.insert(e.subject);
            }
            Body::StopDeparted {
                stop: Stop::Delivery,
            } if delivered.contains(&e.subject) => {
                if let Some(a) = arrived.get(&e.subject) {
                    dwell_min.push((e.time_us - a) / 60_000_000);
                }
            }
            _ => {}
        }
    }
    dwell_min.sort_unstable();
    let median = dwell_min[dwell_min.len() / 2];
    assert!((25..=55).contains(&median), "dwell median {median} min");
    let over_2h = dwell_min.iter().filter(|&&m| m > 120).count();
    assert!(over_2h > 0, "a tail past 2 h");
    assert!(
        (over_2h as f64) < 0.1 * dwell_min.len() as f64,
        "{over_2h} of {}",
        dwell_min.len()
    );
}

#[test]
fn most_deliveries_land_in_their_window() {
    let (_, w) = medium();
    let f = &w.facts;
    assert!(f.deliveries > 1500, "{}", f.deliveries);
    let on_time = f.on_time_deliveries as f64 / f.deliveries as f64;
    assert!(on_time > 0.5, "on time {on_time}");
}

#[test]
#[ignore = "prints the facts and lateness of the medium world"]
fn print_medium() {
    let (_, w) = medium();
    let mut f = w.facts.clone();
    f.detention_omissions.clear();
    println!("{}", serde_json::to_string_pretty(&f).unwrap());
    let mut win: BTreeMap<u64, (u32, i64, i64)> = BTreeMap::new();
    let mut early = 0;
    let mut late = Vec::new();
    for we in &w.events {
        let e = &we.event;
        match &e.body {
            Body::OrderCreated {
                window_start_us,
                window_end_us,
                ..
            } => {
                win.insert(e.subject, (1, *window_start_us, *window_end_us));
            }
            Body::OrderAmended {
                order_version,
                window_start_us: Some(a),
                window_end_us: Some(b),
                ..
            } => {
                let x = win.get_mut(&e.subject).unwrap();
                if *order_version > x.0 {
                    *x = (*order_version, *a, *b);
                }
            }
            Body::ShipmentDelivered { .. } => {
                let x = win[&e.subject];
                if e.time_us < x.1 {
                    early += 1;
                }
                if e.time_us > x.2 {
                    late.push((e.time_us - x.2) / 60_000_000);
                }
            }
            _ => {}
        }
    }
    late.sort();
    println!(
        "early {early} late {} median late {} min p90 {}",
        late.len(),
        late[late.len() / 2],
        late[late.len() * 9 / 10]
    );
}
