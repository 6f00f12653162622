//! The demo's routes that change its state (comments, typing) and read it (`/api/state`), and
//! presence: each node counts its own streams and reports them on the log; the leading node
//! publishes everyone's together (see `projection.rs`).
//!
//! Routes publish and then wait until the projection applied their record, so a snapshot taken
//! right after a `201` holds what was posted.

use std::collections::hash_map::Entry;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use tidings_demo_events::{
    Comment, DemoSnapshot, DemoTopic, NewComment, Tick, Typing, TypingRequest,
};
use tidings_wire::EventId;

use crate::clock::now_ms;
use crate::json_body::ValidJson;
use crate::membership::{NodeReport, cluster_topic};
use crate::{ApiError, AppState};

/// How long presence changes are gathered into one report (and one `presence` event).
const PRESENCE_EVERY: Duration = Duration::from_millis(50);
/// One `typing` event per author per this long; more requests are accepted and coalesced.
const TYPING_EVERY: Duration = Duration::from_secs(1);

/// A number no other node will give (53 random bits: exact in JavaScript too).
pub(crate) fn unique_id() -> u64 {
    fastrand::u64(1..(1 << 53))
}

/// `POST /api/comments {author, text}` → `201` with the stored comment, broadcast as `comment`.
pub(crate) async fn post_comment(
    State(state): State<AppState>,
    ValidJson(new): ValidJson<NewComment>,
) -> Result<(StatusCode, Json<Comment>), ApiError> {
    let new = new.validated()?;
    let comment = Comment { id: unique_id(), author: new.author, text: new.text, at_ms: now_ms() };
    let record = state.hub().publish(&DemoTopic::Comments.topic(), &comment).await?;
    state.projection().caught_up(record.id).await;
    Ok((StatusCode::CREATED, Json(comment)))
}

/// `POST /api/typing {author}` → `204`; a `typing` event at most once a second per author.
pub(crate) async fn post_typing(
    State(state): State<AppState>,
    ValidJson(request): ValidJson<TypingRequest>,
) -> Result<StatusCode, ApiError> {
    let request = request.validated()?;
    let mut demo = state.demo().lock().await;
    let now = Instant::now();
    demo.typing_sent.retain(|_, sent| now.duration_since(*sent) < TYPING_EVERY);
    if let Entry::Vacant(entry) = demo.typing_sent.entry(request.author) {
        let typing = Typing { author: entry.key().clone(), at_ms: now_ms() };
        state.hub().publish(&DemoTopic::Typing.topic(), &typing).await?;
        entry.insert(now);
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/state`: the state and the id it is current at (every event up to `at` applied).
pub(crate) async fn snapshot(State(state): State<AppState>) -> Json<DemoSnapshot> {
    let view = state.projection().view();
    Json(DemoSnapshot {
        at: view.at,
        comments: view.comments.iter().cloned().collect(),
        ticker: view.ticker,
        presence: view.presence(),
        boards: view.boards.clone(),
    })
}

/// Publishes the tick after `last` (the last the log has, or one this node just published) with
/// `value`; the caller waits for it to be applied before it reads the view again.
pub(crate) async fn publish_tick(
    state: &AppState,
    last: Option<Tick>,
    value: f64,
) -> Result<(Tick, EventId), ApiError> {
    let seq = last.map_or(1, |tick| tick.seq + 1);
    let tick = Tick { seq, value, at_ms: now_ms() };
    let record = state.hub().publish(&DemoTopic::Ticker.topic(), &tick).await?;
    Ok((tick, record.id))
}

/// Counts an open stream (under its display name, if any); the returned guard counts it out
/// again when the stream is dropped. The node's report goes out coalesced (see [`report_soon`]).
pub(crate) async fn join(state: &AppState, name: Option<String>) -> PresenceGuard {
    let mut demo = state.demo().lock().await;
    demo.connections += 1;
    if let Some(name) = &name {
        *demo.online.entry(name.clone()).or_default() += 1;
    }
    report_soon(state, &mut demo);
    PresenceGuard { state: state.clone(), name }
}

async fn leave(state: AppState, name: Option<String>) {
    let mut demo = state.demo().lock().await;
    demo.connections = demo.connections.saturating_sub(1);
    if let Some(name) = name
        && let Some(count) = demo.online.get_mut(&name)
    {
        *count -= 1;
        if *count == 0 {
            demo.online.remove(&name);
        }
    }
    report_soon(&state, &mut demo);
}

/// Presence is a latest-value topic: a burst of joins and leaves (a thousand clients
/// reconnecting after a restart) becomes one report with the final counts, sent
/// [`PRESENCE_EVERY`] after the first change of the burst, then (on the leading node) one
/// `presence` event.
fn report_soon(state: &AppState, demo: &mut crate::demo_state::DemoState) {
    if demo.report_scheduled {
        return;
    }
    demo.report_scheduled = true;
    let state = state.clone();
    tokio::spawn(async move {
        tokio::time::sleep(PRESENCE_EVERY).await;
        report(&state).await;
        publish_presence(&state).await;
    });
}

/// Publishes this node's streams on the internal `cluster` topic, and waits until applied.
pub(crate) async fn report(state: &AppState) {
    let report = {
        let mut demo = state.demo().lock().await;
        demo.report_scheduled = false;
        NodeReport {
            node: state.node().to_owned(),
            online: demo.online.clone(),
            connections: demo.connections,
        }
    };
    match state.hub().publish(&cluster_topic(), &report).await {
        Ok(record) => state.projection().caught_up(record.id).await,
        Err(error) => tracing::error!(%error, "cannot report this node's streams"),
    }
}

/// On the leading node: publishes every node's streams together, when that changed.
pub(crate) async fn publish_presence(state: &AppState) {
    let (leads, presence, told) = {
        let view = state.projection().view();
        (view.members.leads(), view.presence(), view.last_presence.clone())
    };
    // Compared with the last presence in the log (whoever published it), not this node's last.
    if !leads || told.as_ref() == Some(&presence) {
        return;
    }
    match state.hub().publish(&DemoTopic::Presence.topic(), &presence).await {
        Ok(record) => state.projection().caught_up(record.id).await,
        Err(error) => tracing::error!(%error, "cannot publish presence"),
    }
}

/// Held by an open stream; dropping it counts the stream out of [`Presence`].
#[derive(Debug)]
pub(crate) struct PresenceGuard {
    state: AppState,
    name: Option<String>,
}

impl Drop for PresenceGuard {
    fn drop(&mut self) {
        // Streams are dropped inside the runtime; outside it (the runtime is going away) there is
        // nobody left to tell.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(leave(self.state.clone(), self.name.take()));
        }
    }
}
