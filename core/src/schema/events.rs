//! The JSON Schema of a whole event (envelope and `data`) of one type and version.

use super::fields::{Field, Kind, payload_fields};
use super::patterns;
use crate::event::{CURRENCY_MINOR_UNITS, EventType, MAX_ID_BYTES, SubjectKind};
use crate::validate::MAX_TRACEPARENT_BYTES;
use serde_json::{Map, Value, json};

/// The event schema of `ty` in `version`; `None` when the type has no such version.
pub(super) fn event(ty: EventType, version: u32) -> Option<Value> {
    let fields = payload_fields(ty, version)?;
    // The decoder's own list: the two cannot disagree on what is required.
    let mut required: Vec<&str> = crate::decode::required_attributes().to_vec();
    if version >= 2 {
        required.push("schemaversion");
    }
    Some(json!({
        "$schema": super::DIALECT,
        "$id": super::event_schema_id(ty, version),
        "title": format!("{} (version {version})", ty.as_str()),
        "description": description(ty, version),
        "type": "object",
        "required": required,
        "propertyNames": {"pattern": patterns::ATTRIBUTE_NAME},
        "properties": envelope(ty, version, fields),
        "additionalProperties": extension(),
    }))
}

/// What an event of `ty` means, who sends it, about what, and how its version is marked.
fn description(ty: EventType, version: u32) -> String {
    let owner = ty.owner().as_str();
    let kind = ty.subject_kind().as_str();
    let marked = if version == 1 {
        "Version 1, the canonical form: `schemaversion` absent, null or 1.".to_owned()
    } else {
        format!("Version {version}: `schemaversion` {version}; the core upcasts it to version 1.")
    };
    format!(
        "{} Only the {owner} system emits it (`source` `{owner}/<name>`); it is about a {kind} \
         (`subject` `{kind}/<id>`). {marked} A CloudEvents 1.0 event in JSON structured mode, \
         one per line or in a batch array; an event that breaks this schema is dead-lettered.",
        meaning(ty)
    )
}

fn meaning(ty: EventType) -> &'static str {
    match ty {
        EventType::OrderCreated => {
            "A customer ordered a transport: version 1 of every order field."
        }
        EventType::OrderAmended => "The order changed: a later version of some order fields.",
        EventType::OrderCancelled => "The order was cancelled.",
        EventType::InvoiceSettled => "An invoice of the shipment was paid.",
        EventType::RoutePlanned => "The shipment was put on a tour.",
        EventType::EtaRevised => "A new estimated arrival.",
        EventType::VehiclePosition => "A telematics ping of a vehicle.",
        EventType::StopArrived => "The vehicle reached the pickup or delivery stop.",
        EventType::StopDeparted => "The vehicle left the pickup or delivery stop.",
        EventType::ShipmentPickedUp => "The goods were loaded.",
        EventType::ShipmentDelivered => "The goods were delivered.",
        EventType::DeliveryFailed => "A delivery attempt failed.",
        EventType::ChargeAdded => "A charge on the shipment.",
        EventType::ChargeVoided => "A charge withdrawn.",
        EventType::InvoiceIssued => "An invoice listing charges of the shipment.",
    }
}

/// The envelope attributes, `data` among them.
fn envelope(ty: EventType, version: u32, fields: &[Field]) -> Value {
    let kind = match ty.subject_kind() {
        SubjectKind::Shipment => "shipment",
        SubjectKind::Vehicle => "vehicle",
    };
    json!({
        "specversion": {"description": "CloudEvents version", "const": "1.0"},
        "id": {
            "description": "the producer's id of the event (dedupe uses source and sequence)",
            "type": "string", "minLength": 1, "maxLength": MAX_ID_BYTES,
        },
        "source": {
            "description": "the producer: the owning system and a name",
            "type": "string", "pattern": patterns::source(ty.owner()),
        },
        "sequence": {
            "description": "the source's number of the event, 1, 2, 3, ... as a decimal string",
            "type": "string", "pattern": patterns::sequence(),
        },
        "type": {"description": "the event type", "const": ty.as_str()},
        "time": described(time(), "when it happened at the source"),
        "subject": {
            "description": format!("the {kind} the event is about"),
            "type": "string", "pattern": patterns::subject(kind),
        },
        "data": described(object(fields), "the payload"),
        "schemaversion": schema_version(version),
        "correlationid": {
            "description": "carried for tracing",
            "type": ["string", "null"], "maxLength": MAX_ID_BYTES,
        },
        "traceparent": nullable(traceparent(), "W3C trace context, carried for tracing"),
        "datacontenttype": nullable(
            json!({"type": "string", "pattern": patterns::datacontenttype()}),
            "the media type of data: JSON",
        ),
        "dataschema": nullable(
            json!({"type": "string", "pattern": patterns::DATASCHEMA}),
            "a URI of the schema data adheres to",
        ),
    })
}

fn schema_version(version: u32) -> Value {
    if version == 1 {
        json!({"description": "the payload's version: 1 (the default)", "enum": [null, 1]})
    } else {
        json!({"description": "the payload's version", "const": version})
    }
}

fn traceparent() -> Value {
    json!({
        "type": "string",
        "maxLength": MAX_TRACEPARENT_BYTES,
        "pattern": patterns::TRACEPARENT,
        "not": {"pattern": patterns::TRACEPARENT_ZERO_IDS},
    })
}

/// Any other attribute (a CloudEvents extension): a string, a boolean or a 32-bit integer.
fn extension() -> Value {
    json!({
        "description": "a CloudEvents extension: a string, a boolean or a 32-bit integer",
        "type": ["string", "boolean", "integer"],
        "minimum": i32::MIN,
        "maximum": i32::MAX,
    })
}

/// `schema` with a description.
fn described(mut schema: Value, doc: &str) -> Value {
    schema["description"] = Value::from(doc);
    schema
}

/// `schema`, or `null` (which the decoder reads as absent).
fn nullable(schema: Value, doc: &str) -> Value {
    json!({"description": doc, "anyOf": [{"type": "null"}, schema]})
}

/// An object of `fields`; members not listed are allowed (the decoder ignores them).
fn object(fields: &[Field]) -> Value {
    let mut properties = Map::new();
    for f in fields {
        let schema = kind(f.kind);
        let schema = if f.required {
            described(schema, f.doc)
        } else {
            nullable(schema, f.doc)
        };
        properties.insert(f.name.to_owned(), schema);
    }
    let required: Vec<&str> = fields
        .iter()
        .filter(|f| f.required)
        .map(|f| f.name)
        .collect();
    json!({"type": "object", "required": required, "properties": properties})
}

fn time() -> Value {
    json!({"type": "string", "format": "date-time", "pattern": patterns::time()})
}

fn integer(min: i128, max: i128) -> Value {
    json!({"type": "integer", "minimum": number(min), "maximum": number(max)})
}

/// A JSON integer of `v`, which fits an `i64` or a `u64`.
fn number(v: i128) -> Value {
    match i64::try_from(v) {
        Ok(v) => Value::from(v),
        Err(_) => Value::from(u64::try_from(v).expect("schema bounds fit an i64 or a u64")),
    }
}

/// The bound, exclusive, of a number kept in thousandths rounded half away from zero in a
/// `u32`: any value below `(u32::MAX + 0.5) / 1000` fits.
fn thousandths_exclusive_max() -> f64 {
    (f64::from(u32::MAX) + 0.5) / 1000.0
}

fn kind(k: Kind) -> Value {
    match k {
        Kind::Id => json!({"type": "string", "minLength": 1, "maxLength": MAX_ID_BYTES}),
        Kind::Text { max_bytes } => json!({"type": "string", "maxLength": max_bytes}),
        Kind::Time => time(),
        Kind::Latitude => json!({"type": "number", "minimum": -90, "maximum": 90}),
        Kind::Longitude => json!({"type": "number", "minimum": -180, "maximum": 180}),
        Kind::Integer { min, max } => integer(min, max),
        Kind::PositiveCents => {
            json!({"type": "integer", "exclusiveMinimum": 0, "maximum": i64::MAX})
        }
        Kind::NonNegativeCents => integer(0, i64::MAX.into()),
        Kind::Currency => json!({"type": "string", "pattern": patterns::CURRENCY}),
        Kind::Enum(values) => json!({"type": "string", "enum": values}),
        Kind::Thousandths => json!({
            "type": "number", "minimum": 0, "exclusiveMaximum": thousandths_exclusive_max(),
        }),
        // m/s x 3600 in thousandths of a km/h: (u32::MAX + 0.5) / 3600, a repeating decimal
        // written to float precision.
        Kind::SpeedMps => json!({
            "type": "number", "minimum": 0, "exclusiveMaximum": thousandths_exclusive_max() / 3.6,
        }),
        Kind::Object(fields) => object(fields),
        Kind::IdList { max_items } => {
            json!({"type": "array", "maxItems": max_items, "items": kind(Kind::Id)})
        }
        Kind::Money => money(),
    }
}

/// `{value, currency}`: the value a decimal string > 0 with at most the currency's minor-unit
/// digits after the point.
fn money() -> Value {
    json!({
        "type": "object",
        "required": ["value", "currency"],
        "properties": {
            "value": {
                "description": "a decimal string, e.g. \"12.50\"; > 0",
                "type": "string",
                "pattern": patterns::decimal_string(None),
                "not": {"pattern": patterns::ZERO_DECIMAL},
            },
            "currency": described(kind(Kind::Currency), "the currency (ISO 4217)"),
        },
        "allOf": minor_unit_rules(),
    })
}

/// One `if`/`then` per number of minor-unit digits: the currencies of
/// [`CURRENCY_MINOR_UNITS`] with that many, and every other currency with 2.
fn minor_unit_rules() -> Vec<Value> {
    let mut digits: Vec<u32> = CURRENCY_MINOR_UNITS.iter().map(|&(_, d)| d).collect();
    digits.sort_unstable();
    digits.dedup();
    digits.retain(|&d| d != 2);
    let not_two: Vec<&str> = CURRENCY_MINOR_UNITS
        .iter()
        .filter(|&&(_, d)| d != 2)
        .map(|&(c, _)| c)
        .collect();
    let mut rules: Vec<Value> = digits
        .iter()
        .map(|&d| {
            let codes: Vec<&str> = CURRENCY_MINOR_UNITS
                .iter()
                .filter(|&&(_, n)| n == d)
                .map(|&(c, _)| c)
                .collect();
            minor_unit_rule(json!({"enum": codes}), d)
        })
        .collect();
    rules.push(minor_unit_rule(json!({"not": {"enum": not_two}}), 2));
    rules
}

fn minor_unit_rule(currency: Value, digits: u32) -> Value {
    json!({
        "if": {"required": ["currency"], "properties": {"currency": currency}},
        "then": {"properties": {"value": {"pattern": patterns::decimal_string(Some(digits))}}},
    })
}
