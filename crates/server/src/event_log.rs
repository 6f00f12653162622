use std::fmt;
use std::sync::Arc;

use axum::body::Bytes;
use futures::future::BoxFuture;
use tidings_wire::{EventId, ResyncReason, Topic};
use tokio::sync::broadcast;

/// One stored event: its id, topic and name, and its SSE frame, encoded once.
///
/// ```
/// use tidings_server::{EventLog, MemoryLog};
/// use tidings_wire::Topic;
///
/// # tokio_test_block_on(async {
/// let log = MemoryLog::new(1, 100);
/// let record = log.append(Topic::Ticker, "message", "{}").await;
/// assert_eq!(record.id.to_string(), "1-1");
/// assert_eq!(&record.frame[..], b"id: 1-1\ndata: {}\n\n");
/// # });
/// # fn tokio_test_block_on(f: impl std::future::Future<Output = ()>) {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// `<epoch>-<seq>`.
    pub id: EventId,
    /// The topic it was published to.
    pub topic: Topic,
    /// The SSE event name.
    pub name: &'static str,
    /// The bytes every stream sends for it.
    pub frame: Bytes,
}

/// Why [`EventLog::read_after`] cannot serve an id: the client must resync.
///
/// ```
/// let reason: tidings_wire::ResyncReason = tidings_server::ResumeError::Evicted.into();
/// assert_eq!(reason, tidings_wire::ResyncReason::Evicted);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ResumeError {
    /// The id is from another epoch.
    #[error("the id is from another epoch")]
    UnknownEpoch,
    /// The log no longer keeps the events right after the id.
    #[error("the log no longer keeps the events after the id")]
    Evicted,
    /// The id is newer than any event given out.
    #[error("the id is newer than any event given out")]
    FromTheFuture,
}

impl From<ResumeError> for ResyncReason {
    fn from(error: ResumeError) -> Self {
        match error {
            ResumeError::UnknownEpoch => Self::UnknownEpoch,
            ResumeError::Evicted => Self::Evicted,
            ResumeError::FromTheFuture => Self::FromTheFuture,
        }
    }
}

/// Where events are stored and fanned out. The handlers only use this trait, so a backend that
/// keeps the log elsewhere (Redis Streams, for several server instances) can replace the
/// embedded [`MemoryLog`](crate::MemoryLog) without touching them; the async methods leave room
/// for a backend that does I/O.
///
/// Contract, which resume without gap or duplicate relies on:
/// - ids of one epoch increase by one per append;
/// - subscribers receive every record in id order, each after it is readable by `read_after`;
/// - so a stream that subscribes *first* and then reads the backlog misses nothing, and drops
///   live records whose id it already sent.
pub trait EventLog: Send + Sync + fmt::Debug + 'static {
    /// The epoch of every id this log gives out.
    fn epoch(&self) -> u64;

    /// The newest id given out, if any.
    fn head(&self) -> Option<EventId>;

    /// Stores an event (its data already serialised) and sends it to every subscriber.
    fn append(&self, topic: Topic, name: &'static str, data: &str) -> BoxFuture<'_, Arc<Record>>;

    /// Every stored record after `after`, oldest first, or why that cannot be served.
    fn read_after(&self, after: EventId) -> BoxFuture<'_, Result<Vec<Arc<Record>>, ResumeError>>;

    /// A receiver of every record appended from now on.
    fn subscribe(&self) -> broadcast::Receiver<Arc<Record>>;
}
