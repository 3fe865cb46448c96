//! Shared web plumbing: errors, languages, form tokens, security headers,
//! request ids, metrics.

pub mod csrf;
pub mod error;
pub mod i18n;
pub mod observe;
pub mod security;
