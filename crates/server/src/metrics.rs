//! `GET /metrics` in the Prometheus text format, and the names recorded.
//!
//! One recorder per process (the `metrics` facade is global): several servers in one process
//! (tests) share the counters.

use std::sync::OnceLock;

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// Open streams.
pub(crate) const CLIENTS_CONNECTED: &str = "tidings_clients_connected";
/// Events appended to the log.
pub(crate) const EVENTS_PUBLISHED: &str = "tidings_events_published_total";
/// Event frames written to streams (replayed and live).
pub(crate) const EVENTS_DELIVERED: &str = "tidings_events_delivered_total";
/// Events sent from the log to resuming clients.
pub(crate) const EVENTS_REPLAYED: &str = "tidings_events_replayed_total";
/// `resync` events sent, by reason.
pub(crate) const RESYNCS: &str = "tidings_resyncs_total";
/// Streams closed because they fell behind.
pub(crate) const CLIENTS_DROPPED_SLOW: &str = "tidings_clients_dropped_slow_total";
/// Latest-value events a slow stream skipped because a newer one of the same kind followed.
pub(crate) const EVENTS_COALESCED: &str = "tidings_events_coalesced_total";
/// Connections accepted.
pub(crate) const CONNECTIONS_ACCEPTED: &str = "tidings_connections_accepted_total";
/// Connections handed to hyper: a request the lean connection layer does not answer.
pub(crate) const CONNECTIONS_TO_HYPER: &str = "tidings_connections_to_hyper_total";
/// How many records waited in a stream's queue when it took the next one.
pub(crate) const QUEUE_DEPTH: &str = "tidings_stream_queue_depth";

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
pub(crate) fn install() {
    handle();
}

/// `GET /metrics`.
pub(crate) async fn render() -> impl IntoResponse {
    ([(CONTENT_TYPE, "text/plain; version=0.0.4")], handle().render())
}
