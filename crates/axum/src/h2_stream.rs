//! HTTP/2 streams held to the write deadline one by one.
//!
//! Over HTTP/2, flow control is per stream: a client can leave one stream's window closed and
//! read the others, so the connection's socket never blocks (its write deadline never fires)
//! while hyper waits, forever, for room to send that stream's next chunk. So each stream's task
//! is spawned watched ([`StreamExecutor`]), and its response body ([`watch_body`]) says when it
//! has handed hyper a chunk and not been asked for the next one since: a stream left waiting
//! like that longer than the deadline is dropped, h2 resets it (`RST_STREAM` with `CANCEL`), and
//! its client resumes by id. The connection's other streams go on.
//!
//! The body finds its stream's watch through a thread-local set while the stream's task is
//! polled: hyper creates the response (the router's future) and polls its body inside that
//! task, so this needs nothing of hyper but its executor.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use hyper::body::Frame;
use tokio::time::{Instant, Sleep};

use crate::metrics as m;

thread_local! {
    /// The watch of the stream task being polled on this thread, for its body to take.
    static CURRENT: RefCell<Option<Arc<Watch>>> = const { RefCell::new(None) };
}

/// Whether a stream waits for room to send a chunk it was given.
#[derive(Debug)]
struct Watch {
    origin: Instant,
    /// Since when its body has waited to be asked for more after handing over a chunk: in
    /// milliseconds after `origin`, plus one; 0 while it is not waiting.
    waiting_since: AtomicU64,
}

impl Watch {
    fn new() -> Self {
        Self { origin: Instant::now(), waiting_since: AtomicU64::new(0) }
    }

    /// The body handed over a chunk.
    fn handed_over(&self) {
        let since = u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX - 1);
        self.waiting_since.store(since + 1, Ordering::Relaxed);
    }

    /// The body was asked for more.
    fn asked(&self) {
        self.waiting_since.store(0, Ordering::Relaxed);
    }

    fn waiting_since(&self) -> Option<Instant> {
        match self.waiting_since.load(Ordering::Relaxed) {
            0 => None,
            since => Some(self.origin + Duration::from_millis(since - 1)),
        }
    }
}

/// Spawns each HTTP/2 stream's task on tokio (as hyper-util's `TokioExecutor` does), watched:
/// dropped once its body has waited longer than `deadline` for room to send.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StreamExecutor {
    pub(crate) deadline: Duration,
}

impl<F> hyper::rt::Executor<F> for StreamExecutor
where
    F: Future<Output = ()> + Send + 'static,
{
    fn execute(&self, task: F) {
        tokio::spawn(Watched {
            task,
            watch: Arc::new(Watch::new()),
            deadline: self.deadline,
            timer: None,
        });
    }
}

pin_project_lite::pin_project! {
    /// A stream's task and its watch.
    struct Watched<F> {
        #[pin]
        task: F,
        watch: Arc<Watch>,
        deadline: Duration,
        // Made the first time the stream waits.
        timer: Option<Pin<Box<Sleep>>>,
    }
}

/// Clears [`CURRENT`] when dropped, even if the task panics.
struct Current;

impl Current {
    fn set(watch: &Arc<Watch>) -> Self {
        CURRENT.with(|current| *current.borrow_mut() = Some(Arc::clone(watch)));
        Self
    }
}

impl Drop for Current {
    fn drop(&mut self) {
        CURRENT.with(|current| current.borrow_mut().take());
    }
}

impl<F: Future<Output = ()>> Future for Watched<F> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        // Until the body has taken the watch (one more owner), it may be made in this poll.
        let current = (Arc::strong_count(this.watch) == 1).then(|| Current::set(this.watch));
        let polled = this.task.poll(cx);
        drop(current);
        if polled.is_ready() {
            return Poll::Ready(());
        }
        let Some(since) = this.watch.waiting_since() else { return Poll::Pending };
        let cut_at = since + *this.deadline;
        let timer = this.timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(cut_at)));
        if timer.deadline() != cut_at {
            timer.as_mut().reset(cut_at);
        }
        if Instant::now() < cut_at && timer.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        metrics::counter!(m::CLIENTS_DROPPED_SLOW).increment(1);
        tracing::warn!(
            "an HTTP/2 stream's window stayed closed past the write deadline; resetting it"
        );
        // Dropping the task drops hyper's handle on the stream: h2 resets it.
        Poll::Ready(())
    }
}

/// `response` with its body watched, when made inside a watched stream's task (HTTP/2).
pub(crate) fn watch_body(response: Response) -> Response {
    let Some(watch) = CURRENT.with(|current| current.borrow().clone()) else {
        return response;
    };
    response.map(|inner| Body::new(WatchedBody { inner, watch }))
}

pin_project_lite::pin_project! {
    /// A response body that tells its stream's watch when it hands over a chunk and when it is
    /// asked for more.
    struct WatchedBody {
        #[pin]
        inner: Body,
        watch: Arc<Watch>,
    }
}

impl hyper::body::Body for WatchedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.project();
        this.watch.asked();
        let polled = this.inner.poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && frame.is_data()
        {
            this.watch.handed_over();
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
