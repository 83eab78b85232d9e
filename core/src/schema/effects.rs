//! The JSON Schema of an effect as a sink receives it: the CloudEvents 1.0 object that
//! `effect::render` writes.

use super::patterns;
use crate::effect::{EFFECT_SOURCE, EffectType, SlaMeasure};
use crate::event::{MAX_ID_BYTES, MAX_SOURCE_NAME_BYTES, System};
use crate::state::Anomalies;
use crate::validate::MAX_TRACEPARENT_BYTES;
use serde_json::{Value, json};

/// The attributes every effect carries.
const REQUIRED: [&str; 10] = [
    "specversion",
    "id",
    "source",
    "type",
    "subject",
    "time",
    "datacontenttype",
    "effectseq",
    "causelsn",
    "data",
];

/// The effect schema of `ty`.
pub(super) fn effect(ty: EffectType) -> Value {
    json!({
        "$schema": super::DIALECT,
        "$id": super::effect_schema_id(ty),
        "title": ty.as_str(),
        "description": format!(
            "{} Delivered to the {} sink ({} class), at least once, in effect_seq order within \
             its lane; receivers deduplicate on `id`. A CloudEvents 1.0 event in JSON \
             structured mode; attributes not listed here may be added later and are to be \
             ignored.",
            meaning(ty),
            ty.sink().as_str(),
            ty.class().as_str()
        ),
        "type": "object",
        "required": REQUIRED,
        "properties": envelope(ty),
    })
}

fn meaning(ty: EffectType) -> &'static str {
    match ty {
        EffectType::RouteReplanRequested => {
            "A routed, undelivered shipment's window or destination changed, or it was \
             cancelled: plan its route again."
        }
        EffectType::BillingDeliveryConfirmed => {
            "A shipment became delivered, or its delivered time, proof of delivery or \
             detention minutes changed."
        }
        EffectType::ErpInvoiceReady => {
            "The shipment is ready to invoice: delivered, with a proof of delivery, invoiced, \
             with no unbilled charge."
        }
        EffectType::AlertLateDelivery => "The shipment was delivered outside its window.",
        EffectType::AlertAnomaly => "An anomaly flag appeared on the shipment.",
        EffectType::AlertGap => "A new range of missing sequences of a source.",
        EffectType::AlertSlaBreached => "An SLA measure of the shipment passed its target.",
        EffectType::AlertLeakage => {
            "A delivered shipment's leakage (money due but not billed) became positive, or \
             changed while positive."
        }
    }
}

fn envelope(ty: EffectType) -> Value {
    let sequence = json!({"type": "integer", "minimum": 1, "maximum": u64::MAX});
    json!({
        "specversion": {"const": "1.0"},
        "id": {
            "description": "the idempotency key: the same facts give the same key",
            "type": "string", "pattern": "^[0-9a-f]{32}$",
        },
        "source": {"const": EFFECT_SOURCE},
        "type": {"const": ty.as_str()},
        "subject": subject(ty),
        "time": with_doc(utc_time(), "when the core received the event that caused it"),
        "datacontenttype": {"const": "application/json"},
        "effectseq": with_doc(sequence.clone(), "effect_seq: 1, 2, 3, ... in derivation order"),
        "causelsn": with_doc(sequence, "the journal record whose application derived it"),
        "correlationid": {
            "description": "the cause's correlationid, when it had one",
            "type": "string", "maxLength": MAX_ID_BYTES,
        },
        "traceparent": {
            "description": "the cause's traceparent, when it had one",
            "type": "string", "maxLength": MAX_TRACEPARENT_BYTES,
            "pattern": patterns::TRACEPARENT,
        },
        "data": data(ty),
    })
}

fn with_doc(mut schema: Value, doc: &str) -> Value {
    schema["description"] = Value::from(doc);
    schema
}

fn subject(ty: EffectType) -> Value {
    let pattern = match ty {
        EffectType::AlertGap => format!("^source/{}$", source_pattern()),
        _ => format!(
            "^shipment/(?:0|{})$",
            patterns::canonical_positive(u64::MAX)
        ),
    };
    json!({"type": "string", "pattern": pattern})
}

/// `<system>/<name>` of any system, unanchored.
fn source_pattern() -> String {
    let systems: Vec<&str> = System::ALL.iter().map(|s| s.as_str()).collect();
    format!(
        "(?:{})/[A-Za-z0-9._-]{{1,{MAX_SOURCE_NAME_BYTES}}}",
        systems.join("|")
    )
}

fn utc_time() -> Value {
    json!({"type": "string", "format": "date-time", "pattern": patterns::utc_time()})
}

fn or_null(schema: Value) -> Value {
    json!({"anyOf": [{"type": "null"}, schema]})
}

fn currency() -> Value {
    or_null(json!({"type": "string", "pattern": patterns::CURRENCY}))
}

fn point() -> Value {
    json!({
        "type": "object",
        "required": ["lat", "lon"],
        "properties": {
            "lat": {"type": "number", "minimum": -90, "maximum": 90},
            "lon": {"type": "number", "minimum": -180, "maximum": 180},
        },
    })
}

fn cents(min: i64) -> Value {
    json!({"type": "integer", "minimum": min, "maximum": i64::MAX})
}

/// An object whose listed members are all present (some may be null).
fn all_required(properties: Value) -> Value {
    let required: Vec<String> = properties
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    json!({"type": "object", "required": required, "properties": properties})
}

fn data(ty: EffectType) -> Value {
    let id = json!({"type": "string", "minLength": 1, "maxLength": MAX_ID_BYTES});
    all_required(match ty {
        EffectType::RouteReplanRequested => json!({
            "cancelled": {"type": "boolean"},
            "window_start": or_null(utc_time()),
            "window_end": or_null(utc_time()),
            "destination": or_null(point()),
            "vehicle_id": {"type": "integer", "minimum": 0, "maximum": u64::MAX},
        }),
        EffectType::BillingDeliveryConfirmed => json!({
            "delivered": utc_time(),
            "detention_minutes": cents(0),
            "pod": or_null(json!({
                "type": "object",
                "required": ["signed_by", "photo_ref"],
                "properties": {
                    "signed_by": {"type": "string"},
                    "photo_ref": {"type": ["string", "null"]},
                },
            })),
            "currency": currency(),
            "billed_cents": cents(0),
        }),
        EffectType::ErpInvoiceReady => json!({
            "invoice_ids": {"type": "array", "uniqueItems": true, "items": id},
            "currency": currency(),
            "billed_cents": cents(0),
        }),
        EffectType::AlertLateDelivery => json!({
            "delivered": utc_time(),
            "window_start": utc_time(),
            "window_end": utc_time(),
        }),
        EffectType::AlertAnomaly => {
            let names: Vec<&str> = Anomalies::NAMED.iter().map(|&(_, n)| n).collect();
            json!({"anomaly": {"type": "string", "enum": names}})
        }
        EffectType::AlertGap => json!({
            "source": {"type": "string", "pattern": format!("^{}$", source_pattern())},
            "first": {"type": "integer", "minimum": 1, "maximum": u64::MAX},
            "last": {"type": "integer", "minimum": 1, "maximum": u64::MAX},
            "missing": {"type": "integer", "minimum": 1, "maximum": u64::MAX},
        }),
        EffectType::AlertSlaBreached => {
            let measures: Vec<&str> = SlaMeasure::ALL.iter().map(|m| m.as_str()).collect();
            json!({
                "measure": {"type": "string", "enum": measures},
                "minutes": {"type": "integer", "minimum": i64::MIN, "maximum": i64::MAX},
                "target_minutes": {"type": "integer", "minimum": 0, "maximum": u32::MAX},
            })
        }
        EffectType::AlertLeakage => json!({
            "leakage_cents": cents(1),
            "currency": currency(),
        }),
    })
}
