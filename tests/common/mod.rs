//! Helpers for the end-to-end tests: run the `waybill` binary and read what it says.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_waybill"))
}

/// Runs `waybill ARGS`, returning (exit code, stdout, stderr).
pub fn run(args: &[&str]) -> (i32, String, String) {
    let out: Output = bin().args(args).output().expect("waybill runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs and expects exit 0; returns stdout.
pub fn ok(args: &[&str]) -> String {
    let (code, out, err) = run(args);
    assert_eq!(code, 0, "waybill {args:?} failed: {err}\n{out}");
    out
}

pub fn json(args: &[&str]) -> serde_json::Value {
    let out = ok(args);
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

pub fn example_day() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/day.jsonl")
}

pub fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// The summary of a journal as JSON.
pub fn summary(journal: &Path) -> serde_json::Value {
    json(&["state", "--journal", p(journal), "--json"])
}

/// `state --all --json` of a journal: one JSON line per shipment.
pub fn all(journal: &Path, extra: &[&str]) -> String {
    let mut args = vec!["state", "--journal", p(journal), "--all", "--json"];
    args.extend_from_slice(extra);
    ok(&args)
}

pub fn ingest(file: &Path, journal: &Path) -> serde_json::Value {
    json(&[
        "ingest",
        p(file),
        "--journal",
        p(journal),
        "--json",
        "--durability",
        "none",
    ])
}

pub fn assert_conserved(s: &serde_json::Value) {
    let n = |k: &str| {
        s[k].as_u64()
            .unwrap_or_else(|| panic!("{k} missing in {s}"))
    };
    assert_eq!(
        n("received"),
        n("applied") + n("duplicates") + n("dead_lettered"),
        "{s}"
    );
    let reasons: u64 = s["dead_letter_reasons"]
        .as_object()
        .expect("reasons")
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(reasons, n("dead_lettered"), "{s}");
}
