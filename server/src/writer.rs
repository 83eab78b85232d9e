//! The writer thread: the only owner of the core. Handlers send it encoded batches and queries
//! over one bounded queue; it journals and applies each batch as one unit and answers once the
//! batch is durable under the configured durability. It never waits for a handler.

use crate::config::ServeConfig;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError, bounded};
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;
use waybill_core::engine::{BatchReport, Core, CoreError};
use waybill_core::outbox::{Delivery, LaneStatus, durable_from_atomic};
use waybill_core::pipeline::EncodedBatch;
use waybill_core::{Durability, ErrorKind, Options, Outcome};

/// How often the writer looks at the durable LSN while answers wait for it.
const DURABLE_POLL: Duration = Duration::from_micros(250);
/// Shipments and vehicles the running summary counts per idle tick.
const IDLE_SUMMARY_BUDGET: usize = 4_096;
/// Least the running summary counts after each batch.
const BATCH_SUMMARY_BUDGET_MIN: usize = 256;
/// How long the writer sleeps when nothing waits.
const IDLE_WAIT: Duration = Duration::from_millis(20);

/// A batch's answer: each event's LSN and outcome in request order, and the batch's report.
#[derive(Debug)]
pub struct Ingested {
    /// `(lsn, outcome)` per event, in the order of the request.
    pub outcomes: Vec<(u64, Outcome)>,
    /// Counters and LSNs of the batch.
    pub report: BatchReport,
    /// Every record up to this LSN is durable.
    pub durable_lsn: u64,
    /// When the writer had applied the batch (before it was durable).
    pub applied_at: Instant,
}

/// Why a batch was not journaled (nothing of it was).
#[derive(Debug, Clone)]
pub struct Refused {
    /// The kind of the core's error.
    pub kind: ErrorKind,
    /// The error, one line.
    pub message: String,
}

/// What a request waits on.
pub type Reply = oneshot::Receiver<Result<Ingested, Refused>>;

type Query = Box<dyn FnOnce(&mut Core) + Send>;
type LanesQuery = Box<dyn FnOnce(&mut Core, Option<Vec<LaneStatus>>) + Send>;

enum Command {
    Ingest {
        batch: EncodedBatch,
        reply: oneshot::Sender<Result<Ingested, Refused>>,
    },
    Query(Query),
    QueryLanes(LanesQuery),
    Stop,
}

/// Figures the writer publishes for readers that must not wait for it.
#[derive(Debug, Default)]
pub struct Published {
    /// Last LSN journaled and applied.
    pub lsn: AtomicU64,
    /// Batches waiting in the queue or being applied.
    pub queued: AtomicU64,
    /// Set once the journal is open (snapshot loaded, tail replayed).
    pub ready: AtomicBool,
}

/// Handle to the writer thread.
pub struct Writer {
    tx: Sender<Command>,
    handle: parking_lot::Mutex<Option<JoinHandle<Result<(), CoreError>>>>,
    durable: Arc<AtomicU64>,
    published: Arc<Published>,
}

/// The queue is full: the core is busy (answer 429 with `Retry-After`).
#[derive(Debug)]
pub struct Busy;

impl Writer {
    /// Opens the journal of `config` (loading the newest snapshot and replaying the tail), starts
    /// delivery to the configured sinks, and moves the core onto its own thread.
    pub fn start(config: &ServeConfig) -> Result<Writer, CoreError> {
        let mut options = Options::new()
            .durability(config.durability)
            .snapshots(config.snapshots.policy());
        if let Some(sla) = config.sla {
            options = options.sla(sla.targets());
        }
        let core = options.open_core(&config.journal)?;
        let durable = core.journal().durable_handle();
        let delivery = if config.sinks.any_configured() {
            let lsn = durable_from_atomic(Arc::clone(&durable));
            Some(Delivery::start(&config.journal, &config.sinks, lsn)?)
        } else {
            None
        };
        let published = Arc::new(Published::default());
        published.lsn.store(core.machine().lsn(), Ordering::Release);
        published.ready.store(true, Ordering::Release);
        let (tx, rx) = bounded(config.limits.queue_batches);
        let thread = WriterThread {
            core,
            delivery,
            durability: config.durability,
            published: Arc::clone(&published),
            pending: VecDeque::new(),
            outcomes: Vec::new(),
        };
        let handle = std::thread::Builder::new()
            .name("waybill-writer".to_owned())
            .spawn(move || thread.run(rx))
            .expect("spawn the writer thread");
        Ok(Writer {
            tx,
            handle: parking_lot::Mutex::new(Some(handle)),
            durable,
            published,
        })
    }

    /// Hands a batch to the writer without waiting: `Busy` when the queue is full.
    pub fn try_ingest(&self, batch: EncodedBatch) -> Result<Reply, Busy> {
        let (reply, rx) = oneshot::channel();
        match self.tx.try_send(Command::Ingest { batch, reply }) {
            Ok(()) => {
                self.published.queued.fetch_add(1, Ordering::AcqRel);
                Ok(rx)
            }
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => Err(Busy),
        }
    }

    /// Runs `read` on the writer thread between two batches; `Busy` when the queue is full.
    pub async fn query<R: Send + 'static>(
        &self,
        read: impl FnOnce(&mut Core) -> R + Send + 'static,
    ) -> Result<R, Busy> {
        let (tx, rx) = oneshot::channel();
        let q: Query = Box::new(move |core| drop(tx.send(read(core))));
        self.tx.try_send(Command::Query(q)).map_err(|_| Busy)?;
        rx.await.map_err(|_| Busy)
    }

    /// [`Self::query`], with every delivery lane's status as the delivery last published it
    /// (`None` when no sink is configured, so nothing delivers).
    pub async fn query_lanes<R: Send + 'static>(
        &self,
        read: impl FnOnce(&mut Core, Option<Vec<LaneStatus>>) -> R + Send + 'static,
    ) -> Result<R, Busy> {
        let (tx, rx) = oneshot::channel();
        let q: LanesQuery = Box::new(move |core, lanes| drop(tx.send(read(core, lanes))));
        self.tx.try_send(Command::QueryLanes(q)).map_err(|_| Busy)?;
        rx.await.map_err(|_| Busy)
    }

    /// Every record up to this LSN is durable.
    pub fn durable_lsn(&self) -> u64 {
        self.durable.load(Ordering::Acquire)
    }

    /// What the writer publishes.
    pub fn published(&self) -> &Published {
        &self.published
    }

    /// Stops the writer once the queue is drained: what was accepted is journaled, made
    /// durable and answered; delivery stops (cursors kept); a snapshot is written when the
    /// policy asks for one at close.
    /// Later calls (and calls after the thread ended) return `Ok`.
    pub fn stop(&self) -> Result<(), CoreError> {
        let Some(handle) = self.handle.lock().take() else {
            return Ok(());
        };
        // Queued before the stop, so every batch already accepted is handled first.
        let _ = self.tx.send(Command::Stop);
        handle.join().expect("the writer thread does not panic")
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// An answer waiting for its batch to be durable.
struct Pending {
    last_lsn: u64,
    reply: oneshot::Sender<Result<Ingested, Refused>>,
    answer: Ingested,
}

struct WriterThread {
    core: Core,
    delivery: Option<Delivery>,
    durability: Durability,
    published: Arc<Published>,
    /// In LSN order (batches are applied in order).
    pending: VecDeque<Pending>,
    outcomes: Vec<(u64, Outcome)>,
}

impl WriterThread {
    fn run(mut self, rx: Receiver<Command>) -> Result<(), CoreError> {
        loop {
            let wait = if self.pending.is_empty() {
                IDLE_WAIT
            } else {
                DURABLE_POLL
            };
            match rx.recv_timeout(wait) {
                Ok(Command::Ingest { batch, reply }) => self.ingest(&batch, reply),
                Ok(Command::Query(read)) => read(&mut self.core),
                Ok(Command::QueryLanes(read)) => {
                    read(&mut self.core, self.delivery.as_ref().map(Delivery::status));
                }
                Err(RecvTimeoutError::Timeout) => self.idle()?,
                Ok(Command::Stop) | Err(RecvTimeoutError::Disconnected) => break,
            }
            self.answer_durable();
        }
        self.core.flush()?;
        self.answer_durable();
        debug_assert!(self.pending.is_empty(), "everything accepted was answered");
        if let Some(d) = self.delivery.take() {
            d.stop();
        }
        self.core.close()?;
        Ok(())
    }

    fn ingest(&mut self, batch: &EncodedBatch, reply: oneshot::Sender<Result<Ingested, Refused>>) {
        self.published.queued.fetch_sub(1, Ordering::AcqRel);
        let result = self.core.ingest_encoded_outcomes(batch, &mut self.outcomes);
        let report = match result {
            Ok(r) => r,
            Err(e) => {
                let refused = Refused {
                    kind: e.kind(),
                    message: e.to_string(),
                };
                let _ = reply.send(Err(refused));
                return;
            }
        };
        debug_assert_eq!(self.outcomes.len(), batch.len());
        self.published.lsn.store(report.last_lsn, Ordering::Release);
        if let Some(d) = &self.delivery {
            d.wake();
        }
        // Keep the running summary close behind: about as many entities as the batch changed.
        self.core
            .refresh_summary(batch.len().max(BATCH_SUMMARY_BUDGET_MIN));
        let answer = Ingested {
            outcomes: std::mem::take(&mut self.outcomes),
            report,
            durable_lsn: report.durable_lsn,
            applied_at: Instant::now(),
        };
        debug_assert!(
            self.pending
                .back()
                .is_none_or(|p| p.last_lsn <= report.last_lsn)
        );
        self.pending.push_back(Pending {
            last_lsn: report.last_lsn,
            reply,
            answer,
        });
    }

    /// Nothing arrived for a while: make the tail durable without waiting for more input.
    fn idle(&mut self) -> Result<(), CoreError> {
        // Keep the running summary caught up while nothing else is to do.
        self.core.refresh_summary(IDLE_SUMMARY_BUDGET);
        let lsn = self.core.commit()?;
        let journal = self.core.journal();
        if lsn < journal.last_lsn() && !journal.flushes_in_background() {
            self.core.flush()?;
        }
        Ok(())
    }

    /// Answers every batch whose last record is durable (all of them under `none`, which
    /// promises nothing more than the write).
    fn answer_durable(&mut self) {
        let durable = self.core.journal().durable_lsn();
        while let Some(p) = self.pending.front() {
            if self.durability != Durability::None && p.last_lsn > durable {
                break;
            }
            let mut p = self.pending.pop_front().expect("a front entry");
            p.answer.durable_lsn = durable;
            let _ = p.reply.send(Ok(p.answer));
        }
    }
}
