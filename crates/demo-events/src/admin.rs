use serde::{Deserialize, Serialize};

/// `POST /api/streams/drop`: asks the server to close one stream, so a page can show reconnect
/// and resume. The key is the one the stream's `hello` carried
/// ([`tidings_wire::Hello::stream_key`]): only that stream's page has it, so nobody can close
/// another's stream.
///
/// # Examples
///
/// ```
/// use tidings_demo_events::DropRequest;
///
/// let request: DropRequest = serde_json::from_str(r#"{"stream": "9f3c"}"#)?;
/// assert_eq!(request.stream, "9f3c");
/// assert!(serde_json::from_str::<DropRequest>("{}").is_err());
/// assert!(serde_json::from_str::<DropRequest>(r#"{"client": 7}"#).is_err());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DropRequest {
    /// The key of the stream to close.
    pub stream: String,
}
