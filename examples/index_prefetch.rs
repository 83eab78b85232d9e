//! A/B of `Machine::prefetch` (the source-table slot and the id-index entry of an event a few
//! places ahead) against plain stepping, on the benchmark's workload (`waybill bench`'s
//! events, seed 9): the first two thirds of the events warm the state, the rest are stepped in
//! blocks that alternate between the two ways (ABBA), and the medians per event are compared.
//!
//! `cargo run --release --example index_prefetch -- [EVENTS] [SHIPMENTS] [AHEAD]`
//! (default 3000000 1000000 8). With AHEAD past the block size nothing is prefetched: the
//! ratio then shows the noise of the method.

use std::time::Instant;

use rkyv::rancor;
use rkyv::util::AlignedVec;
use waybill_core::event::{ArchivedEntry, Entry};
use waybill_core::machine::{Machine, PREFETCH_AHEAD};

const BLOCK: usize = 8192;

fn main() {
    let arg = |i: usize, default: u64| {
        std::env::args()
            .nth(i)
            .map_or(default, |s| s.parse().expect("a number"))
    };
    let (events, shipments, ahead) = (
        arg(1, 3_000_000),
        arg(2, 1_000_000),
        arg(3, PREFETCH_AHEAD as u64) as usize,
    );
    let w = waybill_sim::workload::workload(events, shipments, 9);
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
    // SAFETY: rkyv serialized these bytes from valid entries just above.
    let entries: Vec<&ArchivedEntry> = spans
        .iter()
        .map(|&(s, l)| unsafe { rkyv::access_unchecked::<ArchivedEntry>(&bytes[s..s + l]) })
        .collect();
    let mut m = Machine::new();
    let warm = entries.len() * 2 / 3;
    for (i, a) in entries[..warm].iter().enumerate() {
        m.step(i as u64 + 1, 0, *a);
    }
    let (mut plain, mut fetched) = (Vec::new(), Vec::new());
    for (b, block) in entries[warm..].chunks(BLOCK).enumerate() {
        let prefetch = matches!(b % 4, 1 | 2);
        let t = Instant::now();
        for (i, a) in block.iter().enumerate() {
            if prefetch && let Some(next) = block.get(i + ahead) {
                m.prefetch(*next);
            }
            let lsn = m.lsn() + 1;
            m.step(lsn, 0, *a);
        }
        let ns = t.elapsed().as_nanos() as f64 / block.len() as f64;
        if prefetch {
            fetched.push(ns)
        } else {
            plain.push(ns)
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (p, f) = (median(&mut plain), median(&mut fetched));
    println!(
        "{} shipments; {} blocks each: plain {p:.0} ns/event, prefetch {ahead} ahead {f:.0} ns/event, plain/prefetch {:.3}",
        m.state().shipment_count(),
        plain.len(),
        p / f
    );
}
