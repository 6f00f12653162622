//! The answer that made a connection give up, as the fetch transport read it.

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// An answer that could not become an event stream: a status other than `200`, or a `200`
/// that is not `text/event-stream`. Only the fetch transport reads it
/// ([`EventSourceBuilder::fetch`](crate::EventSourceBuilder::fetch)); the browser's
/// `EventSource` never shows it. See [`EventSource::failed_answer`](crate::EventSource::failed_answer).
///
/// # Examples
///
/// ```no_run
/// use futures::StreamExt;
/// use tidings::{CloseReason, ConnectionState, EventSource, FetchOptions};
///
/// # async fn run() -> Result<(), tidings::Error> {
/// let source = EventSource::builder("/api/events").fetch(FetchOptions::new()).open()?;
/// let mut states = source.state_stream();
/// while let Some(state) = states.next().await {
///     if let ConnectionState::Closed(CloseReason::Fatal { .. }) = state
///         && let Some(answer) = source.failed_answer()
///     {
///         // `WWW-Authenticate: Bearer error="invalid_token"`, say, and the server's words.
///         let challenge = answer.header("WWW-Authenticate");
///         let explanation = answer.text().await;
///         # let _ = (challenge, explanation);
///     }
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct FailedAnswer {
    response: web_sys::Response,
}

impl FailedAnswer {
    pub(crate) fn new(response: web_sys::Response) -> Self {
        Self { response }
    }

    /// The status: `401`, `403`, `503`, … or `200` with another content type.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn f(answer: tidings::FailedAnswer) {
    /// if answer.status() == 401 { /* sign in again */ }
    /// # }
    /// ```
    pub fn status(&self) -> u16 {
        self.response.status()
    }

    /// A header of the answer (as CORS lets the page read it, for another origin).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn f(answer: tidings::FailedAnswer) {
    /// let content_type = answer.header("Content-Type");
    /// # }
    /// ```
    pub fn header(&self, name: &str) -> Option<String> {
        self.response.headers().get(name).ok().flatten()
    }

    /// The answer's body as text, once: `None` when it was not kept (a `200`'s body is
    /// dropped, for it may never end), was read already, or failed to arrive.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn f(answer: tidings::FailedAnswer) {
    /// if let Some(body) = answer.text().await {
    ///     web_sys::console::log_1(&body.into());
    /// }
    /// # }
    /// ```
    pub async fn text(&self) -> Option<String> {
        // An aborted or already read body rejects: no text.
        let text = JsFuture::from(self.response.text().ok()?).await.ok()?;
        text.dyn_into::<js_sys::JsString>().ok().map(String::from)
    }

    /// The browser's `Response`, for what this type does not cover.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn f(answer: tidings::FailedAnswer) {
    /// let redirected = answer.as_raw().redirected();
    /// # }
    /// ```
    pub fn as_raw(&self) -> &web_sys::Response {
        &self.response
    }
}
