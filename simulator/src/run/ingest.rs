//! Feeding the stream to the core: a decoder thread turns deliveries into entries (as wire
//! bytes, then decoded like any input); the calling thread journals and applies them in
//! batches, paced or as fast as the core goes, crashing the core where the scenario says.

use super::crash::CrashSchedule;
use super::latency::{Buckets, Latency, Pacer};
use super::ledger::Ledger;
use super::sabotage::JournalFiles;
use super::{Prepared, RunOptions, Sabotage, SimError, open_core};
use crate::network;
use crate::report::{CrashReport, Progress};
use crate::scenario::Scenario;
use crossbeam_channel::Receiver;
use std::collections::VecDeque;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;
use waybill_core::engine::Core;
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
}

impl Driver<'_> {
    pub fn core(&mut self) -> &mut Core {
        self.core.as_mut().expect("the core is open")
    }

    /// Journals and applies one delivery with `ingest_us` as its ingest time.
    pub fn submit(&mut self, r: Ready, ingest_us: i64) -> Result<(), SimError> {
        let (lsn, _) = self.core().submit(&r.entry, ingest_us)?;
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
                    network::encode(&p.world, d, &mut line);
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
    let first_arrival_us = deliveries.first().map_or(0, |d| d.arrival_us);
    let out = Ingested {
        wall_seconds: 0.0,
        latency: Latency::new(buckets),
        crashes: Vec::new(),
        redelivered: Vec::new(),
        submitted: 0,
        ledger: Ledger::default(),
    };

    std::thread::scope(|scope| -> Result<(Ingested, Core), SimError> {
        let rx = spawn_decoder(scope, p, batch_events);
        let disk = Arc::new(SimulatedDisk::new());
        let core = open_core(dir, scenario, disk.clone())?;
        let mut d = Driver {
            scenario,
            dir,
            core: Some(core),
            disk,
            unacked: VecDeque::new(),
            out,
            sabotage: opts.sabotage,
            lying_disk: None,
        };
        let pacer = Pacer::new(scenario.run.pace, first_arrival_us);
        let mut pending: VecDeque<Ready> = VecDeque::new();
        let mut done = 0u64;
        let mut last_arrival_us = first_arrival_us;
        while let Some(batch) = next_batch(&rx, &mut pending, &pacer, batch_events) {
            let batch_started = Instant::now();
            let mut sent: Vec<(i64, Instant)> = Vec::with_capacity(batch.len());
            for r in batch {
                if let Some(crash) = crashes.due(r.arrival_us) {
                    d.crash(crash)?;
                }
                done += 1;
                if opts.sabotage.skips(r.index) {
                    d.out.ledger.sent(r.index, None);
                    continue;
                }
                last_arrival_us = r.arrival_us;
                let from = if pacer.paced() {
                    pacer.due(r.arrival_us)
                } else {
                    batch_started
                };
                sent.push((r.arrival_us, from));
                let arrival_us = r.arrival_us;
                d.submit(r, arrival_us)?;
            }
            d.commit(false)?;
            d.out.latency.record_batch(buckets, &sent, Instant::now());
            progress.update(done, last_arrival_us);
        }
        d.commit(true)?;
        d.out.wall_seconds = pacer.started.elapsed().as_secs_f64();
        let core = d.core.take().expect("the core is open");
        Ok((d.out, core))
    })
}
