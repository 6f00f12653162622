//! The `text/event-stream` parser of the fetch transport, as the WHATWG standard words it
//! ("Interpreting an event stream"): bytes in, in chunks cut anywhere; events, ids and retry
//! times out.
//!
//! It works on bytes: CR and LF never occur inside a multi-byte UTF-8 sequence, so lines can be
//! cut before decoding, and a character split across chunks waits in the unfinished line.
//! Each line is decoded on its own (invalid bytes become U+FFFD). Written here rather than taken
//! from a crate: see ARCHITECTURE.md ("The fetch transport's parser").

/// What one dispatch gives: the event's type and data (with the last event id in force, see
/// [`Parser::last_id`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Dispatch<'a> {
    pub(crate) name: &'a str,
    pub(crate) data: &'a str,
}

/// What the parser reports, in stream order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Parsed<'a> {
    /// An event to fire: the last event id is [`Parser::last_id`] at that moment.
    Event(Dispatch<'a>),
    /// A valid `retry` field: the reconnection time, in milliseconds.
    Retry(u64),
}

/// One connection's parsing state, and the last event id that outlives connections.
#[derive(Debug, Default)]
pub(crate) struct Parser {
    /// The start of a line whose end has not arrived.
    line: Vec<u8>,
    /// The previous chunk ended in CR: an LF first in this one ends no line.
    after_cr: bool,
    /// Whether the first line (where a BOM may be) is still to come.
    at_start: bool,
    data: String,
    name: String,
    /// The id the next dispatch sets.
    id_buffer: String,
    /// The last event id string.
    last_id: String,
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

impl Parser {
    /// A parser for a first connection, resuming after `last_id` (empty for none).
    pub(crate) fn new(last_id: &str) -> Self {
        let mut parser = Self { last_id: last_id.to_owned(), ..Self::default() };
        parser.restart();
        parser
    }

    /// The last event id string: set at every dispatch, even one that fires no event.
    pub(crate) fn last_id(&self) -> &str {
        &self.last_id
    }

    /// Forgets the unfinished line and event (the stream ended or was cut: an unfinished event
    /// is dropped with its id) and gets ready for a new connection's body; the last id stays.
    pub(crate) fn restart(&mut self) {
        self.line.clear();
        self.after_cr = false;
        self.at_start = true;
        self.data.clear();
        self.name.clear();
        self.id_buffer.clone_from(&self.last_id);
    }

    /// Parses `chunk`, calling `out` for each event and retry time in it. `out` returns
    /// whether to go on: `false` (the source was closed by a handler) drops the rest of the
    /// chunk.
    pub(crate) fn feed(&mut self, mut chunk: &[u8], out: &mut dyn FnMut(&Self, Parsed) -> bool) {
        if chunk.is_empty() {
            return;
        }
        if self.after_cr {
            self.after_cr = false;
            if let Some(rest) = chunk.strip_prefix(b"\n") {
                chunk = rest;
            }
        }
        while let Some(end) = chunk.iter().position(|&b| b == b'\r' || b == b'\n') {
            let go_on = if self.line.is_empty() {
                self.line_done(&chunk[..end], out)
            } else {
                let mut line = std::mem::take(&mut self.line);
                line.extend_from_slice(&chunk[..end]);
                let go_on = self.line_done(&line, out);
                line.clear();
                self.line = line;
                go_on
            };
            if !go_on {
                return;
            }
            if chunk[end] == b'\r' {
                match chunk.get(end + 1) {
                    Some(b'\n') => chunk = &chunk[end + 2..],
                    Some(_) => chunk = &chunk[end + 1..],
                    None => {
                        self.after_cr = true;
                        chunk = &[];
                    }
                }
            } else {
                chunk = &chunk[end + 1..];
            }
        }
        self.line.extend_from_slice(chunk);
    }

    fn line_done(&mut self, mut line: &[u8], out: &mut dyn FnMut(&Self, Parsed) -> bool) -> bool {
        if std::mem::take(&mut self.at_start) {
            line = line.strip_prefix(BOM).unwrap_or(line);
        }
        if line.is_empty() {
            return self.dispatch(out);
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(0) => return true,
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &[][..]),
        };
        match field {
            b"data" => {
                self.data.push_str(&String::from_utf8_lossy(value));
                self.data.push('\n');
            }
            b"event" => {
                self.name.clear();
                self.name.push_str(&String::from_utf8_lossy(value));
            }
            b"id" if !value.contains(&0) => {
                self.id_buffer.clear();
                self.id_buffer.push_str(&String::from_utf8_lossy(value));
            }
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                // Digits past u64 are a time no one waits for: the longest there is.
                let millis = std::str::from_utf8(value)
                    .ok()
                    .and_then(|digits| digits.parse().ok())
                    .unwrap_or(u64::MAX);
                return out(self, Parsed::Retry(millis));
            }
            _ => {}
        }
        true
    }

    fn dispatch(&mut self, out: &mut dyn FnMut(&Self, Parsed) -> bool) -> bool {
        self.last_id.clone_from(&self.id_buffer);
        if self.data.is_empty() {
            self.name.clear();
            return true;
        }
        self.data.pop();
        let data = std::mem::take(&mut self.data);
        let name = std::mem::take(&mut self.name);
        let event = Dispatch { name: if name.is_empty() { "message" } else { &name }, data: &data };
        let go_on = out(self, Parsed::Event(event));
        // The buffers' room is kept for the next event.
        self.data = data;
        self.data.clear();
        self.name = name;
        self.name.clear();
        go_on
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One parsed item, owned, with the last id in force when it came.
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Item {
        Event { name: String, data: String, id: String },
        Retry(u64),
    }

    fn event(name: &str, data: &str, id: &str) -> Item {
        Item::Event { name: name.into(), data: data.into(), id: id.into() }
    }

    fn parse_chunks(parser: &mut Parser, chunks: &[&[u8]]) -> Vec<Item> {
        let mut items = Vec::new();
        for chunk in chunks {
            parser.feed(chunk, &mut |parser, parsed| {
                items.push(match parsed {
                    Parsed::Event(event) => Item::Event {
                        name: event.name.into(),
                        data: event.data.into(),
                        id: parser.last_id().into(),
                    },
                    Parsed::Retry(millis) => Item::Retry(millis),
                });
                true
            });
        }
        items
    }

    /// Parses `stream` whole, then cut at every place (into two and into single bytes): the
    /// items must be the same every way.
    fn parse(stream: &[u8]) -> Vec<Item> {
        let whole = parse_chunks(&mut Parser::new(""), &[stream]);
        for cut in 0..=stream.len() {
            let (a, b) = stream.split_at(cut);
            assert_eq!(parse_chunks(&mut Parser::new(""), &[a, b]), whole, "cut at {cut}");
        }
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(parse_chunks(&mut Parser::new(""), &bytes), whole, "byte by byte");
        whole
    }

    #[test]
    fn invalid_utf8_becomes_the_replacement_character() {
        // Conformance 1.
        assert_eq!(parse(b"data: a\xFFb\xC3\n\n"), [event("message", "a\u{FFFD}b\u{FFFD}", "")]);
    }

    #[test]
    fn one_bom_is_stripped_at_the_start_only() {
        // Conformance 2.
        assert_eq!(
            parse(b"\xEF\xBB\xBFdata: 1\n\n\xEF\xBB\xBFdata: 2\n\ndata: 3\n\n"),
            [event("message", "1", ""), event("message", "3", "")],
        );
        assert_eq!(parse(b"\xEF\xBB\xBF\xEF\xBB\xBFdata: 1\n\n"), []);
    }

    #[test]
    fn lines_end_with_crlf_lf_or_cr_even_split_across_chunks() {
        // Conformance 3: a CR ending one chunk and the LF starting the next are one line end
        // (the `parse` helper cuts between them).
        assert_eq!(
            parse(b"data: a\r\ndata: b\rdata: c\n\r\ndata: d\r\rid: 7\r\n\n"),
            [event("message", "a\nb\nc", ""), event("message", "d", "")],
        );
        let mut parser = Parser::new("");
        assert_eq!(
            parse_chunks(&mut parser, &[b"data: x\r", b"\n", b"\r", b"\ndata: y\n\n"]),
            [event("message", "x", ""), event("message", "y", "")],
        );
    }

    #[test]
    fn comments_are_ignored_and_a_blank_line_dispatches() {
        // Conformance 4.
        assert_eq!(
            parse(b": hello\n:\ndata: 1\n: in the middle: of it\ndata: 2\n\n:x\n\n"),
            [event("message", "1\n2", "")],
        );
    }

    #[test]
    fn fields_split_at_the_first_colon_and_lose_one_space() {
        // Conformance 5.
        assert_eq!(
            parse(b"data:a:b\n\ndata:  two\n\ndata:\tthree\n\n"),
            [
                event("message", "a:b", ""),
                event("message", " two", ""),
                event("message", "\tthree", "")
            ],
        );
    }

    #[test]
    fn a_line_without_a_colon_is_a_field_with_an_empty_value() {
        // Conformance 6.
        assert_eq!(
            parse(b"data\ndata\n\ndata\n\n"),
            [event("message", "\n", ""), event("message", "", "")]
        );
    }

    #[test]
    fn field_names_are_case_sensitive_and_unknown_ones_ignored() {
        // Conformance 7.
        assert_eq!(
            parse(b"Data: no\nDATA: no\nfoo: bar\ndata: yes\nEvent: no\n\n"),
            [event("message", "yes", "")],
        );
    }

    #[test]
    fn nul_is_kept_in_data() {
        // Conformance 8.
        assert_eq!(parse(b"data: a\0b\n\n"), [event("message", "a\0b", "")]);
    }

    #[test]
    fn an_unfinished_event_is_dropped_with_its_id() {
        // Conformance 9: the end of a body forgets the event being built.
        let mut parser = Parser::new("");
        let items = parse_chunks(&mut parser, &[b"id: 1\ndata: one\n\nid: 2\ndata: two\n"]);
        assert_eq!(items, [event("message", "one", "1")]);
        parser.restart();
        assert_eq!(parser.last_id(), "1");
        assert_eq!(
            parse_chunks(&mut parser, &[b"data: three\n\n"]),
            [event("message", "three", "1")]
        );
    }

    #[test]
    fn a_character_split_across_chunks_decodes_whole() {
        // Conformance 10 (`parse` cuts inside the two-, three- and four-byte characters).
        assert_eq!(parse("data: é€😀\n\n".as_bytes()), [event("message", "é€😀", "")]);
    }

    #[test]
    fn data_lines_join_with_lf_and_one_trailing_lf_goes() {
        // Conformance 11.
        assert_eq!(parse(b"data: a\ndata:\ndata: b\ndata\n\n"), [event("message", "a\n\nb\n", "")]);
    }

    #[test]
    fn no_data_no_event_and_the_type_resets() {
        // Conformance 12.
        assert_eq!(parse(b"event: x\n\ndata: 1\n\n"), [event("message", "1", "")]);
    }

    #[test]
    fn the_event_field_sets_the_type_and_empty_means_message() {
        // Conformance 13.
        assert_eq!(
            parse(b"event: tick\ndata: 1\n\nevent:\ndata: 2\n\nevent: a\nevent: b\ndata: 3\n\n"),
            [event("tick", "1", ""), event("message", "2", ""), event("b", "3", "")],
        );
    }

    #[test]
    fn an_id_with_nul_is_ignored_and_an_empty_id_resets() {
        // Conformance 14.
        assert_eq!(
            parse(b"id: 1\ndata: a\n\nid: 2\0\ndata: b\n\nid\ndata: c\n\n"),
            [event("message", "a", "1"), event("message", "b", "1"), event("message", "c", "")],
        );
    }

    #[test]
    fn retry_counts_only_when_all_digits() {
        // Conformance 15.
        assert_eq!(
            parse(b"retry: 1000\nretry: 12a\nretry:\nretry: -1\nretry:  5\nretry: 99999999999999999999999\ndata: x\n\n"),
            [Item::Retry(1000), Item::Retry(u64::MAX), event("message", "x", "")],
        );
    }

    #[test]
    fn the_last_id_is_set_at_every_dispatch_even_without_an_event() {
        // Conformance 16 and 17: the id persists across events without one.
        let mut parser = Parser::new("");
        assert_eq!(parse_chunks(&mut parser, &[b"id: 4\n\n"]), []);
        assert_eq!(parser.last_id(), "4", "an id-only block sets the id");
        let items =
            parse_chunks(&mut parser, &[b"id: 5\n\ndata: a\n\nid: 6\ndata: b\n\ndata: c\n\n"]);
        assert_eq!(
            items,
            [event("message", "a", "5"), event("message", "b", "6"), event("message", "c", "6")]
        );
    }

    #[test]
    fn the_last_id_carries_into_the_next_connection() {
        // Conformance 18: an event without an id on a new connection keeps the old one.
        let mut parser = Parser::new("41");
        assert_eq!(parse_chunks(&mut parser, &[b"data: a\n\n"]), [event("message", "a", "41")]);
        parser.restart();
        assert_eq!(
            parse_chunks(&mut parser, &[b"id: 42\ndata: b\n\n"]),
            [event("message", "b", "42")]
        );
    }

    #[test]
    fn a_handler_that_closes_drops_the_rest_of_the_chunk() {
        // Conformance 28: events already received are not fired after `close()`.
        let mut parser = Parser::new("");
        let mut seen = Vec::new();
        parser.feed(b"data: 1\n\ndata: 2\n\ndata: 3\n\n", &mut |_, parsed| {
            if let Parsed::Event(event) = parsed {
                seen.push(event.data.to_owned());
            }
            seen.len() < 2
        });
        assert_eq!(seen, ["1", "2"]);
    }
}
