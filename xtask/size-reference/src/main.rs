//! The yardsticks of `cargo xtask bench --part size`, built exactly as the demo is: a Leptos
//! counter, and with one feature the same counter showing one stream's state and the `seq` of
//! its latest `Tick` (JSON, decoded with serde), through tidings-leptos (`stream`) or through
//! what a user would weigh it against (`leptos-use`, `gloo`, `web-sys`); `fetch` is `stream`
//! over tidings's fetch transport, `tidings` the same page through tidings alone, by hand (what
//! the Leptos layer costs is the difference). Each shows what the
//! page pays for the stream, the same page every time. The bench turns on one feature at a
//! time; with several, the first of that list is built (so `--all-features` still compiles).

use leptos::prelude::*;

/// The ticker's event, as each app decodes it.
#[cfg(any(
    feature = "stream",
    feature = "tidings",
    feature = "leptos-use",
    feature = "gloo",
    feature = "web-sys"
))]
#[derive(Debug, Clone, Copy, PartialEq, serde::Deserialize)]
#[cfg_attr(any(feature = "stream", feature = "tidings"), derive(serde::Serialize))]
struct Tick {
    seq: u64,
    value: f64,
    at_ms: u64,
}

#[cfg(any(feature = "stream", feature = "tidings"))]
impl tidings_wire::Event for Tick {
    const NAME: &'static str = tidings_wire::MESSAGE;
}

/// The stream's state and latest tick, as text.
#[cfg(feature = "stream")]
fn stream() -> impl Fn() -> String {
    // `fetch`: the same page over tidings's fetch transport.
    #[cfg(feature = "fetch")]
    let stream = tidings_leptos::use_event_source_with_options(
        "/api/events",
        tidings_leptos::UseEventSourceOptions::default().fetch(tidings::FetchOptions::new()),
    );
    #[cfg(not(feature = "fetch"))]
    let stream = tidings_leptos::use_event_source("/api/events");
    let tick = stream.latest::<Tick>();
    move || format!("{}, tick {}", stream.state(), tick.get().map_or(0, |tick| tick.seq))
}

#[cfg(all(feature = "tidings", not(feature = "stream")))]
fn stream() -> impl Fn() -> String {
    let (state, set_state) = signal(String::new());
    let (seq, set_seq) = signal(0_u64);
    if let Ok(source) = tidings::EventSource::new("/api/events") {
        set_state.set(source.state().to_string());
        let on_tick = source.on::<Tick>(move |tick| {
            if let Ok(tick) = tick {
                set_seq.set(tick.data.seq);
            }
        });
        let on_state = source.on_state(move |now| set_state.set(now.to_string()));
        StoredValue::new_local((source, on_tick, on_state));
    }
    move || format!("{}, tick {}", state.get(), seq.get())
}

#[cfg(all(feature = "leptos-use", not(any(feature = "stream", feature = "tidings"))))]
fn stream() -> impl Fn() -> String {
    use leptos_use_event_source::{UseEventSourceReturn, use_event_source};
    let UseEventSourceReturn { ready_state, message, .. } =
        use_event_source::<Tick, codee::string::JsonSerdeCodec>("/api/events");
    move || {
        let seq = message.get().map_or(0, |message| message.data.seq);
        format!("{:?}, tick {seq}", ready_state.get())
    }
}

#[cfg(all(
    feature = "gloo",
    not(any(feature = "stream", feature = "tidings", feature = "leptos-use"))
))]
fn stream() -> impl Fn() -> String {
    use futures::StreamExt;
    let (state, set_state) = signal(String::from("connecting"));
    let (seq, set_seq) = signal(0_u64);
    match gloo_net::eventsource::futures::EventSource::new("/api/events") {
        Ok(mut source) => match source.subscribe("message") {
            Ok(mut messages) => wasm_bindgen_futures::spawn_local(async move {
                while let Some(message) = messages.next().await {
                    match message {
                        Ok((_, event)) => {
                            let data = event.data().as_string().unwrap_or_default();
                            if let Ok(tick) = serde_json::from_str::<Tick>(&data) {
                                set_state.set(format!("{:?}", source.state()));
                                set_seq.set(tick.seq);
                            }
                        }
                        Err(error) => set_state.set(error.to_string()),
                    }
                }
            }),
            Err(error) => set_state.set(error.to_string()),
        },
        Err(error) => set_state.set(error.to_string()),
    }
    move || format!("{}, tick {}", state.get(), seq.get())
}

#[cfg(all(
    feature = "web-sys",
    not(any(feature = "stream", feature = "tidings", feature = "leptos-use", feature = "gloo"))
))]
fn stream() -> impl Fn() -> String {
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;
    let (state, set_state) = signal(0_u16);
    let (seq, set_seq) = signal(0_u64);
    if let Ok(source) = web_sys::EventSource::new("/api/events") {
        let watched = source.clone();
        let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(
            move |event: web_sys::MessageEvent| {
                let data = event.data().as_string().unwrap_or_default();
                if let Ok(tick) = serde_json::from_str::<Tick>(&data) {
                    set_state.set(watched.ready_state());
                    set_seq.set(tick.seq);
                }
            },
        );
        source.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        // The closure lives as long as the component.
        StoredValue::new_local((source, on_message));
    }
    move || format!("{}, tick {}", state.get(), seq.get())
}

#[cfg(not(any(
    feature = "stream",
    feature = "tidings",
    feature = "leptos-use",
    feature = "gloo",
    feature = "web-sys"
)))]
fn stream() -> &'static str {
    ""
}

/// A button that counts its clicks, and the stream's text.
#[component]
fn App() -> impl IntoView {
    let (count, set_count) = signal(0);
    let stream = stream();
    view! {
        <button on:click=move |_| set_count.update(|count| *count += 1)>"Clicks: " {count}</button>
        <p>{stream}</p>
    }
}

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}
