use std::sync::Arc;

use axum::extract::FromRef;
use tidings_axum::{Hub, MemoryLog};

use crate::Config;
use crate::client::TrustedProxies;
use crate::demo_state::DemoState;
use crate::presence::LocalStreams;
use crate::projection::Projection;
use crate::rate_limit;
use crate::stream_quota::StreamQuota;

/// What every request handler shares: the settings, the engine's [`Hub`] and the demo's state.
/// Cloning is cheap (one reference count); a `State<Hub>` can be taken from it (`FromRef`).
///
/// # Examples
///
/// ```
/// use clap::Parser;
/// use tidings_server::{AppState, Config};
///
/// let state = AppState::new(Config::parse_from(["tidings-server"]));
/// assert_eq!(state.config().retry_ms, 3000);
/// assert_eq!(state.hub().open_streams(), 0);
/// ```
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: Config,
    hub: Hub,
    demo: tokio::sync::Mutex<DemoState>,
    local_streams: LocalStreams,
    stream_quota: Arc<StreamQuota>,
    trusted_proxies: TrustedProxies,
    projection: Arc<Projection>,
    /// Whether the projection follows the log yet (started with the router, on a runtime).
    following: std::sync::atomic::AtomicBool,
    /// This node's id among the servers sharing one log (random, 8 hex digits).
    node: String,
    admin_token: String,
    limits: rate_limit::Limits,
    /// Jobs this node is starting: counted against the cap until their start is in the view.
    jobs_starting: std::sync::atomic::AtomicUsize,
}

impl FromRef<AppState> for Hub {
    fn from_ref(state: &AppState) -> Self {
        state.inner.hub.clone()
    }
}

impl FromRef<AppState> for Arc<StreamQuota> {
    fn from_ref(state: &AppState) -> Self {
        Arc::clone(&state.inner.stream_quota)
    }
}

impl FromRef<AppState> for TrustedProxies {
    fn from_ref(state: &AppState) -> Self {
        state.inner.trusted_proxies.clone()
    }
}

impl AppState {
    /// New state with the engine's embedded in-memory log (`--log-capacity` events), whose epoch
    /// is the current time in milliseconds.
    ///
    /// # Examples
    ///
    /// ```
    /// use clap::Parser;
    /// let state = tidings_server::AppState::new(tidings_server::Config::parse_from(["x"]));
    /// assert!(state.hub().log().epoch() > 0);
    /// ```
    pub fn new(config: Config) -> Self {
        let epoch = crate::clock::now_ms().max(1);
        let log = MemoryLog::new(epoch, config.log_capacity);
        Self::with_log(config, log)
    }

    /// New state over another event log.
    ///
    /// # Examples
    ///
    /// ```
    /// use clap::Parser;
    /// use tidings_server::{AppState, Config};
    ///
    /// let state = AppState::with_log(Config::parse_from(["x"]), tidings_axum::MemoryLog::new(42, 10));
    /// assert_eq!(state.hub().log().epoch(), 42);
    /// ```
    pub fn with_log(config: Config, log: impl tidings_axum::EventLog) -> Self {
        let hub = Hub::builder()
            .log(log)
            .retry(config.retry())
            .heartbeat(config.heartbeat())
            .latest_value(crate::topics::is_latest_value)
            .build();
        let node = new_node_id();
        let projection = Projection::new(&node);
        Self {
            inner: Arc::new(Inner {
                hub,
                demo: tokio::sync::Mutex::default(),
                local_streams: LocalStreams::default(),
                stream_quota: StreamQuota::new(config.streams_per_client),
                trusted_proxies: TrustedProxies(config.trusted_proxies.clone().into()),
                projection,
                following: std::sync::atomic::AtomicBool::new(false),
                jobs_starting: std::sync::atomic::AtomicUsize::new(0),
                node,
                admin_token: new_token(),
                limits: rate_limit::limits(&config),
                config,
            }),
        }
    }

    /// The server's settings.
    ///
    /// # Examples
    ///
    /// ```
    /// # use clap::Parser;
    /// # let state = tidings_server::AppState::new(tidings_server::Config::parse_from(["x"]));
    /// assert_eq!(state.config().heartbeat_ms, 15_000);
    /// ```
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The streaming engine: the log, its fan-out and the open streams.
    ///
    /// # Examples
    ///
    /// ```
    /// # use clap::Parser;
    /// # let state = tidings_server::AppState::new(tidings_server::Config::parse_from(["x"]));
    /// let _receiver = state.hub().log().subscribe();
    /// ```
    pub fn hub(&self) -> &Hub {
        &self.inner.hub
    }

    /// Jobs this node is starting (reserved against the cap, not yet in the view).
    pub(crate) fn jobs_starting(&self) -> &std::sync::atomic::AtomicUsize {
        &self.inner.jobs_starting
    }

    /// What only this node knows of the demo (the typing limit).
    pub(crate) fn demo(&self) -> &tokio::sync::Mutex<DemoState> {
        &self.inner.demo
    }

    /// This node's open streams, for presence.
    pub(crate) fn local_streams(&self) -> &LocalStreams {
        &self.inner.local_streams
    }

    /// The demo's state as the log tells it.
    pub(crate) fn projection(&self) -> &Projection {
        &self.inner.projection
    }

    /// Starts applying the log to the demo's state, once, on the current Tokio runtime (called
    /// by [`app`](crate::app) and the `serve` functions; outside a runtime it waits for them).
    pub(crate) fn follow_log(&self) {
        use std::sync::atomic::Ordering;
        if tokio::runtime::Handle::try_current().is_err()
            || self.inner.following.swap(true, Ordering::SeqCst)
        {
            return;
        }
        let follow =
            crate::projection::follow(self.hub().clone(), Arc::clone(&self.inner.projection));
        tokio::spawn(follow);
    }

    /// This node's id among the servers sharing one log.
    ///
    /// # Examples
    ///
    /// ```
    /// # use clap::Parser;
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let state = tidings_server::AppState::new(tidings_server::Config::parse_from(["x"]));
    /// assert_eq!(state.node().len(), 8);
    /// # });
    /// ```
    pub fn node(&self) -> &str {
        &self.inner.node
    }

    /// The token `POST /api/admin/drop` needs (`Authorization: Bearer <token>`): 128 bits from
    /// the operating system's random source, new at every start.
    ///
    /// # Examples
    ///
    /// ```
    /// # use clap::Parser;
    /// # let state = tidings_server::AppState::new(tidings_server::Config::parse_from(["x"]));
    /// assert_eq!(state.admin_token().len(), 32);
    /// ```
    pub fn admin_token(&self) -> &str {
        &self.inner.admin_token
    }

    /// The rate limiter's settings and state.
    pub(crate) fn limits(&self) -> &rate_limit::Limits {
        &self.inner.limits
    }
}

/// A node id: 32 random bits in hex.
fn new_node_id() -> String {
    format!("{:08x}", fastrand::u32(..))
}

/// A new admin token: 128 bits from the operating system, in hex.
///
/// # Panics
/// When the operating system has no random source to give: the server must not start with a
/// guessable token.
pub(crate) fn new_token() -> String {
    let mut bytes = [0_u8; 16];
    if let Err(error) = getrandom::fill(&mut bytes) {
        panic!("no random bytes from the operating system for the admin token: {error}");
    }
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
