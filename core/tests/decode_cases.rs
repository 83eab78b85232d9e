//! Decoding cases: one valid event of every type, and every dead-letter rule of docs/events.md.

// The mutation fuzz below uses a subset of the edits.
#[allow(dead_code)]
#[path = "../src/decode/byte_edits.rs"]
mod byte_edits;

use waybill_core::decode::{decode, decode_truncated};
use waybill_core::event::{
    Body, ChargeKind, Contract, DeadLetterReason as R, Entry, Event, GeoPoint, MAX_EVENT_BYTES,
    Pod, Stop,
};

/// 2026-11-27T08:00:00Z
const T0: i64 = 1_795_766_400_000_000;
const HOUR: i64 = 3_600_000_000;

// ---------------------------------------------------------------------------------------------
// Helpers

enum Want {
    Event(Event),
    /// The reason, and a piece of text the detail must contain.
    Dead(R, String),
}

fn dead(reason: R, needle: impl Into<String>) -> Want {
    Want::Dead(reason, needle.into())
}

fn check(input: impl AsRef<[u8]>, want: Want) {
    let raw = input.as_ref();
    let shown = String::from_utf8_lossy(&raw[..raw.len().min(400)]).into_owned();
    match (decode(raw), want) {
        (Entry::Event(got), Want::Event(want)) => assert_eq!(got, want, "input: {shown}"),
        (Entry::DeadLetter(d), Want::Dead(reason, needle)) => {
            assert_eq!(d.reason, reason, "input: {shown}\ndetail: {}", d.detail);
            assert!(
                d.detail.contains(&needle),
                "detail {:?} lacks {needle:?}; input: {shown}",
                d.detail
            );
            assert!(!d.detail.is_empty() && !d.detail.contains('\n'));
            assert!(d.detail.len() <= 400, "detail too long: {}", d.detail.len());
            assert_eq!(d.raw, &raw[..raw.len().min(MAX_EVENT_BYTES)], "raw kept");
            assert_eq!(d.raw_len_bytes, raw.len() as u64);
        }
        (Entry::Event(got), Want::Dead(reason, _)) => {
            panic!("expected {reason:?}, got event {got:?}; input: {shown}")
        }
        (Entry::Settings(s), _) => panic!("decoded as settings {s:?}; input: {shown}"),
        (Entry::Notice(n), _) => panic!("decoded as a notice {n:?}; input: {shown}"),
        (Entry::DeadLetter(d), Want::Event(_)) => panic!(
            "expected an event, got {:?} ({}); input: {shown}",
            d.reason, d.detail
        ),
    }
}

/// The default envelope: a valid `vehicle.position`. Values are raw JSON text.
const BASE: [(&str, &str); 8] = [
    ("specversion", r#""1.0""#),
    ("id", r#""e-1""#),
    ("source", r#""fleet/truck-7""#),
    ("sequence", r#""7""#),
    ("type", r#""vehicle.position""#),
    ("time", r#""2026-11-27T08:00:00Z""#),
    ("subject", r#""vehicle/42""#),
    ("data", r#"{"lat":52.52,"lon":13.405,"speed_kph":61.5}"#),
];

/// The default envelope with attributes replaced (`Some`), removed (`None`) or added.
fn env(changes: &[(&str, Option<&str>)]) -> String {
    let mut attrs: Vec<(String, String)> = BASE
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    for (key, value) in changes {
        let pos = attrs.iter().position(|(k, _)| k == key);
        match (pos, value) {
            (Some(i), Some(v)) => attrs[i].1 = v.to_string(),
            (Some(i), None) => {
                attrs.remove(i);
            }
            (None, Some(v)) => attrs.push((key.to_string(), v.to_string())),
            (None, None) => {}
        }
    }
    let body: Vec<String> = attrs.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
    format!("{{{}}}", body.join(","))
}

/// An event of `ty` from `source` about `subject` with `data` (raw JSON).
fn typed(ty: &str, source: &str, subject: &str, data: &str) -> String {
    let ty = format!("{ty:?}");
    let source = format!("{source:?}");
    let subject = format!("{subject:?}");
    env(&[
        ("type", Some(&ty)),
        ("source", Some(&source)),
        ("subject", Some(&subject)),
        ("data", Some(data)),
    ])
}

/// The event the default envelope decodes to, with another source, subject and body.
fn expect(source: &str, subject: u64, body: Body) -> Event {
    Event {
        id: "e-1".into(),
        source: source.into(),
        sequence: 7,
        time_us: T0,
        subject,
        correlation_id: None,
        traceparent: None,
        body,
    }
}

fn base_event() -> Event {
    expect(
        "fleet/truck-7",
        42,
        Body::VehiclePosition {
            position: GeoPoint {
                lat_ud: 52_520_000,
                lon_ud: 13_405_000,
            },
            speed_kph_milli: 61_500,
            heading_deg: None,
            accuracy_mm: None,
        },
    )
}

fn ok(event: Event) -> Want {
    Want::Event(event)
}

fn with_body(body: Body) -> Event {
    Event {
        body,
        ..base_event()
    }
}

fn position(lat_ud: i32, lon_ud: i32, speed_kph_milli: u32) -> Body {
    Body::VehiclePosition {
        position: GeoPoint { lat_ud, lon_ud },
        speed_kph_milli,
        heading_deg: None,
        accuracy_mm: None,
    }
}

/// A `vehicle.position` with raw `lat`, `lon` and `speed_kph` text.
fn pos(lat: &str, lon: &str, speed: &str) -> String {
    let data = format!(r#"{{"lat":{lat},"lon":{lon},"speed_kph":{speed}}}"#);
    env(&[("data", Some(&data))])
}

const ORDER: &str = r#"{"customer_id":"c-9","origin":{"lat":52.52,"lon":13.405},"destination":{"lat":48.137154,"lon":11.576124},"window_start":"2026-11-27T09:00:00Z","window_end":"2026-11-27T17:00:00+01:00","weight_kg":1200,"contract":{"currency":"EUR","base_cents":15000,"detention_free_min":30,"detention_cents_per_hour":6000}}"#;

fn order_body() -> Body {
    Body::OrderCreated {
        customer_id: "c-9".into(),
        origin: GeoPoint {
            lat_ud: 52_520_000,
            lon_ud: 13_405_000,
        },
        destination: GeoPoint {
            lat_ud: 48_137_154,
            lon_ud: 11_576_124,
        },
        window_start_us: T0 + HOUR,
        window_end_us: T0 + 8 * HOUR,
        weight_kg: 1200,
        contract: Contract {
            currency: *b"EUR",
            base_cents: 15000,
            detention_free_min: 30,
            detention_cents_per_hour: 6000,
        },
    }
}

/// `order.created` with `ORDER` changed by replacing `from` with `to`.
fn order(from: &str, to: &str) -> String {
    assert!(ORDER.contains(from), "{from}");
    typed(
        "order.created",
        "erp/sap-1",
        "shipment/1001",
        &ORDER.replacen(from, to, 1),
    )
}

fn order_with(body: Body) -> Event {
    expect("erp/sap-1", 1001, body)
}

fn shipment(ty: &str, source: &str, data: &str) -> String {
    typed(ty, source, "shipment/1001", data)
}

// ---------------------------------------------------------------------------------------------
// Every type

#[test]
fn every_type_decodes_to_its_event() {
    let s = 1001;
    let cases: Vec<(String, Event)> = vec![
        (
            typed("order.created", "erp/sap-1", "shipment/1001", ORDER),
            expect("erp/sap-1", s, order_body()),
        ),
        (
            shipment(
                "order.amended",
                "erp/sap-1",
                r#"{"order_version":2,"window_end":"2026-11-27T18:00:00Z","destination":{"lat":-33.8688,"lon":151.2093}}"#,
            ),
            expect(
                "erp/sap-1",
                s,
                Body::OrderAmended {
                    order_version: 2,
                    window_start_us: None,
                    window_end_us: Some(T0 + 10 * HOUR),
                    destination: Some(GeoPoint {
                        lat_ud: -33_868_800,
                        lon_ud: 151_209_300,
                    }),
                },
            ),
        ),
        (
            shipment(
                "order.amended",
                "erp/sap-1",
                r#"{"order_version":4294967295,"window_start":"2026-11-27T07:00:00Z","window_end":"2026-11-27T07:00:00Z"}"#,
            ),
            expect(
                "erp/sap-1",
                s,
                Body::OrderAmended {
                    order_version: u32::MAX,
                    window_start_us: Some(T0 - HOUR),
                    window_end_us: Some(T0 - HOUR),
                    destination: None,
                },
            ),
        ),
        (
            shipment("order.amended", "erp/sap-1", r#"{"order_version":3}"#),
            expect(
                "erp/sap-1",
                s,
                Body::OrderAmended {
                    order_version: 3,
                    window_start_us: None,
                    window_end_us: None,
                    destination: None,
                },
            ),
        ),
        (
            shipment(
                "order.cancelled",
                "erp/sap-1",
                r#"{"reason":"customer request"}"#,
            ),
            expect(
                "erp/sap-1",
                s,
                Body::OrderCancelled {
                    reason: "customer request".into(),
                },
            ),
        ),
        (
            shipment(
                "invoice.settled",
                "erp/sap-1",
                r#"{"invoice_id":"inv-1","amount_cents":25000}"#,
            ),
            expect(
                "erp/sap-1",
                s,
                Body::InvoiceSettled {
                    invoice_id: "inv-1".into(),
                    amount_cents: 25000,
                },
            ),
        ),
        (
            shipment(
                "route.planned",
                "route/opt-1",
                r#"{"route_id":"r-1","vehicle_id":18446744073709551615,"stop_index":65535,"eta":"2026-11-27T10:30:00.1234569Z"}"#,
            ),
            expect(
                "route/opt-1",
                s,
                Body::RoutePlanned {
                    route_id: "r-1".into(),
                    vehicle_id: u64::MAX,
                    stop_index: u16::MAX,
                    eta_us: T0 + 2 * HOUR + 30 * 60_000_000 + 123_456,
                },
            ),
        ),
        (
            shipment(
                "eta.revised",
                "route/opt-1",
                r#"{"eta":"2026-11-27T11:00:00Z"}"#,
            ),
            expect(
                "route/opt-1",
                s,
                Body::EtaRevised {
                    eta_us: T0 + 3 * HOUR,
                },
            ),
        ),
        (env(&[]), base_event()),
        (
            shipment("stop.arrived", "fleet/truck-7", r#"{"stop":"delivery"}"#),
            expect(
                "fleet/truck-7",
                s,
                Body::StopArrived {
                    stop: Stop::Delivery,
                },
            ),
        ),
        (
            shipment("stop.departed", "fleet/truck-7", r#"{"stop":"pickup"}"#),
            expect(
                "fleet/truck-7",
                s,
                Body::StopDeparted { stop: Stop::Pickup },
            ),
        ),
        (
            shipment("shipment.picked_up", "fleet/truck-7", "{}"),
            expect("fleet/truck-7", s, Body::ShipmentPickedUp),
        ),
        (
            shipment(
                "shipment.delivered",
                "fleet/truck-7",
                r#"{"pod":{"signed_by":"J. Doe","photo_ref":"s3://pod/1.jpg"}}"#,
            ),
            expect(
                "fleet/truck-7",
                s,
                Body::ShipmentDelivered {
                    pod: Some(Pod {
                        signed_by: "J. Doe".into(),
                        photo_ref: Some("s3://pod/1.jpg".into()),
                    }),
                },
            ),
        ),
        (
            shipment("shipment.delivered", "fleet/truck-7", "{}"),
            expect("fleet/truck-7", s, Body::ShipmentDelivered { pod: None }),
        ),
        (
            shipment(
                "delivery.failed",
                "fleet/truck-7",
                r#"{"reason":"nobody home"}"#,
            ),
            expect(
                "fleet/truck-7",
                s,
                Body::DeliveryFailed {
                    reason: "nobody home".into(),
                },
            ),
        ),
        (
            shipment(
                "charge.added",
                "billing/main",
                r#"{"charge_id":"ch-1","kind":"detention","amount_cents":4500,"currency":"EUR"}"#,
            ),
            expect(
                "billing/main",
                s,
                Body::ChargeAdded {
                    charge_id: "ch-1".into(),
                    kind: ChargeKind::Detention,
                    amount_cents: 4500,
                    currency: *b"EUR",
                },
            ),
        ),
        (
            shipment("charge.voided", "billing/main", r#"{"charge_id":"ch-1"}"#),
            expect(
                "billing/main",
                s,
                Body::ChargeVoided {
                    charge_id: "ch-1".into(),
                },
            ),
        ),
        (
            shipment(
                "invoice.issued",
                "billing/main",
                r#"{"invoice_id":"inv-1","total_cents":19500,"charge_ids":["ch-1","ch-2"]}"#,
            ),
            expect(
                "billing/main",
                s,
                Body::InvoiceIssued {
                    invoice_id: "inv-1".into(),
                    total_cents: 19500,
                    charge_ids: vec!["ch-1".into(), "ch-2".into()],
                },
            ),
        ),
        (
            shipment(
                "invoice.issued",
                "billing/main",
                r#"{"invoice_id":"inv-2","total_cents":1,"charge_ids":[]}"#,
            ),
            expect(
                "billing/main",
                s,
                Body::InvoiceIssued {
                    invoice_id: "inv-2".into(),
                    total_cents: 1,
                    charge_ids: vec![],
                },
            ),
        ),
    ];
    let mut types: Vec<_> = cases.iter().map(|(_, e)| e.event_type()).collect();
    types.sort();
    types.dedup();
    assert_eq!(types.len(), 15, "a case for every type");
    for (input, event) in cases {
        check(input, ok(event));
    }
}

#[test]
fn every_charge_kind() {
    for (text, kind) in [
        ("base", ChargeKind::Base),
        ("fuel", ChargeKind::Fuel),
        ("detention", ChargeKind::Detention),
        ("waiting", ChargeKind::Waiting),
        ("redelivery", ChargeKind::Redelivery),
        ("other", ChargeKind::Other),
    ] {
        let data =
            format!(r#"{{"charge_id":"c","kind":"{text}","amount_cents":1,"currency":"USD"}}"#);
        check(
            shipment("charge.added", "billing/b", &data),
            ok(expect(
                "billing/b",
                1001,
                Body::ChargeAdded {
                    charge_id: "c".into(),
                    kind,
                    amount_cents: 1,
                    currency: *b"USD",
                },
            )),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Envelope: accepted variants

#[test]
fn envelope_variants_accepted() {
    let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let tp_json = format!("{tp:?}");
    let future_tp = "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds";
    let future_json = format!("{future_tp:?}");
    let id128 = format!("\"{}\"", "i".repeat(128));
    let name64 = format!("\"fleet/{}\"", "a".repeat(64));
    let cases: Vec<(String, Event)> = vec![
        // Optional attributes carried.
        (
            env(&[
                ("correlationid", Some(r#""corr-1""#)),
                ("traceparent", Some(&tp_json)),
            ]),
            Event {
                correlation_id: Some("corr-1".into()),
                traceparent: Some(tp.into()),
                ..base_event()
            },
        ),
        (
            env(&[("traceparent", Some(&future_json))]),
            Event {
                traceparent: Some(future_tp.into()),
                ..base_event()
            },
        ),
        (
            env(&[("correlationid", Some(&id128))]),
            Event {
                correlation_id: Some("i".repeat(128)),
                ..base_event()
            },
        ),
        (
            env(&[("correlationid", Some(r#""""#))]),
            Event {
                correlation_id: Some(String::new()),
                ..base_event()
            },
        ),
        // Optional attributes that are null count as absent.
        (
            env(&[
                ("correlationid", Some("null")),
                ("traceparent", Some("null")),
                ("schemaversion", Some("null")),
            ]),
            base_event(),
        ),
        // schemaversion 1 is the supported version.
        (env(&[("schemaversion", Some("1"))]), base_event()),
        // Extension attributes and the CloudEvents attributes Waybill gives no meaning are
        // ignored once they follow CloudEvents 1.0 (the rules: tests of the decoder module).
        (
            env(&[
                ("datacontenttype", Some(r#""application/json""#)),
                ("xcustom", Some(r#""nested""#)),
                ("n", Some("-7")),
                ("dataschema", Some("null")),
            ]),
            base_event(),
        ),
        // Attribute order does not matter; whitespace around the object is fine.
        (
            format!(
                " \t{{ \"data\" : {} , \"subject\":\"vehicle/42\",\"time\":\"2026-11-27T09:00:00+01:00\",\"type\":\"vehicle.position\",\"sequence\":\"7\",\"source\":\"fleet/truck-7\",\"id\":\"e-1\",\"specversion\":\"1.0\"}} \r\n",
                BASE[7].1
            ),
            base_event(),
        ),
        // Escapes in strings and keys are decoded.
        (env(&[("id", Some(r#""e\u002d1""#))]), base_event()),
        (
            env(&[("id", None), ("\\u0069d", Some(r#""e-1""#))]),
            base_event(),
        ),
        // Limits, exactly at the bound.
        (
            env(&[("id", Some(&id128))]),
            Event {
                id: "i".repeat(128),
                ..base_event()
            },
        ),
        (
            env(&[("source", Some(&name64))]),
            Event {
                source: format!("fleet/{}", "a".repeat(64)),
                ..base_event()
            },
        ),
        (
            env(&[("source", Some(r#""fleet/A-z_0.9""#))]),
            Event {
                source: "fleet/A-z_0.9".into(),
                ..base_event()
            },
        ),
        (
            env(&[("sequence", Some(r#""18446744073709551615""#))]),
            Event {
                sequence: u64::MAX,
                ..base_event()
            },
        ),
        (
            env(&[("sequence", Some(r#""1""#))]),
            Event {
                sequence: 1,
                ..base_event()
            },
        ),
        (
            env(&[("subject", Some(r#""vehicle/18446744073709551615""#))]),
            Event {
                subject: u64::MAX,
                ..base_event()
            },
        ),
        (
            env(&[("subject", Some(r#""vehicle/0""#))]),
            Event {
                subject: 0,
                ..base_event()
            },
        ),
        // Time: offsets, fractions past the microsecond cut off.
        (
            env(&[("time", Some(r#""2026-11-27T03:30:00.0000019-04:30""#))]),
            Event {
                time_us: T0 + 1,
                ..base_event()
            },
        ),
    ];
    for (input, event) in cases {
        check(input, ok(event));
    }
}

// ---------------------------------------------------------------------------------------------
// malformed_json and too_large

#[test]
fn malformed_json() {
    let valid = env(&[]);
    let mut bad_utf8 = valid.clone().into_bytes();
    let at = valid.find("e-1").unwrap();
    bad_utf8[at] = 0xff;
    let mut bad_utf8_unknown = env(&[("x", Some(r#""ok""#))]).into_bytes();
    let at = bad_utf8_unknown.len() - 3;
    bad_utf8_unknown[at] = 0xc3; // a lone lead byte inside an ignored attribute
    let cases: Vec<(Vec<u8>, Want)> = vec![
        (b"hello".to_vec(), dead(R::MalformedJson, "not valid JSON")),
        (b"".to_vec(), dead(R::MalformedJson, "not valid JSON")),
        (b"   ".to_vec(), dead(R::MalformedJson, "not valid JSON")),
        (vec![0, 159, 146, 150], dead(R::MalformedJson, "JSON")),
        (bad_utf8, dead(R::MalformedJson, "not valid JSON")),
        (bad_utf8_unknown, dead(R::MalformedJson, "not valid JSON")),
        (
            valid.as_bytes()[..valid.len() - 1].to_vec(),
            dead(R::MalformedJson, "not valid JSON"),
        ),
        (
            valid.as_bytes()[..valid.len() / 2].to_vec(),
            dead(R::MalformedJson, "not valid JSON"),
        ),
        (
            format!("{valid} x").into_bytes(),
            dead(R::MalformedJson, "trailing"),
        ),
        (
            format!("{valid}{valid}").into_bytes(),
            dead(R::MalformedJson, "trailing"),
        ),
        (
            format!("[{valid}]").into_bytes(),
            dead(R::MalformedJson, "not a JSON object"),
        ),
        (b"5".to_vec(), dead(R::MalformedJson, "not a JSON object")),
        (
            b"\"a string\"".to_vec(),
            dead(R::MalformedJson, "not a JSON object"),
        ),
        (
            b"null".to_vec(),
            dead(R::MalformedJson, "not a JSON object"),
        ),
        (
            format!("\"{}\"", "long ".repeat(10_000)).into_bytes(),
            dead(R::MalformedJson, "not a JSON object"),
        ),
        (
            b"true".to_vec(),
            dead(R::MalformedJson, "not a JSON object"),
        ),
        (
            br#"{"id":"a",}"#.to_vec(),
            dead(R::MalformedJson, "not valid JSON"),
        ),
        (
            br#"{'id':'a'}"#.to_vec(),
            dead(R::MalformedJson, "not valid JSON"),
        ),
        (
            b"{\"id\":\"a\nb\"}".to_vec(),
            dead(R::MalformedJson, "not valid JSON"),
        ),
        (
            env(&[("x", Some("[1,2"))]).into_bytes(),
            dead(R::MalformedJson, "not valid JSON"),
        ),
        (
            env(&[("x", Some("NaN"))]).into_bytes(),
            dead(R::MalformedJson, "not valid JSON"),
        ),
        (
            format!("{}{}", "[".repeat(5000), "]".repeat(5000)).into_bytes(),
            dead(R::MalformedJson, "JSON"),
        ),
        (
            format!("{{\"x\":{}{}}}", "[".repeat(20000), "]".repeat(20000)).into_bytes(),
            dead(R::InvalidEnvelope, "`specversion`"),
        ),
    ];
    for (input, want) in cases {
        check(input, want);
    }
}

/// The default event padded with an ignored attribute to exactly `len` bytes.
fn padded(len: usize) -> String {
    let short = env(&[("pad", Some(r#""""#))]);
    let fill = len - short.len();
    env(&[("pad", Some(&format!("\"{}\"", "p".repeat(fill))))])
}

#[test]
fn size_limit() {
    assert_eq!(padded(MAX_EVENT_BYTES).len(), MAX_EVENT_BYTES);
    check(padded(MAX_EVENT_BYTES), ok(base_event()));
    check(
        padded(MAX_EVENT_BYTES + 1),
        dead(R::TooLarge, "65537 bytes"),
    );
    // too_large comes before every other reason, and only 64 KiB of the raw bytes are kept.
    let garbage = vec![b'x'; 3 * MAX_EVENT_BYTES];
    check(&garbage, dead(R::TooLarge, "196608 bytes"));

    // Cut by the reader: the prefix is kept, the true length reported.
    let prefix = padded(MAX_EVENT_BYTES);
    match decode_truncated(prefix.as_bytes(), 1 << 20) {
        Entry::DeadLetter(d) => {
            assert_eq!(d.reason, R::TooLarge);
            assert_eq!(d.raw, prefix.as_bytes());
            assert_eq!(d.raw_len_bytes, 1 << 20);
            assert!(d.detail.contains("1048576 bytes"), "{}", d.detail);
        }
        other => panic!("{other:?}"),
    }
    // Not actually too large: same as decode.
    let valid = env(&[]);
    assert_eq!(
        decode_truncated(valid.as_bytes(), valid.len() as u64),
        Entry::Event(base_event())
    );
    assert_eq!(
        decode_truncated(b"nope", MAX_EVENT_BYTES as u64),
        decode(b"nope")
    );
}

// ---------------------------------------------------------------------------------------------
// invalid_envelope

#[test]
fn required_attributes_missing_or_null() {
    for (name, _) in BASE {
        check(
            env(&[(name, None)]),
            dead(R::InvalidEnvelope, format!("`{name}` is missing")),
        );
        check(
            env(&[(name, Some("null"))]),
            dead(R::InvalidEnvelope, format!("`{name}` is missing or null")),
        );
    }
    check("{}", dead(R::InvalidEnvelope, "`specversion` is missing"));
}

#[test]
fn attributes_of_the_wrong_type() {
    for (name, value) in [
        ("specversion", "1.0"),
        ("id", "5"),
        ("source", r#"["fleet/x"]"#),
        ("sequence", "5"),
        ("type", "true"),
        ("time", "1795766400"),
        ("subject", r#"{"vehicle":42}"#),
        ("correlationid", "7"),
        ("traceparent", "{}"),
    ] {
        check(
            env(&[(name, Some(value))]),
            dead(R::InvalidEnvelope, format!("`{name}` must be a string")),
        );
    }
    for value in [r#""{}""#, "[]", "5", "true"] {
        check(
            env(&[("data", Some(value))]),
            dead(R::InvalidEnvelope, "`data` must be a JSON object"),
        );
    }
}

/// Leaks a formatted string so tables can hold `&'static str` details.
fn s(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

#[test]
fn malformed_attributes() {
    let e = R::InvalidEnvelope;
    let cases: Vec<(&str, &str, &str)> = vec![
        ("specversion", r#""0.3""#, "`specversion` must be \"1.0\""),
        ("specversion", r#""1""#, "`specversion`"),
        ("id", r#""""#, "`id` must be a non-empty string"),
        ("id", s(format!("\"{}\"", "i".repeat(129))), "129 bytes"),
        ("source", r#""fleet""#, "`<system>/<name>`"),
        ("source", r#""""#, "`<system>/<name>`"),
        ("source", r#""trucks/x""#, "system \"trucks\""),
        ("source", r#""FLEET/x""#, "system \"FLEET\""),
        ("source", r#""/x""#, "system \"\""),
        ("source", r#""fleet/""#, "name must match"),
        ("source", r#""fleet/truck 7""#, "name must match"),
        ("source", r#""fleet/trück""#, "name must match"),
        ("source", r#""fleet/a/b""#, "name must match"),
        ("source", r#""fleet/a:b""#, "name must match"),
        (
            "source",
            s(format!("\"fleet/{}\"", "a".repeat(65))),
            "name must match",
        ),
        ("sequence", r#""0""#, "`sequence`"),
        ("sequence", r#""-1""#, "`sequence`"),
        ("sequence", r#""+1""#, "`sequence`"),
        ("sequence", r#""1.5""#, "`sequence`"),
        ("sequence", r#""1e3""#, "`sequence`"),
        ("sequence", r#"" 5""#, "`sequence`"),
        ("sequence", r#""5 ""#, "`sequence`"),
        ("sequence", r#""""#, "`sequence`"),
        ("sequence", r#""0x10""#, "`sequence`"),
        ("sequence", r#""18446744073709551616""#, "fits u64"),
        (
            "time",
            r#""2026-11-27T08:00:00""#,
            "`time` must be RFC 3339",
        ),
        ("time", r#""2026-11-27""#, "`time`"),
        ("time", r#""yesterday""#, "`time`"),
        ("time", r#""2026-02-30T08:00:00Z""#, "`time`"),
        ("subject", r#""truck/1""#, "`subject`"),
        ("subject", r#""shipment/""#, "`subject`"),
        ("subject", r#""shipment/-1""#, "`subject`"),
        ("subject", r#""vehicle/1a""#, "`subject`"),
        ("subject", r#""vehicle/ 1""#, "`subject`"),
        ("subject", r#""Vehicle/1""#, "`subject`"),
        ("subject", r#""vehicle/18446744073709551616""#, "`subject`"),
        (
            "schemaversion",
            r#""1""#,
            "`schemaversion` must be an integer",
        ),
        ("schemaversion", "1.0", "`schemaversion` must be an integer"),
        ("schemaversion", "1e0", "`schemaversion` must be an integer"),
        (
            "schemaversion",
            "true",
            "`schemaversion` must be an integer",
        ),
        ("schemaversion", "[1]", "`schemaversion` must be an integer"),
        (
            "correlationid",
            s(format!("\"{}\"", "c".repeat(129))),
            "`correlationid`",
        ),
        // traceparent
        ("traceparent", r#""""#, "`traceparent`"),
        (
            "traceparent",
            r#""00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7""#,
            "`traceparent`",
        ),
        (
            "traceparent",
            r#""00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01""#,
            "`traceparent`",
        ),
        (
            "traceparent",
            r#""00-00000000000000000000000000000000-00f067aa0ba902b7-01""#,
            "`traceparent`",
        ),
        (
            "traceparent",
            r#""00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01""#,
            "`traceparent`",
        ),
        (
            "traceparent",
            r#""ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01""#,
            "`traceparent`",
        ),
        (
            "traceparent",
            r#""00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x""#,
            "`traceparent`",
        ),
        (
            "traceparent",
            r#""cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x""#,
            "`traceparent`",
        ),
        (
            "traceparent",
            r#""0-04bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01""#,
            "`traceparent`",
        ),
        (
            "traceparent",
            r#""00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01""#,
            "`traceparent`",
        ),
        (
            "traceparent",
            r#""00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01""#,
            "`traceparent`",
        ),
        (
            "traceparent",
            r#""00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0z""#,
            "`traceparent`",
        ),
    ];
    for (name, value, needle) in cases {
        check(env(&[(name, Some(value))]), dead(e, needle));
    }
}

#[test]
fn duplicate_keys_are_invalid_envelope() {
    let base = env(&[]);
    let cases = [
        base.replacen('{', r#"{"id":"e-2","#, 1),
        // The same key once escaped.
        base.replacen('{', r#"{"\u0069d":"e-2","#, 1),
        // Even when both values are null, or both are the same.
        env(&[("correlationid", Some("null"))]).replacen('{', r#"{"correlationid":null,"#, 1),
        base.replacen('{', r#"{"specversion":"1.0","#, 1),
        // Among unknown attributes too.
        env(&[("x-a", Some("1"))]).replacen('{', r#"{"x-a":2,"#, 1),
    ];
    for input in cases {
        check(input, dead(R::InvalidEnvelope, "duplicate key"));
    }
    // Many distinct unknown keys are fine.
    let many: Vec<(String, Option<&str>)> = (0..40).map(|i| (format!("x{i}"), Some("1"))).collect();
    let many: Vec<(&str, Option<&str>)> = many.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    check(env(&many), ok(base_event()));
    let mut dup = many.clone();
    dup.push(("x39", Some("2")));
    let text = env(&many).replacen('{', r#"{"x39":0,"#, 1);
    check(text, dead(R::InvalidEnvelope, "duplicate key \"x39\""));
}

// ---------------------------------------------------------------------------------------------
// unknown_type, unsupported_schema_version, ownership_violation, subject_mismatch

#[test]
fn type_schema_ownership_subject() {
    let cases: Vec<(String, Want)> = vec![
        (
            env(&[("type", Some(r#""order.exploded""#))]),
            dead(R::UnknownType, "order.exploded"),
        ),
        (
            env(&[("type", Some(r#""VEHICLE.POSITION""#))]),
            dead(R::UnknownType, "VEHICLE.POSITION"),
        ),
        (
            env(&[("type", Some(r#""""#))]),
            dead(R::UnknownType, "type"),
        ),
        (
            env(&[("schemaversion", Some("3"))]),
            dead(
                R::UnsupportedSchemaVersion,
                "schemaversion 3 of vehicle.position is not supported (it has 1 and 2)",
            ),
        ),
        (
            env(&[("schemaversion", Some("0"))]),
            dead(R::UnsupportedSchemaVersion, "schemaversion 0"),
        ),
        (
            env(&[("schemaversion", Some("-1"))]),
            dead(R::UnsupportedSchemaVersion, "schemaversion -1"),
        ),
        (
            env(&[("schemaversion", Some("99999999999999999999"))]),
            dead(R::UnsupportedSchemaVersion, "99999999999999999999"),
        ),
        (
            shipment("order.created", "route/opt-1", ORDER),
            dead(R::OwnershipViolation, "owned by erp"),
        ),
        (
            env(&[("source", Some(r#""billing/main""#))]),
            dead(R::OwnershipViolation, "owned by fleet"),
        ),
        (
            shipment("charge.voided", "erp/sap-1", r#"{"charge_id":"c"}"#),
            dead(R::OwnershipViolation, "owned by billing"),
        ),
        (
            shipment(
                "eta.revised",
                "fleet/truck-7",
                r#"{"eta":"2026-11-27T11:00:00Z"}"#,
            ),
            dead(R::OwnershipViolation, "owned by route"),
        ),
        (
            env(&[("subject", Some(r#""shipment/42""#))]),
            dead(R::SubjectMismatch, "`vehicle/<id>`"),
        ),
        (
            typed("order.created", "erp/sap-1", "vehicle/1001", ORDER),
            dead(R::SubjectMismatch, "`shipment/<id>`"),
        ),
        (
            typed(
                "stop.arrived",
                "fleet/truck-7",
                "vehicle/7",
                r#"{"stop":"pickup"}"#,
            ),
            dead(R::SubjectMismatch, "`shipment/<id>`"),
        ),
    ];
    for (input, want) in cases {
        check(input, want);
    }
}

#[test]
fn earlier_reason_wins() {
    let cases: Vec<(String, Want)> = vec![
        // too_large over malformed_json
        (
            format!("{{{}", "x".repeat(MAX_EVENT_BYTES)),
            dead(R::TooLarge, "bytes"),
        ),
        // malformed_json over invalid_envelope: a duplicate key, then a syntax error
        (
            r#"{"id":"a","id":"b","#.to_string(),
            dead(R::MalformedJson, "not valid JSON"),
        ),
        (
            format!("{} garbage", env(&[("id", None)])),
            dead(R::MalformedJson, "trailing"),
        ),
        // invalid_envelope over unknown_type
        (
            env(&[("type", Some(r#""nope""#)), ("id", None)]),
            dead(R::InvalidEnvelope, "`id`"),
        ),
        (
            env(&[("type", Some(r#""nope""#)), ("data", Some("[]"))]),
            dead(R::InvalidEnvelope, "`data`"),
        ),
        (
            env(&[("type", Some(r#""nope""#)), ("schemaversion", Some("1.5"))]),
            dead(R::InvalidEnvelope, "`schemaversion`"),
        ),
        (
            env(&[("type", Some(r#""nope""#))]).replacen('{', r#"{"time":"x","#, 1),
            dead(R::InvalidEnvelope, "duplicate key \"time\""),
        ),
        // unknown_type over unsupported_schema_version
        (
            env(&[("type", Some(r#""nope""#)), ("schemaversion", Some("2"))]),
            dead(R::UnknownType, "nope"),
        ),
        // unsupported_schema_version over ownership_violation
        (
            env(&[("schemaversion", Some("3")), ("source", Some(r#""erp/x""#))]),
            dead(R::UnsupportedSchemaVersion, "schemaversion 3"),
        ),
        // ownership_violation over subject_mismatch
        (
            env(&[
                ("source", Some(r#""erp/x""#)),
                ("subject", Some(r#""shipment/1""#)),
            ]),
            dead(R::OwnershipViolation, "owned by fleet"),
        ),
        // subject_mismatch over invalid_data
        (
            env(&[
                ("subject", Some(r#""shipment/1""#)),
                ("data", Some(r#"{"lat":"x"}"#)),
            ]),
            dead(R::SubjectMismatch, "vehicle"),
        ),
        // within invalid_data, the first field in order
        (pos("91", "181", "-1"), dead(R::InvalidData, "data.lat")),
    ];
    for (input, want) in cases {
        check(input, want);
    }
}

// ---------------------------------------------------------------------------------------------
// invalid_data

#[test]
fn invalid_data() {
    let d = R::InvalidData;
    let cases: Vec<(String, Want)> = vec![
        // missing, null, wrong type
        (
            order(r#""weight_kg":1200,"#, ""),
            dead(d, "data.weight_kg is missing"),
        ),
        (
            order("1200", "null"),
            dead(d, "data.weight_kg is missing or null"),
        ),
        (
            order("1200", r#""1200""#),
            dead(d, "data.weight_kg must be an integer, got a string"),
        ),
        (
            order(r#""c-9""#, "9"),
            dead(d, "data.customer_id must be a string"),
        ),
        (
            order(r#""c-9""#, r#""""#),
            dead(d, "data.customer_id must be a non-empty string"),
        ),
        (
            order(r#""c-9""#, s(format!("\"{}\"", "c".repeat(129)))),
            dead(d, "129 bytes"),
        ),
        (
            order(r#"{"lat":52.52,"lon":13.405}"#, r#""here""#),
            dead(d, "data.origin must be an object"),
        ),
        (
            order(r#"{"lat":52.52,"lon":13.405}"#, r#"{"lat":52.52}"#),
            dead(d, "data.origin.lon is missing"),
        ),
        (
            order(r#""lat":48.137154"#, r#""lat":"48.1""#),
            dead(d, "data.destination.lat must be a number"),
        ),
        (
            order(r#""destination""#, r#""dest""#),
            dead(d, "data.destination is missing"),
        ),
        (
            order(r#"{"currency""#, r#"[{"currency""#).replacen("6000}", "6000}]", 1),
            dead(d, "data.contract must be an object"),
        ),
        // integers: no fraction, no exponent, in range
        (order("1200", "1200.0"), dead(d, "no fraction or exponent")),
        (order("1200", "1.2e3"), dead(d, "no fraction or exponent")),
        (
            order("1200", "4294967296"),
            dead(d, "data.weight_kg must be a u32"),
        ),
        (order("1200", "-1"), dead(d, "data.weight_kg must be a u32")),
        (
            order("1200", "99999999999999999999999"),
            dead(d, "data.weight_kg"),
        ),
        // contract figures may be 0, never negative; currency three capital letters
        (
            order(r#""base_cents":15000"#, r#""base_cents":-1"#),
            dead(d, "data.contract.base_cents must be >= 0"),
        ),
        (
            order(r#""detention_free_min":30"#, r#""detention_free_min":-1"#),
            dead(d, "data.contract.detention_free_min"),
        ),
        (
            order(
                r#""detention_free_min":30"#,
                r#""detention_free_min":4294967296"#,
            ),
            dead(d, "data.contract.detention_free_min"),
        ),
        (
            order(
                r#""detention_cents_per_hour":6000"#,
                r#""detention_cents_per_hour":-6000"#,
            ),
            dead(d, "data.contract.detention_cents_per_hour"),
        ),
        (
            order(
                r#""detention_cents_per_hour":6000"#,
                r#""detention_cents_per_hour":60.5"#,
            ),
            dead(d, "data.contract.detention_cents_per_hour"),
        ),
        (
            order(r#""EUR""#, r#""eur""#),
            dead(d, "data.contract.currency must be three capital letters"),
        ),
        (
            order(r#""EUR""#, r#""EU""#),
            dead(d, "data.contract.currency"),
        ),
        (
            order(r#""EUR""#, r#""EURO""#),
            dead(d, "data.contract.currency"),
        ),
        (
            order(r#""EUR""#, r#""E1R""#),
            dead(d, "data.contract.currency"),
        ),
        (
            order(r#""EUR""#, r#""ÉUR""#),
            dead(d, "data.contract.currency"),
        ),
        (
            order(r#""EUR""#, "978"),
            dead(d, "data.contract.currency must be a string"),
        ),
        // times
        (
            order("2026-11-27T09:00:00Z", "tomorrow"),
            dead(d, "data.window_start must be an RFC 3339"),
        ),
        (
            order("2026-11-27T17:00:00+01:00", "2026-11-27T17:00:00"),
            dead(d, "data.window_end must be an RFC 3339"),
        ),
        (
            order(r#""2026-11-27T09:00:00Z""#, "1795770000"),
            dead(d, "data.window_start must be a string"),
        ),
        (
            order("2026-11-27T17:00:00+01:00", "2026-11-27T08:59:59Z"),
            dead(d, "window_end is before"),
        ),
        // order.amended
        (
            shipment("order.amended", "erp/e", r#"{"order_version":1}"#),
            dead(d, "data.order_version must be an integer >= 2"),
        ),
        (
            shipment("order.amended", "erp/e", r#"{"order_version":0}"#),
            dead(d, "data.order_version"),
        ),
        (
            shipment("order.amended", "erp/e", r#"{"order_version":4294967296}"#),
            dead(d, "data.order_version"),
        ),
        (
            shipment("order.amended", "erp/e", r#"{"order_version":"2"}"#),
            dead(d, "data.order_version"),
        ),
        (
            shipment("order.amended", "erp/e", r#"{}"#),
            dead(d, "data.order_version is missing"),
        ),
        (
            shipment(
                "order.amended",
                "erp/e",
                r#"{"order_version":2,"window_start":"2026-11-27T10:00:00Z","window_end":"2026-11-27T09:00:00Z"}"#,
            ),
            dead(d, "window_end is before"),
        ),
        (
            shipment(
                "order.amended",
                "erp/e",
                r#"{"order_version":2,"window_end":"soon"}"#,
            ),
            dead(d, "data.window_end"),
        ),
        (
            shipment(
                "order.amended",
                "erp/e",
                r#"{"order_version":2,"destination":{"lat":91,"lon":0}}"#,
            ),
            dead(d, "data.destination.lat"),
        ),
        (
            shipment(
                "order.amended",
                "erp/e",
                r#"{"order_version":2,"destination":[1,2]}"#,
            ),
            dead(d, "data.destination must be an object"),
        ),
        // strings
        (
            shipment("order.cancelled", "erp/e", r#"{"reason":5}"#),
            dead(d, "data.reason must be a string"),
        ),
        (
            shipment("order.cancelled", "erp/e", r#"{}"#),
            dead(d, "data.reason is missing"),
        ),
        (
            shipment("delivery.failed", "fleet/f", r#"{"reason":["x"]}"#),
            dead(d, "data.reason must be a string"),
        ),
        (
            shipment(
                "invoice.settled",
                "erp/e",
                r#"{"invoice_id":7,"amount_cents":1}"#,
            ),
            dead(d, "data.invoice_id must be a string"),
        ),
        (
            shipment(
                "invoice.settled",
                "erp/e",
                r#"{"invoice_id":"","amount_cents":1}"#,
            ),
            dead(d, "data.invoice_id must be a non-empty"),
        ),
        // amounts > 0
        (
            shipment(
                "invoice.settled",
                "erp/e",
                r#"{"invoice_id":"i","amount_cents":0}"#,
            ),
            dead(d, "data.amount_cents must be > 0"),
        ),
        (
            shipment(
                "invoice.settled",
                "erp/e",
                r#"{"invoice_id":"i","amount_cents":-5}"#,
            ),
            dead(d, "data.amount_cents must be > 0"),
        ),
        (
            shipment(
                "invoice.settled",
                "erp/e",
                r#"{"invoice_id":"i","amount_cents":9223372036854775808}"#,
            ),
            dead(d, "data.amount_cents"),
        ),
        (
            shipment(
                "invoice.settled",
                "erp/e",
                r#"{"invoice_id":"i","amount_cents":10.5}"#,
            ),
            dead(d, "no fraction"),
        ),
        (
            shipment(
                "invoice.settled",
                "erp/e",
                r#"{"invoice_id":"i","amount_cents":"100"}"#,
            ),
            dead(d, "data.amount_cents must be an integer, got a string"),
        ),
        (
            shipment(
                "charge.added",
                "billing/b",
                r#"{"charge_id":"c","kind":"fuel","amount_cents":0,"currency":"EUR"}"#,
            ),
            dead(d, "data.amount_cents must be > 0"),
        ),
        (
            shipment(
                "invoice.issued",
                "billing/b",
                r#"{"invoice_id":"i","total_cents":0,"charge_ids":[]}"#,
            ),
            dead(d, "data.total_cents must be > 0"),
        ),
        (
            shipment(
                "invoice.issued",
                "billing/b",
                r#"{"invoice_id":"i","total_cents":-1,"charge_ids":[]}"#,
            ),
            dead(d, "data.total_cents must be > 0"),
        ),
        // route.planned ranges
        (
            shipment(
                "route.planned",
                "route/r",
                r#"{"route_id":"r","vehicle_id":18446744073709551616,"stop_index":0,"eta":"2026-11-27T10:00:00Z"}"#,
            ),
            dead(d, "data.vehicle_id must be a u64"),
        ),
        (
            shipment(
                "route.planned",
                "route/r",
                r#"{"route_id":"r","vehicle_id":-1,"stop_index":0,"eta":"2026-11-27T10:00:00Z"}"#,
            ),
            dead(d, "data.vehicle_id"),
        ),
        (
            shipment(
                "route.planned",
                "route/r",
                r#"{"route_id":"r","vehicle_id":1,"stop_index":65536,"eta":"2026-11-27T10:00:00Z"}"#,
            ),
            dead(d, "data.stop_index must be a u16"),
        ),
        (
            shipment(
                "route.planned",
                "route/r",
                r#"{"route_id":"r","vehicle_id":1,"stop_index":1e1,"eta":"2026-11-27T10:00:00Z"}"#,
            ),
            dead(d, "data.stop_index"),
        ),
        (
            shipment(
                "route.planned",
                "route/r",
                r#"{"route_id":"r","vehicle_id":1,"stop_index":1,"eta":"2026-11-27"}"#,
            ),
            dead(d, "data.eta must be an RFC 3339"),
        ),
        (
            shipment(
                "route.planned",
                "route/r",
                r#"{"route_id":5,"vehicle_id":1,"stop_index":1,"eta":"2026-11-27T10:00:00Z"}"#,
            ),
            dead(d, "data.route_id must be a string"),
        ),
        (
            shipment(
                "route.planned",
                "route/r",
                r#"{"vehicle_id":1,"stop_index":1,"eta":"2026-11-27T10:00:00Z"}"#,
            ),
            dead(d, "data.route_id is missing"),
        ),
        (
            shipment("eta.revised", "route/r", r#"{"eta":null}"#),
            dead(d, "data.eta is missing or null"),
        ),
        // stop and kind
        (
            shipment("stop.arrived", "fleet/f", r#"{"stop":"dropoff"}"#),
            dead(d, "data.stop must be \"pickup\" or \"delivery\""),
        ),
        (
            shipment("stop.departed", "fleet/f", r#"{"stop":"Pickup"}"#),
            dead(d, "data.stop"),
        ),
        (
            shipment("stop.departed", "fleet/f", r#"{"stop":1}"#),
            dead(d, "data.stop must be a string"),
        ),
        (
            shipment(
                "charge.added",
                "billing/b",
                r#"{"charge_id":"c","kind":"tip","amount_cents":1,"currency":"EUR"}"#,
            ),
            dead(d, "data.kind must be one of"),
        ),
        (
            shipment(
                "charge.added",
                "billing/b",
                r#"{"charge_id":"c","kind":"fuel","amount_cents":1,"currency":"usd"}"#,
            ),
            dead(d, "data.currency must be three capital letters"),
        ),
        (
            shipment(
                "charge.added",
                "billing/b",
                r#"{"charge_id":5,"kind":"fuel","amount_cents":1,"currency":"USD"}"#,
            ),
            dead(d, "data.charge_id must be a string"),
        ),
        (
            shipment("charge.voided", "billing/b", r#"{"charge_id":""}"#),
            dead(d, "data.charge_id must be a non-empty"),
        ),
        (
            shipment(
                "charge.voided",
                "billing/b",
                s(format!("{{\"charge_id\":\"{}\"}}", "c".repeat(129))),
            ),
            dead(d, "129 bytes"),
        ),
        // charge_ids
        (
            shipment(
                "invoice.issued",
                "billing/b",
                r#"{"invoice_id":"i","total_cents":1,"charge_ids":"c-1"}"#,
            ),
            dead(d, "data.charge_ids must be an array of strings"),
        ),
        (
            shipment(
                "invoice.issued",
                "billing/b",
                r#"{"invoice_id":"i","total_cents":1,"charge_ids":["c-1",2,"c-3"]}"#,
            ),
            dead(d, "data.charge_ids[1] must be a string"),
        ),
        (
            shipment(
                "invoice.issued",
                "billing/b",
                r#"{"invoice_id":"i","total_cents":1,"charge_ids":["c-1",""]}"#,
            ),
            dead(d, "data.charge_ids[1] must be a non-empty"),
        ),
        (
            shipment(
                "invoice.issued",
                "billing/b",
                r#"{"invoice_id":"i","total_cents":1,"charge_ids":[null]}"#,
            ),
            dead(d, "data.charge_ids[0] must be a string"),
        ),
        (
            shipment(
                "invoice.issued",
                "billing/b",
                r#"{"invoice_id":"i","total_cents":1}"#,
            ),
            dead(d, "data.charge_ids is missing"),
        ),
        // pod
        (
            shipment("shipment.delivered", "fleet/f", r#"{"pod":"J. Doe"}"#),
            dead(d, "data.pod must be an object"),
        ),
        (
            shipment("shipment.delivered", "fleet/f", r#"{"pod":{}}"#),
            dead(d, "data.pod.signed_by is missing"),
        ),
        (
            shipment(
                "shipment.delivered",
                "fleet/f",
                r#"{"pod":{"signed_by":7}}"#,
            ),
            dead(d, "data.pod.signed_by must be a string"),
        ),
        (
            shipment(
                "shipment.delivered",
                "fleet/f",
                r#"{"pod":{"signed_by":"x","photo_ref":7}}"#,
            ),
            dead(d, "data.pod.photo_ref must be a string"),
        ),
        // vehicle.position
        (
            pos(r#""52.5""#, "13", "0"),
            dead(d, "data.lat must be a number, got a string"),
        ),
        (
            pos("90.0000001", "0", "0"),
            dead(d, "data.lat must be a number in [-90, 90]"),
        ),
        (pos("-90.0000001", "0", "0"), dead(d, "data.lat")),
        (pos("90.00000001", "0", "0"), dead(d, "data.lat")),
        (pos("1e2", "0", "0"), dead(d, "data.lat")),
        (pos("1e999999999999", "0", "0"), dead(d, "data.lat")),
        (
            pos("0", "180.5", "0"),
            dead(d, "data.lon must be a number in [-180, 180]"),
        ),
        (pos("0", "-181", "0"), dead(d, "data.lon")),
        (
            pos("0", "null", "0"),
            dead(d, "data.lon is missing or null"),
        ),
        (
            pos("0", "0", "-1"),
            dead(d, "data.speed_kph must be a number >= 0"),
        ),
        (pos("0", "0", "-0.0000001"), dead(d, "data.speed_kph")),
        (pos("0", "0", "4294967.2955"), dead(d, "data.speed_kph")),
        (pos("0", "0", "1e10"), dead(d, "data.speed_kph")),
        (
            pos("0", "0", r#""60""#),
            dead(d, "data.speed_kph must be a number, got a string"),
        ),
        (
            env(&[("data", Some(r#"{"lat":0,"lon":0}"#))]),
            dead(d, "data.speed_kph is missing"),
        ),
        // duplicate keys inside data
        (
            pos("1", "2", "3").replacen(r#""lat":1"#, r#""lat":1,"lat":1"#, 1),
            dead(d, "duplicate key \"lat\" in data"),
        ),
        (
            order(r#""lat":48.137154"#, r#""lat":48.137154,"lat":1"#),
            dead(d, "duplicate key \"lat\" in data.destination"),
        ),
    ];
    for (input, want) in cases {
        check(input, want);
    }
}

#[test]
fn data_variants_accepted() {
    let cases: Vec<(String, Event)> = vec![
        // contract figures may be 0; unknown data fields are ignored
        (
            order(
                r#""base_cents":15000,"detention_free_min":30,"detention_cents_per_hour":6000"#,
                r#""base_cents":0,"detention_free_min":0,"detention_cents_per_hour":0,"note":"x""#,
            ),
            order_with(match order_body() {
                Body::OrderCreated {
                    customer_id,
                    origin,
                    destination,
                    window_start_us,
                    window_end_us,
                    weight_kg,
                    contract,
                } => Body::OrderCreated {
                    customer_id,
                    origin,
                    destination,
                    window_start_us,
                    window_end_us,
                    weight_kg,
                    contract: Contract {
                        base_cents: 0,
                        detention_free_min: 0,
                        detention_cents_per_hour: 0,
                        ..contract
                    },
                },
                _ => unreachable!(),
            }),
        ),
        // window_end equal to window_start is fine
        (
            order("2026-11-27T17:00:00+01:00", "2026-11-27T09:00:00Z"),
            order_with(match order_body() {
                Body::OrderCreated {
                    customer_id,
                    origin,
                    destination,
                    window_start_us,
                    weight_kg,
                    contract,
                    ..
                } => Body::OrderCreated {
                    customer_id,
                    origin,
                    destination,
                    window_start_us,
                    window_end_us: window_start_us,
                    weight_kg,
                    contract,
                },
                _ => unreachable!(),
            }),
        ),
        // order.amended: only window_end, null optional fields count as absent
        (
            shipment(
                "order.amended",
                "erp/sap-1",
                r#"{"order_version":2,"window_start":null,"window_end":"2026-11-27T07:00:00Z","destination":null,"extra":[1]}"#,
            ),
            order_with(Body::OrderAmended {
                order_version: 2,
                window_start_us: None,
                window_end_us: Some(T0 - HOUR),
                destination: None,
            }),
        ),
        // pod without photo, photo null, pod null
        (
            shipment(
                "shipment.delivered",
                "erp/sap-1",
                r#"{"pod":{"signed_by":"","photo_ref":null}}"#,
            )
            .replace("erp/sap-1", "fleet/v"),
            expect(
                "fleet/v",
                1001,
                Body::ShipmentDelivered {
                    pod: Some(Pod {
                        signed_by: String::new(),
                        photo_ref: None,
                    }),
                },
            ),
        ),
        (
            shipment(
                "shipment.delivered",
                "fleet/v",
                r#"{"pod":{"signed_by":"A \"B\" \u00e9"}}"#,
            ),
            expect(
                "fleet/v",
                1001,
                Body::ShipmentDelivered {
                    pod: Some(Pod {
                        signed_by: "A \"B\" é".into(),
                        photo_ref: None,
                    }),
                },
            ),
        ),
        (
            shipment("shipment.delivered", "fleet/v", r#"{"pod":null}"#),
            expect("fleet/v", 1001, Body::ShipmentDelivered { pod: None }),
        ),
        (
            shipment(
                "shipment.picked_up",
                "fleet/v",
                r#"{"note":{"deep":[1,2]}}"#,
            ),
            expect("fleet/v", 1001, Body::ShipmentPickedUp),
        ),
        // integers at their bounds
        (
            shipment(
                "invoice.settled",
                "erp/sap-1",
                r#"{"invoice_id":"i","amount_cents":9223372036854775807}"#,
            ),
            order_with(Body::InvoiceSettled {
                invoice_id: "i".into(),
                amount_cents: i64::MAX,
            }),
        ),
        (
            order("1200", "4294967295"),
            order_with(match order_body() {
                Body::OrderCreated {
                    customer_id,
                    origin,
                    destination,
                    window_start_us,
                    window_end_us,
                    contract,
                    ..
                } => Body::OrderCreated {
                    customer_id,
                    origin,
                    destination,
                    window_start_us,
                    window_end_us,
                    weight_kg: u32::MAX,
                    contract,
                },
                _ => unreachable!(),
            }),
        ),
        (
            order("1200", "-0"),
            order_with(match order_body() {
                Body::OrderCreated {
                    customer_id,
                    origin,
                    destination,
                    window_start_us,
                    window_end_us,
                    contract,
                    ..
                } => Body::OrderCreated {
                    customer_id,
                    origin,
                    destination,
                    window_start_us,
                    window_end_us,
                    weight_kg: 0,
                    contract,
                },
                _ => unreachable!(),
            }),
        ),
    ];
    for (input, event) in cases {
        check(input, ok(event));
    }
}

#[test]
fn coordinates_and_speed_are_exact() {
    type Case = (&'static str, &'static str, &'static str, (i32, i32, u32));
    let cases: &[Case] = &[
        (
            "12.3456785",
            "-12.3456785",
            "0",
            (12_345_679, -12_345_679, 0),
        ),
        (
            "12.34567849",
            "-12.34567849",
            "0",
            (12_345_678, -12_345_678, 0),
        ),
        ("0.0000005", "-0.0000005", "0.0005", (1, -1, 1)),
        ("0.00000049", "-0.00000049", "0.00049", (0, 0, 0)),
        (
            "1.5e1",
            "-1.5E+1",
            "6.15e1",
            (15_000_000, -15_000_000, 61_500),
        ),
        (
            "123456785e-7",
            "-1234567850E-8",
            "615e-1",
            (12_345_679, -12_345_679, 61_500),
        ),
        ("0.9e2", "-18e1", "0e5", (90_000_000, -180_000_000, 0)),
        ("-90", "180", "-0", (-90_000_000, 180_000_000, 0)),
        (
            "-90.0000000",
            "180.0000000",
            "-0.0",
            (-90_000_000, 180_000_000, 0),
        ),
        (
            "89.9999995",
            "-179.9999995",
            "4294967.295",
            (90_000_000, -180_000_000, u32::MAX),
        ),
        ("0", "-0.0", "4294967.2954999", (0, 0, u32::MAX)),
        ("1E-7", "-1e-1000000", "1.0005", (0, 0, 1_001)),
        (
            "45.0000015",
            "-45.0000025",
            "99.9995",
            (45_000_002, -45_000_003, 100_000),
        ),
        (
            "-89.99999949",
            "179.99999949",
            "0",
            (-89_999_999, 179_999_999, 0),
        ),
    ];
    for &(lat, lon, speed, (lat_ud, lon_ud, milli)) in cases {
        check(
            pos(lat, lon, speed),
            ok(with_body(position(lat_ud, lon_ud, milli))),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Properties

mod props {
    use super::*;
    use crate::byte_edits::{Edit, apply};
    use proptest::prelude::*;
    use waybill_core::event::{EventType, MAX_ID_BYTES, System};

    fn samples() -> Vec<String> {
        vec![
            env(&[]),
            typed("order.created", "erp/sap-1", "shipment/1001", ORDER),
            shipment(
                "order.amended",
                "erp/sap-1",
                r#"{"order_version":2,"window_start":"2026-11-27T07:00:00Z","window_end":"2026-11-27T18:00:00Z","destination":{"lat":-33.8688,"lon":151.2093}}"#,
            ),
            shipment(
                "route.planned",
                "route/opt-1",
                r#"{"route_id":"r-1","vehicle_id":9,"stop_index":3,"eta":"2026-11-27T10:30:00Z"}"#,
            ),
            shipment(
                "charge.added",
                "billing/main",
                r#"{"charge_id":"ch-1","kind":"detention","amount_cents":4500,"currency":"EUR"}"#,
            ),
            shipment(
                "invoice.issued",
                "billing/main",
                r#"{"invoice_id":"inv-1","total_cents":19500,"charge_ids":["ch-1","ch-2"]}"#,
            ),
            shipment(
                "shipment.delivered",
                "fleet/truck-7",
                r#"{"pod":{"signed_by":"J. Doe","photo_ref":"p"}}"#,
            ),
            env(&[
                ("correlationid", Some(r#""c""#)),
                (
                    "traceparent",
                    Some(r#""00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01""#),
                ),
                ("schemaversion", Some("1")),
            ]),
        ]
    }

    fn id_ok(s: &str) -> bool {
        !s.is_empty() && s.len() <= MAX_ID_BYTES
    }

    /// Every invariant an accepted event promises.
    fn revalidate(e: &Event) {
        assert!(id_ok(&e.id));
        assert!(e.sequence >= 1);
        let (system, name) = e.source.split_once('/').expect("source has a slash");
        let system = System::parse(system).expect("known system");
        assert!(!name.is_empty() && name.len() <= 64);
        assert!(
            name.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        );
        let ty = e.event_type();
        assert_eq!(ty.owner(), system);
        assert!(EventType::parse(ty.as_str()).is_some());
        if let Some(c) = &e.correlation_id {
            assert!(c.len() <= MAX_ID_BYTES);
        }
        if let Some(t) = &e.traceparent {
            assert!(t.len() >= 55 && !t.starts_with("ff"));
        }
        let geo = |g: &GeoPoint| {
            assert!((-90_000_000..=90_000_000).contains(&g.lat_ud));
            assert!((-180_000_000..=180_000_000).contains(&g.lon_ud));
        };
        let cur = |c: &[u8; 3]| assert!(c.iter().all(u8::is_ascii_uppercase));
        match &e.body {
            Body::OrderCreated {
                customer_id,
                origin,
                destination,
                window_start_us,
                window_end_us,
                contract,
                ..
            } => {
                assert!(id_ok(customer_id));
                geo(origin);
                geo(destination);
                assert!(window_end_us >= window_start_us);
                cur(&contract.currency);
                assert!(contract.base_cents >= 0 && contract.detention_cents_per_hour >= 0);
            }
            Body::OrderAmended {
                order_version,
                window_start_us,
                window_end_us,
                destination,
            } => {
                assert!(*order_version >= 2);
                if let (Some(s), Some(e)) = (window_start_us, window_end_us) {
                    assert!(e >= s);
                }
                if let Some(d) = destination {
                    geo(d);
                }
            }
            Body::InvoiceSettled {
                invoice_id,
                amount_cents,
            } => {
                assert!(id_ok(invoice_id) && *amount_cents > 0);
            }
            Body::RoutePlanned { route_id, .. } => assert!(id_ok(route_id)),
            Body::VehiclePosition { position, .. } => geo(position),
            Body::ChargeAdded {
                charge_id,
                amount_cents,
                currency,
                ..
            } => {
                assert!(id_ok(charge_id) && *amount_cents > 0);
                cur(currency);
            }
            Body::ChargeVoided { charge_id } => assert!(id_ok(charge_id)),
            Body::InvoiceIssued {
                invoice_id,
                total_cents,
                charge_ids,
            } => {
                assert!(id_ok(invoice_id) && *total_cents > 0);
                assert!(charge_ids.iter().all(|c| id_ok(c)));
            }
            _ => {}
        }
    }

    fn decode_checked(raw: &[u8]) {
        match decode(raw) {
            Entry::Event(e) => revalidate(&e),
            Entry::DeadLetter(d) => {
                assert_eq!(d.raw, &raw[..raw.len().min(MAX_EVENT_BYTES)]);
                assert_eq!(d.raw_len_bytes, raw.len() as u64);
                assert!(!d.detail.is_empty() && !d.detail.contains('\n'));
            }
            Entry::Settings(s) => panic!("decoded as settings {s:?}"),
            Entry::Notice(n) => panic!("decoded as a notice {n:?}"),
        }
    }

    fn edit() -> impl Strategy<Value = Edit> {
        let interesting = prop::sample::select(vec![
            b'"', b'{', b'}', b'[', b']', b',', b':', b'\\', b'-', b'.', b'e', b'0', b'9', b' ',
            b'n', 0xff, 0xc3, b'/',
        ]);
        prop_oneof![
            (any::<usize>(), interesting.clone()).prop_map(|(i, b)| Edit::Set(i, b)),
            (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Set(i, b)),
            (any::<usize>(), interesting).prop_map(|(i, b)| Edit::Insert(i, b)),
            any::<usize>().prop_map(Edit::Delete),
            (
                any::<usize>(),
                prop::sample::select(vec![
                    "null",
                    "1e400",
                    "-0",
                    "\"\"",
                    "[]",
                    "{}",
                    "0.5",
                    "99999999999999999999",
                    "\"x\":1,",
                    "\\u0000",
                    "\"lat\":1,",
                ])
            )
                .prop_map(|(i, s)| Edit::Splice(i, s)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        #[test]
        fn never_panics_on_arbitrary_bytes(raw in prop::collection::vec(any::<u8>(), 0..600)) {
            decode_checked(&raw);
        }

        #[test]
        fn never_panics_on_json_like_text(raw in "[{}\\[\\]\":,0-9a-z.eE+\\\\ -]{0,300}") {
            decode_checked(raw.as_bytes());
        }

        #[test]
        fn mutated_events_decode_or_dead_letter(
            which in 0usize..8,
            edits in prop::collection::vec(edit(), 1..6),
        ) {
            let sample = samples()[which].clone().into_bytes();
            let raw = apply(sample, &edits);
            decode_checked(&raw);
        }
    }

    #[test]
    fn samples_are_valid() {
        for s in samples() {
            match decode(s.as_bytes()) {
                Entry::Event(e) => revalidate(&e),
                other => panic!("{s}: {other:?}"),
            }
        }
    }
}
