//! A cap on the event streams one client has open at once (`--streams-per-client`; a client as
//! `client.rs` says), so that one client cannot hold the server's connections, or flood
//! presence, by opening streams by the hundred.
//!
//! A stream past the cap is answered `200` with an event-stream body holding only `retry:` and a
//! comment, then closed: any other status makes a browser's `EventSource` give up for good, and
//! the overload is temporary. The browser tries again after [`RETRY_AFTER_REFUSAL`], keeping its
//! last event id, so nothing is lost.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};

use crate::client::{ClientKey, TrustedProxies};

/// The `retry:` a refused stream gets.
pub(crate) const RETRY_AFTER_REFUSAL: Duration = Duration::from_secs(10);
/// Streams refused because their client had too many open.
pub(crate) const STREAMS_REFUSED: &str = "tidings_demo_streams_refused_total";

/// How many streams each client has open, and the cap.
#[derive(Debug)]
pub(crate) struct StreamQuota {
    per_client: usize,
    open: Mutex<HashMap<ClientKey, usize>>,
}

impl StreamQuota {
    /// A quota of `per_client` open streams.
    pub(crate) fn new(per_client: usize) -> Arc<Self> {
        Arc::new(Self { per_client, open: Mutex::default() })
    }

    fn open(&self) -> MutexGuard<'_, HashMap<ClientKey, usize>> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A slot for one more stream of `client`, or `None` at the cap.
    fn reserve(self: &Arc<Self>, client: ClientKey) -> Option<StreamSlot> {
        let mut open = self.open();
        let count = open.entry(client).or_default();
        if *count >= self.per_client {
            return None;
        }
        *count += 1;
        Some(StreamSlot { quota: Arc::clone(self), client })
    }
}

/// One open stream of a client, counted until dropped (held by the stream: see
/// [`tidings_axum::EventStream::guard`]). As an extractor, it refuses the stream past the cap.
#[derive(Debug)]
pub(crate) struct StreamSlot {
    quota: Arc<StreamQuota>,
    client: ClientKey,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.quota.open();
        if let Some(count) = open.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.client);
            }
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for StreamSlot
where
    Arc<StreamQuota>: FromRef<S>,
    TrustedProxies: FromRef<S>,
{
    type Rejection = TooManyStreams;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Ok(client) = ClientKey::from_request_parts(parts, state).await;
        let quota = Arc::<StreamQuota>::from_ref(state);
        quota.reserve(client).ok_or_else(|| {
            metrics::counter!(STREAMS_REFUSED).increment(1);
            tracing::debug!(%client, "a client's stream refused: it has too many open");
            TooManyStreams { limit: quota.per_client }
        })
    }
}

/// The answer to a stream past the cap (see the module documentation).
#[derive(Debug)]
pub(crate) struct TooManyStreams {
    limit: usize,
}

impl IntoResponse for TooManyStreams {
    fn into_response(self) -> Response {
        let body = format!(
            "retry: {}\n: too many streams open from your address (at most {}); try again later\n\n",
            RETRY_AFTER_REFUSAL.as_millis(),
            self.limit
        );
        ([(CONTENT_TYPE, "text/event-stream"), (CACHE_CONTROL, "no-store")], body).into_response()
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use axum::extract::ConnectInfo;
    use axum::http::{Extensions, HeaderMap};

    use super::*;

    fn client(address: &str) -> ClientKey {
        let mut extensions = Extensions::new();
        extensions.insert(ConnectInfo(SocketAddr::new(address.parse().unwrap(), 1)));
        ClientKey::of(&extensions, &HeaderMap::new(), &[])
    }

    #[test]
    fn slots_are_counted_per_client_and_freed_on_drop() {
        let quota = StreamQuota::new(2);
        let first = quota.reserve(client("10.0.0.1")).expect("one");
        let second = quota.reserve(client("10.0.0.1")).expect("two");
        assert!(quota.reserve(client("10.0.0.1")).is_none(), "past the cap");
        let other = quota.reserve(client("10.0.0.2")).expect("another client has its own");
        drop(first);
        let third = quota.reserve(client("10.0.0.1")).expect("a slot freed");
        drop((second, third, other));
        assert!(quota.open().is_empty(), "clients with no stream are forgotten");
    }
}
