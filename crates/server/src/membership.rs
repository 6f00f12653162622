//! Which nodes are alive and which one leads, from the log: each node tells the others its
//! streams with a `node` report on the internal `cluster` topic (no client can ask for it),
//! every second and on change. A node is gone when this node has applied [`REPORTS_TILL_GONE`]
//! reports of its own since that node's last one (about 3 s): judged by position in the log, not
//! by the clock, so a node whose reader lags or lost Redis for a while declares nobody gone. Its
//! streams leave the presence and its unfinished jobs fail. The node with the smallest id among
//! those alive leads (once its own first report is applied: it has heard the log up to then): it
//! runs the ticker, publishes the combined presence, and fails a gone node's jobs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tidings_axum::Topic;
use tidings_demo_events::Presence;
use tidings_wire::Event;

/// A node is gone when this node applied this many of its own reports (one a second) since that
/// node's last one.
pub(crate) const REPORTS_TILL_GONE: u64 = 3;

/// The name of the internal topic of node reports.
pub(crate) const CLUSTER: &str = "cluster";

/// The internal topic of node reports.
pub(crate) fn cluster_topic() -> Topic {
    Topic::new(CLUSTER).expect("a valid topic")
}

/// A node's report: its open streams (by display name, and all of them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct NodeReport {
    pub(crate) node: String,
    pub(crate) online: BTreeMap<String, u64>,
    pub(crate) connections: u64,
}

impl Event for NodeReport {
    const NAME: &'static str = "node";
}

/// The nodes as this node (`me`) heard them in the log.
#[derive(Debug, Default)]
pub(crate) struct Members {
    /// Each node's last report, with how many reports of this node's own had been applied then.
    nodes: BTreeMap<String, (NodeReport, u64)>,
    /// This node's id, and how many of its own reports were applied.
    me: String,
    my_reports: u64,
}

impl Members {
    /// The members as the node `me` sees them, before any report.
    pub(crate) fn new(me: &str) -> Self {
        Self { me: me.to_owned(), ..Self::default() }
    }

    /// A report applied, in log order.
    pub(crate) fn apply(&mut self, report: NodeReport) {
        if report.node == self.me {
            self.my_reports += 1;
        }
        self.nodes.insert(report.node.clone(), (report, self.my_reports));
    }

    /// The nodes not gone (see the module documentation), and `me` (alive by definition).
    pub(crate) fn alive(&self) -> Vec<String> {
        let mut alive: Vec<String> =
            self.nodes.keys().filter(|node| self.is_alive(node)).cloned().collect();
        if !alive.contains(&self.me) {
            alive.push(self.me.clone());
            alive.sort();
        }
        alive
    }

    /// Whether `me` leads: the smallest id alive, once `me`'s first report is applied (before,
    /// this node may not have heard the others).
    pub(crate) fn leads(&self) -> bool {
        self.my_reports > 0 && self.alive().first().is_some_and(|first| *first == self.me)
    }

    /// Whether `node` reported within the last [`REPORTS_TILL_GONE`] reports of `me` (or is `me`).
    pub(crate) fn is_alive(&self, node: &str) -> bool {
        node == self.me
            || self
                .nodes
                .get(node)
                .is_some_and(|(_, at)| self.my_reports.saturating_sub(*at) < REPORTS_TILL_GONE)
    }

    /// Every alive node's streams together.
    pub(crate) fn presence(&self) -> Presence {
        let mut online: BTreeMap<String, u64> = BTreeMap::new();
        let mut connections = 0;
        for node in self.alive() {
            if let Some((report, _)) = self.nodes.get(&node) {
                for (name, count) in &report.online {
                    *online.entry(name.clone()).or_default() += count;
                }
                connections += report.connections;
            }
        }
        Presence { online: online.into_keys().collect(), connections }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(node: &str, name: &str) -> NodeReport {
        NodeReport { node: node.into(), online: [(name.into(), 1)].into(), connections: 1 }
    }

    #[test]
    fn a_node_silent_for_three_of_my_reports_is_gone_and_the_smallest_alive_leads() {
        let mut members = Members::new("b");
        assert!(!members.leads(), "not before its own first report");
        members.apply(report("a", "ann"));
        members.apply(report("b", "bob"));
        assert!(!members.leads(), "a is alive and smaller");
        assert_eq!(members.presence().online, ["ann", "bob"]);
        members.apply(report("b", "bob"));
        assert!(members.is_alive("a"), "two of my reports since a's last");
        members.apply(report("b", "bob"));
        assert!(!members.is_alive("a"), "three of my reports since a's last");
        assert!(members.leads());
        assert_eq!(members.presence().online, ["bob"]);
        assert_eq!(members.alive(), ["b"]);
    }
}
