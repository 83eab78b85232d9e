//! `waybill bench`: every path of docs/cli.md (`waybill bench`) on the same simulator-generated
//! events, in one process, so the ratios hold on a noisy machine.
//!
//! With `--repeat N` the throughput paths run in N rounds (each round runs every path once,
//! so a disturbance of the machine hits one round of every path rather than every round of
//! one), then the latency runs N times; every figure of the report is the median of its
//! measurements, and `spread` gives each one's minimum, median and maximum.
//!
//! `--only restart` runs the restart curve alone ([`restart`]): it is long, and no other
//! path runs it.
//!
//! The SQLite path needs the `sqlite` cargo feature (on by default). A build without it runs
//! every other path and reports the SQLite figures as null, saying why in `notes`.

pub mod compare;
mod effects;
pub mod hgrm;
pub mod human;
mod latency;
mod limit;
mod paths;
pub mod plot;
pub mod restart;
pub mod samples;
#[cfg(feature = "sqlite")]
mod sqlite;
pub mod targets;

use hdrhistogram::Histogram;
use restart::RestartPoint;
use samples::{Samples, Spread};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use waybill_core::encode::encode_event;
use waybill_core::event::{Entry, Event};
use waybill_core::journal::{Durability, JournalOptions};
use waybill_core::snapshot::policy::SnapshotPolicy;

/// Events per batch handed to the core in the throughput paths.
pub const BATCH_EVENTS: usize = 4096;
/// Journal segment size for the benchmark's journals (smaller for small runs, see
/// [`segment_bytes`]).
const SEGMENT_BYTES_MAX: u64 = 256 << 20;
/// The smallest segment the benchmark uses.
const SEGMENT_BYTES_MIN: u64 = 8 << 20;
/// What a record is assumed to take when sizing segments for a small run (more than any
/// record of the mix takes).
const SEGMENT_SIZING_BYTES_PER_EVENT: u64 = 256;
/// The SQLite path runs on at most this many events (it is the slow one).
pub const SQLITE_EVENTS_MAX: usize = 1_000_000;
/// Whether this build has the SQLite path (the `sqlite` cargo feature).
pub const SQLITE_BUILT: bool = cfg!(feature = "sqlite");
/// The report's note in a build without the SQLite path.
pub const SQLITE_NOT_BUILT: &str = "sqlite_eps, sqlite_events and ratios.pipeline_vs_sqlite \
     are null: waybill was built without the sqlite feature";
/// The figures of the SQLite path (null in a build without it).
pub const SQLITE_FIGURES: [&str; 2] = ["sqlite_eps", "ratios.pipeline_vs_sqlite"];
/// The open-loop latency runs use at most this many events.
pub const LATENCY_EVENTS_MAX: usize = 2_000_000;
/// The paths `--only` accepts. Every one but `restart` runs by default.
pub const PATHS: [&str; 11] = [
    "limit", "apply", "pipeline", "replay", "snapshot", "group", "jsonl", "sqlite", "latency",
    "effects", "restart",
];
/// The path only `--only` runs.
const RESTART_PATH: &str = "restart";
/// The stall run asks for a background snapshot every `latency_events / this` records.
const STALL_SNAPSHOTS_PER_RUN: u64 = 4;

#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub events: u64,
    pub shipments: u64,
    pub offered_rate_eps: u64,
    pub seed: u64,
    /// Rounds of every path (`--repeat`), at least 1.
    pub repeat: u32,
    /// Where the journals and the SQLite file go (removed after).
    pub dir: PathBuf,
    /// Run only this path (for profiling one path); every path when None.
    pub only: Option<String>,
}

#[derive(Debug, Clone, Serialize, Default, PartialEq, Eq)]
pub struct Latency {
    pub p50: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Ratios {
    pub pipeline_vs_limit: f64,
    /// `None` (null) in a build without the `sqlite` feature.
    pub pipeline_vs_sqlite: Option<f64>,
    /// `pipeline_effects_eps / pipeline_eps`: what keeping effects in the outbox costs.
    pub pipeline_effects_vs_pipeline: f64,
}

/// Every figure of `waybill bench` (docs/cli.md), and what they were measured on. With
/// `repeat` > 1 every figure is the median of its measurements (`spread`).
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub events: u64,
    pub shipments: u64,
    pub shipments_touched: u64,
    pub limit_eps: f64,
    pub apply_only_eps: f64,
    pub pipeline_eps: f64,
    pub pipeline_group_eps: f64,
    /// The pipeline with effects kept: each batch's effects rendered and appended to the
    /// outbox (derivation itself runs in every path).
    pub pipeline_effects_eps: f64,
    /// Effects that run derived.
    pub effects_derived: u64,
    /// Those effects delivered to file sinks by the outbox's lanes, per second.
    pub effects_eps: f64,
    pub replay_eps: f64,
    /// Replay split by key group over every core (`waybill_core::partition`): the digest,
    /// counters and views, not the writer's store layout.
    pub replay_parallel_eps: f64,
    pub jsonl_ingest_eps: f64,
    /// `None` (null) in a build without the `sqlite` feature, as are `sqlite_events` and
    /// `ratios.pipeline_vs_sqlite`; `notes` then says so.
    pub sqlite_eps: Option<f64>,
    pub sqlite_events: Option<u64>,
    pub ratios: Ratios,
    pub offered_rate_eps: u64,
    pub latency_events: u64,
    pub latency_us: Latency,
    pub durable_latency_us: Latency,
    /// 25 % of `pipeline_eps` (0 when the latency runs did not run).
    pub offered_rate_at_25pct_eps: u64,
    pub latency_at_25pct_us: Latency,
    pub durable_latency_at_25pct_us: Latency,
    /// 50 % of `pipeline_eps`.
    pub offered_rate_at_50pct_eps: u64,
    pub latency_at_50pct_us: Latency,
    pub durable_latency_at_50pct_us: Latency,
    /// The 25 % run again, with background snapshots taken during it.
    pub snapshot_stall_us: Latency,
    /// Background snapshots taken during each stall run (the median over the runs).
    pub snapshots_during_stall_run: u64,
    pub state_bytes_per_shipment: f64,
    pub journal_bytes_per_record: f64,
    /// `Core::open` of the pipeline's journal from a snapshot at its end.
    pub restart_ms: f64,
    /// `Core::open` of the same journal with no snapshot (a replay of every record).
    pub restart_full_ms: f64,
    /// `Core::snapshot` of the pipeline's whole state (serialize, fsync, rename).
    pub snapshot_ms: f64,
    pub snapshot_bytes_per_shipment: f64,
    /// `--only restart`: restart from a snapshot near the end, and in full, as the journal
    /// grows (empty unless that path ran).
    pub restart_curve: Vec<RestartPoint>,
    pub generate_seconds: f64,
    pub cores: usize,
    pub seed: u64,
    /// The version of `waybill` that ran.
    pub version: String,
    /// The full-size workload, the one the targets are for.
    pub full_size: bool,
    pub repeat: u32,
    /// Minimum, median and maximum of every figure measured, by field path.
    pub spread: BTreeMap<String, Spread>,
    /// What the reader of the figures should know about this build (left out when empty):
    /// [`SQLITE_NOT_BUILT`] without the `sqlite` feature.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// One open-loop latency run's distribution, all repetitions pooled.
pub struct LatencyRun {
    /// The report's field.
    pub figure: &'static str,
    /// `applied`, `durable`, or `applied+snapshots` (applied, with background snapshots
    /// taken during the run).
    pub measure: &'static str,
    pub durability: Durability,
    pub offered_eps: u64,
    /// The snapshots the core takes during the run (`applied+snapshots` only).
    pub snapshot_policy: Option<SnapshotPolicy>,
    pub histogram: Histogram<u64>,
}

/// A benchmark run: its report, and the latency distributions behind it.
pub struct Bench {
    pub report: BenchReport,
    pub latency_runs: Vec<LatencyRun>,
}

fn eps(n: usize, seconds: f64) -> f64 {
    if seconds > 0.0 {
        n as f64 / seconds
    } else {
        0.0
    }
}

/// Segments of 256 MiB, or smaller when the run's events need less (a power of two, at least
/// 8 MiB): every journal opened prepares a segment and a spare, so a small run does not clear
/// half a gigabyte of pages per journal it never fills.
fn segment_bytes(events: usize) -> u64 {
    (events as u64 * SEGMENT_SIZING_BYTES_PER_EVENT)
        .next_power_of_two()
        .clamp(SEGMENT_BYTES_MIN, SEGMENT_BYTES_MAX)
}

fn journal_opts(durability: Durability, events: usize) -> JournalOptions {
    JournalOptions {
        segment_bytes: segment_bytes(events),
        durability,
        ..JournalOptions::default()
    }
}

/// Each path starts with no dirty pages left behind by the one before: writing back
/// gigabytes of an earlier path's journal would otherwise run (on the kernel's threads,
/// taking CPU) during this one. A path still pays for its own writeback.
fn settle() {
    // SAFETY: sync(2) has no preconditions and cannot fail.
    unsafe { libc::sync() };
}

/// Removes a scratch directory of an earlier path, if any.
fn clear(dir: &Path) {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => panic!("cannot remove {}: {e}", dir.display()),
    }
}

/// The events of the run, in every form the paths take them.
struct Workload {
    entries: Vec<Entry>,
    /// The SQLite path's events (none in a build without it).
    sqlite_events: Vec<Event>,
    jsonl: Arc<[u8]>,
    shipments_touched: u64,
    generate_seconds: f64,
}

/// The workload; the JSONL text only when the `jsonl` path runs (at full size it takes
/// gigabytes).
fn workload(opts: &BenchOptions) -> Workload {
    let t0 = Instant::now();
    let w = waybill_sim::workload::workload(opts.events, opts.shipments, opts.seed);
    let generate_seconds = t0.elapsed().as_secs_f64();
    let sqlite_events = if SQLITE_BUILT {
        w.events[..w.events.len().min(SQLITE_EVENTS_MAX)].to_vec()
    } else {
        Vec::new()
    };
    let mut jsonl = Vec::new();
    if wants(opts, "jsonl") {
        jsonl.reserve(w.events.len() * 260);
        for e in &w.events {
            encode_event(e, &mut jsonl);
            jsonl.push(b'\n');
        }
    }
    Workload {
        entries: w.events.into_iter().map(Entry::Event).collect(),
        sqlite_events,
        jsonl: jsonl.into(),
        shipments_touched: w.shipments_touched,
        generate_seconds,
    }
}

/// Runs every path (or the one of `--only`) `opts.repeat` times; `progress` gets a line per
/// finished path.
pub fn run(opts: &BenchOptions, mut progress: impl FnMut(&str)) -> Bench {
    assert!((1..=samples::REPEAT_MAX).contains(&opts.repeat));
    assert!(opts.events > 0 && opts.shipments > 0 && opts.offered_rate_eps > 0);
    std::fs::create_dir_all(&opts.dir).expect("bench dir");
    let w = workload(opts);
    let n = w.entries.len();
    progress(&format!(
        "generated {n} events over {} shipments in {:.1} s",
        w.shipments_touched, w.generate_seconds
    ));
    let mut samples = Samples::default();
    let lat_n = n.min(LATENCY_EVENTS_MAX);
    if opts.only.as_deref() == Some(RESTART_PATH) {
        let dir = opts.dir.join(RESTART_PATH);
        clear(&dir);
        let curve = restart::curve(
            &w.entries,
            &dir,
            journal_opts(Durability::None, n),
            &mut progress,
        );
        clear(&opts.dir);
        let mut report = report(opts, &w, lat_n, &samples, &[]);
        report.restart_curve = curve;
        return Bench {
            report,
            latency_runs: Vec::new(),
        };
    }
    for round in 0..opts.repeat {
        throughput_round(opts, &w, round, &mut samples, &mut progress);
    }
    let want_latency = wants(opts, "latency");
    let latency_runs = if want_latency {
        latency_rounds(opts, &w.entries[..lat_n], &mut samples, &mut progress)
    } else {
        Vec::new()
    };
    clear(&opts.dir);
    let report = report(opts, &w, lat_n, &samples, &latency_runs);
    Bench {
        report,
        latency_runs,
    }
}

/// The report: the median of every figure, and the spread.
fn report(
    opts: &BenchOptions,
    w: &Workload,
    lat_n: usize,
    samples: &Samples,
    latency_runs: &[LatencyRun],
) -> BenchReport {
    let n = w.entries.len() as u64;
    let rate_at = |figure| {
        latency_runs
            .iter()
            .find(|r| r.figure == figure)
            .map_or(0, |r| r.offered_eps)
    };
    let m = |figure: &str| samples.median_or_zero(figure);
    let lat = |figure: &str| latency_median(samples, figure);
    BenchReport {
        events: n,
        shipments: opts.shipments,
        shipments_touched: w.shipments_touched,
        limit_eps: m("limit_eps"),
        apply_only_eps: m("apply_only_eps"),
        pipeline_eps: m("pipeline_eps"),
        pipeline_group_eps: m("pipeline_group_eps"),
        pipeline_effects_eps: m("pipeline_effects_eps"),
        effects_derived: m("effects_derived") as u64,
        effects_eps: m("effects_eps"),
        replay_eps: m("replay_eps"),
        replay_parallel_eps: m("replay_parallel_eps"),
        jsonl_ingest_eps: m("jsonl_ingest_eps"),
        sqlite_eps: SQLITE_BUILT.then(|| m("sqlite_eps")),
        sqlite_events: SQLITE_BUILT.then_some(w.sqlite_events.len() as u64),
        ratios: Ratios {
            pipeline_vs_limit: m("ratios.pipeline_vs_limit"),
            pipeline_vs_sqlite: SQLITE_BUILT.then(|| m("ratios.pipeline_vs_sqlite")),
            pipeline_effects_vs_pipeline: m("ratios.pipeline_effects_vs_pipeline"),
        },
        offered_rate_eps: opts.offered_rate_eps,
        latency_events: lat_n as u64,
        latency_us: lat("latency_us"),
        durable_latency_us: lat("durable_latency_us"),
        offered_rate_at_25pct_eps: rate_at("latency_at_25pct_us"),
        latency_at_25pct_us: lat("latency_at_25pct_us"),
        durable_latency_at_25pct_us: lat("durable_latency_at_25pct_us"),
        offered_rate_at_50pct_eps: rate_at("latency_at_50pct_us"),
        latency_at_50pct_us: lat("latency_at_50pct_us"),
        durable_latency_at_50pct_us: lat("durable_latency_at_50pct_us"),
        snapshot_stall_us: lat("snapshot_stall_us"),
        snapshots_during_stall_run: m("snapshots_during_stall_run").round() as u64,
        state_bytes_per_shipment: m("state_bytes_per_shipment"),
        journal_bytes_per_record: m("journal_bytes_per_record"),
        restart_ms: m("restart_ms"),
        restart_full_ms: m("restart_full_ms"),
        snapshot_ms: m("snapshot_ms"),
        snapshot_bytes_per_shipment: m("snapshot_bytes_per_shipment"),
        restart_curve: Vec::new(),
        generate_seconds: w.generate_seconds,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        seed: opts.seed,
        version: env!("CARGO_PKG_VERSION").to_owned(),
        full_size: targets::is_full_size(n, opts.shipments),
        repeat: opts.repeat,
        spread: samples.spread(is_whole),
        notes: if SQLITE_BUILT {
            Vec::new()
        } else {
            vec![SQLITE_NOT_BUILT.to_owned()]
        },
    }
}

/// Figures the report holds as whole numbers (latencies in microseconds, counts).
fn is_whole(figure: &str) -> bool {
    figure.contains("latency")
        || figure.starts_with("snapshot_stall_us.")
        || figure == "snapshots_during_stall_run"
}

/// Whether `path` runs: the one `--only` names, or every path but `restart` without it.
fn wants(opts: &BenchOptions, path: &str) -> bool {
    match opts.only.as_deref() {
        Some(only) => only == path,
        None => path != RESTART_PATH,
    }
}

/// One round of the throughput paths, each after [`settle`].
fn throughput_round(
    opts: &BenchOptions,
    w: &Workload,
    round: u32,
    samples: &mut Samples,
    progress: &mut impl FnMut(&str),
) {
    let n = w.entries.len();
    let dir = opts.dir.join(format!("round-{round}"));
    clear(&dir);
    std::fs::create_dir_all(&dir).expect("bench dir");
    let mut record = |figure: &str, v: f64| {
        let of = if opts.repeat > 1 {
            format!(" ({}/{})", round + 1, opts.repeat)
        } else {
            String::new()
        };
        progress(&format!("{figure:<28} {v:>14.1}{of}"));
        samples.push(figure, v);
    };
    if wants(opts, "limit") || wants(opts, "apply") {
        // Built for each round (outside the timing) and dropped before the pipeline: at full
        // size it is a gigabyte.
        let archived = paths::Archived::of(&w.entries);
        if wants(opts, "limit") {
            settle();
            record("limit_eps", limit::run(&archived, opts.shipments));
        }
        if wants(opts, "apply") {
            settle();
            record("apply_only_eps", paths::apply_only(&archived));
        }
    }
    // Replay and the snapshot path read the journal the pipeline path writes; the latency
    // runs take their offered rates from the pipeline's.
    if ["pipeline", "replay", "snapshot", "latency"]
        .iter()
        .any(|p| wants(opts, p))
    {
        let pipe_dir = dir.join("pipeline");
        settle();
        let run = paths::pipeline(&w.entries, &pipe_dir, journal_opts(Durability::None, n));
        record("pipeline_eps", run.eps);
        record("state_bytes_per_shipment", run.state_bytes_per_shipment);
        record("journal_bytes_per_record", run.journal_bytes_per_record);
        if wants(opts, "replay") {
            settle();
            record("replay_eps", paths::replay(&pipe_dir, n));
            settle();
            record("replay_parallel_eps", paths::replay_parallel(&pipe_dir, n));
        }
        if wants(opts, "snapshot") {
            settle();
            let s = paths::snapshot(&pipe_dir, n, journal_opts(Durability::None, n));
            record("restart_full_ms", s.restart_full_ms);
            record("snapshot_ms", s.snapshot_ms);
            record("snapshot_bytes_per_shipment", s.snapshot_bytes_per_shipment);
            record("restart_ms", s.restart_ms);
        }
        clear(&pipe_dir);
    }
    if wants(opts, "effects") {
        let effects_dir = dir.join("effects");
        settle();
        let run = effects::run(&w.entries, &effects_dir, journal_opts(Durability::None, n));
        record("pipeline_effects_eps", run.pipeline_eps);
        record("effects_derived", run.derived as f64);
        record("effects_eps", run.deliver_eps);
        clear(&effects_dir);
    }
    if wants(opts, "group") {
        let group_dir = dir.join("group");
        settle();
        let run = paths::pipeline(&w.entries, &group_dir, journal_opts(Durability::Group, n));
        record("pipeline_group_eps", run.eps);
        clear(&group_dir);
    }
    if wants(opts, "jsonl") {
        let jsonl_dir = dir.join("jsonl");
        settle();
        let v = paths::jsonl(
            w.jsonl.clone(),
            n,
            &jsonl_dir,
            journal_opts(Durability::None, n),
        );
        record("jsonl_ingest_eps", v);
        clear(&jsonl_dir);
    }
    #[cfg(feature = "sqlite")]
    if wants(opts, "sqlite") {
        settle();
        record(
            "sqlite_eps",
            paths::sqlite(&w.sqlite_events, &dir.join("bench.sqlite")),
        );
    }
    #[cfg(not(feature = "sqlite"))]
    if wants(opts, "sqlite") && round == 0 {
        progress("sqlite: not run, waybill was built without the sqlite feature");
    }
    clear(&dir);
    ratios_of_round(samples, round);
}

/// The round's ratios, from the round's own figures (paths measured minutes apart on a
/// shared machine compare best within a round).
fn ratios_of_round(samples: &mut Samples, round: u32) {
    let of = |figure: &str| samples.get(figure, round);
    let (pipeline, limit, sqlite) = (of("pipeline_eps"), of("limit_eps"), of("sqlite_eps"));
    if let (Some(p), Some(e)) = (pipeline, of("pipeline_effects_eps")) {
        samples.push(
            "ratios.pipeline_effects_vs_pipeline",
            if p > 0.0 { e / p } else { 0.0 },
        );
    }
    if let (Some(p), Some(l)) = (pipeline, limit) {
        samples.push(
            "ratios.pipeline_vs_limit",
            if l > 0.0 { p / l } else { 0.0 },
        );
    }
    if let (Some(p), Some(s)) = (pipeline, sqlite) {
        samples.push(
            "ratios.pipeline_vs_sqlite",
            if s > 0.0 { p / s } else { 0.0 },
        );
    }
}

/// The open-loop latency runs, `opts.repeat` times each: at the fixed offered rate and at
/// 25 % and 50 % of the median `pipeline_eps`, applied latency under `none` and durable
/// latency under `group`; and the stall run: applied latency at 25 % again, with background
/// snapshots taken during the run.
fn latency_rounds(
    opts: &BenchOptions,
    entries: &[Entry],
    samples: &mut Samples,
    progress: &mut impl FnMut(&str),
) -> Vec<LatencyRun> {
    let pipeline_eps = samples
        .median("pipeline_eps")
        .expect("the pipeline ran before the latency runs");
    let mut runs = latency_plan(opts.offered_rate_eps, pipeline_eps, entries.len() as u64);
    let dir = opts.dir.join("latency");
    for round in 0..opts.repeat {
        for run in &mut runs {
            clear(&dir);
            settle();
            let journal = journal_opts(run.durability, entries.len());
            let policy = run.snapshot_policy.clone();
            let m = latency::open_loop(entries, &dir, journal, run.offered_eps, policy);
            let h = if run.measure == "durable" {
                m.durable
            } else {
                m.applied
            };
            let l = latency::summary(&h);
            for (p, v) in [
                ("p50", l.p50),
                ("p99", l.p99),
                ("p999", l.p999),
                ("max", l.max),
            ] {
                samples.push(&format!("{}.{p}", run.figure), v as f64);
            }
            run.histogram.add(&h).expect("same bounds");
            let mut snapshots = String::new();
            if run.snapshot_policy.is_some() {
                samples.push("snapshots_during_stall_run", m.snapshots_during_run as f64);
                snapshots = format!(", {} snapshots during the run", m.snapshots_during_run);
            }
            progress(&format!(
                "{:<28} p50 {} p99 {} max {} us at {} events/s{snapshots} ({}/{})",
                run.figure,
                l.p50,
                l.p99,
                l.max,
                run.offered_eps,
                round + 1,
                opts.repeat
            ));
        }
    }
    clear(&dir);
    runs
}

/// The latency runs, in the report's order: pairs (applied under `none`, durable under
/// `group`) at the fixed rate, 25 % and 50 % of `pipeline_eps`, the stall run after the 25 %
/// pair.
fn latency_plan(rate_eps: u64, pipeline_eps: f64, latency_events: u64) -> Vec<LatencyRun> {
    let pct = |p: f64| ((pipeline_eps * p).round() as u64).max(1);
    let run = |figure, measure, durability, offered_eps, snapshot_policy| LatencyRun {
        figure,
        measure,
        durability,
        offered_eps,
        snapshot_policy,
        histogram: latency::histogram(),
    };
    let pairs: [(&'static str, &'static str, u64); 3] = [
        ("latency_us", "durable_latency_us", rate_eps),
        (
            "latency_at_25pct_us",
            "durable_latency_at_25pct_us",
            pct(0.25),
        ),
        (
            "latency_at_50pct_us",
            "durable_latency_at_50pct_us",
            pct(0.50),
        ),
    ];
    let mut out = Vec::new();
    for (applied, durable, rate) in pairs {
        out.push(run(applied, "applied", Durability::None, rate, None));
        out.push(run(durable, "durable", Durability::Group, rate, None));
        if applied == "latency_at_25pct_us" {
            let policy = SnapshotPolicy {
                every_records: (latency_events / STALL_SNAPSHOTS_PER_RUN).max(1),
                on_close_min_records: u64::MAX,
                keep: paths::SNAPSHOTS_KEPT,
            };
            let figure = "snapshot_stall_us";
            out.push(run(
                figure,
                STALL_MEASURE,
                Durability::None,
                rate,
                Some(policy),
            ));
        }
    }
    out
}

/// The measure of the stall run.
pub const STALL_MEASURE: &str = "applied+snapshots";

fn latency_median(samples: &Samples, figure: &str) -> Latency {
    let m = |p: &str| samples.median_or_zero(&format!("{figure}.{p}")).round() as u64;
    Latency {
        p50: m("p50"),
        p99: m("p99"),
        p999: m("p999"),
        max: m("max"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_shrink_for_small_runs_only() {
        let cases = [
            (20_000, 8 << 20),
            (200_000, 64 << 20),
            (1_000_000, 256 << 20),
            (2_000_000, 256 << 20),
            (10_000_000, 256 << 20),
        ];
        for (events, want) in cases {
            assert_eq!(segment_bytes(events), want, "{events} events");
        }
    }
}
