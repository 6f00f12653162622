//! `cargo xtask bench --part growth`: how the server's memory per idle stream and its fan-out
//! lag grow with the number of streams, at 1,000, 10,000, 50,000 and 100,000 streams.
//!
//! Each size needs as many open files in the server, and in the load generator, as it has
//! streams: the bench raises its open-file limit to the hard limit (the load generator and the
//! server inherit it) and measures every size that fits under it, and the largest size that
//! does, saying which do not (a hard limit can only be raised by the machine's administrator:
//! `ulimit -Hn`, or `LimitNOFILE=` for a service). Clients are spread over 16 loopback source addresses (127.0.0.1–16), so 100,000
//! connections to one port never run out of ephemeral ports.
//!
//! For each size, a release tidings-server started afresh: memory per idle stream (ticks and
//! heartbeats off; its resident set after 100 streams and after the size more, `tidings-loadgen
//! idle`), then, on another fresh server ticking once a second, fan-out to that many subscribers
//! over a 10 s window (`tidings-loadgen fanout`: lag from the tick's `at_ms` to its arrival,
//! p50/p99/max, the share delivered, the server's CPU per delivery).

use std::process::Command;

use crate::server::{self, Program};
use crate::tools::{self, Needs};

/// The sizes measured, in streams.
const SIZES: [usize; 4] = [1_000, 10_000, 50_000, 100_000];
/// Open files besides the streams: the listener, the log, stdio, the runtime's own.
const SPARE_FILES: u64 = 500;
/// Loopback source addresses the clients come from.
const SOURCES: &str = "16";

pub(crate) fn run() -> Result<(), String> {
    let tools = tools::setup(Needs::Demo)?;
    let release = crate::load::release_for_load(&tools, &["tidings-server", "tidings-loadgen"])?;
    let loadgen = release.join("tidings-loadgen");
    let (soft, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE)
        .map_err(|error| format!("cannot read the open-file limit: {error}"))?;
    let fits = |size: usize| (size as u64) + SPARE_FILES <= soft;
    // Where a size does not fit, the largest that does (in thousands) is measured as well.
    let largest = usize::try_from(soft.saturating_sub(SPARE_FILES) / 1_000 * 1_000).unwrap_or(0);
    let mut sizes = SIZES.to_vec();
    if SIZES.iter().any(|size| !fits(*size)) && largest > 0 && !SIZES.contains(&largest) {
        sizes.push(largest);
        sizes.sort_unstable();
    }
    let mut lines = Vec::new();
    for size in sizes {
        if !fits(size) {
            lines.push(format!(
                "{size:>7} streams: not measured: the open-file limit is {soft} (hard {hard})"
            ));
            continue;
        }
        let (idle_server, address) = start(&tools, &["--tick-interval-ms", "3600000"])?;
        let per_stream = crate::load::idle_bytes_per_stream(
            &loadgen,
            &address,
            &["--sources", SOURCES],
            size,
            idle_server.id(),
        );
        idle_server.stop();
        let per_stream = per_stream?;
        let (ticking, address) = start(&tools, &["--ticks-per-second", "1"])?;
        let fanout = crate::run::output_lines(Command::new(&loadgen).args([
            "fanout",
            "--target",
            &address,
            "--subscribers",
            &size.to_string(),
            "--seconds",
            "10",
            "--sources",
            SOURCES,
            "--pid",
            &ticking.id().to_string(),
        ]));
        ticking.stop();
        lines.push(format!(
            "{size:>7} streams: {per_stream:>6.0} bytes per idle stream; 1 tick/s: {}",
            fanout?.trim()
        ));
    }
    println!(
        "\nxtask: growth (release, loopback, {} cores; open-file limit {soft}, hard {hard})",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    lines.iter().for_each(|line| println!("  {line}"));
    Ok(())
}

/// A release tidings-server with `flags` (heartbeats off, the per-client cap lifted): the
/// running server and its `host:port`.
fn start(tools: &tools::Tools, flags: &[&str]) -> Result<(crate::run::Background, String), String> {
    let common = [
        "--addr",
        "127.0.0.1:0",
        "--dist",
        "target/no-app",
        "--heartbeat-ms",
        "600000",
        // Every stream from 16 addresses: the per-client cap is lifted.
        "--streams-per-client",
        "1000000",
    ];
    let (server, url) = server::start(
        tools,
        Program::Demo,
        common.iter().chain(flags),
        Some("tidings_server=warn"),
    )?;
    Ok((server, url.trim_start_matches("http://").to_owned()))
}
