//! The whole path: a world through every fault, on the wire, decoded and ingested by the real
//! core. The core's counters must equal what the network injected, and every shipment must
//! equal the oracle's ground truth.

mod network_support;

use network_support::*;
use waybill_core::decode::decode;
use waybill_core::engine::Core;
use waybill_core::event::DeadLetterReason;
use waybill_core::journal::{Durability, JournalOptions};
use waybill_sim::network::{deliver, encode};
use waybill_sim::oracle::expected;

#[test]
fn the_core_sees_exactly_what_the_network_injected_and_the_oracle_expects() {
    let world = world(30_000);
    let sc = scenario(
        r#"
[[fault]]
kind = "outage"
source = "erp"
from = "2h"
to = "4h"
[[fault]]
kind = "reorder"
source = "*"
probability = 0.3
max_delay = "2h"
[[fault]]
kind = "duplicate"
source = "*"
probability = 0.05
[[fault]]
kind = "drop"
source = "*"
probability = 0.02
[[fault]]
kind = "malformed"
source = "*"
probability = 0.02
"#,
    );
    let stream = deliver(&world, &sc, 2026);
    let dir = tempfile::tempdir().unwrap();
    let opts = JournalOptions {
        segment_bytes: 16 << 20,
        durability: Durability::None,
        ..Default::default()
    };
    let mut core = Core::open(dir.path(), opts).unwrap();
    let mut line = Vec::new();
    let mut batch = Vec::new();
    for chunk in stream.deliveries.chunks(512) {
        batch.clear();
        for d in chunk {
            line.clear();
            encode(&world, &stream.wire, d, &mut line);
            batch.push(decode(&line));
        }
        core.ingest(&batch, chunk[0].arrival_us).unwrap();
    }
    let m = core.machine();
    let summary = m.summary();
    let inj = &stream.injected;
    assert_eq!(summary.received, stream.deliveries.len() as u64);
    assert_eq!(
        summary.received,
        summary.applied + summary.duplicates + summary.dead_lettered
    );
    assert_eq!(summary.applied, world.events.len() as u64 - inj.dropped);
    assert_eq!(summary.duplicates, inj.duplicates);
    let reasons: Vec<u64> = DeadLetterReason::ALL
        .iter()
        .map(|r| m.counters().dead_letter_reasons[r.index()])
        .collect();
    assert_eq!(reasons, inj.malformed.to_vec());
    assert_eq!(summary.missing, u128::from(inj.dropped_detectable));
    assert!(inj.dropped_detectable > 0 && inj.reordered > 0 && inj.held_by_outage > 0);

    let want = expected(&world, &stream);
    let ids = m.state().shipment_ids();
    assert_eq!(ids, want.shipments.keys().copied().collect::<Vec<_>>());
    for id in ids {
        let view = m.state().shipment_view(id, m.sources()).unwrap();
        let diff = want.shipments[&id].diff(&view);
        assert!(diff.is_empty(), "shipment {id}: {diff:#?}");
    }
    // Money per currency, never added across currencies: the core's totals equal the
    // ground truth's.
    let totals: Vec<(&str, [i128; 3])> = summary
        .totals
        .iter()
        .map(|(k, t)| {
            (
                k.as_str(),
                [t.billed_cents, t.expected_detention_cents, t.leakage_cents],
            )
        })
        .collect();
    let want_totals: Vec<(&str, [i128; 3])> = want
        .by_currency
        .iter()
        .map(|(k, c)| {
            (
                k.as_str(),
                [c.billed_cents, c.expected_detention_cents, c.leakage_cents],
            )
        })
        .collect();
    assert_eq!(totals, want_totals);
    assert!(want_totals.len() >= 2, "EUR and USD: {want_totals:?}");
    assert_eq!(summary.leaking_shipments, want.leaking_shipments);
}
