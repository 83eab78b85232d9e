//! Every stage once over the same generated events, each in its own non-inlined function so
//! that a profiler shows per-stage totals (callgrind counts instructions, repeatable on a noisy
//! machine: `valgrind --tool=callgrind target/release/examples/stages 100000`, then
//! `callgrind_annotate --inclusive=yes` and look for `stages::stage_`).
//! `cargo run --release --example stages -- [events]` prints wall-clock rates;
//! `... -- EVENTS FILE` writes that many events of the mix as JSONL.

#[path = "../benches/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use common::{Encoded, Gen, Mix, T0_US, bench_journal_options};
use rkyv::util::AlignedVec;
use waybill_core::encode::encode_event;
use waybill_core::engine::{Core, Until, replay};
use waybill_core::event::Entry;
use waybill_core::input::RawBatch;
use waybill_core::journal::{Journal, JournalReader};
use waybill_core::machine::Machine;
use waybill_core::pipeline::{Pipeline, PipelineOptions};
use waybill_core::record;

const BATCH: usize = 4096;

#[inline(never)]
fn stage_decode(batches: &[RawBatch]) -> Vec<Entry> {
    batches
        .iter()
        .flat_map(|b| b.iter().map(|r| r.decode()))
        .collect()
}

#[inline(never)]
fn stage_encode(entries: &[Entry]) -> usize {
    let mut buf = AlignedVec::<16>::new();
    let mut total = 0;
    for e in entries {
        buf.clear();
        buf = record::encode_entry(e, std::mem::take(&mut buf)).unwrap().0;
        total += buf.len();
    }
    total
}

#[inline(never)]
fn stage_append(dir: &Path, enc: &Encoded) {
    let (mut j, _) = Journal::open(dir, bench_journal_options()).unwrap();
    for i in 0..enc.len() {
        black_box(j.append(T0_US, enc.kinds[i], enc.payload(i)).unwrap().lsn);
    }
}

#[inline(never)]
fn stage_step(enc: &Encoded) -> Machine {
    let mut m = Machine::new();
    for i in 0..enc.len() {
        // SAFETY: bytes `encode_entry` just wrote for a valid entry, with their kind, at a
        // 16-byte aligned offset.
        let a = unsafe { record::read_own(enc.kinds[i], enc.payload(i)) };
        m.step(i as u64 + 1, 0, a);
    }
    m
}

/// `Machine::step` on a warm state (every vehicle and shipment seen once): the apply floor.
#[inline(never)]
fn stage_step_warm(m: &mut Machine, enc: &Encoded) {
    for i in 0..enc.len() {
        // SAFETY: bytes `encode_entry` just wrote for a valid entry, with their kind, at a
        // 16-byte aligned offset.
        let a = unsafe { record::read_own(enc.kinds[i], enc.payload(i)) };
        let lsn = m.lsn() + 1;
        black_box(m.step(lsn, 0, a));
    }
}

#[inline(never)]
fn stage_core_ingest(dir: &Path, entries: &[Entry]) {
    let mut core = Core::open(dir, bench_journal_options()).unwrap();
    for chunk in entries.chunks(BATCH) {
        core.ingest(chunk, T0_US).unwrap();
    }
    core.flush().unwrap();
}

#[inline(never)]
fn stage_pipeline(dir: &Path, entries: &[Entry]) {
    let core = Core::open(dir, bench_journal_options()).unwrap();
    let pipeline = Pipeline::start(core, PipelineOptions::default());
    for chunk in entries.chunks(BATCH) {
        let mut batch = pipeline.batch();
        for e in chunk {
            batch.push(e, T0_US).unwrap();
        }
        pipeline.send(batch).unwrap();
        while pipeline.acks().try_recv().is_ok() {}
    }
    pipeline.finish().unwrap().flush().unwrap();
}

#[inline(never)]
fn stage_ingest_raw(dir: &Path, batches: &[RawBatch]) {
    let mut core = Core::open(dir, bench_journal_options()).unwrap();
    for b in batches {
        core.ingest_raw(b, T0_US).unwrap();
    }
    core.flush().unwrap();
}

#[inline(never)]
fn stage_replay(dir: &Path) -> Machine {
    replay(dir, Until::End).unwrap().machine
}

/// Replay on one thread: checked access then step, record by record (what `replay` did before
/// verification moved to its own thread).
#[inline(never)]
fn stage_replay_sequential(dir: &Path) -> Machine {
    let reader = JournalReader::open(dir).unwrap();
    let mut m = Machine::new();
    for rec in reader.records() {
        let rec = rec.unwrap();
        let a = record::read(rec.kind, rec.payload).unwrap();
        m.step(rec.lsn, rec.ingest_us, a);
    }
    m
}

/// What replay would cost with `access_unchecked` on CRC-verified records (for comparison).
#[inline(never)]
fn stage_replay_unchecked(dir: &Path) -> Machine {
    let reader = JournalReader::open(dir).unwrap();
    let mut m = Machine::new();
    for rec in reader.records() {
        let rec = rec.unwrap();
        // SAFETY: comparison only; the journal was just written by this process.
        let a = unsafe { record::read_own(rec.kind, rec.payload) };
        m.step(rec.lsn, rec.ingest_us, a);
    }
    m
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map_or(200_000, |s| s.parse().unwrap());
    if let Some(path) = std::env::args().nth(2) {
        // `stages N FILE`: write N events of the mix as JSONL (input for `waybill ingest`).
        let mut g = Gen::new(31, 1_000_000, 1_000_000);
        let mut out = Vec::new();
        for _ in 0..n {
            let e = g.mixed();
            encode_event(&e, &mut out);
            out.push(b'\n');
        }
        std::fs::write(path, out).unwrap();
        return;
    }
    let mut g = Gen::new(29, 100_000, 100_000);
    let mut batches = Vec::new();
    let mut line = Vec::new();
    let mut left = n;
    while left > 0 {
        let k = left.min(BATCH);
        let mut b = RawBatch::new();
        for e in g.entries(Mix::Realistic, k) {
            let Entry::Event(e) = e else { unreachable!() };
            line.clear();
            encode_event(&e, &mut line);
            b.push(&line, line.len() as u64);
        }
        batches.push(b);
        left -= k;
    }
    let tmp = tempfile::tempdir().unwrap();
    // `STAGES=step_warm,replay` runs only the stages named (replay also needs core_ingest).
    let only = std::env::var("STAGES").ok();
    let rate = |name: &str, f: &mut dyn FnMut()| {
        if only
            .as_deref()
            .is_some_and(|o| !o.split(',').any(|x| x == name))
        {
            return;
        }
        let t = Instant::now();
        f();
        let s = t.elapsed().as_secs_f64();
        println!("{name:<12} {:>12.0} events/s", n as f64 / s);
    };
    let mut entries = Vec::new();
    rate("decode", &mut || entries = stage_decode(&batches));
    rate("encode", &mut || {
        black_box(stage_encode(&entries));
    });
    let enc = Encoded::new(&entries);
    rate("append", &mut || stage_append(&tmp.path().join("a"), &enc));
    let mut stepped = Machine::new();
    rate("step", &mut || stepped = stage_step(&enc));
    // Warm state of the issue's shape: 50 k telematics sources, 1 M shipments.
    let mut wg = Gen::new(37, 50_000, 1_000_000);
    let mut warm = common::warm_machine(&mut wg);
    let warm_enc = Encoded::new(&wg.entries(Mix::Realistic, n));
    rate("step_warm", &mut || stage_step_warm(&mut warm, &warm_enc));
    rate("core_ingest", &mut || {
        stage_core_ingest(&tmp.path().join("c"), &entries)
    });
    rate("pipeline", &mut || {
        stage_pipeline(&tmp.path().join("p"), &entries)
    });
    rate("ingest_raw", &mut || {
        stage_ingest_raw(&tmp.path().join("r"), &batches)
    });
    let mut replayed = Machine::new();
    rate("replay", &mut || {
        replayed = stage_replay(&tmp.path().join("c"))
    });
    rate("replay_seq", &mut || {
        replayed = stage_replay_sequential(&tmp.path().join("c"))
    });
    rate("replay_unchecked", &mut || {
        replayed = stage_replay_unchecked(&tmp.path().join("c"))
    });
    if only.is_none() {
        assert_eq!(replayed.lsn(), n as u64);
        assert_eq!(replayed.counters(), stepped.counters());
    }
}
