use std::rc::Rc;

use leptos::prelude::*;
use tidings::{ConnectionState, Error, EventSource, Message};

use crate::UseEventSourceOptions;
use crate::connection::{Attach, Connection, Status};
use crate::registry::EventSources;

/// A connection as signals and actions, returned by [`use_event_source`]. `Copy`, so every
/// closure in a view can take it.
///
/// The signals follow the connection of the current URL: when the URL signal changes, they
/// read the new connection, and every handler moves to it.
///
/// # Examples
///
/// ```no_run
/// # use leptos::prelude::*;
/// let stream = tidings_leptos::use_event_source("/api/events");
/// let is_open = move || stream.is_open();
/// # let _ = is_open;
/// ```
#[derive(Clone, Copy)]
pub struct UseEventSource {
    inner: StoredValue<Inner, LocalStorage>,
    current: RwSignal<Option<Rc<Connection>>, LocalStorage>,
}

/// What a handle keeps besides its current connection.
struct Inner {
    registry: Option<EventSources>,
    options: UseEventSourceOptions,
    /// The URL of the current connection.
    url: String,
    /// Every handler registered through this handle, to re-register on a URL change.
    handlers: Vec<(u64, Attach)>,
    /// This handle's handlers on the current connection: (handle key, connection key).
    attached: Vec<(u64, u64)>,
    next_key: u64,
}

impl std::fmt::Debug for UseEventSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let url = self.inner.try_with_value(|inner| inner.url.clone());
        f.debug_struct("UseEventSource").field("url", &url).finish_non_exhaustive()
    }
}

/// Opens a Server-Sent Events connection to `url` for the current reactive owner, with the
/// default [`UseEventSourceOptions`].
///
/// `url` may be a plain string or a signal: when it changes, the old connection is released
/// (and closes, unless another user shares it) and a new one opens. When the owner is cleaned
/// up (a component unmounts), its handlers are removed and an unshared connection closes; under
/// [`provide_event_sources`](crate::provide_event_sources), users of the same URL share one
/// connection. Outside a browser (server-side rendering, native tests) nothing is opened and
/// the signals keep their defaults.
///
/// # Examples
///
/// ```no_run
/// # use leptos::prelude::*;
/// let stream = tidings_leptos::use_event_source("/api/events");
/// let state = stream.state();
/// # let _ = state;
/// ```
pub fn use_event_source(url: impl Into<Signal<String>>) -> UseEventSource {
    use_event_source_with_options(url, UseEventSourceOptions::default())
}

/// [`use_event_source`] with options.
///
/// # Examples
///
/// ```no_run
/// # use leptos::prelude::*;
/// use tidings_leptos::{UseEventSourceOptions, use_event_source_with_options};
///
/// let (board, _set_board) = signal("main".to_owned());
/// let url = Signal::derive(move || format!("/boards/{}/events", board.get()));
/// let stream = use_event_source_with_options(url, UseEventSourceOptions::default().immediate(false));
/// stream.open();
/// ```
pub fn use_event_source_with_options(
    url: impl Into<Signal<String>>,
    options: UseEventSourceOptions,
) -> UseEventSource {
    let url = url.into();
    let registry = EventSources::from_context();
    let first = url.get_untracked();
    let connection = match registry {
        Some(registry) => registry.acquire(&first, &options),
        None => Connection::new(&first, options.clone()),
    };
    let handle = UseEventSource {
        inner: StoredValue::new_local(Inner {
            registry,
            options,
            url: first,
            handlers: Vec::new(),
            attached: Vec::new(),
            next_key: 0,
        }),
        current: RwSignal::new_local(Some(connection)),
    };
    Effect::new(move |_| {
        let url = url.get();
        handle.switch_to(url);
    });
    on_cleanup(move || handle.release());
    handle
}

impl UseEventSource {
    /// The connection state: connecting, open, reconnecting (who retries, when), closed (why).
    ///
    /// The read is tracked, like every reader of this handle: inside a reactive closure (a view,
    /// an effect, a memo) the closure runs again when the state changes. For a `Signal`, wrap it:
    /// `Signal::derive(move || stream.state())`. (Readers return values rather than a `Signal`
    /// of each value's type: every such type costs the page kilobytes of wasm.)
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use leptos::prelude::*;
    /// # let stream = tidings_leptos::use_event_source("/api/events");
    /// let label = move || stream.state().to_string();
    /// let state: Signal<tidings::ConnectionState> = Signal::derive(move || stream.state());
    /// # let _ = (label, state);
    /// ```
    pub fn state(&self) -> ConnectionState {
        self.read(Status::state, || ConnectionState::Connecting { attempt: 0 })
    }

    /// Whether events flow (tracked, see [`state`](Self::state)).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use leptos::prelude::*;
    /// # let stream = tidings_leptos::use_event_source("/api/events");
    /// let badge = move || if stream.is_open() { "live" } else { "offline" };
    /// # let _ = badge;
    /// ```
    pub fn is_open(&self) -> bool {
        self.state().is_open()
    }

    /// The last event id a handler of this connection saw, empty until then (tracked, see
    /// [`state`](Self::state)).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use leptos::prelude::*;
    /// # let stream = tidings_leptos::use_event_source("/api/events");
    /// let id = move || stream.last_event_id();
    /// # let _ = id;
    /// ```
    pub fn last_event_id(&self) -> String {
        self.read(Status::last_event_id, String::new)
    }

    /// The most recent error: an invalid URL, or an event whose data did not decode (which
    /// never stops the stream). Tracked, see [`state`](Self::state).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use leptos::prelude::*;
    /// # let stream = tidings_leptos::use_event_source("/api/events");
    /// let problem = move || stream.last_error().map(|error| error.to_string());
    /// # let _ = problem;
    /// ```
    pub fn last_error(&self) -> Option<Error> {
        self.read(Status::last_error, || None)
    }

    /// How many times the connection opened again after it had been open: the reconnects that
    /// worked, by the browser or by the library. Tracked, see [`state`](Self::state).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use leptos::prelude::*;
    /// # let stream = tidings_leptos::use_event_source("/api/events");
    /// let reconnects = move || stream.reconnect_count();
    /// # let _ = reconnects;
    /// ```
    pub fn reconnect_count(&self) -> u32 {
        self.read(Status::reconnects, || 0)
    }

    /// When a handler of this connection last received an event, in milliseconds since the
    /// Unix epoch (`Date.now()`); `None` before the first. Tracked, see [`state`](Self::state).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use leptos::prelude::*;
    /// # let stream = tidings_leptos::use_event_source("/api/events");
    /// let last = move || stream.last_event_time();
    /// # let _ = last;
    /// ```
    pub fn last_event_time(&self) -> Option<f64> {
        self.read(Status::last_event_at, || None)
    }

    /// The URL of the current connection.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # let stream = tidings_leptos::use_event_source("/api/events");
    /// assert_eq!(stream.url(), "/api/events");
    /// ```
    pub fn url(&self) -> String {
        self.inner.try_with_value(|inner| inner.url.clone()).unwrap_or_default()
    }

    /// Opens the connection if it is closed (or was never opened): a shared connection opens
    /// for all its users.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # let stream = tidings_leptos::use_event_source("/api/events");
    /// stream.open();
    /// ```
    pub fn open(&self) {
        self.with_connection(|connection| connection.open());
    }

    /// Closes the connection until [`open`](Self::open) or [`reconnect`](Self::reconnect): a
    /// shared connection closes for all its users.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # let stream = tidings_leptos::use_event_source("/api/events");
    /// stream.close();
    /// ```
    pub fn close(&self) {
        self.with_connection(|connection| connection.close());
    }

    /// Drops the browser's source and opens a new one now.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # let stream = tidings_leptos::use_event_source("/api/events");
    /// stream.reconnect();
    /// ```
    pub fn reconnect(&self) {
        self.with_connection(|connection| connection.reconnect());
    }

    /// Calls `handler` with every `T` event (named by the contract), until the current reactive
    /// owner is cleaned up. The handler survives reconnects and URL changes; a decode error
    /// also reaches [`last_error`](Self::last_error).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use leptos::prelude::*;
    /// # let stream = tidings_leptos::use_event_source("/api/events");
    /// stream.on::<tidings_demo_events::Comment>(|received| {
    ///     if let Ok(message) = received {
    ///         leptos::logging::log!("{} wrote {}", message.data.author, message.data.text);
    ///     }
    /// });
    /// ```
    pub fn on<T: tidings_wire::Event>(
        &self,
        handler: impl FnMut(Result<Message<T>, Error>) + 'static,
    ) {
        let handler = Rc::new(std::cell::RefCell::new(handler));
        let attach: Attach = Rc::new(move |source: &EventSource, status: &Rc<Status>| {
            let (handler, status) = (Rc::clone(&handler), Rc::clone(status));
            source.on::<T>(move |received| {
                status.note(&received);
                if let Ok(mut handler) = handler.try_borrow_mut() {
                    handler(received);
                }
            })
        });
        self.register_for_owner(attach);
    }

    /// Calls `handler` with every event named `name`, its data as the server sent it (no
    /// decoding), until the current reactive owner is cleaned up: for inspectors and logs.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use leptos::prelude::*;
    /// # let stream = tidings_leptos::use_event_source("/api/events");
    /// stream.on_raw("heartbeat", |message| {
    ///     leptos::logging::log!("heartbeat {}", message.data);
    /// });
    /// ```
    pub fn on_raw(
        &self,
        name: impl Into<std::borrow::Cow<'static, str>>,
        handler: impl FnMut(Message<String>) + 'static,
    ) {
        let name = name.into();
        let handler = Rc::new(std::cell::RefCell::new(handler));
        let attach: Attach = Rc::new(move |source: &EventSource, status: &Rc<Status>| {
            let (handler, status) = (Rc::clone(&handler), Rc::clone(status));
            source.on_raw(name.clone(), move |message| {
                status.note_message(&message);
                if let Ok(mut handler) = handler.try_borrow_mut() {
                    handler(message);
                }
            })
        });
        self.register_for_owner(attach);
    }

    /// A signal of the most recent `T` received, `None` until the first one. Its handler lives
    /// as long as the current reactive owner.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use leptos::prelude::*;
    /// # let stream = tidings_leptos::use_event_source("/api/events");
    /// let tick = stream.latest::<tidings_demo_events::Tick>();
    /// let value = move || tick.get().map(|tick| tick.value);
    /// # let _ = value;
    /// ```
    pub fn latest<T>(&self) -> ReadSignal<Option<T>>
    where
        T: tidings_wire::Event + Send + Sync,
    {
        let (value, set_value) = signal(None::<T>);
        self.on::<T>(move |received| {
            if let Ok(message) = received {
                set_value.set(Some(message.data));
            }
        });
        value
    }

    /// A signal of the last `n` `T`s received, oldest first: a bounded history for a feed or a
    /// chart. Its handler lives as long as the current reactive owner.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use leptos::prelude::*;
    /// # let stream = tidings_leptos::use_event_source("/api/events");
    /// let ticks = stream.last_n::<tidings_demo_events::Tick>(60);
    /// let values = move || ticks.get().iter().map(|tick| tick.value).collect::<Vec<_>>();
    /// # let _ = values;
    /// ```
    pub fn last_n<T>(&self, n: usize) -> ReadSignal<Vec<T>>
    where
        T: tidings_wire::Event + Send + Sync,
    {
        let (history, set_history) = signal(Vec::<T>::with_capacity(n));
        self.on::<T>(move |received| {
            if let Ok(message) = received
                && n > 0
            {
                set_history.update(|history| {
                    if history.len() == n {
                        history.remove(0);
                    }
                    history.push(message.data);
                });
            }
        });
        history
    }

    /// A tracked read of the current connection's status (`default` without a connection, or
    /// once the handle's owner is gone).
    fn read<T>(&self, read: fn(&Status) -> T, default: fn() -> T) -> T {
        self.current
            .try_with(|connection| connection.as_ref().map(|connection| read(&connection.status)))
            .flatten()
            .unwrap_or_else(default)
    }

    fn with_connection(&self, act: impl FnOnce(&Connection)) {
        if let Some(Some(connection)) = self.current.try_get_untracked() {
            act(&connection);
        }
    }

    /// Registers a handler for as long as the current reactive owner lives.
    fn register_for_owner(&self, attach: Attach) {
        let key = self.register(attach);
        let handle = *self;
        on_cleanup(move || handle.unregister(key));
    }

    /// Adds a handler to this handle and to its current connection.
    fn register(&self, attach: Attach) -> u64 {
        let connection = self.current.try_get_untracked().flatten();
        self.inner
            .try_update_value(|inner| {
                let key = inner.next_key;
                inner.next_key += 1;
                if let Some(connection) = &connection {
                    inner.attached.push((key, connection.add(Rc::clone(&attach))));
                }
                inner.handlers.push((key, attach));
                key
            })
            .unwrap_or_default()
    }

    fn unregister(&self, key: u64) {
        let connection = self.current.try_get_untracked().flatten();
        let removed = self.inner.try_update_value(|inner| {
            inner.handlers.retain(|(k, _)| *k != key);
            let attached = inner.attached.iter().position(|(k, _)| *k == key);
            attached.map(|index| inner.attached.remove(index).1)
        });
        if let (Some(Some(connection_key)), Some(connection)) = (removed, connection) {
            connection.remove(connection_key);
        }
    }

    /// Moves to the connection of `url` (nothing to do if it is the current one).
    fn switch_to(&self, url: String) {
        let Some(current_url) = self.inner.try_with_value(|inner| inner.url.clone()) else {
            return;
        };
        if url == current_url {
            return;
        }
        self.release();
        let Some((registry, options)) =
            self.inner.try_with_value(|inner| (inner.registry, inner.options.clone()))
        else {
            return;
        };
        let connection = match registry {
            Some(registry) => registry.acquire(&url, &options),
            None => Connection::new(&url, options),
        };
        self.inner.update_value(|inner| {
            inner.url = url;
            inner.attached = inner
                .handlers
                .iter()
                .map(|(key, attach)| (*key, connection.add(Rc::clone(attach))))
                .collect();
        });
        self.current.set(Some(connection));
    }

    /// Lets go of the current connection: this handle's handlers leave it, and it closes
    /// unless others share it.
    fn release(&self) {
        let connection = self.current.try_update_untracked(Option::take).flatten();
        let Some(connection) = connection else { return };
        let registry = self.inner.try_update_value(|inner| {
            for (_, connection_key) in inner.attached.drain(..) {
                connection.remove(connection_key);
            }
            inner.registry
        });
        if let Some(Some(registry)) = registry {
            registry.release(connection.url());
        }
        // Notify readers that the handle has no connection for now.
        self.current.try_update(|_| ());
        drop(connection);
    }
}

#[cfg(test)]
mod tests {
    use any_spawner::Executor;

    use super::*;
    use crate::provide_event_sources;

    /// Effects need an executor; each test thread polls its own local pool.
    fn executor() {
        let _ = Executor::init_futures_executor();
    }

    fn users(url: &str) -> usize {
        EventSources::from_context().map_or(0, |registry| registry.users(url))
    }

    #[test]
    fn handles_of_one_url_share_a_connection_until_the_last_is_cleaned_up() {
        executor();
        let root = Owner::new();
        root.with(|| {
            provide_event_sources();
            let first = Owner::new();
            let second = Owner::new();
            let a = first.with(|| use_event_source("/api/events"));
            let b = second.with(|| use_event_source("/api/events"));
            assert_eq!(users("/api/events"), 2);
            let (ca, cb) = (a.current.get_untracked().unwrap(), b.current.get_untracked().unwrap());
            assert!(Rc::ptr_eq(&ca, &cb), "one connection for both");
            drop((ca, cb));
            first.cleanup();
            assert_eq!(users("/api/events"), 1);
            second.cleanup();
            assert_eq!(users("/api/events"), 0, "closed with its last user");
        });
    }

    #[test]
    fn handlers_leave_the_connection_with_their_owner() {
        executor();
        let root = Owner::new();
        root.with(|| {
            provide_event_sources();
            let stream = use_event_source("/api/events");
            let child = Owner::new();
            child.with(|| {
                let _ = stream.latest::<tidings_demo_events::Tick>();
                stream.on::<tidings_demo_events::Comment>(|_| {});
            });
            let connection = stream.current.get_untracked().unwrap();
            assert_eq!(connection.handler_count(), 2);
            child.cleanup();
            assert_eq!(connection.handler_count(), 0);
        });
    }

    #[test]
    fn without_a_provider_each_handle_has_its_own_connection() {
        executor();
        let root = Owner::new();
        root.with(|| {
            let a = use_event_source("/api/events");
            let b = use_event_source("/api/events");
            let (ca, cb) = (a.current.get_untracked().unwrap(), b.current.get_untracked().unwrap());
            assert!(!Rc::ptr_eq(&ca, &cb));
        });
    }

    #[test]
    fn a_new_url_moves_the_handlers_and_releases_the_old_connection() {
        executor();
        let root = Owner::new();
        root.with(|| {
            provide_event_sources();
            let (url, set_url) = signal("/boards/a/events".to_owned());
            let stream = use_event_source(url);
            stream.on::<tidings_demo_events::TaskCreated>(|_| {});
            Executor::poll_local();
            assert_eq!(users("/boards/a/events"), 1);
            assert_eq!(stream.url(), "/boards/a/events");
            set_url.set("/boards/b/events".to_owned());
            Executor::poll_local();
            assert_eq!(users("/boards/a/events"), 0);
            assert_eq!(users("/boards/b/events"), 1);
            assert_eq!(stream.url(), "/boards/b/events");
            assert_eq!(stream.current.get_untracked().unwrap().handler_count(), 1);
        });
    }

    #[test]
    fn outside_a_browser_the_signals_keep_their_defaults() {
        executor();
        let root = Owner::new();
        root.with(|| {
            let stream = use_event_source("/api/events");
            let tick = stream.latest::<tidings_demo_events::Tick>();
            let ticks = stream.last_n::<tidings_demo_events::Tick>(3);
            assert_eq!(stream.state(), ConnectionState::Connecting { attempt: 0 });
            assert!(!stream.is_open());
            assert_eq!(stream.last_event_id(), "");
            assert_eq!(stream.reconnect_count(), 0);
            assert_eq!(stream.last_event_time(), None);
            assert_eq!(tick.get_untracked(), None);
            assert!(ticks.get_untracked().is_empty());
            // The actions are harmless too.
            stream.open();
            stream.reconnect();
            stream.close();
        });
    }
}
