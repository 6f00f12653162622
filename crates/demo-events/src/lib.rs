//! The demo's payload types.
//!
//! Each type implements [`tidings_wire::Event`], so tidings-server publishes it and the demo app
//! subscribes to it under the same compile-checked name.
//!
//! ```
//! use tidings_demo_events::Tick;
//! use tidings_wire::Event;
//!
//! // The ticker travels as the classic unnamed `message` event.
//! assert_eq!(Tick::NAME, tidings_wire::MESSAGE);
//! ```

mod tick;

pub use tick::Tick;
