//! Decoding and validation of CloudEvents JSON (docs/events.md).
//!
//! [`decode`] turns one raw event into an [`Entry`]: a typed [`Event`], or a [`DeadLetter`]
//! naming the first check that failed, in the order of docs/events.md, dead-letter reasons:
//! `too_large`, `malformed_json`, `invalid_envelope`, `unknown_type`,
//! `unsupported_schema_version`, `ownership_violation`, `subject_mismatch`, `invalid_data`.
//!
//! One pass over the event collects every attribute as its raw JSON text (`Json`); the
//! attributes are then interpreted from their text (strings without escapes are borrowed,
//! numbers are read digit by digit, never through floats). The payload's fields are collected
//! in that same pass when `type` comes before `data`, or by a pass over `data` otherwise. The
//! pass is `scan`, a hand-written scanner that accepts only plain objects (no escapes, no
//! duplicate keys, bounded nesting) and declines everything else to the general parser
//! (`object`, serde_json), which yields the same values or the dead letter with serde_json's
//! message; the checks after it are shared, so either way the entry is the same. The only
//! allocations on the accepted path are the owned strings the [`Event`] keeps.

#[cfg(test)]
mod byte_edits;
pub(crate) mod data;
mod envelope;
#[cfg(test)]
mod envelope_cases;
mod number;
mod object;
mod scan;
#[cfg(test)]
mod tests;

use crate::event::{
    DeadLetter, DeadLetterReason, Entry, Event, EventType, MAX_EVENT_BYTES, MAX_ID_BYTES,
    SubjectKind, System,
};
use crate::time::parse_rfc3339_us;
use crate::validate::{self, MAX_DETAIL_BYTES, MAX_TRACEPARENT_BYTES};
use std::borrow::Cow;

/// The text of one JSON value as it appears in the event (no surrounding whitespace), already
/// checked to be valid JSON by the pass that found it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Json<'a> {
    text: &'a str,
    /// Known to hold no backslash (the fast path declines escapes anywhere), so a string's
    /// contents are the text between its quotes.
    plain: bool,
}

impl<'a> Json<'a> {
    /// A value found by the general parser.
    pub(crate) fn general(text: &'a str) -> Self {
        Json { text, plain: false }
    }

    /// A value found by [`scan`], which declines escapes.
    fn plain(text: &'a str) -> Self {
        Json { text, plain: true }
    }

    pub(crate) fn get(self) -> &'a str {
        self.text
    }
}

/// Decodes one raw event (a JSONL line without its newline, or one element of a batch array).
///
/// Never panics; any failure becomes [`Entry::DeadLetter`] with the first failing reason in the
/// order of docs/events.md (dead-letter reasons), the raw bytes (at most [`MAX_EVENT_BYTES`] kept)
/// and a one-line `detail` naming the field and the rule.
pub fn decode(raw: &[u8]) -> Entry {
    match decode_event(raw) {
        Ok(event) => Entry::Event(event),
        Err(fail) => dead_letter(raw, raw.len() as u64, fail),
    }
}

/// Decodes an event whose raw bytes were cut by the reader: `prefix` is what was kept,
/// `original_len_bytes` its full length. Gives a `too_large` dead letter when
/// `original_len_bytes` > [`MAX_EVENT_BYTES`]; otherwise behaves like `decode(prefix)`.
pub fn decode_truncated(prefix: &[u8], original_len_bytes: u64) -> Entry {
    if original_len_bytes > MAX_EVENT_BYTES as u64 {
        dead_letter(prefix, original_len_bytes, too_large(original_len_bytes))
    } else {
        decode(prefix)
    }
}

/// Why an event was rejected, before it is packed with its raw bytes.
#[derive(Debug)]
pub(crate) struct Fail {
    reason: DeadLetterReason,
    detail: String,
}

impl Fail {
    fn new(reason: DeadLetterReason, detail: String) -> Self {
        Fail { reason, detail }
    }
    fn envelope(detail: String) -> Self {
        Fail::new(DeadLetterReason::InvalidEnvelope, detail)
    }
    fn data(detail: String) -> Self {
        Fail::new(DeadLetterReason::InvalidData, detail)
    }
}

fn dead_letter(raw: &[u8], raw_len_bytes: u64, fail: Fail) -> Entry {
    let kept = &raw[..raw.len().min(MAX_EVENT_BYTES)];
    Entry::DeadLetter(DeadLetter {
        reason: fail.reason,
        detail: clip_to(fail.detail, MAX_DETAIL_BYTES),
        raw: kept.to_vec(),
        raw_len_bytes,
    })
}

fn too_large(len: u64) -> Fail {
    Fail::new(
        DeadLetterReason::TooLarge,
        format!("event is {len} bytes, more than the limit of {MAX_EVENT_BYTES} bytes"),
    )
}

/// The envelope attributes, in the order they are checked. Every other top-level key is an
/// extension attribute.
const ATTRIBUTES: [&str; 14] = [
    "specversion",
    "id",
    "source",
    "sequence",
    "type",
    "time",
    "subject",
    "data",
    "schemaversion",
    "correlationid",
    "traceparent",
    "data_base64",
    "datacontenttype",
    "dataschema",
];

/// The first this many of [`ATTRIBUTES`] are required (not absent, not null); the schemas
/// state the same list ([`crate::schema`]).
pub(crate) const REQUIRED_ATTRIBUTES: usize = 8;
const _: () = assert!(matches!(
    ATTRIBUTES[REQUIRED_ATTRIBUTES - 1].as_bytes(),
    b"data"
));

/// The required envelope attributes, in the order they are checked.
pub(crate) fn required_attributes() -> &'static [&'static str] {
    &ATTRIBUTES[..REQUIRED_ATTRIBUTES]
}

/// Where `data_base64` is in [`ATTRIBUTES`].
const DATA_BASE64: usize = 11;
const _: () = assert!(matches!(ATTRIBUTES[DATA_BASE64].as_bytes(), b"data_base64"));

fn decode_event(raw: &[u8]) -> Result<Event, Fail> {
    // 1. too_large
    if raw.len() > MAX_EVENT_BYTES {
        return Err(too_large(raw.len() as u64));
    }

    // 2. malformed_json: UTF-8 checked once for the whole event, then one pass over it,
    // which validates every value and rejects trailing bytes.
    let text = std::str::from_utf8(raw).map_err(|e| {
        Fail::new(
            DeadLetterReason::MalformedJson,
            format!("not valid JSON: invalid UTF-8 at byte {}", e.valid_up_to()),
        )
    })?;
    let mut values = [None; ATTRIBUTES.len()];
    let mut payload = None;
    let mut every = scan::EventRest::default();
    let found = collect_attributes(text, &mut values, &mut payload, &mut every)?;

    let [
        specversion,
        id,
        source,
        sequence,
        type_,
        time,
        subject,
        data,
        schemaversion,
        correlationid,
        traceparent,
        _data_base64,
        datacontenttype,
        dataschema,
    ] = values;

    let specversion = required_string("specversion", specversion)?;
    if specversion != "1.0" {
        return Err(Fail::envelope(format!(
            "attribute `specversion` must be \"1.0\", got {}",
            show(&specversion)
        )));
    }

    let id = required_string("id", id)?;
    if !validate::is_id(&id) {
        return Err(Fail::envelope(format!(
            "attribute `id` must be a non-empty string of at most {MAX_ID_BYTES} bytes (got {} bytes)",
            id.len()
        )));
    }

    let source = required_string("source", source)?;
    let system = parse_source(&source)?;

    let sequence_text = required_string("sequence", sequence)?;
    let sequence = parse_u64_digits(&sequence_text)
        .filter(|&s| s >= 1)
        .ok_or_else(|| {
            Fail::envelope(format!(
                "attribute `sequence` must be a decimal string of an integer >= 1 that fits u64, got {}",
                show(&sequence_text)
            ))
        })?;

    let type_ = required_string("type", type_)?;

    let time_text = required_string("time", time)?;
    let time_us = parse_rfc3339_us(&time_text).ok_or_else(|| {
        Fail::envelope(format!(
            "attribute `time` must be RFC 3339 with an offset, got {}",
            show(&time_text)
        ))
    })?;

    let subject_text = required_string("subject", subject)?;
    let (subject_kind, subject) = parse_subject(&subject_text).ok_or_else(|| {
        Fail::envelope(format!(
            "attribute `subject` must be `shipment/<u64>` or `vehicle/<u64>`, got {}",
            show(&subject_text)
        ))
    })?;

    let data = required("data", data)?;
    if !data.get().starts_with('{') {
        return Err(Fail::envelope(format!(
            "attribute `data` must be a JSON object, got {}",
            json_kind(data)
        )));
    }

    // The version itself is checked after the type (step 5); here only that it is an integer.
    // `Err` holds a version no type has (negative, or past u32), to name in the dead letter.
    let version: Result<u32, Json<'_>> = match schemaversion {
        None => Ok(1),
        Some(v) => match number::parse_int(v.get().as_bytes()) {
            Ok(number::Int {
                neg: false,
                mag: Some(m),
            }) => u32::try_from(m).map_err(|_| v),
            Ok(_) => Err(v),
            Err(_) => {
                return Err(Fail::envelope(format!(
                    "attribute `schemaversion` must be an integer, got {}",
                    show_raw(v)
                )));
            }
        },
    };

    let correlation_id = match correlationid {
        None => None,
        Some(v) => match as_string(v) {
            Some(s) if s.len() <= MAX_ID_BYTES => Some(s.into_owned()),
            Some(s) => {
                return Err(Fail::envelope(format!(
                    "attribute `correlationid` must be at most {MAX_ID_BYTES} bytes (got {} bytes)",
                    s.len()
                )));
            }
            None => return Err(wrong_type("correlationid", "a string", v)),
        },
    };

    let traceparent = match traceparent {
        None => None,
        Some(v) => match as_string(v) {
            Some(s) if validate::is_traceparent(&s) => Some(s.into_owned()),
            Some(s) => {
                return Err(Fail::envelope(format!(
                    "attribute `traceparent` must be a W3C trace context \
                     (`00-<32 hex>-<16 hex>-<2 hex>`, lowercase, ids not all zeros, at most \
                     {MAX_TRACEPARENT_BYTES} bytes), got {}",
                    show(&s)
                )));
            }
            None => return Err(wrong_type("traceparent", "a string", v)),
        },
    };

    // The CloudEvents 1.0 rules for what Waybill gives no meaning to.
    found.check(text, &every, datacontenttype, dataschema)?;

    // 4. unknown_type
    let event_type = EventType::parse(&type_).ok_or_else(|| {
        Fail::new(
            DeadLetterReason::UnknownType,
            format!("unknown event type {}", show(&type_)),
        )
    })?;

    // 5. unsupported_schema_version
    let version = match version {
        Ok(v) if event_type.versions().contains(&v) => v,
        _ => {
            let shown = schemaversion.map_or_else(|| "1".to_owned(), show_raw);
            return Err(Fail::new(
                DeadLetterReason::UnsupportedSchemaVersion,
                format!(
                    "schemaversion {shown} of {} is not supported (it has {})",
                    event_type.as_str(),
                    versions_text(event_type.versions())
                ),
            ));
        }
    };

    // 6. ownership_violation
    let owner = event_type.owner();
    if system != owner {
        return Err(Fail::new(
            DeadLetterReason::OwnershipViolation,
            format!(
                "{} events are owned by {}, not by source {}",
                event_type.as_str(),
                owner.as_str(),
                show(&source)
            ),
        ));
    }

    // 7. subject_mismatch
    let kind = event_type.subject_kind();
    if subject_kind != kind {
        return Err(Fail::new(
            DeadLetterReason::SubjectMismatch,
            format!(
                "{} needs a `{}/<id>` subject, got {}",
                event_type.as_str(),
                kind.as_str(),
                show(&subject_text)
            ),
        ));
    }

    // 8. invalid_data
    let body = data::decode_body(event_type, version, data, payload.as_ref())?;

    let event = Event {
        id: id.into_owned(),
        source: source.into_owned(),
        sequence,
        time_us,
        subject,
        correlation_id,
        traceparent,
        body,
    };
    // The payload rules the JSON reading above did not check already (size limits of the
    // payload's strings and lists). The envelope and the owner were checked above with the
    // validator's own predicates, so the whole validator agrees.
    validate::payload(&event.body).map_err(|invalid| Fail::new(invalid.reason, invalid.detail))?;
    debug_assert_eq!(validate::event(&event), Ok(()));
    Ok(event)
}

/// [`scan::collect`]: the fast path for the fields of an object, `None` when it declines.
#[inline]
fn fast_collect<'a, const N: usize>(
    text: &'a str,
    names: &[&'static str; N],
) -> Option<[Option<Json<'a>>; N]> {
    #[cfg(test)]
    if tests::GENERAL_ONLY.with(std::cell::Cell::get) {
        return None;
    }
    scan::collect(text, names)
}

/// The attributes of the event into `values` (and `payload` when the fast path collected
/// `data`'s fields), by the fast path or else the general parser, with what the CloudEvents
/// rules need besides: the unknown keys into `every` from the fast path (left empty by the
/// general one), and [`envelope::Found`]. Everything is empty on entry.
fn collect_attributes<'a>(
    text: &'a str,
    values: &mut [Option<Json<'a>>; ATTRIBUTES.len()],
    payload: &mut Option<data::Payload<'a>>,
    every: &mut scan::EventRest,
) -> Result<envelope::Found<'a>, Fail> {
    if fast_collect_event(text, values, payload, every).is_some() {
        return Ok(envelope::Found {
            data_base64: every.present & (1 << DATA_BASE64) != 0,
            first_broken: None,
        });
    }
    let fields = envelope_fields(text)?;
    *values = fields.values;
    *payload = None;
    *every = scan::EventRest::default();
    Ok(envelope::Found {
        data_base64: fields.present[DATA_BASE64],
        first_broken: fields.broken_extension,
    })
}

/// [`scan::collect_event`] over the envelope: the fast path for the whole event, `None` when
/// it declines.
#[inline]
fn fast_collect_event<'a>(
    text: &'a str,
    values: &mut [Option<Json<'a>>; ATTRIBUTES.len()],
    payload: &mut Option<data::Payload<'a>>,
    rest: &mut scan::EventRest,
) -> Option<()> {
    #[cfg(test)]
    if tests::GENERAL_ONLY.with(std::cell::Cell::get) {
        return None;
    }
    const KEYS: scan::EventKeys = scan::EventKeys {
        type_index: 4,
        data_index: 7,
    };
    const { assert!(matches!(ATTRIBUTES[4].as_bytes(), b"type")) };
    const { assert!(matches!(ATTRIBUTES[7].as_bytes(), b"data")) };
    scan::collect_event(text, &ATTRIBUTES, &KEYS, values, payload, rest)
}

/// The envelope attributes by the general parser: serde_json's messages for malformed JSON,
/// escapes, duplicate keys. Used when [`scan::collect`] declines the event.
fn envelope_fields(text: &str) -> Result<object::Fields<'_, { ATTRIBUTES.len() }>, Fail> {
    let mut de = serde_json::Deserializer::from_str(text);
    let fields = object::collect_event(&mut de, &ATTRIBUTES)
        .and_then(|f| de.end().map(|()| f))
        .map_err(|e| {
            let what = match e.classify() {
                serde_json::error::Category::Data => "not a JSON object",
                _ => "not valid JSON",
            };
            Fail::new(
                DeadLetterReason::MalformedJson,
                clip(format!("{what}: {e}")),
            )
        })?;

    // 3. invalid_envelope
    if let Some(key) = fields.duplicate {
        return Err(Fail::envelope(format!(
            "duplicate key {} in the event object",
            show(&key)
        )));
    }
    Ok(fields)
}

/// `1`, `1 and 2`, `1, 2 and 3`.
fn versions_text(versions: &[u32]) -> String {
    let mut out = String::new();
    for (i, v) in versions.iter().enumerate() {
        if i > 0 {
            out.push_str(if i + 1 == versions.len() {
                " and "
            } else {
                ", "
            });
        }
        out.push_str(&v.to_string());
    }
    out
}

fn required<'a>(name: &str, v: Option<Json<'a>>) -> Result<Json<'a>, Fail> {
    v.ok_or_else(|| Fail::envelope(format!("required attribute `{name}` is missing or null")))
}

fn required_string<'a>(name: &str, v: Option<Json<'a>>) -> Result<Cow<'a, str>, Fail> {
    let v = required(name, v)?;
    as_string(v).ok_or_else(|| wrong_type(name, "a string", v))
}

fn wrong_type(name: &str, want: &str, got: Json<'_>) -> Fail {
    Fail::envelope(format!(
        "attribute `{name}` must be {want}, got {}",
        json_kind(got)
    ))
}

/// `<system>/<name>`: the system of record, and a name of `[A-Za-z0-9._-]{1,64}`.
fn parse_source(source: &str) -> Result<System, Fail> {
    validate::source_system(source).map_err(Fail::envelope)
}

/// A non-empty run of ASCII digits that fits a `u64`.
fn parse_u64_digits(s: &str) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for b in s.bytes() {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(v)
}

fn parse_subject(s: &str) -> Option<(SubjectKind, u64)> {
    if let Some(n) = s.strip_prefix("shipment/") {
        Some((SubjectKind::Shipment, parse_u64_digits(n)?))
    } else if let Some(n) = s.strip_prefix("vehicle/") {
        Some((SubjectKind::Vehicle, parse_u64_digits(n)?))
    } else {
        None
    }
}

/// The text of a JSON string value: borrowed when it has no escapes. `None` when `v` is not a
/// string.
pub(crate) fn as_string(v: Json<'_>) -> Option<Cow<'_, str>> {
    let text = v.get();
    if !text.starts_with('"') {
        return None;
    }
    if (v.plain || !text.as_bytes().contains(&b'\\')) && text.len() >= 2 {
        // The parser has already checked the string (quotes, UTF-8, no control characters).
        return Some(Cow::Borrowed(&text[1..text.len() - 1]));
    }
    serde_json::from_str::<String>(text).ok().map(Cow::Owned)
}

/// What kind of JSON value `v` is, for messages.
pub(crate) fn json_kind(v: Json<'_>) -> &'static str {
    match v.get().as_bytes().first() {
        Some(b'"') => "a string",
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a number",
    }
}

/// A value quoted for a one-line message, cut to a readable length.
pub(crate) fn show(s: &str) -> String {
    const MAX_CHARS: usize = 80;
    let mut out: String = s.chars().take(MAX_CHARS).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    format!("{out:?}")
}

/// A message cut to a readable length (parser messages may quote a whole string).
fn clip(mut message: String) -> String {
    const MAX_BYTES: usize = 200;
    if message.len() > MAX_BYTES {
        let mut cut = MAX_BYTES;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
        message.push('…');
    }
    message
}

/// `message` cut at a character boundary so that, with an ellipsis, it is at most
/// `max_bytes` long (a dead letter's detail: [`MAX_DETAIL_BYTES`]).
fn clip_to(mut message: String, max_bytes: usize) -> String {
    const ELLIPSIS_BYTES: usize = '…'.len_utf8();
    if message.len() > max_bytes {
        let mut cut = max_bytes - ELLIPSIS_BYTES;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
        message.push('…');
    }
    message
}

/// A raw JSON value for a one-line message.
pub(crate) fn show_raw(v: Json<'_>) -> String {
    let text = v.get();
    if text.len() <= 80 && !text.contains('\n') {
        text.to_owned()
    } else {
        show(text)
    }
}
