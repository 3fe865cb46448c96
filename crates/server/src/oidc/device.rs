//! Device cookies (OWASP's defence against lockout by others): a browser
//! that has logged in to an account carries a cookie tagged with that
//! username, and its attempts at that username are counted apart from
//! everyone else's. Whoever fails at a member's username on purpose then
//! blocks only their own tries, never the member on their own device.

use axum::http::{HeaderMap, HeaderValue};
use si_credentials::secrets::{SecretToken, digest};
use si_domain::Username;
use si_store::accounts::Account;

use crate::app::AppState;
use crate::http::cookies;

pub const DEVICE_COOKIE: &str = "si_device";

/// A year: the cookie is renewed at every login on the device.
const LIFETIME_SECONDS: i64 = 365 * 24 * 60 * 60;

/// The throttle subject of this browser's attempts at `account`, when it
/// carries a device cookie of its username. The password in use is part of
/// it: once the member sets a new one (after locking their own device out,
/// say), the device starts afresh.
pub fn recognised(state: &AppState, headers: &HeaderMap, account: &Account) -> Option<String> {
    let value = cookies::value(headers, DEVICE_COOKIE)?;
    let nonce = state.keyring.device_nonce(value, account.username.as_str())?;
    let password = account.password_hash.as_deref().unwrap_or_default();
    Some(format!("device:{}", digest(&format!("{nonce}\0{password}"))))
}

/// The `Set-Cookie` value that makes this browser a known device of
/// `username`; none if the random generator failed (the login still holds).
pub fn cookie_for(state: &AppState, username: &Username) -> Option<HeaderValue> {
    let nonce = SecretToken::generate().ok()?;
    set_cookie(state, nonce.expose(), username)
}

/// After the member renamed the account in this browser: its device cookie,
/// if it has one of the old name, for the new one. The same device, so the
/// same count (a new cookie would be five fresh guesses per rename for
/// whoever finds a session left open).
pub fn renamed(state: &AppState, headers: &HeaderMap, old: &Username, new: &Username) -> Option<HeaderValue> {
    let nonce = state
        .keyring
        .device_nonce(cookies::value(headers, DEVICE_COOKIE)?, old.as_str())?;
    set_cookie(state, nonce, new)
}

fn set_cookie(state: &AppState, nonce: &str, username: &Username) -> Option<HeaderValue> {
    let value = state.keyring.tag_device(nonce, username.as_str());
    HeaderValue::from_str(&format!(
        "{DEVICE_COOKIE}={value}; Path=/; Max-Age={LIFETIME_SECONDS}; HttpOnly; SameSite=Lax"
    ))
    .ok()
}
