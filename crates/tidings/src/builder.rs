use std::rc::Rc;

use wasm_bindgen::{JsCast, JsValue};
use web_sys::EventSourceInit;

use crate::{Error, EventSource};

/// Options for an [`EventSource`], then [`open`](Self::open).
///
/// Defaults: no credentials on cross-origin requests.
///
/// ```no_run
/// use tidings::EventSource;
///
/// let source = EventSource::builder("https://api.example.com/events")
///     .with_credentials(true)
///     .open()?;
/// # Ok::<(), tidings::Error>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `open` is called"]
pub struct EventSourceBuilder {
    url: String,
    with_credentials: bool,
}

impl EventSourceBuilder {
    pub(crate) fn new(url: String) -> Self {
        Self { url, with_credentials: false }
    }

    /// Send cookies and HTTP authentication with a cross-origin request (the server must answer
    /// with `Access-Control-Allow-Credentials: true` and the exact origin). Default: `false`.
    ///
    /// ```no_run
    /// let source = tidings::EventSource::builder("/events").with_credentials(true).open()?;
    /// # Ok::<(), tidings::Error>(())
    /// ```
    pub fn with_credentials(mut self, with_credentials: bool) -> Self {
        self.with_credentials = with_credentials;
        self
    }

    /// Opens the connection. The URL may be relative to the page.
    ///
    /// # Errors
    /// [`Error::InvalidUrl`] when the browser cannot parse the URL; it never panics.
    ///
    /// ```no_run
    /// let error = tidings::EventSource::builder("http://[").open().unwrap_err();
    /// assert!(matches!(error, tidings::Error::InvalidUrl { .. }));
    /// ```
    pub fn open(self) -> Result<EventSource, Error> {
        let init = EventSourceInit::new();
        init.set_with_credentials(self.with_credentials);
        match web_sys::EventSource::new_with_event_source_init_dict(&self.url, &init) {
            Ok(raw) => Ok(EventSource::from_raw(Rc::new(raw))),
            Err(error) => Err(Error::InvalidUrl { url: self.url, message: describe(&error) }),
        }
    }
}

/// `Name: message` for a JS error (a DOMException is one), its debug text otherwise.
fn describe(error: &JsValue) -> String {
    match error.dyn_ref::<js_sys::Error>() {
        Some(error) => format!("{}: {}", String::from(error.name()), String::from(error.message())),
        None => format!("{error:?}"),
    }
}
