//! The stored shape of one shipment, in three parts so that memory follows what a shipment
//! has reached:
//!
//! - [`Shipment`], the record every shipment has (104 bytes): id, flags, the order (contract
//!   terms inline) and the references to the other two parts.
//! - [`Progress`], allocated on the first route, eta, milestone, delivery or failed-attempt
//!   event (128 bytes, two cache lines): everything after the order.
//! - [`Extra`], allocated on first need: amendments, proof of delivery, charges and invoices.
//!
//! Parts live in append-only chunked stores and refer to each other by `u32` slot + 1 (0 is
//! none). [`ShipmentRef`] puts the parts of one shipment back together for reading.

use super::register::{Key, NO_TIME};
use super::store::Text;
use crate::event::{ChargeKind, Contract, GeoPoint};

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
/// in the first 40 bytes of a line.
#[derive(Debug, Clone, PartialEq, Eq)]
#[repr(C)]
pub(crate) struct Shipment {
    pub id: u64,
    /// Slot + 1 of this shipment's [`Progress`], 0 when none.
    pub progress: u32,
    /// Slot + 1 of this shipment's [`Extra`], 0 when none.
    pub extra: u32,
    /// Greatest `order.amended` version applied (0 when none), counted even while orphan.
    pub amend_version: u32,
    pub flags: u8,
    // --- order.created group (HAS_ORDER): the greatest-key order.created
    /// Contract currency (the other contract terms follow).
    pub currency: [u8; 3],
    pub created_key: Key,
    /// Symbol in `State::customers`.
    pub customer: u32,
    pub window_start_us: i64,
    pub window_end_us: i64,
    pub base_cents: i64,
    pub detention_cents_per_hour: i64,
    pub origin: GeoPoint,
    pub destination: GeoPoint,
    pub weight_kg: u32,
    pub detention_free_min: u32,
}

impl Shipment {
    pub(crate) fn new(id: u64) -> Shipment {
        Shipment {
            id,
            progress: 0,
            extra: 0,
            amend_version: 0,
            flags: 0,
            currency: [0; 3],
            created_key: Key::ZERO,
            customer: 0,
            window_start_us: 0,
            window_end_us: 0,
            base_cents: 0,
            detention_cents_per_hour: 0,
            origin: GeoPoint::default(),
            destination: GeoPoint::default(),
            weight_kg: 0,
            detention_free_min: 0,
        }
    }

    #[inline]
    pub(crate) fn has(&self, bit: u8) -> bool {
        self.flags & bit != 0
    }

    /// The contract terms of the order (defaults while orphan).
    #[inline]
    pub(crate) fn contract(&self) -> Contract {
        Contract {
            currency: self.currency,
            base_cents: self.base_cents,
            detention_free_min: self.detention_free_min,
            detention_cents_per_hour: self.detention_cents_per_hour,
        }
    }

    #[inline]
    pub(crate) fn set_contract(&mut self, c: Contract) {
        self.currency = c.currency;
        self.base_cents = c.base_cents;
        self.detention_free_min = c.detention_free_min;
        self.detention_cents_per_hour = c.detention_cents_per_hour;
    }
}

/// Everything after the order: route, eta, milestones, delivery, failed attempts. Groups are
/// valid only when their [`flag`] bit is set on the record; otherwise they hold defaults.
/// Aligned to a cache line: one record is exactly two lines.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    pub extra: Option<&'a Extra>,
    /// Where charge and invoice ids are stored.
    pub text: &'a Text,
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
        created.max(self.rec.amend_version)
    }

    fn amend(&self) -> Option<&'a Amendments> {
        self.extra.and_then(|e| e.amend.as_deref())
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
        self.has(flag::HAS_ORDER).then(|| self.rec.contract())
    }

    /// The id of charge record `i`.
    pub(crate) fn charge_id(&self, i: u32) -> &'a str {
        let e = self.extra.expect("charges live in the extra part");
        self.text.get(e.charges[i as usize].id)
    }

    /// Checks the invariants that hold after every apply.
    pub(crate) fn debug_check(&self) {
        let s = self.rec;
        debug_assert_eq!(s.flags & !flag::ALL, 0);
        debug_assert!(!s.has(flag::ROUTED) || s.has(flag::HAS_ETA));
        debug_assert!(s.amend_version == 0 || s.amend_version >= 2);
        if let Some(a) = self.amend() {
            for v in [
                a.window_start.as_ref().map(|s| s.version),
                a.window_end.as_ref().map(|s| s.version),
                a.destination.as_ref().map(|s| s.version),
            ]
            .into_iter()
            .flatten()
            {
                debug_assert!(v >= 2 && v <= s.amend_version);
            }
        }
        if let Some(e) = self.extra {
            for inv in e.invoices.iter() {
                debug_assert!(inv.listed.iter().all(|&i| (i as usize) < e.charges.len()));
                debug_assert!(inv.has(InvoiceRecord::ISSUED) || inv.listed.is_empty());
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

/// Proof of delivery as carried by the winning `shipment.delivered`, in one allocation:
/// a presence byte for `photo_ref`, `signed_by`'s length (u32 LE), `signed_by`, `photo_ref`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PodValue(Box<[u8]>);

impl PodValue {
    pub(crate) fn new(signed_by: &str, photo_ref: Option<&str>) -> PodValue {
        let photo = photo_ref.unwrap_or("");
        let mut b = Vec::with_capacity(5 + signed_by.len() + photo.len());
        b.push(u8::from(photo_ref.is_some()));
        b.extend_from_slice(&(signed_by.len() as u32).to_le_bytes());
        b.extend_from_slice(signed_by.as_bytes());
        b.extend_from_slice(photo.as_bytes());
        PodValue(b.into_boxed_slice())
    }

    fn split(&self) -> (&str, Option<&str>) {
        let n = u32::from_le_bytes(self.0[1..5].try_into().expect("4 bytes")) as usize;
        let text = |b| std::str::from_utf8(b).expect("built from strs");
        let signed_by = text(&self.0[5..5 + n]);
        let photo = (self.0[0] != 0).then(|| text(&self.0[5 + n..]));
        (signed_by, photo)
    }

    pub(crate) fn signed_by(&self) -> &str {
        self.split().0
    }

    pub(crate) fn photo_ref(&self) -> Option<&str> {
        self.split().1
    }

    fn heap_bytes(&self) -> usize {
        self.0.len()
    }
}

/// Rarely present per-shipment data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Extra {
    /// The pod of the winning `shipment.delivered` (`None` when it carried none).
    pub pod: Option<PodValue>,
    /// One record per charge id mentioned anywhere (added, voided or listed in an invoice), in
    /// first-mention order so invoice indexes stay stable. Views and digests sort by id.
    pub charges: Box<[ChargeRecord]>,
    /// One record per invoice id mentioned (issued or settled), in first-mention order.
    pub invoices: Box<[InvoiceRecord]>,
    /// Winning amendments per field, allocated on the first amendment that sets a field.
    pub amend: Option<Box<Amendments>>,
}

/// Appends to a boxed slice, growing it by exactly one (few records per shipment).
fn push_exact<T>(slice: &mut Box<[T]>, value: T) {
    let mut v = std::mem::take(slice).into_vec();
    v.reserve_exact(1);
    v.push(value);
    *slice = v.into_boxed_slice();
}

impl Extra {
    /// Index of the record for `id`, adding an empty one on first mention.
    pub(crate) fn charge_index(&mut self, id: &str, text: &mut Text) -> u32 {
        if let Some(i) = self
            .charges
            .iter()
            .position(|c| text.bytes(c.id) == id.as_bytes())
        {
            return i as u32;
        }
        assert!(self.charges.len() < u32::MAX as usize, "too many charges");
        push_exact(&mut self.charges, ChargeRecord::new(text.push(id)));
        (self.charges.len() - 1) as u32
    }

    /// Index of the record for invoice `id`, if mentioned before.
    pub(crate) fn find_invoice(&self, id: &str, text: &Text) -> Option<usize> {
        self.invoices
            .iter()
            .position(|r| text.bytes(r.id) == id.as_bytes())
    }

    pub(crate) fn invoice_mut(&mut self, id: &str, text: &mut Text) -> &mut InvoiceRecord {
        let i = match self.find_invoice(id, text) {
            Some(i) => i,
            None => {
                push_exact(&mut self.invoices, InvoiceRecord::new(text.push(id)));
                self.invoices.len() - 1
            }
        };
        &mut self.invoices[i]
    }

    /// The charge behind index `i` when it counts: added and not voided.
    #[inline]
    pub(crate) fn live_charge(&self, i: u32) -> Option<ChargeAdd> {
        let c = &self.charges[i as usize];
        if c.voided() { None } else { c.added() }
    }

    /// Heap held by this part's boxes (not the part itself, which its store counts). Ids are
    /// counted with the text store.
    pub(crate) fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        self.pod.as_ref().map_or(0, PodValue::heap_bytes)
            + self.charges.len() * size_of::<ChargeRecord>()
            + self.invoices.len() * size_of::<InvoiceRecord>()
            + self
                .invoices
                .iter()
                .map(|i| i.listed.len() * size_of::<u32>())
                .sum::<usize>()
            + self.amend.as_ref().map_or(0, |_| size_of::<Amendments>())
    }
}

/// A charge id's record: the greatest-key `charge.added` (when any) and the void tombstone.
/// Packed to 4-byte alignment: 36 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C, packed(4))]
pub(crate) struct ChargeRecord {
    /// The charge id, in `State::text`.
    pub id: u32,
    key: Key,
    amount_cents: i64,
    currency: [u8; 3],
    /// Bits 0..3: [`ChargeKind`]; [`ChargeRecord::ADDED`]; [`ChargeRecord::VOIDED`].
    state: u8,
}

impl ChargeRecord {
    const ADDED: u8 = 1 << 6;
    const VOIDED: u8 = 1 << 7;
    const KIND: u8 = 0x07;

    fn new(id: u32) -> ChargeRecord {
        ChargeRecord {
            id,
            key: Key::ZERO,
            amount_cents: 0,
            currency: [0; 3],
            state: 0,
        }
    }

    /// The winning `charge.added`, whether or not voided.
    #[inline]
    pub(crate) fn added(&self) -> Option<ChargeAdd> {
        (self.state & Self::ADDED != 0).then(|| ChargeAdd {
            key: self.key,
            amount_cents: self.amount_cents,
            currency: self.currency,
            kind: ChargeKind::ALL[(self.state & Self::KIND) as usize],
        })
    }

    pub(crate) fn set_added(&mut self, a: ChargeAdd) {
        self.key = a.key;
        self.amount_cents = a.amount_cents;
        self.currency = a.currency;
        self.state = (self.state & Self::VOIDED) | Self::ADDED | a.kind as u8;
    }

    /// Tombstone: set by any `charge.voided`, never cleared.
    #[inline]
    pub(crate) fn voided(&self) -> bool {
        self.state & Self::VOIDED != 0
    }

    pub(crate) fn void(&mut self) {
        self.state |= Self::VOIDED;
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ChargeAdd {
    pub key: Key,
    pub amount_cents: i64,
    pub currency: [u8; 3],
    pub kind: ChargeKind,
}

/// An invoice id's record: the greatest-key `invoice.issued` and the greatest-key
/// `invoice.settled` (kept even before the invoice is known), each valid with its bit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InvoiceRecord {
    /// The invoice id, in `State::text`.
    pub id: u32,
    flags: u32,
    pub issued_key: Key,
    pub settled_key: Key,
    pub total_cents: i64,
    pub settled_cents: i64,
    /// Indexes into [`Extra::charges`], in the order the winning invoice lists them.
    pub listed: Box<[u32]>,
}

impl InvoiceRecord {
    pub(crate) const ISSUED: u32 = 1 << 0;
    pub(crate) const SETTLED: u32 = 1 << 1;

    fn new(id: u32) -> InvoiceRecord {
        InvoiceRecord {
            id,
            flags: 0,
            issued_key: Key::ZERO,
            settled_key: Key::ZERO,
            total_cents: 0,
            settled_cents: 0,
            listed: Box::default(),
        }
    }

    #[inline]
    pub(crate) fn has(&self, bit: u32) -> bool {
        self.flags & bit != 0
    }

    pub(crate) fn set_issued(&mut self, key: Key, total_cents: i64, listed: Box<[u32]>) {
        self.issued_key = key;
        self.total_cents = total_cents;
        self.listed = listed;
        self.flags |= Self::ISSUED;
    }

    pub(crate) fn set_settled(&mut self, key: Key, amount_cents: i64) {
        self.settled_key = key;
        self.settled_cents = amount_cents;
        self.flags |= Self::SETTLED;
    }

    /// The winning settlement's amount, when any.
    pub(crate) fn settled(&self) -> Option<i64> {
        self.has(Self::SETTLED).then_some(self.settled_cents)
    }
}

// Sizes the memory budget relies on (64-bit targets).
#[cfg(target_pointer_width = "64")]
const _: () = assert!(
    std::mem::size_of::<Shipment>() == 104
        && std::mem::size_of::<Progress>() == 128
        && std::mem::size_of::<ChargeRecord>() == 36
        && std::mem::size_of::<InvoiceRecord>() == 80
        && std::mem::size_of::<Extra>() == 56
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_round_trips() {
        let cases: &[(&str, Option<&str>)] = &[
            ("", None),
            ("", Some("")),
            ("J. Doe", None),
            ("J. Doe", Some("s3://pods/1.jpg")),
            ("ü\0x", Some("\0")),
        ];
        for &(signed_by, photo_ref) in cases {
            let p = PodValue::new(signed_by, photo_ref);
            assert_eq!(p.signed_by(), signed_by);
            assert_eq!(p.photo_ref(), photo_ref);
        }
        assert_ne!(PodValue::new("a", None), PodValue::new("a", Some("")));
    }

    #[test]
    fn charge_record_keeps_kind_add_and_tombstone_apart() {
        let mut c = ChargeRecord::new(0);
        assert_eq!(c.added(), None);
        c.void();
        assert!(c.voided() && c.added().is_none());
        for kind in ChargeKind::ALL {
            let a = ChargeAdd {
                key: Key::default(),
                amount_cents: -5,
                currency: *b"EUR",
                kind,
            };
            c.set_added(a);
            assert_eq!(c.added(), Some(a));
            assert!(c.voided());
        }
    }
}
