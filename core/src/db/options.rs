//! [`Options`]: how a [`Waybill`] (or a [`Core`], or a [`Pipeline`]) is opened.

use super::Waybill;
use crate::effect::{Downstream, SlaTargets};
use crate::engine::{Core, CoreError};
use crate::journal::{Durability, JournalOptions};
use crate::limits::Limits;
use crate::outbox::{Sink, SinksConfig};
use crate::pipeline::{Pipeline, PipelineOptions};
use crate::snapshot::policy::SnapshotPolicy;
use std::fmt;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// A Rust sink for both lanes (urgent and financial) of one downstream system: each lane
/// delivers on its own thread to its own clone.
pub(crate) type SinkMaker = Box<dyn Fn() -> Box<dyn Sink>>;

/// How to open a journal: a builder, each setting with a default.
///
/// ```
/// use waybill_core::{Durability, Options};
///
/// let dir = tempfile::tempdir()?;
/// let waybill = Options::new()
///     .durability(Durability::Sync)          // every ingest call durable on return
///     .segment_bytes(16 << 20)               // 16 MiB journal segments
///     .open(dir.path())?;
/// assert_eq!(waybill.summary().lsn, 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Options {
    pub(crate) journal: JournalOptions,
    pub(crate) snapshots: SnapshotPolicy,
    pub(crate) limits: Limits,
    pub(crate) sla: Option<SlaTargets>,
    pub(crate) sinks: SinksConfig,
    pub(crate) rust_sinks: Vec<(Downstream, SinkMaker)>,
    pub(crate) clock: fn() -> i64,
    pub(crate) keep_effects: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options::new()
    }
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rust_sinks: Vec<&str> = self.rust_sinks.iter().map(|(d, _)| d.as_str()).collect();
        f.debug_struct("Options")
            .field("journal", &self.journal)
            .field("snapshots", &self.snapshots)
            .field("limits", &self.limits)
            .field("sla", &self.sla)
            .field("sinks", &self.sinks)
            .field("rust_sinks", &rust_sinks)
            .field("keep_effects", &self.keep_effects)
            .finish_non_exhaustive()
    }
}

impl Options {
    /// The defaults: `group` durability, 64 MiB segments, a snapshot every 5 M records (and
    /// at close after 100 k), the structural capacity limits, no SLA targets, no sinks (effects
    /// are kept in the outbox, pending), the system clock for ingest times.
    pub fn new() -> Options {
        Options {
            journal: JournalOptions::default(),
            snapshots: SnapshotPolicy::default(),
            limits: Limits::default(),
            sla: None,
            sinks: SinksConfig::default(),
            rust_sinks: Vec::new(),
            clock: system_clock_us,
            keep_effects: true,
        }
    }

    /// When appended records reach the disk: `None` (page cache; [`Waybill::flush`] makes
    /// them durable), `Group` (flushed together at most every group-commit interval; the
    /// default) or `Sync` (every call flushes before it returns).
    pub fn durability(mut self, durability: Durability) -> Options {
        self.journal.durability = durability;
        self
    }

    /// Under `Group`, the least time between two flushes, in microseconds (default 2,000).
    pub fn group_commit_interval_us(mut self, interval_us: u64) -> Options {
        self.journal.group_commit_interval_us = interval_us;
        self
    }

    /// Size of each new journal segment file, in bytes: a multiple of 4,096 between 64 KiB
    /// and 1 GiB (default 64 MiB; checked at open). Existing segments keep their size.
    pub fn segment_bytes(mut self, bytes: u64) -> Options {
        self.journal.segment_bytes = bytes;
        self
    }

    /// When snapshots are taken: every `every_records` records in the background, at close
    /// past `on_close_min_records`, keeping the newest `keep`. A snapshot bounds the replay
    /// that opening does; [`SnapshotPolicy::OFF`] takes none.
    pub fn snapshots(mut self, policy: SnapshotPolicy) -> Options {
        self.snapshots = policy;
        self
    }

    /// Capacity limits batches are admitted under (at most the structural ceilings of
    /// [`Limits::default`]; checked at open). A batch that would overfill a store is refused
    /// whole with an error of kind [`crate::ErrorKind::Capacity`].
    pub fn limits(mut self, limits: Limits) -> Options {
        self.limits = limits;
        self
    }

    /// SLA targets, journaled at open when they differ from the journal's (a settings
    /// record: not an event, not counted). Breaches become `alert.sla_breached` effects.
    pub fn sla(mut self, targets: SlaTargets) -> Options {
        self.sla = Some(targets);
        self
    }

    /// The built-in sinks (`http`, `file`, `stdout`) and their lanes' settings (batch size,
    /// retries, breaker), as the `[sinks.*]` tables of a configuration file hold them. The
    /// effects of a downstream system with no sink stay pending in the outbox.
    pub fn sinks(mut self, sinks: SinksConfig) -> Options {
        self.sinks = sinks;
        self
    }

    /// Delivers the effects of `downstream` to a Rust [`Sink`]: one clone per lane (urgent
    /// and financial), each called on its own thread with batches in effect order, at least
    /// once (a batch the sink refuses is retried with backoff; see the sink trait). Replaces a
    /// built-in sink configured for the same system; lane settings come from [`Self::sinks`]
    /// when it names the system, else the defaults.
    pub fn sink<S: Sink + Clone + 'static>(mut self, downstream: Downstream, sink: S) -> Options {
        self.rust_sinks.retain(|(d, _)| *d != downstream);
        self.rust_sinks
            .push((downstream, Box::new(move || Box::new(sink.clone()))));
        self
    }

    /// The clock that stamps each batch's ingest time (microseconds since the Unix epoch;
    /// journaled, and the time effects are derived at). The default reads the system clock;
    /// a fixed clock makes a run repeatable byte for byte.
    pub fn clock(mut self, clock_us: fn() -> i64) -> Options {
        self.clock = clock_us;
        self
    }

    /// Whether effects are derived and kept in the outbox (`<journal>/effects/`); on by
    /// default. Off, nothing is delivered; turning it on later derives the missing ones again.
    pub fn keep_effects(mut self, keep: bool) -> Options {
        self.keep_effects = keep;
        self
    }

    /// Opens (or creates) the journal in `dir` and rebuilds its state, starting delivery to
    /// the configured sinks. See [`Waybill::open`].
    pub fn open(self, dir: impl AsRef<Path>) -> Result<Waybill, CoreError> {
        Waybill::open_with(dir.as_ref(), self)
    }

    /// Opens the lower-level single writer with these options (sinks are not started: see
    /// [`crate::outbox::Delivery`]).
    pub fn open_core(&self, dir: impl AsRef<Path>) -> Result<Core, CoreError> {
        let mut core = Core::open(dir.as_ref(), self.journal.clone())?;
        core.set_limits(self.limits)?;
        core.set_snapshot_policy(self.snapshots.clone());
        if self.keep_effects {
            core.start_effects()?;
        }
        if let Some(sla) = self.sla {
            core.set_settings(sla, (self.clock)())?;
        }
        Ok(core)
    }

    /// Opens the journal in `dir` as a [`Pipeline`]: the core on its own thread, fed encoded
    /// batches by producers on any number of threads (sinks are not started: see
    /// [`crate::outbox::Delivery`]).
    ///
    /// ```
    /// use waybill_core::{Options, PipelineOptions};
    /// use waybill_core::input::{InputReader, RawBatch};
    ///
    /// # let dir = tempfile::tempdir()?;
    /// let pipeline = Options::new().open_pipeline(dir.path(), PipelineOptions::default())?;
    /// // A producer thread: decode raw events into an encoded batch, send it.
    /// let day = std::fs::read("examples/day.jsonl")?;
    /// let mut raw = RawBatch::new();
    /// InputReader::new(&day[..]).read_batch(&mut raw, 4096)?;
    /// let mut batch = pipeline.batch();
    /// for event in raw.iter() {
    ///     batch.push(&event.decode(), waybill_core::system_clock_us())?;
    /// }
    /// pipeline.send(batch).expect("the core thread runs");
    /// let ack = pipeline.acks().recv()?; // one per batch
    /// assert_eq!(ack.counters.received, raw.len() as u64);
    /// pipeline.finish()?.close()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open_pipeline(
        &self,
        dir: impl AsRef<Path>,
        pipeline: PipelineOptions,
    ) -> Result<Pipeline, CoreError> {
        Ok(Pipeline::start(self.open_core(dir)?, pipeline))
    }
}

/// The system clock in microseconds since the Unix epoch (0 before it).
pub fn system_clock_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}
