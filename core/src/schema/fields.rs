//! The payload of each event type and version as a table: every field with its name, whether
//! it is required, and its kind with the limits the decoder and the validator apply.
//!
//! The schemas are generated from these tables; the top-level names of each version 1 table
//! are, in order, the names the decoder collects (a unit test holds them equal).

use crate::event::{EventType, MAX_HEADING_DEG};
use crate::validate::{MAX_CHARGE_IDS, MAX_POD_BYTES, MAX_REASON_BYTES};

/// One field of a payload, or of an object inside one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// The JSON name.
    pub name: &'static str,
    /// Required (absent or `null` is `invalid_data`), or optional (absent and `null` both mean
    /// "not given").
    pub required: bool,
    /// What the value must be.
    pub kind: Kind,
    /// What the field means, for the schema's `description`.
    pub doc: &'static str,
}

/// What a field's value must be, with its limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An identifier: a string of 1 to `event::MAX_ID_BYTES` (128) bytes.
    Id,
    /// Free text (possibly empty) of at most `max_bytes` bytes of UTF-8.
    Text {
        /// The longest text, in bytes.
        max_bytes: usize,
    },
    /// An RFC 3339 time with an offset.
    Time,
    /// A JSON number of degrees in [-90, 90], read exactly.
    Latitude,
    /// A JSON number of degrees in [-180, 180], read exactly.
    Longitude,
    /// A JSON integer (no fraction, no exponent) in [`min`, `max`].
    Integer {
        /// The least value.
        min: i128,
        /// The greatest value.
        max: i128,
    },
    /// Integer cents > 0 that fit an `i64`.
    PositiveCents,
    /// Integer cents >= 0 that fit an `i64`.
    NonNegativeCents,
    /// Three capital ASCII letters (ISO 4217).
    Currency,
    /// One of the strings.
    Enum(&'static [&'static str]),
    /// A JSON number >= 0 kept in thousandths (km/h, metres), rounded half away from zero,
    /// which must fit a `u32`: below 4294967.2955.
    Thousandths,
    /// A JSON number of metres per second >= 0, kept as thousandths of a km/h (times 3600,
    /// rounded half away from zero), which must fit a `u32`.
    SpeedMps,
    /// An object of the fields listed (other members are ignored).
    Object(&'static [Field]),
    /// An array of identifiers (possibly empty), at most `max_items` of them.
    IdList {
        /// The most identifiers.
        max_items: usize,
    },
    /// An amount of money `{value, currency}`: `value` a decimal string > 0 with at most as
    /// many fraction digits as the currency's minor unit (`event::currency_minor_units`).
    Money,
}

const fn req(name: &'static str, kind: Kind, doc: &'static str) -> Field {
    Field {
        name,
        required: true,
        kind,
        doc,
    }
}

const fn opt(name: &'static str, kind: Kind, doc: &'static str) -> Field {
    Field {
        name,
        required: false,
        kind,
        doc,
    }
}

const U16_MAX: i128 = u16::MAX as i128;
const U32_MAX: i128 = u32::MAX as i128;
const U64_MAX: i128 = u64::MAX as i128;

/// The values of `stop` (`event::Stop`).
pub(super) const STOPS: [&str; 2] = ["pickup", "delivery"];
/// The values of a charge's `kind` (`event::ChargeKind`).
pub(super) const CHARGE_KINDS: [&str; 6] = [
    "base",
    "fuel",
    "detention",
    "waiting",
    "redelivery",
    "other",
];

const POINT: [Field; 2] = [
    req("lat", Kind::Latitude, "latitude, degrees"),
    req("lon", Kind::Longitude, "longitude, degrees"),
];

const CONTRACT: [Field; 4] = [
    req("currency", Kind::Currency, "the contract's currency"),
    req(
        "base_cents",
        Kind::NonNegativeCents,
        "the base price, in minor units of the currency",
    ),
    req(
        "detention_free_min",
        Kind::Integer {
            min: 0,
            max: U32_MAX,
        },
        "minutes at the delivery stop before detention is due",
    ),
    req(
        "detention_cents_per_hour",
        Kind::NonNegativeCents,
        "the detention rate, minor units of the currency per hour",
    ),
];

const POD: [Field; 2] = [
    req(
        "signed_by",
        Kind::Text {
            max_bytes: MAX_POD_BYTES,
        },
        "who signed for the goods",
    ),
    opt(
        "photo_ref",
        Kind::Text {
            max_bytes: MAX_POD_BYTES,
        },
        "a reference to a photo kept elsewhere",
    ),
];

const REASON: Kind = Kind::Text {
    max_bytes: MAX_REASON_BYTES,
};

const ORDER_CREATED: [Field; 7] = [
    req("customer_id", Kind::Id, "the customer"),
    req("origin", Kind::Object(&POINT), "the pickup point"),
    req("destination", Kind::Object(&POINT), "the delivery point"),
    req("window_start", Kind::Time, "the delivery window opens"),
    req(
        "window_end",
        Kind::Time,
        "the delivery window closes; not before window_start",
    ),
    req(
        "weight_kg",
        Kind::Integer {
            min: 0,
            max: U32_MAX,
        },
        "kilograms",
    ),
    req("contract", Kind::Object(&CONTRACT), "the commercial terms"),
];

const ORDER_AMENDED: [Field; 4] = [
    req(
        "order_version",
        Kind::Integer {
            min: 2,
            max: U32_MAX,
        },
        "the order's version (order.created is version 1)",
    ),
    opt("window_start", Kind::Time, "the delivery window opens"),
    opt(
        "window_end",
        Kind::Time,
        "the delivery window closes; not before window_start when both are given",
    ),
    opt("destination", Kind::Object(&POINT), "the delivery point"),
];

const ORDER_CANCELLED: [Field; 1] = [req("reason", REASON, "why the order was cancelled")];

const INVOICE_SETTLED: [Field; 2] = [
    req("invoice_id", Kind::Id, "the invoice paid"),
    req(
        "amount_cents",
        Kind::PositiveCents,
        "the amount paid, cents",
    ),
];

const ROUTE_PLANNED: [Field; 4] = [
    req("route_id", Kind::Id, "the tour"),
    req(
        "vehicle_id",
        Kind::Integer {
            min: 0,
            max: U64_MAX,
        },
        "the vehicle",
    ),
    req(
        "stop_index",
        Kind::Integer {
            min: 0,
            max: U16_MAX,
        },
        "the shipment's stop on the tour",
    ),
    req("eta", Kind::Time, "the estimated arrival"),
];

const ETA_REVISED: [Field; 1] = [req("eta", Kind::Time, "the new estimated arrival")];

const VEHICLE_POSITION: [Field; 3] = [
    req("lat", Kind::Latitude, "latitude, degrees"),
    req("lon", Kind::Longitude, "longitude, degrees"),
    req("speed_kph", Kind::Thousandths, "speed, km/h"),
];

const VEHICLE_POSITION_V2: [Field; 5] = [
    req("lat", Kind::Latitude, "latitude, degrees"),
    req("lon", Kind::Longitude, "longitude, degrees"),
    req("speed_mps", Kind::SpeedMps, "speed, metres per second"),
    opt(
        "heading_deg",
        Kind::Integer {
            min: 0,
            max: MAX_HEADING_DEG as i128,
        },
        "heading, whole degrees clockwise from north",
    ),
    opt(
        "accuracy_m",
        Kind::Thousandths,
        "accuracy of the position, metres",
    ),
];

const STOP: [Field; 1] = [req(
    "stop",
    Kind::Enum(&STOPS),
    "which stop of the shipment",
)];

const SHIPMENT_DELIVERED: [Field; 1] = [opt("pod", Kind::Object(&POD), "proof of delivery")];

const DELIVERY_FAILED: [Field; 1] = [req("reason", REASON, "why the delivery failed")];

const CHARGE_ADDED: [Field; 4] = [
    req("charge_id", Kind::Id, "the charge"),
    req("kind", Kind::Enum(&CHARGE_KINDS), "what the charge is for"),
    req(
        "amount_cents",
        Kind::PositiveCents,
        "the amount, in minor units of the currency",
    ),
    req("currency", Kind::Currency, "the charge's currency"),
];

const CHARGE_ADDED_V2: [Field; 3] = [
    req("charge_id", Kind::Id, "the charge"),
    req("kind", Kind::Enum(&CHARGE_KINDS), "what the charge is for"),
    req("amount", Kind::Money, "the amount and its currency"),
];

const CHARGE_VOIDED: [Field; 1] = [req("charge_id", Kind::Id, "the charge withdrawn")];

const INVOICE_ISSUED: [Field; 3] = [
    req("invoice_id", Kind::Id, "the invoice"),
    req(
        "total_cents",
        Kind::PositiveCents,
        "the invoice's total, cents",
    ),
    req(
        "charge_ids",
        Kind::IdList {
            max_items: MAX_CHARGE_IDS,
        },
        "the charges the invoice lists",
    ),
];

/// The fields of the payload of `ty` in `version`, in the order the decoder reads them;
/// `None` when `version` is not one of [`EventType::versions`].
pub fn payload_fields(ty: EventType, version: u32) -> Option<&'static [Field]> {
    if !ty.versions().contains(&version) {
        return None;
    }
    Some(match (ty, version) {
        (EventType::OrderCreated, _) => &ORDER_CREATED,
        (EventType::OrderAmended, _) => &ORDER_AMENDED,
        (EventType::OrderCancelled, _) => &ORDER_CANCELLED,
        (EventType::InvoiceSettled, _) => &INVOICE_SETTLED,
        (EventType::RoutePlanned, _) => &ROUTE_PLANNED,
        (EventType::EtaRevised, _) => &ETA_REVISED,
        (EventType::VehiclePosition, 2) => &VEHICLE_POSITION_V2,
        (EventType::VehiclePosition, _) => &VEHICLE_POSITION,
        (EventType::StopArrived | EventType::StopDeparted, _) => &STOP,
        (EventType::ShipmentPickedUp, _) => &[],
        (EventType::ShipmentDelivered, _) => &SHIPMENT_DELIVERED,
        (EventType::DeliveryFailed, _) => &DELIVERY_FAILED,
        (EventType::ChargeAdded, 2) => &CHARGE_ADDED_V2,
        (EventType::ChargeAdded, _) => &CHARGE_ADDED,
        (EventType::ChargeVoided, _) => &CHARGE_VOIDED,
        (EventType::InvoiceIssued, _) => &INVOICE_ISSUED,
    })
}

/// The top-level field names of the payload of `ty` in `version`, in the decoder's order
/// (empty when the version does not exist).
#[cfg_attr(not(test), allow(dead_code))] // for the decoder to take its tables from
pub(crate) fn payload_field_names(ty: EventType, version: u32) -> Vec<&'static str> {
    payload_fields(ty, version)
        .unwrap_or(&[])
        .iter()
        .map(|f| f.name)
        .collect()
}
