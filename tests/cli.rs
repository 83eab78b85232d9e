//! End-to-end: the `waybill` binary on the bundled example day and on bad input.

mod common;

use common::*;
use std::fs;
use std::io::Write;

#[test]
fn ingest_then_replay_gives_the_live_digest_and_reingest_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let j = dir.path().join("j");
    let first = ingest(&example_day(), &j);
    assert_conserved(&first);
    assert!(first["applied"].as_u64().unwrap() > 1000, "{first}");
    assert!(
        first["duplicates"].as_u64().unwrap() > 0,
        "the example redelivers some lines"
    );
    assert!(first["dead_lettered"].as_u64().unwrap() >= 5, "{first}");

    // A fresh replay of the journal gives the digest the live core reported.
    let replayed = summary(&j);
    assert_conserved(&replayed);
    assert_eq!(replayed["digest"], first["digest"]);
    assert_eq!(replayed["lsn"], first["lsn"]);
    let by_status: u64 = replayed["shipments_by_status"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(by_status, replayed["shipments"].as_u64().unwrap());
    assert_eq!(
        replayed["shipments_by_status"]["cancelled"], 3,
        "the example cancels shipments 13, 26 and 39"
    );
    let totals = replayed["totals"].as_object().unwrap();
    assert!(
        totals
            .values()
            .any(|t| t["leakage_cents"].as_i64().unwrap() > 0),
        "the example forgets detention charges: {totals:?}"
    );
    let all_before = all(&j, &[]);

    // The second time every event is a duplicate (dead letters are dead-lettered again).
    let second = ingest(&example_day(), &j);
    assert_eq!(second["applied"], 0, "{second}");
    assert_eq!(
        second["duplicates"].as_u64().unwrap() + second["dead_lettered"].as_u64().unwrap(),
        second["received"].as_u64().unwrap()
    );
    assert_eq!(second["digest"], first["digest"]);
    assert_eq!(all(&j, &[]), all_before);
    let total = summary(&j);
    assert_conserved(&total);
    assert_eq!(
        total["received"].as_u64().unwrap(),
        2 * first["received"].as_u64().unwrap()
    );
}

#[test]
fn at_lsn_equals_a_fresh_ingest_of_the_first_n_events() {
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("full");
    ingest(&example_day(), &full);
    let text = fs::read_to_string(example_day()).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    for n in [1usize, 7, 100, 777, lines.len() - 3] {
        let prefix = dir.path().join(format!("first-{n}.jsonl"));
        fs::write(&prefix, lines[..n].join("\n")).unwrap();
        let fresh = dir.path().join(format!("fresh-{n}"));
        let live = ingest(&prefix, &fresh);
        let n_s = n.to_string();
        let at = json(&["state", "--journal", p(&full), "--at-lsn", &n_s, "--json"]);
        assert_eq!(at["lsn"].as_u64(), Some(n as u64));
        assert_eq!(at["digest"], live["digest"], "at lsn {n}");
        assert_eq!(
            all(&full, &["--at-lsn", &n_s]),
            all(&fresh, &[]),
            "at lsn {n}"
        );
    }
}

#[test]
fn at_time_sees_what_was_ingested_by_then() {
    let dir = tempfile::tempdir().unwrap();
    let j = dir.path().join("j");
    ingest(&example_day(), &j);
    let before = json(&[
        "state",
        "--journal",
        p(&j),
        "--at-time",
        "2000-01-01T00:00:00Z",
        "--json",
    ]);
    assert_eq!(before["lsn"], 0);
    assert_eq!(before["received"], 0);
    let after = json(&[
        "state",
        "--journal",
        p(&j),
        "--at-time",
        "2999-01-01T00:00:00Z",
        "--json",
    ]);
    assert_eq!(after["digest"], summary(&j)["digest"]);
    let (code, _, err) = run(&["state", "--journal", p(&j), "--at-time", "yesterday"]);
    assert_eq!(code, 2);
    assert!(err.contains("RFC 3339"), "{err}");
}

#[test]
fn shipment_views_history_and_dead_letters() {
    let dir = tempfile::tempdir().unwrap();
    let j = dir.path().join("j");
    ingest(&example_day(), &j);
    let s = json(&["state", "--journal", p(&j), "--shipment", "5", "--json"]);
    for key in [
        "id",
        "status",
        "order_version",
        "cancelled",
        "window_start",
        "window_end",
        "delivered",
        "on_time",
        "billed_cents",
        "detention_minutes",
        "expected_detention_cents",
        "leakage_cents",
        "unbilled_charge_ids",
        "invoice_status",
        "invoice_ready",
        "failed_attempts",
        "anomalies",
    ] {
        assert!(s.get(key).is_some(), "shipment JSON lacks {key}: {s}");
    }
    assert_eq!(s["id"], 5);
    assert_eq!(s["status"], "delivered");
    // Every line of --all is one shipment, sorted by id.
    let ids: Vec<u64> = all(&j, &[])
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(ids, (1..=40).collect::<Vec<_>>());
    // Human output names the fields too.
    let human = ok(&["state", "--journal", p(&j), "--shipment", "5"]);
    assert!(human.contains("invoice_status"), "{human}");
    let (code, _, err) = run(&["state", "--journal", p(&j), "--shipment", "999999"]);
    assert_eq!(code, 2);
    assert!(err.contains("no shipment 999999"), "{err}");

    let history = ok(&["history", "--journal", p(&j), "--shipment", "5", "--json"]);
    let rows: Vec<serde_json::Value> = history
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        rows.iter()
            .any(|r| r["type"] == "order.created" && r["outcome"] == "applied")
    );
    assert!(rows.iter().any(|r| r["type"] == "shipment.delivered"));
    assert!(
        rows.windows(2)
            .all(|w| w[0]["lsn"].as_u64() < w[1]["lsn"].as_u64())
    );

    let dls = ok(&["dead-letters", "--journal", p(&j), "--json"]);
    let reasons: Vec<String> = dls
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["reason"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    for r in [
        "malformed_json",
        "unknown_type",
        "ownership_violation",
        "invalid_data",
        "invalid_envelope",
    ] {
        assert!(reasons.iter().any(|x| x == r), "no {r} in {reasons:?}");
    }
    assert!(dls.contains("this is not json"), "raw bytes are kept");
}

#[test]
fn dump_shows_records_from_an_lsn() {
    let dir = tempfile::tempdir().unwrap();
    let j = dir.path().join("j");
    ingest(&example_day(), &j);
    let out = ok(&[
        "journal",
        "dump",
        "--journal",
        p(&j),
        "--from-lsn",
        "10",
        "--limit",
        "5",
        "--json",
    ]);
    let rows: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        rows.iter()
            .map(|r| r["lsn"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        vec![10, 11, 12, 13, 14]
    );
    assert_eq!(rows[0]["event"]["specversion"], "1.0");
    let text = ok(&["journal", "dump", "--journal", p(&j), "--limit", "2"]);
    assert_eq!(text.lines().count(), 2);
}

/// Bad input of every kind: a clear error or a dead letter, never a panic.
#[test]
fn bad_input_is_dead_lettered_or_refused_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let j = dir.path().join("j");
    let file = dir.path().join("bad.jsonl");
    let mut f = fs::File::create(&file).unwrap();
    f.write_all(b"\x00\xff\xfe garbage \x80\n").unwrap();
    f.write_all(b"{\"specversion\":\"1.0\",\"id\":\"a\",\"sou\n")
        .unwrap();
    f.write_all(&vec![b'x'; 1 << 20]).unwrap();
    f.write_all(b"\n").unwrap();
    f.write_all(br#"{"specversion":"1.0","id":"b","source":"erp/x","sequence":"1","type":"order.cancelled","time":"2026-11-27T00:00:00Z","subject":"shipment/1","data":{"reason":5}}"#).unwrap();
    f.write_all(b"\n\n   \n").unwrap();
    f.write_all(br#"{"specversion":1.0,"id":"c","source":"erp/x","sequence":"2","type":"order.cancelled","time":"2026-11-27T00:00:00Z","subject":"shipment/1","data":{"reason":"r"}}"#).unwrap();
    f.write_all(b"\n[1,2,3]\n").unwrap();
    drop(f);
    let s = ingest(&file, &j);
    assert_conserved(&s);
    assert_eq!(s["received"], 6, "blank lines are not counted: {s}");
    assert_eq!(s["dead_lettered"], 6);
    let r = &s["dead_letter_reasons"];
    assert_eq!(r["malformed_json"], 3, "{r}");
    assert_eq!(r["too_large"], 1, "{r}");
    assert_eq!(r["invalid_data"], 1, "{r}");
    assert_eq!(r["invalid_envelope"], 1, "{r}");

    // A missing input file, an unknown journal folder and bad flags are usage errors (exit 2).
    let (code, _, err) = run(&["ingest", "/no/such/file.jsonl", "--journal", p(&j)]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("cannot open"), "{err}");
    for args in [
        vec!["state", "--journal", "/no/such/journal"],
        vec![
            "history",
            "--journal",
            "/no/such/journal",
            "--shipment",
            "1",
        ],
        vec!["journal", "verify", "--journal", "/no/such/journal"],
        vec!["journal", "dump", "--journal", "/no/such/journal"],
        vec!["dead-letters", "--journal", "/no/such/journal"],
    ] {
        let (code, _, err) = run(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains("no journal"), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    }
    let (code, _, _) = run(&["state", "--journal", p(&j), "--at-lsn", "x"]);
    assert_eq!(code, 2);
    let (code, _, _) = run(&[
        "ingest",
        p(&file),
        "--journal",
        p(&j),
        "--durability",
        "maybe",
    ]);
    assert_eq!(code, 2);
}

#[test]
fn a_batch_array_ingests_like_jsonl() {
    let dir = tempfile::tempdir().unwrap();
    let text = fs::read_to_string(example_day()).unwrap();
    let good: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with('{'))
        .take(300)
        .collect();
    let jsonl = dir.path().join("a.jsonl");
    let array = dir.path().join("a.json");
    fs::write(&jsonl, good.join("\n")).unwrap();
    fs::write(&array, format!("[\n  {}\n]\n", good.join(",\n  "))).unwrap();
    let a = ingest(&jsonl, &dir.path().join("ja"));
    let b = ingest(&array, &dir.path().join("jb"));
    assert_eq!(a["digest"], b["digest"]);
    assert_eq!(a["received"], b["received"]);
}

/// (offset, frame length) of every record in a segment file.
fn frames(seg: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut at = 64;
    while at + 48 <= seg.len() {
        let len = u32::from_le_bytes(seg[at..at + 4].try_into().unwrap()) as usize;
        if len == 0 {
            break;
        }
        let size = 48 + len.div_ceil(16) * 16;
        out.push((at, size));
        at += size;
    }
    out
}

/// Damage done to the middle of the first segment, checked through `journal verify`.
fn check_damage(name: &str, damage: impl Fn(&mut Vec<u8>, &[(usize, usize)])) {
    let dir = tempfile::tempdir().unwrap();
    let j = dir.path().join("j");
    ingest(&example_day(), &j);
    ok(&["journal", "verify", "--journal", p(&j)]);
    let seg = j.join("00000000000000000000.seg");
    let mut bytes = fs::read(&seg).unwrap();
    let fr = frames(&bytes);
    assert!(fr.len() > 1000, "{name}: {} records", fr.len());
    damage(&mut bytes, &fr);
    fs::write(&seg, &bytes).unwrap();
    let (code, out, err) = run(&["journal", "verify", "--journal", p(&j)]);
    assert_eq!(code, 1, "{name}: {out}{err}");
    for word in ["segment 00000000000000000000.seg", "offset", "lsn"] {
        assert!(err.contains(word), "{name}: no {word:?} in {err}");
    }
    let (code, _, _) = run(&["state", "--journal", p(&j)]);
    assert_eq!(code, 1, "{name}: reading a damaged journal fails the check");
}

#[test]
fn verify_names_a_flipped_byte_a_removed_record_and_swapped_records() {
    check_damage("flipped byte", |b, fr| {
        let (at, size) = fr[500];
        b[at + size - 20] ^= 0x01;
    });
    check_damage("removed record", |b, fr| {
        let (at, size) = fr[500];
        b.drain(at..at + size);
        b.extend(std::iter::repeat_n(0, size));
    });
    check_damage("swapped records", |b, fr| {
        let (a, a_size) = fr[500];
        let (_, b_size) = fr[501];
        let first = b[a..a + a_size].to_vec();
        let second = b[a + a_size..a + a_size + b_size].to_vec();
        b[a..a + b_size].copy_from_slice(&second);
        b[a + b_size..a + b_size + a_size].copy_from_slice(&first);
    });
}

#[test]
fn verify_passes_on_a_clean_journal_and_names_damage() {
    let dir = tempfile::tempdir().unwrap();
    let j = dir.path().join("j");
    ingest(&example_day(), &j);
    let out = ok(&["journal", "verify", "--journal", p(&j)]);
    assert!(out.starts_with("ok:"), "{out}");
    // Flip one byte in the middle of the first segment.
    let seg = fs::read_dir(&j)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .min()
        .unwrap();
    let mut bytes = fs::read(&seg).unwrap();
    let at = 64 + 48 * 40 + 1000;
    bytes[at] ^= 0x20;
    fs::write(&seg, &bytes).unwrap();
    let (code, _, err) = run(&["journal", "verify", "--journal", p(&j)]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("segment") && err.contains("offset") && err.contains("lsn"),
        "{err}"
    );
    // Every command that reads the journal refuses it the same way.
    let (code, _, _) = run(&["state", "--journal", p(&j)]);
    assert_eq!(code, 1);
}

#[test]
fn verify_reports_the_content_digest_at_the_end_and_at_an_lsn() {
    let dir = tempfile::tempdir().unwrap();
    let j = dir.path().join("j");
    ingest(&example_day(), &j);
    let full = json(&["journal", "verify", "--journal", p(&j), "--json"]);
    let last = full["last_lsn"].as_u64().unwrap();
    assert!(last > 1000, "{full}");
    let digest = full["content_digest"].as_str().unwrap();
    assert_eq!(digest.len(), 64, "{full}");
    assert!(
        digest
            .bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
    assert_eq!(full["content_lsn"], last);

    let text = ok(&["journal", "verify", "--journal", p(&j)]);
    assert!(
        text.contains(&format!("content digest {digest} (lsn 1..{last})")),
        "{text}"
    );

    let at_end = json(&[
        "journal",
        "verify",
        "--journal",
        p(&j),
        "--json",
        "--at-lsn",
        &last.to_string(),
    ]);
    assert_eq!(at_end["content_digest"], full["content_digest"]);
    let at_100 = json(&[
        "journal",
        "verify",
        "--journal",
        p(&j),
        "--json",
        "--at-lsn",
        "100",
    ]);
    assert_eq!(at_100["content_lsn"], 100);
    assert_eq!(
        at_100["last_lsn"], last,
        "the checks still cover the whole journal"
    );
    assert_eq!(at_100["head_link"], full["head_link"]);
    assert_ne!(at_100["content_digest"], full["content_digest"]);
    assert_eq!(at_100["content_digest"].as_str().unwrap().len(), 64);

    // An anchor past the end means records are missing: a failed check.
    let (code, _, err) = run(&[
        "journal",
        "verify",
        "--journal",
        p(&j),
        "--at-lsn",
        &(last + 1).to_string(),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("anchor lsn"), "{err}");
}

#[test]
fn bench_prints_every_field_of_the_contract() {
    let out = ok(&[
        "bench",
        "--events",
        "20000",
        "--shipments",
        "2000",
        "--rate",
        "200000",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    for k in [
        "limit_eps",
        "apply_only_eps",
        "pipeline_eps",
        "pipeline_group_eps",
        "replay_eps",
        "jsonl_ingest_eps",
        "sqlite_eps",
        "state_bytes_per_shipment",
    ] {
        assert!(v[k].as_f64().is_some_and(|x| x > 0.0), "{k} in {v}");
    }
    for k in ["pipeline_vs_limit", "pipeline_vs_sqlite"] {
        assert!(
            v["ratios"][k].as_f64().is_some_and(|x| x > 0.0),
            "{k} in {v}"
        );
    }
    for group in ["latency_us", "durable_latency_us"] {
        for k in ["p50", "p99", "p999", "max"] {
            assert!(
                v[group][k].as_u64().is_some_and(|x| x > 0),
                "{group}.{k} in {v}"
            );
        }
        assert!(v[group]["p50"].as_u64() <= v[group]["max"].as_u64());
    }
    assert_eq!(v["events"], 20000);
}

/// Output piped into a reader that stops early (`| head`) ends quietly, never with a panic.
#[test]
fn a_closed_pipe_ends_output_quietly() {
    use std::io::Read;
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    let j = dir.path().join("j");
    ingest(&example_day(), &j);
    // Far more dead letters than a pipe buffers, so the writer outlives its reader.
    let bad = dir.path().join("bad.jsonl");
    fs::write(&bad, "not json at all, line after line\n".repeat(20_000)).unwrap();
    let jb = dir.path().join("jb");
    ingest(&bad, &jb);
    for args in [
        vec!["journal", "dump", "--journal", p(&j)],
        vec!["dead-letters", "--journal", p(&jb)],
        vec!["dead-letters", "--journal", p(&jb), "--json"],
        vec!["state", "--journal", p(&j), "--all"],
        vec!["history", "--journal", p(&j), "--shipment", "3"],
    ] {
        let mut child = common::bin()
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = [0u8; 16];
        child.stdout.take().unwrap().read_exact(&mut first).unwrap(); // then the pipe closes
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

/// Every durability mode journals the same records and acknowledges only what is durable:
/// after `ingest` returns, the durable LSN is the last LSN.
#[test]
fn every_durability_mode_gives_the_same_state_and_acknowledges_durably() {
    let dir = tempfile::tempdir().unwrap();
    let mut digests = Vec::new();
    for mode in ["none", "group", "sync"] {
        let j = dir.path().join(mode);
        let v = json(&[
            "ingest",
            p(&example_day()),
            "--journal",
            p(&j),
            "--json",
            "--durability",
            mode,
        ]);
        assert_eq!(v["durable_lsn"], v["lsn"], "{mode}: {v}");
        assert_conserved(&v);
        ok(&["journal", "verify", "--journal", p(&j)]);
        digests.push(v["digest"].clone());
    }
    assert!(digests.windows(2).all(|w| w[0] == w[1]), "{digests:?}");
}

/// Issue reproduction: two sources each sending sequence 18446744073709551615 made the
/// summary's `missing` wrap. It is exact in every output, never wrapped and never a panic.
#[test]
fn missing_past_64_bits_is_exact_in_every_output() {
    let dir = tempfile::tempdir().unwrap();
    let j = dir.path().join("j");
    let file = dir.path().join("top.jsonl");
    let line = |source: &str| {
        format!(
            r#"{{"specversion":"1.0","id":"x","source":"{source}","sequence":"18446744073709551615","type":"vehicle.position","time":"2026-11-27T08:00:00Z","subject":"vehicle/1","data":{{"lat":1,"lon":2,"speed_kph":3}}}}"#
        )
    };
    fs::write(&file, format!("{}\n{}\n", line("fleet/a"), line("fleet/b"))).unwrap();
    let exact = "36893488147419103228";
    let s = ingest(&file, &j);
    assert_eq!(s["missing"], exact, "{s}");
    assert_eq!(summary(&j)["missing"], exact);
    let human = ok(&["state", "--journal", p(&j)]);
    assert!(human.contains(&format!("missing    {exact}")), "{human}");
}
