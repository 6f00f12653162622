//! What [`use_event_source`](crate::use_event_source) takes as its URL: text, which is fixed, or
//! a signal of a `String`, which the handle follows.
//!
//! Which one is known at compile time, through the trait's implementation, so that a page whose
//! URLs are all fixed links none of the code that follows a signal (the effect, the signal's
//! reads, the move of handlers to a new connection; measured in the repository's
//! ARCHITECTURE.md, "Size of the page").

use std::borrow::Cow;

use leptos::prelude::*;

use crate::{UseEventSource, UseEventSourceOptions};

/// A URL for [`use_event_source`](crate::use_event_source): text (`&str`, `String`,
/// `Cow<str>`) is fixed; a signal of a `String` (`Signal`, `ReadSignal`, `RwSignal`, `Memo`, and
/// their `Arc` forms, `Signal<&'static str>`) is followed: when it changes, the handle moves to
/// the new URL's connection with every handler.
///
/// Implemented by this crate only. A fixed URL costs the page nothing for the following.
///
/// # Examples
///
/// ```no_run
/// # use leptos::prelude::*;
/// use tidings_leptos::use_event_source;
///
/// // Fixed.
/// let feed = use_event_source("/api/events");
/// // Followed.
/// let (board, _set_board) = signal("main".to_owned());
/// let url = Signal::derive(move || format!("/boards/{}/events", board.get()));
/// let boards = use_event_source(url);
/// # let _ = (feed, boards);
/// ```
pub trait EventSourceUrl: sealed::Sealed {
    /// Opens a handle on this URL.
    #[doc(hidden)]
    fn open_handle(self, options: UseEventSourceOptions) -> UseEventSource;
}

mod sealed {
    pub trait Sealed {}
}

macro_rules! fixed {
    ($($text:ty),*) => {$(
        impl sealed::Sealed for $text {}
        impl EventSourceUrl for $text {
            fn open_handle(self, options: UseEventSourceOptions) -> UseEventSource {
                UseEventSource::fixed(self.into(), options)
            }
        }
    )*};
}

fixed!(&str, String, &String, Cow<'_, str>);

macro_rules! followed {
    ($($signal:ty),*) => {$(
        impl sealed::Sealed for $signal {}
        impl EventSourceUrl for $signal {
            fn open_handle(self, options: UseEventSourceOptions) -> UseEventSource {
                UseEventSource::following(self.into(), options)
            }
        }
    )*};
}

followed!(
    Signal<String>,
    Signal<&'static str>,
    ReadSignal<String>,
    RwSignal<String>,
    Memo<String>,
    ArcSignal<String>,
    ArcReadSignal<String>,
    ArcRwSignal<String>,
    ArcMemo<String>
);
