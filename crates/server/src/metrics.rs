//! `GET /metrics` in the Prometheus text format. The engine records through the `metrics`
//! facade (its names are in `tidings_axum::metrics`); installing a recorder is this
//! application's choice, made once per process: several servers in one process (tests) share
//! it.

use std::sync::OnceLock;

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!(
                "another metrics recorder is installed; /metrics shows only what reaches this one"
            );
        }
        handle
    })
}

/// Installs the recorder (idempotent), so counts start at the server's start.
/// Installs the recorder (once), and keeps its histograms drained: without a scrape, the
/// recorder keeps every sample until the next upkeep (the exporter's `build_recorder` spawns no
/// upkeep task: a server nobody scrapes would grow by every queue-depth sample). Called from
/// the runtime.
pub(crate) fn install() {
    static UPKEEP: OnceLock<()> = OnceLock::new();
    let handle = handle();
    UPKEEP.get_or_init(|| {
        tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(5));
            loop {
                every.tick().await;
                handle.run_upkeep();
            }
        });
    });
}

/// `GET /metrics`.
pub(crate) async fn render() -> impl IntoResponse {
    ([(CONTENT_TYPE, "text/plain; version=0.0.4")], handle().render())
}
