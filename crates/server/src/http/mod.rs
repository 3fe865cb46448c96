//! Shared web plumbing: errors, languages, form tokens, security headers,
//! request ids, metrics, the client's address behind proxies, query strings.

pub mod client_address;
pub mod csrf;
pub mod error;
pub mod i18n;
pub mod observe;
pub mod page_query;
pub mod security;
