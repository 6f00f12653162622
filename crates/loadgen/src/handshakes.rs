//! `handshakes`: new TLS connections as fast as `--concurrency` clients make them for
//! `--seconds`, each a full handshake (no session resumption, as a new visitor's), closed once
//! it is done. Handshakes per second, each one's time (p50/p99/max, as the client saw it), and
//! the server's CPU per handshake (`--pid`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;

use crate::client;
use crate::stats::{self, Histogram};

pub(crate) struct Settings {
    pub(crate) target: std::net::SocketAddr,
    pub(crate) tls: tokio_rustls::TlsConnector,
    pub(crate) concurrency: usize,
    pub(crate) seconds: u64,
    pub(crate) sources: usize,
    pub(crate) pids: Vec<u32>,
}

pub(crate) async fn run(settings: Settings) -> Result<(), String> {
    let Settings { target, tls, concurrency, seconds, sources, pids } = settings;
    let times = Arc::new(Histogram::new());
    let failed = Arc::new(AtomicU64::new(0));
    let (cpu_before, own_before) = (stats::cpu_seconds(&pids), stats::own_cpu_seconds());
    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let mut workers = Vec::with_capacity(concurrency);
    for worker in 0..concurrency {
        let (tls, times, failed) = (tls.clone(), Arc::clone(&times), Arc::clone(&failed));
        workers.push(tokio::spawn(async move {
            let from = client::source(worker, sources);
            while Instant::now() < until {
                let began = Instant::now();
                match client::connect_tls(&tls, from, target).await {
                    Ok(mut stream) => {
                        let took = u64::try_from(began.elapsed().as_micros()).unwrap_or(u64::MAX);
                        times.record(took);
                        let _ = stream.shutdown().await;
                    }
                    Err(_) => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for worker in workers {
        let _ = worker.await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let (cpu_after, own_after) = (stats::cpu_seconds(&pids), stats::own_cpu_seconds());
    let done = times.count();
    let cpu = cpu_after - cpu_before;
    let cpu_us = if done == 0 { f64::NAN } else { cpu * 1e6 / done as f64 };
    println!(
        "RESULT handshakes concurrency={concurrency} done={done} failed={} per_s={:.0} \
         p50_ms={:.2} p99_ms={:.2} max_ms={:.2} server_cpu_s={cpu:.2} \
         cpu_us_per_handshake={cpu_us:.0} loadgen_cpu_s={:.2}",
        failed.load(Ordering::Relaxed),
        done as f64 / elapsed,
        times.percentile_ms(0.5),
        times.percentile_ms(0.99),
        times.max_ms(),
        own_after - own_before,
    );
    Ok(())
}
