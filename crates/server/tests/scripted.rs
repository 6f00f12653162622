//! The scripted `/test/` endpoints (test mode only) over real sockets.

use clap::Parser;
use eventsource_stream::Eventsource;
use futures::StreamExt;
use tidings_server::{AppState, Config, serve_app};
use tokio::net::TcpListener;

async fn start(test_mode: bool) -> (String, tokio::task::JoinHandle<()>) {
    let args: &[&str] =
        if test_mode { &["tidings-server", "--test-mode"] } else { &["tidings-server"] };
    let state = AppState::new(Config::parse_from(args));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = serve_app(listener, state, std::future::pending());
    (base, tokio::spawn(async move { server.await.unwrap() }))
}

async fn get(url: String, headers: &[(&str, &str)]) -> reqwest::Response {
    let client =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut request = client.get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

async fn body(response: reqwest::Response) -> String {
    String::from_utf8(response.bytes().await.unwrap().to_vec()).unwrap()
}

#[tokio::test]
async fn they_exist_only_in_test_mode() {
    let (base, _server) = start(false).await;
    assert_eq!(get(format!("{base}/test/status/204"), &[]).await.status(), 404);
}

#[tokio::test]
async fn status_mime_and_message_answer_as_asked() {
    let (base, _server) = start(true).await;
    for code in [200, 204, 404, 503] {
        let response = get(format!("{base}/test/status/{code}"), &[]).await;
        assert_eq!(response.status().as_u16(), code);
    }
    assert_eq!(get(format!("{base}/test/status/99"), &[]).await.status(), 400);

    let response = get(format!("{base}/test/mime?type=text/plain"), &[]).await;
    assert_eq!(response.headers()["content-type"], "text/plain");

    let url = format!("{base}/test/message?data=a%0Ab&newline=crlf&event=x&id=5&retry=70");
    assert_eq!(
        body(get(url, &[]).await).await,
        "retry: 70\r\nid: 5\r\nevent: x\r\ndata: a\r\ndata: b\r\n\r\n"
    );
    let url = format!("{base}/test/message?data=z&newline=cr");
    assert_eq!(body(get(url, &[]).await).await, "data: z\r\r");
    assert_eq!(get(format!("{base}/test/message?data=z&newline=nl"), &[]).await.status(), 400);
    assert_eq!(get(format!("{base}/test/message?data=z&event=a%0Ab"), &[]).await.status(), 400);
}

#[tokio::test]
async fn count_continues_after_the_last_event_id() {
    let (base, _server) = start(true).await;
    let ids = |response: reqwest::Response| async move {
        let events: Vec<_> = response.bytes_stream().eventsource().collect().await;
        events.into_iter().map(|event| event.unwrap().id).collect::<Vec<_>>()
    };
    assert_eq!(ids(get(format!("{base}/test/count?n=3"), &[]).await).await, ["1", "2", "3"]);
    let resumed = get(format!("{base}/test/count?n=2"), &[("last-event-id", "3")]).await;
    assert_eq!(ids(resumed).await, ["4", "5"]);
    assert_eq!(
        get(format!("{base}/test/count?n=2"), &[("last-event-id", "x")]).await.status(),
        400
    );
    // The query parameter a re-created source carries; the header wins when both come.
    let resumed = get(format!("{base}/test/count?n=2&lastEventId=7"), &[]).await;
    assert_eq!(ids(resumed).await, ["8", "9"]);
    let both = get(format!("{base}/test/count?n=1&lastEventId=7"), &[("last-event-id", "3")]).await;
    assert_eq!(ids(both).await, ["4"]);
    assert_eq!(get(format!("{base}/test/count?n=1&lastEventId=x"), &[]).await.status(), 400);
    let mut held =
        get(format!("{base}/test/count?n=1&hold=1"), &[]).await.bytes_stream().eventsource();
    assert_eq!(held.next().await.unwrap().unwrap().id, "1");
    let more = tokio::time::timeout(std::time::Duration::from_millis(200), held.next()).await;
    assert!(more.is_err(), "held open after the events");
}

#[tokio::test]
async fn flaky_serves_then_fails_then_serves_and_holds() {
    let (base, _server) = start(true).await;
    let url = |extra: &str| format!("{base}/test/flaky/k?fail=2&status=503&n=2{extra}");
    let first: Vec<_> =
        get(url(""), &[]).await.bytes_stream().eventsource().collect::<Vec<_>>().await;
    let first: Vec<String> = first.into_iter().map(|event| event.unwrap().id).collect();
    assert_eq!(first, ["1", "2"], "visit 1 ends after its events");
    assert_eq!(get(url(""), &[("last-event-id", "2")]).await.status(), 503);
    assert_eq!(get(url("&lastEventId=2"), &[]).await.status(), 503);
    let held = get(url("&lastEventId=2"), &[]).await;
    assert_eq!(held.status(), 200);
    let mut events = held.bytes_stream().eventsource();
    assert_eq!(events.next().await.unwrap().unwrap().id, "3");
    assert_eq!(events.next().await.unwrap().unwrap().id, "4");
    // Then the connection stays open.
    let more = tokio::time::timeout(std::time::Duration::from_millis(200), events.next()).await;
    assert!(more.is_err(), "held open after the events");
    // Bad scripts are refused before anything is counted.
    for query in ["fail=1&status=99&n=1", "fail=x&status=503&n=1", "status=503&n=1"] {
        assert_eq!(get(format!("{base}/test/flaky/j?{query}"), &[]).await.status(), 400, "{query}");
    }
    let long_key = "k".repeat(65);
    assert_eq!(
        get(format!("{base}/test/flaky/{long_key}?fail=1&status=503&n=1"), &[]).await.status(),
        400
    );
}

#[tokio::test]
async fn sequence_answers_200_200_then_204_per_key() {
    let (base, _server) = start(true).await;
    let statuses = [
        get(format!("{base}/test/sequence/a"), &[]).await.status().as_u16(),
        get(format!("{base}/test/sequence/a"), &[]).await.status().as_u16(),
        get(format!("{base}/test/sequence/b"), &[]).await.status().as_u16(),
        get(format!("{base}/test/sequence/a"), &[]).await.status().as_u16(),
    ];
    assert_eq!(statuses, [200, 200, 200, 204]);
}

#[tokio::test]
async fn echo_malformed_and_server_named_events() {
    let (base, _server) = start(true).await;
    let echoed =
        body(get(format!("{base}/test/echo-last-event-id"), &[("last-event-id", "41")]).await)
            .await;
    assert!(echoed.contains("data: 41\n"), "{echoed}");
    assert!(
        body(get(format!("{base}/test/echo-last-event-id"), &[]).await)
            .await
            .contains("data: none\n")
    );

    let events: Vec<_> = get(format!("{base}/test/malformed"), &[])
        .await
        .bytes_stream()
        .eventsource()
        .collect()
        .await;
    let data: Vec<String> = events.into_iter().map(|event| event.unwrap().data).collect();
    assert!(serde_json::from_str::<serde_json::Value>(&data[0]).is_ok());
    assert!(serde_json::from_str::<serde_json::Value>(&data[1]).is_err());
    assert!(serde_json::from_str::<serde_json::Value>(&data[2]).is_ok());

    let mut named =
        get(format!("{base}/test/server-named"), &[]).await.bytes_stream().eventsource();
    assert_eq!(named.next().await.unwrap().unwrap().event, "error");
    assert_eq!(named.next().await.unwrap().unwrap().event, "open");
}

#[tokio::test]
async fn redirects_and_scripted_cors() {
    let (base, _server) = start(true).await;
    let response =
        get(format!("{base}/test/redirect?status=307&to=/test/count%3Fn%3D1"), &[]).await;
    assert_eq!(response.status(), 307);
    assert_eq!(response.headers()["location"], "/test/count?n=1");
    for bad in ["status=200&to=/x", "status=301&to=http://elsewhere", "status=301&to=//elsewhere"] {
        assert_eq!(get(format!("{base}/test/redirect?{bad}"), &[]).await.status(), 400, "{bad}");
    }

    let origin = [("origin", "http://127.0.0.1:9")];
    let echoed = get(format!("{base}/test/cors?allow=origin&credentials=1"), &origin).await;
    assert_eq!(echoed.headers()["access-control-allow-origin"], "http://127.0.0.1:9");
    assert_eq!(echoed.headers()["access-control-allow-credentials"], "true");
    let none = get(format!("{base}/test/cors?allow=none"), &origin).await;
    assert!(none.headers().get("access-control-allow-origin").is_none(), "no CORS layer on /test/");
    let wildcard = get(format!("{base}/test/cors?allow=*"), &origin).await;
    assert_eq!(wildcard.headers()["access-control-allow-origin"], "*");
}

#[tokio::test]
async fn silent_sends_one_event_then_holds_the_connection_without_a_word() {
    let (base, _server) = start(true).await;
    let mut events = get(format!("{base}/test/silent"), &[]).await.bytes_stream().eventsource();
    assert_eq!(events.next().await.unwrap().unwrap().data, "then silence");
    let next = tokio::time::timeout(std::time::Duration::from_millis(400), events.next()).await;
    assert!(next.is_err(), "nothing more, and the connection stays open");
}

#[tokio::test]
async fn fields_bogus_retry_headers_and_a_cut_connection() {
    let (base, _server) = start(true).await;
    let mut events = get(format!("{base}/test/fields"), &[]).await.bytes_stream().eventsource();
    let mut seen = Vec::new();
    while seen.len() < 8 {
        let event = events.next().await.unwrap().unwrap();
        seen.push((event.event, event.data));
    }
    let data: Vec<&str> = seen.iter().map(|(_, data)| data.as_str()).collect();
    assert_eq!(data, ["a", "b", "c", "d", "e", "f", "g", "h"]);
    assert!(seen.iter().all(|(event, _)| event == "message"), "{seen:?}");

    assert_eq!(
        body(get(format!("{base}/test/bogus-retry"), &[]).await).await,
        "retry: 100\nretry: 60000x\ndata: r\n\n"
    );

    let headers = get(
        format!("{base}/test/headers"),
        &[("accept", "text/event-stream"), ("cache-control", "no-cache")],
    )
    .await;
    let event = headers.bytes_stream().eventsource().next().await.unwrap().unwrap();
    assert_eq!(event.data, "text/event-stream|no-cache");
    assert!(event.id.starts_with("headers-"));

    let cut = get(format!("{base}/test/count?n=2&abort=1"), &[]).await;
    let items: Vec<_> = cut.bytes_stream().collect().await;
    assert!(items.last().is_some_and(Result::is_err), "the body ends in an error, not cleanly");
    let cut = get(format!("{base}/test/count?n=2&abort=1"), &[]).await;
    let events: Vec<_> = cut.bytes_stream().eventsource().collect().await;
    let ids: Vec<String> =
        events.into_iter().filter_map(Result::ok).map(|event| event.id).collect();
    assert_eq!(ids, ["1", "2"]);
}

#[tokio::test]
async fn held_streams_are_counted_while_open() {
    let (base, _server) = start(true).await;
    let count = || async { body(get(format!("{base}/test/held/h/count"), &[]).await).await };
    assert_eq!(count().await, "0");
    let first = get(format!("{base}/test/held/h"), &[]).await;
    let mut first_events = first.bytes_stream().eventsource();
    assert_eq!(first_events.next().await.unwrap().unwrap().data, "\"held\"");
    let second = get(format!("{base}/test/held/h"), &[]).await;
    assert_eq!(second.status(), 200);
    assert_eq!(count().await, "2");
    drop(first_events);
    drop(second);
    for _ in 0..100 {
        if count().await == "0" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(count().await, "0", "closed streams are no longer counted");
    assert_eq!(get(format!("{base}/test/held/{}/count", "k".repeat(65)), &[]).await.status(), 400);
}
