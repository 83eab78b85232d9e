//! The run report: what a QA engineer reads. [`Report`] holds every figure; it renders as a
//! human summary (a checklist like a load-testing tool's), as JSON (`--report`), and as one
//! self-contained HTML file with charts (`--html`).

use serde::Serialize;

mod effects;
mod format;

pub use effects::{
    BreakerSpan, ClassLatency, Distribution, EffectBucket, EffectTimeline, EffectsReport,
    HistogramBin, SinkEffects, SinkOutage, SlaMeasureReport, SlaReport,
};
pub use format::thousands_f;
mod html;
mod human;
mod progress;
mod suite;
mod svg;

pub use progress::{Progress, ProgressBar, ProgressOptions, Status};
pub use suite::{SuiteRun, junit, summary};

/// Everything a run measured and concluded. Times are simulated unless named `wall`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    pub scenario: String,
    pub description: String,
    pub seed: u64,
    /// True when every check passed.
    pub passed: bool,
    pub checks: Vec<Check>,
    /// The core's counters at the end (the names of docs/state.md, the summary).
    pub counters: Counters,
    /// What the delivery network and the world injected.
    pub injected: InjectedReport,
    pub world: crate::world::Facts,
    pub throughput: Throughput,
    /// From submission to applied (paced runs: from the intended submission time, so no
    /// coordinated omission). None when nothing was measured.
    pub latency_us: Option<Percentiles>,
    pub outages: Vec<crate::network::OutageWindow>,
    pub crashes: Vec<CrashReport>,
    /// What the producers handed over, what the core acknowledged, and what crashes lost.
    pub acknowledgements: Acknowledgements,
    pub timeline: Timeline,
    pub leakage: Leakage,
    /// The effects the core derived and their delivery to the simulated downstream systems.
    pub effects: EffectsReport,
    pub journal: String,
    pub lsn: u64,
    pub digest: String,
}

/// One line of the checklist.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Check {
    /// Short, stable name (for example `conservation`, `shipments_match_ground_truth`).
    pub name: String,
    pub passed: bool,
    pub expected: String,
    pub actual: String,
    /// Why it failed (first differences), or empty.
    pub detail: String,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Counters {
    pub received: u64,
    pub applied: u64,
    pub duplicates: u64,
    pub dead_lettered: u64,
    /// Every reason in check order (docs/events.md) -> count.
    pub dead_letter_reasons: Vec<(String, u64)>,
    pub missing: u128,
    pub shipments: u64,
    pub vehicles: u64,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct InjectedReport {
    pub events_generated: u64,
    pub deliveries: u64,
    pub duplicates: u64,
    pub dropped: u64,
    pub dropped_detectable: u64,
    pub reordered: u64,
    pub held_by_outage: u64,
    /// Reason -> malformed copies injected.
    pub malformed: Vec<(String, u64)>,
}

/// The producers' account. An acknowledgement is the durable LSN under `group` and `sync`,
/// and "applied" under `none` (which promises nothing).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Acknowledgements {
    /// Deliveries handed to the core, redeliveries included.
    pub sent: u64,
    /// Records acknowledged over the run (one cut by a crash and sent again counts again).
    pub acknowledged: u64,
    /// Acknowledged, then lost by a crash: always 0 under `group` and `sync` (a check).
    pub lost_acknowledged: u64,
    /// Journaled but not acknowledged when a crash cut them (the producers sent them again).
    pub lost_unacknowledged: u64,
    /// Deliveries sent again after crashes because they were not acknowledged.
    pub redelivered: u64,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Throughput {
    pub events: u64,
    /// Wall time spent in the core (ingest), seconds.
    pub wall_seconds: f64,
    pub events_per_second: f64,
    /// Wall time of each phase, seconds.
    pub generate_seconds: f64,
    pub check_seconds: f64,
    /// Simulated span covered by the run, seconds.
    pub simulated_seconds: f64,
    /// "max", or simulated seconds per wall second.
    pub pace: String,
    pub durability: String,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Percentiles {
    pub count: u64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CrashReport {
    /// Simulated time of the crash (RFC 3339).
    pub at: String,
    /// `process` (the page cache survives) or `power` (what was not durable may be lost).
    pub mode: String,
    /// LSN the reopened journal held.
    pub lsn_after_reopen: u64,
    /// Acknowledged records the reopened journal no longer held.
    pub lost_acknowledged: u64,
    /// Unacknowledged records the reopened journal no longer held.
    pub lost_unacknowledged: u64,
    /// Deliveries sent again because they were not acknowledged.
    pub redelivered: u64,
    /// What a power cut did to the journal's files (power crashes only).
    pub power_cut: Option<PowerCutReport>,
    /// Effects the reopened core cut from its effect log (their records were lost).
    pub effects_cut: u64,
    /// Effects the reopened core derived again because its effect log lacked them.
    pub effects_rederived: u64,
}

/// What a power cut did to the pages that were not durable.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct PowerCutReport {
    /// The seed that chose the pages kept (drawn from the run's seed).
    pub seed: u64,
    /// Pages that held bytes not made durable.
    pub pages_unflushed: u64,
    /// Of those, pages that reached the disk whole.
    pub pages_kept: u64,
    /// Of those, pages lost.
    pub pages_lost: u64,
    /// Where a page was torn part way (`segment file+offset`), if one was.
    pub torn_at: Option<String>,
    /// Bytes of the effect log's last segment that were not synced, and of those the bytes
    /// the cut took.
    pub effect_log_bytes_unsynced: u64,
    pub effect_log_bytes_lost: u64,
}

/// Per-bucket series over simulated time, for the charts.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Timeline {
    /// Simulated start of bucket 0 (RFC 3339) and the bucket width.
    pub start: String,
    pub bucket_seconds: u64,
    pub buckets: Vec<Bucket>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Bucket {
    /// Deliveries arriving in the bucket, by system: erp, route, fleet, billing.
    pub arrivals_by_system: [u64; 4],
    /// Events emitted by the world but not yet delivered at the end of the bucket
    /// (held by outages or delays).
    pub backlog: u64,
    /// Latency of the batches applied in this bucket (paced runs), microseconds.
    pub latency_p99_us: Option<u64>,
    pub dead_lettered: u64,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Leakage {
    /// Detention charges billing forgot (ground truth).
    pub omitted_detention_charges: u64,
    /// Shipments the ground truth says leak, every currency.
    pub expected_leaking_shipments: u64,
    /// Shipments with leakage in the core, every currency.
    pub leaking_shipments: u64,
    /// Money per currency (the contract's; `unknown` for shipments without an order), sorted
    /// by currency: cents of different currencies are never added.
    pub currencies: Vec<CurrencyLeakage>,
}

/// The leakage of the shipments of one currency.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct CurrencyLeakage {
    pub currency: String,
    /// What billing forgot (ground truth): detention charges and their cents.
    pub omitted_detention_charges: u64,
    pub omitted_detention_cents: i128,
    /// What the ground truth says leaks: forgotten detention plus delivered shipments not yet
    /// (fully) billed when the run ends.
    pub expected_cents: i128,
    pub expected_leaking_shipments: u64,
    /// What the core found: the summary's leakage total of the currency, and its shipments
    /// with leakage.
    pub found_cents: i128,
    pub leaking_shipments: u64,
    /// Largest leaks of the currency: (shipment id, cents), at most 10.
    pub top: Vec<(u64, i128)>,
}

impl Leakage {
    /// True when the core found, in every currency, what the ground truth expects.
    pub fn all_found(&self) -> bool {
        self.currencies
            .iter()
            .all(|c| c.found_cents == c.expected_cents)
    }
}

impl Report {
    /// The human summary (no colours when `color` is false).
    pub fn human(&self, color: bool) -> String {
        human::render(self, color)
    }

    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).expect("reports serialize")
    }

    /// One self-contained HTML file (no network): checklist, counters, and charts.
    pub fn html(&self) -> String {
        html::render(self)
    }

    /// The names of the failed checks, in checklist order.
    pub fn failed_checks(&self) -> Vec<&str> {
        self.checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| c.name.as_str())
            .collect()
    }

    /// The final line: `PASSED: 12/12 checks` or `FAILED: 2 of 12 checks failed: a, b`.
    pub fn verdict(&self) -> String {
        let failed = self.failed_checks();
        let n = self.checks.len();
        if !failed.is_empty() {
            format!(
                "FAILED: {} of {n} checks failed: {}",
                failed.len(),
                failed.join(", ")
            )
        } else if self.passed {
            format!("PASSED: {n}/{n} checks")
        } else {
            format!("FAILED: the run did not pass ({n}/{n} checks passed)")
        }
    }

    /// True when the run passed and no check failed.
    pub fn ok(&self) -> bool {
        self.passed && self.checks.iter().all(|c| c.passed)
    }
}
