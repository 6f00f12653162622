use std::time::Duration;

/// How the library retries after the browser gives up on a connection: exponential backoff with
/// full jitter, and an optional limit on attempts in a row.
///
/// The delay before the `n`th attempt in a row (from 1) is drawn uniformly from
/// `0 ..= min(max_delay, initial_delay × factor^(n-1))` ("full jitter": clients that lost the
/// same server do not come back in step).
///
/// Defaults: initial delay 1 s, factor 2, at most 30 s, no attempt limit.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tidings::ReconnectPolicy;
///
/// let policy = ReconnectPolicy::default()
///     .initial_delay(Duration::from_millis(500))
///     .factor(3.0)
///     .max_delay(Duration::from_secs(10))
///     .max_attempts(Some(8));
/// assert_eq!(policy.delay_bound(1), Duration::from_millis(500));
/// assert_eq!(policy.delay_bound(2), Duration::from_millis(1_500));
/// assert_eq!(policy.delay_bound(5), Duration::from_secs(10));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReconnectPolicy {
    initial_delay: Duration,
    factor: f64,
    max_delay: Duration,
    max_attempts: Option<u32>,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        Self {
            initial_delay: Duration::from_secs(1),
            factor: 2.0,
            max_delay: Duration::from_secs(30),
            max_attempts: None,
        }
    }
}

impl ReconnectPolicy {
    /// The bound of the first delay. Default: 1 s.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// let policy = tidings::ReconnectPolicy::default().initial_delay(Duration::from_millis(250));
    /// assert_eq!(policy.delay_bound(1), Duration::from_millis(250));
    /// ```
    pub fn initial_delay(mut self, delay: Duration) -> Self {
        self.initial_delay = delay;
        self
    }

    /// How much the bound grows with each attempt in a row; values below 1 (or not a number)
    /// count as 1. Default: 2.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// let policy = tidings::ReconnectPolicy::default().factor(1.0);
    /// assert_eq!(policy.delay_bound(7), Duration::from_secs(1));
    /// ```
    pub fn factor(mut self, factor: f64) -> Self {
        self.factor = if factor >= 1.0 { factor } else { 1.0 };
        self
    }

    /// The largest delay. Default: 30 s.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// let policy = tidings::ReconnectPolicy::default().max_delay(Duration::from_secs(5));
    /// assert_eq!(policy.delay_bound(30), Duration::from_secs(5));
    /// ```
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// How many attempts in a row (the browser's and the library's alike) may fail before the
    /// connection closes for good with [`CloseReason::RetryLimit`](crate::CloseReason::RetryLimit);
    /// `None` retries for ever. The count starts again whenever a connection opens.
    /// Default: `None`.
    ///
    /// # Examples
    ///
    /// ```
    /// let policy = tidings::ReconnectPolicy::default().max_attempts(Some(5));
    /// assert_eq!(policy.attempt_limit(), Some(5));
    /// ```
    pub fn max_attempts(mut self, attempts: Option<u32>) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// The attempt limit set by [`max_attempts`](Self::max_attempts).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(tidings::ReconnectPolicy::default().attempt_limit(), None);
    /// ```
    pub fn attempt_limit(&self) -> Option<u32> {
        self.max_attempts
    }

    /// The largest delay before the `attempt`th attempt in a row (from 1):
    /// `min(max_delay, initial_delay × factor^(attempt-1))`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// let policy = tidings::ReconnectPolicy::default();
    /// assert_eq!(policy.delay_bound(3), Duration::from_secs(4));
    /// ```
    pub fn delay_bound(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(1_000) as i32;
        let grown = self.initial_delay.as_secs_f64() * self.factor.powi(exponent);
        let max = self.max_delay.as_secs_f64();
        if grown.is_finite() && grown < max {
            Duration::from_secs_f64(grown)
        } else {
            self.max_delay
        }
    }

    /// The delay before the `attempt`th attempt, given `unit`, a random number in `[0, 1)`:
    /// `unit × delay_bound(attempt)`, whole milliseconds. The library draws `unit` from
    /// `Math.random()`; tests pass their own.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// let policy = tidings::ReconnectPolicy::default();
    /// assert_eq!(policy.delay(3, 0.5), Duration::from_secs(2));
    /// assert_eq!(policy.delay(3, 0.0), Duration::ZERO);
    /// ```
    pub fn delay(&self, attempt: u32, unit: f64) -> Duration {
        let unit = if (0.0..1.0).contains(&unit) { unit } else { 0.0 };
        let bound = self.delay_bound(attempt).as_millis() as f64;
        Duration::from_millis((bound * unit).floor() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_grow_by_the_factor_up_to_the_cap() {
        let policy = ReconnectPolicy::default()
            .initial_delay(Duration::from_millis(100))
            .factor(2.0)
            .max_delay(Duration::from_millis(1_000));
        let bounds: Vec<u128> = (1..=6).map(|n| policy.delay_bound(n).as_millis()).collect();
        assert_eq!(bounds, [100, 200, 400, 800, 1_000, 1_000]);
        // Attempt 0 (never asked for) is treated as the first.
        assert_eq!(policy.delay_bound(0), Duration::from_millis(100));
        // Huge attempt numbers do not overflow.
        assert_eq!(policy.delay_bound(u32::MAX), Duration::from_millis(1_000));
    }

    #[test]
    fn full_jitter_stays_within_the_bound_and_spreads_over_it() {
        let policy = ReconnectPolicy::default();
        let mut rng = fastrand::Rng::with_seed(7);
        for attempt in 1..=8 {
            let bound = policy.delay_bound(attempt);
            let delays: Vec<Duration> =
                (0..2_000).map(|_| policy.delay(attempt, rng.f64())).collect();
            assert!(delays.iter().all(|delay| *delay <= bound), "attempt {attempt}");
            // Full jitter: the draws cover the range, low and high.
            let low = delays.iter().filter(|delay| **delay < bound / 10).count();
            let high = delays.iter().filter(|delay| **delay > bound * 9 / 10).count();
            assert!(low > 100 && high > 100, "attempt {attempt}: {low} low, {high} high");
        }
    }

    #[test]
    fn out_of_range_inputs_are_tamed() {
        let policy = ReconnectPolicy::default().factor(f64::NAN);
        assert_eq!(policy.delay_bound(5), Duration::from_secs(1));
        let policy = ReconnectPolicy::default().factor(0.5);
        assert_eq!(policy.delay_bound(5), Duration::from_secs(1));
        let policy = ReconnectPolicy::default();
        assert_eq!(policy.delay(1, 1.5), Duration::ZERO);
        assert_eq!(policy.delay(1, f64::NAN), Duration::ZERO);
        let policy = ReconnectPolicy::default().factor(f64::INFINITY);
        assert_eq!(policy.delay_bound(3), Duration::from_secs(30));
    }
}
