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
