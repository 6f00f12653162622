//! The demo server's own routes over real sockets: health, the app, CORS, and closing streams
//! (a stream's own key, or every stream with the admin token).

use clap::Parser;
use eventsource_stream::Eventsource;
use tidings_server::{AppState, Config, app, serve};
use tidings_testkit::sse::{ends, stream_key};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A server on a free loopback port, stopped when dropped.
struct TestServer {
    base: String,
    state: AppState,
    _stop: Option<oneshot::Sender<()>>,
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
        let state = AppState::new(config);
        let task = tokio::spawn(serve(listener, state.clone(), app(state.clone()), async move {
            let _ = stopped.await;
        }));
        Self { base, state, _stop: Some(stop), task: Some(task) }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
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
    // A page of the allowed origin may send a job's token (the fetch transport's header).
    let preflight = client
        .request(reqwest::Method::OPTIONS, server.url("/api/jobs/job-1/events"))
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization,last-event-id")
        .send()
        .await
        .unwrap();
    let allowed = preflight.headers().get("access-control-allow-headers");
    let allowed = allowed.map(|value| value.to_str().unwrap().to_ascii_lowercase());
    assert!(allowed.as_deref().is_some_and(|value| value.contains("authorization")), "{allowed:?}");
}

async fn post(
    server: &TestServer,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(server.url(path))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn a_page_drops_its_own_stream_by_its_key_and_no_other() {
    let server = TestServer::start(&["--tick-interval-ms", "3600000"]).await;
    let open = || async {
        reqwest::get(server.url("/api/events?topics=comments"))
            .await
            .unwrap()
            .bytes_stream()
            .eventsource()
    };
    let (mut a, mut b) = (open().await, open().await);
    let (key_a, key_b) = (stream_key(&mut a).await, stream_key(&mut b).await);
    assert_ne!(key_a, key_b);
    for body in [r#"{"stream":"0123"}"#.to_owned(), format!(r#"{{"stream":"{}"}}"#, &key_a[..31])] {
        let response = post(&server, "/api/streams/drop", None, &body).await;
        assert_eq!(response.status(), 404, "{body}");
        let error: serde_json::Value =
            serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
        assert_eq!(error["error"], "stream_not_found");
    }
    for body in ["{}", r#"{"client": 1}"#, r#"{"stream": 7}"#] {
        assert_eq!(post(&server, "/api/streams/drop", None, body).await.status(), 422, "{body}");
    }
    let body = format!(r#"{{"stream":"{key_a}"}}"#);
    assert_eq!(post(&server, "/api/streams/drop", None, &body).await.status(), 204);
    assert!(ends(&mut a).await, "the stream of that key is dropped");
    assert!(!ends(&mut b).await, "the other stays open");
}

#[tokio::test]
async fn dropping_every_stream_needs_the_admin_token_even_from_loopback() {
    let server = TestServer::start(&["--tick-interval-ms", "3600000"]).await;
    let mut events = reqwest::get(server.url("/api/events?topics=comments"))
        .await
        .unwrap()
        .bytes_stream()
        .eventsource();
    stream_key(&mut events).await;
    let token = server.state.admin_token().to_owned();
    assert_eq!(token.len(), 32);
    let mut wrong = token.clone().into_bytes();
    wrong[31] = if wrong[31] == b'0' { b'1' } else { b'0' };
    let wrong = String::from_utf8(wrong).unwrap();
    for sent in [None, Some(""), Some(wrong.as_str()), Some(&token[..31])] {
        let response = post(&server, "/api/admin/drop", sent, "{}").await;
        assert_eq!(response.status(), 403, "{sent:?}");
        let error: serde_json::Value =
            serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
        assert_eq!(error["error"], "forbidden");
    }
    assert!(!ends(&mut events).await, "still open");
    assert_eq!(post(&server, "/api/admin/drop", Some(&token), "").await.status(), 204);
    assert!(ends(&mut events).await, "every stream is dropped");
    let other = TestServer::start(&[]).await;
    assert_ne!(other.state.admin_token(), token, "a new token at every start");
}
