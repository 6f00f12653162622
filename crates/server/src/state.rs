use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tidings_wire::{Event, Topic};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::demo::DemoState;
use crate::rate_limit;
use crate::{Config, EventLog, MemoryLog, Record};

/// What every request handler shares: the settings, the event log and the shutdown signal.
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
    log: Arc<dyn EventLog>,
    demo: tokio::sync::Mutex<DemoState>,
    shutdown: CancellationToken,
    last_client_id: AtomicU64,
    drops: broadcast::Sender<DropOrder>,
    admin_token: String,
    limits: rate_limit::Limits,
    /// Visits per key of the scripted `/test/sequence/{key}` endpoint.
    sequences: std::sync::Mutex<HashMap<String, u32>>,
    held: std::sync::Mutex<HashMap<String, Arc<std::sync::atomic::AtomicUsize>>>,
}

/// An order to close streams: every one, or one client's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DropOrder {
    All,
    Client(u64),
}

impl AppState {
    /// New state with the embedded in-memory log (`--log-capacity` events), whose epoch is the
    /// current time in milliseconds.
    ///
    /// ```
    /// use clap::Parser;
    /// let state = tidings_server::AppState::new(tidings_server::Config::parse_from(["x"]));
    /// assert!(state.log().epoch() > 0);
    /// ```
    pub fn new(config: Config) -> Self {
        let epoch = crate::clock::now_ms().max(1);
        let log = MemoryLog::new(epoch, config.log_capacity);
        Self::with_log(config, Arc::new(log))
    }

    /// New state over another [`EventLog`] backend.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use clap::Parser;
    /// use tidings_server::{AppState, Config, MemoryLog};
    ///
    /// let state = AppState::with_log(Config::parse_from(["x"]), Arc::new(MemoryLog::new(42, 10)));
    /// assert_eq!(state.log().epoch(), 42);
    /// ```
    pub fn with_log(config: Config, log: Arc<dyn EventLog>) -> Self {
        crate::metrics::install();
        Self {
            inner: Arc::new(Inner {
                log,
                demo: tokio::sync::Mutex::default(),
                shutdown: CancellationToken::new(),
                last_client_id: AtomicU64::new(0),
                drops: broadcast::channel(16).0,
                admin_token: format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..)),
                limits: rate_limit::limits(&config),
                sequences: std::sync::Mutex::default(),
                held: std::sync::Mutex::default(),
                config,
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

    /// The event log every event is stored in and fanned out from.
    ///
    /// ```
    /// # use clap::Parser;
    /// # let state = tidings_server::AppState::new(tidings_server::Config::parse_from(["x"]));
    /// let _receiver = state.log().subscribe();
    /// ```
    pub fn log(&self) -> &dyn EventLog {
        self.inner.log.as_ref()
    }

    /// Serialises `payload` once and appends it to the log under `topic` and `T::NAME`.
    ///
    /// # Errors
    /// The payload's serialisation error; nothing is stored then.
    ///
    /// ```
    /// # use clap::Parser;
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let state = tidings_server::AppState::new(tidings_server::Config::parse_from(["x"]));
    /// let tick = tidings_demo_events::Tick { seq: 1, value: 1.0, at_ms: 0 };
    /// let record = state.publish(tidings_wire::Topic::Ticker, &tick).await?;
    /// assert_eq!(record.id.seq(), 1);
    /// # Ok::<(), serde_json::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn publish<T: Event>(
        &self,
        topic: Topic,
        payload: &T,
    ) -> Result<Arc<Record>, serde_json::Error> {
        let data = serde_json::to_string(payload)?;
        let record = self.log().append(topic, T::NAME, &data).await;
        metrics::counter!(crate::metrics::EVENTS_PUBLISHED).increment(1);
        Ok(record)
    }

    /// The demo's state; publish its changes while holding the lock.
    pub(crate) fn demo(&self) -> &tokio::sync::Mutex<DemoState> {
        &self.inner.demo
    }

    /// The token that allows `POST /api/admin/drop` from other than loopback.
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

    /// Visits per key of the scripted sequence endpoint (test mode).
    /// The open-stream counter of a scripted `/test/held/{key}` key.
    pub(crate) fn held_counter(&self, key: &str) -> Arc<std::sync::atomic::AtomicUsize> {
        let mut held = self.inner.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if held.len() > 10_000 {
            held.retain(|_, count| count.load(Ordering::Relaxed) > 0);
        }
        Arc::clone(held.entry(key.to_owned()).or_default())
    }

    pub(crate) fn scripted_sequences(&self) -> std::sync::MutexGuard<'_, HashMap<String, u32>> {
        self.inner.sequences.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A new id for a stream.
    pub(crate) fn next_client_id(&self) -> u64 {
        self.inner.last_client_id.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Where drop orders are sent.
    pub(crate) fn drops(&self) -> &broadcast::Sender<DropOrder> {
        &self.inner.drops
    }

    /// Cancelled when the server shuts down; streams send `shutdown` and end when it is.
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
