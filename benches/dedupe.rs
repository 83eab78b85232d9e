//! Dedupe mark over 1 M sources: mostly the next sequence, 1 % arriving one step out of order.

mod common;

use std::hint::black_box;
use std::time::Duration;

use common::{BATCH, Gen};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use waybill_core::dedupe::Dedupe;
use waybill_core::source::SourceId;

const SOURCES: usize = 1_000_000;

fn bench(c: &mut Criterion) {
    let mut g = Gen::new(23, 1, 1);
    let mut dedupe = Dedupe::new();
    let mut next = vec![1u64; SOURCES];
    for (s, n) in next.iter_mut().enumerate() {
        dedupe.mark(SourceId(s as u32), 1);
        *n = 2;
    }
    let mut group = c.benchmark_group("dedupe");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("mark", |b| {
        b.iter_batched(
            || {
                // (source, sequence) pairs: each source's next sequence; 1 % swapped with the one after.
                let mut v = Vec::with_capacity(BATCH);
                while v.len() < BATCH {
                    let s = (g.next_u64() % SOURCES as u64) as usize;
                    let q = next[s];
                    if g.next_u64().is_multiple_of(100) {
                        v.push((s, q + 1));
                        v.push((s, q));
                        next[s] += 2;
                    } else {
                        v.push((s, q));
                        next[s] += 1;
                    }
                }
                v.truncate(BATCH);
                v
            },
            |pairs| {
                for (s, q) in pairs {
                    black_box(dedupe.mark(SourceId(s as u32), q));
                }
            },
            criterion::BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
