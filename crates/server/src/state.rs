use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use tokio_util::sync::CancellationToken;

use crate::{Config, Hub};

/// How many published events a slow stream may fall behind before it is closed (it then
/// reconnects).
const BROADCAST_CAPACITY: usize = 256;

/// What every request handler shares: the settings, the event hub and the shutdown signal.
/// Cloning is cheap (one reference count).
///
/// ```
/// use clap::Parser;
/// use tidings_server::{AppState, Config};
///
/// let state = AppState::new(Config::parse_from(["tidings-server"]));
/// assert_eq!(state.config().retry_ms, 3000);
/// ```
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: Config,
    hub: Hub,
    shutdown: CancellationToken,
}

impl AppState {
    /// New state with an empty hub whose epoch is the current time in milliseconds.
    ///
    /// ```
    /// use clap::Parser;
    /// let state = tidings_server::AppState::new(tidings_server::Config::parse_from(["x"]));
    /// assert!(state.hub().epoch() > 0);
    /// ```
    pub fn new(config: Config) -> Self {
        let epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |since| {
                u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
            });
        Self {
            inner: Arc::new(Inner {
                config,
                hub: Hub::new(epoch, BROADCAST_CAPACITY),
                shutdown: CancellationToken::new(),
            }),
        }
    }

    /// The server's settings.
    ///
    /// ```
    /// # use clap::Parser;
    /// # let state = tidings_server::AppState::new(tidings_server::Config::parse_from(["x"]));
    /// assert!(!state.config().test_mode);
    /// ```
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The hub every event is published to.
    ///
    /// ```
    /// # use clap::Parser;
    /// # let state = tidings_server::AppState::new(tidings_server::Config::parse_from(["x"]));
    /// let _receiver = state.hub().subscribe();
    /// ```
    pub fn hub(&self) -> &Hub {
        &self.inner.hub
    }

    /// Cancelled when the server shuts down; streams end when it is.
    ///
    /// ```
    /// # use clap::Parser;
    /// # let state = tidings_server::AppState::new(tidings_server::Config::parse_from(["x"]));
    /// assert!(!state.shutdown_token().is_cancelled());
    /// ```
    pub fn shutdown_token(&self) -> CancellationToken {
        self.inner.shutdown.clone()
    }
}
