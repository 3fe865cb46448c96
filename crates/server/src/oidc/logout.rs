//! RP-initiated logout (OIDC RP-Initiated Logout 1.0): ends the browser
//! session, revokes the refresh tokens issued in it, and shows the guide's
//! "Tot de volgende keer" page, or returns to a post-logout URI the client
//! registered (only with a valid `id_token_hint` or `client_id` naming that
//! client; never an open redirect). A request without an ID token of this
//! session first asks the member (§2: any site can link here), unless it is
//! the answer, or our own "Uitloggen" button, posted with the form's CSRF
//! token. A POST from a relying party's own page arrives without the
//! SameSite=Lax session cookie: it is posted again from here ([`carry_on`])
//! and then decided as its GET.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    body::Bytes,
    extract::{RawQuery, State, rejection::BytesRejection},
    http::{HeaderMap, HeaderValue, header},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use serde_json::Value;
use si_store::{Repositories, sessions::BrowserSession};

use super::{authorize, backchannel, carry_on, discovery::END_SESSION_PATH, session};
use crate::{
    app::AppState,
    frontoffice::FRONTOFFICE_PATH,
    http::{
        csrf::{self, FormToken},
        error::{PageError, PageErrorKind, other},
        i18n::Language,
        page_query::PageQuery,
    },
};

#[derive(Debug, Default, Deserialize)]
pub struct LogoutRequest {
    id_token_hint: Option<String>,
    client_id: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
    /// Set when [`carry_on`] posted a relying party's form again.
    carried: Option<String>,
    /// The token of our own logout forms: the member asked for this.
    csrf: Option<String>,
    /// Set by the desk console's logout: the way back leads to the console.
    desk: Option<String>,
}

impl LogoutRequest {
    /// Read from a query or a form: a parameter given twice, or text that is
    /// not UTF-8, makes no request.
    fn read(language: Language, text: &str) -> Result<Self, PageError> {
        let refused = || PageError::new(language, PageErrorKind::InvalidLogoutRequest);
        if !authorize::all_decode_exactly(text) {
            return Err(refused());
        }
        let request: Self = serde_urlencoded::from_str(text).map_err(|_| refused())?;
        // The state comes back in the redirect's URL: as at /authorize, one
        // that could not pass a proxy's limit on it is refused.
        if request
            .state
            .as_ref()
            .is_some_and(|s| s.len() > authorize::MAX_STATE)
        {
            return Err(refused());
        }
        Ok(request)
    }

    /// The parameters given, to carry on in a form.
    fn fields(&self) -> Vec<(String, String)> {
        [
            ("id_token_hint", &self.id_token_hint),
            ("client_id", &self.client_id),
            ("post_logout_redirect_uri", &self.post_logout_redirect_uri),
            ("state", &self.state),
            ("desk", &self.desk),
        ]
        .into_iter()
        .filter_map(|(name, value)| Some((name.to_owned(), value.clone()?)))
        .collect()
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "logged_out.html")]
struct LoggedOutPage {
    lang: Language,
    other_lang: Language,
    return_to: String,
    login_url: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "logout_confirm.html")]
struct ConfirmPage {
    lang: Language,
    other_lang: Language,
    return_to: String,
    csrf: String,
    fields: Vec<(String, String)>,
}

/// A link from a relying party (or from anywhere): asks first unless its
/// `id_token_hint` was issued in this browser's session. A `state` that is
/// not UTF-8 is refused: changed, it would no longer be the client's (§3);
/// so is one longer than `/authorize` takes.
pub async fn ask(
    State(state): State<AppState>,
    language: Language,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let request = LogoutRequest::read(language, &query.unwrap_or_default())?;
    ask_or_end(state, language, headers, request).await
}

async fn ask_or_end(
    state: AppState,
    language: Language,
    headers: HeaderMap,
    request: LogoutRequest,
) -> Result<Response, PageError> {
    let hinted = hinted_client(&state, request.id_token_hint.as_deref()).await;
    refuse_two_clients(language, &hinted, &request)?;
    let session = session::to_log_in_or_out(&state, &headers)
        .await
        .map_err(|e| PageError::internal(language, &e))?;
    let Some(session) = session else {
        return end(state, language, None, request, hinted).await;
    };
    if hint_is_of_session(&state, request.id_token_hint.as_deref(), &session).await {
        return end(state, language, Some(session), request, hinted).await;
    }
    let question = question_path(&request, &hinted);
    // The ID token names a member: the question is asked at an address
    // without it, so that it stays in no history of a shared computer.
    if request.id_token_hint.is_some() {
        let asked_there = Redirect::to(&question);
        return Ok(([(header::CACHE_CONTROL, "no-store")], asked_there).into_response());
    }
    let csrf = FormToken::for_page(&headers);
    let page = ConfirmPage {
        lang: language,
        other_lang: other(language),
        return_to: question,
        csrf: csrf.token.clone(),
        fields: request.fields(),
    };
    Ok(csrf.attach(([(header::CACHE_CONTROL, "no-store")], page).into_response()))
}

/// Where the member is asked whether to log out: `/logout` with the way
/// back to the website as decided here, without the ID token (its client
/// named instead). A hint that did not verify ends the way back, as it
/// does at the answer. The language switch and help link come back to it.
fn question_path(request: &LogoutRequest, hinted: &Result<Option<String>, ()>) -> String {
    let way_back = hinted.is_ok();
    let client_id = hinted
        .as_ref()
        .ok()
        .and_then(|hinted| hinted.as_ref().or(request.client_id.as_ref()));
    let given: Vec<(&str, &String)> = [
        ("client_id", client_id),
        (
            "post_logout_redirect_uri",
            request.post_logout_redirect_uri.as_ref().filter(|_| way_back),
        ),
        ("state", request.state.as_ref().filter(|_| way_back)),
        ("desk", request.desk.as_ref()),
    ]
    .into_iter()
    .filter_map(|(name, value)| Some((name, value?)))
    .collect();
    match serde_urlencoded::to_string(given) {
        Ok(query) if !query.is_empty() => format!("{END_SESSION_PATH}?{query}"),
        _ => END_SESSION_PATH.to_owned(),
    }
}

/// The member's own "Uitloggen" button, the answer to the question, or a
/// relying party's form. Only our own forms carry the CSRF token: any other
/// POST (a page of a sibling site gets the SameSite=Lax cookie sent too) is
/// decided as its GET, after a relying party's is carried on. A `state` that
/// is not UTF-8 is refused, as by GET.
pub async fn confirm(
    State(state): State<AppState>,
    language: Language,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let body = body.map_err(|rejection| PageError::unread_body(language, rejection.status()))?;
    let form = crate::http::is_form(&headers).then(|| String::from_utf8(body.to_vec()));
    // A body that is no form asks, as a link would.
    let request = match form {
        Some(Ok(body)) => LogoutRequest::read(language, &body)?,
        Some(Err(_)) => return Err(PageError::new(language, PageErrorKind::InvalidLogoutRequest)),
        None => LogoutRequest::default(),
    };
    if request.carried.is_some() {
        return ask_or_end(state, language, headers, request).await;
    }
    let fields = request.fields();
    let from_a_client = fields
        .iter()
        .any(|(name, _)| !matches!(name.as_str(), "state" | "desk"));
    if from_a_client && carry_on::is_needed(&headers, &fields) {
        return Ok(carry_on::page(language, END_SESSION_PATH, fields));
    }
    let asked = (request.csrf.as_deref()).is_some_and(|token| csrf::is_valid(&headers, token));
    if !asked {
        return ask_or_end(state, language, headers, request).await;
    }
    let hinted = hinted_client(&state, request.id_token_hint.as_deref()).await;
    refuse_two_clients(language, &hinted, &request)?;
    let session = session::to_log_in_or_out(&state, &headers)
        .await
        .map_err(|e| PageError::internal(language, &e))?;
    end(state, language, session, request, hinted).await
}

/// RP-Initiated Logout 1.0 §2: a hint and `client_id` must name the same
/// client; §4: otherwise an error, and nothing ends.
fn refuse_two_clients(
    language: Language,
    hinted: &Result<Option<String>, ()>,
    request: &LogoutRequest,
) -> Result<(), PageError> {
    match (hinted, request.client_id.as_deref()) {
        (Ok(Some(hinted)), Some(given)) if hinted != given => {
            Err(PageError::new(language, PageErrorKind::InvalidLogoutRequest))
        }
        _ => Ok(()),
    }
}

/// Whether `hint` is an ID token this provider issued in `session` (an
/// expired one counts: it still says who it was for).
async fn hint_is_of_session(state: &AppState, hint: Option<&str>, session: &BrowserSession) -> bool {
    let Some(hint) = hint else { return false };
    let Ok(claims) = state
        .keyring
        .verify_id_token_hint::<Value>(
            hint,
            state.public_url.as_str(),
            state.config.oidc.session_lifetime(),
        )
        .await
    else {
        return false;
    };
    let sid = super::tokens::session_id(&session.digest);
    claims.get("sid").and_then(Value::as_str) == Some(sid.as_str())
}

/// Ends `session` by its name, so that a login renewing it meanwhile in
/// another tab does not make the logout miss it.
async fn end(
    state: AppState,
    language: Language,
    session: Option<BrowserSession>,
    request: LogoutRequest,
    hinted: Result<Option<String>, ()>,
) -> Result<Response, PageError> {
    if let Some(session) = session {
        // All or nothing: a logout stopped half-way (a node killed) must not
        // leave the session gone but its tokens alive or its clients untold,
        // for no second logout would find it.
        let ended = async {
            let txn = state.store.begin().await?;
            let clients = txn.sessions().end(&session.digest).await?;
            session::revoke_tokens_of(&state, &txn, &session.digest).await?;
            backchannel::session_ended(&state, &txn, &session.digest, &session.account, &clients).await?;
            txn.commit().await
        };
        ended.await.map_err(|e| PageError::internal(language, &e))?;
        tracing::info!(account = %session.account, "logged out");
    }
    let destination = match request.post_logout_redirect_uri.as_deref() {
        Some(uri) => allowed_destination(&state, hinted, request.client_id.as_deref(), uri).await,
        None => None,
    };
    let mut response = match destination {
        Some(uri) => {
            let location = match &request.state {
                Some(value) => {
                    let query = serde_urlencoded::to_string([("state", value)]).unwrap_or_default();
                    format!("{uri}{}{query}", if uri.contains('?') { '&' } else { '?' })
                }
                None => uri,
            };
            Redirect::to(&location).into_response()
        }
        // The guide's page at an address of its own: the ID token a
        // website sent along (name, e-mail address, card number) must not
        // stay in the history of a library's shared computer.
        // Shown in the language of this request, which may be one the
        // website asked for with `ui_locales`.
        None => {
            let page = logged_out_path(request.desk.is_some());
            Redirect::to(&language.asked_by_link(&page)).into_response()
        }
    };
    let headers = response.headers_mut();
    headers.append(header::SET_COOKIE, session::clear());
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Where a logout that returns to no website ends.
pub const LOGGED_OUT_PATH: &str = "/logout/done";

/// [`LOGGED_OUT_PATH`], for the desk console's logout with the way back to it.
fn logged_out_path(desk: bool) -> String {
    if desk {
        format!("{LOGGED_OUT_PATH}?desk")
    } else {
        LOGGED_OUT_PATH.to_owned()
    }
}

#[derive(Deserialize)]
pub struct LoggedOutQuery {
    /// The desk console's logout: the way back leads to the console.
    desk: Option<String>,
}

/// "Tot de volgende keer", for a browser without a session: one logged in
/// again since (another tab) is asked whether to log out instead.
pub async fn logged_out(
    State(state): State<AppState>,
    language: Language,
    headers: HeaderMap,
    PageQuery(query): PageQuery<LoggedOutQuery>,
) -> Result<Response, PageError> {
    let session = session::to_log_in_or_out(&state, &headers)
        .await
        .map_err(|e| PageError::internal(language, &e))?;
    let desk = query.desk.is_some();
    if session.is_some() {
        let asked = if desk {
            format!("{END_SESSION_PATH}?desk")
        } else {
            END_SESSION_PATH.to_owned()
        };
        return Ok(Redirect::to(&asked).into_response());
    }
    let page = LoggedOutPage {
        lang: language,
        other_lang: other(language),
        return_to: logged_out_path(desk),
        login_url: if desk { FRONTOFFICE_PATH } else { "/login" }.to_owned(),
    };
    Ok(([(header::CACHE_CONTROL, "no-store")], page).into_response())
}

/// The client an `id_token_hint` was issued to: a hint past its expiry
/// still names it. Err when the hint does not verify.
async fn hinted_client(state: &AppState, hint: Option<&str>) -> Result<Option<String>, ()> {
    let Some(hint) = hint else { return Ok(None) };
    let claims = state
        .keyring
        .verify_id_token_hint::<Value>(
            hint,
            state.public_url.as_str(),
            state.config.oidc.session_lifetime(),
        )
        .await
        .map_err(drop)?;
    let audience = claims.get("aud").and_then(Value::as_str).ok_or(())?;
    Ok(Some(audience.to_owned()))
}

/// The post-logout URI, if the client that names it registered it exactly.
/// A hint that does not verify ends the redirect, even beside a `client_id`
/// (RP-Initiated Logout 1.0 §4: a failed validation aborts what depends on it).
async fn allowed_destination(
    state: &AppState,
    hinted: Result<Option<String>, ()>,
    given: Option<&str>,
    uri: &str,
) -> Option<String> {
    let client_id = match (hinted.ok()?, given) {
        (Some(hinted), _) => hinted,
        (None, Some(given)) => given.to_owned(),
        (None, None) => return None,
    };
    let client = super::tokens::find_client(state, &client_id).await?;
    client
        .post_logout_redirect_uris()
        .iter()
        .any(|registered| registered.as_str() == uri)
        .then(|| uri.to_owned())
}
