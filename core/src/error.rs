//! The core's one error type, [`CoreError`] (also named [`crate::Error`]), and the
//! [`ErrorKind`] a caller matches on.

use crate::journal::JournalError;
use crate::limits::CapacityExceeded;
use crate::outbox::OutboxError;
use crate::snapshot::SnapshotError;
use crate::validate::Invalid;
use std::io;
use std::path::{Path, PathBuf};

/// Every way a call of the core can fail. Match on [`CoreError::kind`] to act on it; the
/// variants say more, and [`CoreError::path`] and [`CoreError::lsn`] say where.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// The journal failed: an I/O error, damage, a lock held by another writer, bad options.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// A record whose frame is intact but whose payload is not a valid entry.
    #[error("journal corrupt: record at lsn {lsn} does not hold a valid entry: {what}")]
    BadRecord {
        /// The record's LSN.
        lsn: u64,
        /// What is wrong with it.
        what: String,
    },
    /// An entry that cannot be encoded as a journal record.
    #[error("cannot encode entry: {0}")]
    Encode(String),
    /// A typed entry that breaks a rule of the event format (the entry at `index` of the
    /// call: 0 for [`crate::engine::Core::submit`] and [`crate::batch::EncodedBatch::push`]).
    /// Nothing of the call was journaled.
    #[error("invalid entry at index {index} ({}): {invalid}; nothing was journaled", invalid.field)]
    Invalid {
        /// Index of the entry in the call (0-based).
        index: usize,
        /// The rule it breaks.
        #[source]
        invalid: Invalid,
    },
    /// The batch could take a store past its limit; it was refused as a whole.
    #[error(transparent)]
    Capacity(#[from] CapacityExceeded),
    /// [`crate::limits::Limits`] above what the core can hold.
    #[error("invalid limits: {0}")]
    InvalidLimits(String),
    /// A snapshot could not be written, or one asked for by name could not be read.
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    /// An operation that cannot be done on this journal as it is (e.g. archiving a journal
    /// with no usable snapshot); nothing was changed.
    #[error("{0}")]
    Refused(String),
    /// The effect log could not be opened, written or caught up (it names the path).
    #[error(transparent)]
    Effects(#[from] OutboxError),
    /// A file the caller named (an input to ingest) could not be opened or read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// Reading the caller's input failed after `events_read` events of it were journaled (they
    /// stay journaled; nothing after them was read).
    #[error("reading the input failed after {events_read} events: {source}")]
    Input {
        /// Events of the input journaled before the failure.
        events_read: u64,
        /// The reader's error.
        #[source]
        source: io::Error,
    },
}

/// What kind of failure a [`CoreError`] is, for callers that act on it (an exit code, a retry,
/// an alert).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The caller's input or options: invalid entries, limits or journal options, no journal
    /// where one was expected. Retrying the same call fails the same way.
    BadInput,
    /// The core is full: a capacity limit ([`CoreError::Capacity`]) or the journal's own
    /// format limits. Nothing of the refused batch was journaled.
    Capacity,
    /// The environment failed: an I/O error, a full disk, a permission, a journal locked by
    /// another writer.
    Environment,
    /// The journal is damaged (or edited): a check failed.
    Corrupt,
}

impl CoreError {
    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            CoreError::Journal(j) => journal_error_kind(j),
            CoreError::BadRecord { .. } => ErrorKind::Corrupt,
            CoreError::Encode(_)
            | CoreError::Invalid { .. }
            | CoreError::InvalidLimits(_)
            | CoreError::Refused(_) => ErrorKind::BadInput,
            CoreError::Capacity(_) => ErrorKind::Capacity,
            CoreError::Snapshot(SnapshotError::Io { .. }) => ErrorKind::Environment,
            CoreError::Snapshot(SnapshotError::Defect { .. }) => ErrorKind::Corrupt,
            CoreError::Effects(e) => e.kind(),
            CoreError::Io { .. } | CoreError::Input { .. } => ErrorKind::Environment,
        }
    }

    /// The file or directory the error is about, when it is about one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            CoreError::Journal(
                JournalError::Io { path, .. }
                | JournalError::Locked(path)
                | JournalError::NotADirectory(path)
                | JournalError::NoJournal(path)
                | JournalError::Archived { dir: path, .. },
            )
            | CoreError::Snapshot(
                SnapshotError::Io { path, .. } | SnapshotError::Defect { path, .. },
            )
            | CoreError::Effects(
                OutboxError::Io { path, .. }
                | OutboxError::Corrupt { path, .. }
                | OutboxError::Locked(path)
                | OutboxError::NoJournal(path)
                | OutboxError::Gone { dir: path, .. },
            )
            | CoreError::Io { path, .. } => Some(path),
            _ => None,
        }
    }

    /// The journal record (LSN) the error is about, when it is about one: a damaged record,
    /// or where a corrupt journal's damage starts.
    pub fn lsn(&self) -> Option<u64> {
        match self {
            CoreError::BadRecord { lsn, .. } => Some(*lsn),
            CoreError::Journal(JournalError::Corrupt { lsn, .. }) => Some(*lsn),
            _ => None,
        }
    }

    /// The same error, for the entry at `index` of a call (an invalid entry names it).
    pub(crate) fn at_index(self, index: usize) -> CoreError {
        match self {
            CoreError::Invalid { invalid, .. } => CoreError::Invalid { index, invalid },
            other => other,
        }
    }

    /// True when the journal is damaged (as opposed to I/O trouble or bad usage).
    pub fn is_corruption(&self) -> bool {
        self.kind() == ErrorKind::Corrupt
    }
}

/// The kind of a journal error (every variant named, so a new one must be classified).
fn journal_error_kind(e: &JournalError) -> ErrorKind {
    match e {
        JournalError::Io { .. } | JournalError::Locked(_) => ErrorKind::Environment,
        JournalError::Corrupt { .. } | JournalError::Short { .. } => ErrorKind::Corrupt,
        JournalError::Archived { .. } => ErrorKind::BadInput,
        JournalError::Full(_) => ErrorKind::Capacity,
        JournalError::NoJournal(_)
        | JournalError::NotADirectory(_)
        | JournalError::PayloadTooLarge { .. }
        | JournalError::EmptyPayload
        | JournalError::InvalidKind(_)
        | JournalError::InvalidOptions(_) => ErrorKind::BadInput,
    }
}
