//! # waybill-contract
//!
//! Waybill's published interfaces as data, and the documents generated from them, so that
//! the code and the documents cannot disagree:
//!
//! - [`http`]: the HTTP API of `waybill serve` as a route table (the server builds its router
//!   from it), with [`answers`]: the JSON Schemas of its requests and answers;
//! - [`nats`]: the streams, subjects, headers and message ids of a cluster on NATS JetStream
//!   (the cluster publishes and reads with them);
//! - [`catalog`]: the JSON Schemas of every event (type, version) and effect type (made by
//!   `waybill_core::schema`), their bundle and their index;
//! - [`asyncapi()`]: the AsyncAPI 3.0 document of every event in and effect out;
//! - [`openapi()`]: the OpenAPI 3.1 document of the HTTP API.
//!
//! Everything here is a pure function of the core's definitions: the same build gives the
//! same documents, byte for byte ([`to_pretty_json`]). `docs/` holds copies checked against
//! them; they are generated (`scripts/contracts`), never edited by hand.

#![warn(missing_docs)]

pub mod answers;
pub mod asyncapi;
pub mod catalog;
pub mod http;
pub mod nats;
pub mod openapi;

pub use asyncapi::asyncapi;
pub use openapi::openapi;

/// `v` as pretty-printed JSON (two-space indents, object keys in the order they were built)
/// with a trailing newline: how every document is printed and checked in.
pub fn to_pretty_json(v: &serde_json::Value) -> String {
    let mut s = serde_json::to_string_pretty(v).expect("a JSON value always serializes");
    s.push('\n');
    s
}
