//! The `LastEventId` extractor: where a client resumes.

use std::borrow::Cow;
use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::header::HeaderName;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};

/// The header a browser resumes with.
const LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");

/// Where a client resumes: its `Last-Event-ID` header, or else a query parameter
/// (`lastEventId`, which tidings clients send, unless a [`LastEventIdParam`] on the route names
/// another). The header wins because a browser keeps its URL, query and all, across its own
/// reconnects and sends the newer id in the header. An empty value is no id. The text is not
/// checked here: [`EventStream::resume`](crate::EventStream::resume) answers an id it cannot
/// serve with a `resync`. An empty header counts as none (the query parameter is read then).
///
/// Extracted with any state, or none: an app with two hubs uses it on both.
///
/// # Examples
///
/// ```
/// use axum::extract::State;
/// use tidings_axum::{EventStream, Hub, LastEventId};
///
/// async fn events(State(hub): State<Hub>, last: LastEventId) -> EventStream {
///     if let Some(id) = last.as_deref() {
///         tracing::debug!(%id, "a client resumes");
///     }
///     hub.stream([tidings_wire::Topic::from_static("notes")]).resume(last)
/// }
/// # let _ = events;
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LastEventId(Option<String>);

impl LastEventId {
    /// An id to resume after (`None`, or an empty one, for none).
    ///
    /// # Examples
    ///
    /// ```
    /// let last = tidings_axum::LastEventId::new(Some("7-1".to_owned()));
    /// assert_eq!(last.as_deref(), Some("7-1"));
    /// assert_eq!(tidings_axum::LastEventId::new(Some(String::new())).as_deref(), None);
    /// ```
    pub fn new(id: Option<String>) -> Self {
        Self(id.filter(|id| !id.is_empty()))
    }

    /// The id, if the client sent one.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(tidings_axum::LastEventId::default().as_deref(), None);
    /// ```
    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }

    /// The id, if the client sent one.
    ///
    /// # Examples
    ///
    /// ```
    /// let last = tidings_axum::LastEventId::new(Some("7-1".to_owned()));
    /// assert_eq!(last.into_inner().as_deref(), Some("7-1"));
    /// ```
    pub fn into_inner(self) -> Option<String> {
        self.0
    }

    /// The id a request carries, as the extractor reads it: the header, else the query parameter
    /// `param`.
    ///
    /// # Errors
    /// [`LastEventIdRejection`] when the query parameter is given more than once.
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::http::Request;
    /// let request = Request::get("/events?since=4-2").body(()).unwrap();
    /// let (parts, ()) = request.into_parts();
    /// let last = tidings_axum::LastEventId::from_parts(&parts, "since")?;
    /// assert_eq!(last.as_deref(), Some("4-2"));
    /// # Ok::<(), tidings_axum::LastEventIdRejection>(())
    /// ```
    pub fn from_parts(parts: &Parts, param: &str) -> Result<Self, LastEventIdRejection> {
        // An empty header is no id: the query parameter may still name one.
        if let Some(value) = parts.headers.get(LAST_EVENT_ID).filter(|value| !value.is_empty()) {
            return Ok(Self::new(Some(String::from_utf8_lossy(value.as_bytes()).into_owned())));
        }
        let query = parts.uri.query().unwrap_or_default();
        let mut found = None;
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            if name == param {
                if found.is_some() {
                    return Err(LastEventIdRejection { param: param.to_owned() });
                }
                found = Some(value.into_owned());
            }
        }
        Ok(Self::new(found))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for LastEventId {
    type Rejection = LastEventIdRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Ok(param) = LastEventIdParam::from_request_parts(parts, state).await;
        Self::from_parts(parts, param.as_str())
    }
}

/// The query parameter [`LastEventId`] reads when a request has no `Last-Event-ID` header (a
/// client opening a new connection carries its last id there): `lastEventId` by default, which
/// tidings clients send; another for the routes given this as an
/// [`Extension`](axum::Extension). As an extractor, the one in force.
///
/// # Examples
///
/// ```
/// use axum::routing::get;
/// use axum::{Extension, Router};
/// use tidings_axum::{LastEventId, LastEventIdParam};
///
/// async fn events(last: LastEventId) -> String {
///     last.into_inner().unwrap_or_default()
/// }
/// // `/legacy/events?since=1-4` resumes after 1-4; `/events` reads `lastEventId`.
/// let app: Router = Router::new()
///     .route("/events", get(events))
///     .merge(
///         Router::new()
///             .route("/legacy/events", get(events))
///             .layer(Extension(LastEventIdParam::new("since"))),
///     );
/// # let _ = app;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastEventIdParam(Cow<'static, str>);

impl LastEventIdParam {
    /// The parameter `name`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(tidings_axum::LastEventIdParam::new("since").as_str(), "since");
    /// ```
    pub fn new(name: impl Into<Cow<'static, str>>) -> Self {
        Self(name.into())
    }

    /// Its name.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(tidings_axum::LastEventIdParam::default().as_str(), "lastEventId");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for LastEventIdParam {
    fn default() -> Self {
        Self(Cow::Borrowed("lastEventId"))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for LastEventIdParam {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<Self>().cloned().unwrap_or_default())
    }
}

/// The last-event-id query parameter came more than once: which one counts cannot be told.
/// Answered `400 Bad Request` with JSON `{"error": "invalid_last_event_id", "detail": …}`, like
/// every answer of this crate; take `Result<LastEventId, LastEventIdRejection>` in a handler to
/// answer it your own way.
///
/// # Examples
///
/// ```
/// use axum::response::IntoResponse;
/// let rejection = tidings_axum::LastEventIdRejection { param: "lastEventId".into() };
/// let response = rejection.into_response();
/// assert_eq!(response.status(), 400);
/// assert_eq!(response.headers()["content-type"], "application/json");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the `{param}` query parameter is given more than once")]
pub struct LastEventIdRejection {
    /// The parameter's name.
    pub param: String,
}

impl IntoResponse for LastEventIdRejection {
    fn into_response(self) -> Response {
        crate::json_error::json_error(
            StatusCode::BAD_REQUEST,
            "invalid_last_event_id",
            &self.to_string(),
        )
    }
}

#[cfg(test)]
mod tests {
    use axum::http::Request;

    use super::*;

    fn last(request: Request<()>) -> Result<Option<String>, LastEventIdRejection> {
        let (parts, ()) = request.into_parts();
        LastEventId::from_parts(&parts, "lastEventId").map(LastEventId::into_inner)
    }

    #[test]
    fn the_header_wins_over_the_query() {
        let request =
            Request::get("/e?lastEventId=1-1").header("last-event-id", "1-9").body(()).unwrap();
        assert_eq!(last(request).unwrap().as_deref(), Some("1-9"));
        let request = Request::get("/e?lastEventId=1-1&x=2").body(()).unwrap();
        assert_eq!(last(request).unwrap().as_deref(), Some("1-1"));
    }

    #[test]
    fn empty_means_none_and_the_query_is_decoded() {
        let request = Request::get("/e?lastEventId=").body(()).unwrap();
        assert_eq!(last(request).unwrap(), None);
        let request = Request::get("/e").header("last-event-id", "").body(()).unwrap();
        assert_eq!(last(request).unwrap(), None);
        let request =
            Request::get("/e?lastEventId=5-3").header("last-event-id", "").body(()).unwrap();
        assert_eq!(last(request).unwrap().as_deref(), Some("5-3"), "an empty header is none");
        let request = Request::get("/e?lastEventId=a%20b%2Bc").body(()).unwrap();
        assert_eq!(last(request).unwrap().as_deref(), Some("a b+c"));
    }

    #[test]
    fn a_parameter_given_twice_is_refused() {
        let request = Request::get("/e?lastEventId=1-1&lastEventId=1-2").body(()).unwrap();
        assert_eq!(last(request).unwrap_err().param, "lastEventId");
    }
}
