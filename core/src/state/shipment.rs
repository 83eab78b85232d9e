//! The stored shape of one shipment: hot scalar registers inline, rarely present collections
//! (amendments, proof of delivery, charges, invoices) behind boxes allocated on first need.

use super::register::{Key, NO_TIME};
use crate::event::{ChargeKind, GeoPoint};

/// Presence bits of [`Shipment::flags`].
pub(crate) mod flag {
    /// An `order.created` was applied; the `created_key` group is valid.
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

/// One shipment. Field groups are valid only when their [`flag`] bit is set; otherwise they
/// hold their `Default` value so that equal histories give equal bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Shipment {
    pub id: u64,
    // --- order.created group (HAS_ORDER): the greatest-key order.created
    pub created_key: Key,
    /// Symbol in `State::customers`.
    pub customer: u32,
    /// Symbol in `State::contracts`.
    pub contract: u32,
    pub origin: GeoPoint,
    pub destination: GeoPoint,
    pub window_start_us: i64,
    pub window_end_us: i64,
    pub weight_kg: u32,
    /// Greatest `order.amended` version applied (0 when none), counted even while orphan.
    pub amend_version: u32,
    // --- route group (ROUTED): the greatest-key route.planned
    pub route_key: Key,
    /// Symbol in `State::routes`.
    pub route: u32,
    pub stop_index: u16,
    pub flags: u8,
    pub vehicle_id: u64,
    // --- eta (HAS_ETA): the greatest key over route.planned and eta.revised
    pub eta_key: Key,
    pub eta_us: i64,
    /// Indexed by [`Milestone`]; [`NO_TIME`] when none applied.
    pub milestones_us: [i64; MILESTONES],
    // --- delivered (DELIVERED): the greatest-key shipment.delivered (its time is `delivered`)
    pub delivered_key: Key,
    pub failed_attempts: u32,
    /// Winning amendments per field, allocated on the first amendment that sets a field.
    pub amend: Option<Box<Amendments>>,
    /// Proof of delivery, charges and invoices, allocated on first need.
    pub extra: Option<Box<Extra>>,
}

impl Shipment {
    pub(crate) fn new(id: u64) -> Shipment {
        Shipment {
            id,
            created_key: Key::default(),
            customer: 0,
            contract: 0,
            origin: GeoPoint::default(),
            destination: GeoPoint::default(),
            window_start_us: 0,
            window_end_us: 0,
            weight_kg: 0,
            amend_version: 0,
            route_key: Key::default(),
            route: 0,
            stop_index: 0,
            flags: 0,
            vehicle_id: 0,
            eta_key: Key::default(),
            eta_us: 0,
            milestones_us: [NO_TIME; MILESTONES],
            delivered_key: Key::default(),
            failed_attempts: 0,
            amend: None,
            extra: None,
        }
    }

    #[inline]
    pub(crate) fn has(&self, bit: u8) -> bool {
        self.flags & bit != 0
    }

    #[inline]
    pub(crate) fn milestone(&self, m: Milestone) -> Option<i64> {
        super::register::time_opt(self.milestones_us[m as usize])
    }

    pub(crate) fn delivered_us(&self) -> Option<i64> {
        self.has(flag::DELIVERED)
            .then(|| self.delivered_key.time_us())
    }

    /// The order version: 1 for `order.created`, or the greatest amendment (0 when none).
    pub(crate) fn order_version(&self) -> u32 {
        let created = u32::from(self.has(flag::HAS_ORDER));
        created.max(self.amend_version)
    }

    /// Window start as the order says it now (amendments beat `order.created`, version >= 2);
    /// `None` while orphan.
    pub(crate) fn window_start_us(&self) -> Option<i64> {
        if !self.has(flag::HAS_ORDER) {
            return None;
        }
        let amended = self.amend.as_ref().and_then(|a| a.window_start.as_ref());
        Some(amended.map_or(self.window_start_us, |a| a.value))
    }

    pub(crate) fn window_end_us(&self) -> Option<i64> {
        if !self.has(flag::HAS_ORDER) {
            return None;
        }
        let amended = self.amend.as_ref().and_then(|a| a.window_end.as_ref());
        Some(amended.map_or(self.window_end_us, |a| a.value))
    }

    pub(crate) fn destination(&self) -> Option<GeoPoint> {
        if !self.has(flag::HAS_ORDER) {
            return None;
        }
        let amended = self.amend.as_ref().and_then(|a| a.destination.as_ref());
        Some(amended.map_or(self.destination, |a| a.value))
    }

    pub(crate) fn extra_mut(&mut self) -> &mut Extra {
        self.extra.get_or_insert_with(Default::default)
    }

    /// Heap held by this shipment's boxes (not the inline struct).
    pub(crate) fn heap_bytes(&self) -> usize {
        let amend = self
            .amend
            .as_ref()
            .map_or(0, |_| std::mem::size_of::<Amendments>());
        let extra = self.extra.as_ref().map_or(0, |e| e.heap_bytes());
        amend + extra
    }

    /// Checks the invariants that hold after every apply.
    pub(crate) fn debug_check(&self) {
        debug_assert_eq!(self.flags & !flag::ALL, 0);
        debug_assert!(!self.has(flag::ROUTED) || self.has(flag::HAS_ETA));
        debug_assert!(self.amend_version == 0 || self.amend_version >= 2);
        if let Some(a) = &self.amend {
            for v in [
                a.window_start.as_ref().map(|s| s.version),
                a.window_end.as_ref().map(|s| s.version),
                a.destination.as_ref().map(|s| s.version),
            ]
            .into_iter()
            .flatten()
            {
                debug_assert!(v >= 2 && v <= self.amend_version);
            }
        }
        if let Some(e) = &self.extra {
            for inv in &e.invoices {
                if let Some(issued) = &inv.issued {
                    debug_assert!(
                        issued
                            .charges
                            .iter()
                            .all(|&i| (i as usize) < e.charges.len())
                    );
                }
            }
        }
    }
}

/// The winning amendment of one order field: greatest (`version`, key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Amended<T> {
    pub version: u32,
    pub key: Key,
    pub value: T,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Amendments {
    pub window_start: Option<Amended<i64>>,
    pub window_end: Option<Amended<i64>>,
    pub destination: Option<Amended<GeoPoint>>,
}

/// Proof of delivery as carried by the winning `shipment.delivered`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PodValue {
    pub signed_by: Box<str>,
    pub photo_ref: Option<Box<str>>,
}

/// Rarely present per-shipment data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Extra {
    /// The pod of the winning `shipment.delivered` (`None` when it carried none).
    pub pod: Option<PodValue>,
    /// One record per charge id mentioned anywhere (added, voided or listed in an invoice), in
    /// first-mention order so invoice indexes stay stable. Views and digests sort by id.
    pub charges: Vec<ChargeRecord>,
    /// One record per invoice id mentioned (issued or settled), in first-mention order.
    pub invoices: Vec<InvoiceRecord>,
}

impl Extra {
    /// Index of the record for `id`, adding an empty one on first mention.
    pub(crate) fn charge_index(&mut self, id: &str) -> u32 {
        if let Some(i) = self.charges.iter().position(|c| &*c.id == id) {
            return i as u32;
        }
        assert!(self.charges.len() < u32::MAX as usize, "too many charges");
        // Few charges per shipment: grow one at a time rather than doubling.
        self.charges.reserve_exact(1);
        self.charges.push(ChargeRecord {
            id: id.into(),
            added: None,
            voided: false,
        });
        (self.charges.len() - 1) as u32
    }

    pub(crate) fn invoice_mut(&mut self, id: &str) -> &mut InvoiceRecord {
        let i = match self.invoices.iter().position(|c| &*c.id == id) {
            Some(i) => i,
            None => {
                self.invoices.reserve_exact(1);
                self.invoices.push(InvoiceRecord {
                    id: id.into(),
                    issued: None,
                    settled: None,
                });
                self.invoices.len() - 1
            }
        };
        &mut self.invoices[i]
    }

    /// The charge behind index `i` when it counts: added and not voided.
    #[inline]
    pub(crate) fn live_charge(&self, i: u32) -> Option<&ChargeAdd> {
        let c = &self.charges[i as usize];
        if c.voided { None } else { c.added.as_ref() }
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        let pod = self.pod.as_ref().map_or(0, |p| {
            p.signed_by.len() + p.photo_ref.as_ref().map_or(0, |r| r.len())
        });
        let charges = self.charges.capacity() * size_of::<ChargeRecord>()
            + self.charges.iter().map(|c| c.id.len()).sum::<usize>();
        let invoices = self.invoices.capacity() * size_of::<InvoiceRecord>()
            + self
                .invoices
                .iter()
                .map(|i| {
                    i.id.len()
                        + i.issued
                            .as_ref()
                            .map_or(0, |s| s.charges.len() * size_of::<u32>())
                })
                .sum::<usize>();
        size_of::<Extra>() + pod + charges + invoices
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChargeRecord {
    pub id: Box<str>,
    /// The greatest-key `charge.added` for this id, whether or not voided.
    pub added: Option<ChargeAdd>,
    /// Tombstone: set by any `charge.voided`, never cleared.
    pub voided: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ChargeAdd {
    pub key: Key,
    pub amount_cents: i64,
    pub currency: [u8; 3],
    pub kind: ChargeKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InvoiceRecord {
    pub id: Box<str>,
    /// The greatest-key `invoice.issued` for this id.
    pub issued: Option<Issued>,
    /// The greatest-key `invoice.settled` for this id (kept even before the invoice is known).
    pub settled: Option<Settled>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Issued {
    pub key: Key,
    pub total_cents: i64,
    /// Indexes into [`Extra::charges`], in the order the invoice lists them.
    pub charges: Box<[u32]>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Settled {
    pub key: Key,
    pub amount_cents: i64,
}
