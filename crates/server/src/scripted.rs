//! Scripted endpoints for the browser-binding tests, modelled on web-platform-tests'
//! `eventsource/resources`. Mounted under `/test/` only with `--test-mode`. `/test/cors` answers
//! CORS as scripted; the others allow loopback origins like the rest of a test-mode server.
//!
//! | route | answers |
//! |---|---|
//! | `GET /test/status/{code}` | that status, with an event-stream body |
//! | `GET /test/mime?type=T` | 200 with `Content-Type: T` and one event |
//! | `GET /test/message?data=D&newline=lf\|cr\|crlf&event=E&id=I&retry=R&hold=1` | one event whose data lines (split at `\n` in `D`) end with the chosen newline; then the body ends, or stays open with `hold=1` |
//! | `GET /test/count?n=N&retry=R&hold=1&lastEventId=I` | events with ids continuing after `Last-Event-ID` (or else `lastEventId`; from 1), then the end or, with `hold=1`, an open connection |
//! | `GET /test/count?…&abort=1` | the same, then the connection is cut without a clean end (a network error) |
//! | `GET /test/fields` | one chunk of edge cases of the field rules (conformance 12-16), held open |
//! | `GET /test/bogus-retry` | `retry: 100`, then a bogus `retry: 60000x`, one event, the end |
//! | `GET /test/headers` | one event whose data is the request's `Accept`, a `\|`, its `Cache-Control`; id `headers-N` |
//! | `GET /test/burst?n=N` | N tick events (`{"seq","value","at_ms"}`, ids 1 to N) as fast as the socket takes them, then the end; for the throughput benchmark |
//! | `GET /test/held/{key}` | one event, then held open; counted while open, per key |
//! | `GET /test/held/{key}/count` | how many `/test/held/{key}` streams are open now (a JSON number) |
//! | `GET /test/flaky/{key}?fail=F&status=S&n=N` | per key: visit 1 is `/test/count?n=N` (ends), visits 2 to F+1 answer `S`, later visits are `/test/count?n=N&hold=1` |
//! | `GET /test/sequence/{key}` | 200 (one event, end), 200 (one event, end), then 204: per key |
//! | `GET /test/echo-last-event-id` | one event whose data is the `Last-Event-ID` received (`none` if absent), id `echo-N` |
//! | `GET /test/silent` | one event, then silence with the connection open (for watchdogs) |
//! | `GET /test/malformed` | a good JSON event, a malformed one, a good one, all named `tick` |
//! | `GET /test/server-named` | `event: error` and `event: open` messages with data |
//! | `GET /test/redirect?status=S&to=PATH` | a redirect (301, 302, 303, 307, 308) to a path on this server |
//! | `GET /test/cors?allow=ORIGIN\|*\|none&credentials=1` | one event, with that CORS answer |

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_ORIGIN, CACHE_CONTROL, CONTENT_TYPE,
    LOCATION,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::{StreamExt, stream};
use serde::Deserialize;

use crate::{ApiError, AppState, Config, sse};

/// The `/test/` routes: all behind the test-mode CORS layer (the test page is on another
/// origin), except `/test/cors`, which answers CORS as scripted.
pub(crate) fn routes(config: &Config) -> Router<AppState> {
    Router::new()
        .route("/test/status/{code}", get(status))
        .route("/test/mime", get(mime))
        .route("/test/message", get(message))
        .route("/test/count", get(count))
        .route("/test/sequence/{key}", get(sequence))
        .route("/test/flaky/{key}", get(flaky))
        .route("/test/echo-last-event-id", get(echo_last_event_id))
        .route("/test/silent", get(silent))
        .route("/test/fields", get(fields))
        .route("/test/held/{key}", get(held))
        .route("/test/held/{key}/count", get(held_count))
        .route("/test/burst", get(burst))
        .route("/test/bogus-retry", get(bogus_retry))
        .route("/test/headers", get(request_headers))
        .route("/test/malformed", get(malformed))
        .route("/test/server-named", get(server_named))
        .route("/test/redirect", get(redirect))
        .layer(crate::cors::layer(config))
        .route("/test/cors", get(cors))
}

fn bad(detail: impl Into<String>) -> ApiError {
    ApiError::BadRequest { code: "invalid_script", detail: detail.into() }
}

/// An event-stream response: `frames`, then the end, or an open connection with `hold`.
fn event_stream(
    status: StatusCode,
    content_type: &str,
    frames: Vec<Bytes>,
    hold: bool,
) -> Response {
    let frames = stream::iter(frames);
    let body = if hold {
        Body::from_stream(frames.chain(stream::pending()).map(Ok::<_, Infallible>))
    } else {
        Body::from_stream(frames.map(Ok::<_, Infallible>))
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    if let Ok(value) = HeaderValue::from_str(content_type) {
        response.headers_mut().insert(CONTENT_TYPE, value);
    }
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

fn ok_stream(frames: Vec<Bytes>) -> Response {
    event_stream(StatusCode::OK, "text/event-stream", frames, false)
}

fn field(name: &str, value: &str) -> Result<(), ApiError> {
    if sse::is_valid_field(value) {
        Ok(())
    } else {
        Err(bad(format!("`{name}` cannot hold CR, LF or NUL")))
    }
}

async fn status(Path(code): Path<u16>) -> Result<Response, ApiError> {
    let status = StatusCode::from_u16(code).ok().filter(|status| !status.is_informational());
    let status = status.ok_or_else(|| bad("the status must be 200 to 599"))?;
    Ok(event_stream(
        status,
        "text/event-stream",
        vec![sse::event(None, "message", "status")],
        false,
    ))
}

#[derive(Deserialize)]
struct MimeQuery {
    r#type: String,
}

async fn mime(Query(query): Query<MimeQuery>) -> Result<Response, ApiError> {
    HeaderValue::from_str(&query.r#type).map_err(|_| bad("`type` is not a valid header value"))?;
    Ok(event_stream(
        StatusCode::OK,
        &query.r#type,
        vec![sse::event(None, "message", "mime")],
        false,
    ))
}

#[derive(Deserialize)]
struct MessageQuery {
    data: String,
    newline: Option<String>,
    event: Option<String>,
    id: Option<String>,
    retry: Option<u64>,
    hold: Option<u8>,
}

async fn message(Query(query): Query<MessageQuery>) -> Result<Response, ApiError> {
    let newline = match query.newline.as_deref().unwrap_or("lf") {
        "lf" => "\n",
        "cr" => "\r",
        "crlf" => "\r\n",
        other => return Err(bad(format!("`newline` is lf, cr or crlf, not {other:?}"))),
    };
    if query.data.len() > 64 * 1024 {
        return Err(bad("`data` is at most 64 KiB"));
    }
    let mut frame = String::new();
    if let Some(retry) = query.retry {
        frame.push_str(&format!("retry: {retry}{newline}"));
    }
    if let Some(id) = &query.id {
        field("id", id)?;
        frame.push_str(&format!("id: {id}{newline}"));
    }
    if let Some(event) = &query.event {
        field("event", event)?;
        frame.push_str(&format!("event: {event}{newline}"));
    }
    for line in query.data.split('\n') {
        frame.push_str(&format!("data: {line}{newline}"));
    }
    frame.push_str(newline);
    Ok(event_stream(
        StatusCode::OK,
        "text/event-stream",
        vec![Bytes::from(frame)],
        query.hold == Some(1),
    ))
}

#[derive(Deserialize)]
struct CountQuery {
    n: u32,
    retry: Option<u64>,
    hold: Option<u8>,
    abort: Option<u8>,
    #[serde(rename = "lastEventId")]
    last_event_id: Option<String>,
}

fn last_event_id(headers: &HeaderMap) -> Option<String> {
    headers.get("last-event-id").map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
}

async fn count(headers: HeaderMap, Query(query): Query<CountQuery>) -> Result<Response, ApiError> {
    count_from(&headers, &query)
}

/// Numbered events after the client's last id: the header wins over the query parameter, as
/// in `/api/events`.
fn count_from(headers: &HeaderMap, query: &CountQuery) -> Result<Response, ApiError> {
    if query.n > 10_000 {
        return Err(bad("`n` is at most 10000"));
    }
    let start = match last_event_id(headers).or_else(|| query.last_event_id.clone()) {
        Some(text) => {
            text.parse::<u64>().map_err(|_| bad("the last event id must be a number here"))?
        }
        None => 0,
    };
    let mut frames = vec![sse::retry(query.retry.unwrap_or(100))];
    for number in start + 1..=start + u64::from(query.n) {
        let number = number.to_string();
        frames.push(Bytes::from(format!("id: {number}\ndata: {number}\n\n")));
    }
    if query.abort == Some(1) {
        // An error from the body makes hyper cut the connection: no final chunk, no clean end.
        let cut = std::io::Error::new(std::io::ErrorKind::ConnectionAborted, "scripted cut");
        // After a moment, so the head and the events leave before the cut.
        let cut = stream::once(async move {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            Err(cut)
        });
        let frames = stream::iter(frames.into_iter().map(Ok)).chain(cut);
        let mut response = Response::new(Body::from_stream(frames));
        response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
        return Ok(response);
    }
    Ok(event_stream(StatusCode::OK, "text/event-stream", frames, query.hold == Some(1)))
}

#[derive(Deserialize)]
struct FlakyQuery {
    fail: u32,
    status: u16,
    n: u32,
    #[serde(rename = "lastEventId")]
    last_event_id: Option<String>,
}

async fn flaky(
    State(state): State<AppState>,
    Path(key): Path<String>,
    headers: HeaderMap,
    Query(query): Query<FlakyQuery>,
) -> Result<Response, ApiError> {
    let status = StatusCode::from_u16(query.status)
        .ok()
        .filter(|status| status.as_u16() >= 200)
        .ok_or_else(|| bad("`status` must be an HTTP status from 200 to 999"))?;
    let visit = visit(&state, key)?;
    let count = CountQuery {
        n: query.n,
        retry: Some(50),
        hold: (visit > 1).then_some(1),
        abort: None,
        last_event_id: query.last_event_id,
    };
    if visit == 1 || visit > query.fail.saturating_add(1) {
        count_from(&headers, &count)
    } else {
        Ok(event_stream(status, "text/event-stream", Vec::new(), false))
    }
}

/// Counts a visit to `key` (from 1); scripted routes keep at most 10,000 keys.
fn visit(state: &AppState, key: String) -> Result<u32, ApiError> {
    if key.len() > 64 {
        return Err(bad("the key is at most 64 bytes"));
    }
    let mut visits = state.scripted_sequences();
    if visits.len() > 10_000 {
        visits.clear();
    }
    let visit = visits.entry(key).or_insert(0);
    *visit += 1;
    Ok(*visit)
}

async fn sequence(
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> Result<Response, ApiError> {
    let visit = visit(&state, key)?;
    if visit >= 3 {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    Ok(ok_stream(vec![
        sse::retry(100),
        Bytes::from(format!("id: {visit}\ndata: visit {visit}\n\n")),
    ]))
}

async fn echo_last_event_id(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let received = last_event_id(&headers).unwrap_or_else(|| "none".to_owned());
    let echo = state.next_client_id();
    let data: String = received.chars().filter(|c| !matches!(c, '\r' | '\n')).collect();
    ok_stream(vec![sse::retry(100), Bytes::from(format!("id: echo-{echo}\ndata: {data}\n\n"))])
}

async fn silent() -> Response {
    event_stream(
        StatusCode::OK,
        "text/event-stream",
        vec![sse::event(None, "message", "then silence")],
        true,
    )
}

async fn fields() -> Response {
    event_stream(
        StatusCode::OK,
        "text/event-stream",
        vec![Bytes::from_static(
            concat!(
                "event: lost\n\n",          // 12: no data, no event; the type is reset
                "data: a\n\n",              // "a", no id yet
                "event:\ndata: b\n\n",      // 13: an empty type is `message`
                "id: 1\ndata: c\n\n",       // "c", id 1
                "data: d\n\n",              // 17: the id persists
                "id: 7\n\n",                // 16: an id-only block sets the id, dispatches nothing
                "data: e\n\n",              // "e", id 7
                "id: 9\u{0}x\ndata: f\n\n", // 14: an id with NUL is ignored: still 7
                "id\ndata: g\n\n",          // 14: an empty id resets it
                "retry: 1x\ndata: h\n\n",   // 15: a bogus retry is ignored, the event is not
            )
            .as_bytes(),
        )],
        true,
    )
}

#[derive(Deserialize)]
struct BurstQuery {
    n: u32,
}

async fn burst(Query(query): Query<BurstQuery>) -> Result<Response, ApiError> {
    if query.n > 1_000_000 {
        return Err(bad("`n` is at most 1000000"));
    }
    // In chunks of 1,000 events, made as the socket drains.
    let chunks = stream::iter((0..query.n.div_ceil(1_000)).map(move |chunk| {
        let first = chunk * 1_000 + 1;
        let last = (first + 999).min(query.n);
        let mut text = String::with_capacity(1_000 * 64);
        for seq in first..=last {
            let value = f64::from(seq % 1_000) / 10.0;
            text.push_str(&format!(
                "id: {seq}\ndata: {{\"seq\":{seq},\"value\":{value},\"at_ms\":1790000000000}}\n\n"
            ));
        }
        Ok::<_, Infallible>(Bytes::from(text))
    }));
    let mut response = Response::new(Body::from_stream(chunks));
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // No retry: one burst per source.
    Ok(response)
}

/// Counts a held stream while its body lives (hyper drops it when the client goes).
struct Held(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for Held {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

async fn held(
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> Result<Response, ApiError> {
    if key.len() > 64 {
        return Err(bad("the key is at most 64 bytes"));
    }
    let counter = state.held_counter(&key);
    counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let guard = Held(counter);
    let first =
        stream::iter([Ok::<_, Infallible>(Bytes::from_static(b"id: 1\ndata: \"held\"\n\n"))]);
    // The guard lives in the body stream, which hyper drops when the client goes.
    let body = first.chain(stream::pending::<Result<Bytes, Infallible>>().map(move |item| {
        let _counted = &guard;
        item
    }));
    let mut response = Response::new(Body::from_stream(body));
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}

async fn held_count(
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> Result<axum::Json<usize>, ApiError> {
    if key.len() > 64 {
        return Err(bad("the key is at most 64 bytes"));
    }
    Ok(axum::Json(state.held_counter(&key).load(std::sync::atomic::Ordering::SeqCst)))
}

async fn bogus_retry() -> Response {
    ok_stream(vec![Bytes::from_static(b"retry: 100\nretry: 60000x\ndata: r\n\n")])
}

async fn request_headers(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let text = |name| {
        headers.get(name).map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
    };
    let data = format!(
        "{}|{}",
        text(axum::http::header::ACCEPT).unwrap_or_default(),
        text(CACHE_CONTROL).unwrap_or_default()
    );
    let data: String = data.chars().filter(|c| !matches!(c, '\r' | '\n')).collect();
    let echo = state.next_client_id();
    ok_stream(vec![sse::retry(100), Bytes::from(format!("id: headers-{echo}\ndata: {data}\n\n"))])
}

async fn malformed() -> Response {
    ok_stream(vec![
        Bytes::from_static(b"id: 1\nevent: tick\ndata: {\"seq\":1,\"value\":1.0,\"at_ms\":1}\n\n"),
        Bytes::from_static(b"id: 2\nevent: tick\ndata: {\"seq\":2,\"value\":\n\n"),
        Bytes::from_static(b"id: 3\nevent: tick\ndata: {\"seq\":3,\"value\":3.0,\"at_ms\":3}\n\n"),
    ])
}

async fn server_named() -> Response {
    event_stream(
        StatusCode::OK,
        "text/event-stream",
        vec![
            Bytes::from_static(b"event: error\ndata: \"sent as data\"\n\n"),
            Bytes::from_static(b"event: open\ndata: \"also data\"\n\n"),
        ],
        true,
    )
}

#[derive(Deserialize)]
struct RedirectQuery {
    status: u16,
    to: String,
}

async fn redirect(Query(query): Query<RedirectQuery>) -> Result<Response, ApiError> {
    if ![301, 302, 303, 307, 308].contains(&query.status) {
        return Err(bad("`status` is 301, 302, 303, 307 or 308"));
    }
    if !query.to.starts_with('/') || query.to.starts_with("//") {
        return Err(bad("`to` is a path on this server"));
    }
    let location =
        HeaderValue::from_str(&query.to).map_err(|_| bad("`to` is not a valid header value"))?;
    let status = StatusCode::from_u16(query.status).map_err(|_| bad("bad status"))?;
    Ok((status, [(LOCATION, location)]).into_response())
}

async fn cors(
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let mut response = ok_stream(vec![sse::event(None, "message", "cors")]);
    let allow = query.get("allow").map_or("none", String::as_str);
    let origin = headers.get("origin").cloned();
    let value = match allow {
        "none" => None,
        "*" => Some(HeaderValue::from_static("*")),
        "origin" => origin,
        other => Some(
            HeaderValue::from_str(other).map_err(|_| bad("`allow` is not a valid header value"))?,
        ),
    };
    if let Some(value) = value {
        response.headers_mut().insert(ACCESS_CONTROL_ALLOW_ORIGIN, value);
    }
    if query.get("credentials").map(String::as_str) == Some("1") {
        response
            .headers_mut()
            .insert(ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
    }
    Ok(response)
}
