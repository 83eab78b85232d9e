//! Event builders for the oracle tests, and the real core to compare against.
#![allow(dead_code)]

use std::collections::BTreeMap;
use waybill_core::engine::Core;
use waybill_core::event::{Body, ChargeKind, Contract, Entry, Event, GeoPoint, Pod, Stop};
use waybill_core::journal::{Durability, JournalOptions};
use waybill_core::machine::Counters;
use waybill_core::state::ShipmentView;
use waybill_core::time::US_PER_MIN;
use waybill_sim::network::Stream;
use waybill_sim::oracle::{Expected, ExpectedShipment, expected};
use waybill_sim::world::{World, WorldEvent};

/// 2026-11-27T08:00:00Z.
pub const T0_US: i64 = 1_795_766_400_000_000;

/// `T0 + minutes`.
pub fn m(minutes: i64) -> i64 {
    T0_US + minutes * US_PER_MIN
}

pub fn ev(source: &str, sequence: u64, time_us: i64, subject: u64, body: Body) -> Event {
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

pub fn contract(currency: &[u8; 3], base: i64, free_min: u32, per_hour: i64) -> Contract {
    Contract {
        currency: *currency,
        base_cents: base,
        detention_free_min: free_min,
        detention_cents_per_hour: per_hour,
    }
}

pub fn created(window_start_us: i64, window_end_us: i64, contract: Contract) -> Body {
    Body::OrderCreated {
        customer_id: "acme".into(),
        origin: GeoPoint::default(),
        destination: GeoPoint {
            lat_ud: 1,
            lon_ud: 2,
        },
        window_start_us,
        window_end_us,
        weight_kg: 100,
        contract,
    }
}

pub fn amended(version: u32, start: Option<i64>, end: Option<i64>) -> Body {
    Body::OrderAmended {
        order_version: version,
        window_start_us: start,
        window_end_us: end,
        destination: None,
    }
}

pub fn arrived(stop: Stop) -> Body {
    Body::StopArrived { stop }
}

pub fn departed(stop: Stop) -> Body {
    Body::StopDeparted { stop }
}

pub fn delivered(signed_by: Option<&str>) -> Body {
    Body::ShipmentDelivered {
        pod: signed_by.map(|s| Pod {
            signed_by: s.into(),
            photo_ref: None,
        }),
    }
}

pub fn charge(id: &str, kind: ChargeKind, amount: i64, currency: &[u8; 3]) -> Body {
    Body::ChargeAdded {
        charge_id: id.into(),
        kind,
        amount_cents: amount,
        currency: *currency,
    }
}

pub fn void(id: &str) -> Body {
    Body::ChargeVoided {
        charge_id: id.into(),
    }
}

pub fn invoice(id: &str, total: i64, charges: &[&str]) -> Body {
    Body::InvoiceIssued {
        invoice_id: id.into(),
        total_cents: total,
        charge_ids: charges.iter().map(|c| c.to_string()).collect(),
    }
}

pub fn settled(id: &str, amount: i64) -> Body {
    Body::InvoiceSettled {
        invoice_id: id.into(),
        amount_cents: amount,
    }
}

/// A world of these events, each emitted at its own time.
pub fn world_of(events: &[Event]) -> World {
    let mut events: Vec<WorldEvent> = events
        .iter()
        .map(|e| WorldEvent {
            emit_us: e.time_us,
            event: e.clone(),
        })
        .collect();
    events.sort_by(|a, b| {
        (a.emit_us, &a.event.source, a.event.sequence).cmp(&(
            b.emit_us,
            &b.event.source,
            b.event.sequence,
        ))
    });
    World {
        events,
        facts: Default::default(),
    }
}

/// The oracle over `events`, all delivered.
pub fn oracle(events: &[Event]) -> Expected {
    expected(&world_of(events), &Stream::default())
}

/// The oracle's view of the only shipment of `events`.
pub fn one(events: &[Event]) -> ExpectedShipment {
    let e = oracle(events);
    assert_eq!(e.shipments.len(), 1);
    e.shipments.into_values().next().unwrap()
}

/// Every shipment as the real core sees it after ingesting `entries` in this order, and its
/// counters.
pub fn core_views(entries: &[Entry]) -> (BTreeMap<u64, ShipmentView>, Counters) {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = JournalOptions {
        segment_bytes: 1 << 20,
        durability: Durability::None,
        ..Default::default()
    };
    let mut core = Core::open(dir.path(), opts).expect("open");
    for (i, chunk) in entries.chunks(64).enumerate() {
        core.ingest(chunk, 1_000 + i as i64).expect("ingest");
    }
    let m = core.machine();
    let views = m
        .state()
        .shipment_ids()
        .into_iter()
        .map(|id| (id, m.state().shipment_view(id, m.sources()).unwrap()))
        .collect();
    (views, m.counters())
}

/// Asserts that the core, fed `events` in this order, agrees with the oracle on every
/// shipment (the same ids, no differences).
pub fn assert_core_agrees(events: &[Event]) {
    let want = oracle(events);
    let entries: Vec<Entry> = events.iter().cloned().map(Entry::Event).collect();
    let (views, _) = core_views(&entries);
    assert_eq!(
        views.keys().collect::<Vec<_>>(),
        want.shipments.keys().collect::<Vec<_>>(),
        "shipment ids"
    );
    for (id, view) in &views {
        let diff = want.shipments[id].diff(view);
        assert!(diff.is_empty(), "shipment {id}: {diff:#?}");
    }
}
