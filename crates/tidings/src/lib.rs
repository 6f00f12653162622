//! Typed Server-Sent Events for Rust in the browser.
//!
//! `tidings` wraps the browser's native [`EventSource`](web_sys::EventSource) so that a Rust/wasm
//! app gets:
//!
//! - **typed handlers and streams**: [`EventSource::on`] decodes each event's JSON data into a
//!   contract type ([`tidings_wire::Event`]) whose name both server and client take from the
//!   same constant; [`EventSource::stream`] gives the same as a `futures::Stream`
//!   (`while let Some(tick) = ticks.next().await`), with a bounded buffer that says when a slow
//!   reader lost events ([`MessageStream`]). A bad payload is a [`DecodeError`] for that one
//!   event (with the raw text and serde's position): the connection stays open.
//! - **truthful state**: [`ConnectionState`] tells a browser that is retrying
//!   ([`Reconnecting`](ConnectionState::Reconnecting) by [`Retrier::Browser`]) from one that gave
//!   up, and says who retries next, after which delay, or why nobody will
//!   ([`CloseReason`]).
//! - **recovery**: when the browser gives up for good (a `503`, a proxy's HTML page), a
//!   supervisor re-creates the connection with exponential backoff and full jitter
//!   ([`ReconnectPolicy`]), carrying the last event id in a query parameter, so the server can
//!   resume without a gap. One `fetch` learns why the browser gave up, so `204`, `401`, `403` and
//!   `404` stop for good ([`EventSourceBuilder::classify_failures`]). The window's `online` event
//!   retries at once. A tidings server's `end` event ([`tidings_wire::End`], after a finished
//!   stream) stops it for good at once, without a reconnect ([`CloseReason::Ended`]).
//! - **a watchdog**: with [`EventSourceBuilder::heartbeat_timeout`], a connection that stays
//!   silent (no event, no heartbeat) is re-created, even when the browser believes it is open.
//! - **no leaks**: every JavaScript callback is owned by a Rust value whose `Drop` removes it.
//!   Handlers return a [`Subscription`] guard, dropping the [`EventSource`] closes the connection
//!   and removes every listener, and nothing is ever `forget`-ed. [`live_listeners`] counts them
//!   for leak tests.
//!
//! - **one connection for every tab**: with [`EventSourceBuilder::share_across_tabs`], the tabs of
//!   an origin that open the same URL share one connection (see below).
//! - **headers, tokens and POST**: with [`EventSourceBuilder::fetch`], the stream is read
//!   through `fetch` rather than the browser's `EventSource`: static headers, a header function
//!   called before every connection and reconnection (a bearer token that expires), a method and
//!   a body ([`FetchOptions`]); the same events, handlers and states, `Last-Event-ID` as a
//!   header, and a failed answer's status, headers and body known at once
//!   ([`EventSource::failed_answer`]).
//! - **hidden tabs**: with [`EventSourceBuilder::hidden_tab_policy`], a page hidden for a while
//!   closes its connection ([`ConnectionState::Hidden`]) and resumes after the last id when it
//!   is visible again.
//!
//! # Quick start
//!
//! ```no_run
//! use futures::StreamExt;
//! use serde::{Deserialize, Serialize};
//!
//! // The contract: the payload type and the name it travels under (shared with the server).
//! #[derive(Debug, Serialize, Deserialize)]
//! struct Tick {
//!     seq: u64,
//!     value: f64,
//! }
//! impl tidings_wire::Event for Tick {
//!     const NAME: &'static str = "tick";
//! }
//!
//! let source = tidings::EventSource::new("/api/events")?;
//! let mut ticks = source.stream::<Tick>();
//! wasm_bindgen_futures::spawn_local(async move {
//!     while let Some(tick) = ticks.next().await {
//!         match tick {
//!             Ok(tick) => web_sys::console::log_1(&format!("{}: {}", tick.data.seq, tick.data.value).into()),
//!             Err(skipped) => web_sys::console::warn_1(&skipped.to_string().into()),
//!         }
//!     }
//!     drop(source); // the stream ended: the source closed for good
//! });
//! # Ok::<(), tidings::Error>(())
//! ```
//!
//! # Handlers, state and recovery
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use serde::{Deserialize, Serialize};
//! use tidings::{CloseReason, ConnectionState, EventSource, ReconnectPolicy, Retrier};
//!
//! /// The contract: a payload type and the event name it travels under, shared with the server.
//! #[derive(Debug, Serialize, Deserialize)]
//! struct Comment {
//!     author: String,
//!     text: String,
//! }
//!
//! impl tidings_wire::Event for Comment {
//!     const NAME: &'static str = "comment";
//! }
//!
//! fn log(text: &str) {
//!     web_sys::console::log_1(&text.into());
//! }
//!
//! let source = EventSource::builder("/api/events")
//!     .reconnect(ReconnectPolicy::default().max_delay(Duration::from_secs(20)))
//!     .heartbeat_timeout(Duration::from_secs(45))
//!     .open()?;
//!
//! let comments = source.on::<Comment>(|received| match received {
//!     Ok(message) => log(&format!("{} says {} (id {})", message.data.author, message.data.text, message.last_event_id())),
//!     // The raw text is in the error: nothing the server sent is lost.
//!     Err(error) => log(&format!("skipped: {error}")),
//! });
//! let ticks = source.on_message::<serde_json::Value>(|received| {
//!     if let Ok(message) = received {
//!         log(&format!("tick {}", message.data));
//!     }
//! });
//! let states = source.on_state(|state| match state {
//!     ConnectionState::Reconnecting { attempt, by: Retrier::Library { delay } } => {
//!         log(&format!("attempt {attempt} in {} ms", delay.as_millis()));
//!     }
//!     ConnectionState::Closed(CloseReason::Fatal { status: Some(401) }) => log("please sign in"),
//!     other => log(&other.to_string()),
//! });
//!
//! // Keep `source` and the guards alive as long as you want events: dropping a guard removes its
//! // handler; dropping `source` closes the connection and removes everything.
//! # drop((comments, ticks, states));
//! # Ok::<(), tidings::Error>(())
//! ```
//!
//! # Sharing one connection across tabs
//!
//! With [`share_across_tabs`](EventSourceBuilder::share_across_tabs), every tab that opens the
//! same absolute URL with the same credentials mode joins a group:
//!
//! - **The leader** holds a Web Lock named after the URL and has the browser's `EventSource`,
//!   with the supervisor, the watchdog and classification as always. It listens to every event
//!   name some tab of the group listens to, and relays each event (name, data, id in force,
//!   origin) to the others through a `BroadcastChannel`, one message per batch of events. It
//!   tells them its [`ConnectionState`].
//! - **Followers** wait for the lock. Their handlers get the relayed events as from a source of
//!   their own (a `MessageEvent` with the same data, id and origin), a decode error stays in the
//!   tab whose type did not match, and their state is the leader's. They say which names they
//!   listen to whenever that changes.
//! - **Hand-over**: when the leader's tab closes, crashes or drops its source, or calls
//!   [`close`](EventSource::close), the browser gives the lock to the next tab, which opens the
//!   stream after the last id *it* dispatched (followers track every relayed event's id). Every
//!   tab remembers the last 1,024 ids it dispatched and drops an event with one of them, so what
//!   the new leader's stream repeats is not dispatched twice; an event without an `id:` line of
//!   its own (a heartbeat: it keeps the previous id) is never taken for a repeat. `close` in a
//!   follower leaves only that tab.
//! - **Joining after an id**: a tab that opens with an initial id (a snapshot's), or that
//!   tidings-leptos re-opens with the id it had, holds relayed events back and asks the leader for
//!   the events since that id; every tab keeps the last 512 relayed events for this (and the id
//!   its leadership started from). An id the leader has not relayed yet is awaited: the events
//!   held back up to it are dropped when it comes. If the leader no longer has the events, did
//!   not listen to a name the tab listens to, or no leader answers within 2 s, the tab connects
//!   by itself ([`TabRole::Alone`]): one connection more, nothing lost.
//! - **The end** reads the same everywhere: `end`, a `204`, a fatal answer or the attempt limit in the
//!   leader closes every follower with the same [`CloseReason`] (the leader keeps the lock
//!   200 ms more, so that no tab takes it and connects again before it has heard).
//! - [`EventSource::sharing`] and [`EventSource::on_sharing`] say whether this tab leads or
//!   follows and how many tabs share (counted by the lock manager: the holder and those waiting).
//!   A follower has no browser source ([`EventSource::as_raw`] is `None`).
//! - **Fallback**: without the Web Locks API or `BroadcastChannel` (an old browser, or a page that
//!   is not a secure context), each tab connects by itself and reads [`TabRole::Unsupported`].
//!
//! Ids make the guarantees: a stream without ids can be shared, but a hand-over may then repeat
//! or skip what the server does on a reconnect without an id. Ids of the form `<epoch>-<seq>`
//! (what tidings servers send) are also ordered: a tab drops any event at or before the latest
//! id it has or started from (a snapshot's id, even one of a topic this stream does not carry),
//! and a leader answers a tab that joins after such an id with the events after it. Other ids
//! are compared for equality only.
//!
//! # What the browser's `EventSource` cannot tell
//!
//! Its `error` event carries no status, no headers and no reason; its `retry:` hint and its
//! reconnect timer are not visible; it only reports events of names the page listens to. So
//! [`Retrier::Browser`] has no delay, the status of a failure comes from a second request
//! ([`EventSourceBuilder::classify_failures`]), and [`EventSource::last_event_id`] is the id of
//! the latest event with a handler. A CORS refusal looks like a network failure. A re-created
//! source reports an empty id until the server sends one, so an empty `id:` that resets the id in
//! a re-created source, before any other id, reads as "no id yet": the carried id stays in force
//! (a later resume may then repeat events, never lose them).
//!
//! Browsers also differ where the page cannot correct them. Firefox (tested: the ESR of these
//! machines) does not let a block holding only `id:` set the last event id, and drops a whole
//! event whose `id:` contains a NUL, where Chrome follows the specification (keeps the old id).
//! The browser tests pin both behaviours.

mod builder;
mod classify;
mod decode;
mod driver;
mod error;
mod event_stream;
mod failed_answer;
mod fetch;
mod group;
mod hidden;
mod last_id;
mod listener;
mod message;
mod options;
mod policy;
mod registry;
mod sharing;
mod source;
mod state;
mod stream;
mod subscription;
mod supervisor;
mod tabs;
mod tap;
mod transport;
mod url;
mod watchdog;

pub use builder::EventSourceBuilder;
pub use error::{DecodeError, Error};
pub use failed_answer::FailedAnswer;
pub use fetch::FetchOptions;
pub use hidden::HiddenTabPolicy;
pub use listener::live_listeners;
pub use message::Message;
pub use policy::ReconnectPolicy;
pub use sharing::{Sharing, TabRole};
pub use source::EventSource;
pub use state::{CloseReason, ConnectionState, Retrier};
pub use stream::{DEFAULT_CAPACITY, MessageStream, StateStream, StreamError};
pub use subscription::Subscription;

/// The README's example, compiled as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
