use serde::{Deserialize, Serialize};
use tidings_wire::Event;

/// The body of `POST /api/jobs`: an empty JSON object (`{}`), so that a form on another site
/// cannot start a job (a JSON content type needs a CORS preflight); unknown fields are errors.
///
/// # Examples
///
/// ```
/// let new: tidings_demo_events::NewJob = serde_json::from_str("{}")?;
/// assert_eq!(new, tidings_demo_events::NewJob {});
/// assert!(serde_json::from_str::<tidings_demo_events::NewJob>(r#"{"steps":3}"#).is_err());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewJob {}

/// `POST /api/jobs` answers with the new job's id and the token its stream needs.
///
/// # Examples
///
/// ```
/// let created: tidings_demo_events::JobCreated =
///     serde_json::from_str(r#"{"id":"job-1","token":"5f0c"}"#)?;
/// assert_eq!(created.id, "job-1");
/// assert_eq!(created.token, "5f0c");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobCreated {
    /// The job's id, for `GET /api/jobs/{id}/events`.
    pub id: String,
    /// What that stream needs as `Authorization: Bearer <token>`: only the job's creator has
    /// it.
    pub token: String,
}

/// A job started.
///
/// # Examples
///
/// ```
/// use tidings_wire::Event;
/// assert_eq!(tidings_demo_events::JobStarted::NAME, "start");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobStarted {
    /// The job's id.
    pub job: String,
    /// How many steps it will take.
    pub steps: u32,
}

impl Event for JobStarted {
    const NAME: &'static str = "start";
}

/// A job advanced.
///
/// # Examples
///
/// ```
/// use tidings_wire::Event;
/// assert_eq!(tidings_demo_events::JobProgress::NAME, "progress");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobProgress {
    /// The job's id.
    pub job: String,
    /// 0 to 100.
    pub percent: u8,
}

impl Event for JobProgress {
    const NAME: &'static str = "progress";
}

/// A job finished; its stream ends after this event.
///
/// # Examples
///
/// ```
/// use tidings_wire::Event;
/// assert_eq!(tidings_demo_events::JobComplete::NAME, "complete");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobComplete {
    /// The job's id.
    pub job: String,
    /// What it produced, for a person.
    pub result: String,
}

impl Event for JobComplete {
    const NAME: &'static str = "complete";
}
