//! The notes example: a user's own event (`Note`), published from a user's own route and streamed
//! by the tidings-axum engine, mounted in the user's own `Router`. The stream needs a bearer
//! token that opens one stream only (`POST /notes/token`), and a stream lasts one session (five
//! minutes unless set): then the server closes it, and the page's tidings fetch transport, which
//! asks for a fresh token before every connection and reconnection, opens the next with a new
//! one and resumes after its last note. The token changes while the page's stream goes on.
//!
//! # Examples
//!
//! ```
//! let hub = tidings_axum::Hub::new();
//! let router = tidings_example_notes::app(hub, std::path::Path::new("dist"));
//! # let _ = router;
//! ```

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use tidings_axum::{EventStream, Hub, JsonBody, LastEventId, PublishError, Topic};
use tidings_example_notes_contract::{NewNote, Note, StreamToken};

#[derive(Clone)]
struct Notes {
    hub: Hub,
    last_id: Arc<AtomicU64>,
    tokens: Arc<Tokens>,
    /// How long a stream lasts before its token must be renewed.
    session: Duration,
}

/// How long a stream lasts, unless [`app_with_session`] says otherwise.
pub const SESSION: Duration = Duration::from_secs(300);

/// Tokens given and not used yet, with when each was given.
#[derive(Debug, Default)]
struct Tokens(Mutex<HashMap<String, Instant>>);

impl Tokens {
    /// How long a token may wait to be used.
    const LIFETIME: Duration = Duration::from_secs(60);
    /// Tokens kept at most: past this many, a new one is refused until some expire.
    const MOST: usize = 10_000;

    /// A new token (128 random bits in hex), or `None` when too many wait.
    fn give(&self) -> Option<String> {
        let mut bits = [0_u8; 16];
        getrandom::fill(&mut bits).ok()?;
        let token: String = bits.iter().map(|byte| format!("{byte:02x}")).collect();
        let mut tokens = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        tokens.retain(|_, given| given.elapsed() < Self::LIFETIME);
        if tokens.len() >= Self::MOST {
            return None;
        }
        tokens.insert(token.clone(), Instant::now());
        Some(token)
    }

    /// Whether `token` was given within its lifetime and not used; it is used up either way.
    fn take(&self, token: &str) -> bool {
        let mut tokens = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        tokens.remove(token).is_some_and(|given| given.elapsed() < Self::LIFETIME)
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

/// `POST /notes/token`: a token that opens one stream, within a minute.
async fn give_token(State(notes): State<Notes>) -> Result<Json<StreamToken>, StatusCode> {
    let token = notes.tokens.give().ok_or(StatusCode::SERVICE_UNAVAILABLE)?;
    Ok(Json(StreamToken { token }))
}

/// `GET /notes/events` with `Authorization: Bearer <token>` (a token from `POST /notes/token`,
/// not used before): every note, resumable by `Last-Event-ID` or `?lastEventId=`. Without a
/// valid token: `401` (a client gets a new token and tries again). The stream closes after the
/// session: the client comes back with a fresh token and its last id.
async fn events(
    State(notes): State<Notes>,
    headers: HeaderMap,
    last: LastEventId,
) -> Result<EventStream, Response> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    if !token.is_some_and(|token| notes.tokens.take(token)) {
        let challenge = [(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))];
        return Err((StatusCode::UNAUTHORIZED, challenge).into_response());
    }
    let session_ends = tokio::time::Instant::now() + notes.session;
    Ok(notes.hub.stream([topic()]).resume(last).close_at(session_ends))
}

/// The routes: posting notes, their stream (sessions of [`SESSION`]), and the page in `dist`.
pub fn app(hub: Hub, dist: &Path) -> Router {
    app_with_session(hub, dist, SESSION)
}

/// [`app`] with streams that last `session` each.
///
/// # Examples
///
/// ```
/// let hub = tidings_axum::Hub::new();
/// let session = std::time::Duration::from_secs(30);
/// let router = tidings_example_notes::app_with_session(hub, std::path::Path::new("dist"), session);
/// # let _ = router;
/// ```
pub fn app_with_session(hub: Hub, dist: &Path, session: Duration) -> Router {
    Router::new()
        .route("/notes", post(post_note))
        .route("/notes/token", post(give_token))
        .route("/notes/events", get(events))
        .fallback_service(tower_http::services::ServeDir::new(dist))
        .layer(DefaultBodyLimit::max(16 * 1024))
        .with_state(Notes { hub, last_id: Arc::default(), tokens: Arc::default(), session })
}
