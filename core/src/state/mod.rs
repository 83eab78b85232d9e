//! Shipment and vehicle state, the pure apply of SPEC §4, derived fields and the digest.
//!
//! Codemap:
//! - [`register`]: the packed last-writer-wins key and the order-version comparison.
//! - `shipment` / `vehicle`: the stored shapes (compact structs in dense vectors, indexed by id
//!   through a hash map to a slot; rare collections boxed on first need).
//! - `intern`: customer ids, route ids and contracts shared across shipments.
//! - `apply`: one accepted event into state. No I/O, no clock, no randomness, and no decision
//!   that depends on arrival order or hash-map iteration order.
//! - [`derive`]: the derived fields (status, billing, detention, leakage, anomalies ...).
//! - [`view`]: what users see (SPEC §7 JSON names).
//! - [`digest`]: the composable state digest.
//!
//! Invariant (convergence): applying the same set of events in any order gives stored state
//! that is equal field for field once symbols are resolved, hence equal views and digests.

mod apply;
pub mod derive;
pub mod digest;
mod intern;
pub(crate) mod register;
mod shipment;
mod vehicle;
pub mod view;

pub use derive::{Anomalies, Derived, InvoiceStatus, Status};
pub use digest::Digest;
pub use view::{
    ChargeView, ContractView, Fixed, InvoiceView, PodView, PointView, RouteView, ShipmentView,
    VehicleView,
};

use crate::event::{ArchivedEvent, Contract};
use crate::source::{EventKey, Sources};
use intern::{Interner, map_bytes};
use rustc_hash::FxHashMap;
use shipment::{Shipment, flag};
use vehicle::Vehicle;

/// Sums over every shipment, for summaries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Shipments per [`Status`], indexed by `Status as usize`.
    pub by_status: [u64; 6],
    pub leakage_cents: i64,
    pub leaking_shipments: u64,
    pub invoice_ready: u64,
    pub with_anomalies: u64,
}

/// All shipments and vehicles. One writer owns it; reads never change it.
#[derive(Debug, Default, Clone)]
pub struct State {
    shipments: Vec<Shipment>,
    shipment_slots: FxHashMap<u64, u32>,
    vehicles: Vec<Vehicle>,
    vehicle_slots: FxHashMap<u64, u32>,
    customers: Interner<Box<str>>,
    routes: Interner<Box<str>>,
    contracts: Interner<Contract>,
}

impl State {
    pub fn new() -> State {
        State::default()
    }

    /// Applies one accepted event (already validated, not a duplicate). Pure: no I/O, no clock,
    /// no randomness, nothing that depends on hash-map iteration order. `key` is
    /// (`event.time_us`, interned source, sequence).
    #[inline]
    pub fn apply(&mut self, event: &ArchivedEvent, key: EventKey, sources: &Sources) {
        self.apply_event(event, key, sources);
    }

    pub fn shipment_count(&self) -> usize {
        self.shipments.len()
    }

    pub fn vehicle_count(&self) -> usize {
        self.vehicles.len()
    }

    /// Shipment ids, sorted ascending.
    pub fn shipment_ids(&self) -> Vec<u64> {
        let mut ids: Vec<u64> = self.shipments.iter().map(|s| s.id).collect();
        ids.sort_unstable();
        ids
    }

    /// Vehicle ids, sorted ascending.
    pub fn vehicle_ids(&self) -> Vec<u64> {
        let mut ids: Vec<u64> = self.vehicles.iter().map(|v| v.id).collect();
        ids.sort_unstable();
        ids
    }

    pub fn contains_shipment(&self, id: u64) -> bool {
        self.shipment_slots.contains_key(&id)
    }

    fn shipment(&self, id: u64) -> Option<&Shipment> {
        let slot = *self.shipment_slots.get(&id)?;
        let s = &self.shipments[slot as usize];
        debug_assert_eq!(s.id, id);
        Some(s)
    }

    fn vehicle(&self, id: u64) -> Option<&Vehicle> {
        let slot = *self.vehicle_slots.get(&id)?;
        let v = &self.vehicles[slot as usize];
        debug_assert_eq!(v.id, id);
        Some(v)
    }

    /// The view of shipment `id` (SPEC §7 field names), or `None` when no event named it.
    /// `sources` is the interner the state was built with.
    pub fn shipment_view(&self, id: u64, sources: &Sources) -> Option<ShipmentView> {
        let _ = sources; // winning keys are not part of the view; the digest covers them
        self.shipment(id).map(|s| view::shipment_view(self, s))
    }

    /// Totals over every shipment's derived fields (order-independent sums).
    pub fn totals(&self) -> Totals {
        let mut t = Totals::default();
        for s in &self.shipments {
            let contract = s
                .has(flag::HAS_ORDER)
                .then(|| self.contracts.get(s.contract));
            let d = derive::derive(s, contract);
            t.by_status[d.status as usize] += 1;
            t.leakage_cents += d.leakage_cents;
            t.leaking_shipments += u64::from(d.leakage_cents > 0);
            t.invoice_ready += u64::from(d.invoice_ready);
            t.with_anomalies += u64::from(d.anomalies.0 != 0);
        }
        t
    }

    /// The derived fields of shipment `id` without building strings (for effects and alerts).
    pub fn shipment_derived(&self, id: u64) -> Option<Derived> {
        let s = self.shipment(id)?;
        let contract = s
            .has(flag::HAS_ORDER)
            .then(|| self.contracts.get(s.contract));
        Some(derive::derive(s, contract))
    }

    pub fn vehicle_view(&self, id: u64) -> Option<VehicleView> {
        self.vehicle(id).map(view::vehicle_view)
    }

    /// The digest of one shipment (its share of [`State::digest`]).
    pub fn shipment_digest(&self, id: u64, sources: &Sources) -> Option<Digest> {
        self.shipment(id)
            .map(|s| digest::shipment_digest(self, s, sources))
    }

    /// The digest of one vehicle (its share of [`State::digest`]).
    pub fn vehicle_digest(&self, id: u64, sources: &Sources) -> Option<Digest> {
        self.vehicle(id).map(|v| digest::vehicle_digest(v, sources))
    }

    /// The state digest: the sum modulo 2^256 of every shipment's and vehicle's hash, so
    /// digests of disjoint partitions combine with [`Digest::combine`]. Computed on demand.
    pub fn digest(&self, sources: &Sources) -> Digest {
        let shipments: Digest = self
            .shipments
            .iter()
            .map(|s| digest::shipment_digest(self, s, sources))
            .sum();
        let vehicles: Digest = self
            .vehicles
            .iter()
            .map(|v| digest::vehicle_digest(v, sources))
            .sum();
        Digest::combine(shipments, vehicles)
    }

    /// Best estimate of the memory this state holds: inline structs (by capacity), index maps,
    /// side structures and interned values.
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        size_of::<State>()
            + self.shipments.capacity() * size_of::<Shipment>()
            + self
                .shipments
                .iter()
                .map(Shipment::heap_bytes)
                .sum::<usize>()
            + map_bytes(&self.shipment_slots)
            + self.vehicles.capacity() * size_of::<Vehicle>()
            + map_bytes(&self.vehicle_slots)
            + self.customers.heap_bytes()
            + self.routes.heap_bytes()
            + self.contracts.heap_bytes()
    }

    /// Reserves room for `shipments` more shipments and `vehicles` more vehicles, so that a
    /// known load grows no table during apply.
    pub fn reserve(&mut self, shipments: usize, vehicles: usize) {
        self.shipments.reserve(shipments);
        self.shipment_slots.reserve(shipments);
        self.vehicles.reserve(vehicles);
        self.vehicle_slots.reserve(vehicles);
    }

    /// Distinct customer ids, route ids and contracts interned (for memory reporting).
    pub fn interned_counts(&self) -> (usize, usize, usize) {
        (
            self.customers.len(),
            self.routes.len(),
            self.contracts.len(),
        )
    }
}

/// Size in bytes of the inline per-shipment struct (for memory reporting).
pub const SHIPMENT_INLINE_BYTES: usize = std::mem::size_of::<Shipment>();
/// Size in bytes of the inline per-vehicle struct.
pub const VEHICLE_INLINE_BYTES: usize = std::mem::size_of::<Vehicle>();

// The memory budget is <= 256 bytes per shipment including its index entry: keep the inline
// struct within 224 (on 64-bit targets).
#[cfg(target_pointer_width = "64")]
const _: () = assert!(SHIPMENT_INLINE_BYTES <= 224 && VEHICLE_INLINE_BYTES <= 40);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_prints_exact_decimals() {
        let cases: &[(i64, u32, &str)] = &[
            (0, 6, "0.0"),
            (1, 6, "0.000001"),
            (-1, 6, "-0.000001"),
            (52_520_000, 6, "52.52"),
            (-12_345_678, 6, "-12.345678"),
            (180_000_000, 6, "180.0"),
            (-90_000_000, 6, "-90.0"),
            (88_500, 3, "88.5"),
            (7, 3, "0.007"),
        ];
        for &(value, scale, want) in cases {
            let f = Fixed { value, scale };
            assert_eq!(f.to_string(), want);
            assert_eq!(serde_json::to_string(&f).unwrap(), want);
        }
    }

    #[test]
    fn digest_combine_is_a_256_bit_add() {
        let mut a = [0xffu8; 32];
        a[31] = 0x7f;
        let mut one = [0u8; 32];
        one[0] = 1;
        let sum = Digest::combine(Digest(a), Digest(one));
        let mut want = [0u8; 32];
        want[31] = 0x80;
        assert_eq!(sum, Digest(want));
        // Wraps modulo 2^256.
        assert_eq!(
            Digest::combine(Digest([0xff; 32]), Digest(one)),
            Digest::ZERO
        );
        let hex = sum.to_string();
        assert_eq!(hex.len(), 64);
        assert_eq!(Digest::from_hex(&hex), Some(sum));
        assert_eq!(Digest::from_hex("zz"), None);
    }
}
