//! Ground truth: the state every shipment must have after the run, computed by the
//! simulator from the world and the events that were delivered — a plain reference model
//! written independently of the core's `apply`.
//!
//! The model is docs/state.md read literally. A shipment's state is a function of the *set* of its
//! events that reached the core at least once (not dropped; duplicates and malformed copies
//! change nothing), so the oracle never looks at arrival order: it groups the delivered events
//! by shipment and, for each field, picks the winner among the events that set it:
//!
//! - last-writer-wins fields: the greatest key (`time`, `source` as bytes, `sequence`);
//! - order fields (`window_start`, `window_end`): the greatest (`order_version`, key), with
//!   `order.created` as version 1; shown only once an `order.created` is applied;
//! - milestones: the greatest key of their events, holding that event's time; `pod` from the
//!   winning `shipment.delivered`;
//! - charges by `charge_id` (last `charge.added` wins; any `charge.voided` voids it for good;
//!   an id that was only ever voided is no charge), invoices by `invoice_id`, settlements by
//!   `invoice_id`, each last-writer-wins.
//!
//! The derived fields follow the table of docs/state.md with integer arithmetic and floor division
//! (computed in i128, saturated to the i64 range), and the interpretations the core documents
//! in `docs/decisions.md`: an invoice listing an id twice counts it twice, ids that are unknown
//! or voided count 0 toward an invoice's sum, settlements naming no invoice of the shipment
//! are ignored, and while a shipment is an orphan its contract figures are 0 and its window
//! unknown.
//!
//! Events are assumed valid (the world only emits events the core accepts) and identified by
//! (`source`, `sequence`): the world never reuses a sequence.

use crate::network::Stream;
use crate::world::World;
use std::collections::BTreeMap;
use waybill_core::event::{Body, ChargeKind, Event, Stop, SubjectKind};
use waybill_core::state::ShipmentView;
use waybill_core::time::{US_PER_MIN, format_rfc3339_us};

/// The fields of one shipment's view (docs/state.md).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ExpectedShipment {
    pub id: u64,
    pub status: &'static str,
    pub order_version: u32,
    pub cancelled: bool,
    pub window_start_us: Option<i64>,
    pub window_end_us: Option<i64>,
    pub delivered_us: Option<i64>,
    pub on_time: Option<bool>,
    pub billed_cents: i64,
    pub detention_minutes: i64,
    pub expected_detention_cents: i64,
    pub leakage_cents: i64,
    pub unbilled_charge_ids: Vec<String>,
    pub invoice_status: &'static str,
    pub invoice_ready: bool,
    pub order_to_dispatch_minutes: Option<i64>,
    pub invoice_cycle_minutes: Option<i64>,
    pub failed_attempts: u32,
    pub anomalies: Vec<&'static str>,
}

/// One difference line: `name: expected X, core Y` (values as JSON).
fn differ<T: serde::Serialize + PartialEq>(out: &mut Vec<String>, name: &str, want: &T, got: &T) {
    if want != got {
        let show = |v: &T| serde_json::to_string(v).unwrap_or_else(|_| "?".into());
        out.push(format!(
            "{name}: expected {}, core {}",
            show(want),
            show(got)
        ));
    }
}

fn time(us: Option<i64>) -> Option<String> {
    us.map(format_rfc3339_us)
}

impl ExpectedShipment {
    /// The names of the view's fields where `view` differs from this, with both values.
    pub fn diff(&self, view: &ShipmentView) -> Vec<String> {
        let mut out = Vec::new();
        let d = &mut out;
        differ(d, "id", &self.id, &view.id);
        differ(d, "status", &self.status, &view.status);
        differ(d, "order_version", &self.order_version, &view.order_version);
        differ(d, "cancelled", &self.cancelled, &view.cancelled);
        differ(
            d,
            "window_start",
            &time(self.window_start_us),
            &view.window_start,
        );
        differ(d, "window_end", &time(self.window_end_us), &view.window_end);
        differ(d, "delivered", &time(self.delivered_us), &view.delivered);
        differ(d, "on_time", &self.on_time, &view.on_time);
        differ(
            d,
            "billed_cents",
            &i128::from(self.billed_cents),
            &view.billed_cents,
        );
        differ(
            d,
            "detention_minutes",
            &self.detention_minutes,
            &view.detention_minutes,
        );
        differ(
            d,
            "expected_detention_cents",
            &i128::from(self.expected_detention_cents),
            &view.expected_detention_cents,
        );
        differ(
            d,
            "leakage_cents",
            &i128::from(self.leakage_cents),
            &view.leakage_cents,
        );
        differ(
            d,
            "unbilled_charge_ids",
            &self.unbilled_charge_ids,
            &view.unbilled_charge_ids,
        );
        differ(
            d,
            "invoice_status",
            &self.invoice_status,
            &view.invoice_status,
        );
        differ(d, "invoice_ready", &self.invoice_ready, &view.invoice_ready);
        differ(
            d,
            "order_to_dispatch_minutes",
            &self.order_to_dispatch_minutes,
            &view.order_to_dispatch_minutes,
        );
        differ(
            d,
            "invoice_cycle_minutes",
            &self.invoice_cycle_minutes,
            &view.invoice_cycle_minutes,
        );
        differ(
            d,
            "failed_attempts",
            &self.failed_attempts,
            &view.failed_attempts,
        );
        differ(d, "anomalies", &self.anomalies, &view.anomalies);
        out
    }
}

/// The currency of shipments without a contract (orphans), as summaries name it.
pub const UNKNOWN_CURRENCY: &str = "unknown";

/// The money of the shipments of one currency.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CurrencySums {
    pub billed_cents: i128,
    pub expected_detention_cents: i128,
    pub leakage_cents: i128,
    /// Shipments of the currency with `leakage_cents > 0`.
    pub leaking_shipments: u64,
}

/// Expected shipments by id, and tallies for the report.
#[derive(Debug, Clone, Default)]
pub struct Expected {
    pub shipments: BTreeMap<u64, ExpectedShipment>,
    /// Currency (the contract's, or [`UNKNOWN_CURRENCY`]) -> sums: money is never added
    /// across currencies.
    pub by_currency: BTreeMap<String, CurrencySums>,
    pub leaking_shipments: u64,
}

/// The currency key of a contract currency (or of none).
pub fn currency_key(currency: Option<[u8; 3]>) -> String {
    currency.map_or_else(
        || UNKNOWN_CURRENCY.to_string(),
        |c| String::from_utf8_lossy(&c).into_owned(),
    )
}

/// The contract currency of a shipment: that of its winning `order.created` (the greatest
/// key), None while it has none.
pub fn contract_currency(events: &[&Event]) -> Option<[u8; 3]> {
    let mut created: Option<&Event> = None;
    for e in events {
        if matches!(e.body, Body::OrderCreated { .. }) {
            newer(&mut created, e);
        }
    }
    match created.map(|e| &e.body) {
        Some(Body::OrderCreated { contract, .. }) => Some(contract.currency),
        _ => None,
    }
}

/// The expected state after every delivered, valid event is applied.
pub fn expected(world: &World, stream: &Stream) -> Expected {
    expected_of(world, |i| stream.delivered(i))
}

/// The expected state after the world events `i` with `applied(i)` are applied (each once:
/// duplicates change nothing).
pub fn expected_of(world: &World, applied: impl Fn(usize) -> bool) -> Expected {
    // Applied shipment events, grouped by shipment (ids in order).
    let mut by_shipment: Vec<(u64, u32)> = world
        .events
        .iter()
        .enumerate()
        .filter(|&(i, e)| {
            applied(i) && e.event.event_type().subject_kind() == SubjectKind::Shipment
        })
        .map(|(i, e)| (e.event.subject, i as u32))
        .collect();
    by_shipment.sort_unstable();

    let mut out = Expected::default();
    let mut events: Vec<&Event> = Vec::new();
    for group in by_shipment.chunk_by(|a, b| a.0 == b.0) {
        events.clear();
        events.extend(group.iter().map(|&(_, i)| &world.events[i as usize].event));
        let s = shipment(group[0].0, &events);
        let sums = out
            .by_currency
            .entry(currency_key(contract_currency(&events)))
            .or_default();
        sums.billed_cents += i128::from(s.billed_cents);
        sums.expected_detention_cents += i128::from(s.expected_detention_cents);
        sums.leakage_cents += i128::from(s.leakage_cents);
        if s.leakage_cents > 0 {
            sums.leaking_shipments += 1;
            out.leaking_shipments += 1;
        }
        out.shipments.insert(s.id, s);
    }
    out
}

/// The last-writer-wins key of an event.
fn key(e: &Event) -> (i64, &[u8], u64) {
    (e.time_us, e.source.as_bytes(), e.sequence)
}

/// Keeps in `best` whichever of `best` and `e` has the greater key.
fn newer<'a>(best: &mut Option<&'a Event>, e: &'a Event) {
    if best.is_none_or(|b| key(e) > key(b)) {
        *best = Some(e);
    }
}

/// Keeps in `best` whichever has the greater (order version, key).
fn newer_version<'a, T: Copy>(best: &mut Option<(u32, &'a Event, T)>, v: u32, e: &'a Event, x: T) {
    if best.is_none_or(|(bv, be, _)| (v, key(e)) > (bv, key(be))) {
        *best = Some((v, e, x));
    }
}

fn saturate(v: i128) -> i64 {
    v.clamp(i64::MIN.into(), i64::MAX.into()) as i64
}

/// A charge id of the shipment: its winning `charge.added`, and whether any void was applied.
struct Charge<'a> {
    id: &'a str,
    added: Option<&'a Event>,
    voided: bool,
}

/// The expected fields of shipment `id` from the set of its applied events.
pub fn shipment(id: u64, events: &[&Event]) -> ExpectedShipment {
    let mut created: Option<&Event> = None;
    let mut order_version = 0u32;
    let mut window_start: Option<(u32, &Event, i64)> = None;
    let mut window_end: Option<(u32, &Event, i64)> = None;
    let mut cancelled = false;
    let mut routed = false;
    let mut picked_up: Option<&Event> = None;
    let mut delivered: Option<&Event> = None;
    let mut delivery_arrived: Option<&Event> = None;
    let mut delivery_departed: Option<&Event> = None;
    let mut failed_attempts = 0u32;
    let mut charges: Vec<Charge<'_>> = Vec::new();
    // Invoices and settlements by invoice id: (id, winning event).
    let mut invoices: Vec<(&str, &Event)> = Vec::new();
    let mut settlements: Vec<(&str, &Event)> = Vec::new();

    fn charge<'a, 'b>(charges: &'b mut Vec<Charge<'a>>, id: &'a str) -> &'b mut Charge<'a> {
        let at = match charges.iter().position(|c| c.id == id) {
            Some(at) => at,
            None => {
                charges.push(Charge {
                    id,
                    added: None,
                    voided: false,
                });
                charges.len() - 1
            }
        };
        &mut charges[at]
    }
    fn by_id<'a>(list: &mut Vec<(&'a str, &'a Event)>, id: &'a str, e: &'a Event) {
        match list.iter_mut().find(|(i, _)| *i == id) {
            Some((_, best)) => {
                if key(e) > key(best) {
                    *best = e;
                }
            }
            None => list.push((id, e)),
        }
    }

    for &e in events {
        match &e.body {
            Body::OrderCreated {
                window_start_us,
                window_end_us,
                ..
            } => {
                newer(&mut created, e);
                order_version = order_version.max(1);
                newer_version(&mut window_start, 1, e, *window_start_us);
                newer_version(&mut window_end, 1, e, *window_end_us);
            }
            Body::OrderAmended {
                order_version: v,
                window_start_us,
                window_end_us,
                ..
            } => {
                order_version = order_version.max(*v);
                if let Some(t) = window_start_us {
                    newer_version(&mut window_start, *v, e, *t);
                }
                if let Some(t) = window_end_us {
                    newer_version(&mut window_end, *v, e, *t);
                }
            }
            Body::OrderCancelled { .. } => cancelled = true,
            Body::InvoiceSettled { invoice_id, .. } => by_id(&mut settlements, invoice_id, e),
            Body::RoutePlanned { .. } => routed = true,
            Body::EtaRevised { .. } | Body::VehiclePosition { .. } => {}
            Body::StopArrived {
                stop: Stop::Delivery,
            } => newer(&mut delivery_arrived, e),
            Body::StopDeparted {
                stop: Stop::Delivery,
            } => newer(&mut delivery_departed, e),
            Body::StopArrived { stop: Stop::Pickup }
            | Body::StopDeparted { stop: Stop::Pickup } => {}
            Body::ShipmentPickedUp => newer(&mut picked_up, e),
            Body::ShipmentDelivered { .. } => newer(&mut delivered, e),
            Body::DeliveryFailed { .. } => failed_attempts += 1,
            Body::ChargeAdded { charge_id, .. } => {
                newer(&mut charge(&mut charges, charge_id).added, e)
            }
            Body::ChargeVoided { charge_id } => charge(&mut charges, charge_id).voided = true,
            Body::InvoiceIssued { invoice_id, .. } => by_id(&mut invoices, invoice_id, e),
        }
    }

    // The contract as it counts: the winning order.created's, or all 0 while orphan.
    let has_order = created.is_some();
    let (currency, base_cents, free_min, per_hour) = match created.map(|e| &e.body) {
        Some(Body::OrderCreated { contract: c, .. }) => (
            Some(c.currency),
            c.base_cents,
            c.detention_free_min,
            c.detention_cents_per_hour,
        ),
        _ => (None, 0, 0, 0),
    };
    let window_start_us = window_start.filter(|_| has_order).map(|(_, _, t)| t);
    let window_end_us = window_end.filter(|_| has_order).map(|(_, _, t)| t);
    let delivered_us = delivered.map(|e| e.time_us);
    let pod = matches!(
        delivered.map(|e| &e.body),
        Some(Body::ShipmentDelivered { pod: Some(_) })
    );

    let status = if cancelled && delivered_us.is_none() {
        "cancelled"
    } else if delivered_us.is_some() {
        "delivered"
    } else if picked_up.is_some() {
        "in_transit"
    } else if routed {
        "planned"
    } else if has_order {
        "created"
    } else {
        "orphan"
    };

    // Live charges: added, not voided: (id, kind, amount, currency).
    let live: Vec<(&str, ChargeKind, i64, [u8; 3])> = charges
        .iter()
        .filter(|c| !c.voided)
        .filter_map(|c| match c.added.map(|e| &e.body) {
            Some(Body::ChargeAdded {
                kind,
                amount_cents,
                currency,
                ..
            }) => Some((c.id, *kind, *amount_cents, *currency)),
            _ => None,
        })
        .collect();
    let billed: i128 = live.iter().map(|c| i128::from(c.2)).sum();
    let detention_billed: i128 = live
        .iter()
        .filter(|c| c.1 == ChargeKind::Detention)
        .map(|c| i128::from(c.2))
        .sum();
    let has_base = live.iter().any(|c| c.1 == ChargeKind::Base);

    let detention_minutes = match (delivery_arrived, delivery_departed) {
        (Some(a), Some(d)) => {
            let minutes =
                (i128::from(d.time_us) - i128::from(a.time_us)).div_euclid(i128::from(US_PER_MIN));
            saturate((minutes - i128::from(free_min)).max(0))
        }
        _ => 0,
    };
    let expected_detention_cents =
        saturate((i128::from(detention_minutes) * i128::from(per_hour)).div_euclid(60));
    let leakage_cents = if delivered_us.is_some() {
        let detention_gap = (i128::from(expected_detention_cents) - detention_billed).max(0);
        let base_gap = if has_base { 0 } else { i128::from(base_cents) };
        saturate(detention_gap + base_gap)
    } else {
        0
    };

    let on_time = match (delivered_us, window_start_us, window_end_us) {
        (Some(d), Some(s), Some(e)) => Some(s <= d && d <= e),
        _ => None,
    };

    let listed = |id: &str| {
        invoices.iter().any(|(_, e)| match &e.body {
            Body::InvoiceIssued { charge_ids, .. } => charge_ids.iter().any(|c| c == id),
            _ => false,
        })
    };
    let mut unbilled_charge_ids: Vec<String> = live
        .iter()
        .filter(|c| !listed(c.0))
        .map(|c| c.0.to_string())
        .collect();
    unbilled_charge_ids.sort_unstable();

    let mut disputed = false;
    let mut all_settled = true;
    let mut invoice_total_mismatch = false;
    for (invoice_id, e) in &invoices {
        let Body::InvoiceIssued {
            total_cents,
            charge_ids,
            ..
        } = &e.body
        else {
            unreachable!()
        };
        let sum: i128 = charge_ids
            .iter()
            .map(|id| {
                live.iter()
                    .find(|c| c.0 == id)
                    .map_or(0, |c| i128::from(c.2))
            })
            .sum();
        invoice_total_mismatch |= sum != i128::from(*total_cents);
        match settlements.iter().find(|(i, _)| i == invoice_id) {
            Some((_, s)) => {
                let Body::InvoiceSettled { amount_cents, .. } = &s.body else {
                    unreachable!()
                };
                if amount_cents != total_cents {
                    disputed = true;
                    all_settled = false;
                }
            }
            None => all_settled = false,
        }
    }
    let invoice_status = if invoices.is_empty() {
        "none"
    } else if disputed {
        "disputed"
    } else if all_settled {
        "settled"
    } else {
        "issued"
    };
    // SLA minutes: the winning order.created to the latest pickup (floored, may be negative);
    // the delivery to the earliest winning invoice.issued (floored, at least 0).
    let order_to_dispatch_minutes = match (created, picked_up) {
        (Some(c), Some(p)) => Some(saturate(
            (i128::from(p.time_us) - i128::from(c.time_us)).div_euclid(i128::from(US_PER_MIN)),
        )),
        _ => None,
    };
    let first_issued_us = invoices.iter().map(|(_, e)| e.time_us).min();
    let invoice_cycle_minutes = match (delivered_us, first_issued_us) {
        (Some(d), Some(t)) => Some(saturate(
            (i128::from(t) - i128::from(d))
                .div_euclid(i128::from(US_PER_MIN))
                .max(0),
        )),
        _ => None,
    };
    let invoice_ready =
        delivered_us.is_some() && pod && !invoices.is_empty() && unbilled_charge_ids.is_empty();

    let currency_mismatch = currency.is_some_and(|cur| live.iter().any(|c| c.3 != cur));
    let mut anomalies = Vec::new();
    if currency_mismatch {
        anomalies.push("currency_mismatch");
    }
    if delivered_us.is_some() && cancelled {
        anomalies.push("delivered_and_cancelled");
    }
    if invoice_total_mismatch {
        anomalies.push("invoice_total_mismatch");
    }
    if !has_order {
        anomalies.push("orphan");
    }

    ExpectedShipment {
        id,
        status,
        order_version,
        cancelled,
        window_start_us,
        window_end_us,
        delivered_us,
        on_time,
        billed_cents: saturate(billed),
        detention_minutes,
        expected_detention_cents,
        leakage_cents,
        unbilled_charge_ids,
        invoice_status,
        invoice_ready,
        order_to_dispatch_minutes,
        invoice_cycle_minutes,
        failed_attempts,
        anomalies,
    }
}
