//! Hostile HTTP/2 over TLS, with the `h2` crate as the client (it resets streams, opens them as
//! fast as it likes and sends what it wants in headers): each case asserts what the server
//! answers, and that a well-behaved stream on another connection keeps receiving on time.
#![cfg(feature = "tls")]

mod common;

use std::time::Duration;

use axum::http::Request;
use bytes::Bytes;
use common::tls::{Events, connect_tls, good_stream, tls_app};
use common::{TestApp, Tick, WAIT, id_of, next_data};
use rustls::pki_types::CertificateDer;
use tokio::task::JoinHandle;
use tokio::time::{Instant, timeout};

/// How late a well-behaved stream's event may be while another connection misbehaves.
const ON_TIME: Duration = Duration::from_secs(2);

/// An HTTP/2 connection of the `h2` crate over TLS, and its driving task (its result says how
/// the connection ended).
async fn h2_client(
    app: &TestApp,
    certificate: &CertificateDer<'static>,
) -> (h2::client::SendRequest<Bytes>, JoinHandle<Result<(), h2::Error>>) {
    let tls = connect_tls(app, certificate, b"h2").await;
    let (client, connection) = h2::client::handshake(tls).await.unwrap();
    (client, tokio::spawn(connection))
}

fn events_request() -> Request<()> {
    Request::get("https://localhost/events?topics=ticks")
        .header("accept", "text/event-stream")
        .body(())
        .unwrap()
}

/// Sends `request` (no body) on `client` and waits for the answer's head.
async fn answer(
    client: &mut h2::client::SendRequest<Bytes>,
    request: Request<()>,
) -> axum::http::Response<h2::RecvStream> {
    let (response, _) = client.send_request(request, true).unwrap();
    timeout(WAIT, response).await.expect("an answer in time").unwrap()
}

/// Publishes a tick and checks that `events` gets it within [`ON_TIME`].
async fn still_on_time(app: &TestApp, events: &mut Events, seq: u64) {
    let published = Instant::now();
    let id = app.publish("ticks", &Tick { seq }).await;
    assert_eq!(id_of(&next_data(events).await), id);
    assert!(published.elapsed() < ON_TIME, "late: {:?}", published.elapsed());
}

#[tokio::test]
async fn a_client_that_opens_and_resets_streams_as_fast_as_it_can_is_cut_off() {
    let (app, certificate) = tls_app().await;
    let mut good = good_stream(&app, &certificate).await;
    let (mut attacker, connection) = h2_client(&app, &certificate).await;
    let mut reset = 0_u32;
    let attack = async {
        for _ in 0..100_000 {
            let Ok(ready) = attacker.clone().ready().await else { break };
            attacker = ready;
            let Ok((_response, mut stream)) = attacker.send_request(events_request(), true) else {
                break;
            };
            stream.send_reset(h2::Reason::CANCEL);
            reset += 1;
        }
    };
    timeout(WAIT, attack).await.expect("the server ends the attack in time");
    let ended = timeout(WAIT, connection).await.expect("the connection ends").unwrap();
    // The server's GOAWAY says ENHANCE_YOUR_CALM; a client still writing may only see its
    // writes fail on the closed connection.
    let error = ended.expect_err("the server closed the attacker's connection");
    let calm = error.reason() == Some(h2::Reason::ENHANCE_YOUR_CALM);
    assert!(calm || error.is_io(), "after {reset} resets: {error}");
    still_on_time(&app, &mut good, 1).await;
}

#[tokio::test]
async fn past_100_streams_a_connection_waits_for_one_to_end() {
    let (app, certificate) = tls_app().await;
    let mut good = good_stream(&app, &certificate).await;
    let (client, _connection) = h2_client(&app, &certificate).await;
    let mut client = client.ready().await.unwrap();
    let mut bodies = Vec::new();
    for _ in 0..100 {
        let response = answer(&mut client, events_request()).await;
        assert_eq!(response.status(), 200);
        bodies.push(response.into_body());
        client = client.ready().await.unwrap();
    }
    assert_eq!(client.current_max_send_streams(), 100, "the server's limit, announced");
    // One more is queued by the client: the server would refuse it.
    let (waiting, _) = client.send_request(events_request(), true).unwrap();
    let mut waiting = Box::pin(waiting);
    assert!(
        timeout(Duration::from_millis(300), &mut waiting).await.is_err(),
        "the 101st stream waits while 100 are open"
    );
    assert_eq!(app.hub.open_streams(), 101, "100 here and the good one");
    still_on_time(&app, &mut good, 1).await;
    // One ends: the waiting one opens.
    drop(bodies.pop());
    let response = timeout(WAIT, waiting).await.expect("it opens once one ends").unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_header_list_over_16_kib_gets_431_and_the_connection_goes_on() {
    let (app, certificate) = tls_app().await;
    let mut good = good_stream(&app, &certificate).await;
    let (client, _connection) = h2_client(&app, &certificate).await;
    let mut client = client.ready().await.unwrap();
    // 40 KiB of headers: a HEADERS frame and CONTINUATION frames after it.
    let mut request = events_request();
    for n in 0..40 {
        let name = axum::http::HeaderName::try_from(format!("x-filler-{n}")).unwrap();
        request.headers_mut().insert(name, "f".repeat(1024).parse().unwrap());
    }
    assert_eq!(answer(&mut client, request).await.status(), 431);
    still_on_time(&app, &mut good, 1).await;

    let mut client = client.ready().await.unwrap();
    let response = answer(&mut client, events_request()).await;
    assert_eq!(response.status(), 200, "the same connection serves the next request");
}

/// `GET /events?topics=notes&name=NAME`, as an `EventSource` asks.
fn notes_request(name: &str) -> Request<()> {
    Request::get(format!("https://localhost/events?topics=notes&name={name}"))
        .header("accept", "text/event-stream")
        .body(())
        .unwrap()
}

/// The next chunk of `body` within [`WAIT`], its capacity given back when `release` (a client
/// that reads), kept when not (one that leaves the stream's window closed).
async fn next_chunk(body: &mut h2::RecvStream, release: bool) -> Result<Bytes, h2::Error> {
    let chunk = timeout(WAIT, body.data()).await.expect("a chunk in time").expect("not ended")?;
    if release {
        body.flow_control().release_capacity(chunk.len()).unwrap();
    }
    Ok(chunk)
}

#[tokio::test]
async fn a_stream_whose_window_stays_closed_is_reset_at_the_write_deadline_and_its_neighbour_goes_on()
 {
    const DEADLINE: Duration = Duration::from_millis(500);
    let (certificate, tls) = common::tls::certificate();
    let app = TestApp::start_with(tidings_axum::Hub::builder(), move |serve| {
        serve.tls(tls).write_deadline(DEADLINE)
    })
    .await;
    let mut closed = app.closed();
    // Streams of 16 KiB windows on a connection of 8 MiB: the stalled stream's window closes
    // long before the connection's.
    let tls = connect_tls(&app, &certificate, b"h2").await;
    let (client, connection) = h2::client::Builder::new()
        .initial_window_size(16 * 1024)
        .initial_connection_window_size(8 * 1024 * 1024)
        .handshake::<_, Bytes>(tls)
        .await
        .unwrap();
    let connection = tokio::spawn(connection);
    let mut client = client.ready().await.unwrap();
    let mut stalled = answer(&mut client, notes_request("stalled")).await.into_body();
    let mut client = client.ready().await.unwrap();
    let mut reader = answer(&mut client, notes_request("reader")).await.into_body();
    // Each stream's `retry` and `hello`.
    for body in [&mut stalled, &mut reader] {
        let hello = String::from_utf8(next_chunk(body, true).await.unwrap().to_vec()).unwrap();
        assert!(hello.contains("event: hello"), "{hello}");
    }

    // 4 KiB notes: the stalled stream's window takes the fourth in part, then stays closed.
    let note = common::Note { text: "n".repeat(4096) };
    let mut stalled_at = None;
    let mut cut_at = None;
    let started = Instant::now();
    for n in 0.. {
        let published = Instant::now();
        app.publish("notes", &note).await;
        if n == 3 {
            stalled_at = Some(published);
        }
        let mut got = 0;
        while got < 4096 {
            got += next_chunk(&mut reader, true).await.unwrap().len();
        }
        assert!(published.elapsed() < ON_TIME, "note {n} late: {:?}", published.elapsed());
        if let Ok(name) = closed.try_recv() {
            assert_eq!(name, "stalled", "only the stalled stream ends");
            cut_at = Some(Instant::now());
            break;
        }
        assert!(started.elapsed() < WAIT, "the stalled stream was never cut");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let cut_after = cut_at.unwrap() - stalled_at.unwrap();
    assert!(cut_after > DEADLINE * 9 / 10, "cut {cut_after:?} after it stalled: too soon");
    assert!(cut_after < DEADLINE + ON_TIME, "cut {cut_after:?} after it stalled: too late");
    let ended = loop {
        match next_chunk(&mut stalled, false).await {
            Ok(_) => continue,
            Err(error) => break error,
        }
    };
    assert_eq!(ended.reason(), Some(h2::Reason::CANCEL), "{ended}");
    // The connection and its other stream go on.
    assert!(!connection.is_finished());
    let id = app.publish("notes", &common::Note { text: "after".into() }).await;
    let chunk = String::from_utf8(next_chunk(&mut reader, true).await.unwrap().to_vec()).unwrap();
    assert!(chunk.contains(&id.to_string()), "{chunk}");
}

#[tokio::test]
async fn a_client_that_stops_reading_its_connection_is_cut_off_at_the_write_deadline() {
    let (certificate, tls) = common::tls::certificate();
    let app = TestApp::start_with(tidings_axum::Hub::builder(), move |serve| {
        serve.tls(tls).write_deadline(Duration::from_millis(300))
    })
    .await;
    let mut closed = app.closed();
    let mut good = good_stream(&app, &certificate).await;
    // Windows of 16 MiB: what stops the server is the socket, not flow control.
    let tls = connect_tls(&app, &certificate, b"h2").await;
    let (client, connection) = h2::client::Builder::new()
        .initial_window_size(16 * 1024 * 1024)
        .initial_connection_window_size(16 * 1024 * 1024)
        .handshake::<_, Bytes>(tls)
        .await
        .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (resume, resumed) = tokio::sync::oneshot::channel::<()>();
    let driver = tokio::spawn(async move {
        let mut connection = std::pin::pin!(connection);
        tokio::select! {
            ended = &mut connection => return ended,
            _ = stopped => {}
        }
        // The connection stays open, unread, until the test looks at how it ended.
        let _ = resumed.await;
        connection.await
    });
    let mut client = client.ready().await.unwrap();
    let mut body = answer(&mut client, notes_request("stopped")).await.into_body();
    let hello = String::from_utf8(next_chunk(&mut body, true).await.unwrap().to_vec()).unwrap();
    assert!(hello.contains("event: hello"), "{hello}");
    stop.send(()).unwrap();

    // 16 MB: far more than the socket buffers hold.
    let note = common::Note { text: "x".repeat(256 * 1024) };
    for _ in 0..64 {
        app.publish("notes", &note).await;
    }
    let published = Instant::now();
    let name = timeout(WAIT, closed.recv()).await.expect("the client is cut off").unwrap();
    assert_eq!(name, "stopped");
    assert!(published.elapsed() < Duration::from_secs(2), "cut off after about the deadline");
    // The whole connection was closed (a stream reset alone would leave it open).
    resume.send(()).unwrap();
    let ended = timeout(WAIT, driver).await.expect("the connection was closed").unwrap();
    assert!(ended.is_err(), "closed under it: {ended:?}");
    still_on_time(&app, &mut good, 1).await;
    drop(client);
}
