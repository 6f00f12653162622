//! The last event id, kept across re-created sources.
//!
//! The browser keeps a last event id per `EventSource` and sends it on its own reconnects; a
//! source the library re-creates starts with none, so the library keeps its own copy from every
//! event it dispatches and hands it to the new source in a query parameter.

/// The last event id in force.
#[derive(Debug, Default)]
pub(crate) struct LastEventId {
    id: String,
    /// Whether the current browser source has reported an id yet. Until it has, the empty id it
    /// reports means "none seen yet", not "reset": the id carried over stays in force.
    source_has_reported: bool,
}

impl LastEventId {
    pub(crate) fn new(initial: String) -> Self {
        Self { id: initial, source_has_reported: false }
    }

    /// The id in force.
    pub(crate) fn get(&self) -> &str {
        &self.id
    }

    /// An event arrived carrying the browser's `lastEventId`.
    pub(crate) fn observe(&mut self, reported: &str) {
        if !reported.is_empty() {
            self.source_has_reported = true;
            if self.id != reported {
                reported.clone_into(&mut self.id);
            }
        } else if self.source_has_reported {
            // The server sent an empty `id:` field, which resets the id (conformance case 17).
            self.id.clear();
        }
    }

    /// A new browser source was created.
    pub(crate) fn new_source(&mut self) {
        self.source_has_reported = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_persist_and_reset_within_a_source() {
        let mut last = LastEventId::default();
        last.observe("");
        assert_eq!(last.get(), "");
        last.observe("1-1");
        last.observe("1-1"); // a later event without `id:` reports the same id
        assert_eq!(last.get(), "1-1");
        last.observe("");
        assert_eq!(last.get(), "", "an empty id: field resets it");
    }

    #[test]
    fn a_new_source_carries_the_id_over_until_it_reports_its_own() {
        let mut last = LastEventId::new("1-7".to_owned());
        last.observe("");
        assert_eq!(last.get(), "1-7", "the initial id survives events without ids");
        last.observe("1-8");
        last.new_source();
        last.observe("");
        assert_eq!(last.get(), "1-8", "kept across re-creation");
        last.observe("1-9");
        last.observe("");
        assert_eq!(last.get(), "");
    }
}
