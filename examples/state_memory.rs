//! The state's memory, store by store, and the writer's stalls while it grows: applies the
//! benchmark's workload (`waybill bench`'s events: a generated world, seed 9) with
//! `Machine::step` on this thread and prints what each store holds per shipment, the page
//! faults this thread took, and the slowest steps.
//!
//! `cargo run --release --example state_memory -- [EVENTS] [SHIPMENTS]` (default 200000 20000).

use std::time::{Duration, Instant};

use rkyv::rancor;
use rkyv::util::AlignedVec;
use waybill_core::event::{ArchivedEntry, Entry};
use waybill_core::machine::Machine;
use waybill_core::state::StoreBytes;

/// Steps slower than this count as stalls.
const STALL: Duration = Duration::from_micros(200);

/// (minor faults, major faults, user seconds, system seconds) of this thread so far.
fn thread_usage() -> (i64, i64, f64, f64) {
    // SAFETY: `getrusage` fills the zeroed struct it is given and reads nothing else.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above; RUSAGE_THREAD is this thread's own counters.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut u) };
    assert_eq!(rc, 0, "getrusage");
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (u.ru_minflt, u.ru_majflt, secs(u.ru_utime), secs(u.ru_stime))
}

fn main() {
    let arg = |i: usize, default: u64| {
        std::env::args()
            .nth(i)
            .map_or(default, |s| s.parse().expect("a number"))
    };
    let (events, shipments) = (arg(1, 200_000), arg(2, 20_000));
    let w = waybill_sim::workload::workload(events, shipments, 9);
    // Every entry archived in one buffer, as the journal holds them (16-byte aligned).
    let mut bytes = AlignedVec::<16>::new();
    let mut spans = Vec::with_capacity(w.events.len());
    for e in w.events {
        let one = rkyv::to_bytes::<rancor::Error>(&Entry::Event(e)).expect("serializes");
        let start = bytes.len();
        bytes.extend_from_slice(&one);
        while bytes.len() % 16 != 0 {
            bytes.push(0);
        }
        spans.push((start, one.len()));
    }
    let mut m = Machine::new();
    let mut stalls = Vec::new();
    let mut slowest = Duration::ZERO;
    let before = thread_usage();
    let t0 = Instant::now();
    for (i, &(start, len)) in spans.iter().enumerate() {
        // SAFETY: rkyv serialized these bytes from a valid entry just above.
        let a = unsafe { rkyv::access_unchecked::<ArchivedEntry>(&bytes[start..start + len]) };
        let t = Instant::now();
        m.step(i as u64 + 1, 0, a);
        let took = t.elapsed();
        slowest = slowest.max(took);
        if took > STALL {
            stalls.push(took);
        }
    }
    let wall = t0.elapsed().as_secs_f64();
    let after = thread_usage();
    let n = m.state().shipment_count().max(1) as f64;
    println!(
        "{} events, {} shipments, {} vehicles",
        spans.len(),
        m.state().shipment_count(),
        m.state().vehicle_count()
    );
    println!(
        "  {:<16} {:>12} {:>10} {:>12} {:>10}",
        "store", "held bytes", "/shipment", "used bytes", "/shipment"
    );
    let stores = m.state().heap_bytes_by_store();
    let total = StoreBytes {
        store: "total",
        held_bytes: stores.iter().map(|s| s.held_bytes).sum(),
        used_bytes: stores.iter().map(|s| s.used_bytes).sum(),
    };
    for s in stores.iter().chain([&total]) {
        println!(
            "  {:<16} {:>12} {:>10.1} {:>12} {:>10.1}",
            s.store,
            s.held_bytes,
            s.held_bytes as f64 / n,
            s.used_bytes,
            s.used_bytes as f64 / n
        );
    }
    assert_eq!(total.held_bytes, m.state().heap_bytes());
    println!(
        "  spare chunks asked for, not counted above: {} bytes, {:.1} per shipment",
        m.state().spare_bytes(),
        m.state().spare_bytes() as f64 / n
    );
    let stalled: Duration = stalls.iter().sum();
    println!(
        "apply {:.0} events/s; this thread: {} minor faults, {} major, user {:.3} s, system {:.3} s",
        spans.len() as f64 / wall,
        after.0 - before.0,
        after.1 - before.1,
        after.2 - before.2,
        after.3 - before.3,
    );
    println!(
        "steps over {} us: {} taking {:.1} ms in all; slowest {} us",
        STALL.as_micros(),
        stalls.len(),
        stalled.as_secs_f64() * 1e3,
        slowest.as_micros()
    );
}
