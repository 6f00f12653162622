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

/// `value` with `digits` decimals, formatted by JavaScript (`Number.prototype.toFixed`): Rust's
/// float formatting would add kilobytes to the wasm for what the browser already does.
pub(crate) fn fixed(value: f64, digits: u8) -> String {
    js_sys::Number::from(value).to_fixed(digits).map(String::from).unwrap_or_default()
}
