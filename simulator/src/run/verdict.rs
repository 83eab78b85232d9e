//! The checklist of a run (SPEC §8: counts, acknowledgements, ground truth, digests,
//! `[expect]`) and the report it becomes. Every expectation comes from the simulator's own
//! world, stream and ledger, never from the core.

use super::expected::{ExpectedCounts, expected_counts};
use super::ingest::Ingested;
use super::latency::{self, Buckets};
use super::ledger::Ledger;
use super::observe::{self, Observed};
use super::timeline::timeline;
use super::{Prepared, RunOptions, SimError};
use crate::checks::{self, MAX_DETAIL_LINES};
use crate::oracle::{self, Expected};
use crate::report::{
    self, Acknowledgements, Check, InjectedReport, Leakage, Percentiles, Report, Throughput,
};
use crate::scenario::{Fault, Pace, Scenario};
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
        checks::equal("missing_matches_dropped", e.missing, s.missing),
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

/// The scenario's own `[expect]` thresholds.
fn expect_checks(
    scenario: &Scenario,
    obs: &Observed,
    latency: Option<&Percentiles>,
    eps: f64,
) -> Vec<Check> {
    let e = &scenario.expect;
    let s = &obs.summary;
    let mut out = Vec::new();
    if let Some(limit) = e.max_p99_latency_us {
        let p99 = latency.map(|l| l.p99);
        out.push(checks::at_most(
            "expect.max_p99_latency_us",
            limit,
            p99,
            "us",
        ));
    }
    if let Some(limit) = e.max_p999_latency_us {
        let p999 = latency.map(|l| l.p999);
        out.push(checks::at_most(
            "expect.max_p999_latency_us",
            limit,
            p999,
            "us",
        ));
    }
    if let Some(floor) = e.min_throughput_eps {
        out.push(checks::at_least(
            "expect.min_throughput_eps",
            floor,
            eps,
            "events/s",
        ));
    }
    if let Some(floor) = e.min_events {
        let received = s.received as f64;
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
            s.leaking_shipments as f64,
            "shipments",
        ));
    }
    out
}

/// What billing forgot versus what the core found.
fn leakage(p: &Prepared, expected: &Expected, obs: &Observed) -> Leakage {
    let mut top: Vec<(u64, i64)> = obs
        .views
        .iter()
        .filter(|v| v.leakage_cents > 0)
        .map(|v| (v.id, v.leakage_cents))
        .collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    top.truncate(10);
    Leakage {
        omitted_detention_charges: p.world.facts.detention_omitted,
        omitted_detention_cents: p.world.facts.detention_omitted_cents,
        expected_cents: expected.leakage_cents,
        expected_leaking_shipments: expected.leaking_shipments,
        found_cents: obs.summary.leakage_cents,
        leaking_shipments: obs.summary.leaking_shipments,
        top,
    }
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

/// Reads the live core, runs every check and assembles the report.
pub(super) fn check_run(
    scenario: &Scenario,
    p: &Prepared,
    dir: &Path,
    ing: &Ingested,
    buckets: &Buckets,
    live: &Core,
    opts: &RunOptions,
) -> Result<Report, SimError> {
    let obs = observe::observe(live, opts);
    let replayed = engine::replay(dir, Until::End)?;
    let counts = expected_counts(p, &ing.ledger);
    let expected = oracle::expected_of(&p.world, |i| counts.applied[i]);
    let mut checks = counting_checks(&counts, &obs);
    checks.extend(lost_acknowledged_check(scenario, &ing.ledger));
    checks.push(ground_truth_check(&expected, &obs));
    checks.push(checks::equal(
        "replay_digest_matches_live",
        replayed.machine.digest().to_string(),
        obs.digest.clone(),
    ));
    checks.push(checks::equal(
        "shuffled_digest_matches_live",
        observe::shuffled_digest(dir, p.seed)?,
        obs.digest.clone(),
    ));
    let latency = latency::percentiles(&ing.latency.overall);
    let eps = if ing.wall_seconds > 0.0 {
        ing.submitted as f64 / ing.wall_seconds
    } else {
        0.0
    };
    checks.extend(expect_checks(scenario, &obs, latency.as_ref(), eps));

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
        leakage: leakage(p, &expected, &obs),
        journal: String::new(),
        lsn: obs.summary.lsn,
        digest: obs.digest,
    })
}
