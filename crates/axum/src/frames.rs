//! The frames every kind of stream sends besides records: the opening (`retry:` and `hello`),
//! `heartbeat`, the drain's `shutdown`, `resync`; and the event-stream response around a body.

use axum::body::{Body, Bytes};
use axum::http::HeaderValue;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderName};
use axum::response::Response;
use futures::Stream;
use tidings_wire::{End, Event, EventId, Heartbeat, Hello, Resync, ResyncReason, Shutdown};

use crate::shared::Shared;
use crate::stream_key::StreamKey;
use crate::{metrics as m, sse};

const X_ACCEL_BUFFERING: HeaderName = HeaderName::from_static("x-accel-buffering");

/// An event-stream response over `body`: `Content-Type: text/event-stream`, `Cache-Control:
/// no-cache, no-transform`, `X-Accel-Buffering: no`.
pub(crate) fn response_of(body: impl Stream<Item = Bytes> + Send + 'static) -> Response {
    let body = futures::StreamExt::map(body, Ok::<Bytes, std::convert::Infallible>);
    let mut response = Response::new(Body::from_stream(body));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache, no-transform"));
    headers.insert(X_ACCEL_BUFFERING, HeaderValue::from_static("no"));
    response
}

/// What every stream opens with: `retry:` and a `hello` carrying its `key`.
pub(crate) fn opening(shared: &Shared, key: Option<StreamKey>) -> Bytes {
    let retry = sse::retry(millis(shared.retry()));
    let hello = frame_of(
        None,
        &Hello {
            epoch: shared.log().epoch(),
            heartbeat_ms: millis(shared.heartbeat()),
            server_version: env!("CARGO_PKG_VERSION").to_owned(),
            // All zeros, which closes nothing, when there is no key.
            stream_key: key.map_or_else(|| "0".repeat(32), |key| key.to_string()),
        },
    );
    let mut opening = Vec::with_capacity(retry.len() + hello.len());
    opening.extend_from_slice(&retry);
    opening.extend_from_slice(&hello);
    Bytes::from(opening)
}

/// A `heartbeat` frame, now.
pub(crate) fn heartbeat() -> Bytes {
    frame_of(None, &Heartbeat { at_ms: crate::clock::now_ms() })
}

/// The `shutdown` frame of a drain, with a jittered `retry:` so clients do not all come back at
/// once.
pub(crate) fn shutdown_frame(shared: &Shared) -> Bytes {
    let retry_ms = jittered(millis(shared.retry()));
    sse::with_retry(retry_ms, &frame_of(None, &Shutdown { retry_ms }))
}

/// The `end` frame of a finished stream, with its id: a tidings client stops on it, another
/// reconnects with the id and gets `204` (see [`is_finished`]).
pub(crate) fn end_frame() -> Bytes {
    frame_of(Some(End::ID), &End {})
}

/// Whether a client's last id says it was told its stream ended: it gets `204 No Content`.
pub(crate) fn is_finished(last_id: &str) -> bool {
    last_id.parse::<EventId>() == Ok(End::ID)
}

pub(crate) fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

pub(crate) fn frame_of<T: Event>(id: Option<EventId>, payload: &T) -> Bytes {
    match serde_json::to_string(payload) {
        Ok(data) => sse::event(id, T::NAME, &data),
        Err(error) => unreachable!("control events always serialise: {error}"),
    }
}

/// A `resync` that also moves the client's last id to `current`, so its next reconnect resumes
/// from there instead of failing the same way.
pub(crate) fn resync(reason: ResyncReason, requested: &str, current: Option<EventId>) -> Bytes {
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
pub(crate) fn jittered(retry_ms: u64) -> u64 {
    retry_ms.saturating_add(fastrand::u64(0..=retry_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_between_one_and_two_retries() {
        for _ in 0..100 {
            let value = jittered(1000);
            assert!((1000..=2000).contains(&value));
        }
        assert_eq!(jittered(0), 0);
    }
}
