//! The demo ticker: a value that wanders a little every interval, published as [`Tick`].

use tokio::task::JoinHandle;
use tokio::time::{MissedTickBehavior, interval};

use crate::AppState;

/// Where the value starts.
const START_VALUE: f64 = 100.0;
/// The largest step between two ticks, either way.
const MAX_STEP: f64 = 1.0;

/// Publishes a tick every `tick_interval` until the server shuts down.
pub(crate) fn spawn(state: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut timer = interval(state.config().tick_interval());
        timer.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = state.hub().shut_down() => break,
                _ = timer.tick() => {}
            }
            // One ticker for every node sharing the log: the leading node's, going on from the
            // last tick the log has.
            let (leads, last) = {
                let view = state.projection().view();
                (view.leads(state.node()), view.ticker)
            };
            if !leads {
                continue;
            }
            let value = step(last.map_or(START_VALUE, |tick| tick.value), fastrand::f64());
            if let Err(error) = crate::demo::publish_tick(&state, value).await {
                tracing::error!(%error, "cannot publish a tick");
            }
        }
    })
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
    fn steps_stay_within_bounds_and_round_to_cents() {
        assert_eq!(step(100.0, 0.0), 99.0);
        assert_eq!(step(100.0, 1.0), 101.0);
        assert_eq!(step(100.0, 0.5), 100.0);
        assert_eq!(step(1.2, 0.0), 1.0);
        assert_eq!(step(10.0, 0.123_456), 9.25);
    }
}
