//! Leading or following: how a driver shares its connection with the other tabs of the origin.
//!
//! Every tab that shares a connection asks for the group's lock (`group.rs`). The one that holds
//! it leads: it has the connection, its taps relay every event to the channel, and it tells the
//! others its state. The others follow: their handlers get the relayed events (a `MessageEvent`
//! made from the leader's), their state is the leader's, and they say which names they listen
//! to so that the leader listens to them too. Every tab knows every tab's names, so whichever
//! takes the lock next listens to all of them from its first request.
//!
//! Hand-over: when the leader's tab closes, crashes or drops its source, the browser gives the
//! lock to the next tab, which opens the stream after the last id *it* dispatched (it follows
//! every relayed event, handled or not). Another tab may have seen a few events more; each tab
//! drops an event whose id it already dispatched ([`Seen`]), and the new leader does the same for
//! the events its own source replays, until the first new one.
//!
//! This module owns a tab's part ([`Tabs`]); the driver asks of it only what [`TabPart`] says,
//! and it asks of the driver only the driver's `pub(crate)` methods.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use gloo_timers::callback::{Interval, Timeout};

use wasm_bindgen::JsValue;
use web_sys::MessageEvent;

use crate::driver::{Shared, TabPart, TabsEntry};
use crate::group::{Group, Note, Seen};
use crate::supervisor::Supervisor;
use crate::tap::TapState;
use crate::{ConnectionState, Sharing, TabRole};

/// Sharing across tabs, as the driver reaches it: named only by
/// [`share_across_tabs`](crate::EventSourceBuilder::share_across_tabs), so that a program that
/// never turns sharing on links none of this module, nor `group.rs` and its JavaScript.
pub(crate) static SHARING: TabsEntry = TabsEntry {
    supported: crate::group::supported,
    new: |url, with_credentials| Tabs::new(url, with_credentials),
};

/// A driver's part in a group of tabs.
struct Tabs {
    this: Weak<Tabs>,
    /// This tab's id in the group's notes (random).
    id: String,
    /// The lock's and the channel's name.
    name: String,
    group: RefCell<Option<Group>>,
    role: Cell<TabRole>,
    /// Tabs in the group, this one included, as the lock manager counted them last.
    count: Cell<u32>,
    /// The leader's state, as it told it last.
    mirrored: Cell<ConnectionState>,
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
    fn new(url: &str, with_credentials: bool) -> Rc<Self> {
        Rc::new_cyclic(|this| Self {
            this: this.clone(),
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
        })
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

    /// A callback's way back to this part and its driver, while both live.
    fn reach(&self, host: &Shared) -> Reach {
        Reach { tabs: self.this.clone(), host: host.weak() }
    }

    /// Joins the group: waits for the lock as a follower and says hello. A tab with a last id
    /// (an initial one, or one carried from an earlier source) asks the leader for the events
    /// since, and holds back the relayed ones until they come.
    fn join_group(&self, host: &Shared) {
        let reach = self.reach(host);
        let (lead, event, note) = (reach.clone(), reach.clone(), reach.clone());
        let group = Group::join(
            self.name.clone(),
            &self.id,
            move || {
                if let Some((tabs, host)) = lead.get() {
                    tabs.lead(&host);
                }
            },
            move |name, data, id, dispatched, origin, fresh| {
                if let Some((tabs, host)) = event.get() {
                    tabs.relayed(&host, &name, &data, &id, dispatched, origin, fresh);
                }
            },
            move |value: JsValue| {
                if let (Some((tabs, host)), Some(note)) = (note.get(), Note::from_js(&value)) {
                    tabs.noted(&host, note);
                }
            },
        );
        let after = host.last_event_id();
        self.floor.set(after.parse().ok());
        if !after.is_empty() {
            group.wait(Some(&after));
            let reach = reach.clone();
            let timer = Timeout::new(REPLAY_WAIT_MS, move || {
                if let Some((tabs, host)) = reach.get() {
                    tabs.connect_alone(&host);
                }
            });
            *self.waiting.borrow_mut() = Some(timer);
        }
        *self.group.borrow_mut() = Some(group);
        // Hello once the code that opened this source has added its handlers (a microtask
        // later, before any event), so that the hello names them.
        let hello = reach.clone();
        wasm_bindgen_futures::spawn_local(async move {
            if let Some((tabs, host)) = hello.get() {
                tabs.say_hello(&host);
            }
        });
        let every = Interval::new(RECOUNT_EVERY_MS, move || {
            if let Some((tabs, host)) = reach.get() {
                tabs.recount(&host);
            }
        });
        self.recounts.borrow_mut().1 = Some(every);
        self.recount_now_and_soon(host);
    }

    /// Tells the group this tab is here, which names it listens to and, when it waits for a
    /// replay, the id it joined after.
    fn say_hello(&self, host: &Shared) {
        let after =
            if self.waiting.borrow().is_some() { host.last_event_id() } else { String::new() };
        self.greeted.set(true);
        self.post(&Note::Hello { from: self.id.clone(), names: host.local_names(), after });
        self.say_visibility(host);
    }

    /// Tells the group whether this tab's page is visible.
    fn say_visibility(&self, host: &Shared) {
        self.post(&Note::Visible { from: self.id.clone(), visible: !host.page_hidden() });
    }

    /// A hidden leader hands its connection over and follows the tab that takes it: it closes
    /// its source, gives the lock back, and asks for it again (at the back of the queue),
    /// holding events back until the new leader replays those after its last id.
    fn step_back(&self, host: &Shared) {
        host.hand_over();
        self.leave_group(host);
        self.role.set(TabRole::Follower);
        self.mirrored.set(ConnectionState::Connecting { attempt: 0 });
        self.join_group(host);
        host.notify_sharing();
    }

    /// Stops waiting for a replay; true when this tab was waiting.
    fn stop_waiting(&self) -> bool {
        let timer = self.waiting.borrow_mut().take();
        if let Some(group) = &*self.group.borrow() {
            group.wait(None);
        }
        timer.is_some()
    }

    /// Gives up sharing and opens a connection of this tab's own, after its last id: the
    /// leader could not replay the events since (too old for its history), or none answered.
    fn connect_alone(&self, host: &Shared) {
        self.stop_waiting();
        if host.state().is_closed() {
            return;
        }
        let before = host.state();
        self.leave_group(host);
        if host.hidden_past_policy() {
            // Alone now, and hidden too long to connect: wait until the page is visible.
            host.input(Supervisor::hidden);
            return;
        }
        host.connect_after_last_id(before);
    }

    /// Leaves the group, if in one: a leader hands the lock over, a follower stops waiting.
    fn leave_group(&self, host: &Shared) {
        let group = self.group.borrow_mut().take();
        let Some(group) = group else { return };
        group.post(&Note::Leave { from: self.id.clone() });
        let ended = matches!(
            host.own_state(),
            ConnectionState::Closed(reason) if reason != crate::CloseReason::ByUser
        );
        if self.role.get() == TabRole::Leader && ended {
            group.linger(FINAL_LINGER_MS);
        }
        drop(group);
        let timers = self.recounts.take();
        let waiting = self.waiting.take();
        drop((timers, waiting));
        self.role.set(TabRole::Alone);
        self.count.set(1);
        host.notify_sharing();
    }

    /// The lock is this tab's: open the connection after the last id this tab dispatched,
    /// listening to every tab's names.
    fn lead(&self, host: &Shared) {
        if self.group.borrow().is_none() || host.state().is_closed() {
            return;
        }
        // Its own source resumes after its own id: what was held back comes again.
        self.stop_waiting();
        if host.hidden_past_policy() && !self.visible_others.borrow().is_empty() {
            // Hidden too long to hold the connection, and a visible tab can.
            self.step_back(host);
            return;
        }
        let before = host.state();
        self.role.set(TabRole::Leader);
        let start = host.last_event_id();
        if let Some(group) = &*self.group.borrow() {
            group.lead(&start);
        }
        self.catching_up.set(!start.is_empty());
        self.previous_reported.borrow_mut().clear();
        self.post(&Note::Lead { from: self.id.clone() });
        self.sync_channels(host);
        if host.hidden_past_policy() {
            // Every tab is hidden: hold the lock without a connection until one is visible.
            host.lead_hidden();
        } else {
            host.connect_after_last_id(before);
        }
        host.notify_sharing();
        self.recount_now_and_soon(host);
    }

    /// An event the leader relayed: dispatched as a local source would, once. (`fresh`: the
    /// event set a new id; one without an `id:` line keeps the previous and is never a repeat.)
    #[allow(clippy::too_many_arguments)]
    fn relayed(
        &self,
        host: &Shared,
        name: &str,
        data: &str,
        id: &str,
        event: MessageEvent,
        origin: String,
        fresh: bool,
    ) {
        // A leader's own source resumed after its own id: a late relay is one it has.
        if self.role.get() != TabRole::Follower {
            return;
        }
        if fresh && (self.has(id) || !self.seen.borrow_mut().first_time(id)) {
            return;
        }
        host.dispatch_relayed(name, data, event, origin);
    }

    fn noted(&self, host: &Shared, note: Note) {
        let leads = self.role.get() == TabRole::Leader;
        match note {
            Note::Hello { from, names, after } => {
                // Known before this tab listens to them too: the history has their events.
                let known = names.iter().all(|name| host.handles(name));
                self.set_names(host, from.clone(), names);
                self.post(&Note::Names { from: self.id.clone(), names: host.local_names() });
                if leads {
                    self.post(&Note::State { from: self.id.clone(), state: host.state() });
                    if !after.is_empty()
                        && let Some(group) = &*self.group.borrow()
                    {
                        group.replay(&after, &from, &host.last_event_id(), known);
                    }
                }
                self.say_visibility(host);
                self.recount_now_and_soon(host);
            }
            Note::Replayed { found, .. } => {
                if self.stop_waiting() && !found {
                    self.connect_alone(host);
                }
            }
            Note::Names { from, names } => self.set_names(host, from, names),
            Note::Visible { from, visible } => {
                self.visible_others.borrow_mut().retain(|tab| *tab != from);
                if visible {
                    self.visible_others.borrow_mut().push(from);
                    // Closed while every tab was hidden: the visible tab takes it.
                    if leads && host.state() == ConnectionState::Hidden {
                        self.step_back(host);
                    }
                }
            }
            Note::Leave { from } => {
                self.visible_others.borrow_mut().retain(|tab| *tab != from);
                self.others.borrow_mut().retain(|(tab, _)| *tab != from);
                if leads {
                    self.sync_channels(host);
                }
                self.recount_now_and_soon(host);
            }
            Note::Lead { .. } => {
                // A hello made while the lock changed hands may have gone unanswered.
                if self.waiting.borrow().is_some() {
                    self.say_hello(host);
                }
                self.recount_now_and_soon(host);
            }
            Note::State { state, .. } => {
                if self.role.get() == TabRole::Follower {
                    self.mirror(host, state);
                }
            }
        }
    }

    fn set_names(&self, host: &Shared, from: String, names: Vec<String>) {
        {
            let mut others = self.others.borrow_mut();
            match others.iter_mut().find(|(tab, _)| *tab == from) {
                Some((_, known)) => *known = names,
                None => others.push((from, names)),
            }
        }
        if self.role.get() == TabRole::Leader {
            self.sync_channels(host);
        }
    }

    /// A follower takes the leader's state as its own.
    fn mirror(&self, host: &Shared, state: ConnectionState) {
        let before = host.state();
        self.mirrored.set(state);
        host.leader_state_changed(before, state);
    }

    /// A leader listens to every name some tab listens to, and to no other.
    fn sync_channels(&self, host: &Shared) {
        let wanted: Vec<String> = {
            let others = self.others.borrow();
            let mut wanted: Vec<String> = others.iter().flat_map(|(_, n)| n.clone()).collect();
            wanted.sort_unstable();
            wanted.dedup();
            wanted
        };
        host.listen_to(&wanted);
    }

    /// Counts the tabs now and again shortly: the lock manager may not have a request made a
    /// moment ago in another tab yet.
    fn recount_now_and_soon(&self, host: &Shared) {
        if self.group.borrow().is_none() {
            return;
        }
        self.recount(host);
        let reach = self.reach(host);
        let soon = Timeout::new(RECOUNT_AFTER_MS, move || {
            if let Some((tabs, host)) = reach.get() {
                tabs.recount(&host);
            }
        });
        let replaced = self.recounts.borrow_mut().0.replace(soon);
        drop(replaced);
    }

    /// Asks the lock manager how many tabs are in the group, and tells the sharing handlers
    /// when the answer arrives.
    fn recount(&self, host: &Shared) {
        let Some(count) = self.group.borrow().as_ref().map(Group::count) else { return };
        let reach = self.reach(host);
        wasm_bindgen_futures::spawn_local(async move {
            let Ok(count) = wasm_bindgen_futures::JsFuture::from(count).await else { return };
            let Some((tabs, host)) = reach.get() else { return };
            let count = count.as_f64().map_or(1, |count| count.max(1.0) as u32);
            if tabs.group.borrow().is_some() && tabs.count.replace(count) != count {
                host.notify_sharing();
            }
        });
    }
}

impl TabPart for Tabs {
    fn join(&self, host: &Shared) {
        self.join_group(host);
    }

    /// The page was hidden or is visible again: the group hears it, and a leader that closed
    /// its connection while every tab was hidden connects again.
    fn visibility_changed(&self, host: &Shared, hidden: bool) {
        if self.group.borrow().is_none() {
            // Alone: this tab's own connection follows the policy.
            if !hidden {
                host.input(Supervisor::visible);
            }
            return;
        }
        self.say_visibility(host);
        if !hidden && self.role.get() == TabRole::Leader {
            host.input(Supervisor::visible);
        }
    }

    /// The page has been hidden as long as the policy allows. A leader hands the connection to
    /// a visible tab, or, when every tab is hidden, closes it (every tab reads `Hidden`); a
    /// follower has no connection to close. Alone, the tab closes its own.
    fn hidden_long(&self, host: &Shared) {
        if self.group.borrow().is_none() {
            host.input(Supervisor::hidden);
            return;
        }
        if self.role.get() != TabRole::Leader {
            return;
        }
        if self.visible_others.borrow().is_empty() {
            host.input(Supervisor::hidden);
        } else {
            self.step_back(host);
        }
    }

    fn leave(&self, host: &Shared) {
        self.leave_group(host);
    }

    /// Taps that relay in a leader.
    fn tap_state(&self, carried: &str) -> TapState {
        match &*self.group.borrow() {
            Some(group) if self.role.get() == TabRole::Leader => {
                TapState::relaying(group.handle(), carried)
            }
            _ => TapState::new(),
        }
    }

    /// Checked until the first new event.
    fn is_replayed(&self, event: &MessageEvent, carried: &str) -> bool {
        if !self.catching_up.get() {
            return false;
        }
        let reported = event.last_event_id();
        // An event that did not set an id of its own (a heartbeat, say) is never a repeat.
        if *self.previous_reported.borrow() == reported {
            return false;
        }
        reported.clone_into(&mut self.previous_reported.borrow_mut());
        let id = crate::last_id::in_force(&reported, carried);
        if self.seen.borrow().contains(id) || self.has(id) {
            return true;
        }
        self.catching_up.set(false);
        false
    }

    /// All but the leader's own `close`, which hands over.
    fn tell_followers(&self, state: ConnectionState) {
        if self.role.get() == TabRole::Leader
            && state != ConnectionState::Closed(crate::CloseReason::ByUser)
        {
            self.post(&Note::State { from: self.id.clone(), state });
        }
    }

    fn announce_names(&self, host: &Shared) {
        if !self.greeted.get() {
            return;
        }
        self.post(&Note::Names { from: self.id.clone(), names: host.local_names() });
    }

    fn wanted_elsewhere(&self, name: &str) -> bool {
        self.role.get() == TabRole::Leader
            && self.others.borrow().iter().any(|(_, names)| names.iter().any(|n| n == name))
    }

    fn following(&self) -> Option<ConnectionState> {
        (self.role.get() == TabRole::Follower).then(|| self.mirrored.get())
    }

    fn sharing(&self) -> Sharing {
        Sharing { role: self.role.get(), tabs: self.count.get() }
    }
}

/// A callback's way back to a tab's part and its driver: both weak, so that a callback the
/// browser still holds keeps neither alive.
#[derive(Clone)]
struct Reach {
    tabs: Weak<Tabs>,
    host: Weak<Shared>,
}

impl Reach {
    fn get(&self) -> Option<(Rc<Tabs>, Rc<Shared>)> {
        Some((self.tabs.upgrade()?, self.host.upgrade()?))
    }
}
