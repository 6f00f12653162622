//! The server's REST endpoints, through the browser's `fetch`: "SSE for the firehose, fetch for
//! the occasional action".

use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// What went wrong with a request, as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    /// The HTTP status, or 0 when no answer came.
    pub(crate) status: u16,
    /// The server's `detail`, or what went wrong on the way.
    pub(crate) message: String,
    /// The field a validation error is about.
    pub(crate) field: Option<String>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{field}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// The JSON error body every endpoint answers with.
#[derive(serde::Deserialize)]
struct ErrorBody {
    detail: String,
    #[serde(default)]
    field: Option<String>,
}

fn network(message: impl Into<String>) -> ApiError {
    ApiError { status: 0, message: message.into(), field: None }
}

/// What a request answers: the body's text, or what went wrong.
pub(crate) type Answer = Result<String, ApiError>;

/// Sends `method path` with `body` (JSON, from [`json`]) and calls `done` with the answer.
///
/// Every request of the page goes through one non-generic future: a call site adds only its
/// callback, not another copy of the request and its task in the wasm.
pub(crate) fn send(
    method: &'static str,
    path: impl Into<String>,
    body: Option<String>,
    done: impl FnOnce(Answer) + 'static,
) {
    spawn(method, path.into(), body, Box::new(done));
}

fn spawn(method: &'static str, path: String, body: Option<String>, done: Box<dyn FnOnce(Answer)>) {
    leptos::task::spawn_local(async move { done(request(method, &path, body).await) });
}

/// `body` as JSON. The page's bodies are plain structs, which always serialize; if one did not,
/// the server would refuse the empty body with a 400 that the page shows.
pub(crate) fn json<B: Serialize>(body: &B) -> String {
    serde_json::to_string(body).unwrap_or_default()
}

/// An answer's text decoded as JSON.
pub(crate) fn decode<T: DeserializeOwned>(text: &str) -> Result<T, ApiError> {
    serde_json::from_str(text).map_err(|error| network(format!("unexpected answer: {error}")))
}

async fn request(method: &str, path: &str, body: Option<String>) -> Result<String, ApiError> {
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    if let Some(body) = body {
        init.set_body(&body.into());
        let headers = web_sys::Headers::new().map_err(|_| network("cannot make headers"))?;
        headers
            .set("content-type", "application/json")
            .map_err(|_| network("cannot set the content type"))?;
        init.set_headers(&headers);
    }
    let window = web_sys::window().ok_or_else(|| network("no window"))?;
    let response = JsFuture::from(window.fetch_with_str_and_init(path, &init))
        .await
        .map_err(|_| network("the server cannot be reached"))?;
    let response: web_sys::Response = response.unchecked_into();
    let text = match response.text() {
        Ok(promise) => JsFuture::from(promise).await.ok().and_then(|text| text.as_string()),
        Err(_) => None,
    }
    .unwrap_or_default();
    if response.ok() {
        return Ok(text);
    }
    let status = response.status();
    Err(match serde_json::from_str::<ErrorBody>(&text) {
        Ok(body) => ApiError { status, message: body.detail, field: body.field },
        Err(_) => {
            ApiError { status, message: format!("the server answered {status}"), field: None }
        }
    })
}
