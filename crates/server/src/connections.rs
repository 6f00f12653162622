//! Accepted connections: an event stream goes straight to its socket, everything else to hyper.
//!
//! hyper keeps two 8 KiB buffers for the whole life of an HTTP/1 connection (its read buffer and
//! its header write buffer), which would be most of an idle stream's memory. So a connection whose
//! first request is a plain `GET` of an event-stream route is answered here: the request head is
//! read into a small buffer that is freed before the stream starts, the router answers it (every
//! layer applies: tracing, CORS, validation, resume), and the response goes to the socket as
//! chunked HTTP/1.1, frame by frame, with no buffer of its own and `connection: close`. Every
//! other connection (any other route or method, a body, HTTP/1.0, a head that is odd in any way)
//! goes to hyper with the bytes read so far replayed first, so hyper sees exactly what the client
//! sent.
//!
//! A stream requested on a connection hyper is already serving (a browser may reuse a kept-alive
//! connection) stays with hyper.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::ConnectInfo;
use axum::extract::connect_info::Connected;
use axum::http::{HeaderMap, Method, Request, Response, StatusCode, Version, header};
use axum::serve::{IncomingStream, Listener};
use bytes::Buf;
use http_body_util::BodyExt;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

use crate::write_deadline::DeadlineIo;

/// The longest request head read here; a longer one goes to hyper, which answers it.
const MAX_HEAD: usize = 8 * 1024;
/// How much of a head is read at once; most event-stream requests fit.
const FIRST_READ: usize = 1024;
/// How long a client may take to send its request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// The most headers a request read here may have.
const MAX_HEADERS: usize = 64;

/// The peer's address, as `ConnectInfo<Peer>` in handlers, however the connection is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Peer(pub(crate) SocketAddr);

impl Connected<IncomingStream<'_, Connections>> for Peer {
    fn connect_info(stream: IncomingStream<'_, Connections>) -> Self {
        Self(*stream.remote_addr())
    }
}

/// The connections hyper serves, for [`axum::serve`]. Accepting happens in a task of its own that
/// answers event streams itself and passes everything else on.
#[derive(Debug)]
pub(crate) struct Connections {
    for_hyper: mpsc::Receiver<(Replayed, SocketAddr)>,
    local_addr: SocketAddr,
}

impl Connections {
    /// Starts accepting on `listener` until `stopping` is cancelled. Streams answered here run in
    /// `tracker`, so shutdown can wait for their last frame.
    pub(crate) fn accept(
        listener: TcpListener,
        write_deadline: Duration,
        router: Router,
        stopping: CancellationToken,
        tracker: TaskTracker,
    ) -> io::Result<Self> {
        let local_addr = listener.local_addr()?;
        let (to_hyper, for_hyper) = mpsc::channel(64);
        let accepting = tracker.clone();
        accepting.spawn(async move {
            loop {
                let accepted = tokio::select! {
                    () = stopping.cancelled() => return,
                    accepted = listener.accept() => accepted,
                };
                let (tcp, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        // Out of file descriptors and the like: wait instead of spinning, as
                        // axum::serve does.
                        tracing::error!(%error, "cannot accept a connection");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                };
                let io = DeadlineIo::new(tcp, write_deadline);
                let (router, to_hyper) = (router.clone(), to_hyper.clone());
                tracker.spawn(async move {
                    if let Some(replayed) = serve_if_stream(io, peer, router).await {
                        // Fails only once hyper stopped accepting at shutdown: the connection
                        // closes.
                        let _ = to_hyper.send((replayed, peer)).await;
                    }
                });
            }
        });
        Ok(Self { for_hyper, local_addr })
    }
}

impl Listener for Connections {
    type Io = Replayed;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.for_hyper.recv().await {
            Some(connection) => connection,
            // The accepting task has stopped, at shutdown: hyper gets nothing more.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local_addr)
    }
}

/// Whether `path` (without its query) is one of the event-stream routes in [`crate::app`].
fn is_event_stream(path: &str) -> bool {
    let one_segment = |middle: &str| !middle.is_empty() && !middle.contains('/');
    path == "/api/events"
        || path
            .strip_prefix("/api/jobs/")
            .and_then(|rest| rest.strip_suffix("/events"))
            .is_some_and(one_segment)
        || path
            .strip_prefix("/boards/")
            .and_then(|rest| rest.strip_suffix("/events"))
            .is_some_and(one_segment)
}

/// Reads the request head; answers an event-stream request itself, or gives the connection
/// back, with what was read, for hyper.
async fn serve_if_stream(mut io: DeadlineIo, peer: SocketAddr, router: Router) -> Option<Replayed> {
    let mut head = Vec::with_capacity(FIRST_READ);
    let request = match timeout(HEAD_TIMEOUT, read_head(&mut io, &mut head)).await {
        Ok(Ok(())) => stream_request(&head),
        // Hyper answers or closes it as it sees fit.
        Ok(Err(_)) | Err(_) => None,
    };
    let Some(mut request) = request else {
        return Some(Replayed { io, replay: Bytes::from(head) });
    };
    drop(head);
    request.extensions_mut().insert(ConnectInfo(Peer(peer)));
    // Small frames go out at once: an event must not wait for the previous one's ACK.
    let _ = io.tcp().set_nodelay(true);
    let response = match router.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    if let Err(error) = write_response(&mut io, response).await {
        tracing::debug!(%error, "an event stream's connection ended");
    }
    let _ = io.shutdown().await;
    None
}

/// Reads until the head is complete, cannot be an HTTP/1.1 head (an HTTP/2 preface, say), the
/// client stops sending, or [`MAX_HEAD`] bytes.
async fn read_head(io: &mut DeadlineIo, head: &mut Vec<u8>) -> io::Result<()> {
    loop {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let parsed = httparse::Request::new(&mut headers).parse(head);
        if !matches!(parsed, Ok(httparse::Status::Partial)) || head.len() >= MAX_HEAD {
            return Ok(());
        }
        if head.len() == head.capacity() {
            head.reserve(FIRST_READ);
        }
        if io.read_buf(head).await? == 0 {
            return Ok(());
        }
    }
}

/// The request in `head` if it is one answered here: a complete `GET` of an event-stream route
/// over HTTP/1.1, with nothing after the head (no body, nothing pipelined) and nothing asking for
/// more than a response (no `Expect`, no `Upgrade`).
fn stream_request(head: &[u8]) -> Option<Request<Body>> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut headers);
    let httparse::Status::Complete(length) = parsed.parse(head).ok()? else {
        return None;
    };
    let target = parsed.path?;
    let path = target.split_once('?').map_or(target, |(path, _)| path);
    if length != head.len()
        || parsed.method? != "GET"
        || parsed.version? != 1
        || !is_event_stream(path)
    {
        return None;
    }
    let mut request = Request::builder().method(Method::GET).uri(target).version(Version::HTTP_11);
    for field in parsed.headers.iter() {
        request = request.header(field.name, field.value);
    }
    let request = request.body(Body::empty()).ok()?;
    let asks_more =
        [header::CONTENT_LENGTH, header::TRANSFER_ENCODING, header::EXPECT, header::UPGRADE]
            .iter()
            .any(|name| request.headers().contains_key(name));
    let has_host = request.headers().get_all(header::HOST).iter().count() == 1;
    (!asks_more && has_host).then_some(request)
}

/// Writes `response` as HTTP/1.1: chunked unless its length is known, then `connection: close`.
async fn write_response(io: &mut DeadlineIo, response: Response<Body>) -> io::Result<()> {
    let (parts, mut body) = response.into_parts();
    let bodiless = parts.status.is_informational()
        || parts.status == StatusCode::NO_CONTENT
        || parts.status == StatusCode::NOT_MODIFIED;
    let length = if bodiless { Some(0) } else { body.size_hint().exact() };
    let head = response_head(parts.status, &parts.headers, length, bodiless);
    io.write_all(&head).await?;
    drop(head);
    if bodiless {
        return Ok(());
    }
    let chunked = length.is_none();
    loop {
        let next = tokio::select! {
            frame = body.frame() => frame,
            () = client_gone(io.tcp()) => return Ok(()),
        };
        match next {
            None => break,
            Some(Ok(frame)) => {
                let Ok(data) = frame.into_data() else { continue };
                if data.is_empty() {
                    continue;
                }
                if chunked {
                    let size = format!("{:x}\r\n", data.len());
                    let mut chunk = Buf::chain(size.as_bytes(), data).chain(&b"\r\n"[..]);
                    io.write_all_buf(&mut chunk).await?;
                } else {
                    io.write_all(&data).await?;
                }
            }
            // Cut without the last chunk, so the client sees the stream was not complete.
            Some(Err(error)) => return Err(io::Error::other(error)),
        }
    }
    if chunked {
        io.write_all(b"0\r\n\r\n").await?;
    }
    Ok(())
}

/// The status line and headers; `length` is the body's, or `None` for a chunked body.
fn response_head(
    status: StatusCode,
    headers: &HeaderMap,
    length: Option<u64>,
    bodiless: bool,
) -> Vec<u8> {
    let mut head = Vec::with_capacity(256);
    let reason = status.canonical_reason().unwrap_or("");
    head.extend_from_slice(format!("HTTP/1.1 {} {reason}\r\n", status.as_u16()).as_bytes());
    for (name, value) in headers {
        if [header::CONTENT_LENGTH, header::TRANSFER_ENCODING, header::CONNECTION].contains(name) {
            continue;
        }
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    if !headers.contains_key(header::DATE) {
        let date = httpdate::fmt_http_date(SystemTime::now());
        head.extend_from_slice(format!("date: {date}\r\n").as_bytes());
    }
    match length {
        _ if bodiless => {}
        Some(length) => head.extend_from_slice(format!("content-length: {length}\r\n").as_bytes()),
        None => head.extend_from_slice(b"transfer-encoding: chunked\r\n"),
    }
    head.extend_from_slice(b"connection: close\r\n\r\n");
    head
}

/// Completes once the client has closed its side (or the socket failed). Anything the client
/// sends meanwhile is read and ignored: it asked for one response.
async fn client_gone(tcp: &TcpStream) {
    let mut scratch = [0_u8; 64];
    loop {
        if tcp.readable().await.is_err() {
            return;
        }
        match tcp.try_read(&mut scratch) {
            Ok(0) => return,
            Ok(_) => {}
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
            Err(_) => return,
        }
    }
}

/// A connection for hyper: the bytes already read from it come first.
#[derive(Debug)]
pub(crate) struct Replayed {
    io: DeadlineIo,
    replay: Bytes,
}

impl AsyncRead for Replayed {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.replay.is_empty() {
            let n = self.replay.len().min(buf.remaining());
            buf.put_slice(&self.replay[..n]);
            self.replay.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Replayed {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_the_event_stream_routes() {
        for path in ["/api/events", "/api/jobs/7/events", "/boards/main/events"] {
            assert!(is_event_stream(path), "{path}");
        }
        for path in [
            "/api/events/",
            "/api/eventsx",
            "/api/jobs//events",
            "/api/jobs/1/2/events",
            "/boards/main/tasks",
            "/api/state",
            "/",
        ] {
            assert!(!is_event_stream(path), "{path}");
        }
    }

    fn head(text: &str) -> Vec<u8> {
        text.replace('\n', "\r\n").into_bytes()
    }

    #[test]
    fn takes_a_plain_get_of_a_stream() {
        let request = stream_request(&head(
            "GET /api/events?topics=ticker HTTP/1.1\nHost: x\nLast-Event-ID: 1-2\n\n",
        ))
        .expect("a stream request");
        assert_eq!(request.uri(), "/api/events?topics=ticker");
        assert_eq!(request.headers()["last-event-id"], "1-2");
    }

    #[test]
    fn leaves_everything_else_to_hyper() {
        for text in [
            "GET /api/state HTTP/1.1\nHost: x\n\n",
            "POST /api/events HTTP/1.1\nHost: x\n\n",
            "GET /api/events HTTP/1.0\nHost: x\n\n",
            "GET /api/events HTTP/1.1\n\n",
            "GET /api/events HTTP/1.1\nHost: x\nHost: y\n\n",
            "GET /api/events HTTP/1.1\nHost: x\nContent-Length: 0\n\n",
            "GET /api/events HTTP/1.1\nHost: x\nTransfer-Encoding: chunked\n\n",
            "GET /api/events HTTP/1.1\nHost: x\nExpect: 100-continue\n\n",
            "GET /api/events HTTP/1.1\nHost: x\nUpgrade: h2c\n\n",
            "GET /api/events HTTP/1.1\nHost: x\n\nGET / HTTP/1.1\n\n",
            "GET /api/events HTTP/1.1\nHost: x\n",
            "GET http://x/api/events HTTP/1.1\nHost: x\n\n",
            "nonsense\n\n",
        ] {
            assert!(stream_request(&head(text)).is_none(), "{text:?}");
        }
    }

    #[test]
    fn writes_a_chunked_head_that_closes() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, "text/event-stream".parse().unwrap());
        headers.insert(header::CONNECTION, "keep-alive".parse().unwrap());
        let head = String::from_utf8(response_head(StatusCode::OK, &headers, None, false)).unwrap();
        assert!(head.starts_with("HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"));
        assert!(head.contains("\r\ndate: "));
        assert!(head.ends_with("transfer-encoding: chunked\r\nconnection: close\r\n\r\n"));
        assert!(!head.contains("keep-alive"));
        let head = response_head(StatusCode::NO_CONTENT, &HeaderMap::new(), Some(0), true);
        let head = String::from_utf8(head).unwrap();
        assert!(head.starts_with("HTTP/1.1 204 No Content\r\n"));
        assert!(!head.contains("content-length") && !head.contains("transfer-encoding"));
        let head = response_head(StatusCode::BAD_REQUEST, &HeaderMap::new(), Some(12), false);
        assert!(String::from_utf8(head).unwrap().contains("content-length: 12\r\n"));
    }
}
