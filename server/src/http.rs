//! The router, the state every handler shares, and the errors handlers answer with.

use crate::auth::Tokens;
use crate::config::ServeConfig;
use crate::metrics::Metrics;
use crate::writer::{Refused, Writer};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, on};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use waybill_contract::http::{Method, Operation, ROUTES};

/// What every handler shares.
pub struct AppState {
    /// The configuration the service runs with.
    pub config: ServeConfig,
    /// The writer thread, once the journal is open.
    pub writer: std::sync::OnceLock<Writer>,
    /// Tokens and their sources.
    pub tokens: Tokens,
    /// Requests of `POST /v1/events` in flight, at most `limits.max_in_flight`.
    pub in_flight: Semaphore,
    /// The metric families.
    pub metrics: Metrics,
}

impl AppState {
    /// The writer, or 503 while the journal is being opened.
    pub fn writer(&self) -> Result<&Writer, ApiError> {
        self.writer
            .get()
            .ok_or_else(|| ApiError::unavailable("the journal is being opened"))
    }
}

/// Seconds a refused caller is asked to wait (`Retry-After`).
const RETRY_AFTER_S: &str = "1";

/// An error answer: a status and one line of JSON `{"error": ...}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    retry_after: bool,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            retry_after: false,
        }
    }

    /// Any status (a rejection of the body: 413 past `limits.max_body_bytes`).
    pub fn status(status: StatusCode, message: String) -> ApiError {
        ApiError::new(status, message)
    }

    /// 400.
    pub fn bad_request(message: String) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// 401: no token, or an unknown one.
    pub fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "a bearer token is required (Authorization: Bearer <token>)",
        )
    }

    /// 403: the token does not cover a source of the request.
    pub fn forbidden(message: String) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, message)
    }

    /// 404.
    pub fn not_found(message: String) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    /// 413: more events than a request may hold.
    pub fn too_large(message: String) -> ApiError {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, message)
    }

    /// 415.
    pub fn unsupported(message: String) -> ApiError {
        ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, message)
    }

    /// 429 with `Retry-After`: the core's queue is full.
    pub fn busy(message: &str) -> ApiError {
        ApiError {
            retry_after: true,
            ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, message)
        }
    }

    /// 503 with `Retry-After`.
    pub fn unavailable(message: &str) -> ApiError {
        ApiError {
            retry_after: true,
            ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, message)
        }
    }

    /// The core refused the batch (nothing of it was journaled): its kind gives the status.
    pub fn refused(r: Refused) -> ApiError {
        let status = crate::ingress::refused_status(r.kind);
        ApiError {
            retry_after: status == StatusCode::SERVICE_UNAVAILABLE,
            ..ApiError::new(status, r.message)
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = axum::Json(serde_json::json!({ "error": self.message }));
        let mut r = (self.status, body).into_response();
        if self.retry_after {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_S));
        }
        r
    }
}

/// Every route of the service: exactly the routes of the API's table
/// ([`waybill_contract::http::ROUTES`], from which the OpenAPI document is made), each with the
/// handler of its operation.
pub fn router(state: Arc<AppState>) -> Router {
    let limits = &state.config.limits;
    let timeout = Duration::from_millis(limits.request_timeout_ms);
    let mut router = Router::new();
    for r in &ROUTES {
        let method = match r.method {
            Method::Get => MethodFilter::GET,
            Method::Post => MethodFilter::POST,
        };
        router = router.route(r.path, handler(method, r.operation));
    }
    router
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .with_state(state)
}

/// The handler of `operation`, for `method`.
fn handler(method: MethodFilter, operation: Operation) -> MethodRouter<Arc<AppState>> {
    use crate::{dashboard, ingress, metrics, ops, query, schemas};
    match operation {
        Operation::PostEvents => on(method, ingress::post_events),
        Operation::GetSummary => on(method, query::summary),
        Operation::GetShipment => on(method, query::shipment),
        Operation::GetShipmentHistory => on(method, query::history),
        Operation::ListDeadLetters => on(method, query::dead_letters),
        Operation::ListEffects => on(method, query::effects),
        Operation::GetOps => on(method, ops::handler),
        Operation::GetMetrics => on(method, metrics::handler),
        Operation::GetHealth => on(method, query::healthz),
        Operation::GetReady => on(method, query::readyz),
        Operation::GetDashboard => on(method, dashboard::page),
        Operation::ListSchemas => on(method, schemas::index),
        Operation::GetEventSchema => on(method, schemas::event),
        Operation::GetEventSchemaVersion => on(method, schemas::event_version),
        Operation::GetEffectSchema => on(method, schemas::effect),
        Operation::GetAsyncapi => on(method, schemas::asyncapi),
        Operation::GetOpenapi => on(method, schemas::openapi),
    }
}
