//! The hub's records for other transports: a subscription with the same resume rule as a hub
//! stream (subscribed to live records before the backlog is read; a live record at or below the
//! last one covered is dropped), for axum's own `Sse`, a WebSocket, or a queue.

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::Stream;
use tidings_wire::{EventId, ResyncReason, Topic};
use tokio::sync::broadcast::{self, error::RecvError};

use crate::event_log::{EventLog, Record};

/// What a [`Subscription`] yields besides records: the `after` id could not be served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gap {
    /// Records after the id asked for cannot be given (another epoch, evicted, from the
    /// future); the subscription goes on from `head`, and records after it follow. Tell the
    /// client to reload its state (a hub stream sends `resync` with `head` as its id).
    Resync {
        /// Why.
        reason: ResyncReason,
        /// Where the subscription goes on from.
        head: EventId,
    },
}

/// The records of some topics, in id order, each once, from after an id or from now: made by
/// [`Hub::subscribe`](crate::Hub::subscribe). A `Stream` of `Result<Arc<Record>, Gap>`.
///
/// It ends when the subscriber falls behind the live buffer (a slow reader) or the log cannot
/// be read: subscribe again after the last record handled, and nothing is lost. Each record's
/// [`frame`](Record::frame) is its SSE encoding, ready for any body.
#[must_use = "a subscription does nothing unless polled"]
pub struct Subscription {
    inner: Pin<Box<dyn Stream<Item = Result<Arc<Record>, Gap>> + Send>>,
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription").finish_non_exhaustive()
    }
}

impl Stream for Subscription {
    type Item = Result<Arc<Record>, Gap>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

/// Where a subscription is.
enum Phase {
    /// Not started: the backlog after this id (if any) is read on the first poll.
    Start(Option<EventId>),
    Backlog(VecDeque<Arc<Record>>),
    Live,
    Done,
}

struct State {
    log: Arc<dyn EventLog>,
    receiver: broadcast::Receiver<Arc<Record>>,
    topics: Box<[Topic]>,
    /// The newest id covered (given, or skipped as another topic's).
    covered: Option<EventId>,
    /// A record of a new epoch, given after the `Gap` that announces it.
    held: Option<Arc<Record>>,
    phase: Phase,
}

impl Subscription {
    pub(crate) fn new(log: Arc<dyn EventLog>, topics: Vec<Topic>, after: Option<EventId>) -> Self {
        let mut topics = topics;
        topics.sort();
        topics.dedup();
        // Subscribed now, before the backlog is read: nothing appended in between is missed.
        let receiver = log.subscribe();
        let state = State {
            log,
            receiver,
            topics: topics.into(),
            covered: None,
            held: None,
            phase: Phase::Start(after),
        };
        let inner = futures::stream::unfold(state, |mut state| async move {
            let item = state.next().await?;
            Some((item, state))
        });
        Self { inner: Box::pin(inner) }
    }
}

impl State {
    fn wants(&self, record: &Record) -> bool {
        self.topics.binary_search(&record.topic).is_ok()
    }

    fn head(&self) -> EventId {
        self.log.head().unwrap_or_else(|| EventId::new(self.log.epoch(), 0))
    }

    async fn next(&mut self) -> Option<Result<Arc<Record>, Gap>> {
        if let Some(record) = self.held.take() {
            return Some(Ok(record));
        }
        loop {
            match &mut self.phase {
                Phase::Start(after) => {
                    let after = after.take();
                    self.phase = Phase::Live;
                    let Some(after) = after else { continue };
                    match self.log.read_after(after).await {
                        Ok(records) => {
                            self.covered = Some(records.last().map_or(after, |record| record.id));
                            let backlog = records.into_iter().filter(|r| self.wants(r)).collect();
                            self.phase = Phase::Backlog(backlog);
                        }
                        Err(error) => {
                            let Some(reason) = error.resync_reason() else {
                                self.phase = Phase::Done;
                                return None;
                            };
                            let head = self.head();
                            self.covered = Some(head);
                            return Some(Err(Gap::Resync { reason, head }));
                        }
                    }
                }
                Phase::Backlog(backlog) => match backlog.pop_front() {
                    Some(record) => return Some(Ok(record)),
                    None => self.phase = Phase::Live,
                },
                Phase::Live => match self.receiver.recv().await {
                    Ok(record) => {
                        if let Some(covered) = self.covered
                            && covered.epoch() != record.id.epoch()
                        {
                            // The log began a new epoch (its store restarted empty).
                            let head =
                                EventId::new(record.id.epoch(), record.id.seq().saturating_sub(1));
                            self.covered = Some(record.id);
                            if self.wants(&record) {
                                self.held = Some(record);
                            }
                            return Some(Err(Gap::Resync {
                                reason: ResyncReason::UnknownEpoch,
                                head,
                            }));
                        }
                        if self.covered.is_some_and(|covered| record.id <= covered) {
                            continue;
                        }
                        self.covered = Some(record.id);
                        if self.wants(&record) {
                            return Some(Ok(record));
                        }
                    }
                    Err(RecvError::Lagged(_) | RecvError::Closed) => {
                        self.phase = Phase::Done;
                        return None;
                    }
                },
                Phase::Done => return None,
            }
        }
    }
}
