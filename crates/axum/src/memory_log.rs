use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use futures::FutureExt;
use futures::future::{BoxFuture, ready};
use tidings_wire::{EventId, Topic};
use tokio::sync::broadcast;

use crate::event_log::{AppendError, EventLog, Record, ResumeError};

/// The embedded event log: the newest `capacity` events in memory. A new process is a new epoch.
///
/// ```
/// use tidings_axum::{EventLog, MemoryLog, ResumeError};
/// use tidings_wire::{EventId, Topic};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let log = MemoryLog::new(9, 2);
/// let ticker = Topic::from_static("ticker");
/// for _ in 0..3 {
///     log.append(ticker.clone(), "message".into(), "{}".into()).await.unwrap();
/// }
/// // Only 9-2 and 9-3 are kept: resuming after 9-1 works, after nothing older does.
/// assert_eq!(log.read_after(EventId::new(9, 1)).await.unwrap().len(), 2);
/// assert_eq!(log.read_after(EventId::new(8, 1)).await.unwrap_err(), ResumeError::UnknownEpoch);
/// # });
/// ```
#[derive(Debug)]
pub struct MemoryLog {
    epoch: u64,
    capacity: usize,
    /// The kept records and the last seq given out. The lock also orders the broadcast sends.
    inner: Mutex<Ring>,
    sender: broadcast::Sender<Arc<Record>>,
}

#[derive(Debug)]
struct Ring {
    records: VecDeque<Arc<Record>>,
    last_seq: u64,
}

/// How many records a live stream may fall behind before it lags (and is closed to resume).
const LIVE_BUFFER: usize = 1024;

impl MemoryLog {
    /// An empty log for `epoch` keeping the newest `capacity` events (at least one).
    ///
    /// ```
    /// let log = tidings_axum::MemoryLog::new(1, 10_000);
    /// # let _ = log;
    /// ```
    pub fn new(epoch: u64, capacity: usize) -> Self {
        let (sender, _) = broadcast::channel(LIVE_BUFFER);
        Self {
            epoch,
            capacity: capacity.max(1),
            inner: Mutex::new(Ring { records: VecDeque::new(), last_seq: 0 }),
            sender,
        }
    }

    fn ring(&self) -> std::sync::MutexGuard<'_, Ring> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn read_after_now(&self, after: EventId) -> Result<Vec<Arc<Record>>, ResumeError> {
        if after.epoch() != self.epoch {
            return Err(ResumeError::UnknownEpoch);
        }
        let ring = self.ring();
        if after.seq() > ring.last_seq {
            return Err(ResumeError::FromTheFuture);
        }
        // The first kept seq; with nothing kept, the next one to come.
        let oldest = ring.records.front().map_or(ring.last_seq + 1, |record| record.id.seq());
        if after.seq() + 1 < oldest {
            return Err(ResumeError::Evicted);
        }
        let skip = usize::try_from(after.seq() + 1 - oldest).unwrap_or(usize::MAX);
        Ok(ring.records.iter().skip(skip).cloned().collect())
    }
}

impl EventLog for MemoryLog {
    fn epoch(&self) -> u64 {
        self.epoch
    }

    fn head(&self) -> Option<EventId> {
        let last = self.ring().last_seq;
        (last > 0).then(|| EventId::new(self.epoch, last))
    }

    fn append(
        &self,
        topic: Topic,
        name: Cow<'static, str>,
        data: String,
    ) -> BoxFuture<'_, Result<Arc<Record>, AppendError>> {
        let mut ring = self.ring();
        ring.last_seq += 1;
        let id = EventId::new(self.epoch, ring.last_seq);
        let record = Arc::new(Record::new(id, topic, name, data));
        ring.records.push_back(Arc::clone(&record));
        while ring.records.len() > self.capacity {
            ring.records.pop_front();
        }
        // Sent under the lock: subscribers see ids in order, and only readable ones.
        let _ = self.sender.send(Arc::clone(&record));
        drop(ring);
        ready(Ok(record)).boxed()
    }

    fn read_after(&self, after: EventId) -> BoxFuture<'_, Result<Vec<Arc<Record>>, ResumeError>> {
        ready(self.read_after_now(after)).boxed()
    }

    fn read_kept(&self) -> BoxFuture<'_, Result<Vec<Arc<Record>>, ResumeError>> {
        ready(Ok(self.ring().records.iter().cloned().collect())).boxed()
    }

    fn subscribe(&self) -> broadcast::Receiver<Arc<Record>> {
        self.sender.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log_with(capacity: usize, count: u64) -> MemoryLog {
        let log = MemoryLog::new(5, capacity);
        for _ in 0..count {
            futures::executor::block_on(log.append(topic("ticker"), "message".into(), "{}".into()))
                .unwrap();
        }
        log
    }

    fn topic(name: &str) -> Topic {
        Topic::new(name).unwrap()
    }

    fn seqs(records: &[Arc<Record>]) -> Vec<u64> {
        records.iter().map(|record| record.id.seq()).collect()
    }

    #[test]
    fn reads_everything_after_any_kept_id() {
        let log = log_with(4, 10); // keeps 7..=10
        assert_eq!(seqs(&log.read_after_now(EventId::new(5, 6)).unwrap()), [7, 8, 9, 10]);
        assert_eq!(seqs(&log.read_after_now(EventId::new(5, 8)).unwrap()), [9, 10]);
        assert_eq!(seqs(&log.read_after_now(EventId::new(5, 10)).unwrap()), Vec::<u64>::new());
    }

    #[test]
    fn says_why_an_id_cannot_be_served() {
        let log = log_with(4, 10);
        assert_eq!(log.read_after_now(EventId::new(5, 5)), Err(ResumeError::Evicted));
        assert_eq!(log.read_after_now(EventId::new(5, 11)), Err(ResumeError::FromTheFuture));
        assert_eq!(log.read_after_now(EventId::new(6, 3)), Err(ResumeError::UnknownEpoch));
    }

    #[test]
    fn an_empty_log_serves_nothing_yet() {
        let log = log_with(4, 0);
        assert_eq!(log.head(), None);
        assert_eq!(log.read_after_now(EventId::new(5, 1)), Err(ResumeError::FromTheFuture));
    }

    #[test]
    fn subscribers_get_records_in_order() {
        let log = MemoryLog::new(5, 4);
        let mut receiver = log.subscribe();
        for _ in 0..3 {
            futures::executor::block_on(log.append(
                topic("comments"),
                "comment".into(),
                "{}".into(),
            ))
            .unwrap();
        }
        for seq in 1..=3 {
            assert_eq!(receiver.try_recv().unwrap().id, EventId::new(5, seq));
        }
        assert_eq!(log.head(), Some(EventId::new(5, 3)));
    }
}
