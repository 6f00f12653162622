use serde::{Deserialize, Serialize};
use tidings_wire::EventId;

use std::collections::BTreeMap;

use crate::{Comment, Presence, Task, Tick};

/// `GET /api/state[?board=ID]`: the demo's state and the id it is current at, so a page can
/// render it and open the stream with `lastEventId = at`, missing nothing in between.
///
/// # Examples
///
/// ```
/// let snapshot: tidings_demo_events::DemoSnapshot =
///     serde_json::from_str(r#"{"at":"5-12","comments":[],"ticker":null,"presence":{"online":[],"connections":0},"boards":{}}"#)?;
/// assert_eq!(snapshot.at.map(|id| id.seq()), Some(12));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DemoSnapshot {
    /// Every event up to this id is reflected here; `None` before the first event.
    pub at: Option<EventId>,
    /// The most recent comments, oldest first.
    pub comments: Vec<Comment>,
    /// The ticker's latest value.
    pub ticker: Option<Tick>,
    /// Who is connected.
    pub presence: Presence,
    /// The tasks of the board asked for (`?board=ID`), in creation order; empty when none was
    /// asked for or that board has no task.
    pub boards: BTreeMap<String, Vec<Task>>,
}
