//! What a connection shows its readers: plain values, each with a trigger that wakes the
//! reactive closures that read it.
//!
//! Why triggers and not one `ArcRwSignal` per value: reactive_graph compiles its signal code
//! once per value type, a few kilobytes of wasm each, while every trigger shares one type.
//!
//! The last event id and time are not stored here at all: the connection reads them from its
//! source when asked (the browser makes a new string at every read of `lastEventId`, which would
//! cost every event as much as decoding it). An event only wakes their readers.

use std::cell::RefCell;
use std::rc::Rc;

use leptos::prelude::*;
use tidings::{ConnectionState, Sharing, TabRole};

use crate::batch::Deferred;

pub(crate) struct Status {
    values: RefCell<Values>,
    state: ArcTrigger,
    last_error: ArcTrigger,
    reconnects: ArcTrigger,
    sharing: ArcTrigger,
    /// Woken after every batch of events: the readers of the last id and time.
    activity: ArcTrigger,
    activity_deferred: Rc<Deferred>,
}

struct Values {
    state: ConnectionState,
    last_error: Option<crate::Error>,
    reconnects: u32,
    sharing: Sharing,
}

impl Status {
    pub(crate) fn new() -> Self {
        let activity = ArcTrigger::new();
        let woken = activity.clone();
        Self {
            values: RefCell::new(Values {
                state: ConnectionState::Idle,
                last_error: None,
                reconnects: 0,
                sharing: Sharing { role: TabRole::Alone, tabs: 1 },
            }),
            state: ArcTrigger::new(),
            last_error: ArcTrigger::new(),
            reconnects: ArcTrigger::new(),
            sharing: ArcTrigger::new(),
            activity,
            activity_deferred: Deferred::new(move || woken.notify()),
        }
    }

    /// The state, tracked.
    pub(crate) fn state(&self) -> ConnectionState {
        self.state.track();
        self.values.borrow().state
    }

    /// The state, not tracked.
    pub(crate) fn state_untracked(&self) -> ConnectionState {
        self.values.borrow().state
    }

    /// The last error, tracked.
    pub(crate) fn last_error(&self) -> Option<crate::Error> {
        self.last_error.track();
        self.values.borrow().last_error.clone()
    }

    /// The reconnect count, tracked.
    pub(crate) fn reconnects(&self) -> u32 {
        self.reconnects.track();
        self.values.borrow().reconnects
    }

    /// This tab's part in sharing the connection, tracked.
    pub(crate) fn sharing(&self) -> Sharing {
        self.sharing.track();
        self.values.borrow().sharing
    }

    pub(crate) fn set_sharing(&self, sharing: Sharing) {
        if self.values.borrow().sharing != sharing {
            self.values.borrow_mut().sharing = sharing;
            self.sharing.notify();
        }
    }

    /// Subscribes the running reactive closure to every event.
    pub(crate) fn track_activity(&self) {
        self.activity.track();
    }

    /// An event arrived: wakes the readers of the last id and time after this batch of events.
    pub(crate) fn note_activity(&self) {
        self.activity_deferred.mark();
    }

    pub(crate) fn set_state(&self, state: ConnectionState) {
        if self.values.borrow().state != state {
            self.values.borrow_mut().state = state;
            self.state.notify();
        }
    }

    pub(crate) fn set_error(&self, error: impl Into<crate::Error>) {
        self.values.borrow_mut().last_error = Some(error.into());
        self.last_error.notify();
    }

    pub(crate) fn count_reconnect(&self) {
        self.values.borrow_mut().reconnects += 1;
        self.reconnects.notify();
    }
}
