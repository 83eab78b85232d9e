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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::samples::Samples;
    use crate::bench::{Latency, Ratios};

    /// A report as a full-size run of 3 repetitions gives it, figures near the first round's.
    fn report(full_size: bool, offered_rate_eps: u64, only_pipeline: bool) -> BenchReport {
        let mut s = Samples::default();
        let mut three = |figure: &str, v: f64| {
            for k in [0.9, 1.0, 1.1] {
                s.push(figure, v * k);
            }
        };
        three("pipeline_eps", 1_643_915.0);
        three("state_bytes_per_shipment", 250.6);
        three("journal_bytes_per_record", 185.0);
        if !only_pipeline {
            three("limit_eps", 7_112_487.0);
            three("replay_eps", 3_400_000.0);
            three("ratios.pipeline_vs_limit", 0.23);
            three("latency_us.p99", 900.0);
            three("durable_latency_us.p99", 63_999.0);
        }
        let lat = |p99| Latency {
            p50: 1,
            p99,
            p999: 2,
            max: 3,
        };
        BenchReport {
            events: if full_size { 10_000_000 } else { 20_000 },
            shipments: if full_size { 1_000_000 } else { 2_000 },
            shipments_touched: 912_271,
            limit_eps: 7_112_487.0,
            apply_only_eps: 0.0,
            pipeline_eps: 1_643_915.0,
            pipeline_group_eps: 0.0,
            replay_eps: 3_400_000.0,
            jsonl_ingest_eps: 0.0,
            sqlite_eps: 0.0,
            sqlite_events: 1_000_000,
            ratios: Ratios {
                pipeline_vs_limit: 0.23,
                pipeline_vs_sqlite: 0.0,
            },
            offered_rate_eps,
            latency_events: 2_000_000,
            latency_us: lat(900),
            durable_latency_us: lat(63_999),
            offered_rate_at_25pct_eps: 410_979,
            latency_at_25pct_us: Latency::default(),
            durable_latency_at_25pct_us: Latency::default(),
            offered_rate_at_50pct_eps: 821_958,
            latency_at_50pct_us: Latency::default(),
            durable_latency_at_50pct_us: Latency::default(),
            state_bytes_per_shipment: 250.6,
            journal_bytes_per_record: 185.0,
            generate_seconds: 17.0,
            cores: 2,
            seed: 9,
            version: "0.1.0".into(),
            full_size,
            repeat: 3,
            spread: s.spread(|f| f.contains("latency")),
        }
    }

    fn row<'a>(text: &'a str, figure: &str) -> &'a str {
        text.lines()
            .find(|l| l.starts_with(&format!("{figure} ")))
            .unwrap_or_else(|| panic!("no {figure} in\n{text}"))
    }

    #[test]
    fn the_full_size_run_is_judged_against_every_target() {
        let text = render(&report(true, TARGET_RATE_EPS, false));
        assert!(
            text.contains("full-size run: the targets apply\n"),
            "{text}"
        );
        assert!(text.contains("median of 3 runs"));
        let cases = [
            ("pipeline_eps", ">= 3,500,000", "missed (2.1x)"),
            ("replay_eps", ">= 2 x pipeline_eps", "met"),
            ("ratios.pipeline_vs_limit", ">= 0.5", "missed (2.2x)"),
            ("journal_bytes_per_record", "<= 100", "missed (1.9x)"),
            ("state_bytes_per_shipment", "<= 256", "met"),
            ("latency_us", "<= 1,000", "met"),
            ("durable_latency_us", "<= 3,000", "missed (21.3x)"),
        ];
        for (figure, target, verdict) in cases {
            let line = row(&text, figure);
            assert!(line.contains(target), "{line}");
            assert!(line.ends_with(verdict), "{line}");
        }
        assert!(row(&text, "pipeline_eps").contains("1,479,524 .. 1,808,307"));
        assert!(row(&text, "sqlite_eps").ends_with("not run"));
        assert!(row(&text, "latency_at_25pct_us").contains("not run"));
        assert!(!row(&text, "limit_eps").contains(">="), "no target");
    }

    #[test]
    fn other_runs_are_not_comparable() {
        let smoke = render(&report(false, TARGET_RATE_EPS, false));
        assert!(smoke.contains("smoke test: the targets are for the full-size run"));
        for figure in ["pipeline_eps", "state_bytes_per_shipment", "latency_us"] {
            assert!(row(&smoke, figure).ends_with("not comparable"), "{smoke}");
        }
        assert!(
            !smoke.contains(" met") && !smoke.contains("missed"),
            "{smoke}"
        );

        let other_rate = render(&report(true, 500_000, false));
        assert!(other_rate.contains("except the latency targets"));
        assert!(row(&other_rate, "latency_us").ends_with("not comparable (offered 500,000/s)"));
        assert!(row(&other_rate, "pipeline_eps").ends_with("missed (2.1x)"));

        let one_path = render(&report(true, TARGET_RATE_EPS, true));
        assert!(row(&one_path, "replay_eps").ends_with("not run"));
        assert!(row(&one_path, "limit_eps").contains("not run"));
    }
}
