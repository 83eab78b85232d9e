//! `GET /`: the operations dashboard, one self-contained page.

use axum::response::Html;

/// The page (no external resource: it reads the JSON endpoints of the same origin).
pub async fn page() -> Html<&'static str> {
    Html(include_str!("dashboard.html"))
}
