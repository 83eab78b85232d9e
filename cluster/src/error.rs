//! The cluster's one error type.

use waybill_core::Error as CoreError;

/// What went wrong in a cluster process.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The NATS server could not be reached, or refused a request.
    #[error("NATS: {what}: {detail}")]
    Nats {
        /// What was being done.
        what: String,
        /// What the client said.
        detail: String,
    },
    /// A key group's core failed (its journal, its input).
    #[error("key group {group}: {source}")]
    Core {
        /// The key group.
        group: u32,
        /// The core's error.
        #[source]
        source: CoreError,
    },
    /// The cluster was set up with another shape, or a message broke the protocol.
    #[error("{0}")]
    Protocol(String),
    /// Reading the input failed.
    #[error("reading the input: {0}")]
    Input(#[from] std::io::Error),
}

impl ClusterError {
    /// A NATS error, saying what was being done.
    pub fn nats(what: impl Into<String>, e: impl std::fmt::Display) -> ClusterError {
        ClusterError::Nats {
            what: what.into(),
            detail: e.to_string(),
        }
    }
}

/// The cluster's result type.
pub type Result<T, E = ClusterError> = std::result::Result<T, E>;
