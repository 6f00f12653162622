//! The listener that carries events from the browser into Rust.
//!
//! A gloo `EventListener` hands Rust the `MessageEvent`, and every field read from it is another
//! crossing between JavaScript and wasm: for a typed handler that also needs the last event id,
//! those crossings cost more than decoding the JSON. A tap is a three-line JavaScript listener
//! that reads the data in JavaScript and makes one call into Rust with the data, the event itself
//! (its `lastEventId` is read only when someone asks: the browser makes a new string per read)
//! and, once per connection, the origin. It is removed when dropped, like a
//! gloo listener, and counted in [`live_listeners`](crate::live_listeners).

use std::borrow::Cow;

use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::*;
use web_sys::{EventTarget, MessageEvent};

use crate::listener;

// `js/tap.js` ships to browsers as written (neither Trunk nor wasm-bindgen minifies a snippet),
// so what it does is said here.
#[wasm_bindgen(module = "/js/tap.js")]
extern "C" {
    /// What the taps of one browser source share: whether the origin was passed on, and, in a
    /// leader tab, the group to relay events to (`relay`, `undefined` otherwise) and the id
    /// carried into the source (`carried`), with the id of the last event relayed.
    #[wasm_bindgen(js_name = tap_state)]
    fn new_state(relay: &JsValue, carried: &str) -> JsValue;
    /// Adds a listener for `name` events on `target` (a browser `EventSource`, or the fetch
    /// transport's target) and returns it. For each event it:
    /// - ignores the connection's own `open` and `error`, which are plain `Event`s: an event of
    ///   the stream is a `MessageEvent`, or the fetch transport's plain object with the same
    ///   fields (`js/fetch.js`);
    /// - reads the data as a string;
    /// - in a leader tab, relays the event to the other tabs (see `group.rs`) as
    ///   `["e", name, data, id, origin, fresh]`, with the id in force (a re-created source
    ///   reports none until the server sends one: then `carried`) and whether the id is new;
    /// - calls `handler` with the data, the event and, on the connection's first event only,
    ///   its origin.
    #[wasm_bindgen(js_name = tap)]
    fn add(target: &EventTarget, name: &str, state: &JsValue, handler: &JsValue) -> JsValue;
    /// Removes a listener [`add`] returned.
    #[wasm_bindgen(js_name = untap)]
    fn remove(target: &EventTarget, name: &str, listener: &JsValue);
}

/// One event, as a tap passes it on: its data, the event, and the origin on the source's first
/// event.
///
/// `Fn`, not `FnMut`: a handler may dispatch an event to the same source, which calls the tap
/// again while it runs.
pub(crate) type TapHandler = dyn Fn(String, MessageEvent, Option<String>);

/// What the taps of one browser source share.
#[derive(Debug)]
pub(crate) struct TapState(JsValue);

impl TapState {
    /// Taps that pass events to this page's handlers only.
    pub(crate) fn new() -> Self {
        Self(new_state(&JsValue::UNDEFINED, ""))
    }

    /// Taps that also relay every event to the other tabs of `group` (a leader's), with
    /// `carried` as the id until the source reports one.
    pub(crate) fn relaying(group: &JsValue, carried: &str) -> Self {
        Self(new_state(group, carried))
    }
}

/// A JavaScript listener for `name` events on `target`, removed on drop.
pub(crate) struct Tap {
    target: EventTarget,
    name: Cow<'static, str>,
    listener: JsValue,
    _handler: Closure<TapHandler>,
}

impl Tap {
    pub(crate) fn new(
        target: &EventTarget,
        name: Cow<'static, str>,
        state: &TapState,
        handler: impl Fn(String, MessageEvent, Option<String>) + 'static,
    ) -> Self {
        let handler = Closure::<TapHandler>::new(handler);
        let listener = add(target, &name, &state.0, handler.as_ref());
        listener::counted();
        Self { target: target.clone(), name, listener, _handler: handler }
    }
}

impl Tap {
    /// The event name it listens to.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for Tap {
    fn drop(&mut self) {
        remove(&self.target, &self.name, &self.listener);
        listener::uncounted();
    }
}

impl std::fmt::Debug for Tap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tap").field("name", &self.name).finish_non_exhaustive()
    }
}
