//! What only this node knows of the demo: its open streams (for presence) and the typing rate
//! limit. Everything else is derived from the event log (`projection.rs`).

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use tidings_axum::EventId;

/// What this node remembers.
#[derive(Debug, Default)]
pub(crate) struct DemoState {
    pub(crate) typing_sent: HashMap<String, Instant>,
    /// This node's open streams by display name, and all of them.
    pub(crate) online: BTreeMap<String, u64>,
    pub(crate) connections: u64,
    /// A report of this node's streams is about to go out.
    pub(crate) report_scheduled: bool,
}

/// What the state knows of a job (from the log).
#[derive(Debug, Clone, Copy)]
pub(crate) struct JobStatus {
    /// The id just before the job's first event: its stream replays from here.
    pub(crate) before_start: EventId,
    /// The id of its `complete` event, once finished (or failed).
    pub(crate) completed: Option<EventId>,
}
