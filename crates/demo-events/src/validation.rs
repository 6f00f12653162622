/// A field of a request body that is not acceptable.
///
/// # Examples
///
/// ```
/// let error = tidings_demo_events::ValidationError { field: "author", problem: "is empty".into() };
/// assert_eq!(error.to_string(), "`author` is empty");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{field}` {problem}")]
pub struct ValidationError {
    /// The field's name in the JSON body.
    pub field: &'static str,
    /// What is wrong with it, for a person.
    pub problem: String,
}

/// A display name (a comment's author, a stream's `name`) trimmed, or why it is not acceptable:
/// 1 to [`AUTHOR_MAX_CHARS`](crate::AUTHOR_MAX_CHARS) characters, no control characters.
///
/// # Errors
/// A [`ValidationError`] for `field`.
///
/// # Examples
///
/// ```
/// assert_eq!(tidings_demo_events::check_display_name("name", " Ada ")?, "Ada");
/// assert!(tidings_demo_events::check_display_name("name", "").is_err());
/// # Ok::<(), tidings_demo_events::ValidationError>(())
/// ```
pub fn check_display_name(field: &'static str, value: &str) -> Result<String, ValidationError> {
    check_text(field, value, crate::AUTHOR_MAX_CHARS, false)
}

/// `value` trimmed, if it has 1 to `max_chars` characters and no control characters (line
/// breaks and tabs are allowed where `multiline`).
pub(crate) fn check_text(
    field: &'static str,
    value: &str,
    max_chars: usize,
    multiline: bool,
) -> Result<String, ValidationError> {
    let problem = |problem: String| ValidationError { field, problem };
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(problem("is empty".into()));
    }
    let chars = trimmed.chars().count();
    if chars > max_chars {
        return Err(problem(format!("has {chars} characters; at most {max_chars} are allowed")));
    }
    let allowed = |c: char| !c.is_control() || (multiline && matches!(c, '\n' | '\r' | '\t'));
    if let Some(bad) = trimmed.chars().find(|c| !allowed(*c)) {
        return Err(problem(format!("contains the control character U+{:04X}", u32::from(bad))));
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_bounds_text() {
        assert_eq!(check_text("f", "  hi  ", 5, false).unwrap(), "hi");
        assert_eq!(
            check_text("f", "ééééé", 5, false).unwrap(),
            "ééééé",
            "counts characters, not bytes"
        );
        assert!(check_text("f", "éééééé", 5, false).is_err());
        assert!(check_text("f", " \n\t ", 5, true).is_err());
    }

    #[test]
    fn control_characters_only_where_allowed() {
        assert!(check_text("f", "a\nb", 5, true).is_ok());
        assert!(check_text("f", "a\nb", 5, false).is_err());
        let error = check_text("f", "a\u{0}b", 5, true).unwrap_err();
        assert_eq!(error.problem, "contains the control character U+0000");
    }
}
