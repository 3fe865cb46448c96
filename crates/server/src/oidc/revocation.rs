//! Token revocation (RFC 7009) and introspection (RFC 7662). Both need client
//! authentication; a client may revoke or inspect only its own refresh
//! tokens, while any confidential client (a resource server) may ask about
//! an access token. A public client proves nothing by its id, so it may
//! revoke its own tokens but not introspect.

use axum::{
    Json,
    extract::State,
    http::{HeaderMap, HeaderValue, header},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::{Value, json};
use si_credentials::secrets::digest;
use si_domain::{AccountId, AccountStatus};
use si_store::{
    Repositories, StoreError,
    accounts::Account,
    grants::{RefreshGrant, RevokedGrants},
};

use super::{
    clients::{Client, ClientKind},
    token::{OAuthError, OAuthForm, authenticate},
    tokens::{self, AccessClaims},
};
use crate::app::AppState;

#[derive(Debug, Default, Deserialize)]
pub struct TokenForm {
    token: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// The calling client, authenticated, and the token it asks about.
async fn authenticated<'f>(
    state: &AppState,
    headers: &HeaderMap,
    form: &'f TokenForm,
) -> Result<(Client, &'f str), OAuthError> {
    let client = authenticate(
        state,
        headers,
        form.client_id.as_deref(),
        form.client_secret.as_deref(),
    )
    .await?;
    let token = form
        .token
        .as_deref()
        .ok_or(OAuthError::new("invalid_request", "token is missing"))?;
    Ok((client, token))
}

/// Refresh tokens are `{family}.{secret}` (one dot); access tokens are JWTs (two).
fn looks_like_jwt(token: &str) -> bool {
    token.matches('.').count() == 2
}

pub async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    OAuthForm(form): OAuthForm<TokenForm>,
) -> Result<Response, OAuthError> {
    let (client, token) = authenticated(&state, &headers, &form).await?;
    if looks_like_jwt(token) {
        if let Some(claims) = own_access_token(&state, token).await {
            if claims.client_id != client.id().as_str() {
                return Err(issued_to_another_client());
            }
            let expires =
                time::OffsetDateTime::from_unix_timestamp(claims.exp).unwrap_or(state.clock().now());
            tokens::revoke_access_token(&state.store, &claims.jti, expires).await?;
        }
    } else if let Some(family) = tokens::refresh_family(&state.keyring, token) {
        // Any token of the family ends it, the current one or an older one:
        // a client that revokes at logout while it refreshes elsewhere sends
        // the one it had. RFC 7009 §2.1: the access tokens of the grant go
        // too, every one the code and the family's refresh tokens gave.
        let txn = state.store.begin().await?;
        match txn.grants().revoke_family(family, client.id().as_str()).await? {
            Some(family) => {
                tokens::revoke_access_tokens(&state, &txn, &RevokedGrants::of_family(family)).await?
            }
            None => {
                if txn
                    .grants()
                    .family_client(family)
                    .await?
                    .is_some_and(|owner| owner != client.id().as_str())
                {
                    return Err(issued_to_another_client());
                }
            }
        }
        txn.commit().await?;
    }
    // RFC 7009 §2.2: an invalid, expired or revoked token gets the answer
    // of one revoked now.
    Ok(no_store(Json(json!({})).into_response()))
}

/// RFC 7009 §2.1: a client may revoke only its own tokens, and is told so
/// when it sends another's (which it should not hold). Nothing is revoked.
fn issued_to_another_client() -> OAuthError {
    OAuthError::new("unauthorized_client", "this token was issued to another client")
}

pub async fn introspect(
    State(state): State<AppState>,
    headers: HeaderMap,
    OAuthForm(form): OAuthForm<TokenForm>,
) -> Result<Response, OAuthError> {
    let (client, token) = authenticated(&state, &headers, &form).await?;
    if client.kind() == ClientKind::Public {
        return Err(OAuthError::invalid_client());
    }
    let inactive = json!({ "active": false });
    let answer: Value = if looks_like_jwt(token) {
        match own_access_token(&state, token).await {
            // Active as `/userinfo` and the desk API take it: unrevoked (a
            // database that cannot say gets 503, not "inactive"), issued to
            // the client as it is registered now, of a member whose account
            // is active.
            Some(claims)
                if !tokens::is_access_token_revoked(&state.store, &claims.jti).await?
                    && tokens::issuing_client(&state, &claims).await.is_some()
                    && subject_is_active(&state, &claims.sub).await? =>
            {
                json!({
                "active": true,
                "token_type": "Bearer",
                "scope": claims.scope,
                "client_id": claims.client_id,
                "sub": claims.sub,
                "iss": claims.iss,
                "aud": claims.aud,
                "exp": claims.exp,
                "iat": claims.iat,
                "jti": claims.jti,
                })
            }
            _ => inactive,
        }
    } else {
        match current_refresh(&state, token).await? {
            Some((grant, account))
                if grant.client_id == client.id().as_str() && account.status == AccountStatus::Active =>
            {
                json!({
                    "active": true,
                    "scope": grant.scope,
                    "client_id": grant.client_id,
                    "sub": grant.account.to_string(),
                    "iss": state.public_url.to_string(),
                    "exp": grant
                        .expires_at
                        .min(grant.auth_time + state.config.oidc.refresh_login_lifetime())
                        .unix_timestamp(),
                })
            }
            _ => inactive,
        }
    };
    Ok(no_store(Json(answer).into_response()))
}

/// The refresh grant whose current, unexpired token this is.
async fn current_refresh(
    state: &AppState,
    token: &str,
) -> Result<Option<(RefreshGrant, Account)>, StoreError> {
    match tokens::refresh_family(&state.keyring, token) {
        Some(family) => {
            let lifetime = state.config.oidc.refresh_login_lifetime();
            state
                .store
                .grants()
                .current_refresh(family, &digest(token), lifetime)
                .await
        }
        None => Ok(None),
    }
}

/// Whether an access token's subject may still use it: a member's account
/// that is active (a blocked one is refused at `/userinfo` and `/token`
/// too), or a client itself (`client_credentials`).
async fn subject_is_active(state: &AppState, sub: &str) -> Result<bool, StoreError> {
    match AccountId::parse(sub) {
        Ok(account) => tokens::is_account_active(&state.store, &account).await,
        Err(_) => Ok(true),
    }
}

/// The claims of an access token this provider signed and that has not expired.
async fn own_access_token(state: &AppState, token: &str) -> Option<AccessClaims> {
    let issuer = state.public_url.to_string();
    state
        .keyring
        .verify_access_token::<AccessClaims>(token, Some(&[issuer.as_str()]), &issuer)
        .await
        .ok()
}

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
