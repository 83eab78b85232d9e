#![warn(missing_docs)]
//! # waybill-core
//!
//! The deterministic core of Waybill, for services that embed it: CloudEvents from the ERP,
//! the route optimizer, the fleet platform and the billing engine go in; each is journaled
//! (append-only, checksummed, hash-chained), then applied to in-memory shipment state; the
//! effects the other systems must act on come out. Replaying the journal always rebuilds the
//! same state and derives the same effects, bit for bit.
//!
//! ## Ten minutes: ingest a day, read a shipment, receive its effects
//!
//! ```
//! use waybill_core::Waybill;
//!
//! fn main() -> Result<(), waybill_core::Error> {
//!     let dir = std::env::temp_dir().join(format!("waybill-guide-{}", std::process::id()));
//!     let mut waybill = Waybill::open(&dir)?; // creates the journal, or replays the one there
//!     let ingested = waybill.ingest_file("examples/day.jsonl")?;
//!     println!("{} events: {:?}", ingested.counters.received, ingested.counters);
//!
//!     let shipment = waybill.shipment(1).expect("the day orders shipment 1");
//!     println!("shipment 1 is {}, billed {} cents", shipment.status, shipment.billed_cents);
//!
//!     waybill.flush()?; // effects leave once their events are durable
//!     for effect in waybill.effects(0) {
//!         let effect = effect?;
//!         println!("{} {}", effect.effect_type.as_str(), String::from_utf8_lossy(&effect.json));
//!     }
//!     waybill.close()?;
//!     std::fs::remove_dir_all(&dir).ok();
//!     Ok(())
//! }
//! ```
//!
//! ## The story
//!
//! - **Open.** [`Waybill::open`] opens (or creates) a journal directory with the defaults;
//!   [`Options`] sets durability, segment size, the snapshot policy, capacity limits, SLA
//!   targets, sinks and the clock, then [`Options::open`]. Opening loads the newest usable
//!   snapshot and replays the records after it. One process writes a journal at a time (a
//!   lock file says so).
//! - **Ingest.** [`Waybill::ingest`] takes bytes (JSON lines, or JSON arrays of events),
//!   [`Waybill::ingest_reader`] and [`Waybill::ingest_file`] a stream, and
//!   [`Waybill::ingest_events`] typed [`event::Event`]s. Every received event ends up exactly
//!   once as applied, duplicate (same source and sequence) or dead-lettered with a reason, and
//!   [`Ingested`] counts them: `received = applied + duplicates + dead_lettered`. Malformed
//!   input is dead-lettered, never an error; errors are for the environment (I/O, a full
//!   disk), a full core (capacity) and invalid typed events, and nothing a call refused is
//!   journaled.
//! - **Durability.** Under [`Durability::Group`] (the default) records become durable
//!   together within a couple of milliseconds; [`Ingested::durable_lsn`] and
//!   [`Waybill::durable_lsn`] say how far, [`Waybill::flush`] forces it, and
//!   [`Durability::Sync`] makes every call durable on return.
//! - **Read.** [`Waybill::shipment`] (a [`ShipmentView`] with every derived field),
//!   [`Waybill::vehicle`], [`Waybill::summary`] (LSN, state digest, counters, gaps, money per
//!   currency), and for audits [`Waybill::history`] and [`Waybill::dead_letters`] (also as
//!   the free functions [`history`] and [`dead_letters`] on any journal directory).
//! - **Effects.** As it applies events the core derives effects (replan requests, delivery
//!   confirmations, invoice notices, alerts) with stable idempotency keys and keeps them in
//!   an outbox beside the journal. Pull them with [`Waybill::effects`] (keep the last
//!   `effect_seq` you handled), or have them pushed: [`Options::sink`] with a Rust [`Sink`]
//!   (for example [`sink_fn`]), or [`Options::sinks`] for the built-in `http`, `file` and
//!   `stdout` sinks, each delivered at least once, in order, with retries and a breaker.
//! - **Snapshots and close.** [`Waybill::snapshot`] writes one now (the policy takes them in
//!   the background); [`Waybill::close`] stops delivery, makes everything durable and writes
//!   one when the policy asks.
//! - **Errors.** Every call returns [`Error`]; [`Error::kind`] says what to do about it
//!   ([`ErrorKind::BadInput`], [`ErrorKind::Capacity`], [`ErrorKind::Environment`] for I/O,
//!   [`ErrorKind::Corrupt`] for a damaged journal) and [`Error::path`] / [`Error::lsn`] where.
//!
//! ```
//! use waybill_core::{ErrorKind, Waybill};
//!
//! let file = std::env::temp_dir().join("waybill-guide-not-a-directory");
//! std::fs::write(&file, b"")?;
//! let err = Waybill::open(&file).err().expect("a file is not a journal directory");
//! assert_eq!(err.kind(), ErrorKind::BadInput);
//! assert_eq!(err.path(), Some(file.as_path()));
//! # std::fs::remove_file(&file)?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! ## Producers on several threads
//!
//! For the highest throughput, [`Options::open_pipeline`] runs the core on its own thread:
//! producers encode [`pipeline::EncodedBatch`]es on as many threads as they like, send them
//! over a bounded queue ([`Pipeline::send`] blocks when it is full), read one
//! acknowledgement per batch and the published durable LSN, and run read-only queries on the
//! core thread between batches ([`Pipeline::query`]).
//!
//! ## What is stable
//!
//! The items re-exported here and the modules [`event`], [`state`], [`effect`], [`outbox`],
//! [`machine`], [`engine`], [`pipeline`], [`limits`], [`time`] and [`error`] are the public
//! API; `CHANGELOG.md` records every change to it and to the journal, snapshot and outbox
//! formats. Modules hidden from these docs (journal framing, stores, indexes, the decoder)
//! are internal and change without notice.

mod admit;
#[doc(hidden)]
pub mod archive;
#[doc(hidden)]
pub mod batch;
mod cache;
#[doc(hidden)]
pub mod compact;
mod db;
#[doc(hidden)]
pub mod decode;
#[doc(hidden)]
pub mod dedupe;
pub mod effect;
#[doc(hidden)]
pub mod encode;
pub mod engine;
pub mod error;
pub mod event;
#[doc(hidden)]
pub mod input;
#[doc(hidden)]
pub mod journal;
pub mod limits;
pub mod machine;
pub mod outbox;
#[doc(hidden)]
pub mod partition;
pub mod pipeline;
#[doc(hidden)]
pub mod record;
pub mod schema;
#[doc(hidden)]
pub mod snapshot;
#[doc(hidden)]
pub mod source;
pub mod state;
pub mod time;
#[doc(hidden)]
pub mod validate;

pub use db::{
    DeadLetterRecord, Effects, HistoryRecord, INGEST_BATCH_EVENTS, Ingested, Options, SinkFn,
    SnapshotTaken, Waybill, dead_letters, history, sink_fn, system_clock_us,
};
pub use effect::{Class, Downstream, EffectKey, EffectOut, EffectType, SlaTargets};
pub use error::{CoreError as Error, ErrorKind};
pub use journal::Durability;
pub use limits::Limits;
pub use machine::{Counters, Outcome, Summary};
pub use outbox::{Sink, SinkError, SinksConfig};
pub use pipeline::{Pipeline, PipelineOptions};
pub use snapshot::policy::SnapshotPolicy;
pub use state::{ShipmentView, Status, VehicleView};

/// The result of every fallible call of the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The README's code, compiled and run as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
