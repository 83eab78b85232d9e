//! Machine step (dedupe + apply) on a warm state of 1 M vehicles and 1 M shipments, from
//! records read in place (as they sit in the journal: compact or archived).

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use common::{BATCH, Encoded, Gen, Mix, SHIPMENTS, VEHICLES, warm_machine};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use waybill_core::machine::PREFETCH_AHEAD;
use waybill_core::record::EntryView;

fn bench(c: &mut Criterion) {
    let mut g = Gen::new(17, VEHICLES, SHIPMENTS);
    let mut machine = warm_machine(&mut g);
    let mut group = c.benchmark_group("apply");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(BATCH as u64));
    // Prefetch distance 0 steps plainly; otherwise each step first prefetches the id-index
    // entry of the entry that many places ahead (`Machine::prefetch`).
    for (mix, ahead) in [
        (Mix::Realistic, 0),
        (Mix::Realistic, PREFETCH_AHEAD),
        (Mix::VehiclePosition, 0),
    ] {
        let name = if ahead == 0 {
            mix.name().to_owned()
        } else {
            format!("{}/prefetch {ahead}", mix.name())
        };
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    // Fresh sequences each batch, so that every event is applied.
                    let enc = Encoded::new(&g.entries(mix, BATCH));
                    let views: Vec<EntryView<'_>> = (0..enc.len()).map(|i| enc.view(i)).collect();
                    let t = Instant::now();
                    for (i, v) in views.iter().enumerate() {
                        if ahead > 0
                            && let Some(next) = views.get(i + ahead)
                        {
                            machine.prefetch(*next);
                        }
                        let lsn = machine.lsn() + 1;
                        black_box(machine.step(lsn, 0, *v));
                    }
                    total += t.elapsed();
                }
                total
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
