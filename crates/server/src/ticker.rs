//! The demo ticker: a value that wanders a little every interval, published as [`Tick`].

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior, interval};

use crate::AppState;

/// Where the value starts.
const START_VALUE: f64 = 100.0;
/// The largest step between two ticks, either way.
const MAX_STEP: f64 = 1.0;

/// Publishes a tick every `tick_interval` until the server shuts down. Intervals under a
/// millisecond: every wake-up (one a millisecond) publishes the ticks due by then.
pub(crate) fn spawn(state: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        let period = state.config().tick_interval();
        let mut timer = interval(period.max(Duration::from_millis(1)));
        timer.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let started = Instant::now();
        let mut made = 0_u64;
        loop {
            tokio::select! {
                () = state.hub().drain_started() => break,
                _ = timer.tick() => {}
            }
            let due = due(started.elapsed(), period, made);
            // One ticker for every node sharing the log: the leading node's, going on from the
            // last tick the log has.
            let (leads, mut last) = {
                let view = state.projection().view();
                (view.members.leads(), view.ticker)
            };
            if !leads {
                made += due;
                continue;
            }
            let mut published = None;
            for _ in 0..due {
                let value = step(last.map_or(START_VALUE, |tick| tick.value), fastrand::f64());
                match crate::demo::publish_tick(&state, last, value).await {
                    Ok((tick, id)) => (last, published) = (Some(tick), Some(id)),
                    Err(error) => {
                        tracing::error!(%error, "cannot publish a tick");
                        break;
                    }
                }
            }
            made += due;
            if let Some(id) = published {
                state.projection().caught_up(id).await;
            }
        }
    })
}

/// How many ticks are due `elapsed` after the start at one per `period`, `made` made already:
/// at least one per wake-up, and at most a second's worth (a server that stalled does not
/// publish a flood to catch up).
fn due(elapsed: Duration, period: Duration, made: u64) -> u64 {
    let by_now = (elapsed.as_secs_f64() / period.as_secs_f64()) as u64 + 1;
    let second = (1.0 / period.as_secs_f64()).ceil().max(1.0) as u64;
    by_now.saturating_sub(made).clamp(1, second)
}

/// The next value from `value` and a uniform random number in `0..1`, rounded to cents and
/// kept positive.
fn step(value: f64, random: f64) -> f64 {
    let next = value + (random * 2.0 - 1.0) * MAX_STEP;
    (next.max(1.0) * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_ticks_follow_the_clock_at_least_one_per_wake_up() {
        let ms = Duration::from_millis;
        // One a second: one per wake-up.
        assert_eq!(due(ms(0), ms(1000), 0), 1);
        assert_eq!(due(ms(1003), ms(1000), 1), 1);
        // Four a millisecond: four per 1 ms wake-up, the late ones made up.
        let quarter = Duration::from_micros(250);
        assert_eq!(due(ms(0), quarter, 0), 1);
        assert_eq!(due(ms(1), quarter, 1), 4);
        assert_eq!(due(ms(3), quarter, 5), 8);
        // A stall of ten seconds: a second's worth, not ten.
        assert_eq!(due(ms(10_000), quarter, 5), 4_000);
    }

    #[test]
    fn steps_stay_within_bounds_and_round_to_cents() {
        assert_eq!(step(100.0, 0.0), 99.0);
        assert_eq!(step(100.0, 1.0), 101.0);
        assert_eq!(step(100.0, 0.5), 100.0);
        assert_eq!(step(1.2, 0.0), 1.0);
        assert_eq!(step(10.0, 0.123_456), 9.25);
    }
}
