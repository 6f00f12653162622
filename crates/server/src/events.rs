//! `GET /api/events`: one multiplexed, resumable stream of the topics a client asks for.
//!
//! What a stream sends, in order:
//! 1. `retry:` and a `hello` (flushed at once);
//! 2. when resuming (`Last-Event-ID` header, else `lastEventId` query parameter): every stored
//!    event after that id, or a `resync` if the id cannot be served;
//! 3. live events, a `heartbeat` (no id) every heartbeat interval, and at shutdown a `shutdown`
//!    with a jittered `retry:` before the stream ends.
//!
//! No gap, no duplicate: the stream subscribes to live events *before* it reads the backlog, and
//! then drops live events at or below the last id it has covered.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderName};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;
use futures::{Stream, StreamExt, stream};
use serde::Deserialize;
use tidings_demo_events::check_display_name;
use tidings_wire::{
    Event, EventId, Heartbeat, Hello, Resync, ResyncReason, Shutdown, Topic, is_valid_topic_id,
};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::time::{Interval, MissedTickBehavior, interval_at};
use tokio_util::sync::WaitForCancellationFutureOwned;

use crate::clock::now_ms;
use crate::demo::{self, PresenceGuard};
use crate::event_log::Record;
use crate::metrics as m;
use crate::state::DropOrder;
use crate::{ApiError, AppState, sse};

const X_ACCEL_BUFFERING: HeaderName = HeaderName::from_static("x-accel-buffering");
/// The header a browser resumes with.
pub(crate) const LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");
/// More topics than this in one request is refused.
const MAX_TOPICS: usize = 32;

/// The query string of a stream.
#[derive(Debug, Deserialize)]
pub(crate) struct EventsQuery {
    /// Comma-separated topics; none means [`Topic::DEFAULT_SET`].
    pub(crate) topics: Option<String>,
    /// Where to resume when there is no `Last-Event-ID` header.
    #[serde(rename = "lastEventId")]
    last_event_id: Option<String>,
    /// A display name for presence.
    name: Option<String>,
}

/// `GET /api/events`: the topics of the `topics` parameter, or the default set.
pub(crate) async fn stream(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<EventsQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let query = checked(query)?;
    let topics = parse_topics(query.topics.as_deref())?;
    let request = StreamRequest::new(&headers, query, topics)?.counted_in_presence();
    Ok(open(state, request).await)
}

/// `id` if it can name a board or job topic (`code` names the error otherwise, `what` the thing).
pub(crate) fn topic_id(id: String, code: &'static str, what: &str) -> Result<String, ApiError> {
    if is_valid_topic_id(&id) {
        Ok(id)
    } else {
        Err(ApiError::BadRequest {
            code,
            detail: format!("a {what} id is 1 to 64 ASCII letters, digits, `-` or `_`"),
        })
    }
}

/// The query string, or a JSON 400 (e.g. a parameter given twice).
pub(crate) fn checked(
    query: Result<Query<EventsQuery>, QueryRejection>,
) -> Result<EventsQuery, ApiError> {
    query.map(|Query(query)| query).map_err(|rejection| ApiError::BadRequest {
        code: "invalid_query",
        detail: rejection.body_text(),
    })
}

/// What one stream carries, from its request.
#[derive(Debug)]
pub(crate) struct StreamRequest {
    topics: BTreeSet<Topic>,
    resume_from: Option<ResumeFrom>,
    name: Option<String>,
    /// End the stream after sending an event of this name (a finished job).
    end_after: Option<&'static str>,
    /// Where to start when the client does not resume (a job's stream starts at the job).
    start_after: Option<EventId>,
    /// Whether this stream counts in `presence`.
    counted: bool,
}

impl StreamRequest {
    /// The resume point (header first: the browser keeps the URL, and so the query, across its
    /// own reconnects and sends the newer id in the header) and the checked display name.
    pub(crate) fn new(
        headers: &HeaderMap,
        query: EventsQuery,
        topics: BTreeSet<Topic>,
    ) -> Result<Self, ApiError> {
        let resume_from = match headers.get(LAST_EVENT_ID) {
            Some(value) => Some(String::from_utf8_lossy(value.as_bytes()).into_owned()),
            None => query.last_event_id,
        }
        .filter(|text| !text.is_empty())
        .map(ResumeFrom::Text);
        let name = query.name.map(|name| check_display_name("name", &name)).transpose().map_err(
            |error| ApiError::BadRequest { code: "invalid_query", detail: error.to_string() },
        )?;
        Ok(Self { topics, resume_from, name, end_after: None, start_after: None, counted: false })
    }

    /// The id the client resumes from, if it sent one that parses.
    pub(crate) fn resume_id(&self) -> Option<EventId> {
        self.resume_from.as_ref()?.id().ok()
    }

    /// Drops the client's resume point (the stream then starts where `starting_after` says).
    pub(crate) fn forget_resume_point(mut self) -> Self {
        self.resume_from = None;
        self
    }

    /// Without a resume point from the client, starts after `id`.
    pub(crate) fn starting_after(mut self, id: EventId) -> Self {
        self.start_after = Some(id);
        self
    }

    /// Counts the stream (under its `name`) in `presence` while it is open.
    pub(crate) fn counted_in_presence(mut self) -> Self {
        self.counted = true;
        self
    }

    /// Ends the stream after an event named `name`.
    pub(crate) fn ending_after(mut self, name: &'static str) -> Self {
        self.end_after = Some(name);
        self
    }
}

/// Where a stream resumes: an id the client sent (unchecked text), or one the server chose.
#[derive(Debug)]
enum ResumeFrom {
    Text(String),
    Id(EventId),
}

impl ResumeFrom {
    fn id(&self) -> Result<EventId, tidings_wire::ParseEventIdError> {
        match self {
            Self::Text(text) => text.parse(),
            Self::Id(id) => Ok(*id),
        }
    }
}

impl std::fmt::Display for ResumeFrom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Text(text) => f.write_str(text),
            Self::Id(id) => write!(f, "{id}"),
        }
    }
}

/// Opens a stream for `request`: opening frames, backlog or resync, then live.
pub(crate) async fn open(state: AppState, request: StreamRequest) -> Response {
    let StreamRequest { topics, resume_from, name, end_after, start_after, counted } = request;
    let resume_from = resume_from.or_else(|| start_after.map(ResumeFrom::Id));
    let log = state.log();
    // Subscribe before reading the backlog, so nothing appended in between is missed.
    let live = log.subscribe();
    let drops = state.drops().subscribe();
    let client_id = state.next_client_id();
    let mut opening = vec![sse::retry(state.config().retry_ms), hello(&state, client_id)];
    let mut covered = None;
    let mut ended = false;
    if let Some(resume_from) = resume_from {
        let text = resume_from.to_string();
        match resume_from.id() {
            Ok(after) => match log.read_after(after).await {
                Ok(backlog) => {
                    covered = Some(backlog.last().map_or(after, |record| record.id));
                    let before = opening.len();
                    for record in backlog.iter().filter(|record| topics.contains(&record.topic)) {
                        opening.push(record.frame.clone());
                        if end_after == Some(record.name) {
                            ended = true;
                            break;
                        }
                    }
                    let replayed = u64::try_from(opening.len() - before).unwrap_or(u64::MAX);
                    metrics::counter!(m::EVENTS_REPLAYED).increment(replayed);
                    metrics::counter!(m::EVENTS_DELIVERED).increment(replayed);
                }
                Err(error) => {
                    covered = log.head();
                    opening.push(resync(error.into(), &text, covered));
                }
            },
            Err(_) => {
                covered = log.head();
                opening.push(resync(ResyncReason::Malformed, &text, covered));
            }
        }
    }

    let presence = if counted { Some(demo::join(&state, name).await) } else { None };
    let heartbeat = state.config().heartbeat();
    let mut heartbeats = interval_at(tokio::time::Instant::now() + heartbeat, heartbeat);
    heartbeats.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let live = Live {
        receiver: live,
        held: None,
        lagged: false,
        covered,
        topics,
        end_after,
        heartbeats,
        stopping: Box::pin(state.shutdown_token().cancelled_owned()),
        shutdown_retry_ms: jittered(state.config().retry_ms),
        done: ended,
        drops,
        client_id,
        _presence: presence,
        _connected: Connected::new(),
    };
    let body =
        stream::iter(opening).chain(live.into_stream()).map(Ok::<Bytes, std::convert::Infallible>);

    let mut response = Response::new(Body::from_stream(body));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache, no-transform"));
    headers.insert(X_ACCEL_BUFFERING, HeaderValue::from_static("no"));
    response
}

/// `comma,separated` topics, deduplicated; none means the default set.
fn parse_topics(text: Option<&str>) -> Result<BTreeSet<Topic>, ApiError> {
    let invalid = |detail: String| ApiError::BadRequest { code: "invalid_topics", detail };
    let Some(text) = text else { return Ok(Topic::DEFAULT_SET.into_iter().collect()) };
    if text.is_empty() {
        return Err(invalid("`topics` is empty; leave it out for the default set".into()));
    }
    let names: Vec<&str> = text.split(',').collect();
    if names.len() > MAX_TOPICS {
        return Err(invalid(format!("at most {MAX_TOPICS} topics, not {}", names.len())));
    }
    names
        .into_iter()
        .map(|name| name.parse::<Topic>().map_err(|error| invalid(error.to_string())))
        .collect()
}

fn frame_of<T: Event>(id: Option<EventId>, payload: &T) -> Bytes {
    match serde_json::to_string(payload) {
        Ok(data) => sse::event(id, T::NAME, &data),
        Err(error) => unreachable!("control events always serialise: {error}"),
    }
}

fn hello(state: &AppState, client_id: u64) -> Bytes {
    frame_of(
        None,
        &Hello {
            epoch: state.log().epoch(),
            heartbeat_ms: state.config().heartbeat_ms,
            server_version: env!("CARGO_PKG_VERSION").to_owned(),
            client_id,
        },
    )
}

/// A `resync` that also moves the client's last id to `current`, so its next reconnect resumes
/// from there instead of failing the same way.
fn resync(reason: ResyncReason, requested: &str, current: Option<EventId>) -> Bytes {
    let label = match reason {
        ResyncReason::Malformed => "malformed",
        ResyncReason::UnknownEpoch => "unknown_epoch",
        ResyncReason::Evicted => "evicted",
        ResyncReason::FromTheFuture => "from_the_future",
    };
    metrics::counter!(m::RESYNCS, "reason" => label).increment(1);
    let requested = requested.chars().take(128).collect();
    frame_of(current, &Resync { reason, requested, current })
}

/// Somewhere between the retry hint and twice it, so clients told to go away at once do not all
/// come back at once.
fn jittered(retry_ms: u64) -> u64 {
    retry_ms.saturating_add(fastrand::u64(0..=retry_ms))
}

/// A stream this many records behind coalesces latest-value events (see [`is_latest_value`]).
const COALESCE_WHEN_BEHIND: usize = 16;

/// Whether only the newest event of this kind matters: the ticker, presence, a job's progress.
/// Typing is not one (one author's typing does not replace another's).
fn is_latest_value(record: &Record) -> bool {
    match &record.topic {
        Topic::Ticker | Topic::Presence => true,
        Topic::Job(_) => record.name == "progress",
        _ => false,
    }
}

/// The live part of one stream.
struct Live {
    receiver: broadcast::Receiver<Arc<Record>>,
    /// A record taken off the queue while coalescing, sent next.
    held: Option<Arc<Record>>,
    /// The queue overflowed while coalescing: close after the record in hand.
    lagged: bool,
    /// The newest id this stream has already covered (sent, or skipped by a resync).
    covered: Option<EventId>,
    topics: BTreeSet<Topic>,
    end_after: Option<&'static str>,
    heartbeats: Interval,
    stopping: std::pin::Pin<Box<WaitForCancellationFutureOwned>>,
    shutdown_retry_ms: u64,
    done: bool,
    /// Orders to close streams (admin drop).
    drops: broadcast::Receiver<DropOrder>,
    client_id: u64,
    /// Counts this stream in `presence` until it is dropped.
    _presence: Option<PresenceGuard>,
    /// Counts this stream in the connected-clients gauge until it is dropped.
    _connected: Connected,
}

/// One open stream in the `tidings_clients_connected` gauge.
struct Connected;

impl Connected {
    fn new() -> Self {
        metrics::gauge!(m::CLIENTS_CONNECTED).increment(1.0);
        Self
    }
}

impl Drop for Connected {
    fn drop(&mut self) {
        metrics::gauge!(m::CLIENTS_CONNECTED).decrement(1.0);
    }
}

impl Live {
    fn into_stream(self) -> impl Stream<Item = Bytes> + Send {
        stream::unfold(self, |mut live| async move {
            let frame = live.next_frame().await?;
            Some((frame, live))
        })
    }

    async fn next_frame(&mut self) -> Option<Bytes> {
        if self.done {
            return None;
        }
        if let Some(record) = self.held.take() {
            return Some(self.deliver(&record));
        }
        if self.lagged {
            return self.fell_behind();
        }
        loop {
            tokio::select! {
                biased;
                () = &mut self.stopping => {
                    self.done = true;
                    let retry_ms = self.shutdown_retry_ms;
                    return Some(sse::with_retry(retry_ms, &frame_of(None, &Shutdown { retry_ms })));
                }
                received = self.receiver.recv() => match received {
                    Ok(record) => {
                        if !self.wants(&record) {
                            continue;
                        }
                        #[allow(clippy::cast_precision_loss)] // a queue depth is small
                        metrics::histogram!(m::QUEUE_DEPTH).record(self.receiver.len() as f64);
                        let record = self.coalesce(record);
                        return Some(self.deliver(&record));
                    }
                    Err(RecvError::Lagged(_)) => return self.fell_behind(),
                    Err(RecvError::Closed) => return None,
                },
                order = self.drops.recv() => match order {
                    Ok(DropOrder::Client(id)) if id != self.client_id => {}
                    // Closed without a word, like a dropped connection: the browser reconnects
                    // and resumes by id.
                    _ => return None,
                },
                _ = self.heartbeats.tick() => return Some(frame_of(None, &Heartbeat { at_ms: now_ms() })),
            }
        }
    }

    /// Whether this stream sends `record`: not covered yet, and of its topics. Covers it.
    fn wants(&mut self, record: &Record) -> bool {
        if self.covered.is_some_and(|covered| record.id <= covered) {
            return false;
        }
        self.covered = Some(record.id);
        self.topics.contains(&record.topic)
    }

    /// For a stream that is behind, the newest of a run of latest-value records of the same kind
    /// already queued; the first other record is held for the next frame, so order is kept and
    /// every other event is still sent. A stream that keeps up sends every record.
    fn coalesce(&mut self, mut record: Arc<Record>) -> Arc<Record> {
        if !is_latest_value(&record) || self.receiver.len() < COALESCE_WHEN_BEHIND {
            return record;
        }
        loop {
            match self.receiver.try_recv() {
                Ok(next) => {
                    if !self.wants(&next) {
                        continue;
                    }
                    if next.topic == record.topic && next.name == record.name {
                        metrics::counter!(m::EVENTS_COALESCED).increment(1);
                        record = next;
                    } else {
                        self.held = Some(next);
                        return record;
                    }
                }
                Err(broadcast::error::TryRecvError::Lagged(_)) => {
                    self.lagged = true;
                    return record;
                }
                Err(_) => return record,
            }
        }
    }

    fn deliver(&mut self, record: &Record) -> Bytes {
        metrics::counter!(m::EVENTS_DELIVERED).increment(1);
        self.done = self.end_after == Some(record.name);
        record.frame.clone()
    }

    /// The queue overflowed: close, and the browser resumes from the log with its last id.
    fn fell_behind(&mut self) -> Option<Bytes> {
        tracing::warn!("a stream fell behind; closing it so the client resumes");
        metrics::counter!(m::CLIENTS_DROPPED_SLOW).increment(1);
        self.done = true;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_default_dedupe_and_fail_clearly() {
        assert_eq!(parse_topics(None).unwrap().len(), Topic::DEFAULT_SET.len());
        let topics = parse_topics(Some("ticker,board:a,ticker")).unwrap();
        assert_eq!(
            topics.into_iter().collect::<Vec<_>>(),
            [Topic::Ticker, Topic::Board("a".into())]
        );
        for bad in ["", "ticker,", "weather", "board:", "ticker,,comments"] {
            let error = parse_topics(Some(bad)).unwrap_err();
            assert!(
                matches!(error, ApiError::BadRequest { code: "invalid_topics", .. }),
                "{bad:?}"
            );
        }
        let many = vec!["ticker"; MAX_TOPICS + 1].join(",");
        assert!(parse_topics(Some(&many)).is_err());
    }

    #[test]
    fn jitter_stays_between_one_and_two_retries() {
        for _ in 0..100 {
            let value = jittered(1000);
            assert!((1000..=2000).contains(&value));
        }
        assert_eq!(jittered(0), 0);
    }
}
