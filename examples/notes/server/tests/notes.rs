//! The notes example's server over real sockets, read with an independent SSE parser
//! (eventsource-stream): posted notes stream with ids, bad bodies get JSON errors and publish
//! nothing, a client resumes by `Last-Event-ID` or `?lastEventId=`, an id that cannot be
//! served gets a `resync`, and a stream needs a token that opens one stream only.

use std::time::Duration;

use eventsource_stream::{Event, Eventsource};
use futures::{Stream, StreamExt};
use tidings_axum::Hub;
use tidings_example_notes_contract::Note;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(10);

struct Example {
    base: String,
    hub: Hub,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Drop for Example {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn start() -> Example {
    start_with_session(tidings_example_notes::SESSION).await
}

async fn start_with_session(session: Duration) -> Example {
    let hub = Hub::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = tidings_example_notes::app_with_session(hub.clone(), "no-page".as_ref(), session);
    let task =
        tokio::spawn(std::future::IntoFuture::into_future(tidings_axum::serve(listener, app)));
    Example { base, hub, task }
}

async fn post(
    example: &Example,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> (u16, serde_json::Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/notes", example.base))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, serde_json::from_slice(&response.bytes().await.unwrap()).unwrap())
}

/// A token for one stream (`POST /notes/token`).
async fn token(example: &Example) -> String {
    let response =
        reqwest::Client::new().post(format!("{}/notes/token", example.base)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let token: serde_json::Value =
        serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    token["token"].as_str().expect("a token").to_owned()
}

async fn connect(
    example: &Example,
    query: &str,
    header: Option<&str>,
) -> impl Stream<Item = Event> + Unpin + use<> {
    let mut request = reqwest::Client::new()
        .get(format!("{}/notes/events{query}", example.base))
        .bearer_auth(token(example).await);
    if let Some(id) = header {
        request = request.header("last-event-id", id);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    Box::pin(response.bytes_stream().eventsource().map(|event| event.unwrap()))
}

/// The next event that is not `hello` or `heartbeat`.
async fn next(events: &mut (impl Stream<Item = Event> + Unpin)) -> Event {
    loop {
        let event = timeout(WAIT, events.next()).await.expect("in time").expect("open");
        if event.event != "hello" && event.event != "heartbeat" {
            return event;
        }
    }
}

#[tokio::test]
async fn a_posted_note_is_answered_201_and_streams_as_a_note_with_an_id() {
    let example = start().await;
    let mut events = connect(&example, "", None).await;
    let hello = timeout(WAIT, events.next()).await.unwrap().unwrap();
    assert_eq!(hello.event, "hello");
    let (status, body) = post(&example, "application/json", r#"{"text":"first"}"#).await;
    assert_eq!(status, 201);
    assert_eq!(body, serde_json::json!({ "id": 1, "text": "first" }));
    let event = next(&mut events).await;
    assert_eq!(event.event, "note");
    assert_eq!(
        serde_json::from_str::<Note>(&event.data).unwrap(),
        Note { id: 1, text: "first".into() }
    );
    assert_eq!(event.id, format!("{}-1", example.hub.log().epoch()));
}

#[tokio::test]
async fn bad_bodies_get_json_errors_and_publish_nothing() {
    let example = start().await;
    let mut events = connect(&example, "", None).await;
    let too_large = format!(r#"{{"text":"{}"}}"#, "x".repeat(17 * 1024));
    for (content_type, body, status, code) in [
        ("application/json", "{\"text\":", 400, "malformed_json"),
        ("application/json", "not json", 400, "malformed_json"),
        ("text/plain", r#"{"text":"hi"}"#, 415, "unsupported_media_type"),
        ("application/json", "{}", 422, "invalid_body"),
        ("application/json", r#"{"text":7}"#, 422, "invalid_body"),
        ("application/json", r#"{"text":"hi","pinned":true}"#, 422, "invalid_body"),
        ("application/json", too_large.as_str(), 413, "payload_too_large"),
    ] {
        let (got, error) = post(&example, content_type, body.to_owned()).await;
        assert_eq!((got, error["error"].as_str()), (status, Some(code)), "{body:.40}");
        assert!(!error["detail"].as_str().unwrap().is_empty());
    }
    assert_eq!(example.hub.log().head(), None, "nothing was published");
    // The next good note is the first event the stream sees.
    post(&example, "application/json", r#"{"text":"good"}"#).await;
    let event = next(&mut events).await;
    assert_eq!(serde_json::from_str::<Note>(&event.data).unwrap().text, "good");
}

#[tokio::test]
async fn a_client_resumes_by_header_or_query_without_gap_or_duplicate() {
    let example = start().await;
    for n in 1..=5 {
        post(&example, "application/json", format!(r#"{{"text":"{n}"}}"#)).await;
    }
    let epoch = example.hub.log().epoch();
    let texts = |events: Vec<Event>| -> Vec<String> {
        events.iter().map(|event| serde_json::from_str::<Note>(&event.data).unwrap().text).collect()
    };
    let mut by_header = connect(&example, "", Some(&format!("{epoch}-2"))).await;
    let mut by_query = connect(&example, &format!("?lastEventId={epoch}-4"), None).await;
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(next(&mut by_header).await);
    }
    assert_eq!(texts(got), ["3", "4", "5"]);
    assert_eq!(texts(vec![next(&mut by_query).await]), ["5"]);
    // Then live, on both.
    post(&example, "application/json", r#"{"text":"6"}"#).await;
    assert_eq!(texts(vec![next(&mut by_header).await, next(&mut by_query).await]), ["6", "6"]);
}

#[tokio::test]
async fn an_id_the_server_cannot_serve_gets_a_resync() {
    let example = start().await;
    post(&example, "application/json", r#"{"text":"one"}"#).await;
    let mut events = connect(&example, "", Some("not-an-id")).await;
    let event = next(&mut events).await;
    assert_eq!(event.event, "resync");
    let resync: tidings_wire::Resync = serde_json::from_str(&event.data).unwrap();
    assert_eq!(resync.reason, tidings_wire::ResyncReason::Malformed);
    assert_eq!(resync.current, example.hub.log().head());
}

#[tokio::test]
async fn a_stream_needs_a_token_that_opens_one_stream_only() {
    let example = start().await;
    let events = format!("{}/notes/events", example.base);
    let client = reqwest::Client::new();
    let status = |request: reqwest::RequestBuilder| async move {
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.headers().get("www-authenticate").cloned())
    };
    let (code, challenge) = status(client.get(&events)).await;
    assert_eq!((code, challenge.as_ref().map(|v| v.to_str().unwrap())), (401, Some("Bearer")));
    assert_eq!(status(client.get(&events).bearer_auth("made-up")).await.0, 401);
    let given = token(&example).await;
    assert_eq!(given.len(), 32, "128 bits in hex: {given}");
    let opened = client.get(&events).bearer_auth(&given).send().await.unwrap();
    assert_eq!(opened.status(), 200);
    assert_eq!(status(client.get(&events).bearer_auth(&given)).await.0, 401, "used up");
    assert_ne!(token(&example).await, token(&example).await, "each token new");
}

#[tokio::test]
async fn a_stream_closes_after_its_session_and_the_next_token_resumes_it_without_gap() {
    let example = start_with_session(Duration::from_millis(500)).await;
    let opened = tokio::time::Instant::now();
    let mut events = connect(&example, "", None).await;
    let (status, first) = post(&example, "application/json", r#"{"text":"one"}"#).await;
    assert_eq!(status, 201);
    let note = next(&mut events).await;
    assert_eq!(
        serde_json::from_str::<Note>(&note.data).unwrap(),
        serde_json::from_value(first).unwrap()
    );
    // The session's end: the body ends cleanly, nothing after the note.
    let rest = timeout(WAIT, events.collect::<Vec<_>>()).await.expect("the session ends");
    assert!(rest.iter().all(|event| event.event == "heartbeat"), "{rest:?}");
    assert!(opened.elapsed() >= Duration::from_millis(500));
    // A note while the page is away; the next session (a fresh token) resumes after the last id.
    post(&example, "application/json", r#"{"text":"two"}"#).await;
    let mut next_session = connect(&example, "", Some(&note.id)).await;
    let resumed = next(&mut next_session).await;
    assert_eq!(serde_json::from_str::<Note>(&resumed.data).unwrap().text, "two");
}
