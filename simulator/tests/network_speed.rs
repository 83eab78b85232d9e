//! Timing of the network and the oracle at full scale (3 M events, 100 k shipments). Ignored
//! by default; run with
//! `cargo test --release -p waybill-sim --test network_speed -- --ignored --nocapture`.

mod network_support;

use network_support::*;
use std::collections::HashMap;
use std::time::Instant;
use waybill_core::event::{Body, Event};
use waybill_sim::network::{deliver, encode};
use waybill_sim::oracle::expected;
use waybill_sim::world::{World, WorldEvent};

/// `n` events, mostly telematics from 1000 vehicles, the rest about 100 k shipments.
fn big_world(n: usize) -> World {
    let step = 20 * HOUR_US / n as i64;
    let mut next: HashMap<String, u64> = HashMap::new();
    let events = (0..n)
        .map(|i| {
            let k = if i % 10 < 5 { 6 } else { i * 7 % 15 };
            let (body, source) = body(k, i as u64);
            let source = if source.starts_with("fleet/") {
                format!("fleet/veh-{}", i % 1000)
            } else {
                source.to_string()
            };
            let seq = next.entry(source.clone()).or_insert(0);
            *seq += 1;
            let subject = if matches!(body, Body::VehiclePosition { .. }) {
                (i % 1000) as u64
            } else {
                (i as u64 * 7919) % 100_000
            };
            let emit_us = START_US + i as i64 * step;
            WorldEvent {
                emit_us,
                event: Event {
                    id: format!("e{i}"),
                    source,
                    sequence: *seq,
                    time_us: emit_us,
                    subject,
                    correlation_id: None,
                    traceparent: None,
                    body,
                },
            }
        })
        .collect();
    World {
        events,
        facts: Default::default(),
    }
}

#[test]
#[ignore]
fn speed_at_full_scale() {
    let world = big_world(3_000_000);
    let sc = scenario(
        r#"
[[fault]]
kind = "outage"
source = "erp"
from = "10h"
to = "12h"
[[fault]]
kind = "reorder"
source = "fleet"
probability = 0.2
max_delay = "15m"
[[fault]]
kind = "duplicate"
source = "*"
probability = 0.05
[[fault]]
kind = "drop"
source = "fleet"
probability = 0.0001
[[fault]]
kind = "malformed"
source = "*"
probability = 0.001
"#,
    );
    let t = Instant::now();
    let stream = deliver(&world, &sc, 7);
    let deliver_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut out = Vec::with_capacity(1 << 10);
    let mut bytes = 0usize;
    for d in &stream.deliveries {
        out.clear();
        encode(&world, &stream.wire, d, &mut out);
        bytes += out.len();
    }
    let encode_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let want = expected(&world, &stream);
    let oracle_s = t.elapsed().as_secs_f64();
    println!(
        "{} events -> {} deliveries: deliver {deliver_s:.3} s, encode {encode_s:.3} s ({} MB); \
         oracle {} shipments {oracle_s:.3} s",
        world.events.len(),
        stream.deliveries.len(),
        bytes >> 20,
        want.shipments.len()
    );
}
