//! Errors of the command line and their exit codes (docs/cli.md, "Exit codes").
//!
//! | code | variant | meaning |
//! |---|---|---|
//! | 1 | [`CliError::Check`] | a check failed: the journal is damaged |
//! | 2 | [`CliError::Usage`] | bad usage or bad input: a flag, an argument, a path of the wrong kind |
//! | 3 | [`CliError::Env`] | the environment failed: an I/O error, a full disk, a permission, a journal locked by another writer, a capacity limit |
//!
//! Every message is one line and names the path or the limit concerned.

use std::io;
use std::path::Path;
use std::process::ExitCode;
use waybill_core::engine::{CoreError, ErrorKind};
use waybill_core::journal::JournalError;
use waybill_core::outbox::OutboxError;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad usage or bad input: exit 2.
    #[error("{0}")]
    Usage(String),
    /// A check failed (a corrupt journal): exit 1.
    #[error("{0}")]
    Check(String),
    /// The environment failed (I/O, disk full, permission, lock, capacity): exit 3.
    #[error("{0}")]
    Env(String),
}

impl CliError {
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.code())
    }

    /// The process exit code of this error.
    pub fn code(&self) -> u8 {
        match self {
            CliError::Check(_) => 1,
            CliError::Usage(_) => 2,
            CliError::Env(_) => 3,
        }
    }

    /// An operating-system error on a path the user named (an input file, an output file):
    /// a path that does not exist or is of the wrong kind is bad input (exit 2); anything
    /// else (permission, full disk, I/O) is the environment (exit 3).
    pub fn from_user_path(what: &str, path: &Path, e: &io::Error) -> CliError {
        let msg = format!("{what} {}: {e}", path.display());
        match e.kind() {
            io::ErrorKind::NotFound
            | io::ErrorKind::IsADirectory
            | io::ErrorKind::NotADirectory
            | io::ErrorKind::AlreadyExists
            | io::ErrorKind::InvalidInput
            | io::ErrorKind::InvalidFilename => CliError::Usage(msg),
            _ => CliError::Env(msg),
        }
    }

    /// The same error with `more` appended to its message.
    pub fn context(self, more: impl std::fmt::Display) -> CliError {
        match self {
            CliError::Usage(m) => CliError::Usage(format!("{m}; {more}")),
            CliError::Check(m) => CliError::Check(format!("{m}; {more}")),
            CliError::Env(m) => CliError::Env(format!("{m}; {more}")),
        }
    }

    /// Writing to standard output failed (other than a closed pipe, which ends the process
    /// quietly): the environment.
    pub fn stdout(e: &io::Error) -> CliError {
        CliError::Env(format!("cannot write to standard output: {e}"))
    }
}

impl From<CoreError> for CliError {
    fn from(e: CoreError) -> Self {
        if let CoreError::Journal(JournalError::NoJournal(p)) = &e {
            return CliError::Usage(format!("no journal at {}", p.display()));
        }
        let msg = one_line(&e);
        match e.kind() {
            ErrorKind::Corrupt => CliError::Check(msg),
            ErrorKind::BadInput => CliError::Usage(msg),
            // A full core is the environment's limit, not the input's fault: the same batch
            // fits a core with more room.
            ErrorKind::Capacity | ErrorKind::Environment => CliError::Env(msg),
        }
    }
}

impl From<OutboxError> for CliError {
    fn from(e: OutboxError) -> Self {
        let msg = one_line(&e);
        match e.kind() {
            ErrorKind::Corrupt => CliError::Check(msg),
            ErrorKind::BadInput => CliError::Usage(msg),
            ErrorKind::Capacity | ErrorKind::Environment => CliError::Env(msg),
        }
    }
}

impl From<JournalError> for CliError {
    fn from(e: JournalError) -> Self {
        CliError::from(CoreError::Journal(e))
    }
}

/// The error and its causes on one line.
pub fn one_line(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let c_s = c.to_string();
        if !s.contains(&c_s) {
            s.push_str(": ");
            s.push_str(&c_s);
        }
        cause = c.source();
    }
    s.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn journal_errors_map_to_their_exit_codes() {
        let p = PathBuf::from("/j");
        let io = |kind| JournalError::Io {
            path: p.clone(),
            source: io::Error::from(kind),
        };
        let cases: Vec<(JournalError, u8)> = vec![
            (
                JournalError::Corrupt {
                    segment: "s".into(),
                    offset: 1,
                    lsn: 2,
                    what: "x".into(),
                },
                1,
            ),
            (
                JournalError::Short {
                    anchor_lsn: 3,
                    last_lsn: 2,
                },
                1,
            ),
            (JournalError::NoJournal(p.clone()), 2),
            (JournalError::NotADirectory(p.clone()), 2),
            (JournalError::InvalidOptions("x".into()), 2),
            (io(io::ErrorKind::PermissionDenied), 3),
            (io(io::ErrorKind::StorageFull), 3),
            (io(io::ErrorKind::Other), 3),
            (JournalError::Locked(p.clone()), 3),
            (JournalError::Full("segments".into()), 3),
        ];
        for (e, code) in cases {
            let text = e.to_string();
            let cli = CliError::from(e);
            assert_eq!(cli.code(), code, "{text}");
            assert!(!cli.to_string().contains('\n'));
        }
    }

    #[test]
    fn core_errors_map_by_their_kind() {
        let capacity = CoreError::Capacity(waybill_core::limits::CapacityExceeded {
            limit: "sources",
            max: 10,
            held: 10,
            needed: 1,
        });
        let cases: Vec<(CoreError, u8, &str)> = vec![
            (capacity, 3, "capacity limit `sources` reached: at most 10"),
            (
                CoreError::BadRecord {
                    lsn: 7,
                    what: "x".into(),
                },
                1,
                "lsn 7",
            ),
            (CoreError::InvalidLimits("too high".into()), 2, "too high"),
            (
                CoreError::Journal(JournalError::NoJournal(PathBuf::from("/j"))),
                2,
                "no journal at /j",
            ),
            (
                CoreError::Journal(JournalError::Locked(PathBuf::from("/j"))),
                3,
                "/j is locked by another writer",
            ),
        ];
        for (e, code, words) in cases {
            let cli = CliError::from(e);
            assert_eq!(cli.code(), code, "{cli}");
            assert!(cli.to_string().contains(words), "{cli}");
        }
    }

    #[test]
    fn outbox_errors_map_by_their_kind() {
        let p = PathBuf::from("/j/effects/x");
        let cases: Vec<(OutboxError, u8)> = vec![
            (
                OutboxError::Corrupt {
                    path: p.clone(),
                    offset: 32,
                    what: "frame checksum mismatch".into(),
                },
                1,
            ),
            (OutboxError::Config("sinks.route.url is required".into()), 2),
            (OutboxError::NoJournal(p.clone()), 2),
            (OutboxError::Locked(p.clone()), 3),
            (
                OutboxError::Io {
                    path: p.clone(),
                    source: io::Error::from(io::ErrorKind::PermissionDenied),
                },
                3,
            ),
        ];
        for (e, code) in cases {
            let cli = CliError::from(e);
            assert_eq!(cli.code(), code, "{cli}");
            assert!(!cli.to_string().contains('\n'));
        }
    }

    #[test]
    fn user_paths_of_the_wrong_kind_are_bad_input_the_rest_is_the_environment() {
        let p = Path::new("/x");
        for (kind, code) in [
            (io::ErrorKind::NotFound, 2),
            (io::ErrorKind::IsADirectory, 2),
            (io::ErrorKind::NotADirectory, 2),
            (io::ErrorKind::PermissionDenied, 3),
            (io::ErrorKind::StorageFull, 3),
            (io::ErrorKind::Interrupted, 3),
        ] {
            let e = CliError::from_user_path("cannot open", p, &io::Error::from(kind));
            assert_eq!(e.code(), code, "{kind:?}");
            assert!(e.to_string().starts_with("cannot open /x: "), "{e}");
        }
    }
}
