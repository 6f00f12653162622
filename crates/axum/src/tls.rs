//! TLS for [`serve`](crate::serve) (feature `tls`): rustls, ALPN offering HTTP/2 and HTTP/1.1.
//!
//! Browsers speak HTTP/2 only over TLS, and HTTP/2 is what lets one page open more than six
//! event streams to a site (HTTP/1.1 allows six connections per site). A connection starts with
//! its first bytes read: a TLS handshake goes to rustls (within the head timeout), and then to
//! hyper as HTTP/2 or HTTP/1.1 by what ALPN agreed; anything else (a plaintext request on the
//! TLS port) is answered with a plain `400` that says to use `https://`, and closed.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use std::time::Duration;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio_rustls::{TlsAcceptor, server};

use crate::lean::{Io, Replayed};
use crate::metrics as m;

/// What ALPN offers, in the server's order of preference.
const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// A TLS configuration for [`Serve::tls`](crate::Serve::tls): a certificate chain and its key,
/// or a rustls [`ServerConfig`] of your own.
///
/// # Examples
///
/// ```no_run
/// # async fn run(app: axum::Router) -> Result<(), Box<dyn std::error::Error>> {
/// let tls = tidings_axum::Tls::from_pem_files("cert.pem", "key.pem")?;
/// let listener = tidings_axum::bind("0.0.0.0:443".parse()?)?;
/// tidings_axum::serve(listener, app).tls(tls).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Tls {
    config: Arc<ServerConfig>,
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let alpn: Vec<String> = self
            .config
            .alpn_protocols
            .iter()
            .map(|protocol| String::from_utf8_lossy(protocol).into_owned())
            .collect();
        f.debug_struct("Tls").field("alpn", &alpn).finish_non_exhaustive()
    }
}

impl Tls {
    /// The certificate chain (leaf first) and the private key from PEM files, as certbot or
    /// any CA hands them out.
    ///
    /// # Errors
    /// [`TlsError::Read`] when a file cannot be read or holds no certificate or key;
    /// [`TlsError::Config`] when rustls refuses the pair (a key that does not match, say).
    ///
    /// # Examples
    ///
    /// ```
    /// let error = tidings_axum::Tls::from_pem_files("no-such-cert.pem", "no-such-key.pem")
    ///     .unwrap_err();
    /// assert!(error.to_string().contains("no-such-cert.pem"), "{error}");
    /// ```
    pub fn from_pem_files(
        certificate_chain: impl AsRef<Path>,
        private_key: impl AsRef<Path>,
    ) -> Result<Self, TlsError> {
        let (chain_path, key_path) = (certificate_chain.as_ref(), private_key.as_ref());
        let read = |path: &Path, source| TlsError::Read { path: path.to_owned(), source };
        let chain = CertificateDer::pem_file_iter(chain_path)
            .and_then(Iterator::collect::<Result<Vec<_>, _>>)
            .map_err(|error| read(chain_path, Box::new(error)))?;
        if chain.is_empty() {
            return Err(read(chain_path, "no certificate in the file".into()));
        }
        let key = PrivateKeyDer::from_pem_file(key_path)
            .map_err(|error| read(key_path, Box::new(error)))?;
        Self::from_der(chain, key)
    }

    /// The certificate chain (leaf first) and the private key, already decoded (DER): from a
    /// secret store, or made at start (a self-signed certificate for development).
    ///
    /// # Errors
    /// [`TlsError::Config`] when rustls refuses the pair.
    ///
    /// # Examples
    ///
    /// ```
    /// use tidings_axum::Tls;
    /// use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    ///
    /// let garbage = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(vec![1, 2, 3]));
    /// let error = Tls::from_der(vec![CertificateDer::from(vec![4, 5, 6])], garbage).unwrap_err();
    /// assert!(matches!(error, tidings_axum::TlsError::Config(_)), "{error}");
    /// ```
    pub fn from_der(
        certificate_chain: Vec<CertificateDer<'static>>,
        private_key: PrivateKeyDer<'static>,
    ) -> Result<Self, TlsError> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .and_then(|builder| {
                builder.with_no_client_auth().with_single_cert(certificate_chain, private_key)
            })
            .map_err(TlsError::Config)?;
        config.alpn_protocols = ALPN.iter().map(|protocol| protocol.to_vec()).collect();
        Ok(Self { config: Arc::new(config) })
    }

    /// A rustls configuration of your own (client certificates, a certificate resolver, session
    /// tickets). Its ALPN list is used as it is; when it is empty, `h2` and `http/1.1` are
    /// offered (without them a browser speaks HTTP/1.1 only).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn config() -> std::sync::Arc<rustls::ServerConfig> { unimplemented!() }
    /// # fn run() {
    /// let tls = tidings_axum::Tls::from_config(config());
    /// # let _ = tls;
    /// # }
    /// ```
    pub fn from_config(config: Arc<ServerConfig>) -> Self {
        if !config.alpn_protocols.is_empty() {
            return Self { config };
        }
        let mut config = Arc::unwrap_or_clone(config);
        config.alpn_protocols = ALPN.iter().map(|protocol| protocol.to_vec()).collect();
        Self { config: Arc::new(config) }
    }

    /// The rustls configuration in use.
    ///
    /// # Examples
    ///
    /// ```
    /// use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    ///
    /// // A certificate made for the example (rcgen), as a development server would.
    /// let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])?;
    /// let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(made.signing_key.serialize_der()));
    /// let tls = tidings_axum::Tls::from_der(vec![made.cert.der().clone()], key)?;
    /// assert_eq!(tls.as_config().alpn_protocols, [b"h2".to_vec(), b"http/1.1".to_vec()]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn as_config(&self) -> &Arc<ServerConfig> {
        &self.config
    }

    pub(crate) fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(Arc::clone(&self.config))
    }
}

/// Why a [`Tls`] could not be made. The cause is the [`source`](std::error::Error::source).
///
/// # Examples
///
/// ```
/// let error = tidings_axum::Tls::from_pem_files("missing.pem", "missing.pem").unwrap_err();
/// assert!(std::error::Error::source(&error).is_some());
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A PEM file could not be read, or holds no certificate or key.
    #[error("cannot read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// rustls refused the certificate chain or the key.
    #[error("the certificate or the key is not usable")]
    Config(#[source] rustls::Error),
}

/// The first byte of a TLS handshake record.
const HANDSHAKE: u8 = 0x16;

/// A connection's TLS handshake, within `timeout` (counted when it fails or times out), or
/// `None`. A connection that opens with anything but a handshake record (a plaintext request)
/// is answered with a plain `400` that says to use `https://`, and closed.
pub(crate) async fn accept<S>(
    io: Io<S>,
    acceptor: &TlsAcceptor,
    timeout: Duration,
) -> Option<server::TlsStream<Replayed<S>>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut io = Replayed::new(io);
    match tokio::time::timeout(timeout, io.first_byte()).await {
        Ok(Some(HANDSHAKE)) => {}
        Ok(Some(_)) => {
            metrics::counter!(m::TLS_PLAINTEXT_REFUSED).increment(1);
            let _ = io.write_all(PLAINTEXT_REFUSED).await;
            let _ = io.shutdown().await;
            return None;
        }
        // Closed, or silent: nothing to answer.
        Ok(None) | Err(_) => return None,
    }
    match tokio::time::timeout(timeout, acceptor.accept(io)).await {
        Ok(Ok(tls)) => Some(tls),
        Ok(Err(error)) => {
            metrics::counter!(m::TLS_HANDSHAKES_FAILED).increment(1);
            tracing::debug!(%error, "a TLS handshake failed");
            None
        }
        Err(_) => {
            metrics::counter!(m::TLS_HANDSHAKES_FAILED).increment(1);
            tracing::debug!("a TLS handshake did not finish within the head timeout");
            None
        }
    }
}

/// What a plaintext request on the TLS port gets.
const PLAINTEXT_REFUSED: &[u8] = b"HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 52\r\nconnection: close\r\n\r\nthis server speaks HTTPS: ask for https:// instead\r\n";
