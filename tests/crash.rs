//! Real processes, real SIGKILLs: `waybill ingest --progress-json` is killed at points chosen
//! by what it reported durable, under `sync` and `group`. Every record it reported durable
//! must be in the journal afterwards, at the same LSN; the journal verifies; and ingesting
//! the whole input again ends with the state of one clean ingest.
//!
//! The input goes through a pipe that the test keeps open until the kill, so the process is
//! always alive when it is killed, whatever the machine's speed; no step waits on the clock.

mod common;

use common::*;
use std::io::Write;
use std::path::Path;
use std::process::{Child, ChildStdin, Stdio};
use std::sync::Arc;
use std::thread::{self, JoinHandle};

/// Events in the input.
const EVENTS: u64 = 200_000;
/// Segments small enough that the runs roll over several times.
const SEGMENT_BYTES: &str = "8388608";

/// Writes `input` into the child's standard input and hands the pipe back still open.
fn feed(mut stdin: ChildStdin, input: Arc<Vec<u8>>) -> JoinHandle<Option<ChildStdin>> {
    thread::spawn(move || {
        // Fails with a broken pipe once the child is killed: nothing more to do then.
        stdin.write_all(&input).ok()?;
        stdin.flush().ok()?;
        Some(stdin)
    })
}

fn spawn_ingest(j: &Path, mode: &str) -> Child {
    bin()
        .args(["ingest", "-", "--journal", p(j), "--durability", mode])
        .args(["--segment-bytes", SEGMENT_BYTES, "--progress-json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// The id of the event at `lsn` in the journal.
fn event_id_at(j: &Path, lsn: u64) -> String {
    let row = json(&[
        "journal",
        "dump",
        "--journal",
        p(j),
        "--from-lsn",
        &lsn.to_string(),
        "--limit",
        "1",
        "--json",
    ]);
    assert_eq!(num(&row, "lsn"), lsn);
    row["event"]["id"].as_str().unwrap().to_owned()
}

/// One run over the whole input on journal `j`, killed once it reported `kill_at` records of
/// this run durable. Returns the durable LSN it reported last before the kill.
fn ingest_and_kill(j: &Path, mode: &str, input: &Arc<Vec<u8>>, kill_at: u64) -> u64 {
    let start_lsn = if j.exists() {
        num(&summary(j), "lsn")
    } else {
        0
    };
    let mut child = spawn_ingest(j, mode);
    let feeder = feed(child.stdin.take().unwrap(), Arc::clone(input));
    let lines = Lines::of(child.stdout.take().unwrap());
    let reported = lines.until(&format!("{mode}: durable_lsn >= {kill_at}"), |v| {
        num(v, "durable_lsn") >= start_lsn + kill_at
    });
    child.kill().unwrap(); // SIGKILL: no flush, no cleanup
    let status = child.wait().unwrap();
    assert!(!status.success(), "{mode}: killed, not finished");
    drop(feeder.join().unwrap());
    let durable_lsn = num(&reported, "durable_lsn");

    // Everything reported durable is there, at the LSN it was reported at.
    ok(&["journal", "verify", "--journal", p(j)]);
    let after = summary(j);
    assert_conserved(&after);
    assert!(
        num(&after, "lsn") >= durable_lsn,
        "{mode}: {after} lost records"
    );
    let at = json(&[
        "state",
        "--journal",
        p(j),
        "--at-lsn",
        &durable_lsn.to_string(),
        "--json",
    ]);
    assert_eq!(num(&at, "lsn"), durable_lsn);
    // This run's record `k` (from 1) is input line `k - 1`, whose id is `e{k-1}`.
    for lsn in [start_lsn + 1, (start_lsn + durable_lsn) / 2, durable_lsn] {
        assert_eq!(
            event_id_at(j, lsn),
            format!("e{}", lsn - start_lsn - 1),
            "{mode}: lsn {lsn}"
        );
    }
    durable_lsn
}

fn kill_at_points_then_finish(mode: &str, input: &Arc<Vec<u8>>, clean: &Path) {
    let dir = tempfile::tempdir().unwrap();
    let j = dir.path().join("j");
    for (k, share) in [3, 6, 9].into_iter().enumerate() {
        let durable_lsn = ingest_and_kill(&j, mode, input, EVENTS * share / 10);
        if k == 0 {
            // The first run's durable records are the first lines: the state there is that
            // of a clean ingest at the same LSN.
            let at = |journal: &Path| {
                let lsn = durable_lsn.to_string();
                json(&["state", "--journal", p(journal), "--at-lsn", &lsn, "--json"])["digest"]
                    .clone()
            };
            assert_eq!(at(&j), at(clean), "{mode}");
        }
    }

    // The whole input once more, to its end: the state of one clean ingest.
    let mut child = spawn_ingest(&j, mode);
    let feeder = feed(child.stdin.take().unwrap(), Arc::clone(input));
    let lines = Lines::of(child.stdout.take().unwrap());
    drop(feeder.join().unwrap().expect("the whole input written")); // the end of the input
    let last = lines.until("the counters", |v| v.get("digest").is_some());
    assert!(child.wait().unwrap().success(), "{mode}");
    assert_eq!(
        num(&last, "durable_lsn"),
        num(&last, "lsn"),
        "{mode}: {last}"
    );

    let total = summary(&j);
    let once = summary(clean);
    assert_conserved(&total);
    assert_eq!(total["digest"], once["digest"], "{mode}");
    assert_eq!(total["applied"], once["applied"], "{mode}");
    assert_eq!(total["dead_lettered"], once["dead_lettered"], "{mode}");
    assert_eq!(total["missing"], once["missing"], "{mode}");
    assert_eq!(
        num(&total, "duplicates"),
        num(&total, "received") - EVENTS,
        "{mode}: every extra event is a duplicate"
    );
    assert_eq!(all(&j, &[]), all(clean, &[]), "{mode}");
    ok(&["journal", "verify", "--journal", p(&j)]);
}

#[test]
fn sigkill_at_durable_points_loses_nothing_durable_and_reingest_converges() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.jsonl");
    write_events(&file, EVENTS);
    let input = Arc::new(std::fs::read(&file).unwrap());
    let clean = dir.path().join("clean");
    let once = ingest(&file, &clean);
    assert_eq!(num(&once, "applied"), EVENTS);
    for mode in ["sync", "group"] {
        kill_at_points_then_finish(mode, &input, &clean);
    }
}
