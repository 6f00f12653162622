//! `cargo xtask bench`: measurements, never assertions.
//!
//! **Server** (`--part server`): memory per idle stream and shutdown with every stream open,
//! with the lean path and without, each for streams on connections of their own and for
//! streams sent as a browser sends them (after a `GET /healthz` on the same kept-alive
//! connection). A release tidings-server in its own process; this process opens the streams
//! over loopback with plain blocking sockets. Memory is the server's resident set (`VmRSS` in
//! `/proc/PID/status`) after a warm-up of 100 streams and again after `--streams` more, divided by
//! that number: the marginal cost of one idle stream in user space (kernel socket buffers are not
//! in RSS). Shutdown is the time from SIGTERM until the process has exited, and a sample of
//! streams is checked for the `shutdown` event before their end.
//!
//! **Browser** (`--part browser`): events per second delivered to a tidings typed handler
//! against raw JS listeners on the same stream in the same headless Chrome, and the cost of each
//! listener alone; then a mounted tidings-leptos component showing `latest::<Tick>()` against
//! the same raw JS listener; see `crates/tidings/tests/throughput.rs` and
//! `crates/leptos/tests/throughput.rs` for the method. A release
//! tidings-fixtures (its `/test/burst`) serves the stream; the wasm is built with `--release`.
//!
//! **Size** (`--part size`): what the demo ships, against a Leptos counter; see `size.rs`.
//!
//! **Cluster** (`--part cluster`): two release nodes on Redis (unix socket, no disk) against one
//! node with the log in memory, alternated, twice: fan-out of the ticker (every 100 ms) to 2 ×
//! 2,500 subscribers (5,000 on the single node), lag from the tick's `at_ms` to its arrival,
//! p50/p99/max and deliveries per second over 10 s; then 2,000 clients on one node of the pair,
//! which is killed (SIGKILL), resuming on the other with their last id: time until every client
//! has a tick again, gaps and duplicates. `tidings-loadgen` (hyper + eventsource-stream) is the
//! client.
//!
//! **TLS** (`--part tls`): memory per idle stream over HTTP/1.1, HTTP/1.1 over TLS and HTTP/2
//! over TLS, and TLS handshakes per second; see `https.rs`.
//!
//! **Growth** (`--part growth`, not in `all`): memory per idle stream and fan-out lag at 1,000
//! to 100,000 streams, as far as the open-file limit allows; see `growth.rs`.
//!
//! **Flood** (`--part flood`): a hostile client's presence flood against a release
//! tidings-server with its default limits: 480 streams with 40-character names from 16 addresses,
//! one closed and another opened every 50 ms for 30 s, then all closed (`tidings-loadgen
//! flood`). What an ordinary client on the default topics gets of `presence` during the churn,
//! and the server's memory before, at the peak, and 10 s and 60 s after. Twice.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::server::{self, Program};
use crate::tools::{self, Needs};

const WARM_UP: usize = 100;
const SAMPLE: usize = 100;

/// Which measurements `cargo xtask bench` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Part {
    Server,
    Browser,
    Size,
    Cluster,
    Flood,
    /// What TLS and HTTP/2 cost the server (see `https.rs`).
    Tls,
    /// Memory and fan-out lag from 1,000 to 100,000 streams (see `growth.rs`); not in `all`.
    Growth,
    /// tidings-server against the servers a user would otherwise pick (see `peers.rs`); not
    /// in `all` (it takes about half an hour).
    Peers,
    All,
}

pub(crate) fn run(streams: usize, part: Part, scale: crate::peers::Scale) -> Result<(), String> {
    if part == Part::Peers {
        return crate::peers::run(scale);
    }
    if part == Part::Growth {
        return crate::growth::run();
    }
    if matches!(part, Part::Server | Part::All) {
        server_bench(streams)?;
    }
    if matches!(part, Part::Browser | Part::All) {
        browser_bench()?;
    }
    if matches!(part, Part::Size | Part::All) {
        crate::size::run()?;
    }
    if matches!(part, Part::Cluster | Part::All) {
        cluster_bench()?;
    }
    if matches!(part, Part::Flood | Part::All) {
        flood_bench()?;
    }
    if matches!(part, Part::Tls | Part::All) {
        crate::https::run(streams)?;
    }
    Ok(())
}

/// See the module documentation: the presence flood, twice.
fn flood_bench() -> Result<(), String> {
    let tools = tools::setup(Needs::Demo)?;
    let loadgen =
        crate::load::release_for_load(&tools, &["tidings-loadgen"])?.join("tidings-loadgen");
    let flags = ["--addr", "127.0.0.1:0", "--dist", "target/no-app"];
    let mut results = Vec::new();
    for round in 1..=2 {
        let (server, url) = server::start(&tools, Program::Demo, flags, Some("warn"))?;
        let target = url.trim_start_matches("http://").to_owned();
        let result = crate::run::output_lines(std::process::Command::new(&loadgen).args([
            "flood",
            "--target",
            &target,
            "--pid",
            &server.id().to_string(),
        ]))?;
        results.push(format!("round {round}: {result}"));
        drop(server);
    }
    println!("\nFlood (release, loopback):");
    results.iter().for_each(|line| println!("  {line}"));
    Ok(())
}

/// See the module documentation: two nodes on Redis against one in memory.
fn cluster_bench() -> Result<(), String> {
    let tools = tools::setup(Needs::Demo)?;
    tools::cluster_packages()?;
    let loadgen =
        crate::load::release_for_load(&tools, &["tidings-loadgen"])?.join("tidings-loadgen");
    let node_flags = |redis: Option<&str>| {
        let mut flags: Vec<String> =
            // Thousands of streams from 8 source addresses: the per-client cap is lifted.
            [
                "--addr",
                "127.0.0.1:0",
                "--dist",
                "target/no-app",
                "--tick-interval-ms",
                "100",
                "--streams-per-client",
                "1000000",
            ]
            .map(str::to_owned)
            .to_vec();
        if let Some(url) = redis {
            flags.extend(["--redis".to_owned(), url.to_owned()]);
        }
        flags
    };
    let start_node =
        |redis: Option<&str>| server::start(&tools, Program::Demo, node_flags(redis), Some("warn"));
    let address = |url: &str| url.trim_start_matches("http://").to_owned();
    let mut results = Vec::new();
    for round in 1..=2 {
        // Two nodes on Redis.
        let scratch = crate::cluster::Scratch::new("tidings-cluster-bench")?;
        let redis = crate::cluster::start_redis(&scratch.0)?;
        let url = format!("unix://{}", scratch.0.join("redis.sock").display());
        let (first, first_url) = start_node(Some(&url))?;
        let (second, second_url) = start_node(Some(&url))?;
        let (a, b) = (address(&first_url), address(&second_url));
        let fanout = crate::run::output_lines(std::process::Command::new(&loadgen).args([
            "fanout",
            "--target",
            &a,
            "--target",
            &b,
            "--subscribers",
            "5000",
            "--seconds",
            "10",
            "--pid",
            &first.id().to_string(),
            "--pid",
            &second.id().to_string(),
            "--pid",
            &redis.id().to_string(),
        ]))?;
        results.push(format!("round {round}, 2 nodes on Redis: {fanout}"));
        let storm = crate::run::output_lines(std::process::Command::new(&loadgen).args([
            "failover",
            "--from",
            &a,
            "--to",
            &b,
            "--pid",
            &first.id().to_string(),
            "--clients",
            "2000",
        ]))?;
        results.push(format!("round {round}, 2 nodes on Redis: {storm}"));
        drop((first, second, redis, scratch));
        // One node, the log in memory.
        let (single, single_url) = start_node(None)?;
        let fanout = crate::run::output_lines(std::process::Command::new(&loadgen).args([
            "fanout",
            "--target",
            &address(&single_url),
            "--subscribers",
            "5000",
            "--seconds",
            "10",
            "--pid",
            &single.id().to_string(),
        ]))?;
        results.push(format!("round {round}, 1 node in memory: {fanout}"));
        drop(single);
    }
    println!("\nxtask: cluster benchmark (release, loopback, this machine):");
    for line in results {
        println!("  {line}");
    }
    Ok(())
}

/// The throughput benchmark in headless Chrome; prints its `BENCH` lines.
fn browser_bench() -> Result<(), String> {
    let tools = tools::setup(Needs::Tests)?;
    let flags = ["--addr", "127.0.0.1:0", "--dist", "target/no-app"];
    let (server, url) = server::start(&tools, Program::Fixtures, flags, Some("warn"))?;
    let mut results = Vec::new();
    for krate in ["crates/tidings", "crates/leptos"] {
        let output = tools
            .command(&tools.wasm_pack)
            .args(["test", "--release", "--headless", "--chrome", "--chromedriver"])
            .arg(&tools.chromedriver)
            .args([krate, "--test", "throughput", "--", "--include-ignored", "--nocapture"])
            .env("TIDINGS_TEST_SERVER", &url)
            .env("WASM_BINDGEN_TEST_TIMEOUT", "600")
            .output()
            .map_err(|error| format!("cannot run wasm-pack: {error}"));
        let output = match output {
            Ok(output) => output,
            Err(error) => {
                server.stop();
                return Err(error);
            }
        };
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        let lines: Vec<String> =
            text.lines().filter(|line| line.contains("BENCH ")).map(str::to_owned).collect();
        if !output.status.success() || lines.is_empty() {
            eprintln!("{text}\n{}", String::from_utf8_lossy(&output.stderr));
            server.stop();
            return Err(format!("the browser benchmark of {krate} failed"));
        }
        results.extend(lines);
    }
    server.stop();
    println!("\nxtask: browser bench results (headless Chrome, release wasm, loopback)");
    for line in results {
        let line = line.trim();
        println!("  {}", line.strip_prefix("BENCH ").unwrap_or(line));
    }
    Ok(())
}

fn server_bench(streams: usize) -> Result<(), String> {
    let tools = tools::setup(Needs::Demo)?;
    let (soft, _) = rlimit::increase_nofile_limit(u64::MAX)
        .map(|soft| (soft, ()))
        .map_err(|error| format!("cannot raise the open-file limit: {error}"))?;
    let needed = u64::try_from(streams + WARM_UP + 100).unwrap_or(u64::MAX);
    if soft < needed {
        return Err(format!("{streams} streams need {needed} open files; the limit is {soft}"));
    }
    // The engine's lean path, then every request through hyper (as with plain `axum::serve`);
    // each with a stream on a connection of its own, and as a browser sends it: on a
    // connection kept alive from an earlier request.
    for lean in [true, false] {
        for asset in [None, Some("/healthz")] {
            measure_server(&tools, streams, lean, asset)?;
        }
    }
    Ok(())
}

/// Memory per idle stream and shutdown time, for one server; each stream after a `GET` of
/// `asset` on its connection, if given.
fn measure_server(
    tools: &tools::Tools,
    streams: usize,
    lean: bool,
    asset: Option<&str>,
) -> Result<(), String> {
    let lean_flag = if lean { "true" } else { "false" };
    let flags = [
        "--addr",
        "127.0.0.1:0",
        "--tick-interval-ms",
        "3600000",
        "--heartbeat-ms",
        "600000",
        "--lean-streams",
        lean_flag,
        // Thousands of streams from one address: the per-client cap is lifted.
        "--streams-per-client",
        "1000000",
    ];
    let (server, url) = server::start(
        tools,
        Program::Demo,
        flags.iter().chain(&["--dist", "target/no-app"]),
        Some("tidings_server=warn"),
    )?;
    let address: SocketAddr = url
        .strip_prefix("http://")
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| format!("no address in {url:?}"))?;
    let pid = server.id();

    let mut open = Vec::with_capacity(streams + WARM_UP);
    for _ in 0..WARM_UP {
        open.push(open_stream(address, asset)?);
    }
    std::thread::sleep(Duration::from_millis(500));
    let before = crate::load::rss_kib(pid)?;
    let started = Instant::now();
    for _ in 0..streams {
        open.push(open_stream(address, asset)?);
    }
    let opened_in = started.elapsed();
    std::thread::sleep(Duration::from_millis(500));
    let after = crate::load::rss_kib(pid)?;
    let per_stream = (after.saturating_sub(before) as f64) / (streams as f64);

    let stopping = Instant::now();
    let exited = server.terminate_and_wait(Duration::from_secs(30))?;
    let shutdown_took = stopping.elapsed();
    let mut told = 0;
    for stream in open.iter_mut().take(SAMPLE) {
        let mut rest = String::new();
        stream.set_read_timeout(Some(Duration::from_secs(5))).map_err(|error| error.to_string())?;
        let _ = stream.read_to_string(&mut rest);
        if rest.contains("event: shutdown") {
            told += 1;
        }
    }

    let path = match (lean, asset) {
        (true, None) => "lean path for streams, a connection per stream",
        (true, Some(_)) => "lean path for streams, each after a request on its connection",
        (false, None) => "hyper for everything, a connection per stream",
        (false, Some(_)) => "hyper for everything, each after a request on its connection",
    };
    println!(
        "\nxtask: bench results, {path} (release build, loopback, {} cores)",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "  idle streams opened:        {streams} (after {WARM_UP} to warm up) in {opened_in:.2?}"
    );
    println!("  server RSS:                 {before} KiB before, {after} KiB after");
    println!(
        "  memory per idle stream:     {per_stream:.2} KiB (user space; socket buffers are the kernel's)"
    );
    println!("  shutdown with all open:     {shutdown_took:.2?} from SIGTERM to exit ({exited})");
    println!("  streams told `shutdown`:    {told} of a sample of {SAMPLE}");
    Ok(())
}

/// A stream of the ticker only, once its `hello` has arrived; after a `GET` of `asset` on the
/// same connection (read to its end) if given, as a browser sends its `EventSource` on a
/// connection kept alive from the page's other requests.
fn open_stream(address: SocketAddr, asset: Option<&str>) -> Result<TcpStream, String> {
    let mut stream = TcpStream::connect(address).map_err(|error| format!("connect: {error}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).map_err(|error| error.to_string())?;
    if let Some(asset) = asset {
        let request = format!("GET {asset} HTTP/1.1\r\nHost: bench\r\n\r\n");
        stream.write_all(request.as_bytes()).map_err(|error| format!("send: {error}"))?;
        read_answer(&mut stream)?;
    }
    stream
        .write_all(b"GET /api/events?topics=ticker HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n")
        .map_err(|error| format!("send: {error}"))?;
    let mut received = Vec::new();
    let mut buffer = [0_u8; 2048];
    while !received.windows(12).any(|window| window == b"event: hello") {
        let read = stream.read(&mut buffer).map_err(|error| format!("read: {error}"))?;
        if read == 0 {
            return Err("the server closed a stream before its hello".into());
        }
        received.extend_from_slice(&buffer[..read]);
    }
    Ok(stream)
}

/// Reads one answer with a `Content-Length` to its end (and not a byte more).
fn read_answer(stream: &mut TcpStream) -> Result<(), String> {
    let mut head = Vec::new();
    let mut byte = [0_u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let read = stream.read(&mut byte).map_err(|error| format!("read: {error}"))?;
        if read == 0 {
            return Err("the server closed the connection after the asset".into());
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|value| value.trim().parse().ok())
        .ok_or_else(|| format!("no content-length in {head:?}"))?;
    let mut body = vec![0_u8; length];
    stream.read_exact(&mut body).map_err(|error| format!("read: {error}"))?;
    Ok(())
}
