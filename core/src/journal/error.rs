//! Errors of the journal.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong in the journal.
#[derive(thiserror::Error, Debug)]
pub enum JournalError {
    /// An operating-system error on a journal file or directory.
    #[error("journal i/o error on {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Damage that is not a torn tail. `lsn` is the LSN expected at that position.
    #[error("journal corrupt: segment {segment} offset {offset} lsn {lsn}: {what}")]
    Corrupt {
        /// File name of the segment (for a missing segment, the name it should have).
        segment: String,
        offset: u64,
        lsn: u64,
        what: String,
    },
    /// Another writer holds the directory's lock.
    #[error("journal {} is locked by another writer", .0.display())]
    Locked(PathBuf),
    /// The journal path exists and is not a directory.
    #[error("journal path {} is not a directory", .0.display())]
    NotADirectory(PathBuf),
    /// The directory does not exist or holds no segment files.
    #[error("no journal in {}", .0.display())]
    NoJournal(PathBuf),
    /// The payload is larger than the journal accepts.
    #[error("payload of {len} bytes exceeds the limit of {max} bytes")]
    PayloadTooLarge { len: usize, max: usize },
    /// A record must carry at least one payload byte (length 0 means "no record").
    #[error("empty payload: a record needs at least one byte")]
    EmptyPayload,
    /// Kind 0 is not a valid record kind.
    #[error("invalid record kind {0}")]
    InvalidKind(u8),
    /// The options cannot be used.
    #[error("invalid journal options: {0}")]
    InvalidOptions(String),
    /// A content digest was asked for at an LSN past the journal's last valid record.
    #[error(
        "journal ends at lsn {last_lsn}, before the anchor lsn {anchor_lsn} (records were removed, or the anchor belongs to another journal)"
    )]
    Short { anchor_lsn: u64, last_lsn: u64 },
    /// A limit of the format was reached (segment count, LSN space).
    #[error("journal full: {0}")]
    Full(String),
    /// The records before `first_lsn` were archived (`waybill journal archive`) and what was
    /// asked needs them: a state before the newest usable snapshot, or every record from 1.
    #[error(
        "journal {} holds records from lsn {first_lsn} on (the segments before were archived): {what}",
        dir.display()
    )]
    Archived {
        dir: PathBuf,
        first_lsn: u64,
        what: String,
    },
}

impl JournalError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> JournalError {
        JournalError::Io {
            path: path.into(),
            source,
        }
    }
}

/// Damage found by a scan, kept cloneable so readers can report it when iteration reaches it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Damage {
    pub segment: String,
    pub offset: u64,
    pub lsn: u64,
    pub what: String,
}

impl Damage {
    pub fn to_error(&self) -> JournalError {
        JournalError::Corrupt {
            segment: self.segment.clone(),
            offset: self.offset,
            lsn: self.lsn,
            what: self.what.clone(),
        }
    }
}
