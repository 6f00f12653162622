//! Why did the browser give up? Its `EventSource` does not say: the `error` event carries no
//! status, no headers and no message. One `fetch` of the same URL can tell a `204` or a `404`
//! from a `503`; what it cannot tell is listed on
//! [`EventSourceBuilder::classify_failures`](crate::EventSourceBuilder::classify_failures).

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, Request, RequestCache, RequestCredentials, RequestInit, Response};

/// What one answer means for the next attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// `204 No Content`: the server's way to say the stream is over.
    Ended,
    /// A client error that another try will not mend (401, 403, 404, …).
    Stop { status: u16 },
    /// Worth another try: a server error, 408, 425, 429, a network failure (`status` unknown), or
    /// an answer that works by now.
    Retry { status: Option<u16> },
}

impl Verdict {
    /// The verdict on an answer with this status.
    pub(crate) fn of_status(status: u16) -> Self {
        match status {
            204 => Self::Ended,
            408 | 425 | 429 => Self::Retry { status: Some(status) },
            400..=499 => Self::Stop { status },
            _ => Self::Retry { status: Some(status) },
        }
    }
}

#[wasm_bindgen]
extern "C" {
    /// The global `fetch`, in a window and in a worker alike.
    #[wasm_bindgen(js_name = fetch)]
    fn fetch_with_request(request: &Request) -> js_sys::Promise;
}

/// A `fetch` of an event-stream URL, aborted as soon as its headers arrive (or when dropped).
#[derive(Debug)]
pub(crate) struct Probe {
    controller: Option<AbortController>,
}

impl Probe {
    /// Starts a GET of `url` the way an `EventSource` would make it; `done` gets the verdict.
    /// The request sends the same credentials as the source and `Accept: text/event-stream`
    /// (a header CORS allows without a preflight).
    pub(crate) fn start(
        url: &str,
        with_credentials: bool,
        done: impl FnOnce(Verdict) + 'static,
    ) -> Self {
        let controller = AbortController::new().ok();
        let init = RequestInit::new();
        init.set_method("GET");
        init.set_cache(RequestCache::NoStore);
        init.set_credentials(if with_credentials {
            RequestCredentials::Include
        } else {
            RequestCredentials::SameOrigin
        });
        if let Some(controller) = &controller {
            init.set_signal(Some(&controller.signal()));
        }
        let request = Request::new_with_str_and_init(url, &init);
        let signal_owner = controller.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let verdict = match request {
                Ok(request) => {
                    let _ = request.headers().set("Accept", "text/event-stream");
                    ask(&request).await
                }
                Err(_) => Verdict::Retry { status: None },
            };
            // Only the headers were wanted: stop the body (an open stream, maybe) now.
            if let Some(controller) = signal_owner {
                controller.abort();
            }
            done(verdict);
        });
        Self { controller }
    }
}

async fn ask(request: &Request) -> Verdict {
    match JsFuture::from(fetch_with_request(request)).await {
        Ok(response) => match response.dyn_into::<Response>() {
            Ok(response) => Verdict::of_status(response.status()),
            Err(_) => Verdict::Retry { status: None },
        },
        // A network error, a CORS refusal or an abort all look the same from here.
        Err(_) => Verdict::Retry { status: None },
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        if let Some(controller) = &self.controller {
            controller.abort();
        }
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
            assert_eq!(Verdict::of_status(status), Verdict::Retry { status: Some(status) });
        }
    }
}
