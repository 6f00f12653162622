//! The hidden-tab policy: what a source does while its page is hidden, and the watcher of the
//! page's visibility that carries it out (a `visibilitychange` listener and a timer, both
//! dropped with it).

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use gloo_timers::callback::Timeout;
use wasm_bindgen::JsCast;
use web_sys::EventTarget;

use crate::listener::Listener;

/// What an [`EventSource`](crate::EventSource) does while its page is hidden (a background tab,
/// a minimised window): set with
/// [`EventSourceBuilder::hidden_tab_policy`](crate::EventSourceBuilder::hidden_tab_policy).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tidings::HiddenTabPolicy;
///
/// assert_eq!(HiddenTabPolicy::default(), HiddenTabPolicy::KeepOpen);
/// let policy = HiddenTabPolicy::CloseAfter(Duration::from_secs(5 * 60));
/// # let _ = policy;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum HiddenTabPolicy {
    /// Stay connected whatever the page's visibility (the browser's own behaviour).
    #[default]
    KeepOpen,
    /// Close the connection once the page has been hidden this long without a break; the
    /// state reads [`Hidden`](crate::ConnectionState::Hidden). When the page is visible again
    /// the connection opens at once, after the last event id (in the
    /// [`last_event_id_param`](crate::EventSourceBuilder::last_event_id_param)), so a server
    /// that resumes by id sends what was missed.
    CloseAfter(Duration),
}

/// Watches the page's visibility: `on_change` runs whenever the page is hidden or visible again
/// (with whether it is hidden), and, with a delay, `on_hidden_long` once the page has been
/// hidden that long without a break.
pub(crate) struct Watcher {
    _listener: Listener,
    target: EventTarget,
    timer: Rc<RefCell<Option<Timeout>>>,
    /// Whether the page has been hidden past the delay (until it is visible again).
    expired: Rc<Cell<bool>>,
}

impl Watcher {
    /// Watches `target` (the document, unless a test gives its own); `None` where there is no
    /// document (a worker).
    pub(crate) fn new(
        target: Option<EventTarget>,
        delay: Option<Duration>,
        on_change: impl Fn(bool) + 'static,
        on_hidden_long: impl Fn() + 'static,
    ) -> Option<Self> {
        let target = match target {
            Some(target) => target,
            None => document()?.into(),
        };
        let timer: Rc<RefCell<Option<Timeout>>> = Rc::default();
        let expired: Rc<Cell<bool>> = Rc::default();
        let on_hidden_long = Rc::new(on_hidden_long);
        let start = {
            let (timer, expired, target) = (Rc::clone(&timer), Rc::clone(&expired), target.clone());
            move || {
                let Some(delay) = delay else { return };
                let (on_hidden_long, expired) = (Rc::clone(&on_hidden_long), Rc::clone(&expired));
                let target = target.clone();
                let millis = u32::try_from(delay.as_millis()).unwrap_or(u32::MAX);
                let timeout = Timeout::new(millis, move || {
                    if is_hidden(&target) {
                        expired.set(true);
                        on_hidden_long();
                    }
                });
                *timer.borrow_mut() = Some(timeout);
            }
        };
        if is_hidden(&target) {
            start();
        }
        let listener = {
            let (timer, expired, watched) =
                (Rc::clone(&timer), Rc::clone(&expired), target.clone());
            Listener::new(&target, "visibilitychange", move |_| {
                if is_hidden(&watched) {
                    // Told twice: the delay counts from the first time.
                    if timer.borrow().is_none() {
                        start();
                    }
                    on_change(true);
                } else {
                    let pending = timer.borrow_mut().take();
                    drop(pending);
                    expired.set(false);
                    on_change(false);
                }
            })
        };
        Some(Self { _listener: listener, target, timer, expired })
    }

    /// Whether the page is hidden now.
    pub(crate) fn hidden(&self) -> bool {
        is_hidden(&self.target)
    }

    /// Whether the page has been hidden past the delay, and not visible since.
    pub(crate) fn expired(&self) -> bool {
        self.expired.get() && self.hidden()
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let pending = self.timer.borrow_mut().take();
        drop(pending);
    }
}

fn document() -> Option<web_sys::Document> {
    js_sys::global().dyn_into::<web_sys::Window>().ok()?.document()
}

/// `target.hidden` (`document.hidden` for the page).
fn is_hidden(target: &EventTarget) -> bool {
    js_sys::Reflect::get(target, &"hidden".into()).is_ok_and(|hidden| hidden.is_truthy())
}
