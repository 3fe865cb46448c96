//! The browser session cookie that gives single sign-on: a random token in
//! an HttpOnly, SameSite=Lax cookie (made Secure behind https by
//! `http::security`); the database keeps only its digest.

use axum::http::{HeaderMap, HeaderValue, header};
use si_credentials::secrets::{SecretToken, digest};
use si_domain::AccountId;
use si_store::{Repositories, StoreError, sessions::BrowserSession};

use crate::app::AppState;

pub const SESSION_COOKIE: &str = "si_session";

/// The value of a cookie in a request, if present.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|cookies| cookies.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// The live session of this browser, if any.
pub async fn current(state: &AppState, headers: &HeaderMap) -> Result<Option<BrowserSession>, StoreError> {
    match cookie(headers, SESSION_COOKIE) {
        Some(token) if token.len() == 43 => state.store.sessions().find(&digest(token)).await,
        _ => Ok(None),
    }
}

/// Starts a session, written through `repositories` (so that it commits with
/// what the login wrote), and returns the `Set-Cookie` value that carries it.
pub async fn start(
    state: &AppState,
    repositories: &impl Repositories,
    account: &AccountId,
) -> Result<(BrowserSession, HeaderValue), StartError> {
    let token = SecretToken::generate().map_err(|_| StartError::Randomness)?;
    let lifetime = time::Duration::hours(i64::from(state.config.oidc.session_hours));
    let expires_at = state.clock().now() + lifetime;
    let session = repositories
        .sessions()
        .create(&token.digest(), account, expires_at)
        .await?;
    let cookie = session_cookie(token.expose(), lifetime.whole_seconds());
    Ok((session, cookie))
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clear() -> HeaderValue {
    session_cookie("", 0)
}

fn session_cookie(value: &str, max_age: i64) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax"
    ))
    .expect("cookie made of safe characters")
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("the operating system's random generator failed")]
    Randomness,
    #[error(transparent)]
    Store(#[from] StoreError),
}
