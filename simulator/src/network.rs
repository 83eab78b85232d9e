//! The delivery network between the world and the core: outages (held, then a burst),
//! reordering, duplicates, loss and malformed events, each fault kind drawing from its own
//! sub-stream (`"fault/<kind>"`). Produces the stream in arrival order.

use crate::scenario::Scenario;
use crate::world::World;
use waybill_core::event::DeadLetterReason;

/// What arrives at the core, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivered {
    /// `world.events[i]`.
    Event(u32),
    /// A byte-for-byte redelivery of `world.events[i]`.
    Duplicate(u32),
    /// An extra, malformed copy of `world.events[i]` that the core must dead-letter with `reason`.
    Malformed { of: u32, reason: DeadLetterReason },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    /// Simulated time the core receives it.
    pub arrival_us: i64,
    pub what: Delivered,
}

/// A window in which a system was held back.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OutageWindow {
    pub source: String,
    pub from_us: i64,
    pub to_us: i64,
    /// Events held back and delivered as a burst at `to_us`.
    pub held: u64,
}

/// What the network injected (the expectations of the checks).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Injected {
    pub duplicates: u64,
    pub dropped: u64,
    /// Dropped events below a later delivered sequence of the same source: the gaps the core
    /// can see. A source's last events, if dropped, leave no gap.
    pub dropped_detectable: u64,
    /// Malformed copies by reason, indexed by `DeadLetterReason::index`.
    pub malformed: [u64; 8],
    pub reordered: u64,
    pub held_by_outage: u64,
}

/// The arrival-ordered stream.
#[derive(Debug, Clone, Default)]
pub struct Stream {
    /// Sorted by (`arrival_us`, then a deterministic tie-break).
    pub deliveries: Vec<Delivery>,
    pub injected: Injected,
    pub outages: Vec<OutageWindow>,
    /// `dropped[i]` is true when `world.events[i]` was lost.
    pub dropped: Vec<bool>,
}

/// Sends the world's events through the faults of `scenario`.
pub fn deliver(world: &World, scenario: &Scenario, seed: u64) -> Stream {
    let _ = (world, scenario, seed);
    todo!("delivery network")
}

/// The bytes on the wire for one delivery (one JSON line, no newline).
pub fn encode(world: &World, delivery: &Delivery, out: &mut Vec<u8>) {
    let _ = (world, delivery, out);
    todo!("wire encoding")
}
