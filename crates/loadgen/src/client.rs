//! One client: a TCP connection from a chosen source address, a hyper HTTP/1.1 `GET` of the
//! stream, its events parsed by eventsource-stream (an independent parser).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use bytes::Bytes;
use eventsource_stream::Eventsource;
use futures::{Stream, StreamExt};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;

/// Where the streams are: `host:port` and the path (with its query).
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) addr: SocketAddr,
    pub(crate) path: String,
}

impl Target {
    pub(crate) fn new(addr: &str, path: &str) -> Result<Self, String> {
        let addr = addr.parse().map_err(|error| format!("{addr:?}: {error}"))?;
        Ok(Self { addr, path: path.to_owned() })
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
    let stream = connect(from, target.addr).await?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|error| error.to_string())?;
    tokio::spawn(connection);
    let mut request = hyper::Request::get(&target.path)
        .header("host", target.addr.to_string())
        .header("accept", "text/event-stream");
    if let Some(id) = last_id {
        request = request.header("last-event-id", id);
    }
    let request = request.body(Empty::<Bytes>::new()).map_err(|error| error.to_string())?;
    let response = sender.send_request(request).await.map_err(|error| error.to_string())?;
    if response.status() != 200 {
        return Err(format!("status {}", response.status()));
    }
    let frames = response.into_body().into_data_stream();
    Ok(Box::pin(frames.eventsource().map(|event| event.map_err(|error| error.to_string()))))
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
