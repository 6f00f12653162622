//! Fan-out without a wake-up per stream per event: the hub's writers write each record straight
//! to the sockets of the streams that wait for it.
//!
//! A hub stream served on the lean path (`lean.rs`) that has sent everything it had, and whose
//! frames went out as it made them, *joins* a shard of its hub: from then on the shard's writer,
//! one task, takes each live record (and each heartbeat) once, frames it once as an HTTP/1.1
//! chunk, and for every stream of the shard that wants it writes it to the socket without
//! waiting (one `send`). The stream's own task sleeps meanwhile: nothing wakes it per event.
//!
//! A stream goes back to its task (is *released*, and woken) whenever something needs more than a
//! write that completes at once: a socket that would block (the part of the chunks not written
//! goes out first, from the task, under the write deadline, so a slow client is cut off as
//! before), a record of another epoch (a `resync`), a close or the drain (the task looks at its
//! keys), a writer that fell behind its own queue or ended. The task then goes on from the last
//! record the writer covered with its own receiver, which holds what was published since the
//! stream joined (up to the channel's capacity: a stream further behind than that is closed to
//! resume by id, as one that overflowed), and joins again once it is caught up.
//!
//! No gap, no duplicate: a stream joins holding its shard's lock, and only after seeing its own
//! receiver empty under it, while the writer takes the lock for every record it has received: a
//! record sent before the join is in the stream's receiver, one sent after reaches the writer
//! after the join. Both sides skip records at or below the last id the stream covered.
//!
//! Order of the locks: a shard's, then a stream's (`Tap::state`).

use std::io::{self, IoSlice};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use axum::body::Bytes;
use slab::Slab;
use tidings_wire::EventId;
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};

use crate::Record;
use crate::hint::Hint;
use crate::selection::Selection;

/// A socket the hub's writers may write to without waiting; the lean path hands one to the
/// stream it serves.
pub(crate) trait DirectWrite: Send + Sync {
    /// Writes what it can of `pieces` now; `WouldBlock` when nothing.
    fn try_write_vectored(&self, pieces: &[IoSlice<'_>]) -> io::Result<usize>;
}

/// The most records a writer takes from its queue at once, and writes to a socket as one chunk
/// in one call (the pieces of a `writev`: these, a size line and an end).
const MOST_AT_ONCE: usize = 254;

/// A writer stops taking records at once past about this many bytes (as a stream's own batch).
const BATCH_BYTES: usize = 64 * 1024;

/// How many streams a writer writes to before it lets the runtime's other tasks run: a walk over
/// thousands of sockets at once would hold a worker thread for tens of milliseconds.
const TURN: usize = 256;

/// A hub's shards: each with its writer, so that writing is spread over the runtime's threads.
pub(crate) struct Fanout {
    shards: Box<[Arc<Shard>]>,
    /// The shard the next stream goes to (in turn).
    next: AtomicUsize,
}

impl Fanout {
    /// A shard per available core (at most 16).
    pub(crate) fn new() -> Self {
        let count = std::thread::available_parallelism().map_or(1, usize::from).min(16);
        let shards = (0..count).map(|_| Arc::new(Shard::default())).collect();
        Self { shards, next: AtomicUsize::new(0) }
    }

    /// A stream's place in the fan-out, selecting what `selection` admits; in a shard's turn.
    pub(crate) fn tap(&self, selection: Selection) -> Arc<Tap> {
        let turn = self.next.fetch_add(1, Ordering::Relaxed) % self.shards.len();
        Arc::new(Tap {
            shard: Arc::clone(&self.shards[turn]),
            selection,
            state: Mutex::new(TapState::default()),
        })
    }
}

/// Some of a hub's streams, written to by one writer.
#[derive(Default)]
struct Shard {
    state: Mutex<ShardState>,
}

#[derive(Default)]
struct ShardState {
    /// The streams the writer writes to.
    taps: Slab<Arc<Tap>>,
    /// The writer's task runs.
    writing: bool,
}

impl Shard {
    fn lock(&self) -> MutexGuard<'_, ShardState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Calls `visit` on every stream of the shard, [`TURN`] at a time with a yield in between; a
    /// stream it says no to (released) leaves the shard. A stream that joins meanwhile may be
    /// passed over: it joined after reading the records this walk writes.
    async fn walk(&self, mut visit: impl FnMut(&Tap) -> bool) {
        let mut key = 0;
        loop {
            {
                let mut shard = self.lock();
                let end = shard.taps.capacity();
                let mut visited = 0;
                while key < end && visited < TURN {
                    let kept = shard.taps.get(key).map(|tap| visit(tap));
                    if kept == Some(false) {
                        shard.taps.remove(key);
                    }
                    visited += usize::from(kept.is_some());
                    key += 1;
                }
                if key >= end {
                    return;
                }
            }
            tokio::task::yield_now().await;
        }
    }

    /// Writes `records` to the streams that want them; how many deliveries that made.
    async fn offer(&self, records: &[Arc<Record>]) -> u64 {
        if records.is_empty() {
            return 0;
        }
        // The chunk of a stream that takes every record: one buffer, one `write` (cheaper than a
        // `writev` of pieces).
        let every = match records {
            [record] => chunk(record.frame()),
            _ => chunk(
                &records.iter().map(|record| &record.frame()[..]).collect::<Vec<_>>().concat(),
            ),
        };
        let mut delivered = 0;
        self.walk(|tap| {
            let (count, kept) = tap.offer(records, &every);
            delivered += count;
            kept
        })
        .await;
        delivered
    }

    /// Writes `frame` (a heartbeat) to every stream.
    async fn offer_frame(&self, frame: &[u8]) {
        let chunk = chunk(frame);
        self.walk(|tap| tap.state().write(&[IoSlice::new(&chunk)], false)).await;
    }

    /// Every stream back to its task.
    fn release_all(&self) {
        self.lock().release_all();
    }
}

impl ShardState {
    /// Every stream back to its task.
    fn release_all(&mut self) {
        for tap in self.taps.drain() {
            tap.state().release();
        }
    }
}

/// What a shard's writer needs of its hub, given when the first stream joins.
pub(crate) struct Writer {
    /// The log's live records, subscribed before the first stream joined.
    pub(crate) records: broadcast::Receiver<Arc<Record>>,
    pub(crate) hints: broadcast::Receiver<Hint>,
    /// A heartbeat frame, made at each tick.
    pub(crate) heartbeat: fn() -> Bytes,
    pub(crate) delivered: metrics::Counter,
}

/// A shard's writer: records and heartbeats to its streams, until the hub is gone or the log's
/// live feed ends (a [`RedisLog`](crate::RedisLog) makes a new one when its store comes back: the
/// next stream to join starts a writer on it).
///
/// The mark that it stopped is made with the future, not in it: a task dropped before it first
/// runs (its runtime shut down) marks it too.
fn write(shard: Arc<Shard>, writer: Writer) -> impl Future<Output = ()> + Send {
    let stopped = Stopped(Arc::clone(&shard));
    async move {
        let _stopped = stopped;
        write_until_gone(&shard, writer).await;
    }
}

async fn write_until_gone(shard: &Shard, writer: Writer) {
    let Writer { mut records, mut hints, heartbeat, delivered } = writer;
    let mut batch = Vec::with_capacity(MOST_AT_ONCE);
    loop {
        tokio::select! {
            biased;
            hint = hints.recv() => match hint {
                Ok(Hint::Heartbeat) => shard.offer_frame(&heartbeat()).await,
                // A close or the drain: each stream's task looks at its keys (a hint missed may
                // have been one).
                Ok(Hint::Close) | Err(RecvError::Lagged(_)) => shard.release_all(),
                Err(RecvError::Closed) => return,
            },
            received = records.recv() => {
                match received {
                    Ok(record) => batch.push(record),
                    // Behind its own queue: the streams go on from what it covered for them.
                    Err(RecvError::Lagged(_)) => {
                        shard.release_all();
                        continue;
                    }
                    Err(RecvError::Closed) => return,
                }
                let mut bytes = batch[0].frame().len();
                while batch.len() < MOST_AT_ONCE && bytes < BATCH_BYTES {
                    match records.try_recv() {
                        Ok(record) => {
                            bytes += record.frame().len();
                            batch.push(record);
                        }
                        Err(TryRecvError::Lagged(_)) => {
                            // Write what it has first: those records were sent, in order.
                            delivered.increment(shard.offer(&batch).await);
                            batch.clear();
                            bytes = 0;
                            shard.release_all();
                        }
                        Err(_) => break,
                    }
                }
                delivered.increment(shard.offer(&batch).await);
                batch.clear();
            }
        }
    }
}

/// Marks a shard's writer stopped when its task ends, however it ends (its runtime may shut down
/// before the hub), and hands every stream back to its task: the next to join starts another.
struct Stopped(Arc<Shard>);

impl Drop for Stopped {
    fn drop(&mut self) {
        let mut shard = self.0.lock();
        shard.writing = false;
        shard.release_all();
    }
}

/// `data` as one HTTP/1.1 chunk: its size line, itself, CRLF.
pub(crate) fn chunk(data: &[u8]) -> Vec<u8> {
    let mut size = [0_u8; 18];
    let size = size_line(&mut size, data.len());
    let mut chunk = Vec::with_capacity(size.len() + data.len() + 2);
    chunk.extend_from_slice(size);
    chunk.extend_from_slice(data);
    chunk.extend_from_slice(b"\r\n");
    chunk
}

/// The size line of a chunk of `length` bytes, in `buffer`.
pub(crate) fn size_line(buffer: &mut [u8; 18], length: usize) -> &[u8] {
    use std::io::Write as _;
    let mut cursor = &mut buffer[..];
    let _ = write!(cursor, "{length:x}\r\n");
    let left = cursor.len();
    &buffer[..18 - left]
}

/// A hub stream's place in the fan-out: what it selects, its socket once the lean path gives it,
/// and whether its shard's writer writes to it.
pub(crate) struct Tap {
    shard: Arc<Shard>,
    selection: Selection,
    state: Mutex<TapState>,
}

/// A tap's state, kept small: every idle stream holds one.
#[derive(Default)]
struct TapState {
    /// The stream's socket, once the lean path gives it.
    socket: Option<Arc<dyn DirectWrite>>,
    /// The newest id the stream covered (sent, or skipped as not its own).
    covered: Option<EventId>,
    /// The stream's task, waiting to be released.
    waker: Option<Waker>,
    /// The end of chunks the writer began and the socket did not take: written first, by the
    /// stream's task.
    unwritten: Option<Box<[u8]>>,
    /// The last frame the stream made (its address and length, folded), and whether the
    /// connection wrote it as made: a layer that changed the stream's frames would see them
    /// bypassed.
    made: usize,
    /// Its key in the shard plus one while the writer writes to it; 0 while with its task.
    key: u32,
    written_as_made: bool,
}

impl TapState {
    /// Back to the stream's task, woken.
    fn release(&mut self) {
        self.key = 0;
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
    }

    /// Writes `pieces` now; keeps what the socket did not take for the stream's task and
    /// releases the stream if it did not take them all, or if `release` says so. Whether it
    /// stays with the writer.
    fn write(&mut self, pieces: &[IoSlice<'_>], release: bool) -> bool {
        let total: usize = pieces.iter().map(|piece| piece.len()).sum();
        let written = match &self.socket {
            Some(socket) if total > 0 => socket.try_write_vectored(pieces).unwrap_or(0),
            _ => 0,
        };
        if written == total && !release {
            return true;
        }
        if written < total {
            let mut rest = Vec::with_capacity(total - written);
            let mut skip = written;
            for piece in pieces {
                if skip >= piece.len() {
                    skip -= piece.len();
                    continue;
                }
                rest.extend_from_slice(&piece[skip..]);
                skip = 0;
            }
            self.unwritten = Some(rest.into_boxed_slice());
        }
        self.release();
        false
    }
}

/// The address and length of a frame, folded into one word.
fn fingerprint(address: usize, length: usize) -> usize {
    address ^ length.rotate_left(usize::BITS / 2)
}

/// A hub stream's [`Tap`], in its response's extensions: the lean path takes it out and gives it
/// the socket.
#[derive(Clone)]
pub(crate) struct Tapped(pub(crate) Arc<Tap>);

/// What came of a stream's asking to join.
pub(crate) enum Joining {
    /// The writer writes to it now: wait with [`Tap::poll_released`].
    Joined,
    /// Not now (no socket, a frame not written as made, or closed): go on as before.
    Not,
    /// Its receiver was not empty: what it held, for the stream itself.
    Received(Result<Arc<Record>, TryRecvError>),
}

impl Tap {
    fn state(&self) -> MutexGuard<'_, TapState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the stream sends `record`: of its topics, and admitted by its filter.
    pub(crate) fn admits(&self, record: &Record) -> bool {
        self.selection.admits(record)
    }

    /// The lean path gives the stream's socket.
    pub(crate) fn attach(&self, socket: Arc<dyn DirectWrite>) {
        self.state().socket = Some(socket);
    }

    /// The stream made `frame`.
    pub(crate) fn made(&self, frame: &Bytes) {
        let mut state = self.state();
        state.made = fingerprint(frame.as_ptr() as usize, frame.len());
        state.written_as_made = false;
    }

    /// The lean path wrote a chunk of the bytes at `address`, `length` long.
    pub(crate) fn wrote(&self, address: usize, length: usize) {
        let mut state = self.state();
        state.written_as_made = state.made == fingerprint(address, length);
    }

    /// What the writer began and the socket did not take; the lean path writes it before
    /// anything else of the stream.
    pub(crate) fn take_unwritten(&self) -> Option<Box<[u8]>> {
        self.state().unwritten.take()
    }

    /// Joins the shard, if the connection wrote everything the stream made as it was made, the
    /// stream is still wanted (`open`, asked under the shard's lock, so a close or drain ordered
    /// before is seen) and `receiver` is empty. Starts the shard's writer if it is not running.
    pub(crate) fn join(
        self: &Arc<Self>,
        receiver: &mut broadcast::Receiver<Arc<Record>>,
        covered: Option<EventId>,
        open: impl FnOnce() -> bool,
        writer: impl FnOnce() -> Writer,
    ) -> Joining {
        {
            let state = self.state();
            if state.socket.is_none() || !state.written_as_made {
                return Joining::Not;
            }
        }
        let mut shard = self.shard.lock();
        if !open() {
            return Joining::Not;
        }
        // The writer's queue first, so a record sent after the look below reaches it.
        if !shard.writing {
            shard.writing = true;
            tokio::spawn(write(Arc::clone(&self.shard), writer()));
        }
        match receiver.try_recv() {
            Err(TryRecvError::Empty) => {}
            other => return Joining::Received(other),
        }
        let key = shard.taps.insert(Arc::clone(self));
        let mut state = self.state();
        state.key = u32::try_from(key + 1).expect("fewer than 4 billion streams in a shard");
        state.covered = covered;
        Joining::Joined
    }

    /// Ready once released, with the newest id the writer covered for the stream.
    pub(crate) fn poll_released(&self, cx: &mut Context<'_>) -> Poll<Option<EventId>> {
        let mut state = self.state();
        if state.key != 0 {
            if !state.waker.as_ref().is_some_and(|waker| waker.will_wake(cx.waker())) {
                state.waker = Some(cx.waker().clone());
            }
            return Poll::Pending;
        }
        Poll::Ready(state.covered)
    }

    /// Ready once the connection took what the writer left unwritten (the stream sends nothing
    /// before: the connection looks for it whenever the stream has nothing).
    pub(crate) fn poll_unwritten_taken(&self) -> Poll<()> {
        if self.state().unwritten.is_some() { Poll::Pending } else { Poll::Ready(()) }
    }

    /// Leaves the shard (the stream ends).
    pub(crate) fn leave(&self) {
        let mut shard = self.shard.lock();
        let mut state = self.state();
        if state.key != 0 {
            shard.taps.remove(state.key as usize - 1);
            state.key = 0;
        }
    }

    /// Writes those of `records` this stream wants, as one chunk (`every` when it wants them
    /// all); how many, and whether it stays with the writer.
    fn offer(&self, records: &[Arc<Record>], every: &[u8]) -> (u64, bool) {
        let mut state = self.state();
        let mut covered = state.covered;
        let mut pieces = [IoSlice::new(&[]); MOST_AT_ONCE + 2];
        let mut count = 0;
        let mut length = 0;
        let mut new_epoch = false;
        for record in records {
            if let Some(covered) = covered {
                if record.id <= covered {
                    continue;
                }
                // A `resync` first: the stream's task sends it.
                if record.id.epoch() != covered.epoch() {
                    new_epoch = true;
                    break;
                }
            }
            covered = Some(record.id);
            if self.selection.admits(record) {
                count += 1;
                pieces[count] = IoSlice::new(record.frame());
                length += record.frame().len();
            }
        }
        state.covered = covered;
        let kept = if count == 0 {
            state.write(&[], new_epoch)
        } else if count == records.len() {
            state.write(&[IoSlice::new(every)], new_epoch)
        } else {
            let mut size = [0_u8; 18];
            let size = size_line(&mut size, length);
            pieces[0] = IoSlice::new(size);
            pieces[count + 1] = IoSlice::new(b"\r\n");
            state.write(&pieces[..count + 2], new_epoch)
        };
        (count as u64, kept)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    use tidings_wire::Topic;
    use tokio::sync::Notify;

    use super::*;

    /// A socket that takes at most `room` bytes, and says when it took some.
    struct Pipe {
        taken: Mutex<Vec<u8>>,
        room: AtomicUsize,
        wrote: Notify,
    }

    impl Pipe {
        fn new(room: usize) -> Arc<Self> {
            Arc::new(Self { taken: Mutex::default(), room: room.into(), wrote: Notify::new() })
        }

        fn taken(&self) -> Vec<u8> {
            self.taken.lock().unwrap().clone()
        }
    }

    impl DirectWrite for Pipe {
        fn try_write_vectored(&self, pieces: &[IoSlice<'_>]) -> io::Result<usize> {
            let mut taken = self.taken.lock().unwrap();
            let room = self.room.load(Ordering::Relaxed);
            let bytes: Vec<u8> = pieces.iter().flat_map(|piece| piece.iter().copied()).collect();
            let written = bytes.len().min(room);
            if written == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            taken.extend_from_slice(&bytes[..written]);
            self.room.store(room - written, Ordering::Relaxed);
            self.wrote.notify_one();
            Ok(written)
        }
    }

    fn record(epoch: u64, seq: u64) -> Arc<Record> {
        let data = format!("{{\"seq\":{seq}}}");
        Arc::new(Record::new(EventId::new(epoch, seq), Topic::from_static("ticks"), "tick", data))
    }

    /// What the hub gives a stream that joins: its queue of records and the writer's parts.
    struct Hub {
        records: broadcast::Sender<Arc<Record>>,
        hints: broadcast::Sender<Hint>,
    }

    impl Hub {
        fn new() -> Self {
            Self { records: broadcast::channel(64).0, hints: broadcast::channel(1).0 }
        }

        fn writer(&self) -> Writer {
            Writer {
                records: self.records.subscribe(),
                hints: self.hints.subscribe(),
                heartbeat: || Bytes::from_static(b"event: heartbeat\n\n"),
                delivered: metrics::Counter::noop(),
            }
        }

        /// A stream of `ticks` on `pipe` that sent its opening as made, joined after `covered`.
        fn joined(&self, pipe: &Arc<Pipe>, covered: EventId) -> Arc<Tap> {
            self.joined_in(&Fanout::new(), pipe, covered)
        }

        /// The same, in `fanout`.
        fn joined_in(&self, fanout: &Fanout, pipe: &Arc<Pipe>, covered: EventId) -> Arc<Tap> {
            let tap = fanout.tap(Selection::new([Topic::from_static("ticks")], None));
            tap.attach(Arc::clone(pipe) as Arc<dyn DirectWrite>);
            let opening = Bytes::from_static(b"retry: 1000\n\n");
            tap.made(&opening);
            tap.wrote(opening.as_ptr() as usize, opening.len());
            self.join(&tap, covered);
            tap
        }

        fn join(&self, tap: &Arc<Tap>, covered: EventId) {
            let mut receiver = self.records.subscribe();
            let joining = tap.join(&mut receiver, Some(covered), || true, || self.writer());
            assert!(matches!(joining, Joining::Joined));
        }
    }

    async fn released(tap: &Tap) -> Option<EventId> {
        let wait = std::future::poll_fn(|cx| tap.poll_released(cx));
        tokio::time::timeout(Duration::from_secs(5), wait).await.expect("released in time")
    }

    #[tokio::test]
    async fn the_writer_sends_what_the_stream_has_not_covered_once_in_one_chunk() {
        let hub = Hub::new();
        let pipe = Pipe::new(usize::MAX);
        let _tap = hub.joined(&pipe, EventId::new(1, 5));
        // A writer behind the stream comes to records it covered: skipped.
        for seq in 3..=7 {
            hub.records.send(record(1, seq)).unwrap();
        }
        pipe.wrote.notified().await;
        let frames = [record(1, 6).frame().clone(), record(1, 7).frame().clone()].concat();
        assert_eq!(pipe.taken(), chunk(&frames), "6 and 7, in one chunk");
    }

    #[tokio::test]
    async fn a_writer_reaches_every_stream_of_a_shard_larger_than_a_turn() {
        let hub = Hub::new();
        let fanout = Fanout::new();
        let streams = 3 * TURN * fanout.shards.len();
        let pipes: Vec<Arc<Pipe>> = (0..streams).map(|_| Pipe::new(usize::MAX)).collect();
        let _taps: Vec<Arc<Tap>> =
            pipes.iter().map(|pipe| hub.joined_in(&fanout, pipe, EventId::new(1, 5))).collect();
        hub.records.send(record(1, 6)).unwrap();
        for pipe in &pipes {
            tokio::time::timeout(Duration::from_secs(5), async {
                while pipe.taken().is_empty() {
                    pipe.wrote.notified().await;
                }
            })
            .await
            .expect("every stream written to");
            assert_eq!(pipe.taken(), chunk(record(1, 6).frame()));
        }
    }

    #[tokio::test]
    async fn what_the_socket_does_not_take_goes_back_to_the_stream_in_order() {
        let hub = Hub::new();
        let pipe = Pipe::new(10);
        let tap = hub.joined(&pipe, EventId::new(1, 5));
        hub.records.send(record(1, 6)).unwrap();
        assert_eq!(released(&tap).await, Some(EventId::new(1, 6)), "covered what it began");
        assert!(tap.poll_unwritten_taken().is_pending(), "the stream waits for the rest");
        let rest = tap.take_unwritten().expect("the rest of the chunk");
        assert_eq!([pipe.taken(), rest.into_vec()].concat(), chunk(record(1, 6).frame()));
        assert!(tap.poll_unwritten_taken().is_ready());
    }

    #[tokio::test]
    async fn a_record_of_another_epoch_goes_back_to_the_stream_unwritten() {
        let hub = Hub::new();
        let pipe = Pipe::new(usize::MAX);
        let tap = hub.joined(&pipe, EventId::new(1, 5));
        hub.records.send(record(2, 1)).unwrap();
        assert_eq!(released(&tap).await, Some(EventId::new(1, 5)), "for its resync");
        assert!(pipe.taken().is_empty() && tap.take_unwritten().is_none());
    }

    #[test]
    fn streams_go_back_when_their_writer_stops_and_the_next_join_starts_another() {
        let hub = Hub::new();
        let pipe = Pipe::new(usize::MAX);
        let runtime =
            || tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        let first = runtime();
        let tap = first.block_on(async { hub.joined(&pipe, EventId::new(1, 5)) });
        drop(first);
        let second = runtime();
        second.block_on(async {
            assert_eq!(released(&tap).await, Some(EventId::new(1, 5)), "released as it stopped");
            hub.join(&tap, EventId::new(1, 5));
            hub.records.send(record(1, 6)).unwrap();
            pipe.wrote.notified().await;
            assert_eq!(pipe.taken(), chunk(record(1, 6).frame()), "from a writer of its own");
        });
    }
}
