//! One connection to one URL, shared by every handle that uses it: the tidings `EventSource`,
//! the status that mirrors it, and the registry of handlers to put on every source it opens.
//!
//! The registry is the only place a handler is kept: under one key, with the handle that
//! registered it (so the handle can move its handlers to another URL) and its subscription on
//! the current source (dropped before the next source opens, so nothing piles up).

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use tidings::{CloseReason, ConnectionState, EventSource, Subscription};

use crate::UseEventSourceOptions;
use crate::status::Status;

/// Puts one handler on a source; called again for every source the connection opens.
pub(crate) type Attach = Rc<dyn Fn(&EventSource, &Rc<Status>) -> Subscription>;

/// A fresh key for a handler or a handle: unique in this thread, never reused.
pub(crate) fn next_key() -> u64 {
    thread_local! {
        static NEXT: Cell<u64> = const { Cell::new(0) };
    }
    NEXT.with(|next| {
        let key = next.get();
        next.set(key + 1);
        key
    })
}

pub(crate) struct Connection {
    url: String,
    options: UseEventSourceOptions,
    status: Rc<Status>,
    source: RefCell<Option<Open>>,
    handlers: RefCell<Vec<Handler>>,
    /// The id to resume after when the next source opens: the options' initial id, then the id
    /// in force when the last source was dropped.
    carried_id: RefCell<String>,
    /// When the last event of an earlier source arrived.
    carried_time: Cell<Option<f64>>,
    /// Whether a source of this connection was ever open (to count reconnects).
    was_open: Rc<Cell<bool>>,
}

/// The source in use and the connection's own subscriptions on it (state, heartbeats).
struct Open {
    source: EventSource,
    _own: Vec<Subscription>,
}

struct Handler {
    key: u64,
    /// The handle that registered it.
    owner: u64,
    attach: Attach,
    /// Its subscription on the current source.
    on_source: Option<Subscription>,
}

impl Connection {
    pub(crate) fn new(url: &str, options: UseEventSourceOptions) -> Rc<Self> {
        let connection = Rc::new(Self {
            url: url.to_owned(),
            status: Rc::new(Status::new()),
            carried_id: RefCell::new(options.initial_last_event_id().to_owned()),
            carried_time: Cell::new(None),
            options,
            source: RefCell::default(),
            handlers: RefCell::default(),
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

    pub(crate) fn options(&self) -> &UseEventSourceOptions {
        &self.options
    }

    pub(crate) fn status(&self) -> &Status {
        &self.status
    }

    /// Whether a source of this connection was opened and not closed by the user since: a
    /// connection that is in use.
    pub(crate) fn is_in_use(&self) -> bool {
        !matches!(
            self.status.state_untracked(),
            ConnectionState::Idle | ConnectionState::Closed(CloseReason::ByUser)
        )
    }

    /// The last event id in force, tracked: the current source's, or the one carried over.
    pub(crate) fn last_event_id(&self) -> String {
        self.status.track_activity();
        match &*self.source.borrow() {
            Some(open) => open.source.last_event_id(),
            None => self.carried_id.borrow().clone(),
        }
    }

    /// The answer the current source gave up on (fetch transport), tracked with the state.
    pub(crate) fn failed_answer(&self) -> Option<tidings::FailedAnswer> {
        let _state = self.status.state();
        self.source.borrow().as_ref()?.source.failed_answer()
    }

    /// When the latest event arrived, tracked.
    pub(crate) fn last_event_time(&self) -> Option<f64> {
        self.status.track_activity();
        let current = self.source.borrow().as_ref().and_then(|open| open.source.last_event_time());
        // A new source has no time until its first event: the last one's stays in force.
        current.or(self.carried_time.get())
    }

    /// Opens a source, resuming after the last id seen, unless one is connected or trying to.
    /// Outside a browser, or with an empty URL (which would be the page itself), it does
    /// nothing: the state stays what it was.
    pub(crate) fn open(&self) {
        if !cfg!(target_arch = "wasm32") || self.url.trim().is_empty() {
            return;
        }
        if self.source.borrow().as_ref().is_some_and(|open| !open.source.state().is_closed()) {
            return;
        }
        self.drop_source();
        let carried = self.carried_id.borrow().clone();
        let source = match self.options.builder(&self.url, &carried).open() {
            Ok(source) => source,
            Err(error) => {
                self.status.set_state(ConnectionState::Closed(CloseReason::Fatal { status: None }));
                self.status.set_error(error);
                return;
            }
        };
        self.status.set_state(source.state());
        let (status, was_open) = (Rc::clone(&self.status), Rc::clone(&self.was_open));
        let mut own = vec![source.on_state(move |now| {
            if now.is_open() && was_open.replace(true) {
                status.count_reconnect();
            }
            status.set_state(now);
        })];
        own.extend(self.options.follow_sharing(&source, &self.status));
        own.extend(self.options.watch_heartbeats(&source, &self.status));
        // Attach outside any borrow of the registry: a handler is free to register another.
        let attaches: Vec<(u64, Attach)> = self
            .handlers
            .borrow()
            .iter()
            .map(|handler| (handler.key, Rc::clone(&handler.attach)))
            .collect();
        let subscriptions: Vec<(u64, Subscription)> = attaches
            .into_iter()
            .map(|(key, attach)| (key, attach(&source, &self.status)))
            .collect();
        for (key, subscription) in subscriptions {
            let mut handlers = self.handlers.borrow_mut();
            if let Some(handler) = handlers.iter_mut().find(|handler| handler.key == key) {
                handler.on_source = Some(subscription);
            }
        }
        *self.source.borrow_mut() = Some(Open { source, _own: own });
    }

    /// Closes the source for good (until [`open`](Self::open)).
    pub(crate) fn close(&self) {
        let source = self.source.borrow();
        match source.as_ref() {
            Some(open) => open.source.close(),
            None => self.status.set_state(ConnectionState::Closed(CloseReason::ByUser)),
        }
    }

    /// A new source now, resuming after the last id seen.
    pub(crate) fn reconnect(&self) {
        self.drop_source();
        self.open();
    }

    /// Registers a handler under `key` for the handle `owner`, and puts it on the current
    /// source.
    pub(crate) fn add(&self, key: u64, owner: u64, attach: Attach) {
        let on_source =
            self.source.borrow().as_ref().map(|open| attach(&open.source, &self.status));
        self.handlers.borrow_mut().push(Handler { key, owner, attach, on_source });
    }

    /// Removes the handler of `key`, from the registry and from the current source.
    pub(crate) fn remove(&self, key: u64) {
        let removed = {
            let mut handlers = self.handlers.borrow_mut();
            let index = handlers.iter().position(|handler| handler.key == key);
            index.map(|index| handlers.remove(index))
        };
        // Dropped outside the borrow: a handler's captures may reach back in when they drop.
        drop(removed);
    }

    /// Removes every handler of the handle `owner` and hands them back (key and attach), to
    /// move to another connection.
    pub(crate) fn take_owned_by(&self, owner: u64) -> Vec<(u64, Attach)> {
        let taken: Vec<Handler> = {
            let mut handlers = self.handlers.borrow_mut();
            let (taken, kept) =
                std::mem::take(&mut *handlers).into_iter().partition(|h| h.owner == owner);
            *handlers = kept;
            taken
        };
        taken.into_iter().map(|handler| (handler.key, handler.attach)).collect()
    }

    /// How many handlers are registered.
    #[cfg(test)]
    pub(crate) fn handler_count(&self) -> usize {
        self.handlers.borrow().len()
    }

    /// Drops the source and every subscription on it, keeping its last id and time.
    fn drop_source(&self) {
        let Some(open) = self.source.borrow_mut().take() else { return };
        *self.carried_id.borrow_mut() = open.source.last_event_id();
        self.carried_time.set(open.source.last_event_time());
        let subscriptions: Vec<Subscription> = self
            .handlers
            .borrow_mut()
            .iter_mut()
            .filter_map(|handler| handler.on_source.take())
            .collect();
        drop((subscriptions, open));
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.drop_source();
    }
}
