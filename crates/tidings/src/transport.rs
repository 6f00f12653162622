//! The seam under the driver: "something that delivers SSE events and says how it ended".
//!
//! A transport dispatches what the browser's `EventSource` dispatches, on an `EventTarget`:
//! `open` and `error` as plain `Event`s, each event to the listeners of its type, as a
//! `MessageEvent` or an object with the same fields (`data`, `lastEventId`, `origin`,
//! `timeStamp`: the fetch transport's, see `js/fetch.js`). So the driver's taps, lifecycle
//! listeners and the relay to other tabs work unchanged over either transport; what differs sits
//! behind [`Transport`]: whether it retries by itself after an `error`, and whether it knows why
//! it gave up.

use std::fmt;
use std::rc::Rc;

use web_sys::EventTarget;

use crate::FailedAnswer;
use crate::classify::Verdict;

/// One connection's worth of events (it may reconnect by itself, as the browser's does).
pub(crate) trait Transport {
    /// Where `open`, `error` and the events are dispatched.
    fn target(&self) -> &EventTarget;
    /// In an `error`: whether it retries by itself (`readyState` CONNECTING) rather than giving
    /// up (CLOSED).
    fn retrying(&self) -> bool;
    /// Why it gave up, when it knows without asking again.
    fn failure(&self) -> Option<Verdict>;
    /// Stops for good: no more events, the request aborted.
    fn close(&self);
    /// The answer it gave up on, when it read one.
    fn failed_answer(&self) -> Option<FailedAnswer> {
        None
    }
    /// The browser's own object, for [`EventSource::as_raw`](crate::EventSource::as_raw).
    fn as_event_source(&self) -> Option<&web_sys::EventSource> {
        None
    }
}

/// Makes a connection: the URL, the last event id to resume after (empty for none) and whether
/// to send credentials.
pub(crate) trait Connect: fmt::Debug {
    fn connect(
        &self,
        url: &str,
        last_id: &str,
        with_credentials: bool,
    ) -> Result<Rc<dyn Transport>, String>;
}

impl Transport for web_sys::EventSource {
    fn target(&self) -> &EventTarget {
        self
    }

    fn retrying(&self) -> bool {
        self.ready_state() == web_sys::EventSource::CONNECTING
    }

    fn failure(&self) -> Option<Verdict> {
        None
    }

    fn close(&self) {
        web_sys::EventSource::close(self);
    }

    fn as_event_source(&self) -> Option<&web_sys::EventSource> {
        Some(self)
    }
}
