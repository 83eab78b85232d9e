//! Crashes that lose what was not durable: the writer dies without flushing
//! (`Journal::crash`), then `SimulatedDisk::cut_power` leaves on disk only what the syncs made
//! durable plus whatever the power loss keeps of the rest. Every record that was reported
//! durable survives, the journal opens with a prefix of what was written, and it goes on.

mod journal_util;

use std::path::Path;
use std::sync::Arc;

use journal_util::*;
use proptest::prelude::*;
use waybill_core::journal::clock::ManualClock;
use waybill_core::journal::storage::{PowerLoss, SimulatedDisk};
use waybill_core::journal::{Durability, Journal, JournalEnv, JournalOptions, RecordKind};

#[derive(Clone, Debug)]
enum Op {
    Append(usize),
    Commit,
    Flush,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        10 => (1usize..5000).prop_map(Op::Append),
        2 => Just(Op::Commit),
        1 => Just(Op::Flush),
    ]
}

fn loss() -> impl Strategy<Value = PowerLoss> {
    prop_oneof![
        Just(PowerLoss::DropUnflushed),
        (0usize..40_000).prop_map(|bytes| PowerLoss::KeepFirst { bytes }),
        any::<u64>().prop_map(|seed| PowerLoss::Arbitrary { seed }),
    ]
}

fn durability() -> impl Strategy<Value = Durability> {
    prop_oneof![
        Just(Durability::None),
        Just(Durability::Group),
        Just(Durability::Sync)
    ]
}

fn open_on(dir: &Path, d: Durability, disk: &Arc<SimulatedDisk>) -> Journal {
    let o = JournalOptions {
        group_commit_interval_us: 100,
        ..opts(d)
    };
    Journal::open_with(dir, o, JournalEnv::with_storage(disk.clone()))
        .unwrap()
        .0
}

/// Runs `ops`, crashes, cuts the power; returns the records written, the LSN the writer had
/// reported durable and the LSN the marker held at the crash.
fn run_and_cut(dir: &Path, d: Durability, ops: &[Op], loss: PowerLoss) -> (Vec<Rec>, u64, u64) {
    let disk = Arc::new(SimulatedDisk::new());
    let mut j = open_on(dir, d, &disk);
    let mut model = Vec::new();
    let mut acknowledged = 0;
    for op in ops {
        match op {
            Op::Append(len) => model.extend(append_sizes(&mut j, &[*len])),
            Op::Commit => acknowledged = acknowledged.max(j.commit().unwrap()),
            Op::Flush => acknowledged = acknowledged.max(j.flush().unwrap()),
        }
    }
    acknowledged = acknowledged.max(j.durable_lsn());
    j.crash();
    let marked = durable_of_unchecked(dir);
    assert!(
        marked >= acknowledged,
        "marker {marked} < acknowledged {acknowledged}"
    );
    disk.cut_power(dir, loss).unwrap();
    (model, acknowledged, marked)
}

/// The marker's LSN as stored (the journal is not scanned).
fn durable_of_unchecked(dir: &Path) -> u64 {
    let b = std::fs::read(dir.join(waybill_core::journal::MARKER_FILE_NAME)).unwrap();
    let slot = |at: usize| {
        let write = u64::from_le_bytes(b[at + 16..at + 24].try_into().unwrap());
        let lsn = u64::from_le_bytes(b[at + 24..at + 32].try_into().unwrap());
        (write, lsn)
    };
    slot(0).max(slot(64)).1
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn acknowledged_records_survive_a_power_cut(
        ops in prop::collection::vec(op(), 1..150),
        d in durability(),
        loss in loss(),
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let (model, acknowledged, marked) = run_and_cut(dir, d, &ops, loss);

        let (mut j, rec) = Journal::open(dir, opts(Durability::Sync)).unwrap();
        let kept = rec.records as usize;
        prop_assert!(kept as u64 >= marked, "kept {kept} < durable {marked} (acknowledged {acknowledged})");
        prop_assert!(kept <= model.len());
        if loss == PowerLoss::DropUnflushed {
            prop_assert_eq!(kept as u64, marked);
        }
        prop_assert_eq!(&read_all(dir), &model[..kept].to_vec());
        prop_assert_eq!(j.head_link(), model_head(&model[..kept]));
        let a = j.append(0, RecordKind::ENTRY, b"after the power cut").unwrap();
        prop_assert_eq!(a.lsn, kept as u64 + 1);
        drop(j);
        let report = verify_plain(dir).unwrap();
        prop_assert_eq!((report.records, report.torn_tail), (kept as u64 + 1, None));
    }
}

/// The kernel wrote a later page back but not an earlier one: past the durable point the
/// journal opens, cut at the last intact record before the lost page; the later records are
/// gone (zeroed), and what follows is appended in their place.
#[test]
fn a_lost_page_before_a_kept_one_cuts_at_the_last_intact_record() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let disk = Arc::new(SimulatedDisk::new());
    let mut j = open_on(dir, Durability::None, &disk);
    let mut model = append_sizes(&mut j, &[300; 5]);
    j.flush().unwrap();
    model.extend(append_sizes(&mut j, &[1000; 30]));
    j.wait_written().unwrap(); // written to the file, not made durable
    j.crash();
    let durable = disk.durable_end(0);
    let locs = locate(dir);
    // Lose the second unflushed page, keep everything after it.
    let page = (durable / 4096 + 1) * 4096;
    edit_segment(dir, 0, |b| b[page..page + 4096].fill(0));
    let first_hit = locs.iter().find(|l| l.offset + l.frame_len > page).unwrap();
    assert!(first_hit.lsn > 5 && first_hit.lsn < 30);

    let (_, rec) = Journal::open(dir, opts(Durability::Sync)).unwrap();
    assert_eq!(rec.records, first_hit.lsn - 1);
    let t = rec.torn_tail.unwrap();
    assert_eq!((t.offset, t.lsn), (first_hit.offset as u64, first_hit.lsn));
    assert_eq!(read_all(dir), model[..first_hit.lsn as usize - 1]);
    let bytes = std::fs::read(seg_path(dir, 0)).unwrap();
    assert!(bytes[first_hit.offset..].iter().all(|&b| b == 0));
}

/// A power cut with nothing unflushed changes nothing; with everything unflushed and dropped,
/// only what the durable marker covers remains.
#[test]
fn drop_unflushed_keeps_exactly_the_durable_records() {
    for flushed in [0usize, 7, 40] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let disk = Arc::new(SimulatedDisk::new());
        let mut j = open_on(dir, Durability::None, &disk);
        let mut model = append_sizes(&mut j, &vec![2500; flushed]);
        j.flush().unwrap();
        model.extend(append_sizes(&mut j, &[2500; 40]));
        j.wait_written().unwrap(); // written to the file, not made durable
        j.crash();
        let cut = disk.cut_power(dir, PowerLoss::DropUnflushed).unwrap();
        assert!(cut.pages_lost > 0 && cut.pages_kept == 0, "{cut:?}");
        let (_, rec) = Journal::open(dir, opts(Durability::Sync)).unwrap();
        assert_eq!(rec.records, flushed as u64);
        assert_eq!(read_all(dir), model[..flushed]);
    }
}

/// The power cannot be cut under a live writer (its mappings would still write back).
#[test]
fn cutting_the_power_under_a_live_writer_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let disk = Arc::new(SimulatedDisk::new());
    let j = open_on(tmp.path(), Durability::Sync, &disk);
    assert!(matches!(
        disk.cut_power(tmp.path(), PowerLoss::DropUnflushed),
        Err(waybill_core::journal::JournalError::Locked(_))
    ));
    drop(j);
    disk.cut_power(tmp.path(), PowerLoss::DropUnflushed)
        .unwrap();
}

/// What a power cut can do to a segment a rollover installed and no flush reached yet.
#[derive(Clone, Copy, Debug)]
enum LostRollover {
    /// The header write never reached the disk.
    ZeroHeader,
    /// Part of the header reached it.
    TornHeader,
    /// The rename never reached it: the file is gone.
    Missing,
}

/// A rollover waits for no disk: the new segment's header and name are synced by the next
/// flush. Lost before that flush, in any of the ways above, the segment held no durable
/// record: the journal opens at the durable point, with the segment removed as a torn tail.
#[test]
fn a_rollover_lost_before_its_flush_is_a_torn_tail() {
    for lost in [
        LostRollover::ZeroHeader,
        LostRollover::TornHeader,
        LostRollover::Missing,
    ] {
        for d in [Durability::None, Durability::Group] {
            let tmp = tempfile::tempdir().unwrap();
            let dir = tmp.path();
            let disk = Arc::new(SimulatedDisk::new());
            // A clock that stands still: the group flusher's first tick never comes.
            let env = JournalEnv {
                storage: disk.clone(),
                clock: Arc::new(ManualClock::new()),
            };
            let mut j = Journal::open_with(dir, opts(d), env).unwrap().0;
            let mut model = append_sizes(&mut j, &[2000; 5]);
            j.flush().unwrap();
            // Past the end of segment 0 and into segment 2: two rollovers, nothing flushed.
            model.extend(append_sizes(&mut j, &[3000; 50]));
            j.wait_written().unwrap();
            assert!(seg_path(dir, 2).exists(), "{lost:?} {d:?}: two rollovers");
            j.crash();
            let durable = durable_of(dir).lsn;
            assert_eq!(
                durable, 5,
                "{lost:?} {d:?}: only the flushed records are durable"
            );
            match lost {
                LostRollover::ZeroHeader => edit_segment(dir, 1, |b| b[..64].fill(0)),
                LostRollover::TornHeader => edit_segment(dir, 1, |b| b[8..24].fill(0)),
                LostRollover::Missing => std::fs::remove_file(seg_path(dir, 1)).unwrap(),
            }
            let (_, rec) = Journal::open(dir, opts(Durability::Sync)).unwrap();
            let kept = rec.records as usize;
            assert!(kept as u64 >= durable, "{lost:?} {d:?}: {kept} < {durable}");
            assert_eq!(read_all(dir), model[..kept], "{lost:?} {d:?}");
            assert!(!seg_path(dir, 1).exists() && !seg_path(dir, 2).exists());
        }
    }
}

/// A segment whose records the durable marker covers is never cut: a torn header there is
/// damage, and the journal refuses to open.
#[test]
fn a_torn_header_under_the_durable_point_is_damage() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut j = Journal::open(dir, opts(Durability::Sync)).unwrap().0;
    append_sizes(&mut j, &[3000; 30]);
    j.flush().unwrap();
    drop(j);
    assert!(seg_path(dir, 1).exists());
    let first_lsn_of_1 = locate(dir).iter().find(|l| l.segment == 1).unwrap().lsn;
    edit_segment(dir, 1, |b| b[8..24].fill(0));
    let opened = Journal::open(dir, opts(Durability::Sync)).map(|(_, rec)| rec);
    assert_corrupt(opened, 1, 0, first_lsn_of_1);
}
