use std::rc::Rc;
use std::sync::Arc;

/// One event, decoded, with what the browser told about it.
///
/// # Examples
///
/// ```no_run
/// # let source = tidings::EventSource::builder("/api/events").open()?;
/// let _guard = source.on_named::<serde_json::Value>("anything", |received| {
///     if let Ok(message) = received {
///         let _: &serde_json::Value = &message.data;
///         let _: &str = message.event();              // "anything"
///         let _: String = message.last_event_id();    // the id in force after this event
///         let _: &str = message.origin();             // e.g. "https://example.com"
///     }
/// });
/// # Ok::<(), tidings::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Message<T> {
    /// The event's data, decoded.
    pub data: T,
    // Shared: every handler of an event gets them without an allocation.
    event: Arc<str>,
    /// The browser's event, for its `lastEventId`, read only when asked for.
    source: Rc<web_sys::MessageEvent>,
    /// The id carried into the browser source this event came from.
    carried: Arc<str>,
    origin: Arc<str>,
}

impl<T> Message<T> {
    pub(crate) fn new(
        data: T,
        event: Arc<str>,
        source: Rc<web_sys::MessageEvent>,
        carried: Arc<str>,
        origin: Arc<str>,
    ) -> Self {
        Self { data, event, source, carried, origin }
    }

    /// The event name (`message` for events sent without an `event:` field).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # let source = tidings::EventSource::builder("/api/events").open()?;
    /// let _guard = source.on_raw("comment", |message| assert_eq!(message.event(), "comment"));
    /// # Ok::<(), tidings::Error>(())
    /// ```
    pub fn event(&self) -> &str {
        &self.event
    }

    /// The last event id in force when this event was dispatched: this event's `id:`, or the
    /// most recent one before it (ids persist across events, and across the connections the
    /// library re-creates), or empty.
    ///
    /// Read from the browser's event when called: the browser makes a new string for every read
    /// of `lastEventId`, which would cost every event as much as decoding it.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # let source = tidings::EventSource::builder("/api/events").open()?;
    /// let _guard = source.on_raw("comment", |message| {
    ///     web_sys::console::log_1(&format!("id {}", message.last_event_id()).into());
    /// });
    /// # Ok::<(), tidings::Error>(())
    /// ```
    pub fn last_event_id(&self) -> String {
        let reported = self.source.last_event_id();
        crate::last_id::in_force(&reported, &self.carried).to_owned()
    }

    /// The origin of the stream, after redirects (`scheme://host:port`).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # let source = tidings::EventSource::builder("https://example.com/events").open()?;
    /// let _guard = source.on_raw("message", |message| {
    ///     assert_eq!(message.origin(), "https://example.com");
    /// });
    /// # Ok::<(), tidings::Error>(())
    /// ```
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The decoded data, without the rest.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # let source = tidings::EventSource::builder("/api/events").open()?;
    /// let _guard = source.on_message::<u64>(|received| {
    ///     let number: Option<u64> = received.ok().map(tidings::Message::into_data);
    ///     let _ = number;
    /// });
    /// # Ok::<(), tidings::Error>(())
    /// ```
    pub fn into_data(self) -> T {
        self.data
    }
}
