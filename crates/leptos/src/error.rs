/// The most recent problem of a connection, as
/// [`UseEventSource::last_error`](crate::UseEventSource::last_error) tells it.
///
/// # Examples
///
/// ```
/// let error = tidings_leptos::Error::from(tidings::Error::InvalidUrl {
///     url: "http://[".into(),
///     message: "SyntaxError".into(),
/// });
/// assert!(error.to_string().starts_with("cannot open an event source"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The connection could not be opened (the browser refused the URL).
    #[error(transparent)]
    Open(#[from] tidings::Error),
    /// An event's data did not decode into a handler's type; the stream goes on.
    #[error(transparent)]
    Decode(#[from] tidings::DecodeError),
}
