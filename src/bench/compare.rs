//! `waybill bench --compare`: two reports of `waybill bench --json`, figure by figure, with
//! the ratio new/old and which way is better for each figure.
//!
//! Reports are read as JSON, not as this version's report type, so a report of an earlier
//! version (fewer fields) or a later one (more) compares too: a figure missing on either side
//! is shown as absent. In a report that lists `spread`, a figure not in it did not run (its
//! field holds 0) and is shown as absent too. Lists (the restart curve) are not compared.
//! A figure a build left out (null: the SQLite figures without the `sqlite` feature) is
//! absent, and the report's `notes` are repeated above the table.

use super::human::number;
use serde_json::Value;
use std::fmt::Write as _;
use waybill_sim::report::thousands_f;

/// Fields that describe the run rather than measure it: shown in the header, not compared.
const ABOUT_RUN: [&str; 14] = [
    "events",
    "shipments",
    "shipments_touched",
    "sqlite_events",
    "latency_events",
    "offered_rate_eps",
    "offered_rate_at_25pct_eps",
    "offered_rate_at_50pct_eps",
    "generate_seconds",
    "cores",
    "seed",
    "repeat",
    "snapshots_during_stall_run",
    "spread",
];
/// The most figures one comparison lists (a report has a few dozen).
const FIGURES_MAX: usize = 1_000;
/// How deep a report's objects may nest.
const DEPTH_MAX: usize = 4;

/// Which way a figure is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    Higher,
    Lower,
    /// Neither is known (a field of a later version, named otherwise).
    Unknown,
}

/// Rates and ratios are better higher; latencies, times and bytes lower.
pub fn better(figure: &str) -> Better {
    if figure.starts_with("ratios.") || figure.ends_with("_eps") {
        Better::Higher
    } else if figure.contains("latency")
        || figure.contains("bytes")
        || figure.ends_with("_us")
        || figure.contains("_us.")
        || figure.ends_with("_ms")
        || figure.ends_with("_seconds")
    {
        Better::Lower
    } else {
        Better::Unknown
    }
}

/// One figure of the comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub figure: String,
    pub old: Option<f64>,
    pub new: Option<f64>,
}

impl Row {
    /// new / old, when both were measured and old is not 0.
    pub fn ratio(&self) -> Option<f64> {
        match (self.old, self.new) {
            (Some(o), Some(n)) if o != 0.0 => Some(n / o),
            _ => None,
        }
    }
}

/// Checks that `v` is a report of `waybill bench --json`; the error says what is wrong.
pub fn check_report(v: &Value) -> Result<(), String> {
    let obj = v.as_object().ok_or("not a JSON object")?;
    for k in ["events", "shipments"] {
        if !obj.get(k).is_some_and(Value::is_u64) {
            return Err(format!("no `{k}` count"));
        }
    }
    if !obj
        .keys()
        .any(|k| k.ends_with("_eps") && k != "offered_rate_eps")
    {
        return Err("no figure (`*_eps`)".into());
    }
    Ok(())
}

/// Every numeric figure of a report, by field path, in the report's order.
fn figures(v: &Value) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    flatten("", v, 0, &mut out);
    let spread = v.get("spread").and_then(Value::as_object);
    out.retain(|(path, _)| spread.is_none_or(|s| s.contains_key(path)));
    out
}

fn flatten(prefix: &str, v: &Value, depth: usize, out: &mut Vec<(String, f64)>) {
    match v {
        Value::Number(n) if !prefix.is_empty() && out.len() < FIGURES_MAX => {
            if let Some(x) = n.as_f64() {
                out.push((prefix.to_owned(), x));
            }
        }
        Value::Object(map) if depth < DEPTH_MAX => {
            for (k, child) in map {
                if depth == 0 && ABOUT_RUN.contains(&k.as_str()) {
                    continue;
                }
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&path, child, depth + 1, out);
            }
        }
        _ => {}
    }
}

/// The figures of both reports: the new report's order, then any only the old one has.
pub fn rows(old: &Value, new: &Value) -> Vec<Row> {
    let old_figures = figures(old);
    let new_figures = figures(new);
    let find = |list: &[(String, f64)], f: &str| list.iter().find(|(k, _)| k == f).map(|x| x.1);
    let mut rows: Vec<Row> = new_figures
        .iter()
        .map(|(f, v)| Row {
            figure: f.clone(),
            old: find(&old_figures, f),
            new: Some(*v),
        })
        .collect();
    for (f, v) in &old_figures {
        if find(&new_figures, f).is_none() {
            rows.push(Row {
                figure: f.clone(),
                old: Some(*v),
                new: None,
            });
        }
    }
    rows
}

/// A line about the run a report describes.
fn describe(name: &str, v: &Value) -> String {
    let n = |k: &str| v.get(k).and_then(Value::as_f64);
    let num = |k: &str| n(k).map_or("?".to_owned(), |x| thousands_f(x, 0));
    let mut s = format!(
        "{name}: {} events over {} shipments",
        num("events"),
        num("shipments")
    );
    if let Some(version) = v.get("version").and_then(Value::as_str) {
        let _ = write!(s, ", waybill {version}");
    }
    if let Some(r) = n("repeat") {
        let _ = write!(s, ", median of {r} runs");
    }
    let _ = write!(s, ", latency offered at {}/s", num("offered_rate_eps"));
    if n("offered_rate_at_25pct_eps").is_some_and(|x| x > 0.0) {
        let _ = write!(
            s,
            " and at {}/s and {}/s (25 % and 50 % of pipeline_eps)",
            num("offered_rate_at_25pct_eps"),
            num("offered_rate_at_50pct_eps")
        );
    }
    s
}

/// Notes on what makes the two runs differ besides the version.
fn notes(old: &Value, new: &Value) -> Vec<String> {
    let differs = |k: &str| old.get(k) != new.get(k);
    let mut notes = Vec::new();
    if ["events", "shipments", "seed"].iter().any(|k| differs(k)) {
        notes.push(
            "note: the runs measured different workloads (events, shipments or seed); the \
             ratios compare unlike runs"
                .to_owned(),
        );
    }
    if differs("offered_rate_eps") {
        notes.push("note: the latency runs were offered different rates".to_owned());
    }
    notes
}

/// The comparison as text.
pub fn render(old_name: &str, old: &Value, new_name: &str, new: &Value) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", describe(&format!("old {old_name}"), old));
    let _ = writeln!(out, "{}", describe(&format!("new {new_name}"), new));
    for n in notes(old, new) {
        let _ = writeln!(out, "{n}");
    }
    for (which, v) in [("old", old), ("new", new)] {
        let report_notes = v.get("notes").and_then(Value::as_array);
        for n in report_notes.into_iter().flatten().filter_map(Value::as_str) {
            let _ = writeln!(out, "note: the {which} report says: {n}");
        }
    }
    let _ = writeln!(out, "(↑ higher is better, ↓ lower is better)\n");
    let _ = writeln!(
        out,
        "{:<34} {:>14} {:>14} {:>9}",
        "figure", "old", "new", "new/old"
    );
    for row in rows(old, new) {
        let value = |v: Option<f64>| v.map_or("absent".to_owned(), |x| number(&row.figure, x));
        let b = better(&row.figure);
        let (ratio, verdict) = match row.ratio() {
            Some(x) => (format!("{x:.3}"), verdict(x, b)),
            None => ("-".to_owned(), ""),
        };
        let arrow = match b {
            Better::Higher => "↑",
            Better::Lower => "↓",
            Better::Unknown => " ",
        };
        let line = format!(
            "{:<34} {:>14} {:>14} {ratio:>9} {arrow} {verdict}",
            row.figure,
            value(row.old),
            value(row.new)
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}

fn verdict(ratio: f64, b: Better) -> &'static str {
    let up = ratio > 1.0;
    match b {
        _ if ratio == 1.0 => "same",
        Better::Higher if up => "better",
        Better::Lower if !up => "better",
        Better::Unknown => "",
        _ => "worse",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn which_way_is_better() {
        let cases = [
            ("pipeline_eps", Better::Higher),
            ("ratios.pipeline_vs_sqlite", Better::Higher),
            ("latency_us.p99", Better::Lower),
            ("durable_latency_at_25pct_us.max", Better::Lower),
            ("state_bytes_per_shipment", Better::Lower),
            ("restart_ms", Better::Lower),
            ("snapshot_stall_us", Better::Lower),
            ("snapshot_stall_us.p99", Better::Lower),
            ("snapshot_ms", Better::Lower),
            ("something_new", Better::Unknown),
        ];
        for (f, want) in cases {
            assert_eq!(better(f), want, "{f}");
        }
    }

    #[test]
    fn rows_pair_figures_and_show_what_is_missing() {
        // An earlier version: no spread, no journal bytes, a field since removed.
        let old = json!({"events": 10, "shipments": 2, "pipeline_eps": 100.0, "replay_eps": 0.0,
            "latency_us": {"p99": 400, "max": 500}, "retired_eps": 5.0});
        // This version: replay did not run (absent from spread although its field is 0).
        let new = json!({"events": 10, "shipments": 2, "pipeline_eps": 150.0, "replay_eps": 0.0,
            "latency_us": {"p99": 200, "max": 600}, "journal_bytes_per_record": 99.5,
            "repeat": 3, "spread": {"pipeline_eps": {}, "latency_us.p99": {},
            "latency_us.max": {}, "journal_bytes_per_record": {}}});
        let rows = rows(&old, &new);
        let row = |f: &str| rows.iter().find(|r| r.figure == f).cloned();
        let r = |f: &str, old: Option<f64>, new: Option<f64>| Row {
            figure: f.into(),
            old,
            new,
        };
        assert_eq!(
            row("pipeline_eps"),
            Some(r("pipeline_eps", Some(100.0), Some(150.0)))
        );
        assert_eq!(row("pipeline_eps").unwrap().ratio(), Some(1.5));
        assert_eq!(row("replay_eps"), Some(r("replay_eps", Some(0.0), None)));
        assert_eq!(row("latency_us.p99").unwrap().ratio(), Some(0.5));
        assert_eq!(
            row("journal_bytes_per_record"),
            Some(r("journal_bytes_per_record", None, Some(99.5)))
        );
        assert_eq!(row("retired_eps"), Some(r("retired_eps", Some(5.0), None)));
        assert!(row("events").is_none() && row("repeat").is_none());
        assert!(rows.iter().all(|r| !r.figure.starts_with("spread")));
    }

    #[test]
    fn snapshot_figures_absent_from_an_earlier_report_compare_as_absent() {
        let old = json!({"events": 10, "shipments": 2, "pipeline_eps": 100.0,
            "latency_at_25pct_us": {"p99": 300, "max": 900}});
        let new = json!({"events": 10, "shipments": 2, "pipeline_eps": 100.0,
            "latency_at_25pct_us": {"p99": 300, "max": 900},
            "restart_ms": 12.5, "restart_full_ms": 80.0, "snapshot_ms": 7.0,
            "snapshot_bytes_per_shipment": 190.5,
            "snapshot_stall_us": {"p99": 310, "max": 2000}, "snapshots_during_stall_run": 3,
            "restart_curve": [{"events": 5, "restart_ms": 1.0}],
            "spread": {"pipeline_eps": {}, "latency_at_25pct_us.p99": {},
            "latency_at_25pct_us.max": {}, "restart_ms": {}, "restart_full_ms": {},
            "snapshot_ms": {}, "snapshot_bytes_per_shipment": {}, "snapshot_stall_us.p99": {},
            "snapshot_stall_us.max": {}, "snapshots_during_stall_run": {}}});
        let rows = rows(&old, &new);
        for f in [
            "restart_ms",
            "restart_full_ms",
            "snapshot_ms",
            "snapshot_bytes_per_shipment",
            "snapshot_stall_us.p99",
            "snapshot_stall_us.max",
        ] {
            let row = rows.iter().find(|r| r.figure == f).expect(f);
            assert_eq!((row.old, row.new.is_some()), (None, true), "{f}");
            assert_eq!(better(f), Better::Lower, "{f}");
        }
        assert!(
            rows.iter()
                .all(|r| !r.figure.starts_with("restart_curve")
                    && !r.figure.starts_with("snapshots_")),
            "{rows:?}"
        );
        let text = render("old", &old, "new", &new);
        let line = text.lines().find(|l| l.starts_with("restart_ms ")).unwrap();
        assert_eq!(
            line.split_whitespace().collect::<Vec<_>>(),
            ["restart_ms", "absent", "12.50", "-", "↓"]
        );
    }

    #[test]
    fn the_text_gives_ratio_arrow_and_verdict() {
        let old = json!({"events": 10, "shipments": 2, "seed": 9, "pipeline_eps": 100.0,
            "latency_us": {"p99": 400}});
        let new = json!({"events": 10, "shipments": 2, "seed": 9, "pipeline_eps": 150.0,
            "latency_us": {"p99": 600}, "journal_bytes_per_record": 99.5});
        let text = render("a.json", &old, "b.json", &new);
        let line = |f: &str| {
            text.lines()
                .find(|l| l.starts_with(&format!("{f} ")))
                .unwrap_or_else(|| panic!("{f} in {text}"))
                .split_whitespace()
                .collect::<Vec<_>>()
        };
        assert_eq!(
            line("pipeline_eps"),
            ["pipeline_eps", "100", "150", "1.500", "↑", "better"]
        );
        assert_eq!(
            line("latency_us.p99"),
            ["latency_us.p99", "400", "600", "1.500", "↓", "worse"]
        );
        assert_eq!(
            line("journal_bytes_per_record"),
            ["journal_bytes_per_record", "absent", "99.5", "-", "↓"]
        );
        assert!(text.starts_with("old a.json: 10 events over 2 shipments"));
        assert!(!text.contains("note:"), "same workload: {text}");
        let other = json!({"events": 20, "shipments": 2, "pipeline_eps": 1.0});
        assert!(render("a", &old, "c", &other).contains("different workloads"));
    }

    #[test]
    fn figures_a_build_left_out_are_absent_and_its_notes_shown() {
        let old = json!({"events": 10, "shipments": 2, "pipeline_eps": 100.0,
            "sqlite_eps": 2.0, "sqlite_events": 10, "ratios": {"pipeline_vs_sqlite": 50.0}});
        let new = json!({"events": 10, "shipments": 2, "pipeline_eps": 100.0,
            "sqlite_eps": null, "sqlite_events": null, "ratios": {"pipeline_vs_sqlite": null},
            "notes": ["built without the sqlite feature"]});
        let rows = rows(&old, &new);
        for f in ["sqlite_eps", "ratios.pipeline_vs_sqlite"] {
            let row = rows.iter().find(|r| r.figure == f).expect(f);
            assert_eq!((row.old.is_some(), row.new), (true, None), "{f}");
        }
        let text = render("old", &old, "new", &new);
        assert!(
            text.contains("note: the new report says: built without the sqlite feature\n"),
            "{text}"
        );
        assert!(!text.contains("the old report says"), "{text}");
    }

    #[test]
    fn reports_are_checked() {
        let cases = [
            (json!([1, 2]), Some("not a JSON object")),
            (
                json!({"shipments": 1, "pipeline_eps": 1.0}),
                Some("no `events`"),
            ),
            (json!({"events": 1, "shipments": 1}), Some("no figure")),
            (
                json!({"events": 1, "shipments": 1, "offered_rate_eps": 5}),
                Some("no figure"),
            ),
            (json!({"events": 1, "shipments": 1, "limit_eps": 0.0}), None),
        ];
        for (v, want) in cases {
            match (check_report(&v), want) {
                (Ok(()), None) => {}
                (Err(e), Some(w)) => assert!(e.contains(w), "{v}: {e}"),
                (got, _) => panic!("{v}: {got:?}"),
            }
        }
    }
}
