//! Scenario files (TOML, docs/scenarios.md): what world to build, which faults to inject, how to
//! run and what to expect. Unknown keys are an error naming the key, so a typo never silently
//! changes what a QA case tests.

mod effects;
mod schema;

pub use effects::{DEFAULT_DOWNSTREAM_LATENCY_US, DownstreamSpec, EffectExpect, SinkSel, SlaSpec};
pub use schema::SchemaSpec;

use serde::Deserialize;
use std::path::Path;
use waybill_core::event::System;
use waybill_core::journal::Durability;
use waybill_core::time::parse_rfc3339_us;

/// Microseconds in one second.
const US_PER_S: i64 = 1_000_000;

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{0}")]
pub struct ScenarioError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, ScenarioError> {
    Err(ScenarioError(msg.into()))
}

/// A validated scenario. Durations and times are microseconds (`_us`); offsets are from
/// `world.start_us`.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub name: String,
    pub seed: u64,
    pub description: String,
    pub world: WorldSpec,
    pub billing: BillingSpec,
    pub faults: Vec<Fault>,
    pub run: RunSpec,
    pub expect: ExpectSpec,
    /// SLA targets; breaches become `alert.sla_breached` effects.
    pub sla: SlaSpec,
    /// The simulated downstream systems the effects are delivered to.
    pub downstream: DownstreamSpec,
    /// Which events go on the wire in schema version 2.
    pub schema: SchemaSpec,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WorldSpec {
    /// Orders created over the horizon.
    pub shipments: u64,
    pub vehicles: u64,
    pub start_us: i64,
    pub horizon_us: i64,
    /// Telematics ping period per vehicle on the road.
    pub ping_interval_us: i64,
    /// Piecewise multipliers of the base order rate (offsets from start).
    pub demand: Vec<Demand>,
    /// Depots vehicles start from and pickups happen at.
    pub depots: u32,
    /// Distinct customers placing orders.
    pub customers: u32,
    /// Centre of the map region, micro-degrees, and its radius.
    pub region_lat_ud: i32,
    pub region_lon_ud: i32,
    pub region_radius_km: f64,
    /// Mean road speed.
    pub speed_kph: f64,
    /// Shares of orders that get an amendment, a cancellation, a failed first delivery.
    pub amend_share: f64,
    pub cancel_share: f64,
    pub failed_delivery_share: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Demand {
    pub from_us: i64,
    pub to_us: i64,
    pub multiplier: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BillingSpec {
    /// Share of due detention charges that billing forgets (leakage to catch).
    pub detention_omission: f64,
    /// Share of charges voided (and re-issued) by billing.
    pub void_share: f64,
    /// Share of invoices the ERP settles at a different amount (disputes).
    pub dispute_share: f64,
}

/// Which systems a fault applies to (`"*"` = all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceSel(pub Option<System>);

impl SourceSel {
    pub fn matches(self, system: System) -> bool {
        self.0.is_none_or(|s| s == system)
    }
    pub fn as_str(self) -> &'static str {
        self.0.map_or("*", |s| s.as_str())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Source held back from..to, then its backlog arrives as a burst.
    Outage {
        source: SourceSel,
        from_us: i64,
        to_us: i64,
    },
    /// Random extra delivery delay up to max_delay.
    Reorder {
        source: SourceSel,
        probability: f64,
        max_delay_us: i64,
    },
    /// Redelivered byte for byte.
    Duplicate { source: SourceSel, probability: f64 },
    /// Lost upstream, never delivered: shows up as a gap.
    Drop { source: SourceSel, probability: f64 },
    /// An extra, malformed copy of an event, one of the dead-letter reasons.
    Malformed { source: SourceSel, probability: f64 },
    /// The core dies without shutdown at this offset, reopens from its journal, and
    /// unacknowledged events are delivered again.
    Crash { at_us: i64, mode: CrashMode },
    /// A downstream system refuses every effect delivered to it from..to; without `to`
    /// ([`DOWN_TO_THE_END_US`]) it stays down to the end of the run, and its effects stay
    /// pending in the outbox.
    SinkOutage {
        sink: SinkSel,
        from_us: i64,
        to_us: i64,
    },
    /// A share of the deliveries to a downstream system fail at random.
    SinkFlaky { sink: SinkSel, probability: f64 },
}

/// The `to` of a sink outage that lasts to the end of the run: far past any horizon, and far
/// from overflowing when added to a start time.
pub const DOWN_TO_THE_END_US: i64 = i64::MAX / 4;

impl Scenario {
    /// The `sink_outage` windows, absolute: (sinks selected, from, to); `to` of an outage
    /// without one is past any run.
    pub fn sink_outage_windows(&self) -> Vec<(SinkSel, i64, i64)> {
        let s = self.world.start_us;
        self.faults
            .iter()
            .filter_map(|f| match *f {
                Fault::SinkOutage {
                    sink,
                    from_us,
                    to_us,
                } => Some((sink, s + from_us, s + to_us)),
                _ => None,
            })
            .collect()
    }

    /// Whether `sink` is down at the end of the run (a `sink_outage` without `to`).
    pub fn sink_down_at_end(&self, sink: waybill_core::effect::Downstream) -> bool {
        self.faults.iter().any(|f| {
            matches!(f, Fault::SinkOutage { sink: sel, to_us, .. }
                if *to_us == DOWN_TO_THE_END_US && sel.matches(sink))
        })
    }
}

/// What a crash fault takes down with the core.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CrashMode {
    /// The process dies (like SIGKILL): nothing more is flushed, the page cache survives.
    #[default]
    Process,
    /// The machine loses power: what was not durable is lost, page by page at random, and a
    /// kept page may be torn mid-record.
    Power,
}

impl CrashMode {
    pub fn as_str(self) -> &'static str {
        match self {
            CrashMode::Process => "process",
            CrashMode::Power => "power",
        }
    }
}

impl Fault {
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::Outage { .. } => "outage",
            Fault::Reorder { .. } => "reorder",
            Fault::Duplicate { .. } => "duplicate",
            Fault::Drop { .. } => "drop",
            Fault::Malformed { .. } => "malformed",
            Fault::Crash { .. } => "crash",
            Fault::SinkOutage { .. } => "sink_outage",
            Fault::SinkFlaky { .. } => "sink_flaky",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pace {
    /// As fast as the core goes.
    Max,
    /// Simulated seconds per wall second (an open-loop offered rate).
    Speedup(f64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct RunSpec {
    pub pace: Pace,
    pub durability: Durability,
    /// Events per batch handed to the core.
    pub batch_events: usize,
    pub segment_bytes: u64,
    /// The core takes a snapshot (off its writer) every this many records; 0: none.
    pub snapshot_every: u64,
}

/// Thresholds checked at the end of a run, besides the checks every run makes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExpectSpec {
    pub max_p99_latency_us: Option<u64>,
    pub max_p999_latency_us: Option<u64>,
    pub min_throughput_eps: Option<f64>,
    pub min_events: Option<u64>,
    pub min_leaking_shipments: Option<u64>,
    /// Bounds on effect delivery (simulated time).
    pub effects: EffectExpect,
}

// ---- TOML shapes (every table denies unknown keys) ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioToml {
    name: String,
    #[serde(default)]
    seed: u64,
    #[serde(default)]
    description: String,
    world: WorldToml,
    #[serde(default)]
    billing: BillingToml,
    #[serde(default)]
    fault: Vec<FaultToml>,
    #[serde(default)]
    run: RunToml,
    #[serde(default)]
    expect: ExpectToml,
    #[serde(default)]
    sla: effects::SlaToml,
    #[serde(default)]
    downstream: effects::DownstreamToml,
    #[serde(default)]
    schema: schema::SchemaToml,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WorldToml {
    shipments: u64,
    vehicles: u64,
    start: String,
    horizon: String,
    #[serde(default = "default_ping")]
    ping_interval: String,
    #[serde(default)]
    demand: Vec<DemandToml>,
    depots: Option<u32>,
    customers: Option<u32>,
    region: Option<RegionToml>,
    speed_kph: Option<f64>,
    amend_share: Option<f64>,
    cancel_share: Option<f64>,
    failed_delivery_share: Option<f64>,
}

fn default_ping() -> String {
    "60s".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegionToml {
    lat: f64,
    lon: f64,
    radius_km: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemandToml {
    from: String,
    to: String,
    multiplier: f64,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct BillingToml {
    detention_omission: Option<f64>,
    void_share: Option<f64>,
    dispute_share: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultToml {
    kind: String,
    source: Option<String>,
    from: Option<String>,
    to: Option<String>,
    probability: Option<f64>,
    max_delay: Option<String>,
    at: Option<String>,
    mode: Option<String>,
    sink: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RunToml {
    pace: Option<toml::Value>,
    durability: Option<String>,
    batch_events: Option<usize>,
    segment_bytes: Option<u64>,
    snapshot_every: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ExpectToml {
    max_p99_latency_us: Option<u64>,
    max_p999_latency_us: Option<u64>,
    min_throughput_eps: Option<f64>,
    min_events: Option<u64>,
    min_leaking_shipments: Option<u64>,
    max_urgent_effect_p99_latency: Option<String>,
    max_financial_effect_p99_latency: Option<String>,
    max_breaker_open: Option<String>,
}

/// Parses a duration such as `"90s"`, `"15m"`, `"2h"`, `"1d"`, `"1h30m"` or `"250ms"`.
pub fn parse_duration_us(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let mut total: i64 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit())?;
        if digits == 0 {
            return None;
        }
        let n: i64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let (unit_us, len) = if rest.starts_with("ms") {
            (1_000, 2)
        } else if rest.starts_with('s') {
            (US_PER_S, 1)
        } else if rest.starts_with('m') {
            (60 * US_PER_S, 1)
        } else if rest.starts_with('h') {
            (3600 * US_PER_S, 1)
        } else if rest.starts_with('d') {
            (86_400 * US_PER_S, 1)
        } else {
            return None;
        };
        total = total.checked_add(n.checked_mul(unit_us)?)?;
        rest = &rest[len..];
    }
    Some(total)
}

fn duration(field: &str, s: &str) -> Result<i64, ScenarioError> {
    parse_duration_us(s).ok_or_else(|| {
        ScenarioError(format!(
            "{field}: {s:?} is not a duration (like \"90s\", \"15m\", \"2h\", \"1d\")"
        ))
    })
}

fn share(field: &str, v: Option<f64>, default: f64) -> Result<f64, ScenarioError> {
    let v = v.unwrap_or(default);
    if !(0.0..=1.0).contains(&v) {
        return err(format!("{field}: {v} is not a probability in [0, 1]"));
    }
    Ok(v)
}

impl Scenario {
    pub fn from_path(path: &Path) -> Result<Scenario, ScenarioError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ScenarioError(format!("cannot read {}: {e}", path.display())))?;
        Scenario::from_toml(&text)
            .map_err(|e| ScenarioError(format!("{}: {}", path.display(), e.0)))
    }

    pub fn from_toml(text: &str) -> Result<Scenario, ScenarioError> {
        let t: ScenarioToml = toml::from_str(text).map_err(|e| {
            // One line: toml's message names the key; keep the line number it gives.
            let msg = e.message().to_string();
            let line = e
                .span()
                .map(|sp| 1 + text[..sp.start].matches('\n').count());
            ScenarioError(match line {
                Some(l) => format!("line {l}: {msg}"),
                None => msg,
            })
        })?;
        let w = t.world;
        let start_us = parse_rfc3339_us(&w.start).ok_or_else(|| {
            ScenarioError(format!(
                "world.start: {:?} is not an RFC 3339 time",
                w.start
            ))
        })?;
        let horizon_us = duration("world.horizon", &w.horizon)?;
        if horizon_us <= 0 {
            return err("world.horizon must be positive");
        }
        let ping_interval_us = duration("world.ping_interval", &w.ping_interval)?;
        if ping_interval_us < US_PER_S {
            return err("world.ping_interval must be at least 1s");
        }
        if w.shipments == 0 || w.vehicles == 0 {
            return err("world.shipments and world.vehicles must be at least 1");
        }
        let mut demand = Vec::new();
        for (i, d) in w.demand.iter().enumerate() {
            let from_us = duration(&format!("world.demand[{i}].from"), &d.from)?;
            let to_us = duration(&format!("world.demand[{i}].to"), &d.to)?;
            if from_us >= to_us || to_us > horizon_us {
                return err(format!(
                    "world.demand[{i}]: from must be before to, within the horizon"
                ));
            }
            if !(d.multiplier > 0.0 && d.multiplier.is_finite()) {
                return err(format!(
                    "world.demand[{i}].multiplier must be a positive number"
                ));
            }
            demand.push(Demand {
                from_us,
                to_us,
                multiplier: d.multiplier,
            });
        }
        let region = w.region.unwrap_or(RegionToml {
            lat: 52.37,
            lon: 4.90,
            radius_km: 60.0,
        });
        if !(-80.0..=80.0).contains(&region.lat)
            || !(-179.0..=179.0).contains(&region.lon)
            || !(1.0..=500.0).contains(&region.radius_km)
        {
            return err(
                "world.region: lat in [-80, 80], lon in [-179, 179], radius_km in [1, 500]",
            );
        }
        let speed_kph = w.speed_kph.unwrap_or(55.0);
        if !(5.0..=130.0).contains(&speed_kph) {
            return err("world.speed_kph must be in [5, 130]");
        }
        let world = WorldSpec {
            shipments: w.shipments,
            vehicles: w.vehicles,
            start_us,
            horizon_us,
            ping_interval_us,
            demand,
            depots: w.depots.unwrap_or(4).max(1),
            customers: w
                .customers
                .unwrap_or_else(|| (w.shipments / 20).clamp(1, 100_000) as u32)
                .max(1),
            region_lat_ud: (region.lat * 1e6).round() as i32,
            region_lon_ud: (region.lon * 1e6).round() as i32,
            region_radius_km: region.radius_km,
            speed_kph,
            amend_share: share("world.amend_share", w.amend_share, 0.05)?,
            cancel_share: share("world.cancel_share", w.cancel_share, 0.02)?,
            failed_delivery_share: share(
                "world.failed_delivery_share",
                w.failed_delivery_share,
                0.03,
            )?,
        };
        let billing = BillingSpec {
            detention_omission: share(
                "billing.detention_omission",
                t.billing.detention_omission,
                0.0,
            )?,
            void_share: share("billing.void_share", t.billing.void_share, 0.01)?,
            dispute_share: share("billing.dispute_share", t.billing.dispute_share, 0.01)?,
        };
        let mut faults = Vec::new();
        for (i, f) in t.fault.iter().enumerate() {
            faults.push(fault(i, f, horizon_us)?);
        }
        if faults
            .iter()
            .filter(|f| matches!(f, Fault::Crash { .. }))
            .count()
            > 8
        {
            return err("at most 8 crash faults");
        }
        let run = run_spec(t.run)?;
        let expect = expect_spec(t.expect)?;
        if t.name.trim().is_empty() {
            return err("name must not be empty");
        }
        Ok(Scenario {
            name: t.name,
            seed: t.seed,
            description: t.description,
            world,
            billing,
            faults,
            run,
            expect,
            sla: effects::sla_spec(t.sla)?,
            downstream: effects::downstream_spec(t.downstream)?,
            schema: schema::schema_spec(t.schema)?,
        })
    }
}

/// Refuses a fault of an unknown kind, or with a key its kind does not take.
fn check_fault_keys(i: usize, f: &FaultToml, at: &str) -> Result<(), ScenarioError> {
    let given: Vec<&str> = [
        ("source", f.source.is_some()),
        ("from", f.from.is_some()),
        ("to", f.to.is_some()),
        ("probability", f.probability.is_some()),
        ("max_delay", f.max_delay.is_some()),
        ("at", f.at.is_some()),
        ("mode", f.mode.is_some()),
        ("sink", f.sink.is_some()),
    ]
    .into_iter()
    .filter(|(_, g)| *g)
    .map(|(k, _)| k)
    .collect();
    let allowed: &[&str] = match f.kind.as_str() {
        "outage" => &["source", "from", "to"],
        "reorder" => &["source", "probability", "max_delay"],
        "duplicate" | "drop" | "malformed" => &["source", "probability"],
        "crash" => &["at", "mode"],
        "sink_outage" => &["sink", "from", "to"],
        "sink_flaky" => &["sink", "probability"],
        other => {
            return err(format!(
                "fault[{i}]: unknown kind {other:?} (outage, reorder, duplicate, drop, malformed, crash, sink_outage, sink_flaky)"
            ));
        }
    };
    match given.iter().find(|k| !allowed.contains(k)) {
        Some(k) => err(format!(
            "{at}: unknown key `{k}` for this kind (allowed: {})",
            allowed.join(", ")
        )),
        None => Ok(()),
    }
}

fn fault(i: usize, f: &FaultToml, horizon_us: i64) -> Result<Fault, ScenarioError> {
    let at = format!("fault[{i}] ({})", f.kind);
    check_fault_keys(i, f, &at)?;
    let source = || -> Result<SourceSel, ScenarioError> {
        match f.source.as_deref() {
            None | Some("*") => Ok(SourceSel(None)),
            Some(s) => System::parse(s).map(|s| SourceSel(Some(s))).ok_or_else(|| {
                ScenarioError(format!(
                    "{at}.source: {s:?} is not erp, route, fleet, billing or \"*\""
                ))
            }),
        }
    };
    let probability = || -> Result<f64, ScenarioError> {
        let p = f
            .probability
            .ok_or_else(|| ScenarioError(format!("{at}: probability is required")))?;
        share(&format!("{at}.probability"), Some(p), 0.0)
    };
    let offset = |name: &str, v: &Option<String>| -> Result<i64, ScenarioError> {
        let s = v
            .as_deref()
            .ok_or_else(|| ScenarioError(format!("{at}: {name} is required")))?;
        let us = duration(&format!("{at}.{name}"), s)?;
        if us > horizon_us {
            return err(format!("{at}.{name} is past the horizon"));
        }
        Ok(us)
    };
    Ok(match f.kind.as_str() {
        "outage" => {
            let (from_us, to_us) = (offset("from", &f.from)?, offset("to", &f.to)?);
            if from_us >= to_us {
                return err(format!("{at}: from must be before to"));
            }
            Fault::Outage {
                source: source()?,
                from_us,
                to_us,
            }
        }
        "reorder" => {
            let s = f
                .max_delay
                .as_deref()
                .ok_or_else(|| ScenarioError(format!("{at}: max_delay is required")))?;
            let max_delay_us = duration(&format!("{at}.max_delay"), s)?;
            if max_delay_us <= 0 {
                return err(format!("{at}.max_delay must be positive"));
            }
            Fault::Reorder {
                source: source()?,
                probability: probability()?,
                max_delay_us,
            }
        }
        "duplicate" => Fault::Duplicate {
            source: source()?,
            probability: probability()?,
        },
        "drop" => Fault::Drop {
            source: source()?,
            probability: probability()?,
        },
        "malformed" => Fault::Malformed {
            source: source()?,
            probability: probability()?,
        },
        "crash" => Fault::Crash {
            at_us: offset("at", &f.at)?,
            mode: match f.mode.as_deref() {
                None | Some("process") => CrashMode::Process,
                Some("power") => CrashMode::Power,
                Some(other) => {
                    return err(format!(
                        "{at}.mode: {other:?} is neither \"process\" nor \"power\""
                    ));
                }
            },
        },
        "sink_outage" => {
            let from_us = offset("from", &f.from)?;
            let to_us = match &f.to {
                None => DOWN_TO_THE_END_US,
                to => offset("to", to)?,
            };
            if from_us >= to_us {
                return err(format!("{at}: from must be before to"));
            }
            Fault::SinkOutage {
                sink: SinkSel::parse(&at, f.sink.as_deref())?,
                from_us,
                to_us,
            }
        }
        "sink_flaky" => Fault::SinkFlaky {
            sink: SinkSel::parse(&at, f.sink.as_deref())?,
            probability: probability()?,
        },
        _ => unreachable!("kinds checked above"),
    })
}

fn expect_spec(e: ExpectToml) -> Result<ExpectSpec, ScenarioError> {
    Ok(ExpectSpec {
        max_p99_latency_us: e.max_p99_latency_us,
        max_p999_latency_us: e.max_p999_latency_us,
        min_throughput_eps: e.min_throughput_eps,
        min_events: e.min_events,
        min_leaking_shipments: e.min_leaking_shipments,
        effects: effects::effect_expect(
            e.max_urgent_effect_p99_latency.as_deref(),
            e.max_financial_effect_p99_latency.as_deref(),
            e.max_breaker_open.as_deref(),
        )?,
    })
}

fn run_spec(r: RunToml) -> Result<RunSpec, ScenarioError> {
    let pace = match r.pace {
        None => Pace::Max,
        Some(toml::Value::String(s)) if s == "max" => Pace::Max,
        Some(toml::Value::Float(x)) if x > 0.0 && x.is_finite() => Pace::Speedup(x),
        Some(toml::Value::Integer(x)) if x > 0 => Pace::Speedup(x as f64),
        Some(v) => {
            return err(format!(
                "run.pace: {v} is neither \"max\" nor a positive number of simulated seconds per wall second"
            ));
        }
    };
    let durability = match r.durability.as_deref() {
        None => Durability::Group,
        Some(s) => s
            .parse()
            .map_err(|e| ScenarioError(format!("run.durability: {e}")))?,
    };
    let batch_events = r.batch_events.unwrap_or(1024);
    if !(1..=65_536).contains(&batch_events) {
        return err("run.batch_events must be in [1, 65536]");
    }
    let segment_bytes = r.segment_bytes.unwrap_or(64 << 20);
    Ok(RunSpec {
        pace,
        durability,
        batch_events,
        segment_bytes,
        snapshot_every: r.snapshot_every.unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use waybill_core::effect::Downstream;

    const MINIMAL: &str = r#"
name = "t"
[world]
shipments = 10
vehicles = 2
start = "2026-11-27T00:00:00Z"
horizon = "2h"
"#;

    #[test]
    fn durations() {
        let cases = [
            ("90s", Some(90 * US_PER_S)),
            ("15m", Some(900 * US_PER_S)),
            ("2h", Some(7200 * US_PER_S)),
            ("1d", Some(86_400 * US_PER_S)),
            ("1h30m", Some(5400 * US_PER_S)),
            ("250ms", Some(250_000)),
            ("", None),
            ("h", None),
            ("5", None),
            ("5x", None),
            ("-5s", None),
        ];
        for (s, want) in cases {
            assert_eq!(parse_duration_us(s), want, "{s:?}");
        }
    }

    #[test]
    fn minimal_scenario_gets_defaults() {
        let s = Scenario::from_toml(MINIMAL).unwrap();
        assert_eq!(s.world.ping_interval_us, 60 * US_PER_S);
        assert_eq!(s.run.pace, Pace::Max);
        assert_eq!(s.run.durability, Durability::Group);
        assert!(s.faults.is_empty());
    }

    /// Each bad file is refused with a message naming what is wrong.
    #[test]
    fn errors_name_the_key() {
        let cases = [
            (
                "[world]\nshipments=1\nvehicles=1\nstart=\"2026-11-27T00:00:00Z\"\nhorizon=\"1h\"\nshipmentz=3\n",
                "shipmentz",
            ),
            ("naem = \"x\"\n", "naem"),
            ("[expect]\nmax_p99_latencyus = 5\n", "max_p99_latencyus"),
            (
                "[[fault]]\nkind = \"drop\"\nsource = \"fleet\"\nprobability = 0.1\nmax_delay = \"1m\"\n",
                "max_delay",
            ),
            ("[[fault]]\nkind = \"drops\"\nprobability = 0.1\n", "drops"),
            (
                "[[fault]]\nkind = \"drop\"\nsource = \"trucks\"\nprobability = 0.1\n",
                "trucks",
            ),
            (
                "[[fault]]\nkind = \"drop\"\nprobability = 1.5\n",
                "probability",
            ),
            (
                "[[fault]]\nkind = \"outage\"\nfrom = \"3h\"\nto = \"4h\"\n",
                "horizon",
            ),
            ("[run]\npace = \"fast\"\n", "run.pace"),
            ("[run]\ndurability = \"maybe\"\n", "durability"),
            (
                "[[fault]]\nkind = \"crash\"\nat = \"1h\"\nmode = \"meteor\"\n",
                "meteor",
            ),
            (
                "[[fault]]\nkind = \"drop\"\nprobability = 0.1\nmode = \"power\"\n",
                "mode",
            ),
            (
                "[[fault]]\nkind = \"sink_outage\"\nsink = \"warehouse\"\nfrom = \"1h\"\nto = \"2h\"\n",
                "warehouse",
            ),
            (
                "[[fault]]\nkind = \"sink_outage\"\nsink = \"erp\"\nto = \"1h\"\n",
                "from is required",
            ),
            (
                "[[fault]]\nkind = \"sink_flaky\"\nsink = \"erp\"\nsource = \"erp\"\nprobability = 0.1\n",
                "source",
            ),
            (
                "[[fault]]\nkind = \"drop\"\nsink = \"erp\"\nprobability = 0.1\n",
                "sink",
            ),
            ("[[fault]]\nkind = \"sink_flaky\"\n", "probability"),
            (
                "[sla]\norder_to_dispatch = 10\ninvoice_cycles = 5\n",
                "invoice_cycles",
            ),
            ("[sla]\npod_propagation = -1\n", "pod_propagation"),
            ("[downstream]\nlatency = \"fast\"\n", "downstream.latency"),
            ("[downstream]\nlatency = \"2h\"\n", "at most 1h"),
            ("[downstream]\njitter = \"1s\"\n", "jitter"),
            (
                "[expect]\nmax_urgent_effect_p99_latency = \"300\"\n",
                "max_urgent_effect_p99_latency",
            ),
            (
                "[expect]\nmax_breaker_open = \"soon\"\n",
                "expect.max_breaker_open",
            ),
            (
                "[expect]\nmax_breaker_opened = \"1h\"\n",
                "max_breaker_opened",
            ),
        ];
        for (extra, needle) in cases {
            let text = if extra.starts_with("[world]") {
                format!("name = \"t\"\n{extra}")
            } else {
                format!("{MINIMAL}{extra}")
            };
            let e = Scenario::from_toml(&text).unwrap_err();
            assert!(e.0.contains(needle), "{needle:?} not in {:?}", e.0);
            assert!(!e.0.contains('\n'), "one line: {:?}", e.0);
        }
    }

    #[test]
    fn sink_faults_sla_downstream_and_effect_bounds_parse() {
        let s = Scenario::from_toml(MINIMAL).unwrap();
        assert_eq!(
            (s.sla, s.downstream, s.expect.effects),
            (
                SlaSpec::default(),
                DownstreamSpec {
                    latency_us: DEFAULT_DOWNSTREAM_LATENCY_US
                },
                EffectExpect::default()
            )
        );
        assert!(!s.sla.any());
        let text = format!(
            "{MINIMAL}[[fault]]\nkind = \"sink_outage\"\nsink = \"billing\"\nfrom = \"10m\"\nto = \"1h\"\n[[fault]]\nkind = \"sink_flaky\"\nprobability = 0.25\n[sla]\ninvoice_cycle = 90\n[downstream]\nlatency = \"250ms\"\n[expect]\nmax_urgent_effect_p99_latency = \"5m\"\nmax_financial_effect_p99_latency = \"3h\"\nmax_breaker_open = \"1h30m\"\n"
        );
        let s = Scenario::from_toml(&text).unwrap();
        assert_eq!(
            s.faults,
            vec![
                Fault::SinkOutage {
                    sink: SinkSel(Some(Downstream::Billing)),
                    from_us: 600 * US_PER_S,
                    to_us: 3600 * US_PER_S
                },
                Fault::SinkFlaky {
                    sink: SinkSel(None),
                    probability: 0.25
                },
            ]
        );
        assert_eq!(s.faults[0].kind(), "sink_outage");
        let down = Scenario::from_toml(&format!(
            "{MINIMAL}[[fault]]\nkind = \"sink_outage\"\nsink = \"erp\"\nfrom = \"1h\"\n"
        ))
        .unwrap();
        assert!(down.sink_down_at_end(waybill_core::effect::Downstream::Erp));
        assert!(!down.sink_down_at_end(waybill_core::effect::Downstream::Billing));
        assert!(!s.sink_down_at_end(waybill_core::effect::Downstream::Billing));
        assert!(
            SinkSel(None).matches(Downstream::Ops)
                && !SinkSel(Some(Downstream::Erp)).matches(Downstream::Ops)
        );
        assert_eq!(
            s.sla,
            SlaSpec {
                order_to_dispatch_min: None,
                invoice_cycle_min: Some(90),
                pod_propagation_min: None
            }
        );
        assert!(s.sla.any());
        assert_eq!(s.downstream.latency_us, 250_000);
        assert_eq!(
            s.expect.effects,
            EffectExpect {
                max_urgent_effect_p99_latency_us: Some(300 * US_PER_S),
                max_financial_effect_p99_latency_us: Some(3 * 3600 * US_PER_S),
                max_breaker_open_us: Some(5400 * US_PER_S),
            }
        );
    }

    #[test]
    fn faults_parse() {
        let text = format!(
            "{MINIMAL}[[fault]]\nkind = \"outage\"\nsource = \"erp\"\nfrom = \"10m\"\nto = \"20m\"\n[[fault]]\nkind = \"reorder\"\nsource = \"*\"\nprobability = 0.2\nmax_delay = \"15m\"\n[[fault]]\nkind = \"crash\"\nat = \"1h\"\n[[fault]]\nkind = \"crash\"\nat = \"2h\"\nmode = \"power\"\n"
        );
        let s = Scenario::from_toml(&text).unwrap();
        assert_eq!(
            s.faults,
            vec![
                Fault::Outage {
                    source: SourceSel(Some(System::Erp)),
                    from_us: 600 * US_PER_S,
                    to_us: 1200 * US_PER_S
                },
                Fault::Reorder {
                    source: SourceSel(None),
                    probability: 0.2,
                    max_delay_us: 900 * US_PER_S
                },
                Fault::Crash {
                    at_us: 3600 * US_PER_S,
                    mode: CrashMode::Process
                },
                Fault::Crash {
                    at_us: 7200 * US_PER_S,
                    mode: CrashMode::Power
                },
            ]
        );
    }
}
