//! The pages in a real browser: headless Chromium driven through
//! chromedriver (Debian's `chromium` and `chromium-driver`), checked with
//! axe-core (from the npm registry, fetched by `scripts/test`) for WCAG 2.1 AA,
//! used with the keyboard only, at a phone's width. Screenshots go to
//! `target/screenshots/`.

use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use serde_json::Value;
use single_identity::oidc::clients::{ClientKind, IdTokenAlgorithm};
use thirtyfour::{ChromiumLikeCapabilities, DesiredCapabilities, Key, WebDriver, prelude::By};

use crate::{
    interop::{PASSWORD, REDIRECT_URI, member, register},
    oauth_security::{code_exchange, exchange},
    selfservice::{app_with_mail, link_in, pending_member, text_of},
    smtp::SmtpServer,
    support::{TestApp, spawn_app},
};

/// A headless Chromium behind its own chromedriver; both end with the value.
pub struct Browser {
    driver: Option<WebDriver>,
    chromedriver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// A browser whose user prefers `language` (its `Accept-Language`), in a
    /// window of `width` × `height` pixels, zoomed to `zoom` (2.0 is 200%).
    pub async fn start(language: &str, width: u32, height: u32, zoom: f32) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let chromedriver = Command::new(chromedriver_path())
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| {
                panic!("chromedriver does not start ({err}): apt-get install chromium chromium-driver")
            });
        let profile = tempfile::tempdir().expect("profile directory");
        let mut capabilities = DesiredCapabilities::chrome();
        let args = [
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            format!("--window-size={width},{height}"),
            format!("--force-device-scale-factor={zoom}"),
            format!("--lang={language}"),
            format!("--accept-lang={language}"),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        for arg in &args {
            capabilities.add_arg(arg).expect("chrome argument");
        }
        // chromedriver turns the back-forward cache off; a member's browser
        // has it, and shows a page again from it on Back.
        capabilities
            .add_experimental_option("excludeSwitches", ["disable-back-forward-cache"])
            .expect("chrome switches");
        // Chrome keeps a window at least 500 pixels wide: a phone's narrower
        // screen (WCAG 1.4.10 reflows at 320 CSS px) has to be emulated.
        if width < 500 {
            capabilities
                .add_experimental_option(
                    "mobileEmulation",
                    serde_json::json!({
                        "deviceMetrics": { "width": width, "height": height, "pixelRatio": zoom, "touch": false }
                    }),
                )
                .expect("chrome mobile emulation");
        }
        capabilities
            .set_binary(&std::env::var("SI_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned()))
            .expect("chrome binary");
        let url = format!("http://127.0.0.1:{port}");
        let mut last_error = String::new();
        for _ in 0..100 {
            match WebDriver::new(&url, capabilities.clone()).await {
                Ok(driver) => {
                    return Self {
                        driver: Some(driver),
                        chromedriver,
                        _profile: profile,
                    };
                }
                Err(err) => last_error = err.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no browser session from chromedriver: {last_error}");
    }

    pub fn driver(&self) -> &WebDriver {
        self.driver.as_ref().expect("a live session")
    }

    /// Runs axe-core's WCAG 2.0/2.1 A and AA rules on the current page and
    /// fails with every violation, its rule and where.
    pub async fn assert_accessible(&self, page: &str) {
        let driver = self.driver();
        driver
            .execute(format!("{}\nreturn true;", axe_source()), Vec::new())
            .await
            .expect("axe-core loads");
        let result = driver
            .execute_async(
                r#"const done = arguments[arguments.length - 1];
                axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } })
                  .then(r => done(r.violations.map(v => ({ rule: v.id, impact: v.impact, help: v.help,
                    where: v.nodes.map(n => n.target.join(" ")) }))))
                  .catch(e => done({ error: String(e) }));"#,
                Vec::new(),
            )
            .await
            .expect("axe-core runs");
        let violations: &Value = result.json();
        assert_eq!(
            violations,
            &Value::Array(vec![]),
            "{page}: axe-core finds WCAG 2.1 AA violations"
        );
    }

    pub async fn screenshot(&self, name: &str) {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
        std::fs::create_dir_all(&dir).expect("screenshot directory");
        self.driver()
            .screenshot(&dir.join(format!("{name}.png")))
            .await
            .expect("screenshot");
    }

    /// Waits (up to 10 s) for the page whose heading is `expected`: after a
    /// click or Enter the browser may still be on the page before.
    pub async fn expect_heading(&self, expected: &str) {
        self.wait_for_text("h1", |seen| seen == expected, "the page", expected)
            .await;
    }

    /// Waits until the element `css` shows a text `done` accepts; `what` and
    /// `expected` name it when it does not come.
    async fn wait_for_text(&self, css: &str, done: impl Fn(&str) -> bool, what: &str, expected: &str) {
        let mut seen = String::new();
        for _ in 0..100 {
            if let Ok(element) = self.driver().find(By::Css(css)).await {
                seen = element.text().await.unwrap_or_default();
                if done(&seen) {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("expected {what} {expected:?}, still {seen:?}");
    }

    /// Waits until the page's status message starts with `expected`.
    pub async fn expect_status(&self, expected: &str) {
        let starts = |seen: &str| seen.starts_with(expected);
        self.wait_for_text("[role=status]", starts, "the status", expected)
            .await;
    }

    /// Which checklist rules the page shows as met, in order.
    async fn rules_met(&self) -> Vec<(String, bool)> {
        let mut rules = Vec::new();
        for item in self.driver().find_all(By::Css("li[data-rule]")).await.unwrap() {
            let rule = item.attr("data-rule").await.unwrap().unwrap_or_default();
            let class = item.attr("class").await.unwrap().unwrap_or_default();
            rules.push((rule, class.split_whitespace().any(|c| c == "met")));
        }
        rules
    }

    /// Waits (up to 10 s) until the checklist shows every rule met but
    /// `unmet`: its line "not easy to guess" follows the server's answer.
    async fn expect_unmet_rules(&self, unmet: &[&str]) {
        let mut seen = Vec::new();
        for _ in 0..100 {
            seen = self.rules_met().await;
            let unmet_seen = seen.iter().filter(|(_, met)| !met).map(|(rule, _)| rule.as_str());
            if unmet_seen.eq(unmet.iter().copied()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("expected only {unmet:?} unmet, the checklist is {seen:?}");
    }

    /// How many answers from `path` the page has had (the Resource Timing
    /// of its scripts' requests).
    async fn answers_from(&self, path: &str) -> u64 {
        self.driver()
            .execute(
                "return performance.getEntriesByType('resource')
                   .filter(e => new URL(e.name).pathname === arguments[0] && e.responseEnd > 0).length;",
                vec![Value::String(path.to_owned())],
            )
            .await
            .unwrap()
            .convert()
            .unwrap()
    }

    pub async fn stop(mut self) {
        if let Some(driver) = self.driver.take() {
            driver.quit().await.expect("browser quits");
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.chromedriver.kill();
        let _ = self.chromedriver.wait();
    }
}

fn chromedriver_path() -> String {
    std::env::var("SI_CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".to_owned())
}

/// axe-core's browser bundle, as `scripts/test` unpacks it from the npm registry.
fn axe_source() -> String {
    let path = std::env::var("SI_AXE_CORE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/axe-core/package/axe.min.js")
        });
    std::fs::read_to_string(&path).unwrap_or_else(|err| {
        panic!(
            "axe-core is missing at {} ({err}): run scripts/test, which fetches it",
            path.display()
        )
    })
}

fn authorize_url(app: &TestApp, client_id: &str) -> String {
    let query = [
        ("client_id", client_id),
        ("redirect_uri", REDIRECT_URI),
        ("response_type", "code"),
        ("scope", "openid"),
        ("state", "st"),
        ("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
        ("code_challenge_method", "S256"),
    ];
    format!(
        "{}?{}",
        app.url("/authorize"),
        serde_urlencoded::to_string(query).unwrap()
    )
}

// A multi-threaded runtime: the driver's session ends from its own task.
#[tokio::test(flavor = "multi_thread")]
async fn a_member_logs_in_with_the_keyboard_alone_on_accessible_pages() {
    let app = spawn_app().await;
    member(&app.store, "sanne").await;
    let (client_id, _) = register(&app, ClientKind::Public, IdTokenAlgorithm::Rs256).await;
    let browser = Browser::start("nl-NL", 1280, 900, 1.0).await;
    let driver = browser.driver();

    driver.goto(authorize_url(&app, &client_id)).await.unwrap();
    browser.expect_heading("Inloggen").await;
    browser.assert_accessible("login page (nl)").await;
    browser.screenshot("login-nl").await;

    // A wrong password: the message is announced and tied to the fields.
    let focused = driver.active_element().await.unwrap();
    assert_eq!(focused.attr("id").await.unwrap().as_deref(), Some("username"));
    focused.send_keys("sanne").await.unwrap();
    focused.send_keys(Key::Tab).await.unwrap();
    let password = driver.active_element().await.unwrap();
    assert_eq!(password.attr("id").await.unwrap().as_deref(), Some("password"));
    password.send_keys("not the password").await.unwrap();
    password.send_keys(Key::Enter).await.unwrap();
    let alert = driver.find(By::Css("[role=alert]")).await.unwrap();
    assert!(!alert.text().await.unwrap().is_empty());
    browser.assert_accessible("login page with an error").await;
    browser.screenshot("login-error-nl").await;

    let password = driver.find(By::Id("password")).await.unwrap();
    password.send_keys(PASSWORD).await.unwrap();
    password.send_keys(Key::Enter).await.unwrap();
    let mut landed = String::new();
    for _ in 0..50 {
        landed = driver.current_url().await.unwrap().to_string();
        if landed.starts_with(REDIRECT_URI) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        landed.starts_with(REDIRECT_URI) && landed.contains("code="),
        "back at the client with a code: {landed}"
    );
    browser.stop().await;
    app.stop().await;
}

// A multi-threaded runtime: the driver's session ends from its own task.
#[tokio::test(flavor = "multi_thread")]
async fn the_pages_switch_to_english_and_fit_a_phone_screen() {
    let app = spawn_app().await;
    let (client_id, _) = register(&app, ClientKind::Public, IdTokenAlgorithm::Rs256).await;
    let browser = Browser::start("nl-NL", 360, 740, 1.0).await;
    let driver = browser.driver();

    driver.goto(authorize_url(&app, &client_id)).await.unwrap();
    driver
        .find(By::Css("a[hreflang=en]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.expect_heading("Log in").await;
    assert_eq!(
        sideways_overflow(driver).await,
        0,
        "nothing sticks out sideways at 360 px"
    );
    browser.assert_accessible("login page (en, 360 px)").await;
    browser.screenshot("login-en-phone").await;

    for (path, heading) in [
        ("/help", "Help with logging in"),
        ("/forgot-username", "Forgot your username?"),
    ] {
        driver.goto(app.url(path)).await.unwrap();
        browser.expect_heading(heading).await;
        browser.assert_accessible(path).await;
        browser.screenshot(&format!("{}-en-phone", &path[1..])).await;
    }

    driver.goto(app.url("/logout")).await.unwrap();
    browser.expect_heading("See you next time").await;
    browser.assert_accessible("logged-out page (en)").await;
    browser.screenshot("logged-out-en-phone").await;

    driver
        .goto(app.url("/authorize?client_id=no-such-client"))
        .await
        .unwrap();
    browser.assert_accessible("error page (en)").await;
    browser.screenshot("error-en-phone").await;
    browser.stop().await;
    app.stop().await;
}

// A multi-threaded runtime: the driver's session ends from its own task.
#[tokio::test(flavor = "multi_thread")]
async fn a_member_resets_a_forgotten_password_while_the_checklist_ticks() {
    let smtp = SmtpServer::start();
    let app = app_with_mail(&smtp).await;
    member(&app.store, "sanne").await;
    let browser = Browser::start("nl-NL", 1280, 900, 1.0).await;
    let driver = browser.driver();

    driver.goto(app.url("/forgot-password")).await.unwrap();
    browser.expect_heading("Wachtwoord vergeten").await;
    browser.assert_accessible("forgot password").await;
    browser.screenshot("forgot-password-nl").await;
    let field = driver.active_element().await.unwrap();
    field.send_keys("sanne").await.unwrap();
    field.send_keys(Key::Enter).await.unwrap();
    browser.expect_heading("Kijk in je mail").await;
    browser.assert_accessible("check your mail").await;

    let mail = smtp.wait_for_async(1).await.remove(0);
    let text = text_of(&mail);
    driver
        .goto(link_in(&text, &app.url("/reset-password?token=")))
        .await
        .unwrap();
    browser.expect_heading("Stel je wachtwoord in").await;
    browser.assert_accessible("set password").await;
    assert!(
        browser.rules_met().await.iter().all(|(_, met)| !met),
        "nothing ticked yet"
    );

    let password = driver.active_element().await.unwrap();
    assert_eq!(password.attr("id").await.unwrap().as_deref(), Some("password"));
    password.send_keys("Zonnebloem").await.unwrap();
    let ticked: Vec<(String, bool)> = browser.rules_met().await;
    assert_eq!(
        ticked,
        [
            ("min-length", true),
            ("upper-case", true),
            ("lower-case", true),
            ("digit", false),
            ("special", false),
            ("hard-to-guess", false),
            ("same", false),
        ]
        .map(|(rule, met)| (rule.to_owned(), met)),
        "the checklist follows the typing"
    );
    // The guide's five rules met by a password anyone could guess: the
    // last line stays unticked once the server has answered.
    password.clear().await.unwrap();
    password.send_keys("Welkom123!").await.unwrap();
    for _ in 0..100 {
        if browser.answers_from("/password/guessable").await > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(browser.answers_from("/password/guessable").await, 1);
    browser.expect_unmet_rules(&["hard-to-guess", "same"]).await;
    // An invisible character from pasting is said at once, not only when
    // the password is sent and refused.
    let untypable = driver.find(By::Id("password-untypable")).await.unwrap();
    assert_eq!(untypable.text().await.unwrap(), "");
    password.clear().await.unwrap();
    password.send_keys("Zonnebloem\u{200b}-tafel-42!").await.unwrap();
    let said = "Dit wachtwoord bevat een teken dat je niet kunt typen, zoals een tab, een regeleinde of een onzichtbaar teken van kopiëren en plakken. Gebruik letters, cijfers, spaties en leestekens.";
    for _ in 0..100 {
        if untypable.text().await.unwrap() == said {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(untypable.text().await.unwrap(), said);
    // Hard to guess it is; only the character stands in the way.
    browser.expect_unmet_rules(&["same"]).await;
    browser
        .assert_accessible("set password, an invisible character")
        .await;
    password.clear().await.unwrap();
    password.send_keys("Zonnebloem").await.unwrap();
    assert_eq!(untypable.text().await.unwrap(), "", "gone with the character");
    // A screen reader hears each rule that turns, as it turns.
    let checklist = driver.find(By::Id("password-rules")).await.unwrap();
    assert_eq!(
        checklist.attr("aria-live").await.unwrap().as_deref(),
        Some("polite")
    );
    password.send_keys("-tafel-42!").await.unwrap();
    password.send_keys(Key::Tab).await.unwrap();
    let repeat = driver.active_element().await.unwrap();
    repeat.send_keys("Zonnebloem-tafel-42!").await.unwrap();
    browser.expect_unmet_rules(&[]).await;
    browser.assert_accessible("set password, filled in").await;
    browser.screenshot("set-password-nl").await;
    repeat.send_keys(Key::Enter).await.unwrap();
    browser.expect_heading("Je wachtwoord is gewijzigd").await;
    browser.assert_accessible("password changed").await;
    browser.screenshot("password-changed-nl").await;
    browser.stop().await;
    app.stop().await;
}

// A multi-threaded runtime: the driver's session ends from its own task.
#[tokio::test(flavor = "multi_thread")]
async fn a_new_member_confirms_changes_the_username_and_logs_out() {
    let smtp = SmtpServer::start();
    let app = app_with_mail(&smtp).await;
    pending_member(&app, "21234567890123", "old-link").await;
    let browser = Browser::start("nl-NL", 1280, 900, 1.0).await;
    let driver = browser.driver();

    // The link of an old confirmation mail: one button sends a new one.
    driver.goto(app.url("/confirm?token=old-link")).await.unwrap();
    browser.expect_heading("Deze link werkt niet meer").await;
    browser.assert_accessible("expired confirmation link").await;
    driver
        .find(By::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.expect_heading("Kijk in je mail").await;

    let mail = smtp.wait_for_async(1).await.remove(0);
    let text = text_of(&mail);
    driver
        .goto(link_in(&text, &app.url("/confirm?token=")))
        .await
        .unwrap();
    browser.expect_heading("Stel je wachtwoord in").await;
    let password = driver.active_element().await.unwrap();
    password.send_keys("Zonnebloem-tafel-42!").await.unwrap();
    password.send_keys(Key::Tab).await.unwrap();
    let repeat = driver.active_element().await.unwrap();
    repeat.send_keys("Zonnebloem-tafel-42!").await.unwrap();
    repeat.send_keys(Key::Enter).await.unwrap();

    browser.expect_heading("Mijn inlogaccount").await;
    browser.assert_accessible("account page").await;
    browser.screenshot("account-nl").await;
    let field = driver.find(By::Id("username")).await.unwrap();
    field.send_keys("sanne.devries").await.unwrap();
    field.send_keys(Key::Enter).await.unwrap();
    let status = driver.find(By::Css("[role=status]")).await.unwrap();
    assert!(status.text().await.unwrap().contains("gewijzigd"));
    let shown = driver
        .find(By::Css(".value"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(shown, "sanne.devries");
    browser.assert_accessible("account page, username changed").await;
    browser.screenshot("account-username-changed-nl").await;
    let current = driver.find(By::Id("current")).await.unwrap();
    current.send_keys("not my password").await.unwrap();
    current.send_keys(Key::Enter).await.unwrap();
    // The error is the current password's: tied to it, and it has the focus.
    let alert = driver.find(By::Css("#current-error")).await.unwrap();
    assert!(alert.text().await.unwrap().contains("klopt niet"));
    let focused = driver.active_element().await.unwrap();
    assert_eq!(focused.attr("id").await.unwrap().as_deref(), Some("current"));
    assert_eq!(
        focused.attr("aria-invalid").await.unwrap().as_deref(),
        Some("true")
    );
    assert_eq!(
        driver.title().await.unwrap(),
        "Fout: Mijn inlogaccount – Single Identity",
        "the title says a form was refused"
    );
    browser.assert_accessible("account page with an error").await;

    // A new address waits for its confirmation, and the change is cancelled.
    driver.goto(app.url("/account")).await.unwrap();
    let email = driver.find(By::Id("email")).await.unwrap();
    email.send_keys("sanne@gmial.com").await.unwrap();
    email.send_keys(Key::Tab).await.unwrap();
    let current = driver.active_element().await.unwrap();
    current.send_keys("Zonnebloem-tafel-42!").await.unwrap();
    current.send_keys(Key::Enter).await.unwrap();
    // The page that follows shows the address waiting.
    let waits = "Wacht op bevestiging: sanne@gmial.com.";
    let shown = |seen: &str| seen.contains(waits);
    browser.wait_for_text(".notice", shown, "the notice", waits).await;
    browser.assert_accessible("account page, address waiting").await;
    let cancel = driver.find(By::Css(".notice button")).await.unwrap();
    assert_eq!(cancel.text().await.unwrap(), "Wijziging annuleren");
    cancel.focus().await.unwrap();
    driver
        .active_element()
        .await
        .unwrap()
        .send_keys(Key::Enter)
        .await
        .unwrap();
    // The button sends the form; the page that follows says it is done.
    browser
        .expect_status("De wijziging van je e-mailadres is geannuleerd.")
        .await;
    assert!(
        driver
            .find_all(By::Css(".notice button"))
            .await
            .unwrap()
            .is_empty()
    );

    driver.goto(app.url("/account")).await.unwrap();
    browser.expect_heading("Mijn inlogaccount").await;
    driver
        .find(By::Css("form[action='/logout'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.expect_heading("Tot de volgende keer").await;
    // Back, as the next person at a library's computer might press it:
    // the account page does not come back from the browser's cache.
    driver.back().await.unwrap();
    browser.expect_heading("Inloggen").await;
    driver.goto(app.url("/logout")).await.unwrap();
    browser.expect_heading("Tot de volgende keer").await;
    driver
        .find(By::LinkText("Terug naar de loginpagina"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.expect_heading("Inloggen").await;
    browser.assert_accessible("login page for the own account").await;
    browser.stop().await;
    app.stop().await;
}

// A multi-threaded runtime: the driver's session ends from its own task.
#[tokio::test(flavor = "multi_thread")]
async fn a_forgotten_username_arrives_by_mail_and_the_pages_work_at_200_percent_zoom() {
    let smtp = SmtpServer::start();
    let app = app_with_mail(&smtp).await;
    member(&app.store, "sanne").await;
    member(&app.store, "daan.jansen").await;
    // A 1280 × 900 screen at 200%: 640 × 450 CSS pixels, each drawn twice as large.
    let browser = Browser::start("nl-NL", 640, 450, 2.0).await;
    let driver = browser.driver();

    driver.goto(app.url("/help")).await.unwrap();
    browser.expect_heading("Hulp bij inloggen").await;
    driver
        .find(By::LinkText("Gebruikersnaam vergeten?"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.expect_heading("Gebruikersnaam vergeten").await;
    let viewport: Value = driver
        .execute("return [window.innerWidth, window.devicePixelRatio];", Vec::new())
        .await
        .unwrap()
        .json()
        .clone();
    assert_eq!(
        viewport,
        serde_json::json!([640, 2]),
        "a 1280-pixel screen at 200%"
    );
    assert_eq!(
        sideways_overflow(driver).await,
        0,
        "nothing sticks out sideways at 200%"
    );
    browser.assert_accessible("forgot username, 200%").await;
    browser.screenshot("forgot-username-nl-200").await;
    let field = driver.active_element().await.unwrap();
    field.send_keys("ouders@example.nl").await.unwrap();
    field.send_keys(Key::Enter).await.unwrap();
    browser.expect_heading("Kijk in je mail").await;

    let mail = smtp.wait_for_async(1).await.remove(0);
    assert_eq!(mail.to, ["ouders@example.nl"]);
    let text = text_of(&mail);
    assert!(text.contains("sanne") && text.contains("daan.jansen"), "{text}");
    browser.stop().await;
    app.stop().await;
}

/// How far the page sticks out sideways, in CSS pixels.
pub async fn sideways_overflow(driver: &WebDriver) -> i64 {
    driver
        .execute(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
            Vec::new(),
        )
        .await
        .unwrap()
        .convert()
        .unwrap()
}

pub async fn type_into(driver: &WebDriver, id: &str, text: &str) {
    let field = driver.find(By::Id(id)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

pub async fn click(driver: &WebDriver, css: &str) {
    driver.find(By::Css(css)).await.unwrap().click().await.unwrap();
}

pub async fn follow(driver: &WebDriver, link_text: &str) {
    driver
        .find(By::PartialLinkText(link_text))
        .await
        .unwrap_or_else(|_| panic!("a link {link_text:?}"))
        .click()
        .await
        .unwrap();
}

/// Waits (up to 10 s) until the element at `css` holds `expected`,
/// reloading the page between looks when `reload` is set.
pub async fn expect_text(driver: &WebDriver, css: &str, expected: &str, reload: bool) -> String {
    let mut seen = String::new();
    for _ in 0..100 {
        if let Ok(element) = driver.find(By::Css(css)).await {
            seen = element.text().await.unwrap_or_default();
            if seen.contains(expected) {
                return seen;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        if reload {
            driver.refresh().await.unwrap();
        }
    }
    panic!("expected {expected:?} in {css}, saw {seen:?}");
}

/// Waits (up to 10 s) until the browser is at an address starting with `prefix`.
async fn wait_for_url(driver: &WebDriver, prefix: &str) -> String {
    let mut at = String::new();
    for _ in 0..100 {
        at = driver.current_url().await.unwrap().to_string();
        if at.starts_with(prefix) {
            return at;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("expected an address starting with {prefix}, still at {at}");
}

/// Submits a form of `fields` from a page of another site (`localhost` is
/// not the site `127.0.0.1`), as a relying party's own page does: the
/// browser then holds back the SameSite=Lax session cookie.
async fn post_from_another_site(driver: &WebDriver, app: &TestApp, path: &str, fields: &[(&str, &str)]) {
    let elsewhere = app.url("/help").replace("127.0.0.1", "localhost");
    driver.goto(&elsewhere).await.unwrap();
    let fields: serde_json::Map<String, Value> = fields
        .iter()
        .map(|(name, value)| ((*name).to_owned(), Value::from(*value)))
        .collect();
    driver
        .execute(
            r#"const form = document.createElement("form");
            form.method = "post";
            form.action = arguments[0];
            for (const [name, value] of Object.entries(arguments[1])) {
              const input = document.createElement("input");
              input.type = "hidden"; input.name = name; input.value = value;
              form.appendChild(input);
            }
            document.body.appendChild(form);
            form.submit();"#,
            vec![Value::from(app.url(path)), Value::Object(fields)],
        )
        .await
        .unwrap();
}

// A multi-threaded runtime: the driver's session ends from its own task.
#[tokio::test(flavor = "multi_thread")]
async fn a_relying_partys_own_forms_keep_single_sign_on_and_end_the_session() {
    let app = spawn_app().await;
    member(&app.store, "sanne").await;
    let (client_id, secret) = register(&app, ClientKind::Confidential, IdTokenAlgorithm::Rs256).await;
    let browser = Browser::start("nl-NL", 1280, 900, 1.0).await;
    let driver = browser.driver();
    driver.goto(authorize_url(&app, &client_id)).await.unwrap();
    browser.expect_heading("Inloggen").await;
    type_into(driver, "username", "sanne").await;
    type_into(driver, "password", PASSWORD).await;
    driver
        .find(By::Id("password"))
        .await
        .unwrap()
        .send_keys(Key::Enter)
        .await
        .unwrap();
    let back = wait_for_url(driver, REDIRECT_URI).await;
    let code = crate::interop::query_value(&back, "code").expect("a code");
    let (_, tokens) = exchange(&app, &client_id, secret.as_deref(), &code_exchange(&code)).await;
    let id_token = tokens["id_token"].as_str().expect("an ID token");

    // OIDC Core 3.1.2.1: the authorization endpoint takes POST as well. From
    // another site the member is still logged in: a code, no login_required.
    let authorization: Vec<(&str, &str)> = vec![
        ("client_id", &client_id),
        ("redirect_uri", REDIRECT_URI),
        ("response_type", "code"),
        ("scope", "openid"),
        ("state", "form"),
        ("prompt", "none"),
        ("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
        ("code_challenge_method", "S256"),
    ];
    post_from_another_site(driver, &app, "/authorize", &authorization).await;
    let back = wait_for_url(driver, REDIRECT_URI).await;
    assert!(back.contains("code=") && back.contains("state=form"), "{back}");

    // RP-Initiated Logout 1.0 §2: POST as well. The session ends, with its
    // refresh tokens, and the member returns to the client.
    post_from_another_site(
        driver,
        &app,
        "/logout",
        &[
            ("id_token_hint", id_token),
            ("post_logout_redirect_uri", "http://127.0.0.1:9/logged-out"),
            ("state", "bye"),
        ],
    )
    .await;
    let back = wait_for_url(driver, "http://127.0.0.1:9/logged-out").await;
    assert!(back.ends_with("state=bye"), "{back}");
    let refresh = [
        ("grant_type", "refresh_token"),
        ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
    ];
    let (status, _) = exchange(&app, &client_id, secret.as_deref(), &refresh).await;
    assert_eq!(status, 400, "the session's refresh token ended with it");
    driver.goto(authorize_url(&app, &client_id)).await.unwrap();
    browser.expect_heading("Inloggen").await;
    browser.stop().await;
    app.stop().await;
}
