use serde::{Deserialize, Serialize};
use tidings_wire::Event;

use crate::{AUTHOR_MAX_CHARS, ValidationError, check_text};

/// Someone is typing a comment.
///
/// # Examples
///
/// ```
/// use tidings_wire::Event;
/// assert_eq!(tidings_demo_events::Typing::NAME, "typing");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Typing {
    /// Who is typing.
    pub author: String,
    /// When they said so, in milliseconds since the Unix epoch.
    pub at_ms: u64,
}

impl Event for Typing {
    const NAME: &'static str = "typing";
}

/// The body of `POST /api/typing`.
///
/// # Examples
///
/// ```
/// let typing = tidings_demo_events::TypingRequest { author: "Ada".into() }.validated()?;
/// assert_eq!(typing.author, "Ada");
/// # Ok::<(), tidings_demo_events::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TypingRequest {
    /// 1 to [`AUTHOR_MAX_CHARS`] characters after trimming, no control characters.
    pub author: String,
}

impl TypingRequest {
    /// The request with the author trimmed, or why it is not acceptable.
    ///
    /// # Errors
    /// A [`ValidationError`] for `author`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(tidings_demo_events::TypingRequest { author: "a\u{7}".into() }.validated().is_err());
    /// ```
    pub fn validated(self) -> Result<Self, ValidationError> {
        Ok(Self { author: check_text("author", &self.author, AUTHOR_MAX_CHARS, false)? })
    }
}
