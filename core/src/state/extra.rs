//! The rare part of a shipment (amendments, proof of delivery, charges, invoices) and the
//! stores it lives in.
//!
//! A shipment that has any of these holds an [`Extra`] record: four `u32` references (0 is
//! none) into stores that all shipments share, [`ExtraStores`]:
//!
//! - charges: [`ChargeRecord`]s in one chunked store; a shipment's records form a chain in
//!   first-mention order (`next`, slot + 1), headed by [`Extra::charges`];
//! - invoices: [`InvoiceRecord`]s, chained the same way; the charges an invoice lists are a
//!   run of charge slots in the `listed` store;
//! - proof of delivery: one string in the text store (a short header, signed_by,
//!   photo_ref; see `pod_head`);
//! - amendments: one [`Amendments`] record in its own chunked store.
//!
//! Nothing is allocated per shipment and nothing is ever removed: every store only appends and
//! its chunks never move, so a reference stays valid for the life of the state. Replacing a
//! value may leave unused bytes behind: a winning pod with other text leaves the old string,
//! a winning invoice listing longer than the one it replaces takes a new run and leaves the
//! old run (a shorter or equal one is written over it). [`ExtraStores::heap_bytes`] counts
//! all of it. Slots and references depend on arrival order; views and digests only follow
//! them (they sort charges and invoices by id), and nothing orders by them.

use super::StoreBytes;
use super::register::Key;
use super::store::{Chunked, Text, TextFill};
use crate::event::{ChargeKind, GeoPoint};
use crate::snapshot::format::{SectionReader, SectionWriter, SnapshotDefect, defect};
use std::io;
use std::num::NonZeroU32;

/// A shipment's references into [`ExtraStores`], each 0 when none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C)]
pub(crate) struct Extra {
    /// Text reference + 1 of the winning `shipment.delivered`'s pod (0 when it carried none).
    pub pod: u32,
    /// Slot + 1 of the first charge record: one per charge id mentioned anywhere (added,
    /// voided or listed in an invoice), chained in first-mention order.
    pub charges: u32,
    /// Slot + 1 of the first invoice record: one per invoice id mentioned (issued or
    /// settled), chained in first-mention order.
    pub invoices: u32,
    /// Slot + 1 of the amendments, allocated on the first `order.amended`.
    pub amend: u32,
}

/// A record in a per-shipment chain.
pub(crate) trait Linked {
    /// Slot + 1 of the next record of the same shipment, 0 at the end.
    fn next(&self) -> u32;
}

/// The records of one chain, from its head (slot + 1) on, as (slot, record).
pub(crate) struct Chain<'a, T> {
    store: &'a Chunked<T>,
    next: u32,
}

impl<'a, T: Linked> Iterator for Chain<'a, T> {
    type Item = (u32, &'a T);

    #[inline]
    fn next(&mut self) -> Option<(u32, &'a T)> {
        let slot = self.next.checked_sub(1)?;
        let rec = self.store.get(slot);
        debug_assert!(
            rec.next() == 0 || rec.next() > self.next,
            "chains run forward"
        );
        self.next = rec.next();
        Some((slot, rec))
    }
}

fn chain<T>(store: &Chunked<T>, head: u32) -> Chain<'_, T> {
    Chain { store, next: head }
}

/// Proof of delivery as carried by the winning `shipment.delivered`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pod<'a> {
    pub signed_by: &'a str,
    pub photo_ref: Option<&'a str>,
}

/// The header of a pod's text-store encoding: a presence byte for `photo_ref`, then
/// `signed_by`'s length (u16 LE); `signed_by` and `photo_ref` follow. Both strings come from
/// one event of at most 64 KiB that also holds their field names, so the encoding fits one
/// text string (the store checks).
fn pod_head(signed_by: &str, photo_ref: Option<&str>) -> [u8; 3] {
    let n = u16::try_from(signed_by.len()).expect("signed_by fits a text string");
    let [lo, hi] = n.to_le_bytes();
    [u8::from(photo_ref.is_some()), lo, hi]
}

fn pod_decode(b: &[u8]) -> Pod<'_> {
    let n = usize::from(u16::from_le_bytes([b[1], b[2]]));
    let text = |b| std::str::from_utf8(b).expect("stored from strs");
    Pod {
        signed_by: text(&b[3..3 + n]),
        photo_ref: (b[0] != 0).then(|| text(&b[3 + n..])),
    }
}

/// The winning amendment of one order field: greatest (`version`, key). Versions are at least
/// 2, so `Option<Amended<T>>` takes no more room than `Amended<T>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Amended<T> {
    pub version: NonZeroU32,
    pub key: Key,
    pub value: T,
}

/// The `order.amended` events applied: the greatest version and the winning amendment per
/// order field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Amendments {
    /// Greatest `order.amended` version applied (at least 2), counted even while orphan.
    pub version: u32,
    pub window_start: Option<Amended<i64>>,
    pub window_end: Option<Amended<i64>>,
    pub destination: Option<Amended<GeoPoint>>,
}

/// A charge id's record: the greatest-key `charge.added` (when any) and the void tombstone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C)]
pub(crate) struct ChargeRecord {
    /// The charge id, in the text store.
    pub id: u32,
    key: Key,
    amount_cents: i64,
    currency: [u8; 3],
    /// Bits 0..3: [`ChargeKind`]; [`ChargeRecord::ADDED`]; [`ChargeRecord::VOIDED`].
    state: u8,
    /// Slot + 1 of the shipment's next charge record, 0 at the end.
    next: u32,
}

impl Linked for ChargeRecord {
    #[inline]
    fn next(&self) -> u32 {
        self.next
    }
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
            next: 0,
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

    /// The charge when it counts: added and not voided.
    #[inline]
    pub(crate) fn live(&self) -> Option<ChargeAdd> {
        if self.voided() { None } else { self.added() }
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C)]
pub(crate) struct InvoiceRecord {
    /// The invoice id, in the text store.
    pub id: u32,
    /// Slot + 1 of the shipment's next invoice record, 0 at the end.
    next: u32,
    /// First slot of the listed charges' run in the `listed` store.
    listed_at: u32,
    /// Bits 0..30: how many charges the winning `invoice.issued` lists; [`Self::ISSUED`];
    /// [`Self::SETTLED`].
    listed_len_flags: u32,
    pub issued_key: Key,
    pub settled_key: Key,
    pub total_cents: i64,
    pub settled_cents: i64,
}

impl Linked for InvoiceRecord {
    #[inline]
    fn next(&self) -> u32 {
        self.next
    }
}

impl InvoiceRecord {
    pub(crate) const ISSUED: u32 = 1 << 31;
    pub(crate) const SETTLED: u32 = 1 << 30;
    /// Most charges one listing holds (far more than a 64 KiB event can name).
    const MAX_LISTED: u32 = Self::SETTLED - 1;

    fn new(id: u32) -> InvoiceRecord {
        InvoiceRecord {
            id,
            next: 0,
            listed_at: 0,
            listed_len_flags: 0,
            issued_key: Key::ZERO,
            settled_key: Key::ZERO,
            total_cents: 0,
            settled_cents: 0,
        }
    }

    #[inline]
    pub(crate) fn has(&self, bit: u32) -> bool {
        self.listed_len_flags & bit != 0
    }

    /// How many charges the winning issue lists (0 until issued).
    #[inline]
    pub(crate) fn listed_len(&self) -> u32 {
        self.listed_len_flags & Self::MAX_LISTED
    }

    pub(crate) fn set_settled(&mut self, key: Key, amount_cents: i64) {
        self.settled_key = key;
        self.settled_cents = amount_cents;
        self.listed_len_flags |= Self::SETTLED;
    }

    /// The winning settlement's amount, when any.
    pub(crate) fn settled(&self) -> Option<i64> {
        self.has(Self::SETTLED).then_some(self.settled_cents)
    }
}

/// The stores behind every shipment's [`Extra`] (see the module docs).
#[derive(Debug, Clone, Default)]
pub(crate) struct ExtraStores {
    extras: Chunked<Extra>,
    charges: Chunked<ChargeRecord>,
    invoices: Chunked<InvoiceRecord>,
    /// Runs of charge slots, one per winning invoice listing.
    listed: Chunked<u32>,
    amendments: Chunked<Amendments>,
    /// Charge and invoice ids, pods.
    text: Text,
}

/// One shipment's extra part, for reading.
#[derive(Clone, Copy)]
pub(crate) struct ExtraRef<'a> {
    pub rec: &'a Extra,
    stores: &'a ExtraStores,
}

impl<'a> ExtraRef<'a> {
    /// The shipment's charge records in first-mention order, as (slot, record).
    #[inline]
    pub(crate) fn charges(&self) -> Chain<'a, ChargeRecord> {
        chain(&self.stores.charges, self.rec.charges)
    }

    /// The shipment's invoice records in first-mention order.
    #[inline]
    pub(crate) fn invoices(&self) -> impl Iterator<Item = &'a InvoiceRecord> + 'a {
        chain(&self.stores.invoices, self.rec.invoices).map(|(_, r)| r)
    }

    /// The charge record at `slot` (from [`ExtraRef::charges`] or [`ExtraRef::listed`]).
    #[inline]
    pub(crate) fn charge(&self, slot: u32) -> &'a ChargeRecord {
        self.stores.charges.get(slot)
    }

    /// The charge slots `inv` lists, in the order of its winning issue.
    #[inline]
    pub(crate) fn listed(&self, inv: &InvoiceRecord) -> impl Iterator<Item = u32> + 'a {
        let listed = &self.stores.listed;
        (inv.listed_at..inv.listed_at + inv.listed_len()).map(move |i| *listed.get(i))
    }

    /// The bytes of an id stored in the text store.
    #[inline]
    pub(crate) fn id_bytes(&self, r: u32) -> &'a [u8] {
        self.stores.text.bytes(r)
    }

    /// An id stored in the text store.
    #[inline]
    pub(crate) fn id(&self, r: u32) -> &'a str {
        self.stores.text.get(r)
    }

    pub(crate) fn pod(&self) -> Option<Pod<'a>> {
        let r = self.rec.pod.checked_sub(1)?;
        Some(pod_decode(self.stores.text.bytes(r)))
    }

    pub(crate) fn amend(&self) -> Option<&'a Amendments> {
        let slot = self.rec.amend.checked_sub(1)?;
        Some(self.stores.amendments.get(slot))
    }

    /// Checks the invariants of the part: chains end, every listed slot is one of the
    /// shipment's charges, only issued invoices list charges, ids are distinct.
    pub(crate) fn debug_check(&self) {
        if !cfg!(debug_assertions) {
            return;
        }
        let charges: Vec<(u32, &[u8])> = self
            .charges()
            .map(|(slot, c)| (slot, self.id_bytes(c.id)))
            .collect();
        for (i, (_, id)) in charges.iter().enumerate() {
            debug_assert!(
                charges[..i].iter().all(|(_, o)| o != id),
                "charge ids distinct"
            );
        }
        let mut ids: Vec<&[u8]> = Vec::new();
        for inv in self.invoices() {
            let id = self.id_bytes(inv.id);
            debug_assert!(!ids.contains(&id), "invoice ids distinct");
            ids.push(id);
            debug_assert!(inv.has(InvoiceRecord::ISSUED) || inv.listed_len() == 0);
            for slot in self.listed(inv) {
                debug_assert!(charges.iter().any(|&(s, _)| s == slot), "listed charge");
            }
        }
        if let Some(a) = self.amend() {
            debug_assert!(a.version >= 2);
        }
    }
}

/// An [`Amendments`] as a snapshot holds it: each field's version is 0 when it has no winner.
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C, packed(4))]
struct AmendmentsImage {
    version: u32,
    start_version: u32,
    start_key: Key,
    start_us: i64,
    end_version: u32,
    end_key: Key,
    end_us: i64,
    destination_version: u32,
    destination_key: Key,
    destination: GeoPoint,
}

impl AmendmentsImage {
    fn of(a: &Amendments) -> AmendmentsImage {
        fn split<T: Copy + Default>(x: Option<Amended<T>>) -> (u32, Key, T) {
            x.map_or((0, Key::ZERO, T::default()), |x| {
                (x.version.get(), x.key, x.value)
            })
        }
        let (start_version, start_key, start_us) = split(a.window_start);
        let (end_version, end_key, end_us) = split(a.window_end);
        let (destination_version, destination_key, destination) = split(a.destination);
        AmendmentsImage {
            version: a.version,
            start_version,
            start_key,
            start_us,
            end_version,
            end_key,
            end_us,
            destination_version,
            destination_key,
            destination,
        }
    }

    fn amendments(&self) -> Amendments {
        fn join<T>(version: u32, key: Key, value: T) -> Option<Amended<T>> {
            NonZeroU32::new(version).map(|version| Amended {
                version,
                key,
                value,
            })
        }
        Amendments {
            version: self.version,
            window_start: join(self.start_version, self.start_key, self.start_us),
            window_end: join(self.end_version, self.end_key, self.end_us),
            destination: join(
                self.destination_version,
                self.destination_key,
                self.destination,
            ),
        }
    }
}

impl ExtraStores {
    /// Writes every store in slot order (sections `extras` to `extra.text`).
    pub(crate) fn write_image(&self, w: &mut SectionWriter) -> io::Result<()> {
        w.parts("extras", self.extras.parts())?;
        w.parts("charges", self.charges.parts())?;
        w.parts("invoices", self.invoices.parts())?;
        w.parts("listed", self.listed.parts())?;
        let amendments: Vec<AmendmentsImage> =
            self.amendments.iter().map(AmendmentsImage::of).collect();
        w.section("amendments", &amendments)?;
        let lens: Vec<u32> = self.text.chunk_bytes().map(|c| c.len() as u32).collect();
        w.section("extra.lens", &lens)?;
        w.parts("extra.text", self.text.chunk_bytes())
    }

    /// The stores [`Self::write_image`] wrote, at the same slots and text references.
    /// `sources`: how many sources the machine has (for the keys).
    pub(crate) fn read_image(
        r: &mut SectionReader<'_>,
        sources: usize,
    ) -> Result<Self, SnapshotDefect> {
        let extras = Chunked::from_records(r.section::<Extra>("extras")?);
        let charges = Chunked::from_records(r.section::<ChargeRecord>("charges")?);
        let invoices = Chunked::from_records(r.section::<InvoiceRecord>("invoices")?);
        let listed = Chunked::from_records(r.section::<u32>("listed")?);
        let amendments: Vec<Amendments> = r
            .section::<AmendmentsImage>("amendments")?
            .iter()
            .map(AmendmentsImage::amendments)
            .collect();
        let mut amend_store = Chunked::default();
        amend_store.reserve(amendments.len());
        for a in amendments {
            amend_store.push(a);
        }
        let lens = r.section::<u32>("extra.lens")?;
        let text = r.section::<u8>("extra.text")?;
        let text = Text::from_chunks(lens, text).map_err(|e| defect(0, format!("extra: {e}")))?;
        let stores = ExtraStores {
            extras,
            charges,
            invoices,
            listed,
            amendments: amend_store,
            text,
        };
        stores.check_refs(sources).map_err(|e| defect(0, e))?;
        Ok(stores)
    }

    /// Every reference between the stores lands on a record or string that exists (what a
    /// snapshot's load checks, so that no later read can go out of bounds).
    fn check_refs(&self, sources: usize) -> Result<(), String> {
        let within = |r: u32, len: usize| (r as usize) <= len;
        let key_ok = |k: Key| k.sequence() == 0 || (k.source().0 as usize) < sources;
        for (slot, e) in self.extras.iter().enumerate() {
            let ok = (e.pod == 0 || self.text.holds(e.pod - 1))
                && within(e.charges, self.charges.len())
                && within(e.invoices, self.invoices.len())
                && within(e.amend, self.amendments.len());
            if !ok {
                return Err(format!("extra part {slot} refers past its stores"));
            }
        }
        for (slot, c) in self.charges.iter().enumerate() {
            if !self.text.holds(c.id) || !within(c.next, self.charges.len()) || !key_ok(c.key) {
                return Err(format!("charge record {slot} refers past its stores"));
            }
        }
        for (slot, i) in self.invoices.iter().enumerate() {
            let run_end = i.listed_at as usize + i.listed_len() as usize;
            let keys_ok = key_ok(i.issued_key) && key_ok(i.settled_key);
            if !self.text.holds(i.id)
                || !within(i.next, self.invoices.len())
                || run_end > self.listed.len()
                || !keys_ok
            {
                return Err(format!("invoice record {slot} refers past its stores"));
            }
        }
        let amend_ok = |a: &Amendments| {
            a.window_start.is_none_or(|x| key_ok(x.key))
                && a.window_end.is_none_or(|x| key_ok(x.key))
                && a.destination.is_none_or(|x| key_ok(x.key))
        };
        if let Some(bad) = self.amendments.iter().position(|a| !amend_ok(a)) {
            return Err(format!("amendments {bad} refer to an unknown source"));
        }
        if let Some(bad) = self
            .listed
            .iter()
            .position(|&c| c as usize >= self.charges.len())
        {
            return Err(format!("listed charge {bad} refers past the charges"));
        }
        Ok(())
    }

    /// Extra parts stored.
    pub(crate) fn len(&self) -> usize {
        self.extras.len()
    }

    /// The extra part at `slot + 1` (0 is none), for reading.
    #[inline]
    pub(crate) fn part(&self, extra: u32) -> Option<ExtraRef<'_>> {
        let slot = extra.checked_sub(1)?;
        Some(ExtraRef {
            rec: self.extras.get(slot),
            stores: self,
        })
    }

    /// The slot of the extra part `*extra` refers to, allocating it on first need.
    #[inline]
    pub(crate) fn slot_of(&mut self, extra: &mut u32) -> u32 {
        if *extra == 0 {
            *extra = self.extras.push(Extra::default()) + 1;
        }
        *extra - 1
    }

    /// The slot of the charge record for `id` in part `e`, adding it on first mention.
    pub(crate) fn charge_slot(&mut self, e: u32, id: &str) -> u32 {
        let head = self.extras.get(e).charges;
        let mut last = None;
        for (slot, c) in chain(&self.charges, head) {
            if self.text.bytes(c.id) == id.as_bytes() {
                return slot;
            }
            last = Some(slot);
        }
        let slot = self.charges.push(ChargeRecord::new(self.text.push(id)));
        match last {
            None => self.extras.get_mut(e).charges = slot + 1,
            Some(l) => self.charges.get_mut(l).next = slot + 1,
        }
        slot
    }

    #[inline]
    pub(crate) fn charge_mut(&mut self, slot: u32) -> &mut ChargeRecord {
        self.charges.get_mut(slot)
    }

    /// The slot of the record for invoice `id` in part `e`, if mentioned before.
    pub(crate) fn find_invoice(&self, e: u32, id: &str) -> Option<u32> {
        chain(&self.invoices, self.extras.get(e).invoices)
            .find(|(_, r)| self.text.bytes(r.id) == id.as_bytes())
            .map(|(slot, _)| slot)
    }

    #[inline]
    pub(crate) fn invoice(&self, slot: u32) -> &InvoiceRecord {
        self.invoices.get(slot)
    }

    /// The record for invoice `id` in part `e`, adding it on first mention.
    pub(crate) fn invoice_mut(&mut self, e: u32, id: &str) -> &mut InvoiceRecord {
        let slot = match self.find_invoice(e, id) {
            Some(slot) => slot,
            None => {
                let slot = self.invoices.push(InvoiceRecord::new(self.text.push(id)));
                let head = self.extras.get(e).invoices;
                match chain(&self.invoices, head).last() {
                    None => self.extras.get_mut(e).invoices = slot + 1,
                    Some((l, _)) => self.invoices.get_mut(l).next = slot + 1,
                }
                slot
            }
        };
        self.invoices.get_mut(slot)
    }

    /// Makes (`key`, `total_cents`, `charge_ids`) invoice `id`'s winning issue in part `e`:
    /// each listed charge id gets its record (added on first mention) and the listing is
    /// written over the previous one when it fits, else as a new run.
    pub(crate) fn issue_invoice<'c>(
        &mut self,
        e: u32,
        id: &str,
        key: Key,
        total_cents: i64,
        charge_ids: impl ExactSizeIterator<Item = &'c str>,
    ) {
        let n = u32::try_from(charge_ids.len())
            .ok()
            .filter(|&n| n <= InvoiceRecord::MAX_LISTED)
            .expect("invoice lists too many charges");
        let inv = self.invoice_mut(e, id);
        let (old_at, old_len) = (inv.listed_at, inv.listed_len());
        let at = if n <= old_len {
            old_at
        } else {
            u32::try_from(self.listed.len()).expect("listed store full")
        };
        for (i, c) in charge_ids.enumerate() {
            let slot = self.charge_slot(e, c);
            let i = at + i as u32;
            if n <= old_len {
                *self.listed.get_mut(i) = slot;
            } else {
                let pushed = self.listed.push(slot);
                debug_assert_eq!(pushed, i);
            }
        }
        let inv = self.invoice_mut(e, id);
        inv.issued_key = key;
        inv.total_cents = total_cents;
        inv.listed_at = at;
        inv.listed_len_flags =
            (inv.listed_len_flags & !InvoiceRecord::MAX_LISTED) | n | InvoiceRecord::ISSUED;
    }

    /// Sets part `e`'s pod (`None`: the winning delivery carried none). An equal pod keeps its
    /// stored text.
    pub(crate) fn set_pod(&mut self, e: u32, pod: Option<Pod<'_>>) {
        let new = match pod {
            None => 0,
            Some(p) => {
                let head = pod_head(p.signed_by, p.photo_ref);
                let parts = [
                    &head[..],
                    p.signed_by.as_bytes(),
                    p.photo_ref.unwrap_or("").as_bytes(),
                ];
                let cur = self.extras.get(e).pod;
                let same = cur != 0 && self.text.eq_parts(cur - 1, &parts);
                if same {
                    cur
                } else {
                    self.text.push_parts(&parts) + 1
                }
            }
        };
        self.extras.get_mut(e).pod = new;
    }

    /// Part `e`'s amendments, allocated on first need.
    pub(crate) fn amendments_mut(&mut self, e: u32) -> &mut Amendments {
        let rec = self.extras.get_mut(e);
        if rec.amend == 0 {
            rec.amend = self.amendments.push(Amendments::default()) + 1;
        }
        self.amendments.get_mut(rec.amend - 1)
    }

    /// Records held: (charges, invoices, listed charge slots).
    /// The stored bytes of a pod by its reference (slot + 1 in the text store, as
    /// [`Extra::pod`] holds it).
    pub(crate) fn pod_bytes(&self, pod: u32) -> &[u8] {
        debug_assert!(pod != 0);
        self.text.bytes(pod - 1)
    }

    pub(crate) fn counts(&self) -> (usize, usize, usize) {
        (self.charges.len(), self.invoices.len(), self.listed.len())
    }

    /// How full the text store of ids and pods is.
    pub(crate) fn text_fill(&self) -> TextFill {
        self.text.fill()
    }

    /// Bytes held by every store, by capacity (chunks, chunk tables, text).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.store_bytes().iter().map(|s| s.held_bytes).sum()
    }

    /// Bytes of the spare chunks asked for and not yet taken.
    pub(crate) fn spare_bytes(&self) -> usize {
        self.extras.spare_bytes()
            + self.charges.spare_bytes()
            + self.invoices.spare_bytes()
            + self.listed.spare_bytes()
            + self.amendments.spare_bytes()
    }

    /// What each store holds and uses.
    pub(crate) fn store_bytes(&self) -> [StoreBytes; 6] {
        [
            self.extras.store_bytes("extras"),
            self.charges.store_bytes("charges"),
            self.invoices.store_bytes("invoices"),
            self.listed.store_bytes("listed_charges"),
            self.amendments.store_bytes("amendments"),
            self.text.store_bytes("ids_text"),
        ]
    }
}

// Sizes the memory budget relies on (64-bit targets).
#[cfg(target_pointer_width = "64")]
const _: () = assert!(
    std::mem::size_of::<Extra>() == 16
        && std::mem::size_of::<ChargeRecord>() == 40
        && std::mem::size_of::<InvoiceRecord>() == 72
        && std::mem::size_of::<Amendments>() == 104
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
            ("\u{fc}\0x", Some("\0")),
        ];
        let mut stores = ExtraStores::default();
        let e = stores.slot_of(&mut 0);
        for &(signed_by, photo_ref) in cases {
            let pod = Pod {
                signed_by,
                photo_ref,
            };
            stores.set_pod(e, Some(pod));
            assert_eq!(stores.part(e + 1).unwrap().pod(), Some(pod));
        }
        let text = stores.text.heap_bytes();
        stores.set_pod(e, None);
        assert_eq!(stores.part(e + 1).unwrap().pod(), None);
        // Setting an equal pod again stores nothing new.
        let pod = Pod {
            signed_by: "a",
            photo_ref: Some(""),
        };
        stores.set_pod(e, Some(pod));
        let r = stores.extras.get(e).pod;
        stores.set_pod(e, Some(pod));
        assert_eq!(stores.extras.get(e).pod, r);
        assert!(stores.text.heap_bytes() >= text);
        stores.set_pod(
            e,
            Some(Pod {
                photo_ref: None,
                ..pod
            }),
        );
        assert_ne!(stores.extras.get(e).pod, r);
        assert_eq!(stores.part(e + 1).unwrap().pod().unwrap().photo_ref, None);
    }

    #[test]
    fn charge_record_keeps_kind_add_and_tombstone_apart() {
        let mut c = ChargeRecord::new(0);
        assert_eq!(c.added(), None);
        c.void();
        assert!(c.voided() && c.added().is_none() && c.live().is_none());
        for kind in ChargeKind::ALL {
            let a = ChargeAdd {
                key: Key::default(),
                amount_cents: -5,
                currency: *b"EUR",
                kind,
            };
            c.set_added(a);
            assert_eq!(c.added(), Some(a));
            assert!(c.voided() && c.live().is_none());
        }
    }

    #[test]
    fn chains_keep_first_mention_order_per_part() {
        let mut s = ExtraStores::default();
        let (a, b) = (s.slot_of(&mut 0), s.slot_of(&mut 0));
        let ca = s.charge_slot(a, "CH-1");
        let cb = s.charge_slot(b, "CH-1");
        assert_ne!(ca, cb);
        assert_eq!(s.charge_slot(a, "CH-2"), ca + 2);
        assert_eq!(s.charge_slot(a, "CH-1"), ca);
        s.invoice_mut(b, "INV-2").set_settled(Key::ZERO, 5);
        s.issue_invoice(
            b,
            "INV-1",
            Key::ZERO,
            7,
            ["CH-3", "CH-1", "CH-3"].into_iter(),
        );
        let ids = |s: &ExtraStores, e: u32| -> Vec<String> {
            let p = s.part(e + 1).unwrap();
            p.charges().map(|(_, c)| p.id(c.id).to_string()).collect()
        };
        assert_eq!(ids(&s, a), ["CH-1", "CH-2"]);
        assert_eq!(ids(&s, b), ["CH-1", "CH-3"]);
        let p = s.part(b + 1).unwrap();
        let invs: Vec<&str> = p.invoices().map(|r| p.id(r.id)).collect();
        assert_eq!(invs, ["INV-2", "INV-1"]);
        let inv = p.invoices().nth(1).unwrap();
        let listed: Vec<&str> = p.listed(inv).map(|c| p.id(p.charge(c).id)).collect();
        assert_eq!(listed, ["CH-3", "CH-1", "CH-3"]);
        assert!(inv.has(InvoiceRecord::ISSUED) && !inv.has(InvoiceRecord::SETTLED));
        assert_eq!(inv.total_cents, 7);
        p.debug_check();
    }

    #[test]
    fn listings_reuse_their_run_when_they_fit() {
        let mut s = ExtraStores::default();
        let e = s.slot_of(&mut 0);
        let listing = |s: &ExtraStores| -> Vec<String> {
            let p = s.part(e + 1).unwrap();
            let inv = p.invoices().next().unwrap();
            p.listed(inv)
                .map(|c| p.id(p.charge(c).id).to_string())
                .collect()
        };
        s.issue_invoice(e, "I", Key::ZERO, 0, ["a", "b"].into_iter());
        assert_eq!(s.listed.len(), 2);
        s.issue_invoice(e, "I", Key::ZERO, 0, ["c"].into_iter());
        assert_eq!((s.listed.len(), listing(&s)), (2, vec!["c".to_string()]));
        s.issue_invoice(e, "I", Key::ZERO, 0, [].into_iter());
        assert!(listing(&s).is_empty());
        s.issue_invoice(e, "I", Key::ZERO, 0, ["b", "c", "a"].into_iter());
        assert_eq!(s.listed.len(), 5);
        assert_eq!(listing(&s), ["b", "c", "a"]);
        let p = s.part(e + 1).unwrap();
        assert_eq!(p.invoices().count(), 1);
        assert_eq!(p.charges().count(), 3);
        p.debug_check();
    }
}
