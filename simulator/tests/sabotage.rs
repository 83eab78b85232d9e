//! Each check fails when the core is made to misbehave: a checklist that cannot fail proves
//! nothing.

use std::path::Path;
use waybill_sim::report::Report;
use waybill_sim::run::{RunOptions, Sabotage, run};
use waybill_sim::scenario::Scenario;

fn smoke() -> Scenario {
    Scenario::from_path(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/smoke.toml"))
        .unwrap()
}

/// `smoke` with every commit flushed and small batches, so many batches before the crash are
/// acknowledged.
fn smoke_sync() -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/smoke.toml");
    let text = std::fs::read_to_string(path).unwrap();
    let sync = text.replace(
        "durability = \"group\"",
        "durability = \"sync\"\nbatch_events = 100",
    );
    assert!(sync.contains("durability = \"sync\"") && sync.contains("batch_events = 100"));
    Scenario::from_toml(&sync).unwrap()
}

fn failed_checks(sabotage: Sabotage) -> Vec<String> {
    failed_checks_of(&smoke(), sabotage).0
}

fn failed_checks_of(scenario: &Scenario, sabotage: Sabotage) -> (Vec<String>, Report) {
    let dir = tempfile::tempdir().unwrap();
    let opts = RunOptions {
        journal: Some(dir.path().join("j")),
        sabotage,
        ..RunOptions::default()
    };
    let report = run(scenario, &opts).expect("the run completes");
    assert_eq!(report.passed, report.checks.iter().all(|c| c.passed));
    let failed = report
        .checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.name.clone())
        .collect();
    (failed, report)
}

#[test]
fn an_honest_core_passes() {
    assert_eq!(failed_checks(Sabotage::None), Vec::<String>::new());
}

#[test]
fn each_misbehaviour_fails_the_checks_that_watch_for_it() {
    let cases: &[(Sabotage, &[&str])] = &[
        (Sabotage::DropEvery(1000), &["every_delivery_received"]),
        (
            Sabotage::DropEvery(50),
            &[
                "every_delivery_received",
                "missing_matches_dropped",
                "shipments_match_ground_truth",
            ],
        ),
        (
            Sabotage::LieAboutDigest,
            &["replay_digest_matches_live", "shuffled_digest_matches_live"],
        ),
        (
            Sabotage::MiscountDuplicates(1),
            &["conservation", "duplicates_match_injected"],
        ),
        (Sabotage::CorruptShipment, &["shipments_match_ground_truth"]),
        (
            Sabotage::MislabelDeadLetter,
            &["dead_letters_match_injected"],
        ),
        (Sabotage::MiscountLeakage, &["totals_match_ground_truth"]),
    ];
    for (sabotage, must_fail) in cases {
        let failed = failed_checks(*sabotage);
        if let Sabotage::DropEvery(_) = sabotage {
            // Silent loss also shows as gaps or wrong shipments, whichever events it hit.
            assert!(failed.len() >= 2, "{sabotage:?}: only {failed:?} failed");
        }
        for name in *must_fail {
            assert!(
                failed.iter().any(|f| f == name),
                "{sabotage:?}: {name} did not fail (failed: {failed:?})"
            );
        }
    }
}

/// The checks of effect delivery, each against the misbehaviour it watches for: a receiver
/// that loses an effect, a derivation that changes a key, a repeat under another key, urgent
/// effects held behind a financial sink that is down, lanes without a breaker, a confirmation
/// that does not carry the final facts. `smoke` has a billing outage and a flaky ERP.
#[test]
fn each_effect_misbehaviour_fails_the_check_that_watches_for_it() {
    let effect_checks = [
        "every_effect_delivered",
        "repeats_carry_the_same_key",
        "effects_match_replay",
        "urgent_effects_flow_during_sink_outages",
        "breakers_open_during_sink_outages",
        "effects_match_ground_truth",
    ];
    let (honest, report) = failed_checks_of(&smoke(), Sabotage::None);
    assert_eq!(honest, Vec::<String>::new());
    for name in effect_checks {
        assert!(
            report.checks.iter().any(|c| c.name == name),
            "no check {name}"
        );
    }
    let cases: &[(Sabotage, &[&str])] = &[
        (Sabotage::LoseEffect, &["every_effect_delivered"]),
        (Sabotage::AlterEffectKey, &["effects_match_replay"]),
        (Sabotage::RepeatWithNewKey, &["repeats_carry_the_same_key"]),
        (
            Sabotage::FinancialBlocksUrgent,
            &["urgent_effects_flow_during_sink_outages"],
        ),
        (Sabotage::NoBreaker, &["breakers_open_during_sink_outages"]),
        (Sabotage::StaleConfirmation, &["effects_match_ground_truth"]),
    ];
    for (sabotage, must_fail) in cases {
        let failed = failed_checks(*sabotage);
        for name in *must_fail {
            assert!(
                failed.iter().any(|f| f == name),
                "{sabotage:?}: {name} did not fail (failed: {failed:?})"
            );
        }
        // Nothing outside the effect checks notices: the journal and the state are right.
        let others: Vec<&String> = failed
            .iter()
            .filter(|f| !effect_checks.contains(&f.as_str()))
            .collect();
        assert!(others.is_empty(), "{sabotage:?}: {others:?} failed too");
    }
}

/// A journal that comes back from a crash without records it acknowledged as durable is
/// caught by the producers' ledger: every other expectation on the journal and the state
/// follows the records the journal really holds. The effects delivered for the records it lost
/// were already downstream, so the effect checks that compare them may fail too, never others.
#[test]
fn a_disk_that_loses_acknowledged_records_fails_the_lost_acknowledged_check() {
    let (honest, report) = failed_checks_of(&smoke_sync(), Sabotage::None);
    assert_eq!(honest, Vec::<String>::new());
    assert!(
        report
            .checks
            .iter()
            .any(|c| c.name == "no_acknowledged_event_lost")
    );
    assert_eq!(report.acknowledgements.lost_acknowledged, 0);

    let (failed, report) = failed_checks_of(&smoke_sync(), Sabotage::LyingDisk);
    assert_eq!(failed[0], "no_acknowledged_event_lost", "{failed:?}");
    let effect_checks = [
        "repeats_carry_the_same_key",
        "effects_match_replay",
        "effects_match_ground_truth",
    ];
    assert!(
        failed[1..]
            .iter()
            .all(|f| effect_checks.contains(&f.as_str())),
        "{failed:?}"
    );
    let lost = report.acknowledgements.lost_acknowledged;
    assert!(lost > 0, "{:?}", report.acknowledgements);
    assert_eq!(report.crashes[0].lost_acknowledged, lost);
    let check = report.checks.iter().find(|c| !c.passed).unwrap();
    assert_eq!(
        check.actual,
        format!(
            "{lost} lost of {} acknowledged",
            report.acknowledgements.acknowledged
        )
    );
}
