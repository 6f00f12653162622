//! A write deadline at the socket: a connection whose writes stay blocked (the client stopped
//! reading) longer than the deadline fails, so hyper closes it and drops its stream.
//!
//! A timer inside the event stream cannot do this: once the socket is full, hyper stops polling
//! the body, so the stream never runs again.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Sleep, sleep};

/// The peer's address, as `ConnectInfo<Peer>` in handlers of a server on a [`DeadlineListener`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Peer(pub(crate) SocketAddr);

impl Connected<IncomingStream<'_, DeadlineListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, DeadlineListener>) -> Self {
        Self(*stream.remote_addr())
    }
}

/// A [`TcpListener`] whose connections get a write deadline.
#[derive(Debug)]
pub(crate) struct DeadlineListener {
    inner: TcpListener,
    deadline: Duration,
}

impl DeadlineListener {
    pub(crate) fn new(inner: TcpListener, deadline: Duration) -> Self {
        Self { inner, deadline }
    }
}

impl Listener for DeadlineListener {
    type Io = DeadlineIo;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (io, addr) = Listener::accept(&mut self.inner).await;
        (DeadlineIo { inner: io, deadline: self.deadline, stalled: None }, addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Listener::local_addr(&self.inner)
    }
}

/// A connection whose writes may stay blocked at most `deadline` in a row.
#[derive(Debug)]
pub(crate) struct DeadlineIo {
    inner: TcpStream,
    deadline: Duration,
    /// Started when a write first blocks; cleared when one gets through.
    stalled: Option<Pin<Box<Sleep>>>,
}

impl DeadlineIo {
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
