//! The published contracts (`waybill-contract`): the index of the schemas, each event type's
//! and effect type's JSON Schema, the AsyncAPI and OpenAPI documents. Served as
//! `waybill schema` prints them (pretty JSON, a trailing newline), without a token.

use crate::http::ApiError;
use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use std::sync::OnceLock;
use waybill_contract::catalog;
use waybill_contract::http::{JSON, SCHEMA_JSON};

fn body(media_type: &'static str, text: String) -> Response {
    let mut r = text.into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    r
}

fn schema(found: Result<serde_json::Value, String>) -> Result<Response, ApiError> {
    let v = found.map_err(ApiError::not_found)?;
    Ok(body(SCHEMA_JSON, waybill_contract::to_pretty_json(&v)))
}

/// `GET /v1/schemas`: every event (type, version) and effect type with its URL and `$id`.
pub async fn index() -> Response {
    body(
        JSON,
        waybill_contract::to_pretty_json(&catalog::schema_index()),
    )
}

/// `GET /v1/schemas/events/{type}`: version 1 of the type's schema.
pub async fn event(Path(ty): Path<String>) -> Result<Response, ApiError> {
    schema(catalog::event_schema_named(&ty, 1))
}

/// `GET /v1/schemas/events/{type}/{version}`.
pub async fn event_version(
    Path((ty, version)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let v: u32 = version.parse().map_err(|_| {
        ApiError::not_found(format!(
            "schema version `{version}`: a version is a positive integer"
        ))
    })?;
    schema(catalog::event_schema_named(&ty, v))
}

/// `GET /v1/schemas/effects/{type}`.
pub async fn effect(Path(ty): Path<String>) -> Result<Response, ApiError> {
    schema(catalog::effect_schema_named(&ty))
}

/// `GET /v1/schemas/asyncapi.json`: made once, then served from memory.
pub async fn asyncapi() -> Response {
    static TEXT: OnceLock<String> = OnceLock::new();
    let text = TEXT.get_or_init(|| waybill_contract::to_pretty_json(&waybill_contract::asyncapi()));
    body(JSON, text.clone())
}

/// `GET /openapi.json`: made once, then served from memory.
pub async fn openapi() -> Response {
    static TEXT: OnceLock<String> = OnceLock::new();
    let text = TEXT.get_or_init(|| waybill_contract::to_pretty_json(&waybill_contract::openapi()));
    body(JSON, text.clone())
}
