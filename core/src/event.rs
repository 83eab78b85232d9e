//! The typed event model: what a decoded CloudEvent means once validated, and the journal
//! entry that carries it (an event, or a dead letter with its raw bytes).
//!
//! Units are in the names: times are microseconds since the Unix epoch, UTC (`_us`), money is
//! integer cents, the minor unit of the currency (`_cents`), coordinates are integer
//! micro-degrees (`_ud`). No floats.
//!
//! The values here are validated: a decoded [`Event`] satisfies every rule of docs/events.md
//! (the envelope, the payload fields and their ranges), and an event that does not becomes a
//! [`DeadLetter`]. An embedder that builds an [`Entry`] itself hands it to the core, which runs
//! the same validator and refuses what the decoder would dead-letter (docs/limits.md).

use rkyv::with::{AsBox, MapNiche};
use rkyv::{Archive, Deserialize, Serialize};

/// A line (or batch element) larger than this is dead-lettered as `too_large` (docs/events.md,
/// input).
pub const MAX_EVENT_BYTES: usize = 64 * 1024;
/// Upper bound on `id` and `correlationid`, in bytes (docs/events.md, the envelope).
pub const MAX_ID_BYTES: usize = 128;
/// Upper bound on a source name after the `<system>/` prefix, in bytes (docs/events.md, the
/// envelope).
pub const MAX_SOURCE_NAME_BYTES: usize = 64;

/// The four systems of record (docs/events.md, event types).
///
/// A source is `<system>/<name>`; each event type is owned by one system
/// ([`EventType::owner`]), and only sources of that system may emit it.
#[derive(
    Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash,
)]
#[rkyv(compare(PartialEq), derive(Debug, Clone, Copy, PartialEq, Eq))]
#[repr(u8)]
pub enum System {
    /// `erp`: orders, cancellations and invoice settlements.
    Erp,
    /// `route`: the route optimizer (route plans and eta revisions).
    Route,
    /// `fleet`: the fleet platform (positions, stops, pickups, deliveries).
    Fleet,
    /// `billing`: the billing engine (charges and invoices).
    Billing,
}

impl System {
    /// Every system, in declaration order.
    pub const ALL: [System; 4] = [System::Erp, System::Route, System::Fleet, System::Billing];

    /// The name that starts a source (`erp`, `route`, `fleet`, `billing`).
    pub fn as_str(self) -> &'static str {
        match self {
            System::Erp => "erp",
            System::Route => "route",
            System::Fleet => "fleet",
            System::Billing => "billing",
        }
    }

    /// The inverse of [`Self::as_str`] (a `match`: decoding calls it for every event).
    pub fn parse(s: &str) -> Option<System> {
        Some(match s {
            "erp" => System::Erp,
            "route" => System::Route,
            "fleet" => System::Fleet,
            "billing" => System::Billing,
            _ => return None,
        })
    }
}

/// What a `subject` names: `shipment/<u64>` or `vehicle/<u64>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubjectKind {
    /// `shipment/<id>`: every type but `vehicle.position`.
    Shipment,
    /// `vehicle/<id>`: `vehicle.position`.
    Vehicle,
}

impl SubjectKind {
    /// The prefix of the subject, before the `/` (`shipment` or `vehicle`).
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::Shipment => "shipment",
            SubjectKind::Vehicle => "vehicle",
        }
    }
}

/// Every event type of docs/events.md, with its owner and subject kind.
///
/// The payload of each type is the [`Body`] variant of the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventType {
    /// `order.created` (erp): a customer ordered a transport.
    OrderCreated,
    /// `order.amended` (erp): the order changed (window, destination).
    OrderAmended,
    /// `order.cancelled` (erp): the order was cancelled.
    OrderCancelled,
    /// `invoice.settled` (erp): an invoice was paid.
    InvoiceSettled,
    /// `route.planned` (route): the shipment was put on a tour.
    RoutePlanned,
    /// `eta.revised` (route): a new estimated arrival.
    EtaRevised,
    /// `vehicle.position` (fleet): a telematics ping; the only type about a vehicle.
    VehiclePosition,
    /// `stop.arrived` (fleet): the vehicle reached the pickup or delivery stop.
    StopArrived,
    /// `stop.departed` (fleet): the vehicle left the pickup or delivery stop.
    StopDeparted,
    /// `shipment.picked_up` (fleet): the goods were loaded.
    ShipmentPickedUp,
    /// `shipment.delivered` (fleet): the goods were delivered.
    ShipmentDelivered,
    /// `delivery.failed` (fleet): a delivery attempt failed.
    DeliveryFailed,
    /// `charge.added` (billing): a charge on the shipment.
    ChargeAdded,
    /// `charge.voided` (billing): a charge withdrawn.
    ChargeVoided,
    /// `invoice.issued` (billing): an invoice listing charges.
    InvoiceIssued,
}

impl EventType {
    /// Every event type, in the order of the table of docs/events.md.
    pub const ALL: [EventType; 15] = [
        EventType::OrderCreated,
        EventType::OrderAmended,
        EventType::OrderCancelled,
        EventType::InvoiceSettled,
        EventType::RoutePlanned,
        EventType::EtaRevised,
        EventType::VehiclePosition,
        EventType::StopArrived,
        EventType::StopDeparted,
        EventType::ShipmentPickedUp,
        EventType::ShipmentDelivered,
        EventType::DeliveryFailed,
        EventType::ChargeAdded,
        EventType::ChargeVoided,
        EventType::InvoiceIssued,
    ];

    /// The CloudEvents `type` attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::OrderCreated => "order.created",
            EventType::OrderAmended => "order.amended",
            EventType::OrderCancelled => "order.cancelled",
            EventType::InvoiceSettled => "invoice.settled",
            EventType::RoutePlanned => "route.planned",
            EventType::EtaRevised => "eta.revised",
            EventType::VehiclePosition => "vehicle.position",
            EventType::StopArrived => "stop.arrived",
            EventType::StopDeparted => "stop.departed",
            EventType::ShipmentPickedUp => "shipment.picked_up",
            EventType::ShipmentDelivered => "shipment.delivered",
            EventType::DeliveryFailed => "delivery.failed",
            EventType::ChargeAdded => "charge.added",
            EventType::ChargeVoided => "charge.voided",
            EventType::InvoiceIssued => "invoice.issued",
        }
    }

    /// The inverse of [`Self::as_str`] (a `match`: decoding calls it for every event).
    pub fn parse(s: &str) -> Option<EventType> {
        Some(match s {
            "order.created" => EventType::OrderCreated,
            "order.amended" => EventType::OrderAmended,
            "order.cancelled" => EventType::OrderCancelled,
            "invoice.settled" => EventType::InvoiceSettled,
            "route.planned" => EventType::RoutePlanned,
            "eta.revised" => EventType::EtaRevised,
            "vehicle.position" => EventType::VehiclePosition,
            "stop.arrived" => EventType::StopArrived,
            "stop.departed" => EventType::StopDeparted,
            "shipment.picked_up" => EventType::ShipmentPickedUp,
            "shipment.delivered" => EventType::ShipmentDelivered,
            "delivery.failed" => EventType::DeliveryFailed,
            "charge.added" => EventType::ChargeAdded,
            "charge.voided" => EventType::ChargeVoided,
            "invoice.issued" => EventType::InvoiceIssued,
            _ => return None,
        })
    }

    /// The only system allowed to emit this type (system-of-record governance).
    pub fn owner(self) -> System {
        match self {
            EventType::OrderCreated
            | EventType::OrderAmended
            | EventType::OrderCancelled
            | EventType::InvoiceSettled => System::Erp,
            EventType::RoutePlanned | EventType::EtaRevised => System::Route,
            EventType::VehiclePosition
            | EventType::StopArrived
            | EventType::StopDeparted
            | EventType::ShipmentPickedUp
            | EventType::ShipmentDelivered
            | EventType::DeliveryFailed => System::Fleet,
            EventType::ChargeAdded | EventType::ChargeVoided | EventType::InvoiceIssued => {
                System::Billing
            }
        }
    }

    /// What the type's `subject` names: a vehicle for `vehicle.position`, a shipment for every
    /// other type.
    pub fn subject_kind(self) -> SubjectKind {
        match self {
            EventType::VehiclePosition => SubjectKind::Vehicle,
            _ => SubjectKind::Shipment,
        }
    }

    /// The `schemaversion`s this type is accepted in, ascending (docs/events.md, schema
    /// versions). Version 1 is the canonical form every type has; `vehicle.position` and
    /// `charge.added` also have a version 2, upcast to the canonical form when decoded, so
    /// the journal and the state never hold a version.
    pub fn versions(self) -> &'static [u32] {
        match self {
            EventType::VehiclePosition | EventType::ChargeAdded => &[1, 2],
            _ => &[1],
        }
    }
}

/// Which stop of a shipment a fleet milestone refers to.
#[derive(
    Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash,
)]
#[rkyv(compare(PartialEq), derive(Debug, Clone, Copy, PartialEq, Eq))]
#[repr(u8)]
pub enum Stop {
    /// `pickup`: where the goods are loaded (the order's origin).
    Pickup,
    /// `delivery`: where the goods are delivered (the order's destination).
    Delivery,
}

impl Stop {
    /// The JSON value of the `stop` field (`pickup` or `delivery`).
    pub fn as_str(self) -> &'static str {
        match self {
            Stop::Pickup => "pickup",
            Stop::Delivery => "delivery",
        }
    }

    /// The inverse of [`Self::as_str`].
    pub fn parse(s: &str) -> Option<Stop> {
        match s {
            "pickup" => Some(Stop::Pickup),
            "delivery" => Some(Stop::Delivery),
            _ => None,
        }
    }
}

/// The kind of a billing charge (the `kind` field of `charge.added`).
///
/// Leakage (docs/state.md) reads two kinds: live `base` charges stand for the contract's base
/// price and live `detention` charges for the detention due.
#[derive(
    Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash,
)]
#[rkyv(compare(PartialEq), derive(Debug, Clone, Copy, PartialEq, Eq))]
#[repr(u8)]
pub enum ChargeKind {
    /// `base`: the base price of the transport.
    Base,
    /// `fuel`: a fuel surcharge.
    Fuel,
    /// `detention`: time the vehicle was held at the delivery stop.
    Detention,
    /// `waiting`: waiting time.
    Waiting,
    /// `redelivery`: a further delivery attempt.
    Redelivery,
    /// `other`: any other charge.
    Other,
}

impl ChargeKind {
    /// Every kind, in declaration order.
    pub const ALL: [ChargeKind; 6] = [
        ChargeKind::Base,
        ChargeKind::Fuel,
        ChargeKind::Detention,
        ChargeKind::Waiting,
        ChargeKind::Redelivery,
        ChargeKind::Other,
    ];

    /// The JSON value of the `kind` field (`base`, `fuel`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ChargeKind::Base => "base",
            ChargeKind::Fuel => "fuel",
            ChargeKind::Detention => "detention",
            ChargeKind::Waiting => "waiting",
            ChargeKind::Redelivery => "redelivery",
            ChargeKind::Other => "other",
        }
    }

    /// The inverse of [`Self::as_str`].
    pub fn parse(s: &str) -> Option<ChargeKind> {
        Some(match s {
            "base" => ChargeKind::Base,
            "fuel" => ChargeKind::Fuel,
            "detention" => ChargeKind::Detention,
            "waiting" => ChargeKind::Waiting,
            "redelivery" => ChargeKind::Redelivery,
            "other" => ChargeKind::Other,
            _ => return None,
        })
    }
}

/// A point on the map in integer micro-degrees (millionths of a degree).
///
/// Read exactly from the decimal text of the event's `{lat, lon}` and rounded half away from
/// zero to the micro-degree: `12.3456785` is kept as `12_345_679`. Validated points have a
/// latitude in [-90, 90] and a longitude in [-180, 180] degrees.
#[derive(
    Archive,
    Serialize,
    Deserialize,
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Default,
    bytemuck::Pod,
    bytemuck::Zeroable,
)]
#[rkyv(derive(Debug, Clone, Copy, PartialEq, Eq))]
#[repr(C)]
pub struct GeoPoint {
    /// Latitude in micro-degrees, -90_000_000 to 90_000_000 (positive is north).
    pub lat_ud: i32,
    /// Longitude in micro-degrees, -180_000_000 to 180_000_000 (positive is east).
    pub lon_ud: i32,
}

/// The commercial terms of an order (`contract` of `order.created`). Figures may be 0, never
/// negative.
///
/// The default (every figure 0, currency three zero bytes) is not a valid contract; it is how
/// the figures of an orphan shipment count (docs/state.md, orphans).
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[rkyv(derive(Debug, Clone, Copy, PartialEq, Eq))]
pub struct Contract {
    /// ISO 4217 code, three capital ASCII letters (`EUR`): the currency of every figure here.
    pub currency: [u8; 3],
    /// The base price, in cents of `currency`; >= 0.
    pub base_cents: i64,
    /// Minutes at the delivery stop before detention is due.
    pub detention_free_min: u32,
    /// The detention rate, in cents of `currency` per hour; >= 0.
    pub detention_cents_per_hour: i64,
}

impl ArchivedGeoPoint {
    /// The point as a plain value (the fields read from their little-endian archived form).
    #[inline]
    pub fn to_native(&self) -> GeoPoint {
        GeoPoint {
            lat_ud: self.lat_ud.to_native(),
            lon_ud: self.lon_ud.to_native(),
        }
    }
}

impl ArchivedContract {
    /// The terms as a plain value (the fields read from their little-endian archived form).
    #[inline]
    pub fn to_native(&self) -> Contract {
        Contract {
            currency: self.currency,
            base_cents: self.base_cents.to_native(),
            detention_free_min: self.detention_free_min.to_native(),
            detention_cents_per_hour: self.detention_cents_per_hour.to_native(),
        }
    }
}

/// Proof of delivery (`pod` of `shipment.delivered`).
///
/// `signed_by` and `photo_ref` together are at most 65,280 bytes of UTF-8.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Hash)]
#[rkyv(derive(Debug))]
pub struct Pod {
    /// Who signed for the goods: free text, may be empty.
    pub signed_by: String,
    /// A reference to a photo kept elsewhere (free text); `None` when the event gave none.
    pub photo_ref: Option<String>,
}

pub use body::{ArchivedBody, Body};

/// `Body` in a module of its own: the resolver rkyv derives for it (`BodyResolver`, whose
/// variant fields cannot carry docs) stays private to the crate.
mod body {
    use super::*;

    /// The payload of an event (its `data`), one variant per type of docs/events.md, validated.
    ///
    /// Times are microseconds since the Unix epoch (UTC), money is integer cents, identifiers are
    /// 1 to 128 bytes of UTF-8. Which fields an event carries is fixed by its type; what the state
    /// makes of them is in docs/state.md.
    #[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
    #[rkyv(derive(Debug))]
    pub enum Body {
        // The archived body is as large as its largest variant, and every journal record pays
        // for it. The multi-word fields of `order.created` and `order.amended` are archived out
        // of line (a 4-byte relative pointer in the body, the value before it; an absent option is
        // a null pointer with nothing out of line), so these variants are no larger than the
        // others' (32 bytes, pinned below `Entry`).
        /// `order.created`: the order, version 1 of every order field. Every field is required.
        OrderCreated {
            /// The customer: an identifier of 1 to 128 bytes.
            #[rkyv(with = AsBox)]
            customer_id: String,
            /// The pickup point.
            #[rkyv(with = AsBox)]
            origin: GeoPoint,
            /// The delivery point.
            #[rkyv(with = AsBox)]
            destination: GeoPoint,
            /// When the delivery window opens, µs since the Unix epoch.
            #[rkyv(with = AsBox)]
            window_start_us: i64,
            /// When the delivery window closes, µs since the Unix epoch; not before
            /// `window_start_us` (equal is allowed).
            #[rkyv(with = AsBox)]
            window_end_us: i64,
            /// The weight of the goods, in kilograms.
            weight_kg: u32,
            /// The commercial terms.
            #[rkyv(with = AsBox)]
            contract: Contract,
        },
        /// `order.amended`: a later version of some order fields; a field that is `None` is
        /// unchanged by this amendment.
        OrderAmended {
            /// The version this amendment sets, >= 2 (`order.created` is version 1).
            order_version: u32,
            /// The new start of the delivery window, µs since the Unix epoch.
            #[rkyv(with = MapNiche<AsBox>)]
            window_start_us: Option<i64>,
            /// The new end of the delivery window, µs since the Unix epoch; when both ends are
            /// given, not before `window_start_us`.
            #[rkyv(with = MapNiche<AsBox>)]
            window_end_us: Option<i64>,
            /// The new delivery point.
            #[rkyv(with = MapNiche<AsBox>)]
            destination: Option<GeoPoint>,
        },
        /// `order.cancelled`: the order was cancelled.
        OrderCancelled {
            /// Why, free text of at most 4,096 bytes (journaled; not part of the state).
            reason: String,
        },
        /// `invoice.settled`: the ERP's settlement of an invoice of the shipment.
        InvoiceSettled {
            /// The invoice settled: an identifier of 1 to 128 bytes.
            invoice_id: String,
            /// The amount paid, in cents; > 0.
            amount_cents: i64,
        },
        /// `route.planned`: the shipment was put on a tour.
        RoutePlanned {
            // Declared first so that it shares the tag's word in the archive (32 bytes, not 40).
            /// The shipment's stop on the tour.
            stop_index: u16,
            /// The tour: an identifier of 1 to 128 bytes.
            route_id: String,
            /// The vehicle that drives the tour (a field of the shipment: it does not create a
            /// vehicle).
            vehicle_id: u64,
            /// The estimated arrival, µs since the Unix epoch.
            eta_us: i64,
        },
        /// `eta.revised`: a new estimated arrival.
        EtaRevised {
            /// The estimated arrival, µs since the Unix epoch.
            eta_us: i64,
        },
        /// `vehicle.position`: a telematics ping of the vehicle named by the subject.
        VehiclePosition {
            /// Where the vehicle is.
            position: GeoPoint,
            /// Speed in thousandths of a km/h, rounded half away from zero; never negative (at most
            /// 4,294,967.295 km/h). Version 2's `speed_mps` is upcast exactly: `speed_mps` x 3.6.
            speed_kph_milli: u32,
            /// Heading in whole degrees clockwise from north, 0 to [`MAX_HEADING_DEG`]; only
            /// version 2 can carry it.
            heading_deg: Option<u16>,
            /// Horizontal accuracy in millimetres, rounded half away from zero (version 2's
            /// `accuracy_m`); only version 2 can carry it.
            accuracy_mm: Option<u32>,
        },
        /// `stop.arrived`: the vehicle reached the pickup or delivery stop.
        StopArrived {
            /// Which stop.
            stop: Stop,
        },
        /// `stop.departed`: the vehicle left the pickup or delivery stop.
        StopDeparted {
            /// Which stop.
            stop: Stop,
        },
        /// `shipment.picked_up`: the goods were loaded (no fields).
        ShipmentPickedUp,
        /// `shipment.delivered`: the goods were delivered.
        ShipmentDelivered {
            /// The proof of delivery; `None` when the event carried none.
            pod: Option<Pod>,
        },
        /// `delivery.failed`: a delivery attempt failed.
        DeliveryFailed {
            /// Why, free text of at most 4,096 bytes (journaled; not part of the state).
            reason: String,
        },
        /// `charge.added`: a charge on the shipment.
        ChargeAdded {
            /// The charge: an identifier of 1 to 128 bytes (charge ids belong to their shipment).
            charge_id: String,
            /// What the charge is for.
            kind: ChargeKind,
            /// The amount, in cents of `currency`; > 0.
            amount_cents: i64,
            /// ISO 4217 code, three capital ASCII letters.
            currency: [u8; 3],
        },
        /// `charge.voided`: a charge withdrawn for good (before or after it was added).
        ChargeVoided {
            /// The charge voided: an identifier of 1 to 128 bytes.
            charge_id: String,
        },
        /// `invoice.issued`: an invoice listing charges of the shipment.
        InvoiceIssued {
            /// The invoice: an identifier of 1 to 128 bytes.
            invoice_id: String,
            /// The invoice's total, in cents; > 0.
            total_cents: i64,
            /// The charges the invoice lists, as listed (may be empty; at most 4,096 ids of 1 to
            /// 128 bytes each).
            charge_ids: Vec<String>,
        },
    }
}

impl Body {
    /// The type this payload belongs to.
    pub fn event_type(&self) -> EventType {
        match self {
            Body::OrderCreated { .. } => EventType::OrderCreated,
            Body::OrderAmended { .. } => EventType::OrderAmended,
            Body::OrderCancelled { .. } => EventType::OrderCancelled,
            Body::InvoiceSettled { .. } => EventType::InvoiceSettled,
            Body::RoutePlanned { .. } => EventType::RoutePlanned,
            Body::EtaRevised { .. } => EventType::EtaRevised,
            Body::VehiclePosition { .. } => EventType::VehiclePosition,
            Body::StopArrived { .. } => EventType::StopArrived,
            Body::StopDeparted { .. } => EventType::StopDeparted,
            Body::ShipmentPickedUp => EventType::ShipmentPickedUp,
            Body::ShipmentDelivered { .. } => EventType::ShipmentDelivered,
            Body::DeliveryFailed { .. } => EventType::DeliveryFailed,
            Body::ChargeAdded { .. } => EventType::ChargeAdded,
            Body::ChargeVoided { .. } => EventType::ChargeVoided,
            Body::InvoiceIssued { .. } => EventType::InvoiceIssued,
        }
    }
}

impl ArchivedBody {
    /// The type this archived payload belongs to.
    pub fn event_type(&self) -> EventType {
        match self {
            ArchivedBody::OrderCreated { .. } => EventType::OrderCreated,
            ArchivedBody::OrderAmended { .. } => EventType::OrderAmended,
            ArchivedBody::OrderCancelled { .. } => EventType::OrderCancelled,
            ArchivedBody::InvoiceSettled { .. } => EventType::InvoiceSettled,
            ArchivedBody::RoutePlanned { .. } => EventType::RoutePlanned,
            ArchivedBody::EtaRevised { .. } => EventType::EtaRevised,
            ArchivedBody::VehiclePosition { .. } => EventType::VehiclePosition,
            ArchivedBody::StopArrived { .. } => EventType::StopArrived,
            ArchivedBody::StopDeparted { .. } => EventType::StopDeparted,
            ArchivedBody::ShipmentPickedUp => EventType::ShipmentPickedUp,
            ArchivedBody::ShipmentDelivered { .. } => EventType::ShipmentDelivered,
            ArchivedBody::DeliveryFailed { .. } => EventType::DeliveryFailed,
            ArchivedBody::ChargeAdded { .. } => EventType::ChargeAdded,
            ArchivedBody::ChargeVoided { .. } => EventType::ChargeVoided,
            ArchivedBody::InvoiceIssued { .. } => EventType::InvoiceIssued,
        }
    }
}

/// A validated event: the CloudEvents envelope and its typed payload.
///
/// `subject` is the number after `shipment/` or `vehicle/`; which of the two is implied by the
/// type (`vehicle.position` names a vehicle, every other type a shipment). The `specversion`,
/// `type` and `schemaversion` attributes are not kept: the first and last have one valid value,
/// and the type is the [`Body`] variant.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub struct Event {
    /// The CloudEvents `id`, 1 to 128 bytes: carried for the producer's own use (dedupe uses
    /// `source` and `sequence`, not `id`).
    pub id: String,
    /// The producer, `<system>/<name>`: the system owns the type, the name is 1 to 64 bytes of
    /// `[A-Za-z0-9._-]`.
    pub source: String,
    /// The producer's number for this event, >= 1; (`source`, `sequence`) identifies the event
    /// for dedupe.
    pub sequence: u64,
    /// Event time: when it happened at the source, µs since the Unix epoch (digits of `time`
    /// past the microsecond are cut off). The merge rules compare it; the ingest time is kept
    /// by the journal, never here.
    pub time_us: i64,
    /// The shipment or vehicle id of the `subject`.
    pub subject: u64,
    /// The `correlationid` attribute (at most 128 bytes), carried for tracing; `None` when
    /// the event had none.
    // This and `traceparent` are archived as a 4-byte relative pointer, null when absent (an
    // inline archived `Option<String>` takes 12 bytes, present or not).
    #[rkyv(with = MapNiche<AsBox>)]
    pub correlation_id: Option<String>,
    /// The W3C `traceparent` attribute (at most 512 bytes), carried for tracing; `None` when
    /// the event had none.
    #[rkyv(with = MapNiche<AsBox>)]
    pub traceparent: Option<String>,
    /// The payload (`data`), by type.
    pub body: Body,
}

impl Event {
    /// The event's type (of its payload).
    pub fn event_type(&self) -> EventType {
        self.body.event_type()
    }
}

impl ArchivedEvent {
    /// The archived event's type (of its payload).
    pub fn event_type(&self) -> EventType {
        self.body.event_type()
    }
}

/// Why an event was dead-lettered, in the order the checks run (docs/events.md, dead-letter
/// reasons).
#[derive(
    Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash,
)]
#[rkyv(compare(PartialEq), derive(Debug, Clone, Copy, PartialEq, Eq))]
#[repr(u8)]
pub enum DeadLetterReason {
    /// `too_large`: the event is larger than 64 KiB ([`MAX_EVENT_BYTES`]).
    TooLarge,
    /// `malformed_json`: not UTF-8, not JSON, trailing bytes after the value, or not an object.
    MalformedJson,
    /// `invalid_envelope`: a CloudEvents attribute missing, duplicated or breaking its rule.
    InvalidEnvelope,
    /// `unknown_type`: `type` is not one of the fifteen event types.
    UnknownType,
    /// `unsupported_schema_version`: `schemaversion` is an integer other than 1.
    UnsupportedSchemaVersion,
    /// `ownership_violation`: the source's system does not own the type.
    OwnershipViolation,
    /// `subject_mismatch`: the subject names a vehicle for a shipment type, or the reverse.
    SubjectMismatch,
    /// `invalid_data`: a payload field missing, duplicated, of the wrong type or out of range.
    InvalidData,
}

impl DeadLetterReason {
    /// Every reason, in the order the checks run.
    pub const ALL: [DeadLetterReason; 8] = [
        DeadLetterReason::TooLarge,
        DeadLetterReason::MalformedJson,
        DeadLetterReason::InvalidEnvelope,
        DeadLetterReason::UnknownType,
        DeadLetterReason::UnsupportedSchemaVersion,
        DeadLetterReason::OwnershipViolation,
        DeadLetterReason::SubjectMismatch,
        DeadLetterReason::InvalidData,
    ];

    /// The reason's name (`too_large`, `malformed_json`, ...), as summaries show it.
    pub fn as_str(self) -> &'static str {
        match self {
            DeadLetterReason::TooLarge => "too_large",
            DeadLetterReason::MalformedJson => "malformed_json",
            DeadLetterReason::InvalidEnvelope => "invalid_envelope",
            DeadLetterReason::UnknownType => "unknown_type",
            DeadLetterReason::UnsupportedSchemaVersion => "unsupported_schema_version",
            DeadLetterReason::OwnershipViolation => "ownership_violation",
            DeadLetterReason::SubjectMismatch => "subject_mismatch",
            DeadLetterReason::InvalidData => "invalid_data",
        }
    }

    /// The inverse of [`Self::as_str`].
    pub fn parse(s: &str) -> Option<DeadLetterReason> {
        DeadLetterReason::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The reason's position in [`Self::ALL`] (0 for `too_large`, 7 for `invalid_data`).
    pub fn index(self) -> usize {
        self as usize
    }
}

impl ArchivedDeadLetterReason {
    /// The reason as a plain value.
    pub fn native(&self) -> DeadLetterReason {
        match self {
            ArchivedDeadLetterReason::TooLarge => DeadLetterReason::TooLarge,
            ArchivedDeadLetterReason::MalformedJson => DeadLetterReason::MalformedJson,
            ArchivedDeadLetterReason::InvalidEnvelope => DeadLetterReason::InvalidEnvelope,
            ArchivedDeadLetterReason::UnknownType => DeadLetterReason::UnknownType,
            ArchivedDeadLetterReason::UnsupportedSchemaVersion => {
                DeadLetterReason::UnsupportedSchemaVersion
            }
            ArchivedDeadLetterReason::OwnershipViolation => DeadLetterReason::OwnershipViolation,
            ArchivedDeadLetterReason::SubjectMismatch => DeadLetterReason::SubjectMismatch,
            ArchivedDeadLetterReason::InvalidData => DeadLetterReason::InvalidData,
        }
    }
}

/// An event that failed acceptance, kept with its raw bytes so it can be listed and replayed
/// by hand. `raw` holds at most [`MAX_EVENT_BYTES`]; `raw_len_bytes` is the original length.
///
/// A dead letter is received and counted, but it never touches the state or the dedupe memory.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub struct DeadLetter {
    /// The first check that failed (docs/events.md, dead-letter reasons).
    pub reason: DeadLetterReason,
    /// One line saying which check failed, for people (for example `amount_cents must be > 0`);
    /// at most 1,024 bytes.
    pub detail: String,
    /// The event's bytes as received: all of them, or the first [`MAX_EVENT_BYTES`] of a
    /// larger event.
    pub raw: Vec<u8>,
    /// The event's full length in bytes (at least `raw.len()`).
    pub raw_len_bytes: u64,
}

/// A change of the journal's settings (docs/effects.md, SLA targets): not an event, so not
/// counted as received, but journaled so that a replay derives what the live core derived.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[rkyv(derive(Debug))]
pub struct Settings {
    /// The target of `order_to_dispatch_minutes`, in whole minutes; `None`: no target.
    pub order_to_dispatch_min: Option<u32>,
    /// The target of `invoice_cycle_minutes`, in whole minutes; `None`: no target.
    pub invoice_cycle_min: Option<u32>,
    /// The target of the proof-of-delivery propagation (ingest time minus event time of the
    /// delivery), in whole minutes; `None`: no target.
    pub pod_propagation_min: Option<u32>,
}

/// What the stage before a key group's journal tells it (docs/cluster.md): in a cluster, a
/// sequencer decides dedupe and gaps per source, upstream of the key groups, and a key group's
/// journal records what it decided. Not an event: not received, not counted.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub enum Notice {
    /// This journal holds a key group (the journal's first record only): every event in it
    /// was found new by the sequencer, which also detects the gaps, so the machine derives no
    /// gap of its own and lists none.
    KeyGroup(KeyGroup),
    /// The sequencer saw a source skip sequences (the `alert.gap` effect, derived where this
    /// record is stepped).
    Gap(GapNotice),
}

/// Which key group a journal holds.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub struct KeyGroup {
    /// The key group, below `groups`.
    pub group: u32,
    /// How many key groups the cluster has, at most [`MAX_KEY_GROUPS`].
    pub groups: u32,
}

/// Sequences of a source that never arrived before a later one did.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub struct GapNotice {
    /// The source, `<system>/<name>`.
    pub source: String,
    /// The first missing sequence, at least 1.
    pub first: u64,
    /// The last missing sequence, at least `first`.
    pub last: u64,
}

/// The greatest `heading_deg` of a `vehicle.position` (version 2): headings are whole degrees
/// clockwise from north, 0 to 359.
pub const MAX_HEADING_DEG: u16 = 359;

/// The ISO 4217 currencies whose minor unit is not 2 decimal digits, by code, ascending: 0
/// digits (yen, won, ...), 3 (dinars, rial omani) or 4 (the Chilean and Uruguayan units of
/// account). Every other code of three capital letters counts 2, as do the codes ISO 4217
/// gives no minor unit (precious metals, test codes).
pub const CURRENCY_MINOR_UNITS: [(&str, u32); 26] = [
    ("BHD", 3),
    ("BIF", 0),
    ("CLF", 4),
    ("CLP", 0),
    ("DJF", 0),
    ("GNF", 0),
    ("IQD", 3),
    ("ISK", 0),
    ("JOD", 3),
    ("JPY", 0),
    ("KMF", 0),
    ("KRW", 0),
    ("KWD", 3),
    ("LYD", 3),
    ("OMR", 3),
    ("PYG", 0),
    ("RWF", 0),
    ("TND", 3),
    ("UGX", 0),
    ("UYI", 0),
    ("UYW", 4),
    ("VND", 0),
    ("VUV", 0),
    ("XAF", 0),
    ("XOF", 0),
    ("XPF", 0),
];

/// The number of decimal digits of `currency`'s minor unit (ISO 4217): what one `_cents`
/// unit of money is worth. 2 unless [`CURRENCY_MINOR_UNITS`] says otherwise.
pub fn currency_minor_units(currency: [u8; 3]) -> u32 {
    debug_assert!(
        CURRENCY_MINOR_UNITS.is_sorted_by_key(|(code, _)| *code),
        "the table is searched by halves"
    );
    CURRENCY_MINOR_UNITS
        .binary_search_by(|(code, _)| code.as_bytes().cmp(&currency[..]))
        .map_or(2, |i| CURRENCY_MINOR_UNITS[i].1)
}

/// Most key groups a cluster splits its shipments and vehicles into.
pub const MAX_KEY_GROUPS: u32 = 4096;

/// What one journal record carries: every received event is one entry (an event or a dead
/// letter); a settings record changes the journal's settings from its LSN on; a notice says
/// what a cluster's sequencer decided for a key group's journal.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub enum Entry {
    /// An accepted event: applied, or a duplicate.
    Event(Event),
    /// An event that failed acceptance.
    DeadLetter(DeadLetter),
    /// The journal's settings (SLA targets) from this record on; not an event.
    Settings(Settings),
    /// What a cluster's sequencer decided (a key group's journal only); not an event.
    Notice(Notice),
}

// Every journal record holds one archived `Entry` (its strings and out-of-line fields before
// it), so these sizes are part of the journal format: a change is a new `FORMAT_VERSION`.
const _: () = {
    use std::mem::size_of;
    assert!(size_of::<ArchivedBody>() == 32);
    assert!(size_of::<ArchivedEvent>() == 80);
    assert!(size_of::<ArchivedDeadLetter>() == 32);
    assert!(size_of::<ArchivedEntry>() == 88);
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back() {
        for sys in System::ALL {
            assert_eq!(System::parse(sys.as_str()), Some(sys));
        }
        for ty in EventType::ALL {
            assert_eq!(EventType::parse(ty.as_str()), Some(ty));
        }
        for kind in ChargeKind::ALL {
            assert_eq!(ChargeKind::parse(kind.as_str()), Some(kind));
        }
        for bad in ["", "ERP", "erp ", "order", "order.created.", "Base"] {
            assert_eq!(System::parse(bad), None);
            assert_eq!(EventType::parse(bad), None);
            assert_eq!(ChargeKind::parse(bad), None);
        }
    }

    /// Every variant, with optional fields present and absent (the out-of-line ones among
    /// them), passes checked access and deserializes back to itself.
    #[test]
    fn entries_round_trip_through_the_archive() {
        use rkyv::rancor::Error;
        let p = |lat_ud, lon_ud| GeoPoint { lat_ud, lon_ud };
        let bodies = vec![
            Body::OrderCreated {
                customer_id: "CUST-00042".into(),
                origin: p(52_370_000, 4_900_000),
                destination: p(-33_868_800, 151_209_300),
                window_start_us: 1_795_766_400_000_000,
                window_end_us: -5,
                weight_kg: 1_200,
                contract: Contract {
                    currency: *b"EUR",
                    base_cents: 45_000,
                    detention_free_min: 90,
                    detention_cents_per_hour: i64::MAX,
                },
            },
            Body::OrderCreated {
                customer_id: "c".into(),
                origin: GeoPoint::default(),
                destination: GeoPoint::default(),
                window_start_us: 0,
                window_end_us: 0,
                weight_kg: 0,
                contract: Contract::default(),
            },
            Body::OrderAmended {
                order_version: 2,
                window_start_us: None,
                window_end_us: None,
                destination: None,
            },
            Body::OrderAmended {
                order_version: 3,
                window_start_us: Some(i64::MIN),
                window_end_us: None,
                destination: Some(p(1, -1)),
            },
            Body::OrderAmended {
                order_version: u32::MAX,
                window_start_us: Some(0),
                window_end_us: Some(7),
                destination: Some(GeoPoint::default()),
            },
            Body::OrderCancelled {
                reason: "customer request".into(),
            },
            Body::InvoiceSettled {
                invoice_id: "INV-1".into(),
                amount_cents: 10,
            },
            Body::RoutePlanned {
                route_id: "RT-17-3".into(),
                vehicle_id: u64::MAX,
                stop_index: u16::MAX,
                eta_us: 12,
            },
            Body::EtaRevised { eta_us: -1 },
            Body::VehiclePosition {
                position: p(-90_000_000, 180_000_000),
                speed_kph_milli: 88_500,
                heading_deg: None,
                accuracy_mm: None,
            },
            Body::VehiclePosition {
                position: p(1, -1),
                speed_kph_milli: 0,
                heading_deg: Some(MAX_HEADING_DEG),
                accuracy_mm: Some(12_345),
            },
            Body::StopArrived { stop: Stop::Pickup },
            Body::StopDeparted {
                stop: Stop::Delivery,
            },
            Body::ShipmentPickedUp,
            Body::ShipmentDelivered { pod: None },
            Body::ShipmentDelivered {
                pod: Some(Pod {
                    signed_by: "J. Doe".into(),
                    photo_ref: Some("pod/1/1.jpg".into()),
                }),
            },
            Body::DeliveryFailed {
                reason: String::new(),
            },
            Body::ChargeAdded {
                charge_id: "CH-1-1".into(),
                kind: ChargeKind::Detention,
                amount_cents: 1,
                currency: *b"USD",
            },
            Body::ChargeVoided {
                charge_id: "CH-1-1".into(),
            },
            Body::InvoiceIssued {
                invoice_id: "INV-1".into(),
                total_cents: 3,
                charge_ids: vec!["CH-1-1".into(), "CH-1-2".into()],
            },
        ];
        let options = [
            (None, None),
            (Some("c"), None),
            (
                Some("a correlation id longer than the inline eight bytes"),
                Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            ),
            (None, Some("")),
        ];
        let mut entries = Vec::new();
        for (i, body) in bodies.into_iter().enumerate() {
            for (corr, trace) in options {
                entries.push(Entry::Event(Event {
                    id: format!("event-{i}"),
                    source: "erp/main".into(),
                    sequence: i as u64 + 1,
                    time_us: 1_795_766_400_000_000 + i as i64,
                    subject: 42,
                    correlation_id: corr.map(String::from),
                    traceparent: trace.map(String::from),
                    body: body.clone(),
                }));
            }
        }
        entries.push(Entry::DeadLetter(DeadLetter {
            reason: DeadLetterReason::InvalidData,
            detail: "amount_cents must be > 0".into(),
            raw: b"{}".to_vec(),
            raw_len_bytes: 2,
        }));
        for entry in &entries {
            let bytes = rkyv::to_bytes::<Error>(entry).unwrap();
            let archived = rkyv::access::<ArchivedEntry, Error>(&bytes).unwrap();
            if let (ArchivedEntry::Event(a), Entry::Event(e)) = (archived, entry) {
                assert_eq!(a.event_type(), e.event_type());
                assert_eq!(
                    a.correlation_id.as_ref().map(|s| s.as_str()),
                    e.correlation_id.as_deref()
                );
                assert_eq!(
                    a.traceparent.as_ref().map(|s| s.as_str()),
                    e.traceparent.as_deref()
                );
            }
            let back = rkyv::deserialize::<Entry, Error>(archived).unwrap();
            assert_eq!(&back, entry);
        }
    }
}

#[cfg(test)]
mod currency_tests {
    use super::*;

    #[test]
    fn minor_units_follow_iso_4217() {
        for (code, want) in [
            ("EUR", 2),
            ("USD", 2),
            ("JPY", 0),
            ("KRW", 0),
            ("BHD", 3),
            ("KWD", 3),
            ("OMR", 3),
            ("CLF", 4),
            ("XAU", 2),
            ("ZZZ", 2),
        ] {
            let c: [u8; 3] = code.as_bytes().try_into().unwrap();
            assert_eq!(currency_minor_units(c), want, "{code}");
        }
        for (code, units) in CURRENCY_MINOR_UNITS {
            assert!(code.bytes().all(|b| b.is_ascii_uppercase()) && code.len() == 3);
            assert_ne!(units, 2, "{code} needs no entry");
        }
    }
}
