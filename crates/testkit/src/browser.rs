//! What the browser suites (`wasm-pack test`) share: where the fixture server is, failing in
//! one line when it is not running, and waiting with a deadline.

use std::cell::Cell;
use std::future::Future;

use futures::future::{Either, select};
use gloo_timers::future::TimeoutFuture;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// The fixture server: `http://127.0.0.1:4100`, where `cargo run -p tidings-fixtures` listens,
/// unless `TIDINGS_TEST_SERVER` named another when the tests were built (the benchmark does).
///
/// # Examples
///
/// ```
/// assert!(tidings_testkit::browser::server().starts_with("http://"));
/// ```
pub fn server() -> &'static str {
    option_env!("TIDINGS_TEST_SERVER").unwrap_or("http://127.0.0.1:4100")
}

/// `path` on the fixture server.
///
/// # Examples
///
/// ```
/// assert!(tidings_testkit::browser::url("/api/events").ends_with("/api/events"));
/// ```
pub fn url(path: &str) -> String {
    format!("{}{path}", server())
}

thread_local! {
    static REACHED: Cell<bool> = const { Cell::new(false) };
}

/// Fails the test with one line saying what to run first when the fixture server does not
/// answer (asked once per page: every test of a suite runs in one page).
///
/// # Examples
///
/// ```no_run
/// # async fn a_test() {
/// tidings_testkit::browser::require_fixtures().await;
/// # }
/// ```
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

/// `future`'s output, or a panic naming `what` after 10 s.
///
/// # Examples
///
/// ```no_run
/// # async fn a_test() {
/// let two = tidings_testkit::browser::within("an answer", async { 1 + 1 }).await;
/// # let _ = two;
/// # }
/// ```
pub async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    let future = std::pin::pin!(future);
    match select(future, TimeoutFuture::new(10_000)).await {
        Either::Left((value, _)) => value,
        Either::Right(((), _)) => panic!("timed out waiting for {what}"),
    }
}

/// Polls `check` every 20 ms until it holds, for at most 10 s.
///
/// # Examples
///
/// ```no_run
/// # async fn a_test() {
/// tidings_testkit::browser::until("a condition", || true).await;
/// # }
/// ```
pub async fn until(what: &str, mut check: impl FnMut() -> bool) {
    eventually(what, || check().then_some(())).await;
}

/// Polls `check` every 20 ms until it gives a value, for at most 10 s.
///
/// # Examples
///
/// ```no_run
/// # async fn a_test() {
/// let ready = tidings_testkit::browser::eventually("a value", || Some(3)).await;
/// # let _ = ready;
/// # }
/// ```
pub async fn eventually<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    for _ in 0..500 {
        if let Some(value) = check() {
            return value;
        }
        TimeoutFuture::new(20).await;
    }
    panic!("timed out waiting for {what}");
}

/// A fresh key for the fixture server's per-key routes (`/test/ticks/{key}`, `/test/held/{key}`,
/// `/test/flaky/{key}`): every test gets streams of its own.
///
/// # Examples
///
/// ```no_run
/// assert_ne!(tidings_testkit::browser::key(), tidings_testkit::browser::key());
/// ```
pub fn key() -> String {
    format!("k{}", js_sys::Math::random().to_bits())
}

/// The body of a request to `path` on the fixture server: a GET, or a POST of `json` (as
/// `application/json`). Panics unless the answer is a success.
///
/// # Examples
///
/// ```no_run
/// # async fn a_test() {
/// let open: usize = tidings_testkit::browser::fetch_text("/test/ticks/k1/count", None)
///     .await
///     .parse()
///     .unwrap();
/// # let _ = open;
/// # }
/// ```
pub async fn fetch_text(path: &str, json: Option<&str>) -> String {
    let init = web_sys::RequestInit::new();
    if let Some(body) = json {
        init.set_method("POST");
        init.set_body(&body.into());
        let headers = web_sys::Headers::new().expect("headers");
        headers.set("content-type", "application/json").expect("a header");
        init.set_headers(&headers);
    }
    let window = web_sys::window().expect("a window");
    let response =
        JsFuture::from(window.fetch_with_str_and_init(&url(path), &init)).await.expect("an answer");
    let response: web_sys::Response = response.unchecked_into();
    assert!(response.ok(), "{path}: {}", response.status());
    let text = JsFuture::from(response.text().expect("a body")).await.expect("a text body");
    text.as_string().unwrap_or_default()
}

/// How many `/test/ticks/{key}` streams the fixture server has open.
///
/// # Examples
///
/// ```no_run
/// # async fn a_test() {
/// assert_eq!(tidings_testkit::browser::open_ticks("k1").await, 0);
/// # }
/// ```
pub async fn open_ticks(key: &str) -> usize {
    fetch_text(&format!("/test/ticks/{key}/count"), None).await.parse().expect("a number")
}

/// Waits until the fixture server counts `expected` open `/test/ticks/{key}` streams (a closed
/// connection takes the server a moment to notice), for at most 10 s.
///
/// # Examples
///
/// ```no_run
/// # async fn a_test() {
/// tidings_testkit::browser::ticks_become("k1", 0).await;
/// # }
/// ```
pub async fn ticks_become(key: &str, expected: usize) {
    for _ in 0..250 {
        if open_ticks(key).await == expected {
            return;
        }
        TimeoutFuture::new(40).await;
    }
    panic!("the server never counted {expected} streams (now {})", open_ticks(key).await);
}

/// `performance.now()`, in milliseconds (for the benchmarks).
///
/// # Examples
///
/// ```no_run
/// let started = tidings_testkit::browser::now();
/// # let _ = started;
/// ```
pub fn now() -> f64 {
    web_sys::window().and_then(|window| window.performance()).map_or(0.0, |p| p.now())
}

/// The median of `values` (sorted in place; the upper one of an even count).
///
/// # Examples
///
/// ```
/// assert_eq!(tidings_testkit::browser::median(&mut [3.0, 1.0, 2.0]), 2.0);
/// ```
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
