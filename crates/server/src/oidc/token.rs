//! The token endpoint: authorization codes (with PKCE), rotating refresh
//! tokens, and `client_credentials` for library systems. Clients authenticate
//! with HTTP Basic or with the secret in the form; public clients send only
//! their id. Errors are RFC 6749 §5.2 JSON.

use axum::{
    Json,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use base64::{
    Engine,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use si_credentials::secrets::digest;
use si_domain::AccountStatus;
use si_store::{
    Repositories,
    accounts::Account,
    grants::{CodeGrant, Redemption, RefreshGrant, RefreshUse, Rotation},
};

use super::{
    clients::{Client, ClientAuthError, Scope, log_failed_authentication},
    tokens::{self, AccessClaims, MemberGrant, NewRefreshToken, TokenError, TokenResponse},
};
use crate::app::AppState;

#[derive(Debug, Default, Deserialize)]
pub struct TokenRequest {
    grant_type: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
    scope: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// An OAuth error answer.
#[derive(Debug)]
pub struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: &'static str,
}

impl OAuthError {
    pub fn new(error: &'static str, description: &'static str) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error,
            description,
        }
    }

    pub(crate) fn invalid_client() -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_client",
            description: "client authentication failed",
        }
    }

    /// A method the endpoint does not take: said in JSON, as its other
    /// answers are, not on a page (the `Allow` header lists those it takes).
    pub(crate) fn method_not_allowed() -> Self {
        Self {
            status: StatusCode::METHOD_NOT_ALLOWED,
            error: "invalid_request",
            description: "this endpoint does not take this HTTP method",
        }
    }

    fn server(err: &dyn std::fmt::Display) -> Self {
        tracing::error!("token endpoint: {err}");
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            error: "server_error",
            description: "try again later",
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(json!({ "error": self.error, "error_description": self.description })),
        )
            .into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        // Every 401 says how to authenticate (RFC 9110 §15.5.2), also to a
        // client that sent its secret in the form or no credentials at all.
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"token\""),
            );
        }
        response
    }
}

/// A form body whose errors are OAuth errors (RFC 6749 §5.2 JSON), not the
/// framework's plain-text rejections.
pub struct OAuthForm<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequest<S> for OAuthForm<T> {
    type Rejection = OAuthError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        if !crate::http::is_form(request.headers()) {
            return Err(OAuthError::new(
                "invalid_request",
                "send the parameters as application/x-www-form-urlencoded",
            ));
        }
        let body =
            axum::body::Bytes::from_request(request, state)
                .await
                .map_err(|rejection| match rejection.status() {
                    StatusCode::PAYLOAD_TOO_LARGE => OAuthError {
                        status: StatusCode::PAYLOAD_TOO_LARGE,
                        ..OAuthError::new("invalid_request", crate::http::BODY_LIMIT_EXCEEDED)
                    },
                    _ => OAuthError::new("invalid_request", "the request body could not be read"),
                })?;
        let malformed = || OAuthError::new("invalid_request", "the form parameters are malformed");
        // RFC 6749 §3.2: a parameter sent without a value counts as omitted.
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).map_err(|_| malformed())?;
        let given: Vec<_> = pairs.into_iter().filter(|(_, value)| !value.is_empty()).collect();
        let given = serde_urlencoded::to_string(given).map_err(|_| malformed())?;
        serde_urlencoded::from_str(&given)
            .map(OAuthForm)
            .map_err(|_| malformed())
    }
}

impl From<TokenError> for OAuthError {
    fn from(err: TokenError) -> Self {
        match err {
            TokenError::Store(store) => store.into(),
            other => OAuthError::server(&other),
        }
    }
}

impl From<si_store::StoreError> for OAuthError {
    fn from(err: si_store::StoreError) -> Self {
        if !err.is_unavailable() {
            return OAuthError::server(&err);
        }
        // A database that is down or failing over: the same request may
        // well succeed a little later, which a 401 or 500 would not say.
        tracing::warn!("token endpoint: {err}");
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            error: "temporarily_unavailable",
            description: "try again in a minute",
        }
    }
}

pub async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    OAuthForm(request): OAuthForm<TokenRequest>,
) -> Result<Response, OAuthError> {
    let client = authenticate(
        &state,
        &headers,
        request.client_id.as_deref(),
        request.client_secret.as_deref(),
    )
    .await?;
    // RFC 6749 3.1: a parameter sent without a value is as one left out.
    let Some(grant_type) = request.grant_type.as_deref() else {
        return Err(OAuthError::new("invalid_request", "grant_type is missing"));
    };
    if !client
        .grant_types()
        .iter()
        .any(|allowed| allowed.as_str() == grant_type)
    {
        return Err(match grant_type {
            "authorization_code" | "refresh_token" | "client_credentials" => {
                OAuthError::new("unauthorized_client", "this client may not use this grant type")
            }
            _ => OAuthError::new(
                "unsupported_grant_type",
                "use authorization_code, refresh_token or client_credentials",
            ),
        });
    }
    let answer = match grant_type {
        "authorization_code" => authorization_code(&state, &client, &request).await?,
        "refresh_token" => refresh(&state, &client, &request).await?,
        _ => client_credentials(&state, &client, &request)?,
    };
    let mut response = Json(answer).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// Basic credentials (RFC 6749 §2.3.1: form-encoded, then base64) or the
/// form's `client_id`/`client_secret`; never both. Every failure is logged.
pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    form_id: Option<&str>,
    form_secret: Option<&str>,
) -> Result<Client, OAuthError> {
    let (id, secret) = match presented_credentials(headers, form_id, form_secret) {
        Ok(credentials) => credentials,
        Err(refusal) => {
            if refusal.status == StatusCode::UNAUTHORIZED {
                log_failed_authentication("unknown");
            }
            return Err(refusal);
        }
    };
    state
        .clients
        .authenticate(&id, secret.as_deref())
        .await
        .map_err(|err| match err {
            ClientAuthError::Failed => OAuthError::invalid_client(),
            ClientAuthError::Store(err) => err.into(),
        })
}

/// The client id and secret as the request presents them, not yet checked.
fn presented_credentials(
    headers: &HeaderMap,
    form_id: Option<&str>,
    form_secret: Option<&str>,
) -> Result<(String, Option<String>), OAuthError> {
    // Two headers would be two authentications, one of them left unread.
    if headers.get_all(header::AUTHORIZATION).iter().nth(1).is_some() {
        return Err(OAuthError::new(
            "invalid_request",
            "send one Authorization header",
        ));
    }
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| auth_scheme_value(value, "Basic"));
    let (id, secret) = match basic {
        Some(encoded) => {
            if form_secret.is_some() {
                return Err(OAuthError::new(
                    "invalid_request",
                    "use one client authentication method",
                ));
            }
            let decoded = STANDARD
                .decode(encoded.trim())
                .map_err(|_| OAuthError::invalid_client())?;
            let decoded = String::from_utf8(decoded).map_err(|_| OAuthError::invalid_client())?;
            let (id, secret) = decoded.split_once(':').ok_or(OAuthError::invalid_client())?;
            let id: String = form_decode(id).ok_or(OAuthError::invalid_client())?;
            let secret: String = form_decode(secret).ok_or(OAuthError::invalid_client())?;
            if form_id.is_some_and(|given| given != id) {
                return Err(OAuthError::invalid_client());
            }
            // An empty password is none: some libraries name a public
            // client this way, and no confidential client has it as secret.
            (id, Some(secret).filter(|secret| !secret.is_empty()))
        }
        None => {
            let id = form_id.ok_or(OAuthError::invalid_client())?.to_owned();
            (id, form_secret.map(str::to_owned))
        }
    };
    Ok((id, secret))
}

/// The credentials after an `Authorization` scheme, whose name is
/// case-insensitive (RFC 9110 11.1).
pub(crate) fn auth_scheme_value<'h>(header: &'h str, scheme: &str) -> Option<&'h str> {
    let (name, value) = header.split_once(' ')?;
    name.eq_ignore_ascii_case(scheme).then_some(value)
}

fn form_decode(text: &str) -> Option<String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={text}"))
        .ok()?
        .pop()
        .map(|(_, value)| value)
}

async fn authorization_code(
    state: &AppState,
    client: &Client,
    request: &TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    let code = request
        .code
        .as_deref()
        .ok_or(OAuthError::new("invalid_request", "code is missing"))?;
    // Every authorization request carries one, so every token request must
    // (RFC 6749 §4.1.3); without it the code is not spent.
    if request.redirect_uri.is_none() {
        return Err(OAuthError::new("invalid_request", "redirect_uri is missing"));
    }
    let code_digest = digest(code);
    // Spending the code, or revoking after a replay, and issuing the refresh
    // token commit together. A code that fails a later check stays spent.
    let txn = state.store.begin().await?;
    let grants = txn.grants();
    let grant = match grants.redeem_code(&code_digest, client.id().as_str()).await? {
        Redemption::Redeemed(grant) => grant,
        Redemption::Replayed(grant) => {
            // RFC 9700 §4.2.4: a code used twice was stolen; take back what
            // it gave. Unless this use fails the code's checks: a thief
            // without the PKCE verifier got nothing, and must not be able to
            // end the member's tokens by sending the code again.
            check_code_use(request, &grant)?;
            let revoked = grants.revoke_from_code(&code_digest).await?;
            tokens::revoke_access_tokens(state, &txn, &revoked).await?;
            txn.commit().await?;
            tracing::warn!(client = %client.id(), "authorization code used again: whatever its first use gave, if anything, is revoked");
            return Err(OAuthError::new(
                "invalid_grant",
                "the code was already used: its first token request spends it, also one that failed",
            ));
        }
        // Neither spent nor revoked: a public client's id is no secret, and
        // a code leaked in a log must not let anyone log the member out.
        Redemption::OtherClient => {
            return Err(OAuthError::new(
                "invalid_grant",
                "the code was issued to another client",
            ));
        }
        Redemption::Expired | Redemption::Unknown => {
            return Err(OAuthError::new("invalid_grant", "the code is unknown or expired"));
        }
    };
    if let Err(refusal) = check_code_use(request, &grant) {
        txn.commit().await?;
        return Err(refusal);
    }
    // A client's codes are deleted with it, but a node that still had the
    // deleted registration in its cache may have given out one more: it
    // gets no scope the registration made anew does not allow.
    if !client.allows_scopes(grant.scope.split_whitespace()) {
        txn.commit().await?;
        return Err(OAuthError::new(
            "invalid_grant",
            "the code asks for a scope this client is no longer registered for",
        ));
    }
    let account = active_account(&txn, &grant.account).await?;
    let answer = tokens::for_member(
        state,
        &txn,
        MemberGrant {
            client,
            account: &account,
            scope: &grant.scope,
            auth_time: grant.auth_time,
            nonce: grant.nonce.as_deref(),
            session_digest: Some(&grant.session_digest),
            code_digest: Some(&code_digest),
            rotated_to: None,
            jti: tokens::jti_for_code(&code_digest),
        },
    )
    .await?
    .start_family(&txn)
    .await?;
    txn.commit().await?;
    Ok(answer)
}

/// The code's redirect URI and PKCE challenge must both match (its client
/// matched when it was redeemed).
fn check_code_use(request: &TokenRequest, grant: &CodeGrant) -> Result<(), OAuthError> {
    if request.redirect_uri.as_deref() != Some(grant.redirect_uri.as_str()) {
        return Err(OAuthError::new(
            "invalid_grant",
            "redirect_uri differs from the authorization request",
        ));
    }
    match (&grant.code_challenge, request.code_verifier.as_deref()) {
        (Some(_), Some(verifier)) if !is_well_formed_verifier(verifier) => Err(OAuthError::new(
            "invalid_grant",
            "code_verifier is not 43 to 128 characters of A-Z, a-z, 0-9, '-', '.', '_' and '~' (RFC 7636 section 4.1)",
        )),
        (Some(challenge), Some(verifier)) if verifier_matches(verifier, challenge) => Ok(()),
        (Some(_), Some(_)) => Err(OAuthError::new("invalid_grant", "code_verifier does not match")),
        (Some(_), None) => Err(OAuthError::new(
            "invalid_grant",
            "a code_challenge was sent for this code: its code_verifier is required",
        )),
        // A verifier without a challenge is a downgrade attempt (RFC 9700 §4.8.2).
        (None, Some(_)) => Err(OAuthError::new(
            "invalid_grant",
            "no code_challenge was sent for this code",
        )),
        (None, None) => Ok(()),
    }
}

/// Tokens go only to accounts that may still log in.
/// Read through the request's transaction: a second connection from the pool
/// while one is held could wait forever when the pool is busy.
async fn active_account(
    repositories: &impl Repositories,
    id: &si_domain::AccountId,
) -> Result<Account, OAuthError> {
    repositories
        .accounts()
        .by_id(id)
        .await?
        .filter(|a| a.status == AccountStatus::Active)
        .ok_or_else(account_not_active)
}

fn account_not_active() -> OAuthError {
    OAuthError::new("invalid_grant", "the account is not active")
}

/// RFC 7636 §4.1: a verifier is 43–128 unreserved characters.
fn is_well_formed_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// RFC 7636 §4.6: BASE64URL(SHA256(verifier)) == challenge.
fn verifier_matches(verifier: &str, challenge: &str) -> bool {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) == challenge
}

async fn refresh(
    state: &AppState,
    client: &Client,
    request: &TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    let presented = request
        .refresh_token
        .as_deref()
        .ok_or(OAuthError::new("invalid_request", "refresh_token is missing"))?;
    let unknown = || OAuthError::new("invalid_grant", "the refresh token is unknown or expired");
    let family = tokens::refresh_family(&state.keyring, presented).ok_or_else(unknown)?;
    let presented_digest = digest(presented);
    let client_id = client.id().as_str();
    let login_lifetime = state.config.oidc.refresh_login_lifetime();
    // A narrower scope is checked against the grant before anything changes.
    // RFC 6749 6: without a scope (an empty one included) the grant's own.
    // Values this provider does not know are ignored, as at /authorize: a
    // client may send again the scope it asked for there.
    let mut asked: Vec<&str> = Vec::new();
    for scope in request.scope.as_deref().unwrap_or_default().split_whitespace() {
        if Scope::parse(scope).is_ok() && !asked.contains(&scope) {
            asked.push(scope);
        }
    }
    let narrowed = match asked.is_empty() {
        true => None,
        false => {
            let current = state
                .store
                .grants()
                .current_refresh(family, &presented_digest, login_lifetime)
                .await?
                .filter(|(grant, _)| grant.client_id == client_id);
            match current {
                Some((grant, _)) => Some(narrower_scope(&grant.scope, &asked)?),
                None => return Err(refused(state, client, family, &presented_digest).await?),
            }
        }
    };
    let successor = NewRefreshToken::of_family(family, &state.keyring)?;
    let rotation = Rotation {
        family_id: family,
        presented_digest: &presented_digest,
        client_id,
        successor_digest: &successor.digest,
        successor_expires_at: state.clock().now() + state.config.oidc.refresh_token_lifetime(),
        login_lifetime,
    };
    let sign = async |grant: &RefreshGrant, account: &Account| {
        let scope = narrowed.clone().unwrap_or_else(|| grant.scope.clone());
        let member = MemberGrant {
            client,
            account,
            scope: &scope,
            auth_time: grant.auth_time,
            nonce: None,
            session_digest: grant.session_digest.as_deref(),
            code_digest: grant.code_digest.as_deref(),
            rotated_to: Some(&successor.token),
            jti: tokens::jti_for_refresh(grant.code_digest.as_deref(), &successor.digest),
        };
        tokens::for_member(state, &state.store, member).await
    };
    match state.store.rotate_refresh(rotation, sign).await? {
        Some(issued) => Ok(issued.response),
        None => Err(refused(state, client, family, &presented_digest).await?),
    }
}

/// The scopes a refresh asked for, when the grant holds every one of them.
fn narrower_scope(granted: &str, asked: &[&str]) -> Result<String, OAuthError> {
    let granted: Vec<&str> = granted.split_whitespace().collect();
    if asked.iter().any(|s| !granted.contains(s)) {
        return Err(OAuthError::new(
            "invalid_scope",
            "a refresh cannot widen the scope",
        ));
    }
    Ok(asked.join(" "))
}

/// The error for a refresh token that could not be used (a reused one
/// revokes its family).
async fn refused(
    state: &AppState,
    client: &Client,
    family: &str,
    presented_digest: &str,
) -> Result<OAuthError, OAuthError> {
    let txn = state.store.begin().await?;
    let refused = txn
        .grants()
        .refuse_refresh(
            family,
            presented_digest,
            client.id().as_str(),
            state.config.oidc.refresh_login_lifetime(),
        )
        .await?;
    if let RefreshUse::Reused { revoked } = &refused {
        tokens::revoke_access_tokens(state, &txn, revoked).await?;
    }
    txn.commit().await?;
    Ok(match refused {
        RefreshUse::Reused { .. } => {
            tracing::warn!(client = %client.id(), "refresh token reused: its family and its access tokens are revoked");
            OAuthError::new("invalid_grant", "the refresh token was already used")
        }
        RefreshUse::AccountNotActive => account_not_active(),
        RefreshUse::Revoked => OAuthError::new("invalid_grant", "the refresh token was revoked"),
        RefreshUse::Expired | RefreshUse::Unknown => {
            OAuthError::new("invalid_grant", "the refresh token is unknown or expired")
        }
    })
}

/// Until when a revoked access token, issued no later than `issued_by`,
/// stays on the revocation list: its lifetime, and ten minutes for the
/// clocks of those who check it.
pub(crate) fn revoked_until(state: &AppState, issued_by: time::OffsetDateTime) -> time::OffsetDateTime {
    issued_by + time::Duration::seconds(i64::from(state.config.oidc.access_token_seconds) + 600)
}

/// A library system acting for itself: an access token whose subject is the
/// client, with the scopes it asked for among those it may have.
fn client_credentials(
    state: &AppState,
    client: &Client,
    request: &TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    // RFC 6749 3.1: an empty scope is as one left out; each scope once.
    let asked: Vec<&str> = match request.scope.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(scope) => {
            let mut asked: Vec<&str> = Vec::new();
            for scope in scope.split_whitespace() {
                if !asked.contains(&scope) {
                    asked.push(scope);
                }
            }
            asked
        }
        None => client
            .scopes()
            .iter()
            .filter(|s| s.is_desk())
            .map(|s| s.as_str())
            .collect(),
    };
    if !client.allows_scopes(asked.iter().copied()) {
        return Err(OAuthError::new(
            "invalid_scope",
            "a requested scope is not allowed for this client",
        ));
    }
    let now = state.clock().now().unix_timestamp();
    let issuer = state.public_url.to_string();
    let claims = AccessClaims {
        iss: issuer.clone(),
        sub: client.id().to_string(),
        aud: issuer,
        client_id: client.id().to_string(),
        scope: asked.join(" "),
        iat: now,
        exp: now + i64::from(state.config.oidc.access_token_seconds),
        jti: tokens::random_jti()?,
        auth_time: None,
        client_registered_at: Some(tokens::registered_at(client)),
    };
    let access_token = state
        .keyring
        .sign(tokens::ACCESS_TOKEN_ALGORITHM, tokens::ACCESS_TOKEN_TYPE, &claims)
        .map_err(TokenError::from)?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: state.config.oidc.access_token_seconds,
        scope: claims.scope,
        refresh_token: None,
        id_token: None,
    })
}

#[cfg(test)]
mod tests {
    use super::{is_well_formed_verifier, verifier_matches};

    #[test]
    fn the_rfc_7636_example_verifier_matches_its_challenge() {
        // RFC 7636 Appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(verifier_matches(verifier, challenge));
        assert!(!verifier_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXl",
            challenge
        ));
        assert!(is_well_formed_verifier(verifier));
        let too_long = "a".repeat(129);
        for malformed in ["short", &format!("{verifier}+"), &too_long] {
            assert!(!is_well_formed_verifier(malformed), "{malformed}");
        }
    }
}
