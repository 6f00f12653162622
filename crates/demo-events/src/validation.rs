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
    if let Some(bad) = trimmed.chars().find(|c| is_format_or_separator(*c)) {
        return Err(problem(format!(
            "contains the invisible formatting character U+{:04X} (it can make text look like \
             other text)",
            u32::from(bad)
        )));
    }
    Ok(trimmed.to_owned())
}

/// Whether `c` is a format character (Unicode general category Cf: bidirectional controls,
/// zero-width spaces, the byte-order mark, tags) or a line or paragraph separator (Zl, Zp).
/// Such characters change how text around them looks without showing themselves, so a name
/// could pass for another's. The zero-width non-joiner and joiner (U+200C, U+200D) stay
/// allowed: Persian and Indic scripts need them to write names correctly, and emoji sequences
/// are made with the joiner. The ranges are Unicode 16's Cf list, written out rather than taken
/// from a general-category crate: this code also ships in the page's wasm, where a whole
/// category table would cost several KB for one question.
fn is_format_or_separator(c: char) -> bool {
    matches!(
        u32::from(c),
        0x00AD
            | 0x0600..=0x0605
            | 0x061C
            | 0x06DD
            | 0x070F
            | 0x0890..=0x0891
            | 0x08E2
            | 0x180E
            | 0x200B
            | 0x200E..=0x200F
            | 0x2028..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0001
            | 0xE0020..=0xE007F
    )
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

    #[test]
    fn invisible_formatting_is_refused_everywhere() {
        // Right-to-left override and isolate, zero-width space, BOM, line and paragraph
        // separators, a tag character.
        let refused = [
            "ad\u{202E}min",
            "a\u{2067}b",
            "a\u{200B}b",
            "\u{FEFF}ab",
            "a\u{2028}b",
            "a\u{2029}b",
            "a\u{E0041}b",
        ];
        for bad in refused {
            let error = check_text("f", bad, 20, true).unwrap_err();
            assert!(error.problem.contains("invisible formatting"), "{bad:?}: {}", error.problem);
        }
        // Visible text of every script stays allowed, and the joiners scripts and emoji need.
        for good in ["Ada", "Ελένη", "李小龍", "عائشة", "दिव्या", "می\u{200C}خواهم", "👩\u{200D}💻"]
        {
            assert!(check_text("f", good, 20, false).is_ok(), "{good}");
        }
    }
}
