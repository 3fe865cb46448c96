//! The desk API as a library system uses it: a client bound to one library
//! takes a `client_credentials` token and registers members, finds and links
//! accounts, resets the recovery address and resends the confirmation mail.
//! Mail goes through a real SMTP server.

use serde_json::{Value, json};
use si_domain::{
    AccountStatus, AgeRange, DisplayName, Email, LibraryCode, Money, SubscriptionCode, SubscriptionTerms,
    TariffCode, Username,
};
use si_store::{Repositories, audit::AuditFilter, catalogue::NewSubscriptionType};
use single_identity::oidc::clients::{
    ClientId, ClientKind, ClientRegistration, GrantType, IdTokenAlgorithm, Scope, register as register_client,
};

use crate::{
    interop::{
        LoginForm, PASSWORD, browser, hidden_field, library, log_in_through, member, shown_after_logout,
    },
    selfservice::{app_with_mail, confirm_new_address, fetch, link_in, text_of, to_english},
    smtp::SmtpServer,
    support::{ATTEMPTS_TO_MEET_AN_ENDED_CONNECTION, TestApp, spawn_app, spawn_quiet_app},
};

pub const ALL_DESK_SCOPES: &str = "desk:register desk:search desk:link desk:recovery desk:audit";

/// Library `code` with branch 5280, a youth (0–17, free) and an adult
/// (18+, € 25,00 a year) subscription.
pub async fn desk_library(app: &TestApp, code: &str, name: &str) {
    let (library, _, _) = library(&app.store, code, name).await;
    let adult = SubscriptionCode::parse("VOLWASSEN").unwrap();
    if app
        .store
        .catalogue()
        .subscription_type(&library.code, &adult)
        .await
        .is_err()
    {
        let terms = SubscriptionTerms::new(
            Money::from_cents(2500).unwrap(),
            12,
            AgeRange::new(18, None).unwrap(),
        )
        .unwrap();
        let new = NewSubscriptionType {
            code: adult,
            name: DisplayName::parse("Volwassenen").unwrap(),
            tariff_code: TariffCode::parse("V01").unwrap(),
            terms,
        };
        app.store
            .catalogue()
            .create_subscription_type(&library.code, &new)
            .await
            .unwrap();
    }
}

/// A library system of `library` allowed `scopes`: its client id and secret.
pub async fn library_system(app: &TestApp, library: &str, scopes: &str) -> (String, String) {
    let (client, secret) = register_client(
        &app.store,
        ClientRegistration {
            id: Some(ClientId::parse(&format!("ils-{:08x}", rand::random::<u32>())).unwrap()),
            name: DisplayName::parse("Wise").unwrap(),
            kind: ClientKind::Confidential,
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            backchannel_logout_uri: None,
            grant_types: vec![GrantType::ClientCredentials],
            scopes: scopes
                .split_whitespace()
                .map(|s| Scope::parse(s).unwrap())
                .collect(),
            library: Some(LibraryCode::parse(library).unwrap()),
            id_token_algorithm: IdTokenAlgorithm::Rs256,
        },
    )
    .await
    .expect("library system registered");
    (client.id().to_string(), secret.unwrap().expose().to_owned())
}

/// The token endpoint's answer to a `client_credentials` request of `client`.
pub async fn client_credentials(app: &TestApp, (id, secret): &(String, String)) -> (u16, Value) {
    let response = app
        .client
        .post(app.url("/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// A library system of `library` allowed `scopes`, and a fresh access token of it.
pub async fn desk_token(app: &TestApp, library: &str, scopes: &str) -> String {
    let client = library_system(app, library, scopes).await;
    let (_, response) = client_credentials(app, &client).await;
    response["access_token"]
        .as_str()
        .expect("an access token")
        .to_owned()
}

/// A registration of an adult at DRE01 branch 5280 with a new account.
pub fn adult(card: &str, email: &str) -> Value {
    json!({
        "branch": "5280",
        "card_number": card,
        "name": "Anna de Boer",
        "birth_date": "1990-04-12",
        "email": email,
        "subscription_type": "VOLWASSEN",
        "discount_cents": 500,
    })
}

/// A registration of Sanne, born 2015-03-03 as `member` made her, with her
/// existing account `username`.
fn with_existing_account(card: &str, email: &str, username: &str) -> Value {
    let mut request = adult(card, email);
    request["login_account"] = json!("existing");
    request["username"] = json!(username);
    request["birth_date"] = json!("2015-03-03");
    request["subscription_type"] = json!("JEUGD");
    request["discount_cents"] = json!(0);
    request
}

pub struct Answer {
    pub status: u16,
    pub content_type: String,
    /// The `WWW-Authenticate` challenge, empty when none.
    pub challenge: String,
    /// `Retry-After`, empty when none.
    pub retry_after: String,
    pub body: Value,
}

pub async fn call(app: &TestApp, token: &str, method: &str, path: &str, body: Option<&Value>) -> Answer {
    call_with(app, token, method, path, body, &[]).await
}

pub async fn call_with(
    app: &TestApp,
    token: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
    headers: &[(&str, &str)],
) -> Answer {
    let mut request = app
        .client
        .request(method.parse().unwrap(), app.url(path))
        .bearer_auth(token)
        .header("accept-language", "nl");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    let (challenge, retry_after) = (header("www-authenticate"), header("retry-after"));
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Answer {
        status,
        content_type,
        challenge,
        retry_after,
        body,
    }
}

/// The libraries, by code, whose registrations the account `username` has.
pub async fn libraries_of(app: &TestApp, username: &str) -> Vec<String> {
    let account = app
        .store
        .accounts()
        .by_username(&Username::parse(username).unwrap())
        .await
        .unwrap()
        .unwrap();
    app.store
        .memberships()
        .of_account(&account.id)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.library_code)
        .collect()
}

fn field_codes(answer: &Answer) -> Vec<(String, String)> {
    answer.body["errors"]
        .as_array()
        .unwrap_or(&vec![])
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_owned(),
                e["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_new_member_gets_a_cost_overview_a_pending_account_and_a_confirmation_mail() {
    let smtp = SmtpServer::start();
    let app = app_with_mail(&smtp).await;
    desk_library(&app, "DRE01", "Biblionet Drenthe").await;
    let token = desk_token(&app, "DRE01", ALL_DESK_SCOPES).await;

    let answer = call(
        &app,
        &token,
        "POST",
        "/api/v1/memberships",
        Some(&adult("20000012345678", "anna@example.nl")),
    )
    .await;

    assert_eq!(answer.status, 201, "{:?}", answer.body);
    let body = &answer.body;
    assert_eq!(body["message"], "Genereren van inlogaccount gelukt");
    assert_eq!(body["can_log_in"], true);
    let cost = &body["cost_overview"];
    assert_eq!(cost["branch_code"], "5280");
    assert_eq!(cost["tariff_code"], "V01");
    assert_eq!(cost["subscription_fee_cents"], 2500);
    assert_eq!(cost["discount_cents"], 500);
    assert_eq!(cost["balance_cents"], 2000);
    let today = time::OffsetDateTime::now_utc().date();
    assert_eq!(
        cost["age"],
        si_domain::age_on(time::macros::date!(1990 - 04 - 12), today)
    );
    let account = &body["login_account"];
    assert_eq!(
        account["username"], "20000012345678",
        "the card number is the username"
    );
    assert_eq!(account["email"], "anna@example.nl");
    assert_eq!(account["status"], "pending");
    assert_eq!(account["username_generated"], false);

    let stored = app
        .store
        .accounts()
        .by_username(&Username::parse("20000012345678").unwrap())
        .await
        .unwrap()
        .expect("the account exists");
    assert_eq!(stored.status, AccountStatus::Pending);
    assert_eq!(stored.password_hash, None, "no temporary password exists");
    let memberships = app.store.memberships().of_account(&stored.id).await.unwrap();
    assert_eq!(memberships.len(), 1);
    assert_eq!(
        memberships[0].valid_until.to_string(),
        cost["valid_until"].as_str().unwrap()
    );

    let mail = &smtp.wait_for_async(1).await[0];
    assert_eq!(mail.to, vec!["anna@example.nl".to_owned()]);
    let text = text_of(mail);
    assert!(text.contains("Beste Anna de Boer"), "{text}");
    assert!(
        text.contains("Je inlogaccount is bijna klaar voor gebruik"),
        "{text}"
    );
    let confirm = link_in(&text, &app.url("/confirm?token="));
    let page = app
        .client
        .get(confirm)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Stel je wachtwoord in"), "{page}");
}

#[tokio::test]
async fn a_taken_card_number_gives_a_generated_username_and_says_so() {
    let app = spawn_app().await;
    desk_library(&app, "DRE01", "Biblionet Drenthe").await;
    member(&app.store, "20000099990000").await;
    let token = desk_token(&app, "DRE01", ALL_DESK_SCOPES).await;

    let answer = call(
        &app,
        &token,
        "POST",
        "/api/v1/memberships",
        Some(&adult("20000099990000", "b@example.nl")),
    )
    .await;

    assert_eq!(answer.status, 201, "{:?}", answer.body);
    assert_eq!(answer.body["login_account"]["username"], "20000099990000-2");
    assert_eq!(answer.body["login_account"]["username_generated"], true);
    let notes = answer.body["notes"].to_string();
    assert!(
        notes.contains("20000099990000-2") && notes.contains("al in gebruik"),
        "{notes}"
    );
}

#[tokio::test]
async fn without_a_login_account_the_answer_says_the_member_cannot_log_in() {
    let app = spawn_app().await;
    desk_library(&app, "DRE01", "Biblionet Drenthe").await;
    let token = desk_token(&app, "DRE01", ALL_DESK_SCOPES).await;
    let mut request = adult("20000011112222", "");
    request["login_account"] = json!("none");

    let answer = call(&app, &token, "POST", "/api/v1/memberships", Some(&request)).await;

    assert_eq!(answer.status, 201, "{:?}", answer.body);
    assert_eq!(answer.body["can_log_in"], false);
    assert_eq!(answer.body["login_account"], Value::Null);
    assert!(
        answer.body["message"]
            .as_str()
            .unwrap()
            .contains("kan niet inloggen")
    );
    let drenthe = drenthe(&app).await;
    let stored = app
        .store
        .memberships()
        .by_card(&drenthe, &si_domain::CardNumber::parse("20000011112222").unwrap())
        .await
        .unwrap()
        .expect("the membership is stored");
    assert_eq!(stored.account, None);
    assert_eq!(stored.email, None);
}

#[tokio::test]
async fn a_member_who_moved_is_linked_by_the_exact_username_and_the_owner_is_told() {
    let smtp = SmtpServer::start();
    let app = app_with_mail(&smtp).await;
    member(&app.store, "Sanne_2015").await;
    desk_library(&app, "GRO01", "Biblionet Groningen").await;
    let token = desk_token(&app, "GRO01", ALL_DESK_SCOPES).await;

    let search = call(&app, &token, "GET", "/api/v1/accounts?username=sanne_2015", None).await;
    assert_eq!(search.status, 404, "the search is case-sensitive");
    let search = call(&app, &token, "GET", "/api/v1/accounts?username=Sanne_2015", None).await;
    assert_eq!(search.status, 200);
    assert_eq!(
        search.body,
        json!({"username": "Sanne_2015", "email_masked": Email::parse("ouders@example.nl").unwrap().masked(), "status": "active"}),
        "only the username and the masked address"
    );

    let mut request = with_existing_account("30000012345678", "ouders@example.nl", "sanne_2015");
    let wrong_case = call(&app, &token, "POST", "/api/v1/memberships", Some(&request)).await;
    assert_eq!(wrong_case.status, 422);
    assert_eq!(
        field_codes(&wrong_case),
        vec![("username".into(), "account_not_found".into())]
    );

    request["username"] = json!("Sanne_2015");
    let linked = call(&app, &token, "POST", "/api/v1/memberships", Some(&request)).await;
    assert_eq!(linked.status, 201, "{:?}", linked.body);
    assert_eq!(
        linked.body["message"],
        "Inschrijving gekoppeld aan het bestaande inlogaccount"
    );
    assert_eq!(linked.body["login_account"]["origin"], "existing");
    assert_eq!(
        linked.body["login_account"]["email"],
        Email::parse("ouders@example.nl").unwrap().masked()
    );

    assert_eq!(libraries_of(&app, "Sanne_2015").await, vec!["DRE01", "GRO01"]);
    let notice = &smtp.wait_for_async(1).await[0];
    assert_eq!(notice.to, vec!["ouders@example.nl".to_owned()]);
    assert!(
        text_of(notice).contains("Biblionet Groningen"),
        "{}",
        text_of(notice)
    );
}

/// Registers `card` at DRE01 with "Nee" ("none") and the address `email`
/// (empty for none) through the API.
async fn registered_without_account(app: &TestApp, token: &str, card: &str, email: &str) {
    let mut request = adult(card, email);
    request["login_account"] = json!("none");
    let registered = call(app, token, "POST", "/api/v1/memberships", Some(&request)).await;
    assert_eq!(registered.status, 201, "{:?}", registered.body);
}

/// A member registered with "Nee" who later wants to log in gets a new
/// account: named after the card number, waiting for the confirmation mail
/// with which the member sets a password. A repeat creates nothing more.
#[tokio::test]
async fn a_registration_made_without_an_account_gets_a_new_one_later_once() {
    let smtp = SmtpServer::start();
    let app = app_with_mail(&smtp).await;
    desk_library(&app, "DRE01", "Biblionet Drenthe").await;
    let token = desk_token(&app, "DRE01", ALL_DESK_SCOPES).await;
    registered_without_account(&app, &token, "20000031313131", "anna@example.nl").await;
    let path = "/api/v1/memberships/20000031313131/new-login-account";

    let generated = call(&app, &token, "POST", path, Some(&json!({}))).await;

    assert_eq!(generated.status, 201, "{:?}", generated.body);
    assert_eq!(generated.body["message"], "Genereren van inlogaccount gelukt");
    let account = &generated.body["login_account"];
    assert_eq!(account["origin"], "generated");
    assert_eq!(account["username"], "20000031313131");
    assert_eq!(account["email"], "anna@example.nl");
    assert_eq!(account["status"], "pending");
    assert_eq!(account["username_generated"], false);
    assert_eq!(
        generated.body["membership"]["login_account"]["username"],
        "20000031313131"
    );
    assert_eq!(libraries_of(&app, "20000031313131").await, vec!["DRE01"]);
    let mail = &smtp.wait_for_async(1).await[0];
    assert_eq!(mail.to, vec!["anna@example.nl".to_owned()]);
    let text = text_of(mail);
    assert!(
        text.contains("Je inlogaccount is bijna klaar voor gebruik"),
        "{text}"
    );
    let confirm = link_in(&text, &app.url("/confirm?token="));
    let page = fetch(&app.client, &confirm).await;
    assert!(page.contains("Stel je wachtwoord in"), "{page}");

    let again = call(&app, &token, "POST", path, Some(&json!({}))).await;
    assert_eq!(again.status, 409, "{:?}", again.body);
    assert_eq!(again.body["code"], "already_linked");
    let anna = Email::parse("anna@example.nl").unwrap();
    let accounts = app.store.accounts().by_email(&anna).await.unwrap();
    assert_eq!(accounts.len(), 1, "one account: {accounts:?}");
    let audit = call(&app, &token, "GET", "/api/v1/audit?limit=10", None).await;
    let generations = audit
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "generate_account")
        .count();
    assert_eq!(generations, 1);
}

/// What a new account for a registration is refused for, each with its own
/// answer, and the English mail and the numbered username it can get.
#[tokio::test]
async fn a_new_account_for_a_registration_needs_its_address_and_says_what_it_got() {
    let smtp = SmtpServer::start();
    let app = app_with_mail(&smtp).await;
    desk_library(&app, "DRE01", "Biblionet Drenthe").await;
    member(&app.store, "20000032323232").await;
    let token = desk_token(&app, "DRE01", ALL_DESK_SCOPES).await;
    registered_without_account(&app, &token, "20000033333333", "").await;
    registered_without_account(&app, &token, "20000032323232", "kees@example.nl").await;
    let generate = |card: &str, body: Value, token: &str| {
        let path = format!("/api/v1/memberships/{card}/new-login-account");
        let (app, token) = (&app, token.to_owned());
        async move { call(app, &token, "POST", &path, Some(&body)).await }
    };

    let no_address = generate("20000033333333", json!({}), &token).await;
    assert_eq!(no_address.status, 409, "{:?}", no_address.body);
    assert_eq!(no_address.body["code"], "no_email_for_account");
    assert!(
        no_address.body["title"]
            .as_str()
            .unwrap()
            .contains("Vul eerst het e-mailadres van de inschrijving in"),
        "{:?}",
        no_address.body
    );
    let unknown = generate("20000034343434", json!({}), &token).await;
    assert_eq!(unknown.status, 404, "{:?}", unknown.body);
    let german = generate("20000032323232", json!({"language": "de"}), &token).await;
    assert_eq!(german.status, 422, "{:?}", german.body);
    assert_eq!(
        field_codes(&german),
        vec![("language".into(), "invalid_language".into())]
    );
    for not_as_documented in [
        json!({"langauge": "en"}),
        json!({"language": "EN"}),
        json!({"language": " en"}),
        json!({"language": ""}),
        json!(["en"]),
        json!([]),
    ] {
        let refused = generate("20000032323232", not_as_documented.clone(), &token).await;
        assert_eq!(refused.status, 422, "{not_as_documented}: {:?}", refused.body);
    }
    // A field given twice is refused, not read as its last value.
    let twice = app
        .client
        .post(app.url("/api/v1/memberships/20000032323232/new-login-account"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(r#"{"language": "nl", "language": "en"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(twice.status(), 422);
    let problem: Value = twice.json().await.unwrap();
    assert_eq!(problem["code"], "invalid_body");
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("duplicate field `language`"), "{detail}");
    let search_only = desk_token(&app, "DRE01", "desk:search desk:link").await;
    let not_allowed = generate("20000032323232", json!({}), &search_only).await;
    assert_eq!(not_allowed.status, 403, "{:?}", not_allowed.body);
    let drenthe = drenthe(&app).await;
    for card in ["20000033333333", "20000032323232"] {
        let card = si_domain::CardNumber::parse(card).unwrap();
        let membership = app.store.memberships().by_card(&drenthe, &card).await.unwrap();
        assert_eq!(membership.unwrap().account, None, "nothing generated yet");
    }

    // The card number is someone's username already.
    let generated = generate("20000032323232", json!({"language": "en"}), &token).await;
    assert_eq!(generated.status, 201, "{:?}", generated.body);
    let account = &generated.body["login_account"];
    assert_eq!(account["username"], "20000032323232-2");
    assert_eq!(account["username_generated"], true);
    let notes = generated.body["notes"].to_string();
    assert!(
        notes.contains("De gebruikersnaam is daarom 20000032323232-2"),
        "{notes}"
    );
    let mail = &smtp.wait_for_async(1).await[0];
    assert_eq!(mail.to, vec!["kees@example.nl".to_owned()]);
    let text = text_of(mail);
    assert!(
        text.contains("Your login account is almost ready to use"),
        "{text}"
    );
}

/// Two desks (or a double click) generate an account for the same
/// registration at once: one account, the others told it has one.
#[tokio::test(flavor = "multi_thread")]
async fn a_new_account_asked_for_at_once_from_six_connections_is_made_once() {
    let app = spawn_app().await;
    desk_library(&app, "DRE01", "Biblionet Drenthe").await;
    let token = desk_token(&app, "DRE01", ALL_DESK_SCOPES).await;
    registered_without_account(&app, &token, "20000035353535", "duo@example.nl").await;
    let path = "/api/v1/memberships/20000035353535/new-login-account";
    let empty = json!({});

    let answers =
        futures_util::future::join_all((0..6).map(|_| call(&app, &token, "POST", path, Some(&empty)))).await;

    let mut statuses: Vec<u16> = answers.iter().map(|answer| answer.status).collect();
    statuses.sort_unstable();
    assert_eq!(
        statuses,
        [201, 409, 409, 409, 409, 409],
        "{:?}",
        answers.iter().map(|a| &a.body).collect::<Vec<_>>()
    );
    let duo = Email::parse("duo@example.nl").unwrap();
    let accounts = app.store.accounts().by_email(&duo).await.unwrap();
    assert_eq!(accounts.len(), 1, "{accounts:?}");
    assert_eq!(
        libraries_of(&app, accounts[0].username.as_str()).await,
        vec!["DRE01"]
    );
}

/// Two desks of one library link the same account at once, each with a
/// card of its own: one registration is made, the other is told the member
/// is registered here already (the guide's duplicate).
#[tokio::test]
async fn one_account_linked_at_once_by_two_desks_of_a_library_is_registered_there_once() {
    let app = spawn_app().await;
    member(&app.store, "sanne").await;
    desk_library(&app, "GRO01", "Biblionet Groningen").await;
    let token = desk_token(&app, "GRO01", ALL_DESK_SCOPES).await;
    let cards = [
        "30000011111111",
        "30000022222222",
        "30000033333333",
        "30000044444444",
    ];
    let answers = futures_util::future::join_all(cards.map(|card| {
        let request = with_existing_account(card, "ouders@example.nl", "sanne");
        let (app, token) = (&app, &token);
        async move { call(app, token, "POST", "/api/v1/memberships", Some(&request)).await }
    }))
    .await;
    let mut statuses: Vec<u16> = answers.iter().map(|answer| answer.status).collect();
    statuses.sort_unstable();
    assert_eq!(
        statuses,
        [201, 422, 422, 422],
        "{:?}",
        answers.iter().map(|a| &a.body).collect::<Vec<_>>()
    );
    let duplicate = |answer: &&Answer| {
        let codes = field_codes(answer);
        codes.iter().any(|(_, code)| code == "account_registered_here")
    };
    assert_eq!(answers.iter().filter(duplicate).count(), 3);
    assert_eq!(libraries_of(&app, "sanne").await, vec!["DRE01", "GRO01"]);
}

/// A registration linked to the wrong account (a twin's, say) is taken off
/// it: the account keeps its other registrations, its owner is told, and
/// the registration can then get the right account.
#[tokio::test]
async fn a_link_made_by_mistake_is_undone_and_the_owner_told() {
    let smtp = SmtpServer::start();
    let app = app_with_mail(&smtp).await;
    member(&app.store, "Sanne_2015").await;
    desk_library(&app, "GRO01", "Biblionet Groningen").await;
    let token = desk_token(&app, "GRO01", ALL_DESK_SCOPES).await;
    let request = with_existing_account("30000043434343", "tweeling@example.nl", "Sanne_2015");
    let linked = call(&app, &token, "POST", "/api/v1/memberships", Some(&request)).await;
    assert_eq!(linked.status, 201, "{:?}", linked.body);
    smtp.wait_for_async(1).await;
    let path = "/api/v1/memberships/30000043434343/login-account";

    let register_only = desk_token(&app, "GRO01", "desk:register desk:recovery").await;
    let not_allowed = call(&app, &register_only, "DELETE", path, None).await;
    assert_eq!(not_allowed.status, 403, "{:?}", not_allowed.body);
    let misspelled = call(&app, &token, "DELETE", &format!("{path}?user=Tim_2015"), None).await;
    assert_eq!(misspelled.status, 400, "{:?}", misspelled.body);
    let other = call(&app, &token, "DELETE", &format!("{path}?username=Tim_2015"), None).await;
    assert_eq!(other.status, 409, "{:?}", other.body);
    assert_eq!(other.body["code"], "other_account_linked");
    assert_eq!(libraries_of(&app, "Sanne_2015").await, vec!["DRE01", "GRO01"]);
    let unlinked = call(
        &app,
        &token,
        "DELETE",
        &format!("{path}?username=Sanne_2015"),
        None,
    )
    .await;

    assert_eq!(unlinked.status, 200, "{:?}", unlinked.body);
    assert_eq!(unlinked.body["login_account"], Value::Null);
    assert_eq!(libraries_of(&app, "Sanne_2015").await, vec!["DRE01"]);
    let notice = &smtp.wait_for_async(2).await[1];
    assert_eq!(notice.to, vec!["ouders@example.nl".to_owned()]);
    let text = text_of(notice);
    assert!(
        text.contains("Biblionet Groningen heeft een inschrijving losgekoppeld van je account Sanne_2015."),
        "{text}"
    );
    let again = call(&app, &token, "DELETE", path, None).await;
    assert_eq!(again.status, 409, "{:?}", again.body);
    assert_eq!(again.body["code"], "no_login_account");
    let audit = call(&app, &token, "GET", "/api/v1/audit?limit=10", None).await;
    assert_eq!(audit.body[0]["action"], "unlink_account");
    assert_eq!(audit.body[0]["detail"]["username"], "Sanne_2015");

    let generated = call(
        &app,
        &token,
        "POST",
        "/api/v1/memberships/30000043434343/new-login-account",
        Some(&json!({})),
    )
    .await;
    assert_eq!(generated.status, 201, "{:?}", generated.body);
    assert_eq!(generated.body["login_account"]["email"], "tweeling@example.nl");

    // Generated by mistake too: the new account, waiting for its
    // confirmation and now without a registration, cannot be confirmed.
    let confirmation = &smtp.wait_for_async(3).await[2];
    let confirm = link_in(&text_of(confirmation), &app.url("/confirm?token="));
    let unlinked = call(&app, &token, "DELETE", path, None).await;
    assert_eq!(unlinked.status, 200, "{:?}", unlinked.body);
    let dead = app.client.get(&confirm).send().await.unwrap();
    assert_eq!(dead.status(), 410);
    // It belongs to no one now: no library can take it in.
    let relink = json!({"username": "30000043434343"});
    let refused = call(&app, &token, "POST", path, Some(&relink)).await;
    assert_eq!(refused.status, 422, "{:?}", refused.body);
    assert_eq!(
        field_codes(&refused),
        vec![("username".into(), "account_without_registration".into())]
    );
}

#[tokio::test]
async fn a_repeated_request_with_the_same_idempotency_key_registers_once() {
    let app = spawn_app().await;
    desk_library(&app, "DRE01", "Biblionet Drenthe").await;
    let token = desk_token(&app, "DRE01", ALL_DESK_SCOPES).await;
    let request = adult("20000055556666", "c@example.nl");
    let key = [("idempotency-key", "wise-7f3a")];

    let first = call_with(&app, &token, "POST", "/api/v1/memberships", Some(&request), &key).await;
    let again = call_with(&app, &token, "POST", "/api/v1/memberships", Some(&request), &key).await;

    assert_eq!(first.status, 201);
    assert_eq!(again.status, 201);
    assert_eq!(first.body, again.body, "the repeat gets the first answer");
    let drenthe = drenthe(&app).await;
    assert_eq!(
        app.store.memberships().of_library(&drenthe).await.unwrap().len(),
        1
    );

    let mut other = request.clone();
    other["card_number"] = json!("20000077778888");
    let reused = call_with(&app, &token, "POST", "/api/v1/memberships", Some(&other), &key).await;
    assert_eq!(reused.status, 422);
    assert_eq!(reused.body["code"], "idempotency_key_reused");

    for unusable in ["wise 7f3a", &"k".repeat(256)] {
        let key = [("idempotency-key", unusable)];
        let refused = call_with(&app, &token, "POST", "/api/v1/memberships", Some(&other), &key).await;
        assert_eq!(refused.status, 400, "{unusable}");
        assert_eq!(
            refused.body["detail"],
            "Idempotency-Key must be 1 to 255 visible ASCII characters, no spaces"
        );
    }

    let without_key = call(&app, &token, "POST", "/api/v1/memberships", Some(&request)).await;
    assert_eq!(without_key.status, 409);
    assert_eq!(without_key.body["code"], "card_number_registered");
    assert_eq!(
        app.store.memberships().of_library(&drenthe).await.unwrap().len(),
        1
    );
}

/// A library system deleted (its secret leaked, say) registers no one
/// more with the tokens it took, not even on the node that read its
/// registration a moment ago: the desk API does not wait for the client
/// cache to expire.
#[tokio::test]
async fn a_deleted_library_system_is_refused_at_once() {
    let app = spawn_app().await;
    desk_library(&app, "DRE01", "Biblionet Drenthe").await;
    let system = library_system(&app, "DRE01", ALL_DESK_SCOPES).await;
    let (_, granted) = client_credentials(&app, &system).await;
    let token = granted["access_token"].as_str().unwrap().to_owned();
    let before = call(
        &app,
        &token,
        "POST",
        "/api/v1/memberships",
        Some(&adult("20000011112222", "a@example.nl")),
    )
    .await;
    assert_eq!(before.status, 201, "{:?}", before.body);

    let txn = app.store.begin().await.unwrap();
    txn.clients().delete(&system.0).await.unwrap();
    txn.commit().await.unwrap();

    let after = call(
        &app,
        &token,
        "POST",
        "/api/v1/memberships",
        Some(&adult("20000033334444", "b@example.nl")),
    )
    .await;
    assert_eq!(after.status, 401, "{:?}", after.body);
    assert_eq!(after.body["code"], "invalid_token");
    assert_eq!(
        app.store
            .memberships()
            .of_library(&drenthe(&app).await)
            .await
            .unwrap()
            .len(),
        1,
        "nothing registered after the deletion"
    );
    let (status, _) = client_credentials(&app, &system).await;
    assert_eq!(
        status, 401,
        "and this node, having seen it gone, gives no new token"
    );
}

/// A PostgreSQL failover ends every connection: the library system hears
/// "try again" (503), not "our fault" (500). (SQLite's busy and closed
/// connections are classified alike: the store's suite.)
#[tokio::test]
async fn a_registration_while_the_database_fails_over_gets_503_not_500() {
    let app = spawn_quiet_app().await;
    desk_library(&app, "DRE01", "Biblionet Drenthe").await;
    let token = desk_token(&app, "DRE01", ALL_DESK_SCOPES).await;
    let first = call(
        &app,
        &token,
        "POST",
        "/api/v1/memberships",
        Some(&adult("20000055556666", "c@example.nl")),
    )
    .await;
    assert_eq!(first.status, 201, "{}", first.body);
    // The mail worker, woken by the first registration's mail, or the look
    // for deleted clients may take the ended connections first: end them
    // again until a registration meets one. Never a 500.
    let mut heard = None;
    for attempt in 0..ATTEMPTS_TO_MEET_AN_ENDED_CONNECTION {
        if !app.end_database_connections().await {
            return;
        }
        let request = adult(&format!("200000777788{attempt:02}"), "d@example.nl");
        let during = call(&app, &token, "POST", "/api/v1/memberships", Some(&request)).await;
        match during.status {
            503 => {
                heard = Some((request, during));
                break;
            }
            201 => continue,
            other => panic!("{other}: {}", during.body),
        }
    }
    let (request, during) = heard.expect("a registration met an ended connection");
    assert_eq!(during.body["code"], "unavailable");
    assert_eq!(
        during.body["title"],
        "De dienst is even niet bereikbaar. Probeer het over een minuut opnieuw."
    );
    // The pool replaces the ended connections: sent again, it registers.
    for _ in 0..5 {
        let retry = call(&app, &token, "POST", "/api/v1/memberships", Some(&request)).await;
        if retry.status == 201 {
            return;
        }
        assert_eq!(retry.status, 503, "{}", retry.body);
    }
    panic!("a retry never registered");
}

#[tokio::test]
async fn an_unknown_api_path_or_method_gets_a_problem_not_a_page() {
    let app = spawn_app().await;
    desk_library(&app, "DRE01", "Biblionet Drenthe").await;
    let token = desk_token(&app, "DRE01", ALL_DESK_SCOPES).await;
    for (method, path, status, code) in [
        ("GET", "/api/v1/nothing-here", 404, "not_found"),
        ("DELETE", "/api/v1/memberships", 405, "method_not_allowed"),
    ] {
        let answer = call(&app, &token, method, path, None).await;
        assert_eq!(answer.status, status, "{method} {path}");
        assert_eq!(answer.content_type, "application/problem+json");
        assert_eq!(answer.body["code"], code);
    }
    app.stop().await;
}

#[tokio::test]
async fn bad_input_gets_a_problem_with_a_message_per_field_and_writes_nothing() {
    let app = spawn_app().await;
    desk_library(&app, "DRE01", "Biblionet Drenthe").await;
    let token = desk_token(&app, "DRE01", ALL_DESK_SCOPES).await;
    let request = json!({
        "branch": "52 80", "card_number": "12", "name": "", "birth_date": "12-04-1990",
        "email": "not-an-address", "subscription_type": "VOLWASSEN", "discount_cents": -5,
    });

    let answer = call(&app, &token, "POST", "/api/v1/memberships", Some(&request)).await;

    assert_eq!(answer.status, 422);
    assert_eq!(answer.content_type, "application/problem+json");
    assert_eq!(answer.body["code"], "invalid_input");
    let fields: Vec<String> = field_codes(&answer).into_iter().map(|(f, _)| f).collect();
    for field in [
        "branch",
        "card_number",
        "name",
        "birth_date",
        "email",
        "discount_cents",
    ] {
        assert!(
            fields.contains(&field.to_owned()),
            "{field} missing in {fields:?}"
        );
    }
    assert!(answer.body["errors"][0]["message"].as_str().unwrap().len() > 10);

    let mut checks = Vec::new();
    let mut child = adult("20000010101010", "kind@example.nl");
    child["birth_date"] = json!("2015-01-01");
    checks.push((child, "birth_date", "age_outside_subscription"));
    let mut unknown = adult("20000010101011", "x@example.nl");
    unknown["branch"] = json!("9999");
    checks.push((unknown, "branch", "unknown_branch"));
    let mut too_much = adult("20000010101012", "x@example.nl");
    too_much["discount_cents"] = json!(9000);
    checks.push((too_much, "discount_cents", "discount_exceeds_fee"));
    // Past a million euros, and past what JavaScript reads exactly.
    let mut absurd = adult("20000010101018", "x@example.nl");
    absurd["discount_cents"] = json!(9_007_199_254_740_993_i64);
    checks.push((absurd, "discount_cents", "invalid_discount"));
    let mut no_mail = adult("20000010101013", "");
    no_mail["email"] = Value::Null;
    checks.push((no_mail, "email", "email_required_for_account"));
    // ISO 8601 week and ordinal dates are dates too, but no one means one.
    for (card, birth_date) in [("20000010101014", "1990-W15-4"), ("20000010101015", "1990-102")] {
        let mut week_date = adult(card, "x@example.nl");
        week_date["birth_date"] = json!(birth_date);
        checks.push((week_date, "birth_date", "invalid_birth_date"));
    }
    let mut too_early = adult("20000010101016", "x@example.nl");
    too_early["birth_date"] = json!("0001-01-01");
    checks.push((too_early, "birth_date", "birth_date_too_early"));
    let mut undeliverable = adult("20000010101017", r#""anna de boer"@example.nl"#);
    undeliverable["login_account"] = json!("new");
    checks.push((undeliverable, "email", "invalid_email"));
    // A username means "link this account": a new one, or none, would not.
    for (card, mode) in [("20000010101019", "new"), ("20000010101020", "none")] {
        let mut meant_to_link = adult(card, "x@example.nl");
        meant_to_link["login_account"] = json!(mode);
        meant_to_link["username"] = json!("sanne");
        checks.push((meant_to_link, "username", "username_without_existing_account"));
    }
    for (request, field, code) in checks {
        let answer = call(&app, &token, "POST", "/api/v1/memberships", Some(&request)).await;
        assert_eq!(answer.status, 422, "{request}");
        assert_eq!(field_codes(&answer), vec![(field.to_owned(), code.to_owned())]);
    }

    // null is not a choice: not "new", not "none".
    let mut no_choice = adult("20000010101021", "x@example.nl");
    no_choice["login_account"] = Value::Null;
    let answer = call(&app, &token, "POST", "/api/v1/memberships", Some(&no_choice)).await;
    assert_eq!(answer.status, 422, "{:?}", answer.body);
    assert_eq!(answer.body["code"], "invalid_body");
    let detail = answer.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("login_account") && detail.contains("new, existing or none"),
        "{detail}"
    );
    // A type named as a developer of another language reads it, not Rust's.
    let mut text_discount = adult("20000010101022", "x@example.nl");
    text_discount["discount_cents"] = json!("5,00");
    let answer = call(&app, &token, "POST", "/api/v1/memberships", Some(&text_discount)).await;
    assert_eq!(answer.status, 422, "{:?}", answer.body);
    assert_eq!(
        answer.body["detail"],
        "discount_cents: invalid type: string \"5,00\", expected a whole number"
    );

    // A field it does not know: `discount` for `discount_cents` would
    // charge the full fee.
    let mut misspelled = adult("20000010101018", "x@example.nl");
    misspelled["discount"] = json!(500);
    let answer = call(&app, &token, "POST", "/api/v1/memberships", Some(&misspelled)).await;
    assert_eq!(answer.status, 422, "{:?}", answer.body);
    assert!(
        answer.body["detail"]
            .as_str()
            .unwrap()
            .contains("unknown field `discount`"),
        "{:?}",
        answer.body
    );
    let document: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    assert_eq!(
        document["components"]["schemas"]["RegistrationRequest"]["additionalProperties"], false,
        "the document says so too"
    );

    let not_json = app
        .client
        .post(app.url("/api/v1/memberships"))
        .bearer_auth(&token)
        .body("card_number=1")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 415);
    assert_eq!(not_json.headers()["content-type"], "application/problem+json");

    // A body far beyond any registration's is refused unread.
    let mut padded = adult("20000010101018", "x@example.nl");
    padded["first_name"] = json!("a".repeat(70 * 1024));
    let too_large = call(&app, &token, "POST", "/api/v1/memberships", Some(&padded)).await;
    assert_eq!(too_large.status, 413, "{:?}", too_large.body);
    assert_eq!(too_large.body["code"], "invalid_body");
    assert!(
        document["paths"]["/api/v1/memberships"]["post"]["responses"]
            .get("413")
            .is_some(),
        "the document lists the refusal"
    );
    let drenthe = drenthe(&app).await;
    assert!(
        app.store
            .memberships()
            .of_library(&drenthe)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Some platforms' UTF-8 writers (.NET's, Windows PowerShell's) start a
/// body with a byte order mark: the registration goes through all the same.
#[tokio::test]
async fn a_body_that_starts_with_a_byte_order_mark_is_read() {
    let app = spawn_app().await;
    desk_library(&app, "DRE01", "Biblionet Drenthe").await;
    let token = desk_token(&app, "DRE01", ALL_DESK_SCOPES).await;
    let body = format!("\u{feff}{}", adult("20000010101030", "bom@example.nl"));
    let response = app
        .client
        .post(app.url("/api/v1/memberships"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    assert_eq!(status, 201, "{}", response.text().await.unwrap());
    assert_eq!(libraries_of(&app, "20000010101030").await, ["DRE01"]);
}

#[tokio::test]
async fn only_a_library_systems_own_token_with_the_right_scope_gets_in() {
    let app = spawn_app().await;
    desk_library(&app, "DRE01", "Biblionet Drenthe").await;
    desk_library(&app, "GRO01", "Biblionet Groningen").await;
    let drenthe = desk_token(&app, "DRE01", ALL_DESK_SCOPES).await;
    let search_only = desk_token(&app, "DRE01", "desk:search").await;
    let groningen = desk_token(&app, "GRO01", ALL_DESK_SCOPES).await;
    call(
        &app,
        &drenthe,
        "POST",
        "/api/v1/memberships",
        Some(&adult("20000012121212", "d@example.nl")),
    )
    .await;

    let anonymous = app
        .client
        .get(app.url("/api/v1/memberships/20000012121212"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    assert!(anonymous.headers().contains_key("www-authenticate"));
    assert_eq!(anonymous.headers()["content-type"], "application/problem+json");
    let forged = call(
        &app,
        "not.a.token",
        "GET",
        "/api/v1/memberships/20000012121212",
        None,
    )
    .await;
    assert_eq!(forged.status, 401);

    let narrow = call(
        &app,
        &search_only,
        "POST",
        "/api/v1/memberships",
        Some(&adult("20000013131313", "e@example.nl")),
    )
    .await;
    assert_eq!(narrow.status, 403);
    assert_eq!(narrow.body["code"], "insufficient_scope");
    assert_eq!(
        narrow.challenge, r#"Bearer error="insufficient_scope", scope="desk:register""#,
        "as /userinfo says it (RFC 6750 §3)"
    );
    // Without the scope a body is not read: a caller cannot learn its rules.
    let card = "/api/v1/memberships/20000012121212";
    for (method, path) in [
        ("POST", "/api/v1/memberships".to_owned()),
        ("POST", format!("{card}/login-account")),
        ("POST", format!("{card}/new-login-account")),
        ("PUT", format!("{card}/email")),
        ("POST", format!("{card}/password-reset")),
    ] {
        let answer = call(&app, &search_only, method, &path, Some(&json!({ "x": 1 }))).await;
        assert_eq!(
            (answer.status, answer.body["code"].as_str()),
            (403, Some("insufficient_scope")),
            "{method} {path}"
        );
    }

    let own = call(&app, &drenthe, "GET", "/api/v1/memberships/20000012121212", None).await;
    assert_eq!(own.status, 200);
    assert_eq!(own.body["login_account"]["username"], "20000012121212");
    let foreign = call(
        &app,
        &groningen,
        "GET",
        "/api/v1/memberships/20000012121212",
        None,
    )
    .await;
    assert_eq!(
        foreign.status, 404,
        "another library does not see this membership"
    );
    let foreign_reset = call(
        &app,
        &groningen,
        "POST",
        "/api/v1/memberships/20000012121212/recovery-email-reset",
        None,
    )
    .await;
    assert_eq!(foreign_reset.status, 404);
}

#[tokio::test]
async fn the_recovery_address_is_reset_to_the_registrations_after_the_member_follows_the_link() {
    let smtp = SmtpServer::start();
    let app = app_with_mail(&smtp).await;
    let sanne = member(&app.store, "sanne").await;
    desk_library(&app, "GRO01", "Biblionet Groningen").await;
    let token = desk_token(&app, "GRO01", ALL_DESK_SCOPES).await;
    let request = with_existing_account("30000098765432", "sanne.nieuw@example.nl", "sanne");
    assert_eq!(
        call(&app, &token, "POST", "/api/v1/memberships", Some(&request))
            .await
            .status,
        201
    );
    smtp.wait_for_async(1).await;
    let reset = || {
        let (app, token) = (&app, &token);
        async move {
            let path = "/api/v1/memberships/30000098765432/recovery-email-reset";
            call(app, token, "POST", path, None).await
        }
    };

    let answer = reset().await;

    assert_eq!(answer.status, 202, "{:?}", answer.body);
    assert_eq!(answer.body["new_email"], "sanne.nieuw@example.nl");
    // The same reset again a moment later (a double click): the same
    // answer, and no second pair of mails whose link would end the first.
    let queued = app.store.outbox().entries().await.unwrap().len();
    let again = reset().await;
    assert_eq!((again.status, &again.body), (202, &answer.body));
    assert_eq!(app.store.outbox().entries().await.unwrap().len(), queued);
    assert_eq!(audited(&app, &sanne.id, "reset_recovery_email").await, 1);
    let mails = smtp.wait_for_async(3).await;
    let to_new = mails
        .iter()
        .find(|m| m.to == ["sanne.nieuw@example.nl"])
        .expect("a verification mail");
    let to_old = mails[1..]
        .iter()
        .find(|m| m.to == ["ouders@example.nl"])
        .expect("a notice to the old address");
    assert!(
        text_of(to_old).contains("Biblionet Groningen"),
        "{}",
        text_of(to_old)
    );
    let unchanged = app.store.accounts().by_id(&sanne.id).await.unwrap().unwrap();
    assert_eq!(
        unchanged.email.unwrap().as_str(),
        "ouders@example.nl",
        "not before the link is followed"
    );
    let link = link_in(&text_of(to_new), &app.url("/account/email/confirm?token="));
    confirm_new_address(&app, &link).await;
    let changed = app.store.accounts().by_id(&sanne.id).await.unwrap().unwrap();
    assert_eq!(changed.email.unwrap().as_str(), "sanne.nieuw@example.nl");

    let again = reset().await;
    assert_eq!(again.status, 409);
    assert_eq!(again.body["code"], "already_recovery_address");
}

/// A desk that could move a staff member's recovery address could take the
/// account over, and with it the consoles of other libraries: neither the
/// reset nor a new address for an unconfirmed staff account goes through
/// until an operator has taken the role off.
#[tokio::test]
async fn the_recovery_address_of_a_staff_account_is_not_moved_by_a_desk() {
    let smtp = SmtpServer::start();
    let app = app_with_mail(&smtp).await;
    let sanne = member(&app.store, "sanne").await;
    let drenthe = drenthe(&app).await;
    assert!(app.store.staff().grant(&sanne.id, &drenthe).await.unwrap());
    desk_library(&app, "GRO01", "Biblionet Groningen").await;
    let token = desk_token(&app, "GRO01", ALL_DESK_SCOPES).await;
    let request = with_existing_account("30000098765432", "andere@example.nl", "sanne");
    let linked = call(&app, &token, "POST", "/api/v1/memberships", Some(&request)).await;
    assert_eq!(linked.status, 201, "{:?}", linked.body);
    smtp.wait_for_async(1).await;
    let path = "/api/v1/memberships/30000098765432/recovery-email-reset";

    let refused = call(&app, &token, "POST", path, None).await;
    assert_eq!(
        (refused.status, refused.body["code"].as_str()),
        (409, Some("staff_account"))
    );
    assert!(
        refused.body["title"]
            .as_str()
            .unwrap()
            .contains("baliemedewerker"),
        "{:?}",
        refused.body
    );
    let queued = app.store.outbox().entries().await.unwrap();
    assert!(
        !queued.iter().any(|mail| mail.recipient == "andere@example.nl"),
        "no link"
    );
    assert_eq!(audited(&app, &sanne.id, "reset_recovery_email").await, 0);

    // The operator takes the role off: the reset is the desk's again.
    assert!(app.store.staff().revoke(&sanne.id, &drenthe).await.unwrap());
    assert_eq!(call(&app, &token, "POST", path, None).await.status, 202);

    // An unconfirmed staff account keeps the address its confirmation went to.
    let typo = adult("30000056565656", "balie.bert@exampel.nl");
    let registered = call(&app, &token, "POST", "/api/v1/memberships", Some(&typo)).await;
    assert_eq!(registered.status, 201, "{:?}", registered.body);
    let bert = app
        .store
        .accounts()
        .by_username(&Username::parse("30000056565656").unwrap())
        .await
        .unwrap()
        .unwrap();
    let groningen = app
        .store
        .catalogue()
        .library(&LibraryCode::parse("GRO01").unwrap())
        .await
        .unwrap();
    app.store.staff().grant(&bert.id, &groningen).await.unwrap();
    let moved = json!({ "email": "iemand@example.org" });
    let path = "/api/v1/memberships/30000056565656/email";
    let changed = call(&app, &token, "PUT", path, Some(&moved)).await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    let bert = app.store.accounts().by_id(&bert.id).await.unwrap().unwrap();
    assert_eq!(bert.email.unwrap().as_str(), "balie.bert@exampel.nl");
    let queued = app.store.outbox().entries().await.unwrap();
    assert!(
        !queued.iter().any(|mail| mail.recipient == "iemand@example.org"),
        "no confirmation"
    );
}

/// The guide: a reset uses "the address in the library system". When the
/// member's address changes there, the registration takes it first.
#[tokio::test]
async fn a_new_address_in_the_library_system_goes_to_the_registration_and_then_to_the_account() {
    let smtp = SmtpServer::start();
    let app = app_with_mail(&smtp).await;
    let sanne = member(&app.store, "sanne").await;
    desk_library(&app, "GRO01", "Biblionet Groningen").await;
    let token = desk_token(&app, "GRO01", ALL_DESK_SCOPES).await;
    let request = with_existing_account("30000098765432", "ouders@example.nl", "sanne");
    let registered = call(&app, &token, "POST", "/api/v1/memberships", Some(&request)).await;
    assert_eq!(registered.status, 201, "{:?}", registered.body);
    smtp.wait_for_async(1).await;
    let path = "/api/v1/memberships/30000098765432/email";
    let reset = "/api/v1/memberships/30000098765432/recovery-email-reset";
    let put_email = |email: &'static str| {
        let (app, token) = (&app, &token);
        async move { call(app, token, "PUT", path, Some(&json!({ "email": email }))).await }
    };
    let link_to = |mails: &[crate::smtp::ReceivedMail], address: &str| {
        let mail = mails
            .iter()
            .find(|m| m.to == [address])
            .expect("a verification mail");
        link_in(&text_of(mail), &app.url("/account/email/confirm?token="))
    };

    let changed = put_email(" sanne@example.nl ").await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    assert_eq!(changed.body["email"], "sanne@example.nl");
    assert_eq!(changed.body["login_account"]["email_masked"], "o***s@e***.nl");
    let account = app.store.accounts().by_id(&sanne.id).await.unwrap().unwrap();
    assert_eq!(
        account.email.unwrap().as_str(),
        "ouders@example.nl",
        "the account's stays"
    );
    assert_eq!(put_email("sanne@example.nl").await.status, 200);

    // A reset to a mistyped address, then the right one: the link mailed to
    // the mistyped one no longer works, so it cannot take the account over.
    assert_eq!(put_email("sanne@exampel.nl").await.status, 200);
    assert_eq!(call(&app, &token, "POST", reset, None).await.status, 202);
    let mistyped_link = link_to(&smtp.wait_for_async(3).await, "sanne@exampel.nl");
    assert_eq!(put_email("sanne@example.nl").await.status, 200);
    let dead = fetch(&browser(), &mistyped_link).await;
    assert!(dead.contains("Deze link werkt niet meer"), "{dead}");
    let answer = call(&app, &token, "POST", reset, None).await;
    assert_eq!(answer.status, 202, "{:?}", answer.body);
    assert_eq!(answer.body["new_email"], "sanne@example.nl");
    let right_link = link_to(&smtp.wait_for_async(5).await, "sanne@example.nl");
    confirm_new_address(&app, &right_link).await;
    let account = app.store.accounts().by_id(&sanne.id).await.unwrap().unwrap();
    assert_eq!(account.email.unwrap().as_str(), "sanne@example.nl");

    for (body, status, code) in [
        (json!({ "email": "not an address" }), 422, "invalid_input"),
        (json!({}), 422, "invalid_body"),
        (
            json!({ "email": "a@example.nl", "discount": 5 }),
            422,
            "invalid_body",
        ),
    ] {
        let refused = call(&app, &token, "PUT", path, Some(&body)).await;
        assert_eq!(
            (refused.status, refused.body["code"].as_str()),
            (status, Some(code)),
            "{body}"
        );
    }
    let unknown = call(
        &app,
        &token,
        "PUT",
        "/api/v1/memberships/30000000000000/email",
        Some(&json!({ "email": null })),
    )
    .await;
    assert_eq!(unknown.status, 404);
    let recovery_only = desk_token(&app, "GRO01", "desk:recovery").await;
    let forbidden = call(&app, &recovery_only, "PUT", path, Some(&json!({ "email": null }))).await;
    assert_eq!(forbidden.status, 403);

    let cleared = call(&app, &token, "PUT", path, Some(&json!({ "email": null }))).await;
    assert_eq!((cleared.status, &cleared.body["email"]), (200, &Value::Null));
    assert_eq!(
        call(&app, &token, "POST", reset, None).await.body["code"],
        "no_registration_email"
    );
    let audit = call(&app, &token, "GET", "/api/v1/audit?limit=10", None).await;
    let changes: Vec<&Value> = audit
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "change_registration_email")
        .map(|e| &e["detail"])
        .collect();
    assert_eq!(
        changes,
        [
            &json!({ "card_number": "30000098765432", "old_email_masked": "s***e@e***.nl", "new_email_masked": null }),
            &json!({ "card_number": "30000098765432", "old_email_masked": "s***e@e***.nl", "new_email_masked": "s***e@e***.nl" }),
            &json!({ "card_number": "30000098765432", "old_email_masked": "s***e@e***.nl", "new_email_masked": "s***e@e***.nl" }),
            &json!({ "card_number": "30000098765432", "old_email_masked": "o***s@e***.nl", "new_email_masked": "s***e@e***.nl" }),
        ],
        "four changes, newest first; saving the same address again is none"
    );
}

/// A typo in the address of a member who has not confirmed yet, corrected
/// at the desk: the confirmation goes to the corrected address, and the link
/// mailed to the typo no longer works, so whoever owns that address cannot
/// set the password and take the account.
#[tokio::test]
async fn a_corrected_address_of_an_unconfirmed_account_gets_the_confirmation_and_the_first_link_dies() {
    let smtp = SmtpServer::start();
    let app = app_with_mail(&smtp).await;
    desk_library(&app, "DRE01", "Biblionet Drenthe").await;
    let token = desk_token(&app, "DRE01", ALL_DESK_SCOPES).await;
    let typo = adult("20000056565656", "anna@exampel.nl");
    let registered = call(&app, &token, "POST", "/api/v1/memberships", Some(&typo)).await;
    assert_eq!(registered.status, 201, "{:?}", registered.body);
    let first = smtp.wait_for_async(1).await;
    assert_eq!(first[0].to, ["anna@exampel.nl"]);
    let typo_link = link_in(&text_of(&first[0]), &app.url("/confirm?token="));

    let path = "/api/v1/memberships/20000056565656/email";
    // No address at all would leave the account nothing to be confirmed by.
    let cleared = call(&app, &token, "PUT", path, Some(&json!({ "email": null }))).await;
    assert_eq!(cleared.status, 409, "{:?}", cleared.body);
    assert_eq!(cleared.body["code"], "no_email_for_account");
    let registration = call(&app, &token, "GET", "/api/v1/memberships/20000056565656", None).await;
    assert_eq!(registration.body["email"], "anna@exampel.nl", "nothing changed");
    let corrected = json!({ "email": "anna@example.nl" });
    let changed = call(&app, &token, "PUT", path, Some(&corrected)).await;

    assert_eq!(changed.status, 200, "{:?}", changed.body);
    assert_eq!(changed.body["login_account"]["status"], "pending");
    let mails = smtp.wait_for_async(2).await;
    assert_eq!(mails[1].to, ["anna@example.nl"]);
    assert!(
        text_of(&mails[1]).contains("Je inlogaccount is bijna klaar voor gebruik"),
        "{}",
        text_of(&mails[1])
    );
    let right_link = link_in(&text_of(&mails[1]), &app.url("/confirm?token="));
    let account = app
        .store
        .accounts()
        .by_username(&Username::parse("20000056565656").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        account.email.map(|e| e.as_str().to_owned()).as_deref(),
        Some("anna@example.nl")
    );
    assert_eq!(
        (account.status, account.email_verified_at),
        (AccountStatus::Pending, None)
    );

    let dead = fetch(&browser(), &typo_link).await;
    assert!(dead.contains("Deze link werkt niet meer"), "{dead}");
    assert!(
        dead.contains("Er is een nieuwere bevestigingsmail verstuurd"),
        "{dead}"
    );
    assert!(!dead.contains("Stel je wachtwoord in"), "{dead}");
    let live = fetch(&browser(), &right_link).await;
    assert!(live.contains("Stel je wachtwoord in"), "{live}");
}

#[tokio::test]
async fn staff_cannot_reset_a_password_but_can_resend_the_confirmation_and_every_action_is_audited() {
    let smtp = SmtpServer::start();
    let app = app_with_mail(&smtp).await;
    desk_library(&app, "DRE01", "Biblionet Drenthe").await;
    let token = desk_token(&app, "DRE01", ALL_DESK_SCOPES).await;
    call(
        &app,
        &token,
        "POST",
        "/api/v1/memberships",
        Some(&adult("20000034343434", "f@example.nl")),
    )
    .await;
    smtp.wait_for_async(1).await;

    // Waiting for its confirmation at this very address: resending is the way.
    let same_address = call(
        &app,
        &token,
        "POST",
        "/api/v1/memberships/20000034343434/recovery-email-reset",
        None,
    )
    .await;
    assert_eq!(same_address.status, 409);
    assert_eq!(same_address.body["code"], "awaiting_confirmation");

    let reset = call(
        &app,
        &token,
        "POST",
        "/api/v1/memberships/20000034343434/password-reset",
        None,
    )
    .await;
    assert_eq!(reset.status, 403);
    assert_eq!(reset.body["code"], "password_reset_not_offered");
    let title = reset.body["title"].as_str().unwrap();
    assert!(title.contains("Wachtwoord vergeten?"), "{title}");
    assert!(
        title.contains("https://www.bibliotheek.nl/hulp-bij-inloggen.html"),
        "{title}"
    );

    links_issued_minutes_ago(&app, 2).await;
    let resent = call(
        &app,
        &token,
        "POST",
        "/api/v1/memberships/20000034343434/confirmation-mail",
        None,
    )
    .await;
    assert_eq!(resent.status, 202, "{:?}", resent.body);
    assert_eq!(
        smtp.wait_for_async(2).await[1].to,
        vec!["f@example.nl".to_owned()]
    );
    // A double click sends no second mail, and says so: 200, not 202.
    let double_click = call(
        &app,
        &token,
        "POST",
        "/api/v1/memberships/20000034343434/confirmation-mail",
        None,
    )
    .await;
    assert_eq!(double_click.status, 200, "{:?}", double_click.body);
    assert_eq!(double_click.body, resent.body);

    let audit = call(&app, &token, "GET", "/api/v1/audit?limit=10", None).await;
    assert_eq!(audit.status, 200);
    let actions: Vec<&str> = audit
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        vec![
            "resend_confirmation",
            "password_reset_refused",
            "register_new_account"
        ]
    );
    assert!(
        audit.body[0]["actor"]
            .as_str()
            .unwrap()
            .starts_with("client:ils-")
    );

    let active = member(&app.store, "actief_lid").await;
    let card = app.store.memberships().of_account(&active.id).await.unwrap()[0]
        .card_number
        .clone();
    let confirmed = call(
        &app,
        &token,
        "POST",
        &format!("/api/v1/memberships/{card}/confirmation-mail"),
        None,
    )
    .await;
    assert_eq!(confirmed.status, 409);
    assert_eq!(confirmed.body["code"], "account_already_confirmed");

    // Without an address there is no mail to send, and the desk hears so:
    // an account migrated without one, say (the registration's address
    // cannot be cleared while its account waits for the confirmation).
    let path = "/api/v1/memberships/20000034343434";
    let cleared = call(
        &app,
        &token,
        "PUT",
        &format!("{path}/email"),
        Some(&json!({ "email": null })),
    )
    .await;
    assert_eq!(cleared.status, 409, "{:?}", cleared.body);
    assert_eq!(cleared.body["code"], "no_email_for_account");
    {
        use sea_orm::ConnectionTrait;
        app.store
            .connection()
            .execute_unprepared("UPDATE accounts SET email = NULL WHERE username = '20000034343434'")
            .await
            .unwrap();
    }
    let nowhere = call(&app, &token, "POST", &format!("{path}/confirmation-mail"), None).await;
    assert_eq!(nowhere.status, 409, "{:?}", nowhere.body);
    assert_eq!(nowhere.body["code"], "no_account_email");
    let title = nowhere.body["title"].as_str().unwrap();
    assert!(title.contains("geen bevestigingsmail verstuurd"), "{title}");
}

/// Makes every mailed link look issued `minutes` earlier.
async fn links_issued_minutes_ago(app: &TestApp, minutes: i64) {
    use sea_orm::ConnectionTrait;
    let earlier = format!(
        "UPDATE account_links SET created_at = created_at - {}",
        minutes * 60_000
    );
    app.store.connection().execute_unprepared(&earlier).await.unwrap();
}

/// How many confirmation links the account `username` was sent.
async fn confirmation_links(app: &TestApp, username: &str) -> i64 {
    use sea_orm::{ConnectionTrait, Statement};
    let account = app
        .store
        .accounts()
        .by_username(&Username::parse(username).unwrap())
        .await
        .unwrap()
        .unwrap();
    let connection = app.store.connection();
    let count = Statement::from_string(
        connection.get_database_backend(),
        format!(
            "SELECT COUNT(*) FROM account_links WHERE purpose = 'confirm' AND account_id = '{}'",
            account.id
        ),
    );
    let row = connection.query_one_raw(count).await.unwrap().unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

/// "Send again" pressed twice, or by two desks at once, within a minute of
/// the last mail: one mail, whose link keeps working; the console says why
/// no second one went. After the minute a new one goes.
#[tokio::test(flavor = "multi_thread")]
async fn a_confirmation_mail_sent_again_twice_at_once_goes_once() {
    let smtp = SmtpServer::start();
    let app = app_with_mail(&smtp).await;
    let (staff_browser, page) = staff_at_the_register_page(&app, "DRE01", "Biblionet Drenthe").await;
    let form = filled_in(&page, "20000039393939", "Piet Jansen");
    assert_eq!(
        register_at_drenthe(&app, &staff_browser, &form).await.status(),
        200
    );
    smtp.wait_for_async(1).await;
    let member_page = app.url("/frontoffice/DRE01/members/20000039393939");
    let page = fetch(&staff_browser, &member_page).await;
    let csrf = hidden_field(&page, "csrf");
    let resend = || {
        let request = staff_browser
            .post(format!("{member_page}/confirmation-mail"))
            .form(&[("csrf", csrf.clone())]);
        let staff_browser = staff_browser.clone();
        async move {
            let answer = as_the_browser_shows(&staff_browser, request.send().await.unwrap()).await;
            (answer.status().as_u16(), answer.text().await.unwrap())
        }
    };

    let (status, just_registered) = resend().await;
    assert_eq!(status, 200, "{just_registered}");
    let notice = just_registered
        .split_once(r#"<div class="notice" role="status""#)
        .map(|(_, notice)| notice)
        .unwrap_or_default();
    assert!(
        notice.contains("minder dan een minuut geleden al een bevestigingsmail verstuurd"),
        "nothing was sent, so not in the success style: {just_registered}"
    );
    assert!(
        !just_registered.contains(r#"class="success""#),
        "{just_registered}"
    );
    assert_eq!(confirmation_links(&app, "20000039393939").await, 1);

    links_issued_minutes_ago(&app, 2).await;
    let answers = futures_util::future::join_all((0..5).map(|_| resend())).await;
    for (status, page) in &answers {
        assert_eq!(*status, 200, "{page}");
    }
    let sent = answers
        .iter()
        .filter(|(_, page)| page.contains("opnieuw verstuurd, met een nieuwe link"))
        .count();
    assert_eq!(sent, 1, "one of the five sent it");
    assert_eq!(confirmation_links(&app, "20000039393939").await, 2);
    let mails = smtp.wait_for_async(2).await;
    assert_eq!(mails[1].to, vec!["piet@example.nl".to_owned()]);
}

/// Only a guess (no such account, another birth date) counts towards the
/// wait of a username's links: a library system's retries of a link that
/// was made, and registrations refused for their details, do not.
#[tokio::test]
async fn retries_and_refused_details_do_not_make_an_accounts_links_wait() {
    let app = spawn_app().await;
    member(&app.store, "Sanne_2015").await;
    desk_library(&app, "GRO01", "Biblionet Groningen").await;
    desk_library(&app, "ASS01", "Bibliotheek Assen").await;
    let groningen = desk_token(&app, "GRO01", ALL_DESK_SCOPES).await;
    let mut without = with_existing_account("30000040404040", "", "Sanne_2015");
    without["login_account"] = json!("none");
    without["username"] = Value::Null;
    let registered = call(&app, &groningen, "POST", "/api/v1/memberships", Some(&without)).await;
    assert_eq!(registered.status, 201, "{:?}", registered.body);
    let link = json!({"username": "Sanne_2015"});
    let path = "/api/v1/memberships/30000040404040/login-account";
    let linked = call(&app, &groningen, "POST", path, Some(&link)).await;
    assert_eq!(linked.status, 200, "{:?}", linked.body);

    for _ in 0..6 {
        let retried = call(&app, &groningen, "POST", path, Some(&link)).await;
        assert_eq!(retried.status, 409, "{:?}", retried.body);
        let mut elsewhere = with_existing_account("30000041414141", "", "Sanne_2015");
        elsewhere["branch"] = json!("9999");
        let refused = call(&app, &groningen, "POST", "/api/v1/memberships", Some(&elsewhere)).await;
        assert_eq!(refused.status, 422, "{:?}", refused.body);
    }

    let assen = desk_token(&app, "ASS01", ALL_DESK_SCOPES).await;
    let moved = with_existing_account("30000042424242", "", "Sanne_2015");
    let registered = call(&app, &assen, "POST", "/api/v1/memberships", Some(&moved)).await;
    assert_eq!(registered.status, 201, "no wait: {:?}", registered.body);
    assert_eq!(
        libraries_of(&app, "Sanne_2015").await,
        vec!["ASS01", "DRE01", "GRO01"]
    );
}

#[tokio::test]
async fn a_username_alone_links_no_one_elses_account_to_another_library() {
    let app = spawn_app().await;
    let sanne = member(&app.store, "Sanne_2015").await;
    desk_library(&app, "GRO01", "Biblionet Groningen").await;
    let token = desk_token(&app, "GRO01", ALL_DESK_SCOPES).await;

    // At registration: someone else's birth date.
    let mut request = adult("30000012345678", "dief@example.nl");
    request["login_account"] = json!("existing");
    request["username"] = json!("Sanne_2015");
    let refused = call(&app, &token, "POST", "/api/v1/memberships", Some(&request)).await;
    assert_eq!(refused.status, 422, "{:?}", refused.body);
    assert_eq!(
        field_codes(&refused),
        vec![("username".into(), "account_of_another_birth_date".into())]
    );

    // Afterwards, to a registration without an account.
    let mut unlinked = adult("30000087654321", "dief@example.nl");
    unlinked["login_account"] = json!("none");
    let registered = call(&app, &token, "POST", "/api/v1/memberships", Some(&unlinked)).await;
    assert_eq!(registered.status, 201, "{:?}", registered.body);
    let link = call(
        &app,
        &token,
        "POST",
        "/api/v1/memberships/30000087654321/login-account",
        Some(&json!({"username": "Sanne_2015"})),
    )
    .await;
    assert_eq!(link.status, 422, "{:?}", link.body);
    assert_eq!(
        field_codes(&link),
        vec![("username".into(), "account_of_another_birth_date".into())]
    );

    let memberships = app.store.memberships().of_account(&sanne.id).await.unwrap();
    assert_eq!(memberships.len(), 1, "still only her own card");

    // Her own library, her own birth date: her registration there lapsed
    // (valid until 2025-05-31), so a new one may follow; a second valid one
    // is a duplicate, not a move.
    let drenthe = desk_token(&app, "DRE01", ALL_DESK_SCOPES).await;
    let renewed = with_existing_account("20000099887755", "ouders@example.nl", "Sanne_2015");
    let renewed = call(&app, &drenthe, "POST", "/api/v1/memberships", Some(&renewed)).await;
    assert_eq!(renewed.status, 201, "{:?}", renewed.body);
    let duplicate = with_existing_account("20000099887766", "ouders@example.nl", "Sanne_2015");
    let refused = call(&app, &drenthe, "POST", "/api/v1/memberships", Some(&duplicate)).await;
    assert_eq!(refused.status, 422, "{:?}", refused.body);
    assert_eq!(
        field_codes(&refused),
        vec![("username".into(), "account_registered_here".into())]
    );
    let reset = call(
        &app,
        &token,
        "POST",
        "/api/v1/memberships/30000087654321/recovery-email-reset",
        None,
    )
    .await;
    assert_eq!(reset.body["code"], "no_login_account", "{:?}", reset.body);

    // Trying birth dates: after five wrong ones (two above; the renewal and
    // the duplicate, with the right birth date, gave their counts back) the
    // username's links wait, the right birth date included.
    for day in 10..13 {
        request["birth_date"] = json!(format!("1990-04-{day}"));
        let guess = call(&app, &token, "POST", "/api/v1/memberships", Some(&request)).await;
        assert_eq!(guess.status, 422, "{:?}", guess.body);
    }
    let right = with_existing_account("30000012340000", "dief@example.nl", "Sanne_2015");
    let waits = call(&app, &token, "POST", "/api/v1/memberships", Some(&right)).await;
    assert_eq!(waits.status, 429, "{:?}", waits.body);
    assert_eq!(waits.body["code"], "link_attempts_wait");
    // It says how long, and what the desk can do meanwhile.
    assert_eq!(waits.retry_after, "900");
    let told = waits.body["title"].as_str().unwrap();
    assert!(
        told.contains("Koppelen kan weer over 15 minuten.")
            && told.contains("Schrijf de klant intussen in zonder inlogaccount"),
        "{told}"
    );

    // Each refusal is in the library's audit log, with the username tried.
    let audit = call(&app, &token, "GET", "/api/v1/audit?limit=20", None).await;
    let refused: Vec<(&str, &str)> = audit
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["action"] == "link_refused")
        .map(|entry| {
            (
                entry["detail"]["username"].as_str().unwrap(),
                entry["detail"]["reason"].as_str().unwrap(),
            )
        })
        .collect();
    let mut expected = vec![("Sanne_2015", "link_attempts_wait")];
    expected.extend([("Sanne_2015", "account_of_another_birth_date"); 5]);
    assert_eq!(refused, expected);
    // Also among the entries about her account.
    assert_eq!(audited(&app, &sanne.id, "link_refused").await, 6);
}

/// A library system that guesses at many accounts, a few birth dates each
/// (under any one account's limit), is held back after twenty wrong
/// guesses, for every account; another library system is not. A link with
/// the right birth date gives its count back.
#[tokio::test]
async fn a_caller_guessing_at_many_accounts_is_held_back_and_others_are_not() {
    let app = spawn_app().await;
    for n in 0..10 {
        member(&app.store, &format!("lid{n}")).await;
    }
    desk_library(&app, "GRO01", "Biblionet Groningen").await;
    let guesser = desk_token(&app, "GRO01", ALL_DESK_SCOPES).await;
    let guess = |n: u32, day: u32| {
        let mut request = adult(&format!("300000{n:02}{day:06}"), "dief@example.nl");
        request["login_account"] = json!("existing");
        request["username"] = json!(format!("lid{n}"));
        request["birth_date"] = json!(format!("1990-04-{day:02}"));
        request
    };
    // Two wrong birth dates at each of ten accounts: twenty, all answered.
    for n in 0..10 {
        for day in 10..12 {
            let answer = call(
                &app,
                &guesser,
                "POST",
                "/api/v1/memberships",
                Some(&guess(n, day)),
            )
            .await;
            assert_eq!(answer.status, 422, "{:?}", answer.body);
        }
    }
    let held = call(&app, &guesser, "POST", "/api/v1/memberships", Some(&guess(0, 12))).await;
    assert_eq!(held.status, 429, "{:?}", held.body);
    assert_eq!(held.body["code"], "caller_link_attempts_wait");
    assert_eq!(held.retry_after, "900");
    let told = held.body["title"].as_str().unwrap();
    assert!(told.contains("bij verschillende inlogaccounts"), "{told}");
    // The right birth date waits too: the guesser learns nothing more.
    let right = with_existing_account("30000099999999", "ouders@example.nl", "lid9");
    let waits = call(&app, &guesser, "POST", "/api/v1/memberships", Some(&right)).await;
    assert_eq!(waits.status, 429, "{:?}", waits.body);

    // Another library system links lid9 at once; its right link costs nothing.
    let other = desk_token(&app, "DRE01", ALL_DESK_SCOPES).await;
    let renewed = with_existing_account("20000099999999", "ouders@example.nl", "lid9");
    let linked = call(&app, &other, "POST", "/api/v1/memberships", Some(&renewed)).await;
    assert_eq!(linked.status, 201, "{:?}", linked.body);
}

/// A library system that searches for usernames no account has (walking
/// through card numbers to learn which have an account) is held back after
/// a hundred; searches that find one cost nothing, and another library system
/// still searches at once.
#[tokio::test]
async fn a_caller_searching_for_many_missing_accounts_is_held_back_and_others_are_not() {
    let app = spawn_app().await;
    member(&app.store, "lid1").await;
    desk_library(&app, "GRO01", "Biblionet Groningen").await;
    let walker = desk_token(&app, "GRO01", ALL_DESK_SCOPES).await;
    let search = |token: &str, username: &str| {
        let path = format!("/api/v1/accounts?username={username}");
        let token = token.to_owned();
        let app = &app;
        async move { call(app, &token, "GET", &path, None).await }
    };
    for _ in 0..110 {
        assert_eq!(
            search(&walker, "lid1").await.status,
            200,
            "a search that finds costs nothing"
        );
    }
    for n in 0..100 {
        let missing = search(&walker, &format!("3000000000{n:04}")).await;
        assert_eq!(missing.status, 404, "{:?}", missing.body);
    }
    let held = search(&walker, "30000000000100").await;
    assert_eq!(held.status, 429, "{:?}", held.body);
    assert_eq!(held.body["code"], "search_attempts_wait");
    assert_eq!(held.retry_after, "60");
    let told = held.body["title"].as_str().unwrap();
    assert!(
        told.contains("te vaak gezocht naar inlogaccounts die niet bestaan"),
        "{told}"
    );
    let found_too = search(&walker, "lid1").await;
    assert_eq!(found_too.status, 429, "the walker learns nothing more meanwhile");

    let other = desk_token(&app, "DRE01", ALL_DESK_SCOPES).await;
    assert_eq!(search(&other, "lid1").await.status, 200);
}

/// How many of the audit log's entries about `account` record `action`.
async fn audited(app: &TestApp, account: &si_domain::AccountId, action: &str) -> usize {
    let entries = app
        .store
        .audit()
        .list(AuditFilter {
            library: None,
            account: Some(account),
            limit: 100,
        })
        .await
        .unwrap();
    entries.iter().filter(|entry| entry.action == action).count()
}

#[tokio::test]
async fn the_openapi_document_describes_every_operation() {
    let app = spawn_app().await;
    let document: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    for path in [
        "/api/v1/memberships",
        "/api/v1/memberships/{card_number}",
        "/api/v1/memberships/{card_number}/login-account",
        "/api/v1/memberships/{card_number}/new-login-account",
        "/api/v1/memberships/{card_number}/recovery-email-reset",
        "/api/v1/memberships/{card_number}/confirmation-mail",
        "/api/v1/memberships/{card_number}/password-reset",
        "/api/v1/accounts",
        "/api/v1/audit",
    ] {
        assert!(document["paths"][path].is_object(), "{path} is not described");
    }
    let flow = &document["components"]["securitySchemes"]["library_system"]["flows"]["clientCredentials"];
    assert_eq!(flow["tokenUrl"], app.url("/token"));
    // Every reference leads somewhere: a client generator stops at the first that does not.
    let mut references = Vec::new();
    collect_references(&document, &mut references);
    assert!(references.len() > 10, "{references:?}");
    for reference in references {
        let pointer = reference.strip_prefix('#').expect("a local reference");
        assert!(document.pointer(pointer).is_some(), "{reference} leads nowhere");
    }
}

/// Every `$ref` in a JSON document.
fn collect_references(value: &Value, into: &mut Vec<String>) {
    match value {
        Value::Object(fields) => {
            for (name, field) in fields {
                match (name.as_str(), field) {
                    ("$ref", Value::String(reference)) => into.push(reference.clone()),
                    _ => collect_references(field, into),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_references(item, into)),
        _ => {}
    }
}

#[tokio::test]
async fn the_console_asks_for_a_login_and_a_desk_role_and_returns_only_to_itself() {
    let app = spawn_app().await;
    desk_library(&app, "DRE01", "Biblionet Drenthe").await;
    crate::desk_browser::staff(&app, &["DRE01"]).await;
    member(&app.store, "gewoon_lid").await;

    let staff_browser = browser();
    let landed = log_in_through(
        &app,
        &staff_browser,
        &app.url("/frontoffice"),
        "balie.anna",
        PASSWORD,
    )
    .await;
    assert_eq!(landed, "/frontoffice", "the login returns to the console");
    let console = staff_browser.get(app.url(&landed)).send().await.unwrap();
    assert_eq!(
        console.headers()["location"],
        "/frontoffice/DRE01",
        "one library: straight there"
    );
    let undecodable = staff_browser
        .get(app.url("/frontoffice/DRE01/members/%FF"))
        .send()
        .await
        .unwrap();
    assert_eq!(undecodable.status(), 400, "not a missing desk role");
    assert!(
        undecodable
            .text()
            .await
            .unwrap()
            .contains("Dit verzoek klopt niet")
    );
    // Two: a choice, and a way out.
    desk_library(&app, "GRO01", "Biblionet Groningen").await;
    let anna = Username::parse("balie.anna").unwrap();
    let anna = app.store.accounts().by_username(&anna).await.unwrap().unwrap();
    let groningen = LibraryCode::parse("GRO01").unwrap();
    let groningen = app.store.catalogue().library(&groningen).await.unwrap();
    app.store.staff().grant(&anna.id, &groningen).await.unwrap();
    let choice = fetch(&staff_browser, app.url("/frontoffice")).await;
    assert!(choice.contains("Kies je bibliotheek") && choice.contains("Biblionet Groningen (GRO01)"));
    // A form that expired asks first, and keeps the way back to the desk.
    let expired = [
        ("csrf", "expired".to_owned()),
        ("desk", hidden_field(&choice, "desk")),
    ];
    let asked = staff_browser
        .post(app.url("/logout"))
        .form(&expired)
        .send()
        .await
        .unwrap();
    let asked = asked.text().await.unwrap();
    assert!(asked.contains("Uitloggen?"), "{asked}");
    let logout = crate::interop::hidden_fields(&asked);
    assert!(logout.iter().any(|(name, _)| name == "desk"), "{asked}");
    let out = staff_browser
        .post(app.url("/logout"))
        .form(&logout)
        .send()
        .await
        .unwrap();
    let out = shown_after_logout(&app, &staff_browser, out).await;
    assert!(
        out.contains(r#"<a href="/frontoffice">Terug naar de loginpagina</a>"#),
        "the way back leads to the desk: {out}"
    );

    let member_browser = browser();
    let landed = log_in_through(
        &app,
        &member_browser,
        &app.url("/frontoffice"),
        "gewoon_lid",
        PASSWORD,
    )
    .await;
    let refused = member_browser.get(app.url(&landed)).send().await.unwrap();
    assert_eq!(refused.status(), 403);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("Geen toegang tot de balie")
    );
    let refused = member_browser
        .get(app.url("/frontoffice/DRE01/register"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);

    let elsewhere = browser();
    let page = elsewhere
        .get(app.url("/login?next=https%3A%2F%2Fevil.example%2Ffrontoffice"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let form = [
        ("csrf", hidden_field(&page, "csrf")),
        ("request", hidden_field(&page, "request")),
        ("username", "gewoon_lid".to_owned()),
        ("password", PASSWORD.to_owned()),
    ];
    let response = elsewhere
        .post(app.url("/login"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let landed = response.headers()["location"].to_str().unwrap();
    assert_eq!(landed, "/account", "never a redirect to another site");
}

/// Biblionet Drenthe as stored.
async fn drenthe(app: &TestApp) -> si_store::catalogue::Library {
    let code = LibraryCode::parse("DRE01").unwrap();
    app.store.catalogue().library(&code).await.unwrap()
}

/// The browser of a desk employee of library `code`, logged in to the console.
async fn staff_logged_in(app: &TestApp, code: &str) -> reqwest::Client {
    crate::desk_browser::staff(app, &[code]).await;
    let staff_browser = browser();
    log_in_through(
        app,
        &staff_browser,
        &app.url("/frontoffice"),
        "balie.anna",
        PASSWORD,
    )
    .await;
    staff_browser
}

/// A desk employee of library `code` logged in to the console: the browser,
/// and the registration page it opened.
async fn staff_at_the_register_page(app: &TestApp, code: &str, name: &str) -> (reqwest::Client, String) {
    desk_library(app, code, name).await;
    let staff_browser = staff_logged_in(app, code).await;
    let page = staff_browser
        .get(app.url(&format!("/frontoffice/{code}/register")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    (staff_browser, page)
}

/// The console's registration form posted at library DRE01.
async fn register_at_drenthe(
    app: &TestApp,
    staff_browser: &reqwest::Client,
    form: &(impl serde::Serialize + ?Sized),
) -> reqwest::Response {
    let answer = staff_browser
        .post(app.url("/frontoffice/DRE01/register"))
        .form(form)
        .send()
        .await
        .unwrap();
    as_the_browser_shows(staff_browser, answer).await
}

/// The registration form of `page` filled in for an adult with a new account.
fn filled_in(page: &str, card: &str, name: &str) -> Vec<(&'static str, String)> {
    vec![
        ("csrf", hidden_field(page, "csrf")),
        ("idempotency_key", hidden_field(page, "idempotency_key")),
        ("card_number", card.into()),
        ("name", name.into()),
        ("birth_date", "1980-01-31".into()),
        ("email", "piet@example.nl".into()),
        ("branch", "5280".into()),
        ("subscription_type", "VOLWASSEN".into()),
        ("discount", "".into()),
        ("use_account", "ja".into()),
        ("account_choice", "new".into()),
    ]
}

/// One step of the console's registration of Sanne de Vries, who moved,
/// at GRO01 with an existing account, as staff take them: "Verder" with the
/// details (`step` empty), "Zoeken" with the username (`search`), then
/// "Koppelen" (`link`), or back to the details (`edit`). `page` is the page
/// the step is taken from; answers the status and the page it led to.
async fn step_for_sanne(
    app: &TestApp,
    staff_browser: &reqwest::Client,
    page: &str,
    (birth_date, subscription): (&str, &str),
    step: &str,
    username: &str,
) -> (u16, String) {
    let form = vec![
        ("csrf", hidden_field(page, "csrf")),
        ("idempotency_key", hidden_field(page, "idempotency_key")),
        ("card_number", "30000012345678".to_owned()),
        ("name", "Sanne de Vries".to_owned()),
        ("birth_date", birth_date.to_owned()),
        ("email", "ouders@example.nl".to_owned()),
        ("branch", "5280".to_owned()),
        ("subscription_type", subscription.to_owned()),
        ("discount", String::new()),
        ("use_account", "ja".to_owned()),
        ("account_choice", "existing".to_owned()),
        ("username", username.to_owned()),
        ("step", step.to_owned()),
    ];
    let answer = staff_browser
        .post(app.url("/frontoffice/GRO01/register"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let answer = as_the_browser_shows(staff_browser, answer).await;
    (answer.status().as_u16(), answer.text().await.unwrap())
}

/// A link on another site that opens the console's search fills it in but
/// does not run it: the search would be in the audit log in the staff
/// member's name. The staff member's own "Zoeken" runs it.
#[tokio::test]
async fn a_search_another_site_links_to_waits_for_the_staff_member() {
    let app = spawn_app().await;
    let sanne = member(&app.store, "sanne").await;
    let (staff_browser, _) = staff_at_the_register_page(&app, "GRO01", "Biblionet Groningen").await;
    let sent_from = |site: &'static str, query: &str| {
        staff_browser
            .get(app.url(&format!("/frontoffice/GRO01?{query}")))
            .header("sec-fetch-site", site)
            .send()
    };
    let notice = "Deze zoekopdracht kwam via een andere website en is nog niet uitgevoerd.";
    let found = "Klant inschrijven met dit inlogaccount";

    for site in ["cross-site", "same-site"] {
        let linked = sent_from(site, "username=sanne").await.unwrap();
        assert_eq!(linked.status(), 200);
        let page = linked.text().await.unwrap();
        assert!(page.contains(notice), "{page}");
        assert!(
            page.contains(r#"id="username" name="username" type="text" value="sanne""#),
            "{page}"
        );
        assert!(!page.contains(found), "nothing found yet: {page}");
        // Not looked up: no redirect to a member page, and no "not found".
        let card = sent_from(site, "card_number=30000012345678").await.unwrap();
        assert_eq!(card.status(), 200);
        let page = card.text().await.unwrap();
        assert!(
            page.contains(notice) && !page.contains(r#"id="card-error""#),
            "{page}"
        );
    }
    assert_eq!(audited(&app, &sanne.id, "search_account").await, 0);

    let searched = sent_from("same-origin", "username=sanne").await.unwrap();
    let page = searched.text().await.unwrap();
    assert!(!page.contains(notice), "{page}");
    assert!(page.contains(found), "{page}");
    assert_eq!(audited(&app, &sanne.id, "search_account").await, 1);
}

/// An account found on the console's home page leads on to a registration
/// with it: "Bestaand inlogaccount gebruiken" chosen, and the search after
/// the details filled in with its username.
#[tokio::test]
async fn an_account_found_on_the_home_page_leads_to_a_registration_with_it() {
    let app = spawn_app().await;
    member(&app.store, "sanne").await;
    let (staff_browser, _) = staff_at_the_register_page(&app, "GRO01", "Biblionet Groningen").await;
    let home = fetch(&staff_browser, app.url("/frontoffice/GRO01?username=sanne")).await;
    let link =
        r#"href="/frontoffice/GRO01/register?username=sanne">Klant inschrijven met dit inlogaccount</a>"#;
    assert!(home.contains(link), "{home}");

    let page = fetch(
        &staff_browser,
        app.url("/frontoffice/GRO01/register?username=sanne"),
    )
    .await;
    assert!(
        page.contains(r#"name="account_choice" value="existing" checked"#),
        "{page}"
    );
    assert!(
        page.contains(r#"<input type="hidden" name="username" value="sanne">"#),
        "the details carry the username on to the search: {page}"
    );
    // As a browser posts the details: with the username the page carries.
    let carried = hidden_field(&page, "username");
    let (status, search) =
        step_for_sanne(&app, &staff_browser, &page, ("2015-03-03", "JEUGD"), "", &carried).await;
    assert_eq!(status, 200, "{search}");
    assert!(
        search.contains(r#"<input id="username" name="username" type="text" value="sanne""#),
        "{search}"
    );
    // Back to the details ("Gegevens wijzigen") and on: still filled in.
    let carried = hidden_field(&search, "username");
    let (status, details) = step_for_sanne(
        &app,
        &staff_browser,
        &search,
        ("2015-03-03", "JEUGD"),
        "edit",
        &carried,
    )
    .await;
    assert_eq!(status, 200, "{details}");
    assert!(
        details.contains(r#"<input type="hidden" name="username" value="sanne">"#),
        "{details}"
    );
}

/// The member who moved gave a birth date the account does not know: the
/// desk goes back to the details, corrects it, and links.
#[tokio::test]
async fn a_birth_date_the_account_does_not_know_is_corrected_in_the_details() {
    let app = spawn_app().await;
    member(&app.store, "sanne").await;
    let (staff_browser, page) = staff_at_the_register_page(&app, "GRO01", "Biblionet Groningen").await;
    let post = |page: String, birth_date: &'static str, step: &'static str, username: &'static str| {
        let staff_browser = staff_browser.clone();
        let app = &app;
        async move { step_for_sanne(app, &staff_browser, &page, (birth_date, "JEUGD"), step, username).await }
    };
    let link_with = |birth_date: &'static str, page: String| async move {
        let (status, search) = post(page, birth_date, "", "").await;
        assert_eq!(status, 200, "{search}");
        let (status, found) = post(search, birth_date, "search", "sanne").await;
        assert_eq!(status, 200, "{found}");
        post(found, birth_date, "link", "sanne").await
    };

    let (status, refused) = link_with("2015-03-04", page).await;
    assert_eq!(status, 422);
    assert!(refused.contains("andere geboortedatum"), "{refused}");
    assert!(refused.contains(r#"id="edit-details""#), "a way back: {refused}");
    let (status, details) = post(refused, "2015-03-04", "edit", "").await;
    assert_eq!(status, 200);
    assert!(
        details.contains(r#"name="birth_date" type="text" value="2015-03-04""#),
        "the details as typed, to correct: {details}"
    );
    assert!(!details.contains("error-summary"), "{details}");

    let (status, linked) = link_with("2015-03-03", details).await;
    assert_eq!(status, 200, "{linked}");
    assert!(linked.contains("Opbouw abonnementskosten"), "{linked}");
}

/// What is wrong with the details of a member who moved is said with the
/// details, where each message's link finds its field: a subscription for
/// another age before the search, a card number registered meanwhile at
/// the last step. Nothing is registered.
#[tokio::test]
async fn refused_details_of_a_member_who_moved_come_back_with_the_details() {
    let app = spawn_app().await;
    member(&app.store, "sanne").await;
    let (staff_browser, page) = staff_at_the_register_page(&app, "GRO01", "Biblionet Groningen").await;
    let with_the_details = |page: &str, field: &str, says: &str| {
        assert!(page.contains("<h1>Klant inschrijven</h1>"), "{page}");
        assert!(page.contains(says), "{says}: {page}");
        assert!(page.contains(&format!(r##"<a href="#{field}">"##)), "{page}");
        let input = page
            .split_once(&format!(r#"<input id="{field}" name="{field}""#))
            .and_then(|(_, rest)| rest.split_once('>'))
            .map(|(attributes, _)| attributes)
            .unwrap_or_else(|| panic!("no field {field}: {page}"));
        assert!(input.contains(r#"aria-invalid="true""#), "{input}");
    };

    let adult = ("1980-03-03", "JEUGD");
    let (status, refused) = step_for_sanne(&app, &staff_browser, &page, adult, "", "").await;
    assert_eq!(status, 422);
    with_the_details(&refused, "birth_date", "past niet bij de leeftijd");

    let child = ("2015-03-03", "JEUGD");
    let (status, search) = step_for_sanne(&app, &staff_browser, &refused, child, "", "").await;
    assert_eq!(status, 200, "{search}");
    let (status, found) = step_for_sanne(&app, &staff_browser, &search, child, "search", "sanne").await;
    assert_eq!(status, 200, "{found}");
    // Meanwhile the card is registered from another form, without an account.
    let without_account = [
        ("csrf", hidden_field(&search, "csrf")),
        ("idempotency_key", "console-another-form".to_owned()),
        ("card_number", "30000012345678".to_owned()),
        ("name", "Sanne de Vries".to_owned()),
        ("birth_date", child.0.to_owned()),
        ("branch", "5280".to_owned()),
        ("subscription_type", "JEUGD".to_owned()),
        ("use_account", "nee".to_owned()),
    ];
    let registered = staff_browser
        .post(app.url("/frontoffice/GRO01/register"))
        .form(&without_account)
        .send()
        .await
        .unwrap();
    assert_eq!(
        as_the_browser_shows(&staff_browser, registered).await.status(),
        200
    );

    let (status, refused) = step_for_sanne(&app, &staff_browser, &found, child, "link", "sanne").await;
    assert_eq!(status, 409, "{refused}");
    with_the_details(&refused, "card_number", "al ingeschreven");
    let libraries = libraries_of(&app, "sanne").await;
    assert!(!libraries.contains(&"GRO01".to_owned()), "{libraries:?}");
}

/// The member page's actions answer as the registration form does: 422 for
/// an address that is not one, 400 for a form from elsewhere, 409 when the
/// registration's state refuses; the registration is left as it was.
#[tokio::test]
async fn a_refused_member_page_action_says_why_in_its_status() {
    let app = spawn_app().await;
    let (staff_browser, page) = staff_at_the_register_page(&app, "DRE01", "Biblionet Drenthe").await;
    let form = filled_in(&page, "20000025252525", "Piet Jansen");
    let registered = register_at_drenthe(&app, &staff_browser, &form).await;
    assert_eq!(registered.status(), 200);
    let member_page = app.url("/frontoffice/DRE01/members/20000025252525");
    let page = fetch(&staff_browser, &member_page).await;
    let csrf = hidden_field(&page, "csrf");
    let act = |action: &str, form: Vec<(&'static str, String)>| {
        let request = staff_browser.post(format!("{member_page}/{action}")).form(&form);
        let staff_browser = staff_browser.clone();
        async move {
            let answer = as_the_browser_shows(&staff_browser, request.send().await.unwrap()).await;
            (answer.status().as_u16(), answer.text().await.unwrap())
        }
    };

    let (status, page) = act(
        "email",
        vec![("csrf", csrf.clone()), ("email", "geen adres".into())],
    )
    .await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains(r#"value="geen adres""#), "as typed: {page}");
    let typed_field = |page: &str| {
        let (_, rest) = page.split_once(r#"<input id="registration-email""#).unwrap();
        rest.split_once('>').unwrap().0.to_owned()
    };
    assert!(typed_field(&page).contains(r#"aria-invalid="true""#), "{page}");
    let (status, page) = act(
        "email",
        vec![("csrf", "elders".into()), ("email", "a@example.nl".into())],
    )
    .await;
    assert_eq!(status, 400, "{page}");
    assert!(
        !typed_field(&page).contains("aria-invalid"),
        "an expired form is not the address's fault: {page}"
    );
    let (status, page) = act(
        "login-account",
        vec![("csrf", csrf.clone()), ("username", "sanne".into())],
    )
    .await;
    assert_eq!(status, 409, "has an account already: {page}");

    let drenthe = drenthe(&app).await;
    let memberships = app.store.memberships().of_library(&drenthe).await.unwrap();
    let piet = memberships
        .iter()
        .find(|m| m.card_number.as_str() == "20000025252525")
        .unwrap();
    let email = piet.email.as_ref().map(|email| email.as_str());
    assert_eq!(email, Some("piet@example.nl"), "unchanged");
}

/// "Herstel-e-mailadres resetten" for a registration without an e-mail
/// address: the page says at once that there is none, instead of asking
/// whether to use an empty address.
#[tokio::test]
async fn resetting_the_recovery_address_without_one_in_the_registration_says_so() {
    let app = spawn_app().await;
    member(&app.store, "sanne").await;
    let (staff_browser, page) = staff_at_the_register_page(&app, "DRE01", "Biblionet Drenthe").await;
    let mut form = filled_in(&page, "20000027272727", "Sanne de Vries");
    form.retain(|(name, _)| !["email", "use_account", "account_choice", "birth_date"].contains(name));
    form.extend([("use_account", "nee".into()), ("birth_date", "2015-03-03".into())]);
    form.retain(|(name, _)| *name != "subscription_type");
    form.push(("subscription_type", "JEUGD".into()));
    let registered = register_at_drenthe(&app, &staff_browser, &form).await;
    assert_eq!(registered.status(), 200, "{}", registered.text().await.unwrap());
    let member_page = app.url("/frontoffice/DRE01/members/20000027272727");
    let page = fetch(&staff_browser, &member_page).await;
    let linked = staff_browser
        .post(format!("{member_page}/login-account"))
        .form(&[
            ("csrf", hidden_field(&page, "csrf")),
            ("username", "sanne".into()),
        ])
        .send()
        .await
        .unwrap();
    let linked = as_the_browser_shows(&staff_browser, linked).await;
    assert_eq!(linked.status(), 200, "{}", linked.text().await.unwrap());

    let asked = reset_told_not_asked(
        &staff_browser,
        &member_page,
        "In de inschrijving staat geen e-mailadres.",
    )
    .await;
    assert!(
        !asked.contains("uit de inschrijving: ."),
        "no question with an empty address: {asked}"
    );
}

/// A console form's answer as the browser shows it: a done action or
/// registration redirects (303) to the console page that shows it, which
/// the browser then asks for; a refusal is answered with the page itself.
async fn as_the_browser_shows(browser: &reqwest::Client, answer: reqwest::Response) -> reqwest::Response {
    if answer.status() != reqwest::StatusCode::SEE_OTHER {
        return answer;
    }
    let location = answer.headers()[reqwest::header::LOCATION].to_str().unwrap();
    let page = answer.url().join(location).unwrap();
    assert!(page.path().starts_with("/frontoffice/"), "{page}");
    browser.get(page).send().await.unwrap()
}

/// "Herstel-e-mailadres resetten" chosen on the member page at
/// `member_page`: the page `says` why it cannot be done, asks no "Ja",
/// and is returned.
async fn reset_told_not_asked(staff_browser: &reqwest::Client, member_page: &str, says: &str) -> String {
    let asked = staff_browser
        .get(format!("{member_page}?ask=recovery-email"))
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), 409);
    let asked = asked.text().await.unwrap();
    assert!(asked.contains(says), "{asked}");
    assert!(!asked.contains(r#"name="answer" value="ja""#), "{asked}");
    asked
}

/// A new account waits for its confirmation at the registration's own
/// address: "Herstel-e-mailadres resetten" could do nothing, and the page
/// says why instead of asking "Ja" first.
#[tokio::test]
async fn a_reset_that_could_do_nothing_is_explained_not_asked() {
    let app = spawn_app().await;
    let (staff_browser, page) = staff_at_the_register_page(&app, "DRE01", "Biblionet Drenthe").await;
    let registered = register_at_drenthe(
        &app,
        &staff_browser,
        &filled_in(&page, "20000028282828", "Piet Jansen"),
    )
    .await;
    assert_eq!(registered.status(), 200, "{}", registered.text().await.unwrap());
    reset_told_not_asked(
        &staff_browser,
        &app.url("/frontoffice/DRE01/members/20000028282828"),
        "Dit inlogaccount wacht nog op bevestiging",
    )
    .await;
}

/// A member registered at the console with "Nee" changes their mind: the
/// member page offers "Nieuw inlogaccount genereren" beside linking an
/// existing account, says where the mail goes, and then shows the account.
/// Without an address in the registration it says to fill one in first.
#[tokio::test]
async fn the_member_page_generates_an_account_for_a_registration_without_one() {
    let smtp = SmtpServer::start();
    let app = app_with_mail(&smtp).await;
    let (staff_browser, page) = staff_at_the_register_page(&app, "DRE01", "Biblionet Drenthe").await;
    for (card, email) in [("20000036363636", "piet@example.nl"), ("20000037373737", "")] {
        let mut form = filled_in(&page, card, "Piet Jansen");
        form.retain(|(name, _)| !["email", "use_account", "idempotency_key"].contains(name));
        form.extend([("use_account", "nee".into()), ("email", email.into())]);
        let registered = register_at_drenthe(&app, &staff_browser, &form).await;
        assert_eq!(registered.status(), 200, "{}", registered.text().await.unwrap());
    }

    let without_address = fetch(
        &staff_browser,
        app.url("/frontoffice/DRE01/members/20000037373737"),
    )
    .await;
    assert!(
        without_address.contains("Vul eerst het e-mailadres van de inschrijving in."),
        "{without_address}"
    );
    assert!(
        !without_address.contains("/new-login-account"),
        "{without_address}"
    );

    let member_page = app.url("/frontoffice/DRE01/members/20000036363636");
    let page = fetch(&staff_browser, &member_page).await;
    assert!(
        page.contains("<h3 id=\"new-account-heading\">Nieuw inlogaccount genereren</h3>"),
        "{page}"
    );
    assert!(
        page.contains("<h3 id=\"existing-account-heading\">Bestaand inlogaccount gebruiken</h3>"),
        "{page}"
    );
    assert!(page.contains("De klant krijgt een mail op"), "{page}");
    assert!(page.contains("piet@example.nl"), "{page}");
    let generate = || {
        staff_browser
            .post(format!("{member_page}/new-login-account"))
            .form(&[("csrf", hidden_field(&page, "csrf"))])
            .send()
    };
    let generated = generate().await.unwrap();
    assert_eq!(
        generated.status(),
        303,
        "done: the member page is shown by its own GET, so Back and reload do not send it again"
    );
    let generated = as_the_browser_shows(&staff_browser, generated).await;
    assert_eq!(generated.status(), 200);
    let generated = generated.text().await.unwrap();
    assert!(
        generated.contains("<p>Genereren van inlogaccount gelukt</p>"),
        "{generated}"
    );
    assert!(
        generated.contains("Laat de klant in de map met ongewenste mail (spam) kijken."),
        "{generated}"
    );
    assert!(
        generated.contains("<dd>20000036363636</dd>"),
        "the username: {generated}"
    );
    assert!(!generated.contains("/new-login-account"), "{generated}");
    let reloaded = fetch(&staff_browser, &member_page).await;
    assert!(
        !reloaded.contains("Genereren van inlogaccount gelukt"),
        "what was done is told once: {reloaded}"
    );
    assert!(reloaded.contains("<dd>20000036363636</dd>"), "{reloaded}");
    let mail = &smtp.wait_for_async(1).await[0];
    assert_eq!(mail.to, vec!["piet@example.nl".to_owned()]);

    // The same form sent again (a double click, the back button).
    let again = generate().await.unwrap();
    assert_eq!(again.status(), 409);
    let again = again.text().await.unwrap();
    assert!(
        again.contains("Deze inschrijving is al gekoppeld aan een inlogaccount."),
        "{again}"
    );
    let piet = Email::parse("piet@example.nl").unwrap();
    assert_eq!(app.store.accounts().by_email(&piet).await.unwrap().len(), 1);
}

/// A member who reads English gets the account's mails in English: staff
/// choose the language at the console's registration and when they
/// generate an account later, and the account keeps it for later mails.
/// Dutch is the default; a language the form does not offer is refused.
#[tokio::test]
async fn the_console_sends_an_account_s_mails_in_the_language_staff_choose() {
    let smtp = SmtpServer::start();
    let app = app_with_mail(&smtp).await;
    let (staff_browser, page) = staff_at_the_register_page(&app, "DRE01", "Biblionet Drenthe").await;
    assert!(
        page.contains("<legend>Taal van de mails aan de klant</legend>"),
        "{page}"
    );
    assert!(
        page.contains(r#"name="mail_language" value="nl" id="language" checked>"#),
        "Dutch unless staff choose otherwise: {page}"
    );

    let mut form = filled_in(&page, "20000038383838", "Tom Baker");
    form.retain(|(name, _)| *name != "email");
    form.extend([("email", "tom@example.nl".into()), ("mail_language", "en".into())]);
    let registered = register_at_drenthe(&app, &staff_browser, &form).await;
    assert_eq!(registered.status(), 200, "{}", registered.text().await.unwrap());
    let mail = &smtp.wait_for_async(1).await[0];
    assert_eq!(mail.to, vec!["tom@example.nl".to_owned()]);
    assert_eq!(
        mail.header("Subject").as_deref(),
        Some("Confirm your login account")
    );
    let tom = Username::parse("20000038383838").unwrap();
    let tom = app.store.accounts().by_username(&tom).await.unwrap().unwrap();
    assert_eq!(tom.language, "en");

    // Registered with "Nee", an account generated later from the member page.
    let page = fetch(&staff_browser, app.url("/frontoffice/DRE01/register")).await;
    let mut form = filled_in(&page, "20000039393939", "Jane Baker");
    form.retain(|(name, _)| !["email", "use_account"].contains(name));
    // The language of mails that "Nee" sends none of is not asked: any value is ignored.
    form.extend([
        ("use_account", "nee".into()),
        ("email", "jane@example.nl".into()),
        ("mail_language", "de".into()),
    ]);
    let registered = register_at_drenthe(&app, &staff_browser, &form).await;
    assert_eq!(registered.status(), 200, "{}", registered.text().await.unwrap());
    let member_page = app.url("/frontoffice/DRE01/members/20000039393939");
    let page = fetch(&staff_browser, &member_page).await;
    assert!(
        page.contains("<legend>Taal van de mails aan de klant</legend>"),
        "{page}"
    );
    let generate = |language: &'static str| {
        staff_browser
            .post(format!("{member_page}/new-login-account"))
            .form(&[
                ("csrf", hidden_field(&page, "csrf")),
                ("mail_language", language.into()),
            ])
            .send()
    };
    let refused = generate("de").await.unwrap();
    assert_eq!(refused.status(), 422);
    let refused = refused.text().await.unwrap();
    assert!(
        refused.contains("Kies Nederlands (nl) of Engels (en)."),
        "{refused}"
    );
    let jane = Email::parse("jane@example.nl").unwrap();
    assert!(app.store.accounts().by_email(&jane).await.unwrap().is_empty());

    let generated = as_the_browser_shows(&staff_browser, generate("en").await.unwrap()).await;
    assert_eq!(generated.status(), 200, "{}", generated.text().await.unwrap());
    let mail = &smtp.wait_for_async(2).await[1];
    assert_eq!(mail.to, vec!["jane@example.nl".to_owned()]);
    assert_eq!(
        mail.header("Subject").as_deref(),
        Some("Confirm your login account")
    );
    let accounts = app.store.accounts().by_email(&jane).await.unwrap();
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].language, "en");
}

/// The console undoes a link made by mistake only after "Ja", and then
/// offers a new account or the right one.
#[tokio::test]
async fn the_member_page_unlinks_an_account_after_the_question() {
    let smtp = SmtpServer::start();
    let app = app_with_mail(&smtp).await;
    member(&app.store, "sanne").await;
    let (staff_browser, page) = staff_at_the_register_page(&app, "DRE01", "Biblionet Drenthe").await;
    let form = filled_in(&page, "20000044444444", "Piet Jansen");
    assert_eq!(
        register_at_drenthe(&app, &staff_browser, &form).await.status(),
        200
    );
    let member_page = app.url("/frontoffice/DRE01/members/20000044444444");
    let page = fetch(&staff_browser, &member_page).await;
    assert!(
        page.contains("?ask=unlink\">Inlogaccount loskoppelen</a>"),
        "{page}"
    );

    let asked = fetch(&staff_browser, format!("{member_page}?ask=unlink")).await;
    assert!(
        asked.contains("Wil je deze inschrijving loskoppelen van inlogaccount"),
        "{asked}"
    );
    assert!(asked.contains("20000044444444"), "names the account: {asked}");
    let csrf = hidden_field(&asked, "csrf");
    let asked_about = hidden_field(&asked, "username");
    assert_eq!(asked_about, "20000044444444");
    let unlink_from = |username: &str, answer: &'static str| {
        staff_browser
            .post(format!("{member_page}/unlink"))
            .form(&[
                ("csrf", csrf.clone()),
                ("username", username.to_owned()),
                ("answer", answer.to_owned()),
            ])
            .send()
    };
    let unlink = |answer| unlink_from(&asked_about, answer);
    // Meanwhile on another account (a form from before a relink).
    let stale = unlink_from("sanne", "ja").await.unwrap();
    assert_eq!(stale.status(), 409);
    let stale = stale.text().await.unwrap();
    assert!(
        stale.contains("intussen aan een ander inlogaccount gekoppeld"),
        "{stale}"
    );
    let not_answered = as_the_browser_shows(&staff_browser, unlink("").await.unwrap()).await;
    assert_eq!(not_answered.status(), 200);
    let drenthe = drenthe(&app).await;
    let card = si_domain::CardNumber::parse("20000044444444").unwrap();
    let still = app.store.memberships().by_card(&drenthe, &card).await.unwrap();
    assert!(still.unwrap().account.is_some(), "nothing without Ja");

    let unlinked = as_the_browser_shows(&staff_browser, unlink("ja").await.unwrap()).await;
    assert_eq!(unlinked.status(), 200);
    let unlinked = unlinked.text().await.unwrap();
    assert!(
        unlinked.contains("De inschrijving is losgekoppeld van het inlogaccount."),
        "{unlinked}"
    );
    assert!(
        unlinked.contains(">Nieuw inlogaccount genereren</h3>"),
        "{unlinked}"
    );
    let now = app.store.memberships().by_card(&drenthe, &card).await.unwrap();
    assert_eq!(now.unwrap().account, None);
    // Asked again (the back button): there is nothing left to unlink.
    let asked_again = fetch(&staff_browser, format!("{member_page}?ask=unlink")).await;
    assert!(
        !asked_again.contains("Wil je deze inschrijving loskoppelen"),
        "{asked_again}"
    );
}

/// After an action the address bar shows the action's address: opened
/// again as a page (Enter, a new tab) it leads back to the member page
/// instead of "this is not possible here"; an address no action has is not
/// found.
#[tokio::test]
async fn an_action_address_opened_as_a_page_goes_back_to_the_member() {
    let app = spawn_app().await;
    let (staff_browser, page) = staff_at_the_register_page(&app, "DRE01", "Biblionet Drenthe").await;
    let form = filled_in(&page, "20000028282828", "Piet Jansen");
    assert_eq!(
        register_at_drenthe(&app, &staff_browser, &form).await.status(),
        200
    );
    let member_page = "/frontoffice/DRE01/members/20000028282828";
    for action in [
        "confirmation-mail",
        "recovery-email",
        "email",
        "password-reset",
        "login-account",
        "new-login-account",
        "unlink",
    ] {
        let opened = staff_browser
            .get(app.url(&format!("{member_page}/{action}")))
            .send()
            .await
            .unwrap();
        assert_eq!(opened.status(), 303, "{action}");
        assert_eq!(opened.headers()["location"], member_page, "{action}");
    }
    for unknown in [
        format!("{member_page}/delete"),
        "/frontoffice/DRE01/members/12/email".to_owned(),
    ] {
        let opened = staff_browser.get(app.url(&unknown)).send().await.unwrap();
        assert_eq!(opened.status(), 404, "{unknown}");
    }
}

/// What no form of the console sends (a choice it does not offer, a
/// search field twice) gets the "bad request" page, not a guess.
#[tokio::test]
async fn the_console_refuses_what_its_forms_never_send() {
    let app = spawn_app().await;
    let (staff_browser, page) = staff_at_the_register_page(&app, "DRE01", "Biblionet Drenthe").await;
    let bad_request = |answer: reqwest::Response| async move {
        let status = answer.status();
        let page = answer.text().await.unwrap();
        assert_eq!(status, 400, "{page}");
        assert!(page.contains("Dit verzoek klopt niet"), "{page}");
    };
    for (field, value) in [
        ("use_account", "misschien"),
        ("account_choice", "beide"),
        ("step", "skip"),
    ] {
        let mut form = filled_in(&page, "20000025252525", "Piet Jansen");
        form.retain(|(name, _)| *name != field);
        form.push((field, value.to_owned()));
        bad_request(register_at_drenthe(&app, &staff_browser, &form).await).await;
    }
    let drenthe = drenthe(&app).await;
    let memberships = app.store.memberships().of_library(&drenthe).await.unwrap();
    let piet = memberships
        .iter()
        .find(|m| m.card_number.as_str() == "20000025252525");
    assert!(piet.is_none(), "nothing registered");

    for search in [
        "/frontoffice/DRE01?card_number=20000025252525&card_number=2",
        "/frontoffice/DRE01?username=sanne&username=piet",
        "/frontoffice/DRE01/members/20000025252525?ask=email&ask=recovery-email",
    ] {
        bad_request(staff_browser.get(app.url(search)).send().await.unwrap()).await;
    }
}

/// Changing the address of a registration whose account still waits for
/// its confirmation changes the account's address too: the form says so,
/// not that the recovery address stays.
#[tokio::test]
async fn the_address_form_of_an_unconfirmed_account_says_the_account_follows() {
    let app = spawn_app().await;
    let (staff_browser, page) = staff_at_the_register_page(&app, "DRE01", "Biblionet Drenthe").await;
    let form = filled_in(&page, "20000026262626", "Piet Jansen");
    let registered = register_at_drenthe(&app, &staff_browser, &form).await;
    assert_eq!(registered.status(), 200);
    let page = fetch(
        &staff_browser,
        app.url("/frontoffice/DRE01/members/20000026262626?ask=email"),
    )
    .await;
    assert!(
        page.contains("het krijgt het nieuwe adres, en de bevestigingsmail gaat opnieuw")
            && !page.contains("verandert niet mee"),
        "{page}"
    );
}

#[tokio::test]
async fn a_console_registration_posted_twice_registers_once() {
    let app = spawn_app().await;
    let (staff_browser, page) = staff_at_the_register_page(&app, "DRE01", "Biblionet Drenthe").await;
    let form = filled_in(&page, "20000024242424", "Piet Jansen");
    let sent = staff_browser
        .post(app.url("/frontoffice/DRE01/register"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        sent.status(),
        303,
        "shown by its own GET, so reload sends nothing again"
    );
    let shown_at = sent.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        shown_at.starts_with("/frontoffice/DRE01/registered/console-"),
        "{shown_at}"
    );
    for _ in 0..2 {
        let reloaded = fetch(&staff_browser, &app.url(&shown_at)).await;
        assert!(
            reloaded.contains("Genereren van inlogaccount gelukt"),
            "{reloaded}"
        );
        assert!(reloaded.contains("20000024242424"), "{reloaded}");
    }
    // The language switch brings the kept answer back in the language
    // chosen, what happened and what to tell the member included.
    let switch_to = |language: &str| {
        let switch = app.url(&format!("/language/{language}?return={shown_at}"));
        let (staff_browser, shown_at) = (&staff_browser, &shown_at);
        async move {
            let switched = staff_browser.get(switch).send().await.unwrap();
            assert_eq!(switched.headers()["location"], shown_at.as_str());
        }
    };
    switch_to("en").await;
    let in_english = fetch(&staff_browser, &app.url(&shown_at)).await;
    assert!(in_english.contains("Login account generated"), "{in_english}");
    assert!(
        in_english.contains("No mail? Ask the member to look in the junk (spam) folder."),
        "{in_english}"
    );
    assert!(!in_english.contains("gelukt"), "{in_english}");
    switch_to("nl").await;
    for _ in 0..2 {
        let answer = register_at_drenthe(&app, &staff_browser, &form).await;
        assert_eq!(answer.status(), 200);
        assert!(
            answer
                .text()
                .await
                .unwrap()
                .contains("Genereren van inlogaccount gelukt")
        );
    }
    let drenthe = drenthe(&app).await;
    let pieten = || async {
        let all = app.store.memberships().of_library(&drenthe).await.unwrap();
        all.iter()
            .filter(|m| m.member_name.as_str() == "Piet Jansen")
            .count()
    };
    assert_eq!(pieten().await, 1);
    let audit = app
        .store
        .audit()
        .list(si_store::audit::AuditFilter {
            library: Some(&drenthe),
            account: None,
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].actor, "staff:balie.anna");

    let forged = [("csrf", "forged"), ("card_number", "20000025252525")];
    let forged = register_at_drenthe(&app, &staff_browser, &forged).await;
    assert_eq!(forged.status(), 400);
    assert_eq!(pieten().await, 1);

    // Not at another library of the same staff member, nor for a key of
    // no registration, nor for a library system's key (its answer is the
    // system's to show), nor without the staff session.
    desk_library(&app, "GRO01", "Biblionet Groningen").await;
    let anna = Username::parse("balie.anna").unwrap();
    let anna = app.store.accounts().by_username(&anna).await.unwrap().unwrap();
    let groningen = app
        .store
        .catalogue()
        .library(&LibraryCode::parse("GRO01").unwrap())
        .await
        .unwrap();
    app.store.staff().grant(&anna.id, &groningen).await.unwrap();
    let token = desk_token(&app, "DRE01", ALL_DESK_SCOPES).await;
    let key = [("idempotency-key", "order-17")];
    let by_api = adult("20000024242425", "api@example.nl");
    let by_api = call_with(&app, &token, "POST", "/api/v1/memberships", Some(&by_api), &key).await;
    assert_eq!(by_api.status, 201);
    for (browser, path, status) in [
        (&staff_browser, shown_at.replace("/DRE01/", "/GRO01/"), 404),
        (
            &staff_browser,
            "/frontoffice/DRE01/registered/console-0".to_owned(),
            404,
        ),
        (
            &staff_browser,
            "/frontoffice/DRE01/registered/order-17".to_owned(),
            404,
        ),
        (
            &staff_browser,
            "/frontoffice/DRE01/registered/console-%00".to_owned(),
            404,
        ),
        (&app.client, shown_at.clone(), 303),
    ] {
        let answer = browser.get(app.url(&path)).send().await.unwrap();
        assert_eq!(answer.status().as_u16(), status, "{path}");
        let text = answer.text().await.unwrap();
        assert!(!text.contains("2000002424242"), "{path}: {text}");
    }
}

/// A registration sent after the staff member's session ended (logged out
/// in another tab, or idle too long): the login says the form was not kept,
/// and leads back to the form.
#[tokio::test]
async fn a_form_sent_after_the_desk_session_ended_says_so_and_leads_back_to_it() {
    let app = spawn_app().await;
    let (staff_browser, page) = staff_at_the_register_page(&app, "DRE01", "Biblionet Drenthe").await;
    let logout = [
        ("csrf", hidden_field(&page, "csrf")),
        ("desk", hidden_field(&page, "desk")),
    ];
    staff_browser
        .post(app.url("/logout"))
        .form(&logout)
        .send()
        .await
        .unwrap();

    let sent = staff_browser
        .post(app.url("/frontoffice/DRE01/register"))
        .form(&filled_in(&page, "20000011111111", "Piet Jansen"))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 303);
    let login = sent.headers()["location"].to_str().unwrap().to_owned();
    let login_page = fetch(&staff_browser, app.url(&login)).await;
    assert!(
        login_page.contains("Wat je net had ingevuld, is niet opgeslagen."),
        "{login_page}"
    );
    let registered = app
        .store
        .memberships()
        .of_library(&drenthe(&app).await)
        .await
        .unwrap();
    assert!(
        !registered.iter().any(|m| m.member_name.as_str() == "Piet Jansen"),
        "nothing registered without a session"
    );

    // In English, the login still leads back to the form.
    let switched = staff_browser
        .get(app.url(&to_english(&login_page)))
        .send()
        .await
        .unwrap();
    let english = switched.headers()["location"].to_str().unwrap().to_owned();
    let english_page = fetch(&staff_browser, app.url(&english)).await;
    assert!(
        english_page.contains("What you had just filled in was not saved."),
        "{english_page}"
    );
    let back = staff_browser
        .post(app.url("/login"))
        .form(&LoginForm::of(&english_page).filled("balie.anna", PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(back.status(), 303);
    assert_eq!(back.headers()["location"], "/frontoffice/DRE01/register");
    app.stop().await;
}

/// A library the operator has not given a branch yet: the console says
/// what is missing and who adds it, instead of a form no one can complete.
#[tokio::test]
async fn the_console_says_a_library_without_a_branch_cannot_register_yet() {
    let app = spawn_app().await;
    let groningen = LibraryCode::parse("GRO01").unwrap();
    app.store
        .catalogue()
        .create_library(&groningen, &DisplayName::parse("Bibliotheek Groningen").unwrap())
        .await
        .unwrap();
    let staff_browser = staff_logged_in(&app, "GRO01").await;
    let page = fetch(&staff_browser, &app.url("/frontoffice/GRO01/register")).await;
    assert!(
        page.contains("Bij deze bibliotheek kun je nog niemand inschrijven: er is nog geen vestiging"),
        "{page}"
    );
    assert!(
        !page.contains(r#"id="card_number""#),
        "no form to fill in: {page}"
    );

    // Once the operator added a branch and a subscription, the form is there.
    let (_, _, _) = library(&app.store, "GRO01", "Bibliotheek Groningen").await;
    let page = fetch(&staff_browser, &app.url("/frontoffice/GRO01/register")).await;
    assert!(page.contains(r#"id="card_number""#), "{page}");
    app.stop().await;
}

/// Staff type a birth date as the desk's screens show one, day first; a
/// day the calendar does not have is refused at the field, nothing stored.
#[tokio::test]
async fn the_console_takes_a_birth_date_typed_day_first() {
    let app = spawn_app().await;
    let (staff_browser, page) = staff_at_the_register_page(&app, "DRE01", "Biblionet Drenthe").await;
    let drenthe = drenthe(&app).await;
    let birth_dates = || async {
        let all = app.store.memberships().of_library(&drenthe).await.unwrap();
        all.iter()
            .filter(|m| m.member_name.as_str() == "Piet Jansen")
            .map(|m| m.birth_date.to_string())
            .collect::<Vec<_>>()
    };

    let mut form = filled_in(&page, "20000026262626", "Piet Jansen");
    form.retain(|(name, _)| *name != "birth_date");
    form.push(("birth_date", "30-02-1980".into()));
    let refused = register_at_drenthe(&app, &staff_browser, &form).await;
    assert_eq!(refused.status(), 422);
    let refused = refused.text().await.unwrap();
    assert!(refused.contains("Vul een geboortedatum in"), "{refused}");
    assert!(
        refused.contains(r#"type="text" value="30-02-1980""#),
        "as typed: {refused}"
    );
    assert_eq!(birth_dates().await, Vec::<String>::new());

    let mut form = filled_in(&refused, "20000026262626", "Piet Jansen");
    form.retain(|(name, _)| *name != "birth_date");
    form.push(("birth_date", " 29-02-1980 ".into()));
    let registered = register_at_drenthe(&app, &staff_browser, &form).await;
    assert_eq!(registered.status(), 200, "{}", registered.text().await.unwrap());
    assert_eq!(birth_dates().await, ["1980-02-29"]);
    let member_page = fetch(
        &staff_browser,
        &app.url("/frontoffice/DRE01/members/20000026262626"),
    )
    .await;
    assert!(member_page.contains("29-02-1980"), "{member_page}");
}

#[tokio::test]
async fn a_sent_form_brought_back_and_changed_is_explained_and_then_registered() {
    let app = spawn_app().await;
    let (staff_browser, page) = staff_at_the_register_page(&app, "DRE01", "Biblionet Drenthe").await;
    let post = |form: Vec<(&'static str, String)>| {
        let staff_browser = staff_browser.clone();
        let url = app.url("/frontoffice/DRE01/register");
        async move {
            let answer = staff_browser.post(url).form(&form).send().await.unwrap();
            let answer = as_the_browser_shows(&staff_browser, answer).await;
            (answer.status().as_u16(), answer.text().await.unwrap())
        }
    };
    let (status, _) = post(filled_in(&page, "20000026262626", "Piet Jansen")).await;
    assert_eq!(status, 200);

    // Back, and the next member typed over the same form: its key was used.
    let (status, explained) = post(filled_in(&page, "20000027272727", "Klaas Jansen")).await;
    assert_eq!(status, 409);
    assert!(
        explained.contains("Dit formulier is al eens verstuurd"),
        "{explained}"
    );
    assert_ne!(
        hidden_field(&explained, "idempotency_key"),
        hidden_field(&page, "idempotency_key"),
        "a new key, so that the form can be sent again"
    );
    let (status, registered) = post(filled_in(&explained, "20000027272727", "Klaas Jansen")).await;
    assert_eq!(status, 200, "{registered}");

    // A card registered already: the card number field says so.
    let mut again = filled_in(&explained, "20000026262626", "Piet Jansen");
    again.retain(|(name, _)| *name != "idempotency_key");
    again.push(("idempotency_key", "console-again".into()));
    let (status, refused) = post(again).await;
    assert_eq!(status, 409);
    assert!(
        refused.contains(r#"aria-invalid="true" aria-describedby="card_number-error""#),
        "{refused}"
    );

    let mut not_an_amount = filled_in(&explained, "20000028282828", "Kees Jansen");
    not_an_amount.retain(|(name, _)| *name != "idempotency_key");
    not_an_amount.push(("idempotency_key", "console-other".into()));
    not_an_amount.retain(|(name, _)| *name != "discount");
    not_an_amount.push(("discount", "5,555".into()));
    let (status, refused) = post(not_an_amount).await;
    assert_eq!(status, 422);
    assert!(
        refused.contains("Vul de korting in als bedrag in euro&#39;s"),
        "{refused}"
    );

    // A key sent back as no key is (a NUL, which PostgreSQL cannot store):
    // the form registers as one without a key would, and the page sent
    // back carries a new one.
    let mut changed = filled_in(&explained, "20000029292929", "Joop Jansen");
    changed.retain(|(name, _)| *name != "idempotency_key");
    changed.push(("idempotency_key", "console-\0".into()));
    let (status, registered) = post(changed).await;
    assert_eq!(status, 200, "{registered}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_registration_sent_at_once_from_five_connections_registers_once() {
    let app = spawn_app().await;
    desk_library(&app, "DRE01", "Biblionet Drenthe").await;
    let token = desk_token(&app, "DRE01", ALL_DESK_SCOPES).await;
    let request = adult("20000061616161", "g@example.nl");
    let key = [("idempotency-key", "wise-burst")];

    let answers = futures_util::future::join_all(
        (0..5).map(|_| call_with(&app, &token, "POST", "/api/v1/memberships", Some(&request), &key)),
    )
    .await;

    for answer in &answers {
        assert_eq!(answer.status, 201, "{:?}", answer.body);
        assert_eq!(answer.body, answers[0].body, "every repeat gets the first answer");
    }
    let drenthe = drenthe(&app).await;
    assert_eq!(
        app.store.memberships().of_library(&drenthe).await.unwrap().len(),
        1
    );
}
