//! Stream keys: the right to close one stream, given in its `hello` only.

use std::fmt;
use std::str::FromStr;

/// The key of one open stream: 128 random bits, sent in the stream's `hello` (32 hex digits) and
/// nowhere else, so only that stream's page can have it closed
/// ([`Hub::close_stream`](crate::Hub::close_stream)).
///
/// # Examples
///
/// ```
/// use tidings_axum::StreamKey;
///
/// let key: StreamKey = "00000000000000000000000000c0ffee".parse()?;
/// assert_eq!(key.to_string(), "00000000000000000000000000c0ffee");
/// assert!("c0ffee".parse::<StreamKey>().is_err(), "32 hex digits");
/// assert!("00000000000000000000000000000000".parse::<StreamKey>().is_err(), "never zero");
/// # Ok::<(), tidings_axum::InvalidStreamKey>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct StreamKey(u128);

impl StreamKey {
    /// A new key from the operating system's random bits; `None` if it has none to give (a
    /// stream nobody can close by key is better than a key that could be guessed).
    pub(crate) fn random() -> Option<Self> {
        let mut bytes = [0_u8; 16];
        match getrandom::fill(&mut bytes) {
            Ok(()) => Self(u128::from_le_bytes(bytes)).filter_zero(),
            Err(error) => {
                tracing::error!(%error, "no random bytes for a stream key; it cannot be closed by key");
                None
            }
        }
    }

    /// The key as a number (0 is no key).
    pub(crate) fn bits(self) -> u128 {
        self.0
    }

    fn filter_zero(self) -> Option<Self> {
        (self.0 != 0).then_some(self)
    }
}

/// Not the digits: keys are printed in full only where they belong (a `hello`).
impl fmt::Debug for StreamKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StreamKey(..)")
    }
}

impl fmt::Display for StreamKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

impl FromStr for StreamKey {
    type Err = InvalidStreamKey;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let hex = text.len() == 32
            && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        hex.then(|| u128::from_str_radix(text, 16).ok())
            .flatten()
            .map(Self)
            .and_then(Self::filter_zero)
            .ok_or(InvalidStreamKey)
    }
}

/// Text that is not a stream key: 32 lowercase hex digits, not all zero.
///
/// # Examples
///
/// ```
/// let error = "nope".parse::<tidings_axum::StreamKey>().unwrap_err();
/// assert_eq!(error.to_string(), "a stream key is 32 lowercase hex digits, not all zero");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a stream key is 32 lowercase hex digits, not all zero")]
pub struct InvalidStreamKey;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_32_hex_digits_and_differ() {
        let (a, b) = (StreamKey::random().unwrap(), StreamKey::random().unwrap());
        assert_ne!(a, b);
        let text = a.to_string();
        assert_eq!(text.len(), 32);
        assert_eq!(text.parse::<StreamKey>(), Ok(a));
        assert_eq!(StreamKey(1).to_string(), "00000000000000000000000000000001");
        for bad in [
            "",
            "0",
            &text[..31],
            &format!("{text}0"),
            &text.to_uppercase(),
            "0000000000000000000000000000000g",
            "00000000000000000000000000000000",
        ] {
            assert_eq!(bad.parse::<StreamKey>(), Err(InvalidStreamKey), "{bad:?}");
        }
        assert_eq!(format!("{a:?}"), "StreamKey(..)", "the digits stay out of logs");
    }
}
