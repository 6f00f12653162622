/// Where a connection stands, as far as the browser lets us know.
///
/// The browser retries by itself after a dropped stream: that is
/// [`Reconnecting`](Self::Reconnecting), not [`Closed`](Self::Closed). It reads `Closed` only
/// once the browser has given up for good or the connection was closed on purpose.
///
/// ```
/// use tidings::{CloseReason, ConnectionState};
///
/// let state = ConnectionState::Reconnecting { attempt: 2 };
/// assert!(!state.is_open());
/// assert!(!state.is_closed());
/// assert_eq!(state.to_string(), "reconnecting (attempt 2)");
/// assert_eq!(ConnectionState::Closed(CloseReason::Fatal).to_string(), "closed: the server's answer cannot be retried");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionState {
    /// The first connection is being made.
    Connecting,
    /// The stream is open and events flow.
    Open,
    /// The connection dropped and the browser is trying again.
    Reconnecting {
        /// How many attempts since the connection was last open, from 1.
        attempt: u32,
    },
    /// No more events will come.
    Closed(CloseReason),
}

/// Why a connection is [`Closed`](ConnectionState::Closed).
///
/// ```
/// assert_eq!(tidings::CloseReason::ByUser.to_string(), "closed by the user");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// [`EventSource::close`](crate::EventSource::close) was called.
    ByUser,
    /// The browser gave up: the server answered with a status other than 200 or a type other than
    /// `text/event-stream`, or the request failed in a way the browser does not retry (CORS).
    Fatal,
}

impl ConnectionState {
    /// Whether events flow.
    ///
    /// ```
    /// assert!(tidings::ConnectionState::Open.is_open());
    /// ```
    pub fn is_open(self) -> bool {
        self == Self::Open
    }

    /// Whether no more events will come.
    ///
    /// ```
    /// use tidings::{CloseReason, ConnectionState};
    /// assert!(ConnectionState::Closed(CloseReason::ByUser).is_closed());
    /// ```
    pub fn is_closed(self) -> bool {
        matches!(self, Self::Closed(_))
    }

    /// A one-word name for the kind of state, for CSS classes and logs: `connecting`, `open`,
    /// `reconnecting` or `closed`.
    ///
    /// ```
    /// use tidings::ConnectionState;
    /// assert_eq!(ConnectionState::Reconnecting { attempt: 3 }.name(), "reconnecting");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Self::Connecting => "connecting",
            Self::Open => "open",
            Self::Reconnecting { .. } => "reconnecting",
            Self::Closed(_) => "closed",
        }
    }

    /// The state after the browser reported an error, given whether it is retrying
    /// (`readyState` CONNECTING) or gave up (CLOSED).
    pub(crate) fn after_error(self, browser_retries: bool) -> Self {
        match (browser_retries, self) {
            (false, _) => Self::Closed(CloseReason::Fatal),
            (true, Self::Reconnecting { attempt }) => {
                Self::Reconnecting { attempt: attempt.saturating_add(1) }
            }
            (true, _) => Self::Reconnecting { attempt: 1 },
        }
    }
}

impl std::fmt::Display for ConnectionState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Connecting => f.write_str("connecting"),
            Self::Open => f.write_str("open"),
            Self::Reconnecting { attempt } => write!(f, "reconnecting (attempt {attempt})"),
            Self::Closed(reason) => write!(f, "{reason}"),
        }
    }
}

impl std::fmt::Display for CloseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::ByUser => "closed by the user",
            Self::Fatal => "closed: the server's answer cannot be retried",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_count_attempts_until_the_browser_gives_up() {
        let mut state = ConnectionState::Open;
        state = state.after_error(true);
        assert_eq!(state, ConnectionState::Reconnecting { attempt: 1 });
        state = state.after_error(true);
        assert_eq!(state, ConnectionState::Reconnecting { attempt: 2 });
        state = state.after_error(false);
        assert_eq!(state, ConnectionState::Closed(CloseReason::Fatal));
    }

    #[test]
    fn a_first_connection_that_fails_and_retries_is_reconnecting() {
        assert_eq!(
            ConnectionState::Connecting.after_error(true),
            ConnectionState::Reconnecting { attempt: 1 }
        );
        assert_eq!(
            ConnectionState::Connecting.after_error(false),
            ConnectionState::Closed(CloseReason::Fatal)
        );
    }

    #[test]
    fn attempts_saturate() {
        let state = ConnectionState::Reconnecting { attempt: u32::MAX };
        assert_eq!(state.after_error(true), state);
    }
}
