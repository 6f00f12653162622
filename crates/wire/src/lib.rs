//! The contract between a Tidings server and its browser clients.
//!
//! Only this crate (and the crates of payload types an application builds on it) defines what
//! crosses the wire. The server and the browser both spell an event's name as
//! [`Event::NAME`], so a renamed event or a changed payload type is a compile error on both ends,
//! never a silent mismatch.
//!
//! ```
//! use serde::{Deserialize, Serialize};
//! use tidings_wire::{Event, EventId};
//!
//! #[derive(Debug, PartialEq, Serialize, Deserialize)]
//! struct Ping {
//!     n: u32,
//! }
//!
//! impl Event for Ping {
//!     const NAME: &'static str = "ping";
//! }
//!
//! let id: EventId = "1732170000000-7".parse()?;
//! assert_eq!(id.seq(), 7);
//! assert_eq!(Ping::NAME, "ping");
//! # Ok::<(), tidings_wire::ParseEventIdError>(())
//! ```

mod control;
mod event;
mod event_id;
mod topic;

pub use control::{End, Heartbeat, Hello, Resync, ResyncReason, Shutdown};
pub use event::{Event, MESSAGE};
pub use event_id::{EventId, ParseEventIdError};
pub use topic::{MAX_TOPIC_LEN, ParseTopicError, Topic};

/// The README's example, compiled as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
