//! `tidings-loadgen`: many Server-Sent Events clients over loopback, for `cargo xtask bench`.
//! Measurements, printed as one `RESULT key=value …` line; never assertions.
//!
//! - `fanout`: subscribers to the demo's `ticker` spread over one or more servers; the lag of
//!   each tick from the server's `at_ms` to its arrival here (milliseconds, one clock: loopback),
//!   p50/p99/max, and deliveries per second over the measured window.
//! - `storm`: clients on one server, which is then killed (`kill -9 PID`); every client
//!   reconnects to the other server with its last id. The time until every client has its
//!   stream open again and has received an event after the kill, and the gaps and duplicates in
//!   each client's tick numbers.
//!
//! Each client is a hyper HTTP/1.1 connection; events are parsed by eventsource-stream.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use clap::Parser;
use eventsource_stream::Eventsource;
use futures::StreamExt;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use tokio::sync::Mutex;

#[derive(Parser)]
enum Command {
    /// Subscribers spread evenly over `--target`s (`host:port`, repeat the flag).
    Fanout {
        #[arg(long, required = true)]
        target: Vec<String>,
        /// Subscribers in all.
        #[arg(long, default_value_t = 5_000)]
        subscribers: usize,
        /// The measured window, after every subscriber is connected.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// Clients on `--from`, which is killed; they resume on `--to`.
    Storm {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        /// The process id of the server at `--from`.
        #[arg(long)]
        pid: u32,
        #[arg(long, default_value_t = 2_000)]
        clients: usize,
    },
}

fn now_ms() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |since| since.as_secs_f64() * 1e3)
}

/// Opens `GET /api/events?topics=ticker` on `target`, with `last_id` as `Last-Event-ID`.
async fn open(
    target: &str,
    last_id: Option<&str>,
) -> Result<impl futures::Stream<Item = eventsource_stream::Event> + Unpin + use<>, String> {
    let stream = tokio::net::TcpStream::connect(target).await.map_err(|error| error.to_string())?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|error| error.to_string())?;
    tokio::spawn(connection);
    let mut request = hyper::Request::get("/api/events?topics=ticker")
        .header("host", target)
        .header("accept", "text/event-stream");
    if let Some(id) = last_id {
        request = request.header("last-event-id", id);
    }
    let request = request.body(Empty::<Bytes>::new()).map_err(|error| error.to_string())?;
    let response = sender.send_request(request).await.map_err(|error| error.to_string())?;
    if response.status() != 200 {
        return Err(format!("status {}", response.status()));
    }
    let frames = response.into_body().into_data_stream();
    Ok(Box::pin(frames.eventsource().filter_map(|event| async move { event.ok() })))
}

fn tick_of(event: &eventsource_stream::Event) -> Option<(u64, f64)> {
    if event.event != "message" {
        return None;
    }
    let tick: serde_json::Value = serde_json::from_str(&event.data).ok()?;
    Some((tick["seq"].as_u64()?, tick["at_ms"].as_f64()?))
}

fn percentile(sorted: &[f64], fraction: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
    let index = ((sorted.len() - 1) as f64 * fraction).round() as usize;
    sorted[index]
}

async fn fanout(targets: Vec<String>, subscribers: usize, seconds: u64) -> Result<(), String> {
    let connected = Arc::new(AtomicUsize::new(0));
    let measuring = Arc::new(AtomicU64::new(0)); // the window's start and end, in ms
    let until = Arc::new(AtomicU64::new(u64::MAX));
    let lags = Arc::new(Mutex::new(Vec::<f64>::with_capacity(subscribers * 10 * seconds as usize)));
    let mut tasks = Vec::new();
    for index in 0..subscribers {
        let target = targets[index % targets.len()].clone();
        let (connected, measuring, until, lags) =
            (Arc::clone(&connected), Arc::clone(&measuring), Arc::clone(&until), Arc::clone(&lags));
        tasks.push(tokio::spawn(async move {
            let mut events = open(&target, None).await?;
            connected.fetch_add(1, Ordering::SeqCst);
            let mut mine = Vec::new();
            while let Some(event) = events.next().await {
                let arrived = now_ms();
                #[allow(clippy::cast_precision_loss)]
                if arrived > until.load(Ordering::SeqCst) as f64 {
                    break;
                }
                #[allow(clippy::cast_precision_loss)]
                let start = measuring.load(Ordering::SeqCst) as f64;
                if let Some((_, at_ms)) = tick_of(&event)
                    && start > 0.0
                    && at_ms >= start
                {
                    mine.push(arrived - at_ms);
                }
            }
            lags.lock().await.extend(mine);
            Ok::<(), String>(())
        }));
    }
    let started = Instant::now();
    while connected.load(Ordering::SeqCst) < subscribers {
        if started.elapsed() > Duration::from_secs(60) {
            return Err(format!(
                "only {} of {subscribers} connected",
                connected.load(Ordering::SeqCst)
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let connect_s = started.elapsed().as_secs_f64();
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let start = now_ms() as u64;
    measuring.store(start, Ordering::SeqCst);
    until.store(start + seconds * 1_000, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(seconds) + Duration::from_millis(500)).await;
    // Streams stay open: every task ends at its next event after the window.
    for task in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    }
    let mut lags = std::mem::take(&mut *lags.lock().await);
    lags.sort_by(f64::total_cmp);
    #[allow(clippy::cast_precision_loss)]
    let per_second = lags.len() as f64 / seconds as f64;
    println!(
        "RESULT fanout subscribers={subscribers} targets={} connect_s={connect_s:.2} deliveries={} deliveries_per_s={per_second:.0} p50_ms={:.1} p99_ms={:.1} max_ms={:.1}",
        targets.len(),
        lags.len(),
        percentile(&lags, 0.5),
        percentile(&lags, 0.99),
        lags.last().copied().unwrap_or(f64::NAN),
    );
    Ok(())
}

/// What one storm client saw.
#[derive(Default)]
struct Seen {
    seqs: Vec<u64>,
    last_id: Option<String>,
}

async fn storm(from: String, to: String, pid: u32, clients: usize) -> Result<(), String> {
    let ready = Arc::new(AtomicUsize::new(0));
    let resumed = Arc::new(AtomicUsize::new(0));
    let killed_at = Arc::new(Mutex::new(None::<Instant>));
    let last_resumed = Arc::new(Mutex::new(None::<Instant>));
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (from, to) = (from.clone(), to.clone());
        let (ready, resumed, last_resumed) =
            (Arc::clone(&ready), Arc::clone(&resumed), Arc::clone(&last_resumed));
        tasks.push(tokio::spawn(async move {
            let mut seen = Seen::default();
            let mut events = open(&from, None).await?;
            let mut counted = false;
            while let Some(event) = events.next().await {
                if !event.id.is_empty() {
                    seen.last_id = Some(event.id.clone());
                }
                if let Some((seq, _)) = tick_of(&event) {
                    seen.seqs.push(seq);
                    if !counted {
                        counted = true;
                        ready.fetch_add(1, Ordering::SeqCst);
                    }
                }
            }
            // The server is gone: resume on the other, as a load balancer would send it.
            let before = seen.seqs.len();
            let mut events = loop {
                match open(&to, seen.last_id.as_deref()).await {
                    Ok(events) => break events,
                    Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            };
            while let Some(event) = events.next().await {
                if !event.id.is_empty() {
                    seen.last_id = Some(event.id.clone());
                }
                if let Some((seq, _)) = tick_of(&event) {
                    seen.seqs.push(seq);
                    if seen.seqs.len() == before + 1 {
                        resumed.fetch_add(1, Ordering::SeqCst);
                        *last_resumed.lock().await = Some(Instant::now());
                    }
                    if seen.seqs.len() >= before + 20 {
                        break;
                    }
                }
            }
            Ok::<Seen, String>(seen)
        }));
    }
    let started = Instant::now();
    while ready.load(Ordering::SeqCst) < clients {
        if started.elapsed() > Duration::from_secs(60) {
            return Err(format!("only {} of {clients} got a tick", ready.load(Ordering::SeqCst)));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let kill = std::process::Command::new("kill").args(["-9", &pid.to_string()]).status();
    if !kill.is_ok_and(|status| status.success()) {
        return Err(format!("cannot kill {pid}"));
    }
    let killed = Instant::now();
    *killed_at.lock().await = Some(killed);
    while resumed.load(Ordering::SeqCst) < clients {
        if killed.elapsed() > Duration::from_secs(60) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let all_resumed = last_resumed.lock().await.map(|at| at.duration_since(killed).as_secs_f64());
    let (mut gaps, mut duplicates) = (0_u64, 0_u64);
    for task in tasks {
        let Ok(Ok(Ok(seen))) = tokio::time::timeout(Duration::from_secs(30), task).await else {
            continue;
        };
        for pair in seen.seqs.windows(2) {
            if pair[1] <= pair[0] {
                duplicates += 1;
            } else {
                gaps += pair[1] - pair[0] - 1;
            }
        }
    }
    println!(
        "RESULT storm clients={clients} resumed={} all_resumed_s={} gaps={gaps} duplicates={duplicates}",
        resumed.load(Ordering::SeqCst),
        all_resumed.map_or("none".to_owned(), |seconds| format!("{seconds:.2}")),
    );
    Ok(())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let outcome = match Command::parse() {
        Command::Fanout { target, subscribers, seconds } => {
            fanout(target, subscribers, seconds).await
        }
        Command::Storm { from, to, pid, clients } => storm(from, to, pid, clients).await,
    };
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
