//! Outbound effects (docs/effects.md): what the downstream systems must hear about, derived by
//! the machine as it applies each record and delivered by the outbox.
//!
//! - This module: the effect model ([`EffectType`], its [`Downstream`] sink and [`Class`],
//!   the idempotency [`EffectKey`], the [`SlaMeasure`]s and their [`SlaTargets`]) and an effect
//!   as the outbox stores and delivers it ([`EffectOut`]: routing fields and the CloudEvents
//!   JSON). The machine's internal form of an effect (`Effect`, `EffectData`, the bounded
//!   `EffectBuf` it derives into, and `render`, which turns one into an [`EffectOut`]) is not
//!   part of the documented interface.
//! - `derive`: the rules, from a shipment's facts before and after a record (pure).
//!
//! An embedder sees effects as [`EffectOut`]s: delivered to a [`crate::outbox::Sink`], listed
//! from the effect log ([`crate::outbox::EffectLog`]), or kept in a dead letter
//! ([`crate::outbox::DeadLetter`]).
//!
//! Effects depend on arrival order (they say what was known when each record was applied), but
//! never on timing: replaying the journal derives the same effects, in the same order, with the
//! same keys. Delivery (attempts, acknowledgements, wall time) never reaches the machine.

pub(crate) mod derive;
mod rederive;
mod render;

pub use rederive::rederive_effects;
pub(crate) use render::EFFECT_SOURCE;
pub use render::{EffectOut, render};

use crate::event::GeoPoint;
use crate::source::SourceId;
use crate::state::Anomalies;
use std::fmt;
use xxhash_rust::xxh3::Xxh3;

/// The downstream system an effect is for (a sink of the outbox).
///
/// Each sink has two lanes, one per [`Class`]; [`EffectType::sink`] gives an effect's sink.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Downstream {
    /// `route`: the route optimizer (replans).
    Route,
    /// `billing`: the billing engine (confirmed deliveries).
    Billing,
    /// `erp`: the ERP (invoices ready).
    Erp,
    /// `ops`: operations (every alert).
    Ops,
}

impl Downstream {
    /// Every sink, in [`Downstream::index`] order.
    pub const ALL: [Downstream; 4] = [
        Downstream::Route,
        Downstream::Billing,
        Downstream::Erp,
        Downstream::Ops,
    ];

    /// The sink's name (`route`, `billing`, `erp`, `ops`), as in configuration tables and
    /// file names.
    pub fn as_str(self) -> &'static str {
        match self {
            Downstream::Route => "route",
            Downstream::Billing => "billing",
            Downstream::Erp => "erp",
            Downstream::Ops => "ops",
        }
    }

    /// The inverse of [`Self::as_str`].
    pub fn parse(s: &str) -> Option<Downstream> {
        Downstream::ALL.into_iter().find(|d| d.as_str() == s)
    }

    /// The sink's position in [`Self::ALL`], 0 to 3.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Downstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Delivery class: a sink's urgent effects never wait behind its financial ones.
///
/// A (sink, class) pair is a lane ([`crate::outbox::LaneId`]), delivered in order and
/// independently of the other lanes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    /// `urgent`: replans and operational alerts.
    Urgent,
    /// `financial`: confirmed deliveries, invoices ready and leakage alerts.
    Financial,
}

impl Class {
    /// Both classes, in [`Class::index`] order.
    pub const ALL: [Class; 2] = [Class::Urgent, Class::Financial];

    /// The class's name (`urgent` or `financial`), as in file names.
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Urgent => "urgent",
            Class::Financial => "financial",
        }
    }

    /// The class's position in [`Self::ALL`]: 0 for urgent, 1 for financial.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The effect types of docs/effects.md, each with its sink and class.
///
/// The type is the CloudEvents `type` of the effect ([`EffectType::as_str`]); what its `data`
/// holds is listed in docs/effects.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum EffectType {
    /// `route.replan_requested` (route, urgent): a routed, undelivered shipment's window or
    /// destination changed, or it was cancelled.
    RouteReplanRequested = 1,
    /// `billing.delivery_confirmed` (billing, financial): a shipment became delivered, or its
    /// delivered time, proof of delivery or detention minutes changed.
    BillingDeliveryConfirmed = 2,
    /// `erp.invoice_ready` (erp, financial): `invoice_ready` became true.
    ErpInvoiceReady = 3,
    /// `alert.late_delivery` (ops, urgent): `on_time` became false.
    AlertLateDelivery = 4,
    /// `alert.anomaly` (ops, urgent): an anomaly flag appeared on a shipment (one per flag).
    AlertAnomaly = 5,
    /// `alert.gap` (ops, urgent): a new range of missing sequences of a source.
    AlertGap = 6,
    /// `alert.sla_breached` (ops, urgent): an SLA measure passed its target.
    AlertSlaBreached = 7,
    /// `alert.leakage` (ops, financial): a delivered shipment's `leakage_cents` became
    /// positive, or changed while positive.
    AlertLeakage = 8,
}

impl EffectType {
    /// Every effect type, in the order of docs/effects.md.
    pub const ALL: [EffectType; 8] = [
        EffectType::RouteReplanRequested,
        EffectType::BillingDeliveryConfirmed,
        EffectType::ErpInvoiceReady,
        EffectType::AlertLateDelivery,
        EffectType::AlertAnomaly,
        EffectType::AlertGap,
        EffectType::AlertSlaBreached,
        EffectType::AlertLeakage,
    ];

    /// The CloudEvents `type` of the effect (`route.replan_requested`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            EffectType::RouteReplanRequested => "route.replan_requested",
            EffectType::BillingDeliveryConfirmed => "billing.delivery_confirmed",
            EffectType::ErpInvoiceReady => "erp.invoice_ready",
            EffectType::AlertLateDelivery => "alert.late_delivery",
            EffectType::AlertAnomaly => "alert.anomaly",
            EffectType::AlertGap => "alert.gap",
            EffectType::AlertSlaBreached => "alert.sla_breached",
            EffectType::AlertLeakage => "alert.leakage",
        }
    }

    /// The inverse of [`Self::as_str`].
    pub fn parse(s: &str) -> Option<EffectType> {
        EffectType::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The byte an effect log stores for this type (1 to 8, part of the file format).
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The inverse of [`Self::code`]; `None` for a byte that is no type's code.
    pub fn from_code(code: u8) -> Option<EffectType> {
        EffectType::ALL.into_iter().find(|t| t.code() == code)
    }

    /// The downstream system effects of this type are delivered to.
    pub fn sink(self) -> Downstream {
        match self {
            EffectType::RouteReplanRequested => Downstream::Route,
            EffectType::BillingDeliveryConfirmed => Downstream::Billing,
            EffectType::ErpInvoiceReady => Downstream::Erp,
            _ => Downstream::Ops,
        }
    }

    /// The delivery class of this type (with [`Self::sink`], its lane).
    pub fn class(self) -> Class {
        match self {
            EffectType::BillingDeliveryConfirmed
            | EffectType::ErpInvoiceReady
            | EffectType::AlertLeakage => Class::Financial,
            _ => Class::Urgent,
        }
    }
}

impl fmt::Display for EffectType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An effect's idempotency key: the XXH3-128 of its type, its subject and the facts that make it
/// distinct, so the same facts give the same key across replays, restarts and redeliveries.
/// Written as 32 hex digits (the CloudEvents `id` and the `Idempotency-Key`). Receivers
/// deduplicate on it: a redelivered effect has the same key.
///
/// The 16 bytes are the hash's 128-bit value in little-endian order; [`EffectKey::to_hex`] and
/// `Display` print them in that order, two lowercase hex digits per byte.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct EffectKey(pub [u8; 16]);

impl EffectKey {
    /// The key as 32 lowercase hex digits (the same text as `Display`).
    pub fn to_hex(self) -> String {
        let mut s = String::with_capacity(32);
        for b in self.0 {
            use fmt::Write;
            let _ = write!(s, "{b:02x}");
        }
        s
    }

    /// The inverse of [`Self::to_hex`] (hex digits of either case); `None` when `s` is not 32
    /// ASCII characters that read as 16 hex bytes.
    pub fn from_hex(s: &str) -> Option<EffectKey> {
        if s.len() != 32 || !s.is_ascii() {
            return None;
        }
        let mut k = [0u8; 16];
        for (i, b) in k.iter_mut().enumerate() {
            *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(EffectKey(k))
    }
}

impl fmt::Display for EffectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for EffectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EffectKey({self})")
    }
}

/// Builds an [`EffectKey`] from length-prefixed parts, so no two part lists hash alike.
pub(crate) struct KeyHasher(Xxh3);

impl KeyHasher {
    pub(crate) fn new(t: EffectType, subject: &[u8]) -> KeyHasher {
        let mut h = KeyHasher(Xxh3::new());
        h.bytes(t.as_str().as_bytes());
        h.bytes(subject);
        h
    }

    pub(crate) fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.0.update(&(b.len() as u64).to_le_bytes());
        self.0.update(b);
        self
    }

    pub(crate) fn i64(&mut self, v: i64) -> &mut Self {
        self.0.update(&v.to_le_bytes());
        self
    }

    pub(crate) fn finish(&self) -> EffectKey {
        EffectKey(self.0.digest128().to_le_bytes())
    }
}

/// The SLA measures of docs/effects.md (SLA targets), all in whole minutes.
///
/// A measure breaches (`alert.sla_breached`) when it goes above its target in [`SlaTargets`],
/// at most once per shipment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SlaMeasure {
    /// The shipment's `order_to_dispatch_minutes` (docs/state.md).
    OrderToDispatch,
    /// The shipment's `invoice_cycle_minutes` (docs/state.md).
    InvoiceCycle,
    /// Proof-of-delivery propagation: ingest time minus event time of the `shipment.delivered`
    /// that first made the shipment delivered, in whole minutes (floor).
    PodPropagation,
}

impl SlaMeasure {
    /// Every measure, in the order breaches are derived.
    pub const ALL: [SlaMeasure; 3] = [
        SlaMeasure::OrderToDispatch,
        SlaMeasure::InvoiceCycle,
        SlaMeasure::PodPropagation,
    ];

    /// The measure's name in `alert.sla_breached` (`order_to_dispatch`, `invoice_cycle`,
    /// `pod_propagation`).
    pub fn as_str(self) -> &'static str {
        match self {
            SlaMeasure::OrderToDispatch => "order_to_dispatch",
            SlaMeasure::InvoiceCycle => "invoice_cycle",
            SlaMeasure::PodPropagation => "pod_propagation",
        }
    }
}

/// SLA targets in whole minutes, `None` for a measure without a target. They belong to the
/// journal: set when it is created and changed only by a journaled settings record
/// ([`crate::event::Entry::Settings`]), so a replay derives the same breaches.
pub type SlaTargets = crate::event::Settings;

impl SlaTargets {
    /// No target for any measure (a journal's settings until a settings record sets some).
    pub const NONE: SlaTargets = SlaTargets {
        order_to_dispatch_min: None,
        invoice_cycle_min: None,
        pod_propagation_min: None,
    };

    /// The target of measure `m` in whole minutes; `None` when it has none.
    pub fn get(&self, m: SlaMeasure) -> Option<u32> {
        match m {
            SlaMeasure::OrderToDispatch => self.order_to_dispatch_min,
            SlaMeasure::InvoiceCycle => self.invoice_cycle_min,
            SlaMeasure::PodPropagation => self.pod_propagation_min,
        }
    }

    /// As stored (in a settings record and a snapshot): one word per measure, `u32::MAX + 1`
    /// meaning none.
    pub(crate) fn to_words(self) -> [u64; 3] {
        let w = |v: Option<u32>| v.map_or(NO_TARGET, u64::from);
        [
            w(self.order_to_dispatch_min),
            w(self.invoice_cycle_min),
            w(self.pod_propagation_min),
        ]
    }

    pub(crate) fn from_words(w: [u64; 3]) -> Option<SlaTargets> {
        let r = |v: u64| -> Option<Option<u32>> {
            if v == NO_TARGET {
                Some(None)
            } else {
                u32::try_from(v).ok().map(Some)
            }
        };
        Some(SlaTargets {
            order_to_dispatch_min: r(w[0])?,
            invoice_cycle_min: r(w[1])?,
            pod_propagation_min: r(w[2])?,
        })
    }
}

const NO_TARGET: u64 = 1 << 32;

/// A string an effect carries, held in its [`EffectBuf`]'s text.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct TextRef {
    pub start: u32,
    pub len: u32,
}

/// What an effect says, by type (docs/effects.md, data). Strings live in the buffer's text.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EffectData {
    Replan {
        cancelled: bool,
        window_start_us: Option<i64>,
        window_end_us: Option<i64>,
        destination: Option<GeoPoint>,
        vehicle_id: u64,
    },
    DeliveryConfirmed {
        delivered_us: i64,
        detention_minutes: i64,
        pod_signed_by: Option<TextRef>,
        pod_photo_ref: Option<TextRef>,
        currency: Option<[u8; 3]>,
        billed_cents: i64,
    },
    InvoiceReady {
        /// The issued invoice ids, sorted, each followed by a 0 byte.
        invoice_ids: TextRef,
        currency: Option<[u8; 3]>,
        billed_cents: i64,
    },
    LateDelivery {
        delivered_us: i64,
        window_start_us: i64,
        window_end_us: i64,
    },
    Anomaly {
        flag: Anomalies,
    },
    Gap {
        first: u64,
        last: u64,
    },
    SlaBreached {
        measure: SlaMeasure,
        minutes: i64,
        target_min: u32,
    },
    Leakage {
        leakage_cents: i64,
        currency: Option<[u8; 3]>,
    },
}

/// What an effect is about: a shipment, or a source (for gaps).
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EffectSubject {
    Shipment(u64),
    Source(SourceId),
}

/// One derived effect, as the machine leaves it in an [`EffectBuf`].
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Effect {
    /// Contiguous from 1 in derivation order, over the journal's whole history.
    pub seq: u64,
    pub effect_type: EffectType,
    pub subject: EffectSubject,
    /// The LSN of the record whose application derived it.
    pub cause_lsn: u64,
    /// The ingest time of that record.
    pub time_us: i64,
    pub key: EffectKey,
    pub data: EffectData,
    /// The cause's `correlationid` and `traceparent`, when it carried them.
    pub correlation_id: Option<TextRef>,
    pub traceparent: Option<TextRef>,
}

/// Most effects one record can derive (every rule at most once, one per anomaly flag that
/// appears, one per SLA measure; `orphan` and `currency_mismatch` never appear together, as one
/// needs the order and the other its absence); a buffer drained at every batch end therefore
/// stays within a bound.
#[doc(hidden)]
pub const MAX_EFFECTS_PER_RECORD: usize = 12;

/// The effects derived since the buffer was last drained, with the strings they carry. The
/// machine appends only while collecting ([`crate::machine::Machine::collect_effects`]);
/// whoever collects drains it at every batch end, so it holds at most one batch's effects.
#[doc(hidden)]
#[derive(Debug, Default, Clone)]
pub struct EffectBuf {
    effects: Vec<Effect>,
    text: Vec<u8>,
}

impl EffectBuf {
    pub fn new() -> EffectBuf {
        EffectBuf::default()
    }

    pub fn len(&self) -> usize {
        self.effects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.effects.is_empty()
    }

    pub fn effects(&self) -> &[Effect] {
        &self.effects
    }

    /// The string `r` refers to.
    pub fn text(&self, r: TextRef) -> &[u8] {
        &self.text[r.start as usize..(r.start + r.len) as usize]
    }

    pub fn clear(&mut self) {
        self.effects.clear();
        self.text.clear();
    }

    pub(crate) fn push(&mut self, e: Effect) {
        debug_assert!(
            self.effects.last().is_none_or(|p| p.seq + 1 == e.seq),
            "effects are pushed in effect_seq order, contiguous"
        );
        self.effects.push(e);
    }

    pub(crate) fn push_text(&mut self, b: &[u8]) -> TextRef {
        let start = u32::try_from(self.text.len()).expect("effect text stays under 4 GiB");
        self.text.extend_from_slice(b);
        TextRef {
            start,
            len: b.len() as u32,
        }
    }

    /// Appends to the last string pushed (for a list of ids in one [`TextRef`]).
    pub(crate) fn extend_text(&mut self, r: &mut TextRef, b: &[u8]) {
        debug_assert_eq!((r.start + r.len) as usize, self.text.len());
        self.text.extend_from_slice(b);
        r.len += b.len() as u32;
    }
}
