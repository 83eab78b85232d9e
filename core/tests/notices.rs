//! A cluster's notices (`Entry::Notice`): a key group's journal derives no gap of its own and
//! lists none, a gap notice derives the same `alert.gap` a single journal derives, a notice
//! where it does not belong is refused before anything is journaled, and a snapshot keeps
//! the key group.

use waybill_core::decode::decode;
use waybill_core::effect::EffectBuf;
use waybill_core::engine::{Core, Until, replay};
use waybill_core::event::{Entry, GapNotice, KeyGroup, Notice};
use waybill_core::journal::JournalOptions;
use waybill_core::machine::Machine;
use waybill_core::record::{encode_entry, read};
use waybill_core::{EffectType, ErrorKind};

/// A position of `fleet/truck-5` with sequence `seq`.
fn position(seq: u64) -> Entry {
    let json = format!(
        r#"{{"specversion":"1.0","id":"p-{seq}","source":"fleet/truck-5","sequence":"{seq}","type":"vehicle.position","time":"2026-11-27T06:30:00Z","subject":"vehicle/5","data":{{"lat":52.05,"lon":4.32,"speed_kph":84.2}}}}"#
    );
    let e = decode(json.as_bytes());
    assert!(matches!(e, Entry::Event(_)), "{e:?}");
    e
}

fn key_group() -> Entry {
    Entry::Notice(Notice::KeyGroup(KeyGroup {
        group: 3,
        groups: 8,
    }))
}

fn gap(source: &str, first: u64, last: u64) -> Entry {
    Entry::Notice(Notice::Gap(GapNotice {
        source: source.to_owned(),
        first,
        last,
    }))
}

/// Steps `entries` through a machine that collects effects; the gap effects' keys (hex).
fn gap_keys(entries: &[Entry]) -> (Machine, Vec<String>) {
    let mut m = Machine::new();
    m.collect_effects(true);
    let mut keys = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let (buf, kind) = encode_entry(entry, Default::default()).unwrap();
        m.step(i as u64 + 1, 0, read(kind, &buf).unwrap());
        let mut out = EffectBuf::new();
        m.take_effects(&mut out);
        keys.extend(
            out.effects()
                .iter()
                .filter(|e| e.effect_type == EffectType::AlertGap)
                .map(|e| e.key.to_hex()),
        );
    }
    (m, keys)
}

#[test]
fn a_key_group_takes_its_gaps_from_notices_and_derives_the_same_effect() {
    // A single journal: sequence 5 after 1 opens the gap 2..=4.
    let (single, single_keys) = gap_keys(&[position(1), position(5)]);
    assert_eq!(single_keys.len(), 1);
    assert_eq!(single.summary().missing, 3);
    // A key group sees the same events, with no gap of its own, and then the sequencer's notice.
    let (quiet, none) = gap_keys(&[key_group(), position(1), position(5)]);
    assert!(none.is_empty(), "a key group derived a gap itself");
    assert_eq!(quiet.summary().missing, 0);
    assert!(quiet.summary().gaps.is_empty());
    assert_eq!(quiet.key_group(), Some((3, 8)));
    let (kg, kg_keys) = gap_keys(&[
        key_group(),
        position(1),
        gap("fleet/truck-5", 2, 4),
        position(5),
    ]);
    assert_eq!(
        kg_keys, single_keys,
        "the notice's effect key differs from the single journal's"
    );
    // Notices are not events: counted nowhere, and the state is the single journal's.
    assert_eq!(kg.counters().received, 2);
    assert_eq!(kg.digest(), single.digest());
}

#[test]
fn a_notice_out_of_place_is_refused_and_nothing_is_journaled() {
    // (what the journal holds first, the refused entry, a word of the error)
    let cases: Vec<(Vec<Entry>, Entry, &str)> = vec![
        (
            vec![],
            gap("fleet/truck-5", 2, 4),
            "key group's journal only",
        ),
        (vec![key_group()], key_group(), "first record"),
        (vec![position(1)], key_group(), "first record"),
        (
            vec![],
            Entry::Notice(Notice::KeyGroup(KeyGroup {
                group: 8,
                groups: 8,
            })),
            "key group 8 of 8",
        ),
        (
            vec![],
            Entry::Notice(Notice::KeyGroup(KeyGroup {
                group: 0,
                groups: 0,
            })),
            "key group 0 of 0",
        ),
        (
            vec![],
            Entry::Notice(Notice::KeyGroup(KeyGroup {
                group: 0,
                groups: 5000,
            })),
            "groups must be",
        ),
        (
            vec![key_group()],
            gap("fleet/truck-5", 0, 4),
            "sequences start at 1",
        ),
        (
            vec![key_group()],
            gap("fleet/truck-5", 5, 4),
            "first <= last",
        ),
        (vec![key_group()], gap("nowhere", 1, 1), "source"),
    ];
    for (before, refused, word) in cases {
        let dir = tempfile::tempdir().unwrap();
        let mut core = Core::open(dir.path(), JournalOptions::default()).unwrap();
        for e in &before {
            core.submit(e, 0).unwrap();
        }
        let lsn = core.machine().lsn();
        let err = core.submit(&refused, 0).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BadInput, "{refused:?}");
        assert!(err.to_string().contains(word), "{refused:?}: {err}");
        assert_eq!(core.machine().lsn(), lsn, "{refused:?} was journaled");
        let err = core.ingest([&refused], 0).unwrap_err();
        assert_eq!(
            err.kind(),
            ErrorKind::BadInput,
            "{refused:?} through ingest"
        );
        assert_eq!(core.machine().lsn(), lsn);
    }
}

#[test]
fn a_snapshot_keeps_the_key_group() {
    let dir = tempfile::tempdir().unwrap();
    let mut core = Core::open(dir.path(), JournalOptions::default()).unwrap();
    core.submit(&key_group(), 0).unwrap();
    core.ingest(
        [&position(1), &gap("fleet/truck-5", 2, 9), &position(10)],
        0,
    )
    .unwrap();
    core.snapshot(2).unwrap();
    core.close().unwrap();
    let mut core = Core::open(dir.path(), JournalOptions::default()).unwrap();
    assert_eq!(
        core.snapshots().loaded.as_ref().map(|s| s.1),
        Some(4),
        "opened from the snapshot"
    );
    assert_eq!(core.machine().key_group(), Some((3, 8)));
    // Still a key group after the load: a hole derives nothing and lists nothing.
    core.ingest([&position(20)], 0).unwrap();
    assert_eq!(core.machine().summary().missing, 0);
    let digest = core.machine().digest();
    core.close().unwrap();
    let replayed = replay(dir.path(), Until::End).unwrap().machine;
    assert_eq!(replayed.digest(), digest);
    assert_eq!(replayed.key_group(), Some((3, 8)));
    assert_eq!(replayed.lsn(), 5);
}
