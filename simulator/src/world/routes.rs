//! Dispatch and driving: the route optimizer puts released orders on tours (cluster first by
//! bearing sector from the depot, earliest window first; then sequenced by window, nearest
//! neighbour among stops with close windows), vehicles load at their depot, drive each leg
//! (road distance over a noisy speed), wait for the window when early, queue at the dock
//! (heavy-tailed wait), deliver or fail, and drive back. The optimizer publishes ETAs, revises
//! them as the vehicle progresses and replans a stop after an amendment.
//!
//! Vehicles are simulated in order of the time they become free (a discrete-event loop), so a
//! tour only sees what was known when it was planned. Everything a tour does is drawn from the
//! vehicle's own stream.

use super::billing::{self, Billed, Delivery};
use super::emit::{Outbox, Tag};
use super::map::{Point, road_km};
use super::orders::Order;
use super::telematics::Unit;
use crate::rng::Rng;
use crate::scenario::BillingSpec;
use rustc_hash::FxHashMap;
use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};
use waybill_core::event::{Body, Pod, Stop};

const S_US: i64 = 1_000_000;
const MIN_US: i64 = 60 * S_US;
const HOUR_US: i64 = 60 * MIN_US;

/// Bearing sectors per depot (the clusters tours are cut from).
const SECTORS: usize = 12;
/// Payload limit of a truck.
const CAPACITY_KG: u64 = 20_000;
/// Most shipments on one tour.
const MAX_SHIPMENTS: usize = 40;
/// Tour clock estimates used when picking: the first stop, each further stop, each further
/// drop at the same dock.
const FIRST_STOP_US: i64 = 75 * MIN_US;
const NEXT_STOP_US: i64 = 50 * MIN_US;
const EXTRA_DROP_US: i64 = 8 * MIN_US;
/// Orders of the same consignee whose windows start this close go to its dock together.
const CONSOLIDATE_US: i64 = HOUR_US;
/// A tour takes orders whose windows start at most this long after the earliest one.
const WINDOW_SPREAD_US: i64 = 3 * HOUR_US;
/// The optimizer publishes a revised ETA when it moved at least this much.
const ETA_THRESHOLD_US: i64 = 5 * MIN_US;

const FAIL_REASONS: [&str; 5] = [
    "recipient absent",
    "dock closed",
    "refused by consignee",
    "address not found",
    "no access to site",
];
const INITIALS: &[u8] = b"ABCDEFGHIJKLMNPRSTVW";
const SURNAMES: [&str; 16] = [
    "Jansen", "de Vries", "Bakker", "Visser", "Smit", "Meijer", "Mulder", "Bos", "Peters",
    "Hendriks", "Dekker", "Brouwer", "Schmidt", "Martin", "Rossi", "Novak",
];

/// What happened to one shipment on the road (ground truth for the facts).
#[derive(Debug, Clone, Copy, Default)]
pub struct ShipmentTruth {
    /// Delivery attempts made (failed or not).
    pub attempts: u8,
    /// Dock wait of the successful attempt.
    pub dock_wait_us: i64,
    pub billed: Billed,
}

/// A vehicle and its tallies.
#[derive(Debug, Clone)]
pub struct Vehicle {
    pub id: u64,
    pub depot: u16,
    pub unit: Unit,
    rng: Rng,
    pub tours: u32,
    /// Legs driven (with pings possible).
    pub legs: u32,
    /// Time on the road up to the horizon.
    pub moving_us: i64,
}

/// Where a released order waits: its bearing sector and its window-start key.
#[derive(Debug, Clone, Copy, Default)]
struct Placed {
    sector: u8,
    ws: i64,
}

/// Orders waiting at one depot.
#[derive(Debug, Default)]
struct DepotQueue {
    /// (release time, shipment id) not yet released.
    unreleased: BinaryHeap<Reverse<(i64, u64)>>,
    /// Released orders by bearing sector, as (window start, shipment id).
    sectors: Vec<BTreeSet<(i64, u64)>>,
    /// The same orders by customer (looked up, never iterated as a whole).
    by_customer: FxHashMap<u32, BTreeSet<(i64, u64)>>,
}

impl DepotQueue {
    fn release(&mut self, t_us: i64, orders: &[Order], depot: Point, placed: &mut [Placed]) {
        while let Some(&Reverse((r, id))) = self.unreleased.peek() {
            if r > t_us {
                break;
            }
            self.unreleased.pop();
            let o = &orders[(id - 1) as usize];
            let p = Placed {
                sector: depot.sector_of(o.destination_at(r), SECTORS) as u8,
                ws: o.window_at(r).0,
            };
            placed[(id - 1) as usize] = p;
            self.sectors[p.sector as usize].insert((p.ws, id));
            self.by_customer
                .entry(o.customer)
                .or_default()
                .insert((p.ws, id));
        }
    }

    fn remove(&mut self, id: u64, orders: &[Order], placed: &[Placed]) {
        let p = placed[(id - 1) as usize];
        self.sectors[p.sector as usize].remove(&(p.ws, id));
        let c = orders[(id - 1) as usize].customer;
        if let Some(set) = self.by_customer.get_mut(&c) {
            set.remove(&(p.ws, id));
        }
    }

    /// Orders for a tour of up to `k` stops leaving at `t_us`, or none: the earliest window
    /// of the depot, then more from its sector and the two next to it, each stop with the
    /// same consignee's other orders whose windows are close (consolidated at one dock).
    /// Same-consignee orders come out next to each other.
    fn pick(&mut self, t_us: i64, k: usize, orders: &[Order], placed: &[Placed]) -> Vec<u64> {
        let mut best: Option<(i64, usize)> = None;
        for s in 0..SECTORS {
            while let Some(&(ws, id)) = self.sectors[s].first() {
                if orders[(id - 1) as usize].cancelled_by(t_us) {
                    self.remove(id, orders, placed);
                    continue;
                }
                if best.is_none_or(|(b, _)| ws < b) {
                    best = Some((ws, s));
                }
                break;
            }
        }
        let Some((ws0, s0)) = best else {
            return Vec::new();
        };
        let mut picked = Vec::with_capacity(2 * k);
        let mut load = 0u64;
        let mut stops = 0;
        let mut mates: Vec<u64> = Vec::new();
        // A rough clock of the tour: the first stop after loading and the drive out, each
        // further stop about 50 min later, each extra drop at the same dock a few minutes.
        let mut eta = t_us + FIRST_STOP_US;
        'sectors: for s in [s0, (s0 + 1) % SECTORS, (s0 + SECTORS - 1) % SECTORS] {
            while stops < k && picked.len() < MAX_SHIPMENTS {
                let Some(&(ws, id)) = self.sectors[s].first() else {
                    break;
                };
                if ws > ws0 + WINDOW_SPREAD_US {
                    break;
                }
                let o = &orders[(id - 1) as usize];
                if o.cancelled_by(t_us) {
                    self.remove(id, orders, placed);
                    continue;
                }
                let eta_here = if picked.is_empty() {
                    eta
                } else {
                    eta + NEXT_STOP_US
                };
                if !picked.is_empty() {
                    if load + u64::from(o.weight_kg) > CAPACITY_KG {
                        break 'sectors;
                    }
                    // Late on this tour but on time as the first stop of the next: leave it.
                    // (Already late either way: take it now.)
                    let we = o.window_at(t_us).1;
                    let fresh_in_time = we >= t_us + FIRST_STOP_US + HOUR_US / 2;
                    if fresh_in_time && we < eta_here.max(ws) + HOUR_US / 2 {
                        break;
                    }
                }
                self.remove(id, orders, placed);
                load += u64::from(o.weight_kg);
                picked.push(id);
                stops += 1;
                eta = eta_here.max(ws);
                mates.clear();
                if let Some(set) = self.by_customer.get(&o.customer) {
                    mates.extend(
                        set.range((ws - CONSOLIDATE_US, 0)..(ws + CONSOLIDATE_US, u64::MAX))
                            .map(|&(_, m)| m),
                    );
                }
                for &m in &mates {
                    let om = &orders[(m - 1) as usize];
                    if om.cancelled_by(t_us) {
                        self.remove(m, orders, placed);
                        continue;
                    }
                    if picked.len() >= MAX_SHIPMENTS || load + u64::from(om.weight_kg) > CAPACITY_KG
                    {
                        break;
                    }
                    self.remove(m, orders, placed);
                    load += u64::from(om.weight_kg);
                    picked.push(m);
                    eta += EXTRA_DROP_US;
                }
            }
        }
        picked
    }

    fn next_release(&self) -> Option<i64> {
        self.unreleased.peek().map(|r| r.0.0)
    }
}

/// One stop of a tour as it turned out.
#[derive(Debug, Clone, Copy)]
struct StopRun {
    id: u64,
    /// Arrival at the dock when the stop was visited.
    arrived_us: Option<i64>,
    /// Arrival, or an estimate for stops not visited (skipped or past the horizon).
    eta_truth_us: i64,
}

/// The fleet, the depots' queues and what happened to each shipment.
pub struct Fleet<'a> {
    pub vehicles: Vec<Vehicle>,
    pub truth: Vec<ShipmentTruth>,
    orders: &'a [Order],
    depots: &'a [Point],
    queues: Vec<DepotQueue>,
    placed: Vec<Placed>,
    start_us: i64,
    end_us: i64,
    speed_kph: f64,
    billing: &'a BillingSpec,
    billing_seed: u64,
}

/// Everything the fleet needs.
pub struct FleetParams<'a> {
    pub orders: &'a [Order],
    pub depots: &'a [Point],
    /// Depot of vehicle i + 1.
    pub vehicle_depot: Vec<u16>,
    pub start_us: i64,
    pub end_us: i64,
    pub speed_kph: f64,
    pub ping_interval_us: i64,
    pub billing: &'a BillingSpec,
    pub billing_seed: u64,
}

impl<'a> Fleet<'a> {
    pub fn new(p: FleetParams<'a>, rng: &mut Rng) -> Fleet<'a> {
        let mut queues: Vec<DepotQueue> = p
            .depots
            .iter()
            .map(|_| DepotQueue {
                unreleased: BinaryHeap::new(),
                sectors: vec![BTreeSet::new(); SECTORS],
                by_customer: FxHashMap::default(),
            })
            .collect();
        for o in p.orders {
            queues[o.depot as usize]
                .unreleased
                .push(Reverse((o.release_us, o.id)));
        }
        let vehicles = p
            .vehicle_depot
            .iter()
            .enumerate()
            .map(|(i, &depot)| {
                let id = i as u64 + 1;
                let mut vrng = rng.fork("vehicle");
                Vehicle {
                    id,
                    depot,
                    unit: Unit {
                        vehicle_id: id,
                        src: Outbox::fleet(id),
                        phase_us: p.start_us + vrng.range_i64(0, p.ping_interval_us - 1),
                        interval_us: p.ping_interval_us,
                    },
                    rng: vrng,
                    tours: 0,
                    legs: 0,
                    moving_us: 0,
                }
            })
            .collect();
        Fleet {
            vehicles,
            truth: vec![ShipmentTruth::default(); p.orders.len()],
            orders: p.orders,
            depots: p.depots,
            queues,
            placed: vec![Placed::default(); p.orders.len()],
            start_us: p.start_us,
            end_us: p.end_us,
            speed_kph: p.speed_kph,
            billing: p.billing,
            billing_seed: p.billing_seed,
        }
    }

    /// Runs every vehicle until the horizon.
    pub fn run(&mut self, out: &mut Outbox) {
        // Shifts start staggered over the first hour.
        let mut free: BinaryHeap<Reverse<(i64, usize)>> = (0..self.vehicles.len())
            .map(|i| {
                let t = self.start_us + self.vehicles[i].rng.range_i64(0, HOUR_US);
                Reverse((t, i))
            })
            .collect();
        while let Some(Reverse((t, vi))) = free.pop() {
            if t > self.end_us {
                continue;
            }
            let depot = self.vehicles[vi].depot as usize;
            let q = &mut self.queues[depot];
            q.release(t, self.orders, self.depots[depot], &mut self.placed);
            let k = self.vehicles[vi].rng.range_i64(3, 10) as usize;
            let picked = q.pick(t, k, self.orders, &self.placed);
            let next = if picked.is_empty() {
                q.next_release()
                    .map_or(t + 30 * MIN_US, |r| r.clamp(t + MIN_US, t + 30 * MIN_US))
            } else {
                self.tour(vi, t, picked, out)
            };
            free.push(Reverse((next, vi)));
        }
    }

    fn order(&self, id: u64) -> &'a Order {
        &self.orders[(id - 1) as usize]
    }

    /// Sequences the picked orders, keeping each consignee's orders together (one dock):
    /// by window start, nearest neighbour among stops whose windows start within an hour of
    /// each other.
    fn sequence(&self, picked: Vec<u64>, t_us: i64, from: Point) -> Vec<u64> {
        // Runs of the same customer, as pick hands them out.
        let mut runs: Vec<(i64, Point, Vec<u64>)> = Vec::new();
        let mut last_customer = None;
        for id in picked {
            let o = self.order(id);
            if last_customer == Some(o.customer)
                && let Some(run) = runs.last_mut()
            {
                run.0 = run.0.min(o.window_at(t_us).0);
                run.2.push(id);
                continue;
            }
            last_customer = Some(o.customer);
            runs.push((o.window_at(t_us).0, o.destination_at(t_us), vec![id]));
        }
        runs.sort_by_key(|r| (r.0, r.2[0]));
        let mut out = Vec::new();
        let mut pos = from;
        let mut i = 0;
        while i < runs.len() {
            let group_end = runs[i..]
                .iter()
                .position(|x| x.0 >= runs[i].0 + HOUR_US)
                .map_or(runs.len(), |p| i + p);
            let mut group: Vec<(i64, Point, Vec<u64>)> = runs[i..group_end].to_vec();
            while !group.is_empty() {
                let (j, _) = group
                    .iter()
                    .enumerate()
                    .map(|(j, x)| (j, road_km(pos, x.1)))
                    .fold((0, f64::INFINITY), |b, c| if c.1 < b.1 { c } else { b });
                let (_, p, mut ids) = group.remove(j);
                pos = p;
                ids.sort_by_key(|&id| (self.order(id).window_at(t_us).0, id));
                out.extend(ids);
            }
            i = group_end;
        }
        out
    }

    /// Drives vehicle `vi` from `from` at `t0` to `to`; returns the arrival time.
    fn drive(&mut self, vi: usize, from: Point, to: Point, t0: i64, out: &mut Outbox) -> i64 {
        let end = self.end_us;
        let v = &mut self.vehicles[vi];
        let km = road_km(from, to);
        if km < 0.2 {
            // Another dock on the same site.
            return t0 + v.rng.range_i64(MIN_US, 3 * MIN_US);
        }
        let speed = self.speed_kph * libm::exp(0.15 * v.rng.normal()).clamp(0.5, 1.5);
        let t1 = t0 + (km / speed * HOUR_US as f64) as i64;
        v.legs += 1;
        v.moving_us += (t1.min(end) - t0.min(end)).max(0);
        v.unit.leg(out, &mut v.rng, from, to, t0, t1, speed);
        t1
    }

    /// A nominal drive time (for ETAs of stops not driven to).
    fn nominal_us(&self, from: Point, to: Point) -> i64 {
        (road_km(from, to) / self.speed_kph * HOUR_US as f64) as i64
    }

    /// One tour of vehicle `vi` starting at the depot at `t_start`; returns when the vehicle
    /// is free again.
    fn tour(&mut self, vi: usize, t_start: i64, picked: Vec<u64>, out: &mut Outbox) -> i64 {
        let end = self.end_us;
        let depot_pt = self.depots[self.vehicles[vi].depot as usize];
        let seq = self.sequence(picked, t_start, depot_pt);
        let (vid, src, tour_no) = {
            let v = &mut self.vehicles[vi];
            v.tours += 1;
            (v.id, v.unit.src, v.tours)
        };
        out.reserve(src, 8 * seq.len() + 64);

        // Loading at the depot.
        let rng = &mut self.vehicles[vi].rng;
        for &id in &seq {
            let t = t_start + rng.range_i64(0, 30 * S_US);
            out.push(src, t, id, Body::StopArrived { stop: Stop::Pickup });
        }
        let mut t = t_start + rng.range_i64(MIN_US, 4 * MIN_US);
        for &id in &seq {
            t += rng.range_i64(MIN_US, 3 * MIN_US);
            out.push(src, t, id, Body::ShipmentPickedUp);
        }
        let depart = t + rng.range_i64(MIN_US, 5 * MIN_US);
        for &id in &seq {
            out.push(src, depart, id, Body::StopDeparted { stop: Stop::Pickup });
        }

        // The stops.
        let mut t = depart;
        let mut pos = depot_pt;
        let mut stops: Vec<StopRun> = Vec::with_capacity(seq.len());
        // (time, stops done): when the optimizer hears the vehicle left a stop.
        let mut departures: Vec<(i64, usize)> = vec![(depart, 0)];
        let mut failed: Vec<u64> = Vec::new();
        // At a consignee's dock: (arrival, when the dock is free for the next unload).
        let mut dock: Option<(i64, i64)> = None;
        for &id in &seq {
            let o = self.order(id);
            if t > end || o.cancelled_by(t) {
                // Past the horizon, or cancelled before the vehicle set off to it (the goods
                // go back to the depot).
                let eta = t + self.nominal_us(pos, o.destination_at(t));
                stops.push(StopRun {
                    id,
                    arrived_us: None,
                    eta_truth_us: eta,
                });
                continue;
            }
            let dest = o.destination_at(t);
            let (ws, _) = o.window_at(t);
            let same_dock = dock.is_some() && road_km(pos, dest) < 0.2;
            let (ta, free_from) = match dock {
                Some(d) if same_dock => d,
                _ => {
                    let t_arr = self.drive(vi, pos, dest, t, out);
                    let rng = &mut self.vehicles[vi].rng;
                    // Early: park nearby and show up shortly before the window opens.
                    let ta = t_arr.max(ws - rng.range_i64(0, 15 * MIN_US));
                    // Queueing for the dock: log-normal, median 25 min, a tail past 2 h.
                    let wait = (rng.lognormal(25.0, 0.7) * MIN_US as f64) as i64;
                    (ta, ta + wait)
                }
            };
            let rng = &mut self.vehicles[vi].rng;
            out.push(
                src,
                ta,
                id,
                Body::StopArrived {
                    stop: Stop::Delivery,
                },
            );
            let truth = &mut self.truth[(id - 1) as usize];
            let td;
            if o.fail_first && truth.attempts == 0 {
                // Turned away: no unloading (at a first dock, without queueing).
                let from = if same_dock { free_from } else { ta };
                td = from + rng.range_i64(3 * MIN_US, 15 * MIN_US);
                let reason = rng.pick(&FAIL_REASONS).to_string();
                let tf = td - rng.range_i64(10 * S_US, 60 * S_US);
                out.push(src, tf, id, Body::DeliveryFailed { reason });
                out.push(
                    src,
                    td,
                    id,
                    Body::StopDeparted {
                        stop: Stop::Delivery,
                    },
                );
                truth.attempts += 1;
                failed.push(id);
                dock = Some((ta, if same_dock { td } else { free_from }));
            } else {
                // Unloading: a first shipment 5-15 min, more pallets for the same dock 3-8.
                let service = if same_dock {
                    rng.range_i64(3 * MIN_US, 8 * MIN_US)
                } else {
                    rng.range_i64(5 * MIN_US, 15 * MIN_US)
                };
                td = free_from + service;
                let t_pod = td - rng.range_i64(30 * S_US, 150 * S_US);
                let pod = if rng.chance(0.995) {
                    let initial = INITIALS[rng.below(INITIALS.len() as u64) as usize] as char;
                    let signed_by = format!("{initial}. {}", rng.pick(&SURNAMES));
                    let photo_ref = rng
                        .chance(0.7)
                        .then(|| format!("pod/{id}/{}.jpg", truth.attempts + 1));
                    Some(Pod {
                        signed_by,
                        photo_ref,
                    })
                } else {
                    None
                };
                let tag = if truth.attempts > 0 {
                    Tag::Redelivery
                } else {
                    Tag::Plain
                };
                out.push_tagged(src, t_pod, id, tag, Body::ShipmentDelivered { pod });
                out.push(
                    src,
                    td,
                    id,
                    Body::StopDeparted {
                        stop: Stop::Delivery,
                    },
                );
                let redelivered = truth.attempts > 0;
                truth.attempts += 1;
                truth.dock_wait_us = free_from - ta;
                let mut brng = billing::shipment_rng(self.billing_seed, id);
                truth.billed = billing::bill(
                    out,
                    &mut brng,
                    self.billing,
                    o,
                    &Delivery {
                        arrived_us: ta,
                        departed_us: td,
                        redelivered,
                    },
                );
                dock = Some((ta, td));
            }
            t = t.max(td);
            pos = dest;
            stops.push(StopRun {
                id,
                arrived_us: Some(ta),
                eta_truth_us: ta,
            });
            departures.push((t, stops.len()));
        }
        // Back to the depot; failed deliveries go out again on a later tour.
        let back = if t > end {
            t
        } else {
            self.drive(vi, pos, depot_pt, t, out)
        };
        let depot = self.vehicles[vi].depot as usize;
        let rng = &mut self.vehicles[vi].rng;
        for id in failed {
            let r = back + rng.range_i64(10 * MIN_US, 60 * MIN_US);
            self.queues[depot].unreleased.push(Reverse((r, id)));
        }
        let free = back + rng.range_i64(5 * MIN_US, 15 * MIN_US);
        self.route_events(vi, vid, tour_no, t_start, &stops, &departures, out);
        free
    }

    /// The optimizer's side of a tour: the plan, replans after amendments, revised ETAs.
    #[allow(clippy::too_many_arguments)]
    fn route_events(
        &mut self,
        vi: usize,
        vid: u64,
        tour_no: u32,
        t_start: i64,
        stops: &[StopRun],
        departures: &[(i64, usize)],
        out: &mut Outbox,
    ) {
        let orders = self.orders;
        let rng = &mut self.vehicles[vi].rng;
        let route_id = format!("RT-{vid}-{tour_no}");
        let tp = t_start + rng.range_i64(5 * S_US, 60 * S_US);
        // The estimate error of each stop drifts and shrinks as the arrival nears.
        let mut err: Vec<f64> = Vec::with_capacity(stops.len());
        let mut published: Vec<i64> = Vec::with_capacity(stops.len());
        for (i, s) in stops.iter().enumerate() {
            let e = eta_sd_us(s.eta_truth_us - tp) * rng.normal();
            let eta = round_s((s.eta_truth_us as f64 + e) as i64).max(tp + MIN_US);
            err.push(e);
            published.push(eta);
            let tag = if i == 0 { Tag::TourPlanned } else { Tag::Plain };
            out.push_tagged(
                Outbox::ROUTE,
                tp,
                s.id,
                tag,
                Body::RoutePlanned {
                    route_id: route_id.clone(),
                    vehicle_id: vid,
                    stop_index: (i + 1) as u16,
                    eta_us: eta,
                },
            );
        }
        for (i, s) in stops.iter().enumerate() {
            let o = &orders[(s.id - 1) as usize];
            for a in &o.amendments {
                if a.time_us <= tp || a.time_us >= s.eta_truth_us || o.cancelled_by(a.time_us) {
                    continue;
                }
                let t = a.time_us + rng.range_i64(20 * S_US, 120 * S_US);
                let e = eta_sd_us(s.eta_truth_us - t) * rng.normal();
                let eta = round_s((s.eta_truth_us as f64 + e) as i64).max(t + MIN_US);
                out.push_tagged(
                    Outbox::ROUTE,
                    t,
                    s.id,
                    Tag::Replan,
                    Body::RoutePlanned {
                        route_id: route_id.clone(),
                        vehicle_id: vid,
                        stop_index: (i + 1) as u16,
                        eta_us: eta,
                    },
                );
                published[i] = eta;
            }
        }
        for &(td, done) in departures {
            for (j, s) in stops.iter().enumerate().skip(done) {
                let Some(arrived) = s.arrived_us else {
                    continue;
                };
                if orders[(s.id - 1) as usize].cancelled_by(td) || arrived <= td {
                    continue;
                }
                err[j] = 0.6 * err[j] + 0.8 * eta_sd_us(arrived - td) * rng.normal();
                let eta = round_s((arrived as f64 + err[j]) as i64).max(td + MIN_US);
                if (eta - published[j]).abs() >= ETA_THRESHOLD_US {
                    let t = td + rng.range_i64(5 * S_US, 60 * S_US);
                    out.push(Outbox::ROUTE, t, s.id, Body::EtaRevised { eta_us: eta });
                    published[j] = eta;
                }
            }
        }
    }
}

/// Spread of an ETA made `ahead_us` before the arrival: 1 min plus 3 min per sqrt(hour).
fn eta_sd_us(ahead_us: i64) -> f64 {
    let h = ahead_us.max(0) as f64 / HOUR_US as f64;
    (1.0 + 3.0 * h.sqrt()) * MIN_US as f64
}

fn round_s(t_us: i64) -> i64 {
    t_us - t_us.rem_euclid(S_US)
}
