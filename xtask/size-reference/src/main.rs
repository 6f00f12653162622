//! The yardsticks of `cargo xtask bench --part size`, built exactly as the demo is: a Leptos
//! counter (the budget is a multiple of it), and with the `stream` feature the same counter
//! showing one tidings-leptos stream's state and one typed event (what the libraries add).

use leptos::prelude::*;

/// A button that counts its clicks; with `stream`, also the state of a stream and its latest
/// tick.
#[component]
fn App() -> impl IntoView {
    let (count, set_count) = signal(0);
    #[cfg(feature = "stream")]
    let stream = {
        let stream = tidings_leptos::use_event_source("/api/events");
        let tick = stream.latest::<tidings_demo_events::Tick>();
        move || format!("{}, tick {}", stream.state(), tick.get().map_or(0, |tick| tick.seq))
    };
    #[cfg(not(feature = "stream"))]
    let stream = "";
    view! {
        <button on:click=move |_| set_count.update(|count| *count += 1)>"Clicks: " {count}</button>
        <p>{stream}</p>
    }
}

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}
