//! `/metrics`, `/v1/ops` and the dashboard of `waybill serve` over real HTTP on loopback: the
//! journal's LSNs, the gaps per source, the effects, SLA breaches and proof-of-delivery
//! propagation counted from the outbox's log, the delivery lanes, and the page.

mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};
use support::{Answer, read, with_writer_held};
use waybill_server::Server;
use waybill_server::config::ServeConfig;

/// Longest a test waits for delivery or counting to catch up.
const DEADLINE: Duration = Duration::from_secs(30);

struct Client {
    agent: ureq::Agent,
    base: String,
}

impl Client {
    fn new(addr: SocketAddr) -> Client {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .proxy(None)
            .timeout_global(Some(Duration::from_secs(30)))
            .build();
        Client {
            agent: ureq::Agent::new_with_config(config),
            base: format!("http://{addr}"),
        }
    }

    /// Posts JSON lines; every event must be answered.
    fn post_lines(&self, lines: &[String]) -> serde_json::Value {
        let r = self
            .agent
            .post(format!("{}/v1/events", self.base))
            .header("Content-Type", "application/x-ndjson")
            .send(lines.join("\n").as_bytes())
            .expect("the service answers");
        let a = read(r);
        assert_eq!(a.status, 200, "{}", a.text);
        assert_eq!(a.body["received"], lines.len() as u64, "{}", a.text);
        a.body
    }

    fn get(&self, path: &str) -> Answer {
        let r = self.agent.get(format!("{}{path}", self.base)).call();
        read(r.expect("the service answers"))
    }

    fn metrics(&self) -> Metrics {
        let a = self.get("/metrics");
        assert_eq!(a.status, 200, "{}", a.text);
        Metrics(a.text)
    }

    fn ops(&self) -> serde_json::Value {
        let a = self.get("/v1/ops");
        assert_eq!(a.status, 200, "{}", a.text);
        a.body
    }
}

/// A scrape.
struct Metrics(String);

impl Metrics {
    /// The value of the sample `series` (`name{labels}` as exposed), if present.
    fn value(&self, series: &str) -> Option<f64> {
        self.0.lines().find_map(|l| {
            let rest = l.strip_prefix(series)?.strip_prefix(' ')?;
            rest.parse().ok()
        })
    }

    fn get(&self, series: &str) -> f64 {
        self.value(series)
            .unwrap_or_else(|| panic!("no sample {series} in\n{}", self.0))
    }

    fn has_family(&self, name: &str) -> bool {
        self.0.contains(&format!("# TYPE {name} "))
    }
}

/// Polls `check` until it holds or [`DEADLINE`] passes.
fn eventually<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn config(journal: &Path, extra: &str) -> ServeConfig {
    let text = format!(
        "listen = \"127.0.0.1:0\"\njournal = \"{}\"\n{extra}\n",
        journal.display()
    );
    ServeConfig::parse(&text, None).expect("a valid configuration")
}

fn ops_sink(path: &Path) -> String {
    format!(
        "[sinks.ops]\nkind = \"file\"\npath = \"{}\"\nfsync = false\n",
        path.display()
    )
}

/// A position of `vehicle/<n>` from `source` at `sequence`.
fn position(source: &str, sequence: u64) -> String {
    format!(
        r#"{{"specversion":"1.0","id":"{source}-{sequence}","source":"{source}","sequence":"{sequence}","type":"vehicle.position","time":"2026-11-27T06:00:00Z","subject":"vehicle/1","data":{{"lat":52.0,"lon":4.3,"speed_kph":50}}}}"#
    )
}

/// `shipment.delivered` of `shipment` at `time`, signed by `by`.
fn delivered(sequence: u64, shipment: u64, time: &str, by: &str) -> String {
    format!(
        r#"{{"specversion":"1.0","id":"pod-{sequence}","source":"fleet/truck-1","sequence":"{sequence}","type":"shipment.delivered","time":"{time}","subject":"shipment/{shipment}","data":{{"pod":{{"signed_by":"{by}","photo_ref":null}}}}}}"#
    )
}

#[test]
fn the_journal_gaps_and_lanes_show_in_metrics_and_ops() {
    let dir = tempfile::tempdir().unwrap();
    let effects_file = dir.path().join("ops-effects.jsonl");
    let server = Server::start(config(&dir.path().join("j"), &ops_sink(&effects_file))).unwrap();
    let c = Client::new(server.addr());

    // truck-7 skips 3-4 and 7-9 (5 missing, two ranges); truck-8 skips 2-3 (one range).
    let mut lines: Vec<String> = [1, 2, 5, 6, 10]
        .iter()
        .map(|&s| position("fleet/truck-7", s))
        .collect();
    lines.extend([1, 4].iter().map(|&s| position("fleet/truck-8", s)));
    lines.push(position("fleet/truck-9", 1));
    let answer = c.post_lines(&lines);
    assert_eq!(answer["applied"], 8);
    let posted = lines.len() as f64;

    let m = c.metrics();
    assert_eq!(m.get("waybill_journal_lsn"), posted, "one record per event");
    assert_eq!(
        m.get("waybill_journal_durable_lsn"),
        posted,
        "answered once durable"
    );
    assert!(m.get("waybill_journal_size_bytes") > 0.0);
    assert!(m.get("waybill_journal_segments") >= 1.0);
    assert_eq!(m.get("waybill_writer_queued_batches"), 0.0);
    assert_eq!(
        m.get(r#"waybill_missing_events{source="fleet/truck-7"}"#),
        5.0
    );
    assert_eq!(
        m.get(r#"waybill_missing_events{source="fleet/truck-8"}"#),
        2.0
    );
    assert_eq!(
        m.value(r#"waybill_missing_events{source="fleet/truck-9"}"#),
        None,
        "a source without gaps is not listed"
    );

    // Three ranges opened: three alert.gap effects, delivered to the ops file sink.
    let m = eventually("the gap alerts delivered", || {
        let m = c.metrics();
        (m.value(r#"waybill_effects_delivered_total{sink="ops",class="urgent"}"#) == Some(3.0))
            .then_some(m)
    });
    assert_eq!(
        m.get(r#"waybill_effects_derived_total{type="alert.gap"}"#),
        3.0
    );
    assert_eq!(
        m.get(r#"waybill_effects_pending{sink="ops",class="urgent"}"#),
        0.0
    );
    assert_eq!(
        m.get(r#"waybill_effect_breaker_state{sink="ops",class="urgent"}"#),
        0.0
    );
    assert_eq!(
        m.get(r#"waybill_effect_delivery_failures_total{sink="ops",class="urgent"}"#),
        0.0
    );
    assert!(m.get(r#"waybill_effect_delivery_attempts_total{sink="ops",class="urgent"}"#) >= 1.0);
    assert_eq!(
        m.get(r#"waybill_effects_dead_lettered{sink="ops",class="urgent"}"#),
        0.0
    );
    let written = std::fs::read_to_string(&effects_file).unwrap();
    assert_eq!(written.lines().count(), 3, "{written}");
    assert!(written.lines().all(|l| l.contains("\"alert.gap\"")));
    for family in [
        "waybill_sla_breaches",
        "waybill_pod_propagation_seconds",
        "waybill_events",
        "waybill_ingest_latency_seconds",
    ] {
        assert!(m.has_family(family), "{family} in\n{}", m.0);
    }

    // The same figures as JSON.
    let o = c.ops();
    assert_eq!(o["lsn"], 8);
    assert_eq!(o["durable_lsn"], 8);
    assert!(o["journal"]["size_bytes"].as_u64().unwrap() > 0);
    assert_eq!(o["counters"]["received"], 8);
    assert_eq!(o["missing"]["total"], 7);
    assert_eq!(o["missing"]["sources_with_gaps"], 2);
    assert_eq!(
        o["missing"]["by_source"],
        serde_json::json!([
            {"source": "fleet/truck-7", "missing": 5},
            {"source": "fleet/truck-8", "missing": 2},
        ]),
        "those missing the most first"
    );
    assert_eq!(o["effects"]["by_type"]["alert.gap"], 3);
    assert_eq!(o["effects"]["effect_seq"], 3);
    assert_eq!(o["effects"]["counted_to_seq"], 3);
    assert_eq!(o["delivery"]["running"], true);
    let lanes = o["delivery"]["lanes"].as_array().unwrap();
    assert_eq!(lanes.len(), 5, "the lanes some effect type travels in");
    let ops = lanes
        .iter()
        .find(|l| l["sink"] == "ops" && l["class"] == "urgent")
        .unwrap();
    assert_eq!(ops["parked"], false);
    assert_eq!(ops["breaker"], "closed");
    assert_eq!(ops["breaker_state"], 0);
    assert_eq!(ops["delivered_total"], 3);
    assert_eq!(ops["pending"], 0);
    let route = lanes.iter().find(|l| l["sink"] == "route").unwrap();
    assert_eq!(route["parked"], true, "no route sink is configured");
    for key in ["as_of", "core_as_of"] {
        assert!(o[key].is_string(), "{key}: {o}");
    }
    assert_eq!(
        o["sla"]["targets_minutes"],
        serde_json::json!({"order_to_dispatch": null, "invoice_cycle": null, "pod_propagation": null})
    );
    server.stop().unwrap();
}

#[test]
fn sla_breaches_and_pod_propagation_are_counted_from_the_effects() {
    let dir = tempfile::tempdir().unwrap();
    let sla = "[sla]\npod_propagation = 30\norder_to_dispatch = 60";
    let server = Server::start(config(&dir.path().join("j"), sla)).unwrap();
    let c = Client::new(server.addr());
    // Three shipments delivered years before they reach the core: each breaches the
    // proof-of-delivery target once. Shipment 1's delivery is then corrected (a later time,
    // another signature): confirmed again, but neither a second breach nor a second propagation.
    let lines = vec![
        delivered(1, 1, "2020-01-01T10:00:00Z", "A"),
        delivered(2, 2, "2020-01-01T11:00:00Z", "B"),
        delivered(3, 3, "2020-01-01T12:00:00Z", "C"),
        delivered(4, 1, "2020-01-01T10:30:00Z", "D"),
    ];
    c.post_lines(&lines);
    let m = c.metrics();
    assert_eq!(
        m.get("waybill_journal_lsn"),
        5.0,
        "four events and the settings record of the targets"
    );
    assert_eq!(
        m.get(r#"waybill_effects_derived_total{type="billing.delivery_confirmed"}"#),
        4.0
    );
    assert_eq!(
        m.get(r#"waybill_sla_breaches_total{measure="pod_propagation"}"#),
        3.0
    );
    assert_eq!(
        m.get(r#"waybill_sla_breaches_total{measure="order_to_dispatch"}"#),
        0.0
    );
    assert_eq!(m.get("waybill_pod_propagation_seconds_count"), 3.0);
    assert_eq!(
        m.get(r#"waybill_pod_propagation_seconds_bucket{le="604800.0"}"#),
        0.0
    );
    assert_eq!(
        m.get(r#"waybill_pod_propagation_seconds_bucket{le="+Inf"}"#),
        3.0
    );
    assert!(m.get("waybill_pod_propagation_seconds_sum") > 3.0 * 365.0 * 86_400.0);
    // No sink is configured: nothing delivers, so no lane family.
    assert!(!m.has_family("waybill_effects_pending"), "{}", m.0);

    let o = c.ops();
    assert_eq!(
        o["sla"]["targets_minutes"],
        serde_json::json!({"order_to_dispatch": 60, "invoice_cycle": null, "pod_propagation": 30})
    );
    assert_eq!(
        o["sla"]["breaches"],
        serde_json::json!({"order_to_dispatch": 0, "invoice_cycle": 0, "pod_propagation": 3})
    );
    let pod = &o["sla"]["pod_propagation_seconds"];
    assert_eq!(pod["count"], 3);
    let buckets = pod["buckets"].as_array().unwrap();
    assert_eq!(buckets.len(), 12);
    assert_eq!(buckets[0]["le"], 60.0);
    assert_eq!(buckets[11], serde_json::json!({"le": null, "count": 3}));
    assert_eq!(
        o["delivery"],
        serde_json::json!({"running": false, "lanes": []})
    );
    server.stop().unwrap();
}

#[test]
fn the_sources_missing_the_most_are_listed_and_the_rest_summed() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(config(&dir.path().join("j"), "")).unwrap();
    let c = Client::new(server.addr());
    let listed = waybill_server::metrics::MAX_GAP_SOURCES;
    // One source missing 4, then `listed` sources missing 1 each: one too many to list.
    let mut lines = vec![position("fleet/a-big-gap", 5)];
    lines.extend((0..listed).map(|i| position(&format!("fleet/t{i:05}"), 2)));
    c.post_lines(&lines);
    let m = c.metrics();
    assert_eq!(
        m.get(r#"waybill_missing_events{source="fleet/a-big-gap"}"#),
        4.0
    );
    assert_eq!(
        m.get(r#"waybill_missing_events{source="fleet/t00000"}"#),
        1.0
    );
    // Sorted by name among equals: the last one is summed with the rest.
    let last = format!(
        r#"waybill_missing_events{{source="fleet/t{:05}"}}"#,
        listed - 1
    );
    assert_eq!(m.value(&last), None);
    assert_eq!(m.get(r#"waybill_missing_events{source="(others)"}"#), 1.0);
    let series =
        m.0.lines()
            .filter(|l| l.starts_with("waybill_missing_events{"))
            .count();
    assert_eq!(series, listed + 1);
    let o = c.ops();
    assert_eq!(o["missing"]["sources_with_gaps"], listed as u64 + 1);
    assert_eq!(o["missing"]["total"], listed as u64 + 4);
    assert_eq!(
        o["missing"]["by_source"][0],
        serde_json::json!({"source": "fleet/a-big-gap", "missing": 4})
    );
    server.stop().unwrap();
}

#[test]
fn metrics_answer_while_the_core_is_busy() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(config(&dir.path().join("j"), "")).unwrap();
    let c = Client::new(server.addr());
    c.post_lines(&[position("fleet/truck-1", 1), position("fleet/truck-1", 3)]);
    assert_eq!(
        c.metrics()
            .get(r#"waybill_missing_events{source="fleet/truck-1"}"#),
        1.0
    );
    let writer = server.state().writer().unwrap();
    with_writer_held(writer, || {
        let started = Instant::now();
        let m = c.metrics();
        let waited = started.elapsed();
        assert!(
            waited < waybill_server::metrics::CORE_READ_WAIT + Duration::from_secs(5),
            "{waited:?}"
        );
        // The writer's figures as last read; the journal's from what it publishes.
        assert_eq!(
            m.get(r#"waybill_missing_events{source="fleet/truck-1"}"#),
            1.0
        );
        assert_eq!(m.get("waybill_journal_lsn"), 2.0);
        let o = c.ops();
        assert!(o["core_age_ms"].as_u64().is_some(), "{o}");
    });
    // A late arrival fills the gap; a new one opens elsewhere.
    c.post_lines(&[position("fleet/truck-1", 2), position("fleet/truck-2", 4)]);
    let m = c.metrics();
    assert_eq!(
        m.value(r#"waybill_missing_events{source="fleet/truck-1"}"#),
        None,
        "{}",
        m.0
    );
    assert_eq!(
        m.get(r#"waybill_missing_events{source="fleet/truck-2"}"#),
        3.0
    );
    server.stop().unwrap();
}

#[test]
fn the_dashboard_is_one_self_contained_page() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(config(&dir.path().join("j"), "")).unwrap();
    let c = Client::new(server.addr());
    let page = c.get("/");
    assert_eq!(page.status, 200);
    assert!(
        page.content_type.starts_with("text/html"),
        "{}",
        page.content_type
    );
    let html = &page.text;
    assert!(html.starts_with("<!doctype html>"));
    assert!(html.contains("<title>Waybill · operations</title>"));
    // It reads the JSON endpoints of its own origin, and loads nothing from elsewhere.
    for endpoint in ["'/v1/summary'", "'/v1/ops'"] {
        assert!(html.contains(endpoint), "{endpoint}");
        let path = endpoint.trim_matches('\'');
        assert_eq!(c.get(path).status, 200, "{path}");
    }
    assert!(!html.contains("<link"), "no stylesheet from elsewhere");
    assert!(!html.contains("<script src"), "no script from elsewhere");
    let urls: Vec<&str> = html
        .match_indices("http")
        .map(|(i, _)| &html[i..(i + 30).min(html.len())])
        .collect();
    assert!(
        urls.iter()
            .all(|u| u.starts_with("http://www.w3.org/2000/svg")),
        "only the SVG namespace: {urls:?}"
    );
    // Text from events goes in as text, never as markup.
    assert!(!html.contains("innerHTML"));
    assert!(!html.contains("insertAdjacentHTML"));
    assert!(
        html.contains("setInterval(refresh, REFRESH_MS)") && html.contains("REFRESH_MS = 2000")
    );
    server.stop().unwrap();
}
