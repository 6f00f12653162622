//! One client cannot degrade the service for everyone: hostile clients through real sockets,
//! from several loopback source addresses (each a client of its own), against the limits of
//! presence, streams per client, boards per client and rate limits behind a proxy.

mod common;

use std::time::{Duration, Instant};

use common::{TestApp, WAIT, next_named};
use eventsource_stream::{Event, Eventsource};
use futures::{Stream, StreamExt};
use serde_json::json;
use tidings_demo_events::Presence;
use tokio::time::timeout;

type Events = std::pin::Pin<Box<dyn Stream<Item = Event> + Send>>;

/// A stream of `path` opened by `client`: its events until it ends.
async fn open(client: &reqwest::Client, url: String) -> (reqwest::header::HeaderMap, Events) {
    let response = client.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    (headers, Box::pin(response.bytes_stream().eventsource().map(|event| event.unwrap())))
}

/// Its first event, or `None` if it ended without one.
async fn first_event(events: &mut Events) -> Option<Event> {
    timeout(WAIT, events.next()).await.expect("an event or the end in time")
}

/// A name of 40 characters, 37 of them emoji, told apart by its first three.
fn flood_name(n: usize) -> String {
    format!("{n:03}{}", "😀".repeat(37))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_named_streams_keeps_presence_small_and_rare() {
    let app = TestApp::start().await;
    let mut ordinary = app.stream("?name=Ordinary").await;
    assert!(next_named(&mut ordinary, "presence").await.data.contains("Ordinary"));

    // What the ordinary client receives from now on.
    let (sizes, mut received) = tokio::sync::mpsc::unbounded_channel();
    let watcher = tokio::spawn(async move {
        while let Some(event) = ordinary.next().await {
            if event.event == "presence" {
                let _ = sizes.send((Instant::now(), event.data));
            }
        }
    });

    // 480 streams with long names, from 16 addresses (30 each, under the cap).
    let clients: Vec<reqwest::Client> =
        (2..18).map(|n| TestApp::client_from(&format!("127.0.0.{n}"))).collect();
    let url = |n: usize| {
        let name: String = form_urlencoded_name(&flood_name(n));
        format!("{}/api/events?topics=ticker&name={name}", app.base)
    };
    let mut flood: Vec<Events> = futures::future::join_all((0..480).map(|n| {
        let (client, url) = (&clients[n % clients.len()], url(n));
        async move { open(client, url).await.1 }
    }))
    .await;
    // Then one closed and another opened every 50 ms, for 3 s.
    let churn_started = Instant::now();
    for n in 480..540 {
        drop(flood.remove(0));
        flood.push(open(&clients[n % clients.len()], url(n)).await.1);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let churn = churn_started.elapsed();

    // Everyone is counted once the churn settles: 481 names, 20 listed, 481 streams.
    let settled = loop {
        let (_, data) = timeout(WAIT, received.recv()).await.expect("presence").unwrap();
        let presence: Presence = serde_json::from_str(&data).unwrap();
        if presence.connections == 481 && presence.online.len() as u64 + presence.others == 481 {
            break presence;
        }
    };
    assert_eq!(settled.online.len(), Presence::LISTED);
    assert!(settled.online.contains(&"Ordinary".to_owned()), "the first to arrive stay listed");
    assert!(settled.online.iter().all(|name| name.chars().count() <= Presence::NAME_CHARS));
    watcher.abort();

    // Every presence event the ordinary client got during the churn: small, and a few a second.
    let mut during = Vec::new();
    while let Ok((at, data)) = received.try_recv() {
        during.push((at, data.len()));
    }
    let (events, bytes): (usize, usize) = {
        let in_churn: Vec<usize> = during
            .iter()
            .filter(|(at, _)| at.duration_since(churn_started) <= churn)
            .map(|(_, len)| *len)
            .collect();
        (in_churn.len(), in_churn.iter().sum())
    };
    let largest = during.iter().map(|(_, len)| *len).max().unwrap_or(0);
    assert!(largest <= 2_500, "a presence event of {largest} bytes");
    let per_second = bytes as f64 / churn.as_secs_f64();
    let allowed = (churn.as_secs_f64() / 0.25).ceil() as usize + 2;
    assert!(events <= allowed, "{events} presence events in {churn:?} (at most {allowed})");
    assert!(per_second < 12_000.0, "{per_second:.0} bytes of presence a second");
}

/// `name` for a query string.
fn form_urlencoded_name(name: &str) -> String {
    name.bytes().map(|byte| format!("%{byte:02X}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_its_stream_cap_a_client_is_told_to_retry_later_and_others_are_not() {
    let app = TestApp::start_with(&["--streams-per-client", "3"]).await;
    let hostile = TestApp::client_from("127.0.0.2");
    let events = format!("{}/api/events?topics=ticker", app.base);
    let mut open_streams = Vec::new();
    for _ in 0..3 {
        let (_, mut events) = open(&hostile, events.clone()).await;
        assert_eq!(
            first_event(&mut events).await.map(|event| event.event).as_deref(),
            Some("hello")
        );
        open_streams.push(events);
    }
    // The fourth, on any stream route: 200 (anything else stops a browser for good), a
    // `retry:` of 10 s and a reason, then the end.
    for path in ["/api/events?topics=ticker", "/boards/b/events"] {
        let response = hostile.get(format!("{}{path}", app.base)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        let body = timeout(WAIT, response.text()).await.expect("the body ends").unwrap();
        assert!(body.starts_with("retry: 10000\n"), "{body}");
        assert!(body.contains("too many streams"), "{body}");
    }
    // Another client is not refused.
    let (_, mut other) = open(&TestApp::client_from("127.0.0.3"), events.clone()).await;
    assert_eq!(first_event(&mut other).await.map(|event| event.event).as_deref(), Some("hello"));
    // A stream closed frees its slot.
    open_streams.pop();
    let deadline = Instant::now() + WAIT;
    loop {
        let (_, mut again) = open(&hostile, events.clone()).await;
        if first_event(&mut again).await.is_some_and(|event| event.event == "hello") {
            break;
        }
        assert!(Instant::now() < deadline, "the closed stream's slot was never freed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_client_creates_at_most_its_quota_of_boards_and_an_empty_board_is_gone() {
    use reqwest::Method;
    let app = TestApp::start().await;
    let hostile = TestApp::client_from("127.0.0.2");
    let create = |client: &reqwest::Client, board: &str| {
        let request = client
            .post(format!("{}/boards/{board}/tasks", app.base))
            .header("content-type", "application/json")
            .body(json!({ "title": "t" }).to_string());
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (
                status,
                serde_json::from_slice::<serde_json::Value>(&response.bytes().await.unwrap())
                    .unwrap(),
            )
        }
    };
    let mut first_task = None;
    for board in ["b0", "b1", "b2", "b3", "b4"] {
        let (status, task) = create(&hostile, board).await;
        assert_eq!(status, 201, "{task}");
        first_task.get_or_insert(task["id"].as_u64().unwrap());
    }
    // A sixth board is refused, and a task on one of its own boards is not.
    let (status, body) = create(&hostile, "b5").await;
    assert_eq!((status, body["error"].as_str()), (422, Some("limit_reached")), "{body}");
    assert!(body["detail"].as_str().unwrap().contains("per client"), "{body}");
    assert_eq!(create(&hostile, "b0").await.0, 201);
    // Another client still creates boards.
    assert_eq!(create(&TestApp::client_from("127.0.0.3"), "b5").await.0, 201);

    // b0 emptied is gone, and frees a board for its creator.
    let snapshot = app.snapshot_with("?board=b0").await;
    for task in &snapshot.boards["b0"] {
        let (status, _) =
            app.send(Method::DELETE, &format!("/boards/b0/tasks/{}", task.id), None).await;
        assert_eq!(status, 204);
    }
    assert!(app.snapshot_with("?board=b0").await.boards.is_empty());
    let (status, body) = create(&hostile, "b6").await;
    assert_eq!(status, 201, "{body}");
    assert!(first_task.is_some());
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_bucket() {
    let app = TestApp::start_with(&[
        "--trusted-proxy",
        "127.0.0.1",
        "--rate-burst",
        "2",
        "--rate-per-second",
        "1",
    ])
    .await;
    let typing = |client: &reqwest::Client, forwarded: Option<&str>| {
        let mut request = client
            .post(format!("{}/api/typing", app.base))
            .header("content-type", "application/json")
            .body(json!({ "author": "a" }).to_string());
        if let Some(forwarded) = forwarded {
            request = request.header("x-forwarded-for", forwarded);
        }
        async move { request.send().await.unwrap().status().as_u16() }
    };
    let proxy = TestApp::client_from("127.0.0.1");
    // Through the proxy: one client's burst spent, the next client is not refused.
    assert_eq!(typing(&proxy, Some("198.51.100.1")).await, 204);
    assert_eq!(typing(&proxy, Some("198.51.100.1")).await, 204);
    assert_eq!(typing(&proxy, Some("198.51.100.1")).await, 429);
    assert_eq!(typing(&proxy, Some("6.6.6.6, 198.51.100.2")).await, 204);
    // A peer that is not a trusted proxy cannot pick its bucket with the header.
    let direct = TestApp::client_from("127.0.0.2");
    assert_eq!(typing(&direct, Some("198.51.100.3")).await, 204);
    assert_eq!(typing(&direct, Some("198.51.100.4")).await, 204);
    assert_eq!(typing(&direct, Some("198.51.100.5")).await, 429);
    // Another address is another client.
    assert_eq!(typing(&TestApp::client_from("127.0.0.3"), None).await, 204);
}
