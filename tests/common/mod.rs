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

/// Line `i` (from 0) of a deterministic stream of valid events, without its newline: pings
/// from 500 vehicles (`fleet/v{n}`), every tenth line an order for one of the first 2,000
/// shipments (`erp/main`), then charges for them (`billing/engine`). Every line has its own
/// id, `e{i}`, and each source numbers its events 1, 2, 3, ... in line order.
pub fn event_line(i: u64) -> String {
    let time = |ms: u64| {
        let s = ms / 1000;
        format!(
            "2026-11-27T{:02}:{:02}:{:02}.{:03}Z",
            s / 3600 % 24,
            s / 60 % 60,
            s % 60,
            ms % 1000
        )
    };
    let head = |source: &str, seq: u64, ty: &str, subject: &str| {
        format!(
            r#"{{"specversion":"1.0","id":"e{i}","source":"{source}","sequence":"{seq}","type":"{ty}","time":"{}","subject":"{subject}","data":"#,
            time(i)
        )
    };
    const SHIPMENTS: u64 = 2000;
    if i.is_multiple_of(10) {
        let k = i / 10;
        if k < SHIPMENTS {
            let s = k + 1;
            return head("erp/main", k + 1, "order.created", &format!("shipment/{s}"))
                + &format!(
                    r#"{{"customer_id":"c{}","origin":{{"lat":52.1,"lon":4.2}},"destination":{{"lat":51.9,"lon":4.4}},"window_start":"{}","window_end":"{}","weight_kg":100,"contract":{{"currency":"EUR","base_cents":1000,"detention_free_min":30,"detention_cents_per_hour":600}}}}}}"#,
                    s % 17,
                    time(0),
                    time(3_600_000)
                );
        }
        let s = 1 + k % SHIPMENTS;
        return head(
            "billing/engine",
            k - SHIPMENTS + 1,
            "charge.added",
            &format!("shipment/{s}"),
        ) + &format!(
            r#"{{"charge_id":"ch{i}","kind":"fuel","amount_cents":{},"currency":"EUR"}}}}"#,
            1 + i % 900
        );
    }
    // 500 is a multiple of 10, so every line of vehicle `v` is a ping: its sequence is
    // the number of its lines so far.
    let v = i % 500;
    head(
        &format!("fleet/v{v}"),
        i / 500 + 1,
        "vehicle.position",
        &format!("vehicle/{v}"),
    ) + &format!(
        r#"{{"lat":{}.{:06},"lon":4.{:06},"speed_kph":{}}}}}"#,
        50 + i % 3,
        i % 1_000_000,
        (i * 7) % 1_000_000,
        i % 120
    )
}

/// Lines `range` of [`event_line`], each ended by a newline.
pub fn event_lines(range: std::ops::Range<u64>) -> Vec<u8> {
    let mut out = Vec::new();
    for i in range {
        out.extend_from_slice(event_line(i).as_bytes());
        out.push(b'\n');
    }
    out
}

/// Writes lines `0..n` of [`event_line`] to `path`.
pub fn write_events(path: &Path, n: u64) {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for start in (0..n).step_by(10_000) {
        out.write_all(&event_lines(start..n.min(start + 10_000)))
            .unwrap();
    }
    out.flush().unwrap();
}

/// How long a test waits for a child's next line before it fails. Only a guard against a
/// hang: no result depends on it.
pub const OUTPUT_GUARD: std::time::Duration = std::time::Duration::from_secs(300);

/// The lines a child process writes to its standard output, read on a thread of their own.
pub struct Lines {
    rx: std::sync::mpsc::Receiver<String>,
}

impl Lines {
    pub fn of(stdout: std::process::ChildStdout) -> Lines {
        use std::io::BufRead;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Lines { rx }
    }

    /// The next line; `None` once the child closed its output.
    pub fn next(&self) -> Option<String> {
        use std::sync::mpsc::RecvTimeoutError;
        match self.rx.recv_timeout(OUTPUT_GUARD) {
            Ok(line) => Some(line),
            Err(RecvTimeoutError::Disconnected) => None,
            Err(RecvTimeoutError::Timeout) => panic!("no output for {OUTPUT_GUARD:?}"),
        }
    }

    /// Reads JSON lines until one satisfies `want`, and returns it.
    pub fn until(
        &self,
        what: &str,
        want: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        loop {
            let line = self
                .next()
                .unwrap_or_else(|| panic!("output ended before {what}"));
            let v: serde_json::Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
            if want(&v) {
                return v;
            }
        }
    }
}

/// The number `v[key]`, which must be there.
pub fn num(v: &serde_json::Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("no number {key} in {v}"))
}

/// Decodes standard base64 (RFC 4648 §4, with padding).
pub fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c:?}"),
        }
    };
    assert_eq!(text.len() % 4, 0, "base64 comes in groups of 4: {text}");
    let mut out = Vec::new();
    for group in text.as_bytes().chunks(4) {
        let digits: Vec<u8> = group.iter().copied().filter(|&c| c != b'=').collect();
        let n = digits
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &c)| n | value(c) << (18 - 6 * i));
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..digits.len() - 1]);
    }
    out
}
