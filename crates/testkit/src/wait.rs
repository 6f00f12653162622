//! Waiting for a condition with a deadline, on tokio (for the native test crates).

use std::time::{Duration, Instant};

/// Polls `check` until it gives a value, every `every`, for at most `patience`; panics naming
/// `what` after that.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use std::time::Duration;
/// let mut polls = 0;
/// let value = tidings_testkit::poll_until("the third poll", Duration::from_secs(1), Duration::from_millis(1), async || {
///     polls += 1;
///     (polls == 3).then_some(polls)
/// })
/// .await;
/// assert_eq!(value, 3);
/// # }
/// ```
pub async fn poll_until<T>(
    what: &str,
    patience: Duration,
    every: Duration,
    mut check: impl AsyncFnMut() -> Option<T>,
) -> T {
    let started = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(started.elapsed() < patience, "timed out waiting for {what}");
        tokio::time::sleep(every).await;
    }
}
