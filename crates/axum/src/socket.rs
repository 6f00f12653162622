//! The sockets the lean path can serve: those whose readiness can be watched without a read
//! borrowing the socket, so a stream can write while it watches for the client leaving.
//!
//! A `TcpStream` or a `UnixStream`; any other connection a `Listener` gives (TLS, a wrapper) is
//! served by hyper throughout.

use std::io;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite};

/// A socket served on the lean path.
pub(crate) trait Socket: AsyncRead + AsyncWrite + Unpin + Send + 'static {
    /// Ready when the socket has something to read (or failed); through the socket's own
    /// readiness slot, so a future made anew for every write costs no registration.
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// Reads what is there without waiting (`WouldBlock` when nothing is).
    fn try_read(&self, buffer: &mut [u8]) -> io::Result<usize>;
}

impl Socket for tokio::net::TcpStream {
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        tokio::net::TcpStream::poll_read_ready(self, cx)
    }

    fn try_read(&self, buffer: &mut [u8]) -> io::Result<usize> {
        tokio::net::TcpStream::try_read(self, buffer)
    }
}

#[cfg(unix)]
impl Socket for tokio::net::UnixStream {
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        tokio::net::UnixStream::poll_read_ready(self, cx)
    }

    fn try_read(&self, buffer: &mut [u8]) -> io::Result<usize> {
        tokio::net::UnixStream::try_read(self, buffer)
    }
}
