/// One event, decoded, with what the browser told about it.
///
/// ```no_run
/// # let source = tidings::EventSource::builder("/api/events").open()?;
/// let _guard = source.on_named::<serde_json::Value>("anything", |received| {
///     if let Ok(message) = received {
///         let _: &serde_json::Value = &message.data;
///         let _: &str = &message.event;           // "anything"
///         let _: &str = &message.last_event_id;   // the id in force after this event
///         let _: &str = &message.origin;          // e.g. "https://example.com"
///     }
/// });
/// # Ok::<(), tidings::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Message<T> {
    /// The event's data, decoded.
    pub data: T,
    /// The event name (`message` for events sent without an `event:` field).
    pub event: String,
    /// The last event id in force when this event was dispatched: this event's `id:`, or the most
    /// recent one before it (ids persist across events), or empty.
    pub last_event_id: String,
    /// The origin of the stream, after redirects.
    pub origin: String,
}
