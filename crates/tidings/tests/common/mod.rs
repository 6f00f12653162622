//! What the browser suites (`web.rs`, `tabs.rs`) share: the fixture server's address and
//! waiting for a condition or a future with a deadline.
#![allow(dead_code)]

use std::future::Future;

use futures::future::{Either, select};
use gloo_timers::future::TimeoutFuture;

/// The fixture server that `cargo xtask test` starts, named at compile time.
pub fn server() -> &'static str {
    match option_env!("TIDINGS_TEST_SERVER") {
        Some(server) => server,
        None => {
            panic!("TIDINGS_TEST_SERVER is not set: run the browser tests with `cargo xtask test`")
        }
    }
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
