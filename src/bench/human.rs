//! The human report of `waybill bench`: every figure, its spread over the repetitions, and
//! its target, judged only for the full-size run.

use super::BenchReport;
use super::targets::{self, FULL_SIZE_EVENTS, FULL_SIZE_SHIPMENTS, RunKind, TARGET_RATE_EPS};
use std::fmt::Write as _;
use waybill_sim::report::thousands_f;

/// The throughput rows, in order.
const THROUGHPUT: [&str; 11] = [
    "limit_eps",
    "apply_only_eps",
    "pipeline_eps",
    "pipeline_group_eps",
    "replay_eps",
    "jsonl_ingest_eps",
    "sqlite_eps",
    "ratios.pipeline_vs_limit",
    "ratios.pipeline_vs_sqlite",
    "journal_bytes_per_record",
    "state_bytes_per_shipment",
];

/// The latency rows: the report's field and its offered rate.
fn latency_rows(r: &BenchReport) -> [(&'static str, u64); 6] {
    [
        ("latency_us", r.offered_rate_eps),
        ("durable_latency_us", r.offered_rate_eps),
        ("latency_at_25pct_us", r.offered_rate_at_25pct_eps),
        ("durable_latency_at_25pct_us", r.offered_rate_at_25pct_eps),
        ("latency_at_50pct_us", r.offered_rate_at_50pct_eps),
        ("durable_latency_at_50pct_us", r.offered_rate_at_50pct_eps),
    ]
}

/// A figure's value as people read it: rates and latencies whole, ratios with two decimals,
/// bytes with one.
pub fn number(figure: &str, v: f64) -> String {
    if figure.starts_with("ratios.") {
        thousands_f(v, 2)
    } else if figure.contains("bytes") {
        thousands_f(v, 1)
    } else if v.abs() >= 100.0 || v.fract() == 0.0 {
        thousands_f(v, 0)
    } else {
        thousands_f(v, 2)
    }
}

/// The whole report.
pub fn render(r: &BenchReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "waybill bench {}: {} events over {} shipments ({} touched), seed {}, {} cores",
        r.version,
        thousands_f(r.events as f64, 0),
        thousands_f(r.shipments as f64, 0),
        thousands_f(r.shipments_touched as f64, 0),
        r.seed,
        r.cores
    );
    let _ = writeln!(out, "{}", scope_line(r));
    if r.repeat > 1 {
        let _ = writeln!(
            out,
            "every figure is the median of {} runs, with the least and the greatest (min .. max)",
            r.repeat
        );
    }
    out.push('\n');
    throughput(&mut out, r);
    out.push('\n');
    latency(&mut out, r);
    out
}

/// Whether the targets apply, and why not.
fn scope_line(r: &BenchReport) -> String {
    let full = format!(
        "{} events over {} shipments",
        thousands_f(FULL_SIZE_EVENTS as f64, 0),
        thousands_f(FULL_SIZE_SHIPMENTS as f64, 0)
    );
    let rate = thousands_f(TARGET_RATE_EPS as f64, 0);
    if !r.full_size {
        format!(
            "smoke test: the targets are for the full-size run ({full}, latency at {rate} events/s \
             offered); no figure of a smaller run is comparable with them"
        )
    } else if r.offered_rate_eps != TARGET_RATE_EPS {
        format!(
            "full-size run: the targets apply, except the latency targets (for {rate} events/s offered)"
        )
    } else {
        "full-size run: the targets apply".to_owned()
    }
}

fn run_kind(r: &BenchReport) -> RunKind {
    RunKind {
        full_size: r.full_size,
        offered_rate_eps: r.offered_rate_eps,
    }
}

/// The measured value of a figure (`None`: not run).
fn measured(r: &BenchReport, figure: &str) -> Option<f64> {
    r.spread.get(figure).map(|s| s.median)
}

fn spread_text(r: &BenchReport, figure: &str) -> String {
    match r.spread.get(figure) {
        Some(s) if r.repeat > 1 => {
            format!("{} .. {}", number(figure, s.min), number(figure, s.max))
        }
        _ => String::new(),
    }
}

fn target_text(r: &BenchReport, figure: &str) -> (String, String) {
    match targets::of(figure) {
        Some(t) => {
            let v = t.judge(measured(r, figure), run_kind(r), |f| measured(r, f));
            (t.describe(), v.to_string())
        }
        None => (String::new(), String::new()),
    }
}

fn throughput(out: &mut String, r: &BenchReport) {
    let _ = writeln!(
        out,
        "{:<28} {:>14}  {:<27} {:<22} verdict",
        "figure", "value", "min .. max", "target"
    );
    for figure in THROUGHPUT {
        let (target, verdict) = target_text(r, figure);
        let value = measured(r, figure).map_or("not run".to_owned(), |v| number(figure, v));
        let line = format!(
            "{figure:<28} {value:>14}  {:<27} {target:<22} {verdict}",
            spread_text(r, figure)
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
    let _ = writeln!(
        out,
        "(sqlite_eps on the first {} events)",
        thousands_f(r.sqlite_events as f64, 0)
    );
}

fn latency(out: &mut String, r: &BenchReport) {
    let _ = writeln!(
        out,
        "latency in µs, open loop, {} events offered: applied under none, durable under group",
        thousands_f(r.latency_events as f64, 0)
    );
    let _ = writeln!(
        out,
        "{:<28} {:>10} {:>9} {:>9} {:>9} {:>9}  {:<21} {:<13} verdict",
        "figure", "offered/s", "p50", "p99", "p99.9", "max", "p99 min .. max", "p99 target"
    );
    for (figure, rate) in latency_rows(r) {
        let p99 = format!("{figure}.p99");
        let (target, verdict) = target_text(r, &p99);
        let line = if measured(r, &p99).is_none() {
            format!("{figure:<28} {:>10}", "not run")
        } else {
            let p = |q: &str| number(figure, measured(r, &format!("{figure}.{q}")).unwrap_or(0.0));
            format!(
                "{figure:<28} {:>10} {:>9} {:>9} {:>9} {:>9}  {:<21} {target:<13} {verdict}",
                thousands_f(rate as f64, 0),
                p("p50"),
                p("p99"),
                p("p999"),
                p("max"),
                spread_text(r, &p99),
            )
        };
        let _ = writeln!(out, "{}", line.trim_end());
    }
}
