//! The event log: where events are stored, numbered and fanned out from. The streams only use
//! the [`EventLog`] trait, so a backend that keeps the log elsewhere can replace the embedded
//! [`MemoryLog`](crate::MemoryLog).

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use futures::future::BoxFuture;
use tidings_wire::{EventId, ResyncReason, Topic};
use tokio::sync::broadcast;

use crate::sse;

/// One stored event: its id, topic, name and data. A backend stores these four; the bytes a
/// stream sends for it are encoded from them once, on first use, and shared by every stream.
///
/// # Examples
///
/// ```
/// use tidings_axum::Record;
/// use tidings_wire::{EventId, Topic};
///
/// let record = Record::new(EventId::new(1, 1), Topic::new("ticker")?, "message", "{}");
/// assert_eq!(&record.frame()[..], b"id: 1-1\ndata: {}\n\n");
/// # Ok::<(), tidings_wire::ParseTopicError>(())
/// ```
#[derive(Debug)]
pub struct Record {
    /// `<epoch>-<seq>`.
    pub id: EventId,
    /// The topic it was published to.
    pub topic: Topic,
    /// The SSE event name (`message` for an unnamed event).
    pub name: Cow<'static, str>,
    /// The event's data, as the client receives it (JSON, for a published [`tidings_wire::Event`]).
    pub data: Arc<str>,
    frame: OnceLock<Bytes>,
}

impl Record {
    /// A record of these parts.
    ///
    /// # Examples
    ///
    /// ```
    /// use tidings_wire::{EventId, Topic};
    /// let record = tidings_axum::Record::new(EventId::new(3, 9), Topic::new("notes")?, "note", "{}");
    /// assert_eq!(record.name, "note");
    /// # Ok::<(), tidings_wire::ParseTopicError>(())
    /// ```
    pub fn new(
        id: EventId,
        topic: Topic,
        name: impl Into<Cow<'static, str>>,
        data: impl Into<Arc<str>>,
    ) -> Self {
        Self { id, topic, name: name.into(), data: data.into(), frame: OnceLock::new() }
    }

    /// The bytes every stream sends for this event (`id:`, `event:` unless `message`, `data:`
    /// lines), encoded once.
    ///
    /// # Examples
    ///
    /// ```
    /// use tidings_wire::{EventId, Topic};
    /// let record = tidings_axum::Record::new(EventId::new(3, 9), Topic::new("notes")?, "note", "a\nb");
    /// assert_eq!(&record.frame()[..], b"id: 3-9\nevent: note\ndata: a\ndata: b\n\n");
    /// # Ok::<(), tidings_wire::ParseTopicError>(())
    /// ```
    pub fn frame(&self) -> &Bytes {
        self.frame.get_or_init(|| sse::event(Some(self.id), &self.name, &self.data))
    }
}

impl PartialEq for Record {
    fn eq(&self, other: &Self) -> bool {
        (self.id, &self.topic, &self.name, &self.data)
            == (other.id, &other.topic, &other.name, &other.data)
    }
}

impl Eq for Record {}

/// Why [`EventLog::read_after`] cannot serve an id: the client must resync, or (the store is
/// away) come back later.
///
/// # Examples
///
/// ```
/// use tidings_axum::ResumeError;
/// assert_eq!(ResumeError::Evicted.resync_reason(), Some(tidings_wire::ResyncReason::Evicted));
/// assert_eq!(ResumeError::Unavailable.resync_reason(), None);
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
    /// The store cannot be reached now: the stream ends without a word, and the client resumes
    /// from the same id when it reconnects.
    #[error("the event log is unavailable")]
    Unavailable,
}

impl ResumeError {
    /// The `resync` reason to send, or `None` when the id may well be served later
    /// ([`Unavailable`](Self::Unavailable)).
    ///
    /// # Examples
    ///
    /// ```
    /// let reason = tidings_axum::ResumeError::UnknownEpoch.resync_reason();
    /// assert_eq!(reason, Some(tidings_wire::ResyncReason::UnknownEpoch));
    /// ```
    pub fn resync_reason(self) -> Option<ResyncReason> {
        match self {
            Self::UnknownEpoch => Some(ResyncReason::UnknownEpoch),
            Self::Evicted => Some(ResyncReason::Evicted),
            Self::FromTheFuture => Some(ResyncReason::FromTheFuture),
            Self::Unavailable => None,
        }
    }
}

/// Why [`EventLog::append`] stored nothing: a backend that does I/O could not reach its store.
/// The store's own error is kept as the [`source`](std::error::Error::source).
///
/// # Examples
///
/// ```
/// use std::error::Error as _;
///
/// let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
/// let error = tidings_axum::AppendError::Unavailable(refused.into());
/// assert_eq!(error.to_string(), "the event log is unavailable");
/// assert_eq!(error.source().map(ToString::to_string).as_deref(), Some("connection refused"));
/// ```
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    /// The store cannot be reached; nothing was stored. Its error is the source.
    #[error("the event log is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// An error and its sources, `: `-separated, for logs.
pub(crate) struct Chain<'a>(pub(crate) &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(error) = source {
            write!(f, ": {error}")?;
            source = error.source();
        }
        Ok(())
    }
}

/// Where events are stored and fanned out. Streams only use this trait, so a backend that keeps
/// the log elsewhere (Redis Streams, for several server instances) can replace the embedded
/// [`MemoryLog`](crate::MemoryLog); the async methods leave room for one that does I/O.
///
/// Contract, which resume without gap or duplicate relies on:
/// - ids of one epoch increase by one per append;
/// - subscribers receive every record in id order, each after it is readable by `read_after`;
/// - so a stream that subscribes *first* and then reads the backlog misses nothing, and drops
///   live records whose id it already sent.
///
/// # Examples
///
/// ```
/// use tidings_axum::{EventLog, MemoryLog};
///
/// let log: std::sync::Arc<dyn EventLog> = std::sync::Arc::new(MemoryLog::new(7, 100));
/// assert_eq!(log.epoch(), 7);
/// assert_eq!(log.head(), None);
/// ```
pub trait EventLog: Send + Sync + fmt::Debug + 'static {
    /// The epoch of every id this log gives out.
    fn epoch(&self) -> u64;

    /// The newest id given out, if any.
    fn head(&self) -> Option<EventId>;

    /// Stores an event and sends it to every subscriber.
    fn append(
        &self,
        topic: Topic,
        name: Cow<'static, str>,
        data: String,
    ) -> BoxFuture<'_, Result<Arc<Record>, AppendError>>;

    /// Every stored record after `after`, oldest first, or why that cannot be served.
    fn read_after(&self, after: EventId) -> BoxFuture<'_, Result<Vec<Arc<Record>>, ResumeError>>;

    /// A receiver of every record appended from now on.
    fn subscribe(&self) -> broadcast::Receiver<Arc<Record>>;

    /// Every record the log keeps, oldest first (to rebuild state from the log). Default: what
    /// [`read_after`](Self::read_after) gives after `<epoch>-0`.
    fn read_kept(&self) -> BoxFuture<'_, Result<Vec<Arc<Record>>, ResumeError>> {
        self.read_after(EventId::new(self.epoch(), 0))
    }

    /// Whether the store answered lately (for a health check). Default: `true`, for a log in
    /// memory.
    fn is_available(&self) -> bool {
        true
    }
}
