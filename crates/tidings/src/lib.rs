//! Typed Server-Sent Events for Rust in the browser.
//!
//! `tidings` wraps the browser's native [`EventSource`](web_sys::EventSource) so that a Rust/wasm
//! app gets:
//!
//! - **typed handlers**: [`EventSource::on`] decodes each event's JSON data into a contract type
//!   ([`tidings_wire::Event`]) whose name both server and client take from the same constant;
//! - **truthful state**: [`ConnectionState`] tells a browser that is retrying
//!   ([`ConnectionState::Reconnecting`]) from one that gave up ([`ConnectionState::Closed`]);
//! - **no leaks**: every JavaScript callback is owned by a Rust value whose `Drop` removes it.
//!   Handlers return a [`Subscription`] guard, and dropping the [`EventSource`] closes the
//!   connection.
//!
//! A bad payload is an [`Error`] for that one event: the connection stays open.
//!
//! # Example
//!
//! ```no_run
//! use serde::{Deserialize, Serialize};
//! use tidings::{ConnectionState, EventSource};
//!
//! #[derive(Debug, Serialize, Deserialize)]
//! struct Tick {
//!     seq: u64,
//!     value: f64,
//! }
//!
//! impl tidings_wire::Event for Tick {
//!     const NAME: &'static str = tidings_wire::MESSAGE;
//! }
//!
//! let source = EventSource::builder("/api/events").open()?;
//! let ticks = source.on::<Tick>(|received| match received {
//!     Ok(message) => web_sys::console::log_1(&format!("tick {:?} (id {})", message.data, message.last_event_id).into()),
//!     Err(error) => web_sys::console::warn_1(&error.to_string().into()),
//! });
//! let states = source.on_state(|state| {
//!     if let ConnectionState::Reconnecting { attempt } = state {
//!         web_sys::console::log_1(&format!("the browser retries, attempt {attempt}").into());
//!     }
//! });
//! // Keep `source`, `ticks` and `states` alive as long as you want events; dropping `source`
//! // closes the connection, dropping a guard removes its handler.
//! # drop((ticks, states));
//! # Ok::<(), tidings::Error>(())
//! ```

mod builder;
mod error;
mod listener;
mod message;
mod source;
mod state;
mod subscription;

pub use builder::EventSourceBuilder;
pub use error::{DecodeError, Error};
pub use listener::live_listeners;
pub use message::Message;
pub use source::EventSource;
pub use state::{CloseReason, ConnectionState};
pub use subscription::Subscription;
