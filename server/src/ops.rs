//! `GET /v1/ops`: what the dashboard shows beside the summary, as one JSON object: the
//! journal's LSNs and size, the gaps per source, the SLA targets and breaches, the
//! proof-of-delivery propagation, the effects by type and every delivery lane (backlog,
//! attempts, failures, deliveries, breaker). The same figures as `/metrics`, from the same
//! refresh ([`crate::metrics::Metrics::refresh`]): per source and per lane, never a pass over
//! the shipments.

use crate::http::{ApiError, AppState};
use crate::metrics::{EffectCounts, Figures, MAX_GAP_SOURCES, POD_BUCKETS_S, breaker_number};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::time::SystemTime;
use waybill_core::effect::{EffectType, SlaMeasure};
use waybill_core::outbox::{LaneId, LaneStatus};
use waybill_core::time::format_rfc3339_us;

/// `GET /v1/ops` (503 while the journal is being opened).
pub async fn handler(State(app): State<Arc<AppState>>) -> Result<Response, ApiError> {
    app.writer()?;
    app.metrics.refresh(&app).await;
    let f = app.metrics.figures();
    Ok(axum::Json(to_json(&f, SystemTime::now())).into_response())
}

fn rfc3339(t: SystemTime) -> Value {
    let us = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
    format_rfc3339_us(us).into()
}

fn opt_time(us: Option<i64>) -> Value {
    us.map_or(Value::Null, |us| format_rfc3339_us(us).into())
}

/// A number while it fits 64 bits, else a string of its digits (as the summary's `missing`).
fn exact(n: u128) -> Value {
    u64::try_from(n).map_or_else(|_| n.to_string().into(), Value::from)
}

/// The answer of `GET /v1/ops` for `f`, at `now`.
pub fn to_json(f: &Figures, now: SystemTime) -> Value {
    let core = f.core.as_ref();
    let counters = core.map(|c| {
        json!({
            "received": c.counters.received,
            "applied": c.counters.applied,
            "duplicates": c.counters.duplicates,
            "dead_lettered": c.counters.dead_lettered,
        })
    });
    let missing = core.map(|c| {
        let by_source: Vec<Value> = c
            .missing
            .iter()
            .map(|(s, n)| json!({ "source": s, "missing": n }))
            .collect();
        json!({
            "total": exact(c.missing_total),
            "sources_with_gaps": c.sources_with_gaps,
            "listed_at_most": MAX_GAP_SOURCES,
            "by_source": by_source,
        })
    });
    let targets: Map<String, Value> = SlaMeasure::ALL
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let t = core.and_then(|c| c.sla_targets_min[i]);
            (m.as_str().to_owned(), t.map_or(Value::Null, Value::from))
        })
        .collect();
    let breaches: Map<String, Value> = SlaMeasure::ALL
        .iter()
        .zip(f.effects.breaches)
        .map(|(m, n)| (m.as_str().to_owned(), n.into()))
        .collect();
    let lanes: Option<Vec<Value>> = core.and_then(|c| c.lanes.as_ref()).map(|lanes| {
        lanes
            .iter()
            .filter(|s| LaneId::in_use().contains(&s.lane))
            .map(lane)
            .collect()
    });
    json!({
        "as_of": rfc3339(now),
        "core_as_of": f.core_read_at.map_or(Value::Null, rfc3339),
        "core_age_ms": f.core_read_at.and_then(|t| now.duration_since(t).ok()).map(|d| d.as_millis() as u64),
        "lsn": f.lsn,
        "durable_lsn": f.durable_lsn,
        "queued_batches": f.queued_batches,
        "journal": { "size_bytes": f.journal.bytes, "segments": f.journal.segments },
        "counters": counters,
        "missing": missing,
        "sla": {
            "targets_minutes": targets,
            "breaches": breaches,
            "pod_propagation_seconds": pod(&f.effects),
        },
        "effects": effects(f),
        "delivery": {
            "running": lanes.is_some(),
            "lanes": lanes.unwrap_or_default(),
        },
    })
}

fn pod(c: &EffectCounts) -> Value {
    let buckets: Vec<Value> = POD_BUCKETS_S
        .iter()
        .map(|&b| Value::from(b))
        .chain([Value::Null])
        .zip(c.pod_buckets)
        .map(|(le, n)| json!({ "le": le, "count": n }))
        .collect();
    json!({ "count": c.pod_count, "sum": c.pod_sum_s, "buckets": buckets })
}

fn effects(f: &Figures) -> Value {
    let c = &f.effects;
    let by_type: Map<String, Value> = EffectType::ALL
        .iter()
        .zip(c.by_type)
        .map(|(t, n)| (t.as_str().to_owned(), n.into()))
        .collect();
    json!({
        "by_type": by_type,
        "effect_seq": f.core.as_ref().map(|c| c.effect_seq),
        "counted_from_seq": c.first_seq,
        "counted_to_seq": c.next_seq.saturating_sub(1),
        "skipped": c.skipped,
        "error": c.error,
    })
}

fn lane(s: &LaneStatus) -> Value {
    json!({
        "sink": s.lane.sink.as_str(),
        "class": s.lane.class.as_str(),
        "parked": s.parked,
        "breaker": s.breaker.as_str(),
        "breaker_state": breaker_number(s.breaker),
        "open_until": opt_time(s.open_until_us),
        "consecutive_failures": s.consecutive_failures,
        "trips": s.trips,
        "pending": s.pending,
        "pending_exact": s.pending_exact,
        "in_flight": s.in_flight,
        "delivered_total": s.delivered_total,
        "delivered": s.delivered,
        "attempts": s.calls,
        "failures": s.failures,
        "dead": s.dead,
        "redriving": s.redriving,
        "cursor_seq": s.cursor_seq,
        "last_error": s.last_error,
        "last_error_at": opt_time(s.last_error_us),
        "next_attempt_at": opt_time(s.next_attempt_us),
        "idle": s.idle,
    })
}
