//! `tidings-loadgen`: many Server-Sent Events clients over loopback, for `cargo xtask bench`.
//! Measurements, printed as `RESULT key=value …` lines; never assertions.
//!
//! Every client is a hyper HTTP/1.1 connection (or, with `--transport`, HTTP/1.1 over TLS, or
//! HTTP/2 over TLS with `--per-connection` streams on each connection) from a source address in
//! 127.0.0.0/8 (spread
//! over `--sources` of them, so tens of thousands of connections to one server never run out of
//! ephemeral ports), its events parsed by eventsource-stream. A tick is an unnamed event whose
//! data is JSON with `seq` and `at_ms` (the server's wall clock when it made the tick); every
//! server measured sends the same.
//!
//! - `fanout`: lag from `at_ms` to arrival (p50/p99/max), the share of the window's ticks each
//!   subscriber got, deliveries per second, the server's CPU per delivery (`--pid`).
//! - `storm`: clients reconnecting at once `--behind` ticks behind: time until all are live,
//!   gaps and duplicates.
//! - `idle`: streams held open while the xtask reads the server's memory and stops it.
//! - `publish`: the ticker of a server without one (nginx + nchan), over HTTP.
//! - `failover`: clients on a node that is killed, resuming on another (`--part cluster`).
//! - `handshakes`: full TLS handshakes per second and the server's CPU per handshake.
//! - `flood`: a hostile client's presence flood; what an ordinary client gets, and the server's
//!   memory after (`--part flood`).

mod client;
mod failover;
mod fanout;
mod flood;
mod handshakes;
mod idle;
mod publish;
mod stats;
mod storm;

use clap::Parser;

use crate::client::{Target, Transport};

/// How the clients reach the server.
#[derive(clap::Args)]
struct TransportArgs {
    /// `plain` (HTTP/1.1), `tls` (HTTP/1.1 over TLS) or `h2` (HTTP/2 over TLS).
    #[arg(long, default_value = "plain")]
    transport: String,
    /// The server's certificate (PEM), trusted over TLS.
    #[arg(long)]
    ca: Option<std::path::PathBuf>,
    /// Streams on each HTTP/2 connection (a browser's page shares one).
    #[arg(long, default_value_t = 100)]
    per_connection: usize,
    /// The browser's pattern over HTTP/1.1: a `GET` of this path first, then the stream on the
    /// same kept-alive connection.
    #[arg(long)]
    asset: Option<String>,
}

impl TransportArgs {
    fn target(&self, addr: &str, path: &str) -> Result<Target, String> {
        let transport = Transport::new(&self.transport, self.ca.as_deref(), self.per_connection)?;
        Ok(Target { transport, asset: self.asset.clone(), ..Target::new(addr, path)? })
    }
}

const TICKER: &str = "/api/events?topics=ticker";

#[derive(Parser)]
#[command(name = "tidings-loadgen", about = "Server-Sent Events clients for cargo xtask bench")]
enum Command {
    /// Subscribers spread evenly over `--target`s (`host:port`, repeat the flag).
    Fanout {
        #[arg(long, required = true)]
        target: Vec<String>,
        #[arg(long, default_value = TICKER)]
        path: String,
        /// Subscribers in all.
        #[arg(long, default_value_t = 5_000)]
        subscribers: usize,
        /// The measured window, after every subscriber is connected.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Source addresses (127.0.0.1 up).
        #[arg(long, default_value_t = 8)]
        sources: usize,
        /// Processes whose CPU time is the server's (repeat the flag).
        #[arg(long)]
        pid: Vec<u32>,
        #[command(flatten)]
        how: TransportArgs,
    },
    /// Full TLS handshakes, as fast as `--concurrency` clients make them.
    Handshakes {
        #[arg(long)]
        target: String,
        /// The server's certificate (PEM).
        #[arg(long)]
        ca: std::path::PathBuf,
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        #[arg(long, default_value_t = 8)]
        sources: usize,
        #[arg(long)]
        pid: Vec<u32>,
    },
    /// Clients reconnecting at once, `--behind` ticks behind the newest.
    Storm {
        #[arg(long)]
        target: String,
        #[arg(long, default_value = TICKER)]
        path: String,
        #[arg(long, default_value_t = 10_000)]
        clients: usize,
        #[arg(long, default_value_t = 1_000)]
        behind: usize,
        #[arg(long, default_value_t = 8)]
        sources: usize,
        #[arg(long)]
        pid: Vec<u32>,
    },
    /// Idle streams, held while the xtask measures (see the module `idle`).
    Idle {
        #[arg(long)]
        target: String,
        #[arg(long, default_value = TICKER)]
        path: String,
        #[arg(long, default_value_t = 100)]
        warm: usize,
        #[arg(long, default_value_t = 10_000)]
        streams: usize,
        #[arg(long, default_value_t = 8)]
        sources: usize,
        #[command(flatten)]
        how: TransportArgs,
    },
    /// Publishes ticks by `POST` (for nginx + nchan).
    Publish {
        #[arg(long)]
        target: String,
        #[arg(long, default_value = "/pub")]
        path: String,
        /// Ticks per second.
        #[arg(long)]
        rate: f64,
    },
    /// Named streams opened and closed by the hundred (see the module `flood`).
    Flood {
        #[arg(long)]
        target: String,
        #[arg(long, default_value_t = 480)]
        streams: usize,
        #[arg(long, default_value_t = 30)]
        seconds: u64,
        /// Source addresses (127.0.0.2 up).
        #[arg(long, default_value_t = 16)]
        sources: usize,
        /// The server's process id, for its memory.
        #[arg(long)]
        pid: u32,
    },
    /// Clients on `--from`, which is killed; they resume on `--to`.
    Failover {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        #[arg(long, default_value = TICKER)]
        path: String,
        /// The process id of the server at `--from`.
        #[arg(long)]
        pid: u32,
        #[arg(long, default_value_t = 2_000)]
        clients: usize,
    },
}

async fn run(command: Command) -> Result<(), String> {
    match command {
        Command::Fanout { target, path, subscribers, seconds, sources, pid, how } => {
            let targets =
                target.iter().map(|target| how.target(target, &path)).collect::<Result<_, _>>()?;
            fanout::run(fanout::Settings { targets, subscribers, seconds, sources, pids: pid })
                .await
        }
        Command::Storm { target, path, clients, behind, sources, pid } => {
            let target = Target::new(&target, &path)?;
            storm::run(storm::Settings { target, clients, behind, sources, pids: pid }).await
        }
        Command::Idle { target, path, warm, streams, sources, how } => {
            idle::run(how.target(&target, &path)?, warm, streams, sources).await
        }
        Command::Handshakes { target, ca, concurrency, seconds, sources, pid } => {
            let target = target.parse().map_err(|error| format!("{target:?}: {error}"))?;
            let tls = client::tls_connector(&ca, b"http/1.1")?;
            handshakes::run(handshakes::Settings {
                target,
                tls,
                concurrency,
                seconds,
                sources,
                pids: pid,
            })
            .await
        }
        Command::Publish { target, path, rate } => {
            publish::run(Target::new(&target, &path)?, rate).await
        }
        Command::Flood { target, streams, seconds, sources, pid } => {
            let target = target.parse().map_err(|error| format!("{target:?}: {error}"))?;
            flood::run(flood::Settings { target, streams, seconds, sources, pid }).await
        }
        Command::Failover { from, to, path, pid, clients } => {
            failover::run(Target::new(&from, &path)?, Target::new(&to, &path)?, pid, clients).await
        }
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    match run(Command::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
