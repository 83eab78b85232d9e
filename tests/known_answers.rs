//! Known answers through the binary: what `waybill state --shipment` shows for the
//! hand-written events of `examples/every-type.jsonl`, and the stream, state digest and
//! journal bytes of the `smoke` scenario at seed 1.
//!
//! A failure here means the views, the digest, the simulator's streams or the journal format
//! changed (or `scenarios/smoke.toml` did). That is only ever deliberate: update
//! `docs/known-answers.md` with the new values and say why in the commit.

mod common;

use common::*;
use std::fs;
use std::path::{Path, PathBuf};

const CHANGED: &str = "a known answer changed: the shipment views, the state digest, the \
    simulator's streams or the journal format is different (or scenarios/smoke.toml was \
    edited). Only a deliberate format change may do that: update docs/known-answers.md and \
    say why in the commit";

/// The state digest of `examples/every-type.jsonl` (also pinned in the core's known answers).
const EVERY_TYPE_DIGEST: &str = "944231e0325b5e39f07d920ef857fecc42860de831bc8b92bc714e56798168f7";

/// `waybill state --shipment ID --json` after ingesting `examples/every-type.jsonl`.
const VIEWS: [(u64, &str); 3] = [
    (
        1001,
        r#"{"id":1001,"status":"delivered","order_version":2,"cancelled":false,"window_start":"2026-11-27T13:00:00Z","window_end":"2026-11-27T16:00:00Z","delivered":"2026-11-27T15:20:00Z","on_time":true,"billed_cents":51200,"detention_minutes":40,"expected_detention_cents":6000,"leakage_cents":3000,"unbilled_charge_ids":[],"invoice_status":"settled","invoice_ready":true,"order_to_dispatch_minutes":71,"invoice_cycle_minutes":105,"failed_attempts":0,"anomalies":[],"customer_id":"CUST-0042","origin":{"lat":52.370216,"lon":4.895168},"destination":{"lat":51.92442,"lon":4.477733},"weight_kg":1200,"contract":{"currency":"EUR","base_cents":45000,"detention_free_min":60,"detention_cents_per_hour":9000},"route":{"route_id":"RT-2026-11-27-07","vehicle_id":7,"stop_index":3},"eta":"2026-11-27T15:10:00Z","pickup_arrived":"2026-11-27T08:55:00Z","pickup_departed":"2026-11-27T09:15:00Z","picked_up":"2026-11-27T09:10:00Z","delivery_arrived":"2026-11-27T15:05:00Z","delivery_departed":"2026-11-27T16:45:00Z","pod":{"signed_by":"M. de Vries","photo_ref":"pod/1001/1.jpg"},"charges":[{"id":"CH-1001-1","kind":"base","amount_cents":45000,"currency":"EUR","voided":false},{"id":"CH-1001-2","kind":"fuel","amount_cents":3200,"currency":"EUR","voided":false},{"id":"CH-1001-3","kind":"detention","amount_cents":3000,"currency":"EUR","voided":false}],"invoices":[{"id":"INV-1001","total_cents":51200,"charge_ids":["CH-1001-1","CH-1001-2","CH-1001-3"],"settled_cents":51200}]}"#,
    ),
    (
        1002,
        r#"{"id":1002,"status":"cancelled","order_version":1,"cancelled":true,"window_start":"2026-11-27T10:00:00Z","window_end":"2026-11-27T12:00:00Z","delivered":null,"on_time":null,"billed_cents":1000,"detention_minutes":0,"expected_detention_cents":0,"leakage_cents":0,"unbilled_charge_ids":[],"invoice_status":"disputed","invoice_ready":false,"order_to_dispatch_minutes":null,"invoice_cycle_minutes":null,"failed_attempts":1,"anomalies":["currency_mismatch","invoice_total_mismatch"],"customer_id":"CUST-0007","origin":{"lat":52.370216,"lon":4.895168},"destination":{"lat":52.090737,"lon":5.12142},"weight_kg":350,"contract":{"currency":"USD","base_cents":18000,"detention_free_min":30,"detention_cents_per_hour":6000},"route":null,"eta":null,"pickup_arrived":null,"pickup_departed":null,"picked_up":null,"delivery_arrived":null,"delivery_departed":null,"pod":null,"charges":[{"id":"CH-1002-1","kind":"redelivery","amount_cents":2500,"currency":"USD","voided":true},{"id":"CH-1002-2","kind":"other","amount_cents":1000,"currency":"EUR","voided":false}],"invoices":[{"id":"INV-1002","total_cents":1200,"charge_ids":["CH-1002-2"],"settled_cents":800}]}"#,
    ),
    (
        1003,
        r#"{"id":1003,"status":"orphan","order_version":0,"cancelled":false,"window_start":null,"window_end":null,"delivered":null,"on_time":null,"billed_cents":1500,"detention_minutes":0,"expected_detention_cents":0,"leakage_cents":0,"unbilled_charge_ids":["CH-1003-1"],"invoice_status":"none","invoice_ready":false,"order_to_dispatch_minutes":null,"invoice_cycle_minutes":null,"failed_attempts":0,"anomalies":["orphan"],"customer_id":null,"origin":null,"destination":null,"weight_kg":null,"contract":null,"route":null,"eta":null,"pickup_arrived":null,"pickup_departed":null,"picked_up":null,"delivery_arrived":null,"delivery_departed":null,"pod":null,"charges":[{"id":"CH-1003-1","kind":"waiting","amount_cents":1500,"currency":"EUR","voided":false}],"invoices":[]}"#,
    ),
];

/// `smoke` at seed 1: BLAKE3 of `sim export`, the state digest, the journal's last LSN,
/// content digest and chain head, the content digest of the first records (the deliveries its crash lost, resent), and
/// BLAKE3 of every segment file.
const SMOKE_EXPORT_BLAKE3: &str =
    "f5568ce100d0a66052910b440990c74172674ea1d97e1ab1e9ced33eeda8a0fb";
const SMOKE_DIGEST: &str = "80b2b7fbff7df21a543128e3101e4bc63e5a1640709d0720776b0d18aa644d96";
const SMOKE_LSN: u64 = 3372;
const SMOKE_CONTENT_DIGEST: &str =
    "41d6370ca47489675cc5d342bfab5db763d7900dcc8f3f869b27ca66aa1b4065";
const SMOKE_HEAD_LINK: &str = "837c99d5a63a58a28806b40149232820";
const SMOKE_BEFORE_CRASH: (u64, &str) = (
    780,
    "00b137cdfd6891f3bf7e6acae552b97484c170fe50440725eaf26f571b713129",
);
const SMOKE_SEGMENTS: [(&str, &str); 1] = [(
    "00000000000000000000.seg",
    "4f93e420d4534644897db9c4d219382bb39e1caeb5ccb8380f71301b01b34b59",
)];

fn smoke() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/smoke.toml")
}

fn every_type() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/every-type.jsonl")
}

fn blake3_file(path: &Path) -> String {
    blake3::hash(&fs::read(path).unwrap()).to_hex().to_string()
}

/// `journal verify --json` (optionally `--at-lsn N`): (last LSN, content digest, chain head).
fn verify_json(journal: &Path, at_lsn: Option<u64>) -> (u64, String, String) {
    let n = at_lsn.map(|n| n.to_string());
    let mut args = vec!["journal", "verify", "--journal", p(journal), "--json"];
    if let Some(n) = &n {
        args.extend(["--at-lsn", n.as_str()]);
    }
    let v = json(&args);
    let s = |k: &str| {
        v[k].as_str()
            .unwrap_or_else(|| panic!("{k} in {v}"))
            .to_string()
    };
    (
        v["content_lsn"].as_u64().unwrap(),
        s("content_digest"),
        s("head_link"),
    )
}

#[test]
fn hand_written_events_show_the_pinned_shipment_views() {
    let dir = tempfile::tempdir().unwrap();
    let j = dir.path().join("j");
    let counters = ingest(&every_type(), &j);
    assert_eq!(counters["applied"], 26, "{counters}");
    assert_eq!(summary(&j)["digest"], EVERY_TYPE_DIGEST, "{CHANGED}");
    for (id, expected) in VIEWS {
        let id = id.to_string();
        let out = ok(&["state", "--journal", p(&j), "--shipment", &id, "--json"]);
        assert_eq!(out.trim_end(), expected, "shipment {id}: {CHANGED}");
    }
}

#[test]
fn smoke_at_seed_1_has_the_pinned_stream_digest_and_journal() {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("smoke.jsonl");
    ok(&[
        "sim",
        "export",
        p(&smoke()),
        "--seed",
        "1",
        "--out",
        p(&export),
    ]);
    assert_eq!(
        blake3_file(&export),
        SMOKE_EXPORT_BLAKE3,
        "sim export: {CHANGED}"
    );

    let j = dir.path().join("j");
    let report_path = dir.path().join("r.json");
    let out = ok(&[
        "sim",
        "run",
        p(&smoke()),
        "--seed",
        "1",
        "--journal",
        p(&j),
        "--report",
        p(&report_path),
    ]);
    assert!(out.contains("PASSED"), "{out}");
    let report: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&report_path).unwrap()).unwrap();
    // The journal after a crash is reproducible only when which deliveries were resent does
    // not depend on when the group commit flushed: smoke's crash falls in its first batch,
    // before any acknowledgement, so every delivery before it is resent, those the reopened
    // journal kept and those the crash lost alike.
    let crash = &report["crashes"][0];
    let before_crash = crash["lsn_after_reopen"].as_u64().expect("one crash");
    let lost = crash["lost_unacknowledged"].as_u64().expect("one crash");
    assert_eq!(
        (
            crash["lost_acknowledged"].as_u64(),
            crash["redelivered"].as_u64()
        ),
        (Some(0), Some(before_crash + lost)),
        "smoke's crash must come before any acknowledgement, or its journal depends on \
         flush timing: {crash}"
    );

    let s = summary(&j);
    assert_eq!(
        (s["digest"].as_str().unwrap(), s["lsn"].as_u64().unwrap()),
        (SMOKE_DIGEST, SMOKE_LSN),
        "{CHANGED}"
    );
    let (lsn, content, head) = verify_json(&j, None);
    assert_eq!(
        (lsn, content.as_str(), head.as_str()),
        (SMOKE_LSN, SMOKE_CONTENT_DIGEST, SMOKE_HEAD_LINK),
        "{CHANGED}"
    );
    // The first records: the deliveries the crash lost, resent.
    let (lsn, content, _) = verify_json(&j, Some(before_crash + lost));
    assert_eq!((lsn, content.as_str()), SMOKE_BEFORE_CRASH, "{CHANGED}");

    let mut segments: Vec<(String, String)> = fs::read_dir(&j)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|path| path.extension().is_some_and(|x| x == "seg"))
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, blake3_file(&path))
        })
        .collect();
    segments.sort();
    let expected: Vec<(String, String)> = SMOKE_SEGMENTS
        .iter()
        .map(|&(n, h)| (n.to_string(), h.to_string()))
        .collect();
    assert_eq!(segments, expected, "{CHANGED}");
}
