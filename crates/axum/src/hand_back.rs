//! One request through hyper, then the connection back to the lean path.
//!
//! A browser sends its `EventSource` request on a connection it keeps alive from the page's
//! other requests. The lean path answers only event streams, and any other first request used
//! to give the connection to hyper for its whole life, so a browser's stream was served by
//! hyper (about five times the memory of a lean stream). Now a plain request without a body (a
//! page's asset, a snapshot) is answered by hyper alone: once the answer's body has ended (its
//! head has promised to keep the connection open), hyper is asked to finish, and gives back the
//! socket and what it read past the request, for the lean path to read the next head.
//! Anything else (a body, an upgrade, a close) stays with hyper as before.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::{Request, Response};
use bytes::BytesMut;
use hyper::body::{Frame, Incoming};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tower::ServiceExt;

use crate::lean::{self, Replayed, Settings};

/// Answers the one request in `replayed` with hyper (see [`Replayed::is_one_plain_request`]);
/// the connection and what was read of the next request, if it stays open.
pub(crate) async fn serve_one<S, A>(
    replayed: Replayed<S>,
    settings: &Settings<A>,
) -> Option<(lean::Io<S>, Bytes)>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    A: Clone + Send + Sync + 'static,
{
    let Settings { peer, router, stopping, head_timeout } = settings;
    metrics::counter!(crate::metrics::CONNECTIONS_TO_HYPER).increment(1);
    let ended = Arc::new(AtomicBool::new(false));
    let stays_open = Arc::new(AtomicBool::new(false));
    // Hyper may read and answer a second request before it is asked to finish (one sent before
    // the first answer's end): what it said of the connection and read of that request is not
    // known here, so the connection ends.
    let requests = Arc::new(AtomicUsize::new(0));
    let requests_here = Arc::clone(&requests);
    // In an `Arc`: hyper's connection must be `Unpin`, and the address type need not be.
    let peer = Arc::new(peer.clone());
    let (ended_here, open_here) = (Arc::clone(&ended), Arc::clone(&stays_open));
    let service = router
        .clone()
        .map_request(move |request: Request<Incoming>| {
            requests_here.fetch_add(1, Ordering::Relaxed);
            let mut request = request.map(Body::new);
            request.extensions_mut().insert(ConnectInfo(A::clone(&peer)));
            request
        })
        .map_response(move |response: Response<Body>| {
            open_here.store(!lean::asks_close(response.headers()), Ordering::Relaxed);
            let ended = Arc::clone(&ended_here);
            if axum::body::HttpBody::is_end_stream(response.body()) {
                ended.store(true, Ordering::Relaxed);
            }
            response.map(|inner| Body::new(EndSignal { inner, ended }))
        });
    let mut connection = lean::hyper_http1(*head_timeout)
        .serve_connection(TokioIo::new(replayed), TowerToHyperService::new(service));
    let mut asked_to_finish = false;
    let finished = std::future::poll_fn(|cx| {
        loop {
            let polled = connection.poll_without_shutdown(cx);
            if polled.is_ready() {
                return polled;
            }
            // The answer's head went out promising to keep the connection open, and its body
            // has ended: hyper finishes writing it and stops, the connection still open.
            let done = ended.load(Ordering::Relaxed) || stopping.is_cancelled();
            if done && !asked_to_finish {
                asked_to_finish = true;
                Pin::new(&mut connection).graceful_shutdown();
                continue;
            }
            return Poll::Pending;
        }
    });
    // Between requests at shutdown, or a client gone: nothing more to answer.
    if finished.await.is_err()
        || stopping.is_cancelled()
        || !stays_open.load(Ordering::Relaxed)
        || requests.load(Ordering::Relaxed) != 1
    {
        return None;
    }
    let parts = connection.into_parts();
    let (io, unread) = parts.io.into_inner().into_parts();
    // What hyper read and did not use comes before what it never read of the replay.
    let mut next = BytesMut::from(&parts.read_buf[..]);
    next.extend_from_slice(&unread);
    Some((io, next.freeze()))
}

pin_project_lite::pin_project! {
    /// A response body that says when it has given its last frame.
    struct EndSignal {
        #[pin]
        inner: Body,
        ended: Arc<AtomicBool>,
    }
}

impl hyper::body::Body for EndSignal {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.project();
        let mut inner = this.inner;
        let polled = inner.as_mut().poll_frame(cx);
        let last = match &polled {
            Poll::Ready(None) => true,
            Poll::Ready(Some(Ok(_))) => hyper::body::Body::is_end_stream(&*inner),
            _ => false,
        };
        if last {
            this.ended.store(true, Ordering::Relaxed);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}
