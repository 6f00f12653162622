use std::any::Any;
use std::borrow::Cow;
use std::rc::Rc;
use std::time::Duration;

use tidings::{
    EventSource, EventSourceBuilder, FetchOptions, HiddenTabPolicy, ReconnectPolicy, Subscription,
};

use crate::status::Status;

/// Options for [`use_event_source_with_options`](crate::use_event_source_with_options).
///
/// | option | default |
/// |---|---|
/// | [`with_credentials`](Self::with_credentials) | `false` |
/// | [`reconnect`](Self::reconnect) | [`ReconnectPolicy::default()`]: 1 s doubling to 30 s, full jitter, no limit |
/// | [`classify_failures`](Self::classify_failures) | `true` |
/// | [`heartbeat_timeout`](Self::heartbeat_timeout) | none: no watchdog |
/// | [`heartbeat_event`](Self::heartbeat_event) | `heartbeat` ([`tidings_wire::Heartbeat`]) |
/// | [`last_event_id`](Self::last_event_id) | none |
/// | [`last_event_id_param`](Self::last_event_id_param) | `lastEventId` |
/// | [`immediate`](Self::immediate) | `true`: connect at once |
/// | [`share_across_tabs`](Self::share_across_tabs) | `false`: each tab connects by itself |
/// | [`hidden_tab_policy`](Self::hidden_tab_policy) | [`HiddenTabPolicy::KeepOpen`] |
/// | [`fetch`](Self::fetch) | none: the browser's `EventSource` |
///
/// They mean what the same options of [`tidings::EventSourceBuilder`] mean. Under
/// [`provide_event_sources`](crate::provide_event_sources), users share a connection when they
/// ask for the same URL with equal options; a user that asks for a URL already in use with other
/// options gets a connection of its own, opened with exactly the options it gave (and, in debug
/// builds, a warning in the console, since two connections to one URL are rarely meant).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tidings_leptos::UseEventSourceOptions;
///
/// let options = UseEventSourceOptions::default()
///     .heartbeat_timeout(Some(Duration::from_secs(45)))
///     .immediate(false);
/// # let _ = options;
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct UseEventSourceOptions {
    with_credentials: bool,
    reconnect: Option<ReconnectPolicy>,
    classify_failures: bool,
    heartbeat_timeout: Option<Watchdog>,
    heartbeat_event: Cow<'static, str>,
    last_event_id: Option<String>,
    last_event_id_param: String,
    immediate: bool,
    share_across_tabs: Option<ShareAcrossTabs>,
    hidden_tab_policy: Option<HidePolicy>,
    fetch: Option<UseFetch>,
}

/// A watchdog's timeout, with the functions that set it in a tidings builder and keep the
/// connection's activity known: made only by
/// [`heartbeat_timeout`](UseEventSourceOptions::heartbeat_timeout), so that a page without a
/// watchdog links none of tidings's.
#[derive(Clone, Copy)]
struct Watchdog {
    timeout: Duration,
    apply: fn(EventSourceBuilder, Duration) -> EventSourceBuilder,
    listen: fn(&EventSource, Cow<'static, str>, Rc<Status>) -> Subscription,
}

impl PartialEq for Watchdog {
    /// The timeouts: there is one such pair of functions.
    fn eq(&self, other: &Self) -> bool {
        self.timeout == other.timeout
    }
}

impl std::fmt::Debug for Watchdog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.timeout.fmt(f)
    }
}

/// A hidden-tab policy, and the function that sets it in a tidings builder: made only by
/// [`hidden_tab_policy`](UseEventSourceOptions::hidden_tab_policy), so that a page that never
/// sets one links none of tidings's visibility watcher (a policy always passed through would
/// link all of it).
#[derive(Clone, Copy)]
struct HidePolicy {
    policy: HiddenTabPolicy,
    apply: fn(EventSourceBuilder, HiddenTabPolicy) -> EventSourceBuilder,
}

impl PartialEq for HidePolicy {
    /// The policies: there is one such function.
    fn eq(&self, other: &Self) -> bool {
        self.policy == other.policy
    }
}

impl std::fmt::Debug for HidePolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.policy.fmt(f)
    }
}

/// The fetch transport's options, with what this crate does with them as functions made by
/// [`fetch`](UseEventSourceOptions::fetch), the only place that names them: a page that never
/// asks links none of tidings's fetch transport (the options are `Any` so that even their
/// clone, comparison and drop are reached through the setter's functions).
#[derive(Clone)]
struct UseFetch {
    options: Rc<dyn Any>,
    apply: fn(EventSourceBuilder, &dyn Any) -> EventSourceBuilder,
    eq: fn(&dyn Any, &dyn Any) -> bool,
}

impl PartialEq for UseFetch {
    fn eq(&self, other: &Self) -> bool {
        (self.eq)(&*self.options, &*other.options)
    }
}

impl std::fmt::Debug for UseFetch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UseFetch")
    }
}

/// Turns sharing across tabs on in a tidings builder, and follows the tab's part in it into the
/// status. Made only by [`share_across_tabs(true)`](UseEventSourceOptions::share_across_tabs),
/// so that a page that never asks for sharing links none of tidings's sharing code (a `bool`
/// passed through would link all of it), nor a listener to a part that never changes.
#[derive(Clone, Copy)]
struct ShareAcrossTabs {
    turn_on: fn(EventSourceBuilder) -> EventSourceBuilder,
    follow: fn(&EventSource, &Rc<Status>) -> Subscription,
}

impl PartialEq for ShareAcrossTabs {
    /// There is one such pair of functions.
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for ShareAcrossTabs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ShareAcrossTabs")
    }
}

impl Default for UseEventSourceOptions {
    fn default() -> Self {
        Self {
            with_credentials: false,
            reconnect: Some(ReconnectPolicy::default()),
            classify_failures: true,
            heartbeat_timeout: None,
            heartbeat_event: Cow::Borrowed(<tidings_wire::Heartbeat as tidings_wire::Event>::NAME),
            last_event_id: None,
            last_event_id_param: "lastEventId".to_owned(),
            immediate: true,
            share_across_tabs: None,
            hidden_tab_policy: None,
            fetch: None,
        }
    }
}

impl UseEventSourceOptions {
    /// Send cookies with a cross-origin request. Default: `false`.
    ///
    /// # Examples
    ///
    /// ```
    /// let options = tidings_leptos::UseEventSourceOptions::default().with_credentials(true);
    /// # let _ = options;
    /// ```
    pub fn with_credentials(mut self, with_credentials: bool) -> Self {
        self.with_credentials = with_credentials;
        self
    }

    /// How the library retries after the browser gives up; `None` never does. Default:
    /// [`ReconnectPolicy::default()`].
    ///
    /// # Examples
    ///
    /// ```
    /// let options = tidings_leptos::UseEventSourceOptions::default()
    ///     .reconnect(Some(tidings_leptos::ReconnectPolicy::default().max_attempts(Some(5))));
    /// # let _ = options;
    /// ```
    pub fn reconnect(mut self, policy: Option<ReconnectPolicy>) -> Self {
        self.reconnect = policy;
        self
    }

    /// Ask the server why the browser gave up (one `fetch`), so that 204 and 4xx stop for good.
    /// Default: `true`.
    ///
    /// # Examples
    ///
    /// ```
    /// let options = tidings_leptos::UseEventSourceOptions::default().classify_failures(false);
    /// # let _ = options;
    /// ```
    pub fn classify_failures(mut self, classify: bool) -> Self {
        self.classify_failures = classify;
        self
    }

    /// Re-create a connection that stays silent (heartbeats included) this long. Default: none.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// let options = tidings_leptos::UseEventSourceOptions::default()
    ///     .heartbeat_timeout(Some(Duration::from_secs(45)));
    /// # let _ = options;
    /// ```
    pub fn heartbeat_timeout(mut self, timeout: Option<Duration>) -> Self {
        fn listen(
            source: &EventSource,
            name: Cow<'static, str>,
            status: Rc<Status>,
        ) -> Subscription {
            // Heartbeats reach no handler, but they are events: the last event time changes.
            source.on_raw(name, move |_| status.note_activity())
        }
        let apply: fn(EventSourceBuilder, Duration) -> EventSourceBuilder =
            |builder, timeout| builder.heartbeat_timeout(timeout);
        self.heartbeat_timeout = timeout.map(|timeout| Watchdog { timeout, apply, listen });
        self
    }

    /// The name of the server's heartbeat event, which the watchdog listens to even without a
    /// handler. Default: `heartbeat`, as [`tidings_wire::Heartbeat`] says.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// let options = tidings_leptos::UseEventSourceOptions::default()
    ///     .heartbeat_timeout(Some(Duration::from_secs(30)))
    ///     .heartbeat_event("ping");
    /// # let _ = options;
    /// ```
    pub fn heartbeat_event(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.heartbeat_event = name.into();
        self
    }

    /// Resume after `id` (an id from a snapshot, say): the first connection (to the first URL:
    /// when the URL signal changes, the new stream starts without it) carries it in the
    /// [`last_event_id_param`](Self::last_event_id_param), and
    /// [`last_event_id`](crate::UseEventSource::last_event_id) reads it until an event brings
    /// another. Every later connection (after [`close`](crate::UseEventSource::close) and
    /// [`open`](crate::UseEventSource::open), or
    /// [`reconnect`](crate::UseEventSource::reconnect)) resumes after the last id seen instead.
    /// An empty id is none. Default: none.
    ///
    /// # Examples
    ///
    /// ```
    /// let options = tidings_leptos::UseEventSourceOptions::default().last_event_id("3-1041");
    /// # let _ = options;
    /// ```
    pub fn last_event_id(mut self, id: impl Into<String>) -> Self {
        let id = id.into();
        self.last_event_id = (!id.is_empty()).then_some(id);
        self
    }

    /// The query parameter that carries the last event id when a connection opens again (a new
    /// browser source cannot send the `Last-Event-ID` header); it replaces a parameter of that
    /// name already in the URL. Default: `lastEventId`.
    ///
    /// # Examples
    ///
    /// ```
    /// let options = tidings_leptos::UseEventSourceOptions::default().last_event_id_param("since");
    /// # let _ = options;
    /// ```
    pub fn last_event_id_param(mut self, name: impl Into<String>) -> Self {
        self.last_event_id_param = name.into();
        self
    }

    /// Connect at once (`true`), or wait for [`UseEventSource::open`](crate::UseEventSource::open).
    /// Default: `true`.
    ///
    /// # Examples
    ///
    /// ```
    /// let options = tidings_leptos::UseEventSourceOptions::default().immediate(false);
    /// # let _ = options;
    /// ```
    pub fn immediate(mut self, immediate: bool) -> Self {
        self.immediate = immediate;
        self
    }

    /// Share one connection among every tab of the origin that opens this URL with sharing on:
    /// one tab leads (holds the connection), the others follow (their handlers get its events
    /// through a `BroadcastChannel`), and another tab takes over without a gap when the leader's
    /// closes. [`UseEventSource::sharing`](crate::UseEventSource::sharing) says which this tab is.
    /// See [`tidings::EventSourceBuilder::share_across_tabs`]. Default: `false`.
    ///
    /// # Examples
    ///
    /// ```
    /// let options = tidings_leptos::UseEventSourceOptions::default().share_across_tabs(true);
    /// # let _ = options;
    /// ```
    pub fn share_across_tabs(mut self, share: bool) -> Self {
        let turn_on: fn(EventSourceBuilder) -> EventSourceBuilder =
            |builder| builder.share_across_tabs(true);
        let follow: fn(&EventSource, &Rc<Status>) -> Subscription = |source, status| {
            status.set_sharing(source.sharing());
            let status = Rc::clone(status);
            source.on_sharing(move |now| status.set_sharing(now))
        };
        self.share_across_tabs = share.then_some(ShareAcrossTabs { turn_on, follow });
        self
    }

    /// See [`tidings::EventSourceBuilder::hidden_tab_policy`]: with
    /// [`HiddenTabPolicy::CloseAfter`], the connection closes once the page has been hidden that
    /// long ([`state`](crate::UseEventSource::state) reads
    /// [`Hidden`](tidings::ConnectionState::Hidden)) and opens again after the last id when it is
    /// visible. Default: [`HiddenTabPolicy::KeepOpen`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use tidings_leptos::HiddenTabPolicy;
    ///
    /// let options = tidings_leptos::UseEventSourceOptions::default()
    ///     .hidden_tab_policy(HiddenTabPolicy::CloseAfter(Duration::from_secs(300)));
    /// # let _ = options;
    /// ```
    pub fn hidden_tab_policy(mut self, policy: HiddenTabPolicy) -> Self {
        let apply: fn(EventSourceBuilder, HiddenTabPolicy) -> EventSourceBuilder =
            |builder, policy| builder.hidden_tab_policy(policy);
        // The default is no policy at all, so that options equal whichever way they say it.
        self.hidden_tab_policy =
            (policy != HiddenTabPolicy::KeepOpen).then_some(HidePolicy { policy, apply });
        self
    }

    /// Read the stream through `fetch`, with headers, a header function called before every
    /// connection (a token that expires), a method and a body: see
    /// [`tidings::EventSourceBuilder::fetch`]. Default: the browser's `EventSource`. Users under
    /// [`provide_event_sources`](crate::provide_event_sources) share a connection only when
    /// their options are equal, a header function included (the same one, cloned).
    ///
    /// ```
    /// use tidings_leptos::FetchOptions;
    ///
    /// let options = tidings_leptos::UseEventSourceOptions::default()
    ///     .fetch(FetchOptions::new().header("Authorization", "Bearer eyJhbGciOi…"));
    /// # let _ = options;
    /// ```
    pub fn fetch(mut self, options: FetchOptions) -> Self {
        fn apply(builder: EventSourceBuilder, options: &dyn Any) -> EventSourceBuilder {
            match options.downcast_ref::<FetchOptions>() {
                Some(options) => builder.fetch(options.clone()),
                None => builder,
            }
        }
        fn eq(a: &dyn Any, b: &dyn Any) -> bool {
            a.downcast_ref::<FetchOptions>() == b.downcast_ref::<FetchOptions>()
        }
        self.fetch = Some(UseFetch { options: Rc::new(options), apply, eq });
        self
    }

    pub(crate) fn is_immediate(&self) -> bool {
        self.immediate
    }

    pub(crate) fn initial_last_event_id(&self) -> &str {
        self.last_event_id.as_deref().unwrap_or_default()
    }

    /// With a watchdog, a listener to the heartbeat event that tells `status` of it.
    pub(crate) fn watch_heartbeats(
        &self,
        source: &EventSource,
        status: &Rc<Status>,
    ) -> Option<Subscription> {
        let watchdog = self.heartbeat_timeout?;
        Some((watchdog.listen)(source, self.heartbeat_event.clone(), Rc::clone(status)))
    }

    /// With sharing across tabs on, follows `source`'s part in it into `status` (without, the
    /// tab is alone and stays so).
    pub(crate) fn follow_sharing(
        &self,
        source: &EventSource,
        status: &Rc<Status>,
    ) -> Option<Subscription> {
        let share = self.share_across_tabs?;
        Some((share.follow)(source, status))
    }

    /// A tidings builder for `url` with these options, resuming after `last_event_id` (none
    /// when empty).
    pub(crate) fn builder(&self, url: &str, last_event_id: &str) -> EventSourceBuilder {
        let mut builder = tidings::EventSource::builder(url)
            .with_credentials(self.with_credentials)
            .classify_failures(self.classify_failures)
            .heartbeat_event(self.heartbeat_event.clone())
            .last_event_id_param(self.last_event_id_param.clone());
        if let Some(HidePolicy { policy, apply }) = self.hidden_tab_policy {
            builder = apply(builder, policy);
        }
        if let Some(ShareAcrossTabs { turn_on, .. }) = self.share_across_tabs {
            builder = turn_on(builder);
        }
        if let Some(fetch) = &self.fetch {
            builder = (fetch.apply)(builder, &*fetch.options);
        }
        if !last_event_id.is_empty() {
            builder = builder.last_event_id(last_event_id);
        }
        builder = match self.reconnect {
            Some(policy) => builder.reconnect(policy),
            None => builder.without_reconnect(),
        };
        if let Some(Watchdog { timeout, apply, .. }) = self.heartbeat_timeout {
            builder = apply(builder, timeout);
        }
        builder
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Users under `provide_event_sources` share a connection when their options are equal: a
    /// default said out loud is the default, and a setting differs only by its value.
    #[test]
    fn options_are_equal_however_they_say_the_defaults() {
        let default = UseEventSourceOptions::default();
        assert_eq!(default.clone().hidden_tab_policy(HiddenTabPolicy::KeepOpen), default);
        assert_eq!(default.clone().heartbeat_timeout(None), default);
        let close = |secs| {
            let policy = HiddenTabPolicy::CloseAfter(Duration::from_secs(secs));
            default.clone().hidden_tab_policy(policy)
        };
        assert_eq!(close(60), close(60));
        assert_ne!(close(60), close(61));
        assert_ne!(close(60), default);
        let watch = |secs| default.clone().heartbeat_timeout(Some(Duration::from_secs(secs)));
        assert_eq!(watch(30), watch(30));
        assert_ne!(watch(30), watch(31));
        assert_ne!(watch(30), default);
    }
}
