use std::fmt;

/// Whether this tab holds the connection it reads, with
/// [`share_across_tabs`](crate::EventSourceBuilder::share_across_tabs).
///
/// # Examples
///
/// ```
/// use tidings::{Sharing, TabRole};
///
/// let sharing = Sharing { role: TabRole::Follower, tabs: 3 };
/// assert_eq!(sharing.to_string(), "follower (3 tabs share the connection)");
/// assert!(!sharing.role.holds_connection());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TabRole {
    /// Sharing is off; or this tab left its group: it closed, or it connected by itself because
    /// the leader could not give it the events since its last id. Its connection is its own.
    Alone,
    /// Sharing was asked for, but this page has no Web Locks API or no `BroadcastChannel` (an
    /// old browser, or a page that is not a secure context: `navigator.locks` needs HTTPS or
    /// `localhost`): this tab connects by itself.
    Unsupported,
    /// This tab holds the connection and relays its events to the other tabs.
    Leader,
    /// Another tab holds the connection; its events reach this tab's handlers through a
    /// `BroadcastChannel`, and this tab waits to lead when that tab goes.
    Follower,
}

impl TabRole {
    /// Whether this tab has a browser `EventSource` of its own (every role but
    /// [`Follower`](Self::Follower)).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(tidings::TabRole::Leader.holds_connection());
    /// ```
    pub fn holds_connection(self) -> bool {
        !matches!(self, Self::Follower)
    }
}

/// This tab's [`TabRole`] and how many tabs share the connection (itself included: 1 when it is
/// alone), as [`EventSource::sharing`](crate::EventSource::sharing) reports them.
///
/// # Examples
///
/// ```
/// use tidings::{Sharing, TabRole};
///
/// assert_eq!(Sharing { role: TabRole::Leader, tabs: 2 }.to_string(), "leader (2 tabs share the connection)");
/// assert_eq!(Sharing { role: TabRole::Alone, tabs: 1 }.to_string(), "not shared");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sharing {
    /// What this tab does.
    pub role: TabRole,
    /// How many tabs share the connection, this one included.
    pub tabs: u32,
}

impl Sharing {
    pub(crate) const ALONE: Self = Self { role: TabRole::Alone, tabs: 1 };
}

impl fmt::Display for Sharing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tabs = self.tabs;
        let share = |f: &mut fmt::Formatter<'_>, role: &str| match tabs {
            1 => write!(f, "{role} (the only tab)"),
            tabs => write!(f, "{role} ({tabs} tabs share the connection)"),
        };
        match self.role {
            TabRole::Alone => f.write_str("not shared"),
            TabRole::Unsupported => {
                f.write_str("not shared: this browser cannot share across tabs")
            }
            TabRole::Leader => share(f, "leader"),
            TabRole::Follower => share(f, "follower"),
        }
    }
}
