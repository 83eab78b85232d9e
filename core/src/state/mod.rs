//! Shipment and vehicle state, the pure apply of docs/state.md, derived fields and the digest.
//!
//! An embedder reads the state through [`State`] (from [`crate::machine::Machine::state`]):
//! [`State::shipment_view`] and [`State::vehicle_view`] give the views of docs/state.md,
//! [`State::shipment_derived`] the derived fields without strings, [`State::totals`] the sums
//! of the summary and [`State::digest`] the state digest.
//!
//! Codemap:
//! - `register`: the packed last-writer-wins key and the order-version comparison.
//! - `shipment` / `vehicle`: the stored shapes. A shipment is a 92-byte record (id, flags,
//!   order) plus a 128-byte progress part (route, eta, milestones, delivery) allocated on its
//!   first progress event, plus a rare 16-byte extra part.
//! - `extra`: the extra part's references and the shared stores behind them: charge and
//!   invoice records chained per shipment, runs of listed charges, amendments, pods in the
//!   text store.
//! - `store`: append-only chunked record stores (no doubling slack, no copies on growth) and the
//!   text store of charge and invoice ids and pods.
//! - `fixed`: fixed-capacity buffers, large ones on transparent huge pages (a large state is
//!   read at random; 4 KiB pages would make nearly every access a TLB miss).
//! - `index`: the id -> slot index (open addressing, 8-byte entries, confirmed against the
//!   record's id).
//! - `intern`: customer ids, route ids and contract detention terms shared across shipments,
//!   each value held once (strings in a text store) and found through an index keyed by its
//!   hash, confirmed against the value.
//! - `apply`: one accepted event into state. No I/O, no clock, no randomness, and no decision
//!   that depends on arrival order or hash-map iteration order.
//! - [`derive`](mod@derive): the derived fields (status, billing, detention, leakage, anomalies ...).
//! - [`view`]: what users see (the JSON names of docs/state.md).
//! - [`digest`]: the composable state digest.
//! - `dirty` / [`running`]: the running summary (the digest and the totals kept up to date
//!   incrementally), fed by the changed shipments and vehicles that apply marks.
//!
//! Invariant (convergence): applying the same set of events in any order gives stored state
//! that is equal field for field once symbols are resolved and parts are read through their
//! references, hence equal views and digests. Slots, symbols and text references depend on
//! arrival order; none reaches a view, a digest or an ordering decision.

mod apply;
pub mod derive;
pub mod digest;
mod dirty;
mod extra;
mod facts;
mod fixed;
mod image;
mod index;
mod intern;
pub(crate) mod register;
pub mod running;
mod shipment;
mod spare;
mod store;
pub mod totals;
mod vehicle;
pub mod view;

pub use derive::{Anomalies, Derived, InvoiceStatus, Status};
pub use digest::Digest;
pub(crate) use facts::Facts;
pub use running::Running;
pub use totals::{CurrencyTotals, Totals, UNKNOWN_CURRENCY};
pub use view::{
    ChargeView, ContractView, Fixed, InvoiceView, PodView, PointView, RouteView, ShipmentView,
    VehicleView,
};

use crate::event::{ArchivedBody, ArchivedEvent};
use crate::source::{EventKey, Sources};
use extra::ExtraStores;
use index::Index;
use intern::{Interner, TermsInterner};
use shipment::{NO_PROGRESS, Progress, Shipment, ShipmentRef};
use std::collections::BTreeMap;
use store::Chunked;
pub(crate) use store::TextFill;
use vehicle::Vehicle;

/// Most shipments one state holds (and likewise vehicles): slots are `u32`. A structural
/// ceiling: admission (`crate::limits`) refuses a batch before apply could go past it.
pub const MAX_SHIPMENTS: usize = index::MAX_LEN;
/// Most records of each shared store (charges, invoices, listed charge slots).
pub const MAX_RECORDS: usize = store::MAX_RECORDS;
/// Most distinct values of each interner (customer ids, route ids, detention terms).
pub const MAX_SYMBOLS: usize = intern::MAX_SYMBOLS;
/// Bytes per chunk of a text store; a string never spans two chunks.
pub const TEXT_CHUNK_BYTES: usize = store::TEXT_CHUNK;
/// Most bytes of each text store (ids and pods; customer ids; route ids).
pub const MAX_TEXT_STORE_BYTES: usize = store::MAX_TEXT_STORE_BYTES;

/// All shipments and vehicles. One writer owns it; reads never change it.
///
/// The state depends on the set of applied events, never on their arrival order: the same
/// events applied in any order give the same views and the same digest. Shipments and vehicles
/// exist from the first applied event that names them (docs/state.md).
#[derive(Debug, Default, Clone)]
pub struct State {
    shipments: Chunked<Shipment>,
    shipment_index: Index,
    progress: Chunked<Progress>,
    /// Extra parts and the records they refer to.
    extras: ExtraStores,
    vehicles: Chunked<Vehicle>,
    vehicle_index: Index,
    customers: Interner,
    /// Detention terms of the orders' contracts.
    detention_terms: TermsInterner,
    routes: Interner,
    /// The most `delivery.failed` counted on any one shipment (for admission).
    max_failed_attempts: u32,
    /// The shipments and vehicles changed since the attached [`Running`] summary counted
    /// them (not state: not in snapshots, not cloned).
    touched: dirty::Touched,
}

/// What one store of a [`State`] holds (see [`State::heap_bytes_by_store`]).
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreBytes {
    pub store: &'static str,
    /// Held, by capacity (as [`State::heap_bytes`] counts).
    pub held_bytes: usize,
    /// Used by what the store holds.
    pub used_bytes: usize,
}

/// How full each store of a [`State`] is: what admission (`crate::admit`) compares with the
/// limits. Counts are records; text is where each text store stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Usage {
    pub shipments: u64,
    pub vehicles: u64,
    pub charges: u64,
    pub invoices: u64,
    pub listed_charges: u64,
    pub customers: u64,
    pub routes: u64,
    pub contract_terms: u64,
    pub failed_attempts: u64,
    /// Charge and invoice ids, pods.
    pub ids_text: TextFill,
    pub customers_text: TextFill,
    pub routes_text: TextFill,
}

impl State {
    /// An empty state: no shipment, no vehicle.
    pub fn new() -> State {
        State::default()
    }

    /// Applies one accepted event (already validated, not a duplicate). Pure: no I/O, no clock,
    /// no randomness, nothing that depends on hash-map iteration order. `key` is
    /// (`event.time_us`, interned source, sequence).
    #[doc(hidden)]
    #[inline]
    pub fn apply(&mut self, event: &ArchivedEvent, key: EventKey, sources: &Sources) {
        self.apply_event(event, key, sources);
    }

    /// [`Self::apply`] for an event given by its subject and payload (what a compact journal
    /// record holds: its payload is built in place).
    #[doc(hidden)]
    #[inline]
    pub fn apply_body(
        &mut self,
        subject: u64,
        body: &ArchivedBody,
        key: EventKey,
        sources: &Sources,
    ) {
        self.apply_subject_body(subject, body, key, sources);
    }

    /// How many shipments exist (any applied shipment event creates one).
    pub fn shipment_count(&self) -> usize {
        self.shipments.len()
    }

    /// How many vehicles exist (any applied `vehicle.position` creates one).
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

    /// Whether an applied event named shipment `id`.
    pub fn contains_shipment(&self, id: u64) -> bool {
        self.shipment_slot_of(id).is_some()
    }

    /// Whether an applied `vehicle.position` named vehicle `id`.
    pub fn contains_vehicle(&self, id: u64) -> bool {
        self.vehicle(id).is_some()
    }

    /// `delivery.failed` events counted on shipment `id` (0 when it does not exist).
    pub(crate) fn failed_attempts(&self, id: u64) -> u32 {
        self.shipment(id).map_or(0, |s| s.progress.failed_attempts)
    }

    /// How full each store is.
    pub(crate) fn usage(&self) -> Usage {
        let (charges, invoices, listed) = self.extras.counts();
        Usage {
            shipments: self.shipments.len() as u64,
            vehicles: self.vehicles.len() as u64,
            charges: charges as u64,
            invoices: invoices as u64,
            listed_charges: listed as u64,
            customers: self.customers.len() as u64,
            routes: self.routes.len() as u64,
            contract_terms: self.detention_terms.len() as u64,
            failed_attempts: u64::from(self.max_failed_attempts),
            ids_text: self.extras.text_fill(),
            customers_text: self.customers.text_fill(),
            routes_text: self.routes.text_fill(),
        }
    }

    /// Starts loading the id-index entry that applying an event about `subject` will look up
    /// first (the vehicle's for a position, `vehicle`, else the shipment's): called a few events
    /// ahead, the lookup then finds it in cache. Changes nothing.
    #[doc(hidden)]
    #[inline]
    pub fn prefetch(&self, subject: u64, vehicle: bool) {
        if vehicle {
            self.vehicle_index.prefetch(subject);
        } else {
            self.shipment_index.prefetch(subject);
        }
    }

    /// The slot of shipment `id`, if an event named it (slots never change).
    #[inline]
    pub(crate) fn shipment_slot_of(&self, id: u64) -> Option<u32> {
        let shipments = &self.shipments;
        self.shipment_index.find(id, |i| shipments.get(i).id)
    }

    /// The parts of shipment record `s`.
    fn parts<'a>(&'a self, s: &'a Shipment) -> ShipmentRef<'a> {
        ShipmentRef {
            rec: s,
            progress: match s.progress {
                0 => &NO_PROGRESS,
                p => self.progress.get(p - 1),
            },
            extra: self.extras.part(s.extra),
            terms: &self.detention_terms,
        }
    }

    fn shipment(&self, id: u64) -> Option<ShipmentRef<'_>> {
        let slot = self.shipment_slot_of(id)?;
        Some(self.parts(self.shipments.get(slot)))
    }

    fn vehicle(&self, id: u64) -> Option<&Vehicle> {
        let vehicles = &self.vehicles;
        let slot = self.vehicle_index.find(id, |i| vehicles.get(i).id)?;
        Some(vehicles.get(slot))
    }

    /// The view of shipment `id` (the field names of docs/state.md), or `None` when no event named
    /// it. `sources` is the interner the state was built with
    /// ([`crate::machine::Machine::sources`]).
    pub fn shipment_view(&self, id: u64, sources: &Sources) -> Option<ShipmentView> {
        let _ = sources; // winning keys are not part of the view; the digest covers them
        self.shipment(id).map(|s| view::shipment_view(self, &s))
    }

    /// Totals over every shipment's derived fields (order-independent sums), money per
    /// contract currency (orphans under [`UNKNOWN_CURRENCY`]), exact.
    ///
    /// Chunks of shipments are totalled on as many threads as there are and the partial totals
    /// added (every figure is a sum, exact and independent of the order).
    pub fn totals(&self) -> Totals {
        use rayon::prelude::*;
        type Money = BTreeMap<Option<[u8; 3]>, CurrencyTotals>;
        let chunks: Vec<&[Shipment]> = self.shipments.parts().collect();
        let one = |chunk: &&[Shipment]| {
            let (mut t, mut money) = (Totals::default(), Money::new());
            for s in chunk.iter() {
                let parts = self.parts(s);
                let d = derive::derive(&parts);
                money
                    .entry(parts.contract().map(|c| c.currency))
                    .or_default()
                    .add(&d);
                t.by_status[d.status as usize] += 1;
                t.leaking_shipments += u64::from(d.leakage_cents > 0);
                t.invoice_ready += u64::from(d.invoice_ready);
                t.with_anomalies += u64::from(d.anomalies.0 != 0);
            }
            (t, money)
        };
        let add = |(mut a, mut am): (Totals, Money), (b, bm): (Totals, Money)| {
            for (x, y) in a.by_status.iter_mut().zip(b.by_status) {
                *x += y;
            }
            a.leaking_shipments += b.leaking_shipments;
            a.invoice_ready += b.invoice_ready;
            a.with_anomalies += b.with_anomalies;
            for (currency, m) in bm {
                am.entry(currency).or_default().merge(&m);
            }
            (a, am)
        };
        let (mut t, money) = chunks
            .par_iter()
            .map(one)
            .reduce(|| (Totals::default(), Money::new()), add);
        debug_assert_eq!(t.by_status.iter().sum::<u64>(), self.shipments.len() as u64);
        for (currency, m) in money {
            // Keys are distinct: validated currencies are three capital ASCII letters.
            t.money
                .entry(totals::currency_key(currency))
                .or_default()
                .merge(&m);
        }
        t
    }

    /// The derived fields of shipment `id` without building strings (for effects and alerts), or
    /// `None` when no event named it.
    pub fn shipment_derived(&self, id: u64) -> Option<Derived> {
        self.shipment(id).map(|s| derive::derive(&s))
    }

    /// The view of vehicle `id` (its winning position), or `None` when no `vehicle.position`
    /// named it.
    pub fn vehicle_view(&self, id: u64) -> Option<VehicleView> {
        self.vehicle(id).map(view::vehicle_view)
    }

    /// The digest of one shipment (its share of [`State::digest`]), or `None` when no event
    /// named it. `sources` is the interner the state was built with.
    pub fn shipment_digest(&self, id: u64, sources: &Sources) -> Option<Digest> {
        self.shipment(id)
            .map(|s| digest::shipment_digest(self, &s, sources))
    }

    /// The digest of one vehicle (its share of [`State::digest`]), or `None` when no event named
    /// it. `sources` is the interner the state was built with.
    pub fn vehicle_digest(&self, id: u64, sources: &Sources) -> Option<Digest> {
        self.vehicle(id).map(|v| digest::vehicle_digest(v, sources))
    }

    /// The state digest: the sum modulo 2^256 of every shipment's and vehicle's hash, so
    /// digests of disjoint partitions combine with [`Digest::combine`]. Computed on demand.
    pub fn digest(&self, sources: &Sources) -> Digest {
        use rayon::prelude::*;
        // A sum of per-shipment digests: chunks on as many threads as there are.
        let chunks: Vec<&[Shipment]> = self.shipments.parts().collect();
        let shipments: Digest = chunks
            .par_iter()
            .map(|chunk| {
                chunk
                    .iter()
                    .map(|s| digest::shipment_digest(self, &self.parts(s), sources))
                    .sum::<Digest>()
            })
            .reduce(|| Digest::ZERO, Digest::combine);
        let vehicles: Digest = self
            .vehicles
            .iter()
            .map(|v| digest::vehicle_digest(v, sources))
            .sum();
        Digest::combine(shipments, vehicles)
    }

    /// The bytes this state holds on the heap, by capacity: every record store (whole chunks,
    /// used or not, and chunk tables: shipments, progress, extra parts, charges, invoices,
    /// listed charges, amendments, vehicles), both index tables, the text store (ids, pods,
    /// replaced ones included), the interners (their tables by capacity and their strings)
    /// and the marks of changed entities kept for a running summary ([`Running`]).
    /// Allocator bookkeeping is not included.
    #[doc(hidden)]
    pub fn heap_bytes(&self) -> usize {
        std::mem::size_of::<State>()
            + self.shipments.heap_bytes()
            + self.shipment_index.heap_bytes()
            + self.progress.heap_bytes()
            + self.extras.heap_bytes()
            + self.vehicles.heap_bytes()
            + self.vehicle_index.heap_bytes()
            + self.customers.heap_bytes()
            + self.detention_terms.heap_bytes()
            + self.routes.heap_bytes()
            + self.touched.heap_bytes()
    }

    /// Bytes of the spare chunks and index tables asked for and not yet taken: the next buffer
    /// of each large store, prepared off the writer thread (at most one per store). Not part of
    /// [`State::heap_bytes`], which counts what the state holds.
    #[doc(hidden)]
    pub fn spare_bytes(&self) -> usize {
        self.shipments.spare_bytes()
            + self.shipment_index.spare_bytes()
            + self.progress.spare_bytes()
            + self.extras.spare_bytes()
            + self.vehicles.spare_bytes()
            + self.vehicle_index.spare_bytes()
    }

    /// [`State::heap_bytes`] store by store (the held bytes sum to it), with the bytes each
    /// store uses: its records, entries or strings (what a store without slack would hold).
    #[doc(hidden)]
    pub fn heap_bytes_by_store(&self) -> Vec<StoreBytes> {
        let one = |store, held, used| StoreBytes {
            store,
            held_bytes: held,
            used_bytes: used,
        };
        let size = std::mem::size_of::<State>();
        let mut stores = vec![
            one("state", size, size),
            self.shipments.store_bytes("shipments"),
            self.shipment_index.store_bytes("shipment_index"),
            self.progress.store_bytes("progress"),
        ];
        stores.extend(self.extras.store_bytes());
        stores.extend([
            self.vehicles.store_bytes("vehicles"),
            self.vehicle_index.store_bytes("vehicle_index"),
            self.customers.store_bytes("customers"),
            self.detention_terms.store_bytes("detention_terms"),
            self.routes.store_bytes("routes"),
            one(
                "touched",
                self.touched.heap_bytes(),
                self.touched.heap_bytes(),
            ),
        ]);
        debug_assert_eq!(
            stores.iter().map(|s| s.held_bytes).sum::<usize>(),
            self.heap_bytes()
        );
        stores
    }

    /// Reserves room for `shipments` more shipments and `vehicles` more vehicles, so that a
    /// known load grows no record store or index during apply.
    #[doc(hidden)]
    pub fn reserve(&mut self, shipments: usize, vehicles: usize) {
        let State {
            shipments: ss,
            shipment_index,
            vehicles: vs,
            vehicle_index,
            ..
        } = self;
        ss.reserve(shipments);
        shipment_index.reserve(shipments, |i| ss.get(i).id);
        vs.reserve(vehicles);
        vehicle_index.reserve(vehicles, |i| vs.get(i).id);
    }

    /// Distinct customer ids and route ids interned (for memory reporting).
    #[doc(hidden)]
    pub fn interned_counts(&self) -> (usize, usize) {
        (self.customers.len(), self.routes.len())
    }
}

/// Size in bytes of the per-shipment record (for memory reporting).
#[doc(hidden)]
pub const SHIPMENT_INLINE_BYTES: usize = std::mem::size_of::<Shipment>();
/// Size in bytes of the per-vehicle record.
#[doc(hidden)]
pub const VEHICLE_INLINE_BYTES: usize = std::mem::size_of::<Vehicle>();
/// Size in bytes of a shipment's progress part (route, eta, milestones, delivery).
#[doc(hidden)]
pub const SHIPMENT_PROGRESS_BYTES: usize = std::mem::size_of::<Progress>();

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
