//! The service against its published contract, over real HTTP on loopback: every route of the
//! API's table is mounted and answers with a status the table documents, asks for a token
//! exactly when the table says so, and its JSON answers validate against the table's schemas;
//! the documents and schemas served are the ones `waybill_contract` generates.

mod support;

use serde_json::{Value, json};
use std::net::SocketAddr;
use support::{Answer, read};
use waybill_contract::answers::{Answer as Body, answer_schema};
use waybill_contract::http::{Auth, In, Method, ParamValue, ROUTES, Route};
use waybill_contract::{asyncapi, catalog, openapi};
use waybill_core::effect::EffectType;
use waybill_server::Server;
use waybill_server::config::ServeConfig;

const TOKEN: &str = "all-secret";
const EVERY_TYPE: &str = "../examples/every-type.jsonl";

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

    fn get(&self, path: &str) -> Answer {
        read(
            self.agent
                .get(format!("{}{path}", self.base))
                .call()
                .unwrap(),
        )
    }

    fn post_lines(&self, token: Option<&str>, body: &[u8]) -> Answer {
        let mut req = self
            .agent
            .post(format!("{}/v1/events", self.base))
            .header("Content-Type", "application/x-ndjson");
        if let Some(t) = token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        read(req.send(body).unwrap())
    }
}

fn start(journal: &std::path::Path) -> Server {
    let text = format!(
        "listen = \"127.0.0.1:0\"\njournal = \"{}\"\n[[tokens]]\ntoken = \"{TOKEN}\"\nsources = [\"*\"]\n",
        journal.display()
    );
    Server::start(ServeConfig::parse(&text, None).unwrap()).unwrap()
}

/// The route's path with an example value in each parameter: a shipment of
/// `examples/every-type.jsonl`, a type with two schema versions, an effect type.
fn example_path(r: &Route) -> String {
    let mut path = r.path.to_owned();
    for p in r.params.iter().filter(|p| p.place == In::Path) {
        let value = match p.value {
            ParamValue::U64 => "1001",
            ParamValue::Version => "2",
            ParamValue::EventType => "vehicle.position",
            ParamValue::EffectType => EffectType::AlertGap.as_str(),
            ParamValue::Text => "x",
        };
        path = path.replace(&format!("{{{}}}", p.name), value);
    }
    path
}

/// Why `instance` does not validate against the schema of `body` (nothing when it does).
fn errors(body: Body, instance: &Value) -> Vec<String> {
    let schema = answer_schema(body).expect("a JSON body has a schema");
    let validator = jsonschema::validator_for(&schema)
        .unwrap_or_else(|e| panic!("the schema of {body:?} compiles: {e}"));
    validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

fn validate(body: Body, instance: &Value, what: &str) {
    let errors = errors(body, instance);
    assert!(errors.is_empty(), "{what}: {errors:#?}");
}

#[test]
fn the_answer_schemas_refuse_what_the_service_never_answers() {
    let cases = [
        (Body::Error, json!({})),
        (Body::Error, json!({ "error": 1 })),
        (Body::Summary, json!({ "lsn": 1 })),
        (
            Body::IngestAnswer,
            json!({ "received": 1, "applied": 1, "duplicates": 0, "dead_lettered": 0, "durable_lsn": 1, "events": [{ "index": 0, "id": "a", "lsn": 1, "outcome": "kept", "reason": null }] }),
        ),
        (
            Body::DeadLetters,
            json!({ "dead_letters": [], "next_after": -1 }),
        ),
        (
            Body::Effects,
            json!({ "effects": [{ "type": "alert.gap" }], "next_after": null }),
        ),
        (Body::SchemaIndex, json!({ "events": [], "effects": [] })),
    ];
    for (body, instance) in cases {
        assert!(
            !errors(body, &instance).is_empty(),
            "{body:?} takes {instance}"
        );
    }
}

/// Calls `r` as a client that follows the table would, without a token when `token` is None.
fn call(c: &Client, r: &Route, token: Option<&str>) -> Answer {
    match r.method {
        Method::Get => c.get(&example_path(r)),
        Method::Post => {
            let line = std::fs::read_to_string(EVERY_TYPE).unwrap();
            c.post_lines(token, line.lines().next().unwrap().as_bytes())
        }
    }
}

/// What the table documents for `status` on `r`: the answer's body, checked.
fn check_documented(r: &Route, a: &Answer) {
    let what = format!("{} {}", r.method.as_lower(), example_path(r));
    let documented = r.responses.iter().find(|x| x.status == a.status);
    let documented = documented
        .unwrap_or_else(|| panic!("{what}: status {} is not documented: {}", a.status, a.text));
    if documented.bodies.is_empty() {
        return;
    }
    let body = documented
        .bodies
        .iter()
        .find(|b| a.content_type.starts_with(b.media_type))
        .unwrap_or_else(|| panic!("{what}: content type {} is not documented", a.content_type));
    if body.answer.name().is_some() {
        validate(body.answer, &a.body, &what);
    }
}

#[test]
fn every_route_of_the_table_is_mounted_with_its_documented_answers_and_auth() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir.path().join("j"));
    let c = Client::new(server.addr());
    let events = std::fs::read(EVERY_TYPE).unwrap();
    let posted = c.post_lines(Some(TOKEN), &events);
    assert_eq!(posted.status, 200, "{}", posted.text);
    for r in &ROUTES {
        let a = call(&c, r, Some(TOKEN));
        assert!(
            a.status != 405 && !(a.status == 404 && a.body.get("error").is_none()),
            "{} {} is not mounted: {} {}",
            r.method.as_lower(),
            r.path,
            a.status,
            a.text
        );
        assert_eq!(
            a.status,
            200,
            "{} {}: {}",
            r.method.as_lower(),
            r.path,
            a.text
        );
        check_documented(r, &a);
        let anonymous = call(&c, r, None);
        assert_eq!(
            anonymous.status == 401,
            r.auth == Auth::Bearer,
            "{}",
            r.path
        );
        check_documented(r, &anonymous);
    }
    // Past the table, nothing is mounted.
    for (path, status) in [("/v2/events", 404), ("/v1/schemas/other", 404)] {
        assert_eq!(c.get(path).status, status, "{path}");
    }
    server.stop().unwrap();
}

#[test]
fn the_published_documents_and_schemas_are_the_generated_ones() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir.path().join("j"));
    let c = Client::new(server.addr());
    let mut expected: Vec<(String, &str, Value)> = vec![
        ("/openapi.json".into(), "application/json", openapi()),
        (
            "/v1/schemas/asyncapi.json".into(),
            "application/json",
            asyncapi(),
        ),
        (
            "/v1/schemas".into(),
            "application/json",
            catalog::schema_index(),
        ),
        (
            "/v1/schemas/events/vehicle.position".into(),
            "application/schema+json",
            catalog::event_schema_named("vehicle.position", 1).unwrap(),
        ),
    ];
    let index = catalog::schema_index();
    for row in index["events"]
        .as_array()
        .unwrap()
        .iter()
        .chain(index["effects"].as_array().unwrap())
    {
        let url = row["url"].as_str().unwrap().to_owned();
        let schema = match row.get("version") {
            Some(v) => catalog::event_schema_named(
                row["type"].as_str().unwrap(),
                v.as_u64().unwrap() as u32,
            ),
            None => catalog::effect_schema_named(row["type"].as_str().unwrap()),
        };
        let schema = schema.unwrap();
        assert_eq!(schema["$id"], row["id"], "{url}");
        expected.push((url, "application/schema+json", schema));
    }
    for (path, media_type, want) in expected {
        let a = c.get(&path);
        assert_eq!(a.status, 200, "{path}: {}", a.text);
        assert_eq!(a.content_type, media_type, "{path}");
        assert!(
            a.body == want,
            "{path}: the document served differs from the generated one"
        );
        assert_eq!(a.text, waybill_contract::to_pretty_json(&want), "{path}");
    }
    server.stop().unwrap();
}

#[test]
fn a_schema_that_does_not_exist_is_404_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir.path().join("j"));
    let c = Client::new(server.addr());
    let cases = [
        (
            "/v1/schemas/events/order.shipped",
            "unknown event type `order.shipped`; the types are: order.created,",
        ),
        (
            "/v1/schemas/events/order.created/2",
            "order.created has no schema version 2; its versions are: 1",
        ),
        (
            "/v1/schemas/events/vehicle.position/0",
            "vehicle.position has no schema version 0; its versions are: 1, 2",
        ),
        (
            "/v1/schemas/events/order.created/v1",
            "schema version `v1`: a version is a positive integer",
        ),
        (
            "/v1/schemas/effects/alert.nothing",
            "unknown effect type `alert.nothing`; the types are: route.replan_requested,",
        ),
    ];
    for (path, reason) in cases {
        let a = c.get(path);
        assert_eq!(a.status, 404, "{path}");
        assert_eq!(a.content_type, "application/json", "{path}");
        let error = a.body["error"].as_str().unwrap_or_default();
        assert!(error.starts_with(reason), "{path}: {error}");
    }
    server.stop().unwrap();
}
