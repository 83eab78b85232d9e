//! The core's one error type, [`CoreError`], and the [`ErrorKind`] a caller matches on.

use crate::journal::JournalError;
use crate::limits::CapacityExceeded;
use crate::outbox::OutboxError;
use crate::snapshot::SnapshotError;
use crate::validate::Invalid;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// A record whose frame is intact but whose payload is not a valid entry.
    #[error("journal corrupt: record at lsn {lsn} does not hold a valid entry: {what}")]
    BadRecord { lsn: u64, what: String },
    #[error("cannot encode entry: {0}")]
    Encode(String),
    /// A typed entry that breaks a rule of the event format (the entry at `index` of the
    /// call: 0 for [`crate::engine::Core::submit`] and [`crate::batch::EncodedBatch::push`]).
    /// Nothing of the call was journaled.
    #[error("invalid entry at index {index} ({}): {invalid}; nothing was journaled", invalid.field)]
    Invalid {
        index: usize,
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
