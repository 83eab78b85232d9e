//! The published event schemas (`waybill_core::schema`, docs/schemas.md) against the decoder:
//! an event validates against the schema of its (type, version) exactly when the decoder
//! accepts it, but where one of `UNSTATED_RULES` decides, and each disagreement must name
//! that rule.
//!
//! - every event the simulator generates for `peak-season` validates;
//! - every `invalid_data` and `invalid_envelope` dead letter it injects fails its schema;
//! - mutations of valid events (a sweep of every field with values of every kind, and random
//!   combinations) are accepted by both or refused by both, up to the unstated rules;
//! - effects rendered by a real core validate against their schemas.

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
use waybill_core::event::{DeadLetterReason, EventType};
use waybill_core::schema::UNSTATED_RULES;
use waybill_sim::network::{self, Delivered};
use waybill_sim::scenario::Scenario;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Events of version 2, one per type that has it, added here as the decoder reads them.
const VERSION_2_EVENTS: &[&str] = &[];

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
    for name in ["pod_bytes", "raw_form", "money_range"] {
        assert!(names.contains(name), "{name}");
    }
}

/// `peak-season` as `waybill sim export` writes it: every event the simulator generates (its
/// malformed copies aside) validates against the schema of its type and version.
#[test]
fn every_simulated_event_validates() {
    let t0 = Instant::now();
    let sc = Scenario::from_path(&root().join("scenarios/peak-season.toml")).expect("scenario");
    let p = waybill_sim::run::prepare(&sc, sc.seed);
    let generated_s = t0.elapsed().as_secs_f64();
    let mut line = Vec::with_capacity(1024);
    let mut per_type: BTreeMap<(&str, u32), u64> = BTreeMap::new();
    for d in &p.stream.deliveries {
        if matches!(d.what, Delivered::Malformed { .. }) {
            continue;
        }
        line.clear();
        network::encode(&p.world, d, &mut line);
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
    let total: u64 = per_type.values().sum();
    eprintln!(
        "peak-season: {total} events validated in {:.1} s (generated in {generated_s:.1} s): \
         {per_type:?}",
        t0.elapsed().as_secs_f64()
    );
    assert!(total >= 1_000_000, "peak-season has over a million events");
    assert_eq!(
        per_type.len(),
        EventType::ALL.len(),
        "every type is generated"
    );
}

/// `malformed-flood`: every injected `invalid_data` and `invalid_envelope` copy fails the
/// schema of the type it claims, but where its only broken rule is unstated.
#[test]
fn injected_dead_letters_fail_their_schema() {
    let sc = Scenario::from_path(&root().join("scenarios/malformed-flood.toml")).expect("scenario");
    let p = waybill_sim::run::prepare(&sc, sc.seed);
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
        network::encode(&p.world, d, &mut line);
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
    eprintln!("malformed-flood: failed their schema {failed:?}; unstated {unstated:?}");
    assert!(
        failed.get("invalid_data").is_some_and(|&n| n > 100),
        "{failed:?}"
    );
    assert!(
        failed.get("invalid_envelope").is_some_and(|&n| n > 100),
        "{failed:?}"
    );
    let rules: BTreeSet<&str> = unstated
        .keys()
        .map(|k| k.split(':').next().unwrap_or(""))
        .collect();
    assert_eq!(rules, BTreeSet::from(["window_order"]), "{unstated:?}");
}
