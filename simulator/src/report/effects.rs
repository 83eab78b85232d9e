//! The effects section of a run report: what the core derived, what each simulated downstream
//! system got and when, the breakers, latency per class and the SLA figures. Times are
//! simulated, microseconds since the epoch (`_us`), or minutes where named so.

use serde::Serialize;

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct EffectsReport {
    /// Effects the live core derived (its `effect_seq` at the end).
    pub derived: u64,
    /// Per sink, in route, billing, erp, ops order.
    pub sinks: Vec<SinkEffects>,
    /// From derivation (the cause's ingest time) to the first receipt, per class.
    pub latency: Vec<ClassLatency>,
    pub timeline: EffectTimeline,
    /// The spans in which a lane's breaker was not closed.
    pub breaker_spans: Vec<BreakerSpan>,
    /// Breaker changes beyond the report's limit (not shown).
    pub breaker_changes_dropped: u64,
    /// The `sink_outage` windows.
    pub sink_outages: Vec<SinkOutage>,
    /// When the last call of the lanes returned, once the run's deliveries were over.
    pub drained_at_us: Option<i64>,
    /// Whether every lane was idle, with nothing pending, when the run ended.
    pub drained: bool,
    pub sla: SlaReport,
}

/// One downstream system.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct SinkEffects {
    pub sink: String,
    /// Effects for this sink the live core derived.
    pub derived: u64,
    /// Of those, received at least once.
    pub delivered: u64,
    /// Not received by the end of the run.
    pub pending: u64,
    /// Every receipt, repeats included.
    pub receipts: u64,
    /// Receipts of an effect already received.
    pub repeats: u64,
    /// Calls the lanes made, and how they failed.
    pub calls: u64,
    pub refused_down: u64,
    pub failed_flaky: u64,
    /// Calls that failed after the receiver processed the batch (their effects come again).
    pub lost_answers: u64,
    /// Dead letters of the sink's lanes at the end.
    pub dead_lettered: u64,
    /// Times a breaker of the sink's lanes opened.
    pub breaker_trips: u64,
}

/// Latency of one class, simulated microseconds.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ClassLatency {
    pub class: String,
    pub count: u64,
    pub p50_us: i64,
    pub p99_us: i64,
    pub max_us: i64,
}

/// Delivered and pending over simulated time, per sink (route, billing, erp, ops).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct EffectTimeline {
    pub start_us: i64,
    pub bucket_seconds: u64,
    pub buckets: Vec<EffectBucket>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct EffectBucket {
    /// Effects first received in the bucket.
    pub delivered: [u64; 4],
    /// Effects derived by the bucket's end and not yet received.
    pub pending: [u64; 4],
}

/// A lane's breaker not closed from `from_us` to `to_us` (None: still open at the end).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct BreakerSpan {
    pub sink: String,
    pub class: String,
    pub from_us: i64,
    pub to_us: Option<i64>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct SinkOutage {
    /// `route`, `billing`, `erp`, `ops` or `*`.
    pub sink: String,
    pub from_us: i64,
    pub to_us: i64,
}

/// The SLA measures: targets, distributions and breaches.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct SlaReport {
    pub measures: Vec<SlaMeasureReport>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct SlaMeasureReport {
    /// `order_to_dispatch`, `invoice_cycle` or `pod_propagation`.
    pub measure: String,
    pub target_minutes: Option<u32>,
    /// The distribution: shipment views (order to dispatch, invoice cycle) or applied
    /// `shipment.delivered` events (pod propagation: ingest time minus event time).
    pub minutes: Option<Distribution>,
    pub histogram: Vec<HistogramBin>,
    /// `alert.sla_breached` effects the sinks received for the measure.
    pub breaches: u64,
}

/// Minutes.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Distribution {
    pub count: u64,
    pub min: i64,
    pub p50: i64,
    pub p90: i64,
    pub p99: i64,
    pub max: i64,
}

/// `[from, to)` minutes (`to` None: no upper bound; `from` None: no lower bound).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct HistogramBin {
    pub label: String,
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub count: u64,
}
