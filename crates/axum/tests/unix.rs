//! `serve` over a unix socket: any axum `Listener` is served, event streams on the lean path,
//! the rest by hyper, each request with the listener's own `ConnectInfo`.
#![cfg(unix)]

mod common;

use std::future::IntoFuture;
use std::path::Path;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::routing::get;
use bytes::Bytes;
use common::{Tick, WAIT, id_of, next_data, router, topic};
use eventsource_stream::Eventsource;
use futures::StreamExt;
use http_body_util::{BodyDataStream, BodyExt, Empty};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tidings_axum::Hub;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{broadcast, oneshot};
use tokio::time::timeout;

/// The test app, plus `GET /peer`: the peer address as `ConnectInfo` gives it over a unix socket.
fn app(hub: Hub) -> Router {
    let (closed, _) = broadcast::channel(8);
    let peer = get(|ConnectInfo(peer): ConnectInfo<tokio::net::unix::SocketAddr>| async move {
        format!("unnamed: {}", peer.is_unnamed())
    });
    router(hub, closed).merge(Router::new().route("/peer", peer))
}

/// An HTTP/1.1 client connection over the socket at `path`.
async fn connect(path: &Path) -> SendRequest<Empty<Bytes>> {
    let socket = UnixStream::connect(path).await.unwrap();
    let (sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(socket)).await.unwrap();
    tokio::spawn(connection);
    sender
}

fn get_request(path: &str, accept: Option<&str>) -> hyper::Request<Empty<Bytes>> {
    let mut request = hyper::Request::get(path).header("host", "localhost");
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    request.body(Empty::new()).unwrap()
}

#[tokio::test]
async fn a_stream_is_read_over_a_unix_socket_resumed_and_drained_on_shutdown() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("http.sock");
    let hub = Hub::new();
    let (stop, stopped) = oneshot::channel::<()>();
    let draining = hub.clone();
    let server = tidings_axum::serve(UnixListener::bind(&path).unwrap(), app(hub.clone()))
        .with_graceful_shutdown(async move {
            let _ = stopped.await;
            draining.drain();
        });
    let server = tokio::spawn(server.into_future());

    // A plain request, answered by hyper, with the unix peer's `ConnectInfo`.
    let mut client = connect(&path).await;
    let response = client.send_request(get_request("/peer", None)).await.unwrap();
    assert_eq!(response.status(), 200);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, "unnamed: true", "a client's socket has no name");

    let first = hub.publish(&topic("ticks"), &Tick { seq: 1 }).await.unwrap().id;
    let second = hub.publish(&topic("ticks"), &Tick { seq: 2 }).await.unwrap().id;

    // The stream on a connection of its own, resumed after the first tick.
    let mut client = connect(&path).await;
    let mut request = get_request("/events", Some("text/event-stream"));
    request.headers_mut().insert("last-event-id", first.to_string().parse().unwrap());
    let response = client.send_request(request).await.unwrap();
    assert_eq!(response.status(), 200);
    // The lean path's mark: it closes the connection after a stream (hyper would keep it).
    assert_eq!(response.headers()["connection"], "close", "{:?}", response.headers());
    let mut events = Box::pin(
        BodyDataStream::new(response.into_body())
            .eventsource()
            .map(|event| event.expect("a well-formed event")),
    );
    let resumed = next_data(&mut events).await;
    assert_eq!((id_of(&resumed), resumed.data.as_str()), (second, r#"{"seq":2}"#));
    let third = hub.publish(&topic("ticks"), &Tick { seq: 3 }).await.unwrap().id;
    let live = next_data(&mut events).await;
    assert_eq!((id_of(&live), live.data.as_str()), (third, r#"{"seq":3}"#));

    // Shutdown: the stream says so and ends, and the server returns.
    stop.send(()).unwrap();
    let shutdown = next_data(&mut events).await;
    assert_eq!(shutdown.event, "shutdown");
    assert!(timeout(WAIT, events.next()).await.expect("the end in time").is_none());
    timeout(WAIT, server).await.expect("the server stops").unwrap().unwrap();
}
