//! The core dies without shutdown (`Core::crash`), the power may go with it
//! (`SimulatedDisk::cut_power`), and the producers resend everything not acknowledged: every
//! acknowledged event is still applied after the restart, the live state equals a replay of
//! the journal, and once everything is resent the state is that of a run without crashes.

use std::path::Path;
use std::sync::Arc;

use proptest::prelude::*;
use waybill_core::engine::{Core, Until, replay};
use waybill_core::event::{Body, Entry, Event, GeoPoint};
use waybill_core::journal::storage::{PowerLoss, SimulatedDisk};
use waybill_core::journal::{Durability, JournalOptions};
use waybill_core::machine::Summary;

const T0_US: i64 = 1_795_766_400_000_000;

/// Event `i`: positions of 9 vehicles, each source numbering its own events from 1.
fn event(i: u64) -> Entry {
    let vehicle = i % 9;
    Entry::Event(Event {
        id: format!("p{i}"),
        source: format!("fleet/veh-{vehicle}"),
        sequence: i / 9 + 1,
        time_us: T0_US + i as i64 * 1_000_000,
        subject: vehicle + 1,
        correlation_id: None,
        traceparent: None,
        body: Body::VehiclePosition {
            position: GeoPoint {
                lat_ud: (i as i32) * 100,
                lon_ud: -(i as i32) * 300,
            },
            speed_kph_milli: (i * 4_111 % 120_000) as u32,
            heading_deg: i.is_multiple_of(4).then_some((i % 360) as u16),
            accuracy_mm: None,
        },
    })
}

fn opts(durability: Durability) -> JournalOptions {
    JournalOptions {
        segment_bytes: 64 * 1024,
        durability,
        group_commit_interval_us: 50,
    }
}

#[derive(Clone, Copy, Debug)]
enum Crash {
    Process,
    Power(PowerLoss),
}

fn crash() -> impl Strategy<Value = Crash> {
    prop_oneof![
        Just(Crash::Process),
        Just(Crash::Power(PowerLoss::DropUnflushed)),
        (0usize..20_000).prop_map(|bytes| Crash::Power(PowerLoss::KeepFirst { bytes })),
        any::<u64>().prop_map(|seed| Crash::Power(PowerLoss::Arbitrary { seed })),
    ]
}

/// Sends `n` events in batches of `batch`, crashing after the batches listed in `crashes`;
/// after each crash everything not acknowledged is sent again. Returns the live summary.
fn run(dir: &Path, d: Durability, n: u64, batch: usize, crashes: &[(usize, Crash)]) -> Summary {
    let disk = Arc::new(SimulatedDisk::new());
    let open = || Core::open_with_storage(dir, opts(d), disk.clone()).unwrap();
    let mut core = open();
    // Events up to `acked` (exclusive) are acknowledged; `next` is the next one to send.
    let (mut acked, mut next) = (0u64, 0u64);
    // The greatest LSN the core reported durable (acknowledged).
    let mut acked_lsn = 0u64;
    // LSN -> how many events were sent up to it, to turn a durable LSN into events.
    let mut sent_at_lsn: Vec<(u64, u64)> = Vec::new();
    let mut batches = 0usize;
    while acked < n {
        let end = (next + batch as u64).min(n);
        let entries: Vec<Entry> = (next..end).map(event).collect();
        let report = core.ingest(&entries, T0_US + batches as i64).unwrap();
        next = end;
        sent_at_lsn.push((report.last_lsn, next));
        let durable = if d == Durability::None {
            report.last_lsn // nothing is promised: "acknowledged" is applied
        } else {
            report.durable_lsn.max(core.journal().durable_lsn())
        };
        acked = acked.max(events_up_to(&sent_at_lsn, durable));
        acked_lsn = acked_lsn.max(durable);
        batches += 1;
        if let Some(&(_, how)) = crashes.iter().find(|(at, _)| *at == batches) {
            core.crash();
            if let Crash::Power(loss) = how {
                disk.cut_power(dir, loss).unwrap();
            }
            core = open();
            let kept = core.machine().lsn();
            assert!(
                kept >= acked_lsn,
                "lsn {acked_lsn} was acknowledged, {kept} kept"
            );
            sent_at_lsn.retain(|&(lsn, _)| lsn <= kept);
            next = acked; // the producers resend everything not acknowledged
        } else if next == n {
            let durable = core.flush().unwrap();
            acked = events_up_to(&sent_at_lsn, durable);
        }
    }
    let live = core.machine().summary();
    drop(core);
    assert_eq!(replay(dir, Until::End).unwrap().machine.summary(), live);
    live
}

/// Events sent up to the last batch ending at or below `lsn`.
fn events_up_to(sent_at_lsn: &[(u64, u64)], lsn: u64) -> u64 {
    sent_at_lsn
        .iter()
        .take_while(|&&(l, _)| l <= lsn)
        .last()
        .map_or(0, |&(_, e)| e)
}

fn durability() -> impl Strategy<Value = Durability> {
    prop_oneof![Just(Durability::Group), Just(Durability::Sync)]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn crashes_lose_nothing_acknowledged_and_end_as_a_clean_run(
        d in durability(),
        batch in 1usize..200,
        crashes in prop::collection::vec((1usize..40, crash()), 0..6),
    ) {
        let n = 1_500u64;
        let tmp = tempfile::tempdir().unwrap();
        let clean = run(&tmp.path().join("clean"), d, n, batch, &[]);
        let crashed = run(&tmp.path().join("crashed"), d, n, batch, &crashes);
        prop_assert_eq!(&crashed.digest, &clean.digest);
        prop_assert_eq!(crashed.applied, n);
        prop_assert_eq!(clean.applied, n);
        prop_assert_eq!(crashed.received, crashed.applied + crashed.duplicates);
        prop_assert_eq!(crashed.missing, 0);
    }
}
