use std::borrow::Cow;
use std::collections::VecDeque;
use std::rc::Rc;

use leptos::prelude::*;
use serde::de::DeserializeOwned;
use tidings::{ConnectionState, DecodeError, EventSource, FailedAnswer, Message, Sharing};

use crate::Error;

use crate::UseEventSourceOptions;
use crate::batch::Deferred;
use crate::connection::{Attach, Connection, next_key};
use crate::registry::EventSources;
use crate::status::Status;
use crate::url::{EventSourceUrl, Opener};

/// A connection as tracked readers and actions, returned by [`use_event_source`]. `Copy`, so
/// every closure in a view can take it.
///
/// The readers follow the connection of the current URL: when the URL signal changes, they
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
}

/// What a handle keeps. Its handlers are in the connection's registry, under this handle's key.
struct Inner {
    key: u64,
    registry: Option<EventSources>,
    /// The URL of the current connection.
    url: String,
    /// The current connection: none once the handle is released.
    connection: Option<Rc<Connection>>,
    /// Notified when the handle moves to another connection, or lets go of its own: every
    /// reader tracks it besides the value it reads.
    moved: ArcTrigger,
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
/// `url` is text (fixed) or a signal of a `String` (see [`EventSourceUrl`]): when a signal
/// changes, the old connection is released (and closes, unless another user shares it) and one
/// to the new URL opens, if the old one was open or trying to be (or if the options say
/// `immediate`); it starts without the options' initial id, which belongs to the first URL. An
/// empty URL opens nothing (the state stays [`Idle`](ConnectionState::Idle)): it would be the
/// page itself. When the owner is cleaned up (a component unmounts), its handlers are removed
/// and an unshared connection closes; under [`provide_event_sources`](crate::provide_event_sources),
/// users of the same URL share one connection. Outside a browser (server-side rendering, native
/// tests) nothing is opened and the readers keep their defaults: the state reads
/// [`Idle`](ConnectionState::Idle).
///
/// # Examples
///
/// ```no_run
/// # use leptos::prelude::*;
/// let stream = tidings_leptos::use_event_source("/api/events");
/// let state = stream.state();
/// # let _ = state;
/// ```
pub fn use_event_source(url: impl EventSourceUrl) -> UseEventSource {
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
    url: impl EventSourceUrl,
    options: UseEventSourceOptions,
) -> UseEventSource {
    url.open_with(Open(options))
}

/// Opens a handle with these options on whichever kind of URL it is given.
struct Open(UseEventSourceOptions);

impl Opener for Open {
    type Opened = UseEventSource;

    fn fixed(self, url: String) -> UseEventSource {
        UseEventSource::fixed(url, self.0)
    }

    fn following(self, url: Signal<String>) -> UseEventSource {
        UseEventSource::following(url, self.0)
    }
}

fn acquire(
    registry: Option<EventSources>,
    url: &str,
    options: UseEventSourceOptions,
) -> Rc<Connection> {
    match registry {
        Some(registry) => registry.acquire(url, &options),
        None => Connection::new(url, options),
    }
}

impl UseEventSource {
    /// A handle on a fixed URL, released when the current owner is cleaned up.
    fn fixed(url: String, options: UseEventSourceOptions) -> Self {
        let registry = EventSources::from_context();
        let connection = acquire(registry, &url, options);
        let inner = Inner {
            key: next_key(),
            registry,
            url,
            connection: Some(connection),
            moved: ArcTrigger::new(),
        };
        let handle = UseEventSource { inner: StoredValue::new_local(inner) };
        on_cleanup(move || drop(handle.release()));
        handle
    }

    /// A handle that follows the URL signal `url` (see [`switch_to`](Self::switch_to)).
    fn following(url: Signal<String>, options: UseEventSourceOptions) -> Self {
        let handle = Self::fixed(url.get_untracked(), options);
        Effect::new(move |_| {
            let url = url.get();
            handle.switch_to(url);
        });
        handle
    }

    /// The connection state: idle (not opened yet), connecting, open, reconnecting (who
    /// retries, when), closed (why).
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
    /// let state: Signal<tidings_leptos::ConnectionState> = Signal::derive(move || stream.state());
    /// # let _ = (label, state);
    /// ```
    pub fn state(&self) -> ConnectionState {
        self.read(|connection| connection.status().state(), || ConnectionState::Idle)
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

    /// The last event id in force: that of the latest event a handler of this connection saw,
    /// kept across reconnects; before any, the
    /// [initial id](UseEventSourceOptions::last_event_id), or empty. Tracked, see
    /// [`state`](Self::state): a reader runs again after every event, and only then reads the
    /// id from the browser, so an event costs nothing here unless somebody reads it.
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
        self.read(Connection::last_event_id, String::new)
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
        self.read(|connection| connection.status().last_error(), || None)
    }

    /// The answer the connection gave up on, with its status, headers and body, when the fetch
    /// transport read one ([`UseEventSourceOptions::fetch`]); see
    /// [`tidings::EventSource::failed_answer`]. Tracked with [`state`](Self::state).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use leptos::prelude::*;
    /// # let stream = tidings_leptos::use_event_source("/api/events");
    /// let challenge = move || stream.failed_answer()?.header("WWW-Authenticate");
    /// # let _ = challenge;
    /// ```
    pub fn failed_answer(&self) -> Option<FailedAnswer> {
        self.read(Connection::failed_answer, || None)
    }

    /// How many times the connection opened again after it had been open: the reconnects that
    /// worked, by the browser, by the library or by [`open`](Self::open) after
    /// [`close`](Self::close). Tracked, see [`state`](Self::state).
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
        self.read(|connection| connection.status().reconnects(), || 0)
    }

    /// When the latest event of this connection arrived (one a handler listens to, or a
    /// heartbeat the watchdog listens to), in milliseconds since the Unix epoch; `None` before
    /// the first. Read from the browser's event when asked (see
    /// [`tidings::EventSource::last_event_time`]). Tracked, see [`state`](Self::state).
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
        self.read(Connection::last_event_time, || None)
    }

    /// Whether this tab leads or follows a connection shared across tabs, and how many tabs
    /// share it ([`UseEventSourceOptions::share_across_tabs`]); `not shared` otherwise. Tracked,
    /// see [`state`](Self::state).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use leptos::prelude::*;
    /// # let stream = tidings_leptos::use_event_source("/api/events");
    /// let role = move || stream.sharing().to_string();
    /// # let _ = role;
    /// ```
    pub fn sharing(&self) -> Sharing {
        self.read(
            |connection| connection.status().sharing(),
            || Sharing { role: tidings::TabRole::Alone, tabs: 1 },
        )
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

    /// Opens the connection if it is closed or was never opened, resuming after the last event
    /// id seen (the [initial id](UseEventSourceOptions::last_event_id) before any): nothing sent
    /// while it was closed is lost, and nothing is sent twice. A shared connection opens for
    /// all its users.
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

    /// Drops the browser's source and opens a new one now, resuming after the last event id
    /// seen, as [`open`](Self::open) does.
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
    /// #[derive(serde::Serialize, serde::Deserialize)]
    /// struct Comment {
    ///     author: String,
    ///     text: String,
    /// }
    /// impl tidings_leptos::Event for Comment {
    ///     const NAME: &'static str = "comment";
    /// }
    ///
    /// # let stream = tidings_leptos::use_event_source("/api/events");
    /// stream.on::<Comment>(|received| {
    ///     if let Ok(message) = received {
    ///         leptos::logging::log!("{} wrote {}", message.data.author, message.data.text);
    ///     }
    /// });
    /// ```
    pub fn on<T: tidings_wire::Event>(
        &self,
        handler: impl FnMut(Result<Message<T>, DecodeError>) + 'static,
    ) {
        self.on_named(T::NAME, handler);
    }

    /// Calls `handler` with every event named `name`, decoded as JSON into `T`, until the
    /// current reactive owner is cleaned up: for streams whose types are not in a tidings
    /// contract (a third party's, say). As [`on`](Self::on) otherwise.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use leptos::prelude::*;
    /// #[derive(serde::Deserialize)]
    /// struct Price {
    ///     symbol: String,
    ///     cents: u64,
    /// }
    ///
    /// # let stream = tidings_leptos::use_event_source("https://prices.example.com/stream");
    /// stream.on_named::<Price>("price", |received| {
    ///     if let Ok(message) = received {
    ///         leptos::logging::log!("{} at {}", message.data.symbol, message.data.cents);
    ///     }
    /// });
    /// ```
    pub fn on_named<T: DeserializeOwned + 'static>(
        &self,
        name: impl Into<Cow<'static, str>>,
        handler: impl FnMut(Result<Message<T>, DecodeError>) + 'static,
    ) {
        let name = name.into();
        let handler = Rc::new(std::cell::RefCell::new(handler));
        let attach: Attach = Rc::new(move |source: &EventSource, status: &Rc<Status>| {
            let (handler, status) = (Rc::clone(&handler), Rc::clone(status));
            source.on_named::<T>(name.clone(), move |received| {
                status.note_activity();
                if let Err(error) = &received {
                    status.set_error(error.clone());
                }
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
        name: impl Into<Cow<'static, str>>,
        handler: impl FnMut(Message<String>) + 'static,
    ) {
        let name = name.into();
        let handler = Rc::new(std::cell::RefCell::new(handler));
        let attach: Attach = Rc::new(move |source: &EventSource, status: &Rc<Status>| {
            let (handler, status) = (Rc::clone(&handler), Rc::clone(status));
            source.on_raw(name.clone(), move |message| {
                status.note_activity();
                if let Ok(mut handler) = handler.try_borrow_mut() {
                    handler(message);
                }
            })
        });
        self.register_for_owner(attach);
    }

    /// A signal of the most recent `T` received, `None` until the first one. Its handler lives
    /// as long as the current reactive owner. The signal is local to this thread, so `T` need
    /// not be `Send` or `Sync`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use leptos::prelude::*;
    /// #[derive(Clone, serde::Serialize, serde::Deserialize)]
    /// struct Tick {
    ///     value: f64,
    /// }
    /// impl tidings_leptos::Event for Tick {
    ///     const NAME: &'static str = "tick";
    /// }
    ///
    /// # let stream = tidings_leptos::use_event_source("/api/events");
    /// let tick = stream.latest::<Tick>();
    /// let value = move || tick.get().map(|tick| tick.value);
    /// # let _ = value;
    /// ```
    pub fn latest<T: tidings_wire::Event>(&self) -> ReadSignal<Option<T>, LocalStorage> {
        let (value, set_value) = signal_local(None::<T>);
        let wake = Deferred::new(move || set_value.notify());
        self.on::<T>(move |received| {
            if let Ok(message) = received {
                set_value.try_update_untracked(|value| *value = Some(message.data));
                wake.mark();
            }
        });
        value
    }

    /// A signal of the last `n` `T`s received, oldest first: a bounded history for a feed or a
    /// chart. Its handler lives as long as the current reactive owner; each event costs one
    /// push (and one pop once `n` are kept), never a shift of the whole history. Local to this
    /// thread, like [`latest`](Self::latest).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use leptos::prelude::*;
    /// #[derive(Clone, serde::Serialize, serde::Deserialize)]
    /// struct Tick {
    ///     value: f64,
    /// }
    /// impl tidings_leptos::Event for Tick {
    ///     const NAME: &'static str = "tick";
    /// }
    ///
    /// # let stream = tidings_leptos::use_event_source("/api/events");
    /// let ticks = stream.last_n::<Tick>(60);
    /// let values = move || ticks.with(|ticks| ticks.iter().map(|tick| tick.value).collect::<Vec<_>>());
    /// # let _ = values;
    /// ```
    pub fn last_n<T: tidings_wire::Event>(
        &self,
        n: usize,
    ) -> ReadSignal<VecDeque<T>, LocalStorage> {
        let (history, set_history) = signal_local(VecDeque::<T>::with_capacity(n));
        let wake = Deferred::new(move || set_history.notify());
        self.on::<T>(move |received| {
            if let Ok(message) = received
                && n > 0
            {
                set_history.try_update_untracked(|history| push_bounded(history, n, message.data));
                wake.mark();
            }
        });
        history
    }

    /// A tracked read of the current connection (`default` without one, or once the handle's
    /// owner is gone).
    fn read<T>(&self, read: fn(&Connection) -> T, default: fn() -> T) -> T {
        let connection = self.inner.try_with_value(|inner| {
            inner.moved.track();
            inner.connection.clone()
        });
        connection.flatten().as_deref().map_or_else(default, read)
    }

    /// The current connection, untracked.
    fn connection(&self) -> Option<Rc<Connection>> {
        self.inner.try_with_value(|inner| inner.connection.clone()).flatten()
    }

    fn with_connection(&self, act: impl FnOnce(&Connection)) {
        if let Some(connection) = self.connection() {
            act(&connection);
        }
    }

    /// Registers a handler on the current connection for as long as the current reactive owner
    /// lives.
    fn register_for_owner(&self, attach: Attach) {
        let Some(owner) = self.inner.try_with_value(|inner| inner.key) else { return };
        let key = next_key();
        if let Some(connection) = self.connection() {
            connection.add(key, owner, attach);
        }
        let handle = *self;
        on_cleanup(move || {
            if let Some(connection) = handle.connection() {
                connection.remove(key);
            }
        });
    }

    /// Moves to the connection of `url` (nothing to do if it is the current one), with every
    /// handler of this handle.
    fn switch_to(&self, url: String) {
        let Some((key, registry, current_url)) =
            self.inner.try_with_value(|inner| (inner.key, inner.registry, inner.url.clone()))
        else {
            return;
        };
        if url == current_url {
            return;
        }
        // The options are the current connection's (a handle always has one until released).
        let Some(current) = self.connection() else { return };
        let in_use = current.is_in_use();
        let options = current.options().clone();
        drop(current);
        let moving = self.release();
        // The initial id belongs to the first URL (a snapshot's id is of that stream).
        let options = options.last_event_id("");
        let connection = acquire(registry, &url, options);
        if in_use {
            // A handle that was connected stays connected, `immediate` or not.
            connection.open();
        }
        for (handler, attach) in moving {
            connection.add(handler, key, attach);
        }
        let moved = self.inner.try_update_value(|inner| {
            inner.url = url;
            inner.connection = Some(connection);
            inner.moved.clone()
        });
        // Readers run again outside the borrow.
        if let Some(moved) = moved {
            moved.notify();
        }
    }

    /// Lets go of the current connection: this handle's handlers leave it (they are returned),
    /// and it closes unless others share it.
    fn release(&self) -> Vec<(u64, Attach)> {
        let taken = self.inner.try_update_value(|inner| {
            let connection = inner.connection.take()?;
            Some((connection, inner.key, inner.registry, inner.moved.clone()))
        });
        let Some((connection, key, registry, moved)) = taken.flatten() else { return Vec::new() };
        let handlers = connection.take_owned_by(key);
        if let Some(registry) = registry {
            registry.release(&connection);
        }
        // Readers see that the handle has no connection for now.
        moved.notify();
        handlers
    }
}

/// Appends `value`, dropping the oldest first when `n` are kept already.
fn push_bounded<T>(history: &mut VecDeque<T>, n: usize, value: T) {
    if n == 0 {
        return;
    }
    if history.len() >= n {
        history.pop_front();
    }
    history.push_back(value);
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
            let (ca, cb) = (a.connection().unwrap(), b.connection().unwrap());
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
            let connection = stream.connection().unwrap();
            assert_eq!(connection.handler_count(), 2);
            stream.on::<tidings_demo_events::Typing>(|_| {});
            assert_eq!(connection.handler_count(), 3, "the stream's own owner's handler");
            child.cleanup();
            assert_eq!(connection.handler_count(), 1, "only the child's left");
        });
    }

    #[test]
    fn without_a_provider_each_handle_has_its_own_connection() {
        executor();
        let root = Owner::new();
        root.with(|| {
            let a = use_event_source("/api/events");
            let b = use_event_source("/api/events");
            let (ca, cb) = (a.connection().unwrap(), b.connection().unwrap());
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
            let options = UseEventSourceOptions::default().last_event_id("7-41");
            let stream = use_event_source_with_options(url, options);
            stream.on::<tidings_demo_events::TaskCreated>(|_| {});
            Executor::poll_local();
            assert_eq!(users("/boards/a/events"), 1);
            let first = stream.connection().unwrap();
            assert_eq!(first.options().initial_last_event_id(), "7-41");
            assert_eq!(stream.url(), "/boards/a/events");
            set_url.set("/boards/b/events".to_owned());
            Executor::poll_local();
            assert_eq!(users("/boards/a/events"), 0);
            assert_eq!(users("/boards/b/events"), 1);
            assert_eq!(stream.url(), "/boards/b/events");
            let moved = stream.connection().unwrap();
            assert_eq!(moved.handler_count(), 1);
            assert_eq!(moved.options().initial_last_event_id(), "", "the id was the first URL's");
        });
    }

    #[test]
    fn readers_run_again_and_read_the_new_connection_when_the_url_changes() {
        executor();
        let root = Owner::new();
        root.with(|| {
            let (url, set_url) = signal("/boards/a/events".to_owned());
            let options = UseEventSourceOptions::default().last_event_id("7-41");
            let stream = use_event_source_with_options(url, options);
            let seen = Rc::new(std::cell::RefCell::new(Vec::<String>::new()));
            let sink = Rc::clone(&seen);
            Effect::new(move |_| sink.borrow_mut().push(stream.last_event_id()));
            Executor::poll_local();
            assert_eq!(*seen.borrow(), ["7-41"]);
            set_url.set("/boards/b/events".to_owned());
            Executor::poll_local();
            // The new connection starts without the first URL's id.
            assert_eq!(seen.borrow().last().map(String::as_str), Some(""));
        });
    }

    #[test]
    fn other_options_on_a_shared_url_get_a_connection_of_their_own() {
        executor();
        let root = Owner::new();
        root.with(|| {
            provide_event_sources();
            let plain = UseEventSourceOptions::default();
            let watched = plain.clone().heartbeat_timeout(Some(std::time::Duration::from_secs(9)));
            let a = use_event_source_with_options("/api/events", plain.clone());
            let b = use_event_source_with_options("/api/events", watched.clone());
            let c = use_event_source_with_options("/api/events", plain);
            let d = use_event_source_with_options("/api/events", watched);
            let [ca, cb, cc, cd] = [a, b, c, d].map(|handle| handle.connection().unwrap());
            assert!(!Rc::ptr_eq(&ca, &cb), "other options, another connection");
            assert!(Rc::ptr_eq(&ca, &cc) && Rc::ptr_eq(&cb, &cd), "equal options share");
            let registry = EventSources::from_context().unwrap();
            assert_eq!(registry.connections("/api/events"), 2);
            assert_eq!(users("/api/events"), 4);
        });
    }

    #[test]
    fn a_handle_moves_only_its_own_handlers_to_a_new_url() {
        executor();
        let root = Owner::new();
        root.with(|| {
            provide_event_sources();
            let (url, set_url) = signal("/boards/a/events".to_owned());
            let moving = use_event_source(url);
            let staying = use_event_source("/boards/a/events");
            moving.on::<tidings_demo_events::TaskCreated>(|_| {});
            moving.on::<tidings_demo_events::TaskMoved>(|_| {});
            staying.on::<tidings_demo_events::TaskDeleted>(|_| {});
            Executor::poll_local();
            let old = staying.connection().unwrap();
            assert_eq!(old.handler_count(), 3);
            set_url.set("/boards/b/events".to_owned());
            Executor::poll_local();
            assert_eq!(old.handler_count(), 1, "the other handle's handler stays");
            assert_eq!(moving.connection().unwrap().handler_count(), 2);
            assert_eq!(users("/boards/a/events"), 1);
        });
    }

    #[test]
    fn a_bounded_history_keeps_the_newest_n_oldest_first() {
        let mut history = VecDeque::new();
        for value in 1..=5 {
            push_bounded(&mut history, 3, value);
        }
        assert_eq!(history, [3, 4, 5]);
        let mut nothing = VecDeque::new();
        push_bounded(&mut nothing, 0, 1);
        assert!(nothing.is_empty());
    }

    #[test]
    fn outside_a_browser_the_signals_keep_their_defaults() {
        executor();
        let root = Owner::new();
        root.with(|| {
            let stream = use_event_source("/api/events");
            let tick = stream.latest::<tidings_demo_events::Tick>();
            let ticks = stream.last_n::<tidings_demo_events::Tick>(3);
            assert_eq!(stream.state(), ConnectionState::Idle, "nothing connects here");
            assert!(!stream.is_open());
            assert_eq!(stream.last_event_id(), "");
            assert_eq!(stream.reconnect_count(), 0);
            assert_eq!(stream.last_event_time(), None);
            assert_eq!(tick.get_untracked(), None);
            assert!(ticks.get_untracked().is_empty());
            // The actions are harmless too.
            stream.open();
            stream.reconnect();
            assert_eq!(stream.state(), ConnectionState::Idle);
            stream.close();
            assert_eq!(stream.state(), ConnectionState::Closed(tidings::CloseReason::ByUser));
        });
    }
}
