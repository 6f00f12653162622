//! Every JS listener tidings registers, counted while it lives: the leak tests read the count.

use std::borrow::Cow;
use std::cell::Cell;

use gloo_events::EventListener;
use web_sys::{Event, EventTarget};

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
}

/// How many JS event listeners tidings has registered and not yet removed, in this thread (the
/// page). Every [`EventSource`](crate::EventSource) holds three of its own on the browser's source
/// (`open`, `error`, and `end` for a server that says its stream is over), one on the window (`online`) when it has a reconnect policy, and one per
/// event name that has a handler (or that the watchdog listens to); with sharing across tabs, two
/// more for its place in the group (the channel's listener and the lock request), and a leader
/// one per name only other tabs listen to; one on the document for the page's visibility with a
/// hidden-tab policy or sharing. Dropping them brings the count back down. Meant for leak
/// tests.
///
/// # Examples
///
/// ```no_run
/// let before = tidings::live_listeners();
/// let source = tidings::EventSource::builder("/api/events").open()?;
/// let first = source.on_raw("message", |_| {});
/// let second = source.on_raw("message", |_| {}); // same name: same listener
/// assert_eq!(tidings::live_listeners(), before + 5);
/// drop((first, second, source));
/// assert_eq!(tidings::live_listeners(), before);
/// # Ok::<(), tidings::Error>(())
/// ```
pub fn live_listeners() -> usize {
    LIVE.with(Cell::get)
}

/// A gloo [`EventListener`] that is counted in [`live_listeners`] until it is dropped (which
/// removes it from its target).
#[derive(Debug)]
pub(crate) struct Listener {
    _listener: EventListener,
}

impl Listener {
    pub(crate) fn new(
        target: &EventTarget,
        event: impl Into<Cow<'static, str>>,
        callback: impl FnMut(&Event) + 'static,
    ) -> Self {
        let listener = EventListener::new(target, event, callback);
        counted();
        Self { _listener: listener }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        uncounted();
    }
}

/// One more live listener.
pub(crate) fn counted() {
    LIVE.with(|live| live.set(live.get() + 1));
}

/// One live listener fewer.
pub(crate) fn uncounted() {
    LIVE.with(|live| live.set(live.get().saturating_sub(1)));
}
