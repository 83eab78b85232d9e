//! The outbox (docs/effects.md): stores the effects the machine derives and delivers them to
//! the downstream systems, at least once, in order within each lane.
//!
//! A transactional outbox: the core thread appends every derived effect to the **effect log**
//! (`<journal>/effects/log-<first seq>.efx`, [`EffectLog`]) in the same thread that journals
//! and applies the records, so an effect exists exactly when its record does. Delivery reads the
//! log on other threads (or in another process) and never writes it.
//!
//! - `log`, `segment`, `frame`, `chunk`, `reader`: the effect log (append-only, segmented,
//!   length + CRC32C frames; recovery cuts a torn tail and names any other damage).
//! - [`LaneId`]: a (sink, class) pair. Each lane has its own cursor, retry state and breaker,
//!   so a sink's urgent effects never wait behind its financial ones and one sink's outage
//!   never delays another.
//! - `cursor`: per lane, the highest seq at and below which every effect of the lane is
//!   acknowledged or dead-lettered, in a two-slot checksummed file.
//! - `dead`: per lane, dead letters (with their own copy of the JSON) and redrive generations.
//! - `backoff`, `breaker`, `lane`: the delivery logic as a deterministic state machine driven
//!   by a clock and a seeded RNG given from outside ([`Lane::poll`]); the simulator drives the
//!   same lanes in simulated time.
//! - `lanes` ([`Outbox`]): the eight lanes of a journal, for a single-threaded driver.
//! - `delivery` ([`Delivery`]): the threaded shell (one thread per lane, the real clock).
//! - `sink`: the [`Sink`] trait and the built-in `file`, `stdout` and `http` sinks.
//! - `config`: the typed, strict sink configuration ([`SinksConfig`]).
//! - `retention`: deletes log segments every lane has moved past.
//! - `inspect`: read-only views for the command line (positions, dead letters, states).
//!
//! Only effects whose `cause_lsn` is at or below the journal's durable LSN are read by a lane
//! (delivered, or stepped over): an effect of a record that a power cut could still take never
//! leaves, and a cursor never passes an effect that recovery could still cut and derive anew.

mod backoff;
mod breaker;
mod chunk;
mod config;
mod cursor;
mod dead;
mod delivery;
mod error;
mod frame;
pub mod inspect;
mod lane;
mod lanes;
mod lock;
mod log;
mod reader;
mod retention;
mod segment;
pub mod sink;
mod status;

pub use backoff::{RetryPolicy, SplitMix64};
pub use breaker::{Breaker, BreakerState};
pub use config::{
    BreakerConfig, DurationUs, RetryConfig, SinkConfig, SinkKind, SinksConfig, parse_duration_us,
};
pub use cursor::{LanePosition, read_position};
pub use dead::{DeadLetter, Origin};
pub use delivery::{Delivery, DeliveryOptions, DurableLsn, durable_from_atomic};
pub use error::OutboxError;
pub use frame::{FRAME_HEADER_BYTES, FrameHead, MAX_EFFECT_JSON_BYTES};
pub use lane::{Lane, LaneConfig, NEVER};
pub use lanes::Outbox;
pub use log::{EffectLog, EffectLogOptions, LogIter, TornEffects, sync_log_files};
pub use reader::LogReader;
pub use retention::{Retained, delete_acknowledged};
pub use segment::{
    SEGMENT_BYTES_DEFAULT, SEGMENT_BYTES_MAX, SEGMENT_BYTES_MIN, SEGMENT_HEADER_BYTES,
    segment_file_name,
};
pub use sink::{Sink, SinkError};
pub use status::LaneStatus;

use crate::effect::{Class, Downstream, EffectType};
use std::fmt;
use std::path::{Path, PathBuf};

/// Name of the directory, inside the journal's, that holds everything of the outbox.
pub const EFFECTS_DIR_NAME: &str = "effects";

/// `<journal>/effects`: the directory of the effect log, the lanes' cursors, dead letters and
/// status files of the journal in `journal_dir` (docs/effects.md, files). Snapshots and
/// archiving do not touch it.
pub fn effects_dir(journal_dir: &Path) -> PathBuf {
    journal_dir.join(EFFECTS_DIR_NAME)
}

/// A delivery lane: one sink and one class. Each has its own cursor, retries and breaker.
///
/// Effects of one lane are delivered in `effect_seq` order; lanes have no order between them.
/// `Display` prints `<sink>/<class>` (`ops/urgent`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LaneId {
    /// The downstream system.
    pub sink: Downstream,
    /// The delivery class.
    pub class: Class,
}

impl LaneId {
    /// Lanes of a journal: four sinks times two classes.
    pub const COUNT: usize = 8;

    /// Every lane, in [`LaneId::index`] order.
    pub fn all() -> [LaneId; LaneId::COUNT] {
        let mut out = [LaneId::new(Downstream::Route, Class::Urgent); LaneId::COUNT];
        for sink in Downstream::ALL {
            for class in Class::ALL {
                let id = LaneId::new(sink, class);
                out[id.index()] = id;
            }
        }
        out
    }

    /// The lanes some effect type travels in (the others stay empty: no thread delivers them
    /// and retention does not wait for them).
    pub fn in_use() -> Vec<LaneId> {
        LaneId::all()
            .into_iter()
            .filter(|l| EffectType::ALL.iter().any(|t| LaneId::of(*t) == *l))
            .collect()
    }

    /// The lane of `class` effects for `sink`.
    pub fn new(sink: Downstream, class: Class) -> LaneId {
        LaneId { sink, class }
    }

    /// The lane an effect of type `t` travels in.
    pub fn of(t: EffectType) -> LaneId {
        LaneId::new(t.sink(), t.class())
    }

    /// 0..8: sink major, class minor.
    pub fn index(self) -> usize {
        self.sink.index() * Class::ALL.len() + self.class.index()
    }

    /// `route-urgent`, as in file names.
    pub fn file_stem(self) -> String {
        format!("{}-{}", self.sink.as_str(), self.class.as_str())
    }
}

impl fmt::Display for LaneId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.sink, self.class)
    }
}

/// The durable LSN of the journal in `journal_dir`, read from its durable marker without a
/// lock (for a delivery process beside the writer's). A directory without a marker holds no
/// journal ([`OutboxError::NoJournal`]); an unreadable marker is damage.
pub fn journal_durable_lsn(journal_dir: &Path) -> Result<u64, OutboxError> {
    use crate::journal::{JournalError, MARKER_FILE_NAME};
    let marker = journal_dir.join(MARKER_FILE_NAME);
    if !marker.exists() {
        return Err(OutboxError::NoJournal(journal_dir.to_owned()));
    }
    match crate::journal::marker::read(journal_dir) {
        Ok(Ok(d)) => Ok(d.lsn),
        Ok(Err(damage)) => Err(OutboxError::Corrupt {
            path: marker,
            offset: damage.offset,
            what: damage.what,
        }),
        Err(JournalError::Io { path, source }) => Err(OutboxError::Io { path, source }),
        Err(e) => Err(OutboxError::Io {
            path: marker,
            source: std::io::Error::other(e.to_string()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_are_numbered_densely_and_every_type_has_one() {
        let all = LaneId::all();
        for (i, l) in all.iter().enumerate() {
            assert_eq!(l.index(), i);
        }
        for t in EffectType::ALL {
            let l = LaneId::of(t);
            assert_eq!(all[l.index()], l);
        }
        assert_eq!(all[0].file_stem(), "route-urgent");
        assert_eq!(LaneId::in_use().len(), 5);
        assert_eq!(all[7].to_string(), "ops/financial");
    }
}
