//! [`Lane`]: the delivery of one (sink, class) pair as a deterministic state machine.
//!
//! The lane owns no thread and reads no clock: [`Lane::poll`] is given the time (`now_us`), the
//! journal's durable LSN and the sink, does one step (read a bounded batch, call the sink once,
//! apply the outcome) and returns when it wants to be polled again. The threaded shell
//! (`delivery.rs`) polls it with the real clock; the simulator polls the very same lane in
//! simulated time with simulated receivers, single-threaded and reproducibly (the jitter comes
//! from a seeded [`SplitMix64`]).
//!
//! One step:
//! 1. Waiting (backoff, or the breaker open)? Return when the wait ends.
//! 2. No batch in flight? Read one: redriven dead letters first (a generation at a time), else
//!    the log from the cursor on, at most `batch_max` effects and `batch_max_bytes` of JSON,
//!    only effects whose cause LSN is durable, stepping over other lanes' effects (at most
//!    `read_budget_frames` frames per step).
//! 3. Call the sink with the batch (one effect when the breaker is half-open, or while
//!    isolating the effect a sink refused in a batch).
//! 4. Acknowledged: drop them, move the cursor. Transient failure: while closed, each effect
//!    called uses an attempt, the breaker counts the failure, an effect at its last attempt is
//!    dead-lettered, the rest wait `backoff` (or `Retry-After`); when that failure opens the
//!    breaker, the attempts of the run of failures that opened it are given back (an outage is
//!    the sink's failure, not the effects'); a failed probe uses none. Permanent failure:
//!    dead-letter the effect at once, or, for a batch, retry its effects one by one to find it.
//!
//! The cursor moves only over effects that are done (acknowledged or dead-lettered, in seq
//! order) and over other lanes' durable effects; it is written at most once per
//! `persist_interval_us` (and by [`Lane::persist`]).

use super::backoff::{RetryPolicy, SplitMix64};
use super::breaker::{Breaker, BreakerState};
use super::config::SinkConfig;
use super::cursor::{CursorFile, LanePosition};
use super::dead::{DeadLetter, DeadStore, Origin};
use super::reader::LogReader;
use super::sink::{Sink, SinkError};
use super::status::LaneStatus;
use super::{LaneId, OutboxError, lock};
use crate::effect::EffectOut;
use std::path::{Path, PathBuf};

/// "No wake-up of its own": poll again when effects are appended, the durable LSN rises or a
/// redrive is asked for.
pub const NEVER: i64 = i64::MAX;

/// How a lane delivers: its sink's [`SinkConfig`] in integer units, plus read and persist
/// pacing ([`LaneConfig::from_sink`]). The default is that of a sink with the default
/// configuration.
///
/// [`Lane::open`] panics on a configuration a validated [`SinkConfig`] cannot give (a zero
/// batch, zero attempts, a zero or inverted backoff, a zero breaker threshold or cool-down, a
/// zero read budget, a negative persist interval).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LaneConfig {
    /// Most effects per batch; >= 1.
    pub batch_max: usize,
    /// Most bytes of JSON per batch (one effect larger than this goes alone); >= 1.
    pub batch_max_bytes: usize,
    /// Attempts and backoff.
    pub retry: RetryPolicy,
    /// Consecutive failed calls that open the breaker; >= 1.
    pub failure_threshold: u32,
    /// How long the breaker stays open before a probe, in µs; >= 1.
    pub cool_down_us: i64,
    /// Most frames one poll examines (bounds the work of a step over a long backlog).
    pub read_budget_frames: usize,
    /// Least time between two writes of the cursor file.
    pub persist_interval_us: i64,
}

/// Default of [`LaneConfig::read_budget_frames`].
pub const READ_BUDGET_FRAMES: usize = 4096;
/// Default of [`LaneConfig::persist_interval_us`].
pub const PERSIST_INTERVAL_US: i64 = 1_000_000;

impl LaneConfig {
    /// The lane configuration of a sink's table (jitter rounded to parts per million, read
    /// budget and persist interval at their defaults).
    pub fn from_sink(c: &SinkConfig) -> LaneConfig {
        LaneConfig {
            batch_max: c.batch_max,
            batch_max_bytes: c.batch_max_bytes,
            retry: RetryPolicy {
                max_attempts: c.retry.max_attempts,
                backoff_initial_us: c.retry.backoff_initial.0,
                backoff_max_us: c.retry.backoff_max.0,
                jitter_ppm: (c.retry.jitter.clamp(0.0, 1.0) * 1e6).round() as u32,
            },
            failure_threshold: c.breaker.failure_threshold,
            cool_down_us: c.breaker.cool_down.0,
            read_budget_frames: READ_BUDGET_FRAMES,
            persist_interval_us: PERSIST_INTERVAL_US,
        }
    }

    fn check(&self) {
        assert!(self.batch_max >= 1 && self.batch_max_bytes >= 1);
        assert!(self.retry.max_attempts >= 1 && self.read_budget_frames >= 1);
        assert!(self.retry.backoff_initial_us >= 1);
        assert!(self.retry.backoff_initial_us <= self.retry.backoff_max_us);
        assert!(self.persist_interval_us >= 0);
    }
}

impl Default for LaneConfig {
    fn default() -> Self {
        LaneConfig::from_sink(&SinkConfig::default())
    }
}

/// Per effect in flight: attempts used, those of the current run of failures, where from.
#[derive(Clone, Copy, Debug)]
struct Meta {
    attempts: u32,
    run: u32,
    origin: Origin,
}

/// The batch in flight: effects of one source (the log, or one redrive generation).
#[derive(Default)]
struct Batch {
    effects: Vec<EffectOut>,
    meta: Vec<Meta>,
    bytes: usize,
    from_log: bool,
    /// Log batches: every frame up to this seq was examined; the cursor once all are done.
    scan_seq: u64,
}

impl Batch {
    fn len(&self) -> usize {
        self.effects.len()
    }

    fn is_empty(&self) -> bool {
        self.effects.is_empty()
    }

    fn push(&mut self, e: EffectOut, origin: Origin) {
        self.bytes += e.json.len();
        self.effects.push(e);
        self.meta.push(Meta {
            attempts: 0,
            run: 0,
            origin,
        });
    }

    fn drop_front(&mut self, n: usize) {
        for e in self.effects.drain(..n) {
            self.bytes -= e.json.len();
        }
        self.meta.drain(..n);
        debug_assert_eq!(self.effects.len(), self.meta.len());
        debug_assert!(!self.effects.is_empty() || self.bytes == 0);
    }
}

/// Counts the lane's durable effects past the cursor, reading ahead of delivery.
struct Tally {
    reader: LogReader,
    counted: u64,
    done: u64,
    at_end: bool,
}

#[derive(Default)]
struct Stats {
    calls: u64,
    failures: u64,
    delivered: u64,
    last_error: Option<String>,
    last_error_us: Option<i64>,
}

/// The delivery of one lane, as a deterministic state machine driven from outside
/// ([`Lane::poll`]): it owns no thread and reads no clock.
///
/// [`Delivery`](super::Delivery) polls each lane on a thread of its own with the real clock; an
/// embedder that drives delivery itself opens the lanes with [`Outbox`](super::Outbox) and polls
/// them. `now_us` is the driver's clock in µs, and the times a lane reports
/// ([`LaneStatus`]) are on that clock.
pub struct Lane {
    id: LaneId,
    dir: PathBuf,
    cfg: LaneConfig,
    reader: LogReader,
    tally: Tally,
    cursor_file: CursorFile,
    pos: LanePosition,
    last_persist_us: Option<i64>,
    dead: DeadStore,
    batch: Batch,
    breaker: Breaker,
    rng: SplitMix64,
    /// While backing off: the earliest next attempt.
    next_attempt_us: Option<i64>,
    /// After a batch was refused for good: calls of one effect still to make.
    isolate_left: usize,
    stats: Stats,
    parked: bool,
    idle: bool,
    /// Some effect type travels in this lane (else it never has anything to do).
    in_use: bool,
}

impl Lane {
    /// Opens lane `id` of the effects in `effects_dir` (its cursor, dead letters and redrive
    /// queue). `seed` seeds the jitter.
    pub fn open(
        effects_dir: &Path,
        id: LaneId,
        cfg: LaneConfig,
        seed: u64,
    ) -> Result<Lane, OutboxError> {
        cfg.check();
        lock::create_dir(effects_dir)?;
        let cursor_file = CursorFile::open(effects_dir, id)?;
        let mut pos = cursor_file.current();
        let dead = DeadStore::open(effects_dir, id, &mut pos)?;
        let from = pos.cursor_seq + 1;
        let mut rng = SplitMix64::new(seed ^ (id.index() as u64).wrapping_mul(0x9e37_79b9));
        rng.next_u64();
        Ok(Lane {
            id,
            dir: effects_dir.to_owned(),
            reader: LogReader::open(effects_dir, from),
            tally: Tally {
                reader: LogReader::open(effects_dir, from),
                counted: 0,
                done: 0,
                at_end: false,
            },
            breaker: Breaker::new(cfg.failure_threshold, cfg.cool_down_us),
            cfg,
            cursor_file,
            pos,
            last_persist_us: None,
            dead,
            batch: Batch::default(),
            rng,
            next_attempt_us: None,
            isolate_left: 0,
            stats: Stats::default(),
            parked: false,
            idle: false,
            in_use: LaneId::in_use().contains(&id),
        })
    }

    /// Which lane this is.
    pub fn id(&self) -> LaneId {
        self.id
    }

    /// The effects directory the lane reads and writes (`<journal>/effects`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The position as it is now (possibly not yet persisted).
    pub fn position(&self) -> LanePosition {
        self.pos
    }

    /// The position as last persisted.
    pub fn persisted_position(&self) -> LanePosition {
        self.cursor_file.current()
    }

    /// Where the lane's breaker stands at `now_us`.
    pub fn breaker_state(&self, now_us: i64) -> BreakerState {
        self.breaker.state(now_us)
    }

    /// One step at `now_us` (see the module docs); `sink` `None` parks the lane: its effects
    /// stay pending, but its cursor still moves over other lanes' effects. Returns when to poll
    /// again: `now_us` (at once: more to do), a later time, or [`NEVER`].
    ///
    /// Only effects whose cause LSN is at or below `durable_lsn` (the journal's durable LSN)
    /// are read. A call to the sink happens inside `poll`, so a poll takes as long as the
    /// sink's `deliver`. Delivery failures are not errors: they are retried or dead-lettered,
    /// and shown in [`Lane::status`]; an error is a failure of the outbox's own files.
    pub fn poll(
        &mut self,
        now_us: i64,
        durable_lsn: u64,
        sink: Option<&mut dyn Sink>,
    ) -> Result<i64, OutboxError> {
        self.parked = sink.is_none();
        if !self.in_use {
            // No effect type travels here: nothing to read (and retention does not wait for it).
            (self.idle, self.tally.at_end) = (true, true);
            return Ok(NEVER);
        }
        self.count_pending(durable_lsn)?;
        let wake = match sink {
            None => self.step_parked(now_us, durable_lsn)?,
            Some(s) => self.step(now_us, durable_lsn, s)?,
        };
        self.maybe_persist(now_us, false)?;
        let due = self.persist_due_us().unwrap_or(NEVER);
        Ok(wake.min(due).max(now_us))
    }

    fn step(&mut self, now: i64, durable: u64, sink: &mut dyn Sink) -> Result<i64, OutboxError> {
        if let Some(t) = self.blocked_until(now) {
            self.idle = false;
            return Ok(t);
        }
        if self.batch.is_empty() {
            let more = self.fill(durable)?;
            if self.batch.is_empty() {
                self.idle = !more;
                return Ok(if more { now } else { NEVER });
            }
        }
        self.idle = false;
        let state = self.breaker.state(now);
        debug_assert_ne!(state, BreakerState::Open);
        let n = match state == BreakerState::HalfOpen || self.isolate_left > 0 {
            true => 1,
            false => self.batch.len(),
        };
        debug_assert!(n >= 1 && n <= self.cfg.batch_max);
        self.stats.calls += 1;
        match sink.deliver(&self.batch.effects[..n]) {
            Ok(()) => {
                self.on_ack(n);
                Ok(now)
            }
            Err(e) if e.is_permanent() => {
                self.on_permanent(n, &e, now)?;
                Ok(now)
            }
            Err(e) => self.on_transient(n, &e, now, state),
        }
    }

    fn blocked_until(&self, now: i64) -> Option<i64> {
        if let Some(t) = self.next_attempt_us.filter(|t| *t > now) {
            return Some(t);
        }
        match self.breaker.state(now) {
            BreakerState::Open => self.breaker.open_until_us(),
            _ => None,
        }
    }

    /// Reads the next batch: redriven letters first, else the log. Returns whether the read
    /// budget ran out with more to read.
    fn fill(&mut self, durable: u64) -> Result<bool, OutboxError> {
        debug_assert!(self.batch.is_empty());
        while self.dead.has_redrive() {
            self.fill_redrive()?;
            if !self.batch.is_empty() {
                return Ok(false);
            }
            self.dead.finish_generation()?;
        }
        self.fill_log(durable)
    }

    fn full(&self) -> bool {
        self.batch.len() >= self.cfg.batch_max || self.batch.bytes >= self.cfg.batch_max_bytes
    }

    fn fill_redrive(&mut self) -> Result<(), OutboxError> {
        self.batch.from_log = false;
        while !self.full() {
            let Some((d, next)) = self.dead.next_redriven(&mut self.pos)? else {
                return Ok(());
            };
            if !self.batch.is_empty() && self.batch.bytes + d.json.len() > self.cfg.batch_max_bytes
            {
                self.dead.unread(d, next);
                return Ok(());
            }
            let origin = Origin::Redrive {
                generation: self.pos.redrive_gen,
                next_offset: next,
            };
            self.batch.push(d.effect(), origin);
        }
        Ok(())
    }

    fn fill_log(&mut self, durable: u64) -> Result<bool, OutboxError> {
        self.batch.from_log = true;
        self.batch.scan_seq = self.pos.cursor_seq;
        for _ in 0..self.cfg.read_budget_frames {
            if self.full() {
                return Ok(false);
            }
            let Some(h) = self.reader.peek(durable)? else {
                return Ok(false);
            };
            if LaneId::of(h.effect_type) != self.id {
                self.reader.consume();
                self.step_over(h.seq);
                continue;
            }
            let fits = self.batch.bytes + h.json_bytes as usize <= self.cfg.batch_max_bytes;
            if !self.batch.is_empty() && !fits {
                return Ok(false);
            }
            let e = h.to_effect(self.reader.json()?);
            self.reader.consume();
            self.batch.scan_seq = e.seq;
            self.batch.push(e, Origin::Log);
        }
        Ok(true)
    }

    /// Another lane's effect at `seq` was read: the cursor (or the batch's) moves over it.
    fn step_over(&mut self, seq: u64) {
        if self.batch.is_empty() {
            debug_assert!(seq > self.pos.cursor_seq);
            self.pos.cursor_seq = seq;
        }
        self.batch.scan_seq = seq;
    }

    /// A parked lane moves its cursor over other lanes' effects up to its own first one.
    fn step_parked(&mut self, now: i64, durable: u64) -> Result<i64, OutboxError> {
        if !self.batch.is_empty() {
            self.idle = false;
            return Ok(NEVER);
        }
        for _ in 0..self.cfg.read_budget_frames {
            let Some(h) = self.reader.peek(durable)? else {
                self.idle = !self.dead.has_redrive();
                return Ok(NEVER);
            };
            if LaneId::of(h.effect_type) == self.id {
                self.idle = false;
                return Ok(NEVER);
            }
            self.reader.consume();
            self.step_over(h.seq);
        }
        Ok(now)
    }

    /// The first `n` effects were acknowledged.
    fn on_ack(&mut self, n: usize) {
        for i in 0..n {
            self.done_with(self.batch.meta[i].origin);
        }
        self.batch.drop_front(n);
        for m in &mut self.batch.meta {
            m.run = 0; // the sink works: their failures so far stand
        }
        self.stats.delivered += n as u64;
        self.pos.delivered += n as u64;
        self.breaker.on_success();
        self.next_attempt_us = None;
        self.isolate_left = self.isolate_left.saturating_sub(n);
        self.advance_cursor();
    }

    fn done_with(&mut self, origin: Origin) {
        match origin {
            Origin::Log => self.tally.done += 1,
            Origin::Redrive {
                generation,
                next_offset,
            } => {
                debug_assert_eq!(generation, self.pos.redrive_gen);
                debug_assert!(next_offset > self.pos.redrive_offset);
                self.pos.redrive_offset = next_offset;
                self.dead.redriven_done();
            }
        }
    }

    fn advance_cursor(&mut self) {
        if !self.batch.from_log {
            return;
        }
        let to = match self.batch.effects.first() {
            Some(e) => e.seq - 1,
            None => self.batch.scan_seq,
        };
        debug_assert!(to >= self.pos.cursor_seq, "{to} < {}", self.pos.cursor_seq);
        self.pos.cursor_seq = self.pos.cursor_seq.max(to);
    }

    fn note_error(&mut self, e: &SinkError, now: i64) {
        self.stats.failures += 1;
        self.stats.last_error = Some(e.to_string());
        self.stats.last_error_us = Some(now);
    }

    fn on_transient(
        &mut self,
        n: usize,
        e: &SinkError,
        now: i64,
        state: BreakerState,
    ) -> Result<i64, OutboxError> {
        self.note_error(e, now);
        if state == BreakerState::HalfOpen {
            self.breaker.on_failure(now);
            return Ok(self.breaker.open_until_us().expect("open again"));
        }
        for m in &mut self.batch.meta[..n] {
            m.attempts += 1;
            m.run += 1;
        }
        if self.breaker.on_failure(now) {
            for m in &mut self.batch.meta {
                m.attempts -= m.run;
                m.run = 0;
            }
            self.next_attempt_us = None;
            return Ok(self.breaker.open_until_us().expect("open"));
        }
        let max = self.cfg.retry.max_attempts;
        let spent = self
            .batch
            .meta
            .iter()
            .take_while(|m| m.attempts >= max)
            .count();
        self.dead_letter_front(spent, e.message(), now)?;
        if self.batch.is_empty() {
            self.next_attempt_us = None;
            return Ok(now);
        }
        let failed = self.batch.meta[0].attempts.max(1);
        let mut delay = self.cfg.retry.delay_us(failed, &mut self.rng);
        if let SinkError::Transient {
            retry_after_us: Some(ra),
            ..
        } = e
        {
            delay = delay.max(*ra);
        }
        let at = now.saturating_add(delay);
        self.next_attempt_us = Some(at);
        Ok(at)
    }

    fn on_permanent(&mut self, n: usize, e: &SinkError, now: i64) -> Result<(), OutboxError> {
        self.note_error(e, now);
        self.breaker.on_success(); // the sink answered: it is up
        self.next_attempt_us = None;
        for m in &mut self.batch.meta {
            m.run = 0;
        }
        if n > 1 {
            self.isolate_left = n;
            return Ok(());
        }
        self.batch.meta[0].attempts += 1;
        self.dead_letter_front(1, e.message(), now)?;
        self.isolate_left = self.isolate_left.saturating_sub(1);
        Ok(())
    }

    /// Dead-letters the first `k` effects (synced before they leave the batch).
    fn dead_letter_front(&mut self, k: usize, error: &str, now: i64) -> Result<(), OutboxError> {
        for _ in 0..k {
            let (e, m) = (&self.batch.effects[0], self.batch.meta[0]);
            let d = DeadLetter {
                seq: e.seq,
                cause_lsn: e.cause_lsn,
                time_us: e.time_us,
                effect_type: e.effect_type,
                key: e.key,
                json: e.json.clone(),
                attempts: m.attempts,
                error: error.to_owned(),
                dead_us: now,
                origin: m.origin,
            };
            self.dead.append(&d)?;
            self.done_with(m.origin);
            self.batch.drop_front(1);
            self.advance_cursor();
        }
        Ok(())
    }

    /// Counts the lane's durable effects past the cursor (bounded work per poll).
    fn count_pending(&mut self, durable: u64) -> Result<(), OutboxError> {
        let t = &mut self.tally;
        for _ in 0..self.cfg.read_budget_frames {
            let Some(h) = t.reader.peek(durable)? else {
                t.at_end = true;
                return Ok(());
            };
            t.counted += u64::from(LaneId::of(h.effect_type) == self.id);
            t.reader.consume();
        }
        t.at_end = false;
        Ok(())
    }

    fn persist_due_us(&self) -> Option<i64> {
        if self.pos == self.cursor_file.current() {
            return None;
        }
        Some(match self.last_persist_us {
            Some(last) => last.saturating_add(self.cfg.persist_interval_us),
            None => i64::MIN,
        })
    }

    fn maybe_persist(&mut self, now: i64, force: bool) -> Result<(), OutboxError> {
        match self.persist_due_us() {
            Some(due) if force || due <= now => {
                self.cursor_file.write(self.pos)?;
                self.last_persist_us = Some(now);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Writes the position now if it changed (on stop, and by drivers that want it).
    pub fn persist(&mut self, now_us: i64) -> Result<(), OutboxError> {
        self.maybe_persist(now_us, true)
    }

    /// Makes the lane's dead letters pending again; they are delivered after the batch in
    /// flight, before the lane goes on with the log. Returns how many.
    pub fn redrive(&mut self) -> Result<u64, OutboxError> {
        self.idle = false;
        self.dead.redrive()
    }

    /// The lane as it stands at `now_us` (breaker, counts, last error).
    pub fn status(&self, now_us: i64) -> LaneStatus {
        LaneStatus {
            lane: self.id,
            parked: self.parked,
            breaker: self.breaker.state(now_us),
            open_until_us: self.breaker.open_until_us(),
            consecutive_failures: self.breaker.consecutive_failures(),
            trips: self.breaker.trips(),
            cursor_seq: self.pos.cursor_seq,
            head_attempts: self.batch.meta.first().map_or(0, |m| m.attempts),
            calls: self.stats.calls,
            failures: self.stats.failures,
            delivered: self.stats.delivered,
            delivered_total: self.pos.delivered,
            pending: self.tally.counted.saturating_sub(self.tally.done),
            pending_exact: self.tally.at_end,
            dead: self.dead.dead(),
            redriving: self.dead.redriving(),
            in_flight: self.batch.len(),
            last_error: self.stats.last_error.clone(),
            last_error_us: self.stats.last_error_us,
            next_attempt_us: self.next_attempt_us.filter(|t| *t > now_us),
            idle: self.idle && self.batch.is_empty(),
        }
    }
}
