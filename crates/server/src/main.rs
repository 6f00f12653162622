//! The `tidings-server` binary: parses flags, sets up logging, serves until SIGINT or SIGTERM.

use std::process::ExitCode;

use clap::Parser;
use tidings_server::{AppState, Config, app, serve_with_tls, tls};
use tracing_subscriber::EnvFilter;

/// Threads for blocking work: reading the page's files. Tokio's default cap, 512, lets a burst
/// of asset requests start hundreds, each with a stack and an allocator arena, and the memory
/// stays taken after they end (measured in the repository's `docs/benchmarks.md`, "Server").
const BLOCKING_THREADS: usize = 16;

fn main() -> ExitCode {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(BLOCKING_THREADS)
        .build();
    match runtime {
        Ok(runtime) => runtime.block_on(run()),
        Err(error) => {
            eprintln!("error: cannot start the runtime: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> ExitCode {
    let config = Config::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("tidings_server=info,tower_http=warn")),
        )
        .init();

    // A backlog for clients that all come back at once (see `tidings_axum::bind`).
    let listener = match tidings_axum::bind(config.addr) {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("error: cannot listen on {}: {error}", config.addr);
            return ExitCode::FAILURE;
        }
    };
    let addr = match listener.local_addr() {
        Ok(addr) => addr,
        Err(error) => {
            eprintln!("error: cannot read the listening address: {error}");
            return ExitCode::FAILURE;
        }
    };
    let served = match tls::from_config(&config) {
        Ok(served) => served,
        Err(error) => {
            eprintln!("error: {}", chain(&error));
            return ExitCode::from(2);
        }
    };
    // The xtask reads this line to learn the address (the port may have been 0).
    let scheme = if served.is_some() { "https" } else { "http" };
    println!("tidings-server listening on {scheme}://{addr}");
    if let Some(fingerprint) = served.as_ref().and_then(|s| s.self_signed_fingerprint.as_ref()) {
        println!("self-signed certificate for localhost, 127.0.0.1 and ::1, SHA-256 {fingerprint}");
    }

    let state = match &config.redis {
        None => AppState::new(config),
        Some(url) => {
            let log = tidings_axum::RedisLog::builder(url.as_str())
                .prefix(config.redis_prefix.as_str())
                .capacity(config.log_capacity);
            match log.connect().await {
                Ok(log) => {
                    println!("event log: Redis Streams at {url}");
                    AppState::with_log(config, log)
                }
                Err(error) => {
                    eprintln!("error: --redis {url}: {}", chain(&error));
                    return ExitCode::from(2);
                }
            }
        }
    };
    println!(
        "admin token (POST /api/admin/drop with `Authorization: Bearer <token>`): {}",
        state.admin_token()
    );
    let tls = served.map(|served| served.tls);
    match serve_with_tls(listener, state.clone(), app(state), tls, shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: the server stopped: {error}");
            ExitCode::FAILURE
        }
    }
}

/// An error, then each of its causes, `: `-separated.
fn chain(error: &dyn std::error::Error) -> String {
    let mut said = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        said.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    said
}

/// Completes on Ctrl-C (SIGINT) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
