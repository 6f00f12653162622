//! Control events: what a Tidings server says about the stream itself, beside the data.

use serde::{Deserialize, Serialize};

use crate::{Event, EventId};

/// The first event on every stream: what the client can expect from it.
///
/// # Examples
///
/// ```
/// use tidings_wire::{Event, Hello};
/// assert_eq!(Hello::NAME, "hello");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// The event log's epoch: ids of this stream are `<epoch>-<seq>`.
    pub epoch: u64,
    /// A `heartbeat` comes at least this often, in milliseconds; silence for longer means the
    /// connection is dead.
    pub heartbeat_ms: u64,
    /// The server's version.
    pub server_version: String,
    /// This stream's key: unguessable, sent only to the stream's client, so holding it is the
    /// right to ask the server to close this stream (and no other).
    pub stream_key: String,
}

impl Event for Hello {
    const NAME: &'static str = "hello";
}

/// Sent without an id every few seconds so a client's watchdog sees a live connection (SSE
/// comments never reach `EventSource` listeners).
///
/// # Examples
///
/// ```
/// use tidings_wire::{Event, Heartbeat};
/// assert_eq!(Heartbeat::NAME, "heartbeat");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    /// The server's clock, in milliseconds since the Unix epoch.
    pub at_ms: u64,
}

impl Event for Heartbeat {
    const NAME: &'static str = "heartbeat";
}

/// The server cannot resume from the id the client sent: the client must reload its state
/// (e.g. `GET /api/state`), because events may have been missed.
///
/// # Examples
///
/// ```
/// use tidings_wire::{Event, Resync, ResyncReason};
/// let resync = Resync { reason: ResyncReason::UnknownEpoch, requested: "1-4".into(), current: None };
/// assert_eq!(Resync::NAME, "resync");
/// assert_eq!(serde_json::to_string(&resync.reason)?, "\"unknown_epoch\"");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resync {
    /// Why the id cannot be served.
    pub reason: ResyncReason,
    /// The id the client sent, cut to 128 characters.
    pub requested: String,
    /// The newest id the server has, from which the stream now continues; `None` if the log is
    /// empty.
    pub current: Option<EventId>,
}

impl Event for Resync {
    const NAME: &'static str = "resync";
}

/// Why a [`Resync`] was sent.
///
/// # Examples
///
/// ```
/// let reason: tidings_wire::ResyncReason = serde_json::from_str("\"evicted\"")?;
/// assert_eq!(reason, tidings_wire::ResyncReason::Evicted);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResyncReason {
    /// The id is not `<epoch>-<seq>`.
    Malformed,
    /// The id is from another life of the log (the server restarted with an in-memory log).
    UnknownEpoch,
    /// The id is older than the oldest event the log still keeps.
    Evicted,
    /// The id is newer than any event the log has given out.
    FromTheFuture,
}

/// The server is going away: reconnect after `retry_ms` (the `retry:` field says the same to
/// the browser), and resume by id.
///
/// # Examples
///
/// ```
/// use tidings_wire::{Event, Shutdown};
/// assert_eq!(Shutdown::NAME, "shutdown");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shutdown {
    /// How long the client should wait before reconnecting, in milliseconds.
    pub retry_ms: u64,
}

impl Event for Shutdown {
    const NAME: &'static str = "shutdown";
}

/// The stream is finished: the server has nothing more for this client, now or later (a
/// handler's own stream whose items ended, say). Sent with the id [`End::ID`], which no log
/// gives (its numbers start at 1): a client that reconnects anyway (a browser's `EventSource`
/// always does after a response ends) carries it as its last id, and the server answers
/// `204 No Content`, which stops it for good. A tidings client stops on the event itself.
///
/// # Examples
///
/// ```
/// use tidings_wire::{End, Event};
/// assert_eq!((End::NAME, End::ID.to_string()), ("end", "0-0".to_owned()));
/// assert_eq!(serde_json::to_string(&End {})?, "{}");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct End {}

impl End {
    /// The id an `end` event carries: `0-0`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(tidings_wire::End::ID, "0-0".parse()?);
    /// # Ok::<(), tidings_wire::ParseEventIdError>(())
    /// ```
    pub const ID: EventId = EventId::new(0, 0);
}

impl Event for End {
    const NAME: &'static str = "end";
}
