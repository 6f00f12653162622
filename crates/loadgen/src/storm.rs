//! `storm`: every client reconnects at once, `--behind` events behind the newest: the time until
//! each is live again (has the newest tick there was when the storm began), and the ticks each
//! missed or got twice on the way.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;

use crate::client::{self, Target};
use crate::stats::{self, Histogram};

pub(crate) struct Settings {
    pub(crate) target: Target,
    pub(crate) clients: usize,
    pub(crate) behind: usize,
    pub(crate) sources: usize,
    pub(crate) pids: Vec<u32>,
}

struct Shared {
    /// Time from the storm's start until each client was live, µs.
    live: Histogram,
    live_clients: AtomicUsize,
    gaps: AtomicU64,
    duplicates: AtomicU64,
    failed_connects: AtomicU64,
    events: AtomicU64,
}

pub(crate) async fn run(settings: Settings) -> Result<(), String> {
    let Settings { target, clients, behind, sources, pids } = settings;
    // A client records the ids of `behind + 1` ticks: the storm resumes after the first.
    let mut recorder = client::open(&target, client::source(0, 1), None).await?;
    let mut ticks = Vec::with_capacity(behind + 1);
    let recording = Instant::now();
    while ticks.len() <= behind {
        let Some(Ok(event)) = recorder.next().await else {
            return Err("the recording stream ended".into());
        };
        if let Some((seq, _)) = client::tick_of(&event) {
            ticks.push((event.id.clone(), seq));
        }
        if recording.elapsed() > Duration::from_secs(120) {
            return Err(format!("only {} ticks in 120 s", ticks.len()));
        }
    }
    drop(recorder);
    let (resume_id, resume_seq) = ticks[0].clone();
    let newest = ticks[behind].1;
    let shared = Arc::new(Shared {
        live: Histogram::new(),
        live_clients: AtomicUsize::new(0),
        gaps: AtomicU64::new(0),
        duplicates: AtomicU64::new(0),
        failed_connects: AtomicU64::new(0),
        events: AtomicU64::new(0),
    });
    let (cpu_before, own_before) = (stats::cpu_seconds(&pids), stats::own_cpu_seconds());
    let started = Instant::now();
    let deadline = started + Duration::from_secs(60);
    let mut tasks = Vec::with_capacity(clients);
    for index in 0..clients {
        let (target, resume_id, shared) = (target.clone(), resume_id.clone(), Arc::clone(&shared));
        tasks.push(tokio::spawn(async move {
            let from = client::source(index, sources);
            let mut events = loop {
                match client::open(&target, from, Some(&resume_id)).await {
                    Ok(events) => break events,
                    Err(_) if Instant::now() < deadline => {
                        shared.failed_connects.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    Err(_) => return,
                }
            };
            let mut previous = resume_seq;
            let mut counted = 0_u64;
            while let Ok(Some(Ok(event))) =
                tokio::time::timeout_at(deadline.into(), events.next()).await
            {
                let Some((seq, _)) = client::tick_of(&event) else { continue };
                counted += 1;
                if seq <= previous {
                    shared.duplicates.fetch_add(1, Ordering::Relaxed);
                } else {
                    shared.gaps.fetch_add(seq - previous - 1, Ordering::Relaxed);
                    previous = seq;
                }
                if seq >= newest {
                    let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
                    shared.live.record(micros);
                    shared.live_clients.fetch_add(1, Ordering::Relaxed);
                    break;
                }
            }
            shared.events.fetch_add(counted, Ordering::Relaxed);
        }));
    }
    for task in tasks {
        let _ = tokio::time::timeout_at((deadline + Duration::from_secs(1)).into(), task).await;
    }
    let (cpu_after, own_after) = (stats::cpu_seconds(&pids), stats::own_cpu_seconds());
    let live = shared.live_clients.load(Ordering::SeqCst);
    let all_live =
        if live == clients { format!("{:.2}", shared.live.max_ms() / 1e3) } else { "none".into() };
    println!(
        "RESULT storm clients={clients} behind={behind} live={live} all_live_s={all_live} \
         p50_live_s={:.2} gaps={} duplicates={} failed_connects={} events={} server_cpu_s={:.2} \
         loadgen_cpu_s={:.2}",
        shared.live.percentile_ms(0.5) / 1e3,
        shared.gaps.load(Ordering::SeqCst),
        shared.duplicates.load(Ordering::SeqCst),
        shared.failed_connects.load(Ordering::SeqCst),
        shared.events.load(Ordering::SeqCst),
        cpu_after - cpu_before,
        own_after - own_before,
    );
    Ok(())
}
