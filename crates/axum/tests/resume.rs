//! Resume by `Last-Event-ID` (header or `lastEventId` query parameter) over real sockets, read
//! with an independent parser: no gap, no duplicate, also while publishes race with the replay;
//! every id that cannot be served gets a `resync`.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Note, TestApp, WAIT, id_of, next_data};
use eventsource_stream::Eventsource;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use std::future::IntoFuture;
use tidings_axum::{AppendError, EventLog, Hub, MemoryLog, Record, ResumeError, Topic};
use tidings_wire::{EventId, Resync, ResyncReason};
use tokio::sync::broadcast;
use tokio::time::timeout;

#[tokio::test]
async fn hello_comes_first_with_the_epoch_and_heartbeat_interval() {
    let app = TestApp::start_with(Hub::builder().heartbeat(Duration::from_secs(7)), |s| s).await;
    let mut events = app.connect("", None).await;
    let hello = timeout(WAIT, events.next()).await.unwrap().unwrap();
    assert_eq!(hello.event, "hello");
    assert_eq!(hello.id, "", "hello sets no id");
    let hello: tidings_wire::Hello = serde_json::from_str(&hello.data).unwrap();
    assert_eq!(hello.epoch, app.hub.log().epoch());
    assert_eq!(hello.heartbeat_ms, 7000);
}

/// Reads `response` until `count` heartbeats have come; when each came (from `since`). Checks
/// each is named, carries no id, and that nothing else came but the opening.
async fn heartbeats(
    response: &mut reqwest::Response,
    count: usize,
    since: tokio::time::Instant,
) -> Vec<Duration> {
    let mut pending = String::new();
    let mut beats = Vec::new();
    while beats.len() < count {
        let chunk = timeout(Duration::from_secs(30), response.chunk())
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
            beats.push(since.elapsed());
        }
    }
    beats
}

/// Heartbeats on the default interval, in paused time: the runtime jumps to each timer once
/// every task is idle, so 15 s pass in no time and the gaps are exact. They come from the hub's
/// one timer, started by its first stream: a stream opened later gets its first within an
/// interval, at the same instants as every other stream.
#[tokio::test(start_paused = true)]
async fn heartbeats_come_every_interval_named_and_without_an_id() {
    let app = TestApp::start().await;
    let interval = Duration::from_secs(15);
    let url = format!("{}/events?topics=ticks", app.base);
    let first_opened = tokio::time::Instant::now();
    let mut first = reqwest::get(&url).await.unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let mut second = reqwest::get(&url).await.unwrap();
    let (first, second) = tokio::join!(
        heartbeats(&mut first, 3, first_opened),
        heartbeats(&mut second, 3, first_opened)
    );
    for beats in [&first, &second] {
        for (n, at) in beats.iter().enumerate() {
            let due = interval * (n as u32 + 1);
            assert!(
                *at >= due && *at < due + Duration::from_millis(100),
                "heartbeat {n} at {at:?}, due at {due:?}: {beats:?}"
            );
        }
    }
}

#[tokio::test]
async fn resuming_from_any_kept_id_replays_the_rest_without_gap_or_duplicate() {
    let app = TestApp::start().await;
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
    let app = TestApp::start().await;
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
    let log = SlowReads(MemoryLog::new(77, 10_000));
    let app = Arc::new(TestApp::start_with(Hub::builder().log(log), |s| s).await);
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

    fn append(
        &self,
        topic: Topic,
        name: std::borrow::Cow<'static, str>,
        data: String,
    ) -> BoxFuture<'_, Result<Arc<Record>, AppendError>> {
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
    let head = app.hub.log().head();
    let mut events = app.connect("", Some(sent)).await;
    let event = next_data(&mut events).await;
    assert_eq!(event.event, "resync", "for {sent:?}");
    let resync: Resync = serde_json::from_str(&event.data).unwrap();
    assert_eq!(resync.reason, reason, "for {sent:?}");
    assert_eq!(resync.current, head, "the head, where the client goes on from");
    assert!(head.is_some());
    assert_eq!(Some(id_of(&event)), resync.current, "resync moves the id to the head");
    // The stream goes on live, from after the head, without repeating it.
    let next = app.publish_ticks(1).await[0];
    assert_eq!(id_of(&next_data(&mut events).await), next);
}

#[tokio::test]
async fn every_id_that_cannot_be_served_gets_a_resync_first() {
    let app = TestApp::start_with(Hub::builder().log(MemoryLog::new(31, 5)), |s| s).await;
    let ids = app.publish_ticks(20).await;
    let epoch = app.hub.log().epoch();
    expect_resync(&app, "garbage", ResyncReason::Malformed).await;
    // `<epoch>-0` is the start of the epoch: its first events are no longer kept.
    expect_resync(&app, &format!("{epoch}-0"), ResyncReason::Evicted).await;
    expect_resync(&app, &format!("{}-3", epoch + 1), ResyncReason::UnknownEpoch).await;
    expect_resync(&app, &ids[2].to_string(), ResyncReason::Evicted).await;
    expect_resync(&app, &format!("{epoch}-999999"), ResyncReason::FromTheFuture).await;
    let long = "9".repeat(5000);
    expect_resync(&app, &long, ResyncReason::Malformed).await;
}

#[tokio::test]
async fn an_empty_last_event_id_is_a_fresh_start() {
    let app = TestApp::start().await;
    app.publish_ticks(3).await;
    let mut events = app.connect("?lastEventId=", Some("")).await;
    let next = app.publish_ticks(1).await[0];
    assert_eq!(id_of(&next_data(&mut events).await), next, "no replay, no resync");
}

#[tokio::test]
async fn streams_carry_only_the_topics_asked_for() {
    let app = TestApp::start().await;
    let mut notes_only = app.connect("?topics=notes", None).await;
    let mut ticks = app.connect("?topics=ticks", None).await;
    let mut both = app.connect("?topics=ticks,notes", None).await;
    let tick_ids = app.publish_ticks(2).await;
    let note = app.publish("notes", &Note { text: "hi".into() }).await;
    assert_eq!(id_of(&next_data(&mut ticks).await), tick_ids[0]);
    let first = next_data(&mut notes_only).await;
    assert_eq!((first.event.as_str(), id_of(&first)), ("note", note));
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(id_of(&next_data(&mut both).await));
    }
    assert_eq!(seen, [tick_ids[0], tick_ids[1], note]);
}

#[tokio::test]
async fn a_job_like_stream_starts_after_a_point_and_ends_after_its_last_event() {
    let app = TestApp::start().await;
    app.publish_ticks(3).await;
    let start = app.hub.head_or_start();
    let first = app.publish("jobs", &Note { text: "one".into() }).await;
    app.publish("jobs", &Note { text: "two".into() }).await;
    // `end=note`: the stream ends after the first `note` it sends.
    let response =
        reqwest::get(app.url(&format!("/events?topics=jobs&end=note&lastEventId={start}")))
            .await
            .unwrap();
    let events: Vec<_> = timeout(
        WAIT,
        eventsource_stream::Eventsource::eventsource(response.bytes_stream()).collect::<Vec<_>>(),
    )
    .await
    .expect("the stream ends by itself");
    let events: Vec<_> = events.into_iter().map(Result::unwrap).collect();
    let names: Vec<&str> = events.iter().map(|event| event.event.as_str()).collect();
    assert_eq!(names, ["hello", "note", "end"], "ends right after the first note, {first}");
    assert_eq!(events[2].id, "0-0", "the id a reconnect carries");

    // A browser reconnects after the end with that id: 204, which stops it for good.
    let again = reqwest::Client::new()
        .get(app.url("/events?topics=jobs&end=note"))
        .header("last-event-id", &events[2].id)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 204);
}

#[tokio::test]
async fn the_last_event_id_parameter_given_twice_is_a_400() {
    let app = TestApp::start().await;
    let response = reqwest::get(app.url("/events?lastEventId=1-1&lastEventId=1-2")).await.unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(body["error"], "invalid_last_event_id", "JSON, like the crate's other answers");
    assert!(body["detail"].as_str().unwrap().contains("lastEventId"), "{body}");
}

/// Two hubs in one app, each route resuming by its own parameter.
#[tokio::test]
async fn two_hubs_in_one_app_each_resume_by_their_own_parameter() {
    use axum::routing::get;
    use axum::{Extension, Router};
    use tidings_axum::{EventStream, LastEventId, LastEventIdParam};

    let (a, b) = (Hub::new(), Hub::new());
    let stream_of = |hub: Hub| {
        move |last: LastEventId| async move {
            let stream: EventStream = hub.stream([common::topic("notes")]).resume(last);
            stream
        }
    };
    let app = Router::new().route("/a/events", get(stream_of(a.clone()))).merge(
        Router::new()
            .route("/b/events", get(stream_of(b.clone())))
            .layer(Extension(LastEventIdParam::new("since"))),
    );
    let listener = tidings_axum::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(tidings_axum::serve(listener, app).into_future());
    let note = |text: &str| common::Note { text: text.into() };
    let mut first = Vec::new();
    for (hub, name) in [(&a, "a"), (&b, "b")] {
        first.push(
            hub.publish(&common::topic("notes"), &note(&format!("{name} 1"))).await.unwrap().id,
        );
        hub.publish(&common::topic("notes"), &note(&format!("{name} 2"))).await.unwrap();
    }
    let next_note = async |url: String| {
        let response = reqwest::get(url).await.unwrap();
        let mut events = Box::pin(response.bytes_stream().eventsource().map(Result::unwrap));
        let event = common::next_data(&mut events).await;
        serde_json::from_str::<common::Note>(&event.data).unwrap().text
    };
    assert_eq!(next_note(format!("{base}/a/events?lastEventId={}", first[0])).await, "a 2");
    assert_eq!(next_note(format!("{base}/b/events?since={}", first[1])).await, "b 2");
    // On b's route `lastEventId` is not the parameter: the stream starts live (after its
    // `hello`, it is subscribed).
    let response = reqwest::get(format!("{base}/b/events?lastEventId={}", first[1])).await.unwrap();
    let mut live = Box::pin(response.bytes_stream().eventsource().map(Result::unwrap));
    let hello = timeout(WAIT, live.next()).await.unwrap().unwrap();
    assert_eq!(hello.event, "hello");
    b.publish(&common::topic("notes"), &note("b 3")).await.unwrap();
    let event = next_data(&mut live).await;
    assert_eq!(serde_json::from_str::<Note>(&event.data).unwrap().text, "b 3");
    server.abort();
}

#[tokio::test]
async fn a_resync_on_an_empty_log_moves_the_client_to_the_start_of_the_epoch() {
    let app = TestApp::start_with(Hub::builder().log(MemoryLog::new(12, 100)), |s| s).await;
    let mut events = app.connect("", Some("11-4")).await;
    let event = next_data(&mut events).await;
    assert_eq!((event.event.as_str(), event.id.as_str()), ("resync", "12-0"));
    // The client comes back with that id: no second resync, the first event when it comes.
    let mut again = app.connect("", Some(&event.id)).await;
    let first = app.publish_ticks(1).await[0];
    assert_eq!(id_of(&next_data(&mut again).await), first);
    assert_eq!(id_of(&next_data(&mut events).await), first);
}
