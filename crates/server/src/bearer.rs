//! The bearer token of a request (`Authorization: Bearer <token>`), for the admin routes and a
//! job's stream.

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;

/// The bearer token of a request, if it has one. Schemes are case-insensitive (RFC 9110,
/// section 11.1).
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let (scheme, token) = headers.get(AUTHORIZATION)?.to_str().ok()?.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token.trim())
}
