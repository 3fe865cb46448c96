//! The desk console in a real browser, as desk staff use it: log in with
//! their own account, register a member with a new account (the guide's
//! Ja/Nee and new/existing choices, the cost overview, "Genereren van
//! inlogaccount gelukt"), link a member who moved to their existing account
//! after a case-sensitive search, reset the recovery address after "Ja", and
//! be told that a password reset is not theirs to do. Every screen is checked
//! with axe-core.

use si_domain::{Email, LibraryCode};
use si_store::Repositories;
use thirtyfour::{Key, WebDriver, prelude::By};

use crate::{
    browser::{Browser, click, expect_text, follow, sideways_overflow, type_into},
    desk::{ALL_DESK_SCOPES, adult, call, desk_library, desk_token, libraries_of},
    interop::{PASSWORD, member},
    selfservice::{app_with_mail, text_of},
    smtp::SmtpServer,
    support::{TestApp, spawn_app},
};

/// A staff account `balie.anna` with the desk role at each library in `libraries`.
pub async fn staff(app: &TestApp, libraries: &[&str]) -> &'static str {
    let account = member(&app.store, "balie.anna").await;
    for code in libraries {
        let library = app
            .store
            .catalogue()
            .library(&LibraryCode::parse(code).unwrap())
            .await
            .unwrap();
        app.store.staff().grant(&account.id, &library).await.unwrap();
    }
    "balie.anna"
}

async fn text_at(driver: &WebDriver, css: &str) -> String {
    driver.find(By::Css(css)).await.unwrap().text().await.unwrap()
}

async fn log_in(browser: &Browser, username: &str) {
    let driver = browser.driver();
    browser.expect_heading("Inloggen").await;
    type_into(driver, "username", username).await;
    let password = driver.find(By::Id("password")).await.unwrap();
    password.send_keys(PASSWORD).await.unwrap();
    password.send_keys(Key::Enter).await.unwrap();
}

// A multi-threaded runtime: the driver's session ends from its own task.
#[tokio::test(flavor = "multi_thread")]
async fn desk_staff_register_a_new_member_and_link_one_who_moved() {
    let smtp = SmtpServer::start();
    let app = app_with_mail(&smtp).await;
    desk_library(&app, "DRE01", "Biblionet Drenthe").await;
    desk_library(&app, "GRO01", "Biblionet Groningen").await;
    member(&app.store, "Sanne_2015").await;
    let staff = staff(&app, &["DRE01", "GRO01"]).await;
    let browser = Browser::start("nl-NL", 1280, 1000, 1.0).await;
    let driver = browser.driver();

    // Not signed in: the login leads back to the console.
    driver.goto(app.url("/frontoffice")).await.unwrap();
    log_in(&browser, staff).await;
    browser.expect_heading("Kies je bibliotheek").await;
    browser.assert_accessible("desk: choose library").await;
    driver
        .find(By::PartialLinkText("Biblionet Drenthe"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.expect_heading("Klantenadministratie").await;
    browser.assert_accessible("desk: home").await;
    driver
        .find(By::LinkText("Klant inschrijven"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.expect_heading("Klant inschrijven").await;
    browser.assert_accessible("desk: register form").await;
    // As in the guide, which account is asked only after "Ja", and the
    // language of the mails only for a new account.
    let existing = By::Css("input[name=account_choice][value=existing]");
    let english = By::Css("input[name=mail_language][value=en]");
    let shown = |by: &By| {
        let by = by.clone();
        async move { driver.find(by).await.unwrap().is_displayed().await.unwrap() }
    };
    assert!(shown(&english).await, "the mails' language for a new account");
    click(driver, "input[name=use_account][value=nee]").await;
    assert!(!shown(&existing).await, "no account to choose after Nee");
    assert!(!shown(&english).await, "no mails to send after Nee");
    click(driver, "input[name=use_account][value=ja]").await;
    assert!(shown(&existing).await, "the choice is back after Ja");
    click(driver, "input[name=account_choice][value=existing]").await;
    assert!(!shown(&english).await, "an existing account keeps its language");
    click(driver, "input[name=account_choice][value=new]").await;
    assert!(shown(&english).await, "the question is back for a new account");

    // Nothing filled in: every problem is listed and tied to its field.
    click(driver, "form button.primary").await;
    expect_text(driver, "#error-summary", "Controleer de gegevens", false).await;
    let summary = text_at(driver, "#error-summary").await;
    assert!(
        summary.contains("Vul het pasnummer in.") && summary.contains("Vul de naam van de klant in."),
        "{summary}"
    );
    assert!(
        summary.contains("Vul een geboortedatum in die bestaat, als DD-MM-JJJJ"),
        "in the format the hint gives: {summary}"
    );
    let invalid = driver.find(By::Id("card_number")).await.unwrap();
    assert_eq!(
        invalid.attr("aria-invalid").await.unwrap().as_deref(),
        Some("true")
    );
    assert_eq!(
        focused(driver).await,
        "error-summary",
        "the list of problems is read first"
    );
    browser.assert_accessible("desk: register form with errors").await;
    browser.screenshot("desk-register-errors-nl").await;

    // Ja, Nieuw inlogaccount genereren (the defaults), an adult subscription.
    type_into(driver, "card_number", "20000012345678").await;
    type_into(driver, "name", "Anna de Boer").await;
    type_into(driver, "birth_date", "1990-04-12").await;
    type_into(driver, "email", "anna@example.nl").await;
    click(driver, "#subscription_type option[value=VOLWASSEN]").await;
    type_into(driver, "discount_cents", "5,00").await;
    browser.screenshot("desk-register-nl").await;
    click(driver, "form button.primary").await;
    browser.expect_heading("Opbouw abonnementskosten").await;
    let costs = text_at(driver, "table.costs").await;
    for expected in ["€ 25,00", "€ 5,00", "€ 20,00", "Geldig t/m"] {
        assert!(costs.contains(expected), "{expected} not in {costs}");
    }
    let success = text_at(driver, "[role=status]").await;
    assert!(success.contains("Genereren van inlogaccount gelukt"), "{success}");
    assert!(
        success.contains("20000012345678") && success.contains("anna@example.nl"),
        "{success}"
    );
    browser.assert_accessible("desk: cost overview and success").await;
    browser.screenshot("desk-registered-nl").await;
    // The result has an address of its own: a reload shows it again and
    // sends nothing.
    driver.refresh().await.unwrap();
    browser.expect_heading("Opbouw abonnementskosten").await;
    let shown_again = text_at(driver, "[role=status]").await;
    assert!(
        shown_again.contains("Genereren van inlogaccount gelukt"),
        "{shown_again}"
    );
    let mail = smtp.wait_for_async(1).await.remove(0);
    assert_eq!(mail.to, vec!["anna@example.nl".to_owned()]);
    assert!(
        text_of(&mail).contains("Bevestig je e-mailadres"),
        "{}",
        text_of(&mail)
    );

    // At the other library: a member who moved keeps the account. A
    // subscription for another age is refused with the details, before the
    // search, where the birth date can be corrected.
    driver.goto(app.url("/frontoffice/GRO01/register")).await.unwrap();
    browser.expect_heading("Klant inschrijven").await;
    type_into(driver, "card_number", "30000012345678").await;
    type_into(driver, "name", "Sanne de Vries").await;
    type_into(driver, "birth_date", "1980-03-03").await;
    type_into(driver, "email", "sanne.nieuw@example.nl").await;
    click(driver, "input[name=account_choice][value=existing]").await;
    click(driver, "#subscription_type option[value=JEUGD]").await;
    click(driver, "form button.primary").await;
    expect_text(driver, "#error-summary", "past niet bij de leeftijd", false).await;
    browser.expect_heading("Klant inschrijven").await;
    assert_eq!(focused(driver).await, "error-summary");
    let leads_to = driver
        .find(By::Css("#error-summary a"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap();
    assert_eq!(
        leads_to.as_deref(),
        Some("#birth_date"),
        "the summary leads to the field"
    );
    // Either the birth date or the subscription may be what is wrong: both
    // are marked, and the list names the problem once.
    for id in ["birth_date", "subscription_type"] {
        let field = driver.find(By::Id(id)).await.unwrap();
        assert_eq!(
            field.attr("aria-invalid").await.unwrap().as_deref(),
            Some("true"),
            "{id}"
        );
    }
    let listed = driver.find_all(By::Css("#error-summary li")).await.unwrap();
    assert_eq!(listed.len(), 1);
    // The summary's link, followed with the keyboard, shows the field with
    // its label and its error above it, not scrolled out of sight.
    let link = driver.find(By::Css("#error-summary a")).await.unwrap();
    link.send_keys(Key::Enter).await.unwrap();
    assert_eq!(focused(driver).await, "birth_date");
    let label_top = driver
        .execute(
            "return document.querySelector('label[for=birth_date]').getBoundingClientRect().top;",
            Vec::new(),
        )
        .await
        .unwrap();
    let label_top = label_top.json().as_f64().unwrap();
    assert!(label_top >= 0.0, "the label is {label_top}px above the window");
    // The choice of account is read out with its advice, not only its legend.
    let choice = driver
        .find(By::Css("fieldset[data-account-choice]"))
        .await
        .unwrap();
    let described_by = choice.attr("aria-describedby").await.unwrap().unwrap_or_default();
    let advice = text_at(driver, &format!("#{described_by}")).await;
    assert!(advice.contains("Bestaand inlogaccount gebruiken"), "{advice}");
    type_into(driver, "birth_date", "2015-03-03").await;
    click(driver, "form button.primary").await;
    browser.expect_heading("Bestaand inlogaccount zoeken").await;
    assert_eq!(focused(driver).await, "username", "ready for the username");
    assert!(
        text_at(driver, "#username-hint")
            .await
            .contains("Hoofdlettergevoelig")
    );
    browser.assert_accessible("desk: existing account search").await;
    type_into(driver, "username", "sanne_2015").await;
    click(driver, "button[value=search]").await;
    expect_text(
        driver,
        "#search-error",
        "Er is geen inlogaccount met deze gebruikersnaam",
        false,
    )
    .await;
    assert_eq!(
        focused(driver).await,
        "username",
        "back at the username to correct"
    );
    browser.assert_accessible("desk: search without result").await;
    type_into(driver, "username", "Sanne_2015").await;
    click(driver, "button[value=search]").await;
    expect_text(driver, "dl.facts", "Sanne_2015", false).await;
    assert_eq!(focused(driver).await, "result", "the account found is read next");
    let result = text_at(driver, "dl.facts").await;
    let masked = Email::parse("ouders@example.nl").unwrap().masked();
    assert!(result.contains(&masked), "the address is masked: {result}");
    browser.screenshot("desk-search-result-nl").await;
    click(driver, "button[value=link]").await;
    browser.expect_heading("Opbouw abonnementskosten").await;
    expect_text(
        driver,
        "[role=status]",
        "Inschrijving gekoppeld aan het bestaande inlogaccount",
        false,
    )
    .await;
    assert_eq!(libraries_of(&app, "Sanne_2015").await, vec!["DRE01", "GRO01"]);

    // The registration: reset the recovery address after the guide's question.
    driver
        .find(By::LinkText("Inschrijving bekijken"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.expect_heading("Sanne de Vries").await;
    let facts = text_at(driver, "dl.facts").await;
    assert!(facts.contains("Jeugd"), "the subscription by its name: {facts}");
    browser.assert_accessible("desk: registration").await;

    // The member has a new address: the registration takes it first.
    follow(driver, "E-mailadres wijzigen").await;
    let field = driver.find(By::Id("registration-email")).await.unwrap();
    assert_eq!(
        field.prop("value").await.unwrap().as_deref(),
        Some("sanne.nieuw@example.nl")
    );
    assert_eq!(focused(driver).await, "registration-email");
    browser.assert_accessible("desk: registration address form").await;
    type_into(driver, "registration-email", "sanne.nu@example").await;
    click(driver, "form[action$='/email'] button").await;
    expect_text(driver, "[role=alert]", "Vul een geldig e-mailadres in", false).await;
    let field = driver.find(By::Id("registration-email")).await.unwrap();
    assert_eq!(field.attr("aria-invalid").await.unwrap().as_deref(), Some("true"));
    assert_eq!(
        field.prop("value").await.unwrap().as_deref(),
        Some("sanne.nu@example")
    );
    browser
        .assert_accessible("desk: registration address refused")
        .await;
    type_into(driver, "registration-email", "sanne.nu@example.nl").await;
    click(driver, "form[action$='/email'] button").await;
    expect_text(
        driver,
        "[role=status]",
        "Het e-mailadres van de inschrijving is gewijzigd. Het herstel-e-mailadres",
        false,
    )
    .await;
    expect_text(driver, "dl.facts", "sanne.nu@example.nl", false).await;

    driver
        .find(By::LinkText("Herstel-e-mailadres resetten"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    expect_text(driver, ".question", "sanne.nu@example.nl", false).await;
    assert_eq!(focused(driver).await, "question", "the question is read first");
    browser.assert_accessible("desk: recovery address question").await;
    browser.screenshot("desk-recovery-question-nl").await;
    click(driver, ".question button[value=ja]").await;
    expect_text(
        driver,
        "[role=status]",
        "zodra de klant op de link in de mail klikt",
        false,
    )
    .await;
    let mails = smtp.wait_for_async(4).await;
    assert!(
        mails.iter().any(|m| m.to == ["sanne.nu@example.nl"]),
        "a verification mail to the registration's new address"
    );

    // A password reset is not the desk's to do.
    click(driver, "form[action$='/password-reset'] button").await;
    expect_text(driver, "[role=alert]", "Wachtwoord vergeten?", false).await;
    assert_eq!(
        text_at(
            driver,
            "[role=alert] a[href='https://www.bibliotheek.nl/hulp-bij-inloggen.html']"
        )
        .await,
        "https://www.bibliotheek.nl/hulp-bij-inloggen.html",
        "the help address is a link"
    );
    browser.assert_accessible("desk: password reset refused").await;
    browser.stop().await;
    app.stop().await;
}

/// A member registered with "Nee" by the library system later wants to log
/// in: the member page generates the account, by keyboard alone, and undoes
/// it after "Ja".
// A multi-threaded runtime: the driver's session ends from its own task.
#[tokio::test(flavor = "multi_thread")]
async fn a_member_registered_without_an_account_gets_one_at_the_member_page() {
    let smtp = SmtpServer::start();
    let app = app_with_mail(&smtp).await;
    desk_library(&app, "DRE01", "Biblionet Drenthe").await;
    let staff = staff(&app, &["DRE01"]).await;
    let token = desk_token(&app, "DRE01", ALL_DESK_SCOPES).await;
    let mut request = adult("20000038383838", "anna@example.nl");
    request["login_account"] = serde_json::json!("none");
    let registered = call(&app, &token, "POST", "/api/v1/memberships", Some(&request)).await;
    assert_eq!(registered.status, 201, "{:?}", registered.body);
    let browser = Browser::start("nl-NL", 1280, 1000, 1.0).await;
    let driver = browser.driver();

    driver.goto(app.url("/frontoffice")).await.unwrap();
    log_in(&browser, staff).await;
    browser.expect_heading("Klantenadministratie").await;
    driver
        .goto(app.url("/frontoffice/DRE01/members/20000038383838"))
        .await
        .unwrap();
    browser.expect_heading("Anna de Boer").await;
    expect_text(driver, "#new-account-hint", "anna@example.nl", false).await;
    browser
        .assert_accessible("desk: registration without an account")
        .await;
    browser.screenshot("desk-member-without-account-nl").await;
    let generate = driver
        .find(By::Css("form[action$='/new-login-account'] button"))
        .await
        .unwrap();
    generate.send_keys(Key::Enter).await.unwrap();
    expect_text(
        driver,
        "[role=status]",
        "Genereren van inlogaccount gelukt",
        false,
    )
    .await;
    expect_text(driver, "#account-heading + dl.facts", "20000038383838", false).await;
    let focus_on_status: bool = driver
        .execute(
            "return document.activeElement.getAttribute('role') === 'status';",
            Vec::new(),
        )
        .await
        .unwrap()
        .convert()
        .unwrap();
    assert!(focus_on_status, "the keyboard's focus is on what happened");
    browser.assert_accessible("desk: account generated").await;
    // The page after the action is a GET: reloading it sends nothing again
    // and no longer tells what was done.
    driver.refresh().await.unwrap();
    browser.expect_heading("Anna de Boer").await;
    expect_text(driver, "#account-heading + dl.facts", "20000038383838", false).await;
    let told_again = driver
        .find_all(By::Css("[role=status], [role=alert]"))
        .await
        .unwrap();
    assert!(told_again.is_empty(), "told once, and not sent again");
    let mail = &smtp.wait_for_async(1).await[0];
    assert_eq!(mail.to, vec!["anna@example.nl".to_owned()]);
    assert!(text_of(mail).contains("Bevestigen"));

    // Generated for the wrong registration after all: undone after "Ja".
    let unlink = driver
        .find(By::LinkText("Inlogaccount loskoppelen"))
        .await
        .unwrap();
    unlink.send_keys(Key::Enter).await.unwrap();
    expect_text(driver, ".question", "20000038383838", false).await;
    browser.assert_accessible("desk: unlink question").await;
    let yes = driver.find(By::Css(".question button[value=ja]")).await.unwrap();
    yes.send_keys(Key::Enter).await.unwrap();
    expect_text(driver, "[role=status]", "De inschrijving is losgekoppeld", false).await;
    browser.expect_heading("Anna de Boer").await;
    assert!(driver.find(By::Id("new-account-heading")).await.is_ok());
    browser.assert_accessible("desk: unlinked").await;
    browser.stop().await;
    app.stop().await;
}

// A multi-threaded runtime: the driver's session ends from its own task.
#[tokio::test(flavor = "multi_thread")]
async fn the_console_works_in_english_on_a_phone_and_keeps_others_out() {
    let app = spawn_app().await;
    desk_library(&app, "DRE01", "Biblionet Drenthe").await;
    desk_library(&app, "GRO01", "Biblionet Groningen").await;
    let staff = staff(&app, &["DRE01"]).await;
    // 320 CSS px: the width WCAG 1.4.10 asks pages to reflow in.
    let browser = Browser::start("en-GB", 320, 740, 1.0).await;
    let driver = browser.driver();

    driver.goto(app.url("/frontoffice/DRE01/register")).await.unwrap();
    browser.expect_heading("Log in").await;
    let field = driver.find(By::Id("username")).await.unwrap();
    field.send_keys(staff).await.unwrap();
    let password = driver.find(By::Id("password")).await.unwrap();
    password.send_keys(PASSWORD).await.unwrap();
    password.send_keys(Key::Enter).await.unwrap();
    browser.expect_heading("Member administration").await;
    driver.goto(app.url("/frontoffice/DRE01/register")).await.unwrap();
    browser.expect_heading("Register a member").await;
    browser
        .assert_accessible("desk: register form (en, 320 px)")
        .await;
    assert_eq!(sideways_overflow(driver).await, 0, "register form (en)");
    browser.screenshot("desk-register-en-320").await;
    // Switching the language halfway keeps what was typed and chosen.
    type_into(driver, "card_number", "20000012345678").await;
    type_into(driver, "name", "Anna de Boer").await;
    click(driver, "input[name=use_account][value=nee]").await;
    click(driver, "a[hreflang=nl]").await;
    browser.expect_heading("Klant inschrijven").await;
    let value = |id: &'static str| async move {
        driver
            .find(By::Id(id))
            .await
            .unwrap()
            .value()
            .await
            .unwrap()
            .unwrap_or_default()
    };
    assert_eq!(
        (value("card_number").await, value("name").await),
        ("20000012345678".to_owned(), "Anna de Boer".to_owned())
    );
    let no = driver
        .find(By::Css("input[name=use_account][value=nee]"))
        .await
        .unwrap();
    assert!(no.is_selected().await.unwrap(), "the choice Nee is kept");
    assert!(
        !driver
            .find(By::Css("input[name=account_choice][value=existing]"))
            .await
            .unwrap()
            .is_displayed()
            .await
            .unwrap(),
        "and the questions after it stay hidden"
    );
    // Only once: shown again, the form is empty.
    driver.refresh().await.unwrap();
    browser.expect_heading("Klant inschrijven").await;
    assert_eq!(value("card_number").await, "");
    // On the search step the details ride along in hidden fields: switched
    // there, they fill the first step's fields again, "Bestaand" chosen.
    type_into(driver, "card_number", "20000012345679").await;
    type_into(driver, "name", "Bram de Boer").await;
    type_into(driver, "birth_date", "1990-04-12").await;
    type_into(driver, "email", "bram@example.nl").await;
    click(driver, "input[name=account_choice][value=existing]").await;
    click(driver, "#subscription_type option[value=VOLWASSEN]").await;
    click(driver, "form button.primary").await;
    browser.expect_heading("Bestaand inlogaccount zoeken").await;
    click(driver, "a[hreflang=en]").await;
    browser.expect_heading("Register a member").await;
    assert_eq!(
        [
            value("card_number").await,
            value("name").await,
            value("birth_date").await,
            value("subscription_type").await
        ],
        ["20000012345679", "Bram de Boer", "1990-04-12", "VOLWASSEN"]
    );
    let existing = driver
        .find(By::Css("input[name=account_choice][value=existing]"))
        .await
        .unwrap();
    assert!(existing.is_selected().await.unwrap(), "Bestaand is chosen again");
    // Dutch headings are single long words.
    driver
        .goto(app.url("/language/nl?return=/frontoffice/DRE01"))
        .await
        .unwrap();
    browser.expect_heading("Klantenadministratie").await;
    assert_eq!(sideways_overflow(driver).await, 0, "desk home (nl)");
    browser.screenshot("desk-home-nl-320").await;

    // Another library's desk is not hers.
    driver.goto(app.url("/frontoffice/GRO01")).await.unwrap();
    browser.expect_heading("Geen toegang tot de balie").await;
    browser.assert_accessible("desk: no access").await;
    browser.stop().await;
    app.stop().await;
}

/// The `id` of the element that has the keyboard's focus.
async fn focused(driver: &WebDriver) -> String {
    driver
        .execute("return document.activeElement.id;", Vec::new())
        .await
        .unwrap()
        .convert()
        .unwrap()
}
