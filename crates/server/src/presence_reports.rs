//! Presence told: a stream's guard counts it in and out of this node's streams (`presence.rs`),
//! the node's report goes out on the internal `cluster` topic, and the leading node publishes
//! everyone's together as `presence`, paced as `presence.rs` says.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use tidings_demo_events::{DemoTopic, Presence};

use crate::AppState;
use crate::membership::cluster_topic;
use crate::presence::PresenceTurn;

/// Counts an open stream (under its display name, if any); the returned guard counts it out
/// again when the stream is dropped. The node's report goes out soon.
pub(crate) fn join(state: &AppState, name: Option<String>) -> PresenceGuard {
    let name = name.map(|name| Presence::listed_name(&name));
    let due = state.local_streams().join(name.as_deref());
    report_after(state, due);
    PresenceGuard { state: state.clone(), name }
}

/// Held by an open stream; dropping it counts the stream out of [`Presence`].
#[derive(Debug)]
pub(crate) struct PresenceGuard {
    state: AppState,
    name: Option<String>,
}

impl Drop for PresenceGuard {
    fn drop(&mut self) {
        let due = self.state.local_streams().leave(self.name.as_deref());
        report_after(&self.state, due);
    }
}

/// After `due` (if a report is due), this node's report, then (on the leader) `presence`.
fn report_after(state: &AppState, due: Option<Duration>) {
    // Outside a runtime (it is going away) there is nobody left to tell.
    let (Some(wait), Ok(runtime)) = (due, tokio::runtime::Handle::try_current()) else { return };
    let state = state.clone();
    runtime.spawn(async move {
        tokio::time::sleep(wait).await;
        report(&state).await;
        publish(&state).await;
    });
}

/// Publishes this node's streams on the internal `cluster` topic, and waits until applied.
pub(crate) async fn report(state: &AppState) {
    let report = state.local_streams().take_report(state.node());
    match state.hub().publish(&cluster_topic(), &report).await {
        Ok(record) => state.projection().caught_up(record.id).await,
        Err(error) => tracing::error!(%error, "cannot report this node's streams"),
    }
}

/// On the leading node: publishes every node's streams together when that changed, at most once
/// per [`GAP`](crate::presence::GAP) (a change within it goes out at its end).
pub(crate) async fn publish(state: &AppState) {
    let (leads, presence, told) = {
        let view = state.projection().view();
        (view.members.leads(), view.presence(), view.last_presence.clone())
    };
    // Compared with the last presence in the log (whoever published it), not this node's last.
    if !leads || told.as_ref() == Some(&presence) {
        return;
    }
    match state.local_streams().presence_turn() {
        PresenceTurn::Now => {}
        PresenceTurn::Scheduled => return,
        PresenceTurn::After(wait) => {
            let state = state.clone();
            tokio::spawn(async move {
                tokio::time::sleep(wait).await;
                state.local_streams().presence_turn_came();
                publish_boxed(state).await;
            });
            return;
        }
    }
    match state.hub().publish(&DemoTopic::Presence.topic(), &presence).await {
        Ok(record) => state.projection().caught_up(record.id).await,
        Err(error) => tracing::error!(%error, "cannot publish presence"),
    }
}

/// [`publish`] as a boxed future, for `publish` to spawn itself again (a future cannot hold
/// its own type).
fn publish_boxed(state: AppState) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async move { publish(&state).await })
}
