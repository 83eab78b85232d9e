//! The fast path ([`super::scan`]) against the general parser: on any input, decoding with
//! and without it gives the same entry (the same event, or the same reason and detail).

use super::byte_edits::{Edit, apply};
use super::{ATTRIBUTES, decode, scan};
use proptest::prelude::*;
use std::cell::Cell;

thread_local! {
    /// Set by these tests to decode with the general parser only.
    pub(super) static GENERAL_ONLY: Cell<bool> = const { Cell::new(false) };
}

pub(super) fn decode_general(raw: &[u8]) -> crate::event::Entry {
    GENERAL_ONLY.with(|g| g.set(true));
    let entry = decode(raw);
    GENERAL_ONLY.with(|g| g.set(false));
    entry
}

/// The entry `raw` decodes to, after checking that both paths give it.
pub(super) fn same_both_ways(raw: &[u8]) -> crate::event::Entry {
    let fast = decode(raw);
    let general = decode_general(raw);
    assert_eq!(fast, general, "input: {}", String::from_utf8_lossy(raw));
    fast
}

fn line(ty: &str, source: &str, subject: &str, data: &str) -> String {
    format!(
        r#"{{"specversion":"1.0","id":"e-1","source":"{source}","sequence":"7","type":"{ty}","time":"2026-11-27T08:00:00.123456Z","subject":"{subject}","data":{data}}}"#
    )
}

fn samples() -> Vec<String> {
    let s = "shipment/1001";
    vec![
        line(
            "vehicle.position",
            "fleet/veh-1",
            "vehicle/42",
            r#"{"lat":52.52,"lon":-13.405,"speed_kph":61.5}"#,
        ),
        line(
            "order.created",
            "erp/sap-1",
            s,
            r#"{"customer_id":"c-1","origin":{"lat":48.1,"lon":11.5},"destination":{"lat":52.5,"lon":13.4},"window_start":"2026-11-27T08:00:00Z","window_end":"2026-11-27T18:00:00+01:00","weight_kg":1200,"contract":{"currency":"EUR","base_cents":15000,"detention_free_min":60,"detention_cents_per_hour":4500}}"#,
        ),
        line(
            "order.amended",
            "erp/sap-1",
            s,
            r#"{"order_version":2,"window_start":"2026-11-27T07:00:00Z","window_end":null,"destination":{"lat":-33.8688,"lon":151.2093}}"#,
        ),
        line(
            "order.cancelled",
            "erp/sap-1",
            s,
            r#"{"reason":"customer request"}"#,
        ),
        line(
            "invoice.settled",
            "erp/sap-1",
            s,
            r#"{"invoice_id":"inv-1","amount_cents":19500}"#,
        ),
        line(
            "route.planned",
            "route/opt-1",
            s,
            r#"{"route_id":"r-1","vehicle_id":9,"stop_index":3,"eta":"2026-11-27T10:30:00Z"}"#,
        ),
        line(
            "eta.revised",
            "route/opt-1",
            s,
            r#"{"eta":"2026-11-27T11:30:00Z"}"#,
        ),
        line("stop.arrived", "fleet/mobile", s, r#"{"stop":"delivery"}"#),
        line("stop.departed", "fleet/mobile", s, r#"{"stop":"pickup"}"#),
        line("shipment.picked_up", "fleet/mobile", s, "{}"),
        line(
            "shipment.delivered",
            "fleet/truck-7",
            s,
            r#"{"pod":{"signed_by":"Jos\u00e9 M\u00fcller","photo_ref":"p"}}"#,
        ),
        line(
            "delivery.failed",
            "fleet/truck-7",
            s,
            r#"{"reason":"nobody home"}"#,
        ),
        line(
            "charge.added",
            "billing/main",
            s,
            r#"{"charge_id":"ch-1","kind":"detention","amount_cents":4500,"currency":"EUR"}"#,
        ),
        line(
            "charge.voided",
            "billing/main",
            s,
            r#"{"charge_id":"ch-1"}"#,
        ),
        line(
            "invoice.issued",
            "billing/main",
            s,
            r#"{"invoice_id":"inv-1","total_cents":19500,"charge_ids":["ch-1","ch-2"]}"#,
        ),
        // Optional attributes, extension attributes, another key order, whitespace.
        with_extras(EXTENSIONS),
        // Escapes: declined by the fast path, decoded by the general one.
        line(
            "order.cancelled",
            "erp/sap-1",
            s,
            r#"{"reason":"line\nbreak \"quoted\" \u00e9"}"#,
        ),
    ]
}

/// The optional attributes and extension attributes of the last plain sample.
const EXTENSIONS: &str = concat!(
    "\"xvendor\":\"a\",\"comment\" : true,\"n\":-2147483648,\"m\":2147483647,\"flag\":false,",
    "\"datacontenttype\":\"application/json; charset=utf-8\",",
    "\"dataschema\":\"https://schemas.example/vehicle.position/v1\",\"v2\":\"x y\""
);

/// An event with optional attributes, a payload field it does not define, another key order,
/// whitespace, and `extras` (attributes, `"name":value` pairs) at the end.
fn with_extras(extras: &str) -> String {
    concat!(
        " {\"data\" : {\"speed_kph\":0, \"lon\":1e1,\"lat\":-0.0000005, \"extra\":[true,false,null,{}]},",
        "\t\"type\":\"vehicle.position\",\"specversion\":\"1.0\",\"id\":\"\u{e9}\",",
        "\"source\":\"fleet/v\",\"sequence\":\"007\",\"time\":\"2026-11-27t08:00:00.1234567-05:30\",",
        "\"subject\":\"vehicle/0\",\"schemaversion\":1,\"correlationid\":\"c\",",
        "\"traceparent\":\"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\","
    )
    .to_owned()
        + extras
        + "}\r\n"
}

/// Events that break one CloudEvents rule of the envelope each (`invalid_envelope`).
fn invalid_samples() -> Vec<String> {
    [
        "\"Xvendor\":\"a\"",
        "\"x-vendor\":{\"a\":[1,2.5e-3,\"s\"]}",
        "\"note\":null",
        "\"f\":1.5",
        "\"e\":1e3",
        "\"big\":2147483648",
        "\"list\":[1]",
        "\"data_base64\":\"eyJ4IjoxfQ==\"",
        "\"data_base64\":null",
    ]
    .iter()
    .map(|bad| format!("{EXTENSIONS},{bad}"))
    .chain([
        EXTENSIONS.replace("application/json; charset=utf-8", "xyz"),
        EXTENSIONS.replace("https://schemas.example/vehicle.position/v1", ""),
    ])
    .map(|extras| with_extras(&extras))
    .collect()
}

/// Every sample, valid or not, for the mutation tests.
fn all_samples() -> Vec<String> {
    let mut all = samples();
    all.extend(invalid_samples());
    all
}

#[test]
fn invalid_samples_are_invalid_envelopes() {
    for (i, s) in invalid_samples().iter().enumerate() {
        assert!(
            scan::collect(s, &ATTRIBUTES).is_some(),
            "sample {i} is plain: {s}"
        );
        match same_both_ways(s.as_bytes()) {
            crate::event::Entry::DeadLetter(d) => assert_eq!(
                d.reason,
                crate::event::DeadLetterReason::InvalidEnvelope,
                "sample {i}: {}",
                d.detail
            ),
            other => panic!("sample {i} is invalid: {s}, got {other:?}"),
        }
    }
}

#[test]
fn fast_path_takes_plain_events() {
    for (i, s) in samples().iter().enumerate() {
        let plain = !s.contains('\\');
        assert_eq!(
            scan::collect(s, &ATTRIBUTES).is_some(),
            plain,
            "sample {i}: {s}"
        );
        same_both_ways(s.as_bytes());
        assert!(
            matches!(decode(s.as_bytes()), crate::event::Entry::Event(_)),
            "sample {i} is valid: {s}"
        );
    }
}

/// Numbers and words, valid and not, to put where a token was.
const TOKENS: [&str; 24] = [
    "0", "-0", "01", "-01", "1.", "1.5", ".5", "1e5", "1E+5", "1e-5", "1e", "1e+", "-", "--1",
    "+1", "true", "tru", "false", "null", "nulls", "NaN", "0x10", "1.5.5", "",
];

fn edit() -> impl Strategy<Value = Edit> {
    let interesting = prop::sample::select(vec![
        b'"', b'{', b'}', b'[', b']', b',', b':', b'\\', b'-', b'+', b'.', b'e', b'E', b'0', b'1',
        b'9', b' ', b'\t', b'\n', b'n', b't', b'f', 0x01, 0x1f, 0x7f, 0xff, 0xc3, 0xa9, b'/',
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
                "true",
                "1e400",
                "-0",
                "01",
                "1.",
                "\"\"",
                "[]",
                "{}",
                "[{\"a\":[]}]",
                "0.5",
                "99999999999999999999",
                "\"x\":1,",
                "\"X\":1,",
                "\"ext\":1.5,",
                "\"ext\":null,",
                "\"data_base64\":null,",
                "\"datacontenttype\":\"application/json\",",
                "\"dataschema\":\"x:y\",",
                "\"id\":\"e\",",
                "\"data\":{},",
                "\"lat\":1,",
                "\\u0000",
                "\\\"",
                " ",
            ])
        )
            .prop_map(|(i, s)| Edit::Splice(i, s)),
        (any::<usize>(), any::<usize>(), 1usize..40).prop_map(|(a, b, n)| Edit::Copy(a, b, n)),
        (any::<usize>(), prop::sample::select(TOKENS.to_vec()))
            .prop_map(|(i, t)| Edit::Token(i, t)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn mutated_events_decode_the_same_both_ways(
        sample in prop::sample::select(all_samples()),
        edits in prop::collection::vec(edit(), 1..5),
    ) {
        let raw = apply(sample.into_bytes(), &edits);
        same_both_ways(&raw);
    }

    #[test]
    fn json_like_text_decodes_the_same_both_ways(
        raw in "[{}\\[\\]\":,0-9a-z.eE+\\\\ -]{0,200}",
    ) {
        same_both_ways(raw.as_bytes());
        let wrapped = format!("{{\"data\":{raw}}}");
        same_both_ways(wrapped.as_bytes());
    }
}

/// The fast path matches expected keys byte for byte: they must need no escaping.
#[test]
fn names_are_plain() {
    let plain = |n: &str| {
        n.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    };
    let payloads = crate::event::EventType::ALL.map(super::data::names);
    for name in ATTRIBUTES.iter().chain(payloads.iter().copied().flatten()) {
        assert!(plain(name), "{name}");
    }
}
