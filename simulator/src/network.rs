//! The delivery network between the world and the core: outages (held, then a burst),
//! reordering, duplicates, loss and malformed events, each fault kind drawing from its own
//! sub-stream (`"fault/<kind>"`). Produces the stream in arrival order.
//!
//! Every world event starts at its `emit_us`. The faults of the scenario are applied kind by
//! kind, each over all events in world order:
//!
//! 1. **drop**: with `probability`, the event is lost (`dropped[i]`); it is never delivered,
//!    duplicated or malformed.
//! 2. **outage**: an event emitted in `[from, to)` is held and arrives at `to`, in emit order
//!    with the rest of the burst. Outages apply one after the other, so an event released
//!    into a later window is held again.
//! 3. **reorder**: with `probability`, an extra delay uniform in `(0, max_delay]`.
//! 4. **duplicate**: with `probability`, a byte-for-byte second delivery
//!    [`DUPLICATE_DELAY_MAX_US`] or less after the event itself.
//! 5. **malformed**: with `probability`, an extra delivery of a malformed copy (the event is
//!    still delivered), with a dead-letter reason drawn uniformly over all eight, arriving
//!    [`MALFORMED_DELAY_MAX_US`] or less after the event.
//!
//! Each fault draws from its own stream: the first fault of a kind from
//! `Rng::stream(seed, "fault/<kind>")`, the n-th (n >= 2) from `"fault/<kind>/<n>"`. A fault
//! draws for every event whose source it selects, whatever the other faults did to that
//! event, so adding or removing a fault never changes what another fault decides.
//! `crash` faults belong to the run driver and are ignored here.
//!
//! Arrival order is (`arrival_us`, world index, delivery kind, reason). Events still at their
//! emit time are already in that order; only the displaced deliveries are sorted, then merged.

mod malformed;
mod versions;

pub use versions::Wire;

use crate::rng::Rng;
use crate::scenario::{Fault, Scenario, SourceSel};
use crate::world::World;
use rustc_hash::FxHashMap;
use waybill_core::event::{DeadLetterReason, System};

/// Most a duplicate arrives after the event it repeats.
pub const DUPLICATE_DELAY_MAX_US: i64 = 30_000_000;
/// Most a malformed copy arrives after the event it was made from.
pub const MALFORMED_DELAY_MAX_US: i64 = 30_000_000;

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

impl Delivered {
    /// The world event this delivery carries or was made from.
    pub fn index(self) -> u32 {
        match self {
            Delivered::Event(i) | Delivered::Duplicate(i) => i,
            Delivered::Malformed { of, .. } => of,
        }
    }

    /// Tie-break rank after the index: the event, then its duplicates, then malformed copies
    /// by reason.
    fn rank(self) -> u32 {
        match self {
            Delivered::Event(_) => 0,
            Delivered::Duplicate(_) => 1,
            Delivered::Malformed { reason, .. } => 2 + reason.index() as u32,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    /// Simulated time the core receives it.
    pub arrival_us: i64,
    pub what: Delivered,
}

impl Delivery {
    /// The total order of the stream: (arrival, world index, kind, reason).
    fn sort_key(&self) -> u128 {
        let t = (self.arrival_us as u64 ^ (1 << 63)) as u128;
        (t << 64) | ((self.what.index() as u128) << 8) | self.what.rank() as u128
    }
}

/// A window in which a system was held back.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OutageWindow {
    /// The scenario's source selector: `erp`, `route`, `fleet`, `billing` or `*`.
    pub source: String,
    /// Simulated times (microseconds since the epoch, like `arrival_us`).
    pub from_us: i64,
    pub to_us: i64,
    /// Events held back and delivered as a burst at `to_us` (dropped events not counted).
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
    /// Delays added to delivered events by reorder faults.
    pub reordered: u64,
    /// Delivered events held by at least one outage.
    pub held_by_outage: u64,
}

impl Injected {
    /// Every malformed copy, whatever its reason.
    pub fn malformed_total(&self) -> u64 {
        self.malformed.iter().sum()
    }
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
    /// Which events are sent in schema version 2.
    pub wire: Wire,
}

impl Stream {
    /// True when `world.events[i]` reached the core at least once (an empty `dropped` means
    /// nothing was lost).
    pub fn delivered(&self, i: usize) -> bool {
        !self.dropped.get(i).copied().unwrap_or(false)
    }
}

/// The system of a source (`erp/main` -> erp), if it names one.
fn system_of(source: &str) -> Option<System> {
    let system = source.split_once('/').map_or(source, |(s, _)| s);
    System::parse(system)
}

fn selects(sel: SourceSel, system: Option<System>) -> bool {
    match system {
        Some(s) => sel.matches(s),
        None => sel.0.is_none(),
    }
}

/// The random stream of the `n`-th (from 1) fault of `kind`.
fn fault_rng(seed: u64, kind: &str, n: usize) -> Rng {
    if n <= 1 {
        Rng::stream(seed, &format!("fault/{kind}"))
    } else {
        Rng::stream(seed, &format!("fault/{kind}/{n}"))
    }
}

/// Sends the world's events through the faults of `scenario`.
pub fn deliver(world: &World, scenario: &Scenario, seed: u64) -> Stream {
    let events = &world.events;
    let n = events.len();
    assert!(n <= u32::MAX as usize, "at most 2^32 - 1 events");
    let systems: Vec<Option<System>> = events.iter().map(|e| system_of(&e.event.source)).collect();
    let start_us = scenario.world.start_us;
    let mut injected = Injected::default();

    // Count the faults of each kind as they come, for their stream names.
    let mut seen: FxHashMap<&'static str, usize> = FxHashMap::default();
    let mut ordinal = |kind: &'static str| {
        let c = seen.entry(kind).or_insert(0);
        *c += 1;
        *c
    };
    let numbered: Vec<(usize, &Fault)> = scenario
        .faults
        .iter()
        .map(|f| (ordinal(f.kind()), f))
        .collect();
    let of_kind = |kind: &'static str| numbered.iter().filter(move |(_, f)| f.kind() == kind);

    // 1. drop
    let mut dropped = vec![false; n];
    for &(k, f) in of_kind("drop") {
        let Fault::Drop {
            source,
            probability,
        } = *f
        else {
            unreachable!()
        };
        let mut rng = fault_rng(seed, "drop", k);
        for (i, &sys) in systems.iter().enumerate() {
            if selects(source, sys) && rng.chance(probability) {
                dropped[i] = true;
            }
        }
    }
    injected.dropped = dropped.iter().filter(|&&d| d).count() as u64;
    injected.dropped_detectable = detectable_drops(world, &dropped);

    // 2. outage
    let mut arrival: Vec<i64> = events.iter().map(|e| e.emit_us).collect();
    let mut outages = Vec::new();
    let mut held = vec![false; n];
    for &(_, f) in of_kind("outage") {
        let Fault::Outage {
            source,
            from_us,
            to_us,
        } = *f
        else {
            unreachable!()
        };
        let (from_us, to_us) = (start_us + from_us, start_us + to_us);
        let mut count = 0;
        for i in 0..n {
            if selects(source, systems[i]) && (from_us..to_us).contains(&arrival[i]) {
                arrival[i] = to_us;
                if !dropped[i] {
                    count += 1;
                    held[i] = true;
                }
            }
        }
        outages.push(OutageWindow {
            source: source.as_str().to_string(),
            from_us,
            to_us,
            held: count,
        });
    }
    injected.held_by_outage = held.iter().filter(|&&h| h).count() as u64;
    drop(held);

    // 3. reorder
    for &(k, f) in of_kind("reorder") {
        let Fault::Reorder {
            source,
            probability,
            max_delay_us,
        } = *f
        else {
            unreachable!()
        };
        let mut rng = fault_rng(seed, "reorder", k);
        for i in 0..n {
            if selects(source, systems[i]) && rng.chance(probability) {
                let delay = if max_delay_us > 0 {
                    1 + rng.below(max_delay_us as u64) as i64
                } else {
                    0
                };
                if !dropped[i] && delay > 0 {
                    arrival[i] += delay;
                    injected.reordered += 1;
                }
            }
        }
    }

    // Events still at their emit time are already in arrival order (the world is sorted by
    // emit time); everything else is sorted on its own and merged in.
    let in_emit_order = events.windows(2).all(|w| w[0].emit_us <= w[1].emit_us);
    let mut on_time: Vec<Delivery> = Vec::with_capacity(n - injected.dropped as usize);
    let mut moved: Vec<Delivery> = Vec::new();
    for i in 0..n {
        if !dropped[i] {
            let d = Delivery {
                arrival_us: arrival[i],
                what: Delivered::Event(i as u32),
            };
            if in_emit_order && arrival[i] == events[i].emit_us {
                on_time.push(d);
            } else {
                moved.push(d);
            }
        }
    }

    // 4. duplicate
    for &(k, f) in of_kind("duplicate") {
        let Fault::Duplicate {
            source,
            probability,
        } = *f
        else {
            unreachable!()
        };
        let mut rng = fault_rng(seed, "duplicate", k);
        for i in 0..n {
            if selects(source, systems[i]) && rng.chance(probability) {
                let delay = rng.range_i64(0, DUPLICATE_DELAY_MAX_US);
                if !dropped[i] {
                    moved.push(Delivery {
                        arrival_us: arrival[i] + delay,
                        what: Delivered::Duplicate(i as u32),
                    });
                    injected.duplicates += 1;
                }
            }
        }
    }

    // 5. malformed
    for &(k, f) in of_kind("malformed") {
        let Fault::Malformed {
            source,
            probability,
        } = *f
        else {
            unreachable!()
        };
        let mut rng = fault_rng(seed, "malformed", k);
        for i in 0..n {
            if selects(source, systems[i]) && rng.chance(probability) {
                let reason = *rng.pick(&DeadLetterReason::ALL);
                let delay = rng.range_i64(0, MALFORMED_DELAY_MAX_US);
                if !dropped[i] {
                    moved.push(Delivery {
                        arrival_us: arrival[i] + delay,
                        what: Delivered::Malformed {
                            of: i as u32,
                            reason,
                        },
                    });
                    injected.malformed[reason.index()] += 1;
                }
            }
        }
    }

    moved.sort_unstable_by_key(Delivery::sort_key);
    let deliveries = merge(on_time, moved);
    Stream {
        deliveries,
        injected,
        outages,
        dropped,
        wire: Wire::new(&scenario.schema, seed),
    }
}

/// Merges two sorted runs into one (by [`Delivery::sort_key`]).
fn merge(a: Vec<Delivery>, b: Vec<Delivery>) -> Vec<Delivery> {
    if b.is_empty() {
        return a;
    }
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    let mut next_b = b[0].sort_key();
    while i < a.len() {
        let ka = a[i].sort_key();
        // Everything of `b` that comes before a[i].
        while j < b.len() && next_b < ka {
            out.push(b[j]);
            j += 1;
            next_b = b.get(j).map_or(u128::MAX, Delivery::sort_key);
        }
        out.push(a[i]);
        i += 1;
    }
    out.extend_from_slice(&b[j..]);
    out
}

/// Dropped events below the highest delivered sequence of their source.
fn detectable_drops(world: &World, dropped: &[bool]) -> u64 {
    // Only sources that lost something matter: their highest delivered sequence.
    let mut highest: FxHashMap<&str, u64> = FxHashMap::default();
    for (e, _) in world.events.iter().zip(dropped).filter(|(_, d)| **d) {
        highest.entry(e.event.source.as_str()).or_insert(0);
    }
    if highest.is_empty() {
        return 0;
    }
    for (e, _) in world.events.iter().zip(dropped).filter(|(_, d)| !**d) {
        if let Some(h) = highest.get_mut(e.event.source.as_str()) {
            *h = (*h).max(e.event.sequence);
        }
    }
    world
        .events
        .iter()
        .zip(dropped)
        .filter(|(e, d)| **d && e.event.sequence < highest[e.event.source.as_str()])
        .count() as u64
}

/// Appends the bytes on the wire for one delivery to `out` (one JSON line, no newline): the
/// event's CloudEvent for an event or a duplicate (byte-identical), the crafted bytes for a
/// malformed copy (see [`malformed`] for how each reason is made), in the schema version
/// `wire` picks for the event. Deterministic: a malformed copy depends only on the event, its
/// index and the reason.
pub fn encode(world: &World, wire: &Wire, delivery: &Delivery, out: &mut Vec<u8>) {
    match delivery.what {
        Delivered::Event(i) | Delivered::Duplicate(i) => {
            let event = &world.events[i as usize].event;
            let written = waybill_core::encode::encode_event_as(event, wire.version(event, i), out);
            assert!(written, "the wire picks a version the event has");
        }
        Delivered::Malformed { of, reason } => {
            malformed::craft(&world.events[of as usize].event, of, reason, out);
        }
    }
}
