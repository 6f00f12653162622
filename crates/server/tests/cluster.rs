//! Two `tidings-server` processes on one Redis (`--redis`), through real sockets, read by an
//! independent SSE parser (eventsource-stream): one node is killed with SIGKILL while comments
//! are posted to both, and every client resumes on the other with its last id.

#[path = "../../axum/tests/support/redis_server.rs"]
mod redis_server;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use eventsource_stream::Eventsource;
use futures::StreamExt;
use redis_server::RedisServer;
use serde_json::json;
use tokio::sync::watch;

/// A `tidings-server` process, killed when dropped.
struct Node {
    child: Child,
    base: String,
}

impl Node {
    /// Started with `--redis`, once it prints the address it listens on.
    fn start(redis: &RedisServer) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tidings-server"))
            .args(["--addr", "127.0.0.1:0", "--dist", "target/no-app", "--retry-ms", "100"])
            .args(["--tick-interval-ms", "3600000", "--rate-burst", "10000"])
            .args(["--rate-per-second", "10000", "--redis", &redis.url()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the tidings-server binary starts");
        let stdout = child.stdout.take().expect("its output");
        let mut lines = BufReader::new(stdout).lines();
        let base = loop {
            let line = lines.next().expect("it prints its address").expect("a line");
            if let Some(address) = line.strip_prefix("tidings-server listening on ") {
                break address.to_owned();
            }
        };
        // Keep reading its output so that it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Self { child, base }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn kill(&mut self) {
        let _ = self.child.kill(); // SIGKILL
        let _ = self.child.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// What one client received: each comment's event id and text, in order.
type Received = Arc<Mutex<Vec<(String, String)>>>;

/// A client that streams the comments from `first`, and on any end or error resumes from
/// `fallback` with the last id it saw (what a load balancer in front of both would do).
async fn client(first: String, fallback: String, received: Received, done: watch::Receiver<bool>) {
    let http = reqwest::Client::new();
    let mut last_id: Option<String> = None;
    let mut base = first;
    loop {
        if *done.borrow() {
            return;
        }
        let mut request = http.get(format!("{base}/api/events?topics=comments"));
        if let Some(id) = &last_id {
            request = request.header("last-event-id", id);
        }
        if let Ok(response) = request.send().await
            && response.status() == 200
        {
            let mut events = response.bytes_stream().eventsource();
            let mut done = done.clone();
            loop {
                let event = tokio::select! {
                    event = events.next() => event,
                    _ = done.changed() => return,
                };
                let Some(Ok(event)) = event else { break };
                if !event.id.is_empty() {
                    last_id = Some(event.id.clone());
                }
                if event.event == "comment" {
                    let comment: serde_json::Value = serde_json::from_str(&event.data).unwrap();
                    let text = comment["text"].as_str().unwrap_or_default().to_owned();
                    received.lock().unwrap().push((event.id, text));
                }
            }
        }
        base.clone_from(&fallback);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn post_comment(http: &reqwest::Client, node: &str, text: &str) -> bool {
    let body = json!({ "author": "load", "text": text });
    let sent = http
        .post(format!("{node}/api/comments"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await;
    sent.is_ok_and(|response| response.status() == 201)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_node_loses_nothing_its_clients_resume_on_the_other() {
    const CLIENTS: usize = 20;
    let redis = RedisServer::start(false);
    let mut a = Node::start(&redis);
    let b = Node::start(&redis);
    let (stop, done) = watch::channel(false);
    let received: Vec<Received> = (0..CLIENTS).map(|_| Received::default()).collect();
    let clients: Vec<_> = received
        .iter()
        .map(|received| {
            tokio::spawn(client(a.url(""), b.url(""), Arc::clone(received), done.clone()))
        })
        .collect();
    // Every client is on node A before the load starts: each has its first comment.
    let http = reqwest::Client::new();
    let started = Instant::now();
    assert!(post_comment(&http, &a.url(""), "warm-up").await);
    while received.iter().any(|r| r.lock().unwrap().is_empty()) {
        assert!(started.elapsed() < Duration::from_secs(10), "the clients did not connect");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // 50 comments a second, alternately to A and B, for 3 s; A is killed after 1.5 s.
    let mut posted = BTreeSet::from(["warm-up".to_owned()]);
    let mut ticker = tokio::time::interval(Duration::from_millis(20));
    for n in 0..150 {
        ticker.tick().await;
        if n == 75 {
            a.kill();
        }
        let node = if n % 2 == 0 && n < 75 { a.url("") } else { b.url("") };
        let text = format!("comment {n}");
        // A comment A refused (it is dead) was never stored: it must not arrive.
        if post_comment(&http, &node, &text).await {
            posted.insert(text);
        }
    }
    assert!(posted.len() > 140, "B took every comment after the kill: {}", posted.len());

    // Every client gets every stored comment, once, in id order.
    let deadline = Instant::now() + Duration::from_secs(15);
    for (index, received) in received.iter().enumerate() {
        loop {
            let texts: BTreeSet<String> =
                received.lock().unwrap().iter().map(|(_, text)| text.clone()).collect();
            if texts == posted {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "client {index} is missing {:?}",
                posted.difference(&texts).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let _ = stop.send(true);
    for client in clients {
        let _ = client.await;
    }
    for (index, received) in received.iter().enumerate() {
        let received = received.lock().unwrap();
        assert_eq!(received.len(), posted.len(), "client {index}: a duplicate");
        let ids: Vec<tidings_wire::EventId> =
            received.iter().map(|(id, _)| id.parse().expect("an event id")).collect();
        assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "client {index}: out of order");
    }
}
