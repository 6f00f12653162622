use serde::{Deserialize, Serialize};
use tidings_wire::Event;

use crate::{ValidationError, check_text};

/// The longest author name, in characters.
pub const AUTHOR_MAX_CHARS: usize = 40;
/// The longest comment, in characters.
pub const TEXT_MAX_CHARS: usize = 2000;

/// A comment in the live feed, as stored and broadcast.
///
/// # Examples
///
/// ```
/// use tidings_demo_events::Comment;
/// use tidings_wire::Event;
/// assert_eq!(Comment::NAME, "comment");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comment {
    /// Counts comments from 1 since the server started.
    pub id: u64,
    /// Who wrote it.
    pub author: String,
    /// What they wrote: plain text, never HTML.
    pub text: String,
    /// When it was stored, in milliseconds since the Unix epoch.
    pub at_ms: u64,
}

impl Event for Comment {
    const NAME: &'static str = "comment";
}

/// The body of `POST /api/comments`.
///
/// # Examples
///
/// ```
/// use tidings_demo_events::NewComment;
///
/// let ok = NewComment { author: "  Ada ".into(), text: "Hello".into() }.validated()?;
/// assert_eq!(ok.author, "Ada");
/// assert!(NewComment { author: "".into(), text: "x".into() }.validated().is_err());
/// # Ok::<(), tidings_demo_events::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewComment {
    /// 1 to [`AUTHOR_MAX_CHARS`] characters after trimming, no control characters.
    pub author: String,
    /// 1 to [`TEXT_MAX_CHARS`] characters after trimming; line breaks allowed.
    pub text: String,
}

impl NewComment {
    /// The comment with both fields trimmed, or the first field that is not acceptable.
    ///
    /// # Errors
    /// A [`ValidationError`] naming the field and the problem.
    ///
    /// # Examples
    ///
    /// ```
    /// let error = tidings_demo_events::NewComment { author: "Ada".into(), text: " ".into() }
    ///     .validated()
    ///     .unwrap_err();
    /// assert_eq!(error.field, "text");
    /// ```
    pub fn validated(self) -> Result<Self, ValidationError> {
        Ok(Self {
            author: check_text("author", &self.author, AUTHOR_MAX_CHARS, false)?,
            text: check_text("text", &self.text, TEXT_MAX_CHARS, true)?,
        })
    }
}
