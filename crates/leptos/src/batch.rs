//! Readers woken once per batch of events, not once per event.
//!
//! Every event is written at once (a signal's value, the source's latest event), so a read is
//! always exact; only the *notification* of the reactive closures that read it waits until the
//! browser has dispatched the events it has at hand. A browser runs the page's microtasks after
//! every event it dispatches, and Leptos runs effects in microtasks, so waking readers per event
//! would re-render per event: under a burst, that cost a mounted component half of its events
//! per second (see docs/benchmarks.md in the repository, "Browser"). A message posted to a `MessageChannel`
//! is a task of its own, run after the events already queued; unlike a timer, it is neither
//! clamped nor throttled in a background tab.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// Something to notify at the end of the batch, at most once per batch.
pub(crate) struct Deferred {
    notify: Box<dyn Fn()>,
    pending: Cell<bool>,
}

impl Deferred {
    pub(crate) fn new(notify: impl Fn() + 'static) -> Rc<Self> {
        Rc::new(Self { notify: Box::new(notify), pending: Cell::new(false) })
    }

    /// Notifies at the end of the current batch (once, however often it is marked).
    pub(crate) fn mark(self: &Rc<Self>) {
        if self.pending.replace(true) {
            return;
        }
        QUEUE.with(|queue| queue.borrow_mut().push(Rc::clone(self)));
        schedule();
    }
}

thread_local! {
    static QUEUE: RefCell<Vec<Rc<Deferred>>> = const { RefCell::new(Vec::new()) };
}

/// Notifies everything marked since the last flush, in the order it was marked.
fn flush() {
    let marked = QUEUE.with(|queue| std::mem::take(&mut *queue.borrow_mut()));
    for deferred in marked {
        deferred.pending.set(false);
        (deferred.notify)();
    }
}

#[cfg(target_arch = "wasm32")]
fn schedule() {
    use wasm_bindgen::JsValue;

    /// The page's one channel: a message to itself ends the batch.
    struct Channel {
        sender: web_sys::MessagePort,
        scheduled: Cell<bool>,
        _receiver: gloo_events::EventListener,
    }

    thread_local! {
        static CHANNEL: Option<Channel> = {
            let channel = web_sys::MessageChannel::new().ok()?;
            let receiver = channel.port1();
            let listener = gloo_events::EventListener::new(&receiver, "message", |_| {
                CHANNEL.with(|channel| {
                    if let Some(channel) = channel {
                        channel.scheduled.set(false);
                    }
                });
                flush();
            });
            receiver.start();
            Some(Channel { sender: channel.port2(), scheduled: Cell::new(false), _receiver: listener })
        };
    }
    let posted = CHANNEL.with(|channel| match channel {
        Some(channel) if channel.scheduled.get() => true,
        Some(channel) => {
            let posted = channel.sender.post_message(&JsValue::NULL).is_ok();
            channel.scheduled.set(posted);
            posted
        }
        None => false,
    });
    // No channel (it cannot be made here): notify at once rather than never.
    if !posted {
        flush();
    }
}

/// Outside a browser no event arrives; whatever is marked is notified at once.
#[cfg(not(target_arch = "wasm32"))]
fn schedule() {
    flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mark_notifies_once_per_flush() {
        let count = Rc::new(Cell::new(0));
        let counted = Rc::clone(&count);
        let deferred = Deferred::new(move || counted.set(counted.get() + 1));
        // Natively the flush comes at once.
        deferred.mark();
        deferred.mark();
        assert_eq!(count.get(), 2);
        // Marked twice before a flush: one notification.
        deferred.pending.set(true);
        QUEUE.with(|queue| queue.borrow_mut().push(Rc::clone(&deferred)));
        deferred.mark();
        flush();
        assert_eq!(count.get(), 3);
    }
}
