//! The checks of a run with sink outages, and the `[expect]` bounds on effect delivery:
//!
//! - `urgent_effects_flow_during_sink_outages` (check 4): while a sink with financial effects
//!   is down, the urgent effects of the sinks that are up keep their usual latency: their p99
//!   (derived during the outages, from derivation to first receipt) is at most the `[expect]`
//!   bound on urgent latency, or without one at most [`URGENT_FACTOR`] times the urgent p99
//!   outside every sink outage plus [`URGENT_SLACK_US`].
//! - `breakers_open_during_sink_outages` (check 5): each sink that refused calls during an
//!   outage had a lane's breaker open within the outage, and each lane of it that opened then
//!   stayed not closed until the outage was over (its last span begun in the outage ends at or
//!   after the outage's end: a crash in between closes a breaker by reopening the lanes, and
//!   the new lanes open theirs again) and was closed at the end.

use super::derived::Derived;
use super::downstream::Receiver;
use super::effect_checks::{ReceiptIndex, note};
use super::effects::BreakerChange;
use crate::checks::{self, quantile};
use crate::report::Check;
use crate::scenario::DOWN_TO_THE_END_US;
use crate::scenario::{EffectExpect, Scenario};
use waybill_core::effect::{Class, Downstream};
use waybill_core::outbox::{BreakerState, LaneId};

/// Urgent p99 during financial outages may be at most this many times the p99 outside...
pub(super) const URGENT_FACTOR: i64 = 2;
/// ... plus this (absorbs simulated durability: an effect is readable from the next tick on).
pub(super) const URGENT_SLACK_US: i64 = 60_000_000;

/// The latency of each effect `keep` selects, from derivation to first receipt; effects never
/// received count in the second value.
pub(super) fn latencies(
    logged: &[Derived],
    ix: &ReceiptIndex<'_>,
    keep: impl Fn(&Derived) -> bool,
) -> (Vec<i64>, u64) {
    let mut out = Vec::new();
    let mut never = 0;
    for (i, d) in logged.iter().enumerate().filter(|(_, d)| keep(d)) {
        match ix.first(i as u64 + 1) {
            Some(rc) => out.push(rc.received_us - d.time_us),
            None => never += 1,
        }
    }
    (out, never)
}

/// The sink outage windows of `scenario`, absolute: (sink selected, from, to).
fn outage_windows(scenario: &Scenario) -> Vec<(Option<Downstream>, i64, i64)> {
    scenario
        .sink_outage_windows()
        .into_iter()
        .map(|(sink, from, to)| (sink.0, from, to))
        .collect()
}

/// Check 4, when a sink with financial effects (billing, erp, ops) has an outage of its own.
pub(super) fn urgent_flow(
    scenario: &Scenario,
    logged: &[Derived],
    ix: &ReceiptIndex<'_>,
    receivers: &[Receiver],
) -> Option<Check> {
    let all = outage_windows(scenario);
    let financial: Vec<(i64, i64)> = all
        .iter()
        .filter(|(s, _, _)| s.is_some_and(|s| s != Downstream::Route))
        .map(|&(_, a, b)| (a, b))
        .collect();
    if financial.is_empty() {
        return None;
    }
    let urgent_up = |d: &Derived, inside: bool| {
        let t = d.time_us;
        d.effect_type.class() == Class::Urgent
            && financial.iter().any(|&(a, b)| (a..b).contains(&t)) == inside
            && !receivers[d.effect_type.sink().index()].down_at(t)
            && (inside || !all.iter().any(|&(_, a, b)| (a..b).contains(&t)))
    };
    let (mut during, never) = latencies(logged, ix, |d| urgent_up(d, true));
    let (mut outside, _) = latencies(logged, ix, |d| urgent_up(d, false));
    let p99_out = quantile(&mut outside, 0.99);
    let limit = scenario
        .expect
        .effects
        .max_urgent_effect_p99_latency_us
        .unwrap_or_else(|| p99_out.unwrap_or(0).saturating_mul(URGENT_FACTOR) + URGENT_SLACK_US);
    let n = during.len();
    let p99_in = quantile(&mut during, 0.99);
    let passed = never == 0 && p99_in.is_none_or(|p| p <= limit);
    let show = |p: Option<i64>| p.map_or("none".to_string(), checks::duration);
    checks::check(
        "urgent_effects_flow_during_sink_outages",
        passed,
        format!("p99 <= {}", checks::duration(limit)),
        format!(
            "p99 {} over {n} urgent effects during the outages (outside: {})",
            show(p99_in),
            show(p99_out)
        ),
        format!(
            "urgent effects derived while a financial sink was down: p99 {}, {never} never received; the limit is {}",
            show(p99_in),
            checks::duration(limit)
        ),
    )
    .into()
}

/// The spans in which lane `lane`'s breaker was not closed: (opened, closed or None).
pub(super) fn open_spans(changes: &[BreakerChange], lane: LaneId) -> Vec<(i64, Option<i64>)> {
    let mut out: Vec<(i64, Option<i64>)> = Vec::new();
    for c in changes.iter().filter(|c| c.lane == lane) {
        let open = out.last().is_some_and(|(_, end)| end.is_none());
        match (c.state == BreakerState::Closed, open) {
            (false, false) => out.push((c.at_us, None)),
            (true, true) => out.last_mut().expect("open").1 = Some(c.at_us),
            _ => {}
        }
    }
    out
}

/// Check 5, when the run has sink outages.
pub(super) fn breakers(receivers: &[Receiver], changes: &[BreakerChange]) -> Option<Check> {
    let mut lines = Vec::new();
    let (mut windows, mut exercised) = (0u64, 0u64);
    for r in receivers {
        let lanes = Class::ALL.map(|c| open_spans(changes, LaneId::new(r.sink, c)));
        for (k, &(from, to)) in r.outages().iter().enumerate() {
            windows += 1;
            if r.refused_in_outage[k] == 0 {
                continue;
            }
            exercised += 1;
            // Per lane, the last span begun in the outage.
            let last: Vec<(i64, Option<i64>)> = lanes
                .iter()
                .filter_map(|spans| spans.iter().rev().find(|(a, _)| (from..=to).contains(a)))
                .copied()
                .collect();
            if last.is_empty() {
                note(&mut lines, || {
                    format!(
                        "{}: {} calls refused during its outage, no breaker opened",
                        r.sink, r.refused_in_outage[k]
                    )
                });
            }
            for (a, end) in last {
                match end {
                    // Down to the end: the breaker rightly stays open.
                    None if to >= DOWN_TO_THE_END_US / 2 => {}
                    None => note(&mut lines, || {
                        format!(
                            "{}: the breaker opened {} into its outage was still open at the end",
                            r.sink,
                            checks::duration(a - from)
                        )
                    }),
                    Some(e) if e < to => note(&mut lines, || {
                        format!(
                            "{}: a breaker closed {} before its outage ended",
                            r.sink,
                            checks::duration(to - e)
                        )
                    }),
                    Some(_) => {}
                }
            }
        }
    }
    if windows == 0 {
        return None;
    }
    Some(checks::check(
        "breakers_open_during_sink_outages",
        lines.is_empty(),
        "each refusing sink's breaker opened in its outage, closed after",
        format!("{exercised} of {windows} outage windows saw refused calls"),
        lines.join("\n"),
    ))
}

/// The longest time a breaker stayed open at once (a span still open counts to `end_us`).
pub(super) fn longest_open_us(changes: &[BreakerChange], end_us: i64) -> i64 {
    LaneId::all()
        .into_iter()
        .flat_map(|l| open_spans(changes, l))
        .map(|(a, b)| b.unwrap_or(end_us) - a)
        .max()
        .unwrap_or(0)
}

/// The `[expect]` bounds on effect delivery, each when given.
pub(super) fn expect_checks(
    e: &EffectExpect,
    logged: &[Derived],
    ix: &ReceiptIndex<'_>,
    changes: &[BreakerChange],
    end_us: i64,
) -> Vec<Check> {
    let mut out = Vec::new();
    for (bound, class, name) in [
        (
            e.max_urgent_effect_p99_latency_us,
            Class::Urgent,
            "expect.max_urgent_effect_p99_latency",
        ),
        (
            e.max_financial_effect_p99_latency_us,
            Class::Financial,
            "expect.max_financial_effect_p99_latency",
        ),
    ] {
        if let Some(limit) = bound {
            let (mut v, _) = latencies(logged, ix, |d| d.effect_type.class() == class);
            out.push(checks::at_most_duration(
                name,
                limit,
                quantile(&mut v, 0.99),
            ));
        }
    }
    if let Some(limit) = e.max_breaker_open_us {
        let longest = longest_open_us(changes, end_us);
        out.push(checks::at_most_duration(
            "expect.max_breaker_open",
            limit,
            Some(longest),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_spans_pair_each_opening_with_its_closing() {
        let lane = LaneId::new(Downstream::Billing, Class::Financial);
        let other = LaneId::new(Downstream::Erp, Class::Financial);
        let ch = |lane, at_us, state| BreakerChange { lane, at_us, state };
        let changes = [
            ch(lane, 10, BreakerState::Open),
            ch(other, 11, BreakerState::Open),
            ch(lane, 40, BreakerState::HalfOpen),
            ch(lane, 41, BreakerState::Open),
            ch(lane, 90, BreakerState::Closed),
            ch(lane, 100, BreakerState::Open),
        ];
        assert_eq!(
            open_spans(&changes, lane),
            vec![(10, Some(90)), (100, None)]
        );
        assert_eq!(open_spans(&changes, other), vec![(11, None)]);
        assert_eq!(longest_open_us(&changes, 200), 200 - 11);
    }
}
