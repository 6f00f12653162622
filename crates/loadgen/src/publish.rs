//! `publish`: the ticker for a server that has none of its own (nginx + nchan): every tick's
//! JSON `POST`ed to the server's publishing location over one kept-alive connection, at
//! `--rate` per second (the ticks due at each wake-up, at most one wake-up a millisecond).
//! Runs until killed; every second it prints how many ticks it made.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::rt::TokioIo;

use crate::client::{self, Target};
use crate::stats;

pub(crate) async fn run(target: Target, rate: f64) -> Result<(), String> {
    let period = Duration::from_secs_f64(1.0 / rate);
    let mut timer = tokio::time::interval(period.max(Duration::from_millis(1)));
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let started = Instant::now();
    let (mut seq, mut value) = (0_u64, 100.0_f64);
    let mut sender = None;
    let mut reported = Instant::now();
    loop {
        timer.tick().await;
        let due = (started.elapsed().as_secs_f64() * rate) as u64 + 1;
        while seq < due {
            if sender.is_none() {
                sender = connect(&target).await.ok();
                if sender.is_none() {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    break;
                }
            }
            seq += 1;
            value = ((value + fastrand::f64() * 2.0 - 1.0).max(1.0) * 100.0).round() / 100.0;
            let body =
                format!(r#"{{"seq":{seq},"value":{value},"at_ms":{}}}"#, stats::now_us() / 1_000);
            let request = hyper::Request::post(&target.path)
                .header("host", target.addr.to_string())
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from(body)))
                .map_err(|error| error.to_string())?;
            let Some(live) = sender.as_mut() else { break };
            match live.send_request(request).await {
                Ok(response) if response.status().is_success() => {}
                Ok(response) => return Err(format!("publishing answered {}", response.status())),
                Err(_) => {
                    // The server went away: the tick is lost; connect again.
                    sender = None;
                }
            }
        }
        if reported.elapsed() >= Duration::from_secs(1) {
            reported = Instant::now();
            println!("published {seq}");
        }
    }
}

async fn connect(
    target: &Target,
) -> Result<hyper::client::conn::http1::SendRequest<Full<Bytes>>, String> {
    let stream = client::connect(client::source(0, 1), target.addr).await?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|error| error.to_string())?;
    tokio::spawn(connection);
    Ok(sender)
}
