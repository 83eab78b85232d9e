//! The checklist of a run (docs/scenarios.md: counts, acknowledgements, ground truth, digests,
//! `[expect]`) and the report it becomes. Every expectation comes from the simulator's own
//! world, stream and ledger, never from the core.

use super::effect_verdict::check_effects;
use super::expected::{ExpectedCounts, expected_counts};
use super::ingest::Ingested;
use super::latency::{self, Buckets};
use super::ledger::Ledger;
use super::money;
use super::observe::{self, Observed};
use super::timeline::timeline;
use super::{Prepared, Sabotage, SimError};
use crate::checks::{self, MAX_DETAIL_LINES};
use crate::oracle::{self, Expected};
use crate::report::{
    self, Acknowledgements, Check, InjectedReport, Percentiles, Progress, Report, Throughput,
};
use crate::scenario::{ExpectSpec, Fault, Pace, Scenario};
use std::path::Path;
use waybill_core::engine::{self, Core, Until};
use waybill_core::event::DeadLetterReason;
use waybill_core::journal::Durability;

fn reason_list(counts: &[u64; 8]) -> Vec<(String, u64)> {
    DeadLetterReason::ALL
        .iter()
        .map(|r| (r.as_str().to_string(), counts[r.index()]))
        .collect()
}

/// Conservation, and every count against what the deliveries the journal must hold give
/// (everything sent, redeliveries included, but what crashes cut).
fn counting_checks(e: &ExpectedCounts, obs: &Observed) -> Vec<Check> {
    let s = &obs.summary;
    vec![
        checks::check(
            "conservation",
            s.received == s.applied + s.duplicates + s.dead_lettered,
            "received = applied + duplicates + dead_lettered",
            format!(
                "{} = {} + {} + {}",
                s.received, s.applied, s.duplicates, s.dead_lettered
            ),
            format!(
                "{} received but {} accounted for",
                s.received,
                s.applied + s.duplicates + s.dead_lettered
            ),
        ),
        checks::equal("every_delivery_received", e.received, s.received),
        checks::equal_counts(
            "dead_letters_match_injected",
            &reason_list(&e.dead_lettered),
            &s.dead_letter_reasons
                .0
                .iter()
                .map(|(k, n)| (k.to_string(), *n))
                .collect::<Vec<_>>(),
        ),
        checks::equal("duplicates_match_injected", e.duplicates, s.duplicates),
        checks::equal("missing_matches_dropped", u128::from(e.missing), s.missing),
    ]
}

/// Under `group` and `sync` an acknowledgement means durable: no crash may lose one. Under
/// `none` nothing is promised, and the loss is only reported.
fn lost_acknowledged_check(scenario: &Scenario, ledger: &Ledger) -> Option<Check> {
    let crashes = scenario
        .faults
        .iter()
        .any(|f| matches!(f, Fault::Crash { .. }));
    if !crashes || scenario.run.durability == Durability::None {
        return None;
    }
    let lost = ledger.lost_acknowledged();
    Some(checks::check(
        "no_acknowledged_event_lost",
        lost == 0,
        "0 lost",
        format!("{lost} lost of {} acknowledged", ledger.acknowledged()),
        format!(
            "{lost} events acknowledged as durable ({}) were not in the journal after a crash",
            scenario.run.durability
        ),
    ))
}

fn acknowledgements(ing: &Ingested) -> Acknowledgements {
    let l = &ing.ledger;
    Acknowledgements {
        sent: l.sent_count(),
        acknowledged: l.acknowledged(),
        lost_acknowledged: l.lost_acknowledged(),
        lost_unacknowledged: l.lost_unacknowledged(),
        redelivered: ing.redelivered.len() as u64,
    }
}

/// Every shipment the core holds against the simulator's own ground truth.
fn ground_truth_check(expected: &Expected, obs: &Observed) -> Check {
    let mut diffs: Vec<String> = Vec::new();
    let mut mismatched = 0u64;
    let mut seen = 0usize;
    for v in &obs.views {
        match expected.shipments.get(&v.id) {
            Some(e) => {
                seen += 1;
                let d = e.diff(v);
                if !d.is_empty() {
                    mismatched += 1;
                    if diffs.len() < MAX_DETAIL_LINES {
                        diffs.push(format!("shipment {}: {}", v.id, d.join("; ")));
                    }
                }
            }
            None => {
                mismatched += 1;
                if diffs.len() < MAX_DETAIL_LINES {
                    diffs.push(format!(
                        "shipment {} is in the core but not in the ground truth",
                        v.id
                    ));
                }
            }
        }
    }
    let missing_in_core = expected.shipments.len() - seen;
    if missing_in_core > 0 {
        mismatched += missing_in_core as u64;
        diffs.push(format!(
            "{missing_in_core} shipments of the ground truth are not in the core"
        ));
    }
    checks::check(
        "shipments_match_ground_truth",
        mismatched == 0,
        format!("{} shipments equal", expected.shipments.len()),
        format!("{} differ", mismatched),
        diffs.join("\n"),
    )
}

/// What a run measured, as the `[expect]` thresholds see it.
#[derive(Debug, Clone, Default)]
struct Measured {
    received: u64,
    leaking_shipments: u64,
    latency: Option<Percentiles>,
    events_per_second: f64,
}

/// The scenario's own `[expect]` thresholds. Those on wall time (latency, throughput) hold
/// only on the machine they were written for: they belong to scenarios run by hand.
fn expect_checks(e: &ExpectSpec, m: &Measured) -> Vec<Check> {
    let mut out = Vec::new();
    if let Some(limit) = e.max_p99_latency_us {
        let p99 = m.latency.as_ref().map(|l| l.p99);
        out.push(checks::at_most(
            "expect.max_p99_latency_us",
            limit,
            p99,
            "us",
        ));
    }
    if let Some(limit) = e.max_p999_latency_us {
        let p999 = m.latency.as_ref().map(|l| l.p999);
        out.push(checks::at_most(
            "expect.max_p999_latency_us",
            limit,
            p999,
            "us",
        ));
    }
    if let Some(floor) = e.min_throughput_eps {
        let eps = m.events_per_second;
        out.push(checks::at_least(
            "expect.min_throughput_eps",
            floor,
            eps,
            "events/s",
        ));
    }
    if let Some(floor) = e.min_events {
        let received = m.received as f64;
        out.push(checks::at_least(
            "expect.min_events",
            floor as f64,
            received,
            "events",
        ));
    }
    if let Some(floor) = e.min_leaking_shipments {
        out.push(checks::at_least(
            "expect.min_leaking_shipments",
            floor as f64,
            m.leaking_shipments as f64,
            "shipments",
        ));
    }
    out
}

fn throughput(scenario: &Scenario, p: &Prepared, ing: &Ingested, eps: f64) -> Throughput {
    Throughput {
        events: ing.submitted,
        wall_seconds: ing.wall_seconds,
        events_per_second: eps,
        generate_seconds: p.generate_seconds,
        check_seconds: 0.0,
        simulated_seconds: p.stream.deliveries.last().map_or(0.0, |d| {
            (d.arrival_us - scenario.world.start_us) as f64 / 1e6
        }),
        pace: match scenario.run.pace {
            Pace::Max => "max".to_string(),
            Pace::Speedup(x) => format!("{x}"),
        },
        durability: scenario.run.durability.to_string(),
    }
}

fn counters(obs: &Observed) -> report::Counters {
    let s = &obs.summary;
    report::Counters {
        received: s.received,
        applied: s.applied,
        duplicates: s.duplicates,
        dead_lettered: s.dead_lettered,
        dead_letter_reasons: s
            .dead_letter_reasons
            .0
            .iter()
            .map(|(k, n)| (k.to_string(), *n))
            .collect(),
        missing: s.missing,
        shipments: s.shipments,
        vehicles: s.vehicles,
    }
}

fn injected(p: &Prepared) -> InjectedReport {
    let inj = &p.stream.injected;
    InjectedReport {
        events_generated: p.world.events.len() as u64,
        deliveries: p.stream.deliveries.len() as u64,
        duplicates: inj.duplicates,
        dropped: inj.dropped,
        dropped_detectable: inj.dropped_detectable,
        reordered: inj.reordered,
        held_by_outage: inj.held_by_outage,
        malformed: reason_list(&inj.malformed),
    }
}

/// A fresh replay of the journal, and the applied events in a shuffled order, give the live
/// state's digest.
fn digest_checks(
    dir: &Path,
    seed: u64,
    obs: &Observed,
    progress: &mut Progress,
) -> Result<Vec<Check>, SimError> {
    progress.phase("checking: a fresh replay of the journal");
    let replayed = engine::replay(dir, Until::End)?;
    let replay = checks::equal(
        "replay_digest_matches_live",
        replayed.machine.digest().to_string(),
        obs.digest.clone(),
    );
    progress.phase("checking: the applied events in a shuffled order");
    let shuffled = checks::equal(
        "shuffled_digest_matches_live",
        observe::shuffled_digest(dir, seed)?,
        obs.digest.clone(),
    );
    Ok(vec![replay, shuffled])
}

/// A run whose ingest is over: everything the checks read.
pub(super) struct Ended<'a> {
    pub scenario: &'a Scenario,
    pub prepared: &'a Prepared,
    pub dir: &'a Path,
    pub ingested: &'a Ingested,
    pub buckets: &'a Buckets,
    /// The core that ingested the stream, still open.
    pub live: &'a Core,
}

/// Reads the live core, runs every check and assembles the report.
pub(super) fn check_run(
    run: &Ended<'_>,
    sabotage: Sabotage,
    progress: &mut Progress,
) -> Result<Report, SimError> {
    let Ended {
        scenario,
        prepared: p,
        dir,
        ingested: ing,
        buckets,
        live,
    } = *run;
    progress.phase("checking: the ground truth");
    let obs = observe::observe(live, sabotage);
    let counts = expected_counts(p, &ing.ledger);
    let expected = oracle::expected_of(&p.world, |i| counts.applied[i]);
    let mut checks = counting_checks(&counts, &obs);
    checks.extend(lost_acknowledged_check(scenario, &ing.ledger));
    checks.push(ground_truth_check(&expected, &obs));
    checks.push(money::totals_check(&expected, &obs));
    checks.extend(digest_checks(dir, p.seed, &obs, progress)?);
    progress.phase("checking: the effects");
    let effects = check_effects(run, &expected, &obs.views, sabotage)?;
    checks.extend(effects.checks);
    let latency = latency::percentiles(&ing.latency.overall);
    let eps = if ing.wall_seconds > 0.0 {
        ing.submitted as f64 / ing.wall_seconds
    } else {
        0.0
    };
    checks.extend(expect_checks(
        &scenario.expect,
        &Measured {
            received: obs.summary.received,
            leaking_shipments: obs.summary.leaking_shipments,
            latency: latency.clone(),
            events_per_second: eps,
        },
    ));
    checks.extend(effects.expect);
    let passed = checks.iter().all(|c| c.passed);
    Ok(Report {
        scenario: scenario.name.clone(),
        description: scenario.description.clone(),
        seed: p.seed,
        passed,
        checks,
        counters: counters(&obs),
        injected: injected(p),
        world: p.world.facts.clone(),
        throughput: throughput(scenario, p, ing, eps),
        latency_us: latency,
        outages: p.stream.outages.clone(),
        crashes: ing.crashes.clone(),
        acknowledgements: acknowledgements(ing),
        timeline: timeline(p, buckets, ing),
        leakage: money::leakage(p, &expected, &obs),
        effects: effects.report,
        journal: String::new(),
        lsn: obs.summary.lsn,
        digest: obs.digest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn latency(p99: u64, p999: u64) -> Option<Percentiles> {
        Some(Percentiles {
            count: 1000,
            p50: 1,
            p90: 2,
            p99,
            p999,
            max: p999,
        })
    }

    /// Each threshold against measurements given here, not taken from a clock.
    #[test]
    fn expectations_pass_and_fail_on_their_measurement() {
        let measured = Measured {
            received: 5_000,
            leaking_shipments: 12,
            latency: latency(400, 2_000),
            events_per_second: 150_000.0,
        };
        let spec = |f: fn(&mut ExpectSpec)| {
            let mut e = ExpectSpec::default();
            f(&mut e);
            e
        };
        let cases: Vec<(ExpectSpec, Measured, &str, bool)> = vec![
            (
                spec(|e| e.max_p99_latency_us = Some(400)),
                measured.clone(),
                "expect.max_p99_latency_us",
                true,
            ),
            (
                spec(|e| e.max_p99_latency_us = Some(399)),
                measured.clone(),
                "expect.max_p99_latency_us",
                false,
            ),
            (
                spec(|e| e.max_p99_latency_us = Some(10_000)),
                Measured {
                    latency: None,
                    ..measured.clone()
                },
                "expect.max_p99_latency_us",
                false,
            ),
            (
                spec(|e| e.max_p999_latency_us = Some(2_000)),
                measured.clone(),
                "expect.max_p999_latency_us",
                true,
            ),
            (
                spec(|e| e.max_p999_latency_us = Some(1_999)),
                measured.clone(),
                "expect.max_p999_latency_us",
                false,
            ),
            (
                spec(|e| e.min_throughput_eps = Some(150_000.0)),
                measured.clone(),
                "expect.min_throughput_eps",
                true,
            ),
            (
                spec(|e| e.min_throughput_eps = Some(150_001.0)),
                measured.clone(),
                "expect.min_throughput_eps",
                false,
            ),
            (
                spec(|e| e.min_events = Some(5_000)),
                measured.clone(),
                "expect.min_events",
                true,
            ),
            (
                spec(|e| e.min_events = Some(5_001)),
                measured.clone(),
                "expect.min_events",
                false,
            ),
            (
                spec(|e| e.min_leaking_shipments = Some(12)),
                measured.clone(),
                "expect.min_leaking_shipments",
                true,
            ),
            (
                spec(|e| e.min_leaking_shipments = Some(13)),
                measured.clone(),
                "expect.min_leaking_shipments",
                false,
            ),
        ];
        for (e, m, name, passed) in cases {
            let checks = expect_checks(&e, &m);
            assert_eq!(checks.len(), 1, "{name}");
            assert_eq!(checks[0].name, name);
            assert_eq!(checks[0].passed, passed, "{name}: {:?}", checks[0]);
            assert_eq!(
                checks[0].detail.is_empty(),
                passed,
                "{name}: {:?}",
                checks[0]
            );
        }
        assert!(expect_checks(&ExpectSpec::default(), &measured).is_empty());
    }
}
