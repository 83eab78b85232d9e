//! When the effect lanes may read a committed record: the journal's group commit in simulated
//! time.
//!
//! A lane reads only effects of durable records. Under `group` a record is durable within
//! milliseconds of its commit, and at full pace milliseconds of wall time are minutes of
//! simulated time, so the run decides durability for the lanes in simulated time: a record
//! arriving at `t` becomes readable at the first multiple of [`EFFECT_TICK_US`] (from the
//! world's start) at or after `t`, once its batch is committed; the lanes are brought to each
//! such instant in turn.
//!
//! With a power-crash fault (under `group` or `none`: under `sync` a commit is durable) that
//! must also be true on disk, since a power cut takes what was
//! not synced: the run then closes a batch at every tick and syncs what earlier batches
//! committed when it starts the next, and the lanes read only what the last sync covered (a
//! tick later than without a power cut). What the last batch committed stays for a cut to take.

use super::SimError;
use super::effects::EffectDelivery;
use crate::scenario::{CrashMode, Fault, Scenario};
use std::collections::VecDeque;
use waybill_core::journal::Durability;

/// The granularity of simulated durability.
pub(super) const EFFECT_TICK_US: i64 = 30_000_000;

pub(super) struct Release {
    start_us: i64,
    /// Committed records the lanes may not read yet: (ingest time, LSN), in LSN order.
    waiting: VecDeque<(i64, u64)>,
    /// With a power-crash fault: the LSN the last sync covered.
    synced_lsn: Option<u64>,
    /// What the lanes may read.
    pub lanes_lsn: u64,
}

impl Release {
    /// With everything up to `lsn` readable.
    pub fn new(scenario: &Scenario, lsn: u64) -> Release {
        // Under `sync` a committed record is durable already.
        let power = scenario.run.durability != Durability::Sync
            && scenario.faults.iter().any(|f| {
                matches!(
                    f,
                    Fault::Crash {
                        mode: CrashMode::Power,
                        ..
                    }
                )
            });
        Release {
            start_us: scenario.world.start_us,
            waiting: VecDeque::new(),
            synced_lsn: power.then_some(lsn),
            lanes_lsn: lsn,
        }
    }

    /// True when batches must close at every tick and be synced a close later.
    pub fn syncs(&self) -> bool {
        self.synced_lsn.is_some()
    }

    /// Where the batch that holds a delivery arriving at `t_us` must close at the latest.
    pub fn closes_at(&self, t_us: i64) -> i64 {
        if self.syncs() {
            self.tick_at_or_after(t_us + 1)
        } else {
            i64::MAX
        }
    }

    fn tick_at_or_after(&self, t_us: i64) -> i64 {
        let ticks = (t_us - self.start_us + EFFECT_TICK_US - 1).div_euclid(EFFECT_TICK_US);
        self.start_us + ticks * EFFECT_TICK_US
    }

    /// The core journaled a record ingested at `ingest_us` at `lsn`.
    pub fn submitted(&mut self, ingest_us: i64, lsn: u64) {
        self.waiting.push_back((ingest_us, lsn));
    }

    /// A sync covered every record up to `lsn`.
    pub fn synced(&mut self, lsn: u64) {
        if let Some(s) = &mut self.synced_lsn {
            *s = lsn;
        }
    }

    /// Every record up to `lsn` is durable (the core reopened with them, or the run flushed
    /// at its end): the lanes may read them.
    pub fn durable_through(&mut self, lsn: u64) {
        self.waiting.clear();
        self.synced(lsn);
        self.lanes_lsn = lsn;
    }

    /// The next record the lanes may read (committed up to `committed_lsn`), if any.
    fn next(&self, committed_lsn: u64) -> Option<(i64, u64)> {
        let cap = self.synced_lsn.unwrap_or(u64::MAX).min(committed_lsn);
        self.waiting.front().copied().filter(|&(_, lsn)| lsn <= cap)
    }

    /// Brings the lanes to `now_us`, through every tick at which committed records (up to
    /// `committed_lsn`) became readable.
    pub fn release(
        &mut self,
        now_us: i64,
        committed_lsn: u64,
        effects: &mut EffectDelivery,
    ) -> Result<(), SimError> {
        while let Some((t, _)) = self.next(committed_lsn) {
            let tick = self.tick_at_or_after(t);
            if tick > now_us {
                break;
            }
            while let Some((_, lsn)) = self.next(committed_lsn).filter(|&(t, _)| t <= tick) {
                self.lanes_lsn = lsn;
                self.waiting.pop_front();
            }
            effects.advance(tick, self.lanes_lsn)?;
        }
        effects.advance(now_us, self.lanes_lsn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(power: bool) -> Scenario {
        let crash = if power {
            "[[fault]]\nkind = \"crash\"\nat = \"1h\"\nmode = \"power\"\n"
        } else {
            ""
        };
        Scenario::from_toml(&format!(
            "name = \"r\"\n[world]\nshipments = 1\nvehicles = 1\nstart = \"2026-11-27T00:00:00Z\"\nhorizon = \"2h\"\n{crash}"
        ))
        .unwrap()
    }

    #[test]
    fn ticks_and_batch_ends_follow_the_power_faults() {
        let (plain, power) = (
            Release::new(&scenario(false), 0),
            Release::new(&scenario(true), 0),
        );
        let s = plain.start_us;
        assert!(!plain.syncs() && power.syncs());
        assert_eq!(plain.closes_at(s + 5), i64::MAX);
        for (t, want) in [
            (0, EFFECT_TICK_US),
            (5, EFFECT_TICK_US),
            (EFFECT_TICK_US, 2 * EFFECT_TICK_US),
        ] {
            assert_eq!(power.closes_at(s + t), s + want, "{t}");
        }
        for (t, want) in [
            (0, 0),
            (1, EFFECT_TICK_US),
            (EFFECT_TICK_US, EFFECT_TICK_US),
        ] {
            assert_eq!(plain.tick_at_or_after(s + t), s + want, "{t}");
        }
    }

    #[test]
    fn only_synced_records_are_readable_with_a_power_fault() {
        let mut r = Release::new(&scenario(true), 1);
        let s = r.start_us;
        r.submitted(s + 10, 2);
        r.submitted(s + 20, 3);
        assert_eq!(r.next(3), None, "not synced yet");
        r.synced(2);
        assert_eq!(r.next(3), Some((s + 10, 2)));
        r.durable_through(2);
        assert_eq!((r.next(3), r.lanes_lsn), (None, 2));
        let mut plain = Release::new(&scenario(false), 0);
        plain.submitted(s + 10, 1);
        assert_eq!(plain.next(0), None, "not committed yet");
        assert_eq!(plain.next(1), Some((s + 10, 1)));
    }
}
