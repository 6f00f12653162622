use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The longest topic name, in bytes.
pub const MAX_TOPIC_LEN: usize = 128;

/// The name of one stream of related events that a client can ask for, e.g. in
/// `GET /events?topics=comments,board:main`: 1 to 128 ASCII letters, digits, `-`, `_`, `.` or
/// `:`. What topics exist is the application's to say; this type only keeps names safe to carry
/// in a query string, a log and a Redis key. Cloning is cheap (a reference count).
///
/// # Examples
///
/// ```
/// use tidings_wire::Topic;
///
/// let topic: Topic = "board:main".parse()?;
/// assert_eq!(topic.as_str(), "board:main");
/// assert_eq!(Topic::new("prices.eur-usd")?.to_string(), "prices.eur-usd");
/// assert!("".parse::<Topic>().is_err());
/// assert!("a b".parse::<Topic>().is_err());
/// # Ok::<(), tidings_wire::ParseTopicError>(())
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Topic(Arc<str>);

impl Topic {
    /// `name` as a topic, if it is one.
    ///
    /// # Errors
    /// [`ParseTopicError`] says what is wrong with the name.
    ///
    /// # Examples
    ///
    /// ```
    /// let topic = tidings_wire::Topic::new("ticker")?;
    /// assert_eq!(topic.as_str(), "ticker");
    /// # Ok::<(), tidings_wire::ParseTopicError>(())
    /// ```
    pub fn new(name: impl AsRef<str> + Into<Arc<str>>) -> Result<Self, ParseTopicError> {
        check(name.as_ref())?;
        Ok(Self(name.into()))
    }

    /// `name` as a topic, for a name written in the code (as `HeaderName::from_static`): no
    /// `Result` to unwrap.
    ///
    /// # Panics
    /// If `name` is not a topic, with the name and what is wrong with it. To have the compiler
    /// check a name instead, assert [`Topic::is_valid`] in a `const`.
    ///
    /// # Examples
    ///
    /// ```
    /// use tidings_wire::Topic;
    ///
    /// const NOTES: &str = "notes";
    /// const _: () = assert!(Topic::is_valid(NOTES)); // checked when compiling
    /// let notes = Topic::from_static(NOTES);
    /// assert_eq!(notes.as_str(), "notes");
    /// assert!(std::panic::catch_unwind(|| Topic::from_static("not a topic")).is_err());
    /// ```
    pub fn from_static(name: &'static str) -> Self {
        match check(name) {
            Ok(()) => Self(Arc::from(name)),
            Err(error) => panic!("{name:?} is not a topic: {error}"),
        }
    }

    /// Whether `name` is a topic: 1 to [`MAX_TOPIC_LEN`] ASCII letters, digits, `-`, `_`, `.` or
    /// `:`. A `const fn`, so a name can be checked when compiling.
    ///
    /// # Examples
    ///
    /// ```
    /// use tidings_wire::Topic;
    /// const _: () = assert!(Topic::is_valid("board:main"));
    /// assert!(!Topic::is_valid("") && !Topic::is_valid("a b"));
    /// ```
    pub const fn is_valid(name: &str) -> bool {
        let bytes = name.as_bytes();
        if bytes.is_empty() || bytes.len() > MAX_TOPIC_LEN {
            return false;
        }
        let mut at = 0;
        while at < bytes.len() {
            let byte = bytes[at];
            if !(byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b':')) {
                return false;
            }
            at += 1;
        }
        true
    }

    /// The name.
    ///
    /// # Examples
    ///
    /// ```
    /// let topic: tidings_wire::Topic = "comments".parse()?;
    /// assert_eq!(topic.as_str(), "comments");
    /// # Ok::<(), tidings_wire::ParseTopicError>(())
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn check(name: &str) -> Result<(), ParseTopicError> {
    if name.is_empty() {
        return Err(ParseTopicError::Empty);
    }
    if name.len() > MAX_TOPIC_LEN {
        return Err(ParseTopicError::TooLong { len: name.len() });
    }
    match name.chars().enumerate().find(|(_, c)| !is_topic_char(*c)) {
        Some((at, found)) => Err(ParseTopicError::InvalidChar { found, at }),
        None => Ok(()),
    }
}

fn is_topic_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':')
}

#[cfg(test)]
mod static_tests {
    use super::*;

    #[test]
    fn is_valid_agrees_with_parsing() {
        for name in ["a", "board:main", "prices.eur-usd", "x_y", "", "a b", "é", "a/b", "a\n"] {
            assert_eq!(Topic::is_valid(name), name.parse::<Topic>().is_ok(), "{name:?}");
        }
        let longest = "a".repeat(MAX_TOPIC_LEN);
        assert!(Topic::is_valid(&longest) && !Topic::is_valid(&format!("{longest}a")));
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Topic({:?})", &*self.0)
    }
}

impl AsRef<str> for Topic {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Why a string is not a [`Topic`].
///
/// # Examples
///
/// ```
/// use tidings_wire::{ParseTopicError, Topic};
///
/// let error = "jobs/1".parse::<Topic>().unwrap_err();
/// assert_eq!(error, ParseTopicError::InvalidChar { found: '/', at: 4 });
/// assert!(error.to_string().contains("letters, digits"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseTopicError {
    /// An empty name.
    #[error("a topic name is empty")]
    Empty,
    /// A name longer than [`MAX_TOPIC_LEN`] bytes.
    #[error("a topic name is at most 128 bytes, not {len}")]
    TooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// A character other than ASCII letters, digits, `-`, `_`, `.` and `:`.
    #[error(
        "{found:?} (character {at}) cannot be in a topic name: ASCII letters, digits, `-`, `_`, `.` and `:` can"
    )]
    InvalidChar {
        /// The character.
        found: char,
        /// Its position, in characters from 0.
        at: usize,
    },
}

impl FromStr for Topic {
    type Err = ParseTopicError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::new(text)
    }
}

impl Serialize for Topic {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Topic {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Self::new(name).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_names_of_the_allowed_characters() {
        let longest = "a".repeat(MAX_TOPIC_LEN);
        for text in ["comments", "board:main", "jobs:J-1_x", "prices.eur-usd", "9", &longest] {
            assert_eq!(text.parse::<Topic>().unwrap().as_str(), text);
        }
    }

    #[test]
    fn says_what_is_wrong_with_a_name() {
        assert_eq!("".parse::<Topic>(), Err(ParseTopicError::Empty));
        let long = "a".repeat(MAX_TOPIC_LEN + 1);
        assert_eq!(long.parse::<Topic>(), Err(ParseTopicError::TooLong { len: 129 }));
        for (text, found, at) in
            [("ticker ", ' ', 6), ("a,b", ',', 1), ("jobs:é", 'é', 5), ("a/b", '/', 1)]
        {
            assert_eq!(text.parse::<Topic>(), Err(ParseTopicError::InvalidChar { found, at }));
        }
    }

    #[test]
    fn serde_checks_the_name() {
        let topic: Topic = serde_json::from_str("\"board:main\"").unwrap();
        assert_eq!(serde_json::to_string(&topic).unwrap(), "\"board:main\"");
        assert!(serde_json::from_str::<Topic>("\"a b\"").is_err());
    }
}
