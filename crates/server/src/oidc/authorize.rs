//! The authorization endpoint (authorization code flow with PKCE, RFC 6749,
//! OIDC Core, RFC 9700, RFC 9207). An unknown client or a redirect URI that
//! is not registered exactly gets a localized page, never a redirect; every
//! other error goes back to the client with `state` and `iss`.

use axum::{
    extract::{RawQuery, State, rejection::StringRejection},
    http::{HeaderMap, HeaderValue, header},
    response::{IntoResponse, Redirect, Response},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use si_credentials::secrets::SecretToken;
use si_domain::Username;
use si_store::{Repositories, grants::CodeGrant, sessions::BrowserSession};

use super::{
    carry_on,
    clients::{Client, ClientKind, GrantType, Scope},
    discovery::AUTHORIZATION_PATH,
    session, tokens,
};
use crate::{
    app::AppState,
    http::{
        error::{PageError, PageErrorKind},
        i18n::Language,
    },
};

/// Longest `state` we carry back, in bytes. Some frameworks keep their
/// own data in it, encrypted (ASP.NET Core's OpenID Connect handler:
/// hundreds of characters); bounded so that redirects stay well within
/// what browsers and proxies take.
pub(crate) const MAX_STATE: usize = 2048;

/// The longest `ui_locales` carried to the login page: a few tags.
const MAX_UI_LOCALES: usize = 256;

/// The longest request carried to the login page, encoded: its form holds
/// it encoded once more, and must stay well within the body limit.
const MAX_CARRIED: usize = 16 * 1024;

/// Longest `nonce` we keep, with the code, for the ID token.
const MAX_NONCE: usize = 512;

/// The parameters of an authorization request, as received.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub response_type: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub prompt: Option<String>,
    pub max_age: Option<String>,
    pub response_mode: Option<String>,
    /// An ID token of the member the client expects (OIDC Core 3.1.2.1).
    pub id_token_hint: Option<String>,
    /// The username the member will likely use: filled in on the login page.
    pub login_hint: Option<String>,
    /// Request objects (OIDC Core 6) are not supported: refused by name.
    pub request: Option<String>,
    pub request_uri: Option<String>,
    /// Client metadata in the request (OIDC Core 7.2.1) is not supported
    /// either: clients are registered by the operator.
    pub registration: Option<String>,
    /// The languages the relying party asks the pages in; carried to the
    /// login page, where [`Language`] reads it.
    pub ui_locales: Option<String>,
}

/// A request that passed every check.
#[derive(Debug, Clone)]
pub struct ValidRequest {
    pub client: Client,
    pub redirect_uri: String,
    pub scope: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt: Prompt,
    pub max_age: Option<i64>,
    /// The request as received, to carry through the login form.
    pub original: AuthorizationRequest,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prompt {
    Default,
    /// Never show a page: answer at once, with `login_required` if need be.
    None,
    /// Show the login page even when a session exists.
    Login,
}

impl Prompt {
    /// OIDC Core 3.1.2.1: a space-separated list; `none` only alone. A
    /// browser holds one account's session, so `select_account` shows the
    /// login page as `login` does: another member at a shared computer
    /// logs in there. The libraries' services are their own, without a
    /// consent screen, so `consent` asks for nothing more.
    fn parse(values: &str) -> Option<Self> {
        let values: Vec<&str> = values.split_whitespace().collect();
        if values
            .iter()
            .any(|value| !["none", "login", "consent", "select_account"].contains(value))
        {
            return None;
        }
        let asks_login = values.contains(&"login") || values.contains(&"select_account");
        match (values.contains(&"none"), asks_login) {
            (true, _) if values.len() > 1 => None,
            (true, _) => Some(Prompt::None),
            (false, true) => Some(Prompt::Login),
            (false, false) => Some(Prompt::Default),
        }
    }
}

impl AuthorizationRequest {
    fn without_empty_values(self) -> Self {
        let given = |value: Option<String>| value.filter(|v| !v.is_empty());
        Self {
            client_id: given(self.client_id),
            redirect_uri: given(self.redirect_uri),
            response_type: given(self.response_type),
            scope: given(self.scope),
            state: given(self.state),
            nonce: given(self.nonce),
            code_challenge: given(self.code_challenge),
            code_challenge_method: given(self.code_challenge_method),
            prompt: given(self.prompt),
            max_age: given(self.max_age),
            response_mode: given(self.response_mode),
            id_token_hint: given(self.id_token_hint),
            login_hint: given(self.login_hint),
            request: given(self.request),
            request_uri: given(self.request_uri),
            registration: given(self.registration),
            ui_locales: given(self.ui_locales),
        }
    }
}

/// Why a request is refused; `Page` errors never redirect.
pub enum Refusal {
    Page,
    /// The client could not be looked up: the database is down. Not the
    /// website's fault, and nothing can go back to it.
    Unavailable,
    Redirect {
        redirect_uri: String,
        state: Option<String>,
        error: &'static str,
        description: &'static str,
    },
}

pub async fn authorize(
    State(state): State<AppState>,
    language: Language,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let query = query.unwrap_or_default();
    match read_request(&query) {
        Some(request) => answer(state, language, headers, request).await,
        None => Ok(unreadable(&state, language, &query).await),
    }
}

/// A query or form read as a request: none when it does not read as one,
/// or its `state` or `nonce` would not go back as it came; then
/// [`unreadable`] answers it. A parameter without a value counts as
/// omitted (RFC 6749 3.1), and so as no second value either, as at the
/// token endpoint.
pub(super) fn read_request<T: serde::de::DeserializeOwned>(encoded: &str) -> Option<T> {
    let given = given_parameters(encoded);
    serde_urlencoded::from_str(&given)
        .ok()
        .filter(|_| decodes_exactly(&given))
}

/// A query or form without its parameters that have no value.
fn given_parameters(encoded: &str) -> String {
    encoded
        .split('&')
        .filter(|part| part.split_once('=').is_some_and(|(_, value)| !value.is_empty()))
        .collect::<Vec<_>>()
        .join("&")
}

/// Whether `state` and `nonce`, which come back to the client to compare,
/// decode to UTF-8. The form parser puts U+FFFD for bytes that do not, and a
/// value changed that way is no longer the client's (RFC 6749 4.1.2).
fn decodes_exactly(encoded: &str) -> bool {
    encoded.split('&').all(|part| {
        let (name, value) = part.split_once('=').unwrap_or((part, ""));
        !matches!(decode(name).as_deref(), Some("state" | "nonce")) || decode(value).is_some()
    })
}

/// Whether every name and value of a query or form decodes to UTF-8: none
/// was changed by the form parser's U+FFFD.
pub(super) fn all_decode_exactly(encoded: &str) -> bool {
    encoded.split('&').all(|part| {
        let (name, value) = part.split_once('=').unwrap_or((part, ""));
        decode(name).is_some() && decode(value).is_some()
    })
}

/// The name–value pairs of a query or form, each decoded exactly; a pair
/// that does not decode to UTF-8 is left out, not changed.
fn exact_pairs(encoded: &str) -> Vec<(String, String)> {
    encoded
        .split('&')
        .filter(|part| !part.is_empty())
        .filter_map(|part| {
            let (name, value) = part.split_once('=').unwrap_or((part, ""));
            Some((decode(name)?, decode(value)?))
        })
        .collect()
}

/// `application/x-www-form-urlencoded` decoding of one name or value: `+`
/// is a space, `%XX` a byte; none when the bytes are not UTF-8.
fn decode(encoded: &str) -> Option<String> {
    let raw = encoded.as_bytes();
    let hex = |at: usize| raw.get(at).and_then(|&byte| char::from(byte).to_digit(16));
    let mut bytes = Vec::with_capacity(raw.len());
    let mut at = 0;
    while at < raw.len() {
        match (raw[at], hex(at + 1), hex(at + 2)) {
            (b'%', Some(high), Some(low)) => {
                bytes.push((high * 16 + low) as u8);
                at += 3;
            }
            (b'+', _, _) => {
                bytes.push(b' ');
                at += 1;
            }
            (byte, _, _) => {
                bytes.push(byte);
                at += 1;
            }
        }
    }
    String::from_utf8(bytes).ok()
}

/// A query that does not read as a request: a parameter given twice (RFC
/// 6749 3.1) or of the wrong kind. When its client and redirect URI are each
/// given once and valid, the client hears `invalid_request` (RFC 6749
/// 4.1.2.1), with its `state`; otherwise, or when no one `state` can go
/// back as it came (given twice, not UTF-8, or too long), the member gets
/// the page.
pub(super) async fn unreadable(state: &AppState, language: Language, query: &str) -> Response {
    // Read as `read_request` reads it: a parameter without a value is none.
    let query = given_parameters(query);
    let pairs = exact_pairs(&query);
    let once = |name: &str| {
        let mut values = pairs.iter().filter(|(key, _)| key == name);
        match (values.next(), values.next()) {
            (Some((_, value)), None) => Some(value.as_str()),
            _ => None,
        }
    };
    let names_state = query.split('&').any(|part| {
        let name = part.split_once('=').map_or(part, |(name, _)| name);
        decode(name).as_deref() == Some("state")
    });
    let client_state = once("state").filter(|s| s.len() <= MAX_STATE);
    let redirect = client_and_redirect(state, once("client_id"), once("redirect_uri")).await;
    let refusal = match redirect {
        Err(refusal) => refusal,
        Ok(Some((_, redirect_uri))) if client_state.is_some() || !names_state => Refusal::Redirect {
            redirect_uri,
            state: client_state.map(str::to_owned),
            error: "invalid_request",
            description: "a parameter is given twice, is not UTF-8, or cannot be read",
        },
        _ => Refusal::Page,
    };
    refuse(state, language, refusal)
}

/// The same request sent as a form: OIDC Core 3.1.2.1 asks for GET and POST.
/// A form from a relying party's page arrives without the session cookie:
/// it is posted again from here ([`carry_on`]).
pub async fn authorize_form(
    State(state): State<AppState>,
    language: Language,
    headers: HeaderMap,
    body: Result<String, StringRejection>,
) -> Result<Response, PageError> {
    let body = match body {
        Ok(body) if crate::http::is_form(&headers) => body,
        Ok(_) => return Err(PageError::new(language, PageErrorKind::BadRequest)),
        Err(rejection) => return Err(PageError::unread_body(language, rejection.status())),
    };
    // Only a body whose every pair decodes can be posted again unchanged.
    let fields = exact_pairs(&body);
    let whole = fields.len() == body.split('&').filter(|part| !part.is_empty()).count();
    if whole && carry_on::is_needed(&headers, &fields) {
        return Ok(carry_on::page(language, AUTHORIZATION_PATH, fields));
    }
    match read_request(&body) {
        Some(request) => answer(state, language, headers, request).await,
        None => Ok(unreadable(&state, language, &body).await),
    }
}

async fn answer(
    state: AppState,
    language: Language,
    headers: HeaderMap,
    request: AuthorizationRequest,
) -> Result<Response, PageError> {
    let valid = match validate(&state, request).await {
        Ok(valid) => valid,
        Err(refusal) => return Ok(refuse(&state, language, refusal)),
    };
    let session = session::current(&state, &headers)
        .await
        .map_err(|e| PageError::internal(language, &e))?;
    let hinted = match valid.original.id_token_hint.as_deref() {
        Some(hint) => Some(hinted_member(&state, hint, valid.client.id().as_str()).await),
        None => None,
    };
    let is_hinted = |s: &BrowserSession| {
        hinted
            .as_ref()
            .is_none_or(|member| member.as_deref() == Some(s.account.to_string().as_str()))
    };
    // Said to the client only of the member it may ask about: that another
    // member is logged in here is none of its business.
    let too_old = session
        .as_ref()
        .is_some_and(|s| is_hinted(s) && !fresh_enough(&state, s, valid.max_age));
    let usable = session
        .filter(|s| valid.prompt != Prompt::Login && fresh_enough(&state, s, valid.max_age) && is_hinted(s));
    let internal = |e: &(dyn std::error::Error + 'static)| PageError::internal(language, e);
    // The session of a blocked account signs no one in (OIDC Core 3.1.2.6:
    // `login_required`, not a code its token request then refuses).
    let usable = match usable {
        Some(s)
            if tokens::is_account_active(&state.store, &s.account)
                .await
                .map_err(|e| internal(&e))? =>
        {
            Some(s)
        }
        _ => None,
    };
    if let Some(session) = usable {
        let txn = state.store.begin().await.map_err(|e| internal(&e))?;
        // A logout in another tab may have ended the session since it was
        // read: a code issued in it now would start tokens it cannot end.
        if txn
            .sessions()
            .hold(&session.digest)
            .await
            .map_err(|e| internal(&e))?
        {
            let response = complete(&state, &txn, language, &session, &valid).await?;
            txn.commit().await.map_err(|e| internal(&e))?;
            return Ok(response);
        }
    }
    match valid.prompt {
        Prompt::None => Ok(refuse(
            &state,
            language,
            Refusal::Redirect {
                redirect_uri: valid.redirect_uri,
                state: valid.state,
                error: "login_required",
                description: match (too_old, &hinted) {
                    (true, _) => "the member logged in longer ago than max_age allows",
                    (false, Some(None)) => {
                        "the id_token_hint is not an ID token this provider issued to this client"
                    }
                    (false, _) => "the member is not logged in",
                },
            },
        )),
        _ => {
            // The hint has done its work (above); an ID token names the
            // member and would stay in the history of a shared computer.
            // What the login page cannot use is not carried either (the
            // scope only as checked, without values we do not know): the
            // form must stay small enough to be sent.
            let login_request = AuthorizationRequest {
                id_token_hint: None,
                scope: Some(valid.scope.clone()),
                login_hint: valid
                    .original
                    .login_hint
                    .filter(|hint| Username::parse(hint).is_ok()),
                ui_locales: valid
                    .original
                    .ui_locales
                    .filter(|locales| locales.len() <= MAX_UI_LOCALES),
                ..valid.original
            };
            let carried = serde_urlencoded::to_string(&login_request).unwrap_or_default();
            if carried.len() > MAX_CARRIED {
                return Ok(refuse(
                    &state,
                    language,
                    Refusal::Redirect {
                        redirect_uri: valid.redirect_uri,
                        state: valid.state,
                        error: "invalid_request",
                        description: "the authorization request is too long",
                    },
                ));
            }
            Ok(Redirect::to(&format!("/login?{carried}")).into_response())
        }
    }
}

/// Checks a request: the client and its exact redirect URI first (so errors
/// about anything else may safely go back to that URI).
pub async fn validate(state: &AppState, request: AuthorizationRequest) -> Result<ValidRequest, Refusal> {
    // RFC 6749 3.1: a parameter sent without a value is treated as omitted.
    let request = request.without_empty_values();
    let (client, redirect_uri) = client_and_redirect(
        state,
        request.client_id.as_deref(),
        request.redirect_uri.as_deref(),
    )
    .await?
    .ok_or(Refusal::Page)?;
    // RFC 6749 4.1.2.1: an error goes back with the `state` as it came. One
    // too long to go back in a redirect gets the page, as a wrong redirect
    // URI does.
    if request.state.as_ref().is_some_and(|s| s.len() > MAX_STATE) {
        return Err(Refusal::Page);
    }
    let back = |error, description| Refusal::Redirect {
        redirect_uri: redirect_uri.clone(),
        state: request.state.clone(),
        error,
        description,
    };
    if request.nonce.as_ref().is_some_and(|n| n.len() > MAX_NONCE) {
        return Err(back("invalid_request", "the nonce is too long"));
    }
    // The nonce is kept with the code until the ID token carries it back. A
    // control character (a NUL, which PostgreSQL cannot store) is no value
    // a client made up.
    if request
        .nonce
        .as_ref()
        .is_some_and(|n| n.chars().any(char::is_control))
    {
        return Err(back("invalid_request", "nonce holds a control character"));
    }
    if request.request.is_some() {
        return Err(back("request_not_supported", "request objects are not supported"));
    }
    if request.request_uri.is_some() {
        return Err(back("request_uri_not_supported", "request_uri is not supported"));
    }
    if request.registration.is_some() {
        return Err(back(
            "registration_not_supported",
            "registration is not supported: the operator registers clients",
        ));
    }
    if request
        .response_mode
        .as_deref()
        .is_some_and(|mode| mode != "query")
    {
        return Err(back("invalid_request", "only response_mode=query is supported"));
    }
    if request.response_type.as_deref().is_none_or(str::is_empty) {
        return Err(back("invalid_request", "response_type is missing"));
    }
    if request.response_type.as_deref() != Some("code") {
        return Err(back(
            "unsupported_response_type",
            "only response_type=code is supported",
        ));
    }
    // Scope values this provider does not know (`offline_access`, `phone`)
    // are ignored (OIDC Core 3.1.2.1); a known one the client may not use is
    // refused.
    let scopes: Vec<&str> = request
        .scope
        .as_deref()
        .unwrap_or_default()
        .split_whitespace()
        .filter(|scope| Scope::parse(scope).is_ok())
        .collect();
    if !scopes.contains(&"openid") {
        return Err(back("invalid_scope", "the openid scope is required"));
    }
    if !client.allows_scopes(scopes.iter().copied()) {
        return Err(back(
            "invalid_scope",
            "a requested scope is not allowed for this client",
        ));
    }
    let code_challenge = match (
        request.code_challenge.as_deref(),
        request.code_challenge_method.as_deref(),
    ) {
        (None, None) if client.kind() == ClientKind::Public => {
            return Err(back(
                "invalid_request",
                "public clients must use PKCE (code_challenge with S256)",
            ));
        }
        (None, None) => None,
        (Some(challenge), Some("S256")) if is_s256_challenge(challenge) => Some(challenge.to_owned()),
        (Some(_), Some("S256")) => {
            return Err(back("invalid_request", "code_challenge is not a S256 challenge"));
        }
        (None, Some("S256")) => {
            return Err(back(
                "invalid_request",
                "code_challenge_method is given without a code_challenge",
            ));
        }
        (_, _) => {
            return Err(back(
                "invalid_request",
                "only code_challenge_method=S256 is supported",
            ));
        }
    };
    let prompt = match Prompt::parse(request.prompt.as_deref().unwrap_or_default()) {
        Some(prompt) => prompt,
        None => {
            return Err(back(
                "invalid_request",
                "prompt is none alone, or any of login, consent and select_account",
            ));
        }
    };
    let max_age = match request.max_age.as_deref() {
        None => None,
        // Any non-negative integer (OIDC Core 3.1.2.1); one too large to
        // hold is longer ago than any login.
        Some(text) if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => {
            Some(text.parse::<i64>().unwrap_or(i64::MAX))
        }
        Some(_) => {
            return Err(back("invalid_request", "max_age must be a number of seconds"));
        }
    };
    let mut unique_scopes: Vec<&str> = Vec::with_capacity(scopes.len());
    for scope in scopes {
        if !unique_scopes.contains(&scope) {
            unique_scopes.push(scope);
        }
    }
    Ok(ValidRequest {
        scope: unique_scopes.join(" "),
        state: request.state.clone(),
        nonce: request.nonce.clone(),
        code_challenge,
        prompt,
        max_age,
        redirect_uri,
        client,
        original: request,
    })
}

/// The client and the redirect URI, when the client may use the code flow
/// and registered exactly this URI: only then may an error go back to it.
/// [`Refusal::Unavailable`] when the database cannot say which clients there are.
async fn client_and_redirect(
    state: &AppState,
    client_id: Option<&str>,
    redirect_uri: Option<&str>,
) -> Result<Option<(Client, String)>, Refusal> {
    let (Some(client_id), Some(redirect_uri)) = (client_id.filter(|c| !c.is_empty()), redirect_uri) else {
        return Ok(None);
    };
    let found = state.clients.lookup(client_id).await.map_err(|cause| {
        tracing::warn!("a client could not be looked up, database unavailable: {cause}");
        Refusal::Unavailable
    })?;
    Ok(found
        .filter(|client| {
            client.redirect_uri_allowed(redirect_uri)
                && client.grant_types().contains(&GrantType::AuthorizationCode)
        })
        .map(|client| (client, redirect_uri.to_owned())))
}

/// 43 characters of base64url: the SHA-256 of a verifier (RFC 7636 4.2),
/// written as the client's verifier will be hashed and encoded at the token
/// endpoint. Other spellings of the same bits (the last character's unused
/// bits set) decode elsewhere, but no verifier could ever match them.
fn is_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && URL_SAFE_NO_PAD
            .decode(challenge)
            .is_ok_and(|sha256| sha256.len() == 32)
}

/// The member an `id_token_hint` names, if it is an ID token we issued
/// (expired or not) to `client` (OIDC Core 3.1.2.1: about the member's
/// session with the client). A session of another member is not used for
/// the request: with `prompt=none` the client hears `login_required`.
async fn hinted_member(state: &AppState, hint: &str, client: &str) -> Option<String> {
    let claims = state
        .keyring
        .verify_id_token_hint::<serde_json::Value>(
            hint,
            state.public_url.as_str(),
            state.config.oidc.session_lifetime(),
        )
        .await
        .ok()?;
    let issued_to_client = match claims.get("aud")? {
        serde_json::Value::String(audience) => audience == client,
        serde_json::Value::Array(audiences) => audiences.iter().any(|audience| audience == client),
        _ => false,
    };
    if !issued_to_client {
        return None;
    }
    claims.get("sub")?.as_str().map(str::to_owned)
}

/// `max_age=0` asks for the password every time, as `prompt=login` does
/// (OIDC Core 3.1.2.1): a login earlier in the same second is not fresh.
fn fresh_enough(state: &AppState, session: &BrowserSession, max_age: Option<i64>) -> bool {
    max_age.is_none_or(|seconds| {
        seconds > 0 && (state.clock().now() - session.auth_time).whole_seconds() <= seconds
    })
}

/// Issues the code for a logged-in member and sends the browser back; the
/// code and the session's new client are written through `repositories`.
pub async fn complete(
    state: &AppState,
    repositories: &impl Repositories,
    language: Language,
    session: &BrowserSession,
    request: &ValidRequest,
) -> Result<Response, PageError> {
    let code = SecretToken::generate().map_err(|e| PageError::internal(language, &e))?;
    let now = state.clock().now();
    let grant = CodeGrant {
        code_digest: code.digest(),
        client_id: request.client.id().to_string(),
        account: session.account,
        session_digest: session.digest.clone(),
        redirect_uri: request.redirect_uri.clone(),
        scope: request.scope.clone(),
        nonce: request.nonce.clone(),
        code_challenge: request.code_challenge.clone(),
        auth_time: session.auth_time,
        expires_at: now + time::Duration::seconds(i64::from(state.config.oidc.code_seconds)),
    };
    repositories
        .grants()
        .issue_code(&grant)
        .await
        .map_err(|e| PageError::internal(language, &e))?;
    repositories
        .sessions()
        .add_client(&session.digest, request.client.id().as_str())
        .await
        .map_err(|e| PageError::internal(language, &e))?;
    let mut parameters = vec![("code", code.expose().to_owned())];
    if let Some(value) = &request.state {
        parameters.push(("state", value.clone()));
    }
    parameters.push(("iss", state.public_url.to_string()));
    Ok(redirect_with(&request.redirect_uri, &parameters))
}

/// Answers a refused request: a page, or an error sent back to the client.
pub fn refuse(state: &AppState, language: Language, refusal: Refusal) -> Response {
    match refusal {
        Refusal::Page => PageError::new(language, PageErrorKind::InvalidAuthorizationRequest).into_response(),
        Refusal::Unavailable => PageError::new(language, PageErrorKind::Unavailable).into_response(),
        Refusal::Redirect {
            redirect_uri,
            state: client_state,
            error,
            description,
        } => {
            let mut parameters = vec![
                ("error", error.to_owned()),
                ("error_description", description.to_owned()),
            ];
            if let Some(value) = client_state {
                parameters.push(("state", value));
            }
            parameters.push(("iss", state.public_url.to_string()));
            redirect_with(&redirect_uri, &parameters)
        }
    }
}

/// A 303 to `uri` with `parameters` added to its query.
fn redirect_with(uri: &str, parameters: &[(&str, String)]) -> Response {
    let query = serde_urlencoded::to_string(parameters).unwrap_or_default();
    let separator = if uri.contains('?') { '&' } else { '?' };
    let location = format!("{uri}{separator}{query}");
    let mut response = Redirect::to(&location).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
