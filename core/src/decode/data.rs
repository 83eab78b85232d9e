//! The payloads of the event types (docs/events.md): `data` read into the typed [`Body`] of its
//! event type.
//!
//! Every failure here is `invalid_data`, with a detail naming the field by its path
//! (`data.origin.lat`) and the rule it broke.

use super::number::{self, IntError};
use super::{Fail, Json, as_string, fast_collect, json_kind, object, show, show_raw};
use crate::event::{
    Body, ChargeKind, Contract, EventType, GeoPoint, MAX_HEADING_DEG, MAX_ID_BYTES, Pod, Stop,
    currency_minor_units,
};
use crate::time::parse_rfc3339_us;
use serde::de::{Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

type Opt<'a> = Option<Json<'a>>;

/// A field's place, for messages: `data.contract.currency`.
#[derive(Clone, Copy)]
struct At {
    path: &'static str,
    name: &'static str,
}

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.path, self.name)
    }
}

const fn at(path: &'static str, name: &'static str) -> At {
    At { path, name }
}

/// The top-level fields of each payload, in the order [`decode_body`] reads them.
const ORDER_CREATED: [&str; 7] = [
    "customer_id",
    "origin",
    "destination",
    "window_start",
    "window_end",
    "weight_kg",
    "contract",
];
const ORDER_AMENDED: [&str; 4] = ["order_version", "window_start", "window_end", "destination"];
const REASON: [&str; 1] = ["reason"];
const INVOICE_SETTLED: [&str; 2] = ["invoice_id", "amount_cents"];
const ROUTE_PLANNED: [&str; 4] = ["route_id", "vehicle_id", "stop_index", "eta"];
const ETA_REVISED: [&str; 1] = ["eta"];
/// Versions 1 and 2 (`speed_mps` and what follows it): a payload's fields are collected before
/// its version is known, so each type's table lists the fields of all its versions.
const VEHICLE_POSITION: [&str; 6] = [
    "lat",
    "lon",
    "speed_kph",
    "speed_mps",
    "heading_deg",
    "accuracy_m",
];
const STOP: [&str; 1] = ["stop"];
const SHIPMENT_PICKED_UP: [&str; 0] = [];
const SHIPMENT_DELIVERED: [&str; 1] = ["pod"];
/// Versions 1 and 2 (`amount`).
const CHARGE_ADDED: [&str; 5] = ["charge_id", "kind", "amount_cents", "currency", "amount"];
const CHARGE_VOIDED: [&str; 1] = ["charge_id"];
const INVOICE_ISSUED: [&str; 3] = ["invoice_id", "total_cents", "charge_ids"];

/// The most top-level fields a payload has.
const MAX_FIELDS: usize = 7;

/// The top-level fields of the payload of type `ty`.
pub(crate) fn names(ty: EventType) -> &'static [&'static str] {
    match ty {
        EventType::OrderCreated => &ORDER_CREATED,
        EventType::OrderAmended => &ORDER_AMENDED,
        EventType::OrderCancelled | EventType::DeliveryFailed => &REASON,
        EventType::InvoiceSettled => &INVOICE_SETTLED,
        EventType::RoutePlanned => &ROUTE_PLANNED,
        EventType::EtaRevised => &ETA_REVISED,
        EventType::VehiclePosition => &VEHICLE_POSITION,
        EventType::StopArrived | EventType::StopDeparted => &STOP,
        EventType::ShipmentPickedUp => &SHIPMENT_PICKED_UP,
        EventType::ShipmentDelivered => &SHIPMENT_DELIVERED,
        EventType::ChargeAdded => &CHARGE_ADDED,
        EventType::ChargeVoided => &CHARGE_VOIDED,
        EventType::InvoiceIssued => &INVOICE_ISSUED,
    }
}

/// The top-level fields of a `data` object for one event type, collected ahead of
/// [`decode_body`] (by the pass over the event, see [`super::scan::collect_event`]) exactly as
/// [`fields`] would collect them.
#[derive(Debug)]
pub(crate) struct Payload<'a> {
    ty: EventType,
    values: [Opt<'a>; MAX_FIELDS],
}

impl<'a> Payload<'a> {
    pub(super) fn new(ty: EventType) -> Self {
        Payload {
            ty,
            values: [None; MAX_FIELDS],
        }
    }

    /// The names to collect and where their values go.
    pub(super) fn slots(&mut self) -> (&'static [&'static str], &mut [Opt<'a>]) {
        let names = names(self.ty);
        (names, &mut self.values[..names.len()])
    }
}

/// The top-level fields of `data`: collected ahead when `pre` has them, else by [`fields`].
fn top<'a, const N: usize>(
    data: Json<'a>,
    pre: Option<&[Opt<'a>; MAX_FIELDS]>,
    names: &[&'static str; N],
) -> Result<[Opt<'a>; N], Fail> {
    match pre {
        Some(values) => Ok(std::array::from_fn(|i| values[i])),
        None => fields("data", data, names),
    }
}

/// The payload of an event of type `ty` in schema `version` (one of `ty.versions()`),
/// upcast to the canonical form. `pre` is `data`'s fields when they were collected ahead for
/// that type.
pub(super) fn decode_body<'a>(
    ty: EventType,
    version: u32,
    data: Json<'a>,
    pre: Option<&Payload<'a>>,
) -> Result<Body, Fail> {
    debug_assert!(
        ty.versions().contains(&version),
        "checked before the payload"
    );
    let pre = pre.filter(|p| p.ty == ty).map(|p| &p.values);
    match (ty, version) {
        (EventType::VehiclePosition, 2) => {
            let [lat, lon, _, speed, heading, accuracy] = top(data, pre, &VEHICLE_POSITION)?;
            position_v2([lat, lon, speed, heading, accuracy])
        }
        (EventType::ChargeAdded, 2) => {
            let [charge_id, kind, _, _, amount] = top(data, pre, &CHARGE_ADDED)?;
            charge_v2(charge_id, kind, amount)
        }
        _ => decode_v1(ty, data, pre),
    }
}

/// `vehicle.position` version 2: `speed_mps` x 3.6, exactly, as the canonical thousandths of
/// a km/h; `heading_deg` and `accuracy_m` kept when given.
fn position_v2([lat, lon, speed, heading, accuracy]: [Opt<'_>; 5]) -> Result<Body, Fail> {
    const D: &str = "data";
    let position = GeoPoint {
        lat_ud: coordinate(at(D, "lat"), lat, 90)?,
        lon_ud: coordinate(at(D, "lon"), lon, 180)?,
    };
    let speed_kph_milli = speed_mps_as_kph_milli(at(D, "speed_mps"), speed)?;
    let heading_deg = heading
        .map(|h| {
            int_in(
                at(D, "heading_deg"),
                Some(h),
                0,
                MAX_HEADING_DEG.into(),
                "an integer in [0, 359]",
            )
        })
        .transpose()?
        .map(|h| h as u16);
    let accuracy_mm = accuracy
        .map(|a| thousandths(at(D, "accuracy_m"), Some(a)))
        .transpose()?;
    Ok(Body::VehiclePosition {
        position,
        speed_kph_milli,
        heading_deg,
        accuracy_mm,
    })
}

/// `charge.added` version 2: `amount.value`, a decimal string, in the minor units of
/// `amount.currency` (ISO 4217).
fn charge_v2(charge_id: Opt<'_>, kind: Opt<'_>, amount: Opt<'_>) -> Result<Body, Fail> {
    const D: &str = "data";
    const A: &str = "data.amount";
    let charge_id = id(at(D, "charge_id"), charge_id)?;
    let kind = charge_kind(at(D, "kind"), kind)?;
    let [value, currency] = fields(
        A,
        required(at(D, "amount"), amount)?,
        &["value", "currency"],
    )?;
    let currency = currency_of(at(A, "currency"), currency)?;
    let amount_cents = minor_units(at(A, "value"), value, currency)?;
    Ok(Body::ChargeAdded {
        charge_id,
        kind,
        amount_cents,
        currency,
    })
}

/// The canonical form of every type's version 1.
fn decode_v1<'a>(
    ty: EventType,
    data: Json<'a>,
    pre: Option<&[Opt<'a>; MAX_FIELDS]>,
) -> Result<Body, Fail> {
    const D: &str = "data";
    Ok(match ty {
        EventType::OrderCreated => {
            let [customer_id, origin, destination, ws, we, weight, contract] =
                top(data, pre, &ORDER_CREATED)?;
            let customer_id = id(at(D, "customer_id"), customer_id)?;
            let origin = geo("data.origin", required(at(D, "origin"), origin)?)?;
            let destination = geo(
                "data.destination",
                required(at(D, "destination"), destination)?,
            )?;
            let window_start_us = time(at(D, "window_start"), ws)?;
            let window_end_us = time(at(D, "window_end"), we)?;
            window_order(window_start_us, window_end_us)?;
            let weight_kg = int_in(at(D, "weight_kg"), weight, 0, u32::MAX.into(), "a u32")? as u32;
            let contract = contract_of(required(at(D, "contract"), contract)?)?;
            Body::OrderCreated {
                customer_id,
                origin,
                destination,
                window_start_us,
                window_end_us,
                weight_kg,
                contract,
            }
        }
        EventType::OrderAmended => {
            let [version, ws, we, destination] = top(data, pre, &ORDER_AMENDED)?;
            let order_version = int_in(
                at(D, "order_version"),
                version,
                2,
                u32::MAX.into(),
                "an integer >= 2 that fits u32",
            )? as u32;
            let window_start_us = ws
                .map(|v| time(at(D, "window_start"), Some(v)))
                .transpose()?;
            let window_end_us = we.map(|v| time(at(D, "window_end"), Some(v))).transpose()?;
            if let (Some(s), Some(e)) = (window_start_us, window_end_us) {
                window_order(s, e)?;
            }
            let destination = destination
                .map(|v| geo("data.destination", v))
                .transpose()?;
            Body::OrderAmended {
                order_version,
                window_start_us,
                window_end_us,
                destination,
            }
        }
        EventType::OrderCancelled => {
            let [reason] = top(data, pre, &REASON)?;
            Body::OrderCancelled {
                reason: text(at(D, "reason"), reason)?,
            }
        }
        EventType::InvoiceSettled => {
            let [invoice_id, amount] = top(data, pre, &INVOICE_SETTLED)?;
            Body::InvoiceSettled {
                invoice_id: id(at(D, "invoice_id"), invoice_id)?,
                amount_cents: positive_cents(at(D, "amount_cents"), amount)?,
            }
        }
        EventType::RoutePlanned => {
            let [route_id, vehicle_id, stop_index, eta] = top(data, pre, &ROUTE_PLANNED)?;
            Body::RoutePlanned {
                route_id: id(at(D, "route_id"), route_id)?,
                vehicle_id: int_in(at(D, "vehicle_id"), vehicle_id, 0, u64::MAX.into(), "a u64")?
                    as u64,
                stop_index: int_in(at(D, "stop_index"), stop_index, 0, u16::MAX.into(), "a u16")?
                    as u16,
                eta_us: time(at(D, "eta"), eta)?,
            }
        }
        EventType::EtaRevised => {
            let [eta] = top(data, pre, &ETA_REVISED)?;
            Body::EtaRevised {
                eta_us: time(at(D, "eta"), eta)?,
            }
        }
        EventType::VehiclePosition => {
            let [lat, lon, speed, ..] = top(data, pre, &VEHICLE_POSITION)?;
            Body::VehiclePosition {
                position: GeoPoint {
                    lat_ud: coordinate(at(D, "lat"), lat, 90)?,
                    lon_ud: coordinate(at(D, "lon"), lon, 180)?,
                },
                speed_kph_milli: thousandths(at(D, "speed_kph"), speed)?,
                heading_deg: None,
                accuracy_mm: None,
            }
        }
        EventType::StopArrived => {
            let [stop] = top(data, pre, &STOP)?;
            Body::StopArrived {
                stop: stop_of(at(D, "stop"), stop)?,
            }
        }
        EventType::StopDeparted => {
            let [stop] = top(data, pre, &STOP)?;
            Body::StopDeparted {
                stop: stop_of(at(D, "stop"), stop)?,
            }
        }
        EventType::ShipmentPickedUp => {
            let [] = top(data, pre, &SHIPMENT_PICKED_UP)?;
            Body::ShipmentPickedUp
        }
        EventType::ShipmentDelivered => {
            let [pod] = top(data, pre, &SHIPMENT_DELIVERED)?;
            let pod = match pod {
                None => None,
                Some(v) => {
                    let [signed_by, photo_ref] =
                        fields("data.pod", v, &["signed_by", "photo_ref"])?;
                    Some(Pod {
                        signed_by: text(at("data.pod", "signed_by"), signed_by)?,
                        photo_ref: photo_ref
                            .map(|v| text(at("data.pod", "photo_ref"), Some(v)))
                            .transpose()?,
                    })
                }
            };
            Body::ShipmentDelivered { pod }
        }
        EventType::DeliveryFailed => {
            let [reason] = top(data, pre, &REASON)?;
            Body::DeliveryFailed {
                reason: text(at(D, "reason"), reason)?,
            }
        }
        EventType::ChargeAdded => {
            let [charge_id, kind, amount, currency, _] = top(data, pre, &CHARGE_ADDED)?;
            Body::ChargeAdded {
                charge_id: id(at(D, "charge_id"), charge_id)?,
                kind: charge_kind(at(D, "kind"), kind)?,
                amount_cents: positive_cents(at(D, "amount_cents"), amount)?,
                currency: currency_of(at(D, "currency"), currency)?,
            }
        }
        EventType::ChargeVoided => {
            let [charge_id] = top(data, pre, &CHARGE_VOIDED)?;
            Body::ChargeVoided {
                charge_id: id(at(D, "charge_id"), charge_id)?,
            }
        }
        EventType::InvoiceIssued => {
            let [invoice_id, total, charge_ids] = top(data, pre, &INVOICE_ISSUED)?;
            Body::InvoiceIssued {
                invoice_id: id(at(D, "invoice_id"), invoice_id)?,
                total_cents: positive_cents(at(D, "total_cents"), total)?,
                charge_ids: id_list(at(D, "charge_ids"), charge_ids)?,
            }
        }
    })
}

/// The known fields of the object `v` at `path` (absent and `null` both give `None`).
fn fields<'a, const N: usize>(
    path: &'static str,
    v: Json<'a>,
    names: &[&'static str; N],
) -> Result<[Opt<'a>; N], Fail> {
    if !v.get().starts_with('{') {
        return Err(Fail::data(format!(
            "{path} must be an object, got {}",
            json_kind(v)
        )));
    }
    if let Some(values) = fast_collect(v.get(), names) {
        return Ok(values);
    }
    let fields = object::collect_raw(v, names)
        .ok_or_else(|| Fail::data(format!("{path} is not a valid JSON object")))?;
    if let Some(key) = fields.duplicate {
        return Err(Fail::data(format!(
            "duplicate key {} in {path}",
            show(&key)
        )));
    }
    Ok(fields.values)
}

fn required(at: At, v: Opt<'_>) -> Result<Json<'_>, Fail> {
    v.ok_or_else(|| Fail::data(format!("{at} is missing or null")))
}

fn string(at: At, v: Opt<'_>) -> Result<Cow<'_, str>, Fail> {
    let v = required(at, v)?;
    as_string(v).ok_or_else(|| Fail::data(format!("{at} must be a string, got {}", json_kind(v))))
}

/// Any string.
fn text(at: At, v: Opt<'_>) -> Result<String, Fail> {
    string(at, v).map(Cow::into_owned)
}

/// An identifier: a non-empty string of at most [`MAX_ID_BYTES`].
fn id(at: At, v: Opt<'_>) -> Result<String, Fail> {
    let s = string(at, v)?;
    check_id(at, &s)?;
    Ok(s.into_owned())
}

fn check_id(at: At, s: &str) -> Result<(), Fail> {
    if !crate::validate::is_id(s) {
        return Err(Fail::data(format!(
            "{at} must be a non-empty string of at most {MAX_ID_BYTES} bytes (got {} bytes)",
            s.len()
        )));
    }
    Ok(())
}

fn time(at: At, v: Opt<'_>) -> Result<i64, Fail> {
    let s = string(at, v)?;
    parse_rfc3339_us(&s).ok_or_else(|| {
        Fail::data(format!(
            "{at} must be an RFC 3339 time with an offset, got {}",
            show(&s)
        ))
    })
}

fn window_order(start_us: i64, end_us: i64) -> Result<(), Fail> {
    if end_us < start_us {
        return Err(Fail::data(
            "data.window_end is before data.window_start".to_owned(),
        ));
    }
    Ok(())
}

/// A JSON integer (no fraction, no exponent, not a string) in `[min, max]`.
fn int_in(at: At, v: Opt<'_>, min: i128, max: i128, what: &str) -> Result<i128, Fail> {
    let v = required(at, v)?;
    let int = match number::parse_int(v.get().as_bytes()) {
        Ok(int) => int,
        Err(IntError::NotInteger) => {
            return Err(Fail::data(format!(
                "{at} must be an integer (no fraction or exponent), got {}",
                show_raw(v)
            )));
        }
        Err(IntError::NotNumber) => {
            return Err(Fail::data(format!(
                "{at} must be an integer, got {}",
                json_kind(v)
            )));
        }
    };
    let value = int.mag.map(|m| {
        let m = i128::from(m);
        if int.neg { -m } else { m }
    });
    match value {
        Some(x) if (min..=max).contains(&x) => Ok(x),
        _ => Err(Fail::data(format!(
            "{at} must be {what}, got {}",
            show_raw(v)
        ))),
    }
}

fn positive_cents(at: At, v: Opt<'_>) -> Result<i64, Fail> {
    Ok(int_in(
        at,
        v,
        1,
        i64::MAX.into(),
        "> 0 (integer cents that fit i64)",
    )? as i64)
}

fn nonneg_cents(at: At, v: Opt<'_>) -> Result<i64, Fail> {
    Ok(int_in(
        at,
        v,
        0,
        i64::MAX.into(),
        ">= 0 (integer cents that fit i64)",
    )? as i64)
}

fn number_text<'a>(at: At, v: Opt<'a>) -> Result<Json<'a>, Fail> {
    let v = required(at, v)?;
    if !matches!(v.get().as_bytes().first(), Some(b'-' | b'0'..=b'9')) {
        return Err(Fail::data(format!(
            "{at} must be a number, got {}",
            json_kind(v)
        )));
    }
    Ok(v)
}

/// A coordinate in `[-bound, bound]` degrees, converted exactly from its decimal text to
/// micro-degrees, rounded half away from zero.
fn coordinate(at: At, v: Opt<'_>, bound_deg: u64) -> Result<i32, Fail> {
    let v = number_text(at, v)?;
    let out_of_range = || {
        Fail::data(format!(
            "{at} must be a number in [-{bound_deg}, {bound_deg}], got {}",
            show_raw(v)
        ))
    };
    let scaled = number::scale_decimal(v.get().as_bytes(), 6).ok_or_else(out_of_range)?;
    if !scaled.mag_at_most(bound_deg * 1_000_000) {
        return Err(out_of_range());
    }
    // At most 180_000_000: fits an i32 either way.
    let mag = scaled.rounded_mag().ok_or_else(out_of_range)? as i32;
    Ok(if scaled.neg { -mag } else { mag })
}

/// A non-negative number (km/h, metres) kept exactly as thousandths, rounded half away from
/// zero.
fn thousandths(at: At, v: Opt<'_>) -> Result<u32, Fail> {
    non_negative_u32(at, v, 3, 1)
}

/// A non-negative speed in m/s as thousandths of a km/h: x 3600, exactly, rounded half away
/// from zero.
fn speed_mps_as_kph_milli(at: At, v: Opt<'_>) -> Result<u32, Fail> {
    // m/s x 3600 = (m/s x 36) x 10^2.
    non_negative_u32(at, v, 2, 36)
}

/// A non-negative number times `factor`, scaled by 10^`scale`, rounded half away from zero,
/// that fits a u32.
fn non_negative_u32(at: At, v: Opt<'_>, scale: i64, factor: u32) -> Result<u32, Fail> {
    let v = number_text(at, v)?;
    let bad = || {
        Fail::data(format!(
            "{at} must be a number >= 0 (at most {} in the thousandths stored), got {}",
            u32::MAX,
            show_raw(v)
        ))
    };
    let text = v.get().as_bytes();
    let scaled = if factor == 1 {
        number::scale_decimal(text, scale)
    } else {
        number::scale_decimal_times(text, scale, factor)
    }
    .ok_or_else(bad)?;
    if scaled.neg && !scaled.is_zero() {
        return Err(bad());
    }
    scaled
        .rounded_mag()
        .and_then(|m| u32::try_from(m).ok())
        .ok_or_else(bad)
}

fn geo(path: &'static str, v: Json<'_>) -> Result<GeoPoint, Fail> {
    let [lat, lon] = fields(path, v, &["lat", "lon"])?;
    Ok(GeoPoint {
        lat_ud: coordinate(at(path, "lat"), lat, 90)?,
        lon_ud: coordinate(at(path, "lon"), lon, 180)?,
    })
}

fn contract_of(v: Json<'_>) -> Result<Contract, Fail> {
    const C: &str = "data.contract";
    let [currency, base, free_min, per_hour] = fields(
        C,
        v,
        &[
            "currency",
            "base_cents",
            "detention_free_min",
            "detention_cents_per_hour",
        ],
    )?;
    Ok(Contract {
        currency: currency_of(at(C, "currency"), currency)?,
        base_cents: nonneg_cents(at(C, "base_cents"), base)?,
        detention_free_min: int_in(
            at(C, "detention_free_min"),
            free_min,
            0,
            u32::MAX.into(),
            "an integer >= 0 that fits u32",
        )? as u32,
        detention_cents_per_hour: nonneg_cents(at(C, "detention_cents_per_hour"), per_hour)?,
    })
}

fn currency_of(at: At, v: Opt<'_>) -> Result<[u8; 3], Fail> {
    let s = string(at, v)?;
    match s.as_bytes() {
        &[a, b, c] if [a, b, c].iter().all(u8::is_ascii_uppercase) => Ok([a, b, c]),
        _ => Err(Fail::data(format!(
            "{at} must be three capital letters (ISO 4217), got {}",
            show(&s)
        ))),
    }
}

/// A money amount written as a decimal string (`"12.50"`: digits, optionally a point and
/// digits) in the minor units of `currency`: more fraction digits than the currency has, a
/// value that is not > 0, or one past i64, is refused.
fn minor_units(at: At, v: Opt<'_>, currency: [u8; 3]) -> Result<i64, Fail> {
    let s = string(at, v)?;
    let digits = currency_minor_units(currency);
    let code = String::from_utf8_lossy(&currency);
    let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
    let well_formed = !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && (int == "0" || !int.starts_with('0'))
        && (!s.contains('.') || !frac.is_empty())
        && frac.bytes().all(|b| b.is_ascii_digit());
    if !well_formed {
        return Err(Fail::data(format!(
            "{at} must be a decimal string such as \"12.50\", got {}",
            show(&s)
        )));
    }
    if frac.len() > digits as usize {
        return Err(Fail::data(format!(
            "{at} has {} fraction digits; {code} has {digits} (ISO 4217), got {}",
            frac.len(),
            show(&s)
        )));
    }
    let scaled = format!("{int}{frac:0<width$}", width = digits as usize);
    match scaled.parse::<i64>() {
        Ok(minor) if minor > 0 => Ok(minor),
        _ => Err(Fail::data(format!(
            "{at} must be > 0 and at most {} in minor units of {code}, got {}",
            i64::MAX,
            show(&s)
        ))),
    }
}

fn stop_of(at: At, v: Opt<'_>) -> Result<Stop, Fail> {
    let s = string(at, v)?;
    Stop::parse(&s).ok_or_else(|| {
        Fail::data(format!(
            "{at} must be \"pickup\" or \"delivery\", got {}",
            show(&s)
        ))
    })
}

fn charge_kind(at: At, v: Opt<'_>) -> Result<ChargeKind, Fail> {
    let s = string(at, v)?;
    ChargeKind::parse(&s).ok_or_else(|| {
        Fail::data(format!(
            "{at} must be one of base, fuel, detention, waiting, redelivery, other; got {}",
            show(&s)
        ))
    })
}

/// An array of identifiers (possibly empty).
fn id_list(at: At, v: Opt<'_>) -> Result<Vec<String>, Fail> {
    let v = required(at, v)?;
    if !v.get().starts_with('[') {
        return Err(Fail::data(format!(
            "{at} must be an array of strings, got {}",
            json_kind(v)
        )));
    }
    let mut de = serde_json::Deserializer::from_str(v.get());
    (&mut de)
        .deserialize_seq(IdList { at })
        .map_err(|_| Fail::data(format!("{at} is not a valid JSON array")))?
}

/// Reads an array of ids; a bad element is reported after the rest of the array is skipped.
struct IdList {
    at: At,
}

impl<'de> Visitor<'de> for IdList {
    type Value = Result<Vec<String>, Fail>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        let mut index = 0usize;
        while let Some(item) = seq.next_element::<&'de RawValue>()? {
            let item = Json::general(item.get());
            let checked = match as_string(item) {
                Some(s) if crate::validate::is_id(&s) => Ok(s.into_owned()),
                Some(s) => Err(Fail::data(format!(
                    "{}[{index}] must be a non-empty string of at most {MAX_ID_BYTES} bytes (got {} bytes)",
                    self.at,
                    s.len()
                ))),
                None => Err(Fail::data(format!(
                    "{}[{index}] must be a string, got {}",
                    self.at,
                    json_kind(item)
                ))),
            };
            match checked {
                Ok(s) => out.push(s),
                Err(fail) => {
                    while seq.next_element::<IgnoredAny>()?.is_some() {}
                    return Ok(Err(fail));
                }
            }
            index += 1;
        }
        Ok(Ok(out))
    }
}
