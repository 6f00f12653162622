//! `fanout`: subscribers to the ticker; for the ticks made during the window (by their `at_ms`),
//! the lag to their arrival, the share of them every subscriber received, and the servers' CPU
//! per delivery.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;

use crate::client::{self, Target};
use crate::stats::{self, Histogram};

pub(crate) struct Settings {
    pub(crate) targets: Vec<Target>,
    pub(crate) subscribers: usize,
    pub(crate) seconds: u64,
    pub(crate) sources: usize,
    pub(crate) pids: Vec<u32>,
}

/// Ticks with `at_ms` in the window that a subscriber received, and the seqs seen.
struct Shared {
    connected: AtomicUsize,
    failed: AtomicUsize,
    /// The window, in ms since the epoch (0 before it is set).
    from_ms: AtomicU64,
    until_ms: AtomicU64,
    lags: Histogram,
    first_seq: AtomicU64,
    last_seq: AtomicU64,
    out_of_order: AtomicU64,
}

pub(crate) async fn run(settings: Settings) -> Result<(), String> {
    let Settings { targets, subscribers, seconds, sources, pids } = settings;
    let shared = Arc::new(Shared {
        connected: AtomicUsize::new(0),
        failed: AtomicUsize::new(0),
        from_ms: AtomicU64::new(0),
        until_ms: AtomicU64::new(u64::MAX),
        lags: Histogram::new(),
        first_seq: AtomicU64::new(u64::MAX),
        last_seq: AtomicU64::new(0),
        out_of_order: AtomicU64::new(0),
    });
    let opening = Arc::new(tokio::sync::Semaphore::new(512));
    let mut tasks = Vec::with_capacity(subscribers);
    for index in 0..subscribers {
        let target = targets[index % targets.len()].clone();
        let (shared, opening) = (Arc::clone(&shared), Arc::clone(&opening));
        tasks.push(tokio::spawn(async move {
            let permit = opening.acquire_owned().await;
            let Ok(mut events) = client::open(&target, client::source(index, sources), None).await
            else {
                shared.failed.fetch_add(1, Ordering::SeqCst);
                return;
            };
            drop(permit);
            shared.connected.fetch_add(1, Ordering::SeqCst);
            subscriber(&shared, &mut events).await;
        }));
    }
    let started = Instant::now();
    loop {
        let (connected, failed) =
            (shared.connected.load(Ordering::SeqCst), shared.failed.load(Ordering::SeqCst));
        if connected + failed >= subscribers {
            break;
        }
        // A server that cannot take them all in a minute is measured with those it took.
        if started.elapsed() > Duration::from_secs(60) {
            eprintln!("only {connected} of {subscribers} connected in 60 s; measuring those");
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let connect_s = started.elapsed().as_secs_f64();
    // Let the last connections settle before the window.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (cpu_before, own_before) = (stats::cpu_seconds(&pids), stats::own_cpu_seconds());
    let from = stats::now_us() / 1_000 + 1;
    let until = from + seconds * 1_000;
    shared.from_ms.store(from, Ordering::SeqCst);
    shared.until_ms.store(until, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(until.saturating_sub(stats::now_us() / 1_000))).await;
    let (cpu_after, own_after) = (stats::cpu_seconds(&pids), stats::own_cpu_seconds());
    // Late ticks of the window still count for 3 s (a subscriber ends at its first tick after
    // the window).
    let grace = Instant::now() + Duration::from_secs(3);
    for task in tasks {
        // Still waiting for a tick of the window at the end of the grace: what did not come
        // is not delivered.
        let _ = tokio::time::timeout_at(grace.into(), task).await;
    }
    let deliveries = shared.lags.count();
    let (first, last) =
        (shared.first_seq.load(Ordering::SeqCst), shared.last_seq.load(Ordering::SeqCst));
    let made = if last >= first { last - first + 1 } else { 0 };
    let connected = shared.connected.load(Ordering::SeqCst);
    // No tick in the window at all is nothing delivered.
    let share = if made == 0 { 0.0 } else { deliveries as f64 / (made as f64 * connected as f64) };
    let per_second = deliveries as f64 / seconds as f64;
    let cpu = cpu_after - cpu_before;
    // Per delivery: none delivered has no figure.
    let cpu_us = if deliveries == 0 { f64::NAN } else { cpu * 1e6 / deliveries as f64 };
    println!(
        "RESULT fanout subscribers={subscribers} connected={connected} connect_s={connect_s:.2} \
         ticks={made} deliveries={deliveries} deliveries_per_s={per_second:.0} share={share:.4} \
         p50_ms={:.1} p99_ms={:.1} max_ms={:.1} out_of_order={} server_cpu_s={cpu:.2} \
         cpu_us_per_delivery={cpu_us:.3} loadgen_cpu_s={:.2}",
        shared.lags.percentile_ms(0.5),
        shared.lags.percentile_ms(0.99),
        shared.lags.max_ms(),
        shared.out_of_order.load(Ordering::SeqCst),
        own_after - own_before,
    );
    Ok(())
}

/// Reads one stream until its first tick made after the window.
async fn subscriber(shared: &Shared, events: &mut client::Events) {
    let (mut first, mut last) = (u64::MAX, 0_u64);
    let mut previous = None;
    while let Some(Ok(event)) = events.next().await {
        let Some((seq, at_ms)) = client::tick_of(&event) else { continue };
        let arrived = stats::now_us();
        let from = shared.from_ms.load(Ordering::Relaxed);
        if from == 0 || at_ms < from {
            previous = Some(seq);
            continue;
        }
        if at_ms >= shared.until_ms.load(Ordering::Relaxed) {
            break;
        }
        if previous.is_some_and(|previous| seq <= previous) {
            shared.out_of_order.fetch_add(1, Ordering::Relaxed);
        }
        previous = Some(seq);
        shared.lags.record(arrived.saturating_sub(at_ms * 1_000));
        (first, last) = (first.min(seq), last.max(seq));
    }
    if last > 0 {
        shared.first_seq.fetch_min(first, Ordering::SeqCst);
        shared.last_seq.fetch_max(last, Ordering::SeqCst);
    }
}
