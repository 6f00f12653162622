//! Server-Sent Events as Leptos readers and signals, built on [`tidings`].
//!
//! [`use_event_source`] gives a [`UseEventSource`]: tracked readers of the connection state (the
//! truthful [`tidings::ConnectionState`], [`Idle`](tidings::ConnectionState::Idle) until
//! something connects), whether it is open, the last event id, the last error, the reconnect
//! count and the time of the last event (each returns the value and subscribes the reactive
//! closure that calls it); actions to open, close and reconnect (both resume after the last
//! event seen); and typed values: [`latest`](UseEventSource::latest) (a signal of the most
//! recent `T`), [`last_n`](UseEventSource::last_n) (a signal of a bounded history),
//! [`on`](UseEventSource::on) and [`on_named`](UseEventSource::on_named) (side effects, the
//! latter for types outside a tidings contract).
//!
//! Everything is tied to the reactive owner that asked for it. When a component unmounts, its
//! handlers are removed; its connection closes unless another component shares it through
//! [`provide_event_sources`], which keeps one `EventSource` per URL (and options) for any
//! number of components. Handlers live in the connection, not in the browser's object, so
//! nothing is added or forgotten across reconnects. The URL may be a signal: when it changes,
//! the handlers move to the new connection (only a page that passes a signal links that code,
//! see [`EventSourceUrl`]).
//!
//! Across tabs: with [`UseEventSourceOptions::share_across_tabs`], the tabs of the origin share
//! one connection per URL (one tab leads and relays, the others follow; see
//! [`tidings::EventSourceBuilder::share_across_tabs`]), and
//! [`sharing`](UseEventSource::sharing) says which this tab is and how many tabs share. Re-opened
//! after [`close`](UseEventSource::close), a tab asks the leader for the events it missed.
//!
//! An event costs only what its handlers do: the last id and time are read from the browser's
//! event when a reader asks, not at every event.
//!
//! Outside a browser (server-side rendering, native tests) nothing connects and the readers
//! keep their defaults.
//!
//! The crate re-exports [`tidings`] and [`tidings_wire`], and at its root the types its API
//! takes and returns ([`ConnectionState`], [`FetchOptions`], [`HiddenTabPolicy`],
//! [`ReconnectPolicy`], [`Event`], …), so a Leptos app needs no other crate of the family at a
//! matching version. [`Event`] is `tidings_wire::Event`: a contract crate shared with the
//! server names it there.
//!
//! # A complete example
//!
//! ```no_run
//! use leptos::prelude::*;
//! use serde::{Deserialize, Serialize};
//! use tidings_leptos::{provide_event_sources, use_event_source};
//!
//! // The contract, shared with the server: a payload type per event name.
//! #[derive(Clone, Serialize, Deserialize)]
//! struct Tick {
//!     seq: u64,
//!     value: f64,
//! }
//! impl tidings_leptos::Event for Tick {
//!     const NAME: &'static str = "tick";
//! }
//!
//! #[derive(Clone, Serialize, Deserialize)]
//! struct Comment {
//!     author: String,
//!     text: String,
//! }
//! impl tidings_leptos::Event for Comment {
//!     const NAME: &'static str = "comment";
//! }
//!
//! #[component]
//! fn App() -> impl IntoView {
//!     // Every component below shares one connection per URL.
//!     provide_event_sources();
//!     view! { <Status/> <Ticker/> <Feed/> }
//! }
//!
//! #[component]
//! fn Status() -> impl IntoView {
//!     let stream = use_event_source("/api/events");
//!     view! {
//!         <p class=move || stream.state().name()>{move || stream.state().to_string()}</p>
//!         <p>"Last id: " {move || stream.last_event_id()} ", reconnects: " {move || stream.reconnect_count()}</p>
//!         <button on:click=move |_| stream.reconnect()>"Reconnect"</button>
//!     }
//! }
//!
//! #[component]
//! fn Ticker() -> impl IntoView {
//!     let tick = use_event_source("/api/events").latest::<Tick>();
//!     view! { <p>"Value: " {move || tick.get().map(|tick| tick.value)}</p> }
//! }
//!
//! #[component]
//! fn Feed() -> impl IntoView {
//!     let comments = use_event_source("/api/events").last_n::<Comment>(50);
//!     view! {
//!         <ul>
//!             {move || comments.get().into_iter().rev().map(|comment| view! { <li>{comment.author} ": " {comment.text}</li> }).collect_view()}
//!         </ul>
//!     }
//! }
//! ```

mod batch;
mod connection;
mod error;
mod options;
mod registry;
mod status;
mod url;
mod use_event_source;

pub use error::Error;
pub use options::UseEventSourceOptions;
pub use registry::provide_event_sources;
pub use url::EventSourceUrl;
pub use use_event_source::{UseEventSource, use_event_source, use_event_source_with_options};

/// The browser bindings this crate is built on, for what it does not re-export: the same
/// version as this crate's, so their types are the ones its API takes and returns.
pub use tidings;
/// The contract's vocabulary: [`Event`] ties a payload type to its event name.
pub use tidings_wire;
// What the readers return and the options take, so that an app needs no other dependency.
#[doc(no_inline)]
pub use tidings::{
    CloseReason, ConnectionState, FailedAnswer, FetchOptions, HiddenTabPolicy, Message,
    ReconnectPolicy, Retrier, Sharing, TabRole,
};
#[doc(no_inline)]
pub use tidings_wire::Event;

/// The README's example, compiled as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
