//! The RFC 9700 MUSTs and the login rules, each as an attack or a mistake a
//! client or a person could make.

use std::{sync::Arc, time::Duration};

use si_domain::{AccountStatus, DisplayName, Email, LibraryCode, Username};
use si_store::{Backend, Repositories, accounts::NewAccount, housekeeping::Retention};
use single_identity::{
    config::Config,
    oidc::{
        clients::{
            ClientId as RegisteredId, ClientKind, ClientRegistration, GrantType, IdTokenAlgorithm, Scope,
            register,
        },
        keys::{Keyring, SealingKey, SigningAlgorithm},
    },
};

use crate::{
    interop::{
        LoginForm, PASSWORD, REDIRECT_URI, browser, hidden_field, hidden_fields, library, log_in_through,
        member, press_log_out, query_value, register as register_rp, shown_after_logout,
    },
    selfservice::{keep_hashing_busy, until_hash_queue_holds},
    support::{ATTEMPTS_TO_MEET_AN_ENDED_CONNECTION, TestApp, spawn_app, spawn_app_with, spawn_quiet_app},
};

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn authorize_url(app: &TestApp, client_id: &str, extra: &[(&str, &str)]) -> String {
    let mut query = vec![
        ("client_id", client_id),
        ("redirect_uri", REDIRECT_URI),
        ("response_type", "code"),
        ("scope", "openid email"),
        ("state", "st-123"),
        ("nonce", "n-456"),
    ];
    for (key, value) in extra {
        query.retain(|(k, _)| k != key);
        query.push((key, value));
    }
    query.retain(|(_, v)| !v.is_empty());
    format!(
        "{}?{}",
        app.url("/authorize"),
        serde_urlencoded::to_string(&query).unwrap()
    )
}

pub async fn exchange(
    app: &TestApp,
    client_id: &str,
    secret: Option<&str>,
    form: &[(&str, &str)],
) -> (u16, serde_json::Value) {
    let mut request = app.client.post(app.url("/token"));
    if let Some(secret) = secret {
        request = request.basic_auth(client_id, Some(secret));
    }
    let mut form: Vec<(&str, &str)> = form.to_vec();
    if secret.is_none() {
        form.push(("client_id", client_id));
    }
    let response = request.form(&form).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

/// Logs `username` in through `browser` with PKCE, and `extra` on the
/// authorization request; the code the client got back.
async fn code_after_login(
    app: &TestApp,
    browser: &reqwest::Client,
    client_id: &str,
    username: &str,
    extra: &[(&str, &str)],
) -> String {
    let mut query = vec![("code_challenge", CHALLENGE), ("code_challenge_method", "S256")];
    query.extend_from_slice(extra);
    let back = log_in_through(
        app,
        browser,
        &authorize_url(app, client_id, &query),
        username,
        PASSWORD,
    )
    .await;
    query_value(&back, "code").unwrap()
}

/// The refresh token a confidential client gets for `code`.
async fn refresh_token_for(app: &TestApp, client_id: &str, secret: &str, code: &str) -> String {
    let (_, tokens) = exchange(app, client_id, Some(secret), &code_exchange(code)).await;
    tokens["refresh_token"].as_str().unwrap().to_owned()
}

/// An app with the member "sanne" and a confidential client (ES256 ID
/// tokens): the client's id and secret.
async fn sanne_and_a_client() -> (TestApp, String, String) {
    let app = spawn_app().await;
    member(&app.store, "sanne").await;
    let (client_id, secret) = register_rp(&app, ClientKind::Confidential, IdTokenAlgorithm::Es256).await;
    (app, client_id, secret.unwrap())
}

/// The tokens of a login through the code flow, and those its refresh
/// token then gave (the first refresh token is used up).
async fn login_and_first_refresh(
    app: &TestApp,
    client_id: &str,
    secret: &str,
) -> (serde_json::Value, serde_json::Value) {
    let code = code_for(app, client_id, Some(CHALLENGE)).await;
    let (_, tokens) = exchange(app, client_id, Some(secret), &code_exchange(&code)).await;
    let first = tokens["refresh_token"].as_str().unwrap();
    let refresh = [("grant_type", "refresh_token"), ("refresh_token", first)];
    let (status, rotated) = exchange(app, client_id, Some(secret), &refresh).await;
    assert_eq!(status, 200, "{rotated}");
    (tokens, rotated)
}

/// The access tokens of one login, from its code and from each of two
/// refreshes, and its refresh tokens in the order they were given.
async fn login_and_two_refreshes(app: &TestApp, client_id: &str, secret: &str) -> ([String; 3], [String; 3]) {
    let (tokens, rotated) = login_and_first_refresh(app, client_id, secret).await;
    let refresh = [
        ("grant_type", "refresh_token"),
        ("refresh_token", rotated["refresh_token"].as_str().unwrap()),
    ];
    let (status, newest) = exchange(app, client_id, Some(secret), &refresh).await;
    assert_eq!(status, 200, "{newest}");
    let field =
        |name: &str| [&tokens, &rotated, &newest].map(|given| given[name].as_str().unwrap().to_owned());
    (field("access_token"), field("refresh_token"))
}

/// An access token the provider no longer honours: `/userinfo` refuses it
/// and `/introspect` calls it inactive.
async fn assert_access_token_ended(app: &TestApp, client_id: &str, secret: &str, access: &str, why: &str) {
    assert_eq!(userinfo_status(app, access).await, 401, "{why}");
    assert_eq!(
        introspect(app, client_id, secret, access).await["active"],
        false,
        "{why}"
    );
}

/// A token request the server must refuse with `invalid_grant`.
async fn assert_invalid_grant(app: &TestApp, client_id: &str, secret: &str, form: &[(&str, &str)]) {
    let (status, body) = exchange(app, client_id, Some(secret), form).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
}

/// Revokes `token` as the client (RFC 7009): 200 for its own tokens, and
/// for tokens that are no longer (or never were) valid.
async fn revoke(app: &TestApp, client_id: &str, secret: &str, token: &str) {
    let (status, body) = revocation(app, client_id, secret, token).await;
    assert_eq!(status, 200, "{body}");
}

/// `/revoke`'s answer to the client sending `token`.
async fn revocation(app: &TestApp, client_id: &str, secret: &str, token: &str) -> (u16, serde_json::Value) {
    let answer = app
        .client
        .post(app.url("/revoke"))
        .basic_auth(client_id, Some(secret))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    (answer.status().as_u16(), answer.json().await.unwrap())
}

/// What `/introspect` says of `token`, asked by the client.
async fn introspect(app: &TestApp, client_id: &str, secret: &str, token: &str) -> serde_json::Value {
    let response = app
        .client
        .post(app.url("/introspect"))
        .basic_auth(client_id, Some(secret))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body = response.text().await.unwrap();
    serde_json::from_str(&body).unwrap_or_else(|_| panic!("{status}: {body}"))
}

/// The status `/userinfo` answers an access token with.
pub async fn userinfo_status(app: &TestApp, access: &str) -> u16 {
    let response = app
        .client
        .get(app.url("/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    response.status().as_u16()
}

/// What `/userinfo` says about the member of `access`.
async fn userinfo(app: &TestApp, access: &serde_json::Value) -> serde_json::Value {
    let response = app
        .client
        .get(app.url("/userinfo"))
        .bearer_auth(access.as_str().unwrap())
        .send()
        .await
        .unwrap();
    response.json().await.unwrap()
}

/// The token request that exchanges `code` with the right verifier.
pub fn code_exchange(code: &str) -> [(&'static str, &str); 4] {
    [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", VERIFIER),
    ]
}

/// A code for `sanne` at a confidential client, with or without PKCE.
async fn code_for(app: &TestApp, client_id: &str, challenge: Option<&str>) -> String {
    let extra: Vec<(&str, &str)> = match challenge {
        Some(challenge) => vec![("code_challenge", challenge), ("code_challenge_method", "S256")],
        None => vec![],
    };
    let back = log_in_through(
        app,
        &browser(),
        &authorize_url(app, client_id, &extra),
        "sanne",
        PASSWORD,
    )
    .await;
    query_value(&back, "code").unwrap_or_else(|| panic!("no code in {back}"))
}

#[tokio::test]
async fn an_unregistered_redirect_uri_or_client_gets_a_page_never_a_redirect() {
    let app = spawn_app().await;
    let (client_id, _) = register_rp(&app, ClientKind::Confidential, IdTokenAlgorithm::Rs256).await;
    for url in [
        authorize_url(
            &app,
            &client_id,
            &[("redirect_uri", "http://127.0.0.1:9/callback/other")],
        ),
        authorize_url(
            &app,
            &client_id,
            &[("redirect_uri", "https://evil.example/callback")],
        ),
        authorize_url(&app, "no-such-client", &[]),
        authorize_url(&app, &client_id, &[("redirect_uri", "")]),
    ] {
        let response = app.client.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 400, "{url}");
        assert!(response.headers().get("location").is_none(), "{url}");
        assert!(response.text().await.unwrap().contains("Inloggen lukt zo niet"));
    }
    app.stop().await;
}

#[tokio::test]
async fn other_errors_go_back_to_the_client_with_state_and_issuer() {
    let app = spawn_app().await;
    let (public_id, _) = register_rp(&app, ClientKind::Public, IdTokenAlgorithm::Rs256).await;
    let cases = [
        (authorize_url(&app, &public_id, &[]), "invalid_request"),
        (
            authorize_url(
                &app,
                &public_id,
                &[("code_challenge", CHALLENGE), ("code_challenge_method", "plain")],
            ),
            "invalid_request",
        ),
        (
            authorize_url(&app, &public_id, &[("code_challenge_method", "S256")]),
            "invalid_request",
        ),
        // 43 base64url characters whose last one has bits no SHA-256 sets:
        // no verifier could ever be hashed to it.
        (
            authorize_url(
                &app,
                &public_id,
                &[
                    ("code_challenge", &format!("{}B", "A".repeat(42))),
                    ("code_challenge_method", "S256"),
                ],
            ),
            "invalid_request",
        ),
        (
            authorize_url(
                &app,
                &public_id,
                &[
                    ("code_challenge", CHALLENGE),
                    ("code_challenge_method", "S256"),
                    ("response_type", "token"),
                ],
            ),
            "unsupported_response_type",
        ),
        (
            authorize_url(
                &app,
                &public_id,
                &[
                    ("code_challenge", CHALLENGE),
                    ("code_challenge_method", "S256"),
                    ("scope", "openid desk:register"),
                ],
            ),
            "invalid_scope",
        ),
        (
            authorize_url(
                &app,
                &public_id,
                &[
                    ("code_challenge", CHALLENGE),
                    ("code_challenge_method", "S256"),
                    ("prompt", "none"),
                ],
            ),
            "login_required",
        ),
    ];
    let pkce = [("code_challenge", CHALLENGE), ("code_challenge_method", "S256")];
    let refused = [
        (("prompt", "none login"), "invalid_request"),
        (("prompt", "whenever"), "invalid_request"),
        (("request", "eyJhbGciOiJub25lIn0.e30."), "request_not_supported"),
        (
            ("request_uri", "https://rp.example/request.jwt"),
            "request_uri_not_supported",
        ),
        (
            ("registration", r#"{"client_name":"rp"}"#),
            "registration_not_supported",
        ),
        (("response_mode", "form_post"), "invalid_request"),
        (("response_type", ""), "invalid_request"),
    ];
    let refused = refused.map(|(parameter, error)| {
        (
            authorize_url(&app, &public_id, &[pkce[0], pkce[1], parameter]),
            error,
        )
    });
    // A parameter twice (RFC 6749 3.1), with the client and its redirect
    // URI given once: the client hears it.
    let twice = (
        format!("{}&scope=profile", authorize_url(&app, &public_id, &pkce)),
        "invalid_request",
    );
    // The same request as a form (OIDC Core 3.1.2.1), its scope twice.
    // Without the session cookie, which a browser holds back from another
    // site's form, it is posted again from a page of ours, marked as carried.
    let (_, query) = twice.0.split_once('?').unwrap();
    let post = |body: String| {
        app.client
            .post(app.url("/authorize"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let carry = post(query.to_owned()).await.unwrap();
    assert_eq!(carry.status(), 200);
    let page = carry.text().await.unwrap();
    assert!(
        page.contains(r#"<form method="post" action="/authorize" id="carry-on">"#),
        "{page}"
    );
    assert_eq!(hidden_field(&page, "client_id"), public_id);
    assert_eq!(hidden_field(&page, "carried"), "1");
    // Only the form leads on: a link away (language, help) could not come
    // back to a request that lives in it alone.
    assert!(!page.contains("/language/") && !page.contains("/help"), "{page}");
    // Carried once, it is answered, cookie or not.
    let posted = post(format!("{query}&carried=1")).await.unwrap();
    assert_eq!(posted.status(), 303);
    let location = posted.headers()["location"].to_str().unwrap();
    assert!(location.starts_with(REDIRECT_URI), "{location}");
    assert_eq!(query_value(location, "error").as_deref(), Some("invalid_request"));
    // A state given twice cannot go back as it came: the member gets the
    // page, as for a wrong redirect URI.
    let url = format!("{}&state=other", authorize_url(&app, &public_id, &pkce));
    let response = app.client.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 400, "{url}");
    assert!(response.headers().get("location").is_none(), "{url}");
    // A nonce that is not UTF-8 cannot come back unchanged in the ID token.
    let not_text = (
        format!("{}&nonce=n%FF", authorize_url(&app, &public_id, &pkce)).replace("&nonce=n-456", ""),
        "invalid_request",
    );
    for (url, error) in cases.into_iter().chain(refused).chain([twice, not_text]) {
        let response = app.client.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 303, "{url}");
        let location = response.headers()["location"].to_str().unwrap();
        assert!(location.starts_with(REDIRECT_URI), "{location}");
        assert_eq!(query_value(location, "error").as_deref(), Some(error), "{url}");
        assert_eq!(query_value(location, "state").as_deref(), Some("st-123"));
        assert_eq!(
            query_value(location, "iss").as_deref(),
            Some(app.url("").as_str())
        );
    }
    app.stop().await;
}

/// Some frameworks keep their own data, encrypted, in `state`: it comes
/// back whole through the login page. Past 2,048 characters it is refused
/// with the page: an error must go back with the state (RFC 6749
/// 4.1.2.1), and one that long would not pass every proxy on its way.
#[tokio::test]
async fn a_long_state_comes_back_whole_and_one_too_long_is_refused() {
    let app = spawn_app().await;
    member(&app.store, "sanne").await;
    let (client_id, _) = register_rp(&app, ClientKind::Public, IdTokenAlgorithm::Rs256).await;
    let pkce = [("code_challenge", CHALLENGE), ("code_challenge_method", "S256")];
    let long_state = format!("CfDJ8{}", "Ab-_9".repeat(300));
    let mut query = pkce.to_vec();
    query.push(("state", &long_state));
    let url = authorize_url(&app, &client_id, &query);
    let back = log_in_through(&app, &browser(), &url, "sanne", PASSWORD).await;
    assert!(query_value(&back, "code").is_some(), "{back}");
    assert_eq!(query_value(&back, "state"), Some(long_state));

    let too_long = "x".repeat(2049);
    let mut query = pkce.to_vec();
    query.push(("state", &too_long));
    let response = browser()
        .get(authorize_url(&app, &client_id, &query))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.headers().get("location").is_none());
    app.stop().await;
}

/// A NUL byte is text SQLite keeps and PostgreSQL refuses: on either
/// database it gets the answer any wrong input gets, never a 500.
#[tokio::test]
async fn a_nul_in_a_nonce_or_a_username_gets_the_usual_refusal() {
    let app = spawn_app().await;
    member(&app.store, "sanne").await;
    let (client_id, _) = register_rp(&app, ClientKind::Public, IdTokenAlgorithm::Rs256).await;
    let pkce = [("code_challenge", CHALLENGE), ("code_challenge_method", "S256")];

    let mut query = pkce.to_vec();
    query.push(("nonce", "n\0n"));
    query.push(("state", "kept"));
    let response = browser()
        .get(authorize_url(&app, &client_id, &query))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let back = response.headers()["location"].to_str().unwrap();
    assert_eq!(
        query_value(back, "error").as_deref(),
        Some("invalid_request"),
        "{back}"
    );
    assert_eq!(query_value(back, "state").as_deref(), Some("kept"));

    let browser = browser();
    let url = authorize_url(&app, &client_id, &pkce);
    let form = LoginForm::open(&app, &browser, &url).await.unwrap();
    let refused = browser
        .post(app.url("/login"))
        .form(&form.filled("sa\0nne", PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let page = refused.text().await.unwrap();
    assert!(
        page.contains("Gebruikersnaam of wachtwoord klopt niet"),
        "the page any wrong login gets"
    );
    // The username stays filled in: the keyboard starts at the password.
    let input = |id: &str| {
        let start = page.find(&format!(r#"<input id="{id}""#)).unwrap();
        page[start..start + page[start..].find('>').unwrap()].to_owned()
    };
    assert!(input("password").contains("autofocus"), "{page}");
    assert!(!input("username").contains("autofocus"), "{page}");
    // A field left empty is said as such, and counts for nothing.
    for (username, password) in [("", PASSWORD), ("sanne", ""), ("  ", "")] {
        let empty = browser
            .post(app.url("/login"))
            .form(&form.filled(username, password))
            .send()
            .await
            .unwrap();
        assert_eq!(empty.status(), 422, "{username:?} {password:?}");
        let page = empty.text().await.unwrap();
        assert!(
            page.contains("Vul je gebruikersnaam en je wachtwoord in."),
            "{page}"
        );
        // The field left empty is marked and has the focus.
        let field = |id: &str| {
            let start = page.find(&format!(r#"<input id="{id}""#)).unwrap();
            page[start..start + page[start..].find('>').unwrap()].to_owned()
        };
        let (empty_one, other) = if username.trim().is_empty() {
            ("username", "password")
        } else {
            ("password", "username")
        };
        assert!(
            field(empty_one).contains(r#"aria-invalid="true""#),
            "{}",
            field(empty_one)
        );
        assert!(field(empty_one).contains("autofocus"), "{}", field(empty_one));
        assert!(!field(other).contains("autofocus"), "{}", field(other));
        // The other is marked too when it is empty as well, and only then.
        assert_eq!(
            field(other).contains(r#"aria-invalid="true""#),
            password.is_empty() && username.trim().is_empty(),
            "{}",
            field(other)
        );
    }
    // The member logs in as before.
    let back = log_in_through(&app, &browser, &url, "sanne", PASSWORD).await;
    assert!(query_value(&back, "code").is_some(), "{back}");
    app.stop().await;
}

/// RFC 6749 2.3: one authentication per request. Two `Authorization`
/// headers are refused, not read as whichever comes first.
#[tokio::test]
async fn two_authorization_headers_are_refused() {
    let (app, client_id, secret) = sanne_and_a_client().await;
    let code = code_for(&app, &client_id, Some(CHALLENGE)).await;
    let basic = |id: &str, secret: &str| {
        let pair = base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("{id}:{secret}"),
        );
        format!("Basic {pair}")
    };
    let response = app
        .client
        .post(app.url("/token"))
        .header("authorization", basic(&client_id, &secret))
        .header("authorization", basic("someone-else", "guess"))
        .form(&code_exchange(&code))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request", "{body}");
    // The code was not spent by the refused request.
    let (status, tokens) = exchange(&app, &client_id, Some(&secret), &code_exchange(&code)).await;
    assert_eq!(status, 200, "{tokens}");

    let access = tokens["access_token"].as_str().unwrap();
    let response = app
        .client
        .get(app.url("/userinfo"))
        .header("authorization", format!("Bearer {access}"))
        .header("authorization", "Bearer forged")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    app.stop().await;
}

#[tokio::test]
async fn requests_are_read_as_oidc_core_and_rfc_6749_write_them() {
    let (app, client_id, secret) = sanne_and_a_client().await;

    // POST as well as GET; prompt is a list; an empty value is no value.
    let url = authorize_url(&app, &client_id, &[("prompt", "login consent")]);
    let (_, query) = url.split_once('?').unwrap();
    let mut form: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap();
    form.push(("max_age".to_owned(), String::new()));
    let posted = app
        .client
        .post(app.url("/authorize"))
        .header("cookie", "si_session=stale")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 303);
    let location = posted.headers()["location"].to_str().unwrap();
    assert!(location.starts_with("/login?"), "{location}");

    // And so no second value either: read as at the token endpoint.
    let twice_once_empty = format!(
        "{}&prompt=",
        authorize_url(&app, &client_id, &[("prompt", "login")])
    );
    let answer = app.client.get(&twice_once_empty).send().await.unwrap();
    assert_eq!(answer.status(), 303);
    let location = answer.headers()["location"].to_str().unwrap();
    assert!(location.starts_with("/login?"), "{location}");
    assert!(location.contains("prompt=login"), "{location}");
    // Also when the request is refused: the empty `state` is none, so the
    // error goes back with the one that has a value.
    let without = authorize_url(&app, &client_id, &[("state", ""), ("nonce", "")]);
    let refused = format!("{without}&state=abc&nonce=%FF&state=");
    let answer = app.client.get(&refused).send().await.unwrap();
    assert_eq!(answer.status(), 303);
    let location = answer.headers()["location"].to_str().unwrap();
    assert_eq!(
        query_value(location, "state").as_deref(),
        Some("abc"),
        "{location}"
    );
    assert_eq!(query_value(location, "error").as_deref(), Some("invalid_request"));

    // A method without a challenge is told so.
    let method_only = authorize_url(&app, &client_id, &[("code_challenge_method", "S256")]);
    let answer = app.client.get(&method_only).send().await.unwrap();
    let location = answer.headers()["location"].to_str().unwrap();
    assert_eq!(
        query_value(location, "error_description").as_deref(),
        Some("code_challenge_method is given without a code_challenge"),
        "{location}"
    );

    // A refresh with an empty scope keeps the grant's scope; the scheme's
    // name is case-insensitive.
    let code = code_for(&app, &client_id, Some(CHALLENGE)).await;
    let (_, tokens) = exchange(&app, &client_id, Some(&secret), &code_exchange(&code)).await;
    let credentials = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("{client_id}:{secret}"),
    );
    let response = app
        .client
        .post(app.url("/token"))
        .header("authorization", format!("basic {credentials}"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ("scope", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let refreshed: serde_json::Value = response.json().await.unwrap();
    assert_eq!(refreshed["scope"], tokens["scope"]);
    assert!(refreshed["id_token"].is_string(), "{refreshed}");
    app.stop().await;
}

#[tokio::test]
async fn pkce_must_match_and_cannot_be_downgraded() {
    let app = spawn_app().await;
    member(&app.store, "sanne").await;
    let (client_id, secret) = register_rp(&app, ClientKind::Confidential, IdTokenAlgorithm::Rs256).await;
    let secret = secret.unwrap();

    let code = code_for(&app, &client_id, Some(CHALLENGE)).await;
    let base = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT_URI),
    ];
    let (status, body) = exchange(&app, &client_id, Some(&secret), &base).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "missing verifier"
    );
    // The description says what is wrong, for the website's developer.
    let described = body["error_description"].as_str().unwrap();
    assert!(described.contains("code_verifier is required"), "{described}");

    let code = code_for(&app, &client_id, Some(CHALLENGE)).await;
    let malformed = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", "abc"),
    ];
    let (status, body) = exchange(&app, &client_id, Some(&secret), &malformed).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
    let described = body["error_description"].as_str().unwrap();
    assert!(
        described.starts_with("code_verifier is not 43 to 128 characters"),
        "{described}"
    );

    let code = code_for(&app, &client_id, Some(CHALLENGE)).await;
    let wrong = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXl"),
    ];
    let (status, body) = exchange(&app, &client_id, Some(&secret), &wrong).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "wrong verifier"
    );
    assert_eq!(body["error_description"], "code_verifier does not match");
    // The refused request spent the code, and the retry is told so.
    let (status, body) = exchange(&app, &client_id, Some(&secret), &code_exchange(&code)).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["error_description"],
        "the code was already used: its first token request spends it, also one that failed"
    );

    // Downgrade: no challenge at /authorize, a verifier at /token.
    let code = code_for(&app, &client_id, None).await;
    let downgrade = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", VERIFIER),
    ];
    let (status, body) = exchange(&app, &client_id, Some(&secret), &downgrade).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "downgrade"
    );

    let code = code_for(&app, &client_id, Some(CHALLENGE)).await;
    let other_uri = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", "http://127.0.0.1:9/elsewhere"),
        ("code_verifier", VERIFIER),
    ];
    let (status, _) = exchange(&app, &client_id, Some(&secret), &other_uri).await;
    assert_eq!(status, 400, "redirect_uri must match");
    app.stop().await;
}

#[tokio::test]
async fn a_replayed_code_fails_and_revokes_what_it_gave() {
    let app = spawn_app().await;
    member(&app.store, "sanne").await;
    let (client_id, secret) = register_rp(&app, ClientKind::Confidential, IdTokenAlgorithm::Rs256).await;
    let secret = secret.unwrap();
    let code = code_for(&app, &client_id, Some(CHALLENGE)).await;
    let form = code_exchange(&code);
    let (status, tokens) = exchange(&app, &client_id, Some(&secret), &form).await;
    assert_eq!(status, 200, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let first_refresh = tokens["refresh_token"].as_str().unwrap();
    // The thief's copy comes in after two refreshes: their tokens go as well.
    let mut refresh = first_refresh.to_owned();
    let mut given = vec![access];
    for _ in 0..2 {
        let refreshed = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
        ];
        let (_, rotated) = exchange(&app, &client_id, Some(&secret), &refreshed).await;
        refresh = rotated["refresh_token"].as_str().unwrap().to_owned();
        given.push(rotated["access_token"].as_str().unwrap().to_owned());
    }
    assert_eq!(userinfo_status(&app, &given[2]).await, 200);

    let (status, body) = exchange(&app, &client_id, Some(&secret), &form).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));

    for access in &given {
        let why = "the access tokens from the replayed code and each refresh are revoked";
        assert_access_token_ended(&app, &client_id, &secret, access, why).await;
    }
    let (status, body) = exchange(
        &app,
        &client_id,
        Some(&secret),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "its refresh token is revoked"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_code_sent_by_another_client_or_without_its_verifier_ends_nothing() {
    let app = spawn_app().await;
    member(&app.store, "sanne").await;
    let (client_id, secret) = register_rp(&app, ClientKind::Confidential, IdTokenAlgorithm::Rs256).await;
    let secret = secret.unwrap();
    // A public client's id is no secret: anyone who saw the code can send it as that client.
    let (public_id, _) = register_rp(&app, ClientKind::Public, IdTokenAlgorithm::Rs256).await;
    let code = code_for(&app, &client_id, Some(CHALLENGE)).await;
    let form = code_exchange(&code);

    let (status, body) = exchange(&app, &public_id, None, &form).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "another client's use: {body}"
    );
    let (status, tokens) = exchange(&app, &client_id, Some(&secret), &form).await;
    assert_eq!(
        status, 200,
        "the code was not spent by the other client: {tokens}"
    );
    let access = tokens["access_token"].as_str().unwrap();

    let (status, _) = exchange(&app, &public_id, None, &form).await;
    assert_eq!(status, 400, "another client's use after the code's own");
    let without_verifier: Vec<_> = form
        .iter()
        .filter(|(name, _)| *name != "code_verifier")
        .copied()
        .collect();
    let (status, body) = exchange(&app, &client_id, Some(&secret), &without_verifier).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "a use without the verifier"
    );

    assert_eq!(
        userinfo_status(&app, access).await,
        200,
        "the member's access token lives on"
    );
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let (status, body) = exchange(
        &app,
        &client_id,
        Some(&secret),
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
    )
    .await;
    assert_eq!(status, 200, "and so does the refresh token: {body}");
    app.stop().await;
}

#[tokio::test]
async fn a_refresh_may_narrow_the_access_token_but_the_family_keeps_its_scope() {
    let (app, client_id, secret) = sanne_and_a_client().await;
    let code = code_for(&app, &client_id, Some(CHALLENGE)).await;
    let form = code_exchange(&code);
    let (_, tokens) = exchange(&app, &client_id, Some(&secret), &form).await;
    assert_eq!(tokens["scope"], "openid email");
    let refresh = |token: String, scope: Option<&'static str>| {
        let (app, client_id, secret) = (&app, client_id.clone(), secret.clone());
        async move {
            let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", token.as_str())];
            form.extend(scope.map(|scope| ("scope", scope)));
            exchange(app, &client_id, Some(&secret), &form).await
        }
    };
    let first = tokens["refresh_token"].as_str().unwrap().to_owned();

    let (status, body) = refresh(first.clone(), Some("openid email profile")).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_scope")));
    let (status, narrowed) = refresh(first.clone(), Some("openid")).await;
    assert_eq!(status, 200, "{narrowed}");
    assert_eq!(narrowed["scope"], "openid");
    let second = narrowed["refresh_token"].as_str().unwrap().to_owned();
    let (status, again) = refresh(second.clone(), None).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(
        again["scope"], "openid email",
        "RFC 6749 §6: the family keeps its scope"
    );
    let third = again["refresh_token"].as_str().unwrap().to_owned();

    // The first token, two rotations old, is a reuse: the whole family ends.
    let (status, body) = refresh(first, None).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
    let (status, body) = refresh(third, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "the newest token went with its family"
    );
    let (status, _) = refresh(second, None).await;
    assert_eq!(status, 400);
    app.stop().await;
}

/// ASVS 5 V10.4.8: the refresh tokens of one login end
/// `oidc.refresh_max_days` (365) after the member typed the password,
/// however often the client refreshed. The login is moved back in time in
/// the database, as the days would.
#[tokio::test]
async fn a_login_kept_alive_by_refreshes_ends_a_year_after_the_password() {
    use sea_orm::ConnectionTrait;
    let (app, client_id, secret) = sanne_and_a_client().await;
    let (_, rotated) = login_and_first_refresh(&app, &client_id, &secret).await;
    let age_login_by_days = async |days: i64| {
        let sql = format!(
            "UPDATE refresh_families SET auth_time = auth_time - {}",
            days * 86_400_000
        );
        app.store.connection().execute_unprepared(&sql).await.unwrap();
    };
    let refresh = async |token: &str, scope: Option<&str>| {
        let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
        form.extend(scope.map(|scope| ("scope", scope)));
        exchange(&app, &client_id, Some(&secret), &form).await
    };

    let one_day_left = |answer: serde_json::Value| {
        assert_eq!(answer["active"], true, "{answer}");
        let lasts =
            answer["exp"].as_i64().unwrap() - si_store::time::OffsetDateTime::now_utc().unix_timestamp();
        assert!((86_000..=86_400).contains(&lasts), "{lasts} s");
    };

    // 364 days on, the current token, stored to live 30 days more, lives
    // only the day the login has left, and so does the one a refresh gives.
    age_login_by_days(364).await;
    let current = rotated["refresh_token"].as_str().unwrap();
    one_day_left(introspect(&app, &client_id, &secret, current).await);
    let (status, later) = refresh(current, None).await;
    assert_eq!(status, 200, "{later}");
    let last = later["refresh_token"].as_str().unwrap();
    one_day_left(introspect(&app, &client_id, &secret, last).await);

    // A day later it has ended, with or without a narrower scope, and not
    // as a reuse: the member just logs in again.
    age_login_by_days(1).await;
    for scope in [Some("openid"), None] {
        let (status, body) = refresh(last, scope).await;
        assert_eq!(
            (status, body["error_description"].as_str()),
            (400, Some("the refresh token is unknown or expired"))
        );
    }
    assert_eq!(introspect(&app, &client_id, &secret, last).await["active"], false);
    app.stop().await;
}

/// A login older than its refresh tokens may live (a session kept through
/// single sign-on, with `oidc.session_hours` above a day) gets no refresh
/// token, rather than one that could never be used.
#[tokio::test]
async fn a_code_from_a_login_older_than_refresh_tokens_may_live_gives_none() {
    use sea_orm::ConnectionTrait;
    let app = spawn_app_with(|config| config.oidc.refresh_max_days = 1).await;
    member(&app.store, "sanne").await;
    let (client_id, secret) = register_rp(&app, ClientKind::Confidential, IdTokenAlgorithm::Es256).await;
    let secret = secret.unwrap();
    let fresh = code_for(&app, &client_id, Some(CHALLENGE)).await;
    let (_, tokens) = exchange(&app, &client_id, Some(&secret), &code_exchange(&fresh)).await;
    assert!(tokens["refresh_token"].is_string(), "{tokens}");

    let old = code_for(&app, &client_id, Some(CHALLENGE)).await;
    app.store
        .connection()
        .execute_unprepared("UPDATE authorization_codes SET auth_time = auth_time - 90000000")
        .await
        .unwrap();
    let (status, tokens) = exchange(&app, &client_id, Some(&secret), &code_exchange(&old)).await;
    assert_eq!(status, 200, "{tokens}");
    assert!(tokens["access_token"].is_string() && tokens["id_token"].is_string());
    assert_eq!(tokens.get("refresh_token"), None, "{tokens}");
    app.stop().await;
}

/// A refresh that fails on its way (the database, while it reads the
/// member's libraries). On SQLite the tokens are signed before the rotation
/// and the presented token stays current: the client's retry, as the 5xx
/// asks, is no reuse that would end the member's login. PostgreSQL rotates
/// first, in one statement (a read before it costs a third of the refresh
/// rate): there the retry counts as reuse, as relying-parties.md says.
#[tokio::test]
async fn a_refresh_that_failed_can_be_retried_on_sqlite_and_ends_the_login_on_postgresql() {
    use sea_orm::ConnectionTrait;
    let (app, client_id, secret) = sanne_and_a_client().await;
    let browser = browser();
    let extra = [("scope", "openid profile library")];
    let code = code_after_login(&app, &browser, &client_id, "sanne", &extra).await;
    let first = refresh_token_for(&app, &client_id, &secret, &code).await;
    let refresh = [("grant_type", "refresh_token"), ("refresh_token", first.as_str())];
    let database = app.store.connection();
    database
        .execute_unprepared("ALTER TABLE memberships RENAME TO memberships_away")
        .await
        .unwrap();

    let (status, body) = exchange(&app, &client_id, Some(&secret), &refresh).await;

    database
        .execute_unprepared("ALTER TABLE memberships_away RENAME TO memberships")
        .await
        .unwrap();
    assert!(status >= 500, "{status} {body}");
    let (status, retried) = exchange(&app, &client_id, Some(&secret), &refresh).await;
    if app.store.backend() == Backend::Postgres {
        assert_eq!(
            (status, retried["error_description"].as_str()),
            (400, Some("the refresh token was already used"))
        );
        return app.stop().await;
    }
    assert_eq!(status, 200, "{retried}");
    assert!(retried["id_token"].is_string(), "{retried}");
    let next = retried["refresh_token"].as_str().unwrap();
    let again = [("grant_type", "refresh_token"), ("refresh_token", next)];
    let (status, body) = exchange(&app, &client_id, Some(&secret), &again).await;
    assert_eq!(status, 200, "the family goes on: {body}");
    app.stop().await;
}

#[tokio::test]
async fn a_reused_refresh_token_ends_every_access_token_of_its_login() {
    let (app, client_id, secret) = sanne_and_a_client().await;
    let (access, refresh) = login_and_two_refreshes(&app, &client_id, &secret).await;
    for token in &access {
        assert_eq!(userinfo_status(&app, token).await, 200);
    }

    // The first token again: a thief's copy, or the member's after the thief.
    let reuse = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh[0].as_str()),
    ];
    let (status, body) = exchange(&app, &client_id, Some(&secret), &reuse).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
    for token in &access {
        let why = "every access token of the login is revoked, the code's and each refresh's";
        assert_access_token_ended(&app, &client_id, &secret, token, why).await;
    }
    app.stop().await;
}

#[tokio::test]
async fn a_refresh_token_that_was_never_issued_ends_nothing_even_with_a_live_familys_name() {
    let (app, client_id, secret) = sanne_and_a_client().await;
    let (_, rotated) = login_and_first_refresh(&app, &client_id, &secret).await;
    let current = rotated["refresh_token"].as_str().unwrap();
    let access = rotated["access_token"].as_str().unwrap();
    let (body, _tag) = current.split_once('~').unwrap();
    let family = body.split('.').next().unwrap();

    for made_up in [
        format!("{current}\n"),
        format!("{current}="),
        format!("{family}.x"),
        body.to_owned(),
        format!("{family}.{}~{}", "A".repeat(43), "B".repeat(43)),
        current[..current.len() - 1].to_owned(),
    ] {
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", made_up.as_str()),
        ];
        let (status, body) = exchange(&app, &client_id, Some(&secret), &form).await;
        assert_eq!(
            (status, body["error_description"].as_str()),
            (400, Some("the refresh token is unknown or expired")),
            "{made_up:?}"
        );
    }
    assert_eq!(
        userinfo_status(&app, access).await,
        200,
        "the access token lives on"
    );
    let form = [("grant_type", "refresh_token"), ("refresh_token", current)];
    let (status, body) = exchange(&app, &client_id, Some(&secret), &form).await;
    assert_eq!(status, 200, "the member's token still rotates: {body}");

    // Revoked (here by the client) is said as such: it is no theft.
    let newest = body["refresh_token"].as_str().unwrap();
    revoke(&app, &client_id, &secret, newest).await;
    let form = [("grant_type", "refresh_token"), ("refresh_token", newest)];
    let (status, body) = exchange(&app, &client_id, Some(&secret), &form).await;
    assert_eq!(
        (status, body["error_description"].as_str()),
        (400, Some("the refresh token was revoked"))
    );
    app.stop().await;
}

#[tokio::test]
async fn revoking_a_refresh_token_also_ends_every_access_token_of_its_login() {
    let (app, client_id, secret) = sanne_and_a_client().await;
    let (access, refresh) = login_and_two_refreshes(&app, &client_id, &secret).await;
    assert_eq!(userinfo_status(&app, &access[2]).await, 200);

    revoke(&app, &client_id, &secret, &refresh[2]).await;
    for token in &access {
        let why = "revoked with the refresh token: the code's, and each refresh's";
        assert_access_token_ended(&app, &client_id, &secret, token, why).await;
    }
    app.stop().await;
}

/// Revoking one access token ends that one only: the login's other tokens
/// live on (RFC 7009 §2.1 leaves the rest to the server).
#[tokio::test]
async fn revoking_an_access_token_ends_that_one_only() {
    let (app, client_id, secret) = sanne_and_a_client().await;
    let (access, refresh) = login_and_two_refreshes(&app, &client_id, &secret).await;
    revoke(&app, &client_id, &secret, &access[1]).await;
    let why = "revoked at /revoke";
    assert_access_token_ended(&app, &client_id, &secret, &access[1], why).await;
    for token in [&access[0], &access[2]] {
        assert_eq!(userinfo_status(&app, token).await, 200);
    }
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh[2].as_str()),
    ];
    let (status, body) = exchange(&app, &client_id, Some(&secret), &form).await;
    assert_eq!(status, 200, "the refresh token lives on: {body}");
    app.stop().await;
}

/// A client that revokes the token it had while a refresh elsewhere has
/// rotated it already: the grant ends all the same, newest tokens too.
#[tokio::test]
async fn revoking_an_older_refresh_token_ends_its_family_and_the_newest_tokens() {
    let (app, client_id, secret) = sanne_and_a_client().await;
    let (tokens, rotated) = login_and_first_refresh(&app, &client_id, &secret).await;
    let older = tokens["refresh_token"].as_str().unwrap();
    let newest_access = rotated["access_token"].as_str().unwrap();
    let newest_refresh = rotated["refresh_token"].as_str().unwrap();

    revoke(&app, &client_id, &secret, older).await;
    let why = "the family was revoked through an older token";
    assert_access_token_ended(&app, &client_id, &secret, newest_access, why).await;
    let refresh = [("grant_type", "refresh_token"), ("refresh_token", newest_refresh)];
    let (status, refused) = exchange(&app, &client_id, Some(&secret), &refresh).await;
    assert_eq!(
        (status, refused["error_description"].as_str()),
        (400, Some("the refresh token was revoked")),
        "{refused}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_public_client_cannot_introspect_for_its_id_proves_nothing() {
    let app = spawn_app().await;
    member(&app.store, "sanne").await;
    let (public_id, _) = register_rp(&app, ClientKind::Public, IdTokenAlgorithm::Es256).await;
    let code = code_for(&app, &public_id, Some(CHALLENGE)).await;
    let (_, tokens) = exchange(&app, &public_id, None, &code_exchange(&code)).await;
    let access = tokens["access_token"].as_str().unwrap();
    let response = app
        .client
        .post(app.url("/introspect"))
        .form(&[("client_id", public_id.as_str()), ("token", access)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    app.stop().await;
}

/// Some libraries send a public client's id as HTTP Basic with an empty
/// password: it names the client and proves nothing, as `client_id` in the
/// form does. A confidential client's empty password is no secret.
#[tokio::test]
async fn an_empty_basic_password_names_a_public_client_and_fails_a_confidential_one() {
    let app = spawn_app().await;
    member(&app.store, "sanne").await;
    let (public_id, _) = register_rp(&app, ClientKind::Public, IdTokenAlgorithm::Es256).await;
    let code = code_for(&app, &public_id, Some(CHALLENGE)).await;
    let (status, tokens) = exchange(&app, &public_id, Some(""), &code_exchange(&code)).await;
    assert_eq!(status, 200, "{tokens}");
    assert!(tokens["access_token"].is_string(), "{tokens}");

    let (confidential_id, _) = register_rp(&app, ClientKind::Confidential, IdTokenAlgorithm::Es256).await;
    let code = code_for(&app, &confidential_id, Some(CHALLENGE)).await;
    let (status, refused) = exchange(&app, &confidential_id, Some(""), &code_exchange(&code)).await;
    assert_eq!(status, 401, "{refused}");
    assert_eq!(refused["error"], "invalid_client");
    app.stop().await;
}

#[tokio::test]
async fn every_refused_client_authentication_says_how_to_authenticate() {
    let (app, client_id, _) = sanne_and_a_client().await;
    let grant = ("grant_type", "client_credentials");
    let post = |path: &str| app.client.post(app.url(path));
    let cases = [
        (
            "a wrong secret in the form",
            post("/token").form(&[
                grant,
                ("client_id", client_id.as_str()),
                ("client_secret", "wrong"),
            ]),
        ),
        ("no credentials", post("/token").form(&[grant])),
        ("a bearer token", post("/token").bearer_auth("xyz").form(&[grant])),
        (
            "a wrong secret by HTTP Basic",
            post("/revoke")
                .basic_auth(&client_id, Some("wrong"))
                .form(&[("token", "xyz")]),
        ),
        (
            "introspection without credentials",
            post("/introspect").form(&[("token", "xyz")]),
        ),
    ];
    for (case, request) in cases {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401, "{case}");
        assert_eq!(
            response
                .headers()
                .get("www-authenticate")
                .map(|v| v.to_str().unwrap()),
            Some(r#"Basic realm="token""#),
            "{case}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn a_code_exchange_without_its_redirect_uri_is_malformed_and_spends_no_code() {
    let (app, client_id, secret) = sanne_and_a_client().await;
    let code = code_for(&app, &client_id, Some(CHALLENGE)).await;
    let without: Vec<_> = code_exchange(&code)
        .into_iter()
        .filter(|(name, _)| *name != "redirect_uri")
        .collect();
    // RFC 6749 §3.2: sent without a value is as not sent.
    let empty: Vec<_> = without.iter().copied().chain([("redirect_uri", "")]).collect();
    for form in [without, empty] {
        let (status, body) = exchange(&app, &client_id, Some(&secret), &form).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_request")),
            "{form:?}: {body}"
        );
    }
    let (status, tokens) = exchange(&app, &client_id, Some(&secret), &code_exchange(&code)).await;
    assert_eq!(status, 200, "the code still works: {tokens}");

    // Introspection gives a token type (RFC 6749 §5.1) for access tokens only.
    let access = introspect(
        &app,
        &client_id,
        &secret,
        tokens["access_token"].as_str().unwrap(),
    )
    .await;
    assert_eq!(
        (access["active"].as_bool(), access["token_type"].as_str()),
        (Some(true), Some("Bearer"))
    );
    let refresh = introspect(
        &app,
        &client_id,
        &secret,
        tokens["refresh_token"].as_str().unwrap(),
    )
    .await;
    assert_eq!(refresh["active"], true);
    assert!(refresh.get("token_type").is_none(), "{refresh}");
    let empty = app
        .client
        .post(app.url("/introspect"))
        .basic_auth(&client_id, Some(&secret))
        .form(&[("token", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(empty.status(), 400, "an empty token is no token");
    app.stop().await;
}

#[tokio::test]
async fn userinfo_takes_the_token_from_a_posted_form_too_but_from_one_place_only() {
    let (app, client_id, secret) = sanne_and_a_client().await;
    let code = code_for(&app, &client_id, Some(CHALLENGE)).await;
    let (_, tokens) = exchange(&app, &client_id, Some(&secret), &code_exchange(&code)).await;
    let access = tokens["access_token"].as_str().unwrap();
    let posted = app
        .client
        .post(app.url("/userinfo"))
        .form(&[("access_token", access)])
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 200);
    let claims: serde_json::Value = posted.json().await.unwrap();
    assert_eq!(claims["preferred_username"], "sanne");

    let twice = app
        .client
        .post(app.url("/userinfo"))
        .bearer_auth(access)
        .form(&[("access_token", access)])
        .send()
        .await
        .unwrap();
    assert_eq!(twice.status(), 400);
    assert_eq!(
        twice.headers()["www-authenticate"],
        r#"Bearer error="invalid_request""#
    );
    let forged = app
        .client
        .post(app.url("/userinfo"))
        .form(&[("access_token", "not-a-token")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    app.stop().await;
}

/// A client deleted and created again under its id (the way to a new
/// secret) inherits nothing of the registration before: not a code in
/// flight, nor an access token, at `/userinfo`, `/introspect` or the desk
/// API, whatever scopes or library the new registration has. Checked on
/// another node, whose cache read the new registration.
#[tokio::test]
async fn a_client_created_again_under_its_id_inherits_no_token_of_the_one_before() {
    let (app, client_id, secret) = sanne_and_a_client().await;
    crate::desk::desk_library(&app, "DRE01", "Biblionet Drenthe").await;
    crate::desk::desk_library(&app, "GRO01", "Biblionet Groningen").await;
    let code = code_for(&app, &client_id, Some(CHALLENGE)).await;
    let (_, tokens) = exchange(&app, &client_id, Some(&secret), &code_exchange(&code)).await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let in_flight = code_for(&app, &client_id, Some(CHALLENGE)).await;
    // A website whose registration stays: its token works on the other node.
    let (kept, kept_secret) = register_rp(&app, ClientKind::Confidential, IdTokenAlgorithm::Es256).await;
    let kept_code = code_for(&app, &kept, Some(CHALLENGE)).await;
    let (_, kept_tokens) = exchange(&app, &kept, kept_secret.as_deref(), &code_exchange(&kept_code)).await;
    let (system, system_secret) = crate::desk::library_system(&app, "DRE01", "desk:register").await;
    let (_, granted) = crate::desk::client_credentials(&app, &(system.clone(), system_secret.clone())).await;
    let system_access = granted["access_token"].as_str().unwrap().to_owned();
    // Registrations are told apart to the second, as tokens' `iat` is.
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let again = |id: &str, scopes: &[&str], grant_types: Vec<GrantType>, library: Option<&str>| {
        let id = RegisteredId::parse(id).unwrap();
        let store = app.store.clone();
        let registration = ClientRegistration {
            id: Some(id.clone()),
            name: DisplayName::parse("Opnieuw").unwrap(),
            kind: ClientKind::Confidential,
            redirect_uris: match grant_types.contains(&GrantType::AuthorizationCode) {
                true => vec![REDIRECT_URI.to_owned()],
                false => vec![],
            },
            post_logout_redirect_uris: vec![],
            backchannel_logout_uri: None,
            grant_types,
            scopes: scopes.iter().map(|s| Scope::parse(s).unwrap()).collect(),
            library: library.map(|code| LibraryCode::parse(code).unwrap()),
            id_token_algorithm: IdTokenAlgorithm::Rs256,
        };
        async move {
            // Gone without the mark that nodes look for every second: as a
            // node sees it that has not looked yet (its pool taken, or of
            // an older version), which still holds the registration before.
            let delete = format!("DELETE FROM clients WHERE id = '{}'", id.as_str());
            sea_orm::ConnectionTrait::execute_unprepared(store.connection(), &delete)
                .await
                .unwrap();
            let (_, secret) = register(&store, registration).await.unwrap();
            secret.unwrap().expose().to_owned()
        }
    };
    let new_secret = again(
        &client_id,
        &["openid"],
        vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        None,
    )
    .await;
    let new_system_secret = again(
        &system,
        &["desk:register"],
        vec![GrantType::ClientCredentials],
        Some("GRO01"),
    )
    .await;

    let node = app.another_node().await;
    let at_node = |path: &str| format!("http://{}{path}", node.address);
    let kept_userinfo = app
        .client
        .get(at_node("/userinfo"))
        .bearer_auth(kept_tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(kept_userinfo.status(), 200);
    let userinfo = app
        .client
        .get(at_node("/userinfo"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(userinfo.status(), 401);
    let introspected_at_node = |id: &str, secret: &str, token: &str| {
        let request = app
            .client
            .post(at_node("/introspect"))
            .basic_auth(id, Some(secret))
            .form(&[("token", token)]);
        async move {
            request
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    let inactive = serde_json::json!({ "active": false });
    assert_eq!(
        introspected_at_node(&client_id, &new_secret, &access).await,
        inactive
    );
    let redeemed = app
        .client
        .post(at_node("/token"))
        .basic_auth(&client_id, Some(&new_secret))
        .form(&code_exchange(&in_flight))
        .send()
        .await
        .unwrap();
    assert_eq!(redeemed.status(), 400);
    let refused: serde_json::Value = redeemed.json().await.unwrap();
    assert_eq!(refused["error"], "invalid_grant", "{refused}");
    assert_eq!(
        refused["error_description"], "the code is unknown or expired",
        "deleted when the client was created again: {refused}"
    );

    let branches = |token: String| {
        app.client
            .get(at_node("/api/v1/branches"))
            .bearer_auth(token)
            .send()
    };
    assert_eq!(branches(system_access).await.unwrap().status(), 401);
    // The first node still holds the old registration (for up to 30 s, as
    // it has not seen the deletion) and takes the old secret: what it
    // issues now is not the new one's either.
    let (status, stale) = crate::desk::client_credentials(&app, &(system.clone(), system_secret)).await;
    assert_eq!(status, 200, "{stale}");
    let stale = stale["access_token"].as_str().unwrap().to_owned();
    assert_eq!(branches(stale.clone()).await.unwrap().status(), 401);
    assert_eq!(
        introspected_at_node(&system, &new_system_secret, &stale).await,
        inactive
    );
    // The registration made anew works, for its own library.
    let fresh = app
        .client
        .post(at_node("/token"))
        .basic_auth(&system, Some(&new_system_secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let fresh: serde_json::Value = fresh.json().await.unwrap();
    let fresh = fresh["access_token"].as_str().unwrap().to_owned();
    assert_eq!(branches(fresh.clone()).await.unwrap().status(), 200);
    // Also at the first node, which held the old registration until now.
    let at_first = app
        .client
        .get(app.url("/api/v1/branches"))
        .bearer_auth(&fresh)
        .send()
        .await
        .unwrap();
    assert_eq!(at_first.status(), 200);
    node.stop().await.unwrap();
    app.stop().await;
}

/// The session of an account blocked after its login signs no one in: a
/// silent request gets `login_required` (OIDC Core 3.1.2.6), not a code
/// the token endpoint would then refuse; and signs in again once unblocked.
#[tokio::test]
async fn a_blocked_accounts_session_gives_no_single_sign_on() {
    let app = spawn_app().await;
    let account = member(&app.store, "sanne").await;
    let (client_id, _) = register_rp(&app, ClientKind::Confidential, IdTokenAlgorithm::Es256).await;
    let browser = browser();
    code_after_login(&app, &browser, &client_id, "sanne", &[]).await;
    let silently = authorize_url(
        &app,
        &client_id,
        &[
            ("prompt", "none"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ],
    );
    let silent_answer = async || {
        let answer = browser.get(&silently).send().await.unwrap();
        answer.headers()["location"].to_str().unwrap().to_owned()
    };

    let accounts = app.store.accounts();
    accounts
        .set_status(&account.id, AccountStatus::Disabled)
        .await
        .unwrap();
    let refused = silent_answer().await;
    assert_eq!(
        query_value(&refused, "error").as_deref(),
        Some("login_required"),
        "{refused}"
    );
    accounts
        .set_status(&account.id, AccountStatus::Active)
        .await
        .unwrap();
    let signed_in = silent_answer().await;
    assert!(query_value(&signed_in, "code").is_some(), "{signed_in}");
    app.stop().await;
}

/// A blocked account's tokens are refused everywhere while it is blocked:
/// `/token`, `/userinfo`, and `/introspect`, which a resource server asks.
#[tokio::test]
async fn a_disabled_account_cannot_refresh_until_it_is_enabled_again() {
    let app = spawn_app().await;
    let account = member(&app.store, "sanne").await;
    let (client_id, secret) = register_rp(&app, ClientKind::Confidential, IdTokenAlgorithm::Es256).await;
    let secret = secret.unwrap();
    let code = code_for(&app, &client_id, Some(CHALLENGE)).await;
    let (_, tokens) = exchange(&app, &client_id, Some(&secret), &code_exchange(&code)).await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.as_str()),
    ];

    let accounts = app.store.accounts();
    accounts
        .set_status(&account.id, AccountStatus::Disabled)
        .await
        .unwrap();
    let (status, body) = exchange(&app, &client_id, Some(&secret), &form).await;
    assert_eq!(
        (status, body["error_description"].as_str()),
        (400, Some("the account is not active"))
    );
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(userinfo_status(&app, access).await, 401);
    for token in [access, refresh.as_str()] {
        let answer = introspect(&app, &client_id, &secret, token).await;
        assert_eq!(answer, serde_json::json!({ "active": false }));
    }
    accounts
        .set_status(&account.id, AccountStatus::Active)
        .await
        .unwrap();
    let (status, body) = exchange(&app, &client_id, Some(&secret), &form).await;
    assert_eq!(
        status, 200,
        "the refusal neither rotated nor revoked the family: {body}"
    );
    assert_ne!(body["refresh_token"].as_str(), Some(refresh.as_str()));
    assert_eq!(
        introspect(&app, &client_id, &secret, access).await["active"],
        true
    );
    app.stop().await;
}

#[tokio::test]
async fn clients_authenticate_and_cannot_use_each_others_tokens() {
    let app = spawn_app().await;
    member(&app.store, "sanne").await;
    let (client_id, secret) = register_rp(&app, ClientKind::Confidential, IdTokenAlgorithm::Es256).await;
    let (other_id, other_secret) = register_rp(&app, ClientKind::Confidential, IdTokenAlgorithm::EdDsa).await;
    let (secret, other_secret) = (secret.unwrap(), other_secret.unwrap());
    let code = code_for(&app, &client_id, Some(CHALLENGE)).await;
    let form = code_exchange(&code);

    let (status, body) = exchange(&app, &client_id, Some("wrong-secret"), &form).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")));
    let (status, body) = exchange(&app, &other_id, Some(&other_secret), &form).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "a code of another client"
    );

    // The other client left the code as it was; its own client spends a new one.
    let code = code_for(&app, &client_id, Some(CHALLENGE)).await;
    let form = code_exchange(&code);
    let (status, tokens) = exchange(&app, &client_id, Some(&secret), &form).await;
    assert_eq!(status, 200, "{tokens}");
    let id_token = tokens["id_token"].as_str().unwrap();
    let header: serde_json::Value =
        serde_json::from_slice(&base64_decode(id_token.split('.').next().unwrap())).unwrap();
    assert_eq!(header["alg"], "ES256", "the client's chosen ID token algorithm");
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let (status, _) = exchange(
        &app,
        &other_id,
        Some(&other_secret),
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
    )
    .await;
    assert_eq!(status, 400, "a refresh token of another client");
    // RFC 7009 §2.1: another client's revocation is refused, and revokes
    // nothing.
    for token in [refresh, tokens["access_token"].as_str().unwrap()] {
        let (status, body) = revocation(&app, &other_id, &other_secret, token).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("unauthorized_client")),
            "{body}"
        );
        assert_eq!(introspect(&app, &client_id, &secret, token).await["active"], true);
    }

    // Revocation by its own client ends the family.
    revoke(&app, &client_id, &secret, refresh).await;
    let (status, _) = exchange(
        &app,
        &client_id,
        Some(&secret),
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
    )
    .await;
    assert_eq!(status, 400);
    app.stop().await;
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .unwrap()
}

/// OIDC Core 5.3.2: a claim the provider has no value for is left out, not
/// sent as null; `email_verified` says nothing without an address.
#[tokio::test]
async fn a_member_without_an_address_gets_no_email_claims_rather_than_null() {
    let app = spawn_app().await;
    let params = si_credentials::Argon2Params::new(crate::support::test_hashing().memory_kib, 1, 1).unwrap();
    app.store
        .accounts()
        .create(NewAccount {
            username: Username::parse("zonder.mail").unwrap(),
            email: None,
            status: AccountStatus::Active,
            language: "nl".into(),
            password_hash: Some(si_credentials::hash_password(PASSWORD, &params).unwrap()),
        })
        .await
        .unwrap();
    let (client_id, secret) = register_rp(&app, ClientKind::Confidential, IdTokenAlgorithm::Rs256).await;
    let secret = secret.unwrap();
    let code = code_after_login(&app, &browser(), &client_id, "zonder.mail", &[]).await;
    let (status, tokens) = exchange(&app, &client_id, Some(&secret), &code_exchange(&code)).await;
    assert_eq!(status, 200, "{tokens}");
    let payload = tokens["id_token"].as_str().unwrap().split('.').nth(1).unwrap();
    let id_token: serde_json::Value = serde_json::from_slice(&base64_decode(payload)).unwrap();
    let userinfo = userinfo(&app, &tokens["access_token"]).await;
    for claims in [&id_token, &userinfo] {
        assert_eq!(claims["preferred_username"], "zonder.mail", "{claims}");
        assert!(claims.get("email").is_none(), "{claims}");
        assert!(claims.get("email_verified").is_none(), "{claims}");
    }
    app.stop().await;
}

#[tokio::test]
async fn library_systems_get_client_credentials_tokens_they_can_introspect_and_revoke() {
    let app = spawn_app().await;
    member(&app.store, "sanne").await; // creates library DRE01
    let (client, secret) = register(
        &app.store,
        ClientRegistration {
            id: Some(RegisteredId::parse("wise-dre01").unwrap()),
            name: si_domain::DisplayName::parse("Wise Drenthe").unwrap(),
            kind: ClientKind::Confidential,
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            backchannel_logout_uri: None,
            grant_types: vec![GrantType::ClientCredentials],
            scopes: vec![
                Scope::parse("desk:register").unwrap(),
                Scope::parse("desk:search").unwrap(),
            ],
            library: Some(si_domain::LibraryCode::parse("DRE01").unwrap()),
            id_token_algorithm: IdTokenAlgorithm::Rs256,
        },
    )
    .await
    .unwrap();
    let secret = secret.unwrap().expose().to_owned();
    let id = client.id().to_string();
    let (status, tokens) = exchange(
        &app,
        &id,
        Some(&secret),
        &[("grant_type", "client_credentials"), ("scope", "desk:search")],
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["scope"], "desk:search");
    assert!(tokens.get("refresh_token").is_none());
    let access = tokens["access_token"].as_str().unwrap();
    let active = introspect(&app, &id, &secret, access).await;
    assert_eq!(
        (
            active["active"].as_bool(),
            active["sub"].as_str(),
            active["scope"].as_str()
        ),
        (Some(true), Some("wise-dre01"), Some("desk:search"))
    );
    let (status, body) = exchange(
        &app,
        &id,
        Some(&secret),
        &[("grant_type", "client_credentials"), ("scope", "desk:audit")],
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_scope")));
    let (status, body) = exchange(
        &app,
        &id,
        Some(&secret),
        &[("grant_type", "authorization_code"), ("code", "x")],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client"))
    );
    // RFC 6749 3.1: an empty scope is one left out (the client's desk
    // scopes); a scope twice is granted once.
    for (scope, granted) in [
        ("", "desk:register desk:search"),
        ("desk:search desk:search", "desk:search"),
    ] {
        let form = [("grant_type", "client_credentials"), ("scope", scope)];
        let (status, tokens) = exchange(&app, &id, Some(&secret), &form).await;
        assert_eq!(
            (status, tokens["scope"].as_str()),
            (200, Some(granted)),
            "{scope:?}"
        );
    }
    let (status, body) = exchange(&app, &id, Some(&secret), &[("scope", "desk:search")]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request")),
        "a missing grant_type is missing, not unsupported"
    );
    // RFC 9110 8.3.1: a media type in any case.
    let answer = app
        .client
        .post(app.url("/token"))
        .basic_auth(&id, Some(&secret))
        .header("content-type", "Application/X-WWW-Form-URLencoded; charset=UTF-8")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);

    revoke(&app, &id, &secret, access).await;
    assert_eq!(introspect(&app, &id, &secret, access).await["active"], false);
    app.stop().await;
}

/// An app with the member "sanne", and a browser at the login page of a
/// confidential client.
async fn sanne_at_the_login_page() -> (TestApp, reqwest::Client, LoginForm) {
    let app = spawn_app().await;
    member(&app.store, "sanne").await;
    let (client_id, _) = register_rp(&app, ClientKind::Confidential, IdTokenAlgorithm::Rs256).await;
    let browser = browser();
    let login = LoginForm::open(&app, &browser, &authorize_url(&app, &client_id, &[]))
        .await
        .unwrap();
    (app, browser, login)
}

/// A website's `login_hint` fills in the username when it is one, and the
/// keyboard starts at the password; one that is no username is dropped.
#[tokio::test]
async fn a_login_hint_fills_in_the_username_and_the_password_is_next() {
    let app = spawn_app().await;
    member(&app.store, "sanne").await;
    let (client_id, _) = register_rp(&app, ClientKind::Confidential, IdTokenAlgorithm::Rs256).await;
    let input = |page: &str, id: &str| {
        let (_, rest) = page.split_once(&format!(r#"<input id="{id}""#)).unwrap();
        rest.split_once('>').unwrap().0.to_owned()
    };
    let login_page = |extra: &[(&str, &str)]| {
        let authorize = authorize_url(&app, &client_id, extra);
        let app = &app;
        async move {
            let browser = browser();
            let answer = browser.get(&authorize).send().await.unwrap();
            let location = answer.headers()["location"].to_str().unwrap().to_owned();
            crate::selfservice::fetch(&browser, app.url(&location)).await
        }
    };
    let page = login_page(&[("login_hint", " sanne ")]).await;
    assert!(input(&page, "username").contains(r#"value="sanne""#), "{page}");
    assert!(!input(&page, "username").contains("autofocus"), "{page}");
    assert!(input(&page, "password").contains("autofocus"), "{page}");

    let long = "é".repeat(7000);
    for hint in ["", "\u{202e}sanne", long.as_str()] {
        let page = login_page(&[("login_hint", hint)]).await;
        assert!(input(&page, "username").contains(r#"value="""#), "{page}");
        assert!(input(&page, "username").contains("autofocus"), "{page}");
        assert!(page.len() < 20_000, "nothing carried that the form cannot send");
    }
    let many_scopes = format!("openid{}", " zz".repeat(15_000));
    let page = login_page(&[("scope", many_scopes.as_str())]).await;
    assert!(page.len() < 20_000, "the scope is carried as checked");
    // A request too long to carry in a form that can be sent is refused.
    let many_prompts = vec!["login"; 5_000].join(" ");
    let too_long = authorize_url(&app, &client_id, &[("prompt", many_prompts.as_str())]);
    let answer = app.client.get(&too_long).send().await.unwrap();
    let location = answer.headers()["location"].to_str().unwrap();
    assert!(location.starts_with(REDIRECT_URI), "{location}");
    assert_eq!(query_value(location, "error").as_deref(), Some("invalid_request"));
    app.stop().await;
}

/// The login form's hidden request, edited to give a parameter twice,
/// reads as no request at all; it must not log the member in to our own
/// account page instead of answering the website.
#[tokio::test]
async fn a_login_form_whose_carried_request_was_edited_answers_the_website_with_an_error() {
    let (app, browser, login) = sanne_at_the_login_page().await;
    let mut form = login.filled("sanne", PASSWORD);
    form[1].1.push_str("&nonce=another");
    let response = browser.post(app.url("/login")).form(&form).send().await.unwrap();
    assert_eq!(response.status(), 303);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(REDIRECT_URI), "{location}");
    assert_eq!(
        query_value(&location, "error").as_deref(),
        Some("invalid_request")
    );
    assert_eq!(query_value(&location, "code"), None);
    assert_eq!(query_value(&location, "state").as_deref(), Some("st-123"));

    // No session began: the account page still asks for a login.
    let account = browser.get(app.url("/account")).send().await.unwrap();
    assert_eq!(account.status(), 303);
    assert!(
        account.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login")
    );

    // A byte that is no UTF-8 in the field itself, read as U+FFFD: the
    // state it sits in cannot go back as it came.
    let [csrf, request, username, password] = login.filled("sanne", PASSWORD);
    let body = format!(
        "{}%FF&{}",
        serde_urlencoded::to_string([csrf, request]).unwrap(),
        serde_urlencoded::to_string([username, password]).unwrap()
    );
    let response = browser
        .post(app.url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.headers().get("location").is_none());

    // Edited in the client's name, or in its state, which then cannot go
    // back as it came: the page, not a redirect.
    for edit in ["&client_id=another", "&state=another"] {
        let mut form = login.filled("sanne", PASSWORD);
        form[1].1.push_str(edit);
        let response = browser.post(app.url("/login")).form(&form).send().await.unwrap();
        assert_eq!(response.status(), 400, "{edit}");
        assert!(response.text().await.unwrap().contains("<html lang=\"nl\">"));
    }
    app.stop().await;
}

#[tokio::test]
async fn unknown_usernames_and_wrong_passwords_get_one_message_and_are_throttled() {
    let (app, browser, login) = sanne_at_the_login_page().await;
    let attempt = |username: &str, password: &str| {
        let form = login.filled(username, password);
        let response = browser.post(app.url("/login")).form(&form).send();
        async move {
            let response = response.await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    let (status_unknown, unknown) = attempt("nobody-here", "Whatever1!").await;
    let (status_wrong, wrong) = attempt("sanne", "Whatever1!").await;
    assert_eq!((status_unknown, status_wrong), (401, 401));
    let message = "Gebruikersnaam of wachtwoord klopt niet.";
    assert!(unknown.contains(message) && wrong.contains(message));
    assert!(wrong.contains(r#"aria-invalid="true""#), "{wrong}");
    assert!(
        unknown.contains(r#"value="nobody-here""#),
        "the typed username stays in the field"
    );

    for _ in 0..4 {
        attempt("sanne", "Whatever1!").await;
    }
    // Failures stay counted: only attempts still in flight, which a node
    // stopped hard never ends, leak away (one per two seconds).
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let throttled = browser
        .post(app.url("/login"))
        .form(&login.filled("sanne", PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(throttled.status(), 429, "throttled even with the right password");
    let retry_after: u32 = throttled.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=30).contains(&retry_after),
        "the first block is 30 s: {retry_after}"
    );
    let page = throttled.text().await.unwrap();
    assert!(page.contains("Probeer het over 1 minuut opnieuw."), "{page}");
    assert!(
        !page.contains("aria-invalid"),
        "waiting is not a wrong field: {page}"
    );

    // Whitespace around or inside the name is no fresh count for the account.
    let (status, _) = attempt("\t sanne \u{a0}", PASSWORD).await;
    assert_eq!(status, 429, "the same account, the same count");
    let padded = format!("sanne{}x", " ".repeat(75));
    let (status, page) = attempt(&padded, PASSWORD).await;
    assert_eq!(status, 401, "no account has that name: {page}");

    // Another username from the same address is not blocked by these.
    let (status, _) = attempt("someone-else", "Whatever1!").await;
    assert_eq!(status, 401);

    // A forged CSRF token changes nothing and says the form expired.
    let mut form = login.filled("sanne", PASSWORD);
    form[0].1 = "forged".to_owned();
    let forged = browser.post(app.url("/login")).form(&form).send().await.unwrap();
    assert_eq!(forged.status(), 400);
    app.stop().await;
}

/// Whoever fails at a member's username on purpose blocks their own tries,
/// not the member in a browser that logged in to that username before
/// (OWASP's device cookies): no lockout an attacker can keep up.
#[tokio::test]
async fn failing_at_a_members_username_on_purpose_does_not_keep_the_member_out_of_their_own_browser() {
    let app = spawn_app().await;
    member(&app.store, "sanne").await;
    member(&app.store, "daan-2015").await;
    let (client_id, _) = register_rp(&app, ClientKind::Confidential, IdTokenAlgorithm::Rs256).await;
    let ask_again = authorize_url(&app, &client_id, &[("prompt", "login")]);
    let attempt = |browser: reqwest::Client, username: &'static str, password: &'static str| {
        let (app, ask_again) = (&app, &ask_again);
        async move {
            let login = LoginForm::open(app, &browser, ask_again).await.unwrap();
            let form = login.filled(username, password);
            browser.post(app.url("/login")).form(&form).send().await.unwrap()
        }
    };
    let own = browser();
    let first = attempt(own.clone(), "sanne", PASSWORD).await;
    assert_eq!(first.status(), 303);
    let set_cookie = |name: &str| {
        first
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|value| value.to_str().unwrap().to_owned())
            .find(|value| value.starts_with(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no {name} cookie"))
    };
    let device = set_cookie("si_device");
    for part in ["HttpOnly", "SameSite=Lax", "Path=/;", "Max-Age=31536000"] {
        assert!(device.contains(part), "{device}");
    }
    // The session's cookie ends with the browser (a library's public
    // computer at the end of a turn); the device's stays.
    let session = set_cookie("si_session");
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Lax"),
        "{session}"
    );
    assert!(
        !session.contains("Max-Age") && !session.contains("Expires"),
        "{session}"
    );

    let attacker = browser();
    for _ in 0..5 {
        let failed = attempt(attacker.clone(), "sanne", "Gok-maar-raak-1!").await;
        assert_eq!(failed.status(), 401);
    }
    let blocked = attempt(attacker.clone(), "sanne", PASSWORD).await;
    assert_eq!(blocked.status(), 429, "the guesser waits");
    let own_login = attempt(own.clone(), "sanne", PASSWORD).await;
    assert_eq!(own_login.status(), 303, "the member's own browser does not");
    let still = attempt(attacker.clone(), "sanne", PASSWORD).await;
    assert_eq!(
        still.status(),
        429,
        "and its login gives the guesser no fresh tries"
    );

    // The cookie is for that username only.
    for _ in 0..5 {
        attempt(attacker.clone(), "daan-2015", "Gok-maar-raak-1!").await;
    }
    let other = attempt(own.clone(), "daan-2015", PASSWORD).await;
    assert_eq!(other.status(), 429);

    // Guesses from the member's own browser count against it, as any others.
    for _ in 0..5 {
        let failed = attempt(own.clone(), "sanne", "Gok-maar-raak-1!").await;
        assert_eq!(failed.status(), 401);
    }
    assert_eq!(attempt(own.clone(), "sanne", PASSWORD).await.status(), 429);
    app.stop().await;
}

/// A guesser on the member's network (a school's) who runs its address
/// into a wait keeps out the browsers that never logged in to the account,
/// not the member's own: its attempts guess at no other username.
#[tokio::test]
async fn a_guesser_on_the_members_network_does_not_keep_the_member_out_of_their_own_browser() {
    let app = spawn_app().await;
    member(&app.store, "sanne").await;
    let (client_id, _) = register_rp(&app, ClientKind::Confidential, IdTokenAlgorithm::Rs256).await;
    let ask_again = authorize_url(&app, &client_id, &[("prompt", "login")]);
    let own = browser();
    let log_in_own = || async {
        let login = LoginForm::open(&app, &own, &ask_again).await.unwrap();
        let form = login.filled("sanne", PASSWORD);
        own.post(app.url("/login"))
            .form(&form)
            .send()
            .await
            .unwrap()
            .status()
    };
    assert_eq!(log_in_own().await, 303);

    let guesser = browser();
    let login = LoginForm::open(&app, &guesser, &ask_again).await.unwrap();
    let guess = |username: &str, password: &str| {
        let response = guesser
            .post(app.url("/login"))
            .form(&login.filled(username, password))
            .send();
        async move { response.await.unwrap().status() }
    };
    for n in 0..50 {
        assert_eq!(guess(&format!("niemand-{n}"), "Whatever1!").await, 401);
    }
    assert_eq!(guess("sanne", PASSWORD).await, 429, "the address waits");
    assert_eq!(log_in_own().await, 303, "the member's own browser does not");
    app.stop().await;
}

/// A member who renames the account in their own browser keeps it as their
/// device under the new name.
#[tokio::test]
async fn a_browser_stays_the_members_device_after_a_rename_there() {
    let app = spawn_app().await;
    member(&app.store, "sanne").await;
    let (client_id, _) = register_rp(&app, ClientKind::Confidential, IdTokenAlgorithm::Rs256).await;
    let log_in = |browser: reqwest::Client, username: &'static str, password: &'static str| {
        let (app, client_id) = (&app, &client_id);
        async move {
            let login = LoginForm::open(app, &browser, &authorize_url(app, client_id, &[]))
                .await
                .unwrap();
            let form = login.filled(username, password);
            let response = browser.post(app.url("/login")).form(&form).send().await.unwrap();
            response.status().as_u16()
        }
    };
    let own = browser();
    assert_eq!(log_in(own.clone(), "sanne", PASSWORD).await, 303);
    let page = crate::selfservice::fetch(&own, app.url("/account")).await;
    let form = [
        ("csrf", hidden_field(&page, "csrf")),
        ("username", "sanne.devries".to_owned()),
    ];
    let renamed = own
        .post(app.url("/account/username"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(renamed.status(), 303);
    press_log_out(&app, &own).await;

    let attacker = browser();
    for _ in 0..5 {
        let status = log_in(attacker.clone(), "sanne.devries", "Gok-maar-raak-1!").await;
        assert_eq!(status, 401);
    }
    assert_eq!(log_in(attacker.clone(), "sanne.devries", PASSWORD).await, 429);
    assert_eq!(log_in(own.clone(), "sanne.devries", PASSWORD).await, 303);
    app.stop().await;
}

#[tokio::test]
async fn an_address_that_tried_too_often_is_told_so_not_that_a_password_was_wrong() {
    let app = spawn_app().await;
    let (client_id, _) = register_rp(&app, ClientKind::Confidential, IdTokenAlgorithm::Rs256).await;
    let browser = browser();
    let login = LoginForm::open(&app, &browser, &authorize_url(&app, &client_id, &[]))
        .await
        .unwrap();
    let attempt = |n: usize| {
        let form = login.filled(&format!("niemand-{n}"), "Whatever1!");
        let response = browser.post(app.url("/login")).form(&form).send();
        async move {
            let response = response.await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    // Fifty usernames, one attempt each: the address's free attempts.
    for n in 0..50 {
        assert_eq!(attempt(n).await.0, 401);
    }
    let (status, page) = attempt(50).await;
    assert_eq!(status, 429);
    assert!(
        page.contains("Vanaf dit netwerk wordt nu te vaak geprobeerd in te loggen."),
        "{page}"
    );
    assert!(!page.contains("verkeerd wachtwoord"), "{page}");
    app.stop().await;
}

#[tokio::test]
async fn guesses_sent_side_by_side_are_throttled_like_guesses_sent_one_by_one() {
    let (app, browser, login) = sanne_at_the_login_page().await;
    let attempt = |password: &str| {
        let response = browser
            .post(app.url("/login"))
            .form(&login.filled("sanne", password))
            .send();
        async move { response.await.unwrap().status().as_u16() }
    };
    let guesses = (0..20).map(|n| attempt(&format!("Guess{n}!x")));
    let started = std::time::Instant::now();
    let mut statuses = futures_util::future::join_all(guesses).await;
    // One attempt in flight leaks away per 2 s (on a very busy machine).
    let leaked = (started.elapsed().as_millis() / 2000) as usize;
    statuses.sort_unstable();
    let checked = statuses.iter().filter(|&&status| status == 401).count();
    assert!(
        (5..=5 + leaked).contains(&checked),
        "only the free attempts had their password checked: {statuses:?}"
    );
    assert!(
        statuses.iter().all(|&status| status == 401 || status == 429),
        "{statuses:?}"
    );
    assert_eq!(attempt(PASSWORD).await, 429, "the right password waits too");
    app.stop().await;
}

/// Guesses turned away because the username must wait still count for
/// the address, as failures: they do not leak away as the counts of
/// attempts in flight do, so a machine guessing at one account from one
/// address soon waits for every account.
#[tokio::test]
async fn guesses_turned_away_for_the_username_count_for_the_address_and_stay() {
    let (app, browser, login) = sanne_at_the_login_page().await;
    let attempt = |username: &str| {
        let response = browser
            .post(app.url("/login"))
            .form(&login.filled(username, "Guess1!x"))
            .send();
        async move {
            let response = response.await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    // Past the address's 50 free failures: 5 checked, the rest turned away.
    // Five more than 50, so that the one failure forgiven per 30 s on a
    // machine slowed down by other work changes nothing.
    // One attempt in flight leaks away per 2 s: on a machine so busy that
    // the guesses take longer, that many more are checked, by design.
    let started = std::time::Instant::now();
    let guesses = futures_util::future::join_all((0..55).map(|_| attempt("sanne"))).await;
    let leaked = (started.elapsed().as_millis() / 2000) as usize;
    let checked = guesses.iter().filter(|(status, _)| *status == 401).count();
    assert!(
        (5..=5 + leaked).contains(&checked),
        "{checked} checked in {:?}: {:?}",
        started.elapsed(),
        guesses.iter().map(|(status, _)| status).collect::<Vec<_>>()
    );

    // Longer than an attempt in flight would be counted.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let (status, page) = attempt("someone-else").await;
    assert_eq!(status, 429, "{page}");
    assert!(
        page.contains("Vanaf dit netwerk wordt nu te vaak geprobeerd in te loggen."),
        "{page}"
    );
    app.stop().await;
}

/// One failed login sent with `X-Forwarded-For: {forged}, {client}`, as a
/// balancer passes on a client's own forged entry with the address it saw;
/// whether the address throttle counted `subject`, and the peer's address.
async fn address_counted(app: &TestApp, (forged, client): (&[u8], &str), subject: &str) -> (bool, bool) {
    let (client_id, _) = register_rp(app, ClientKind::Confidential, IdTokenAlgorithm::Rs256).await;
    let browser = browser();
    let login = LoginForm::open(app, &browser, &authorize_url(app, &client_id, &[]))
        .await
        .unwrap();
    let form = login.filled("nobody-here", "Whatever1!");
    let response = browser
        .post(app.url("/login"))
        .header(
            "x-forwarded-for",
            reqwest::header::HeaderValue::from_bytes(&[forged, b", ", client.as_bytes()].concat()).unwrap(),
        )
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let on_record = app
        .store
        .throttle()
        .check(&[subject.to_owned(), "ip:127.0.0.1".to_owned()])
        .await
        .unwrap()
        .with_failures;
    (
        on_record.contains(&subject.to_owned()),
        on_record.contains(&"ip:127.0.0.1".to_owned()),
    )
}

#[tokio::test]
async fn behind_a_trusted_balancer_failures_count_against_the_members_address_not_the_balancers() {
    let direct = spawn_app().await;
    assert_eq!(
        address_counted(&direct, (b"198.51.100.7", "203.0.113.9"), "ip:203.0.113.9").await,
        (false, true),
        "a header from an untrusted peer is ignored"
    );
    direct.stop().await;
    let proxied = spawn_app_with(|config| {
        config.trusted_proxies = serde_json::from_value(serde_json::json!("127.0.0.1/32")).unwrap();
    })
    .await;
    assert_eq!(
        address_counted(&proxied, (b"198.51.100.7", "203.0.113.9"), "ip:203.0.113.9").await,
        (true, false)
    );
    // A byte that is no text in the client's own part leaves what the
    // balancer wrote readable: not the balancer's address counted.
    assert_eq!(
        address_counted(&proxied, (b"\x80", "203.0.113.10"), "ip:203.0.113.10").await,
        (true, false)
    );
    // An IPv6 client is counted by its /64: its neighbours are no fresh allowance.
    assert_eq!(
        address_counted(
            &proxied,
            (b"198.51.100.7", "2001:db8:0:1::7"),
            "ip:2001:db8:0:1::/64"
        )
        .await,
        (true, false)
    );
    proxied.stop().await;
}

/// A wrong password for a migrated account's legacy hash costs that check on
/// top of the argon2id work an unknown username gets: every failed login
/// waits for `hashing.failed_login_ms`, so the answer's time tells nothing.
/// `oud.lid`, migrated with an old portal's `{SSHA}` hash of "password"
/// (from 389-ds' tests, the credentials crate's vectors).
async fn migrated_member(app: &TestApp, email: Option<&str>) -> si_store::accounts::Account {
    app.store
        .accounts()
        .create(NewAccount {
            username: Username::parse("oud.lid").unwrap(),
            email: email.map(|email| Email::parse(email).unwrap()),
            status: AccountStatus::Active,
            language: "nl".into(),
            password_hash: Some("{SSHA}jdALDtX0+MVMkRsX0ilHz0O6Uos95D4s".into()),
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn a_failed_login_is_answered_no_sooner_than_the_configured_time() {
    let app = spawn_app_with(|config| config.hashing.failed_login_ms = 300).await;
    member(&app.store, "anchor").await;
    migrated_member(&app, None).await;
    let (client_id, _) = register_rp(&app, ClientKind::Confidential, IdTokenAlgorithm::Rs256).await;
    let browser = browser();
    let login = LoginForm::open(&app, &browser, &authorize_url(&app, &client_id, &[]))
        .await
        .unwrap();
    for username in ["oud.lid", "anchor", "niemand-hier"] {
        let started = std::time::Instant::now();
        let form = login.filled(username, "Niet-het-wachtwoord-1");
        let response = browser.post(app.url("/login")).form(&form).send().await.unwrap();
        let took = started.elapsed();
        assert_eq!(response.status(), 401, "{username}");
        assert!(
            took >= std::time::Duration::from_millis(300),
            "{username}: {took:?}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn a_legacy_password_works_once_and_is_then_stored_as_argon2id() {
    let app = spawn_app().await;
    member(&app.store, "anchor").await; // the library, branch and subscription
    let account = migrated_member(&app, Some("oud@example.nl")).await;
    let (client_id, _) = register_rp(&app, ClientKind::Confidential, IdTokenAlgorithm::Rs256).await;
    let back = log_in_through(
        &app,
        &browser(),
        &authorize_url(&app, &client_id, &[]),
        "oud.lid",
        "password",
    )
    .await;
    assert!(query_value(&back, "code").is_some(), "{back}");
    let stored = app.store.accounts().by_id(&account.id).await.unwrap().unwrap();
    assert!(
        stored.password_hash.unwrap().starts_with("$argon2id$"),
        "upgraded at login"
    );
    assert!(stored.last_login_at.is_some());
    let again = log_in_through(
        &app,
        &browser(),
        &authorize_url(&app, &client_id, &[]),
        "oud.lid",
        "password",
    )
    .await;
    assert!(
        query_value(&again, "code").is_some(),
        "the upgraded hash verifies"
    );
    app.stop().await;
}

/// A member resets the password on one device while a login with the old
/// one is being checked on another: the reset wins. The login, right when
/// its check began, opens no session, and the old password is not stored
/// again as an upgraded hash. The check waits behind another in the one
/// hashing thread, so that the reset lands in between; once for a hash the
/// login would upgrade (stored at another cost) and once for one it would not.
#[tokio::test]
async fn a_login_checked_while_the_password_is_reset_opens_no_session_and_keeps_the_new_password() {
    // Slow enough that the check holding the thread outlasts a few requests.
    let params = si_credentials::Argon2Params::new(65_536, 12, 1).unwrap();
    let app = spawn_app_with(|config| {
        config.hashing.memory_kib = params.memory_kib();
        config.hashing.iterations = params.iterations();
        config.hashing.concurrency = 1;
        config.hashing.max_wait_ms = 600_000;
    })
    .await;
    let (client_id, _) = register_rp(&app, ClientKind::Confidential, IdTokenAlgorithm::Rs256).await;
    for upgraded in [true, false] {
        let username = if upgraded { "anna" } else { "bert" };
        let account = member(&app.store, username).await;
        if !upgraded {
            let at_the_nodes_cost = si_credentials::hash_password(PASSWORD, &params).unwrap();
            app.store
                .accounts()
                .set_password_hash(&account.id, at_the_nodes_cost)
                .await
                .unwrap();
        }
        // Hashed first: hashing here would hold up the server's requests too.
        let new = si_credentials::hash_password("Zonnebloem-tafel-42!", &params).unwrap();
        // An unknown username's check holds the one hashing thread.
        let busy = keep_hashing_busy(&app);
        until_hash_queue_holds(&app, 1).await;
        let member_login = async {
            let browser = browser();
            let form = LoginForm::open(&app, &browser, &authorize_url(&app, &client_id, &[]))
                .await
                .unwrap();
            let filled = form.filled(username, PASSWORD);
            browser
                .post(app.url("/login"))
                .form(&filled)
                .send()
                .await
                .unwrap()
        };
        // The member's login has read the account and waits to be checked.
        let reset = async {
            until_hash_queue_holds(&app, 2).await;
            app.store
                .accounts()
                .set_password_hash(&account.id, new.clone())
                .await
                .unwrap();
            new
        };
        let (member_login, reset) = tokio::join!(member_login, reset);
        assert_eq!(busy.await.unwrap(), 401);
        assert_eq!(member_login.status(), 401, "upgraded: {upgraded}");
        assert!(member_login.headers().get("location").is_none());
        let stored = app.store.accounts().by_id(&account.id).await.unwrap().unwrap();
        assert_eq!(stored.password_hash, Some(reset), "upgraded: {upgraded}");
        assert_eq!(stored.last_login_at, None, "upgraded: {upgraded}");
        let cookies: Vec<_> = member_login.headers().get_all("set-cookie").iter().collect();
        assert!(
            !cookies
                .iter()
                .any(|c| c.to_str().unwrap().starts_with("si_session=")),
            "no session: {cookies:?}"
        );
    }
    app.stop().await;
}

/// `prompt=login`, `max_age` and `prompt=select_account` show the login
/// page although the browser has a session: `select_account` so that
/// someone else at a shared family computer can log in with their own account.
#[tokio::test]
async fn max_age_and_prompt_login_ask_for_the_password_again() {
    let app = spawn_app().await;
    member(&app.store, "sanne").await;
    let (client_id, _) = register_rp(&app, ClientKind::Confidential, IdTokenAlgorithm::Rs256).await;
    let browser = browser();
    log_in_through(
        &app,
        &browser,
        &authorize_url(&app, &client_id, &[]),
        "sanne",
        PASSWORD,
    )
    .await;
    let silent = browser
        .get(authorize_url(&app, &client_id, &[("prompt", "none")]))
        .send()
        .await
        .unwrap();
    assert!(
        query_value(silent.headers()["location"].to_str().unwrap(), "code").is_some(),
        "prompt=none with a session"
    );
    // Any non-negative integer, also one too large for 32 or 64 bits.
    for max_age in ["3600", "4294967296", "123456789012345678901234567890"] {
        let url = authorize_url(&app, &client_id, &[("prompt", "none"), ("max_age", max_age)]);
        let silent = browser.get(url).send().await.unwrap();
        let location = silent.headers()["location"].to_str().unwrap();
        assert!(query_value(location, "code").is_some(), "{max_age}: {location}");
    }
    // max_age=0 asks again even within the second of the last login.
    for extra in [
        ("prompt", "login"),
        ("max_age", "0"),
        ("prompt", "select_account"),
    ] {
        let response = browser
            .get(authorize_url(&app, &client_id, &[extra]))
            .send()
            .await
            .unwrap();
        assert!(
            response.headers()["location"]
                .to_str()
                .unwrap()
                .starts_with("/login"),
            "{extra:?}"
        );
    }
    // The error and its description that a silent request gets back.
    let silent_refusal = |extra: (&'static str, &'static str)| {
        let (app, browser, client_id) = (&app, &browser, &client_id);
        async move {
            let url = authorize_url(app, client_id, &[("prompt", "none"), extra]);
            let silent = browser.get(url).send().await.unwrap();
            let location = silent.headers()["location"].to_str().unwrap().to_owned();
            (
                query_value(&location, "error").unwrap_or_default(),
                query_value(&location, "error_description").unwrap_or_default(),
            )
        }
    };
    // Silently, it is refused: not for want of a login, but for its age.
    assert_eq!(
        silent_refusal(("max_age", "0")).await,
        (
            "login_required".to_owned(),
            "the member logged in longer ago than max_age allows".to_owned()
        )
    );
    for not_a_number in ["-1", "1.5", "+10", "ten"] {
        assert_eq!(
            silent_refusal(("max_age", not_a_number)).await,
            (
                "invalid_request".to_owned(),
                "max_age must be a number of seconds".to_owned()
            ),
            "{not_a_number}"
        );
    }
    // A hint that is no ID token of ours is said to be that, not taken for
    // a member who is not logged in.
    assert_eq!(
        silent_refusal(("id_token_hint", "not.a.token")).await,
        (
            "login_required".to_owned(),
            "the id_token_hint is not an ID token this provider issued to this client".to_owned()
        )
    );
    app.stop().await;
}

/// The provider signs access tokens with the keys of its ID tokens: one
/// kind must not pass for the other (RFC 8725 §3.11), nor one client's ID
/// token for another's hint.
#[tokio::test]
async fn only_an_id_token_issued_to_the_client_is_its_hint_and_no_id_token_an_access_token() {
    let app = spawn_app().await;
    member(&app.store, "sanne").await;
    let (client_id, secret) = register_rp(&app, ClientKind::Confidential, IdTokenAlgorithm::Es256).await;
    let browser = browser();
    let code = code_after_login(&app, &browser, &client_id, "sanne", &[]).await;
    let (status, tokens) = exchange(&app, &client_id, secret.as_deref(), &code_exchange(&code)).await;
    assert_eq!(status, 200, "{tokens}");
    let (other_client, _) = register_rp(&app, ClientKind::Confidential, IdTokenAlgorithm::Es256).await;
    let silently_at = |client: &str, hint: &str| {
        let url = authorize_url(&app, client, &[("prompt", "none"), ("id_token_hint", hint)]);
        let sent = browser.get(url).send();
        async move {
            let location = sent.await.unwrap().headers()["location"]
                .to_str()
                .unwrap()
                .to_owned();
            (
                query_value(&location, "code").is_some(),
                query_value(&location, "error_description"),
            )
        }
    };
    let refused = (
        false,
        Some("the id_token_hint is not an ID token this provider issued to this client".to_owned()),
    );
    let id_token = tokens["id_token"].as_str().unwrap();
    assert_eq!(silently_at(&client_id, id_token).await, (true, None));
    assert_eq!(
        silently_at(&client_id, tokens["access_token"].as_str().unwrap()).await,
        refused
    );
    // Another client's ID token is about the member's session with that
    // client, not with this one (OIDC Core 3.1.2.1).
    assert_eq!(silently_at(&other_client, id_token).await, refused);
    assert_eq!(
        silently_at(&other_client, "").await,
        (true, None),
        "without a hint, single sign-on goes on"
    );
    assert_eq!(
        userinfo_status(&app, tokens["id_token"].as_str().unwrap()).await,
        401
    );
    assert_eq!(
        userinfo_status(&app, tokens["access_token"].as_str().unwrap()).await,
        200
    );
    app.stop().await;
}

#[tokio::test]
async fn scopes_the_provider_does_not_know_are_ignored_not_refused() {
    let app = spawn_app().await;
    member(&app.store, "sanne").await;
    let (client_id, secret) = register_rp(&app, ClientKind::Confidential, IdTokenAlgorithm::Rs256).await;
    let code = code_after_login(
        &app,
        &browser(),
        &client_id,
        "sanne",
        &[("scope", "openid offline_access phone email")],
    )
    .await;
    let (status, tokens) = exchange(&app, &client_id, secret.as_deref(), &code_exchange(&code)).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["scope"], "openid email");

    // A refresh that sends the same scope again is read the same way.
    let mut refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    for (asked, granted) in [
        ("openid offline_access phone email", "openid email"),
        ("offline_access", "openid email"),
        ("openid offline_access", "openid"),
        ("openid openid", "openid"),
    ] {
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
            ("scope", asked),
        ];
        let (status, rotated) = exchange(&app, &client_id, secret.as_deref(), &form).await;
        assert_eq!(
            (status, rotated["scope"].as_str()),
            (200, Some(granted)),
            "{asked}: {rotated}"
        );
        refresh = rotated["refresh_token"].as_str().unwrap().to_owned();
    }
    app.stop().await;
}

#[tokio::test]
async fn a_state_that_is_not_utf8_is_refused_never_sent_back_changed() {
    let app = spawn_app().await;
    let (client_id, _) = register_rp(&app, ClientKind::Confidential, IdTokenAlgorithm::Rs256).await;
    let url = authorize_url(&app, &client_id, &[]).replace("state=st-123", "state=ab%FFcd");
    let response = app.client.get(&url).send().await.unwrap();
    // An error must go back with the state as it came (RFC 6749 4.1.2.1),
    // and this one cannot: the member gets the page, as for a wrong
    // redirect URI.
    assert_eq!(response.status(), 400);
    assert!(response.headers().get("location").is_none());
    // A value that never comes back to the client may be in any encoding.
    let url = format!("{}&login_hint=Jos%E9", authorize_url(&app, &client_id, &[]));
    let response = app.client.get(&url).send().await.unwrap();
    let location = response.headers()["location"].to_str().unwrap();
    assert!(location.starts_with("/login"), "{location}");

    // The same at logout (RP-Initiated Logout 1.0 §3: `state` comes back unchanged).
    let logout = format!(
        "{}?client_id={client_id}&post_logout_redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Flogged-out&state=ab%FFcd",
        app.url("/logout")
    );
    let response = app.client.get(&logout).send().await.unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.headers().get("location").is_none());
    // Posted, by a relying party's page or ours, the same.
    let (_, query) = logout.split_once('?').unwrap();
    let posted = app
        .client
        .post(app.url("/logout"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(query.to_owned())
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 400);
    assert!(posted.headers().get("location").is_none());
    let raw = [b"state=ab".as_slice(), &[0xff], b"cd"].concat();
    let posted = app
        .client
        .post(app.url("/logout"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(raw)
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 400, "a byte that is no UTF-8, not even encoded");
    let fine = logout.replace("ab%FFcd", "ab%C3%A9cd");
    let response = app.client.get(&fine).send().await.unwrap();
    assert_eq!(
        response.headers()["location"],
        "http://127.0.0.1:9/logged-out?state=ab%C3%A9cd"
    );
    app.stop().await;
}

/// At logout as at /authorize: a state up to 2,048 bytes comes back; a
/// longer one, one given twice, or any parameter that is not UTF-8 gets the
/// logout's own error page.
#[tokio::test]
async fn a_logout_parameter_too_long_given_twice_or_not_utf8_gets_the_logout_error_page() {
    let app = spawn_app().await;
    let (client_id, _) = register_rp(&app, ClientKind::Confidential, IdTokenAlgorithm::Rs256).await;
    let logout = |state: &str| {
        format!(
            "{}?client_id={client_id}&post_logout_redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Flogged-out&{state}",
            app.url("/logout")
        )
    };
    let longest = "s".repeat(2048);
    let response = app
        .client
        .get(logout(&format!("state={longest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["location"],
        format!("http://127.0.0.1:9/logged-out?state={longest}").as_str()
    );
    let not_utf8 = [
        format!(
            "{}?client_id=%FF&post_logout_redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Flogged-out",
            app.url("/logout")
        ),
        format!(
            "{}?client_id={client_id}&post_logout_redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2F%FF",
            app.url("/logout")
        ),
        logout("id_token_hint=ab%FFcd"),
    ];
    for url in [logout(&format!("state={longest}s")), logout("state=a&state=b")]
        .into_iter()
        .chain(not_utf8)
    {
        let response = app.client.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 400, "{url}");
        assert!(response.headers().get("location").is_none());
        let page = response.text().await.unwrap();
        assert!(page.contains("Uitloggen lukt zo niet"), "{page}");
        assert!(page.contains("gaf gegevens mee die niet kloppen"), "{page}");
    }
    app.stop().await;
}

#[tokio::test]
async fn browser_apps_may_call_the_token_userinfo_and_key_endpoints_from_their_own_origin() {
    let app = spawn_app().await;
    let origin = "https://app.example";
    for path in [
        "/token",
        "/userinfo",
        "/revoke",
        "/jwks",
        "/.well-known/openid-configuration",
    ] {
        let preflight = app
            .client
            .request(reqwest::Method::OPTIONS, app.url(path))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization, content-type")
            .send()
            .await
            .unwrap();
        assert!(preflight.status().is_success(), "{path}: {}", preflight.status());
        assert_eq!(preflight.headers()["access-control-allow-origin"], "*", "{path}");
        let allowed = preflight.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap();
        assert!(allowed.contains("authorization"), "{path}: {allowed}");
    }
    let keys = app
        .client
        .get(app.url("/jwks"))
        .header("origin", origin)
        .send()
        .await
        .unwrap();
    assert_eq!(keys.headers()["access-control-allow-origin"], "*");
    // A script may read why its token was refused, which only this header says.
    let refused = app
        .client
        .get(app.url("/userinfo"))
        .header("origin", origin)
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    assert!(
        refused.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains(r#"error="invalid_token""#)
    );
    assert_eq!(
        refused.headers()["access-control-expose-headers"],
        "WWW-Authenticate"
    );
    // A token of bytes that are not text is as invalid, and a request
    // without one is told only the scheme (RFC 6750 §3.1).
    let not_text = reqwest::header::HeaderValue::from_bytes(b"Bearer \xff\xfe").unwrap();
    for (authorization, challenge) in [
        (Some(not_text), r#"Bearer error="invalid_token""#),
        (None, "Bearer"),
    ] {
        let mut request = app.client.get(app.url("/userinfo"));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let refused = request.send().await.unwrap();
        assert_eq!(refused.status(), 401);
        assert_eq!(refused.headers()["www-authenticate"], challenge);
    }
    // The member's own pages are no API for other origins.
    let login = app
        .client
        .get(app.url("/login"))
        .header("origin", origin)
        .send()
        .await
        .unwrap();
    assert!(login.headers().get("access-control-allow-origin").is_none());
    app.stop().await;
}

#[tokio::test]
async fn discovery_describes_the_provider() {
    let app = spawn_app().await;
    let document: serde_json::Value = app
        .get("/.well-known/openid-configuration")
        .await
        .json()
        .await
        .unwrap();
    let issuer = app.url("");
    assert_eq!(document["issuer"], issuer.as_str());
    let for_oauth_clients: serde_json::Value = app
        .get("/.well-known/oauth-authorization-server")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        for_oauth_clients, document,
        "RFC 8414's address has the same metadata"
    );
    assert_eq!(
        document["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(document["authorization_response_iss_parameter_supported"], true);
    assert_eq!(document["backchannel_logout_supported"], true);
    assert_eq!(document["backchannel_logout_session_supported"], true);
    // /userinfo answers JSON, never a JWT, so no signing algorithm is named.
    assert!(document.get("userinfo_signing_alg_values_supported").is_none());
    assert_eq!(
        document["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256", "ES256", "EdDSA"])
    );
    let jwks: serde_json::Value = app
        .client
        .get(document["jwks_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let algorithms: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|k| k["alg"].as_str())
        .collect();
    for algorithm in ["RS256", "ES256", "EdDSA"] {
        assert!(algorithms.contains(&algorithm), "{jwks}");
    }
    app.stop().await;
}

#[tokio::test]
async fn logout_returns_only_to_a_registered_post_logout_uri_of_the_named_client() {
    let app = spawn_app().await;
    member(&app.store, "sanne").await;
    let (client_id, _) = register_rp(&app, ClientKind::Confidential, IdTokenAlgorithm::Rs256).await;
    let registered = "http://127.0.0.1:9/logged-out";
    let expired_hint = expired_id_token(&app, &client_id).await;
    enum Ends {
        ReturningToTheClient,
        OnTheLoggedOutPage,
        Nothing,
    }
    let cases = [
        (
            vec![
                ("client_id", client_id.as_str()),
                ("post_logout_redirect_uri", registered),
                ("state", "bye"),
            ],
            Ends::ReturningToTheClient,
        ),
        (
            vec![
                ("client_id", client_id.as_str()),
                ("post_logout_redirect_uri", "https://evil.example/"),
            ],
            Ends::OnTheLoggedOutPage,
        ),
        (
            vec![("post_logout_redirect_uri", registered)],
            Ends::OnTheLoggedOutPage,
        ),
        (
            vec![
                ("client_id", "no-such-client"),
                ("post_logout_redirect_uri", registered),
            ],
            Ends::OnTheLoggedOutPage,
        ),
        (
            vec![
                ("id_token_hint", "not.a.token"),
                ("post_logout_redirect_uri", registered),
            ],
            Ends::OnTheLoggedOutPage,
        ),
        // §4: a hint that fails validation aborts the redirect, whatever
        // `client_id` says.
        (
            vec![
                ("id_token_hint", "not.a.token"),
                ("client_id", client_id.as_str()),
                ("post_logout_redirect_uri", registered),
            ],
            Ends::OnTheLoggedOutPage,
        ),
        // RP-Initiated Logout 1.0 §2: an expired hint still names its client.
        (
            vec![
                ("id_token_hint", expired_hint.as_str()),
                ("post_logout_redirect_uri", registered),
                ("state", "bye"),
            ],
            Ends::ReturningToTheClient,
        ),
        // §2: the hint and `client_id` must name the same client; §4: an
        // error, and nothing ended.
        (
            vec![
                ("id_token_hint", expired_hint.as_str()),
                ("client_id", "another-client"),
                ("post_logout_redirect_uri", registered),
            ],
            Ends::Nothing,
        ),
    ];
    for (query, ends) in cases {
        let browser = browser();
        log_in_through(
            &app,
            &browser,
            &authorize_url(&app, &client_id, &[]),
            "sanne",
            PASSWORD,
        )
        .await;
        let asked = browser
            .get(app.url("/logout"))
            .query(&query)
            .send()
            .await
            .unwrap();
        if let Ends::Nothing = ends {
            assert_eq!(asked.status(), 400, "{query:?}");
            let page = asked.text().await.unwrap();
            assert!(page.contains("Je bent niet uitgelogd."), "{page}");
            let still = browser
                .get(authorize_url(&app, &client_id, &[]))
                .send()
                .await
                .unwrap();
            assert!(
                still.headers()["location"]
                    .to_str()
                    .unwrap()
                    .starts_with(REDIRECT_URI),
                "the session goes on"
            );
            continue;
        }
        // None of these hints is of this session: the member is asked, at
        // an address without the hint, and the answer carries the request on.
        let asked = if asked.status() == 303 {
            let location = asked.headers()["location"].to_str().unwrap().to_owned();
            assert!(!location.contains("id_token_hint"), "{location}");
            browser.get(app.url(&location)).send().await.unwrap()
        } else {
            asked
        };
        let page = asked.text().await.unwrap();
        assert!(page.contains("Wil je uitloggen?"), "{query:?}: {page}");
        let answer = hidden_fields(&page);
        let response = browser
            .post(app.url("/logout"))
            .form(&answer)
            .send()
            .await
            .unwrap();
        let cleared = response.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(
            cleared.starts_with("si_session=;") && cleared.contains("Max-Age=0"),
            "{cleared}"
        );
        if let Ends::ReturningToTheClient = ends {
            assert_eq!(response.status(), 303, "{query:?}");
            assert_eq!(response.headers()["location"], format!("{registered}?state=bye"));
        } else {
            let location = response.headers()["location"].to_str().unwrap();
            assert!(
                location.starts_with("/logout/done"),
                "{query:?}: never an open redirect"
            );
            shown_after_logout(&app, &browser, response).await;
        }
        let again = browser
            .get(authorize_url(&app, &client_id, &[]))
            .send()
            .await
            .unwrap();
        assert!(
            again.headers()["location"]
                .to_str()
                .unwrap()
                .starts_with("/login"),
            "the session ended"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn logging_in_again_in_one_browser_renews_its_cookie_and_keeps_one_session_that_one_logout_ends() {
    let (app, client_id, secret) = sanne_and_a_client().await;
    let browser = browser();
    let with_pkce = [("code_challenge", CHALLENGE), ("code_challenge_method", "S256")];
    let (first_cookie, code) =
        log_in_at_page(&app, &browser, &authorize_url(&app, &client_id, &with_pkce)).await;
    let (_, first) = exchange(&app, &client_id, Some(&secret), &code_exchange(&code)).await;

    // The password again (prompt=login): a new cookie, so that a token
    // known before (one planted in this browser) leads nowhere; and a code
    // not yet redeemed at the logout.
    let again = [with_pkce[0], with_pkce[1], ("prompt", "login")];
    let (renewed_cookie, unredeemed) =
        log_in_at_page(&app, &browser, &authorize_url(&app, &client_id, &again)).await;
    assert!(first_cookie.is_some() && renewed_cookie.is_some());
    assert_ne!(first_cookie, renewed_cookie);
    let silently = authorize_url(
        &app,
        &client_id,
        &[with_pkce[0], with_pkce[1], ("prompt", "none")],
    );
    let planted = crate::interop::browser()
        .get(&silently)
        .header("cookie", format!("si_session={}", first_cookie.unwrap()))
        .send()
        .await
        .unwrap();
    let location = planted.headers()["location"].to_str().unwrap();
    assert_eq!(query_value(location, "error").as_deref(), Some("login_required"));

    // The same session goes on: its clients keep the `sid` they know.
    let signed_in = browser.get(&silently).send().await.unwrap();
    let code = query_value(signed_in.headers()["location"].to_str().unwrap(), "code").unwrap();
    let (_, later) = exchange(&app, &client_id, Some(&secret), &code_exchange(&code)).await;
    assert_eq!(sid_of(&later), sid_of(&first));

    shown_after_logout(&app, &browser, press_log_out(&app, &browser).await).await;
    for tokens in [&first, &later] {
        assert_refresh_refused(&app, &client_id, &secret, tokens).await;
    }
    assert_invalid_grant(&app, &client_id, &secret, &code_exchange(&unredeemed)).await;
    app.stop().await;
}

/// Two logins sent side by side from one browser (two tabs asking for the
/// password again) go on with its one session, so that one logout still
/// ends everything.
#[tokio::test]
async fn two_logins_sent_together_from_one_browser_keep_its_one_session() {
    // One hashing thread and a slow hash: the second login's check ends
    // well after the first one renewed the session's cookie, and both find
    // the session before that, also on a CI machine under load.
    let SignedIn {
        app,
        client_id,
        secret,
        browser,
        first,
        again,
    } = signed_in_with_checks_of(1, 8).await;
    let mut tabs = Vec::new();
    for _ in 0..2 {
        tabs.push(LoginForm::open(&app, &browser, &again).await.unwrap());
    }
    let post = |tab: &LoginForm| {
        browser
            .post(app.url("/login"))
            .form(&tab.filled("sanne", PASSWORD))
            .send()
    };
    let (one, two) = tokio::join!(post(&tabs[0]), post(&tabs[1]));
    let (one, two) = (one.unwrap(), two.unwrap());
    // Only the login that renewed the session sets its cookie: whichever
    // answer the browser reads last, it keeps the one that works.
    let sets_session = |answered: &reqwest::Response| {
        answered
            .headers()
            .get_all("set-cookie")
            .iter()
            .any(|value| value.to_str().unwrap().starts_with("si_session="))
    };
    assert_eq!(
        [sets_session(&one), sets_session(&two)]
            .iter()
            .filter(|sets| **sets)
            .count(),
        1
    );
    let mut all_tokens = vec![first.clone()];
    for answered in [one, two] {
        let code = query_value(answered.headers()["location"].to_str().unwrap(), "code").unwrap();
        let (_, tokens) = exchange(&app, &client_id, Some(&secret), &code_exchange(&code)).await;
        assert_eq!(sid_of(&tokens), sid_of(&first), "one session");
        all_tokens.push(tokens);
    }

    press_log_out(&app, &browser).await;
    for tokens in &all_tokens {
        assert_refresh_refused(&app, &client_id, &secret, tokens).await;
    }
    app.stop().await;
}

/// A login sent from a browser that had not yet the cookie of the login
/// before it (a tab whose answer came late, an answer lost) goes on with
/// the browser's one session; a browser left holding the token in between
/// (the two answers read in the other order) can still log out of it.
#[tokio::test]
async fn a_login_or_logout_with_the_cookie_from_before_the_last_login_keeps_to_one_session() {
    let (app, client_id, secret) = sanne_and_a_client().await;
    let (browser, jar) = browser_with_jar();
    let with_pkce = [("code_challenge", CHALLENGE), ("code_challenge_method", "S256")];
    let (first_cookie, code) =
        log_in_at_page(&app, &browser, &authorize_url(&app, &client_id, &with_pkce)).await;
    let (_, first) = exchange(&app, &client_id, Some(&secret), &code_exchange(&code)).await;
    let again = authorize_url(
        &app,
        &client_id,
        &[with_pkce[0], with_pkce[1], ("prompt", "login")],
    );
    let late_tab = LoginForm::open(&app, &browser, &again).await.unwrap();
    let (renewed_cookie, code) = log_in_at_page(&app, &browser, &again).await;
    let (_, renewed) = exchange(&app, &client_id, Some(&secret), &code_exchange(&code)).await;

    hold_session_cookie(&app, &jar, &first_cookie.unwrap());
    let answered = browser
        .post(app.url("/login"))
        .form(&late_tab.filled("sanne", PASSWORD))
        .send()
        .await
        .unwrap();
    let sets_session = answered
        .headers()
        .get_all("set-cookie")
        .iter()
        .any(|value| value.to_str().unwrap().starts_with("si_session="));
    assert!(sets_session, "the browser gets a token that works");
    let code = query_value(answered.headers()["location"].to_str().unwrap(), "code").unwrap();
    let (_, late) = exchange(&app, &client_id, Some(&secret), &code_exchange(&code)).await;
    assert_eq!(sid_of(&renewed), sid_of(&first));
    assert_eq!(sid_of(&late), sid_of(&first), "one session");

    hold_session_cookie(&app, &jar, &renewed_cookie.unwrap());
    let hint = [("id_token_hint", late["id_token"].as_str().unwrap())];
    let answered = browser.get(app.url("/logout")).query(&hint).send().await.unwrap();
    shown_after_logout(&app, &browser, answered).await;
    for tokens in [&first, &renewed, &late] {
        assert_refresh_refused(&app, &client_id, &secret, tokens).await;
    }
    app.stop().await;
}

/// Another member's login in a browser whose cookie is one login old ends
/// that session, as a logout with the cookie would: the member before must
/// not stay signed in on a shared computer.
#[tokio::test]
async fn another_members_login_with_a_cookie_one_login_old_ends_the_session() {
    let (app, client_id, secret) = sanne_and_a_client().await;
    member(&app.store, "daan-2015").await;
    let browser = browser();
    let with_pkce = [("code_challenge", CHALLENGE), ("code_challenge_method", "S256")];
    let (old_cookie, _) = log_in_at_page(&app, &browser, &authorize_url(&app, &client_id, &with_pkce)).await;
    let code = code_after_login(&app, &browser, &client_id, "sanne", &[("prompt", "login")]).await;
    let sannes = refresh_token_for(&app, &client_id, &secret, &code).await;

    let (elsewhere, jar) = browser_with_jar();
    hold_session_cookie(&app, &jar, &old_cookie.unwrap());
    code_after_login(&app, &elsewhere, &client_id, "daan-2015", &[]).await;
    let refresh = [
        ("grant_type", "refresh_token"),
        ("refresh_token", sannes.as_str()),
    ];
    assert_invalid_grant(&app, &client_id, &secret, &refresh).await;
    app.stop().await;
}

/// A session left alone past the idle limit, or past its hours after the
/// password, gives no single sign-on, but a logout link still asks before
/// it ends it, and a login goes on with it: one logout then ends the tokens
/// from before the pause too. Housekeeping keeps it while they live.
#[tokio::test]
async fn a_session_left_idle_or_past_its_end_is_asked_about_at_logout_and_goes_on_at_login() {
    let idle = "UPDATE browser_sessions SET last_seen_at = last_seen_at - 1860000";
    // Past the day housekeeping waits after a session's end.
    let long_past_its_end = "UPDATE browser_sessions SET expires_at = last_seen_at - 90000000";
    for aged in [idle, long_past_its_end] {
        let (app, client_id, secret) = sanne_and_a_client().await;
        let browser = browser();
        let with_pkce = [("code_challenge", CHALLENGE), ("code_challenge_method", "S256")];
        let url = authorize_url(&app, &client_id, &with_pkce);
        let (_, code) = log_in_at_page(&app, &browser, &url).await;
        let (_, before) = exchange(&app, &client_id, Some(&secret), &code_exchange(&code)).await;
        use sea_orm::ConnectionTrait;
        app.store.connection().execute_unprepared(aged).await.unwrap();
        let swept = app
            .store
            .housekeeping()
            .sweep(Retention::default())
            .await
            .unwrap();
        assert_eq!(swept.browser_sessions, 0, "{aged}");

        let silently = [with_pkce[0], with_pkce[1], ("prompt", "none")];
        let asked = browser
            .get(authorize_url(&app, &client_id, &silently))
            .send()
            .await
            .unwrap();
        let location = asked.headers()["location"].to_str().unwrap();
        assert_eq!(
            query_value(location, "error").as_deref(),
            Some("login_required"),
            "{aged}"
        );
        let asked = browser.get(app.url("/logout")).send().await.unwrap();
        let question = asked.text().await.unwrap();
        assert!(question.contains("Uitloggen?"), "{aged}: {question}");
        let (_, code) = log_in_at_page(&app, &browser, &url).await;
        let (_, after) = exchange(&app, &client_id, Some(&secret), &code_exchange(&code)).await;
        assert_eq!(sid_of(&after), sid_of(&before), "{aged}: one session");

        let confirmed = [("csrf", hidden_field(&question, "csrf"))];
        let answered = browser
            .post(app.url("/logout"))
            .form(&confirmed)
            .send()
            .await
            .unwrap();
        shown_after_logout(&app, &browser, answered).await;
        for tokens in [&before, &after] {
            assert_refresh_refused(&app, &client_id, &secret, tokens).await;
        }
        app.stop().await;
    }
}

/// A browser whose cookies the test can set, as a browser holds them.
fn browser_with_jar() -> (reqwest::Client, Arc<reqwest::cookie::Jar>) {
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let browser = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    (browser, jar)
}

/// The browser of `jar` holds `token` as its session cookie.
fn hold_session_cookie(app: &TestApp, jar: &reqwest::cookie::Jar, token: &str) {
    let url = app.url("/").parse().unwrap();
    jar.add_cookie_str(&format!("si_session={token}; Path=/"), &url);
}

/// A logout in another tab while a login of the same member is being
/// checked: the login starts a session of its own.
#[tokio::test]
async fn a_login_whose_session_ended_while_it_was_checked_starts_a_new_one() {
    // A check long enough (a good half second) for the logout to end
    // before it, even on a busy machine.
    let SignedIn {
        app,
        client_id,
        secret,
        browser,
        first,
        again,
    } = signed_in_with_checks_of(2, 25).await;
    let tab = LoginForm::open(&app, &browser, &again).await.unwrap();
    let login = browser
        .post(app.url("/login"))
        .form(&tab.filled("sanne", PASSWORD))
        .send();
    let logout = async {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        press_log_out(&app, &browser).await
    };
    let (answered, _) = tokio::join!(login, logout);
    let answered = answered.unwrap();
    assert_eq!(answered.status(), 303);
    let code = query_value(answered.headers()["location"].to_str().unwrap(), "code").unwrap();
    let (_, tokens) = exchange(&app, &client_id, Some(&secret), &code_exchange(&code)).await;
    assert_ne!(sid_of(&tokens), sid_of(&first), "a session of its own");
    app.stop().await;
}

/// "sanne" signed in to a client in a browser, on a server with this many
/// hashing threads and argon2id iterations (19 MiB each): the tokens of that
/// login, and the address that asks the browser for the password again.
struct SignedIn {
    app: TestApp,
    client_id: String,
    secret: String,
    browser: reqwest::Client,
    first: serde_json::Value,
    again: String,
}

async fn signed_in_with_checks_of(threads: usize, iterations: u32) -> SignedIn {
    let app = spawn_app_with(|config| {
        config.hashing.concurrency = threads;
        config.hashing.memory_kib = 19 * 1024;
        config.hashing.iterations = iterations;
    })
    .await;
    member(&app.store, "sanne").await;
    let (client_id, secret) = register_rp(&app, ClientKind::Confidential, IdTokenAlgorithm::Es256).await;
    let secret = secret.unwrap();
    let browser = browser();
    let with_pkce = [("code_challenge", CHALLENGE), ("code_challenge_method", "S256")];
    let (_, code) = log_in_at_page(&app, &browser, &authorize_url(&app, &client_id, &with_pkce)).await;
    let (_, first) = exchange(&app, &client_id, Some(&secret), &code_exchange(&code)).await;

    let again = authorize_url(
        &app,
        &client_id,
        &[with_pkce[0], with_pkce[1], ("prompt", "login")],
    );
    SignedIn {
        app,
        client_id,
        secret,
        browser,
        first,
        again,
    }
}

/// The refresh token among `tokens` is refused: its session ended.
async fn assert_refresh_refused(app: &TestApp, client_id: &str, secret: &str, tokens: &serde_json::Value) {
    let refresh = [
        ("grant_type", "refresh_token"),
        ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
    ];
    assert_invalid_grant(app, client_id, secret, &refresh).await;
}

/// The session (`sid`) an ID token was issued in.
fn sid_of(tokens: &serde_json::Value) -> String {
    let id_token = tokens["id_token"].as_str().unwrap();
    let claims = jsonwebtoken::dangerous::insecure_decode::<serde_json::Value>(id_token).unwrap();
    claims.claims["sid"].as_str().unwrap().to_owned()
}

/// Logs "sanne" in at the login page `url` leads to: the session cookie's
/// value, if one is set, and the code.
async fn log_in_at_page(app: &TestApp, browser: &reqwest::Client, url: &str) -> (Option<String>, String) {
    let login = LoginForm::open(app, browser, url).await.unwrap();
    let answered = browser
        .post(app.url("/login"))
        .form(&login.filled("sanne", PASSWORD))
        .send()
        .await
        .unwrap();
    let session = answered
        .headers()
        .get_all("set-cookie")
        .iter()
        .find_map(|value| value.to_str().unwrap().strip_prefix("si_session="))
        .and_then(|cookie| cookie.split(';').next())
        .map(str::to_owned);
    let location = answered.headers()["location"].to_str().unwrap();
    (session, query_value(location, "code").unwrap())
}

#[tokio::test]
async fn prompt_none_with_another_members_id_token_hint_answers_login_required() {
    let (app, client_id, secret) = sanne_and_a_client().await;
    member(&app.store, "daan-2015").await;
    let id_token_of = |username: &'static str, browser: reqwest::Client| {
        let (app, client_id, secret) = (&app, &client_id, &secret);
        async move {
            let code = code_after_login(app, &browser, client_id, username, &[]).await;
            let (_, tokens) = exchange(app, client_id, Some(secret), &code_exchange(&code)).await;
            (browser, tokens["id_token"].as_str().unwrap().to_owned())
        }
    };
    let (sannes_browser, sannes) = id_token_of("sanne", browser()).await;
    let (_, daans) = id_token_of("daan-2015", browser()).await;

    for (hint, answer) in [(&sannes, "code"), (&daans, "error")] {
        let url = authorize_url(&app, &client_id, &[("prompt", "none"), ("id_token_hint", hint)]);
        let response = sannes_browser.get(&url).send().await.unwrap();
        let location = response.headers()["location"].to_str().unwrap();
        assert!(query_value(location, answer).is_some(), "{location}");
        if answer == "error" {
            assert_eq!(query_value(location, "error").as_deref(), Some("login_required"));
        }
    }

    // Asked to log in, a new browser is not sent on with the ID token in
    // the login page's address, where it would stay in the history.
    let url = authorize_url(&app, &client_id, &[("id_token_hint", &sannes)]);
    let response = browser().get(&url).send().await.unwrap();
    let location = response.headers()["location"].to_str().unwrap();
    assert!(location.starts_with("/login?"), "{location}");
    assert!(!location.contains("id_token_hint"), "{location}");
    app.stop().await;
}

#[tokio::test]
async fn another_member_logging_in_in_the_same_browser_ends_the_first_ones_session() {
    let (app, client_id, secret) = sanne_and_a_client().await;
    member(&app.store, "daan-2015").await;
    let browser = browser();
    let code = code_after_login(&app, &browser, &client_id, "sanne", &[]).await;
    let sannes = refresh_token_for(&app, &client_id, &secret, &code).await;

    code_after_login(&app, &browser, &client_id, "daan-2015", &[("prompt", "login")]).await;
    let refresh = [
        ("grant_type", "refresh_token"),
        ("refresh_token", sannes.as_str()),
    ];
    assert_invalid_grant(&app, &client_id, &secret, &refresh).await;
    app.stop().await;
}

#[tokio::test]
async fn a_link_to_logout_asks_first_and_logging_out_revokes_the_sessions_tokens() {
    let (app, client_id, secret) = sanne_and_a_client().await;
    let browser = browser();
    let extra = [("code_challenge", CHALLENGE), ("code_challenge_method", "S256")];
    let back = log_in_through(
        &app,
        &browser,
        &authorize_url(&app, &client_id, &extra),
        "sanne",
        PASSWORD,
    )
    .await;
    let code = query_value(&back, "code").unwrap();
    let (_, tokens) = exchange(&app, &client_id, Some(&secret), &code_exchange(&code)).await;
    let from_code = tokens["access_token"].as_str().unwrap().to_owned();
    let first_refresh = tokens["refresh_token"].as_str().unwrap();
    let refresh = [("grant_type", "refresh_token"), ("refresh_token", first_refresh)];
    let (_, rotated) = exchange(&app, &client_id, Some(&secret), &refresh).await;
    let from_first_refresh = rotated["access_token"].as_str().unwrap().to_owned();
    let refresh = [
        ("grant_type", "refresh_token"),
        ("refresh_token", rotated["refresh_token"].as_str().unwrap()),
    ];
    let (_, rotated) = exchange(&app, &client_id, Some(&secret), &refresh).await;
    let refresh_token = rotated["refresh_token"].as_str().unwrap().to_owned();
    let newest_access = rotated["access_token"].as_str().unwrap().to_owned();
    let still_signed_in = |browser: &reqwest::Client| {
        let request = browser.get(authorize_url(&app, &client_id, &[])).send();
        async move {
            let response = request.await.unwrap();
            response.headers()["location"]
                .to_str()
                .unwrap()
                .starts_with(REDIRECT_URI)
        }
    };

    // Another site's link (no hint, or someone else's): a question, nothing ended.
    for query in [
        vec![],
        vec![("id_token_hint", expired_id_token(&app, &client_id).await)],
    ] {
        let mut asked = browser
            .get(app.url("/logout"))
            .query(&query)
            .send()
            .await
            .unwrap();
        // Someone else's ID token names a member: asked without it.
        if !query.is_empty() {
            assert_eq!(asked.status(), 303);
            assert!(asked.headers().get("set-cookie").is_none());
            let location = asked.headers()["location"].to_str().unwrap().to_owned();
            assert_eq!(location, format!("/logout?client_id={client_id}"));
            asked = browser.get(app.url(&location)).send().await.unwrap();
        }
        assert_eq!(asked.status(), 200);
        assert!(asked.headers().get("set-cookie").is_none());
        assert!(asked.text().await.unwrap().contains("Uitloggen?"));
        assert!(still_signed_in(&browser).await, "{query:?}");
    }

    // A form posted from a sibling site gets the SameSite=Lax cookie sent
    // too, but not our form's token: a question, nothing ended (§2).
    for form in [vec![], vec![("csrf", "forged")], vec![("state", "x")]] {
        let asked = browser.post(app.url("/logout")).form(&form).send().await.unwrap();
        assert_eq!(asked.status(), 200);
        assert!(asked.text().await.unwrap().contains("Uitloggen?"), "{form:?}");
        assert!(still_signed_in(&browser).await, "{form:?}");
    }

    // The page that says so is no way to log out: while signed in, it asks.
    let not_yet = browser.get(app.url("/logout/done")).send().await.unwrap();
    assert_eq!(not_yet.headers()["location"], "/logout");
    assert!(still_signed_in(&browser).await);

    // The member's own button: logged out, and the session's tokens are dead.
    assert_eq!(userinfo_status(&app, &newest_access).await, 200);
    shown_after_logout(&app, &browser, press_log_out(&app, &browser).await).await;
    assert!(!still_signed_in(&browser).await);
    for access in [&newest_access, &from_first_refresh, &from_code] {
        let why = "given in the session that ended";
        assert_access_token_ended(&app, &client_id, &secret, access, why).await;
    }
    let (status, refused) = exchange(
        &app,
        &client_id,
        Some(&secret),
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh_token)],
    )
    .await;
    assert_eq!((status, refused["error"].as_str()), (400, Some("invalid_grant")));
    app.stop().await;
}

/// The logout question is asked at an address without the ID token, and its
/// language switch comes back to it with the way back to the website.
#[tokio::test]
async fn the_logout_question_keeps_the_id_token_out_of_the_address_and_the_way_back_in() {
    let (app, client_id, secret) = sanne_and_a_client().await;
    let browser = browser();
    let back = log_in_through(
        &app,
        &browser,
        &authorize_url(&app, &client_id, &[]),
        "sanne",
        PASSWORD,
    )
    .await;
    // An ID token of an earlier session: the member is asked.
    let hint = expired_id_token(&app, &client_id).await;
    let query = [
        ("id_token_hint", hint.as_str()),
        ("post_logout_redirect_uri", "http://127.0.0.1:9/logged-out"),
        ("state", "bye"),
    ];
    let sent = browser
        .get(app.url("/logout"))
        .query(&query)
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 303);
    let question = sent.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(
        question,
        format!(
            "/logout?client_id={client_id}&post_logout_redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Flogged-out&state=bye"
        )
    );
    let asked = crate::selfservice::fetch(&browser, app.url(&question)).await;
    assert!(asked.contains("Uitloggen?"), "{asked}");
    let (_, switch) = asked.split_once(r#"<a href="/language/en?"#).unwrap();
    let switch = format!(
        "/language/en?{}",
        switch.split_once('"').unwrap().0.replace("&#38;", "&")
    );
    let switched = browser.get(app.url(&switch)).send().await.unwrap();
    assert_eq!(switched.headers()["location"], question.as_str());

    let asked = crate::selfservice::fetch(&browser, app.url(&question)).await;
    assert!(asked.contains("Log out?"), "{asked}");
    let out = browser
        .post(app.url("/logout"))
        .form(&hidden_fields(&asked))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    assert_eq!(
        out.headers()["location"],
        "http://127.0.0.1:9/logged-out?state=bye"
    );

    // A logout that ends at once speaks the language the website asked for.
    let fresh = crate::interop::browser();
    let pkce = [("code_challenge", CHALLENGE), ("code_challenge_method", "S256")];
    let back_again = log_in_through(
        &app,
        &fresh,
        &authorize_url(&app, &client_id, &pkce),
        "sanne",
        PASSWORD,
    )
    .await;
    assert_ne!(back, back_again);
    let code = query_value(&back_again, "code").unwrap();
    let (_, tokens) = exchange(&app, &client_id, Some(&secret), &code_exchange(&code)).await;
    let hint = [
        ("id_token_hint", tokens["id_token"].as_str().unwrap()),
        ("ui_locales", "en"),
    ];
    let ended = fresh.get(app.url("/logout")).query(&hint).send().await.unwrap();
    assert_eq!(ended.headers()["location"], "/logout/done?lang=en");
    let page = crate::selfservice::fetch(&fresh, app.url("/logout/done?lang=en")).await;
    assert!(page.contains("<h1>See you next time</h1>"), "{page}");
    app.stop().await;
}

/// An ID token for `client_id` signed with the app's own keys, expired an hour ago.
async fn expired_id_token(app: &TestApp, client_id: &str) -> String {
    let config = Config {
        data_dir: app.data_dir.path().to_owned(),
        ..Config::default()
    };
    let keyring = Keyring::load_or_create(&app.store, &SealingKey::load(&config, &app.store).await.unwrap())
        .await
        .unwrap();
    let discovery: serde_json::Value = app
        .get("/.well-known/openid-configuration")
        .await
        .json()
        .await
        .unwrap();
    let hour_ago = time::OffsetDateTime::now_utc().unix_timestamp() - 3600;
    let claims = serde_json::json!({
        "iss": discovery["issuer"],
        "aud": client_id,
        "sub": "someone",
        "iat": hour_ago - 600,
        "exp": hour_ago,
    });
    keyring.sign(SigningAlgorithm::Rs256, "JWT", &claims).unwrap()
}

#[tokio::test]
async fn a_client_bound_to_a_library_sees_only_that_librarys_memberships() {
    let app = spawn_app().await;
    let account = member(&app.store, "sanne").await;
    // The same member registered at a second library, under her new name.
    let groningen = library(&app.store, "GRO01", "Biblionet Groningen").await;
    app.store
        .memberships()
        .create(si_store::memberships::NewMembership {
            library: &groningen.0,
            branch: &groningen.1,
            subscription: &groningen.2,
            card_number: si_domain::CardNumber::parse("30000012345678").unwrap(),
            member_name: si_domain::DisplayName::parse("Sanne Bakker").unwrap(),
            birth_date: time::Date::from_calendar_date(2015, time::Month::March, 3).unwrap(),
            email: None,
            valid_until: time::Date::from_calendar_date(2027, time::Month::May, 31).unwrap(),
            account: Some(account.id),
        })
        .await
        .unwrap();
    let scopes = ["openid", "profile", "library"]
        .map(|s| Scope::parse(s).unwrap())
        .to_vec();
    let bound = |id: &str, library: Option<&str>| ClientRegistration {
        id: Some(RegisteredId::parse(id).unwrap()),
        name: si_domain::DisplayName::parse("Mijn Menu").unwrap(),
        kind: ClientKind::Confidential,
        redirect_uris: vec![REDIRECT_URI.to_owned()],
        post_logout_redirect_uris: vec![],
        backchannel_logout_uri: None,
        grant_types: vec![GrantType::AuthorizationCode],
        scopes: scopes.clone(),
        library: library.map(|code| si_domain::LibraryCode::parse(code).unwrap()),
        id_token_algorithm: IdTokenAlgorithm::Rs256,
    };
    for (id, library, expected, name) in [
        ("mijnmenu-gro01", Some("GRO01"), vec!["GRO01"], "Sanne Bakker"),
        ("ebooks", None, vec!["DRE01", "GRO01"], "Sanne de Vries"),
    ] {
        let (_, secret) = register(&app.store, bound(id, library)).await.unwrap();
        let secret = secret.unwrap().expose().to_owned();
        let url = authorize_url(
            &app,
            id,
            &[
                ("scope", "openid profile library"),
                ("code_challenge", CHALLENGE),
                ("code_challenge_method", "S256"),
            ],
        );
        let back = log_in_through(&app, &browser(), &url, "sanne", PASSWORD).await;
        let code = query_value(&back, "code").unwrap();
        let form = code_exchange(&code);
        let (status, tokens) = exchange(&app, id, Some(&secret), &form).await;
        assert_eq!(status, 200, "{tokens}");
        let userinfo = userinfo(&app, &tokens["access_token"]).await;
        let libraries: Vec<&str> = userinfo["memberships"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|m| m["library_code"].as_str())
            .collect();
        assert_eq!(libraries, expected, "{id}");
        assert_eq!(userinfo["name"], name, "{id}: the name its own library knows");
    }
    app.stop().await;
}

#[tokio::test]
async fn malformed_token_requests_get_oauth_errors_in_json() {
    let app = spawn_app().await;
    let cases: [(&str, Vec<u8>); 4] = [
        (
            "application/json",
            br#"{"grant_type":"client_credentials"}"#.to_vec(),
        ),
        (
            "application/x-www-form-urlencoded",
            b"grant_type=client_credentials&grant_type=refresh_token".to_vec(),
        ),
        ("application/x-www-form-urlencoded", vec![b'a', b'=', 0xff, 0xfe]),
        (
            "application/x-www-form-urlencoded",
            b"grant_type=password&username=a&password=b".to_vec(),
        ),
    ];
    for (content_type, body) in cases {
        for path in ["/token", "/revoke", "/introspect"] {
            let response = app
                .client
                .post(app.url(path))
                .header("content-type", content_type)
                .body(body.clone())
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            assert!(status == 400 || status == 401, "{path} {content_type}: {status}");
            assert_eq!(response.headers()["cache-control"], "no-store");
            let answer: serde_json::Value = response.json().await.expect("an OAuth error in JSON");
            assert!(answer["error"].is_string(), "{path}: {answer}");
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn a_login_post_that_is_no_form_gets_a_localized_page() {
    let app = spawn_app().await;
    for (content_type, body) in [
        ("application/json", r#"{"username":"x"}"#),
        ("text/plain", "username=x"),
    ] {
        let response = app
            .client
            .post(app.url("/login"))
            .header("content-type", content_type)
            .header("accept-language", "en")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{content_type}");
        let page = response.text().await.unwrap();
        assert!(page.contains("<h1>This request is not right</h1>"), "{page}");
    }
    // A media type's name is case-insensitive (RFC 9110 8.3.1): read as
    // the form it is, this one has no form token.
    let response = app
        .client
        .post(app.url("/login"))
        .header("content-type", "Application/X-WWW-Form-Urlencoded; charset=UTF-8")
        .header("accept-language", "en")
        .body("username=x&password=y")
        .send()
        .await
        .unwrap();
    let page = response.text().await.unwrap();
    assert!(page.contains("This form had expired."), "{page}");
    app.stop().await;
}

#[tokio::test]
async fn ui_locales_chooses_the_pages_language_unless_the_member_chose_one() {
    let app = spawn_app().await;
    member(&app.store, "sanne").await;
    let (client_id, _) = register_rp(&app, ClientKind::Confidential, IdTokenAlgorithm::Rs256).await;
    let url = authorize_url(&app, &client_id, &[("ui_locales", "fr-FR en-GB nl")]);
    let login_page = |browser: reqwest::Client| {
        let url = url.clone();
        let app = &app;
        async move {
            let start = browser.get(url).send().await.unwrap();
            let location = start.headers()["location"].to_str().unwrap().to_owned();
            let page = browser.get(app.url(&location)).send().await.unwrap();
            (browser, page.text().await.unwrap())
        }
    };

    let (english, page) = login_page(browser()).await;
    assert!(page.contains("<h1>Log in</h1>"), "{page}");
    // A wrong password answers in the same language, though the form posts
    // without the query that asked for it.
    let form = [
        ("csrf", hidden_field(&page, "csrf")),
        ("request", hidden_field(&page, "request")),
        ("username", "sanne".to_owned()),
        ("password", "Wrong-one-1".to_owned()),
    ];
    let again = english.post(app.url("/login")).form(&form).send().await.unwrap();
    assert_eq!(again.status(), 401);
    let again = again.text().await.unwrap();
    assert!(again.contains("<h1>Log in</h1>"), "{again}");
    assert!(again.contains("<title>Error: Log in – "), "{again}");
    // The member sees which website the login is for, as its operator named it.
    assert!(
        again.contains("<p>Log in to continue to Mijn Menu.</p>"),
        "{again}"
    );
    let own_account = crate::selfservice::fetch(&english, app.url("/login")).await;
    assert!(own_account.contains("<h1>Log in</h1>"), "{own_account}");
    assert!(!own_account.contains("continue to"), "no website: {own_account}");
    // So do the pages the login page leads to, without the query.
    let forgot = crate::selfservice::fetch(&english, app.url("/forgot-password")).await;
    assert!(forgot.contains(r#"<html lang="en">"#), "{forgot}");
    // Until the browser closes, and not over the next website's own wish:
    // it was not the member's choice.
    let start = english
        .get(authorize_url(&app, &client_id, &[("ui_locales", "nl")]))
        .send()
        .await
        .unwrap();
    let location = start.headers()["location"].to_str().unwrap().to_owned();
    let login = english.get(app.url(&location)).send().await.unwrap();
    for cookie in login.headers().get_all("set-cookie") {
        assert!(
            !cookie.to_str().unwrap().contains("Max-Age"),
            "kept for the browser's session only: {cookie:?}"
        );
    }
    assert!(login.text().await.unwrap().contains("<h1>Inloggen</h1>"));

    // The member's own choice wins over the relying party's.
    let dutch = browser();
    dutch.get(app.url("/language/nl")).send().await.unwrap();
    let (_, page) = login_page(dutch).await;
    assert!(page.contains("<h1>Inloggen</h1>"), "{page}");
    assert!(
        page.contains("<p>Log in om verder te gaan naar Mijn Menu.</p>"),
        "{page}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_parameter_given_twice_or_not_text_gets_a_localized_page_not_the_frameworks_text() {
    let app = spawn_app().await;
    for path in [
        "/authorize?client_id=a&client_id=b",
        "/login?client_id=a&client_id=b",
        "/logout?state=a&state=b",
        "/confirm?token=a&token=b",
        "/language/en?return=/a&return=/b",
        // A path parameter that is no text.
        "/language/%ff",
    ] {
        let response = app
            .client
            .get(app.url(path))
            .header("accept-language", "nl")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{path}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{path}"
        );
        let page = response.text().await.unwrap();
        assert!(page.contains("<html lang=\"nl\">"), "{path}: {page}");
        assert!(!page.contains("Failed to deserialize"), "{path}: {page}");
    }
    app.stop().await;
}

/// A member who closes the tab or reloads while the password is checked
/// gets the attempt back when the password was right, as if they had
/// waited: abandoned logins must not lock out a school's shared address.
#[tokio::test]
async fn a_right_password_abandoned_while_it_is_checked_counts_as_no_failure() {
    let app = spawn_app().await;
    // A hash that takes a while to check, so the client is gone meanwhile.
    let slow = si_credentials::Argon2Params::new(64 * 1024, 3, 1).unwrap();
    app.store
        .accounts()
        .create(NewAccount {
            username: Username::parse("geduld").unwrap(),
            email: None,
            status: AccountStatus::Active,
            language: "nl".into(),
            password_hash: Some(si_credentials::hash_password(PASSWORD, &slow).unwrap()),
        })
        .await
        .unwrap();
    let browser = browser();
    let login = LoginForm::open(&app, &browser, &app.url("/account"))
        .await
        .unwrap();
    let abandoned = browser
        .post(app.url("/login"))
        .form(&login.filled("geduld", PASSWORD))
        .timeout(std::time::Duration::from_millis(30))
        .send()
        .await;
    assert!(abandoned.is_err(), "the client gave up before the answer");
    // A right password clears its username's record (and gives the
    // address its count back); an attempt cut off while checked leaves it.
    let username = ["user:geduld".to_owned()];
    for _ in 0..100 {
        let on_record = app.store.throttle().check(&username).await.unwrap().with_failures;
        if on_record.is_empty() {
            app.stop().await;
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the abandoned right password stayed on record as a failure");
}

/// A PostgreSQL failover while a website sends a member in: "try again in
/// a minute" (503), not a page that blames the website (400) for a client
/// this node had not read yet. (SQLite's connections do not end so.)
#[tokio::test]
async fn an_authorization_request_while_the_database_fails_over_gets_503_not_400() {
    let app = spawn_quiet_app().await;
    // Websites this node has not read yet, one per try, registered before
    // any connection is ended: the test's own connection would meet one.
    let mut websites = Vec::new();
    for _ in 0..=ATTEMPTS_TO_MEET_AN_ENDED_CONNECTION {
        websites.push(
            register_rp(&app, ClientKind::Public, IdTokenAlgorithm::Es256)
                .await
                .0,
        );
    }
    let last = websites.pop().expect("one website for the end");
    for website in websites {
        // The node uses a connection (its readiness check goes past ended
        // ones), which is then ended while it counts as just used.
        let ready = browser().get(app.url("/readyz")).send().await.unwrap();
        assert_eq!(ready.status(), 200);
        if !app.end_database_connections().await {
            return;
        }
        let url = authorize_url(
            &app,
            &website,
            &[("code_challenge", CHALLENGE), ("code_challenge_method", "S256")],
        );
        let response = browser().get(url).send().await.unwrap();
        match response.status().as_u16() {
            503 => {
                let page = response.text().await.unwrap();
                assert!(page.contains("Even niet bereikbaar"), "{page}");
                return;
            }
            // A fresh connection answered: on to the login page.
            303 => continue,
            other => panic!("{other}: {}", response.text().await.unwrap()),
        }
    }
    // On a slow machine every try may have had a fresh connection (the
    // pool checks one idle for a second before it hands it out). The
    // failover's next moment, a server that refuses connections, fails
    // the same lookup.
    app.refuse_database_connections(true).await;
    let url = authorize_url(
        &app,
        &last,
        &[("code_challenge", CHALLENGE), ("code_challenge_method", "S256")],
    );
    let response = browser().get(url).send().await.unwrap();
    app.refuse_database_connections(false).await;
    assert_eq!(response.status(), 503);
    let page = response.text().await.unwrap();
    assert!(page.contains("Even niet bereikbaar"), "{page}");
}
