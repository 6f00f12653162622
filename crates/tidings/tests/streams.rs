//! Streams (`stream::<T>()`, `raw_stream`, `state_stream`) and the hidden-tab policy, in real
//! browsers against the fixture server.
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use futures::StreamExt;
use gloo_timers::future::TimeoutFuture;
use tidings::{
    CloseReason, ConnectionState, EventSource, HiddenTabPolicy, StreamError, Subscription,
};
use tidings_demo_events::Tick;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

mod common;

use common::{assert_no_gap_no_duplicate, key, ticks_become, until, url, within};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn a_typed_stream_yields_ticks_in_order_and_ends_after_the_source_closes() {
    common::require_fixtures().await;
    let key = key();
    let source = EventSource::new(url(&format!("/test/ticks/{key}"))).expect("a valid URL");
    let mut ticks = source.stream::<Tick>();
    let mut seqs = Vec::new();
    while seqs.len() < 12 {
        let tick = within("a tick", ticks.next()).await.expect("the stream goes on");
        let tick = tick.expect("a tick that decodes");
        assert_eq!(tick.last_event_id(), tick.data.seq.to_string(), "each with its own id");
        seqs.push(tick.data.seq);
    }
    // Every fifth event is a `note`, not a tick: the rest come in order, none missing.
    let expected: Vec<u64> = (seqs[0]..).filter(|seq| seq % 5 != 0).take(seqs.len()).collect();
    assert_eq!(seqs, expected);
    source.close();
    let rest: Vec<_> = within("the end of the stream", ticks.collect()).await;
    assert!(rest.iter().all(Result::is_ok), "what was buffered still comes: {rest:?}");
    ticks_become(&key, 0).await;
}

#[wasm_bindgen_test]
async fn a_stream_ends_when_its_source_is_dropped_and_a_dropped_stream_leaves_no_listener() {
    common::require_fixtures().await;
    let key = key();
    let before = tidings::live_listeners();
    let source = EventSource::new(url(&format!("/test/ticks/{key}"))).expect("a valid URL");
    let opened = tidings::live_listeners();
    let first = source.stream::<Tick>();
    assert_eq!(tidings::live_listeners(), opened + 1, "one listener for the name");
    let second = source.raw_stream("message");
    assert_eq!(tidings::live_listeners(), opened + 1, "the same name: the same listener");
    drop(first);
    assert_eq!(tidings::live_listeners(), opened + 1, "the other stream still listens");
    drop(second);
    assert_eq!(tidings::live_listeners(), opened, "the last stream of the name took it along");

    let mut ticks = source.stream::<Tick>();
    within("a tick", ticks.next()).await.expect("a tick").expect("decoded");
    drop(source);
    let ended = within("the end of the stream", async { while ticks.next().await.is_some() {} });
    ended.await;
    drop(ticks);
    assert_eq!(tidings::live_listeners(), before, "nothing left behind");
    ticks_become(&key, 0).await;
}

#[wasm_bindgen_test]
async fn a_reader_that_falls_behind_gets_the_newest_and_is_told_how_many_were_dropped() {
    common::require_fixtures().await;
    let source = EventSource::new(url("/test/count?n=10&hold=1")).expect("a valid URL");
    let mut numbers = source.raw_stream("message").capacity(3);
    let arrived = Rc::new(RefCell::new(0));
    let counter = Rc::clone(&arrived);
    let _count = source.on_raw("message", move |_| *counter.borrow_mut() += 1);
    // The stream is not read while the ten events arrive.
    until("ten events", || *arrived.borrow() == 10).await;
    assert_eq!(numbers.next().await, Some(Err(StreamError::Lagged { missed: 7 })));
    for expected in ["8", "9", "10"] {
        let message = numbers.next().await.expect("an item").expect("a message");
        assert_eq!(message.data, expected);
        assert_eq!(message.last_event_id(), expected);
    }
    source.close();
    assert!(within("the end", numbers.next()).await.is_none());
}

#[wasm_bindgen_test]
async fn a_decode_error_reaches_a_stream_and_a_handler_and_the_next_event_still_arrives() {
    common::require_fixtures().await;
    let source = EventSource::new(url("/test/malformed")).expect("a valid URL");
    let handled = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&handled);
    let _handler = source.on_named::<Tick>("tick", move |received| {
        sink.borrow_mut().push(received.map(|message| message.data.seq));
    });
    let mut ticks = source.stream_named::<Tick>("tick");
    let first = within("tick 1", ticks.next()).await.expect("an item");
    let second = within("tick 2", ticks.next()).await.expect("an item");
    let third = within("tick 3", ticks.next()).await.expect("an item");
    assert_eq!(first.expect("tick 1 decodes").data.seq, 1);
    match second {
        Err(StreamError::Decode(error)) => {
            assert_eq!(error.event, "tick");
            assert_eq!(error.data, "{\"seq\":2,\"value\":", "the raw text is kept");
            assert!(error.to_string().contains("the stream goes on"), "{error}");
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
    assert_eq!(third.expect("tick 3 decodes").data.seq, 3);
    let handled = handled.borrow();
    assert_eq!(handled.len(), 3);
    assert_eq!(handled[0], Ok(1));
    let Err(error) = &handled[1] else { panic!("the handler got {:?}", handled[1]) };
    assert_eq!((error.event.as_str(), error.line, error.column), ("tick", 1, 17));
    assert_eq!(handled[2], Ok(3));
}

#[wasm_bindgen_test]
async fn the_state_stream_yields_every_change_and_ends_with_the_closed_state() {
    common::require_fixtures().await;
    let source = EventSource::new(url("/test/count?n=1&hold=1")).expect("a valid URL");
    let mut states = source.state_stream();
    assert_eq!(within("open", states.next()).await, Some(ConnectionState::Open));
    source.close();
    assert_eq!(states.next().await, Some(ConnectionState::Closed(CloseReason::ByUser)));
    assert_eq!(states.next().await, None);
}

/// Makes the page read hidden (or visible again) and tells it, as the browser does for a
/// background tab.
fn set_page_hidden(hidden: bool) {
    let script = js_sys::Function::new_with_args(
        "hidden",
        "Object.defineProperty(document, 'hidden', { configurable: true, get: () => hidden });
         Object.defineProperty(document, 'visibilityState', {
             configurable: true, get: () => hidden ? 'hidden' : 'visible' });
         document.dispatchEvent(new Event('visibilitychange'));
         if (!hidden) { delete document.hidden; delete document.visibilityState; }",
    );
    script.call1(&wasm_bindgen::JsValue::NULL, &hidden.into()).expect("the page's visibility");
}

#[wasm_bindgen_test]
async fn a_hidden_page_closes_after_the_delay_and_resumes_without_a_gap_when_visible() {
    common::require_fixtures().await;
    let key = key();
    let source = EventSource::builder(url(&format!("/test/ticks/{key}?every_ms=20")))
        .hidden_tab_policy(HiddenTabPolicy::CloseAfter(Duration::from_millis(400)))
        .open()
        .expect("a valid URL");
    let seqs = Rc::new(RefCell::new(Vec::new()));
    let states = Rc::new(RefCell::new(Vec::new()));
    let (sink, notes, state_sink) = (Rc::clone(&seqs), Rc::clone(&seqs), Rc::clone(&states));
    let _subscriptions: [Subscription; 3] = [
        source.on::<Tick>(move |tick| sink.borrow_mut().push(tick.expect("a tick").data.seq)),
        source.on_raw("note", move |note| notes.borrow_mut().push(note.data.parse().unwrap())),
        source.on_state(move |state| state_sink.borrow_mut().push(state)),
    ];
    until("a few ticks", || seqs.borrow().len() >= 5).await;

    // Hidden for less than the delay: nothing changes.
    set_page_hidden(true);
    TimeoutFuture::new(150).await;
    set_page_hidden(false);
    TimeoutFuture::new(400).await;
    assert_eq!(source.state(), ConnectionState::Open, "visible again before the delay");

    set_page_hidden(true);
    let hidden_at = js_sys::Date::now();
    until("the hidden state", || source.state() == ConnectionState::Hidden).await;
    let took = js_sys::Date::now() - hidden_at;
    assert!(took >= 380.0, "closed after {took} ms, before the delay");
    assert!(!source.state().is_closed(), "not closed for good");
    ticks_become(&key, 0).await;
    let while_hidden = seqs.borrow().len();
    TimeoutFuture::new(300).await;
    assert_eq!(seqs.borrow().len(), while_hidden, "nothing arrives while hidden");

    set_page_hidden(false);
    until("open again", || source.state() == ConnectionState::Open).await;
    until("ticks after the return", || seqs.borrow().len() >= while_hidden + 20).await;
    assert_no_gap_no_duplicate("the whole stream", &seqs.borrow());
    let states = states.borrow().clone();
    let hidden = states.iter().position(|state| *state == ConnectionState::Hidden).unwrap();
    assert_eq!(
        states[hidden..],
        [
            ConnectionState::Hidden,
            ConnectionState::Connecting { attempt: 0 },
            ConnectionState::Open
        ]
    );
    assert!(states.iter().all(|state| !state.is_closed()), "{states:?}");
    ticks_become(&key, 1).await;
}
