//! Cross-origin access: only the `--cors-origin` allow-list (none by default: the app is served
//! from the same origin); in test mode, loopback origins too, such as the browser test runner's
//! page.

use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::Config;
use crate::events::LAST_EVENT_ID;

pub(crate) fn layer(config: &Config) -> CorsLayer {
    if !config.test_mode && config.cors_origins.is_empty() {
        // Adds no CORS headers: browsers refuse cross-origin reads.
        return CorsLayer::new();
    }
    let allowed: Vec<HeaderValue> = config
        .cors_origins
        .iter()
        .filter_map(|origin| HeaderValue::from_str(origin).ok())
        .collect();
    let test_mode = config.test_mode;
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin, _| {
            allowed.iter().any(|allowed| allowed.as_bytes().eq_ignore_ascii_case(origin.as_bytes()))
                || (test_mode && is_loopback_origin(origin))
        }))
        .allow_credentials(true)
        .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
        .allow_headers([CONTENT_TYPE, LAST_EVENT_ID])
}

/// `http(s)://` followed by `localhost`, `127.x.x.x` or `[::1]`, with an optional port.
fn is_loopback_origin(origin: &HeaderValue) -> bool {
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let Some(rest) = origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://"))
    else {
        return false;
    };
    // `port` is empty or `:` followed by the port's digits.
    let (host, port) = match rest.strip_prefix("[::1]") {
        Some(port) => ("[::1]", port),
        None => rest.find(':').map_or((rest, ""), |colon| rest.split_at(colon)),
    };
    let port_ok = port.is_empty()
        || port
            .strip_prefix(':')
            .is_some_and(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()));
    let host_ok = host == "localhost"
        || host == "[::1]"
        || host.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| ip.is_loopback());
    host_ok && port_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_only_loopback_origins() {
        for good in [
            "http://127.0.0.1:8000",
            "http://127.0.0.5",
            "http://localhost:1",
            "https://localhost",
            "http://[::1]:9000",
        ] {
            assert!(is_loopback_origin(&HeaderValue::from_static(good)), "{good}");
        }
        for bad in [
            "http://example.com",
            "http://127.0.0.1.example.com",
            "http://localhost.example.com:80",
            "http://10.0.0.1:80",
            "ftp://127.0.0.1",
            "http://127.0.0.1:",
            "http://127.0.0.1:80x",
            "http://[::2]:80",
            "null",
            "",
        ] {
            assert!(!is_loopback_origin(&HeaderValue::from_static(bad)), "{bad}");
        }
    }
}
