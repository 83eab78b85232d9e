//! Customers and their orders: who orders, from which depot, to where, when it must arrive,
//! at what price; and what the ERP later says about each order (amendments, cancellations).
//! Every later change is drawn when the order is created, so the rest of the world can ask
//! "what did the ERP say about this order by time t" without simulating the ERP.

use super::emit::Outbox;
use super::map::{Point, distance_km, road_km};
use crate::rng::Rng;
use waybill_core::event::{Body, Contract};

const MIN_US: i64 = 60_000_000;
const HOUR_US: i64 = 60 * MIN_US;

/// A customer: a delivery address and commercial terms.
#[derive(Debug, Clone)]
pub struct Customer {
    pub id: String,
    pub address: Point,
    /// Nearest staffed depot.
    pub home_depot: u16,
    pub currency: [u8; 3],
    /// Price level relative to the list tariff.
    pub tariff: f64,
    pub detention_free_min: u32,
    pub detention_cents_per_hour: i64,
    /// Fuel surcharge on the base price, in basis points.
    pub fuel_bp: i64,
    /// Relative order frequency.
    pub weight: f64,
}

/// Draws `addresses.len()` customers. `home_depot[i]` is customer i's depot.
pub fn customers(rng: &mut Rng, addresses: &[Point], home_depot: &[u16]) -> Vec<Customer> {
    addresses
        .iter()
        .zip(home_depot)
        .enumerate()
        .map(|(i, (&address, &home_depot))| {
            // A few accounts are billed in dollars.
            let currency = if rng.chance(0.03) { *b"USD" } else { *b"EUR" };
            let detention_free_min = *rng.pick(&[30, 45, 45, 60, 60, 30, 45, 60, 45, 30]);
            // 4000..9000 cents per hour, in steps of 250.
            let detention_cents_per_hour = 4000 + 250 * rng.range_i64(0, 20);
            Customer {
                id: format!("CUST-{:05}", i + 1),
                address,
                home_depot,
                currency,
                tariff: 0.85 + 0.3 * rng.f64(),
                detention_free_min,
                detention_cents_per_hour,
                fuel_bp: rng.range_i64(800, 1600),
                // Skewed: a few big accounts order most.
                weight: rng.lognormal(1.0, 1.0),
            }
        })
        .collect()
}

/// A later change to an order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Amendment {
    pub time_us: i64,
    pub version: u32,
    pub window: Option<(i64, i64)>,
    pub destination: Option<Point>,
}

/// A cancellation: when, and why.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cancellation {
    pub time_us: i64,
    pub reason: &'static str,
}

const CANCEL_REASONS: [&str; 5] = [
    "customer request",
    "duplicate order",
    "stock unavailable",
    "address issue",
    "payment hold",
];

/// An order and everything the ERP will say about it.
#[derive(Debug, Clone)]
pub struct Order {
    pub id: u64,
    pub created_us: i64,
    pub customer: u32,
    pub depot: u16,
    pub origin: Point,
    pub destination: Point,
    pub window: (i64, i64),
    pub weight_kg: u32,
    pub contract: Contract,
    /// Versions 2 (and sometimes 3), in time order.
    pub amendments: Vec<Amendment>,
    pub cancellation: Option<Cancellation>,
    /// The first delivery attempt fails.
    pub fail_first: bool,
    /// When the dispatcher may put it on a tour.
    pub release_us: i64,
}

impl Order {
    /// The destination as known at `t_us`.
    pub fn destination_at(&self, t_us: i64) -> Point {
        self.amendments
            .iter()
            .filter(|a| a.time_us <= t_us)
            .filter_map(|a| a.destination)
            .next_back()
            .unwrap_or(self.destination)
    }

    /// The delivery window as known at `t_us`.
    pub fn window_at(&self, t_us: i64) -> (i64, i64) {
        self.amendments
            .iter()
            .filter(|a| a.time_us <= t_us)
            .filter_map(|a| a.window)
            .next_back()
            .unwrap_or(self.window)
    }

    pub fn cancelled_by(&self, t_us: i64) -> bool {
        self.cancellation.is_some_and(|c| c.time_us <= t_us)
    }
}

/// What the order model needs from the scenario.
pub struct OrderParams {
    pub amend_share: f64,
    pub cancel_share: f64,
    pub failed_delivery_share: f64,
    /// Staffed depots, by index.
    pub staffed: Vec<u16>,
}

/// Draws the orders created at `created_us` (sorted), with ids 1..=N in that order.
pub fn orders(
    rng: &mut Rng,
    created_us: &[i64],
    customers: &[Customer],
    depots: &[Point],
    p: &OrderParams,
) -> Vec<Order> {
    let mut cum = Vec::with_capacity(customers.len());
    let mut total = 0.0;
    for c in customers {
        total += c.weight;
        cum.push(total);
    }
    created_us
        .iter()
        .enumerate()
        .map(|(i, &created)| {
            let x = rng.f64() * total;
            let ci = cum.partition_point(|&c| c <= x).min(customers.len() - 1);
            let cust = &customers[ci];
            // Mostly shipped from the customer's own depot, sometimes from another one.
            let depot = if p.staffed.len() > 1 && rng.chance(0.05) {
                *rng.pick(&p.staffed)
            } else {
                cust.home_depot
            };
            let origin = depots[depot as usize];
            let destination = cust.address;
            // Delivery window: starting 2-8 h after creation, 2-4 h wide, on the minute.
            let ws = ceil_min(created + 2 * HOUR_US + rng.range_i64(0, 6 * HOUR_US));
            let we = ws + rng.range_i64(4, 8) * 30 * MIN_US;
            let weight_kg = rng.lognormal(350.0, 1.0).clamp(5.0, 24_000.0).round() as u32;
            let km = road_km(origin, destination);
            let base = (3500.0 + 110.0 * km + 2.0 * weight_kg as f64) * cust.tariff;
            let contract = Contract {
                currency: cust.currency,
                base_cents: (base.round() as i64).max(1500),
                detention_free_min: cust.detention_free_min,
                detention_cents_per_hour: cust.detention_cents_per_hour,
            };
            let amendments = if rng.chance(p.amend_share) {
                amend(rng, created, (ws, we), destination)
            } else {
                Vec::new()
            };
            let cancellation = rng.chance(p.cancel_share).then(|| {
                let time_us = if rng.chance(0.85) {
                    // Before the window: usually before anything left the depot.
                    created + MIN_US + (rng.f64() * (ws - created - 31 * MIN_US) as f64) as i64
                } else {
                    // Around or after the window: on board, or after delivery.
                    ws - HOUR_US + rng.range_i64(0, 7 * HOUR_US)
                };
                Cancellation {
                    time_us,
                    reason: CANCEL_REASONS[rng.below(CANCEL_REASONS.len() as u64) as usize],
                }
            });
            // Nothing is amended once cancelled.
            let mut amendments = amendments;
            if let Some(c) = cancellation {
                amendments.retain(|a| a.time_us < c.time_us);
            }
            let fail_first = rng.chance(p.failed_delivery_share);
            // Dispatch looks 100 min ahead of the window (about the drive out plus the first
            // stops); an order needs a few minutes to clear.
            let release_us = (ws - 100 * MIN_US).max(created + rng.range_i64(5, 20) * MIN_US);
            Order {
                id: i as u64 + 1,
                created_us: created,
                customer: ci as u32,
                depot,
                origin,
                destination,
                window: (ws, we),
                weight_kg,
                contract,
                amendments,
                cancellation,
                fail_first,
                release_us,
            }
        })
        .collect()
}

fn round_min(t_us: i64) -> i64 {
    t_us - t_us.rem_euclid(MIN_US)
}

fn ceil_min(t_us: i64) -> i64 {
    round_min(t_us + MIN_US - 1)
}

/// Version 2, and a quarter of the time version 3, each before the window then known:
/// a moved window (most often), another dock of the customer, or both.
fn amend(rng: &mut Rng, created: i64, window: (i64, i64), destination: Point) -> Vec<Amendment> {
    let mut out = Vec::with_capacity(2);
    let mut t = created;
    let mut win = window;
    let mut dest = destination;
    for version in 2..=3 {
        if version == 3 && !rng.chance(0.25) {
            break;
        }
        let span = (win.0 - t).max(2 * MIN_US);
        let time_us = t + 1_000_000 + (rng.f64() * 0.85 * span as f64) as i64;
        let kind = rng.f64();
        let new_window = (kind < 0.7).then(|| {
            let shift = rng.range_i64(30, 180) * MIN_US * if rng.chance(0.5) { 1 } else { -1 };
            // Never into the past: at least an hour after the amendment.
            let start = round_min((win.0 + shift).max(time_us + HOUR_US));
            let end = start + rng.range_i64(4, 8) * 30 * MIN_US;
            (start, end)
        });
        let new_dest = (kind >= 0.6).then(|| {
            let d = 0.5 + 3.0 * rng.f64();
            let a = rng.f64() * std::f64::consts::TAU;
            let p = dest.offset_km(d * libm::cos(a), d * libm::sin(a));
            debug_assert!(distance_km(dest, p) < 5.0);
            p
        });
        if let Some(w) = new_window {
            win = w;
        }
        if let Some(p) = new_dest {
            dest = p;
        }
        out.push(Amendment {
            time_us,
            version,
            window: new_window,
            destination: new_dest,
        });
        t = time_us;
    }
    out
}

/// The ERP's events about `order`: created, amended, cancelled (settlements come from billing).
pub fn emit_erp(out: &mut Outbox, order: &Order, customer: &Customer) {
    let src = Outbox::ERP;
    out.push(
        src,
        order.created_us,
        order.id,
        Body::OrderCreated {
            customer_id: customer.id.clone(),
            origin: order.origin.to_geo(),
            destination: order.destination.to_geo(),
            window_start_us: order.window.0,
            window_end_us: order.window.1,
            weight_kg: order.weight_kg,
            contract: order.contract,
        },
    );
    for a in &order.amendments {
        out.push(
            src,
            a.time_us,
            order.id,
            Body::OrderAmended {
                order_version: a.version,
                window_start_us: a.window.map(|w| w.0),
                window_end_us: a.window.map(|w| w.1),
                destination: a.destination.map(Point::to_geo),
            },
        );
    }
    if let Some(c) = order.cancellation {
        out.push(
            src,
            c.time_us,
            order.id,
            Body::OrderCancelled {
                reason: c.reason.to_string(),
            },
        );
    }
}
