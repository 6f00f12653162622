//! The REST endpoints over real sockets: what they store and broadcast, the snapshot's id, and
//! every kind of bad input (a clear JSON error, nothing stored, nothing broadcast).

use std::time::Duration;

use clap::Parser;
use eventsource_stream::{Event, Eventsource};
use futures::{Stream, StreamExt};
use serde_json::{Value, json};
use tidings_demo_events::{Comment, DemoSnapshot};
use tidings_server::{AppState, Config, app};
use tidings_wire::EventId;
use tokio::net::TcpListener;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(10);

struct TestApp {
    base: String,
    client: reqwest::Client,
    task: tokio::task::JoinHandle<()>,
}

impl TestApp {
    async fn start() -> Self {
        let state = AppState::new(Config::parse_from(["tidings-server"]));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let router = app(state);
        let task = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Self { base, client: reqwest::Client::new(), task }
    }

    async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let bytes = response.bytes().await.unwrap();
        let body =
            if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap() };
        (status, body)
    }

    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.post_raw(path, "application/json", body.to_string()).await
    }

    async fn snapshot(&self) -> DemoSnapshot {
        let bytes =
            reqwest::get(format!("{}/api/state", self.base)).await.unwrap().bytes().await.unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    async fn stream(&self, query: &str) -> impl Stream<Item = Event> + Unpin + use<> {
        let response = reqwest::get(format!("{}/api/events{query}", self.base)).await.unwrap();
        Box::pin(response.bytes_stream().eventsource().map(|event| event.unwrap()))
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The next event named `name`, skipping control events.
async fn next_named(events: &mut (impl Stream<Item = Event> + Unpin), name: &str) -> Event {
    loop {
        let event = timeout(WAIT, events.next()).await.expect("an event in time").expect("open");
        if event.event == name {
            return event;
        }
    }
}

#[tokio::test]
async fn a_comment_is_stored_broadcast_and_in_the_snapshot() {
    let app = TestApp::start().await;
    let mut comments = app.stream("?topics=comments").await;
    let (status, body) =
        app.post("/api/comments", &json!({ "author": " Ada ", "text": "Hello\nworld" })).await;
    assert_eq!(status, 201, "{body}");
    let stored: Comment = serde_json::from_value(body).unwrap();
    assert_eq!(
        (stored.id, stored.author.as_str(), stored.text.as_str()),
        (1, "Ada", "Hello\nworld")
    );

    let event = next_named(&mut comments, "comment").await;
    assert_eq!(
        serde_json::from_str::<Comment>(&event.data).unwrap(),
        stored,
        "multi-line text survives SSE"
    );
    let snapshot = app.snapshot().await;
    assert_eq!(snapshot.comments, [stored]);
    assert_eq!(snapshot.at, Some(event.id.parse::<EventId>().unwrap()));
}

#[tokio::test]
async fn a_stream_opened_at_the_snapshot_id_misses_nothing_in_between() {
    let app = TestApp::start().await;
    app.post("/api/comments", &json!({ "author": "a", "text": "before" })).await;
    let snapshot = app.snapshot().await;
    let at = snapshot.at.expect("an id").to_string();
    // Posted after the snapshot, before the stream opens.
    app.post("/api/comments", &json!({ "author": "b", "text": "between" })).await;
    let mut events = app.stream(&format!("?topics=comments&lastEventId={at}")).await;
    let replayed: Comment =
        serde_json::from_str(&next_named(&mut events, "comment").await.data).unwrap();
    assert_eq!(replayed.text, "between");
    app.post("/api/comments", &json!({ "author": "c", "text": "after" })).await;
    let live: Comment =
        serde_json::from_str(&next_named(&mut events, "comment").await.data).unwrap();
    assert_eq!(live.text, "after");
}

#[tokio::test]
async fn bad_bodies_get_clear_errors_and_change_nothing() {
    let app = TestApp::start().await;
    let mut comments = app.stream("?topics=comments").await;
    let huge = json!({ "author": "a", "text": "x".repeat(20_000) }).to_string();
    let cases: Vec<(&str, &str, String, u16, &str)> = vec![
        ("too large", "application/json", huge, 413, "payload_too_large"),
        (
            "not JSON content",
            "text/plain",
            r#"{"author":"a","text":"b"}"#.into(),
            415,
            "unsupported_media_type",
        ),
        ("broken JSON", "application/json", r#"{"author": "a", "#.into(), 400, "malformed_json"),
        ("not an object", "application/json", "[1,2]".into(), 422, "invalid_body"),
        (
            "unknown field",
            "application/json",
            r#"{"author":"a","text":"b","admin":true}"#.into(),
            422,
            "invalid_body",
        ),
        ("missing field", "application/json", r#"{"author":"a"}"#.into(), 422, "invalid_body"),
        (
            "wrong type",
            "application/json",
            r#"{"author":"a","text":5}"#.into(),
            422,
            "invalid_body",
        ),
        (
            "empty author",
            "application/json",
            r#"{"author":"   ","text":"b"}"#.into(),
            422,
            "invalid_field",
        ),
        (
            "long author",
            "application/json",
            json!({"author": "a".repeat(41), "text": "b"}).to_string(),
            422,
            "invalid_field",
        ),
        (
            "long text",
            "application/json",
            json!({"author": "a", "text": "é".repeat(2001)}).to_string(),
            422,
            "invalid_field",
        ),
        (
            "control character",
            "application/json",
            r#"{"author":"a\u0000","text":"b"}"#.into(),
            422,
            "invalid_field",
        ),
    ];
    for (what, content_type, body, status, code) in cases {
        let (got_status, got) = app.post_raw("/api/comments", content_type, body).await;
        assert_eq!(got_status, status, "{what}: {got}");
        assert_eq!(got["error"], code, "{what}: {got}");
        assert!(got["detail"].as_str().is_some_and(|detail| !detail.is_empty()), "{what}: {got}");
    }
    let (_, field) = app.post("/api/comments", &json!({ "author": "", "text": "b" })).await;
    assert_eq!(field["field"], "author");

    assert!(app.snapshot().await.comments.is_empty(), "nothing stored");
    // Nothing was broadcast either: the first comment event is the next valid one, with id 1.
    app.post("/api/comments", &json!({ "author": "a", "text": "valid" })).await;
    let first: Comment =
        serde_json::from_str(&next_named(&mut comments, "comment").await.data).unwrap();
    assert_eq!((first.id, first.text.as_str()), (1, "valid"));
}

#[tokio::test]
async fn typing_is_coalesced_per_author() {
    let app = TestApp::start().await;
    let mut typing = app.stream("?topics=typing").await;
    for _ in 0..5 {
        assert_eq!(app.post("/api/typing", &json!({ "author": "Ada" })).await.0, 204);
    }
    assert_eq!(app.post("/api/typing", &json!({ "author": "Bob" })).await.0, 204);
    let first = next_named(&mut typing, "typing").await;
    let second = next_named(&mut typing, "typing").await;
    let authors: Vec<String> = [first, second]
        .iter()
        .map(|event| {
            serde_json::from_str::<Value>(&event.data).unwrap()["author"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(authors, ["Ada", "Bob"], "one event for Ada's five requests");

    let (status, body) = app.post("/api/typing", &json!({ "author": "" })).await;
    assert_eq!((status, body["error"].as_str()), (422, Some("invalid_field")));
    let (status, _) = app.post("/api/typing", &json!({ "who": "x" })).await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn presence_follows_streams_opening_and_closing() {
    let app = TestApp::start().await;
    let presence_of =
        |event: Event| serde_json::from_str::<tidings_demo_events::Presence>(&event.data).unwrap();
    let mut ada = app.stream("?topics=presence&name=Ada").await;
    let joined = presence_of(next_named(&mut ada, "presence").await);
    assert_eq!((joined.online.as_slice(), joined.connections), (["Ada".to_owned()].as_slice(), 1));

    let bob = app.stream("?topics=presence&name=%20Bob%20").await;
    let both = presence_of(next_named(&mut ada, "presence").await);
    assert_eq!((both.online, both.connections), (vec!["Ada".to_owned(), "Bob".to_owned()], 2));
    let anonymous = app.stream("?topics=presence").await;
    assert_eq!(presence_of(next_named(&mut ada, "presence").await).connections, 3);

    drop(bob);
    let left = presence_of(next_named(&mut ada, "presence").await);
    assert_eq!((left.online, left.connections), (vec!["Ada".to_owned()], 2));
    drop(anonymous);
    assert_eq!(presence_of(next_named(&mut ada, "presence").await).connections, 1);
    assert_eq!(app.snapshot().await.presence.online, ["Ada"]);

    for bad in ["", "%00x", &"a".repeat(41)] {
        let response = reqwest::get(format!("{}/api/events?name={bad}", app.base)).await.unwrap();
        assert_eq!(response.status(), 400, "{bad:?}");
    }
}
