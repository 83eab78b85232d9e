//! Typed events back to CloudEvents JSON (structured mode, one line), the inverse of
//! [`crate::decode`]: `decode(encode(e)) == e` for every valid event. Used by the simulator to
//! put events on the wire and by `journal dump` to show what was received.

use crate::event::{Body, Contract, Event, GeoPoint, Pod};
use crate::time::format_rfc3339_us;
use std::fmt::Write as _;

/// Appends `event` as one CloudEvents JSON object (no newline) to `out`.
pub fn encode_event(event: &Event, out: &mut Vec<u8>) {
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
    if let Some(c) = &event.correlation_id {
        w.raw(",\"correlationid\":");
        w.string(c);
    }
    if let Some(t) = &event.traceparent {
        w.raw(",\"traceparent\":");
        w.string(t);
    }
    w.raw(",\"data\":{");
    encode_body(&event.body, &mut w);
    w.raw("}}");
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
