//! `cargo xtask bench --part tls`: what TLS and HTTP/2 cost the server.
//!
//! A release tidings-server (ticks and heartbeats off, the per-client cap lifted), started
//! afresh for each measurement, with `tidings-loadgen` as the client over loopback:
//!
//! - **Memory per idle stream**: `--streams` idle streams after 100 to warm up, the server's
//!   resident set before and after, divided by their number; over plain HTTP/1.1 (the lean
//!   path: a connection per stream), HTTP/1.1 over TLS (a connection per stream, through
//!   hyper: the lean path needs the bare socket), and HTTP/2 over TLS with 100 streams on each
//!   connection (what a browser's page does).
//! - **Handshakes**: full TLS handshakes (no session resumption) from 32 clients for 10 s:
//!   handshakes per second and the server's CPU per handshake. The load generator shares the
//!   machine's cores with the server, so the rate is the pair's; the CPU per handshake is the
//!   server's alone.
//! - **Fan-out over TLS**: `--streams` subscribers to 10 ticks a second for 10 s, over HTTP/1.1
//!   over TLS and over HTTP/2 (100 streams a connection), for tidings-server and for the axum
//!   peer of `--part peers` served with axum-server's rustls (aws-lc-rs, as tidings-server's):
//!   lag p50/p99, the share delivered and the server's CPU per delivery.
//!
//! Two rounds, so the spread shows.

use std::process::Command;
use std::time::Duration;

use tidings_testkit::certificate::Certificate;

use crate::server::{self, Program};
use crate::tools::{self, Needs};

/// How the idle streams reach the server, as `tidings-loadgen --transport` names it.
const TRANSPORTS: [(&str, &str); 3] = [
    ("plain", "HTTP/1.1, lean path"),
    ("tls", "HTTP/1.1 over TLS"),
    ("h2", "HTTP/2 over TLS, 100 a connection"),
];

pub(crate) fn run(streams: usize) -> Result<(), String> {
    let tools = tools::setup(Needs::Demo)?;
    let certificate = crate::demo::certificate()?;
    let release = crate::load::release_for_load(
        &tools,
        &["tidings-server", "tidings-loadgen", "tidings-peer-axum"],
    )?;
    let loadgen = release.join("tidings-loadgen");
    let mut lines = Vec::new();
    for round in 1..=2 {
        for (transport, what) in TRANSPORTS {
            let tls = transport != "plain";
            let (server, address) = start(&tools, tls.then_some(&certificate))?;
            let how: [&std::ffi::OsStr; 4] = [
                "--transport".as_ref(),
                transport.as_ref(),
                "--ca".as_ref(),
                certificate.cert.as_os_str(),
            ];
            let per_stream =
                crate::load::idle_bytes_per_stream(&loadgen, &address, &how, streams, server.id());
            server.stop();
            let per_stream = per_stream?;
            lines.push(format!("round {round}, {what}: {per_stream:.0} bytes per idle stream"));
        }
        for (transport, what) in &TRANSPORTS[1..] {
            for peer in [false, true] {
                let (server, address) = if peer {
                    start_axum_peer(&release, &certificate)?
                } else {
                    start_ticking(&tools, &certificate)?
                };
                let mut command = Command::new(&loadgen);
                command
                    .args(["fanout", "--target", &address, "--transport", transport, "--ca"])
                    .arg(&certificate.cert)
                    .args(["--subscribers", &streams.to_string(), "--seconds", "10"])
                    .args(["--pid", &server.id().to_string()]);
                let result = crate::run::output_lines(&mut command);
                server.stop();
                let name = if peer { "axum + axum-server" } else { "tidings" };
                lines.push(format!("round {round}, {what}, {name}: {}", result?.trim()));
            }
        }
        let (server, address) = start(&tools, Some(&certificate))?;
        let handshakes = crate::run::output_lines(
            Command::new(&loadgen)
                .args(["handshakes", "--target", &address, "--ca"])
                .arg(&certificate.cert)
                .args(["--pid", &server.id().to_string()]),
        );
        server.stop();
        lines.push(format!("round {round}, TLS handshakes: {}", handshakes?.trim()));
    }
    println!(
        "\nxtask: TLS bench ({streams} idle streams; release, loopback, {} cores)",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    lines.iter().for_each(|line| println!("  {line}"));
    Ok(())
}

/// A release tidings-server for idle streams, over TLS with `certificate` if given: the
/// running server and its `host:port`.
fn start(
    tools: &tools::Tools,
    certificate: Option<&Certificate>,
) -> Result<(crate::run::Background, String), String> {
    let mut flags: Vec<std::ffi::OsString> = [
        "--addr",
        "127.0.0.1:0",
        "--dist",
        "target/no-app",
        "--tick-interval-ms",
        "3600000",
        "--heartbeat-ms",
        "600000",
        // Thousands of streams from 8 addresses: the per-client cap is lifted.
        "--streams-per-client",
        "1000000",
    ]
    .map(Into::into)
    .to_vec();
    if let Some(certificate) = certificate {
        flags.extend(["--tls-cert".into(), certificate.cert.clone().into()]);
        flags.extend(["--tls-key".into(), certificate.key.clone().into()]);
    }
    let (server, url) = server::start(tools, Program::Demo, flags, Some("tidings_server=warn"))?;
    let address = url.trim_start_matches("https://").trim_start_matches("http://").to_owned();
    Ok((server, address))
}

/// tidings-server over TLS ticking 10 times a second.
fn start_ticking(
    tools: &tools::Tools,
    certificate: &Certificate,
) -> Result<(crate::run::Background, String), String> {
    let mut flags: Vec<std::ffi::OsString> =
        ["--addr", "127.0.0.1:0", "--dist", "target/no-app", "--ticks-per-second", "10"]
            .map(Into::into)
            .to_vec();
    // Thousands of streams from 8 addresses: the per-client cap is lifted.
    flags.extend(["--streams-per-client".into(), "1000000".into()]);
    flags.extend(["--tls-cert".into(), certificate.cert.clone().into()]);
    flags.extend(["--tls-key".into(), certificate.key.clone().into()]);
    let (server, url) = server::start(tools, Program::Demo, flags, Some("error"))?;
    Ok((server, url.trim_start_matches("https://").to_owned()))
}

/// The axum peer over TLS, ticking 10 times a second.
fn start_axum_peer(
    release: &std::path::Path,
    certificate: &Certificate,
) -> Result<(crate::run::Background, String), String> {
    let port = tidings_testkit::free_port()?;
    let mut command = Command::new(release.join("tidings-peer-axum"));
    command
        .env("PORT", port.to_string())
        .env("RATE", "10")
        .env("TLS_CERT", &certificate.cert)
        .env("TLS_KEY", &certificate.key);
    let (peer, _) =
        crate::run::Background::start(&mut command, "listening on", Duration::from_secs(30))?;
    Ok((peer, format!("127.0.0.1:{port}")))
}
