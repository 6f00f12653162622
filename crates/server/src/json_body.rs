//! `ValidJson<T>`: the engine's [`tidings_axum::JsonBody`], its refusals as the demo's
//! [`ApiError`]s (the same codes).

use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;
use tidings_axum::{BodyError, JsonBody};

use crate::ApiError;

/// The largest request body accepted, in bytes.
pub(crate) const BODY_LIMIT: usize = 16 * 1024;

/// A JSON body; every failure a JSON [`ApiError`]: too large (413), not `application/json`
/// (415), not JSON (400), not the expected shape: unknown or missing fields, wrong types (422).
pub(crate) struct ValidJson<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ValidJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match JsonBody::<T>::from_request(request, state).await {
            Ok(JsonBody(value)) => Ok(Self(value)),
            Err(error) => Err(match error {
                BodyError::TooLarge => ApiError::PayloadTooLarge { limit: BODY_LIMIT },
                BodyError::UnsupportedMediaType => ApiError::UnsupportedMediaType,
                BodyError::Malformed { detail } => ApiError::MalformedJson { detail },
                BodyError::Invalid { detail } => ApiError::InvalidBody { detail },
                BodyError::Unreadable { detail } => {
                    ApiError::BadRequest { code: "unreadable_body", detail }
                }
            }),
        }
    }
}
