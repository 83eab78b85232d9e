//! Feeding the stream to the core: a decoder thread turns deliveries into entries (as wire
//! bytes, then decoded like any input); the calling thread journals and applies them in
//! batches, paced or as fast as the core goes, crashing the core where the scenario says.
//! After each batch the effect lanes are brought up to the batch's arrival time, through the
//! instants at which its records became readable to them ([`super::release`]).

use super::crash::CrashSchedule;
use super::effects::{DRAIN_LIMIT_US, EffectDelivery};
use super::latency::{Buckets, Latency, Pacer};
use super::ledger::Ledger;
use super::release::Release;
use super::sabotage::JournalFiles;
use super::{Prepared, RunOptions, Sabotage, SimError, open_core};
use crate::network;
use crate::report::{CrashReport, Progress};
use crate::scenario::DOWN_TO_THE_END_US;
use crate::scenario::{Fault, Scenario};
use crossbeam_channel::Receiver;
use std::collections::VecDeque;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;
use waybill_core::engine::{Core, EffectsStarted};
use waybill_core::event::Entry;
use waybill_core::journal::Durability;
use waybill_core::journal::storage::SimulatedDisk;

/// Deliveries decoded ahead of the core, per batch handed over.
const QUEUE_BATCHES: usize = 8;

/// One delivery decoded, ready for the core.
pub(super) struct Ready {
    /// Position in the delivered stream (arrival order).
    pub index: u32,
    pub arrival_us: i64,
    pub entry: Entry,
}

/// What ingest measured.
pub(super) struct Ingested {
    pub wall_seconds: f64,
    pub latency: Latency,
    pub crashes: Vec<CrashReport>,
    /// Delivery indexes sent again after crashes.
    pub redelivered: Vec<u32>,
    /// Deliveries that reached the core (sabotage may skip some).
    pub submitted: u64,
    /// Every hand-over, its LSN, the acknowledgements and what crashes cut.
    pub ledger: Ledger,
    /// The effects' delivery to the simulated downstream systems.
    pub effects: EffectDelivery,
}

/// The core being fed, and what it has not acknowledged yet.
pub(super) struct Driver<'a> {
    pub scenario: &'a Scenario,
    pub dir: &'a Path,
    /// The live core; None only while it is being replaced after a crash.
    pub core: Option<Core>,
    /// The disk under the journal: it records what each flush made durable, so that a power
    /// cut can take the rest.
    pub disk: Arc<SimulatedDisk>,
    /// Submitted but not acknowledged: (lsn, delivery), in LSN order.
    pub unacked: VecDeque<(u64, Ready)>,
    pub out: Ingested,
    pub sabotage: Sabotage,
    /// [`Sabotage::LyingDisk`]: the journal as it was at the first acknowledgement, put back
    /// at the first crash.
    pub lying_disk: Option<JournalFiles>,
    /// Which committed records the effect lanes may read, and when.
    pub release: Release,
}

impl Driver<'_> {
    pub fn core(&mut self) -> &mut Core {
        self.core.as_mut().expect("the core is open")
    }

    /// Journals and applies one delivery with `ingest_us` as its ingest time.
    pub fn submit(&mut self, r: Ready, ingest_us: i64) -> Result<(), SimError> {
        let (lsn, _) = self.core().submit(&r.entry, ingest_us)?;
        self.release.submitted(ingest_us, lsn);
        self.out.submitted += 1;
        self.out.ledger.sent(r.index, Some(lsn));
        self.unacked.push_back((lsn, r));
        Ok(())
    }

    /// Commits the batch (or, at the end, flushes everything) and forgets what is now
    /// acknowledged: durable under `group` and `sync`, applied under `none` (which promises
    /// nothing).
    fn commit(&mut self, flush: bool) -> Result<(), SimError> {
        let durable = if flush {
            self.core().flush()?
        } else {
            self.core().commit()?
        };
        let acked = if self.scenario.run.durability == Durability::None {
            self.core().machine().lsn()
        } else {
            durable
        };
        self.acknowledge(acked)
    }

    /// Commits the batch, then brings the effect lanes to `now_us`.
    fn close_batch(&mut self, now_us: i64) -> Result<(), SimError> {
        self.commit(false)?;
        let committed = self.core().machine().lsn();
        self.release
            .release(now_us, committed, &mut self.out.effects)
    }

    /// Makes the core keep its effects (bringing its effect log in line with the journal) and
    /// the scenario's SLA targets the journal's settings; the settings record, when one is
    /// written, is flushed and acknowledged at once.
    pub fn start_effects(&mut self, at_us: i64) -> Result<EffectsStarted, SimError> {
        let started = self.core().start_effects()?;
        let sla = self.scenario.sla;
        if sla.any() && self.core().set_settings(sla.targets(), at_us)? {
            let lsn = self.core().machine().lsn();
            self.out.ledger.own_record(lsn);
            self.core().flush()?;
            self.acknowledge(lsn)?;
        }
        Ok(started)
    }

    /// The producers learn that every record up to `acked` is acknowledged.
    pub fn acknowledge(&mut self, acked: u64) -> Result<(), SimError> {
        self.out.ledger.acknowledge(acked);
        if self.sabotage == Sabotage::LyingDisk
            && self.lying_disk.is_none()
            && self.out.crashes.is_empty()
            && self.out.ledger.acked_lsn() > 0
        {
            self.lying_disk = Some(JournalFiles::take(self.dir)?);
        }
        while self.unacked.front().is_some_and(|(lsn, _)| *lsn <= acked) {
            self.unacked.pop_front();
        }
        Ok(())
    }
}

/// Encodes and decodes the deliveries on a thread of its own, in batches of `batch_events`.
fn spawn_decoder<'s>(
    scope: &'s std::thread::Scope<'s, '_>,
    p: &'s Prepared,
    batch_events: usize,
) -> Receiver<Vec<Ready>> {
    let (tx, rx) = crossbeam_channel::bounded::<Vec<Ready>>(QUEUE_BATCHES);
    scope.spawn(move || {
        let mut line = Vec::with_capacity(1024);
        for (chunk_no, chunk) in p.stream.deliveries.chunks(batch_events).enumerate() {
            let batch: Vec<Ready> = chunk
                .iter()
                .enumerate()
                .map(|(k, d)| {
                    line.clear();
                    network::encode(&p.world, &p.stream.wire, d, &mut line);
                    Ready {
                        index: (chunk_no * batch_events + k) as u32,
                        arrival_us: d.arrival_us,
                        entry: waybill_core::decode::decode(&line),
                    }
                })
                .collect();
            if tx.send(batch).is_err() {
                return;
            }
        }
    });
    rx
}

/// The next batch to submit: everything decoded so far (max pace), or every delivery due
/// now, after waiting for the first one (paced). None when the stream is exhausted.
fn next_batch(
    rx: &Receiver<Vec<Ready>>,
    pending: &mut VecDeque<Ready>,
    pacer: &Pacer,
    batch_events: usize,
) -> Option<Vec<Ready>> {
    if pending.is_empty() {
        pending.extend(rx.recv().ok()?);
    }
    let mut batch: Vec<Ready> = Vec::with_capacity(batch_events);
    if !pacer.paced() {
        batch.extend(pending.drain(..));
        return Some(batch);
    }
    pacer.wait_for(pending[0].arrival_us);
    let now = Instant::now();
    while batch.len() < batch_events {
        if pending.is_empty() {
            match rx.try_recv() {
                Ok(b) => pending.extend(b),
                Err(_) => break,
            }
        }
        match pending.front() {
            Some(r) if pacer.due(r.arrival_us) <= now => {
                batch.push(pending.pop_front().expect("front exists"))
            }
            _ => break,
        }
    }
    Some(batch)
}

/// A batch being submitted: the deliveries sent since the last commit and where it closes.
struct Open {
    batch_started: Instant,
    sent: Vec<(i64, Instant)>,
    closes_at_us: i64,
    last_arrival_us: i64,
}

impl Driver<'_> {
    /// Commits what `open` holds, records its latency and delivers its effects.
    fn close(&mut self, open: &mut Open, buckets: &Buckets) -> Result<(), SimError> {
        self.close_batch(open.last_arrival_us)?;
        self.out
            .latency
            .record_batch(buckets, &open.sent, Instant::now());
        open.sent.clear();
        Ok(())
    }

    /// Starts a batch with a delivery arriving at `arrival_us`: when a power cut may come, what
    /// earlier batches committed is synced first (and the lanes may read it from the next
    /// close on), while this batch, once committed, stays for a cut to take until the next.
    fn open_batch(&mut self, open: &mut Open, arrival_us: i64) -> Result<(), SimError> {
        open.closes_at_us = self.release.closes_at(arrival_us);
        if self.release.syncs() {
            let synced = self.core().flush()?;
            self.release.synced(synced);
        }
        Ok(())
    }

    /// Submits one batch, crashing first where the schedule says and closing it early where
    /// simulated time crosses a tick. Returns the deliveries done.
    fn submit_batch(
        &mut self,
        batch: Vec<Ready>,
        crashes: &mut CrashSchedule,
        pacer: &Pacer,
        buckets: &Buckets,
        open: &mut Open,
    ) -> Result<u64, SimError> {
        let mut done = 0;
        open.batch_started = Instant::now();
        for r in batch {
            if !open.sent.is_empty() && r.arrival_us >= open.closes_at_us {
                self.close(open, buckets)?;
            }
            if let Some(crash) = crashes.due(r.arrival_us) {
                self.crash(crash)?;
            }
            done += 1;
            if self.sabotage.skips(r.index) {
                self.out.ledger.sent(r.index, None);
                continue;
            }
            if open.sent.is_empty() {
                self.open_batch(open, r.arrival_us)?;
            }
            open.last_arrival_us = r.arrival_us;
            let from = if pacer.paced() {
                pacer.due(r.arrival_us)
            } else {
                open.batch_started
            };
            open.sent.push((r.arrival_us, from));
            let arrival_us = r.arrival_us;
            self.submit(r, arrival_us)?;
        }
        self.close(open, buckets)?;
        Ok(done)
    }

    /// At the end: everything flushed, the lanes drain (at most [`DRAIN_LIMIT_US`] after the
    /// later of the last arrival and the last sink outage's end).
    fn finish(&mut self, last_arrival_us: i64) -> Result<(), SimError> {
        self.commit(true)?;
        let flushed = self.core().machine().lsn();
        self.release.durable_through(flushed);
        let start = self.scenario.world.start_us;
        let outages_end = self
            .scenario
            .faults
            .iter()
            .filter_map(|f| match f {
                Fault::SinkOutage { to_us, .. } if *to_us != DOWN_TO_THE_END_US => {
                    Some(start + to_us)
                }
                _ => None,
            })
            .max()
            .unwrap_or(i64::MIN);
        let deadline = last_arrival_us
            .max(outages_end)
            .saturating_add(DRAIN_LIMIT_US);
        self.out.effects.drain(last_arrival_us, flushed, deadline)
    }
}

/// Feeds the stream to the core; returns what was measured and the live core, flushed, with
/// the state the run built (the checks read it).
pub(super) fn ingest(
    scenario: &Scenario,
    p: &Prepared,
    dir: &Path,
    buckets: &Buckets,
    opts: &RunOptions,
    progress: &mut Progress,
) -> Result<(Ingested, Core), SimError> {
    let batch_events = scenario.run.batch_events;
    let deliveries = &p.stream.deliveries;
    let mut crashes = CrashSchedule::new(scenario, p.seed);
    progress.ingest(deliveries.len() as u64);
    let start_us = scenario.world.start_us;
    let first_arrival_us = deliveries.first().map_or(start_us, |d| d.arrival_us);
    std::thread::scope(|scope| -> Result<(Ingested, Core), SimError> {
        let rx = spawn_decoder(scope, p, batch_events);
        let disk = Arc::new(SimulatedDisk::new());
        let core = open_core(dir, scenario, disk.clone())?;
        let effects = EffectDelivery::open(scenario, p.seed, dir, start_us, opts.sabotage)?;
        let mut d = Driver {
            scenario,
            dir,
            core: Some(core),
            disk,
            unacked: VecDeque::new(),
            out: Ingested::new(buckets, effects),
            sabotage: opts.sabotage,
            lying_disk: None,
            release: Release::new(scenario, 0),
        };
        d.start_effects(start_us)?;
        let lsn = d.core().machine().lsn();
        d.release.durable_through(lsn);
        let pacer = Pacer::new(scenario.run.pace, first_arrival_us);
        let mut pending: VecDeque<Ready> = VecDeque::new();
        let mut open = Open {
            batch_started: Instant::now(),
            sent: Vec::with_capacity(batch_events),
            closes_at_us: start_us,
            last_arrival_us: first_arrival_us,
        };
        let mut done = 0u64;
        while let Some(batch) = next_batch(&rx, &mut pending, &pacer, batch_events) {
            done += d.submit_batch(batch, &mut crashes, &pacer, buckets, &mut open)?;
            progress.update(done, open.last_arrival_us);
        }
        d.out.wall_seconds = pacer.started.elapsed().as_secs_f64();
        d.finish(open.last_arrival_us)?;
        let core = d.core.take().expect("the core is open");
        Ok((d.out, core))
    })
}

impl Ingested {
    fn new(buckets: &Buckets, effects: EffectDelivery) -> Ingested {
        Ingested {
            wall_seconds: 0.0,
            latency: Latency::new(buckets),
            crashes: Vec::new(),
            redelivered: Vec::new(),
            submitted: 0,
            ledger: Ledger::default(),
            effects,
        }
    }
}
