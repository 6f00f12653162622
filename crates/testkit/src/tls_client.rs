//! A TLS client for tests (feature `tls`): rustls with aws-lc-rs, trusting one certificate only.

use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use tokio_rustls::TlsConnector;

/// A connector that trusts `certificate` only and offers `alpn` (`b"h2"`, `b"http/1.1"`), in
/// that order of preference.
///
/// # Panics
///
/// If rustls refuses the certificate or its default protocol versions (a test's set-up error).
///
/// # Examples
///
/// ```no_run
/// # async fn a_test(certificate: rustls::pki_types::CertificateDer<'static>) {
/// let connector = tidings_testkit::tls_client::connector(certificate, &[b"h2"]);
/// let tcp = tokio::net::TcpStream::connect("127.0.0.1:8443").await.unwrap();
/// let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
/// let tls = connector.connect(name, tcp).await.unwrap();
/// # let _ = tls;
/// # }
/// ```
pub fn connector(certificate: CertificateDer<'static>, alpn: &[&[u8]]) -> TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(certificate).expect("a certificate rustls takes");
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("rustls's default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|protocol| protocol.to_vec()).collect();
    TlsConnector::from(Arc::new(config))
}
