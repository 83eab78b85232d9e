//! # waybill-core
//!
//! The deterministic core of Waybill: CloudEvents in, journal, shipment state, replay.
//!
//! Data flows one way: [`input`] splits a byte stream into raw events; [`decode`] turns each
//! into an [`event::Entry`] (an event or a dead letter); the [`journal`] frames and appends it;
//! the [`machine`] applies the journaled record (dedupe, then [`state`]); [`engine::Core`] is the
//! imperative shell that ties them together.

mod admit;
pub mod archive;
pub mod batch;
mod cache;
pub mod compact;
pub mod decode;
pub mod dedupe;
pub mod effect;
pub mod encode;
pub mod engine;
pub mod error;
pub mod event;
pub mod input;
pub mod journal;
pub mod limits;
pub mod machine;
pub mod outbox;
pub mod partition;
pub mod pipeline;
pub mod record;
pub mod snapshot;
pub mod source;
pub mod state;
pub mod time;
pub mod validate;
