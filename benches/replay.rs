//! Replay: `JournalReader` scan (CRC) + access + `Machine::step` over a journal of mixed events,
//! pipelined (`replay`: checking and stepping on two threads) and sequential (one thread).

mod common;

use std::time::Duration;

use common::{Gen, write_journal};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use waybill_core::engine::{Until, access_record, replay};
use waybill_core::journal::JournalReader;
use waybill_core::machine::Machine;

const RECORDS: usize = 300_000;

fn bench(c: &mut Criterion) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("j");
    write_journal(&dir, &mut Gen::new(19, 100_000, 100_000), RECORDS);
    let mut group = c.benchmark_group("replay");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(4))
        .throughput(Throughput::Elements(RECORDS as u64));
    group.bench_function("full", |b| {
        b.iter(|| {
            let r = replay(&dir, Until::End).unwrap();
            assert_eq!(r.machine.lsn(), RECORDS as u64);
        })
    });
    // The same work on one thread: checked access then step, record by record.
    group.bench_function("sequential", |b| {
        b.iter(|| {
            let reader = JournalReader::open(&dir).unwrap();
            let mut m = Machine::new();
            for rec in reader.records() {
                let rec = rec.unwrap();
                m.step(
                    rec.lsn,
                    rec.ingest_us,
                    access_record(rec.lsn, rec.kind, rec.payload).unwrap(),
                );
            }
            assert_eq!(m.lsn(), RECORDS as u64);
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
