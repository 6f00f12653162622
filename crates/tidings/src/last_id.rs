//! The last event id, kept across re-created sources.
//!
//! The browser keeps a last event id per `EventSource` and sends it on its own reconnects; a
//! source the library re-creates starts with none, so the library keeps its own copy from every
//! event it dispatches and hands it to the new source in a query parameter.

/// An id as the tracker holds it: a JavaScript string in the browser (never copied per event),
/// a `String` in the native tests.
pub(crate) trait IdText: Clone + Default {
    fn is_empty(&self) -> bool;
}

impl IdText for String {
    fn is_empty(&self) -> bool {
        str::is_empty(self)
    }
}

/// Ids are short: a `SmolStr` keeps them inline, so copying one to every handler's message
/// allocates nothing.
impl IdText for smol_str::SmolStr {
    fn is_empty(&self) -> bool {
        smol_str::SmolStr::is_empty(self)
    }
}

/// The last event id in force.
#[derive(Debug, Default)]
pub(crate) struct LastEventId<Id> {
    id: Id,
    /// Whether the current browser source has reported an id yet. Until it has, the empty id it
    /// reports means "none seen yet", not "reset": the id carried over stays in force.
    source_has_reported: bool,
}

impl<Id: IdText> LastEventId<Id> {
    pub(crate) fn new(initial: Id) -> Self {
        Self { id: initial, source_has_reported: false }
    }

    /// The id in force.
    pub(crate) fn get(&self) -> &Id {
        &self.id
    }

    /// An event arrived carrying the browser's `lastEventId`; returns the id in force for it.
    pub(crate) fn observe(&mut self, reported: Id) -> Id {
        if !reported.is_empty() {
            self.source_has_reported = true;
            self.id = reported;
        } else if self.source_has_reported {
            // The server sent an empty `id:` field, which resets the id (conformance case 17).
            self.id = reported;
        }
        self.id.clone()
    }

    /// A new browser source was created.
    pub(crate) fn new_source(&mut self) {
        self.source_has_reported = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observe(last: &mut LastEventId<String>, reported: &str) -> String {
        last.observe(reported.to_owned())
    }

    #[test]
    fn ids_persist_and_reset_within_a_source() {
        let mut last = LastEventId::default();
        assert_eq!(observe(&mut last, ""), "");
        assert_eq!(observe(&mut last, "1-1"), "1-1");
        // A later event without `id:` reports the same id.
        assert_eq!(observe(&mut last, "1-1"), "1-1");
        assert_eq!(last.get(), "1-1");
        assert_eq!(observe(&mut last, ""), "");
        assert_eq!(last.get(), "", "an empty id: field resets it");
    }

    #[test]
    fn a_new_source_carries_the_id_over_until_it_reports_its_own() {
        let mut last = LastEventId::new("1-7".to_owned());
        assert_eq!(observe(&mut last, ""), "1-7", "the initial id survives events without ids");
        observe(&mut last, "1-8");
        last.new_source();
        assert_eq!(observe(&mut last, ""), "1-8", "kept across re-creation");
        observe(&mut last, "1-9");
        assert_eq!(observe(&mut last, ""), "");
        assert_eq!(last.get(), "");
    }
}
