//! The ground-truth world: customers, depots, orders, vehicles and their routes, telematics,
//! milestones and billing, all drawn from the `"world/..."` sub-streams of one seed, and the
//! events each system emits about it.
//!
//! - [`map`]: points, distances, where depots and customers are.
//! - [`demand`]: when orders are created (piecewise rate, exact count).
//! - [`orders`]: customers, orders and what the ERP says about them.
//! - [`routes`]: dispatch, tours, driving, dock dwell, deliveries, ETAs.
//! - [`telematics`]: position pings while moving.
//! - [`billing`]: charges, voids, invoices, settlements.
//! - [`emit`]: per-source numbering, producer lag, the horizon cut, the merged stream.
//! - [`facts`]: the tallies of what happened.

pub mod billing;
pub mod demand;
pub mod emit;
pub mod facts;
pub mod map;
pub mod orders;
pub mod routes;
pub mod telematics;

use crate::rng::Rng;
use crate::scenario::Scenario;
use emit::Outbox;
use map::{Point, Region, distance_km};
use waybill_core::event::Event;

/// One event as it leaves its producer.
#[derive(Debug, Clone, PartialEq)]
pub struct WorldEvent {
    /// When the producer emits it (>= the event's own `time_us`; the network starts here).
    pub emit_us: i64,
    pub event: Event,
}

/// What the world generated, with the facts the report and the tests need.
#[derive(Debug, Clone, Default)]
pub struct World {
    /// Every emitted event, sorted by (`emit_us`, source, sequence). Each source numbers its
    /// events 1, 2, 3, ... in emit order.
    pub events: Vec<WorldEvent>,
    pub facts: Facts,
}

/// Ground-truth tallies of the world (what really happened, before any delivery fault).
/// Counts are of emitted events (nothing after the horizon) unless said otherwise.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Facts {
    /// `order.created` events (= `world.shipments`).
    pub shipments: u64,
    pub vehicles: u64,
    /// `vehicle.position` events.
    pub pings: u64,
    /// `order.amended` events.
    pub amendments: u64,
    /// `order.cancelled` events.
    pub cancellations: u64,
    /// `delivery.failed` events.
    pub failed_deliveries: u64,
    /// `shipment.delivered` events.
    pub deliveries: u64,
    /// Delivered shipments whose detention charge was due.
    pub detention_due: u64,
    /// Of those, how many billing forgot (`billing.detention_omission`).
    pub detention_omitted: u64,
    /// The detention cents billing forgot.
    pub detention_omitted_cents: i64,
    /// `charge.voided` events (each voided charge is re-issued under a new id).
    pub voided_charges: u64,
    /// `invoice.issued` events.
    pub invoices: u64,
    /// `invoice.settled` events whose amount differs from the invoice's total.
    pub disputed_settlements: u64,
    /// Every emitted event.
    pub events: u64,
    /// Tours planned (distinct route ids).
    pub tours: u64,
    /// `route.planned` events of a tour's plan.
    pub route_plans: u64,
    /// `route.planned` events sent again after an amendment.
    pub replans: u64,
    /// `eta.revised` events.
    pub eta_revisions: u64,
    /// `shipment.picked_up` events (a redelivery is loaded again).
    pub pickups: u64,
    /// Deliveries after a failed attempt.
    pub redeliveries: u64,
    /// Deliveries without a proof of delivery.
    pub deliveries_without_pod: u64,
    /// Delivered shipments that were also cancelled (cancelled after delivery).
    pub delivered_and_cancelled: u64,
    /// Delivered inside the latest window.
    pub on_time_deliveries: u64,
    /// Shipments neither delivered nor cancelled at the horizon.
    pub in_progress: u64,
    /// `charge.added` events.
    pub charges: u64,
    /// `invoice.settled` events.
    pub settlements: u64,
    /// Dock wait (arrival to the start of unloading) of delivered shipments: percentiles.
    pub dock_wait_p50_s: u64,
    pub dock_wait_p90_s: u64,
    pub dock_wait_p99_s: u64,
    /// Vehicle time on the road up to the horizon, all vehicles.
    pub moving_s: u64,
    /// The shipments whose due detention billing forgot, by id.
    pub detention_omissions: Vec<DetentionOmission>,
    /// Per vehicle, by id.
    #[serde(skip)]
    pub per_vehicle: Vec<VehicleFacts>,
}

/// A due detention charge that billing forgot (ground truth for the leakage check).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct DetentionOmission {
    pub shipment: u64,
    pub detention_minutes: i64,
    /// `detention_minutes * detention_cents_per_hour / 60`, as docs/state.md computes it.
    pub cents: i64,
}

/// What one vehicle did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct VehicleFacts {
    pub vehicle: u64,
    pub depot: u32,
    pub tours: u32,
    /// Legs driven (each may start and end between two pings).
    pub legs: u32,
    /// Time on the road up to the horizon.
    pub moving_s: u64,
    /// `vehicle.position` events emitted.
    pub pings: u64,
}

/// Generates the world of `scenario` from `seed`.
pub fn generate(scenario: &Scenario, seed: u64) -> World {
    let spec = &scenario.world;
    let start_us = spec.start_us;
    let end_us = spec.start_us + spec.horizon_us;
    let region = Region::of(spec);

    let mut map_rng = Rng::stream(seed, "world/map");
    let depots = map::place_depots(&mut map_rng, region, spec.depots);
    let addresses = map::place_customers(&mut map_rng, region, spec.customers);

    // Vehicles go to depots in proportion to the customers nearest to each.
    let all: Vec<u16> = (0..depots.len() as u16).collect();
    let nearest: Vec<u16> = addresses
        .iter()
        .map(|&p| nearest_depot(&depots, &all, p))
        .collect();
    let vehicle_depot = allocate_vehicles(&nearest, depots.len(), spec.vehicles);
    let mut staffed: Vec<u16> = vehicle_depot.clone();
    staffed.dedup();
    let home: Vec<u16> = addresses
        .iter()
        .map(|&p| nearest_depot(&depots, &staffed, p))
        .collect();

    let customers = orders::customers(&mut Rng::stream(seed, "world/customers"), &addresses, &home);
    let created: Vec<i64> = demand::creation_offsets(
        &mut Rng::stream(seed, "world/demand"),
        &spec.demand,
        spec.horizon_us,
        spec.shipments,
    )
    .into_iter()
    .map(|t| start_us + t)
    .collect();
    let params = orders::OrderParams {
        amend_share: spec.amend_share,
        cancel_share: spec.cancel_share,
        failed_delivery_share: spec.failed_delivery_share,
        staffed,
    };
    let orders = orders::orders(
        &mut Rng::stream(seed, "world/orders"),
        &created,
        &customers,
        &depots,
        &params,
    );

    let mut out = Outbox::new(spec.vehicles);
    out.reserve(Outbox::ERP, orders.len() * 2);
    for o in &orders {
        orders::emit_erp(&mut out, o, &customers[o.customer as usize]);
    }
    let mut fleet = routes::Fleet::new(
        routes::FleetParams {
            orders: &orders,
            depots: &depots,
            vehicle_depot,
            start_us,
            end_us,
            speed_kph: spec.speed_kph,
            ping_interval_us: spec.ping_interval_us,
            billing: &scenario.billing,
            billing_seed: Rng::stream(seed, "world/billing").next_u64(),
        },
        &mut Rng::stream(seed, "world/vehicles"),
    );
    fleet.run(&mut out);
    let (events, tags) = out.finish(end_us, &mut Rng::stream(seed, "world/lag"));
    let facts = facts::compute(&events, &tags, &orders, &fleet.truth, &fleet.vehicles);
    World { events, facts }
}

fn nearest_depot(depots: &[Point], among: &[u16], p: Point) -> u16 {
    let mut best = (among[0], f64::INFINITY);
    for &d in among {
        let km = distance_km(depots[d as usize], p);
        if km < best.1 {
            best = (d, km);
        }
    }
    best.0
}

/// The depot of each vehicle (ids 1..=n in order): largest-remainder shares of the customers
/// nearest to each depot; depots come out in index order.
fn allocate_vehicles(nearest: &[u16], depots: usize, vehicles: u64) -> Vec<u16> {
    let mut count = vec![0u64; depots];
    for &d in nearest {
        count[d as usize] += 1;
    }
    let total: u64 = count.iter().sum::<u64>().max(1);
    let mut alloc: Vec<u64> = count.iter().map(|c| vehicles * c / total).collect();
    let mut rest: Vec<(u64, usize)> = count
        .iter()
        .enumerate()
        .map(|(d, c)| (vehicles * c % total, d))
        .collect();
    rest.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let missing = vehicles - alloc.iter().sum::<u64>();
    for &(_, d) in rest.iter().take(missing as usize) {
        alloc[d] += 1;
    }
    alloc
        .iter()
        .enumerate()
        .flat_map(|(d, &n)| std::iter::repeat_n(d as u16, n as usize))
        .collect()
}
