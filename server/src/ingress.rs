//! `POST /v1/events`: CloudEvents in structured, batch or binary mode (JSON lines too), checked
//! against the caller's token, journaled as one batch, answered once durable with each
//! event's outcome and LSN.

use crate::auth::Access;
use crate::http::{ApiError, AppState};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::sync::Arc;
use std::time::Instant;
use waybill_core::event::{Entry, MAX_EVENT_BYTES};
use waybill_core::input::{InputReader, RawBatch};
use waybill_core::pipeline::EncodedBatch;
use waybill_core::{ErrorKind, Outcome};

/// How a request carries its events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `application/cloudevents+json`: the body is one event.
    Structured,
    /// `application/cloudevents-batch+json`: the body is a JSON array of events.
    Batch,
    /// `ce-*` headers carry the attributes, the body is the event's `data`.
    Binary,
    /// `application/x-ndjson` (or `application/jsonl`): one event per line.
    Lines,
}

/// The mode a request's headers say, or why none fits (415).
pub fn mode(headers: &HeaderMap) -> Result<Mode, String> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/cloudevents+json" => Ok(Mode::Structured),
        "application/cloudevents-batch+json" => Ok(Mode::Batch),
        "application/x-ndjson" | "application/jsonl" => Ok(Mode::Lines),
        _ if headers.contains_key("ce-specversion") => Ok(Mode::Binary),
        _ => Err(format!(
            "content type `{ct}`: expected application/cloudevents+json, application/cloudevents-batch+json, application/x-ndjson, or ce-* headers (binary mode)"
        )),
    }
}

/// Splits the body into raw events (at most `max_events + 1`, to tell when there are too many).
pub fn raw_events(
    mode: Mode,
    headers: &HeaderMap,
    body: &[u8],
    max_events: usize,
    raw: &mut RawBatch,
) -> Result<(), String> {
    raw.clear();
    match mode {
        Mode::Structured => push_one(raw, body),
        Mode::Binary => push_one(raw, &binary_to_structured(headers, body)),
        Mode::Batch | Mode::Lines => {
            let mut reader = InputReader::new(body);
            let mut part = RawBatch::new();
            // A read may stop short of the limit (at the reader's buffer): read to the end.
            while raw.len() <= max_events {
                let more = max_events + 1 - raw.len();
                let read = reader
                    .read_batch(&mut part, more)
                    .map_err(|e| format!("the body cannot be read as events: {e}"))?;
                if read == 0 {
                    break;
                }
                for e in part.iter() {
                    raw.push(e.bytes, e.original_len_bytes);
                }
            }
        }
    }
    Ok(())
}

fn push_one(raw: &mut RawBatch, event: &[u8]) {
    let kept = event.len().min(MAX_EVENT_BYTES);
    raw.push(&event[..kept], event.len() as u64);
}

/// A binary-mode event as the structured JSON the decoder reads: each `ce-<name>` header an
/// attribute (percent-decoded, a string), `Content-Type` the `datacontenttype`, the body the
/// `data` (verbatim when it is JSON, else a JSON string, which the decoder refuses).
pub fn binary_to_structured(headers: &HeaderMap, body: &[u8]) -> Vec<u8> {
    let mut attrs: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(name, value)| {
            let attr = name.as_str().strip_prefix("ce-")?;
            Some((attr.to_owned(), percent_decode(value.as_bytes())))
        })
        .collect();
    attrs.sort();
    let mut obj = serde_json::Map::new();
    for (k, v) in attrs {
        obj.insert(k, serde_json::Value::String(v));
    }
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    if let Some(ct) = ct {
        obj.insert("datacontenttype".into(), ct.into());
    }
    let mut out = serde_json::to_vec(&serde_json::Value::Object(obj)).expect("a JSON object");
    let json_data = serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok();
    out.pop(); // the closing brace
    if out.len() > 1 {
        out.push(b',');
    }
    out.extend_from_slice(b"\"data\":");
    if json_data {
        out.extend_from_slice(body);
    } else {
        let text = String::from_utf8_lossy(body);
        out.extend(serde_json::to_vec(&text).expect("a JSON string"));
    }
    out.push(b'}');
    out
}

fn percent_decode(v: &[u8]) -> String {
    let mut out = Vec::with_capacity(v.len());
    let mut i = 0;
    while i < v.len() {
        let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
        if v[i] == b'%'
            && i + 2 < v.len()
            && let (Some(h), Some(l)) = (hex(v[i + 1]), hex(v[i + 2]))
        {
            out.push((h << 4) | l);
            i += 3;
            continue;
        }
        out.push(v[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The source a raw event names, when it is a JSON object with a string `source` (a malformed
/// event may name none).
fn named_source(raw: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Source {
        source: Option<String>,
    }
    serde_json::from_slice::<Source>(raw).ok()?.source
}

/// One event of the answer.
#[derive(Serialize, Debug)]
pub struct EventAnswer {
    /// Position in the request (0-based).
    pub index: usize,
    /// The event's id when it was readable.
    pub id: Option<String>,
    /// The journal record that holds it.
    pub lsn: u64,
    /// `applied`, `duplicate` or `dead_lettered`.
    pub outcome: &'static str,
    /// The dead-letter reason.
    pub reason: Option<&'static str>,
}

/// The answer to `POST /v1/events`.
#[derive(Serialize, Debug)]
pub struct IngestAnswer {
    /// Events in the request.
    pub received: u64,
    /// Of them applied.
    pub applied: u64,
    /// Of them duplicates.
    pub duplicates: u64,
    /// Of them dead-lettered.
    pub dead_lettered: u64,
    /// Every record up to this LSN is durable (under `none`: written, nothing more).
    pub durable_lsn: u64,
    /// Each event, in request order.
    pub events: Vec<EventAnswer>,
}

/// `POST /v1/events`.
pub async fn post_events(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    let accepted_at = Instant::now();
    let _permit = app
        .in_flight
        .try_acquire()
        .map_err(|_| ApiError::unavailable("too many requests in flight"))?;
    let access = app
        .tokens
        .access(headers.get(header::AUTHORIZATION).map(|v| v.as_bytes()));
    if access == Access::Denied {
        return Err(ApiError::unauthorized());
    }
    let mode = mode(&headers).map_err(ApiError::unsupported)?;
    let body = body.map_err(|e| ApiError::status(e.status(), e.body_text()))?;
    let max = app.config.limits.max_batch_events;
    let mut raw = RawBatch::new();
    raw_events(mode, &headers, &body, max, &mut raw).map_err(ApiError::bad_request)?;
    if raw.len() > max {
        return Err(ApiError::too_large(format!(
            "more than {max} events in one request (limits.max_batch_events)"
        )));
    }
    if raw.is_empty() {
        return Err(ApiError::bad_request(
            "the request holds no event".to_owned(),
        ));
    }
    let (batch, ids, systems) = encode(&app, &access, &raw)?;
    let reply = app
        .writer()?
        .try_ingest(batch)
        .map_err(|_| ApiError::busy("the core's queue is full"))?;
    let done = reply
        .await
        .map_err(|_| ApiError::unavailable("the core stopped"))?
        .map_err(ApiError::refused)?;
    app.metrics
        .record_batch(&systems, &done.outcomes, accepted_at, done.applied_at);
    Ok(axum::Json(answer(&done, ids)).into_response())
}

type Encoded = (EncodedBatch, Vec<Option<String>>, Vec<String>);

/// Decodes every raw event, checks each named source against the token (403 for the first one
/// it does not cover: nothing of the request is received), and encodes the batch.
fn encode(app: &AppState, access: &Access<'_>, raw: &RawBatch) -> Result<Encoded, ApiError> {
    let now_us = waybill_core::system_clock_us();
    let mut batch = EncodedBatch::new();
    let mut ids = Vec::with_capacity(raw.len());
    let mut systems = Vec::with_capacity(raw.len());
    for (i, event) in raw.iter().enumerate() {
        let entry = event.decode();
        let source = match &entry {
            Entry::Event(e) => Some(e.source.clone()),
            _ => named_source(event.bytes),
        };
        if let Some(s) = &source
            && !access.covers(s)
        {
            return Err(ApiError::forbidden(format!(
                "event {i}: this token does not cover source `{s}`; nothing was received"
            )));
        }
        ids.push(match &entry {
            Entry::Event(e) => Some(e.id.clone()),
            _ => None,
        });
        let system = source
            .as_deref()
            .and_then(|s| s.split_once('/'))
            .map(|(sys, _)| sys);
        systems.push(app.metrics.system_label(system));
        batch.push_decoded(&entry, now_us).map_err(|e| {
            ApiError::refused(crate::writer::Refused {
                kind: e.kind(),
                message: format!("event {i}: {e}"),
            })
        })?;
    }
    Ok((batch, ids, systems))
}

fn answer(done: &crate::writer::Ingested, ids: Vec<Option<String>>) -> IngestAnswer {
    let c = &done.report.counters;
    let events = done
        .outcomes
        .iter()
        .zip(ids)
        .enumerate()
        .map(|(index, (&(lsn, outcome), id))| EventAnswer {
            index,
            id,
            lsn,
            outcome: outcome.as_str(),
            reason: match outcome {
                Outcome::DeadLettered(r) => Some(r.as_str()),
                _ => None,
            },
        })
        .collect();
    IngestAnswer {
        received: c.received,
        applied: c.applied,
        duplicates: c.duplicates,
        dead_lettered: c.dead_lettered,
        durable_lsn: done.durable_lsn,
        events,
    }
}

/// The HTTP status of a refused batch's kind.
pub fn refused_status(kind: ErrorKind) -> axum::http::StatusCode {
    use axum::http::StatusCode;
    match kind {
        ErrorKind::BadInput => StatusCode::BAD_REQUEST,
        ErrorKind::Capacity => StatusCode::INSUFFICIENT_STORAGE,
        ErrorKind::Environment => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Corrupt => StatusCode::INTERNAL_SERVER_ERROR,
    }
}
