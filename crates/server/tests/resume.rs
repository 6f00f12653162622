//! Resume by `Last-Event-ID` (header or `lastEventId` query parameter) over real sockets, read
//! with an independent parser: no gap, no duplicate, also while publishes race with the replay;
//! every id that cannot be served gets a `resync`.

use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use eventsource_stream::{Event, Eventsource};
use futures::future::BoxFuture;
use futures::{FutureExt, Stream, StreamExt};
use tidings_demo_events::Tick;
use tidings_server::{AppState, Config, EventLog, MemoryLog, Record, ResumeError, serve_app};
use tidings_wire::{EventId, Resync, ResyncReason, Topic};
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(10);

/// The app on a free port, with no background publisher: the test publishes.
struct TestApp {
    base: String,
    state: AppState,
    task: tokio::task::JoinHandle<()>,
}

impl TestApp {
    async fn start(extra: &[&str]) -> Self {
        let mut args = vec!["tidings-server"];
        args.extend_from_slice(extra);
        Self::serve(AppState::new(Config::try_parse_from(args).expect("valid flags"))).await
    }

    async fn serve(state: AppState) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = serve_app(listener, state.clone(), std::future::pending());
        let task = tokio::spawn(async move { server.await.unwrap() });
        Self { base, state, task }
    }

    async fn publish_ticks(&self, count: u64) -> Vec<EventId> {
        let mut ids = Vec::new();
        for seq in 0..count {
            let tick = Tick { seq, value: 1.0, at_ms: 0 };
            ids.push(self.state.publish(Topic::Ticker, &tick).await.unwrap().id);
        }
        ids
    }

    async fn connect(
        &self,
        query: &str,
        last_event_id: Option<&str>,
    ) -> impl Stream<Item = Event> + Unpin + use<> {
        // Only the ticker, unless the test names topics: every stream also publishes `presence`.
        let query = if query.contains("topics=") {
            query.to_owned()
        } else if query.is_empty() {
            "?topics=ticker".to_owned()
        } else {
            format!("{query}&topics=ticker")
        };
        let mut request = reqwest::Client::new().get(format!("{}/api/events{query}", self.base));
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        Box::pin(
            response.bytes_stream().eventsource().map(|event| event.expect("a well-formed event")),
        )
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The next event that is not a hello or a heartbeat.
async fn next_data(events: &mut (impl Stream<Item = Event> + Unpin)) -> Event {
    loop {
        let event = timeout(WAIT, events.next())
            .await
            .expect("an event in time")
            .expect("the stream is open");
        if event.event != "hello" && event.event != "heartbeat" {
            return event;
        }
    }
}

fn id_of(event: &Event) -> EventId {
    event.id.parse().unwrap_or_else(|error| panic!("id {:?}: {error}", event.id))
}

#[tokio::test]
async fn hello_comes_first_with_the_epoch_and_heartbeat_interval() {
    let app = TestApp::start(&["--heartbeat-ms", "7000"]).await;
    let mut events = app.connect("", None).await;
    let hello = timeout(WAIT, events.next()).await.unwrap().unwrap();
    assert_eq!(hello.event, "hello");
    assert_eq!(hello.id, "", "hello sets no id");
    let hello: tidings_wire::Hello = serde_json::from_str(&hello.data).unwrap();
    assert_eq!(hello.epoch, app.state.log().epoch());
    assert_eq!(hello.heartbeat_ms, 7000);
}

/// Heartbeats on the default interval, in paused time: the runtime jumps to each timer once
/// every task is idle, so 15 s pass in no time and the gaps are exact.
#[tokio::test(start_paused = true)]
async fn heartbeats_come_every_interval_named_and_without_an_id() {
    let app = TestApp::start(&[]).await;
    let interval = Duration::from_secs(15);
    let opened = tokio::time::Instant::now();
    let mut response =
        reqwest::get(format!("{}/api/events?topics=ticker", app.base)).await.unwrap();
    let mut pending = String::new();
    let mut beats = Vec::new();
    while beats.len() < 3 {
        let chunk = timeout(interval * 2, response.chunk())
            .await
            .expect("a heartbeat within two intervals")
            .unwrap()
            .expect("the stream is open");
        pending.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = pending.find("\n\n") {
            let block: String = pending.drain(..end + 2).collect();
            if !block.contains("event: heartbeat") {
                let opening = block.starts_with("retry:") || block.contains("event: hello");
                assert!(opening, "only the retry hint, hello and heartbeats: {block:?}");
                continue;
            }
            assert!(!block.contains("id:"), "a heartbeat carries no id: {block:?}");
            let data = block.lines().find_map(|line| line.strip_prefix("data: ")).unwrap();
            serde_json::from_str::<tidings_wire::Heartbeat>(data).unwrap();
            beats.push(opened.elapsed());
        }
    }
    for (n, at) in beats.iter().enumerate() {
        let due = interval * (n as u32 + 1);
        assert!(
            *at >= due && *at < due + Duration::from_millis(100),
            "heartbeat {n} at {at:?}, due at {due:?}: {beats:?}"
        );
    }
}

#[tokio::test]
async fn resuming_from_any_kept_id_replays_the_rest_without_gap_or_duplicate() {
    let app = TestApp::start(&[]).await;
    let mut ids = app.publish_ticks(30).await;
    for from in [0, 1, 14, 28, 29, 30] {
        let mut events = app.connect("", Some(&ids[from].to_string())).await;
        let mut got = Vec::new();
        for _ in from + 1..ids.len() {
            got.push(id_of(&next_data(&mut events).await));
        }
        assert_eq!(got, ids[from + 1..], "resuming after {}", ids[from]);
        // Then live, continuing the sequence.
        let next = app.publish_ticks(1).await[0];
        assert_eq!(id_of(&next_data(&mut events).await), next);
        ids.push(next);
    }
}

#[tokio::test]
async fn the_query_parameter_resumes_and_the_header_wins_over_it() {
    let app = TestApp::start(&[]).await;
    let ids = app.publish_ticks(10).await;
    let mut by_query = app.connect(&format!("?lastEventId={}", ids[6]), None).await;
    assert_eq!(id_of(&next_data(&mut by_query).await), ids[7]);

    // A browser reconnecting keeps the URL and sends the newer id in the header.
    let mut both =
        app.connect(&format!("?lastEventId={}", ids[2]), Some(&ids[8].to_string())).await;
    assert_eq!(id_of(&next_data(&mut both).await), ids[9]);
}

#[tokio::test]
async fn resumes_race_with_publishes_and_still_lose_nothing() {
    // Backlog reads take 30 ms, so publishes race with every resume: without subscribe-first
    // there would be gaps, without the id filter duplicates.
    let config = Config::parse_from(["tidings-server"]);
    let log = SlowReads(MemoryLog::new(77, 10_000));
    let app = Arc::new(TestApp::serve(AppState::with_log(config, Arc::new(log))).await);
    let first = app.publish_ticks(50).await;
    let publisher = {
        let app = Arc::clone(&app);
        tokio::spawn(async move {
            let mut ids = Vec::new();
            for _ in 0..400 {
                ids.extend(app.publish_ticks(1).await);
                tokio::time::sleep(Duration::from_micros(500)).await;
            }
            ids
        })
    };
    let mut clients = Vec::new();
    for from in (0..50).step_by(5) {
        let app = Arc::clone(&app);
        let after = first[from];
        clients.push(tokio::spawn(async move {
            let mut events = app.connect("", Some(&after.to_string())).await;
            let mut got = Vec::new();
            for _ in 0..150 {
                got.push(id_of(&next_data(&mut events).await));
            }
            (after, got)
        }));
    }
    let mut ticks = first.clone();
    ticks.extend(publisher.await.unwrap());
    for client in clients {
        let (after, got) = client.await.unwrap();
        let expected: Vec<EventId> =
            ticks.iter().copied().filter(|id| *id > after).take(150).collect();
        assert_eq!(got, expected, "resumed after {after}: no gap, no duplicate");
    }
}

/// A [`MemoryLog`] whose backlog reads are slow on both sides of the snapshot.
#[derive(Debug)]
struct SlowReads(MemoryLog);

impl EventLog for SlowReads {
    fn epoch(&self) -> u64 {
        self.0.epoch()
    }

    fn head(&self) -> Option<EventId> {
        self.0.head()
    }

    fn append(&self, topic: Topic, name: &'static str, data: &str) -> BoxFuture<'_, Arc<Record>> {
        self.0.append(topic, name, data)
    }

    fn read_after(&self, after: EventId) -> BoxFuture<'_, Result<Vec<Arc<Record>>, ResumeError>> {
        // Publishes land both before the snapshot (caught only by the id filter) and after it
        // (caught only by subscribing first).
        async move {
            tokio::time::sleep(Duration::from_millis(15)).await;
            let snapshot = self.0.read_after(after).await;
            tokio::time::sleep(Duration::from_millis(15)).await;
            snapshot
        }
        .boxed()
    }

    fn subscribe(&self) -> broadcast::Receiver<Arc<Record>> {
        self.0.subscribe()
    }
}

async fn expect_resync(app: &TestApp, sent: &str, reason: ResyncReason) {
    let head = app.state.log().head();
    let mut events = app.connect("", Some(sent)).await;
    let event = next_data(&mut events).await;
    assert_eq!(event.event, "resync", "for {sent:?}");
    let resync: Resync = serde_json::from_str(&event.data).unwrap();
    assert_eq!(resync.reason, reason, "for {sent:?}");
    // Other streams' presence may have moved the head since it was read.
    assert!(resync.current >= head && resync.current.is_some(), "{:?} vs {head:?}", resync.current);
    assert_eq!(Some(id_of(&event)), resync.current, "resync moves the id to the head");
    // The stream goes on live, from after the head, without repeating it.
    let next = app.publish_ticks(1).await[0];
    assert_eq!(id_of(&next_data(&mut events).await), next);
}

#[tokio::test]
async fn every_id_that_cannot_be_served_gets_a_resync_first() {
    let app = TestApp::start(&["--log-capacity", "5"]).await;
    let ids = app.publish_ticks(20).await;
    let epoch = app.state.log().epoch();
    expect_resync(&app, "garbage", ResyncReason::Malformed).await;
    expect_resync(&app, &format!("{epoch}-0"), ResyncReason::Malformed).await;
    expect_resync(&app, &format!("{}-3", epoch + 1), ResyncReason::UnknownEpoch).await;
    expect_resync(&app, &ids[2].to_string(), ResyncReason::Evicted).await;
    expect_resync(&app, &format!("{epoch}-999999"), ResyncReason::FromTheFuture).await;
    let long = "9".repeat(5000);
    expect_resync(&app, &long, ResyncReason::Malformed).await;
}

#[tokio::test]
async fn an_empty_last_event_id_is_a_fresh_start() {
    let app = TestApp::start(&[]).await;
    app.publish_ticks(3).await;
    let mut events = app.connect("?lastEventId=", Some("")).await;
    let next = app.publish_ticks(1).await[0];
    assert_eq!(id_of(&next_data(&mut events).await), next, "no replay, no resync");
}

#[tokio::test]
async fn streams_carry_only_the_topics_asked_for() {
    let app = TestApp::start(&[]).await;
    let mut comments_only = app.connect("?topics=comments", None).await;
    let mut ticker = app.connect("?topics=ticker", None).await;
    app.publish_ticks(2).await;
    let comment = app
        .state
        .publish(
            Topic::Comments,
            &serde_json::json!({ "text": "hi" }).as_object().cloned().map(Wrapped).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(next_data(&mut ticker).await.event, "message");
    let first = next_data(&mut comments_only).await;
    assert_eq!(first.event, "comment");
    assert_eq!(id_of(&first), comment.id);
}

/// A stand-in payload on the comments topic.
#[derive(serde::Serialize, serde::Deserialize)]
struct Wrapped(serde_json::Map<String, serde_json::Value>);

impl tidings_wire::Event for Wrapped {
    const NAME: &'static str = "comment";
}

#[tokio::test]
async fn bad_query_strings_get_a_json_400_before_the_stream_starts() {
    let app = TestApp::start(&[]).await;
    for (query, code) in [
        ("?topics=weather", "invalid_topics"),
        ("?topics=", "invalid_topics"),
        ("?topics=board:", "invalid_topics"),
        ("?topics=ticker,,comments", "invalid_topics"),
        ("?topics=ticker&topics=comments", "invalid_query"),
    ] {
        let response = reqwest::get(format!("{}/api/events{query}", app.base)).await.unwrap();
        assert_eq!(response.status(), 400, "{query}");
        assert_eq!(response.headers()["content-type"], "application/json", "{query}");
        let body: serde_json::Value = response.json_body().await;
        assert_eq!(body["error"], code, "{query}");
        assert!(!body["detail"].as_str().unwrap().is_empty(), "{query}");
    }
}

trait JsonBody {
    async fn json_body(self) -> serde_json::Value;
}

impl JsonBody for reqwest::Response {
    async fn json_body(self) -> serde_json::Value {
        serde_json::from_slice(&self.bytes().await.unwrap()).unwrap()
    }
}
