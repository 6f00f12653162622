//! The SSE encoder: frames are built once per event and shared by every stream.
//!
//! Rules (docs/conformance.md, cases 31–32): data with CR, LF or CRLF makes several `data:` lines;
//! every field is written `name: value` with the space; `event` and `id` never hold CR, LF or
//! NUL; `retry` is digits only; every frame ends with a blank line.

use axum::body::Bytes;
use tidings_wire::{EventId, MESSAGE};

/// A frame for one event. `name` is left out for the default `message` event. A name holding CR,
/// LF or NUL (from a log backend, say: `T::NAME` never does) loses those characters, so it can
/// never add a field of its own (an `id:` that would move clients past events).
pub(crate) fn event(id: Option<EventId>, name: &str, data: &str) -> Bytes {
    let cleaned;
    let name = if is_valid_field(name) {
        name
    } else {
        tracing::error!(name, "an event name holds CR, LF or NUL; they are left out");
        cleaned = name.replace(['\r', '\n', '\0'], "");
        &cleaned
    };
    let mut frame = String::with_capacity(data.len() + name.len() + 48);
    if let Some(id) = id {
        // Digits and one `-`: always a valid id field.
        frame.push_str("id: ");
        frame.push_str(&id.to_string());
        frame.push('\n');
    }
    if name != MESSAGE {
        frame.push_str("event: ");
        frame.push_str(name);
        frame.push('\n');
    }
    for line in lines(data) {
        frame.push_str("data: ");
        frame.push_str(line);
        frame.push('\n');
    }
    frame.push('\n');
    Bytes::from(frame)
}

/// `frame` with a `retry:` field in the same block, so the delay is set by that event.
pub(crate) fn with_retry(ms: u64, frame: &[u8]) -> Bytes {
    let mut block = format!("retry: {ms}\n").into_bytes();
    block.extend_from_slice(frame);
    Bytes::from(block)
}

/// A frame that only sets the browser's reconnection delay.
pub(crate) fn retry(ms: u64) -> Bytes {
    Bytes::from(format!("retry: {ms}\n\n"))
}

/// Whether `value` can stand in an `event:` or `id:` field.
pub(crate) fn is_valid_field(value: &str) -> bool {
    !value.contains(['\r', '\n', '\0'])
}

/// Splits at CRLF, lone CR and lone LF; an empty string is one empty line.
fn lines(data: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(data);
    std::iter::from_fn(move || {
        let text = rest?;
        match text.find(['\r', '\n']) {
            None => {
                rest = None;
                Some(text)
            }
            Some(at) => {
                let skip = if text[at..].starts_with("\r\n") { 2 } else { 1 };
                rest = Some(&text[at + skip..]);
                Some(&text[..at])
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(bytes: Bytes) -> String {
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[test]
    fn writes_id_event_and_data_with_a_space() {
        let frame = event(Some(EventId::new(7, 3)), "comment", "{\"a\":1}");
        assert_eq!(text(frame), "id: 7-3\nevent: comment\ndata: {\"a\":1}\n\n");
    }

    #[test]
    fn leaves_out_the_default_name_and_a_missing_id() {
        assert_eq!(text(event(None, MESSAGE, "x")), "data: x\n\n");
    }

    #[test]
    fn splits_data_at_every_kind_of_line_end() {
        let frame = event(None, "n", "a\r\nb\rc\nd\n\ne");
        assert_eq!(
            text(frame),
            "event: n\ndata: a\ndata: b\ndata: c\ndata: d\ndata: \ndata: e\n\n"
        );
        assert_eq!(text(event(None, "n", "")), "event: n\ndata: \n\n");
        assert_eq!(text(event(None, "n", "end\r")), "event: n\ndata: end\ndata: \n\n");
    }

    #[test]
    fn retry_is_digits_only() {
        assert_eq!(text(retry(2500)), "retry: 2500\n\n");
        let frame = with_retry(10, &event(None, "bye", "{}"));
        assert_eq!(text(frame), "retry: 10\nevent: bye\ndata: {}\n\n");
    }

    #[test]
    fn a_name_never_adds_a_field() {
        let frame = event(Some(EventId::new(1, 2)), "x\nid: 9-99\r\0", "d");
        assert_eq!(text(frame), "id: 1-2\nevent: xid: 9-99\ndata: d\n\n");
    }

    #[test]
    fn rejects_line_breaks_and_nul_in_fields() {
        assert!(is_valid_field("task_moved"));
        for bad in ["a\nb", "a\rb", "a\0b"] {
            assert!(!is_valid_field(bad));
        }
    }
}
