//! An effect on the wire: one CloudEvents 1.0 JSON object whose `id` is the effect's key
//! (docs/effects.md, the wire form).

use super::{Effect, EffectBuf, EffectData, EffectKey, EffectSubject, EffectType, TextRef};
use crate::source::Sources;
use crate::state::Fixed;
use crate::time::format_rfc3339_us;
use serde_json::{Map, Value, json};

/// The CloudEvents `source` of every effect.
pub const EFFECT_SOURCE: &str = "/waybill";

/// An effect as the outbox stores and delivers it: what it needs to route and order the effect,
/// and the effect's CloudEvents JSON.
///
/// The fields repeat what the JSON carries (`effectseq`, `causelsn`, `time`, `type`, `id`), so
/// a sink or a listing need not parse it. The same effect has the same fields on every replay,
/// restart and redelivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EffectOut {
    /// The `effect_seq`: contiguous from 1 in derivation order over the journal's whole
    /// history (CloudEvents extension `effectseq`).
    pub seq: u64,
    /// The LSN of the journal record whose application derived the effect (extension
    /// `causelsn`). The effect is delivered only once this record is durable.
    pub cause_lsn: u64,
    /// The ingest time of that record, µs since the Unix epoch (the CloudEvents `time`).
    pub time_us: i64,
    /// The effect type, which fixes its sink and class.
    pub effect_type: EffectType,
    /// The idempotency key (the CloudEvents `id`).
    pub key: EffectKey,
    /// One CloudEvents 1.0 JSON object, no newline.
    pub json: Vec<u8>,
}

fn text(buf: &EffectBuf, r: TextRef) -> String {
    String::from_utf8_lossy(buf.text(r)).into_owned()
}

fn time(us: i64) -> Value {
    Value::String(format_rfc3339_us(us))
}

fn opt_time(us: Option<i64>) -> Value {
    us.map_or(Value::Null, time)
}

fn currency(c: Option<[u8; 3]>) -> Value {
    c.map_or(Value::Null, |c| {
        Value::String(String::from_utf8_lossy(&c).into_owned())
    })
}

/// The effect's `data` object.
fn data(buf: &EffectBuf, e: &Effect, sources: &Sources) -> Value {
    match e.data {
        EffectData::Replan {
            cancelled,
            window_start_us,
            window_end_us,
            destination,
            vehicle_id,
        } => json!({
            "cancelled": cancelled,
            "window_start": opt_time(window_start_us),
            "window_end": opt_time(window_end_us),
            "destination": destination.map(|d| json!({
                "lat": Fixed::degrees(d.lat_ud),
                "lon": Fixed::degrees(d.lon_ud),
            })),
            "vehicle_id": vehicle_id,
        }),
        EffectData::DeliveryConfirmed {
            delivered_us,
            detention_minutes,
            pod_signed_by,
            pod_photo_ref,
            currency: c,
            billed_cents,
        } => json!({
            "delivered": time(delivered_us),
            "detention_minutes": detention_minutes,
            "pod": pod_signed_by.map(|s| json!({
                "signed_by": text(buf, s),
                "photo_ref": pod_photo_ref.map(|p| text(buf, p)),
            })),
            "currency": currency(c),
            "billed_cents": billed_cents,
        }),
        EffectData::InvoiceReady {
            invoice_ids,
            currency: c,
            billed_cents,
        } => {
            let ids: Vec<Value> = buf
                .text(invoice_ids)
                .split(|&b| b == 0)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(String::from_utf8_lossy(s).into_owned()))
                .collect();
            json!({ "invoice_ids": ids, "currency": currency(c), "billed_cents": billed_cents })
        }
        EffectData::LateDelivery {
            delivered_us,
            window_start_us,
            window_end_us,
        } => json!({
            "delivered": time(delivered_us),
            "window_start": time(window_start_us),
            "window_end": time(window_end_us),
        }),
        EffectData::Anomaly { flag } => json!({ "anomaly": flag.names().first().copied() }),
        EffectData::Gap { first, last } => {
            let source = match e.subject {
                EffectSubject::Source(s) => sources.name(s),
                EffectSubject::Shipment(_) => "",
            };
            json!({ "source": source, "first": first, "last": last, "missing": last - first + 1 })
        }
        EffectData::SlaBreached {
            measure,
            minutes,
            target_min,
        } => json!({
            "measure": measure.as_str(),
            "minutes": minutes,
            "target_minutes": target_min,
        }),
        EffectData::Leakage {
            leakage_cents,
            currency: c,
        } => json!({ "leakage_cents": leakage_cents, "currency": currency(c) }),
    }
}

/// The CloudEvents `subject` of an effect: `shipment/<id>`, or `source/<name>` for a gap.
pub fn subject(e: &Effect, sources: &Sources) -> String {
    match e.subject {
        EffectSubject::Shipment(id) => format!("shipment/{id}"),
        EffectSubject::Source(s) => format!("source/{}", sources.name(s)),
    }
}

/// Renders `e` (derived into `buf`, its sources interned in `sources`) as the outbox stores it.
#[doc(hidden)]
pub fn render(buf: &EffectBuf, e: &Effect, sources: &Sources) -> EffectOut {
    let mut m = Map::new();
    m.insert("specversion".into(), "1.0".into());
    m.insert("id".into(), e.key.to_hex().into());
    m.insert("source".into(), EFFECT_SOURCE.into());
    m.insert("type".into(), e.effect_type.as_str().into());
    m.insert("subject".into(), subject(e, sources).into());
    m.insert("time".into(), time(e.time_us));
    m.insert("datacontenttype".into(), "application/json".into());
    m.insert("effectseq".into(), e.seq.into());
    m.insert("causelsn".into(), e.cause_lsn.into());
    if let Some(c) = e.correlation_id {
        m.insert("correlationid".into(), text(buf, c).into());
    }
    if let Some(t) = e.traceparent {
        m.insert("traceparent".into(), text(buf, t).into());
    }
    m.insert("data".into(), data(buf, e, sources));
    let json = serde_json::to_vec(&Value::Object(m)).expect("a JSON value always serializes");
    debug_assert!(!json.contains(&b'\n'));
    EffectOut {
        seq: e.seq,
        cause_lsn: e.cause_lsn,
        time_us: e.time_us,
        effect_type: e.effect_type,
        key: e.key,
        json,
    }
}
