//! Shared web plumbing: errors, languages, form tokens, security headers,
//! request ids, metrics, the client's address behind proxies.

pub mod client_address;
pub mod csrf;
pub mod error;
pub mod i18n;
pub mod observe;
pub mod security;
