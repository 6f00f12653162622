//! What the demo remembers between requests (comments, the ticker's value, typing, presence,
//! boards, jobs): plain data, changed by the routes under one lock.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Instant;

use tidings_axum::EventId;
use tidings_demo_events::{Comment, Presence, Task, Tick};

/// What the demo remembers.
#[derive(Debug, Default)]
pub(crate) struct DemoState {
    pub(crate) comments: VecDeque<Comment>,
    pub(crate) last_comment_id: u64,
    pub(crate) ticker: Option<Tick>,
    pub(crate) typing_sent: HashMap<String, Instant>,
    /// Open streams by display name, and all open streams.
    pub(crate) online: BTreeMap<String, u64>,
    pub(crate) connections: u64,
    pub(crate) presence_scheduled: bool,
    /// Task boards by id, each in creation order.
    pub(crate) boards: BTreeMap<String, Vec<Task>>,
    pub(crate) last_task_id: u64,
    /// Long jobs.
    pub(crate) jobs: Jobs,
}

impl DemoState {
    pub(crate) fn presence(&self) -> Presence {
        Presence { online: self.online.keys().cloned().collect(), connections: self.connections }
    }
}

/// What the server remembers of a job.
#[derive(Debug, Clone, Copy)]
pub(crate) struct JobStatus {
    /// The log's head just before the job's first event: its stream replays from here.
    pub(crate) before_start: EventId,
    /// The id of its `complete` event, once finished.
    pub(crate) completed: Option<EventId>,
}

/// Jobs by id, with the last number given out.
#[derive(Debug, Default)]
pub(crate) struct Jobs {
    pub(crate) by_id: BTreeMap<String, JobStatus>,
    pub(crate) last: u64,
}
