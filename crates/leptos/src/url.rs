//! What [`use_event_source`](crate::use_event_source) takes as its URL: text, which is fixed, or
//! a signal of a `String`, which the handle follows.
//!
//! Which one is known at compile time, through the trait's implementation, so that a page whose
//! URLs are all fixed links none of the code that follows a signal (the effect, the signal's
//! reads, the move of handlers to a new connection; measured in the repository's
//! ARCHITECTURE.md, "Size of the page"). The trait only says which it is, to an [`Opener`]
//! that the handle's module implements: this module knows nothing of handles.

use std::borrow::Cow;

use leptos::prelude::*;

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
    /// Hands this URL to the opener as what it is.
    #[doc(hidden)]
    fn open_with<O: Opener>(self, opener: O) -> O::Opened;
}

/// What opens a handle on either kind of URL.
#[doc(hidden)]
pub trait Opener {
    type Opened;
    /// A fixed URL.
    fn fixed(self, url: String) -> Self::Opened;
    /// A URL to follow.
    fn following(self, url: Signal<String>) -> Self::Opened;
}

mod sealed {
    pub trait Sealed {}
}

/// Implements [`EventSourceUrl`] for each type, handing it to the opener's `$kind` as `$as`.
macro_rules! urls {
    ($kind:ident as $as:ty: $($url:ty),*) => {$(
        impl sealed::Sealed for $url {}
        impl EventSourceUrl for $url {
            fn open_with<O: Opener>(self, opener: O) -> O::Opened {
                opener.$kind(<$as>::from(self))
            }
        }
    )*};
}

urls!(fixed as String: &str, String, &String, Cow<'_, str>);

urls!(
    following as Signal<String>:
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
