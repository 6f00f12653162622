use std::time::Duration;

use tidings::{EventSourceBuilder, ReconnectPolicy};

/// Options for [`use_event_source_with_options`](crate::use_event_source_with_options).
///
/// | option | default |
/// |---|---|
/// | [`with_credentials`](Self::with_credentials) | `false` |
/// | [`reconnect`](Self::reconnect) | [`ReconnectPolicy::default()`]: 1 s doubling to 30 s, full jitter, no limit |
/// | [`classify_failures`](Self::classify_failures) | `true` |
/// | [`heartbeat_timeout`](Self::heartbeat_timeout) | none: no watchdog |
/// | [`immediate`](Self::immediate) | `true`: connect at once |
///
/// They mean what the same options of [`tidings::EventSourceBuilder`] mean. A connection shared
/// through [`provide_event_sources`](crate::provide_event_sources) keeps the options of the
/// first user of its URL.
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
#[derive(Debug, Clone)]
pub struct UseEventSourceOptions {
    with_credentials: bool,
    reconnect: Option<ReconnectPolicy>,
    classify_failures: bool,
    heartbeat_timeout: Option<Duration>,
    immediate: bool,
}

impl Default for UseEventSourceOptions {
    fn default() -> Self {
        Self {
            with_credentials: false,
            reconnect: Some(ReconnectPolicy::default()),
            classify_failures: true,
            heartbeat_timeout: None,
            immediate: true,
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
    ///     .reconnect(Some(tidings::ReconnectPolicy::default().max_attempts(Some(5))));
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
        self.heartbeat_timeout = timeout;
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

    pub(crate) fn is_immediate(&self) -> bool {
        self.immediate
    }

    /// A tidings builder for `url` with these options.
    pub(crate) fn builder(&self, url: &str) -> EventSourceBuilder {
        let mut builder = tidings::EventSource::builder(url)
            .with_credentials(self.with_credentials)
            .classify_failures(self.classify_failures);
        builder = match self.reconnect {
            Some(policy) => builder.reconnect(policy),
            None => builder.without_reconnect(),
        };
        if let Some(timeout) = self.heartbeat_timeout {
            builder = builder.heartbeat_timeout(timeout);
        }
        builder
    }
}
