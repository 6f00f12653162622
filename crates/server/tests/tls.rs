//! The server's TLS flags: HTTPS with the PEM files it is given (HTTP/2 by ALPN, read by an
//! independent client that trusts only the test's certificate; a stream's heartbeats and its
//! count in `/metrics` over HTTP/2), and clear errors for files that
//! are missing or do not match, and for a certificate without its key.

use std::time::Duration;

use axum::body::Bytes;
use clap::Parser;
use eventsource_stream::Eventsource;
use futures::StreamExt;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::{CertificateDer, ServerName};
use tidings_server::{AppState, Config, app, serve_with_tls, tls};
use tokio::net::TcpStream;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(10);

/// A certificate for localhost and its key, as PEM files in `folder`.
fn pem_files(folder: &std::path::Path) -> (CertificateDer<'static>, String, String) {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert, key) = (folder.join("cert.pem"), folder.join("key.pem"));
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    let path = |path: std::path::PathBuf| path.to_string_lossy().into_owned();
    (made.cert.der().clone(), path(cert), path(key))
}

#[tokio::test]
async fn the_server_serves_https_and_http2_with_the_pem_files_it_is_given() {
    let folder = tempfile::tempdir().unwrap();
    let (certificate, cert, key) = pem_files(folder.path());
    let flags = ["--tls-cert", &cert, "--tls-key", &key, "--heartbeat-ms", "100"];
    let config = Config::parse_from(["tidings-server"].into_iter().chain(flags));
    let served = tls::from_config(&config).unwrap().expect("TLS asked for");
    assert!(served.self_signed_fingerprint.is_none(), "the files' certificate, not one made");
    let state = AppState::new(config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = serve_with_tls(listener, state.clone(), app(state), Some(served.tls), async {
        std::future::pending::<()>().await;
    });
    let server = tokio::spawn(server);

    let client = tidings_testkit::tls_client::connector(certificate, &[b"h2", b"http/1.1"]);
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let tls = client.connect(name, tcp).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
            .await
            .unwrap();
    tokio::spawn(connection);
    let request =
        hyper::Request::get("https://localhost/healthz").body(Empty::<Bytes>::new()).unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!((response.status().as_u16(), response.version()), (200, hyper::Version::HTTP_2));
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert!(!body.is_empty());

    // A stream on the same connection: heartbeats while it is quiet, counted in the metrics
    // while open, and no longer once the client resets it.
    let request = hyper::Request::get("https://localhost/api/events?topics=comments")
        .header("accept", "text/event-stream")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!((response.status().as_u16(), response.version()), (200, hyper::Version::HTTP_2));
    let mut events = response.into_body().into_data_stream().eventsource();
    let mut next = async || timeout(WAIT, events.next()).await.unwrap().unwrap().unwrap().event;
    assert_eq!(next().await, "hello");
    assert_eq!(next().await, "heartbeat", "a heartbeat while quiet");
    assert_eq!(next().await, "heartbeat");
    assert_eq!(connected(&mut sender).await, 1.0, "the stream, counted");
    drop(events);
    timeout(WAIT, async {
        while connected(&mut sender).await != 0.0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the reset stream leaves the count");
    server.abort();
}

/// `tidings_clients_connected`, read from `/metrics` over `sender`'s connection.
async fn connected(sender: &mut hyper::client::conn::http2::SendRequest<Empty<Bytes>>) -> f64 {
    let request = hyper::Request::get("https://localhost/metrics").body(Empty::new()).unwrap();
    let response = sender.send_request(request).await.unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8(body.to_vec()).unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix("tidings_clients_connected ")?.parse().ok())
        .unwrap_or_else(|| panic!("no tidings_clients_connected in\n{text}"))
}

#[test]
fn tls_flags_that_cannot_work_are_clear_errors() {
    let folder = tempfile::tempdir().unwrap();
    let (_, cert, key) = pem_files(folder.path());
    let missing = folder.path().join("missing.pem").to_string_lossy().into_owned();

    let config = Config::parse_from(["tidings-server", "--tls-cert", &missing, "--tls-key", &key]);
    let error = tls::from_config(&config).unwrap_err();
    assert!(error.to_string().contains("missing.pem"), "{error}");

    // Another certificate's key.
    let other = tempfile::tempdir().unwrap();
    let (_, _, other_key) = pem_files(other.path());
    let config =
        Config::parse_from(["tidings-server", "--tls-cert", &cert, "--tls-key", &other_key]);
    let error = tls::from_config(&config).unwrap_err();
    assert_eq!(error.to_string(), "the certificate or the key is not usable");
    assert!(std::error::Error::source(&error).is_some(), "rustls's reason is kept");

    for flags in [
        &["--tls-cert", cert.as_str()][..],
        &["--tls-key", key.as_str()],
        &["--tls-self-signed", "--tls-cert", cert.as_str(), "--tls-key", key.as_str()],
    ] {
        let args = std::iter::once("tidings-server").chain(flags.iter().copied());
        assert!(Config::try_parse_from(args).is_err(), "{flags:?}");
    }
}
