//! Presence: who has a stream open. Each node counts its own streams here; `presence_reports.rs`
//! reports them on the log (`membership.rs`), and the leading node publishes everyone's together
//! as `presence`.
//!
//! Bounded whatever the clients do: a report lists at most [`Presence::LISTED`] names (the first
//! to arrive that are still here, each cut to [`Presence::NAME_CHARS`] characters) and counts
//! the rest, so a report and a `presence` event cost the same with ten clients or ten thousand; a
//! node reports at most once per [`GAP`] (a burst of joins and leaves becomes one report), and the
//! leader publishes `presence` at most once per [`GAP`], only when it changed.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tidings_demo_events::Presence;

use crate::membership::NodeReport;

/// How long the first change of a burst waits for the rest before a report goes out.
const COALESCE: Duration = Duration::from_millis(50);
/// At most one report per node, and one `presence` event, per this long.
pub(crate) const GAP: Duration = Duration::from_millis(250);

/// This node's open streams, and when it last reported them.
#[derive(Debug, Default)]
pub(crate) struct LocalStreams {
    inner: Mutex<Streams>,
}

#[derive(Debug, Default)]
struct Streams {
    /// Open streams by display name (as listed).
    named: HashMap<String, Named>,
    /// The display names by arrival: the first [`Presence::LISTED`] are listed.
    arrivals: BTreeMap<u64, String>,
    next_arrival: u64,
    connections: u64,
    report_scheduled: bool,
    last_report: Option<Instant>,
    presence_scheduled: bool,
    last_presence: Option<Instant>,
}

#[derive(Debug)]
struct Named {
    streams: u64,
    arrival: u64,
}

impl Streams {
    fn join(&mut self, name: Option<&str>) {
        self.connections += 1;
        if let Some(name) = name {
            let arrival = self.next_arrival;
            let named =
                self.named.entry(name.to_owned()).or_insert_with(|| Named { streams: 0, arrival });
            if named.arrival == arrival {
                self.next_arrival += 1;
                self.arrivals.insert(arrival, name.to_owned());
            }
            named.streams += 1;
        }
    }

    fn leave(&mut self, name: Option<&str>) {
        self.connections = self.connections.saturating_sub(1);
        if let Some(name) = name
            && let Some(named) = self.named.get_mut(name)
        {
            named.streams -= 1;
            if named.streams == 0 {
                self.arrivals.remove(&named.arrival);
                self.named.remove(name);
            }
        }
    }

    /// How long to wait before a report, if one must be scheduled: [`COALESCE`] after the
    /// first change of a burst, and not sooner than [`GAP`] after the last report.
    fn report_due(&mut self) -> Option<Duration> {
        if self.report_scheduled {
            return None;
        }
        self.report_scheduled = true;
        Some(self.last_report.map_or(COALESCE, |last| {
            (last + GAP).saturating_duration_since(Instant::now()).max(COALESCE)
        }))
    }

    fn report(&self, node: &str) -> NodeReport {
        NodeReport {
            node: node.to_owned(),
            listed: self.arrivals.values().take(Presence::LISTED).cloned().collect(),
            named: self.named.len() as u64,
            connections: self.connections,
        }
    }
}

/// When the leader may publish `presence` (see [`LocalStreams::presence_turn`]).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PresenceTurn {
    /// Now.
    Now,
    /// After this long: the caller schedules it.
    After(Duration),
    /// A later publication is scheduled already.
    Scheduled,
}

impl LocalStreams {
    fn lock(&self) -> MutexGuard<'_, Streams> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts a stream in (under its listed name, if any); says how long to wait before the
    /// report if the caller must schedule one.
    pub(crate) fn join(&self, name: Option<&str>) -> Option<Duration> {
        let mut streams = self.lock();
        streams.join(name);
        streams.report_due()
    }

    /// Counts a stream out; as [`LocalStreams::join`].
    pub(crate) fn leave(&self, name: Option<&str>) -> Option<Duration> {
        let mut streams = self.lock();
        streams.leave(name);
        streams.report_due()
    }

    /// This node's report, to publish now (a scheduled report is no longer due).
    pub(crate) fn take_report(&self, node: &str) -> NodeReport {
        let mut streams = self.lock();
        streams.report_scheduled = false;
        streams.last_report = Some(Instant::now());
        streams.report(node)
    }

    /// Whether the leader may publish `presence` now: at most once per [`GAP`].
    pub(crate) fn presence_turn(&self) -> PresenceTurn {
        let mut streams = self.lock();
        let now = Instant::now();
        match streams.last_presence {
            Some(last) if now.duration_since(last) < GAP => {
                if streams.presence_scheduled {
                    PresenceTurn::Scheduled
                } else {
                    streams.presence_scheduled = true;
                    PresenceTurn::After((last + GAP).saturating_duration_since(now))
                }
            }
            _ => {
                streams.last_presence = Some(now);
                PresenceTurn::Now
            }
        }
    }

    /// The scheduled publication is under way.
    pub(crate) fn presence_turn_came(&self) {
        self.lock().presence_scheduled = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_lists_the_first_names_to_arrive_and_counts_the_rest() {
        let mut streams = Streams::default();
        for n in 0..100 {
            streams.join(Some(&format!("{n:03}")));
        }
        streams.join(Some("000"));
        streams.join(None);
        let report = streams.report("a");
        assert_eq!(report.listed.len(), Presence::LISTED);
        assert_eq!(report.listed.first().map(String::as_str), Some("000"));
        assert_eq!((report.named, report.connections), (100, 102));
        // "000" has two streams: it stays listed until both leave.
        streams.leave(Some("000"));
        assert_eq!(streams.report("a").listed[0], "000");
        streams.leave(Some("000"));
        let report = streams.report("a");
        assert_eq!(report.listed[0], "001");
        assert_eq!(report.listed.last().map(String::as_str), Some("020"));
        for n in 1..100 {
            streams.leave(Some(&format!("{n:03}")));
        }
        streams.leave(None);
        assert!(streams.named.is_empty() && streams.arrivals.is_empty());
        assert_eq!(streams.connections, 0);
    }

    #[test]
    fn reports_and_presence_are_paced() {
        let local = LocalStreams::default();
        assert_eq!(local.join(Some("a")), Some(COALESCE), "the first change schedules a report");
        assert_eq!(local.join(Some("b")), None, "the rest of the burst joins it");
        let _ = local.take_report("n");
        let wait = local.leave(Some("a")).expect("a new report");
        assert!(wait > GAP - Duration::from_millis(50) && wait <= GAP, "{wait:?}");
        assert_eq!(local.presence_turn(), PresenceTurn::Now);
        assert!(matches!(local.presence_turn(), PresenceTurn::After(wait) if wait <= GAP));
        assert_eq!(local.presence_turn(), PresenceTurn::Scheduled);
        local.presence_turn_came();
        assert!(matches!(local.presence_turn(), PresenceTurn::After(_)));
    }
}
