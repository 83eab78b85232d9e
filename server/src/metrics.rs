//! `GET /metrics`: the Prometheus text format. Counters of what `POST /v1/events` received are
//! kept as requests are answered; the core's figures are read when scraped.
//!
//! A scrape (and `GET /v1/ops`, which shows the same figures as JSON) first refreshes them
//! ([`Metrics::refresh`]):
//!
//! - the journal's LSN, durable LSN and the writer's queue from what the writer publishes
//!   (atomics, no wait);
//! - the counters, the SLA targets, the missing sequences per source (the dedupe memory's gap
//!   accounting: one entry per source, never a pass over the shipments) and every delivery
//!   lane's status, in one read on the writer thread between two batches, waited for at most
//!   [`CORE_READ_WAIT`]; when the writer is too busy the previous figures stay (and `/v1/ops`
//!   says how old they are);
//! - on a blocking thread: the sizes of the journal's segment files, and the effects the
//!   outbox logged since the last refresh, at most [`EFFECTS_PER_REFRESH`] of them: a cursor
//!   into the effect log counts effects by type, SLA breaches by measure and the
//!   proof-of-delivery propagation.
//!
//! Concurrent refreshes are coalesced: a caller that waited while another refreshed uses that
//! refresh's figures.

use crate::http::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::{HashSet, VecDeque};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};
use waybill_core::effect::{EffectType, SlaMeasure};
use waybill_core::outbox::{BreakerState, LaneId, LaneStatus, LogReader, OutboxError, effects_dir};
use waybill_core::{Counters, Outcome};

/// The systems a source may name (`<system>/<name>`); any other is counted as `other`.
const SYSTEMS: [&str; 4] = ["erp", "route", "fleet", "billing"];

/// Longest a refresh waits for the writer thread's read; past it the previous figures stay.
pub const CORE_READ_WAIT: Duration = Duration::from_secs(2);

/// Most effects one refresh counts from the effect log (a log far ahead is caught up over
/// several refreshes).
pub const EFFECTS_PER_REFRESH: usize = 50_000;

/// Most sources listed in `waybill_missing_events`, those missing the most first; the others
/// are summed under the source `(others)`.
pub const MAX_GAP_SOURCES: usize = 1_000;

/// Label of the sources past [`MAX_GAP_SOURCES`] (no source is named so: sources are
/// `<system>/<name>`).
pub const OTHER_SOURCES: &str = "(others)";

/// Shipments remembered as confirmed, so that a later `billing.delivery_confirmed` of the same
/// shipment (its detention or proof changed) is not observed again as a propagation.
pub const CONFIRMED_REMEMBERED: usize = 65_536;

/// Upper bounds in seconds of the proof-of-delivery propagation buckets: 1, 5, 15 and 30
/// minutes, 1, 2, 4 and 12 hours, 1, 3 and 7 days (and `+Inf`).
pub const POD_BUCKETS_S: [f64; 11] = [
    60.0, 300.0, 900.0, 1_800.0, 3_600.0, 7_200.0, 14_400.0, 43_200.0, 86_400.0, 259_200.0,
    604_800.0,
];

/// Labels of the outcome counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// The source's system, or `other` / `unknown`.
    pub system: String,
    /// `applied`, `duplicate` or `dead_lettered`.
    pub outcome: String,
    /// The dead-letter reason, or empty.
    pub reason: String,
}

/// Every metric family of the service.
pub struct Metrics {
    registry: Registry,
    events: Family<OutcomeLabels, Counter>,
    ingest_latency: Histogram,
    durable_latency: Histogram,
    live: Arc<Live>,
    tally: Arc<parking_lot::Mutex<Tally>>,
    /// When the last refresh started.
    refreshed: tokio::sync::Mutex<Option<Instant>>,
}

/// Bucket bounds in seconds for latencies from 50 µs to about 3 s.
fn latency_buckets() -> impl Iterator<Item = f64> {
    prometheus_client::metrics::histogram::exponential_buckets(0.000_05, 2.0, 16)
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Registers every family.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("waybill");
        let events = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "events",
            "Events received by POST /v1/events, by source system, outcome and dead-letter reason",
            events.clone(),
        );
        let ingest_latency = Histogram::new(latency_buckets());
        registry.register_with_unit(
            "ingest_latency",
            "From a request's arrival to its batch applied by the core",
            Unit::Seconds,
            ingest_latency.clone(),
        );
        let durable_latency = Histogram::new(latency_buckets());
        registry.register_with_unit(
            "durable_latency",
            "From a request's arrival to its answer: the batch durable",
            Unit::Seconds,
            durable_latency.clone(),
        );
        let live = Arc::new(Live::default());
        registry.register_collector(Box::new(Arc::clone(&live)));
        Metrics {
            registry,
            events,
            ingest_latency,
            durable_latency,
            live,
            tally: Arc::new(parking_lot::Mutex::new(Tally::default())),
            refreshed: tokio::sync::Mutex::new(None),
        }
    }

    /// The label of a source's system.
    pub fn system_label(&self, system: Option<&str>) -> String {
        match system {
            Some(s) if SYSTEMS.contains(&s) => s.to_owned(),
            Some(_) => "other".to_owned(),
            None => "unknown".to_owned(),
        }
    }

    /// Counts an answered batch: each event's outcome under its system, and the latencies.
    pub fn record_batch(
        &self,
        systems: &[String],
        outcomes: &[(u64, Outcome)],
        accepted_at: Instant,
        applied_at: Instant,
    ) {
        debug_assert_eq!(systems.len(), outcomes.len());
        for (system, (_, outcome)) in systems.iter().zip(outcomes) {
            let reason = match outcome {
                Outcome::DeadLettered(r) => r.as_str(),
                _ => "",
            };
            self.events
                .get_or_create(&OutcomeLabels {
                    system: system.clone(),
                    outcome: outcome.as_str().to_owned(),
                    reason: reason.to_owned(),
                })
                .inc();
        }
        let applied = applied_at.saturating_duration_since(accepted_at);
        self.ingest_latency.observe(applied.as_secs_f64());
        self.durable_latency
            .observe(accepted_at.elapsed().as_secs_f64());
    }

    /// The text exposition of every family (the figures as of the last refresh).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }

    /// The figures as of the last refresh.
    pub fn figures(&self) -> Figures {
        self.live.figures.lock().clone()
    }

    /// Reads the figures that are read when scraped (see the module's documentation). Returns
    /// once they are at least as new as the call, or when the journal is still being opened.
    pub async fn refresh(&self, app: &AppState) {
        let arrived = Instant::now();
        let mut last = self.refreshed.lock().await;
        if last.is_some_and(|started| started >= arrived) {
            return; // refreshed by another caller while this one waited
        }
        *last = Some(Instant::now());
        let Ok(writer) = app.writer() else {
            return;
        };
        let published = writer.published();
        let lsn = published.lsn.load(Ordering::Acquire);
        let queued = published.queued.load(Ordering::Acquire);
        let durable = writer.durable_lsn();
        let before = self.live.figures.lock().core.clone();
        let known = before.as_ref().map(|c| c.gaps_key);
        let read = writer.query_lanes(move |core, lanes| read_core(core, lanes, known));
        let core = tokio::time::timeout(CORE_READ_WAIT, read)
            .await
            .ok()
            .and_then(Result::ok)
            .map(|(mut core, gaps_read)| match before {
                Some(b) if !gaps_read => {
                    (core.missing, core.sources_with_gaps) = (b.missing, b.sources_with_gaps);
                    core
                }
                _ => core.sort_gaps(),
            });
        let journal = app.config.journal.clone();
        let tally = Arc::clone(&self.tally);
        let files = tokio::task::spawn_blocking(move || {
            let disk = journal_disk(&journal);
            let mut t = tally.lock();
            t.advance(&effects_dir(&journal), durable);
            (disk, t.counts.clone())
        })
        .await
        .ok();
        let mut f = self.live.figures.lock();
        f.read = true;
        f.lsn = lsn;
        f.durable_lsn = durable;
        f.queued_batches = queued;
        if let Some(core) = core {
            f.core = Some(core);
            f.core_read_at = Some(SystemTime::now());
        }
        if let Some((disk, counts)) = files {
            f.journal = disk;
            f.effects = counts;
        }
    }
}

/// `GET /metrics`.
pub async fn handler(State(app): State<Arc<AppState>>) -> Response {
    app.metrics.refresh(&app).await;
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        app.metrics.encode(),
    )
        .into_response()
}

/// Everything read at scrape time, as of the last refresh.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    /// Whether anything was read yet (not while the journal is being opened).
    pub read: bool,
    /// Last LSN journaled and applied.
    pub lsn: u64,
    /// Every record up to this LSN is durable.
    pub durable_lsn: u64,
    /// Batches waiting for the writer or being applied.
    pub queued_batches: u64,
    /// The journal's segment files.
    pub journal: JournalDisk,
    /// What the writer thread gave at its last read (`None` before the first).
    pub core: Option<CoreFigures>,
    /// When the writer thread's figures were read.
    pub core_read_at: Option<SystemTime>,
    /// What the effect log showed, counted up to [`EffectCounts::next_seq`].
    pub effects: EffectCounts,
}

/// The journal's segment files.
#[derive(Debug, Clone, Copy, Default)]
pub struct JournalDisk {
    /// Sum of the segment files' sizes in bytes (segments are allocated whole, so a new
    /// segment counts its full size).
    pub bytes: u64,
    /// Segment files.
    pub segments: u64,
}

/// What one read on the writer thread gives.
#[derive(Debug, Clone)]
pub struct CoreFigures {
    /// Outcomes of every event received.
    pub counters: Counters,
    /// The journal's SLA targets in minutes, in [`SlaMeasure::ALL`] order.
    pub sla_targets_min: [Option<u32>; 3],
    /// The `effect_seq` of the last effect derived (0: none yet).
    pub effect_seq: u64,
    /// Sources with missing sequences and how many, those missing the most first, at most
    /// [`MAX_GAP_SOURCES`] and then [`OTHER_SOURCES`] with the rest.
    pub missing: Vec<(String, u64)>,
    /// Sources with missing sequences (all of them, also those past [`MAX_GAP_SOURCES`]).
    pub sources_with_gaps: u64,
    /// Missing sequences over every source (exact).
    pub missing_total: u128,
    /// Every lane's status as the delivery last published it (`None`: no sink configured).
    pub lanes: Option<Vec<LaneStatus>>,
    /// The missing total and the last `effect_seq` when the gaps were read: while both stay,
    /// no gap opened (each new range derives an `alert.gap` effect) and none was filled (that
    /// lowers the total), so the gaps per source are the same.
    gaps_key: (u128, u64),
}

/// Runs on the writer thread: counters, settings and the gaps per source (read again only
/// when they may have changed since `known`; sorted and cut later, off the writer), nothing
/// per shipment. The flag says whether the gaps were read.
fn read_core(
    core: &mut waybill_core::engine::Core,
    lanes: Option<Vec<LaneStatus>>,
    known: Option<(u128, u64)>,
) -> (CoreFigures, bool) {
    let m = core.machine();
    let targets = m.settings();
    let gaps_key = (m.dedupe().missing_total(), m.effect_seq());
    let read = known != Some(gaps_key);
    let missing: Vec<(String, u64)> = if read && gaps_key.0 > 0 {
        m.dedupe()
            .gaps()
            .into_iter()
            .map(|g| (m.sources().name(g.source).to_owned(), g.missing))
            .collect()
    } else {
        Vec::new()
    };
    let figures = CoreFigures {
        counters: m.counters(),
        sla_targets_min: SlaMeasure::ALL.map(|s| targets.get(s)),
        effect_seq: m.effect_seq(),
        sources_with_gaps: missing.len() as u64,
        missing,
        missing_total: gaps_key.0,
        lanes,
        gaps_key,
    };
    (figures, read)
}

impl CoreFigures {
    /// Sorts the sources with gaps, those missing the most first, and sums those past
    /// [`MAX_GAP_SOURCES`] under [`OTHER_SOURCES`].
    fn sort_gaps(mut self) -> CoreFigures {
        let gaps = &mut self.missing;
        gaps.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        if gaps.len() > MAX_GAP_SOURCES {
            let rest = gaps[MAX_GAP_SOURCES..]
                .iter()
                .fold(0u64, |s, g| s.saturating_add(g.1));
            gaps.truncate(MAX_GAP_SOURCES);
            gaps.push((OTHER_SOURCES.to_owned(), rest));
        }
        self
    }
}

/// Sums the sizes of the segment files (`<20 digits>.seg`) in the journal directory.
fn journal_disk(journal: &Path) -> JournalDisk {
    let mut disk = JournalDisk::default();
    let Ok(entries) = std::fs::read_dir(journal) else {
        return disk;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let is_segment = name
            .to_str()
            .and_then(waybill_core::journal::segment::parse_segment_file_name)
            .is_some();
        if let (true, Ok(meta)) = (is_segment, e.metadata()) {
            disk.bytes += meta.len();
            disk.segments += 1;
        }
    }
    disk
}

/// What the effect log showed: counted from the oldest effect it held when the service
/// started counting, up to [`Self::next_seq`] (exclusive).
#[derive(Debug, Clone, Default)]
pub struct EffectCounts {
    /// The first seq counted (0: counting has not started).
    pub first_seq: u64,
    /// The next seq to count.
    pub next_seq: u64,
    /// Effects by type, in [`EffectType::ALL`] order.
    pub by_type: [u64; 8],
    /// `alert.sla_breached` by measure, in [`SlaMeasure::ALL`] order.
    pub breaches: [u64; 3],
    /// Proof-of-delivery propagation: per bucket of [`POD_BUCKETS_S`] (not cumulative), the
    /// last one `+Inf`.
    pub pod_buckets: [u64; POD_BUCKETS_S.len() + 1],
    /// Sum of the propagations observed, in seconds.
    pub pod_sum_s: f64,
    /// Propagations observed.
    pub pod_count: u64,
    /// Effects deleted by retention before they were counted.
    pub skipped: u64,
    /// The last error reading the log, if the last read failed.
    pub error: Option<String>,
}

impl EffectCounts {
    fn observe_pod(&mut self, seconds: f64) {
        let i = POD_BUCKETS_S
            .iter()
            .position(|&b| seconds <= b)
            .unwrap_or(POD_BUCKETS_S.len());
        self.pod_buckets[i] += 1;
        self.pod_sum_s += seconds;
        self.pod_count += 1;
    }
}

/// A cursor into the effect log and what it counted.
#[derive(Default)]
struct Tally {
    reader: Option<LogReader>,
    counts: EffectCounts,
    confirmed: Recent,
}

impl Tally {
    /// Counts the effects whose records are durable, from the cursor on, at most
    /// [`EFFECTS_PER_REFRESH`].
    fn advance(&mut self, dir: &Path, durable: u64) {
        if self.reader.is_none() {
            match LogReader::open_first(dir) {
                Ok(r) => {
                    self.counts.first_seq = r.next_seq();
                    self.counts.next_seq = r.next_seq();
                    self.reader = Some(r);
                }
                Err(e) => {
                    self.counts.error = Some(e.to_string());
                    return;
                }
            }
        }
        let reader = self.reader.as_mut().expect("opened above");
        self.counts.error = None;
        let mut read = 0;
        while read < EFFECTS_PER_REFRESH {
            let head = match reader.peek(durable) {
                Ok(Some(h)) => h,
                Ok(None) => break,
                Err(OutboxError::Gone { first, .. }) if first > reader.next_seq() => {
                    // Retention deleted what was not counted yet: go on from what is left.
                    self.counts.skipped += first - reader.next_seq();
                    *reader = LogReader::open(dir, first);
                    continue;
                }
                Err(e) => {
                    self.counts.error = Some(e.to_string());
                    break;
                }
            };
            let t = head.effect_type;
            if let Some(i) = EffectType::ALL.iter().position(|x| *x == t) {
                self.counts.by_type[i] += 1;
            }
            if matches!(
                t,
                EffectType::AlertSlaBreached | EffectType::BillingDeliveryConfirmed
            ) && let Ok(json) = reader.json()
            {
                look_into(&mut self.counts, &mut self.confirmed, t, head.time_us, json);
            }
            reader.consume();
            read += 1;
        }
        self.counts.next_seq = reader.next_seq();
    }
}

/// Counts a breach's measure; observes a shipment's first confirmed delivery's propagation:
/// the effect's time (the ingest time of the record that made the shipment delivered) minus
/// the delivered time (that `shipment.delivered`'s event time).
fn look_into(
    counts: &mut EffectCounts,
    confirmed: &mut Recent,
    t: EffectType,
    time_us: i64,
    json: &[u8],
) {
    if t == EffectType::AlertSlaBreached {
        let Ok(b) = serde_json::from_slice::<Wire<BreachData>>(json) else {
            return;
        };
        if let Some(i) = SlaMeasure::ALL
            .iter()
            .position(|m| m.as_str() == b.data.measure)
        {
            counts.breaches[i] += 1;
        }
        return;
    }
    let Ok(c) = serde_json::from_slice::<Wire<ConfirmedData>>(json) else {
        return;
    };
    let shipment = c
        .subject
        .strip_prefix("shipment/")
        .and_then(|s| s.parse::<u64>().ok());
    let delivered = waybill_core::time::parse_rfc3339_us(&c.data.delivered);
    if let (Some(id), Some(delivered)) = (shipment, delivered)
        && confirmed.insert(id)
    {
        let us = time_us.saturating_sub(delivered).max(0);
        counts.observe_pod(us as f64 / 1e6);
    }
}

/// The parts of an effect's CloudEvent read here.
#[derive(Deserialize)]
struct Wire<'a, D> {
    #[serde(borrow)]
    subject: Cow<'a, str>,
    data: D,
}

#[derive(Deserialize)]
struct BreachData<'a> {
    #[serde(borrow)]
    measure: Cow<'a, str>,
}

#[derive(Deserialize)]
struct ConfirmedData<'a> {
    #[serde(borrow)]
    delivered: Cow<'a, str>,
}

/// The last [`CONFIRMED_REMEMBERED`] shipments seen, oldest forgotten first.
#[derive(Default)]
struct Recent {
    set: HashSet<u64>,
    order: VecDeque<u64>,
}

impl Recent {
    /// Remembers `id`; false when it was remembered already.
    fn insert(&mut self, id: u64) -> bool {
        if !self.set.insert(id) {
            return false;
        }
        if self.order.len() == CONFIRMED_REMEMBERED
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        self.order.push_back(id);
        true
    }
}

/// The figures read at scrape time, encoded as metric families.
#[derive(Debug, Default)]
struct Live {
    figures: parking_lot::Mutex<Figures>,
}

/// The breaker state as a number: 0 closed, 1 half-open, 2 open.
pub fn breaker_number(b: BreakerState) -> u64 {
    match b {
        BreakerState::Closed => 0,
        BreakerState::HalfOpen => 1,
        BreakerState::Open => 2,
    }
}

fn gauge<'a>(
    enc: &'a mut DescriptorEncoder<'_>,
    name: &'a str,
    help: &str,
    unit: Option<&'a Unit>,
    v: u64,
) -> std::fmt::Result {
    enc.encode_descriptor(name, help, unit, MetricType::Gauge)?
        .encode_gauge(&v)
}

fn counter(m: &mut MetricEncoder, v: u64) -> std::fmt::Result {
    m.encode_counter::<NoLabelSet, u64, u64>(&v, None)
}

impl Collector for Live {
    fn encode(&self, mut enc: DescriptorEncoder) -> std::fmt::Result {
        let f = self.figures.lock();
        if !f.read {
            return Ok(()); // the journal is being opened
        }
        gauge(
            &mut enc,
            "journal_lsn",
            "LSN of the last record journaled and applied",
            None,
            f.lsn,
        )?;
        gauge(
            &mut enc,
            "journal_durable_lsn",
            "Every record up to this LSN is durable",
            None,
            f.durable_lsn,
        )?;
        gauge(
            &mut enc,
            "journal_size",
            "Sum of the journal's segment file sizes (segments are allocated whole)",
            Some(&Unit::Bytes),
            f.journal.bytes,
        )?;
        gauge(
            &mut enc,
            "journal_segments",
            "Segment files in the journal directory",
            None,
            f.journal.segments,
        )?;
        gauge(
            &mut enc,
            "writer_queued_batches",
            "Batches waiting for the core's writer thread or being applied",
            None,
            f.queued_batches,
        )?;
        if let Some(core) = &f.core {
            let mut m = enc.encode_descriptor(
                "missing_events",
                "Missing sequences per source (gaps), the sources missing the most first",
                None,
                MetricType::Gauge,
            )?;
            for (source, n) in &core.missing {
                m.encode_family(&[("source", source.as_str())])?
                    .encode_gauge(n)?;
            }
            if let Some(lanes) = &core.lanes {
                encode_lanes(&mut enc, lanes)?;
            }
        }
        encode_effects(&mut enc, &f.effects)
    }
}

/// The lanes some effect type travels in, with their labels.
fn lanes_in_use(lanes: &[LaneStatus]) -> impl Iterator<Item = (&LaneStatus, [(&str, &str); 2])> {
    let in_use = LaneId::in_use();
    lanes
        .iter()
        .filter(move |s| in_use.contains(&s.lane))
        .map(|s| {
            (
                s,
                [
                    ("sink", s.lane.sink.as_str()),
                    ("class", s.lane.class.as_str()),
                ],
            )
        })
}

fn encode_lanes(enc: &mut DescriptorEncoder, lanes: &[LaneStatus]) -> std::fmt::Result {
    type Pick = fn(&LaneStatus) -> u64;
    let gauges: [(&str, &str, Pick); 3] = [
        (
            "effects_pending",
            "Effects of durable records not yet acknowledged or dead-lettered (the backlog), per lane",
            |s| s.pending,
        ),
        (
            "effects_dead_lettered",
            "Dead-lettered effects held per lane (not redriven)",
            |s| s.dead,
        ),
        (
            "effect_breaker_state",
            "Circuit breaker per lane: 0 closed, 1 half-open, 2 open",
            |s| breaker_number(s.breaker),
        ),
    ];
    for (name, help, pick) in gauges {
        let mut m = enc.encode_descriptor(name, help, None, MetricType::Gauge)?;
        for (s, labels) in lanes_in_use(lanes) {
            m.encode_family(&labels)?.encode_gauge(&pick(s))?;
        }
    }
    let counters: [(&str, &str, Pick); 4] = [
        (
            "effects_delivered",
            "Effects acknowledged by their sink, per lane (kept across restarts)",
            |s| s.delivered_total,
        ),
        (
            "effect_delivery_attempts",
            "Calls to the sink (one batch each, probes included) since the service started, per lane",
            |s| s.calls,
        ),
        (
            "effect_delivery_failures",
            "Failed calls to the sink since the service started, per lane",
            |s| s.failures,
        ),
        (
            "effect_breaker_trips",
            "Times the lane's circuit breaker opened since the service started",
            |s| s.trips,
        ),
    ];
    for (name, help, pick) in counters {
        let mut m = enc.encode_descriptor(name, help, None, MetricType::Counter)?;
        for (s, labels) in lanes_in_use(lanes) {
            counter(&mut m.encode_family(&labels)?, pick(s))?;
        }
    }
    Ok(())
}

fn encode_effects(enc: &mut DescriptorEncoder, c: &EffectCounts) -> std::fmt::Result {
    let mut m = enc.encode_descriptor(
        "effects_derived",
        "Effects in the effect log by type, counted from the oldest effect the log held when \
         the service started",
        None,
        MetricType::Counter,
    )?;
    for (t, n) in EffectType::ALL.iter().zip(c.by_type) {
        counter(&mut m.encode_family(&[("type", t.as_str())])?, n)?;
    }
    let mut m = enc.encode_descriptor(
        "sla_breaches",
        "alert.sla_breached effects by measure (order_to_dispatch, invoice_cycle, \
         pod_propagation)",
        None,
        MetricType::Counter,
    )?;
    for (measure, n) in SlaMeasure::ALL.iter().zip(c.breaches) {
        counter(&mut m.encode_family(&[("measure", measure.as_str())])?, n)?;
    }
    let buckets: Vec<(f64, u64)> = POD_BUCKETS_S
        .iter()
        .copied()
        .chain([f64::INFINITY])
        .zip(c.pod_buckets)
        .collect();
    enc.encode_descriptor(
        "pod_propagation",
        "Proof-of-delivery propagation: from a shipment's delivery (event time) to the core \
         receiving it (ingest time), per shipment's first confirmed delivery",
        Some(&Unit::Seconds),
        MetricType::Histogram,
    )?
    .encode_histogram::<NoLabelSet>(c.pod_sum_s, c.pod_count, &buckets, None)
}
