//! The demo's state as the event log tells it: every node applies every record, in id order, to
//! the same [`View`], so `GET /api/state` on any node is exactly "every event up to `at`", also
//! on a node started later (it reads what the log keeps first) or restarted. Routes do not
//! change the view: they publish, and wait until their own record is applied (read your writes).
//!
//! What only a node knows (its open streams, the typing rate limit) stays in
//! [`DemoState`](crate::demo_state::DemoState); which nodes are alive and which leads is
//! [`Members`], fed by the same log (`membership.rs`). A record the view cannot read is logged
//! and counted (`tidings_demo_unreadable_records_total`), never applied in part.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde::de::DeserializeOwned;
use tidings_axum::{EventId, Record};
use tidings_demo_events::{
    Comment, DemoTopic, JobComplete, JobStarted, Presence, Task, TaskCreated, TaskDeleted,
    TaskMoved, Tick,
};
use tidings_wire::Event;
use tokio::sync::{Notify, broadcast, watch};

use crate::demo_state::JobStatus;
use crate::job_token::JobToken;
use crate::membership::{CLUSTER, Members, NodeReport};

/// How many comments the view keeps.
pub(crate) const KEPT_COMMENTS: usize = 50;
/// How many jobs the view remembers; the oldest finished ones are forgotten first.
const KEPT_JOBS: usize = 500;
/// The demo's state at `at`.
#[derive(Debug, Default)]
pub(crate) struct View {
    pub(crate) at: Option<EventId>,
    /// Shared with snapshots being written: a snapshot copies a reference under the lock, and
    /// the next change copies the list only if a snapshot still holds it.
    pub(crate) comments: Arc<VecDeque<Comment>>,
    pub(crate) ticker: Option<Tick>,
    /// Each board's tasks (shared as the comments are); a board whose last task is deleted is
    /// removed.
    pub(crate) boards: BTreeMap<String, Arc<Vec<Task>>>,
    pub(crate) jobs: BTreeMap<String, JobStatus>,
    /// Which nodes are alive, and which leads.
    pub(crate) members: Members,
    /// The last `presence` the log has (what clients were told).
    pub(crate) last_presence: Option<Presence>,
}

impl View {
    /// Applies one record of the log. Records of other kinds (typing, presence) change nothing.
    fn apply(&mut self, record: &Record) {
        if self.at.is_some_and(|at| at.epoch() != record.id.epoch()) {
            // The log started a new epoch (its store restarted empty): so does the state.
            *self = Self { members: std::mem::take(&mut self.members), ..Self::default() };
        }
        self.at = Some(record.id);
        if record.topic.as_str() == CLUSTER {
            if &*record.name == NodeReport::NAME
                && let Some(report) = read::<NodeReport>(record)
            {
                self.members.apply(report);
            } else if &*record.name == JobToken::NAME
                && let Some(token) = read::<JobToken>(record)
                && let Some(job) = self.jobs.get_mut(&token.job)
            {
                job.token_digest.get_or_insert(token.digest);
            }
            return;
        }
        // Not a demo topic (another application's on the same log): nothing to apply.
        let Ok(topic) = record.topic.as_str().parse::<DemoTopic>() else { return };
        match (topic, &*record.name) {
            (DemoTopic::Comments, Comment::NAME) => {
                if let Some(comment) = read::<Comment>(record) {
                    let comments = Arc::make_mut(&mut self.comments);
                    comments.push_back(comment);
                    while comments.len() > KEPT_COMMENTS {
                        comments.pop_front();
                    }
                }
            }
            (DemoTopic::Ticker, Tick::NAME) => {
                if let Some(tick) = read::<Tick>(record) {
                    self.ticker = Some(tick);
                }
            }
            (DemoTopic::Presence, Presence::NAME) => {
                if let Some(presence) = read::<Presence>(record) {
                    self.last_presence = Some(presence);
                }
            }
            (DemoTopic::Board(_), TaskCreated::NAME) => {
                if let Some(created) = read::<TaskCreated>(record) {
                    Arc::make_mut(self.boards.entry(created.board).or_default()).push(created.task);
                }
            }
            (DemoTopic::Board(_), TaskMoved::NAME) => {
                if let Some(moved) = read::<TaskMoved>(record)
                    && let Some(tasks) = self.boards.get_mut(&moved.board)
                    && let Some(at) = tasks.iter().position(|task| task.id == moved.task.id)
                {
                    Arc::make_mut(tasks)[at] = moved.task;
                }
            }
            (DemoTopic::Board(_), TaskDeleted::NAME) => {
                if let Some(deleted) = read::<TaskDeleted>(record)
                    && let Some(tasks) = self.boards.get_mut(&deleted.board)
                {
                    Arc::make_mut(tasks).retain(|task| task.id != deleted.id);
                    if tasks.is_empty() {
                        self.boards.remove(&deleted.board);
                    }
                }
            }
            (DemoTopic::Job(_), JobStarted::NAME) => {
                if let Some(started) = read::<JobStarted>(record) {
                    let before_start =
                        EventId::new(record.id.epoch(), record.id.seq().saturating_sub(1));
                    let status = JobStatus { before_start, completed: None, token_digest: None };
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
            (DemoTopic::Job(_), JobComplete::NAME) => {
                if let Some(complete) = read::<JobComplete>(record)
                    && let Some(job) = self.jobs.get_mut(&complete.job)
                {
                    job.completed.get_or_insert(record.id);
                }
            }
            // Typing, progress: nothing in the view.
            _ => {}
        }
    }

    /// Every alive node's streams together.
    pub(crate) fn presence(&self) -> Presence {
        self.members.presence()
    }
}

/// The record's data as a `T`; a record that does not decode is logged and counted, and
/// skipped.
fn read<T: DeserializeOwned>(record: &Record) -> Option<T> {
    match serde_json::from_str(&record.data) {
        Ok(value) => Some(value),
        Err(error) => {
            metrics::counter!(UNREADABLE_RECORDS).increment(1);
            tracing::warn!(
                id = %record.id, topic = %record.topic, name = %record.name, %error,
                "a record of the log does not decode: the state skips it"
            );
            None
        }
    }
}

/// Records of the log the state could not decode (written by another version, say).
pub(crate) const UNREADABLE_RECORDS: &str = "tidings_demo_unreadable_records_total";

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
            view: Mutex::new(View { members: Members::new(me), ..View::default() }),
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
        if record.topic.as_str() == CLUSTER {
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
    let stopping = hub.drain_started();
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

#[cfg(test)]
mod tests {
    use tidings_axum::Topic;

    use super::*;

    fn record(seq: u64, topic: &str, name: &'static str, data: &str) -> Record {
        Record::new(EventId::new(1, seq), Topic::new(topic).expect("a topic"), name, data)
    }

    #[test]
    fn a_record_that_does_not_decode_is_skipped_and_the_next_applies() {
        let mut view = View { members: Members::new("a"), ..View::default() };
        let comment = r#"{"id":1,"author":"ann","text":"hi","at_ms":1}"#;
        view.apply(&record(1, "comments", Comment::NAME, r#"{"author":"#));
        assert!(view.comments.is_empty());
        assert_eq!(view.at, Some(EventId::new(1, 1)), "the record counts as applied");
        view.apply(&record(2, "comments", Comment::NAME, comment));
        assert_eq!(view.comments.len(), 1);
        // A name on a topic it does not belong to changes nothing.
        view.apply(&record(3, "ticker", Comment::NAME, comment));
        assert_eq!(view.comments.len(), 1);
        // Another application's topic on the same log: nothing to apply.
        view.apply(&record(4, "weather", Comment::NAME, comment));
        assert_eq!(view.comments.len(), 1);
    }
}
