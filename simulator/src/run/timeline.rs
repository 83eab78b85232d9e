//! The per-bucket series of a run over simulated time: arrivals by system, dead letters,
//! backlog and latency, for the report's charts.

use super::Prepared;
use super::ingest::Ingested;
use super::latency::Buckets;
use crate::network::Delivered;
use crate::report::{Bucket, Timeline};
use waybill_core::time::format_rfc3339_us;

pub(super) fn timeline(p: &Prepared, b: &Buckets, ing: &Ingested) -> Timeline {
    let mut buckets: Vec<Bucket> = (0..b.count).map(|_| Bucket::default()).collect();
    for d in &p.stream.deliveries {
        let k = b.of(d.arrival_us);
        let (i, malformed) = match d.what {
            Delivered::Event(i) | Delivered::Duplicate(i) => (i, false),
            Delivered::Malformed { of, .. } => (of, true),
        };
        let sys = p.world.events[i as usize].event.event_type().owner() as usize;
        buckets[k].arrivals_by_system[sys] += 1;
        if malformed {
            buckets[k].dead_lettered += 1;
        }
    }
    backlog_and_latency(p, b, ing, &mut buckets);
    Timeline {
        start: format_rfc3339_us(b.start_us),
        bucket_seconds: (b.width_us / 1_000_000) as u64,
        buckets,
    }
}

/// Backlog at each bucket's end (emitted and not lost, minus delivered originals) and the
/// latency of the batches applied in it.
fn backlog_and_latency(p: &Prepared, b: &Buckets, ing: &Ingested, buckets: &mut [Bucket]) {
    let mut emitted = 0u64;
    let mut delivered = 0u64;
    let (mut ei, mut di) = (0usize, 0usize);
    let events = &p.world.events;
    let dels = &p.stream.deliveries;
    for (k, bucket) in buckets.iter_mut().enumerate() {
        let end = b.start_us + (k as i64 + 1) * b.width_us;
        while ei < events.len() && events[ei].emit_us < end {
            if !p.stream.dropped.get(ei).copied().unwrap_or(false) {
                emitted += 1;
            }
            ei += 1;
        }
        while di < dels.len() && dels[di].arrival_us < end {
            if matches!(dels[di].what, Delivered::Event(_)) {
                delivered += 1;
            }
            di += 1;
        }
        bucket.backlog = emitted.saturating_sub(delivered);
        let h = &ing.latency.by_bucket[k];
        bucket.latency_p99_us = (!h.is_empty()).then(|| h.value_at_quantile(0.99));
    }
}
