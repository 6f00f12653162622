//! `cargo run -p tidings-example-notes -- --addr 127.0.0.1:3001`: the notes example's server.
//! With `--tls-cert cert.pem --tls-key key.pem` (or `--tls-self-signed` while developing) it
//! speaks HTTPS, and browsers use HTTP/2: a page may open more than six streams.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use tidings_axum::{Hub, Tls};

/// Serves the notes example: `POST /notes`, `GET /notes/events` and the page.
#[derive(Parser)]
struct Args {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:3001")]
    addr: SocketAddr,
    /// The page, as Trunk built it.
    #[arg(long, default_value = "examples/notes/page/dist")]
    dist: PathBuf,
    /// Serve HTTPS with this certificate chain (PEM, the leaf first); needs `--tls-key`.
    #[arg(long, value_name = "PEM", requires = "tls_key", conflicts_with = "tls_self_signed")]
    tls_cert: Option<PathBuf>,
    /// The private key of `--tls-cert` (PEM).
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Serve HTTPS with a certificate made now for localhost and 127.0.0.1 (development:
    /// browsers warn about it).
    #[arg(long)]
    tls_self_signed: bool,
    /// How long a stream lasts before the page must open the next with a fresh token.
    #[arg(long, value_name = "SECONDS", default_value_t = tidings_example_notes::SESSION.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    session_secs: u64,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run(Args::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            // The error, then each cause.
            let mut said = format!("error: {error}");
            let mut source = error.source();
            while let Some(cause) = source {
                said.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            eprintln!("{said}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(Tls::from_pem_files(cert, key)?),
        _ if args.tls_self_signed => Some(self_signed()?),
        _ => None,
    };
    let hub = Hub::new();
    let listener = tidings_axum::bind(args.addr)?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!("listening on {scheme}://{}", listener.local_addr()?);
    let draining = hub.clone();
    let session = std::time::Duration::from_secs(args.session_secs);
    let app = tidings_example_notes::app_with_session(hub, &args.dist, session);
    let mut server = tidings_axum::serve(listener, app).with_graceful_shutdown(async move {
        let _ = tokio::signal::ctrl_c().await;
        draining.drain();
    });
    if let Some(tls) = tls {
        server = server.tls(tls);
    }
    Ok(server.await?)
}

/// A certificate for localhost and 127.0.0.1, made at each start.
fn self_signed() -> Result<Tls, Box<dyn std::error::Error>> {
    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let made = rcgen::generate_simple_self_signed(names)?;
    let key = rustls::pki_types::PrivatePkcs8KeyDer::from(made.signing_key.serialize_der());
    Ok(Tls::from_der(vec![made.cert.der().clone()], key.into())?)
}
