//! The stored shape of one shipment, in three parts so that memory follows what a shipment
//! has reached:
//!
//! - [`Shipment`], the record every shipment has (92 bytes, packed to 4-byte alignment): id,
//!   flags, the order (contract terms inline but for the detention terms, which a customer's
//!   orders share and which are interned) and the references to the other two parts.
//! - [`Progress`], allocated on the first route, eta, milestone, delivery or failed-attempt
//!   event (128 bytes, two cache lines): everything after the order.
//! - [`Extra`](super::extra::Extra), allocated on first need (16 bytes): references to the
//!   amendments, proof of delivery, charges and invoices, which live in stores shared by all
//!   shipments (see `extra`), so no shipment owns a heap allocation.
//!
//! Parts live in append-only chunked stores and refer to each other by `u32` slot + 1 (0 is
//! none). [`ShipmentRef`] puts the parts of one shipment back together for reading.

use super::extra::{Amendments, ExtraRef};
use super::intern::{DetentionTerms, TermsInterner};
use super::register::{Key, NO_TIME};
use crate::event::{Contract, GeoPoint};

/// Presence bits of [`Shipment::flags`].
pub(crate) mod flag {
    /// An `order.created` was applied; the order fields are valid.
    pub const HAS_ORDER: u8 = 1 << 0;
    /// A `route.planned` was applied; the route group is valid.
    pub const ROUTED: u8 = 1 << 1;
    /// A `route.planned` or `eta.revised` was applied; `eta_key` / `eta_us` are valid.
    pub const HAS_ETA: u8 = 1 << 2;
    /// A `shipment.delivered` was applied; `delivered_key` is valid.
    pub const DELIVERED: u8 = 1 << 3;
    /// An `order.cancelled` was applied.
    pub const CANCELLED: u8 = 1 << 4;
    pub const ALL: u8 = HAS_ORDER | ROUTED | HAS_ETA | DELIVERED | CANCELLED;
}

/// The milestones that hold only the time of their winning event (the greatest key has the
/// greatest time, so the register is the maximum time seen). `delivered` is not here: it also
/// picks the proof of delivery, so it keeps its full key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Milestone {
    PickupArrived = 0,
    PickupDeparted = 1,
    PickedUp = 2,
    DeliveryArrived = 3,
    DeliveryDeparted = 4,
}

pub(crate) const MILESTONES: usize = 5;

/// One shipment's record. The order fields are valid only with [`flag::HAS_ORDER`]; otherwise
/// they hold their defaults so that equal histories give equal bytes. Fields every apply reads
/// (id, the part references, flags) come first, in one cache line whenever the record starts
/// in the first 44 bytes of a line. Packed to 4-byte alignment (the 8-byte fields are read
/// unaligned), so records take 92 bytes instead of 96.
#[derive(Debug, Clone, Copy, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C, packed(4))]
pub(crate) struct Shipment {
    pub id: u64,
    /// Slot + 1 of this shipment's [`Progress`], 0 when none.
    pub progress: u32,
    /// Slot + 1 of this shipment's [`Extra`](super::extra::Extra), 0 when none.
    pub extra: u32,
    pub flags: u8,
    // --- order.created group (HAS_ORDER): the greatest-key order.created
    /// Contract currency (with `base_cents` and `detention`, the contract terms).
    pub currency: [u8; 3],
    pub created_key: Key,
    /// Symbol in `State::customers`.
    pub customer: u32,
    /// Symbol of the contract's detention terms in `State::detention_terms`.
    pub detention: u32,
    pub window_start_us: i64,
    pub window_end_us: i64,
    pub base_cents: i64,
    pub origin: GeoPoint,
    pub destination: GeoPoint,
    pub weight_kg: u32,
}

impl Shipment {
    pub(crate) fn new(id: u64) -> Shipment {
        Shipment {
            id,
            progress: 0,
            extra: 0,
            flags: 0,
            currency: [0; 3],
            created_key: Key::ZERO,
            customer: 0,
            detention: 0,
            window_start_us: 0,
            window_end_us: 0,
            base_cents: 0,
            origin: GeoPoint::default(),
            destination: GeoPoint::default(),
            weight_kg: 0,
        }
    }

    #[inline]
    pub(crate) fn has(&self, bit: u8) -> bool {
        self.flags & bit != 0
    }

    /// Sets the contract terms of the order, interning the detention terms in `terms`.
    #[inline]
    pub(crate) fn set_contract(&mut self, c: Contract, terms: &mut TermsInterner) {
        self.currency = c.currency;
        self.base_cents = c.base_cents;
        self.detention = terms.intern(DetentionTerms {
            free_min: c.detention_free_min,
            cents_per_hour: c.detention_cents_per_hour,
        });
    }
}

/// Everything after the order: route, eta, milestones, delivery, failed attempts. Groups are
/// valid only when their [`flag`] bit is set on the record; otherwise they hold defaults.
/// Aligned to a cache line: one record is exactly two lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C, align(64))]
pub(crate) struct Progress {
    /// Indexed by [`Milestone`]; [`NO_TIME`] when none applied.
    pub milestones_us: [i64; MILESTONES],
    // --- eta (HAS_ETA): the greatest key over route.planned and eta.revised
    pub eta_us: i64,
    // --- route group (ROUTED): the greatest-key route.planned
    pub vehicle_id: u64,
    pub route_key: Key,
    pub eta_key: Key,
    // --- delivered (DELIVERED): the greatest-key shipment.delivered (its time is `delivered`)
    pub delivered_key: Key,
    /// Symbol in `State::routes`.
    pub route: u32,
    pub failed_attempts: u32,
    pub stop_index: u16,
    /// Always zero: the record has no padding, so it is written to a snapshot as it is.
    pub reserved: [u8; 2],
}

impl Progress {
    /// No progress yet: what a shipment reads until its first progress event.
    pub(crate) const EMPTY: Progress = Progress {
        milestones_us: [NO_TIME; MILESTONES],
        eta_us: 0,
        vehicle_id: 0,
        route_key: Key::ZERO,
        eta_key: Key::ZERO,
        delivered_key: Key::ZERO,
        route: 0,
        failed_attempts: 0,
        stop_index: 0,
        reserved: [0; 2],
    };
}

/// The progress of every shipment that has none stored.
pub(crate) static NO_PROGRESS: Progress = Progress::EMPTY;

/// The parts of one shipment, for reading.
#[derive(Clone, Copy)]
pub(crate) struct ShipmentRef<'a> {
    pub rec: &'a Shipment,
    /// The progress part, or [`NO_PROGRESS`].
    pub progress: &'a Progress,
    /// The extra part, when the shipment has one.
    pub extra: Option<ExtraRef<'a>>,
    /// Where the detention terms of the record's contract are interned.
    pub terms: &'a TermsInterner,
}

impl<'a> ShipmentRef<'a> {
    #[inline]
    pub(crate) fn has(&self, bit: u8) -> bool {
        self.rec.has(bit)
    }

    #[inline]
    pub(crate) fn milestone(&self, m: Milestone) -> Option<i64> {
        super::register::time_opt(self.progress.milestones_us[m as usize])
    }

    pub(crate) fn delivered_us(&self) -> Option<i64> {
        self.has(flag::DELIVERED)
            .then(|| self.progress.delivered_key.time_us())
    }

    /// The order version: 1 for `order.created`, or the greatest amendment (0 when none).
    pub(crate) fn order_version(&self) -> u32 {
        let created = u32::from(self.has(flag::HAS_ORDER));
        created.max(self.amend_version())
    }

    /// The amendments applied, when any.
    pub(crate) fn amend(&self) -> Option<&'a Amendments> {
        self.extra.and_then(|e| e.amend())
    }

    /// Greatest `order.amended` version applied (0 when none), counted even while orphan.
    pub(crate) fn amend_version(&self) -> u32 {
        self.amend().map_or(0, |a| a.version)
    }

    /// Window start as the order says it now (amendments beat `order.created`, version >= 2);
    /// `None` while orphan.
    pub(crate) fn window_start_us(&self) -> Option<i64> {
        if !self.has(flag::HAS_ORDER) {
            return None;
        }
        let amended = self.amend().and_then(|a| a.window_start.as_ref());
        Some(amended.map_or(self.rec.window_start_us, |a| a.value))
    }

    pub(crate) fn window_end_us(&self) -> Option<i64> {
        if !self.has(flag::HAS_ORDER) {
            return None;
        }
        let amended = self.amend().and_then(|a| a.window_end.as_ref());
        Some(amended.map_or(self.rec.window_end_us, |a| a.value))
    }

    pub(crate) fn destination(&self) -> Option<GeoPoint> {
        if !self.has(flag::HAS_ORDER) {
            return None;
        }
        let amended = self.amend().and_then(|a| a.destination.as_ref());
        Some(amended.map_or(self.rec.destination, |a| a.value))
    }

    /// The contract when the shipment has an order.
    pub(crate) fn contract(&self) -> Option<Contract> {
        if !self.has(flag::HAS_ORDER) {
            return None;
        }
        let d = self.terms.get(self.rec.detention);
        Some(Contract {
            currency: self.rec.currency,
            base_cents: self.rec.base_cents,
            detention_free_min: d.free_min,
            detention_cents_per_hour: d.cents_per_hour,
        })
    }

    /// Checks the invariants that hold after every apply.
    pub(crate) fn debug_check(&self) {
        let s = self.rec;
        debug_assert_eq!(s.flags & !flag::ALL, 0);
        debug_assert!(!s.has(flag::ROUTED) || s.has(flag::HAS_ETA));
        debug_assert!(!s.has(flag::HAS_ORDER) || (s.detention as usize) < self.terms.len());
        if let Some(a) = self.amend() {
            debug_assert!(a.version >= 2);
            for v in [
                a.window_start.as_ref().map(|s| s.version),
                a.window_end.as_ref().map(|s| s.version),
                a.destination.as_ref().map(|s| s.version),
            ]
            .into_iter()
            .flatten()
            {
                debug_assert!(v.get() >= 2 && v.get() <= a.version);
            }
        }
        if let Some(e) = self.extra {
            e.debug_check();
        }
    }
}

// Sizes the memory budget relies on (64-bit targets).
#[cfg(target_pointer_width = "64")]
const _: () =
    assert!(std::mem::size_of::<Shipment>() == 92 && std::mem::size_of::<Progress>() == 128);
