//! Replay split by key group: the audit's way to rebuild a large state on every core.
//!
//! Stepping is sequential where it decides something across subjects (sources, dedupe, the
//! counters: a source's events reach many shipments) and parallel where it does not: an
//! applied event changes only its subject (a shipment, or a vehicle), so the subjects are
//! split into key groups by a fixed hash of (kind, id), and each group's events are applied
//! to a state of its own, in LSN order, on a thread of its own. Every subject sees the same
//! events in the same order as in one machine, so it ends field for field the same; the
//! composable digest of the groups (a sum over subjects) is the machine's digest.
//!
//! The groups' stores are laid out differently from one machine's (slots and symbols are
//! per group), which is why snapshots are not built this way: a snapshot is the writer's own
//! state, byte for byte. This is for what only needs the answers: the digest, the totals, the
//! views of a replay (`waybill bench` measures it as `replay_parallel_eps`).

use std::path::Path;

use crate::dedupe::Dedupe;
use crate::engine::{CoreError, access_record};
use crate::event::EventType;
use crate::journal::{JournalError, JournalReader};
use crate::machine::{Counters, Outcome};
use crate::record::{EntryView, EventView};
use crate::source::{EventKey, Sources};
use crate::state::{Digest, State};

/// Most key groups (threads) of a partitioned replay.
pub const GROUPS_MAX: usize = 64;

/// A machine rebuilt by key group: the cross-subject parts once, the state per group.
pub struct Partitioned {
    pub sources: Sources,
    pub dedupe: Dedupe,
    pub counters: Counters,
    pub lsn: u64,
    /// The state of each key group's subjects.
    pub groups: Vec<State>,
}

impl Partitioned {
    /// The state digest: the same as one machine's over the same records.
    pub fn digest(&self) -> Digest {
        self.groups
            .iter()
            .map(|g| g.digest(&self.sources))
            .fold(Digest::ZERO, Digest::combine)
    }

    /// The key group of a subject.
    pub fn group_of(&self, subject: u64, vehicle: bool) -> usize {
        group_of(subject, vehicle, self.groups.len())
    }
}

/// The key group of a subject (a shipment id, or a vehicle id when `vehicle`) among `groups`:
/// a fixed (unseeded) hash, so a subject's group never depends on the run or the machine (a
/// cluster routes by it: docs/cluster.md).
pub fn group_of(subject: u64, vehicle: bool, groups: usize) -> usize {
    debug_assert!(groups >= 1);
    let h = subject
        .wrapping_add(u64::from(vehicle) << 63)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    ((h >> 32) % groups as u64) as usize
}

/// Replays the whole journal in `dir` by `groups` key groups (1 to [`GROUPS_MAX`]).
pub fn replay_partitioned(dir: &Path, groups: usize) -> Result<Partitioned, CoreError> {
    assert!(
        (1..=GROUPS_MAX).contains(&groups),
        "1 to {GROUPS_MAX} groups"
    );
    let reader = JournalReader::open(dir)?;
    if reader.first_lsn() > 1 {
        return Err(JournalError::Archived {
            dir: dir.to_owned(),
            first_lsn: reader.first_lsn(),
            what: "a partitioned replay needs every record from lsn 1".to_owned(),
        }
        .into());
    }
    let mut p = Partitioned {
        sources: Sources::new(),
        dedupe: Dedupe::new(),
        counters: Counters::default(),
        lsn: 0,
        groups: (0..groups).map(|_| State::new()).collect(),
    };
    // Sequential: what decides across subjects; each applied event goes to its group's list.
    let mut lists: Vec<Vec<(EventView<'_>, EventKey)>> = vec![Vec::new(); groups];
    let mut other_records = 0u64;
    for rec in reader.records() {
        let rec = rec?;
        debug_assert_eq!(rec.lsn, p.lsn + 1);
        p.lsn = rec.lsn;
        let outcome = match access_record(rec.lsn, rec.kind, rec.payload)? {
            EntryView::DeadLetter(dl) => Outcome::DeadLettered(dl.reason.native()),
            // Settings change effects only, which a partitioned replay does not derive.
            EntryView::Settings(_) => {
                other_records += 1;
                Outcome::Settings
            }
            // A cluster's notices: a key group's gaps are its sequencer's, and effects are not
            // derived here.
            EntryView::Notice(_) => {
                other_records += 1;
                Outcome::Notice
            }
            EntryView::Event(ev) => {
                let source = p.sources.intern(ev.source());
                if p.dedupe.mark(source, ev.sequence()) {
                    let key = EventKey {
                        time_us: ev.time_us(),
                        source,
                        sequence: ev.sequence(),
                    };
                    let vehicle = ev.event_type() == EventType::VehiclePosition;
                    lists[group_of(ev.subject(), vehicle, groups)].push((ev, key));
                    Outcome::Applied
                } else {
                    Outcome::Duplicate
                }
            }
        };
        p.counters.count(outcome);
    }
    // Parallel: each group's events, in LSN order, to its own state.
    let sources = &p.sources;
    std::thread::scope(|scope| {
        for (state, list) in p.groups.iter_mut().zip(&lists) {
            scope.spawn(move || {
                for &(ev, key) in list {
                    apply(state, ev, key, sources);
                }
            });
        }
    });
    debug_assert_eq!(p.counters.received + other_records, p.lsn);
    Ok(p)
}

/// Applies one accepted event (what `Machine::step` does after dedupe).
fn apply(state: &mut State, ev: EventView<'_>, key: EventKey, sources: &Sources) {
    match ev {
        EventView::Archived(a) => state.apply(a, key, sources),
        EventView::Compact(c) => state.apply_body(c.subject(), &c.archived_body(), key, sources),
    }
}
