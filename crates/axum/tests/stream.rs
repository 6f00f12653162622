//! Streams over real sockets, read with an independent SSE parser (eventsource-stream): headers,
//! the opening frames, ids, fan-out, closing streams, drain, and slow clients.

mod common;

use std::time::Duration;

use common::{Blob, Note, TestApp, Tick, WAIT, id_of, next_data};
use eventsource_stream::Eventsource;
use futures::StreamExt;
use tidings_axum::{Hub, StreamKey};
use tidings_testkit::sse::{ends, stream_key};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;

#[tokio::test]
async fn the_stream_has_sse_headers_and_is_not_compressed() {
    let app = TestApp::start().await;
    let response = reqwest::Client::new()
        .get(app.url("/events"))
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
}

#[tokio::test]
async fn the_retry_hint_and_hello_go_out_at_once() {
    let app = TestApp::start_with(Hub::builder().retry(Duration::from_millis(1234)), |s| s).await;
    let mut response = reqwest::get(app.url("/events")).await.unwrap();
    // Nothing is published: the body holds exactly the opening until the test ends.
    let mut body = String::new();
    while !body.contains("event: hello") || !body.ends_with("\n\n") {
        let chunk = timeout(WAIT, response.chunk()).await.expect("bytes in time").unwrap();
        body.push_str(std::str::from_utf8(&chunk.expect("the stream is open")).unwrap());
    }
    assert!(body.starts_with("retry: 1234\n\nevent: hello\ndata: {"), "{body:?}");
    let hello = body.lines().find_map(|line| line.strip_prefix("data: ")).unwrap();
    let hello: tidings_wire::Hello = serde_json::from_str(hello).unwrap();
    assert_eq!(hello.stream_key.len(), 32, "an unguessable key: {hello:?}");
}

#[tokio::test]
async fn published_events_arrive_in_order_with_their_names_and_consecutive_ids() {
    let app = TestApp::start().await;
    let mut events = app.connect("?topics=ticks,notes", None).await;
    let hello = timeout(WAIT, events.next()).await.unwrap().unwrap();
    assert_eq!(hello.event, "hello");
    for seq in 1..=3 {
        app.publish("ticks", &Tick { seq }).await;
    }
    app.publish("notes", &Note { text: "a\nmulti-line\r\nnote".into() }).await;
    let mut ids = Vec::new();
    for seq in 1..=3 {
        let event = next_data(&mut events).await;
        assert_eq!(event.event, "message", "unnamed events arrive as `message`");
        assert_eq!(serde_json::from_str::<Tick>(&event.data).unwrap(), Tick { seq });
        ids.push(id_of(&event));
    }
    let note = next_data(&mut events).await;
    assert_eq!(note.event, "note");
    assert_eq!(serde_json::from_str::<Note>(&note.data).unwrap().text, "a\nmulti-line\r\nnote");
    ids.push(id_of(&note));
    for pair in ids.windows(2) {
        assert_eq!(pair[1].epoch(), pair[0].epoch(), "one epoch");
        assert_eq!(pair[1].seq(), pair[0].seq() + 1, "consecutive: {ids:?}");
    }
}

#[tokio::test]
async fn a_filtered_stream_never_sees_what_it_filters_live_or_resuming_and_others_see_all() {
    let app = TestApp::start().await;
    let mut filtered = app.connect("?topics=notes&hide=secret", None).await;
    let mut everything = app.connect("?topics=notes", None).await;
    for stream in [&mut filtered, &mut everything] {
        assert_eq!(timeout(WAIT, stream.next()).await.unwrap().unwrap().event, "hello");
    }
    let texts = ["public 1", "secret 2", "public 3", "secret 4", "public 5"];
    for text in texts {
        app.publish("notes", &Note { text: text.into() }).await;
    }
    let text =
        |event: &eventsource_stream::Event| serde_json::from_str::<Note>(&event.data).unwrap().text;
    let mut seen = Vec::new();
    for _ in 0..5 {
        seen.push(text(&next_data(&mut everything).await));
    }
    assert_eq!(seen, texts, "an unfiltered stream of the same topic gets every record");
    let mut live = Vec::new();
    for _ in 0..3 {
        live.push(next_data(&mut filtered).await);
    }
    assert_eq!(live.iter().map(text).collect::<Vec<_>>(), ["public 1", "public 3", "public 5"]);
    // Resuming after "public 1": the next record it may see, and nothing it may not.
    let first = live[0].id.clone();
    let mut resumed = app.connect("?topics=notes&hide=secret", Some(&first)).await;
    assert_eq!(text(&next_data(&mut resumed).await), "public 3");
    assert_eq!(text(&next_data(&mut resumed).await), "public 5");
    app.publish("notes", &Note { text: "public 6".into() }).await;
    assert_eq!(text(&next_data(&mut resumed).await), "public 6", "then live, no gap");
}

#[tokio::test]
async fn every_stream_gets_the_same_event_encoded_once() {
    let app = TestApp::start().await;
    let mut a = app.connect("", None).await;
    let mut b = app.connect("", None).await;
    let record = app.hub.publish(&common::topic("ticks"), &Tick { seq: 9 }).await.unwrap();
    for events in [&mut a, &mut b] {
        let event = next_data(events).await;
        assert_eq!((id_of(&event), event.data.as_str()), (record.id, r#"{"seq":9}"#));
    }
    assert_eq!(
        &record.frame()[..],
        format!("id: {}\ndata: {{\"seq\":9}}\n\n", record.id).as_bytes()
    );
}

#[tokio::test]
async fn shutdown_ends_open_streams_with_a_jittered_retry_and_the_server() {
    let app = TestApp::start_with(Hub::builder().retry(Duration::from_secs(3)), |s| s).await;
    let response = reqwest::get(app.url("/events")).await.unwrap();
    let mut events = response.bytes_stream().eventsource();
    timeout(WAIT, events.next()).await.unwrap().unwrap().unwrap();

    let started = std::time::Instant::now();
    app.shut_down().await.expect("a clean stop");
    let rest = timeout(WAIT, async {
        let mut rest = Vec::new();
        while let Some(event) = events.next().await {
            rest.push(event.expect("a clean end, not a broken body"));
        }
        rest
    })
    .await
    .expect("the stream ends");
    assert_eq!(rest.len(), 1, "nothing but the shutdown: {rest:?}");
    let last = &rest[0];
    assert_eq!(last.event, "shutdown", "the last event says why the stream ends");
    let shutdown: tidings_wire::Shutdown = serde_json::from_str(&last.data).unwrap();
    assert!((3000..=6000).contains(&shutdown.retry_ms), "jittered retry {}", shutdown.retry_ms);
    assert_eq!(last.retry, Some(Duration::from_millis(shutdown.retry_ms)), "retry: with it");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_stream_is_closed_by_its_key_only_and_all_at_once() {
    let app = TestApp::start().await;
    let open =
        || async { reqwest::get(app.url("/events")).await.unwrap().bytes_stream().eventsource() };
    let (mut a, mut b) = (open().await, open().await);
    let (key_a, key_b) = (stream_key(&mut a).await, stream_key(&mut b).await);
    assert_ne!(key_a, key_b);
    assert_eq!(app.hub.open_streams(), 2);
    assert!(key_a[..31].parse::<StreamKey>().is_err(), "a prefix is not a key");
    assert!(app.hub.close_stream(key_a.parse().unwrap()));
    assert!(ends(&mut a).await, "the stream of {key_a} is closed");
    app.publish("ticks", &Tick { seq: 1 }).await;
    let next = loop {
        let event = timeout(WAIT, b.next()).await.unwrap().unwrap().unwrap();
        if event.event != "heartbeat" {
            break event;
        }
    };
    assert_eq!(next.data, r#"{"seq":1}"#, "the other goes on");
    app.hub.close_all_streams();
    assert!(ends(&mut b).await, "every stream is closed");
}

/// Opens `GET /events?topics=blobs&name=NAME` on a socket with a tiny receive buffer and never
/// reads it; with `as_event_source`, it asks for `text/event-stream` (the lean path), else not
/// (hyper's path).
async fn stalled_client(app: &TestApp, name: &str, as_event_source: bool) -> tokio::net::TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stalled = socket.connect(app.addr.parse().unwrap()).await.unwrap();
    let accept = if as_event_source { "Accept: text/event-stream\r\n" } else { "" };
    let head =
        format!("GET /events?topics=blobs&name={name} HTTP/1.1\r\nHost: test\r\n{accept}\r\n");
    stalled.write_all(head.as_bytes()).await.unwrap();
    // Read up to its hello (the stream is open), then never again.
    let mut received = Vec::new();
    while !received.windows(12).any(|window| window == b"event: hello") {
        let mut buffer = [0_u8; 1024];
        let n = timeout(WAIT, stalled.read(&mut buffer)).await.unwrap().unwrap();
        assert!(n > 0, "the stream opens");
        received.extend_from_slice(&buffer[..n]);
    }
    stalled
}

#[tokio::test]
async fn a_client_that_stops_reading_is_cut_off_on_either_path_and_slows_nobody() {
    let app = TestApp::start_with(Hub::builder(), |serve| {
        serve.write_deadline(Duration::from_millis(300))
    })
    .await;
    let mut closed = app.closed();
    let mut reader = app.connect("?topics=blobs&name=reader", None).await;
    let lean = stalled_client(&app, "lean", true).await;
    let hyper = stalled_client(&app, "hyper", false).await;
    assert_eq!(app.hub.open_streams(), 3);

    // 16 MB each for the stalled clients: far more than their socket buffers hold.
    let blob = Blob { text: "x".repeat(256 * 1024) };
    for _ in 0..64 {
        app.publish("blobs", &blob).await;
        // The reader keeps up.
        assert_eq!(next_data(&mut reader).await.event, "blob");
    }
    // Publishing takes seconds on a busy machine: the cut is timed from its end, by when the
    // stalled clients' writes have been blocked for longer than the deadline.
    let published = std::time::Instant::now();
    let mut cut = Vec::new();
    while cut.len() < 2 {
        let name = timeout(WAIT, closed.recv()).await.expect("the stalled clients are cut off");
        cut.push(name.unwrap());
    }
    cut.sort();
    assert_eq!(cut, ["hyper", "lean"]);
    assert!(published.elapsed() < Duration::from_secs(2), "cut off after about the deadline");
    app.publish("blobs", &Blob { text: "after".into() }).await;
    assert_eq!(next_data(&mut reader).await.data, r#"{"text":"after"}"#, "the reader goes on");
    drop((lean, hyper));
}

/// A client of `/events?topics=ticks,blobs` with a tiny receive buffer; hyper's client reads the
/// socket only as the body is polled, so the server sees a slow reader. With `as_event_source`,
/// it asks for `text/event-stream` (the lean path), else not (hyper's).
async fn slow_reader(
    app: &TestApp,
    as_event_source: bool,
) -> impl futures::Stream<
    Item = Result<eventsource_stream::Event, eventsource_stream::EventStreamError<hyper::Error>>,
> + Unpin
+ use<> {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(app.addr.parse().unwrap()).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await.unwrap();
    tokio::spawn(connection);
    let mut request = hyper::Request::get("/events?topics=ticks,blobs").header("host", "test");
    if as_event_source {
        request = request.header("accept", "text/event-stream");
    }
    let request = request.body(http_body_util::Empty::<bytes::Bytes>::new()).unwrap();
    let response = sender.send_request(request).await.unwrap();
    Box::pin(http_body_util::BodyDataStream::new(response.into_body()).eventsource())
}

#[tokio::test]
async fn a_slow_client_gets_the_latest_values_coalesced_and_every_other_event() {
    let hub = Hub::builder().latest_value(|topic, _| topic.as_str() == "ticks");
    let app = TestApp::start_with_send_buffer(hub, 16 * 1024).await;
    let mut events = slow_reader(&app, true).await;
    let hello = timeout(WAIT, events.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(hello.event, "hello");

    // Fill the socket buffers with big blobs, then queue ticks and a few small notes (also on
    // `blobs`) behind them: more ticks than the buffers could hold, fewer than the live queue.
    let blob = Blob { text: "x".repeat(128 * 1024) };
    for _ in 0..4 {
        app.publish("blobs", &blob).await;
    }
    for seq in 1..=900_u64 {
        app.publish("ticks", &Tick { seq }).await;
        if seq % 300 == 0 {
            app.publish("blobs", &Note { text: format!("after tick {seq}") }).await;
        }
    }

    let mut received = Vec::new();
    loop {
        let event = timeout(WAIT, events.next()).await.expect("events in time").unwrap().unwrap();
        let last_note = event.event == "note" && event.data.contains("after tick 900");
        received.push(event);
        if last_note {
            break;
        }
    }
    let ticks: Vec<u64> = received
        .iter()
        .filter(|event| event.event == "message")
        .map(|event| serde_json::from_str::<Tick>(&event.data).unwrap().seq)
        .collect();
    assert_eq!(received.iter().filter(|event| event.event == "note").count(), 3);
    assert_eq!(received.iter().filter(|event| event.event == "blob").count(), 4);
    assert!(ticks.len() < 450, "ticks were coalesced: {} of 900 sent", ticks.len());
    assert_eq!(ticks.last(), Some(&900), "the newest tick before the last note is never dropped");
    assert!(ticks.windows(2).all(|pair| pair[0] < pair[1]), "in order: {ticks:?}");
    let ids: Vec<_> = received.iter().filter(|event| !event.id.is_empty()).map(id_of).collect();
    assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "ids only go forward");
}

/// Records that are ready together go out in one write (one chunk on the lean path), whole and
/// in order; and a client a few hundred records behind gets every one, latest values included:
/// coalescing is for a client far behind (half the live queue), not one that is a little late.
#[tokio::test]
async fn records_ready_together_go_out_in_one_chunk_and_a_few_behind_lose_nothing() {
    let hub = Hub::builder().latest_value(|topic, _| topic.as_str() == "ticks");
    let app = TestApp::start_with(hub, |s| s).await;
    let mut socket = tokio::net::TcpStream::connect(&app.addr).await.unwrap();
    socket
        .write_all(
            b"GET /events?topics=ticks HTTP/1.1\r\nHost: t\r\nAccept: text/event-stream\r\n\r\n",
        )
        .await
        .unwrap();
    let mut raw = Vec::new();
    while !String::from_utf8_lossy(&raw).contains("event: hello") {
        let mut buffer = [0_u8; 4096];
        let read = timeout(WAIT, socket.read(&mut buffer)).await.unwrap().unwrap();
        assert!(read > 0, "the stream is open");
        raw.extend_from_slice(&buffer[..read]);
    }
    // The test's runtime has one thread: the stream's task cannot run while these are
    // appended, so all 300 are queued when it wakes (300 × 2 behind the old threshold of 16).
    for seq in 1..=300 {
        app.publish("ticks", &Tick { seq }).await;
    }
    let mut body = Vec::new();
    let mut chunks = 0;
    let tail = b"data: {\"seq\":300}\n\n";
    raw.clear();
    while !body.ends_with(tail) {
        let mut buffer = [0_u8; 65_536];
        let read = timeout(WAIT, socket.read(&mut buffer)).await.expect("ticks in time").unwrap();
        assert!(read > 0, "the stream stays open");
        raw.extend_from_slice(&buffer[..read]);
        // Whole chunks: `<hex size>\r\n<data>\r\n`.
        while let Some(line_end) = raw.windows(2).position(|pair| pair == b"\r\n") {
            let size =
                usize::from_str_radix(std::str::from_utf8(&raw[..line_end]).unwrap(), 16).unwrap();
            if raw.len() < line_end + 2 + size + 2 {
                break;
            }
            body.extend_from_slice(&raw[line_end + 2..line_end + 2 + size]);
            raw.drain(..line_end + 2 + size + 2);
            chunks += 1;
        }
    }
    let text = String::from_utf8(body).unwrap();
    let seqs: Vec<u64> = text
        .lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .map(|data| serde_json::from_str::<Tick>(data).unwrap().seq)
        .collect();
    assert_eq!(seqs, (1..=300).collect::<Vec<_>>(), "every tick, in order, none coalesced");
    assert!(chunks <= 2, "ready records share a write: {chunks} chunks for 300 events");
}

#[tokio::test]
async fn without_latest_values_a_slow_client_that_overflows_is_closed_to_resume() {
    let app = TestApp::start().await;
    let mut events = slow_reader(&app, false).await;
    timeout(WAIT, events.next()).await.unwrap().unwrap().unwrap();
    // The client has an id to resume from.
    let first = app.publish("ticks", &Tick { seq: 0 }).await;
    let event = timeout(WAIT, events.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(id_of(&event), first);
    let blob = Blob { text: "x".repeat(128 * 1024) };
    for _ in 0..4 {
        app.publish("blobs", &blob).await;
    }
    // More than the live queue holds (1,024), nothing coalesces: the stream must close.
    let ids = app.publish_ticks(2_000).await;
    let mut last = Some(first);
    let ended = timeout(WAIT, async {
        while let Some(event) = events.next().await {
            match event {
                Ok(event) if !event.id.is_empty() => last = Some(id_of(&event)),
                Ok(_) => {}
                Err(_) => break,
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the stream ends");
    let last = last.unwrap();
    assert!(last < *ids.last().unwrap(), "closed before the end, to resume after {last}");
    // Resuming after the last id it got delivers the rest, from the very next one.
    let mut resumed = app.connect("?topics=ticks,blobs", Some(&last.to_string())).await;
    let next = id_of(&next_data(&mut resumed).await);
    assert_eq!((next.epoch(), next.seq()), (last.epoch(), last.seq() + 1), "no gap");
}

#[tokio::test]
async fn closing_many_streams_at_once_closes_those_and_no_other() {
    let app = TestApp::start().await;
    let open =
        || async { reqwest::get(app.url("/events")).await.unwrap().bytes_stream().eventsource() };
    let mut bystander = open().await;
    stream_key(&mut bystander).await;
    let mut closed = Vec::new();
    for _ in 0..40 {
        let mut events = open().await;
        let key = stream_key(&mut events).await;
        closed.push((key, events));
    }
    // More close orders at once than any queue of orders would hold.
    for (key, _) in &closed {
        assert!(app.hub.close_stream(key.parse().unwrap()));
    }
    for (key, events) in &mut closed {
        assert!(ends(events).await, "{key} is closed");
        assert!(!app.hub.close_stream(key.parse().unwrap()), "{key} is gone");
    }
    app.publish("ticks", &Tick { seq: 7 }).await;
    let next = loop {
        let event = timeout(WAIT, bystander.next()).await.unwrap().unwrap().unwrap();
        if event.event != "heartbeat" {
            break event;
        }
    };
    assert_eq!(next.data, r#"{"seq":7}"#, "the bystander is still open");
    assert_eq!(app.hub.open_streams(), 1);
}

#[tokio::test]
async fn a_stream_closes_at_its_deadline_and_the_client_resumes_with_no_gap_or_repeat() {
    for lean in [true, false] {
        let app = TestApp::start_with(Hub::builder(), |serve| serve.lean_streams(lean)).await;
        let mut closed = app.closed();
        let asked = tokio::time::Instant::now();
        let mut events = app.connect("?close_in_ms=400&name=expiring", None).await;
        let ids = app.publish_ticks(3).await;
        let mut got = Vec::new();
        for _ in 0..3 {
            got.push(id_of(&next_data(&mut events).await));
        }
        assert_eq!(got, ids, "lean: {lean}");
        // Then nothing more (no `end`, no `shutdown`): the body ends, as a close ends it.
        let rest = timeout(WAIT, events.collect::<Vec<_>>()).await.expect("the stream ends");
        let rest: Vec<_> = rest.iter().filter(|event| event.event != "heartbeat").collect();
        assert!(rest.is_empty(), "lean: {lean}: {rest:?}");
        assert!(asked.elapsed() >= Duration::from_millis(400), "lean: {lean}");
        assert_eq!(closed.recv().await.unwrap(), "expiring", "the stream itself ended");
        // Published while the client was away, then delivered after its last id.
        let missed = app.publish_ticks(2).await;
        let last = ids.last().unwrap().to_string();
        let mut resumed = app.connect("", Some(&last)).await;
        for id in missed {
            assert_eq!(id_of(&next_data(&mut resumed).await), id, "lean: {lean}");
        }
    }
}
