//! Decoding an event's data: one non-generic JSON reader for every payload type (only reading
//! the value is compiled per type), and the `Message` a handler gets.

use std::rc::Rc;
use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::registry::Arrival;
use crate::{DecodeError, Message};

pub(crate) fn message<T>(arrival: &Arrival, data: T) -> Message<T> {
    Message::new(
        data,
        Arc::clone(&arrival.event),
        Rc::clone(&arrival.source),
        Arc::clone(&arrival.carried),
        Arc::clone(&arrival.origin),
    )
}

pub(crate) fn decode<T: DeserializeOwned>(
    data: &str,
    arrival: &Arrival,
) -> Result<Message<T>, DecodeError> {
    let mut value = None;
    let parsed = parse(data, &mut |json| {
        value = Some(T::deserialize(json)?);
        Ok(())
    });
    match (parsed, value) {
        (Ok(()), Some(value)) => Ok(message(arrival, value)),
        (Err(error), _) => Err(decode_error(data, arrival, &error)),
        (Ok(()), None) => Err(decode_error(data, arrival, &serde::de::Error::custom("no value"))),
    }
}

/// `data` as one JSON value, read by `read`, with nothing after it but whitespace: what
/// `serde_json::from_str` does, compiled once rather than once per payload type (only `read`
/// is per type).
#[inline(never)]
fn parse(
    data: &str,
    read: &mut dyn FnMut(&mut JsonReader<'_>) -> Result<(), serde_json::Error>,
) -> Result<(), serde_json::Error> {
    let mut json = serde_json::Deserializer::from_str(data);
    read(&mut json)?;
    json.end()
}

type JsonReader<'a> = serde_json::Deserializer<serde_json::de::StrRead<'a>>;

/// Not generic, so compiled once rather than once per payload type.
#[inline(never)]
fn decode_error(data: &str, arrival: &Arrival, error: &serde_json::Error) -> DecodeError {
    DecodeError::new(&arrival.event, data.to_owned(), error)
}
