//! Decode: one CloudEvents JSON line -> `Entry`, per type mix.

mod common;

use std::hint::black_box;
use std::time::Duration;

use common::{BATCH, Gen, Mix};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use waybill_core::decode::decode;
use waybill_core::encode::encode_event;

fn lines(mix: Mix) -> Vec<Vec<u8>> {
    let mut g = Gen::new(7, 100_000, 100_000);
    (0..BATCH)
        .map(|_| {
            let mut out = Vec::new();
            encode_event(&g.event(mix), &mut out);
            out
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Elements(BATCH as u64));
    for mix in [
        Mix::Realistic,
        Mix::VehiclePosition,
        Mix::OrderCreated,
        Mix::ChargeAdded,
    ] {
        let lines = lines(mix);
        group.bench_function(mix.name(), |b| {
            b.iter(|| {
                for l in &lines {
                    black_box(decode(black_box(l)));
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
