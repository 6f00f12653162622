//! The hub: the log, the settings every stream shares, and the controls over open streams.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tidings_wire::{Event, EventId, Topic};

use crate::event_log::{AppendError, EventLog, Record};
use crate::shared::{LatestValue, Shared};
use crate::stream::EventStream;
use crate::{MemoryLog, metrics as m};

/// The engine's handle: an event log with its fan-out, the settings of the streams, and control
/// over the open ones (close one, close all, drain at shutdown). Cloning is cheap; put it in
/// your axum state and take it out with `State<Hub>` (or `FromRef`).
///
/// # Examples
///
/// ```
/// use axum::{Router, extract::State, routing::get};
/// use tidings_axum::{EventStream, Hub, LastEventId};
/// use tidings_wire::Topic;
///
/// async fn events(State(hub): State<Hub>, last: LastEventId) -> EventStream {
///     hub.stream([Topic::from_static("notes")]).resume(last)
/// }
///
/// let hub = Hub::builder().heartbeat(std::time::Duration::from_secs(15)).build();
/// let app: Router = Router::new().route("/events", get(events)).with_state(hub);
/// # let _ = app;
/// ```
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Shared>,
}

impl fmt::Debug for Hub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hub")
            .field("log", self.inner.log())
            .field("retry", &self.inner.retry())
            .field("heartbeat", &self.inner.heartbeat())
            .field("open_streams", &self.open_streams())
            .finish_non_exhaustive()
    }
}

/// Settings for a [`Hub`], then [`build`](Self::build).
///
/// | setting | default |
/// |---|---|
/// | [`log`](Self::log) | a [`MemoryLog`] of 10,000 events, its epoch the start time in ms |
/// | [`retry`](Self::retry) | 3 s: the `retry:` hint every stream opens with |
/// | [`heartbeat`](Self::heartbeat) | 15 s between two `heartbeat` events |
/// | [`latest_value`](Self::latest_value) | nothing coalesces |
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tidings_axum::{Hub, MemoryLog};
///
/// let hub = Hub::builder()
///     .log(MemoryLog::new(1, 50_000))
///     .retry(Duration::from_secs(2))
///     .latest_value(|topic, _name| topic.as_str() == "ticker")
///     .build();
/// assert_eq!(hub.log().epoch(), 1);
/// ```
#[must_use = "a builder does nothing until `build` is called"]
pub struct HubBuilder {
    log: Option<Arc<dyn EventLog>>,
    retry: Duration,
    heartbeat: Duration,
    latest_value: Box<LatestValue>,
}

impl fmt::Debug for HubBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HubBuilder")
            .field("log", &self.log)
            .field("retry", &self.retry)
            .field("heartbeat", &self.heartbeat)
            .finish_non_exhaustive()
    }
}

impl HubBuilder {
    /// The event log. Default: a [`MemoryLog`] keeping 10,000 events, a new epoch per process.
    ///
    /// # Examples
    ///
    /// ```
    /// let hub = tidings_axum::Hub::builder().log(tidings_axum::MemoryLog::new(42, 10)).build();
    /// assert_eq!(hub.log().epoch(), 42);
    /// ```
    pub fn log(mut self, log: impl EventLog) -> Self {
        self.log = Some(Arc::new(log));
        self
    }

    /// The reconnection delay suggested to clients (`retry:`, the first line of every stream).
    /// Default: 3 s.
    ///
    /// # Examples
    ///
    /// ```
    /// let hub = tidings_axum::Hub::builder().retry(std::time::Duration::from_millis(500)).build();
    /// # let _ = hub;
    /// ```
    pub fn retry(mut self, retry: Duration) -> Self {
        self.retry = retry;
        self
    }

    /// The time between two `heartbeat` events (a client's watchdog sees them; comments never
    /// reach `EventSource` listeners). A hub stream gets one every interval from the hub's one
    /// timer (not a timer per stream), so it is never longer than this without a frame; a
    /// handler's own stream ([`Hub::stream_from`]) sends one once it has been quiet this long.
    /// Default: 15 s.
    ///
    /// # Examples
    ///
    /// ```
    /// let hub = tidings_axum::Hub::builder().heartbeat(std::time::Duration::from_secs(20)).build();
    /// # let _ = hub;
    /// ```
    pub fn heartbeat(mut self, heartbeat: Duration) -> Self {
        self.heartbeat = heartbeat.max(Duration::from_millis(1));
        self
    }

    /// Which records only matter as the newest of their kind (a price, a progress bar, who is
    /// online): `is_latest(topic, name)`. A stream that falls behind then sends only the newest
    /// of a run of such records with the same topic and name, in order with every other record,
    /// which it always sends. A stream that keeps up sends everything. Default: none.
    ///
    /// # Examples
    ///
    /// ```
    /// let hub = tidings_axum::Hub::builder()
    ///     .latest_value(|topic, name| topic.as_str() == "ticker" || name == "progress")
    ///     .build();
    /// # let _ = hub;
    /// ```
    pub fn latest_value(
        mut self,
        is_latest: impl Fn(&Topic, &str) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.latest_value = Box::new(is_latest);
        self
    }

    /// The hub.
    ///
    /// # Examples
    ///
    /// ```
    /// let hub = tidings_axum::Hub::builder().build();
    /// assert_eq!(hub.open_streams(), 0);
    /// ```
    pub fn build(self) -> Hub {
        let log = self.log.unwrap_or_else(|| {
            let epoch = crate::clock::now_ms().max(1);
            Arc::new(MemoryLog::new(epoch, 10_000))
        });
        Hub { inner: Arc::new(Shared::new(log, self.retry, self.heartbeat, self.latest_value)) }
    }
}

/// Why [`Hub::publish`] stored nothing.
///
/// # Examples
///
/// ```
/// let error = tidings_axum::PublishError::from(tidings_axum::AppendError::Unavailable("down".into()));
/// assert_eq!(error.to_string(), "the event log is unavailable");
/// assert_eq!(std::error::Error::source(&error).unwrap().to_string(), "down");
/// ```
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The payload did not serialise (serde_json's error is the source).
    #[error("the event did not serialise")]
    Serialize(#[from] serde_json::Error),
    /// The log could not store it (its error is the source).
    #[error(transparent)]
    Append(#[from] AppendError),
}

/// A failed publish answers `503` with `{"error": "unavailable", ...}` when the log is
/// unreachable (nothing was stored: the client may try again), `500` when the payload did not
/// serialise (a bug: the detail is logged, not sent).
impl axum::response::IntoResponse for PublishError {
    fn into_response(self) -> axum::response::Response {
        use axum::http::StatusCode;
        match self {
            Self::Serialize(error) => {
                tracing::error!(%error, "an event did not serialise");
                crate::json_error::json_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error",
                )
            }
            Self::Append(error) => {
                tracing::warn!(error = %crate::event_log::Chain(&error), "a publish stored nothing");
                crate::json_error::json_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    &error.to_string(),
                )
            }
        }
    }
}

impl Hub {
    /// A hub with the defaults of [`HubBuilder`].
    ///
    /// # Examples
    ///
    /// ```
    /// let hub = tidings_axum::Hub::new();
    /// assert_eq!(hub.log().head(), None);
    /// ```
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// Settings for a hub.
    ///
    /// # Examples
    ///
    /// ```
    /// let hub = tidings_axum::Hub::builder().build();
    /// # let _ = hub;
    /// ```
    pub fn builder() -> HubBuilder {
        HubBuilder {
            log: None,
            retry: Duration::from_secs(3),
            heartbeat: Duration::from_secs(15),
            latest_value: Box::new(|_, _| false),
        }
    }

    /// The event log every event is stored in and fanned out from.
    ///
    /// # Examples
    ///
    /// ```
    /// let hub = tidings_axum::Hub::new();
    /// let _receiver = hub.log().subscribe();
    /// ```
    pub fn log(&self) -> &dyn EventLog {
        self.inner.log().as_ref()
    }

    /// Serialises `event` once and appends it to the log under `topic` and `T::NAME`: every
    /// stream of that topic sends it, and a client resuming after an earlier id gets it from the
    /// log.
    ///
    /// # Errors
    /// The payload's serialisation error, or the log's: nothing is stored then.
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// #[derive(serde::Serialize, serde::Deserialize)]
    /// struct Note { text: String }
    /// impl tidings_wire::Event for Note { const NAME: &'static str = "note"; }
    ///
    /// let hub = tidings_axum::Hub::new();
    /// let notes = tidings_wire::Topic::new("notes")?;
    /// let record = hub.publish(&notes, &Note { text: "hi".into() }).await?;
    /// assert_eq!((record.id.seq(), &*record.name, &*record.data), (1, "note", r#"{"text":"hi"}"#));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub async fn publish<T: Event>(
        &self,
        topic: &Topic,
        event: &T,
    ) -> Result<Arc<Record>, PublishError> {
        let data = serde_json::to_string(event)?;
        let record = self.log().append(topic.clone(), T::NAME.into(), data).await?;
        metrics::counter!(m::EVENTS_PUBLISHED).increment(1);
        Ok(record)
    }

    /// A stream of `topics`, as an axum response: `retry:` and `hello` at once, then (when
    /// [resuming](EventStream::resume)) the backlog or a `resync`, then live records, heartbeats,
    /// and `shutdown` when the hub drains.
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::extract::State;
    /// use tidings_axum::{EventStream, Hub, LastEventId};
    ///
    /// async fn events(State(hub): State<Hub>, last: LastEventId) -> EventStream {
    ///     let topics = ["comments", "ticker"].map(|name| tidings_wire::Topic::new(name).unwrap());
    ///     hub.stream(topics).resume(last)
    /// }
    /// # let _ = events;
    /// ```
    pub fn stream(&self, topics: impl IntoIterator<Item = Topic>) -> EventStream {
        EventStream::new(Arc::clone(&self.inner), topics.into_iter().collect::<BTreeSet<_>>())
    }

    /// The records of `topics` after `after` (or from now), for a transport of the
    /// application's own: axum's `Sse`, a WebSocket. Same resume rule as [`stream`](Self::stream):
    /// nothing lost between the backlog and live records, nothing given twice; an id that cannot
    /// be served gives a [`Gap`](crate::Gap) first. See [`Subscription`](crate::Subscription).
    ///
    /// # Examples
    ///
    /// Into axum's own `Sse`:
    ///
    /// ```
    /// use axum::extract::State;
    /// use axum::response::sse::{Event, Sse};
    /// use futures::{Stream, StreamExt};
    /// use tidings_axum::{Gap, Hub, LastEventId};
    ///
    /// async fn events(
    ///     State(hub): State<Hub>,
    ///     last: LastEventId,
    /// ) -> Sse<impl Stream<Item = Result<Event, std::convert::Infallible>>> {
    ///     let after = last.as_deref().and_then(|id| id.parse().ok());
    ///     let records = hub.subscribe([tidings_wire::Topic::from_static("notes")], after);
    ///     Sse::new(records.map(|item| {
    ///         Ok(match item {
    ///             Ok(record) => Event::default()
    ///                 .id(record.id.to_string())
    ///                 .event(&*record.name)
    ///                 .data(&*record.data),
    ///             Err(Gap::Resync { head, .. }) => {
    ///                 Event::default().id(head.to_string()).event("resync").data("{}")
    ///             }
    ///         })
    ///     }))
    /// }
    /// # let _ = events;
    /// ```
    ///
    /// Into a WebSocket (axum's feature `ws`), a JSON text message per record; a client that
    /// comes back sends the last id it got (here as a query parameter):
    ///
    /// ```
    /// use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
    /// use axum::extract::{Query, State};
    /// use axum::response::Response;
    /// use futures::StreamExt;
    /// use tidings_axum::{Gap, Hub};
    ///
    /// #[derive(serde::Deserialize)]
    /// struct Resume {
    ///     after: Option<tidings_wire::EventId>,
    /// }
    ///
    /// async fn socket(State(hub): State<Hub>, Query(resume): Query<Resume>, upgrade: WebSocketUpgrade) -> Response {
    ///     let records = hub.subscribe([tidings_wire::Topic::from_static("notes")], resume.after);
    ///     upgrade.on_upgrade(move |mut socket: WebSocket| async move {
    ///         let mut records = std::pin::pin!(records);
    ///         while let Some(item) = records.next().await {
    ///             let message = match item {
    ///                 Ok(record) => serde_json::json!({ "id": record.id, "event": &*record.name, "data": &*record.data }),
    ///                 Err(Gap::Resync { head, .. }) => serde_json::json!({ "id": head, "event": "resync" }),
    ///             };
    ///             if socket.send(Message::Text(message.to_string().into())).await.is_err() {
    ///                 break; // the client went
    ///             }
    ///         }
    ///     })
    /// }
    /// let app: axum::Router = axum::Router::new()
    ///     .route("/notes/socket", axum::routing::get(socket))
    ///     .with_state(Hub::new());
    /// # let _ = app;
    /// ```
    pub fn subscribe(
        &self,
        topics: impl IntoIterator<Item = Topic>,
        after: Option<EventId>,
    ) -> crate::Subscription {
        crate::Subscription::new(Arc::clone(self.inner.log()), topics.into_iter().collect(), after)
    }

    /// A stream of the application's own events, `items` (an answer written piece by piece, a
    /// computation's progress, a change feed it already has), with the hub's `retry:`, `hello`,
    /// heartbeats, drain and keys; see [`OwnStream`](crate::OwnStream). The events are not in
    /// the log: other streams do not see them. They are numbered `0-1`, `0-2`, …, and after the last
    /// the stream sends [`tidings_wire::End`] (a tidings client stops on it), so that
    /// [`OwnStream::resume`](crate::OwnStream::resume) answers any other client that got it all
    /// with `204` (a browser stops) and one cut off mid-way after what it has.
    ///
    /// # Examples
    ///
    /// A `POST` that streams its answer piece by piece and ends with a final event:
    ///
    /// ```
    /// use axum::extract::State;
    /// use axum::routing::post;
    /// use futures::StreamExt;
    /// use serde::{Deserialize, Serialize};
    /// use tidings_axum::{Hub, LastEventId, OwnStream};
    ///
    /// #[derive(Serialize, Deserialize)]
    /// #[serde(tag = "kind", rename_all = "snake_case")]
    /// enum Answer {
    ///     Piece { text: String },
    ///     Done { pieces: usize },
    /// }
    /// impl tidings_wire::Event for Answer {
    ///     const NAME: &'static str = "answer";
    /// }
    ///
    /// // A client that got the whole answer and asks again gets 204; one cut off mid-way gets
    /// // the pieces it lacks (the answer is made again the same from the question).
    /// async fn ask(State(hub): State<Hub>, last: LastEventId, question: String) -> OwnStream {
    ///     let words: Vec<String> = question.split_whitespace().map(str::to_owned).collect();
    ///     let pieces = words.len();
    ///     let answer = futures::stream::iter(words)
    ///         .then(|word| async move {
    ///             tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    ///             Answer::Piece { text: word }
    ///         })
    ///         .chain(futures::stream::once(async move { Answer::Done { pieces } }));
    ///     hub.stream_from(answer).resume(last)
    /// }
    ///
    /// let hub = Hub::new();
    /// let app: axum::Router = axum::Router::new().route("/ask", post(ask)).with_state(hub);
    /// # let _ = app;
    /// ```
    pub fn stream_from<T: Event + Send>(
        &self,
        items: impl futures::Stream<Item = T> + Send + 'static,
    ) -> crate::OwnStream {
        crate::OwnStream::new(Arc::clone(&self.inner), items)
    }

    /// A stream of ready records, with the hub's `retry:`, `hello`, heartbeats, drain and keys
    /// (see [`OwnStream`](crate::OwnStream)): records the handler read itself (from
    /// [`log`](Self::log) after the client's id, from a store of its own, a page of history),
    /// each sent with its own id and name, its frame encoded once and shared. Their order and
    /// what to start from are the handler's; when they end, the stream sends
    /// [`tidings_wire::End`], so that [`OwnStream::resume`](crate::OwnStream::resume) answers a
    /// client that got it all with `204`.
    ///
    /// # Examples
    ///
    /// The stored history of a topic, after the client's id, then the end:
    ///
    /// ```
    /// use axum::extract::State;
    /// use tidings_axum::{EventId, Hub, LastEventId, OwnStream, Topic};
    ///
    /// async fn history(State(hub): State<Hub>, last: LastEventId) -> OwnStream {
    ///     let start = EventId::new(hub.log().epoch(), 0);
    ///     let after = last.as_deref().and_then(|id| id.parse().ok()).unwrap_or(start);
    ///     let notes = Topic::from_static("notes");
    ///     let records = hub.log().read_after(after).await.unwrap_or_default();
    ///     let records = records.into_iter().filter(move |record| record.topic == notes);
    ///     hub.stream_records(futures::stream::iter(records)).resume(last)
    /// }
    /// let app: axum::Router =
    ///     axum::Router::new().route("/history", axum::routing::get(history)).with_state(Hub::new());
    /// # let _ = app;
    /// ```
    pub fn stream_records(
        &self,
        records: impl futures::Stream<Item = Arc<crate::Record>> + Send + 'static,
    ) -> crate::OwnStream {
        crate::OwnStream::of_records(Arc::clone(&self.inner), records)
    }

    /// Closes the open stream whose `hello` carried `key`, without a word (as a dropped
    /// connection: its client reconnects and resumes by id). Whether such a stream was open.
    ///
    /// # Examples
    ///
    /// ```
    /// let hub = tidings_axum::Hub::new();
    /// let key: tidings_axum::StreamKey = "0123456789abcdef0123456789abcdef".parse()?;
    /// assert!(!hub.close_stream(key), "no stream has it");
    /// # Ok::<(), tidings_axum::InvalidStreamKey>(())
    /// ```
    pub fn close_stream(&self, key: crate::StreamKey) -> bool {
        self.inner.close(key.bits())
    }

    /// Closes every open stream without a word; their clients reconnect and resume by id.
    ///
    /// # Examples
    ///
    /// ```
    /// tidings_axum::Hub::new().close_all_streams();
    /// ```
    pub fn close_all_streams(&self) {
        self.inner.close_all();
    }

    /// How many streams are open.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(tidings_axum::Hub::new().open_streams(), 0);
    /// ```
    pub fn open_streams(&self) -> usize {
        self.inner.open_streams()
    }

    /// Drains: every open stream sends `shutdown` (with a `retry:` between the hint and twice
    /// it, so clients do not all come back at once) and ends; streams opened later end at once
    /// the same way. Call it when the server shuts down, before waiting for connections. Named
    /// as tokio-util's `cancel`, `cancelled` and `is_cancelled` are: `drain`, then
    /// [`drain_started`](Self::drain_started) and [`is_draining`](Self::is_draining).
    ///
    /// # Examples
    ///
    /// ```
    /// let hub = tidings_axum::Hub::new();
    /// hub.drain();
    /// assert!(hub.is_draining());
    /// ```
    pub fn drain(&self) {
        self.inner.drain();
    }

    /// Whether [`drain`](Self::drain) was called.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!tidings_axum::Hub::new().is_draining());
    /// ```
    pub fn is_draining(&self) -> bool {
        self.inner.is_draining()
    }

    /// Completes once [`drain`](Self::drain) is called: for background publishers that should
    /// stop with the streams.
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let hub = tidings_axum::Hub::new();
    /// let waiting = tokio::spawn({
    ///     let hub = hub.clone();
    ///     async move { hub.drain_started().await }
    /// });
    /// hub.drain();
    /// waiting.await.unwrap();
    /// # });
    /// ```
    pub async fn drain_started(&self) {
        self.inner.drain_started().await;
    }

    /// The newest id given out, or `<epoch>-0` before the first: "every event up to here".
    ///
    /// # Examples
    ///
    /// ```
    /// let hub = tidings_axum::Hub::builder().log(tidings_axum::MemoryLog::new(5, 10)).build();
    /// assert_eq!(hub.head_or_start().to_string(), "5-0");
    /// ```
    pub fn head_or_start(&self) -> EventId {
        self.log().head().unwrap_or_else(|| EventId::new(self.log().epoch(), 0))
    }
}

impl Default for Hub {
    fn default() -> Self {
        Self::new()
    }
}
