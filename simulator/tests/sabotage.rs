//! Each check fails when the core is made to misbehave: a checklist that cannot fail proves
//! nothing.

use std::path::Path;
use waybill_sim::run::{RunOptions, Sabotage, run};
use waybill_sim::scenario::Scenario;

fn smoke() -> Scenario {
    Scenario::from_path(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/smoke.toml"))
        .unwrap()
}

fn failed_checks(sabotage: Sabotage) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let opts = RunOptions {
        journal: Some(dir.path().join("j")),
        sabotage,
        ..RunOptions::default()
    };
    let report = run(&smoke(), &opts).expect("the run completes");
    assert_eq!(report.passed, report.checks.iter().all(|c| c.passed));
    report
        .checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.name.clone())
        .collect()
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
