//! The Tidings streaming engine for axum: resumable, typed Server-Sent Events that any axum app
//! mounts in its own `Router`, with its own event types.
//!
//! - [`Hub`]: an event log ([`EventLog`]; the embedded [`MemoryLog`] by default) with fan-out.
//!   [`Hub::publish`] takes any [`tidings_wire::Event`]: the event's name is always `T::NAME`,
//!   the payload is serialised once, stored, numbered (`<epoch>-<seq>`) and sent to every stream
//!   of its [`Topic`].
//! - [`EventStream`] (from [`Hub::stream`]), an axum response: `retry:` and a `hello` at once,
//!   then the backlog after the client's [`LastEventId`] (or a `resync` when that id cannot be
//!   served), live events, named `heartbeat`s, and `shutdown` with a jittered `retry:` when the
//!   hub drains. No gap and no duplicate on resume. A stream that falls behind coalesces the
//!   records you call latest-value ([`HubBuilder::latest_value`]); one whose queue overflows is
//!   closed and resumes by id.
//! - [`serve`]: axum's `serve` plus a lean path for plain `GET`s, event streams above all (an
//!   idle stream costs about a seventh of hyper's memory, and a hub's writer sends each live
//!   record to the waiting streams' sockets without waking a task per stream), a write deadline
//!   on every connection, and request heads held to
//!   RFC 9112, over any axum `Listener` (TCP, unix sockets). With the feature `tls`,
//!   `Serve::tls` serves HTTPS, HTTP/2 and HTTP/1.1 by ALPN, so a browser can open more than
//!   six streams to one site. Optional: the stream works with `axum::serve` too.
//! - [`Hub::stream_from`]: a handler's own events with the same opening, heartbeats and drain;
//!   [`Hub::subscribe`]: the hub's records for another transport (axum's `Sse`, a WebSocket).
//! - Metrics through the [`metrics`](mod@crate::metrics) facade; installing a recorder is yours.
//!
//! # Topics, ids and the log: what to know
//!
//! - Ids are the log's, one sequence for every topic: a client sees how many records were
//!   published between two of its own (never what they were). Records some clients must not
//!   even count go in a hub of their own; records some clients must not see are kept from them
//!   by topic (`user:42`) or by [`EventStream::filter`].
//! - The log's capacity ([`MemoryLog::new`], or Redis's) is shared by every topic: a busy topic
//!   can push a quiet topic's records out, and a client of the quiet topic that comes back after
//!   them gets a `resync` (it reloads its state) instead of the records. Size the log for the
//!   busiest topic's rate times the longest absence you want to bridge, or give a busy topic a
//!   hub of its own.
//! - A page on another origin needs CORS on the stream's route; `EventSource` sends no
//!   preflight for a plain `GET`, but reads the answer only with `Access-Control-Allow-Origin`
//!   (and `-Credentials` with `withCredentials`). With tower-http:
//!
//! ```
//! use axum::http::{HeaderValue, Request};
//! use axum::{Router, body::Body, routing::get};
//! use tower::ServiceExt;
//! use tower_http::cors::CorsLayer;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let hub = tidings_axum::Hub::new();
//! let events = move || async move { hub.stream([tidings_axum::Topic::from_static("notes")]) };
//! let app = Router::new()
//!     .route("/events", get(events))
//!     .layer(CorsLayer::new().allow_origin(HeaderValue::from_static("https://app.example.com")));
//! let request = Request::get("/events").header("origin", "https://app.example.com");
//! let response = app.oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
//! assert_eq!(response.headers()["access-control-allow-origin"], "https://app.example.com");
//! # });
//! ```
//!
//! # A complete server
//!
//! ```no_run
//! use axum::extract::State;
//! use axum::http::StatusCode;
//! use axum::routing::{get, post};
//! use axum::{Json, Router};
//! use serde::{Deserialize, Serialize};
//! use tidings_axum::{EventStream, Hub, LastEventId};
//! use tidings_wire::{Event, Topic};
//!
//! /// The contract, shared with the browser (which listens with `source.on::<Note>(..)`).
//! #[derive(Serialize, Deserialize)]
//! struct Note {
//!     text: String,
//! }
//!
//! impl Event for Note {
//!     const NAME: &'static str = "note";
//! }
//!
//! fn notes() -> Topic {
//!     Topic::from_static("notes")
//! }
//!
//! async fn post_note(State(hub): State<Hub>, Json(note): Json<Note>) -> StatusCode {
//!     match hub.publish(&notes(), &note).await {
//!         Ok(_) => StatusCode::CREATED,
//!         Err(_) => StatusCode::SERVICE_UNAVAILABLE,
//!     }
//! }
//!
//! async fn events(State(hub): State<Hub>, last: LastEventId) -> EventStream {
//!     hub.stream([notes()]).resume(last)
//! }
//!
//! # async fn run() -> std::io::Result<()> {
//! let hub = Hub::new();
//! let app = Router::new()
//!     .route("/notes", post(post_note))
//!     .route("/notes/events", get(events))
//!     .with_state(hub.clone());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! tidings_axum::serve(listener, app)
//!     .with_graceful_shutdown(async move {
//!         let _ = tokio::signal::ctrl_c().await;
//!         hub.drain(); // every stream sends `shutdown` and ends
//!     })
//!     .await
//! # }
//! ```

mod clock;
mod deadline;
mod direct;
mod event_log;
mod frames;
mod h2_stream;
mod hand_back;
mod hint;
mod hub;
#[cfg(feature = "json-body")]
mod json_body;
mod json_error;
mod last_event_id;
mod lean;
mod live;
mod memory_log;
pub mod metrics;
mod own_stream;
#[cfg(feature = "redis")]
mod redis_log;
mod registration;
mod selection;
mod serve;
mod shared;
mod socket;
mod sse;
mod stream;
mod stream_key;
mod subscription;
#[cfg(feature = "tls")]
mod tls;

pub use event_log::{AppendError, EventLog, Record, ResumeError};
pub use hub::{Hub, HubBuilder, PublishError};
#[cfg(feature = "json-body")]
pub use json_body::{BodyError, JsonBody};
pub use last_event_id::{LastEventId, LastEventIdParam, LastEventIdRejection};
pub use memory_log::MemoryLog;
pub use own_stream::OwnStream;
#[cfg(feature = "redis")]
pub use redis_log::{RedisLog, RedisLogBuilder, RedisLogError};
pub use serve::{Serve, bind, serve};
pub use stream::EventStream;
pub use stream_key::{InvalidStreamKey, StreamKey};
pub use subscription::{Gap, Subscription};
pub use tidings_wire::{EventId, Topic};
#[cfg(feature = "tls")]
pub use tls::{Tls, TlsError};

/// The README's example, compiled as a doctest (it uses `JsonBody`).
#[doc = include_str!("../README.md")]
#[cfg(all(doctest, feature = "json-body"))]
pub struct ReadmeDoctests;
