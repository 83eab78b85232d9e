//! The HTTP API of `waybill serve` as a table (docs/serve.md): every route with its method,
//! path, operation, parameters, request body, answers and whether it asks for a token. The
//! server mounts exactly these routes (it builds its router by iterating [`ROUTES`]), and the
//! OpenAPI document is generated from them.

use crate::answers::Answer;

/// An HTTP method of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
}

impl Method {
    /// The method's name in lower case, as OpenAPI keys its operations.
    pub fn as_lower(self) -> &'static str {
        match self {
            Method::Get => "get",
            Method::Post => "post",
        }
    }
}

/// What a route asks of the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// Nothing: anyone who reaches the service may call it.
    None,
    /// `Authorization: Bearer <token>` when the configuration lists tokens (`[[tokens]]`); the
    /// token must cover the source of every event of the request.
    Bearer,
}

/// Every operation of the API; the server has one handler per operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// `POST /v1/events`.
    PostEvents,
    /// `GET /v1/summary`.
    GetSummary,
    /// `GET /v1/shipments/{id}`.
    GetShipment,
    /// `GET /v1/shipments/{id}/history`.
    GetShipmentHistory,
    /// `GET /v1/dead-letters`.
    ListDeadLetters,
    /// `GET /v1/effects`.
    ListEffects,
    /// `GET /v1/ops`.
    GetOps,
    /// `GET /metrics`.
    GetMetrics,
    /// `GET /healthz`.
    GetHealth,
    /// `GET /readyz`.
    GetReady,
    /// `GET /`.
    GetDashboard,
    /// `GET /v1/schemas`.
    ListSchemas,
    /// `GET /v1/schemas/events/{type}`.
    GetEventSchema,
    /// `GET /v1/schemas/events/{type}/{version}`.
    GetEventSchemaVersion,
    /// `GET /v1/schemas/effects/{type}`.
    GetEffectSchema,
    /// `GET /v1/schemas/asyncapi.json`.
    GetAsyncapi,
    /// `GET /openapi.json`.
    GetOpenapi,
}

impl Operation {
    /// The OpenAPI `operationId`.
    pub fn id(self) -> &'static str {
        match self {
            Operation::PostEvents => "postEvents",
            Operation::GetSummary => "getSummary",
            Operation::GetShipment => "getShipment",
            Operation::GetShipmentHistory => "getShipmentHistory",
            Operation::ListDeadLetters => "listDeadLetters",
            Operation::ListEffects => "listEffects",
            Operation::GetOps => "getOps",
            Operation::GetMetrics => "getMetrics",
            Operation::GetHealth => "getHealth",
            Operation::GetReady => "getReady",
            Operation::GetDashboard => "getDashboard",
            Operation::ListSchemas => "listSchemas",
            Operation::GetEventSchema => "getEventSchema",
            Operation::GetEventSchemaVersion => "getEventSchemaVersion",
            Operation::GetEffectSchema => "getEffectSchema",
            Operation::GetAsyncapi => "getAsyncapi",
            Operation::GetOpenapi => "getOpenapi",
        }
    }
}

/// Where a parameter is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum In {
    /// A `{name}` segment of the path.
    Path,
    /// `?name=value`.
    Query,
    /// A request header.
    Header,
}

impl In {
    /// OpenAPI's name of the place.
    pub fn as_str(self) -> &'static str {
        match self {
            In::Path => "path",
            In::Query => "query",
            In::Header => "header",
        }
    }
}

/// What a parameter's value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamValue {
    /// A non-negative integer below 2^64.
    U64,
    /// A positive integer below 2^32.
    Version,
    /// An event type's name (`order.created`, ...).
    EventType,
    /// An effect type's name (`alert.gap`, ...).
    EffectType,
    /// Any text.
    Text,
}

/// One parameter of a route.
#[derive(Debug, Clone, Copy)]
pub struct Param {
    /// Its name.
    pub name: &'static str,
    /// Where it is.
    pub place: In,
    /// Whether a request must give it.
    pub required: bool,
    /// What it is for.
    pub description: &'static str,
    /// What its value is.
    pub value: ParamValue,
}

/// A body of a request or an answer: its media type and what it holds.
#[derive(Debug, Clone, Copy)]
pub struct Body {
    /// The media type (`Content-Type`).
    pub media_type: &'static str,
    /// What it holds.
    pub answer: Answer,
}

/// One documented answer of a route.
#[derive(Debug, Clone, Copy)]
pub struct Response {
    /// The HTTP status.
    pub status: u16,
    /// When it is given.
    pub description: &'static str,
    /// Its bodies, by media type (none for an empty body).
    pub bodies: &'static [Body],
    /// Whether it carries `Retry-After` (seconds).
    pub retry_after: bool,
}

/// One route of the API.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    /// The method.
    pub method: Method,
    /// The path, with `{name}` for path parameters (the syntax of both axum and OpenAPI).
    pub path: &'static str,
    /// The operation (one handler).
    pub operation: Operation,
    /// One line: what it does.
    pub summary: &'static str,
    /// Its parameters.
    pub params: &'static [Param],
    /// Its request bodies, by media type (none for a request without a body).
    pub request: &'static [Body],
    /// Its documented answers.
    pub responses: &'static [Response],
    /// What it asks of the caller.
    pub auth: Auth,
}

/// The media type of a JSON Schema document.
pub const SCHEMA_JSON: &str = "application/schema+json";
/// The media type of JSON answers and documents.
pub const JSON: &str = "application/json";

const fn json(answer: Answer) -> Body {
    Body {
        media_type: JSON,
        answer,
    }
}

const ERROR_BODY: [Body; 1] = [json(Answer::Error)];
const TEXT_BODY: [Body; 1] = [Body {
    media_type: "text/plain",
    answer: Answer::Text,
}];

const fn ok(bodies: &'static [Body]) -> Response {
    Response {
        status: 200,
        description: "OK",
        bodies,
        retry_after: false,
    }
}

const fn error(status: u16, description: &'static str, retry_after: bool) -> Response {
    Response {
        status,
        description,
        bodies: &ERROR_BODY,
        retry_after,
    }
}

const fn text(status: u16, description: &'static str) -> Response {
    Response {
        status,
        description,
        bodies: &TEXT_BODY,
        retry_after: false,
    }
}

const BUSY: Response = error(429, "the core's queue is full", true);
const OPENING: Response = error(
    503,
    "the journal is being opened, or the reader stopped",
    true,
);
const BAD_PARAM: Response = text(
    400,
    "a parameter is not what it must be (the answer is the reason, as text)",
);
const NO_SCHEMA: Response = error(404, "no such event type, version or effect type", false);

const PAGE: [Param; 2] = [
    Param {
        name: "after",
        place: In::Query,
        required: false,
        description: "rows after this position (0: from the first)",
        value: ParamValue::U64,
    },
    Param {
        name: "limit",
        place: In::Query,
        required: false,
        description: "most rows (default 1000, at most 10000)",
        value: ParamValue::U64,
    },
];

const SHIPMENT_ID: [Param; 1] = [Param {
    name: "id",
    place: In::Path,
    required: true,
    description: "the shipment id (the number of `shipment/<id>`)",
    value: ParamValue::U64,
}];

const EVENT_TYPE: Param = Param {
    name: "type",
    place: In::Path,
    required: true,
    description: "the event type",
    value: ParamValue::EventType,
};

/// The `ce-*` headers of binary mode (docs/serve.md): the event's attributes, its `data` the
/// body.
const BINARY_HEADERS: [Param; 8] = [
    ce(
        "ce-specversion",
        "binary mode: `1.0` (its presence selects binary mode)",
    ),
    ce("ce-id", "binary mode: the event's `id`"),
    ce("ce-source", "binary mode: the event's `source`"),
    ce("ce-type", "binary mode: the event's `type`"),
    ce("ce-time", "binary mode: the event's `time`"),
    ce("ce-subject", "binary mode: the event's `subject`"),
    ce("ce-sequence", "binary mode: the event's `sequence`"),
    ce(
        "ce-schemaversion",
        "binary mode: the event's `schemaversion`",
    ),
];

const fn ce(name: &'static str, description: &'static str) -> Param {
    Param {
        name,
        place: In::Header,
        required: false,
        description,
        value: ParamValue::Text,
    }
}

const POST_EVENTS: Route = Route {
    method: Method::Post,
    path: "/v1/events",
    operation: Operation::PostEvents,
    summary: "Send events; answered once they are durable, with each event's outcome and LSN",
    params: &BINARY_HEADERS,
    request: &[
        Body {
            media_type: "application/cloudevents+json",
            answer: Answer::Event,
        },
        Body {
            media_type: "application/cloudevents-batch+json",
            answer: Answer::EventBatch,
        },
        Body {
            media_type: "application/x-ndjson",
            answer: Answer::EventLines,
        },
        Body {
            media_type: "application/jsonl",
            answer: Answer::EventLines,
        },
        Body {
            media_type: JSON,
            answer: Answer::EventData,
        },
    ],
    responses: &[
        ok(&[json(Answer::IngestAnswer)]),
        error(
            400,
            "the body holds no event, or cannot be read as events",
            false,
        ),
        error(
            401,
            "tokens are configured and the request has none, or an unknown one",
            false,
        ),
        error(
            403,
            "an event names a source the token does not cover: nothing was received",
            false,
        ),
        Response {
            status: 408,
            description: "the request took longer than `request_timeout_ms` (its batch may still be journaled: resend it)",
            bodies: &[],
            retry_after: false,
        },
        error(
            413,
            "the body is larger than `max_body_bytes`, or holds more than `max_batch_events` events",
            false,
        ),
        error(
            415,
            "no mode: none of the content types, and no `ce-specversion` header",
            false,
        ),
        BUSY,
        error(
            503,
            "`max_in_flight` requests are being handled, the journal is still opening, or the environment failed",
            true,
        ),
        error(
            507,
            "the core is full: a capacity limit would be passed",
            false,
        ),
    ],
    auth: Auth::Bearer,
};

const READS: [Route; 6] = [
    Route {
        method: Method::Get,
        path: "/v1/summary",
        operation: Operation::GetSummary,
        summary: "The summary: LSN, digest, counters, gaps, money per currency, statuses, durable LSN",
        params: &[],
        request: &[],
        responses: &[
            ok(&[json(Answer::Summary)]),
            BUSY,
            error(
                503,
                "the journal is being opened, or the summary is still being counted",
                true,
            ),
        ],
        auth: Auth::None,
    },
    Route {
        method: Method::Get,
        path: "/v1/shipments/{id}",
        operation: Operation::GetShipment,
        summary: "One shipment with every derived field",
        params: &SHIPMENT_ID,
        request: &[],
        responses: &[
            ok(&[json(Answer::Shipment)]),
            BAD_PARAM,
            error(404, "no event named the shipment", false),
            BUSY,
            OPENING,
        ],
        auth: Auth::None,
    },
    Route {
        method: Method::Get,
        path: "/v1/shipments/{id}/history",
        operation: Operation::GetShipmentHistory,
        summary: "Every journal record that touched the shipment",
        params: &SHIPMENT_ID,
        request: &[],
        responses: &[ok(&[json(Answer::History)]), BAD_PARAM, OPENING],
        auth: Auth::None,
    },
    Route {
        method: Method::Get,
        path: "/v1/dead-letters",
        operation: Operation::ListDeadLetters,
        summary: "Dead letters in LSN order (`after`: an LSN)",
        params: &PAGE,
        request: &[],
        responses: &[ok(&[json(Answer::DeadLetters)]), BAD_PARAM, OPENING],
        auth: Auth::None,
    },
    Route {
        method: Method::Get,
        path: "/v1/effects",
        operation: Operation::ListEffects,
        summary: "Effects whose events are durable, in `effect_seq` order (`after`: an `effect_seq`)",
        params: &PAGE,
        request: &[],
        responses: &[ok(&[json(Answer::Effects)]), BAD_PARAM, OPENING],
        auth: Auth::None,
    },
    Route {
        method: Method::Get,
        path: "/v1/ops",
        operation: Operation::GetOps,
        summary: "The operations figures of `/metrics` as one JSON object",
        params: &[],
        request: &[],
        responses: &[ok(&[json(Answer::Ops)]), OPENING],
        auth: Auth::None,
    },
];

const OPERATIONS: [Route; 4] = [
    Route {
        method: Method::Get,
        path: "/metrics",
        operation: Operation::GetMetrics,
        summary: "Prometheus / OpenMetrics text",
        params: &[],
        request: &[],
        responses: &[ok(&[Body {
            media_type: "application/openmetrics-text",
            answer: Answer::Text,
        }])],
        auth: Auth::None,
    },
    Route {
        method: Method::Get,
        path: "/healthz",
        operation: Operation::GetHealth,
        summary: "200 while the process answers",
        params: &[],
        request: &[],
        responses: &[text(200, "the process answers")],
        auth: Auth::None,
    },
    Route {
        method: Method::Get,
        path: "/readyz",
        operation: Operation::GetReady,
        summary: "200 once the journal is open (snapshot loaded, tail replayed), 503 before",
        params: &[],
        request: &[],
        responses: &[
            text(200, "the journal is open"),
            text(503, "the journal is being opened"),
        ],
        auth: Auth::None,
    },
    Route {
        method: Method::Get,
        path: "/",
        operation: Operation::GetDashboard,
        summary: "The operations dashboard: one self-contained page",
        params: &[],
        request: &[],
        responses: &[ok(&[Body {
            media_type: "text/html",
            answer: Answer::Text,
        }])],
        auth: Auth::None,
    },
];

const SCHEMAS: [Route; 6] = [
    Route {
        method: Method::Get,
        path: "/v1/schemas",
        operation: Operation::ListSchemas,
        summary: "Every published schema: each event type and version, each effect type, with its URL and `$id`; the AsyncAPI and OpenAPI documents",
        params: &[],
        request: &[],
        responses: &[ok(&[json(Answer::SchemaIndex)])],
        auth: Auth::None,
    },
    Route {
        method: Method::Get,
        path: "/v1/schemas/events/{type}",
        operation: Operation::GetEventSchema,
        summary: "The JSON Schema (2020-12) of an event type, version 1",
        params: &[EVENT_TYPE],
        request: &[],
        responses: &[
            ok(&[Body {
                media_type: SCHEMA_JSON,
                answer: Answer::JsonSchema,
            }]),
            NO_SCHEMA,
        ],
        auth: Auth::None,
    },
    Route {
        method: Method::Get,
        path: "/v1/schemas/events/{type}/{version}",
        operation: Operation::GetEventSchemaVersion,
        summary: "The JSON Schema (2020-12) of an event type in one schema version",
        params: &[
            EVENT_TYPE,
            Param {
                name: "version",
                place: In::Path,
                required: true,
                description: "the schema version (`schemaversion`)",
                value: ParamValue::Version,
            },
        ],
        request: &[],
        responses: &[
            ok(&[Body {
                media_type: SCHEMA_JSON,
                answer: Answer::JsonSchema,
            }]),
            NO_SCHEMA,
        ],
        auth: Auth::None,
    },
    Route {
        method: Method::Get,
        path: "/v1/schemas/effects/{type}",
        operation: Operation::GetEffectSchema,
        summary: "The JSON Schema (2020-12) of an effect as its sink receives it",
        params: &[Param {
            name: "type",
            place: In::Path,
            required: true,
            description: "the effect type",
            value: ParamValue::EffectType,
        }],
        request: &[],
        responses: &[
            ok(&[Body {
                media_type: SCHEMA_JSON,
                answer: Answer::JsonSchema,
            }]),
            NO_SCHEMA,
        ],
        auth: Auth::None,
    },
    Route {
        method: Method::Get,
        path: "/v1/schemas/asyncapi.json",
        operation: Operation::GetAsyncapi,
        summary: "The AsyncAPI 3.0 document of every event in and effect out (HTTP, NATS, sinks)",
        params: &[],
        request: &[],
        responses: &[ok(&[json(Answer::AsyncapiDocument)])],
        auth: Auth::None,
    },
    Route {
        method: Method::Get,
        path: "/openapi.json",
        operation: Operation::GetOpenapi,
        summary: "The OpenAPI 3.1 document of this API",
        params: &[],
        request: &[],
        responses: &[ok(&[json(Answer::OpenapiDocument)])],
        auth: Auth::None,
    },
];

/// Every route of the API, in the order of docs/serve.md.
pub static ROUTES: [Route; 17] = [
    POST_EVENTS,
    READS[0],
    READS[1],
    READS[2],
    READS[3],
    READS[4],
    READS[5],
    OPERATIONS[0],
    OPERATIONS[1],
    OPERATIONS[2],
    OPERATIONS[3],
    SCHEMAS[0],
    SCHEMAS[1],
    SCHEMAS[2],
    SCHEMAS[3],
    SCHEMAS[4],
    SCHEMAS[5],
];

/// The route of `operation`.
pub fn route(operation: Operation) -> &'static Route {
    ROUTES
        .iter()
        .find(|r| r.operation == operation)
        .expect("every operation has a route")
}

/// The URL path of the schema of events of type `ty` in version `version`.
pub fn event_schema_path(ty: waybill_core::event::EventType, version: u32) -> String {
    format!("/v1/schemas/events/{}/{version}", ty.as_str())
}

/// The URL path of the schema of effects of type `ty`.
pub fn effect_schema_path(ty: waybill_core::effect::EffectType) -> String {
    format!("/v1/schemas/effects/{}", ty.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_has_one_route_and_every_route_is_distinct() {
        for (i, r) in ROUTES.iter().enumerate() {
            let same = ROUTES
                .iter()
                .filter(|o| o.operation == r.operation || (o.path, o.method) == (r.path, r.method))
                .count();
            assert_eq!(same, 1, "route {i} {} {}", r.method.as_lower(), r.path);
            assert_eq!(route(r.operation).path, r.path);
            assert!(r.responses.iter().any(|x| x.status == 200), "{}", r.path);
            for p in r.params.iter().filter(|p| p.place == In::Path) {
                assert!(r.path.contains(&format!("{{{}}}", p.name)), "{}", r.path);
                assert!(p.required);
            }
            let holes = r.path.matches('{').count();
            let path_params = r.params.iter().filter(|p| p.place == In::Path).count();
            assert_eq!(holes, path_params, "{}", r.path);
        }
    }
}
