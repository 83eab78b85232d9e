//! Stage one's entrance: events in (JSON lines or batch arrays, as `waybill ingest` reads
//! them), each published to the input stream under its source range, with
//! `<source>#<sequence>` as its message id.
//!
//! The stream drops a message whose id it already holds, which would hide a genuine duplicate
//! (the same source and sequence sent twice) from the sequencer's count. So each message also
//! names its origin (this run and its position in the input); when the stream answers
//! "duplicate", the stored message's origin says whether it was this very message (a resend
//! after a failure: done) or an earlier one (a genuine duplicate: published again under an id
//! of its own, for the sequencer to count).

use std::io::Read;

use async_nats::jetstream::stream::Stream;
use bytes::Bytes;
use waybill_core::decode::{decode, decode_truncated};
use waybill_core::input::{InputReader, RawBatch};

use crate::connect::Cluster;
use crate::error::{ClusterError, Result};
use crate::names::{IN_STREAM, LEN_HEADER, ORIGIN_HEADER, in_subject};
use crate::publish::{Outgoing, publish_all};
use crate::route::{event_key, source_range};

/// Events read and published per batch.
pub const INGRESS_BATCH_EVENTS: usize = 1024;
/// Batches read ahead of publishing.
const READ_AHEAD_BATCHES: usize = 4;

/// What an ingress run published.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct IngressReport {
    /// Events read from the input (each one published once, or found already stored).
    pub events: u64,
    /// Of those, events the stream already held from this run (a resend after a failure).
    pub already_stored: u64,
    /// Genuine duplicates (a source and sequence an earlier message had), published again
    /// under their own id so the sequencer counts them.
    pub duplicates: u64,
    /// Events that do not decode as an event (the core dead-letters them).
    pub not_events: u64,
}

/// One input event, ready to publish.
struct Staged {
    out: Outgoing,
    origin: String,
    is_event: bool,
}

/// Reads `input` to its end and publishes every event; `run` names this run in the origins.
pub async fn run_ingress(
    cluster: &Cluster,
    input: Box<dyn Read + Send>,
    run: &str,
) -> Result<IngressReport> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<std::io::Result<RawBatch>>(READ_AHEAD_BATCHES);
    let reader = tokio::task::spawn_blocking(move || {
        let mut input = InputReader::new(input);
        loop {
            let mut batch = RawBatch::new();
            let read = input.read_batch(&mut batch, INGRESS_BATCH_EVENTS);
            let end = matches!(read, Ok(0) | Err(_));
            if tx.blocking_send(read.map(|_| batch)).is_err() || end {
                return;
            }
        }
    });
    let stream = cluster
        .js
        .get_stream(IN_STREAM)
        .await
        .map_err(|e| ClusterError::nats("the input stream", e))?;
    let mut report = IngressReport::default();
    while let Some(batch) = rx.recv().await {
        let batch = batch?;
        if batch.is_empty() {
            break;
        }
        let staged = stage(&batch, cluster.shape.source_ranges, run, report.events);
        publish_batch(cluster, &stream, &staged, &mut report).await?;
    }
    reader
        .await
        .map_err(|e| ClusterError::Protocol(format!("the input reader failed: {e}")))?;
    Ok(report)
}

/// The messages of one batch; `first` is the position of its first event in the input.
fn stage(batch: &RawBatch, ranges: u32, run: &str, first: u64) -> Vec<Staged> {
    batch
        .iter()
        .enumerate()
        .map(|(i, raw)| {
            let position = first + i as u64;
            let truncated = raw.original_len_bytes > raw.bytes.len() as u64;
            let entry = if truncated {
                decode_truncated(raw.bytes, raw.original_len_bytes)
            } else {
                decode(raw.bytes)
            };
            let origin = format!("{run}#{position}");
            let key = event_key(&entry);
            let (subject, id) = match key {
                Some((source, sequence)) => (
                    in_subject(source_range(source, ranges)),
                    crate::route::event_id(source, sequence),
                ),
                // Not an event: no source to route or dedupe by; its origin names it.
                None => (
                    in_subject((position % u64::from(ranges)) as u32),
                    crate::route::raw_id(&origin),
                ),
            };
            let mut headers = vec![(ORIGIN_HEADER, origin.clone())];
            if truncated {
                headers.push((LEN_HEADER, raw.original_len_bytes.to_string()));
            }
            Staged {
                out: Outgoing {
                    subject,
                    id,
                    headers,
                    payload: Bytes::copy_from_slice(raw.bytes),
                },
                origin,
                is_event: key.is_some(),
            }
        })
        .collect()
}

/// Publishes a batch, then again, under ids of their own, the genuine duplicates among it.
async fn publish_batch(
    cluster: &Cluster,
    stream: &Stream,
    staged: &[Staged],
    report: &mut IngressReport,
) -> Result<()> {
    let outs: Vec<Outgoing> = staged.iter().map(|s| s.out.clone()).collect();
    let acks = publish_all(&cluster.js, &outs).await?;
    let mut again = Vec::new();
    for (s, ack) in staged.iter().zip(&acks) {
        report.events += 1;
        report.not_events += u64::from(!s.is_event);
        if !ack.duplicate {
            continue;
        }
        if stored_origin(stream, ack.sequence).await?.as_deref() == Some(s.origin.as_str()) {
            report.already_stored += 1;
            continue;
        }
        report.duplicates += 1;
        let mut dup = s.out.clone();
        dup.id = format!("{}#dup#{}", s.out.id, s.origin);
        again.push(dup);
    }
    publish_all(&cluster.js, &again).await?;
    Ok(())
}

/// The origin header of the message stored at `sequence` of the input stream.
async fn stored_origin(stream: &Stream, sequence: u64) -> Result<Option<String>> {
    let m = stream
        .get_raw_message(sequence)
        .await
        .map_err(|e| ClusterError::nats(format!("reading input message {sequence}"), e))?;
    Ok(m.headers.get(ORIGIN_HEADER).map(|v| v.as_str().to_owned()))
}
