//! The metrics the engine records, through the [`metrics`] facade only: install a recorder (a
//! Prometheus exporter, say) in your application to see them; without one they cost next to
//! nothing.
//!
//! # Examples
//!
//! ```
//! assert_eq!(tidings_axum::metrics::CLIENTS_CONNECTED, "tidings_clients_connected");
//! ```

/// Open streams (a gauge).
pub const CLIENTS_CONNECTED: &str = "tidings_clients_connected";
/// Events appended to the log through [`Hub::publish`](crate::Hub::publish).
pub const EVENTS_PUBLISHED: &str = "tidings_events_published_total";
/// Event frames written to streams, replayed and live.
pub const EVENTS_DELIVERED: &str = "tidings_events_delivered_total";
/// Events sent from the log to resuming clients.
pub const EVENTS_REPLAYED: &str = "tidings_events_replayed_total";
/// `resync` events sent, labelled by `reason`.
pub const RESYNCS: &str = "tidings_resyncs_total";
/// Streams closed because they fell behind (the queue overflowed, or writes stayed blocked past
/// the deadline).
pub const CLIENTS_DROPPED_SLOW: &str = "tidings_clients_dropped_slow_total";
/// Latest-value events a slow stream skipped because a newer one of the same kind followed.
pub const EVENTS_COALESCED: &str = "tidings_events_coalesced_total";
/// Connections accepted by [`serve`](crate::serve).
pub const CONNECTIONS_ACCEPTED: &str = "tidings_connections_accepted_total";
/// Times [`serve`](crate::serve) handed a connection to hyper: for a request that is not an
/// event stream (a plain request without a body is answered by hyper alone and the connection
/// handed back, so a connection kept alive through several counts once for each).
pub const CONNECTIONS_TO_HYPER: &str = "tidings_connections_to_hyper_total";
/// How many records waited in a stream's queue when it woke for a live record (a histogram; one
/// sample per wake-up, whatever the number of records it then wrote together). A stream the
/// hub's writers write to while it waits (on the lean path) does not wake for its records and
/// is not sampled: it has none waiting.
pub const QUEUE_DEPTH: &str = "tidings_stream_queue_depth";
/// TLS handshakes that failed or did not finish within the head timeout (feature `tls`).
pub const TLS_HANDSHAKES_FAILED: &str = "tidings_tls_handshakes_failed_total";
/// Plaintext requests on a TLS port, answered `400` (feature `tls`).
pub const TLS_PLAINTEXT_REFUSED: &str = "tidings_tls_plaintext_refused_total";
