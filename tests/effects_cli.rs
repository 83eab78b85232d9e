//! End-to-end: `waybill effects`, `effects redrive` and `effects deliver` on a journal whose
//! effect log is written here with the core's API (hand-made effects).

mod common;

use common::*;
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use waybill_core::effect::{EffectKey, EffectOut, EffectType};
use waybill_core::outbox::{EffectLog, LaneConfig, LaneId, Outbox, Sink, SinkError, effects_dir};

const R: EffectType = EffectType::RouteReplanRequested;
const A: EffectType = EffectType::AlertAnomaly;
const B: EffectType = EffectType::BillingDeliveryConfirmed;
const L: EffectType = EffectType::AlertLeakage;
const E: EffectType = EffectType::ErpInvoiceReady;

/// The effects of every test: (type, cause LSN). The journal is durable to LSN 9, so the last
/// one is not deliverable yet.
const EFFECTS: [(EffectType, u64); 7] = [(R, 1), (A, 2), (B, 3), (L, 4), (R, 5), (E, 9), (A, 10)];

fn effect(seq: u64, t: EffectType, cause_lsn: u64) -> EffectOut {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&seq.to_be_bytes());
    k[8] = 0xcd;
    let key = EffectKey(k);
    let json = format!(
        r#"{{"specversion":"1.0","id":"{key}","source":"/waybill","type":"{t}","subject":"shipment/{seq}","time":"2026-11-27T10:00:00Z","effectseq":{seq},"causelsn":{cause_lsn},"data":{{"note":"ü \u0007"}}}}"#
    );
    EffectOut {
        seq,
        cause_lsn,
        time_us: 1_764_237_600_000_000,
        effect_type: t,
        key,
        json: json.into_bytes(),
    }
}

/// A journal of nine records (durable) and an effect log of [`EFFECTS`].
fn journal(tmp: &Path) -> (PathBuf, Vec<EffectOut>) {
    let events = tmp.join("pings.jsonl");
    fs::write(&events, event_lines(1..10)).unwrap();
    let j = tmp.join("j");
    let s = ingest(&events, &j);
    assert_eq!(num(&s, "durable_lsn"), 9, "{s}");
    let mut log = EffectLog::open(&j).unwrap();
    assert_eq!(log.last_seq(), 0, "position pings derive no effects");
    let effects: Vec<EffectOut> = EFFECTS
        .iter()
        .enumerate()
        .map(|(i, &(t, lsn))| effect(i as u64 + 1, t, lsn))
        .collect();
    for e in &effects {
        log.append(e).unwrap();
    }
    log.sync().unwrap();
    (j, effects)
}

fn listing(j: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["effects", "--journal", p(j), "--json"];
    args.extend_from_slice(extra);
    let out = ok(&args);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("not one JSON document ({e}): {out}"))
}

/// (seq, state) of every row of a listing.
fn states(doc: &Value, rows: &str) -> Vec<(u64, String)> {
    doc[rows]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (num(r, "seq"), r["state"].as_str().unwrap().to_owned()))
        .collect()
}

fn pairs(v: &[(u64, &str)]) -> Vec<(u64, String)> {
    v.iter().map(|(s, st)| (*s, st.to_string())).collect()
}

fn write_config(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("sinks.toml");
    fs::write(&path, text).unwrap();
    path
}

/// The seqs in a JSON-lines file a `file` sink wrote (their `id` must be their key).
fn seqs_in(path: &Path, effects: &[EffectOut]) -> Vec<u64> {
    let text = fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let seq = num(&v, "effectseq");
            assert_eq!(v["id"], effects[seq as usize - 1].key.to_hex());
            seq
        })
        .collect()
}

#[test]
fn the_listing_shows_every_effect_its_event_and_every_lane() {
    let tmp = tempfile::tempdir().unwrap();
    let (j, effects) = journal(tmp.path());
    let doc = listing(&j, &[]);
    assert_eq!(doc["durable_lsn"], 9);
    let rows = doc["effects"].as_array().unwrap();
    assert_eq!(rows.len(), 7);
    for (row, e) in rows.iter().zip(&effects) {
        assert_eq!(row["key"], e.key.to_hex());
        assert_eq!(row["type"], e.effect_type.as_str());
        assert_eq!(row["state"], "pending");
        assert_eq!(row["durable"], e.cause_lsn <= 9);
        // The CloudEvent exactly as stored.
        let stored: Value = serde_json::from_slice(&e.json).unwrap();
        assert_eq!(row["event"], stored);
    }
    let lanes = doc["lanes"].as_array().unwrap();
    assert_eq!(lanes.len(), 5, "the lanes some effect type travels in");
    let ops_urgent = lanes
        .iter()
        .find(|l| l["sink"] == "ops" && l["class"] == "urgent")
        .unwrap();
    assert_eq!(
        (
            num(ops_urgent, "pending"),
            num(ops_urgent, "pending_not_durable")
        ),
        (1, 1)
    );
    assert_eq!(ops_urgent["status"], Value::Null);

    let ops = listing(&j, &["--sink", "ops"]);
    assert_eq!(
        states(&ops, "effects"),
        pairs(&[(2, "pending"), (4, "pending"), (7, "pending")])
    );
    assert_eq!(ops["lanes"].as_array().unwrap().len(), 2);

    let human = ok(&["effects", "--journal", p(&j)]);
    assert!(
        human.contains("pending (record not durable yet)"),
        "{human}"
    );
    assert!(
        human.contains("route/urgent") && human.contains("breaker"),
        "{human}"
    );
    assert_eq!(
        human
            .lines()
            .filter(|l| l.contains("alert.anomaly"))
            .count(),
        2,
        "{human}"
    );
}

#[test]
fn deliver_drains_to_file_sinks_and_leaves_unconfigured_sinks_pending() {
    let tmp = tempfile::tempdir().unwrap();
    let (j, effects) = journal(tmp.path());
    let config = write_config(
        tmp.path(),
        "[sinks.route]\nkind = \"file\"\npath = \"route.jsonl\"\n\n[sinks.ops]\nkind = \"file\"\npath = \"ops.jsonl\"\nfsync = false\nbatch_max = 1\n\n[sinks.billing]\nkind = \"none\"\n",
    );
    let report = json(&[
        "effects",
        "deliver",
        "--journal",
        p(&j),
        "--config",
        p(&config),
        "--json",
    ]);
    assert_eq!(num(&report, "delivered"), 4, "{report}");
    assert_eq!(num(&report, "pending"), 0);
    assert_eq!(
        num(&report, "pending_unconfigured"),
        2,
        "billing 3 and erp 6"
    );
    assert_eq!(seqs_in(&tmp.path().join("route.jsonl"), &effects), [1, 5]);
    // 2 is urgent, 4 financial: two lanes, in no order between them.
    let mut ops = seqs_in(&tmp.path().join("ops.jsonl"), &effects);
    ops.sort_unstable();
    assert_eq!(ops, [2, 4]);
    let after = listing(&j, &[]);
    assert_eq!(
        states(&after, "effects"),
        pairs(&[
            (1, "delivered"),
            (2, "delivered"),
            (3, "pending"),
            (4, "delivered"),
            (5, "delivered"),
            (6, "pending"),
            (7, "pending"),
        ])
    );
    let route = &after["lanes"][0];
    assert_eq!(
        (&route["sink"], &route["class"]),
        (&Value::from("route"), &Value::from("urgent"))
    );
    assert_eq!(num(route, "delivered_total"), 2);
    assert_eq!(
        route["status"]["breaker"], "closed",
        "the delivery left its status"
    );
    assert_eq!(
        states(&listing(&j, &["--pending"]), "effects"),
        pairs(&[(3, "pending"), (6, "pending"), (7, "pending")])
    );
    // Nothing new: a second run delivers nothing again.
    let again = json(&[
        "effects",
        "deliver",
        "--journal",
        p(&j),
        "--config",
        p(&config),
        "--json",
    ]);
    assert_eq!(num(&again, "delivered"), 0);
    assert_eq!(seqs_in(&tmp.path().join("route.jsonl"), &effects), [1, 5]);
}

/// Refuses effect 5 for good, takes the rest.
struct Refuse5;

impl Sink for Refuse5 {
    fn deliver(&mut self, batch: &[EffectOut]) -> Result<(), SinkError> {
        match batch.iter().any(|e| e.seq == 5) {
            true => Err(SinkError::permanent("HTTP 422: no such route\nplan")),
            false => Ok(()),
        }
    }
}

#[test]
fn dead_letters_are_listed_redriven_and_delivered_again() {
    let tmp = tempfile::tempdir().unwrap();
    let (j, effects) = journal(tmp.path());
    let route = LaneId::of(R);
    let mut ob = Outbox::open_with(&j, std::array::from_fn(|_| LaneConfig::default()), 1).unwrap();
    for _ in 0..4 {
        ob.lane_mut(route).poll(0, 9, Some(&mut Refuse5)).unwrap();
    }
    ob.persist(0).unwrap();
    // Redrive is refused while a delivery holds the lock.
    let (code, _, err) = run(&["effects", "redrive", "--journal", p(&j)]);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("DELIVERY.lock") && err.contains("locked"),
        "{err}"
    );
    drop(ob);

    let dead = listing(&j, &["--dead"]);
    assert_eq!(states(&dead, "dead_letters"), pairs(&[(5, "dead")]));
    let d = &dead["dead_letters"][0];
    assert_eq!(
        (num(d, "attempts"), d["error"].as_str()),
        (1, Some("HTTP 422: no such route\nplan"))
    );
    assert_eq!(d["event"]["id"], effects[4].key.to_hex());
    assert_eq!(
        num(&dead["lanes"][0], "dead"),
        1,
        "route/urgent comes first"
    );
    let human = ok(&["effects", "--journal", p(&j), "--dead"]);
    assert!(
        human.contains("no such route\\nplan"),
        "escaped for a terminal: {human}"
    );
    let states_now = states(&listing(&j, &["--sink", "route"]), "effects");
    assert_eq!(states_now, pairs(&[(1, "delivered"), (5, "dead")]));

    let redriven = json(&[
        "effects",
        "redrive",
        "--journal",
        p(&j),
        "--sink",
        "route",
        "--json",
    ]);
    assert_eq!(num(&redriven, "redriven"), 1, "{redriven}");
    assert_eq!(
        states(&listing(&j, &["--dead"]), "dead_letters"),
        pairs(&[(5, "redriving")])
    );
    let config = write_config(
        tmp.path(),
        "[sinks.route]\nkind = \"file\"\npath = \"route.jsonl\"\n",
    );
    ok(&[
        "effects",
        "deliver",
        "--journal",
        p(&j),
        "--config",
        p(&config),
    ]);
    assert_eq!(seqs_in(&tmp.path().join("route.jsonl"), &effects), [5]);
    assert_eq!(states(&listing(&j, &["--dead"]), "dead_letters"), []);
    let states_now = states(&listing(&j, &["--sink", "route"]), "effects");
    assert_eq!(states_now, pairs(&[(1, "delivered"), (5, "delivered")]));
}

#[test]
fn a_receiver_that_stays_down_leaves_effects_pending_and_exit_1() {
    let tmp = tempfile::tempdir().unwrap();
    let (j, _) = journal(tmp.path());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = write_config(
        tmp.path(),
        &format!(
            "[sinks.route]\nkind = \"http\"\nurl = \"http://127.0.0.1:{port}/effects\"\n\n[sinks.route.retry]\nbackoff_initial = \"10ms\"\n\n[sinks.route.breaker]\nfailure_threshold = 2\ncool_down = \"1h\"\n"
        ),
    );
    for extra in [&[][..], &["--once"][..]] {
        let mut args = vec![
            "effects",
            "deliver",
            "--journal",
            p(&j),
            "--config",
            p(&config),
        ];
        args.extend_from_slice(extra);
        let (code, out, err) = run(&args);
        assert_eq!(code, 1, "{extra:?}: {err}");
        assert!(
            err.contains("2 effects stayed pending: route/urgent 2"),
            "{err}"
        );
        assert!(
            out.contains("route/urgent: delivered 0, pending 2"),
            "{out}"
        );
    }
    let (_, out, _) = run(&[
        "effects",
        "deliver",
        "--journal",
        p(&j),
        "--config",
        p(&config),
    ]);
    assert!(out.contains("breaker open"), "{out}");
}

#[test]
fn bad_usage_and_bad_configuration_are_exit_2_naming_what() {
    let tmp = tempfile::tempdir().unwrap();
    let (j, _) = journal(tmp.path());
    let missing = tmp.path().join("nope");
    let bad_key = write_config(
        tmp.path(),
        "[sinks.route]\nkind = \"file\"\npath = \"x\"\nbatchmax = 3\n",
    );
    let bad_sink = tmp.path().join("bad-sink.toml");
    fs::write(&bad_sink, "[sinks.warehouse]\nkind = \"stdout\"\n").unwrap();
    let https = tmp.path().join("https.toml");
    fs::write(
        &https,
        "[sinks.ops]\nkind = \"http\"\nurl = \"https://ops.example/x\"\n",
    )
    .unwrap();
    let bad_duration = tmp.path().join("duration.toml");
    fs::write(
        &bad_duration,
        "[sinks.ops]\nkind = \"stdout\"\n[sinks.ops.breaker]\ncool_down = \"soon\"\n",
    )
    .unwrap();
    let jp = p(&j);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["effects", "--journal", p(&missing)], "no journal at"),
        (
            vec!["effects", "--journal", jp, "--pending", "--dead"],
            "cannot be used with",
        ),
        (
            vec!["effects", "--journal", jp, "--sink", "warehouse"],
            "invalid value",
        ),
        (
            vec![
                "effects",
                "deliver",
                "--journal",
                jp,
                "--config",
                p(&missing),
            ],
            "cannot read --config",
        ),
        (
            vec![
                "effects",
                "deliver",
                "--journal",
                jp,
                "--config",
                p(&bad_key),
            ],
            "batchmax",
        ),
        (
            vec![
                "effects",
                "deliver",
                "--journal",
                jp,
                "--config",
                p(&bad_sink),
            ],
            "warehouse",
        ),
        (
            vec!["effects", "deliver", "--journal", jp, "--config", p(&https)],
            "https is not supported",
        ),
        (
            vec![
                "effects",
                "deliver",
                "--journal",
                jp,
                "--config",
                p(&bad_duration),
            ],
            "not a duration",
        ),
        (
            vec![
                "effects",
                "deliver",
                "--journal",
                jp,
                "--config",
                p(&bad_key),
                "--timeout",
                "x",
            ],
            "--timeout",
        ),
        (
            vec!["effects", "redrive", "--journal", p(&missing)],
            "no journal at",
        ),
    ];
    for (args, words) in cases {
        let (code, _, err) = run(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(words), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    }
    assert!(!effects_dir(&missing).exists());
}

/// `ingest --config`: the `[sla]` targets become a settings record, the effects of the day go
/// to the configured file sinks while ingesting (each exactly as the outbox holds it), and the
/// sinks without a table keep theirs pending; a second ingest of the same day derives only what
/// the duplicates change.
#[test]
fn ingest_with_a_config_delivers_while_ingesting_and_journals_the_sla_targets() {
    let tmp = tempfile::tempdir().unwrap();
    let j = tmp.path().join("j");
    let config = write_config(
        tmp.path(),
        "[sla]\norder_to_dispatch = 240\npod_propagation = 30\n\n\
         [sinks.billing]\nkind = \"file\"\npath = \"billing.jsonl\"\n\n\
         [sinks.ops]\nkind = \"file\"\npath = \"ops.jsonl\"\n",
    );
    let day = example_day();
    let out = json(&[
        "ingest",
        p(&day),
        "--journal",
        p(&j),
        "--config",
        p(&config),
        "--json",
    ]);
    let e = &out["effects"];
    let derived = num(e, "derived");
    assert!(derived > 100, "{out}");
    assert_eq!(num(e, "last_seq"), derived);
    let files: u64 = ["billing.jsonl", "ops.jsonl"]
        .iter()
        .map(|f| {
            fs::read_to_string(tmp.path().join(f))
                .unwrap()
                .lines()
                .count() as u64
        })
        .sum();
    assert_eq!(num(e, "delivered"), files, "{out}");
    assert_eq!(num(e, "delivered") + num(e, "pending"), derived, "{out}");
    // Every line delivered is the CloudEvent the outbox lists, keyed by its id.
    let listed = listing(&j, &[]);
    let by_key: std::collections::BTreeMap<String, Value> = listed["effects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["key"].as_str().unwrap().to_owned(), r["event"].clone()))
        .collect();
    for line in fs::read_to_string(tmp.path().join("billing.jsonl"))
        .unwrap()
        .lines()
    {
        let v: Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["type"], "billing.delivery_confirmed");
        assert_eq!(by_key[v["id"].as_str().unwrap()], v);
    }
    // The targets are a settings record, the journal's first (not an event).
    let first = json(&[
        "journal",
        "dump",
        "--journal",
        p(&j),
        "--limit",
        "1",
        "--json",
    ]);
    assert_eq!(
        first["settings"]["sla"]["order_to_dispatch"], 240,
        "{first}"
    );
    assert_eq!(
        first["settings"]["sla"]["invoice_cycle"],
        Value::Null,
        "{first}"
    );
    assert_eq!(num(&out, "lsn"), num(&out, "received") + 1);
    // The same config again writes no second settings record.
    let again = json(&[
        "ingest",
        p(&day),
        "--journal",
        p(&j),
        "--config",
        p(&config),
        "--json",
    ]);
    assert_eq!(
        num(&again, "lsn"),
        num(&out, "lsn") + num(&again, "received"),
        "{again}"
    );
}
