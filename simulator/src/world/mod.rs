//! The ground-truth world: customers, depots, orders, vehicles and their routes, telematics,
//! milestones and billing, all drawn from the `"world"` sub-streams of one seed, and the
//! events each system emits about it.

use crate::scenario::Scenario;
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
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Facts {
    pub shipments: u64,
    pub vehicles: u64,
    pub pings: u64,
    pub amendments: u64,
    pub cancellations: u64,
    pub failed_deliveries: u64,
    pub deliveries: u64,
    /// Delivered shipments whose detention charge was due.
    pub detention_due: u64,
    /// Of those, how many billing forgot (`billing.detention_omission`).
    pub detention_omitted: u64,
    /// The detention cents billing forgot.
    pub detention_omitted_cents: i64,
    pub voided_charges: u64,
    pub invoices: u64,
    pub disputed_settlements: u64,
}

/// Generates the world of `scenario` from `seed`.
pub fn generate(scenario: &Scenario, seed: u64) -> World {
    let _ = (scenario, seed);
    todo!("world generation")
}
