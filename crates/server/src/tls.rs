//! HTTPS for the demo's server: the certificate the flags name (`--tls-cert`, `--tls-key`), or
//! one made at start for development (`--tls-self-signed`), served by the engine's TLS (HTTP/2
//! and HTTP/1.1 by ALPN).

use std::fmt::Write as _;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tidings_axum::{Tls, TlsError};

use crate::Config;

/// The names a self-signed certificate is made for.
const SELF_SIGNED_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// The TLS the flags ask for, ready to serve.
#[derive(Debug)]
pub struct ServerTls {
    /// For [`serve_with_tls`](crate::serve_with_tls).
    pub tls: Tls,
    /// For a certificate made at start: its SHA-256 fingerprint (`AB:CD:…`), to print, so a
    /// developer can check what the browser shows before accepting it.
    pub self_signed_fingerprint: Option<String>,
}

/// Why the flags' TLS cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum ServerTlsError {
    /// The PEM files, or the pair, were refused.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// A certificate could not be made.
    #[error("cannot make a self-signed certificate")]
    SelfSigned(#[source] rcgen::Error),
}

/// The TLS `config` asks for: none (plain HTTP), its PEM files, or a certificate made now.
///
/// # Errors
/// A PEM file that cannot be read or a pair rustls refuses; a certificate that cannot be made.
///
/// # Examples
///
/// ```
/// use clap::Parser;
/// let config = tidings_server::Config::parse_from(["tidings-server", "--tls-self-signed"]);
/// let tls = tidings_server::tls::from_config(&config)?.expect("asked for");
/// assert_eq!(tls.self_signed_fingerprint.expect("made now").len(), 32 * 3 - 1);
/// let plain = tidings_server::Config::parse_from(["tidings-server"]);
/// assert!(tidings_server::tls::from_config(&plain)?.is_none());
/// # Ok::<(), tidings_server::tls::ServerTlsError>(())
/// ```
pub fn from_config(config: &Config) -> Result<Option<ServerTls>, ServerTlsError> {
    if let (Some(cert), Some(key)) = (&config.tls_cert, &config.tls_key) {
        let tls = Tls::from_pem_files(cert, key)?;
        return Ok(Some(ServerTls { tls, self_signed_fingerprint: None }));
    }
    if !config.tls_self_signed {
        return Ok(None);
    }
    let names = SELF_SIGNED_NAMES.map(str::to_owned).to_vec();
    let made = rcgen::generate_simple_self_signed(names).map_err(ServerTlsError::SelfSigned)?;
    let certificate: CertificateDer<'static> = made.cert.der().clone();
    let fingerprint = fingerprint(&certificate);
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(made.signing_key.serialize_der()));
    let tls = Tls::from_der(vec![certificate], key)?;
    Ok(Some(ServerTls { tls, self_signed_fingerprint: Some(fingerprint) }))
}

/// The SHA-256 fingerprint of a certificate, as browsers show it: `AB:CD:…`.
fn fingerprint(certificate: &CertificateDer<'_>) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, certificate.as_ref());
    let mut text = String::with_capacity(32 * 3);
    for (n, byte) in digest.as_ref().iter().enumerate() {
        if n > 0 {
            text.push(':');
        }
        let _ = write!(text, "{byte:02X}");
    }
    text
}
