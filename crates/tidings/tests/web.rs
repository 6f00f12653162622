//! tidings in real browsers (`wasm-pack test --headless --chrome` / `--firefox`), against a
//! tidings-server in test mode that `cargo xtask test` starts and names in
//! `TIDINGS_TEST_SERVER` at compile time.
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;

use futures::StreamExt;
use futures::channel::mpsc;
use gloo_timers::future::TimeoutFuture;
use std::time::Duration;

use tidings::{CloseReason, ConnectionState, DecodeError, Error, EventSource, Message, Retrier};
use tidings_demo_events::Tick;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

mod common;

use common::{data_of, key, quick_policy, record_raw, record_states, server, until, url, within};

wasm_bindgen_test_configure!(run_in_browser);

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
    common::require_fixtures().await;
    let source = EventSource::builder(url("/api/events")).open().expect("a valid URL");
    let (sender, mut received) = mpsc::unbounded::<Result<Message<Tick>, DecodeError>>();
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
            (a.last_event_id().parse().unwrap(), b.last_event_id().parse().unwrap());
        assert!(id_b > id_a && id_b.epoch() == id_a.epoch(), "ids increase: {id_a} then {id_b}");
    }
    assert_eq!(ticks[0].event(), "message");
    assert_eq!(ticks[0].origin(), server());
}

#[wasm_bindgen_test]
async fn the_state_goes_from_connecting_to_open_then_closed_by_the_user() {
    common::require_fixtures().await;
    let source = EventSource::builder(url("/api/events")).open().unwrap();
    assert_eq!(source.state(), ConnectionState::Connecting { attempt: 0 });
    let (mut changes, _guard) = states(&source);
    assert_eq!(within("open", changes.next()).await, Some(ConnectionState::Open));
    source.close();
    assert_eq!(source.state(), ConnectionState::Closed(CloseReason::ByUser));
    assert_eq!(
        source.as_raw().expect("a source of its own").ready_state(),
        web_sys::EventSource::CLOSED
    );
    assert_eq!(changes.next().await, Some(ConnectionState::Closed(CloseReason::ByUser)));
}

#[wasm_bindgen_test]
async fn a_payload_of_the_wrong_type_is_an_error_for_that_event_only() {
    common::require_fixtures().await;
    let source = EventSource::builder(url("/api/events")).open().unwrap();
    // Ticks are JSON objects, not strings: every one fails to decode, and keeps coming.
    let (sender, mut received) = mpsc::unbounded();
    let _strings = source.on_named::<String>("message", move |event| {
        let _ = sender.unbounded_send(event);
    });
    for _ in 0..2 {
        match within("an event", received.next()).await.unwrap() {
            Err(error) => {
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
    common::require_fixtures().await;
    // The server answers 404 with JSON: the browser gives up, and the library learns why.
    let source = EventSource::builder(url("/api/no-such-stream")).open().unwrap();
    let (mut changes, _guard) = states(&source);
    let state = within("the failure", changes.next()).await.unwrap();
    assert_eq!(state, ConnectionState::Closed(CloseReason::Fatal { status: Some(404) }));
    assert_eq!(
        source.as_raw().expect("a source of its own").ready_state(),
        web_sys::EventSource::CLOSED
    );
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
    common::require_fixtures().await;
    let source = EventSource::builder(url("/api/events")).open().unwrap();
    let raw = source.as_raw().expect("a source of its own").clone();
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

/// How many errors the page reports (an exception in an event listener is one).
fn count_page_errors() -> (Rc<std::cell::Cell<u32>>, gloo_events::EventListener) {
    let errors = Rc::new(std::cell::Cell::new(0));
    let count = Rc::clone(&errors);
    let window = web_sys::window().unwrap();
    let listener =
        gloo_events::EventListener::new(&window, "error", move |_| count.set(count.get() + 1));
    (errors, listener)
}

fn message_event(name: &str, data: &str) -> web_sys::MessageEvent {
    let init = web_sys::MessageEventInit::new();
    init.set_data(&data.into());
    init.set_last_event_id("9-9");
    web_sys::MessageEvent::new_with_event_init_dict(name, &init).unwrap()
}

#[wasm_bindgen_test]
async fn a_dropped_source_leaves_nothing_on_the_browser_object_to_call() {
    common::require_fixtures().await;
    // Behaviour, not the library's own counter: every name the source listened to is fired at
    // the browser's object after the drop, and nothing may run or throw.
    let (errors, _errors) = count_page_errors();
    // A stream that stays open and sends none of the names below (only hello and heartbeats).
    let source = EventSource::builder(url("/api/events?topics=board:quiet"))
        .heartbeat_timeout(Duration::from_secs(60))
        .open()
        .unwrap();
    let raw = source.as_raw().expect("a source of its own");
    let (calls, state_calls) =
        (Rc::new(std::cell::Cell::new(0_u32)), Rc::new(std::cell::Cell::new(0_u32)));
    let count = |calls: &Rc<std::cell::Cell<u32>>| {
        let calls = Rc::clone(calls);
        move || calls.set(calls.get() + 1)
    };
    let (tick, named, any) = (count(&calls), count(&calls), count(&calls));
    let state = count(&state_calls);
    let subscriptions = [
        source.on::<Tick>(move |_| tick()),
        source.on_named::<u32>("numbered", move |_| named()),
        source.on_raw("open", move |_| any()),
        source.on_state(move |_| state()),
    ];
    // While the source lives, the same events do reach the handlers.
    let tick = r#"{"seq":1,"value":1.0,"at_ms":1}"#;
    raw.dispatch_event(&message_event("message", tick)).unwrap();
    raw.dispatch_event(&message_event("numbered", "7")).unwrap();
    raw.dispatch_event(&message_event("open", "server-sent")).unwrap();
    assert_eq!(calls.get(), 3, "every handler ran once while the source lived");

    drop(source);
    let (before, states_before) = (calls.get(), state_calls.get());
    for name in ["message", "numbered", "open", "error", "heartbeat"] {
        raw.dispatch_event(&message_event(name, tick)).unwrap();
        // The connection's own `open` and `error` are plain events.
        raw.dispatch_event(&web_sys::Event::new(name).unwrap()).unwrap();
    }
    assert_eq!(calls.get(), before, "no handler runs after the drop");
    assert_eq!(state_calls.get(), states_before, "no state change after the drop");
    assert_eq!(errors.get(), 0, "nothing throws");
    drop(subscriptions);
}

#[wasm_bindgen_test]
async fn dropping_a_subscription_removes_its_handler() {
    common::require_fixtures().await;
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

// ---- Through the fixture server's scripted /test/ routes (the conformance table itself is in
// `transports.rs`, run through either transport) ----

const RECONNECTING: ConnectionState =
    ConnectionState::Reconnecting { attempt: 1, by: Retrier::Browser };
const ENDED: ConnectionState = ConnectionState::Closed(CloseReason::Ended);

/// Text of every kind arrives exactly: non-ASCII, and long. And a handler may dispatch an event
/// to the same source while another is being handed out: it arrives, and the outer event's later
/// handlers still get their own data.
#[wasm_bindgen_test]
async fn any_text_of_any_length_arrives_exactly_even_when_a_handler_nests_an_event() {
    common::require_fixtures().await;
    // 17,000 characters of data come from a short URL (a request head is at most 16 KiB).
    for (piece, repeat) in
        [("h\u{e9}llo \u{2713} \u{65e5}\u{672c} \u{1f600}", 1), ("x\u{e9}", 8_500)]
    {
        let text = piece.repeat(repeat);
        let data = String::from(js_sys::encode_uri_component(piece));
        let path = format!("/test/message?data={data}&repeat={repeat}&hold=1");
        let source = EventSource::builder(url(&path)).open().unwrap();
        let (messages, _guard) = record_raw(&source, "message");
        until("the message", || !messages.borrow().is_empty()).await;
        assert!(messages.borrow()[0].data == text, "{} bytes arrive as sent", text.len());
    }

    let source = EventSource::builder(url("/test/message?data=outer&hold=1")).open().unwrap();
    let raw = source.as_raw().expect("a source of its own");
    let _nesting = source.on_raw("message", move |message| {
        if message.data == "outer" {
            let init = web_sys::MessageEventInit::new();
            init.set_data(&"inner".into());
            let inner = web_sys::MessageEvent::new_with_event_init_dict("message", &init).unwrap();
            raw.dispatch_event(&inner).unwrap();
        }
    });
    // Subscribed second: for the outer event it runs after the inner one was handed out.
    let (messages, _guard) = record_raw(&source, "message");
    until("both events", || messages.borrow().len() >= 2).await;
    assert_eq!(data_of(&messages), ["inner", "outer"]);
}

#[wasm_bindgen_test]
async fn malformed_json_fails_that_event_only() {
    common::require_fixtures().await;
    let source = EventSource::builder(url("/test/malformed")).open().unwrap();
    let (sender, mut received) = mpsc::unbounded();
    let _ticks = source.on_named::<Tick>("tick", move |tick| {
        let _ = sender.unbounded_send(tick);
    });
    let first = within("tick 1", received.next()).await.unwrap();
    let second = within("tick 2", received.next()).await.unwrap();
    let third = within("tick 3", received.next()).await.unwrap();
    source.close();
    assert_eq!(first.unwrap().data.seq, 1);
    match second {
        Err(error) => {
            assert_eq!(error.event, "tick");
            assert_eq!(error.data, "{\"seq\":2,\"value\":");
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
    assert_eq!(third.unwrap().data.seq, 3);
}

// ---- The supervisor, the watchdog and the last id ----

#[wasm_bindgen_test]
async fn after_the_browser_gives_up_the_supervisor_backs_off_and_resumes_without_a_gap() {
    common::require_fixtures().await;
    // Visit 1 serves 1..3 and ends; the browser's reconnect and the library's first attempt get
    // 503; the second attempt resumes after id 3 from the query parameter, and holds.
    let path = format!("/test/flaky/{}?fail=2&status=503&n=3", key());
    let baseline = tidings::live_listeners();
    let source = EventSource::builder(url(&path))
        .reconnect(quick_policy())
        .classify_failures(false)
        .open()
        .unwrap();
    let (messages, _messages) = record_raw(&source, "message");
    let (states, _states) = record_states(&source);
    until("six events", || messages.borrow().len() >= 6).await;
    // open, error, end, online, and one for `message`: the old sources' listeners are gone.
    assert_eq!(tidings::live_listeners(), baseline + 5);
    assert_eq!(data_of(&messages), ["1", "2", "3", "4", "5", "6"], "no gap, no repeat");
    assert_eq!(messages.borrow()[5].last_event_id(), "6");
    assert_eq!(source.last_event_id(), "6");
    assert!(
        source.as_raw().expect("a source of its own").url().contains("lastEventId=3"),
        "{}",
        source.as_raw().expect("a source of its own").url()
    );
    let states = states.borrow().clone();
    let delays: Vec<(u32, Duration)> = states
        .iter()
        .filter_map(|state| match state {
            ConnectionState::Reconnecting { attempt, by: Retrier::Library { delay } } => {
                Some((*attempt, *delay))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        states,
        [
            ConnectionState::Open,
            RECONNECTING,
            ConnectionState::Reconnecting {
                attempt: 2,
                by: Retrier::Library { delay: delays[0].1 }
            },
            ConnectionState::Connecting { attempt: 2 },
            ConnectionState::Reconnecting {
                attempt: 3,
                by: Retrier::Library { delay: delays[1].1 }
            },
            ConnectionState::Connecting { attempt: 3 },
            ConnectionState::Open,
        ]
    );
    for (attempt, delay) in delays {
        assert!(delay <= quick_policy().delay_bound(attempt), "attempt {attempt}: {delay:?}");
    }
    source.close();
    assert_eq!(tidings::live_listeners(), baseline, "closed: every listener is gone");
}

#[wasm_bindgen_test]
async fn a_503_is_classified_as_worth_retrying() {
    common::require_fixtures().await;
    // The browser's reconnect gets 503, so does the library's `fetch`; its first attempt resumes.
    let path = format!("/test/flaky/{}?fail=2&status=503&n=2", key());
    let source = EventSource::builder(url(&path)).reconnect(quick_policy()).open().unwrap();
    let (messages, _messages) = record_raw(&source, "message");
    let (states, _states) = record_states(&source);
    until("four events", || messages.borrow().len() >= 4).await;
    assert_eq!(data_of(&messages), ["1", "2", "3", "4"]);
    let states = states.borrow();
    assert!(
        matches!(
            states[..],
            [
                ConnectionState::Open,
                RECONNECTING,
                ConnectionState::Reconnecting { attempt: 2, by: Retrier::Library { .. } },
                ConnectionState::Connecting { attempt: 2 },
                ConnectionState::Open,
            ]
        ),
        "{states:?}"
    );
}

#[wasm_bindgen_test]
async fn the_failure_is_classified_so_204_and_4xx_stop_for_good() {
    common::require_fixtures().await;
    for (path, expected) in [
        ("/test/status/204", ENDED),
        ("/test/status/401", ConnectionState::Closed(CloseReason::Fatal { status: Some(401) })),
        ("/test/status/403", ConnectionState::Closed(CloseReason::Fatal { status: Some(403) })),
        ("/test/status/404", ConnectionState::Closed(CloseReason::Fatal { status: Some(404) })),
    ] {
        let source = EventSource::builder(url(path)).reconnect(quick_policy()).open().unwrap();
        let (states, _states) = record_states(&source);
        until(path, || !states.borrow().is_empty()).await;
        assert_eq!(*states.borrow(), [expected], "{path}: straight to closed");
    }
    // Without the question, a 404 is retried like anything else, up to the limit.
    let source = EventSource::builder(url("/test/status/404"))
        .reconnect(quick_policy().max_attempts(Some(1)))
        .classify_failures(false)
        .open()
        .unwrap();
    let (states, _states) = record_states(&source);
    until("the limit", || states.borrow().last().is_some_and(|s| s.is_closed())).await;
    assert!(matches!(
        states.borrow()[..],
        [
            ConnectionState::Reconnecting { attempt: 1, by: Retrier::Library { .. } },
            ConnectionState::Connecting { attempt: 1 },
            ConnectionState::Closed(CloseReason::RetryLimit { attempts: 1 }),
        ]
    ));
}

#[wasm_bindgen_test]
async fn the_attempt_limit_closes_with_a_reason_and_the_delays_respect_the_policy() {
    common::require_fixtures().await;
    let policy = quick_policy().max_attempts(Some(3));
    let source = EventSource::builder(url("/test/status/503")).reconnect(policy).open().unwrap();
    let (states, _states) = record_states(&source);
    until("the limit", || states.borrow().last().is_some_and(|s| s.is_closed())).await;
    let states = states.borrow();
    assert_eq!(states.len(), 7, "{states:?}");
    for (index, attempt) in (1..=3).enumerate() {
        match states[index * 2] {
            ConnectionState::Reconnecting { attempt: a, by: Retrier::Library { delay } } => {
                assert_eq!(a, attempt);
                assert!(delay <= policy.delay_bound(attempt), "{delay:?}");
            }
            other => panic!("expected a library retry, got {other:?}"),
        }
        assert_eq!(states[index * 2 + 1], ConnectionState::Connecting { attempt });
    }
    assert_eq!(states[6], ConnectionState::Closed(CloseReason::RetryLimit { attempts: 3 }));
    assert_eq!(
        source.as_raw().expect("a source of its own").ready_state(),
        web_sys::EventSource::CLOSED
    );
}

#[wasm_bindgen_test]
async fn the_watchdog_recreates_a_silent_connection_with_the_last_id() {
    common::require_fixtures().await;
    let source = EventSource::builder(url("/test/silent"))
        .heartbeat_timeout(Duration::from_millis(400))
        .open()
        .unwrap();
    let (messages, _messages) = record_raw(&source, "message");
    let (states, _states) = record_states(&source);
    until("two connections' events", || messages.borrow().len() >= 2).await;
    source.close();
    assert_eq!(data_of(&messages)[..2], ["then silence", "then silence"]);
    assert_eq!(
        states.borrow()[..3],
        [ConnectionState::Open, ConnectionState::Connecting { attempt: 1 }, ConnectionState::Open]
    );
}

#[wasm_bindgen_test]
async fn heartbeats_keep_the_watchdog_quiet() {
    common::require_fixtures().await;
    // The test server sends a heartbeat every 300 ms and ticks every 100 ms; with only
    // heartbeats listened to (no handler at all), the watchdog must not fire.
    let source = EventSource::builder(url("/api/events?topics=presence"))
        .heartbeat_timeout(Duration::from_millis(1_000))
        .open()
        .unwrap();
    let (states, _states) = record_states(&source);
    TimeoutFuture::new(2_500).await;
    assert_eq!(*states.borrow(), [ConnectionState::Open], "no re-creation");
}

#[wasm_bindgen_test]
async fn going_online_retries_at_once() {
    common::require_fixtures().await;
    // After one event the stream ends with a retry hint of 60 s: the browser would wait that long.
    let source = EventSource::builder(url("/test/count?n=1&retry=60000")).open().unwrap();
    let (messages, _messages) = record_raw(&source, "message");
    let (states, _states) = record_states(&source);
    until("the browser's wait", || states.borrow().contains(&RECONNECTING)).await;
    let window: web_sys::EventTarget = wasm_bindgen::JsCast::unchecked_into(js_sys::global());
    window.dispatch_event(&web_sys::Event::new("online").unwrap()).unwrap();
    until("the event after id 1", || messages.borrow().len() >= 2).await;
    source.close();
    assert_eq!(data_of(&messages)[..2], ["1", "2"]);
    assert_eq!(
        states.borrow()[..4],
        [
            ConnectionState::Open,
            RECONNECTING,
            ConnectionState::Connecting { attempt: 1 },
            ConnectionState::Open
        ]
    );
}

#[wasm_bindgen_test]
async fn an_initial_last_id_resumes_from_the_first_request() {
    common::require_fixtures().await;
    let source =
        EventSource::builder(url("/test/count?n=2&hold=1")).last_event_id("41").open().unwrap();
    assert_eq!(source.last_event_id(), "41");
    let (messages, _messages) = record_raw(&source, "message");
    until("two events", || messages.borrow().len() >= 2).await;
    assert_eq!(data_of(&messages), ["42", "43"]);
    assert_eq!(source.last_event_id(), "43");

    let source = EventSource::builder("/relative/events?a=1")
        .last_event_id("7")
        .last_event_id_param("since")
        .open()
        .unwrap();
    let opened = source.as_raw().expect("a source of its own").url();
    assert!(
        opened.starts_with("http") && opened.ends_with("/relative/events?a=1&since=7"),
        "{opened}"
    );
    source.close();
}

#[wasm_bindgen_test]
async fn a_handler_may_drop_its_own_subscription_and_others_while_running() {
    common::require_fixtures().await;
    let source = EventSource::builder(url("/test/count?n=5&hold=1")).open().unwrap();
    let slot: Rc<RefCell<Option<tidings::Subscription>>> = Rc::default();
    let seen = Rc::new(RefCell::new(0));
    let (own, count) = (Rc::clone(&slot), Rc::clone(&seen));
    *slot.borrow_mut() = Some(source.on_raw("message", move |_| {
        *count.borrow_mut() += 1;
        own.borrow_mut().take(); // drops this very handler
    }));
    let (messages, _messages) = record_raw(&source, "message");
    until("five events", || messages.borrow().len() >= 5).await;
    assert_eq!(*seen.borrow(), 1, "removed after its first event");
}

// ---- Leaks ----

/// The size of this wasm instance's memory, which grows in 64 KiB pages and never shrinks.
fn wasm_memory_bytes() -> u32 {
    use wasm_bindgen::JsCast;
    let memory: js_sys::WebAssembly::Memory = wasm_bindgen::memory().unchecked_into();
    memory.buffer().unchecked_into::<js_sys::ArrayBuffer>().byte_length()
}

/// Open a source, subscribe to its events and state, receive one event, drop everything.
async fn one_cycle() {
    let source = EventSource::builder(url("/test/message?data=1&hold=1")).open().unwrap();
    let (sender, mut received) = mpsc::unbounded();
    let messages = source.on_raw("message", move |message| {
        let _ = sender.unbounded_send(message);
    });
    let states = source.on_state(|_| {});
    within("an event", received.next()).await;
    drop((messages, states, source));
}

#[wasm_bindgen_test]
async fn a_thousand_cycles_leave_no_listener_and_no_growing_memory() {
    common::require_fixtures().await;
    let baseline = tidings::live_listeners();
    for _ in 0..200 {
        one_cycle().await;
    }
    assert_eq!(tidings::live_listeners(), baseline, "no listener left after warm-up");
    let warmed = wasm_memory_bytes();
    for _ in 0..1000 {
        one_cycle().await;
    }
    assert_eq!(tidings::live_listeners(), baseline, "no listener left after 1,000 cycles");
    let grown = wasm_memory_bytes().saturating_sub(warmed);
    // A leak of even a few hundred bytes a cycle would take several 64 KiB pages.
    assert!(grown <= 65_536, "wasm memory grew by {grown} bytes over 1,000 cycles");
}

/// A line of the fixture's `/test/answer/{key}`: a handler's own stream, which ends with `end`.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Line {
    n: u32,
}

impl tidings_wire::Event for Line {
    const NAME: &'static str = "line";
}

/// `{"visits":V,"ended":E}` of `/test/answer/{key}`.
async fn answer_visits(key: &str) -> serde_json::Value {
    let text = common::fetch_text(&format!("/test/answer/{key}/visits"), None).await;
    serde_json::from_str(&text).expect("JSON")
}

#[wasm_bindgen_test]
async fn a_finished_stream_ends_the_source_on_its_end_event_without_a_reconnect() {
    common::require_fixtures().await;
    let key = key();
    let source = EventSource::new(url(&format!("/test/answer/{key}"))).unwrap();
    let (states, _states) = record_states(&source);
    let lines = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&lines);
    let _lines = source.on::<Line>(move |line| sink.borrow_mut().push(line.unwrap().data.n));
    until("the end", || states.borrow().last().is_some_and(|s| s.is_closed())).await;
    assert_eq!(*states.borrow(), [ConnectionState::Open, ENDED], "ended, never reconnecting");
    assert_eq!(*lines.borrow(), [1, 2, 3, 4]);
    assert_eq!(source.last_event_id(), "0-0", "the end's id is the last");
    assert_eq!(answer_visits(&key).await, serde_json::json!({ "visits": 1, "ended": 0 }));
}

#[wasm_bindgen_test]
async fn a_browser_event_source_that_reconnects_after_the_end_gets_204_and_no_replay() {
    use wasm_bindgen::JsCast;
    common::require_fixtures().await;
    let key = key();
    // The browser's own `EventSource`, with nothing of the library's: it reconnects after the
    // end with the id of `end` and stops for good on the 204.
    let raw = web_sys::EventSource::new(&url(&format!("/test/answer/{key}"))).unwrap();
    let lines = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&lines);
    let on_line = wasm_bindgen::closure::Closure::<dyn FnMut(web_sys::MessageEvent)>::new(
        move |event: web_sys::MessageEvent| {
            sink.borrow_mut().push(event.data().as_string().unwrap_or_default());
        },
    );
    raw.add_event_listener_with_callback("line", on_line.as_ref().unchecked_ref()).unwrap();
    until("the browser gives up", || raw.ready_state() == web_sys::EventSource::CLOSED).await;
    let expected: Vec<String> = (1..=4).map(|n| format!("{{\"n\":{n}}}")).collect();
    assert_eq!(*lines.borrow(), expected, "each line once: the finished answer is not replayed");
    assert_eq!(answer_visits(&key).await, serde_json::json!({ "visits": 2, "ended": 1 }));
}
