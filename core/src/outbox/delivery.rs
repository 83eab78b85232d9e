//! [`Delivery`]: the threaded shell around the lanes, for the command line and the service.
//!
//! One thread per lane that some effect type travels in (a lane without a sink only moves its
//! cursor over other lanes' effects), each polling its [`Lane`] with the real clock (monotonic, anchored to the wall
//! clock at start, so dead-letter times read as dates). Between polls a lane thread waits on
//! its bounded control channel until its lane's next wake-up, at most `idle_poll_us`
//! (effects appended by another process are seen then), or until [`Delivery::wake`] (the core
//! calls it when its durable LSN rises), a redrive, or [`Delivery::stop`].
//!
//! Each thread publishes its lane's status after every poll ([`Delivery::status`],
//! [`Delivery::wait_until`]), refreshes the lane's status file about once a second, and after
//! its cursor was persisted runs retention over the least persisted cursor of all lanes.
//! An error of the outbox itself (an unreadable file) is shown as the lane's last error and
//! retried after `error_backoff_us`; it never ends the thread.

use super::config::SinksConfig;
use super::lane::Lane;
use super::lanes::Outbox;
use super::lock::Lock;
use super::retention;
use super::sink::{self, Sink};
use super::status::{self, LaneStatus};
use super::{LaneId, OutboxError};
use crate::effect::{Class, Downstream};
use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Where the delivery side reads the journal's durable LSN.
pub type DurableLsn = Arc<dyn Fn() -> u64 + Send + Sync>;

/// A [`DurableLsn`] that reads a shared counter (the journal's published durable LSN).
pub fn durable_from_atomic(lsn: Arc<AtomicU64>) -> DurableLsn {
    Arc::new(move || lsn.load(Ordering::Acquire))
}

/// Timing of the threaded shell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryOptions {
    /// Seeds the lanes' jitter.
    pub seed: u64,
    /// Longest a lane thread sleeps without looking at the log.
    pub idle_poll_us: i64,
    /// How often a lane's status file is refreshed.
    pub status_interval_us: i64,
    /// Wait after an error of the outbox itself before the lane tries again.
    pub error_backoff_us: i64,
}

impl Default for DeliveryOptions {
    fn default() -> Self {
        DeliveryOptions {
            seed: 0x5eed,
            idle_poll_us: 100_000,
            status_interval_us: 1_000_000,
            error_backoff_us: 1_000_000,
        }
    }
}

/// Most control messages queued per lane.
const CONTROL_QUEUE: usize = 8;

enum Control {
    Wake,
    Redrive(Sender<Result<u64, String>>),
}

/// Monotonic microseconds, anchored to the wall clock when delivery started.
#[derive(Clone, Copy)]
struct Clock {
    start: Instant,
    wall_start_us: i64,
}

impl Clock {
    fn new() -> Clock {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as i64);
        Clock {
            start: Instant::now(),
            wall_start_us: wall,
        }
    }

    fn now_us(&self) -> i64 {
        self.wall_start_us
            .saturating_add(self.start.elapsed().as_micros().min(i64::MAX as u128) as i64)
    }
}

struct Shared {
    dir: PathBuf,
    statuses: Mutex<Vec<LaneStatus>>,
    changed: Condvar,
    /// Per lane, the persisted cursor (retention takes the least).
    persisted: Vec<AtomicU64>,
    retention: Mutex<u64>,
    stop: AtomicBool,
}

impl Shared {
    fn statuses(&self) -> MutexGuard<'_, Vec<LaneStatus>> {
        self.statuses.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Delivery running on its own threads; stopped by [`Delivery::stop`] (or when dropped).
pub struct Delivery {
    threads: Vec<JoinHandle<()>>,
    controls: Vec<Sender<Control>>,
    shared: Arc<Shared>,
    _lock: Lock,
}

impl Delivery {
    /// Starts delivering the effects of the journal in `journal_dir` to the sinks of `config`.
    pub fn start(
        journal_dir: &Path,
        config: &SinksConfig,
        durable_lsn: DurableLsn,
    ) -> Result<Delivery, OutboxError> {
        let sinks = sink::build(config)?;
        Delivery::start_with(
            journal_dir,
            config,
            sinks,
            durable_lsn,
            DeliveryOptions::default(),
        )
    }

    /// [`Self::start`] with sinks of the caller's (one per lane, in [`LaneId::index`] order;
    /// `None`: not delivered) and options.
    pub fn start_with(
        journal_dir: &Path,
        config: &SinksConfig,
        sinks: Vec<Option<Box<dyn Sink>>>,
        durable_lsn: DurableLsn,
        opts: DeliveryOptions,
    ) -> Result<Delivery, OutboxError> {
        assert_eq!(sinks.len(), LaneId::COUNT, "one sink (or none) per lane");
        assert!(opts.idle_poll_us >= 1 && opts.error_backoff_us >= 1);
        let outbox = Outbox::open(journal_dir, config, opts.seed)?;
        let (dir, lanes, lock) = outbox.into_parts();
        let clock = Clock::new();
        let now = clock.now_us();
        let shared = Arc::new(Shared {
            dir,
            statuses: Mutex::new(lanes.iter().map(|l| l.status(now)).collect()),
            changed: Condvar::new(),
            persisted: lanes
                .iter()
                .map(|l| AtomicU64::new(l.persisted_position().cursor_seq))
                .collect(),
            retention: Mutex::new(0),
            stop: AtomicBool::new(false),
        });
        let mut threads = Vec::with_capacity(LaneId::COUNT);
        let mut controls = Vec::with_capacity(LaneId::COUNT);
        let in_use = LaneId::in_use();
        for (lane, sink) in lanes.into_iter().zip(sinks) {
            let (tx, rx) = bounded(CONTROL_QUEUE);
            controls.push(tx);
            if !in_use.contains(&lane.id()) {
                // No effect ever travels here: shown as parked and idle, never polled.
                let mut s = lane.status(now);
                (s.parked, s.idle) = (true, true);
                shared.statuses()[lane.id().index()] = s;
                continue;
            }
            let ctx = LaneThread {
                shared: Arc::clone(&shared),
                durable: Arc::clone(&durable_lsn),
                clock,
                opts: opts.clone(),
                rx,
                error: None,
                status_written_us: None,
            };
            let name = format!("effects-{}", lane.id().file_stem());
            let handle = std::thread::Builder::new()
                .name(name.clone())
                .spawn(move || ctx.run(lane, sink))
                .map_err(|e| OutboxError::io(Path::new(&name), e))?;
            threads.push(handle);
        }
        Ok(Delivery {
            threads,
            controls,
            shared,
            _lock: lock,
        })
    }

    /// Wakes every lane (new effects, or a higher durable LSN). Never blocks.
    pub fn wake(&self) {
        for tx in &self.controls {
            match tx.try_send(Control::Wake) {
                Ok(()) | Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {}
            }
        }
    }

    /// Every lane's status as last published, in [`LaneId::index`] order.
    pub fn status(&self) -> Vec<LaneStatus> {
        self.shared.statuses().clone()
    }

    /// Waits until `done` holds for the lanes' statuses (`true`) or `deadline` passes (`false`).
    pub fn wait_until(&self, deadline: Instant, done: impl Fn(&[LaneStatus]) -> bool) -> bool {
        let mut s = self.shared.statuses();
        loop {
            if done(&s) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            s = self
                .shared
                .changed
                .wait_timeout(s, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Makes the dead letters of `sink` pending again (both lanes). Waits at most `timeout`
    /// for the lanes (one may be in the middle of a call to its sink).
    pub fn redrive(&self, sink: Downstream, timeout: Duration) -> Result<u64, OutboxError> {
        let deadline = Instant::now() + timeout;
        let mut total = 0;
        let in_use = LaneId::in_use();
        for class in Class::ALL {
            let lane = LaneId::new(sink, class);
            if !in_use.contains(&lane) {
                continue;
            }
            let (tx, rx) = bounded(1);
            let late = || OutboxError::Locked(self.shared.dir.join(format!("{lane}")));
            self.controls[lane.index()]
                .send_deadline(Control::Redrive(tx), deadline)
                .map_err(|_| late())?;
            match rx.recv_deadline(deadline) {
                Ok(Ok(n)) => total += n,
                Ok(Err(e)) => {
                    return Err(OutboxError::io(&self.shared.dir, std::io::Error::other(e)));
                }
                Err(_) => return Err(late()),
            }
        }
        Ok(total)
    }

    /// Stops every lane (each finishes the call it is in), persists their positions and
    /// returns their last statuses.
    pub fn stop(mut self) -> Vec<LaneStatus> {
        self.shutdown();
        self.status()
    }

    fn shutdown(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        self.wake();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for Delivery {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// What one lane thread holds besides its lane and sink.
struct LaneThread {
    shared: Arc<Shared>,
    durable: DurableLsn,
    clock: Clock,
    opts: DeliveryOptions,
    rx: Receiver<Control>,
    /// The last error of the outbox itself, shown as the lane's last error.
    error: Option<(String, i64)>,
    status_written_us: Option<i64>,
}

impl LaneThread {
    fn run(mut self, mut lane: Lane, mut sink: Option<Box<dyn Sink>>) {
        while !self.shared.stop.load(Ordering::Acquire) {
            let now = self.clock.now_us();
            let durable = (self.durable)();
            let sink_ref = sink.as_mut().map(|s| s.as_mut() as &mut dyn Sink);
            let wake = match lane.poll(now, durable, sink_ref) {
                Ok(w) => {
                    self.error = None;
                    w
                }
                Err(e) => {
                    self.error = Some((format!("outbox: {e}"), now));
                    now.saturating_add(self.opts.error_backoff_us)
                }
            };
            self.publish(&lane, false);
            let wait_us = wake
                .saturating_sub(self.clock.now_us())
                .clamp(0, self.opts.idle_poll_us);
            self.wait(&mut lane, wait_us);
        }
        if let Err(e) = lane.persist(self.clock.now_us()) {
            self.error = Some((format!("outbox: {e}"), self.clock.now_us()));
        }
        self.publish(&lane, true);
    }

    /// Waits up to `wait_us` for a control message and handles those that came.
    fn wait(&mut self, lane: &mut Lane, wait_us: i64) {
        let first = match wait_us {
            0 => self.rx.try_recv().ok(),
            us => self.rx.recv_timeout(Duration::from_micros(us as u64)).ok(),
        };
        for c in first.into_iter().chain(self.rx.try_iter()) {
            if let Control::Redrive(reply) = c {
                let r = lane.redrive().map_err(|e| e.to_string());
                let _ = reply.send(r);
            }
        }
    }

    fn publish(&mut self, lane: &Lane, last: bool) {
        let now = self.clock.now_us();
        let mut s = lane.status(now);
        if let Some((e, at)) = &self.error {
            s.last_error = Some(e.clone());
            s.last_error_us = Some(*at);
        }
        let i = lane.id().index();
        let persisted = lane.persisted_position().cursor_seq;
        let moved = self.shared.persisted[i].swap(persisted, Ordering::AcqRel) != persisted;
        let due = self
            .status_written_us
            .is_none_or(|t| now - t >= self.opts.status_interval_us);
        if last || due {
            // Informational: a failure to write it is not the lane's failure.
            let _ = status::write(&self.shared.dir, &s, now);
            self.status_written_us = Some(now);
        }
        self.shared.statuses()[i] = s;
        self.shared.changed.notify_all();
        if moved {
            self.retain();
        }
    }

    /// Deletes the segments every lane's persisted cursor passed (one lane thread at a time).
    fn retain(&mut self) {
        let Ok(mut done_through) = self.shared.retention.try_lock() else {
            return;
        };
        let through = LaneId::in_use()
            .iter()
            .map(|l| self.shared.persisted[l.index()].load(Ordering::Acquire))
            .min()
            .unwrap_or(0);
        if through <= *done_through {
            return;
        }
        match retention::delete_acknowledged(&self.shared.dir, through) {
            Ok(_) => *done_through = through,
            Err(e) => self.error = Some((format!("outbox retention: {e}"), self.clock.now_us())),
        }
    }
}
