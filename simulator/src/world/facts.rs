//! The facts of a generated world, tallied from what was actually emitted (events past the
//! horizon never happened as far as the core is concerned) plus the ground truth only the
//! world knows (which detention charges billing forgot, how long trucks queued at the dock).

use super::billing;
use super::emit::Tag;
use super::orders::Order;
use super::routes::{ShipmentTruth, Vehicle};
use super::{DetentionOmission, Facts, VehicleFacts, WorldEvent};
use rustc_hash::FxHashMap;
use waybill_core::event::{Body, Stop};

/// Per-shipment state rebuilt from the emitted events.
#[derive(Clone, Copy, Default)]
struct Seen {
    version: u32,
    window: Option<(i64, i64)>,
    delivered_us: Option<i64>,
    pod: bool,
    cancelled: bool,
    arrived_us: Option<i64>,
    departed_us: Option<i64>,
}

fn max_opt(a: Option<i64>, b: i64) -> Option<i64> {
    Some(a.map_or(b, |a| a.max(b)))
}

pub fn compute(
    events: &[WorldEvent],
    tags: &[Tag],
    orders: &[Order],
    truth: &[ShipmentTruth],
    vehicles: &[Vehicle],
) -> Facts {
    let mut f = Facts {
        vehicles: vehicles.len() as u64,
        events: events.len() as u64,
        ..Facts::default()
    };
    let mut seen = vec![Seen::default(); orders.len() + 1];
    let mut pings = vec![0u64; vehicles.len() + 1];
    let mut invoice_totals: FxHashMap<&str, i64> = FxHashMap::default();
    for (we, &tag) in events.iter().zip(tags) {
        let e = &we.event;
        let sh = if matches!(e.body, Body::VehiclePosition { .. }) {
            None
        } else {
            seen.get_mut(e.subject as usize)
        };
        match &e.body {
            Body::VehiclePosition { .. } => {
                f.pings += 1;
                if let Some(p) = pings.get_mut(e.subject as usize) {
                    *p += 1;
                }
            }
            Body::OrderCreated {
                window_start_us,
                window_end_us,
                ..
            } => {
                f.shipments += 1;
                if let Some(s) = sh
                    && s.version <= 1
                {
                    s.version = 1;
                    s.window = Some((*window_start_us, *window_end_us));
                }
            }
            Body::OrderAmended {
                order_version,
                window_start_us,
                window_end_us,
                ..
            } => {
                f.amendments += 1;
                if let Some(s) = sh
                    && *order_version >= s.version
                {
                    s.version = *order_version;
                    if let (Some(a), Some(b)) = (window_start_us, window_end_us) {
                        s.window = Some((*a, *b));
                    }
                }
            }
            Body::OrderCancelled { .. } => {
                f.cancellations += 1;
                if let Some(s) = sh {
                    s.cancelled = true;
                }
            }
            Body::InvoiceSettled {
                invoice_id,
                amount_cents,
            } => {
                f.settlements += 1;
                if invoice_totals
                    .get(invoice_id.as_str())
                    .is_some_and(|t| t != amount_cents)
                {
                    f.disputed_settlements += 1;
                }
            }
            Body::RoutePlanned { .. } => match tag {
                Tag::Replan => f.replans += 1,
                Tag::TourPlanned => {
                    f.tours += 1;
                    f.route_plans += 1;
                }
                _ => f.route_plans += 1,
            },
            Body::EtaRevised { .. } => f.eta_revisions += 1,
            Body::StopArrived {
                stop: Stop::Delivery,
            } => {
                if let Some(s) = sh {
                    s.arrived_us = max_opt(s.arrived_us, e.time_us);
                }
            }
            Body::StopDeparted {
                stop: Stop::Delivery,
            } => {
                if let Some(s) = sh {
                    s.departed_us = max_opt(s.departed_us, e.time_us);
                }
            }
            Body::StopArrived { .. } | Body::StopDeparted { .. } => {}
            Body::ShipmentPickedUp => f.pickups += 1,
            Body::ShipmentDelivered { pod } => {
                f.deliveries += 1;
                if tag == Tag::Redelivery {
                    f.redeliveries += 1;
                }
                if pod.is_none() {
                    f.deliveries_without_pod += 1;
                }
                if let Some(s) = sh {
                    s.delivered_us = max_opt(s.delivered_us, e.time_us);
                    s.pod |= pod.is_some();
                }
            }
            Body::DeliveryFailed { .. } => f.failed_deliveries += 1,
            Body::ChargeAdded { .. } => f.charges += 1,
            Body::ChargeVoided { .. } => f.voided_charges += 1,
            Body::InvoiceIssued {
                invoice_id,
                total_cents,
                ..
            } => {
                f.invoices += 1;
                invoice_totals.insert(invoice_id.as_str(), *total_cents);
            }
        }
    }

    let mut waits_s: Vec<u64> = Vec::new();
    for (i, s) in seen.iter().enumerate().skip(1) {
        let Some(delivered) = s.delivered_us else {
            continue;
        };
        let o = &orders[i - 1];
        let t = &truth[i - 1];
        waits_s.push((t.dock_wait_us / 1_000_000) as u64);
        if s.cancelled {
            f.delivered_and_cancelled += 1;
        }
        if let Some((ws, we)) = s.window
            && (ws..=we).contains(&delivered)
        {
            f.on_time_deliveries += 1;
        }
        let (Some(a), Some(d)) = (s.arrived_us, s.departed_us) else {
            continue;
        };
        let (minutes, cents) = billing::detention(&o.contract, a, d);
        if minutes == 0 {
            continue;
        }
        f.detention_due += 1;
        if t.billed.detention_omitted {
            debug_assert_eq!(t.billed.detention_due, Some((minutes, cents)));
            f.detention_omitted += 1;
            f.detention_omitted_cents += cents;
            f.detention_omissions.push(DetentionOmission {
                shipment: o.id,
                detention_minutes: minutes,
                cents,
            });
        }
    }
    f.in_progress = seen
        .iter()
        .skip(1)
        .filter(|s| s.delivered_us.is_none() && !s.cancelled)
        .count() as u64;
    waits_s.sort_unstable();
    let q = |p: f64| -> u64 {
        if waits_s.is_empty() {
            0
        } else {
            waits_s[((waits_s.len() - 1) as f64 * p).round() as usize]
        }
    };
    f.dock_wait_p50_s = q(0.5);
    f.dock_wait_p90_s = q(0.9);
    f.dock_wait_p99_s = q(0.99);
    f.per_vehicle = vehicles
        .iter()
        .map(|v| VehicleFacts {
            vehicle: v.id,
            depot: u32::from(v.depot),
            tours: v.tours,
            legs: v.legs,
            moving_s: (v.moving_us / 1_000_000) as u64,
            pings: pings[v.id as usize],
        })
        .collect();
    f.moving_s = f.per_vehicle.iter().map(|v| v.moving_s).sum();
    f
}
