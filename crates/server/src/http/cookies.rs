//! Reading a request's cookies one by one: a cookie another site set with
//! bytes that are not plain text (a name such as "Jörg") is skipped, and
//! does not hide the others.

use axum::http::{HeaderMap, header};

/// Each `name=value` of the request's `Cookie` headers, trimmed, as bytes.
pub fn pairs(headers: &HeaderMap) -> impl Iterator<Item = &[u8]> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .flat_map(|value| value.as_bytes().split(|byte| *byte == b';'))
        .map(<[u8]>::trim_ascii)
        .filter(|pair| !pair.is_empty())
}

/// The value of the first cookie named `name`, if any.
pub fn value<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    pairs(headers)
        .filter_map(|pair| std::str::from_utf8(pair).ok()?.split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}
