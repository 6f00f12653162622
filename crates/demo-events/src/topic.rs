use std::fmt;
use std::str::FromStr;

use tidings_wire::Topic;

/// The longest board or job id a topic may name.
pub const MAX_TOPIC_ID_LEN: usize = 64;

/// The demo's topics: what `GET /api/events?topics=…` may ask for, spelled `comments`,
/// `typing`, `presence`, `ticker`, `board:<id>` or `jobs:<id>`, where an id is 1 to 64 ASCII
/// letters, digits, `-` or `_`. Each is a [`Topic`] of the engine.
///
/// # Examples
///
/// ```
/// use tidings_demo_events::DemoTopic;
///
/// let topic: DemoTopic = "board:main".parse()?;
/// assert_eq!(topic, DemoTopic::Board("main".into()));
/// assert_eq!(topic.topic().as_str(), "board:main");
/// assert!("board:".parse::<DemoTopic>().is_err());
/// assert!("weather".parse::<DemoTopic>().is_err());
/// # Ok::<(), tidings_demo_events::ParseDemoTopicError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DemoTopic {
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

impl DemoTopic {
    /// The topics a stream carries when a client names none.
    ///
    /// # Examples
    ///
    /// ```
    /// use tidings_demo_events::DemoTopic;
    /// assert!(DemoTopic::DEFAULT_SET.contains(&DemoTopic::Ticker));
    /// ```
    pub const DEFAULT_SET: [DemoTopic; 4] =
        [DemoTopic::Comments, DemoTopic::Typing, DemoTopic::Presence, DemoTopic::Ticker];

    /// The engine's topic of this name.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(tidings_demo_events::DemoTopic::Ticker.topic().as_str(), "ticker");
    /// ```
    pub fn topic(&self) -> Topic {
        match Topic::new(self.to_string()) {
            Ok(topic) => topic,
            // Every demo topic's spelling is a valid topic name (ids are checked when made).
            Err(error) => unreachable!("{self} is a valid topic name: {error}"),
        }
    }
}

impl From<&DemoTopic> for Topic {
    fn from(topic: &DemoTopic) -> Self {
        topic.topic()
    }
}

impl fmt::Display for DemoTopic {
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

/// Why a string is not a [`DemoTopic`].
///
/// # Examples
///
/// ```
/// let err = "jobs:a b".parse::<tidings_demo_events::DemoTopic>().unwrap_err();
/// assert!(err.to_string().contains("letters, digits"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseDemoTopicError {
    /// Not one of the demo's topic names.
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
/// assert!(tidings_demo_events::is_valid_topic_id("main-2"));
/// assert!(!tidings_demo_events::is_valid_topic_id("../etc"));
/// ```
pub fn is_valid_topic_id(id: &str) -> bool {
    (1..=MAX_TOPIC_ID_LEN).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl FromStr for DemoTopic {
    type Err = ParseDemoTopicError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let shown = || text.chars().take(80).collect::<String>();
        let with_id = |id: &str, make: fn(String) -> DemoTopic| {
            if is_valid_topic_id(id) {
                Ok(make(id.to_owned()))
            } else {
                Err(ParseDemoTopicError::InvalidId(shown()))
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
                    Err(ParseDemoTopicError::Unknown(shown()))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_are_engine_topics() {
        for text in ["comments", "typing", "presence", "ticker", "board:main", "jobs:J-1_x"] {
            let topic = text.parse::<DemoTopic>().unwrap();
            assert_eq!(topic.to_string(), text);
            assert_eq!(topic.topic().as_str(), text);
        }
        let longest = format!("board:{}", "a".repeat(MAX_TOPIC_ID_LEN));
        assert_eq!(longest.parse::<DemoTopic>().unwrap().topic().as_str(), longest);
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
            assert!(text.parse::<DemoTopic>().is_err(), "{text:?}");
        }
    }
}
