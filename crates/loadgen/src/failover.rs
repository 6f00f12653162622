//! `failover`: clients on one server, which is then killed (`kill -9 PID`); every client
//! reconnects to the other server with its last id. The time until every client has its stream
//! open again and has received a tick after the kill, and the gaps and duplicates in each
//! client's tick numbers.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::sync::Mutex;

use crate::client::{self, Target};

/// What one client saw.
#[derive(Default)]
struct Seen {
    seqs: Vec<u64>,
    last_id: Option<String>,
}

impl Seen {
    fn take(&mut self, event: &eventsource_stream::Event) -> bool {
        if !event.id.is_empty() {
            self.last_id = Some(event.id.clone());
        }
        let Some((seq, _)) = client::tick_of(event) else { return false };
        self.seqs.push(seq);
        true
    }
}

pub(crate) async fn run(from: Target, to: Target, pid: u32, clients: usize) -> Result<(), String> {
    let ready = Arc::new(AtomicUsize::new(0));
    let resumed = Arc::new(AtomicUsize::new(0));
    let last_resumed = Arc::new(Mutex::new(None::<Instant>));
    let mut tasks = Vec::new();
    for index in 0..clients {
        let (from, to) = (from.clone(), to.clone());
        let (ready, resumed, last_resumed) =
            (Arc::clone(&ready), Arc::clone(&resumed), Arc::clone(&last_resumed));
        tasks.push(tokio::spawn(async move {
            let source = client::source(index, 8);
            let mut seen = Seen::default();
            let mut events = client::open(&from, source, None).await?;
            let mut counted = false;
            while let Some(Ok(event)) = events.next().await {
                if seen.take(&event) && !counted {
                    counted = true;
                    ready.fetch_add(1, Ordering::SeqCst);
                }
            }
            // The server is gone: resume on the other, as a load balancer would send it.
            let before = seen.seqs.len();
            let mut events = loop {
                match client::open(&to, source, seen.last_id.as_deref()).await {
                    Ok(events) => break events,
                    Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            };
            while let Some(Ok(event)) = events.next().await {
                if seen.take(&event) {
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
        "RESULT failover clients={clients} resumed={} all_resumed_s={} gaps={gaps} duplicates={duplicates}",
        resumed.load(Ordering::SeqCst),
        all_resumed.map_or("none".to_owned(), |seconds| format!("{seconds:.2}")),
    );
    Ok(())
}
