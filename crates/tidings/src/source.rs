use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;

use serde::de::DeserializeOwned;
use wasm_bindgen::JsCast;
use web_sys::MessageEvent;

use crate::listener::Listener;
use crate::subscription::Subscription;
use crate::{ConnectionState, DecodeError, Error, EventSourceBuilder, Message};

/// A connection to a Server-Sent Events stream: the browser's `EventSource`, with typed handlers
/// and a truthful [`ConnectionState`].
///
/// Not `Clone`: one value owns the connection. Dropping it closes the connection and removes its
/// own listeners; [`Subscription`]s that outlive it receive nothing more and are harmless.
///
/// ```no_run
/// use tidings::EventSource;
///
/// let source = EventSource::builder("/api/events").open()?;
/// let guard = source.on_named::<serde_json::Value>("comment", |received| {
///     if let Ok(message) = received {
///         web_sys::console::log_1(&message.data.to_string().into());
///     }
/// });
/// drop(source); // closes the connection; `guard` now receives nothing
/// # drop(guard);
/// # Ok::<(), tidings::Error>(())
/// ```
pub struct EventSource {
    shared: Rc<Shared>,
    /// The connection's own `open` and `error` events drive the state.
    _lifecycle: [Listener; 2],
}

/// What the lifecycle listeners and state subscriptions reach through a `Weak`.
pub(crate) struct Shared {
    raw: Rc<web_sys::EventSource>,
    state: Cell<ConnectionState>,
    state_handlers: RefCell<StateHandlers>,
}

type StateHandler = Rc<RefCell<dyn FnMut(ConnectionState)>>;

#[derive(Default)]
struct StateHandlers {
    next_key: u64,
    entries: Vec<(u64, StateHandler)>,
}

impl EventSource {
    /// Starts building a connection to `url` (absolute, or relative to the page).
    ///
    /// ```no_run
    /// let source = tidings::EventSource::builder("/api/events").open()?;
    /// # Ok::<(), tidings::Error>(())
    /// ```
    pub fn builder(url: impl Into<String>) -> EventSourceBuilder {
        EventSourceBuilder::new(url.into())
    }

    pub(crate) fn from_raw(raw: Rc<web_sys::EventSource>) -> Self {
        let shared = Rc::new(Shared {
            raw: Rc::clone(&raw),
            state: Cell::new(ConnectionState::Connecting),
            state_handlers: RefCell::default(),
        });
        let opened = Rc::downgrade(&shared);
        let on_open = Listener::new(&raw, "open", move |event| {
            // A server-sent `event: open` is a MessageEvent for the `open` handlers, not ours.
            if event.is_instance_of::<MessageEvent>() {
                return;
            }
            if let Some(shared) = opened.upgrade() {
                shared.set_state(ConnectionState::Open);
            }
        });
        let failed = Rc::downgrade(&shared);
        let on_error = Listener::new(&raw, "error", move |event| {
            if event.is_instance_of::<MessageEvent>() {
                return;
            }
            if let Some(shared) = failed.upgrade() {
                let retrying = shared.raw.ready_state() == web_sys::EventSource::CONNECTING;
                shared.set_state(shared.state.get().after_error(retrying));
            }
        });
        Self { shared, _lifecycle: [on_open, on_error] }
    }

    /// Where the connection stands now.
    ///
    /// ```no_run
    /// let source = tidings::EventSource::builder("/api/events").open()?;
    /// assert_eq!(source.state(), tidings::ConnectionState::Connecting);
    /// # Ok::<(), tidings::Error>(())
    /// ```
    pub fn state(&self) -> ConnectionState {
        self.shared.state.get()
    }

    /// The URL the connection was opened with, resolved against the page.
    ///
    /// ```no_run
    /// let source = tidings::EventSource::builder("https://example.com/events").open()?;
    /// assert_eq!(source.url(), "https://example.com/events");
    /// # Ok::<(), tidings::Error>(())
    /// ```
    pub fn url(&self) -> String {
        self.shared.raw.url()
    }

    /// Calls `handler` with every `T` event, named by the contract ([`tidings_wire::Event::NAME`]).
    ///
    /// The handler receives the decoded event, or a [`DecodeError`] (inside [`Error`]) for an
    /// event whose data is not a `T`: the connection stays open either way.
    ///
    /// ```no_run
    /// # #[derive(serde::Serialize, serde::Deserialize)] struct Comment { text: String }
    /// # impl tidings_wire::Event for Comment { const NAME: &'static str = "comment"; }
    /// let source = tidings::EventSource::builder("/api/events").open()?;
    /// let _comments = source.on::<Comment>(|received| {
    ///     if let Ok(message) = received {
    ///         web_sys::console::log_1(&message.data.text.into());
    ///     }
    /// });
    /// # Ok::<(), tidings::Error>(())
    /// ```
    pub fn on<T: tidings_wire::Event>(
        &self,
        handler: impl FnMut(Result<Message<T>, Error>) + 'static,
    ) -> Subscription {
        self.on_named(T::NAME, handler)
    }

    /// Calls `handler` with every event named `name`, decoded as JSON into `T`.
    ///
    /// For names outside a contract. A server-sent event named `open` or `error` reaches
    /// these handlers; the connection's own `open` and `error` never do (see
    /// [`on_state`](Self::on_state)).
    ///
    /// ```no_run
    /// let source = tidings::EventSource::builder("/api/events").open()?;
    /// let _any = source.on_named::<serde_json::Value>("legacy-update", |received| {
    ///     let _ = received;
    /// });
    /// # Ok::<(), tidings::Error>(())
    /// ```
    pub fn on_named<T: DeserializeOwned + 'static>(
        &self,
        name: impl Into<Cow<'static, str>>,
        mut handler: impl FnMut(Result<Message<T>, Error>) + 'static,
    ) -> Subscription {
        let listener = Listener::new(&self.shared.raw, name, move |event| {
            if let Some(event) = event.dyn_ref::<MessageEvent>() {
                handler(decode(event));
            }
        });
        Subscription::listener(listener)
    }

    /// Calls `handler` with every event named `name`, its data as the text the server sent (no
    /// decoding, so no error). Multi-line data arrives joined by `\n`, whatever line ends the
    /// server used.
    ///
    /// ```no_run
    /// let source = tidings::EventSource::builder("/api/events").open()?;
    /// let _log = source.on_raw("message", |message| {
    ///     web_sys::console::log_1(&message.data.into());
    /// });
    /// # Ok::<(), tidings::Error>(())
    /// ```
    pub fn on_raw(
        &self,
        name: impl Into<Cow<'static, str>>,
        mut handler: impl FnMut(Message<String>) + 'static,
    ) -> Subscription {
        let listener = Listener::new(&self.shared.raw, name, move |event| {
            if let Some(event) = event.dyn_ref::<MessageEvent>() {
                handler(message(event, text_of(event)));
            }
        });
        Subscription::listener(listener)
    }

    /// Calls `handler` with every change of [`state`](Self::state).
    ///
    /// ```no_run
    /// let source = tidings::EventSource::builder("/api/events").open()?;
    /// let _states = source.on_state(|state| {
    ///     web_sys::console::log_1(&state.to_string().into());
    /// });
    /// # Ok::<(), tidings::Error>(())
    /// ```
    pub fn on_state(&self, handler: impl FnMut(ConnectionState) + 'static) -> Subscription {
        let mut handlers = self.shared.state_handlers.borrow_mut();
        let key = handlers.next_key;
        handlers.next_key += 1;
        handlers.entries.push((key, Rc::new(RefCell::new(handler))));
        Subscription::state(Rc::downgrade(&self.shared), key)
    }

    /// Closes the connection for good: the browser stops at once and drops events already
    /// queued; the state becomes [`Closed`](ConnectionState::Closed) by the user.
    ///
    /// ```no_run
    /// let source = tidings::EventSource::builder("/api/events").open()?;
    /// source.close();
    /// assert!(source.state().is_closed());
    /// # Ok::<(), tidings::Error>(())
    /// ```
    pub fn close(&self) {
        self.shared.raw.close();
        if !self.state().is_closed() {
            self.shared.set_state(ConnectionState::Closed(crate::CloseReason::ByUser));
        }
    }

    /// The browser's `EventSource`, for what this crate does not cover.
    ///
    /// ```no_run
    /// let source = tidings::EventSource::builder("/api/events").open()?;
    /// let ready_state: u16 = source.as_raw().ready_state();
    /// # Ok::<(), tidings::Error>(())
    /// ```
    pub fn as_raw(&self) -> &web_sys::EventSource {
        &self.shared.raw
    }
}

impl Drop for EventSource {
    fn drop(&mut self) {
        self.shared.raw.close();
    }
}

impl fmt::Debug for EventSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventSource")
            .field("url", &self.url())
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

impl Shared {
    /// Records `state` and tells every state handler that is still subscribed.
    ///
    /// Handlers may subscribe, unsubscribe or close the source while they run: the list is
    /// copied first, and a handler already running (re-entered) is skipped.
    fn set_state(&self, state: ConnectionState) {
        self.state.set(state);
        let snapshot = self.state_handlers.borrow().entries.clone();
        for (key, handler) in snapshot {
            let subscribed = self.state_handlers.borrow().entries.iter().any(|(k, _)| *k == key);
            if !subscribed {
                continue;
            }
            if let Ok(mut handler) = handler.try_borrow_mut() {
                handler(state);
            }
        }
    }

    pub(crate) fn remove_state_handler(&self, key: u64) {
        // Take the handler out before it drops, so its Drop may touch `state_handlers` again.
        let removed = {
            let mut handlers = self.state_handlers.borrow_mut();
            let index = handlers.entries.iter().position(|(k, _)| *k == key);
            index.map(|index| handlers.entries.remove(index))
        };
        drop(removed);
    }
}

/// An event's data: always a string for `EventSource`.
fn text_of(event: &MessageEvent) -> String {
    event.data().as_string().unwrap_or_default()
}

fn message<T>(event: &MessageEvent, data: T) -> Message<T> {
    Message {
        data,
        event: event.type_(),
        last_event_id: event.last_event_id(),
        origin: event.origin(),
    }
}

fn decode<T: DeserializeOwned>(event: &MessageEvent) -> Result<Message<T>, Error> {
    let data = text_of(event);
    match serde_json::from_str(&data) {
        Ok(value) => Ok(message(event, value)),
        Err(error) => Err(DecodeError::new(&event.type_(), data, &error).into()),
    }
}
