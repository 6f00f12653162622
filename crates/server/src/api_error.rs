use axum::Json;
use axum::http::header::{RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode, Uri};
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
    /// The body is larger than the limit.
    #[error("the body is larger than {limit} bytes")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body is not `application/json`.
    #[error("the body must be JSON, sent with `Content-Type: application/json`")]
    UnsupportedMediaType,
    /// The body is not valid JSON.
    #[error("{detail}")]
    MalformedJson {
        /// Where and why parsing failed.
        detail: String,
    },
    /// The body is JSON of the wrong shape: unknown or missing fields, wrong types.
    #[error("{detail}")]
    InvalidBody {
        /// What does not fit.
        detail: String,
    },
    /// A field's value is not acceptable.
    #[error(transparent)]
    InvalidField(#[from] tidings_demo_events::ValidationError),
    /// A limit on stored things (boards, tasks, jobs) is reached.
    #[error("{detail}")]
    LimitReached {
        /// Which limit.
        detail: String,
    },
    /// The board has no task with this id.
    #[error("board {board} has no task {id}")]
    NoSuchTask {
        /// The board's id.
        board: String,
        /// The id asked for, cut to 40 characters.
        id: String,
    },
    /// There is no job with this id.
    #[error("there is no job {id}")]
    NoSuchJob {
        /// The id asked for.
        id: String,
    },
    /// Too many requests from this client: try again after `retry_after_secs`.
    #[error("too many requests; try again in {retry_after_secs} s")]
    TooManyRequests {
        /// Sent as `Retry-After`.
        retry_after_secs: u64,
    },
    /// A stream that needs a token, asked without it or with another: `401` with
    /// `WWW-Authenticate: Bearer`.
    #[error("{detail}")]
    Unauthorized {
        /// Which token the stream needs.
        detail: String,
    },
    /// An admin route, asked without the right `Authorization: Bearer <token>`.
    #[error(
        "admin routes need `Authorization: Bearer <token>`, with the token the server printed at start"
    )]
    Forbidden,
    /// No open stream has this key.
    #[error("no open stream has this key")]
    NoSuchStream,
    /// The event log cannot store or read anything now; nothing was stored. Sent with
    /// `Retry-After: 1`: a client that reads it (tidings's fetch transport, for a job's stream)
    /// waits and tries again rather than giving up.
    #[error("{detail}")]
    Unavailable {
        /// What is unavailable.
        detail: String,
    },
    /// Something failed inside the server; the detail is logged, never sent.
    #[error("internal error")]
    Internal(String),
    /// No API route has this path.
    #[error("no API route at {path}")]
    NotFound {
        /// The path that was asked for.
        path: String,
    },
}

/// How long a client is asked to wait after a `503` of the event log (about a restart of its
/// store).
pub(crate) const UNAVAILABLE_RETRY_SECS: u64 = 1;

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } | Self::MalformedJson { .. } => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::InvalidBody { .. } | Self::InvalidField(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::LimitReached { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::NoSuchTask { .. } | Self::NoSuchJob { .. } | Self::NoSuchStream => {
                StatusCode::NOT_FOUND
            }
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::NotFound { .. } => StatusCode::NOT_FOUND,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::BadRequest { code, .. } => code,
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::MalformedJson { .. } => "malformed_json",
            Self::InvalidBody { .. } => "invalid_body",
            Self::InvalidField(_) => "invalid_field",
            Self::LimitReached { .. } => "limit_reached",
            Self::NoSuchTask { .. } => "task_not_found",
            Self::NoSuchJob { .. } => "job_not_found",
            Self::NoSuchStream => "stream_not_found",
            Self::Unavailable { .. } => "unavailable",
            Self::Unauthorized { .. } => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::TooManyRequests { .. } => "too_many_requests",
            Self::Internal(_) => "internal",
            Self::NotFound { .. } => "not_found",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let Self::Internal(internal) = &self {
            // Internals go to the log, never to the client.
            tracing::error!(error = %internal, "request failed");
        }
        let mut body = json!({ "error": self.code(), "detail": self.to_string() });
        if let Self::InvalidField(error) = &self {
            body["field"] = error.field.into();
        }
        let mut response = (status, Json(body)).into_response();
        match self {
            Self::TooManyRequests { retry_after_secs } => {
                response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(retry_after_secs));
            }
            Self::Unauthorized { .. } => {
                response.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Self::Unavailable { .. } => {
                let after = HeaderValue::from(UNAVAILABLE_RETRY_SECS);
                response.headers_mut().insert(RETRY_AFTER, after);
            }
            _ => {}
        }
        response
    }
}

/// Answers every `/api/...` path that no route serves, so API typos get a JSON 404 instead of
/// the app's `index.html`.
pub(crate) async fn not_found(uri: Uri) -> ApiError {
    ApiError::NotFound { path: uri.path().chars().take(200).collect() }
}

impl From<tidings_axum::PublishError> for ApiError {
    fn from(error: tidings_axum::PublishError) -> Self {
        match error {
            tidings_axum::PublishError::Serialize(error) => {
                Self::Internal(format!("cannot serialise an event: {error}"))
            }
            tidings_axum::PublishError::Append(error) => {
                Self::Unavailable { detail: error.to_string() }
            }
        }
    }
}
