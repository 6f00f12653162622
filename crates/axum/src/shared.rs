//! What the hub and its streams share: the log, the streams' settings, the drain, the open
//! streams' keys (this module owns them: registering, closing one, closing all), the metrics
//! every delivery touches, and the fan-out's writers (`direct.rs`). The hub (`hub.rs`) owns one
//! and hands it to each stream (`live.rs`, `own_stream.rs`, through `registration.rs`). Every
//! field is private to this module: the settings are read through its methods, the keys, the
//! drain and the hints changed only through them.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};
use std::time::Duration;

use tidings_wire::Topic;
use tokio::sync::broadcast;
use tokio::time::{MissedTickBehavior, interval_at};
use tokio_util::sync::CancellationToken;

use crate::direct::Fanout;
use crate::event_log::EventLog;
use crate::hint::Hint;
use crate::metrics as m;

/// Which records only matter as the newest of their kind: a stream that falls behind sends the
/// newest of a run of such records (same topic, same name) and skips the rest.
pub(crate) type LatestValue = dyn Fn(&Topic, &str) -> bool + Send + Sync;

pub(crate) struct Shared {
    log: Arc<dyn EventLog>,
    retry: Duration,
    heartbeat: Duration,
    latest_value: Box<LatestValue>,
    /// Cancelled on drain (for [`Hub::drain_started`](crate::Hub::drain_started)); streams read `draining`.
    shutdown: CancellationToken,
    /// Set on drain, before the hint on `closes` wakes every stream: streams look at it with an
    /// atomic load (a cancellation token's state is behind a lock every stream would share).
    draining: AtomicBool,
    /// The keys of the open streams, and of those ordered closed (until they end).
    keys: Mutex<Keys>,
    /// Wakes every stream to look at [`Keys`] after a close, and tells hub streams when to send
    /// a heartbeat: hints only (a stream that missed some does both), so no stream can be closed
    /// by others' orders.
    hints: broadcast::Sender<Hint>,
    /// The hub's one heartbeat timer is running (started by the first stream).
    beating: AtomicBool,
    /// The metrics every delivery touches, looked up once (not per event) from the recorder
    /// installed when the first stream delivers.
    delivered: OnceLock<metrics::Counter>,
    replayed: OnceLock<metrics::Counter>,
    queue_depth: OnceLock<metrics::Histogram>,
    /// The writers that write live records straight to waiting streams' sockets.
    fanout: Fanout,
}

/// The open streams' keys, and the closes ordered.
#[derive(Debug, Default)]
struct Keys {
    open: HashSet<u128>,
    /// Ordered closed by key, until the stream ends (few at a time).
    closing: HashSet<u128>,
    /// How many times every stream was ordered closed: a stream opened at an earlier count
    /// closes.
    all_closed: u64,
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
            hints: broadcast::channel(1).0,
            beating: AtomicBool::new(false),
            delivered: OnceLock::new(),
            replayed: OnceLock::new(),
            queue_depth: OnceLock::new(),
            fanout: Fanout::new(),
        }
    }

    /// The hub's log.
    pub(crate) fn log(&self) -> &Arc<dyn EventLog> {
        &self.log
    }

    /// The reconnection delay streams send in `retry:`.
    pub(crate) fn retry(&self) -> Duration {
        self.retry
    }

    /// How often hub streams send a `heartbeat` (an own stream: after how long quiet).
    pub(crate) fn heartbeat(&self) -> Duration {
        self.heartbeat
    }

    /// Whether records of this topic and name only matter as the newest of their kind.
    pub(crate) fn is_latest_value(&self, topic: &Topic, name: &str) -> bool {
        (self.latest_value)(topic, name)
    }

    /// Drains: the flag streams read with an atomic load, the token background tasks wait on,
    /// and a hint that wakes every stream to look.
    pub(crate) fn drain(&self) {
        self.draining.store(true, Ordering::SeqCst);
        self.shutdown.cancel();
        let _ = self.hints.send(Hint::Close);
    }

    /// Completes once [`drain`](Self::drain) is called.
    pub(crate) async fn drain_started(&self) {
        self.shutdown.cancelled().await;
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

    /// The hub's writers (`direct.rs`).
    pub(crate) fn fanout(&self) -> &Fanout {
        &self.fanout
    }

    fn keys(&self) -> std::sync::MutexGuard<'_, Keys> {
        self.keys.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Hints that wake a stream to look whether it was closed or the hub drains (a hint missed
    /// is still a hint: the truth is in the keys and the flag), and that tell it to send a
    /// heartbeat. The first call starts the hub's heartbeat timer: one for every stream rather
    /// than one each (a timer per stream cost each idle stream 0.16 KiB: the repository's
    /// `docs/benchmarks.md`), which ends with the hub or its drain.
    pub(crate) fn hints(self: &Arc<Self>) -> broadcast::Receiver<Hint> {
        if !self.beating.swap(true, Ordering::Relaxed) {
            tokio::spawn(beat(Arc::downgrade(self), self.heartbeat));
        }
        self.hints.subscribe()
    }

    /// A stream opens, known by `key` (0: none) until [`unregister`](Self::unregister); the
    /// count of close-everything orders now, for [`is_closed`](Self::is_closed).
    pub(crate) fn register(&self, key: u128) -> u64 {
        let mut keys = self.keys();
        if key != 0 {
            keys.open.insert(key);
        }
        keys.all_closed
    }

    /// The stream of `key` ended.
    pub(crate) fn unregister(&self, key: u128) {
        let mut keys = self.keys();
        keys.open.remove(&key);
        keys.closing.remove(&key);
    }

    /// Whether the stream of `key`, opened at close-everything count `opened_at`, was ordered
    /// closed since.
    pub(crate) fn is_closed(&self, key: u128, opened_at: u64) -> bool {
        let keys = self.keys();
        keys.all_closed != opened_at || keys.closing.contains(&key)
    }

    /// Orders the open stream of `key` closed; whether one was open.
    pub(crate) fn close(&self, key: u128) -> bool {
        let mut keys = self.keys();
        if !keys.open.contains(&key) {
            return false;
        }
        keys.closing.insert(key);
        drop(keys);
        // No stream to wake means the stream just ended by itself: nothing to close.
        let _ = self.hints.send(Hint::Close);
        true
    }

    /// Orders every open stream closed.
    pub(crate) fn close_all(&self) {
        self.keys().all_closed += 1;
        let _ = self.hints.send(Hint::Close);
    }

    /// How many streams are open (with a key).
    pub(crate) fn open_streams(&self) -> usize {
        self.keys().open.len()
    }
}

/// The hub's heartbeat timer: a [`Hint::Heartbeat`] every `every`, from the first stream on,
/// until the hub is gone or drains.
///
/// The mark that it stopped is made with the future, not in it: a task dropped before it first
/// runs (its runtime shut down) marks it too.
fn beat(shared: Weak<Shared>, every: Duration) -> impl Future<Output = ()> + Send {
    let stopped = Beating(shared.clone());
    async move {
        let _stopped = stopped;
        beat_until_gone(shared, every).await;
    }
}

async fn beat_until_gone(shared: Weak<Shared>, every: Duration) {
    let mut ticks = interval_at(tokio::time::Instant::now() + every, every);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(shared) = shared.upgrade() else { return };
        if shared.is_draining() {
            return;
        }
        let _ = shared.hints.send(Hint::Heartbeat);
    }
}

/// Marks the hub's timer stopped when its task ends, however it ends: its runtime may shut down
/// before the hub does (a hub shared by several runtimes, as tests may share one), and then the
/// next stream starts another.
struct Beating(Weak<Shared>);

impl Drop for Beating {
    fn drop(&mut self) {
        if let Some(shared) = self.0.upgrade() {
            shared.beating.store(false, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryLog;

    fn shared() -> Arc<Shared> {
        let log = Arc::new(MemoryLog::new(1, 16));
        Arc::new(Shared::new(
            log,
            Duration::from_secs(1),
            Duration::from_secs(15),
            Box::new(|_, _| false),
        ))
    }

    fn paused() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap()
    }

    #[test]
    fn heartbeats_go_on_in_the_next_runtime_when_the_first_ends() {
        let shared = shared();
        let first = paused();
        let mut hints = first.block_on(async { shared.hints() });
        first.block_on(async {
            let hint = hints.recv().await;
            assert_eq!(hint, Ok(Hint::Heartbeat), "from the timer of the first runtime");
        });
        drop(first);
        let second = paused();
        second.block_on(async {
            let mut hints = shared.hints();
            let hint = tokio::time::timeout(Duration::from_secs(20), hints.recv()).await;
            assert_eq!(hint.ok(), Some(Ok(Hint::Heartbeat)), "from a timer of its own");
        });
    }
}
