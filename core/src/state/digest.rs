//! The composable state digest (docs/state.md): per entity, BLAKE3 of a canonical encoding of every
//! stored field; the state digest is the sum of the entity hashes as 256-bit little-endian
//! integers modulo 2^256, so disjoint partitions combine by addition and order never matters.
//!
//! The encoding is injective: fixed-width little-endian integers, length-prefixed strings,
//! a presence byte before every optional part, a count before every collection, collections
//! sorted by id bytes, sources written as their names (never their interned numbers) and
//! symbols resolved to their values. Shipments and vehicles hash under different BLAKE3
//! derive-key contexts.
//!
//! Derived fields (docs/state.md) are not encoded: each is a function of the stored fields
//! encoded here, so two shipments with the same encoding have the same derived fields and
//! encoding them too would add nothing. For instance `order_to_dispatch_minutes` follows from
//! the winning `order.created`'s key and the `picked_up` milestone, and `invoice_cycle_minutes`
//! from the winning delivery's key and the winning `invoice.issued` key of every invoice.

use super::State;
use super::extra::{Amended, InvoiceRecord};
use super::register::Key;
use super::shipment::{ShipmentRef, flag};
use super::vehicle::Vehicle;
use crate::event::GeoPoint;
use crate::source::Sources;
use std::fmt;
use std::sync::LazyLock;

const SHIPMENT_CONTEXT: &str = "waybill 2026 state digest shipment v1";
const VEHICLE_CONTEXT: &str = "waybill 2026 state digest vehicle v1";

/// A state digest: 256 bits, shown as 64 lowercase hex digits.
///
/// Equal states give equal digests, on every machine and in every version. The digest of a
/// state is the sum modulo 2^256 of its shipments' and vehicles' digests, read as little-endian
/// 256-bit integers ([`Digest::combine`]); the empty state's is [`Digest::ZERO`]. It covers
/// what the merge rules keep, including each winner's key, and not the counters, dedupe
/// memory, ingest times or LSNs (docs/state.md, the state digest).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    /// The digest of the empty state, and the identity of [`Digest::combine`].
    pub const ZERO: Digest = Digest([0; 32]);

    /// `a + b` modulo 2^256, both read as little-endian integers.
    pub fn combine(a: Digest, b: Digest) -> Digest {
        let mut out = [0u8; 32];
        let mut carry = 0u16;
        for (i, o) in out.iter_mut().enumerate() {
            let s = u16::from(a.0[i]) + u16::from(b.0[i]) + carry;
            *o = s as u8;
            carry = s >> 8;
        }
        Digest(out)
    }

    /// `a - b` modulo 2^256, both read as little-endian integers: the inverse of
    /// [`Digest::combine`], so `subtract(combine(a, b), b) == a`. Removes an entity's share
    /// from a sum of digests (a running summary replacing an entity's old digest by its new).
    pub fn subtract(a: Digest, b: Digest) -> Digest {
        let mut out = [0u8; 32];
        let mut borrow = 0i16;
        for (i, o) in out.iter_mut().enumerate() {
            let d = i16::from(a.0[i]) - i16::from(b.0[i]) - borrow;
            *o = d as u8; // d + 256 when negative: the same low byte
            borrow = i16::from(d < 0);
        }
        Digest(out)
    }

    /// The digest as 64 lowercase hex digits (the same text as `Display`).
    pub fn to_hex(&self) -> String {
        self.to_string()
    }

    /// Parses 64 hex digits (either case).
    pub fn from_hex(s: &str) -> Option<Digest> {
        let b = s.as_bytes();
        if b.len() != 64 {
            return None;
        }
        let nibble = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
        let mut out = [0u8; 32];
        for (i, o) in out.iter_mut().enumerate() {
            *o = (nibble(b[2 * i])? << 4) | nibble(b[2 * i + 1])?;
        }
        Some(Digest(out))
    }
}

impl std::iter::Sum for Digest {
    fn sum<I: Iterator<Item = Digest>>(iter: I) -> Digest {
        iter.fold(Digest::ZERO, Digest::combine)
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// The hashers of the two contexts before any input: deriving a context's key hashes the
/// context string, so it is done once and the hasher cloned per entity.
static SHIPMENT_HASHER: LazyLock<blake3::Hasher> =
    LazyLock::new(|| blake3::Hasher::new_derive_key(SHIPMENT_CONTEXT));
static VEHICLE_HASHER: LazyLock<blake3::Hasher> =
    LazyLock::new(|| blake3::Hasher::new_derive_key(VEHICLE_CONTEXT));

/// Bytes of encoding gathered before they are handed to the hasher: one BLAKE3 chunk. The
/// encoding of most entities fits, so most are hashed by a single update (each update call
/// has a fixed cost that the many small fields would otherwise pay one by one). Where the
/// input is split changes nothing in the hash.
const ENC_BUF: usize = 1024;

/// Canonical encoder feeding a BLAKE3 hasher, through a bounded buffer.
struct Enc<'a> {
    h: blake3::Hasher,
    sources: &'a Sources,
    buf: [u8; ENC_BUF],
    len: usize,
}

impl<'a> Enc<'a> {
    fn new(hasher: &LazyLock<blake3::Hasher>, sources: &'a Sources) -> Self {
        Enc {
            h: (**hasher).clone(),
            sources,
            buf: [0; ENC_BUF],
            len: 0,
        }
    }
    /// Appends raw bytes to the encoding.
    #[inline]
    fn put(&mut self, b: &[u8]) {
        if self.len + b.len() > ENC_BUF {
            self.h.update(&self.buf[..self.len]);
            self.len = 0;
            if b.len() > ENC_BUF {
                self.h.update(b);
                return;
            }
        }
        self.buf[self.len..self.len + b.len()].copy_from_slice(b);
        self.len += b.len();
    }
    fn u8(&mut self, v: u8) {
        self.put(&[v]);
    }
    fn bool(&mut self, v: bool) {
        self.u8(u8::from(v));
    }
    fn u16(&mut self, v: u16) {
        self.put(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.put(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.put(&v.to_le_bytes());
    }
    fn i64(&mut self, v: i64) {
        self.put(&v.to_le_bytes());
    }
    fn len(&mut self, n: usize) {
        self.u64(n as u64);
    }
    fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }
    /// Length-prefixed bytes (a string's encoding).
    fn bytes(&mut self, b: &[u8]) {
        self.len(b.len());
        self.put(b);
    }
    fn key(&mut self, k: Key) {
        self.i64(k.time_us());
        self.str(self.sources.name(k.source()));
        self.u64(k.sequence());
    }
    fn geo(&mut self, p: GeoPoint) {
        self.put(&p.lat_ud.to_le_bytes());
        self.put(&p.lon_ud.to_le_bytes());
    }
    fn amended<T>(&mut self, a: &Option<Amended<T>>, value: impl Fn(&mut Self, &T)) {
        match a {
            None => self.u8(0),
            Some(a) => {
                self.u8(1);
                self.u32(a.version.get());
                self.key(a.key);
                value(self, &a.value);
            }
        }
    }
    fn finish(mut self) -> Digest {
        self.h.update(&self.buf[..self.len]);
        Digest(*self.h.finalize().as_bytes())
    }
}

pub(crate) fn shipment_digest(state: &State, sr: &ShipmentRef<'_>, sources: &Sources) -> Digest {
    let (s, p) = (sr.rec, sr.progress);
    let mut e = Enc::new(&SHIPMENT_HASHER, sources);
    e.u64(s.id);
    e.u8(s.flags);
    if s.has(flag::HAS_ORDER) {
        e.key(s.created_key);
        e.str(state.customers.get(s.customer));
        let c = sr.contract().expect("an order has a contract");
        e.put(&c.currency);
        e.i64(c.base_cents);
        e.u32(c.detention_free_min);
        e.i64(c.detention_cents_per_hour);
        e.geo(s.origin);
        e.geo(s.destination);
        e.i64(s.window_start_us);
        e.i64(s.window_end_us);
        e.u32(s.weight_kg);
    }
    e.u32(sr.amend_version());
    match sr.amend() {
        None => {
            for _ in 0..3 {
                e.u8(0);
            }
        }
        Some(a) => {
            e.amended(&a.window_start, |e, v| e.i64(*v));
            e.amended(&a.window_end, |e, v| e.i64(*v));
            e.amended(&a.destination, |e, v| e.geo(*v));
        }
    }
    if s.has(flag::ROUTED) {
        e.key(p.route_key);
        e.str(state.routes.get(p.route));
        e.u64(p.vehicle_id);
        e.u16(p.stop_index);
    }
    if s.has(flag::HAS_ETA) {
        e.key(p.eta_key);
        e.i64(p.eta_us);
    }
    for t in p.milestones_us {
        e.i64(t);
    }
    if s.has(flag::DELIVERED) {
        e.key(p.delivered_key);
    }
    e.u32(p.failed_attempts);

    // An absent side structure encodes like an empty one.
    let extra = sr.extra;
    match extra.and_then(|x| x.pod()) {
        None => e.u8(0),
        Some(pod) => {
            e.u8(1);
            e.str(pod.signed_by);
            match pod.photo_ref {
                None => e.u8(0),
                Some(r) => {
                    e.u8(1);
                    e.str(r);
                }
            }
        }
    }
    let Some(x) = extra else {
        e.len(0);
        e.len(0);
        return e.finish();
    };
    // Charges: records that carry something (an add or a tombstone); ids only listed in an
    // invoice are encoded with the invoice.
    let mut charges: Vec<_> = x
        .charges()
        .filter(|(_, c)| c.added().is_some() || c.voided())
        .map(|(_, c)| (x.id_bytes(c.id), c))
        .collect();
    charges.sort_unstable_by(|a, b| a.0.cmp(b.0));
    e.len(charges.len());
    for (id, c) in charges {
        e.bytes(id);
        e.bool(c.voided());
        match c.added() {
            None => e.u8(0),
            Some(a) => {
                e.u8(1);
                e.key(a.key);
                e.u8(a.kind as u8);
                e.i64(a.amount_cents);
                e.put(&a.currency);
            }
        }
    }
    let mut invoices: Vec<_> = x.invoices().map(|r| (x.id_bytes(r.id), r)).collect();
    invoices.sort_unstable_by(|a, b| a.0.cmp(b.0));
    e.len(invoices.len());
    for (id, r) in invoices {
        e.bytes(id);
        if r.has(InvoiceRecord::ISSUED) {
            e.u8(1);
            e.key(r.issued_key);
            e.i64(r.total_cents);
            e.len(r.listed_len() as usize);
            for slot in x.listed(r) {
                e.bytes(x.id_bytes(x.charge(slot).id));
            }
        } else {
            e.u8(0);
        }
        if r.has(InvoiceRecord::SETTLED) {
            e.u8(1);
            e.key(r.settled_key);
            e.i64(r.settled_cents);
        } else {
            e.u8(0);
        }
    }
    e.finish()
}

pub(crate) fn vehicle_digest(v: &Vehicle, sources: &Sources) -> Digest {
    let mut e = Enc::new(&VEHICLE_HASHER, sources);
    e.u64(v.id);
    e.key(v.key);
    e.geo(v.position);
    e.u32(v.speed_kph_milli);
    // What only a version 2 position carries is hashed only when present, so that the digest
    // of a vehicle without it is what it always was. The fields before are of fixed width, so
    // the encoding stays unambiguous.
    if let Some(h) = v.bearing.heading_deg() {
        e.u8(b'h');
        e.u16(h);
    }
    if let Some(a) = v.bearing.accuracy_mm() {
        e.u8(b'a');
        e.u32(a);
    }
    e.finish()
}
