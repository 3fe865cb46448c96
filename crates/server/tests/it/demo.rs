//! `serve --demo` as a new user meets it: the binary started as a process of
//! its own on an empty directory (and on a fresh PostgreSQL database when
//! `SI_TEST_DATABASE_URL` is set), driven in headless Chromium through the
//! README's walkthrough, then through the journey of a member who moves to
//! another library. Every screen is checked with axe-core. The screenshots
//! in `docs/screenshots/` are made here: `SI_UPDATE_SCREENSHOTS=1` rewrites
//! them.

use std::path::PathBuf;

use si_store::testing::TestDatabase;
use thirtyfour::{Key, prelude::By};

use crate::{
    browser::{Browser, click, expect_text, follow, sideways_overflow, type_into},
    interop::LoginForm,
    selfservice::fetch,
    support::{ServeProcess, binary, run, stderr},
};

const MEMBER_PASSWORD: &str = "Leesclub-2026!";
const NEW_USERNAME: &str = "lotte.dekker";

/// A `serve --demo` process and the desk password it printed.
struct Demo {
    serve: ServeProcess,
    staff_password: String,
    _data_dir: tempfile::TempDir,
}

impl Demo {
    fn start(database: &TestDatabase) -> Self {
        let data_dir = tempfile::tempdir().expect("a data directory");
        let mut command = binary(data_dir.path());
        command
            .env("SI_LISTEN", "127.0.0.1:0")
            .env("SI_DATABASE_URL", &database.url)
            .env("SI_MAIL__POLL_INTERVAL_MS", "50");
        let mut serve = ServeProcess::start_with(command, &["--demo"]);
        let printed: Vec<String> = (0..8).map(|_| serve.next_line()).collect();
        let printed = printed.join("\n");
        for path in ["/frontoffice", "/dev/mail", "/demo/website/", "/demo/ebooks/"] {
            assert!(
                printed.contains(&format!("{}{path}", serve.url)),
                "{path} in {printed}"
            );
        }
        let staff_password = printed
            .lines()
            .find(|line| line.contains("Desk login:") && line.contains("username balie"))
            .and_then(|line| line.split_whitespace().last())
            .unwrap_or_else(|| panic!("the desk login in {printed}"))
            .to_owned();
        Self {
            serve,
            staff_password,
            _data_dir: data_dir,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.serve.url)
    }
}

async fn log_in(browser: &Browser, username: &str, password: &str) {
    let driver = browser.driver();
    browser.expect_heading("Inloggen").await;
    type_into(driver, "username", username).await;
    let field = driver.find(By::Id("password")).await.unwrap();
    field.send_keys(password).await.unwrap();
    field.send_keys(Key::Enter).await.unwrap();
}

/// Into `target/screenshots/`, and into `docs/screenshots/` for the README
/// when `SI_UPDATE_SCREENSHOTS` is set.
async fn screenshot(browser: &Browser, name: &str) {
    browser.screenshot(name).await;
    if std::env::var_os("SI_UPDATE_SCREENSHOTS").is_some() {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let docs = root.join("docs/screenshots");
        std::fs::create_dir_all(&docs).unwrap();
        std::fs::copy(
            root.join(format!("target/screenshots/{name}.png")),
            docs.join(format!("{name}.png")),
        )
        .unwrap();
    }
}

const WEBSITE: &str = "Mijn Menu – Bibliotheek (demo)";
const EBOOKS: &str = "Online Bibliotheek (demo)";

// A multi-threaded runtime: the driver's session ends from its own task.
#[tokio::test(flavor = "multi_thread")]
async fn the_demo_walkthrough_from_the_desk_to_the_ebook_service_and_a_member_who_moves() {
    let database = TestDatabase::create().await;
    let demo = Demo::start(&database);
    let desk = Browser::start("nl-NL", 1024, 900, 1.0).await;
    let staff = desk.driver();

    // 1. The desk registers Lotte with a new login account, starting from
    // the demo's start page.
    staff.goto(demo.url("/")).await.unwrap();
    desk.expect_heading("Single Identity – demo").await;
    desk.assert_accessible("demo: start page").await;
    follow(staff, "Schrijf aan de balie een klant in").await;
    log_in(&desk, "balie", &demo.staff_password).await;
    desk.expect_heading("Kies je bibliotheek").await;
    follow(staff, "Bibliotheek Drenthe").await;
    desk.expect_heading("Klantenadministratie").await;
    follow(staff, "Klant inschrijven").await;
    desk.expect_heading("Klant inschrijven").await;
    type_into(staff, "card_number", "21000012345678").await;
    type_into(staff, "name", "Lotte Dekker").await;
    type_into(staff, "birth_date", "1988-05-17").await;
    type_into(staff, "email", "lotte@example.nl").await;
    let subscriptions = staff
        .find(By::Id("subscription_type"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        subscriptions.contains("Jeugd") && subscriptions.contains("Volwassenen"),
        "{subscriptions}"
    );
    click(staff, "#subscription_type option[value=VOLWASSEN]").await;
    screenshot(&desk, "01-desk-register").await;
    click(staff, "form button.primary").await;
    desk.expect_heading("Opbouw abonnementskosten").await;
    let done = expect_text(staff, "[role=status]", "Genereren van inlogaccount gelukt", false).await;
    assert!(
        done.contains("21000012345678") && done.contains("lotte@example.nl"),
        "{done}"
    );
    let overview = staff.find(By::Css("main")).await.unwrap().text().await.unwrap();
    assert!(overview.contains("vestiging 5280"), "{overview}");
    desk.assert_accessible("demo: registered at the desk").await;
    screenshot(&desk, "02-desk-registered").await;

    // 2. Lotte, at home: the confirmation mail in the dev mailbox.
    let home = Browser::start("nl-NL", 1024, 900, 1.0).await;
    let member = home.driver();
    member.goto(demo.url("/dev/mail")).await.unwrap();
    home.expect_heading("Postvak (demo)").await;
    expect_text(member, "#mails", "lotte@example.nl", true).await;
    home.assert_accessible("demo: dev mailbox").await;
    screenshot(&home, "03-dev-mailbox").await;
    follow(member, "Bevestig je inlogaccount").await;
    let mail = expect_text(member, "body", "Bevestig je e-mailadres", false).await;
    assert!(mail.contains("Lotte Dekker"), "{mail}");
    screenshot(&home, "04-confirmation-mail").await;

    // 3. Confirm, choose a password, land on the account, change the username.
    follow(member, "Bevestigen").await;
    home.expect_heading("Stel je wachtwoord in").await;
    type_into(member, "password", MEMBER_PASSWORD).await;
    type_into(member, "repeat", MEMBER_PASSWORD).await;
    screenshot(&home, "05-set-password").await;
    click(member, "form button.primary").await;
    home.expect_heading("Mijn inlogaccount").await;
    expect_text(member, "p.value", "21000012345678", false).await;
    type_into(member, "username", NEW_USERNAME).await;
    click(member, "form[action='/account/username'] button").await;
    expect_text(member, "[role=status]", "Je gebruikersnaam is gewijzigd", false).await;
    home.assert_accessible("demo: account after changing the username")
        .await;
    screenshot(&home, "06-account").await;

    // 4. Later, at the library website: log in with the new username.
    member.delete_all_cookies().await.unwrap();
    member.goto(demo.url("/demo/website/")).await.unwrap();
    home.expect_heading(WEBSITE).await;
    home.assert_accessible("demo: library website, logged out").await;
    follow(member, "Inloggen").await;
    log_in(&home, NEW_USERNAME, MEMBER_PASSWORD).await;
    home.expect_heading(WEBSITE).await;
    expect_text(member, "#signed-in-username", NEW_USERNAME, false).await;
    let memberships = expect_text(member, "#memberships", "Bibliotheek Drenthe", false).await;
    assert!(memberships.contains("21000012345678"), "{memberships}");
    // The subscription by its name, not its code.
    assert!(
        memberships.contains("Volwassenen") && !memberships.contains("VOLWASSEN"),
        "{memberships}"
    );
    // The claim's date as a Dutch reader writes it: 31-05-2026, not 2026-05-31.
    let dates: Vec<&str> = memberships
        .split_whitespace()
        .filter(|word| word.contains('-') && word.chars().all(|c| c.is_ascii_digit() || c == '-'))
        .collect();
    assert!(
        !dates.is_empty()
            && dates
                .iter()
                .all(|date| date.len() == 10 && date.find('-') == Some(2)),
        "{memberships}"
    );
    home.assert_accessible("demo: library website, logged in").await;
    screenshot(&home, "07-library-website").await;
    // An answer that matches no sign-in here (Back to one used already, an
    // older tab's) leaves the member signed in, and says so.
    member
        .goto(demo.url("/demo/website/callback?code=used&state=used"))
        .await
        .unwrap();
    home.expect_heading(WEBSITE).await;
    expect_text(member, "#signed-in-username", NEW_USERNAME, false).await;

    // 5. The e-book service: in without a second prompt.
    follow(member, "Naar de Online Bibliotheek").await;
    home.expect_heading(EBOOKS).await;
    expect_text(member, "[role=status]", "zonder opnieuw je wachtwoord", false).await;
    expect_text(member, "#signed-in-username", NEW_USERNAME, false).await;
    home.assert_accessible("demo: e-book service").await;
    screenshot(&home, "08-ebook-service").await;

    // 6. Log out at the website: the guide's page, and the e-book service
    // is told too (back-channel logout).
    follow(member, "Naar Mijn Menu").await;
    home.expect_heading(WEBSITE).await;
    click(member, "form[action='/demo/website/logout'] button").await;
    home.expect_heading("Tot de volgende keer").await;
    let page = member.find(By::Css("main")).await.unwrap().text().await.unwrap();
    assert!(
        page.contains("Je bent nu succesvol uitgelogd.")
            && page.contains("Je kunt dit browservenster sluiten.")
            && page.contains("Terug naar de loginpagina"),
        "{page}"
    );
    screenshot(&home, "09-logged-out").await;
    member.goto(demo.url("/demo/ebooks/")).await.unwrap();
    expect_text(member, "main", "Je bent niet ingelogd.", true).await;

    // 7. Lotte moves to Groningen: the desk there links her account.
    staff.goto(demo.url("/frontoffice/GRO01/register")).await.unwrap();
    desk.expect_heading("Klant inschrijven").await;
    type_into(staff, "card_number", "31000098765432").await;
    type_into(staff, "name", "Lotte Dekker").await;
    type_into(staff, "birth_date", "1988-05-17").await;
    type_into(staff, "email", "lotte@example.nl").await;
    click(staff, "input[name=account_choice][value=existing]").await;
    click(staff, "#subscription_type option[value=VOLWASSEN]").await;
    click(staff, "form button.primary").await;
    desk.expect_heading("Bestaand inlogaccount zoeken").await;
    type_into(staff, "username", NEW_USERNAME).await;
    click(staff, "button[value=search]").await;
    expect_text(staff, "dl.facts", NEW_USERNAME, false).await;
    click(staff, "button[value=link]").await;
    expect_text(
        staff,
        "[role=status]",
        "Inschrijving gekoppeld aan het bestaande inlogaccount",
        false,
    )
    .await;
    screenshot(&desk, "10-desk-linked").await;

    // 8. The library website shows both libraries.
    member.goto(demo.url("/demo/website/")).await.unwrap();
    follow(member, "Inloggen").await;
    log_in(&home, NEW_USERNAME, MEMBER_PASSWORD).await;
    home.expect_heading(WEBSITE).await;
    let memberships = expect_text(member, "#memberships", "Bibliotheek Groningen", false).await;
    assert!(
        memberships.contains("Bibliotheek Drenthe") && memberships.contains("31000098765432"),
        "{memberships}"
    );
    screenshot(&home, "11-library-website-two-libraries").await;
    // On the narrowest phone the table scrolls on its own, not the page.
    member.set_window_rect(0, 0, 320, 800).await.unwrap();
    assert_eq!(
        sideways_overflow(member).await,
        0,
        "the library website at 320 px"
    );
    home.assert_accessible("library website, two libraries, 320 px")
        .await;

    home.stop().await;
    desk.stop().await;
    let status = demo.serve.terminate();
    assert!(status.success(), "serve --demo stops cleanly: {status}");
}

#[tokio::test]
async fn a_second_start_keeps_the_members_and_gives_the_desk_a_new_password() {
    let database = TestDatabase::create().await;
    let first = Demo::start(&database);
    let first_password = first.staff_password.clone();
    let data_dir = first._data_dir;
    assert!(first.serve.terminate().success());

    let mut command = binary(data_dir.path());
    command
        .env("SI_LISTEN", "127.0.0.1:0")
        .env("SI_DATABASE_URL", &database.url);
    let mut again = ServeProcess::start_with(command, &["--demo"]);
    let login = (0..4)
        .map(|_| again.next_line())
        .find(|line| line.contains("Desk login:"))
        .expect("the desk login is printed again");
    let second_password = login.split_whitespace().last().unwrap();
    assert_ne!(second_password, first_password);

    let store = si_store::Store::connect(&database.url, std::sync::Arc::new(si_store::SystemClock))
        .await
        .unwrap();
    let libraries: Vec<String> = si_store::Repositories::catalogue(&store)
        .libraries()
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.code.to_string())
        .collect();
    assert_eq!(libraries, ["DRE01", "GRO01"], "seeded once");
    let clients: Vec<String> = si_store::Repositories::clients(&store)
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.redirect_uris.join(" "))
        .collect();
    assert_eq!(clients.len(), 2, "{clients:?}");
    assert!(
        clients.iter().all(|uris| uris.starts_with(&again.url)),
        "the sites are registered at the new address {}: {clients:?}",
        again.url
    );
    assert!(again.terminate().success());
}

/// ASVS 7.1: the log tells an operator of every login, failed, throttled
/// or not, with the account and the address, and of every failed client
/// authentication; never what was typed, which may be a password in the
/// username field or a secret in the client id.
#[tokio::test]
async fn the_log_names_each_logins_account_and_address_but_nothing_typed() {
    let database = TestDatabase::create().await;
    let demo = Demo::start(&database);
    let browser = crate::interop::browser();
    let log_in = async |username: &str, password: &str| {
        let form = LoginForm::of(&fetch(&browser, demo.url("/login")).await);
        let answer = browser
            .post(demo.url("/login"))
            .form(&form.filled(username, password))
            .send()
            .await
            .unwrap();
        answer.status().as_u16()
    };
    let typed_as_username = "Wachtwoord-in-het-verkeerde-veld-1";
    assert_eq!(log_in(typed_as_username, "iets").await, 401);
    assert_eq!(log_in("balie", "niet-het-wachtwoord").await, 401);
    assert_eq!(log_in("balie", &demo.staff_password).await, 303);
    // A website's wrong secret, and a secret sent as the client id.
    let secret_as_id = "g7Xq2-secret-sent-in-the-wrong-field";
    for (id, secret) in [("demo-website", "not-its-secret"), (secret_as_id, "demo-website")] {
        let answer = browser
            .post(demo.url("/token"))
            .basic_auth(id, Some(secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 401);
    }
    let unreadable = browser
        .post(demo.url("/token"))
        .header("authorization", "Basic not-base64!")
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(unreadable.status(), 401);

    let (status, log) = demo.serve.terminate_and_read_log();
    assert!(status.success());
    let lines = |event: &str| -> Vec<&str> { log.lines().filter(|l| l.contains(event)).collect() };
    let failed = lines("login failed");
    assert_eq!(failed.len(), 2, "{log}");
    assert!(failed[0].contains("account=none address="), "{}", failed[0]);
    let logged_in = lines("logged in");
    assert_eq!(logged_in.len(), 1, "{log}");
    let balie = logged_in[0]
        .split_whitespace()
        .find_map(|field| field.strip_prefix("account="))
        .unwrap_or_else(|| panic!("an account in {}", logged_in[0]));
    assert!(failed[1].contains(&format!("account={balie}")), "{}", failed[1]);
    for line in failed.iter().chain(&logged_in) {
        assert!(line.contains("address=127.0.0.1"), "{line}");
    }
    let refused_clients = lines("client authentication failed");
    assert_eq!(refused_clients.len(), 3, "{log}");
    assert!(
        refused_clients[0].contains("client=demo-website"),
        "{}",
        refused_clients[0]
    );
    for unknown in &refused_clients[1..] {
        assert!(unknown.contains("client=unknown"), "{unknown}");
    }
    for typed in [
        typed_as_username,
        "niet-het-wachtwoord",
        demo.staff_password.as_str(),
        secret_as_id,
        "not-its-secret",
    ] {
        assert!(!log.contains(typed), "{typed} in the log");
    }
}

#[tokio::test]
async fn without_demo_there_is_no_dev_mailbox_and_no_demo_site() {
    let database = TestDatabase::create().await;
    let data_dir = tempfile::tempdir().unwrap();
    let mut command = binary(data_dir.path());
    command
        .env("SI_LISTEN", "127.0.0.1:0")
        .env("SI_DATABASE_URL", &database.url);
    let serve = ServeProcess::start(command);
    for path in ["/", "/dev/mail", "/demo/website/", "/demo/ebooks/login"] {
        let response = reqwest::get(format!("{}{path}", serve.url)).await.unwrap();
        assert_eq!(response.status(), 404, "{path}");
    }
    assert!(serve.terminate().success());
}

#[test]
fn the_demo_refuses_an_smtp_relay_because_its_mailbox_reads_files() {
    let data_dir = tempfile::tempdir().unwrap();
    let output = run(binary(data_dir.path())
        .args(["serve", "--demo"])
        .env("SI_MAIL__SMTP_URL", "smtp://127.0.0.1:2525"));
    assert_eq!(output.status.code(), Some(2), "a configuration error");
    assert!(
        stderr(&output).contains("serve --demo keeps mail in files for the dev mailbox"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn every_picture_in_the_readme_walkthrough_is_in_the_repository() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let pictures: Vec<&str> = readme
        .split("](")
        .skip(1)
        .filter_map(|rest| rest.split(')').next())
        .filter(|target| target.starts_with("docs/screenshots/"))
        .collect();
    assert_eq!(pictures.len(), 11, "{pictures:?}");
    for picture in pictures {
        let bytes = std::fs::read(root.join(picture)).unwrap_or_else(|e| panic!("{picture}: {e}"));
        assert!(bytes.starts_with(b"\x89PNG"), "{picture} is a PNG");
    }
}

#[tokio::test]
async fn a_demo_site_opened_at_localhost_moves_to_the_address_the_login_returns_to() {
    let database = TestDatabase::create().await;
    let demo = Demo::start(&database);
    let port = demo.serve.url.rsplit(':').next().unwrap().to_owned();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let answer = client
        .get(format!("http://localhost:{port}/demo/website/"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 303);
    assert_eq!(answer.headers()["location"], demo.url("/demo/website/"));
    let at_home = client.get(demo.url("/demo/website/")).send().await.unwrap();
    assert_eq!(at_home.status(), 200);
    assert!(demo.serve.terminate().success());
}
