//! One connection to one URL, shared by every handle that uses it: the tidings `EventSource`,
//! the signals that mirror it, and the handlers to put on it each time it is (re)opened.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use leptos::prelude::*;
use tidings::{CloseReason, ConnectionState, EventSource, Message, Subscription};

use crate::UseEventSourceOptions;

/// Puts one handler on a source; called again for every source the connection opens.
pub(crate) type Attach = Rc<dyn Fn(&EventSource, &Rc<Status>) -> Subscription>;

/// What a connection shows: plain values, each with a trigger that wakes its readers only when
/// it changes.
///
/// Why triggers and not one `ArcRwSignal` per value: reactive_graph compiles its signal code
/// once per value type, a few kilobytes of wasm each, while every trigger shares one type. The
/// status belongs to the connection, not to the component that happened to open it, so a shared
/// connection outlives its first user's owner.
pub(crate) struct Status {
    values: RefCell<Values>,
    state: ArcTrigger,
    last_event_id: ArcTrigger,
    last_error: ArcTrigger,
    reconnects: ArcTrigger,
    last_event_at: ArcTrigger,
}

struct Values {
    state: ConnectionState,
    last_event_id: String,
    last_error: Option<tidings::Error>,
    reconnects: u32,
    last_event_at: Option<f64>,
}

impl Status {
    fn new() -> Self {
        Self {
            values: RefCell::new(Values {
                state: ConnectionState::Connecting { attempt: 0 },
                last_event_id: String::new(),
                last_error: None,
                reconnects: 0,
                last_event_at: None,
            }),
            state: ArcTrigger::new(),
            last_event_id: ArcTrigger::new(),
            last_error: ArcTrigger::new(),
            reconnects: ArcTrigger::new(),
            last_event_at: ArcTrigger::new(),
        }
    }

    /// The state, tracked.
    pub(crate) fn state(&self) -> ConnectionState {
        self.state.track();
        self.values.borrow().state
    }

    /// The last event id, tracked.
    pub(crate) fn last_event_id(&self) -> String {
        self.last_event_id.track();
        self.values.borrow().last_event_id.clone()
    }

    /// The last error, tracked.
    pub(crate) fn last_error(&self) -> Option<tidings::Error> {
        self.last_error.track();
        self.values.borrow().last_error.clone()
    }

    /// The reconnect count, tracked.
    pub(crate) fn reconnects(&self) -> u32 {
        self.reconnects.track();
        self.values.borrow().reconnects
    }

    /// The time of the last event, tracked.
    pub(crate) fn last_event_at(&self) -> Option<f64> {
        self.last_event_at.track();
        self.values.borrow().last_event_at
    }

    /// Changes the values through `change`, then wakes the readers of `trigger`. No borrow is
    /// held while readers are notified.
    fn change(&self, trigger: &ArcTrigger, change: impl FnOnce(&mut Values)) {
        change(&mut self.values.borrow_mut());
        trigger.notify();
    }

    fn set_state(&self, state: ConnectionState) {
        if self.values.borrow().state != state {
            self.change(&self.state, |values| values.state = state);
        }
    }

    fn set_error(&self, error: tidings::Error) {
        self.change(&self.last_error, |values| values.last_error = Some(error));
    }

    /// Notes an event a handler received: the id, the time, or the decode error.
    pub(crate) fn note<T>(&self, received: &Result<Message<T>, tidings::Error>) {
        match received {
            Ok(message) => self.note_message(message),
            Err(error) => self.set_error(error.clone()),
        }
    }

    /// Notes the id and the time of an event a handler received.
    pub(crate) fn note_message<T>(&self, message: &Message<T>) {
        self.note_id(message.last_event_id());
    }

    fn note_id(&self, id: String) {
        if self.values.borrow().last_event_id != id {
            self.change(&self.last_event_id, |values| values.last_event_id = id);
        }
        let now = now_ms();
        self.change(&self.last_event_at, |values| values.last_event_at = Some(now));
    }
}

pub(crate) struct Connection {
    url: String,
    options: UseEventSourceOptions,
    pub(crate) status: Rc<Status>,
    source: RefCell<Option<EventSource>>,
    /// The source's state handler and every handler's subscription on it; dropped before a new
    /// source opens, so nothing piles up across reconnects.
    subscriptions: RefCell<Vec<(u64, Subscription)>>,
    handlers: RefCell<Vec<(u64, Attach)>>,
    next_key: Cell<u64>,
    /// Whether a source of this connection was ever open (to count reconnects).
    was_open: Rc<Cell<bool>>,
}

/// The key under which the state handler is subscribed.
const STATE_KEY: u64 = u64::MAX;

impl Connection {
    pub(crate) fn new(url: &str, options: UseEventSourceOptions) -> Rc<Self> {
        let connection = Rc::new(Self {
            url: url.to_owned(),
            status: Rc::new(Status::new()),
            options,
            source: RefCell::default(),
            subscriptions: RefCell::default(),
            handlers: RefCell::default(),
            next_key: Cell::new(0),
            was_open: Rc::default(),
        });
        if connection.options.is_immediate() {
            connection.open();
        }
        connection
    }

    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// Opens a source unless one is connected or trying to; outside a browser, does nothing.
    pub(crate) fn open(&self) {
        if !cfg!(target_arch = "wasm32") {
            return;
        }
        if self.source.borrow().as_ref().is_some_and(|source| !source.state().is_closed()) {
            return;
        }
        self.drop_source();
        match self.options.builder(&self.url).open() {
            Ok(source) => {
                self.status.set_state(source.state());
                let (status, was_open) = (Rc::clone(&self.status), Rc::clone(&self.was_open));
                let on_state = source.on_state(move |now| {
                    if now.is_open() && was_open.replace(true) {
                        status.change(&status.reconnects, |values| values.reconnects += 1);
                    }
                    status.set_state(now);
                });
                let mut subscriptions = vec![(STATE_KEY, on_state)];
                for (key, attach) in self.handlers.borrow().iter() {
                    subscriptions.push((*key, attach(&source, &self.status)));
                }
                *self.subscriptions.borrow_mut() = subscriptions;
                *self.source.borrow_mut() = Some(source);
            }
            Err(error) => {
                self.status.set_state(ConnectionState::Closed(CloseReason::Fatal { status: None }));
                self.status.set_error(error);
            }
        }
    }

    /// Closes the source for good (until [`open`](Self::open)).
    pub(crate) fn close(&self) {
        let source = self.source.borrow();
        match source.as_ref() {
            Some(source) => source.close(),
            None => self.status.set_state(ConnectionState::Closed(CloseReason::ByUser)),
        }
    }

    /// A new source now, resuming after the last id the handlers saw.
    pub(crate) fn reconnect(&self) {
        self.drop_source();
        self.open();
    }

    /// Registers a handler, and puts it on the current source.
    pub(crate) fn add(&self, attach: Attach) -> u64 {
        let key = self.next_key.get();
        self.next_key.set(key + 1);
        if let Some(source) = self.source.borrow().as_ref() {
            let subscription = attach(source, &self.status);
            self.subscriptions.borrow_mut().push((key, subscription));
        }
        self.handlers.borrow_mut().push((key, attach));
        key
    }

    /// Removes a handler from the registry and from the current source.
    pub(crate) fn remove(&self, key: u64) {
        let removed = {
            let mut subscriptions = self.subscriptions.borrow_mut();
            let index = subscriptions.iter().position(|(k, _)| *k == key);
            index.map(|index| subscriptions.remove(index))
        };
        let handler = {
            let mut handlers = self.handlers.borrow_mut();
            let index = handlers.iter().position(|(k, _)| *k == key);
            index.map(|index| handlers.remove(index))
        };
        drop((removed, handler));
    }

    /// How many handlers are registered.
    #[cfg(test)]
    pub(crate) fn handler_count(&self) -> usize {
        self.handlers.borrow().len()
    }

    fn drop_source(&self) {
        let subscriptions = std::mem::take(&mut *self.subscriptions.borrow_mut());
        let source = self.source.borrow_mut().take();
        drop((subscriptions, source));
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.drop_source();
    }
}

/// Milliseconds since the Unix epoch (0 outside a browser).
fn now_ms() -> f64 {
    #[cfg(target_arch = "wasm32")]
    {
        js_sys::Date::now()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        0.0
    }
}
