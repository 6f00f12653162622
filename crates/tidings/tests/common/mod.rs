//! What the browser suites (`web.rs`, `streams.rs`, `tabs.rs`) share beyond the test kit's
//! helpers, which they take from here.
#![allow(dead_code, unused_imports)]

use std::cell::RefCell;
use std::rc::Rc;

use std::time::Duration;

use tidings::{ConnectionState, EventSource, Message, ReconnectPolicy, Subscription};

pub use tidings_testkit::browser::{
    fetch_text, key, open_ticks, require_fixtures, server, ticks_become, until, url, within,
};

/// Every number from the first to the last, once each, in order.
pub fn assert_no_gap_no_duplicate(what: &str, seqs: &[u64]) {
    assert!(!seqs.is_empty(), "{what}: nothing arrived");
    let expected: Vec<u64> = (seqs[0]..seqs[0] + seqs.len() as u64).collect();
    assert_eq!(seqs, expected, "{what}: a gap or a duplicate");
}

/// Every state change of `source`, in order.
pub fn record_states(source: &EventSource) -> (Rc<RefCell<Vec<ConnectionState>>>, Subscription) {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&seen);
    let subscription = source.on_state(move |state| sink.borrow_mut().push(state));
    (seen, subscription)
}

/// Every raw `name` event of `source`.
pub fn record_raw(
    source: &EventSource,
    name: &'static str,
) -> (Rc<RefCell<Vec<Message<String>>>>, Subscription) {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&seen);
    let subscription = source.on_raw(name, move |message| sink.borrow_mut().push(message));
    (seen, subscription)
}

/// The data of each recorded message.
pub fn data_of(messages: &RefCell<Vec<Message<String>>>) -> Vec<String> {
    messages.borrow().iter().map(|message| message.data.clone()).collect()
}

/// A reconnect policy quick enough for a test: 100 ms doubling to 400 ms.
pub fn quick_policy() -> ReconnectPolicy {
    ReconnectPolicy::default()
        .initial_delay(Duration::from_millis(100))
        .factor(2.0)
        .max_delay(Duration::from_millis(400))
}
