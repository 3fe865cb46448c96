//! The localized error page and the language switch.

use crate::{
    interop::{LoginForm, PASSWORD, browser, member},
    selfservice::fetch,
    support::{ATTEMPTS_TO_MEET_AN_ENDED_CONNECTION, spawn_app, spawn_quiet_app},
};

#[tokio::test]
async fn an_unknown_page_says_so_in_dutch_by_default() {
    let app = spawn_app().await;
    let response = app.get("/bestaat-niet").await;
    assert_eq!(response.status(), 404);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = response.text().await.unwrap();
    assert!(page.contains(r#"<html lang="nl">"#), "{page}");
    assert!(page.contains("<h1>Pagina niet gevonden</h1>"), "{page}");
    assert!(page.contains("Hulp bij inloggen"), "{page}");
    app.stop().await;
}

/// The language switch of an error page shows the same page in the other
/// language, not the start page.
#[tokio::test]
async fn the_language_switch_of_an_error_page_comes_back_to_it() {
    let app = spawn_app().await;
    for asked in [
        "/bestaat-niet?x=1",
        "/authorize?client_id=onbekend&response_type=code",
    ] {
        let member = browser();
        let page = fetch(&member, app.url(asked)).await;
        let switch = page
            .split_once(r#"<a href="/language/en?"#)
            .and_then(|(_, rest)| rest.split_once('"'))
            .map(|(query, _)| format!("/language/en?{}", query.replace("&#38;", "&")))
            .unwrap_or_else(|| panic!("a language switch on {asked}: {page}"));
        let switched = member.get(app.url(&switch)).send().await.unwrap();
        assert_eq!(switched.headers()["location"], asked, "{switch}");
        let english = fetch(&member, app.url(asked)).await;
        assert!(english.contains(r#"<html lang="en">"#), "{english}");
    }
    app.stop().await;
}

#[tokio::test]
async fn the_browser_language_and_then_the_remembered_choice_decide() {
    let app = spawn_app().await;
    let english = app
        .client
        .get(app.url("/nope"))
        .header("accept-language", "en-GB,en;q=0.9,nl;q=0.5")
        .send()
        .await
        .unwrap();
    let page = english.text().await.unwrap();
    assert!(page.contains("<h1>Page not found</h1>"), "{page}");

    let switched = app.get("/language/nl?return=/somewhere?x=1").await;
    assert_eq!(switched.status(), 303);
    assert_eq!(switched.headers()["location"], "/somewhere?x=1");
    let cookie = switched.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("si_lang=nl;"), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );

    let remembered = app
        .client
        .get(app.url("/nope"))
        .header("accept-language", "en")
        .header("cookie", "si_lang=nl")
        .send()
        .await
        .unwrap();
    assert!(
        remembered
            .text()
            .await
            .unwrap()
            .contains("<h1>Pagina niet gevonden</h1>")
    );
    app.stop().await;
}

#[tokio::test]
async fn the_language_switch_never_sends_anyone_to_another_site() {
    let app = spawn_app().await;
    for target in [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
        // Browsers drop tabs and line breaks from a Location: "/\t/x" is "//x".
        "/\t/evil.example",
        "/\n/evil.example",
        "/\r\n/evil.example",
        " //evil.example",
    ] {
        let response = app
            .client
            .get(app.url("/language/en"))
            .query(&[("return", target)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303, "{target}");
        assert_eq!(response.headers()["location"], "/", "{target}");
    }
    let unknown = app.get("/language/fr").await;
    assert_eq!(unknown.status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn a_wrong_method_gets_a_localized_page_not_a_bare_status() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/healthz"))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("This is not possible here")
    );
    app.stop().await;
}

/// The endpoints programs call say so in JSON, as all their other answers,
/// with the methods they take; a page would be the wrong kind of answer.
#[tokio::test]
async fn a_wrong_method_at_an_oauth_endpoint_gets_an_oauth_error() {
    let app = spawn_app().await;
    let wrong = [
        ("GET", "/token", "POST"),
        ("GET", "/revoke", "POST"),
        ("GET", "/introspect", "POST"),
        ("PUT", "/userinfo", "GET"),
        ("POST", "/jwks", "GET"),
        ("DELETE", "/.well-known/openid-configuration", "GET"),
    ];
    for (method, path, allowed) in wrong {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let response = app
            .client
            .request(method.clone(), app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 405, "{method} {path}");
        let allow = response.headers()["allow"].to_str().unwrap().to_owned();
        assert!(allow.contains(allowed), "{method} {path}: {allow}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request", "{method} {path}");
    }
    app.stop().await;
}

/// A PostgreSQL failover ends every connection. In a quiet moment the node
/// checks its idle connections and the member sees nothing; a member who
/// logs in just then reads "try again in a minute" (503), not "something
/// went wrong".
#[tokio::test]
async fn a_login_while_the_database_fails_over_asks_to_try_again() {
    let app = spawn_quiet_app().await;
    member(&app.store, "sanne").await;
    let browser = browser();
    let form = LoginForm::open(&app, &browser, &app.url("/frontoffice"))
        .await
        .expect("the login page");
    let login = || {
        browser
            .post(app.url("/login"))
            .form(&form.filled("sanne", PASSWORD))
            .send()
    };
    if !app.end_database_connections().await {
        return;
    }
    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
    let quiet = login().await.unwrap();
    assert_eq!(quiet.status(), 303, "{}", quiet.text().await.unwrap());

    // A connection used within the second before the restart is not
    // checked again: the login meets it (end again if a slow machine let
    // the second pass, or the look for deleted clients took it first).
    let mut heard = None;
    for _ in 0..ATTEMPTS_TO_MEET_AN_ENDED_CONNECTION {
        login().await.unwrap();
        app.end_database_connections().await;
        let during = login().await.unwrap();
        if during.status() == 503 {
            heard = Some(during.text().await.unwrap());
            break;
        }
        assert_eq!(during.status(), 303);
    }
    let page = heard.expect("a login met an ended connection");
    assert!(page.contains("<h1>Even niet bereikbaar</h1>"), "{page}");
    // The pool replaces the ended connections: a few tries later, it logs in.
    for _ in 0..10 {
        match login().await.unwrap().status().as_u16() {
            303 => return,
            503 => continue,
            other => panic!("{other}"),
        }
    }
    panic!("the login never recovered");
}
