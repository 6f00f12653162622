//! TLS for the tests (feature `tls`): a certificate made for the test, the app served with it,
//! and a client that trusts that certificate only.

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use tidings_axum::{Hub, Tls};
use tokio::net::TcpStream;

use bytes::Bytes;
use eventsource_stream::{Event, Eventsource};
use futures::{Stream, StreamExt};
use http_body_util::{BodyDataStream, Empty};

use super::TestApp;

/// A certificate for `localhost` made for this test, and the server's TLS with it.
pub fn certificate() -> (CertificateDer<'static>, Tls) {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let der = made.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(made.signing_key.serialize_der()));
    let tls = Tls::from_der(vec![der.clone()], key).unwrap();
    (der, tls)
}

/// A TLS connection to `app` that trusts `certificate` only, offering `alpn`.
pub async fn connect_tls(
    app: &TestApp,
    certificate: &CertificateDer<'static>,
    alpn: &[u8],
) -> tokio_rustls::client::TlsStream<TcpStream> {
    let connector = tidings_testkit::tls_client::connector(certificate.clone(), &[alpn]);
    let tcp = TcpStream::connect(&app.addr).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    connector.connect(name, tcp).await.unwrap()
}

/// The test app over TLS, and the certificate to trust.
pub async fn tls_app() -> (TestApp, CertificateDer<'static>) {
    let (certificate, tls) = certificate();
    let app = TestApp::start_with(Hub::builder(), move |serve| serve.tls(tls)).await;
    (app, certificate)
}

/// A stream's events, parsed by eventsource-stream.
pub type Events = std::pin::Pin<Box<dyn Stream<Item = Event> + Send>>;

/// The events of a response body.
pub fn events_of(body: hyper::body::Incoming) -> Events {
    Box::pin(BodyDataStream::new(body).eventsource().map(|event| event.expect("well formed")))
}

/// `GET /events?topics=ticks` as an `EventSource` asks, with `last_event_id` if given.
pub fn stream_request(last_event_id: Option<&str>) -> hyper::Request<Empty<Bytes>> {
    let mut request = hyper::Request::get("https://localhost/events?topics=ticks")
        .header("accept", "text/event-stream");
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id);
    }
    request.body(Empty::new()).unwrap()
}

/// A well-behaved stream of `ticks` over HTTP/2 on a connection of its own (hyper's client),
/// its `hello` read.
pub async fn good_stream(app: &TestApp, certificate: &CertificateDer<'static>) -> Events {
    let tls = connect_tls(app, certificate, b"h2").await;
    let (mut sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(tls),
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    let response = sender.send_request(stream_request(None)).await.unwrap();
    let mut events = events_of(response.into_body());
    let hello = tokio::time::timeout(super::WAIT, events.next()).await.unwrap().unwrap();
    assert_eq!(hello.event, "hello");
    events
}
