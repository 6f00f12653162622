//! tidings-server: the Tidings demo's Server-Sent Events server.
//!
//! The router is built by [`app`] apart from `main`, so tests drive the real routes over real
//! sockets; [`serve`] adds the background publishers and graceful shutdown around it.
//!
//! ```no_run
//! use clap::Parser;
//! use tidings_server::{Config, serve};
//!
//! # async fn run() -> std::io::Result<()> {
//! let config = Config::parse_from(["tidings-server", "--addr", "127.0.0.1:0"]);
//! let listener = tokio::net::TcpListener::bind(config.addr).await?;
//! serve(listener, config, async { let _ = tokio::signal::ctrl_c().await; }, |_| {}).await
//! # }
//! ```

mod admin;
mod api_error;
mod board;
mod clock;
mod config;
mod connections;
mod cors;
mod demo;
mod event_log;
mod events;
mod health;
mod jobs;
mod json_body;
mod memory_log;
mod metrics;
mod rate_limit;
mod scripted;
mod sse;
mod state;
mod ticker;
mod write_deadline;

use std::future::Future;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{any, get, patch, post};
use tokio::net::TcpListener;
use tokio_util::task::TaskTracker;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::trace::TraceLayer;

pub use api_error::ApiError;
pub use config::Config;
pub use event_log::{EventLog, Record, ResumeError};
pub use memory_log::MemoryLog;
pub use state::AppState;

/// The server's routes over `state`: the event stream, health, and the built app with an
/// `index.html` fallback for client-side routes.
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
    let dist = &state.config().dist;
    let static_files = ServeDir::new(dist).fallback(ServeFile::new(dist.join("index.html")));
    let cors = cors::layer(state.config());
    let admin = Router::new()
        .route("/api/admin/drop", post(admin::drop_streams))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), admin::guard));
    // Requests that change things are rate-limited per client; streams are not (browsers
    // reconnect by themselves).
    let changes = Router::new()
        .route("/api/comments", post(demo::post_comment))
        .route("/api/typing", post(demo::post_typing))
        .route("/api/jobs", post(jobs::create))
        .route("/boards/{board}/tasks", post(board::create_task))
        .route("/boards/{board}/tasks/{id}", patch(board::patch_task).delete(board::delete_task))
        .route_layer(rate_limit::layer(state.limits()));
    let router = Router::new()
        .merge(admin)
        .merge(changes)
        .route("/api/events", get(events::stream))
        .route("/api/state", get(demo::snapshot))
        .route("/api/jobs/{id}/events", get(jobs::stream))
        .route("/boards/{board}/events", get(board::stream))
        .route("/healthz", get(health::check))
        .route("/metrics", get(metrics::render))
        .route("/api", any(api_error::not_found))
        .route("/api/{*rest}", any(api_error::not_found))
        .fallback_service(static_files)
        .layer(DefaultBodyLimit::max(json_body::BODY_LIMIT))
        .layer(cors)
        .layer(TraceLayer::new_for_http());
    // Merged after the CORS layer, so `/test/cors` can answer CORS as scripted.
    let router = if state.config().test_mode {
        router.merge(scripted::routes(state.config()))
    } else {
        router
    };
    router.with_state(state)
}

/// Serves [`app`] on `listener` as [`serve_app`] does, with the demo publishers running, until
/// `shutdown` completes. `started` sees the state once it exists (e.g. to print the admin token).
///
/// On shutdown every open stream ends cleanly (so the connections can close) and the publishers
/// stop; the function returns once the connections are gone.
///
/// # Errors
/// An I/O error of the listener.
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// use clap::Parser;
/// let config = tidings_server::Config::parse_from(["tidings-server", "--addr", "127.0.0.1:0"]);
/// let listener = tokio::net::TcpListener::bind(config.addr).await?;
/// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
/// let server = tokio::spawn(tidings_server::serve(
///     listener,
///     config,
///     async move {
///         let _ = stopped.await;
///     },
///     |_| {},
/// ));
/// let _ = stop.send(());
/// server.await.expect("server task")?;
/// # Ok(())
/// # }
/// ```
pub async fn serve(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
    started: impl FnOnce(&AppState),
) -> std::io::Result<()> {
    if !config.dist.join("index.html").is_file() {
        tracing::warn!(
            dist = %config.dist.display(),
            "no index.html in the app folder: the app is not served (build it with `cargo xtask demo`)"
        );
    }
    let state = AppState::new(config);
    started(&state);
    let ticker = ticker::spawn(state.clone());
    let clean_up = tokio::spawn(rate_limit::clean_up(state.limits().clone()));
    let result = serve_app(listener, state, shutdown).await;
    ticker.abort();
    clean_up.abort();
    result
}

/// Serves [`app`] over `state` on `listener` until `shutdown` completes, without the background
/// publishers of [`serve`] (tests publish themselves).
///
/// A connection whose first request is a plain `GET` of an event stream is answered by a lean
/// connection layer of this crate (no per-connection buffers: an idle stream costs a few KiB);
/// every other connection goes to hyper through [`axum::serve`]. On shutdown every stream gets
/// its `shutdown` event and ends; the function returns once all connections are gone.
///
/// # Errors
/// An I/O error of the listener.
///
/// # Examples
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
    let stopping = state.shutdown_token();
    let router = app(state.clone());
    let streams = TaskTracker::new();
    let listener = connections::Connections::start(
        listener,
        state.config().write_deadline(),
        router.clone(),
        stopping.clone(),
        streams.clone(),
    )?;
    let service = router.into_make_service_with_connect_info::<connections::Peer>();
    let result = axum::serve(listener, service)
        .with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutting down: closing every stream");
            stopping.cancel();
        })
        .await;
    // The streams answered outside hyper end with their `shutdown` event, as hyper's do.
    streams.close();
    streams.wait().await;
    result
}
