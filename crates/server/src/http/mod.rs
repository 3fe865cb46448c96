//! Shared web plumbing: errors, languages, security headers, request ids, metrics.

pub mod error;
pub mod i18n;
pub mod observe;
pub mod security;
