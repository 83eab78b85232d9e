//! What the HTTP API's bodies hold, as JSON Schema (2020-12): the requests of
//! `POST /v1/events` and every JSON answer (docs/serve.md). A schema names the schemas it
//! shares with others (the events, the effects, the error) by reference, through a prefix
//! that says where they are: `#/components/schemas/` in the OpenAPI document, `#/$defs/` in a
//! schema of one answer ([`answer_schema`]).

use crate::catalog;
use serde_json::{Value, json};

/// A body of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// One event (structured mode): any event type and version.
    Event,
    /// A JSON array of events (batch mode).
    EventBatch,
    /// Events as JSON lines.
    EventLines,
    /// An event's `data` (binary mode, with the `ce-*` headers).
    EventData,
    /// The answer of `POST /v1/events`.
    IngestAnswer,
    /// `{"error": "..."}`.
    Error,
    /// The summary.
    Summary,
    /// One shipment.
    Shipment,
    /// A shipment's history.
    History,
    /// A page of dead letters.
    DeadLetters,
    /// A page of effects.
    Effects,
    /// The operations figures.
    Ops,
    /// The index of the published schemas.
    SchemaIndex,
    /// A JSON Schema document.
    JsonSchema,
    /// The AsyncAPI document.
    AsyncapiDocument,
    /// The OpenAPI document.
    OpenapiDocument,
    /// Text (plain, HTML or OpenMetrics): no schema.
    Text,
}

impl Answer {
    /// Every body that has a JSON schema, in the order of the OpenAPI document's components.
    pub const JSON: [Answer; 16] = [
        Answer::Event,
        Answer::EventBatch,
        Answer::EventLines,
        Answer::EventData,
        Answer::IngestAnswer,
        Answer::Error,
        Answer::Summary,
        Answer::Shipment,
        Answer::History,
        Answer::DeadLetters,
        Answer::Effects,
        Answer::Ops,
        Answer::SchemaIndex,
        Answer::JsonSchema,
        Answer::AsyncapiDocument,
        Answer::OpenapiDocument,
    ];

    /// Its name among the shared schemas (an OpenAPI component); `None` for text.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            Answer::Event => "Event",
            Answer::EventBatch => "EventBatch",
            Answer::EventLines => "EventLines",
            Answer::EventData => "EventData",
            Answer::IngestAnswer => "IngestAnswer",
            Answer::Error => "Error",
            Answer::Summary => "Summary",
            Answer::Shipment => "Shipment",
            Answer::History => "History",
            Answer::DeadLetters => "DeadLetters",
            Answer::Effects => "Effects",
            Answer::Ops => "Ops",
            Answer::SchemaIndex => "SchemaIndex",
            Answer::JsonSchema => "JsonSchema",
            Answer::AsyncapiDocument => "AsyncapiDocument",
            Answer::OpenapiDocument => "OpenapiDocument",
            Answer::Text => return None,
        })
    }

    /// Its schema, naming shared schemas as `<prefix><name>`; `None` for text.
    pub fn schema(self, prefix: &str) -> Option<Value> {
        let r = |name: &str| json!({ "$ref": format!("{prefix}{name}") });
        Some(match self {
            Answer::Event => {
                let all: Vec<Value> = catalog::event_components().map(|(n, _)| r(&n)).collect();
                json!({ "description": "One CloudEvent of any type and schema version", "oneOf": all })
            }
            Answer::EventBatch => json!({
                "description": "A JSON array of CloudEvents (each is accounted for on its own: a malformed one is dead-lettered, not an error of the request)",
                "type": "array",
                "items": r("Event"),
            }),
            Answer::EventLines => json!({
                "description": "CloudEvents, one JSON object per line (blank lines are skipped), each as the `Event` schema says",
                "type": "string",
            }),
            Answer::EventData => json!({
                "description": "Binary mode: the event's `data` (its attributes in the `ce-*` headers)",
                "type": "object",
            }),
            Answer::IngestAnswer => ingest_answer(),
            Answer::Error => object(
                "An error: one line saying why",
                &[("error", json!({ "type": "string" }))],
            ),
            Answer::Summary => summary(),
            Answer::Shipment => shipment(),
            Answer::History => history(),
            Answer::DeadLetters => dead_letters(),
            Answer::Effects => {
                let all: Vec<Value> = catalog::effect_components().map(|(n, _)| r(&n)).collect();
                object(
                    "Effects in `effect_seq` order, each the CloudEvent its sink receives",
                    &[
                        (
                            "effects",
                            json!({ "type": "array", "items": { "oneOf": all } }),
                        ),
                        ("next_after", nullable(uint())),
                    ],
                )
            }
            Answer::Ops => ops(),
            Answer::SchemaIndex => schema_index(),
            Answer::JsonSchema => json!({
                "description": "A JSON Schema (2020-12) document",
                "type": "object",
                "required": ["$schema", "$id"],
                "properties": { "$schema": { "const": catalog::DIALECT }, "$id": { "type": "string" } },
            }),
            Answer::AsyncapiDocument => document("asyncapi", crate::asyncapi::VERSION),
            Answer::OpenapiDocument => document("openapi", crate::openapi::VERSION),
            Answer::Text => return None,
        })
    }
}

/// The standalone schema (2020-12) of one JSON body: the body's schema, with every schema it
/// shares with others under `$defs`. `None` for text.
pub fn answer_schema(answer: Answer) -> Option<Value> {
    let name = answer.name()?;
    let mut defs = serde_json::Map::new();
    for (n, s) in catalog::components("#/$defs/") {
        defs.insert(n, s);
    }
    debug_assert!(defs.contains_key(name));
    Some(json!({
        "$schema": catalog::DIALECT,
        "$id": format!("urn:waybill:schema:answer:{name}"),
        "$ref": format!("#/$defs/{name}"),
        "$defs": defs,
    }))
}

fn uint() -> Value {
    json!({ "type": "integer", "minimum": 0 })
}

fn string() -> Value {
    json!({ "type": "string" })
}

fn boolean() -> Value {
    json!({ "type": "boolean" })
}

/// An RFC 3339 UTC time.
fn time() -> Value {
    json!({ "type": "string", "format": "date-time" })
}

/// An exact sum: a JSON number up to 64 bits, a string of digits past that.
fn exact() -> Value {
    json!({ "type": ["integer", "string"], "pattern": "^-?[0-9]+$" })
}

fn nullable(mut v: Value) -> Value {
    if let Some(t) = v.get("type").cloned() {
        let mut types = match t {
            Value::Array(a) => a,
            one => vec![one],
        };
        types.push("null".into());
        v["type"] = Value::Array(types);
        v
    } else {
        json!({ "anyOf": [v, { "type": "null" }] })
    }
}

fn array(items: Value) -> Value {
    json!({ "type": "array", "items": items })
}

/// Name -> count, for every name listed.
fn counts(names: &[&str]) -> Value {
    let props: serde_json::Map<String, Value> =
        names.iter().map(|n| ((*n).to_owned(), uint())).collect();
    json!({ "type": "object", "required": names, "properties": props, "additionalProperties": false })
}

/// An object whose every field is required (the answers always carry every field, null when
/// it has no value); more fields may be added in later versions.
fn object(description: &str, fields: &[(&str, Value)]) -> Value {
    let required: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
    let props: serde_json::Map<String, Value> = fields
        .iter()
        .map(|(n, s)| ((*n).to_owned(), s.clone()))
        .collect();
    let mut v = json!({ "type": "object", "required": required, "properties": props });
    if !description.is_empty() {
        v["description"] = description.into();
    }
    v
}

fn document(version_field: &str, version: &str) -> Value {
    json!({
        "type": "object",
        "required": [version_field, "info"],
        "properties": { version_field: { "const": version } },
    })
}

fn ingest_answer() -> Value {
    let outcome = json!({ "enum": ["applied", "duplicate", "dead_lettered"] });
    let reasons: Vec<&str> = waybill_core::event::DeadLetterReason::ALL
        .iter()
        .map(|r| r.as_str())
        .collect();
    let event = object(
        "",
        &[
            ("index", uint()),
            ("id", nullable(string())),
            ("lsn", uint()),
            ("outcome", outcome),
            (
                "reason",
                json!({ "enum": reasons.iter().map(|r| Value::from(*r)).chain([Value::Null]).collect::<Vec<_>>() }),
            ),
        ],
    );
    object(
        "Each event of the request, in request order, with its LSN and outcome; the batch is durable",
        &[
            ("received", uint()),
            ("applied", uint()),
            ("duplicates", uint()),
            ("dead_lettered", uint()),
            ("durable_lsn", uint()),
            ("events", array(event)),
        ],
    )
}

fn summary() -> Value {
    let reasons: Vec<&str> = waybill_core::event::DeadLetterReason::ALL
        .iter()
        .map(|r| r.as_str())
        .collect();
    let statuses: Vec<&str> = waybill_core::Status::ALL
        .iter()
        .map(|s| s.as_str())
        .collect();
    let money = object(
        "",
        &[
            ("billed_cents", exact()),
            ("expected_detention_cents", exact()),
            ("leakage_cents", exact()),
        ],
    );
    let gap = object(
        "",
        &[
            ("source", string()),
            ("missing", uint()),
            (
                "ranges",
                array(json!({ "type": "array", "items": uint(), "minItems": 2, "maxItems": 2 })),
            ),
        ],
    );
    object(
        "The summary of `waybill state --json`, and the durable LSN",
        &[
            ("lsn", uint()),
            (
                "digest",
                json!({ "type": "string", "pattern": "^[0-9a-f]{64}$" }),
            ),
            ("received", uint()),
            ("applied", uint()),
            ("duplicates", uint()),
            ("dead_lettered", uint()),
            ("dead_letter_reasons", counts(&reasons)),
            ("missing", exact()),
            (
                "totals",
                json!({ "type": "object", "additionalProperties": money }),
            ),
            ("shipments", uint()),
            ("vehicles", uint()),
            ("sources", uint()),
            ("shipments_by_status", counts(&statuses)),
            ("leaking_shipments", uint()),
            ("invoice_ready", uint()),
            ("with_anomalies", uint()),
            ("gaps", array(gap)),
            ("durable_lsn", uint()),
        ],
    )
}

fn shipment() -> Value {
    let statuses: Vec<&str> = waybill_core::Status::ALL
        .iter()
        .map(|s| s.as_str())
        .collect();
    let t = || nullable(time());
    let obj = || nullable(json!({ "type": "object" }));
    object(
        "One shipment with every derived field (docs/state.md), as `waybill state --shipment ID --json`",
        &[
            ("id", uint()),
            ("status", json!({ "enum": statuses })),
            ("order_version", uint()),
            ("cancelled", boolean()),
            ("window_start", t()),
            ("window_end", t()),
            ("delivered", t()),
            ("on_time", nullable(boolean())),
            ("billed_cents", exact()),
            ("detention_minutes", json!({ "type": "integer" })),
            ("expected_detention_cents", exact()),
            ("leakage_cents", exact()),
            ("unbilled_charge_ids", array(string())),
            ("invoice_status", string()),
            ("invoice_ready", boolean()),
            (
                "order_to_dispatch_minutes",
                nullable(json!({ "type": "integer" })),
            ),
            (
                "invoice_cycle_minutes",
                nullable(json!({ "type": "integer" })),
            ),
            ("failed_attempts", uint()),
            ("anomalies", array(string())),
            ("customer_id", nullable(string())),
            ("origin", obj()),
            ("destination", obj()),
            ("weight_kg", nullable(uint())),
            ("contract", obj()),
            ("route", obj()),
            ("eta", t()),
            ("pickup_arrived", t()),
            ("pickup_departed", t()),
            ("picked_up", t()),
            ("delivery_arrived", t()),
            ("delivery_departed", t()),
            ("pod", obj()),
            ("charges", array(json!({ "type": "object" }))),
            ("invoices", array(json!({ "type": "object" }))),
        ],
    )
}

fn history() -> Value {
    let types: Vec<&str> = waybill_core::event::EventType::ALL
        .iter()
        .map(|t| t.as_str())
        .collect();
    let record = object(
        "",
        &[
            ("lsn", uint()),
            ("ingest_time", time()),
            ("outcome", json!({ "enum": ["applied", "duplicate"] })),
            ("type", json!({ "enum": types })),
            ("source", string()),
            ("sequence", uint()),
            ("id", string()),
            ("time", time()),
        ],
    );
    object(
        "Every journal record that touched the shipment, in LSN order",
        &[("shipment", uint()), ("records", array(record))],
    )
}

fn dead_letters() -> Value {
    let reasons: Vec<&str> = waybill_core::event::DeadLetterReason::ALL
        .iter()
        .map(|r| r.as_str())
        .collect();
    let row = object(
        "",
        &[
            ("lsn", uint()),
            ("ingest_time", time()),
            ("reason", json!({ "enum": reasons })),
            ("detail", string()),
            ("raw_len_bytes", uint()),
            (
                "raw",
                json!({ "type": "string", "description": "the bytes as received (invalid UTF-8 replaced)" }),
            ),
        ],
    );
    object(
        "Dead letters in LSN order; `next_after` continues (null: no row)",
        &[
            ("dead_letters", array(row)),
            ("next_after", nullable(uint())),
        ],
    )
}

fn ops() -> Value {
    let o = || json!({ "type": "object" });
    object(
        "The operations figures (docs/serve.md, `GET /v1/ops`)",
        &[
            ("as_of", time()),
            ("core_as_of", nullable(time())),
            ("core_age_ms", nullable(uint())),
            ("lsn", uint()),
            ("durable_lsn", uint()),
            ("queued_batches", uint()),
            (
                "journal",
                object("", &[("size_bytes", uint()), ("segments", uint())]),
            ),
            ("counters", nullable(o())),
            ("missing", nullable(o())),
            (
                "sla",
                object(
                    "",
                    &[
                        ("targets_minutes", o()),
                        ("breaches", o()),
                        ("pod_propagation_seconds", o()),
                    ],
                ),
            ),
            ("effects", o()),
            (
                "delivery",
                object("", &[("running", boolean()), ("lanes", array(o()))]),
            ),
        ],
    )
}

fn schema_index() -> Value {
    let event = object(
        "",
        &[
            ("type", string()),
            ("version", json!({ "type": "integer", "minimum": 1 })),
            ("url", string()),
            ("id", string()),
        ],
    );
    let effect = object(
        "",
        &[("type", string()), ("url", string()), ("id", string())],
    );
    object(
        "Every published schema with its URL path and `$id`, and the documents",
        &[
            ("events", array(event)),
            ("effects", array(effect)),
            ("asyncapi", string()),
            ("openapi", string()),
        ],
    )
}
