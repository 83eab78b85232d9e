//! [`OutboxError`]: what can go wrong storing or delivering effects. Every variant names the
//! path concerned; none is a panic on bad files or bad input.

use crate::error::ErrorKind;
use std::io;
use std::path::{Path, PathBuf};

/// What can go wrong storing, reading or delivering effects (not a delivery failure: those
/// are [`super::SinkError`]s, retried or dead-lettered by the lane).
///
/// [`OutboxError::kind`] classifies it like the core's errors.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// An operating-system error on a file or directory of the outbox (or a sink's file).
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// A file of the outbox is damaged (not a torn tail): the file and the byte offset.
    #[error("effects corrupt: {} at offset {offset}: {what}", path.display())]
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// The byte offset of the damage in the file.
        offset: u64,
        /// What is wrong there.
        what: String,
    },
    /// A bad sink configuration: the key and why.
    #[error("sink configuration: {0}")]
    Config(String),
    /// Another process delivers from (or writes) these effects.
    #[error("{} is locked by another process", .0.display())]
    Locked(PathBuf),
    /// No journal (no durable marker) in this directory.
    #[error("no journal at {}", .0.display())]
    NoJournal(PathBuf),
    /// The effect a reader was asked for was deleted by retention.
    #[error("effect seq {seq} is no longer in {} (its first segment starts at seq {first})", dir.display())]
    Gone {
        /// The effects directory.
        dir: PathBuf,
        /// The seq asked for.
        seq: u64,
        /// The first seq the log still holds.
        first: u64,
    },
    /// An effect the log cannot hold (its JSON over the limit).
    #[error("effect seq {seq}: {what}")]
    Refused {
        /// The effect's seq.
        seq: u64,
        /// Why it was refused.
        what: String,
    },
}

impl OutboxError {
    pub(crate) fn io(path: impl AsRef<Path>, source: io::Error) -> OutboxError {
        OutboxError::Io {
            path: path.as_ref().to_owned(),
            source,
        }
    }

    pub(crate) fn corrupt(path: impl AsRef<Path>, offset: u64, what: impl Into<String>) -> Self {
        OutboxError::Corrupt {
            path: path.as_ref().to_owned(),
            offset,
            what: what.into(),
        }
    }

    /// The kind of failure, as the core's errors have it (an exit code, an alert).
    pub fn kind(&self) -> ErrorKind {
        match self {
            OutboxError::Io { .. } | OutboxError::Locked(_) => ErrorKind::Environment,
            OutboxError::Corrupt { .. } | OutboxError::Gone { .. } => ErrorKind::Corrupt,
            OutboxError::Config(_) | OutboxError::NoJournal(_) | OutboxError::Refused { .. } => {
                ErrorKind::BadInput
            }
        }
    }
}
