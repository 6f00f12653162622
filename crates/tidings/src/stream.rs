//! A source's events and states as `futures::Stream`s: a handler feeds a bounded buffer, the
//! stream reads it. Dropping the stream drops its handlers (and so the listener, when no other
//! handler wants the name); the stream ends once the source closes for good or is dropped.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::marker::PhantomData;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use futures_core::Stream;

use crate::{ConnectionState, DecodeError, Message, Subscription};

/// How many items a stream holds for a reader that has not read them yet, unless told otherwise
/// ([`MessageStream::capacity`]).
///
/// # Examples
///
/// ```no_run
/// let source = tidings::EventSource::new("/api/events")?;
/// // Room for a reader that awaits a request between two events.
/// let lines = source.raw_stream("message").capacity(4 * tidings::DEFAULT_CAPACITY);
/// # drop(lines);
/// # Ok::<(), tidings::Error>(())
/// ```
pub const DEFAULT_CAPACITY: usize = 1_024;

/// What a [`MessageStream`] yields instead of a message.
///
/// # Examples
///
/// ```
/// let error = tidings::StreamError::Lagged { missed: 3 };
/// assert_eq!(
///     error.to_string(),
///     "this stream's reader fell behind and the 3 oldest events it had not read were dropped: \
///      read it without awaiting other work in between, or give it a larger buffer with \
///      `MessageStream::capacity`"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StreamError {
    /// One event's data did not decode into the stream's type; the next item is the next
    /// event.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The buffer was full: the oldest unread events were dropped to make room (said once,
    /// before the items that are left).
    #[error(
        "this stream's reader fell behind and the {missed} oldest events it had not read were \
         dropped: read it without awaiting other work in between, or give it a larger buffer \
         with `MessageStream::capacity`"
    )]
    Lagged {
        /// How many events were dropped since the reader last heard of it.
        missed: u64,
    },
}

/// The events of one name, decoded, as a [`Stream`](futures_core::Stream): made by
/// [`EventSource::stream`](crate::EventSource::stream) (and `stream_named`, `raw_stream`).
///
/// Each item is the decoded [`Message`], or a [`StreamError`] for one event that did not
/// decode, or for events dropped because the reader fell behind. The stream ends (`None`) once
/// the source is closed for good ([`ConnectionState::Closed`]) or dropped, after the items
/// already buffered. Dropping the stream removes its handler at once.
///
/// **A slow reader.** Events arrive whether or not the stream is read: the stream keeps up to
/// [`DEFAULT_CAPACITY`] unread items (see [`capacity`](Self::capacity)). When a new event finds
/// the buffer full, the oldest unread one is dropped and the reader is told how many with one
/// [`StreamError::Lagged`] before the next item, so memory stays bounded and no loss goes
/// unsaid. A reader that awaits only the stream never falls behind: the browser runs it right
/// after each event (futures are woken in a microtask).
///
/// **Cost.** Each event wakes the reading task, a round trip through JavaScript: measured at
/// about two thirds of the events per second of a handler ([`EventSource::on`](crate::EventSource::on)),
/// which is the faster way to a high rate (`cargo xtask bench --part browser`, in the project's
/// docs/benchmarks.md).
///
/// # Examples
///
/// ```no_run
/// use futures::StreamExt;
///
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct Tick {
///     seq: u64,
/// }
/// impl tidings_wire::Event for Tick {
///     const NAME: &'static str = "tick";
/// }
///
/// let source = tidings::EventSource::new("/api/events")?;
/// wasm_bindgen_futures::spawn_local(async move {
///     let mut ticks = source.stream::<Tick>();
///     while let Some(tick) = ticks.next().await {
///         match tick {
///             Ok(tick) => web_sys::console::log_1(&format!("tick {}", tick.data.seq).into()),
///             Err(error) => web_sys::console::warn_1(&error.to_string().into()),
///         }
///     }
///     // The source closed for good.
/// });
/// # Ok::<(), tidings::Error>(())
/// ```
#[must_use = "a stream does nothing unless read; dropping it removes its handler"]
pub struct MessageStream<T> {
    buffer: Rc<Buffer<Result<Message<T>, StreamError>>>,
    _events: Subscription,
    _states: Subscription,
    _item: PhantomData<T>,
}

/// The changes of a source's [`ConnectionState`] as a [`Stream`](futures_core::Stream), from
/// [`EventSource::state_stream`](crate::EventSource::state_stream).
///
/// It yields every change after it was made (read the state at that moment with
/// [`EventSource::state`](crate::EventSource::state)), the last one being the
/// [`Closed`](ConnectionState::Closed) state, after which it ends; it also ends when the source
/// is dropped. A reader that falls behind by more than [`DEFAULT_CAPACITY`] changes loses the
/// oldest: the latest state is always yielded.
///
/// # Examples
///
/// ```no_run
/// use futures::StreamExt;
///
/// let source = tidings::EventSource::new("/api/events")?;
/// let mut states = source.state_stream();
/// wasm_bindgen_futures::spawn_local(async move {
///     while let Some(state) = states.next().await {
///         web_sys::console::log_1(&state.to_string().into());
///     }
///     drop(source);
/// });
/// # Ok::<(), tidings::Error>(())
/// ```
#[must_use = "a stream does nothing unless read; dropping it removes its handler"]
pub struct StateStream {
    buffer: Rc<Buffer<ConnectionState>>,
    _states: Subscription,
}

/// Unread items, shared by a stream and the handler that feeds it.
struct Buffer<I> {
    items: RefCell<VecDeque<I>>,
    capacity: Cell<usize>,
    /// Items dropped for room since the reader last heard of it.
    missed: Cell<u64>,
    ended: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

impl<I> Buffer<I> {
    fn new() -> Rc<Self> {
        Rc::new(Self {
            items: RefCell::default(),
            capacity: Cell::new(DEFAULT_CAPACITY),
            missed: Cell::new(0),
            ended: Cell::new(false),
            waker: RefCell::default(),
        })
    }

    /// Adds `item`, dropping the oldest when full (counted in `missed`).
    fn push(&self, item: I) {
        if self.ended.get() {
            return;
        }
        {
            let mut items = self.items.borrow_mut();
            while items.len() >= self.capacity.get().max(1) {
                items.pop_front();
                self.missed.set(self.missed.get() + 1);
            }
            items.push_back(item);
        }
        self.wake();
    }

    fn end(&self) {
        self.ended.set(true);
        self.wake();
    }

    fn wake(&self) {
        let waker = self.waker.borrow_mut().take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// The next item, `None` at the end, or pending (the waker kept).
    fn poll_next(&self, context: &Context<'_>) -> Poll<Option<I>> {
        if let Some(item) = self.items.borrow_mut().pop_front() {
            return Poll::Ready(Some(item));
        }
        if self.ended.get() {
            return Poll::Ready(None);
        }
        *self.waker.borrow_mut() = Some(context.waker().clone());
        Poll::Pending
    }
}

/// Owned by the handler that feeds a buffer: when the source drops its handlers (the source
/// was dropped), the stream ends.
struct Feed<I>(Rc<Buffer<I>>);

impl<I> Drop for Feed<I> {
    fn drop(&mut self) {
        self.0.end();
    }
}

impl<T: 'static> MessageStream<T> {
    /// A stream fed by `subscribe`, which registers a handler of the events and returns its
    /// subscription, and `on_state`, which does the same for states.
    pub(crate) fn new(
        subscribe: impl FnOnce(Box<dyn FnMut(Result<Message<T>, StreamError>)>) -> Subscription,
        on_state: impl FnOnce(Box<dyn FnMut(ConnectionState)>) -> Subscription,
    ) -> Self {
        let buffer = Buffer::new();
        let feed = Feed(Rc::clone(&buffer));
        let events = subscribe(Box::new(move |item| feed.0.push(item)));
        let states = on_state(end_when_closed(Rc::clone(&buffer)));
        Self { buffer, _events: events, _states: states, _item: PhantomData }
    }

    /// Keeps up to `capacity` unread items (at least 1) instead of [`DEFAULT_CAPACITY`]; see
    /// the type's docs for what a reader that falls behind gets.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # #[derive(serde::Serialize, serde::Deserialize)] struct Tick { seq: u64 }
    /// # impl tidings_wire::Event for Tick { const NAME: &'static str = "tick"; }
    /// let source = tidings::EventSource::new("/api/events")?;
    /// let ticks = source.stream::<Tick>().capacity(10_000);
    /// # drop(ticks);
    /// # Ok::<(), tidings::Error>(())
    /// ```
    pub fn capacity(self, capacity: usize) -> Self {
        self.buffer.capacity.set(capacity.max(1));
        self
    }
}

/// A state handler that ends the buffer's stream when the state is closed for good.
fn end_when_closed<I: 'static>(buffer: Rc<Buffer<I>>) -> Box<dyn FnMut(ConnectionState)> {
    Box::new(move |state: ConnectionState| {
        if state.is_closed() {
            buffer.end();
        }
    })
}

impl<T> Stream for MessageStream<T> {
    type Item = Result<Message<T>, StreamError>;

    fn poll_next(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let missed = self.buffer.missed.replace(0);
        if missed > 0 {
            return Poll::Ready(Some(Err(StreamError::Lagged { missed })));
        }
        self.buffer.poll_next(context)
    }
}

impl<T> fmt::Debug for MessageStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageStream")
            .field("buffered", &self.buffer.items.borrow().len())
            .field("capacity", &self.buffer.capacity.get())
            .field("ended", &self.buffer.ended.get())
            .finish_non_exhaustive()
    }
}

impl StateStream {
    pub(crate) fn new(
        on_state: impl FnOnce(Box<dyn FnMut(ConnectionState)>) -> Subscription,
    ) -> Self {
        let buffer = Buffer::new();
        let feed = Feed(Rc::clone(&buffer));
        let states = on_state(Box::new(move |state: ConnectionState| {
            feed.0.push(state);
            if state.is_closed() {
                feed.0.end();
            }
        }));
        Self { buffer, _states: states }
    }
}

impl Stream for StateStream {
    type Item = ConnectionState;

    fn poll_next(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        // A state reader that fell behind gets the states that are left: the latest is last.
        self.buffer.missed.set(0);
        self.buffer.poll_next(context)
    }
}

impl fmt::Debug for StateStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StateStream")
            .field("buffered", &self.buffer.items.borrow().len())
            .field("ended", &self.buffer.ended.get())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn poll<I>(buffer: &Buffer<I>) -> Poll<Option<I>> {
        buffer.poll_next(&Context::from_waker(Waker::noop()))
    }

    #[test]
    fn a_full_buffer_drops_the_oldest_and_counts_them() {
        let buffer = Buffer::new();
        buffer.capacity.set(3);
        for item in 1..=5 {
            buffer.push(item);
        }
        assert_eq!(buffer.missed.get(), 2);
        assert_eq!(poll(&buffer), Poll::Ready(Some(3)));
        assert_eq!(poll(&buffer), Poll::Ready(Some(4)));
        assert_eq!(poll(&buffer), Poll::Ready(Some(5)));
        assert_eq!(poll(&buffer), Poll::Pending);
    }

    #[test]
    fn the_end_comes_after_what_is_buffered_and_nothing_after_it() {
        let buffer = Buffer::new();
        buffer.push(1);
        let feed = Feed(Rc::clone(&buffer));
        drop(feed);
        buffer.push(2);
        assert_eq!(poll(&buffer), Poll::Ready(Some(1)));
        assert_eq!(poll(&buffer), Poll::Ready(None));
    }
}
