//! The tabs of an origin that share one connection, as the browser sees them: a Web Lock that
//! one tab holds (the leader) and the others wait for, and a `BroadcastChannel` that carries the
//! leader's events and everyone's notes. Plain plumbing: what the driver does with it is in
//! `tabs.rs`.
//!
//! The lock request and the channel live in one small JavaScript object (`js/group.js`, tested
//! by itself in `tests/group_js.rs`), so that leaving is one call that releases the lock (or
//! withdraws the request), closes the channel and silences both, whatever state the lock
//! request is in. [`Group`] owns it and the Rust callbacks, and leaves on drop.
//!
//! `js/group.js` ships to browsers as written (neither Trunk nor wasm-bindgen minifies a
//! snippet), so what it does is said here rather than there:
//! - A relayed event is `["e", name, data, id in force, origin, fresh]`, `fresh` when the event
//!   set a new id (an event without an `id:` line keeps the previous one, and is never a
//!   repeat). Each tab keeps the last 512 it relayed or received (`remember`), to answer a tab
//!   that joins after an id it had.
//! - A leader posts one message per batch of events (`relay`, `flush`: a post costs more than
//!   the event, a trip through the browser): `["b", events]`, sent once the events queued now
//!   are dispatched (a message to itself through a `MessageChannel`), and before any other note.
//! - Ids of the form `<epoch>-<seq>` (tidings-wire's, and Redis's) are ordered, the epoch then
//!   the sequence (`order`, `later`); other ids are opaque and only compared for equality.
//! - A relayed event a tab receives (`received`): a leader ignores it (its own source resumed
//!   after its own last id: what an old leader sends late, it has). A tab not waiting for a
//!   replay dispatches it. A tab seeking the id it joined after: that id's event ends the
//!   seeking (it had what came before, what follows is new; it notes `replayed`), as does an
//!   event with a later id (one of another topic, say), which is dispatched. Otherwise it is
//!   held until the leader answers.
//! - The leader's answer to a joining tab's hello (`group_replay`, read by `answered`):
//!   `["replay", from, to, outcome, events]`, outcome 1 (the events since its id follow; with
//!   ordered ids and a history that reaches back to an id this stream did not carry, another
//!   topic's, the events with later ids), 0 (its id is not in the history: maybe not relayed
//!   yet; the tab drops what it held up to that id when it comes, or seeks it) or -1 (it
//!   cannot be answered: the tab must connect by itself). Events are dispatched until the
//!   group is left (a handler may close the source).
//! - The lock request is withdrawn on leaving (an `AbortError`, ignored); a grant queued
//!   before the leave gives the lock straight back. A leader starting after `start`
//!   remembers a mark with that id, so that a tab joining after `start` gets every event.
//!   Leaving flushes the outbox, closes the ports and the channel, and releases the lock after
//!   `linger` milliseconds (after a final close, the others hear it before the next tab gets
//!   the lock).

use std::collections::{HashSet, VecDeque};
use std::rc::Rc;
use std::time::Duration;

use js_sys::Array;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::MessageEvent;

use crate::{CloseReason, ConnectionState, Retrier, listener};

#[wasm_bindgen(module = "/js/group.js")]
extern "C" {
    #[wasm_bindgen(js_name = group_supported)]
    fn supported_js() -> bool;
    #[wasm_bindgen(js_name = group_join)]
    fn join_js(
        name: &str,
        id: &str,
        on_lead: &JsValue,
        on_event: &JsValue,
        on_note: &JsValue,
    ) -> JsValue;
    #[wasm_bindgen(js_name = group_wait)]
    fn wait_js(group: &JsValue, after: &JsValue);
    #[wasm_bindgen(js_name = group_lead)]
    fn lead_js(group: &JsValue, start: &str);
    #[wasm_bindgen(js_name = group_replay)]
    fn replay_js(group: &JsValue, after: &str, to: &str, current: &str, known: bool);
    #[wasm_bindgen(js_name = group_post)]
    fn post_js(group: &JsValue, note: &JsValue);
    #[wasm_bindgen(js_name = group_leave)]
    fn leave_js(group: &JsValue, linger: u32);
    #[wasm_bindgen(js_name = group_count)]
    fn count_js(name: &str) -> js_sys::Promise;
}

/// Whether this page has both the Web Locks API and `BroadcastChannel` (not in an insecure
/// context: `navigator.locks` needs HTTPS or localhost).
pub(crate) fn supported() -> bool {
    supported_js()
}

/// The lock and channel name for a connection: its absolute URL and credentials mode, the two
/// things that make two connections the same stream.
pub(crate) fn name(url: &str, with_credentials: bool) -> String {
    let credentials = if with_credentials { "include" } else { "same-origin" };
    format!("tidings {credentials} {url}")
}

/// A relayed event as the followers' callback gets it: name, data, id in force, a
/// `MessageEvent` made from them, origin, and whether the event set a new id.
pub(crate) type EventCallback = dyn FnMut(String, String, String, MessageEvent, String, bool);

/// This tab's place in a group: a lock request (or the lock) and the channel. Leaves on drop.
pub(crate) struct Group {
    name: String,
    handle: JsValue,
    /// How long the lock is kept after leaving (see [`linger`](Self::linger)).
    linger: std::cell::Cell<u32>,
    _on_lead: Closure<dyn FnMut()>,
    _on_event: Closure<EventCallback>,
    _on_note: Closure<dyn FnMut(JsValue)>,
}

impl Group {
    /// Asks for the lock (`on_lead` runs once it is granted) and listens on the channel as the
    /// tab `id`.
    pub(crate) fn join(
        name: String,
        id: &str,
        on_lead: impl FnMut() + 'static,
        on_event: impl FnMut(String, String, String, MessageEvent, String, bool) + 'static,
        on_note: impl FnMut(JsValue) + 'static,
    ) -> Self {
        let on_lead = Closure::<dyn FnMut()>::new(on_lead);
        let on_event = Closure::<EventCallback>::new(on_event);
        let on_note = Closure::<dyn FnMut(JsValue)>::new(on_note);
        let handle = join_js(&name, id, on_lead.as_ref(), on_event.as_ref(), on_note.as_ref());
        // The channel's listener and the lock request.
        listener::counted();
        listener::counted();
        Self {
            name,
            handle,
            linger: std::cell::Cell::new(0),
            _on_lead: on_lead,
            _on_event: on_event,
            _on_note: on_note,
        }
    }

    pub(crate) fn post(&self, note: &Note) {
        post_js(&self.handle, &note.to_js());
    }

    /// With `Some(after)`, relayed events are held back (not dispatched) until the leader
    /// answers this tab's hello: then its replay of the events since `after`, then the held
    /// ones, are dispatched. When the leader has not seen `after` yet, the held events up to
    /// the one with that id are dropped when it comes. `None` stops waiting, dropping what is
    /// held.
    pub(crate) fn wait(&self, after: Option<&str>) {
        wait_js(&self.handle, &after.map_or(JsValue::NULL, JsValue::from));
    }

    /// This tab leads from now on, its source starting after `start`: relays from an old leader
    /// are ignored, and a tab that joins after `start` gets the whole history.
    pub(crate) fn lead(&self, start: &str) {
        lead_js(&self.handle, start);
    }

    /// Answers the tab `to`, which joined after the id `after`: the events since, from this
    /// tab's history (none when `after` is `current`, the id in force here), "not seen" when
    /// `after` is not in it, or "cannot" when it is not `known` (the tab listens to a name this
    /// one did not, so the history lacks its events).
    pub(crate) fn replay(&self, after: &str, to: &str, current: &str, known: bool) {
        replay_js(&self.handle, after, to, current, known);
    }

    /// Keeps the lock `millis` longer after leaving: a leader whose connection ended for good
    /// lets the others hear it before the next tab takes the lock (and would connect again).
    pub(crate) fn linger(&self, millis: u32) {
        self.linger.set(millis);
    }

    /// What a leader's taps post relayed events to (this object; see `tap.rs`).
    pub(crate) fn handle(&self) -> &JsValue {
        &self.handle
    }

    /// How many tabs are in the group now: the lock's holder and those waiting for it.
    pub(crate) fn count(&self) -> js_sys::Promise {
        count_js(&self.name)
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        leave_js(&self.handle, self.linger.get());
        listener::uncounted();
        listener::uncounted();
    }
}

impl std::fmt::Debug for Group {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Group").field("name", &self.name).finish_non_exhaustive()
    }
}

/// What tabs tell each other, besides the leader's events.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Note {
    /// A tab joined, listening to `names`, after the id `after` (empty: none): everyone answers
    /// with their names, the leader with its state and the events since `after`.
    Hello { from: String, names: Vec<String>, after: String },
    /// The events since this tab's id were dispatched (`found`), or the leader cannot give them
    /// (the tab must connect by itself).
    Replayed { from: String, found: bool },
    /// The names a tab listens to, now.
    Names { from: String, names: Vec<String> },
    /// A tab left.
    Leave { from: String },
    /// A tab took the lock.
    Lead { from: String },
    /// The leader's connection state.
    State { from: String, state: ConnectionState },
    /// Whether a tab's page is visible (said on every change, and to every hello).
    Visible { from: String, visible: bool },
}

impl Note {
    fn to_js(&self) -> JsValue {
        let words = |kind: &str, from: &str| Array::of2(&kind.into(), &from.into());
        let names_array = |names: &[String]| names.iter().map(JsValue::from).collect::<Array>();
        let note = match self {
            Self::Hello { from, names, after } => {
                let note = words("hello", from);
                note.push(&names_array(names));
                note.push(&after.into());
                note
            }
            Self::Replayed { from, found } => {
                let note = words("replayed", from);
                note.push(&JsValue::from(if *found { 1 } else { -1 }));
                note
            }
            Self::Names { from, names } => {
                let note = words("names", from);
                note.push(&names_array(names));
                note
            }
            Self::Leave { from } => words("leave", from),
            Self::Lead { from } => words("lead", from),
            Self::Visible { from, visible } => {
                let note = words("visible", from);
                note.push(&JsValue::from(if *visible { 1 } else { -1 }));
                note
            }
            Self::State { from, state } => {
                let note = words("state", from);
                for code in encode_state(*state) {
                    note.push(&JsValue::from(code));
                }
                note
            }
        };
        note.into()
    }

    /// A note from another tab; `None` for anything else (another library's message, a newer
    /// version's note).
    pub(crate) fn from_js(value: &JsValue) -> Option<Self> {
        let note = value.dyn_ref::<Array>()?;
        let kind = note.get(0).as_string()?;
        let from = note.get(1).as_string()?;
        let names = || -> Option<Vec<String>> {
            let names = note.get(2).dyn_into::<Array>().ok()?;
            names.iter().map(|name| name.as_string()).collect()
        };
        let code = |index| note.get(index).as_f64().map(|number| number as u32);
        Some(match kind.as_str() {
            "hello" => Self::Hello { from, names: names()?, after: note.get(3).as_string()? },
            "replayed" => Self::Replayed { from, found: note.get(2).as_f64()? > 0.0 },
            "names" => Self::Names { from, names: names()? },
            "leave" => Self::Leave { from },
            "lead" => Self::Lead { from },
            "state" => Self::State { from, state: decode_state([code(2)?, code(3)?, code(4)?])? },
            "visible" => Self::Visible { from, visible: note.get(2).as_f64()? > 0.0 },
            _ => return None,
        })
    }
}

/// A state as three numbers, for a note.
pub(crate) fn encode_state(state: ConnectionState) -> [u32; 3] {
    match state {
        ConnectionState::Idle => [0, 0, 0],
        ConnectionState::Connecting { attempt } => [1, attempt, 0],
        ConnectionState::Open => [2, 0, 0],
        ConnectionState::Reconnecting { attempt, by: Retrier::Browser } => [3, attempt, 0],
        ConnectionState::Reconnecting { attempt, by: Retrier::Library { delay } } => {
            [4, attempt, u32::try_from(delay.as_millis()).unwrap_or(u32::MAX)]
        }
        ConnectionState::Closed(CloseReason::ByUser) => [5, 0, 0],
        ConnectionState::Closed(CloseReason::Ended) => [6, 0, 0],
        ConnectionState::Closed(CloseReason::Fatal { status }) => {
            [7, status.map_or(0, u32::from), 0]
        }
        ConnectionState::Closed(CloseReason::RetryLimit { attempts }) => [8, attempts, 0],
        ConnectionState::Hidden => [9, 0, 0],
        ConnectionState::Closed(CloseReason::NotEventStream) => [10, 0, 0],
    }
}

pub(crate) fn decode_state([kind, a, b]: [u32; 3]) -> Option<ConnectionState> {
    Some(match kind {
        0 => ConnectionState::Idle,
        1 => ConnectionState::Connecting { attempt: a },
        2 => ConnectionState::Open,
        3 => ConnectionState::Reconnecting { attempt: a, by: Retrier::Browser },
        4 => ConnectionState::Reconnecting {
            attempt: a,
            by: Retrier::Library { delay: Duration::from_millis(u64::from(b)) },
        },
        5 => ConnectionState::Closed(CloseReason::ByUser),
        6 => ConnectionState::Closed(CloseReason::Ended),
        7 => ConnectionState::Closed(CloseReason::Fatal {
            status: if a == 0 { None } else { Some(u16::try_from(a).ok()?) },
        }),
        8 => ConnectionState::Closed(CloseReason::RetryLimit { attempts: a }),
        9 => ConnectionState::Hidden,
        10 => ConnectionState::Closed(CloseReason::NotEventStream),
        _ => return None,
    })
}

/// The ids a tab dispatched lately, to drop an event it already has: after a hand-over the new
/// leader resumes after the id *it* saw last, which may be behind another tab's.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    order: VecDeque<Rc<str>>,
    set: HashSet<Rc<str>>,
}

impl Seen {
    /// More than a hand-over can replay in practice (the events between two tabs' last ids).
    const KEPT: usize = 1024;

    /// Records `id`; false when it was seen already (or is empty: no id, nothing to compare).
    pub(crate) fn first_time(&mut self, id: &str) -> bool {
        if id.is_empty() {
            return true;
        }
        if self.set.contains(id) {
            return false;
        }
        let id: Rc<str> = Rc::from(id);
        if self.order.len() == Self::KEPT
            && let Some(oldest) = self.order.pop_front()
        {
            self.set.remove(&oldest);
        }
        self.order.push_back(Rc::clone(&id));
        self.set.insert(id);
        true
    }

    pub(crate) fn contains(&self, id: &str) -> bool {
        !id.is_empty() && self.set.contains(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_goes_through_a_note_unchanged() {
        let states = [
            ConnectionState::Idle,
            ConnectionState::Connecting { attempt: 0 },
            ConnectionState::Connecting { attempt: 7 },
            ConnectionState::Open,
            ConnectionState::Reconnecting { attempt: 2, by: Retrier::Browser },
            ConnectionState::Reconnecting {
                attempt: 3,
                by: Retrier::Library { delay: Duration::from_millis(1_500) },
            },
            ConnectionState::Closed(CloseReason::ByUser),
            ConnectionState::Closed(CloseReason::Ended),
            ConnectionState::Closed(CloseReason::Fatal { status: Some(401) }),
            ConnectionState::Closed(CloseReason::Fatal { status: None }),
            ConnectionState::Closed(CloseReason::RetryLimit { attempts: 5 }),
            ConnectionState::Hidden,
            ConnectionState::Closed(CloseReason::NotEventStream),
        ];
        for state in states {
            assert_eq!(decode_state(encode_state(state)), Some(state), "{state:?}");
        }
    }

    #[test]
    fn an_unknown_state_is_refused() {
        assert_eq!(decode_state([11, 0, 0]), None);
        assert_eq!(decode_state([7, 70_000, 0]), None, "not a status");
    }

    #[test]
    fn seen_ids_are_dropped_and_forgotten_in_order() {
        let mut seen = Seen::default();
        assert!(seen.first_time("1"));
        assert!(!seen.first_time("1"));
        assert!(seen.first_time(""), "no id: never a duplicate");
        assert!(seen.first_time(""));
        for id in 2..=Seen::KEPT + 1 {
            assert!(seen.first_time(&id.to_string()));
        }
        assert!(!seen.contains("1"), "the oldest went");
        assert!(seen.contains("2"));
        assert!(seen.first_time("1"));
    }
}
