//! The two demo sites, "Mijn Menu" (a library website) and the "Online
//! Bibliotheek" (the e-book service): ordinary OpenID Connect clients that
//! happen to run in this process. They reach the provider only over HTTP,
//! through what it publishes: discovery, the authorization code flow with
//! PKCE, the token endpoint with a client secret, the JWKS, userinfo, and
//! RP-initiated and back-channel logout. The e-book service first asks with
//! `prompt=none`, so a member already signed in elsewhere gets in without a
//! second prompt, as a real SSO site does.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::{Query, State, rejection::QueryRejection},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{DecodingKey, Validation, jwk::JwkSet};
use serde::{Deserialize, de::DeserializeOwned};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use si_credentials::secrets::SecretToken;

use crate::http::page_query::{PageForm, PagePath};
use crate::{
    app::AppState,
    config::PublicUrl,
    http::{
        cookies,
        error::{PageError, PageErrorKind, other},
        i18n::Language,
    },
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SiteKind {
    Website,
    Ebooks,
}

impl SiteKind {
    fn from_slug(slug: &str) -> Option<Self> {
        match slug {
            "website" => Some(Self::Website),
            "ebooks" => Some(Self::Ebooks),
            _ => None,
        }
    }

    pub fn client_id(self) -> &'static str {
        match self {
            Self::Website => "demo-website",
            Self::Ebooks => "demo-ebooks",
        }
    }

    pub fn client_name(self) -> &'static str {
        match self {
            Self::Website => "Mijn Menu (demo)",
            Self::Ebooks => "Online Bibliotheek (demo)",
        }
    }

    pub fn path(self) -> &'static str {
        match self {
            Self::Website => "/demo/website",
            Self::Ebooks => "/demo/ebooks",
        }
    }

    fn session_cookie(self) -> &'static str {
        match self {
            Self::Website => "demo_website",
            Self::Ebooks => "demo_ebooks",
        }
    }

    fn flow_cookie(self) -> &'static str {
        match self {
            Self::Website => "demo_website_flow",
            Self::Ebooks => "demo_ebooks_flow",
        }
    }

    fn other(self) -> Self {
        match self {
            Self::Website => Self::Ebooks,
            Self::Ebooks => Self::Website,
        }
    }

    /// The e-book service signs a member in silently when it can.
    fn signs_in_silently(self) -> bool {
        self == Self::Ebooks
    }

    fn text_key(self, what: &str) -> String {
        match self {
            Self::Website => format!("demo-website-{what}"),
            Self::Ebooks => format!("demo-ebooks-{what}"),
        }
    }
}

/// A sign-in under way: what the callback must match.
struct Flow {
    site: SiteKind,
    nonce: String,
    verifier: String,
    silent: bool,
    started: Instant,
}

/// A member signed in at one demo site.
#[derive(Clone)]
struct SiteSession {
    site: SiteKind,
    subject: String,
    /// The provider's session, for back-channel logout.
    provider_session: Option<String>,
    id_token: String,
    profile: Profile,
    /// Signed in by `prompt=none`: no password was asked.
    silently: bool,
    started: Instant,
}

#[derive(Clone)]
struct Profile {
    username: String,
    name: Option<String>,
    email: Option<String>,
    memberships: Vec<MembershipRow>,
}

#[derive(Clone)]
struct MembershipRow {
    library: String,
    card_number: String,
    subscription: String,
    valid_until: String,
}

impl MembershipRow {
    /// The claim's `valid_until` (`2025-05-31`) as the site's visitors read
    /// dates; as it came when it is no date.
    fn valid_until_in(&self, language: Language) -> String {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        time::Date::parse(&self.valid_until, format)
            .map(|date| language.date(date))
            .unwrap_or_else(|_| self.valid_until.clone())
    }
}

/// What the provider publishes at `/.well-known/openid-configuration`.
#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    userinfo_endpoint: String,
    jwks_uri: String,
    end_session_endpoint: String,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    id_token: String,
}

/// Why a sign-in did not work; shown on the site's page.
#[derive(Debug, thiserror::Error)]
enum SiteError {
    #[error("the provider could not be reached or answered unexpectedly: {0}")]
    Provider(String),
    #[error("the sign-in is unknown or expired")]
    UnknownFlow,
    #[error("the provider answered {0}")]
    Refused(String),
    #[error("the token is not valid: {0}")]
    InvalidToken(String),
    #[error("the operating system's random generator failed")]
    Randomness,
}

const FLOW_LIFETIME: Duration = Duration::from_secs(600);
const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// Sign-ins under way and sessions kept, each: a flood of visits makes the
/// demo forget its oldest, not grow without end.
const MOST_KEPT: usize = 10_000;

/// The demo sites' state: their secrets, and the sign-ins and sessions of
/// this process (a demo runs on one node).
pub struct Sites {
    provider: PublicUrl,
    website_secret: String,
    ebooks_secret: String,
    http: reqwest::Client,
    flows: Mutex<HashMap<String, Flow>>,
    sessions: Mutex<HashMap<String, SiteSession>>,
}

impl Sites {
    pub fn new(provider: PublicUrl, website_secret: String, ebooks_secret: String) -> Self {
        Self {
            provider,
            website_secret,
            ebooks_secret,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("an HTTP client with default TLS settings"),
            flows: Mutex::default(),
            sessions: Mutex::default(),
        }
    }

    fn secret(&self, site: SiteKind) -> &str {
        match site {
            SiteKind::Website => &self.website_secret,
            SiteKind::Ebooks => &self.ebooks_secret,
        }
    }

    fn redirect_uri(&self, site: SiteKind) -> String {
        format!("{}{}/callback", self.provider, site.path())
    }

    async fn get_json<T: DeserializeOwned>(&self, url: &str, bearer: Option<&str>) -> Result<T, SiteError> {
        let mut request = self.http.get(url);
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .await
            .map_err(|e| SiteError::Provider(e.to_string()))?;
        read_json(response).await
    }

    async fn discovery(&self) -> Result<Discovery, SiteError> {
        self.get_json(
            &format!("{}/.well-known/openid-configuration", self.provider),
            None,
        )
        .await
    }

    /// Starts a sign-in: remembers its state, nonce and PKCE verifier, and
    /// sends the browser to the provider.
    async fn start(&self, site: SiteKind, silent: bool) -> Result<Response, SiteError> {
        let discovery = self.discovery().await?;
        let state = random()?;
        let nonce = random()?;
        let verifier = random()?;
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        let redirect_uri = self.redirect_uri(site);
        let mut query = vec![
            ("response_type", "code"),
            ("client_id", site.client_id()),
            ("redirect_uri", redirect_uri.as_str()),
            ("scope", "openid profile email library"),
            ("state", state.as_str()),
            ("nonce", nonce.as_str()),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ];
        if silent {
            query.push(("prompt", "none"));
        }
        let url = format!(
            "{}?{}",
            discovery.authorization_endpoint,
            serde_urlencoded::to_string(&query).expect("strings encode")
        );
        {
            let mut flows = self.flows.lock().expect("flows lock");
            flows.retain(|_, flow| flow.started.elapsed() < FLOW_LIFETIME);
            forget_oldest(&mut flows, |flow| flow.started);
            flows.insert(
                state.clone(),
                Flow {
                    site,
                    nonce,
                    verifier,
                    silent,
                    started: Instant::now(),
                },
            );
        }
        let cookie = site_cookie(site.flow_cookie(), site, &state, FLOW_LIFETIME.as_secs());
        Ok(([(header::SET_COOKIE, cookie)], Redirect::to(&url)).into_response())
    }

    /// The sign-in this browser started at this site with this `state`.
    fn take_flow(&self, site: SiteKind, headers: &HeaderMap, state: &str) -> Option<Flow> {
        if cookies::value(headers, site.flow_cookie()) != Some(state) {
            return None;
        }
        let flow = self.flows.lock().expect("flows lock").remove(state)?;
        (flow.site == site && flow.started.elapsed() < FLOW_LIFETIME).then_some(flow)
    }

    /// Code → tokens → a verified ID token → userinfo → a session of this site.
    async fn finish(&self, flow: &Flow, code: &str, issuer: Option<&str>) -> Result<SiteSession, SiteError> {
        let site = flow.site;
        let discovery = self.discovery().await?;
        // RFC 9207: the answer must come from the provider we asked.
        if issuer != Some(discovery.issuer.as_str()) {
            return Err(SiteError::InvalidToken(
                "the iss parameter is missing or wrong".to_owned(),
            ));
        }
        let redirect_uri = self.redirect_uri(site);
        let response = self
            .http
            .post(&discovery.token_endpoint)
            .basic_auth(site.client_id(), Some(self.secret(site)))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect_uri.as_str()),
                ("code_verifier", flow.verifier.as_str()),
            ])
            .send()
            .await
            .map_err(|e| SiteError::Provider(e.to_string()))?;
        let tokens: TokenResponse = read_json(response).await?;
        let claims = self.verify(&discovery, &tokens.id_token, site).await?;
        if claims.get("nonce").and_then(Value::as_str) != Some(flow.nonce.as_str()) {
            return Err(SiteError::InvalidToken("the nonce does not match".to_owned()));
        }
        let userinfo: Map<String, Value> = self
            .get_json(&discovery.userinfo_endpoint, Some(&tokens.access_token))
            .await?;
        let subject = string(&claims, "sub").ok_or_else(|| SiteError::InvalidToken("no sub".to_owned()))?;
        if string(&userinfo, "sub").as_deref() != Some(subject.as_str()) {
            return Err(SiteError::InvalidToken(
                "userinfo is about someone else".to_owned(),
            ));
        }
        Ok(SiteSession {
            site,
            subject,
            provider_session: string(&claims, "sid"),
            id_token: tokens.id_token,
            profile: Profile::from_userinfo(&userinfo),
            silently: flow.silent,
            started: Instant::now(),
        })
    }

    /// Checks a JWT of the provider for this site: signature by a key in the
    /// JWKS, issuer, audience and expiry.
    async fn verify(
        &self,
        discovery: &Discovery,
        token: &str,
        site: SiteKind,
    ) -> Result<Map<String, Value>, SiteError> {
        let invalid = |e: jsonwebtoken::errors::Error| SiteError::InvalidToken(e.to_string());
        let header = jsonwebtoken::decode_header(token).map_err(invalid)?;
        let keys: JwkSet = self.get_json(&discovery.jwks_uri, None).await?;
        let jwk = header
            .kid
            .as_deref()
            .and_then(|kid| keys.find(kid))
            .ok_or_else(|| SiteError::InvalidToken("signed with a key not in the JWKS".to_owned()))?;
        let key = DecodingKey::from_jwk(jwk).map_err(invalid)?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&discovery.issuer]);
        validation.set_audience(&[site.client_id()]);
        validation.set_required_spec_claims(&["iss", "aud", "exp"]);
        Ok(
            jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
                .map_err(invalid)?
                .claims,
        )
    }

    fn keep(&self, session: SiteSession) -> Result<String, SiteError> {
        let id = random()?;
        let mut sessions = self.sessions.lock().expect("sessions lock");
        sessions.retain(|_, s| s.started.elapsed() < SESSION_LIFETIME);
        forget_oldest(&mut sessions, |s| s.started);
        sessions.insert(id.clone(), session);
        Ok(id)
    }

    fn session(&self, site: SiteKind, headers: &HeaderMap) -> Option<SiteSession> {
        let id = cookies::value(headers, site.session_cookie())?;
        let sessions = self.sessions.lock().expect("sessions lock");
        sessions
            .get(id)
            .filter(|s| s.site == site && s.started.elapsed() < SESSION_LIFETIME)
            .cloned()
    }

    fn end(&self, site: SiteKind, headers: &HeaderMap) -> Option<SiteSession> {
        let id = cookies::value(headers, site.session_cookie())?;
        let mut sessions = self.sessions.lock().expect("sessions lock");
        if sessions.get(id).is_some_and(|s| s.site == site) {
            sessions.remove(id)
        } else {
            None
        }
    }
}

/// A cookie of one site, scoped to its path (made Secure behind https by
/// `http::security`).
fn site_cookie(name: &str, site: SiteKind, value: &str, max_age: u64) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={}/; Max-Age={max_age}; HttpOnly; SameSite=Lax",
        site.path()
    ))
    .expect("cookie made of safe characters")
}

impl Profile {
    fn from_userinfo(userinfo: &Map<String, Value>) -> Self {
        let memberships = userinfo
            .get("memberships")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(Value::as_object)
                    .map(|m| MembershipRow {
                        library: string(m, "library_name").unwrap_or_default(),
                        card_number: string(m, "card_number").unwrap_or_default(),
                        subscription: string(m, "subscription_name").unwrap_or_default(),
                        valid_until: string(m, "valid_until").unwrap_or_default(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self {
            username: string(userinfo, "preferred_username").unwrap_or_default(),
            name: string(userinfo, "name"),
            email: string(userinfo, "email"),
            memberships,
        }
    }
}

/// Makes room for one more when `map` is full.
fn forget_oldest<T>(map: &mut HashMap<String, T>, started: impl Fn(&T) -> Instant) {
    if map.len() < MOST_KEPT {
        return;
    }
    if let Some(oldest) = map
        .iter()
        .min_by_key(|(_, value)| started(value))
        .map(|(key, _)| key.clone())
    {
        map.remove(&oldest);
    }
}

fn string(map: &Map<String, Value>, key: &str) -> Option<String> {
    map.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn random() -> Result<String, SiteError> {
    SecretToken::generate()
        .map(|token| token.expose().to_owned())
        .map_err(|_| SiteError::Randomness)
}

async fn read_json<T: DeserializeOwned>(response: reqwest::Response) -> Result<T, SiteError> {
    let status = response.status();
    let body = response
        .bytes()
        .await
        .map_err(|e| SiteError::Provider(e.to_string()))?;
    if !status.is_success() {
        return Err(SiteError::Provider(format!(
            "{status}: {}",
            String::from_utf8_lossy(&body)
        )));
    }
    serde_json::from_slice(&body).map_err(|e| SiteError::Provider(e.to_string()))
}

#[derive(Template, WebTemplate)]
#[template(path = "demo_site.html")]
struct SitePage {
    lang: Language,
    other_lang: Language,
    return_to: String,
    site_name: String,
    tagline: String,
    path: &'static str,
    other_site: (&'static str, String),
    signed_in: Option<Profile>,
    note: Option<String>,
    problem: Option<String>,
}

impl SitePage {
    fn new(language: Language, site: SiteKind, session: Option<&SiteSession>) -> Self {
        let note = session.map(|s| {
            if s.silently {
                language.text("demo-signed-in-silently")
            } else {
                language.text("demo-signed-in")
            }
        });
        Self {
            lang: language,
            other_lang: other(language),
            return_to: format!("{}/", site.path()),
            site_name: language.text(&site.text_key("name")),
            tagline: language.text(&site.text_key("tagline")),
            path: site.path(),
            other_site: (site.other().path(), language.text(&site.other().text_key("go"))),
            signed_in: session.map(|s| s.profile.clone()),
            note,
            problem: None,
        }
    }

    fn with_problem(mut self, problem: String) -> Self {
        self.problem = Some(problem);
        self
    }
}

fn sites<'s>(
    state: &'s AppState,
    slug: &str,
    language: Language,
) -> Result<(&'s Sites, SiteKind), PageError> {
    match (state.demo.as_deref(), SiteKind::from_slug(slug)) {
        (Some(sites), Some(site)) => Ok((sites, site)),
        _ => Err(PageError::new(language, PageErrorKind::NotFound)),
    }
}

/// The response of a step that may fail: what it made, or the site's page
/// saying it did not work.
fn or_failed(language: Language, site: SiteKind, result: Result<Response, SiteError>) -> Response {
    result.unwrap_or_else(|error| failed(language, site, &error))
}

/// What went wrong, for the member, with the detail for whoever runs the demo.
fn failed(language: Language, site: SiteKind, error: &SiteError) -> Response {
    let (status, key) = match error {
        SiteError::UnknownFlow => (StatusCode::BAD_REQUEST, "demo-flow-unknown"),
        SiteError::Refused(_) => (StatusCode::BAD_REQUEST, "demo-refused"),
        SiteError::Provider(_) | SiteError::InvalidToken(_) => (StatusCode::BAD_GATEWAY, "demo-failed"),
        SiteError::Randomness => (StatusCode::INTERNAL_SERVER_ERROR, "demo-failed"),
    };
    tracing::warn!(site = site.client_id(), "demo sign-in failed: {error}");
    let page = SitePage::new(language, site, None).with_problem(language.text(key));
    (status, page).into_response()
}

#[derive(Deserialize)]
pub struct Visit {
    /// Set after a silent sign-in found no one: show the page as it is.
    guest: Option<String>,
}

/// A site opened at another address than the public one (`localhost` for
/// `127.0.0.1`) goes there first: the provider sends the browser back to
/// the public address, where the cookies of a sign-in begun elsewhere are
/// not. Only for a plain-http public URL, the demo on one's own machine: a
/// proxy in front of an https one may pass on a Host of its own.
fn at_public_address(state: &AppState, headers: &HeaderMap, path: &str) -> Option<Response> {
    if state.public_url.is_https() {
        return None;
    }
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let public = state.public_url.as_str();
    let public_host = public.split_once("://").map_or(public, |(_, rest)| rest);
    (!host.eq_ignore_ascii_case(public_host))
        .then(|| Redirect::to(&format!("{public}{path}")).into_response())
}

/// The site's home page: who is signed in and their memberships.
pub async fn show(
    State(state): State<AppState>,
    PagePath(slug): PagePath<String>,
    visit: Result<Query<Visit>, QueryRejection>,
    language: Language,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let (sites, site) = sites(&state, &slug, language)?;
    // A query that does not parse is a plain visit.
    let visit = visit.map_or(Visit { guest: None }, |Query(visit)| visit);
    if let Some(elsewhere) = at_public_address(&state, &headers, &format!("{}/", site.path())) {
        return Ok(elsewhere);
    }
    Ok(match sites.session(site, &headers) {
        Some(session) => SitePage::new(language, site, Some(&session)).into_response(),
        None if site.signs_in_silently() && visit.guest.is_none() => {
            or_failed(language, site, sites.start(site, true).await)
        }
        None => SitePage::new(language, site, None).into_response(),
    })
}

/// `/demo/website` is `/demo/website/`: the sites' cookies live under the slash.
pub async fn with_slash(
    State(state): State<AppState>,
    PagePath(slug): PagePath<String>,
    language: Language,
) -> Result<Redirect, PageError> {
    let (_, site) = sites(&state, &slug, language)?;
    Ok(Redirect::permanent(&format!("{}/", site.path())))
}

/// "Inloggen": to the provider's login page.
pub async fn log_in(
    State(state): State<AppState>,
    PagePath(slug): PagePath<String>,
    language: Language,
) -> Result<Response, PageError> {
    let (sites, site) = sites(&state, &slug, language)?;
    Ok(or_failed(language, site, sites.start(site, false).await))
}

#[derive(Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    iss: Option<String>,
    error: Option<String>,
}

/// The provider sends the browser back here with a code (or an error).
pub async fn callback(
    State(state): State<AppState>,
    PagePath(slug): PagePath<String>,
    answer: Result<Query<Callback>, QueryRejection>,
    language: Language,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let (sites, site) = sites(&state, &slug, language)?;
    // An answer that matches no sign-in of this browser (one used already,
    // after Back; an older tab's) changes nothing for a member signed in
    // here already: the site's page, not "not signed in".
    let unknown_flow = || match sites.session(site, &headers) {
        Some(_) => Redirect::to(&format!("{}/", site.path())).into_response(),
        None => failed(language, site, &SiteError::UnknownFlow),
    };
    // An answer that does not parse (a field twice) matches no sign-in.
    let Ok(Query(answer)) = answer else {
        return Ok(unknown_flow());
    };
    let Some(flow) = answer
        .state
        .as_deref()
        .and_then(|s| sites.take_flow(site, &headers, s))
    else {
        return Ok(unknown_flow());
    };
    let clear_flow = site_cookie(site.flow_cookie(), site, "", 0);
    if let Some(error) = answer.error {
        // Nobody is signed in at the provider: the e-book service shows its
        // page with "Inloggen" instead of asking.
        if flow.silent && matches!(error.as_str(), "login_required" | "interaction_required") {
            let page = Redirect::to(&format!("{}/?guest", site.path()));
            return Ok(([(header::SET_COOKIE, clear_flow)], page).into_response());
        }
        return Ok(failed(language, site, &SiteError::Refused(error)));
    }
    let Some(code) = answer.code else {
        return Ok(failed(language, site, &SiteError::Refused("no code".to_owned())));
    };
    let session = match sites.finish(&flow, &code, answer.iss.as_deref()).await {
        Ok(session) => session,
        Err(error) => return Ok(failed(language, site, &error)),
    };
    let id = match sites.keep(session) {
        Ok(id) => id,
        Err(error) => return Ok(failed(language, site, &error)),
    };
    let signed_in = site_cookie(site.session_cookie(), site, &id, SESSION_LIFETIME.as_secs());
    let mut response = Redirect::to(&format!("{}/", site.path())).into_response();
    response.headers_mut().append(header::SET_COOKIE, clear_flow);
    response.headers_mut().append(header::SET_COOKIE, signed_in);
    Ok(response)
}

/// "Uitloggen": ends the site's session and asks the provider to end its
/// own (RP-initiated logout), which then tells the other sites.
pub async fn log_out(
    State(state): State<AppState>,
    PagePath(slug): PagePath<String>,
    language: Language,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let (sites, site) = sites(&state, &slug, language)?;
    let Some(session) = sites.end(site, &headers) else {
        return Ok(Redirect::to(&format!("{}/", site.path())).into_response());
    };
    let discovery = match sites.discovery().await {
        Ok(discovery) => discovery,
        Err(error) => return Ok(failed(language, site, &error)),
    };
    let query = [
        ("id_token_hint", session.id_token.as_str()),
        ("client_id", site.client_id()),
        ("ui_locales", language.code()),
    ];
    let url = format!(
        "{}?{}",
        discovery.end_session_endpoint,
        serde_urlencoded::to_string(query).expect("strings encode")
    );
    let cleared = site_cookie(site.session_cookie(), site, "", 0);
    Ok(([(header::SET_COOKIE, cleared)], Redirect::to(&url)).into_response())
}

#[derive(Deserialize)]
pub struct LogoutToken {
    logout_token: String,
}

/// OpenID Connect Back-Channel Logout: the provider says a session ended.
pub async fn backchannel_logout(
    State(state): State<AppState>,
    PagePath(slug): PagePath<String>,
    language: Language,
    PageForm(form): PageForm<LogoutToken>,
) -> Result<Response, PageError> {
    let (sites, site) = sites(&state, &slug, language)?;
    let claims = match sites.discovery().await {
        Ok(discovery) => sites.verify(&discovery, &form.logout_token, site).await,
        Err(error) => Err(error),
    };
    let claims =
        match claims {
            Ok(claims)
                if claims.get("events").and_then(Value::as_object).is_some_and(|e| {
                    e.contains_key("http://schemas.openid.net/event/backchannel-logout")
                }) && !claims.contains_key("nonce") =>
            {
                claims
            }
            other => {
                if let Err(error) = other {
                    tracing::warn!(
                        site = site.client_id(),
                        "demo back-channel logout refused: {error}"
                    );
                }
                return Ok((StatusCode::BAD_REQUEST, "invalid logout token").into_response());
            }
        };
    let provider_session = string(&claims, "sid");
    let subject = string(&claims, "sub");
    sites.sessions.lock().expect("sessions lock").retain(|_, s| {
        let ended = s.site == site
            && match &provider_session {
                Some(sid) => s.provider_session.as_ref() == Some(sid),
                None => subject.as_ref() == Some(&s.subject),
            };
        !ended
    });
    Ok(([(header::CACHE_CONTROL, "no-store")], StatusCode::OK).into_response())
}
