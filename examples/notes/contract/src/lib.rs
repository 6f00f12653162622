//! The notes example's contract: what crosses the wire, in a crate both ends compile against.
//!
//! # Examples
//!
//! ```
//! use tidings_example_notes_contract::{NewNote, Note};
//! use tidings_wire::Event;
//!
//! assert_eq!(Note::NAME, "note");
//! let new: NewNote = serde_json::from_str(r#"{"text":"hi"}"#)?;
//! assert_eq!(new.text, "hi");
//! assert!(serde_json::from_str::<NewNote>(r#"{"text":"hi","x":1}"#).is_err());
//! # Ok::<(), serde_json::Error>(())
//! ```

use serde::{Deserialize, Serialize};

/// A note, as every page receives it (event `note`).
///
/// # Examples
///
/// ```
/// let note = tidings_example_notes_contract::Note { id: 1, text: "hi".into() };
/// assert_eq!(serde_json::to_string(&note)?, r#"{"id":1,"text":"hi"}"#);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    /// Numbered by the server, from 1.
    pub id: u64,
    /// What was written.
    pub text: String,
}

impl tidings_wire::Event for Note {
    const NAME: &'static str = "note";
}

/// `POST /notes`: a note to publish. Unknown fields are errors.
///
/// # Examples
///
/// ```
/// let new = tidings_example_notes_contract::NewNote { text: "hi".into() };
/// assert_eq!(serde_json::to_string(&new)?, r#"{"text":"hi"}"#);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewNote {
    /// What to write.
    pub text: String,
}

/// `POST /notes/token`'s answer: a token that opens one stream of `GET /notes/events`, sent as
/// `Authorization: Bearer <token>`, within a minute. A page asks for a new one before every
/// connection and reconnection (tidings's fetch transport calls its header function each time).
///
/// # Examples
///
/// ```
/// let token: tidings_example_notes_contract::StreamToken =
///     serde_json::from_str(r#"{"token":"3f9a"}"#)?;
/// assert_eq!(token.token, "3f9a");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamToken {
    /// 128 random bits, in hex.
    pub token: String,
}
