//! A core that keeps effects: each batch's effects reach the effect log, equal to what a replay
//! of the journal derives; after a crash that took effects (or records), starting effects again
//! cuts what has no record and derives again what is missing; SLA targets are journaled.

use std::path::Path;
use waybill_core::decode::decode;
use waybill_core::effect::rederive_effects;
use waybill_core::engine::Core;
use waybill_core::event::{Entry, Settings};
use waybill_core::journal::{Durability, JournalOptions};
use waybill_core::outbox::{EffectLog, effects_dir};

const DAY: &str = include_str!("../../examples/day.jsonl");

fn opts() -> JournalOptions {
    JournalOptions {
        segment_bytes: 64 * 1024,
        durability: Durability::None,
        ..Default::default()
    }
}

fn entries() -> Vec<Entry> {
    DAY.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| decode(l.as_bytes()))
        .collect()
}

/// Ingests `entries` in batches of 50, one ingest time per batch.
fn ingest(core: &mut Core, entries: &[Entry]) {
    for (i, batch) in entries.chunks(50).enumerate() {
        core.ingest(batch, 1_800_000_000_000_000 + i as i64 * 60_000_000)
            .unwrap();
    }
}

/// (seq, key, type, cause_lsn, time) of every effect in the log.
fn logged(dir: &Path) -> Vec<(u64, String, String, u64, i64)> {
    let log = EffectLog::open(dir).unwrap();
    let mut out = Vec::new();
    for seq in 1..=log.last_seq() {
        let e = log.read(seq).unwrap().expect("every seq is in the log");
        out.push((
            e.seq,
            e.key.to_hex(),
            e.effect_type.to_string(),
            e.cause_lsn,
            e.time_us,
        ));
    }
    out
}

/// The same, as a read-only replay of the journal derives them.
fn replayed(dir: &Path, lsn: u64) -> Vec<(u64, String, String, u64, i64)> {
    let mut out = Vec::new();
    rederive_effects(dir, 0, lsn, |buf, _| {
        for e in buf.effects() {
            out.push((
                e.seq,
                e.key.to_hex(),
                e.effect_type.to_string(),
                e.cause_lsn,
                e.time_us,
            ));
        }
        Ok(())
    })
    .unwrap();
    out
}

#[test]
fn the_log_holds_every_effect_a_replay_derives() {
    let dir = tempfile::tempdir().unwrap();
    let mut core = Core::open(dir.path(), opts()).unwrap();
    assert_eq!(core.start_effects().unwrap().effect_seq, 0);
    ingest(&mut core, &entries());
    let lsn = core.machine().lsn();
    let effects = core.machine().effect_seq();
    core.close().unwrap();
    let log = logged(dir.path());
    assert!(effects > 20, "a day derives effects ({effects})");
    assert_eq!(log.len() as u64, effects);
    assert_eq!(log, replayed(dir.path(), lsn));
    let types: std::collections::BTreeSet<&str> = log.iter().map(|e| e.2.as_str()).collect();
    for t in [
        "billing.delivery_confirmed",
        "alert.gap",
        "alert.late_delivery",
    ] {
        assert!(types.contains(t), "{t} in {types:?}");
    }
}

/// A clock that goes back: the journal keeps ingest times monotonic, and the effects (their
/// `time`, and proof-of-delivery breaches) follow the journaled times, as a replay sees them.
#[test]
fn effects_follow_the_journaled_ingest_time_when_the_clock_goes_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut core = Core::open(dir.path(), opts()).unwrap();
    core.start_effects().unwrap();
    let targets = Settings {
        pod_propagation_min: Some(1),
        ..Settings::default()
    };
    core.set_settings(targets, 1_900_000_000_000_000).unwrap();
    for (i, batch) in entries().chunks(50).enumerate() {
        core.ingest(batch, 1_800_000_000_000_000 - i as i64 * 60_000_000)
            .unwrap();
    }
    let lsn = core.machine().lsn();
    core.close().unwrap();
    let log = logged(dir.path());
    assert!(
        log.iter().all(|e| e.4 == 1_900_000_000_000_000),
        "the journaled time"
    );
    assert_eq!(log, replayed(dir.path(), lsn));
}

#[test]
fn starting_again_derives_what_the_log_lost_and_cuts_what_has_no_record() {
    type Damage = fn(&Path);
    let cases: &[(&str, Damage)] = &[
        ("the log lost its tail", |dir| {
            let seg = only_segment(dir);
            let len = std::fs::metadata(&seg).unwrap().len();
            let f = std::fs::OpenOptions::new().write(true).open(&seg).unwrap();
            f.set_len(len * 2 / 3).unwrap();
        }),
        ("the log is gone", |dir| {
            std::fs::remove_dir_all(effects_dir(dir)).unwrap()
        }),
        ("nothing was lost", |_| {}),
    ];
    for (what, damage) in cases {
        let dir = tempfile::tempdir().unwrap();
        let all = entries();
        let mut core = Core::open(dir.path(), opts()).unwrap();
        core.start_effects().unwrap();
        ingest(&mut core, &all[..all.len() / 2]);
        core.snapshot(2).unwrap();
        ingest(&mut core, &all[all.len() / 2..]);
        core.crash();
        damage(dir.path());
        let mut core = Core::open(dir.path(), opts()).unwrap();
        let lsn = core.machine().lsn();
        let started = core.start_effects().unwrap();
        assert_eq!(started.effect_seq, core.machine().effect_seq(), "{what}");
        assert_eq!(started.rederived > 0, *what != "nothing was lost", "{what}");
        core.close().unwrap();
        assert_eq!(logged(dir.path()), replayed(dir.path(), lsn), "{what}");
    }
}

fn only_segment(dir: &Path) -> std::path::PathBuf {
    let mut segs: Vec<_> = std::fs::read_dir(effects_dir(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "efx"))
        .collect();
    segs.sort();
    segs.pop().expect("a log segment")
}

#[test]
fn effects_of_records_a_crash_cut_are_cut_from_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let all = entries();
    let mut core = Core::open(dir.path(), opts()).unwrap();
    core.start_effects().unwrap();
    ingest(&mut core, &all);
    let full = core.machine().effect_seq();
    core.close().unwrap();
    // A replay of a shorter journal: open a copy whose journal ends earlier.
    let log = logged(dir.path());
    let (_, _, _, mid_lsn, _) = log[log.len() / 2];
    let mut log_file = EffectLog::open(dir.path()).unwrap();
    let cut = log_file.truncate_after_lsn(mid_lsn).unwrap();
    assert!(cut > 0 && cut < full);
    assert!(log_file.last_cause_lsn() <= mid_lsn);
}

#[test]
fn sla_targets_are_journaled_and_survive_reopen_and_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let targets = Settings {
        order_to_dispatch_min: Some(240),
        invoice_cycle_min: None,
        pod_propagation_min: Some(30),
    };
    let mut core = Core::open(dir.path(), opts()).unwrap();
    assert!(core.set_settings(targets, 1_800_000_000_000_000).unwrap());
    assert!(
        !core.set_settings(targets, 1_800_000_000_000_000).unwrap(),
        "unchanged: no record"
    );
    assert_eq!(core.machine().lsn(), 1);
    assert_eq!(
        core.machine().counters().received,
        0,
        "a settings record is not an event"
    );
    ingest(&mut core, &entries()[..100]);
    core.snapshot(2).unwrap();
    core.close().unwrap();
    let core = Core::open(dir.path(), opts()).unwrap();
    assert!(core.snapshots().loaded.is_some());
    assert_eq!(core.machine().settings(), targets);
    let m = core.machine();
    assert_eq!(m.counters().received + 1, m.lsn());
}
