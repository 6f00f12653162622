//! The demo's state as the event log tells it: every node applies every record, in id order, to
//! the same [`View`], so `GET /api/state` on any node is exactly "every event up to `at`", also
//! on a node started later (it reads what the log keeps first) or restarted. Routes do not
//! change the view: they publish, and wait until their own record is applied (read your writes).
//!
//! What only a node knows (its open streams, the typing rate limit) stays in
//! [`DemoState`](crate::demo_state::DemoState); each node tells the others its streams with a
//! `node` report on the internal `cluster` topic (no client can ask for it), every second and on
//! change. A node is gone when this node has applied [`REPORTS_TILL_GONE`] reports of its own
//! since that node's last one (about 3 s): judged by position in the log, not by the clock, so a
//! node whose reader lags or lost Redis for a while declares nobody gone. Its streams leave the
//! presence and its unfinished jobs fail. The node with the smallest id among those alive leads
//! (once its own first report is applied: it has heard the log up to then): it runs the ticker,
//! publishes the combined presence, and fails a gone node's jobs.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tidings_axum::{EventId, Record, Topic};
use tidings_demo_events::{
    Comment, JobComplete, JobStarted, Presence, Task, TaskCreated, TaskDeleted, TaskMoved, Tick,
};
use tidings_wire::Event;
use tokio::sync::{Notify, broadcast, watch};

use crate::demo_state::JobStatus;

/// How many comments the view keeps.
pub(crate) const KEPT_COMMENTS: usize = 50;
/// How many jobs the view remembers; the oldest finished ones are forgotten first.
const KEPT_JOBS: usize = 500;
/// A node is gone when this node applied this many of its own reports (one a second) since that
/// node's last one.
pub(crate) const REPORTS_TILL_GONE: u64 = 3;

/// The internal topic of node reports.
pub(crate) fn cluster_topic() -> Topic {
    Topic::new("cluster").expect("a valid topic")
}

/// A node's report: its open streams (by display name, and all of them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct NodeReport {
    pub(crate) node: String,
    pub(crate) online: BTreeMap<String, u64>,
    pub(crate) connections: u64,
}

impl Event for NodeReport {
    const NAME: &'static str = "node";
}

/// The demo's state at `at`.
#[derive(Debug, Default)]
pub(crate) struct View {
    pub(crate) at: Option<EventId>,
    pub(crate) comments: VecDeque<Comment>,
    pub(crate) ticker: Option<Tick>,
    pub(crate) boards: BTreeMap<String, Vec<Task>>,
    pub(crate) jobs: BTreeMap<String, JobStatus>,
    /// Each node's last report, with how many reports of this node's own had been applied then.
    nodes: BTreeMap<String, (NodeReport, u64)>,
    /// This node's id, and how many of its own reports were applied.
    me: String,
    my_reports: u64,
    /// The last `presence` the log has (what clients were told).
    pub(crate) last_presence: Option<Presence>,
}

impl View {
    /// Applies one record of the log. Records of other kinds (typing, presence) change nothing.
    fn apply(&mut self, record: &Record) {
        if self.at.is_some_and(|at| at.epoch() != record.id.epoch()) {
            // The log started a new epoch (its store restarted empty): so does the state.
            *self = Self {
                nodes: std::mem::take(&mut self.nodes),
                me: std::mem::take(&mut self.me),
                my_reports: self.my_reports,
                ..Self::default()
            };
        }
        self.at = Some(record.id);
        let topic = record.topic.as_str();
        let data = &*record.data;
        match (topic, &*record.name) {
            ("comments", Comment::NAME) => {
                if let Ok(comment) = serde_json::from_str::<Comment>(data) {
                    self.comments.push_back(comment);
                    while self.comments.len() > KEPT_COMMENTS {
                        self.comments.pop_front();
                    }
                }
            }
            ("ticker", Tick::NAME) => {
                if let Ok(tick) = serde_json::from_str::<Tick>(data) {
                    self.ticker = Some(tick);
                }
            }
            ("cluster", NodeReport::NAME) => {
                if let Ok(report) = serde_json::from_str::<NodeReport>(data) {
                    if report.node == self.me {
                        self.my_reports += 1;
                    }
                    self.nodes.insert(report.node.clone(), (report, self.my_reports));
                }
            }
            ("presence", Presence::NAME) => {
                if let Ok(presence) = serde_json::from_str::<Presence>(data) {
                    self.last_presence = Some(presence);
                }
            }
            (_, TaskCreated::NAME) => {
                if let Ok(created) = serde_json::from_str::<TaskCreated>(data) {
                    self.boards.entry(created.board).or_default().push(created.task);
                }
            }
            (_, TaskMoved::NAME) => {
                if let Ok(moved) = serde_json::from_str::<TaskMoved>(data)
                    && let Some(task) = self
                        .boards
                        .get_mut(&moved.board)
                        .and_then(|tasks| tasks.iter_mut().find(|task| task.id == moved.task.id))
                {
                    *task = moved.task;
                }
            }
            (_, TaskDeleted::NAME) => {
                if let Ok(deleted) = serde_json::from_str::<TaskDeleted>(data)
                    && let Some(tasks) = self.boards.get_mut(&deleted.board)
                {
                    tasks.retain(|task| task.id != deleted.id);
                }
            }
            (_, JobStarted::NAME) => {
                if let Ok(started) = serde_json::from_str::<JobStarted>(data) {
                    let before_start =
                        EventId::new(record.id.epoch(), record.id.seq().saturating_sub(1));
                    let status = JobStatus { before_start, completed: None };
                    self.jobs.insert(started.job, status);
                    while self.jobs.len() > KEPT_JOBS {
                        let oldest = self
                            .jobs
                            .iter()
                            .filter(|(_, job)| job.completed.is_some())
                            .min_by_key(|(_, job)| job.before_start)
                            .map(|(id, _)| id.clone());
                        let Some(oldest) = oldest else { break };
                        self.jobs.remove(&oldest);
                    }
                }
            }
            (_, JobComplete::NAME) => {
                if let Ok(complete) = serde_json::from_str::<JobComplete>(data)
                    && let Some(job) = self.jobs.get_mut(&complete.job)
                {
                    job.completed.get_or_insert(record.id);
                }
            }
            _ => {}
        }
    }

    /// The nodes not gone (see the module documentation), and `me` (alive by definition).
    pub(crate) fn alive(&self, me: &str) -> Vec<String> {
        let mut alive: Vec<String> = self
            .nodes
            .iter()
            .filter(|(node, _)| self.is_alive(node, me))
            .map(|(node, _)| node.clone())
            .collect();
        if !alive.iter().any(|node| node == me) {
            alive.push(me.to_owned());
            alive.sort();
        }
        alive
    }

    /// Whether `me` leads: the smallest id alive, once `me`'s first report is applied (before,
    /// this node may not have heard the others).
    pub(crate) fn leads(&self, me: &str) -> bool {
        self.my_reports > 0 && self.alive(me).first().is_some_and(|first| first == me)
    }

    /// Whether `node` reported within the last [`REPORTS_TILL_GONE`] reports of `me` (or is `me`).
    pub(crate) fn is_alive(&self, node: &str, me: &str) -> bool {
        node == me
            || self
                .nodes
                .get(node)
                .is_some_and(|(_, at)| self.my_reports.saturating_sub(*at) < REPORTS_TILL_GONE)
    }

    /// Every alive node's streams together.
    pub(crate) fn presence(&self, me: &str) -> Presence {
        let mut online: BTreeMap<String, u64> = BTreeMap::new();
        let mut connections = 0;
        for node in self.alive(me) {
            if let Some((report, _)) = self.nodes.get(&node) {
                for (name, count) in &report.online {
                    *online.entry(name.clone()).or_default() += count;
                }
                connections += report.connections;
            }
        }
        Presence { online: online.into_keys().collect(), connections }
    }
}

/// The view and who waits on it.
#[derive(Debug)]
pub(crate) struct Projection {
    view: Mutex<View>,
    /// The last id applied.
    applied: watch::Sender<Option<EventId>>,
    /// Woken when a node report is applied.
    pub(crate) reports: Notify,
}

impl Projection {
    /// The projection of the node `me`.
    pub(crate) fn new(me: &str) -> Arc<Self> {
        Arc::new(Self {
            view: Mutex::new(View { me: me.to_owned(), ..View::default() }),
            applied: watch::Sender::new(None),
            reports: Notify::new(),
        })
    }

    pub(crate) fn view(&self) -> MutexGuard<'_, View> {
        self.view.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn apply(&self, record: &Record) {
        let mut view = self.view();
        // Applied already; or of an older epoch (the log moved on).
        if view.at.is_some_and(|at| record.id.epoch() < at.epoch() || record.id <= at) {
            return;
        }
        view.apply(record);
        drop(view);
        if record.topic.as_str() == "cluster" {
            self.reports.notify_waiters();
        }
        self.applied.send_replace(Some(record.id));
    }

    /// Waits until the record `id` (or a later one) is applied, for at most 5 s.
    pub(crate) async fn caught_up(&self, id: EventId) {
        let mut applied = self.applied.subscribe();
        let reached =
            applied.wait_for(|at| at.is_some_and(|at| at.epoch() != id.epoch() || at >= id));
        let _ = tokio::time::timeout(Duration::from_secs(5), reached).await;
    }

    /// Waits until something new is applied, for at most `patience`.
    pub(crate) async fn next_change(&self, patience: Duration) {
        let mut applied = self.applied.subscribe();
        let _ = tokio::time::timeout(patience, applied.changed()).await;
    }
}

/// Applies the log to the projection for as long as the hub lives: what the log keeps first
/// (subscribed before, so nothing falls between), then every new record.
pub(crate) async fn follow(hub: tidings_axum::Hub, projection: Arc<Projection>) {
    let stopping = hub.shut_down();
    tokio::pin!(stopping);
    loop {
        let mut live = hub.log().subscribe();
        let mut pause = Duration::from_millis(100);
        loop {
            match hub.log().read_kept().await {
                Ok(records) => break records.iter().for_each(|record| projection.apply(record)),
                Err(error) => {
                    tracing::warn!(%error, "cannot read the log to rebuild the state; retrying");
                    tokio::select! {
                        () = &mut stopping => return,
                        () = tokio::time::sleep(pause) => {}
                    }
                    pause = (pause * 2).min(Duration::from_secs(2));
                }
            }
        }
        loop {
            let received = tokio::select! {
                () = &mut stopping => return,
                received = live.recv() => received,
            };
            match received {
                Ok(record) => projection.apply(&record),
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "the state fell behind the log; reading it again");
                    break;
                }
                // The log started a new feed (its reader found a gap): read it again.
                Err(broadcast::error::RecvError::Closed) => break,
            }
        }
        // Round again: subscribe, then read what the log keeps (applied records are skipped).
    }
}
