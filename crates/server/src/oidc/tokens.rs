//! What tokens say: the access token (a JWT, RFC 9068), the ID token, and the
//! claims about a member that scopes unlock, shared with `/userinfo`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use si_credentials::secrets::{SecretToken, digest};
use si_domain::{AccountId, AccountStatus};
use si_store::{
    Repositories, StoreError,
    accounts::Account,
    grants::{RefreshGrant, RevokedGrants},
};
use time::OffsetDateTime;

use super::{
    clients::{Client, GrantType},
    keys::{KeyError, Keyring, SigningAlgorithm},
    token::revoked_until,
};
use crate::app::AppState;

/// Access tokens are signed with ES256: far cheaper than RS256 at the rates
/// the token endpoint must sustain, and what every JOSE library verifies.
pub const ACCESS_TOKEN_ALGORITHM: SigningAlgorithm = SigningAlgorithm::Es256;
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";
/// The `typ` of ID tokens, which OIDC Core leaves to the JWT default.
pub const ID_TOKEN_TYPE: &str = "JWT";

/// The claims of our access tokens.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    /// The member's account id, or the client's id for `client_credentials`.
    pub sub: String,
    pub aud: String,
    pub client_id: String,
    pub scope: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    /// When the client was registered (Unix milliseconds): which of the
    /// registrations of its id the token was issued to. Absent from the
    /// tokens of versions before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_registered_at: Option<i64>,
}

impl AccessClaims {
    pub fn has_scope(&self, wanted: &str) -> bool {
        self.scope.split_whitespace().any(|scope| scope == wanted)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u32,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error(transparent)]
    Keys(#[from] KeyError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the operating system's random generator failed")]
    Randomness,
}

/// Everything a member's tokens are about.
pub struct MemberGrant<'a> {
    pub client: &'a Client,
    pub account: &'a Account,
    pub scope: &'a str,
    pub auth_time: OffsetDateTime,
    pub nonce: Option<&'a str>,
    pub session_digest: Option<&'a str>,
    /// The code this grant came from, when it did: a replay revokes by it.
    pub code_digest: Option<&'a str>,
    /// The successor of a rotation, which stores it once these tokens are
    /// signed; or none to start a new family (when the client may refresh).
    pub rotated_to: Option<&'a str>,
    /// The access token id to use (derived from the code on first issue).
    pub jti: String,
}

/// The grant an authorization code began: the first part of the id of
/// every access token the code and its refresh tokens give, so that ending
/// the grant ends all of them.
fn grant_id(code_digest: &str) -> String {
    digest(&format!("grant-of:{code_digest}"))[..GRANT_ID_LENGTH].to_owned()
}
const GRANT_ID_LENGTH: usize = 24;

/// The id of the access token a code is exchanged for: its grant's and
/// its own, derived from the code (`{grant}.{own}`); stored nowhere.
pub fn jti_for_code(code_digest: &str) -> String {
    format!("{}.{}", grant_id(code_digest), own_id_for_code(code_digest))
}

/// The id of the access token a refresh gives: its grant's and its own,
/// derived from the new refresh token, so that a reuse found later can
/// name the access token that went with the family's newest refresh token.
/// Every family begins with a code; one without (none is made so) gives
/// ids of its own part alone.
pub fn jti_for_refresh(code_digest: Option<&str>, refresh_digest: &str) -> String {
    let own = own_id_for_refresh(refresh_digest);
    match code_digest {
        Some(code) => format!("{}.{own}", grant_id(code)),
        None => own,
    }
}

/// The own part of the id of a code's access token: the whole id the
/// versions before grant ids gave it.
fn own_id_for_code(code_digest: &str) -> String {
    digest(&format!("access-token-of:{code_digest}"))[..32].to_owned()
}

fn own_id_for_refresh(refresh_digest: &str) -> String {
    digest(&format!("access-token-with:{refresh_digest}"))[..32].to_owned()
}

/// An access token's id in its parts: its grant's, when it has one, and its own.
fn id_parts(jti: &str) -> (Option<&str>, &str) {
    match jti.split_once('.') {
        Some((grant, own)) => (Some(grant), own),
        None => (None, jti),
    }
}

/// Revokes one access token, by its own id, until it has expired.
pub async fn revoke_access_token(
    repositories: &impl Repositories,
    jti: &str,
    expires_at: OffsetDateTime,
) -> Result<(), StoreError> {
    let (_, own) = id_parts(jti);
    repositories.grants().revoke_access_token(own, expires_at).await
}

/// Whether the account may use what it was given (a session, a token): it
/// is there and active. A blocked account gets nothing until it is active
/// again.
pub async fn is_account_active(
    repositories: &impl Repositories,
    account: &AccountId,
) -> Result<bool, StoreError> {
    let account = repositories.accounts().by_id(account).await?;
    Ok(account.is_some_and(|account| account.status == AccountStatus::Active))
}

/// Whether an access token was revoked: by its own id, by its grant's, or
/// (revoked by a node of the version before grant ids) by the whole id.
pub async fn is_access_token_revoked(
    repositories: &impl Repositories,
    jti: &str,
) -> Result<bool, StoreError> {
    repositories
        .grants()
        .is_any_access_token_revoked(&ids_revoking(jti))
        .await
}

/// The ids any of which, revoked, ends the access token `jti`.
fn ids_revoking(jti: &str) -> Vec<&str> {
    match id_parts(jti) {
        (Some(grant), own) => vec![jti, grant, own],
        (None, _) => vec![jti],
    }
}

/// Revokes the access tokens of the grants `revoked` names, until every
/// one of them, issued by now, has expired: every token of a grant that
/// began with a code, and the one given with a family's newest refresh
/// token. A code's own id goes too, for the tokens that nodes of the
/// version before grant ids issued while old and new ran side by side.
pub async fn revoke_access_tokens(
    state: &AppState,
    repositories: &impl Repositories,
    revoked: &RevokedGrants,
) -> Result<(), StoreError> {
    let until = revoked_until(state, state.clock().now());
    for id in ids_revoked_with(revoked) {
        repositories.grants().revoke_access_token(&id, until).await?;
    }
    Ok(())
}

/// The ids [`revoke_access_tokens`] puts on the list for `revoked`.
fn ids_revoked_with(revoked: &RevokedGrants) -> Vec<String> {
    let newest = revoked
        .newest_refresh_digests
        .iter()
        .map(|refresh| own_id_for_refresh(refresh));
    let of_codes = revoked
        .code_digests
        .iter()
        .flat_map(|code| [grant_id(code), own_id_for_code(code)]);
    newest.chain(of_codes).collect()
}

pub fn random_jti() -> Result<String, TokenError> {
    let token = SecretToken::generate().map_err(|_| TokenError::Randomness)?;
    Ok(token.digest()[..32].to_owned())
}

/// A member's tokens, signed and ready, with the refresh token still to be
/// stored: the caller writes it in the transaction that spends the old grant,
/// so that only that write, not the reads and the signing, holds the writer.
pub struct Issued {
    pub response: TokenResponse,
    pub refresh: Option<RefreshGrant>,
}

impl Issued {
    /// Starts the refresh token family (if any) and gives the answer.
    pub async fn start_family(self, repositories: &impl Repositories) -> Result<TokenResponse, StoreError> {
        if let Some(refresh) = &self.refresh {
            repositories.grants().start_family(refresh).await?;
        }
        Ok(self.response)
    }
}

/// A new token of a refresh family, `{family}.{secret}~{tag}`, and its
/// digest (all that is stored).
pub struct NewRefreshToken {
    pub token: String,
    pub digest: String,
}

impl NewRefreshToken {
    pub fn of_family(family: &str, keyring: &Keyring) -> Result<Self, TokenError> {
        let secret = SecretToken::generate().map_err(|_| TokenError::Randomness)?;
        let token = keyring.tag_refresh_token(&format!("{family}.{}", secret.expose()));
        Ok(Self {
            digest: digest(&token),
            token,
        })
    }
}

/// The family of a refresh token this provider issued: a presented token
/// names the one row to look at. A token it never issued names none, so it
/// cannot pass for an old token of a family and end that family.
pub fn refresh_family<'a>(keyring: &Keyring, token: &'a str) -> Option<&'a str> {
    let body = keyring.issued_refresh_body(token)?;
    body.split_once('.').map(|(family, _)| family)
}

/// Signs the access token, the ID token (scope `openid`) and makes a refresh
/// token (when the client may refresh) for a member. Reads the claims through
/// `repositories`; writes nothing.
pub async fn for_member(
    state: &AppState,
    repositories: &impl Repositories,
    grant: MemberGrant<'_>,
) -> Result<Issued, TokenError> {
    let now = state.clock().now();
    let oidc = &state.config.oidc;
    let issuer = state.public_url.to_string();
    let access = AccessClaims {
        iss: issuer.clone(),
        sub: grant.account.id.to_string(),
        aud: issuer.clone(),
        client_id: grant.client.id().to_string(),
        scope: grant.scope.to_owned(),
        iat: now.unix_timestamp(),
        exp: now.unix_timestamp() + i64::from(oidc.access_token_seconds),
        jti: grant.jti,
        auth_time: Some(grant.auth_time.unix_timestamp()),
        client_registered_at: Some(registered_at(grant.client)),
    };
    let access_token = state
        .keyring
        .sign(ACCESS_TOKEN_ALGORITHM, ACCESS_TOKEN_TYPE, &access)?;

    let id_token = if grant.scope.split_whitespace().any(|s| s == "openid") {
        let mut claims = member_claims(repositories, grant.account, grant.scope, grant.client).await?;
        claims.insert("iss".into(), json!(issuer));
        claims.insert("aud".into(), json!(grant.client.id().as_str()));
        claims.insert("iat".into(), json!(now.unix_timestamp()));
        claims.insert(
            "exp".into(),
            json!(now.unix_timestamp() + i64::from(oidc.id_token_seconds)),
        );
        claims.insert("auth_time".into(), json!(grant.auth_time.unix_timestamp()));
        if let Some(nonce) = grant.nonce {
            claims.insert("nonce".into(), json!(nonce));
        }
        if let Some(session) = grant.session_digest {
            claims.insert("sid".into(), json!(session_id(session)));
        }
        let algorithm = grant
            .client
            .id_token_algorithm()
            .as_str()
            .parse()
            .unwrap_or(SigningAlgorithm::Rs256);
        Some(
            state
                .keyring
                .sign(algorithm, ID_TOKEN_TYPE, &Value::Object(claims))?,
        )
    } else {
        None
    };

    // A login older than the refresh tokens may live (a session kept past
    // it through single sign-on) gets none.
    let login_ends = grant.auth_time + oidc.refresh_login_lifetime();
    let may_refresh = grant.client.grant_types().contains(&GrantType::RefreshToken) && login_ends > now;
    let (refresh_token, refresh) = if let Some(successor) = grant.rotated_to {
        (Some(successor.to_owned()), None)
    } else if may_refresh {
        let family = random_jti()?;
        let token = NewRefreshToken::of_family(&family, &state.keyring)?;
        let refresh = RefreshGrant {
            token_digest: token.digest,
            family_id: family,
            client_id: grant.client.id().to_string(),
            account: grant.account.id,
            session_digest: grant.session_digest.map(str::to_owned),
            code_digest: grant.code_digest.map(str::to_owned),
            scope: grant.scope.to_owned(),
            auth_time: grant.auth_time,
            expires_at: (now + oidc.refresh_token_lifetime()).min(login_ends),
        };
        (Some(token.token), Some(refresh))
    } else {
        (None, None)
    };

    Ok(Issued {
        response: TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: oidc.access_token_seconds,
            scope: grant.scope.to_owned(),
            refresh_token,
            id_token,
        },
        refresh,
    })
}

/// The session id told to relying parties (`sid`): derived from the session's
/// digest, so it identifies the session without being able to open it.
pub fn session_id(session_digest: &str) -> String {
    digest(&format!("sid:{session_digest}"))[..32].to_owned()
}

/// The claims about a member that the granted scopes allow: `sub` always,
/// `preferred_username`; `email`, `email_verified` with `email` (when the
/// account has an address); `name` with
/// `profile`; `memberships` with `library` (only the client's own library's
/// when the client is bound to one).
pub async fn member_claims(
    repositories: &impl Repositories,
    account: &Account,
    scope: &str,
    client: &Client,
) -> Result<Map<String, Value>, StoreError> {
    let scopes: Vec<&str> = scope.split_whitespace().collect();
    let mut claims = Map::new();
    claims.insert("sub".into(), json!(account.id.to_string()));
    claims.insert("preferred_username".into(), json!(account.username.as_str()));
    // Without an address both are left out, not null (OIDC Core 5.3.2).
    if scopes.contains(&"email")
        && let Some(email) = &account.email
    {
        claims.insert("email".into(), json!(email.as_str()));
        claims.insert(
            "email_verified".into(),
            json!(account.email_verified_at.is_some()),
        );
    }
    let wants_memberships = scopes.contains(&"library");
    if scopes.contains(&"profile") || wants_memberships {
        let memberships = repositories.memberships().of_account(&account.id).await?;
        // A client bound to a library sees only what that library knows.
        let visible = || {
            memberships.iter().filter(|m| {
                client
                    .library()
                    .is_none_or(|own| own.code.as_str() == m.library_code)
            })
        };
        if scopes.contains(&"profile")
            && let Some(first) = visible().next()
        {
            claims.insert("name".into(), json!(first.member_name.as_str()));
        }
        if wants_memberships {
            let visible: Vec<Value> = visible()
                .map(|m| {
                    json!({
                        "library_code": m.library_code,
                        "library_name": m.library_name,
                        "card_number": m.card_number.as_str(),
                        "subscription_type": m.subscription_code,
                        "subscription_name": m.subscription_name,
                        "valid_until": m.valid_until.to_string(),
                    })
                })
                .collect();
            claims.insert("memberships".into(), Value::Array(visible));
        }
    }
    Ok(claims)
}

/// A registered client by id; unknown ids and unreadable rows alike are none.
pub async fn find_client(state: &AppState, id: &str) -> Option<Client> {
    state.clients.find(id).await
}

/// The client an access token was issued to, as registered now: none once
/// it is deleted, nor once it is created again (for a new secret, say): a
/// registration made anew inherits no token of the one before, not even one
/// a node still holding the old registration issued after the new one was
/// made. A token of a version before `client_registered_at` is told apart
/// by its `iat`, to the second. Either way it keeps no scope the client is
/// no longer registered for.
pub async fn issuing_client(state: &AppState, claims: &AccessClaims) -> Option<Client> {
    let held = find_client(state, &claims.client_id).await?;
    // Created again since this node read it (another node issued the
    // token): read anew, rather than refuse the new registration's tokens.
    let client = match claims.client_registered_at {
        Some(at) if at > registered_at(&held) => state.clients.find_anew(&claims.client_id).await?,
        _ => held,
    };
    let same_registration = match claims.client_registered_at {
        Some(at) => at == registered_at(&client),
        None => client.created_at().unix_timestamp() <= claims.iat,
    };
    (same_registration && client.allows_scopes(claims.scope.split_whitespace())).then_some(client)
}

/// [`AccessClaims::client_registered_at`] of `client`'s tokens.
pub fn registered_at(client: &Client) -> i64 {
    i64::try_from(client.created_at().unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether revoking `revoked` ends the access token `jti`.
    fn ends(revoked: &RevokedGrants, jti: &str) -> bool {
        let listed = ids_revoked_with(revoked);
        ids_revoking(jti)
            .iter()
            .any(|id| listed.iter().any(|listed| listed == id))
    }

    #[test]
    fn ending_a_grant_ends_each_of_its_access_tokens_and_no_others() {
        let code = digest("code-1");
        let (first, second) = (digest("refresh-1"), digest("refresh-2"));
        let given = [
            jti_for_code(&code),
            jti_for_refresh(Some(&code), &first),
            jti_for_refresh(Some(&code), &second),
        ];
        for jti in &given {
            assert!(jti.len() <= 64, "fits the revocation list's column: {jti}");
        }
        let ended = RevokedGrants {
            newest_refresh_digests: vec![second.clone()],
            code_digests: vec![code.clone()],
        };
        assert!(given.iter().all(|jti| ends(&ended, jti)));
        // As the version before grant ids named a code's and a refresh's
        // tokens, issued by an old node while old and new ran side by side.
        assert!(ends(&ended, &own_id_for_code(&code)));
        assert!(ends(&ended, &own_id_for_refresh(&second)));

        let other_code = digest("code-2");
        let other_login = [
            jti_for_code(&other_code),
            jti_for_refresh(Some(&other_code), &digest("refresh-3")),
        ];
        assert!(!other_login.iter().any(|jti| ends(&ended, jti)));
    }

    #[test]
    fn revoking_one_access_token_names_it_alone() {
        let code = digest("code-1");
        let one = jti_for_refresh(Some(&code), &digest("refresh-1"));
        let sibling = jti_for_refresh(Some(&code), &digest("refresh-2"));
        let (_, own) = id_parts(&one);
        assert!(ids_revoking(&one).contains(&own));
        assert!(!ids_revoking(&sibling).contains(&own));
        assert!(!ids_revoking(&jti_for_code(&code)).contains(&own));
        // An old node revoking a new token puts its whole id on the list.
        assert!(ids_revoking(&one).contains(&one.as_str()));
    }
}
