//! Pacing and latency: each delivery's intended send time on the wall clock (paced runs),
//! the latency histograms (overall and per timeline bucket), and the timeline's buckets.
//!
//! Latency runs from the intended send time (paced) or from the hand-over of the batch (max
//! pace) to the moment the batch is applied, so a stall delays the measurement of every event
//! behind it (no coordinated omission).

use crate::network::Stream;
use crate::report::Percentiles;
use crate::scenario::{Pace, Scenario};
use hdrhistogram::Histogram;
use std::time::{Duration, Instant};

/// Most buckets in the timeline.
const MAX_BUCKETS: i64 = 144;
/// Largest latency recorded (a minute); larger values are clamped.
const LATENCY_US_MAX: u64 = 60_000_000;
/// A wait longer than this sleeps (minus the margin below) before it spins.
const SLEEP_ABOVE: Duration = Duration::from_micros(300);
const SPIN_MARGIN: Duration = Duration::from_micros(200);

/// The timeline's buckets over simulated time.
pub(super) struct Buckets {
    pub start_us: i64,
    pub width_us: i64,
    pub count: usize,
}

impl Buckets {
    pub fn of(&self, t_us: i64) -> usize {
        (((t_us - self.start_us).max(0) / self.width_us) as usize).min(self.count - 1)
    }
}

pub(super) fn buckets_for(stream: &Stream, scenario: &Scenario) -> Buckets {
    let start_us = scenario.world.start_us;
    let last = stream.deliveries.last().map_or(start_us, |d| d.arrival_us);
    let span_us = (last - start_us).max(scenario.world.horizon_us).max(1);
    let widths_s = [
        60i64, 300, 600, 900, 1800, 3600, 7200, 21_600, 86_400, 604_800,
    ];
    let width_s = widths_s
        .into_iter()
        .find(|w| span_us / (w * 1_000_000) < MAX_BUCKETS)
        .unwrap_or(604_800);
    let width_us = width_s * 1_000_000;
    Buckets {
        start_us,
        width_us,
        count: (span_us / width_us + 1) as usize,
    }
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, LATENCY_US_MAX, 3).expect("valid histogram bounds")
}

pub(super) fn percentiles(h: &Histogram<u64>) -> Option<Percentiles> {
    (!h.is_empty()).then(|| Percentiles {
        count: h.len(),
        p50: h.value_at_quantile(0.50),
        p90: h.value_at_quantile(0.90),
        p99: h.value_at_quantile(0.99),
        p999: h.value_at_quantile(0.999),
        max: h.max(),
    })
}

/// When each delivery is meant to be sent, on the wall clock.
pub(super) struct Pacer {
    pub started: Instant,
    /// Simulated seconds per wall second; None under `pace = "max"`.
    pub speedup: Option<f64>,
    first_arrival_us: i64,
}

impl Pacer {
    pub fn new(pace: Pace, first_arrival_us: i64) -> Pacer {
        Pacer {
            started: Instant::now(),
            speedup: match pace {
                Pace::Max => None,
                Pace::Speedup(x) => Some(x),
            },
            first_arrival_us,
        }
    }

    pub fn paced(&self) -> bool {
        self.speedup.is_some()
    }

    /// The intended send time of a delivery, as an offset from the start (paced runs only).
    pub fn intended(&self, arrival_us: i64) -> Duration {
        let s = self.speedup.expect("paced");
        Duration::from_secs_f64(((arrival_us - self.first_arrival_us) as f64 / 1e6 / s).max(0.0))
    }

    pub fn due(&self, arrival_us: i64) -> Instant {
        self.started + self.intended(arrival_us)
    }

    /// Waits until a delivery arriving at `arrival_us` is due: sleeps most of a long wait,
    /// spins the rest.
    pub fn wait_for(&self, arrival_us: i64) {
        let next_due = self.due(arrival_us);
        let now = Instant::now();
        if next_due > now {
            let wait = next_due - now;
            if wait > SLEEP_ABOVE {
                std::thread::sleep(wait - SPIN_MARGIN);
            }
            while Instant::now() < next_due {
                std::hint::spin_loop();
            }
        }
    }
}

/// The latency histograms of a run.
pub(super) struct Latency {
    pub overall: Histogram<u64>,
    pub by_bucket: Vec<Histogram<u64>>,
}

impl Latency {
    pub fn new(buckets: &Buckets) -> Latency {
        Latency {
            overall: histogram(),
            by_bucket: (0..buckets.count).map(|_| histogram()).collect(),
        }
    }

    /// Records a batch applied at `applied_at`: `sent` holds each delivery's arrival time and
    /// the instant its latency runs from.
    pub fn record_batch(
        &mut self,
        buckets: &Buckets,
        sent: &[(i64, Instant)],
        applied_at: Instant,
    ) {
        for &(arrival_us, from) in sent {
            let us = (applied_at.saturating_duration_since(from).as_micros() as u64)
                .clamp(1, LATENCY_US_MAX);
            self.overall.record(us).expect("clamped into range");
            self.by_bucket[buckets.of(arrival_us)]
                .record(us)
                .expect("clamped into range");
        }
    }
}
