//! The running summary: the state digest and the totals of the summary (docs/state.md) kept up
//! to date incrementally, so that answering a summary does not derive and hash every shipment.
//!
//! Both are sums over entities: the digest of every shipment and vehicle (modulo 2^256), the
//! totals of every shipment's derived fields (counts, and exact money per currency). A
//! [`Running`] keeps, per shipment slot, the share it last counted (its digest, status,
//! currency, money figures and the leaking / invoice-ready / anomaly flags) and per vehicle
//! slot the digest it last counted, with the running sums. Apply marks the shipments and
//! vehicles it changes (`dirty`); [`Running::refresh`] visits up to a budget of them, and for
//! each subtracts the share it counted and adds the share the entity has now. Entities that
//! are new to it (slots past those it counted) are counted in slot order, adding only.
//!
//! A shipment's share depends on its own records only (and on interned values that never
//! change), so an entity that apply did not mark still has the share that was counted: once
//! nothing is marked and every slot is counted, the running sums are exactly
//! [`State::digest`] and [`State::totals`] (checked against them in debug builds while the
//! state is small). Sums are exact: digests add and subtract modulo 2^256, money in `i128`
//! (see `totals` for why it never overflows; every partial sum is a sum over a subset of the
//! shipments, so it stays within the same bound). A currency is listed while at least one
//! shipment counts under it, exactly as the full computation lists it.
//!
//! Memory: 64 bytes per shipment slot and 32 per vehicle slot, in chunked stores that never
//! move (growing copies nothing); a shipment whose money does not fit 64 bits keeps its
//! figures in a side map (only adversarial input gets there). The marks cost the state one bit
//! and 4 bytes of list capacity per counted slot.
//!
//! The running sums are not state: snapshots do not hold them. A new `Running` (and one that
//! is given a state it did not count, such as a machine loaded from a snapshot) counts every
//! entity again, in budgeted steps.

use super::State;
use super::derive::{self, Status};
use super::digest::{self, Digest};
use super::store::Chunked;
use super::totals::{self, CurrencyTotals, Totals};
use crate::source::Sources;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// Ids of running summaries, so that a state knows which one its marks are for (0: none).
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// In debug builds, a refresh that catches up on a state of at most this many entities checks
/// the running sums against the full computation (and the marks' invariants), which costs a
/// pass over the state.
const DEBUG_CHECK_MAX_ENTITIES: usize = 1 << 12;

/// Entities a refresh computes at a time, then folds into the sums: the bound of its scratch
/// buffers.
const STEP: usize = 1024;

/// Steps of at least this many entities are computed on every thread (rayon); smaller ones on
/// the calling thread, where spreading would cost more than it saves.
const PARALLEL_MIN: usize = 64;

/// `out[i] = f(slots[i])` for every slot: on every thread when there are enough. Each result
/// depends on its slot alone, so the results are the same either way, in the same order.
fn map_slots<T: Send>(slots: &[u32], out: &mut Vec<T>, f: impl Fn(u32) -> T + Sync + Send) {
    use rayon::prelude::*;
    if slots.len() >= PARALLEL_MIN {
        slots.par_iter().map(|&s| f(s)).collect_into_vec(out);
    } else {
        out.clear();
        out.extend(slots.iter().map(|&s| f(s)));
    }
    debug_assert_eq!(out.len(), slots.len());
}

/// Bits of [`Counted::flags`].
mod counted {
    /// The shipment has a contract currency (`Counted::currency`); else it counts as
    /// `unknown`.
    pub const HAS_CURRENCY: u8 = 1 << 0;
    /// `leakage_cents > 0`.
    pub const LEAKING: u8 = 1 << 1;
    /// `invoice_ready`.
    pub const INVOICE_READY: u8 = 1 << 2;
    /// At least one anomaly.
    pub const ANOMALIES: u8 = 1 << 3;
    /// A money figure does not fit `i64`: the figures are in `Running::spilled`.
    pub const SPILLED: u8 = 1 << 4;
}

/// What one shipment adds to the summary's sums.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Share {
    digest: Digest,
    /// The contract's currency; `None`: an orphan, counted under `unknown`.
    currency: Option<[u8; 3]>,
    status: Status,
    /// The money figures `CurrencyTotals::add` adds for it.
    money: CurrencyTotals,
    leaking: bool,
    invoice_ready: bool,
    anomalies: bool,
}

impl Share {
    /// The share of the shipment at `slot` as it stands, computed as [`State::digest`] and
    /// [`State::totals`] compute it.
    fn of(state: &State, slot: u32, sources: &Sources) -> Share {
        let parts = state.parts(state.shipments.get(slot));
        let d = derive::derive(&parts);
        let mut money = CurrencyTotals::default();
        money.add(&d);
        Share {
            digest: digest::shipment_digest(state, &parts, sources),
            currency: parts.contract().map(|c| c.currency),
            status: d.status,
            money,
            leaking: d.leakage_cents > 0,
            invoice_ready: d.invoice_ready,
            anomalies: !d.anomalies.is_empty(),
        }
    }
}

/// A counted [`Share`] as stored per shipment slot: one cache line.
#[derive(Clone, Copy, Debug)]
#[repr(C)]
struct Counted {
    digest: Digest,
    /// `billed_cents`, `expected_detention_cents`, `leakage_cents`; zeros when
    /// [`counted::SPILLED`].
    money: [i64; 3],
    /// Valid with [`counted::HAS_CURRENCY`], zeros otherwise.
    currency: [u8; 3],
    /// `Status as u8`.
    status: u8,
    flags: u8,
}

const _: () = assert!(std::mem::size_of::<Counted>() == 64);

/// The shipments counted under one currency and their money.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Tally {
    /// Shipments counted under the currency (at least 1 while listed).
    shipments: u64,
    sums: CurrencyTotals,
}

/// The state digest and the summary's totals, kept up to date incrementally (the module docs
/// say how).
///
/// One `Running` follows one [`State`] at a time: [`Running::refresh`] attaches it to the
/// state it is given, and given another state (or a clone) it starts counting that one from
/// scratch.
/// When [`Running::is_caught_up`], [`Running::digest`] equals [`State::digest`] and
/// [`Running::totals`] equals [`State::totals`], exactly. Before that they are `None`: a
/// running sum that is behind is not the digest of any state.
///
/// Cost: a refresh costs about what the full computation costs per entity it visits (a
/// BLAKE3 hash and the derived fields), for at most its budget of entities; keeping it costs
/// apply an O(1) mark per changed entity that never allocates. Not persisted: rebuilt after a
/// machine is loaded.
pub struct Running {
    /// This summary's id, which the state's marks name ([`State`] `touched.owner`).
    id: u64,
    /// Per shipment slot, the share counted; as many as the slots counted.
    shipments: Chunked<Counted>,
    /// Per vehicle slot, the digest counted.
    vehicles: Chunked<Digest>,
    /// The money of shipments flagged [`counted::SPILLED`], by slot.
    spilled: BTreeMap<u32, CurrencyTotals>,
    /// The sum of every counted digest.
    digest: Digest,
    /// Counted shipments per status, indexed by `Status as usize`.
    by_status: [u64; 6],
    /// Per currency (`None`: `unknown`) with at least one counted shipment.
    money: BTreeMap<Option<[u8; 3]>, Tally>,
    leaking_shipments: u64,
    invoice_ready: u64,
    with_anomalies: u64,
    /// Scratch of a refresh step (at most [`STEP`] each): the slots visited, their shares
    /// and vehicle digests.
    slots: Vec<u32>,
    shares: Vec<Share>,
    digests: Vec<Digest>,
}

impl Default for Running {
    fn default() -> Self {
        Running::new()
    }
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("id", &self.id)
            .field("shipments_counted", &self.shipments.len())
            .field("vehicles_counted", &self.vehicles.len())
            .field("digest", &self.digest)
            .field("by_status", &self.by_status)
            .field("currencies", &self.money.len())
            .finish_non_exhaustive()
    }
}

impl Running {
    /// A running summary that has counted nothing (attached to no state yet).
    pub fn new() -> Running {
        Running {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            shipments: Chunked::default(),
            vehicles: Chunked::default(),
            spilled: BTreeMap::new(),
            digest: Digest::ZERO,
            by_status: [0; 6],
            money: BTreeMap::new(),
            leaking_shipments: 0,
            invoice_ready: 0,
            with_anomalies: 0,
            slots: Vec::new(),
            shares: Vec::new(),
            digests: Vec::new(),
        }
    }

    /// Whether `state`'s marks are this summary's and agree with what it counted.
    fn follows(&self, state: &State) -> bool {
        let t = &state.touched;
        let ok = t.owner == self.id
            && t.shipments.tracked() as usize == self.shipments.len()
            && t.vehicles.tracked() as usize == self.vehicles.len()
            && self.shipments.len() <= state.shipments.len()
            && self.vehicles.len() <= state.vehicles.len();
        debug_assert!(
            ok || t.owner != self.id,
            "a state's marks disagree with the running summary they are for"
        );
        ok
    }

    /// Whether nothing is counted (every sum is zero).
    fn is_empty(&self) -> bool {
        self.shipments.len() == 0 && self.vehicles.len() == 0
    }

    /// Whether the running sums are those of `state` as it stands: every entity counted and
    /// none changed since. O(1).
    pub fn is_caught_up(&self, state: &State) -> bool {
        if self.follows(state) {
            let t = &state.touched;
            t.shipments.len() == 0
                && t.vehicles.len() == 0
                && self.shipments.len() == state.shipments.len()
                && self.vehicles.len() == state.vehicles.len()
        } else {
            // Nothing counted and nothing to count: the sums of the empty state.
            self.is_empty() && state.shipments.len() == 0 && state.vehicles.len() == 0
        }
    }

    /// How many shipments and vehicles a refresh still has to visit before it is caught up
    /// with `state` (changed ones and new ones): the total budget that would catch up now.
    /// O(1).
    pub fn backlog(&self, state: &State) -> usize {
        let all = state.shipments.len() + state.vehicles.len();
        if !self.follows(state) {
            return all;
        }
        let t = &state.touched;
        t.shipments.len() + t.vehicles.len() + all - self.shipments.len() - self.vehicles.len()
    }

    /// The state digest of `state` ([`State::digest`]), when caught up with it.
    pub fn digest(&self, state: &State) -> Option<Digest> {
        self.is_caught_up(state).then_some(self.digest)
    }

    /// The totals of `state` ([`State::totals`], equal field for field, the same currencies
    /// listed), when caught up with it.
    pub fn totals(&self, state: &State) -> Option<Totals> {
        self.is_caught_up(state).then(|| self.current_totals())
    }

    /// The running totals as they stand.
    fn current_totals(&self) -> Totals {
        let mut t = Totals {
            by_status: self.by_status,
            leaking_shipments: self.leaking_shipments,
            invoice_ready: self.invoice_ready,
            with_anomalies: self.with_anomalies,
            ..Totals::default()
        };
        for (currency, tally) in &self.money {
            debug_assert!(tally.shipments > 0, "an empty currency is not listed");
            // Keys are distinct: validated currencies are three capital ASCII letters.
            let old = t.money.insert(totals::currency_key(*currency), tally.sums);
            debug_assert!(old.is_none());
        }
        t
    }

    /// Brings the running sums up to date with `state` by at most `budget` shipments and
    /// vehicles (changed ones first, subtracting what was counted and adding what is; then
    /// new ones, in slot order), and says whether it is now caught up
    /// ([`Running::is_caught_up`]). `sources` is the interner the state was built with.
    ///
    /// Each entity visited costs about what the full computation costs per entity (a BLAKE3
    /// hash and the derived fields; a microsecond or two), so the budget bounds the time a
    /// refresh takes whatever the state's size; steps of many entities are computed on every
    /// thread. Given a state it does not follow (a first
    /// refresh, another state, a clone), it starts from nothing and attaches to it. A budget
    /// of 0 changes nothing but that attachment.
    pub fn refresh(&mut self, state: &mut State, sources: &Sources, budget: usize) -> bool {
        if !self.follows(state) {
            // A fresh id for every attachment: a state attached before keeps naming the old
            // one, so it is never taken for the state now followed.
            *self = Running::new();
            state.touched.attach(self.id);
        }
        let mut left = budget;
        let mut slots = std::mem::take(&mut self.slots);
        let mut shares = std::mem::take(&mut self.shares);
        let mut digests = std::mem::take(&mut self.digests);
        // Room for a whole step, once: then no step grows them.
        slots.reserve_exact(STEP);
        shares.reserve_exact(STEP);
        digests.reserve_exact(STEP);
        // Shipments that changed since they were counted, a step at a time: their shares are
        // computed (in parallel: reads only), then folded into the sums in order.
        while left > 0 {
            state.touched.shipments.pop_into(STEP.min(left), &mut slots);
            if slots.is_empty() {
                break;
            }
            left -= slots.len();
            map_slots(&slots, &mut shares, |slot| Share::of(state, slot, sources));
            for (&slot, new) in slots.iter().zip(&shares) {
                let old = self.counted(slot);
                if *new != old {
                    self.uncount(&old);
                    self.count(new);
                    let rec = self.record(slot, new);
                    *self.shipments.get_mut(slot) = rec;
                }
            }
        }
        // Shipments not counted yet, in slot order.
        while left > 0 && self.shipments.len() < state.shipments.len() {
            let first = self.shipments.len();
            let n = STEP.min(left).min(state.shipments.len() - first);
            left -= n;
            slots.clear();
            slots.extend(first as u32..(first + n) as u32);
            map_slots(&slots, &mut shares, |slot| Share::of(state, slot, sources));
            for (&slot, new) in slots.iter().zip(&shares) {
                self.count(new);
                let rec = self.record(slot, new);
                let pushed = self.shipments.push(rec);
                debug_assert_eq!(pushed, slot);
            }
        }
        state.touched.shipments.track(self.shipments.len() as u32);
        // Vehicles likewise: their share is their digest.
        let vehicle = |slot| digest::vehicle_digest(state.vehicles.get(slot), sources);
        while left > 0 {
            state.touched.vehicles.pop_into(STEP.min(left), &mut slots);
            if slots.is_empty() {
                break;
            }
            left -= slots.len();
            map_slots(&slots, &mut digests, vehicle);
            for (&slot, &new) in slots.iter().zip(&digests) {
                let old = std::mem::replace(self.vehicles.get_mut(slot), new);
                self.digest = Digest::combine(Digest::subtract(self.digest, old), new);
            }
        }
        while left > 0 && self.vehicles.len() < state.vehicles.len() {
            let first = self.vehicles.len();
            let n = STEP.min(left).min(state.vehicles.len() - first);
            left -= n;
            slots.clear();
            slots.extend(first as u32..(first + n) as u32);
            map_slots(&slots, &mut digests, vehicle);
            for &new in &digests {
                self.digest = Digest::combine(self.digest, new);
                self.vehicles.push(new);
            }
        }
        state.touched.vehicles.track(self.vehicles.len() as u32);
        // Bounded: reserved once for a step, never grown past it.
        debug_assert!(slots.capacity() < 2 * STEP && shares.capacity() < 2 * STEP);
        debug_assert!(digests.capacity() < 2 * STEP);
        (self.slots, self.shares, self.digests) = (slots, shares, digests);

        debug_assert!(self.follows(state));
        debug_assert_eq!(
            self.by_status.iter().sum::<u64>(),
            self.shipments.len() as u64
        );
        debug_assert_eq!(
            self.money.values().map(|t| t.shipments).sum::<u64>(),
            self.shipments.len() as u64
        );
        debug_assert!(self.spilled.len() <= self.shipments.len());
        let caught_up = self.is_caught_up(state);
        debug_assert!(caught_up || left == 0, "budget left over, yet behind");
        if cfg!(debug_assertions)
            && state.shipments.len() + state.vehicles.len() <= DEBUG_CHECK_MAX_ENTITIES
        {
            state.touched.shipments.debug_check();
            state.touched.vehicles.debug_check();
            if caught_up {
                assert_eq!(self.digest, state.digest(sources), "running digest");
                assert_eq!(self.current_totals(), state.totals(), "running totals");
            }
        }
        caught_up
    }

    /// Adds a share to the running sums.
    fn count(&mut self, s: &Share) {
        self.digest = Digest::combine(self.digest, s.digest);
        self.by_status[s.status as usize] += 1;
        self.leaking_shipments += u64::from(s.leaking);
        self.invoice_ready += u64::from(s.invoice_ready);
        self.with_anomalies += u64::from(s.anomalies);
        let tally = self.money.entry(s.currency).or_default();
        tally.shipments += 1;
        tally.sums.merge(&s.money);
    }

    /// Subtracts a share counted before from the running sums; a currency that no shipment
    /// counts under any more is no longer listed.
    fn uncount(&mut self, s: &Share) {
        self.digest = Digest::subtract(self.digest, s.digest);
        // Each was counted with this share, so none goes below 0 (checked in debug builds).
        self.by_status[s.status as usize] -= 1;
        self.leaking_shipments -= u64::from(s.leaking);
        self.invoice_ready -= u64::from(s.invoice_ready);
        self.with_anomalies -= u64::from(s.anomalies);
        let tally = self
            .money
            .get_mut(&s.currency)
            .expect("a counted share's currency is listed");
        tally.shipments -= 1;
        tally.sums.sub(&s.money);
        if tally.shipments == 0 {
            debug_assert_eq!(
                tally.sums,
                CurrencyTotals::default(),
                "nothing left counted"
            );
            self.money.remove(&s.currency);
        }
    }

    /// The share counted for shipment `slot`.
    fn counted(&self, slot: u32) -> Share {
        let c = self.shipments.get(slot);
        let has = |bit: u8| c.flags & bit != 0;
        let money = if has(counted::SPILLED) {
            *self.spilled.get(&slot).expect("a spilled share's money")
        } else {
            CurrencyTotals {
                billed_cents: c.money[0].into(),
                expected_detention_cents: c.money[1].into(),
                leakage_cents: c.money[2].into(),
            }
        };
        Share {
            digest: c.digest,
            currency: has(counted::HAS_CURRENCY).then_some(c.currency),
            status: Status::ALL[c.status as usize],
            money,
            leaking: has(counted::LEAKING),
            invoice_ready: has(counted::INVOICE_READY),
            anomalies: has(counted::ANOMALIES),
        }
    }

    /// The record of `s` for shipment `slot`, moving its money into or out of the side map.
    fn record(&mut self, slot: u32, s: &Share) -> Counted {
        let m = &s.money;
        let mut flags = 0;
        for (on, bit) in [
            (s.currency.is_some(), counted::HAS_CURRENCY),
            (s.leaking, counted::LEAKING),
            (s.invoice_ready, counted::INVOICE_READY),
            (s.anomalies, counted::ANOMALIES),
        ] {
            if on {
                flags |= bit;
            }
        }
        let fits = [m.billed_cents, m.expected_detention_cents, m.leakage_cents].map(i64::try_from);
        let money = if let [Ok(b), Ok(e), Ok(l)] = fits {
            if !self.spilled.is_empty() {
                self.spilled.remove(&slot);
            }
            [b, e, l]
        } else {
            flags |= counted::SPILLED;
            self.spilled.insert(slot, *m);
            [0; 3]
        };
        let c = Counted {
            digest: s.digest,
            money,
            currency: s.currency.unwrap_or_default(),
            status: s.status as u8,
            flags,
        };
        debug_assert_eq!(Status::ALL[c.status as usize], s.status);
        c
    }

    /// Bytes held on the heap: the per-slot stores by capacity and the side map's entries.
    #[doc(hidden)]
    pub fn heap_bytes(&self) -> usize {
        self.shipments.heap_bytes()
            + self.vehicles.heap_bytes()
            + self.spilled.len() * (4 + std::mem::size_of::<CurrencyTotals>())
            + self.money.len() * std::mem::size_of::<(Option<[u8; 3]>, Tally)>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subtract_inverts_combine() {
        let mut a = [0u8; 32];
        a[0] = 5;
        let mut b = [0xffu8; 32];
        b[0] = 9;
        let (a, b) = (Digest(a), Digest(b));
        assert_eq!(Digest::subtract(Digest::combine(a, b), b), a);
        assert_eq!(Digest::combine(Digest::subtract(a, b), b), a);
        assert_eq!(Digest::subtract(a, a), Digest::ZERO);
        // 0 - 1 wraps to 2^256 - 1.
        let mut one = [0u8; 32];
        one[0] = 1;
        assert_eq!(
            Digest::subtract(Digest::ZERO, Digest(one)),
            Digest([0xff; 32])
        );
    }

    #[test]
    fn an_empty_state_is_caught_up_at_once() {
        let mut state = State::new();
        let mut r = Running::new();
        assert!(r.is_caught_up(&state));
        assert!(r.refresh(&mut state, &Sources::new(), 0));
        assert_eq!(r.digest(&state), Some(Digest::ZERO));
        assert_eq!(r.totals(&state), Some(Totals::default()));
        assert_eq!(r.backlog(&state), 0);
    }
}
