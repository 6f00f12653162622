//! The sockets the lean path serves: those whose readiness can be watched without a read
//! borrowing the socket (so a stream can write while it watches for the client leaving), and
//! that the hub's writers can write to while the stream's task sleeps (`direct.rs`).
//!
//! A `TcpStream` or a `UnixStream`, behind an `Arc` ([`SharedSocket`]); any other connection a
//! `Listener` gives (TLS, a wrapper) is served by hyper throughout.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::direct::DirectWrite;

/// A socket served on the lean path.
pub(crate) trait Socket: AsyncRead + AsyncWrite + Unpin + Send + 'static {
    /// Ready when the socket has something to read (or failed); through the socket's own
    /// readiness slot, so a future made anew for every write costs no registration.
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// Reads what is there without waiting (`WouldBlock` when nothing is).
    fn try_read(&self, buffer: &mut [u8]) -> io::Result<usize>;

    /// The socket, for a hub's writer to write to while the stream's task waits.
    fn direct(&self) -> Arc<dyn DirectWrite>;
}

/// What tokio's TCP and unix sockets do through a shared reference.
pub(crate) trait Raw: Send + Sync + 'static {
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
    fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
    fn try_read(&self, buffer: &mut [u8]) -> io::Result<usize>;
    fn try_write(&self, bytes: &[u8]) -> io::Result<usize>;
    fn try_write_vectored(&self, pieces: &[IoSlice<'_>]) -> io::Result<usize>;
    /// Closes the writing side (what `AsyncWrite::poll_shutdown` does).
    fn shutdown_write(&self) -> io::Result<()>;
}

macro_rules! raw {
    ($socket:ty) => {
        impl Raw for $socket {
            fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                <$socket>::poll_read_ready(self, cx)
            }

            fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                <$socket>::poll_write_ready(self, cx)
            }

            fn try_read(&self, buffer: &mut [u8]) -> io::Result<usize> {
                <$socket>::try_read(self, buffer)
            }

            fn try_write(&self, bytes: &[u8]) -> io::Result<usize> {
                <$socket>::try_write(self, bytes)
            }

            fn try_write_vectored(&self, pieces: &[IoSlice<'_>]) -> io::Result<usize> {
                <$socket>::try_write_vectored(self, pieces)
            }

            fn shutdown_write(&self) -> io::Result<()> {
                socket2::SockRef::from(self).shutdown(std::net::Shutdown::Write)
            }
        }
    };
}

raw!(tokio::net::TcpStream);
#[cfg(unix)]
raw!(tokio::net::UnixStream);

/// A socket its connection's task reads and writes, and a hub's writer may write to while that
/// task waits (never both at once: the stream hands its socket's writing to the writer and
/// takes it back, `direct.rs`). Reads and writes go through the socket's readiness and its
/// `try_` calls, as tokio's own `AsyncRead` and `AsyncWrite` for it do.
pub(crate) struct SharedSocket<S>(Arc<S>);

impl<S: Raw> SharedSocket<S> {
    pub(crate) fn new(socket: S) -> Self {
        Self(Arc::new(socket))
    }
}

impl<S> std::fmt::Debug for SharedSocket<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedSocket")
    }
}

/// Writes straight to the socket, past tokio's readiness (whose check and clearing were 4 % of a
/// delivery's CPU in a profile of 10,000 streams): the socket is non-blocking, and a `WouldBlock`
/// here leaves tokio's readiness set, which only costs the stream's task one more try when it
/// writes next.
impl<S: Raw> DirectWrite for S
where
    for<'a> socket2::SockRef<'a>: From<&'a S>,
{
    fn try_write_vectored(&self, pieces: &[IoSlice<'_>]) -> io::Result<usize> {
        let socket = socket2::SockRef::from(self);
        match pieces {
            [one] => socket.send(one),
            _ => socket.send_vectored(pieces),
        }
    }
}

impl<S: Raw> Socket for SharedSocket<S>
where
    for<'a> socket2::SockRef<'a>: From<&'a S>,
{
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.poll_read_ready(cx)
    }

    fn try_read(&self, buffer: &mut [u8]) -> io::Result<usize> {
        self.0.try_read(buffer)
    }

    fn direct(&self) -> Arc<dyn DirectWrite> {
        Arc::clone(&self.0) as Arc<dyn DirectWrite>
    }
}

/// Retries `attempt` while the socket says ready but the call would block (readiness cleared).
fn until_done<T>(
    mut ready: impl FnMut() -> Poll<io::Result<()>>,
    mut attempt: impl FnMut() -> io::Result<T>,
) -> Poll<io::Result<T>> {
    loop {
        ready!(ready())?;
        match attempt() {
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
            result => return Poll::Ready(result),
        }
    }
}

impl<S: Raw> AsyncRead for SharedSocket<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buffer: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let socket = &*self.0;
        let read = ready!(until_done(
            || socket.poll_read_ready(cx),
            || socket.try_read(buffer.initialize_unfilled())
        ))?;
        buffer.advance(read);
        Poll::Ready(Ok(()))
    }
}

impl<S: Raw> AsyncWrite for SharedSocket<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<io::Result<usize>> {
        let socket = &*self.0;
        until_done(|| socket.poll_write_ready(cx), || socket.try_write(bytes))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        pieces: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let socket = &*self.0;
        until_done(|| socket.poll_write_ready(cx), || socket.try_write_vectored(pieces))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.0.shutdown_write())
    }
}
