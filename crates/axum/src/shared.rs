//! What the hub and its streams share: the log, the streams' settings, the drain flag, the open
//! streams' keys and the metrics every delivery touches. The hub (`hub.rs`) owns one and hands
//! it to each stream (`stream.rs`); neither module imports the other's state.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use tidings_wire::Topic;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::event_log::EventLog;
use crate::metrics as m;

/// Which records only matter as the newest of their kind: a stream that falls behind sends the
/// newest of a run of such records (same topic, same name) and skips the rest.
pub(crate) type LatestValue = dyn Fn(&Topic, &str) -> bool + Send + Sync;

pub(crate) struct Shared {
    pub(crate) log: Arc<dyn EventLog>,
    pub(crate) retry: Duration,
    pub(crate) heartbeat: Duration,
    pub(crate) latest_value: Box<LatestValue>,
    /// Cancelled on drain (for [`Hub::drain_started`](crate::Hub::drain_started)); streams read `draining`.
    pub(crate) shutdown: CancellationToken,
    /// Set on drain, before the hint on `closes` wakes every stream: streams look at it with an
    /// atomic load (a cancellation token's state is behind a lock every stream would share).
    draining: AtomicBool,
    /// The keys of the open streams, and of those ordered closed (until they end).
    pub(crate) keys: Mutex<Keys>,
    /// Wakes every stream to look at [`Keys`] after a close: a hint only (a stream that missed
    /// some still looks), so no stream can be closed by others' orders.
    pub(crate) closes: broadcast::Sender<()>,
    /// The metrics every delivery touches, looked up once (not per event) from the recorder
    /// installed when the first stream delivers.
    delivered: OnceLock<metrics::Counter>,
    replayed: OnceLock<metrics::Counter>,
    queue_depth: OnceLock<metrics::Histogram>,
}

/// The open streams' keys, and the closes ordered.
#[derive(Debug, Default)]
pub(crate) struct Keys {
    pub(crate) open: HashSet<u128>,
    /// Ordered closed by key, until the stream ends (few at a time).
    pub(crate) closing: HashSet<u128>,
    /// How many times every stream was ordered closed: a stream opened at an earlier count
    /// closes.
    pub(crate) all_closed: u64,
}

impl Shared {
    pub(crate) fn new(
        log: Arc<dyn EventLog>,
        retry: Duration,
        heartbeat: Duration,
        latest_value: Box<LatestValue>,
    ) -> Self {
        Self {
            log,
            retry,
            heartbeat,
            latest_value,
            shutdown: CancellationToken::new(),
            draining: AtomicBool::new(false),
            keys: Mutex::default(),
            closes: broadcast::channel(1).0,
            delivered: OnceLock::new(),
            replayed: OnceLock::new(),
            queue_depth: OnceLock::new(),
        }
    }

    /// Marks the drain begun: streams see it with an atomic load.
    pub(crate) fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    pub(crate) fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    pub(crate) fn delivered_counter(&self) -> &metrics::Counter {
        self.delivered.get_or_init(|| metrics::counter!(m::EVENTS_DELIVERED))
    }

    pub(crate) fn replayed_counter(&self) -> &metrics::Counter {
        self.replayed.get_or_init(|| metrics::counter!(m::EVENTS_REPLAYED))
    }

    pub(crate) fn queue_depth(&self) -> &metrics::Histogram {
        self.queue_depth.get_or_init(|| metrics::histogram!(m::QUEUE_DEPTH))
    }

    pub(crate) fn keys(&self) -> std::sync::MutexGuard<'_, Keys> {
        self.keys.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
