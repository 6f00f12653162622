//! What an xtask command can fail with.

use std::fmt;

/// Why a command failed: a step that could not be done (what, and why), or checks and tests
/// that ran and failed (the summary above the last line says which).
#[derive(Debug)]
pub(crate) enum Error {
    /// A step could not be done.
    Step(String),
    /// `cargo xtask test` ran, and this many checks or tests failed.
    Failed(u64),
}

impl From<String> for Error {
    fn from(message: String) -> Self {
        Self::Step(message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Step(message) => f.write_str(message),
            Self::Failed(count) => write!(f, "{count} checks or tests failed; see the summary"),
        }
    }
}
