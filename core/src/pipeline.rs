//! The pipelined ingest path: encoding (and decoding) on the producer side, journal and apply
//! on a core thread, batches handed over bounded queues and recycled.
//!
//! ```text
//!  producer thread(s)                     core thread (the single writer)
//!  decode / take typed entries            journal append (frame, header CRC, XXH3 chain
//!  rkyv-serialize into one aligned  ──►   link over a fixed-size input, copy into the
//!  buffer (EncodedBatch); payload         pre-faulted mapping), then Machine::step on the
//!  CRC32C + XXH3-128 (PayloadSums)        payload as it sits in the mapping; commit per
//!                          bounded queue  batch; acks ──► caller
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
//! allocations are those of decoding itself (owned strings of an [`Entry`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, bounded};
use rkyv::rancor;
use rkyv::util::AlignedVec;

use crate::engine::{BatchReport, Core, CoreError};
use crate::event::{ArchivedEntry, Entry};
use crate::journal::{Durability, FRAME_ALIGN_BYTES, PayloadSums};
use crate::machine::Machine;

/// Entries serialized for the journal, back to back in one reusable 16-byte aligned buffer,
/// each with its ingest time and its [`PayloadSums`] (CRC32C and XXH3-128, computed here so
/// the core thread does not hash payloads). Only [`EncodedBatch::push`] fills it, so every
/// payload is the rkyv archive of a valid [`Entry`] and its sums are its own.
#[derive(Debug, Default)]
pub struct EncodedBatch {
    bytes: AlignedVec<16>,
    records: Vec<EncodedRecord>,
    /// The longest payload held.
    max_payload_bytes: usize,
}

#[derive(Debug, Clone, Copy)]
struct EncodedRecord {
    start: u32,
    len: u32,
    ingest_us: i64,
    sums: PayloadSums,
}

/// Upper bound on the bytes of one [`EncodedBatch`] (offsets are u32).
pub const MAX_BATCH_BYTES: usize = 1 << 31;

impl EncodedBatch {
    pub fn new() -> Self {
        Self::default()
    }

    /// Empties the batch, keeping its memory.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.records.clear();
        self.max_payload_bytes = 0;
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Bytes of payload held (padding included).
    pub fn bytes_len(&self) -> usize {
        self.bytes.len()
    }

    /// The longest payload held, in bytes.
    pub fn max_payload_bytes(&self) -> usize {
        self.max_payload_bytes
    }

    /// Checks `entry` ([`crate::validate::entry`]: an invalid one is
    /// [`CoreError::Invalid`] and the batch is unchanged), serializes it (the same bytes
    /// [`Core::submit`] journals) and computes the payload's sums. `ingest_us` is the ingest
    /// time to journal it with.
    pub fn push(&mut self, entry: &Entry, ingest_us: i64) -> Result<(), CoreError> {
        crate::validate::entry(entry)
            .map_err(|invalid| CoreError::Invalid { index: 0, invalid })?;
        self.push_valid(entry, ingest_us)
    }

    /// [`Self::push`] for an entry the validator already passed: one that
    /// [`crate::decode::decode`] returned (it runs the validator on every event and only makes
    /// dead letters that pass it).
    pub fn push_decoded(&mut self, entry: &Entry, ingest_us: i64) -> Result<(), CoreError> {
        debug_assert_eq!(crate::validate::entry(entry), Ok(()));
        self.push_valid(entry, ingest_us)
    }

    fn push_valid(&mut self, entry: &Entry, ingest_us: i64) -> Result<(), CoreError> {
        let aligned = self.bytes.len().next_multiple_of(FRAME_ALIGN_BYTES);
        self.bytes.resize(aligned, 0);
        let start = self.bytes.len();
        // Serialized in place after the previous payloads: rkyv's relative pointers and
        // padding only depend on positions modulo the alignment (at most 16), so the bytes are
        // those of a fresh buffer.
        let bytes = std::mem::take(&mut self.bytes);
        self.bytes = rkyv::api::high::to_bytes_in::<_, rancor::Error>(entry, bytes)
            .map_err(|e| CoreError::Encode(e.to_string()))?;
        let end = self.bytes.len();
        if end > MAX_BATCH_BYTES {
            self.bytes.resize(start, 0);
            return Err(CoreError::Encode(format!(
                "encoded batch larger than {MAX_BATCH_BYTES} bytes"
            )));
        }
        let sums = PayloadSums::of(&self.bytes[start..end]);
        self.max_payload_bytes = self.max_payload_bytes.max(end - start);
        self.records.push(EncodedRecord {
            start: start as u32,
            len: (end - start) as u32,
            ingest_us,
            sums,
        });
        Ok(())
    }

    /// The `i`-th payload and its ingest time.
    pub(crate) fn record(&self, i: usize) -> (&[u8], i64) {
        let r = &self.records[i];
        let start = r.start as usize;
        (&self.bytes[start..start + r.len as usize], r.ingest_us)
    }

    /// The `i`-th entry, archived.
    pub(crate) fn entry(&self, i: usize) -> &ArchivedEntry {
        // SAFETY: payloads are only ever written by `push_valid`, which serializes a valid
        // `Entry` with rkyv at a 16-byte aligned offset of this 16-byte aligned buffer; the
        // slice is exactly those bytes and nothing else writes there.
        unsafe { rkyv::access_unchecked::<ArchivedEntry>(self.record(i).0) }
    }

    /// The sums of the `i`-th payload.
    pub(crate) fn sums(&self, i: usize) -> PayloadSums {
        self.records[i].sums
    }
}

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

/// What [`ingest_reader`] did.
#[derive(Debug)]
pub struct StreamReport {
    /// Counters of the events read (this stream only).
    pub counters: crate::machine::Counters,
    /// Durable LSN after the last batch (not flushed at the end: call [`Core::flush`]).
    pub durable_lsn: u64,
    /// Reading the input failed after `counters.received` events (which are journaled).
    pub read_error: Option<std::io::Error>,
}

/// Ingests a whole JSONL or batch-array stream: a reader thread splits it into raw batches,
/// `decoders` threads decode and encode them (batch `i` to decoder `i % decoders`), and the
/// calling thread journals and applies them in input order (taking batch `i` back from
/// decoder `i % decoders`), so the journal is exactly what [`Core::ingest_raw`] would write
/// whatever the thread timing. `clock` gives each batch its ingest time. Bounded queues
/// throughout; batches are recycled.
pub fn ingest_reader<R: std::io::Read + Send + 'static>(
    input: R,
    core: &mut Core,
    decoders: usize,
    clock: fn() -> i64,
) -> Result<StreamReport, CoreError> {
    use crate::input::{InputReader, RawBatch};
    const BATCH_EVENTS: usize = 4096;
    const QUEUE_BATCHES: usize = 4;
    let decoders = decoders.clamp(1, 16);
    let mut to_decoders = Vec::with_capacity(decoders);
    let mut from_decoders = Vec::with_capacity(decoders);
    let mut recycle_encoded = Vec::with_capacity(decoders);
    let (recycle_raw_tx, recycle_raw_rx) = bounded::<RawBatch>(decoders * (QUEUE_BATCHES + 1));
    let mut threads = Vec::with_capacity(decoders);
    for _ in 0..decoders {
        let (raw_tx, raw_rx) = bounded::<RawBatch>(QUEUE_BATCHES);
        let (enc_tx, enc_rx) = bounded::<Result<EncodedBatch, CoreError>>(QUEUE_BATCHES);
        let (back_tx, back_rx) = bounded::<EncodedBatch>(QUEUE_BATCHES + 2);
        let recycle_raw = recycle_raw_tx.clone();
        threads.push(thread::spawn(move || {
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
                    break; // the core stopped; its error is reported there
                }
            }
        }));
        to_decoders.push(raw_tx);
        from_decoders.push(enc_rx);
        recycle_encoded.push(back_tx);
    }
    drop(recycle_raw_tx);
    let reader = thread::spawn(move || -> std::io::Result<()> {
        let mut reader = InputReader::new(input);
        let mut i = 0;
        loop {
            let mut raw = recycle_raw_rx.try_recv().unwrap_or_default();
            if reader.read_batch(&mut raw, BATCH_EVENTS)? == 0 {
                break;
            }
            if to_decoders[i % decoders].send(raw).is_err() {
                break; // the core stopped; its error is reported there
            }
            i += 1;
        }
        Ok(())
    });

    let mut counters = crate::machine::Counters::default();
    let mut durable_lsn = core.journal().durable_lsn();
    let mut core_error = None;
    let mut i = 0;
    while let Ok(encoded) = from_decoders[i % decoders].recv() {
        let result = encoded.and_then(|batch| {
            let report = core.ingest_encoded(&batch);
            let _ = recycle_encoded[i % decoders].try_send(batch);
            report
        });
        match result {
            Ok(report) => {
                counters.add(&report.counters);
                durable_lsn = report.durable_lsn;
            }
            Err(e) => {
                core_error = Some(e);
                break;
            }
        }
        i += 1;
    }
    drop(from_decoders);
    let read_result = reader.join().expect("reader thread panicked");
    for t in threads {
        t.join().expect("decoder thread panicked");
    }
    if let Some(e) = core_error {
        return Err(e);
    }
    Ok(StreamReport {
        counters,
        durable_lsn,
        read_error: read_result.err(),
    })
}
