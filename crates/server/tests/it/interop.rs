//! Interoperability: a third-party relying-party library (the `openidconnect`
//! crate) completes discovery, the code flow with PKCE, ID-token signature
//! and nonce validation, userinfo, refresh and logout against the running
//! server, with a browser simulated by a cookie-keeping HTTP client.

use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, HttpRequest, HttpResponse, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
    core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims},
};
use si_domain::AccountId;
use si_domain::{
    AccountStatus, AgeRange, BranchCode, CardNumber, DisplayName, Email, LibraryCode, Money,
    SubscriptionCode, SubscriptionTerms, TariffCode, Username,
};
use si_store::{
    Repositories, Store,
    accounts::NewAccount,
    catalogue::{Branch, Library, NewSubscriptionType, SubscriptionType},
    memberships::NewMembership,
    time::{Date, Month},
};

use single_identity::oidc::clients::{
    ClientId as RegisteredId, ClientKind, ClientRegistration, GrantType, IdTokenAlgorithm,
    Scope as ClientScope, register as register_client,
};

use crate::support::{TestApp, spawn_app, test_hashing};

/// Registers a relying party with the usual scopes at `REDIRECT_URI`;
/// returns its id and, for a confidential client, its secret.
pub async fn register(
    app: &TestApp,
    kind: ClientKind,
    algorithm: IdTokenAlgorithm,
) -> (String, Option<String>) {
    let grant_types = vec![GrantType::AuthorizationCode, GrantType::RefreshToken];
    register_with_grants(app, kind, algorithm, grant_types).await
}

/// [`register`] with these grant types.
pub async fn register_with_grants(
    app: &TestApp,
    kind: ClientKind,
    algorithm: IdTokenAlgorithm,
    grant_types: Vec<GrantType>,
) -> (String, Option<String>) {
    let scopes = ["openid", "profile", "email", "library"]
        .map(|s| ClientScope::parse(s).unwrap())
        .to_vec();
    let (client, secret) = register_client(
        &app.store,
        ClientRegistration {
            id: Some(RegisteredId::parse(&format!("rp-{:08x}", rand::random::<u32>())).unwrap()),
            name: DisplayName::parse("Mijn Menu").unwrap(),
            kind,
            redirect_uris: vec![REDIRECT_URI.to_owned()],
            post_logout_redirect_uris: vec!["http://127.0.0.1:9/logged-out".to_owned()],
            backchannel_logout_uri: None,
            grant_types,
            scopes,
            library: None,
            id_token_algorithm: algorithm,
        },
    )
    .await
    .expect("client registered");
    (client.id().to_string(), secret.map(|s| s.expose().to_owned()))
}

pub const REDIRECT_URI: &str = "http://127.0.0.1:9/callback";
pub const PASSWORD: &str = "Geheim!2024x";

/// The HTTP client the relying-party library uses.
async fn http(request: HttpRequest) -> Result<HttpResponse, reqwest::Error> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let response = client.execute(reqwest::Request::try_from(request)?).await?;
    let mut builder = http::Response::builder().status(response.status());
    for (name, value) in response.headers() {
        builder = builder.header(name, value);
    }
    let body = response.bytes().await?.to_vec();
    Ok(builder.body(body).expect("a response"))
}

/// A library with branch 5280 and a youth subscription, made once per database.
pub async fn library(store: &Store, code: &str, name: &str) -> (Library, Branch, SubscriptionType) {
    let catalogue = store.catalogue();
    let code = LibraryCode::parse(code).unwrap();
    let library = match catalogue.library(&code).await {
        Ok(library) => library,
        Err(_) => catalogue
            .create_library(&code, &DisplayName::parse(name).unwrap())
            .await
            .unwrap(),
    };
    let branch_code = BranchCode::parse("5280").unwrap();
    let branch = match catalogue.branch(&library.code, &branch_code).await {
        Ok(branch) => branch,
        Err(_) => catalogue
            .create_branch(&library.code, &branch_code, &DisplayName::parse("Assen").unwrap())
            .await
            .unwrap(),
    };
    let youth = SubscriptionCode::parse("JEUGD").unwrap();
    let subscription = match catalogue.subscription_type(&library.code, &youth).await {
        Ok(subscription) => subscription,
        Err(_) => {
            let terms = SubscriptionTerms::new(Money::ZERO, 12, AgeRange::new(0, Some(17)).unwrap()).unwrap();
            let new = NewSubscriptionType {
                code: youth.clone(),
                name: DisplayName::parse("Jeugd").unwrap(),
                tariff_code: TariffCode::parse("J01").unwrap(),
                terms,
            };
            catalogue
                .create_subscription_type(&library.code, &new)
                .await
                .unwrap()
        }
    };
    (library, branch, subscription)
}

/// Registers the account's owner at a library, valid until the end of May 2025.
pub async fn enroll(store: &Store, at: &(Library, Branch, SubscriptionType), account: AccountId) {
    store
        .memberships()
        .create(NewMembership {
            library: &at.0,
            branch: &at.1,
            subscription: &at.2,
            card_number: CardNumber::parse(&format!("2000000{:07}", rand_number())).unwrap(),
            member_name: DisplayName::parse("Sanne de Vries").unwrap(),
            birth_date: Date::from_calendar_date(2015, Month::March, 3).unwrap(),
            email: Some(Email::parse("ouders@example.nl").unwrap()),
            valid_until: Date::from_calendar_date(2025, Month::May, 31).unwrap(),
            account: Some(account),
        })
        .await
        .unwrap();
}

/// A member of library DRE01 with an active account and the password `PASSWORD`.
pub async fn member(store: &Store, username: &str) -> si_store::accounts::Account {
    let drenthe = library(store, "DRE01", "Biblionet Drenthe").await;
    let params = si_credentials::Argon2Params::new(test_hashing().memory_kib, 1, 1).unwrap();
    let account = store
        .accounts()
        .create(NewAccount {
            username: Username::parse(username).unwrap(),
            email: Some(Email::parse("ouders@example.nl").unwrap()),
            status: AccountStatus::Active,
            language: "nl".into(),
            password_hash: Some(si_credentials::hash_password(PASSWORD, &params).unwrap()),
        })
        .await
        .unwrap();
    enroll(store, &drenthe, account.id).await;
    account
}

fn rand_number() -> u32 {
    rand::random::<u32>() % 10_000_000
}

/// A browser: keeps cookies, follows nothing by itself.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The value of a hidden form field on a page.
/// The member's own "Uitloggen" button, on the account page.
pub async fn press_log_out(app: &TestApp, browser: &reqwest::Client) -> reqwest::Response {
    let page = browser.get(app.url("/account")).send().await.unwrap();
    let csrf = hidden_field(&page.text().await.unwrap(), "csrf");
    let form = [("csrf", csrf)];
    browser.post(app.url("/logout")).form(&form).send().await.unwrap()
}

/// The guide's "Tot de volgende keer" page that a logout returning to no
/// website ends on: its answer sends the browser on to an address of its
/// own, so that no ID token stays in the browser's history.
pub async fn shown_after_logout(
    app: &TestApp,
    browser: &reqwest::Client,
    answer: reqwest::Response,
) -> String {
    assert_eq!(answer.status(), 303);
    let location = answer.headers()["location"].to_str().unwrap();
    assert!(location.starts_with("/logout/done"), "{location}");
    let page = browser.get(app.url(location)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("Tot de volgende keer"), "{page}");
    page
}

/// Every hidden field of the page's forms, as the browser would send them.
pub fn hidden_fields(page: &str) -> Vec<(String, String)> {
    let marker = r#"<input type="hidden" name=""#;
    page.match_indices(marker)
        .map(|(at, _)| {
            let rest = &page[at + marker.len()..];
            let name = &rest[..rest.find('"').unwrap()];
            // Read from this field on: a name given twice reads this one.
            (name.to_owned(), hidden_field(&page[at..], name))
        })
        .collect()
}

pub fn hidden_field(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no field {name} in {page}"))
        + marker.len();
    let end = page[start..].find('"').unwrap() + start;
    attribute_value(&page[start..end])
}

/// An attribute's value as the browser reads it: the page's escapes undone.
pub fn attribute_value(escaped: &str) -> String {
    escaped
        .replace("&#38;", "&")
        .replace("&amp;", "&")
        .replace("&#61;", "=")
        .replace("&#43;", "+")
}

/// The hidden fields of the login page a browser is sent to.
pub struct LoginForm {
    csrf: String,
    request: String,
}

impl LoginForm {
    /// Follows `authorize_url` to the login page; `None` when the browser is
    /// signed in already and goes straight back (the URL it goes to).
    pub async fn open(app: &TestApp, browser: &reqwest::Client, authorize_url: &str) -> Result<Self, String> {
        let response = browser.get(authorize_url).send().await.unwrap();
        assert_eq!(response.status(), 303, "authorize answers with a redirect");
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        if !location.starts_with("/login") {
            return Err(location);
        }
        Ok(Self::open_page(app, browser, &location).await)
    }

    /// The login page at `path` (`/login?…`).
    pub async fn open_page(app: &TestApp, browser: &reqwest::Client, path: &str) -> Self {
        let page = browser
            .get(app.url(path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("<h1>Inloggen</h1>"), "{page}");
        Self::of(&page)
    }

    /// The form of a login page already fetched, in either language.
    pub fn of(page: &str) -> Self {
        Self {
            csrf: hidden_field(page, "csrf"),
            request: hidden_field(page, "request"),
        }
    }

    pub fn filled(&self, username: &str, password: &str) -> [(&'static str, String); 4] {
        [
            ("csrf", self.csrf.clone()),
            ("request", self.request.clone()),
            ("username", username.to_owned()),
            ("password", password.to_owned()),
        ]
    }
}

/// Follows the authorization URL as a browser would, logging in when asked,
/// and returns the URL the browser is finally sent to at the client.
pub async fn log_in_through(
    app: &TestApp,
    browser: &reqwest::Client,
    authorize_url: &str,
    username: &str,
    password: &str,
) -> String {
    let form = match LoginForm::open(app, browser, authorize_url).await {
        Ok(form) => form.filled(username, password),
        Err(signed_in) => return signed_in,
    };
    let response = browser.post(app.url("/login")).form(&form).send().await.unwrap();
    assert_eq!(response.status(), 303, "a good login goes back to the client");
    response.headers()["location"].to_str().unwrap().to_owned()
}

pub fn query_value(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

#[tokio::test]
async fn a_third_party_relying_party_library_completes_the_whole_flow() {
    let app = spawn_app().await;
    let account = member(&app.store, "sanne.devries").await;
    let (client_id, secret) = register(&app, ClientKind::Confidential, IdTokenAlgorithm::Rs256).await;
    let secret = secret.expect("a confidential client has a secret");
    let issuer = IssuerUrl::new(app.url("")).unwrap();
    let provider = CoreProviderMetadata::discover_async(issuer, &http)
        .await
        .expect("discovery");
    let client = CoreClient::from_provider_metadata(
        provider,
        ClientId::new(client_id.clone()),
        Some(ClientSecret::new(secret)),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT_URI.into()).unwrap());

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("library".into()))
        .set_pkce_challenge(challenge)
        .url();
    let browser = browser();
    let back = log_in_through(&app, &browser, url.as_str(), "sanne.devries", PASSWORD).await;
    assert!(back.starts_with(REDIRECT_URI), "{back}");
    assert_eq!(
        query_value(&back, "state").as_deref(),
        Some(csrf.secret().as_str())
    );
    assert_eq!(query_value(&back, "iss").as_deref(), Some(app.url("").as_str()));
    let code = query_value(&back, "code").expect("a code");

    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("code exchange");
    let id_token = tokens.id_token().expect("an ID token");
    let claims = id_token
        .claims(&client.id_token_verifier(), &nonce)
        .expect("a valid ID token");
    assert_eq!(claims.subject().as_str(), account.id.to_string());
    assert_eq!(
        claims.preferred_username().map(|u| u.as_str()),
        Some("sanne.devries")
    );
    assert_eq!(claims.email().map(|e| e.as_str()), Some("ouders@example.nl"));

    let userinfo: CoreUserInfoClaims = client
        .user_info(tokens.access_token().clone(), None)
        .unwrap()
        .request_async(&http)
        .await
        .expect("userinfo");
    assert_eq!(userinfo.subject().as_str(), account.id.to_string());
    let raw: serde_json::Value = app
        .client
        .get(app.url("/userinfo"))
        .bearer_auth(tokens.access_token().secret())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(raw["memberships"][0]["library_code"], "DRE01");
    assert_eq!(raw["memberships"][0]["subscription_type"], "JEUGD");
    assert_eq!(raw["memberships"][0]["subscription_name"], "Jeugd");
    assert_eq!(raw["memberships"][0]["valid_until"], "2025-05-31");
    assert_eq!(raw["name"], "Sanne de Vries");

    let refreshed = client
        .exchange_refresh_token(tokens.refresh_token().expect("a refresh token"))
        .unwrap()
        .request_async(&http)
        .await
        .expect("refresh");
    assert_ne!(
        refreshed.refresh_token().unwrap().secret(),
        tokens.refresh_token().unwrap().secret()
    );
    // The old refresh token is spent: using it again is reuse and revokes the family.
    let reuse = client
        .exchange_refresh_token(tokens.refresh_token().unwrap())
        .unwrap()
        .request_async(&http)
        .await;
    assert!(reuse.is_err());
    let after_reuse = client
        .exchange_refresh_token(refreshed.refresh_token().unwrap())
        .unwrap()
        .request_async(&http)
        .await;
    assert!(after_reuse.is_err(), "reuse revoked the whole family");

    // Single sign-on: a second authorization needs no password.
    let (url, _, _) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(PkceCodeChallenge::new_random_sha256().0)
        .url();
    let again = browser.get(url.as_str()).send().await.unwrap();
    assert_eq!(again.status(), 303);
    assert!(
        again.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with(REDIRECT_URI)
    );

    // Logout with the ID token as hint ends the session at once and shows
    // the guide's page; the refresh token of the session stops working.
    let logout = browser
        .get(app.url("/logout"))
        .query(&[("id_token_hint", id_token.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(
        logout.headers()["location"],
        "/logout/done?lang=nl",
        "no ID token left in the history"
    );
    let page = shown_after_logout(&app, &browser, logout).await;
    assert!(page.contains("Je bent nu succesvol uitgelogd."));
    assert!(page.contains("Terug naar de loginpagina"));
    let after = browser.get(url.as_str()).send().await.unwrap();
    assert!(
        after.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login"),
        "logged out: the password is asked again"
    );
    app.stop().await;
}
