//! tidings-server over real sockets, read with an independent SSE parser (eventsource-stream).

use std::collections::BTreeMap;
use std::time::Duration;

use clap::Parser;
use eventsource_stream::Eventsource;
use futures::StreamExt;
use tidings_demo_events::Tick;
use tidings_server::{AppState, Config, serve};
use tidings_wire::EventId;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::timeout;

/// A server on a free loopback port, stopped when dropped.
struct TestServer {
    base: String,
    state: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    async fn start(extra: &[&str]) -> Self {
        let mut args = vec!["tidings-server", "--addr", "127.0.0.1:0", "--tick-interval-ms", "40"];
        args.extend_from_slice(extra);
        let config = Config::try_parse_from(args).expect("valid flags");
        let listener = TcpListener::bind(config.addr).await.expect("bind a loopback port");
        let base = format!("http://{}", listener.local_addr().expect("local address"));
        let (stop, stopped) = oneshot::channel::<()>();
        let (started, state) = oneshot::channel::<AppState>();
        let task = tokio::spawn(serve(
            listener,
            config,
            async move {
                let _ = stopped.await;
            },
            move |state| {
                let _ = started.send(state.clone());
            },
        ));
        let state = state.await.expect("the server starts");
        Self { base, state, stop: Some(stop), task: Some(task) }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Asks for shutdown and waits for the server to finish.
    async fn shut_down(mut self) -> std::io::Result<()> {
        let _ = self.stop.take().expect("not stopped yet").send(());
        let task = self.task.take().expect("not stopped yet");
        timeout(Duration::from_secs(5), task).await.expect("stops within 5 s").expect("no panic")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

const WAIT: Duration = Duration::from_secs(10);

/// The next `count` events of `events`, by id.
async fn next_ids<S, E>(events: &mut S, count: usize) -> BTreeMap<EventId, String>
where
    S: futures::Stream<Item = Result<eventsource_stream::Event, E>> + Unpin,
    E: std::fmt::Debug,
{
    let mut seen = BTreeMap::new();
    while seen.len() < count {
        let event = timeout(WAIT, events.next()).await.expect("an event in time");
        let event = event.expect("the stream is open").expect("a well-formed event");
        if event.event == "message" {
            seen.insert(event.id.parse::<EventId>().expect("an <epoch>-<seq> id"), event.data);
        }
    }
    seen
}

#[tokio::test]
async fn the_stream_has_sse_headers_and_is_not_compressed() {
    let server = TestServer::start(&[]).await;
    let response = reqwest::Client::new()
        .get(server.url("/api/events"))
        .header("accept-encoding", "gzip, br")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers();
    assert_eq!(headers["content-type"], "text/event-stream");
    assert_eq!(headers["cache-control"], "no-cache, no-transform");
    assert_eq!(headers["x-accel-buffering"], "no");
    assert!(headers.get("content-encoding").is_none());
    assert!(headers.get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn the_retry_hint_goes_out_at_once_and_alone() {
    let server = TestServer::start(&["--retry-ms", "1234", "--tick-interval-ms", "3600000"]).await;
    let mut response = reqwest::get(server.url("/api/events")).await.unwrap();
    // The ticker's first tick fires at once; later ones would take an hour. So the body holds
    // exactly the retry block and one tick until the test ends.
    let mut body = String::new();
    while !body.contains("\n\n") {
        let chunk = timeout(WAIT, response.chunk()).await.expect("bytes in time").unwrap();
        body.push_str(std::str::from_utf8(&chunk.expect("the stream is open")).unwrap());
    }
    assert!(body.starts_with("retry: 1234\n\n"), "{body:?}");
}

#[tokio::test]
async fn ticks_arrive_as_unnamed_messages_with_consecutive_ids() {
    let server = TestServer::start(&[]).await;
    let response = reqwest::get(server.url("/api/events?topics=ticker")).await.unwrap();
    let mut events = response.bytes_stream().eventsource();
    let hello = timeout(WAIT, events.next()).await.expect("hello in time").unwrap().unwrap();
    assert_eq!(hello.event, "hello");

    // Only the ticker's topic: every event after `hello` is a tick (heartbeats come every 15 s).
    let mut seen: Vec<(EventId, Tick)> = Vec::new();
    while seen.len() < 5 {
        let event = timeout(WAIT, events.next()).await.expect("a tick in time").unwrap().unwrap();
        assert_eq!(event.event, "message", "ticks are sent without an event name");
        let id: EventId = event.id.parse().expect("the id is <epoch>-<seq>");
        let tick: Tick = serde_json::from_str(&event.data).expect("the data is a Tick");
        seen.push((id, tick));
    }
    for pair in seen.windows(2) {
        let ((id_a, tick_a), (id_b, tick_b)) = (&pair[0], &pair[1]);
        assert_eq!(id_b.epoch(), id_a.epoch(), "one epoch");
        assert!(id_b > id_a, "ids increase (other topics' events may come between)");
        assert_eq!(tick_b.seq, tick_a.seq + 1);
        assert!(tick_b.at_ms >= tick_a.at_ms);
        assert!((tick_b.value - tick_a.value).abs() <= 1.0 + 1e-9);
    }
}

#[tokio::test]
async fn two_streams_see_the_same_ids() {
    let server = TestServer::start(&[]).await;
    let first = reqwest::get(server.url("/api/events")).await.unwrap();
    let second = reqwest::get(server.url("/api/events")).await.unwrap();
    let mut first = first.bytes_stream().eventsource();
    let mut second = second.bytes_stream().eventsource();
    let (a, b) = (next_ids(&mut first, 6).await, next_ids(&mut second, 6).await);
    // The two requests join a tick or two apart; the ticks they share are the same events,
    // serialised once.
    let shared: Vec<_> = a.keys().filter(|id| b.contains_key(id)).collect();
    assert!(shared.len() >= 3, "streams share ids: {a:?} vs {b:?}");
    for id in shared {
        assert_eq!(a[id], b[id]);
    }
}

#[tokio::test]
async fn healthz_answers_ok() {
    let server = TestServer::start(&[]).await;
    let response = reqwest::get(server.url("/healthz")).await.unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn serves_the_app_with_an_index_fallback_but_not_for_the_api() {
    let dist = tempfile::tempdir().unwrap();
    std::fs::write(dist.path().join("index.html"), "<!doctype html><title>app</title>").unwrap();
    std::fs::write(dist.path().join("style.css"), "body{}").unwrap();
    let dist_arg = dist.path().to_str().unwrap().to_owned();
    let server = TestServer::start(&["--dist", &dist_arg]).await;

    let css = reqwest::get(server.url("/style.css")).await.unwrap();
    assert_eq!(css.status(), 200);
    assert_eq!(css.text().await.unwrap(), "body{}");

    for path in ["/", "/some/client/route"] {
        let page = reqwest::get(server.url(path)).await.unwrap();
        assert_eq!(page.status(), 200, "{path}");
        assert!(page.text().await.unwrap().contains("<title>app</title>"), "{path}");
    }

    for path in ["/api", "/api/nope", "/api/events/extra"] {
        let missing = reqwest::get(server.url(path)).await.unwrap();
        assert_eq!(missing.status(), 404, "{path}");
        let body: serde_json::Value =
            serde_json::from_slice(&missing.bytes().await.unwrap()).unwrap();
        assert_eq!(body["error"], "not_found", "{path}");
        assert!(body["detail"].as_str().unwrap().contains(path), "{path}");
    }
}

#[tokio::test]
async fn cross_origin_access_only_in_test_mode_and_only_for_loopback() {
    let production = TestServer::start(&[]).await;
    let testing = TestServer::start(&["--test-mode"]).await;
    let client = reqwest::Client::new();
    let ask = |server: &TestServer, origin: &'static str| {
        client.get(server.url("/healthz")).header("origin", origin).send()
    };

    let response = ask(&production, "http://127.0.0.1:9").await.unwrap();
    assert!(response.headers().get("access-control-allow-origin").is_none());

    let response = ask(&testing, "http://127.0.0.1:9").await.unwrap();
    assert_eq!(response.headers()["access-control-allow-origin"], "http://127.0.0.1:9");
    assert_eq!(response.headers()["access-control-allow-credentials"], "true");

    let response = ask(&testing, "http://evil.example").await.unwrap();
    assert!(response.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn the_cors_allow_list_admits_exactly_its_origins() {
    let server = TestServer::start(&["--cors-origin", "https://app.example.com"]).await;
    let client = reqwest::Client::new();
    for (origin, allowed) in [
        ("https://app.example.com", true),
        ("https://APP.example.com", true),
        ("https://app.example.com.evil.test", false),
        ("http://app.example.com", false),
        ("http://127.0.0.1:9", false),
    ] {
        let response =
            client.get(server.url("/healthz")).header("origin", origin).send().await.unwrap();
        let header = response.headers().get("access-control-allow-origin");
        assert_eq!(header.is_some(), allowed, "{origin}");
    }
}

#[tokio::test]
async fn shutdown_ends_open_streams_and_the_server() {
    let server = TestServer::start(&[]).await;
    let response = reqwest::get(server.url("/api/events")).await.unwrap();
    let mut events = response.bytes_stream().eventsource();
    timeout(WAIT, events.next()).await.unwrap().unwrap().unwrap();

    let started = std::time::Instant::now();
    server.shut_down().await.expect("a clean stop");
    // The stream ends cleanly once the server stops (it may still hold a few buffered ticks).
    let rest = timeout(WAIT, async {
        let mut names = Vec::new();
        while let Some(event) = events.next().await {
            names.push(event.expect("a clean end, not a broken body"));
        }
        names
    })
    .await
    .expect("the stream ends");
    assert!(rest.len() < 100, "{} events after shutdown", rest.len());
    let last = rest.last().expect("a shutdown event at least");
    assert_eq!(last.event, "shutdown", "the last event says why the stream ends");
    let shutdown: tidings_wire::Shutdown = serde_json::from_str(&last.data).unwrap();
    assert!((3000..=6000).contains(&shutdown.retry_ms), "jittered retry {}", shutdown.retry_ms);
    assert_eq!(
        last.retry,
        Some(Duration::from_millis(shutdown.retry_ms)),
        "retry: is sent with it"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// The `hello`'s client id, then the stream.
async fn client_id<S, E>(events: &mut S) -> u64
where
    S: futures::Stream<Item = Result<eventsource_stream::Event, E>> + Unpin,
    E: std::fmt::Debug,
{
    let hello = timeout(WAIT, events.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(hello.event, "hello");
    serde_json::from_str::<tidings_wire::Hello>(&hello.data).unwrap().client_id
}

/// Whether the stream ends (cleanly) within a second.
async fn ends<S, E>(events: &mut S) -> bool
where
    S: futures::Stream<Item = Result<eventsource_stream::Event, E>> + Unpin,
    E: std::fmt::Debug,
{
    timeout(Duration::from_secs(1), async {
        while let Some(event) = events.next().await {
            assert_ne!(event.expect("a clean end").event, "shutdown", "a drop says nothing");
        }
    })
    .await
    .is_ok()
}

#[tokio::test]
async fn admin_drop_closes_one_client_or_every_stream_from_loopback() {
    let server = TestServer::start(&[]).await;
    let open = || async {
        reqwest::get(server.url("/api/events")).await.unwrap().bytes_stream().eventsource()
    };
    let (mut a, mut b) = (open().await, open().await);
    let (id_a, id_b) = (client_id(&mut a).await, client_id(&mut b).await);
    assert_ne!(id_a, id_b);
    let drop = |body: serde_json::Value| {
        reqwest::Client::new()
            .post(server.url("/api/admin/drop"))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
    };
    assert_eq!(drop(serde_json::json!({ "client": id_a })).await.unwrap().status(), 204);
    assert!(ends(&mut a).await, "client {id_a} is dropped");
    next_ids(&mut b, 1).await; // the other goes on
    assert_eq!(drop(serde_json::json!({})).await.unwrap().status(), 204);
    assert!(ends(&mut b).await, "every stream is dropped");
    assert_eq!(drop(serde_json::json!({ "everyone": true })).await.unwrap().status(), 422);
}

/// A payload big enough to fill socket buffers quickly.
#[derive(serde::Serialize, serde::Deserialize)]
struct Blob {
    text: String,
}

impl tidings_wire::Event for Blob {
    const NAME: &'static str = "blob";
}

#[tokio::test]
async fn a_client_that_stops_reading_is_cut_off_and_slows_nobody() {
    use tokio::io::AsyncWriteExt;
    let server =
        TestServer::start(&["--write-deadline-ms", "300", "--tick-interval-ms", "3600000"]).await;
    let mut watcher = reqwest::get(server.url("/api/events?topics=presence&name=watcher"))
        .await
        .unwrap()
        .bytes_stream()
        .eventsource();

    // A client with a tiny receive buffer that asks for the stream and never reads it.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stalled =
        socket.connect(server.base.trim_start_matches("http://").parse().unwrap()).await.unwrap();
    stalled
        .write_all(b"GET /api/events?topics=comments&name=stalled HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();

    let presence = |event: eventsource_stream::Event| {
        serde_json::from_str::<tidings_demo_events::Presence>(&event.data).unwrap().online
    };
    let mut online = Vec::new();
    while !online.contains(&"stalled".to_owned()) {
        let event = timeout(WAIT, watcher.next()).await.unwrap().unwrap().unwrap();
        if event.event == "presence" {
            online = presence(event);
        }
    }

    // 16 MB for the stalled client: far more than its socket buffers hold.
    let blob = Blob { text: "x".repeat(256 * 1024) };
    for _ in 0..64 {
        server.state.publish(tidings_wire::Topic::Comments, &blob).await.unwrap();
    }
    let started = std::time::Instant::now();
    while online.contains(&"stalled".to_owned()) {
        let event = timeout(WAIT, watcher.next())
            .await
            .expect("the stalled client is cut off")
            .unwrap()
            .unwrap();
        if event.event == "presence" {
            online = presence(event);
        }
    }
    assert_eq!(online, ["watcher"]);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "cut off after about the deadline: {:?}",
        started.elapsed()
    );
    drop(stalled);
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Note {
    text: String,
}

impl tidings_wire::Event for Note {
    const NAME: &'static str = "note";
}

#[tokio::test]
async fn a_slow_client_gets_the_latest_ticks_coalesced_and_every_other_event() {
    // Ticks only from this test (the server's own ticker waits an hour).
    let server = TestServer::start(&["--tick-interval-ms", "3600000"]).await;
    // A client with a tiny receive buffer; hyper reads the socket only as the body is polled.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream =
        socket.connect(server.base.trim_start_matches("http://").parse().unwrap()).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await.unwrap();
    tokio::spawn(connection);
    let request = hyper::Request::get("/api/events?topics=ticker,comments&name=slow")
        .header("host", "test")
        .body(http_body_util::Empty::<axum::body::Bytes>::new())
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let mut events = http_body_util::BodyDataStream::new(response.into_body()).eventsource();
    let hello = timeout(WAIT, events.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(hello.event, "hello");

    // Fill the socket buffers with big comments, then queue ticks and a few small notes behind
    // them: more ticks than the buffers could hold, fewer than the live queue.
    let blob = Blob { text: "x".repeat(128 * 1024) };
    for _ in 0..4 {
        server.state.publish(tidings_wire::Topic::Comments, &blob).await.unwrap();
    }
    for seq in 1..=900_u64 {
        #[allow(clippy::cast_precision_loss)] // small numbers
        let tick = Tick { seq, value: seq as f64, at_ms: seq };
        server.state.publish(tidings_wire::Topic::Ticker, &tick).await.unwrap();
        if seq % 300 == 0 {
            let note = Note { text: format!("after tick {seq}") };
            server.state.publish(tidings_wire::Topic::Comments, &note).await.unwrap();
        }
    }

    // Now read: everything up to the last note, and the ticks after it.
    let mut received = Vec::new();
    loop {
        let event = timeout(WAIT, events.next()).await.expect("events in time").unwrap().unwrap();
        let last_note = event.event == "note" && event.data.contains("after tick 900");
        received.push(event);
        if last_note {
            break;
        }
    }
    // This test's ticks (their `at_ms` is their number; the server's own first tick has a time).
    let ticks: Vec<u64> = received
        .iter()
        .filter(|event| event.event == "message")
        .map(|event| serde_json::from_str::<Tick>(&event.data).unwrap())
        .filter(|tick| tick.at_ms == tick.seq)
        .map(|tick| tick.seq)
        .collect();
    let notes = received.iter().filter(|event| event.event == "note").count();
    assert_eq!(notes, 3, "every other event arrives");
    assert_eq!(received.iter().filter(|event| event.event == "blob").count(), 4);
    assert!(ticks.len() < 450, "ticks were coalesced: {} of 900 sent", ticks.len());
    assert_eq!(ticks.last(), Some(&900), "the newest tick before the last note is never dropped");
    assert!(ticks.windows(2).all(|pair| pair[0] < pair[1]), "in order: {ticks:?}");
    let ids: Vec<EventId> = received
        .iter()
        .filter(|event| !event.id.is_empty())
        .map(|e| e.id.parse().unwrap())
        .collect();
    assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "ids only go forward");
}
