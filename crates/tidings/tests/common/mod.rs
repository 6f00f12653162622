//! What the browser suites (`web.rs`, `streams.rs`, `tabs.rs`) share beyond the test kit's
//! helpers, which they take from here.
#![allow(dead_code, unused_imports)]

pub use tidings_testkit::browser::{
    fetch_text, key, open_ticks, require_fixtures, server, ticks_become, until, url, within,
};

/// Every number from the first to the last, once each, in order.
pub fn assert_no_gap_no_duplicate(what: &str, seqs: &[u64]) {
    assert!(!seqs.is_empty(), "{what}: nothing arrived");
    let expected: Vec<u64> = (seqs[0]..seqs[0] + seqs.len() as u64).collect();
    assert_eq!(seqs, expected, "{what}: a gap or a duplicate");
}
