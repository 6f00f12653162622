//! `GET /healthz`: whether the server is up, for load balancers and the xtask.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;

use crate::AppState;

#[derive(Serialize)]
pub(crate) struct Health {
    status: &'static str,
    version: &'static str,
    epoch: u64,
    /// This node's id among the servers sharing one log.
    node: String,
    /// Whether this node leads them (runs the ticker, publishes presence).
    leads: bool,
}

/// `200 {"status":"ok"}`, or `503 {"status":"unavailable"}` while the event log's store (Redis)
/// does not answer: a load balancer then sends clients elsewhere.
pub(crate) async fn check(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let available = state.hub().log().is_available();
    let status = if available { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let health = Health {
        status: if available { "ok" } else { "unavailable" },
        version: env!("CARGO_PKG_VERSION"),
        epoch: state.hub().log().epoch(),
        node: state.node().to_owned(),
        leads: state.projection().view().members.leads(),
    };
    (status, Json(health))
}
