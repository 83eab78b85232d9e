//! The scenario keys of outbound effects: which downstream system a sink fault hits, the SLA
//! targets (`[sla]`), the simulated downstream systems (`[downstream]`) and the `[expect]`
//! bounds on effect delivery.

use super::{ScenarioError, US_PER_S, duration, err};
use serde::Deserialize;
use waybill_core::effect::{Downstream, SlaTargets};

/// The longest latency a simulated downstream system may take per delivery.
const MAX_DOWNSTREAM_LATENCY_US: i64 = 3600 * US_PER_S;
/// The latency of a simulated downstream system when `[downstream]` does not say.
pub const DEFAULT_DOWNSTREAM_LATENCY_US: i64 = 200_000;

/// Which downstream systems a sink fault applies to (`"*"` = all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SinkSel(pub Option<Downstream>);

impl SinkSel {
    pub fn matches(self, sink: Downstream) -> bool {
        self.0.is_none_or(|s| s == sink)
    }

    pub fn as_str(self) -> &'static str {
        self.0.map_or("*", Downstream::as_str)
    }

    pub(super) fn parse(at: &str, s: Option<&str>) -> Result<SinkSel, ScenarioError> {
        match s {
            None | Some("*") => Ok(SinkSel(None)),
            Some(s) => Downstream::parse(s)
                .map(|d| SinkSel(Some(d)))
                .ok_or_else(|| {
                    ScenarioError(format!(
                        "{at}.sink: {s:?} is not route, billing, erp, ops or \"*\""
                    ))
                }),
        }
    }
}

/// SLA targets in whole minutes (`[sla]`); a measure without one is never breached. The run
/// makes them the journal's settings before the first event.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SlaSpec {
    pub order_to_dispatch_min: Option<u32>,
    pub invoice_cycle_min: Option<u32>,
    pub pod_propagation_min: Option<u32>,
}

impl SlaSpec {
    /// True when at least one target is set.
    pub fn any(&self) -> bool {
        self.targets() != SlaTargets::NONE
    }

    pub fn targets(&self) -> SlaTargets {
        SlaTargets {
            order_to_dispatch_min: self.order_to_dispatch_min,
            invoice_cycle_min: self.invoice_cycle_min,
            pod_propagation_min: self.pod_propagation_min,
        }
    }
}

/// The simulated downstream systems (`[downstream]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DownstreamSpec {
    /// How long each delivery takes, simulated time.
    pub latency_us: i64,
}

impl Default for DownstreamSpec {
    fn default() -> Self {
        DownstreamSpec {
            latency_us: DEFAULT_DOWNSTREAM_LATENCY_US,
        }
    }
}

/// Bounds on effect delivery, simulated time (part of `[expect]`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EffectExpect {
    /// The 99th percentile latency of urgent effects, from derivation to first receipt.
    pub max_urgent_effect_p99_latency_us: Option<i64>,
    /// The same for financial effects.
    pub max_financial_effect_p99_latency_us: Option<i64>,
    /// The longest time any sink's breaker stayed open at once.
    pub max_breaker_open_us: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct SlaToml {
    order_to_dispatch: Option<i64>,
    invoice_cycle: Option<i64>,
    pod_propagation: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct DownstreamToml {
    latency: Option<String>,
}

pub(super) fn sla_spec(t: SlaToml) -> Result<SlaSpec, ScenarioError> {
    let minutes = |name: &str, v: Option<i64>| -> Result<Option<u32>, ScenarioError> {
        v.map(|m| {
            u32::try_from(m).map_err(|_| {
                ScenarioError(format!(
                    "sla.{name}: {m} is not a number of minutes (0 to {})",
                    u32::MAX
                ))
            })
        })
        .transpose()
    };
    Ok(SlaSpec {
        order_to_dispatch_min: minutes("order_to_dispatch", t.order_to_dispatch)?,
        invoice_cycle_min: minutes("invoice_cycle", t.invoice_cycle)?,
        pod_propagation_min: minutes("pod_propagation", t.pod_propagation)?,
    })
}

pub(super) fn downstream_spec(t: DownstreamToml) -> Result<DownstreamSpec, ScenarioError> {
    let Some(s) = t.latency else {
        return Ok(DownstreamSpec::default());
    };
    let latency_us = duration("downstream.latency", &s)?;
    if latency_us > MAX_DOWNSTREAM_LATENCY_US {
        return err("downstream.latency must be at most 1h");
    }
    Ok(DownstreamSpec { latency_us })
}

/// The effect bounds of `[expect]`, each a duration.
pub(super) fn effect_expect(
    urgent: Option<&str>,
    financial: Option<&str>,
    breaker: Option<&str>,
) -> Result<EffectExpect, ScenarioError> {
    let d = |name: &str, v: Option<&str>| -> Result<Option<i64>, ScenarioError> {
        v.map(|s| duration(&format!("expect.{name}"), s))
            .transpose()
    };
    Ok(EffectExpect {
        max_urgent_effect_p99_latency_us: d("max_urgent_effect_p99_latency", urgent)?,
        max_financial_effect_p99_latency_us: d("max_financial_effect_p99_latency", financial)?,
        max_breaker_open_us: d("max_breaker_open", breaker)?,
    })
}
