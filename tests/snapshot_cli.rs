//! End-to-end: `waybill snapshot`, `journal verify --snapshots`, and every reading command
//! answering the same from a snapshot as from a full replay, damaged snapshots included.

mod common;

use common::*;
use std::fs;
use std::path::Path;

/// What the reading commands answer about `j`: the summary, every shipment, a point in time.
fn answers(j: &Path) -> Vec<String> {
    vec![
        ok(&["state", "--journal", p(j), "--json"]),
        ok(&["state", "--journal", p(j), "--all", "--json"]),
        ok(&["state", "--journal", p(j), "--at-lsn", "700", "--json"]),
        ok(&["state", "--journal", p(j), "--shipment", "7", "--json"]),
        ok(&["history", "--journal", p(j), "--shipment", "7", "--json"]),
        ok(&["dead-letters", "--journal", p(j), "--json"]),
    ]
}

#[test]
fn a_snapshot_answers_like_a_full_replay_and_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let j = tmp.path().join("j");
    ingest(&example_day(), &j);
    let before = answers(&j);
    assert!(
        !j.join("snapshots").exists(),
        "a short ingest leaves no snapshot"
    );

    let taken = json(&["snapshot", "--journal", p(&j), "--json"]);
    let lsn = num(&taken, "lsn");
    assert_eq!(lsn, num(&summary(&j), "lsn"));
    assert_eq!(num(&taken, "records_replayed"), lsn);
    let path = taken["path"].as_str().unwrap().to_owned();
    assert!(Path::new(&path).is_file(), "{taken}");
    assert_eq!(
        answers(&j),
        before,
        "from the snapshot as from a full replay"
    );

    // A second snapshot at the same point is built from the first (nothing to replay).
    let again = json(&["snapshot", "--journal", p(&j), "--json"]);
    assert_eq!(num(&again, "from_snapshot_lsn"), lsn);
    assert_eq!(num(&again, "records_replayed"), 0);

    let verified = json(&[
        "journal",
        "verify",
        "--journal",
        p(&j),
        "--snapshots",
        "--json",
    ]);
    assert_eq!(verified["ok"], true, "{verified}");
    assert_eq!(verified["snapshots"][0]["ok"], true, "{verified}");

    // Damaged: the reading commands warn, name it and still answer right; verify exits 1
    // naming it.
    let mut bytes = fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    fs::write(&path, bytes).unwrap();
    let (code, out, err) = run(&["state", "--journal", p(&j), "--json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, before[0]);
    assert!(
        err.contains("warning: skipped") && err.contains(&path),
        "{err}"
    );
    assert_eq!(answers(&j), before);
    let (code, _, err) = run(&["journal", "verify", "--journal", p(&j), "--snapshots"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains(&path), "{err}");
}

#[test]
fn ingest_takes_snapshots_by_its_policy() {
    let tmp = tempfile::tempdir().unwrap();
    let j = tmp.path().join("j");
    let (code, _, err) = run(&[
        "ingest",
        p(&example_day()),
        "--journal",
        p(&j),
        "--snapshot-every",
        "500",
        "--snapshot-at-close-min",
        "1",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let lsn = num(&summary(&j), "lsn");
    assert!(
        err.contains(&format!("snapshot at lsn {lsn}:")),
        "a snapshot at the end: {err}"
    );
    let verified = json(&[
        "journal",
        "verify",
        "--journal",
        p(&j),
        "--snapshots",
        "--json",
    ]);
    assert_eq!(verified["ok"], true, "{verified}");
    let snaps = verified["snapshots"].as_array().unwrap();
    assert!(!snaps.is_empty() && snaps.len() <= 2, "{verified}");
}

#[test]
fn archive_moves_what_the_snapshot_covers_and_the_journal_still_answers() {
    let tmp = tempfile::tempdir().unwrap();
    let j = tmp.path().join("j");
    let to = tmp.path().join("old");
    let events = tmp.path().join("events.jsonl");
    write_events(&events, 3_000);
    let (code, _, err) = run(&[
        "ingest",
        p(&events),
        "--journal",
        p(&j),
        "--segment-bytes",
        "65536",
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(&["journal", "archive", "--journal", p(&j), "--to", p(&to)]);
    assert_eq!(code, 2, "refused without a snapshot: {err}");
    assert!(err.contains("no usable snapshot"), "{err}");
    let (code, _, err) = run(&["journal", "archive", "--journal", p(&j)]);
    assert_eq!(code, 2, "--to or --delete: {err}");

    let before = ok(&["state", "--journal", p(&j), "--json"]);
    ok(&["snapshot", "--journal", p(&j)]);
    let done = json(&[
        "journal",
        "archive",
        "--journal",
        p(&j),
        "--to",
        p(&to),
        "--json",
    ]);
    let first = num(&done, "first_lsn");
    assert!(
        first > 1 && !done["segments"].as_array().unwrap().is_empty(),
        "{done}"
    );
    assert_eq!(ok(&["state", "--journal", p(&j), "--json"]), before);
    let verified = json(&[
        "journal",
        "verify",
        "--journal",
        p(&j),
        "--snapshots",
        "--json",
    ]);
    assert_eq!(verified["ok"], true, "{verified}");
    assert_eq!(num(&verified, "first_lsn"), first);
    let (code, _, err) = run(&["state", "--journal", p(&j), "--at-lsn", "5"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("archived"), "{err}");
    let (code, _, err) = run(&["dead-letters", "--journal", p(&j)]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("archived"),
        "a note says what is not listed: {err}"
    );
}
