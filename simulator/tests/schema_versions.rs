//! Schema version 2 on the wire: a scenario whose producers send half their positions and
//! charges in version 2 gives the state and digest of its version 1 twin, and the export shows
//! both versions.

use std::path::Path;
use waybill_sim::report::Report;
use waybill_sim::run::{RunOptions, export, run};
use waybill_sim::scenario::Scenario;

fn scenario_text() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/schema-versions.toml");
    std::fs::read_to_string(path).unwrap()
}

/// The scenario with its `[schema]` keys replaced by `schema` (TOML lines).
fn with_schema(schema: &str) -> Scenario {
    let text = scenario_text();
    let start = text.find("[schema]").expect("the scenario has [schema]");
    let end = start + text[start..].find("[run]").expect("[run] follows");
    let replaced = format!("{}{schema}\n{}", &text[..start], &text[end..]);
    Scenario::from_toml(&replaced).unwrap()
}

fn run_it(scenario: &Scenario) -> Report {
    let dir = tempfile::tempdir().unwrap();
    let opts = RunOptions {
        journal: Some(dir.path().join("j")),
        ..RunOptions::default()
    };
    let report = run(scenario, &opts).expect("the run completes");
    let failed: Vec<&str> = report
        .checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.name.as_str())
        .collect();
    assert!(failed.is_empty(), "failed checks: {failed:?}");
    report
}

/// Lines of the export, and how many of them of each type are in version 2.
fn export_lines(scenario: &Scenario) -> (Vec<String>, usize, usize) {
    let mut out = Vec::new();
    export(scenario, scenario.seed, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let v2 = |ty: &str| {
        lines
            .iter()
            .filter(|l| {
                l.contains(&format!("\"type\":\"{ty}\"")) && l.contains("\"schemaversion\":2")
            })
            .count()
    };
    let (positions, charges) = (v2("vehicle.position"), v2("charge.added"));
    (lines, positions, charges)
}

#[test]
fn version_2_twins_give_the_version_1_state() {
    let mixed = Scenario::from_toml(&scenario_text()).unwrap();
    let v1_only = with_schema("");
    let all_fleet = with_schema("[schema]\nversion2_share = 1.0\nversion2_sources = [\"fleet\"]");

    let (mixed_lines, mixed_positions, mixed_charges) = export_lines(&mixed);
    let (v1_lines, v1_positions, v1_charges) = export_lines(&v1_only);
    let (fleet_lines, fleet_positions, fleet_charges) = export_lines(&all_fleet);
    assert_eq!((v1_positions, v1_charges), (0, 0));
    assert!(
        mixed_positions > 100 && mixed_charges > 20,
        "{mixed_positions} {mixed_charges}"
    );
    assert_eq!(fleet_charges, 0, "billing is not selected");
    let positions = v1_lines
        .iter()
        .filter(|l| l.contains("\"type\":\"vehicle.position\"") && !l.contains("\"speed_kph\":-"))
        .count();
    assert!(
        fleet_positions + 10 >= positions,
        "{fleet_positions} of {positions}"
    );
    // The same deliveries in the same order: only the wire form of some events differs.
    assert_eq!(mixed_lines.len(), v1_lines.len());
    assert_eq!(fleet_lines.len(), v1_lines.len());
    assert_ne!(mixed_lines, v1_lines);

    let twin = run_it(&v1_only);
    for other in [run_it(&mixed), run_it(&all_fleet)] {
        assert_eq!(other.digest, twin.digest);
        assert_eq!(other.counters, twin.counters);
    }
}
