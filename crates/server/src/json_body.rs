//! `ValidJson<T>`: a JSON body, or an [`ApiError`] that says what is wrong with it.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::ApiError;

/// The largest request body accepted, in bytes.
pub(crate) const BODY_LIMIT: usize = 16 * 1024;

/// Like [`axum::Json`], but every failure is a JSON [`ApiError`]: too large (413), not
/// `application/json` (415), not JSON (400), not the expected shape: unknown or missing fields,
/// wrong types (422).
pub(crate) struct ValidJson<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ValidJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(from_rejection(&rejection)),
        }
    }
}

fn from_rejection(rejection: &JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType,
        JsonRejection::JsonSyntaxError(error) => {
            ApiError::MalformedJson { detail: error.body_text() }
        }
        JsonRejection::JsonDataError(error) => ApiError::InvalidBody { detail: error.body_text() },
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::PayloadTooLarge { limit: BODY_LIMIT }
        }
        other => ApiError::BadRequest { code: "unreadable_body", detail: other.body_text() },
    }
}
