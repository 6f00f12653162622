//! What the browser suites (`web.rs`, `tabs.rs`) share: the fixture server's address and
//! waiting for a condition or a future with a deadline.
#![allow(dead_code)]

use std::cell::Cell;
use std::future::Future;

use futures::future::{Either, select};
use gloo_timers::future::TimeoutFuture;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// The fixture server: `http://127.0.0.1:4100`, where `cargo run -p tidings-fixtures` listens,
/// unless `TIDINGS_TEST_SERVER` named another when the tests were built (the benchmark does).
pub fn server() -> &'static str {
    option_env!("TIDINGS_TEST_SERVER").unwrap_or("http://127.0.0.1:4100")
}

thread_local! {
    static REACHED: Cell<bool> = const { Cell::new(false) };
}

/// Fails the test with one line saying what to run first when the fixture server does not
/// answer (asked once per page: every test of a suite runs in one page).
pub async fn require_fixtures() {
    if REACHED.get() {
        return;
    }
    let window = web_sys::window().expect("a window");
    let health = JsFuture::from(window.fetch_with_str(&url("/healthz")));
    let answered = match select(health, TimeoutFuture::new(3_000)).await {
        Either::Left((Ok(response), _)) => response.is_instance_of::<web_sys::Response>(),
        _ => false,
    };
    if !answered {
        panic!(
            "no fixture server answers at {}: start it first with `cargo run -p tidings-fixtures`",
            server()
        );
    }
    REACHED.set(true);
}

pub fn url(path: &str) -> String {
    format!("{}{path}", server())
}

/// `future`'s output, or a panic naming `what` after 10 s.
pub async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    let future = std::pin::pin!(future);
    match select(future, TimeoutFuture::new(10_000)).await {
        Either::Left((value, _)) => value,
        Either::Right(((), _)) => panic!("timed out waiting for {what}"),
    }
}

/// Polls `check` every 20 ms until it holds, for at most 10 s.
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..500 {
        if check() {
            return;
        }
        TimeoutFuture::new(20).await;
    }
    panic!("timed out waiting for {what}");
}

/// A key of its own for a test's `/test/ticks/{key}` streams.
pub fn key() -> String {
    format!("tabs-{}", (js_sys::Math::random() * 1e15) as u64)
}

pub async fn fetch_text(url: &str, method: &str) -> String {
    let window = web_sys::window().expect("a window");
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    let response = JsFuture::from(window.fetch_with_str_and_init(url, &init)).await.expect("fetch");
    let response: web_sys::Response = response.unchecked_into();
    assert!(response.ok(), "{method} {url}: {}", response.status());
    let text = JsFuture::from(response.text().expect("a body")).await.expect("a text body");
    text.as_string().unwrap_or_default()
}

/// How many `/test/ticks/{key}` streams the server has open.
pub async fn open_streams(key: &str) -> usize {
    fetch_text(&url(&format!("/test/ticks/{key}/count")), "GET").await.parse().expect("a number")
}

/// Waits until the server counts `expected` open streams for `key` (a closed connection takes
/// the server a moment to notice).
pub async fn streams_become(key: &str, expected: usize) {
    for _ in 0..250 {
        if open_streams(key).await == expected {
            return;
        }
        TimeoutFuture::new(40).await;
    }
    panic!("the server never counted {expected} streams (now {})", open_streams(key).await);
}

/// Every number from the first to the last, once each, in order.
pub fn assert_no_gap_no_duplicate(what: &str, seqs: &[u64]) {
    assert!(!seqs.is_empty(), "{what}: nothing arrived");
    let expected: Vec<u64> = (seqs[0]..seqs[0] + seqs.len() as u64).collect();
    assert_eq!(seqs, expected, "{what}: a gap or a duplicate");
}
