//! Cross-origin access: only the `--cors-origin` allow-list (none by default: the app is served
//! from the same origin).

use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderName};
use axum::http::{HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::Config;

pub(crate) fn layer(config: &Config) -> CorsLayer {
    if config.cors_origins.is_empty() {
        // Adds no CORS headers: browsers refuse cross-origin reads.
        return CorsLayer::new();
    }
    let allowed: Vec<HeaderValue> = config
        .cors_origins
        .iter()
        .filter_map(|origin| HeaderValue::from_str(origin).ok())
        .collect();
    CorsLayer::new()
        // Hosts are case-insensitive: `https://APP.example.com` is the same origin.
        .allow_origin(AllowOrigin::predicate(move |origin, _| {
            allowed.iter().any(|allowed| allowed.as_bytes().eq_ignore_ascii_case(origin.as_bytes()))
        }))
        .allow_credentials(true)
        .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
        // `Authorization`: a job's stream needs its token, sent by the fetch transport.
        .allow_headers([CONTENT_TYPE, AUTHORIZATION, HeaderName::from_static("last-event-id")])
}
