//! Project automation, run as `cargo xtask <command>`:
//!
//! - `setup`: installs what building the demo needs (and `--browsers` for the tests);
//! - `demo`: builds the app with Trunk and serves it with tidings-server (`--nodes 2`: two nodes on
//!   Redis behind nginx; `--tls`: over HTTPS and HTTP/2);
//! - `test`: everything CI checks, ending with one `N passed, N failed` line;
//! - `bench`: measurements (memory per idle stream, shutdown time, events per second, the
//!   demo's size, two nodes on Redis, the peers), never assertions;
//! - `screenshot`: the README's pictures of the demo, from a scripted session in headless
//!   Chromium.

mod bench;
mod cluster;
mod demo;
mod error;
mod growth;
mod https;
mod load;
mod peers;
mod project;
mod run;
mod server;
mod size;
mod test;
mod tools;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Tidings project automation")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Install what is missing: the wasm32 target, wasm-bindgen-cli, trunk, wasm-opt, and with
    /// `--browsers` wasm-pack, Chromium, Firefox and their WebDriver servers.
    Setup {
        /// Also install what the browser tests need.
        #[arg(long)]
        browsers: bool,
    },
    /// Build the demo app in release mode and serve it; Ctrl-C stops it.
    Demo {
        /// Port to serve on, on 127.0.0.1.
        #[arg(long, default_value_t = 3000)]
        port: u16,
        /// How many server nodes: more than one shares the event log through Redis, behind
        /// nginx on `--port` (both installed from Debian's packages when missing).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=16))]
        nodes: u16,
        /// Serve over HTTPS (HTTP/2 for browsers, so a page's streams share one connection)
        /// with a self-signed certificate for localhost kept in `target/tidings-tls/` (made with
        /// openssl, installed from Debian's package when missing); with `--nodes`, on nginx.
        #[arg(long)]
        tls: bool,
    },
    /// Take the README's screenshots (`docs/demo.png`, `docs/demo-phone.png`): a short scripted
    /// session in headless Chromium against a freshly built app.
    Screenshot,
    /// Measure: the server's memory per idle stream and its shutdown with every stream open,
    /// the browser library's events per second, the demo's download size, the cluster, the
    /// peers.
    Bench {
        /// How many idle streams to open.
        #[arg(long, default_value_t = 5000)]
        streams: usize,
        /// Which measurements: the server's (memory per stream, shutdown), the browser
        /// library's (events per second against raw JS, in headless Chrome), the demo's size
        /// (against a Leptos counter built the same way), two nodes on Redis against one
        /// (`cluster`), the cost of TLS and HTTP/2 (`tls`), growth from 1,000 to 100,000 streams
        /// (`growth`; not in `all`), tidings-server against axum,
        /// nchan, better-sse and sse-starlette (`peers`, about half an hour; not in `all`), or
        /// all.
        #[arg(long, value_enum, default_value_t = bench::Part::All)]
        part: bench::Part,
        /// Rounds of the peers benchmark (`--part peers`), alternating the servers in each.
        #[arg(long, default_value_t = 2)]
        rounds: usize,
        /// The peers benchmark with a tenth of the clients (a trial run).
        #[arg(long)]
        quick: bool,
    },
    /// Run every check: format, clippy (native and wasm32), native tests, browser tests in
    /// headless Chrome and Firefox, and the end-to-end tests.
    Test,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result: Result<(), error::Error> = match cli.command {
        Command::Setup { browsers } => {
            tools::setup(if browsers { tools::Needs::Tests } else { tools::Needs::Demo })
                .map(|_| ())
                .map_err(Into::into)
        }
        Command::Demo { port, nodes: 1, tls } => demo::run(port, tls).map_err(Into::into),
        Command::Demo { port, nodes, tls } => cluster::run(port, nodes, tls).map_err(Into::into),
        Command::Test => test::run(),
        Command::Screenshot => demo::screenshot().map_err(Into::into),
        Command::Bench { streams, part, rounds, quick } => {
            bench::run(streams, part, peers::Scale { rounds, quick }).map_err(Into::into)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The summary was printed, and its `N passed, N failed` stays the last line.
        Err(error::Error::Failed(_)) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("\nxtask: error: {error}");
            ExitCode::FAILURE
        }
    }
}
