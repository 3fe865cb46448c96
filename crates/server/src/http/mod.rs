//! Shared web plumbing: errors, languages, cookies, form tokens, security headers,
//! request ids, metrics, the client's address behind proxies, query strings,
//! and the listener.

use axum::http::{HeaderMap, header};

/// The most a request body may hold. Every form and JSON body the service
/// takes is a few KiB at most (a login form with its carried authorization
/// request, a registration); a larger one is refused with 413 as soon as
/// more has arrived, so that many connections cannot make a node hold
/// megabytes each.
pub const BODY_LIMIT: usize = 64 * 1024;

/// What a refused body is told, in the error responses that name it.
pub const BODY_LIMIT_EXCEEDED: &str = "the request body is larger than 64 KiB";

pub mod client_address;
pub mod cookies;
pub mod csrf;
pub mod done_notice;
pub mod error;
pub mod i18n;
pub mod observe;
pub mod page_query;
pub mod security;
pub mod serve;

/// Whether the body is sent as a form (`application/x-www-form-urlencoded`,
/// in any case: RFC 9110 8.3.1).
pub fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media| {
            media
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// A path on this site, as a browser would follow it: visible ASCII only
/// (browsers drop tabs and line breaks, so "/\t/x" would lead to "//x"), no
/// backslash (read as a slash) and no second slash in front.
pub fn is_local_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.starts_with("//")
        && path.chars().all(|c| c.is_ascii_graphic() && c != '\\')
}
