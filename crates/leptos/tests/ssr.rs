//! With Leptos's `ssr` feature (`cargo test -p tidings-leptos --features ssr --test ssr`, run by
//! `cargo xtask test`): components that use a stream render on the server with the signals'
//! defaults, and nothing connects.
#![cfg(all(feature = "ssr", not(target_arch = "wasm32")))]

use leptos::prelude::*;
use tidings_demo_events::Tick;
use tidings_leptos::{provide_event_sources, use_event_source};

#[component]
fn Status() -> impl IntoView {
    let stream = use_event_source("/api/events");
    let tick = stream.latest::<Tick>();
    let ticks = stream.last_n::<Tick>(10);
    view! {
        <p class="state">{move || stream.state().name()}</p>
        <p class="open">{move || stream.is_open().to_string()}</p>
        <p class="id">{move || stream.last_event_id()}</p>
        <p class="tick">{move || tick.get().map(|tick| tick.seq)}</p>
        <p class="ticks">{move || ticks.get().len()}</p>
    }
}

#[test]
fn components_render_their_defaults_on_the_server() {
    let _ = any_spawner::Executor::init_futures_executor();
    let owner = Owner::new();
    let html = owner.with(|| {
        provide_event_sources();
        view! { <Status/> <Status/> }.to_html()
    });
    assert!(
        html.contains(r#"<p class="state">idle</p>"#),
        "nothing connects on the server: {html}"
    );
    assert!(html.contains(r#"<p class="open">false</p>"#), "{html}");
    assert!(html.contains(r#"<p class="ticks">0</p>"#), "{html}");
    assert_eq!(html.matches("<p class=\"state\">").count(), 2);
    drop(owner);
}
