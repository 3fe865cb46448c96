//! Device cookies (OWASP's defence against lockout by others): a browser
//! that has logged in to an account carries a cookie tagged with that
//! username, and its attempts at that username are counted apart from
//! everyone else's. Whoever fails at a member's username on purpose then
//! blocks only their own tries, never the member on their own device.

use axum::http::{HeaderMap, HeaderValue};
use si_credentials::secrets::{SecretToken, digest};
use si_domain::Username;

use super::session::cookie;
use crate::app::AppState;

pub const DEVICE_COOKIE: &str = "si_device";

/// A year: the cookie is renewed at every login on the device.
const LIFETIME_SECONDS: i64 = 365 * 24 * 60 * 60;

/// The throttle subject of this browser's attempts at `username`, when it
/// carries that username's device cookie; the username's own otherwise.
pub fn recognised(state: &AppState, headers: &HeaderMap, username: &Username) -> Option<String> {
    let value = cookie(headers, DEVICE_COOKIE)?;
    let nonce = state.keyring.device_nonce(value, username.as_str())?;
    Some(format!("device:{}", digest(nonce)))
}

/// The `Set-Cookie` value that makes this browser a known device of
/// `username`; none if the random generator failed (the login still holds).
pub fn cookie_for(state: &AppState, username: &Username) -> Option<HeaderValue> {
    let nonce = SecretToken::generate().ok()?;
    let value = state.keyring.tag_device(nonce.expose(), username.as_str());
    HeaderValue::from_str(&format!(
        "{DEVICE_COOKIE}={value}; Path=/login; Max-Age={LIFETIME_SECONDS}; HttpOnly; SameSite=Lax"
    ))
    .ok()
}
