use axum::Json;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An API request that failed, answered as JSON `{ "error": <code>, "detail": <text> }`.
///
/// ```
/// use axum::response::IntoResponse;
/// use tidings_server::ApiError;
///
/// let response = ApiError::NotFound { path: "/api/nope".into() }.into_response();
/// assert_eq!(response.status(), axum::http::StatusCode::NOT_FOUND);
/// ```
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed: a bad query string or parameter.
    #[error("{detail}")]
    BadRequest {
        /// A stable, machine-readable code, e.g. `invalid_topics`.
        code: &'static str,
        /// What is wrong, for a person.
        detail: String,
    },
    /// No API route has this path.
    #[error("no API route at {path}")]
    NotFound {
        /// The path that was asked for.
        path: String,
    },
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::NotFound { .. } => StatusCode::NOT_FOUND,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::BadRequest { code, .. } => code,
            Self::NotFound { .. } => "not_found",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            // Internals go to the log, never to the client.
            tracing::error!(error = %self, "request failed");
        }
        let body = json!({ "error": self.code(), "detail": self.to_string() });
        (status, Json(body)).into_response()
    }
}

/// Answers every `/api/...` path that no route serves, so API typos get a JSON 404 instead of
/// the app's `index.html`.
pub(crate) async fn not_found(uri: Uri) -> ApiError {
    ApiError::NotFound { path: uri.path().chars().take(200).collect() }
}
