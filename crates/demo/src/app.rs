//! The page: load the state, then stream from the id it is current at, so nothing is lost in
//! between; reload it when the server says the id cannot be served (`resync`).

use leptos::either::EitherOf3;
use leptos::prelude::*;
use tidings::{ConnectionState, Retrier};
use tidings_demo_events::DemoSnapshot;
use tidings_leptos::{
    UseEventSource, UseEventSourceOptions, provide_event_sources, use_event_source_with_options,
};
use tidings_wire::{Resync, Shutdown};

use crate::api;
use crate::board::BOARD;
use crate::board::BoardPanel;
use crate::clock::{fixed, use_clock};
use crate::comments::CommentsPanel;
use crate::inspector::InspectorPanel;
use crate::job::JobPanel;
use crate::ticker::TickerPanel;

/// The whole page.
#[component]
pub(crate) fn App() -> impl IntoView {
    provide_event_sources();
    let name = guest_name();
    // How many times the state was loaded: once, then once per `resync`.
    let loads = RwSignal::new(0_u32);
    // The latest answer; a reload keeps the page as it is until the new state arrives.
    let snapshot = RwSignal::new(None::<Result<DemoSnapshot, api::ApiError>>);
    let load = move || {
        loads.update(|loads| *loads += 1);
        api::send("GET", format!("/api/state?board={BOARD}"), None, move |answer| {
            snapshot.set(Some(answer.and_then(|text| api::decode(&text))));
        });
    };
    load();
    view! {
        <a class="skip" href="#panels">"Skip to the panels"</a>
        {move || match snapshot.get() {
            None => EitherOf3::A(view! { <Masthead stream=None/> <p class="loading" role="status">"Loading the current state…"</p> }),
            Some(Err(error)) => EitherOf3::B(view! {
                <Masthead stream=None/>
                <p class="failure" role="alert">"The state could not be loaded: " {error.to_string()}</p>
                <button on:click=move |_| load()>"Try again"</button>
            }),
            Some(Ok(state)) => EitherOf3::C(view! {
                <Live state name=name.clone() loads reload=load/>
            }),
        }}
        <footer class="footer">
            <p>"tidings · tidings-leptos · tidings-server — Server-Sent Events for the firehose, fetch for the occasional action."</p>
        </footer>
    }
}

/// A display name for presence and comments, one per browser: the tabs share one stream, so
/// they are one guest (kept in `localStorage`; one per tab where there is none).
fn guest_name() -> String {
    const KEY: &str = "tidings-demo-guest";
    let storage = web_sys::window().and_then(|window| window.local_storage().ok().flatten());
    if let Some(name) = storage.as_ref().and_then(|storage| storage.get_item(KEY).ok().flatten())
        && name.starts_with("Guest ")
    {
        return name;
    }
    let number = (js_sys::Math::random() * 9000.0) as u32 + 1000;
    let name = format!("Guest {number}");
    if let Some(storage) = storage {
        let _ = storage.set_item(KEY, &name);
    }
    name
}

/// The panels, live from the snapshot's id.
#[component]
fn Live(
    state: DemoSnapshot,
    name: String,
    loads: RwSignal<u32>,
    reload: impl Fn() + Copy + 'static,
) -> impl IntoView {
    let at = state.at.map(|id| id.to_string()).unwrap_or_default();
    let at_shown = if at.is_empty() { "the start".to_owned() } else { format!("id {at}") };
    // Streams from the snapshot's id; reopened, it resumes after the last event seen instead.
    // One connection for every tab of the page: the others follow the tab that holds it.
    let options = UseEventSourceOptions::default().last_event_id(at).share_across_tabs(true);
    let stream = use_event_source_with_options(events_url(&name), options);
    let restarting = RwSignal::new(false);
    stream.on::<Resync>(move |_| reload());
    stream.on::<Shutdown>(move |_| restarting.set(true));
    Effect::new(move |_| {
        if stream.is_open() {
            restarting.set(false);
        }
    });
    let DemoSnapshot { comments, ticker, presence, boards, .. } = state;
    let tasks = boards.get(BOARD).cloned().unwrap_or_default();
    view! {
        <Masthead stream=Some(stream)/>
        {move || restarting.get().then(|| view! {
            <p class="banner" role="status">"The server is restarting: reconnecting as soon as it is back…"</p>
        })}
        <p class="snapshot-info" id="snapshot-info" data-loads=move || loads.get().to_string()>
            "State loaded " {move || loads.get().to_string()} {move || if loads.get() == 1 { " time" } else { " times" }}
            ", current at " {at_shown} "; streaming from there as " <strong>{name.clone()}</strong> "."
        </p>
        <main class="panels" id="panels">
            <CommentsPanel stream comments presence name=name.clone()/>
            <TickerPanel stream first=ticker/>
            <JobPanel/>
            <BoardPanel stream tasks/>
            <InspectorPanel stream/>
        </main>
    }
}

/// The multiplexed stream of the page: the default topics and this tab's board.
fn events_url(name: &str) -> String {
    format!(
        "/api/events?topics=comments,typing,presence,ticker,board:{BOARD}&name={}",
        encode(name)
    )
}

fn encode(text: &str) -> String {
    String::from(js_sys::encode_uri_component(text))
}

/// The title and the connection badge.
#[component]
fn Masthead(stream: Option<UseEventSource>) -> impl IntoView {
    let now = use_clock();
    let state = move || stream.map(|stream| stream.state());
    // When the state last changed, for the countdown to a library retry.
    let since = RwSignal::new(js_sys::Date::now());
    if let Some(stream) = stream {
        // Reading the state subscribes the effect: it runs again at every change.
        Effect::new(move |_| {
            let _ = stream.state();
            since.set(js_sys::Date::now());
        });
    }
    let name = move || state().map_or("connecting", ConnectionState::name);
    let label = move || match state() {
        None => "loading".to_owned(),
        Some(ConnectionState::Reconnecting { attempt, by: Retrier::Library { delay } }) => {
            let left = (since.get() + delay.as_secs_f64() * 1000.0 - now.get()).max(0.0);
            format!("reconnecting (attempt {attempt} in {} s)", fixed(left / 1000.0, 1))
        }
        Some(state) => state.to_string(),
    };
    view! {
        <header class="masthead">
            <div class="brand">
                <h1>"Tidings"</h1>
                <p class="tagline">"Typed Server-Sent Events for Rust in the browser"</p>
            </div>
            <p class="badge" id="connection-state" data-state=name role="status" aria-live="polite">
                <span class="dot" aria-hidden="true"></span>
                <span class="label">{label}</span>
            </p>
        </header>
    }
}
