//! What the core's counters must be, from the deliveries the journal must hold (the ledger's kept
//! hand-overs, in order): a plain reference model of docs/events.md (acceptance), independent of
//! the core.
//!
//! A valid delivery is applied the first time its event (source, sequence) comes and is a
//! duplicate afterwards; a malformed copy is dead-lettered with the reason it was made for,
//! every time it comes. A sequence below a source's highest applied one and never applied is
//! missing. World events are numbered 1, 2, 3, ... per source, so a source's missing count is
//! its highest applied sequence minus the sequences applied.

use super::Prepared;
use super::ledger::Ledger;
use crate::network::Delivered;
use rustc_hash::FxHashMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ExpectedCounts {
    pub received: u64,
    pub duplicates: u64,
    /// By `DeadLetterReason::index`.
    pub dead_lettered: [u64; 8],
    pub missing: u64,
    /// `applied[i]`: world event `i` reached the journal at least once.
    pub applied: Vec<bool>,
}

pub(super) fn expected_counts(p: &Prepared, ledger: &Ledger) -> ExpectedCounts {
    let events = &p.world.events;
    let mut out = ExpectedCounts {
        received: 0,
        duplicates: 0,
        dead_lettered: [0; 8],
        missing: 0,
        applied: vec![false; events.len()],
    };
    // Per source: (highest applied sequence, sequences applied). Only summed: the map's
    // order never matters.
    let mut sources: FxHashMap<&str, (u64, u64)> = FxHashMap::default();
    for d in ledger.kept() {
        out.received += 1;
        match p.stream.deliveries[d as usize].what {
            Delivered::Malformed { reason, .. } => out.dead_lettered[reason.index()] += 1,
            Delivered::Event(i) | Delivered::Duplicate(i) => {
                let seen = &mut out.applied[i as usize];
                if *seen {
                    out.duplicates += 1;
                    continue;
                }
                *seen = true;
                let e = &events[i as usize].event;
                let s = sources.entry(e.source.as_str()).or_default();
                s.0 = s.0.max(e.sequence);
                s.1 += 1;
            }
        }
    }
    out.missing = sources.values().map(|(max, n)| max - n).sum();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::prepare;
    use crate::scenario::Scenario;

    const SCENARIO: &str = r#"
name = "t"
seed = 3
[world]
shipments = 60
vehicles = 3
start = "2026-11-27T00:00:00Z"
horizon = "6h"
[[fault]]
kind = "duplicate"
source = "*"
probability = 0.1
[[fault]]
kind = "drop"
source = "*"
probability = 0.05
[[fault]]
kind = "malformed"
source = "*"
probability = 0.05
[[fault]]
kind = "reorder"
source = "*"
probability = 0.3
max_delay = "20m"
"#;

    fn ledger_of(deliveries: impl Iterator<Item = u32>) -> Ledger {
        let mut l = Ledger::default();
        for (k, d) in deliveries.enumerate() {
            l.sent(d, Some(k as u64 + 1));
        }
        l
    }

    /// With every delivery kept once, the counts are those the network injected.
    #[test]
    fn the_whole_stream_gives_what_the_network_injected() {
        let p = prepare(&Scenario::from_toml(SCENARIO).unwrap(), 3);
        let inj = &p.stream.injected;
        assert!(inj.duplicates > 0 && inj.dropped_detectable > 0 && inj.malformed_total() > 0);
        let n = p.stream.deliveries.len() as u32;
        let e = expected_counts(&p, &ledger_of(0..n));
        assert_eq!(e.received, n as u64);
        assert_eq!(e.duplicates, inj.duplicates);
        assert_eq!(e.dead_lettered, inj.malformed);
        assert_eq!(e.missing, inj.dropped_detectable);
        for (i, applied) in e.applied.iter().enumerate() {
            assert_eq!(*applied, p.stream.delivered(i), "world event {i}");
        }
    }

    /// A delivery cut from the journal is a gap when a later sequence of its source was
    /// applied, and a resent copy fills it again.
    #[test]
    fn a_cut_delivery_is_missing_until_it_is_sent_again() {
        let p = prepare(&Scenario::from_toml(SCENARIO).unwrap(), 3);
        let n = p.stream.deliveries.len() as u32;
        let full = expected_counts(&p, &ledger_of(0..n));
        // The first original event of a source (sequence 1, so later ones follow) that the
        // network did not duplicate.
        let duplicated =
            |i: u32| (p.stream.deliveries.iter()).any(|d| d.what == Delivered::Duplicate(i));
        let (cut, event) = (0..n)
            .find_map(|d| match p.stream.deliveries[d as usize].what {
                Delivered::Event(i)
                    if p.world.events[i as usize].event.sequence == 1 && !duplicated(i) =>
                {
                    Some((d, i))
                }
                _ => None,
            })
            .unwrap();
        let mut l = ledger_of(0..n);
        l.acknowledge(n as u64);
        l.crash(cut as u64);
        // Every delivery from `cut` on is lost; send all of them but `cut` again.
        for (k, d) in (cut + 1..n).enumerate() {
            l.sent(d, Some(cut as u64 + 1 + k as u64));
        }
        let without = expected_counts(&p, &l);
        assert_eq!(without.received, full.received - 1);
        assert!(!without.applied[event as usize]);
        assert_eq!(without.missing, full.missing + 1);
        l.sent(cut, Some(n as u64));
        let again = expected_counts(&p, &l);
        assert!(again.applied[event as usize]);
        assert_eq!(again.missing, full.missing);
    }
}
