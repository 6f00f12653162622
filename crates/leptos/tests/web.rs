//! tidings-leptos in real browsers: components mounted into the page, checked through the DOM,
//! against a tidings-server in test mode named by `TIDINGS_TEST_SERVER` at compile time.
#![cfg(target_arch = "wasm32")]

use gloo_timers::future::TimeoutFuture;
use leptos::prelude::*;
use tidings_demo_events::Tick;
use tidings_leptos::use_event_source;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::HtmlElement;

wasm_bindgen_test_configure!(run_in_browser);

fn server() -> &'static str {
    match option_env!("TIDINGS_TEST_SERVER") {
        Some(server) => server,
        None => {
            panic!("TIDINGS_TEST_SERVER is not set: run the browser tests with `cargo xtask test`")
        }
    }
}

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

/// Polls `check` every 20 ms until it gives a value, for at most 10 s.
async fn eventually<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    for _ in 0..500 {
        if let Some(value) = check() {
            return value;
        }
        TimeoutFuture::new(20).await;
    }
    panic!("timed out waiting for {what}");
}

#[component]
fn TickProbe(url: String) -> impl IntoView {
    let stream = use_event_source(&url);
    let tick = stream.latest::<Tick>();
    view! {
        <p class="state">{move || stream.state().get().name()}</p>
        <p class="seq">{move || tick.get().map(|tick| tick.seq.to_string())}</p>
        <p class="error">{move || stream.last_error().get().map(|error| error.to_string())}</p>
    }
}

#[wasm_bindgen_test]
async fn a_component_shows_the_connection_state_and_the_latest_tick() {
    let root = mount_point();
    let url = format!("{}/api/events", server());
    let mounted = leptos::mount::mount_to(root.clone(), move || view! { <TickProbe url/> });

    eventually("the state to read open", || {
        (text(&root, ".state").as_deref() == Some("open")).then_some(())
    })
    .await;
    let first: u64 = eventually("a first tick", || text(&root, ".seq")?.parse().ok()).await;
    let later = eventually("a later tick", || {
        text(&root, ".seq")?.parse::<u64>().ok().filter(|seq| *seq > first)
    })
    .await;
    assert!(later > first);
    assert_eq!(text(&root, ".error").as_deref(), Some(""));

    drop(mounted);
    assert!(root.query_selector(".state").unwrap().is_none(), "unmounted");
}

#[wasm_bindgen_test]
async fn an_invalid_url_reads_closed_with_the_reason() {
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
