//! Accepted connections: plain `GET`s, event streams included, are answered here; everything else
//! by hyper.
//!
//! hyper keeps two 8 KiB buffers for the whole life of an HTTP/1 connection (its read buffer and
//! its header write buffer), which would be most of an idle stream's memory. So each connection
//! starts here: its request head is read into a small buffer, freed once parsed. A plain HTTP/1.1
//! `GET` (no body, nothing pipelined, nothing asking for more than a response) is answered by the
//! router as usual (every layer applies: tracing, CORS, validation, resume) and its response is
//! written to the socket frame by frame, with no buffer of its own. A body of known length keeps
//! the connection alive for the next head, so a browser that reuses the connection of a page or a
//! snapshot for its `EventSource` still gets a lean stream; a body of unknown length (an event
//! stream) is chunked, watched for the client leaving, and closes the connection after it. Every
//! other request (another method, a body, HTTP/1.0, an odd head, an HTTP/2 preface, a head not
//! complete within 30 s) hands the connection to hyper for good, with the bytes read so far
//! replayed first, so hyper sees exactly what the client sent. A connection silent for 30 s
//! between requests is closed, as servers close idle kept-alive connections.

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
/// How much of a head is read at once; most requests fit.
const FIRST_READ: usize = 1024;
/// How long a connection may wait for, or take to send, its next request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(30);
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

/// The connections hyper serves, for [`axum::serve`]. Accepting happens in a task of its own;
/// each connection starts in a task that answers what it can and passes the rest on.
#[derive(Debug)]
pub(crate) struct Connections {
    for_hyper: mpsc::Receiver<(Replayed, SocketAddr)>,
    local_addr: SocketAddr,
}

impl Connections {
    /// Starts accepting on `listener` until `stopping` is cancelled. Connections answered here
    /// run in `tracker`, so shutdown can wait for their streams' last frame.
    pub(crate) fn start(
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
                    // That one connection failed before it was accepted: on to the next.
                    Err(error) if is_connection_error(&error) => continue,
                    Err(error) => {
                        // Out of file descriptors and the like: wait instead of spinning, as
                        // axum::serve does.
                        tracing::error!(%error, "cannot accept a connection");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                };
                metrics::counter!(crate::metrics::CONNECTIONS_ACCEPTED).increment(1);
                let io = DeadlineIo::new(tcp, write_deadline);
                let (router, to_hyper) = (router.clone(), to_hyper.clone());
                let stopping = stopping.clone();
                tracker.spawn(async move {
                    if let Some(replayed) = serve_connection(io, peer, router, stopping).await {
                        metrics::counter!(crate::metrics::CONNECTIONS_TO_HYPER).increment(1);
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

/// An error of one connection rather than of the listener.
fn is_connection_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
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

/// Answers plain `GET`s until the client closes, asks for a close, or an event stream ends; gives
/// the connection back, with what was read of the next request, for hyper to answer the rest.
async fn serve_connection(
    mut io: DeadlineIo,
    peer: SocketAddr,
    router: Router,
    stopping: CancellationToken,
) -> Option<Replayed> {
    // Small frames go out at once: an event must not wait for the previous one's ACK.
    let _ = io.tcp().set_nodelay(true);
    loop {
        let mut head = Vec::with_capacity(FIRST_READ);
        let read = tokio::select! {
            // Between requests at shutdown: nothing is lost by closing.
            () = stopping.cancelled() => return None,
            read = timeout(HEAD_TIMEOUT, read_head(&mut io, &mut head)) => read,
        };
        let get = match read {
            // The client closed between requests, or stayed silent too long.
            Ok(Ok(())) | Err(_) if head.is_empty() => return None,
            Ok(Ok(())) => plain_get(&head),
            // Hyper answers or closes it as it sees fit.
            Ok(Err(_)) | Err(_) => None,
        };
        let Some(PlainGet { mut request, keep_alive }) = get else {
            return Some(Replayed { io, replay: Bytes::from(head) });
        };
        drop(head);
        request.extensions_mut().insert(ConnectInfo(Peer(peer)));
        let response = match router.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        match write_response(&mut io, response, keep_alive).await {
            Ok(true) => continue,
            Ok(false) => {}
            Err(error) => tracing::debug!(%error, "a connection ended mid-response"),
        }
        let _ = io.shutdown().await;
        return None;
    }
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

/// A request answered here, and how.
#[derive(Debug)]
struct PlainGet {
    request: Request<Body>,
    /// The client lets the connection stay open for the next request.
    keep_alive: bool,
}

/// The request in `head` if it is answered here: a complete `GET` over HTTP/1.1 with one `Host`,
/// nothing after the head (no body, nothing pipelined) and nothing asking for more than a
/// response (no `Expect`, no `Upgrade`).
fn plain_get(head: &[u8]) -> Option<PlainGet> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut headers);
    let httparse::Status::Complete(length) = parsed.parse(head).ok()? else {
        return None;
    };
    let target = parsed.path?;
    if length != head.len() || parsed.method? != "GET" || parsed.version? != 1 {
        return None;
    }
    let mut request = Request::builder().method(Method::GET).uri(target).version(Version::HTTP_11);
    for field in parsed.headers.iter() {
        request = request.header(field.name, field.value);
    }
    let request = request.body(Body::empty()).ok()?;
    let headers = request.headers();
    let asks_more =
        [header::CONTENT_LENGTH, header::TRANSFER_ENCODING, header::EXPECT, header::UPGRADE]
            .iter()
            .any(|name| headers.contains_key(name));
    if asks_more || headers.get_all(header::HOST).iter().count() != 1 {
        return None;
    }
    let asks_close = headers.get_all(header::CONNECTION).iter().any(|value| {
        value.to_str().is_ok_and(|value| {
            value.split(',').any(|token| token.trim().eq_ignore_ascii_case("close"))
        })
    });
    Some(PlainGet { request, keep_alive: !asks_close })
}

/// Writes `response` as HTTP/1.1; says whether the connection may serve another request.
///
/// A body of known length goes out as is, and the connection stays open if `keep_alive`. A body
/// of unknown length (an event stream) is chunked, the client is watched while it runs (leaving
/// ends it), and the connection closes after it.
async fn write_response(
    io: &mut DeadlineIo,
    response: Response<Body>,
    keep_alive: bool,
) -> io::Result<bool> {
    let (parts, mut body) = response.into_parts();
    let bodiless = parts.status.is_informational()
        || parts.status == StatusCode::NO_CONTENT
        || parts.status == StatusCode::NOT_MODIFIED;
    let length = if bodiless { Some(0) } else { body.size_hint().exact() };
    let keep_alive = keep_alive && length.is_some();
    let head = response_head(parts.status, &parts.headers, length, bodiless, keep_alive);
    io.write_all(&head).await?;
    drop(head);
    if bodiless {
        return Ok(keep_alive);
    }
    let chunked = length.is_none();
    loop {
        let next = if chunked {
            tokio::select! {
                frame = body.frame() => frame,
                () = client_gone(io.tcp()) => return Ok(false),
            }
        } else {
            body.frame().await
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
    Ok(keep_alive)
}

/// The status line and headers; `length` is the body's, or `None` for a chunked body.
fn response_head(
    status: StatusCode,
    headers: &HeaderMap,
    length: Option<u64>,
    bodiless: bool,
    keep_alive: bool,
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
    if !keep_alive {
        head.extend_from_slice(b"connection: close\r\n");
    }
    head.extend_from_slice(b"\r\n");
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

    fn head(text: &str) -> Vec<u8> {
        text.replace('\n', "\r\n").into_bytes()
    }

    #[test]
    fn takes_plain_gets() {
        let get = plain_get(&head(
            "GET /api/events?topics=ticker HTTP/1.1\nHost: x\nLast-Event-ID: 1-2\n\n",
        ))
        .expect("a plain GET");
        assert_eq!(get.request.uri(), "/api/events?topics=ticker");
        assert_eq!(get.request.headers()["last-event-id"], "1-2");
        assert!(get.keep_alive);
        let get = plain_get(&head("GET / HTTP/1.1\nHost: x\nConnection: foo, Close\n\n")).unwrap();
        assert!(!get.keep_alive);
    }

    #[test]
    fn leaves_everything_else_to_hyper() {
        for text in [
            "POST /api/events HTTP/1.1\nHost: x\n\n",
            "HEAD / HTTP/1.1\nHost: x\n\n",
            "GET /api/events HTTP/1.0\nHost: x\n\n",
            "GET /api/events HTTP/1.1\n\n",
            "GET /api/events HTTP/1.1\nHost: x\nHost: y\n\n",
            "GET /api/events HTTP/1.1\nHost: x\nContent-Length: 0\n\n",
            "GET /api/events HTTP/1.1\nHost: x\nTransfer-Encoding: chunked\n\n",
            "GET /api/events HTTP/1.1\nHost: x\nExpect: 100-continue\n\n",
            "GET /api/events HTTP/1.1\nHost: x\nUpgrade: h2c\n\n",
            "GET /api/events HTTP/1.1\nHost: x\n\nGET / HTTP/1.1\n\n",
            "GET /api/events HTTP/1.1\nHost: x\n",
            "PRI * HTTP/2.0\n\nSM\n\n",
            "nonsense\n\n",
        ] {
            assert!(plain_get(&head(text)).is_none(), "{text:?}");
        }
    }

    #[test]
    fn writes_heads_that_close_or_keep_alive() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, "text/event-stream".parse().unwrap());
        headers.insert(header::CONNECTION, "keep-alive".parse().unwrap());
        let head = response_head(StatusCode::OK, &headers, None, false, false);
        let head = String::from_utf8(head).unwrap();
        assert!(head.starts_with("HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"));
        assert!(head.contains("\r\ndate: "));
        assert!(head.ends_with("transfer-encoding: chunked\r\nconnection: close\r\n\r\n"));
        assert!(!head.contains("keep-alive"));
        let head = response_head(StatusCode::NO_CONTENT, &HeaderMap::new(), Some(0), true, false);
        let head = String::from_utf8(head).unwrap();
        assert!(head.starts_with("HTTP/1.1 204 No Content\r\n"));
        assert!(!head.contains("content-length") && !head.contains("transfer-encoding"));
        let head = response_head(StatusCode::BAD_REQUEST, &HeaderMap::new(), Some(12), false, true);
        let head = String::from_utf8(head).unwrap();
        assert!(head.ends_with("content-length: 12\r\n\r\n"), "{head}");
    }
}
