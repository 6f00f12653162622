//! `GET /api/events`: the demo's event stream.

use std::convert::Infallible;
use std::future::ready;

use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, HeaderName};
use axum::response::IntoResponse;
use axum::response::sse::{Event as SseEvent, Sse};
use futures::{StreamExt, stream};
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use crate::{AppState, Frame};

const X_ACCEL_BUFFERING: HeaderName = HeaderName::from_static("x-accel-buffering");

impl Frame {
    fn to_sse(&self) -> SseEvent {
        let event = SseEvent::default().id(self.id.to_string()).data(&self.data);
        match self.sse_name() {
            Some(name) => event.event(name),
            None => event,
        }
    }
}

/// Streams every event published from now on, after a `retry:` hint that goes out at once.
///
/// A stream that falls too far behind is closed: the browser reconnects by itself.
pub(crate) async fn stream(State(state): State<AppState>) -> impl IntoResponse {
    let retry = SseEvent::default().retry(state.config().retry());
    let live = BroadcastStream::new(state.hub().subscribe())
        .take_while(|received| {
            ready(match received {
                Ok(_) => true,
                Err(BroadcastStreamRecvError::Lagged(missed)) => {
                    tracing::warn!(
                        missed,
                        "a stream fell behind; closing it so the client reconnects"
                    );
                    false
                }
            })
        })
        .filter_map(|received| ready(received.ok().map(|frame| frame.to_sse())));
    let events = stream::once(ready(retry))
        .chain(live)
        .map(Ok::<_, Infallible>)
        .take_until(state.shutdown_token().cancelled_owned());
    (
        [
            (CACHE_CONTROL, "no-cache, no-transform"),
            (X_ACCEL_BUFFERING, "no"),
        ],
        Sse::new(events),
    )
}
