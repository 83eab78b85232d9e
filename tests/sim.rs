//! End-to-end: `waybill sim run` and `waybill sim export` on the scenario library.

mod common;

use common::*;
use std::fs;
use std::path::{Path, PathBuf};

/// Runs `waybill ARGS` with its temporary directory in `tmp`, so that a journal a run keeps
/// (a failed run keeps its temporary journal for inspection) is removed with `tmp`.
fn run_in(tmp: &Path, args: &[&str]) -> (i32, String, String) {
    let out = bin()
        .env("TMPDIR", tmp)
        .args(args)
        .output()
        .expect("waybill runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The scenario text without the thresholds on wall time (latency, throughput): those hold
/// on the machine they were written for and are checked when scenarios are run by hand, never
/// by `cargo test`.
fn without_wall_clock_expectations(text: &str) -> String {
    text.lines()
        .filter(|l| {
            let key = l.split('=').next().unwrap_or("").trim();
            ![
                "max_p99_latency_us",
                "max_p999_latency_us",
                "min_throughput_eps",
            ]
            .contains(&key)
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(format!("{name}.toml"))
}

/// A small scenario without a crash (so its journal is byte-for-byte reproducible).
const NO_CRASH: &str = r#"
name = "no-crash"
seed = 5
[world]
shipments = 150
vehicles = 6
start = "2026-11-27T00:00:00Z"
horizon = "8h"
ping_interval = "120s"
[[fault]]
kind = "duplicate"
source = "*"
probability = 0.05
[[fault]]
kind = "reorder"
source = "*"
probability = 0.2
max_delay = "5m"
[[fault]]
kind = "malformed"
source = "*"
probability = 0.01
[run]
segment_bytes = 1048576
"#;

#[test]
fn smoke_passes_and_writes_its_reports() {
    let dir = tempfile::tempdir().unwrap();
    let json_path = dir.path().join("r.json");
    let html_path = dir.path().join("r.html");
    let j = dir.path().join("j");
    let out = ok(&[
        "sim",
        "run",
        p(&scenario("smoke")),
        "--journal",
        p(&j),
        "--report",
        p(&json_path),
        "--html",
        p(&html_path),
    ]);
    assert!(out.contains("PASSED"), "{out}");
    let report: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&json_path).unwrap()).unwrap();
    assert_eq!(report["passed"], true);
    let names: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for n in [
        "conservation",
        "dead_letters_match_injected",
        "duplicates_match_injected",
        "missing_matches_dropped",
        "shipments_match_ground_truth",
        "totals_match_ground_truth",
        "no_acknowledged_event_lost",
        "replay_digest_matches_live",
        "shuffled_digest_matches_live",
        "every_effect_delivered",
        "repeats_carry_the_same_key",
        "effects_match_replay",
        "urgent_effects_flow_during_sink_outages",
        "breakers_open_during_sink_outages",
        "effects_match_ground_truth",
    ] {
        assert!(names.contains(&n), "no check {n} in {names:?}");
    }
    assert!(
        report["crashes"].as_array().unwrap().len() == 1,
        "smoke crashes once"
    );
    let html = fs::read_to_string(&html_path).unwrap();
    assert!(
        html.contains("<svg") && !html.contains("https://"),
        "self-contained HTML with charts"
    );
    // The journal it leaves is a normal journal: it verifies, and its state is the report's.
    ok(&["journal", "verify", "--journal", p(&j)]);
    assert_eq!(summary(&j)["digest"], report["digest"]);
}

#[test]
fn export_is_byte_identical_for_a_seed_and_differs_across_seeds() {
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario("smoke");
    let a = dir.path().join("a.jsonl");
    let b = dir.path().join("b.jsonl");
    let c = dir.path().join("c.jsonl");
    ok(&["sim", "export", p(&sc), "--out", p(&a)]);
    ok(&["sim", "export", p(&sc), "--out", p(&b)]);
    ok(&["sim", "export", p(&sc), "--seed", "2", "--out", p(&c)]);
    let (a, b, c) = (
        fs::read(a).unwrap(),
        fs::read(b).unwrap(),
        fs::read(c).unwrap(),
    );
    assert!(a.len() > 10_000);
    assert_eq!(a, b);
    assert_ne!(a, c);
    // Without --out it goes to stdout, byte for byte the same.
    assert_eq!(ok(&["sim", "export", p(&sc)]).into_bytes(), a);
}

#[test]
fn journal_files_are_byte_identical_across_runs_without_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let sc = dir.path().join("no-crash.toml");
    fs::write(&sc, NO_CRASH).unwrap();
    let (j1, j2) = (dir.path().join("j1"), dir.path().join("j2"));
    ok(&["sim", "run", p(&sc), "--journal", p(&j1)]);
    ok(&["sim", "run", p(&sc), "--journal", p(&j2)]);
    let (f1, f2) = (segment_files(&j1), segment_files(&j2));
    assert!(!f1.is_empty());
    assert!(
        f1 == f2,
        "segment files differ between two runs of the same scenario and seed"
    );
    // And the exported stream ingested by hand gives the same state as the run.
    let exported = dir.path().join("e.jsonl");
    ok(&["sim", "export", p(&sc), "--out", p(&exported)]);
    let by_hand = ingest(&exported, &dir.path().join("j3"));
    assert_eq!(by_hand["digest"], summary(&j1)["digest"]);
}

#[test]
fn an_impossible_expectation_exits_1_naming_it_and_keeps_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let sc = dir.path().join("impossible.toml");
    fs::write(
        &sc,
        format!("{NO_CRASH}[expect]\nmin_events = 1000000000\n"),
    )
    .unwrap();
    let (code, out, err) = run_in(dir.path(), &["sim", "run", p(&sc)]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("expect.min_events"), "{out}");
    assert!(out.contains("FAILED"), "{out}");
    // The failed run keeps its temporary journal, under the temporary directory, and says
    // where it is.
    let kept: Vec<PathBuf> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("waybill-sim-")
        })
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(out.contains(p(&kept[0])), "{out}");
    ok(&["journal", "verify", "--journal", p(&kept[0])]);
}

/// A passing run without `--journal` removes its temporary journal.
#[test]
fn a_passing_run_leaves_no_temporary_journal() {
    let dir = tempfile::tempdir().unwrap();
    let sc = dir.path().join("no-crash.toml");
    fs::write(&sc, NO_CRASH).unwrap();
    let (code, out, err) = run_in(dir.path(), &["sim", "run", p(&sc)]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("(temporary, removed after the run passed)"),
        "{out}"
    );
    let left: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("no-crash.toml")]);
    // Without a terminal there is no progress display: nothing redrawn on stderr.
    assert!(!err.contains('\r'), "{err:?}");
}

#[test]
fn a_misspelled_key_exits_2_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let sc = dir.path().join("typo.toml");
    fs::write(&sc, NO_CRASH.replace("ping_interval", "ping_intervall")).unwrap();
    for cmd in ["run", "export"] {
        let (code, _, err) = run(&["sim", cmd, p(&sc)]);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("ping_intervall"), "{err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
    let (code, _, err) = run(&["sim", "run", "/no/such/scenario.toml"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn a_journal_that_is_not_fresh_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let j = dir.path().join("j");
    ingest(&example_day(), &j);
    let (code, _, err) = run(&["sim", "run", p(&scenario("smoke")), "--journal", p(&j)]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("already holds a journal"), "{err}");
    // A journal path that is a file.
    let file = dir.path().join("file");
    fs::write(&file, "x").unwrap();
    let (code, _, err) = run(&["sim", "run", p(&scenario("smoke")), "--journal", p(&file)]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(p(&file)) && err.contains("not a directory"),
        "{err}"
    );
}

/// Every scenario of the library passes (peak-season included: it is the README's job), run
/// as CI would: all in one command, with a JUnit file. The thresholds on wall time are left
/// out (they are for runs by hand).
#[test]
fn every_scenario_in_the_library_passes() {
    let mut names: Vec<String> =
        fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
            .collect();
    names.sort();
    assert!(names.len() >= 11, "{names:?}");
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for n in &names {
        let text = fs::read_to_string(scenario(n)).unwrap();
        assert!(
            text.starts_with(&format!("# {n}:")),
            "{n}.toml must open with a comment saying what it is for"
        );
        let copy = dir.path().join(format!("{n}.toml"));
        fs::write(&copy, without_wall_clock_expectations(&text)).unwrap();
        files.push(copy);
    }
    let junit = dir.path().join("junit.xml");
    let mut args = vec!["sim", "run"];
    args.extend(files.iter().map(|f| p(f)));
    args.extend(["--junit", p(&junit)]);
    let (code, out, err) = run_in(dir.path(), &args);
    assert_eq!(code, 0, "a scenario failed:\n{out}\n{err}");
    let n = names.len();
    assert!(
        out.contains(&format!("{n} of {n} scenarios passed")),
        "{out}"
    );
    let xml = fs::read_to_string(&junit).unwrap();
    assert_eq!(xml.matches("<testsuite ").count(), n, "{xml}");
    assert!(
        !xml.contains("<failure") && !xml.contains("<error"),
        "{xml}"
    );
}

/// Billing goes down through the evening peak: its breaker opens within the outage and closes
/// after it, its confirmations wait and then catch up, the urgent effects of the other sinks
/// keep flowing, and every effect check is its own JUnit test case.
#[test]
fn a_billing_outage_holds_financial_effects_back_and_lets_urgent_ones_through() {
    let dir = tempfile::tempdir().unwrap();
    let (json, junit) = (dir.path().join("r.json"), dir.path().join("junit.xml"));
    let (code, out, err) = run_in(
        dir.path(),
        &[
            "sim",
            "run",
            p(&scenario("billing-outage")),
            "--report",
            p(&json),
            "--junit",
            p(&junit),
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let r: serde_json::Value = serde_json::from_str(&fs::read_to_string(&json).unwrap()).unwrap();
    let e = &r["effects"];
    let n = |v: &serde_json::Value| v.as_i64().unwrap_or_else(|| panic!("{v}"));
    let outage = &e["sink_outages"][0];
    assert_eq!(outage["sink"], "billing");
    let (from, to) = (n(&outage["from_us"]), n(&outage["to_us"]));
    let spans = e["breaker_spans"].as_array().unwrap();
    assert!(
        spans.iter().any(|b| b["sink"] == "billing"
            && (from..to).contains(&n(&b["from_us"]))
            && n(&b["to_us"]) >= to),
        "{spans:?}"
    );
    let billing = &e["sinks"][1];
    assert_eq!(billing["sink"], "billing");
    assert!(n(&billing["refused_down"]) > 0, "{billing}");
    assert_eq!(billing["pending"], 0);
    assert_eq!(billing["delivered"], billing["derived"]);
    let buckets = e["timeline"]["buckets"].as_array().unwrap();
    let peak = buckets.iter().map(|b| n(&b["pending"][1])).max().unwrap();
    assert!(peak > 50, "billing's confirmations waited: peak {peak}");
    assert_eq!(n(&buckets.last().unwrap()["pending"][1]), 0);
    let urgent = &e["latency"][0];
    assert_eq!(urgent["class"], "urgent");
    assert!(n(&urgent["p99_us"]) <= 300_000_000, "{urgent}");
    let xml = fs::read_to_string(&junit).unwrap();
    for name in [
        "every_effect_delivered",
        "repeats_carry_the_same_key",
        "effects_match_replay",
        "urgent_effects_flow_during_sink_outages",
        "breakers_open_during_sink_outages",
        "effects_match_ground_truth",
        "expect.max_urgent_effect_p99_latency",
        "expect.max_breaker_open",
    ] {
        assert!(
            xml.contains(&format!("<testcase name=\"{name}\"")),
            "no test case {name} in {xml}"
        );
    }
}

/// Writes `NO_CRASH` as `name.toml` in `dir`, with `extra` appended.
fn no_crash_file(dir: &Path, name: &str, extra: &str) -> PathBuf {
    let path = dir.join(format!("{name}.toml"));
    let text = NO_CRASH.replace("name = \"no-crash\"", &format!("name = \"{name}\""));
    fs::write(&path, format!("{text}{extra}")).unwrap();
    path
}

/// Several scenarios: one summary table, exit 1 when one fails, a JUnit test case per check
/// per scenario, a JSON array of reports, one HTML file per scenario.
#[test]
fn several_scenarios_give_one_table_junit_and_per_scenario_reports() {
    let dir = tempfile::tempdir().unwrap();
    let good = no_crash_file(dir.path(), "good", "");
    let bad = no_crash_file(dir.path(), "bad", "[expect]\nmin_events = 1000000000\n");
    let (junit, json, html) = (
        dir.path().join("out/junit.xml"),
        dir.path().join("out/r.json"),
        dir.path().join("out/r.html"),
    );
    fs::create_dir(dir.path().join("out")).unwrap();
    let journals = dir.path().join("journals");
    let (code, out, err) = run_in(
        dir.path(),
        &[
            "sim",
            "run",
            p(&good),
            p(&bad),
            "--junit",
            p(&junit),
            "--report",
            p(&json),
            "--html",
            p(&html),
            "--journal",
            p(&journals),
        ],
    );
    assert_eq!(code, 1, "{out}{err}");
    let table = &out[out.find("summary of 2 scenarios").expect("a summary table")..];
    assert!(table.contains("✓ good"), "{table}");
    assert!(table.contains("✗ bad"), "{table}");
    assert!(table.contains("failed: expect.min_events"), "{table}");
    assert!(table.contains("1 of 2 scenarios passed"), "{table}");

    let xml = fs::read_to_string(&junit).unwrap();
    assert!(
        xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites "),
        "{xml}"
    );
    let reports: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&json).unwrap()).unwrap();
    let reports = reports.as_array().expect("one JSON array");
    assert_eq!(reports.len(), 2);
    for r in reports {
        let name = r["scenario"].as_str().unwrap();
        let checks = r["checks"].as_array().unwrap();
        let suite = format!("<testsuite name=\"{name}\" tests=\"{}\"", checks.len());
        assert!(xml.contains(&suite), "{suite} in {xml}");
        for c in checks {
            let case = format!(
                "<testcase name=\"{}\" classname=\"{name}\"",
                c["name"].as_str().unwrap()
            );
            assert_eq!(xml.matches(&case).count(), 1, "{case} in {xml}");
        }
        // Each scenario's journal and HTML are its own.
        let journal = journals.join(name);
        assert_eq!(r["journal"].as_str().unwrap(), p(&journal));
        assert_eq!(summary(&journal)["digest"], r["digest"]);
        let page = fs::read_to_string(dir.path().join(format!("out/r-{name}.html"))).unwrap();
        assert!(page.contains(&format!("<h1>{name}</h1>")));
    }
    assert_eq!(xml.matches("<failure ").count(), 1, "{xml}");
    assert!(
        xml.contains("<failure message=\"expected &gt;= 1000000000 events, actual "),
        "{xml}"
    );
    assert!(
        !html.exists(),
        "several scenarios write one HTML file each, not {html:?}"
    );
}

/// A bad scenario among several is refused before anything runs: no journal, no output.
#[test]
fn a_bad_scenario_among_several_exits_2_naming_it_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let good = no_crash_file(dir.path(), "good", "");
    let bad = dir.path().join("typo.toml");
    fs::write(&bad, NO_CRASH.replace("ping_interval", "ping_intervall")).unwrap();
    let journals = dir.path().join("journals");
    let junit = dir.path().join("junit.xml");
    let (code, out, err) = run_in(
        dir.path(),
        &[
            "sim",
            "run",
            p(&good),
            p(&bad),
            "--journal",
            p(&journals),
            "--junit",
            p(&junit),
        ],
    );
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains(p(&bad)) && err.contains("ping_intervall"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(out.is_empty(), "{out}");
    assert!(!journals.exists() && !junit.exists());
}

/// Output files are checked before the run: a path that cannot be written fails at once,
/// naming it, and nothing runs.
#[test]
fn a_bad_output_path_fails_before_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let sc = no_crash_file(dir.path(), "good", "");
    let j = dir.path().join("j");
    let missing = dir.path().join("no/such/dir/r.json");
    let cases: Vec<(&str, PathBuf)> = vec![
        ("--report", missing.clone()),
        ("--html", dir.path().to_path_buf()),
        ("--junit", dir.path().join("no/such/junit.xml")),
    ];
    for (flag, path) in cases {
        let (code, out, err) = run_in(
            dir.path(),
            &["sim", "run", p(&sc), "--journal", p(&j), flag, p(&path)],
        );
        assert_eq!(code, 2, "{flag}: {out}{err}");
        assert!(err.contains(p(&path)), "{flag}: {err}");
        assert!(out.is_empty(), "{flag}: nothing ran, yet: {out}");
        assert!(!j.exists(), "{flag}: nothing ran, yet the journal exists");
    }
    let (code, _, err) = run_in(
        dir.path(),
        &["sim", "run", p(&sc), "--report", "-", "--junit", "-"],
    );
    assert_eq!(code, 2, "{err}");
}

/// A report that cannot be written after the run (a full disk) loses nothing: the result is
/// on stdout, the error names the path, and the exit code is the environment's.
#[test]
fn a_report_that_cannot_be_written_after_the_run_keeps_the_result() {
    if !Path::new("/dev/full").exists() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sc = no_crash_file(dir.path(), "good", "");
    let (code, out, err) = run_in(dir.path(), &["sim", "run", p(&sc), "--report", "/dev/full"]);
    assert_eq!(code, 3, "{out}{err}");
    assert!(out.contains("PASSED"), "{out}");
    assert!(err.contains("/dev/full"), "{err}");
}

/// `--report -` writes the JSON on stdout, alone; the human summary goes to stderr. The
/// same for `--junit -`.
#[test]
fn report_dash_is_standard_output() {
    let dir = tempfile::tempdir().unwrap();
    let sc = no_crash_file(dir.path(), "good", "");
    let (code, out, err) = run_in(dir.path(), &["sim", "run", p(&sc), "--report", "-"]);
    assert_eq!(code, 0, "{out}{err}");
    let report: serde_json::Value = serde_json::from_str(&out).expect("stdout is the JSON");
    assert_eq!(report["passed"], true);
    assert!(err.contains("PASSED"), "{err}");
    assert!(!dir.path().join("-").exists());

    let (code, out, err) = run_in(dir.path(), &["sim", "run", p(&sc), "--junit", "-"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.starts_with("<?xml") && out.trim_end().ends_with("</testsuites>"),
        "{out}"
    );
    assert!(err.contains("PASSED"), "{err}");
}

/// The `.seg` files of a journal, by name.
fn segment_files(j: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = fs::read_dir(j)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                fs::read(&p).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

/// Power cuts under group commit really lose what was not durable, and nothing that was
/// acknowledged: the producers resend the rest and the journal ends whole.
#[test]
fn power_loss_loses_only_what_was_never_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let (j, json) = (dir.path().join("j"), dir.path().join("r.json"));
    let (code, out, err) = run_in(
        dir.path(),
        &[
            "sim",
            "run",
            p(&scenario("power-loss")),
            "--journal",
            p(&j),
            "--report",
            p(&json),
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let r: serde_json::Value = serde_json::from_str(&fs::read_to_string(&json).unwrap()).unwrap();
    let crashes = r["crashes"].as_array().unwrap();
    assert!(crashes.len() >= 3, "{crashes:?}");
    let n = |v: &serde_json::Value, k: &str| v[k].as_u64().unwrap_or_else(|| panic!("{k}: {v}"));
    let mut pages_lost = 0;
    for c in crashes {
        assert_eq!(c["mode"], "power");
        assert_eq!(n(c, "lost_acknowledged"), 0, "{c}");
        pages_lost += n(&c["power_cut"], "pages_lost");
    }
    assert!(pages_lost > 0, "the power cuts lost nothing: {crashes:?}");
    let a = &r["acknowledgements"];
    assert_eq!(n(a, "lost_acknowledged"), 0);
    assert!(n(a, "lost_unacknowledged") > 0, "{a}");
    assert!(n(a, "redelivered") >= n(a, "lost_unacknowledged"), "{a}");
    let check = r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "no_acknowledged_event_lost")
        .expect("the check runs under group commit");
    assert_eq!(check["passed"], true);
    ok(&["journal", "verify", "--journal", p(&j)]);
    assert_eq!(summary(&j)["digest"], r["digest"]);
}

/// Under sync what a power cut finds unflushed depends on the run alone, so a seed
/// reproduces the cut and the journal byte for byte; another seed cuts other pages.
#[test]
fn a_power_cut_under_sync_is_reproduced_by_its_seed() {
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario("power-loss-sync");
    let run_once = |name: &str, extra: &[&str]| {
        let (j, json) = (
            dir.path().join(name),
            dir.path().join(format!("{name}.json")),
        );
        let mut args = vec![
            "sim",
            "run",
            p(&sc),
            "--journal",
            p(&j),
            "--report",
            p(&json),
        ];
        args.extend_from_slice(extra);
        let (code, out, err) = run_in(dir.path(), &args);
        assert_eq!(code, 0, "{out}{err}");
        let r: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&json).unwrap()).unwrap();
        (r, segment_files(&j))
    };
    let (a, a_files) = run_once("a", &[]);
    let (b, b_files) = run_once("b", &[]);
    assert_eq!(a["crashes"], b["crashes"]);
    assert_eq!(a["acknowledgements"], b["acknowledgements"]);
    assert_eq!(a["digest"], b["digest"]);
    assert!(
        a_files == b_files,
        "segment files differ between two runs of one seed"
    );
    assert_eq!(a["crashes"][0]["lost_acknowledged"], 0);
    let (c, _) = run_once("c", &["--seed", "30"]);
    assert_ne!(
        a["crashes"][0]["power_cut"]["seed"],
        c["crashes"][0]["power_cut"]["seed"]
    );
}

/// An output path the environment refuses (no permission) fails before the run with exit 3,
/// naming it. `/sys` refuses new files even to root; where it does not, there is nothing to
/// test.
#[test]
fn an_output_path_without_permission_exits_3_before_the_run() {
    let probe = Path::new("/sys/waybill-probe.json");
    let refused = fs::File::create(probe)
        .err()
        .is_some_and(|e| e.kind() == std::io::ErrorKind::PermissionDenied);
    if !refused {
        let _ = fs::remove_file(probe);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sc = no_crash_file(dir.path(), "good", "");
    let j = dir.path().join("j");
    let (code, out, err) = run_in(
        dir.path(),
        &[
            "sim",
            "run",
            p(&sc),
            "--journal",
            p(&j),
            "--report",
            p(probe),
        ],
    );
    assert_eq!(code, 3, "{out}{err}");
    assert!(err.contains(p(probe)), "{err}");
    assert!(out.is_empty() && !j.exists(), "nothing ran: {out}");
}

/// A sink that stays down to the end of the run (a `sink_outage` without `to`): the run
/// passes with its effects accounted for as pending, `waybill effects` lists exactly those,
/// and `effects deliver` hands them over once a sink is configured.
#[test]
fn a_sink_down_to_the_end_leaves_its_effects_pending_for_waybill_effects() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("billing-down.toml");
    fs::write(
        &file,
        "name = \"billing-down\"\nseed = 5\n\n[world]\nshipments = 300\nvehicles = 20\n\
         start = \"2026-11-27T00:00:00Z\"\nhorizon = \"24h\"\nping_interval = \"600s\"\n\n\
         [[fault]]\nkind = \"sink_outage\"\nsink = \"billing\"\nfrom = \"18h\"\n",
    )
    .unwrap();
    let j = tmp.path().join("j");
    let report = tmp.path().join("r.json");
    let (code, out, err) = run(&[
        "sim",
        "run",
        p(&file),
        "--journal",
        p(&j),
        "--report",
        p(&report),
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    let r: serde_json::Value = serde_json::from_str(&fs::read_to_string(&report).unwrap()).unwrap();
    let check = r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "every_effect_delivered")
        .unwrap()
        .clone();
    let actual = check["actual"].as_str().unwrap();
    let left: u64 = actual
        .split(", ")
        .find_map(|p| p.strip_suffix(" pending for sinks down to the end"))
        .unwrap_or_else(|| panic!("{actual}"))
        .parse()
        .unwrap();
    assert!(left > 0, "{actual}");
    let listed = json(&["effects", "--journal", p(&j), "--pending", "--json"]);
    let rows = listed["effects"].as_array().unwrap();
    assert_eq!(rows.len() as u64, left, "{listed}");
    assert!(
        rows.iter()
            .all(|e| e["sink"] == "billing" && e["state"] == "pending")
    );
    let config = tmp.path().join("sinks.toml");
    fs::write(
        &config,
        "[sinks.billing]\nkind = \"file\"\npath = \"billing.jsonl\"\n",
    )
    .unwrap();
    ok(&[
        "effects",
        "deliver",
        "--journal",
        p(&j),
        "--config",
        p(&config),
    ]);
    let delivered = fs::read_to_string(tmp.path().join("billing.jsonl")).unwrap();
    assert_eq!(delivered.lines().count() as u64, left);
    let after = json(&["effects", "--journal", p(&j), "--pending", "--json"]);
    assert!(after["effects"].as_array().unwrap().is_empty(), "{after}");
}
