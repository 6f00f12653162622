//! The driver: one connection at a time and everything around it. The connection is a
//! [`Transport`]: the browser's `EventSource`, or the fetch transport when the options ask for it.
//! Its `open` and `error`, timer ends, the watchdog, `online` and the verdict on a failure (the
//! transport's own, or the probe's) go to the supervisor; its command is carried out here (wait,
//! re-create with the last id, classify, stop). Events go from a tap per handled name to the
//! registry's handlers.
//!
//! With sharing across tabs, a driver either leads (it has the connection, as above, and its
//! taps relay every event to the other tabs) or follows (no connection: events and the state
//! come from the leader). The driver asks that of its [`TabPart`] (`tabs.rs`), which reaches
//! back only through the driver's `pub(crate)` methods.

use std::any::Any;
use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::time::Duration;

use gloo_timers::callback::Timeout;
use wasm_bindgen::JsCast;
use web_sys::MessageEvent;

use crate::classify::Probe;
use crate::hidden::Watcher;
use crate::listener::Listener;
use crate::options::Options;
use crate::registry::{
    Arrival, Channel, Entry, EventHandler, Handlers, SharingHandler, StateHandler, take_entries,
};
use crate::subscription::{Subscription, Unsubscribe};
use crate::supervisor::{Command, Supervisor};
use crate::tap::{Tap, TapState};
use crate::transport::Transport;
use crate::url::{invalid, new_raw, resolve, with_last_id};
use crate::watchdog::Watchdog;
use crate::{ConnectionState, Error, HiddenTabPolicy, Sharing, TabRole};

/// Everything the browser's callbacks reach, through a `Weak`.
pub(crate) struct Shared {
    this: Weak<Shared>,
    options: Options,
    /// The URL, resolved against the page.
    pub(crate) url: String,
    /// The connection in use (after the end, the last one, closed); none in a tab that only
    /// ever followed another.
    source: RefCell<Option<Rc<dyn Transport>>>,
    supervisor: RefCell<Supervisor>,
    /// The id carried into the current browser source (the initial id for the first).
    carried: RefCell<Arc<str>>,
    /// The latest event dispatched from the current browser source: its `lastEventId` is read
    /// only when needed (see `last_id.rs`).
    latest: RefCell<Option<Rc<MessageEvent>>>,
    /// When the latest event of an earlier browser source arrived, kept across re-creation.
    carried_time: Cell<Option<f64>>,
    handlers: RefCell<Handlers>,
    connection: RefCell<Option<Connection>>,
    /// The supervisor's pending delay.
    timer: RefCell<Option<Timeout>>,
    /// The pending question of why the browser gave up.
    probe: RefCell<Option<Probe>>,
    watchdog: RefCell<Option<Watchdog>>,
    watchdog_timer: RefCell<Option<Timeout>>,
    /// The window's `online` event, while a reconnect policy is set.
    online: RefCell<Option<Listener>>,
    /// The page's visibility: with a hidden-tab policy that closes, or in a group of tabs.
    visibility: RefCell<Option<Watcher>>,
    /// Bumped whenever the browser source is replaced or closed: late callbacks of an older
    /// generation are ignored.
    generation: Cell<u64>,
    /// This tab's part in a group of tabs sharing the connection, when sharing is on and the
    /// browser can do it. (Only [`TabsEntry::new`] makes one: a page that never shares links
    /// none of its code, its drop included.)
    tabs: Option<Rc<dyn TabPart>>,
}

/// What the driver asks of its part in a group of tabs (`tabs.rs`).
pub(crate) trait TabPart {
    /// Joins the group: waits for the lock as a follower.
    fn join(&self, host: &Shared);
    /// The page was hidden, or is visible again.
    fn visibility_changed(&self, host: &Shared, hidden: bool);
    /// The page has been hidden as long as the hidden-tab policy allows.
    fn hidden_long(&self, host: &Shared);
    /// Leaves the group, if in one: a leader hands the lock over.
    fn leave(&self, host: &Shared);
    /// The taps' shared state for a new connection that resumes after `carried`.
    fn tap_state(&self, carried: &str) -> TapState;
    /// Whether an event of this tab's own connection (resumed after `carried`) is one it
    /// dispatched already, as a follower, before it took the lead.
    fn is_replayed(&self, event: &MessageEvent, carried: &str) -> bool;
    /// The state changed: a leader tells the other tabs.
    fn tell_followers(&self, state: ConnectionState);
    /// The names this tab listens to changed.
    fn announce_names(&self, host: &Shared);
    /// Whether another tab listens to `name` and this tab leads (so it must listen too).
    fn wanted_elsewhere(&self, name: &str) -> bool;
    /// The leader's state, while this tab follows.
    fn following(&self) -> Option<ConnectionState>;
    fn sharing(&self) -> Sharing;
}

/// How a driver gets its part in a group of tabs: held by the options (as `Any`) only when
/// [`share_across_tabs`](crate::EventSourceBuilder::share_across_tabs) asked (see `tabs.rs`).
#[derive(Debug)]
pub(crate) struct TabsEntry {
    /// Whether this browser can share (Web Locks and `BroadcastChannel`, a secure context).
    pub(crate) supported: fn() -> bool,
    /// A new part for a source of this URL (resolved) and credentials mode.
    pub(crate) new: fn(&str, bool) -> Rc<dyn TabPart>,
}

/// How a driver watches the page's visibility: held by the options (as `Any`) only when an
/// option that needs it was set, so that a page with neither a hidden-tab policy nor sharing
/// links none of the watcher, its closures and what they call.
#[derive(Debug)]
pub(crate) struct VisibilityEntry {
    watch: fn(&Shared),
}

/// The one [`VisibilityEntry`].
pub(crate) static WATCH_VISIBILITY: VisibilityEntry =
    VisibilityEntry { watch: Shared::watch_visibility };

/// How a driver arms its watchdog: held by the options (as `Any`) only when
/// [`heartbeat_timeout`](crate::EventSourceBuilder::heartbeat_timeout) was set, so that a page
/// without a watchdog links none of its timer and what it calls.
#[derive(Debug)]
pub(crate) struct WatchdogEntry {
    arm: fn(&Shared, Option<Duration>),
}

/// The one [`WatchdogEntry`].
pub(crate) static WATCHDOG: WatchdogEntry = WatchdogEntry { arm: Shared::arm_watchdog };

/// One connection and the listeners on it. Dropping it closes the connection.
struct Connection {
    source: Rc<dyn Transport>,
    _lifecycle: [Listener; 3],
    /// One tap per handled name (a few names: a list beats a hash map, in code size too).
    dispatchers: Vec<Tap>,
    taps: TapState,
    /// The stream's origin, from the first event (it cannot change afterwards).
    origin: Arc<str>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.source.close();
    }
}

impl Shared {
    /// Opens the first browser source for `url` and starts the driver.
    pub(crate) fn open(url: &str, options: Options) -> Result<Rc<Self>, Error> {
        let sharing = entry::<TabsEntry>(options.tabs).filter(|entry| (entry.supported)());
        let last_id = options.last_event_id.as_deref().unwrap_or_default();
        let (raw, resolved) = if sharing.is_some() {
            // A follower until the group's lock says otherwise.
            (None, resolve(url)?)
        } else if options.transport.is_none() && last_id.is_empty() {
            // The browser's own constructor judges the URL: its `SyntaxError` is the message.
            let raw = new_raw(url, options.with_credentials).map_err(|e| invalid(url, e))?;
            let resolved = raw.url();
            (Some(Rc::new(raw) as Rc<dyn Transport>), resolved)
        } else {
            let resolved = resolve(url)?;
            let raw = connect(&resolved, last_id, &options).map_err(|e| invalid(url, e))?;
            (Some(raw), resolved)
        };
        let tabs = sharing.map(|entry| (entry.new)(&resolved, options.with_credentials));
        let now = js_sys::Date::now();
        let shared = Rc::new_cyclic(|this: &Weak<Shared>| Shared {
            this: this.clone(),
            url: resolved,
            source: RefCell::new(raw.clone()),
            supervisor: RefCell::new(Supervisor::new(options.reconnect, options.classify_failures)),
            carried: RefCell::new(options.last_event_id.as_deref().unwrap_or_default().into()),
            latest: RefCell::default(),
            carried_time: Cell::new(None),
            handlers: RefCell::new(Handlers::pinning(
                options.heartbeat_timeout.map(|_| options.heartbeat_event.clone()),
            )),
            connection: RefCell::default(),
            timer: RefCell::default(),
            probe: RefCell::default(),
            watchdog: RefCell::new(options.heartbeat_timeout.map(|t| Watchdog::new(t, now))),
            watchdog_timer: RefCell::default(),
            online: RefCell::default(),
            visibility: RefCell::default(),
            generation: Cell::new(0),
            options,
            tabs,
        });
        match raw {
            Some(raw) => {
                shared.attach(raw);
                shared.watch();
            }
            None => {
                if let Some(tabs) = &shared.tabs {
                    tabs.join(&shared);
                }
            }
        }
        if let Some(entry) = entry::<VisibilityEntry>(shared.options.visibility) {
            (entry.watch)(&shared);
        }
        Ok(shared)
    }

    /// Watches the page's visibility, with a hidden-tab policy that closes (and, when the page
    /// is hidden already, closes after the delay), and in a group of tabs (which tell each
    /// other whether they are visible).
    fn watch_visibility(&self) {
        let delay = match self.options.hidden_tab_policy {
            HiddenTabPolicy::CloseAfter(delay) => Some(delay),
            HiddenTabPolicy::KeepOpen => None,
        };
        if delay.is_none() && self.tabs.is_none() {
            return;
        }
        let (change, long) = (self.this.clone(), self.this.clone());
        let watcher = Watcher::new(
            self.options.visibility_target.clone(),
            delay,
            move |hidden| {
                if let Some(shared) = change.upgrade() {
                    shared.visibility_changed(hidden);
                }
            },
            move || {
                if let Some(shared) = long.upgrade() {
                    shared.hidden_long();
                }
            },
        );
        *self.visibility.borrow_mut() = watcher;
    }

    /// The page was hidden, or is visible again: a connection closed because it was hidden
    /// opens again.
    fn visibility_changed(&self, hidden: bool) {
        match &self.tabs {
            Some(tabs) => tabs.visibility_changed(self, hidden),
            None if !hidden => self.input(Supervisor::visible),
            None => {}
        }
    }

    /// The page has been hidden as long as the policy allows: the connection closes (a
    /// leader of several tabs hands over instead, see `tabs.rs`).
    fn hidden_long(&self) {
        match &self.tabs {
            Some(tabs) => tabs.hidden_long(self),
            None => self.input(Supervisor::hidden),
        }
    }

    /// Whether the page is hidden now (as far as a watcher is set to know).
    pub(crate) fn page_hidden(&self) -> bool {
        self.visibility.borrow().as_ref().is_some_and(Watcher::hidden)
    }

    /// Whether the page has been hidden past the policy's delay (its timer fired and it was
    /// not visible since).
    pub(crate) fn hidden_past_policy(&self) -> bool {
        self.visibility.borrow().as_ref().is_some_and(Watcher::expired)
    }

    /// Starts what keeps the browser's source alive: the `online` listener (with a reconnect
    /// policy) and the watchdog.
    fn watch(&self) {
        if self.options.reconnect.is_some() {
            let this = self.this.clone();
            let online = Listener::new(&js_sys::global().unchecked_into(), "online", move |_| {
                if let Some(shared) = this.upgrade() {
                    shared.input(Supervisor::online);
                }
            });
            *self.online.borrow_mut() = Some(online);
        }
        self.start_watchdog();
    }

    /// The connection's state; in a follower tab, the leader's (until this tab closes).
    pub(crate) fn state(&self) -> ConnectionState {
        let own = self.own_state();
        match self.tabs.as_ref().and_then(|tabs| tabs.following()) {
            Some(leaders) if !own.is_closed() => leaders,
            _ => own,
        }
    }

    /// The state of this tab's own connection (a follower's too: what it would be without the
    /// leader).
    pub(crate) fn own_state(&self) -> ConnectionState {
        self.supervisor.borrow().state()
    }

    /// A weak handle on this driver, for callbacks.
    pub(crate) fn weak(&self) -> Weak<Shared> {
        self.this.clone()
    }

    pub(crate) fn sharing(&self) -> Sharing {
        match &self.tabs {
            Some(tabs) => tabs.sharing(),
            None if self.options.tabs.is_some() => Sharing { role: TabRole::Unsupported, tabs: 1 },
            None => Sharing::ALONE,
        }
    }

    /// The answer the connection in use gave up on, when its transport read one.
    pub(crate) fn failed_answer(&self) -> Option<crate::FailedAnswer> {
        self.source.borrow().as_ref()?.failed_answer()
    }

    /// The browser's `EventSource` in use, unless the connection is another transport's.
    pub(crate) fn raw(&self) -> Option<web_sys::EventSource> {
        self.source.borrow().as_ref()?.as_event_source().cloned()
    }

    /// Opens a connection to this source's URL, resuming after `last_id`.
    pub(crate) fn connect(&self, last_id: &str) -> Result<Rc<dyn Transport>, String> {
        connect(&self.url, last_id, &self.options)
    }

    /// Feeds the supervisor, carries out its command and tells the state handlers of a change.
    /// No borrow is held while handlers run: they may call back into the source.
    pub(crate) fn input(&self, feed: impl FnOnce(&mut Supervisor) -> Command) {
        let before = self.state();
        let command = feed(&mut self.supervisor.borrow_mut());
        let after = self.state();
        if after != before {
            self.notify(after);
        }
        // A state handler may have acted already (closed the source, say): then the command
        // is out of date.
        if self.state() == after {
            self.carry_out(command);
        }
    }

    fn carry_out(&self, command: Command) {
        match command {
            Command::Nothing => {}
            Command::Stop => self.stop(),
            Command::Suspend => self.suspend(),
            Command::Recreate => self.recreate(),
            Command::Wait(delay) => {
                let this = self.this.clone();
                let generation = self.generation.get();
                let timer = Timeout::new(millis(delay), move || {
                    if let Some(shared) = this.upgrade()
                        && shared.generation.get() == generation
                    {
                        shared.input(Supervisor::timer_fired);
                    }
                });
                *self.timer.borrow_mut() = Some(timer);
            }
            Command::Classify => {
                let this = self.this.clone();
                let generation = self.generation.get();
                let probe = Probe::start(
                    &self.resume_url(),
                    self.options.with_credentials,
                    move |verdict| {
                        if let Some(shared) = this.upgrade()
                            && shared.generation.get() == generation
                        {
                            shared.input(|s| s.classified(verdict, js_sys::Math::random()));
                        }
                    },
                );
                *self.probe.borrow_mut() = Some(probe);
            }
        }
    }

    /// Closes the browser's source, leaves the group of tabs (a leader hands over) and drops
    /// everything pending. Safe to call more than once.
    pub(crate) fn stop(&self) {
        self.generation.set(self.generation.get() + 1);
        // Take each out before dropping it, so no borrow is held by a `Drop`.
        let connection = self.connection.borrow_mut().take();
        let pending = (
            self.timer.borrow_mut().take(),
            self.probe.borrow_mut().take(),
            self.watchdog_timer.borrow_mut().take(),
            self.online.borrow_mut().take(),
            self.visibility.borrow_mut().take(),
        );
        drop((connection, pending));
        if let Some(tabs) = &self.tabs {
            tabs.leave(self);
        }
    }

    /// A leader hands its connection to another tab and follows it: the connection closes,
    /// and when this tab leads again it starts from a new one.
    pub(crate) fn hand_over(&self) {
        self.suspend();
        drop(self.online.borrow_mut().take());
        self.supervisor.borrow_mut().handed_over();
    }

    /// A new leader while every tab is hidden: it holds the lock without a connection until a
    /// tab is visible.
    pub(crate) fn lead_hidden(&self) {
        self.supervisor.borrow_mut().handed_over();
        self.input(Supervisor::hidden);
    }

    /// Opens this tab's connection after the last id it dispatched (a new leader's, or a tab
    /// that leaves its group), and tells the state handlers (and followers) of the change from
    /// `before`.
    pub(crate) fn connect_after_last_id(&self, before: ConnectionState) {
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
                } else if let Some(tabs) = &self.tabs {
                    tabs.tell_followers(now);
                }
            }
            Err(_) => self.input(Supervisor::cannot_recreate),
        }
    }

    /// The leader's state, which a follower took as its own, changed from `before`. When the
    /// leader's connection is over for good (204, a fatal answer, the attempt limit), so is
    /// this tab's.
    pub(crate) fn leader_state_changed(&self, before: ConnectionState, state: ConnectionState) {
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

    /// An event another tab relayed: to this tab's handlers of its name, as a local event
    /// would be. (One without handlers here still counts for the last id.)
    pub(crate) fn dispatch_relayed(
        &self,
        name: &str,
        data: &str,
        event: MessageEvent,
        origin: String,
    ) {
        let channel = self.handlers.borrow().channel(name).map(Rc::clone);
        match channel {
            Some(channel) => self.dispatch(&channel, data, event, Some(origin)),
            None => drop(self.remember(event)),
        }
    }

    /// Whether this tab listens to `name` (a handler's, the heartbeat's, or another tab's).
    pub(crate) fn handles(&self, name: &str) -> bool {
        self.handlers.borrow().channel(name).is_some()
    }

    /// The names this tab's handlers listen to (not the heartbeat's, nor the other tabs').
    pub(crate) fn local_names(&self) -> Vec<String> {
        let handlers = self.handlers.borrow();
        handlers
            .events
            .iter()
            .filter(|channel| !channel.entries.borrow().is_empty())
            .map(|channel| channel.name.to_string())
            .collect()
    }

    /// A leader listens to the names of its own handlers and to `wanted` (the other tabs'),
    /// and to no other.
    pub(crate) fn listen_to(&self, wanted: &[String]) {
        // Names another tab wants that have no channel here: a channel without handlers.
        let added: Vec<Rc<Channel>> = {
            let mut handlers = self.handlers.borrow_mut();
            let missing: Vec<&String> =
                wanted.iter().filter(|name| handlers.channel(name).is_none()).collect();
            missing
                .into_iter()
                .map(|name| {
                    let channel = Channel::new(name.clone().into());
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
                .filter(|name| !wanted.contains(name))
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

    /// Tells the sharing handlers this tab's role and the number of tabs.
    pub(crate) fn notify_sharing(&self) {
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

    /// Closes the browser's source and drops what is pending, for a while (the page is
    /// hidden): handlers stay, and [`recreate`](Self::recreate) opens a new source.
    fn suspend(&self) {
        self.generation.set(self.generation.get() + 1);
        self.carried_time.set(self.last_event_time());
        let carried = self.last_event_id();
        let connection = self.connection.borrow_mut().take();
        let pending = (
            self.timer.borrow_mut().take(),
            self.probe.borrow_mut().take(),
            self.watchdog_timer.borrow_mut().take(),
        );
        drop((connection, pending));
        *self.carried.borrow_mut() = carried.into();
        *self.latest.borrow_mut() = None;
    }

    /// Replaces the browser's source by a new one that resumes after the last event id.
    fn recreate(&self) {
        self.generation.set(self.generation.get() + 1);
        let old = self.connection.borrow_mut().take();
        drop(old);
        drop((self.timer.borrow_mut().take(), self.probe.borrow_mut().take()));
        let carried = self.last_event_id();
        self.carried_time.set(self.last_event_time());
        match self.connect(&carried) {
            Ok(raw) => {
                *self.carried.borrow_mut() = carried.into();
                *self.latest.borrow_mut() = None;
                self.attach(raw);
                self.start_watchdog();
            }
            // The URL opened before and only the last id changed, so this should not happen;
            // if it does, say the connection is over rather than spin.
            Err(_) => self.input(Supervisor::cannot_recreate),
        }
    }

    /// The id in force: the latest event's, or the one carried into this source.
    pub(crate) fn last_event_id(&self) -> String {
        let carried = Arc::clone(&self.carried.borrow());
        match &*self.latest.borrow() {
            Some(event) => crate::last_id::in_force(&event.last_event_id(), &carried).to_owned(),
            None => carried.to_string(),
        }
    }

    /// When the latest event arrived (see `EventSource::last_event_time`).
    pub(crate) fn last_event_time(&self) -> Option<f64> {
        match &*self.latest.borrow() {
            Some(event) => Some(time_origin() + event.time_stamp()),
            None => self.carried_time.get(),
        }
    }

    /// The URL with the last event id in its query parameter (the URL as opened when there is
    /// no id).
    fn resume_url(&self) -> String {
        let last_id = self.last_event_id();
        if last_id.is_empty() {
            return self.url.clone();
        }
        with_last_id(&self.url, &self.options.last_event_id_param, &last_id)
            .unwrap_or_else(|_| self.url.clone())
    }

    /// Puts the lifecycle listeners and one dispatcher per handled name on `source`.
    pub(crate) fn attach(&self, source: Rc<dyn Transport>) {
        let target = source.target();
        let this = self.this.clone();
        let on_open = Listener::new(target, "open", move |event| {
            // A server-sent `event: open` is for the `open` handlers, not ours.
            if !is_connections_own(event) {
                return;
            }
            if let Some(shared) = this.upgrade() {
                shared.note_activity();
                shared.input(|supervisor| {
                    supervisor.opened();
                    Command::Nothing
                });
            }
        });
        let this = self.this.clone();
        let on_error = Listener::new(target, "error", move |event| {
            if !is_connections_own(event) {
                return;
            }
            if let Some(shared) = this.upgrade() {
                let (retrying, known) = match shared.source.borrow().as_ref() {
                    Some(source) => (source.retrying(), source.failure()),
                    None => (false, None),
                };
                match known {
                    // A transport that read the failed answer says why: no question to ask.
                    Some(verdict) if !retrying => {
                        shared.input(|s| s.classified(verdict, js_sys::Math::random()));
                    }
                    _ => shared.input(|s| s.browser_error(retrying, js_sys::Math::random())),
                }
            }
        });
        let this = self.this.clone();
        let end = <tidings_wire::End as tidings_wire::Event>::NAME;
        let on_end = Listener::new(target, end, move |event| {
            // The server's `end`, told by its id from an event of the application that shares
            // the name.
            if is_connections_own(event) {
                return;
            }
            // A `MessageEvent`, or the fetch transport's object with the same fields.
            let event: &MessageEvent = event.unchecked_ref();
            if event.last_event_id() != END_ID {
                return;
            }
            if let Some(shared) = this.upgrade()
                && !shared.state().is_closed()
            {
                shared.remember(event.clone());
                shared.input(Supervisor::ended);
            }
        });
        let channels = self.handlers.borrow().events.clone();
        let mut connection = Connection {
            source: Rc::clone(&source),
            _lifecycle: [on_open, on_error, on_end],
            dispatchers: Vec::with_capacity(channels.len()),
            taps: match &self.tabs {
                Some(tabs) => tabs.tap_state(&self.carried.borrow()),
                None => TapState::new(),
            },
            origin: Arc::default(),
        };
        for channel in channels {
            let dispatcher = self.dispatcher(&connection, Rc::clone(&channel));
            connection.dispatchers.push(dispatcher);
        }
        *self.source.borrow_mut() = Some(source);
        *self.connection.borrow_mut() = Some(connection);
    }

    fn dispatcher(&self, connection: &Connection, channel: Rc<Channel>) -> Tap {
        let this = self.this.clone();
        let name = channel.name.clone();
        Tap::new(connection.source.target(), name, &connection.taps, move |data, event, origin| {
            if let Some(shared) = this.upgrade()
                && !shared.is_replayed(&event)
            {
                shared.dispatch(&channel, &data, event, origin);
            }
        })
    }

    /// Whether a new leader's connection replays `event`, which this tab dispatched already.
    fn is_replayed(&self, event: &MessageEvent) -> bool {
        let Some(tabs) = &self.tabs else { return false };
        let carried = Arc::clone(&self.carried.borrow());
        tabs.is_replayed(event, &carried)
    }

    /// One event from a tap, with `origin` on the connection's first event.
    fn dispatch(&self, channel: &Channel, data: &str, event: MessageEvent, origin: Option<String>) {
        if self.state().is_closed() {
            return;
        }
        self.note_activity();
        let event = self.remember(event);
        let origin = {
            let mut connection = self.connection.borrow_mut();
            match (connection.as_mut(), origin) {
                (Some(connection), Some(origin)) => {
                    connection.origin = origin.into();
                    Arc::clone(&connection.origin)
                }
                (Some(connection), None) => Arc::clone(&connection.origin),
                (None, origin) => origin.map(Arc::from).unwrap_or_default(),
            }
        };
        let entries = Rc::clone(&channel.entries.borrow());
        let carried = Arc::clone(&self.carried.borrow());
        let arrival =
            Arrival { event: Arc::clone(&channel.shared_name), source: event, carried, origin };
        for entry in entries.iter() {
            if !entry.alive.get() {
                continue;
            }
            // A handler that is already running (re-entered through a nested dispatch) is
            // skipped rather than borrowed twice.
            if let Ok(mut handler) = entry.handler.try_borrow_mut() {
                handler(data, &arrival);
            }
            if self.state().is_closed() {
                return;
            }
        }
    }

    /// Keeps `event` as the latest (its id is read when asked).
    fn remember(&self, event: MessageEvent) -> Rc<MessageEvent> {
        // The previous event's allocation is reused when no `Message` kept it.
        let mut latest = self.latest.borrow_mut();
        match latest.as_mut().and_then(Rc::get_mut) {
            Some(slot) => *slot = event,
            None => *latest = Some(Rc::new(event)),
        }
        latest.as_ref().map(Rc::clone).expect("just set")
    }

    fn note_activity(&self) {
        if let Some(watchdog) = &mut *self.watchdog.borrow_mut() {
            watchdog.activity(js_sys::Date::now());
        }
    }

    /// Starts the watchdog's timer for a full timeout, if the options have a watchdog.
    fn start_watchdog(&self) {
        if let Some(entry) = entry::<WatchdogEntry>(self.options.watchdog) {
            (entry.arm)(self, None);
        }
    }

    /// Starts (or continues) the watchdog's timer: after a full timeout, or after `remaining`.
    fn arm_watchdog(&self, remaining: Option<Duration>) {
        let Some(watchdog) = &mut *self.watchdog.borrow_mut() else { return };
        let now = js_sys::Date::now();
        if remaining.is_none() {
            watchdog.activity(now);
        }
        let wait = remaining.or_else(|| watchdog.remaining(now)).unwrap_or_default();
        let this = self.this.clone();
        let generation = self.generation.get();
        let timer = Timeout::new(millis(wait), move || {
            if let Some(shared) = this.upgrade()
                && shared.generation.get() == generation
            {
                shared.watchdog_tick();
            }
        });
        *self.watchdog_timer.borrow_mut() = Some(timer);
    }

    fn watchdog_tick(&self) {
        let remaining = match &*self.watchdog.borrow() {
            Some(watchdog) => watchdog.remaining(js_sys::Date::now()),
            None => return,
        };
        match remaining {
            Some(remaining) => self.arm_watchdog(Some(remaining)),
            None => self.input(Supervisor::watchdog_expired),
        }
    }

    fn notify(&self, state: ConnectionState) {
        if let Some(tabs) = &self.tabs {
            tabs.tell_followers(state);
        }
        let entries = Rc::clone(&self.handlers.borrow().states);
        for entry in entries.iter() {
            if entry.alive.get()
                && let Ok(mut handler) = entry.handler.try_borrow_mut()
            {
                handler(state);
            }
        }
    }

    /// Registers `handler` for events named `name`. Only the boxing is generic: the rest is
    /// compiled once, not once per handler type.
    pub(crate) fn subscribe(
        &self,
        name: Cow<'static, str>,
        handler: impl FnMut(&str, &Arrival) + 'static,
    ) -> Subscription {
        let key = self.next_key();
        let entry: Rc<Entry<EventHandler>> =
            Rc::new(Entry { key, alive: Cell::new(true), handler: RefCell::new(handler) });
        self.add_event_entry(name, entry)
    }

    pub(crate) fn add_state_entry(&self, entry: Rc<Entry<StateHandler>>) -> Subscription {
        let key = entry.key;
        let mut handlers = self.handlers.borrow_mut();
        handlers.states = handlers.states.iter().cloned().chain([entry]).collect();
        Subscription::state(self.this.clone(), key)
    }

    pub(crate) fn add_sharing_entry(&self, entry: Rc<Entry<SharingHandler>>) -> Subscription {
        let key = entry.key;
        let mut handlers = self.handlers.borrow_mut();
        handlers.sharing = handlers.sharing.iter().cloned().chain([entry]).collect();
        Subscription::sharing(self.this.clone(), key)
    }

    pub(crate) fn next_key(&self) -> u64 {
        self.handlers.borrow_mut().new_key()
    }

    fn add_event_entry(
        &self,
        name: Cow<'static, str>,
        entry: Rc<Entry<EventHandler>>,
    ) -> Subscription {
        let key = entry.key;
        let mut new_name = false;
        let channel = {
            let mut handlers = self.handlers.borrow_mut();
            let channel = match handlers.channel(&name) {
                Some(channel) => channel,
                None => {
                    new_name = true;
                    handlers.events.push(Channel::new(name.clone()));
                    handlers.events.last().expect("just pushed")
                }
            };
            let mut entries = channel.entries.borrow_mut();
            *entries = entries.iter().cloned().chain([entry]).collect();
            drop(entries);
            Rc::clone(channel)
        };
        let mut connection = self.connection.borrow_mut();
        if let Some(connection) = connection.as_mut()
            && !connection.dispatchers.iter().any(|tap| tap.name() == name)
            && !self.state().is_closed()
        {
            let dispatcher = self.dispatcher(connection, channel);
            connection.dispatchers.push(dispatcher);
        }
        drop(connection);
        if new_name && let Some(tabs) = &self.tabs {
            tabs.announce_names(self);
        }
        Subscription::event(self.this.clone(), name, key)
    }

    fn remove_event_handler_now(&self, name: &str, key: u64) {
        // Take what goes out of every borrow before it drops: a handler's captures may reach
        // back into this source when they drop.
        let removed_and_dispatcher = {
            let mut handlers = self.handlers.borrow_mut();
            let kept = handlers.pinned.as_deref() == Some(name)
                || self.tabs.as_ref().is_some_and(|tabs| tabs.wanted_elsewhere(name));
            let Some(channel) = handlers.channel(name) else { return };
            let mut entries = channel.entries.borrow_mut();
            let removed = take_entries(&mut entries, key);
            let unused = entries.is_empty() && !kept;
            drop(entries);
            if unused {
                handlers.events.retain(|channel| channel.name != name);
            }
            let dispatcher = if unused {
                let mut connection = self.connection.borrow_mut();
                let dispatchers = connection.as_mut().map(|c| &mut c.dispatchers);
                dispatchers.and_then(|dispatchers| {
                    let index = dispatchers.iter().position(|tap| tap.name() == name)?;
                    Some(dispatchers.swap_remove(index))
                })
            } else {
                None
            };
            (removed, dispatcher, unused)
        };
        let (removed, dispatcher, unused) = removed_and_dispatcher;
        drop((removed, dispatcher));
        if unused && let Some(tabs) = &self.tabs {
            tabs.announce_names(self);
        }
    }

    fn remove_sharing_handler_now(&self, key: u64) {
        let removed = take_entries(&mut self.handlers.borrow_mut().sharing, key);
        drop(removed);
    }

    fn remove_state_handler_now(&self, key: u64) {
        let removed = take_entries(&mut self.handlers.borrow_mut().states, key);
        drop(removed);
    }
}

impl Unsubscribe for Shared {
    fn remove_event_handler(&self, name: &str, key: u64) {
        self.remove_event_handler_now(name, key);
    }

    fn remove_state_handler(&self, key: u64) {
        self.remove_state_handler_now(key);
    }

    fn remove_sharing_handler(&self, key: u64) {
        self.remove_sharing_handler_now(key);
    }
}

/// [`tidings_wire::End::ID`] as the server writes it, compared as text: ids parse only from
/// their one spelling, so this is the same test, and parsing the id of every `end` event would
/// link the id parser into every page (docs/benchmarks.md in the repository, "Size").
const END_ID: &str = "0-0";

/// Whether `event` is the connection's own `open` or `error` (a plain `Event`), rather than an
/// event of the stream that bears the name: a `MessageEvent` from the browser's `EventSource`,
/// a plain object from the fetch transport (see `js/fetch.js`).
fn is_connections_own(event: &web_sys::Event) -> bool {
    event.is_instance_of::<web_sys::Event>() && !event.is_instance_of::<MessageEvent>()
}

/// `performance.timeOrigin`: the Unix time, in milliseconds, that event time stamps count from
/// (in a window or a worker).
fn time_origin() -> f64 {
    js_sys::Reflect::get(&js_sys::global(), &"performance".into())
        .ok()
        .filter(|performance| performance.is_object())
        .map_or(0.0, |performance| {
            performance.unchecked_into::<web_sys::Performance>().time_origin()
        })
}

fn millis(duration: Duration) -> u32 {
    u32::try_from(duration.as_millis()).unwrap_or(u32::MAX)
}

/// Opens a connection to `url` (resolved), resuming after `last_id`: through the transport the
/// options name, or the browser's `EventSource` (which cannot send `Last-Event-ID` itself: the
/// id goes in the query parameter).
fn connect(url: &str, last_id: &str, options: &Options) -> Result<Rc<dyn Transport>, String> {
    if let Some(transport) = &options.transport {
        return transport.connect(url, last_id, options.with_credentials);
    }
    let url = match last_id {
        "" => Cow::Borrowed(url),
        id => Cow::Owned(with_last_id(url, &options.last_event_id_param, id)?),
    };
    Ok(Rc::new(new_raw(&url, options.with_credentials)?))
}

/// The part an option put in `slot` (as `Any`, so that the options need not know the driver):
/// the group of tabs, the visibility watcher or the watchdog; `None` when no option asked.
fn entry<T: 'static>(slot: Option<&'static (dyn Any + Send + Sync)>) -> Option<&'static T> {
    slot?.downcast_ref()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_end_id_is_the_wires_only_spelling_of_it() {
        assert_eq!(tidings_wire::End::ID.to_string(), END_ID);
        assert_eq!(END_ID.parse(), Ok(tidings_wire::End::ID));
    }
}
