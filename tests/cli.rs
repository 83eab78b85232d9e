//! End-to-end: the `waybill` binary on the bundled example day and on bad input.

mod common;

use common::*;
use std::fs;
use std::io::Write;
use std::path::Path;

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
    while at + 32 <= seg.len() {
        let len = u32::from_le_bytes(seg[at..at + 4].try_into().unwrap()) as usize;
        if len == 0 {
            break;
        }
        // A 32-byte header; records whose LSN is a multiple of 16 also store their link.
        let lsn = u64::from_le_bytes(seg[at + 8..at + 16].try_into().unwrap());
        let header = if lsn % 16 == 0 { 48 } else { 32 };
        let size = header + len.div_ceil(16) * 16;
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
    for args in [
        vec!["state", "--journal", p(&j)],
        vec!["journal", "dump", "--journal", p(&j)],
        vec!["dead-letters", "--journal", p(&j)],
        vec!["history", "--journal", p(&j), "--shipment", "5"],
        vec!["ingest", p(&example_day()), "--journal", p(&j)],
    ] {
        let (code, _, err) = run(&args);
        assert_eq!(code, 1, "{name}: {args:?} on a damaged journal: {err}");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    }
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

/// One case of a command that must fail: its arguments, exit code and a word of its reason.
struct Refusal {
    args: Vec<String>,
    code: i32,
    reason: &'static str,
}

fn refused(args: &[&str], code: i32, reason: &'static str) -> Refusal {
    Refusal {
        args: args.iter().map(|a| a.to_string()).collect(),
        code,
        reason,
    }
}

/// Runs every case: the exit code, and one line on stderr that gives the reason.
fn check_refusals(cases: &[Refusal]) {
    for c in cases {
        let args: Vec<&str> = c.args.iter().map(String::as_str).collect();
        let (code, out, err) = run(&args);
        assert_eq!(code, c.code, "{args:?}: {err}{out}");
        assert!(
            err.contains(c.reason),
            "{args:?}: {err:?} lacks {:?}",
            c.reason
        );
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "{args:?}: one line: {err}"
        );
        assert!(err.starts_with("waybill: "), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

/// Bad usage and bad input exit 2 with the path named, and nothing is created for them.
#[test]
fn bad_usage_and_bad_input_exit_2_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let j = dir.path().join("j");
    ingest(&example_day(), &j);
    let file = dir.path().join("file");
    fs::write(&file, "not a journal").unwrap();
    let folder = dir.path().join("folder");
    fs::create_dir(&folder).unwrap();
    let new = dir.path().join("new");
    let under_file = file.join("j");
    let day = example_day();
    let (day, j, file, folder, new, under_file) = (
        p(&day),
        p(&j),
        p(&file),
        p(&folder),
        p(&new),
        p(&under_file),
    );
    let mut cases = vec![
        refused(
            &["ingest", "/no/such.jsonl", "--journal", new],
            2,
            "cannot open input /no/such.jsonl",
        ),
        refused(&["ingest", folder, "--journal", new], 2, "is a directory"),
        refused(&["ingest", day, "--journal", file], 2, "is not a directory"),
        refused(
            &["ingest", day, "--journal", under_file],
            2,
            "is not a directory",
        ),
        refused(
            &["ingest", day, "--journal", new, "--segment-bytes", "1000"],
            2,
            "segment_bytes 1000",
        ),
        refused(
            &["ingest", day, "--journal", new, "--durability", "maybe"],
            2,
            "maybe",
        ),
        refused(
            &["state", "--journal", j, "--at-lsn", "1275"],
            2,
            "--at-lsn 1275 is past the end of the journal (its last lsn is 1274)",
        ),
        refused(&["state", "--journal", j, "--at-lsn", "x"], 2, "x"),
        refused(
            &["state", "--journal", j, "--at-time", "yesterday"],
            2,
            "RFC 3339",
        ),
        refused(
            &["state", "--journal", j, "--shipment", "999999"],
            2,
            "no shipment 999999",
        ),
    ];
    for read in [
        vec!["state", "--journal"],
        vec!["journal", "verify", "--journal"],
        vec!["journal", "dump", "--journal"],
        vec!["dead-letters", "--journal"],
    ] {
        let with_file = [read.as_slice(), &[file]].concat();
        cases.push(refused(&with_file, 2, "is not a directory"));
        let missing = [read.as_slice(), &["/no/such/journal"]].concat();
        cases.push(refused(&missing, 2, "no journal at /no/such/journal"));
    }
    cases.push(refused(
        &["history", "--journal", file, "--shipment", "1"],
        2,
        "is not a directory",
    ));
    check_refusals(&cases);
    assert!(
        !Path::new(new).exists(),
        "a refused ingest creates no journal"
    );
    // The last record is there; one past it is not.
    let at = json(&["state", "--journal", j, "--at-lsn", "1274", "--json"]);
    assert_eq!(at["lsn"], 1274);
}

/// Runs `waybill ARGS` in a process whose files may not grow past `max_file_bytes` (as on a
/// full disk: writing further fails with EFBIG instead of killing the process).
fn run_with_file_limit(args: &[&str], max_file_bytes: u64) -> (i32, String, String) {
    use std::os::unix::process::CommandExt;
    let mut cmd = bin();
    cmd.args(args);
    // SAFETY: runs in the child between fork and exec and calls only setrlimit and signal,
    // which are async-signal-safe; nothing is allocated.
    unsafe {
        cmd.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: max_file_bytes,
                rlim_max: max_file_bytes,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A journal that cannot grow (a full disk, here a file size limit) is the environment:
/// exit 3 naming the file; what was journaled before still verifies and answers.
#[test]
fn a_journal_that_cannot_grow_exits_3_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let j = dir.path().join("j");
    // No first segment of 64 MiB fits under a 1 MiB limit.
    let (code, _, err) =
        run_with_file_limit(&["ingest", p(&example_day()), "--journal", p(&j)], 1 << 20);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains(p(&j)) && err.contains("too large"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");

    // A journal of small segments takes the first events; its next segment, larger than a
    // file may grow, cannot be made: the ingest stops with exit 3 naming the segment, and the
    // journal keeps what it held.
    let input = dir.path().join("events.jsonl");
    write_events(&input, 3000);
    let small = ["--segment-bytes", "65536", "--durability", "sync"];
    let first = json(
        &[
            &["ingest", p(&input), "--journal", p(&j), "--json"],
            &small[..],
        ]
        .concat(),
    );
    let (code, _, err) = run_with_file_limit(
        &[
            "ingest",
            p(&input),
            "--journal",
            p(&j),
            "--segment-bytes",
            "2097152",
        ],
        1 << 20,
    );
    assert_eq!(code, 3, "{err}");
    assert!(err.contains(".seg") && err.contains("too large"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    ok(&["journal", "verify", "--journal", p(&j)]);
    let s = summary(&j);
    assert_conserved(&s);
    // The message says how many events got in before the failure; they are all there.
    let before = num(&s, "lsn") - num(&first, "lsn");
    let said = format!(
        "{before} events of this input were journaled before it (lsn {}",
        num(&s, "lsn")
    );
    assert!(err.contains(&said), "{err:?} lacks {said:?}");
    assert_eq!(
        s["applied"], first["applied"],
        "the second pass held only duplicates"
    );
}

/// A second writer is refused with exit 3 while the first holds the journal; the first one,
/// fed through a pipe kept open, applies and acknowledges events as they arrive.
#[test]
fn a_live_stream_is_applied_and_acknowledged_as_it_arrives() {
    for mode in ["group", "sync", "none"] {
        let dir = tempfile::tempdir().unwrap();
        let j = dir.path().join("j");
        let mut child = bin()
            .args([
                "ingest",
                "-",
                "--journal",
                p(&j),
                "--durability",
                mode,
                "--progress-json",
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let lines = Lines::of(child.stdout.take().unwrap());
        // Acknowledged: durable under group and sync; applied under none.
        let acked = |v: &serde_json::Value| match mode {
            "none" => num(v, "lsn"),
            _ => num(v, "durable_lsn"),
        };
        let mut sent = 0u64;
        for n in [100u64, 20_000, 1, 4096] {
            stdin.write_all(&event_lines(sent..sent + n)).unwrap();
            stdin.flush().unwrap();
            sent += n;
            let v = lines.until(&format!("{mode}: {sent} acknowledged"), |v| {
                acked(v) >= sent
            });
            assert_eq!(acked(&v), sent, "{mode}: {v}");
            assert_eq!(num(&v, "received"), sent, "{mode}: {v}");
            assert_eq!(num(&v, "applied"), sent, "{mode}: {v}");
            assert_eq!(num(&v, "lsn"), sent, "{mode}: {v}");
            if mode != "none" {
                // What is acknowledged durable is in the journal for a reader already.
                let at = json(&[
                    "state",
                    "--journal",
                    p(&j),
                    "--at-lsn",
                    &sent.to_string(),
                    "--json",
                ]);
                assert_eq!(num(&at, "applied"), sent, "{mode}");
            }
        }
        // The journal is held: a second writer is refused.
        check_refusals(&[refused(
            &["ingest", p(&example_day()), "--journal", p(&j)],
            3,
            "locked by another writer",
        )]);
        drop(stdin); // the end of the input
        let last = lines.until("the counters", |v| v.get("digest").is_some());
        assert_eq!(num(&last, "received"), sent, "{mode}: {last}");
        assert_eq!(num(&last, "durable_lsn"), sent, "{mode}: {last}");
        assert!(lines.next().is_none(), "the counters are the last line");
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The same events from a file give the same state.
        let file = dir.path().join("all.jsonl");
        write_events(&file, sent);
        let once = ingest(&file, &dir.path().join("once"));
        assert_eq!(once["digest"], last["digest"], "{mode}");
    }
}

/// `--progress-json` prints one line per durable step, each acknowledging more, then the
/// counters as JSON.
#[test]
fn progress_lines_rise_to_the_counters() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("events.jsonl");
    write_events(&input, 30_000);
    for mode in ["sync", "group", "none"] {
        let j = dir.path().join(mode);
        let out = ok(&[
            "ingest",
            p(&input),
            "--journal",
            p(&j),
            "--durability",
            mode,
            "--progress-json",
        ]);
        let rows: Vec<serde_json::Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let (last, steps) = rows.split_last().unwrap();
        assert_eq!(num(last, "received"), 30_000, "{mode}");
        assert_eq!(num(last, "durable_lsn"), 30_000, "{mode}");
        assert!(last.get("digest").is_some(), "{mode}: {last}");
        assert!(steps.len() >= 2, "{mode}: {out}");
        for s in steps {
            assert_conserved_counts(s);
            assert_eq!(num(s, "lsn"), num(s, "received"), "{mode}: {s}");
            assert!(num(s, "durable_lsn") <= num(s, "lsn"), "{mode}: {s}");
        }
        // Under group and sync every line is a rise of the durable LSN; under none every line
        // is an applied batch, and the final flush (the first durable step) ends them.
        let (flushed, batches) = steps.split_last().unwrap();
        assert_eq!(
            num(flushed, "durable_lsn"),
            30_000,
            "{mode}: the final flush is a step"
        );
        let key = if mode == "none" { "lsn" } else { "durable_lsn" };
        assert!(
            steps
                .windows(2)
                .all(|w| num(&w[0], "durable_lsn") <= num(&w[1], "durable_lsn")),
            "{mode}: {out}"
        );
        assert!(
            batches
                .windows(2)
                .all(|w| num(&w[0], key) < num(&w[1], key)),
            "{mode}: every line acknowledges more: {out}"
        );
        if mode == "none" {
            assert!(batches.iter().all(|s| num(s, "durable_lsn") == 0), "{out}");
        }
    }
}

fn assert_conserved_counts(v: &serde_json::Value) {
    assert_eq!(
        num(v, "received"),
        num(v, "applied") + num(v, "duplicates") + num(v, "dead_lettered"),
        "{v}"
    );
}

/// Every way of reading part of the journal: `--limit 0` shows nothing, LSNs start at 1.
#[test]
fn dump_shows_exactly_the_records_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let j = dir.path().join("j");
    ingest(&example_day(), &j);
    let cases: &[(Option<u64>, Option<u64>, &[u64])] = &[
        (None, Some(0), &[]),
        (Some(0), Some(1), &[1]),
        (Some(0), Some(0), &[]),
        (Some(1), Some(3), &[1, 2, 3]),
        (Some(1272), None, &[1272, 1273, 1274]),
        (Some(1273), Some(10), &[1273, 1274]),
        (Some(1275), None, &[]),
        (Some(u64::MAX), Some(u64::MAX), &[]),
        (Some(5), Some(u64::MAX), &[]), // checked below: 5..=1274
    ];
    for &(from, limit, want) in cases {
        let mut args = vec![
            "journal".to_string(),
            "dump".into(),
            "--journal".into(),
            p(&j).into(),
            "--json".into(),
        ];
        if let Some(f) = from {
            args.extend(["--from-lsn".into(), f.to_string()]);
        }
        if let Some(l) = limit {
            args.extend(["--limit".into(), l.to_string()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let lsns: Vec<u64> = ok(&args)
            .lines()
            .map(|l| num(&serde_json::from_str(l).unwrap(), "lsn"))
            .collect();
        if from == Some(5) {
            assert_eq!(lsns, (5..=1274).collect::<Vec<_>>(), "{args:?}");
        } else {
            assert_eq!(lsns, want, "{args:?}");
        }
        // Text shows the same records.
        let text_args: Vec<&str> = args.iter().copied().filter(|a| *a != "--json").collect();
        assert_eq!(ok(&text_args).lines().count(), lsns.len(), "{text_args:?}");
    }
}

/// `state --all` is a table for people and one JSON line per shipment with `--json`.
#[test]
fn state_all_is_a_table_or_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let j = dir.path().join("j");
    ingest(&example_day(), &j);
    let json_lines = all(&j, &[]);
    let views: Vec<serde_json::Value> = json_lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(views.len(), 40);
    let table = ok(&["state", "--journal", p(&j), "--all"]);
    let mut rows = table.lines();
    let header = rows.next().unwrap();
    for col in [
        "id",
        "status",
        "delivered",
        "billed_cents",
        "leakage_cents",
        "invoice",
        "anomalies",
    ] {
        assert!(header.contains(col), "{header}");
    }
    let rows: Vec<&str> = rows.collect();
    assert_eq!(rows.len(), views.len());
    for (row, v) in rows.iter().zip(&views) {
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cells[0], v["id"].to_string(), "{row}");
        assert_eq!(cells[1], v["status"].as_str().unwrap(), "{row}");
        assert!(
            cells.contains(&v["billed_cents"].to_string().as_str()),
            "{row}"
        );
    }
    // At an LSN, both forms agree on which shipments exist.
    let early = ok(&["state", "--journal", p(&j), "--all", "--at-lsn", "10"]);
    assert_eq!(
        early.lines().count() - 1,
        all(&j, &["--at-lsn", "10"]).lines().count()
    );
}

/// Re-ingesting keeps the journal's segment size unless `--segment-bytes` says otherwise.
#[test]
fn an_existing_journal_keeps_its_segment_size() {
    let dir = tempfile::tempdir().unwrap();
    let j = dir.path().join("j");
    let sizes = || -> Vec<u64> {
        let mut segs: Vec<_> = fs::read_dir(&j)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "seg"))
            .collect();
        segs.sort();
        segs.iter()
            .map(|s| fs::metadata(s).unwrap().len())
            .collect()
    };
    let day = p(&example_day()).to_owned();
    let run_ingest = |extra: &[&str]| {
        let mut args = vec!["ingest", &day, "--journal", p(&j), "--durability", "none"];
        args.extend_from_slice(extra);
        ok(&args);
    };
    run_ingest(&["--segment-bytes", "65536"]);
    let first = sizes();
    assert!(
        first.len() > 2 && first.iter().all(|&s| s == 65536),
        "{first:?}"
    );
    run_ingest(&[]);
    let second = sizes();
    assert!(
        second.len() > first.len() && second.iter().all(|&s| s == 65536),
        "{second:?}"
    );
    run_ingest(&["--segment-bytes", "131072"]);
    let third = sizes();
    assert!(third.len() > second.len(), "{third:?}");
    assert!(
        third[second.len()..].iter().all(|&s| s == 131072),
        "{third:?}"
    );
    run_ingest(&[]);
    let fourth = sizes();
    assert!(
        fourth[third.len()..].iter().all(|&s| s == 131072),
        "{fourth:?}"
    );
    assert_eq!(summary(&j)["received"], 4 * 1274);
}

/// Input with terminal escapes, CR, NUL and invalid UTF-8: human output shows them escaped,
/// never raw; JSON output gives back the exact bytes.
#[test]
fn human_output_escapes_control_characters_and_json_is_lossless() {
    let dir = tempfile::tempdir().unwrap();
    let j = dir.path().join("j");
    let order = r#"{"specversion":"1.0","id":"id\u001b[2Jx","source":"erp/main","sequence":"1","type":"order.created","time":"2026-11-27T06:07:00Z","subject":"shipment/77","data":{"customer_id":"cust\u001b]0;pwned\u0007\u009b31m\r","origin":{"lat":52.1,"lon":4.2},"destination":{"lat":51.9,"lon":4.4},"window_start":"2026-11-27T10:07:00Z","window_end":"2026-11-27T13:07:00Z","weight_kg":1,"contract":{"currency":"EUR","base_cents":1,"detention_free_min":0,"detention_cents_per_hour":0}}}"#;
    let dead: [&[u8]; 3] = [
        b"\x1b[31mred\x1b[0m is not json",
        b"abc\rdef \0 nul \x7f del",
        b"\xff\xfe invalid utf-8 \x1b[5m",
    ];
    let mut input = Vec::new();
    for d in dead {
        input.extend_from_slice(d);
        input.push(b'\n');
    }
    input.extend_from_slice(order.as_bytes());
    input.push(b'\n');
    let file = dir.path().join("hostile.jsonl");
    fs::write(&file, &input).unwrap();
    let s = ingest(&file, &j);
    assert_eq!(
        (num(&s, "dead_lettered"), num(&s, "applied")),
        (3, 1),
        "{s}"
    );

    let jp = p(&j);
    let human = |args: &[&str]| -> String {
        let out = bin().args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        let bad = out
            .stdout
            .iter()
            .position(|&b| (b < 0x20 && b != b'\n') || b == 0x7f);
        assert_eq!(
            bad,
            None,
            "{args:?} printed a control byte: {:?}",
            String::from_utf8_lossy(&out.stdout)
        );
        let text = String::from_utf8(out.stdout).expect("human output is UTF-8");
        assert!(!text.contains('\u{9b}'), "{args:?}: a C1 control: {text}");
        text
    };
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["dead-letters", "--journal", jp],
            &[
                "\\x1b[31mred\\x1b[0m",
                "abc\\rdef \\x00 nul \\x7f",
                "\\xff\\xfe invalid utf-8 \\x1b[5m",
            ],
        ),
        (
            &["journal", "dump", "--journal", jp],
            &["\\x1b[31mred", "abc\\rdef", "\\xff\\xfe", "id\\u001b[2Jx"],
        ),
        (
            &["history", "--journal", jp, "--shipment", "77"],
            &["id\\x1b[2Jx"],
        ),
        (
            &["state", "--journal", jp, "--shipment", "77"],
            &["cust\\x1b]0;pwned\\x07\\u{9b}31m\\r"],
        ),
        (&["state", "--journal", jp, "--all"], &["77"]),
        (&["state", "--journal", jp], &["dead-lettered 3"]),
    ];
    for (args, wants) in cases {
        let text = human(args);
        for want in *wants {
            assert!(text.contains(want), "{args:?}: no {want:?} in\n{text}");
        }
    }

    // JSON gives every byte back: text when it is UTF-8, base64 when it is not.
    let raw_of = |row: &serde_json::Value| -> Vec<u8> {
        match (row.get("raw"), row.get("raw_base64")) {
            (Some(text), None) => text.as_str().unwrap().as_bytes().to_vec(),
            (None, Some(b64)) => base64_decode(b64.as_str().unwrap()),
            _ => panic!("exactly one of raw and raw_base64: {row}"),
        }
    };
    let rows: Vec<serde_json::Value> = ok(&["dead-letters", "--journal", jp, "--json"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 3);
    for (row, want) in rows.iter().zip(dead) {
        assert_eq!(raw_of(row), want, "{row}");
        assert_eq!(num(row, "raw_len_bytes"), want.len() as u64);
    }
    assert!(
        rows[2].get("raw_base64").is_some(),
        "invalid UTF-8 is base64: {}",
        rows[2]
    );
    let dump: Vec<serde_json::Value> = ok(&["journal", "dump", "--journal", jp, "--json"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for (row, want) in dump.iter().zip(dead) {
        assert_eq!(raw_of(row), want, "{row}");
    }
    assert_eq!(dump[3]["event"]["id"], "id\u{1b}[2Jx");
    let view = json(&["state", "--journal", jp, "--shipment", "77", "--json"]);
    assert_eq!(view["customer_id"], "cust\u{1b}]0;pwned\u{7}\u{9b}31m\r");
    let history = json(&["history", "--journal", jp, "--shipment", "77", "--json"]);
    assert_eq!(history["id"], "id\u{1b}[2Jx");
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

/// A batch the core cannot hold is refused with exit 3 naming the limit; nothing of it is
/// journaled, and the journal then opens, verifies and answers with the state before.
#[test]
fn a_batch_past_a_capacity_limit_exits_3_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first.jsonl");
    let second = dir.path().join("second.jsonl");
    // Lines 0..1000 order shipments 1..=100 (customers c0..c16) and ping 450 vehicles from
    // 450 sources besides `erp/main`; lines 1000..2000 order shipments 101..=200; lines
    // 20000..21000 add charges from a new source, `billing/engine`.
    fs::write(&first, event_lines(0..1000)).unwrap();
    fs::write(&second, event_lines(1000..2000)).unwrap();
    let third = dir.path().join("third.jsonl");
    fs::write(&third, event_lines(20_000..21_000)).unwrap();
    let cases: &[(&str, &Path, &str)] = &[
        (
            "shipments=150",
            &second,
            "capacity limit `shipments` reached: at most 150, 100 held",
        ),
        (
            "sources=451",
            &third,
            "capacity limit `sources` reached: at most 451, 451 held",
        ),
        // Every order counts as a possible new customer.
        (
            "customers=17",
            &second,
            "capacity limit `customers` reached: at most 17",
        ),
    ];
    for &(limit, input, words) in cases {
        let j = dir.path().join(limit.replace('=', "-"));
        let before = ingest(&first, &j);
        check_refusals(&[refused(
            &["ingest", p(input), "--journal", p(&j), "--limit", limit],
            3,
            words,
        )]);
        ok(&["journal", "verify", "--journal", p(&j)]);
        let after = summary(&j);
        assert_eq!(
            after["lsn"], before["lsn"],
            "{limit}: nothing of the batch journaled"
        );
        assert_eq!(after["digest"], before["digest"], "{limit}");
        // With room enough, the same input goes in.
        let again = json(&["ingest", p(input), "--journal", p(&j), "--json"]);
        assert_eq!(num(&again, "applied"), 1000, "{limit}");
    }
    check_refusals(&[
        refused(
            &[
                "ingest",
                p(&first),
                "--journal",
                p(&dir.path().join("x")),
                "--limit",
                "sources",
            ],
            2,
            "NAME=N",
        ),
        refused(
            &[
                "ingest",
                p(&first),
                "--journal",
                p(&dir.path().join("x")),
                "--limit",
                "sources=99999999999",
            ],
            2,
            "above the most",
        ),
    ]);
    assert!(!dir.path().join("x").exists());
}
