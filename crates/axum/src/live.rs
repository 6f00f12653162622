//! A hub stream's state once it runs: the opening, the backlog after the client's id (or a
//! `resync`), then live records, heartbeats, closes and the drain; batching what is ready,
//! coalescing latest-value records for a stream far behind, closing one that overflows.
//!
//! No gap, no duplicate: the stream subscribes to live records *before* it reads the backlog,
//! and then drops live records at or below the last id it has covered.

use std::collections::{BTreeSet, VecDeque};
use std::pin::Pin;
use std::sync::Arc;

use axum::body::Bytes;
use futures::{Stream, stream};
use tidings_wire::{EventId, ResyncReason, Topic};
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};
use tokio::time::{Instant, Sleep, sleep_until};

use crate::direct::{Joining, Tap, Writer};
use crate::frames::{end_frame, heartbeat, opening, resync, shutdown_frame};
use crate::hint::Hint;
use crate::registration::{Guards, Open};
use crate::selection::{RecordFilter, Selection};
use crate::shared::Shared;
use crate::stream_key::StreamKey;
use crate::{Record, metrics as m};

/// A stream this many records behind (half the live buffer of a [`MemoryLog`](crate::MemoryLog))
/// coalesces latest-value records (see [`HubBuilder::latest_value`](crate::HubBuilder::latest_value)):
/// only a client that really falls behind; one that is a few records behind gets them all, in one
/// write.
const COALESCE_WHEN_BEHIND: usize = 512;

/// Frames ready at once go out together, up to about this many bytes per write.
const BATCH_BYTES: usize = 64 * 1024;

/// Where a stream resumes: an id the client sent (unchecked text), or one the server chose.
#[derive(Debug)]
enum Resume {
    Text(String),
    Id(EventId),
}

/// What a hub stream is asked for, as [`EventStream`](crate::EventStream)'s builder sets it.
pub(crate) struct Spec {
    pub(crate) shared: Arc<Shared>,
    pub(crate) topics: BTreeSet<Topic>,
    pub(crate) filter: Option<Box<RecordFilter>>,
    pub(crate) resume_from: Option<String>,
    pub(crate) start_after: Option<EventId>,
    pub(crate) end_after: Option<&'static str>,
    pub(crate) close_at: Option<Instant>,
    pub(crate) guards: Guards,
}

/// The body of a hub stream: the opening frames, then the rest as the log and the clock give it;
/// and its place in the hub's fan-out, for the lean path to give it its socket.
pub(crate) fn body(spec: Spec) -> (impl Stream<Item = Bytes> + Send + use<>, Arc<Tap>) {
    let Spec { shared, topics, filter, resume_from, start_after, end_after, close_at, guards } =
        spec;
    // Subscribe before the backlog is read (on the first poll), so nothing appended in
    // between is missed.
    let receiver = shared.log().subscribe();
    let key = StreamKey::random();
    let opening = opening(&shared, key);
    let resume = match resume_from.filter(|text| !text.is_empty()) {
        Some(text) => Some(Resume::Text(text)),
        None => start_after.map(Resume::Id),
    };
    let hints = shared.hints();
    let tap = shared.fanout().tap(Selection::new(topics, filter));
    let live = Live {
        start: Some(Box::new(Start { opening, resume })),
        backlog: None,
        receiver,
        held: None,
        lagged: false,
        far_behind: false,
        delivered: 0,
        replayed: 0,
        covered: None,
        tap: Arc::clone(&tap),
        end_after,
        owes_end: false,
        done: false,
        hints,
        deadline: close_at.map(|at| Box::pin(sleep_until(at))),
        open: Open::new(shared, key),
        _guards: guards,
    };
    let body = stream::unfold(live, |mut live| async move {
        let frame = live.next_frame().await?;
        let batch = live.with_ready_frames(frame);
        live.count_delivered();
        live.tap.made(&batch);
        Some((batch, live))
    });
    (body, tap)
}

/// What a stream sends before it goes live; dropped once sent (an idle stream keeps only
/// what it needs to wait).
struct Start {
    /// `retry:` and `hello`.
    opening: Bytes,
    /// Where to resume.
    resume: Option<Resume>,
}

/// What is ready for a stream: a record to send, or a frame of the stream's own (a `resync`).
enum Ready {
    Record(Arc<Record>),
    Frame(Bytes),
}

/// The state of one stream.
struct Live {
    start: Option<Box<Start>>,
    /// Stored records still to send (none once the backlog is sent). Boxed on purpose: an idle
    /// stream holds 8 bytes for it, not a deque's 32.
    #[allow(clippy::box_collection)]
    backlog: Option<Box<VecDeque<Arc<Record>>>>,
    receiver: broadcast::Receiver<Arc<Record>>,
    /// A record taken off the queue while coalescing, sent next.
    held: Option<Arc<Record>>,
    /// The queue overflowed while coalescing: close after the record in hand.
    lagged: bool,
    /// At the last wake-up, the stream was [`COALESCE_WHEN_BEHIND`] records or more behind.
    far_behind: bool,
    /// Records in the frames made since the metrics last heard (counted once per write).
    delivered: u32,
    replayed: u32,
    /// The newest id this stream has already covered (sent, or skipped by a resync).
    covered: Option<EventId>,
    /// What it selects, and its place in the hub's fan-out (`direct.rs`).
    tap: Arc<Tap>,
    end_after: Option<&'static str>,
    /// The `end_after` event went out: `end` is owed before the stream ends.
    owes_end: bool,
    done: bool,
    /// Wakes the stream to see whether it was ordered closed, and to send a heartbeat (the
    /// hub's timer, one for every stream).
    hints: broadcast::Receiver<Hint>,
    /// When the stream closes by itself ([`EventStream::close_at`](crate::EventStream::close_at));
    /// boxed, so a stream without one holds 8 bytes for it.
    deadline: Option<Pin<Box<Sleep>>>,
    /// Also the stream's key and the hub's settings.
    open: Open,
    _guards: Guards,
}

impl Live {
    async fn next_frame(&mut self) -> Option<Bytes> {
        if let Some(start) = &mut self.start {
            if !start.opening.is_empty() {
                return Some(std::mem::take(&mut start.opening));
            }
            let resume = start.resume.take();
            self.start = None;
            // Boxed: read once, at the start; a waiting stream's state should not carry its room
            // (the log's future), which would be most of it.
            if let Some(resume) = resume
                && let Some(resync) = Box::pin(self.read_backlog(resume)).await
            {
                return Some(resync);
            }
        }
        if self.done {
            return std::mem::take(&mut self.owes_end).then(end_frame);
        }
        if let Some(frame) = self.stored_frame() {
            return Some(frame);
        }
        if self.lagged {
            return self.fell_behind();
        }
        loop {
            // The drain is a flag (one atomic load per wake-up, no lock) and a hint on `closes`
            // that wakes a waiting stream.
            if self.open.shared.is_draining() {
                self.done = true;
                return Some(shutdown_frame(&self.open.shared));
            }
            if self.may_join() {
                let shared = &self.open.shared;
                let open = || !shared.is_draining() && !self.open.is_closed();
                match self.tap.join(&mut self.receiver, self.covered, open, || writer_of(shared)) {
                    Joining::Joined => match self.released().await {
                        Some(next) => return next,
                        None => continue,
                    },
                    Joining::Not => {}
                    Joining::Received(Ok(record)) => match self.received(record) {
                        Some(frame) => return Some(frame),
                        None => continue,
                    },
                    Joining::Received(Err(TryRecvError::Lagged(_))) => return self.fell_behind(),
                    Joining::Received(Err(_)) => return None,
                }
            }
            let woken = tokio::select! {
                biased;
                // Before the live records, so a busy stream is closed as promptly as an idle one.
                // A hint missed (lagged) is still a hint, of either kind: the truth is in the
                // hub's keys, and a heartbeat too many harms no one.
                hint = self.hints.recv() => Woken::Hint(hint),
                received = self.receiver.recv() => Woken::Record(received),
                () = reached(&mut self.deadline) => Woken::Deadline,
            };
            match woken {
                Woken::Hint(hint) => {
                    if self.open.shared.is_draining() {
                        continue;
                    }
                    if hint == Ok(Hint::Heartbeat) {
                        return Some(heartbeat());
                    }
                    if self.open.is_closed() {
                        // Closed without a word, like a dropped connection: the client
                        // reconnects and resumes by id.
                        self.done = true;
                        return None;
                    }
                    if matches!(hint, Err(RecvError::Lagged(_))) {
                        return Some(heartbeat());
                    }
                }
                Woken::Record(received) => match received {
                    Ok(record) => match self.received(record) {
                        Some(frame) => return Some(frame),
                        None => continue,
                    },
                    Err(RecvError::Lagged(_)) => return self.fell_behind(),
                    Err(RecvError::Closed) => return None,
                },
                Woken::Deadline => {
                    // As a close: the client reconnects and resumes by id.
                    self.done = true;
                    return None;
                }
            }
        }
    }

    /// A live record taken off the queue: its frame, or nothing for this stream.
    fn received(&mut self, record: Arc<Record>) -> Option<Bytes> {
        // How far behind, once per wake-up (the queue's length is behind the channel's lock):
        // the histogram's sample, and whether this batch coalesces.
        let depth = self.receiver.len();
        self.far_behind = depth >= COALESCE_WHEN_BEHIND;
        let frame = self.live_frame(record)?;
        self.open.shared.queue_depth().record(depth as f64);
        Some(frame)
    }

    /// Whether the hub's writer may write to this stream: it sent all it had and only waits for
    /// live records and heartbeats (a stream that ends by itself, at an event or a time, stays
    /// with its task).
    fn may_join(&self) -> bool {
        self.start.is_none()
            && self.backlog.is_none()
            && self.held.is_none()
            && !self.lagged
            && !self.done
            && self.end_after.is_none()
            && self.deadline.is_none()
    }

    /// Waits while the hub's writer writes to this stream, then goes on from the newest id it
    /// covered: `Some` is what [`next_frame`](Self::next_frame) returns, `None` goes on waiting.
    ///
    /// Its receiver, not read meanwhile, still holds what was published since the stream
    /// joined, up to the channel's capacity: what the writer covered is skipped, and the first
    /// record left is taken as any other (so how far behind the stream is, and whether it
    /// coalesces, counts only what it has not been sent). If the receiver lagged and the oldest
    /// record kept is not the one after the newest covered, the stream is further behind than the
    /// queue holds: closed, as one that overflowed, to resume by id.
    async fn released(&mut self) -> Option<Option<Bytes>> {
        let covered = std::future::poll_fn(|cx| self.tap.poll_released(cx)).await;
        // Hints sent meanwhile are stale; a close among them is in the keys.
        self.hints = self.hints.resubscribe();
        std::future::poll_fn(|_| self.tap.poll_unwritten_taken()).await;
        if self.open.is_closed() {
            self.done = true;
            return Some(None);
        }
        if covered.is_some() {
            self.covered = covered;
        }
        let mut lagged = false;
        loop {
            match self.receiver.try_recv() {
                Ok(record) if covered.is_some_and(|covered| record.id <= covered) => {}
                Ok(record)
                    if lagged && !covered.is_some_and(|covered| follows(covered, record.id)) =>
                {
                    return Some(self.fell_behind());
                }
                Ok(record) => return self.received(record).map(Some),
                Err(TryRecvError::Lagged(_)) => lagged = true,
                Err(TryRecvError::Empty) => return None,
                Err(TryRecvError::Closed) => return Some(None),
            }
        }
    }

    /// The next record of the backlog, or the one held back while coalescing.
    fn stored_record(&mut self) -> Option<Arc<Record>> {
        if let Some(backlog) = &mut self.backlog {
            match backlog.pop_front() {
                Some(record) => {
                    self.replayed += 1;
                    return Some(record);
                }
                None => self.backlog = None,
            }
        }
        self.held.take()
    }

    /// The next frame of the backlog, or of the record held back while coalescing.
    fn stored_frame(&mut self) -> Option<Bytes> {
        let record = self.stored_record()?;
        Some(self.deliver(&record))
    }

    /// What a live record gives this stream: a `resync` for a new epoch, nothing for a record
    /// covered already or of another topic, else the record (or the newest of its kind,
    /// coalesced, for a stream far behind).
    fn live_record(&mut self, record: Arc<Record>) -> Option<Ready> {
        if let Some(resync) = self.new_epoch(&record) {
            return Some(Ready::Frame(resync));
        }
        if !self.wants(&record) {
            return None;
        }
        Some(Ready::Record(self.coalesce(record)))
    }

    /// The frame a live record makes for this stream (see [`live_record`](Self::live_record)).
    fn live_frame(&mut self, record: Arc<Record>) -> Option<Bytes> {
        match self.live_record(record)? {
            Ready::Frame(frame) => Some(frame),
            Ready::Record(record) => Some(self.deliver(&record)),
        }
    }

    /// `first`, followed by every frame that is ready without waiting (backlog, held, queued
    /// live records), up to [`BATCH_BYTES`]: one write for what is at hand instead of one per
    /// event. Heartbeats, closes and the drain are looked at before the next batch. A record's
    /// frame is copied from the record (no reference taken on the shared frame).
    fn with_ready_frames(&mut self, first: Bytes) -> Bytes {
        let mut batch: Option<Vec<u8>> = None;
        while !self.done && self.start.is_none() {
            let size = batch.as_ref().map_or(first.len(), Vec::len);
            if size >= BATCH_BYTES {
                break;
            }
            let next = match self.stored_record() {
                Some(record) => Ready::Record(record),
                None if self.lagged => break,
                None => match self.receiver.try_recv() {
                    Ok(record) => match self.live_record(record) {
                        Some(ready) => ready,
                        None => continue,
                    },
                    Err(broadcast::error::TryRecvError::Lagged(_)) => {
                        self.lagged = true;
                        break;
                    }
                    Err(_) => break,
                },
            };
            let batch = batch.get_or_insert_with(|| {
                let mut batch = Vec::with_capacity(BATCH_BYTES.min(first.len() * 16));
                batch.extend_from_slice(&first);
                batch
            });
            match next {
                Ready::Frame(frame) => batch.extend_from_slice(&frame),
                Ready::Record(record) => {
                    self.count(&record);
                    batch.extend_from_slice(record.frame());
                }
            }
        }
        batch.map_or(first, Bytes::from)
    }

    /// Tells the metrics what the last batch delivered (once per write, not per event).
    fn count_delivered(&mut self) {
        let shared = &self.open.shared;
        if self.delivered > 0 {
            shared.delivered_counter().increment(u64::from(std::mem::take(&mut self.delivered)));
        }
        if self.replayed > 0 {
            shared.replayed_counter().increment(u64::from(std::mem::take(&mut self.replayed)));
        }
    }

    /// Reads what the stream owes the client from the log: the backlog after the resume point,
    /// or a `resync` frame when that point cannot be served.
    async fn read_backlog(&mut self, resume: Resume) -> Option<Bytes> {
        let (after, text) = match resume {
            Resume::Id(id) => (Ok(id), None),
            Resume::Text(text) => (text.parse::<EventId>(), Some(text)),
        };
        let shown = || text.as_deref().unwrap_or_default().to_owned();
        let after = match after {
            Ok(after) => after,
            Err(_) => {
                self.covered = Some(self.head_or_start());
                return Some(resync(ResyncReason::Malformed, &shown(), self.covered));
            }
        };
        match self.open.shared.log().read_after(after).await {
            Ok(stored) => {
                self.covered = Some(stored.last().map_or(after, |record| record.id));
                let mut backlog = VecDeque::new();
                for record in stored.into_iter().filter(|record| self.tap.admits(record)) {
                    let ends = self.end_after == Some(&*record.name);
                    backlog.push_back(record);
                    if ends {
                        break;
                    }
                }
                if !backlog.is_empty() {
                    self.backlog = Some(Box::new(backlog));
                }
                None
            }
            Err(error) => match error.resync_reason() {
                Some(reason) => {
                    self.covered = Some(self.head_or_start());
                    Some(resync(reason, &shown(), self.covered))
                }
                // The store is away: end the stream; the client comes back with the same id.
                None => {
                    self.done = true;
                    None
                }
            },
        }
    }

    /// The log's newest id, or `<epoch>-0` before its first: where a resync moves the client.
    fn head_or_start(&self) -> EventId {
        let log = self.open.shared.log();
        log.head().unwrap_or_else(|| EventId::new(log.epoch(), 0))
    }

    /// A live record of another epoch than what the stream covered (a log whose store restarted
    /// empty): a `resync` that moves the client to just before it, the record held to follow.
    /// What the old epoch had after `covered` is gone: the client must know.
    fn new_epoch(&mut self, record: &Arc<Record>) -> Option<Bytes> {
        let covered = self.covered?;
        if covered.epoch() == record.id.epoch() {
            return None;
        }
        let before = EventId::new(record.id.epoch(), record.id.seq().saturating_sub(1));
        self.covered = Some(before);
        if self.wants(record) {
            self.held = Some(Arc::clone(record));
        } else {
            self.covered = Some(record.id);
        }
        Some(resync(ResyncReason::UnknownEpoch, &covered.to_string(), Some(before)))
    }

    /// Whether this stream sends `record`: not covered yet, of its topics and admitted by its
    /// filter. Covers it either way.
    fn wants(&mut self, record: &Record) -> bool {
        if self.covered.is_some_and(|covered| record.id <= covered) {
            return false;
        }
        self.covered = Some(record.id);
        self.tap.admits(record)
    }

    /// For a stream that is behind, the newest of a run of latest-value records of the same kind
    /// already queued; the first other record is held for the next frame, so order is kept and
    /// every other event is still sent. A stream that keeps up sends every record.
    fn coalesce(&mut self, mut record: Arc<Record>) -> Arc<Record> {
        if !self.far_behind || !self.open.shared.is_latest_value(&record.topic, &record.name) {
            return record;
        }
        loop {
            match self.receiver.try_recv() {
                Ok(next) => {
                    if !self.wants(&next) {
                        continue;
                    }
                    if next.topic == record.topic && next.name == record.name {
                        metrics::counter!(m::EVENTS_COALESCED).increment(1);
                        record = next;
                    } else {
                        self.held = Some(next);
                        return record;
                    }
                }
                Err(broadcast::error::TryRecvError::Lagged(_)) => {
                    self.lagged = true;
                    return record;
                }
                Err(_) => return record,
            }
        }
    }

    fn deliver(&mut self, record: &Record) -> Bytes {
        self.count(record);
        record.frame().clone()
    }

    /// Counts `record` as delivered, and ends the stream after it if it is the last.
    fn count(&mut self, record: &Record) {
        self.delivered += 1;
        if self.end_after == Some(&*record.name) {
            self.done = true;
            self.owes_end = true;
        }
    }

    /// The queue overflowed: close, and the client resumes from the log with its last id.
    fn fell_behind(&mut self) -> Option<Bytes> {
        tracing::warn!("a stream fell behind; closing it so the client resumes");
        metrics::counter!(m::CLIENTS_DROPPED_SLOW).increment(1);
        self.done = true;
        None
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.tap.leave();
    }
}

/// What the hub's writer for this stream's shard takes, if it is not running yet.
fn writer_of(shared: &Arc<Shared>) -> Writer {
    Writer {
        records: shared.log().subscribe(),
        hints: shared.hints(),
        heartbeat,
        delivered: shared.delivered_counter().clone(),
    }
}

/// What woke a stream waiting with its task.
enum Woken {
    Hint(Result<Hint, RecvError>),
    Record(Result<Arc<Record>, RecvError>),
    Deadline,
}

/// Whether `next` is the record right after `covered`.
fn follows(covered: EventId, next: EventId) -> bool {
    next.epoch() == covered.epoch() && Some(next.seq()) == covered.seq().checked_add(1)
}

/// Waits for `deadline`, or forever without one.
async fn reached(deadline: &mut Option<Pin<Box<Sleep>>>) {
    match deadline {
        Some(sleep) => sleep.as_mut().await,
        None => std::future::pending().await,
    }
}
