//! Known answers: the hand-written events of `examples/every-type.jsonl` (three shipments and a
//! vehicle, every event type) give a pinned state digest, pinned per-entity digests and, with
//! fixed ingest times, pinned journal bytes.
//!
//! These values are part of the formats: the digest identifies a state across versions and
//! machines, and auditors compare journal content digests recorded elsewhere. A failure here
//! means the digest encoding, the state semantics or the journal format changed. That is only
//! ever deliberate: update `docs/known-answers.md` with the new values and say why in the
//! commit (a new journal format version, a new digest context).

use std::fs;
use std::path::Path;

use waybill_core::decode::decode;
use waybill_core::engine::{Core, Until, access_record, replay};
use waybill_core::event::Entry;
use waybill_core::journal::{Durability, JournalOptions, PayloadCheck, verify};
use waybill_core::machine::Machine;
use waybill_core::state::Digest;
use waybill_core::time::parse_rfc3339_us;

const EVENTS: &str = include_str!("../../examples/every-type.jsonl");

/// Appended after the hand-written events: a redelivery (a duplicate) and an event its source
/// does not own (a dead letter), so the journal holds every kind of outcome.
const REDELIVERED_LINE: usize = 0;
const NOT_OWNED: &str = r#"{"specversion":"1.0","id":"fleet-truck-7-10","source":"fleet/truck-7","sequence":"10","type":"order.cancelled","time":"2026-11-27T19:30:00Z","subject":"shipment/1002","data":{"reason":"not ours"}}"#;

const CHANGED: &str = "a known answer changed: the state digest, the state semantics or the \
    journal format is different. Only a deliberate format change may do that: update \
    docs/known-answers.md (the hand-written events section) and say why in the commit";

/// The pinned state digest of the hand-written events.
const STATE_DIGEST: &str = "944231e0325b5e39f07d920ef857fecc42860de831bc8b92bc714e56798168f7";

/// Entity digests (shipments, then the vehicle): they add up to the state digest.
const SHIPMENT_DIGESTS: [(u64, &str); 3] = [
    (
        1001,
        "ec265e3bf47ab8fff79284be8d4b0c29717d6456684f8d3efad88bbe09b22ea6",
    ),
    (
        1002,
        "2bd22bd04c30cacc9dd104e8d0a0082f950b34aa1075245d17c6855193013fcb",
    ),
    (
        1003,
        "ec91bf7e0e9241a24030e4bb349a5fbd9a0f1069e20b486a832e7da5d33285da",
    ),
];
const VEHICLE_DIGESTS: [(u64, &str); 1] = [(
    7,
    "91b7e755e31d9aca19e924ac64d189b7a1ed647ed6eb918c27a4bfa0089b75ab",
)];

/// `journal verify`'s content digest (BLAKE3 over every frame) and the chain head.
const CONTENT_DIGEST: &str = "8f31337148fa11c7db4dc451fdd36eb761c0b64c064b650cc91f07cdbe0d36c1";
const HEAD_LINK: &str = "08bc70a5264500c29b3b999a886013c0";
/// BLAKE3 of every segment file, by name. (The durable marker beside them is not pinned: how
/// often it is raised depends on flush timing; its content is checked against the chain.)
const FILES: [(&str, &str); 1] = [(
    "00000000000000000000.seg",
    "6ba047060ae925b6e3c233609b0dd2cf534047e4ca19c9b779bd6d8610c3e4b4",
)];

/// Ingest time of the n-th record: one second apart from 2026-11-27T20:00:00Z.
fn ingest_us(n: usize) -> i64 {
    parse_rfc3339_us("2026-11-27T20:00:00Z").expect("valid time") + n as i64 * 1_000_000
}

fn lines() -> Vec<&'static str> {
    let lines: Vec<&str> = EVENTS.lines().collect();
    assert_eq!(lines.len(), 26, "examples/every-type.jsonl has 26 events");
    lines
}

fn entries(lines: &[&str]) -> Vec<Entry> {
    lines.iter().map(|l| decode(l.as_bytes())).collect()
}

fn opts() -> JournalOptions {
    JournalOptions {
        segment_bytes: 64 * 1024,
        durability: Durability::None,
        ..Default::default()
    }
}

/// Journals `entries` in `dir` at the fixed ingest times; returns the machine a replay of the
/// journal rebuilds (checked equal to the live one).
fn journal(dir: &Path, entries: &[Entry]) -> Machine {
    let mut core = Core::open(dir, opts()).unwrap();
    for (n, entry) in entries.iter().enumerate() {
        core.submit(entry, ingest_us(n)).unwrap();
    }
    core.flush().unwrap();
    let live = core.machine().summary();
    drop(core);
    let replayed = replay(dir, Until::End).unwrap().machine;
    assert_eq!(replayed.summary(), live, "replay disagrees with live");
    replayed
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// (id, digest hex) of every entity of one kind, sorted by id.
type Digests = Vec<(u64, String)>;

/// The digests of every shipment and of every vehicle.
fn entity_digests(m: &Machine) -> (Digests, Digests) {
    let shipments = m
        .state()
        .shipment_ids()
        .into_iter()
        .map(|id| {
            let d = m.state().shipment_digest(id, m.sources()).unwrap();
            (id, d.to_hex())
        })
        .collect();
    let vehicles = m
        .state()
        .vehicle_ids()
        .into_iter()
        .map(|id| {
            let d = m.state().vehicle_digest(id, m.sources()).unwrap();
            (id, d.to_hex())
        })
        .collect();
    (shipments, vehicles)
}

fn pinned(list: &[(u64, &str)]) -> Digests {
    list.iter().map(|&(id, d)| (id, d.to_string())).collect()
}

#[test]
fn every_hand_written_event_is_applied() {
    for (n, entry) in entries(&lines()).iter().enumerate() {
        assert!(
            matches!(entry, Entry::Event(_)),
            "line {} of examples/every-type.jsonl is rejected: {entry:?}",
            n + 1
        );
    }
}

#[test]
fn hand_written_events_have_the_pinned_digests() {
    let dir = tempfile::tempdir().unwrap();
    let m = journal(dir.path(), &entries(&lines()));
    let s = m.summary();
    assert_eq!(
        (s.received, s.applied, s.duplicates, s.dead_lettered),
        (26, 26, 0, 0)
    );
    let (shipments, vehicles) = entity_digests(&m);
    let sum: Digest = shipments
        .iter()
        .chain(&vehicles)
        .map(|(_, d)| Digest::from_hex(d).unwrap())
        .sum();
    assert_eq!(
        sum.to_hex(),
        s.digest,
        "the digest composes from its entities"
    );
    assert_eq!(
        (s.digest.as_str(), shipments, vehicles),
        (
            STATE_DIGEST,
            pinned(&SHIPMENT_DIGESTS),
            pinned(&VEHICLE_DIGESTS)
        ),
        "{CHANGED}"
    );
}

#[test]
fn the_digest_does_not_depend_on_arrival_order() {
    let mut lines = lines();
    lines.reverse();
    let dir = tempfile::tempdir().unwrap();
    let m = journal(dir.path(), &entries(&lines));
    assert_eq!(m.summary().digest, STATE_DIGEST, "{CHANGED}");
    assert_eq!(entity_digests(&m).0, pinned(&SHIPMENT_DIGESTS), "{CHANGED}");
}

#[test]
fn hand_written_journal_has_pinned_bytes() {
    let mut lines = lines();
    lines.push(lines[REDELIVERED_LINE]);
    lines.push(NOT_OWNED);
    let dir = tempfile::tempdir().unwrap();
    let m = journal(dir.path(), &entries(&lines));
    let s = m.summary();
    assert_eq!(
        (s.received, s.applied, s.duplicates, s.dead_lettered),
        (28, 26, 1, 1)
    );
    assert_eq!(s.digest, STATE_DIGEST, "{CHANGED}");

    let check = |kind, payload: &[u8]| {
        access_record(0, kind, payload)
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    let check: &PayloadCheck<'_> = &check;
    let report = verify(dir.path(), check).unwrap();
    assert_eq!(report.last_lsn, 28);
    assert_eq!(
        (report.durable.lsn, report.durable.link),
        (28, report.head_link),
        "flushed: the durable marker covers every record"
    );

    let mut files: Vec<(String, String)> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().extension().is_some_and(|x| x == "seg"))
        .map(|e| {
            let name = e.file_name().into_string().unwrap();
            let bytes = fs::read(e.path()).unwrap();
            (name, blake3::hash(&bytes).to_hex().to_string())
        })
        .collect();
    files.sort();
    let expected: Vec<(String, String)> = FILES
        .iter()
        .map(|&(n, h)| (n.to_string(), h.to_string()))
        .collect();
    assert_eq!(
        (hex(&report.content_digest), hex(&report.head_link), files),
        (CONTENT_DIGEST.to_string(), HEAD_LINK.to_string(), expected),
        "{CHANGED}"
    );
}
