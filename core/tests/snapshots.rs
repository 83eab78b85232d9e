//! Snapshots: snapshot + tail equals a full replay (property); a damaged, cut-off, misnamed
//! or foreign snapshot is skipped with a warning and the next older one (or a full replay) is
//! used; a write interrupted at any byte leaves the previous snapshots in charge.

mod state_support;

use proptest::prelude::*;
use state_support::*;
use std::fs;
use std::path::{Path, PathBuf};
use waybill_core::engine::{Core, Until, replay, replay_with};
use waybill_core::event::{Entry, EventType};
use waybill_core::journal::{Durability, JournalOptions};
use waybill_core::machine::Machine;
use waybill_core::snapshot::{self, snapshot_dir, snapshot_file_name};

/// Everything a user can see of a machine: views of every shipment and vehicle, the digest,
/// the counters, the gaps per source by name, the totals.
fn seen(m: &Machine) -> String {
    let s = m.state();
    let mut out: Vec<String> = s
        .shipment_ids()
        .into_iter()
        .map(|id| serde_json::to_string(&s.shipment_view(id, m.sources()).unwrap()).unwrap())
        .collect();
    out.extend(
        s.vehicle_ids()
            .into_iter()
            .map(|id| serde_json::to_string(&s.vehicle_view(id).unwrap()).unwrap()),
    );
    let mut gaps: Vec<String> = m
        .dedupe()
        .gaps()
        .into_iter()
        .map(|g| {
            format!(
                "{}:{}:{:?}",
                m.sources().name(g.source),
                g.missing,
                g.ranges
            )
        })
        .collect();
    gaps.sort();
    out.push(format!("{:?}", m.counters()));
    out.push(format!("{:?}", gaps));
    out.push(m.digest().to_string());
    out.push(serde_json::to_string(&m.summary()).unwrap());
    out.push(m.dedupe().missing_total().to_string());
    out.join("\n")
}

/// The machine a full replay of the journal in `dir` builds (no snapshot used).
fn full_replay(dir: &Path) -> Machine {
    let r = replay_with(dir, Until::End, |_| {}).unwrap();
    assert!(r.snapshots.loaded.is_none());
    r.machine
}

/// Entries: events in a shuffled order with redeliveries and dead letters mixed in.
fn entries() -> impl Strategy<Value = Vec<Entry>> {
    (
        event_set(),
        prop::collection::vec(any::<bool>(), 1..6),
        0..5usize,
    )
        .prop_flat_map(|(evs, mask, dead)| {
            let mut all: Vec<Entry> = evs.iter().cloned().map(Entry::Event).collect();
            all.extend(
                evs.iter()
                    .zip(mask.iter().cycle())
                    .filter(|(_, d)| **d)
                    .map(|(e, _)| Entry::Event(e.clone())),
            );
            all.extend((0..dead).map(dead_letter));
            Just(all).prop_shuffle()
        })
}

/// Ingests `entries` into `dir` in batches of 5, taking a snapshot after each LSN in `at`.
fn ingest_with_snapshots(dir: &Path, entries: &[Entry], at: &[usize]) -> Core {
    let mut core = Core::open(dir, opts()).unwrap();
    let mut done = 0;
    for &cut in at.iter().chain([&entries.len()]) {
        for chunk in entries[done..cut].chunks(5) {
            core.ingest(chunk, 1_000 + done as i64).unwrap();
        }
        done = cut;
        if cut < entries.len() || at.contains(&cut) {
            let (_, lsn) = core.snapshot(8).unwrap();
            assert_eq!(lsn, cut as u64);
        }
    }
    core
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    /// For any input and any snapshot LSN: open (snapshot + tail), a read-only replay (snapshot
    /// + tail) and a point-in-time replay on either side of the snapshot equal a full replay.
    #[test]
    fn snapshot_plus_tail_equals_full_replay(all in entries(), cut in any::<prop::sample::Index>(), probe in any::<prop::sample::Index>()) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("j");
        let k = cut.index(all.len() + 1);
        let live = seen(ingest_with_snapshots(&dir, &all, &[k]).machine());
        let full = full_replay(&dir);
        prop_assert_eq!(&seen(&full), &live);

        let reopened = Core::open(&dir, opts()).unwrap();
        prop_assert_eq!(reopened.snapshots().loaded.as_ref().map(|l| l.1), Some(k as u64), "{:?}", reopened.snapshots());
        prop_assert_eq!(reopened.snapshots().replayed, (all.len() - k) as u64);
        prop_assert_eq!(&seen(reopened.machine()), &live);
        drop(reopened);

        let read = replay(&dir, Until::End).unwrap();
        prop_assert!(read.snapshots.skipped.is_empty());
        prop_assert_eq!(&seen(&read.machine), &live);

        let n = probe.index(all.len() + 1) as u64;
        let at = replay(&dir, Until::Lsn(n)).unwrap();
        let at_full = replay_with(&dir, Until::Lsn(n), |_| {}).unwrap();
        prop_assert_eq!(at.snapshots.loaded.is_some(), n >= k as u64);
        prop_assert_eq!(seen(&at.machine), seen(&at_full.machine));
    }
}

/// A journal of 120 entries with snapshots at LSN 40 and 80.
fn journal_with_two_snapshots(dir: &Path) -> (String, Vec<PathBuf>) {
    let evs = events(
        &(0..100u8)
            .map(|i| Raw {
                kind: i as usize % EventType::ALL.len(),
                subject: u64::from(i % 9) + 1,
                source: i as usize % 3,
                minute: i64::from(i % 4),
                micro: i64::from(i % 2),
                a: i.wrapping_mul(7),
                b: i.wrapping_mul(13),
                c: i.wrapping_mul(29),
            })
            .collect::<Vec<_>>(),
    );
    let mut all: Vec<Entry> = evs.into_iter().map(Entry::Event).collect();
    all.extend((0..20).map(dead_letter));
    let core = ingest_with_snapshots(dir, &all, &[40, 80]);
    let live = seen(core.machine());
    drop(core);
    let files = snapshot::list(dir).unwrap();
    assert_eq!(files.iter().map(|f| f.lsn).collect::<Vec<_>>(), [40, 80]);
    (live, files.into_iter().map(|f| f.path).collect())
}

/// Each way of spoiling the newest snapshot: it is skipped with a warning that names it, the
/// older one is used, and the state is right.
#[test]
fn a_damaged_snapshot_is_skipped_for_the_next_older_one() {
    type Spoil = fn(&Path, &Path);
    let cases: &[(&str, Spoil, &str)] = &[
        ("flipped header byte", |p, _| flip(p, 20), "header checksum"),
        (
            "flipped byte among the first sections",
            |p, _| flip(p, 700),
            "section",
        ),
        (
            "flipped byte in the middle",
            |p, _| flip(p, len(p) / 2),
            "section",
        ),
        (
            "flipped last byte",
            |p, _| flip(p, len(p) - 1),
            "section state.misc",
        ),
        ("cut off", |p, _| cut(p, len(p) / 2), "truncated"),
        ("header only", |p, _| cut(p, 128), "truncated"),
        ("empty", |p, _| cut(p, 0), "shorter than a header"),
        (
            "extended",
            |p, _| append(p, &[0; 64]),
            "truncated or extended",
        ),
        (
            "renamed to another lsn",
            |p, d| rename_lsn(p, d, 81),
            "the header says lsn 80",
        ),
        (
            "of another journal",
            |p, d| foreign(p, d),
            "its record (lsn 80) is not in the journal",
        ),
        (
            "not a snapshot",
            |p, _| fs::write(p, b"hello").unwrap(),
            "shorter than a header",
        ),
    ];
    for (name, spoil, why) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("j");
        let (live, files) = journal_with_two_snapshots(&dir);
        spoil(&files[1], &dir);
        let core = Core::open(&dir, opts()).unwrap();
        let used = core.snapshots();
        assert_eq!(used.loaded.as_ref().map(|l| l.1), Some(40), "{name}");
        assert_eq!(used.skipped.len(), 1, "{name}: {:?}", used.skipped);
        let skipped = &used.skipped[0];
        assert!(skipped.why.contains(why), "{name}: {}", skipped.why);
        assert!(
            skipped.why.contains(".snap"),
            "{name}: names the file: {}",
            skipped.why
        );
        assert_eq!(seen(core.machine()), live, "{name}");
        drop(core);
        let read = replay(&dir, Until::End).unwrap();
        assert_eq!(read.snapshots.skipped.len(), 1, "{name}");
        assert_eq!(seen(&read.machine), live, "{name}");
    }
}

/// With every snapshot spoiled, opening replays the whole journal.
#[test]
fn with_no_usable_snapshot_the_whole_journal_is_replayed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("j");
    let (live, files) = journal_with_two_snapshots(&dir);
    for f in &files {
        flip(f, 300);
    }
    let core = Core::open(&dir, opts()).unwrap();
    assert!(core.snapshots().loaded.is_none());
    assert_eq!(core.snapshots().skipped.len(), 2);
    assert_eq!(core.snapshots().replayed, 120);
    assert_eq!(seen(core.machine()), live);
}

/// A snapshot write stopped at any byte: what it left (a temporary file of that prefix, or,
/// had the rename come first, the final name holding it) never replaces the snapshot before;
/// the next writer's open clears the leftover.
#[test]
fn a_snapshot_write_interrupted_anywhere_leaves_the_previous_one() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("j");
    let (live, files) = journal_with_two_snapshots(&dir);
    let whole = fs::read(&files[1]).unwrap();
    fs::remove_file(&files[1]).unwrap();
    let step = (whole.len() / 97).max(1);
    let cuts: Vec<usize> = (0..whole.len())
        .step_by(step)
        .chain([whole.len() - 1])
        .collect();
    for &at in &cuts {
        for final_name in [false, true] {
            let name = snapshot_file_name(80);
            let path = match final_name {
                true => snapshot_dir(&dir).join(&name),
                false => snapshot_dir(&dir).join(format!("{name}.tmp")),
            };
            fs::write(&path, &whole[..at]).unwrap();
            let read = replay(&dir, Until::End).unwrap();
            assert_eq!(
                read.snapshots.loaded.as_ref().map(|l| l.1),
                Some(40),
                "cut at {at}"
            );
            assert_eq!(
                read.snapshots.skipped.len(),
                usize::from(final_name),
                "cut at {at}"
            );
            assert_eq!(seen(&read.machine), live, "cut at {at}");
            fs::remove_file(&path).unwrap();
        }
    }
    // A leftover temporary file is removed by the next writer's open.
    let leftover = snapshot_dir(&dir).join("00000000000000000080.snap.1-0.tmp");
    fs::write(&leftover, b"x").unwrap();
    drop(Core::open(&dir, opts()).unwrap());
    let names: Vec<String> = fs::read_dir(snapshot_dir(&dir))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| n.ends_with(".snap")), "{names:?}");
}

/// Only the newest `keep` snapshots stay.
#[test]
fn only_the_newest_snapshots_are_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("j");
    let mut core = Core::open(&dir, opts()).unwrap();
    for i in 0..5usize {
        core.ingest(&[dead_letter(i)], 1_000).unwrap();
        core.snapshot(2).unwrap();
    }
    let lsns: Vec<u64> = snapshot::list(&dir)
        .unwrap()
        .iter()
        .map(|f| f.lsn)
        .collect();
    assert_eq!(lsns, [4, 5]);
}

fn len(p: &Path) -> usize {
    fs::metadata(p).unwrap().len() as usize
}

fn flip(p: &Path, at: usize) {
    let mut b = fs::read(p).unwrap();
    b[at] ^= 0x10;
    fs::write(p, b).unwrap();
}

fn cut(p: &Path, to: usize) {
    let b = fs::read(p).unwrap();
    fs::write(p, &b[..to]).unwrap();
}

fn append(p: &Path, more: &[u8]) {
    let mut b = fs::read(p).unwrap();
    b.extend_from_slice(more);
    fs::write(p, b).unwrap();
}

fn rename_lsn(p: &Path, dir: &Path, lsn: u64) {
    fs::rename(p, snapshot_dir(dir).join(snapshot_file_name(lsn))).unwrap();
    // Keep a file at the spoiled name's place too: the list shows 40 and 81.
}

/// Replaces the snapshot at 80 with one of another journal at the same LSN.
fn foreign(p: &Path, _dir: &Path) {
    let tmp = tempfile::tempdir().unwrap();
    let other = tmp.path().join("other");
    let all: Vec<Entry> = (0..80).map(|i| dead_letter(i + 1)).collect();
    drop(ingest_with_snapshots(&other, &all, &[80]));
    let theirs = snapshot::list(&other).unwrap();
    fs::copy(&theirs.last().unwrap().path, p).unwrap();
}

/// Rewrites the first record of section `tag` of a snapshot at byte `at` of the record,
/// keeping every checksum valid (a snapshot that reads fine but is not what its journal says).
fn forge(p: &Path, tag: &str, at: usize) {
    let mut b = fs::read(p).unwrap();
    let mut pos = 128;
    loop {
        let h = &b[pos..pos + 64];
        let name = String::from_utf8_lossy(&h[..16])
            .trim_end_matches('\0')
            .to_owned();
        let elem = u32::from_le_bytes(h[16..20].try_into().unwrap()) as usize;
        let count = u64::from_le_bytes(h[24..32].try_into().unwrap()) as usize;
        let start = pos + 64;
        if name == tag {
            assert!(
                count > 0 && at < elem,
                "section {tag} has a record to forge"
            );
            b[start + at] ^= 0x01;
            let crc = crc32c::crc32c(&b[start..start + elem * count]);
            b[pos + 32..pos + 36].copy_from_slice(&crc.to_le_bytes());
            let hcrc = crc32c::crc32c(&b[pos..pos + 60]);
            b[pos + 60..pos + 64].copy_from_slice(&hcrc.to_le_bytes());
            fs::write(p, b).unwrap();
            return;
        }
        pos = start + (elem * count).next_multiple_of(64);
    }
}

/// `verify_snapshots` passes snapshots that hold what a replay builds and names the one whose
/// content disagrees with its journal though every checksum holds (which opening cannot see).
#[test]
fn verify_names_a_snapshot_whose_content_disagrees_with_its_journal() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("j");
    let (_, files) = journal_with_two_snapshots(&dir);
    let checks = waybill_core::engine::verify_snapshots(&dir).unwrap();
    assert_eq!(checks.len(), 2);
    assert!(checks.iter().all(|c| c.problem.is_none()), "{checks:?}");

    // The last 4 bytes of a 92-byte shipment record: its weight.
    forge(&files[1], "shipments", 88);
    let opened = Core::open(&dir, opts()).unwrap();
    assert_eq!(opened.snapshots().loaded.as_ref().map(|l| l.1), Some(80));
    drop(opened);
    let checks = waybill_core::engine::verify_snapshots(&dir).unwrap();
    assert!(checks[0].problem.is_none());
    let problem = checks[1].problem.as_deref().expect("the forged one fails");
    assert!(problem.contains("differs from a replay"), "{problem}");

    // A damaged one fails too, with the reason opening gives.
    flip(&files[0], 20);
    let checks = waybill_core::engine::verify_snapshots(&dir).unwrap();
    assert!(
        checks[0]
            .problem
            .as_deref()
            .unwrap()
            .contains("header checksum")
    );
}

/// With a policy, the writer asks for snapshots off its thread as it goes and writes one at
/// close; the newest `keep` stay, each holds what a replay to its LSN builds, and a reopen
/// starts from the last one.
#[test]
fn a_writer_takes_snapshots_in_the_background_and_at_close() {
    use waybill_core::snapshot::policy::SnapshotPolicy;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("j");
    let sync = JournalOptions {
        durability: Durability::Sync,
        ..opts()
    };
    let mut core = Core::open(&dir, sync.clone()).unwrap();
    core.set_snapshot_policy(SnapshotPolicy {
        every_records: 20,
        on_close_min_records: 1,
        keep: 3,
    });
    let all: Vec<Entry> = (0..150).map(dead_letter).collect();
    for chunk in all.chunks(5) {
        core.ingest(chunk, 1_000).unwrap();
    }
    let live = seen(core.machine());
    let reports = core.close().unwrap();
    assert!(reports.iter().all(Result::is_ok), "{reports:?}");
    assert_eq!(reports.last().unwrap().as_ref().unwrap().1, 150);
    let lsns: Vec<u64> = snapshot::list(&dir)
        .unwrap()
        .iter()
        .map(|f| f.lsn)
        .collect();
    assert!(lsns.len() <= 3 && lsns.last() == Some(&150), "{lsns:?}");
    let checks = waybill_core::engine::verify_snapshots(&dir).unwrap();
    assert!(checks.iter().all(|c| c.problem.is_none()), "{checks:?}");
    let reopened = Core::open(&dir, sync).unwrap();
    assert_eq!(reopened.snapshots().loaded.as_ref().map(|l| l.1), Some(150));
    assert_eq!(reopened.snapshots().replayed, 0);
    assert_eq!(seen(reopened.machine()), live);
}

/// Opening from a snapshot reads only the segments from the one holding the record after it:
/// damage in an older segment does not stop an open that does not need it (while `verify`,
/// which reads everything, names it), and the state is the full replay's.
#[test]
fn opening_from_a_snapshot_reads_no_segment_before_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("j");
    let all: Vec<Entry> = (0..3_000).map(dead_letter).collect();
    let core = ingest_with_snapshots(&dir, &all, &[2_500]);
    let live = seen(core.machine());
    drop(core);
    let segments: Vec<PathBuf> = {
        let mut s: Vec<PathBuf> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "seg"))
            .collect();
        s.sort();
        s
    };
    assert!(segments.len() >= 5, "{} segments", segments.len());

    let core = Core::open(&dir, opts()).unwrap();
    assert_eq!(core.snapshots().loaded.as_ref().map(|l| l.1), Some(2_500));
    assert!((core.recovery().segments as usize) < segments.len() / 2);
    assert_eq!(seen(core.machine()), live);
    drop(core);

    // A byte of a record in the first segment changes: only what reads it notices.
    flip(&segments[0], 4_096 + 100);
    let core = Core::open(&dir, opts()).unwrap();
    assert_eq!(seen(core.machine()), live);
    drop(core);
    assert_eq!(seen(&replay(&dir, Until::End).unwrap().machine), live);
    assert!(
        replay_with(&dir, Until::End, |_| {}).is_err(),
        "a full replay reads it"
    );
    assert!(
        replay(&dir, Until::Lsn(2_000)).is_err(),
        "so does a replay before the snapshot"
    );
}

fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let mut s: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    s.sort();
    s
}

/// Archive moves the segments wholly before the newest snapshot's and the snapshots before
/// them; the journal then opens, verifies, answers for what it holds and names what it does
/// not; a writer goes on appending to it.
#[test]
fn archive_then_reopen_verify_and_query() {
    use waybill_core::archive::{ArchiveTo, archive};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("j");
    let to = tmp.path().join("archive");
    let all: Vec<Entry> = (0..3_000).map(dead_letter).collect();
    // No snapshot: refused, nothing changed.
    drop(ingest_with_snapshots(&dir, &all[..100], &[]));
    let err = archive(&dir, ArchiveTo::Dir(&to)).unwrap_err();
    assert!(err.to_string().contains("no usable snapshot"), "{err}");
    assert!(!to.exists());
    fs::remove_dir_all(&dir).unwrap();

    let core = ingest_with_snapshots(&dir, &all, &[1_000, 2_500]);
    let live = seen(core.machine());
    // A writer holds the journal: refused.
    assert!(
        archive(&dir, ArchiveTo::Dir(&to))
            .unwrap_err()
            .to_string()
            .contains("locked")
    );
    drop(core);
    let before = segment_files(&dir);
    let report = waybill_core::journal::verify(&dir, &|_, _| Ok(())).unwrap();
    let done = archive(&dir, ArchiveTo::Dir(&to)).unwrap();
    assert_eq!(done.snapshot_lsn, 2_500);
    assert!(!done.segments.is_empty() && done.first_lsn > 1 && done.first_lsn <= 2_501);
    assert_eq!(
        done.snapshots.len(),
        1,
        "the snapshot at 1000 goes with its segments"
    );
    assert_eq!(
        segment_files(&dir).len() + done.segments.len(),
        before.len()
    );
    assert_eq!(segment_files(&to).len(), done.segments.len());
    assert_eq!(snapshot::list(&dir).unwrap().len(), 1);

    // Opens, answers, verifies.
    let core = Core::open(&dir, opts()).unwrap();
    assert_eq!(seen(core.machine()), live);
    drop(core);
    assert_eq!(seen(&replay(&dir, Until::End).unwrap().machine), live);
    let at = replay(&dir, Until::Lsn(2_800)).unwrap();
    assert_eq!(
        seen(&at.machine),
        seen(
            &replay_with(&tmp_copy_full(&dir, &to), Until::Lsn(2_800), |_| {})
                .unwrap()
                .machine
        )
    );
    let err = replay(&dir, Until::Lsn(10))
        .err()
        .expect("lsn 10 is archived");
    assert!(err.to_string().contains("archived"), "{err}");
    let verified = waybill_core::journal::verify(&dir, &|_, _| Ok(())).unwrap();
    assert_eq!(verified.first_lsn, done.first_lsn);
    assert_eq!(verified.head_link, report.head_link, "the same chain head");
    let checks = waybill_core::engine::verify_snapshots(&dir).unwrap();
    assert!(
        checks.iter().all(|c| c.problem.is_none()) && checks[0].base,
        "{checks:?}"
    );
    let visited = replay_with(&dir, Until::End, |v| assert!(v.lsn > 2_500)).unwrap();
    assert_eq!(visited.snapshots.loaded.as_ref().map(|l| l.1), Some(2_500));

    // A writer goes on; archiving again with a newer snapshot moves more.
    let mut core = Core::open(&dir, opts()).unwrap();
    let more: Vec<Entry> = (3_000..4_000).map(dead_letter).collect();
    for chunk in more.chunks(50) {
        core.ingest(chunk, 5_000).unwrap();
    }
    core.snapshot(2).unwrap();
    let live = seen(core.machine());
    drop(core);
    let again = archive(&dir, ArchiveTo::Delete).unwrap();
    assert_eq!(again.snapshot_lsn, 4_000);
    assert!(again.first_lsn > done.first_lsn);
    assert_eq!(seen(Core::open(&dir, opts()).unwrap().machine()), live);
    assert!(waybill_core::journal::verify(&dir, &|_, _| Ok(())).is_ok());
}

/// The journal with its archived segments put back (a copy), for comparing with a full replay.
fn tmp_copy_full(dir: &Path, archived: &Path) -> PathBuf {
    let full = dir.with_extension("full");
    fs::create_dir_all(&full).unwrap();
    for src in [dir, archived] {
        for e in fs::read_dir(src).unwrap() {
            let p = e.unwrap().path();
            if p.is_file() {
                fs::copy(&p, full.join(p.file_name().unwrap())).unwrap();
            }
        }
    }
    full
}

/// A snapshot of records the durable marker does not cover (what a snapshot of written, not yet
/// flushed records is after a crash) is not resumed from: the one before it is.
#[test]
fn a_snapshot_past_the_durable_point_is_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("j");
    let all: Vec<Entry> = (0..150).map(dead_letter).collect();
    let mut core = Core::open(&dir, opts()).unwrap();
    core.ingest(&all[..100], 1_000).unwrap();
    core.snapshot(8).unwrap();
    let marker_at_100 = fs::read(dir.join("DURABLE")).unwrap();
    core.ingest(&all[100..], 2_000).unwrap();
    core.snapshot(8).unwrap();
    let live = seen(core.machine());
    drop(core);
    // The marker as it was when only the first 100 records were durable.
    fs::write(dir.join("DURABLE"), marker_at_100).unwrap();
    let read = replay(&dir, Until::End).unwrap();
    assert_eq!(read.snapshots.loaded.as_ref().map(|l| l.1), Some(100));
    assert_eq!(read.snapshots.skipped.len(), 1);
    assert!(
        read.snapshots.skipped[0].why.contains("durable point"),
        "{:?}",
        read.snapshots.skipped
    );
    assert_eq!(seen(&read.machine), live);
    let core = Core::open(&dir, opts()).unwrap();
    assert_eq!(core.snapshots().loaded.as_ref().map(|l| l.1), Some(100));
    assert_eq!(seen(core.machine()), live);
    drop(core);
    // The writer's open made everything it kept durable: the newest is used again.
    let core = Core::open(&dir, opts()).unwrap();
    assert_eq!(core.snapshots().loaded.as_ref().map(|l| l.1), Some(150));
}

/// A snapshot at any LSN of a journal of many segments (its record anywhere: at a stored link,
/// just after one, first or last in its segment) resumes the journal right after its record
/// and gives the full replay's state; a journal reader resumed there agrees.
#[test]
fn resuming_after_a_snapshot_works_at_every_kind_of_place() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("j");
    let all: Vec<Entry> = (0..2_000).map(dead_letter).collect();
    // Durable (under `none` nothing is until a flush): a snapshot is resumed from only then.
    ingest_with_snapshots(&dir, &all, &[]).flush().unwrap();
    let live = seen(&full_replay(&dir));
    assert!(segment_files(&dir).len() >= 4);
    let mut lsns: Vec<u64> = (1..2_000).step_by(61).collect();
    lsns.extend([1, 15, 16, 17, 31, 32, 33, 1_999, 2_000]);
    // The last record of each segment and the first of the next.
    let reader = waybill_core::journal::JournalReader::open(&dir).unwrap();
    let segs: Vec<(u64, u32)> = reader
        .records()
        .map(|r| r.unwrap())
        .map(|r| (r.lsn, r.segment))
        .collect();
    for w in segs.windows(2).filter(|w| w[0].1 != w[1].1) {
        lsns.extend([w[0].0, w[1].0]);
    }
    drop(reader);
    for lsn in lsns {
        fs::remove_dir_all(snapshot_dir(&dir)).ok();
        let (_, header, _) =
            waybill_core::engine::snapshot_journal(&dir, Until::Lsn(lsn), 1).unwrap();
        assert_eq!(header.lsn, lsn);
        let core = Core::open(&dir, opts()).unwrap();
        assert_eq!(
            core.snapshots().loaded.as_ref().map(|l| l.1),
            Some(lsn),
            "lsn {lsn}: {:?}",
            core.snapshots().skipped
        );
        assert_eq!(core.snapshots().replayed, 2_000 - lsn, "lsn {lsn}");
        assert_eq!(core.journal().first_lsn(), lsn + 1);
        assert_eq!(seen(core.machine()), live, "lsn {lsn}");
        drop(core);
        let read = replay(&dir, Until::End).unwrap();
        assert_eq!(seen(&read.machine), live, "lsn {lsn}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// A replay split by key group gives the machine's digest, counters, gaps and every
    /// shipment's and vehicle's view, whatever the number of groups.
    #[test]
    fn a_replay_by_key_group_equals_the_replay(all in entries(), groups in 1..9usize) {
        use waybill_core::partition::replay_partitioned;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("j");
        drop(ingest_with_snapshots(&dir, &all, &[]));
        let m = full_replay(&dir);
        let p = replay_partitioned(&dir, groups).unwrap();
        prop_assert_eq!(p.digest(), m.digest());
        prop_assert_eq!(p.counters, m.counters());
        prop_assert_eq!(p.lsn, m.lsn());
        prop_assert_eq!(p.dedupe.gaps(), m.dedupe().gaps());
        let shipments: usize = p.groups.iter().map(|g| g.shipment_count()).sum();
        prop_assert_eq!(shipments, m.state().shipment_count());
        for id in m.state().shipment_ids() {
            let g = &p.groups[p.group_of(id, false)];
            prop_assert_eq!(
                serde_json::to_string(&g.shipment_view(id, &p.sources).unwrap()).unwrap(),
                serde_json::to_string(&m.state().shipment_view(id, m.sources()).unwrap()).unwrap()
            );
        }
        for id in m.state().vehicle_ids() {
            let g = &p.groups[p.group_of(id, true)];
            prop_assert_eq!(g.vehicle_view(id), m.state().vehicle_view(id));
        }
    }
}

/// The writer's own snapshots (where it tracks its last record) resume right, at a segment's
/// last record and at the first of a new one: reopened there, the state is the replay's.
#[test]
fn the_writers_snapshots_at_segment_boundaries_resume_right() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("j");
    let mut core = Core::open(&dir, opts()).unwrap();
    let mut segments = segment_files(&dir).len();
    let mut boundaries = 0;
    for i in 0..1_500 {
        core.ingest(&[dead_letter(i)], 1_000 + i as i64).unwrap();
        let now = segment_files(&dir).len();
        // Just rolled (the record is the first of a new segment), or the one after.
        if now != segments || boundaries % 2 == 1 {
            segments = now;
            boundaries += 1;
            let (_, lsn) = core.snapshot(1).unwrap();
            drop(core);
            core = Core::open(&dir, opts()).unwrap();
            assert_eq!(core.snapshots().loaded.as_ref().map(|l| l.1), Some(lsn));
            assert_eq!(seen(core.machine()), seen(&full_replay(&dir)), "lsn {lsn}");
        }
    }
    assert!(boundaries >= 6, "{boundaries} boundaries");
}
