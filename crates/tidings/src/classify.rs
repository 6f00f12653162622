//! Why did the browser give up? Its `EventSource` does not say: the `error` event carries no
//! status, no headers and no message. One `fetch` of the same URL can tell a `204` or a `404`
//! from a `503`; what it cannot tell is listed on
//! [`EventSourceBuilder::classify_failures`](crate::EventSourceBuilder::classify_failures).
//! (The fetch transport reads its own answer: [`Verdict::of_response`] without a second request.)

use std::time::Duration;

use wasm_bindgen::prelude::*;
use web_sys::Response;

/// What one answer means for the next attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// `204 No Content`: the server's way to say the stream is over.
    Ended,
    /// A client error that another try will not mend (401, 403, 404, …).
    Stop { status: u16 },
    /// The browser would not make the request (an invalid header name or method): it never
    /// will.
    Refused,
    /// A `200` whose body is not an event stream (a page's HTML fallback, say): another try
    /// gets the same.
    NotEventStream,
    /// Worth another try: a server error, 408, 425, 429, a network failure (`status` unknown), or
    /// an answer that works by now; not before `after` when the answer said so (`Retry-After`).
    Retry { status: Option<u16>, after: Option<Duration> },
}

impl Verdict {
    /// A network failure: nothing known.
    pub(crate) const LOST: Self = Self::Retry { status: None, after: None };

    /// The verdict on an answer with this status.
    pub(crate) fn of_status(status: u16) -> Self {
        match status {
            204 => Self::Ended,
            408 | 425 | 429 => Self::Retry { status: Some(status), after: None },
            400..=499 => Self::Stop { status },
            _ => Self::Retry { status: Some(status), after: None },
        }
    }

    /// The verdict on `response`: its status, its `Retry-After`, and whether a `200` is an
    /// event stream.
    pub(crate) fn of_response(response: &Response) -> Self {
        let headers = response.headers();
        let header = |name: &str| headers.get(name).ok().flatten();
        match Self::of_status(response.status()) {
            Self::Retry { status: Some(200), .. }
                if !header("content-type").as_deref().is_some_and(is_event_stream) =>
            {
                Self::NotEventStream
            }
            Self::Retry { status, .. } => {
                let after = header("retry-after").and_then(|value| {
                    retry_after_seconds(&value).or_else(|| {
                        // An HTTP date.
                        let (at, now) = (js_sys::Date::parse(&value), js_sys::Date::now());
                        (at.is_finite() && at > now)
                            .then(|| Duration::from_millis((at - now) as u64))
                    })
                });
                Self::Retry { status, after }
            }
            verdict => verdict,
        }
    }
}

/// Whether a `Content-Type` is `text/event-stream` (parameters allowed, any case).
pub(crate) fn is_event_stream(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("text/event-stream")
}

/// How long a `Retry-After` value in seconds asks to wait (`None` for anything else: an HTTP
/// date is the browser's to parse).
fn retry_after_seconds(value: &str) -> Option<Duration> {
    let value = value.trim();
    (!value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()))
        .then(|| Duration::from_secs(value.parse().unwrap_or(u64::MAX)))
}

// `js/probe.js` ships to browsers as written (neither Trunk nor wasm-bindgen minifies a
// snippet), so what it does is said here.
#[wasm_bindgen(module = "/js/probe.js")]
extern "C" {
    /// Starts a `GET` of `url` as an `EventSource` makes it: no cache, the source's credentials
    /// mode (`include`, or `same-origin`), `Accept: text/event-stream` (a header CORS allows
    /// without a preflight). When the answer's head arrives, or the request fails, it aborts
    /// the request (only the head was wanted: the body may be an open stream) and calls `done`
    /// once with the status, or 0 when there is none (a network error, a CORS refusal or an
    /// abort all look the same from here). Returns the request's `AbortController`.
    #[wasm_bindgen(js_name = probe)]
    fn start_probe(url: &str, include: bool, done: JsValue) -> JsValue;
    /// Aborts the request of an `AbortController` [`start_probe`] returned.
    #[wasm_bindgen(js_name = abort)]
    fn abort_probe(controller: &JsValue);
}

/// A `fetch` of an event-stream URL, aborted as soon as its head arrives (or when dropped).
///
/// Made in JavaScript (`js/probe.js`): through web-sys, the request's types and their bindings
/// cost every page more (measured in ARCHITECTURE.md, "Size of the page").
#[derive(Debug)]
pub(crate) struct Probe {
    controller: JsValue,
}

impl Probe {
    /// Starts a GET of `url` the way an `EventSource` would make it; `done` gets the verdict
    /// (also after the probe was dropped: a network loss). The request sends the same
    /// credentials as the source and `Accept: text/event-stream`.
    pub(crate) fn start(
        url: &str,
        with_credentials: bool,
        done: impl FnOnce(Verdict) + 'static,
    ) -> Self {
        // Freed when called; JavaScript calls it exactly once.
        let done = Closure::once_into_js(move |status: u16| {
            done(if status == 0 { Verdict::LOST } else { Verdict::of_status(status) });
        });
        Self { controller: start_probe(url, with_credentials, done) }
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        abort_probe(&self.controller);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_verdicts() {
        assert_eq!(Verdict::of_status(204), Verdict::Ended);
        for status in [400, 401, 403, 404, 405, 410, 451] {
            assert_eq!(Verdict::of_status(status), Verdict::Stop { status }, "{status}");
        }
        for status in [200, 408, 425, 429, 500, 502, 503, 504] {
            assert_eq!(
                Verdict::of_status(status),
                Verdict::Retry { status: Some(status), after: None }
            );
        }
    }

    #[test]
    fn event_stream_types_are_told_by_their_essence() {
        for good in ["text/event-stream", "text/event-stream;", "Text/Event-Stream; charset=utf-8"]
        {
            assert!(is_event_stream(good), "{good}");
        }
        for bad in ["text/html", "text/event-streams", "text/plain; x=text/event-stream", ""] {
            assert!(!is_event_stream(bad), "{bad}");
        }
    }

    #[test]
    fn retry_after_in_seconds() {
        assert_eq!(retry_after_seconds(" 3 "), Some(Duration::from_secs(3)));
        assert_eq!(retry_after_seconds("-3"), None);
        assert_eq!(retry_after_seconds("Wed, 21 Oct 2026 07:28:00 GMT"), None);
    }
}
