//! The REST endpoints over real sockets: what they store and broadcast, the snapshot's id, and
//! every kind of bad input (a clear JSON error, nothing stored, nothing broadcast).

mod common;

use clap::Parser;
use common::{TestApp, WAIT, next_named};
use eventsource_stream::{Event, Eventsource};
use futures::StreamExt;
use serde_json::{Value, json};
use tidings_demo_events::Comment;
use tidings_server::{AppState, Config, serve_app};
use tidings_wire::EventId;
use tokio::net::TcpListener;
use tokio::time::timeout;

#[tokio::test]
async fn a_comment_is_stored_broadcast_and_in_the_snapshot() {
    let app = TestApp::start().await;
    let mut comments = app.stream("?topics=comments").await;
    let (status, body) =
        app.post("/api/comments", &json!({ "author": " Ada ", "text": "Hello\nworld" })).await;
    assert_eq!(status, 201, "{body}");
    let stored: Comment = serde_json::from_value(body).unwrap();
    assert_eq!((stored.author.as_str(), stored.text.as_str()), ("Ada", "Hello\nworld"));
    assert!(stored.id > 0 && stored.id < 1 << 53, "an id JavaScript reads exactly: {}", stored.id);

    let event = next_named(&mut comments, "comment").await;
    assert_eq!(
        serde_json::from_str::<Comment>(&event.data).unwrap(),
        stored,
        "multi-line text survives SSE"
    );
    let snapshot = app.snapshot().await;
    assert_eq!(snapshot.comments, [stored]);
    assert_eq!(snapshot.at, Some(event.id.parse::<EventId>().unwrap()));
}

#[tokio::test]
async fn a_stream_opened_at_the_snapshot_id_misses_nothing_in_between() {
    let app = TestApp::start().await;
    app.post("/api/comments", &json!({ "author": "a", "text": "before" })).await;
    let snapshot = app.snapshot().await;
    let at = snapshot.at.expect("an id").to_string();
    // Posted after the snapshot, before the stream opens.
    app.post("/api/comments", &json!({ "author": "b", "text": "between" })).await;
    let mut events = app.stream(&format!("?topics=comments&lastEventId={at}")).await;
    let replayed: Comment =
        serde_json::from_str(&next_named(&mut events, "comment").await.data).unwrap();
    assert_eq!(replayed.text, "between");
    app.post("/api/comments", &json!({ "author": "c", "text": "after" })).await;
    let live: Comment =
        serde_json::from_str(&next_named(&mut events, "comment").await.data).unwrap();
    assert_eq!(live.text, "after");
}

#[tokio::test]
async fn bad_bodies_get_clear_errors_and_change_nothing() {
    let app = TestApp::start().await;
    let mut comments = app.stream("?topics=comments").await;
    let huge = json!({ "author": "a", "text": "x".repeat(20_000) }).to_string();
    let cases: Vec<(&str, &str, String, u16, &str)> = vec![
        ("too large", "application/json", huge, 413, "payload_too_large"),
        (
            "not JSON content",
            "text/plain",
            r#"{"author":"a","text":"b"}"#.into(),
            415,
            "unsupported_media_type",
        ),
        ("broken JSON", "application/json", r#"{"author": "a", "#.into(), 400, "malformed_json"),
        ("not an object", "application/json", "[1,2]".into(), 422, "invalid_body"),
        (
            "unknown field",
            "application/json",
            r#"{"author":"a","text":"b","admin":true}"#.into(),
            422,
            "invalid_body",
        ),
        ("missing field", "application/json", r#"{"author":"a"}"#.into(), 422, "invalid_body"),
        (
            "wrong type",
            "application/json",
            r#"{"author":"a","text":5}"#.into(),
            422,
            "invalid_body",
        ),
        (
            "empty author",
            "application/json",
            r#"{"author":"   ","text":"b"}"#.into(),
            422,
            "invalid_field",
        ),
        (
            "long author",
            "application/json",
            json!({"author": "a".repeat(41), "text": "b"}).to_string(),
            422,
            "invalid_field",
        ),
        (
            "long text",
            "application/json",
            json!({"author": "a", "text": "é".repeat(2001)}).to_string(),
            422,
            "invalid_field",
        ),
        (
            "control character",
            "application/json",
            r#"{"author":"a\u0000","text":"b"}"#.into(),
            422,
            "invalid_field",
        ),
    ];
    for (what, content_type, body, status, code) in cases {
        let (got_status, got) = app.post_raw("/api/comments", content_type, body).await;
        assert_eq!(got_status, status, "{what}: {got}");
        assert_eq!(got["error"], code, "{what}: {got}");
        assert!(got["detail"].as_str().is_some_and(|detail| !detail.is_empty()), "{what}: {got}");
    }
    let (_, field) = app.post("/api/comments", &json!({ "author": "", "text": "b" })).await;
    assert_eq!(field["field"], "author");

    assert!(app.snapshot().await.comments.is_empty(), "nothing stored");
    // Nothing was broadcast either: the first comment event is the next valid one.
    let (_, valid) = app.post("/api/comments", &json!({ "author": "a", "text": "valid" })).await;
    let first: Comment =
        serde_json::from_str(&next_named(&mut comments, "comment").await.data).unwrap();
    assert_eq!((first.id, first.text.as_str()), (valid["id"].as_u64().unwrap(), "valid"));
}

#[tokio::test]
async fn typing_is_coalesced_per_author() {
    let app = TestApp::start().await;
    let mut typing = app.stream("?topics=typing").await;
    for _ in 0..5 {
        assert_eq!(app.post("/api/typing", &json!({ "author": "Ada" })).await.0, 204);
    }
    assert_eq!(app.post("/api/typing", &json!({ "author": "Bob" })).await.0, 204);
    let first = next_named(&mut typing, "typing").await;
    let second = next_named(&mut typing, "typing").await;
    let authors: Vec<String> = [first, second]
        .iter()
        .map(|event| {
            serde_json::from_str::<Value>(&event.data).unwrap()["author"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(authors, ["Ada", "Bob"], "one event for Ada's five requests");

    let (status, body) = app.post("/api/typing", &json!({ "author": "" })).await;
    assert_eq!((status, body["error"].as_str()), (422, Some("invalid_field")));
    let (status, _) = app.post("/api/typing", &json!({ "who": "x" })).await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn presence_follows_streams_opening_and_closing() {
    let app = TestApp::start().await;
    let presence_of =
        |event: Event| serde_json::from_str::<tidings_demo_events::Presence>(&event.data).unwrap();
    let mut ada = app.stream("?topics=presence&name=Ada").await;
    let joined = presence_of(next_named(&mut ada, "presence").await);
    assert_eq!((joined.online.as_slice(), joined.connections), (["Ada".to_owned()].as_slice(), 1));

    let bob = app.stream("?topics=presence&name=%20Bob%20").await;
    let both = presence_of(next_named(&mut ada, "presence").await);
    assert_eq!((both.online, both.connections), (vec!["Ada".to_owned(), "Bob".to_owned()], 2));
    let anonymous = app.stream("?topics=presence").await;
    assert_eq!(presence_of(next_named(&mut ada, "presence").await).connections, 3);

    drop(bob);
    let left = presence_of(next_named(&mut ada, "presence").await);
    assert_eq!((left.online, left.connections), (vec!["Ada".to_owned()], 2));
    drop(anonymous);
    assert_eq!(presence_of(next_named(&mut ada, "presence").await).connections, 1);
    assert_eq!(app.snapshot().await.presence.online, ["Ada"]);

    for bad in ["", "%00x", &"a".repeat(41)] {
        let response = reqwest::get(format!("{}/api/events?name={bad}", app.base)).await.unwrap();
        assert_eq!(response.status(), 400, "{bad:?}");
    }
}

#[tokio::test]
async fn a_board_is_created_moved_renamed_and_deleted_through_rest_and_followed_by_its_stream() {
    use reqwest::Method;
    let app = TestApp::start().await;
    let mut main = app.board_stream("main").await;
    let mut other = app.stream("?topics=board:other").await;

    let (status, task) = app
        .send(Method::POST, "/boards/main/tasks", Some(json!({ "title": " Write docs " })))
        .await;
    assert_eq!(status, 201, "{task}");
    assert_eq!((task["title"].as_str(), task["list"].as_str()), (Some("Write docs"), Some("todo")));
    let id = task["id"].as_u64().unwrap();
    let created = next_named(&mut main, "task_created").await;
    let created: Value = serde_json::from_str(&created.data).unwrap();
    assert_eq!((created["board"].as_str(), &created["task"]), (Some("main"), &task));

    let (status, moved) = app
        .send(Method::PATCH, &format!("/boards/main/tasks/{id}"), Some(json!({ "list": "doing" })))
        .await;
    assert_eq!((status, moved["list"].as_str()), (200, Some("doing")));
    let event: Value =
        serde_json::from_str(&next_named(&mut main, "task_moved").await.data).unwrap();
    assert_eq!(event["task"], moved);

    let (status, renamed) = app
        .send(Method::PATCH, &format!("/boards/main/tasks/{id}"), Some(json!({ "title": "Docs" })))
        .await;
    assert_eq!(
        (status, renamed["title"].as_str(), renamed["list"].as_str()),
        (200, Some("Docs"), Some("doing"))
    );
    next_named(&mut main, "task_moved").await;
    assert_eq!(app.snapshot_with("?board=main").await.boards["main"][0].title, "Docs");
    assert!(app.snapshot().await.boards.is_empty(), "a board's tasks only when asked for");

    let (status, _) = app.send(Method::DELETE, &format!("/boards/main/tasks/{id}"), None).await;
    assert_eq!(status, 204);
    let deleted: Value =
        serde_json::from_str(&next_named(&mut main, "task_deleted").await.data).unwrap();
    assert_eq!(deleted, json!({ "board": "main", "id": id }));
    assert!(app.snapshot_with("?board=main").await.boards.is_empty(), "an empty board is gone");

    // The other board's stream saw none of it: its first event is its own.
    app.send(Method::POST, "/boards/other/tasks", Some(json!({ "title": "x", "list": "done" })))
        .await;
    let first: Value =
        serde_json::from_str(&next_named(&mut other, "task_created").await.data).unwrap();
    assert_eq!(first["board"], "other");
}

#[tokio::test]
async fn bad_board_requests_get_clear_errors_and_change_nothing() {
    use reqwest::Method;
    let app = TestApp::start().await;
    let (_, task) =
        app.send(Method::POST, "/boards/main/tasks", Some(json!({ "title": "keep" }))).await;
    let id = task["id"].as_u64().unwrap();
    let cases: Vec<(Method, String, Option<Value>, u16, &str)> = vec![
        (
            Method::POST,
            "/boards/main/tasks".into(),
            Some(json!({ "title": "" })),
            422,
            "invalid_field",
        ),
        (
            Method::POST,
            "/boards/main/tasks".into(),
            Some(json!({ "title": "a", "list": "later" })),
            422,
            "invalid_body",
        ),
        (
            Method::POST,
            "/boards/a%20b/tasks".into(),
            Some(json!({ "title": "a" })),
            400,
            "invalid_board",
        ),
        (Method::PATCH, format!("/boards/main/tasks/{id}"), Some(json!({})), 422, "invalid_field"),
        (
            Method::PATCH,
            format!("/boards/main/tasks/{id}"),
            Some(json!({ "list": "done", "x": 1 })),
            422,
            "invalid_body",
        ),
        (
            Method::PATCH,
            "/boards/main/tasks/999".into(),
            Some(json!({ "list": "done" })),
            404,
            "task_not_found",
        ),
        (
            Method::PATCH,
            "/boards/main/tasks/abc".into(),
            Some(json!({ "list": "done" })),
            404,
            "task_not_found",
        ),
        (
            Method::PATCH,
            format!("/boards/nope/tasks/{id}"),
            Some(json!({ "list": "done" })),
            404,
            "task_not_found",
        ),
        (Method::DELETE, "/boards/main/tasks/-1".into(), None, 404, "task_not_found"),
    ];
    for (method, path, body, status, code) in cases {
        let (got_status, got) = app.send(method.clone(), &path, body).await;
        assert_eq!(
            (got_status, got["error"].as_str()),
            (status, Some(code)),
            "{method} {path}: {got}"
        );
    }
    let response =
        reqwest::get(format!("{}/boards/main/events?topics=ticker", app.base)).await.unwrap();
    assert_eq!(response.status(), 400);
    assert!(app.snapshot_with("?board=nope").await.boards.is_empty());
    let response = reqwest::get(format!("{}/api/state?board=no%20such", app.base)).await.unwrap();
    assert_eq!(response.status(), 400, "a board id in the snapshot's query is checked");
    let boards = app.snapshot_with("?board=main").await.boards;
    assert_eq!(boards.len(), 1);
    assert_eq!(
        (boards["main"][0].title.as_str(), boards["main"][0].list),
        ("keep", tidings_demo_events::TaskList::Todo)
    );
}

/// Every event of a job stream until the body ends, as (name, id, data).
async fn whole_job_stream(
    app: &TestApp,
    (id, token): (&str, &str),
    last_event_id: Option<&str>,
) -> (u16, Vec<(String, String, String)>) {
    let mut request =
        app.client.get(format!("{}/api/jobs/{id}/events", app.base)).bearer_auth(token);
    if let Some(last) = last_event_id {
        request = request.header("last-event-id", last);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let events = timeout(WAIT, response.bytes_stream().eventsource().collect::<Vec<_>>())
        .await
        .expect("the stream ends");
    let events = events
        .into_iter()
        .map(|event| event.unwrap())
        .filter(|event| event.event != "hello" && event.event != "heartbeat")
        .map(|event| (event.event, event.id, event.data))
        .collect();
    (status, events)
}

fn names(events: &[(String, String, String)]) -> Vec<&str> {
    events.iter().map(|(name, _, _)| name.as_str()).collect()
}

#[tokio::test]
async fn a_job_streams_start_progress_and_complete_then_ends_and_a_reconnect_gets_204() {
    let app = TestApp::start_with(&["--job-step-ms", "20"]).await;
    let (status, created) = app.post("/api/jobs", &json!({})).await;
    assert_eq!(status, 201, "{created}");
    let job = (created["id"].as_str().unwrap(), created["token"].as_str().unwrap());

    let (status, events) = whole_job_stream(&app, job, None).await;
    assert_eq!(status, 200);
    let mut expected = vec!["start"];
    expected.extend(std::iter::repeat_n("progress", 10));
    expected.extend(["complete", "end"]);
    assert_eq!(names(&events), expected);
    let percents: Vec<u64> = events[1..11]
        .iter()
        .map(|(_, _, data)| {
            serde_json::from_str::<Value>(data).unwrap()["percent"].as_u64().unwrap()
        })
        .collect();
    assert_eq!(percents, [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);

    // A browser reconnects after the clean end with the id of `end`: 204 stops it for good.
    let (complete, end) = (&events[events.len() - 2].1, &events[events.len() - 1].1);
    assert_eq!(end, "0-0");
    let (status, again) = whole_job_stream(&app, job, Some(end)).await;
    assert_eq!((status, again.len()), (204, 0));
    // So does one that comes back with the id of `complete`: the job is over.
    let (status, again) = whole_job_stream(&app, job, Some(complete)).await;
    assert_eq!((status, again.len()), (204, 0));

    // A new page (no id) still gets the whole finished job, then the end.
    let (status, again) = whole_job_stream(&app, job, None).await;
    assert_eq!((status, names(&again).len(), *names(&again).last().unwrap()), (200, 13, "end"));
}

#[tokio::test]
async fn a_client_that_dropped_mid_job_gets_the_rest_then_the_end() {
    let app = TestApp::start_with(&["--job-step-ms", "40"]).await;
    let created = app.post("/api/jobs", &json!({})).await.1;
    let (id, token) = (created["id"].as_str().unwrap(), created["token"].as_str().unwrap());
    let job = (id, token);
    let url = format!("{}/api/jobs/{id}/events", app.base);
    let response = app.client.get(url).bearer_auth(token).send().await.unwrap();
    let mut events = response.bytes_stream().eventsource().map(|event| event.unwrap());
    let mut last = String::new();
    let mut seen = 0;
    while seen < 3 {
        let event = timeout(WAIT, events.next()).await.unwrap().unwrap();
        if event.event != "hello" {
            last = event.id;
            seen += 1;
        }
    }
    drop(events);
    // Wait for the job to finish: a new page's stream of it ends after `complete`.
    let (_, whole) = whole_job_stream(&app, job, None).await;
    assert_eq!(names(&whole).last(), Some(&"end"));
    let (status, rest) = whole_job_stream(&app, job, Some(&last)).await;
    assert_eq!(status, 200);
    assert_eq!(rest.len(), 12 - 3 + 1, "the events after {last}, then the end: {rest:?}");
    assert_eq!(names(&rest)[rest.len() - 2..], ["complete", "end"]);

    // An id the log cannot place (garbage) replays the job from its start.
    let (status, all) = whole_job_stream(&app, job, Some("garbage")).await;
    assert_eq!((status, names(&all).first().copied(), all.len()), (200, Some("start"), 13));
}

#[tokio::test]
async fn a_jobs_stream_needs_that_jobs_token_and_its_topic_is_not_open_on_the_shared_stream() {
    let app = TestApp::start_with(&["--job-step-ms", "60000"]).await;
    let first = app.post("/api/jobs", &json!({})).await.1;
    let other = app.post("/api/jobs", &json!({})).await.1;
    let (id, token) = (first["id"].as_str().unwrap(), first["token"].as_str().unwrap());
    let url = format!("{}/api/jobs/{id}/events", app.base);
    let refused = async |authorization: Option<String>| {
        let mut request = app.client.get(&url);
        if let Some(authorization) = &authorization {
            request = request.header("authorization", authorization);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let challenge = response.headers().get("www-authenticate").cloned();
        // Before the body: a stream's would not end.
        assert_eq!(
            (status, challenge.as_ref().map(|value| value.to_str().unwrap())),
            (401, Some("Bearer")),
            "{authorization:?}"
        );
        let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
        assert_eq!(body["error"], "unauthorized");
        assert!(body["detail"].as_str().unwrap().contains("POST /api/jobs"), "{body}");
    };
    refused(None).await;
    refused(Some(format!("Basic {token}"))).await;
    refused(Some("Bearer ".to_owned())).await;
    refused(Some(format!("Bearer {}", &token[1..]))).await;
    refused(Some(format!("Bearer {}", other["token"].as_str().unwrap()))).await;
    // Its own token, the scheme in any case.
    let response =
        app.client.get(&url).header("authorization", format!("bearer {token}")).send().await;
    let response = response.unwrap();
    assert_eq!(response.status(), 200);
    let mut events = response.bytes_stream().eventsource();
    let start = loop {
        let event = timeout(WAIT, events.next()).await.unwrap().unwrap().unwrap();
        if event.event != "hello" {
            break event;
        }
    };
    assert_eq!(start.event, "start");
    // Nor can the shared stream give the job's events to whoever knows its id.
    let response = app
        .client
        .get(format!("{}/api/events?topics=ticker,jobs:{id}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(body["error"], "invalid_topics");
    assert!(body["detail"].as_str().unwrap().contains("token"), "{body}");
}

#[tokio::test]
async fn unknown_or_malformed_jobs_get_clear_errors() {
    let app = TestApp::start().await;
    let url = format!("{}/api/jobs/job-99/events", app.base);
    let response = app.client.get(url).bearer_auth("0123").send().await.unwrap();
    assert_eq!(response.status(), 404);
    let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(body["error"], "job_not_found");
    let response = reqwest::get(format!("{}/api/jobs/a%20b/events", app.base)).await.unwrap();
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn the_router_works_under_plain_axum_serve_too_with_the_token_for_admin() {
    let drop_streams = |base: &str, token: Option<&str>| {
        let mut request = reqwest::Client::new()
            .post(format!("{base}/api/admin/drop"))
            .header("content-type", "application/json")
            .body("{}");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        request.send()
    };
    // No connection info under plain axum::serve: the rate limiter shares one bucket, and
    // admin still needs the token, nothing else.
    let state = AppState::new(Config::parse_from(["tidings-server"]));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = tidings_server::app(state.clone());
    let server = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let response = drop_streams(&base, None).await.unwrap();
    assert_eq!(response.status(), 403);
    let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(body["error"], "forbidden");
    assert_eq!(drop_streams(&base, Some("wrong")).await.unwrap().status(), 403);
    assert_eq!(drop_streams(&base, Some(state.admin_token())).await.unwrap().status(), 204);
    let comment = reqwest::Client::new()
        .post(format!("{base}/api/comments"))
        .header("content-type", "application/json")
        .body(r#"{"author":"a","text":"plain"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(comment.status(), 201);
    server.abort();
}

#[tokio::test]
async fn changes_past_the_burst_get_429_with_retry_after_and_reads_do_not() {
    let app = TestApp::start_with(&["--rate-burst", "3", "--rate-per-second", "1"]).await;
    for n in 0..3 {
        let (status, body) =
            app.post("/api/comments", &json!({ "author": "a", "text": format!("{n}") })).await;
        assert_eq!(status, 201, "{body}");
    }
    let response = app
        .client
        .post(format!("{}/api/comments", app.base))
        .header("content-type", "application/json")
        .body(json!({ "author": "a", "text": "one too many" }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry_after >= 1);
    let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(body["error"], "too_many_requests");
    assert_eq!(app.snapshot().await.comments.len(), 3, "the refused comment is not stored");
    // Reads and streams are not limited.
    for _ in 0..10 {
        assert_eq!(reqwest::get(format!("{}/api/state", app.base)).await.unwrap().status(), 200);
    }
}

#[tokio::test]
async fn a_job_needs_a_json_body_so_a_plain_form_on_another_site_cannot_start_one() {
    let app = TestApp::start().await;
    let (status, body) = app.post_raw("/api/jobs", "application/x-www-form-urlencoded", "").await;
    assert_eq!(status, 415, "{body}");
    let (status, body) = app.post_raw("/api/jobs", "text/plain", "{}").await;
    assert_eq!(status, 415, "{body}");
    let (status, body) = app.post("/api/jobs", &json!({ "steps": 1 })).await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = app.post("/api/jobs", &json!({})).await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn sixty_jobs_posted_at_once_start_exactly_the_cap_and_ids_cannot_be_guessed() {
    // Jobs that do not finish during the test, and no rate limit in the way.
    let app = TestApp::start_with(&["--job-step-ms", "60000", "--rate-burst", "1000"]).await;
    let posts = (0..60).map(|_| {
        let (client, url) = (app.client.clone(), format!("{}/api/jobs", app.base));
        tokio::spawn(async move {
            let response = client
                .post(url)
                .header("content-type", "application/json")
                .body("{}")
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
            (status, body)
        })
    });
    let answers = futures::future::join_all(posts).await;
    let created: Vec<String> = answers
        .iter()
        .map(|answer| answer.as_ref().unwrap())
        .filter(|(status, _)| *status == 201)
        .map(|(_, body)| body["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(created.len(), 20, "the cap of 20 running jobs");
    for (status, body) in answers.iter().map(|answer| answer.as_ref().unwrap()) {
        assert!(*status == 201 || (*status == 422 && body["error"] == "limit_reached"), "{body}");
    }
    // 128 random bits each, in the id and in the token: nothing to count up to.
    let tokens = answers
        .iter()
        .map(|answer| answer.as_ref().unwrap())
        .filter(|(status, _)| *status == 201)
        .map(|(_, body)| body["token"].as_str().unwrap().to_owned());
    for (id, token) in created.iter().zip(tokens) {
        assert_eq!(token.len(), 32, "{token}");
        assert!(token.bytes().all(|b| b.is_ascii_hexdigit()), "{token}");
        assert!(!id.contains(&token), "{id} {token}");
        let random = id.rsplit('-').next().unwrap();
        assert_eq!(random.len(), 32, "{id}");
        assert!(random.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    }
    let mut unique = created.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), created.len());
}

#[tokio::test]
async fn names_with_invisible_formatting_are_refused_and_nothing_is_stored() {
    let app = TestApp::start().await;
    for author in ["ad\u{202E}nimda", "a\u{200B}b", "\u{FEFF}Ada", "a\u{2028}b"] {
        let (status, body) =
            app.post("/api/comments", &json!({ "author": author, "text": "hi" })).await;
        assert_eq!(status, 422, "{author:?}: {body}");
        assert!(body["detail"].as_str().unwrap().contains("invisible formatting"), "{body}");
    }
    let response = reqwest::get(format!("{}/api/events?name=a%E2%80%AEb", app.base)).await.unwrap();
    assert_eq!(response.status(), 400, "a stream's display name too");
    assert!(app.snapshot().await.comments.is_empty());
    let (status, body) =
        app.post("/api/comments", &json!({ "author": "Ελένη", "text": "hi" })).await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn the_admin_token_works_whatever_the_case_of_its_scheme() {
    let state = AppState::new(Config::parse_from(["tidings-server"]));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let token = state.admin_token().to_owned();
    let server = tokio::spawn(serve_app(listener, state, std::future::pending()));
    let drop_all = |authorization: String| {
        reqwest::Client::new()
            .post(format!("{base}/api/admin/drop"))
            .header("content-type", "application/json")
            .header("authorization", authorization)
            .body("{}")
            .send()
    };
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let response = drop_all(format!("{scheme} {token}")).await.unwrap();
        assert_eq!(response.status(), 204, "{scheme}");
    }
    let response = drop_all(format!("Basic {token}")).await.unwrap();
    assert_eq!(response.status(), 403, "another scheme");
    server.abort();
}
