//! tidings-leptos in real browsers: components mounted into the page, checked through the DOM,
//! against the fixture server (`cargo run -p tidings-fixtures`, at `http://127.0.0.1:4100`
//! unless `TIDINGS_TEST_SERVER` named another when the tests were built).
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use gloo_timers::future::TimeoutFuture;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use tidings::{CloseReason, ConnectionState};
use tidings_demo_events::Tick;
use tidings_leptos::{
    UseEventSource, UseEventSourceOptions, provide_event_sources, use_event_source,
    use_event_source_with_options,
};
use tidings_testkit::browser::{eventually, fetch_text, key, open_ticks, require_fixtures, server};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::HtmlElement;

wasm_bindgen_test_configure!(run_in_browser);

/// A fresh element in the page's body to mount into.
fn mount_point() -> HtmlElement {
    let document = web_sys::window().unwrap().document().unwrap();
    let element: HtmlElement = document.create_element("div").unwrap().unchecked_into();
    document.body().unwrap().append_child(&element).unwrap();
    element
}

/// The text of the element matching `selector` under `root`, if there is one.
fn text(root: &HtmlElement, selector: &str) -> Option<String> {
    root.query_selector(selector).unwrap().and_then(|element| element.text_content())
}

#[component]
fn TickProbe(url: String) -> impl IntoView {
    let stream = use_event_source(url);
    let tick = stream.latest::<Tick>();
    view! {
        <p class="state">{move || stream.state().name()}</p>
        <p class="seq">{move || tick.get().map(|tick| tick.seq.to_string())}</p>
        <p class="error">{move || stream.last_error().map(|error| error.to_string())}</p>
    }
}

#[wasm_bindgen_test]
async fn a_component_shows_the_connection_state_and_the_latest_tick() {
    require_fixtures().await;
    let root = mount_point();
    let url = format!("{}/api/events", server());
    let mounted = leptos::mount::mount_to(root.clone(), move || view! { <TickProbe url/> });

    eventually("the state to read open", || {
        (text(&root, ".state").as_deref() == Some("open")).then_some(())
    })
    .await;
    let first: u64 = eventually("a first tick", || text(&root, ".seq")?.parse().ok()).await;
    let next = eventually("the next tick", || {
        text(&root, ".seq")?.parse::<u64>().ok().filter(|seq| *seq != first)
    })
    .await;
    assert!(next > first, "ticks rise: {first}, then {next}");
    assert_eq!(text(&root, ".error").as_deref(), Some(""));

    drop(mounted);
    assert!(root.query_selector(".state").unwrap().is_none(), "unmounted");
}

#[wasm_bindgen_test]
async fn an_invalid_url_reads_closed_with_the_reason() {
    require_fixtures().await;
    let root = mount_point();
    let mounted = leptos::mount::mount_to(
        root.clone(),
        || view! { <TickProbe url="http://[::1".to_owned()/> },
    );
    assert_eq!(text(&root, ".state").as_deref(), Some("closed"));
    let error = text(&root, ".error").unwrap_or_default();
    assert!(error.contains("http://[::1"), "{error}");
    drop(mounted);
}

/// How many `/test/held/{key}` streams the server has open.
async fn held(key: &str) -> usize {
    fetch_text(&format!("/test/held/{key}/count"), None).await.parse().unwrap()
}

async fn held_becomes(key: &str, expected: usize) {
    for _ in 0..500 {
        if held(key).await == expected {
            return;
        }
        TimeoutFuture::new(20).await;
    }
    panic!("the server never had {expected} streams of {key} open (now {})", held(key).await);
}

/// What `/test/held/{key}` sends: the JSON string "held".
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Held(String);

impl tidings_wire::Event for Held {
    const NAME: &'static str = tidings_wire::MESSAGE;
}

#[component]
fn HeldProbe(url: String) -> impl IntoView {
    let stream = use_event_source(url);
    let held = stream.latest::<Held>();
    view! {
        <p class="state">{move || stream.state().name()}</p>
        <p class="held">{move || held.get().map(|held| held.0)}</p>
    }
}

#[wasm_bindgen_test]
async fn unmounting_closes_the_connection_and_leaves_no_listener() {
    require_fixtures().await;
    let (root, key) = (mount_point(), key());
    let baseline = tidings::live_listeners();
    let url = format!("{}/test/held/{key}", server());
    let mounted = leptos::mount::mount_to(root.clone(), move || view! { <HeldProbe url/> });
    eventually("the event", || (text(&root, ".held").as_deref() == Some("held")).then_some(()))
        .await;
    held_becomes(&key, 1).await;
    assert!(tidings::live_listeners() > baseline);
    drop(mounted);
    held_becomes(&key, 0).await;
    assert_eq!(tidings::live_listeners(), baseline, "no listener left");
}

#[wasm_bindgen_test]
async fn two_components_on_one_url_share_exactly_one_connection() {
    require_fixtures().await;
    let (root, key) = (mount_point(), key());
    let baseline = tidings::live_listeners();
    let url = format!("{}/test/held/{key}", server());
    let mounted = leptos::mount::mount_to(root.clone(), move || {
        provide_event_sources();
        let second = url.clone();
        view! { <HeldProbe url/> <HeldProbe url=second/> }
    });
    eventually("both components' events", || {
        let shown = root.query_selector_all(".held").ok()?;
        (shown.length() == 2
            && (0..2).all(|i| {
                shown.item(i).and_then(|node| node.text_content()).as_deref() == Some("held")
            }))
        .then_some(())
    })
    .await;
    held_becomes(&key, 1).await;
    // Let a second connection show up if there were one.
    TimeoutFuture::new(300).await;
    assert_eq!(held(&key).await, 1, "one connection for two components");
    drop(mounted);
    held_becomes(&key, 0).await;
    assert_eq!(tidings::live_listeners(), baseline);
}

#[wasm_bindgen_test]
async fn a_new_url_closes_the_old_connection_and_opens_the_new_one() {
    require_fixtures().await;
    let (root, first, second) = (mount_point(), key(), key());
    let (url, set_url) = signal(format!("{}/test/held/{first}", server()));
    let mounted = leptos::mount::mount_to(root.clone(), move || {
        let stream = use_event_source(url);
        let held = stream.latest::<Held>();
        view! { <p class="held">{move || held.get().map(|held| held.0)}</p> }
    });
    held_becomes(&first, 1).await;
    set_url.set(format!("{}/test/held/{second}", server()));
    held_becomes(&second, 1).await;
    held_becomes(&first, 0).await;
    eventually("the new connection's event", || {
        (text(&root, ".held").as_deref() == Some("held")).then_some(())
    })
    .await;
    drop(mounted);
    held_becomes(&second, 0).await;
}

#[wasm_bindgen_test]
async fn a_dropped_stream_reads_reconnecting_then_open_and_the_ticks_go_on_without_a_gap() {
    require_fixtures().await;
    let root = mount_point();
    let url = format!("{}/api/events?topics=ticker", server());
    let states = Rc::new(RefCell::new(Vec::<ConnectionState>::new()));
    let seqs = Rc::new(RefCell::new(Vec::<u64>::new()));
    let client = Rc::new(RefCell::new(None::<String>));
    let (states_sink, seqs_sink, client_sink) =
        (Rc::clone(&states), Rc::clone(&seqs), Rc::clone(&client));
    let mounted = leptos::mount::mount_to(root.clone(), move || {
        let stream = use_event_source(url);
        stream.on::<tidings_wire::Hello>(move |hello| {
            if let Ok(hello) = hello {
                *client_sink.borrow_mut() = Some(hello.data.stream_key);
            }
        });
        stream.on::<Tick>(move |tick| seqs_sink.borrow_mut().push(tick.unwrap().data.seq));
        Effect::new(move |_| states_sink.borrow_mut().push(stream.state()));
        view! {
            <p class="state">{move || stream.state().name()}</p>
            <p class="reconnects">{move || stream.reconnect_count()}</p>
            <p class="id">{move || stream.last_event_id()}</p>
        }
    });
    let key = eventually("the hello", || client.borrow().clone()).await;
    eventually("a few ticks", || (seqs.borrow().len() >= 3).then_some(())).await;
    fetch_text("/api/streams/drop", Some(&format!("{{\"stream\":\"{key}\"}}"))).await;
    eventually("a reconnect", || {
        (text(&root, ".reconnects").as_deref() == Some("1")).then_some(())
    })
    .await;
    let before = seqs.borrow().len();
    eventually("ticks after the reconnect", || (seqs.borrow().len() >= before + 3).then_some(()))
        .await;
    drop(mounted);

    let states = states.borrow();
    let names: Vec<&str> = states.iter().map(|state| state.name()).collect();
    let open_again = names.windows(2).any(|pair| pair == ["reconnecting", "open"]);
    assert_eq!(names[..2], ["connecting", "open"], "{names:?}");
    assert!(open_again, "reconnecting, then open: {names:?}");
    let seqs = seqs.borrow();
    for pair in seqs.windows(2) {
        assert_eq!(pair[1], pair[0] + 1, "no gap, no duplicate: {seqs:?}");
    }
}

/// The ticker's sequence number in the server's snapshot (`GET /api/state`), and its id.
async fn snapshot() -> (u64, String) {
    let state: serde_json::Value =
        serde_json::from_str(&fetch_text("/api/state", None).await).unwrap();
    let seq = state["ticker"]["seq"].as_u64().unwrap_or(0);
    (seq, state["at"].as_str().unwrap_or_default().to_owned())
}

/// Ticks received by a handler of `stream`, in order.
fn collect_ticks(stream: UseEventSource) -> Rc<RefCell<Vec<u64>>> {
    let seqs = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&seqs);
    stream.on::<Tick>(move |tick| sink.borrow_mut().push(tick.unwrap().data.seq));
    seqs
}

#[wasm_bindgen_test]
async fn close_then_open_and_reconnect_resume_after_the_last_event_seen() {
    require_fixtures().await;
    // The URL carries an older id (a snapshot's), as a page that loaded its state first would:
    // reopening must not replay from it, and must not skip what came while closed.
    let (_, at) = snapshot().await;
    let url = format!("{}/api/events?topics=ticker&lastEventId={at}", server());
    let root = mount_point();
    let handle = Rc::new(RefCell::new(None::<(UseEventSource, Rc<RefCell<Vec<u64>>>)>));
    let keep = Rc::clone(&handle);
    let mounted = leptos::mount::mount_to(root.clone(), move || {
        let stream = use_event_source(url);
        *keep.borrow_mut() = Some((stream, collect_ticks(stream)));
        view! { <p class="state">{move || stream.state().name()}</p> }
    });
    let (stream, seqs) = handle.borrow().clone().unwrap();
    let count = || seqs.borrow().len();
    eventually("three ticks", || (count() >= 3).then_some(())).await;

    stream.close();
    assert_eq!(stream.state(), ConnectionState::Closed(tidings::CloseReason::ByUser));
    let closed_at = count();
    let last_seen = *seqs.borrow().last().unwrap();
    let id_seen = stream.last_event_id();
    assert!(!id_seen.is_empty() && id_seen != at, "the id of the last tick: {id_seen}");
    // Ticks go on while the stream is closed.
    let mut missed = false;
    for _ in 0..500 {
        if snapshot().await.0 >= last_seen + 3 {
            missed = true;
            break;
        }
        TimeoutFuture::new(20).await;
    }
    assert!(missed, "the server ticked on");
    assert_eq!(count(), closed_at, "nothing arrives while closed");
    let before = count();
    stream.open();
    eventually("the missed ticks and more", || (count() >= before + 5).then_some(())).await;
    let before = count();
    let last_time = stream.last_event_time();
    assert!(last_time.is_some());
    stream.reconnect();
    assert_eq!(stream.last_event_time(), last_time, "kept until the new source's first event");
    eventually("ticks after reconnect()", || (count() >= before + 3).then_some(())).await;
    assert_eq!(stream.reconnect_count(), 2, "open after close, then reconnect()");
    drop(mounted);

    let seqs = seqs.borrow();
    for pair in seqs.windows(2) {
        assert_eq!(pair[1], pair[0] + 1, "no gap, no duplicate: {seqs:?}");
    }
}

#[wasm_bindgen_test]
async fn an_initial_id_is_the_last_id_until_an_event_and_the_stream_resumes_after_it() {
    require_fixtures().await;
    let (seq, at) = snapshot().await;
    let url = format!("{}/api/events?topics=ticker", server());
    let handle = Rc::new(RefCell::new(None::<(UseEventSource, Rc<RefCell<Vec<u64>>>)>));
    let keep = Rc::clone(&handle);
    let options = UseEventSourceOptions::default().last_event_id(at.clone()).immediate(false);
    let owner = Owner::new();
    owner.with(|| {
        let stream = use_event_source_with_options(url, options);
        *keep.borrow_mut() = Some((stream, collect_ticks(stream)));
    });
    let (stream, seqs) = handle.borrow().clone().unwrap();
    assert_eq!(stream.last_event_id(), at);
    // Ticks go by before the stream opens: it must replay them.
    let mut ticked = false;
    for _ in 0..500 {
        if snapshot().await.0 >= seq + 3 {
            ticked = true;
            break;
        }
        TimeoutFuture::new(20).await;
    }
    assert!(ticked, "the server ticked on");
    stream.open();
    eventually("two ticks", || (seqs.borrow().len() >= 2).then_some(())).await;
    assert_eq!(seqs.borrow()[0], seq + 1, "the first tick after the snapshot's");
    drop(owner);
}

#[wasm_bindgen_test]
async fn a_stream_not_opened_yet_reads_idle_and_connects_nothing() {
    require_fixtures().await;
    let (root, key) = (mount_point(), key());
    let baseline = tidings::live_listeners();
    let url = format!("{}/test/held/{key}", server());
    let handle = Rc::new(RefCell::new(None::<UseEventSource>));
    let keep = Rc::clone(&handle);
    let mounted = leptos::mount::mount_to(root.clone(), move || {
        let stream =
            use_event_source_with_options(url, UseEventSourceOptions::default().immediate(false));
        *keep.borrow_mut() = Some(stream);
        let held = stream.latest::<Held>();
        view! {
            <p class="state">{move || stream.state().name()}</p>
            <p class="held">{move || held.get().map(|held| held.0)}</p>
        }
    });
    assert_eq!(text(&root, ".state").as_deref(), Some("idle"));
    // A source would have added its listeners at once.
    assert_eq!(tidings::live_listeners(), baseline, "no source was made");
    handle.borrow().unwrap().open();
    eventually("the event", || (text(&root, ".held").as_deref() == Some("held")).then_some(()))
        .await;
    assert_eq!(text(&root, ".state").as_deref(), Some("open"));
    held_becomes(&key, 1).await;
    drop(mounted);
    held_becomes(&key, 0).await;
}

#[wasm_bindgen_test]
async fn an_empty_url_opens_nothing_not_even_the_page() {
    require_fixtures().await;
    let root = mount_point();
    let baseline = tidings::live_listeners();
    let handle = Rc::new(RefCell::new(None::<UseEventSource>));
    let keep = Rc::clone(&handle);
    let mounted = leptos::mount::mount_to(root.clone(), move || {
        let stream = use_event_source(String::new());
        *keep.borrow_mut() = Some(stream);
        let _ = stream.latest::<Tick>();
        view! { <p class="state">{move || stream.state().name()}</p> }
    });
    let stream = handle.borrow().unwrap();
    stream.open();
    stream.reconnect();
    assert_eq!(text(&root, ".state").as_deref(), Some("idle"));
    assert_eq!(stream.state(), ConnectionState::Idle);
    assert_eq!(tidings::live_listeners(), baseline, "no source was made");
    drop(mounted);
}

/// A payload that is not `Send` (it holds an `Rc`), named outside any contract.
#[derive(Debug, Clone, Default, Deserialize)]
struct LocalTick {
    seq: u64,
    #[serde(skip)]
    _local: Rc<()>,
}

#[wasm_bindgen_test]
async fn local_payloads_named_outside_the_contract_and_a_bounded_history() {
    require_fixtures().await;
    let url = format!("{}/api/events?topics=ticker", server());
    let seen = Rc::new(RefCell::new(Vec::<u64>::new()));
    let sink = Rc::clone(&seen);
    let owner = Owner::new();
    let (history, latest) = owner.with(|| {
        let stream = use_event_source(url);
        stream.on_named::<LocalTick>(tidings_wire::MESSAGE, move |tick| {
            sink.borrow_mut().push(tick.unwrap().data.seq);
        });
        (stream.last_n::<Tick>(3), stream.latest::<Tick>())
    });
    eventually("five ticks", || (seen.borrow().len() >= 5).then_some(())).await;
    let newest = *seen.borrow().last().unwrap();
    let kept: Vec<u64> = history.with_untracked(|ticks| ticks.iter().map(|t| t.seq).collect());
    assert_eq!(kept, [newest - 2, newest - 1, newest], "the newest three, oldest first");
    assert_eq!(latest.get_untracked().map(|tick| tick.seq), Some(newest));
    drop(owner);
}

#[wasm_bindgen_test]
async fn after_a_burst_every_reader_shows_the_last_event() {
    require_fixtures().await;
    // Readers are woken once per batch of events: what they show at the end must still be exact.
    let root = mount_point();
    let url = format!("{}/test/burst?n=2000", server());
    let mounted = leptos::mount::mount_to(root.clone(), move || {
        let stream = use_event_source_with_options(
            url,
            UseEventSourceOptions::default().reconnect(None).classify_failures(false),
        );
        let tick = stream.latest::<Tick>();
        let ticks = stream.last_n::<Tick>(3);
        view! {
            <p class="seq">{move || tick.get().map(|tick| tick.seq.to_string())}</p>
            <p class="last">{move || ticks.with(|ticks| ticks.iter().map(|t| t.seq.to_string()).collect::<Vec<_>>().join(","))}</p>
            <p class="id">{move || stream.last_event_id()}</p>
            <p class="time">{move || stream.last_event_time().is_some().to_string()}</p>
        }
    });
    eventually("the last tick", || (text(&root, ".seq").as_deref() == Some("2000")).then_some(()))
        .await;
    assert_eq!(text(&root, ".last").as_deref(), Some("1998,1999,2000"));
    assert_eq!(text(&root, ".id").as_deref(), Some("2000"));
    assert_eq!(text(&root, ".time").as_deref(), Some("true"));
    drop(mounted);
}

#[wasm_bindgen_test]
async fn a_handle_opened_by_hand_stays_connected_when_its_url_changes() {
    require_fixtures().await;
    let (first, second) = (key(), key());
    let (url, set_url) = signal(format!("{}/test/held/{first}", server()));
    let handle = Rc::new(RefCell::new(None::<UseEventSource>));
    let keep = Rc::clone(&handle);
    let owner = Owner::new();
    owner.with(|| {
        let options = UseEventSourceOptions::default().immediate(false);
        let stream = use_event_source_with_options(url, options);
        let _ = stream.latest::<Held>();
        *keep.borrow_mut() = Some(stream);
    });
    let stream = handle.borrow().unwrap();
    assert_eq!(stream.state(), ConnectionState::Idle);
    stream.open();
    held_becomes(&first, 1).await;
    set_url.set(format!("{}/test/held/{second}", server()));
    held_becomes(&second, 1).await;
    held_becomes(&first, 0).await;
    drop(owner);
    held_becomes(&second, 0).await;
}

#[component]
fn SharedProbe(url: String) -> impl IntoView {
    let options = UseEventSourceOptions::default().share_across_tabs(true);
    let stream = use_event_source_with_options(url, options);
    let tick = stream.latest::<Tick>();
    view! {
        <p class="state">{move || stream.state().name()}</p>
        <p class="sharing">{move || stream.sharing().to_string()}</p>
        <p class="seq">{move || tick.get().map(|tick| tick.seq.to_string())}</p>
    }
}

#[wasm_bindgen_test]
async fn two_apps_sharing_across_tabs_read_one_connection_and_hand_it_over() {
    require_fixtures().await;
    // Two apps mounted apart, without a shared registry: two tidings sources, each its own
    // "tab" for the Web Locks API and BroadcastChannel.
    let (first_root, second_root, key) = (mount_point(), mount_point(), key());
    let url = format!("{}/test/ticks/{key}", server());
    let first_url = url.clone();
    let first = leptos::mount::mount_to(first_root.clone(), move || {
        view! { <SharedProbe url=first_url/> }
    });
    eventually("the first app leads", || {
        (text(&first_root, ".sharing")?.starts_with("leader")).then_some(())
    })
    .await;
    let second = leptos::mount::mount_to(second_root.clone(), move || view! { <SharedProbe url/> });
    eventually("both apps count two tabs", || {
        (text(&first_root, ".sharing")? == "leader (2 tabs share the connection)"
            && text(&second_root, ".sharing")? == "follower (2 tabs share the connection)")
            .then_some(())
    })
    .await;
    // The follower reads the leader's state once the leader answered its hello.
    eventually("the leader's state in the follower", || {
        (text(&second_root, ".state")? == "open").then_some(())
    })
    .await;
    let seen: u64 =
        eventually("a tick in the follower", || text(&second_root, ".seq")?.parse().ok()).await;
    eventually("the next tick in the follower", || {
        text(&second_root, ".seq")?.parse::<u64>().ok().filter(|seq| *seq > seen)
    })
    .await;
    assert_eq!(open_ticks(&key).await, 1, "one connection for two apps");

    drop(first);
    eventually("the second app leads", || {
        (text(&second_root, ".sharing")? == "leader (the only tab)").then_some(())
    })
    .await;
    let led: u64 = eventually("a tick", || text(&second_root, ".seq")?.parse().ok()).await;
    eventually("ticks go on", || {
        text(&second_root, ".seq")?.parse::<u64>().ok().filter(|seq| *seq > led)
    })
    .await;
    assert_eq!(open_ticks(&key).await, 1);
    drop(second);
}

#[wasm_bindgen_test]
async fn the_fetch_option_sends_a_fresh_token_with_every_connection() {
    require_fixtures().await;
    // Effects need an executor (mounting makes one; this test mounts nothing).
    let _ = any_spawner::Executor::init_wasm_bindgen();
    let key = key();
    let url = format!("{}/test/bearer/{key}?n=2", server());
    let counter = Rc::new(std::cell::Cell::new(0));
    let fetch = tidings::FetchOptions::new().headers_with(move || {
        counter.set(counter.get() + 1);
        let token = format!("t{}", counter.get());
        async move { vec![("Authorization".to_owned(), format!("Bearer {token}"))] }
    });
    let options = UseEventSourceOptions::default().fetch(fetch);
    let seen = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&seen);
    let owner = Owner::new();
    owner.with(|| {
        let stream = use_event_source_with_options(url, options);
        stream.on_raw("message", move |message| sink.borrow_mut().push(message.data));
    });
    eventually("six events over three connections", || (seen.borrow().len() >= 6).then_some(()))
        .await;
    drop(owner);
    assert_eq!(seen.borrow()[..6], ["1", "2", "3", "4", "5", "6"], "no gap, no repeat");
    let tokens = fetch_text(&format!("/test/bearer/{key}/tokens"), None).await;
    assert!(tokens.starts_with(r#"["t1","t2","t3""#), "{tokens}");
}

#[wasm_bindgen_test]
async fn a_failed_answer_is_read_with_the_state_over_the_fetch_option() {
    require_fixtures().await;
    let _ = any_spawner::Executor::init_wasm_bindgen();
    let options = UseEventSourceOptions::default().fetch(tidings::FetchOptions::new());
    let owner = Owner::new();
    let stream = owner
        .with(|| use_event_source_with_options(format!("{}/test/status/403", server()), options));
    // Read in an effect, as a page would: it runs again when the state changes.
    let read = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&read);
    owner.with(|| {
        Effect::new(move |_| sink.borrow_mut().push(stream.failed_answer().map(|a| a.status())));
    });
    eventually("the 403", || read.borrow().contains(&Some(403)).then_some(())).await;
    assert_eq!(read.borrow()[0], None, "nothing failed at first");
    assert_eq!(stream.state(), ConnectionState::Closed(CloseReason::Fatal { status: Some(403) }));
    let answer = stream.failed_answer().unwrap();
    assert!(answer.text().await.unwrap().contains("data: status"));
    drop(owner);
}

#[wasm_bindgen_test]
async fn the_watchdog_option_remakes_a_silent_connection_and_heartbeats_wake_the_last_event_time() {
    require_fixtures().await;
    let _ = any_spawner::Executor::init_wasm_bindgen();
    let timeout = |millis| {
        UseEventSourceOptions::default().heartbeat_timeout(Some(Duration::from_millis(millis)))
    };
    let owner = Owner::new();
    let silent = owner
        .with(|| use_event_source_with_options(format!("{}/test/silent", server()), timeout(400)));
    // The test server sends a heartbeat on this stream every 300 ms, and no event of its topic:
    // with no handler, only the watchdog listens to them.
    let beating = owner.with(|| {
        use_event_source_with_options(
            format!("{}/api/events?topics=presence", server()),
            timeout(1_000),
        )
    });
    let runs = Rc::new(std::cell::Cell::new(0_u32));
    let counted = Rc::clone(&runs);
    owner.with(|| {
        Effect::new(move |_| {
            beating.last_event_time();
            counted.set(counted.get() + 1);
        });
    });
    eventually("the silent connection made again", || {
        (silent.reconnect_count() >= 1).then_some(())
    })
    .await;
    eventually("three heartbeats read", || (runs.get() >= 4).then_some(())).await;
    assert_eq!(beating.reconnect_count(), 0, "heartbeats keep the watchdog quiet");
    assert!(beating.last_event_time().is_some());
    drop(owner);
}
