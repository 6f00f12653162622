//! Which records a hub stream sends: its topics and its filter. Read by the stream itself
//! (`live.rs`) and by the hub's writers while they write to it (`direct.rs`).

use tidings_wire::Topic;

use crate::Record;

/// What a filter set with [`EventStream::filter`](crate::EventStream::filter) is.
pub(crate) type RecordFilter = dyn Fn(&Record) -> bool + Send + Sync;

/// The records a stream sends: of its topics (sorted: a few, so a boxed slice searched in halves
/// beats a tree in the memory an idle stream holds; a B-tree's first node alone is a couple of
/// hundred bytes), and admitted by its filter if it has one.
pub(crate) struct Selection {
    topics: Box<[Topic]>,
    filter: Option<Box<RecordFilter>>,
}

impl Selection {
    /// `topics` in order, and `filter`.
    pub(crate) fn new(
        topics: impl IntoIterator<Item = Topic>,
        filter: Option<Box<RecordFilter>>,
    ) -> Self {
        let mut topics: Vec<Topic> = topics.into_iter().collect();
        topics.sort_unstable();
        topics.dedup();
        Self { topics: topics.into_boxed_slice(), filter }
    }

    pub(crate) fn admits(&self, record: &Record) -> bool {
        self.topics.binary_search(&record.topic).is_ok()
            && self.filter.as_ref().is_none_or(|keep| keep(record))
    }
}
