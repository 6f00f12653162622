use serde::{Deserialize, Serialize};

/// `POST /api/admin/drop`: which streams the server should close, so a page can show reconnect
/// and resume. `client: None` closes every stream; `Some(id)` closes one client's (its id comes
/// in its `hello`).
///
/// # Examples
///
/// ```
/// use tidings_demo_events::DropRequest;
///
/// let one: DropRequest = serde_json::from_str(r#"{"client": 7}"#)?;
/// assert_eq!(one.client, Some(7));
/// let every: DropRequest = serde_json::from_str("{}")?;
/// assert_eq!(every.client, None);
/// assert!(serde_json::from_str::<DropRequest>(r#"{"clients": 7}"#).is_err());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DropRequest {
    /// The client whose streams to close; every stream when `None`.
    #[serde(default)]
    pub client: Option<u64>,
}
