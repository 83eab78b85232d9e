//! `waybill serve` over real HTTP on loopback: the three CloudEvents modes, the reads, the
//! metrics, and every refusal with its documented status, nothing lost or received twice.

mod support;

use std::net::SocketAddr;
use support::{Answer, read, with_writer_held};
use waybill_core::pipeline::EncodedBatch;
use waybill_server::Server;
use waybill_server::config::ServeConfig;

const DAY: &str = "../examples/day.jsonl";
const ALL: &str = "all-secret";
const FLEET: &str = "fleet-secret";

struct Client {
    agent: ureq::Agent,
    base: String,
}

impl Client {
    fn new(addr: SocketAddr) -> Client {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .proxy(None)
            .timeout_global(Some(std::time::Duration::from_secs(30)))
            .build();
        Client {
            agent: ureq::Agent::new_with_config(config),
            base: format!("http://{addr}"),
        }
    }

    fn post(&self, token: Option<&str>, headers: &[(&str, &str)], body: &[u8]) -> Answer {
        let mut req = self.agent.post(format!("{}/v1/events", self.base));
        if let Some(t) = token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        read(req.send(body).expect("the service answers"))
    }

    fn get(&self, path: &str) -> Answer {
        let r = self.agent.get(format!("{}{path}", self.base)).call();
        read(r.expect("the service answers"))
    }
}

fn config(journal: &std::path::Path, extra: &str) -> ServeConfig {
    let text = format!(
        r#"
listen = "127.0.0.1:0"
journal = "{}"
[[tokens]]
token = "{ALL}"
sources = ["*"]
[[tokens]]
token = "{FLEET}"
sources = ["fleet/*"]
{extra}
"#,
        journal.display()
    );
    ServeConfig::parse(&text, None).expect("a valid configuration")
}

fn day_lines() -> Vec<String> {
    std::fs::read_to_string(DAY)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

const STRUCTURED: (&str, &str) = ("Content-Type", "application/cloudevents+json");
const BATCH: (&str, &str) = ("Content-Type", "application/cloudevents-batch+json");

fn received(c: &Client) -> u64 {
    let s = c.get("/v1/summary");
    assert_eq!(s.status, 200, "{}", s.text);
    s.body["received"].as_u64().unwrap()
}

#[test]
fn the_three_modes_land_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(config(&dir.path().join("j"), "")).unwrap();
    let c = Client::new(server.addr());
    let lines = day_lines();
    let order = lines.iter().find(|l| l.contains("\"erp-main-1\"")).unwrap();

    // Structured: one event.
    let a = c.post(Some(ALL), &[STRUCTURED], order.as_bytes());
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.body["events"][0]["outcome"], "applied");
    assert_eq!(a.body["events"][0]["lsn"], 1);
    assert_eq!(a.body["events"][0]["id"], "erp-main-1");
    assert!(
        a.body["durable_lsn"].as_u64().unwrap() >= 1,
        "answered once durable"
    );

    // Batch: the next 100 lines of the day (the order again among them: a duplicate).
    let batch = format!("[{}]", lines[..100].join(","));
    let a = c.post(Some(ALL), &[BATCH], batch.as_bytes());
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.body["received"], 100);
    let events = a.body["events"].as_array().unwrap();
    let lsns: Vec<u64> = events.iter().map(|e| e["lsn"].as_u64().unwrap()).collect();
    assert_eq!(
        lsns,
        (2..102).collect::<Vec<_>>(),
        "one record per event, in order"
    );
    assert!(a.body["durable_lsn"].as_u64().unwrap() >= 101);

    // Binary: attributes in ce-* headers, the data in the body.
    let a = c.post(
        Some(FLEET),
        &[
            ("Content-Type", "application/json"),
            ("ce-specversion", "1.0"),
            ("ce-id", "bin-1"),
            ("ce-source", "fleet/truck-99"),
            ("ce-type", "vehicle.position"),
            ("ce-time", "2026-11-27T06:00:00Z"),
            ("ce-subject", "vehicle/99"),
            ("ce-sequence", "1"),
        ],
        br#"{"lat":52.1,"lon":4.3,"speed_kph":50}"#,
    );
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.body["events"][0]["outcome"], "applied", "{}", a.text);

    assert_eq!(received(&c), 102);
    let s = c.get("/v1/shipments/1");
    assert_eq!(
        (s.status, s.body["id"].as_u64()),
        (200, Some(1)),
        "{}",
        s.text
    );
    assert_eq!(c.get("/v1/shipments/424242").status, 404);
    let h = c.get("/v1/shipments/1/history");
    assert_eq!(h.status, 200, "{}", h.text);
    assert_eq!(h.body["records"][0]["type"], "order.created");
    assert_eq!(c.get("/healthz").status, 200);
    assert_eq!(c.get("/readyz").status, 200);
    let m = c.get("/metrics");
    assert_eq!(m.status, 200);
    assert!(
        m.text
            .contains("waybill_events_total{system=\"fleet\",outcome=\"applied\",reason=\"\"}"),
        "{}",
        m.text
    );
    let page = c.get("/");
    assert!(
        page.status == 200 && page.text.contains("<html"),
        "the dashboard"
    );
    server.stop().unwrap();
}

#[test]
fn every_refusal_has_its_status_and_receives_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let limits = "[limits]\nmax_body_bytes = 65536\nmax_batch_events = 50\nqueue_batches = 2";
    let server = Server::start(config(&dir.path().join("j"), limits)).unwrap();
    let c = Client::new(server.addr());
    let lines = day_lines();
    let erp = lines.iter().find(|l| l.contains("\"erp/")).unwrap();
    let fleet = lines.iter().find(|l| l.contains("\"fleet/")).unwrap();
    // (what, token, headers, body, status)
    let big = format!("[{}]", vec![fleet.as_str(); 400].join(","));
    let many = format!("[{}]", vec![fleet.as_str(); 51].join(","));
    let mixed = format!("[{fleet},{erp}]");
    type Case<'a> = (&'a str, Option<&'a str>, (&'a str, &'a str), &'a str, u16);
    let cases: [Case; 7] = [
        ("no token", None, STRUCTURED, fleet, 401),
        ("a wrong token", Some("nope"), STRUCTURED, fleet, 401),
        (
            "a source the token does not cover",
            Some(FLEET),
            STRUCTURED,
            erp,
            403,
        ),
        (
            "one uncovered source in a batch",
            Some(FLEET),
            BATCH,
            &mixed,
            403,
        ),
        ("a body past max_body_bytes", Some(ALL), BATCH, &big, 413),
        (
            "more events than max_batch_events",
            Some(ALL),
            BATCH,
            &many,
            413,
        ),
        (
            "an unknown content type",
            Some(ALL),
            ("Content-Type", "text/plain"),
            fleet,
            415,
        ),
    ];
    for (what, token, ct, body, status) in cases {
        let a = c.post(token, &[ct], body.as_bytes());
        assert_eq!(a.status, status, "{what}: {}", a.text);
        assert!(a.body["error"].is_string(), "{what}: {}", a.text);
        assert_eq!(received(&c), 0, "{what}: nothing received");
    }
    // Malformed JSON is not refused: it is received and dead-lettered with its reason.
    let a = c.post(Some(ALL), &[STRUCTURED], b"{\"specversion\": \"1.0\", oops");
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.body["events"][0]["outcome"], "dead_lettered");
    assert_eq!(a.body["events"][0]["reason"], "malformed_json");
    assert_eq!(received(&c), 1);
    server.stop().unwrap();
}

#[test]
fn a_full_queue_is_429_with_retry_after_and_what_was_accepted_lands() {
    let dir = tempfile::tempdir().unwrap();
    let server =
        Server::start(config(&dir.path().join("j"), "[limits]\nqueue_batches = 2")).unwrap();
    let c = Client::new(server.addr());
    let writer = server.state().writer().unwrap();
    let fleet = day_lines()
        .into_iter()
        .find(|l| l.contains("\"fleet/"))
        .unwrap();
    // Fill the queue behind the held writer with empty batches (each answered later: accepted).
    let mut accepted = Vec::new();
    with_writer_held(writer, || {
        while let Ok(reply) = writer.try_ingest(EncodedBatch::new()) {
            accepted.push(reply);
            assert!(accepted.len() <= 2, "the queue holds queue_batches");
        }
        let a = c.post(Some(ALL), &[STRUCTURED], fleet.as_bytes());
        assert_eq!(a.status, 429, "{}", a.text);
        assert_eq!(a.retry_after.as_deref(), Some("1"));
    });
    for r in accepted {
        let done = r.blocking_recv().unwrap().unwrap();
        assert_eq!(done.report.counters.received, 0);
    }
    assert_eq!(received(&c), 0, "the refused request was not received");
    let a = c.post(Some(ALL), &[STRUCTURED], fleet.as_bytes());
    assert_eq!(a.status, 200, "{}", a.text);
    server.stop().unwrap();
}

#[test]
fn a_stop_answers_and_keeps_everything_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("j");
    let server = Server::start(config(&journal, "")).unwrap();
    let c = Client::new(server.addr());
    let lines = day_lines();
    // JSON lines (a malformed line of the day stays one dead letter, as in a JSONL file).
    let mut answered = 0;
    for chunk in lines.chunks(300) {
        let body = chunk.join("\n");
        let lines_ct = ("Content-Type", "application/x-ndjson");
        let a = c.post(Some(ALL), &[lines_ct], body.as_bytes());
        assert_eq!(a.status, 200, "{}", a.text);
        answered += a.body["received"].as_u64().unwrap();
    }
    assert_eq!(answered, lines.len() as u64);
    let before = c.get("/v1/summary").body;
    server.stop().unwrap();
    // Reopened: the same state.
    let server = Server::start(config(&journal, "")).unwrap();
    let after = Client::new(server.addr()).get("/v1/summary").body;
    assert_eq!(after["digest"], before["digest"]);
    assert_eq!(after["received"], lines.len() as u64);
    server.stop().unwrap();
}

/// `examples/waybill.toml` as shipped, read from a copy in a temporary folder (so its
/// relative journal lands there) with only the port moved to one the system picks: the
/// service starts, is ready, takes an event without a token and reads it back.
#[test]
fn the_example_configuration_starts_the_service() {
    let dir = tempfile::tempdir().unwrap();
    let conf_dir = dir.path().join("conf");
    std::fs::create_dir(&conf_dir).unwrap();
    let example = std::fs::read_to_string("../examples/waybill.toml").unwrap();
    let listen = "listen = \"127.0.0.1:8080\"";
    assert_eq!(
        example.matches(listen).count(),
        1,
        "the example listens on 8080"
    );
    let path = conf_dir.join("waybill.toml");
    std::fs::write(&path, example.replace(listen, "listen = \"127.0.0.1:0\"")).unwrap();
    let config = ServeConfig::read(&path).expect("the example configuration is valid");
    assert_eq!(config.journal, conf_dir.join("../journal"));
    let server = Server::start(config).unwrap();
    let c = Client::new(server.addr());
    assert_eq!(c.get("/readyz").status, 200);
    let lines = day_lines();
    let order = lines.iter().find(|l| l.contains("\"erp-main-1\"")).unwrap();
    let a = c.post(None, &[STRUCTURED], order.as_bytes());
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.body["events"][0]["outcome"], "applied");
    assert_eq!(received(&c), 1);
    server.stop().unwrap();
    assert!(
        dir.path().join("journal").is_dir(),
        "the journal is beside conf/"
    );
}
