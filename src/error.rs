//! Errors of the command line and their exit codes.

use std::process::ExitCode;
use waybill_core::engine::CoreError;
use waybill_core::journal::JournalError;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad usage or bad input: exit 2.
    #[error("{0}")]
    Usage(String),
    /// A check failed (a corrupt journal): exit 1.
    #[error("{0}")]
    Check(String),
}

impl CliError {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            CliError::Usage(_) => ExitCode::from(2),
            CliError::Check(_) => ExitCode::from(1),
        }
    }
}

impl From<CoreError> for CliError {
    fn from(e: CoreError) -> Self {
        match &e {
            _ if e.is_corruption() => CliError::Check(one_line(&e)),
            CoreError::Journal(j) => CliError::from_journal(j),
            _ => CliError::Usage(one_line(&e)),
        }
    }
}

impl From<JournalError> for CliError {
    fn from(e: JournalError) -> Self {
        CliError::from_journal(&e)
    }
}

impl CliError {
    fn from_journal(e: &JournalError) -> Self {
        match e {
            JournalError::Corrupt { .. } | JournalError::Short { .. } => {
                CliError::Check(one_line(e))
            }
            JournalError::NoJournal(p) => CliError::Usage(format!("no journal at {}", p.display())),
            _ => CliError::Usage(one_line(e)),
        }
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
    s.replace('\n', " ")
}
