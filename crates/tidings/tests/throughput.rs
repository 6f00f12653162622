//! The throughput benchmark behind `cargo xtask bench`: measurements, not tests (they assert
//! only that every event arrived). They are `#[ignore]`d: `cargo xtask test` and a plain `wasm-pack test` skip them.
//!
//! `typed_handler_against_raw_js`: on the same page and the same stream (`/test/burst`, N tick
//! events as fast as loopback carries them), round after round, the order turning by one each
//! round: a raw JS `EventSource` whose
//! listener runs `JSON.parse`; the same listener also reading `event.lastEventId` (the
//! information a tidings `Message` carries); a tidings `EventSource` with a typed handler that
//! decodes each event into a `Tick`; the same over the fetch transport (`EventSourceBuilder::fetch`:
//! its own parser, its own dispatch); and the least any wasm listener can do (gloo + serde_json,
//! no id). Each run counts from the connection's `open` to the N-th event; medians are reported.
//!
//! `listener_cost_per_event`: the same listeners fed synthetic events by `dispatchEvent`, no
//! network and no parser: what each listener costs by itself, fastest of several runs.
//!
//! Results go to the console, which `wasm-bindgen-test-runner --nocapture` shows.
#![cfg(target_arch = "wasm32")]

use std::cell::Cell;
use std::rc::Rc;

use futures::channel::oneshot;
use tidings::EventSource;
use tidings_demo_events::Tick;
use tidings_testkit::browser::{median, now, url};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

const EVENTS: u32 = 50_000;
const ROUNDS: usize = 12;

fn burst_url() -> String {
    url(&format!("/test/burst?n={EVENTS}"))
}

/// Events per second for a raw JS listener with `JSON.parse`; with `read_id`, it also reads
/// each event's `lastEventId` (the same information a tidings `Message` carries).
async fn raw_js(read_id: bool) -> f64 {
    // The whole listener is JavaScript, as a page without wasm would write it.
    let run = js_sys::Function::new_with_args(
        "url, n, done, readId",
        "const source = new EventSource(url);
         let started = 0, count = 0, checksum = 0, lastId = '';
         source.addEventListener('open', () => { started = performance.now(); });
         source.addEventListener('message', (event) => {
             const tick = JSON.parse(event.data);
             if (readId) { lastId = event.lastEventId; }
             checksum += tick.seq;
             count += 1;
             if (count === n) {
                 const elapsed = performance.now() - started;
                 source.close();
                 done(elapsed, checksum, event.lastEventId);
             }
         });",
    );
    let (sender, receiver) = oneshot::channel::<(f64, f64, String)>();
    let sender = Cell::new(Some(sender));
    let done = Closure::<dyn FnMut(f64, f64, String)>::new(move |elapsed, checksum, id| {
        if let Some(sender) = sender.take() {
            let _ = sender.send((elapsed, checksum, id));
        }
    });
    let arguments = js_sys::Array::of4(
        &burst_url().into(),
        &EVENTS.into(),
        done.as_ref(),
        &JsValue::from_bool(read_id),
    );
    run.apply(&JsValue::NULL, &arguments).unwrap();
    let (elapsed, checksum, id) = receiver.await.unwrap();
    assert_eq!(checksum, expected_checksum());
    assert_eq!(id, EVENTS.to_string());
    f64::from(EVENTS) / (elapsed / 1_000.0)
}

/// A tidings source on the burst, and when it opened (set once it does), kept as long as the
/// subscription lives.
fn open_burst() -> (EventSource, Rc<Cell<f64>>, tidings::Subscription) {
    open_burst_with(EventSource::builder(burst_url()))
}

/// [`open_burst`] from `builder`.
fn open_burst_with(
    builder: tidings::EventSourceBuilder,
) -> (EventSource, Rc<Cell<f64>>, tidings::Subscription) {
    let source = builder.without_reconnect().classify_failures(false).open().unwrap();
    let started = Rc::new(Cell::new(0.0));
    let opened = Rc::clone(&started);
    let state = source.on_state(move |state| {
        if state.is_open() {
            opened.set(now());
        }
    });
    (source, started, state)
}

/// Events per second for a tidings typed handler.
async fn tidings_typed() -> f64 {
    typed_on(open_burst()).await
}

/// Events per second for a tidings typed handler over the fetch transport.
async fn tidings_fetch() -> f64 {
    let builder = EventSource::builder(burst_url()).fetch(tidings::FetchOptions::new());
    typed_on(open_burst_with(builder)).await
}

/// Events per second for a typed handler on an opened burst.
async fn typed_on(
    (source, started, _state): (EventSource, Rc<Cell<f64>>, tidings::Subscription),
) -> f64 {
    let (receiver, _ticks) = count_ticks(&source, started);
    let (elapsed, checksum) = receiver.await.unwrap();
    source.close();
    assert_eq!(checksum, expected_checksum());
    assert_eq!(source.last_event_id(), EVENTS.to_string());
    f64::from(EVENTS) / (elapsed / 1_000.0)
}

/// Events per second for a tidings typed stream (`stream::<Tick>()`) read by a task.
async fn tidings_stream() -> f64 {
    use futures::StreamExt;
    let (source, started, _state) = open_burst();
    let mut ticks = source.stream::<Tick>();
    let (mut count, mut checksum) = (0_u32, 0.0_f64);
    while count < EVENTS {
        let tick = ticks.next().await.expect("the stream goes on").expect("every tick decodes");
        checksum += tick.data.seq as f64;
        count += 1;
    }
    let elapsed = now() - started.get();
    source.close();
    assert_eq!(checksum, expected_checksum());
    f64::from(EVENTS) / (elapsed / 1_000.0)
}

/// A typed handler on `source` counting ticks: once it has [`EVENTS`], the receiver gets the
/// time since `started` was set and the sum of their numbers.
fn count_ticks(
    source: &EventSource,
    started: Rc<Cell<f64>>,
) -> (oneshot::Receiver<(f64, f64)>, tidings::Subscription) {
    let (sender, receiver) = oneshot::channel::<(f64, f64)>();
    let sender = Cell::new(Some(sender));
    let (mut count, mut checksum) = (0_u32, 0.0_f64);
    let subscription = source.on::<Tick>(move |received| {
        let message = received.expect("every tick decodes");
        checksum += message.data.seq as f64;
        count += 1;
        if count == EVENTS
            && let Some(sender) = sender.take()
        {
            let _ = sender.send((now() - started.get(), checksum));
        }
    });
    (receiver, subscription)
}

/// Events per second for the least a wasm handler can do: a gloo listener that copies the data
/// and decodes it with serde_json, and reads nothing else. The floor for any wasm library.
async fn wasm_floor() -> f64 {
    let raw = web_sys::EventSource::new(&burst_url()).unwrap();
    let started = Rc::new(Cell::new(0.0));
    let opened = Rc::clone(&started);
    let _open = gloo_events::EventListener::new(&raw, "open", move |_| opened.set(now()));
    let (sender, receiver) = oneshot::channel::<f64>();
    let sender = Cell::new(Some(sender));
    let mut count = 0_u32;
    let _l = gloo_events::EventListener::new(&raw, "message", move |event| {
        let event: &web_sys::MessageEvent = event.unchecked_ref();
        let data = event.data().as_string().unwrap();
        let tick: Tick = serde_json::from_str(&data).unwrap();
        assert!(tick.seq > 0);
        count += 1;
        if count == EVENTS
            && let Some(sender) = sender.take()
        {
            let _ = sender.send(now() - started.get());
        }
    });
    let elapsed = receiver.await.unwrap();
    raw.close();
    f64::from(EVENTS) / (elapsed / 1_000.0)
}

fn expected_checksum() -> f64 {
    let n = f64::from(EVENTS);
    n * (n + 1.0) / 2.0
}

#[wasm_bindgen_test]
#[ignore = "a benchmark: run it with `cargo xtask bench --part browser`"]
async fn typed_handler_against_raw_js() {
    // One warm-up of each, not counted.
    raw_js(false).await;
    tidings_typed().await;
    tidings_stream().await;
    tidings_fetch().await;
    wasm_floor().await;
    let mut rates: [Vec<f64>; 6] = Default::default();
    let (mut ratios, mut ratios_with_id, mut stream_ratios) = (Vec::new(), Vec::new(), Vec::new());
    let (mut fetch_ratios, mut fetch_to_native) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        // Back to back, so that they meet the same machine load; ratios are taken per round. The
        // order turns by one each round, so no listener always runs first or after another.
        let mut round_rates = [0.0; 6];
        for turn in 0..6 {
            let listener = (round + turn) % 6;
            round_rates[listener] = match listener {
                0 => raw_js(false).await,
                1 => raw_js(true).await,
                2 => tidings_typed().await,
                3 => tidings_stream().await,
                4 => tidings_fetch().await,
                _ => wasm_floor().await,
            };
        }
        let [js, js_with_id, typed, stream, fetch, _] = round_rates;
        fetch_ratios.push(fetch / js);
        fetch_to_native.push(fetch / typed);
        ratios.push(typed / js);
        ratios_with_id.push(typed / js_with_id);
        stream_ratios.push(stream / js);
        for (list, rate) in rates.iter_mut().zip(round_rates) {
            list.push(rate);
        }
    }
    let [js, js_with_id, typed, stream, fetch, floor] = rates.map(|mut list| median(&mut list));
    let (ratio, ratio_with_id) = (median(&mut ratios), median(&mut ratios_with_id));
    let stream_ratio = median(&mut stream_ratios);
    let (fetch_ratio, fetch_native) = (median(&mut fetch_ratios), median(&mut fetch_to_native));
    console_log!(
        "BENCH throughput events={EVENTS} rounds={ROUNDS} raw_js_per_s={js:.0} raw_js_reading_id_per_s={js_with_id:.0} tidings_per_s={typed:.0} tidings_stream_per_s={stream:.0} tidings_fetch_per_s={fetch:.0} wasm_floor_per_s={floor:.0} median_ratio={ratio:.3} median_ratio_to_js_reading_id={ratio_with_id:.3} stream_median_ratio={stream_ratio:.3} fetch_median_ratio={fetch_ratio:.3} fetch_to_native_median_ratio={fetch_native:.3}"
    );
}

/// Nanoseconds per synthetic event dispatched straight to the listeners (no network, no
/// parser): what each listener costs by itself. The fastest of several runs, to see past the
/// machine's noise.
#[wasm_bindgen_test]
#[ignore = "a benchmark: run it with `cargo xtask bench --part browser`"]
async fn listener_cost_per_event() {
    const N: u32 = 50_000;
    const RUNS: usize = 7;
    let events: Vec<web_sys::MessageEvent> = (1..=N)
        .map(|seq| {
            let init = web_sys::MessageEventInit::new();
            init.set_data(
                &format!("{{\"seq\":{seq},\"value\":1.5,\"at_ms\":1790000000000}}").into(),
            );
            init.set_last_event_id(&seq.to_string());
            web_sys::MessageEvent::new_with_event_init_dict("message", &init).unwrap()
        })
        .collect();
    // Sources that never connect anywhere useful: only their listeners matter here.
    let url = url("/test/status/204");
    let time = |raw: &web_sys::EventSource| {
        let started = now();
        for event in &events {
            raw.dispatch_event(event).unwrap();
        }
        (now() - started) * 1e6 / f64::from(N)
    };
    let (mut js, mut floor, mut typed) = (f64::MAX, f64::MAX, f64::MAX);
    for _ in 0..RUNS {
        let raw = web_sys::EventSource::new(&url).unwrap();
        let listen = js_sys::Function::new_with_args(
            "source",
            "let sum = 0; source.addEventListener('message', (e) => { sum += JSON.parse(e.data).seq; const id = e.lastEventId; });",
        );
        listen.call1(&JsValue::NULL, &raw).unwrap();
        js = js.min(time(&raw));
        raw.close();

        let raw = web_sys::EventSource::new(&url).unwrap();
        let sum = Rc::new(Cell::new(0_u64));
        let total = Rc::clone(&sum);
        let _listener = gloo_events::EventListener::new(&raw, "message", move |event| {
            let event: &web_sys::MessageEvent = event.unchecked_ref();
            let tick: Tick = serde_json::from_str(&event.data().as_string().unwrap()).unwrap();
            total.set(total.get() + tick.seq);
        });
        floor = floor.min(time(&raw));
        assert_eq!(sum.get(), u64::from(N) * u64::from(N + 1) / 2);
        raw.close();

        let source = EventSource::builder(url.clone())
            .without_reconnect()
            .classify_failures(false)
            .open()
            .unwrap();
        let sum = Rc::new(Cell::new(0_u64));
        let total = Rc::clone(&sum);
        let _ticks = source.on::<Tick>(move |tick| total.set(total.get() + tick.unwrap().data.seq));
        typed = typed.min(time(&source.as_raw().expect("a source of its own")));
        assert_eq!(sum.get(), u64::from(N) * u64::from(N + 1) / 2);
        assert_eq!(source.last_event_id(), N.to_string());
    }
    console_log!(
        "BENCH listener events={N} runs={RUNS} raw_js_ns={js:.0} wasm_floor_ns={floor:.0} tidings_ns={typed:.0}"
    );
}

/// Events per second in each of two sources of this page sharing one connection (the leader
/// and a follower, both with a typed handler) and, apart, in a source with a connection of its
/// own, from the leader's `open` to the N-th event of each.
///
/// Both "tabs" are in this one page, so one thread does the leader's work (decoding, relaying)
/// and the follower's (receiving the relay, decoding): in real tabs each has its own thread, and
/// the follower's rate here is a floor.
async fn shared_rates(round: usize) -> (f64, f64) {
    let url = format!("{}&round={round}&at={}", burst_url(), js_sys::Math::random());
    let open = || EventSource::builder(url.clone()).share_across_tabs(true).open().unwrap();
    let (leader, follower) = (open(), open());
    let started = Rc::new(Cell::new(0.0));
    let opened = Rc::clone(&started);
    let _state = leader.on_state(move |state| {
        if state.is_open() && opened.get() == 0.0 {
            opened.set(now());
        }
    });
    let (led, _leading) = count_ticks(&leader, Rc::clone(&started));
    let (followed, _following) = count_ticks(&follower, Rc::clone(&started));
    let ((leader_elapsed, leader_sum), (follower_elapsed, follower_sum)) =
        futures::future::join(async { led.await.unwrap() }, async { followed.await.unwrap() })
            .await;
    assert_eq!(leader.sharing().role, tidings::TabRole::Leader);
    assert_eq!(follower.sharing().role, tidings::TabRole::Follower);
    assert_eq!((leader_sum, follower_sum), (expected_checksum(), expected_checksum()));
    // The follower leaves first: the leader closing first would hand the connection over.
    drop(follower);
    drop(leader);
    (
        f64::from(EVENTS) / (leader_elapsed / 1_000.0),
        f64::from(EVENTS) / (follower_elapsed / 1_000.0),
    )
}

#[wasm_bindgen_test]
#[ignore = "a benchmark: run it with `cargo xtask bench --part browser`"]
async fn shared_follower_against_leader_and_own_connection() {
    const SHARED_ROUNDS: usize = 6;
    shared_rates(0).await;
    let (mut leader, mut follower, mut own) = (Vec::new(), Vec::new(), Vec::new());
    let (mut to_own, mut to_leader) = (Vec::new(), Vec::new());
    for round in 0..SHARED_ROUNDS {
        // Alternated, so that both meet the same machine load.
        let (shared, alone) = if round % 2 == 0 {
            let shared = shared_rates(round + 1).await;
            (shared, tidings_typed().await)
        } else {
            let alone = tidings_typed().await;
            (shared_rates(round + 1).await, alone)
        };
        to_own.push(shared.1 / alone);
        to_leader.push(shared.1 / shared.0);
        leader.push(shared.0);
        follower.push(shared.1);
        own.push(alone);
    }
    let [leader, follower, own] = [leader, follower, own].map(|mut list| median(&mut list));
    let (to_own, to_leader) = (median(&mut to_own), median(&mut to_leader));
    console_log!(
        "BENCH shared events={EVENTS} rounds={SHARED_ROUNDS} leader_per_s={leader:.0} follower_per_s={follower:.0} own_connection_per_s={own:.0} follower_to_own_median={to_own:.3} follower_to_leader_median={to_leader:.3} (both tabs in one page: one thread does both)"
    );
}
