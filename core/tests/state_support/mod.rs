//! Builders for typed events and a helper that applies them through their archived form,
//! shared by the state tests.
#![allow(dead_code)]

use waybill_core::event::{
    ArchivedEvent, Body, ChargeKind, Contract, DeadLetter, DeadLetterReason, Entry, Event,
    GeoPoint, Pod, Stop,
};
use waybill_core::journal::{Durability, JournalOptions};
use waybill_core::source::{EventKey, Sources};
use waybill_core::state::State;
use waybill_core::time::{US_PER_MIN, format_rfc3339_us};

/// 2026-11-27T08:00:00Z, the origin of test times.
pub const T0_US: i64 = 1_795_766_400_000_000;

/// `T0 + minutes`.
pub fn m(minutes: i64) -> i64 {
    T0_US + minutes * US_PER_MIN
}

/// The RFC 3339 text of `T0 + minutes`.
pub fn mt(minutes: i64) -> String {
    format_rfc3339_us(m(minutes))
}

pub fn event(source: &str, sequence: u64, time_us: i64, subject: u64, body: Body) -> Event {
    Event {
        id: format!("{source}#{sequence}"),
        source: source.to_string(),
        sequence,
        time_us,
        subject,
        correlation_id: None,
        traceparent: None,
        body,
    }
}

/// Applies `event` the way the core does: archived bytes, interned source, key.
pub fn apply(state: &mut State, sources: &mut Sources, event: &Event) {
    let bytes = rkyv::to_bytes::<rkyv::rancor::Error>(event).expect("serialize");
    let archived =
        rkyv::access::<ArchivedEvent, rkyv::rancor::Error>(&bytes).expect("access archived");
    let key = EventKey {
        time_us: event.time_us,
        source: sources.intern(&event.source),
        sequence: event.sequence,
    };
    state.apply(archived, key, sources);
}

/// A fresh state with `pre_interned` sources interned first (in that order), then `events`
/// applied in order.
pub fn build(pre_interned: &[&str], events: &[Event]) -> (State, Sources) {
    let mut sources = Sources::new();
    for s in pre_interned {
        sources.intern(s);
    }
    let mut state = State::new();
    for e in events {
        apply(&mut state, &mut sources, e);
    }
    (state, sources)
}

pub const USD: [u8; 3] = *b"USD";
pub const EUR: [u8; 3] = *b"EUR";

/// The contract of [`created`]: USD, base 10000, 60 free minutes, 6000 cents per hour.
pub fn contract() -> Contract {
    Contract {
        currency: USD,
        base_cents: 10_000,
        detention_free_min: 60,
        detention_cents_per_hour: 6_000,
    }
}

pub fn geo(lat_ud: i32, lon_ud: i32) -> GeoPoint {
    GeoPoint { lat_ud, lon_ud }
}

/// `order.created` with window [`m(start)`, `m(end)`] and [`contract`].
pub fn created(start: i64, end: i64) -> Body {
    created_with("cust-1", start, end, contract())
}

pub fn created_with(customer: &str, start: i64, end: i64, contract: Contract) -> Body {
    Body::OrderCreated {
        customer_id: customer.to_string(),
        origin: geo(52_520_008, 13_404_954),
        destination: geo(48_856_613, 2_352_222),
        window_start_us: m(start),
        window_end_us: m(end),
        weight_kg: 1200,
        contract,
    }
}

pub fn amended(version: u32, start: Option<i64>, end: Option<i64>, dest: Option<GeoPoint>) -> Body {
    Body::OrderAmended {
        order_version: version,
        window_start_us: start.map(m),
        window_end_us: end.map(m),
        destination: dest,
    }
}

pub fn cancelled() -> Body {
    Body::OrderCancelled {
        reason: "customer".to_string(),
    }
}

pub fn settled(invoice: &str, amount_cents: i64) -> Body {
    Body::InvoiceSettled {
        invoice_id: invoice.to_string(),
        amount_cents,
    }
}

pub fn planned(route: &str, vehicle: u64, stop_index: u16, eta: i64) -> Body {
    Body::RoutePlanned {
        route_id: route.to_string(),
        vehicle_id: vehicle,
        stop_index,
        eta_us: m(eta),
    }
}

pub fn eta(at: i64) -> Body {
    Body::EtaRevised { eta_us: m(at) }
}

pub fn arrived(stop: Stop) -> Body {
    Body::StopArrived { stop }
}

pub fn departed(stop: Stop) -> Body {
    Body::StopDeparted { stop }
}

pub fn picked_up() -> Body {
    Body::ShipmentPickedUp
}

pub fn delivered(signed_by: Option<&str>) -> Body {
    Body::ShipmentDelivered {
        pod: signed_by.map(|s| Pod {
            signed_by: s.to_string(),
            photo_ref: Some(format!("photo-{s}")),
        }),
    }
}

pub fn failed() -> Body {
    Body::DeliveryFailed {
        reason: "nobody home".to_string(),
    }
}

pub fn charge(id: &str, kind: ChargeKind, amount_cents: i64, currency: [u8; 3]) -> Body {
    Body::ChargeAdded {
        charge_id: id.to_string(),
        kind,
        amount_cents,
        currency,
    }
}

pub fn void(id: &str) -> Body {
    Body::ChargeVoided {
        charge_id: id.to_string(),
    }
}

pub fn invoice(id: &str, total_cents: i64, charge_ids: &[&str]) -> Body {
    Body::InvoiceIssued {
        invoice_id: id.to_string(),
        total_cents,
        charge_ids: charge_ids.iter().map(|s| s.to_string()).collect(),
    }
}

pub fn position(lat_ud: i32, lon_ud: i32, speed_kph_milli: u32) -> Body {
    position_v2(lat_ud, lon_ud, speed_kph_milli, None, None)
}

/// A position with what only version 2 carries: a heading and an accuracy.
pub fn position_v2(
    lat_ud: i32,
    lon_ud: i32,
    speed_kph_milli: u32,
    heading_deg: Option<u16>,
    accuracy_mm: Option<u32>,
) -> Body {
    Body::VehiclePosition {
        position: geo(lat_ud, lon_ud),
        speed_kph_milli,
        heading_deg,
        accuracy_mm,
    }
}

// Random event sets for the convergence and replay laws.

use proptest::prelude::*;
use std::collections::HashMap;
use waybill_core::event::EventType;

pub const SHIPMENTS: u64 = 4;
pub const VEHICLES: u64 = 3;
pub const CHARGE_IDS: [&str; 3] = ["c1", "c2", "c3"];
pub const INVOICE_IDS: [&str; 3] = ["i1", "i2", "i3"];

/// One generated event before sequences are assigned: a type, a few knobs and a colliding time.
#[derive(Debug, Clone)]
pub struct Raw {
    pub kind: usize,
    pub subject: u64,
    pub source: usize,
    pub minute: i64,
    pub micro: i64,
    pub a: u8,
    pub b: u8,
    pub c: u8,
}

pub fn raw() -> impl Strategy<Value = Raw> {
    (
        0..EventType::ALL.len(),
        1..=SHIPMENTS,
        0..3usize,
        0..4i64,
        0..2i64,
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
    )
        .prop_map(|(kind, subject, source, minute, micro, a, b, c)| Raw {
            kind,
            subject,
            source,
            minute,
            micro,
            a,
            b,
            c,
        })
}

pub fn body(r: &Raw) -> Body {
    let (a, b, c) = (r.a as i64, r.b as i64, r.c as i64);
    let pick = |ids: &[&str], i: i64| ids[i as usize % ids.len()].to_string();
    match EventType::ALL[r.kind] {
        EventType::OrderCreated => {
            let start = a % 5 * 10;
            created_with(
                ["k1", "k2"][a as usize % 2],
                start,
                start + b % 3 * 60,
                Contract {
                    currency: [USD, EUR][c as usize % 2],
                    base_cents: a % 3 * 1000,
                    detention_free_min: (b % 2 * 30) as u32,
                    detention_cents_per_hour: c % 3 * 3000,
                },
            )
        }
        EventType::OrderAmended => amended(
            2 + (a % 3) as u32,
            (b & 1 != 0).then_some(c % 4 * 10),
            (b & 2 != 0).then_some(100 + c % 3 * 10),
            (b & 4 != 0).then_some(geo(a as i32 * 1000, -(c as i32) * 1000)),
        ),
        EventType::OrderCancelled => cancelled(),
        EventType::InvoiceSettled => {
            settled(&pick(&INVOICE_IDS, a), [100, 150, 250][b as usize % 3])
        }
        EventType::RoutePlanned => planned(
            &pick(&["r1", "r2"], a),
            (b % 3 + 1) as u64,
            (c % 4) as u16,
            a % 7 * 10,
        ),
        EventType::EtaRevised => eta(b % 7 * 10),
        EventType::VehiclePosition => position_v2(
            a as i32 * 1000,
            -(b as i32) * 1000,
            c as u32 * 500,
            (c % 3 == 0).then_some((b % 360) as u16),
            (c % 2 == 0).then_some((a % 1000) as u32 * 250),
        ),
        EventType::StopArrived => arrived([Stop::Pickup, Stop::Delivery][a as usize % 2]),
        EventType::StopDeparted => departed([Stop::Pickup, Stop::Delivery][a as usize % 2]),
        EventType::ShipmentPickedUp => picked_up(),
        EventType::ShipmentDelivered => delivered([None, Some("ann"), Some("bob")][a as usize % 3]),
        EventType::DeliveryFailed => failed(),
        EventType::ChargeAdded => charge(
            &pick(&CHARGE_IDS, a),
            ChargeKind::ALL[b as usize % ChargeKind::ALL.len()],
            [100, 50, 150][c as usize % 3],
            [USD, USD, EUR][c as usize % 3],
        ),
        EventType::ChargeVoided => void(&pick(&CHARGE_IDS, a)),
        EventType::InvoiceIssued => {
            let listed: Vec<&str> = ["c1", "c2", "c3", "cx"]
                .into_iter()
                .enumerate()
                .filter(|(i, _)| c & (1 << i) != 0)
                .map(|(_, id)| id)
                .collect();
            invoice(
                &pick(&INVOICE_IDS, a),
                [100, 150, 250][b as usize % 3],
                &listed,
            )
        }
    }
}

/// Turns raw events into events with per-source sequences 1, 2, 3, ... (so (source, sequence)
/// is unique, as dedupe guarantees before apply).
pub fn events(raws: &[Raw]) -> Vec<Event> {
    let mut next: HashMap<String, u64> = HashMap::new();
    raws.iter()
        .map(|r| {
            let ty = EventType::ALL[r.kind];
            let source = format!("{}/{}", ty.owner().as_str(), ["a", "b", "zz"][r.source]);
            let seq = next.entry(source.clone()).or_insert(0);
            *seq += 1;
            let subject = if ty == EventType::VehiclePosition {
                (r.subject - 1) % VEHICLES + 1
            } else {
                r.subject
            };
            event(&source, *seq, m(r.minute) + r.micro, subject, body(r))
        })
        .collect()
}

pub fn event_set() -> impl Strategy<Value = Vec<Event>> {
    prop::collection::vec(raw(), 1..60).prop_map(|r| events(&r))
}

/// Journal options of the core tests: small segments (several per test), durability `none`.
pub fn opts() -> JournalOptions {
    JournalOptions {
        segment_bytes: 64 * 1024,
        durability: Durability::None,
        ..Default::default()
    }
}

/// The `i`-th of a cycle through every dead-letter reason, with a short raw body.
pub fn dead_letter(i: usize) -> Entry {
    let raw = format!("bad {i}").into_bytes();
    Entry::DeadLetter(DeadLetter {
        reason: DeadLetterReason::ALL[i % DeadLetterReason::ALL.len()],
        detail: format!("test {i}"),
        raw_len_bytes: raw.len() as u64,
        raw,
    })
}
