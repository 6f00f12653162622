use std::sync::{Arc, Mutex, PoisonError};

use tidings_wire::{Event, EventId, MESSAGE};
use tokio::sync::broadcast;

/// One published event, serialised once and shared by every stream that sends it.
///
/// ```
/// use tidings_server::Frame;
/// use tidings_wire::EventId;
///
/// let frame = Frame { id: EventId::new(1, 1), name: "comment", data: "{}".into() };
/// assert_eq!(frame.sse_name(), Some("comment"));
/// let unnamed = Frame { id: EventId::new(1, 2), name: tidings_wire::MESSAGE, data: "{}".into() };
/// assert_eq!(unnamed.sse_name(), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The event's id in the hub's epoch.
    pub id: EventId,
    /// The contract name ([`Event::NAME`]).
    pub name: &'static str,
    /// The payload as JSON (one line: serde_json never writes a raw newline).
    pub data: String,
}

impl Frame {
    /// The `event:` field to send, or `None` for the unnamed `message` event (the browser's
    /// default name, so the field is left out).
    ///
    /// ```
    /// # use tidings_server::Frame;
    /// # let frame = Frame { id: tidings_wire::EventId::new(1, 1), name: "x", data: String::new() };
    /// assert_eq!(frame.sse_name(), Some("x"));
    /// ```
    pub fn sse_name(&self) -> Option<&'static str> {
        (self.name != MESSAGE).then_some(self.name)
    }
}

/// Gives every published event the next id of its epoch and fans it out to every subscriber.
///
/// ```
/// use tidings_demo_events::Tick;
/// use tidings_server::Hub;
///
/// let hub = Hub::new(7, 16);
/// let mut receiver = hub.subscribe();
/// let id = hub.publish(&Tick { seq: 1, value: 1.0, at_ms: 0 })?;
/// assert_eq!(id.to_string(), "7-1");
/// assert_eq!(receiver.try_recv().unwrap().id, id);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug)]
pub struct Hub {
    epoch: u64,
    /// The last id given out. The lock also orders `send`s, so subscribers see ids in order.
    last: Mutex<EventId>,
    sender: broadcast::Sender<Arc<Frame>>,
}

impl Hub {
    /// An empty hub for `epoch`; a subscriber may fall `capacity` events behind before it lags.
    ///
    /// ```
    /// assert_eq!(tidings_server::Hub::new(3, 8).epoch(), 3);
    /// ```
    pub fn new(epoch: u64, capacity: usize) -> Self {
        let (sender, _) = broadcast::channel(capacity);
        Self {
            epoch,
            last: Mutex::new(EventId::new(epoch, 0)),
            sender,
        }
    }

    /// The epoch every id of this hub carries.
    ///
    /// ```
    /// assert_eq!(tidings_server::Hub::new(3, 8).epoch(), 3);
    /// ```
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Serialises `payload` once, gives it the next id and sends it to every subscriber.
    ///
    /// # Errors
    /// The payload's serialisation error; nothing is sent and no id is used then.
    ///
    /// ```
    /// # use tidings_demo_events::Tick;
    /// let hub = tidings_server::Hub::new(1, 8);
    /// let first = hub.publish(&Tick { seq: 1, value: 0.0, at_ms: 0 })?;
    /// let second = hub.publish(&Tick { seq: 2, value: 0.0, at_ms: 0 })?;
    /// assert_eq!(second, first.next());
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn publish<T: Event>(&self, payload: &T) -> Result<EventId, serde_json::Error> {
        let data = serde_json::to_string(payload)?;
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        let id = last.next();
        *last = id;
        // No subscriber is not an error: the event simply reaches nobody.
        let _ = self.sender.send(Arc::new(Frame {
            id,
            name: T::NAME,
            data,
        }));
        Ok(id)
    }

    /// A receiver of every event published from now on.
    ///
    /// ```
    /// let hub = tidings_server::Hub::new(1, 8);
    /// assert!(hub.subscribe().try_recv().is_err());
    /// ```
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Frame>> {
        self.sender.subscribe()
    }
}
