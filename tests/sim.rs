//! End-to-end: `waybill sim run` and `waybill sim export` on the scenario library.

mod common;

use common::*;
use std::fs;
use std::path::{Path, PathBuf};

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
        "replay_digest_matches_live",
        "shuffled_digest_matches_live",
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
    let files = |j: &Path| {
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
    };
    let (f1, f2) = (files(&j1), files(&j2));
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
fn an_impossible_expectation_exits_1_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let sc = dir.path().join("impossible.toml");
    fs::write(
        &sc,
        format!("{NO_CRASH}[expect]\nmin_throughput_eps = 1e15\n"),
    )
    .unwrap();
    let (code, out, err) = run(&["sim", "run", p(&sc)]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("expect.min_throughput_eps"), "{out}");
    assert!(out.contains("FAILED"), "{out}");
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
}

/// Every scenario of the library passes (peak-season included: it is the README's job).
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
    assert!(names.len() >= 9, "{names:?}");
    for n in &names {
        let text = fs::read_to_string(scenario(n)).unwrap();
        assert!(
            text.starts_with(&format!("# {n}:")),
            "{n}.toml must open with a comment saying what it is for"
        );
        let (code, out, err) = run(&["sim", "run", p(&scenario(n))]);
        assert_eq!(code, 0, "scenario {n} failed:\n{out}\n{err}");
    }
}
