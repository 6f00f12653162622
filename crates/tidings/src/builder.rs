use std::borrow::Cow;
use std::time::Duration;

use crate::options::Options;
use crate::{Error, EventSource, FetchOptions, HiddenTabPolicy, ReconnectPolicy};

/// Options for an [`EventSource`], then [`open`](Self::open).
///
/// | option | default |
/// |---|---|
/// | [`with_credentials`](Self::with_credentials) | `false` |
/// | [`reconnect`](Self::reconnect) | [`ReconnectPolicy::default()`]: 1 s doubling to 30 s, full jitter, no limit |
/// | [`classify_failures`](Self::classify_failures) | `true` |
/// | [`heartbeat_timeout`](Self::heartbeat_timeout) | none: no watchdog |
/// | [`heartbeat_event`](Self::heartbeat_event) | `heartbeat` ([`tidings_wire::Heartbeat`]) |
/// | [`last_event_id_param`](Self::last_event_id_param) | `lastEventId` |
/// | [`last_event_id`](Self::last_event_id) | none |
/// | [`share_across_tabs`](Self::share_across_tabs) | `false`: each tab connects by itself |
/// | [`hidden_tab_policy`](Self::hidden_tab_policy) | [`HiddenTabPolicy::KeepOpen`] |
///
/// # Examples
///
/// ```no_run
/// use std::time::Duration;
/// use tidings::{EventSource, ReconnectPolicy};
///
/// let source = EventSource::builder("https://api.example.com/events")
///     .with_credentials(true)
///     .reconnect(ReconnectPolicy::default().max_attempts(Some(10)))
///     .heartbeat_timeout(Duration::from_secs(45))
///     .open()?;
/// # Ok::<(), tidings::Error>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `open` is called"]
pub struct EventSourceBuilder {
    url: String,
    options: Options,
}

impl EventSourceBuilder {
    pub(crate) fn new(url: String) -> Self {
        Self {
            url,
            options: Options {
                with_credentials: false,
                reconnect: Some(ReconnectPolicy::default()),
                classify_failures: true,
                heartbeat_timeout: None,
                heartbeat_event: Cow::Borrowed(
                    <tidings_wire::Heartbeat as tidings_wire::Event>::NAME,
                ),
                last_event_id_param: "lastEventId".to_owned(),
                last_event_id: None,
                tabs: None,
                transport: None,
                hidden_tab_policy: HiddenTabPolicy::KeepOpen,
                visibility: None,
                watchdog: None,
                visibility_target: None,
            },
        }
    }

    /// Send cookies and HTTP authentication with a cross-origin request (the server must answer
    /// with `Access-Control-Allow-Credentials: true` and the exact origin). Default: `false`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let source = tidings::EventSource::builder("/events").with_credentials(true).open()?;
    /// # Ok::<(), tidings::Error>(())
    /// ```
    pub fn with_credentials(mut self, with_credentials: bool) -> Self {
        self.options.with_credentials = with_credentials;
        self
    }

    /// How the library retries once the browser has given up on the connection (an answer
    /// other than 200, a type other than `text/event-stream`). The browser's own retries after
    /// a dropped stream go on as always; they count towards the policy's attempt limit.
    /// Default: [`ReconnectPolicy::default()`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// let policy = tidings::ReconnectPolicy::default().max_delay(Duration::from_secs(10));
    /// let source = tidings::EventSource::builder("/events").reconnect(policy).open()?;
    /// # Ok::<(), tidings::Error>(())
    /// ```
    pub fn reconnect(mut self, policy: ReconnectPolicy) -> Self {
        self.options.reconnect = Some(policy);
        self
    }

    /// Never re-create the connection: when the browser gives up, the state is
    /// [`Closed`](crate::ConnectionState::Closed), as with a bare `EventSource`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let source = tidings::EventSource::builder("/events").without_reconnect().open()?;
    /// # Ok::<(), tidings::Error>(())
    /// ```
    pub fn without_reconnect(mut self) -> Self {
        self.options.reconnect = None;
        self
    }

    /// When the browser gives up, ask the server why with one `fetch` of the URL the library
    /// would reconnect to (aborted as soon as its headers arrive), because the browser's `error`
    /// event tells nothing. Then `204` ends the connection
    /// ([`CloseReason::Ended`](crate::CloseReason::Ended)), `401`, `403`, `404` and other client
    /// errors close it for good with their status ([`CloseReason::Fatal`](crate::CloseReason::Fatal)),
    /// and `5xx`, `408`, `425`, `429` and network failures are retried by the policy.
    /// Default: `true`. With `false`, every failure is retried by the policy.
    ///
    /// What even this cannot tell: a CORS refusal and a network failure look the same (both are
    /// retried); the answer may differ from the one the browser got a moment before (the
    /// request is made again); and the server sees one request more.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let source = tidings::EventSource::builder("/events").classify_failures(false).open()?;
    /// # Ok::<(), tidings::Error>(())
    /// ```
    pub fn classify_failures(mut self, classify: bool) -> Self {
        self.options.classify_failures = classify;
        self
    }

    /// Start a watchdog: when no event at all (heartbeats included) arrives for `timeout`, the
    /// connection is taken as stuck and re-created with the last event id, whatever the browser
    /// thinks. Pick a few times the server's heartbeat interval. Default: no watchdog.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// let source = tidings::EventSource::builder("/api/events")
    ///     .heartbeat_timeout(Duration::from_secs(45))
    ///     .open()?;
    /// # Ok::<(), tidings::Error>(())
    /// ```
    pub fn heartbeat_timeout(mut self, timeout: Duration) -> Self {
        self.options.heartbeat_timeout = Some(timeout);
        // The only path to the watchdog: a page that never sets a timeout links none of it.
        self.options.watchdog = Some(&crate::driver::WATCHDOG);
        self
    }

    /// The name of the server's heartbeat event, which the watchdog listens to even without a
    /// handler (the browser only tells the page about events it listens to). Default:
    /// `heartbeat`, as [`tidings_wire::Heartbeat`] says.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// let source = tidings::EventSource::builder("/events")
    ///     .heartbeat_timeout(Duration::from_secs(30))
    ///     .heartbeat_event("ping")
    ///     .open()?;
    /// # Ok::<(), tidings::Error>(())
    /// ```
    pub fn heartbeat_event(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.options.heartbeat_event = name.into();
        self
    }

    /// The query parameter that carries the last event id when the library re-creates the
    /// connection (a new browser source cannot send the `Last-Event-ID` header). The browser's
    /// own reconnects still send the header, so a server should prefer the header when both
    /// come. Default: `lastEventId`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let source = tidings::EventSource::builder("/events").last_event_id_param("since").open()?;
    /// # Ok::<(), tidings::Error>(())
    /// ```
    pub fn last_event_id_param(mut self, name: impl Into<String>) -> Self {
        self.options.last_event_id_param = name.into();
        self
    }

    /// Resume after `id` from the start (an id from a snapshot, say): the first request carries
    /// it in the [`last_event_id_param`](Self::last_event_id_param). Default: none.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let source = tidings::EventSource::builder("/api/events").last_event_id("3-1041").open()?;
    /// # Ok::<(), tidings::Error>(())
    /// ```
    pub fn last_event_id(mut self, id: impl Into<String>) -> Self {
        self.options.last_event_id = Some(id.into());
        self
    }

    /// Read the stream through `fetch` instead of the browser's `EventSource`, with `options`'s
    /// headers, header function, method and body. Default: the browser's `EventSource`.
    ///
    /// Everything else is the same (events, handlers, streams, states, the reconnect policy, the
    /// watchdog, sharing across tabs: the leading tab's connection is the fetch transport); the
    /// last event id goes back as a `Last-Event-ID` header rather than in the
    /// [`last_event_id_param`](Self::last_event_id_param), and a failed answer's status is known
    /// without a second request. See [`FetchOptions`] for the details and the CORS headers a
    /// cross-origin server must send.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use tidings::{EventSource, FetchOptions};
    ///
    /// let source = EventSource::builder("/api/events")
    ///     .fetch(FetchOptions::new().header("Authorization", "Bearer eyJhbGciOi…"))
    ///     .open()?;
    /// # Ok::<(), tidings::Error>(())
    /// ```
    pub fn fetch(mut self, options: FetchOptions) -> Self {
        // The only path to the fetch transport: a page that never calls this links none of it.
        self.options.transport = Some(std::rc::Rc::new(options));
        self
    }

    /// Share one connection among every tab of the origin that opens this URL (absolute, with
    /// the same credentials mode) with sharing on. Default: `false`.
    ///
    /// One tab leads: it holds the browser's `EventSource`, elected with the Web Locks API (a lock
    /// per URL and credentials mode). The others follow: every event any tab listens to reaches
    /// their handlers through a `BroadcastChannel`, with its data, id and origin, exactly as from
    /// a source of their own; their [`state`](EventSource::state) is the leader's, and
    /// [`sharing`](EventSource::sharing) says which this tab is and how many tabs share.
    ///
    /// When the leader's tab closes, crashes or drops its source, another tab takes the lock
    /// and opens the stream after the last id it saw (in the
    /// [`last_event_id_param`](Self::last_event_id_param)); a tab drops an event whose id it
    /// already had, so nothing is lost or repeated across the hand-over (for a stream with ids).
    /// [`close`](EventSource::close) in a follower leaves that tab only; in the leader it hands
    /// over. When the leader's connection ends for good (a `204`, a fatal answer, the attempt
    /// limit), every tab reads the same [`Closed`](crate::ConnectionState::Closed). The
    /// supervisor, the watchdog and classification run in the leader.
    ///
    /// Where the Web Locks API or `BroadcastChannel` is missing (or the page is not a secure
    /// context), each tab connects by itself and says so ([`TabRole::Unsupported`](crate::TabRole::Unsupported)).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let source = tidings::EventSource::builder("/api/events").share_across_tabs(true).open()?;
    /// let _role = source.on_sharing(|sharing| web_sys::console::log_1(&sharing.to_string().into()));
    /// # Ok::<(), tidings::Error>(())
    /// ```
    pub fn share_across_tabs(mut self, share: bool) -> Self {
        // The only path to the sharing code: a page that never calls this links none of it.
        self.options.tabs = if share { Some(&crate::tabs::SHARING) } else { None };
        // Tabs tell each other whether they are visible.
        if share {
            self.options.visibility = Some(&crate::driver::WATCH_VISIBILITY);
        }
        self
    }

    /// What to do while the page is hidden. Default: [`HiddenTabPolicy::KeepOpen`].
    ///
    /// With [`HiddenTabPolicy::CloseAfter`], a page hidden that long without a break (a
    /// background tab, a minimised window) closes its connection and reads
    /// [`Hidden`](crate::ConnectionState::Hidden) (not closed for good: handlers and streams stay);
    /// when the page is visible again it connects at once after the last event id, so a server
    /// that resumes by id sends what was missed. A tab opened in the background counts as
    /// hidden from the start.
    ///
    /// With [`share_across_tabs`](Self::share_across_tabs), only the leader has a connection:
    /// a hidden leader hands it to a visible tab when there is one, and closes it only when
    /// every tab is hidden (all of them read `Hidden`); the first tab to be visible again then
    /// gets it back.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use tidings::HiddenTabPolicy;
    ///
    /// let source = tidings::EventSource::builder("/api/events")
    ///     .hidden_tab_policy(HiddenTabPolicy::CloseAfter(Duration::from_secs(5 * 60)))
    ///     .open()?;
    /// # Ok::<(), tidings::Error>(())
    /// ```
    pub fn hidden_tab_policy(mut self, policy: HiddenTabPolicy) -> Self {
        self.options.hidden_tab_policy = policy;
        // The only path to the visibility watcher but sharing: a page that sets neither links
        // none of it.
        self.options.visibility = Some(&crate::driver::WATCH_VISIBILITY);
        self
    }

    /// For tests of the hidden-tab policy: read the page's visibility from `target` (its
    /// `hidden` property, and its `visibilitychange` events) instead of the document, so that
    /// several sources of one page can act as tabs of their own. Not for applications.
    #[doc(hidden)]
    pub fn visibility_target(mut self, target: web_sys::EventTarget) -> Self {
        self.options.visibility_target = Some(target);
        self
    }

    /// Opens the connection. The URL may be relative to the page.
    ///
    /// # Errors
    /// [`Error::InvalidUrl`] when the browser cannot parse the URL; it never panics.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let error = tidings::EventSource::builder("http://[").open().unwrap_err();
    /// assert!(matches!(error, tidings::Error::InvalidUrl { .. }));
    /// ```
    pub fn open(self) -> Result<EventSource, Error> {
        EventSource::open(&self.url, self.options)
    }
}
