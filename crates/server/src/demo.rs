//! The demo's routes that change its state (comments, typing) and read it (`/api/state`).
//!
//! Routes publish and then wait until the projection applied their record, so a snapshot taken
//! right after a `201` holds what was posted.

use std::collections::hash_map::Entry;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use tidings_demo_events::{
    Comment, DemoSnapshot, DemoTopic, NewComment, Tick, Typing, TypingRequest,
};
use tidings_wire::EventId;

use crate::clock::now_ms;
use crate::json_body::ValidJson;
use crate::{ApiError, AppState, events};

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

/// The query string of `GET /api/state`.
#[derive(Debug, Deserialize)]
pub(crate) struct SnapshotQuery {
    /// The board whose tasks the snapshot holds; none without it.
    board: Option<String>,
}

/// `GET /api/state[?board=ID]`: the state and the id it is current at (every event up to `at`
/// applied), with the tasks of the board asked for. The lock is held only to take references
/// (the lists are shared, see `projection.rs`); the copy and the JSON are made after.
pub(crate) async fn snapshot(
    State(state): State<AppState>,
    query: Result<Query<SnapshotQuery>, QueryRejection>,
) -> Result<Json<DemoSnapshot>, ApiError> {
    let board = events::checked(query)?
        .board
        .map(|board| events::topic_id(board, "invalid_board", "board"))
        .transpose()?;
    let (at, comments, ticker, presence, tasks) = {
        let view = state.projection().view();
        let tasks =
            board.as_ref().and_then(|board| Some((board, Arc::clone(view.boards.get(board)?))));
        (view.at, Arc::clone(&view.comments), view.ticker, view.presence(), tasks)
    };
    Ok(Json(DemoSnapshot {
        at,
        comments: comments.iter().cloned().collect(),
        ticker,
        presence,
        boards: tasks.map(|(board, tasks)| (board.clone(), tasks.to_vec())).into_iter().collect(),
    }))
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
