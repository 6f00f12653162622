//! `serve`: axum's `serve`, with lean event streams, a write deadline on every connection and
//! request heads held to RFC 9112.

use std::any::Any;
use std::collections::HashMap;
use std::future::{Future, IntoFuture};
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::http::{StatusCode, Version, header};
use axum::response::{IntoResponse, Response};
use axum::serve::Listener;
use futures::future::BoxFuture;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

use crate::deadline::DeadlineWriter;
use crate::h2_stream::{self, StreamExecutor};
use crate::hand_back;
use crate::lean::{self, Outcome, Replayed};
use crate::metrics as m;
use crate::socket::{SharedSocket, Socket};

/// HTTP/2: the most streams open at once on one connection (a page's event streams and its
/// other requests); past it the client waits for one to end.
const H2_MAX_STREAMS: u32 = 100;
/// HTTP/2: the largest header list a request may send (as HTTP/1.1's head limit); a larger one
/// (endless `CONTINUATION` frames included) is refused.
const H2_MAX_HEADER_LIST: u32 = lean::MAX_HEAD as u32;
/// HTTP/2: streams the client opened and reset before the server answered, tolerated at once;
/// past it the connection is closed (the "rapid reset" attack, CVE-2023-44487).
const H2_MAX_PENDING_RESETS: usize = 20;
/// HTTP/2: streams the server had to reset for the client's protocol errors, tolerated over the
/// connection's life; past it the connection is closed.
const H2_MAX_ERROR_RESETS: usize = 1024;
/// HTTP/2: the most a stream may have waiting to be sent (h2's default is about 400 KB): what
/// a stream whose window its client keeps closed holds until the write deadline resets it.
const H2_MAX_SEND_BUFFER: usize = 64 * 1024;

/// The listen backlog of [`bind`]: how many connections the kernel holds for `accept`.
const BACKLOG: u32 = 4096;

/// A listener for [`serve`] with room for many clients connecting at once (a server restart,
/// a network back): a listen backlog of 4,096 (the system's `somaxconn` caps it). tokio's
/// `TcpListener::bind` asks for 128, so the 129th of a burst of connections waits for the
/// kernel to retry its `SYN`, a second later (measured: 1,000 clients connecting 512 at a time
/// took 1.08 s, 488 overflows; with this, see docs/benchmarks.md in the repository).
///
/// # Errors
/// The system's, when the address cannot be bound (in use, not local).
///
/// # Examples
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_io().build().unwrap().block_on(async {
/// let listener = tidings_axum::bind("127.0.0.1:0".parse().unwrap())?;
/// assert!(listener.local_addr()?.port() > 0);
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
pub fn bind(addr: std::net::SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    // As tokio's own `bind` does on Unix: a restarted server can listen again at once.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

/// Serves `router` on `listener` until the future given to
/// [`with_graceful_shutdown`](Serve::with_graceful_shutdown) completes (or forever): what
/// `axum::serve` does, plus what a server of long-lived streams needs.
///
/// `listener` is any axum [`Listener`]: a `TcpListener` ([`bind`] makes one with room for many
/// clients connecting at once), a `UnixListener`, or your own (TLS, say). Every request carries
/// the standard `ConnectInfo` of the listener's address type (`ConnectInfo<SocketAddr>` over
/// TCP), so extractors and rate limiters that read the peer work as with axum's `serve`.
///
/// - **Lean event streams** (on by default, [`lean_streams`](Serve::lean_streams)): a plain
///   HTTP/1.1 `GET` (no body, no `Expect` or `Upgrade`: every `EventSource`'s request, and a
///   page's assets and snapshots) is answered by the router and written to the socket without
///   hyper, whose two 8 KiB buffers per connection would be most of an idle stream's memory (the
///   figures are in the repository's `docs/benchmarks.md`); a body of known length is held to it,
///   as hyper holds it. So a browser's stream sent on a connection kept alive from the page's
///   other requests is served lean too. Every other request goes to hyper untouched; after one
///   without a body (a `HEAD`, say) hyper gives the connection back to the lean path. The lean
///   path serves a `TcpStream` or a `UnixStream`; any other connection (a TLS stream, a wrapper)
///   is served by hyper throughout.
/// - **The hub's writers**: an [`EventStream`](crate::EventStream) on the lean path that has sent
///   all it had is written to by its hub's writer (one per core), which frames each live record
///   once and sends it to every waiting stream's socket without waking the stream's task (about
///   0.6× the CPU per delivery of a task per stream, as with axum's `Sse`: the repository's
///   `docs/benchmarks.md`). Anything else (a socket that would block, a close, the drain) goes
///   back to the stream's task, which keeps every rule above. A layer that rewrites the
///   stream's frames, or sets `Content-Encoding`, keeps the stream with its task, so the layer
///   sees every frame.
/// - **A write deadline** on every connection ([`write_deadline`](Serve::write_deadline), 10 s):
///   a client that stops reading is cut off once its writes stay blocked that long, so it holds
///   no memory; it resumes by id when it comes back. Over HTTP/2, per stream as well.
/// - **Heads held to RFC 9112**, on both paths: at most 16 KiB (`431` otherwise), exactly one
///   `Host` on HTTP/1.1 (`400` otherwise); a request with both `Content-Length` and
///   `Transfer-Encoding` is read by its chunks and its connection closed after the answer.
/// - **HTTP/2 held to limits** (over TLS, or with prior knowledge): at most 100 streams open on
///   one connection (the next waits for one to end), header lists of at most 16 KiB (`431`
///   otherwise, endless `CONTINUATION` frames included), and a connection whose client keeps
///   resetting streams is closed: 20 resets of streams not yet answered at once, 1,024 streams
///   reset for the client's errors in its life (the "rapid reset" attack). These are hyper's and
///   h2's own settings, set here. A stream holds at most 64 KiB waiting to be sent, and one whose
///   window its client keeps closed past the write deadline is reset (the others go on).
///
/// On shutdown it stops accepting, closes idle connections, lets hyper finish its requests and
/// waits for every stream to end: call [`Hub::drain`](crate::Hub::drain) in the signal so
/// streams send `shutdown` and end.
///
/// # Examples
///
/// ```no_run
/// use axum::{Router, routing::get};
/// use tidings_axum::Hub;
///
/// # async fn run() -> std::io::Result<()> {
/// let hub = Hub::new();
/// let app = Router::new().route("/healthz", get(|| async { "ok" })).with_state(hub.clone());
/// let listener = tidings_axum::bind("127.0.0.1:3000".parse().unwrap())?;
/// tidings_axum::serve(listener, app)
///     .with_graceful_shutdown(async move {
///         let _ = tokio::signal::ctrl_c().await;
///         hub.drain();
///     })
///     .await
/// # }
/// ```
///
/// Over a unix socket (a reverse proxy on the same machine, say):
///
/// ```no_run
/// # async fn run(app: axum::Router) -> std::io::Result<()> {
/// let listener = tokio::net::UnixListener::bind("/run/notes/http.sock")?;
/// tidings_axum::serve(listener, app).await
/// # }
/// ```
pub fn serve<L>(listener: L, router: Router) -> Serve<L>
where
    L: Listener,
    L::Addr: Clone + Send + Sync + 'static,
{
    Serve {
        listener,
        #[cfg(feature = "tls")]
        tls: None,
        router,
        signal: Box::pin(std::future::pending()),
        lean_streams: true,
        write_deadline: Duration::from_secs(10),
        grace: Duration::from_secs(10),
        head_timeout: lean::HEAD_TIMEOUT,
    }
}

/// A server made by [`serve`]; `.await` it.
#[must_use = "a server does nothing until it is awaited"]
pub struct Serve<L = TcpListener> {
    listener: L,
    #[cfg(feature = "tls")]
    tls: Option<crate::Tls>,
    router: Router,
    signal: BoxFuture<'static, ()>,
    lean_streams: bool,
    write_deadline: Duration,
    grace: Duration,
    head_timeout: Duration,
}

impl<L> std::fmt::Debug for Serve<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Serve")
            .field("lean_streams", &self.lean_streams)
            .field("write_deadline", &self.write_deadline)
            .field("grace", &self.grace)
            .field("head_timeout", &self.head_timeout)
            .finish_non_exhaustive()
    }
}

impl<L> Serve<L>
where
    L: Listener,
    L::Addr: Clone + Send + Sync + 'static,
{
    /// Shuts down gracefully once `signal` completes.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn run(listener: tokio::net::TcpListener, app: axum::Router) -> std::io::Result<()> {
    /// tidings_axum::serve(listener, app)
    ///     .with_graceful_shutdown(async { let _ = tokio::signal::ctrl_c().await; })
    ///     .await
    /// # }
    /// ```
    pub fn with_graceful_shutdown(
        mut self,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> Self {
        self.signal = Box::pin(signal);
        self
    }

    /// Whether event streams (and every other plain `GET`) are answered without hyper (see
    /// [`serve`]). Default: `true`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn run(listener: tokio::net::TcpListener, app: axum::Router) -> std::io::Result<()> {
    /// tidings_axum::serve(listener, app).lean_streams(false).await
    /// # }
    /// ```
    pub fn lean_streams(mut self, lean: bool) -> Self {
        self.lean_streams = lean;
        self
    }

    /// How long a connection's writes may stay blocked in a row before it is closed. Default:
    /// 10 s. Over HTTP/2 it holds for each stream too: a stream whose client keeps its window
    /// closed that long (while reading the connection's other streams) is reset with `CANCEL`,
    /// and the others go on.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn run(listener: tokio::net::TcpListener, app: axum::Router) -> std::io::Result<()> {
    /// tidings_axum::serve(listener, app).write_deadline(std::time::Duration::from_secs(5)).await
    /// # }
    /// ```
    pub fn write_deadline(mut self, deadline: Duration) -> Self {
        self.write_deadline = deadline;
        self
    }

    /// How long shutdown waits for connections to end by themselves (streams of the hub end at
    /// once; a request in progress finishes) before it closes the rest: a response that never
    /// ends (a stream not of the hub, say) cannot hold the server up. Default: 10 s.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn run(listener: tokio::net::TcpListener, app: axum::Router) -> std::io::Result<()> {
    /// tidings_axum::serve(listener, app).shutdown_grace(std::time::Duration::from_secs(2)).await
    /// # }
    /// ```
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Serves TLS (feature `tls`): every connection is a TLS handshake (within the head
    /// timeout), then HTTP/2 or HTTP/1.1 as ALPN agreed (a browser picks HTTP/2, which lets a
    /// page open more than six streams to the site). Over TLS every request goes through
    /// hyper: the lean path needs the socket itself. A plaintext request on the port gets a
    /// `400` that says to use `https://`; a failed handshake closes the connection.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn run(listener: tokio::net::TcpListener, app: axum::Router) -> Result<(), Box<dyn std::error::Error>> {
    /// let tls = tidings_axum::Tls::from_pem_files("cert.pem", "key.pem")?;
    /// tidings_axum::serve(listener, app).tls(tls).await?;
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "tls")]
    pub fn tls(mut self, tls: crate::Tls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// How long a connection may take to send a request head, or wait between two requests,
    /// before it is closed (a head begun and not finished is answered `408`): a client sending
    /// a head a line at a time holds a connection no longer than this. Default: 30 s.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn run(listener: tokio::net::TcpListener, app: axum::Router) -> std::io::Result<()> {
    /// tidings_axum::serve(listener, app).head_timeout(std::time::Duration::from_secs(10)).await
    /// # }
    /// ```
    pub fn head_timeout(mut self, timeout: Duration) -> Self {
        self.head_timeout = timeout;
        self
    }

    /// The address it listens on.
    ///
    /// # Errors
    /// The listener's.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn run(listener: tokio::net::TcpListener, app: axum::Router) -> std::io::Result<()> {
    /// let server = tidings_axum::serve(listener, app);
    /// println!("listening on http://{}", server.local_addr()?);
    /// server.await
    /// # }
    /// ```
    pub fn local_addr(&self) -> io::Result<L::Addr> {
        self.listener.local_addr()
    }

    async fn run(self) -> io::Result<()> {
        let Self {
            listener,
            #[cfg(feature = "tls")]
            tls,
            router,
            signal,
            lean_streams,
            write_deadline,
            grace,
            head_timeout,
        } = self;
        #[cfg(feature = "tls")]
        let acceptor = tls.as_ref().map(crate::Tls::acceptor);
        let router = router.layer(axum::middleware::from_fn(check_head));
        let stopping = CancellationToken::new();
        // What runs, to cut what is still open once the grace period is over.
        let running = Arc::new(Mutex::new(Running::default()));
        let connections = TaskTracker::new();
        let mut signal = signal;
        let mut listener = listener;
        loop {
            // The listener waits out the errors of accepting (out of file descriptors, say),
            // as with axum's `serve`.
            let (io, peer) = tokio::select! {
                () = &mut signal => break,
                accepted = listener.accept() => accepted,
            };
            metrics::counter!(m::CONNECTIONS_ACCEPTED).increment(1);
            let (router, stopping) = (router.clone(), stopping.clone());
            let mut tasks = running.lock().unwrap_or_else(PoisonError::into_inner);
            let id = tasks.next;
            tasks.next += 1;
            let running_here = Arc::clone(&running);
            let forget = move || {
                // Waits for the insertion below, if the connection ended that fast.
                running_here.lock().unwrap_or_else(PoisonError::into_inner).aborts.remove(&id);
            };
            let settings = Connection {
                settings: lean::Settings { peer, router, stopping, head_timeout },
                write_deadline,
            };
            // The socket's kind told at run time: `Any` over the one connection, no bound on
            // the listener's type.
            let mut io = Some(io);
            if let Some(Some(tcp)) = (&io as &dyn Any).downcast_ref::<Option<TcpStream>>() {
                // Small frames go out at once: an event must not wait for the previous one's
                // ACK.
                let _ = tcp.set_nodelay(true);
            }
            #[cfg(feature = "tls")]
            if let Some(acceptor) = &acceptor {
                let io = with_deadline(io.take().expect("taken once"), write_deadline);
                let task = connections.spawn(settings.tls_then_hyper(io, acceptor.clone(), forget));
                tasks.aborts.insert(id, task.abort_handle());
                continue;
            }
            // The lean path for the sockets it can serve.
            let slot: &mut dyn Any = &mut io;
            let task = if let Some(tcp) = lean_streams.then(|| tcp_stream(slot)).flatten() {
                let io = with_deadline(SharedSocket::new(tcp), write_deadline);
                connections.spawn(settings.lean_then_hyper(io, forget))
            } else if let Some(unix) = lean_streams.then(|| unix_stream(slot)).flatten() {
                let io = with_deadline(SharedSocket::new(unix), write_deadline);
                connections.spawn(settings.lean_then_hyper(io, forget))
            } else {
                let io = with_deadline(io.take().expect("taken once"), write_deadline);
                connections.spawn(settings.hyper(Replayed::new(io), forget))
            };
            tasks.aborts.insert(id, task.abort_handle());
        }
        drop(listener);
        tracing::info!("shutting down: waiting for the connections to end");
        stopping.cancel();
        connections.close();
        if tokio::time::timeout(grace, connections.wait()).await.is_err() {
            tracing::warn!(?grace, "connections still open after the grace period: closing them");
            let aborts: Vec<AbortHandle> = {
                let running = running.lock().unwrap_or_else(PoisonError::into_inner);
                running.aborts.values().cloned().collect()
            };
            aborts.iter().for_each(AbortHandle::abort);
            connections.wait().await;
        }
        Ok(())
    }
}

impl<L> IntoFuture for Serve<L>
where
    L: Listener,
    L::Addr: Clone + Send + Sync + 'static,
{
    type Output = io::Result<()>;
    type IntoFuture = Pin<Box<dyn Future<Output = io::Result<()>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

/// The connections' tasks, each by a number, to cut them after the grace period (a handle per
/// connection costs less than a future waiting in every task).
#[derive(Default)]
struct Running {
    next: u64,
    aborts: HashMap<u64, AbortHandle>,
}

/// The connection in `slot` if it is a TCP socket (taken out of the slot).
fn tcp_stream(slot: &mut dyn Any) -> Option<TcpStream> {
    slot.downcast_mut::<Option<TcpStream>>().and_then(Option::take)
}

/// The connection in `slot` if it is a unix socket (taken out of the slot).
#[cfg(unix)]
fn unix_stream(slot: &mut dyn Any) -> Option<tokio::net::UnixStream> {
    slot.downcast_mut::<Option<tokio::net::UnixStream>>().and_then(Option::take)
}

#[cfg(not(unix))]
fn unix_stream(_: &mut dyn Any) -> Option<TcpStream> {
    None
}

fn with_deadline<S: AsyncWrite>(socket: S, deadline: Duration) -> lean::Io<S> {
    Box::pin(DeadlineWriter::new(socket, deadline))
}

/// What one connection's task needs.
#[derive(Clone)]
struct Connection<A> {
    settings: lean::Settings<A>,
    /// For each HTTP/2 stream (the socket's own is on the socket).
    write_deadline: Duration,
}

impl<A: Clone + Send + Sync + 'static> Connection<A> {
    /// The lean path first, then hyper if it hands the connection over; `forget` at the end.
    /// A plain request without a body goes to hyper alone and the connection comes back (see
    /// `hand_back.rs`): a browser's stream, sent on a connection kept alive from the page's other
    /// requests, is served lean too.
    ///
    /// An `async` block rather than an `async fn`: an `async fn` keeps its arguments twice in
    /// its state, once as passed and once as moved in (rust-lang/rust#62958), and this is the
    /// state every lean stream's task holds (`-Zprint-type-sizes`, the repository's
    /// `docs/benchmarks.md`).
    #[allow(clippy::manual_async_fn, reason = "an async fn keeps its arguments twice")]
    fn lean_then_hyper<S: Socket>(
        self,
        io: lean::Io<S>,
        forget: impl FnOnce(),
    ) -> impl Future<Output = ()> {
        async move {
            let mut io = io;
            loop {
                // Matched as it comes (a local bound to the outcome would keep its room in the
                // task while the connection is handed over).
                let replayed = match lean::serve_connection(io, &self.settings).await {
                    Outcome::Handover(replayed) => replayed,
                    Outcome::Done => break,
                };
                // Boxed: hyper's connection is large, and a task is as large as its largest
                // state; a lean stream's task should not carry it (nor what telling HTTP/2
                // takes, nor what was handed over).
                match Box::pin(self.handed_over(replayed)).await {
                    Some(back) => io = back,
                    None => break,
                }
            }
            forget();
        }
    }

    /// A connection the lean path handed over: one plain request without a body is answered by
    /// hyper alone and the connection comes back (`Some`) for the lean path's next request;
    /// anything else stays with hyper to the end (`None`).
    async fn handed_over<S: Socket>(&self, replayed: Replayed<S>) -> Option<lean::Io<S>> {
        if !replayed.is_one_plain_request() {
            self.clone().serve_replayed(replayed).await;
            return None;
        }
        let (back, read) = hand_back::serve_one(replayed, &self.settings).await?;
        if !read.is_empty() {
            // More was sent before the answer ended (pipelined): hyper answers it and what
            // follows, so the lean path's state carries no bytes read ahead.
            self.clone().serve_replayed(Replayed::with_read(back, read)).await;
            return None;
        }
        Some(back)
    }

    /// Hyper throughout; `forget` at the end.
    async fn hyper<S>(self, io: Replayed<S>, forget: impl FnOnce())
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        self.serve_replayed(io).await;
        forget();
    }

    /// Hyper over a connection some of whose bytes may have been read already (by the lean
    /// path): HTTP/2 if it opens with the preface.
    async fn serve_replayed<S>(self, mut io: Replayed<S>)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let http2 = io.starts_http2().await;
        self.serve_with_hyper(io, http2).await;
    }

    /// A TLS handshake (within the head timeout), then hyper as ALPN agreed; a plaintext
    /// request is told to use `https://`. `forget` at the end.
    #[cfg(feature = "tls")]
    async fn tls_then_hyper<S>(
        self,
        io: lean::Io<S>,
        acceptor: tokio_rustls::TlsAcceptor,
        forget: impl FnOnce(),
    ) where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        if let Some(tls) = crate::tls::accept(io, &acceptor, self.settings.head_timeout).await {
            let http2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
            Box::pin(self.serve_with_hyper(tls, http2)).await;
        }
        forget();
    }

    /// One connection served by hyper (HTTP/1.1, with upgrades, or HTTP/2 with prior
    /// knowledge), closed gracefully when `stopping` is cancelled.
    async fn serve_with_hyper<I>(self, io: I, http2: bool)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        metrics::counter!(m::CONNECTIONS_TO_HYPER).increment(1);
        let Self {
            settings: lean::Settings { peer, router, stopping, head_timeout },
            write_deadline,
        } = self;
        let stopping = &stopping;
        let service = router.map_request(move |request: Request<Incoming>| {
            let mut request = request.map(Body::new);
            request.extensions_mut().insert(ConnectInfo(peer.clone()));
            request
        });
        let io = TokioIo::new(io);
        let result = if http2 {
            // Each stream held to the write deadline: a window left closed is a stalled client.
            let service = TowerToHyperService::new(service.map_response(h2_stream::watch_body));
            let executor = StreamExecutor { deadline: write_deadline };
            let connection = hyper::server::conn::http2::Builder::new(executor)
                .timer(TokioTimer::new())
                .max_send_buf_size(H2_MAX_SEND_BUFFER)
                .max_concurrent_streams(H2_MAX_STREAMS)
                .max_header_list_size(H2_MAX_HEADER_LIST)
                .max_pending_accept_reset_streams(H2_MAX_PENDING_RESETS)
                .max_local_error_reset_streams(H2_MAX_ERROR_RESETS)
                .serve_connection(io, service);
            until_stopped(std::pin::pin!(connection), stopping).await
        } else {
            let service = TowerToHyperService::new(service);
            let connection =
                lean::hyper_http1(head_timeout).serve_connection(io, service).with_upgrades();
            until_stopped(std::pin::pin!(connection), stopping).await
        };
        if let Err(error) = result {
            let timed_out = std::iter::successors(
                Some(&error as &(dyn std::error::Error + 'static)),
                |error| error.source(),
            )
            .filter_map(|error| error.downcast_ref::<io::Error>())
            .any(|error| error.kind() == io::ErrorKind::TimedOut);
            if timed_out {
                metrics::counter!(m::CLIENTS_DROPPED_SLOW).increment(1);
                tracing::warn!("a client stopped reading; closing its connection");
            } else {
                tracing::debug!(%error, "a connection ended with an error");
            }
        }
    }
}

/// A hyper connection that can be asked to finish its requests and close.
trait Graceful: Future {
    fn graceful_shutdown(self: Pin<&mut Self>);
}

impl<I, S, E, B> Graceful for hyper::server::conn::http2::Connection<I, S, E>
where
    S: hyper::service::HttpService<Incoming, ResBody = B>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    I: hyper::rt::Read + hyper::rt::Write + Unpin,
    B: hyper::body::Body + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    E: hyper::rt::bounds::Http2ServerConnExec<S::Future, B>,
{
    fn graceful_shutdown(self: Pin<&mut Self>) {
        hyper::server::conn::http2::Connection::graceful_shutdown(self);
    }
}

impl<I, S, B> Graceful for hyper::server::conn::http1::UpgradeableConnection<I, S>
where
    S: hyper::service::HttpService<Incoming, ResBody = B>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    B: hyper::body::Body + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    fn graceful_shutdown(self: Pin<&mut Self>) {
        hyper::server::conn::http1::UpgradeableConnection::graceful_shutdown(self);
    }
}

/// Runs `connection` to its end, asking it to finish gracefully once `stopping` is cancelled.
/// Pinned by the caller, so the connection is stored once.
async fn until_stopped<C: Graceful>(
    mut connection: Pin<&mut C>,
    stopping: &CancellationToken,
) -> C::Output {
    tokio::select! {
        result = connection.as_mut() => result,
        () = stopping.cancelled() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    }
}

/// RFC 9112, 3.2: a request must carry exactly one `Host` (HTTP/2 names its authority instead).
async fn check_head(request: Request, next: axum::middleware::Next) -> Response {
    let hosts = request.headers().get_all(header::HOST).iter().count();
    let http1 = request.version() <= Version::HTTP_11;
    let wrong = hosts > 1 || (request.version() == Version::HTTP_11 && hosts == 0);
    if http1 && wrong {
        let mut response = (
            StatusCode::BAD_REQUEST,
            "a request must carry exactly one Host header (RFC 9112, 3.2)\n",
        )
            .into_response();
        response
            .headers_mut()
            .insert(header::CONNECTION, header::HeaderValue::from_static("close"));
        return response;
    }
    next.run(request).await
}
