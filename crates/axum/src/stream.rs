//! One resumable stream of some topics, as an axum response.
//!
//! What a stream sends, in order:
//! 1. `retry:` and a `hello` (flushed at once);
//! 2. when resuming: every stored event of its topics after that id, or a `resync` if the id
//!    cannot be served (its `id:` moves the client to the log's head);
//! 3. live events, a `heartbeat` (no id) every heartbeat interval, and on drain a `shutdown`
//!    with a jittered `retry:` before the stream ends.
//!
//! No gap, no duplicate: the stream subscribes to live events *before* it reads the backlog, and
//! then drops live events at or below the last id it has covered.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tidings_wire::{Event, EventId, Topic};

use crate::direct::Tapped;
use crate::last_event_id::LastEventId;
use crate::live::{self, Spec};
use crate::registration::Guards;
use crate::shared::Shared;
use crate::{Record, frames};

/// A resumable Server-Sent Events stream of some topics, made by [`Hub::stream`](crate::Hub::stream); return it from
/// a handler (it is an axum response).
///
/// Headers: `Content-Type: text/event-stream`, `Cache-Control: no-cache, no-transform`,
/// `X-Accel-Buffering: no` (so nginx does not buffer it). The body is never compressed by this
/// crate; keep compression layers off event-stream routes.
///
/// # Examples
///
/// ```
/// use axum::extract::State;
/// use tidings_axum::{EventStream, Hub, LastEventId};
/// use tidings_wire::Topic;
///
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct Done {
///     ok: bool,
/// }
/// impl tidings_wire::Event for Done {
///     const NAME: &'static str = "done";
/// }
///
/// /// `GET /jobs/{id}/events`: one job's events, from its start unless the client resumes, ending
/// /// after the job's `done` event.
/// async fn job_events(State(hub): State<Hub>, last: LastEventId) -> EventStream {
///     let started_after = tidings_wire::EventId::new(hub.log().epoch(), 0);
///     hub.stream([Topic::from_static("jobs:1")])
///         .resume(last)
///         .start_after(started_after)
///         .end_after::<Done>()
/// }
/// # let _ = job_events;
/// ```
#[must_use = "a stream does nothing until it is returned as a response"]
pub struct EventStream {
    spec: Spec,
}

impl fmt::Debug for EventStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventStream")
            .field("topics", &self.spec.topics)
            .field("resume_from", &self.spec.resume_from)
            .field("start_after", &self.spec.start_after)
            .field("end_after", &self.spec.end_after)
            .field("close_at", &self.spec.close_at)
            .field("filtered", &self.spec.filter.is_some())
            .field("guarded", &!self.spec.guards.is_empty())
            .finish_non_exhaustive()
    }
}

impl EventStream {
    pub(crate) fn new(shared: Arc<Shared>, topics: BTreeSet<Topic>) -> Self {
        Self {
            spec: Spec {
                shared,
                topics,
                filter: None,
                resume_from: None,
                start_after: None,
                end_after: None,
                close_at: None,
                guards: Guards::default(),
            },
        }
    }

    /// Resumes after the id the client sent (its `Last-Event-ID` header, or the query
    /// parameter): the stream first sends every stored event of its topics after it, or a
    /// `resync` when the id cannot be served (malformed, another epoch, no longer kept, from the
    /// future). Without an id, the stream starts live (or after
    /// [`start_after`](Self::start_after)). A client whose last id is
    /// [`End::ID`](tidings_wire::End::ID) was told its stream ended: it gets `204 No Content`.
    ///
    /// # Examples
    ///
    /// ```
    /// let hub = tidings_axum::Hub::new();
    /// let last = tidings_axum::LastEventId::new(Some("1-41".to_owned()));
    /// let stream = hub.stream([tidings_wire::Topic::from_static("notes")]).resume(last);
    /// # let _ = stream;
    /// ```
    pub fn resume(mut self, last: LastEventId) -> Self {
        self.spec.resume_from = last.into_inner();
        self
    }

    /// Where to start when the client sends no id: right after `id` (the stream replays what
    /// came after it, e.g. a job's events from the job's start).
    ///
    /// # Examples
    ///
    /// ```
    /// let hub = tidings_axum::Hub::new();
    /// let start = hub.head_or_start();
    /// let stream = hub.stream([tidings_wire::Topic::from_static("jobs:7")]).start_after(start);
    /// # let _ = stream;
    /// ```
    pub fn start_after(mut self, id: EventId) -> Self {
        self.spec.start_after = Some(id);
        self
    }

    /// Ends the stream (cleanly) right after it sends an event of type `T` (named `T::NAME`),
    /// followed by [`tidings_wire::End`]: a finished job's stream, say. A tidings client stops
    /// on `end`; any other `EventSource` reconnects with its id ([`End::ID`](tidings_wire::End::ID))
    /// as its last, and a stream [`resume`](Self::resume)d from it answers `204 No Content`,
    /// which stops a browser for good. A client that comes back later with an id from before the
    /// end is replayed the rest and the end again; a handler that knows the job is over may
    /// answer `204` itself.
    ///
    /// # Examples
    ///
    /// ```
    /// #[derive(serde::Serialize, serde::Deserialize)]
    /// struct Complete {
    ///     ok: bool,
    /// }
    /// impl tidings_wire::Event for Complete {
    ///     const NAME: &'static str = "complete";
    /// }
    ///
    /// let hub = tidings_axum::Hub::new();
    /// let stream = hub.stream([tidings_wire::Topic::from_static("jobs:7")]).end_after::<Complete>();
    /// # let _ = stream;
    /// ```
    pub fn end_after<T: Event>(mut self) -> Self {
        self.spec.end_after = Some(T::NAME);
        self
    }

    /// Sends only the records of its topics that `keep` admits, live and when resuming: for
    /// what topics cannot say, such as a record one user may not see. Called again, both
    /// filters must admit a record.
    ///
    /// A topic per audience (`user:42`) is the first tool: it costs nothing per record, and a
    /// stream of several topics merges them in id order. A filter runs for every record of the
    /// stream's topics, on the stream's task; keep it cheap (a look at the record's name, or a
    /// field parsed once into a set it shares). Resuming stays exact: a record filtered out
    /// counts as seen, so a client that comes back after it gets the next one it may see, no
    /// gap and no repeat.
    ///
    /// Ids are the log's, shared by every topic: a client sees how many records were published
    /// between two of its own (not what they were). Where that matters, give such records a log
    /// of their own (a second [`Hub`](crate::Hub)).
    ///
    /// # Examples
    ///
    /// ```
    /// use tidings_axum::Record;
    ///
    /// let hub = tidings_axum::Hub::new();
    /// let user = "ann".to_owned();
    /// // Every note, but the private ones only to their author (written in the record's data).
    /// let stream = hub.stream([tidings_wire::Topic::from_static("notes")]).filter(
    ///     move |record: &Record| {
    ///         &*record.name != "private_note" || record.data.contains(&format!("\"to\":\"{user}\""))
    ///     },
    /// );
    /// # let _ = stream;
    /// ```
    pub fn filter(mut self, keep: impl Fn(&Record) -> bool + Send + Sync + 'static) -> Self {
        self.spec.filter = Some(match self.spec.filter.take() {
            None => Box::new(keep),
            Some(earlier) => Box::new(move |record: &Record| earlier(record) && keep(record)),
        });
        self
    }

    /// Closes the stream at `deadline`, as [`Hub::close_stream`](crate::Hub::close_stream)
    /// does: no `end` is sent, so the client reconnects and resumes after its last id, with no
    /// gap and no repeat. For a stream whose right to read expires (a token's lifetime): the
    /// reconnect is a new request, which a client that refreshes its token (tidings's fetch
    /// transport with a header function) makes with a fresh one, and which the route checks
    /// again.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let hub = tidings_axum::Hub::new();
    /// // The token this request showed is good for five more minutes.
    /// let expires = tokio::time::Instant::now() + Duration::from_secs(300);
    /// let stream = hub.stream([tidings_wire::Topic::from_static("notes")]).close_at(expires);
    /// # let _ = stream;
    /// ```
    pub fn close_at(mut self, deadline: tokio::time::Instant) -> Self {
        self.spec.close_at = Some(deadline);
        self
    }

    /// Keeps `guard` as long as the stream lives and drops it when the stream ends, whatever
    /// ends it (the client leaving, a close, a drain): the hook for per-stream bookkeeping, such
    /// as counting who is online.
    ///
    /// # Examples
    ///
    /// ```
    /// struct Online; // counts a user in on creation, out in its Drop
    /// let hub = tidings_axum::Hub::new();
    /// let stream = hub.stream([tidings_wire::Topic::from_static("chat")]).guard(Online);
    /// # let _ = stream;
    /// ```
    pub fn guard(mut self, guard: impl Send + 'static) -> Self {
        self.spec.guards.add(guard);
        self
    }
}

impl IntoResponse for EventStream {
    fn into_response(self) -> Response {
        if self.spec.resume_from.as_deref().is_some_and(frames::is_finished) {
            return StatusCode::NO_CONTENT.into_response();
        }
        let (body, tap) = live::body(self.spec);
        let mut response = frames::response_of(body);
        // For the lean path: the hub's writers may write this stream's live records straight
        // to its socket (`direct.rs`).
        response.extensions_mut().insert(Tapped(tap));
        response
    }
}
