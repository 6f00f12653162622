//! The lean HTTP/1.1 path: plain `GET`s, event streams above all, answered without hyper's
//! buffers.
//!
//! hyper keeps two 8 KiB buffers for the whole life of an HTTP/1 connection (its read buffer and
//! its header write buffer), which would be most of an idle stream's memory. So [`serve`]
//! (crate::serve) starts each connection here: its request head is read into a small buffer,
//! freed once parsed. A plain HTTP/1.1 `GET` (no body, nothing pipelined, one `Host`, no
//! `Expect` or `Upgrade`: every `EventSource`'s request, and a browser's requests for a page's
//! assets) is answered by the router as usual (every layer applies) and its response written to
//! the socket frame by frame, with no buffer of its own: a body of unknown length (an event
//! stream) is chunked, watched for the client leaving, and closes the connection after it; a body
//! of known length (a `204`, an error; a file, whose length is in the `content-length` its
//! handler sets, as hyper takes it) goes out with its length, held to it, and the
//! connection stays open for the next head unless the client or the handler asks to close it. A
//! browser's stream, sent on a connection kept alive from the page's other requests, is so
//! answered here like one on a connection of its own. Every other request (another method, a
//! body, HTTP/1.0, an odd head, an HTTP/2 preface) goes to hyper, untouched: the bytes read so
//! far are replayed first, so hyper sees exactly what the client sent (a plain request without
//! a body comes back after its answer: `hand_back.rs`). A head over 16 KiB is answered `431`
//! here, a head not complete within the head timeout (30 s by default) `408`, and both close the
//! connection. A connection silent for the head timeout between requests is closed. The end of a
//! head is looked for only in the bytes each read adds, so a head sent a byte at a time costs
//! one pass over it, not one parse of all of it per byte.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, Response, StatusCode, Version, header};
use bytes::Buf;
use futures::future::Either;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::deadline::DeadlineWriter;
use crate::direct::{self, Tap, Tapped};
use crate::socket::Socket;

/// A connection whose writes may stay blocked at most the write deadline in a row.
pub(crate) type Io<S> = Pin<Box<DeadlineWriter<S>>>;

/// The longest request head, here and in hyper.
pub(crate) const MAX_HEAD: usize = 16 * 1024;
/// How much of a head is read at once; most requests fit.
const FIRST_READ: usize = 1024;
/// How long a connection may wait for, or take to send, its next request head, by default.
pub(crate) const HEAD_TIMEOUT: Duration = Duration::from_secs(30);
/// A chunk of an event stream this long or shorter is copied into one buffer with its framing
/// and written at once; a longer one (a batch) goes out as three pieces, uncopied.
const COPIED_CHUNK: usize = 4 * 1024;
/// The most headers a request read here may have.
const MAX_HEADERS: usize = 64;

/// What answering a connection takes: the client's address (for `ConnectInfo`), the router, the
/// stop signal, and how long a request head may take. A connection's task holds one; the lean
/// path and hyper's borrow it.
#[derive(Clone)]
pub(crate) struct Settings<A> {
    pub(crate) peer: A,
    pub(crate) router: Router,
    pub(crate) stopping: CancellationToken,
    pub(crate) head_timeout: Duration,
}

/// What became of a connection here.
pub(crate) enum Outcome<S> {
    /// Answered, and closed (or the client went).
    Done,
    /// For hyper, with the bytes already read.
    Handover(Replayed<S>),
}

/// Answers plain `GET`s until the client closes, asks for a close, or a stream ends; hands the
/// connection over, with what was read of the next request, for hyper to answer the rest.
///
/// A function returning an `async` block, not an `async fn`, which would keep its arguments
/// twice; and every value that is borrowed on the way to a response lives in a block or a
/// function that ends before the response is written: a local once borrowed keeps its room in
/// the task until its scope ends, whatever was moved out of it (the repository's
/// `docs/benchmarks.md`, "a smaller task per stream").
#[allow(clippy::manual_async_fn, reason = "an async fn keeps its arguments twice")]
pub(crate) fn serve_connection<'a, S: Socket, A: Clone + Send + Sync + 'static>(
    mut io: Io<S>,
    settings: &'a Settings<A>,
) -> impl Future<Output = Outcome<S>> + 'a {
    async move {
        loop {
            let (routing, keep_alive) = match next_request(&mut io, settings).await {
                NextRequest::Routed(routing, keep_alive) => (routing, keep_alive),
                NextRequest::Closed => return Outcome::Done,
                NextRequest::Other(replay) => return Outcome::Handover(Replayed { io, replay }),
            };
            let response = match routing.await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            let Answer { head, body, framing, keep_alive, tap } = answer(response, keep_alive);
            // The body is moved on every path: a stream's task does not keep a place for it.
            let written = match write_owned(&mut io, head).await {
                Ok(()) => write_body(&mut io, body, framing, tap).await,
                Err(error) => {
                    drop((body, tap));
                    Err(error)
                }
            };
            match written {
                Ok(()) if keep_alive => continue,
                Ok(()) => {}
                Err(error) if error.kind() == io::ErrorKind::TimedOut => {
                    metrics::counter!(crate::metrics::CLIENTS_DROPPED_SLOW).increment(1);
                    tracing::warn!("a client stopped reading; closing its connection");
                }
                Err(error) => tracing::debug!(%error, "a connection ended mid-response"),
            }
            let _ = io.shutdown().await;
            return Outcome::Done;
        }
    }
}

/// What the next request head of a connection came to.
enum NextRequest {
    /// The client closed between requests, stayed silent too long, or the server is stopping;
    /// or its head was too large or too slow, and it was told so.
    Closed,
    /// A request for hyper; the bytes read so far.
    Other(Bytes),
    /// A plain `GET`, routed; whether the client lets the connection stay open.
    Routed(Routing, bool),
}

/// Reads and routes the next request head; refuses one too large or too slow. Boxed: the head's
/// buffer, its deadline and the wait for a stop are done with once the head is in, and a
/// stream's task should not carry their room.
fn next_request<'a, S: Socket, A: Clone + Send + Sync + 'static>(
    io: &'a mut Io<S>,
    settings: &'a Settings<A>,
) -> Pin<Box<dyn Future<Output = NextRequest> + Send + 'a>> {
    let Settings { peer, router, stopping, head_timeout } = settings;
    Box::pin(async move {
        let mut head = Vec::with_capacity(FIRST_READ);
        let read = tokio::select! {
            // Between requests at shutdown: nothing is lost by closing.
            () = stopping.cancelled() => return NextRequest::Closed,
            read = timeout(*head_timeout, read_head(io, &mut head)) => read,
        };
        let refusal = match read {
            // The client closed between requests, or stayed silent too long.
            Ok(Ok(())) | Err(_) if head.is_empty() => return NextRequest::Closed,
            Ok(Ok(())) if head.len() >= MAX_HEAD && is_partial(&head) => HEAD_TOO_LARGE,
            // Started, and not finished in time: a slow client holds nothing longer.
            Err(_) => HEAD_TIMED_OUT,
            Ok(Ok(())) => match plain_get(&head) {
                Some(get) => {
                    let (routing, keep_alive) = route(router, get, peer);
                    return NextRequest::Routed(routing, keep_alive);
                }
                None => return NextRequest::Other(Bytes::from(head)),
            },
            // Hyper answers or closes it as it sees fit.
            Ok(Err(_)) => return NextRequest::Other(Bytes::from(head)),
        };
        let _ = io.write_all(refusal).await;
        let _ = io.shutdown().await;
        NextRequest::Closed
    })
}

/// The router's answer to a request, under way.
type Routing = Pin<Box<tower::util::Oneshot<Router, Request<Body>>>>;

/// The router's answer to `get` under way, boxed (a task is as large as its largest state, and
/// the request and the handler's future are done with once the stream starts), and whether the
/// client lets the connection stay open.
fn route<A: Clone + Send + Sync + 'static>(
    router: &Router,
    get: PlainGet,
    peer: &A,
) -> (Routing, bool) {
    let PlainGet { mut request, keep_alive } = get;
    request.extensions_mut().insert(ConnectInfo(peer.clone()));
    (Box::pin(router.clone().oneshot(request)), keep_alive)
}

/// What a head over [`MAX_HEAD`] gets.
const HEAD_TOO_LARGE: &[u8] = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 38\r\nconnection: close\r\n\r\nthe request head is over 16 KiB long\r\n";

/// What a head not complete within the head timeout gets.
const HEAD_TIMED_OUT: &[u8] = b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 42\r\nconnection: close\r\n\r\nthe request head took too long to arrive\r\n";

/// Whether `head` is the start of an HTTP/1 head not complete yet.
fn is_partial(head: &[u8]) -> bool {
    #[cfg(test)]
    PARSES.with(|parses| parses.set(parses.get() + 1));
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    matches!(httparse::Request::new(&mut headers).parse(head), Ok(httparse::Status::Partial))
}

#[cfg(test)]
thread_local! {
    /// How many times this thread parsed a head, for the test of a head sent byte by byte.
    static PARSES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Whether the bytes of `head` from `from` on hold the blank line that ends a head (`\n\n` or
/// `\n\r\n`, as httparse accepts), looking back two bytes for one split between reads.
fn ends_head(head: &[u8], from: usize) -> bool {
    let start = from.saturating_sub(2);
    head[start..].iter().enumerate().any(|(i, byte)| {
        let at = start + i;
        *byte == b'\n'
            && (head.get(at + 1) == Some(&b'\n')
                || (head.get(at + 1) == Some(&b'\r') && head.get(at + 2) == Some(&b'\n')))
    })
}

/// Reads until the head is complete, cannot be an HTTP/1.1 head (an HTTP/2 preface, say), the
/// client stops sending, or [`MAX_HEAD`] bytes. The head is parsed after the first read (bytes
/// that cannot start a head are told at once) and then only once a read brings its end.
async fn read_head(io: &mut (impl AsyncRead + Unpin), head: &mut Vec<u8>) -> io::Result<()> {
    loop {
        if head.len() >= MAX_HEAD {
            return Ok(());
        }
        if head.len() == head.capacity() {
            head.reserve(FIRST_READ);
        }
        let before = head.len();
        if io.read_buf(head).await? == 0 {
            return Ok(());
        }
        // Parsed in a function of its own: the array of 64 headers (2 KiB) must not live across
        // the read above, or every connection's task would carry it for its whole life.
        if (before == 0 || ends_head(head, before)) && !is_partial(head) {
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
    let keep_alive = !asks_close(headers);
    Some(PlainGet { request, keep_alive })
}

/// Whether a request or an answer asks to close its connection (`Connection: close`).
pub(crate) fn asks_close(headers: &HeaderMap) -> bool {
    headers.get_all(header::CONNECTION).iter().any(|value| {
        value.to_str().is_ok_and(|value| {
            value.split(',').any(|token| token.trim().eq_ignore_ascii_case("close"))
        })
    })
}

/// Hyper's HTTP/1.1 held to the lean path's rules: heads of at most [`MAX_HEAD`], each sent
/// within `head_timeout`.
pub(crate) fn hyper_http1(head_timeout: Duration) -> hyper::server::conn::http1::Builder {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .max_header_size(MAX_HEAD)
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(head_timeout);
    builder
}

/// A response taken apart for writing: its head's bytes, its body and how the body is framed,
/// and whether the connection stays open after it.
struct Answer {
    head: Vec<u8>,
    body: Body,
    framing: Framing,
    keep_alive: bool,
    /// A hub stream's place in the fan-out, for a chunked body whose frames go out as made.
    tap: Option<Arc<Tap>>,
}

/// How a body goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// No body (`1xx`, `204`, `304`).
    None,
    /// As is, after a `content-length` (the body held to it: [`HeldToLength`]).
    Length,
    /// Chunked, while the client is watched for leaving: an event stream.
    Chunked,
}

/// `response` ready to write as HTTP/1.1. A body of known length (its own, or, as hyper takes
/// it, the handler's `content-length`: a file's) goes out as is, and the connection stays open if
/// `keep_alive` and the handler does not ask to close it. A body of unknown length (an event
/// stream) is chunked, the client is watched while it runs (leaving ends it, and what it sends
/// meanwhile is read and ignored), and the connection closes after it.
fn answer(response: Response<Body>, keep_alive: bool) -> Answer {
    let (mut parts, body) = response.into_parts();
    let tap = parts.extensions.remove::<Tapped>().map(|Tapped(tap)| tap);
    let bodiless = parts.status.is_informational()
        || parts.status == StatusCode::NO_CONTENT
        || parts.status == StatusCode::NOT_MODIFIED;
    let length = if bodiless {
        Some(0)
    } else {
        body.size_hint().exact().or_else(|| declared_length(&parts.headers))
    };
    // Closed after it if the client or the handler asks (as hyper does), or the body has no
    // length (a chunked body is read past: the next request would be lost).
    let keep_alive = keep_alive && length.is_some() && !asks_close(&parts.headers);
    let head = response_head(parts.status, &parts.headers, length, bodiless, keep_alive);
    let (framing, body) = match length {
        _ if bodiless => (Framing::None, body),
        Some(length) => (Framing::Length, Body::new(HeldToLength { body, left: length })),
        None => (Framing::Chunked, body),
    };
    // A body a layer encoded is not written as the stream makes it.
    let tap = tap.filter(|_| {
        framing == Framing::Chunked && !parts.headers.contains_key(header::CONTENT_ENCODING)
    });
    Answer { head, body, framing, keep_alive, tap }
}

/// The one `content-length` a handler set, if it is a number: a body's length that its size
/// hint does not give (a file's, read in chunks).
fn declared_length(headers: &HeaderMap) -> Option<u64> {
    let mut values = headers.get_all(header::CONTENT_LENGTH).iter();
    let (Some(value), None) = (values.next(), values.next()) else { return None };
    let value = value.to_str().ok()?;
    if value.is_empty() || !value.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

/// A body of known length held to it, as hyper holds one: bytes past the length, or an end
/// before it, fail the body (the connection is cut), so that the client never reads a body's
/// stray bytes as the next response.
struct HeldToLength {
    body: Body,
    /// Bytes still to come.
    left: u64,
}

impl HttpBody for HeldToLength {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.body).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                let length = frame.data_ref().map_or(0, |data| data.len() as u64);
                match this.left.checked_sub(length) {
                    Some(left) => {
                        this.left = left;
                        Poll::Ready(Some(Ok(frame)))
                    }
                    None => {
                        Poll::Ready(Some(Err(axum::Error::new("a body longer than its length"))))
                    }
                }
            }
            Poll::Ready(None) if this.left > 0 => {
                Poll::Ready(Some(Err(axum::Error::new("a body shorter than its length"))))
            }
            other => other,
        }
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        hyper::body::SizeHint::with_exact(self.left)
    }
}

/// Writes `body` as `framing` says, a chunked one while watching for the client leaving.
///
/// What the task holds while a stream waits is this future's state: the body, the socket, and
/// the wait for the next frame; each write is a future of its own that owns what it writes.
#[allow(clippy::manual_async_fn, reason = "an async fn keeps its arguments twice")]
fn write_body<S: Socket>(
    io: &mut Io<S>,
    mut body: Body,
    framing: Framing,
    tap: Option<Arc<Tap>>,
) -> impl Future<Output = io::Result<()>> + '_ {
    async move {
        let chunked = match framing {
            Framing::None => return Ok(()),
            Framing::Length => false,
            Framing::Chunked => true,
        };
        if let Some(tap) = &tap {
            tap.attach(io.get_ref().direct());
        }
        loop {
            // Matched into plain values as it comes: a scrutinee kept across the writes would
            // keep its room in every waiting stream's task.
            let (data, as_is) = match next_data(io, &mut body, chunked, tap.as_deref()).await {
                Next::Data(data) => (data, !chunked),
                Next::Unwritten(rest) => (Bytes::from(rest), true),
                Next::End => break,
                Next::Gone => return Ok(()),
                Next::Failed(error) => return Err(error),
            };
            if as_is {
                write_owned(io, data).await?;
                continue;
            }
            write_chunk(io, data, tap.as_deref()).await?;
        }
        if chunked {
            io.write_all(b"0\r\n\r\n").await?;
        }
        Ok(())
    }
}

/// What comes next of a body.
enum Next {
    /// Bytes to write.
    Data(Bytes),
    /// What the hub's writer began and the socket did not take: written first, as is.
    Unwritten(Box<[u8]>),
    /// The body ended.
    End,
    /// The client left while a chunked body waited.
    Gone,
    /// The body failed: the connection is cut without the last chunk, so the client sees the
    /// stream was not complete.
    Failed(io::Error),
}

/// The next bytes of `body` (frames without data, and empty ones, are skipped); for a chunked
/// body, watching for the client leaving meanwhile (looked at first, so that a client that left
/// is noticed even while frames keep coming). One `poll_fn` over borrowed parts: the smallest
/// state a waiting stream can hold.
fn next_data<'a, S: Socket>(
    io: &'a Io<S>,
    body: &'a mut Body,
    chunked: bool,
    tap: Option<&'a Tap>,
) -> impl Future<Output = Next> + 'a {
    std::future::poll_fn(move |cx| {
        loop {
            if chunked && poll_client_gone(io.get_ref(), cx).is_ready() {
                return Poll::Ready(Next::Gone);
            }
            let next = match Pin::new(&mut *body).poll_frame(cx) {
                // What the hub's writer left unwritten, when the stream is back with its task:
                // its stream makes nothing before this is written (see `direct.rs`).
                Poll::Pending => match tap.and_then(Tap::take_unwritten) {
                    Some(rest) => Next::Unwritten(rest),
                    None => return Poll::Pending,
                },
                Poll::Ready(None) => Next::End,
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) if !data.is_empty() => Next::Data(data),
                    _ => continue,
                },
                Poll::Ready(Some(Err(error))) => Next::Failed(io::Error::other(error)),
            };
            return Poll::Ready(next);
        }
    })
}

/// Writes `bytes`, which the returned future owns (and nothing else of its caller's).
#[allow(clippy::manual_async_fn, reason = "an async fn keeps its arguments twice")]
fn write_owned<S: Socket>(
    io: &mut Io<S>,
    bytes: impl AsRef<[u8]> + Send + 'static,
) -> impl Future<Output = io::Result<()>> + Send + '_ {
    async move { io.write_all(bytes.as_ref()).await }
}

/// Writes `data` as one chunk: its size line, itself, CRLF; tells a hub stream's `tap` the frame
/// went out as made (before the write, which completes before the stream is polled again; here,
/// so the caller's task keeps no room for it).
fn write_chunk<'a, S: Socket>(
    io: &'a mut Io<S>,
    data: Bytes,
    tap: Option<&Tap>,
) -> impl Future<Output = io::Result<()>> + Send + 'a {
    if let Some(tap) = tap {
        tap.wrote(data.as_ptr() as usize, data.len());
    }
    if data.len() <= COPIED_CHUNK {
        // One buffer, one `write`: cheaper than a `writev` of three pieces (about 5 % of a
        // delivery's CPU: the repository's `docs/benchmarks.md`). A boxed slice: 8 bytes less
        // than a `Vec` in the waiting task.
        Either::Left(write_owned(io, direct::chunk(&data).into_boxed_slice()))
    } else {
        let mut size = [0_u8; 18];
        let size = direct::size_line(&mut size, data.len());
        // Boxed: a rare write (a batch), whose three pieces the waiting task need not carry.
        let mut chunk = Box::new(Bytes::copy_from_slice(size).chain(data).chain(&b"\r\n"[..]));
        Either::Right(async move { io.write_all_buf(&mut chunk).await })
    }
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

/// Ready once the client has closed its side (or the socket failed). Anything the client sends
/// meanwhile is read and ignored: it asked for one response.
///
/// Polled through the socket's own read-readiness slot (`poll_read_ready`), not `readable()`:
/// it is polled at every wake-up of the stream, and `readable()` would join and leave the
/// socket's list of waiters (a lock) each time.
fn poll_client_gone(socket: &impl Socket, cx: &mut Context<'_>) -> Poll<()> {
    let mut scratch = [0_u8; 64];
    loop {
        match socket.poll_read_ready(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Err(_)) => return Poll::Ready(()),
            Poll::Ready(Ok(())) => {}
        }
        match socket.try_read(&mut scratch) {
            Ok(0) => return Poll::Ready(()),
            // Read and ignored; a `WouldBlock` cleared the readiness: poll again.
            Ok(_) => {}
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
            Err(_) => return Poll::Ready(()),
        }
    }
}

/// A connection for hyper: the bytes already read from it come first.
#[derive(Debug)]
pub(crate) struct Replayed<S> {
    io: Io<S>,
    replay: Bytes,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Replayed<S> {
    /// A connection for hyper with nothing read yet.
    pub(crate) fn new(io: Io<S>) -> Self {
        Self { io, replay: Bytes::new() }
    }

    /// A connection for hyper, `read` read from it already.
    pub(crate) fn with_read(io: Io<S>, read: Bytes) -> Self {
        Self { io, replay: read }
    }

    /// The socket, and what of the bytes to replay was not read.
    pub(crate) fn into_parts(self) -> (Io<S>, Bytes) {
        (self.io, self.replay)
    }

    /// Whether the bytes to replay are exactly one whole HTTP/1.1 request with no body, that
    /// asks for nothing more than an answer (no `Upgrade`, no `Expect`) and lets the connection
    /// stay open: hyper can answer it and give the connection back, with nothing of a body or
    /// of another request left unread.
    pub(crate) fn is_one_plain_request(&self) -> bool {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut parsed = httparse::Request::new(&mut headers);
        let Ok(httparse::Status::Complete(length)) = parsed.parse(&self.replay) else {
            return false;
        };
        if length != self.replay.len() || parsed.version != Some(1) {
            return false;
        }
        parsed.headers.iter().all(|field| {
            let value = String::from_utf8_lossy(field.value);
            let name = field.name;
            let has_body = (name.eq_ignore_ascii_case("content-length") && value.trim() != "0")
                || name.eq_ignore_ascii_case("transfer-encoding");
            let asks_more =
                name.eq_ignore_ascii_case("upgrade") || name.eq_ignore_ascii_case("expect");
            let asks_close = name.eq_ignore_ascii_case("connection")
                && value.split(',').any(|token| token.trim().eq_ignore_ascii_case("close"));
            !has_body && !asks_more && !asks_close
        })
    }

    /// Whether the client opens with the HTTP/2 preface (prior knowledge), from the bytes read
    /// so far, or else from the socket's first bytes until they tell (a request of HTTP/1
    /// differs from the preface within its first two bytes). A TCP socket is peeked at, nothing
    /// taken from it, so hyper's first read gets the whole head and sizes its buffer for it
    /// (reading a few bytes ahead made hyper's idle connections larger: the repository's
    /// `docs/benchmarks.md`); another connection is read, what was read kept to be replayed.
    pub(crate) async fn starts_http2(&mut self) -> bool
    where
        S: 'static,
    {
        const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
        let decided = |bytes: &[u8]| -> Option<bool> {
            let seen = bytes.len().min(PREFACE.len());
            if bytes[..seen] != PREFACE[..seen] {
                Some(false)
            } else {
                (seen == PREFACE.len()).then_some(true)
            }
        };
        if !self.replay.is_empty() {
            // What the lean path read: a whole head, or what came before it gave up.
            return decided(&self.replay).unwrap_or(false);
        }
        let socket: &dyn std::any::Any = self.io.get_ref();
        if let Some(tcp) = socket.downcast_ref::<tokio::net::TcpStream>() {
            let started = tokio::time::Instant::now();
            let mut first = [0_u8; 24];
            loop {
                let Ok(Ok(n)) = timeout(HEAD_TIMEOUT, tcp.peek(&mut first)).await else {
                    return false;
                };
                if n == 0 {
                    return false;
                }
                if let Some(http2) = decided(&first[..n]) {
                    return http2;
                }
                // A prefix of the preface so far: wait for more (rare: a client of HTTP/2).
                if started.elapsed() > HEAD_TIMEOUT {
                    return false;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        let mut first = Vec::with_capacity(PREFACE.len());
        let http2 = timeout(HEAD_TIMEOUT, async {
            loop {
                match self.io.read_buf(&mut first).await {
                    Ok(0) | Err(_) => return false,
                    Ok(_) => {}
                }
                if let Some(http2) = decided(&first) {
                    return http2;
                }
            }
        })
        .await
        .unwrap_or(false);
        self.replay = Bytes::from(first);
        http2
    }

    /// The connection's first byte, read with what came along (kept to be replayed); `None` if
    /// the client closed (or the read failed) before sending anything.
    #[cfg(feature = "tls")]
    pub(crate) async fn first_byte(&mut self) -> Option<u8> {
        if let Some(&byte) = self.replay.first() {
            return Some(byte);
        }
        // A TLS client's hello is a few hundred bytes: most come in this one read.
        let mut first = Vec::with_capacity(512);
        match self.io.read_buf(&mut first).await {
            Ok(n) if n > 0 => {
                let byte = first[0];
                self.replay = Bytes::from(first);
                Some(byte)
            }
            _ => None,
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for Replayed<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.replay.is_empty() {
            let n = self.replay.len().min(buf.remaining());
            buf.put_slice(&self.replay[..n]);
            self.replay.advance(n);
            if self.replay.is_empty() {
                // Its allocation (a whole head, read by the lean path) is not kept for the
                // connection's life.
                self.replay = Bytes::new();
            }
            return Poll::Ready(Ok(()));
        }
        self.io.as_mut().poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Replayed<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.io.as_mut().poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.io.as_mut().poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.as_mut().poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.as_mut().poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(text: &str) -> Vec<u8> {
        text.replace('\n', "\r\n").into_bytes()
    }

    /// A head of about 16 KiB, read one byte per read.
    async fn read_byte_by_byte(text: &[u8]) -> (Vec<u8>, usize) {
        let (mut client, mut server) = tokio::io::duplex(1);
        let text = text.to_vec();
        let writer = tokio::spawn(async move {
            use tokio::io::AsyncWriteExt as _;
            // Fails once the reader has a whole head and goes: the rest is not read.
            let _ = client.write_all(&text).await;
        });
        let mut head = Vec::new();
        PARSES.with(|parses| parses.set(0));
        read_head(&mut server, &mut head).await.unwrap();
        drop(server);
        writer.await.unwrap();
        (head, PARSES.with(std::cell::Cell::get))
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_head_sent_byte_by_byte_is_parsed_once_its_end_arrives() {
        let mut text = b"GET /api/events HTTP/1.1\r\nHost: x\r\n".to_vec();
        // 60 headers of 250 bytes: within the limits of headers and bytes.
        for n in 0..60 {
            text.extend_from_slice(format!("X-Filler-{n:02}: {}\r\n", "x".repeat(235)).as_bytes());
        }
        text.extend_from_slice(b"Accept: text/event-stream\r\n\r\n");
        assert!(text.len() > 15_000 && text.len() < MAX_HEAD);
        let (head, parses) = read_byte_by_byte(&text).await;
        assert!(head == text && plain_get(&head).is_some(), "the whole head, nothing more");
        // Once after the first byte, once at the end: not once per byte (16,000 parses of up
        // to 16 KiB each, over a second of CPU).
        assert_eq!(parses, 2);
        // The end split between reads in every way httparse accepts.
        for end in ["\n\n", "\r\n\r\n", "\n\r\n"] {
            let text = format!("GET / HTTP/1.1{end}");
            let (head, parses) = read_byte_by_byte(text.as_bytes()).await;
            assert_eq!((head, parses), (text.into_bytes(), 2), "{end:?}");
        }
        // What cannot start a head is told after the first read.
        let (head, parses) = read_byte_by_byte(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").await;
        assert_eq!((head.len(), parses), (18, 2), "the preface's first line, then its end");
    }

    /// What a body says of its length, and what it gives.
    struct Lying {
        says: u64,
        gives: &'static [&'static str],
    }

    impl HttpBody for Lying {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
            let Some((first, rest)) = self.gives.split_first() else { return Poll::Ready(None) };
            self.gives = rest;
            Poll::Ready(Some(Ok(hyper::body::Frame::data(Bytes::from_static(first.as_bytes())))))
        }

        fn size_hint(&self) -> hyper::body::SizeHint {
            hyper::body::SizeHint::with_exact(self.says)
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_body_of_known_length_is_held_to_it() {
        use http_body_util::BodyExt as _;
        let body = |says, gives| {
            let Answer { body, framing, .. } =
                answer(Response::new(Body::new(Lying { says, gives })), true);
            assert_eq!(framing, Framing::Length);
            body
        };
        let whole = body(5, &["ab", "cde"]).collect().await.expect("as long as it says");
        assert_eq!(whole.to_bytes(), "abcde");
        let error = body(4, &["ab", "cde"]).collect().await.expect_err("longer than it says");
        assert!(error.to_string().contains("longer"), "{error}");
        let error = body(6, &["ab", "cde"]).collect().await.expect_err("shorter than it says");
        assert!(error.to_string().contains("shorter"), "{error}");
    }

    #[test]
    fn a_handler_that_asks_to_close_closes() {
        let mut response = Response::new(Body::from("bye"));
        response.headers_mut().insert(header::CONNECTION, "close".parse().unwrap());
        let Answer { head, keep_alive, .. } = answer(response, true);
        assert!(!keep_alive);
        let head = String::from_utf8(head).unwrap();
        assert!(head.contains("connection: close\r\n"), "{head}");
        let Answer { keep_alive, .. } = answer(Response::new(Body::from("hi")), true);
        assert!(keep_alive, "a body of known length, the client lets it stay open");
    }

    #[test]
    fn takes_plain_gets() {
        let get = plain_get(&head(
            "GET /api/events?topics=ticker HTTP/1.1\nHost: x\nAccept: text/event-stream\nLast-Event-ID: 1-2\n\n",
        ))
        .expect("a plain GET");
        assert_eq!(get.request.uri(), "/api/events?topics=ticker");
        assert_eq!(get.request.headers()["last-event-id"], "1-2");
        assert!(get.keep_alive);
        let text = "GET / HTTP/1.1\nHost: x\nAccept: text/html, Text/Event-Stream;q=0.9\nConnection: foo, Close\n\n";
        let get = plain_get(&head(text)).unwrap();
        assert!(!get.keep_alive);
        // Whatever they accept: a page's assets, its state.
        for text in [
            "GET /api/state HTTP/1.1\nHost: x\n\n",
            "GET /favicon.ico HTTP/1.1\nHost: x\nAccept: image/*\n\n",
            "GET /api/state HTTP/1.1\nHost: x\nAccept: application/json\n\n",
        ] {
            assert!(plain_get(&head(text)).is_some(), "{text:?}");
        }
    }

    #[test]
    fn leaves_everything_else_to_hyper() {
        // Not plainly a request for an answer.
        for text in [
            "POST /api/events HTTP/1.1\nHost: x\n",
            "HEAD / HTTP/1.1\nHost: x\n",
            "GET /api/events HTTP/1.0\nHost: x\n",
            "GET /api/events HTTP/1.1\n",
            "GET /api/events HTTP/1.1\nHost: x\nHost: y\n",
            "GET /api/events HTTP/1.1\nHost: x\nContent-Length: 0\n",
            "GET /api/events HTTP/1.1\nHost: x\nTransfer-Encoding: chunked\n",
            "GET /api/events HTTP/1.1\nHost: x\nExpect: 100-continue\n",
            "GET /api/events HTTP/1.1\nHost: x\nUpgrade: h2c\n",
        ] {
            let text = format!("{text}Accept: text/event-stream\n\n");
            assert!(plain_get(&head(&text)).is_none(), "{text:?}");
        }
        for text in [
            "GET /api/events HTTP/1.1\nHost: x\nAccept: text/event-stream\n\nGET / HTTP/1.1\n\n",
            "GET /api/events HTTP/1.1\nHost: x\nAccept: text/event-stream\n",
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
