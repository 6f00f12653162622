//! The ticker: unnamed `message` events, the current value and a chart of the last 60.

use std::collections::VecDeque;

use leptos::prelude::*;
use tidings_demo_events::Tick;
use tidings_leptos::UseEventSource;

use crate::clock::fixed;

/// How many ticks the chart shows.
const CHART_TICKS: usize = 60;
/// The chart's size in view-box units.
const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 160.0;
/// `0 0 WIDTH HEIGHT`, written out: formatting floats would cost kilobytes of wasm (a test
/// checks that the two agree).
const VIEW_BOX: &str = "0 0 600 160";

#[component]
pub(crate) fn TickerPanel(stream: UseEventSource, first: Option<Tick>) -> impl IntoView {
    let ticks = RwSignal::new(first.into_iter().collect::<VecDeque<Tick>>());
    stream.on::<Tick>(move |received| {
        if let Ok(message) = received {
            ticks.update(|ticks| {
                if ticks.back().is_some_and(|last| last.seq >= message.data.seq) {
                    return;
                }
                if ticks.len() == CHART_TICKS {
                    ticks.pop_front();
                }
                ticks.push_back(message.data);
            });
        }
    });
    let latest = move || ticks.with(|ticks| ticks.back().cloned());
    let points = move || ticks.with(polyline);
    view! {
        <section class="panel ticker" aria-labelledby="ticker-title">
            <h2 id="ticker-title">"Ticker"</h2>
            <p class="hint">"Unnamed "<code>"message"</code>" events, one a second."</p>
            <p class="value" id="tick-value">
                {move || latest().map_or_else(|| "—".to_owned(), |tick| fixed(tick.value, 2))}
            </p>
            <svg class="chart" viewBox=VIEW_BOX preserveAspectRatio="none"
                role="img" aria-label="The last 60 values">
                <polyline points=points fill="none" stroke="currentColor" stroke-width="2"
                    vector-effect="non-scaling-stroke"/>
            </svg>
            <dl class="facts">
                <dt>"Tick"</dt>
                <dd id="tick-seq">{move || latest().map_or_else(|| "waiting…".to_owned(), |tick| tick.seq.to_string())}</dd>
                <dt>"Error"</dt>
                <dd id="last-error">
                    {move || stream.last_error().map_or_else(|| "none".to_owned(), |error| error.to_string())}
                </dd>
            </dl>
        </section>
    }
}

/// The SVG points of `ticks`, scaled to the chart: x by position among the last 60, y between
/// the lowest and the highest value shown.
fn polyline(ticks: &VecDeque<Tick>) -> String {
    let (low, high) = ticks.iter().fold((f64::MAX, f64::MIN), |(low, high), tick| {
        (low.min(tick.value), high.max(tick.value))
    });
    let span = if high > low { high - low } else { 1.0 };
    let step = WIDTH / (CHART_TICKS - 1) as f64;
    let offset = CHART_TICKS.saturating_sub(ticks.len());
    ticks
        .iter()
        .enumerate()
        .map(|(index, tick)| {
            // Whole units of a 600 × 160 view box: sharp enough, and no float formatting.
            let x = ((offset + index) as f64 * step).round() as i64;
            let y = (HEIGHT - 8.0 - (tick.value - low) / span * (HEIGHT - 16.0)).round() as i64;
            format!("{x},{y}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_view_box_is_the_chart_size() {
        assert_eq!(VIEW_BOX, format!("0 0 {WIDTH} {HEIGHT}"));
    }
}
