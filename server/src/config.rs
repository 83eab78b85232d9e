//! The service's configuration file (TOML): every key has a default except `journal`, and an
//! unknown key is an error naming it. `examples/waybill.toml` shows every key.

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use waybill_core::outbox::SinksConfig;
use waybill_core::{Durability, SlaTargets, SnapshotPolicy};

/// The whole file.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ServeConfig {
    /// Address to listen on (default `127.0.0.1:8080`; port 0 picks a free one).
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// The journal directory (created when missing). Relative paths are taken from the
    /// configuration file's directory.
    pub journal: PathBuf,
    /// `none`, `group` (default) or `sync`: when an answer to `POST /v1/events` may go out.
    #[serde(default = "default_durability", deserialize_with = "durability")]
    pub durability: Durability,
    /// Bearer tokens and the sources each may send; none: no token is asked for.
    #[serde(default)]
    pub tokens: Vec<TokenConfig>,
    /// Limits of the ingress.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// Snapshot policy.
    #[serde(default)]
    pub snapshots: SnapshotsConfig,
    /// SLA targets in whole minutes (journaled when they change).
    #[serde(default)]
    pub sla: Option<SlaConfig>,
    /// Where effects are delivered (`[sinks.route]`, `[sinks.billing]`, ...).
    #[serde(default)]
    pub sinks: SinksConfig,
}

/// `[[tokens]]`: one bearer token and the source patterns it covers.
#[derive(Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// The secret, as sent in `Authorization: Bearer <token>`.
    pub token: String,
    /// Patterns: an exact source (`erp/sap-us`), `<system>/*`, or `*`.
    pub sources: Vec<String>,
}

/// `[limits]`.
#[derive(Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Largest request body in bytes (413 past it).
    pub max_body_bytes: usize,
    /// Most events in one request (413 past it): a request is journaled whole or not at all.
    pub max_batch_events: usize,
    /// Requests being handled at once; past it the answer is 503 with `Retry-After`.
    pub max_in_flight: usize,
    /// Batches waiting for the writer; past it the answer is 429 with `Retry-After`.
    pub queue_batches: usize,
    /// Longest a request may take, in milliseconds (408 past it... the batch may still land).
    pub request_timeout_ms: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_body_bytes: 8 << 20,
            max_batch_events: 10_000,
            max_in_flight: 256,
            queue_batches: 64,
            request_timeout_ms: 30_000,
        }
    }
}

/// `[snapshots]`.
#[derive(Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct SnapshotsConfig {
    /// A snapshot every this many records, taken off the writer; 0: none while running.
    pub every_records: u64,
    /// At shutdown, a snapshot when at least this many records came since the last.
    pub on_close_min_records: u64,
    /// Snapshots kept.
    pub keep: usize,
}

impl Default for SnapshotsConfig {
    fn default() -> Self {
        let p = SnapshotPolicy::default();
        SnapshotsConfig {
            every_records: p.every_records,
            on_close_min_records: p.on_close_min_records,
            keep: p.keep,
        }
    }
}

impl SnapshotsConfig {
    /// The core's policy.
    pub fn policy(&self) -> SnapshotPolicy {
        SnapshotPolicy {
            every_records: self.every_records,
            on_close_min_records: self.on_close_min_records,
            keep: self.keep.max(1),
        }
    }
}

/// `[sla]`: targets in whole minutes; a key left out is no target for that measure.
#[derive(Deserialize, Debug, Default, Clone, Copy, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SlaConfig {
    /// Order created to picked up.
    pub order_to_dispatch: Option<u32>,
    /// Delivered to invoiced.
    pub invoice_cycle: Option<u32>,
    /// Delivered to its proof of delivery reaching billing.
    pub pod_propagation: Option<u32>,
}

impl SlaConfig {
    /// The journal's settings these targets make.
    pub fn targets(self) -> SlaTargets {
        SlaTargets {
            order_to_dispatch_min: self.order_to_dispatch,
            invoice_cycle_min: self.invoice_cycle,
            pod_propagation_min: self.pod_propagation,
        }
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

fn default_durability() -> Durability {
    Durability::Group
}

fn durability<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Durability, D::Error> {
    let s = String::deserialize(d)?;
    match s.as_str() {
        "none" => Ok(Durability::None),
        "group" => Ok(Durability::Group),
        "sync" => Ok(Durability::Sync),
        other => Err(serde::de::Error::custom(format!(
            "durability `{other}`: expected none, group or sync"
        ))),
    }
}

/// Why a configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The file is not valid: the line and what is wrong (an unknown key names it).
    #[error("{}{}: {message}", path.display(), line.map(|l| format!(" line {l}")).unwrap_or_default())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The line of the error, when known.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
}

impl ServeConfig {
    /// Reads and checks `path`; relative paths in it are taken from its directory.
    pub fn read(path: &Path) -> Result<ServeConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let base = path.parent().filter(|p| !p.as_os_str().is_empty());
        ServeConfig::parse(&text, base).map_err(|(line, message)| ConfigError::Invalid {
            path: path.to_owned(),
            line,
            message,
        })
    }

    /// Parses and checks `text`; relative paths are joined to `base` when given. The error is
    /// the line (when known) and what is wrong.
    pub fn parse(text: &str, base: Option<&Path>) -> Result<ServeConfig, (Option<usize>, String)> {
        let mut c: ServeConfig = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|sp| 1 + text[..sp.start].matches('\n').count());
            (line, e.message().trim().to_owned())
        })?;
        c.check().map_err(|m| (None, m))?;
        if let Some(base) = base {
            if c.journal.is_relative() {
                c.journal = base.join(&c.journal);
            }
            c.sinks.resolve_paths(base);
        }
        Ok(c)
    }

    fn check(&self) -> Result<(), String> {
        let l = &self.limits;
        for (name, v) in [
            ("limits.max_body_bytes", l.max_body_bytes),
            ("limits.max_batch_events", l.max_batch_events),
            ("limits.max_in_flight", l.max_in_flight),
            ("limits.queue_batches", l.queue_batches),
        ] {
            if v == 0 {
                return Err(format!("{name} must be at least 1"));
            }
        }
        if l.request_timeout_ms == 0 {
            return Err("limits.request_timeout_ms must be at least 1".to_owned());
        }
        for (i, t) in self.tokens.iter().enumerate() {
            if t.token.is_empty() {
                return Err(format!("tokens[{i}].token is empty"));
            }
            for p in &t.sources {
                crate::auth::Pattern::parse(p).map_err(|e| format!("tokens[{i}].sources: {e}"))?;
            }
        }
        self.sinks.validate().map_err(|e| e.to_string())?;
        Ok(())
    }
}
