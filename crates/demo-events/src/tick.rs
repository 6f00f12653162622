use serde::{Deserialize, Serialize};
use tidings_wire::{Event, MESSAGE};

/// One beat of the demo ticker: a value that wanders a little every second.
///
/// Sent without an `event:` field, so browsers deliver it as a plain `message` event.
///
/// # Examples
///
/// ```
/// use tidings_demo_events::Tick;
///
/// let tick = Tick { seq: 1, value: 100.0, at_ms: 1_732_170_000_000 };
/// let json = serde_json::to_string(&tick)?;
/// assert_eq!(json, r#"{"seq":1,"value":100.0,"at_ms":1732170000000}"#);
/// assert_eq!(serde_json::from_str::<Tick>(&json)?, tick);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Tick {
    /// Counts ticks from 1 since the ticker started.
    pub seq: u64,
    /// The ticker's current value.
    pub value: f64,
    /// When the tick was made, in milliseconds since the Unix epoch.
    pub at_ms: u64,
}

impl Event for Tick {
    const NAME: &'static str = MESSAGE;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_or_mistyped_fields_are_errors() {
        assert!(serde_json::from_str::<Tick>(r#"{"seq":1,"value":1.0}"#).is_err());
        assert!(serde_json::from_str::<Tick>(r#"{"seq":-1,"value":1.0,"at_ms":1}"#).is_err());
        assert!(serde_json::from_str::<Tick>(r#"{"seq":1,"value":"1","at_ms":1}"#).is_err());
    }

    #[test]
    fn unknown_fields_are_ignored_so_the_server_can_add_fields() {
        let tick: Tick =
            serde_json::from_str(r#"{"seq":1,"value":1.5,"at_ms":2,"added_later":true}"#).unwrap();
        assert_eq!(tick, Tick { seq: 1, value: 1.5, at_ms: 2 });
    }
}
