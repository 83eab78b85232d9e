//! `waybill bench`: every path of docs/cli.md (`waybill bench`) on the same simulator-generated
//! events, in one process, so the ratios hold on a noisy machine.

mod latency;
mod limit;
mod sqlite;

use serde::Serialize;
use std::ops::ControlFlow;
use std::path::Path;
use std::time::Instant;
use waybill_core::encode::encode_event;
use waybill_core::engine::{self, Core, Until};
use waybill_core::event::{ArchivedEntry, Entry, Event};
use waybill_core::journal::{Durability, JournalOptions};
use waybill_core::machine::Machine;
use waybill_core::pipeline::{Pipeline, PipelineOptions, StreamOptions, ingest_reader};

/// Events per batch handed to the core in the throughput paths.
pub const BATCH_EVENTS: usize = 4096;
/// Journal segment size for the benchmark's journals.
const SEGMENT_BYTES: u64 = 256 << 20;
/// The SQLite path runs on at most this many events (it is the slow one).
pub const SQLITE_EVENTS_MAX: usize = 1_000_000;
/// The open-loop latency runs use at most this many events.
pub const LATENCY_EVENTS_MAX: usize = 2_000_000;

#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub events: u64,
    pub shipments: u64,
    pub offered_rate_eps: u64,
    pub seed: u64,
    /// Where the journals and the SQLite file go (removed after).
    pub dir: std::path::PathBuf,
    /// Run only this path (for profiling one path); every path when None.
    pub only: Option<String>,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Latency {
    pub p50: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Ratios {
    pub pipeline_vs_limit: f64,
    pub pipeline_vs_sqlite: f64,
}

/// Every figure of `waybill bench` (docs/cli.md), and what they were measured on.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub events: u64,
    pub shipments: u64,
    pub shipments_touched: u64,
    pub limit_eps: f64,
    pub apply_only_eps: f64,
    pub pipeline_eps: f64,
    pub pipeline_group_eps: f64,
    pub replay_eps: f64,
    pub jsonl_ingest_eps: f64,
    pub sqlite_eps: f64,
    pub sqlite_events: u64,
    pub ratios: Ratios,
    pub offered_rate_eps: u64,
    pub latency_events: u64,
    pub latency_us: Latency,
    pub durable_latency_us: Latency,
    pub state_bytes_per_shipment: f64,
    pub generate_seconds: f64,
    pub cores: usize,
}

fn eps(n: usize, seconds: f64) -> f64 {
    if seconds > 0.0 {
        n as f64 / seconds
    } else {
        0.0
    }
}

fn journal_opts(durability: Durability) -> JournalOptions {
    JournalOptions {
        segment_bytes: SEGMENT_BYTES,
        durability,
        ..JournalOptions::default()
    }
}

/// Events as rkyv payloads in one buffer, each 16-byte aligned (what the journal holds).
pub struct Archived {
    bytes: rkyv::util::AlignedVec<16>,
    spans: Vec<(usize, usize)>,
}

impl Archived {
    fn of(entries: &[Entry]) -> Archived {
        let mut bytes = rkyv::util::AlignedVec::<16>::new();
        let mut spans = Vec::with_capacity(entries.len());
        let mut one = rkyv::util::AlignedVec::<16>::new();
        for e in entries {
            one.clear();
            one = rkyv::api::high::to_bytes_in::<_, rkyv::rancor::Error>(e, one)
                .expect("entries serialize");
            let start = bytes.len();
            bytes.extend_from_slice(&one);
            while bytes.len() % 16 != 0 {
                bytes.push(0);
            }
            spans.push((start, one.len()));
        }
        Archived { bytes, spans }
    }

    fn get(&self, i: usize) -> &[u8] {
        let (start, len) = self.spans[i];
        &self.bytes[start..start + len]
    }

    fn len(&self) -> usize {
        self.spans.len()
    }
}

fn apply_only(archived: &Archived) -> f64 {
    let mut m = Machine::new();
    let t0 = Instant::now();
    for i in 0..archived.len() {
        // SAFETY: rkyv serialized these bytes from valid entries just above.
        let entry = unsafe { rkyv::access_unchecked::<ArchivedEntry>(archived.get(i)) };
        m.step(i as u64 + 1, entry);
    }
    eps(archived.len(), t0.elapsed().as_secs_f64())
}

/// Typed entries through the whole core, pipelined: this thread encodes batches (rkyv and
/// the payload hashes of the chain), the core thread journals and applies them.
fn pipeline(entries: &[Entry], dir: &Path, durability: Durability) -> (f64, Core) {
    let core = Core::open(dir, journal_opts(durability)).expect("open journal");
    let t0 = Instant::now();
    let p = Pipeline::start(core, PipelineOptions::default());
    for (i, chunk) in entries.chunks(BATCH_EVENTS).enumerate() {
        let mut batch = p.batch();
        for e in chunk {
            batch.push(e, i as i64).expect("entries encode");
        }
        p.send(batch).expect("the core thread runs");
        while p.acks().try_recv().is_ok() {}
    }
    let mut core = p.finish().expect("pipeline");
    core.flush().expect("flush");
    (eps(entries.len(), t0.elapsed().as_secs_f64()), core)
}

fn replay(dir: &Path, n: usize) -> f64 {
    let t0 = Instant::now();
    let r = engine::replay(dir, Until::End).expect("replay");
    let s = t0.elapsed().as_secs_f64();
    assert_eq!(r.machine.lsn as usize, n);
    eps(n, s)
}

/// CloudEvents JSONL through the whole core, as `waybill ingest` does it: a reader thread,
/// decoder threads, and the journal and apply on this thread.
fn jsonl(jsonl: Vec<u8>, n: usize, dir: &Path) -> f64 {
    let mut core = Core::open(dir, journal_opts(Durability::None)).expect("open journal");
    let t0 = Instant::now();
    let input = std::io::Cursor::new(jsonl);
    let opts = StreamOptions::default(); // as `waybill ingest` reads, pause detection included
    let r = ingest_reader(input, &mut core, &opts, || 0, &mut |_| {
        ControlFlow::Continue(())
    })
    .expect("ingest");
    core.flush().expect("flush");
    let s = t0.elapsed().as_secs_f64();
    assert!(r.read_error.is_none());
    assert_eq!(core.machine().lsn as usize, n);
    eps(n, s)
}

fn sqlite_path(events: &[Event], dir: &Path) -> f64 {
    let mut store = sqlite::SqliteStore::create(&dir.join("bench.sqlite")).expect("create sqlite");
    let t0 = Instant::now();
    for (i, chunk) in events.chunks(BATCH_EVENTS).enumerate() {
        store.ingest(chunk, i as i64).expect("sqlite ingest");
    }
    eps(events.len(), t0.elapsed().as_secs_f64())
}

/// Runs every path; `progress` gets a line per finished path.
pub fn run(opts: &BenchOptions, mut progress: impl FnMut(&str)) -> BenchReport {
    std::fs::create_dir_all(&opts.dir).expect("bench dir");
    let t0 = Instant::now();
    let workload = waybill_sim::workload::workload(opts.events, opts.shipments, opts.seed);
    let generate_seconds = t0.elapsed().as_secs_f64();
    let n = workload.events.len();
    progress(&format!(
        "generated {n} events over {} shipments in {generate_seconds:.1} s",
        workload.shipments_touched
    ));
    let sqlite_n = n.min(SQLITE_EVENTS_MAX);
    let sqlite_events: Vec<Event> = workload.events[..sqlite_n].to_vec();
    let mut jsonl_bytes = Vec::with_capacity(n * 260);
    for e in &workload.events {
        encode_event(e, &mut jsonl_bytes);
        jsonl_bytes.push(b'\n');
    }
    let entries: Vec<Entry> = workload.events.into_iter().map(Entry::Event).collect();
    let archived = Archived::of(&entries);

    let want = |path: &str| opts.only.as_deref().is_none_or(|o| o == path);
    let mut run_path = |path: &str, f: &mut dyn FnMut() -> f64| -> f64 {
        if !want(path) {
            return 0.0;
        }
        // Each path starts with no dirty pages left behind by the one before: writing back
        // gigabytes of an earlier path's journal would otherwise run (on the kernel's
        // threads, taking CPU) during this one. A path still pays for its own writeback.
        // SAFETY: sync(2) has no preconditions and cannot fail.
        unsafe { libc::sync() };
        let v = f();
        progress(&format!("{path:<10} {v:>12.0} events/s"));
        v
    };
    let limit_eps = run_path("limit", &mut || limit::run(&archived, opts.shipments));
    let apply_only_eps = run_path("apply", &mut || apply_only(&archived));
    drop(archived);
    let none_dir = opts.dir.join("pipeline");
    let mut state_bytes_per_shipment = 0.0;
    // Replay reads the journal the pipeline path writes.
    let pipeline_eps = run_path(
        if want("replay") && !want("pipeline") {
            "replay"
        } else {
            "pipeline"
        },
        &mut || {
            let (eps, core) = pipeline(&entries, &none_dir, Durability::None);
            let m = core.machine();
            state_bytes_per_shipment =
                m.state.heap_bytes() as f64 / (m.state.shipment_count().max(1)) as f64;
            eps
        },
    );
    let pipeline_eps = if want("pipeline") { pipeline_eps } else { 0.0 };
    let replay_eps = run_path("replay", &mut || replay(&none_dir, n));
    let _ = std::fs::remove_dir_all(&none_dir);
    let group_dir = opts.dir.join("group");
    let pipeline_group_eps = run_path("group", &mut || {
        pipeline(&entries, &group_dir, Durability::Group).0
    });
    let _ = std::fs::remove_dir_all(&group_dir);
    let jsonl_dir = opts.dir.join("jsonl");
    let mut jsonl_bytes = Some(jsonl_bytes);
    let jsonl_ingest_eps = run_path("jsonl", &mut || {
        jsonl(jsonl_bytes.take().expect("run once"), n, &jsonl_dir)
    });
    let _ = std::fs::remove_dir_all(&jsonl_dir);
    let sqlite_eps = run_path("sqlite", &mut || sqlite_path(&sqlite_events, &opts.dir));

    let lat_n = n.min(LATENCY_EVENTS_MAX);
    let lat_dir = opts.dir.join("latency");
    let (mut latency_us, mut durable_latency_us) = (Latency::default(), Latency::default());
    if want("latency") {
        latency_us = latency::open_loop(
            &entries[..lat_n],
            &lat_dir,
            Durability::None,
            opts.offered_rate_eps,
        )
        .applied;
        let _ = std::fs::remove_dir_all(&lat_dir);
        durable_latency_us = latency::open_loop(
            &entries[..lat_n],
            &lat_dir,
            Durability::Group,
            opts.offered_rate_eps,
        )
        .durable;
        let _ = std::fs::remove_dir_all(&lat_dir);
        progress(&format!(
            "latency p99 {} us, durable p99 {} us",
            latency_us.p99, durable_latency_us.p99
        ));
    }
    let _ = std::fs::remove_dir_all(&opts.dir);

    BenchReport {
        events: n as u64,
        shipments: opts.shipments,
        shipments_touched: workload.shipments_touched,
        limit_eps,
        apply_only_eps,
        pipeline_eps,
        pipeline_group_eps,
        replay_eps,
        jsonl_ingest_eps,
        sqlite_eps,
        sqlite_events: sqlite_n as u64,
        ratios: Ratios {
            pipeline_vs_limit: if limit_eps > 0.0 {
                pipeline_eps / limit_eps
            } else {
                0.0
            },
            pipeline_vs_sqlite: if sqlite_eps > 0.0 {
                pipeline_eps / sqlite_eps
            } else {
                0.0
            },
        },
        offered_rate_eps: opts.offered_rate_eps,
        latency_events: lat_n as u64,
        latency_us,
        durable_latency_us,
        state_bytes_per_shipment,
        generate_seconds,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
    }
}
