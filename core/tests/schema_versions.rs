//! Schema versions (docs/events.md): `vehicle.position` and `charge.added` version 2 are upcast
//! to the canonical form when decoded, every other version of every type is
//! `unsupported_schema_version`, and the encoder writes each version back.

use proptest::prelude::*;
use waybill_core::decode::decode;
use waybill_core::encode::{encode_event, encode_event_as, event_to_json, min_version};
use waybill_core::event::{
    Body, CURRENCY_MINOR_UNITS, ChargeKind, DeadLetterReason as R, Entry, Event, EventType,
    GeoPoint,
};

/// 2026-11-27T08:00:00Z
const T0_US: i64 = 1_795_766_400_000_000;

enum Want {
    Body(Body),
    /// The reason, and a piece of text the detail must contain.
    Dead(R, &'static str),
}

fn event(source: &str, subject: u64, body: Body) -> Event {
    Event {
        id: "e-1".into(),
        source: source.into(),
        sequence: 7,
        time_us: T0_US,
        subject,
        correlation_id: None,
        traceparent: None,
        body,
    }
}

/// An event of `ty` with `schemaversion` (raw JSON, or none) and `data` (raw JSON).
fn line(ty: EventType, version: Option<&str>, data: &str) -> String {
    let (source, subject) = match ty.owner().as_str() {
        "fleet" if ty == EventType::VehiclePosition => ("fleet/truck-7", "vehicle/42"),
        "fleet" => ("fleet/truck-7", "shipment/42"),
        "erp" => ("erp/sap", "shipment/42"),
        "route" => ("route/opt", "shipment/42"),
        _ => ("billing/main", "shipment/42"),
    };
    let version = version.map_or(String::new(), |v| format!(",\"schemaversion\":{v}"));
    format!(
        r#"{{"specversion":"1.0","id":"e-1","source":"{source}","sequence":"7","type":"{}","time":"2026-11-27T08:00:00Z","subject":"{subject}"{version},"data":{data}}}"#,
        ty.as_str()
    )
}

fn check(input: &str, want: Want) {
    match (decode(input.as_bytes()), want) {
        (Entry::Event(e), Want::Body(body)) => assert_eq!(e.body, body, "input: {input}"),
        (Entry::DeadLetter(d), Want::Dead(reason, needle)) => {
            assert_eq!(d.reason, reason, "input: {input}\ndetail: {}", d.detail);
            assert!(
                d.detail.contains(needle),
                "detail {:?} lacks {needle:?}; input: {input}",
                d.detail
            );
        }
        (Entry::Event(e), Want::Dead(reason, _)) => {
            panic!("expected {reason:?}, got {:?}; input: {input}", e.body)
        }
        (Entry::DeadLetter(d), Want::Body(_)) => {
            panic!(
                "expected an event, got {:?} ({}); input: {input}",
                d.reason, d.detail
            )
        }
        (other, _) => panic!("unexpected entry {other:?}; input: {input}"),
    }
}

fn position(speed_kph_milli: u32, heading_deg: Option<u16>, accuracy_mm: Option<u32>) -> Body {
    Body::VehiclePosition {
        position: GeoPoint {
            lat_ud: 52_520_000,
            lon_ud: 13_405_000,
        },
        speed_kph_milli,
        heading_deg,
        accuracy_mm,
    }
}

fn charge(amount_cents: i64, currency: &str) -> Body {
    Body::ChargeAdded {
        charge_id: "c-1".into(),
        kind: ChargeKind::Fuel,
        amount_cents,
        currency: currency.as_bytes().try_into().unwrap(),
    }
}

#[test]
fn vehicle_position_version_2() {
    use Want::{Body as B, Dead as D};
    let pos = |rest: &str| {
        line(
            EventType::VehiclePosition,
            Some("2"),
            &format!(r#"{{"lat":52.52,"lon":13.405{rest}}}"#),
        )
    };
    let cases: Vec<(String, Want)> = vec![
        (pos(r#","speed_mps":13.9"#), B(position(50_040, None, None))),
        (pos(r#","speed_mps":0"#), B(position(0, None, None))),
        (
            pos(r#","speed_mps":1.5e1"#),
            B(position(54_000, None, None)),
        ),
        // 0.00125 m/s is 4.5 thousandths of a km/h exactly: half away from zero.
        (pos(r#","speed_mps":0.00125"#), B(position(5, None, None))),
        (pos(r#","speed_mps":0.00124"#), B(position(4, None, None))),
        (
            pos(r#","speed_mps":17.083333,"heading_deg":359,"accuracy_m":4.5"#),
            B(position(61_500, Some(359), Some(4_500))),
        ),
        (
            pos(r#","speed_mps":1,"heading_deg":0,"accuracy_m":0"#),
            B(position(3_600, Some(0), Some(0))),
        ),
        (
            pos(r#","speed_mps":1,"heading_deg":null,"accuracy_m":0.0005"#),
            B(position(3_600, None, Some(1))),
        ),
        // Version 1's field means nothing in version 2.
        (
            pos(r#","speed_mps":1,"speed_kph":99"#),
            B(position(3_600, None, None)),
        ),
        // The largest speed the canonical form holds, and one past it.
        (
            pos(r#","speed_mps":1193046.470833"#),
            B(position(u32::MAX, None, None)),
        ),
        (
            pos(r#","speed_mps":1193046.471"#),
            D(R::InvalidData, "data.speed_mps"),
        ),
        (
            pos(r#","speed_kph":61.5"#),
            D(R::InvalidData, "data.speed_mps is missing"),
        ),
        (
            pos(r#","speed_mps":-1"#),
            D(R::InvalidData, "data.speed_mps must be a number >= 0"),
        ),
        (
            pos(r#","speed_mps":"13.9""#),
            D(R::InvalidData, "data.speed_mps must be a number"),
        ),
        (
            pos(r#","speed_mps":1,"heading_deg":360"#),
            D(R::InvalidData, "data.heading_deg"),
        ),
        (
            pos(r#","speed_mps":1,"heading_deg":-1"#),
            D(R::InvalidData, "data.heading_deg"),
        ),
        (
            pos(r#","speed_mps":1,"heading_deg":1.5"#),
            D(R::InvalidData, "data.heading_deg"),
        ),
        (
            pos(r#","speed_mps":1,"heading_deg":"90""#),
            D(R::InvalidData, "data.heading_deg"),
        ),
        (
            pos(r#","speed_mps":1,"accuracy_m":-0.5"#),
            D(R::InvalidData, "data.accuracy_m"),
        ),
        (
            pos(r#","speed_mps":1,"accuracy_m":true"#),
            D(R::InvalidData, "data.accuracy_m"),
        ),
        (
            pos(r#","speed_mps":1,"accuracy_m":4294967.2955"#),
            D(R::InvalidData, "data.accuracy_m"),
        ),
        // Version 1 knows nothing of `speed_mps`.
        (
            line(
                EventType::VehiclePosition,
                None,
                r#"{"lat":1,"lon":2,"speed_mps":3}"#,
            ),
            D(R::InvalidData, "data.speed_kph is missing"),
        ),
        (
            line(
                EventType::VehiclePosition,
                Some("1"),
                r#"{"lat":52.52,"lon":13.405,"speed_kph":61.5,"heading_deg":999}"#,
            ),
            B(position(61_500, None, None)),
        ),
    ];
    for (input, want) in cases {
        check(&input, want);
    }
}

#[test]
fn charge_added_version_2() {
    use Want::{Body as B, Dead as D};
    let ch = |value: &str, currency: &str| {
        line(
            EventType::ChargeAdded,
            Some("2"),
            &format!(
                r#"{{"charge_id":"c-1","kind":"fuel","amount":{{"value":{value},"currency":{currency}}}}}"#
            ),
        )
    };
    let cases: Vec<(String, Want)> = vec![
        (ch(r#""12.50""#, r#""EUR""#), B(charge(1_250, "EUR"))),
        (ch(r#""12.5""#, r#""EUR""#), B(charge(1_250, "EUR"))),
        (ch(r#""12""#, r#""EUR""#), B(charge(1_200, "EUR"))),
        (ch(r#""0.01""#, r#""USD""#), B(charge(1, "USD"))),
        (ch(r#""1200""#, r#""JPY""#), B(charge(1_200, "JPY"))),
        (ch(r#""5000""#, r#""KRW""#), B(charge(5_000, "KRW"))),
        (ch(r#""1.234""#, r#""BHD""#), B(charge(1_234, "BHD"))),
        (ch(r#""0.001""#, r#""KWD""#), B(charge(1, "KWD"))),
        (ch(r#""2.5""#, r#""OMR""#), B(charge(2_500, "OMR"))),
        (ch(r#""1.0001""#, r#""CLF""#), B(charge(10_001, "CLF"))),
        // A code ISO 4217 does not list counts 2 digits.
        (ch(r#""3.10""#, r#""XAU""#), B(charge(310, "XAU"))),
        (
            ch(r#""92233720368547758.07""#, r#""EUR""#),
            B(charge(i64::MAX, "EUR")),
        ),
        (
            ch(r#""92233720368547758.08""#, r#""EUR""#),
            D(R::InvalidData, "data.amount.value must be > 0"),
        ),
        (ch(r#""12.5""#, r#""JPY""#), D(R::InvalidData, "JPY has 0")),
        (
            ch(r#""12.505""#, r#""EUR""#),
            D(R::InvalidData, "EUR has 2"),
        ),
        (
            ch(r#""1.2345""#, r#""KWD""#),
            D(R::InvalidData, "KWD has 3"),
        ),
        (
            ch(r#""0.00""#, r#""EUR""#),
            D(R::InvalidData, "must be > 0"),
        ),
        (ch(r#""0""#, r#""JPY""#), D(R::InvalidData, "must be > 0")),
        (
            ch(r#""-1.00""#, r#""EUR""#),
            D(R::InvalidData, "decimal string"),
        ),
        (
            ch(r#""012.50""#, r#""EUR""#),
            D(R::InvalidData, "decimal string"),
        ),
        (
            ch(r#""12.""#, r#""EUR""#),
            D(R::InvalidData, "decimal string"),
        ),
        (
            ch(r#"".5""#, r#""EUR""#),
            D(R::InvalidData, "decimal string"),
        ),
        (
            ch(r#""1e3""#, r#""EUR""#),
            D(R::InvalidData, "decimal string"),
        ),
        (ch(r#""""#, r#""EUR""#), D(R::InvalidData, "decimal string")),
        (
            ch("12.5", r#""EUR""#),
            D(R::InvalidData, "data.amount.value must be a string"),
        ),
        (
            ch(r#""12.50""#, r#""eur""#),
            D(R::InvalidData, "data.amount.currency"),
        ),
        (
            ch(r#""12.50""#, "null"),
            D(R::InvalidData, "data.amount.currency is missing"),
        ),
        (
            line(
                EventType::ChargeAdded,
                Some("2"),
                r#"{"charge_id":"c-1","kind":"fuel","amount_cents":1250,"currency":"EUR"}"#,
            ),
            D(R::InvalidData, "data.amount is missing"),
        ),
        (
            line(
                EventType::ChargeAdded,
                Some("2"),
                r#"{"charge_id":"c-1","kind":"fuel","amount":"12.50"}"#,
            ),
            D(R::InvalidData, "data.amount must be an object"),
        ),
        (
            line(
                EventType::ChargeAdded,
                Some("2"),
                r#"{"charge_id":"c-1","kind":"tip","amount":{"value":"1","currency":"EUR"}}"#,
            ),
            D(R::InvalidData, "data.kind"),
        ),
    ];
    for (input, want) in cases {
        check(&input, want);
    }
}

#[test]
fn other_versions_are_unsupported() {
    use Want::Dead as D;
    let cases: Vec<(String, Want)> = vec![
        (
            line(EventType::OrderCancelled, Some("2"), r#"{"reason":"x"}"#),
            D(
                R::UnsupportedSchemaVersion,
                "schemaversion 2 of order.cancelled is not supported (it has 1)",
            ),
        ),
        (
            line(EventType::ChargeAdded, Some("3"), "{}"),
            D(R::UnsupportedSchemaVersion, "(it has 1 and 2)"),
        ),
        (
            line(EventType::VehiclePosition, Some("0"), "{}"),
            D(R::UnsupportedSchemaVersion, "schemaversion 0"),
        ),
        (
            line(EventType::VehiclePosition, Some("4294967298"), "{}"),
            D(R::UnsupportedSchemaVersion, "schemaversion 4294967298"),
        ),
    ];
    for (input, want) in cases {
        check(&input, want);
    }
    for ty in EventType::ALL {
        assert_eq!(
            ty.versions()[0],
            1,
            "{ty:?}: version 1 is the canonical form"
        );
        assert!(ty.versions().is_sorted());
    }
}

/// The encoder's choice: version 1 unless the event holds what only version 2 says; a version
/// the type lacks, or one that cannot carry the event, is refused.
#[test]
fn the_encoder_picks_and_refuses_versions() {
    let plain = event("fleet/truck-7", 42, position(61_500, None, None));
    let headed = event("fleet/truck-7", 42, position(61_500, Some(90), None));
    assert_eq!(min_version(&plain.body), 1);
    assert_eq!(min_version(&headed.body), 2);
    assert!(!event_to_json(&plain).contains("schemaversion"));
    assert!(event_to_json(&headed).contains(r#""schemaversion":2"#));
    let mut out = Vec::new();
    assert!(!encode_event_as(&headed, 1, &mut out));
    assert!(!encode_event_as(&plain, 3, &mut out));
    let cancel = event("erp/sap", 42, Body::OrderCancelled { reason: "x".into() });
    assert!(!encode_event_as(&cancel, 2, &mut out));
    assert!(out.is_empty(), "a refusal writes nothing");
}

fn round_trip(e: &Event, version: u32) -> Event {
    let mut out = Vec::new();
    assert!(encode_event_as(e, version, &mut out));
    match decode(&out) {
        Entry::Event(got) => got,
        other => panic!("{other:?} from {}", String::from_utf8_lossy(&out)),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Every speed survives version 2's m/s exactly, and heading and accuracy are kept.
    #[test]
    fn positions_round_trip_through_version_2(
        speed in any::<u32>(),
        heading in proptest::option::of(0u16..=359),
        accuracy in proptest::option::of(any::<u32>()),
    ) {
        let e = event("fleet/truck-7", 42, position(speed, heading, accuracy));
        prop_assert_eq!(&round_trip(&e, 2), &e);
        let mut out = Vec::new();
        encode_event(&e, &mut out);
        prop_assert_eq!(decode(&out), Entry::Event(e.clone()));
        if heading.is_none() && accuracy.is_none() {
            prop_assert_eq!(&round_trip(&e, 1), &e);
        }
    }

    /// Every amount survives version 2's decimal string in its currency's minor units.
    #[test]
    fn charges_round_trip_through_version_2(
        amount in 1i64..=i64::MAX,
        which in 0usize..CURRENCY_MINOR_UNITS.len() + 2,
    ) {
        let currency = match which {
            0 => "EUR",
            1 => "USD",
            n => CURRENCY_MINOR_UNITS[n - 2].0,
        };
        let e = event("billing/main", 42, charge(amount, currency));
        prop_assert_eq!(&round_trip(&e, 2), &e);
        prop_assert_eq!(&round_trip(&e, 1), &e);
    }
}
