//! `GET /`: the operations dashboard, one self-contained page (`dashboard.html`: inline CSS,
//! script and SVG). It reads `/v1/summary` and `/v1/ops` of the same origin every 2 s and
//! inserts text from events only as text, never as markup.

use axum::response::Html;

/// The page (no external resource: it reads the JSON endpoints of the same origin).
pub async fn page() -> Html<&'static str> {
    Html(include_str!("dashboard.html"))
}
