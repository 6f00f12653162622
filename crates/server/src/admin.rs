//! `POST /api/admin/drop`: closes every stream, or one client's, so the demo can show reconnect
//! and resume. Allowed from loopback, or with `Authorization: Bearer <token>` (the token is
//! printed when the server starts).

use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use tidings_demo_events::DropRequest;

use crate::connections::Peer;
use crate::json_body::ValidJson;
use crate::state::DropOrder;
use crate::{ApiError, AppState};

/// Whether the request may use admin routes: from a loopback address, or with the token.
pub(crate) fn is_allowed(state: &AppState, request: &Request) -> bool {
    let from_loopback = request
        .extensions()
        .get::<ConnectInfo<Peer>>()
        .is_some_and(|ConnectInfo(Peer(peer))| peer.ip().is_loopback());
    let token = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    from_loopback || token == Some(state.admin_token())
}

/// Refuses admin requests that are neither from loopback nor carry the token.
pub(crate) async fn guard(
    State(state): State<AppState>,
    request: Request,
    next: axum::middleware::Next,
) -> Result<axum::response::Response, ApiError> {
    if is_allowed(&state, &request) {
        Ok(next.run(request).await)
    } else {
        Err(ApiError::Forbidden)
    }
}

pub(crate) async fn drop_streams(
    State(state): State<AppState>,
    ValidJson(request): ValidJson<DropRequest>,
) -> StatusCode {
    let order = request.client.map_or(DropOrder::All, DropOrder::Client);
    tracing::info!(?order, "dropping streams on request");
    // No stream open is not an error.
    let _ = state.drops().send(order);
    StatusCode::NO_CONTENT
}
