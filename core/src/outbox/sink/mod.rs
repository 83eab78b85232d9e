//! Sinks: where a lane hands its effects. A [`Sink`] takes a batch all or nothing and says
//! whether a failure is worth retrying ([`SinkError::Transient`]) or never will succeed
//! ([`SinkError::Permanent`]).
//!
//! Built in: `file` (JSON lines appended to a file), `stdout` (JSON lines) and `http` (a
//! CloudEvents batch POSTed to a URL). [`build`] makes them from the configuration; the two
//! lanes of a sink get sinks of their own (a `file` sink's two lanes share the open file).

mod file;
mod http;
mod stdout;

pub use file::FileSink;
pub use http::{HttpSink, batch_idempotency_key};
pub use stdout::StdoutSink;

use super::config::{SinkKind, SinksConfig};
use super::{LaneId, OutboxError};
use crate::effect::EffectOut;
use std::fmt;

/// Why a sink did not take a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SinkError {
    /// Worth retrying (a timeout, a connection refused, HTTP 408, 429 or 5xx, a full disk).
    /// `retry_after_us`: the receiver asked to wait at least this long (HTTP `Retry-After`).
    Transient {
        /// What went wrong, for people (shown as the lane's last error).
        message: String,
        /// The least wait before the next attempt, in µs; `None` when the receiver gave none
        /// (the lane's backoff alone decides).
        retry_after_us: Option<i64>,
    },
    /// Will never succeed as it is (HTTP 4xx other than 408 and 429): dead-letter it.
    Permanent {
        /// What went wrong, for people (kept with the dead letter).
        message: String,
    },
}

impl SinkError {
    /// A transient failure without a `Retry-After`.
    pub fn transient(message: impl Into<String>) -> SinkError {
        SinkError::Transient {
            message: message.into(),
            retry_after_us: None,
        }
    }

    /// A permanent failure.
    pub fn permanent(message: impl Into<String>) -> SinkError {
        SinkError::Permanent {
            message: message.into(),
        }
    }

    /// What went wrong.
    pub fn message(&self) -> &str {
        match self {
            SinkError::Transient { message, .. } | SinkError::Permanent { message } => message,
        }
    }

    /// Whether the failure is permanent (the effect is dead-lettered, not retried).
    pub fn is_permanent(&self) -> bool {
        matches!(self, SinkError::Permanent { .. })
    }
}

impl fmt::Display for SinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.is_permanent() {
            "permanent"
        } else {
            "transient"
        };
        write!(f, "{kind}: {}", self.message())
    }
}

/// A downstream system's receiving end. `deliver` gets a batch of one lane's effects in seq
/// order (never empty, at most the lane's `batch_max` effects and `batch_max_bytes` of JSON
/// unless one effect alone is larger) and takes all of it or none of it.
///
/// Delivery is at least once: a batch may come again after a crash or a retry, so receivers
/// deduplicate on each effect's key (its CloudEvents `id`). The built-in sinks are
/// [`FileSink`], [`StdoutSink`] and [`HttpSink`]; an embedder may give its own to
/// [`Delivery::start_with`](super::Delivery::start_with) or to [`Lane::poll`](super::Lane::poll).
pub trait Sink: Send {
    /// Delivers `batch` whole: `Ok` acknowledges every effect of it; an error says whether a
    /// retry may succeed ([`SinkError::Transient`]) or not ([`SinkError::Permanent`]). A
    /// lane calls it from one thread at a time, and waits for it.
    fn deliver(&mut self, batch: &[EffectOut]) -> Result<(), SinkError>;
}

impl<S: Sink + ?Sized> Sink for Box<S> {
    fn deliver(&mut self, batch: &[EffectOut]) -> Result<(), SinkError> {
        (**self).deliver(batch)
    }
}

/// One sink per lane from `config`, in [`LaneId::index`] order; `None` for a sink that is not
/// configured (or `kind = "none"`): its effects stay pending.
pub fn build(config: &SinksConfig) -> Result<Vec<Option<Box<dyn Sink>>>, OutboxError> {
    config.validate()?;
    let mut out: Vec<Option<Box<dyn Sink>>> = Vec::with_capacity(LaneId::COUNT);
    let mut files: Vec<(crate::effect::Downstream, FileSink)> = Vec::new();
    for lane in LaneId::all() {
        let Some(c) = config.get(lane.sink) else {
            out.push(None);
            continue;
        };
        let sink: Box<dyn Sink> = match c.kind {
            SinkKind::None => unreachable!("config.get leaves out kind none"),
            SinkKind::Stdout => Box::new(StdoutSink::new()),
            SinkKind::Http => Box::new(HttpSink::new(c)?),
            SinkKind::File => match files.iter().find(|(s, _)| *s == lane.sink) {
                Some((_, f)) => Box::new(f.clone()),
                None => {
                    let f = FileSink::open(c)?;
                    files.push((lane.sink, f.clone()));
                    Box::new(f)
                }
            },
        };
        out.push(Some(sink));
    }
    Ok(out)
}

/// The JSON lines of `batch`: each effect's JSON and a newline, into `out`.
pub(crate) fn json_lines(batch: &[EffectOut], out: &mut Vec<u8>) {
    out.clear();
    for e in batch {
        debug_assert!(!e.json.contains(&b'\n'));
        out.extend_from_slice(&e.json);
        out.push(b'\n');
    }
}
