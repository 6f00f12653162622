//! The demo's policy for slow clients: which of its records only matter as the newest.

use tidings_axum::Topic;
use tidings_demo_events::{DemoTopic, JobProgress};
use tidings_wire::Event;

/// Whether only the newest event of this kind matters to a stream that fell behind: the ticker,
/// presence, a job's progress. Typing is not one (one author's typing does not replace
/// another's).
pub(crate) fn is_latest_value(topic: &Topic, name: &str) -> bool {
    match topic.as_str().parse::<DemoTopic>() {
        Ok(DemoTopic::Ticker | DemoTopic::Presence) => true,
        Ok(DemoTopic::Job(_)) => name == JobProgress::NAME,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_values_are_the_ticker_presence_and_progress() {
        let topic = |name: &str| Topic::new(name).unwrap();
        assert!(is_latest_value(&topic("ticker"), "message"));
        assert!(is_latest_value(&topic("presence"), "presence"));
        assert!(is_latest_value(&topic("jobs:1"), JobProgress::NAME));
        assert!(!is_latest_value(&topic("jobs:1"), "complete"));
        assert!(!is_latest_value(&topic("typing"), "typing"));
        assert!(!is_latest_value(&topic("comments"), "comment"));
    }
}
