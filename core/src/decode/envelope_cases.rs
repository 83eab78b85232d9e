//! The CloudEvents 1.0 rules of the envelope ([`super::envelope`]) as tables of cases, each
//! decoded by both paths (the fast scanner and the general parser) with the same result: an
//! edit of a valid event, and how it must end.

use super::tests::same_both_ways;
use crate::event::{DeadLetterReason, Entry};

/// How a case must end.
#[derive(Clone, Copy, Debug)]
enum Want {
    /// Applied: the same event as the unedited one (the rules never change the event).
    Applied,
    /// Dead-lettered for this reason, with this fragment in the detail.
    Dead(DeadLetterReason, &'static str),
}

use Want::Applied;

const fn envelope(fragment: &'static str) -> Want {
    Want::Dead(DeadLetterReason::InvalidEnvelope, fragment)
}

/// The attributes of a valid event, in order: (name, raw JSON value).
const BASE: [(&str, &str); 8] = [
    ("specversion", r#""1.0""#),
    ("id", r#""e-1""#),
    ("source", r#""fleet/truck-7""#),
    ("sequence", r#""7""#),
    ("type", r#""vehicle.position""#),
    ("time", r#""2018-04-05T17:31:00Z""#),
    ("subject", r#""vehicle/42""#),
    ("data", r#"{"lat":52.52,"lon":13.405,"speed_kph":61.5}"#),
];

/// The base event with `edits` applied in order: `(name, Some(value))` replaces the value of
/// an attribute of the base event in place, or adds the attribute at the end; `(name, None)`
/// removes it. Names and values are raw JSON text (a name without its quotes).
fn event(edits: &[(&str, Option<&str>)]) -> String {
    let mut attrs: Vec<(String, String)> = BASE
        .iter()
        .map(|&(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    for &(name, value) in edits {
        let at = attrs.iter().position(|(k, _)| k == name);
        match (at, value) {
            (Some(i), Some(v)) => attrs[i].1 = v.to_owned(),
            (Some(i), None) => drop(attrs.remove(i)),
            (None, Some(v)) => attrs.push((name.to_owned(), v.to_owned())),
            (None, None) => panic!("no attribute {name} to remove"),
        }
    }
    let members: Vec<String> = attrs.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
    format!("{{{}}}", members.join(","))
}

/// Decodes `raw` both ways and checks the entry against `want`; `case` names it in failures.
fn check(case: &str, raw: &str, want: Want) {
    let entry = same_both_ways(raw.as_bytes());
    match (want, &entry) {
        (Want::Applied, Entry::Event(e)) => {
            let base = same_both_ways(event(&[]).as_bytes());
            assert_eq!(Entry::Event(e.clone()), base, "{case}: {raw}");
        }
        (Want::Dead(reason, fragment), Entry::DeadLetter(d)) => {
            assert_eq!(d.reason, reason, "{case}: {raw}: {}", d.detail);
            assert!(
                d.detail.contains(fragment),
                "{case}: {raw}: detail {:?} lacks {fragment:?}",
                d.detail
            );
            assert!(!d.detail.contains('\n'), "{case}: one line: {:?}", d.detail);
        }
        _ => panic!("{case}: {raw}: want {want:?}, got {entry:?}"),
    }
}

/// Cases as (name, edits of the base event, outcome).
type Case = (
    &'static str,
    &'static [(&'static str, Option<&'static str>)],
    Want,
);

fn check_cases(cases: &[Case]) {
    for &(case, edits, want) in cases {
        check(case, &event(edits), want);
    }
}

#[test]
fn envelope_rules() {
    const EXT_NAME: &str = "must be named with lowercase letters and digits (CloudEvents 1.0)";
    const MEDIA: &str = "attribute `datacontenttype` must be a JSON media type";
    const URI: &str = "attribute `dataschema` must be a non-empty absolute URI (RFC 3986)";
    const B64: &str = "attribute `data_base64` is not accepted";
    let cases: &[Case] = &[
        ("base", &[], Applied),
        // 1. data_base64: refused whatever its value.
        (
            "b64",
            &[("data_base64", Some(r#""eyJ4IjoxfQ==""#))],
            envelope(B64),
        ),
        ("b64 null", &[("data_base64", Some("null"))], envelope(B64)),
        ("b64 object", &[("data_base64", Some("{}"))], envelope(B64)),
        (
            "b64 before the other rules",
            &[
                ("Bad", Some("1.5")),
                ("datacontenttype", Some(r#""xyz""#)),
                ("data_base64", Some("null")),
            ],
            envelope(B64),
        ),
        // 2. datacontenttype: JSON, with parameters.
        (
            "ct",
            &[("datacontenttype", Some(r#""application/json""#))],
            Applied,
        ),
        (
            "ct case",
            &[("datacontenttype", Some(r#""Application/JSON""#))],
            Applied,
        ),
        ("ct null", &[("datacontenttype", Some("null"))], Applied),
        (
            "ct params",
            &[(
                "datacontenttype",
                Some(r#""application/json ;charset=utf-8; profile=\"https://x.test/p\"""#),
            )],
            Applied,
        ),
        (
            "ct escaped",
            &[("datacontenttype", Some(r#""application\/json""#))],
            Applied,
        ),
        (
            "ct xyz",
            &[("datacontenttype", Some(r#""xyz""#))],
            envelope("got \"xyz\""),
        ),
        (
            "ct empty",
            &[("datacontenttype", Some(r#""""#))],
            envelope("got \"\""),
        ),
        (
            "ct text",
            &[("datacontenttype", Some(r#""text/plain""#))],
            envelope(MEDIA),
        ),
        (
            "ct xml",
            &[("datacontenttype", Some(r#""application/xml""#))],
            envelope(MEDIA),
        ),
        (
            "ct suffix",
            &[("datacontenttype", Some(r#""application/cloudevents+json""#))],
            envelope(MEDIA),
        ),
        (
            "ct param",
            &[("datacontenttype", Some(r#""application/json;""#))],
            envelope(MEDIA),
        ),
        (
            "ct number",
            &[("datacontenttype", Some("42"))],
            envelope("got a number"),
        ),
        (
            "ct before dataschema",
            &[
                ("dataschema", Some(r#""""#)),
                ("datacontenttype", Some("[]")),
            ],
            envelope(
                "`datacontenttype` must be a JSON media type (`application/json`, optionally with parameters), got an array",
            ),
        ),
        // 3. dataschema: an absolute URI.
        (
            "ds",
            &[("dataschema", Some(r#""https://x.test/s.json""#))],
            Applied,
        ),
        (
            "ds urn",
            &[("dataschema", Some(r#""urn:waybill:position:v1""#))],
            Applied,
        ),
        ("ds null", &[("dataschema", Some("null"))], Applied),
        ("ds empty", &[("dataschema", Some(r#""""#))], envelope(URI)),
        (
            "ds relative",
            &[("dataschema", Some(r#""/s.json""#))],
            envelope("got \"/s.json\""),
        ),
        (
            "ds space",
            &[("dataschema", Some(r#""https://x.test/a b""#))],
            envelope(URI),
        ),
        (
            "ds escape",
            &[("dataschema", Some(r#""https://x.test/%zz""#))],
            envelope(URI),
        ),
        (
            "ds number",
            &[("dataschema", Some("7"))],
            envelope("got a number"),
        ),
        (
            "ds before extensions",
            &[("Bad", Some("1")), ("dataschema", Some("true"))],
            envelope("`dataschema` must be a non-empty absolute URI (RFC 3986), got a boolean"),
        ),
        // 4. Extension attributes: names, then values, in document order.
        ("ext string", &[("ext", Some(r#""text""#))], Applied),
        ("ext empty string", &[("ext", Some(r#""""#))], Applied),
        (
            "ext bool",
            &[("ext", Some("true")), ("ext2", Some("false"))],
            Applied,
        ),
        (
            "ext integer",
            &[("ext", Some("10")), ("n0", Some("-0"))],
            Applied,
        ),
        ("ext min", &[("ext", Some("-2147483648"))], Applied),
        ("ext max", &[("ext", Some("2147483647"))], Applied),
        (
            "ext capitalized",
            &[("MyExtension", Some(r#""bad""#))],
            envelope("extension attribute \"MyExtension\" must be named with lowercase"),
        ),
        (
            "ext punctuated",
            &[("my.extension", Some("1"))],
            envelope(EXT_NAME),
        ),
        (
            "ext dash",
            &[("x-vendor", Some("1"))],
            envelope("\"x-vendor\""),
        ),
        (
            "ext underscore",
            &[("x_vendor", Some("1"))],
            envelope(EXT_NAME),
        ),
        (
            "ext empty name",
            &[("", Some("1"))],
            envelope("extension attribute \"\" must be named"),
        ),
        (
            "ext upper ID",
            &[("ID", Some(r#""e-2""#))],
            envelope("\"ID\""),
        ),
        (
            "ext escaped name",
            &[(r"\u0046oo", Some("1"))],
            envelope("\"Foo\""),
        ),
        (
            "ext fraction",
            &[("ext", Some("1.5"))],
            envelope(
                "extension attribute `ext` must be a string, a boolean or an integer in \
                 [-2147483648, 2147483647], got a number with a fraction",
            ),
        ),
        (
            "ext 1.0",
            &[("ext", Some("1.0"))],
            envelope("got a number with a fraction"),
        ),
        (
            "ext exponent",
            &[("ext", Some("1e3"))],
            envelope("got a number with an exponent"),
        ),
        (
            "ext above",
            &[("ext", Some("2147483648"))],
            envelope("got 2147483648"),
        ),
        (
            "ext below",
            &[("ext", Some("-2147483649"))],
            envelope("got -2147483649"),
        ),
        (
            "ext huge",
            &[("ext", Some("123456789012345678901"))],
            envelope("got 1234"),
        ),
        (
            "ext null",
            &[("ext", Some("null"))],
            envelope(
                "`ext` must be a string, a boolean or an integer in [-2147483648, 2147483647], got null",
            ),
        ),
        (
            "ext object",
            &[("ext", Some(r#"{"a":1}"#))],
            envelope("got an object"),
        ),
        (
            "ext array",
            &[("ext", Some("[]"))],
            envelope("got an array"),
        ),
        (
            "ext name first",
            &[("Ext", Some("1.5"))],
            envelope(EXT_NAME),
        ),
        (
            "ext document order",
            &[
                ("ok", Some("1")),
                ("second", Some("null")),
                ("Third", Some("1")),
            ],
            envelope("`second`"),
        ),
        (
            "ext document order, names",
            &[("First", Some("1")), ("second", Some("null"))],
            envelope("\"First\""),
        ),
        // Nine extension attributes: more than the fast path keeps.
        (
            "ext nine",
            &[
                ("a1", Some("1")),
                ("a2", Some("1")),
                ("a3", Some("1")),
                ("a4", Some("1")),
                ("a5", Some("1")),
                ("a6", Some("1")),
                ("a7", Some("1")),
                ("a8", Some("1")),
                ("a9", Some("1")),
            ],
            Applied,
        ),
        (
            "ext nine, the last broken",
            &[
                ("a1", Some("1")),
                ("a2", Some("1")),
                ("a3", Some("1")),
                ("a4", Some("1")),
                ("a5", Some("1")),
                ("a6", Some("1")),
                ("a7", Some("1")),
                ("a8", Some("1")),
                ("a9", Some("1.5")),
            ],
            envelope("`a9`"),
        ),
        // Where the rules stand among the other checks.
        (
            "after traceparent",
            &[("Bad", Some("1")), ("traceparent", Some(r#""00-x""#))],
            envelope("attribute `traceparent`"),
        ),
        (
            "after data",
            &[("data_base64", Some("null")), ("data", Some(r#""text""#))],
            envelope("attribute `data` must be a JSON object"),
        ),
        (
            "before unknown_type",
            &[("type", Some(r#""nope""#)), ("Bad", Some("1"))],
            envelope(EXT_NAME),
        ),
        (
            "payload keys have no such rules",
            &[(
                "data",
                Some(r#"{"lat":52.52,"lon":13.405,"speed_kph":61.5,"X-y":null,"f":1.5}"#),
            )],
            Applied,
        ),
    ];
    check_cases(cases);
}

/// A key given twice is refused before the rules look at any extension attribute.
#[test]
fn duplicate_extension_is_a_duplicate() {
    let raw = event(&[("ext", Some("1")), ("Bad", Some("1")), ("twice", Some("2"))]);
    check(
        "duplicate",
        &raw.replace("twice", "ext"),
        envelope("duplicate key \"ext\" in the event object"),
    );
}

/// The JSON-format conformance cases of the CloudEvents project (repository
/// `cloudevents/conformance`, files `format/json/valid-events.json` and
/// `format/json/invalid-events.json`), each moved onto a valid Waybill event: the attributes
/// the case is about replace or join the event's own; where the case leaves out a required
/// attribute, so does the event. Where Waybill is stricter than CloudEvents (a `source` of
/// its own form, `time` and `subject` required, `data` a JSON object of JSON content), the
/// outcome is Waybill's and the comment says so.
#[test]
fn cloudevents_conformance() {
    let cases: &[Case] = &[
        // valid-events.json
        ("validMinimal", &[], Applied),
        (
            "validMinimalWithNullForOptional",
            &[
                ("datacontenttype", Some("null")),
                ("dataschema", Some("null")),
            ],
            Applied,
        ),
        // `subject` and `time` are required by Waybill: null is missing.
        (
            "validMinimalWithNullForOptional (subject)",
            &[("subject", Some("null"))],
            envelope("required attribute `subject` is missing or null"),
        ),
        (
            "validMinimalWithNullForOptional (time)",
            &[("time", Some("null"))],
            envelope("required attribute `time` is missing or null"),
        ),
        // `data` is a JSON object: `text/plain` cannot describe it.
        (
            "validAllCoreAttributes",
            &[
                ("datacontenttype", Some(r#""text/plain""#)),
                ("dataschema", Some(r#""https://cloudevents.io/dataschema""#)),
            ],
            envelope("got \"text/plain\""),
        ),
        (
            "validAllCoreAttributes (JSON content)",
            &[
                ("datacontenttype", Some(r#""application/json""#)),
                ("dataschema", Some(r#""https://cloudevents.io/dataschema""#)),
            ],
            Applied,
        ),
        (
            "validMinimalWithTimeUtc",
            &[("time", Some(r#""2018-04-05T17:31:00Z""#))],
            Applied,
        ),
        (
            "validMinimalWithTimeToNanosecondsUtc",
            &[("time", Some(r#""2018-04-05T17:31:00.000000000Z""#))],
            Applied,
        ),
        (
            "validMinimalWithTimeUsingPositiveOffset",
            &[("time", Some(r#""2018-04-05T18:31:00+01:00""#))],
            Applied,
        ),
        (
            "validMinimalWithTimeUsingNegativeOffset",
            &[("time", Some(r#""2018-04-05T16:31:00-01:00""#))],
            Applied,
        ),
        // A source is `<system>/<name>`.
        (
            "validRelativeSource",
            &[("source", Some(r##""#fragment""##))],
            envelope("source"),
        ),
        // `data` is a JSON object.
        (
            "validSimpleTextData",
            &[
                ("datacontenttype", Some(r#""text/plain""#)),
                ("data", Some(r#""Simple text""#)),
            ],
            envelope("attribute `data` must be a JSON object, got a string"),
        ),
        (
            "validAllExtensionTypes",
            &[
                ("extinteger", Some("10")),
                ("extboolean", Some("true")),
                ("extstring", Some(r#""text""#)),
                ("exturi", Some(r#""https://cloudevents.io""#)),
                ("exturiref", Some(r#""//authority/path""#)),
                ("exttimestamp", Some(r#""2023-03-31T15:12:00Z""#)),
                ("extbinary", Some(r#""TWE=""#)),
            ],
            Applied,
        ),
        // invalid-events.json
        (
            "invalidNoSpecVersion",
            &[("specversion", None)],
            envelope("required attribute `specversion`"),
        ),
        (
            "invalidNoId",
            &[("id", None)],
            envelope("required attribute `id`"),
        ),
        (
            "invalidNoType",
            &[("type", None)],
            envelope("required attribute `type`"),
        ),
        (
            "invalidNoSource",
            &[("source", None)],
            envelope("required attribute `source`"),
        ),
        (
            "invalidTimeGarbage",
            &[("time", Some(r#""lunchtime""#))],
            envelope("`time`"),
        ),
        (
            "invalidTimeToMinute",
            &[("time", Some(r#""2018-04-05T18:31Z""#))],
            envelope("`time`"),
        ),
        (
            "invalidTimeOffsetX",
            &[("time", Some(r#""2018-04-05T18:31:00X""#))],
            envelope("`time`"),
        ),
        (
            "invalidTimeOffsetOutOfRange",
            &[("time", Some(r#""2018-04-05T18:31:00+25:00""#))],
            envelope("`time`"),
        ),
        (
            "invalidTimeOffsetNonInteger",
            &[("time", Some(r#""2018-04-05T18:31:00+xx:00""#))],
            envelope("`time`"),
        ),
        (
            "invalidTimeOffsetHourOnly",
            &[("time", Some(r#""2018-04-05T18:31:00+05""#))],
            envelope("`time`"),
        ),
        (
            "invalidEmptyId",
            &[("id", Some(r#""""#))],
            envelope("attribute `id`"),
        ),
        // An empty type is a string naming no type Waybill knows: refused one check later.
        (
            "invalidEmptyType",
            &[("type", Some(r#""""#))],
            Want::Dead(DeadLetterReason::UnknownType, "unknown event type \"\""),
        ),
        (
            "invalidEmptySource",
            &[("source", Some(r#""""#))],
            envelope("source"),
        ),
        (
            "invalidEmptySpecVersion",
            &[("specversion", Some(r#""""#))],
            envelope("attribute `specversion`"),
        ),
        (
            "invalidUnknownSpecVersion",
            &[("specversion", Some(r#""0.9""#))],
            envelope("attribute `specversion`"),
        ),
        (
            "invalidNonRfc2046DataContentType",
            &[("datacontenttype", Some(r#""xyz""#))],
            envelope("attribute `datacontenttype` must be a JSON media type"),
        ),
        (
            "invalidEmptyDataContentType",
            &[("datacontenttype", Some(r#""""#))],
            envelope("attribute `datacontenttype` must be a JSON media type"),
        ),
        (
            "invalidEmptyDataSchema",
            &[("dataschema", Some(r#""""#))],
            envelope("attribute `dataschema` must be a non-empty absolute URI"),
        ),
        (
            "invalidEmptySubject",
            &[("subject", Some(r#""""#))],
            envelope("attribute `subject`"),
        ),
        (
            "invalidNumericId",
            &[("id", Some("25"))],
            envelope("attribute `id` must be a string"),
        ),
        (
            "invalidObjectId",
            &[("id", Some(r#"{ "xyz": "abc" }"#))],
            envelope("attribute `id` must be a string, got an object"),
        ),
        (
            "invalidCapitalizedExtension",
            &[("MyExtension", Some(r#""bad""#))],
            envelope("extension attribute \"MyExtension\" must be named"),
        ),
        (
            "invalidPunctuatedExtension",
            &[("my.extension", Some(r#""bad""#))],
            envelope("extension attribute \"my.extension\" must be named"),
        ),
        // The name is checked before the value.
        (
            "invalidNonIntegerExtensionValue",
            &[("my.extension", Some("1.5"))],
            envelope("extension attribute \"my.extension\" must be named"),
        ),
        (
            "invalidNonIntegerExtensionValue (named well)",
            &[("myextension", Some("1.5"))],
            envelope("extension attribute `myextension` must be a string, a boolean or an integer"),
        ),
        (
            "invalidBothDataAndDataBase64",
            &[("data_base64", Some(r#""eyAieHl6IjogMTIzIH0=""#))],
            envelope("attribute `data_base64` is not accepted"),
        ),
        // The case's own `data` is a string, which Waybill refuses first.
        (
            "invalidBothDataAndDataBase64 (text data)",
            &[
                ("data", Some(r#""text""#)),
                ("data_base64", Some(r#""eyAieHl6IjogMTIzIH0=""#)),
            ],
            envelope("attribute `data` must be a JSON object"),
        ),
    ];
    check_cases(cases);
}
