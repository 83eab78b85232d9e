//! The effects section of the report, from what the run recorded: the live core's effects,
//! the receivers' receipts, the breaker changes and the lanes at the end.

use super::derived::Derived;
use super::effect_checks::ReceiptIndex;
use super::effects::EffectDelivery;
use super::sink_outage_checks::{latencies, open_spans};
use crate::checks::quantile;
use crate::report::{
    BreakerSpan, ClassLatency, EffectBucket, EffectTimeline, EffectsReport, SinkEffects,
    SinkOutage, SlaReport,
};
use crate::scenario::Scenario;
use waybill_core::effect::{Class, Downstream};
use waybill_core::outbox::{BreakerState, LaneId};

/// Most buckets of the effects timeline (wider buckets when the run is longer).
const MAX_BUCKETS: usize = 1024;

/// What the report is built from.
pub(super) struct Recorded<'a> {
    pub scenario: &'a Scenario,
    pub derived: u64,
    pub logged: &'a [Derived],
    pub ix: &'a ReceiptIndex<'a>,
    pub delivery: &'a EffectDelivery,
    /// The run's timeline: its start and bucket width.
    pub start_us: i64,
    pub bucket_us: i64,
    pub sla: SlaReport,
}

pub(super) fn effects_report(r: Recorded<'_>) -> EffectsReport {
    let d = r.delivery;
    EffectsReport {
        derived: r.derived,
        sinks: Downstream::ALL.into_iter().map(|s| sink(&r, s)).collect(),
        latency: Class::ALL
            .into_iter()
            .map(|c| class_latency(&r, c))
            .collect(),
        timeline: timeline(&r),
        breaker_spans: breaker_spans(d),
        breaker_changes_dropped: d.breaker_changes_dropped,
        sink_outages: sink_outages(r.scenario),
        drained_at_us: d.drained_at_us,
        drained: d.lane_end.iter().all(|l| l.idle),
        sla: r.sla,
    }
}

fn sink(r: &Recorded<'_>, s: Downstream) -> SinkEffects {
    let rx = r.delivery.receiver(s);
    let mut derived = 0;
    let mut delivered = 0;
    for (i, e) in r.logged.iter().enumerate() {
        if e.effect_type.sink() == s {
            derived += 1;
            delivered += u64::from(r.ix.first(i as u64 + 1).is_some());
        }
    }
    let lanes = Class::ALL.map(|c| LaneId::new(s, c));
    let trips = r
        .delivery
        .breaker_changes
        .iter()
        .filter(|c| c.lane.sink == s)
        .scan(BreakerState::Closed, |was, c| {
            let trip = *was == BreakerState::Closed && c.state != BreakerState::Closed;
            *was = c.state;
            Some(u64::from(trip))
        })
        .sum();
    let receipts = rx.receipts.len() as u64;
    SinkEffects {
        sink: s.as_str().to_string(),
        derived,
        delivered,
        pending: derived - delivered,
        receipts,
        repeats: receipts.saturating_sub(delivered),
        calls: rx.stats.calls,
        refused_down: rx.stats.refused_down,
        failed_flaky: rx.stats.failed_flaky,
        lost_answers: rx.stats.lost_answers,
        dead_lettered: lanes
            .iter()
            .map(|l| r.delivery.lane_end[l.index()].dead)
            .sum(),
        breaker_trips: trips,
    }
}

fn class_latency(r: &Recorded<'_>, class: Class) -> ClassLatency {
    let (mut v, _) = latencies(r.logged, r.ix, |d| d.effect_type.class() == class);
    ClassLatency {
        class: class.as_str().to_string(),
        count: v.len() as u64,
        p50_us: quantile(&mut v, 0.5).unwrap_or(0),
        p99_us: quantile(&mut v, 0.99).unwrap_or(0),
        max_us: v.last().copied().unwrap_or(0),
    }
}

/// Delivered per bucket, and pending at each bucket's end, per sink.
fn timeline(r: &Recorded<'_>) -> EffectTimeline {
    let end_us = r
        .logged
        .iter()
        .enumerate()
        .map(|(i, d)| {
            r.ix.first(i as u64 + 1)
                .map_or(d.time_us, |rc| rc.received_us)
        })
        .max()
        .unwrap_or(r.start_us);
    let mut width = r.bucket_us.max(1);
    while (end_us - r.start_us) / width >= MAX_BUCKETS as i64 {
        width *= 2;
    }
    let n = ((end_us - r.start_us).max(0) / width + 1) as usize;
    let of = |t: i64| (((t - r.start_us).max(0) / width) as usize).min(n - 1);
    let mut derived = vec![[0u64; 4]; n];
    let mut buckets = vec![EffectBucket::default(); n];
    for (i, d) in r.logged.iter().enumerate() {
        let s = d.effect_type.sink().index();
        derived[of(d.time_us)][s] += 1;
        if let Some(rc) = r.ix.first(i as u64 + 1) {
            buckets[of(rc.received_us)].delivered[s] += 1;
        }
    }
    let (mut made, mut got) = ([0u64; 4], [0u64; 4]);
    for (k, b) in buckets.iter_mut().enumerate() {
        for s in 0..4 {
            made[s] += derived[k][s];
            got[s] += b.delivered[s];
            b.pending[s] = made[s].saturating_sub(got[s]);
        }
    }
    EffectTimeline {
        start_us: r.start_us,
        bucket_seconds: (width / 1_000_000) as u64,
        buckets,
    }
}

fn breaker_spans(d: &EffectDelivery) -> Vec<BreakerSpan> {
    LaneId::all()
        .into_iter()
        .flat_map(|l| {
            open_spans(&d.breaker_changes, l)
                .into_iter()
                .map(move |(from_us, to_us)| BreakerSpan {
                    sink: l.sink.as_str().to_string(),
                    class: l.class.as_str().to_string(),
                    from_us,
                    to_us,
                })
        })
        .collect()
}

fn sink_outages(scenario: &Scenario) -> Vec<SinkOutage> {
    // A sink down to the end is drawn to the horizon.
    let end = scenario.world.start_us + scenario.world.horizon_us;
    scenario
        .sink_outage_windows()
        .into_iter()
        .map(|(sink, from_us, to_us)| SinkOutage {
            sink: sink.as_str().to_string(),
            from_us,
            to_us: to_us.min(end),
        })
        .collect()
}
