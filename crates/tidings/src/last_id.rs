//! The last event id, kept across re-created sources, and read lazily.
//!
//! The browser keeps a last event id per `EventSource` and sends it on its own reconnects; a
//! source the library re-creates starts with none, so the library carries the id over in a query
//! parameter. Reading `lastEventId` costs as much as the rest of a dispatch (the browser makes a
//! new string per read), so the library keeps the latest event instead and reads its id only
//! when asked: when a handler calls `Message::last_event_id`, when the source is re-created, or
//! when `EventSource::last_event_id` is called.

/// The id in force for an event of a source that `carried` over from the one before it (or the
/// initial id), given the id the browser `reported` for the event.
///
/// A re-created source reports an empty id until the server sends one: the carried id stays in
/// force. The one case this cannot tell apart: a server that resets the id (`id:` with no value)
/// in a re-created source before sending any other id reads as "no id yet" and keeps the carried
/// id, so a later resume may repeat events rather than lose any.
pub(crate) fn in_force<'a>(reported: &'a str, carried: &'a str) -> &'a str {
    if reported.is_empty() { carried } else { reported }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_reported_by_the_browser_wins() {
        assert_eq!(in_force("1-8", "1-7"), "1-8");
        assert_eq!(in_force("1-8", ""), "1-8");
    }

    #[test]
    fn an_empty_report_keeps_the_carried_id() {
        assert_eq!(in_force("", "1-7"), "1-7", "a new source before its first id");
        assert_eq!(in_force("", ""), "", "a first source with nothing yet, or reset");
    }
}
