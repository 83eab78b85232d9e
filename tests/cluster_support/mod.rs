//! What the cluster tests share: a real NATS JetStream server on 127.0.0.1 (started and
//! stopped through `scripts/nats-server`, on free ports, with a store of its own), cluster
//! processes of the `waybill` binary, a small chaos corpus, and the single-process reference.
#![allow(dead_code)]

use serde_json::Value;
use std::collections::BTreeSet;
use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");

pub fn waybill() -> Command {
    Command::new(env!("CARGO_BIN_EXE_waybill"))
}

fn script() -> PathBuf {
    Path::new(ROOT).join("scripts/nats-server")
}

/// Installs the pinned server once per test binary (the script itself is idempotent and
/// serialised).
fn install() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let out = Command::new(script())
            .arg("install")
            .output()
            .expect("run scripts/nats-server");
        assert!(
            out.status.success(),
            "scripts/nats-server install failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A NATS server with JetStream, on loopback, stopped on drop.
pub struct Nats {
    dir: PathBuf,
    port: u16,
    monitor_port: u16,
    pub url: String,
}

impl Nats {
    pub fn start(dir: &Path) -> Nats {
        install();
        let mut n = Nats {
            dir: dir.to_owned(),
            port: free_port(),
            monitor_port: free_port(),
            url: String::new(),
        };
        n.url = n.run_script("start");
        n
    }

    fn run_script(&self, what: &str) -> String {
        let out = Command::new(script())
            .args([what, self.dir.to_str().unwrap()])
            .env("WAYBILL_NATS_PORT", self.port.to_string())
            .env("WAYBILL_NATS_MONITOR_PORT", self.monitor_port.to_string())
            .output()
            .expect("run scripts/nats-server");
        assert!(
            out.status.success(),
            "scripts/nats-server {what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    /// Kills the server with SIGKILL (nothing flushed, no goodbye), and waits until it is gone.
    pub fn kill9(&self) {
        let pid = fs::read_to_string(self.dir.join("pid")).unwrap();
        let pid: i32 = pid.trim().parse().unwrap();
        // SAFETY: kill(2) on a pid this test started; no memory is involved.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        while Path::new(&format!("/proc/{pid}")).exists() {
            let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            if stat.contains(") Z") {
                break; // a zombie: dead, waiting for a parent that is gone
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts the server again on the same store and ports.
    pub fn restart(&self) {
        self.run_script("start");
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = Command::new(script())
            .args(["stop", self.dir.to_str().unwrap()])
            .output();
    }
}

/// A cluster process, killed (SIGKILL) on drop; its standard error goes to a log file.
pub struct Proc {
    pub name: String,
    child: Child,
    pub log: PathBuf,
}

impl Proc {
    pub fn spawn(dir: &Path, name: &str, nats: &Nats, args: &[&str]) -> Proc {
        let log = dir.join(format!("{name}.log"));
        let child = waybill()
            .arg("cluster")
            .args(args)
            .env("WAYBILL_NATS_URL", &nats.url)
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log).unwrap())
            .spawn()
            .expect("spawn waybill cluster");
        Proc {
            name: name.to_owned(),
            child,
            log,
        }
    }

    pub fn core(dir: &Path, id: &str, nats: &Nats, config: &Path) -> Proc {
        let data = dir.join("data");
        Proc::spawn(
            dir,
            id,
            nats,
            &[
                "core",
                "--id",
                id,
                "--data",
                data.to_str().unwrap(),
                "--config",
                config.to_str().unwrap(),
                "--snapshot-every",
                "2000",
            ],
        )
    }

    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits for the process to end by itself (at most `within`); its exit status.
    pub fn wait(&mut self, within: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "{} did not end; log:\n{}",
                self.name,
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A small chaos corpus: the `chaos` scenario's faults (reordering, duplicates, loss,
/// malformed events of every dead-letter reason) over a world of 500 shipments, as
/// `waybill sim export` writes it (about 14,000 events in arrival order).
pub fn corpus(dir: &Path) -> PathBuf {
    let scenario = fs::read_to_string(Path::new(ROOT).join("scenarios/chaos.toml")).unwrap();
    let small = scenario
        .replace("\nshipments = 8000\n", "\nshipments = 500\n")
        .replace("\nvehicles = 200\n", "\nvehicles = 20\n");
    assert_ne!(
        small, scenario,
        "the chaos scenario's world changed: update the test"
    );
    let toml = dir.join("small-chaos.toml");
    fs::write(&toml, small).unwrap();
    let out = dir.join("corpus.jsonl");
    let status = waybill()
        .args([
            "sim",
            "export",
            toml.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(status.success());
    out
}

/// Every effect sink as a file sink writing into `dir/effects` (one file per key group).
pub fn sinks_config(dir: &Path) -> PathBuf {
    fs::create_dir_all(dir.join("effects")).unwrap();
    let mut toml = String::new();
    for sink in ["route", "billing", "erp", "ops"] {
        toml += &format!(
            "[sinks.{sink}]\nkind = \"file\"\npath = \"effects/{sink}.jsonl\"\nfsync = false\n\n"
        );
    }
    let path = dir.join("sinks.toml");
    fs::write(&path, toml).unwrap();
    path
}

/// What a single `waybill ingest` of the corpus gives: its summary and its effects' keys.
pub struct Reference {
    pub summary: Value,
    pub effect_keys: BTreeSet<(String, String)>,
}

pub fn reference(dir: &Path, corpus: &Path) -> Reference {
    let journal = dir.join("single");
    let ingest = waybill()
        .args([
            "ingest",
            corpus.to_str().unwrap(),
            "--journal",
            journal.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        ingest.status.success(),
        "{}",
        String::from_utf8_lossy(&ingest.stderr)
    );
    let state = waybill()
        .args(["state", "--journal", journal.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert!(state.status.success());
    Reference {
        summary: serde_json::from_slice(&state.stdout).unwrap(),
        effect_keys: logged_effect_keys(&journal),
    }
}

/// The (type, key) of every effect a journal's effect log holds.
pub fn logged_effect_keys(journal: &Path) -> BTreeSet<(String, String)> {
    let out = waybill()
        .args(["effects", "--journal", journal.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["effects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_owned(),
                e["key"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The effect logs of every key group's journal under `data`, together.
pub fn cluster_logged_keys(data: &Path) -> BTreeSet<(String, String)> {
    let mut keys = BTreeSet::new();
    for entry in fs::read_dir(data).unwrap() {
        keys.extend(logged_effect_keys(&entry.unwrap().path()));
    }
    keys
}

/// The (type, id) of every effect the file sinks under `dir/effects` received (an effect's
/// CloudEvents id is its key); with how many lines there were (repeats allowed). A last line
/// cut by a killed process is not counted.
pub fn delivered_keys(dir: &Path) -> (BTreeSet<(String, String)>, usize) {
    let mut keys = BTreeSet::new();
    let mut lines = 0;
    for entry in fs::read_dir(dir.join("effects")).unwrap() {
        let text = fs::read_to_string(entry.unwrap().path()).unwrap();
        for line in text.lines() {
            let Ok(v) = serde_json::from_str::<Value>(line) else {
                assert!(
                    !text.ends_with('\n') && text.ends_with(line),
                    "a damaged line inside a sink's file: {line}"
                );
                continue;
            };
            lines += 1;
            keys.insert((
                v["type"].as_str().unwrap().to_owned(),
                v["id"].as_str().unwrap().to_owned(),
            ));
        }
    }
    (keys, lines)
}

/// `waybill cluster status --json`, waiting (at most `wait`) until every stage caught up.
pub fn status(nats: &Nats, wait: Option<&str>) -> Value {
    let mut cmd = waybill();
    cmd.args(["cluster", "status", "--json"])
        .env("WAYBILL_NATS_URL", &nats.url);
    if let Some(w) = wait {
        cmd.args(["--wait", w]);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "cluster status: {}{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The cluster's summary equals the single process's: digest, counters, dead letters per
/// reason, and the gaps per source.
pub fn assert_same_summary(cluster: &Value, single: &Value) {
    for field in [
        "digest",
        "received",
        "applied",
        "duplicates",
        "dead_lettered",
        "missing",
        "dead_letter_reasons",
    ] {
        assert_eq!(
            cluster[field], single[field],
            "{field}: cluster {} single {}",
            cluster[field], single[field]
        );
    }
    let gaps = |v: &Value| -> Vec<(String, u64, Value)> {
        v["gaps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                (
                    g["source"].as_str().unwrap().to_owned(),
                    g["missing"].as_u64().unwrap(),
                    g["ranges"].clone(),
                )
            })
            .collect()
    };
    assert_eq!(gaps(cluster), gaps(single));
    assert!(
        single["missing"].as_u64().unwrap() > 0,
        "the corpus has holes"
    );
    assert!(
        single["duplicates"].as_u64().unwrap() > 0,
        "the corpus has duplicates"
    );
    assert!(
        single["dead_lettered"].as_u64().unwrap() > 0,
        "the corpus has malformed events"
    );
}

/// Polls `f` every 100 ms until it is true; panics with `what` after `within`.
pub fn wait_for(within: Duration, what: &str, mut f: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < within,
            "timed out after {within:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    start.elapsed()
}
