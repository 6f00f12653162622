//! A connection's write deadline: a write (or flush, or shutdown) that stays blocked longer than
//! the deadline fails with `TimedOut`, so a client that stops reading is cut off.
//!
//! Hand-written rather than `tokio-io-timeout`'s `TimeoutWriter`, which holds a timer (tokio's
//! `Sleep`, over 100 bytes) in every connection for its whole life. Here the timer is made when a
//! write first blocks and dropped when it completes: an idle stream, or one whose writes never
//! block, holds none (the repository's `docs/benchmarks.md`, "the write deadline").

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Sleep, sleep};

/// `io` whose writes may stay blocked at most `deadline` in a row.
#[derive(Debug)]
pub(crate) struct DeadlineWriter<S> {
    io: S,
    deadline: Duration,
    /// Running while a write is blocked.
    timer: Option<Pin<Box<Sleep>>>,
}

impl<S> DeadlineWriter<S> {
    pub(crate) fn new(io: S, deadline: Duration) -> Self {
        Self { io, deadline, timer: None }
    }

    pub(crate) fn get_ref(&self) -> &S {
        &self.io
    }

    /// `poll` of the inner writer, timed: the timer starts when it first blocks, ends when it
    /// completes; past the deadline, `TimedOut`.
    fn timed<T>(
        &mut self,
        cx: &mut Context<'_>,
        poll: impl FnOnce(Pin<&mut S>, &mut Context<'_>) -> Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>>
    where
        S: Unpin,
    {
        match poll(Pin::new(&mut self.io), cx) {
            Poll::Ready(result) => {
                self.timer = None;
                Poll::Ready(result)
            }
            Poll::Pending => {
                let deadline = self.deadline;
                let timer = self.timer.get_or_insert_with(|| Box::pin(sleep(deadline)));
                match timer.as_mut().poll(cx) {
                    Poll::Ready(()) => {
                        self.timer = None;
                        Poll::Ready(Err(io::Error::from(io::ErrorKind::TimedOut)))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for DeadlineWriter<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buffer: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buffer)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for DeadlineWriter<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.timed(cx, |io, cx| io.poll_write(cx, bytes))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        pieces: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.timed(cx, |io, cx| io.poll_write_vectored(cx, pieces))
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.timed(cx, AsyncWrite::poll_flush)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.timed(cx, AsyncWrite::poll_shutdown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test(start_paused = true)]
    async fn a_write_blocked_past_the_deadline_fails_and_one_that_moves_does_not() {
        let (client, server) = tokio::io::duplex(16);
        let mut io = DeadlineWriter::new(server, Duration::from_secs(10));
        // Fills the pipe: the next write blocks.
        io.write_all(&[0; 16]).await.unwrap();
        let reader = tokio::spawn(async move {
            let mut client = client;
            // Reads a little every 6 s: each blocked write moves within the deadline.
            for _ in 0..3 {
                tokio::time::sleep(Duration::from_secs(6)).await;
                let mut buffer = [0; 16];
                tokio::io::AsyncReadExt::read(&mut client, &mut buffer).await.unwrap();
            }
            client
        });
        io.write_all(&[1; 32]).await.expect("each wait is shorter than the deadline");
        let _client = reader.await.unwrap();
        let started = tokio::time::Instant::now();
        let blocked = io.write_all(&[2; 32]).await;
        assert_eq!(blocked.unwrap_err().kind(), io::ErrorKind::TimedOut);
        assert_eq!(started.elapsed(), Duration::from_secs(10), "after the deadline, not before");
        assert!(io.timer.is_none(), "no timer kept once the write is done");
    }
}
