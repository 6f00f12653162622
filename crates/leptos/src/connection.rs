//! One connection to one URL, shared by every handle that uses it: the tidings `EventSource`,
//! the signals that mirror it, and the handlers to put on it each time it is (re)opened.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use leptos::prelude::*;
use tidings::{CloseReason, ConnectionState, EventSource, Message, Subscription};

use crate::UseEventSourceOptions;

/// Puts one handler on a source; called again for every source the connection opens.
pub(crate) type Attach = Rc<dyn Fn(&EventSource, &Signals) -> Subscription>;

/// What a connection shows. `Arc` signals: they belong to the connection, not to the component
/// that happened to open it, so a shared connection outlives its first user's owner.
#[derive(Clone)]
pub(crate) struct Signals {
    pub(crate) state: ArcRwSignal<ConnectionState>,
    pub(crate) last_event_id: ArcRwSignal<String>,
    pub(crate) last_error: ArcRwSignal<Option<tidings::Error>>,
    pub(crate) reconnects: ArcRwSignal<u32>,
    pub(crate) last_event_at: ArcRwSignal<Option<f64>>,
}

impl Signals {
    /// Notes an event a handler received: the id, the time, or the decode error.
    pub(crate) fn note<T>(&self, received: &Result<Message<T>, tidings::Error>) {
        match received {
            Ok(message) => self.note_message(message),
            Err(error) => self.last_error.set(Some(error.clone())),
        }
    }

    /// Notes the id and the time of an event a handler received.
    pub(crate) fn note_message<T>(&self, message: &Message<T>) {
        let id = message.last_event_id();
        if self.last_event_id.with_untracked(|last| *last != id) {
            self.last_event_id.set(id);
        }
        self.last_event_at.set(Some(now_ms()));
    }
}

pub(crate) struct Connection {
    url: String,
    options: UseEventSourceOptions,
    pub(crate) signals: Signals,
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
            signals: Signals {
                state: ArcRwSignal::new(ConnectionState::Connecting { attempt: 0 }),
                last_event_id: ArcRwSignal::new(String::new()),
                last_error: ArcRwSignal::new(None),
                reconnects: ArcRwSignal::new(0),
                last_event_at: ArcRwSignal::new(None),
            },
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
                self.signals.state.set(source.state());
                let (state, reconnects, was_open) = (
                    self.signals.state.clone(),
                    self.signals.reconnects.clone(),
                    Rc::clone(&self.was_open),
                );
                let on_state = source.on_state(move |now| {
                    if now.is_open() && was_open.replace(true) {
                        reconnects.update(|count| *count += 1);
                    }
                    state.set(now);
                });
                let mut subscriptions = vec![(STATE_KEY, on_state)];
                for (key, attach) in self.handlers.borrow().iter() {
                    subscriptions.push((*key, attach(&source, &self.signals)));
                }
                *self.subscriptions.borrow_mut() = subscriptions;
                *self.source.borrow_mut() = Some(source);
            }
            Err(error) => {
                self.signals
                    .state
                    .set(ConnectionState::Closed(CloseReason::Fatal { status: None }));
                self.signals.last_error.set(Some(error));
            }
        }
    }

    /// Closes the source for good (until [`open`](Self::open)).
    pub(crate) fn close(&self) {
        let source = self.source.borrow();
        match source.as_ref() {
            Some(source) => source.close(),
            None => self.signals.state.set(ConnectionState::Closed(CloseReason::ByUser)),
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
            let subscription = attach(source, &self.signals);
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
