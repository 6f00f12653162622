//! What only this node knows of the demo: the typing rate limit and who created which board
//! (its open streams are `presence.rs`'s). Everything else is derived from the event log
//! (`projection.rs`).

use std::collections::HashMap;
use std::time::Instant;

use tidings_axum::EventId;

use crate::client::ClientKey;

/// What this node remembers.
#[derive(Debug, Default)]
pub(crate) struct DemoState {
    pub(crate) typing_sent: HashMap<String, Instant>,
    /// The boards created through this node, by the client that created each, and since when
    /// while its first task is being published.
    pub(crate) board_owners: HashMap<String, (ClientKey, Option<Instant>)>,
}

/// What the state knows of a job (from the log).
#[derive(Debug, Clone, Copy)]
pub(crate) struct JobStatus {
    /// The id just before the job's first event: its stream replays from here.
    pub(crate) before_start: EventId,
    /// The id of its `complete` event, once finished (or failed).
    pub(crate) completed: Option<EventId>,
    /// The SHA-256 of the token its stream needs, once the log has it (see `jobs.rs`).
    pub(crate) token_digest: Option<[u8; 32]>,
}
