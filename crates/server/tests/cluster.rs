//! Two `tidings-server` processes on one Redis (`--redis`), through real sockets, read by an
//! independent SSE parser (eventsource-stream): one node is killed with SIGKILL while comments
//! are posted to both, and every client resumes on the other with its last id.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use eventsource_stream::Eventsource;
use futures::StreamExt;
use serde_json::json;
use tidings_testkit::RedisServer;
use tokio::sync::watch;

/// A `tidings-server` process, killed when dropped.
struct Node {
    child: Child,
    base: String,
}

impl Node {
    /// Started with `--redis`, once it prints the address it listens on (no ticks).
    fn start(redis: &RedisServer) -> Self {
        Self::start_with(redis, &["--tick-interval-ms", "3600000"])
    }

    fn start_with(redis: &RedisServer, extra: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tidings-server"))
            .args(["--addr", "127.0.0.1:0", "--dist", "target/no-app", "--retry-ms", "100"])
            .args(["--rate-burst", "10000", "--rate-per-second", "10000"])
            .args(["--redis", &redis.url()])
            .args(extra)
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
    // Every client is on node A before the load starts: the state counts their streams, and
    // each has the first comment.
    let http = reqwest::Client::new();
    let started = Instant::now();
    loop {
        let state = http.get(a.url("/api/state")).send().await.unwrap();
        let state: serde_json::Value = serde_json::from_str(&state.text().await.unwrap()).unwrap();
        if state["presence"]["connections"].as_u64() == Some(CLIENTS as u64) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "the clients did not connect");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
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

/// The node's `GET /api/state`, with the tasks of the board `main`.
async fn state_of(http: &reqwest::Client, node: &Node) -> serde_json::Value {
    let response =
        http.get(node.url("/api/state?board=main")).send().await.expect("the node answers");
    serde_json::from_str(&response.text().await.unwrap()).unwrap()
}

/// Polls `check` every 20 ms until it gives a value, for at most `patience`.
async fn within<T>(what: &str, patience: Duration, check: impl AsyncFnMut() -> Option<T>) -> T {
    tidings_testkit::poll_until(what, patience, Duration::from_millis(20), check).await
}

async fn post_json(
    http: &reqwest::Client,
    url: String,
    body: serde_json::Value,
) -> serde_json::Value {
    let response = http
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    serde_json::from_str(&response.text().await.unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_node_and_a_node_started_later_serve_the_same_state() {
    let redis = RedisServer::start(false);
    let (a, b) = (Node::start(&redis), Node::start(&redis));
    let http = reqwest::Client::new();
    for n in 0..6 {
        let node = if n % 2 == 0 { &a } else { &b };
        assert!(post_comment(&http, &node.url(""), &format!("comment {n}")).await);
    }
    let task = post_json(&http, b.url("/boards/main/tasks"), json!({ "title": "from B" })).await;
    let moved = json!({ "list": "doing" });
    let response = http
        .patch(a.url(&format!("/boards/main/tasks/{}", task["id"])))
        .header("content-type", "application/json")
        .body(moved.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "a task created on B, moved on A");

    let c = Node::start(&redis);
    let same = |state: &serde_json::Value| (state["comments"].clone(), state["boards"].clone());
    // Every node's state at the same id is the same; wait until each has applied the last event.
    let reference = state_of(&http, &a).await;
    let id = |state: &serde_json::Value| {
        state["at"].as_str().and_then(|at| at.parse::<tidings_wire::EventId>().ok())
    };
    let at = id(&reference).expect("the state names its id");
    assert_eq!(reference["comments"].as_array().map(Vec::len), Some(6));
    assert_eq!(reference["boards"]["main"][0]["list"], "doing");
    for node in [&b, &c] {
        // Every record up to the reference's applied (reports may have moved it on since):
        // the demo's data is the same.
        let state = within("the node to reach the same id", Duration::from_secs(5), async || {
            let state = state_of(&http, node).await;
            id(&state).is_some_and(|applied| applied >= at).then_some(state)
        })
        .await;
        assert_eq!(same(&state), same(&reference), "at {} vs {at}", state["at"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_ticker_for_the_cluster_taken_over_when_its_node_dies_and_presence_expires() {
    let redis = RedisServer::start(false);
    let ticking = ["--tick-interval-ms", "100"];
    let (one, two) = (Node::start_with(&redis, &ticking), Node::start_with(&redis, &ticking));
    let http = reqwest::Client::new();
    // Both know each other; `first` is the one that leads (and ticks), and will be killed.
    let leads = async |node: &Node| -> Option<bool> {
        let health = http.get(node.url("/healthz")).send().await.ok()?;
        let health: serde_json::Value = serde_json::from_str(&health.text().await.ok()?).ok()?;
        health["leads"].as_bool()
    };
    let one_leads = within("one leader", Duration::from_secs(5), async || {
        match (leads(&one).await?, leads(&two).await?) {
            (true, false) => Some(true),
            (false, true) => Some(false),
            _ => None,
        }
    })
    .await;
    let (mut first, second) = if one_leads { (one, two) } else { (two, one) };
    // A stream on each node, named: presence counts both.
    let streams: Vec<_> = [(&first, "on-first"), (&second, "on-second")]
        .into_iter()
        .map(|(node, name)| {
            http.get(node.url(&format!("/api/events?topics=ticker&name={name}"))).send()
        })
        .collect();
    let mut ticks = Vec::new();
    for stream in streams {
        ticks.push(stream.await.unwrap().bytes_stream().eventsource());
    }
    within("presence of both nodes", Duration::from_secs(5), async || {
        let state = state_of(&http, &second).await;
        (state["presence"]["online"] == json!(["on-first", "on-second"])).then_some(())
    })
    .await;

    // The ticks on the second node's stream: one sequence, whoever ticks.
    let mut seqs = Vec::new();
    let mut stream = ticks.pop().unwrap();
    let first_stream = ticks.pop().unwrap();
    read_ticks(&mut stream, 10, &mut seqs).await;
    drop(first_stream);
    let before = seqs.len();
    first.kill();
    let killed = Instant::now();
    // Whichever node ticked, ticks go on within 5 s (a node is gone after 3 s of silence).
    read_ticks(&mut stream, before + 10, &mut seqs).await;
    let resumed = killed.elapsed();
    println!("ticks went on {resumed:?} after the kill (a measurement)");
    let expected: Vec<u64> = (seqs[0]..seqs[0] + seqs.len() as u64).collect();
    assert_eq!(seqs, expected, "one ticker: every seq once, in order");
    within("the dead node's presence to expire", Duration::from_secs(10), async || {
        let state = state_of(&http, &second).await;
        (state["presence"]["online"] == json!(["on-second"])).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_node_dies_fails_clearly_within_10_s() {
    let redis = RedisServer::start(false);
    let slow = ["--tick-interval-ms", "3600000", "--job-step-ms", "60000"];
    let mut a = Node::start_with(&redis, &slow);
    let b = Node::start_with(&redis, &slow);
    let http = reqwest::Client::new();
    let created = post_json(&http, a.url("/api/jobs"), json!({})).await;
    let job = created["id"].as_str().unwrap().to_owned();
    let url = b.url(&format!("/api/jobs/{job}/events"));
    let response = http.get(url).bearer_auth(created["token"].as_str().unwrap()).send().await;
    let response = response.unwrap();
    assert_eq!(response.status(), 200, "the job and its token are known on B");
    let mut events = response.bytes_stream().eventsource();
    a.kill();
    let killed = Instant::now();
    let complete = loop {
        let event = tokio::time::timeout(Duration::from_secs(15), events.next())
            .await
            .expect("the job ends")
            .expect("open")
            .expect("well formed");
        if event.event == "complete" {
            break event;
        }
    };
    assert!(killed.elapsed() < Duration::from_secs(10), "{:?}", killed.elapsed());
    assert!(complete.data.contains("failed"), "{}", complete.data);
    let end = tokio::time::timeout(Duration::from_secs(5), events.next()).await;
    let end = end.expect("the end in time").expect("open").expect("well formed");
    assert_eq!((end.event.as_str(), end.id.as_str()), ("end", "0-0"));
    assert!(
        tokio::time::timeout(Duration::from_secs(5), events.next())
            .await
            .expect("the stream ends")
            .is_none()
    );
}

/// Reads the stream until `seqs` holds `count` tick numbers.
async fn read_ticks<E: std::fmt::Debug>(
    stream: &mut (impl futures::Stream<Item = Result<eventsource_stream::Event, E>> + Unpin),
    count: usize,
    seqs: &mut Vec<u64>,
) {
    while seqs.len() < count {
        let event = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("a tick within 10 s")
            .expect("open")
            .expect("well formed");
        if event.event == "message" {
            let tick: serde_json::Value = serde_json::from_str(&event.data).unwrap();
            seqs.push(tick["seq"].as_u64().unwrap());
        }
    }
}

#[test]
fn a_wrong_redis_url_or_an_absent_redis_is_a_clear_error_and_exit_code() {
    let run = |url: &str| {
        Command::new(env!("CARGO_BIN_EXE_tidings-server"))
            .args(["--addr", "127.0.0.1:0", "--dist", "target/no-app", "--redis", url])
            .output()
            .expect("the binary runs")
    };
    let wrong = run("http://127.0.0.1:6379");
    assert_eq!(wrong.status.code(), Some(2));
    let said = String::from_utf8_lossy(&wrong.stderr);
    assert!(said.contains("not a Redis URL"), "{said}");
    let folder = tempfile::tempdir().unwrap();
    let absent = run(&format!("unix://{}", folder.path().join("none.sock").display()));
    assert_eq!(absent.status.code(), Some(2));
    let said = String::from_utf8_lossy(&absent.stderr);
    assert!(said.contains("cannot reach Redis"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_away_means_503s_and_nothing_stored_then_everything_goes_on() {
    let mut redis = RedisServer::start(true);
    let node = Node::start(&redis);
    let http = reqwest::Client::new();
    let response = http.get(node.url("/api/events?topics=comments")).send().await.unwrap();
    let mut events = response.bytes_stream().eventsource();
    assert!(post_comment(&http, &node.url(""), "before").await);
    let job = post_json(&http, node.url("/api/jobs"), json!({})).await;
    // An id after the job's start, to resume from.
    let state = http.get(node.url("/api/state")).send().await.unwrap().text().await.unwrap();
    let state: serde_json::Value = serde_json::from_str(&state).unwrap();
    let at = state["at"].as_str().expect("an id").to_owned();

    // Bad input is refused as on a node in memory, and stores nothing.
    let bad = http
        .post(node.url("/api/comments"))
        .header("content-type", "application/json")
        .body(r#"{"author":"x"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);

    redis.kill();
    let refused = http
        .post(node.url("/api/comments"))
        .header("content-type", "application/json")
        .body(json!({ "author": "x", "text": "while away" }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 503);
    assert_eq!(refused.headers()["retry-after"], "1", "a client may come back in a second");
    let error: serde_json::Value = serde_json::from_str(&refused.text().await.unwrap()).unwrap();
    // A job's stream resuming while the log is away: 503 with `Retry-After`, so the page's fetch
    // transport waits and tries again instead of giving up on the job.
    let resumed = http
        .get(node.url(&format!("/api/jobs/{}/events", job["id"].as_str().unwrap())))
        .bearer_auth(job["token"].as_str().unwrap())
        .header("last-event-id", at)
        .send()
        .await
        .unwrap();
    assert_eq!(resumed.status(), 503);
    assert_eq!(resumed.headers()["retry-after"], "1");
    assert!(error["error"].is_string() && error["detail"].is_string(), "{error}");
    let health = http.get(node.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 503, "a load balancer sends clients elsewhere");

    redis.run();
    within("the node healthy again", Duration::from_secs(10), async || {
        let health = http.get(node.url("/healthz")).send().await.ok()?;
        (health.status() == 200).then_some(())
    })
    .await;
    within("a comment stored again", Duration::from_secs(10), async || {
        post_comment(&http, &node.url(""), "after").await.then_some(())
    })
    .await;
    let mut texts = Vec::new();
    while texts.len() < 2 {
        let event = tokio::time::timeout(Duration::from_secs(10), events.next())
            .await
            .expect("the stream goes on")
            .expect("open")
            .expect("well formed");
        if event.event == "comment" {
            let comment: serde_json::Value = serde_json::from_str(&event.data).unwrap();
            texts.push(comment["text"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(texts, ["before", "after"], "nothing of the refused ones, nothing lost");
}
