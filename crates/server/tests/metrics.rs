//! `GET /metrics`, counted exactly. A test binary of its own with a single test: the `metrics`
//! recorder is global to a process, so this server is the only one that moves its counters.

use std::time::Duration;

use clap::Parser;
use eventsource_stream::Eventsource;
use futures::StreamExt;
use tidings_server::{AppState, Config, serve_app};
use tokio::net::TcpListener;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn metrics_count_connections_streams_and_events_exactly() {
    // No ticker (serve_app): the only events are the comments posted here.
    let state = AppState::new(Config::parse_from(["tidings-server"]));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(serve_app(listener, state, std::future::pending()));
    // A new connection for every request, so the connections can be counted.
    let client = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();

    let stream = client
        .get(format!("{base}/api/events?topics=comments"))
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    let mut events = stream.bytes_stream().eventsource();
    let hello = timeout(WAIT, events.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(hello.event, "hello");
    for text in ["one", "two"] {
        let posted = client
            .post(format!("{base}/api/comments"))
            .header("content-type", "application/json")
            .body(format!(r#"{{"author":"Ada","text":"{text}"}}"#))
            .send()
            .await
            .unwrap();
        assert_eq!(posted.status(), 201);
    }
    for _ in 0..2 {
        let comment = timeout(WAIT, events.next()).await.unwrap().unwrap().unwrap();
        assert_eq!(comment.event, "comment");
    }

    let metrics = client.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(metrics.status(), 200);
    assert!(metrics.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = metrics.text().await.unwrap();
    let value = |name: &str| -> f64 {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("{name} in\n{text}"))
    };
    assert_eq!(value("tidings_clients_connected"), 1.0, "the one stream");
    assert_eq!(value("tidings_events_published_total"), 2.0, "two comments");
    assert_eq!(value("tidings_events_delivered_total"), 2.0, "both to the stream");
    // The stream, two posts and this request; the two plain `GET`s (the stream and this one)
    // are answered on the lean path, the posts (with a body) by hyper.
    assert_eq!(value("tidings_connections_accepted_total"), 4.0);
    assert_eq!(value("tidings_connections_to_hyper_total"), 2.0);

    drop(events);
    server.abort();
}
