//! Closing streams, so the demo can show reconnect and resume:
//! - `POST /api/streams/drop {"stream": key}` closes the one stream whose `hello` carried `key`.
//!   Only that stream's page has the key (128 random bits), so it is the right to close that
//!   stream and no other; no admin needed.
//! - `POST /api/admin/drop` closes every stream. It needs `Authorization: Bearer <token>`, the
//!   token printed when the server starts (128 bits from the operating system's random source,
//!   compared in constant time). Coming from loopback grants nothing: behind a proxy on the same
//!   host, every request does.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use subtle::ConstantTimeEq;
use tidings_demo_events::DropRequest;

use crate::bearer::bearer;
use crate::json_body::ValidJson;
use crate::{ApiError, AppState};

/// Whether the request carries the admin token.
fn has_token(state: &AppState, request: &Request) -> bool {
    let sent = bearer(request.headers());
    sent.is_some_and(|sent| bool::from(sent.as_bytes().ct_eq(state.admin_token().as_bytes())))
}

/// Refuses admin requests without the token.
pub(crate) async fn guard(
    State(state): State<AppState>,
    request: Request,
    next: axum::middleware::Next,
) -> Result<axum::response::Response, ApiError> {
    if has_token(&state, &request) { Ok(next.run(request).await) } else { Err(ApiError::Forbidden) }
}

/// `POST /api/admin/drop`: every stream.
pub(crate) async fn drop_all(State(state): State<AppState>) -> StatusCode {
    tracing::info!("dropping every stream on request");
    state.hub().close_all_streams();
    StatusCode::NO_CONTENT
}

/// `POST /api/streams/drop {"stream": key}`: the stream of that key.
pub(crate) async fn drop_stream(
    State(state): State<AppState>,
    ValidJson(request): ValidJson<DropRequest>,
) -> Result<StatusCode, ApiError> {
    let key = request.stream.parse::<tidings_axum::StreamKey>();
    if key.is_ok_and(|key| state.hub().close_stream(key)) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NoSuchStream)
    }
}
