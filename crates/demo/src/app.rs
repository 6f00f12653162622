//! The page: a header with the connection badge, and the ticker panel.

use leptos::prelude::*;
use tidings_demo_events::Tick;
use tidings_leptos::use_event_source;

/// The stream every panel reads, on the same origin as the page.
const EVENTS_URL: &str = "/api/events";

/// The whole page.
#[component]
pub(crate) fn App() -> impl IntoView {
    let stream = use_event_source(EVENTS_URL);
    let state = stream.state();
    let tick = stream.latest::<Tick>();

    view! {
        <header class="masthead">
            <div class="brand">
                <h1>"Tidings"</h1>
                <p class="tagline">"Typed Server-Sent Events for Rust in the browser"</p>
            </div>
            <p class="badge" id="connection-state" data-state=move || state.get().name()
                role="status" aria-live="polite">
                <span class="dot" aria-hidden="true"></span>
                {move || state.get().to_string()}
            </p>
        </header>
        <main class="panels">
            <section class="panel ticker" aria-labelledby="ticker-title">
                <h2 id="ticker-title">"Ticker"</h2>
                <p class="hint">"Unnamed "<code>"message"</code>" events, one a second."</p>
                <p class="value" id="tick-value">
                    {move || tick.get().map_or_else(|| "—".to_owned(), |tick| format!("{:.2}", tick.value))}
                </p>
                <dl class="facts">
                    <dt>"Tick"</dt>
                    <dd id="tick-seq">
                        {move || tick.get().map_or_else(|| "waiting…".to_owned(), |tick| tick.seq.to_string())}
                    </dd>
                    <dt>"Error"</dt>
                    <dd id="last-error">
                        {move || stream.last_error().get().map_or_else(|| "none".to_owned(), |error| error.to_string())}
                    </dd>
                </dl>
            </section>
        </main>
        <footer class="footer">
            <p>"tidings · tidings-leptos · tidings-server"</p>
        </footer>
    }
}
