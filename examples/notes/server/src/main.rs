//! `cargo run -p tidings-example-notes -- --addr 127.0.0.1:3001`: the notes example's server.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use tidings_axum::Hub;

/// Serves the notes example: `POST /notes`, `GET /notes/events` and the page.
#[derive(Parser)]
struct Args {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:3001")]
    addr: SocketAddr,
    /// The page, as Trunk built it.
    #[arg(long, default_value = "examples/notes/page/dist")]
    dist: PathBuf,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let hub = Hub::new();
    let listener = tidings_axum::bind(args.addr)?;
    println!("listening on http://{}", listener.local_addr()?);
    let draining = hub.clone();
    tidings_axum::serve(listener, tidings_example_notes::app(hub, &args.dist))
        .with_graceful_shutdown(async move {
            let _ = tokio::signal::ctrl_c().await;
            draining.drain();
        })
        .await
}
