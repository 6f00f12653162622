//! `Hub::subscribe`: the hub's records in axum's own `Sse`, read over a real socket with an
//! independent parser, resuming by id while records are being published; and its gaps.

mod common;

use std::convert::Infallible;
use std::future::IntoFuture;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::response::sse::{Event, Sse};
use axum::routing::get;
use common::{Note, WAIT, topic};
use eventsource_stream::Eventsource;
use futures::{Stream, StreamExt};
use tidings_axum::{Gap, Hub, LastEventId, MemoryLog};
use tidings_wire::{EventId, ResyncReason};
use tokio::time::timeout;

/// `GET /sse`: the `notes` topic through axum's `Sse`, resuming after the client's last id.
async fn sse(
    State(hub): State<Hub>,
    last: LastEventId,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let after = last.as_deref().and_then(|id| id.parse().ok());
    Sse::new(hub.subscribe([topic("notes")], after).map(|item| {
        Ok(match item {
            Ok(record) => {
                Event::default().id(record.id.to_string()).event(&*record.name).data(&*record.data)
            }
            Err(Gap::Resync { head, .. }) => {
                Event::default().id(head.to_string()).event("resync").data("{}")
            }
        })
    }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_in_axums_sse_resumes_by_id_while_publishing_without_gap_or_repeat() {
    let hub = Hub::new();
    let app = Router::new().route("/sse", get(sse)).with_state(hub.clone());
    let listener = tidings_axum::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(tidings_axum::serve(listener, app).into_future());

    // 300 notes, published one after another, with another topic's records between them.
    let ids = Arc::new(Mutex::new(Vec::<EventId>::new()));
    let publisher = tokio::spawn({
        let (hub, ids) = (hub.clone(), Arc::clone(&ids));
        async move {
            for n in 1..=300 {
                let note = Note { text: n.to_string() };
                let record = hub.publish(&topic("notes"), &note).await.unwrap();
                ids.lock().unwrap().push(record.id);
                hub.publish(&topic("other"), &note).await.unwrap();
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    });
    let resume_after = loop {
        if let Some(id) = ids.lock().unwrap().get(49).copied() {
            break id;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    };
    // Connected while the publisher goes on: the backlog and live records meet.
    let response = reqwest::Client::new()
        .get(format!("{base}/sse"))
        .header("last-event-id", resume_after.to_string())
        .send()
        .await
        .unwrap();
    let mut events = Box::pin(response.bytes_stream().eventsource());
    let mut texts = Vec::new();
    while texts.last().map(String::as_str) != Some("300") {
        let event = timeout(WAIT, events.next()).await.expect("an event in time").unwrap().unwrap();
        assert_eq!(event.event, "note");
        texts.push(serde_json::from_str::<Note>(&event.data).unwrap().text);
    }
    let expected: Vec<String> = (51..=300).map(|n: u32| n.to_string()).collect();
    assert_eq!(texts, expected, "every note after the 50th, once, in order");
    publisher.await.unwrap();
    server.abort();
}

#[tokio::test]
async fn an_id_that_cannot_be_served_gives_a_gap_then_the_records_after_the_head() {
    let hub = Hub::builder().log(MemoryLog::new(7, 100)).build();
    let first = hub.publish(&topic("notes"), &Note { text: "1".into() }).await.unwrap();
    // Another epoch's id: a gap, at the head, then what comes next (of its topic only).
    let mut records = hub.subscribe([topic("notes")], Some(EventId::new(6, 40)));
    let gap = timeout(WAIT, records.next()).await.unwrap().unwrap();
    assert_eq!(gap, Err(Gap::Resync { reason: ResyncReason::UnknownEpoch, head: first.id }));
    hub.publish(&topic("other"), &Note { text: "x".into() }).await.unwrap();
    hub.publish(&topic("notes"), &Note { text: "2".into() }).await.unwrap();
    let next = timeout(WAIT, records.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(serde_json::from_str::<Note>(&next.data).unwrap().text, "2");
    // An id from the future, likewise.
    let mut records = hub.subscribe([topic("notes")], Some(EventId::new(7, 99)));
    let gap = timeout(WAIT, records.next()).await.unwrap().unwrap();
    assert!(matches!(gap, Err(Gap::Resync { reason: ResyncReason::FromTheFuture, .. })));
}

#[tokio::test]
async fn records_published_between_subscribing_and_the_first_read_come_once() {
    let hub = Hub::new();
    let first = hub.publish(&topic("notes"), &Note { text: "1".into() }).await.unwrap();
    let mut records = hub.subscribe([topic("notes")], Some(first.id));
    // In the live queue (subscribed) and in the backlog (read on the first poll): both.
    for text in ["2", "3"] {
        hub.publish(&topic("notes"), &Note { text: text.into() }).await.unwrap();
    }
    let mut next = async || {
        let record = timeout(WAIT, records.next()).await.unwrap().unwrap().unwrap();
        serde_json::from_str::<Note>(&record.data).unwrap().text
    };
    assert_eq!((next().await, next().await), ("2".to_owned(), "3".to_owned()));
    hub.publish(&topic("notes"), &Note { text: "4".into() }).await.unwrap();
    assert_eq!(next().await, "4", "not 2 again");
}
