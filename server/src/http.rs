//! The router, the state every handler shares, and the errors handlers answer with.

use crate::auth::Tokens;
use crate::config::ServeConfig;
use crate::metrics::Metrics;
use crate::writer::{Refused, Writer};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

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

/// Every route of the service.
pub fn router(state: Arc<AppState>) -> Router {
    let limits = &state.config.limits;
    let timeout = Duration::from_millis(limits.request_timeout_ms);
    Router::new()
        .route("/v1/events", post(crate::ingress::post_events))
        .route("/v1/summary", get(crate::query::summary))
        .route("/v1/shipments/{id}", get(crate::query::shipment))
        .route("/v1/shipments/{id}/history", get(crate::query::history))
        .route("/v1/dead-letters", get(crate::query::dead_letters))
        .route("/v1/effects", get(crate::query::effects))
        .route("/metrics", get(crate::metrics::handler))
        .route("/v1/ops", get(crate::ops::handler))
        .route("/healthz", get(crate::query::healthz))
        .route("/readyz", get(crate::query::readyz))
        .route("/", get(crate::dashboard::page))
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .with_state(state)
}
