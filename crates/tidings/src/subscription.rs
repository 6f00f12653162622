use std::fmt;
use std::rc::Weak;

use crate::listener::Listener;
use crate::source::Shared;

/// Keeps a handler registered; dropping it removes the handler at once.
///
/// Returned by every `on…` method of [`EventSource`](crate::EventSource). A subscription that
/// outlives its source receives nothing more; dropping it then is harmless.
///
/// ```no_run
/// let source = tidings::EventSource::builder("/api/events").open()?;
/// let subscription = source.on_state(|state| web_sys::console::log_1(&state.to_string().into()));
/// drop(subscription); // the handler is gone
/// # Ok::<(), tidings::Error>(())
/// ```
#[must_use = "dropping a Subscription removes its handler at once"]
pub struct Subscription {
    _kind: Kind,
}

enum Kind {
    /// A JS listener on the browser's EventSource; gloo removes it on drop.
    Listener(Listener),
    /// A state handler kept in the source's list.
    State { shared: Weak<Shared>, key: u64 },
}

impl Subscription {
    pub(crate) fn listener(listener: Listener) -> Self {
        Self { _kind: Kind::Listener(listener) }
    }

    pub(crate) fn state(shared: Weak<Shared>, key: u64) -> Self {
        Self { _kind: Kind::State { shared, key } }
    }
}

impl Drop for Kind {
    fn drop(&mut self) {
        if let Self::State { shared, key } = self
            && let Some(shared) = shared.upgrade()
        {
            shared.remove_state_handler(*key);
        }
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self._kind {
            Kind::Listener(listener) => {
                f.debug_struct("Subscription").field("event", &listener.event_type()).finish()
            }
            Kind::State { key, .. } => {
                f.debug_struct("Subscription").field("state_handler", key).finish()
            }
        }
    }
}
