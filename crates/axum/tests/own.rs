//! A handler's own stream (`Hub::stream_from`, `Hub::stream_records`) over real sockets, read
//! with an independent SSE parser: its items in order with their ids, heartbeats while quiet, its
//! end closing the response and marked so that a reconnect gets `204`, a resume after what the
//! client has, closing by key, `shutdown` on drain, and the write deadline for a client that
//! never reads.

mod common;

use std::future::IntoFuture;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use common::WAIT;
use eventsource_stream::{Event, Eventsource};
use futures::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use tidings_axum::{Hub, LastEventId, OwnStream, Topic};
use tidings_testkit::sse::stream_key;
use tidings_wire::{End, EventId};
use tokio::io::AsyncWriteExt;
use tokio::time::timeout;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Answer {
    Piece { text: String },
    Done { pieces: usize },
}

impl tidings_wire::Event for Answer {
    const NAME: &'static str = "answer";
}

/// `POST /ask`: each word of the body as a piece (the last after a pause), then `done`.
async fn ask(State(hub): State<Hub>, question: String) -> OwnStream {
    let words: Vec<String> = question.split_whitespace().map(str::to_owned).collect();
    let (pieces, last) = (words.len(), words.len().saturating_sub(1));
    let answer = futures::stream::iter(words.into_iter().enumerate())
        .then(move |(n, text)| async move {
            if n == last {
                tokio::time::sleep(Duration::from_millis(350)).await;
            }
            Answer::Piece { text }
        })
        .chain(futures::stream::once(async move { Answer::Done { pieces } }));
    hub.stream_from(answer)
}

/// A line of a poem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Line {
    n: u32,
}

impl tidings_wire::Event for Line {
    const NAME: &'static str = "line";
}

/// `GET /poem`: four lines, resumed from the client's last id.
async fn poem(State(hub): State<Hub>, last: LastEventId) -> OwnStream {
    hub.stream_from(futures::stream::iter((1..=4).map(|n| Line { n }))).resume(last)
}

/// `GET /history`: the records of `notes` after the client's id (all without one), then the end.
async fn history(State(hub): State<Hub>, last: LastEventId) -> OwnStream {
    let start = EventId::new(hub.log().epoch(), 0);
    let after = last.as_deref().and_then(|id| id.parse().ok()).unwrap_or(start);
    let records = hub.log().read_after(after).await.unwrap_or_default();
    let notes = records.into_iter().filter(|record| record.topic.as_str() == "notes");
    hub.stream_records(futures::stream::iter(notes)).resume(last)
}

/// `GET /forever`: a stream with no items, open until closed.
async fn forever(State(hub): State<Hub>) -> OwnStream {
    hub.stream_from(futures::stream::pending::<Answer>())
}

/// `GET /flood`: pieces of 64 KiB, without end.
async fn flood(State(hub): State<Hub>) -> OwnStream {
    let piece = "x".repeat(64 * 1024);
    hub.stream_from(futures::stream::repeat_with(move || Answer::Piece { text: piece.clone() }))
}

struct App {
    base: String,
    addr: String,
    hub: Hub,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Drop for App {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn start() -> App {
    let hub = Hub::builder().heartbeat(Duration::from_millis(100)).build();
    let router = Router::new()
        .route("/ask", post(ask))
        .route("/forever", get(forever))
        .route("/flood", get(flood))
        .route("/poem", get(poem))
        .route("/history", get(history))
        .with_state(hub.clone());
    let listener = tidings_axum::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let serve = tidings_axum::serve(listener, router).write_deadline(Duration::from_millis(300));
    let task = tokio::spawn(serve.into_future());
    App { base: format!("http://{addr}"), addr, hub, task }
}

fn events(response: reqwest::Response) -> impl Stream<Item = Event> + Unpin {
    Box::pin(response.bytes_stream().eventsource().map(|event| event.expect("a well-formed event")))
}

async fn next(events: &mut (impl Stream<Item = Event> + Unpin)) -> Option<Event> {
    timeout(WAIT, events.next()).await.expect("an event or the end in time")
}

/// Every event until the stream ends, which must be within [`WAIT`] in all (heartbeats do not
/// keep it waiting).
async fn rest(events: &mut (impl Stream<Item = Event> + Unpin)) -> Vec<Event> {
    timeout(WAIT, events.collect::<Vec<_>>()).await.expect("the stream ends in time")
}

async fn until_no_stream_is_open(hub: &Hub) {
    let started = tokio::time::Instant::now();
    while hub.open_streams() > 0 {
        assert!(started.elapsed() < WAIT, "{} streams still open", hub.open_streams());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_handlers_own_stream_sends_its_items_in_order_with_heartbeats_then_ends() {
    let app = start().await;
    let response = reqwest::Client::new()
        .post(format!("{}/ask", app.base))
        .body("streams are nice")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut events = events(response);
    // (The `retry:` before it is a block of its own, which the parser keeps to itself.)
    assert_eq!(next(&mut events).await.unwrap().event, "hello");
    let mut answers = Vec::new();
    let mut heartbeats_before_last = 0;
    for event in rest(&mut events).await {
        match event.event.as_str() {
            "heartbeat" if answers.len() == 2 => heartbeats_before_last += 1,
            "heartbeat" => {}
            "answer" => {
                assert_eq!(event.id, format!("0-{}", answers.len() + 1), "numbered in order");
                answers.push(serde_json::from_str::<Answer>(&event.data).unwrap());
            }
            "end" => assert_eq!(answers.len(), 4, "the end comes last"),
            other => panic!("unexpected {other}"),
        }
    }
    let piece = |text: &str| Answer::Piece { text: text.into() };
    assert_eq!(
        answers,
        [piece("streams"), piece("are"), piece("nice"), Answer::Done { pieces: 3 }],
        "in order, and the end of the items ends the response"
    );
    assert!(heartbeats_before_last >= 2, "heartbeats while it was quiet: {heartbeats_before_last}");
    until_no_stream_is_open(&app.hub).await;
}

#[tokio::test]
async fn an_own_stream_is_closed_by_its_key_and_ends_with_shutdown_on_drain() {
    let app = start().await;
    let response = reqwest::get(format!("{}/forever", app.base)).await.unwrap();
    let mut raw = Box::pin(response.bytes_stream().eventsource());
    let key = stream_key(&mut raw).await;
    let mut first = raw.map(|event| event.expect("a well-formed event"));
    assert!(app.hub.close_stream(key.parse().unwrap()));
    for event in rest(&mut first).await {
        assert_eq!(event.event, "heartbeat", "closed without a word");
    }

    let mut second = events(reqwest::get(format!("{}/forever", app.base)).await.unwrap());
    assert_eq!(next(&mut second).await.unwrap().event, "hello");
    app.hub.drain();
    let last = rest(&mut second).await.pop().expect("a last event");
    assert_eq!(last.event, "shutdown");
    assert!(last.retry.is_some_and(|retry| retry >= Duration::from_secs(3)), "{last:?}");
    until_no_stream_is_open(&app.hub).await;
}

#[tokio::test]
async fn a_client_that_never_reads_its_own_stream_is_cut_off_by_the_write_deadline() {
    let app = start().await;
    let mut socket = tokio::net::TcpStream::connect(&app.addr).await.unwrap();
    let request =
        format!("GET /flood HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\n\r\n", app.addr);
    socket.write_all(request.as_bytes()).await.unwrap();
    // It never reads: the server's writes block, and after 300 ms the stream is dropped.
    let started = tokio::time::Instant::now();
    while app.hub.open_streams() == 0 {
        assert!(started.elapsed() < WAIT, "the stream did not open");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    until_no_stream_is_open(&app.hub).await;
    drop(socket);
}

/// `GET {path}` with `last` as `Last-Event-ID`: the status, the events (no hello or heartbeat),
/// and whether the last was `end` with the id `0-0` (then left out of the events).
async fn get_with_id(app: &App, path: &str, last: Option<&str>) -> (u16, Vec<Event>, bool) {
    let mut request = reqwest::Client::new().get(format!("{}{path}", app.base));
    if let Some(last) = last {
        request = request.header("last-event-id", last);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let body = timeout(WAIT, response.bytes()).await.expect("the body ends in time").unwrap();
    let text = String::from_utf8(body.to_vec()).unwrap();
    let parsed = futures::stream::iter([Ok::<_, std::convert::Infallible>(body)]).eventsource();
    let mut events: Vec<Event> = parsed
        .map(|event| event.expect("a well-formed event"))
        .filter(|event| {
            let engine = ["hello", "heartbeat"].contains(&event.event.as_str());
            std::future::ready(!engine)
        })
        .collect()
        .await;
    let finished = events.last().is_some_and(|last| (&*last.event, &*last.id) == ("end", "0-0"));
    if finished {
        assert_eq!(events.pop().unwrap().data, "{}");
    }
    assert!(text.is_empty() || text.ends_with("\n\n"), "whole events only: {text:?}");
    (status, events, finished)
}

fn lines(events: &[Event]) -> Vec<(String, u32)> {
    events
        .iter()
        .map(|event| {
            assert_eq!(event.event, "line");
            (event.id.clone(), serde_json::from_str::<Line>(&event.data).unwrap().n)
        })
        .collect()
}

fn numbered(range: std::ops::RangeInclusive<u32>) -> Vec<(String, u32)> {
    range.map(|n| (format!("0-{n}"), n)).collect()
}

#[tokio::test]
async fn a_finished_own_stream_answers_a_reconnect_with_204_and_a_cut_one_resumes_after_its_last_item()
 {
    let app = start().await;
    let (status, events, finished) = get_with_id(&app, "/poem", None).await;
    assert_eq!(status, 200);
    assert_eq!(lines(&events), numbered(1..=4));
    assert!(finished, "the end is said, with the id a reconnect carries");

    // A browser reconnects after the end with that id: 204, and no stream opens.
    let (status, events, _) = get_with_id(&app, "/poem", Some(&End::ID.to_string())).await;
    assert_eq!((status, events.len()), (204, 0));
    assert_eq!(app.hub.open_streams(), 0);

    // Cut off after the second line: the rest, then the end.
    let (status, events, finished) = get_with_id(&app, "/poem", Some("0-2")).await;
    assert_eq!(status, 200);
    assert_eq!(lines(&events), numbered(3..=4), "no line twice, none missing");
    assert!(finished);

    // An id of something else (another epoch): from the start.
    let (_, events, _) = get_with_id(&app, "/poem", Some("7-2")).await;
    assert_eq!(lines(&events), numbered(1..=4));
    until_no_stream_is_open(&app.hub).await;
}

#[tokio::test]
async fn a_stream_of_records_sends_them_with_their_ids_and_ends_marked() {
    let app = start().await;
    let (notes, other) = (Topic::from_static("notes"), Topic::from_static("other"));
    let mut ids = Vec::new();
    for n in 1..=3 {
        ids.push(app.hub.publish(&notes, &Line { n }).await.unwrap().id.to_string());
        app.hub.publish(&other, &Line { n: 100 + n }).await.unwrap();
    }
    let (status, events, finished) = get_with_id(&app, "/history", None).await;
    assert_eq!(status, 200);
    let expected: Vec<(String, u32)> = ids.iter().cloned().zip(1..=3).collect();
    assert_eq!(lines(&events), expected, "the records' own ids and names, in order");
    assert!(finished);

    let (_, events, finished) = get_with_id(&app, "/history", Some(&ids[0])).await;
    assert_eq!(lines(&events), expected[1..], "after the client's id, as the handler chose");
    assert!(finished);

    let (status, _, _) = get_with_id(&app, "/history", Some("0-0")).await;
    assert_eq!(status, 204);
    until_no_stream_is_open(&app.hub).await;
}
