//! Malformed copies: the event's own CloudEvent with one thing broken, so that the core's decoder
//! dead-letters it with exactly the wanted reason (the checks of docs/events.md run in order, so
//! everything the earlier checks look at is left intact).
//!
//! | reason | how |
//! |---|---|
//! | `too_large` | an extra `padding` attribute takes the line past 64 KiB |
//! | `malformed_json` | the line is cut short (a strict prefix of the object) |
//! | `invalid_envelope` | `sequence` as a JSON number, a `time` that is not RFC 3339, `specversion` `"0.3"`, a `parcel/<n>` subject, a source of an unknown system, or an attribute CloudEvents 1.0 refuses: a capitalized extension name, a float extension value, `datacontenttype` `"xyz"`, an empty `dataschema`, a `data_base64` beside `data` |
//! | `unknown_type` | a `type` no system emits |
//! | `unsupported_schema_version` | a `schemaversion` past the type's last (2 to 4, or 3 to 5 for a type with a version 2) |
//! | `ownership_violation` | the source's system swapped for one that does not own the type (same name) |
//! | `subject_mismatch` | `shipment/<n>` and `vehicle/<n>` swapped |
//! | `invalid_data` | one payload field of the type broken (see [`invalid_data`]); `shipment.picked_up` has no payload, so its copy becomes a `stop.departed` at an unknown stop |
//!
//! The variant (which field, how far to cut) comes from a hash of the event's index and the
//! reason, never from shared state, so encoding a delivery twice gives the same bytes.

use waybill_core::encode::encode_event;
use waybill_core::event::{Body, DeadLetterReason, Event, EventType, MAX_EVENT_BYTES, System};
use waybill_core::time::format_rfc3339_us;

/// A well-mixed hash of the event index and the reason (splitmix64's finalizer).
fn mix(index: u32, reason: DeadLetterReason) -> u64 {
    let mut z = (u64::from(index) << 8 | reason.index() as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Position of the first `pat` in `out[from..]`, as an index into `out`.
fn find(out: &[u8], from: usize, pat: &[u8]) -> usize {
    out[from..]
        .windows(pat.len())
        .position(|w| w == pat)
        .map(|p| p + from)
        .unwrap_or_else(|| {
            panic!(
                "encoded event lacks {}",
                String::from_utf8_lossy(pat).into_owned()
            )
        })
}

/// Index of the first byte at or after `from` that is one of `stops`.
fn until(out: &[u8], from: usize, stops: &[u8]) -> usize {
    from + out[from..]
        .iter()
        .position(|b| stops.contains(b))
        .expect("value end")
}

fn replace(out: &mut Vec<u8>, range: std::ops::Range<usize>, with: &[u8]) {
    out.splice(range, with.iter().copied());
}

/// The range of a top-level attribute's string value (without its quotes). Only for
/// attributes whose valid values never need escapes (`sequence`, `type`, `time`, `subject`,
/// `source`). A key pattern `,"name":"` cannot occur inside an encoded string, where every
/// quote is escaped, so the first match is the attribute.
fn string_value(out: &[u8], base: usize, name: &str) -> std::ops::Range<usize> {
    let pat = format!(",\"{name}\":\"");
    let start = find(out, base, pat.as_bytes()) + pat.len();
    start..until(out, start, b"\"")
}

/// Start of the `data` object (its `{`). `data` is the last attribute the encoder writes.
fn data_start(out: &[u8], base: usize) -> usize {
    find(out, base, b",\"data\":{") + 8
}

/// Replaces the whole `data` object.
fn set_data(out: &mut Vec<u8>, base: usize, data: &str) {
    let start = data_start(out, base);
    let end = out.len() - 1;
    replace(out, start..end, data.as_bytes());
}

/// Replaces the value of the number field `name` inside `data` (numbers end at `,` or `}`).
fn set_number(out: &mut Vec<u8>, base: usize, path: &str, value: &str) {
    let ds = data_start(out, base);
    let start = find(out, ds, path.as_bytes()) + path.len();
    let end = until(out, start, b",}");
    replace(out, start..end, value.as_bytes());
}

/// Replaces the value of a string field inside `data` whose valid values need no escapes.
fn set_plain_string(out: &mut Vec<u8>, base: usize, name: &str, value: &str) {
    let ds = data_start(out, base);
    let pat = format!("\"{name}\":\"");
    let start = find(out, ds, pat.as_bytes()) + pat.len();
    let end = until(out, start, b"\"");
    replace(out, start..end, value.as_bytes());
}

/// Appends a malformed copy of `event` (the `index`-th world event) that decodes to a dead
/// letter with `reason`.
pub(super) fn craft(event: &Event, index: u32, reason: DeadLetterReason, out: &mut Vec<u8>) {
    let base = out.len();
    encode_event(event, out);
    let h = mix(index, reason);
    match reason {
        DeadLetterReason::TooLarge => {
            let len = out.len() - base;
            let pad = (MAX_EVENT_BYTES + 1).saturating_sub(len) + (h % 4096) as usize;
            let end = out.len() - 1;
            let mut extra = Vec::with_capacity(pad + 16);
            extra.extend_from_slice(b",\"padding\":\"");
            extra.resize(extra.len() + pad, b'x');
            extra.push(b'"');
            replace(out, end..end, &extra);
        }
        DeadLetterReason::MalformedJson => {
            // Any strict prefix of an object is unfinished JSON.
            let len = out.len() - base;
            let keep = 1 + (h % (len as u64 - 1)) as usize;
            out.truncate(base + keep);
        }
        DeadLetterReason::InvalidEnvelope => match h % 10 {
            0 => {
                // `sequence` must be a string.
                let r = string_value(out, base, "sequence");
                let digits = out[r.clone()].to_vec();
                replace(out, r.start - 1..r.end + 1, &digits);
            }
            1 => {
                let r = string_value(out, base, "time");
                replace(out, r, b"27/11/2026 08:00");
            }
            2 => {
                // `{"specversion":"1.0"`: the version is always at the same place.
                let at = base + b"{\"specversion\":\"".len();
                replace(out, at..at + 3, b"0.3");
            }
            3 => {
                let r = string_value(out, base, "subject");
                let slash = until(out, r.start, b"/");
                replace(out, r.start..slash, b"parcel");
            }
            4 => {
                let r = string_value(out, base, "source");
                let slash = until(out, r.start, b"/");
                replace(out, r.start..slash, b"warehouse");
            }
            v => {
                // An attribute CloudEvents 1.0 refuses, just before `data`.
                const REFUSED: [&str; 5] = [
                    ",\"Priority\":\"high\"",
                    ",\"priority\":1.5",
                    ",\"datacontenttype\":\"xyz\"",
                    ",\"dataschema\":\"\"",
                    ",\"data_base64\":\"eyJ4IjoxfQ==\"",
                ];
                let at = data_start(out, base) - 8;
                replace(out, at..at, REFUSED[(v - 5) as usize].as_bytes());
            }
        },
        DeadLetterReason::UnknownType => {
            const UNKNOWN: [&str; 4] = [
                "shipment.teleported",
                "order.reopened",
                "invoice.voided",
                "vehicle.refueled",
            ];
            let r = string_value(out, base, "type");
            replace(out, r, UNKNOWN[(h % 4) as usize].as_bytes());
        }
        DeadLetterReason::UnsupportedSchemaVersion => {
            let at = data_start(out, base) - 8;
            // A version past the type's last: 2 to 4 for most types, 3 to 5 for those with a
            // version 2.
            let last = event.event_type().versions().last().copied().unwrap_or(1);
            let attr = format!(",\"schemaversion\":{}", u64::from(last) + 1 + h % 3);
            replace(out, at..at, attr.as_bytes());
        }
        DeadLetterReason::OwnershipViolation => {
            let owner = event.event_type().owner();
            let others: Vec<System> = System::ALL.into_iter().filter(|&s| s != owner).collect();
            let other = others[(h % others.len() as u64) as usize];
            let r = string_value(out, base, "source");
            let slash = until(out, r.start, b"/");
            replace(out, r.start..slash, other.as_str().as_bytes());
        }
        DeadLetterReason::SubjectMismatch => {
            let r = string_value(out, base, "subject");
            let slash = until(out, r.start, b"/");
            let swapped: &[u8] = if &out[r.start..slash] == b"vehicle" {
                b"shipment"
            } else {
                b"vehicle"
            };
            replace(out, r.start..slash, swapped);
        }
        DeadLetterReason::InvalidData => invalid_data(event, base, h, out),
    }
}

/// One payload field of the event's type broken: out of range, of the wrong type, missing, or
/// not among the allowed values (the `invalid_data` rules of docs/events.md).
fn invalid_data(event: &Event, base: usize, h: u64, out: &mut Vec<u8>) {
    let v = h % 3;
    match &event.body {
        Body::OrderCreated {
            window_start_us, ..
        } => match v {
            0 => set_number(out, base, "\"origin\":{\"lat\":", "90.5"),
            1 => set_plain_string(out, base, "currency", "eur"),
            _ => {
                // window_end before window_start.
                let before = format_rfc3339_us(window_start_us.saturating_sub(60_000_000));
                set_plain_string(out, base, "window_end", &before);
            }
        },
        Body::OrderAmended { .. } => {
            set_number(
                out,
                base,
                "\"order_version\":",
                ["1", "0", "-2"][v as usize],
            );
        }
        Body::OrderCancelled { .. } | Body::DeliveryFailed { .. } => {
            set_data(
                out,
                base,
                ["{\"reason\":42}", "{}", "{\"reason\":[\"late\"]}"][v as usize],
            );
        }
        Body::InvoiceSettled { .. } => {
            set_number(
                out,
                base,
                "\"amount_cents\":",
                ["0", "-1500", "12.5"][v as usize],
            );
        }
        Body::RoutePlanned { .. } => match v {
            0 => set_number(out, base, "\"stop_index\":", "65536"),
            1 => set_number(out, base, "\"vehicle_id\":", "-7"),
            _ => set_plain_string(out, base, "eta", "soon"),
        },
        Body::EtaRevised { .. } => {
            set_data(
                out,
                base,
                ["{\"eta\":\"soon\"}", "{}", "{\"eta\":1795766400}"][v as usize],
            );
        }
        Body::VehiclePosition { .. } => match v {
            0 => set_number(out, base, "\"lat\":", "91"),
            1 => set_number(out, base, "\"lon\":", "-180.000001"),
            _ => set_number(out, base, "\"speed_kph\":", "-12.5"),
        },
        Body::StopArrived { .. } | Body::StopDeparted { .. } => {
            set_data(
                out,
                base,
                ["{\"stop\":\"dock\"}", "{}", "{\"stop\":1}"][v as usize],
            );
        }
        Body::ShipmentPickedUp => {
            // No payload to break: the same producer's `stop.departed` at an unknown stop.
            let r = string_value(out, base, "type");
            replace(out, r, EventType::StopDeparted.as_str().as_bytes());
            set_data(out, base, "{\"stop\":\"yard\"}");
        }
        Body::ShipmentDelivered { .. } => set_data(
            out,
            base,
            [
                "{\"pod\":{\"photo_ref\":\"pod.jpg\"}}",
                "{\"pod\":\"signed\"}",
                "{\"pod\":{\"signed_by\":7}}",
            ][v as usize],
        ),
        Body::ChargeAdded { .. } => match v {
            0 => set_number(out, base, "\"amount_cents\":", "0"),
            1 => set_plain_string(out, base, "kind", "tip"),
            _ => set_plain_string(out, base, "currency", "Eur"),
        },
        Body::ChargeVoided { .. } => {
            set_data(
                out,
                base,
                ["{}", "{\"charge_id\":7}", "{\"charge_id\":[\"c1\"]}"][v as usize],
            );
        }
        Body::InvoiceIssued { .. } => match v {
            0 => set_number(out, base, "\"total_cents\":", "0"),
            1 => set_number(out, base, "\"total_cents\":", "-100"),
            _ => {
                // `charge_ids` is the last payload field: its value runs to the data's `}`.
                let ds = data_start(out, base);
                let pat = b"\"charge_ids\":";
                let start = find(out, ds, pat) + pat.len();
                let end = out.len() - 2;
                replace(out, start..end, b"\"all\"");
            }
        },
    }
}
