//! [`Waybill`]: the core behind one small API, for services that embed it.
//!
//! It wraps the single writer ([`Core`]: journal + machine), the outbox's delivery threads and
//! the readers of the journal, so an embedder opens a directory, ingests, reads state and
//! effects, and closes, with one error type ([`CoreError`], also named [`crate::Error`]).

mod effects;
mod options;
mod records;

pub use effects::{Effects, SinkFn, sink_fn};
pub use options::{Options, system_clock_us};
pub use records::{DeadLetterRecord, HistoryRecord, dead_letters, history};

use crate::engine::{BatchReport, Core, CoreError};
use crate::event::{Entry, Event};
use crate::input::{InputReader, RawBatch};
use crate::machine::{Counters, Summary};
use crate::outbox::{Delivery, DeliveryOptions, LaneId, LaneStatus, durable_from_atomic};
use crate::pipeline::{StreamOptions, ingest_reader};
use crate::state::{ShipmentView, VehicleView};
use std::io::Read;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Most events journaled as one batch by [`Waybill::ingest`] (each batch is one unit: all of
/// it is journaled or none of it).
pub const INGEST_BATCH_EVENTS: usize = 4096;

/// An open journal with its state: the embedding API.
///
/// ```
/// use waybill_core::Waybill;
///
/// let dir = tempfile::tempdir()?;
/// let mut waybill = Waybill::open(dir.path())?;
/// let line = br#"{"specversion":"1.0","id":"erp-main-1","source":"erp/main","sequence":"1","type":"order.created","time":"2026-11-27T06:07:00Z","subject":"shipment/1","data":{"customer_id":"cust-101","origin":{"lat":52.384598,"lon":4.909784},"destination":{"lat":52.057386,"lon":4.782714},"window_start":"2026-11-27T10:07:00Z","window_end":"2026-11-27T13:07:00Z","weight_kg":237,"contract":{"currency":"EUR","base_cents":12100,"detention_free_min":30,"detention_cents_per_hour":6000}}}"#;
/// let ingested = waybill.ingest(line)?;
/// assert_eq!(ingested.counters.received, 1);
/// assert_eq!(ingested.counters.applied, 1);
/// assert_eq!(waybill.shipment(1).unwrap().status, "created");
/// waybill.close()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Waybill {
    core: Core,
    delivery: Option<Delivery>,
    clock: fn() -> i64,
    snapshots_kept: usize,
    raw: RawBatch,
}

/// What an ingest call did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ingested {
    /// The call's events: received, applied, duplicates, dead-lettered (by reason).
    pub counters: Counters,
    /// LSN of the first record the call journaled (`last_lsn + 1` when it journaled none).
    pub first_lsn: u64,
    /// LSN of the last record journaled.
    pub last_lsn: u64,
    /// Every record up to this LSN is durable (under `Sync`, `last_lsn`; see
    /// [`Waybill::flush`]).
    pub durable_lsn: u64,
    /// The `effect_seq` of the last effect derived so far.
    pub effect_seq: u64,
}

/// A snapshot written by [`Waybill::snapshot`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotTaken {
    /// The snapshot file.
    pub path: PathBuf,
    /// The LSN of the last record it covers: opening replays only what follows.
    pub lsn: u64,
}

impl Waybill {
    /// Opens (or creates) the journal in `dir` with the default [`Options`], rebuilding the
    /// state from the newest usable snapshot and the records after it.
    pub fn open(dir: impl AsRef<Path>) -> Result<Waybill, CoreError> {
        Options::new().open(dir)
    }

    pub(crate) fn open_with(dir: &Path, mut opts: Options) -> Result<Waybill, CoreError> {
        let core = opts.open_core(dir)?;
        let mut sinks = crate::outbox::sink::build(&opts.sinks)?;
        for (downstream, make) in opts.rust_sinks.drain(..) {
            for lane in LaneId::all() {
                if lane.sink == downstream {
                    sinks[lane.index()] = Some(make());
                }
            }
        }
        let delivery = if opts.keep_effects && sinks.iter().any(Option::is_some) {
            let durable = durable_from_atomic(core.journal().durable_handle());
            Some(Delivery::start_with(
                dir,
                &opts.sinks,
                sinks,
                durable,
                DeliveryOptions::default(),
            )?)
        } else {
            None
        };
        Ok(Waybill {
            core,
            delivery,
            clock: opts.clock,
            snapshots_kept: opts.snapshots.keep.max(1),
            raw: RawBatch::new(),
        })
    }

    /// Ingests CloudEvents in JSON: one event per line (JSONL), or JSON arrays of events
    /// (`application/cloudevents-batch+json`). Every event ends up applied, a duplicate, or
    /// dead-lettered with a reason (a malformed one too): bad events never fail the call.
    /// The events are journaled in batches of at most [`INGEST_BATCH_EVENTS`], each whole or
    /// not at all; on an error the batches before it stay journaled.
    ///
    /// ```
    /// use waybill_core::Waybill;
    ///
    /// # let dir = tempfile::tempdir()?;
    /// let mut waybill = Waybill::open(dir.path())?;
    /// let ingested = waybill.ingest(b"not json\n{\"specversion\":\"1.0\"}\n")?;
    /// assert_eq!(ingested.counters.received, 2);
    /// assert_eq!(ingested.counters.dead_lettered, 2); // malformed: dead letters, not errors
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ingest(&mut self, bytes: &[u8]) -> Result<Ingested, CoreError> {
        let mut reader = InputReader::new(bytes);
        let mut total = self.start_report();
        let mut raw = std::mem::take(&mut self.raw);
        let result = loop {
            raw.clear();
            match reader.read_batch(&mut raw, INGEST_BATCH_EVENTS) {
                Ok(0) => break Ok(()),
                Ok(_) => {}
                Err(source) => {
                    break Err(CoreError::Input {
                        events_read: total.counters.received,
                        source,
                    });
                }
            }
            match self.core.ingest_raw(&raw, (self.clock)()) {
                Ok(report) => total.add(&report),
                Err(e) => break Err(e),
            }
        };
        self.raw = raw;
        result?;
        Ok(self.finish_report(total))
    }

    /// Ingests a JSONL or batch-array stream to its end, decoding on two threads while the
    /// calling thread journals and applies (the journal is the same as [`Self::ingest`] of
    /// the same bytes would write). A read error ends the call with [`CoreError::Input`].
    pub fn ingest_reader<R: Read + Send + 'static>(
        &mut self,
        input: R,
    ) -> Result<Ingested, CoreError> {
        let total = self.start_report();
        let opts = StreamOptions {
            pause_us: None,
            ..StreamOptions::default()
        };
        let wake = self.delivery.as_ref();
        let report = ingest_reader(input, &mut self.core, &opts, self.clock, &mut |_| {
            if let Some(d) = wake {
                d.wake();
            }
            ControlFlow::Continue(())
        })?;
        if let Some(source) = report.read_error {
            return Err(CoreError::Input {
                events_read: report.counters.received,
                source,
            });
        }
        let mut total = total;
        total.counters = report.counters;
        total.last_lsn = self.core.machine().lsn();
        Ok(self.finish_report(total))
    }

    /// Ingests the JSONL or batch-array file at `path` ([`Self::ingest_reader`]).
    ///
    /// ```
    /// use waybill_core::Waybill;
    ///
    /// # let dir = tempfile::tempdir()?;
    /// let mut waybill = Waybill::open(dir.path())?;
    /// waybill.ingest_file("examples/day.jsonl")?;
    /// let summary = waybill.summary();
    /// assert_eq!(summary.received, summary.applied + summary.duplicates + summary.dead_lettered);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ingest_file(&mut self, path: impl AsRef<Path>) -> Result<Ingested, CoreError> {
        let path = path.as_ref();
        let file = std::fs::File::open(path).map_err(|source| CoreError::Io {
            path: path.to_owned(),
            source,
        })?;
        self.ingest_reader(std::io::BufReader::new(file))
    }

    /// Ingests typed events as one batch: every event is checked against the rules of the
    /// event format first, and an invalid one fails the call ([`CoreError::Invalid`], with its
    /// index) with nothing journaled. Duplicates are counted, not refused.
    ///
    /// ```
    /// use waybill_core::Waybill;
    /// use waybill_core::event::{Body, Contract, Event, GeoPoint};
    ///
    /// # let dir = tempfile::tempdir()?;
    /// let mut waybill = Waybill::open(dir.path())?;
    /// let order = Event {
    ///     id: "erp-main-1".into(),
    ///     source: "erp/main".into(),
    ///     sequence: 1,
    ///     time_us: 1_795_000_000_000_000,
    ///     subject: 7,
    ///     correlation_id: None,
    ///     traceparent: None,
    ///     body: Body::OrderCreated {
    ///         customer_id: "cust-101".into(),
    ///         origin: GeoPoint { lat_ud: 52_384_598, lon_ud: 4_909_784 },
    ///         destination: GeoPoint { lat_ud: 52_057_386, lon_ud: 4_782_714 },
    ///         window_start_us: 1_795_010_000_000_000,
    ///         window_end_us: 1_795_020_000_000_000,
    ///         weight_kg: 237,
    ///         contract: Contract {
    ///             currency: *b"EUR",
    ///             base_cents: 12_100,
    ///             detention_free_min: 30,
    ///             detention_cents_per_hour: 6_000,
    ///         },
    ///     },
    /// };
    /// let ingested = waybill.ingest_events(&[order.clone(), order])?;
    /// assert_eq!((ingested.counters.applied, ingested.counters.duplicates), (1, 1));
    /// assert_eq!(waybill.shipment(7).unwrap().status, "created");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ingest_events(&mut self, events: &[Event]) -> Result<Ingested, CoreError> {
        let entries: Vec<Entry> = events.iter().cloned().map(Entry::Event).collect();
        let mut total = self.start_report();
        let report = self.core.ingest(&entries, (self.clock)())?;
        total.add(&report);
        Ok(self.finish_report(total))
    }

    fn start_report(&self) -> Ingested {
        let lsn = self.core.machine().lsn();
        Ingested {
            first_lsn: lsn + 1,
            last_lsn: lsn,
            ..Ingested::default()
        }
    }

    fn finish_report(&self, mut total: Ingested) -> Ingested {
        debug_assert_eq!(total.last_lsn, self.core.machine().lsn());
        debug_assert!(total.counters.conserved());
        total.durable_lsn = self.core.journal().durable_lsn();
        total.effect_seq = self.core.machine().effect_seq();
        if let Some(d) = &self.delivery {
            d.wake();
        }
        total
    }

    /// Makes everything journaled so far durable, whatever the durability; returns the
    /// durable LSN (the last record's).
    ///
    /// ```
    /// use waybill_core::Waybill;
    ///
    /// # let dir = tempfile::tempdir()?;
    /// let mut waybill = Waybill::open(dir.path())?;
    /// waybill.ingest_file("examples/day.jsonl")?;
    /// let lsn = waybill.flush()?;
    /// assert_eq!(lsn, waybill.summary().lsn);
    /// assert_eq!(waybill.durable_lsn(), lsn);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn flush(&mut self) -> Result<u64, CoreError> {
        let lsn = self.core.flush()?;
        if let Some(d) = &self.delivery {
            d.wake();
        }
        Ok(lsn)
    }

    /// Every record up to this LSN is durable.
    pub fn durable_lsn(&self) -> u64 {
        self.core.journal().durable_lsn()
    }

    /// The journal directory.
    pub fn dir(&self) -> &Path {
        self.core.journal().dir()
    }

    /// One shipment with every derived field, or `None` when no event named it.
    ///
    /// ```
    /// use waybill_core::Waybill;
    ///
    /// # let dir = tempfile::tempdir()?;
    /// let mut waybill = Waybill::open(dir.path())?;
    /// waybill.ingest_file("examples/day.jsonl")?;
    /// let shipment = waybill.shipment(1).expect("the day orders shipment 1");
    /// println!("{} {:?} billed {} cents", shipment.status, shipment.on_time, shipment.billed_cents);
    /// assert!(waybill.shipment(424_242).is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn shipment(&self, id: u64) -> Option<ShipmentView> {
        let m = self.core.machine();
        m.state().shipment_view(id, m.sources())
    }

    /// One vehicle's last position, or `None` when no event named it.
    pub fn vehicle(&self, id: u64) -> Option<VehicleView> {
        self.core.machine().state().vehicle_view(id)
    }

    /// The whole state in figures: LSN, digest, counters, gaps, money per currency,
    /// shipments by status. Computed over every shipment (linear in the state's size).
    ///
    /// ```
    /// use waybill_core::Waybill;
    ///
    /// # let dir = tempfile::tempdir()?;
    /// let mut waybill = Waybill::open(dir.path())?;
    /// waybill.ingest_file("examples/day.jsonl")?;
    /// let summary = waybill.summary();
    /// println!("lsn {} digest {} missing {}", summary.lsn, summary.digest, summary.missing);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn summary(&self) -> Summary {
        self.core.machine().summary()
    }

    /// Every journal record that touched shipment `id`, in LSN order, with its outcome. Makes
    /// the journal durable, then reads it from the start (linear in its size).
    ///
    /// ```
    /// use waybill_core::Waybill;
    ///
    /// # let dir = tempfile::tempdir()?;
    /// let mut waybill = Waybill::open(dir.path())?;
    /// waybill.ingest_file("examples/day.jsonl")?;
    /// for record in waybill.history(1)? {
    ///     println!("{} {} {}#{}", record.lsn, record.event_type.as_str(), record.source, record.sequence);
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn history(&mut self, id: u64) -> Result<Vec<HistoryRecord>, CoreError> {
        self.flush()?;
        history(self.dir(), id)
    }

    /// Every dead-lettered event, in LSN order, with its reason and the bytes as received.
    /// Makes the journal durable, then reads it from the start (linear in its size).
    ///
    /// ```
    /// use waybill_core::Waybill;
    ///
    /// # let dir = tempfile::tempdir()?;
    /// let mut waybill = Waybill::open(dir.path())?;
    /// waybill.ingest_file("examples/day.jsonl")?;
    /// waybill.ingest(b"{oops\n")?;
    /// let dead = waybill.dead_letters()?;
    /// assert_eq!(dead.last().unwrap().raw_str(), Some("{oops"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn dead_letters(&mut self) -> Result<Vec<DeadLetterRecord>, CoreError> {
        self.flush()?;
        dead_letters(self.dir())
    }

    /// The effects after `after_seq` whose events are durable, in `effect_seq` order, read
    /// from the outbox: a pull consumer keeps the last seq it handled and passes it next
    /// time (0: from the first). Empty when effects are not kept.
    ///
    /// ```
    /// use waybill_core::Waybill;
    ///
    /// # let dir = tempfile::tempdir()?;
    /// let mut waybill = Waybill::open(dir.path())?;
    /// waybill.ingest_file("examples/day.jsonl")?;
    /// waybill.flush()?;
    /// let mut last_seq = 0; // a consumer keeps this, durably, between pulls
    /// for effect in waybill.effects(last_seq) {
    ///     let effect = effect?;
    ///     println!("{} {}", effect.effect_type.as_str(), effect.key.to_hex());
    ///     last_seq = effect.seq;
    /// }
    /// assert_eq!(last_seq, waybill.effect_seq());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn effects(&self, after_seq: u64) -> Effects {
        match self.core.effect_log() {
            Some(log) => Effects::new(log.dir(), after_seq, self.durable_lsn()),
            None => Effects::empty(),
        }
    }

    /// The `effect_seq` of the last effect derived (0: none yet).
    pub fn effect_seq(&self) -> u64 {
        self.core.machine().effect_seq()
    }

    /// Each delivery lane's state (breaker, cursor, pending count), one per sink and class;
    /// empty when no sink is delivered to.
    pub fn delivery_status(&self) -> Vec<LaneStatus> {
        self.delivery
            .as_ref()
            .map_or_else(Vec::new, Delivery::status)
    }

    /// Makes the journal durable, then waits up to `timeout` until every lane with a sink has
    /// taken (or dead-lettered) every effect derived so far; returns whether they all caught
    /// up (`false`: the timeout passed first, e.g. a sink is down and its breaker open).
    pub fn wait_delivered(&mut self, timeout: Duration) -> Result<bool, CoreError> {
        self.flush()?;
        let Some(d) = &self.delivery else {
            return Ok(true);
        };
        let last_seq = self.effect_seq();
        Ok(d.wait_until(Instant::now() + timeout, |lanes| {
            lanes.iter().all(|l| l.parked || l.cursor_seq >= last_seq)
        }))
    }

    /// Writes a snapshot of the state as it stands (making the journal durable first),
    /// keeping the newest ones as the snapshot policy says.
    ///
    /// ```
    /// use waybill_core::Waybill;
    ///
    /// # let dir = tempfile::tempdir()?;
    /// let mut waybill = Waybill::open(dir.path())?;
    /// waybill.ingest_file("examples/day.jsonl")?;
    /// let taken = waybill.snapshot()?;
    /// assert_eq!(taken.lsn, waybill.summary().lsn);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn snapshot(&mut self) -> Result<SnapshotTaken, CoreError> {
        let (path, lsn) = self.core.snapshot(self.snapshots_kept)?;
        Ok(SnapshotTaken { path, lsn })
    }

    /// The lower-level single writer, for what this API does not cover (read-only).
    pub fn core(&self) -> &Core {
        &self.core
    }

    /// Closes cleanly: stops delivery (each lane's position is kept; what is pending is
    /// delivered after the next open), makes everything durable, and writes a snapshot when
    /// the snapshot policy asks for one at close. A background snapshot that failed is not an
    /// error of the close: it costs a longer replay at the next open, never a record.
    ///
    /// ```
    /// use waybill_core::Waybill;
    ///
    /// # let dir = tempfile::tempdir()?;
    /// let mut waybill = Waybill::open(dir.path())?;
    /// waybill.ingest_file("examples/day.jsonl")?;
    /// waybill.close()?;
    /// let reopened = Waybill::open(dir.path())?; // the same state, from the snapshot or a replay
    /// assert_eq!(reopened.shipment(1).unwrap().id, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn close(mut self) -> Result<(), CoreError> {
        if let Some(d) = self.delivery.take() {
            d.stop();
        }
        self.core.close()?;
        Ok(())
    }
}

impl Ingested {
    fn add(&mut self, report: &BatchReport) {
        debug_assert!(report.first_lsn == self.last_lsn + 1 || report.counters.received == 0);
        self.counters.add(&report.counters);
        self.last_lsn = report.last_lsn;
    }
}
