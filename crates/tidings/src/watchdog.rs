//! When is a connection silent for too long? Plain arithmetic on an injected clock: the source
//! notes the time of every event, and one timer checks it instead of being reset per event.

use std::time::Duration;

#[derive(Debug)]
pub(crate) struct Watchdog {
    timeout_ms: f64,
    last_activity_ms: f64,
}

impl Watchdog {
    pub(crate) fn new(timeout: Duration, now_ms: f64) -> Self {
        Self { timeout_ms: timeout.as_secs_f64() * 1_000.0, last_activity_ms: now_ms }
    }

    /// Something arrived (an event, a heartbeat, the connection opening).
    pub(crate) fn activity(&mut self, now_ms: f64) {
        self.last_activity_ms = now_ms;
    }

    /// `None` when the timeout has passed without activity; otherwise how long until it would.
    pub(crate) fn remaining(&self, now_ms: f64) -> Option<Duration> {
        let left = self.last_activity_ms + self.timeout_ms - now_ms;
        // A clock that went backwards counts as activity now.
        let left = left.min(self.timeout_ms);
        (left > 0.0).then(|| Duration::from_secs_f64(left / 1_000.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_only_after_a_full_timeout_without_activity() {
        let mut watchdog = Watchdog::new(Duration::from_secs(10), 1_000.0);
        assert_eq!(watchdog.remaining(1_000.0), Some(Duration::from_secs(10)));
        assert_eq!(watchdog.remaining(6_000.0), Some(Duration::from_secs(5)));
        watchdog.activity(9_000.0);
        assert_eq!(watchdog.remaining(11_000.0), Some(Duration::from_secs(8)));
        assert_eq!(watchdog.remaining(19_000.0), None);
        assert_eq!(watchdog.remaining(25_000.0), None);
    }

    #[test]
    fn a_clock_going_backwards_does_not_stretch_the_timeout() {
        let watchdog = Watchdog::new(Duration::from_secs(10), 50_000.0);
        assert_eq!(watchdog.remaining(0.0), Some(Duration::from_secs(10)));
    }
}
