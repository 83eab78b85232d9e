//! End-to-end: `waybill bench` on tiny runs (the shape of what it reports, its files, its
//! comparisons and its argument handling; never how fast anything ran).

mod common;

use common::*;
use serde_json::{Value, json};
use std::fs;
use std::path::Path;

/// A run small enough for a test.
const TINY: [&str; 4] = ["--events", "20000", "--shipments", "2000"];

fn bench(extra: &[&str]) -> (i32, String, String) {
    let mut args = vec!["bench"];
    args.extend_from_slice(&TINY);
    args.extend_from_slice(extra);
    run(&args)
}

/// The field at a dotted path (`latency_us.p99`).
fn field<'a>(v: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(v, |v, k| &v[k])
}

const THROUGHPUT: [&str; 9] = [
    "limit_eps",
    "apply_only_eps",
    "pipeline_eps",
    "pipeline_group_eps",
    "pipeline_effects_eps",
    "effects_eps",
    "replay_eps",
    "replay_parallel_eps",
    "jsonl_ingest_eps",
];
/// The figures of the SQLite path: measured with the `sqlite` feature, null without it.
const SQLITE: [&str; 2] = ["sqlite_eps", "ratios.pipeline_vs_sqlite"];
/// Why the SQLite figures are null in a build without the `sqlite` feature.
const SQLITE_NOT_BUILT: &str = "sqlite_eps, sqlite_events and ratios.pipeline_vs_sqlite are \
     null: waybill was built without the sqlite feature";
const LATENCIES: [&str; 7] = [
    "latency_us",
    "durable_latency_us",
    "latency_at_25pct_us",
    "durable_latency_at_25pct_us",
    "snapshot_stall_us",
    "latency_at_50pct_us",
    "durable_latency_at_50pct_us",
];
/// The figures of the snapshot path (on the pipeline's journal).
const SNAPSHOT: [&str; 4] = [
    "restart_full_ms",
    "snapshot_ms",
    "snapshot_bytes_per_shipment",
    "restart_ms",
];

/// The JSON of a run with `--repeat 3`: every field of the contract (holding medians), the
/// spread of each, the latency runs at 25 % and 50 % of pipeline_eps, and the distributions
/// and chart of `--latency-plot`.
#[test]
fn repeated_runs_report_medians_their_spread_and_the_latency_distributions() {
    let dir = tempfile::tempdir().unwrap();
    let plot = dir.path().join("plot");
    let (code, out, err) = bench(&[
        "--rate",
        "200000",
        "--repeat",
        "3",
        "--json",
        "--latency-plot",
        p(&plot),
    ]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(v["events"], 20000);
    assert_eq!(v["repeat"], 3);
    assert_eq!(v["full_size"], false);
    let mut figures: Vec<String> = THROUGHPUT.iter().map(|s| s.to_string()).collect();
    figures.extend(["state_bytes_per_shipment", "journal_bytes_per_record"].map(String::from));
    figures.extend(
        [
            "ratios.pipeline_vs_limit",
            "ratios.pipeline_effects_vs_pipeline",
            "effects_derived",
        ]
        .map(String::from),
    );
    if cfg!(feature = "sqlite") {
        figures.extend(SQLITE.map(String::from));
        assert_eq!(v["sqlite_events"], 20000);
        assert!(v.get("notes").is_none(), "{v}");
    } else {
        for f in SQLITE.iter().chain(&["sqlite_events"]) {
            assert!(field(&v, f).is_null(), "{f} in {v}");
        }
        assert_eq!(v["notes"], json!([SQLITE_NOT_BUILT]));
        assert!(err.contains("bench: sqlite: not run"), "{err}");
    }
    figures.extend(SNAPSHOT.map(String::from));
    figures.push("snapshots_during_stall_run".into());
    for l in LATENCIES {
        figures.extend(["p50", "p99", "p999", "max"].map(|p| format!("{l}.{p}")));
    }
    let spread = v["spread"].as_object().expect("spread");
    assert_eq!(spread.len(), figures.len(), "{spread:?}");
    for f in &figures {
        let value = field(&v, f)
            .as_f64()
            .unwrap_or_else(|| panic!("{f} in {v}"));
        assert!(value > 0.0, "{f} = {value}");
        let s = &spread[f.as_str()];
        let (min, median, max) = (s["min"].as_f64(), s["median"].as_f64(), s["max"].as_f64());
        assert_eq!(median, Some(value), "{f}: the field holds the median");
        assert!(min <= median && median <= max, "{f}: {s}");
    }
    for l in LATENCIES {
        assert!(v[l]["p50"].as_u64() <= v[l]["p99"].as_u64(), "{l}");
        assert!(v[l]["p99"].as_u64() <= v[l]["max"].as_u64(), "{l}");
    }
    // The offered rates of the latency runs follow the median pipeline rate of this run.
    let pipeline = v["pipeline_eps"].as_f64().unwrap();
    for (k, share) in [
        ("offered_rate_at_25pct_eps", 0.25),
        ("offered_rate_at_50pct_eps", 0.5),
    ] {
        let rate = v[k].as_f64().unwrap();
        assert!(
            (rate - pipeline * share).abs() <= 1.0,
            "{k} {rate} of {pipeline}"
        );
    }
    assert_eq!(v["offered_rate_eps"], 200000);
    // A record is a frame header and an archived entry.
    let per_record = v["journal_bytes_per_record"].as_f64().unwrap();
    assert!((48.0..1024.0).contains(&per_record), "{per_record}");
    // Deterministic figures do not spread.
    for f in [
        "journal_bytes_per_record",
        "state_bytes_per_shipment",
        "snapshot_bytes_per_shipment",
    ] {
        assert_eq!(spread[f]["min"], spread[f]["max"], "{f}");
    }
    // The stall run took snapshots (a quarter of its events apart, the first asked for with
    // three quarters still to come), and the restart curve did not run.
    assert!(
        v["snapshots_during_stall_run"].as_u64().unwrap() >= 1,
        "{v}"
    );
    assert_eq!(v["restart_curve"], json!([]));
    latency_files_match_the_report(&plot, &v);
}

/// Every latency run's `.hgrm` pools its three runs (its maximum is the greatest of theirs)
/// and the chart draws all of them.
fn latency_files_match_the_report(plot: &Path, v: &Value) {
    let events = v["latency_events"].as_u64().unwrap();
    for l in LATENCIES {
        let text = fs::read_to_string(plot.join(format!("{l}.hgrm"))).unwrap();
        assert!(text.starts_with("       Value     Percentile TotalCount 1/(1-Percentile)"));
        let rows: Vec<Vec<&str>> = text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .skip(1)
            .map(|l| l.split_whitespace().collect())
            .collect();
        let last = rows.last().unwrap();
        assert_eq!(last[1], "1.000000000000", "{l}");
        assert_eq!(
            last[2].parse::<u64>().unwrap(),
            3 * events,
            "{l}: three runs pooled"
        );
        let max = v["spread"][format!("{l}.max")]["max"].as_f64().unwrap();
        assert_eq!(last[0].parse::<f64>().unwrap(), max, "{l}");
        let rate = if l.contains("25pct") || l == "snapshot_stall_us" {
            &v["offered_rate_at_25pct_eps"]
        } else if l.contains("50pct") {
            &v["offered_rate_at_50pct_eps"]
        } else {
            &v["offered_rate_eps"]
        };
        assert!(
            text.contains(&format!("#[waybill figure={l} measure=")),
            "{text}"
        );
        assert!(
            text.contains(&format!(" offered_eps={rate} runs=3 ")),
            "{text}"
        );
    }
    let svg = fs::read_to_string(plot.join("latency.svg")).unwrap();
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(svg.trim_end().ends_with("</svg>"));
    assert_eq!(svg.matches("<path ").count(), 7, "a line per latency run");
    assert!(svg.contains("3 runs pooled"));
}

#[test]
fn a_smoke_test_says_the_targets_are_for_the_full_size_run() {
    let (code, out, err) = bench(&["--only", "pipeline"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(
            "smoke test: the targets are for the full-size run (10,000,000 events over \
             1,000,000 shipments"
        ),
        "{out}"
    );
    let row = |figure: &str| {
        out.lines()
            .find(|l| l.starts_with(&format!("{figure} ")))
            .unwrap_or_else(|| panic!("{figure} in {out}"))
    };
    assert!(row("pipeline_eps").contains(">= 3,500,000"));
    assert!(row("pipeline_eps").ends_with("not comparable"));
    assert!(row("journal_bytes_per_record").ends_with("not comparable"));
    assert!(row("limit_eps").ends_with("not run"));
    assert!(row("replay_eps").ends_with("not run"));
    assert!(row("latency_us").contains("not run"));
    assert!(!out.contains("missed") && !out.contains(" met"), "{out}");
}

/// `--only snapshot` runs the pipeline (for its journal) and the snapshot path: restart
/// without and with a snapshot, and the snapshot between.
#[test]
fn the_snapshot_path_restarts_from_the_pipelines_journal() {
    let (code, out, err) = bench(&["--only", "snapshot", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    for f in SNAPSHOT.iter().chain(&["pipeline_eps"]) {
        let value = v[f].as_f64().unwrap_or_else(|| panic!("{f} in {v}"));
        assert!(value > 0.0, "{f} = {value}");
        assert!(v["spread"].get(f).is_some(), "{f} measured");
    }
    let spread = v["spread"].as_object().unwrap();
    assert!(!spread.contains_key("replay_eps"), "{spread:?}");
    assert!(
        !spread.contains_key("snapshot_stall_us.p99"),
        "a latency run"
    );
    // The stall run is in the report, not run.
    assert_eq!(v["snapshot_stall_us"]["max"], 0);
    assert_eq!(v["snapshots_during_stall_run"], 0);
}

/// `--only restart`: one journal grown to 1/20, 1/4, 1/2 and all of the events, a restart
/// from a snapshot near the end at each size; as rows of the JSON report and as a table and
/// CSV in the human one.
#[test]
fn the_restart_curve_grows_one_journal_in_four_steps() {
    let (code, out, err) = bench(&["--only", "restart", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    let rows = v["restart_curve"].as_array().expect("restart_curve");
    let events: Vec<u64> = rows.iter().map(|r| r["events"].as_u64().unwrap()).collect();
    assert_eq!(events, [1_000, 5_000, 10_000, 20_000]);
    let mut journal_bytes = 0;
    for r in rows {
        let (events, lsn) = (r["events"].as_u64().unwrap(), r["snapshot_lsn"].as_u64());
        assert_eq!(r["tail_records"], 200, "1 % of the events: {r}");
        assert_eq!(lsn, Some(events - 200), "{r}");
        for f in ["restart_ms", "restart_full_ms"] {
            assert!(r[f].as_f64().is_some_and(|x| x > 0.0), "{f}: {r}");
        }
        let bytes = r["journal_bytes"].as_u64().unwrap();
        assert!(bytes > journal_bytes, "the journal grows: {r}");
        journal_bytes = bytes;
    }
    assert!(
        v["spread"].as_object().unwrap().is_empty(),
        "nothing else ran"
    );

    let (code, out, err) = bench(&["--only", "restart"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("restart curve:"), "{out}");
    assert!(!out.contains("pipeline_eps"), "the curve alone: {out}");
    let csv: Vec<&str> = out
        .lines()
        .skip_while(|l| *l != "events,journal_bytes,restart_ms,restart_full_ms")
        .collect();
    assert_eq!(csv.len(), 5, "a header and four rows: {out}");
    let first: Vec<&str> = csv[1].split(',').collect();
    assert_eq!(first[0], "1000");
    assert!(first[2].parse::<f64>().unwrap() > 0.0, "{csv:?}");
}

/// What an earlier version's `--json` held (no spread, no journal bytes, no 25 % and 50 %).
fn earlier_report() -> Value {
    json!({"events": 20000, "shipments": 2000, "shipments_touched": 1700,
        "limit_eps": 4000000.0, "apply_only_eps": 0.0, "pipeline_eps": 500000.0,
        "pipeline_group_eps": 0.0, "replay_eps": 0.0, "jsonl_ingest_eps": 0.0,
        "sqlite_eps": 0.0, "sqlite_events": 20000,
        "ratios": {"pipeline_vs_limit": 0.125, "pipeline_vs_sqlite": 0.0},
        "offered_rate_eps": 200000, "latency_events": 20000,
        "latency_us": {"p50": 100, "p99": 4000, "p999": 5000, "max": 6000},
        "durable_latency_us": {"p50": 0, "p99": 0, "p999": 0, "max": 0},
        "state_bytes_per_shipment": 300.0, "generate_seconds": 0.1, "cores": 2})
}

fn row_words(text: &str, figure: &str) -> Vec<String> {
    text.lines()
        .find(|l| l.starts_with(&format!("{figure} ")))
        .unwrap_or_else(|| panic!("{figure} in {text}"))
        .split_whitespace()
        .map(String::from)
        .collect()
}

#[test]
fn two_saved_reports_compare_figure_by_figure() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (dir.path().join("old.json"), dir.path().join("new.json"));
    fs::write(&old, earlier_report().to_string()).unwrap();
    let mut later = earlier_report();
    later["pipeline_eps"] = json!(750000.0);
    later["latency_us"]["p99"] = json!(2000);
    later["state_bytes_per_shipment"] = json!(330.0);
    later["journal_bytes_per_record"] = json!(99.5);
    later.as_object_mut().unwrap().remove("limit_eps");
    fs::write(&new, serde_json::to_string_pretty(&later).unwrap()).unwrap();

    let out = ok(&["bench", "--compare", p(&old), p(&new)]);
    let cases: &[(&str, &[&str])] = &[
        (
            "pipeline_eps",
            &["500,000", "750,000", "1.500", "↑", "better"],
        ),
        (
            "latency_us.p99",
            &["4,000", "2,000", "0.500", "↓", "better"],
        ),
        (
            "state_bytes_per_shipment",
            &["300.0", "330.0", "1.100", "↓", "worse"],
        ),
        (
            "ratios.pipeline_vs_limit",
            &["0.12", "0.12", "1.000", "↑", "same"],
        ),
        ("journal_bytes_per_record", &["absent", "99.5", "-", "↓"]),
        ("limit_eps", &["4,000,000", "absent", "-", "↑"]),
        ("replay_eps", &["0", "0", "-", "↑"]),
    ];
    for (figure, want) in cases {
        assert_eq!(&row_words(&out, figure)[1..], *want, "{out}");
    }
    assert!(out.contains("(↑ higher is better, ↓ lower is better)"));
    for about_run in [
        "events ",
        "shipments ",
        "generate_seconds ",
        "cores ",
        "latency_events ",
    ] {
        assert!(
            !out.lines().any(|l| l.starts_with(about_run)),
            "{about_run}describes the run, it is no figure: {out}"
        );
    }
    assert!(!out.contains("note:"), "{out}");
}

#[test]
fn a_run_compares_itself_with_a_saved_report() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("old.json");
    fs::write(&old, earlier_report().to_string()).unwrap();
    // Human output: the report, then the comparison.
    let (code, out, err) = bench(&["--only", "pipeline", "--compare", p(&old)]);
    assert_eq!(code, 0, "{err}");
    let at = out.find(&format!("old {}", old.display())).expect(&out);
    assert!(
        out[..at].contains("smoke test"),
        "the report comes first: {out}"
    );
    let words = row_words(&out[at..], "pipeline_eps");
    assert_eq!(words[1], "500,000");
    assert!(words[3].parse::<f64>().unwrap() > 0.0, "{words:?}");
    assert_eq!(row_words(&out[at..], "limit_eps")[2], "absent", "not run");
    // With --json, standard output holds the report alone; the comparison goes to stderr.
    let (code, out, err) = bench(&["--only", "pipeline", "--json", "--compare", p(&old)]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert!(v["pipeline_eps"].as_f64().unwrap() > 0.0);
    assert!(
        err.contains("new (this run): 20,000 events over 2,000 shipments"),
        "{err}"
    );
    assert_eq!(row_words(&err, "pipeline_eps")[1], "500,000");
}

/// The SQLite path alone: measured with the `sqlite` feature; refused without it, naming the
/// feature, before anything runs.
#[test]
fn only_sqlite_runs_with_the_feature_and_is_refused_without_it() {
    let (code, out, err) = bench(&["--only", "sqlite", "--json"]);
    if cfg!(feature = "sqlite") {
        assert_eq!(code, 0, "{err}");
        let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
        assert!(v["sqlite_eps"].as_f64().is_some_and(|x| x > 0.0), "{v}");
        assert_eq!(v["sqlite_events"], 20000);
        assert_eq!(
            v["ratios"]["pipeline_vs_sqlite"], 0.0,
            "the pipeline did not run"
        );
        let spread = v["spread"].as_object().unwrap();
        assert_eq!(spread.keys().collect::<Vec<_>>(), ["sqlite_eps"]);
    } else {
        assert_eq!(code, 2, "{err}{out}");
        assert!(
            err.contains("--only sqlite") && err.contains("built without the sqlite feature"),
            "{err}"
        );
        assert!(out.is_empty() && !err.contains("bench: generated"), "{err}");
    }
}

/// Another path alone: the SQLite figures are 0 (not run) with the feature, null without it,
/// and the human report says why.
#[test]
fn the_sqlite_figures_are_0_when_not_run_and_null_when_not_built() {
    let (code, out, err) = bench(&["--only", "pipeline", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert!(v["pipeline_eps"].as_f64().unwrap() > 0.0);
    if cfg!(feature = "sqlite") {
        assert_eq!(v["sqlite_eps"], 0.0);
        assert_eq!(v["ratios"]["pipeline_vs_sqlite"], 0.0);
        assert!(v.get("notes").is_none(), "{v}");
    } else {
        assert!(
            v["sqlite_eps"].is_null() && v["sqlite_events"].is_null(),
            "{v}"
        );
        assert!(v["ratios"]["pipeline_vs_sqlite"].is_null(), "{v}");
        assert_eq!(v["notes"], json!([SQLITE_NOT_BUILT]));
    }
    let (code, out, err) = bench(&["--only", "pipeline"]);
    assert_eq!(code, 0, "{err}");
    for f in SQLITE {
        let want: &[&str] = if cfg!(feature = "sqlite") {
            &["not", "run"]
        } else {
            &["not", "built"]
        };
        let words = row_words(&out, f);
        assert_eq!(words[words.len() - 2..], *want, "{out}");
    }
    assert_eq!(
        out.contains(
            "the SQLite comparison did not run: waybill was built without the sqlite feature"
        ),
        !cfg!(feature = "sqlite"),
        "{out}"
    );
}

/// Bad usage is exit 2 with a message naming what is wrong, before anything runs.
#[test]
fn bad_arguments_are_refused_before_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    fs::write(&report, earlier_report().to_string()).unwrap();
    let not_json = dir.path().join("not.json");
    fs::write(&not_json, "waybill bench 0.1.0: 20,000 events").unwrap();
    let array = dir.path().join("array.json");
    fs::write(&array, "[1, 2]").unwrap();
    let no_figure = dir.path().join("no-figure.json");
    fs::write(&no_figure, r#"{"events": 1, "shipments": 2}"#).unwrap();
    let missing = dir.path().join("missing.json");
    let r = p(&report);
    // Cases that could run come with a tiny workload: were one to run after all, it would be
    // a small run. Comparing two reports runs nothing, and refuses the options of a run.
    let tiny = true;
    let cases: &[(bool, &[&str], &str)] = &[
        (tiny, &["--repeat", "0"], "--repeat"),
        (tiny, &["--repeat", "101"], "--repeat"),
        (tiny, &["--repeat", "many"], "--repeat"),
        (false, &["--events", "0"], "must be at least 1"),
        (tiny, &["--rate", "0"], "must be at least 1"),
        (tiny, &["--only", "everything"], "--only"),
        (
            false,
            &["--compare", r, r, "--seed", "3"],
            "--seed does not apply",
        ),
        (
            false,
            &["--compare", r, r, "--repeat", "3"],
            "--repeat does not apply",
        ),
        (
            false,
            &["--compare", r, r, "--json"],
            "--json does not apply",
        ),
        (tiny, &["--compare", r, r], "--events does not apply"),
        (tiny, &["--compare", r, r, r], "unexpected argument"),
        (tiny, &["--compare", p(&missing)], "cannot read report"),
        (
            tiny,
            &["--compare", p(&not_json)],
            "is not a report of `waybill bench --json`",
        ),
        (tiny, &["--compare", p(&array)], "not a JSON object"),
        (tiny, &["--compare", p(&no_figure)], "no figure"),
        (false, &["--compare", r, p(&missing)], "cannot read report"),
        (
            tiny,
            &["--only", "sqlite", "--latency-plot", p(dir.path())],
            "--only sqlite",
        ),
        (tiny, &["--latency-plot", r], "--latency-plot"),
        (
            tiny,
            &["--only", "restart", "--latency-plot", p(dir.path())],
            "--only restart",
        ),
    ];
    for (tiny, args, want) in cases {
        let (code, out, err) = if *tiny {
            bench(args)
        } else {
            run(&[&["bench"], *args].concat())
        };
        assert_eq!(code, 2, "{args:?}: {err}{out}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(!err.contains("bench: generated"), "{args:?} ran: {err}");
    }
}
