//! A small application of the engine, as a user would write one, served on a free loopback port
//! for the tests to talk to over real sockets.
#![allow(dead_code, unreachable_pub)] // each test file uses a part

use std::collections::HashMap;
use std::future::IntoFuture;
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use eventsource_stream::{Event, Eventsource};
use futures::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use tidings_axum::{EventStream, Hub, HubBuilder, LastEventId, Serve, Topic};
use tidings_wire::EventId;
use tokio::net::TcpListener;
use tokio::sync::{broadcast, oneshot};
use tokio::time::timeout;

#[cfg(feature = "tls")]
pub mod tls;

pub const WAIT: Duration = Duration::from_secs(10);

/// An unnamed event that numbers itself.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Tick {
    pub seq: u64,
}

impl tidings_wire::Event for Tick {
    const NAME: &'static str = tidings_wire::MESSAGE;
}

/// A named event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Note {
    pub text: String,
}

impl tidings_wire::Event for Note {
    const NAME: &'static str = "note";
}

/// A payload big enough to fill socket buffers quickly.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Blob {
    pub text: String,
}

impl tidings_wire::Event for Blob {
    const NAME: &'static str = "blob";
}

pub fn topic(name: &str) -> Topic {
    Topic::new(name).unwrap()
}

#[derive(Clone)]
struct AppState {
    hub: Hub,
    /// The `name` of each stream as it ends.
    closed: broadcast::Sender<String>,
}

impl axum::extract::FromRef<AppState> for Hub {
    fn from_ref(state: &AppState) -> Self {
        state.hub.clone()
    }
}

/// Says a stream's name when the stream ends, whatever ends it.
struct Closed {
    name: String,
    sender: broadcast::Sender<String>,
}

impl Drop for Closed {
    fn drop(&mut self) {
        let _ = self.sender.send(std::mem::take(&mut self.name));
    }
}

/// `GET /events?topics=a,b&name=N&end=note&hide=H&close_in_ms=M`: a stream of those topics
/// (`ticks` if none), ending after a `note` if asked, without the records whose data holds `H`,
/// closed `M` ms after it was asked for.
async fn events(
    State(state): State<AppState>,
    last: LastEventId,
    Query(query): Query<HashMap<String, String>>,
) -> Result<EventStream, (StatusCode, String)> {
    let topics = query.get("topics").map_or("ticks", String::as_str);
    let topics = topics
        .split(',')
        .map(Topic::new)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| (StatusCode::BAD_REQUEST, error.to_string()))?;
    let name = query.get("name").cloned().unwrap_or_default();
    let mut stream =
        state.hub.stream(topics).resume(last).guard(Closed { name, sender: state.closed.clone() });
    match query.get("end").map(String::as_str) {
        None => {}
        Some("note") => stream = stream.end_after::<Note>(),
        Some(other) => return Err((StatusCode::BAD_REQUEST, format!("no event type {other}"))),
    }
    if let Some(hidden) = query.get("hide").cloned() {
        stream = stream.filter(move |record| !record.data.contains(&hidden));
    }
    if let Some(ms) = query.get("close_in_ms").and_then(|ms| ms.parse().ok()) {
        stream = stream.close_at(tokio::time::Instant::now() + Duration::from_millis(ms));
    }
    Ok(stream)
}

/// `POST /notes` with a text body: publishes it as a `note` on `notes`.
async fn post_note(State(state): State<AppState>, text: String) -> StatusCode {
    match state.hub.publish(&topic("notes"), &Note { text }).await {
        Ok(_) => StatusCode::CREATED,
        Err(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// `GET /notes/last`: the last note's text.
async fn last_note(State(state): State<AppState>) -> String {
    let Some(head) = state.hub.log().head() else { return String::new() };
    let start = EventId::new(head.epoch(), 0);
    let records = state.hub.log().read_after(start).await.unwrap_or_default();
    let last = records.iter().rev().find(|record| record.name == "note");
    last.map(|record| serde_json::from_str::<Note>(&record.data).unwrap().text).unwrap_or_default()
}

pub fn router(hub: Hub, closed: broadcast::Sender<String>) -> Router {
    Router::new()
        .route("/events", get(events))
        .route("/notes", post(post_note))
        .route("/notes/last", get(last_note))
        .route("/gone", get(|| async { StatusCode::NO_CONTENT }))
        .route("/healthz", get(|| async { "ok" }))
        .route("/file", get(|| async { file(11) }))
        .route("/file/short", get(|| async { file(20) }))
        .with_state(AppState { hub, closed })
}

/// `hello, file` as a file is served: read in chunks (its body knows no length), its length
/// in a `content-length` the handler sets (`length`, which a broken handler may get wrong).
fn file(length: u64) -> impl axum::response::IntoResponse {
    let chunks = ["hello, ", "file"].map(|chunk| Ok::<_, std::io::Error>(chunk.as_bytes()));
    let body = axum::body::Body::from_stream(futures::stream::iter(chunks));
    ([(axum::http::header::CONTENT_LENGTH, length.to_string())], body)
}

/// The app on a free loopback port.
pub struct TestApp {
    pub base: String,
    pub addr: String,
    pub hub: Hub,
    closed: broadcast::Sender<String>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl TestApp {
    pub async fn start() -> Self {
        Self::start_with(Hub::builder(), |serve| serve).await
    }

    /// With these hub settings, served with `configure`d settings.
    pub async fn start_with(hub: HubBuilder, configure: impl FnOnce(Serve) -> Serve) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::start_on(listener, hub, configure)
    }

    /// With these hub settings, on sockets whose send buffers hold about `bytes` (a client that
    /// does not read blocks the server's writes that soon).
    pub async fn start_with_send_buffer(hub: HubBuilder, bytes: u32) -> Self {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_send_buffer_size(bytes).unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        Self::start_on(socket.listen(64).unwrap(), hub, |serve| serve)
    }

    fn start_on(
        listener: TcpListener,
        hub: HubBuilder,
        configure: impl FnOnce(Serve) -> Serve,
    ) -> Self {
        let hub = hub.build();
        let (closed, _) = broadcast::channel(64);
        let addr = listener.local_addr().unwrap().to_string();
        let (stop, stopped) = oneshot::channel::<()>();
        let draining = hub.clone();
        let server = configure(tidings_axum::serve(listener, router(hub.clone(), closed.clone())))
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
                draining.drain();
            });
        let task = tokio::spawn(server.into_future());
        Self {
            base: format!("http://{addr}"),
            addr,
            hub,
            closed,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Receives the `name` of each stream as it ends, from now on.
    pub fn closed(&self) -> broadcast::Receiver<String> {
        self.closed.subscribe()
    }

    pub async fn publish<T: tidings_wire::Event>(&self, topic_name: &str, event: &T) -> EventId {
        self.hub.publish(&topic(topic_name), event).await.unwrap().id
    }

    pub async fn publish_ticks(&self, count: u64) -> Vec<EventId> {
        let mut ids = Vec::new();
        for seq in 0..count {
            ids.push(self.publish("ticks", &Tick { seq }).await);
        }
        ids
    }

    /// A stream of `GET /events{query}`, its events parsed by eventsource-stream.
    pub async fn connect(
        &self,
        query: &str,
        last_event_id: Option<&str>,
    ) -> impl Stream<Item = Event> + Unpin + use<> {
        let mut request = reqwest::Client::new().get(format!("{}/events{query}", self.base));
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        Box::pin(
            response.bytes_stream().eventsource().map(|event| event.expect("a well-formed event")),
        )
    }

    /// Asks for shutdown and waits for the server to finish.
    pub async fn shut_down(mut self) -> std::io::Result<()> {
        let _ = self.stop.take().expect("not stopped yet").send(());
        let task = self.task.take().expect("not stopped yet");
        timeout(Duration::from_secs(5), task).await.expect("stops within 5 s").expect("no panic")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// The next event that is not a hello or a heartbeat.
pub async fn next_data(events: &mut (impl Stream<Item = Event> + Unpin)) -> Event {
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

pub fn id_of(event: &Event) -> EventId {
    event.id.parse().unwrap_or_else(|error| panic!("id {:?}: {error}", event.id))
}
