//! Open-loop latency (SPEC §9): events are offered at a fixed rate whatever the core does;
//! each one's latency runs from its intended send time, so a stall shows in every event
//! behind it (no coordinated omission).

use super::Latency;
use hdrhistogram::Histogram;
use std::collections::VecDeque;
use std::path::Path;
use std::time::{Duration, Instant};
use waybill_core::engine::Core;
use waybill_core::event::Entry;
use waybill_core::journal::{Durability, JournalOptions};

/// Most events handed over at once (the offered stream is sent in small groups).
const SEND_BATCH_MAX: usize = 256;
const LATENCY_US_MAX: u64 = 60_000_000;

pub struct Measured {
    pub applied: Latency,
    pub durable: Latency,
}

fn summary(h: &Histogram<u64>) -> Latency {
    Latency {
        p50: h.value_at_quantile(0.5),
        p99: h.value_at_quantile(0.99),
        p999: h.value_at_quantile(0.999),
        max: h.max(),
    }
}

pub fn open_loop(entries: &[Entry], dir: &Path, durability: Durability, rate_eps: u64) -> Measured {
    let mut core = Core::open(
        dir,
        JournalOptions {
            segment_bytes: 256 << 20,
            durability,
            ..JournalOptions::default()
        },
    )
    .expect("open journal");
    let mut applied = Histogram::<u64>::new_with_bounds(1, LATENCY_US_MAX, 3).expect("bounds");
    let mut durable = applied.clone();
    let interval_ns = 1e9 / rate_eps.max(1) as f64;
    let intended = |i: usize| Duration::from_nanos((i as f64 * interval_ns) as u64);
    let start = Instant::now() + Duration::from_millis(5);
    // (lsn, intended send time) of events applied but not yet durable.
    let mut waiting: VecDeque<(u64, Duration)> = VecDeque::new();
    let mut i = 0;
    while i < entries.len() {
        // Wait for the next event's send time, then take every event due by now.
        let due = start + intended(i);
        while Instant::now() < due {
            std::hint::spin_loop();
        }
        let now = start.elapsed();
        let mut end = i + 1;
        while end < entries.len() && end - i < SEND_BATCH_MAX && intended(end) <= now {
            end += 1;
        }
        for e in &entries[i..end] {
            core.submit(e, 0).expect("submit");
        }
        let durable_lsn = core.commit().expect("commit");
        let done = start.elapsed();
        for k in i..end {
            let us = (done.saturating_sub(intended(k)).as_micros() as u64).clamp(1, LATENCY_US_MAX);
            applied.record(us).expect("in range");
            waiting.push_back((k as u64 + 1, intended(k)));
        }
        while waiting.front().is_some_and(|(lsn, _)| *lsn <= durable_lsn) {
            let (_, t) = waiting.pop_front().expect("front");
            durable
                .record((done.saturating_sub(t).as_micros() as u64).clamp(1, LATENCY_US_MAX))
                .expect("in range");
        }
        i = end;
    }
    core.flush().expect("flush");
    let done = start.elapsed();
    for (_, t) in waiting {
        durable
            .record((done.saturating_sub(t).as_micros() as u64).clamp(1, LATENCY_US_MAX))
            .expect("in range");
    }
    Measured {
        applied: summary(&applied),
        durable: summary(&durable),
    }
}
