//! Leading or following: how a driver shares its connection with the other tabs of the origin.
//!
//! Every tab that shares a connection asks for the group's lock (`group.rs`). The one that holds
//! it leads: it has the browser source, its taps relay every event to the channel, and it tells
//! the others its state. The others follow: their handlers get the relayed events (a
//! `MessageEvent` made from the leader's), their state is the leader's, and they say which names
//! they listen to so that the leader listens to them too. Every tab knows every tab's names, so
//! whichever takes the lock next listens to all of them from its first request.
//!
//! Hand-over: when the leader's tab closes, crashes or drops its source, the browser gives the
//! lock to the next tab, which opens the stream after the last id *it* dispatched (it follows
//! every relayed event, handled or not). Another tab may have seen a few events more; each tab
//! drops an event whose id it already dispatched ([`Seen`]), and the new leader does the same for
//! the events its own source replays, until the first new one.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

use gloo_timers::callback::{Interval, Timeout};

use wasm_bindgen::JsValue;
use web_sys::MessageEvent;

use super::Shared;
use crate::group::{Group, Note, Seen};
use crate::registry::Channel;
use crate::supervisor::Supervisor;
use crate::tap::TapState;
use crate::{ConnectionState, Sharing, TabRole};

/// What the driver asks of this module, reached only through this table, which only
/// [`SHARING`] fills and only [`share_across_tabs`](crate::EventSourceBuilder::share_across_tabs)
/// names: a program that never turns sharing on links none of this module, nor `group.rs` and
/// its JavaScript.
#[derive(Debug)]
pub(crate) struct TabsOps {
    /// Whether this browser can share (Web Locks and `BroadcastChannel`, a secure context).
    pub(super) supported: fn() -> bool,
    /// This tab's part, boxed so that its drop is reached only through the box.
    pub(super) new: fn(&str, bool) -> Box<dyn Any>,
    pub(super) join_group: fn(&Shared),
    pub(super) visibility_in_group: fn(&Shared, bool),
    pub(super) hidden_in_group: fn(&Shared),
    pub(super) leave_group: fn(&Shared),
    pub(super) tap_state: fn(&Shared) -> TapState,
    pub(super) is_replayed: fn(&Shared, &MessageEvent) -> bool,
    pub(super) tell_followers: fn(&Shared, ConnectionState),
    pub(super) announce_names: fn(&Shared),
    pub(super) wanted_elsewhere: fn(&Shared, &str) -> bool,
}

/// Sharing across tabs, as the driver reaches it.
pub(crate) static SHARING: TabsOps = TabsOps {
    supported: crate::group::supported,
    new: |url, with_credentials| Box::new(Tabs::new(url, with_credentials)),
    join_group: Shared::join_group,
    visibility_in_group: Shared::visibility_in_group,
    hidden_in_group: Shared::hidden_in_group,
    leave_group: Shared::leave_group,
    tap_state: Shared::tap_state,
    is_replayed: Shared::is_replayed,
    tell_followers: Shared::tell_followers,
    announce_names: Shared::announce_names,
    wanted_elsewhere: Shared::wanted_elsewhere,
};

/// A driver's part in a group of tabs.
pub(super) struct Tabs {
    /// This tab's id in the group's notes (random).
    id: String,
    /// The lock's and the channel's name.
    name: String,
    group: RefCell<Option<Group>>,
    pub(super) role: Cell<TabRole>,
    /// Tabs in the group, this one included, as the lock manager counted them last.
    pub(super) count: Cell<u32>,
    /// The leader's state, as it told it last.
    pub(super) mirrored: Cell<ConnectionState>,
    seen: RefCell<Seen>,
    /// The latest ordered id (`<epoch>-<seq>`, as tidings servers give) this tab dispatched or
    /// started from: an event at or before it is one this tab has (another epoch: none is).
    floor: Cell<Option<tidings_wire::EventId>>,
    /// A new leader's source may replay events the tab dispatched as a follower: true until the
    /// first event that is not one of them.
    catching_up: Cell<bool>,
    /// The id the browser reported for the previous event of this tab's own source (while
    /// catching up): an event that reports the same did not set an id of its own.
    previous_reported: RefCell<String>,
    /// Whether this tab said hello: its names go in the hello first (the leader judges from
    /// them whether it can replay), then in `names` notes.
    greeted: Cell<bool>,
    /// The names each other tab listens to.
    others: RefCell<Vec<(String, Vec<String>)>>,
    /// The other tabs whose page is visible, as they said last.
    visible_others: RefCell<Vec<String>>,
    /// A tab that joined after an id waits for the leader to replay the events since (relayed
    /// events are held back meanwhile); after [`REPLAY_WAIT_MS`] it connects by itself.
    waiting: RefCell<Option<Timeout>>,
    /// Counts the tabs again: shortly after a tab joins or leaves (the lock manager may not
    /// have its request yet), and now and then (a tab that crashed says nothing).
    recounts: RefCell<(Option<Timeout>, Option<Interval>)>,
}

/// How long a leader whose connection ended for good keeps the lock after saying so: the
/// others hear the end before the next tab could take the lock and connect again.
const FINAL_LINGER_MS: u32 = 200;

/// How long after a tab joins or leaves the tabs are counted again.
const RECOUNT_AFTER_MS: u32 = 500;
/// How often the tabs are counted all the same.
const RECOUNT_EVERY_MS: u32 = 5_000;

/// How long a tab that joined after an id waits for the leader's replay before it connects by
/// itself (no leader answered: none yet, or one that is going).
const REPLAY_WAIT_MS: u32 = 2_000;

impl Tabs {
    fn new(url: &str, with_credentials: bool) -> Self {
        Self {
            id: format!("{:016x}", (js_sys::Math::random() * 2f64.powi(53)) as u64),
            name: crate::group::name(url, with_credentials),
            group: RefCell::default(),
            role: Cell::new(TabRole::Follower),
            count: Cell::new(1),
            mirrored: Cell::new(ConnectionState::Connecting { attempt: 0 }),
            seen: RefCell::default(),
            floor: Cell::new(None),
            catching_up: Cell::new(false),
            previous_reported: RefCell::default(),
            greeted: Cell::new(false),
            others: RefCell::default(),
            visible_others: RefCell::default(),
            waiting: RefCell::default(),
            recounts: RefCell::default(),
        }
    }

    /// Whether `id` is at or before the latest ordered id this tab has (and records it as the
    /// latest when it is later).
    fn has(&self, id: &str) -> bool {
        let Ok(id) = id.parse::<tidings_wire::EventId>() else { return false };
        match self.floor.get() {
            Some(floor) if floor.epoch() == id.epoch() && id <= floor => true,
            _ => {
                self.floor.set(Some(id));
                false
            }
        }
    }

    fn post(&self, note: &Note) {
        if let Some(group) = &*self.group.borrow() {
            group.post(note);
        }
    }
}

impl Shared {
    /// Joins the group: waits for the lock as a follower and says hello. A tab with a last id
    /// (an initial one, or one carried from an earlier source) asks the leader for the events
    /// since, and holds back the relayed ones until they come.
    fn join_group(&self) {
        let Some(tabs) = self.tabs() else { return };
        let (lead, event, note) = (self.this.clone(), self.this.clone(), self.this.clone());
        let group = Group::join(
            tabs.name.clone(),
            &tabs.id,
            move || {
                if let Some(shared) = lead.upgrade() {
                    shared.lead();
                }
            },
            move |name, data, id, dispatched, origin, fresh| {
                if let Some(shared) = event.upgrade() {
                    shared.relayed(&name, &data, &id, dispatched, origin, fresh);
                }
            },
            move |value: JsValue| {
                if let (Some(shared), Some(note)) = (note.upgrade(), Note::from_js(&value)) {
                    shared.noted(note);
                }
            },
        );
        let after = self.last_event_id();
        tabs.floor.set(after.parse().ok());
        if !after.is_empty() {
            group.wait(Some(&after));
            let this = self.this.clone();
            let timer = Timeout::new(REPLAY_WAIT_MS, move || {
                if let Some(shared) = this.upgrade() {
                    shared.connect_alone();
                }
            });
            *tabs.waiting.borrow_mut() = Some(timer);
        }
        *tabs.group.borrow_mut() = Some(group);
        // Hello once the code that opened this source has added its handlers (a microtask
        // later, before any event), so that the hello names them.
        let this = self.this.clone();
        wasm_bindgen_futures::spawn_local(async move {
            if let Some(shared) = this.upgrade() {
                shared.say_hello();
            }
        });
        let this = self.this.clone();
        let every = Interval::new(RECOUNT_EVERY_MS, move || {
            if let Some(shared) = this.upgrade() {
                shared.recount();
            }
        });
        tabs.recounts.borrow_mut().1 = Some(every);
        self.recount_now_and_soon();
    }

    /// Tells the group this tab is here, which names it listens to and, when it waits for a
    /// replay, the id it joined after.
    fn say_hello(&self) {
        let Some(tabs) = self.tabs() else { return };
        let after =
            if tabs.waiting.borrow().is_some() { self.last_event_id() } else { String::new() };
        tabs.greeted.set(true);
        tabs.post(&Note::Hello { from: tabs.id.clone(), names: self.local_names(), after });
        self.say_visibility();
    }

    /// Tells the group whether this tab's page is visible.
    fn say_visibility(&self) {
        let Some(tabs) = self.tabs() else { return };
        tabs.post(&Note::Visible { from: tabs.id.clone(), visible: !self.page_hidden() });
    }

    /// The page was hidden or is visible again: the group hears it, and a leader that closed
    /// its connection while every tab was hidden connects again.
    fn visibility_in_group(&self, hidden: bool) {
        let Some(tabs) = self.tabs() else { return };
        if tabs.group.borrow().is_none() {
            // Alone: this tab's own connection follows the policy.
            if !hidden {
                self.input(Supervisor::visible);
            }
            return;
        }
        self.say_visibility();
        if !hidden && tabs.role.get() == TabRole::Leader {
            self.input(Supervisor::visible);
        }
    }

    /// The page has been hidden as long as the policy allows. A leader hands the connection to
    /// a visible tab, or, when every tab is hidden, closes it (every tab reads `Hidden`); a
    /// follower has no connection to close. Alone, the tab closes its own.
    fn hidden_in_group(&self) {
        let Some(tabs) = self.tabs() else { return };
        if tabs.group.borrow().is_none() {
            self.input(Supervisor::hidden);
            return;
        }
        if tabs.role.get() != TabRole::Leader {
            return;
        }
        if tabs.visible_others.borrow().is_empty() {
            self.input(Supervisor::hidden);
        } else {
            self.step_back();
        }
    }

    /// A hidden leader hands its connection over and follows the tab that takes it: it closes
    /// its source, gives the lock back, and asks for it again (at the back of the queue),
    /// holding events back until the new leader replays those after its last id.
    fn step_back(&self) {
        let Some(tabs) = self.tabs() else { return };
        self.suspend();
        drop(self.online.borrow_mut().take());
        self.supervisor.borrow_mut().handed_over();
        self.leave_group();
        tabs.role.set(TabRole::Follower);
        tabs.mirrored.set(ConnectionState::Connecting { attempt: 0 });
        self.join_group();
        self.notify_sharing();
    }

    /// Stops waiting for a replay; true when this tab was waiting.
    fn stop_waiting(&self) -> bool {
        let Some(tabs) = self.tabs() else { return false };
        let timer = tabs.waiting.borrow_mut().take();
        if let Some(group) = &*tabs.group.borrow() {
            group.wait(None);
        }
        timer.is_some()
    }

    /// Gives up sharing and opens a connection of this tab's own, after its last id: the
    /// leader could not replay the events since (too old for its history), or none answered.
    fn connect_alone(&self) {
        self.stop_waiting();
        if self.state().is_closed() {
            return;
        }
        let before = self.state();
        self.leave_group();
        if self.hidden_past_policy() {
            // Alone now, and hidden too long to connect: wait until the page is visible.
            self.input(Supervisor::hidden);
            return;
        }
        self.open_source(before);
    }

    /// Leaves the group, if in one: a leader hands the lock over, a follower stops waiting.
    fn leave_group(&self) {
        let Some(tabs) = self.tabs() else { return };
        let group = tabs.group.borrow_mut().take();
        let Some(group) = group else { return };
        group.post(&Note::Leave { from: tabs.id.clone() });
        let ended = matches!(
            self.supervisor.borrow().state(),
            ConnectionState::Closed(reason) if reason != crate::CloseReason::ByUser
        );
        if tabs.role.get() == TabRole::Leader && ended {
            group.linger(FINAL_LINGER_MS);
        }
        drop(group);
        let timers = tabs.recounts.take();
        let waiting = tabs.waiting.take();
        drop((timers, waiting));
        tabs.role.set(TabRole::Alone);
        tabs.count.set(1);
        self.notify_sharing();
    }

    /// The lock is this tab's: open the browser source after the last id this tab dispatched,
    /// listening to every tab's names.
    fn lead(&self) {
        let Some(tabs) = self.tabs() else { return };
        if tabs.group.borrow().is_none() || self.state().is_closed() {
            return;
        }
        // Its own source resumes after its own id: what was held back comes again.
        self.stop_waiting();
        if self.hidden_past_policy() && !tabs.visible_others.borrow().is_empty() {
            // Hidden too long to hold the connection, and a visible tab can.
            self.step_back();
            return;
        }
        let before = self.state();
        tabs.role.set(TabRole::Leader);
        let start = self.last_event_id();
        if let Some(group) = &*tabs.group.borrow() {
            group.lead(&start);
        }
        tabs.catching_up.set(!start.is_empty());
        tabs.previous_reported.borrow_mut().clear();
        tabs.post(&Note::Lead { from: tabs.id.clone() });
        self.sync_channels();
        if self.hidden_past_policy() {
            // Every tab is hidden: hold the lock without a connection until one is visible.
            self.supervisor.borrow_mut().handed_over();
            self.input(Supervisor::hidden);
        } else {
            self.open_source(before);
        }
        self.notify_sharing();
        self.recount_now_and_soon();
    }

    /// Opens this tab's browser source after the last id it dispatched, and tells the state
    /// handlers (and followers) of the change from `before`.
    fn open_source(&self, before: ConnectionState) {
        *self.carried.borrow_mut() = self.last_event_id().into();
        self.carried_time.set(self.last_event_time());
        *self.latest.borrow_mut() = None;
        match self.connect(&self.carried.borrow().clone()) {
            Ok(raw) => {
                self.attach(raw);
                self.watch();
                let now = self.state();
                if now != before {
                    self.notify(now);
                } else {
                    self.tell_followers(now);
                }
            }
            Err(_) => self.input(Supervisor::cannot_recreate),
        }
    }

    /// The taps' shared state for a new browser source: relaying in a leader.
    fn tap_state(&self) -> TapState {
        match self.tabs() {
            Some(tabs) if tabs.role.get() == TabRole::Leader => match &*tabs.group.borrow() {
                Some(group) => TapState::relaying(group.handle(), &self.carried.borrow()),
                None => TapState::new(),
            },
            _ => TapState::new(),
        }
    }

    /// Whether an event of this tab's own source is one it dispatched already, as a follower,
    /// before it took the lead (checked until the first new event).
    fn is_replayed(&self, event: &MessageEvent) -> bool {
        let Some(tabs) = self.tabs() else { return false };
        if !tabs.catching_up.get() {
            return false;
        }
        let reported = event.last_event_id();
        // An event that did not set an id of its own (a heartbeat, say) is never a repeat.
        if *tabs.previous_reported.borrow() == reported {
            return false;
        }
        reported.clone_into(&mut tabs.previous_reported.borrow_mut());
        let carried = self.carried.borrow();
        let id = crate::last_id::in_force(&reported, &carried);
        if tabs.seen.borrow().contains(id) || tabs.has(id) {
            return true;
        }
        tabs.catching_up.set(false);
        false
    }

    /// An event the leader relayed: dispatched as a local source would, once. (`fresh`: the
    /// event set a new id; one without an `id:` line keeps the previous and is never a repeat.)
    fn relayed(
        &self,
        name: &str,
        data: &str,
        id: &str,
        event: MessageEvent,
        origin: String,
        fresh: bool,
    ) {
        let Some(tabs) = self.tabs() else { return };
        // A leader's own source resumed after its own id: a late relay is one it has.
        if tabs.role.get() != TabRole::Follower {
            return;
        }
        if fresh && (tabs.has(id) || !tabs.seen.borrow_mut().first_time(id)) {
            return;
        }
        let channel = self.handlers.borrow().channel(name).map(Rc::clone);
        match channel {
            Some(channel) => self.dispatch(&channel, data, event, Some(origin)),
            // Not handled here, but its id counts: this tab resumes after it if it leads next.
            None => drop(self.remember(event)),
        }
    }

    fn noted(&self, note: Note) {
        let Some(tabs) = self.tabs() else { return };
        let leads = tabs.role.get() == TabRole::Leader;
        match note {
            Note::Hello { from, names, after } => {
                // Known before this tab listens to them too: the history has their events.
                let known = {
                    let handlers = self.handlers.borrow();
                    names.iter().all(|name| handlers.channel(name).is_some())
                };
                self.set_names(from.clone(), names);
                tabs.post(&Note::Names { from: tabs.id.clone(), names: self.local_names() });
                if leads {
                    tabs.post(&Note::State { from: tabs.id.clone(), state: self.state() });
                    if !after.is_empty()
                        && let Some(group) = &*tabs.group.borrow()
                    {
                        group.replay(&after, &from, &self.last_event_id(), known);
                    }
                }
                self.say_visibility();
                self.recount_now_and_soon();
            }
            Note::Replayed { found, .. } => {
                if self.stop_waiting() && !found {
                    self.connect_alone();
                }
            }
            Note::Names { from, names } => self.set_names(from, names),
            Note::Visible { from, visible } => {
                tabs.visible_others.borrow_mut().retain(|tab| *tab != from);
                if visible {
                    tabs.visible_others.borrow_mut().push(from);
                    // Closed while every tab was hidden: the visible tab takes it.
                    if leads && self.state() == ConnectionState::Hidden {
                        self.step_back();
                    }
                }
            }
            Note::Leave { from } => {
                tabs.visible_others.borrow_mut().retain(|tab| *tab != from);
                tabs.others.borrow_mut().retain(|(tab, _)| *tab != from);
                if leads {
                    self.sync_channels();
                }
                self.recount_now_and_soon();
            }
            Note::Lead { .. } => {
                // A hello made while the lock changed hands may have gone unanswered.
                if tabs.waiting.borrow().is_some() {
                    self.say_hello();
                }
                self.recount_now_and_soon();
            }
            Note::State { state, .. } => {
                if tabs.role.get() == TabRole::Follower {
                    self.mirror(state);
                }
            }
        }
    }

    fn set_names(&self, from: String, names: Vec<String>) {
        let Some(tabs) = self.tabs() else { return };
        {
            let mut others = tabs.others.borrow_mut();
            match others.iter_mut().find(|(tab, _)| *tab == from) {
                Some((_, known)) => *known = names,
                None => others.push((from, names)),
            }
        }
        if tabs.role.get() == TabRole::Leader {
            self.sync_channels();
        }
    }

    /// A follower takes the leader's state as its own. When the leader's connection is over for
    /// good (204, a fatal answer, the attempt limit), so is this tab's: it leaves the group.
    fn mirror(&self, state: ConnectionState) {
        let Some(tabs) = self.tabs() else { return };
        let before = self.state();
        tabs.mirrored.set(state);
        if let ConnectionState::Closed(reason) = state {
            self.supervisor.borrow_mut().closed_elsewhere(reason);
        }
        if state != before {
            self.notify(state);
        }
        if state.is_closed() {
            self.stop();
        }
    }

    /// A leader tells the other tabs its state (all but its own `close`, which hands over).
    fn tell_followers(&self, state: ConnectionState) {
        let Some(tabs) = self.tabs() else { return };
        if tabs.role.get() == TabRole::Leader
            && state != ConnectionState::Closed(crate::CloseReason::ByUser)
        {
            tabs.post(&Note::State { from: tabs.id.clone(), state });
        }
    }

    /// Tells the other tabs the names this tab listens to, after they changed.
    fn announce_names(&self) {
        let Some(tabs) = self.tabs() else { return };
        if !tabs.greeted.get() {
            return;
        }
        tabs.post(&Note::Names { from: tabs.id.clone(), names: self.local_names() });
    }

    /// The names this tab's handlers listen to (not the heartbeat's, nor the other tabs').
    fn local_names(&self) -> Vec<String> {
        let handlers = self.handlers.borrow();
        handlers
            .events
            .iter()
            .filter(|channel| !channel.entries.borrow().is_empty())
            .map(|channel| channel.name.to_string())
            .collect()
    }

    /// Whether another tab listens to `name` and this tab leads (so it must listen too).
    fn wanted_elsewhere(&self, name: &str) -> bool {
        let Some(tabs) = self.tabs() else { return false };
        tabs.role.get() == TabRole::Leader
            && tabs.others.borrow().iter().any(|(_, names)| names.iter().any(|n| n == name))
    }

    /// A leader listens to every name some tab listens to, and to no other.
    fn sync_channels(&self) {
        let Some(tabs) = self.tabs() else { return };
        let wanted: Vec<String> = {
            let others = tabs.others.borrow();
            let mut wanted: Vec<String> = others.iter().flat_map(|(_, n)| n.clone()).collect();
            wanted.sort_unstable();
            wanted.dedup();
            wanted
        };
        // Names another tab wants that have no channel here: a channel without handlers.
        let added: Vec<Rc<Channel>> = {
            let mut handlers = self.handlers.borrow_mut();
            let missing: Vec<String> =
                wanted.into_iter().filter(|name| handlers.channel(name).is_none()).collect();
            missing
                .into_iter()
                .map(|name| {
                    let channel = Channel::new(name.into());
                    handlers.events.push(Rc::clone(&channel));
                    channel
                })
                .collect()
        };
        {
            let mut connection = self.connection.borrow_mut();
            if let Some(connection) = connection.as_mut() {
                for channel in added {
                    let dispatcher = self.dispatcher(connection, channel);
                    connection.dispatchers.push(dispatcher);
                }
            }
        }
        // Channels nobody wants any more.
        let unused: Vec<String> = {
            let handlers = self.handlers.borrow();
            handlers
                .events
                .iter()
                .filter(|channel| channel.entries.borrow().is_empty())
                .filter(|channel| handlers.pinned.as_deref() != Some(&*channel.name))
                .map(|channel| channel.name.to_string())
                .filter(|name| !self.wanted_elsewhere(name))
                .collect()
        };
        if unused.is_empty() {
            return;
        }
        self.handlers
            .borrow_mut()
            .events
            .retain(|channel| !unused.contains(&channel.name.to_string()));
        let removed: Vec<_> = {
            let mut connection = self.connection.borrow_mut();
            match connection.as_mut() {
                Some(connection) => {
                    let (gone, kept) = std::mem::take(&mut connection.dispatchers)
                        .into_iter()
                        .partition(|tap| unused.iter().any(|name| name == tap.name()));
                    connection.dispatchers = kept;
                    gone
                }
                None => Vec::new(),
            }
        };
        drop(removed);
    }

    /// Counts the tabs now and again shortly: the lock manager may not have a request made a
    /// moment ago in another tab yet.
    fn recount_now_and_soon(&self) {
        let Some(tabs) = self.tabs() else { return };
        if tabs.group.borrow().is_none() {
            return;
        }
        self.recount();
        let this = self.this.clone();
        let soon = Timeout::new(RECOUNT_AFTER_MS, move || {
            if let Some(shared) = this.upgrade() {
                shared.recount();
            }
        });
        let replaced = tabs.recounts.borrow_mut().0.replace(soon);
        drop(replaced);
    }

    /// Asks the lock manager how many tabs are in the group, and tells the sharing handlers
    /// when the answer arrives.
    fn recount(&self) {
        let Some(tabs) = self.tabs() else { return };
        let Some(count) = tabs.group.borrow().as_ref().map(Group::count) else { return };
        let this = self.this.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let Ok(count) = wasm_bindgen_futures::JsFuture::from(count).await else { return };
            let Some(shared) = this.upgrade() else { return };
            let Some(tabs) = shared.tabs() else { return };
            let count = count.as_f64().map_or(1, |count| count.max(1.0) as u32);
            if tabs.group.borrow().is_some() && tabs.count.replace(count) != count {
                shared.notify_sharing();
            }
        });
    }

    fn notify_sharing(&self) {
        let sharing: Sharing = self.sharing();
        let entries = Rc::clone(&self.handlers.borrow().sharing);
        for entry in entries.iter() {
            if entry.alive.get()
                && let Ok(mut handler) = entry.handler.try_borrow_mut()
            {
                handler(sharing);
            }
        }
    }
}
