//! The notes example: a user's own event (`Note`), published from a user's own route and streamed
//! by the tidings-axum engine, mounted in the user's own `Router`.
//!
//! # Examples
//!
//! ```
//! let hub = tidings_axum::Hub::new();
//! let router = tidings_example_notes::app(hub, std::path::Path::new("dist"));
//! # let _ = router;
//! ```

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::{DefaultBodyLimit, FromRef, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use tidings_axum::{EventStream, Hub, JsonBody, LastEventId, PublishError, Topic};
use tidings_example_notes_contract::{NewNote, Note};

#[derive(Clone)]
struct Notes {
    hub: Hub,
    last_id: Arc<AtomicU64>,
}

impl FromRef<Notes> for Hub {
    fn from_ref(notes: &Notes) -> Hub {
        notes.hub.clone()
    }
}

fn topic() -> Topic {
    Topic::from_static("notes")
}

/// `POST /notes {"text": ...}`: `201` with the note, published as `note`.
async fn post_note(
    State(notes): State<Notes>,
    JsonBody(new): JsonBody<NewNote>,
) -> Result<(StatusCode, Json<Note>), PublishError> {
    let note = Note { id: notes.last_id.fetch_add(1, Ordering::Relaxed) + 1, text: new.text };
    notes.hub.publish(&topic(), &note).await?;
    Ok((StatusCode::CREATED, Json(note)))
}

/// `GET /notes/events`: every note, resumable by `Last-Event-ID` or `?lastEventId=`.
async fn events(State(hub): State<Hub>, last: LastEventId) -> EventStream {
    hub.stream([topic()]).resume(last)
}

/// The routes: posting notes, their stream, and the page in `dist`.
pub fn app(hub: Hub, dist: &Path) -> Router {
    Router::new()
        .route("/notes", post(post_note))
        .route("/notes/events", get(events))
        .fallback_service(tower_http::services::ServeDir::new(dist))
        .layer(DefaultBodyLimit::max(16 * 1024))
        .with_state(Notes { hub, last_id: Arc::default() })
}
