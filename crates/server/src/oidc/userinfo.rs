//! `/userinfo` (OIDC Core 5.3): the member's claims for a valid access token.

use axum::{
    Json,
    body::Bytes,
    extract::{State, rejection::BytesRejection},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use si_domain::{AccountId, AccountStatus};
use si_store::Repositories;

use super::{
    clients::Client,
    token::auth_scheme_value,
    tokens::{self, AccessClaims},
};
use crate::app::AppState;

pub async fn userinfo(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let answer = async { answer(&state, bearer(&state, &headers).await?).await };
    answer.await.unwrap_or_else(IntoResponse::into_response)
}

/// A POST may carry the token in its form body instead (RFC 6750 §2.2), as
/// some relying-party libraries send it; in one place only. A body over
/// the limit is refused as such (413), one that cannot be read otherwise
/// as a bad request.
pub async fn userinfo_posted(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let answer = async {
        let body = body.map_err(|rejection| match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => BearerError(StatusCode::PAYLOAD_TOO_LARGE, "invalid_request"),
            _ => BearerError(StatusCode::BAD_REQUEST, "invalid_request"),
        })?;
        let in_body = match crate::http::is_form(&headers) {
            true => access_token_in(&body)?,
            false => None,
        };
        let verified = match in_body {
            Some(_) if headers.contains_key(header::AUTHORIZATION) => {
                return Err(BearerError(StatusCode::BAD_REQUEST, "invalid_request"));
            }
            Some(token) => verify(&state, &token).await?,
            None => bearer(&state, &headers).await?,
        };
        answer(&state, verified).await
    };
    answer.await.unwrap_or_else(IntoResponse::into_response)
}

/// The `access_token` of a form body: none, or one.
fn access_token_in(body: &[u8]) -> Result<Option<String>, BearerError> {
    let malformed = || BearerError(StatusCode::BAD_REQUEST, "invalid_request");
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).map_err(|_| malformed())?;
    let mut tokens = pairs.into_iter().filter(|(name, _)| name == "access_token");
    match (tokens.next(), tokens.next()) {
        (Some((_, token)), None) => Ok(Some(token)),
        (None, _) => Ok(None),
        (Some(_), Some(_)) => Err(malformed()),
    }
}

/// A Bearer error (RFC 6750 §3) in `WWW-Authenticate`.
pub struct BearerError(StatusCode, &'static str);

impl IntoResponse for BearerError {
    fn into_response(self) -> Response {
        let challenge = if self.1.is_empty() {
            "Bearer".to_owned()
        } else {
            format!("Bearer error=\"{}\"", self.1)
        };
        let mut response = self.0.into_response();
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

/// The claims of a valid, unrevoked access token from the request, and the
/// client it was issued to, as that is registered now.
pub async fn bearer(state: &AppState, headers: &HeaderMap) -> Result<(AccessClaims, Client), BearerError> {
    if headers.get_all(header::AUTHORIZATION).iter().nth(1).is_some() {
        return Err(BearerError(StatusCode::BAD_REQUEST, "invalid_request"));
    }
    // Bytes that are not text make a token that verifies as nothing: an
    // invalid token, not a request without one.
    let value = headers
        .get(header::AUTHORIZATION)
        .map(|value| String::from_utf8_lossy(value.as_bytes()));
    let token = value
        .as_deref()
        .and_then(|value| auth_scheme_value(value, "Bearer"))
        .ok_or(BearerError(StatusCode::UNAUTHORIZED, ""))?;
    verify(state, token).await
}

/// [`bearer`], with the client as the database holds it now, not as this
/// node's directory last read it: for a library system's token, which
/// writes members' data, so that a client deleted or registered anew (its
/// secret leaked) is refused on every node at once, not after the
/// directory's next look ([`super::clients::DELETIONS_CHECK_INTERVAL`]).
pub async fn bearer_of_current_client(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<(AccessClaims, Client), BearerError> {
    let (claims, held) = bearer(state, headers).await?;
    let current = state
        .clients
        .find_current(&claims.client_id)
        .await
        .map_err(|_| BearerError(StatusCode::SERVICE_UNAVAILABLE, ""))?;
    match current {
        Some(client)
            if tokens::registered_at(&client) == tokens::registered_at(&held)
                && client.allows_scopes(claims.scope.split_whitespace()) =>
        {
            Ok((claims, client))
        }
        _ => Err(BearerError(StatusCode::UNAUTHORIZED, "invalid_token")),
    }
}

async fn verify(state: &AppState, token: &str) -> Result<(AccessClaims, Client), BearerError> {
    let issuer = state.public_url.to_string();
    let claims: AccessClaims = state
        .keyring
        .verify_access_token(token.trim(), Some(&[issuer.as_str()]), &issuer)
        .await
        .map_err(|_| BearerError(StatusCode::UNAUTHORIZED, "invalid_token"))?;
    let revoked = tokens::is_access_token_revoked(&state.store, &claims.jti)
        .await
        .map_err(|_| BearerError(StatusCode::SERVICE_UNAVAILABLE, ""))?;
    let client = if revoked {
        None
    } else {
        tokens::issuing_client(state, &claims).await
    };
    client
        .map(|client| (claims, client))
        .ok_or(BearerError(StatusCode::UNAUTHORIZED, "invalid_token"))
}

async fn answer(state: &AppState, (claims, client): (AccessClaims, Client)) -> Result<Response, BearerError> {
    if !claims.has_scope("openid") {
        return Err(BearerError(StatusCode::FORBIDDEN, "insufficient_scope"));
    }
    let invalid = || BearerError(StatusCode::UNAUTHORIZED, "invalid_token");
    let account_id = AccountId::parse(&claims.sub).map_err(|_| invalid())?;
    let unavailable = |_| BearerError(StatusCode::SERVICE_UNAVAILABLE, "");
    let account = state
        .store
        .accounts()
        .by_id(&account_id)
        .await
        .map_err(unavailable)?
        .filter(|a| a.status == AccountStatus::Active)
        .ok_or_else(invalid)?;
    let member = tokens::member_claims(&state.store, &account, &claims.scope, &client)
        .await
        .map_err(unavailable)?;
    let mut response = Json(member).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
