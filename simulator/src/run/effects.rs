//! Delivering the core's effects in simulated time: the outbox's own eight lanes
//! ([`waybill_core::outbox::Outbox`]) polled on this thread with the simulated receivers
//! ([`super::downstream`]), an event loop over simulated time.
//!
//! After every batch the run commits, the lanes are brought up to the batch's arrival time with
//! the LSN they may read up to (a lane reads only effects of durable records; see
//! [`super::release`] for what the run tells them): first every wake-up they asked for before it
//! (retries, breaker probes, persisting), then, at that time, each lane for which effects became
//! readable (a reader of the log ahead of the lanes says which). A call to a receiver takes the downstream latency: the lane that made it is
//! busy until the call returns. Lanes due at the same time are polled in lane order, so a run
//! is reproducible.
//!
//! A crash takes the lanes down with the core (their positions since the last persist are
//! lost; the receivers, remote systems, keep what they got); after the reopen new lanes start
//! from the persisted cursors and deliver again what they cannot know was delivered.

use super::downstream::Receiver;
use super::sabotage::Sabotage;
use super::{SimError, effect_log_cut};
use crate::rng::Rng;
use crate::scenario::Scenario;
use std::path::{Path, PathBuf};
use waybill_core::effect::{Class, Downstream};
use waybill_core::outbox::{BreakerState, LaneConfig, LaneId, LogReader, Outbox, effects_dir};

/// Most lane polls the run makes in all; past it the run stops with an error (a lane that
/// wants to be polled at the same instant forever).
const MAX_POLLS: u64 = 1 << 32;
/// Most breaker changes kept for the report; later ones are counted, not kept.
pub(super) const MAX_BREAKER_CHANGES: usize = 1 << 20;
/// How long after the later of the last arrival and the last sink outage's end the lanes may
/// take to drain at the end of the run, simulated time.
pub(super) const DRAIN_LIMIT_US: i64 = 6 * 3_600_000_000;

/// How often a lane writes its cursor, simulated time. The outbox's own default (a second of
/// wall time) would be a write at nearly every poll of a run at full pace; this keeps writes
/// rare, so a crash takes minutes of a lane's progress with it and the lanes deliver again
/// what they had delivered since (the repeats the checks look at).
pub(super) const PERSIST_INTERVAL_US: i64 = 10 * 60_000_000;

/// A lane's breaker changed state at a simulated instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct BreakerChange {
    pub lane: LaneId,
    pub at_us: i64,
    pub state: BreakerState,
}

/// When each lane wants to be polled again.
#[derive(Debug, Clone, Copy)]
struct LaneClock {
    wake_us: i64,
    /// A call it made returns at this time.
    busy_until_us: i64,
    breaker: BreakerState,
}

impl LaneClock {
    fn at(t_us: i64) -> LaneClock {
        LaneClock {
            wake_us: t_us,
            busy_until_us: i64::MIN,
            breaker: BreakerState::Closed,
        }
    }

    fn due_us(&self) -> i64 {
        self.wake_us.max(self.busy_until_us)
    }
}

/// What the lanes reported at the end of the run, per lane.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct LaneEnd {
    pub pending: u64,
    pub in_flight: u64,
    pub dead: u64,
    pub idle: bool,
}

/// The effect delivery of a run.
pub(super) struct EffectDelivery {
    journal_dir: PathBuf,
    outbox: Option<Outbox>,
    /// Reads the log ahead of the lanes: which lanes have effects that became readable.
    scout: LogReader,
    configs: [LaneConfig; LaneId::COUNT],
    jitter: Rng,
    pub receivers: Vec<Receiver>,
    lanes: [LaneClock; LaneId::COUNT],
    pub breaker_changes: Vec<BreakerChange>,
    pub breaker_changes_dropped: u64,
    /// The simulated time of the last poll.
    pub clock_us: i64,
    durable_lsn: u64,
    polls: u64,
    sabotage: Sabotage,
    /// When the last call to a receiver returned (after [`Self::drain`]: when the lanes were
    /// done).
    pub drained_at_us: Option<i64>,
    pub lane_end: [LaneEnd; LaneId::COUNT],
}

/// The lane configuration of a run: the outbox's defaults but for the cursor's persist
/// interval, or without a working breaker.
fn lane_configs(sabotage: Sabotage) -> [LaneConfig; LaneId::COUNT] {
    let mut c = LaneConfig {
        persist_interval_us: PERSIST_INTERVAL_US,
        ..LaneConfig::default()
    };
    if sabotage == Sabotage::NoBreaker {
        c.failure_threshold = u32::MAX;
        c.retry.max_attempts = u32::MAX;
    }
    std::array::from_fn(|_| c.clone())
}

impl EffectDelivery {
    /// Opens the lanes of the journal in `dir` at simulated time `start_us`.
    pub fn open(
        scenario: &Scenario,
        seed: u64,
        dir: &Path,
        start_us: i64,
        sabotage: Sabotage,
    ) -> Result<EffectDelivery, SimError> {
        let mut d = EffectDelivery {
            journal_dir: dir.to_owned(),
            outbox: None,
            scout: LogReader::open(&effects_dir(dir), 1),
            configs: lane_configs(sabotage),
            jitter: Rng::stream(seed, "outbox/jitter"),
            receivers: Receiver::all(scenario, seed, sabotage),
            lanes: [LaneClock::at(start_us); LaneId::COUNT],
            breaker_changes: Vec::new(),
            breaker_changes_dropped: 0,
            clock_us: start_us,
            durable_lsn: 0,
            polls: 0,
            sabotage,
            drained_at_us: None,
            lane_end: [LaneEnd::default(); LaneId::COUNT],
        };
        d.reopen(start_us, 0, 1)?;
        Ok(d)
    }

    /// Opens new lanes at `at_us` (at the start, and after a crash), from the persisted
    /// cursors; they may read the records up to `lanes_lsn`, and the effects from `next_seq` on
    /// are newer.
    pub fn reopen(&mut self, at_us: i64, lanes_lsn: u64, next_seq: u64) -> Result<(), SimError> {
        self.durable_lsn = lanes_lsn;
        self.scout = LogReader::open(&effects_dir(&self.journal_dir), next_seq);
        let seed = self.jitter.next_u64();
        let outbox = Outbox::open_with(&self.journal_dir, self.configs.clone(), seed)?;
        self.outbox = Some(outbox);
        self.clock_us = self.clock_us.max(at_us);
        for i in 0..LaneId::COUNT {
            let was = self.lanes[i].breaker;
            self.lanes[i] = LaneClock::at(self.clock_us);
            if was != BreakerState::Closed {
                record_change(self, i, BreakerState::Closed);
            }
        }
        Ok(())
    }

    /// The lanes die with the core: nothing more is persisted.
    pub fn crash(&mut self) {
        self.outbox = None;
    }

    /// A power cut after [`Self::crash`]: the effect log keeps what was synced and a seeded
    /// prefix of the rest.
    pub fn cut_power(&self, seed: u64) -> Result<effect_log_cut::Cut, SimError> {
        effect_log_cut::cut(&self.journal_dir, seed)
    }

    /// Brings the lanes to `now_us`: the wake-ups before it with what was durable then, then
    /// every lane at `now_us` with `durable_lsn`.
    pub fn advance(&mut self, now_us: i64, durable_lsn: u64) -> Result<(), SimError> {
        let now_us = now_us.max(self.clock_us);
        self.run_until(now_us - 1)?;
        self.durable_lsn = self.durable_lsn.max(durable_lsn);
        while let Some(h) = self.scout.peek(self.durable_lsn)? {
            let lane = &mut self.lanes[LaneId::of(h.effect_type).index()];
            lane.wake_us = lane.wake_us.min(now_us);
            self.scout.consume();
        }
        self.run_until(now_us)
    }

    /// At the end: every record is durable; the lanes run until nothing is left or until
    /// `deadline_us`, then say where they stand.
    pub fn drain(
        &mut self,
        now_us: i64,
        durable_lsn: u64,
        deadline_us: i64,
    ) -> Result<(), SimError> {
        self.advance(now_us, durable_lsn)?;
        self.run_until(deadline_us.max(now_us))?;
        let outbox = self.outbox.as_mut().expect("the lanes are open");
        outbox.persist(self.clock_us)?;
        for (i, s) in outbox.status(self.clock_us).into_iter().enumerate() {
            self.lane_end[i] = LaneEnd {
                pending: s.pending,
                in_flight: s.in_flight as u64,
                dead: s.dead,
                idle: s.idle && s.in_flight == 0 && s.pending == 0,
            };
        }
        Ok(())
    }

    /// The lane to poll next and when, if one is due at or before `until_us`.
    fn next_due(&self, until_us: i64) -> Option<(usize, i64)> {
        let blocked = self.sabotage == Sabotage::FinancialBlocksUrgent
            && LaneId::all().iter().any(|l| {
                l.class == Class::Financial && self.lanes[l.index()].breaker != BreakerState::Closed
            });
        LaneId::all()
            .iter()
            .filter(|l| !(blocked && l.class == Class::Urgent))
            .map(|l| (l.index(), self.lanes[l.index()].due_us().max(self.clock_us)))
            .filter(|&(_, t)| t <= until_us)
            .min_by_key(|&(i, t)| (t, i))
    }

    /// Polls lanes in time order until none is due at or before `until_us`.
    fn run_until(&mut self, until_us: i64) -> Result<(), SimError> {
        while let Some((i, t)) = self.next_due(until_us) {
            self.poll(i, t)?;
        }
        Ok(())
    }

    fn poll(&mut self, i: usize, t_us: i64) -> Result<(), SimError> {
        self.polls += 1;
        if self.polls > MAX_POLLS {
            return Err(SimError::Io(format!(
                "the effect lanes asked for more than {MAX_POLLS} polls"
            )));
        }
        self.clock_us = t_us;
        let lane_id = LaneId::all()[i];
        let receiver = &mut self.receivers[lane_id.sink.index()];
        receiver.now_us = t_us;
        let calls = receiver.stats.calls;
        let lane = self
            .outbox
            .as_mut()
            .expect("the lanes are open")
            .lane_mut(lane_id);
        let wake_us = lane.poll(t_us, self.durable_lsn, Some(receiver))?;
        let breaker = lane.breaker_state(t_us);
        let called = self.receivers[lane_id.sink.index()].stats.calls > calls;
        let latency_us = self.receivers[lane_id.sink.index()].latency_us;
        let c = &mut self.lanes[i];
        c.wake_us = wake_us;
        if called {
            c.busy_until_us = t_us.saturating_add(latency_us);
            self.drained_at_us = Some(c.busy_until_us);
        }
        if breaker != c.breaker {
            record_change(self, i, breaker);
        }
        Ok(())
    }

    pub fn receiver(&self, sink: Downstream) -> &Receiver {
        &self.receivers[sink.index()]
    }
}

/// Notes that lane `i`'s breaker is now `state`, at the delivery's clock.
fn record_change(d: &mut EffectDelivery, i: usize, state: BreakerState) {
    d.lanes[i].breaker = state;
    if d.breaker_changes.len() >= MAX_BREAKER_CHANGES {
        d.breaker_changes_dropped += 1;
        return;
    }
    d.breaker_changes.push(BreakerChange {
        lane: LaneId::all()[i],
        at_us: d.clock_us,
        state,
    });
}
