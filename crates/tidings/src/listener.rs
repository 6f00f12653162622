//! Every JS listener tidings registers, counted while it lives: the leak tests read the count.

use std::borrow::Cow;
use std::cell::Cell;

use gloo_events::EventListener;
use web_sys::{Event, EventTarget};

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
}

/// How many JS event listeners tidings has registered and not yet removed, in this thread (the
/// page). Every [`EventSource`](crate::EventSource) holds two of its own and every
/// [`Subscription`](crate::Subscription) of an event one; dropping them brings the count back down.
/// Meant for leak tests.
///
/// ```no_run
/// let before = tidings::live_listeners();
/// let source = tidings::EventSource::builder("/api/events").open()?;
/// let guard = source.on_raw("message", |_| {});
/// assert_eq!(tidings::live_listeners(), before + 3);
/// drop((guard, source));
/// assert_eq!(tidings::live_listeners(), before);
/// # Ok::<(), tidings::Error>(())
/// ```
pub fn live_listeners() -> usize {
    LIVE.with(Cell::get)
}

/// A gloo [`EventListener`] that is counted in [`live_listeners`] until it is dropped (which
/// removes it from its target).
#[derive(Debug)]
pub(crate) struct Listener(EventListener);

impl Listener {
    pub(crate) fn new(
        target: &EventTarget,
        event: impl Into<Cow<'static, str>>,
        callback: impl FnMut(&Event) + 'static,
    ) -> Self {
        let listener = EventListener::new(target, event, callback);
        LIVE.with(|live| live.set(live.get() + 1));
        Self(listener)
    }

    pub(crate) fn event_type(&self) -> &str {
        self.0.event_type()
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        LIVE.with(|live| live.set(live.get().saturating_sub(1)));
    }
}
