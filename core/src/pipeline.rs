//! The pipelined ingest path: encoding (and decoding) on the producer side, journal and apply
//! on a core thread, batches handed over bounded queues and recycled.
//!
//! ```text
//!  producer thread(s)                     core thread (the single writer)
//!  decode / take typed entries            journal append (frame, header CRC, XXH3 chain
//!  encode into one aligned buffer   ──►   link over a fixed-size input, copy into the
//!  (EncodedBatch: compact or rkyv);       staging buffer), then Machine::step on the
//!  CRC32C + XXH3-128 (PayloadSums)        payload as it sits there, the bytes the file
//!                          bounded queue  gets; commit per batch; acks ──► caller
//!        ▲                                        │
//!        └──────── recycled batches (bounded) ◄───┘
//! ```
//!
//! The expensive, order-independent work (decoding, serializing, hashing each payload) runs
//! before the queue, in parallel with the writer; the writer does the order-dependent part
//! (LSN, ingest-time clamp, chain link, header CRC, copy) and applies. Nothing
//! about batching reaches the journal or the state: an [`EncodedBatch`] holds exactly the bytes
//! [`Core::submit`] would write, so the same entries with the same ingest times give
//! byte-identical journals and the same state whichever path and batch sizes were used.
//!
//! Backpressure: [`Pipeline::send`] blocks when [`PipelineOptions::queue_batches`] batches wait
//! for the core thread. Allocation: batches are recycled, so in steady state the only
//! allocations are those of decoding itself (owned strings of an [`Entry`](crate::event::Entry)).

use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, bounded};

pub use crate::batch::{EncodedBatch, MAX_BATCH_BYTES};
use crate::engine::{BatchReport, Core, CoreError};
use crate::input::{InputReader, PausingReader, RawBatch};
use crate::journal::Durability;
use crate::machine::Machine;

/// Options of a [`Pipeline`].
#[derive(Clone, Debug)]
pub struct PipelineOptions {
    /// Batches that may wait for the core thread before [`Pipeline::send`] blocks.
    pub queue_batches: usize,
}

impl Default for PipelineOptions {
    fn default() -> Self {
        PipelineOptions { queue_batches: 4 }
    }
}

/// Queries waiting for the core thread, at most; [`Pipeline::query`] blocks past that.
const QUERY_QUEUE: usize = 16;

/// A read of the machine, run on the core thread between two batches.
type Query = Box<dyn FnOnce(&Machine) + Send>;

/// Name of the core thread.
const THREAD_NAME: &str = "waybill-core";

/// A [`Core`] running on its own thread, fed [`EncodedBatch`]es over a bounded queue.
pub struct Pipeline {
    tx: Option<Sender<EncodedBatch>>,
    queries: Option<Sender<Query>>,
    recycled: Receiver<EncodedBatch>,
    acks: Receiver<BatchReport>,
    durable_lsn: Arc<AtomicU64>,
    handle: Option<JoinHandle<Result<Core, CoreError>>>,
}

impl Pipeline {
    /// Moves `core` onto a new thread. Each batch received is journaled, applied and committed
    /// ([`Core::ingest_encoded`]); one [`BatchReport`] per batch comes back on [`Self::acks`].
    /// In `group` mode the core thread also commits when idle, so the last batch does not wait
    /// for the next one; [`Self::durable_lsn`] publishes how far the journal is durable.
    pub fn start(core: Core, opts: PipelineOptions) -> Pipeline {
        let depth = opts.queue_batches.max(1);
        let (tx, rx) = bounded::<EncodedBatch>(depth);
        let (recycle_tx, recycled) = bounded::<EncodedBatch>(depth + 2);
        // Acks are never allowed to block the writer: bounded by the batches in flight.
        let (ack_tx, acks) = bounded::<BatchReport>(2 * depth + 4);
        let (query_tx, query_rx) = bounded::<Query>(QUERY_QUEUE);
        // The journal's own durable LSN: it rises as soon as a flush completes, whichever
        // thread flushed (the group-commit flusher, or the core thread).
        let durable_lsn = core.journal().durable_handle();
        let handle = thread::Builder::new()
            .name(THREAD_NAME.to_owned())
            .spawn(move || run(core, rx, query_rx, recycle_tx, ack_tx))
            .expect("spawn the core thread");
        Pipeline {
            tx: Some(tx),
            queries: Some(query_tx),
            recycled,
            acks,
            durable_lsn,
            handle: Some(handle),
        }
    }

    /// An empty batch: a recycled one when available (no allocation in steady state).
    pub fn batch(&self) -> EncodedBatch {
        let mut b = self.recycled.try_recv().unwrap_or_default();
        b.clear();
        b
    }

    /// Hands a batch to the core thread; blocks while the queue is full (backpressure).
    /// `Err` when the core thread stopped (its error is returned by [`Self::finish`]).
    pub fn send(&self, batch: EncodedBatch) -> Result<(), EncodedBatch> {
        match &self.tx {
            Some(tx) => tx.send(batch).map_err(|e| e.into_inner()),
            None => Err(batch),
        }
    }

    /// One report per batch, in order. Drain it (or drop it) to keep the core thread going:
    /// the core thread drops reports nobody collects rather than block.
    pub fn acks(&self) -> &Receiver<BatchReport> {
        &self.acks
    }

    /// Runs `read` on the core thread between two batches and returns its result: a view of
    /// the state exactly at a batch boundary, taken without locks (the writer never waits
    /// for a reader; a query waits at most for the batch being applied). `None` when the
    /// core thread has stopped.
    pub fn query<R: Send + 'static>(
        &self,
        read: impl FnOnce(&Machine) -> R + Send + 'static,
    ) -> Option<R> {
        let (tx, rx) = bounded::<R>(1);
        let q: Query = Box::new(move |m: &Machine| {
            let _ = tx.send(read(m));
        });
        self.queries.as_ref()?.send(q).ok()?;
        rx.recv().ok()
    }

    /// Every record up to this LSN is durable (the journal's durable LSN, raised by whichever
    /// thread flushed).
    pub fn durable_lsn(&self) -> u64 {
        self.durable_lsn.load(Ordering::Acquire)
    }

    /// Stops feeding, waits for every batch sent to be journaled and applied, and returns the
    /// core (not flushed: call [`Core::flush`] if needed).
    pub fn finish(mut self) -> Result<Core, CoreError> {
        self.tx = None;
        self.queries = None;
        let handle = self.handle.take().expect("finish is called once");
        match handle.join() {
            Ok(r) => r,
            Err(p) => std::panic::resume_unwind(p),
        }
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        self.tx = None;
        self.queries = None;
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn run(
    mut core: Core,
    rx: Receiver<EncodedBatch>,
    queries: Receiver<Query>,
    recycle: Sender<EncodedBatch>,
    acks: Sender<BatchReport>,
) -> Result<Core, CoreError> {
    let opts = core.journal().options().clone();
    let idle = match opts.durability {
        Durability::Group => Duration::from_micros(opts.group_commit_interval_us.max(100)),
        _ => Duration::from_secs(3600),
    };
    let mut queries = Some(queries);
    loop {
        // Queries first, between batches; then the next batch (or idle work).
        if let Some(q) = &queries {
            while let Ok(read) = q.try_recv() {
                read(core.machine());
            }
        }
        let never = crossbeam_channel::never();
        let query_rx = queries.as_ref().unwrap_or(&never);
        crossbeam_channel::select! {
            recv(rx) -> msg => match msg {
                Ok(batch) => {
                    let report = core.ingest_encoded(&batch)?;
                    let _ = acks.try_send(report);
                    let _ = recycle.try_send(batch);
                }
                Err(_) => return Ok(core),
            },
            recv(query_rx) -> msg => match msg {
                Ok(read) => read(core.machine()),
                Err(_) => queries = None,
            },
            default(idle) => {
                // Idle in group mode: make the tail durable without waiting for more input
                // (the flusher does it on its schedule once the tail is published).
                let lsn = core.commit()?;
                if lsn < core.journal().last_lsn() && !core.journal().flushes_in_background() {
                    core.flush()?;
                }
            }
        }
    }
}

/// Options of [`ingest_reader`].
#[derive(Clone, Debug)]
pub struct StreamOptions {
    /// Decoder threads (1 to 16).
    pub decoders: usize,
    /// Most events in a batch; a batch is journaled, applied and committed as one.
    pub batch_events: usize,
    /// With `Some(us)`, a batch also closes when the input pauses for `us` microseconds after
    /// some bytes (a [`PausingReader`]), so a live stream is applied and acknowledged as it
    /// arrives. `None` reads without watching for pauses (an input read to its end at once).
    pub pause_us: Option<u64>,
}

/// Default of [`StreamOptions::batch_events`].
pub const STREAM_BATCH_EVENTS: usize = 4096;
/// Default of [`StreamOptions::pause_us`]: a few milliseconds without input close a batch.
pub const STREAM_PAUSE_US: u64 = 2_000;
/// Raw and encoded batches queued per decoder thread.
const STREAM_QUEUE_BATCHES: usize = 4;
/// Most decoder threads.
const STREAM_DECODERS_MAX: usize = 16;

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions {
            decoders: 2,
            batch_events: STREAM_BATCH_EVENTS,
            pause_us: Some(STREAM_PAUSE_US),
        }
    }
}

/// A step of [`ingest_reader`], reported to its progress callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamProgress {
    /// Last LSN journaled and applied.
    pub lsn: u64,
    /// Every record up to this LSN is durable (under `none`, what happened to be flushed).
    pub durable_lsn: u64,
    /// Counters of this stream's events applied so far.
    pub counters: crate::machine::Counters,
}

/// What [`ingest_reader`] did.
#[derive(Debug)]
pub struct StreamReport {
    /// Counters of the events read (this stream only).
    pub counters: crate::machine::Counters,
    /// Durable LSN after the last batch (not flushed at the end: call [`Core::flush`]).
    pub durable_lsn: u64,
    /// Reading the input failed after `counters.received` events (which are journaled).
    pub read_error: Option<std::io::Error>,
    /// The progress callback asked to stop: the input was not read to its end.
    pub stopped: bool,
}

/// Ingests a JSONL or batch-array stream: a reader thread splits it into raw batches,
/// `decoders` threads decode and encode them (batch `i` to decoder `i % decoders`), and the
/// calling thread journals and applies them in input order (taking batch `i` back from
/// decoder `i % decoders`), so the journal is exactly what [`Core::ingest_raw`] would write
/// whatever the thread timing. `clock` gives each batch its ingest time. Bounded queues
/// throughout; batches are recycled.
///
/// A batch closes when it holds [`StreamOptions::batch_events`] events or, with
/// [`StreamOptions::pause_us`], when the input pauses; which of the two never changes the
/// entries journaled or their order, only when they are journaled (and the ingest time the
/// clock gives them).
///
/// `on_progress` is called at every durable step: when the durable LSN rises under `group`
/// and `sync` (under `group` also while the input pauses: the flusher makes the tail durable
/// without more input), after every applied batch under `none` (which promises nothing).
/// `ControlFlow::Break` stops ingesting (the batches already applied stay).
///
/// When the core fails or the callback stops it before the end of the input, the reader
/// and decoder threads are left to end by themselves (a reader blocked on an open pipe ends
/// with the pipe or the process).
pub fn ingest_reader<R: std::io::Read + Send + 'static>(
    input: R,
    core: &mut Core,
    opts: &StreamOptions,
    clock: fn() -> i64,
    on_progress: &mut dyn FnMut(&StreamProgress) -> ControlFlow<()>,
) -> Result<StreamReport, CoreError> {
    assert!(opts.batch_events > 0, "batches hold at least one event");
    let decoders = spawn_decoders(opts.decoders.clamp(1, STREAM_DECODERS_MAX), clock);
    let reader = match opts.pause_us {
        Some(us) => {
            let paused = PausingReader::new(input, Duration::from_micros(us));
            spawn_reader(
                paused,
                opts.batch_events,
                decoders.to,
                decoders.recycled_raw,
            )
        }
        None => spawn_reader(input, opts.batch_events, decoders.to, decoders.recycled_raw),
    };
    let written = write_batches(core, &decoders.from, &decoders.back, on_progress)?;
    if written.stopped {
        return Ok(StreamReport {
            counters: written.counters,
            durable_lsn: core.journal().durable_lsn(),
            read_error: None,
            stopped: true,
        });
    }
    // The input ended: every thread is done or about to be.
    let read_result = reader.join().expect("reader thread panicked");
    for t in decoders.threads {
        t.join().expect("decoder thread panicked");
    }
    Ok(StreamReport {
        counters: written.counters,
        durable_lsn: core.journal().durable_lsn(),
        read_error: read_result.err(),
        stopped: false,
    })
}

/// The decoder threads of [`ingest_reader`] and the queues to and from each.
struct Decoders {
    to: Vec<Sender<RawBatch>>,
    from: Vec<Receiver<Result<EncodedBatch, CoreError>>>,
    /// Encoded batches handed back to each decoder for reuse.
    back: Vec<Sender<EncodedBatch>>,
    /// Raw batches the decoders are done with, for the reader to reuse.
    recycled_raw: Receiver<RawBatch>,
    threads: Vec<JoinHandle<()>>,
}

fn spawn_decoders(n: usize, clock: fn() -> i64) -> Decoders {
    let (recycle_raw, recycled_raw) = bounded::<RawBatch>(n * (STREAM_QUEUE_BATCHES + 1));
    let mut d = Decoders {
        to: Vec::with_capacity(n),
        from: Vec::with_capacity(n),
        back: Vec::with_capacity(n),
        recycled_raw,
        threads: Vec::with_capacity(n),
    };
    for _ in 0..n {
        let (raw_tx, raw_rx) = bounded::<RawBatch>(STREAM_QUEUE_BATCHES);
        let (enc_tx, enc_rx) = bounded::<Result<EncodedBatch, CoreError>>(STREAM_QUEUE_BATCHES);
        let (back_tx, back_rx) = bounded::<EncodedBatch>(STREAM_QUEUE_BATCHES + 2);
        let recycle_raw = recycle_raw.clone();
        d.threads.push(thread::spawn(move || {
            for raw in raw_rx.iter() {
                let mut enc = back_rx.try_recv().unwrap_or_default();
                enc.clear();
                let ingest_us = clock();
                let mut result = Ok(());
                for r in raw.iter() {
                    result = enc.push(&r.decode(), ingest_us);
                    if result.is_err() {
                        break;
                    }
                }
                let _ = recycle_raw.try_send(raw);
                if enc_tx.send(result.map(|()| enc)).is_err() {
                    break; // the writer stopped; its error is reported there
                }
            }
        }));
        d.to.push(raw_tx);
        d.from.push(enc_rx);
        d.back.push(back_tx);
    }
    d
}

/// The reader thread: raw batches to decoder `i % decoders`, in input order.
fn spawn_reader<R: std::io::Read + Send + 'static>(
    input: R,
    batch_events: usize,
    to_decoders: Vec<Sender<RawBatch>>,
    recycled: Receiver<RawBatch>,
) -> JoinHandle<std::io::Result<()>> {
    thread::spawn(move || {
        let mut reader = InputReader::new(input);
        for i in 0.. {
            let mut raw = recycled.try_recv().unwrap_or_default();
            if reader.read_batch(&mut raw, batch_events)? == 0 {
                break;
            }
            if to_decoders[i % to_decoders.len()].send(raw).is_err() {
                break; // the writer stopped; its error is reported there
            }
        }
        Ok(())
    })
}

/// What [`write_batches`] did.
struct Written {
    counters: crate::machine::Counters,
    stopped: bool,
}

/// The writer: journals and applies batch `i` from decoder `i % decoders` until the input
/// ends, reporting every durable step. Under `group`, while records wait to become durable it
/// wakes every group interval to commit and report, so a paused input is still acknowledged.
fn write_batches(
    core: &mut Core,
    from: &[Receiver<Result<EncodedBatch, CoreError>>],
    back: &[Sender<EncodedBatch>],
    on_progress: &mut dyn FnMut(&StreamProgress) -> ControlFlow<()>,
) -> Result<Written, CoreError> {
    let journal_opts = core.journal().options().clone();
    let tick = Duration::from_micros(journal_opts.group_commit_interval_us.max(100));
    let mut counters = crate::machine::Counters::default();
    let mut reported = core.journal().durable_lsn();
    let mut i = 0;
    loop {
        let rx = &from[i % from.len()];
        // Under `group`, never block while a durable step is owed: records not yet durable,
        // or a rise the flusher made after the last report (reported on the next tick).
        let durable_lsn = core.journal().durable_lsn();
        let waiting = journal_opts.durability == Durability::Group
            && (durable_lsn < core.journal().last_lsn() || durable_lsn > reported);
        let next = if waiting {
            match rx.recv_timeout(tick) {
                Ok(b) => Some(b),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => break,
            }
        } else {
            match rx.recv() {
                Ok(b) => Some(b),
                Err(_) => break,
            }
        };
        let applied_batch = next.is_some();
        match next {
            Some(encoded) => {
                let batch = encoded?;
                let report = core.ingest_encoded(&batch);
                let _ = back[i % back.len()].try_send(batch);
                counters.add(&report?.counters);
                i += 1;
            }
            None => idle_commit(core)?,
        }
        let durable_lsn = core.journal().durable_lsn();
        let step = match journal_opts.durability {
            Durability::None => applied_batch,
            Durability::Group | Durability::Sync => durable_lsn > reported,
        };
        if step {
            reported = reported.max(durable_lsn);
            let progress = StreamProgress {
                lsn: core.machine().lsn(),
                durable_lsn,
                counters,
            };
            if on_progress(&progress).is_break() {
                return Ok(Written {
                    counters,
                    stopped: true,
                });
            }
        }
    }
    Ok(Written {
        counters,
        stopped: false,
    })
}

/// Idle under `group`: publish the tail to the flusher, or flush it here when there is none.
fn idle_commit(core: &mut Core) -> Result<(), CoreError> {
    let durable_lsn = core.commit()?;
    if durable_lsn < core.journal().last_lsn() && !core.journal().flushes_in_background() {
        core.flush()?;
    }
    Ok(())
}
