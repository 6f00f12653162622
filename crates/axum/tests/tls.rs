//! `serve(..).tls(..)` over real sockets, with an independent client (hyper's, over
//! tokio-rustls, trusting only the test's own certificate) and an independent SSE parser: HTTP/2
//! as ALPN agrees, streams resumed by id and told `shutdown` on drain, HTTP/1.1 for a client
//! that asks for it, and a plaintext request or a bad handshake refused without harm to others.
#![cfg(feature = "tls")]

mod common;

use common::tls::{connect_tls, events_of, stream_request, tls_app};
use common::{TestApp, Tick, WAIT, id_of, next_data};
use futures::StreamExt;
use hyper::Version;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

#[tokio::test]
async fn streams_over_http2_and_tls_share_a_connection_resume_by_id_and_see_shutdown() {
    let (app, certificate) = tls_app().await;
    let tls = connect_tls(&app, &certificate, b"h2").await;
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]), "ALPN agreed on HTTP/2");
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
            .await
            .unwrap();
    tokio::spawn(connection);

    let response = sender.send_request(stream_request(None)).await.unwrap();
    assert_eq!((response.status().as_u16(), response.version()), (200, Version::HTTP_2));
    let mut live = events_of(response.into_body());
    assert_eq!(timeout(WAIT, live.next()).await.unwrap().unwrap().event, "hello");
    let ids = app.publish_ticks(3).await;
    for (seq, id) in ids.iter().enumerate() {
        let event = next_data(&mut live).await;
        assert_eq!((id_of(&event), event.data.clone()), (*id, format!(r#"{{"seq":{seq}}}"#)));
    }

    // A second stream on the same connection, resuming after the first tick.
    let response = sender.send_request(stream_request(Some(&ids[0].to_string()))).await.unwrap();
    let mut resumed = events_of(response.into_body());
    for id in &ids[1..] {
        assert_eq!(id_of(&next_data(&mut resumed).await), *id, "no gap, no repeat");
    }
    let next = app.publish("ticks", &Tick { seq: 3 }).await;
    assert_eq!(id_of(&next_data(&mut live).await), next);
    assert_eq!(id_of(&next_data(&mut resumed).await), next);

    // Drain: both streams are told, then end; the server stops.
    let closing = tokio::spawn(app.shut_down());
    for events in [&mut live, &mut resumed] {
        assert_eq!(next_data(events).await.event, "shutdown");
        assert!(timeout(WAIT, events.next()).await.expect("the end in time").is_none());
    }
    closing.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_client_that_asks_for_http_1_1_over_tls_gets_it() {
    let (app, certificate) = tls_app().await;
    let tls = connect_tls(&app, &certificate, b"http/1.1").await;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(tls)).await.unwrap();
    tokio::spawn(connection);
    let mut request = stream_request(None);
    *request.uri_mut() = "/events?topics=ticks".parse().unwrap();
    request.headers_mut().insert("host", "localhost".parse().unwrap());
    let response = sender.send_request(request).await.unwrap();
    assert_eq!((response.status().as_u16(), response.version()), (200, Version::HTTP_11));
    let mut events = events_of(response.into_body());
    let id = app.publish("ticks", &Tick { seq: 7 }).await;
    assert_eq!(id_of(&next_data(&mut events).await), id);
}

/// Everything the server sends on a raw TCP connection after `bytes`, until it closes.
async fn raw_exchange(app: &TestApp, bytes: &[u8]) -> Vec<u8> {
    let mut socket = TcpStream::connect(&app.addr).await.unwrap();
    socket.write_all(bytes).await.unwrap();
    let mut received = Vec::new();
    timeout(WAIT, socket.read_to_end(&mut received)).await.expect("closed in time").unwrap_or(0);
    received
}

#[tokio::test]
async fn a_plaintext_request_or_a_bad_handshake_is_refused_and_other_streams_go_on() {
    let (app, certificate) = tls_app().await;
    let tls = connect_tls(&app, &certificate, b"h2").await;
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
            .await
            .unwrap();
    tokio::spawn(connection);
    let mut live = events_of(sender.send_request(stream_request(None)).await.unwrap().into_body());

    let answer = raw_exchange(&app, b"GET /events HTTP/1.1\r\nHost: localhost\r\n\r\n").await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{answer}");
    assert!(answer.ends_with("this server speaks HTTPS: ask for https:// instead\r\n"), "{answer}");

    // A handshake record that is not a client hello: the connection closes without an answer
    // in HTTP (rustls may send an alert first).
    let garbage = [0x16, 0x03, 0x01, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8];
    let answer = raw_exchange(&app, &garbage).await;
    assert!(!answer.starts_with(b"HTTP"), "{answer:?}");

    let id = app.publish("ticks", &Tick { seq: 1 }).await;
    assert_eq!(id_of(&next_data(&mut live).await), id, "the good stream still receives");
}
