use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The id of one stored event: `<epoch>-<seq>`.
///
/// `epoch` names one event log's life (a server with an in-memory log starts a new epoch each time
/// it starts); `seq` counts up from 1 within it, and `<epoch>-0` names the start of an epoch,
/// before its first event (what a client is told to resume after when the log is still empty).
/// Clients treat ids as opaque strings; the server parses the `Last-Event-ID` a client sends back
/// to know where to resume.
///
/// Parsing is strict: ASCII digits only, no sign, no leading zeros, no overflow. Anything else is
/// a [`ParseEventIdError`], never a panic.
///
/// # Examples
///
/// ```
/// use tidings_wire::EventId;
///
/// let id = EventId::new(1_732_170_000_000, 42);
/// assert_eq!(id.to_string(), "1732170000000-42");
/// assert_eq!("1732170000000-42".parse::<EventId>()?, id);
/// assert_eq!(id.next(), EventId::new(1_732_170_000_000, 43));
/// assert_eq!("1732170000000-0".parse::<EventId>()?.seq(), 0);
/// assert!("1732170000000-00".parse::<EventId>().is_err());
/// assert!("garbage".parse::<EventId>().is_err());
/// # Ok::<(), tidings_wire::ParseEventIdError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventId {
    epoch: u64,
    seq: u64,
}

impl EventId {
    /// An id from its parts.
    ///
    /// # Examples
    ///
    /// ```
    /// let id = tidings_wire::EventId::new(5, 1);
    /// assert_eq!((id.epoch(), id.seq()), (5, 1));
    /// ```
    pub const fn new(epoch: u64, seq: u64) -> Self {
        Self { epoch, seq }
    }

    /// The event log's life this id belongs to.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(tidings_wire::EventId::new(5, 1).epoch(), 5);
    /// ```
    pub const fn epoch(self) -> u64 {
        self.epoch
    }

    /// The position within the epoch, from 1.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(tidings_wire::EventId::new(5, 9).seq(), 9);
    /// ```
    pub const fn seq(self) -> u64 {
        self.seq
    }

    /// The id that follows this one in the same epoch.
    ///
    /// # Examples
    ///
    /// ```
    /// use tidings_wire::EventId;
    /// assert_eq!(EventId::new(5, 9).next(), EventId::new(5, 10));
    /// ```
    #[must_use]
    pub const fn next(self) -> Self {
        Self { epoch: self.epoch, seq: self.seq + 1 }
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.epoch, self.seq)
    }
}

/// Why a string is not an [`EventId`].
///
/// # Examples
///
/// ```
/// use tidings_wire::{EventId, ParseEventIdError};
///
/// let err = "12".parse::<EventId>().unwrap_err();
/// assert_eq!(err, ParseEventIdError::MissingSeparator);
/// assert_eq!(err.to_string(), "an event id is `<epoch>-<seq>`, but there is no `-`");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseEventIdError {
    /// The string is empty.
    #[error("an event id is `<epoch>-<seq>`, but it is empty")]
    Empty,
    /// There is no `-` between the two numbers.
    #[error("an event id is `<epoch>-<seq>`, but there is no `-`")]
    MissingSeparator,
    /// One part is not a plain decimal number that fits in 64 bits.
    #[error(
        "the {part} of an event id must be a decimal number without sign or leading zeros that fits in 64 bits, not {value:?}"
    )]
    InvalidNumber {
        /// `"epoch"` or `"seq"`.
        part: &'static str,
        /// The offending text, cut to at most 32 characters.
        value: String,
    },
}

fn parse_part(part: &'static str, text: &str) -> Result<u64, ParseEventIdError> {
    let invalid =
        || ParseEventIdError::InvalidNumber { part, value: text.chars().take(32).collect() };
    let plain = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    if !plain {
        return Err(invalid());
    }
    text.parse().map_err(|_| invalid())
}

impl FromStr for EventId {
    type Err = ParseEventIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Err(ParseEventIdError::Empty);
        }
        let (epoch, seq) = s.split_once('-').ok_or(ParseEventIdError::MissingSeparator)?;
        let epoch = parse_part("epoch", epoch)?;
        let seq = parse_part("seq", seq)?;
        Ok(Self { epoch, seq })
    }
}

impl Serialize for EventId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for EventId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_text() {
        for id in [EventId::new(0, 1), EventId::new(1, 1), EventId::new(u64::MAX, u64::MAX)] {
            assert_eq!(id.to_string().parse::<EventId>(), Ok(id));
        }
    }

    #[test]
    fn round_trips_through_json_as_a_string() {
        let id = EventId::new(17, 3);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, "\"17-3\"");
        assert_eq!(serde_json::from_str::<EventId>(&json).unwrap(), id);
        let err = serde_json::from_str::<EventId>("\"17-x\"").unwrap_err();
        assert!(err.to_string().contains("seq"), "{err}");
    }

    #[test]
    fn rejects_malformed_ids_with_a_reason() {
        use ParseEventIdError::*;
        let cases: &[(&str, ParseEventIdError)] = &[
            ("", Empty),
            ("17", MissingSeparator),
            ("17-00", InvalidNumber { part: "seq", value: "00".into() }),
            ("-3", InvalidNumber { part: "epoch", value: String::new() }),
            ("17-", InvalidNumber { part: "seq", value: String::new() }),
            ("17-+3", InvalidNumber { part: "seq", value: "+3".into() }),
            ("+17-3", InvalidNumber { part: "epoch", value: "+17".into() }),
            ("017-3", InvalidNumber { part: "epoch", value: "017".into() }),
            ("17-03", InvalidNumber { part: "seq", value: "03".into() }),
            ("17-3-4", InvalidNumber { part: "seq", value: "3-4".into() }),
            (" 17-3", InvalidNumber { part: "epoch", value: " 17".into() }),
            ("17-3\n", InvalidNumber { part: "seq", value: "3\n".into() }),
            ("17-٣", InvalidNumber { part: "seq", value: "٣".into() }),
            (
                "18446744073709551616-1",
                InvalidNumber { part: "epoch", value: "18446744073709551616".into() },
            ),
            (
                "1-18446744073709551616",
                InvalidNumber { part: "seq", value: "18446744073709551616".into() },
            ),
        ];
        for (text, want) in cases {
            assert_eq!(text.parse::<EventId>().as_ref(), Err(want), "input {text:?}");
        }
    }

    #[test]
    fn long_garbage_is_cut_in_the_error() {
        let text = format!("1-{}", "x".repeat(10_000));
        let err = text.parse::<EventId>().unwrap_err();
        assert!(err.to_string().len() < 200, "{err}");
    }

    #[test]
    fn orders_by_epoch_then_seq() {
        assert!(EventId::new(1, 9) < EventId::new(1, 10));
        assert!(EventId::new(1, 10) < EventId::new(2, 1));
    }
}
