use std::borrow::Cow;
use std::fmt;
use std::rc::Weak;

/// What a subscription removes its handler from (the driver's registry), reached through a
/// `Weak` so a subscription that outlives its source is harmless.
pub(crate) trait Unsubscribe {
    fn remove_event_handler(&self, name: &str, key: u64);
    fn remove_state_handler(&self, key: u64);
    fn remove_sharing_handler(&self, key: u64);
}

/// Keeps a handler registered; dropping it removes the handler at once.
///
/// Returned by every `on…` method of [`EventSource`](crate::EventSource). The handler belongs to
/// the `EventSource`, not to the browser's object, so it survives the supervisor re-creating the
/// connection. A subscription that outlives its source receives nothing more; dropping it then
/// is harmless.
///
/// # Examples
///
/// ```no_run
/// let source = tidings::EventSource::builder("/api/events").open()?;
/// let subscription = source.on_state(|state| web_sys::console::log_1(&state.to_string().into()));
/// drop(subscription); // the handler is gone
/// # Ok::<(), tidings::Error>(())
/// ```
#[must_use = "dropping a Subscription removes its handler at once"]
pub struct Subscription {
    shared: Weak<dyn Unsubscribe>,
    kind: Kind,
}

enum Kind {
    Event { name: Cow<'static, str>, key: u64 },
    State { key: u64 },
    Sharing { key: u64 },
}

impl Subscription {
    pub(crate) fn event(shared: Weak<dyn Unsubscribe>, name: Cow<'static, str>, key: u64) -> Self {
        Self { shared, kind: Kind::Event { name, key } }
    }

    pub(crate) fn state(shared: Weak<dyn Unsubscribe>, key: u64) -> Self {
        Self { shared, kind: Kind::State { key } }
    }

    pub(crate) fn sharing(shared: Weak<dyn Unsubscribe>, key: u64) -> Self {
        Self { shared, kind: Kind::Sharing { key } }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let Some(shared) = self.shared.upgrade() else { return };
        match &self.kind {
            Kind::Event { name, key } => shared.remove_event_handler(name, *key),
            Kind::State { key } => shared.remove_state_handler(*key),
            Kind::Sharing { key } => shared.remove_sharing_handler(*key),
        }
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Event { name, key } => {
                f.debug_struct("Subscription").field("event", name).field("key", key).finish()
            }
            Kind::State { key } => {
                f.debug_struct("Subscription").field("state_handler", key).finish()
            }
            Kind::Sharing { key } => {
                f.debug_struct("Subscription").field("sharing_handler", key).finish()
            }
        }
    }
}
