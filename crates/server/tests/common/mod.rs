//! What the server's tests share: a server on a free loopback port, and clients of it.

#![allow(dead_code, unreachable_pub)]

use std::net::IpAddr;
use std::time::Duration;

use clap::Parser;
use eventsource_stream::{Event, Eventsource};
use futures::{Stream, StreamExt};
use serde_json::Value;
use tidings_demo_events::DemoSnapshot;
use tidings_server::{AppState, Config, serve_app};
use tokio::net::TcpListener;
use tokio::time::timeout;

pub const WAIT: Duration = Duration::from_secs(10);

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    task: tokio::task::JoinHandle<()>,
}

impl TestApp {
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    pub async fn start_with(extra: &[&str]) -> Self {
        let mut args = vec!["tidings-server"];
        args.extend_from_slice(extra);
        let state = AppState::new(Config::parse_from(args));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = serve_app(listener, state, std::future::pending());
        let task = tokio::spawn(async move { server.await.unwrap() });
        Self { base, client: reqwest::Client::new(), task }
    }

    pub async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let bytes = response.bytes().await.unwrap();
        let body =
            if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap() };
        (status, body)
    }

    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.post_raw(path, "application/json", body.to_string()).await
    }

    pub async fn snapshot(&self) -> DemoSnapshot {
        self.snapshot_with("").await
    }

    /// `GET /api/state{query}`.
    pub async fn snapshot_with(&self, query: &str) -> DemoSnapshot {
        let url = format!("{}/api/state{query}", self.base);
        serde_json::from_slice(&reqwest::get(url).await.unwrap().bytes().await.unwrap()).unwrap()
    }

    /// A client whose connections come from `address` (any of 127.0.0.0/8 on loopback).
    pub fn client_from(address: &str) -> reqwest::Client {
        let address: IpAddr = address.parse().unwrap();
        reqwest::Client::builder().local_address(address).build().unwrap()
    }

    pub async fn stream(&self, query: &str) -> impl Stream<Item = Event> + Unpin + use<> {
        let response = reqwest::get(format!("{}/api/events{query}", self.base)).await.unwrap();
        Box::pin(response.bytes_stream().eventsource().map(|event| event.unwrap()))
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The next event named `name`, skipping control events.
pub async fn next_named(events: &mut (impl Stream<Item = Event> + Unpin), name: &str) -> Event {
    loop {
        let event = timeout(WAIT, events.next()).await.expect("an event in time").expect("open");
        if event.event == name {
            return event;
        }
    }
}

impl TestApp {
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body.to_string());
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let bytes = response.bytes().await.unwrap();
        (
            status,
            if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap() },
        )
    }

    pub async fn board_stream(&self, board: &str) -> impl Stream<Item = Event> + Unpin + use<> {
        let response = reqwest::get(format!("{}/boards/{board}/events", self.base)).await.unwrap();
        assert_eq!(response.status(), 200);
        Box::pin(response.bytes_stream().eventsource().map(|event| event.unwrap()))
    }
}
