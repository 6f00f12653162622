use serde::Serialize;
use serde::de::DeserializeOwned;

/// The event name the browser gives an event sent without an `event:` field.
///
/// `EventSource.onmessage` and `addEventListener("message", ..)` receive these; a contract type
/// sent that way uses this as its [`Event::NAME`].
///
/// # Examples
///
/// ```
/// assert_eq!(tidings_wire::MESSAGE, "message");
/// ```
pub const MESSAGE: &str = "message";

/// A payload type that travels as one named Server-Sent Event.
///
/// The name is the SSE `event:` field; the payload is the event's `data`, encoded as JSON with
/// serde. Implement it once, in a crate both ends depend on.
///
/// # Examples
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use tidings_wire::Event;
///
/// #[derive(Serialize, Deserialize)]
/// struct Comment {
///     author: String,
///     text: String,
/// }
///
/// impl Event for Comment {
///     const NAME: &'static str = "comment";
/// }
///
/// assert_eq!(<Comment as Event>::NAME, "comment");
/// ```
pub trait Event: Serialize + DeserializeOwned + 'static {
    /// The SSE event name. Use [`MESSAGE`] for events sent without an `event:` field.
    ///
    /// It must not contain CR, LF or NUL (the SSE framing forbids them), and should not be `open`
    /// or `error`, which a browser also fires for the connection itself.
    const NAME: &'static str;
}
