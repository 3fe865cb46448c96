//! OpenID Connect clients as stored: round trip, library reference, duplicates,
//! delete, and a clean slate for a client created again.

use std::sync::Arc;

use si_domain::{AccountStatus, DisplayName, LibraryCode, Username};
use si_store::{
    FixedClock, Repositories, Store, StoreError, accounts::NewAccount, clients::NewClient,
    grants::RefreshGrant, testing::TestDatabase, time, time::macros::datetime,
};

async fn fresh_store() -> (Store, TestDatabase) {
    let database = TestDatabase::create().await;
    let clock = FixedClock::at(datetime!(2024-06-19 10:00 UTC));
    let store = Store::connect(&database.url, Arc::new(clock))
        .await
        .expect("connect");
    store.migrate().await.expect("migrate");
    (store, database)
}

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| v.to_string()).collect()
}

fn new_client(id: &str, library: Option<&str>) -> NewClient {
    NewClient {
        id: id.to_owned(),
        name: DisplayName::parse("Wise Drenthe").unwrap(),
        kind: "confidential".to_owned(),
        secret_digest: Some("ab".repeat(32)),
        redirect_uris: strings(&["https://drenthe.example/cb", "http://127.0.0.1:8080/cb"]),
        post_logout_redirect_uris: strings(&["https://drenthe.example/"]),
        backchannel_logout_uri: Some("https://drenthe.example/logout".to_owned()),
        grant_types: strings(&["authorization_code", "client_credentials"]),
        scopes: strings(&["openid", "desk:search"]),
        library: library.map(|code| LibraryCode::parse(code).unwrap()),
        id_token_algorithm: "ES256".to_owned(),
    }
}

#[tokio::test]
async fn a_client_reads_back_as_written_with_its_library() {
    let (store, _db) = fresh_store().await;
    let library = store
        .catalogue()
        .create_library(
            &LibraryCode::parse("DRE01").unwrap(),
            &DisplayName::parse("Bibliotheek Drenthe").unwrap(),
        )
        .await
        .unwrap();
    let new = new_client("wise-dre01", Some("dre01"));
    let created = store.clients().create(new.clone()).await.unwrap();
    let read = store.clients().get("wise-dre01").await.unwrap().unwrap();
    assert_eq!(created, read);
    assert_eq!(read.library, Some(library));
    assert_eq!(read.redirect_uris, new.redirect_uris);
    assert_eq!(read.post_logout_redirect_uris, new.post_logout_redirect_uris);
    assert_eq!(read.backchannel_logout_uri, new.backchannel_logout_uri);
    assert_eq!(read.grant_types, new.grant_types);
    assert_eq!(read.scopes, new.scopes);
    assert_eq!(read.secret_digest, new.secret_digest);
    assert_eq!(read.kind, "confidential");
    assert_eq!(read.id_token_algorithm, "ES256");
    assert_eq!(read.created_at, datetime!(2024-06-19 10:00 UTC));

    let json = serde_json::to_value(&read).unwrap();
    assert_eq!(json["library"]["code"], "DRE01");
    assert!(json.get("secret_digest").is_none(), "{json}");
    assert!(!json.to_string().contains(&"ab".repeat(32)), "{json}");
}

#[tokio::test]
async fn clients_list_by_id_and_delete_once() {
    let (store, _db) = fresh_store().await;
    let clients = store.clients();
    let mut public = new_client("app", None);
    public.kind = "public".to_owned();
    public.secret_digest = None;
    public.redirect_uris = strings(&[]);
    clients.create(new_client("zz-site", None)).await.unwrap();
    clients.create(public).await.unwrap();

    let listed = clients.list().await.unwrap();
    let ids: Vec<&str> = listed.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["app", "zz-site"]);
    assert_eq!(listed[0].secret_digest, None);
    assert_eq!(listed[0].library, None);
    assert!(listed[0].redirect_uris.is_empty());

    clients.delete("app").await.unwrap();
    assert!(matches!(
        clients.delete("app").await,
        Err(StoreError::NotFound { what: "client" })
    ));
    assert_eq!(clients.get("app").await.unwrap(), None);
    assert_eq!(clients.list().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_duplicate_id_or_an_unknown_library_is_refused_and_writes_nothing() {
    let (store, _db) = fresh_store().await;
    let clients = store.clients();
    clients.create(new_client("site", None)).await.unwrap();
    assert!(matches!(
        clients.create(new_client("site", None)).await,
        Err(StoreError::Duplicate { what: "client" })
    ));
    assert!(matches!(
        clients.create(new_client("other", Some("NOPE"))).await,
        Err(StoreError::NotFound { what: "library" })
    ));
    assert_eq!(clients.list().await.unwrap().len(), 1);
}

/// A node that still held a deleted client may give it a refresh token in
/// the second after: the client created again under its id does not
/// inherit it.
#[tokio::test]
async fn a_client_created_again_inherits_no_grant_given_under_its_id() {
    let (store, _db) = fresh_store().await;
    store.clients().create(new_client("ebooks", None)).await.unwrap();
    store.clients().delete("ebooks").await.unwrap();
    let account = store
        .accounts()
        .create(NewAccount {
            username: Username::parse("sanne").unwrap(),
            email: None,
            status: AccountStatus::Active,
            language: "nl".into(),
            password_hash: None,
        })
        .await
        .unwrap();
    let now = datetime!(2024-06-19 10:00 UTC);
    let given_after_the_deletion = RefreshGrant {
        token_digest: "late".to_owned(),
        family_id: "fam".to_owned(),
        client_id: "ebooks".to_owned(),
        account: account.id,
        session_digest: None,
        code_digest: None,
        scope: "openid".to_owned(),
        auth_time: now,
        expires_at: now + time::Duration::days(30),
    };
    store
        .grants()
        .start_family(&given_after_the_deletion)
        .await
        .unwrap();
    assert_eq!(
        store.grants().family_client("fam").await.unwrap().as_deref(),
        Some("ebooks")
    );

    store.clients().create(new_client("ebooks", None)).await.unwrap();
    assert_eq!(store.grants().family_client("fam").await.unwrap(), None);
    assert_eq!(
        store
            .grants()
            .current_refresh("fam", "late", crate::LOGIN_LIFETIME)
            .await
            .unwrap(),
        None
    );
}
