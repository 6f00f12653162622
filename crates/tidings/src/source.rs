//! The public handle: one value owns the connection; its methods register handlers and read the
//! state, and its `Drop` stops everything.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;

use serde::de::DeserializeOwned;

use crate::decode::{decode, message};
use crate::driver::Shared;
use crate::options::Options;
use crate::registry::{Entry, SharingHandler, StateHandler};
use crate::stream::{MessageStream, StateStream, StreamError};
use crate::subscription::Subscription;
use crate::supervisor::Command;
use crate::{ConnectionState, DecodeError, Error, EventSourceBuilder, Message, Sharing};

/// A connection to a Server-Sent Events stream: the browser's `EventSource`, with typed handlers,
/// a truthful [`ConnectionState`] and a supervisor that re-creates the browser's source when it
/// gives up.
///
/// Handlers live in the `EventSource`, not in the browser's object: when the supervisor or the
/// watchdog re-creates the browser's source, every handler moves to the new one, and the last
/// event id goes with it.
///
/// Not `Clone`: one value owns the connection. Dropping it closes the connection and removes
/// every listener; [`Subscription`]s that outlive it receive nothing more and are harmless.
///
/// # Examples
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
}

impl EventSource {
    /// Opens a connection to `url` (absolute, or relative to the page) with the defaults: the
    /// browser's credentials mode for same-origin requests, the default [`ReconnectPolicy`](crate::ReconnectPolicy)
    /// when the browser gives up, failures classified (`204`, `401`, `403`, `404` stop for
    /// good), no watchdog, no sharing across tabs. [`builder`](Self::builder) sets the rest.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidUrl`] when the browser refuses the URL.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let source = tidings::EventSource::new("/api/events")?;
    /// # drop(source);
    /// # Ok::<(), tidings::Error>(())
    /// ```
    pub fn new(url: impl Into<String>) -> Result<Self, Error> {
        Self::builder(url).open()
    }

    /// Starts building a connection to `url` (absolute, or relative to the page).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let source = tidings::EventSource::builder("/api/events").open()?;
    /// # Ok::<(), tidings::Error>(())
    /// ```
    pub fn builder(url: impl Into<String>) -> EventSourceBuilder {
        EventSourceBuilder::new(url.into())
    }

    pub(crate) fn open(url: &str, options: Options) -> Result<Self, Error> {
        Ok(Self { shared: Shared::open(url, options)? })
    }

    /// Where the connection stands now.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let source = tidings::EventSource::builder("/api/events").open()?;
    /// assert_eq!(source.state(), tidings::ConnectionState::Connecting { attempt: 0 });
    /// # Ok::<(), tidings::Error>(())
    /// ```
    pub fn state(&self) -> ConnectionState {
        self.shared.state()
    }

    /// The URL the connection was opened with, resolved against the page.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let source = tidings::EventSource::builder("https://example.com/events").open()?;
    /// assert_eq!(source.url(), "https://example.com/events");
    /// # Ok::<(), tidings::Error>(())
    /// ```
    pub fn url(&self) -> &str {
        &self.shared.url
    }

    /// The last event id in force: the `id:` of the latest event received that had one (or the
    /// initial id given to the builder), kept across re-created sources; empty when there is
    /// none or the server reset it with an empty `id:`.
    ///
    /// Only events some handler listens to are seen by the page, so the id is that of the
    /// latest event of a name with a handler.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let source = tidings::EventSource::builder("/api/events").last_event_id("1-41").open()?;
    /// assert_eq!(source.last_event_id(), "1-41");
    /// # Ok::<(), tidings::Error>(())
    /// ```
    pub fn last_event_id(&self) -> String {
        self.shared.last_event_id()
    }

    /// When the latest event arrived, in milliseconds since the Unix epoch; `None` before the
    /// first. Like [`last_event_id`](Self::last_event_id), it counts the events of names the page
    /// listens to (a handler's, or the watchdog's heartbeat), across re-created sources.
    ///
    /// Read when asked, from the browser's event (`performance.timeOrigin + event.timeStamp`, the
    /// moment the browser dispatched it): keeping it costs nothing per event.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let source = tidings::EventSource::builder("/api/events").open()?;
    /// let quiet_for = source.last_event_time().map(|at| js_sys::Date::now() - at);
    /// # let _ = quiet_for;
    /// # Ok::<(), tidings::Error>(())
    /// ```
    pub fn last_event_time(&self) -> Option<f64> {
        self.shared.last_event_time()
    }

    /// Calls `handler` with every `T` event, named by the contract ([`tidings_wire::Event::NAME`]).
    ///
    /// The handler receives the decoded event, or a [`DecodeError`] for an event whose data is not
    /// a `T`: the connection stays open either way, and the next event arrives as usual.
    ///
    /// # Examples
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
        handler: impl FnMut(Result<Message<T>, DecodeError>) + 'static,
    ) -> Subscription {
        self.on_named(T::NAME, handler)
    }

    /// Calls `handler` with every unnamed event (sent without an `event:` field, so named
    /// `message`), decoded as JSON into `T`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let source = tidings::EventSource::builder("/api/events").open()?;
    /// let _ticks = source.on_message::<serde_json::Value>(|received| {
    ///     if let Ok(message) = received {
    ///         web_sys::console::log_1(&message.data.to_string().into());
    ///     }
    /// });
    /// # Ok::<(), tidings::Error>(())
    /// ```
    pub fn on_message<T: DeserializeOwned + 'static>(
        &self,
        handler: impl FnMut(Result<Message<T>, DecodeError>) + 'static,
    ) -> Subscription {
        self.on_named(tidings_wire::MESSAGE, handler)
    }

    /// Calls `handler` with every event named `name`, decoded as JSON into `T`.
    ///
    /// For names outside a contract. A server-sent event named `open` or `error` reaches
    /// these handlers; the connection's own `open` and `error` never do (see
    /// [`on_state`](Self::on_state)).
    ///
    /// # Examples
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
        mut handler: impl FnMut(Result<Message<T>, DecodeError>) + 'static,
    ) -> Subscription {
        self.shared.subscribe(name.into(), move |data, arrival| handler(decode(data, arrival)))
    }

    /// Calls `handler` with every event named `name`, its data as the text the server sent (no
    /// decoding, so no error). Multi-line data arrives joined by `\n`, whatever line ends the
    /// server used.
    ///
    /// # Examples
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
        self.shared.subscribe(name.into(), move |data, arrival| {
            handler(message(arrival, data.to_owned()));
        })
    }

    /// The `T` events (named by the contract, [`tidings_wire::Event::NAME`]) as a
    /// [`Stream`](futures_core::Stream) of decoded messages: see [`MessageStream`] for when it
    /// ends and what a reader that falls behind gets.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use futures::StreamExt;
    /// # #[derive(serde::Serialize, serde::Deserialize)] struct Tick { seq: u64 }
    /// # impl tidings_wire::Event for Tick { const NAME: &'static str = "tick"; }
    /// let source = tidings::EventSource::new("/api/events")?;
    /// let mut ticks = source.stream::<Tick>();
    /// wasm_bindgen_futures::spawn_local(async move {
    ///     while let Some(Ok(tick)) = ticks.next().await {
    ///         web_sys::console::log_1(&tick.data.seq.into());
    ///     }
    /// });
    /// # Ok::<(), tidings::Error>(())
    /// ```
    pub fn stream<T: tidings_wire::Event>(&self) -> MessageStream<T> {
        self.stream_named(T::NAME)
    }

    /// The events named `name`, decoded as JSON into `T`, as a [`Stream`](futures_core::Stream)
    /// (for names outside a contract; see [`stream`](Self::stream)).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let source = tidings::EventSource::new("/api/events")?;
    /// let updates = source.stream_named::<serde_json::Value>("legacy-update");
    /// # drop(updates);
    /// # Ok::<(), tidings::Error>(())
    /// ```
    pub fn stream_named<T: DeserializeOwned + 'static>(
        &self,
        name: impl Into<Cow<'static, str>>,
    ) -> MessageStream<T> {
        MessageStream::new(
            |mut push| self.on_named(name, move |received| push(received.map_err(Into::into))),
            |handler| self.on_state(handler),
        )
    }

    /// The events named `name` with their data as the text the server sent, as a
    /// [`Stream`](futures_core::Stream); it never yields [`StreamError::Decode`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let source = tidings::EventSource::new("/api/events")?;
    /// let lines = source.raw_stream("message");
    /// # drop(lines);
    /// # Ok::<(), tidings::Error>(())
    /// ```
    pub fn raw_stream(&self, name: impl Into<Cow<'static, str>>) -> MessageStream<String> {
        MessageStream::new(
            |mut push| self.on_raw(name, move |message| push(Ok::<_, StreamError>(message))),
            |handler| self.on_state(handler),
        )
    }

    /// The changes of [`state`](Self::state) as a [`Stream`](futures_core::Stream), ending with
    /// the closed state (see [`StateStream`]).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let source = tidings::EventSource::new("/api/events")?;
    /// let states = source.state_stream();
    /// # drop(states);
    /// # Ok::<(), tidings::Error>(())
    /// ```
    pub fn state_stream(&self) -> StateStream {
        StateStream::new(|handler| self.on_state(handler))
    }

    /// Calls `handler` with every change of [`state`](Self::state).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let source = tidings::EventSource::builder("/api/events").open()?;
    /// let _states = source.on_state(|state| {
    ///     web_sys::console::log_1(&state.to_string().into());
    /// });
    /// # Ok::<(), tidings::Error>(())
    /// ```
    pub fn on_state(&self, handler: impl FnMut(ConnectionState) + 'static) -> Subscription {
        let key = self.shared.next_key();
        let entry: Rc<Entry<StateHandler>> =
            Rc::new(Entry { key, alive: Cell::new(true), handler: RefCell::new(handler) });
        self.shared.add_state_entry(entry)
    }

    /// Whether this tab leads or follows a connection shared across tabs, and how many tabs
    /// share it (see [`EventSourceBuilder::share_across_tabs`]).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let source = tidings::EventSource::builder("/api/events").open()?;
    /// assert_eq!(source.sharing().role, tidings::TabRole::Alone);
    /// # Ok::<(), tidings::Error>(())
    /// ```
    pub fn sharing(&self) -> Sharing {
        self.shared.sharing()
    }

    /// Calls `handler` with every change of [`sharing`](Self::sharing): this tab taking the
    /// lead, the number of tabs changing.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let source = tidings::EventSource::builder("/api/events").share_across_tabs(true).open()?;
    /// let _sharing = source.on_sharing(|sharing| {
    ///     web_sys::console::log_1(&sharing.to_string().into());
    /// });
    /// # Ok::<(), tidings::Error>(())
    /// ```
    pub fn on_sharing(&self, handler: impl FnMut(Sharing) + 'static) -> Subscription {
        let key = self.shared.next_key();
        let entry: Rc<Entry<SharingHandler>> =
            Rc::new(Entry { key, alive: Cell::new(true), handler: RefCell::new(handler) });
        self.shared.add_sharing_entry(entry)
    }

    /// Closes the connection for good: the browser stops at once, events already queued are
    /// dropped, no retry is made, and the state becomes [`Closed`](ConnectionState::Closed) by
    /// the user. In a tab that shares its connection, only this tab stops: a leader hands the
    /// connection over to another tab.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let source = tidings::EventSource::builder("/api/events").open()?;
    /// source.close();
    /// assert!(source.state().is_closed());
    /// # Ok::<(), tidings::Error>(())
    /// ```
    pub fn close(&self) {
        self.shared.input(|supervisor| {
            supervisor.close_by_user();
            Command::Stop
        });
    }

    /// The answer that made the connection give up, with its status, headers and body: with
    /// the fetch transport ([`EventSourceBuilder::fetch`]), an answer other than `200`, or a
    /// `200` that is not an event stream (whose body is dropped). `None` with the browser's
    /// `EventSource`, which never shows it (the status a probe found is in
    /// [`CloseReason::Fatal`](crate::CloseReason::Fatal)), and while the connection in use has
    /// not failed: after a wait and a new connection it is that one's. Read it once the state is
    /// [`Closed`](ConnectionState::Closed) or
    /// [`Reconnecting`](ConnectionState::Reconnecting).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn f(source: tidings::EventSource) {
    /// if let Some(answer) = source.failed_answer() {
    ///     let status = answer.status();
    ///     let explanation = answer.text().await.unwrap_or_default();
    ///     # let _ = (status, explanation);
    /// }
    /// # }
    /// ```
    pub fn failed_answer(&self) -> Option<crate::FailedAnswer> {
        self.shared.failed_answer()
    }

    /// The browser's `EventSource` in use now, for what this crate does not cover. After the
    /// supervisor re-creates the connection it is another object; after the connection closed
    /// for good it is the last one, closed. `None` in a tab that follows another tab's
    /// connection and never led (see [`EventSourceBuilder::share_across_tabs`]).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let source = tidings::EventSource::builder("/api/events").open()?;
    /// let ready_state = source.as_raw().map(|raw| raw.ready_state());
    /// # Ok::<(), tidings::Error>(())
    /// ```
    pub fn as_raw(&self) -> Option<web_sys::EventSource> {
        self.shared.raw()
    }
}

impl Drop for EventSource {
    fn drop(&mut self) {
        self.shared.stop();
    }
}

impl fmt::Debug for EventSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventSource")
            .field("url", &self.url())
            .field("state", &self.state())
            .field("last_event_id", &self.last_event_id())
            .field("sharing", &self.sharing())
            .finish_non_exhaustive()
    }
}
