//! `flood`: a hostile client's presence flood against the demo's server. `--streams` streams with
//! display names of 40 characters (37 emoji), from `--sources` addresses (127.0.0.2 up), then one
//! closed and another opened every 50 ms for `--seconds`, then all closed. An ordinary client on
//! the default topics (from 127.0.0.1) counts the `presence` events it gets during the churn and
//! their bytes; the server's resident memory (`--pid`) is read before the flood, at its peak, and
//! 10 s and 60 s after the flood's streams are gone.
//!
//! Prints `RESULT flood …`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::client::{self, Target};

/// What the run is told.
pub(crate) struct Settings {
    pub(crate) target: std::net::SocketAddr,
    pub(crate) streams: usize,
    pub(crate) seconds: u64,
    pub(crate) sources: usize,
    pub(crate) pid: u32,
}

pub(crate) async fn run(settings: Settings) -> Result<(), String> {
    let Settings { target, streams, seconds, sources, pid } = settings;
    let baseline = rss_mib(pid);
    let ordinary = Target {
        addr: target,
        path: "/api/events?name=Ordinary".into(),
        transport: client::Transport::Plain,
        asset: None,
    };
    let mut events = client::open(&ordinary, client::source(0, 1), None).await?;
    let (counting, counted) = watch::channel(false);
    // Presence events during the churn: how many, their bytes, the largest.
    let seen = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0), AtomicUsize::new(0)]);
    let seen_here = Arc::clone(&seen);
    let watcher = tokio::spawn(async move {
        while let Some(Ok(event)) = events.next().await {
            if event.event == "presence" && *counted.borrow() {
                seen_here[0].fetch_add(1, Ordering::Relaxed);
                seen_here[1].fetch_add(event.data.len(), Ordering::Relaxed);
                seen_here[2].fetch_max(event.data.len(), Ordering::Relaxed);
            }
        }
    });
    let mut flood = Vec::with_capacity(streams);
    for index in 0..streams {
        flood.push(open_named(target, index, sources).await?);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let _ = counting.send(true);
    let started = Instant::now();
    let mut peak = rss_mib(pid);
    let mut next = streams;
    while started.elapsed() < Duration::from_secs(seconds) {
        flood.remove(0).abort();
        flood.push(open_named(target, next, sources).await?);
        next += 1;
        peak = peak.max(rss_mib(pid));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let churn = started.elapsed().as_secs_f64();
    let _ = counting.send(false);
    flood.iter().for_each(JoinHandle::abort);
    drop(flood);
    tokio::time::sleep(Duration::from_secs(10)).await;
    let after_10 = rss_mib(pid);
    tokio::time::sleep(Duration::from_secs(50)).await;
    let after_60 = rss_mib(pid);
    watcher.abort();
    let [count, bytes, largest] = seen.as_ref().each_ref().map(|n| n.load(Ordering::Relaxed));
    println!(
        "RESULT flood streams={streams} churn_s={churn:.1} rss_before_mib={baseline:.1} \
         rss_peak_mib={peak:.1} rss_10s_after_mib={after_10:.1} rss_60s_after_mib={after_60:.1} \
         presence_events={count} presence_kib_per_s={:.1} largest_presence_bytes={largest}",
        bytes as f64 / 1024.0 / churn
    );
    Ok(())
}

/// Stream `index`: its own 40-character name, from a source address past 127.0.0.1, read
/// until aborted.
async fn open_named(
    target: std::net::SocketAddr,
    index: usize,
    sources: usize,
) -> Result<JoinHandle<()>, String> {
    let name: String = format!("{:03}{}", index % 1000, "\u{1F600}".repeat(37))
        .bytes()
        .map(|byte| format!("%{byte:02X}"))
        .collect();
    let target = Target {
        addr: target,
        path: format!("/api/events?topics=ticker&name={name}"),
        transport: client::Transport::Plain,
        asset: None,
    };
    let from = client::source(1 + index % sources, 250);
    let mut events = client::open(&target, from, None).await?;
    Ok(tokio::spawn(async move { while let Some(Ok(_)) = events.next().await {} }))
}

/// The resident memory of `pid`, in MiB (0 when unreadable).
fn rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse::<f64>().ok()
        })
        .map_or(0.0, |kib| kib / 1024.0)
}
