//! Sink configuration (docs/effects.md, "Configuration"): one table per sink, every key with a
//! default, unknown keys refused by name, durations as strings (`"250ms"`, `"5s"`, `"2m"`).
//! The structures deserialize with serde from any format; the command line reads them from
//! the `[sinks.<name>]` tables of a TOML file.

use super::OutboxError;
use crate::effect::Downstream;
use serde::{Deserialize, Deserializer};
use std::fmt;
use std::path::{Path, PathBuf};

const US_PER_MS: i64 = 1_000;
const US_PER_S: i64 = 1_000_000;

/// Parses a duration such as `"250ms"`, `"5s"`, `"2m"`, `"1h30m"` or `"1d"` into µs.
pub fn parse_duration_us(s: &str) -> Option<i64> {
    let mut rest = s.trim();
    if rest.is_empty() {
        return None;
    }
    let mut total: i64 = 0;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit())?;
        if digits == 0 {
            return None;
        }
        let n: i64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let units: [(&str, i64); 6] = [
            ("us", 1),
            ("ms", US_PER_MS),
            ("s", US_PER_S),
            ("m", 60 * US_PER_S),
            ("h", 3600 * US_PER_S),
            ("d", 86_400 * US_PER_S),
        ];
        let (unit, us) = units.into_iter().find(|(u, _)| rest.starts_with(u))?;
        total = total.checked_add(n.checked_mul(us)?)?;
        rest = &rest[unit.len()..];
    }
    Some(total)
}

/// A duration, written as a string (`"250ms"`), held in µs.
///
/// Deserializes from the strings [`parse_duration_us`] reads; a configuration accepts 1 µs to
/// 7 days. `Display` prints whole minutes, seconds or milliseconds when it can (`"2m"`,
/// `"5s"`, `"250ms"`), else microseconds (`"1500us"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DurationUs(pub i64);

impl DurationUs {
    /// `ms` milliseconds.
    pub const fn ms(ms: i64) -> DurationUs {
        DurationUs(ms * US_PER_MS)
    }

    /// `s` seconds.
    pub const fn secs(s: i64) -> DurationUs {
        DurationUs(s * US_PER_S)
    }
}

impl<'de> Deserialize<'de> for DurationUs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_duration_us(&s).map(DurationUs).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "{s:?} is not a duration (like \"250ms\", \"5s\", \"2m\", \"1h\")"
            ))
        })
    }
}

impl fmt::Display for DurationUs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let us = self.0;
        match us {
            _ if us % (60 * US_PER_S) == 0 && us != 0 => write!(f, "{}m", us / (60 * US_PER_S)),
            _ if us % US_PER_S == 0 => write!(f, "{}s", us / US_PER_S),
            _ if us % US_PER_MS == 0 => write!(f, "{}ms", us / US_PER_MS),
            _ => write!(f, "{us}us"),
        }
    }
}

/// What a sink is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SinkKind {
    /// POST CloudEvents batches to `url`.
    Http,
    /// Append JSON lines to `path`.
    File,
    /// JSON lines on standard output.
    Stdout,
    /// Not delivered: the effects stay pending.
    #[default]
    None,
}

impl SinkKind {
    /// The value of the `kind` key: `http`, `file`, `stdout` or `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            SinkKind::Http => "http",
            SinkKind::File => "file",
            SinkKind::Stdout => "stdout",
            SinkKind::None => "none",
        }
    }
}

/// `[sinks.<name>.retry]`: how a sink's lanes retry after a transient failure
/// (docs/effects.md, retries). Every key has a default.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryConfig {
    /// Failed attempts (made while the breaker is closed) after which an effect is dead-lettered.
    /// 1 to 1,000; default 10.
    pub max_attempts: u32,
    /// The wait after the first failure; default 250 ms.
    pub backoff_initial: DurationUs,
    /// The longest wait, at least `backoff_initial`; default 5 minutes.
    pub backoff_max: DurationUs,
    /// Share of each delay taken off at random, 0 to 1; default 0.2.
    pub jitter: f64,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_attempts: 10,
            backoff_initial: DurationUs::ms(250),
            backoff_max: DurationUs::secs(300),
            jitter: 0.2,
        }
    }
}

/// `[sinks.<name>.breaker]`: the circuit breaker of each of a sink's lanes (docs/effects.md,
/// the circuit breaker). Every key has a default.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BreakerConfig {
    /// Consecutive failed calls that open the breaker; 1 to 1,000, default 5.
    pub failure_threshold: u32,
    /// How long it stays open before a probe; default 30 s.
    pub cool_down: DurationUs,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            failure_threshold: 5,
            cool_down: DurationUs::secs(30),
        }
    }
}

/// `[sinks.<name>]`: one downstream system (docs/effects.md, configuration).
///
/// Every key has a default (the [`Default`] value); an unknown key is an error. Both lanes of
/// the sink use this table, each with its own breaker and retries.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SinkConfig {
    /// What the sink is; default [`SinkKind::None`] (not delivered to).
    pub kind: SinkKind,
    /// `http`: the receiver, `http://host:port/path` (required for `http`).
    pub url: Option<String>,
    /// `file`: the file to append to (required for `file`; relative paths are resolved by the
    /// caller, see [`SinksConfig::resolve_paths`]).
    pub path: Option<PathBuf>,
    /// `file`: sync the file after every batch; default true.
    pub fsync: bool,
    /// `http`: the most one request may take, connection included; default 10 s.
    pub timeout: DurationUs,
    /// `http`: the most establishing the connection may take; default 2 s.
    pub connect_timeout: DurationUs,
    /// Most effects per batch; 1 to 10,000, default 100.
    pub batch_max: usize,
    /// Most bytes of JSON per batch (one effect larger than this goes alone); 1,024 to 64 MiB,
    /// default 1 MiB.
    pub batch_max_bytes: usize,
    /// `[sinks.<name>.retry]`.
    pub retry: RetryConfig,
    /// `[sinks.<name>.breaker]`.
    pub breaker: BreakerConfig,
}

impl Default for SinkConfig {
    fn default() -> Self {
        SinkConfig {
            kind: SinkKind::None,
            url: None,
            path: None,
            fsync: true,
            timeout: DurationUs::secs(10),
            connect_timeout: DurationUs::secs(2),
            batch_max: 100,
            batch_max_bytes: 1 << 20,
            retry: RetryConfig::default(),
            breaker: BreakerConfig::default(),
        }
    }
}

/// Upper bounds of the numeric keys.
pub const BATCH_MAX_LIMIT: usize = 10_000;
pub const BATCH_MAX_BYTES_LIMIT: usize = 64 << 20;
pub const MAX_ATTEMPTS_LIMIT: u32 = 1_000;
pub const FAILURE_THRESHOLD_LIMIT: u32 = 1_000;
const DURATION_LIMIT_US: i64 = 7 * 86_400 * US_PER_S;

/// `[sinks]`: the four downstream systems; a missing table is a sink not delivered to.
///
/// Deserializes with serde from any format (the command line reads the `[sinks.<name>]`
/// tables of a TOML file); an unknown sink is an error. Check it with
/// [`SinksConfig::validate`] before use ([`super::Delivery::start`] and
/// [`super::Outbox::open`] do).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SinksConfig {
    /// `[sinks.route]`: where `route.replan_requested` goes.
    #[serde(default)]
    pub route: Option<SinkConfig>,
    /// `[sinks.billing]`: where `billing.delivery_confirmed` goes.
    #[serde(default)]
    pub billing: Option<SinkConfig>,
    /// `[sinks.erp]`: where `erp.invoice_ready` goes.
    #[serde(default)]
    pub erp: Option<SinkConfig>,
    /// `[sinks.ops]`: where the alerts go.
    #[serde(default)]
    pub ops: Option<SinkConfig>,
}

impl SinksConfig {
    /// The configuration of `sink` when it is delivered to (configured, kind not `none`).
    pub fn get(&self, sink: Downstream) -> Option<&SinkConfig> {
        self.slot(sink)
            .as_ref()
            .filter(|c| c.kind != SinkKind::None)
    }

    /// Whether some sink is delivered to.
    pub fn any_configured(&self) -> bool {
        Downstream::ALL.iter().any(|s| self.get(*s).is_some())
    }

    /// The table of `sink`, as given (kind `none` included).
    pub fn slot(&self, sink: Downstream) -> &Option<SinkConfig> {
        match sink {
            Downstream::Route => &self.route,
            Downstream::Billing => &self.billing,
            Downstream::Erp => &self.erp,
            Downstream::Ops => &self.ops,
        }
    }

    /// The table of `sink`, to change it.
    pub fn slot_mut(&mut self, sink: Downstream) -> &mut Option<SinkConfig> {
        match sink {
            Downstream::Route => &mut self.route,
            Downstream::Billing => &mut self.billing,
            Downstream::Erp => &mut self.erp,
            Downstream::Ops => &mut self.ops,
        }
    }

    /// Makes relative `file` paths relative to `base` (the configuration file's directory).
    pub fn resolve_paths(&mut self, base: &Path) {
        for sink in Downstream::ALL {
            if let Some(c) = self.slot_mut(sink)
                && let Some(p) = &c.path
                && p.is_relative()
            {
                c.path = Some(base.join(p));
            }
        }
    }

    /// Checks every value; the error names the key (`sinks.<name>.<key>`).
    pub fn validate(&self) -> Result<(), OutboxError> {
        for sink in Downstream::ALL {
            if let Some(c) = self.slot(sink) {
                c.validate(&format!("sinks.{sink}"))
                    .map_err(OutboxError::Config)?;
            }
        }
        Ok(())
    }
}

impl SinkConfig {
    /// Checks every value; `at` names the table in errors.
    pub fn validate(&self, at: &str) -> Result<(), String> {
        self.validate_target(at)?;
        let range = |key: &str, v: u64, lo: u64, hi: u64| match (lo..=hi).contains(&v) {
            true => Ok(()),
            false => Err(format!("{at}.{key} = {v} is outside {lo}..={hi}")),
        };
        range(
            "batch_max",
            self.batch_max as u64,
            1,
            BATCH_MAX_LIMIT as u64,
        )?;
        range(
            "batch_max_bytes",
            self.batch_max_bytes as u64,
            1024,
            BATCH_MAX_BYTES_LIMIT as u64,
        )?;
        range(
            "retry.max_attempts",
            u64::from(self.retry.max_attempts),
            1,
            u64::from(MAX_ATTEMPTS_LIMIT),
        )?;
        range(
            "breaker.failure_threshold",
            u64::from(self.breaker.failure_threshold),
            1,
            u64::from(FAILURE_THRESHOLD_LIMIT),
        )?;
        for (key, d) in [
            ("timeout", self.timeout),
            ("connect_timeout", self.connect_timeout),
            ("retry.backoff_initial", self.retry.backoff_initial),
            ("retry.backoff_max", self.retry.backoff_max),
            ("breaker.cool_down", self.breaker.cool_down),
        ] {
            if !(1..=DURATION_LIMIT_US).contains(&d.0) {
                return Err(format!("{at}.{key} = \"{d}\" is outside 1us..=7d"));
            }
        }
        if self.retry.backoff_initial > self.retry.backoff_max {
            return Err(format!(
                "{at}.retry.backoff_initial (\"{}\") is above retry.backoff_max (\"{}\")",
                self.retry.backoff_initial, self.retry.backoff_max
            ));
        }
        if !(0.0..=1.0).contains(&self.retry.jitter) {
            return Err(format!(
                "{at}.retry.jitter = {} is outside 0..=1",
                self.retry.jitter
            ));
        }
        Ok(())
    }

    fn validate_target(&self, at: &str) -> Result<(), String> {
        let kind = self.kind.as_str();
        match (self.kind, &self.url, &self.path) {
            (SinkKind::Http, None, _) => {
                return Err(format!("{at}.url is required for kind \"http\""));
            }
            (SinkKind::File, _, None) => {
                return Err(format!("{at}.path is required for kind \"file\""));
            }
            (SinkKind::Http, _, Some(_)) | (SinkKind::Stdout | SinkKind::None, _, Some(_)) => {
                return Err(format!(
                    "{at}.path is set but kind is \"{kind}\" (path is for \"file\")"
                ));
            }
            (SinkKind::File | SinkKind::Stdout | SinkKind::None, Some(_), _) => {
                return Err(format!(
                    "{at}.url is set but kind is \"{kind}\" (url is for \"http\")"
                ));
            }
            _ => {}
        }
        if let Some(url) = &self.url {
            check_url(url).map_err(|why| format!("{at}.url = {url:?}: {why}"))?;
        }
        Ok(())
    }
}

fn check_url(url: &str) -> Result<(), &'static str> {
    if url.starts_with("https://") {
        return Err("https is not supported: name a local proxy that does TLS (http://...)");
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return Err("not an http:// URL");
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty()
        || host.contains('@')
        || url.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err("not a valid http URL (http://host[:port]/path)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let cases = [
            ("250ms", Some(250_000)),
            ("5s", Some(5_000_000)),
            ("2m", Some(120_000_000)),
            ("1h30m", Some(5_400_000_000)),
            ("1d", Some(86_400_000_000)),
            ("10us", Some(10)),
            ("", None),
            ("5", None),
            ("ms", None),
            ("-1s", None),
            ("5x", None),
            ("99999999999999999999s", None),
        ];
        for (s, want) in cases {
            assert_eq!(parse_duration_us(s), want, "{s:?}");
        }
        for d in [
            DurationUs::ms(250),
            DurationUs::secs(5),
            DurationUs::secs(120),
            DurationUs(7),
        ] {
            assert_eq!(parse_duration_us(&d.to_string()), Some(d.0), "{d}");
        }
    }

    #[test]
    fn targets_and_ranges_are_checked_by_key() {
        let ok = SinkConfig {
            kind: SinkKind::Http,
            url: Some("http://127.0.0.1:9/x".into()),
            ..SinkConfig::default()
        };
        assert_eq!(ok.validate("sinks.route"), Ok(()));
        let cases: Vec<(SinkConfig, &str)> = vec![
            (
                SinkConfig {
                    url: None,
                    ..ok.clone()
                },
                "sinks.route.url is required",
            ),
            (
                SinkConfig {
                    url: Some("https://x/".into()),
                    ..ok.clone()
                },
                "https is not supported",
            ),
            (
                SinkConfig {
                    url: Some("ftp://x/".into()),
                    ..ok.clone()
                },
                "not an http:// URL",
            ),
            (
                SinkConfig {
                    batch_max: 0,
                    ..ok.clone()
                },
                "sinks.route.batch_max = 0",
            ),
            (
                SinkConfig {
                    kind: SinkKind::File,
                    url: None,
                    path: None,
                    ..ok.clone()
                },
                "sinks.route.path is required",
            ),
            (
                SinkConfig {
                    kind: SinkKind::None,
                    ..ok.clone()
                },
                "sinks.route.url is set but kind is \"none\"",
            ),
            (
                SinkConfig {
                    retry: RetryConfig {
                        jitter: 1.5,
                        ..RetryConfig::default()
                    },
                    ..ok.clone()
                },
                "sinks.route.retry.jitter",
            ),
            (
                SinkConfig {
                    retry: RetryConfig {
                        backoff_initial: DurationUs::secs(10),
                        backoff_max: DurationUs::secs(1),
                        ..RetryConfig::default()
                    },
                    ..ok.clone()
                },
                "backoff_initial",
            ),
        ];
        for (c, words) in cases {
            let e = c.validate("sinks.route").unwrap_err();
            assert!(e.contains(words), "{e} lacks {words}");
        }
    }
}
