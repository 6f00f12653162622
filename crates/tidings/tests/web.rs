//! tidings in real browsers (`wasm-pack test --headless --chrome` / `--firefox`), against a
//! tidings-server in test mode that `cargo xtask test` starts and names in
//! `TIDINGS_TEST_SERVER` at compile time.
#![cfg(target_arch = "wasm32")]

use std::future::Future;

use futures::StreamExt;
use futures::channel::mpsc;
use futures::future::{Either, select};
use gloo_timers::future::TimeoutFuture;
use tidings::{CloseReason, ConnectionState, Error, EventSource, Message};
use tidings_demo_events::Tick;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn server() -> &'static str {
    match option_env!("TIDINGS_TEST_SERVER") {
        Some(server) => server,
        None => {
            panic!("TIDINGS_TEST_SERVER is not set: run the browser tests with `cargo xtask test`")
        }
    }
}

fn url(path: &str) -> String {
    format!("{}{path}", server())
}

/// `future`'s output, or a panic naming `what` after 10 s.
async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    let future = std::pin::pin!(future);
    match select(future, TimeoutFuture::new(10_000)).await {
        Either::Left((value, _)) => value,
        Either::Right(((), _)) => panic!("timed out waiting for {what}"),
    }
}

/// A channel that every state change of `source` is sent into.
fn states(
    source: &EventSource,
) -> (mpsc::UnboundedReceiver<ConnectionState>, tidings::Subscription) {
    let (sender, receiver) = mpsc::unbounded();
    let subscription = source.on_state(move |state| {
        let _ = sender.unbounded_send(state);
    });
    (receiver, subscription)
}

#[wasm_bindgen_test]
async fn typed_ticks_arrive_with_their_ids_and_origin() {
    let source = EventSource::builder(url("/api/events")).open().expect("a valid URL");
    let (sender, mut received) = mpsc::unbounded::<Result<Message<Tick>, Error>>();
    let _ticks = source.on::<Tick>(move |tick| {
        let _ = sender.unbounded_send(tick);
    });

    let mut ticks = Vec::new();
    while ticks.len() < 3 {
        let tick = within("a tick", received.next()).await.expect("the channel is open");
        ticks.push(tick.expect("a tick decodes"));
    }
    assert_eq!(source.state(), ConnectionState::Open);
    for pair in ticks.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        assert_eq!(b.data.seq, a.data.seq + 1);
        let (id_a, id_b): (tidings_wire::EventId, tidings_wire::EventId) =
            (a.last_event_id.parse().unwrap(), b.last_event_id.parse().unwrap());
        assert!(id_b > id_a && id_b.epoch() == id_a.epoch(), "ids increase: {id_a} then {id_b}");
    }
    assert_eq!(ticks[0].event, "message");
    assert_eq!(ticks[0].origin, server());
}

#[wasm_bindgen_test]
async fn the_state_goes_from_connecting_to_open_then_closed_by_the_user() {
    let source = EventSource::builder(url("/api/events")).open().unwrap();
    assert_eq!(source.state(), ConnectionState::Connecting);
    let (mut changes, _guard) = states(&source);
    assert_eq!(within("open", changes.next()).await, Some(ConnectionState::Open));
    source.close();
    assert_eq!(source.state(), ConnectionState::Closed(CloseReason::ByUser));
    assert_eq!(source.as_raw().ready_state(), web_sys::EventSource::CLOSED);
    assert_eq!(changes.next().await, Some(ConnectionState::Closed(CloseReason::ByUser)));
}

#[wasm_bindgen_test]
async fn a_payload_of_the_wrong_type_is_an_error_for_that_event_only() {
    let source = EventSource::builder(url("/api/events")).open().unwrap();
    // Ticks are JSON objects, not strings: every one fails to decode, and keeps coming.
    let (sender, mut received) = mpsc::unbounded();
    let _strings = source.on_named::<String>("message", move |event| {
        let _ = sender.unbounded_send(event);
    });
    for _ in 0..2 {
        match within("an event", received.next()).await.unwrap() {
            Err(Error::Decode(error)) => {
                assert_eq!(error.event, "message");
                let tick: Tick = serde_json::from_str(&error.data).expect("the raw text is kept");
                assert!(tick.seq > 0);
                assert!(error.message.contains("expected a string"), "{}", error.message);
            }
            other => panic!("expected a decode error, got {other:?}"),
        }
    }
    assert_eq!(source.state(), ConnectionState::Open);
}

#[wasm_bindgen_test]
async fn a_fatal_answer_reads_closed_not_reconnecting() {
    // The server answers 404 with JSON: the browser gives up for good.
    let source = EventSource::builder(url("/api/no-such-stream")).open().unwrap();
    let (mut changes, _guard) = states(&source);
    let state = within("the failure", changes.next()).await.unwrap();
    assert_eq!(state, ConnectionState::Closed(CloseReason::Fatal));
    assert_eq!(source.as_raw().ready_state(), web_sys::EventSource::CLOSED);
}

#[wasm_bindgen_test]
fn an_invalid_url_is_an_error_not_a_panic() {
    match EventSource::builder("http://[::1").open() {
        Err(Error::InvalidUrl { url, message }) => {
            assert_eq!(url, "http://[::1");
            assert!(message.contains("SyntaxError"), "{message}");
        }
        other => panic!("expected InvalidUrl, got {other:?}"),
    }
}

#[wasm_bindgen_test]
async fn dropping_the_source_closes_it_and_silences_its_subscriptions() {
    let source = EventSource::builder(url("/api/events")).open().unwrap();
    let raw = source.as_raw().clone();
    let (sender, mut received) = mpsc::unbounded::<()>();
    let ticks = source.on::<Tick>(move |_| {
        let _ = sender.unbounded_send(());
    });
    within("a first tick", received.next()).await;
    drop(source);
    assert_eq!(raw.ready_state(), web_sys::EventSource::CLOSED);
    // Ticks come every second at most: wait longer than that, nothing must arrive.
    while received.try_recv().is_ok() {}
    TimeoutFuture::new(1_500).await;
    assert!(received.try_recv().is_err(), "no event after the source is dropped");
    drop(ticks); // harmless after the source is gone
}

#[wasm_bindgen_test]
async fn dropping_a_subscription_removes_its_handler() {
    let source = EventSource::builder(url("/api/events")).open().unwrap();
    let (kept_sender, mut kept) = mpsc::unbounded::<()>();
    let (dropped_sender, mut dropped) = mpsc::unbounded::<()>();
    let _kept = source.on::<Tick>(move |_| {
        let _ = kept_sender.unbounded_send(());
    });
    let removed = source.on::<Tick>(move |_| {
        let _ = dropped_sender.unbounded_send(());
    });
    drop(removed);
    within("a tick", kept.next()).await;
    within("a second tick", kept.next()).await;
    // The dropped handler's sender went with it: its channel is closed and empty.
    assert_eq!(dropped.next().await, None);
}
