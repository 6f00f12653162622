//! The connection inspector: state, last id, reconnects, rate, the last raw events, buttons to
//! disconnect, connect and have the server drop the stream, and a check, from the ids, that
//! resuming lost and repeated nothing.

use std::collections::VecDeque;

use leptos::prelude::*;
use tidings_demo_events::{
    Comment, DropRequest, Presence, TaskCreated, TaskDeleted, TaskMoved, Tick, Typing,
};
use tidings_leptos::UseEventSource;
use tidings_wire::{Event, EventId, Heartbeat, Hello, Resync, Shutdown};

use crate::api;
use crate::clock::{fixed, use_clock};

/// Every event name the page's stream carries, from the contract.
const NAMES: [&str; 11] = [
    Tick::NAME,
    Comment::NAME,
    Typing::NAME,
    Presence::NAME,
    Hello::NAME,
    Heartbeat::NAME,
    Resync::NAME,
    Shutdown::NAME,
    TaskCreated::NAME,
    TaskMoved::NAME,
    TaskDeleted::NAME,
];
/// The events the server sends without an id.
const ID_LESS: [&str; 3] = [Hello::NAME, Heartbeat::NAME, Shutdown::NAME];
/// How many raw events the log keeps.
const LOG_LENGTH: usize = 50;
/// The window of the events-per-second figure.
const RATE_WINDOW_MS: f64 = 5_000.0;

/// What the inspector shows, changed by the stream's events and read by the view: one signal
/// for the panel (every distinct signal type costs the page wasm).
#[derive(Debug, Default)]
struct Inspector {
    /// The newest events first.
    log: VecDeque<Logged>,
    /// When the events of the rate window arrived (`Date.now()`).
    arrivals: VecDeque<f64>,
    resume: Resume,
    /// This tab's stream key on the server, from `hello`: the right to have it dropped.
    stream_key: Option<String>,
    /// The event shown whole below the log (a copy: the log's rows move on as events arrive).
    shown: Option<Logged>,
    /// While paused, the log as it was when paused (events still arrive and count).
    frozen: Option<VecDeque<Logged>>,
}

/// One raw event as the log shows it.
#[derive(Debug, Clone)]
struct Logged {
    name: &'static str,
    id: String,
    data: String,
}

/// What the ids and the ticks' sequence numbers say about resuming.
#[derive(Debug, Default)]
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

impl Logged {
    /// The id's epoch with its `-` (shown on wide screens only) and its sequence number.
    fn id_parts(&self) -> (&str, &str) {
        match self.id.find('-') {
            Some(dash) => self.id.split_at(dash + 1),
            None => ("", self.id.as_str()),
        }
    }
}

impl Inspector {
    /// The rows the log shows: live, or as they were when paused.
    fn rows(&self) -> &VecDeque<Logged> {
        self.frozen.as_ref().unwrap_or(&self.log)
    }

    /// Pauses the log's rows (so one can be picked while events flow), or lets them go on.
    fn toggle_pause(&mut self) {
        self.frozen = match self.frozen.take() {
            Some(_) => None,
            None => Some(self.log.clone()),
        };
    }

    /// Notes an event named `name` that arrived at `now` with the last event id `id`.
    fn record(&mut self, name: &'static str, id: String, data: String, now: f64) {
        self.arrivals.push_back(now);
        while self.arrivals.front().is_some_and(|at| now - at > RATE_WINDOW_MS) {
            self.arrivals.pop_front();
        }
        // The control events `hello`, `heartbeat` and `shutdown` carry no id: the id they show
        // is the previous event's, which the browser keeps.
        if !ID_LESS.contains(&name)
            && let Ok(id) = id.parse::<EventId>()
        {
            self.resume.id(id);
        }
        if self.log.len() == LOG_LENGTH {
            self.log.pop_back();
        }
        self.log.push_front(Logged { name, id, data });
    }

    /// Events per second over the last window, at `now`.
    fn rate(&self, now: f64) -> f64 {
        let recent = self.arrivals.iter().filter(|at| now - **at <= RATE_WINDOW_MS).count();
        recent as f64 / (RATE_WINDOW_MS / 1000.0)
    }
}

impl Resume {
    /// An event with an id: a duplicate unless it is after the last one.
    fn id(&mut self, id: EventId) {
        self.events += 1;
        if self.last_id.is_some_and(|last| id <= last) {
            self.duplicated += 1;
        } else {
            self.last_id = Some(id);
        }
    }

    /// A tick: the ticks between it and the last one seen were missed.
    fn tick(&mut self, seq: u64) {
        if let Some(last) = self.last_tick
            && seq > last + 1
        {
            self.missed += seq - last - 1;
        }
        self.last_tick = Some(self.last_tick.map_or(seq, |last| last.max(seq)));
    }
}

/// The role as the inspector's `data-role` says it.
fn sharing_role(role: tidings::TabRole) -> &'static str {
    match role {
        tidings::TabRole::Leader => "leader",
        tidings::TabRole::Follower => "follower",
        tidings::TabRole::Unsupported => "unsupported",
        _ => "alone",
    }
}

#[component]
pub(crate) fn InspectorPanel(stream: UseEventSource) -> impl IntoView {
    let model = RwSignal::new(Inspector::default());
    for name in NAMES {
        stream.on_raw(name, move |message| {
            let (id, now) = (message.last_event_id(), js_sys::Date::now());
            model.update(|model| model.record(name, id, message.data, now));
        });
    }
    stream.on::<Tick>(move |received| {
        if let Ok(message) = received {
            model.update(|model| model.resume.tick(message.data.seq));
        }
    });
    stream.on::<Hello>(move |received| {
        if let Ok(message) = received {
            model.update(|model| model.stream_key = Some(message.data.stream_key));
        }
    });
    let now = use_clock();
    let rate = move || {
        let now = now.get();
        fixed(model.with(|model| model.rate(now)), 1)
    };
    let drop_error = RwSignal::new(None::<api::ApiError>);
    let drop_stream = move |_| {
        let Some(stream) = model.with_untracked(|model| model.stream_key.clone()) else { return };
        let body = DropRequest { stream };
        api::send("POST", "/api/streams/drop", Some(api::json(&body)), move |answer| {
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
                <dt>"Tabs"</dt>
                <dd id="sharing" data-role=move || sharing_role(stream.sharing().role)>{move || stream.sharing().to_string()}</dd>
                <dt>"Reconnects"</dt>
                <dd id="reconnects">{move || stream.reconnect_count().to_string()}</dd>
                <dt>"Events per second"</dt>
                <dd id="rate">{rate}</dd>
                <dt>"Resume check"</dt>
                <dd id="resume-check">
                    {move || model.with(|Inspector { resume, .. }| format!(
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
                <button id="server-drop" on:click=drop_stream
                    disabled=move || model.with(|model| model.stream_key.is_none())
                    title="The tab that holds the connection knows its key">"Make the server drop it"</button>
            </div>
            <p class="form-error" role="alert">{move || drop_error.get().map(|error| error.to_string())}</p>
            <p class="log-bar">
                <button type="button" id="pause-log" aria-pressed=move || model.with(|inspector| inspector.frozen.is_some()).to_string()
                    on:click=move |_| model.update(Inspector::toggle_pause)>
                    {move || if model.with(|inspector| inspector.frozen.is_some()) { "Resume the log" } else { "Pause the log" }}
                </button>
            </p>
            <table class="log" id="event-log">
                <caption>"The last 50 events (pause, then pick one to see it whole)"</caption>
                <thead><tr><th scope="col">"Event"</th><th scope="col">"Id"</th><th scope="col">"Data"</th></tr></thead>
                <tbody>
                    // Rendered in place (row i shows the i-th newest event), not keyed with `For`:
                    // the same DOM for a fraction of the wasm. One line a row, so rows never
                    // change height as events arrive; the data is cut to fit, and a row's button
                    // shows it whole below.
                    {move || model.with(|inspector| inspector.rows().iter().map(|logged| {
                        let (epoch, seq) = logged.id_parts();
                        // The row's event as shown now: the rows move on as events arrive.
                        let shown = logged.clone();
                        view! {
                            <tr>
                                <td>{logged.name}</td>
                                <td class="id"><span class="epoch">{epoch.to_owned()}</span>{seq.to_owned()}</td>
                                <td class="data">
                                    <button type="button" class="show" on:click=move |_| model.update(|model| model.shown = Some(shown.clone()))>
                                        {logged.data.clone()}
                                    </button>
                                </td>
                            </tr>
                        }
                    }).collect_view())}
                </tbody>
            </table>
            <div class="log-detail" id="event-detail" aria-live="polite">
                {move || model.with(|inspector| inspector.shown.as_ref().map(|shown| view! {
                    <p class="shown-head"><strong>{shown.name}</strong> " · " {shown.id.clone()}
                        <button type="button" class="close" on:click=move |_| model.update(|model| model.shown = None)>"Close"</button>
                    </p>
                    <pre class="shown-data">{shown.data.clone()}</pre>
                }))}
            </div>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(seq: u64) -> EventId {
        format!("7-{seq}").parse().unwrap()
    }

    #[test]
    fn ids_not_after_the_last_are_duplicates() {
        let mut resume = Resume::default();
        for seq in [1, 2, 3, 2, 3, 4] {
            resume.id(id(seq));
        }
        assert_eq!((resume.events, resume.duplicated), (6, 2));
        assert_eq!(resume.last_id, Some(id(4)));
    }

    #[test]
    fn gaps_in_the_ticks_are_missed_and_late_ticks_are_not() {
        let mut resume = Resume::default();
        for seq in [5, 6, 9, 8, 10] {
            resume.tick(seq);
        }
        assert_eq!(resume.missed, 2, "7 and 8 were missing when 9 came");
        assert_eq!(resume.last_tick, Some(10));
    }

    #[test]
    fn the_log_keeps_the_newest_and_id_less_events_do_not_count() {
        let mut inspector = Inspector::default();
        inspector.record(Hello::NAME, String::new(), "{}".into(), 0.0);
        for seq in 1..=60 {
            inspector.record(Tick::NAME, format!("7-{seq}"), seq.to_string(), seq as f64);
        }
        inspector.record(Heartbeat::NAME, "7-60".into(), "{}".into(), 61.0);
        assert_eq!(inspector.resume.events, 60);
        assert_eq!(inspector.resume.duplicated, 0, "a heartbeat shows the previous id");
        assert_eq!(inspector.log.len(), LOG_LENGTH);
        assert_eq!(inspector.log.front().map(|logged| logged.name), Some(Heartbeat::NAME));
        assert_eq!(inspector.log.back().map(|logged| logged.data.as_str()), Some("12"));
    }

    #[test]
    fn a_paused_log_keeps_its_rows_while_events_still_count() {
        let mut inspector = Inspector::default();
        inspector.record(Tick::NAME, "7-1".into(), "1".into(), 0.0);
        inspector.toggle_pause();
        inspector.record(Tick::NAME, "7-2".into(), "2".into(), 1.0);
        let shown: Vec<&str> = inspector.rows().iter().map(|row| row.data.as_str()).collect();
        assert_eq!(shown, ["1"], "as when paused");
        assert_eq!(inspector.resume.events, 2, "still counted");
        inspector.toggle_pause();
        let shown: Vec<&str> = inspector.rows().iter().map(|row| row.data.as_str()).collect();
        assert_eq!(shown, ["2", "1"], "live again");
    }

    #[test]
    fn ids_split_into_epoch_and_sequence() {
        let logged = |id: &str| Logged { name: Tick::NAME, id: id.to_owned(), data: String::new() };
        assert_eq!(logged("1796294281630-42").id_parts(), ("1796294281630-", "42"));
        assert_eq!(logged("").id_parts(), ("", ""));
        assert_eq!(logged("plain").id_parts(), ("", "plain"));
    }

    #[test]
    fn the_rate_counts_the_last_five_seconds() {
        let mut inspector = Inspector::default();
        for at in [0.0, 1_000.0, 4_000.0, 6_000.0, 7_000.0] {
            inspector.record(Tick::NAME, String::new(), String::new(), at);
        }
        // At 7 s, the events of 2 s and later count: 4, 6 and 7 s.
        assert_eq!(inspector.rate(7_000.0), 0.6);
    }
}
