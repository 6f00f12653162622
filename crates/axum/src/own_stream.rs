//! A stream of the application's own events (made by a handler, not read from the log), with
//! what a hub stream has around it: `retry:` and `hello`, heartbeats while it is quiet, the
//! drain's `shutdown`, closing by key, and (through [`serve`](crate::serve)) the write deadline
//! and the lean path. Its items are numbered; when they end, it sends `end` (id `0-0`), so a
//! tidings client stops and any other that reconnects gets `204`.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures::{Stream, StreamExt, stream};
use tidings_wire::{End, Event, EventId};
use tokio::sync::broadcast;
use tokio::time::{Interval, MissedTickBehavior, interval_at};

use crate::event_log::Record;
use crate::frames as hub_stream;
use crate::hint::Hint;
use crate::last_event_id::LastEventId;
use crate::registration::{Guards, Open};
use crate::shared::Shared;
use crate::sse;
use crate::stream_key::StreamKey;

/// A stream of the application's own events, made by [`Hub::stream_from`](crate::Hub::stream_from)
/// (items of a contract type) or [`Hub::stream_records`](crate::Hub::stream_records) (ready
/// [`Record`]s); return it from a handler (it is an axum response).
///
/// What it sends: `retry:` and a `hello` (with the key [`Hub::close_stream`](crate::Hub::close_stream)
/// takes), then each item as an event, a `heartbeat` whenever it is quiet for the hub's heartbeat
/// interval, and on [`Hub::drain`](crate::Hub::drain) a `shutdown` with a jittered `retry:`. It
/// ends when the items end (or on drain, or closed by key), which closes the response.
///
/// **Ids, and the end.** The items of [`stream_from`](crate::Hub::stream_from) have the ids
/// `0-1`, `0-2`, … in their order; records keep their own. When the items end, the stream sends
/// [`tidings_wire::End`] with the id [`End::ID`] (`0-0`): a tidings client stops on it (its state
/// reads `Ended`). Any other `EventSource` reconnects after the end with that id, so give the
/// handler's `LastEventId` to [`resume`](Self::resume): a client whose last id is `End::ID` gets
/// `204 No Content`, which stops a browser for good, and the finished answer is not sent
/// twice. A client cut off mid-way (a dropped connection, a drain)
/// comes back with the id of the last item it got, and the stream skips that many items: exact
/// when the handler makes the same items again (a stored answer, a deterministic computation).
/// An answer that cannot be made again is better published to a topic of its own and streamed
/// with [`Hub::stream`](crate::Hub::stream) and [`end_after`](crate::EventStream::end_after),
/// which resumes from the log.
#[must_use = "a stream does nothing until it is returned as a response"]
pub struct OwnStream {
    shared: Arc<Shared>,
    items: Items,
    last: Option<EventId>,
    guards: Guards,
}

/// What an own stream sends, before it is numbered.
enum Items {
    /// Events of one name, as JSON, numbered as they go out.
    Events { name: &'static str, data: Pin<Box<dyn Stream<Item = String> + Send>> },
    /// Frames of records, with their own ids.
    Records(Pin<Box<dyn Stream<Item = Bytes> + Send>>),
}

impl fmt::Debug for OwnStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.items {
            Items::Events { name, .. } => name,
            Items::Records(_) => "records",
        };
        f.debug_struct("OwnStream")
            .field("items", &kind)
            .field("last", &self.last)
            .field("guarded", &!self.guards.is_empty())
            .finish_non_exhaustive()
    }
}

impl OwnStream {
    pub(crate) fn new<T: Event + Send>(
        shared: Arc<Shared>,
        items: impl Stream<Item = T> + Send + 'static,
    ) -> Self {
        let data = items.filter_map(|item| async move {
            match serde_json::to_string(&item) {
                Ok(data) => Some(data),
                Err(error) => {
                    tracing::error!(%error, name = T::NAME, "an event did not serialise; left out");
                    None
                }
            }
        });
        let items = Items::Events { name: T::NAME, data: Box::pin(data) };
        Self { shared, items, last: None, guards: Guards::default() }
    }

    pub(crate) fn of_records(
        shared: Arc<Shared>,
        records: impl Stream<Item = Arc<Record>> + Send + 'static,
    ) -> Self {
        let frames = records.map(|record| record.frame().clone());
        Self {
            shared,
            items: Items::Records(Box::pin(frames)),
            last: None,
            guards: Guards::default(),
        }
    }

    /// Takes up from the client's last id (the handler's [`LastEventId`]): `204 No Content`
    /// for a client whose stream finished ([`End::ID`]); after the first `n` items for a client
    /// whose last item was `0-n`; from the start otherwise. A stream of records only looks for
    /// `End::ID`: the handler chose its records from the id.
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::extract::State;
    /// use tidings_axum::{Hub, LastEventId, OwnStream};
    /// # #[derive(serde::Serialize, serde::Deserialize)] struct Line { text: String }
    /// # impl tidings_wire::Event for Line { const NAME: &'static str = "line"; }
    ///
    /// /// The poem, line by line; a client that has it all gets `204` when it reconnects.
    /// async fn poem(State(hub): State<Hub>, last: LastEventId) -> OwnStream {
    ///     let lines = ["Tyger Tyger, burning bright,", "In the forests of the night;"]
    ///         .map(|text| Line { text: text.to_owned() });
    ///     hub.stream_from(futures::stream::iter(lines)).resume(last)
    /// }
    /// let app: axum::Router =
    ///     axum::Router::new().route("/poem", axum::routing::get(poem)).with_state(Hub::new());
    /// # let _ = app;
    /// ```
    pub fn resume(mut self, last: LastEventId) -> Self {
        self.last = last.as_deref().and_then(|id| id.parse().ok());
        self
    }

    /// Keeps `guard` as long as the stream lives, as [`EventStream::guard`](crate::EventStream::guard).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[derive(serde::Serialize, serde::Deserialize)] struct Piece { text: String }
    /// # impl tidings_wire::Event for Piece { const NAME: &'static str = "piece"; }
    /// struct Counted; // counts the answers being written, say
    /// let hub = tidings_axum::Hub::new();
    /// let stream = hub.stream_from(futures::stream::empty::<Piece>()).guard(Counted);
    /// # let _ = stream;
    /// ```
    pub fn guard(mut self, guard: impl Send + 'static) -> Self {
        self.guards.add(guard);
        self
    }

    fn into_body(self) -> impl Stream<Item = Bytes> + Send {
        let Self { shared, items, last, guards } = self;
        let items: Pin<Box<dyn Stream<Item = Bytes> + Send>> = match items {
            Items::Events { name, data } => {
                let had = last.filter(|last| last.epoch() == 0).map_or(0, EventId::seq);
                let skip = usize::try_from(had).unwrap_or(usize::MAX);
                let numbered = stream::iter(1_u64..).zip(data).skip(skip);
                Box::pin(
                    numbered
                        .map(move |(n, data)| sse::event(Some(EventId::new(0, n)), name, &data)),
                )
            }
            Items::Records(frames) => frames,
        };
        let key = StreamKey::random();
        let heartbeat = shared.heartbeat();
        let mut heartbeats = interval_at(tokio::time::Instant::now() + heartbeat, heartbeat);
        heartbeats.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let live = Live {
            opening: Some(hub_stream::opening(&shared, key)),
            items,
            heartbeats,
            hints: shared.hints(),
            done: false,
            open: Open::new(shared, key),
            _guards: guards,
        };
        stream::unfold(live, |mut live| async move {
            let frame = live.next_frame().await?;
            Some((frame, live))
        })
    }
}

impl IntoResponse for OwnStream {
    fn into_response(self) -> Response {
        if self.last == Some(End::ID) {
            return StatusCode::NO_CONTENT.into_response();
        }
        hub_stream::response_of(self.into_body())
    }
}

/// The state of one own stream.
struct Live {
    opening: Option<Bytes>,
    items: Pin<Box<dyn Stream<Item = Bytes> + Send>>,
    heartbeats: Interval,
    /// Wakes the stream to see whether it was ordered closed (it ignores the hub's heartbeat:
    /// it sends its own after a quiet interval).
    hints: broadcast::Receiver<Hint>,
    done: bool,
    open: Open,
    _guards: Guards,
}

impl Live {
    async fn next_frame(&mut self) -> Option<Bytes> {
        if let Some(opening) = self.opening.take() {
            return Some(opening);
        }
        if self.done {
            return None;
        }
        loop {
            if self.open.shared.is_draining() {
                self.done = true;
                return Some(hub_stream::shutdown_frame(&self.open.shared));
            }
            tokio::select! {
                biased;
                hint = self.hints.recv() => {
                    let may_close = hint != Ok(Hint::Heartbeat);
                    if may_close && !self.open.shared.is_draining() && self.open.is_closed() {
                        return None;
                    }
                }
                item = self.items.next() => {
                    let Some(frame) = item else {
                        self.done = true;
                        return Some(hub_stream::end_frame());
                    };
                    // Quiet is counted from the last event.
                    self.heartbeats.reset();
                    metrics::counter!(crate::metrics::EVENTS_DELIVERED).increment(1);
                    return Some(frame);
                }
                _ = self.heartbeats.tick() => return Some(hub_stream::heartbeat()),
            }
        }
    }
}
