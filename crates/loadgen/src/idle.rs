//! `idle`: streams held open for the xtask to read the server's memory, then to stop the
//! server (SIGTERM) and count how many streams it ended.
//!
//! Prints `WARM` once `--warm` streams are open, waits for a line on stdin, opens `--streams`
//! more, prints `OPEN <n>`, waits for a line, then waits up to 5 s for every stream to end and
//! prints `RESULT idle …`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::client::{self, Target};

pub(crate) async fn run(
    target: Target,
    warm: usize,
    streams: usize,
    sources: usize,
) -> Result<(), String> {
    let ended = Arc::new(AtomicUsize::new(0));
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    let opened = open_many(&target, 0..warm, sources, &ended).await?;
    println!("WARM {opened}");
    let _ = stdin.next_line().await;
    let started = Instant::now();
    let opened = open_many(&target, warm..warm + streams, sources, &ended).await?;
    println!("OPEN {opened} {:.2}", started.elapsed().as_secs_f64());
    let _ = stdin.next_line().await;
    let waiting = Instant::now();
    while ended.load(Ordering::SeqCst) < warm + streams
        && waiting.elapsed() < Duration::from_secs(5)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!("RESULT idle streams={} ended={}", warm + streams, ended.load(Ordering::SeqCst));
    Ok(())
}

/// Opens the streams `indices` (512 connecting at a time); each is read (and dropped) until it
/// ends, which counts in `ended`.
async fn open_many(
    target: &Target,
    indices: std::ops::Range<usize>,
    sources: usize,
    ended: &Arc<AtomicUsize>,
) -> Result<usize, String> {
    let count = indices.len();
    let opening = Arc::new(tokio::sync::Semaphore::new(512));
    let (done, mut opened) = tokio::sync::mpsc::channel::<bool>(count.max(1));
    for index in indices {
        let (target, opening, done, ended) =
            (target.clone(), Arc::clone(&opening), done.clone(), Arc::clone(ended));
        tokio::spawn(async move {
            let permit = opening.acquire_owned().await;
            let events = client::open(&target, client::source(index, sources), None).await;
            drop(permit);
            let _ = done.send(events.is_ok()).await;
            if let Ok(mut events) = events {
                while let Some(Ok(_)) = events.next().await {}
            }
            ended.fetch_add(1, Ordering::SeqCst);
        });
    }
    let mut ok = 0;
    for _ in 0..count {
        match tokio::time::timeout(Duration::from_secs(60), opened.recv()).await {
            Ok(Some(true)) => ok += 1,
            Ok(Some(false)) => {}
            _ => return Err(format!("{ok} of {count} streams opened in 60 s")),
        }
    }
    Ok(ok)
}
