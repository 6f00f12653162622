//! The connection inspector: state, last id, reconnects, rate, the last raw events, buttons to
//! disconnect, connect and have the server drop the stream, and a check, from the ids, that
//! resuming lost and repeated nothing.

use std::collections::VecDeque;

use leptos::prelude::*;
use tidings_demo_events::{DropRequest, Tick};
use tidings_leptos::UseEventSource;
use tidings_wire::{EventId, Hello};

use crate::api;
use crate::clock::{fixed, use_clock};

/// Every event name the page's stream carries.
const NAMES: [&str; 11] = [
    "message",
    "comment",
    "typing",
    "presence",
    "hello",
    "heartbeat",
    "resync",
    "shutdown",
    "task_created",
    "task_moved",
    "task_deleted",
];
/// The events the server sends without an id.
const ID_LESS: [&str; 3] = ["hello", "heartbeat", "shutdown"];
/// How many raw events the log keeps.
const LOG_LENGTH: usize = 50;
/// The window of the events-per-second figure.
const RATE_WINDOW_MS: f64 = 5_000.0;

/// One raw event as the log shows it.
#[derive(Debug, Clone)]
struct Logged {
    name: String,
    id: String,
    data: String,
}

/// What the ids and the ticks' sequence numbers say about resuming.
#[derive(Debug, Clone, Copy, Default)]
struct Resume {
    /// Events with an id.
    events: u64,
    /// Ticks that never arrived (a gap in their sequence numbers).
    missed: u64,
    /// Events whose id was not after the previous one.
    duplicated: u64,
    last_id: Option<EventId>,
    last_tick: Option<u64>,
}

#[component]
pub(crate) fn InspectorPanel(stream: UseEventSource) -> impl IntoView {
    let log = RwSignal::new(VecDeque::<Logged>::new());
    let arrivals = RwSignal::new(VecDeque::<f64>::new());
    let resume = RwSignal::new(Resume::default());
    for name in NAMES {
        stream.on_raw(name, move |message| {
            let now = js_sys::Date::now();
            arrivals.update(|arrivals| {
                arrivals.push_back(now);
                while arrivals.front().is_some_and(|at| now - at > RATE_WINDOW_MS) {
                    arrivals.pop_front();
                }
            });
            let id = message.last_event_id().to_owned();
            // The control events `hello`, `heartbeat` and `shutdown` carry no id: the id they
            // show is the previous event's, which the browser keeps.
            if !ID_LESS.contains(&name)
                && let Ok(parsed) = id.parse::<EventId>()
            {
                resume.update(|resume| {
                    resume.events += 1;
                    if resume.last_id.is_some_and(|last| parsed <= last) {
                        resume.duplicated += 1;
                    } else {
                        resume.last_id = Some(parsed);
                    }
                });
            }
            log.update(|log| {
                if log.len() == LOG_LENGTH {
                    log.pop_back();
                }
                log.push_front(Logged { name: name.to_owned(), id, data: message.data });
            });
        });
    }
    stream.on::<Tick>(move |received| {
        if let Ok(message) = received {
            let seq = message.data.seq;
            resume.update(|resume| {
                if let Some(last) = resume.last_tick
                    && seq > last + 1
                {
                    resume.missed += seq - last - 1;
                }
                resume.last_tick = Some(resume.last_tick.map_or(seq, |last| last.max(seq)));
            });
        }
    });
    let client = RwSignal::new(None::<u64>);
    stream.on::<Hello>(move |received| {
        if let Ok(message) = received {
            client.set(Some(message.data.client_id));
        }
    });
    let now = use_clock();
    let rate = move || {
        let now = now.get();
        let recent = arrivals
            .with(|arrivals| arrivals.iter().filter(|at| now - **at <= RATE_WINDOW_MS).count());
        fixed(recent as f64 / (RATE_WINDOW_MS / 1000.0), 1)
    };
    let drop_error = RwSignal::new(None::<api::ApiError>);
    let drop_stream = move |_| {
        let body = DropRequest { client: client.get_untracked() };
        api::send("POST", "/api/admin/drop", api::json(&body), move |answer| {
            drop_error.set(answer.err());
        });
    };
    let state = move || stream.state();
    view! {
        <section class="panel inspector" aria-labelledby="inspector-title">
            <h2 id="inspector-title">"Connection inspector"</h2>
            <dl class="facts">
                <dt>"State"</dt>
                <dd id="inspector-state" data-state=move || state().name()>{move || state().to_string()}</dd>
                <dt>"Last event id"</dt>
                <dd id="last-event-id">{move || { let id = stream.last_event_id(); if id.is_empty() { "none".to_owned() } else { id } }}</dd>
                <dt>"Reconnects"</dt>
                <dd id="reconnects">{move || stream.reconnect_count()}</dd>
                <dt>"Events per second"</dt>
                <dd id="rate">{rate}</dd>
                <dt>"Resume check"</dt>
                <dd id="resume-check">
                    {move || resume.with(|resume| format!(
                        "{} events, {} missed, {} duplicated",
                        resume.events, resume.missed, resume.duplicated
                    ))}
                </dd>
            </dl>
            <div class="buttons">
                <button id="disconnect" on:click=move |_| stream.close()
                    disabled=move || state().is_closed()>"Disconnect"</button>
                <button id="connect" on:click=move |_| stream.open()
                    disabled=move || !state().is_closed()>"Connect"</button>
                <button id="server-drop" on:click=drop_stream>"Make the server drop it"</button>
            </div>
            <p class="form-error" role="alert">{move || drop_error.get().map(|error| error.to_string())}</p>
            <table class="log" id="event-log">
                <caption>"The last 50 events"</caption>
                <thead><tr><th scope="col">"Event"</th><th scope="col">"Id"</th><th scope="col">"Data"</th></tr></thead>
                <tbody>
                    // Rendered in place (row i shows the i-th newest event), not keyed with `For`:
                    // the same DOM for a fraction of the wasm.
                    {move || log.with(|log| log.iter().map(|logged| view! {
                        <tr>
                            <td>{logged.name.clone()}</td>
                            <td>{logged.id.clone()}</td>
                            <td class="data">{logged.data.clone()}</td>
                        </tr>
                    }).collect_view())}
                </tbody>
            </table>
        </section>
    }
}
