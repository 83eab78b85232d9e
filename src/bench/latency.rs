//! Open-loop latency (docs/cli.md, `waybill bench`): events are offered at a fixed rate whatever
//! the core does; each one's latency runs from its intended send time, so a stall shows in every
//! event behind it (no coordinated omission). The core runs pipelined on its own thread; this
//! thread paces, encodes, sends, and reads the acknowledgements.

use super::Latency;
use hdrhistogram::Histogram;
use std::collections::VecDeque;
use std::path::Path;
use std::time::{Duration, Instant};
use waybill_core::engine::Core;
use waybill_core::event::Entry;
use waybill_core::journal::JournalOptions;
use waybill_core::pipeline::{Pipeline, PipelineOptions};
use waybill_core::snapshot::policy::SnapshotPolicy;

/// Most events handed over at once (events already due are sent together).
const SEND_BATCH_MAX: usize = 256;
/// Batches that may wait for the core thread (then sending blocks: backpressure).
const QUEUE_BATCHES: usize = 64;
/// The largest latency recorded (a minute); longer ones are recorded as this.
pub const LATENCY_US_MAX: u64 = 60_000_000;
/// Significant decimal digits the histograms keep.
const SIGNIFICANT_DIGITS: u8 = 3;

/// The latencies of one open-loop run, in microseconds: to applied, and to durable.
pub struct Measured {
    pub applied: Histogram<u64>,
    pub durable: Histogram<u64>,
    /// Background snapshots taken during the run (asked for before its last record; one
    /// asked at the last record runs after every event was measured, and is not counted).
    pub snapshots_during_run: u64,
}

/// An empty histogram of the latency runs' range and precision.
pub fn histogram() -> Histogram<u64> {
    Histogram::<u64>::new_with_bounds(1, LATENCY_US_MAX, SIGNIFICANT_DIGITS).expect("bounds")
}

/// The percentiles the report gives.
pub fn summary(h: &Histogram<u64>) -> Latency {
    Latency {
        p50: h.value_at_quantile(0.5),
        p99: h.value_at_quantile(0.99),
        p999: h.value_at_quantile(0.999),
        max: h.max(),
    }
}

struct Recorder {
    start: Instant,
    interval_ns: f64,
    applied: Histogram<u64>,
    durable: Histogram<u64>,
    /// Sent, not yet acknowledged: event index ranges, in send order.
    in_flight: VecDeque<(usize, usize)>,
    /// Applied, not yet durable: (lsn, event index).
    not_durable: VecDeque<(u64, usize)>,
    first_lsn: u64,
}

impl Recorder {
    fn intended(&self, i: usize) -> Duration {
        Duration::from_nanos((i as f64 * self.interval_ns) as u64)
    }

    fn record(h: &mut Histogram<u64>, us: u64) {
        h.record(us.clamp(1, LATENCY_US_MAX))
            .expect("clamped into range");
    }

    /// Reads every acknowledgement and durable LSN available now.
    fn poll(&mut self, p: &Pipeline) {
        while let Ok(_ack) = p.acks().try_recv() {
            let now = self.start.elapsed();
            let (from, to) = self.in_flight.pop_front().expect("an ack per batch sent");
            for k in from..to {
                let us = now.saturating_sub(self.intended(k)).as_micros() as u64;
                Self::record(&mut self.applied, us);
                self.not_durable.push_back((self.first_lsn + k as u64, k));
            }
        }
        self.settle(p.durable_lsn());
    }

    fn settle(&mut self, durable_lsn: u64) {
        let now = self.start.elapsed();
        while let Some(&(lsn, k)) = self.not_durable.front() {
            if lsn > durable_lsn {
                break;
            }
            self.not_durable.pop_front();
            let us = now.saturating_sub(self.intended(k)).as_micros() as u64;
            Self::record(&mut self.durable, us);
        }
    }
}

/// Offers `entries` at `rate_eps` to a pipelined core on a fresh journal in `dir`. With a
/// `snapshot_policy`, the core takes background snapshots by it during the run (set before
/// the core moves onto its thread; no snapshot at the close).
pub fn open_loop(
    entries: &[Entry],
    dir: &Path,
    opts: JournalOptions,
    rate_eps: u64,
    snapshot_policy: Option<SnapshotPolicy>,
) -> Measured {
    assert!(rate_eps > 0, "an offered rate");
    let mut core = Core::open(dir, opts).expect("open journal");
    let first_lsn = core.machine().lsn() + 1;
    if let Some(policy) = snapshot_policy {
        debug_assert_eq!(policy.on_close_min_records, u64::MAX, "none after the run");
        core.set_snapshot_policy(policy);
    }
    let p = Pipeline::start(
        core,
        PipelineOptions {
            queue_batches: QUEUE_BATCHES,
        },
    );
    let hist = histogram();
    let mut r = Recorder {
        start: Instant::now() + Duration::from_millis(5),
        interval_ns: 1e9 / rate_eps as f64,
        applied: hist.clone(),
        durable: hist,
        in_flight: VecDeque::new(),
        not_durable: VecDeque::new(),
        first_lsn,
    };
    offer(entries, &p, &mut r);
    let mut core = p.finish().expect("pipeline");
    let durable_lsn = core.flush().expect("flush");
    r.settle(durable_lsn);
    assert!(r.not_durable.is_empty());
    for h in [&r.applied, &r.durable] {
        assert_eq!(h.len(), entries.len() as u64, "every event measured");
    }
    let last_lsn = core.machine().lsn();
    // Waits for a snapshot still being taken (after the measurement).
    let taken = core.close().expect("close");
    let snapshots_during_run = taken
        .iter()
        .map(|t| t.as_ref().expect("a background snapshot is written"))
        .filter(|(_, lsn)| *lsn < last_lsn)
        .count() as u64;
    Measured {
        applied: r.applied,
        durable: r.durable,
        snapshots_during_run,
    }
}

/// Sends every entry at its intended time, reading acknowledgements in between, and waits
/// for the last acknowledgement.
fn offer(entries: &[Entry], p: &Pipeline, r: &mut Recorder) {
    let mut i = 0;
    while i < entries.len() {
        // Until the next event is due, read acknowledgements.
        let due = r.start + r.intended(i);
        while Instant::now() < due {
            r.poll(p);
            std::hint::spin_loop();
        }
        let now = r.start.elapsed();
        let mut end = i + 1;
        while end < entries.len() && end - i < SEND_BATCH_MAX && r.intended(end) <= now {
            end += 1;
        }
        let mut batch = p.batch();
        for e in &entries[i..end] {
            batch.push(e, 0).expect("entries encode");
        }
        r.in_flight.push_back((i, end));
        p.send(batch).expect("the core thread runs");
        r.poll(p);
        i = end;
    }
    while !r.in_flight.is_empty() {
        r.poll(p);
        std::hint::spin_loop();
    }
}
