//! Writes `examples/day.jsonl`: one small, hand-shaped logistics day as CloudEvents JSONL —
//! orders, routes, telematics, milestones, charges, invoices, settlements — with a few
//! late arrivals, duplicates and malformed lines, so that every outcome shows up.
//!
//! `cargo run -p waybill-core --example example_day > examples/day.jsonl`
//! (deterministic: the same bytes every run).

use std::io::Write;
use waybill_core::encode::encode_event;
use waybill_core::event::{Body, ChargeKind, Contract, Event, GeoPoint, Pod, Stop};
use waybill_core::time::{US_PER_MIN, parse_rfc3339_us};

/// splitmix64: a tiny deterministic generator, enough for an example file.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

struct Sources {
    seqs: std::collections::BTreeMap<String, u64>,
}
impl Sources {
    fn event(&mut self, source: &str, time_us: i64, subject: u64, body: Body) -> Event {
        let seq = self.seqs.entry(source.to_string()).or_insert(0);
        *seq += 1;
        Event {
            id: format!("{}-{}", source.replace('/', "-"), seq),
            source: source.to_string(),
            sequence: *seq,
            time_us,
            subject,
            correlation_id: None,
            traceparent: None,
            body,
        }
    }
}

fn main() {
    let day = parse_rfc3339_us("2026-11-27T00:00:00Z").expect("valid");
    let mut rng = Rng(20261127);
    let mut src = Sources {
        seqs: Default::default(),
    };
    let mut events: Vec<Event> = Vec::new();
    let shipments = 40u64;
    let vehicles = 5u64;
    for s in 1..=shipments {
        let created = day + (6 * 60 + s as i64 * 7) * US_PER_MIN;
        let origin = GeoPoint {
            lat_ud: 52_370_000 + rng.below(50_000) as i32,
            lon_ud: 4_890_000 + rng.below(50_000) as i32,
        };
        let dest = GeoPoint {
            lat_ud: 52_000_000 + rng.below(500_000) as i32,
            lon_ud: 4_300_000 + rng.below(900_000) as i32,
        };
        let win_start = created + 4 * 60 * US_PER_MIN;
        let win_end = win_start + 3 * 60 * US_PER_MIN;
        let contract = Contract {
            currency: *b"EUR",
            base_cents: 12_000 + s as i64 * 100,
            detention_free_min: 30,
            detention_cents_per_hour: 6_000,
        };
        events.push(src.event(
            "erp/main",
            created,
            s,
            Body::OrderCreated {
                customer_id: format!("cust-{}", 100 + s % 9),
                origin,
                destination: dest,
                window_start_us: win_start,
                window_end_us: win_end,
                weight_kg: 200 + (s as u32 * 37) % 900,
                contract,
            },
        ));
        let vehicle = 1 + s % vehicles;
        let eta = win_start + rng.below(120) as i64 * US_PER_MIN;
        events.push(src.event(
            "route/optimizer",
            created + 10 * US_PER_MIN,
            s,
            Body::RoutePlanned {
                route_id: format!("r-{vehicle}-am"),
                vehicle_id: vehicle,
                stop_index: (s % 8) as u16,
                eta_us: eta,
            },
        ));
        if s % 7 == 0 {
            events.push(src.event(
                "erp/main",
                created + 20 * US_PER_MIN,
                s,
                Body::OrderAmended {
                    order_version: 2,
                    window_start_us: None,
                    window_end_us: Some(win_end + 60 * US_PER_MIN),
                    destination: None,
                },
            ));
        }
        if s % 13 == 0 {
            events.push(src.event(
                "erp/main",
                created + 30 * US_PER_MIN,
                s,
                Body::OrderCancelled {
                    reason: "customer request".into(),
                },
            ));
            continue;
        }
        let fleet = format!("fleet/truck-{vehicle}");
        let pickup = created + 60 * US_PER_MIN;
        events.push(src.event(&fleet, pickup, s, Body::StopArrived { stop: Stop::Pickup }));
        events.push(src.event(&fleet, pickup + 15 * US_PER_MIN, s, Body::ShipmentPickedUp));
        events.push(src.event(
            &fleet,
            pickup + 20 * US_PER_MIN,
            s,
            Body::StopDeparted { stop: Stop::Pickup },
        ));
        events.push(src.event(
            "route/optimizer",
            pickup + 30 * US_PER_MIN,
            s,
            Body::EtaRevised {
                eta_us: eta + 15 * US_PER_MIN,
            },
        ));
        if s % 11 == 0 {
            events.push(src.event(
                &fleet,
                eta,
                s,
                Body::DeliveryFailed {
                    reason: "nobody home".into(),
                },
            ));
        }
        let arrive = eta + rng.below(40) as i64 * US_PER_MIN;
        let dwell_min = 10 + rng.below(90) as i64;
        events.push(src.event(
            &fleet,
            arrive,
            s,
            Body::StopArrived {
                stop: Stop::Delivery,
            },
        ));
        events.push(src.event(
            &fleet,
            arrive + dwell_min * US_PER_MIN,
            s,
            Body::StopDeparted {
                stop: Stop::Delivery,
            },
        ));
        events.push(src.event(
            &fleet,
            arrive + (dwell_min - 2) * US_PER_MIN,
            s,
            Body::ShipmentDelivered {
                pod: Some(Pod {
                    signed_by: format!("receiver {s}"),
                    photo_ref: (s % 3 == 0).then(|| format!("pod/{s}.jpg")),
                }),
            },
        ));
        let billed = arrive + (dwell_min + 30) * US_PER_MIN;
        let base_id = format!("ch-{s}-base");
        let fuel_id = format!("ch-{s}-fuel");
        let mut charge_ids = vec![base_id.clone(), fuel_id.clone()];
        events.push(src.event(
            "billing/engine",
            billed,
            s,
            Body::ChargeAdded {
                charge_id: base_id,
                kind: ChargeKind::Base,
                amount_cents: contract.base_cents,
                currency: *b"EUR",
            },
        ));
        events.push(src.event(
            "billing/engine",
            billed,
            s,
            Body::ChargeAdded {
                charge_id: fuel_id,
                kind: ChargeKind::Fuel,
                amount_cents: 1_500,
                currency: *b"EUR",
            },
        ));
        let detention_min = (dwell_min - 30).max(0);
        let mut total = contract.base_cents + 1_500;
        // Billing forgets the detention charge of every fifth shipment that has one: leakage.
        if detention_min > 0 && s % 5 != 0 {
            let id = format!("ch-{s}-det");
            let amount = detention_min * contract.detention_cents_per_hour / 60;
            if amount > 0 {
                events.push(src.event(
                    "billing/engine",
                    billed,
                    s,
                    Body::ChargeAdded {
                        charge_id: id.clone(),
                        kind: ChargeKind::Detention,
                        amount_cents: amount,
                        currency: *b"EUR",
                    },
                ));
                charge_ids.push(id);
                total += amount;
            }
        }
        let invoice_id = format!("inv-{s}");
        events.push(src.event(
            "billing/engine",
            billed + 60 * US_PER_MIN,
            s,
            Body::InvoiceIssued {
                invoice_id: invoice_id.clone(),
                total_cents: total,
                charge_ids,
            },
        ));
        let settled = if s % 9 == 0 { total - 500 } else { total };
        events.push(src.event(
            "erp/main",
            billed + 120 * US_PER_MIN,
            s,
            Body::InvoiceSettled {
                invoice_id,
                amount_cents: settled,
            },
        ));
    }
    // Telematics: a ping every 5 minutes per vehicle through the working day.
    for v in 1..=vehicles {
        let fleet = format!("fleet/truck-{v}");
        for k in 0..(12 * 12) {
            let t = day + (6 * 60 + k * 5) * US_PER_MIN;
            let position = GeoPoint {
                lat_ud: 52_000_000 + (k as i32 * 1_234 + v as i32 * 9_999) % 500_000,
                lon_ud: 4_300_000 + (k as i32 * 4_321) % 900_000,
            };
            events.push(src.event(
                &fleet,
                t,
                v,
                Body::VehiclePosition {
                    position,
                    speed_kph_milli: (rng.below(90_000)) as u32,
                    heading_deg: None,
                    accuracy_mm: None,
                },
            ));
        }
    }
    // Arrival order: by event time, with a few late arrivals.
    events.sort_by_key(|e| (e.time_us, e.source.clone(), e.sequence));
    for i in (0..events.len()).step_by(97) {
        let j = (i + 40).min(events.len() - 1);
        events.swap(i, j);
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut line = Vec::with_capacity(512);
    for (i, e) in events.iter().enumerate() {
        line.clear();
        encode_event(e, &mut line);
        line.push(b'\n');
        out.write_all(&line).expect("stdout");
        // Redelivered byte for byte now and then.
        if i % 50 == 25 {
            out.write_all(&line).expect("stdout");
        }
    }
    // Malformed deliveries: each is dead-lettered with its reason.
    let bad = [
        "this is not json",
        r#"{"specversion":"1.0","id":"x1","source":"erp/main","sequence":"999","type":"order.shipped","time":"2026-11-27T12:00:00Z","subject":"shipment/1","data":{}}"#,
        r#"{"specversion":"1.0","id":"x2","source":"fleet/truck-1","sequence":"998","type":"charge.added","time":"2026-11-27T12:00:00Z","subject":"shipment/1","data":{"charge_id":"c","kind":"base","amount_cents":5,"currency":"EUR"}}"#,
        r#"{"specversion":"1.0","id":"x3","source":"billing/engine","sequence":"997","type":"charge.added","time":"2026-11-27T12:00:00Z","subject":"shipment/1","data":{"charge_id":"c","kind":"base","amount_cents":-5,"currency":"EUR"}}"#,
        r#"{"specversion":"1.0","id":"x4","source":"billing/engine","type":"charge.voided","time":"2026-11-27T12:00:00Z","subject":"shipment/1","data":{"charge_id":"c"}}"#,
    ];
    for b in bad {
        writeln!(out, "{b}").expect("stdout");
    }
}
