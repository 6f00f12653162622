//! `GET /api/events?topics=…&lastEventId=…&name=…`: the demo's multiplexed stream, on the
//! engine's [`EventStream`].

use std::collections::BTreeSet;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::Deserialize;
use tidings_axum::{EventStream, LastEventId, LastEventIdRejection, Topic};
use tidings_demo_events::{DemoTopic, check_display_name};

use crate::stream_quota::StreamSlot;
use crate::{ApiError, AppState, presence_reports};

/// More topics than this in one request is refused.
const MAX_TOPICS: usize = 32;

/// The query string of a stream (`lastEventId` is the engine's [`LastEventId`]).
#[derive(Debug, Deserialize)]
pub(crate) struct EventsQuery {
    /// Comma-separated topics; none means [`DemoTopic::DEFAULT_SET`].
    topics: Option<String>,
    /// A display name for presence.
    name: Option<String>,
}

/// `GET /api/events`: the topics of the `topics` parameter, or the default set, counted in
/// presence under `name` while open.
pub(crate) async fn stream(
    State(state): State<AppState>,
    last: Result<LastEventId, LastEventIdRejection>,
    query: Result<Query<EventsQuery>, QueryRejection>,
    slot: StreamSlot,
) -> Result<EventStream, ApiError> {
    let last = resume_point(last)?;
    let query = checked(query)?;
    let topics = parse_topics(query.topics.as_deref())?;
    let name =
        query.name.map(|name| check_display_name("name", &name)).transpose().map_err(|error| {
            ApiError::BadRequest { code: "invalid_query", detail: error.to_string() }
        })?;
    let presence = presence_reports::join(&state, name);
    Ok(state.hub().stream(topics).resume(last).guard(slot).guard(presence))
}

/// The resume point, or a JSON 400 when the parameter is given twice.
pub(crate) fn resume_point(
    last: Result<LastEventId, LastEventIdRejection>,
) -> Result<LastEventId, ApiError> {
    last.map_err(|rejection| ApiError::BadRequest {
        code: "invalid_query",
        detail: rejection.to_string(),
    })
}

/// The query string, or a JSON 400 (e.g. a parameter given twice).
pub(crate) fn checked<T>(query: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    query.map(|Query(query)| query).map_err(|rejection| ApiError::BadRequest {
        code: "invalid_query",
        detail: rejection.body_text(),
    })
}

/// `id` if it can name a board or job topic (`code` names the error otherwise, `what` the thing).
pub(crate) fn topic_id(id: String, code: &'static str, what: &str) -> Result<String, ApiError> {
    if tidings_demo_events::is_valid_topic_id(&id) {
        Ok(id)
    } else {
        Err(ApiError::BadRequest {
            code,
            detail: format!("a {what} id is 1 to 64 ASCII letters, digits, `-` or `_`"),
        })
    }
}

/// `comma,separated` demo topics, deduplicated; none means the default set.
fn parse_topics(text: Option<&str>) -> Result<BTreeSet<Topic>, ApiError> {
    let invalid = |detail: String| ApiError::BadRequest { code: "invalid_topics", detail };
    let Some(text) = text else {
        return Ok(DemoTopic::DEFAULT_SET.iter().map(DemoTopic::topic).collect());
    };
    if text.is_empty() {
        return Err(invalid("`topics` is empty; leave it out for the default set".into()));
    }
    let names: Vec<&str> = text.split(',').collect();
    if names.len() > MAX_TOPICS {
        return Err(invalid(format!("at most {MAX_TOPICS} topics, not {}", names.len())));
    }
    names
        .into_iter()
        .map(|name| match name.parse::<DemoTopic>() {
            // Its token is for its own stream: the job's topic is not open to anyone.
            Ok(DemoTopic::Job(id)) => Err(invalid(format!(
                "a job's events need its token: read them from /api/jobs/{id}/events"
            ))),
            Ok(topic) => Ok(topic.topic()),
            Err(error) => Err(invalid(error.to_string())),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_default_dedupe_and_fail_clearly() {
        assert_eq!(parse_topics(None).unwrap().len(), DemoTopic::DEFAULT_SET.len());
        let topics = parse_topics(Some("ticker,board:a,ticker")).unwrap();
        let names: Vec<&str> = topics.iter().map(Topic::as_str).collect();
        assert_eq!(names, ["board:a", "ticker"]);
        for bad in ["", "ticker,", "weather", "board:", "ticker,,comments", "ticker,jobs:j-1"] {
            let error = parse_topics(Some(bad)).unwrap_err();
            assert!(
                matches!(error, ApiError::BadRequest { code: "invalid_topics", .. }),
                "{bad:?}"
            );
        }
        let many = vec!["ticker"; MAX_TOPICS + 1].join(",");
        assert!(parse_topics(Some(&many)).is_err());
    }
}
