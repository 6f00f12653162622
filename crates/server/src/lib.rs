//! tidings-server: the Tidings demo's server, an application of the tidings-axum engine.
//!
//! The router is built by [`app`] apart from `main`, so tests drive the real routes over real
//! sockets; [`serve`] adds the demo's publishers and graceful shutdown around it. Everything about
//! streams (the log, resume, heartbeats, slow clients, drain, the lean path) is the engine's; this
//! crate holds the demo: its topics, its state, its REST routes, rate limits, CORS and flags.
//!
//! # Examples
//!
//! ```no_run
//! use clap::Parser;
//! use tidings_server::{AppState, Config, app, serve};
//!
//! # async fn run() -> std::io::Result<()> {
//! let config = Config::parse_from(["tidings-server", "--addr", "127.0.0.1:0"]);
//! let listener = tidings_axum::bind(config.addr)?;
//! let state = AppState::new(config);
//! serve(listener, state.clone(), app(state), async { let _ = tokio::signal::ctrl_c().await; }).await
//! # }
//! ```

mod admin;
mod api_error;
mod bearer;
mod board;
mod client;
mod clock;
mod config;
mod cors;
mod demo;
mod demo_state;
mod events;
mod health;
mod job_token;
mod jobs;
mod json_body;
mod membership;
mod metrics;
mod presence;
mod presence_reports;
mod projection;
mod rate_limit;
mod state;
mod stream_quota;
mod ticker;
pub mod tls;
mod topics;

use std::future::Future;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{any, get, patch, post};
use tokio::net::TcpListener;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::trace::TraceLayer;

pub use api_error::ApiError;
pub use config::Config;
pub use state::AppState;

/// The demo's routes over `state`: its streams, its REST routes, health and metrics, and the built
/// app with an `index.html` fallback for client-side routes.
///
/// # Examples
///
/// ```
/// use clap::Parser;
/// use tidings_server::{AppState, Config, app};
///
/// let state = AppState::new(Config::parse_from(["tidings-server"]));
/// let router: axum::Router = app(state);
/// # let _ = router;
/// ```
pub fn app(state: AppState) -> Router {
    state.follow_log();
    let dist = &state.config().dist;
    let static_files = ServeDir::new(dist).fallback(ServeFile::new(dist.join("index.html")));
    let cors = cors::layer(state.config());
    let admin = Router::new()
        .route("/api/admin/drop", post(admin::drop_all))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), admin::guard));
    // Requests that change things are rate-limited per client; streams are not (browsers
    // reconnect by themselves).
    let changes = Router::new()
        .route("/api/comments", post(demo::post_comment))
        .route("/api/typing", post(demo::post_typing))
        .route("/api/jobs", post(jobs::create))
        .route("/api/streams/drop", post(admin::drop_stream))
        .route("/boards/{board}/tasks", post(board::create_task))
        .route("/boards/{board}/tasks/{id}", patch(board::patch_task).delete(board::delete_task))
        .route_layer(rate_limit::layer(state.limits()));
    // Every request is traced but the event streams: the trace layer wraps a response's body
    // for its whole life (memory in every idle stream, and a span entered at every frame: the
    // repository's docs/benchmarks.md, "Server", 2026-12-07), and a stream's opening and end
    // are the engine's to tell (its metrics and logs).
    let traced = Router::new()
        .merge(admin)
        .merge(changes)
        .route("/api/state", get(demo::snapshot))
        .route("/healthz", get(health::check))
        .route("/metrics", get(metrics::render))
        .route("/api", any(api_error::not_found))
        .route("/api/{*rest}", any(api_error::not_found))
        .fallback_service(static_files)
        .layer(TraceLayer::new_for_http());
    let streams = Router::new()
        .route("/api/events", get(events::stream))
        .route("/api/jobs/{id}/events", get(jobs::stream))
        .route("/boards/{board}/events", get(board::stream));
    traced
        .merge(streams)
        .layer(DefaultBodyLimit::max(json_body::BODY_LIMIT))
        .layer(cors)
        .with_state(state)
}

/// Serves `router` (the demo's [`app`], or one built on it) over `state` on `listener`, with
/// the demo's publishers running (the ticker, the rate limiter's clean-up), until `shutdown`
/// completes. `started` sees the state once it exists (e.g. to print the admin token).
///
/// On shutdown every open stream gets `shutdown` and ends, the publishers stop, and the
/// function returns once the connections are gone. Served by [`tidings_axum::serve`]: event
/// streams take the lean path, every connection has the `--write-deadline-ms` deadline.
///
/// # Errors
/// An I/O error of the listener.
///
/// # Examples
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// use clap::Parser;
/// use tidings_server::{AppState, Config, app, serve};
///
/// let config = Config::parse_from(["tidings-server", "--addr", "127.0.0.1:0"]);
/// let listener = tidings_axum::bind(config.addr)?;
/// let state = AppState::new(config);
/// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
/// let server = tokio::spawn(serve(listener, state.clone(), app(state), async move {
///     let _ = stopped.await;
/// }));
/// let _ = stop.send(());
/// server.await.expect("server task")?;
/// # Ok(())
/// # }
/// ```
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with_tls(listener, state, router, None, shutdown).await
}

/// [`serve`], over HTTPS with `tls` (from [`tls::from_config`]): HTTP/2 and HTTP/1.1 by ALPN;
/// plain HTTP without it.
///
/// # Errors
/// An I/O error of the listener.
///
/// # Examples
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use clap::Parser;
/// use tidings_server::{AppState, Config, app, serve_with_tls, tls};
///
/// let config = Config::parse_from(["tidings-server", "--tls-self-signed"]);
/// let served = tls::from_config(&config)?.map(|served| served.tls);
/// let state = AppState::new(config);
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// serve_with_tls(listener, state.clone(), app(state), served, async {
///     let _ = tokio::signal::ctrl_c().await;
/// })
/// .await?;
/// # Ok(())
/// # }
/// ```
pub async fn serve_with_tls(
    listener: TcpListener,
    state: AppState,
    router: Router,
    tls: Option<tidings_axum::Tls>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if !state.config().dist.join("index.html").is_file() {
        tracing::warn!(
            dist = %state.config().dist.display(),
            "no index.html in the app folder: the app is not served (build it with `cargo xtask demo`)"
        );
    }
    metrics::install();
    state.follow_log();
    let ticker = ticker::spawn(state.clone());
    let node = tokio::spawn(node_duties(state.clone()));
    let clean_up = tokio::spawn(rate_limit::clean_up(state.limits().clone()));
    let hub = state.hub().clone();
    let mut server = tidings_axum::serve(listener, router)
        .lean_streams(state.config().lean_streams)
        .write_deadline(state.config().write_deadline())
        .with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutting down: closing every stream");
            hub.drain();
        });
    if let Some(tls) = tls {
        server = server.tls(tls);
    }
    let result = server.await;
    ticker.abort();
    node.abort();
    clean_up.abort();
    result
}

/// What every node does besides serving: report its streams every second (so the others know
/// it is alive), and, when it leads, publish everyone's presence when it changed and end the
/// jobs of a node that is gone. Also woken by every other node's report.
async fn node_duties(state: AppState) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(1));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = state.hub().drain_started() => return,
            _ = every.tick() => presence_reports::report(&state).await,
            () = state.projection().reports.notified() => {}
        }
        presence_reports::publish(&state).await;
        jobs::fail_orphans(&state).await;
    }
}

/// Serves [`app`] over `state` on `listener` until `shutdown` completes, without the demo's
/// publishers (tests publish themselves).
///
/// # Errors
/// An I/O error of the listener.
///
/// # Examples
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// use clap::Parser;
/// use tidings_server::{AppState, Config, serve_app};
///
/// let state = AppState::new(Config::parse_from(["tidings-server"]));
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// serve_app(listener, state, async { let _ = tokio::signal::ctrl_c().await; }).await
/// # }
/// ```
pub async fn serve_app(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    metrics::install();
    state.follow_log();
    let hub = state.hub().clone();
    tidings_axum::serve(listener, app(state.clone()))
        .lean_streams(state.config().lean_streams)
        .write_deadline(state.config().write_deadline())
        .with_graceful_shutdown(async move {
            shutdown.await;
            hub.drain();
        })
        .await
}
