//! `cargo xtask bench --part peers`: tidings-server against the servers a user would otherwise
//! pick, each written as its users write it and sending the same ticker JSON
//! (`{"seq","value","at_ms"}`, `at_ms` the server's wall clock): plain axum (`Sse` over a
//! `tokio::sync::broadcast`, `bench/peers/axum`), better-sse on Node.js, sse-starlette on
//! Python (uvicorn), and nginx + nchan (fed by the load generator's `publish`). One
//! `tidings-loadgen` measures them all over loopback, from several source addresses in
//! 127.0.0.0/8; the servers are started one at a time and alternated in every round.
//!
//! Per round, for every server: bytes per idle stream at 10,000 streams (resident set, summed
//! over the server's processes, after 100 streams and after 10,000 more) and SIGTERM with them
//! open (time to exit, streams ended); bytes per idle stream again with each stream sent as a
//! browser sends it, after a `GET /favicon.ico` on its kept-alive connection; fan-out at 10,000 × 10/s and 5,000 × 100/s (lag p50/p99/
//! max from `at_ms`, the share of the window's ticks delivered, server CPU per delivery); at
//! 1,000 subscribers the highest rate sustained (every tick delivered, p99 < 100 ms) in steps;
//! a resume storm (10,000 clients at once, 1,000 ticks behind: time until all are live, gaps,
//! duplicates). Then a table with each figure and tidings' ratio to the best peer.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::cluster::Scratch;
use crate::load::IdleClient;
use crate::project;
use crate::run::Background;
use crate::tools::{self, Needs, Tools};

/// The servers measured, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Server {
    Tidings,
    /// Another build of tidings-server (`TIDINGS_PEERS_BASELINE=path`): before and after a
    /// change, in one run.
    Before,
    Axum,
    Nchan,
    BetterSse,
    SseStarlette,
    /// Not a peer: a yardstick (`bench/peers/floor`), the ticker written straight to every
    /// socket from a loop. Its CPU per delivery is this machine's floor, its lag the load
    /// generator's own share; measured in the fan-out workloads only.
    Floor,
}

const PEERS: [Server; 4] = [Server::Axum, Server::Nchan, Server::BetterSse, Server::SseStarlette];

/// The servers of this run: tidings, the baseline build if one is given, the peers.
fn servers() -> Vec<Server> {
    let mut servers = vec![Server::Tidings];
    if baseline().is_some() {
        servers.push(Server::Before);
    }
    servers.extend(PEERS);
    servers
}

/// The servers of a fan-out workload: those of the run, and the floor.
fn with_floor() -> Vec<Server> {
    servers().into_iter().chain([Server::Floor]).collect()
}

fn baseline() -> Option<PathBuf> {
    std::env::var_os("TIDINGS_PEERS_BASELINE").map(PathBuf::from)
}

impl Server {
    fn name(self) -> &'static str {
        match self {
            Self::Tidings => "tidings",
            Self::Before => "tidings-before",
            Self::Axum => "axum",
            Self::Nchan => "nchan",
            Self::BetterSse => "better-sse",
            Self::SseStarlette => "sse-starlette",
            Self::Floor => "floor",
        }
    }
}

/// How big the workloads are (`--quick` divides them for a trial run).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scale {
    pub(crate) rounds: usize,
    pub(crate) quick: bool,
}

impl Scale {
    fn n(self, full: usize) -> usize {
        if self.quick { full / 10 } else { full }
    }
}

/// One running server: its processes (the first is the one to stop) and its address.
struct Running {
    server: Server,
    processes: Vec<Background>,
    addr: SocketAddr,
    /// Kept until the server stops (nginx's files).
    _scratch: Option<Scratch>,
}

impl Running {
    /// The process ids whose CPU and memory are the server's (nginx: master and workers).
    fn pids(&self) -> Vec<u32> {
        let mut pids: Vec<u32> = self.processes.iter().map(Background::id).collect();
        let children: Vec<u32> = pids.iter().flat_map(|pid| children_of(*pid)).collect();
        pids.extend(children);
        pids
    }
}

/// The figures of every run, by measure and server, and what went wrong on the way.
#[derive(Default)]
struct Report {
    results: BTreeMap<(&'static str, Server), Vec<f64>>,
    notes: Vec<String>,
}

impl Report {
    fn push(&mut self, measure: &'static str, server: Server, value: f64) {
        self.results.entry((measure, server)).or_default().push(value);
    }

    fn runs(&self, measure: &'static str, server: Server) -> &[f64] {
        self.results.get(&(measure, server)).map_or(&[][..], Vec::as_slice)
    }
}

/// Paths and programs every run needs.
struct Kit {
    tools: Tools,
    release: PathBuf,
    python: PathBuf,
}

pub(crate) fn run(scale: Scale) -> Result<(), String> {
    let tools = tools::setup(Needs::Demo)?;
    tools::peer_servers()?;
    let release = crate::load::release_for_load(
        &tools,
        &["tidings-loadgen", "tidings-peer-axum", "tidings-peer-floor", "tidings-server"],
    )?;
    let kit =
        Kit { tools, release, python: project::local_tools_dir().join("peers").join("python") };
    let mut report = Report::default();
    let started = Instant::now();
    for round in 1..=scale.rounds {
        println!("\nxtask: peers, round {round} of {}", scale.rounds);
        for server in servers() {
            idle(&kit, server, scale, None, &mut report)?;
        }
        for server in servers() {
            idle(&kit, server, scale, Some("/favicon.ico"), &mut report)?;
        }
        for (subscribers, rate, label) in
            [(scale.n(10_000), 10.0, "10k×10/s"), (scale.n(5_000), 100.0, "5k×100/s")]
        {
            for server in with_floor() {
                let running = start(&kit, server, rate)?;
                let fields = loadgen(&kit, &running, "fanout", subscribers, 10)?;
                let connected = number(&fields, "connected").unwrap_or(0.0);
                if connected < subscribers as f64 {
                    report.notes.push(format!(
                        "{}, {label}: {connected} of {subscribers} subscribers connected",
                        server.name()
                    ));
                }
                record_fanout(&mut report, label, server, &fields);
                stop(running);
            }
        }
        for server in with_floor() {
            highest_rate(&kit, server, scale, &mut report)?;
        }
        for server in servers() {
            let running = start(&kit, server, 100.0)?;
            let fields = loadgen(&kit, &running, "storm", scale.n(10_000), 0)?;
            let lost = number(&fields, "gaps").unwrap_or(f64::NAN)
                + number(&fields, "duplicates").unwrap_or(f64::NAN);
            for key in ["all_live_s", "gaps", "duplicates"] {
                let mut value = number(&fields, key).unwrap_or(f64::NAN);
                // Live without the ticks in between is not resuming: no time to compare.
                if key == "all_live_s" && lost != 0.0 {
                    value = f64::NAN;
                }
                report.push(storm_key(key), server, value);
            }
            stop(running);
        }
    }
    print_table(&report, scale, started);
    for note in &report.notes {
        println!("  note: {note}");
    }
    Ok(())
}

fn storm_key(key: &str) -> &'static str {
    match key {
        "all_live_s" => "storm: all live (s)",
        "gaps" => "storm: ticks missed",
        _ => "storm: ticks twice",
    }
}

/// Memory per idle stream, then SIGTERM with every stream open; or, with `asset`, memory per
/// idle stream sent as a browser sends it: after a `GET` of `asset` (a 404 for most servers,
/// kept alive all the same) on the same connection.
fn idle(
    kit: &Kit,
    server: Server,
    scale: Scale,
    asset: Option<&str>,
    report: &mut Report,
) -> Result<(), String> {
    let streams = scale.n(10_000);
    // One tick in 1,000 s: the streams stay idle.
    let mut running = start(kit, server, 0.001)?;
    let how: Vec<String> =
        asset.iter().flat_map(|asset| ["--asset".into(), (*asset).into()]).collect();
    let loadgen = kit.release.join("tidings-loadgen");
    let mut client = IdleClient::start(&loadgen, &running.addr.to_string(), &how, streams)?;
    let (per_stream, opened_count) = client.open(|| total_rss_kib(&running.pids()))?;
    let measure = match asset {
        None => "idle: bytes per stream",
        Some(_) => "idle: bytes per stream after a request",
    };
    report.push(measure, server, per_stream);
    if opened_count < streams {
        report.notes.push(format!(
            "{}: {opened_count} of {streams} idle streams opened ({measure})",
            server.name()
        ));
    }
    if asset.is_some() {
        drop(client);
        stop(running);
        return Ok(());
    }
    // SIGTERM with every stream open: until every process of the server is gone.
    let main = running.processes.remove(0);
    let stopping = Instant::now();
    let exited = main.terminate_and_wait(Duration::from_secs(20));
    let took = stopping.elapsed().as_secs_f64();
    if let Err(error) = &exited {
        report.notes.push(format!("{}: {error}; killed", server.name()));
    }
    report.push(
        "sigterm: seconds to exit",
        server,
        if exited.is_ok() { took } else { f64::INFINITY },
    );
    let result = client.count()?;
    let ended = number(&fields_of(&result), "ended").unwrap_or(f64::NAN);
    report.push("sigterm: streams ended", server, ended / (streams + 100) as f64);
    stop(running);
    Ok(())
}

/// The rates tried at 1,000 subscribers, in order.
const RATES: [f64; 13] = [
    100.0, 200.0, 400.0, 700.0, 1_000.0, 1_500.0, 2_000.0, 3_000.0, 5_000.0, 7_000.0, 10_000.0,
    15_000.0, 20_000.0,
];

/// At 1,000 subscribers: the highest rate with every tick delivered and p99 under 100 ms,
/// stepping up until a rate fails.
fn highest_rate(
    kit: &Kit,
    server: Server,
    scale: Scale,
    report: &mut Report,
) -> Result<(), String> {
    let mut best = 0.0;
    let mut best_cpu = f64::NAN;
    for rate in RATES {
        let running = start(kit, server, rate)?;
        let fields = loadgen(kit, &running, "fanout", scale.n(1_000), 5)?;
        stop(running);
        let share = number(&fields, "share").unwrap_or(0.0);
        let p99 = number(&fields, "p99_ms").unwrap_or(f64::INFINITY);
        if share < 0.9999 || p99 >= 100.0 {
            report.notes.push(format!(
                "{}: {rate}/s to 1,000 failed (share {share:.4}, p99 {p99:.1} ms, loadgen CPU {} s)",
                server.name(),
                number(&fields, "loadgen_cpu_s").unwrap_or(f64::NAN)
            ));
            break;
        }
        best = rate;
        best_cpu = number(&fields, "cpu_us_per_delivery").unwrap_or(f64::NAN);
    }
    report.push("1k subscribers: highest rate/s", server, best);
    report.push("1k subscribers: CPU µs/delivery there", server, best_cpu);
    Ok(())
}

fn record_fanout(
    report: &mut Report,
    label: &str,
    server: Server,
    fields: &BTreeMap<String, String>,
) {
    let keys: [(&str, &'static str, &'static str); 4] = [
        ("p50_ms", "10k×10/s: p50 ms", "5k×100/s: p50 ms"),
        ("p99_ms", "10k×10/s: p99 ms", "5k×100/s: p99 ms"),
        ("share", "10k×10/s: share delivered", "5k×100/s: share delivered"),
        ("cpu_us_per_delivery", "10k×10/s: CPU µs/delivery", "5k×100/s: CPU µs/delivery"),
    ];
    for (key, ten, five) in keys {
        let name = if label.starts_with("10k") { ten } else { five };
        report.push(name, server, number(fields, key).unwrap_or(f64::NAN));
    }
}

/// Runs the load generator's `workload` against `running`: its `RESULT` fields.
fn loadgen(
    kit: &Kit,
    running: &Running,
    workload: &str,
    clients: usize,
    seconds: u64,
) -> Result<BTreeMap<String, String>, String> {
    let mut command = Command::new(kit.release.join("tidings-loadgen"));
    command.args([workload, "--target", &running.addr.to_string()]);
    match workload {
        "fanout" => {
            command.args(["--subscribers", &clients.to_string(), "--seconds", &seconds.to_string()])
        }
        _ => command.args(["--clients", &clients.to_string()]),
    };
    for pid in running.pids() {
        command.args(["--pid", &pid.to_string()]);
    }
    // The `RESULT` line, without that word; a run that failed has no figures (the table
    // shows `-`), and the benchmark goes on with the next.
    let line = crate::run::output_lines(&mut command).unwrap_or_else(|error| {
        eprintln!("xtask: {}: {error}", running.server.name());
        String::new()
    });
    println!("xtask: {} {line}", running.server.name());
    Ok(fields_of(&line))
}

fn fields_of(line: &str) -> BTreeMap<String, String> {
    line.split_whitespace()
        .filter_map(|field| field.split_once('='))
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect()
}

fn number(fields: &BTreeMap<String, String>, key: &str) -> Option<f64> {
    fields.get(key)?.parse().ok()
}

/// Starts `server` ticking `rate` times a second and waits until its port answers.
fn start(kit: &Kit, server: Server, rate: f64) -> Result<Running, String> {
    let rate_text = rate.to_string();
    let flags =
        ["--addr", "127.0.0.1:0", "--dist", "target/no-app", "--ticks-per-second", &rate_text];
    if matches!(server, Server::Tidings | Server::Before) {
        let (process, url) = match baseline() {
            Some(binary) if server == Server::Before => {
                let mut command = Command::new(&binary);
                command.args(flags).env("RUST_LOG", "error");
                // A build from after the per-client cap gets it lifted as this one does.
                let help = Command::new(&binary).arg("--help").output();
                if help.is_ok_and(|help| {
                    String::from_utf8_lossy(&help.stdout).contains("--streams-per-client")
                }) {
                    command.args(["--streams-per-client", "1000000"]);
                }
                let (process, line) =
                    Background::start(&mut command, "listening on", Duration::from_secs(30))?;
                (process, line.rsplit(' ').next().unwrap_or_default().to_owned())
            }
            // Thousands of streams from 8 addresses: the per-client cap is lifted.
            _ => crate::server::start(
                &kit.tools,
                crate::server::Program::Demo,
                flags.iter().chain(&["--streams-per-client", "1000000"]),
                Some("error"),
            )?,
        };
        let addr = url
            .trim_start_matches("http://")
            .parse()
            .map_err(|_| format!("no address in {url}"))?;
        return Ok(Running { server, processes: vec![process], addr, _scratch: None });
    }
    let port = tidings_testkit::free_port()?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let peers = project::root().join("bench").join("peers");
    let (processes, scratch) = match server {
        Server::Tidings | Server::Before => unreachable!("started above"),
        Server::Axum | Server::Floor => {
            let program =
                if server == Server::Axum { "tidings-peer-axum" } else { "tidings-peer-floor" };
            let mut command = Command::new(kit.release.join(program));
            command.env("PORT", port.to_string()).env("RATE", &rate_text).stdout(Stdio::null());
            (vec![Background::spawn(&mut command)?], None)
        }
        Server::BetterSse => {
            let mut command = Command::new("node");
            command
                .arg("server.js")
                .current_dir(peers.join("better-sse"))
                .env("PORT", port.to_string())
                .env("RATE", &rate_text)
                .stdout(Stdio::null());
            (vec![Background::spawn(&mut command)?], None)
        }
        Server::SseStarlette => {
            let mut command = Command::new("python3");
            command
                .arg("server.py")
                .current_dir(peers.join("sse-starlette"))
                .env("PYTHONPATH", &kit.python)
                .env("PORT", port.to_string())
                .env("RATE", &rate_text)
                .stdout(Stdio::null());
            (vec![Background::spawn(&mut command)?], None)
        }
        Server::Nchan => {
            let scratch = Scratch::new(&format!("tidings-peers-nchan-{port}"))?;
            let template = std::fs::read_to_string(peers.join("nchan").join("nginx.conf.template"))
                .map_err(|error| format!("cannot read the nchan configuration: {error}"))?;
            let prefix = scratch.0.display().to_string();
            let config = scratch.0.join("nginx.conf");
            std::fs::write(
                &config,
                template.replace("@PORT@", &port.to_string()).replace("@PREFIX@", &prefix),
            )
            .map_err(|error| format!("cannot write {}: {error}", config.display()))?;
            let mut nginx = Command::new(tools::NGINX);
            nginx
                .arg("-e")
                .arg(scratch.0.join("error.log"))
                .arg("-c")
                .arg(&config)
                .arg("-p")
                .arg(&scratch.0);
            let nginx = Background::spawn(&mut nginx)?;
            tidings_testkit::wait_for_port(addr, Duration::from_secs(30))?;
            let mut publisher = Command::new(kit.release.join("tidings-loadgen"));
            publisher
                .args(["publish", "--target", &addr.to_string(), "--rate", &rate_text])
                .stdout(Stdio::null());
            (vec![nginx, Background::spawn(&mut publisher)?], Some(scratch))
        }
    };
    tidings_testkit::wait_for_port(addr, Duration::from_secs(30))?;
    Ok(Running { server, processes, addr, _scratch: scratch })
}

/// Stops every process of a server (SIGTERM, then SIGKILL after 5 s).
fn stop(running: Running) {
    let Running { processes, .. } = running;
    for process in processes.into_iter().rev() {
        process.stop();
    }
}

/// The children of `pid` (nginx's workers).
fn children_of(pid: u32) -> Vec<u32> {
    let path = format!("/proc/{pid}/task/{pid}/children");
    std::fs::read_to_string(path)
        .map(|text| text.split_whitespace().filter_map(|n| n.parse().ok()).collect())
        .unwrap_or_default()
}

/// The resident set of `pids` together, KiB (a process gone counts 0).
fn total_rss_kib(pids: &[u32]) -> u64 {
    pids.iter().filter_map(|pid| crate::load::rss_kib(*pid).ok()).sum()
}

/// Lower is better for every figure but these.
fn higher_is_better(name: &str) -> bool {
    name.contains("share") || name.contains("highest rate") || name.contains("streams ended")
}

fn print_table(report: &Report, scale: Scale, started: Instant) {
    let machine = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "\nxtask: peers benchmark ({} round(s){}, release, loopback, {machine} cores, {:.0} s); \
         each cell: the runs, in order; ratio: tidings' median ÷ the best peer's median (of two runs, their mean); \
         × floor: tidings' ÷ the floor's (a loop of writes, not a peer)",
        scale.rounds,
        if scale.quick { ", quick: a tenth of the clients" } else { "" },
        started.elapsed().as_secs_f64()
    );
    let names: Vec<&str> = {
        let mut names: Vec<&str> = report.results.keys().map(|(name, _)| *name).collect();
        names.dedup();
        names
    };
    print!("  {:<40}", "measure");
    for server in with_floor() {
        print!(" {:>16}", server.name());
    }
    println!(" {:>8} {:>14} {:>8}", "ratio", "best peer", "× floor");
    for name in names {
        print!("  {name:<40}");
        let mut best: Option<(Server, f64)> = None;
        for server in with_floor() {
            let runs = report.runs(name, server);
            let cell: Vec<String> = runs.iter().map(|value| short(*value)).collect();
            print!(" {:>16}", cell.join("/"));
            let value = median(runs);
            if PEERS.contains(&server) && value.is_finite() {
                let better = match best {
                    None => true,
                    Some((_, current)) if higher_is_better(name) => value > current,
                    Some((_, current)) => value < current,
                };
                if better {
                    best = Some((server, value));
                }
            }
        }
        let ours = median(report.runs(name, Server::Tidings));
        match best {
            Some((server, value)) if value != 0.0 => {
                print!(" {:>8.2} {:>14}", ours / value, server.name());
            }
            Some((server, _)) => print!(" {:>8} {:>14}", "-", server.name()),
            None => print!(" {:>8} {:>14}", "", ""),
        }
        let floor = median(report.runs(name, Server::Floor));
        if floor.is_finite() && floor != 0.0 {
            println!(" {:>8.2}", ours / floor);
        } else {
            println!();
        }
    }
}

fn short(value: f64) -> String {
    if !value.is_finite() {
        "-".to_owned()
    } else if value.abs() >= 100.0 {
        format!("{value:.0}")
    } else if value.abs() >= 1.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.3}")
    }
}

fn median(values: &[f64]) -> f64 {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|value| !value.is_nan()).collect();
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    if sorted.len().is_multiple_of(2) {
        f64::midpoint(sorted[middle - 1], sorted[middle])
    } else {
        sorted[middle]
    }
}
