//! `waybill serve` killed with SIGKILL while clients send to it, and restarted on the same
//! journal (durability `group`).
//!
//! A deterministic corpus (simulator events, exact duplicates of some of them, a few
//! malformed events) goes out as JSON lines in batches over three connections at once. The
//! server is killed at ten points chosen by progress (once a number of batches spread over
//! the run has been acknowledged), restarted, and every batch not acknowledged is sent again.
//! A batch that was journaled but not acknowledged before a kill comes back as duplicates
//! (same source and sequence): correct, and the final state must still be that of one clean
//! ingest. At the end:
//!
//! - every acknowledged event is in the journal at the LSN its answer gave (and after each
//!   restart the journal reaches at least the highest LSN acknowledged before the kill);
//! - nothing is applied twice: no (source, sequence) has two applied records, and as many
//!   events are applied as in one clean `waybill ingest` of the corpus; every extra record
//!   the resends made is a duplicate or a dead letter;
//! - the state digest equals the clean ingest's, and the journal verifies.
//!
//! No step waits on the clock: kills follow acknowledgements, restarts follow the server's
//! ready line. The timeouts below only turn a hang into a failure.

mod common;

use common::*;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::sync::{Condvar, Mutex};
use std::thread;
use std::time::Duration;

/// Simulator events in the corpus (before duplicates and malformed lines are added).
const EVENTS: u64 = 3_000;
const SHIPMENTS: u64 = 300;
const SEED: u64 = 17;
/// Every this many events, one is sent again (an exact copy) a little later.
const DUPLICATE_EVERY: usize = 47;
/// How far after the original a copy goes, in lines.
const DUPLICATE_AFTER: usize = 61;
/// Lines per request.
const BATCH_LINES: usize = 30;
/// Requests in flight at once.
const CONNECTIONS: usize = 3;
/// SIGKILLs during the run.
const KILLS: usize = 10;
/// Turns a hang into a failure (no assertion depends on it).
const HANG: Duration = Duration::from_secs(40);

/// Malformed events (none is a CloudEvent the core applies), each put in once.
const MALFORMED: [&str; 4] = [
    "this is not json",
    r#"{"specversion":"1.0", oops"#,
    r#"{"specversion":"1.0","id":"ct-unknown-type","source":"erp/crashtest","sequence":"1","type":"order.shipped","time":"2026-11-27T06:00:00Z","subject":"shipment/1","data":{}}"#,
    r#"{"specversion":"1.0","id":"ct-no-sequence","source":"billing/crashtest","type":"charge.added","time":"2026-11-27T06:00:00Z","subject":"shipment/1","data":{}}"#,
];

/// The corpus, one event per line: the simulator's events in emit order, an exact copy of
/// every `DUPLICATE_EVERY`th one `DUPLICATE_AFTER` lines later, the malformed lines spread
/// through it.
fn corpus() -> Vec<String> {
    let w = waybill_sim::workload::workload(EVENTS, SHIPMENTS, SEED);
    let events: Vec<String> = w
        .events
        .iter()
        .map(waybill_core::encode::event_to_json)
        .collect();
    let mut lines = Vec::new();
    for (i, e) in events.iter().enumerate() {
        lines.push(e.clone());
        if i >= DUPLICATE_AFTER && (i - DUPLICATE_AFTER).is_multiple_of(DUPLICATE_EVERY) {
            lines.push(events[i - DUPLICATE_AFTER].clone());
        }
        let k = i * MALFORMED.len() / events.len();
        if (i + 1) * MALFORMED.len() / events.len() != k {
            lines.push(MALFORMED[k].to_owned());
        }
    }
    lines
}

/// One event of an answer: its id (when it had one), LSN and outcome.
#[derive(Debug, Clone)]
struct Acked {
    id: Option<String>,
    lsn: u64,
    outcome: String,
}

/// What the connections and the test share across every life of the server.
struct Progress {
    /// Batches to send, lowest first.
    todo: Vec<usize>,
    /// Each batch's events as its answer gave them, once acknowledged.
    acked: Vec<Option<Vec<Acked>>>,
    acked_count: usize,
    /// Batches sent in this life whose answer did not come (the server died).
    failed: Vec<usize>,
    /// Set at the kill: take no more batches.
    killed: bool,
}

struct Shared {
    progress: Mutex<Progress>,
    changed: Condvar,
}

/// The server as a child process, and its address once it said it is serving.
struct Served {
    child: Child,
    base: String,
}

fn config(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("serve.toml");
    let text = format!(
        "journal = \"{}\"\ndurability = \"group\"\n\
         [snapshots]\nevery_records = 700\non_close_min_records = 1\nkeep = 2\n",
        dir.join("j").display()
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// Starts `waybill serve` and waits for its ready line; its later standard error is read
/// on a thread until it exits.
fn start(config: &Path) -> Served {
    let mut child = bin()
        .args(["serve", "--config", p(config), "--listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("waybill serve starts");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut lines = BufReader::new(stderr).lines();
        let mut said = Vec::new();
        for line in lines.by_ref() {
            let Ok(line) = line else { break };
            if let Some((_, addr)) = line.split_once(" on http://") {
                let _ = tx.send(Ok(addr.trim().to_owned()));
                break;
            }
            said.push(line);
        }
        let _ = tx.send(Err(said.join("\n")));
        // Keeps the pipe drained until the server exits.
        for _ in lines {}
    });
    match rx.recv_timeout(HANG) {
        Ok(Ok(addr)) => Served {
            child,
            base: format!("http://{addr}"),
        },
        other => {
            let _ = child.kill();
            panic!("waybill serve did not start: {other:?}");
        }
    }
}

fn agent() -> ureq::Agent {
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .timeout_connect(Some(HANG))
        .timeout_recv_response(Some(HANG))
        .timeout_recv_body(Some(HANG))
        .build();
    ureq::Agent::new_with_config(config)
}

fn get(agent: &ureq::Agent, base: &str, path: &str) -> Value {
    let mut r = agent
        .get(format!("{base}{path}"))
        .call()
        .expect("the service answers");
    let text = r.body_mut().read_to_string().unwrap();
    assert_eq!(r.status().as_u16(), 200, "GET {path}: {text}");
    serde_json::from_str(&text).unwrap()
}

/// What posting a batch came to.
enum Posted {
    Acked(Vec<Acked>),
    /// No answer: the connection failed (the server was killed).
    Lost,
}

fn post(agent: &ureq::Agent, base: &str, body: &str) -> Posted {
    loop {
        let sent = agent
            .post(format!("{base}/v1/events"))
            .header("Content-Type", "application/x-ndjson")
            .send(body);
        let Ok(mut r) = sent else {
            return Posted::Lost;
        };
        let status = r.status().as_u16();
        let Ok(text) = r.body_mut().read_to_string() else {
            return Posted::Lost;
        };
        match status {
            200 => {
                let v: Value = serde_json::from_str(&text).unwrap();
                let events = v["events"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| Acked {
                        id: e["id"].as_str().map(str::to_owned),
                        lsn: e["lsn"].as_u64().unwrap(),
                        outcome: e["outcome"].as_str().unwrap().to_owned(),
                    })
                    .collect();
                return Posted::Acked(events);
            }
            // Busy: the same request again (never expected with three connections).
            429 | 503 => thread::yield_now(),
            _ => panic!("POST /v1/events answered {status}: {text}"),
        }
    }
}

/// One connection: sends the lowest batch not yet taken until none is left or the server
/// was killed.
fn connection(shared: &Shared, base: &str, batches: &[String]) {
    let agent = agent();
    loop {
        let b = {
            let mut p = shared.progress.lock().unwrap();
            if p.killed || p.todo.is_empty() {
                return;
            }
            p.todo.remove(0)
        };
        let posted = post(&agent, base, &batches[b]);
        let mut p = shared.progress.lock().unwrap();
        match posted {
            Posted::Acked(events) => {
                p.acked[b] = Some(events);
                p.acked_count += 1;
                shared.changed.notify_all();
            }
            Posted::Lost => {
                p.failed.push(b);
                shared.changed.notify_all();
                return;
            }
        }
    }
}

#[test]
fn sigkilled_serve_keeps_every_acknowledged_event_and_ends_as_one_clean_ingest() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let journal = dir.path().join("j");
    let lines = corpus();
    let batches: Vec<String> = lines.chunks(BATCH_LINES).map(|c| c.join("\n")).collect();
    let n = batches.len();
    // Kill points, in acknowledged batches, spread over the run.
    let kill_at: Vec<usize> = (1..=KILLS).map(|i| i * n / (KILLS + 1)).collect();

    let shared = Shared {
        progress: Mutex::new(Progress {
            todo: (0..n).collect(),
            acked: vec![None; n],
            acked_count: 0,
            failed: Vec::new(),
            killed: false,
        }),
        changed: Condvar::new(),
    };
    let mut highest_acked_lsn = 0;
    let mut resent = Vec::new();
    for life in 0..=KILLS {
        let mut served = start(&config);
        let agent = agent();
        let summary = get(&agent, &served.base, "/v1/summary");
        let lsn = summary["lsn"].as_u64().unwrap();
        assert!(
            lsn >= highest_acked_lsn,
            "life {life}: the journal holds up to lsn {lsn}, lsn {highest_acked_lsn} was acknowledged"
        );
        let target = kill_at.get(life).copied();
        thread::scope(|scope| {
            let conns: Vec<_> = (0..CONNECTIONS)
                .map(|_| scope.spawn(|| connection(&shared, &served.base, &batches)))
                .collect();
            if let Some(k) = target {
                let mut p = shared.progress.lock().unwrap();
                // At least one more acknowledgement in every life.
                let at = k.max(p.acked_count + 1);
                while p.acked_count < at {
                    let (next, timeout) = shared.changed.wait_timeout(p, HANG).unwrap();
                    assert!(!timeout.timed_out(), "life {life}: no progress");
                    p = next;
                }
                p.killed = true;
                drop(p);
                served.child.kill().unwrap(); // SIGKILL
                served.child.wait().unwrap();
            }
            for c in conns {
                c.join().unwrap();
            }
        });
        let mut p = shared.progress.lock().unwrap();
        for events in p.acked.iter().flatten() {
            for e in events {
                highest_acked_lsn = highest_acked_lsn.max(e.lsn);
            }
        }
        if target.is_some() {
            // Everything not acknowledged goes again, lowest batch first.
            let failed = std::mem::take(&mut p.failed);
            resent.extend_from_slice(&failed);
            p.todo.extend(failed);
            p.todo.sort_unstable();
            p.killed = false;
        } else {
            assert!(p.todo.is_empty() && p.failed.is_empty());
            assert_eq!(p.acked_count, n, "every batch acknowledged");
            drop(p);
            let served_summary = get(&agent, &served.base, "/v1/summary");
            // SIGTERM: a clean stop.
            // SAFETY: kill(2) with the id of a child this test started and has not waited for.
            let rc = unsafe { libc::kill(served.child.id() as libc::pid_t, libc::SIGTERM) };
            assert_eq!(rc, 0);
            let status = served.child.wait().unwrap();
            assert!(status.success(), "waybill serve stopped with {status}");
            check(&served_summary, &journal, &lines, &shared, dir.path());
        }
    }
    // What the kills hit (it varies from run to run; nothing depends on it).
    let p = shared.progress.lock().unwrap();
    let journaled_before = resent
        .iter()
        .filter(|&&b| {
            let events = p.acked[b].as_ref().unwrap();
            events.iter().all(|e| e.outcome != "applied")
        })
        .count();
    eprintln!(
        "{n} batches, {KILLS} kills, {} batches sent again, {journaled_before} of them already journaled",
        resent.len()
    );
}

/// The final checks (see the module's documentation).
fn check(served: &Value, journal: &Path, lines: &[String], shared: &Shared, dir: &Path) {
    let u = |v: &Value, k: &str| v[k].as_u64().unwrap_or_else(|| panic!("{k} in {v}"));
    assert_conserved(served);

    // One clean ingest of the same lines.
    let file = dir.join("corpus.jsonl");
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let clean = ingest(&file, &dir.join("clean"));
    assert_eq!(u(&clean, "received"), lines.len() as u64);
    assert!(u(&clean, "duplicates") > 0 && u(&clean, "dead_lettered") >= MALFORMED.len() as u64);

    // The same state, each event applied once.
    assert_eq!(
        served["digest"], clean["digest"],
        "served {served}\nclean {clean}"
    );
    assert_eq!(u(served, "applied"), u(&clean, "applied"));
    assert_eq!(u(served, "missing"), u(&clean, "missing"));
    let extra = u(served, "received") - u(&clean, "received");
    assert_eq!(
        extra,
        (u(served, "duplicates") - u(&clean, "duplicates"))
            + (u(served, "dead_lettered") - u(&clean, "dead_lettered")),
        "every record the resends added is a duplicate or a dead letter"
    );
    let state = summary(journal);
    assert_eq!(state["digest"], clean["digest"]);
    assert_eq!(state["lsn"], served["lsn"]);
    ok(&["journal", "verify", "--journal", p(journal)]);

    // Every acknowledged event is in the journal at its LSN; no (source, sequence) applied
    // twice.
    let dump = ok(&["journal", "dump", "--journal", p(journal), "--json"]);
    let mut records: HashMap<u64, Value> = HashMap::new();
    let mut applied: BTreeMap<(String, String), u64> = BTreeMap::new();
    for line in dump.lines() {
        let r: Value = serde_json::from_str(line).unwrap();
        if r["outcome"] == "applied" {
            let key = (
                r["event"]["source"].as_str().unwrap().to_owned(),
                r["event"]["sequence"].as_str().unwrap().to_owned(),
            );
            *applied.entry(key).or_default() += 1;
        }
        records.insert(u(&r, "lsn"), r);
    }
    assert_eq!(records.len() as u64, u(served, "lsn"));
    let twice: Vec<_> = applied.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "applied more than once: {twice:?}");
    assert_eq!(applied.len() as u64, u(&clean, "applied"));
    let p = shared.progress.lock().unwrap();
    for (b, events) in p.acked.iter().enumerate() {
        let events = events.as_ref().expect("acknowledged");
        assert_eq!(
            events.len(),
            lines[b * BATCH_LINES..].len().min(BATCH_LINES)
        );
        for e in events {
            let r = records
                .get(&e.lsn)
                .unwrap_or_else(|| panic!("batch {b}: lsn {} is not in the journal", e.lsn));
            assert_eq!(
                r["outcome"].as_str(),
                Some(e.outcome.as_str()),
                "lsn {}",
                e.lsn
            );
            match (&e.id, r["event"]["id"].as_str()) {
                (Some(id), Some(journaled)) => assert_eq!(journaled, id, "lsn {}", e.lsn),
                // A dead letter is journaled as its raw bytes.
                (Some(id), None) => assert!(
                    r["raw"]
                        .as_str()
                        .is_some_and(|raw| raw.contains(id.as_str())),
                    "lsn {}: {r}",
                    e.lsn
                ),
                (None, _) => assert_eq!(r["outcome"], "dead_lettered", "lsn {}", e.lsn),
            }
        }
    }
}
