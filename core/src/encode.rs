//! Typed events back to CloudEvents JSON (structured mode, one line), the inverse of
//! [`crate::decode`]: `decode(encode(e)) == e` for every valid event. Used by the simulator to
//! put events on the wire and by `journal dump` to show what was received.
//!
//! [`encode_event`] writes the canonical version 1 of each type, unless the event holds what
//! only version 2 can say (a position's heading or accuracy); [`encode_event_as`] writes a
//! chosen version, so that producers' other versions can be generated and tested.

use crate::event::{Body, Contract, Event, GeoPoint, Pod, currency_minor_units};
use crate::time::format_rfc3339_us;
use std::fmt::Write as _;

/// Appends `event` as one CloudEvents JSON object (no newline) to `out`: version 1 (no
/// `schemaversion`), or version 2 when only it can carry the event ([`min_version`]).
pub fn encode_event(event: &Event, out: &mut Vec<u8>) {
    let written = encode_event_as(event, min_version(&event.body), out);
    debug_assert!(written, "the least version always carries the event");
}

/// The least schema version that can carry `body`: 2 for a `vehicle.position` with a heading
/// or an accuracy, else 1.
pub fn min_version(body: &Body) -> u32 {
    match body {
        Body::VehiclePosition {
            heading_deg,
            accuracy_mm,
            ..
        } if heading_deg.is_some() || accuracy_mm.is_some() => 2,
        _ => 1,
    }
}

/// Appends `event` in schema version `version` of its type (`schemaversion` written when
/// not 1) and returns true; returns false, leaving `out` as it was, when the type has no such
/// version or the version cannot carry the event (version 1 of a position with a heading).
pub fn encode_event_as(event: &Event, version: u32, out: &mut Vec<u8>) -> bool {
    let ty = event.event_type();
    if !ty.versions().contains(&version) || version < min_version(&event.body) {
        return false;
    }
    let mut w = JsonWriter { out };
    w.raw("{\"specversion\":\"1.0\",\"id\":");
    w.string(&event.id);
    w.raw(",\"source\":");
    w.string(&event.source);
    w.raw(",\"sequence\":\"");
    w.display(event.sequence);
    w.raw("\",\"type\":\"");
    w.raw(event.event_type().as_str());
    w.raw("\",\"time\":");
    w.time(event.time_us);
    w.raw(",\"subject\":\"");
    w.raw(event.event_type().subject_kind().as_str());
    w.raw("/");
    w.display(event.subject);
    w.raw("\"");
    if version != 1 {
        w.raw(",\"schemaversion\":");
        w.display(version);
    }
    if let Some(c) = &event.correlation_id {
        w.raw(",\"correlationid\":");
        w.string(c);
    }
    if let Some(t) = &event.traceparent {
        w.raw(",\"traceparent\":");
        w.string(t);
    }
    w.raw(",\"data\":{");
    match (version, &event.body) {
        (2, Body::VehiclePosition { .. }) => encode_position_v2(&event.body, &mut w),
        (2, Body::ChargeAdded { .. }) => encode_charge_v2(&event.body, &mut w),
        _ => encode_body(&event.body, &mut w),
    }
    w.raw("}}");
    debug_assert!(version == 1 || ty.versions().contains(&version));
    true
}

/// `vehicle.position` version 2: `speed_mps` with 6 decimals, which `x 3.6` rounds back to
/// the same thousandths of a km/h (the rounding error, at most 0.5 µm/s, is 0.0018 of a
/// thousandth once multiplied).
fn encode_position_v2(body: &Body, w: &mut JsonWriter<'_>) {
    let Body::VehiclePosition {
        position,
        speed_kph_milli,
        heading_deg,
        accuracy_mm,
    } = body
    else {
        unreachable!("called for positions only")
    };
    w.raw("\"lat\":");
    w.decimal(position.lat_ud as i64, 6);
    w.raw(",\"lon\":");
    w.decimal(position.lon_ud as i64, 6);
    // µm/s = kph_milli x 10^6 / 3600 = kph_milli x 2500 / 9, rounded half up.
    let um_per_s = (u64::from(*speed_kph_milli) * 2500 * 2 + 9) / 18;
    w.raw(",\"speed_mps\":");
    w.decimal(um_per_s as i64, 6);
    if let Some(h) = heading_deg {
        w.field_display("heading_deg", h);
    }
    if let Some(a) = accuracy_mm {
        w.raw(",\"accuracy_m\":");
        w.decimal(i64::from(*a), 3);
    }
}

/// `charge.added` version 2: the amount as a decimal string with every digit of the
/// currency's minor unit (`"12.50"`, `"1200"` for JPY).
fn encode_charge_v2(body: &Body, w: &mut JsonWriter<'_>) {
    let Body::ChargeAdded {
        charge_id,
        kind,
        amount_cents,
        currency,
    } = body
    else {
        unreachable!("called for charges only")
    };
    w.field_str("charge_id", charge_id, true);
    w.raw(",\"kind\":\"");
    w.raw(kind.as_str());
    w.raw("\",\"amount\":{\"value\":\"");
    w.raw(&minor_units_text(
        *amount_cents,
        currency_minor_units(*currency),
    ));
    w.raw("\",\"currency\":");
    w.string(&String::from_utf8_lossy(currency));
    w.raw("}");
}

/// `minor` minor units as a decimal with exactly `digits` fraction digits.
fn minor_units_text(minor: i64, digits: u32) -> String {
    debug_assert!(minor > 0, "charges are positive");
    let unit = 10u64.pow(digits);
    let abs = minor.unsigned_abs();
    if digits == 0 {
        return abs.to_string();
    }
    format!(
        "{}.{:0width$}",
        abs / unit,
        abs % unit,
        width = digits as usize
    )
}

/// `event` as a JSON string (convenience for tools and tests).
pub fn event_to_json(event: &Event) -> String {
    let mut out = Vec::with_capacity(256);
    encode_event(event, &mut out);
    String::from_utf8(out).expect("encoder writes UTF-8")
}

fn encode_body(body: &Body, w: &mut JsonWriter<'_>) {
    match body {
        Body::OrderCreated {
            customer_id,
            origin,
            destination,
            window_start_us,
            window_end_us,
            weight_kg,
            contract,
        } => {
            w.field_str("customer_id", customer_id, true);
            w.field_point("origin", origin);
            w.field_point("destination", destination);
            w.field_time("window_start", *window_start_us);
            w.field_time("window_end", *window_end_us);
            w.field_display("weight_kg", weight_kg);
            w.key("contract");
            w.contract(contract);
        }
        Body::OrderAmended {
            order_version,
            window_start_us,
            window_end_us,
            destination,
        } => {
            w.raw("\"order_version\":");
            w.display(order_version);
            if let Some(t) = window_start_us {
                w.field_time("window_start", *t);
            }
            if let Some(t) = window_end_us {
                w.field_time("window_end", *t);
            }
            if let Some(p) = destination {
                w.field_point("destination", p);
            }
        }
        Body::OrderCancelled { reason } | Body::DeliveryFailed { reason } => {
            w.field_str("reason", reason, true);
        }
        Body::InvoiceSettled {
            invoice_id,
            amount_cents,
        } => {
            w.field_str("invoice_id", invoice_id, true);
            w.field_display("amount_cents", amount_cents);
        }
        Body::RoutePlanned {
            route_id,
            vehicle_id,
            stop_index,
            eta_us,
        } => {
            w.field_str("route_id", route_id, true);
            w.field_display("vehicle_id", vehicle_id);
            w.field_display("stop_index", stop_index);
            w.field_time("eta", *eta_us);
        }
        Body::EtaRevised { eta_us } => {
            w.raw("\"eta\":");
            w.time(*eta_us);
        }
        Body::VehiclePosition {
            position,
            speed_kph_milli,
            ..
        } => {
            w.raw("\"lat\":");
            w.decimal(position.lat_ud as i64, 6);
            w.raw(",\"lon\":");
            w.decimal(position.lon_ud as i64, 6);
            w.raw(",\"speed_kph\":");
            w.decimal(*speed_kph_milli as i64, 3);
        }
        Body::StopArrived { stop } | Body::StopDeparted { stop } => {
            w.raw("\"stop\":\"");
            w.raw(stop.as_str());
            w.raw("\"");
        }
        Body::ShipmentPickedUp => {}
        Body::ShipmentDelivered { pod } => {
            if let Some(Pod {
                signed_by,
                photo_ref,
            }) = pod
            {
                w.raw("\"pod\":{");
                w.field_str("signed_by", signed_by, true);
                if let Some(p) = photo_ref {
                    w.field_str("photo_ref", p, false);
                }
                w.raw("}");
            }
        }
        Body::ChargeAdded {
            charge_id,
            kind,
            amount_cents,
            currency,
        } => {
            w.field_str("charge_id", charge_id, true);
            w.raw(",\"kind\":\"");
            w.raw(kind.as_str());
            w.raw("\"");
            w.field_display("amount_cents", amount_cents);
            w.raw(",\"currency\":");
            w.string(&String::from_utf8_lossy(currency));
        }
        Body::ChargeVoided { charge_id } => w.field_str("charge_id", charge_id, true),
        Body::InvoiceIssued {
            invoice_id,
            total_cents,
            charge_ids,
        } => {
            w.field_str("invoice_id", invoice_id, true);
            w.field_display("total_cents", total_cents);
            w.raw(",\"charge_ids\":[");
            for (i, c) in charge_ids.iter().enumerate() {
                if i > 0 {
                    w.raw(",");
                }
                w.string(c);
            }
            w.raw("]");
        }
    }
}

struct JsonWriter<'a> {
    out: &'a mut Vec<u8>,
}

impl JsonWriter<'_> {
    fn raw(&mut self, s: &str) {
        self.out.extend_from_slice(s.as_bytes());
    }

    fn display(&mut self, v: impl std::fmt::Display) {
        let mut s = String::new();
        write!(s, "{v}").expect("write to String");
        self.raw(&s);
    }

    fn string(&mut self, s: &str) {
        serde_json::to_writer(&mut *self.out, s).expect("write to Vec");
    }

    fn time(&mut self, us: i64) {
        self.raw("\"");
        self.raw(&format_rfc3339_us(us));
        self.raw("\"");
    }

    /// `value / 10^scale` as an exact, shortest decimal (`12.5`, `-0.000001`, `3`).
    fn decimal(&mut self, value: i64, scale: u32) {
        self.raw(&format_decimal(value, scale));
    }

    fn key(&mut self, name: &str) {
        self.raw(",\"");
        self.raw(name);
        self.raw("\":");
    }

    fn field_str(&mut self, name: &str, v: &str, first: bool) {
        if !first {
            self.raw(",");
        }
        self.raw("\"");
        self.raw(name);
        self.raw("\":");
        self.string(v);
    }

    fn field_display(&mut self, name: &str, v: impl std::fmt::Display) {
        self.key(name);
        self.display(v);
    }

    fn field_time(&mut self, name: &str, us: i64) {
        self.key(name);
        self.time(us);
    }

    fn field_point(&mut self, name: &str, p: &GeoPoint) {
        self.key(name);
        self.raw("{\"lat\":");
        self.decimal(p.lat_ud as i64, 6);
        self.raw(",\"lon\":");
        self.decimal(p.lon_ud as i64, 6);
        self.raw("}");
    }

    fn contract(&mut self, c: &Contract) {
        self.raw("{\"currency\":");
        self.string(&String::from_utf8_lossy(&c.currency));
        self.raw(",\"base_cents\":");
        self.display(c.base_cents);
        self.raw(",\"detention_free_min\":");
        self.display(c.detention_free_min);
        self.raw(",\"detention_cents_per_hour\":");
        self.display(c.detention_cents_per_hour);
        self.raw("}");
    }
}

/// `value / 10^scale` as an exact, shortest decimal string.
pub fn format_decimal(value: i64, scale: u32) -> String {
    let unit = 10i64.pow(scale);
    let sign = if value < 0 { "-" } else { "" };
    let abs = value.unsigned_abs();
    let int = abs / unit as u64;
    let frac = abs % unit as u64;
    if frac == 0 {
        return format!("{sign}{int}");
    }
    let mut f = format!("{frac:0width$}", width = scale as usize);
    while f.ends_with('0') {
        f.pop();
    }
    format!("{sign}{int}.{f}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_exact_and_short() {
        let cases = [
            (12_345_679, 6, "12.345679"),
            (-5_000_000, 6, "-5"),
            (-1, 6, "-0.000001"),
            (0, 6, "0"),
            (90_000_000, 6, "90"),
            (12_500, 3, "12.5"),
            (i32::MIN as i64, 6, "-2147.483648"),
        ];
        for (v, s, want) in cases {
            assert_eq!(format_decimal(v, s), want);
        }
    }
}
