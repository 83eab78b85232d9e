//! `docs/scenarios.md` stays true and complete: its example is a valid scenario that means what
//! the page says, every key used by a scenario of the library is documented, and every
//! scenario of the library is listed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use waybill_core::effect::Downstream;
use waybill_sim::scenario::{CrashMode, Fault, Pace, Scenario};

const SCENARIOS_MD: &str = include_str!("../../docs/scenarios.md");

fn library() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    files
}

/// The first ```toml block of the page.
fn example() -> &'static str {
    let start = SCENARIOS_MD.find("```toml\n").expect("a toml example") + "```toml\n".len();
    let len = SCENARIOS_MD[start..].find("```").expect("closed");
    &SCENARIOS_MD[start..start + len]
}

/// Every key of a TOML document, tables and arrays of tables walked.
fn keys(v: &toml::Value, out: &mut BTreeSet<String>) {
    match v {
        toml::Value::Table(t) => {
            for (k, v) in t {
                out.insert(k.clone());
                keys(v, out);
            }
        }
        toml::Value::Array(a) => a.iter().for_each(|v| keys(v, out)),
        _ => {}
    }
}

#[test]
fn the_example_is_a_valid_scenario_that_means_what_the_page_says() {
    let s = Scenario::from_toml(example()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((s.name.as_str(), s.seed), ("black-friday", 7));
    assert_eq!((s.world.shipments, s.world.vehicles), (100_000, 1_000));
    assert_eq!(s.world.ping_interval_us, 60_000_000);
    assert_eq!(s.world.demand.len(), 1);
    // Defaults the page gives.
    assert_eq!((s.world.depots, s.world.customers), (4, 5_000));
    assert_eq!(s.world.speed_kph, 55.0);
    assert_eq!(
        (s.billing.void_share, s.billing.dispute_share),
        (0.01, 0.01)
    );
    assert_eq!(s.run.pace, Pace::Max);
    assert_eq!((s.run.batch_events, s.run.segment_bytes), (1024, 64 << 20));
    let kinds: Vec<&str> = s.faults.iter().map(Fault::kind).collect();
    assert_eq!(
        kinds,
        [
            "outage",
            "reorder",
            "duplicate",
            "drop",
            "malformed",
            "crash",
            "sink_outage",
            "sink_flaky"
        ]
    );
    assert!(matches!(
        s.faults[5],
        Fault::Crash {
            mode: CrashMode::Power,
            ..
        }
    ));
    assert!(matches!(
        s.faults[6],
        Fault::SinkOutage { sink, .. } if sink.0 == Some(Downstream::Billing)
    ));
    assert_eq!(s.expect.max_p99_latency_us, Some(500));
    assert_eq!(s.sla.targets().invoice_cycle_min, Some(1440));
    assert_eq!(s.downstream.latency_us, 200_000);
    assert_eq!(
        s.expect.effects.max_breaker_open_us,
        Some(2 * 3_600_000_000)
    );
}

/// A key has a row in a table of keys, or is a table with a section of its own.
fn documented(key: &str) -> bool {
    [
        format!("| `{key}` |"),
        format!("`[{key}]`"),
        format!("`[[{key}]]`"),
        format!("`[[world.{key}]]`"),
    ]
    .iter()
    .any(|form| SCENARIOS_MD.contains(form.as_str()))
}

/// A scenario that gives every key the page documents (so each is known to the parser).
const EVERY_KEY: &str = r#"
name = "every-key"
seed = 3
description = "every key"
[world]
shipments = 20
vehicles = 2
start = "2026-11-27T00:00:00Z"
horizon = "4h"
ping_interval = "90s"
depots = 2
customers = 5
region = { lat = 48.85, lon = 2.35, radius_km = 30.0 }
speed_kph = 60.0
amend_share = 0.1
cancel_share = 0.1
failed_delivery_share = 0.1
[[world.demand]]
from = "1h"
to = "2h"
multiplier = 2.0
[billing]
detention_omission = 0.1
void_share = 0.1
dispute_share = 0.1
[[fault]]
kind = "outage"
source = "erp"
from = "1h"
to = "2h"
[[fault]]
kind = "reorder"
source = "*"
probability = 0.1
max_delay = "5m"
[[fault]]
kind = "crash"
at = "3h"
mode = "process"
[[fault]]
kind = "sink_outage"
sink = "billing"
from = "1h"
to = "2h"
[[fault]]
kind = "sink_flaky"
sink = "*"
probability = 0.1
[sla]
order_to_dispatch = 240
invoice_cycle = 1440
pod_propagation = 30
[downstream]
latency = "1s"
[run]
pace = 3600
durability = "sync"
batch_events = 64
segment_bytes = 65536
[expect]
max_p99_latency_us = 1000
max_p999_latency_us = 2000
min_throughput_eps = 1.0
min_events = 1
min_leaking_shipments = 0
max_urgent_effect_p99_latency = "5m"
max_financial_effect_p99_latency = "3h"
max_breaker_open = "2h"
"#;

#[test]
fn every_key_of_the_library_is_documented() {
    Scenario::from_toml(EVERY_KEY).unwrap_or_else(|e| panic!("{e}"));
    let mut used = BTreeSet::new();
    keys(&toml::from_str(EVERY_KEY).unwrap(), &mut used);
    for file in library() {
        let text = std::fs::read_to_string(&file).unwrap();
        let v: toml::Value = toml::from_str(&text).unwrap();
        keys(&v, &mut used);
    }
    keys(&toml::from_str(example()).unwrap(), &mut used);
    let undocumented: Vec<&String> = used.iter().filter(|k| !documented(k)).collect();
    assert!(
        undocumented.is_empty(),
        "keys without a row in docs/scenarios.md: {undocumented:?}"
    );
}

#[test]
fn every_scenario_of_the_library_is_listed() {
    for file in library() {
        let name = file.file_stem().unwrap().to_string_lossy().into_owned();
        assert!(
            SCENARIOS_MD.contains(&format!("| `{name}` |")),
            "scenarios/{name}.toml is not in docs/scenarios.md's library table"
        );
    }
}
