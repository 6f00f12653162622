//! A stream of the application's own events (made by a handler, not read from the log), with
//! what a hub stream has around it: `retry:` and `hello`, heartbeats while it is quiet, the
//! drain's `shutdown`, closing by key, and (through [`serve`](crate::serve)) the write deadline
//! and the lean path. It has no ids (there is nothing to resume from) and ends when its items
//! do.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;

use axum::body::Bytes;
use axum::response::{IntoResponse, Response};
use futures::{Stream, StreamExt, stream};
use tidings_wire::Event;
use tokio::sync::broadcast;
use tokio::time::{Interval, MissedTickBehavior, interval_at};

use crate::frames as hub_stream;
use crate::registration::{Guards, Open};
use crate::shared::Shared;
use crate::sse;
use crate::stream_key::StreamKey;

/// A stream of the application's own events, made by [`Hub::stream_from`](crate::Hub::stream_from);
/// return it from a handler (it is an axum response).
///
/// What it sends: `retry:` and a `hello` (with the key [`Hub::close_stream`](crate::Hub::close_stream)
/// takes), then each item as an event named `T::NAME` with its JSON as data, a `heartbeat`
/// whenever it is quiet for the hub's heartbeat interval, and on [`Hub::drain`](crate::Hub::drain)
/// a `shutdown` with a jittered `retry:`. It ends when the items end (or on drain, or closed by
/// key), which closes the response.
///
/// Its events have no ids: a client that reconnects (an `EventSource` does, after the end) calls
/// the handler again. End with an event that tells the page it is finished (a tidings client
/// closes on it), or, for an answer a client may come back to, publish the pieces to a topic and
/// stream that with [`Hub::stream`](crate::Hub::stream) and
/// [`end_after`](crate::EventStream::end_after): it resumes by id.
#[must_use = "a stream does nothing until it is returned as a response"]
pub struct OwnStream {
    shared: Arc<Shared>,
    items: Pin<Box<dyn Stream<Item = Bytes> + Send>>,
    guards: Guards,
}

impl fmt::Debug for OwnStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnStream")
            .field("guarded", &!self.guards.is_empty())
            .finish_non_exhaustive()
    }
}

impl OwnStream {
    pub(crate) fn new<T: Event + Send>(
        shared: Arc<Shared>,
        items: impl Stream<Item = T> + Send + 'static,
    ) -> Self {
        let frames = items.filter_map(|item| async move {
            match serde_json::to_string(&item) {
                Ok(data) => Some(sse::event(None, T::NAME, &data)),
                Err(error) => {
                    tracing::error!(%error, name = T::NAME, "an event did not serialise; left out");
                    None
                }
            }
        });
        Self { shared, items: Box::pin(frames), guards: Guards::default() }
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
        let Self { shared, items, guards } = self;
        let key = StreamKey::random();
        let heartbeat = shared.heartbeat;
        let mut heartbeats = interval_at(tokio::time::Instant::now() + heartbeat, heartbeat);
        heartbeats.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let live = Live {
            opening: Some(hub_stream::opening(&shared, key)),
            items,
            heartbeats,
            closes: shared.hints(),
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
        hub_stream::response_of(self.into_body())
    }
}

/// The state of one own stream.
struct Live {
    opening: Option<Bytes>,
    items: Pin<Box<dyn Stream<Item = Bytes> + Send>>,
    heartbeats: Interval,
    closes: broadcast::Receiver<()>,
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
                _ = self.closes.recv() => {
                    if !self.open.shared.is_draining() && self.open.is_closed() {
                        return None;
                    }
                }
                item = self.items.next() => {
                    let frame = item?;
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
