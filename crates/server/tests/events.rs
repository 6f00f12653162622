//! The demo's stream route: its topics and query string, checked before the stream starts.

use std::time::Duration;

use clap::Parser;
use tidings_server::{AppState, Config, serve_app};
use tokio::net::TcpListener;

const WAIT: Duration = Duration::from_secs(10);

async fn start() -> (String, tokio::task::JoinHandle<()>) {
    let state = AppState::new(Config::parse_from(["tidings-server"]));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = serve_app(listener, state, std::future::pending());
    (base, tokio::spawn(async move { server.await.unwrap() }))
}

#[tokio::test]
async fn bad_query_strings_get_a_json_400_before_the_stream_starts() {
    let (base, _server) = start().await;
    for (query, code) in [
        ("?topics=weather", "invalid_topics"),
        ("?topics=", "invalid_topics"),
        ("?topics=board:", "invalid_topics"),
        ("?topics=ticker,,comments", "invalid_topics"),
        ("?topics=ticker&topics=comments", "invalid_query"),
        ("?lastEventId=1-1&lastEventId=1-2", "invalid_query"),
        ("?name=", "invalid_query"),
    ] {
        let request = reqwest::get(format!("{base}/api/events{query}"));
        let response = tokio::time::timeout(WAIT, request).await.unwrap().unwrap();
        assert_eq!(response.status(), 400, "{query}");
        assert_eq!(response.headers()["content-type"], "application/json", "{query}");
        let body: serde_json::Value = response.json_body().await;
        assert_eq!(body["error"], code, "{query}");
        assert!(!body["detail"].as_str().unwrap().is_empty(), "{query}");
    }
}

trait JsonBody {
    async fn json_body(self) -> serde_json::Value;
}

impl JsonBody for reqwest::Response {
    async fn json_body(self) -> serde_json::Value {
        serde_json::from_slice(&self.bytes().await.unwrap()).unwrap()
    }
}
