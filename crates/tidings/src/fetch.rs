//! The fetch transport: the stream read through `fetch` instead of the browser's `EventSource`,
//! for what that one cannot do (headers, a header function called before every connection, a
//! method and a body), and to know the status of a failed answer without asking again.
//!
//! It behaves as the browser's `EventSource` does (see `transport.rs`): it dispatches `open` and
//! `error` on its own `EventTarget` and hands each event to the listeners of its type (as an
//! object with a `MessageEvent`'s fields: building a `MessageEvent` cost more than all the rest),
//! reconnects by itself after a clean end or a network error (after the server's `retry` time,
//! sending `Last-Event-ID`), and gives up on any answer but a `200` with `text/event-stream`,
//! knowing why. A page that never names
//! [`FetchOptions`] links none of this: the only path to it is
//! [`EventSourceBuilder::fetch`](crate::EventSourceBuilder::fetch).

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};

use gloo_timers::callback::Timeout;
use wasm_bindgen::prelude::*;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    AbortController, EventTarget, Headers, Request, RequestCache, RequestCredentials, RequestInit,
    Response,
};

use crate::FailedAnswer;
use crate::classify::{Verdict, is_event_stream};
use crate::event_stream::{Parsed, Parser};
use crate::transport::{Connect, Transport};

#[wasm_bindgen]
extern "C" {
    /// The global `fetch`, in a window and in a worker alike.
    #[wasm_bindgen(js_name = fetch)]
    fn fetch_with_request(request: &Request) -> js_sys::Promise;
}

// `js/fetch.js` ships to browsers as written (neither Trunk nor wasm-bindgen minifies a
// snippet), so what it does is said here.
#[wasm_bindgen(module = "/js/fetch.js")]
extern "C" {
    /// What one connection's events share, in JavaScript: their origin, and the type of the
    /// latest (most events of a stream share one), set from wasm only when it changes
    /// ([`set_name`]), so that an event crosses with its data and id alone.
    #[wasm_bindgen(js_name = connection)]
    fn shared_by_events(origin: &str) -> JsValue;
    /// Sets the type of the events that follow.
    fn set_name(connection: &JsValue, name: &str);
    /// Hands one event of the stream to the target's listeners of its type.
    fn fire(target: &EventTarget, connection: &JsValue, data: &str, last_event_id: &str);
    /// Dispatches the connection's own `open` or `error`: a plain `Event`.
    fn fire_plain(target: &EventTarget, name: &str);
    /// The transport's `EventTarget` (a `FetchTarget`). `open` and `error` are dispatched as
    /// DOM events, as a browser `EventSource` dispatches them. An event of the stream is handed
    /// to the listeners of its type directly, as a plain object with what a `MessageEvent` has
    /// (`type`, `data`, `lastEventId`, `origin`, `timeStamp`): building a `MessageEvent` and
    /// dispatching it cost more than everything else an event takes. As in a DOM dispatch,
    /// listeners are called in the order they were added, one removed meanwhile is not called,
    /// and one that throws is reported (`reportError`) without stopping the others.
    fn new_target() -> EventTarget;
    /// The body's next chunk (a `Uint8Array`), or `undefined` at its end.
    fn next_chunk(reader: &JsValue) -> js_sys::Promise;
}

/// The reconnection time until the server sends `retry:` (Chrome's; Firefox waits 5 s).
const DEFAULT_RETRY_MS: u64 = 3_000;

/// A header function's future: the headers for one request.
type HeaderFuture = Pin<Box<dyn Future<Output = Vec<(String, String)>>>>;

/// How a source makes its request through `fetch` instead of the browser's `EventSource`:
/// headers, a function that gives fresh headers before every connection and reconnection (a
/// bearer token that expires), a method and a body. Given to
/// [`EventSourceBuilder::fetch`](crate::EventSourceBuilder::fetch).
///
/// Everything else stays as with the browser's `EventSource`: the same events, typed handlers,
/// streams and [`ConnectionState`](crate::ConnectionState)s, the reconnect policy and the
/// watchdog, and [`with_credentials`](crate::EventSourceBuilder::with_credentials) (the request's
/// `credentials`: `include` when set, else `same-origin`). What the fetch transport does better:
/// `Last-Event-ID` goes back as a header (no query parameter), and the status of a failed answer
/// is known at once ([`CloseReason::Fatal`](crate::CloseReason::Fatal) carries it, `Retry-After`
/// is waited out) without a second request. [`EventSource::as_raw`](crate::EventSource::as_raw)
/// is `None`: there is no browser object.
///
/// Defaults: `GET`, no body, no headers but `Accept: text/event-stream` and, when resuming,
/// `Last-Event-ID`; reconnection after 3 s until the server sends `retry:`.
///
/// A cross-origin server must allow the headers in its CORS answer
/// (`Access-Control-Allow-Headers: authorization, last-event-id`, and `content-type` for a JSON
/// body) and expose `Retry-After` (`Access-Control-Expose-Headers`) for it to be read. A refused
/// CORS answer looks like a network failure to `fetch`: the transport retries rather than
/// closing as the browser's `EventSource` does.
///
/// # Examples
///
/// A bearer token, fresh before every connection:
///
/// ```no_run
/// use tidings::{EventSource, FetchOptions};
///
/// async fn current_token() -> String {
///     // Ask the page's auth code for a token that has not expired.
///     "eyJhbGciOi…".to_owned()
/// }
///
/// let source = EventSource::builder("/api/events")
///     .fetch(FetchOptions::new().headers_with(|| async {
///         vec![("Authorization".to_owned(), format!("Bearer {}", current_token().await))]
///     }))
///     .open()?;
/// # Ok::<(), tidings::Error>(())
/// ```
///
/// A `POST` whose answer streams events back, as completion APIs do:
///
/// ```no_run
/// use tidings::{EventSource, FetchOptions};
///
/// let source = EventSource::builder("/api/complete")
///     .fetch(
///         FetchOptions::new()
///             .method("POST")
///             .header("Content-Type", "application/json")
///             .body(r#"{"prompt":"Once upon a time"}"#),
///     )
///     .open()?;
/// let _tokens = source.on_raw("token", |token| web_sys::console::log_1(&token.data.into()));
/// # Ok::<(), tidings::Error>(())
/// ```
#[derive(Clone, Default)]
#[must_use = "options do nothing until given to `EventSourceBuilder::fetch`"]
pub struct FetchOptions {
    method: Option<String>,
    headers: Vec<(String, String)>,
    headers_with: Option<Rc<dyn Fn() -> HeaderFuture>>,
    body: Option<String>,
}

impl FetchOptions {
    /// `GET`, no body, no headers of the caller's.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let source = tidings::EventSource::builder("/api/events")
    ///     .fetch(tidings::FetchOptions::new())
    ///     .open()?;
    /// # Ok::<(), tidings::Error>(())
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Sends this header with every request (added to what came before; a header function's
    /// headers come after).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let options = tidings::FetchOptions::new().header("X-Api-Key", "k-123");
    /// ```
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Calls `make` before every connection and reconnection (the browser's own retries after
    /// a dropped stream too) and sends the headers it gives: a token that expires is fetched
    /// afresh each time. The request waits for the future; the last event id is carried over
    /// whatever it takes. A `401` (the token expired between the call and the request) is
    /// tried again at once with fresh headers; a second `401` in a row stops for good
    /// ([`CloseReason::Fatal`](crate::CloseReason::Fatal) with the status).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    ///
    /// let attempts = Rc::new(Cell::new(0));
    /// let options = tidings::FetchOptions::new().headers_with(move || {
    ///     attempts.set(attempts.get() + 1);
    ///     let attempt = attempts.get();
    ///     async move { vec![("X-Attempt".to_owned(), attempt.to_string())] }
    /// });
    /// ```
    pub fn headers_with<F, Fut>(mut self, make: F) -> Self
    where
        F: Fn() -> Fut + 'static,
        Fut: Future<Output = Vec<(String, String)>> + 'static,
    {
        self.headers_with = Some(Rc::new(move || Box::pin(make()) as HeaderFuture));
        self
    }

    /// The request's method (`GET` by default).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let options = tidings::FetchOptions::new().method("POST").body("{}");
    /// ```
    pub fn method(mut self, method: impl Into<String>) -> Self {
        self.method = Some(method.into());
        self
    }

    /// The request's body, sent again with every reconnection (set its `Content-Type` with
    /// [`header`](Self::header)).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let options = tidings::FetchOptions::new()
    ///     .method("POST")
    ///     .header("Content-Type", "application/json")
    ///     .body(r#"{"job":7}"#);
    /// ```
    pub fn body(mut self, body: impl Into<String>) -> Self {
        self.body = Some(body.into());
        self
    }
}

/// Options are equal when they make the same requests: the same method, headers and body, and
/// the same header function (the very one: a clone of these options, not another closure).
///
/// # Examples
///
/// ```
/// use tidings::FetchOptions;
///
/// let options = FetchOptions::new().headers_with(|| async { Vec::new() });
/// assert_eq!(options.clone(), options);
/// assert_ne!(options, FetchOptions::new().headers_with(|| async { Vec::new() }));
/// ```
impl PartialEq for FetchOptions {
    fn eq(&self, other: &Self) -> bool {
        let same_function = match (&self.headers_with, &other.headers_with) {
            (Some(a), Some(b)) => Rc::ptr_eq(a, b),
            (a, b) => a.is_none() && b.is_none(),
        };
        same_function
            && self.method == other.method
            && self.headers == other.headers
            && self.body == other.body
    }
}

impl fmt::Debug for FetchOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Header values may be secrets: only their names.
        let names: Vec<&str> = self.headers.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("FetchOptions")
            .field("method", &self.method.as_deref().unwrap_or("GET"))
            .field("headers", &names)
            .field("headers_with", &self.headers_with.is_some())
            .field("body", &self.body.as_ref().map(String::len))
            .finish()
    }
}

impl Connect for FetchOptions {
    fn connect(
        &self,
        url: &str,
        last_id: &str,
        with_credentials: bool,
    ) -> Result<Rc<dyn Transport>, String> {
        let target = new_target();
        let inner = Rc::new(Inner {
            target,
            options: self.clone(),
            url: url.to_owned(),
            with_credentials,
            ready: Cell::new(Ready::Connecting),
            failure: Cell::new(None),
            answer: RefCell::default(),
            parser: RefCell::new(Parser::new(last_id)),
            retry_ms: Cell::new(DEFAULT_RETRY_MS),
            controller: RefCell::default(),
            refreshing: Cell::new(false),
            timer: RefCell::default(),
        });
        inner.start();
        Ok(Rc::new(FetchSource(inner)))
    }
}

/// The transport's `readyState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ready {
    Connecting,
    Open,
    Closed,
}

/// One fetch-transport connection, reconnecting by itself; closed when dropped.
struct FetchSource(Rc<Inner>);

impl Drop for FetchSource {
    fn drop(&mut self) {
        self.0.close();
    }
}

impl Transport for FetchSource {
    fn target(&self) -> &EventTarget {
        &self.0.target
    }

    fn retrying(&self) -> bool {
        self.0.ready.get() == Ready::Connecting
    }

    fn failure(&self) -> Option<Verdict> {
        self.0.failure.get()
    }

    fn failed_answer(&self) -> Option<FailedAnswer> {
        self.0.answer.borrow().clone()
    }

    fn close(&self) {
        self.0.close();
    }
}

/// What the request's task reaches through a `Weak`.
struct Inner {
    target: EventTarget,
    options: FetchOptions,
    url: String,
    with_credentials: bool,
    ready: Cell<Ready>,
    failure: Cell<Option<Verdict>>,
    /// The answer it gave up on.
    answer: RefCell<Option<FailedAnswer>>,
    /// The body's parsing state and the last event id, across connections.
    parser: RefCell<Parser>,
    retry_ms: Cell<u64>,
    /// Aborts the request in flight.
    controller: RefCell<Option<AbortController>>,
    /// The latest answer was a `401` that a fresh call of the header function is trying to
    /// mend.
    refreshing: Cell<bool>,
    /// The wait before the next connection.
    timer: RefCell<Option<Timeout>>,
}

impl Inner {
    fn closed(&self) -> bool {
        self.ready.get() == Ready::Closed
    }

    /// Stops for good: the request aborted, the next one never made.
    fn close(&self) {
        self.ready.set(Ready::Closed);
        let (controller, timer) =
            (self.controller.borrow_mut().take(), self.timer.borrow_mut().take());
        if let Some(controller) = controller {
            controller.abort();
        }
        drop(timer);
    }

    /// Makes a request (the task holds only a `Weak`: dropping the source ends it).
    fn start(self: &Rc<Self>) {
        let controller = AbortController::new().ok();
        *self.controller.borrow_mut() = controller.clone();
        wasm_bindgen_futures::spawn_local(connection(Rc::downgrade(self), controller));
    }

    /// The stream ended or the network failed: `error` with CONNECTING, then a new request
    /// after the retry time (a handler of `error` may close first).
    fn lost(self: &Rc<Self>) {
        self.reconnect_after(self.retry_ms.get());
    }

    /// `error` with CONNECTING, then a new request after `wait` milliseconds.
    fn reconnect_after(self: &Rc<Self>, wait: u64) {
        if self.closed() {
            return;
        }
        self.parser.borrow_mut().restart();
        self.ready.set(Ready::Connecting);
        fire_plain(&self.target, "error");
        if self.closed() {
            return;
        }
        let this = Rc::downgrade(self);
        let wait = u32::try_from(wait).unwrap_or(u32::MAX);
        let timer = Timeout::new(wait, move || {
            if let Some(this) = this.upgrade()
                && !this.closed()
            {
                this.start();
            }
        });
        *self.timer.borrow_mut() = Some(timer);
    }

    /// The answer cannot become a stream: `error` with CLOSED, and the reason kept.
    fn fail(&self, verdict: Verdict) {
        if self.closed() {
            return;
        }
        self.failure.set(Some(verdict));
        self.close();
        fire_plain(&self.target, "error");
    }

    /// The request: the caller's headers, then `Accept` and `Last-Event-ID`.
    fn request(
        &self,
        extra: Vec<(String, String)>,
        controller: Option<&AbortController>,
    ) -> Result<Request, JsValue> {
        let headers = Headers::new()?;
        for (name, value) in self.options.headers.iter().chain(&extra) {
            headers.append(name, value)?;
        }
        headers.set("Accept", "text/event-stream")?;
        let parser = self.parser.borrow();
        if !parser.last_id().is_empty() {
            headers.set("Last-Event-ID", parser.last_id())?;
        }
        let init = RequestInit::new();
        init.set_method(self.options.method.as_deref().unwrap_or("GET"));
        init.set_headers(&headers);
        if let Some(body) = &self.options.body {
            init.set_body(&JsValue::from_str(body));
        }
        init.set_cache(RequestCache::NoStore);
        init.set_credentials(if self.with_credentials {
            RequestCredentials::Include
        } else {
            RequestCredentials::SameOrigin
        });
        if let Some(controller) = controller {
            init.set_signal(Some(&controller.signal()));
        }
        Request::new_with_str_and_init(&self.url, &init)
    }

    /// Feeds one chunk of the body to the parser and dispatches what it gives, until a handler
    /// closes the source. `name` is the type `connection` has in JavaScript.
    fn read(&self, chunk: &[u8], connection: &JsValue, name: &mut String) {
        let mut parser = self.parser.borrow_mut();
        parser.feed(chunk, &mut |parser, parsed| {
            match parsed {
                Parsed::Event(event) => {
                    if event.name != name.as_str() {
                        set_name(connection, event.name);
                        name.clear();
                        name.push_str(event.name);
                    }
                    fire(&self.target, connection, event.data, parser.last_id());
                }
                Parsed::Retry(millis) => self.retry_ms.set(millis),
            }
            !self.closed()
        });
    }
}

/// One request and its body, to the end.
async fn connection(this: Weak<Inner>, controller: Option<AbortController>) {
    let make = match this.upgrade() {
        Some(inner) if !inner.closed() => inner.options.headers_with.clone(),
        _ => return,
    };
    let extra = match make {
        Some(make) => make().await,
        None => Vec::new(),
    };
    let request = match this.upgrade() {
        Some(inner) if !inner.closed() => inner.request(extra, controller.as_ref()),
        _ => return,
    };
    let Ok(request) = request else {
        // An invalid header or method: no request can be made, now or later.
        if let Some(inner) = this.upgrade() {
            inner.fail(Verdict::Refused);
        }
        return;
    };
    let answer = JsFuture::from(fetch_with_request(&request)).await;
    let Some(inner) = this.upgrade().filter(|inner| !inner.closed()) else { return };
    let Some(response) = answer.ok().and_then(|answer| answer.dyn_into::<Response>().ok()) else {
        return inner.lost();
    };
    let content_type = response.headers().get("content-type").ok().flatten();
    let refreshing = inner.refreshing.replace(false);
    if response.status() != 200 || !content_type.as_deref().is_some_and(is_event_stream) {
        // A token that expired since the header function gave it: one more try at once, with
        // fresh headers; a second `401` in a row stops.
        let retry = response.status() == 401 && inner.options.headers_with.is_some() && !refreshing;
        if retry || response.status() == 200 {
            // Not wanted, or (a `200` that is not an event stream) it may never end.
            if let Some(controller) = &controller {
                controller.abort();
            }
        } else {
            // The request is over; its body (a short explanation, usually) is left for the
            // application to read (`FailedAnswer::text`), not aborted by the close below.
            drop(inner.controller.borrow_mut().take());
        }
        if retry {
            inner.refreshing.set(true);
            return inner.reconnect_after(0);
        }
        *inner.answer.borrow_mut() = Some(FailedAnswer::new(Clone::clone(&response)));
        return inner.fail(Verdict::of_response(&response));
    }
    let Some(reader) = response.body().map(|body| JsValue::from(body.get_reader())) else {
        return inner.lost();
    };
    let origin = web_sys::Url::new(&response.url()).map(|url| url.origin()).unwrap_or_default();
    let events = shared_by_events(&origin);
    let mut name = String::from("message");
    inner.ready.set(Ready::Open);
    fire_plain(&inner.target, "open");
    drop(inner);
    loop {
        let chunk = JsFuture::from(next_chunk(&reader)).await;
        let Some(inner) = this.upgrade().filter(|inner| !inner.closed()) else { return };
        match chunk {
            Ok(chunk) if !chunk.is_undefined() => {
                let chunk: js_sys::Uint8Array = chunk.unchecked_into();
                inner.read(&chunk.to_vec(), &events, &mut name);
            }
            // The body's end, or a network error while reading it.
            _ => return inner.lost(),
        }
    }
}
