//! `JsonBody<T>`: a JSON request body, or a JSON error that says what is wrong with it (feature
//! `json-body`).

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use crate::json_error::json_error;

/// Like [`axum::Json`], but every failure is answered as JSON `{"error": code, "detail": text}`
/// with a fitting status, like the rest of this crate's answers: too large (`413`, `payload_too_large`; the limit is axum's
/// `DefaultBodyLimit`), not `application/json` (`415`, `unsupported_media_type`), not JSON
/// (`400`, `malformed_json`), JSON of the wrong shape: unknown (with `deny_unknown_fields`),
/// missing or mistyped fields (`422`, `invalid_body`). For the routes that publish events: a bad
/// body is refused before anything is stored.
///
/// Behind the feature `json-body` (off by default): it is not streaming, and an app with its own
/// body handling should not carry it; it is here because an app that publishes what clients post
/// wants its bad bodies answered in the same JSON as the engine's other refusals.
///
/// # Examples
///
/// ```
/// use axum::http::StatusCode;
/// use tidings_axum::JsonBody;
///
/// #[derive(serde::Deserialize)]
/// #[serde(deny_unknown_fields)]
/// struct NewNote {
///     text: String,
/// }
///
/// async fn post_note(JsonBody(note): JsonBody<NewNote>) -> StatusCode {
///     let _ = note.text;
///     StatusCode::CREATED
/// }
/// # let _ = axum::Router::<()>::new().route("/notes", axum::routing::post(post_note));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = BodyError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(BodyError::from(&rejection)),
        }
    }
}

/// Why [`JsonBody`] refused a body; answered as JSON `{"error": code, "detail": text}`.
///
/// # Examples
///
/// ```
/// use axum::response::IntoResponse;
/// let response = tidings_axum::BodyError::UnsupportedMediaType.into_response();
/// assert_eq!(response.status(), 415);
/// assert_eq!(tidings_axum::BodyError::TooLarge.code(), "payload_too_large");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// Larger than the body limit.
    #[error("the body is larger than the limit")]
    TooLarge,
    /// Not sent as `application/json`.
    #[error("the body must be JSON, sent with `Content-Type: application/json`")]
    UnsupportedMediaType,
    /// Not JSON.
    #[error("{detail}")]
    Malformed {
        /// Where and why parsing failed.
        detail: String,
    },
    /// JSON of the wrong shape: unknown, missing or mistyped fields.
    #[error("{detail}")]
    Invalid {
        /// What does not fit.
        detail: String,
    },
    /// The body could not be read (the client went away mid-body, say).
    #[error("{detail}")]
    Unreadable {
        /// What failed.
        detail: String,
    },
}

impl BodyError {
    /// The status it is answered with.
    ///
    /// # Examples
    ///
    /// ```
    /// let error = tidings_axum::BodyError::Invalid { detail: "missing field `text`".into() };
    /// assert_eq!(error.status(), axum::http::StatusCode::UNPROCESSABLE_ENTITY);
    /// ```
    pub fn status(&self) -> StatusCode {
        match self {
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Malformed { .. } | Self::Unreadable { .. } => StatusCode::BAD_REQUEST,
            Self::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    /// A stable, machine-readable code: `payload_too_large`, `unsupported_media_type`,
    /// `malformed_json`, `invalid_body` or `unreadable_body`.
    ///
    /// # Examples
    ///
    /// ```
    /// let error = tidings_axum::BodyError::Malformed { detail: "EOF".into() };
    /// assert_eq!(error.code(), "malformed_json");
    /// ```
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::Malformed { .. } => "malformed_json",
            Self::Invalid { .. } => "invalid_body",
            Self::Unreadable { .. } => "unreadable_body",
        }
    }
}

impl From<&JsonRejection> for BodyError {
    fn from(rejection: &JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => Self::UnsupportedMediaType,
            JsonRejection::JsonSyntaxError(error) => Self::Malformed { detail: error.body_text() },
            JsonRejection::JsonDataError(error) => Self::Invalid { detail: error.body_text() },
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => Self::TooLarge,
            other => Self::Unreadable { detail: other.body_text() },
        }
    }
}

impl IntoResponse for BodyError {
    fn into_response(self) -> Response {
        json_error(self.status(), self.code(), &self.to_string())
    }
}
