//! The benchmark's workload: events from a generated world (a realistic mix, mostly
//! telematics), so `waybill bench` measures the traffic the simulator's scenarios send.

use crate::scenario::Scenario;
use crate::world;
use waybill_core::event::Event;

/// Events per shipment per simulated hour of horizon, roughly (pings included, a truck per
/// 20 orders); used to pick a horizon that yields the events asked for.
const EVENTS_PER_SHIPMENT_HOUR: f64 = 1.05;

/// A benchmark workload.
pub struct Workload {
    /// In emit order (what the systems send, before any fault).
    pub events: Vec<Event>,
    /// Distinct shipments the events touch.
    pub shipments_touched: u64,
    /// Vehicles in the world.
    pub vehicles: u64,
}

/// About `events` events over a world of `shipments` orders, deterministic for `seed`.
///
/// The world is a day of operations sized so the fleet keeps up (a truck per 20 orders); the
/// stream is cut after `events` events in emit order, so every event is one the systems
/// would really have sent by then. When a day yields fewer, all of it is returned.
pub fn workload(events: u64, shipments: u64, seed: u64) -> Workload {
    assert!(events > 0 && shipments > 0);
    let vehicles = (shipments / 20).max(4);
    // Orders spread over the horizon, lifecycles cut at its end: a horizon with a little
    // more than the events asked for, lengthened (up to a day) if it falls short.
    let per_shipment = events as f64 / shipments as f64;
    let mut hours = ((per_shipment / EVENTS_PER_SHIPMENT_HOUR) * 1.15)
        .ceil()
        .clamp(2.0, 24.0) as u64;
    let w = loop {
        let toml = format!(
            "name = \"bench\"\n[world]\nshipments = {shipments}\nvehicles = {vehicles}\n\
             start = \"2026-11-27T00:00:00Z\"\nhorizon = \"{hours}h\"\nping_interval = \"60s\"\n\
             region = {{ lat = 52.37, lon = 4.90, radius_km = 40.0 }}\n"
        );
        let scenario = Scenario::from_toml(&toml).expect("the bench scenario is valid");
        let w = world::generate(&scenario, seed);
        if w.events.len() as u64 >= events || hours >= 24 {
            break w;
        }
        hours = (hours + hours.div_ceil(4)).min(24);
    };
    let take = (events as usize).min(w.events.len());
    let events: Vec<Event> = w.events.into_iter().take(take).map(|e| e.event).collect();
    let mut ids: Vec<u64> = events
        .iter()
        .filter(|e| e.event_type().subject_kind() == waybill_core::event::SubjectKind::Shipment)
        .map(|e| e.subject)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    Workload {
        events,
        shipments_touched: ids.len() as u64,
        vehicles,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sized_deterministic_and_mostly_telematics() {
        let a = workload(20_000, 1_000, 3);
        let b = workload(20_000, 1_000, 3);
        assert_eq!(a.events.len(), 20_000);
        assert!(a.events == b.events);
        let pings = a
            .events
            .iter()
            .filter(|e| e.event_type() == waybill_core::event::EventType::VehiclePosition)
            .count();
        assert!(
            pings * 2 > a.events.len(),
            "{pings} pings of {}",
            a.events.len()
        );
        assert!(a.shipments_touched > 500, "{}", a.shipments_touched);
    }
}
