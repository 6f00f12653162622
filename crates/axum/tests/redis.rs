//! The engine on Redis Streams (feature `redis`), through real sockets: two hubs on one Redis are
//! two server instances. Each test starts its own `redis-server` (from Debian's package, which
//! `cargo xtask test` installs) on a unix socket in a temporary folder, and kills and restarts it
//! where a test needs Redis to go away.
#![cfg(feature = "redis")]

mod common;

use std::time::{Duration, Instant};

use common::{TestApp, Tick, id_of, next_data};
use tidings_axum::{EventLog, Hub, RedisLog, ResumeError};
use tidings_wire::EventId;

use tidings_testkit::RedisServer;

async fn redis_log(redis: &RedisServer) -> RedisLog {
    RedisLog::builder(redis.url()).prefix("test").connect().await.expect("Redis answers")
}

/// Two "server instances": two hubs, each with its own connection to the one Redis.
async fn two_nodes(redis: &RedisServer) -> (TestApp, TestApp) {
    let a = TestApp::start_with(Hub::builder().log(redis_log(redis).await), |serve| serve).await;
    let b = TestApp::start_with(Hub::builder().log(redis_log(redis).await), |serve| serve).await;
    (a, b)
}

async fn post(app: &TestApp, text: &str) -> u16 {
    let response =
        reqwest::Client::new().post(app.url("/notes")).body(text.to_owned()).send().await;
    response.map_or(0, |response| response.status().as_u16())
}

#[tokio::test]
async fn a_client_of_one_node_gets_what_another_node_publishes_in_order_and_once() {
    let redis = RedisServer::start(false);
    let (a, b) = two_nodes(&redis).await;
    let mut events = a.connect("?topics=ticks", None).await;
    let mut published = Vec::new();
    for seq in 0..50 {
        let node = if seq % 2 == 0 { &a } else { &b };
        published.push(node.publish("ticks", &Tick { seq }).await);
    }
    let mut received = Vec::new();
    while received.len() < published.len() {
        let event = next_data(&mut events).await;
        let tick: Tick = serde_json::from_str(&event.data).unwrap();
        received.push((id_of(&event), tick.seq));
    }
    let expected: Vec<(EventId, u64)> = published.iter().copied().zip(0..).collect();
    assert_eq!(received, expected, "every event, in the order of its id, once");
    // Ids of one epoch, one apart, whichever node appended.
    assert!(published.windows(2).all(|pair| pair[1].seq() == pair[0].seq() + 1));

    // Idle for longer than a blocking read and the client's default answer time (500 ms): the
    // live reader keeps its connection, and the log says it is available.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert!(a.hub.log().is_available() && b.hub.log().is_available());
    let late = b.publish("ticks", &Tick { seq: 50 }).await;
    assert_eq!(id_of(&next_data(&mut events).await), late);
}

#[tokio::test]
async fn a_client_resumes_on_another_node_without_gap_or_duplicate() {
    let redis = RedisServer::start(false);
    let (a, b) = two_nodes(&redis).await;
    let ids = a.publish_ticks(30).await;
    let mut first = a.connect("?topics=ticks", Some(&ids[9].to_string())).await;
    for id in &ids[10..20] {
        assert_eq!(id_of(&next_data(&mut first).await), *id);
    }
    drop(first);
    let mut second = b.connect("?topics=ticks", Some(&ids[19].to_string())).await;
    for id in &ids[20..] {
        assert_eq!(id_of(&next_data(&mut second).await), *id, "the backlog from node B");
    }
    let live = a.publish("ticks", &Tick { seq: 99 }).await;
    assert_eq!(id_of(&next_data(&mut second).await), live, "then live, published through A");
}

#[tokio::test]
async fn ids_that_cannot_be_served_are_told_apart() {
    let redis = RedisServer::start(false);
    let log = RedisLog::builder(redis.url()).prefix("small").capacity(5).connect().await.unwrap();
    let epoch = log.epoch();
    let ticks = common::topic("ticks");
    for _ in 0..400 {
        log.append(ticks.clone(), "message".into(), "{}".into()).await.unwrap();
    }
    assert_eq!(log.head(), Some(EventId::new(epoch, 400)));
    assert_eq!(log.read_after(EventId::new(epoch, 399)).await.unwrap().len(), 1);
    assert!(log.read_after(EventId::new(epoch, 400)).await.unwrap().is_empty());
    assert_eq!(log.read_after(EventId::new(epoch, 2)).await.unwrap_err(), ResumeError::Evicted);
    assert_eq!(
        log.read_after(EventId::new(epoch, 401)).await.unwrap_err(),
        ResumeError::FromTheFuture
    );
    assert_eq!(
        log.read_after(EventId::new(epoch + 1, 1)).await.unwrap_err(),
        ResumeError::UnknownEpoch
    );
}

#[tokio::test]
async fn a_wrong_url_or_an_absent_redis_is_a_clear_error() {
    use std::error::Error as _;
    let error = RedisLog::builder("http://example.com").connect().await.unwrap_err();
    assert!(error.to_string().starts_with("not a Redis URL"), "{error}");
    assert!(error.source().is_some(), "the client's error is kept");
    let dir = tempfile::tempdir().unwrap();
    let url = format!("unix://{}", dir.path().join("nobody.sock").display());
    let error = RedisLog::builder(url).connect().await.unwrap_err();
    assert!(error.to_string().starts_with("cannot reach Redis at"), "{error}");
    let cause = error.source().expect("the client's error is kept").to_string();
    assert!(cause.to_lowercase().contains("no such file"), "{cause}");
}

/// Polls `check` every 20 ms, for at most 10 s.
async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < Duration::from_secs(10), "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn redis_restarted_with_its_data_the_nodes_carry_on_and_clients_miss_nothing() {
    let mut redis = RedisServer::start(true);
    let (a, b) = two_nodes(&redis).await;
    let mut events = a.connect("?topics=notes", None).await;
    assert_eq!(post(&b, "before").await, 201);
    assert_eq!(next_data(&mut events).await.data, r#"{"text":"before"}"#);

    redis.kill();
    assert_eq!(post(&b, "while away").await, 503, "nothing stored, and said so");
    assert!(!b.hub.log().is_available());
    redis.run();
    eventually("node B stores again", async || post(&b, "after").await == 201).await;
    let event = next_data(&mut events).await;
    assert_eq!(event.event, "note", "no resync: the log kept its epoch");
    assert_eq!(event.data, r#"{"text":"after"}"#);
    eventually("node A sees Redis again", async || a.hub.log().is_available()).await;
}

#[tokio::test]
async fn redis_restarted_empty_gives_clients_a_resync_not_a_gap() {
    let mut redis = RedisServer::start(false);
    let (a, b) = two_nodes(&redis).await;
    let mut events = a.connect("?topics=notes", None).await;
    assert_eq!(post(&b, "before").await, 201);
    let before = id_of(&next_data(&mut events).await);

    redis.kill();
    redis.run();
    eventually("node B stores again", async || post(&b, "after").await == 201).await;
    let resync = next_data(&mut events).await;
    assert_eq!(resync.event, "resync", "the old epoch is gone: the client is told");
    assert!(resync.data.contains("unknown_epoch"), "{}", resync.data);
    let after = next_data(&mut events).await;
    assert_eq!(after.data, r#"{"text":"after"}"#);
    let after = id_of(&after);
    assert_ne!(after.epoch(), before.epoch());
    assert_eq!(
        resync.id,
        EventId::new(after.epoch(), after.seq() - 1).to_string(),
        "moved to just before"
    );
    // A client of the old epoch resuming now is told too.
    let mut late = b.connect("?topics=notes", Some(&before.to_string())).await;
    assert_eq!(next_data(&mut late).await.event, "resync");
}

#[tokio::test]
async fn redis_restored_from_an_older_save_starts_a_new_epoch_rather_than_reuse_ids() {
    let mut redis = RedisServer::start(true);
    let app = TestApp::start_with(Hub::builder().log(redis_log(&redis).await), |serve| serve).await;
    let mut events = app.connect("?topics=ticks", None).await;
    let ids = app.publish_ticks(10).await;
    for id in &ids {
        assert_eq!(id_of(&next_data(&mut events).await), *id);
    }
    // What an older save holds: the first 4 events only.
    {
        let client = redis::Client::open(redis.url()).unwrap();
        let mut connection = client.get_multiplexed_async_connection().await.unwrap();
        let lost: Vec<String> = ids[4..].iter().map(ToString::to_string).collect();
        let _: () = redis::cmd("XDEL")
            .arg("{test}:events")
            .arg(&lost)
            .query_async(&mut connection)
            .await
            .unwrap();
        let _: () =
            redis::cmd("SET").arg("{test}:seq").arg(4).query_async(&mut connection).await.unwrap();
    }
    redis.kill();
    redis.run();
    let after = loop {
        match app.hub.publish(&common::topic("ticks"), &Tick { seq: 99 }).await {
            Ok(record) => break record.id,
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    };
    assert_ne!(after.epoch(), ids[0].epoch(), "a new epoch: the lost numbers are not given again");
    let resync = next_data(&mut events).await;
    assert_eq!(resync.event, "resync", "{resync:?}");
    assert_eq!(id_of(&next_data(&mut events).await), after);
}
