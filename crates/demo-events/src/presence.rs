use serde::{Deserialize, Serialize};
use tidings_wire::Event;

/// Who is connected to the demo's stream, sent whenever a stream opens or closes.
///
/// # Examples
///
/// ```
/// use tidings_wire::Event;
/// let presence = tidings_demo_events::Presence { online: vec!["Ada".into()], connections: 2 };
/// assert_eq!(tidings_demo_events::Presence::NAME, "presence");
/// # let _ = presence;
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Presence {
    /// The display names of open streams (the `name` query parameter), sorted, each once.
    pub online: Vec<String>,
    /// How many streams are open, named or not.
    pub connections: u64,
}

impl Event for Presence {
    const NAME: &'static str = "presence";
}
