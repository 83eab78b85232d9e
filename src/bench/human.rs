//! The human report of `waybill bench`: every figure, its spread over the repetitions, and
//! its target, judged only for the full-size run.

use super::targets::{self, FULL_SIZE_EVENTS, FULL_SIZE_SHIPMENTS, RunKind, TARGET_RATE_EPS};
use super::{BenchReport, SQLITE_FIGURES};
use std::fmt::Write as _;
use waybill_sim::report::thousands_f;

/// The throughput rows, in order.
const THROUGHPUT: [&str; 15] = [
    "limit_eps",
    "apply_only_eps",
    "pipeline_eps",
    "pipeline_group_eps",
    "pipeline_effects_eps",
    "effects_eps",
    "replay_eps",
    "replay_parallel_eps",
    "jsonl_ingest_eps",
    "sqlite_eps",
    "ratios.pipeline_vs_limit",
    "ratios.pipeline_vs_sqlite",
    "ratios.pipeline_effects_vs_pipeline",
    "journal_bytes_per_record",
    "state_bytes_per_shipment",
];

/// The rows of the snapshot path (on the pipeline's journal), after the throughput rows.
const SNAPSHOT: [&str; 4] = [
    "restart_full_ms",
    "snapshot_ms",
    "snapshot_bytes_per_shipment",
    "restart_ms",
];

/// The stall run's figure (its p99 in the latency table, its max target after it).
const STALL: &str = "snapshot_stall_us";

/// The latency rows: the report's field and its offered rate.
fn latency_rows(r: &BenchReport) -> [(&'static str, u64); 7] {
    [
        ("latency_us", r.offered_rate_eps),
        ("durable_latency_us", r.offered_rate_eps),
        ("latency_at_25pct_us", r.offered_rate_at_25pct_eps),
        ("durable_latency_at_25pct_us", r.offered_rate_at_25pct_eps),
        (STALL, r.offered_rate_at_25pct_eps),
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
    if r.sqlite_eps.is_none() {
        let _ = writeln!(
            out,
            "the SQLite comparison did not run: waybill was built without the sqlite feature"
        );
    }
    if r.repeat > 1 {
        let _ = writeln!(
            out,
            "every figure is the median of {} runs, with the least and the greatest (min .. max)",
            r.repeat
        );
    }
    let curve_only = r.spread.is_empty() && !r.restart_curve.is_empty();
    if !curve_only {
        out.push('\n');
        throughput(&mut out, r);
        out.push('\n');
        latency(&mut out, r);
    }
    if !r.restart_curve.is_empty() {
        out.push('\n');
        restart_curve(&mut out, r);
    }
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

/// A figure's row: value, spread, target and verdict.
fn figure_row(r: &BenchReport, figure: &str) -> String {
    if r.sqlite_eps.is_none() && SQLITE_FIGURES.contains(&figure) {
        return format!("{figure:<28} {:>14}", "not built");
    }
    let (target, verdict) = target_text(r, figure);
    let value = measured(r, figure).map_or("not run".to_owned(), |v| number(figure, v));
    let line = format!(
        "{figure:<28} {value:>14}  {:<27} {target:<22} {verdict}",
        spread_text(r, figure)
    );
    line.trim_end().to_owned()
}

fn throughput(out: &mut String, r: &BenchReport) {
    let _ = writeln!(
        out,
        "{:<28} {:>14}  {:<27} {:<22} verdict",
        "figure", "value", "min .. max", "target"
    );
    for figure in THROUGHPUT.iter().chain(&SNAPSHOT) {
        let _ = writeln!(out, "{}", figure_row(r, figure));
    }
    let sqlite = match r.sqlite_events {
        Some(n) => format!(
            "sqlite_eps on the first {} events",
            thousands_f(n as f64, 0)
        ),
        None => "sqlite_eps not built: the sqlite feature is off".to_owned(),
    };
    let _ = writeln!(
        out,
        "({sqlite}; restart_full_ms, snapshot_ms and restart_ms on the pipeline's journal: \
         Core::open replaying it all, Core::snapshot at its end, Core::open from that snapshot)"
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
    if measured(r, &format!("{STALL}.max")).is_some() {
        let _ = writeln!(
            out,
            "({STALL}: latency_at_25pct_us again with background snapshots, {} taken during \
             each run; its max target:)",
            r.snapshots_during_stall_run
        );
        let _ = writeln!(out, "{}", figure_row(r, &format!("{STALL}.max")));
    }
}

/// The restart curve as a table, then as CSV (for a plot).
fn restart_curve(out: &mut String, r: &BenchReport) {
    let _ = writeln!(
        out,
        "restart curve: one journal grown to each size, a snapshot 1 % of --events before \
         its end; restart_ms from it, restart_full_ms replaying every record"
    );
    let _ = writeln!(
        out,
        "{:>14} {:>16} {:>14} {:>13} {:>12} {:>16}",
        "events", "journal_bytes", "snapshot_lsn", "tail_records", "restart_ms", "restart_full_ms"
    );
    let n = |v: u64| thousands_f(v as f64, 0);
    for p in &r.restart_curve {
        let _ = writeln!(
            out,
            "{:>14} {:>16} {:>14} {:>13} {:>12} {:>16}",
            n(p.events),
            n(p.journal_bytes),
            n(p.snapshot_lsn),
            n(p.tail_records),
            thousands_f(p.restart_ms, 1),
            thousands_f(p.restart_full_ms, 1)
        );
    }
    let _ = writeln!(out, "\n{RESTART_CSV_HEADER}");
    for p in &r.restart_curve {
        let _ = writeln!(
            out,
            "{},{},{:.3},{:.3}",
            p.events, p.journal_bytes, p.restart_ms, p.restart_full_ms
        );
    }
}

/// The header of the restart curve's CSV.
pub const RESTART_CSV_HEADER: &str = "events,journal_bytes,restart_ms,restart_full_ms";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::restart::RestartPoint;
    use crate::bench::samples::Samples;
    use crate::bench::{Latency, Ratios};

    /// The figures of 3 repetitions, near the first round's (those of the pipeline path alone,
    /// or more).
    fn samples(only_pipeline: bool) -> Samples {
        let mut s = Samples::default();
        let mut figures = vec![
            ("pipeline_eps", 1_643_915.0),
            ("state_bytes_per_shipment", 250.6),
            ("journal_bytes_per_record", 185.0),
        ];
        if !only_pipeline {
            figures.extend([
                ("limit_eps", 7_112_487.0),
                ("replay_eps", 3_400_000.0),
                ("ratios.pipeline_vs_limit", 0.23),
                ("latency_us.p99", 900.0),
                ("durable_latency_us.p99", 63_999.0),
                ("restart_full_ms", 4_100.0),
                ("snapshot_ms", 310.0),
                ("snapshot_bytes_per_shipment", 231.5),
                ("restart_ms", 420.0),
                ("latency_at_25pct_us.p99", 200.0),
                ("snapshot_stall_us.p99", 180.0),
                ("snapshot_stall_us.max", 25_000.0),
            ]);
        }
        for (figure, v) in figures {
            for k in [0.9, 1.0, 1.1] {
                s.push(figure, v * k);
            }
        }
        s
    }

    /// A report as a full-size run of 3 repetitions gives it.
    fn report(full_size: bool, offered_rate_eps: u64, only_pipeline: bool) -> BenchReport {
        let s = samples(only_pipeline);
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
            pipeline_effects_eps: 0.0,
            effects_derived: 0,
            effects_eps: 0.0,
            replay_eps: 3_400_000.0,
            replay_parallel_eps: 0.0,
            jsonl_ingest_eps: 0.0,
            sqlite_eps: Some(0.0),
            sqlite_events: Some(1_000_000),
            ratios: Ratios {
                pipeline_vs_limit: 0.23,
                pipeline_vs_sqlite: Some(0.0),
                pipeline_effects_vs_pipeline: 0.0,
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
            snapshot_stall_us: lat(180),
            snapshots_during_stall_run: 3,
            state_bytes_per_shipment: 250.6,
            journal_bytes_per_record: 185.0,
            restart_ms: 420.0,
            restart_full_ms: 4_100.0,
            snapshot_ms: 310.0,
            snapshot_bytes_per_shipment: 231.5,
            restart_curve: Vec::new(),
            generate_seconds: 17.0,
            cores: 2,
            seed: 9,
            version: "0.1.0".into(),
            full_size,
            repeat: 3,
            spread: s.spread(|f| f.contains("latency")),
            notes: Vec::new(),
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
            ("restart_ms", "<= 1,000", "met"),
            ("snapshot_stall_us", "<= latency_at_25pct_us.p99", "met"),
            ("snapshot_stall_us.max", "<= 10,000", "missed (2.5x)"),
        ];
        for (figure, target, verdict) in cases {
            let line = row(&text, figure);
            assert!(line.contains(target), "{line}");
            assert!(line.ends_with(verdict), "{line}");
        }
        assert!(row(&text, "pipeline_eps").contains("1,479,524 .. 1,808,307"));
        assert!(row(&text, "sqlite_eps").ends_with("not run"));
        assert!(row(&text, "latency_at_50pct_us").contains("not run"));
        assert!(!row(&text, "limit_eps").contains(">="), "no target");
        assert!(
            row(&text, "snapshot_stall_us").contains("410,979"),
            "the 25 % rate"
        );
        assert!(text.contains("3 taken during each run"), "{text}");
        for figure in [
            "restart_full_ms",
            "snapshot_ms",
            "snapshot_bytes_per_shipment",
        ] {
            assert!(!row(&text, figure).contains("<="), "no target");
        }
        assert!(row(&text, "snapshot_bytes_per_shipment").contains(" 231.5 "));
        assert!(!text.contains("restart curve"), "not run: {text}");
    }

    #[test]
    fn the_restart_curve_is_a_table_and_csv() {
        let mut r = report(false, TARGET_RATE_EPS, true);
        let point = |events: u64, restart_ms, restart_full_ms| RestartPoint {
            events,
            journal_bytes: events * 100,
            snapshot_lsn: events - 200,
            tail_records: 200,
            restart_ms,
            restart_full_ms,
        };
        r.restart_curve = vec![point(1_000, 1.25, 3.5), point(20_000, 2.0, 41.0)];
        let text = render(&r);
        assert!(text.contains("restart curve: one journal grown"), "{text}");
        let words: Vec<&str> = text
            .lines()
            .find(|l| l.trim_start().starts_with("20,000 "))
            .unwrap_or_else(|| panic!("{text}"))
            .split_whitespace()
            .collect();
        assert_eq!(
            words,
            ["20,000", "2,000,000", "19,800", "200", "2.0", "41.0"]
        );
        let csv: Vec<&str> = text
            .lines()
            .skip_while(|l| *l != RESTART_CSV_HEADER)
            .collect();
        assert_eq!(
            csv,
            [
                RESTART_CSV_HEADER,
                "1000,100000,1.250,3.500",
                "20000,2000000,2.000,41.000"
            ]
        );
        assert!(text.contains("pipeline_eps"), "other figures ran");
        // With nothing else measured, the curve alone.
        r.spread.clear();
        let text = render(&r);
        assert!(
            text.contains("restart curve") && !text.contains("pipeline_eps"),
            "{text}"
        );
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

    #[test]
    fn a_build_without_sqlite_says_so_instead_of_judging_its_figures() {
        let mut r = report(true, TARGET_RATE_EPS, false);
        r.sqlite_eps = None;
        r.sqlite_events = None;
        r.ratios.pipeline_vs_sqlite = None;
        r.notes = vec![crate::bench::SQLITE_NOT_BUILT.to_owned()];
        let text = render(&r);
        assert!(
            text.contains(
                "the SQLite comparison did not run: waybill was built without the sqlite feature\n"
            ),
            "{text}"
        );
        for figure in SQLITE_FIGURES {
            assert_eq!(
                row(&text, figure).split_whitespace().collect::<Vec<_>>(),
                [figure, "not", "built"],
                "{text}"
            );
        }
        assert!(text.contains("(sqlite_eps not built: the sqlite feature is off; "));
        assert!(row(&text, "pipeline_eps").ends_with("missed (2.1x)"));
        // With the feature, the same run says nothing of it.
        let text = render(&report(true, TARGET_RATE_EPS, false));
        assert!(!text.contains("not built") && !text.contains("sqlite feature"));
        assert!(text.contains("(sqlite_eps on the first 1,000,000 events; "));
    }
}
