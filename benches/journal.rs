//! Journal append, durability none, real entry payloads (96-200 bytes) into pre-faulted
//! segments (the next segment is prepared in the background, as in production): frame, CRC,
//! XXH3 chain link and copy, all on the writer.

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use common::{BATCH, Encoded, Gen, Mix, T0_US, bench_journal_options};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use waybill_core::journal::Journal;

/// Records appended to one journal before it is thrown away (keeps disk use bounded).
const RECORDS_PER_JOURNAL: u64 = 1_000_000;

fn bench(c: &mut Criterion) {
    let entries = Gen::new(13, 100_000, 100_000).entries(Mix::Realistic, BATCH);
    let enc = Encoded::new(&entries);
    let mean: usize = (0..enc.len()).map(|i| enc.payload(i).len()).sum::<usize>() / enc.len();
    eprintln!("journal bench: mean payload {mean} bytes");
    let tmp = tempfile::tempdir().unwrap();
    let mut round = 0u32;
    let open = |round: &mut u32| {
        *round += 1;
        let dir = tmp.path().join(format!("j{round}"));
        Journal::open(&dir, bench_journal_options()).unwrap().0
    };
    let mut journal = Some(open(&mut round));

    let mut group = c.benchmark_group("journal");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("append", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                if journal.as_ref().unwrap().last_lsn() >= RECORDS_PER_JOURNAL {
                    let old = journal.take().unwrap();
                    let dir = old.dir().to_owned();
                    drop(old);
                    std::fs::remove_dir_all(dir).unwrap();
                    journal = Some(open(&mut round));
                }
                let j = journal.as_mut().unwrap();
                let t = Instant::now();
                for i in 0..enc.len() {
                    let a = j.append(T0_US, enc.kinds[i], enc.payload(i));
                    black_box(a.unwrap().lsn);
                }
                total += t.elapsed();
            }
            total
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
