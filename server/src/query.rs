//! The read endpoints: summary, one shipment, its history, dead letters, effects, health.
//! State reads run on the writer thread between two batches; journal reads run on a blocking
//! thread over the journal's files and never touch the writer.

use crate::http::{ApiError, AppState};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use waybill_core::engine::{Until, replay_with};
use waybill_core::outbox::{LogReader, effects_dir};
use waybill_core::record::EntryView;
use waybill_core::time::format_rfc3339_us;

/// Most rows one list answer holds (`limit` is capped to it).
pub const MAX_ROWS: usize = 10_000;
/// Shipments and vehicles one summary request may count on the writer (about a batch's
/// work); past it the answer is 503 and the writer goes on counting while idle.
pub const SUMMARY_REFRESH_BUDGET: usize = 4_096;
/// Rows a list answer holds when `limit` is not given.
const DEFAULT_ROWS: usize = 1_000;

/// `?after=...&limit=...` of the list endpoints.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct Page {
    /// Rows after this LSN (dead letters) or `effect_seq` (effects); 0: from the first.
    #[serde(default)]
    pub after: u64,
    /// Most rows (default 1,000, at most 10,000).
    pub limit: Option<usize>,
}

impl Page {
    fn limit(&self) -> usize {
        self.limit.unwrap_or(DEFAULT_ROWS).clamp(1, MAX_ROWS)
    }
}

fn busy<T>(r: Result<T, crate::writer::Busy>) -> Result<T, ApiError> {
    r.map_err(|_| ApiError::busy("the core's queue is full"))
}

/// `GET /v1/summary`: lsn, digest, counters, gaps, money per currency, statuses, and the
/// durable LSN.
pub async fn summary(State(app): State<Arc<AppState>>) -> Result<Response, ApiError> {
    // From the running sums: a bounded step on the writer, never a pass over every shipment.
    let s = busy(
        app.writer()?
            .query(|core| {
                core.refresh_summary(SUMMARY_REFRESH_BUDGET)
                    .then(|| core.summary_cached())
                    .flatten()
            })
            .await,
    )?
    .ok_or_else(|| ApiError::unavailable("the summary is still being counted"))?;
    let mut v = serde_json::to_value(&s).expect("a summary serializes");
    v["durable_lsn"] = app.writer()?.durable_lsn().into();
    Ok(axum::Json(v).into_response())
}

/// `GET /v1/shipments/{id}`: every derived field (404 when no event named it).
pub async fn shipment(
    State(app): State<Arc<AppState>>,
    Path(id): Path<u64>,
) -> Result<Response, ApiError> {
    let view = busy(
        app.writer()?
            .query(move |core| {
                let m = core.machine();
                m.state().shipment_view(id, m.sources())
            })
            .await,
    )?;
    match view {
        Some(v) => Ok(axum::Json(v).into_response()),
        None => Err(ApiError::not_found(format!("no event named shipment {id}"))),
    }
}

/// `GET /v1/shipments/{id}/history`: every journal record that touched it, read from the
/// journal's files (what is written so far).
pub async fn history(
    State(app): State<Arc<AppState>>,
    Path(id): Path<u64>,
) -> Result<Response, ApiError> {
    let dir = app.config.journal.clone();
    let rows = tokio::task::spawn_blocking(move || waybill_core::history(&dir, id))
        .await
        .map_err(|_| ApiError::unavailable("the reader stopped"))?
        .map_err(|e| ApiError::refused(refused(&e)))?;
    let rows: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "lsn": r.lsn,
                "ingest_time": format_rfc3339_us(r.ingest_us),
                "outcome": r.outcome.as_str(),
                "type": r.event_type.as_str(),
                "source": r.source,
                "sequence": r.sequence,
                "id": r.id,
                "time": format_rfc3339_us(r.time_us),
            })
        })
        .collect();
    Ok(axum::Json(json!({ "shipment": id, "records": rows })).into_response())
}

fn refused(e: &waybill_core::Error) -> crate::writer::Refused {
    crate::writer::Refused {
        kind: e.kind(),
        message: e.to_string(),
    }
}

/// `GET /v1/dead-letters?after=LSN&limit=N`: dead letters in LSN order with reason, detail and
/// the raw bytes (`raw` when UTF-8, else `raw_base64`... here always lossy `raw`).
pub async fn dead_letters(
    State(app): State<Arc<AppState>>,
    Query(page): Query<Page>,
) -> Result<Response, ApiError> {
    let dir = app.config.journal.clone();
    let limit = page.limit();
    let after = page.after;
    let rows = tokio::task::spawn_blocking(move || {
        let mut rows = Vec::new();
        replay_with(&dir, Until::End, |v| {
            let EntryView::DeadLetter(dl) = v.entry else {
                return;
            };
            if v.lsn <= after || rows.len() >= limit {
                return;
            }
            rows.push(json!({
                "lsn": v.lsn,
                "ingest_time": format_rfc3339_us(v.ingest_us),
                "reason": dl.reason.native().as_str(),
                "detail": dl.detail.as_str(),
                "raw_len_bytes": dl.raw_len_bytes.to_native(),
                "raw": String::from_utf8_lossy(dl.raw.as_slice()),
            }));
        })
        .map(|_| rows)
    })
    .await
    .map_err(|_| ApiError::unavailable("the reader stopped"))?
    .map_err(|e| ApiError::refused(refused(&e)))?;
    let next = rows.last().and_then(|r| r["lsn"].as_u64());
    Ok(axum::Json(json!({ "dead_letters": rows, "next_after": next })).into_response())
}

/// `GET /v1/effects?after=SEQ&limit=N`: effects whose events are durable, in `effect_seq`
/// order, each the CloudEvents JSON delivered to its sink.
pub async fn effects(
    State(app): State<Arc<AppState>>,
    Query(page): Query<Page>,
) -> Result<Response, ApiError> {
    let dir = effects_dir(&app.config.journal);
    let durable = app.writer()?.durable_lsn();
    let (limit, after) = (page.limit(), page.after);
    let rows = tokio::task::spawn_blocking(move || {
        let mut reader = LogReader::open(&dir, after + 1);
        let mut rows: Vec<Value> = Vec::new();
        while rows.len() < limit {
            match reader.next_effect(durable)? {
                Some(e) => rows.push(serde_json::from_slice(&e.json).unwrap_or(Value::Null)),
                None => break,
            }
        }
        Ok::<_, waybill_core::outbox::OutboxError>(rows)
    })
    .await
    .map_err(|_| ApiError::unavailable("the reader stopped"))?
    .map_err(|e| ApiError::refused(refused(&e.into())))?;
    let next = rows.last().and_then(|r| r["effectseq"].as_u64());
    Ok(axum::Json(json!({ "effects": rows, "next_after": next })).into_response())
}

/// `GET /healthz`: the process answers.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// `GET /readyz`: 200 once the journal is open (snapshot loaded, tail replayed), else 503.
pub async fn readyz(State(app): State<Arc<AppState>>) -> Response {
    if app
        .writer
        .get()
        .is_some_and(|w| w.published().ready.load(Ordering::Acquire))
    {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "starting\n").into_response()
    }
}
