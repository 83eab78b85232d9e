//! The published event schemas (`waybill_core::schema`, docs/schemas.md) against the decoder:
//! an event validates against the schema of its (type, version) exactly when the decoder
//! accepts it, but where one of `UNSTATED_RULES` decides, and each disagreement must name
//! that rule.
//!
//! - every event the simulator generates (`peak-season`, `schema-versions`) validates;
//! - every `invalid_data` and `invalid_envelope` dead letter it injects fails its schema;
//! - mutations of valid events (a sweep of every field with values of every kind, and random
//!   combinations) are accepted by both or refused by both, up to the unstated rules;
//! - effects rendered by a real core validate against the schemas of their types.

#[path = "schemas/explain.rs"]
mod explain;
#[path = "schemas/mutate.rs"]
mod mutate;
#[path = "schemas/support.rs"]
mod support;

use explain::explain;
use mutate::{Mutation, Val};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Instant;
use support::{claimed, decoded, schemas, validates};
use waybill_core::effect::EffectType;
use waybill_core::event::{DeadLetterReason, EventType};
use waybill_core::schema::{UNSTATED_RULES, effect_schema};
use waybill_core::{Options, SlaTargets};
use waybill_sim::network::{self, Delivered};
use waybill_sim::scenario::Scenario;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Events of version 2 (docs/events.md).
const VERSION_2_EVENTS: &[&str] = &[
    r#"{"specversion":"1.0","id":"fleet-truck-7-2","source":"fleet/truck-7","sequence":"2","type":"vehicle.position","time":"2026-11-27T08:51:00+01:00","subject":"vehicle/7","schemaversion":2,"data":{"lat":52.371,"lon":4.902,"speed_mps":13.9,"heading_deg":270,"accuracy_m":4.5}}"#,
    r#"{"specversion":"1.0","id":"fleet-truck-7-3","source":"fleet/truck-7","sequence":"3","type":"vehicle.position","time":"2026-11-27T08:52:00+01:00","subject":"vehicle/7","schemaversion":2,"data":{"lat":52.372,"lon":4.903,"speed_mps":0}}"#,
    r#"{"specversion":"1.0","id":"billing-invoicer-2","source":"billing/invoicer","sequence":"2","type":"charge.added","time":"2026-11-27T17:05:00Z","subject":"shipment/1001","schemaversion":2,"data":{"charge_id":"CH-1001-2","kind":"fuel","amount":{"value":"1200","currency":"JPY"}}}"#,
    r#"{"specversion":"1.0","id":"billing-invoicer-3","source":"billing/invoicer","sequence":"3","type":"charge.added","time":"2026-11-27T17:06:00Z","subject":"shipment/1001","schemaversion":2,"data":{"charge_id":"CH-1001-3","kind":"waiting","amount":{"value":"12.50","currency":"EUR"}}}"#,
    r#"{"specversion":"1.0","id":"billing-invoicer-4","source":"billing/invoicer","sequence":"4","type":"charge.added","time":"2026-11-27T17:07:00Z","subject":"shipment/1001","schemaversion":2,"data":{"charge_id":"CH-1001-4","kind":"other","amount":{"value":"0.125","currency":"BHD"}}}"#,
];

/// Valid events to mutate: every type in version 1 (examples/every-type.jsonl) and the
/// version 2 events above.
fn corpus() -> Vec<(Value, (EventType, u32))> {
    let text = std::fs::read_to_string(root().join("examples/every-type.jsonl"))
        .expect("examples/every-type.jsonl");
    let lines = text.lines().chain(VERSION_2_EVENTS.iter().copied());
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            assert_eq!(
                decoded(l.as_bytes()),
                Ok(()),
                "a corpus event is valid: {l}"
            );
            let v: Value = serde_json::from_str(l).expect("a corpus line is JSON");
            let own = claimed(&v).expect("a corpus event claims a type and version");
            assert!(validates(l.as_bytes(), own.0, own.1), "{l}");
            (v, own)
        })
        .collect()
}

/// What one mutated event shows: the decoder and the schemas agree, or disagree for an
/// unstated rule (named). `Err` says why neither holds.
fn judge(
    base: &Value,
    own: (EventType, u32),
    mutations: &[Mutation],
) -> Result<Option<&'static str>, String> {
    let line = mutate::apply(base, mutations);
    let decoded = decoded(&line);
    let parsed: Option<Value> = serde_json::from_slice(&line).ok();
    let claims = parsed.as_ref().and_then(claimed);
    let own_ok = validates(&line, own.0, own.1);
    let show = || {
        String::from_utf8_lossy(&line)
            .chars()
            .take(600)
            .collect::<String>()
    };
    let (schema_ok, against) = if claims == Some(own) {
        (own_ok, Some(own))
    } else {
        if own_ok {
            return Err(format!(
                "claims {claims:?}, yet validates against the schema of {own:?}: {}",
                show()
            ));
        }
        match claims.filter(|&(t, v)| schemas().get(t, v).is_some()) {
            Some((t, v)) => (validates(&line, t, v), Some((t, v))),
            None => (false, None),
        }
    };
    if decoded.is_ok() == schema_ok {
        return Ok(None);
    }
    explain(mutations, &line, &decoded, schema_ok)
        .map(Some)
        .ok_or_else(|| {
            format!(
                "decoder {decoded:?}, schema of {against:?} says {schema_ok}, no unstated rule \
             explains it; mutations {mutations:?}; line {}",
                show()
            )
        })
}

/// The values added as new members: one of each JSON kind, and the edges extensions have.
fn added_values() -> Vec<Val> {
    let mut out: Vec<Val> = [
        json!(null),
        json!(true),
        json!(0),
        json!(-1),
        json!(1.5),
        json!("x"),
        json!(""),
        json!([]),
        json!({}),
        json!("é".repeat(65)),
        json!("application/json"),
    ]
    .into_iter()
    .map(Val::Json)
    .collect();
    out.extend(
        [
            "1.0",
            "2147483647",
            "2147483648",
            "-2147483648",
            "-2147483649",
        ]
        .map(Val::Raw),
    );
    out
}

/// Every single mutation of `base`: each member removed or set to each value, a member of
/// each name and kind added to each object, the first key given twice.
fn single_mutations(base: &Value) -> Vec<Mutation> {
    let mut out = vec![Mutation::DuplicateKey];
    let values = mutate::values();
    for path in mutate::paths(base) {
        out.push(Mutation::Remove(path.clone()));
        out.extend(
            values
                .iter()
                .map(|v| Mutation::Set(path.clone(), v.clone())),
        );
    }
    let added = added_values();
    for object in mutate::objects(base) {
        for name in mutate::names() {
            out.extend(
                added
                    .iter()
                    .map(|v| Mutation::Add(object.clone(), name.clone(), v.clone())),
            );
        }
    }
    out
}

#[test]
fn every_single_mutation_agrees_up_to_the_unstated_rules() {
    let t0 = Instant::now();
    let mut explained: BTreeMap<&str, u64> = BTreeMap::new();
    let mut cases = 0u64;
    let mut failures = Vec::new();
    for (base, own) in corpus() {
        for m in single_mutations(&base) {
            cases += 1;
            match judge(&base, own, std::slice::from_ref(&m)) {
                Ok(None) => {}
                Ok(Some(rule)) => *explained.entry(rule).or_default() += 1,
                Err(e) => failures.push(e),
            }
        }
    }
    if let Ok(path) = std::env::var("SCHEMA_DUMP") {
        std::fs::write(path, failures.join("\n")).expect("dump");
    }
    eprintln!(
        "{cases} single mutations in {:.1} s; disagreements by unstated rule: {explained:?}",
        t0.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{} unexplained disagreements, the first ones:\n{}",
        failures.len(),
        failures[..failures.len().min(10)].join("\n")
    );
    // Each rule the sweep can reach is reached: the list holds no rule the decoder lacks.
    for rule in [
        "window_order",
        "utf8_bytes",
        "integer_notation",
        "exact_numbers",
        "raw_form",
    ] {
        assert!(explained.contains_key(rule), "no mutation needed {rule}");
    }
}

#[test]
fn random_combinations_of_mutations_agree_up_to_the_unstated_rules() {
    let corpus = corpus();
    let values = mutate::values();
    let names = mutate::names();
    let config = Config {
        cases: 3000,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let picks = proptest::collection::vec(
        (0u8..4, any::<usize>(), any::<usize>(), any::<usize>()),
        1..=3,
    );
    runner
        .run(&(any::<usize>(), picks), |(which, picks)| {
            let (base, own) = &corpus[which % corpus.len()];
            let paths = mutate::paths(base);
            let objects = mutate::objects(base);
            let mutations: Vec<Mutation> = picks
                .iter()
                .map(|&(op, a, b, c)| match op {
                    0 => Mutation::Remove(paths[a % paths.len()].clone()),
                    1 | 2 => Mutation::Set(
                        paths[a % paths.len()].clone(),
                        values[b % values.len()].clone(),
                    ),
                    _ => Mutation::Add(
                        objects[a % objects.len()].clone(),
                        names[b % names.len()].clone(),
                        values[c % values.len()].clone(),
                    ),
                })
                .collect();
            judge(base, *own, &mutations).map_err(TestCaseError::fail)?;
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
}

/// The rules the sweep cannot reach, each shown by an event that validates and that the
/// decoder refuses with that rule's detail.
#[test]
fn unstated_rules_the_sweep_cannot_reach() {
    let base = corpus()
        .into_iter()
        .find(|(_, own)| own.0 == EventType::ShipmentDelivered)
        .expect("every-type has a delivery");
    let big = |n: usize| Val::Json(json!("a".repeat(n)));
    let pod = vec!["data".to_owned(), "pod".to_owned()];
    let mutations = [
        Mutation::Add(pod.clone(), "signed_by".into(), big(40_000)),
        Mutation::Add(pod, "photo_ref".into(), big(25_281)),
    ];
    assert_eq!(judge(&base.0, base.1, &mutations), Ok(Some("pod_bytes")));

    // Nesting: the decoder reads a payload member nested as deep as an event can hold.
    for depth in [200, 32_000] {
        let deep = format!("{}0{}", "[".repeat(depth), "]".repeat(depth));
        let text = String::from_utf8(mutate::apply(&base.0, &[])).expect("utf-8");
        let line = text.replacen("\"data\":{", &format!("\"data\":{{\"deep\":{deep},"), 1);
        assert_eq!(decoded(line.as_bytes()), Ok(()), "nested {depth} deep");
    }

    let names: BTreeSet<&str> = UNSTATED_RULES.iter().map(|r| r.name).collect();
    assert!(names.contains("pod_bytes"));
}

/// The stream `waybill sim export` writes for `scenarios/<name>.toml`.
fn exported(name: &str) -> waybill_sim::run::Prepared {
    let path = root().join(format!("scenarios/{name}.toml"));
    let sc = Scenario::from_path(&path).expect("scenario");
    waybill_sim::run::prepare(&sc, sc.seed)
}

/// Validates every event of a scenario's stream (its malformed copies aside) against the
/// schema of its type and version; counts them by (type, version).
fn validate_generated(name: &str) -> BTreeMap<(&'static str, u32), u64> {
    let t0 = Instant::now();
    let p = exported(name);
    let generated_s = t0.elapsed().as_secs_f64();
    let mut line = Vec::with_capacity(1024);
    let mut per_type: BTreeMap<(&str, u32), u64> = BTreeMap::new();
    for d in &p.stream.deliveries {
        if matches!(d.what, Delivered::Malformed { .. }) {
            continue;
        }
        line.clear();
        network::encode(&p.world, &p.stream.wire, d, &mut line);
        assert_eq!(decoded(&line), Ok(()), "{}", String::from_utf8_lossy(&line));
        let v: Value = serde_json::from_slice(&line).expect("JSON");
        let (ty, version) = claimed(&v).expect("a type and version");
        assert!(
            schemas().get(ty, version).expect("a schema").is_valid(&v),
            "{}",
            String::from_utf8_lossy(&line)
        );
        *per_type.entry((ty.as_str(), version)).or_default() += 1;
    }
    eprintln!(
        "{name}: {} events validated in {:.1} s (generated in {generated_s:.1} s): {per_type:?}",
        per_type.values().sum::<u64>(),
        t0.elapsed().as_secs_f64()
    );
    per_type
}

/// `peak-season`, over a million events of every type: each validates.
#[test]
fn every_event_of_peak_season_validates() {
    let per_type = validate_generated("peak-season");
    assert!(
        per_type.values().sum::<u64>() >= 1_000_000,
        "over a million events"
    );
    let types: BTreeSet<&str> = per_type.keys().map(|k| k.0).collect();
    assert_eq!(types.len(), EventType::ALL.len(), "every type is generated");
}

/// `schema-versions`, positions and charges in both versions: each validates.
#[test]
fn every_event_of_schema_versions_validates() {
    let per_type = validate_generated("schema-versions");
    for key in [("vehicle.position", 2), ("charge.added", 2)] {
        assert!(
            per_type.get(&key).is_some_and(|&n| n > 100),
            "{key:?}: {per_type:?}"
        );
    }
}

/// Every injected `invalid_data` and `invalid_envelope` copy of a scenario fails the schema
/// of the type and version it claims, but where its only broken rule is unstated; counts
/// them by reason, and the unstated ones by rule and detail.
fn check_injected(name: &str) -> (BTreeMap<&'static str, u64>, BTreeMap<String, u64>) {
    let p = exported(name);
    let mut line = Vec::with_capacity(1024);
    let mut failed = BTreeMap::new();
    let mut unstated: BTreeMap<String, u64> = BTreeMap::new();
    for d in &p.stream.deliveries {
        let Delivered::Malformed { reason, .. } = d.what else {
            continue;
        };
        if !matches!(
            reason,
            DeadLetterReason::InvalidData | DeadLetterReason::InvalidEnvelope
        ) {
            continue;
        }
        line.clear();
        network::encode(&p.world, &p.stream.wire, d, &mut line);
        let show = String::from_utf8_lossy(&line).into_owned();
        let (got, detail) = decoded(&line).expect_err("a malformed copy is dead-lettered");
        assert_eq!(got, reason, "{show}");
        let v: Value = serde_json::from_slice(&line).expect("these copies are JSON");
        let (ty, version) = claimed(&v).expect("the copy claims its type");
        if !validates(&line, ty, version) {
            *failed.entry(reason.as_str()).or_insert(0u64) += 1;
            continue;
        }
        let rule = explain(&[], &line, &Err((got, detail.clone())), true)
            .unwrap_or_else(|| panic!("validates, yet refused for {detail}: {show}"));
        *unstated.entry(format!("{rule}: {detail}")).or_default() += 1;
    }
    eprintln!("{name}: failed their schema {failed:?}; unstated {unstated:?}");
    (failed, unstated)
}

/// `malformed-flood` and `schema-versions`: the injected copies fail their schema, but those
/// whose window ends before it starts (`window_order`).
#[test]
fn injected_dead_letters_fail_their_schema() {
    for (name, least) in [("malformed-flood", 100), ("schema-versions", 1)] {
        let (failed, unstated) = check_injected(name);
        for reason in ["invalid_data", "invalid_envelope"] {
            assert!(
                failed.get(reason).is_some_and(|&n| n >= least),
                "{name}: {failed:?}"
            );
        }
        let rules: BTreeSet<&str> = unstated
            .keys()
            .map(|k| k.split(':').next().unwrap_or(""))
            .collect();
        assert!(
            rules.iter().all(|&r| r == "window_order"),
            "{name}: {unstated:?}"
        );
    }
}

/// Effects rendered by a real core (a day of events, the SLA targets at 0 so every measure
/// breaches, and a source that skips a sequence) validate against their schemas, and every
/// effect type is among them.
#[test]
fn rendered_effects_validate_against_their_schemas() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let targets = SlaTargets {
        order_to_dispatch_min: Some(0),
        invoice_cycle_min: Some(0),
        pod_propagation_min: Some(0),
    };
    let mut core = Options::new()
        .sla(targets)
        .open(dir.path().join("journal"))
        .expect("a journal opens");
    core.ingest_file(root().join("examples/day.jsonl"))
        .expect("the day ingests");
    core.ingest_file(root().join("examples/every-type.jsonl"))
        .expect("every type ingests");
    let gap = mutate::apply(
        &corpus()[0].0,
        &[Mutation::Set(
            vec!["sequence".into()],
            Val::Json(json!("9")),
        )],
    );
    core.ingest(&gap).expect("an event past a gap ingests");
    core.flush().expect("durable");
    let validators: BTreeMap<EffectType, jsonschema::Validator> = EffectType::ALL
        .into_iter()
        .map(|t| (t, support::compile(&effect_schema(t))))
        .collect();
    let mut seen: BTreeMap<&str, u64> = BTreeMap::new();
    for effect in core.effects(0) {
        let effect = effect.expect("the effect log reads");
        let json: Value = serde_json::from_slice(&effect.json).expect("an effect is JSON");
        let validator = &validators[&effect.effect_type];
        if let Err(e) = validator.validate(&json) {
            panic!(
                "{} does not validate: {e}: {json}",
                effect.effect_type.as_str()
            );
        }
        // An effect of one type fails the schema of every other.
        for (t, other) in &validators {
            assert!(*t == effect.effect_type || !other.is_valid(&json), "{json}");
        }
        *seen.entry(effect.effect_type.as_str()).or_default() += 1;
    }
    eprintln!("effects validated: {seen:?}");
    assert_eq!(
        seen.len(),
        EffectType::ALL.len(),
        "every effect type: {seen:?}"
    );
    core.close().expect("closes");
}

/// Why `format` stays an annotation: the validator's `date-time` disagrees with the decoder
/// on times the patterns judge as the decoder does.
#[test]
fn formats_disagree_with_the_decoder() {
    let format = jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&json!({"type": "string", "format": "date-time"}))
        .expect("compiles");
    let pattern = support::compile(&json!({"type": "string", "pattern": time_pattern()}));
    let mut disagree = Vec::new();
    for t in [
        "2026-11-27T08:00:00Z",
        "2026-11-27t08:00:00z",
        "2026-11-27T08:00:00.123456789+05:30",
        "2026-11-27T23:59:60Z",
        "2024-02-29T00:00:00Z",
        "2023-02-29T00:00:00Z",
        "2026-11-27T08:00:00+24:00",
        "0000-01-01T00:00:00Z",
    ] {
        let decoder = waybill_core::time::parse_rfc3339_us(t).is_some();
        assert_eq!(pattern.is_valid(&json!(t)), decoder, "the pattern on {t}");
        if format.is_valid(&json!(t)) != decoder {
            disagree.push(t);
        }
    }
    eprintln!("date-time format differs from the decoder on {disagree:?}");
    assert!(
        !disagree.is_empty(),
        "the format agrees now: consider validating formats"
    );
}

fn time_pattern() -> String {
    let schema = waybill_core::schema::event_schema(EventType::EtaRevised, 1).expect("v1");
    schema["properties"]["time"]["pattern"]
        .as_str()
        .expect("a pattern")
        .to_owned()
}
