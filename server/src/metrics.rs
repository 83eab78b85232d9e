//! `GET /metrics`: the Prometheus text format. Counters of what `POST /v1/events` received are
//! kept as requests are answered; the core's figures are read when scraped.

use crate::http::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::time::Instant;
use waybill_core::Outcome;

/// The systems a source may name (`<system>/<name>`); any other is counted as `other`.
const SYSTEMS: [&str; 4] = ["erp", "route", "fleet", "billing"];

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
            prometheus_client::registry::Unit::Seconds,
            ingest_latency.clone(),
        );
        let durable_latency = Histogram::new(latency_buckets());
        registry.register_with_unit(
            "durable_latency",
            "From a request's arrival to its answer: the batch durable",
            prometheus_client::registry::Unit::Seconds,
            durable_latency.clone(),
        );
        Metrics {
            registry,
            events,
            ingest_latency,
            durable_latency,
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

    /// The text exposition of every family.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}

/// `GET /metrics`.
pub async fn handler(State(app): State<Arc<AppState>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        app.metrics.encode(),
    )
        .into_response()
}
