//! The tidings-leptos row of `cargo xtask bench --part browser`: measurements, not tests (they
//! assert only that every event arrived). They are `#[ignore]`d: `cargo xtask test` and a plain `wasm-pack test` skip them.
//!
//! On the same page and the same stream (`/test/burst`, N tick events as fast as loopback
//! carries them), round after round, the order turning by one each round:
//! - a raw JS `EventSource` whose listener runs `JSON.parse` (the yardstick of the core's row);
//! - the same listener also writing the tick's number into the page (`textContent`), which is
//!   what a component showing the latest tick does;
//! - a mounted Leptos component that shows `latest::<Tick>()` of a tidings-leptos stream.
//!
//! Each run counts from the connection's `open` to the N-th event: for the component, until its
//! view has rendered the N-th tick. Medians are reported.
#![cfg(target_arch = "wasm32")]

use std::cell::Cell;
use std::rc::Rc;

use futures::channel::oneshot;
use leptos::prelude::*;
use tidings_demo_events::Tick;
use tidings_leptos::{UseEventSourceOptions, use_event_source_with_options};
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

fn mount_point() -> web_sys::HtmlElement {
    let document = web_sys::window().unwrap().document().unwrap();
    let element: web_sys::HtmlElement = document.create_element("div").unwrap().unchecked_into();
    document.body().unwrap().append_child(&element).unwrap();
    element
}

/// Events per second for a raw JS listener with `JSON.parse`; with `render`, it also writes
/// each tick's number into an element of the page.
async fn raw_js(render: bool) -> f64 {
    let run = js_sys::Function::new_with_args(
        "url, n, done, element",
        "const source = new EventSource(url);
         let started = 0, count = 0, checksum = 0;
         source.addEventListener('open', () => { started = performance.now(); });
         source.addEventListener('message', (event) => {
             const tick = JSON.parse(event.data);
             if (element) { element.textContent = tick.seq; }
             checksum += tick.seq;
             count += 1;
             if (count === n) {
                 const elapsed = performance.now() - started;
                 source.close();
                 done(elapsed, checksum);
             }
         });",
    );
    let (sender, receiver) = oneshot::channel::<(f64, f64)>();
    let sender = Cell::new(Some(sender));
    let done = Closure::<dyn FnMut(f64, f64)>::new(move |elapsed, checksum| {
        if let Some(sender) = sender.take() {
            let _ = sender.send((elapsed, checksum));
        }
    });
    let element = render.then(mount_point);
    let target = element.as_ref().map_or(JsValue::NULL, |element| element.into());
    let arguments = js_sys::Array::of4(&burst_url().into(), &EVENTS.into(), done.as_ref(), &target);
    run.apply(&JsValue::NULL, &arguments).unwrap();
    let (elapsed, checksum) = receiver.await.unwrap();
    assert_eq!(checksum, f64::from(EVENTS) * (f64::from(EVENTS) + 1.0) / 2.0);
    if let Some(element) = element {
        assert_eq!(element.text_content().as_deref(), Some(EVENTS.to_string().as_str()));
        element.remove();
    }
    f64::from(EVENTS) / (elapsed / 1_000.0)
}

/// Events per second for a mounted component showing `latest::<Tick>()`.
async fn leptos_latest() -> f64 {
    let root = mount_point();
    let (sender, receiver) = oneshot::channel::<f64>();
    let mut sender = Some(sender);
    let started = Rc::new(Cell::new(0.0));
    let opened = Rc::clone(&started);
    let mounted = leptos::mount::mount_to(root.clone(), move || {
        let options = UseEventSourceOptions::default().reconnect(None).classify_failures(false);
        let stream = use_event_source_with_options(burst_url(), options);
        Effect::new(move |_| {
            if stream.is_open() {
                opened.set(now());
            }
        });
        let tick = stream.latest::<Tick>();
        // The view's closure must be `Send`: the sender waits in local storage.
        let sender = StoredValue::new_local(sender.take());
        view! {
            <p>{move || {
                let seq = tick.with(|tick| tick.as_ref().map_or(0, |tick| tick.seq));
                if seq == u64::from(EVENTS)
                    && let Some(Some(sender)) = sender.try_update_value(Option::take)
                {
                    let _ = sender.send(now());
                }
                seq
            }}</p>
        }
    });
    let finished = receiver.await.unwrap();
    assert_eq!(root.text_content().as_deref(), Some(EVENTS.to_string().as_str()));
    drop(mounted);
    root.remove();
    f64::from(EVENTS) / ((finished - started.get()) / 1_000.0)
}

#[wasm_bindgen_test]
#[ignore = "a benchmark: run it with `cargo xtask bench --part browser`"]
async fn a_component_showing_latest_against_raw_js() {
    // One warm-up of each, not counted.
    raw_js(false).await;
    raw_js(true).await;
    leptos_latest().await;
    let mut rates: [Vec<f64>; 3] = Default::default();
    let (mut ratios, mut ratios_to_rendering) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let mut round_rates = [0.0; 3];
        for turn in 0..3 {
            let listener = (round + turn) % 3;
            round_rates[listener] = match listener {
                0 => raw_js(false).await,
                1 => raw_js(true).await,
                _ => leptos_latest().await,
            };
        }
        let [js, js_rendering, component] = round_rates;
        ratios.push(component / js);
        ratios_to_rendering.push(component / js_rendering);
        for (list, rate) in rates.iter_mut().zip(round_rates) {
            list.push(rate);
        }
    }
    let [js, js_rendering, component] = rates.map(|mut list| median(&mut list));
    let (ratio, ratio_to_rendering) = (median(&mut ratios), median(&mut ratios_to_rendering));
    console_log!(
        "BENCH leptos events={EVENTS} rounds={ROUNDS} raw_js_per_s={js:.0} raw_js_rendering_per_s={js_rendering:.0} leptos_latest_per_s={component:.0} median_ratio={ratio:.3} median_ratio_to_js_rendering={ratio_to_rendering:.3}"
    );
}
