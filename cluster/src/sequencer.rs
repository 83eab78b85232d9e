//! Stage one: the sequencer of a source range. It reads the range's input in stream order,
//! runs the core's own dedupe and gap detection per source ([`waybill_core::dedupe`]), and
//! republishes to the key groups: each new event to its shipment's (or vehicle's) group, a
//! gap notice just before the event that opened the gap, each dead letter to a group of its
//! own. Duplicates stop here and are counted.
//!
//! Its state is a pure function of the input stream's order, so a restarted sequencer rebuilds
//! it by reading the range again from the start, republishing nothing up to the position its
//! progress record says was republished, and everything after it (ids make any overlap
//! harmless). Its input is acknowledged (the progress record written) only after the key
//! groups' streams acknowledged every republish of a batch.

use async_nats::jetstream::consumer::{DeliverPolicy, pull::OrderedConfig};
use bytes::Bytes;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use waybill_core::decode::{decode, decode_truncated};
use waybill_core::dedupe::Dedupe;
use waybill_core::event::Entry;
use waybill_core::machine::{GapView, gap_views};
use waybill_core::source::Sources;

use crate::connect::Cluster;
use crate::error::{ClusterError, Result};
use crate::names::{self, IN_STREAM, KIND_HEADER, Kind, LEN_HEADER};
use crate::publish::{BATCH_MAX, Outgoing, publish_all};
use crate::route;

/// What a sequencer has done (its progress record in the bucket).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SequencerProgress {
    /// The source range.
    pub range: u32,
    /// The last input message (stream sequence) whose republishes were all acknowledged.
    pub in_sequence: u64,
    /// Input messages read.
    pub received: u64,
    /// Of those, events whose source and sequence were already seen: not forwarded.
    pub duplicates: u64,
    /// Of those, messages that are not events (forwarded as dead letters).
    pub not_events: u64,
    /// Sources with missing sequences, by name (at most 100 ranges each listed).
    pub gaps: Vec<GapView>,
}

/// The sequencer's state: every decision of stage one, from the input in order.
pub struct Sequencing {
    range: u32,
    groups: u32,
    sources: Sources,
    dedupe: Dedupe,
    progress: SequencerProgress,
}

impl Sequencing {
    /// A sequencer of `range` that has read nothing, for `groups` key groups.
    pub fn new(range: u32, groups: u32) -> Sequencing {
        assert!(groups >= 1);
        Sequencing {
            range,
            groups,
            sources: Sources::new(),
            dedupe: Dedupe::new(),
            progress: SequencerProgress {
                range,
                ..Default::default()
            },
        }
    }

    /// Decides input message `in_sequence` (its bytes, and its full length when ingress cut
    /// it) and returns what it republishes, in order.
    pub fn decide(&mut self, in_sequence: u64, payload: &Bytes, len: Option<u64>) -> Vec<Outgoing> {
        assert!(
            in_sequence > self.progress.in_sequence,
            "input in stream order"
        );
        self.progress.in_sequence = in_sequence;
        self.progress.received += 1;
        let entry = match len {
            Some(len) => decode_truncated(payload, len),
            None => decode(payload),
        };
        let Entry::Event(ev) = entry else {
            self.progress.not_events += 1;
            let group = route::key_group_of_dead(in_sequence, self.groups);
            let mut out = outgoing(
                group,
                route::dead_id(self.range, in_sequence),
                Kind::Dead,
                payload.clone(),
            );
            if let Some(len) = len {
                out.headers.push((LEN_HEADER, len.to_string()));
            }
            return vec![out];
        };
        let source = self.sources.intern(&ev.source);
        let (fresh, gap) = self.dedupe.mark_with_gap(source, ev.sequence);
        if !fresh {
            self.progress.duplicates += 1;
            return Vec::new();
        }
        let group = route::key_group_of_event(ev.subject, ev.body.event_type(), self.groups);
        let mut out = Vec::with_capacity(2);
        if let Some((first, last)) = gap {
            let json = serde_json::json!({ "source": ev.source, "first": first, "last": last });
            out.push(outgoing(
                group,
                route::gap_id(&ev.source, first, last),
                Kind::Gap,
                Bytes::from(json.to_string()),
            ));
        }
        out.push(outgoing(
            group,
            route::event_id(&ev.source, ev.sequence),
            Kind::Event,
            payload.clone(),
        ));
        out
    }

    /// The progress record as of the last message decided.
    pub fn progress(&self) -> SequencerProgress {
        let mut p = self.progress.clone();
        p.gaps = gap_views(&self.dedupe, &self.sources);
        p
    }
}

fn outgoing(group: u32, id: String, kind: Kind, payload: Bytes) -> Outgoing {
    Outgoing {
        subject: names::kg_subject(group),
        id,
        headers: vec![(KIND_HEADER, kind.as_str().to_owned())],
        payload,
    }
}

/// Runs the sequencer of `range` until `stop` resolves: rebuilds its state from the input, then
/// republishes what follows, in batches of at most [`BATCH_MAX`] messages. When the server
/// goes away it starts over (rebuilding again) once it is back.
pub async fn run_sequencer(
    cluster: &Cluster,
    range: u32,
    stop: impl std::future::Future<Output = ()>,
) -> Result<SequencerProgress> {
    assert!(range < cluster.shape.source_ranges);
    tokio::pin!(stop);
    loop {
        match sequence(cluster, range, &mut stop).await {
            Err(e @ ClusterError::Nats { .. }) => {
                eprintln!("waybill cluster sequencer {range}: {e}; starting over");
                tokio::select! {
                    () = &mut stop => return Err(e),
                    () = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
                }
            }
            done => return done,
        }
    }
}

/// One run of the sequencer, from rebuilding to `stop` or an error.
async fn sequence(
    cluster: &Cluster,
    range: u32,
    stop: &mut std::pin::Pin<&mut impl std::future::Future<Output = ()>>,
) -> Result<SequencerProgress> {
    let published = read_progress(cluster, range)
        .await?
        .map_or(0, |p| p.in_sequence);
    let stream = cluster
        .js
        .get_stream(IN_STREAM)
        .await
        .map_err(|e| ClusterError::nats("the input stream", e))?;
    let consumer = stream
        .create_consumer(OrderedConfig {
            filter_subject: names::in_subject(range),
            deliver_policy: DeliverPolicy::All,
            ..Default::default()
        })
        .await
        .map_err(|e| ClusterError::nats("the sequencer's consumer", e))?;
    let mut messages = consumer
        .messages()
        .await
        .map_err(|e| ClusterError::nats("the sequencer's consumer", e))?;
    let mut seq = Sequencing::new(range, cluster.shape.key_groups);
    let mut batch: Vec<Outgoing> = Vec::with_capacity(BATCH_MAX);
    loop {
        let next = tokio::select! {
            () = stop.as_mut() => break,
            m = messages.next() => m,
        };
        let Some(m) = next else { break };
        let m = m.map_err(|e| ClusterError::nats("reading the input", e))?;
        let in_sequence = m
            .info()
            .map_err(|e| ClusterError::nats("reading the input", e))?
            .stream_sequence;
        let len = header_u64(&m.headers, LEN_HEADER)?;
        let out = seq.decide(in_sequence, &m.payload, len);
        if in_sequence > published {
            batch.extend(out);
        }
        // A full batch, or the end of what the server holds for now: republish.
        if batch.len() + 2 > BATCH_MAX || !messages_pending(&m) {
            flush(cluster, &mut batch, &seq).await?;
        }
    }
    flush(cluster, &mut batch, &seq).await?;
    Ok(seq.progress())
}

/// Whether the server has more messages of this consumer waiting (after `m`).
fn messages_pending(m: &async_nats::jetstream::Message) -> bool {
    m.info().is_ok_and(|i| i.pending > 0)
}

/// Republishes a batch, then records the progress it reached.
async fn flush(cluster: &Cluster, batch: &mut Vec<Outgoing>, seq: &Sequencing) -> Result<()> {
    if !batch.is_empty() {
        publish_all(&cluster.js, batch).await?;
        batch.clear();
    }
    let p = seq.progress();
    cluster
        .put_json(
            names::sequencer_progress_key(p.range),
            &p,
            "the sequencer's progress",
        )
        .await
}

/// The progress record of the sequencer of `range`, if it wrote one.
pub async fn read_progress(cluster: &Cluster, range: u32) -> Result<Option<SequencerProgress>> {
    cluster
        .get_json(
            names::sequencer_progress_key(range),
            "a sequencer's progress",
        )
        .await
}

/// A header holding a number, if present.
pub fn header_u64(headers: &Option<async_nats::HeaderMap>, name: &str) -> Result<Option<u64>> {
    let Some(v) = headers.as_ref().and_then(|h| h.get(name)) else {
        return Ok(None);
    };
    v.as_str().parse().map(Some).map_err(|_| {
        ClusterError::Protocol(format!("header {name} is not a number: {}", v.as_str()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn position(source: &str, seq: u64, vehicle: u64) -> Bytes {
        Bytes::from(format!(
            r#"{{"specversion":"1.0","id":"{source}-{seq}","source":"{source}","sequence":"{seq}","type":"vehicle.position","time":"2026-11-27T06:30:00Z","subject":"vehicle/{vehicle}","data":{{"lat":52.05,"lon":4.32,"speed_kph":84.2}}}}"#
        ))
    }

    fn kinds(out: &[Outgoing]) -> Vec<(String, &str)> {
        out.iter()
            .map(|o| (o.id.clone(), o.headers[0].1.as_str()))
            .collect()
    }

    #[test]
    fn decides_as_the_core_does_in_stream_order() {
        let mut s = Sequencing::new(0, 64);
        let truck = "fleet/truck-5";
        // (input, what is republished as (id, kind))
        let cases: Vec<(Bytes, Vec<(String, &str)>)> = vec![
            (position(truck, 1, 5), vec![(format!("{truck}#1"), "event")]),
            (
                position(truck, 4, 5),
                vec![
                    (format!("gap#{truck}#2-3"), "gap"),
                    (format!("{truck}#4"), "event"),
                ],
            ),
            (position(truck, 4, 5), vec![]),
            (position(truck, 2, 5), vec![(format!("{truck}#2"), "event")]),
            (
                Bytes::from_static(b"{not json"),
                vec![("dead#0#5".to_owned(), "dead")],
            ),
            (
                position("fleet/truck-6", 1, 6),
                vec![("fleet/truck-6#1".to_owned(), "event")],
            ),
        ];
        for (i, (input, expected)) in cases.into_iter().enumerate() {
            let out = s.decide(i as u64 + 1, &input, None);
            assert_eq!(kinds(&out), expected, "input {}", i + 1);
            if let Some(o) = out.iter().find(|o| o.id.contains("truck-5#")) {
                let g = route::key_group_of_event(
                    5,
                    waybill_core::event::EventType::VehiclePosition,
                    64,
                );
                assert_eq!(
                    o.subject,
                    names::kg_subject(g),
                    "a vehicle's events go to its group"
                );
            }
        }
        let p = s.progress();
        assert_eq!(
            (p.in_sequence, p.received, p.duplicates, p.not_events),
            (6, 6, 1, 1)
        );
        assert_eq!(
            p.gaps,
            vec![GapView {
                source: truck.to_owned(),
                missing: 1,
                ranges: vec![[3, 3]]
            }]
        );
    }
}
