use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The longest board or job id a topic may name.
pub const MAX_TOPIC_ID_LEN: usize = 64;

/// One stream of related events that a client can ask for by name, e.g. in
/// `GET /api/events?topics=comments,board:main`.
///
/// Spelled `comments`, `typing`, `presence`, `ticker`, `board:<id>` or `jobs:<id>`, where an id
/// is 1 to 64 ASCII letters, digits, `-` or `_`.
///
/// # Examples
///
/// ```
/// use tidings_wire::Topic;
///
/// let topic: Topic = "board:main".parse()?;
/// assert_eq!(topic, Topic::Board("main".into()));
/// assert_eq!(topic.to_string(), "board:main");
/// assert!("board:".parse::<Topic>().is_err());
/// assert!("weather".parse::<Topic>().is_err());
/// # Ok::<(), tidings_wire::ParseTopicError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Topic {
    /// Comments posted to the live feed.
    Comments,
    /// Who is typing a comment.
    Typing,
    /// Who is connected.
    Presence,
    /// The ticker's values.
    Ticker,
    /// One task board's changes.
    Board(String),
    /// One long job's progress.
    Job(String),
}

impl Topic {
    /// The topics a stream carries when a client names none.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(tidings_wire::Topic::DEFAULT_SET.contains(&tidings_wire::Topic::Ticker));
    /// ```
    pub const DEFAULT_SET: [Topic; 4] =
        [Topic::Comments, Topic::Typing, Topic::Presence, Topic::Ticker];
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Comments => f.write_str("comments"),
            Self::Typing => f.write_str("typing"),
            Self::Presence => f.write_str("presence"),
            Self::Ticker => f.write_str("ticker"),
            Self::Board(id) => write!(f, "board:{id}"),
            Self::Job(id) => write!(f, "jobs:{id}"),
        }
    }
}

/// Why a string is not a [`Topic`].
///
/// # Examples
///
/// ```
/// let err = "jobs:a b".parse::<tidings_wire::Topic>().unwrap_err();
/// assert!(err.to_string().contains("letters, digits"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseTopicError {
    /// Not one of the known topic names.
    #[error(
        "unknown topic {0:?}; topics are comments, typing, presence, ticker, board:<id> and jobs:<id>"
    )]
    Unknown(String),
    /// A `board:` or `jobs:` topic whose id is empty, too long or has other characters.
    #[error("the id in topic {0:?} must be 1 to 64 ASCII letters, digits, `-` or `_`")]
    InvalidId(String),
}

/// Whether `id` is a valid board or job id.
///
/// # Examples
///
/// ```
/// assert!(tidings_wire::is_valid_topic_id("main-2"));
/// assert!(!tidings_wire::is_valid_topic_id("../etc"));
/// ```
pub fn is_valid_topic_id(id: &str) -> bool {
    (1..=MAX_TOPIC_ID_LEN).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl FromStr for Topic {
    type Err = ParseTopicError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let shown = || text.chars().take(80).collect::<String>();
        let with_id = |id: &str, make: fn(String) -> Topic| {
            if is_valid_topic_id(id) {
                Ok(make(id.to_owned()))
            } else {
                Err(ParseTopicError::InvalidId(shown()))
            }
        };
        match text {
            "comments" => Ok(Self::Comments),
            "typing" => Ok(Self::Typing),
            "presence" => Ok(Self::Presence),
            "ticker" => Ok(Self::Ticker),
            _ => {
                if let Some(id) = text.strip_prefix("board:") {
                    with_id(id, Self::Board)
                } else if let Some(id) = text.strip_prefix("jobs:") {
                    with_id(id, Self::Job)
                } else {
                    Err(ParseTopicError::Unknown(shown()))
                }
            }
        }
    }
}

impl Serialize for Topic {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Topic {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for text in ["comments", "typing", "presence", "ticker", "board:main", "jobs:J-1_x"] {
            assert_eq!(text.parse::<Topic>().unwrap().to_string(), text);
        }
    }

    #[test]
    fn rejects_bad_topics() {
        let long = format!("board:{}", "a".repeat(65));
        for text in [
            "",
            "Comments",
            "ticker ",
            "board",
            "board:",
            "board:a/b",
            "jobs:é",
            &long,
            "board:a,b",
        ] {
            assert!(text.parse::<Topic>().is_err(), "{text:?}");
        }
        assert!(format!("board:{}", "a".repeat(64)).parse::<Topic>().is_ok());
    }
}
