//! Which nodes are alive and which one leads, from the log: each node tells the others its
//! streams with a `node` report on the internal `cluster` topic (no client can ask for it),
//! every second and on change. A node is gone when this node has applied [`REPORTS_TILL_GONE`]
//! reports of its own since that node's last one (about 3 s): judged by position in the log, not
//! by the clock, so a node whose reader lags or lost Redis for a while declares nobody gone. Its
//! streams leave the presence and its unfinished jobs fail. The node with the smallest id among
//! those alive leads (once its own first report is applied: it has heard the log up to then): it
//! runs the ticker, publishes the combined presence, and fails a gone node's jobs.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use tidings_axum::Topic;
use tidings_demo_events::Presence;
use tidings_wire::Event;

/// A node is gone when this node applied this many of its own reports (one a second) since that
/// node's last one.
pub(crate) const REPORTS_TILL_GONE: u64 = 3;

/// The name of the internal topic of node reports.
pub(crate) const CLUSTER: &str = "cluster";

/// The internal topic of node reports and job tokens (no client can ask for it).
pub(crate) fn cluster_topic() -> Topic {
    Topic::from_static(CLUSTER)
}

/// A node's report: its open streams, in a size that does not grow with them (see
/// `presence.rs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct NodeReport {
    pub(crate) node: String,
    /// At most [`Presence::LISTED`] display names: the first to arrive still here.
    pub(crate) listed: Vec<String>,
    /// How many display names this node has open, listed or not.
    pub(crate) named: u64,
    /// How many streams this node has open, named or not.
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

    /// Every alive node's streams together: the names the nodes list (at most
    /// [`Presence::LISTED`] of them, sorted), the other names counted (a name open on several
    /// nodes counts once where they all list it), and the streams.
    pub(crate) fn presence(&self) -> Presence {
        let mut listed = BTreeSet::new();
        let (mut named, mut listings, mut connections) = (0, 0, 0);
        for node in self.alive() {
            if let Some((report, _)) = self.nodes.get(&node) {
                listed.extend(report.listed.iter().cloned());
                listings += report.listed.len() as u64;
                named += report.named;
                connections += report.connections;
            }
        }
        let listed_twice = listings - listed.len() as u64;
        let online: Vec<String> = listed.into_iter().take(Presence::LISTED).collect();
        let others = named.saturating_sub(listed_twice).saturating_sub(online.len() as u64);
        Presence { online, others, connections }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(node: &str, name: &str) -> NodeReport {
        NodeReport { node: node.into(), listed: vec![name.into()], named: 1, connections: 1 }
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

    #[test]
    fn presence_lists_a_bounded_number_of_names_and_counts_the_rest_once() {
        let mut members = Members::new("a");
        let names = |range: std::ops::Range<usize>| -> Vec<String> {
            range.map(|n| format!("{n:03}")).collect()
        };
        // Node a lists 000..020 of its 50 names; node b lists 010..030 of its 25.
        members.apply(NodeReport {
            node: "a".into(),
            listed: names(0..20),
            named: 50,
            connections: 60,
        });
        members.apply(NodeReport {
            node: "b".into(),
            listed: names(10..30),
            named: 25,
            connections: 25,
        });
        let presence = members.presence();
        assert_eq!(presence.online, names(0..20));
        // 75 names, 10 of them on both nodes: 65, of which 20 listed.
        assert_eq!((presence.others, presence.connections), (45, 85));
    }
}
