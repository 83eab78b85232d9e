//! The laws of the whole core, through the journal: convergence under permutation and
//! duplication, conservation, replay equals live, and point-in-time equals a fresh prefix.

mod state_support;

use proptest::prelude::*;
use state_support::*;
use std::path::Path;
use waybill_core::encode::event_to_json;
use waybill_core::engine::{Core, Until, replay};
use waybill_core::event::{Entry, Event};
use waybill_core::machine::Machine;

/// Ingests `entries` into a new core at `dir` in batches of `batch` and returns the core.
fn ingest_all(dir: &Path, entries: &[Entry], batch: usize) -> Core {
    let mut core = Core::open(dir, opts()).expect("open");
    for (i, chunk) in entries.chunks(batch.max(1)).enumerate() {
        core.ingest(chunk, 1_000 + i as i64).expect("ingest");
    }
    core
}

fn views(m: &Machine) -> Vec<String> {
    let mut out: Vec<String> = m
        .state()
        .shipment_ids()
        .into_iter()
        .map(|id| {
            serde_json::to_string(&m.state().shipment_view(id, m.sources()).unwrap()).unwrap()
        })
        .collect();
    out.extend(
        m.state()
            .vehicle_ids()
            .into_iter()
            .map(|id| serde_json::to_string(&m.state().vehicle_view(id).unwrap()).unwrap()),
    );
    out
}

/// Events, then every event whose mask bit is set again (a redelivery), then `dead` dead letters.
fn with_duplicates(evs: &[Event], mask: &[bool], dead: usize) -> (Vec<Entry>, usize) {
    let mut entries: Vec<Entry> = evs.iter().cloned().map(Entry::Event).collect();
    let dups: Vec<Entry> = evs
        .iter()
        .zip(mask.iter().cycle())
        .filter(|(_, d)| **d)
        .map(|(e, _)| Entry::Event(e.clone()))
        .collect();
    let n_dups = dups.len();
    entries.extend(dups);
    entries.extend((0..dead).map(dead_letter));
    (entries, n_dups)
}

fn arrival_orders() -> impl Strategy<Value = (Vec<Entry>, Vec<Entry>, usize, usize, usize)> {
    (
        event_set(),
        prop::collection::vec(any::<bool>(), 1..8),
        0..6usize,
    )
        .prop_flat_map(|(evs, mask, dead)| {
            let (entries, n_dups) = with_duplicates(&evs, &mask, dead);
            let n_events = evs.len();
            (
                Just(entries.clone()),
                Just(entries).prop_shuffle(),
                Just(n_events),
                Just(n_dups),
                Just(dead),
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Any arrival order of the same events, with any redeliveries, converges; the counters
    /// obey the conservation law; replaying the journal gives the live digest.
    #[test]
    fn arrival_order_and_duplication_do_not_change_state(
        (a, b, n_events, n_dups, dead) in arrival_orders(),
        batch_a in 1..17usize,
        batch_b in 1..17usize,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let core_a = ingest_all(&dir.path().join("a"), &a, batch_a);
        let core_b = ingest_all(&dir.path().join("b"), &b, batch_b);
        let (ma, mb) = (core_a.machine(), core_b.machine());
        prop_assert_eq!(ma.digest(), mb.digest());
        prop_assert_eq!(views(ma), views(mb));
        for m in [ma, mb] {
            let c = m.counters();
            prop_assert!(c.conserved());
            prop_assert_eq!(c.received, a.len() as u64);
            prop_assert_eq!(c.applied, n_events as u64);
            prop_assert_eq!(c.duplicates, n_dups as u64);
            prop_assert_eq!(c.dead_lettered, dead as u64);
        }
        let live = ma.digest();
        drop(core_a);
        let replayed = replay(&dir.path().join("a"), Until::End).unwrap();
        prop_assert_eq!(replayed.machine.digest(), live);
        prop_assert_eq!(replayed.machine.counters(), core_b.machine().counters());
        // Reopening the writer replays too, and the digest is the same.
        let reopened = Core::open(&dir.path().join("a"), opts()).unwrap();
        prop_assert_eq!(reopened.machine().digest(), live);
    }

    /// The state at LSN n equals a fresh ingest of the first n entries.
    #[test]
    fn at_lsn_equals_a_fresh_prefix((a, _b, _, _, _) in arrival_orders(), cut in any::<prop::sample::Index>()) {
        let dir = tempfile::tempdir().unwrap();
        drop(ingest_all(&dir.path().join("full"), &a, 7));
        let n = cut.index(a.len() + 1);
        let at = replay(&dir.path().join("full"), Until::Lsn(n as u64)).unwrap();
        let fresh = ingest_all(&dir.path().join("prefix"), &a[..n], 5);
        prop_assert_eq!(at.machine.lsn(), n as u64);
        prop_assert_eq!(at.machine.digest(), fresh.machine().digest());
        prop_assert_eq!(views(&at.machine), views(fresh.machine()));
        prop_assert_eq!(at.machine.counters(), fresh.machine().counters());
    }

    /// The encoder and the decoder are inverses on valid events.
    #[test]
    fn decode_inverts_encode(evs in event_set()) {
        for e in evs {
            let json = event_to_json(&e);
            match waybill_core::decode::decode(json.as_bytes()) {
                Entry::Event(d) => prop_assert_eq!(d, e),
                Entry::DeadLetter(dl) => prop_assert!(false, "{} dead-lettered: {} {}", json, dl.reason.as_str(), dl.detail),
                Entry::Settings(s) => prop_assert!(false, "{} decoded as settings {:?}", json, s),
                Entry::Notice(n) => prop_assert!(false, "{} decoded as a notice {:?}", json, n),
            }
        }
    }
}
