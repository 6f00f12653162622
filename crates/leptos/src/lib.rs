//! Server-Sent Events as Leptos signals, built on [`tidings`].
//!
//! [`use_event_source`] opens a connection owned by the current reactive owner (usually a
//! component): when the owner is cleaned up, its handlers are removed and the connection closes.
//! The connection state is a signal, and [`UseEventSource::latest`] gives a signal of the most
//! recent value of any contract type.
//!
//! # Example
//!
//! ```no_run
//! use leptos::prelude::*;
//! use tidings_demo_events::Tick;
//! use tidings_leptos::use_event_source;
//!
//! #[component]
//! fn Ticker() -> impl IntoView {
//!     let stream = use_event_source("/api/events");
//!     let tick = stream.latest::<Tick>();
//!     view! {
//!         <p>"Connection: " {move || stream.state().get().to_string()}</p>
//!         <p>"Value: " {move || tick.get().map(|tick| tick.value)}</p>
//!     }
//! }
//! ```

mod use_event_source;

pub use use_event_source::{UseEventSource, use_event_source};
