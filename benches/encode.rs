//! rkyv encode of an `Entry` into a reused aligned buffer.

mod common;

use std::hint::black_box;
use std::time::Duration;

use common::{BATCH, Gen, Mix};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rkyv::rancor;
use rkyv::util::AlignedVec;

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Elements(BATCH as u64));
    for mix in [Mix::Realistic, Mix::VehiclePosition] {
        let entries = Gen::new(11, 100_000, 100_000).entries(mix, BATCH);
        let mut buf = AlignedVec::<16>::new();
        group.bench_function(mix.name(), |b| {
            b.iter(|| {
                for e in &entries {
                    buf.clear();
                    buf = rkyv::api::high::to_bytes_in::<_, rancor::Error>(
                        e,
                        std::mem::take(&mut buf),
                    )
                    .unwrap();
                    black_box(buf.len());
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
