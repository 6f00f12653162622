//! The crate's answers as JSON, `{"error": <code>, "detail": <text>}`: a failed publish, a
//! refused last-event-id, a refused body.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// `{"error": code, "detail": detail}` with `status`.
pub(crate) fn json_error(status: StatusCode, code: &str, detail: &str) -> Response {
    (status, Json(serde_json::json!({ "error": code, "detail": detail }))).into_response()
}
