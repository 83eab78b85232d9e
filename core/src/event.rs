//! The typed event model: what a decoded CloudEvent means once validated, and the journal
//! entry that carries it (an event, or a dead letter with its raw bytes).
//!
//! Units are in the names: times are microseconds since the Unix epoch (`_us`), money is
//! integer cents (`_cents`), coordinates are integer micro-degrees (`_ud`). No floats.

use rkyv::with::{AsBox, MapNiche};
use rkyv::{Archive, Deserialize, Serialize};

/// A line (or batch element) larger than this is dead-lettered as `too_large` (docs/events.md,
/// input).
pub const MAX_EVENT_BYTES: usize = 64 * 1024;
/// Upper bound on `id` and `correlationid` (docs/events.md, the envelope).
pub const MAX_ID_BYTES: usize = 128;
/// Upper bound on a source name after the `<system>/` prefix (docs/events.md, the envelope).
pub const MAX_SOURCE_NAME_BYTES: usize = 64;

/// The four systems of record (docs/events.md, event types).
#[derive(
    Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash,
)]
#[rkyv(compare(PartialEq), derive(Debug, Clone, Copy, PartialEq, Eq))]
#[repr(u8)]
pub enum System {
    Erp,
    Route,
    Fleet,
    Billing,
}

impl System {
    pub const ALL: [System; 4] = [System::Erp, System::Route, System::Fleet, System::Billing];

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
    Shipment,
    Vehicle,
}

impl SubjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::Shipment => "shipment",
            SubjectKind::Vehicle => "vehicle",
        }
    }
}

/// Every event type of docs/events.md, with its owner and subject kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventType {
    OrderCreated,
    OrderAmended,
    OrderCancelled,
    InvoiceSettled,
    RoutePlanned,
    EtaRevised,
    VehiclePosition,
    StopArrived,
    StopDeparted,
    ShipmentPickedUp,
    ShipmentDelivered,
    DeliveryFailed,
    ChargeAdded,
    ChargeVoided,
    InvoiceIssued,
}

impl EventType {
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

    pub fn subject_kind(self) -> SubjectKind {
        match self {
            EventType::VehiclePosition => SubjectKind::Vehicle,
            _ => SubjectKind::Shipment,
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
    Pickup,
    Delivery,
}

impl Stop {
    pub fn as_str(self) -> &'static str {
        match self {
            Stop::Pickup => "pickup",
            Stop::Delivery => "delivery",
        }
    }
    pub fn parse(s: &str) -> Option<Stop> {
        match s {
            "pickup" => Some(Stop::Pickup),
            "delivery" => Some(Stop::Delivery),
            _ => None,
        }
    }
}

/// The kind of a billing charge.
#[derive(
    Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash,
)]
#[rkyv(compare(PartialEq), derive(Debug, Clone, Copy, PartialEq, Eq))]
#[repr(u8)]
pub enum ChargeKind {
    Base,
    Fuel,
    Detention,
    Waiting,
    Redelivery,
    Other,
}

impl ChargeKind {
    pub const ALL: [ChargeKind; 6] = [
        ChargeKind::Base,
        ChargeKind::Fuel,
        ChargeKind::Detention,
        ChargeKind::Waiting,
        ChargeKind::Redelivery,
        ChargeKind::Other,
    ];
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

/// A point on the map in integer micro-degrees.
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
    pub lat_ud: i32,
    pub lon_ud: i32,
}

/// The commercial terms of an order. Figures may be 0, never negative.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[rkyv(derive(Debug, Clone, Copy, PartialEq, Eq))]
pub struct Contract {
    /// ISO 4217 code, three capital ASCII letters.
    pub currency: [u8; 3],
    pub base_cents: i64,
    pub detention_free_min: u32,
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

/// Proof of delivery.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Hash)]
#[rkyv(derive(Debug))]
pub struct Pod {
    pub signed_by: String,
    pub photo_ref: Option<String>,
}

/// The payload of an event, one variant per type of docs/events.md, validated.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub enum Body {
    // The archived body is as large as its largest variant, and every journal record pays
    // for it. The multi-word fields of `order.created` and `order.amended` are archived out
    // of line (a 4-byte relative pointer in the body, the value before it; an absent option is
    // a null pointer with nothing out of line), so these variants are no larger than the
    // others' (32 bytes, pinned below `Entry`).
    OrderCreated {
        #[rkyv(with = AsBox)]
        customer_id: String,
        #[rkyv(with = AsBox)]
        origin: GeoPoint,
        #[rkyv(with = AsBox)]
        destination: GeoPoint,
        #[rkyv(with = AsBox)]
        window_start_us: i64,
        #[rkyv(with = AsBox)]
        window_end_us: i64,
        weight_kg: u32,
        #[rkyv(with = AsBox)]
        contract: Contract,
    },
    OrderAmended {
        /// >= 2 (`order.created` is version 1).
        order_version: u32,
        #[rkyv(with = MapNiche<AsBox>)]
        window_start_us: Option<i64>,
        #[rkyv(with = MapNiche<AsBox>)]
        window_end_us: Option<i64>,
        #[rkyv(with = MapNiche<AsBox>)]
        destination: Option<GeoPoint>,
    },
    OrderCancelled {
        reason: String,
    },
    InvoiceSettled {
        invoice_id: String,
        amount_cents: i64,
    },
    RoutePlanned {
        // Declared first so that it shares the tag's word in the archive (32 bytes, not 40).
        stop_index: u16,
        route_id: String,
        vehicle_id: u64,
        eta_us: i64,
    },
    EtaRevised {
        eta_us: i64,
    },
    VehiclePosition {
        position: GeoPoint,
        /// Speed in thousandths of a km/h, rounded half away from zero; never negative.
        speed_kph_milli: u32,
    },
    StopArrived {
        stop: Stop,
    },
    StopDeparted {
        stop: Stop,
    },
    ShipmentPickedUp,
    ShipmentDelivered {
        pod: Option<Pod>,
    },
    DeliveryFailed {
        reason: String,
    },
    ChargeAdded {
        charge_id: String,
        kind: ChargeKind,
        /// > 0.
        amount_cents: i64,
        currency: [u8; 3],
    },
    ChargeVoided {
        charge_id: String,
    },
    InvoiceIssued {
        invoice_id: String,
        /// > 0.
        total_cents: i64,
        charge_ids: Vec<String>,
    },
}

impl Body {
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

/// A validated event. `subject` is the number after `shipment/` or `vehicle/`; which of the
/// two is implied by the type (`vehicle.position` names a vehicle, every other type a shipment).
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub struct Event {
    pub id: String,
    /// `<system>/<name>`.
    pub source: String,
    /// >= 1; (source, sequence) identifies the event for dedupe.
    pub sequence: u64,
    /// Event time at the source.
    pub time_us: i64,
    pub subject: u64,
    /// This and `traceparent` are archived as a 4-byte relative pointer, null when absent (an
    /// inline archived `Option<String>` takes 12 bytes, present or not).
    #[rkyv(with = MapNiche<AsBox>)]
    pub correlation_id: Option<String>,
    #[rkyv(with = MapNiche<AsBox>)]
    pub traceparent: Option<String>,
    pub body: Body,
}

impl Event {
    pub fn event_type(&self) -> EventType {
        self.body.event_type()
    }
}

impl ArchivedEvent {
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
    TooLarge,
    MalformedJson,
    InvalidEnvelope,
    UnknownType,
    UnsupportedSchemaVersion,
    OwnershipViolation,
    SubjectMismatch,
    InvalidData,
}

impl DeadLetterReason {
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

    pub fn parse(s: &str) -> Option<DeadLetterReason> {
        DeadLetterReason::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

impl ArchivedDeadLetterReason {
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
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub struct DeadLetter {
    pub reason: DeadLetterReason,
    /// One line saying which check failed, for people (for example `amount_cents must be > 0`).
    pub detail: String,
    pub raw: Vec<u8>,
    pub raw_len_bytes: u64,
}

/// A change of the journal's settings (docs/effects.md, SLA targets): not an event, so not
/// counted as received, but journaled so that a replay derives what the live core derived.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[rkyv(derive(Debug))]
pub struct Settings {
    /// SLA targets in whole minutes; `None`: no target for that measure.
    pub order_to_dispatch_min: Option<u32>,
    pub invoice_cycle_min: Option<u32>,
    pub pod_propagation_min: Option<u32>,
}

/// What one journal record carries: every received event is one entry (an event or a dead
/// letter); a settings record changes the journal's settings from its LSN on.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub enum Entry {
    Event(Event),
    DeadLetter(DeadLetter),
    Settings(Settings),
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
