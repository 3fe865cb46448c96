//! Recovering access alone: "Wachtwoord vergeten" mails a link that sets a
//! new password once, "Gebruikersnaam vergeten" mails every username on the
//! address, and "Hulp bij inloggen" shows the configured help. Mail goes
//! through a real SMTP server.

use std::time::Duration;

use mail_parser::MessageParser;
use si_domain::{AccountStatus, Email, Username};
use si_store::{
    Repositories,
    account_links::{AccountLink, LinkPurpose},
    accounts::NewAccount,
    recovery_requests::RecoveryRequest,
};
use single_identity::oidc::clients::{ClientKind, GrantType, IdTokenAlgorithm};

use crate::{
    interop::{
        LoginForm, PASSWORD, REDIRECT_URI, attribute_value, browser, hidden_field, log_in_through, member,
        press_log_out, query_value, register, register_with_grants,
    },
    oauth_security::userinfo_status,
    smtp::{ReceivedMail, SmtpServer},
    support::{TestApp, spawn_app, spawn_app_with},
};

const NEW_PASSWORD: &str = "Zonnebloem-tafel-42!";

pub async fn app_with_mail(smtp: &SmtpServer) -> TestApp {
    let url = smtp.url();
    spawn_app_with(|config| config.mail.smtp_url = Some(url)).await
}

/// The page at `url`, as text.
pub async fn fetch(browser: &reqwest::Client, url: impl reqwest::IntoUrl) -> String {
    browser.get(url).send().await.unwrap().text().await.unwrap()
}

/// The plain-text body of a mail.
pub fn text_of(mail: &ReceivedMail) -> String {
    MessageParser::default()
        .parse(mail.data.as_bytes())
        .expect("a MIME message")
        .body_text(0)
        .expect("a plain-text part")
        .into_owned()
}

fn subject_of(mail: &ReceivedMail) -> String {
    MessageParser::default()
        .parse(mail.data.as_bytes())
        .expect("a MIME message")
        .subject()
        .unwrap_or_default()
        .to_owned()
}

/// The first link in `text` that starts with `prefix`.
/// Follows the link mailed to a new address, as a member does: the page it
/// opens asks, and its button confirms. The page after the button.
pub async fn confirm_new_address(app: &TestApp, link: &str) -> String {
    let asked = browser().get(link).send().await.unwrap().text().await.unwrap();
    assert!(asked.contains("Nieuw e-mailadres bevestigen"), "{asked}");
    // The language switch comes back to the same question, not to the
    // account page, which needs a login on this device.
    let switch = asked
        .split_once(r#"<a href="/language/en?return="#)
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(path, _)| format!("/language/en?return={path}"))
        .expect("a language switch");
    let other_browser = browser();
    let switched = other_browser.get(app.url(&switch)).send().await.unwrap();
    let back = switched.headers()["location"].to_str().unwrap();
    assert!(back.starts_with("/account/email/confirm?"), "{back}");
    assert_eq!(
        query_value(back, "token"),
        query_value(link, "token"),
        "back to the same link"
    );
    let english = fetch(&other_browser, link).await;
    assert!(english.contains("Confirm your new e-mail address"), "{english}");
    browser()
        .post(app.url("/account/email/confirm"))
        .form(&[("token", hidden_field(&asked, "token"))])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

pub fn link_in(text: &str, prefix: &str) -> String {
    let start = text
        .find(prefix)
        .unwrap_or_else(|| panic!("no link {prefix} in {text}"));
    text[start..]
        .split(|c: char| c.is_whitespace() || c == '"' || c == '>')
        .next()
        .unwrap()
        .to_owned()
}

/// Posts the form of the page at `path` the way a browser does: with the
/// CSRF token from the page, to the form's `action`.
async fn submit(
    app: &TestApp,
    browser: &reqwest::Client,
    path: &str,
    fields: &[(&str, &str)],
) -> (u16, String) {
    let page = fetch(browser, app.url(path)).await;
    let csrf = hidden_field(&page, "csrf");
    let action = page
        .split("<form method=\"post\" action=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no form on {path}: {page}"))
        .to_owned();
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    let response = browser.post(app.url(&action)).form(&form).send().await.unwrap();
    shown(app, browser, response).await
}

/// The status of `response`, and the page a browser shows for it: a
/// redirect to the page that says a change was made (the account page with
/// its notice, the page after a password reset) is followed, as a browser
/// does.
pub async fn shown(app: &TestApp, browser: &reqwest::Client, response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let to_notice = response
        .headers()
        .get("location")
        .and_then(|location| location.to_str().ok())
        .filter(|location| {
            location.starts_with("/account?done=") || location.starts_with("/reset-password/done")
        })
        .map(str::to_owned);
    match to_notice {
        Some(location) => (status, fetch(browser, app.url(&location)).await),
        None => (status, response.text().await.unwrap()),
    }
}

fn authorize_url(app: &TestApp, client_id: &str) -> String {
    let query = [
        ("client_id", client_id),
        ("redirect_uri", REDIRECT_URI),
        ("response_type", "code"),
        ("scope", "openid"),
        ("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
        ("code_challenge_method", "S256"),
    ];
    format!(
        "{}?{}",
        app.url("/authorize"),
        serde_urlencoded::to_string(query).unwrap()
    )
}

/// The address of `page`'s switch to English.
pub fn to_english(page: &str) -> String {
    page.split_once(r#"<a href="/language/en?"#)
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(query, _)| format!("/language/en?{query}"))
        .expect("a language switch")
}

/// The access token a website that gets no refresh token, registered
/// now, gets for a login in `browser`.
async fn code_only_website_access(app: &TestApp, browser: &reqwest::Client) -> String {
    let code_only = vec![GrantType::AuthorizationCode];
    let (website, secret) =
        register_with_grants(app, ClientKind::Confidential, IdTokenAlgorithm::Es256, code_only).await;
    let tokens = tokens_at(app, browser, &website, &secret.unwrap()).await;
    tokens["access_token"].as_str().unwrap().to_owned()
}

/// The tokens `client_id` gets for a login in `browser` (with the password
/// the first time, by single sign-on after).
async fn tokens_at(
    app: &TestApp,
    browser: &reqwest::Client,
    client_id: &str,
    secret: &str,
) -> serde_json::Value {
    let back = log_in_through(app, browser, &authorize_url(app, client_id), "sanne", PASSWORD).await;
    let code = query_value(&back, "code").unwrap();
    app.client
        .post(app.url("/token"))
        .basic_auth(client_id, Some(secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// A member told "Kijk in je mail" gets the mail, also when the node that
/// answered stopped before it queued it: the request was stored first, and
/// the next node to start finishes it.
#[tokio::test]
async fn a_recovery_request_left_by_a_stopped_node_is_mailed_by_the_next() {
    let mut app = spawn_app().await;
    member(&app.store, "sanne").await;
    app.stop_serving().await;
    for (kind, typed) in [("password", "sanne"), ("username", "OUDERS@example.nl")] {
        let asked = RecoveryRequest {
            kind: kind.to_owned(),
            typed: typed.to_owned(),
            language: "en".to_owned(),
            login_return: String::new(),
        };
        app.store
            .as_writer()
            .await
            .recovery_requests()
            .add(&asked)
            .await
            .unwrap();
    }

    let node = app.another_node().await;
    for _ in 0..100 {
        if app.store.outbox().entries().await.unwrap().len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Each once, also when a sweep comes after the first finish.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let queued = app.store.outbox().entries().await.unwrap();
    let mut templates: Vec<_> = queued.iter().map(|mail| mail.template.as_str()).collect();
    templates.sort_unstable();
    assert_eq!(templates, ["forgot_password", "forgot_username"]);
    assert!(
        queued.iter().all(|mail| mail.recipient == "ouders@example.nl"),
        "{queued:?}"
    );
    let left = app
        .store
        .recovery_requests()
        .left_over(Duration::ZERO, 10)
        .await
        .unwrap();
    assert!(left.is_empty(), "taken once: {left:?}");
    node.stop().await.unwrap();
}

#[tokio::test]
async fn a_forgotten_password_is_replaced_once_through_the_mailed_link() {
    let smtp = SmtpServer::start();
    let app = app_with_mail(&smtp).await;
    member(&app.store, "sanne").await;
    let (client_id, secret) = register(&app, ClientKind::Confidential, IdTokenAlgorithm::Es256).await;
    let secret = secret.unwrap();
    // Logged in somewhere, with a refresh token, and at a website that gets
    // none: what each got must end with the reset.
    let logged_in = browser();
    let tokens = tokens_at(&app, &logged_in, &client_id, &secret).await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let website_access = code_only_website_access(&app, &logged_in).await;
    assert_eq!(userinfo_status(&app, &access).await, 200);
    assert_eq!(userinfo_status(&app, &website_access).await, 200);

    let member_browser = browser();
    let (status, page) = submit(
        &app,
        &member_browser,
        "/forgot-password",
        &[("username", "sanne")],
    )
    .await;
    assert_eq!(status, 200);
    assert!(page.contains("Kijk in je mail"), "{page}");
    let received = smtp.wait_for_async(1).await;
    assert_eq!(received[0].to, ["ouders@example.nl"]);
    let link = link_in(&text_of(&received[0]), &app.url("/reset-password?token="));
    let path = link.trim_start_matches(&app.url(""));

    let page = fetch(&member_browser, &link).await;
    assert!(
        page.contains("Stel je wachtwoord in") && page.contains("Gebruikersnaam: sanne"),
        "{page}"
    );
    let token = hidden_field(&page, "token");
    // Each refusal is tied to the field it is about; both fields come back
    // empty, so no rule shows as met.
    let attempts = [
        ("kort1!", "kort1!", "voldoet nog niet aan deze regels", "password"),
        (NEW_PASSWORD, "Zonnebloem-tafel-43!", "niet hetzelfde", "repeat"),
        (
            "Sanne-2024-!x",
            "Sanne-2024-!x",
            "gebruikersnaam of pasnummer",
            "password",
        ),
        ("Password1!", "Password1!", "te makkelijk te raden", "password"),
        // zxcvbn's own words are English: the Dutch ones count too.
        ("Welkom2024!", "Welkom2024!", "te makkelijk te raden", "password"),
        // Full-width letters log in as plain ones (NFKC), so they are
        // judged as those: "Password1!" and "Sanne-2024-!x" again.
        (
            "\u{ff30}\u{ff41}\u{ff53}\u{ff53}\u{ff57}\u{ff4f}\u{ff52}\u{ff44}\u{ff11}\u{ff01}",
            "\u{ff30}\u{ff41}\u{ff53}\u{ff53}\u{ff57}\u{ff4f}\u{ff52}\u{ff44}\u{ff11}\u{ff01}",
            "te makkelijk te raden",
            "password",
        ),
        (
            "\u{ff33}\u{ff41}\u{ff4e}\u{ff4e}\u{ff45}-2024-!x",
            "\u{ff33}\u{ff41}\u{ff4e}\u{ff4e}\u{ff45}-2024-!x",
            "gebruikersnaam of pasnummer",
            "password",
        ),
        (
            "Zonnebloem\0tafel-43!",
            "Zonnebloem\0tafel-43!",
            "een teken dat je niet kunt typen",
            "password",
        ),
        (
            "Zonnebloem\u{200b}tafel-43!",
            "Zonnebloem\u{200b}tafel-43!",
            "een onzichtbaar teken",
            "password",
        ),
    ];
    for (password, repeat, refusal, field) in attempts {
        let (status, page) = submit(
            &app,
            &member_browser,
            path,
            &[("token", &token), ("password", password), ("repeat", repeat)],
        )
        .await;
        assert_eq!(status, 400, "{password}");
        assert!(page.contains(refusal), "{password}: {page}");
        assert!(
            page.contains("<title>Fout: Stel je wachtwoord in"),
            "{password}: {page}"
        );
        for id in ["password", "repeat"] {
            assert_eq!(
                input_tag(&page, id).contains("aria-invalid=\"true\""),
                id == field,
                "{password}: {}",
                input_tag(&page, id)
            );
        }
        assert!(
            !page.contains("class=\"met\""),
            "{password}: a rule ticked over an empty field"
        );
        // Both fields come back empty: the focus goes to the first, which
        // is described by every error, the other field's too.
        let first = input_tag(&page, "password");
        assert!(first.contains("autofocus"), "{password}: {first}");
        assert!(!input_tag(&page, "repeat").contains("autofocus"), "{password}");
        let error_id = if field == "repeat" {
            "repeat-error"
        } else {
            "password-errors"
        };
        assert!(first.contains(error_id), "{password}: {first}");
    }
    // The rules a refused password missed are named in its error.
    let (_, page) = submit(
        &app,
        &member_browser,
        path,
        &[("token", &token), ("password", "kort1!"), ("repeat", "kort1!")],
    )
    .await;
    let start = page.find(r#"id="password-errors">"#).expect("an error");
    let errors = &page[start..start + page[start..].find("</div>").unwrap()];
    assert!(
        errors.contains("tenminste 8 tekens") && errors.contains("1 hoofdletter"),
        "{errors}"
    );
    assert!(
        !errors.contains("1 cijfer") && !errors.contains("kleine letter"),
        "only the rules it missed: {errors}"
    );
    let (status, page) = submit(
        &app,
        &member_browser,
        path,
        &[
            ("token", &token),
            ("password", NEW_PASSWORD),
            ("repeat", NEW_PASSWORD),
        ],
    )
    .await;
    assert_eq!(
        status, 303,
        "to a page of its own, so a reload sends nothing again"
    );
    assert!(page.contains("Je wachtwoord is gewijzigd"), "{page}");
    assert!(
        page.contains(r#"<a href="/language/en?return=/login""#),
        "the language switch leads on to the login page, as the page does: {page}"
    );

    let received = smtp.wait_for_async(2).await;
    assert!(
        text_of(&received[1]).contains("sanne"),
        "a notice of the change: {}",
        subject_of(&received[1])
    );
    let again = logged_in
        .get(authorize_url(&app, &client_id))
        .send()
        .await
        .unwrap();
    assert!(
        again.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login"),
        "the other session ended"
    );
    let refreshed = app
        .client
        .post(app.url("/token"))
        .basic_auth(&client_id, Some(&secret))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), 400, "the refresh token was revoked");
    assert_eq!(
        userinfo_status(&app, &access).await,
        401,
        "so was the access token given with it"
    );
    assert_eq!(
        userinfo_status(&app, &website_access).await,
        401,
        "and the one of the ended session's website"
    );
    let back = log_in_through(
        &app,
        &browser(),
        &authorize_url(&app, &client_id),
        "sanne",
        NEW_PASSWORD,
    )
    .await;
    assert!(query_value(&back, "code").is_some(), "the new password works");

    let page = fetch(&member_browser, &link).await;
    assert!(
        page.contains("Deze link werkt niet meer") && page.contains("href=\"/forgot-password\""),
        "a used link offers a new mail: {page}"
    );

    // Asked on the English page, the mail is English too.
    fetch(&member_browser, app.url("/language/en?return=/forgot-password")).await;
    let (status, page) = submit(
        &app,
        &member_browser,
        "/forgot-password",
        &[("username", "sanne")],
    )
    .await;
    assert_eq!(status, 200, "{page}");
    let received = smtp.wait_for_async(3).await;
    assert_eq!(subject_of(&received[2]), "Choose a new password");
    app.stop().await;
}

/// Where the link with `text` on `page` leads, as a browser reads it.
fn link_with_text(page: &str, text: &str) -> String {
    let text_at = page
        .find(&format!(">{text}</a>"))
        .unwrap_or_else(|| panic!("no link {text} in {page}"));
    let start = page[..text_at].rfind("href=\"").unwrap() + "href=\"".len();
    let end = start + page[start..].find('"').unwrap();
    attribute_value(&page[start..end])
}

/// "Wachtwoord vergeten?" on a website's sign-in: the way back to that
/// sign-in travels through the forgot page and the mailed link, so that
/// after the new password the member logs in and lands on the website,
/// not on the account page.
#[tokio::test]
async fn a_password_forgotten_at_a_websites_login_leads_back_to_that_website() {
    let smtp = SmtpServer::start();
    let app = app_with_mail(&smtp).await;
    member(&app.store, "sanne").await;
    let (client_id, _) = register(&app, ClientKind::Confidential, IdTokenAlgorithm::Es256).await;
    let member_browser = browser();
    let sign_in = member_browser
        .get(authorize_url(&app, &client_id))
        .send()
        .await
        .unwrap();
    let login_path = sign_in.headers()["location"].to_str().unwrap().to_owned();
    assert!(login_path.starts_with("/login?"), "{login_path}");
    let login_page = fetch(&member_browser, app.url(&login_path)).await;

    let forgot_path = link_with_text(&login_page, "Wachtwoord vergeten?");
    assert!(
        forgot_path.starts_with("/forgot-password?return="),
        "{forgot_path}"
    );
    // Through "Hulp bij inloggen" the way back goes along too.
    let help = fetch(
        &member_browser,
        app.url(&link_with_text(&login_page, "Hulp bij inloggen")),
    )
    .await;
    let forgot_from_help = link_with_text(&help, "Wachtwoord vergeten?");
    assert_eq!(
        query_value(&forgot_from_help, "return").as_deref(),
        Some(login_path.as_str())
    );
    let forgot_page = fetch(&member_browser, app.url(&forgot_path)).await;
    assert_eq!(link_with_text(&forgot_page, "Naar de loginpagina"), login_path);
    let asked = member_browser
        .post(app.url("/forgot-password"))
        .form(&[
            ("csrf", hidden_field(&forgot_page, "csrf")),
            ("return", hidden_field(&forgot_page, "return")),
            ("username", "sanne".into()),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(asked.contains("Kijk in je mail"), "{asked}");
    assert_eq!(link_with_text(&asked, "Naar de loginpagina"), login_path);
    let received = smtp.wait_for_async(1).await;
    let link = link_in(&text_of(&received[0]), &app.url("/reset-password?token="));
    assert_eq!(query_value(&link, "return").as_deref(), Some(login_path.as_str()));

    let page = fetch(&member_browser, &link).await;
    assert!(page.contains("Stel je wachtwoord in"), "{page}");
    let changed = member_browser
        .post(app.url("/reset-password"))
        .form(&[
            ("csrf", hidden_field(&page, "csrf")),
            ("token", hidden_field(&page, "token")),
            ("return", hidden_field(&page, "return")),
            ("password", NEW_PASSWORD.into()),
            ("repeat", NEW_PASSWORD.into()),
        ])
        .send()
        .await
        .unwrap();
    let (_, changed) = shown(&app, &member_browser, changed).await;
    assert!(changed.contains("Je wachtwoord is gewijzigd"), "{changed}");
    let back = link_with_text(&changed, "Naar de loginpagina");
    assert_eq!(back, login_path);

    let form = LoginForm::open_page(&app, &member_browser, &back).await;
    let logged_in = member_browser
        .post(app.url("/login"))
        .form(&form.filled("sanne", NEW_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(logged_in.status(), 303);
    let website = logged_in.headers()["location"].to_str().unwrap();
    assert!(
        website.starts_with(REDIRECT_URI),
        "back at the website: {website}"
    );
    assert!(query_value(website, "code").is_some(), "{website}");

    // Only a login page of this site rides along; anything else is dropped.
    let elsewhere = fetch(
        &member_browser,
        app.url("/forgot-password?return=https%3A%2F%2Fevil.example%2Flogin%3Fx%3D1"),
    )
    .await;
    assert_eq!(link_with_text(&elsewhere, "Naar de loginpagina"), "/login");
    assert!(!elsewhere.contains("evil.example"), "{elsewhere}");
    app.stop().await;
}

#[tokio::test]
async fn the_answer_tells_nothing_about_which_usernames_and_addresses_exist() {
    let smtp = SmtpServer::start();
    let app = app_with_mail(&smtp).await;
    member(&app.store, "sanne").await;
    account_without_password(
        app.store.accounts(),
        "daan",
        "ouders@example.nl",
        AccountStatus::Pending,
    )
    .await;
    let member_browser = browser();
    // The form says, before anything is sent, that case matters.
    let form = fetch(&member_browser, app.url("/forgot-password")).await;
    assert!(
        form.contains("Vul je gebruikersnaam in. Let op: hoofdletters en kleine letters zijn verschillend."),
        "{form}"
    );

    let (_, known) = submit(
        &app,
        &member_browser,
        "/forgot-password",
        &[("username", "sanne")],
    )
    .await;
    let (_, unknown) = submit(
        &app,
        &member_browser,
        "/forgot-password",
        &[("username", "Sanne")],
    )
    .await;
    assert_eq!(known, unknown, "case matters, and the page does not say so");
    let (_, known) = submit(
        &app,
        &member_browser,
        "/forgot-username",
        &[("email", "ouders@example.nl")],
    )
    .await;
    let (status, unknown) = submit(
        &app,
        &member_browser,
        "/forgot-username",
        &[("email", "niemand@example.nl")],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(known, unknown);

    let received = smtp.wait_for_async(2).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(smtp.received().len(), 2, "no mail for what does not exist");
    let reminder = received
        .iter()
        .find(|mail| !text_of(mail).contains("reset-password"))
        .expect("the username reminder");
    let text = text_of(reminder);
    // Every username, with the name of its member where a library has one,
    // so that a parent sees whose is whose.
    assert!(
        text.contains("sanne (Sanne de Vries)") && text.contains("daan"),
        "every username: {text}"
    );

    let (status, page) = submit(
        &app,
        &member_browser,
        "/forgot-username",
        &[("email", "geen adres")],
    )
    .await;
    assert_eq!(status, 400);
    assert!(page.contains("Vul een geldig e-mailadres in"), "{page}");
    let (status, page) = submit(&app, &member_browser, "/forgot-password", &[("username", "  ")]).await;
    assert_eq!(status, 400);
    assert!(page.contains("Vul je gebruikersnaam in"), "{page}");
    assert!(page.contains("<title>Fout: "), "the title says it too: {page}");
    let forged = app
        .client
        .post(app.url("/forgot-password"))
        .form(&[("csrf", "from-another-site"), ("username", "sanne")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 400, "a form from another site is refused");
    let not_a_form = app
        .client
        .post(app.url("/forgot-username"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(not_a_form.status(), 400);
    app.stop().await;
}

/// The address is found however it is typed; the mail goes to it as typed
/// when an account has it so, else as the first account has it; and every
/// spelling counts towards the same limit.
#[tokio::test]
async fn a_username_reminder_finds_the_address_in_any_case() {
    let smtp = SmtpServer::start();
    let app = app_with_mail(&smtp).await;
    for (username, address) in [
        ("daan", "Ouders.Jansen@Example.NL"),
        ("evaj", "ouders.jansen@example.nl"),
    ] {
        account_without_password(app.store.accounts(), username, address, AccountStatus::Active).await;
    }
    let member_browser = browser();
    for typed in [
        "ouders.jansen@example.nl",
        "OUDERS.JANSEN@EXAMPLE.NL",
        "Ouders.Jansen@example.nl",
    ] {
        let (status, _) = submit(&app, &member_browser, "/forgot-username", &[("email", typed)]).await;
        assert_eq!(status, 200);
    }
    let received = smtp.wait_for_async(3).await;
    // A fourth spelling is one request too many for the same address.
    let (status, _) = submit(
        &app,
        &member_browser,
        "/forgot-username",
        &[("email", "oUDERS.jANSEN@example.nl")],
    )
    .await;
    assert_eq!(status, 200, "the page answers alike, mail or not");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(smtp.received().len(), 3, "no fourth mail, however typed");
    let mut sent_to: Vec<_> = received.iter().map(|reminder| reminder.to.join(",")).collect();
    sent_to.sort();
    assert_eq!(
        sent_to,
        [
            "Ouders.Jansen@example.nl",
            "Ouders.Jansen@example.nl",
            "ouders.jansen@example.nl"
        ],
        "evaj's spelling as typed; daan's (the first username's) as typed, and for a spelling no one has"
    );
    for reminder in &received {
        let text = text_of(reminder);
        assert!(
            text.contains("daan") && text.contains("evaj"),
            "both usernames: {text}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn asking_again_and_again_sends_three_mails_not_a_flood() {
    let smtp = SmtpServer::start();
    let app = app_with_mail(&smtp).await;
    member(&app.store, "sanne").await;
    let member_browser = browser();
    for _ in 0..6 {
        let (status, _) = submit(
            &app,
            &member_browser,
            "/forgot-password",
            &[("username", "sanne")],
        )
        .await;
        assert_eq!(status, 200, "the page answers alike, mail or not");
        let (status, _) = submit(
            &app,
            &member_browser,
            "/forgot-username",
            &[("email", "ouders@example.nl")],
        )
        .await;
        assert_eq!(status, 200);
    }
    smtp.wait_for_async(6).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let received = smtp.received();
    let resets = received
        .iter()
        .filter(|mail| text_of(mail).contains("reset-password"))
        .count();
    assert_eq!(
        (resets, received.len() - resets),
        (3, 3),
        "three reset links and three username reminders"
    );
    app.stop().await;
}

/// Every card number tried from one network: after 30 requests (a
/// library's public computers share an address) the next waits, on both
/// forgot pages alike, whatever was typed.
#[tokio::test]
async fn one_network_asking_for_recovery_mails_for_many_accounts_soon_waits() {
    let app = spawn_app().await;
    let visitor = browser();
    for n in 0..30 {
        let card = format!("2000001234{n:04}");
        let fields = [("username", card.as_str())];
        let (status, _) = submit(&app, &visitor, "/forgot-password", &fields).await;
        assert_eq!(status, 200, "request {n}");
    }
    let fields = [("email", "ouders@example.nl")];
    let (status, page) = submit(&app, &visitor, "/forgot-username", &fields).await;
    assert_eq!(status, 429);
    assert!(
        page.contains(
            "Vanaf dit netwerk zijn nu te veel herstelmails aangevraagd. Probeer het over 1 minuut opnieuw."
        ),
        "{page}"
    );
    assert!(
        page.contains(r#"value="ouders@example.nl""#),
        "what was typed stays: {page}"
    );
    app.stop().await;
}

#[tokio::test]
async fn help_shows_the_configured_text_and_link_or_the_built_in_one() {
    let app = spawn_app_with(|config| {
        config.selfservice.help_text_nl = Some("Bel de bibliotheek.\n\nOf kom langs.".to_owned());
        config.selfservice.help_url = Some("https://www.bibliotheek.example/hulp".to_owned());
    })
    .await;
    let page = app.get("/help").await.text().await.unwrap();
    assert!(page.contains("<h1>Hulp bij inloggen</h1>"), "{page}");
    assert!(page.contains("<p>Bel de bibliotheek.</p>") && page.contains("<p>Of kom langs.</p>"));
    assert!(page.contains("href=\"https://www.bibliotheek.example/hulp\""));
    // The header's help link is this page: marked so, for screen readers.
    assert!(
        page.contains(r#"aria-current="page">Hulp bij inloggen</a>"#),
        "{page}"
    );
    let login = app.get("/login").await.text().await.unwrap();
    assert!(!login.contains("aria-current"), "{login}");
    app.stop().await;

    let app = spawn_app().await;
    let english = app
        .client
        .get(app.url("/help"))
        .header("accept-language", "en-GB,en;q=0.8")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(english.contains("<h1>Help with logging in</h1>") && english.contains("library card number"));
    assert!(
        english.contains(r#"<a href="https://www.bibliotheek.nl/hulp-bij-inloggen.html">More help"#),
        "the national help page the mails link to: {english}"
    );
    // The way back: the page the member came from on this site, else the login page.
    let from_login = app
        .get("/help?return=%2Flogin%3Fclient_id%3Dsite%26state%3Dx")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        from_login.contains(r#"<a href="/login?client_id=site&#38;state=x">Terug naar de vorige pagina</a>"#),
        "{from_login}"
    );
    for elsewhere in ["https%3A%2F%2Fevil.example", "%2F%2Fevil.example", ""] {
        let page = app
            .get(&format!("/help?return={elsewhere}"))
            .await
            .text()
            .await
            .unwrap();
        assert!(
            page.contains(r#"<a href="/login">Naar de loginpagina</a>"#),
            "{elsewhere}: {page}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn an_unknown_or_expired_link_offers_a_new_mail() {
    let app = spawn_app().await;
    let page = |path: &'static str| {
        let answer = app.get(path);
        async move {
            let answer = answer.await;
            (answer.status().as_u16(), answer.text().await.unwrap())
        }
    };
    let (status, unknown) = page("/reset-password?token=not-a-token").await;
    assert_eq!(status, 404, "a link that is not one");
    assert!(unknown.contains("Deze link klopt niet"), "{unknown}");
    // A confirmation link cut short in copying is not "used already": the
    // account is still waiting for its password.
    pending_member(&app, "sanne", "a-long-confirmation-token").await;
    let (status, cut_short) = page("/confirm?token=a-long-confirm").await;
    assert_eq!(status, 404);
    assert!(cut_short.contains("Deze link klopt niet"), "{cut_short}");
    assert!(!cut_short.contains("bevestigd"), "{cut_short}");
    let (status, expired) = page("/confirm?token=a-long-confirmation-token").await;
    assert_eq!(status, 410, "a link that no longer works: {expired}");
    assert!(
        expired.contains(r#"action="/confirm/new-mail""#),
        "a new mail at once: {expired}"
    );
    let posted = app
        .client
        .post(app.url("/reset-password"))
        .form(&[
            ("token", "not-a-token"),
            ("password", NEW_PASSWORD),
            ("repeat", NEW_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 404);
    assert!(posted.text().await.unwrap().contains("Stuur een nieuwe mail"));
    app.stop().await;
}

/// An account on `address` that has no password yet.
async fn account_without_password<C: sea_orm::ConnectionTrait>(
    accounts: si_store::accounts::Accounts<'_, C>,
    username: &str,
    address: &str,
    status: AccountStatus,
) -> si_store::accounts::Account {
    let new = NewAccount {
        username: Username::parse(username).unwrap(),
        email: Some(Email::parse(address).unwrap()),
        status,
        language: "nl".into(),
        password_hash: None,
    };
    accounts.create(new).await.unwrap()
}

/// A member the desk registered: pending, no password yet, with an expired
/// confirmation link (`token`) as a mail of weeks ago would carry.
pub async fn pending_member(app: &TestApp, username: &str, token: &str) -> si_store::accounts::Account {
    let accounts = app.store.accounts();
    let account =
        account_without_password(accounts, username, "ouders@example.nl", AccountStatus::Pending).await;
    let drenthe = crate::interop::library(&app.store, "DRE01", "Biblionet Drenthe").await;
    crate::interop::enroll(&app.store, &drenthe, account.id).await;
    app.store
        .account_links()
        .issue(
            &si_credentials::secrets::digest(token),
            &AccountLink {
                account: account.id,
                purpose: LinkPurpose::Confirm,
                expires_at: time::OffsetDateTime::now_utc() - time::Duration::days(1),
            },
        )
        .await
        .unwrap();
    account
}

#[tokio::test]
async fn a_password_set_through_a_reset_link_ends_the_confirmation_link_too() {
    let smtp = SmtpServer::start();
    let app = app_with_mail(&smtp).await;
    let account = pending_member(&app, "21234567890123", "expired-token").await;
    // The desk's confirmation mail, still valid for days, in a family mailbox.
    app.store
        .account_links()
        .issue(
            &si_credentials::secrets::digest("still-valid"),
            &AccountLink {
                account: account.id,
                purpose: LinkPurpose::Confirm,
                expires_at: time::OffsetDateTime::now_utc() + time::Duration::days(6),
            },
        )
        .await
        .unwrap();
    let member_browser = browser();
    let (status, _) = submit(
        &app,
        &member_browser,
        "/forgot-password",
        &[("username", "21234567890123")],
    )
    .await;
    assert_eq!(status, 200);
    let mail = &smtp.wait_for_async(1).await[0];
    let link = link_in(&text_of(mail), &app.url("/reset-password?token="));
    let page = fetch(&member_browser, &link).await;
    let token = hidden_field(&page, "token");
    let (status, page) = submit(
        &app,
        &member_browser,
        link.trim_start_matches(&app.url("")),
        &[
            ("token", &token),
            ("password", NEW_PASSWORD),
            ("repeat", NEW_PASSWORD),
        ],
    )
    .await;
    assert_eq!(status, 303, "{page}");
    assert!(page.contains("Je wachtwoord is gewijzigd"), "{page}");

    let page = fetch(&browser(), app.url("/confirm?token=still-valid")).await;
    assert!(page.contains("Deze link werkt niet meer"), "{page}");
    app.stop().await;
}

/// Posts the password form of a confirmation link's `page`, as the browser
/// that shows it: the password and its repeat.
async fn set_first_password(
    app: &TestApp,
    browser: &reqwest::Client,
    page: &str,
    (password, repeat): (&str, &str),
) -> reqwest::Response {
    let form = [
        ("csrf", hidden_field(page, "csrf")),
        ("token", hidden_field(page, "token")),
        ("password", password.to_owned()),
        ("repeat", repeat.to_owned()),
    ];
    browser
        .post(app.url("/confirm"))
        .form(&form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_new_member_confirms_sets_a_password_and_lands_on_the_account_page() {
    let smtp = SmtpServer::start();
    let app = app_with_mail(&smtp).await;
    let account = pending_member(&app, "21234567890123", "expired-token").await;
    let member_browser = browser();
    // A shared computer: someone else is still logged in in this browser.
    member(&app.store, "sanne").await;
    let sanne = post_login(&member_browser, &app.url("/login"), "sanne", PASSWORD).await;
    let sannes_session = sanne.headers()["set-cookie"].to_str().unwrap();
    let sannes_session = sannes_session["si_session=".len()..]
        .split(';')
        .next()
        .unwrap()
        .to_owned();

    let page = fetch(&member_browser, app.url("/confirm?token=expired-token")).await;
    assert!(
        page.contains("Deze link werkt niet meer") && page.contains("Stuur een nieuwe mail"),
        "{page}"
    );
    let (status, page) = submit(
        &app,
        &member_browser,
        "/confirm?token=expired-token",
        &[("token", "expired-token")],
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("nieuwe bevestigingsmail"), "{page}");

    let mail = &smtp.wait_for_async(1).await[0];
    let link = link_in(&text_of(mail), &app.url("/confirm?token="));
    let page = fetch(&member_browser, &link).await;
    assert!(
        page.contains("Stel je wachtwoord in") && page.contains("21234567890123"),
        "{page}"
    );
    assert!(
        page.contains("niet makkelijk te raden")
            && page.contains("Zet je gebruikersnaam of pasnummer er ook niet in."),
        "the checks beyond the guide's rules are told before: {page}"
    );
    let password = "21234567890123-Ab!";
    let refused = set_first_password(&app, &member_browser, &page, (password, password)).await;
    assert_eq!(refused.status(), 400, "the card number inside the password");
    let confirmed = set_first_password(&app, &member_browser, &page, (NEW_PASSWORD, NEW_PASSWORD)).await;
    assert_eq!(confirmed.status(), 303);
    assert_eq!(confirmed.headers()["location"], "/account?confirmed");
    let account_page = member_browser
        .get(app.url("/account?confirmed"))
        .send()
        .await
        .unwrap();
    assert_eq!(account_page.status(), 200, "logged in after confirming");
    let account_page = account_page.text().await.unwrap();
    assert!(account_page.contains("Mijn inlogaccount") && account_page.contains("Biblionet Drenthe"));
    assert!(
        account_page.contains("Je inlogaccount is klaar voor gebruik."),
        "the member hears it worked: {account_page}"
    );
    assert!(!account_page.contains("sanne"), "{account_page}");
    let digest = si_credentials::secrets::digest(&sannes_session);
    let left = app.store.sessions().find(&digest).await.unwrap();
    assert!(left.is_none(), "the other member's session ended");

    let stored = app.store.accounts().by_id(&account.id).await.unwrap().unwrap();
    assert_eq!(stored.status, AccountStatus::Active);
    assert!(stored.email_verified_at.is_some(), "the address is confirmed");
    let page = fetch(&member_browser, &link).await;
    assert!(
        page.contains("al gebruikt") && page.contains("href=\"/login\""),
        "{page}"
    );
    app.stop().await;
}

/// A mail in English opens its pages in English, in a browser that prefers
/// Dutch, up to the account page the link leads to; the member's own choice
/// of language still wins.
#[tokio::test]
async fn a_mailed_link_opens_its_pages_in_the_mails_language() {
    let smtp = SmtpServer::start();
    let app = app_with_mail(&smtp).await;
    let account = pending_member(&app, "21234567890123", "expired-token").await;
    app.store
        .accounts()
        .set_language(&account.id, "en")
        .await
        .unwrap();
    let dutch_browser = || {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("accept-language", "nl-NL,nl;q=0.9".parse().unwrap());
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(headers)
            .build()
            .unwrap()
    };
    let (status, _) = submit(
        &app,
        &dutch_browser(),
        "/confirm?token=expired-token",
        &[("token", "expired-token")],
    )
    .await;
    assert_eq!(status, 200);
    let mail = &smtp.wait_for_async(1).await[0];
    assert_eq!(subject_of(mail), "Confirm your login account");
    let link = link_in(&text_of(mail), &app.url("/confirm?token="));
    assert_eq!(query_value(&link, "lang").as_deref(), Some("en"), "{link}");

    let member_browser = dutch_browser();
    let page = fetch(&member_browser, &link).await;
    assert!(page.contains("Set your password"), "{page}");
    // The form posts without the link's query, and still answers in English.
    let refused = set_first_password(&app, &member_browser, &page, (NEW_PASSWORD, "Something-else-1!")).await;
    assert_eq!(refused.status(), 400);
    assert!(refused.text().await.unwrap().contains("Set your password"));
    let confirmed = set_first_password(&app, &member_browser, &page, (NEW_PASSWORD, NEW_PASSWORD)).await;
    assert_eq!(confirmed.status(), 303);
    let account_page = fetch(&member_browser, app.url("/account?confirmed")).await;
    assert!(account_page.contains("My login account"), "{account_page}");

    // A member who chose Dutch with the switch gets Dutch.
    let chose_dutch = dutch_browser();
    chose_dutch.get(app.url("/language/nl")).send().await.unwrap();
    let page = fetch(&chose_dutch, &link).await;
    assert!(page.contains("Deze link werkt niet meer"), "{page}");
    app.stop().await;
}

#[tokio::test]
async fn a_member_changes_the_username_and_the_old_one_stays_held() {
    let smtp = SmtpServer::start();
    let app = app_with_mail(&smtp).await;
    member(&app.store, "sanne").await;
    member(&app.store, "daan.jansen").await;
    let member_browser = browser();

    let to_login = member_browser.get(app.url("/account")).send().await.unwrap();
    assert_eq!(to_login.status(), 303);
    assert_eq!(to_login.headers()["location"], "/login");
    let logged_in = post_login(&member_browser, &app.url("/login"), "sanne", PASSWORD).await;
    assert_eq!(
        logged_in.headers()["location"],
        "/account",
        "a login without a client leads here"
    );

    let attempts = [
        ("  ", "Vul een nieuwe gebruikersnaam in."),
        ("ab", "Deze gebruikersnaam kan niet"),
        // Letters with accents are letters too: the message says which are meant.
        ("jän1", "letters zonder accent (a–z, A–Z)"),
        ("sanne", "Dit is al je gebruikersnaam"),
        ("daan.jansen", "al in gebruik"),
    ];
    for (wanted, refusal) in attempts {
        let (status, page) = submit(&app, &member_browser, "/account", &[("username", wanted)]).await;
        assert_eq!(status, 400, "{wanted}");
        assert!(page.contains(refusal), "{wanted}: {page}");
    }
    let (status, page) = submit(
        &app,
        &member_browser,
        "/account",
        &[("username", "Sanne.deVries")],
    )
    .await;
    assert_eq!(
        status, 303,
        "to the account page, so a reload sends nothing again"
    );
    assert!(
        page.contains("Je gebruikersnaam is gewijzigd") && page.contains("Sanne.deVries"),
        "{page}"
    );
    // Said once: the page reloaded is the page as it is.
    let reloaded = fetch(&member_browser, app.url("/account")).await;
    assert!(
        !reloaded.contains("Je gebruikersnaam is gewijzigd") && reloaded.contains("Sanne.deVries"),
        "{reloaded}"
    );
    let notice = &smtp.wait_for_async(1).await[0];
    assert_eq!(notice.to, ["ouders@example.nl"]);
    let text = text_of(notice);
    assert!(
        text.contains("is gewijzigd van sanne in Sanne.deVries. Log voortaan in met Sanne.deVries."),
        "{text}"
    );

    // Someone else cannot take the old name over; its owner can take it back.
    let other = browser();
    let page = fetch(&other, app.url("/login")).await;
    other
        .post(app.url("/login"))
        .form(&[
            ("csrf", hidden_field(&page, "csrf").as_str()),
            ("request", ""),
            ("username", "daan.jansen"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    let (status, page) = submit(&app, &other, "/account", &[("username", "sanne")]).await;
    assert_eq!(status, 400);
    assert!(page.contains("al in gebruik"), "{page}");
    let (status, _) = submit(&app, &member_browser, "/account", &[("username", "sanne")]).await;
    assert_eq!(status, 303, "the owner takes the old name back");
    let renamed = app
        .store
        .accounts()
        .by_username(&Username::parse("sanne").unwrap())
        .await
        .unwrap();
    assert!(renamed.is_some());
    app.stop().await;
}

/// A browser logged in to the member's own account page.
/// Fills in and sends the login page at `login_url` (an app's `/login`,
/// with no website asking) as `browser`.
async fn post_login(
    browser: &reqwest::Client,
    login_url: &str,
    username: &str,
    password: &str,
) -> reqwest::Response {
    let page = fetch(browser, login_url).await;
    browser
        .post(login_url)
        .form(&[
            ("csrf", hidden_field(&page, "csrf").as_str()),
            ("request", ""),
            ("username", username),
            ("password", password),
        ])
        .send()
        .await
        .unwrap()
}

/// The account page's form for a new address, posted with `current` as the
/// current password.
async fn ask_address_change(
    app: &TestApp,
    browser: &reqwest::Client,
    address: &str,
    current: &str,
) -> reqwest::Response {
    let page = fetch(browser, app.url("/account")).await;
    let csrf = hidden_field(&page, "csrf");
    let form = [("csrf", csrf.as_str()), ("email", address), ("current", current)];
    browser
        .post(app.url("/account/email"))
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// Each rename holds the old name for the member: three are held at most,
/// so no one keeps a row of names (future card numbers) from others.
#[tokio::test]
async fn a_member_holds_three_old_names_at_most() {
    let app = spawn_app().await;
    member(&app.store, "sanne").await;
    let member_browser = logged_in_to_account(&app, "sanne", PASSWORD).await;
    for new in ["sanne.a", "sanne.b", "sanne.c"] {
        let (status, page) = submit(&app, &member_browser, "/account", &[("username", new)]).await;
        assert_eq!(status, 303, "{new}: {page}");
    }
    let (status, page) = submit(&app, &member_browser, "/account", &[("username", "sanne.d")]).await;
    assert_eq!(status, 400);
    assert!(
        page.contains(
            "Je kunt hem weer wijzigen over 90 dagen, of nu een van je oude gebruikersnamen terugnemen: sanne, sanne.a, sanne.b."
        ),
        "{page}"
    );
    assert!(
        page.contains(r#"value="sanne.d""#),
        "what was typed stays: {page}"
    );
    let nobody = app
        .store
        .accounts()
        .by_username(&Username::parse("sanne.d").unwrap())
        .await;
    assert!(nobody.unwrap().is_none());
    assert!(
        app.store
            .accounts()
            .is_free(&Username::parse("sanne.d").unwrap())
            .await
            .unwrap()
    );

    let (status, page) = submit(&app, &member_browser, "/account", &[("username", "sanne")]).await;
    assert_eq!(status, 303, "an old name is taken back: {page}");
    let held = app
        .store
        .accounts()
        .by_username(&Username::parse("sanne").unwrap())
        .await;
    let account = held.unwrap().expect("sanne again");
    let held = app.store.accounts().names_held_for(&account.id).await.unwrap();
    let mut held: Vec<_> = held.iter().map(|name| name.username.as_str()).collect();
    held.sort();
    assert_eq!(held, ["sanne.a", "sanne.b", "sanne.c"]);
    app.stop().await;
}

/// A rename sent while another change of the account is under way (a
/// second tab renaming and taking the name back) waits for it, and counts
/// the name it left held: no fourth name slips through.
#[tokio::test]
async fn a_rename_waits_for_one_under_way_and_counts_the_name_it_held() {
    let app = spawn_app().await;
    let account = member(&app.store, "sanne").await;
    let member_browser = logged_in_to_account(&app, "sanne", PASSWORD).await;
    for new in ["sanne.a", "sanne.b"] {
        let (status, page) = submit(&app, &member_browser, "/account", &[("username", new)]).await;
        assert_eq!(status, 303, "{new}: {page}");
    }
    let hold_until = si_store::time::OffsetDateTime::now_utc() + si_store::time::Duration::days(90);
    let other_tab = app.store.begin().await.unwrap();
    {
        let accounts = other_tab.accounts();
        for new in ["sanne.y", "sanne.b"] {
            let current = accounts.lock(&account.id).await.unwrap().unwrap();
            let new = Username::parse(new).unwrap();
            let renamed = accounts.change_username(&current, &new, hold_until);
            assert!(renamed.await.unwrap(), "{new}");
        }
    }
    let this_tab = submit(&app, &member_browser, "/account", &[("username", "sanne.n")]);
    let other_tab_ends = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        other_tab.commit().await.unwrap();
    };
    let ((status, page), ()) = tokio::join!(this_tab, other_tab_ends);
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("terugnemen: sanne, sanne.a, sanne.y."), "{page}");
    let current = app.store.accounts().by_id(&account.id).await.unwrap().unwrap();
    assert_eq!(current.username.as_str(), "sanne.b");
    assert_eq!(
        app.store
            .accounts()
            .names_held_for(&account.id)
            .await
            .unwrap()
            .len(),
        3
    );
    app.stop().await;
}

/// Each address change mails the address typed: after a few, the member
/// waits, however often a stranger's address is typed, and a change that
/// waits mails no one.
#[tokio::test]
async fn address_changes_asked_too_often_wait_and_mail_no_one() {
    let app = spawn_app().await;
    member(&app.store, "sanne").await;
    let here = logged_in_to_account(&app, "sanne", PASSWORD).await;
    let change_to = |address: &'static str| {
        let (app, here) = (&app, &here);
        async move {
            let response = ask_address_change(app, here, address, PASSWORD).await;
            let retry_after = response.headers().get("retry-after").cloned();
            let (status, page) = shown(app, here, response).await;
            (status, retry_after, page)
        }
    };
    let mails_to = |address: &'static str| {
        let app = &app;
        async move {
            let entries = app.store.outbox().entries().await.unwrap();
            entries.iter().filter(|m| m.recipient == address).count()
        }
    };
    for address in ["een@example.org", "twee@example.org", "een@example.org"] {
        let (status, _, page) = change_to(address).await;
        assert_eq!(status, 303, "{page}");
        assert!(
            page.contains(&format!("We hebben een mail gestuurd naar {address}")),
            "{page}"
        );
    }
    let (status, retry_after, page) = change_to("twee@example.org").await;
    assert_eq!(status, 429, "{page}");
    assert!(
        page.contains(
            "Je hebt je e-mailadres net al een paar keer gewijzigd. Probeer het over 5 minuten opnieuw."
        ),
        "{page}"
    );
    assert_eq!(retry_after.unwrap(), "300");
    assert!(
        input_tag(&page, "email").contains(r#"value="twee@example.org""#),
        "what was typed stays: {page}"
    );
    assert_eq!(mails_to("een@example.org").await, 2);
    assert_eq!(mails_to("twee@example.org").await, 1);
    assert_eq!(
        mails_to("ouders@example.nl").await,
        3,
        "a notice per change that went"
    );
}

async fn logged_in_to_account(app: &TestApp, username: &str, password: &str) -> reqwest::Client {
    let member_browser = browser();
    let response = post_login(&member_browser, &app.url("/login"), username, password).await;
    assert_eq!(response.headers()["location"], "/account");
    member_browser
}

/// The account page's password form, filled in and posted as the page
/// sends it, with the browser's `Accept-Language` when given; the answer.
async fn post_password_form(
    app: &TestApp,
    here: &reqwest::Client,
    (current, new): (&str, &str),
    accept_language: Option<&str>,
) -> reqwest::Response {
    let page = fetch(here, app.url("/account")).await;
    let form = [
        ("csrf", hidden_field(&page, "csrf")),
        ("current", current.to_owned()),
        ("password", new.to_owned()),
        ("repeat", new.to_owned()),
    ];
    let mut request = here.post(app.url("/account/password")).form(&form);
    if let Some(language) = accept_language {
        request = request.header("accept-language", language);
    }
    request.send().await.unwrap()
}

/// [`post_password_form`]'s status, and the page it leads to.
async fn change_password_on_account_page(
    app: &TestApp,
    here: &reqwest::Client,
    typed: (&str, &str),
    accept_language: Option<&str>,
) -> (u16, String) {
    let response = post_password_form(app, here, typed, accept_language).await;
    shown(app, here, response).await
}

/// A member who uses the account page in English gets the account's mails
/// in English from then on, the notice of that very change included; the
/// desk made the account with Dutch mails.
#[tokio::test]
async fn the_account_pages_language_becomes_the_language_of_its_mails() {
    let smtp = SmtpServer::start();
    let app = app_with_mail(&smtp).await;
    let account = member(&app.store, "sanne").await;
    assert_eq!(account.language, "nl");
    let here = logged_in_to_account(&app, "sanne", PASSWORD).await;
    let change_password = |from: &'static str, to: &'static str| {
        let (app, here) = (&app, &here);
        async move {
            let (status, page) = change_password_on_account_page(app, here, (from, to), Some("en")).await;
            assert_eq!(status, 303, "{page}");
        }
    };
    // A browser that prefers English is no choice of the member's.
    change_password(PASSWORD, NEW_PASSWORD).await;
    assert_eq!(
        subject_of(&smtp.wait_for_async(1).await[0]),
        "Je wachtwoord is gewijzigd"
    );

    here.get(app.url("/language/en")).send().await.unwrap();
    change_password(NEW_PASSWORD, PASSWORD).await;
    assert_eq!(
        subject_of(&smtp.wait_for_async(2).await[1]),
        "Your password has been changed"
    );
    let stored = app.store.accounts().by_id(&account.id).await.unwrap().unwrap();
    assert_eq!(stored.language, "en");
}

/// The account page's password change proves the member as a login does:
/// the session goes on under a new token, and the one from before (seen
/// over the shoulder, planted in the browser) no longer opens the account.
#[tokio::test]
async fn a_password_change_renews_the_session_cookie() {
    let app = spawn_app().await;
    member(&app.store, "sanne").await;
    let here = browser();
    let session_token_set_by = |response: &reqwest::Response| {
        response
            .headers()
            .get_all("set-cookie")
            .iter()
            .find_map(|value| value.to_str().unwrap().strip_prefix("si_session="))
            .and_then(|cookie| cookie.split(';').next())
            .map(str::to_owned)
    };
    let login = post_login(&here, &app.url("/login"), "sanne", PASSWORD).await;
    let before = session_token_set_by(&login).expect("a session cookie");
    let changed = post_password_form(&app, &here, (PASSWORD, NEW_PASSWORD), None).await;
    assert_eq!(changed.status(), 303);
    let after = session_token_set_by(&changed).expect("a new session cookie");
    assert_ne!(after, before);
    let shown_at = changed.headers()["location"].to_str().unwrap();
    let page = fetch(&here, app.url(shown_at)).await;
    assert!(page.contains("Je wachtwoord is gewijzigd"), "{page}");

    let with_the_old_token = browser()
        .get(app.url("/account"))
        .header("cookie", format!("si_session={before}"))
        .send()
        .await
        .unwrap();
    assert_eq!(with_the_old_token.status(), 303);
    assert!(
        with_the_old_token.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login"),
        "{:?}",
        with_the_old_token.headers()
    );
}

#[tokio::test]
async fn a_member_changes_password_and_address_from_the_account_page() {
    let smtp = SmtpServer::start();
    let app = app_with_mail(&smtp).await;
    let account = member(&app.store, "sanne").await;
    let here = logged_in_to_account(&app, "sanne", PASSWORD).await;
    let elsewhere = logged_in_to_account(&app, "sanne", PASSWORD).await;
    let page_left_open = fetch(&elsewhere, app.url("/account")).await;
    let page = fetch(&here, app.url("/account")).await;
    assert!(page.contains("Geldig t/m: 31-05-2025"), "{page}");
    // In this same session, a website that gets no refresh token.
    let website_access = code_only_website_access(&app, &here).await;
    assert_eq!(userinfo_status(&app, &website_access).await, 200);

    let password_change = |current: &'static str, new: &'static str| {
        let (app, here) = (&app, &here);
        async move { change_password_on_account_page(app, here, (current, new), None).await }
    };
    let (status, page) = password_change("", NEW_PASSWORD).await;
    assert_eq!(status, 400);
    assert!(page.contains("Vul je huidige wachtwoord in."), "{page}");
    let (status, page) = password_change("not-it", NEW_PASSWORD).await;
    assert_eq!(status, 400);
    assert!(page.contains("Je huidige wachtwoord klopt niet"), "{page}");
    // A new password that is no good either: both said at once, and the
    // first field names both.
    let (status, page) = password_change("not-it", "kort").await;
    assert_eq!(status, 400);
    assert!(page.contains("Je huidige wachtwoord klopt niet"), "{page}");
    assert!(page.contains("Je wachtwoord voldoet nog niet aan"), "{page}");
    let current = input_tag(&page, "current");
    assert!(
        current.contains(r#"aria-describedby="current-error password-errors""#),
        "{current}"
    );
    assert_eq!(current.matches("aria-describedby").count(), 1, "{current}");
    let (status, page) = password_change(PASSWORD, "Password1!").await;
    assert_eq!(status, 400);
    assert!(page.contains("te makkelijk te raden"), "{page}");
    // Every field of the form comes back empty: the first takes the focus,
    // asks for the current password again and tells what was wrong.
    let current = input_tag(&page, "current");
    assert!(
        current.contains("autofocus") && current.contains("current-again password-errors"),
        "{current}"
    );
    assert!(
        page.contains("Vul ook je huidige wachtwoord opnieuw in."),
        "{page}"
    );
    assert!(page.contains("<title>Fout: Mijn inlogaccount"), "{page}");
    let page = fetch(&here, app.url("/account")).await;
    assert!(
        page.contains("<title>Mijn inlogaccount"),
        "no error, no prefix: {page}"
    );
    assert!(!input_tag(&page, "password").contains("autofocus"), "{page}");
    let (status, page) = password_change(PASSWORD, NEW_PASSWORD).await;
    assert_eq!(status, 303);
    assert!(page.contains("Je wachtwoord is gewijzigd"), "{page}");
    let notice = &smtp.wait_for_async(1).await[0];
    assert_eq!(notice.to, ["ouders@example.nl"]);
    assert_eq!(
        here.get(app.url("/account")).send().await.unwrap().status(),
        200,
        "this session stays"
    );
    assert_eq!(
        userinfo_status(&app, &website_access).await,
        401,
        "what the old password let websites do ends, in this session too"
    );
    assert_eq!(
        elsewhere.get(app.url("/account")).send().await.unwrap().status(),
        303,
        "every other session ended"
    );
    // A form sent from a page left open there: the login page says why.
    let sent = elsewhere
        .post(app.url("/account/username"))
        .form(&[
            ("csrf", hidden_field(&page_left_open, "csrf")),
            ("username", "sanne2".to_owned()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 303);
    let login = fetch(&elsewhere, app.url(sent.headers()["location"].to_str().unwrap())).await;
    assert!(
        login.contains("<h1>Inloggen</h1>") && login.contains("Wat je net had ingevuld, is niet opgeslagen."),
        "{login}"
    );
    // The field the focus lands on reads it out, and the other language
    // says it too.
    assert!(
        input_tag(&login, "username").contains(r#"aria-describedby="login-notice""#),
        "{login}"
    );
    let switched = elsewhere.get(app.url(&to_english(&login))).send().await.unwrap();
    let back = switched.headers()["location"].to_str().unwrap().to_owned();
    let english = fetch(&elsewhere, app.url(&back)).await;
    assert!(
        english.contains("What you had just filled in was not saved."),
        "{english}"
    );
    let stored = app.store.accounts().by_id(&account.id).await.unwrap().unwrap();
    assert_eq!(stored.username.as_str(), "sanne", "nothing changed");
    logged_in_to_account(&app, "sanne", NEW_PASSWORD).await;

    let email_change_proved_by = |address: &'static str, current: &'static str| {
        let (app, here) = (&app, &here);
        async move {
            let response = ask_address_change(app, here, address, current).await;
            shown(app, here, response).await
        }
    };
    let email_change = |address: &'static str| email_change_proved_by(address, NEW_PASSWORD);
    for (current, refusal) in [
        ("", "Vul je huidige wachtwoord in."),
        (PASSWORD, "Je huidige wachtwoord klopt niet"),
    ] {
        let (status, page) = email_change_proved_by("sanne@example.org", current).await;
        assert_eq!(status, 400, "{current}");
        assert!(page.contains(refusal), "{page}");
    }
    let (status, page) = email_change("geen adres").await;
    assert_eq!(status, 400);
    assert!(page.contains("Vul een geldig e-mailadres in"), "{page}");
    let (status, page) = email_change("ouders@example.nl").await;
    assert_eq!(status, 400);
    assert!(page.contains("Dit is al je e-mailadres"), "{page}");
    // A typo, corrected at once: only the newest request can be confirmed.
    let (status, _) = email_change("sanne@exampel.org").await;
    assert_eq!(status, 303);
    let (status, page) = email_change("sanne@example.org").await;
    assert_eq!(status, 303);
    assert!(
        page.contains("We hebben een mail gestuurd naar sanne@example.org"),
        "{page}"
    );
    // The account page tells, until the link is followed, which address waits.
    let page = fetch(&here, app.url("/account")).await;
    assert!(
        page.contains("Wacht op bevestiging: sanne@example.org.") && !page.contains("exampel"),
        "{page}"
    );

    let received = smtp.wait_for_async(5).await;
    let to_mistyped = received
        .iter()
        .find(|m| m.to == ["sanne@exampel.org"])
        .expect("a mail to the mistyped address");
    let mistyped = link_in(&text_of(to_mistyped), &app.url("/account/email/confirm?token="));
    let page = fetch(&browser(), &mistyped).await;
    assert!(
        page.contains("Deze link werkt niet meer"),
        "a newer request ended it: {page}"
    );
    let to_new = received
        .iter()
        .find(|m| m.to == ["sanne@example.org"])
        .expect("a mail to the new address");
    let to_old = received[1..]
        .iter()
        .find(|m| m.to == ["ouders@example.nl"])
        .expect("a notice to the old one");
    assert!(
        !text_of(to_old).contains("sanne@example.org"),
        "the old address sees the new one masked"
    );
    let stored = app.store.accounts().by_id(&account.id).await.unwrap().unwrap();
    assert_eq!(
        stored.email.as_ref().map(|e| e.as_str()),
        Some("ouders@example.nl"),
        "the old address stays until the new one is confirmed"
    );
    let link = link_in(&text_of(to_new), &app.url("/account/email/confirm?token="));
    // A mail scanner or preview fetching the link changes nothing.
    let head = browser().head(&link).send().await.unwrap();
    assert_eq!(head.status(), 200);
    let question = fetch(&browser(), &link).await;
    assert!(
        question.contains("Klik op Bevestigen om sanne@example.org het herstel-e-mailadres"),
        "the question names the address: {question}"
    );
    let stored = app.store.accounts().by_id(&account.id).await.unwrap().unwrap();
    assert_eq!(
        stored.email.as_ref().map(|e| e.as_str()),
        Some("ouders@example.nl"),
        "a HEAD or GET of the link changes nothing"
    );
    let page = confirm_new_address(&app, &link).await;
    assert!(page.contains("Je e-mailadres is gewijzigd"), "{page}");
    let page = fetch(&here, app.url("/account")).await;
    assert!(
        page.contains("<p class=\"value\">sanne@example.org</p>") && !page.contains("Wacht op bevestiging"),
        "{page}"
    );
    let stored = app.store.accounts().by_id(&account.id).await.unwrap().unwrap();
    assert_eq!(
        stored.email.as_ref().map(|e| e.as_str()),
        Some("sanne@example.org")
    );
    assert!(stored.email_verified_at.is_some());
    let used = browser().get(&link).send().await.unwrap();
    assert_eq!(used.status(), 410, "gone once used");
    let page = used.text().await.unwrap();
    assert!(page.contains("Deze link werkt niet meer"), "used once: {page}");
    let token = query_value(&link, "token").unwrap();
    let token = token.as_str();
    let again = browser()
        .post(app.url("/account/email/confirm"))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    let again = again.text().await.unwrap();
    assert!(again.contains("Deze link werkt niet meer"), "used once: {again}");
    assert!(again.contains("Vul het nieuwe adres dan opnieuw in"), "{again}");
    let mangled = link.replace(token, &token[..token.len() - 5]);
    let page = browser()
        .get(&mangled)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Deze link klopt niet") && page.contains("maar een deel van gekopieerd"),
        "a mangled link is not called used: {page}"
    );
    let mangled_token = &token[..token.len() - 5];
    let again = browser()
        .post(app.url("/account/email/confirm"))
        .form(&[("token", mangled_token)])
        .send()
        .await
        .unwrap();
    assert!(again.text().await.unwrap().contains("Deze link klopt niet"));
    app.stop().await;
}

/// A member who sees a typo in the address waiting for confirmation
/// cancels the change: the link mailed to the mistyped address stops
/// working, whoever reads that mailbox, and the address stays.
#[tokio::test]
async fn a_pending_address_change_is_cancelled_and_its_link_stops_working() {
    let smtp = SmtpServer::start();
    let app = app_with_mail(&smtp).await;
    let account = member(&app.store, "sanne").await;
    let here = logged_in_to_account(&app, "sanne", PASSWORD).await;
    let asked = ask_address_change(&app, &here, "sanne@gmial.com", PASSWORD).await;
    assert_eq!(asked.status(), 303);
    let page = fetch(&here, app.url("/account")).await;
    assert!(page.contains("Wacht op bevestiging: sanne@gmial.com."), "{page}");
    let token = hidden_field(&page, "csrf");
    // The page's "Wijziging annuleren", sent with this form token.
    let cancel = |csrf: &str| {
        here.post(app.url("/account/email/cancel"))
            .form(&[("csrf", csrf)])
            .send()
    };
    assert!(
        page.contains(r#"<form method="post" action="/account/email/cancel">"#),
        "{page}"
    );
    assert!(page.contains(">Wijziging annuleren</button>"), "{page}");

    // A form from another site (no form token) cancels nothing.
    let forged = cancel("not-the-token").await.unwrap();
    assert_eq!(forged.status(), 400);
    let page = fetch(&here, app.url("/account")).await;
    assert!(
        page.contains("Wacht op bevestiging: sanne@gmial.com."),
        "still waits: {page}"
    );
    let response = cancel(&token).await.unwrap();
    let (status, page) = shown(&app, &here, response).await;
    assert_eq!(status, 303);
    assert!(
        page.contains("De wijziging van je e-mailadres is geannuleerd. De link in de mail werkt niet meer."),
        "{page}"
    );
    assert!(!page.contains("Wacht op bevestiging"), "{page}");
    assert!(
        page.contains("<p class=\"value\">ouders@example.nl</p>"),
        "{page}"
    );
    // The same form sent again (another tab): nothing waits any more.
    let again = cancel(&token).await.unwrap();
    let (_, page) = shown(&app, &here, again).await;
    assert!(
        page.contains("Er wacht geen wijziging van je e-mailadres meer"),
        "{page}"
    );

    let received = smtp.wait_for_async(2).await;
    let to_typo = received
        .iter()
        .find(|m| m.to == ["sanne@gmial.com"])
        .expect("a mail to the mistyped address");
    let link = link_in(&text_of(to_typo), &app.url("/account/email/confirm?token="));
    let token = query_value(&link, "token").unwrap();
    let tried = browser()
        .post(app.url("/account/email/confirm"))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert!(tried.text().await.unwrap().contains("Deze link werkt niet meer"));
    let stored = app.store.accounts().by_id(&account.id).await.unwrap().unwrap();
    assert_eq!(
        stored.email.as_ref().map(|e| e.as_str()),
        Some("ouders@example.nl")
    );
    app.stop().await;
}

/// Whoever had the password asks to move the account to their own address
/// and guesses at the username; the member, warned by the notice, sets a
/// new password through the mailed link: the move is off, and the guesses
/// no longer keep the member waiting.
#[tokio::test]
async fn a_password_reset_ends_an_address_change_and_the_wait_others_caused() {
    let smtp = SmtpServer::start();
    let app = app_with_mail(&smtp).await;
    let account = member(&app.store, "sanne").await;
    // The member's own browser has logged in before: it has a device cookie.
    let member_browser = logged_in_to_account(&app, "sanne", PASSWORD).await;
    press_log_out(&app, &member_browser).await;
    let intruder = logged_in_to_account(&app, "sanne", PASSWORD).await;
    let asked = ask_address_change(&app, &intruder, "indringer@example.org", PASSWORD).await;
    assert_eq!(asked.status(), 303);
    let mails = smtp.wait_for_async(2).await;
    let to_intruder = mails.iter().find(|m| m.to == ["indringer@example.org"]).unwrap();
    let move_link = link_in(&text_of(to_intruder), &app.url("/account/email/confirm?token="));
    for _ in 0..5 {
        post_login(&browser(), &app.url("/login"), "sanne", "Gok-maar-raak-1!").await;
    }
    let blocked = post_login(&browser(), &app.url("/login"), "sanne", PASSWORD).await;
    assert_eq!(blocked.status(), 429);
    // The member, on their own device, has forgotten the password too.
    for _ in 0..5 {
        post_login(&member_browser, &app.url("/login"), "sanne", "Was-het-dit-1!").await;
    }
    let own_device = post_login(&member_browser, &app.url("/login"), "sanne", PASSWORD).await;
    assert_eq!(own_device.status(), 429);

    submit(
        &app,
        &member_browser,
        "/forgot-password",
        &[("username", "sanne")],
    )
    .await;
    let mails = smtp.wait_for_async(3).await;
    let reset_prefix = app.url("/reset-password?token=");
    let reset = mails
        .iter()
        .map(text_of)
        .find(|text| text.contains(&reset_prefix))
        .expect("the reset mail");
    let link = link_in(&reset, &reset_prefix);
    let token = hidden_field(&fetch(&member_browser, &link).await, "token");
    let path = link.trim_start_matches(&app.url(""));
    let fields = [
        ("token", token.as_str()),
        ("password", NEW_PASSWORD),
        ("repeat", NEW_PASSWORD),
    ];
    let (status, page) = submit(&app, &member_browser, path, &fields).await;
    assert_eq!(status, 303, "{page}");
    assert!(page.contains("Je wachtwoord is gewijzigd"), "{page}");

    let dead = fetch(&browser(), &move_link).await;
    assert!(dead.contains("Deze link werkt niet meer"), "{dead}");
    assert!(
        dead.contains("of ingetrokken doordat je wachtwoord daarna is gewijzigd"),
        "{dead}"
    );
    let kept = app.store.accounts().by_id(&account.id).await.unwrap().unwrap();
    assert_eq!(kept.email.unwrap().as_str(), "ouders@example.nl");
    let back = post_login(&browser(), &app.url("/login"), "sanne", NEW_PASSWORD).await;
    assert_eq!(back.status(), 303, "no wait after the reset");
    let back = post_login(&member_browser, &app.url("/login"), "sanne", NEW_PASSWORD).await;
    assert_eq!(back.status(), 303, "nor on the member's own device");
}

#[tokio::test]
async fn guessing_the_current_password_is_throttled_like_the_login() {
    let app = spawn_app().await;
    member(&app.store, "sanne").await;
    let here = logged_in_to_account(&app, "sanne", PASSWORD).await;
    // Guesses at the login page block the username there, not the member's
    // own account page: its guesses count per session.
    for _ in 0..6 {
        post_login(&browser(), &app.url("/login"), "sanne", "Gok-maar-raak-1!").await;
    }
    let response = ask_address_change(&app, &here, "sanne@example.org", PASSWORD).await;
    assert_eq!(response.status(), 303, "{}", response.text().await.unwrap());

    let mut last = String::new();
    for _ in 0..6 {
        let response = post_password_form(&app, &here, ("a guess", NEW_PASSWORD), None).await;
        assert_eq!(response.status(), 400);
        last = response.text().await.unwrap();
    }
    assert!(last.contains("Probeer het over"), "the sixth guess waits: {last}");
    let page = browser()
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Inloggen"));
    app.stop().await;
}

/// A login that keeps the node's only hashing thread busy for a while: an
/// unknown username costs one hash with the node's own (here, slow) settings.
pub fn keep_hashing_busy(app: &TestApp) -> tokio::task::JoinHandle<u16> {
    let url = app.url("/login");
    tokio::spawn(async move {
        let response = post_login(&browser(), &url, "niemand-bekend", "Whatever-1!").await;
        response.status().as_u16()
    })
}

/// The page of an attempt turned away as busy, after checking it says so.
async fn turned_away(response: reqwest::Response) -> String {
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "5");
    let page = response.text().await.unwrap();
    assert!(
        page.contains("Het is nu erg druk. Probeer het over een paar seconden opnieuw."),
        "{page}"
    );
    page
}

/// Waits until `/metrics` shows `depth` password checks running or waiting.
pub async fn until_hash_queue_holds(app: &TestApp, depth: u32) {
    for _ in 0..2000 {
        let metrics = fetch(&app.client, app.url("/metrics")).await;
        let now = metrics
            .lines()
            .find_map(|line| line.strip_prefix("password_hash_queue_depth "))
            .and_then(|now| now.trim().parse::<u32>().ok());
        if now == Some(depth) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    panic!("the hashing queue never held {depth}");
}

/// A change on the account page whose current password is being checked
/// when a reset comes in (by mail, on another device) writes nothing: the
/// reset's password stays, no address link goes out, and the page says the
/// session ended. A change made in another tab of the same session in
/// between leaves the current password typed wrong. Each check waits
/// behind another in the one hashing thread, so that the other change
/// lands in between.
#[tokio::test]
async fn a_change_on_the_account_page_proven_before_a_reset_writes_nothing() {
    let app = spawn_app_with(|config| {
        config.hashing.concurrency = 1;
        config.hashing.memory_kib = 64 * 1024;
        config.hashing.iterations = 12;
        config.hashing.max_wait_ms = 600_000;
    })
    .await;
    let account = member(&app.store, "sanne").await;
    let params = si_credentials::Argon2Params::new(64 * 1024, 12, 1).unwrap();
    // Hashed before each race: hashing here would hold up the server's requests too.
    let hashed = |password: &str| si_credentials::hash_password(password, &params).unwrap();
    let replaced = |hash: String, end_sessions: bool| {
        let app = &app;
        async move {
            until_hash_queue_holds(app, 2).await;
            app.store
                .accounts()
                .set_password_hash(&account.id, hash.clone())
                .await
                .unwrap();
            if end_sessions {
                app.store.sessions().end_all_of(&account.id, None).await.unwrap();
            }
            hash
        }
    };
    let stored_hash = || async {
        app.store
            .accounts()
            .by_id(&account.id)
            .await
            .unwrap()
            .unwrap()
            .password_hash
    };

    // The account page's password form, sent with the current password.
    let change_from = |here: &reqwest::Client, page: &str| {
        here.post(app.url("/account/password"))
            .form(&[
                ("csrf", hidden_field(page, "csrf")),
                ("current", PASSWORD.to_owned()),
                ("password", "Ander-wachtwoord-77!".to_owned()),
                ("repeat", "Ander-wachtwoord-77!".to_owned()),
            ])
            .send()
    };

    // A reset while a password change is checked.
    let here = logged_in_to_account(&app, "sanne", PASSWORD).await;
    let page = fetch(&here, app.url("/account")).await;
    let reset = hashed(NEW_PASSWORD);
    let busy = keep_hashing_busy(&app);
    until_hash_queue_holds(&app, 1).await;
    let change = change_from(&here, &page);
    let (change, reset) = tokio::join!(change, replaced(reset, true));
    assert_eq!(busy.await.unwrap(), 401);
    let change = change.unwrap();
    assert_eq!(change.status(), 303);
    assert_eq!(change.headers()["location"], "/login?session_ended");
    assert_eq!(stored_hash().await, Some(reset));

    // A reset while an address change is checked.
    let here = logged_in_to_account(&app, "sanne", NEW_PASSWORD).await;
    let reset = hashed(PASSWORD);
    let busy = keep_hashing_busy(&app);
    until_hash_queue_holds(&app, 1).await;
    let change = ask_address_change(&app, &here, "nieuw@example.org", NEW_PASSWORD);
    let (change, reset) = tokio::join!(change, replaced(reset, true));
    assert_eq!(busy.await.unwrap(), 401);
    assert_eq!(change.headers()["location"], "/login?session_ended");
    assert_eq!(stored_hash().await, Some(reset));
    let queued = app.store.outbox().entries().await.unwrap();
    assert!(
        !queued
            .iter()
            .any(|mail| mail.template == "email_change_verification"),
        "no link to the new address"
    );

    // Another tab of this session changed the password in between.
    let here = logged_in_to_account(&app, "sanne", PASSWORD).await;
    let page = fetch(&here, app.url("/account")).await;
    let other_tab = hashed(NEW_PASSWORD);
    let busy = keep_hashing_busy(&app);
    until_hash_queue_holds(&app, 1).await;
    let change = change_from(&here, &page);
    let (change, other_tab) = tokio::join!(change, replaced(other_tab, false));
    assert_eq!(busy.await.unwrap(), 401);
    let (status, page) = shown(&app, &here, change.unwrap()).await;
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("Je huidige wachtwoord klopt niet."), "{page}");
    assert_eq!(stored_hash().await, Some(other_tab));

    // The same for an address change: the error is at its own form.
    let other_tab = hashed(PASSWORD);
    let busy = keep_hashing_busy(&app);
    until_hash_queue_holds(&app, 1).await;
    let change = ask_address_change(&app, &here, "nieuw@example.org", NEW_PASSWORD);
    let (change, other_tab) = tokio::join!(change, replaced(other_tab, false));
    assert_eq!(busy.await.unwrap(), 401);
    let (status, page) = shown(&app, &here, change).await;
    assert_eq!(status, 400, "{page}");
    assert!(
        page.contains(r#"<div class="alert" role="alert" id="email-current-error">Je huidige wachtwoord klopt niet.</div>"#),
        "{page}"
    );
    assert!(
        page.contains(r#"value="nieuw@example.org""#),
        "what was typed stays: {page}"
    );
    assert_eq!(stored_hash().await, Some(other_tab));
    app.stop().await;
}

#[tokio::test]
async fn password_checks_that_would_wait_too_long_are_turned_away_and_count_for_nothing() {
    // One slow hashing thread, and no waiting allowed at all.
    let app = spawn_app_with(|config| {
        config.hashing.concurrency = 1;
        config.hashing.memory_kib = 64 * 1024;
        config.hashing.iterations = 10;
        config.hashing.max_wait_ms = 0;
    })
    .await;
    member(&app.store, "sanne").await;
    let metrics = fetch(&app.client, app.url("/metrics")).await;
    assert!(
        metrics.contains("password_checks_turned_away_total 0"),
        "shown before the first: {metrics}"
    );
    // The node learns how long a check takes from the first one.
    assert_eq!(keep_hashing_busy(&app).await.unwrap(), 401);

    let busy = keep_hashing_busy(&app);
    until_hash_queue_holds(&app, 1).await;
    let response = post_login(&browser(), &app.url("/login"), "sanne", PASSWORD).await;
    let page = turned_away(response).await;
    assert!(
        page.contains(r#"value="sanne""#),
        "the username stays typed: {page}"
    );
    assert!(!page.contains("aria-invalid"), "nothing typed was wrong: {page}");
    assert_eq!(busy.await.unwrap(), 401);
    let counted = app
        .store
        .throttle()
        .check(&["user:sanne".to_owned()])
        .await
        .unwrap();
    assert!(
        counted.with_failures.is_empty(),
        "the turned-away attempt counts for no throttle"
    );
    let metrics = fetch(&app.client, app.url("/metrics")).await;
    assert!(
        metrics.contains("password_checks_turned_away_total 1"),
        "{metrics}"
    );

    // Attempts that arrive together see each other before any of them has
    // reached the hashing threads: one goes ahead, the rest are turned away
    // (or throttled, as guesses at one username side by side are). Those
    // turned away get their counts back: the username is not blocked after.
    let login_url = app.url("/login");
    let guess = || async {
        let response = post_login(&browser(), &login_url, "niemand-samen", "Whatever-1!").await;
        response.status().as_u16()
    };
    let mut statuses = futures_util::future::join_all((0..8).map(|_| guess())).await;
    statuses.sort_unstable();
    assert_eq!(statuses[0], 401, "one went ahead: {statuses:?}");
    assert!(
        statuses[1..].iter().all(|&status| status == 429 || status == 503) && statuses[7] == 503,
        "{statuses:?}"
    );
    assert_eq!(guess().await, 401, "only the one checked counted");

    // Once the queue is gone the same member logs in, and on the account
    // page a password change is turned away the same way, with the form
    // shown again: nothing changes.
    let here = logged_in_to_account(&app, "sanne", PASSWORD).await;
    let page = fetch(&here, app.url("/account")).await;
    let busy = keep_hashing_busy(&app);
    until_hash_queue_holds(&app, 1).await;
    let response = here
        .post(app.url("/account/password"))
        .form(&[
            ("csrf", hidden_field(&page, "csrf")),
            ("current", PASSWORD.to_owned()),
            ("password", NEW_PASSWORD.to_owned()),
            ("repeat", NEW_PASSWORD.to_owned()),
        ])
        .send()
        .await
        .unwrap();
    let page = turned_away(response).await;
    assert!(
        page.contains(r#"name="current""#),
        "the form is there to try again: {page}"
    );
    assert_eq!(busy.await.unwrap(), 401);
    logged_in_to_account(&app, "sanne", PASSWORD).await;
    app.stop().await;
}

#[tokio::test]
async fn a_link_of_a_disabled_account_sets_no_password() {
    let app = spawn_app().await;
    let account = member(&app.store, "sanne").await;
    app.store
        .account_links()
        .issue(
            &si_credentials::secrets::digest("reset-token"),
            &AccountLink {
                account: account.id,
                purpose: LinkPurpose::ResetPassword,
                expires_at: time::OffsetDateTime::now_utc() + time::Duration::minutes(30),
            },
        )
        .await
        .unwrap();
    app.store
        .accounts()
        .set_status(&account.id, AccountStatus::Disabled)
        .await
        .unwrap();
    let page = fetch(&browser(), app.url("/reset-password?token=reset-token")).await;
    assert!(page.contains("Dit inlogaccount is uitgeschakeld"), "{page}");
    let posted = app
        .client
        .post(app.url("/reset-password"))
        .form(&[
            ("token", "reset-token"),
            ("password", NEW_PASSWORD),
            ("repeat", NEW_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert!(
        posted
            .text()
            .await
            .unwrap()
            .contains("Dit inlogaccount is uitgeschakeld")
    );
    let stored = app.store.accounts().by_id(&account.id).await.unwrap().unwrap();
    assert_eq!(stored.status, AccountStatus::Disabled);
    assert_eq!(
        stored.password_hash, account.password_hash,
        "the password is unchanged"
    );
    app.stop().await;
}

#[tokio::test]
async fn asking_a_new_mail_with_a_link_that_still_works_opens_it() {
    let app = spawn_app().await;
    let account = pending_member(&app, "21234567890123", "expired-token").await;
    app.store
        .account_links()
        .issue(
            &si_credentials::secrets::digest("fresh-token"),
            &AccountLink {
                account: account.id,
                purpose: LinkPurpose::Confirm,
                expires_at: time::OffsetDateTime::now_utc() + time::Duration::days(7),
            },
        )
        .await
        .unwrap();
    let member_browser = browser();
    let page = fetch(&member_browser, app.url("/confirm?token=expired-token")).await;
    let response = member_browser
        .post(app.url("/confirm/new-mail"))
        .form(&[
            ("csrf", hidden_field(&page, "csrf").as_str()),
            ("token", "fresh-token"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/confirm?token=fresh-token");
    app.stop().await;
}

/// The `<input>` tag with this id.
fn input_tag<'p>(page: &'p str, id: &str) -> &'p str {
    let start = page
        .find(&format!("<input id=\"{id}\""))
        .unwrap_or_else(|| panic!("no field {id}"));
    let end = page[start..].find('>').unwrap() + start;
    &page[start..=end]
}

/// The checklist's "not easy to guess" asks the server, which judges as it
/// does when the password is set (full-width letters as plain ones), and
/// answers hostile input with a problem, not a 500.
#[tokio::test]
async fn the_checklist_asks_whether_a_password_is_easy_to_guess() {
    let app = spawn_app().await;
    let http = reqwest::Client::new();
    let judge = |body: Vec<u8>| {
        http.post(app.url("/password/guessable"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let form = |password: &str| {
        serde_urlencoded::to_string([("password", password)])
            .unwrap()
            .into_bytes()
    };

    for (password, easy, untypable) in [
        ("Password1!", true, false),
        ("Welkom123!", true, false),
        (
            "\u{ff30}\u{ff41}\u{ff53}\u{ff53}\u{ff57}\u{ff4f}\u{ff52}\u{ff44}\u{ff11}\u{ff01}",
            true,
            false,
        ),
        (NEW_PASSWORD, false, false),
        // Hard to guess, and refused on submit all the same.
        ("Zonnebloem\u{200b}-tafel-42!", false, true),
    ] {
        let answer = judge(form(password)).await.unwrap();
        assert_eq!(answer.status(), 200, "{password}");
        assert_eq!(answer.headers()["cache-control"], "no-store");
        let body: serde_json::Value = answer.json().await.unwrap();
        assert_eq!(
            body,
            serde_json::json!({"easy_to_guess": easy, "untypable": untypable}),
            "{password}"
        );
    }
    for (body, status) in [
        (b"pass=x".to_vec(), 400),
        (b"password=x&password=y".to_vec(), 400),
        (form(&"Aa1!".repeat(257)), 413),
        // Past the limit on every request body.
        (form(&"Aa1!".repeat(20_000)), 413),
    ] {
        let answer = judge(body).await.unwrap();
        assert_eq!(answer.status(), status);
        assert_eq!(answer.headers()["content-type"], "application/problem+json");
        let problem: serde_json::Value = answer.json().await.unwrap();
        assert_eq!(problem["title"], "Dit wachtwoord kan niet gecontroleerd worden.");
    }
    app.stop().await;
}

/// The reset link's life in words a member reads: "1 minuut", not "1 minuten".
#[tokio::test]
async fn the_forgot_password_page_says_the_links_life_in_the_right_number() {
    let app = spawn_app_with(|config| config.selfservice.reset_link_minutes = 1).await;
    let member_browser = browser();
    let page = fetch(&member_browser, app.url("/forgot-password")).await;
    assert!(page.contains("De link werkt 1 minuut."), "{page}");
    fetch(&member_browser, app.url("/language/en?return=/forgot-password")).await;
    let page = fetch(&member_browser, app.url("/forgot-password")).await;
    assert!(page.contains("The link works for 1 minute."), "{page}");
    app.stop().await;

    let app = spawn_app().await;
    let page = fetch(&browser(), app.url("/forgot-password")).await;
    assert!(page.contains("De link werkt 30 minuten."), "{page}");
    app.stop().await;
}
