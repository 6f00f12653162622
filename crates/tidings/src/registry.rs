//! The handler registry: the handlers of each event name and of state changes, kept in
//! copy-on-write lists so a dispatch walks them without a borrow, and marked dead when their
//! subscription drops so a dispatch under way skips them. Plain data: it knows nothing of the
//! browser's source (the driver puts a tap on it per channel).

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;

use web_sys::MessageEvent;

use crate::{ConnectionState, Sharing};

pub(crate) type EventHandler = dyn FnMut(&str, &Arrival);
pub(crate) type StateHandler = dyn FnMut(ConnectionState);
pub(crate) type SharingHandler = dyn FnMut(Sharing);

/// A registered handler; `alive` turns false when its subscription drops, so a dispatch already
/// under way skips it.
pub(crate) struct Entry<F: ?Sized> {
    pub(crate) key: u64,
    pub(crate) alive: Cell<bool>,
    pub(crate) handler: RefCell<F>,
}

pub(crate) type Entries<F> = Rc<[Rc<Entry<F>>]>;

/// Takes the entries of `key` out of `entries` (which becomes a new list without them) and marks
/// them dead. They are returned so that the caller drops them after its borrows end: a handler's
/// captures may reach back into the source when they drop.
pub(crate) fn take_entries<F: ?Sized>(entries: &mut Entries<F>, key: u64) -> Vec<Rc<Entry<F>>> {
    let (removed, kept): (Vec<_>, Vec<_>) =
        entries.iter().cloned().partition(|entry| entry.key == key);
    removed.iter().for_each(|entry| entry.alive.set(false));
    *entries = kept.into();
    removed
}

#[derive(Default)]
pub(crate) struct Handlers {
    next_key: u64,
    /// One channel per handled name (a few names: a list beats a hash map, in code size too).
    pub(crate) events: Vec<Rc<Channel>>,
    /// A copy-on-write list, so a dispatch holds it without a borrow.
    pub(crate) states: Entries<StateHandler>,
    /// The same, for changes of the tab's part in sharing.
    pub(crate) sharing: Entries<SharingHandler>,
    /// The name listened to without a handler (the watchdog's heartbeat).
    pub(crate) pinned: Option<Cow<'static, str>>,
}

/// The handlers of one event name, shared by the registry and the browser's listener, which
/// reaches them without a lookup.
pub(crate) struct Channel {
    pub(crate) name: Cow<'static, str>,
    /// The name as every message of this channel carries it.
    pub(crate) shared_name: Arc<str>,
    /// A copy-on-write list, so a dispatch holds it without a borrow.
    pub(crate) entries: RefCell<Entries<EventHandler>>,
}

impl Channel {
    pub(crate) fn new(name: Cow<'static, str>) -> Rc<Self> {
        Rc::new(Self { shared_name: Arc::from(&*name), name, entries: RefCell::new(Rc::new([])) })
    }
}

/// What every handler of one event gets besides the event.
pub(crate) struct Arrival {
    pub(crate) event: Arc<str>,
    pub(crate) source: Rc<MessageEvent>,
    pub(crate) carried: Arc<str>,
    pub(crate) origin: Arc<str>,
}

impl Handlers {
    /// A key for a new handler, never given before.
    pub(crate) fn new_key(&mut self) -> u64 {
        let key = self.next_key;
        self.next_key += 1;
        key
    }

    pub(crate) fn channel(&self, name: &str) -> Option<&Rc<Channel>> {
        self.events.iter().find(|channel| channel.name == name)
    }

    /// No handler yet; `pinned` (the heartbeat's name) is listened to all the same.
    pub(crate) fn pinning(pinned: Option<Cow<'static, str>>) -> Self {
        let mut handlers = Self::default();
        if let Some(name) = pinned {
            handlers.events.push(Channel::new(name.clone()));
            handlers.pinned = Some(name);
        }
        handlers
    }
}
