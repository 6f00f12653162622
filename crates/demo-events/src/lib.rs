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

mod admin;
mod board;
mod comment;
mod job;
mod presence;
mod snapshot;
mod tick;
mod topic;
mod typing;
mod validation;

pub use admin::DropRequest;
pub use board::{
    NewTask, TITLE_MAX_CHARS, Task, TaskCreated, TaskDeleted, TaskList, TaskMoved, TaskPatch,
};
pub use comment::{AUTHOR_MAX_CHARS, Comment, NewComment, TEXT_MAX_CHARS};
pub use job::{JobComplete, JobCreated, JobProgress, JobStarted, NewJob};
pub use presence::Presence;
pub use snapshot::DemoSnapshot;
pub use tick::Tick;
pub use topic::{DemoTopic, MAX_TOPIC_ID_LEN, ParseDemoTopicError, is_valid_topic_id};
pub use typing::{Typing, TypingRequest};
pub use validation::ValidationError;
pub use validation::check_display_name;
pub(crate) use validation::check_text;
