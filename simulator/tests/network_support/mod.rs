//! Hand-made worlds and scenarios for the network tests.
#![allow(dead_code)]

use waybill_core::event::{Body, ChargeKind, Contract, Event, GeoPoint, Pod, Stop};
use waybill_sim::scenario::Scenario;
use waybill_sim::world::{World, WorldEvent};

/// 2026-11-27T00:00:00Z, the start of every test scenario.
pub const START_US: i64 = 1_795_737_600_000_000;
pub const HOUR_US: i64 = 3_600_000_000;

/// A scenario starting at [`START_US`] with the given `[[fault]]` tables.
pub fn scenario(faults: &str) -> Scenario {
    let text = format!(
        "name = \"net\"\n[world]\nshipments = 10\nvehicles = 2\nstart = \"2026-11-27T00:00:00Z\"\nhorizon = \"24h\"\n{faults}"
    );
    Scenario::from_toml(&text).expect("scenario")
}

/// The sources of the test worlds: one ERP, one route engine, four vehicles, one billing engine.
pub const SOURCES: [&str; 7] = [
    "erp/main",
    "route/opt-1",
    "fleet/veh-1",
    "fleet/veh-2",
    "fleet/veh-3",
    "fleet/veh-4",
    "billing/engine",
];

/// A valid body of type number `k % 15`, varied by `i`, and the source it comes from.
pub fn body(k: usize, i: u64) -> (Body, &'static str) {
    let t = START_US + (i as i64) * 1_000_000;
    let point = GeoPoint {
        lat_ud: 52_000_000 + (i % 1000) as i32,
        lon_ud: -4_900_000 - (i % 777) as i32,
    };
    let fleet = SOURCES[2 + (i % 4) as usize];
    match k % 15 {
        0 => (
            Body::OrderCreated {
                customer_id: format!("cust-{}", i % 50),
                origin: point,
                destination: GeoPoint {
                    lat_ud: -33_000_000,
                    lon_ud: 151_000_000,
                },
                window_start_us: t,
                window_end_us: t + HOUR_US,
                weight_kg: (i % 2000) as u32,
                contract: Contract {
                    currency: *b"EUR",
                    base_cents: 10_000 + i as i64,
                    detention_free_min: 30,
                    detention_cents_per_hour: 6_000,
                },
            },
            "erp/main",
        ),
        1 => (
            Body::OrderAmended {
                order_version: 2 + (i % 3) as u32,
                window_start_us: i.is_multiple_of(2).then_some(t),
                window_end_us: i.is_multiple_of(3).then_some(t + 2 * HOUR_US),
                destination: i.is_multiple_of(5).then_some(point),
            },
            "erp/main",
        ),
        2 => (
            Body::OrderCancelled {
                reason: "customer \"changed\" mind, ünïcode".into(),
            },
            "erp/main",
        ),
        3 => (
            Body::InvoiceSettled {
                invoice_id: format!("inv-{i}"),
                amount_cents: 1 + i as i64,
            },
            "erp/main",
        ),
        4 => (
            Body::RoutePlanned {
                route_id: format!("r-{i}"),
                vehicle_id: i % 4,
                stop_index: (i % 20) as u16,
                eta_us: t + HOUR_US,
            },
            "route/opt-1",
        ),
        5 => (Body::EtaRevised { eta_us: t + 1_500 }, "route/opt-1"),
        6 => (
            Body::VehiclePosition {
                position: point,
                speed_kph_milli: (i % 120_000) as u32,
                heading_deg: None,
                accuracy_mm: None,
            },
            fleet,
        ),
        7 => (
            Body::StopArrived {
                stop: if i.is_multiple_of(2) {
                    Stop::Pickup
                } else {
                    Stop::Delivery
                },
            },
            fleet,
        ),
        8 => (
            Body::StopDeparted {
                stop: if i.is_multiple_of(2) {
                    Stop::Delivery
                } else {
                    Stop::Pickup
                },
            },
            fleet,
        ),
        9 => (Body::ShipmentPickedUp, fleet),
        10 => (
            Body::ShipmentDelivered {
                pod: match i % 3 {
                    0 => None,
                    1 => Some(Pod {
                        signed_by: "J. \\ Doe".into(),
                        photo_ref: None,
                    }),
                    _ => Some(Pod {
                        signed_by: "Kim".into(),
                        photo_ref: Some("s3://pods/1.jpg".into()),
                    }),
                },
            },
            fleet,
        ),
        11 => (
            Body::DeliveryFailed {
                reason: "nobody home".into(),
            },
            fleet,
        ),
        12 => (
            Body::ChargeAdded {
                charge_id: format!("ch-{}", i % 9),
                kind: ChargeKind::ALL[(i % 6) as usize],
                amount_cents: 1 + (i % 5000) as i64,
                currency: if i.is_multiple_of(7) {
                    *b"USD"
                } else {
                    *b"EUR"
                },
            },
            "billing/engine",
        ),
        13 => (
            Body::ChargeVoided {
                charge_id: format!("ch-{}", i % 9),
            },
            "billing/engine",
        ),
        _ => (
            Body::InvoiceIssued {
                invoice_id: format!("inv-{i}"),
                total_cents: 100 + i as i64,
                charge_ids: (0..(i % 4)).map(|c| format!("ch-{c}]")).collect(),
            },
            "billing/engine",
        ),
    }
}

/// `n` events over the first 20 hours, cycling through every type (and so every source),
/// emitted in order; each source numbers its events 1, 2, 3, ...
pub fn world(n: usize) -> World {
    let step = 20 * HOUR_US / n.max(1) as i64;
    let mut next_seq = std::collections::HashMap::<&str, u64>::new();
    let events = (0..n)
        .map(|i| {
            let (body, source) = body(i * 7 % 15, i as u64);
            let seq = next_seq.entry(source).or_insert(0);
            *seq += 1;
            let emit_us = START_US + i as i64 * step;
            let time_us = emit_us - (i as i64 % 5) * 1_000_000;
            let subject = if matches!(body, Body::VehiclePosition { .. }) {
                (i % 4) as u64
            } else {
                (i % 300) as u64
            };
            WorldEvent {
                emit_us,
                event: Event {
                    id: format!("{source}-{seq}"),
                    source: source.to_string(),
                    sequence: *seq,
                    time_us,
                    subject,
                    correlation_id: (i % 11 == 0).then(|| format!("corr-\"{i}\"")),
                    traceparent: (i % 13 == 0).then(|| {
                        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_string()
                    }),
                    body,
                },
            }
        })
        .collect();
    World {
        events,
        facts: Default::default(),
    }
}

/// The system part of a source.
pub fn system(source: &str) -> &str {
    source.split_once('/').unwrap().0
}
