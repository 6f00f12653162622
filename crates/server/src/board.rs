//! Task boards, the kanban pattern: REST to change a board, `task_created`, `task_moved` and
//! `task_deleted` on its topic, and `GET /boards/{board}/events` for one board's stream.

use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use tidings_axum::{EventStream, LastEventId, LastEventIdRejection, Topic};
use tidings_demo_events::{
    DemoTopic, NewTask, Task, TaskCreated, TaskDeleted, TaskMoved, TaskPatch,
};

use crate::client::ClientKey;
use crate::events;
use crate::json_body::ValidJson;
use crate::stream_quota::StreamSlot;
use crate::{ApiError, AppState};

/// At most this many boards; a task for a new board past it is refused.
const MAX_BOARDS: usize = 100;
/// At most this many tasks on one board.
const MAX_TASKS: usize = 100;
/// How long a board just created counts against its client before it shows in the view.
const PENDING: Duration = Duration::from_secs(10);

fn board_id(board: String) -> Result<String, ApiError> {
    events::topic_id(board, "invalid_board", "board")
}

fn topic(board: &str) -> Topic {
    DemoTopic::Board(board.to_owned()).topic()
}

fn no_such_task(board: &str, id: &str) -> ApiError {
    ApiError::NoSuchTask { board: board.to_owned(), id: id.chars().take(40).collect() }
}

/// `POST /boards/{board}/tasks {title, list?}` → `201` with the task; broadcasts `task_created`.
/// A task for a new board creates it, within [`MAX_BOARDS`] and `--boards-per-client`.
pub(crate) async fn create_task(
    State(state): State<AppState>,
    Path(board): Path<String>,
    client: ClientKey,
    ValidJson(new): ValidJson<NewTask>,
) -> Result<(StatusCode, Json<Task>), ApiError> {
    let board = board_id(board)?;
    let new = new.validated()?;
    let is_new = {
        let view = state.projection().view();
        if !view.boards.contains_key(&board) && view.boards.len() >= MAX_BOARDS {
            return Err(ApiError::LimitReached { detail: format!("at most {MAX_BOARDS} boards") });
        }
        if view.boards.get(&board).is_some_and(|tasks| tasks.len() >= MAX_TASKS) {
            return Err(ApiError::LimitReached {
                detail: format!("at most {MAX_TASKS} tasks on a board"),
            });
        }
        !view.boards.contains_key(&board)
    };
    if is_new {
        claim_board(&state, &board, client).await?;
    }
    let task = Task { id: crate::demo::unique_id(), title: new.title, list: new.list };
    let published = state
        .hub()
        .publish(&topic(&board), &TaskCreated { board: board.clone(), task: task.clone() })
        .await;
    if let Ok(record) = &published {
        state.projection().caught_up(record.id).await;
    }
    if is_new {
        let mut demo = state.demo().lock().await;
        if published.is_ok() {
            // In the view now (or soon, on a slow node): it counts while it has tasks.
            if let Some((_, pending)) = demo.board_owners.get_mut(&board) {
                *pending = None;
            }
        } else {
            demo.board_owners.remove(&board);
        }
    }
    published?;
    Ok((StatusCode::CREATED, Json(task)))
}

/// Counts a new board against its client's `--boards-per-client`: the boards it created that
/// still have tasks, or are being created (for at most [`PENDING`]).
async fn claim_board(state: &AppState, board: &str, client: ClientKey) -> Result<(), ApiError> {
    let limit = state.config().boards_per_client;
    let mut demo = state.demo().lock().await;
    {
        let view = state.projection().view();
        demo.board_owners.retain(|board, (_, pending)| {
            view.boards.contains_key(board) || pending.is_some_and(|at| at.elapsed() < PENDING)
        });
    }
    let owned = demo.board_owners.values().filter(|(owner, _)| *owner == client).count();
    if owned >= limit && !demo.board_owners.contains_key(board) {
        return Err(ApiError::LimitReached {
            detail: format!(
                "at most {limit} boards per client; delete the tasks of one of yours to free it"
            ),
        });
    }
    demo.board_owners.entry(board.to_owned()).or_insert((client, Some(Instant::now())));
    Ok(())
}

/// `PATCH /boards/{board}/tasks/{id} {list?, title?}` → the task as it now is; broadcasts
/// `task_moved`.
pub(crate) async fn patch_task(
    State(state): State<AppState>,
    Path((board, id)): Path<(String, String)>,
    ValidJson(patch): ValidJson<TaskPatch>,
) -> Result<Json<Task>, ApiError> {
    let board = board_id(board)?;
    let patch = patch.validated()?;
    let task = {
        let view = state.projection().view();
        id.parse::<u64>()
            .ok()
            .and_then(|number| view.boards.get(&board)?.iter().find(|task| task.id == number))
            .cloned()
            .ok_or_else(|| no_such_task(&board, &id))?
    };
    let mut changed = task;
    if let Some(list) = patch.list {
        changed.list = list;
    }
    if let Some(title) = patch.title {
        changed.title = title;
    }
    let record =
        state.hub().publish(&topic(&board), &TaskMoved { board, task: changed.clone() }).await?;
    state.projection().caught_up(record.id).await;
    Ok(Json(changed))
}

/// `DELETE /boards/{board}/tasks/{id}` → `204`; broadcasts `task_deleted`.
pub(crate) async fn delete_task(
    State(state): State<AppState>,
    Path((board, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let board = board_id(board)?;
    let number = {
        let view = state.projection().view();
        id.parse::<u64>()
            .ok()
            .filter(|number| {
                view.boards.get(&board).is_some_and(|tasks| tasks.iter().any(|t| t.id == *number))
            })
            .ok_or_else(|| no_such_task(&board, &id))?
    };
    let record = state
        .hub()
        .publish(&topic(&board), &TaskDeleted { board: board.clone(), id: number })
        .await?;
    state.projection().caught_up(record.id).await;
    Ok(StatusCode::NO_CONTENT)
}

/// The query string of a board's stream (`lastEventId` is the engine's [`LastEventId`]).
#[derive(Debug, Deserialize)]
pub(crate) struct BoardStreamQuery {
    topics: Option<String>,
}

/// `GET /boards/{board}/events`: the stream of one board (its topic only).
pub(crate) async fn stream(
    State(state): State<AppState>,
    Path(board): Path<String>,
    last: Result<LastEventId, LastEventIdRejection>,
    query: Result<Query<BoardStreamQuery>, QueryRejection>,
    slot: StreamSlot,
) -> Result<EventStream, ApiError> {
    let board = board_id(board)?;
    let last = events::resume_point(last)?;
    if events::checked(query)?.topics.is_some() {
        return Err(ApiError::BadRequest {
            code: "invalid_query",
            detail: "a board's stream carries that board only: `topics` is not allowed here".into(),
        });
    }
    Ok(state.hub().stream([topic(&board)]).resume(last).guard(slot))
}
