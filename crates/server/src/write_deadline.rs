//! A write deadline at the socket: a connection whose writes stay blocked (the client stopped
//! reading) longer than the deadline fails, so the connection closes and its stream is dropped.
//!
//! A timer inside the event stream cannot do this: once the socket is full, hyper stops polling
//! the body, so the stream never runs again.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Sleep, sleep};

/// A connection whose writes may stay blocked at most `deadline` in a row.
#[derive(Debug)]
pub(crate) struct DeadlineIo {
    inner: TcpStream,
    deadline: Duration,
    /// Started when a write first blocks; cleared when one gets through.
    stalled: Option<Pin<Box<Sleep>>>,
}

impl DeadlineIo {
    pub(crate) fn new(inner: TcpStream, deadline: Duration) -> Self {
        Self { inner, deadline, stalled: None }
    }

    /// The socket, e.g. to see whether the client has gone.
    pub(crate) fn tcp(&self) -> &TcpStream {
        &self.inner
    }

    /// After the inner write returned `Pending` (or made progress): keeps the timer in step.
    fn track<T>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if poll.is_ready() {
            self.stalled = None;
            return poll;
        }
        let deadline = self.deadline;
        let timer = self.stalled.get_or_insert_with(|| Box::pin(sleep(deadline)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => {
                metrics::counter!(crate::metrics::CLIENTS_DROPPED_SLOW).increment(1);
                tracing::warn!(?deadline, "a client stopped reading; closing its connection");
                Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "write deadline passed")))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncRead for DeadlineIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for DeadlineIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.track(cx, poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.track(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_flush(cx);
        self.track(cx, poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
