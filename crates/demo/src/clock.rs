//! A signal of the time, for countdowns and rates.

use std::time::Duration;

use leptos::prelude::*;

/// `Date.now()`, updated four times a second while the current owner lives.
pub(crate) fn use_clock() -> ReadSignal<f64> {
    let (now, set_now) = signal(js_sys::Date::now());
    if let Ok(handle) = set_interval_with_handle(
        move || set_now.set(js_sys::Date::now()),
        Duration::from_millis(250),
    ) {
        on_cleanup(move || handle.clear());
    }
    now
}
