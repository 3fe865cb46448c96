//! The browser session cookie that gives single sign-on: a random token in
//! an HttpOnly, SameSite=Lax cookie (made Secure behind https by
//! `http::security`) that ends with the browser; the database keeps only
//! its digest, and when the session ends.

use axum::http::{HeaderMap, HeaderValue};
use si_credentials::secrets::{SecretToken, digest};
use si_domain::AccountId;
use si_store::{
    Repositories, StoreError,
    sessions::{BrowserSession, EndedSession, Renewal},
};

use super::tokens;
use crate::{app::AppState, http::cookies};

pub const SESSION_COOKIE: &str = "si_session";

/// The session that gives this browser single sign-on, if any: found by
/// the cookie's current token, not expired, and used within
/// `oidc.session_idle_minutes`. Asking counts as a use.
pub async fn current(state: &AppState, headers: &HeaderMap) -> Result<Option<BrowserSession>, StoreError> {
    let idle = state.config.oidc.session_idle();
    match session_token(headers) {
        Some(token) => state.store.sessions().in_use(&digest(token), idle).await,
        None => Ok(None),
    }
}

/// Revokes what a browser session that ended gave: its refresh tokens, and
/// the access tokens of its grants (see [`si_store::grants::RevokedGrants`]),
/// so that introspection and `/userinfo` no longer honour them.
pub async fn revoke_tokens_of(
    state: &AppState,
    repositories: &impl Repositories,
    session_digest: &str,
) -> Result<(), StoreError> {
    let revoked = repositories.grants().revoke_session(session_digest).await?;
    tokens::revoke_access_tokens(state, repositories, &revoked).await
}

/// After a password change or reset: revokes what the sessions it `ended`
/// gave (a website that gets no refresh token holds only those access
/// tokens), then every refresh token of the account and the access tokens
/// given with them.
pub async fn revoke_tokens_of_account(
    state: &AppState,
    repositories: &impl Repositories,
    account: &AccountId,
    ended: &[EndedSession],
) -> Result<(), StoreError> {
    for session in ended {
        revoke_tokens_of(state, repositories, &session.digest).await?;
    }
    let revoked = repositories.grants().revoke_account(account).await?;
    tokens::revoke_access_tokens(state, repositories, &revoked).await
}

/// The session a login or a logout in this browser acts on: found also by
/// the token its last renewal replaced, however long it was left alone and
/// after its end (a login renews it, a logout ends it: neither may leave it
/// behind for its clients' tokens to outlive).
pub async fn to_log_in_or_out(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<BrowserSession>, StoreError> {
    match session_token(headers) {
        Some(token) => state.store.sessions().find(&digest(token)).await,
        None => Ok(None),
    }
}

fn session_token(headers: &HeaderMap) -> Option<&str> {
    cookies::value(headers, SESSION_COOKIE).filter(|token| token.len() == 43)
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
    Ok((session, session_cookie(token.expose())))
}

/// A login in a browser that has a session already. The same member's
/// session goes on, from this login (a new one would leave the clients of
/// the old one out of the next logout), under a new token; another member's
/// session is ended first, as a logout would, and a new one starts. The
/// `Set-Cookie` value comes with every new token: a token known before the
/// login (one planted in the browser, one seen over its shoulder) gives no
/// access after. None when another login sent beside this one renewed the
/// session first: its answer carries the cookie. A session found by the
/// token its last renewal replaced goes on too, under yet another token
/// (the browser may never have had the one in between), or ends when it is
/// another member's, as a logout with that token would end it.
pub async fn start_or_renew(
    state: &AppState,
    repositories: &impl Repositories,
    account: &AccountId,
    earlier: Option<BrowserSession>,
) -> Result<
    (
        BrowserSession,
        Option<HeaderValue>,
        Option<(AccountId, EndedSession)>,
    ),
    StartError,
> {
    if let Some(same) = earlier.as_ref().filter(|earlier| earlier.account == *account) {
        match renew(state, repositories, same).await? {
            (Renewal::NewToken(renewed), cookie) => return Ok((renewed, cookie, None)),
            (Renewal::TokenOfAnotherLogin(renewed), _) => return Ok((renewed, None, None)),
            // Ended since it was looked up (a logout in another tab): a new one.
            (Renewal::Ended, _) => {
                let (session, cookie) = start(state, repositories, account).await?;
                return Ok((session, Some(cookie), None));
            }
        }
    }
    let ended = match earlier {
        Some(earlier) => {
            let clients = repositories.sessions().end(&earlier.digest).await?;
            revoke_tokens_of(state, repositories, &earlier.digest).await?;
            let ended = EndedSession {
                digest: earlier.digest,
                clients,
            };
            Some((earlier.account, ended))
        }
        None => None,
    };
    let (session, cookie) = start(state, repositories, account).await?;
    Ok((session, Some(cookie), ended))
}

/// The member typed the password again in `same` (a login, a password
/// change): it goes on from now under a new token, with the `Set-Cookie`
/// value that carries it when [`Renewal::NewToken`]. A token learnt before
/// gives no access after.
pub async fn renew(
    state: &AppState,
    repositories: &impl Repositories,
    same: &BrowserSession,
) -> Result<(Renewal, Option<HeaderValue>), StartError> {
    let lifetime = time::Duration::hours(i64::from(state.config.oidc.session_hours));
    let token = SecretToken::generate().map_err(|_| StartError::Randomness)?;
    let renewal = repositories
        .sessions()
        .reauthenticated(same, &token.digest(), state.clock().now() + lifetime)
        .await?;
    let cookie = matches!(renewal, Renewal::NewToken(_)).then(|| session_cookie(token.expose()));
    Ok((renewal, cookie))
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clear() -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"
    ))
    .expect("cookie made of safe characters")
}

/// No `Max-Age`: the cookie ends when the browser closes, as on a library's
/// public computer at the end of a turn. The session's own end is kept here.
fn session_cookie(token: &str) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax"
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
