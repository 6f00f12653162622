use std::rc::Rc;

use leptos::prelude::*;

use crate::UseEventSourceOptions;
use crate::connection::Connection;

/// The connections shared under a [`provide_event_sources`] owner: one per URL and options,
/// counted by their users. A page has a few URLs: a list, searched in order, is enough (and smaller in
/// wasm than a hash map).
#[derive(Debug, Clone, Copy)]
pub(crate) struct EventSources {
    connections: StoredValue<Vec<Entry>, LocalStorage>,
    /// What acquiring and releasing do: named only by [`provide_event_sources`], so that an app
    /// that never shares connections links none of it (nor the comparison of options).
    shared: &'static Shared,
}

/// How a provided registry shares connections.
#[derive(Debug)]
struct Shared {
    acquire: fn(&EventSources, &str, &UseEventSourceOptions) -> Rc<Connection>,
    release: fn(&EventSources, &Rc<Connection>),
}

static SHARED: Shared = Shared { acquire: EventSources::share, release: EventSources::unshare };

struct Entry {
    connection: Rc<Connection>,
    users: usize,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("url", &self.connection.url())
            .field("users", &self.users)
            .finish()
    }
}

/// Shares connections below the current owner: every
/// [`use_event_source`](crate::use_event_source) under it with the same URL (and equal
/// [options](crate::UseEventSourceOptions)) uses one `EventSource`, which closes when its last
/// user is cleaned up. Call it once near the root.
///
/// Without it, each `use_event_source` opens its own connection.
///
/// # Examples
///
/// ```no_run
/// use leptos::prelude::*;
///
/// #[component]
/// fn App() -> impl IntoView {
///     tidings_leptos::provide_event_sources();
///     view! { <Feed/> <Counter/> } // both read "/api/events" over one connection
/// }
/// # #[component] fn Feed() -> impl IntoView { let _ = tidings_leptos::use_event_source("/api/events"); }
/// # #[component] fn Counter() -> impl IntoView { let _ = tidings_leptos::use_event_source("/api/events"); }
/// ```
pub fn provide_event_sources() {
    provide_context(EventSources {
        connections: StoredValue::new_local(Vec::new()),
        shared: &SHARED,
    });
}

impl EventSources {
    /// The context's registry, if a [`provide_event_sources`] is above.
    pub(crate) fn from_context() -> Option<Self> {
        use_context::<Self>()
    }

    /// The shared connection for `url` with `options`, opened by its first user; counted until
    /// [`release`](Self::release)d.
    pub(crate) fn acquire(&self, url: &str, options: &UseEventSourceOptions) -> Rc<Connection> {
        (self.shared.acquire)(self, url, options)
    }

    /// One user of `connection` fewer; the last one closes it.
    pub(crate) fn release(&self, connection: &Rc<Connection>) {
        (self.shared.release)(self, connection);
    }

    fn share(&self, url: &str, options: &UseEventSourceOptions) -> Rc<Connection> {
        self.connections
            .try_update_value(|connections| {
                let same = |entry: &Entry| entry.connection.url() == url;
                let index = match connections
                    .iter()
                    .position(|entry| same(entry) && entry.connection.options() == options)
                {
                    Some(index) => index,
                    None => {
                        if connections.iter().any(same) {
                            leptos::logging::debug_warn!(
                                "tidings-leptos: {url} is already open with other options; \
                                 this user gets a connection of its own"
                            );
                        }
                        let connection = Connection::new(url, options.clone());
                        connections.push(Entry { connection, users: 0 });
                        connections.len() - 1
                    }
                };
                let entry = &mut connections[index];
                entry.users += 1;
                Rc::clone(&entry.connection)
            })
            // The provider's owner is gone: an unshared connection.
            .unwrap_or_else(|| Connection::new(url, options.clone()))
    }

    fn unshare(&self, connection: &Rc<Connection>) {
        let closed = self.connections.try_update_value(|connections| {
            let index =
                connections.iter().position(|entry| Rc::ptr_eq(&entry.connection, connection))?;
            let entry = &mut connections[index];
            entry.users = entry.users.saturating_sub(1);
            (entry.users == 0).then(|| connections.swap_remove(index))
        });
        drop(closed);
    }

    /// How many users the connections to `url` have (0 when there is none).
    #[cfg(test)]
    pub(crate) fn users(&self, url: &str) -> usize {
        self.connections
            .try_with_value(|connections| {
                let entries = connections.iter().filter(|entry| entry.connection.url() == url);
                entries.map(|entry| entry.users).sum()
            })
            .unwrap_or(0)
    }

    /// How many connections to `url` there are.
    #[cfg(test)]
    pub(crate) fn connections(&self, url: &str) -> usize {
        self.connections
            .try_with_value(|connections| {
                connections.iter().filter(|entry| entry.connection.url() == url).count()
            })
            .unwrap_or(0)
    }
}
