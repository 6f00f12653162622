/// Why an [`EventSource`](crate::EventSource) could not be opened
/// ([`EventSourceBuilder::open`](crate::EventSourceBuilder::open)). What goes wrong with one
/// event later is a [`DecodeError`], given to that event's handler or stream.
///
/// # Examples
///
/// ```
/// let error = tidings::Error::InvalidUrl { url: "http://[".into(), message: "SyntaxError".into() };
/// assert_eq!(
///     error.to_string(),
///     "cannot open an event source at \"http://[\": SyntaxError; give an absolute URL or a path \
///      relative to the page"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The browser refused the URL.
    #[error(
        "cannot open an event source at \"{url}\": {message}; give an absolute URL or a path \
         relative to the page"
    )]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// The browser's message.
        message: String,
    },
}

/// An event whose data could not be decoded into the handler's type: an error for that one
/// event, given to its handlers and streams. The connection stays open and the next event
/// arrives as usual.
///
/// It keeps the raw text, so nothing the server sent is lost. It usually means the server and
/// the page were built from different versions of the contract (reload the page), or that the
/// handler names the wrong type for the event.
///
/// # Examples
///
/// ```
/// let error = tidings::DecodeError {
///     event: "tick".into(),
///     data: "{oops".into(),
///     message: "key must be a string".into(),
///     line: 1,
///     column: 2,
/// };
/// assert_eq!(
///     error.to_string(),
///     "the data of a `tick` event is not the expected JSON: key must be a string (line 1, \
///      column 2); the event was skipped and the stream goes on: check that the page and the \
///      server use the same version of the event's type"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the data of a `{event}` event is not the expected JSON: {message} (line {line}, column \
     {column}); the event was skipped and the stream goes on: check that the page and the server \
     use the same version of the event's type"
)]
pub struct DecodeError {
    /// The event name.
    pub event: String,
    /// The event's data as the server sent it.
    pub data: String,
    /// serde's description of the problem.
    pub message: String,
    /// Where in `data` the problem is: line, from 1.
    pub line: usize,
    /// Where in `data` the problem is: column, from 1.
    pub column: usize,
}

impl DecodeError {
    pub(crate) fn new(event: &str, data: String, error: &serde_json::Error) -> Self {
        // serde_json's Display appends " at line L column C"; keep the message without it.
        let (line, column) = (error.line(), error.column());
        let mut message = error.to_string();
        let position = format!(" at line {line} column {column}");
        if message.ends_with(&position) {
            message.truncate(message.len() - position.len());
        }
        Self { event: event.to_owned(), data, message, line, column }
    }
}

/// `Name: message` for a JS error (a DOMException is one), its debug text otherwise.
pub(crate) fn describe(error: &wasm_bindgen::JsValue) -> String {
    use wasm_bindgen::JsCast;
    match error.dyn_ref::<js_sys::Error>() {
        Some(error) => format!("{}: {}", String::from(error.name()), String::from(error.message())),
        None => format!("{error:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_raw_text_and_where_it_went_wrong() {
        let data = "{\"seq\": 1,\n \"value\": oops}".to_owned();
        let serde_error = serde_json::from_str::<serde_json::Value>(&data).unwrap_err();
        let error = DecodeError::new("tick", data.clone(), &serde_error);
        assert_eq!(error.data, data);
        assert_eq!((error.line, error.column), (2, 11));
        assert_eq!(error.message, "expected value");
    }
}
