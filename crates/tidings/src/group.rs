//! The tabs of an origin that share one connection, as the browser sees them: a Web Lock that
//! one tab holds (the leader) and the others wait for, and a `BroadcastChannel` that carries the
//! leader's events and everyone's notes. Plain plumbing: what the driver does with it is in
//! `driver/tabs.rs`.
//!
//! The lock request and the channel live in one small JavaScript object, so that leaving is one
//! call that releases the lock (or withdraws the request), closes the channel and silences both,
//! whatever state the lock request is in. [`Group`] owns it and the Rust callbacks, and leaves on
//! drop.

use std::collections::{HashSet, VecDeque};
use std::rc::Rc;
use std::time::Duration;

use js_sys::Array;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::MessageEvent;

use crate::{CloseReason, ConnectionState, Retrier, listener};

#[wasm_bindgen(inline_js = r#"
// The relayed events a tab keeps, to answer a tab that joins after an id it had.
const HISTORY = 512;
function remember(group, note) {
    group.history.push(note);
    if (group.history.length > HISTORY) group.history.shift();
}
// One post per batch of events (a post costs more than the event: a trip through the browser),
// sent once the events queued now are dispatched, and before any other note.
function relay(group, note) {
    remember(group, note);
    group.outbox.push(note);
    if (group.outbox.length === 1) group.flusher.port2.postMessage(null);
}
function flush(group) {
    if (group.outbox.length === 0) return;
    const batch = group.outbox;
    group.outbox = [];
    if (!group.left) group.channel.postMessage(["b", batch]);
}
function received(group, note) {
    remember(group, note);
    if (group.waiting) group.pending.push(note); else deliver(group, note);
}
function deliver(group, note) {
    const [, event, data, id, origin] = note;
    const dispatched = new MessageEvent(event, { data, lastEventId: id, origin });
    group.onEvent(event, data, id, dispatched, origin);
}
export function group_supported() {
    const locks = globalThis.navigator && globalThis.navigator.locks;
    return typeof BroadcastChannel === "function" && !!locks && typeof locks.request === "function";
}
export function group_join(name, id, onLead, onEvent, onNote) {
    const group = {
        channel: new BroadcastChannel(name), abort: new AbortController(), release: () => {},
        left: false, id, onEvent, history: [], waiting: false, pending: [],
        outbox: [], flusher: new MessageChannel(), relay: null,
    };
    group.relay = (note) => relay(group, note);
    group.flusher.port1.onmessage = () => flush(group);
    group.channel.onmessage = (message) => {
        if (group.left) return;
        const note = message.data;
        if (!Array.isArray(note)) return;
        if (note[0] === "b") {
            for (const event of note[1]) {
                if (group.left) return;
                received(group, event);
            }
        } else if (note[0] === "replay") {
            // ["replay", from, to, found, events]: the leader's answer to this tab's hello.
            if (note[2] !== group.id || !group.waiting) return;
            group.waiting = false;
            const pending = group.pending;
            group.pending = [];
            if (note[3]) {
                for (const event of note[4]) deliver(group, event);
                for (const event of pending) deliver(group, event);
            }
            onNote(["replayed", note[1], !!note[3]]);
        } else {
            onNote(note);
        }
    };
    const held = new Promise((resolve) => { group.release = resolve; });
    navigator.locks.request(name, { signal: group.abort.signal }, () => {
        // Left while waiting, after the grant was queued: give the lock straight back.
        if (group.left) return undefined;
        onLead();
        return held;
    }).catch(() => {}); // AbortError: the request was withdrawn
    return group;
}
export function group_post(group, note) {
    flush(group);
    if (!group.left) group.channel.postMessage(note);
}
export function group_wait(group, waiting) {
    group.waiting = waiting;
    group.pending = [];
}
export function group_replay(group, after, to, current) {
    if (group.left) return;
    flush(group);
    let events = null;
    if (after === current) {
        events = [];
    } else {
        const index = group.history.findLastIndex((note) => note[3] === after);
        if (index >= 0) events = group.history.slice(index + 1);
    }
    group.channel.postMessage(["replay", group.id, to, events !== null, events || []]);
}
export function group_leave(group) {
    if (group.left) return;
    flush(group);
    group.left = true;
    group.flusher.port1.onmessage = null;
    group.flusher.port1.close();
    group.flusher.port2.close();
    group.channel.onmessage = null;
    group.channel.close();
    group.abort.abort();
    group.release();
    group.history = [];
    group.pending = [];
}
export function group_count(name) {
    return navigator.locks.query().then((locks) =>
        locks.held.filter((lock) => lock.name === name).length
            + locks.pending.filter((lock) => lock.name === name).length);
}
"#)]
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
    fn wait_js(group: &JsValue, waiting: bool);
    #[wasm_bindgen(js_name = group_replay)]
    fn replay_js(group: &JsValue, after: &str, to: &str, current: &str);
    #[wasm_bindgen(js_name = group_post)]
    fn post_js(group: &JsValue, note: &JsValue);
    #[wasm_bindgen(js_name = group_leave)]
    fn leave_js(group: &JsValue);
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
/// `MessageEvent` made from them, origin.
pub(crate) type EventCallback = dyn FnMut(String, String, String, MessageEvent, String);

/// This tab's place in a group: a lock request (or the lock) and the channel. Leaves on drop.
pub(crate) struct Group {
    name: String,
    handle: JsValue,
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
        on_event: impl FnMut(String, String, String, MessageEvent, String) + 'static,
        on_note: impl FnMut(JsValue) + 'static,
    ) -> Self {
        let on_lead = Closure::<dyn FnMut()>::new(on_lead);
        let on_event = Closure::<EventCallback>::new(on_event);
        let on_note = Closure::<dyn FnMut(JsValue)>::new(on_note);
        let handle = join_js(&name, id, on_lead.as_ref(), on_event.as_ref(), on_note.as_ref());
        // The channel's listener and the lock request.
        listener::counted();
        listener::counted();
        Self { name, handle, _on_lead: on_lead, _on_event: on_event, _on_note: on_note }
    }

    pub(crate) fn post(&self, note: &Note) {
        post_js(&self.handle, &note.to_js());
    }

    /// While `waiting`, relayed events are held back (not dispatched) until the leader's
    /// answer to this tab's hello: then its replay, then the held events, are dispatched (an
    /// answer that could not replay drops them). Setting it either way drops what is held.
    pub(crate) fn wait(&self, waiting: bool) {
        wait_js(&self.handle, waiting);
    }

    /// Answers the tab `to`, which joined after the id `after`: the events since, from this
    /// tab's history (none when `after` is `current`, the id in force here), or "not found".
    pub(crate) fn replay(&self, after: &str, to: &str, current: &str) {
        replay_js(&self.handle, after, to, current);
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
        leave_js(&self.handle);
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
    /// The leader's answer to this tab's hello was dispatched: `found` is false when it could
    /// not replay the events since this tab's id (not in its history).
    Replayed { from: String, found: bool },
    /// The names a tab listens to, now.
    Names { from: String, names: Vec<String> },
    /// A tab left.
    Leave { from: String },
    /// A tab took the lock.
    Lead { from: String },
    /// The leader's connection state.
    State { from: String, state: ConnectionState },
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
                note.push(&(*found).into());
                note
            }
            Self::Names { from, names } => {
                let note = words("names", from);
                note.push(&names_array(names));
                note
            }
            Self::Leave { from } => words("leave", from),
            Self::Lead { from } => words("lead", from),
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
            "replayed" => Self::Replayed { from, found: note.get(2).as_bool()? },
            "names" => Self::Names { from, names: names()? },
            "leave" => Self::Leave { from },
            "lead" => Self::Lead { from },
            "state" => Self::State { from, state: decode_state([code(2)?, code(3)?, code(4)?])? },
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
        ];
        for state in states {
            assert_eq!(decode_state(encode_state(state)), Some(state), "{state:?}");
        }
    }

    #[test]
    fn an_unknown_state_is_refused() {
        assert_eq!(decode_state([9, 0, 0]), None);
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
