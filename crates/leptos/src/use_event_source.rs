use leptos::prelude::*;
use tidings::{CloseReason, ConnectionState, EventSource};

/// A connection's signals and handle, returned by [`use_event_source`]. `Copy`, so closures in a
/// view can each take it.
///
/// ```no_run
/// # use leptos::prelude::*;
/// let stream = tidings_leptos::use_event_source("/api/events");
/// let is_open = move || stream.state().get().is_open();
/// # let _ = is_open;
/// ```
#[derive(Debug, Clone, Copy)]
pub struct UseEventSource {
    source: StoredValue<Option<EventSource>, LocalStorage>,
    state: ReadSignal<ConnectionState>,
    last_error: RwSignal<Option<tidings::Error>>,
}

/// Opens a Server-Sent Events connection to `url` for the current reactive owner.
///
/// The connection closes when the owner is cleaned up (a component unmounts). An invalid URL
/// does not panic: the state reads closed and [`UseEventSource::last_error`] says why. Outside a
/// browser (server-side rendering, native tests) nothing is opened and the state stays
/// [`ConnectionState::Connecting`] (attempt 0).
///
/// ```no_run
/// # use leptos::prelude::*;
/// let stream = tidings_leptos::use_event_source("/api/events");
/// let state: Signal<tidings::ConnectionState> = stream.state();
/// # let _ = state;
/// ```
pub fn use_event_source(url: &str) -> UseEventSource {
    let (state, set_state) = signal(ConnectionState::Connecting { attempt: 0 });
    let last_error = RwSignal::new(None);
    let source = if cfg!(target_arch = "wasm32") {
        match EventSource::builder(url).open() {
            Ok(source) => Some(source),
            Err(error) => {
                set_state.set(ConnectionState::Closed(CloseReason::Fatal { status: None }));
                last_error.set(Some(error));
                None
            }
        }
    } else {
        None
    };
    let states = source.as_ref().map(|source| source.on_state(move |now| set_state.set(now)));
    // The source and its state subscription live in the owner's arena and drop with it, in
    // either order: dropping the source closes the connection.
    StoredValue::new_local(states);
    UseEventSource { source: StoredValue::new_local(source), state, last_error }
}

impl UseEventSource {
    /// The connection state.
    ///
    /// ```no_run
    /// # use leptos::prelude::*;
    /// # let stream = tidings_leptos::use_event_source("/api/events");
    /// let label = move || stream.state().get().to_string();
    /// # let _ = label;
    /// ```
    pub fn state(&self) -> Signal<ConnectionState> {
        self.state.into()
    }

    /// The most recent error: an invalid URL, or an event whose data did not decode. A decode
    /// error never stops the stream.
    ///
    /// ```no_run
    /// # use leptos::prelude::*;
    /// # let stream = tidings_leptos::use_event_source("/api/events");
    /// let problem = move || stream.last_error().get().map(|error| error.to_string());
    /// # let _ = problem;
    /// ```
    pub fn last_error(&self) -> Signal<Option<tidings::Error>> {
        self.last_error.into()
    }

    /// A signal of the most recent `T` received, `None` until the first one.
    ///
    /// The handler behind it lives as long as the current reactive owner.
    ///
    /// ```no_run
    /// # use leptos::prelude::*;
    /// # let stream = tidings_leptos::use_event_source("/api/events");
    /// let tick = stream.latest::<tidings_demo_events::Tick>();
    /// let value = move || tick.get().map(|tick| tick.value);
    /// # let _ = value;
    /// ```
    pub fn latest<T>(&self) -> Signal<Option<T>>
    where
        T: tidings_wire::Event + Clone + Send + Sync,
    {
        let (value, set_value) = signal(None::<T>);
        let last_error = self.last_error;
        let subscription = self.source.with_value(|source| {
            source.as_ref().map(|source| {
                source.on::<T>(move |received| match received {
                    Ok(message) => set_value.set(Some(message.data)),
                    Err(error) => last_error.set(Some(error)),
                })
            })
        });
        StoredValue::new_local(subscription);
        value.into()
    }
}
