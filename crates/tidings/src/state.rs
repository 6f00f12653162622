use std::time::Duration;

/// Where a connection stands, as far as the browser lets us know.
///
/// The browser retries by itself after a dropped stream: that is
/// [`Reconnecting`](Self::Reconnecting) by [`Retrier::Browser`], not [`Closed`](Self::Closed).
/// When the browser gives up (an answer other than 200, a type other than
/// `text/event-stream`), the library's supervisor takes over and re-creates the connection after
/// a delay: [`Reconnecting`](Self::Reconnecting) by [`Retrier::Library`]. It reads `Closed` only
/// once nobody will try again.
///
/// `attempt` counts the attempts in a row since the connection was last open, from 1; it starts
/// again at 0 when a connection opens.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tidings::{CloseReason, ConnectionState, Retrier};
///
/// let state = ConnectionState::Reconnecting { attempt: 2, by: Retrier::Browser };
/// assert!(!state.is_open());
/// assert!(!state.is_closed());
/// assert_eq!(state.to_string(), "reconnecting (attempt 2, the browser retries)");
/// let state = ConnectionState::Reconnecting {
///     attempt: 3,
///     by: Retrier::Library { delay: Duration::from_millis(1_500) },
/// };
/// assert_eq!(state.to_string(), "reconnecting (attempt 3 in 1.5 s)");
/// assert_eq!(ConnectionState::Idle.to_string(), "not connected");
/// assert_eq!(
///     ConnectionState::Closed(CloseReason::Fatal { status: Some(404) }).to_string(),
///     "closed: the server answered 404, which cannot be retried"
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionState {
    /// No connection was asked for yet. A tidings [`EventSource`](crate::EventSource) never is:
    /// it connects when it opens. Layers that open later read it until then (tidings-leptos
    /// with `immediate(false)`, or while rendering on the server).
    Idle,
    /// A connection is being made: the first one (`attempt` 0), or one the library re-created
    /// (`attempt` from 1).
    Connecting {
        /// The attempt in a row this connection is, 0 for the first connection.
        attempt: u32,
    },
    /// The stream is open and events flow.
    Open,
    /// The connection was lost and somebody will try again.
    Reconnecting {
        /// The attempt in a row that comes next, from 1.
        attempt: u32,
        /// Who retries, and when.
        by: Retrier,
    },
    /// The page has been hidden longer than the
    /// [hidden-tab policy](crate::EventSourceBuilder::hidden_tab_policy) allows: the connection
    /// is closed, and opens again (after the last event id) as soon as the page is visible.
    /// Not [`is_closed`](Self::is_closed): events will come again.
    Hidden,
    /// No more events will come.
    Closed(CloseReason),
}

/// Who makes the next attempt of a [`Reconnecting`](ConnectionState::Reconnecting) connection.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let by = tidings::Retrier::Library { delay: Duration::from_secs(2) };
/// assert_eq!(by.delay(), Some(Duration::from_secs(2)));
/// assert_eq!(tidings::Retrier::Browser.delay(), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Retrier {
    /// The browser, after the stream's `retry:` hint or its own default (a few seconds); the page
    /// cannot learn when.
    Browser,
    /// This library, which re-creates the connection after `delay` (counted from the moment the
    /// state changed), sending the last event id in a query parameter.
    Library {
        /// How long until the next attempt.
        delay: Duration,
    },
}

impl Retrier {
    /// The delay before the next attempt, when it is known.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(tidings::Retrier::Browser.delay(), None);
    /// ```
    pub fn delay(self) -> Option<Duration> {
        match self {
            Self::Browser => None,
            Self::Library { delay } => Some(delay),
        }
    }
}

/// Why a connection is [`Closed`](ConnectionState::Closed).
///
/// # Examples
///
/// ```
/// assert_eq!(tidings::CloseReason::ByUser.to_string(), "closed by the user");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// [`EventSource::close`](crate::EventSource::close) was called.
    ByUser,
    /// The server answered `204 No Content` (the way a server tells an `EventSource` to stop), or
    /// sent `end` ([`tidings_wire::End`], as a tidings server does after a finished stream): the
    /// stream is over for good.
    Ended,
    /// The browser gave up and the answer is not worth retrying (401, 403, 404 and other client
    /// errors), or no reconnect policy was set. `status` is the HTTP status when the library
    /// could learn it: the browser's `EventSource` does not tell it (see
    /// [`EventSourceBuilder::classify_failures`](crate::EventSourceBuilder::classify_failures)).
    Fatal {
        /// The HTTP status, when known.
        status: Option<u16>,
    },
    /// The server answered `200` with a body that is not `text/event-stream` (a page's HTML
    /// fallback for an unknown path, say): another try would get the same. Told by the fetch
    /// transport, and by [`classify_failures`](crate::EventSourceBuilder::classify_failures)'s
    /// question after the browser's `EventSource` gave up.
    NotEventStream,
    /// The reconnect policy's attempt limit was reached.
    RetryLimit {
        /// How many attempts in a row failed.
        attempts: u32,
    },
}

impl ConnectionState {
    /// Whether events flow.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(tidings::ConnectionState::Open.is_open());
    /// ```
    pub fn is_open(self) -> bool {
        self == Self::Open
    }

    /// Whether no more events will come.
    ///
    /// # Examples
    ///
    /// ```
    /// use tidings::{CloseReason, ConnectionState};
    /// assert!(ConnectionState::Closed(CloseReason::ByUser).is_closed());
    /// ```
    pub fn is_closed(self) -> bool {
        matches!(self, Self::Closed(_))
    }

    /// A one-word name for the kind of state, for CSS classes and logs: `idle`, `connecting`,
    /// `open`, `reconnecting`, `hidden` or `closed`.
    ///
    /// # Examples
    ///
    /// ```
    /// use tidings::{ConnectionState, Retrier};
    /// assert_eq!(ConnectionState::Reconnecting { attempt: 3, by: Retrier::Browser }.name(), "reconnecting");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Connecting { .. } => "connecting",
            Self::Open => "open",
            Self::Reconnecting { .. } => "reconnecting",
            Self::Hidden => "hidden",
            Self::Closed(_) => "closed",
        }
    }
}

impl std::fmt::Display for ConnectionState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Idle => f.write_str("not connected"),
            Self::Connecting { attempt: 0 } => f.write_str("connecting"),
            Self::Connecting { attempt } => write!(f, "connecting (attempt {attempt})"),
            Self::Open => f.write_str("open"),
            Self::Reconnecting { attempt, by: Retrier::Browser } => {
                write!(f, "reconnecting (attempt {attempt}, the browser retries)")
            }
            Self::Reconnecting { attempt, by: Retrier::Library { delay } } => {
                // Tenths of a second, in 64-bit integers: neither float nor u128 formatting in
                // the wasm.
                let millis =
                    delay.as_secs().saturating_mul(1000) + u64::from(delay.subsec_millis());
                let tenths = millis.div_ceil(100);
                write!(f, "reconnecting (attempt {attempt} in {}.{} s)", tenths / 10, tenths % 10)
            }
            Self::Hidden => f.write_str("paused while the page is hidden"),
            Self::Closed(reason) => write!(f, "{reason}"),
        }
    }
}

impl std::fmt::Display for CloseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ByUser => f.write_str("closed by the user"),
            Self::Ended => f.write_str("closed: the server ended the stream"),
            Self::Fatal { status: Some(status) } => {
                write!(f, "closed: the server answered {status}, which cannot be retried")
            }
            Self::Fatal { status: None } => {
                f.write_str("closed: the browser gave up on the connection")
            }
            Self::NotEventStream => f.write_str(
                "closed: the server answered with something other than text/event-stream",
            ),
            Self::RetryLimit { attempts } => {
                write!(f, "closed: {attempts} attempts in a row failed")
            }
        }
    }
}
