//! The connection's state machine, as plain Rust: what the browser reports goes in, the state and
//! what to do next come out. [`EventSource`](crate::EventSource) feeds it and carries out its
//! commands (timers, re-creation); the tests drive it with numbers.

use std::time::Duration;

use crate::classify::Verdict;
use crate::{CloseReason, ConnectionState, ReconnectPolicy, Retrier};

/// What the machine asks its owner to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Command {
    Nothing,
    /// Find out why the browser gave up (one `fetch`), then call [`Supervisor::classified`].
    Classify,
    /// Call [`Supervisor::timer_fired`] after this long.
    Wait(Duration),
    /// Close the browser's source and open a new one now, with the last event id.
    Recreate,
    /// Close the browser's source: nobody will retry.
    Stop,
    /// Close the browser's source for now (the page is hidden): [`Supervisor::visible`] will
    /// ask for a new one.
    Suspend,
}

#[derive(Debug)]
pub(crate) struct Supervisor {
    policy: Option<ReconnectPolicy>,
    classify: bool,
    state: ConnectionState,
    /// Attempts made (or awaited) in a row since the connection was last open.
    attempt: u32,
}

impl Supervisor {
    pub(crate) fn new(policy: Option<ReconnectPolicy>, classify: bool) -> Self {
        Self { policy, classify, state: ConnectionState::Connecting { attempt: 0 }, attempt: 0 }
    }

    pub(crate) fn state(&self) -> ConnectionState {
        self.state
    }

    /// The browser's `open`.
    pub(crate) fn opened(&mut self) {
        if !self.state.is_closed() {
            self.state = ConnectionState::Open;
            self.attempt = 0;
        }
    }

    /// The browser's own `error`: `browser_retries` when its `readyState` is CONNECTING, false
    /// when it is CLOSED (it gave up). `unit` is a random number in `[0, 1)` for the jitter.
    pub(crate) fn browser_error(&mut self, browser_retries: bool, unit: f64) -> Command {
        if self.state.is_closed() {
            return Command::Nothing;
        }
        if browser_retries {
            let Some(attempt) = self.next_attempt() else { return Command::Stop };
            self.state = ConnectionState::Reconnecting { attempt, by: Retrier::Browser };
            return Command::Nothing;
        }
        if self.classify {
            // The state stays as it is for the few milliseconds the question takes.
            return Command::Classify;
        }
        self.retry(None, None, unit)
    }

    /// What the `fetch` asked by [`Command::Classify`] learnt.
    pub(crate) fn classified(&mut self, verdict: Verdict, unit: f64) -> Command {
        if self.state.is_closed() {
            return Command::Nothing;
        }
        match verdict {
            Verdict::Ended => self.stop(CloseReason::Ended),
            Verdict::Stop { status } => self.stop(CloseReason::Fatal { status: Some(status) }),
            Verdict::NotEventStream => self.stop(CloseReason::NotEventStream),
            Verdict::Refused => self.stop(CloseReason::Fatal { status: None }),
            Verdict::Retry { status, after } => self.retry(status, after, unit),
        }
    }

    /// The delay of a [`Command::Wait`] is over.
    pub(crate) fn timer_fired(&mut self) -> Command {
        match self.state {
            ConnectionState::Reconnecting { attempt, by: Retrier::Library { .. } } => {
                self.state = ConnectionState::Connecting { attempt };
                Command::Recreate
            }
            _ => Command::Nothing,
        }
    }

    /// Nothing arrived (heartbeats included) within the watchdog's timeout: the connection is
    /// stuck, whatever the browser thinks.
    pub(crate) fn watchdog_expired(&mut self) -> Command {
        match self.state {
            ConnectionState::Connecting { .. }
            | ConnectionState::Open
            | ConnectionState::Reconnecting { by: Retrier::Browser, .. } => {
                let Some(attempt) = self.next_attempt() else { return Command::Stop };
                self.state = ConnectionState::Connecting { attempt };
                Command::Recreate
            }
            _ => Command::Nothing,
        }
    }

    /// The window's `online` event: whoever was to retry, try now.
    pub(crate) fn online(&mut self) -> Command {
        match self.state {
            ConnectionState::Reconnecting { attempt, .. } => {
                self.state = ConnectionState::Connecting { attempt };
                Command::Recreate
            }
            _ => Command::Nothing,
        }
    }

    /// The page has been hidden as long as the hidden-tab policy allows.
    pub(crate) fn hidden(&mut self) -> Command {
        match self.state {
            ConnectionState::Closed(_) | ConnectionState::Hidden => Command::Nothing,
            _ => {
                self.state = ConnectionState::Hidden;
                self.attempt = 0;
                Command::Suspend
            }
        }
    }

    /// The page is visible again: a connection closed because it was hidden opens at once.
    pub(crate) fn visible(&mut self) -> Command {
        match self.state {
            ConnectionState::Hidden => {
                self.state = ConnectionState::Connecting { attempt: 0 };
                Command::Recreate
            }
            _ => Command::Nothing,
        }
    }

    /// This tab handed its connection to another tab and follows it now: when it leads again,
    /// it starts from a new connection.
    pub(crate) fn handed_over(&mut self) {
        if !self.state.is_closed() {
            self.state = ConnectionState::Connecting { attempt: 0 };
            self.attempt = 0;
        }
    }

    /// The server said the stream is finished (`end`, [`tidings_wire::End`]): over for good, as
    /// a `204` says, without the reconnect that would ask for it.
    pub(crate) fn ended(&mut self) -> Command {
        if self.state.is_closed() {
            return Command::Nothing;
        }
        self.stop(CloseReason::Ended)
    }

    /// A new browser source could not be made (the browser refused the URL it took before).
    pub(crate) fn cannot_recreate(&mut self) -> Command {
        self.stop(CloseReason::Fatal { status: None })
    }

    /// The connection this tab followed closed for good in the tab that held it.
    pub(crate) fn closed_elsewhere(&mut self, reason: CloseReason) {
        if !self.state.is_closed() {
            self.state = ConnectionState::Closed(reason);
        }
    }

    /// [`EventSource::close`](crate::EventSource::close). Returns whether the state changed.
    pub(crate) fn close_by_user(&mut self) -> bool {
        if self.state.is_closed() {
            return false;
        }
        self.state = ConnectionState::Closed(CloseReason::ByUser);
        true
    }

    /// The next attempt's number, or `None` (and the state closed) past the policy's limit.
    fn next_attempt(&mut self) -> Option<u32> {
        let next = self.attempt.saturating_add(1);
        if let Some(limit) = self.policy.and_then(|policy| policy.attempt_limit())
            && next > limit
        {
            self.state =
                ConnectionState::Closed(CloseReason::RetryLimit { attempts: self.attempt });
            return None;
        }
        self.attempt = next;
        Some(next)
    }

    /// Waits as the policy says (and no less than `after`, when the server asked), or stops
    /// without a policy.
    fn retry(&mut self, status: Option<u16>, after: Option<Duration>, unit: f64) -> Command {
        let Some(policy) = self.policy else {
            return self.stop(CloseReason::Fatal { status });
        };
        let Some(attempt) = self.next_attempt() else { return Command::Stop };
        let delay = policy.delay(attempt, unit).max(after.unwrap_or_default());
        self.state = ConnectionState::Reconnecting { attempt, by: Retrier::Library { delay } };
        Command::Wait(delay)
    }

    fn stop(&mut self, reason: CloseReason) -> Command {
        self.state = ConnectionState::Closed(reason);
        Command::Stop
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> ReconnectPolicy {
        ReconnectPolicy::default()
            .initial_delay(Duration::from_millis(100))
            .factor(2.0)
            .max_delay(Duration::from_millis(1_000))
    }

    fn library(attempt: u32, delay_ms: u64) -> ConnectionState {
        ConnectionState::Reconnecting {
            attempt,
            by: Retrier::Library { delay: Duration::from_millis(delay_ms) },
        }
    }

    #[test]
    fn the_browser_retrying_is_reconnecting_and_an_open_resets_the_count() {
        let mut machine = Supervisor::new(Some(policy()), false);
        assert_eq!(machine.state(), ConnectionState::Connecting { attempt: 0 });
        machine.opened();
        assert_eq!(machine.state(), ConnectionState::Open);
        for attempt in 1..=3 {
            assert_eq!(machine.browser_error(true, 0.5), Command::Nothing);
            assert_eq!(
                machine.state(),
                ConnectionState::Reconnecting { attempt, by: Retrier::Browser }
            );
        }
        machine.opened();
        machine.browser_error(true, 0.5);
        assert_eq!(
            machine.state(),
            ConnectionState::Reconnecting { attempt: 1, by: Retrier::Browser }
        );
    }

    #[test]
    fn after_the_browser_gives_up_the_library_backs_off_with_jitter() {
        let mut machine = Supervisor::new(Some(policy()), false);
        machine.opened();
        // Attempt 1: bound 100 ms; half of it with unit 0.5.
        assert_eq!(machine.browser_error(false, 0.5), Command::Wait(Duration::from_millis(50)));
        assert_eq!(machine.state(), library(1, 50));
        assert_eq!(machine.timer_fired(), Command::Recreate);
        assert_eq!(machine.state(), ConnectionState::Connecting { attempt: 1 });
        // Attempt 2: bound 200 ms.
        assert_eq!(machine.browser_error(false, 0.25), Command::Wait(Duration::from_millis(50)));
        machine.timer_fired();
        // The browser retries once by itself (attempt 3), then gives up again (attempt 4: 800).
        machine.browser_error(true, 0.0);
        assert_eq!(machine.browser_error(false, 0.999), Command::Wait(Duration::from_millis(799)));
        assert_eq!(machine.state(), library(4, 799));
        machine.timer_fired();
        machine.opened();
        assert_eq!(machine.browser_error(false, 0.5), Command::Wait(Duration::from_millis(50)));
    }

    #[test]
    fn jittered_delays_from_a_seeded_generator_stay_within_the_policy() {
        let mut rng = fastrand::Rng::with_seed(42);
        let mut machine = Supervisor::new(Some(policy()), false);
        for attempt in 1..=20 {
            let Command::Wait(delay) = machine.browser_error(false, rng.f64()) else {
                panic!("attempt {attempt} waits");
            };
            assert!(delay <= policy().delay_bound(attempt));
            assert_eq!(machine.timer_fired(), Command::Recreate);
        }
    }

    #[test]
    fn the_attempt_limit_closes_the_connection_and_says_so() {
        let mut machine = Supervisor::new(Some(policy().max_attempts(Some(2))), false);
        assert!(matches!(machine.browser_error(false, 0.5), Command::Wait(_)));
        machine.timer_fired();
        machine.browser_error(true, 0.5); // the browser's own retry is attempt 2
        assert_eq!(machine.browser_error(false, 0.5), Command::Stop);
        assert_eq!(
            machine.state(),
            ConnectionState::Closed(CloseReason::RetryLimit { attempts: 2 })
        );
        // Nothing brings it back but a new source.
        assert_eq!(machine.online(), Command::Nothing);
        assert_eq!(machine.browser_error(true, 0.5), Command::Nothing);
        machine.opened();
        assert!(machine.state().is_closed());
    }

    #[test]
    fn a_limit_also_stops_the_browser_retrying() {
        let mut machine = Supervisor::new(Some(policy().max_attempts(Some(1))), false);
        machine.opened();
        assert_eq!(machine.browser_error(true, 0.5), Command::Nothing);
        assert_eq!(machine.browser_error(true, 0.5), Command::Stop);
        assert_eq!(
            machine.state(),
            ConnectionState::Closed(CloseReason::RetryLimit { attempts: 1 })
        );
    }

    #[test]
    fn without_a_policy_the_browser_giving_up_is_final() {
        let mut machine = Supervisor::new(None, false);
        assert_eq!(machine.browser_error(true, 0.5), Command::Nothing);
        assert_eq!(machine.browser_error(false, 0.5), Command::Stop);
        assert_eq!(machine.state(), ConnectionState::Closed(CloseReason::Fatal { status: None }));
    }

    #[test]
    fn retry_after_lengthens_the_policys_delay_and_a_wrong_type_stops() {
        let mut machine = Supervisor::new(Some(policy()), true);
        machine.browser_error(false, 0.5);
        let after = Some(Duration::from_secs(2));
        assert_eq!(
            machine.classified(Verdict::Retry { status: Some(503), after }, 0.5),
            Command::Wait(Duration::from_secs(2))
        );
        machine.timer_fired();
        machine.browser_error(false, 0.5);
        let short = Some(Duration::from_millis(1));
        assert_eq!(
            machine.classified(Verdict::Retry { status: Some(503), after: short }, 0.5),
            Command::Wait(Duration::from_millis(100)),
            "the policy's own delay when the server asks for less"
        );
        machine.timer_fired();
        machine.browser_error(false, 0.5);
        assert_eq!(machine.classified(Verdict::NotEventStream, 0.5), Command::Stop);
        assert_eq!(machine.state(), ConnectionState::Closed(CloseReason::NotEventStream));
    }

    #[test]
    fn classification_decides_between_stopping_and_retrying() {
        let mut machine = Supervisor::new(Some(policy()), true);
        machine.opened();
        assert_eq!(machine.browser_error(false, 0.5), Command::Classify);
        assert_eq!(machine.state(), ConnectionState::Open, "unchanged while asking");
        assert_eq!(
            machine.classified(Verdict::Retry { status: Some(503), after: None }, 0.5),
            Command::Wait(Duration::from_millis(50))
        );
        machine.timer_fired();
        assert_eq!(machine.browser_error(false, 0.5), Command::Classify);
        assert_eq!(machine.classified(Verdict::Stop { status: 404 }, 0.5), Command::Stop);
        assert_eq!(
            machine.state(),
            ConnectionState::Closed(CloseReason::Fatal { status: Some(404) })
        );

        let mut machine = Supervisor::new(Some(policy()), true);
        machine.browser_error(false, 0.5);
        assert_eq!(machine.classified(Verdict::Ended, 0.5), Command::Stop);
        assert_eq!(machine.state(), ConnectionState::Closed(CloseReason::Ended));

        // `end` from the server: over at once, whoever was retrying; once.
        let mut machine = Supervisor::new(Some(policy()), true);
        machine.opened();
        assert_eq!(machine.ended(), Command::Stop);
        assert_eq!(machine.state(), ConnectionState::Closed(CloseReason::Ended));
        assert_eq!(machine.ended(), Command::Nothing, "already closed");

        // Without a policy a retryable answer is still the end, now with its status.
        let mut machine = Supervisor::new(None, true);
        machine.browser_error(false, 0.5);
        machine.classified(Verdict::Retry { status: Some(503), after: None }, 0.5);
        assert_eq!(
            machine.state(),
            ConnectionState::Closed(CloseReason::Fatal { status: Some(503) })
        );
    }

    #[test]
    fn a_verdict_after_the_user_closed_is_ignored() {
        let mut machine = Supervisor::new(Some(policy()), true);
        machine.browser_error(false, 0.5);
        assert!(machine.close_by_user());
        assert!(!machine.close_by_user());
        assert_eq!(machine.classified(Verdict::LOST, 0.5), Command::Nothing);
        assert_eq!(machine.timer_fired(), Command::Nothing);
        assert_eq!(machine.state(), ConnectionState::Closed(CloseReason::ByUser));
    }

    #[test]
    fn the_watchdog_recreates_a_silent_connection() {
        let mut machine = Supervisor::new(Some(policy()), false);
        machine.opened();
        assert_eq!(machine.watchdog_expired(), Command::Recreate);
        assert_eq!(machine.state(), ConnectionState::Connecting { attempt: 1 });
        // Still silent: the next attempt.
        assert_eq!(machine.watchdog_expired(), Command::Recreate);
        assert_eq!(machine.state(), ConnectionState::Connecting { attempt: 2 });
        // While the library waits out a delay the watchdog has nothing to do.
        machine.browser_error(false, 0.5);
        assert_eq!(machine.watchdog_expired(), Command::Nothing);
    }

    #[test]
    fn a_hidden_page_suspends_and_a_visible_one_connects_again() {
        let mut machine = Supervisor::new(Some(policy()), true);
        machine.opened();
        assert_eq!(machine.hidden(), Command::Suspend);
        assert_eq!(machine.state(), ConnectionState::Hidden);
        assert!(!machine.state().is_closed());
        assert_eq!(machine.hidden(), Command::Nothing);
        assert_eq!(machine.online(), Command::Nothing);
        assert_eq!(machine.watchdog_expired(), Command::Nothing);
        assert_eq!(machine.visible(), Command::Recreate);
        assert_eq!(machine.state(), ConnectionState::Connecting { attempt: 0 });
        assert_eq!(machine.visible(), Command::Nothing);
        // A connection closed for good stays closed.
        machine.close_by_user();
        assert_eq!(machine.hidden(), Command::Nothing);
        assert_eq!(machine.visible(), Command::Nothing);
        assert_eq!(machine.state(), ConnectionState::Closed(CloseReason::ByUser));
    }

    #[test]
    fn online_retries_at_once() {
        let mut machine = Supervisor::new(Some(policy()), false);
        machine.opened();
        machine.browser_error(false, 0.9);
        assert_eq!(machine.online(), Command::Recreate);
        assert_eq!(machine.state(), ConnectionState::Connecting { attempt: 1 });
        // The browser's own wait is cut short too.
        machine.browser_error(true, 0.5);
        assert_eq!(machine.online(), Command::Recreate);
        assert_eq!(machine.state(), ConnectionState::Connecting { attempt: 2 });
        // An open connection is left alone.
        machine.opened();
        assert_eq!(machine.online(), Command::Nothing);
    }
}
