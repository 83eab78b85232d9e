//! Bytes per journal record on the benchmark's workload, by event type: each event is encoded
//! as the core journals it and its frame is counted as the frame header (with the chain link
//! every `LINK_EVERY`-th record) plus the payload padded to the frame alignment.
//! `cargo run --release --example record_bytes -- [EVENTS SHIPMENTS SEED]` (defaults 2000000
//! 200000 9, the smoke-size `waybill bench`).

use std::collections::BTreeMap;

use waybill_core::event::Entry;
use waybill_core::journal::{
    FRAME_ALIGN_BYTES, FRAME_HEADER_BYTES, FRAME_HEADER_LINKED_BYTES, LINK_EVERY,
};
use waybill_core::pipeline::EncodedBatch;

fn main() {
    let arg = |i: usize, default: u64| {
        std::env::args()
            .nth(i)
            .map_or(default, |s| s.parse().expect("a number"))
    };
    let (events, shipments, seed) = (arg(1, 2_000_000), arg(2, 200_000), arg(3, 9));
    let workload = waybill_sim::workload::workload(events, shipments, seed);
    // type -> (records, payload bytes, frame bytes)
    let mut by_type: BTreeMap<&'static str, (u64, u64, u64)> = BTreeMap::new();
    let mut batch = EncodedBatch::new();
    for (i, e) in workload.events.into_iter().enumerate() {
        let ty = e.event_type().as_str();
        batch.clear();
        batch
            .push(&Entry::Event(e), 0)
            .expect("valid events encode");
        let payload = batch.bytes_len() as u64;
        // The record at LSN i + 1 stores its chain link when the LSN is a multiple of
        // LINK_EVERY.
        let header = if (i as u64 + 1).is_multiple_of(LINK_EVERY) {
            FRAME_HEADER_LINKED_BYTES
        } else {
            FRAME_HEADER_BYTES
        };
        let frame = header as u64 + payload.next_multiple_of(FRAME_ALIGN_BYTES as u64);
        let t = by_type.entry(ty).or_default();
        t.0 += 1;
        t.1 += payload;
        t.2 += frame;
    }
    let (n, p, f) = by_type
        .values()
        .fold((0, 0, 0), |a, t| (a.0 + t.0, a.1 + t.1, a.2 + t.2));
    println!(
        "{:<20} {:>10} {:>7} {:>12} {:>10}",
        "type", "records", "share", "payload B", "frame B"
    );
    for (ty, (k, pb, fb)) in &by_type {
        println!(
            "{ty:<20} {k:>10} {:>6.1}% {:>12.1} {:>10.1}",
            100.0 * *k as f64 / n as f64,
            *pb as f64 / *k as f64,
            *fb as f64 / *k as f64
        );
    }
    println!(
        "{:<20} {n:>10} {:>7} {:>12.1} {:>10.1}",
        "all",
        "100%",
        p as f64 / n as f64,
        f as f64 / n as f64
    );
}
