//! Probes, metrics, request ids and security headers.

use std::time::{Duration, Instant};

use crate::{
    desk::{client_credentials, desk_library, library_system},
    interop::{LoginForm, PASSWORD, browser, member},
    support::{TestApp, spawn_app, spawn_app_with, spawn_quiet_app},
};

#[tokio::test]
async fn health_and_readiness_answer_when_the_database_does() {
    let app = spawn_quiet_app().await;
    let health = app.get("/healthz").await;
    assert_eq!(health.status(), 200);
    assert_eq!(health.json::<serde_json::Value>().await.unwrap()["status"], "ok");
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.json::<serde_json::Value>().await.unwrap()["database"], "ok");
    // A PostgreSQL restart ends the pooled connections; the database itself
    // is back, and so is the node.
    if app.end_database_connections().await {
        let ready = app.get("/readyz").await;
        assert_eq!(ready.status(), 200, "{:?}", ready.text().await);
    }
    app.stop().await;
}

/// While the database refuses connections (a maintenance, a stopped
/// server) nobody waits long and nobody hears "wrong secret": `/readyz`
/// answers within a balancer's check, a member logging in and a library
/// system not known yet hear "try again", and one already known gets its
/// token.
#[tokio::test]
async fn while_the_database_refuses_connections_answers_say_try_again() {
    let app = spawn_quiet_app().await;
    desk_library(&app, "DRE01", "Biblionet Drenthe").await;
    let known = library_system(&app, "DRE01", "desk:register").await;
    let unknown = library_system(&app, "DRE01", "desk:register").await;
    assert_eq!(client_credentials(&app, &known).await.0, 200);
    member(&app.store, "sanne").await;
    let browser = browser();
    let form = LoginForm::open(&app, &browser, &app.url("/frontoffice"))
        .await
        .expect("the login page");
    if !app.refuse_database_connections(true).await {
        return;
    }
    let login = browser
        .post(app.url("/login"))
        .form(&form.filled("sanne", PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 503);
    assert!(
        login
            .text()
            .await
            .unwrap()
            .contains("<h1>Even niet bereikbaar</h1>")
    );
    let asked = Instant::now();
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 503);
    assert!(asked.elapsed() < Duration::from_secs(2), "{:?}", asked.elapsed());
    assert_eq!(client_credentials(&app, &known).await.0, 200);
    let asked = Instant::now();
    let (status, body) = client_credentials(&app, &unknown).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (503, Some("temporarily_unavailable")),
        "{body}"
    );
    assert!(asked.elapsed() < Duration::from_secs(5), "{:?}", asked.elapsed());

    app.refuse_database_connections(false).await;
    for _ in 0..10 {
        if client_credentials(&app, &unknown).await.0 == 200 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("the token endpoint never recovered");
}

#[tokio::test]
async fn metrics_count_requests_by_route_template() {
    let app = spawn_app().await;
    for _ in 0..3 {
        app.get("/healthz").await;
    }
    app.get("/language/en").await;
    app.get("/language/nl").await;
    for made_up in ["X1", "X2"] {
        let method = reqwest::Method::from_bytes(made_up.as_bytes()).unwrap();
        app.client
            .request(method, app.url("/healthz"))
            .send()
            .await
            .unwrap();
    }
    let metrics = app.get("/metrics").await;
    assert_eq!(metrics.status(), 200);
    assert!(
        metrics.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = metrics.text().await.unwrap();
    assert!(
        text.contains(r#"http_requests_total{method="GET",route="/healthz",status="200"} 3"#),
        "{text}"
    );
    assert!(
        text.contains(r#"http_requests_total{method="GET",route="/language/{code}",status="303"} 2"#),
        "{text}"
    );
    assert!(
        text.contains(r#"http_request_duration_seconds_count{method="GET",route="/healthz"} 3"#),
        "{text}"
    );
    assert!(text.contains("password_hash_queue_depth 0"), "{text}");
    // Made-up methods share one series.
    assert!(
        text.contains(r#"http_requests_total{method="other",route="/healthz",status="405"} 2"#),
        "{text}"
    );
    assert!(!text.contains("X1"), "{text}");
    app.stop().await;
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = spawn_app().await;
    let first = app.get("/healthz").await.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let second = app.get("/nowhere").await.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(first.len(), 36, "a UUID: {first}");
    assert_ne!(first, second);
    // A client's own id is replaced: it could tie its requests to another's.
    let given = |app: &TestApp, id: &'static str| {
        app.client
            .get(app.url("/healthz"))
            .header("x-request-id", id)
            .send()
    };
    let own = given(&app, "from-the-load-balancer").await.unwrap();
    let replaced = own.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(replaced.len(), 36, "a UUID: {replaced}");
    app.stop().await;

    // One the operator's balancer set is kept, unless it could pass for log content.
    let proxied = spawn_app_with(|config| {
        config.trusted_proxies = serde_json::from_value(serde_json::json!("127.0.0.1/32")).unwrap();
    })
    .await;
    let kept = given(&proxied, "from-the-load-balancer").await.unwrap();
    assert_eq!(kept.headers()["x-request-id"], "from-the-load-balancer");
    let forged = given(&proxied, "x path=/token}: authorization code replayed")
        .await
        .unwrap();
    let replaced = forged.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(replaced.len(), 36, "a UUID: {replaced}");
    proxied.stop().await;
}

#[tokio::test]
async fn security_headers_are_on_pages_api_answers_and_errors() {
    let app = spawn_app().await;
    for path in ["/healthz", "/nowhere", "/static/site.css"] {
        let response = app.get(path).await;
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'self'"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(headers["cross-origin-opener-policy"], "same-origin", "{path}");
        assert!(
            headers.get("strict-transport-security").is_none(),
            "{path}: no HSTS over plain http"
        );
    }
    // Pages may show personal data on a library's shared computer: kept in
    // no cache, so the back button after logging out shows nothing. The
    // stylesheet is the same for everyone and may be kept.
    for path in ["/account", "/nowhere", "/forgot-password"] {
        assert_eq!(
            app.get(path).await.headers()["cache-control"],
            "no-store",
            "{path}"
        );
    }
    assert_eq!(
        app.get("/static/site.css").await.headers()["cache-control"],
        "public, max-age=3600"
    );
    app.stop().await;
}

/// The icon a page names, and the one a browser asks for by itself, are
/// there: no page leaves a failed request in the browser's console.
#[tokio::test]
async fn the_pages_icon_is_served() {
    let app = spawn_app().await;
    let page = app.get("/forgot-password").await.text().await.unwrap();
    let named = page
        .split("<link rel=\"icon\" href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the page names its icon");
    for path in [named, "/favicon.ico"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["content-type"], "image/svg+xml", "{path}");
        assert!(response.text().await.unwrap().starts_with("<svg "), "{path}");
    }
    app.stop().await;
}

#[tokio::test]
async fn behind_https_responses_demand_https() {
    let app = spawn_app_with(|config| {
        config.public_url = Some("https://login.bibliotheek.example".to_owned().try_into().unwrap());
    })
    .await;
    let response = app.get("/healthz").await;
    assert_eq!(
        response.headers()["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
    // Every cookie is Secure: the form token, the language, the session.
    let login = app.get("/login").await;
    let language = app.get("/language/en").await;
    let cookies: Vec<String> = [login, language]
        .iter()
        .flat_map(|r| r.headers().get_all("set-cookie"))
        .map(|c| c.to_str().unwrap().to_owned())
        .collect();
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    for cookie in cookies {
        assert!(cookie.ends_with("; Secure"), "{cookie}");
        // Only this host sets them: not a site on a sibling domain.
        assert!(
            cookie.starts_with("__Host-si_") && cookie.contains("; Path=/;") && !cookie.contains("Domain"),
            "{cookie}"
        );
    }

    // A cookie of ours without the prefix can only come from another site:
    // it counts for nothing, not the language nor a form token planted to
    // match a forged form. One that is not plain text hides none of ours.
    let odd = b"pref=J\xc3\xb6rg; __Host-si_lang=en; x=\xff";
    assert_eq!(login_page_language(&app, b"si_lang=en").await, "nl");
    assert_eq!(login_page_language(&app, b"__Host-si_lang=en").await, "en");
    assert_eq!(login_page_language(&app, odd).await, "en");
    let odd = format!("pref=J\u{f6}rg; __Host-si_csrf={PLANTED}");
    for (cookie, status) in [
        (format!("si_csrf={PLANTED}"), 400),
        (format!("__Host-si_csrf={PLANTED}"), 401),
        (odd, 401),
    ] {
        assert_eq!(login_answer(&app, cookie.as_bytes()).await, status, "{cookie}");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_cookie_that_is_not_plain_text_hides_none_of_ours() {
    let app = spawn_app().await;
    let odd = b"pref=J\xc3\xb6rg; si_lang=en; x=\xe9";
    assert_eq!(login_page_language(&app, odd).await, "en");
    let odd = format!("pref=J\u{f6}rg; si_csrf={PLANTED}; x=\u{e9}");
    assert_eq!(
        login_answer(&app, odd.as_bytes()).await,
        401,
        "past the form token"
    );
    app.stop().await;
}

/// A form token a test sets as a cookie and sends in a form.
const PLANTED: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG";

/// The language of the login page asked for with this `Cookie` header.
async fn login_page_language(app: &TestApp, cookie: &[u8]) -> String {
    let cookie = reqwest::header::HeaderValue::from_bytes(cookie).unwrap();
    let page = app
        .client
        .get(app.url("/login"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    let page = page.text().await.unwrap();
    let (_, rest) = page.split_once("<html lang=\"").unwrap();
    rest[..2].to_owned()
}

/// The status of a login with a wrong password whose form carries
/// [`PLANTED`], sent with this `Cookie` header: 400 when the form token is
/// not taken from it.
async fn login_answer(app: &TestApp, cookie: &[u8]) -> u16 {
    let cookie = reqwest::header::HeaderValue::from_bytes(cookie).unwrap();
    let form = [
        ("csrf", PLANTED),
        ("request", ""),
        ("username", "nobody"),
        ("password", "wrong"),
    ];
    let answer = app
        .client
        .post(app.url("/login"))
        .header("cookie", cookie)
        .form(&form)
        .send()
        .await
        .unwrap();
    answer.status().as_u16()
}

/// A client that sends half a request and then nothing (slowloris) is
/// dropped after 10 s, others are served meanwhile, and a shutdown does not
/// wait for it forever.
#[tokio::test]
async fn a_client_that_stalls_is_dropped_and_does_not_hold_up_a_shutdown() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app().await;
    let mut stalled = tokio::net::TcpStream::connect(app.address).await.unwrap();
    stalled
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    assert_eq!(app.get("/healthz").await.status(), 200, "others are served");

    // A head larger than 64 KiB is refused outright.
    let huge = "a".repeat(70 * 1024);
    let refused = app
        .client
        .get(app.url("/healthz"))
        .header("x-huge", huge)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 431);

    let stopping = Instant::now();
    app.stop().await;
    assert!(
        stopping.elapsed() < Duration::from_secs(13),
        "the shutdown waited {:?}",
        stopping.elapsed()
    );
    let mut rest = Vec::new();
    let ended = tokio::time::timeout(Duration::from_secs(2), stalled.read_to_end(&mut rest)).await;
    assert!(ended.is_ok(), "the stalled connection is closed");
}

/// A body over the 64 KiB limit is refused unread (413) with the answer of
/// the endpoint's own kind (an OAuth error, a Bearer challenge, a page in
/// the member's language), not the framework's plain text; one just under
/// the limit is read as usual.
#[tokio::test]
async fn a_body_too_large_gets_the_endpoints_own_kind_of_error() {
    let app = spawn_quiet_app().await;
    let sized = |bytes: usize| format!("access_token={}", "a".repeat(bytes));
    let post = |path: &str, body: String| {
        app.client
            .post(app.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept-language", "en")
            .body(body)
            .send()
    };
    let media_type =
        |answer: &reqwest::Response| answer.headers()["content-type"].to_str().unwrap().to_owned();

    for bytes in [65 * 1024, 3 * 1024 * 1024] {
        let token = post("/token", sized(bytes)).await.unwrap();
        assert_eq!(
            (token.status().as_u16(), media_type(&token)),
            (413, "application/json".into())
        );
        let error: serde_json::Value = token.json().await.unwrap();
        assert_eq!(error["error"], "invalid_request");
        assert_eq!(
            error["error_description"],
            "the request body is larger than 64 KiB"
        );
    }
    // Read, and so refused for what it lacks: a client.
    let under_the_limit = post("/token", sized(60 * 1024)).await.unwrap();
    assert_eq!(under_the_limit.status(), 401);
    assert_eq!(
        under_the_limit.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_client"
    );

    let userinfo = post("/userinfo", sized(65 * 1024)).await.unwrap();
    assert_eq!(userinfo.status(), 413);
    assert_eq!(
        userinfo.headers()["www-authenticate"],
        r#"Bearer error="invalid_request""#
    );

    for page in ["/logout", "/login", "/forgot-password", "/authorize"] {
        let answer = post(page, sized(65 * 1024)).await.unwrap();
        assert_eq!(answer.status(), 413, "{page}");
        assert!(media_type(&answer).starts_with("text/html"), "{page}");
        let text = answer.text().await.unwrap();
        assert!(text.contains(r#"<html lang="en">"#), "{page}: {text}");
        assert!(text.contains("This request is too large"), "{page}: {text}");
    }
    app.stop().await;
}

/// An HTTP/1.1 request names its host exactly once (RFC 9112 3.2).
#[tokio::test]
async fn a_request_without_one_host_is_refused() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_quiet_app().await;
    for (request, answered) in [
        (
            "GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n",
            "HTTP/1.1 400",
        ),
        (
            "GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n",
            "HTTP/1.1 400",
        ),
        (
            "GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
            "HTTP/1.1 200",
        ),
        // HTTP/1.0 had no Host header.
        ("GET /healthz HTTP/1.0\r\n\r\n", "HTTP/1.0 200"),
    ] {
        let mut client = tokio::net::TcpStream::connect(app.address).await.unwrap();
        client.write_all(request.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        client.read_to_end(&mut answer).await.unwrap();
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with(answered), "{request:?}: {answer}");
        if answered.ends_with("400") {
            assert!(answer.contains("application/problem+json"), "{answer}");
            assert!(answer.contains("precies één Host-header"), "{answer}");
        }
    }
    app.stop().await;
}

/// A body declared larger than any the service takes is refused at once,
/// in each route's own words, without waiting for it.
#[tokio::test]
async fn a_body_declared_too_large_is_refused_before_it_arrives() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_quiet_app().await;
    for (path, content_type, says) in [
        (
            "/token",
            "application/x-www-form-urlencoded",
            "the request body is larger than 64 KiB",
        ),
        (
            "/login",
            "application/x-www-form-urlencoded",
            "This request is too large",
        ),
    ] {
        let mut client = tokio::net::TcpStream::connect(app.address).await.unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nAccept-Language: en\r\nContent-Type: {content_type}\r\nContent-Length: 99999999999\r\n\r\na"
        );
        client.write_all(head.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        let ended = tokio::time::timeout(Duration::from_secs(5), client.read_to_end(&mut answer)).await;
        assert!(ended.is_ok(), "{path}: no answer and no end within 5 s");
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 413"), "{path}: {answer}");
        assert!(answer.contains(says), "{path}: {answer}");
    }
    app.stop().await;
}

/// A client that sends a request's head and then not all of its body does
/// not hold the connection: after 10 s the request is refused and the
/// connection closed, so such clients cannot use up a node's connections.
#[tokio::test]
async fn a_body_that_never_arrives_is_refused_and_its_connection_closed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_quiet_app().await;
    let mut stalled = tokio::net::TcpStream::connect(app.address).await.unwrap();
    let head = "POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\na";
    stalled.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();

    let mut answer = Vec::new();
    let ended = tokio::time::timeout(Duration::from_secs(20), stalled.read_to_end(&mut answer)).await;
    assert!(ended.is_ok(), "the connection is still open after 20 s");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("invalid_request"), "{answer}");
    assert!(
        started.elapsed() >= Duration::from_secs(9),
        "{:?}",
        started.elapsed()
    );
    app.stop().await;
}
