//! The connection layer over raw sockets: plain `GET`s answered outside hyper (kept alive),
//! event streams too (chunked, `connection: close`, the last chunk at the end), everything else
//! handed to hyper with every byte the client sent, however it was split.

use std::future::Future;
use std::time::Duration;

use clap::Parser;
use serde_json::Value;
use tidings_server::{AppState, Config, serve_app};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{sleep, timeout};

const WAIT: Duration = Duration::from_secs(10);

async fn start() -> (String, tokio::task::JoinHandle<()>) {
    start_until(std::future::pending()).await
}

async fn start_until(
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> (String, tokio::task::JoinHandle<()>) {
    let state = AppState::new(Config::parse_from(["tidings-server", "--job-step-ms", "5"]));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let server = serve_app(listener, state, shutdown);
    (addr, tokio::spawn(async move { server.await.unwrap() }))
}

/// Reads from `socket` onto `received` until `done` says so.
async fn read_until(socket: &mut TcpStream, received: &mut String, done: impl Fn(&str) -> bool) {
    let mut buffer = [0_u8; 4096];
    while !done(received) {
        let n = timeout(WAIT, socket.read(&mut buffer)).await.expect("data in time").unwrap();
        assert!(n > 0, "the server closed early: {received}");
        received.push_str(std::str::from_utf8(&buffer[..n]).unwrap());
    }
}

/// Whether `text` holds one whole response with a `content-length` body.
fn whole_response(text: &str) -> bool {
    let Some((head, body)) = text.split_once("\r\n\r\n") else { return false };
    let length = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length: "))
        .map_or(0, |length| length.parse::<usize>().unwrap());
    body.len() >= length
}

/// Sends `parts` one by one, then reads until the server closes. In a test in paused time, the
/// pause between two parts ends only once every task is idle: the server has read all it was
/// sent and waits for more, so it sees each part apart.
async fn exchange(addr: &str, parts: &[&str]) -> String {
    let mut socket = TcpStream::connect(addr).await.unwrap();
    for (n, part) in parts.iter().enumerate() {
        if n > 0 {
            sleep(Duration::from_millis(1)).await;
        }
        socket.write_all(part.as_bytes()).await.unwrap();
    }
    let mut received = Vec::new();
    timeout(WAIT, socket.read_to_end(&mut received)).await.expect("the server closes").unwrap();
    String::from_utf8(received).unwrap()
}

/// The body of a chunked response, decoded with httparse; `None` if the last chunk is missing.
fn dechunk(mut body: &[u8]) -> Option<String> {
    let mut data = Vec::new();
    loop {
        let httparse::Status::Complete((start, size)) = httparse::parse_chunk_size(body).ok()?
        else {
            return None;
        };
        let size = usize::try_from(size).unwrap();
        if size == 0 {
            return (&body[start..] == b"\r\n").then(|| String::from_utf8(data).unwrap());
        }
        data.extend_from_slice(body.get(start..start + size)?);
        assert_eq!(body.get(start + size..start + size + 2)?, b"\r\n", "a chunk ends in CRLF");
        body = &body[start + size + 2..];
    }
}

#[tokio::test(start_paused = true)]
async fn a_stream_whose_head_comes_in_pieces_is_chunked_and_ends_with_the_last_chunk() {
    let (addr, _server) = start().await;
    let created = reqwest::Client::new()
        .post(format!("http://{addr}/api/jobs"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    let job: Value = serde_json::from_slice(&created.bytes().await.unwrap()).unwrap();
    let id = job["id"].as_str().map_or_else(|| job["id"].to_string(), str::to_owned);
    let path = format!("/api/jobs/{id}/events");
    let head = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n");
    let (first, rest) = head.split_at(12);
    let response = exchange(&addr, &[first, rest]).await;
    let (head, body) = response.split_once("\r\n\r\n").expect("a response head");
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    for field in
        ["content-type: text/event-stream", "transfer-encoding: chunked", "connection: close"]
    {
        assert!(head.lines().any(|line| line.eq_ignore_ascii_case(field)), "{field} in {head}");
    }
    let events = dechunk(body.as_bytes()).expect("every chunk and the last one");
    assert!(events.contains("event: start\n"), "{events}");
    assert!(events.contains("event: complete\n"), "{events}");

    // The job is over: a reconnect from its last event gets 204, no body, no chunking.
    let last_id = events.lines().rev().find_map(|line| line.strip_prefix("id: ")).unwrap();
    let head = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nLast-Event-ID: {last_id}\r\nConnection: close\r\n\r\n"
    );
    let response = exchange(&addr, &[&head]).await;
    assert!(response.starts_with("HTTP/1.1 204 No Content\r\n"), "{response}");
    assert!(response.ends_with("\r\n\r\n") && !response.contains("transfer-encoding"));
}

#[tokio::test]
async fn a_bad_stream_request_gets_its_json_error_with_a_length() {
    let (addr, _server) = start().await;
    let head = format!(
        "GET /api/events?topics=nope HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    );
    let response = exchange(&addr, &[&head]).await;
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{head}");
    assert!(head.contains(&format!("content-length: {}", body.len())), "{head}");
    let error: Value = serde_json::from_str(body).unwrap();
    assert_eq!(error["error"], "invalid_topics");
}

#[tokio::test(start_paused = true)]
async fn other_requests_reach_hyper_with_every_byte_however_split() {
    let (addr, _server) = start().await;
    let comment = r#"{"author":"Ada","text":"split in three"}"#;
    let post = format!(
        "POST /api/comments HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{comment}",
        comment.len()
    );
    let pipelined = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    let (head, body) = post.split_at(post.find("\r\n\r\n").unwrap() + 4);
    let (body_start, body_end) = body.split_at(10);
    let response =
        exchange(&addr, &[&head[..20], &head[20..], body_start, body_end, &pipelined]).await;
    let statuses: Vec<&str> = response.split("HTTP/1.1 ").skip(1).map(|rest| &rest[..3]).collect();
    assert_eq!(statuses, ["201", "200"], "{response}");

    let state = reqwest::get(format!("http://{addr}/api/state")).await.unwrap();
    let state: Value = serde_json::from_slice(&state.bytes().await.unwrap()).unwrap();
    assert_eq!(state["comments"][0]["text"], "split in three", "{state}");
}

#[tokio::test]
async fn a_kept_alive_connection_answers_gets_then_gives_its_stream_no_hyper_buffers() {
    let (addr, _server) = start().await;
    let mut socket = TcpStream::connect(&addr).await.unwrap();
    let mut received = String::new();
    for path in ["/healthz", "/api/state"] {
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
        socket.write_all(request.as_bytes()).await.unwrap();
        received.clear();
        read_until(&mut socket, &mut received, whole_response).await;
        assert!(received.starts_with("HTTP/1.1 200 OK\r\n"), "{received}");
        assert!(!received.contains("connection: close"), "kept alive: {received}");
    }
    let request = format!("GET /api/events?topics=ticker HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    socket.write_all(request.as_bytes()).await.unwrap();
    received.clear();
    read_until(&mut socket, &mut received, |text| text.contains("event: hello")).await;
    let (head, _) = received.split_once("\r\n\r\n").unwrap();
    for field in ["transfer-encoding: chunked", "connection: close"] {
        assert!(head.lines().any(|line| line == field), "{field} in {head}");
    }
}

#[tokio::test]
async fn shutdown_closes_kept_alive_connections_between_requests_at_once() {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (addr, server) = start_until(async move {
        let _ = stopped.await;
    })
    .await;
    let mut socket = TcpStream::connect(&addr).await.unwrap();
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut received = String::new();
    read_until(&mut socket, &mut received, whole_response).await;
    stop.send(()).unwrap();
    timeout(Duration::from_secs(2), server).await.expect("the server stops at once").unwrap();
    let mut rest = Vec::new();
    let n = timeout(WAIT, socket.read_to_end(&mut rest)).await.unwrap().unwrap();
    assert_eq!(n, 0, "closed without a word");
}

/// In paused time: the runtime jumps to the timeout once every task is idle.
#[tokio::test(start_paused = true)]
async fn a_connection_silent_for_30_s_is_closed_and_a_half_sent_head_is_still_answered() {
    let (addr, _server) = start().await;
    let opened = tokio::time::Instant::now();
    let mut silent = TcpStream::connect(&addr).await.unwrap();
    let mut rest = Vec::new();
    let n = timeout(Duration::from_secs(60), silent.read_to_end(&mut rest)).await.unwrap().unwrap();
    assert_eq!(n, 0, "closed without a word");
    let waited = opened.elapsed();
    assert!(waited >= Duration::from_secs(30) && waited < Duration::from_secs(31), "{waited:?}");

    // Half a head, then silence past the timeout: hyper gets it with the bytes sent so far.
    let mut slow = TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHo").await.unwrap();
    sleep(Duration::from_secs(31)).await;
    slow.write_all(format!("st: {addr}\r\nConnection: close\r\n\r\n").as_bytes()).await.unwrap();
    let mut response = String::new();
    timeout(WAIT, slow.read_to_string(&mut response)).await.unwrap().unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
}
