//! One client: a connection from a chosen source address, a hyper `GET` of the stream, its
//! events parsed by eventsource-stream (an independent parser). Over plain HTTP/1.1 (a
//! connection per stream), HTTP/1.1 over TLS (the same), or HTTP/2 over TLS (streams sharing
//! connections, as a browser's do).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use eventsource_stream::Eventsource;
use futures::{Stream, StreamExt};
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::sync::OnceCell;
use tokio_rustls::TlsConnector;

/// Where the streams are: `host:port`, the path (with its query), and how to reach them.
#[derive(Clone)]
pub(crate) struct Target {
    pub(crate) addr: SocketAddr,
    pub(crate) path: String,
    pub(crate) transport: Transport,
    /// The browser's pattern: a `GET` of this path (a page's asset) first, its answer read to
    /// the end, then the stream on the same kept-alive HTTP/1.1 connection. None: the stream
    /// on a connection of its own.
    pub(crate) asset: Option<String>,
}

impl Target {
    pub(crate) fn new(addr: &str, path: &str) -> Result<Self, String> {
        let addr = addr.parse().map_err(|error| format!("{addr:?}: {error}"))?;
        Ok(Self { addr, path: path.to_owned(), transport: Transport::Plain, asset: None })
    }
}

/// How a client reaches the server.
#[derive(Clone)]
pub(crate) enum Transport {
    /// HTTP/1.1 over TCP, a connection per stream.
    Plain,
    /// HTTP/1.1 over TLS, a connection per stream.
    Tls(TlsConnector),
    /// HTTP/2 over TLS, streams sharing connections.
    H2(Arc<H2Pool>),
}

impl Transport {
    /// `kind` (`plain`, `tls`, `h2`); over TLS, trusting the certificate in the PEM file `ca`,
    /// with `per_connection` streams on each HTTP/2 connection.
    pub(crate) fn new(
        kind: &str,
        ca: Option<&Path>,
        per_connection: usize,
    ) -> Result<Self, String> {
        let tls = |alpn: &[u8]| -> Result<TlsConnector, String> {
            let ca = ca.ok_or("--ca is needed over TLS")?;
            tls_connector(ca, alpn)
        };
        match kind {
            "plain" => Ok(Self::Plain),
            "tls" => Ok(Self::Tls(tls(b"http/1.1")?)),
            "h2" => Ok(Self::H2(Arc::new(H2Pool {
                tls: tls(b"h2")?,
                per_connection: per_connection.max(1),
                opened: AtomicUsize::new(0),
                connections: Mutex::new(HashMap::new()),
            }))),
            other => Err(format!("no transport {other:?}: plain, tls or h2")),
        }
    }
}

/// A TLS client that trusts the certificates in the PEM file `ca` only, offering `alpn`, with
/// session resumption off (each connection a full handshake, as a new visitor's).
pub(crate) fn tls_connector(ca: &Path, alpn: &[u8]) -> Result<TlsConnector, String> {
    let mut roots = rustls::RootCertStore::empty();
    let certificates =
        CertificateDer::pem_file_iter(ca).map_err(|error| format!("{}: {error}", ca.display()))?;
    for certificate in certificates {
        let certificate = certificate.map_err(|error| format!("{}: {error}", ca.display()))?;
        roots.add(certificate).map_err(|error| format!("{}: {error}", ca.display()))?;
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| error.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![alpn.to_vec()];
    config.resumption = rustls::client::Resumption::disabled();
    Ok(TlsConnector::from(Arc::new(config)))
}

/// A TLS connection from `from` to `to` (whose certificate names its IP address).
pub(crate) async fn connect_tls(
    tls: &TlsConnector,
    from: IpAddr,
    to: SocketAddr,
) -> Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>, String> {
    let stream = connect(from, to).await?;
    let name = ServerName::IpAddress(to.ip().into());
    tls.connect(name, stream).await.map_err(|error| format!("TLS: {error}"))
}

/// HTTP/2 connections, each taking `per_connection` streams in the order they are opened.
pub(crate) struct H2Pool {
    tls: TlsConnector,
    per_connection: usize,
    opened: AtomicUsize,
    connections: Mutex<HashMap<usize, Arc<OnceCell<Sender>>>>,
}

/// One HTTP/2 connection's handle.
type Sender = SendRequest<Empty<Bytes>>;

impl H2Pool {
    /// The connection for the next stream, made from `from` if it is the first of its
    /// connection.
    async fn sender(
        &self,
        from: IpAddr,
        to: SocketAddr,
    ) -> Result<SendRequest<Empty<Bytes>>, String> {
        let number = self.opened.fetch_add(1, Ordering::Relaxed) / self.per_connection;
        let cell = Arc::clone(
            self.connections
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(number)
                .or_default(),
        );
        let sender = cell
            .get_or_try_init(|| async {
                let stream = connect_tls(&self.tls, from, to).await?;
                let (sender, connection) =
                    hyper::client::conn::http2::Builder::new(TokioExecutor::new())
                        .handshake(TokioIo::new(stream))
                        .await
                        .map_err(|error| error.to_string())?;
                tokio::spawn(connection);
                Ok::<_, String>(sender)
            })
            .await?;
        Ok(sender.clone())
    }
}

/// Source addresses in 127.0.0.0/8, so many connections to one server never run out of
/// ephemeral ports: client `index` of `count` uses 127.0.0.(1 + index % count).
pub(crate) fn source(index: usize, count: usize) -> IpAddr {
    let host = u8::try_from(1 + index % count.clamp(1, 250)).unwrap_or(1);
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, host))
}

/// A connected socket from `from` to `to`.
pub(crate) async fn connect(from: IpAddr, to: SocketAddr) -> Result<tokio::net::TcpStream, String> {
    let socket = tokio::net::TcpSocket::new_v4().map_err(|error| error.to_string())?;
    socket.bind(SocketAddr::new(from, 0)).map_err(|error| format!("bind {from}: {error}"))?;
    let stream = socket.connect(to).await.map_err(|error| format!("connect: {error}"))?;
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

pub(crate) type Events =
    std::pin::Pin<Box<dyn Stream<Item = Result<eventsource_stream::Event, String>> + Send>>;

/// Opens the stream with `last_id` as `Last-Event-ID`. The stream's items are events, or the
/// error that ended it.
pub(crate) async fn open(
    target: &Target,
    from: IpAddr,
    last_id: Option<&str>,
) -> Result<Events, String> {
    let request = |uri: String| {
        let mut request = hyper::Request::get(uri).header("accept", "text/event-stream");
        if let Some(id) = last_id {
            request = request.header("last-event-id", id);
        }
        request
    };
    let http1 = request(target.path.clone()).header("host", target.addr.to_string());
    let http1 = http1.body(Empty::<Bytes>::new()).map_err(|error| error.to_string())?;
    let asset = target.asset.as_deref();
    let response = match &target.transport {
        Transport::Plain => http1_request(connect(from, target.addr).await?, asset, http1).await?,
        Transport::Tls(tls) => {
            http1_request(connect_tls(tls, from, target.addr).await?, asset, http1).await?
        }
        Transport::H2(pool) => {
            // HTTP/2 names the authority in the URI.
            let uri = format!("https://{}{}", target.addr, target.path);
            let request = request(uri).body(Empty::new()).map_err(|error| error.to_string())?;
            let mut sender = pool.sender(from, target.addr).await?;
            sender.ready().await.map_err(|error| error.to_string())?;
            sender.send_request(request).await.map_err(|error| error.to_string())?
        }
    };
    if response.status() != 200 {
        return Err(format!("status {}", response.status()));
    }
    let frames = response.into_body().into_data_stream();
    Ok(Box::pin(frames.eventsource().map(|event| event.map_err(|error| error.to_string()))))
}

/// `request` on a new HTTP/1.1 connection over `io`, after a `GET` of `asset` on it if given
/// (read to its end, so the connection is kept alive and reused): the answer's head.
async fn http1_request<I>(
    io: I,
    asset: Option<&str>,
    request: hyper::Request<Empty<Bytes>>,
) -> Result<hyper::Response<hyper::body::Incoming>, String>
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|error| error.to_string())?;
    tokio::spawn(connection);
    if let Some(asset) = asset {
        let host = request.headers().get("host").cloned();
        let mut get = hyper::Request::get(asset);
        if let Some(host) = host {
            get = get.header("host", host);
        }
        let get = get.body(Empty::<Bytes>::new()).map_err(|error| error.to_string())?;
        let answer = sender.send_request(get).await.map_err(|error| error.to_string())?;
        answer.into_body().collect().await.map_err(|error| error.to_string())?;
        sender.ready().await.map_err(|error| format!("not kept alive after {asset}: {error}"))?;
    }
    sender.send_request(request).await.map_err(|error| error.to_string())
}

/// A tick's `seq` and `at_ms`, when `event` is a tick (unnamed, JSON with both).
pub(crate) fn tick_of(event: &eventsource_stream::Event) -> Option<(u64, u64)> {
    #[derive(serde::Deserialize)]
    struct Tick {
        seq: u64,
        at_ms: u64,
    }
    if event.event != "message" {
        return None;
    }
    let tick: Tick = serde_json::from_str(&event.data).ok()?;
    Some((tick.seq, tick.at_ms))
}
