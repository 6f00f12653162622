//! The demo's own state (recent comments, the ticker's value) and the routes that change it.
//!
//! Every change is published to the log while the state's lock is held, so a snapshot taken under
//! the same lock is exactly "every event up to the log's head".

use std::collections::hash_map::Entry;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use tidings_demo_events::{
    Comment, DemoSnapshot, DemoTopic, NewComment, Tick, Typing, TypingRequest,
};

use crate::clock::now_ms;
use crate::demo_state::DemoState;
use crate::json_body::ValidJson;
use crate::{ApiError, AppState};

/// How many comments the state keeps.
const KEPT_COMMENTS: usize = 50;
/// How long presence changes are gathered into one `presence` event.
const PRESENCE_EVERY: Duration = Duration::from_millis(50);
/// One `typing` event per author per this long; more requests are accepted and coalesced.
const TYPING_EVERY: Duration = Duration::from_secs(1);

/// `POST /api/comments {author, text}` → `201` with the stored comment, broadcast as `comment`.
pub(crate) async fn post_comment(
    State(state): State<AppState>,
    ValidJson(new): ValidJson<NewComment>,
) -> Result<(StatusCode, Json<Comment>), ApiError> {
    let new = new.validated()?;
    let mut demo = state.demo().lock().await;
    let comment = Comment {
        id: demo.last_comment_id + 1,
        author: new.author,
        text: new.text,
        at_ms: now_ms(),
    };
    state.hub().publish(&DemoTopic::Comments.topic(), &comment).await?;
    demo.last_comment_id = comment.id;
    demo.comments.push_back(comment.clone());
    while demo.comments.len() > KEPT_COMMENTS {
        demo.comments.pop_front();
    }
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

/// `GET /api/state`: the state and the id it is current at.
pub(crate) async fn snapshot(State(state): State<AppState>) -> Json<DemoSnapshot> {
    let demo = state.demo().lock().await;
    Json(DemoSnapshot {
        at: state.hub().log().head(),
        comments: demo.comments.iter().cloned().collect(),
        ticker: demo.ticker,
        presence: demo.presence(),
        boards: demo.boards.clone(),
    })
}

/// Publishes a tick and remembers it as the ticker's value.
pub(crate) async fn publish_tick(state: &AppState, tick: Tick) -> Result<(), ApiError> {
    let mut demo = state.demo().lock().await;
    state.hub().publish(&DemoTopic::Ticker.topic(), &tick).await?;
    demo.ticker = Some(tick);
    Ok(())
}

/// Counts an open stream (under its display name, if any); the returned guard counts it out
/// again when the stream is dropped. `presence` goes out coalesced (see [`schedule_presence`]).
pub(crate) async fn join(state: &AppState, name: Option<String>) -> PresenceGuard {
    let mut demo = state.demo().lock().await;
    demo.connections += 1;
    if let Some(name) = &name {
        *demo.online.entry(name.clone()).or_default() += 1;
    }
    schedule_presence(state, &mut demo);
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
    schedule_presence(&state, &mut demo);
}

/// Presence is a latest-value topic: a burst of joins and leaves (a thousand clients
/// reconnecting after a restart) becomes one event with the final state, sent
/// [`PRESENCE_EVERY`] after the first change of the burst.
fn schedule_presence(state: &AppState, demo: &mut DemoState) {
    if demo.presence_scheduled {
        return;
    }
    demo.presence_scheduled = true;
    let state = state.clone();
    tokio::spawn(async move {
        tokio::time::sleep(PRESENCE_EVERY).await;
        let mut demo = state.demo().lock().await;
        demo.presence_scheduled = false;
        let presence = demo.presence();
        if let Err(error) = state.hub().publish(&DemoTopic::Presence.topic(), &presence).await {
            tracing::error!(%error, "cannot publish presence");
        }
    });
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
