//! `serve` over raw sockets, as a hostile or careless client would talk to it: plain `GET`s
//! answered on the lean path (an event stream chunked, `connection: close`, the last chunk at the
//! end), every other request handed to hyper with every byte the client sent, however it was
//! split; heads held to RFC 9112 on both paths.

mod common;

use std::time::Duration;

use common::{Note, TestApp, WAIT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{sleep, timeout};

/// Reads from `socket` onto `received` until `done` says so.
async fn read_until(socket: &mut TcpStream, received: &mut String, done: impl Fn(&str) -> bool) {
    let mut buffer = [0_u8; 4096];
    while !done(received) {
        let n = timeout(WAIT, socket.read(&mut buffer)).await.expect("data in time").unwrap();
        assert!(n > 0, "the server closed early: {received}");
        received.push_str(&String::from_utf8_lossy(&buffer[..n]));
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
    String::from_utf8_lossy(&received).into_owned()
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

fn has_field(head: &str, field: &str) -> bool {
    head.lines().any(|line| line.eq_ignore_ascii_case(field))
}

#[tokio::test(start_paused = true)]
async fn a_stream_whose_head_comes_in_pieces_is_chunked_and_ends_with_the_last_chunk() {
    let app = TestApp::start().await;
    let start = app.publish("ticks", &common::Tick { seq: 1 }).await;
    app.publish("jobs", &Note { text: "done".into() }).await;
    let head = format!(
        "GET /events?topics=jobs&end=note&lastEventId={start} HTTP/1.1\r\nHost: {}\r\n\
         Accept: text/event-stream\r\n\r\n",
        app.addr
    );
    let (first, rest) = head.split_at(12);
    let response = exchange(&app.addr, &[first, rest]).await;
    let (head, body) = response.split_once("\r\n\r\n").expect("a response head");
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    for field in
        ["content-type: text/event-stream", "transfer-encoding: chunked", "connection: close"]
    {
        assert!(has_field(head, field), "{field} in {head}");
    }
    let events = dechunk(body.as_bytes()).expect("every chunk and the last one");
    assert!(events.contains("event: hello\n"), "{events}");
    let last = "event: note\ndata: {\"text\":\"done\"}\n\nid: 0-0\nevent: end\ndata: {}\n\n";
    assert!(events.ends_with(last), "{events}");
}

#[tokio::test]
async fn a_bodiless_answer_to_a_stream_request_keeps_the_connection_for_the_next() {
    let app = TestApp::start().await;
    let mut socket = TcpStream::connect(&app.addr).await.unwrap();
    let mut received = String::new();
    let request =
        format!("GET /gone HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\n\r\n", app.addr);
    socket.write_all(request.as_bytes()).await.unwrap();
    read_until(&mut socket, &mut received, |text| text.contains("\r\n\r\n")).await;
    assert!(received.starts_with("HTTP/1.1 204 No Content\r\n"), "{received}");
    assert!(!received.contains("connection: close") && !received.contains("content-length"));
    // The same connection serves the next stream request.
    let request =
        format!("GET /events HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\n\r\n", app.addr);
    socket.write_all(request.as_bytes()).await.unwrap();
    received.clear();
    read_until(&mut socket, &mut received, |text| text.contains("event: hello")).await;
    assert!(received.starts_with("HTTP/1.1 200 OK\r\n"), "{received}");
}

#[tokio::test]
async fn a_bad_stream_request_gets_its_error_with_a_length() {
    let app = TestApp::start().await;
    let head = format!(
        "GET /events?topics=a%20b HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\nConnection: close\r\n\r\n",
        app.addr
    );
    let response = exchange(&app.addr, &[&head]).await;
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{head}");
    assert!(head.contains(&format!("content-length: {}", body.len())), "{head}");
    assert!(body.contains("cannot be in a topic name"), "{body}");
}

#[tokio::test(start_paused = true)]
async fn other_requests_reach_hyper_with_every_byte_however_split() {
    let app = TestApp::start().await;
    let text = "split in three";
    let post = format!(
        "POST /notes HTTP/1.1\r\nHost: {}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{text}",
        app.addr,
        text.len()
    );
    let pipelined =
        format!("GET /notes/last HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", app.addr);
    let (head, body) = post.split_at(post.find("\r\n\r\n").unwrap() + 4);
    let (body_start, body_end) = body.split_at(5);
    let response =
        exchange(&app.addr, &[&head[..20], &head[20..], body_start, body_end, &pipelined]).await;
    let statuses: Vec<&str> = response.split("HTTP/1.1 ").skip(1).map(|rest| &rest[..3]).collect();
    assert_eq!(statuses, ["201", "200"], "{response}");
    assert!(response.ends_with(text), "{response}");
}

/// Sends `request` on `socket` and reads its whole answer (one with a length).
async fn plain(socket: &mut TcpStream, request: &str) -> String {
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut received = String::new();
    read_until(socket, &mut received, whole_response).await;
    received
}

/// Sends a stream request on `socket` and reads its head and `hello`: the head.
async fn stream_head(app: &TestApp, socket: &mut TcpStream) -> String {
    let request =
        format!("GET /events HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\n\r\n", app.addr);
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut received = String::new();
    read_until(socket, &mut received, |text| text.contains("event: hello")).await;
    received.split_once("\r\n\r\n").unwrap().0.to_owned()
}

#[tokio::test]
async fn a_stream_sent_on_a_connection_kept_alive_from_plain_requests_is_answered_lean() {
    let app = TestApp::start().await;
    // As a browser does: the page's requests first (a plain `GET` answered lean, a `HEAD` by
    // hyper, which gives the connection back), then the stream on the same connection.
    let mut socket = TcpStream::connect(&app.addr).await.unwrap();
    let get =
        plain(&mut socket, &format!("GET /healthz HTTP/1.1\r\nHost: {}\r\n\r\n", app.addr)).await;
    assert!(get.starts_with("HTTP/1.1 200 OK\r\n") && get.ends_with("ok"), "{get}");
    assert!(!has_field(get.split_once("\r\n\r\n").unwrap().0, "connection: close"), "{get}");
    socket
        .write_all(format!("HEAD /healthz HTTP/1.1\r\nHost: {}\r\n\r\n", app.addr).as_bytes())
        .await
        .unwrap();
    let mut head = String::new();
    read_until(&mut socket, &mut head, |text| text.ends_with("\r\n\r\n")).await;
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    // The lean path's mark: it closes the connection after a stream.
    let head = stream_head(&app, &mut socket).await;
    assert!(has_field(&head, "connection: close"), "answered lean: {head}");
    let id = app.publish("ticks", &common::Tick { seq: 1 }).await;
    let mut received = String::new();
    read_until(&mut socket, &mut received, |text| text.contains(&format!("id: {id}"))).await;

    // A first request for a stream is answered lean too.
    let mut lean = TcpStream::connect(&app.addr).await.unwrap();
    assert!(has_field(&stream_head(&app, &mut lean).await, "connection: close"));
}

#[tokio::test]
async fn an_answer_whose_length_is_only_in_its_header_keeps_it_and_the_connection() {
    let app = TestApp::start().await;
    // A file's answer, as `ServeDir` makes it: the length in a header, the body in chunks.
    let mut socket = TcpStream::connect(&app.addr).await.unwrap();
    let file =
        plain(&mut socket, &format!("GET /file HTTP/1.1\r\nHost: {}\r\n\r\n", app.addr)).await;
    let (head, body) = file.split_once("\r\n\r\n").unwrap();
    assert!(has_field(head, "content-length: 11"), "{head}");
    assert!(!has_field(head, "transfer-encoding: chunked"), "{head}");
    assert!(!has_field(head, "connection: close"), "{head}");
    assert_eq!(body, "hello, file");
    // The connection is kept for the page's next request.
    let get =
        plain(&mut socket, &format!("GET /healthz HTTP/1.1\r\nHost: {}\r\n\r\n", app.addr)).await;
    assert!(get.starts_with("HTTP/1.1 200 OK\r\n") && get.ends_with("ok"), "{get}");

    // A body shorter than the length its handler set: the connection is cut where it ends,
    // as hyper cuts it, so the client knows the body is not whole.
    let short =
        exchange(&app.addr, &[&format!("GET /file/short HTTP/1.1\r\nHost: {}\r\n\r\n", app.addr)])
            .await;
    let (head, body) = short.split_once("\r\n\r\n").unwrap();
    assert!(has_field(head, "content-length: 20"), "{head}");
    assert_eq!(body, "hello, file");
}

#[tokio::test]
async fn after_a_request_with_a_body_or_a_close_the_connection_stays_with_hyper() {
    let app = TestApp::start().await;
    let mut socket = TcpStream::connect(&app.addr).await.unwrap();
    let post = format!("POST /notes HTTP/1.1\r\nHost: {}\r\nContent-Length: 2\r\n\r\nhi", app.addr);
    let answer = plain(&mut socket, &post).await;
    assert!(answer.starts_with("HTTP/1.1 201 Created\r\n"), "{answer}");
    let head = stream_head(&app, &mut socket).await;
    assert!(!has_field(&head, "connection: close"), "hyper's, kept alive: {head}");
    let id = app.publish("ticks", &common::Tick { seq: 1 }).await;
    let mut received = String::new();
    read_until(&mut socket, &mut received, |text| text.contains(&format!("id: {id}"))).await;

    // A request that asks to close is answered and the connection closed.
    let mut socket = TcpStream::connect(&app.addr).await.unwrap();
    let close = format!("GET /healthz HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", app.addr);
    socket.write_all(close.as_bytes()).await.unwrap();
    let mut rest = Vec::new();
    timeout(WAIT, socket.read_to_end(&mut rest)).await.expect("closed").unwrap();
    let rest = String::from_utf8(rest).unwrap();
    assert!(rest.starts_with("HTTP/1.1 200 OK\r\n") && rest.ends_with("ok"), "{rest}");
}

#[tokio::test]
async fn requests_pipelined_after_a_handed_back_one_are_each_answered_once_in_order() {
    let app = TestApp::start().await;
    app.publish("notes", &common::Note { text: "first".into() }).await;
    let mut socket = TcpStream::connect(&app.addr).await.unwrap();
    let host = &app.addr;
    // A length (of nothing) is not the lean path's: hyper answers, and gives the connection back.
    let handed = format!("GET /healthz HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\n\r\n");
    plain(&mut socket, &handed).await;
    // Two at once: a plain one, then a stream; whoever reads them answers both, in order.
    let both = format!(
        "GET /notes/last HTTP/1.1\r\nHost: {host}\r\n\r\n\
         GET /events HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n"
    );
    socket.write_all(both.as_bytes()).await.unwrap();
    let mut received = String::new();
    read_until(&mut socket, &mut received, |text| text.contains("event: hello")).await;
    let first = received.find("first").expect("the note's answer");
    let stream = received.find("text/event-stream").expect("the stream's head");
    assert!(first < stream, "in order: {received}");
    assert_eq!(received.matches("HTTP/1.1 200 OK").count(), 2, "each once: {received}");
}

#[tokio::test]
async fn with_lean_streams_off_a_first_stream_request_is_served_by_hyper() {
    let app =
        TestApp::start_with(tidings_axum::Hub::builder(), |serve| serve.lean_streams(false)).await;
    let mut socket = TcpStream::connect(&app.addr).await.unwrap();
    let request =
        format!("GET /events HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\n\r\n", app.addr);
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut received = String::new();
    read_until(&mut socket, &mut received, |text| text.contains("event: hello")).await;
    let (head, _) = received.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(!has_field(head, "connection: close"), "hyper's, kept alive: {head}");
    let id = app.publish("ticks", &common::Tick { seq: 1 }).await;
    read_until(&mut socket, &mut received, |text| text.contains(&format!("id: {id}"))).await;
}

#[tokio::test]
async fn shutdown_closes_kept_alive_connections_between_requests_at_once() {
    let app = TestApp::start().await;
    let mut socket = TcpStream::connect(&app.addr).await.unwrap();
    let request =
        format!("GET /gone HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\n\r\n", app.addr);
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut received = String::new();
    read_until(&mut socket, &mut received, |text| text.contains("\r\n\r\n")).await;
    timeout(Duration::from_secs(2), app.shut_down()).await.expect("stops at once").unwrap();
    let mut rest = Vec::new();
    let n = timeout(WAIT, socket.read_to_end(&mut rest)).await.unwrap().unwrap();
    assert_eq!(n, 0, "closed without a word");
}

/// In paused time: the runtime jumps to the timeout once every task is idle.
#[tokio::test(start_paused = true)]
async fn a_connection_silent_for_30_s_is_closed_and_a_half_sent_head_gets_408() {
    let app = TestApp::start().await;
    let opened = tokio::time::Instant::now();
    let mut silent = TcpStream::connect(&app.addr).await.unwrap();
    let mut rest = Vec::new();
    let n = timeout(Duration::from_secs(60), silent.read_to_end(&mut rest)).await.unwrap().unwrap();
    assert_eq!(n, 0, "closed without a word");
    let waited = opened.elapsed();
    assert!(waited >= Duration::from_secs(30) && waited < Duration::from_secs(31), "{waited:?}");

    // Half a head, then silence: answered 408 and closed at the timeout.
    let opened = tokio::time::Instant::now();
    let mut slow = TcpStream::connect(&app.addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHo").await.unwrap();
    let mut response = String::new();
    timeout(Duration::from_secs(60), slow.read_to_string(&mut response)).await.unwrap().unwrap();
    assert!(response.starts_with("HTTP/1.1 408 Request Timeout\r\n"), "{response}");
    let waited = opened.elapsed();
    assert!(waited >= Duration::from_secs(30) && waited < Duration::from_secs(31), "{waited:?}");
}

/// A client sending its head a line every 5 s holds the connection for the head timeout (here
/// 12 s), then gets 408: not that long again in hyper.
#[tokio::test(start_paused = true)]
async fn a_head_sent_a_line_at_a_time_is_cut_off_at_the_head_timeout() {
    let app = TestApp::start_with(tidings_axum::Hub::builder(), |serve| {
        serve.head_timeout(Duration::from_secs(12))
    })
    .await;
    let opened = tokio::time::Instant::now();
    let socket = TcpStream::connect(&app.addr).await.unwrap();
    let (mut reader, mut writer) = socket.into_split();
    let dripping = tokio::spawn(async move {
        writer.write_all(b"GET /api/events HTTP/1.1\r\n").await.ok()?;
        for n in 0.. {
            sleep(Duration::from_secs(5)).await;
            writer.write_all(format!("X-Line-{n}: x\r\n").as_bytes()).await.ok()?;
        }
        Some(())
    });
    let mut response = String::new();
    timeout(Duration::from_secs(120), reader.read_to_string(&mut response))
        .await
        .expect("closed within two minutes")
        .unwrap();
    let waited = opened.elapsed();
    assert!(response.starts_with("HTTP/1.1 408 Request Timeout\r\n"), "{response}");
    assert!(waited >= Duration::from_secs(12) && waited < Duration::from_secs(13), "{waited:?}");
    dripping.abort();
}

/// What the server answers to `request`, read until it closes.
async fn answer(app: &TestApp, request: &str) -> String {
    exchange(&app.addr, &[request]).await
}

#[tokio::test]
async fn a_request_without_exactly_one_host_is_a_400_on_either_path() {
    let app = TestApp::start().await;
    for accept in ["Accept: text/event-stream\r\n", ""] {
        for hosts in ["", "Host: a\r\nHost: b\r\n"] {
            let request = format!("GET /events HTTP/1.1\r\n{hosts}{accept}\r\n");
            let response = answer(&app, &request).await;
            assert!(
                response.starts_with("HTTP/1.1 400 Bad Request\r\n"),
                "{request:?}: {response}"
            );
            assert!(response.contains("exactly one Host"), "{response}");
        }
    }
    // HTTP/1.0 may leave Host out.
    let response = answer(&app, "GET /healthz HTTP/1.0\r\n\r\n").await;
    assert!(response.starts_with("HTTP/1.0 200 OK\r\n"), "{response}");
}

#[tokio::test]
async fn a_head_over_16_kib_is_a_431_on_either_path() {
    let app = TestApp::start().await;
    let padding = format!("X-Padding: {}\r\n", "a".repeat(17 * 1024));
    for first in ["", "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"] {
        // Alone (the lean path reads it), or after a request that took the connection to hyper.
        let mut socket = TcpStream::connect(&app.addr).await.unwrap();
        let request = format!(
            "{first}GET /events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n{padding}\r\n"
        );
        // The server may answer and close before it has read everything: ignore write errors.
        let _ = socket.write_all(request.as_bytes()).await;
        let mut received = Vec::new();
        let _ = timeout(WAIT, socket.read_to_end(&mut received)).await.unwrap_or_else(|_| {
            panic!("an answer after {first:?}: {:?}", String::from_utf8_lossy(&received))
        });
        let received = String::from_utf8_lossy(&received);
        let last_status = received.rsplit("HTTP/1.1 ").next().unwrap_or_default();
        assert!(last_status.starts_with("431 "), "after {first:?}: {received}");
    }
}

#[tokio::test]
async fn content_length_and_transfer_encoding_on_a_get_smuggle_nothing() {
    let app = TestApp::start().await;
    // Read by its chunks (an empty body), answered, and the connection closed: the request
    // hidden after the body is never answered.
    let smuggled = "GET /healthz HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nContent-Length: 44\r\n\
         Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /notes/last HTTP/1.1\r\nHost: x\r\n\r\n";
    let response = answer(&app, smuggled).await;
    assert_eq!(response.matches("HTTP/1.1 ").count(), 1, "one answer only: {response}");
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n") && response.ends_with("ok"), "{response}");
    // Two different lengths: refused.
    let response = answer(
        &app,
        "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
    )
    .await;
    assert!(response.starts_with("HTTP/1.1 400 "), "{response}");
    // A transfer coding that is not chunked: refused.
    let response =
        answer(&app, "GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n").await;
    assert!(response.starts_with("HTTP/1.1 400 "), "{response}");
}

#[tokio::test]
async fn handlers_see_the_peer_address_on_either_path() {
    use axum::extract::ConnectInfo;
    use std::net::SocketAddr;
    let app = axum::Router::new().route(
        "/peer",
        axum::routing::get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move {
            peer.ip().to_string()
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let server =
        tokio::spawn(std::future::IntoFuture::into_future(tidings_axum::serve(listener, app)));
    for accept in ["Accept: text/event-stream\r\n", ""] {
        let request = format!("GET /peer HTTP/1.1\r\nHost: x\r\n{accept}Connection: close\r\n\r\n");
        let response = exchange(&addr, &[&request]).await;
        assert!(response.ends_with("127.0.0.1"), "{accept:?}: {response}");
    }
    server.abort();
}

#[tokio::test]
async fn a_response_that_never_ends_cannot_hold_shutdown_up() {
    let app = axum::Router::new().route(
        "/forever",
        axum::routing::get(|| async {
            axum::body::Body::from_stream(futures::stream::pending::<
                Result<bytes::Bytes, std::io::Error>,
            >())
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tidings_axum::serve(listener, app)
        .shutdown_grace(Duration::from_millis(200))
        .with_graceful_shutdown(async move {
            let _ = stopped.await;
        });
    let server = tokio::spawn(std::future::IntoFuture::into_future(server));
    let mut held = Vec::new();
    for accept in ["Accept: text/event-stream\r\n", ""] {
        let mut socket = TcpStream::connect(&addr).await.unwrap();
        let request = format!("GET /forever HTTP/1.1\r\nHost: x\r\n{accept}\r\n");
        socket.write_all(request.as_bytes()).await.unwrap();
        let mut received = String::new();
        read_until(&mut socket, &mut received, |text| text.contains("\r\n\r\n")).await;
        held.push(socket);
    }
    let started = std::time::Instant::now();
    stop.send(()).unwrap();
    timeout(WAIT, server).await.expect("the server stops").unwrap().unwrap();
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(200) && took < Duration::from_secs(5), "{took:?}");
    for mut socket in held {
        // The read ends (a close, or a reset): the connection was cut, not left open.
        let mut rest = Vec::new();
        let _ = timeout(WAIT, socket.read_to_end(&mut rest)).await.expect("the connection is cut");
    }
}

/// `bind` leaves room for a burst of clients: 600 connect at once to a listener that accepts
/// none of them yet, and every connection is made (the kernel holds it for `accept`). tokio's
/// `TcpListener::bind` asks for a backlog of 128: the 130th `SYN` would be dropped and retried a
/// second later, again and again while nobody accepts.
#[tokio::test]
async fn bind_holds_a_burst_of_connections_until_they_are_accepted() {
    let listener = tidings_axum::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    let attempts = (0..600).map(|_| timeout(Duration::from_secs(2), TcpStream::connect(addr)));
    let made = futures::future::join_all(attempts).await;
    let connected = made.iter().filter(|made| matches!(made, Ok(Ok(_)))).count();
    assert_eq!(connected, 600, "every connection of the burst waits in the backlog");
    drop(listener);
}

/// The hub's writers write a waiting stream's records straight to its socket only while the
/// stream's frames reach the socket as the stream made them: a layer that rewrites them sees
/// every frame, live ones included.
#[tokio::test]
async fn a_layer_that_rewrites_a_streams_frames_rewrites_every_live_one() {
    use axum::body::{Body, Bytes};
    use axum::response::Response;
    use http_body_util::BodyExt;

    let hub = tidings_axum::Hub::new();
    let streams = hub.clone();
    let app = axum::Router::new()
        .route(
            "/events",
            axum::routing::get(move || {
                let hub = streams.clone();
                async move { hub.stream([tidings_axum::Topic::from_static("ticks")]) }
            }),
        )
        .layer(axum::middleware::map_response(|response: Response| async move {
            response.map(|body| {
                Body::new(body.map_frame(|frame| {
                    frame.map_data(|data| Bytes::from([b": seen\n".as_slice(), &data].concat()))
                }))
            })
        }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(std::future::IntoFuture::into_future(tidings_axum::serve(listener, app)));
    let mut socket = TcpStream::connect(&addr).await.unwrap();
    let request = format!("GET /events HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut received = String::new();
    read_until(&mut socket, &mut received, |text| text.contains("event: hello")).await;
    // One at a time: the stream waits between two, as a stream the writers take over would.
    for seq in 1..=20 {
        hub.publish(&tidings_axum::Topic::from_static("ticks"), &common::Tick { seq })
            .await
            .unwrap();
        let data = format!("data: {{\"seq\":{seq}}}\n");
        read_until(&mut socket, &mut received, |text| text.contains(&data)).await;
        let frame = received.rsplit("\r\n").find(|part| part.contains(&data)).unwrap();
        assert!(frame.starts_with(": seen\n"), "rewritten: {frame:?}");
    }
}
