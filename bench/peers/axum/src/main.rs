//! The ticker as a plain axum app serves it: one `tokio::sync::broadcast` channel fed by a
//! ticker task, and per client `Sse` over a `BroadcastStream` (axum's documented way), with
//! axum's default keep-alive and `axum::serve` with a graceful shutdown on SIGTERM. No log, no
//! resume: what a user writes before they need more. A peer for `cargo xtask bench --part
//! peers`; the same JSON as tidings-server's ticker (`{"seq","value","at_ms"}`, `id:` the seq).
//!
//! ```text
//! PORT=8080 RATE=100 tidings-peer-axum
//! PORT=8443 TLS_CERT=cert.pem TLS_KEY=key.pem tidings-peer-axum   # HTTPS, HTTP/2 by ALPN
//! ```

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use futures::{Stream, StreamExt};
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;

/// One tick, serialised once: its seq (the `id:`) and its JSON.
type Tick = (u64, Arc<str>);

#[derive(serde::Serialize)]
struct TickJson {
    seq: u64,
    value: f64,
    at_ms: u64,
}

async fn events(
    State(ticks): State<broadcast::Sender<Tick>>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    // A client that lags skips what it missed (the usual `filter_map(Result::ok)`).
    let stream = BroadcastStream::new(ticks.subscribe()).filter_map(|tick| async move {
        let (seq, json) = tick.ok()?;
        Some(Ok(Event::default().id(seq.to_string()).data(&*json)))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
}

/// Every wake-up (at most every millisecond), the ticks due by then at `rate` per second.
async fn ticker(ticks: broadcast::Sender<Tick>, rate: f64) {
    let period = Duration::from_secs_f64(1.0 / rate);
    let mut timer = tokio::time::interval(period.max(Duration::from_millis(1)));
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let started = Instant::now();
    let (mut seq, mut value) = (0_u64, 100.0_f64);
    loop {
        timer.tick().await;
        let due = (started.elapsed().as_secs_f64() * rate) as u64 + 1;
        while seq < due {
            seq += 1;
            value = ((value + fastrand::f64() * 2.0 - 1.0).max(1.0) * 100.0).round() / 100.0;
            let tick = TickJson { seq, value, at_ms: now_ms() };
            let json: Arc<str> = serde_json::to_string(&tick).unwrap_or_default().into();
            let _ = ticks.send((seq, json));
        }
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::var("PORT").ok().and_then(|port| port.parse().ok()).unwrap_or(8080);
    let rate: f64 = std::env::var("RATE").ok().and_then(|rate| rate.parse().ok()).unwrap_or(10.0);
    let (ticks, _) = broadcast::channel::<Tick>(1024);
    tokio::spawn(ticker(ticks.clone(), rate));
    let app = Router::new().route("/api/events", get(events)).with_state(ticks);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening on {}", listener.local_addr()?);
    if let (Ok(cert), Ok(key)) = (std::env::var("TLS_CERT"), std::env::var("TLS_KEY")) {
        return serve_tls(listener.into_std()?, app, &cert, &key).await;
    }
    axum::serve(listener, app).with_graceful_shutdown(terminated()).await
}

/// Over TLS as axum's users serve it (axum's `tls-rustls` example): axum-server with rustls
/// (aws-lc-rs, as tidings-server's), HTTP/2 and HTTP/1.1 by ALPN.
async fn serve_tls(
    listener: std::net::TcpListener,
    app: Router,
    cert: &str,
    key: &str,
) -> std::io::Result<()> {
    let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key).await?;
    let handle = axum_server::Handle::new();
    let stopping = handle.clone();
    tokio::spawn(async move {
        terminated().await;
        stopping.graceful_shutdown(None);
    });
    axum_server::from_tcp_rustls(listener, config)?
        .handle(handle)
        .serve(app.into_make_service())
        .await
}

/// SIGTERM.
async fn terminated() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("a SIGTERM handler");
    term.recv().await;
}
