//! `GET /healthz`: whether the server is up, for load balancers and the xtask.

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use crate::AppState;

#[derive(Serialize)]
pub(crate) struct Health {
    status: &'static str,
    version: &'static str,
    epoch: u64,
}

pub(crate) async fn check(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
        epoch: state.hub().log().epoch(),
    })
}
