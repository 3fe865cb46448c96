//! Catalogue, accounts, memberships, audit log and outbox.

use std::sync::Arc;

use si_domain::{
    AccountStatus, AgeRange, BranchCode, CardNumber, DisplayName, Email, LibraryCode, Money,
    SubscriptionCode, SubscriptionTerms, TariffCode, Username,
};
use si_store::{
    FixedClock, Repositories, Store, StoreError,
    accounts::NewAccount,
    audit::{AuditFilter, NewAuditEntry},
    catalogue::{Library, NewSubscriptionType},
    memberships::NewMembership,
    sessions::Renewal,
    testing::TestDatabase,
    time::{Date, Month, macros::datetime},
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

fn code(s: &str) -> LibraryCode {
    LibraryCode::parse(s).unwrap()
}
fn name(s: &str) -> DisplayName {
    DisplayName::parse(s).unwrap()
}
fn username(s: &str) -> Username {
    Username::parse(s).unwrap()
}
fn email(s: &str) -> Email {
    Email::parse(s).unwrap()
}

fn new_account(user: &str, address: Option<&str>) -> NewAccount {
    NewAccount {
        username: username(user),
        email: address.map(email),
        status: AccountStatus::Pending,
        language: "nl".into(),
        password_hash: None,
    }
}

async fn library_with_catalogue(store: &Store, library: &str) -> Library {
    let catalogue = store.catalogue();
    let created = catalogue
        .create_library(&code(library), &name("Bibliotheek Drenthe"))
        .await
        .unwrap();
    catalogue
        .create_branch(&created.code, &BranchCode::parse("5280").unwrap(), &name("Assen"))
        .await
        .unwrap();
    let terms = SubscriptionTerms::new(
        Money::from_cents(0).unwrap(),
        12,
        AgeRange::new(0, Some(17)).unwrap(),
    )
    .unwrap();
    catalogue
        .create_subscription_type(
            &created.code,
            &NewSubscriptionType {
                code: SubscriptionCode::parse("JEUGD").unwrap(),
                name: name("Jeugd"),
                tariff_code: TariffCode::parse("J01").unwrap(),
                terms,
            },
        )
        .await
        .unwrap();
    created
}

async fn register(
    store: &Store,
    library: &Library,
    card: &str,
    account: Option<si_domain::AccountId>,
) -> Result<si_store::memberships::Membership, StoreError> {
    let catalogue = store.catalogue();
    let branch = catalogue
        .branch(&library.code, &BranchCode::parse("5280").unwrap())
        .await
        .unwrap();
    let subscription = catalogue
        .subscription_type(&library.code, &SubscriptionCode::parse("JEUGD").unwrap())
        .await
        .unwrap();
    store
        .memberships()
        .create(NewMembership {
            library,
            branch: &branch,
            subscription: &subscription,
            card_number: CardNumber::parse(card).unwrap(),
            member_name: name("Sanne de Vries"),
            birth_date: Date::from_calendar_date(2015, Month::March, 3).unwrap(),
            email: Some(email("ouders@example.nl")),
            valid_until: Date::from_calendar_date(2025, Month::May, 31).unwrap(),
            account,
        })
        .await
}

#[tokio::test]
async fn migrating_twice_changes_nothing_the_second_time() {
    let (store, _db) = fresh_store().await;
    assert!(store.pending_migrations().await.unwrap().is_empty());
    assert!(store.migrate().await.unwrap().is_empty());
}

/// A database brought up to date by its owner is run by a role that may
/// only read and write rows: migrating it then asks for no DDL, so a
/// connection that may change nothing at all finds nothing to do.
#[tokio::test]
async fn migrating_an_up_to_date_database_changes_nothing_at_all() {
    let (_store, db) = fresh_store().await;
    // SQLite runs CREATE TABLE IF NOT EXISTS of a table it has on a
    // read-only connection too: only PostgreSQL tells.
    if !db.is_postgres() {
        return;
    }
    let read_only = format!("{}?options=-c%20default_transaction_read_only%3Don", db.url);
    let clock = Arc::new(FixedClock::at(datetime!(2024-06-19 10:00 UTC)));
    let store = Store::connect(&read_only, clock).await.unwrap();
    assert!(store.migrate().await.unwrap().is_empty());
    // The connection does refuse a change.
    assert!(
        store
            .catalogue()
            .create_library(&code("RO01"), &name("Alleen lezen"))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn two_nodes_migrating_at_once_both_succeed() {
    let database = TestDatabase::create().await;
    let clock = Arc::new(FixedClock::at(datetime!(2024-06-19 10:00 UTC)));
    let a = Store::connect(&database.url, clock.clone()).await.unwrap();
    let b = Store::connect(&database.url, clock).await.unwrap();
    let pending = a.pending_migrations().await.unwrap();
    assert!(pending.len() >= 3, "{pending:?}");
    let (ra, rb) = tokio::join!(a.migrate(), b.migrate());
    let applied = ra.unwrap().len() + rb.unwrap().len();
    assert_eq!(applied, pending.len(), "each migration ran exactly once");
    assert!(a.pending_migrations().await.unwrap().is_empty());
}

#[tokio::test]
async fn libraries_are_unique_by_code_and_listed_in_order() {
    let (store, _db) = fresh_store().await;
    let catalogue = store.catalogue();
    catalogue
        .create_library(&code("ZEE01"), &name("Bibliotheek Zeeland"))
        .await
        .unwrap();
    catalogue
        .create_library(&code("dre01"), &name("Biblionet Drenthe"))
        .await
        .unwrap();
    let duplicate = catalogue.create_library(&code("DRE01"), &name("Another")).await;
    assert!(
        matches!(duplicate, Err(StoreError::Duplicate { what: "library" })),
        "{duplicate:?}"
    );
    let codes: Vec<String> = catalogue
        .libraries()
        .await
        .unwrap()
        .iter()
        .map(|l| l.code.to_string())
        .collect();
    assert_eq!(codes, ["DRE01", "ZEE01"]);
}

#[tokio::test]
async fn branches_belong_to_an_existing_library_and_are_unique_within_it() {
    let (store, _db) = fresh_store().await;
    let catalogue = store.catalogue();
    let branch = BranchCode::parse("5280").unwrap();
    let missing = catalogue
        .create_branch(&code("NOPE"), &branch, &name("Assen"))
        .await;
    assert!(
        matches!(missing, Err(StoreError::NotFound { what: "library" })),
        "{missing:?}"
    );

    catalogue
        .create_library(&code("DRE01"), &name("Biblionet Drenthe"))
        .await
        .unwrap();
    catalogue
        .create_library(&code("GRO01"), &name("Biblionet Groningen"))
        .await
        .unwrap();
    catalogue
        .create_branch(&code("DRE01"), &branch, &name("Assen"))
        .await
        .unwrap();
    let twice = catalogue
        .create_branch(&code("DRE01"), &branch, &name("Assen"))
        .await;
    assert!(
        matches!(twice, Err(StoreError::Duplicate { what: "branch" })),
        "{twice:?}"
    );
    catalogue
        .create_branch(&code("GRO01"), &branch, &name("Groningen Centrum"))
        .await
        .unwrap();

    let branches = catalogue.branches(&code("DRE01")).await.unwrap();
    assert_eq!(branches.len(), 1);
    assert_eq!(branches[0].name.as_str(), "Assen");
}

/// Types an older version stored past today's limits (an age of 200, a
/// fee past a million euros) made their library's catalogue unreadable;
/// step 0017 holds them to the limits.
#[tokio::test]
async fn subscription_types_stored_past_the_limits_are_held_to_them() {
    use sea_orm::ConnectionTrait;
    let (store, _db) = fresh_store().await;
    let library = library_with_catalogue(&store, "DRE01").await;
    let old = "UPDATE subscription_types SET min_age = 200, max_age = 250, yearly_fee_cents = 150000000";
    store.connection().execute_unprepared(old).await.unwrap();
    let unreadable = store
        .catalogue()
        .subscription_types(&library.code)
        .await
        .unwrap_err();
    assert!(
        unreadable
            .to_string()
            .contains("DRE01 JEUGD: a yearly fee of 150000000 cents, 12 months, ages 200 to 250"),
        "{unreadable}"
    );
    let before_the_step = "DELETE FROM schema_migrations WHERE version = 17";
    store
        .connection()
        .execute_unprepared(before_the_step)
        .await
        .unwrap();

    assert_eq!(store.migrate().await.unwrap(), ["0017_subscription_limits"]);

    let types = store.catalogue().subscription_types(&library.code).await.unwrap();
    assert_eq!(types[0].terms.age_range(), AgeRange::new(130, None).unwrap());
    assert_eq!(
        types[0].terms.yearly_fee(),
        Money::from_cents(100_000_000).unwrap()
    );
}

#[tokio::test]
async fn subscription_types_keep_their_terms() {
    let (store, _db) = fresh_store().await;
    let library = library_with_catalogue(&store, "DRE01").await;
    let catalogue = store.catalogue();
    let terms = SubscriptionTerms::new(
        Money::from_cents(5_250).unwrap(),
        12,
        AgeRange::new(18, None).unwrap(),
    )
    .unwrap();
    let adult = NewSubscriptionType {
        code: SubscriptionCode::parse("VOLW").unwrap(),
        name: name("Volwassen basis"),
        tariff_code: TariffCode::parse("V02").unwrap(),
        terms,
    };
    catalogue
        .create_subscription_type(&library.code, &adult)
        .await
        .unwrap();
    let again = catalogue.create_subscription_type(&library.code, &adult).await;
    assert!(matches!(again, Err(StoreError::Duplicate { .. })), "{again:?}");

    let stored = catalogue
        .subscription_type(&library.code, &adult.code)
        .await
        .unwrap();
    assert_eq!(stored.terms, terms);
    assert_eq!(stored.tariff_code.as_str(), "V02");
    let codes: Vec<String> = catalogue
        .subscription_types(&library.code)
        .await
        .unwrap()
        .iter()
        .map(|s| s.code.to_string())
        .collect();
    assert_eq!(codes, ["JEUGD", "VOLW"]);
}

#[tokio::test]
async fn usernames_are_unique_exactly_as_typed_and_case_sensitive() {
    let (store, _db) = fresh_store().await;
    let accounts = store.accounts();
    let lower = accounts
        .create(new_account("jansen", Some("jan@example.nl")))
        .await
        .unwrap();
    let upper = accounts
        .create(new_account("Jansen", Some("jan@example.nl")))
        .await
        .unwrap();
    assert_ne!(lower.id, upper.id);
    let twice = accounts.create(new_account("jansen", None)).await;
    assert!(
        matches!(twice, Err(StoreError::Duplicate { what: "username" })),
        "{twice:?}"
    );

    let found = accounts.by_username(&username("Jansen")).await.unwrap().unwrap();
    assert_eq!(found.id, upper.id);
    assert!(accounts.by_username(&username("JANSEN")).await.unwrap().is_none());
    assert_eq!(found.status, AccountStatus::Pending);
    assert_eq!(found.created_at, datetime!(2024-06-19 10:00 UTC));
}

#[tokio::test]
async fn every_account_on_a_shared_family_address_is_found() {
    let (store, _db) = fresh_store().await;
    let accounts = store.accounts();
    for (member, address) in [
        ("sanne2015", "Familie@Example.NL"),
        ("pieter2017", "Familie@Example.NL"),
        ("moeder", "familie@example.nl"),
        ("vader", "FAMILIE@example.nl"),
    ] {
        accounts.create(new_account(member, Some(address))).await.unwrap();
    }
    for (member, address) in [
        ("buurman", "buurman@example.nl"),
        ("nicht", "familie2@example.nl"),
    ] {
        accounts.create(new_account(member, Some(address))).await.unwrap();
    }
    for typed in ["Familie@example.nl", "familie@EXAMPLE.nl", "fAmIlIe@example.nl"] {
        let found: Vec<(String, String)> = accounts
            .by_email(&email(typed))
            .await
            .unwrap()
            .into_iter()
            .map(|a| (a.username.to_string(), a.email.unwrap().to_string()))
            .collect();
        assert_eq!(
            found,
            [
                ("moeder".into(), "familie@example.nl".into()),
                ("pieter2017".into(), "Familie@example.nl".into()),
                ("sanne2015".into(), "Familie@example.nl".into()),
                ("vader".into(), "FAMILIE@example.nl".into()),
            ],
            "typed {typed}: every account on the address in any case, each as stored"
        );
    }
}

#[tokio::test]
async fn account_changes_are_stored() {
    let (store, _db) = fresh_store().await;
    let accounts = store.accounts();
    let account = accounts
        .create(new_account("12345678901234", Some("a@example.nl")))
        .await
        .unwrap();
    accounts.create(new_account("taken", None)).await.unwrap();

    accounts
        .set_password_hash(&account.id, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into())
        .await
        .unwrap();
    accounts
        .set_status(&account.id, AccountStatus::Active)
        .await
        .unwrap();
    let checked = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA";
    assert!(accounts.record_login(&account.id, checked).await.unwrap());
    let renamed = accounts.rename(&account.id, &username("taken")).await;
    assert!(
        matches!(renamed, Err(StoreError::Duplicate { .. })),
        "{renamed:?}"
    );
    accounts
        .rename(&account.id, &username("sanne.devries"))
        .await
        .unwrap();

    let stored = accounts.by_id(&account.id).await.unwrap().unwrap();
    assert_eq!(stored.username.as_str(), "sanne.devries");
    assert_eq!(stored.status, AccountStatus::Active);
    assert!(stored.password_hash.unwrap().starts_with("$argon2id$"));
    assert_eq!(stored.last_login_at, Some(datetime!(2024-06-19 10:00 UTC)));

    let ghost = si_domain::AccountId::from_bytes([7; 16]);
    assert!(matches!(
        accounts.set_status(&ghost, AccountStatus::Disabled).await,
        Err(StoreError::NotFound { .. })
    ));
}

/// A login or a change proven against a password hash the account no
/// longer has (a reset came in between, or a block) writes nothing.
#[tokio::test]
async fn writes_proven_against_a_replaced_password_hash_change_nothing() {
    let (store, _db) = fresh_store().await;
    let accounts = store.accounts();
    let account = accounts.create(new_account("sanne", None)).await.unwrap();
    let (old, reset) = (
        "$argon2id$v=19$m=8,t=1,p=1$b2xk$b2xk",
        "$argon2id$v=19$m=8,t=1,p=1$bmV3$bmV3",
    );
    accounts.set_password_hash(&account.id, old.into()).await.unwrap();
    accounts
        .set_status(&account.id, AccountStatus::Active)
        .await
        .unwrap();
    assert!(accounts.hold_checked(&account.id, old).await.unwrap());

    accounts
        .set_password_hash(&account.id, reset.into())
        .await
        .unwrap();
    assert!(!accounts.record_login(&account.id, old).await.unwrap());
    assert!(!accounts.hold_checked(&account.id, old).await.unwrap());
    let upgraded = accounts.replace_password_hash(&account.id, old, "$argon2id$upgraded".into());
    assert!(!upgraded.await.unwrap());
    let stored = accounts.by_id(&account.id).await.unwrap().unwrap();
    assert_eq!(stored.password_hash.as_deref(), Some(reset));
    assert_eq!(stored.last_login_at, None);

    // A blocked account takes no login, whatever its hash.
    accounts
        .set_status(&account.id, AccountStatus::Disabled)
        .await
        .unwrap();
    assert!(!accounts.record_login(&account.id, reset).await.unwrap());
    accounts
        .set_status(&account.id, AccountStatus::Active)
        .await
        .unwrap();
    assert!(accounts.record_login(&account.id, reset).await.unwrap());
    assert!(
        accounts
            .replace_password_hash(&account.id, reset, "$argon2id$upgraded".into())
            .await
            .unwrap()
    );
}

/// Two changes sent together both start from the name the account had: the
/// second finds it gone and changes nothing, so the name the first one left
/// stays held for the member and the names in the mails stay true.
#[tokio::test]
async fn a_username_change_from_a_name_the_account_no_longer_has_changes_nothing() {
    let (store, _db) = fresh_store().await;
    let accounts = store.accounts();
    let before = accounts.create(new_account("sanne", None)).await.unwrap();
    let hold_until = datetime!(2099-01-01 0:00 UTC);

    let first = accounts
        .change_username(&before, &username("sanne.a"), hold_until)
        .await;
    assert!(first.unwrap());
    let second = accounts
        .change_username(&before, &username("sanne.b"), hold_until)
        .await;
    assert!(!second.unwrap(), "the account is no longer called sanne");

    let stored = accounts.by_id(&before.id).await.unwrap().unwrap();
    assert_eq!(stored.username.as_str(), "sanne.a");
    assert!(!accounts.is_free(&username("sanne")).await.unwrap(), "held");
    assert!(accounts.is_free(&username("sanne.b")).await.unwrap());
}

/// The names an account gave up are listed while they are held for it,
/// the one held shortest first, and no longer once their time is up.
#[tokio::test]
async fn the_names_held_for_an_account_are_listed_until_their_time_is_up() {
    let (store, clock, _db) = store_with_clock().await;
    let accounts = store.accounts();
    let mut account = accounts.create(new_account("sanne", None)).await.unwrap();
    let other = accounts.create(new_account("daan", None)).await.unwrap();
    let start = si_store::Clock::now(&clock);
    for (n, new) in ["sanne.a", "sanne.b"].into_iter().enumerate() {
        let hold_until = start + si_store::time::Duration::days(10 - n as i64);
        assert!(
            accounts
                .change_username(&account, &username(new), hold_until)
                .await
                .unwrap()
        );
        account = accounts.by_id(&account.id).await.unwrap().unwrap();
    }
    let until = start + si_store::time::Duration::days(20);
    assert!(
        accounts
            .change_username(&other, &username("daan.b"), until)
            .await
            .unwrap()
    );

    let held = accounts.names_held_for(&account.id).await.unwrap();
    let held: Vec<_> = held
        .iter()
        .map(|name| (name.username.as_str(), name.until))
        .collect();
    assert_eq!(
        held,
        [
            ("sanne.a", start + si_store::time::Duration::days(9)),
            ("sanne", start + si_store::time::Duration::days(10)),
        ]
    );
    clock.advance(si_store::time::Duration::days(9));
    let held = accounts.names_held_for(&account.id).await.unwrap();
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(held[0].username, "sanne");
}

#[tokio::test]
async fn one_account_can_hold_memberships_at_several_libraries() {
    let (store, _db) = fresh_store().await;
    let drenthe = library_with_catalogue(&store, "DRE01").await;
    let groningen = library_with_catalogue(&store, "GRO01").await;

    let without_account = register(&store, &drenthe, "20000000000001", None).await.unwrap();
    assert_eq!(without_account.account, None);
    let twice = register(&store, &drenthe, "20000000000001", None).await;
    assert!(matches!(twice, Err(StoreError::Duplicate { .. })), "{twice:?}");

    let account = store
        .accounts()
        .create(new_account("20000000000001", Some("ouders@example.nl")))
        .await
        .unwrap();
    let linked = store.memberships().link(without_account.id, &account.id).await;
    assert!(linked.unwrap());
    // A second link (another desk, a moment later) leaves the first.
    let other = store
        .accounts()
        .create(new_account("20000000000001-2", Some("ander@example.nl")))
        .await
        .unwrap();
    let relinked = store.memberships().link(without_account.id, &other.id).await;
    assert!(!relinked.unwrap(), "the first link stays");
    // The same card number at another library is another registration.
    register(&store, &groningen, "20000000000001", Some(account.id))
        .await
        .unwrap();

    let memberships = store.memberships().of_account(&account.id).await.unwrap();
    let libraries: Vec<&str> = memberships.iter().map(|m| m.library_code.as_str()).collect();
    assert_eq!(libraries, ["DRE01", "GRO01"]);
    assert_eq!(memberships[0].subscription_code, "JEUGD");
    assert_eq!(
        memberships[0].valid_until,
        Date::from_calendar_date(2025, Month::May, 31).unwrap()
    );
    let by_card = store
        .memberships()
        .by_card(&groningen, &CardNumber::parse("20000000000001").unwrap())
        .await
        .unwrap();
    assert_eq!(by_card.and_then(|m| m.account), Some(account.id));

    // A new address in the library system: the registration's changes, the
    // account's recovery address does not.
    let card = CardNumber::parse("20000000000001").unwrap();
    let new = email("sanne@example.nl");
    store
        .memberships()
        .set_email(without_account.id, Some(&new))
        .await
        .unwrap();
    let changed = store
        .memberships()
        .by_card(&drenthe, &card)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(changed.email, Some(new));
    let unchanged = store
        .memberships()
        .by_card(&groningen, &card)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(unchanged.email, Some(email("ouders@example.nl")));
    let recovery = store.accounts().by_id(&account.id).await.unwrap().unwrap().email;
    assert_eq!(recovery, Some(email("ouders@example.nl")));
    store
        .memberships()
        .set_email(without_account.id, None)
        .await
        .unwrap();
    let cleared = store
        .memberships()
        .by_card(&drenthe, &card)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cleared.email, None);
    let missing = store.memberships().set_email(i64::MAX, None).await;
    assert!(matches!(missing, Err(StoreError::NotFound { .. })), "{missing:?}");
}

#[tokio::test]
async fn the_audit_log_lists_newest_first_and_filters() {
    let (store, _db) = fresh_store().await;
    let drenthe = library_with_catalogue(&store, "DRE01").await;
    let account = store.accounts().create(new_account("sanne", None)).await.unwrap();
    let audit = store.audit();
    audit
        .record(NewAuditEntry {
            actor: "staff:anna",
            action: "account.generated",
            library: Some(&drenthe),
            account: Some(&account.id),
            detail: serde_json::json!({"username": "sanne"}),
        })
        .await
        .unwrap();
    audit
        .record(NewAuditEntry {
            actor: "cli",
            action: "library.created",
            library: None,
            account: None,
            detail: serde_json::json!({}),
        })
        .await
        .unwrap();
    let all = audit
        .list(AuditFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        all.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["library.created", "account.generated"]
    );
    let for_account = audit
        .list(AuditFilter {
            account: Some(&account.id),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(for_account.len(), 1);
    assert_eq!(for_account[0].actor, "staff:anna");
    assert_eq!(for_account[0].detail["username"], "sanne");
    let for_library = audit
        .list(AuditFilter {
            library: Some(&drenthe),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(for_library.len(), 1);
}

#[tokio::test]
async fn a_transaction_that_is_not_committed_leaves_nothing_behind() {
    let (store, _db) = fresh_store().await;
    {
        let txn = store.begin().await.unwrap();
        txn.catalogue()
            .create_library(&code("DRE01"), &name("Biblionet Drenthe"))
            .await
            .unwrap();
        txn.accounts().create(new_account("sanne", None)).await.unwrap();
        // dropped without commit
    }
    assert!(store.catalogue().libraries().await.unwrap().is_empty());
    assert!(
        store
            .accounts()
            .by_username(&username("sanne"))
            .await
            .unwrap()
            .is_none()
    );

    let txn = store.begin().await.unwrap();
    txn.catalogue()
        .create_library(&code("DRE01"), &name("Biblionet Drenthe"))
        .await
        .unwrap();
    txn.commit().await.unwrap();
    assert_eq!(store.catalogue().libraries().await.unwrap().len(), 1);
}

/// A migrated store whose clock stands at 2024-06-19 10:00 UTC until moved.
async fn store_with_clock() -> (Store, FixedClock, TestDatabase) {
    let database = TestDatabase::create().await;
    let clock = FixedClock::at(datetime!(2024-06-19 10:00 UTC));
    let store = Store::connect(&database.url, Arc::new(clock.clone()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    (store, clock, database)
}

/// Single sign-on ends for a browser left alone (a library's public
/// computer); a session in use goes on, and its row stays for logout.
#[tokio::test]
async fn a_session_left_unused_ends_and_one_in_use_goes_on() {
    let (store, clock, _database) = store_with_clock().await;
    let account = store.accounts().create(new_account("sanne", None)).await.unwrap();
    let sessions = store.sessions();
    let idle = std::time::Duration::from_secs(30 * 60);
    let ends = si_store::Clock::now(&clock) + si_store::time::Duration::hours(12);
    for digest in ["in-use", "left"] {
        sessions.create(digest, &account.id, ends).await.unwrap();
    }
    let minutes = si_store::time::Duration::minutes;

    clock.advance(minutes(29));
    assert!(sessions.in_use("in-use", idle).await.unwrap().is_some());
    clock.advance(minutes(29));
    let in_use = sessions.in_use("in-use", idle).await.unwrap();
    assert!(in_use.is_some(), "used 29 minutes ago");
    let left = sessions.in_use("left", idle).await.unwrap();
    assert!(left.is_none(), "58 minutes unused");
    let for_a_login_or_logout = sessions.find("left").await.unwrap();
    assert!(
        for_a_login_or_logout.is_some(),
        "still there for a login to renew or a logout to end"
    );
    let left = sessions.in_use("left", idle).await.unwrap();
    assert!(left.is_none(), "a login or logout looking it up is no use");
    clock.advance(minutes(32));
    assert!(sessions.in_use("in-use", idle).await.unwrap().is_none());

    // Uses between the records count too: a one-minute limit is not a
    // minute from the login.
    let one_minute = std::time::Duration::from_secs(60);
    let seconds = si_store::time::Duration::seconds;
    let later = ends + minutes(120);
    sessions.create("short", &account.id, later).await.unwrap();
    for _ in 0..4 {
        clock.advance(seconds(40));
        assert!(sessions.in_use("short", one_minute).await.unwrap().is_some());
    }
    clock.advance(seconds(121));
    assert!(sessions.in_use("short", one_minute).await.unwrap().is_none());
    let never = std::time::Duration::MAX;
    let left = sessions.in_use("left", never).await.unwrap();
    assert!(left.is_some(), "no limit");
}

/// A login again in the same browser gives the session a new token: only
/// that one gives single sign-on now, and the session keeps its name (and
/// so its clients).
#[tokio::test]
async fn a_session_renewed_answers_to_its_new_token() {
    let (store, clock, _database) = store_with_clock().await;
    let account = store.accounts().create(new_account("sanne", None)).await.unwrap();
    let sessions = store.sessions();
    let ends = si_store::Clock::now(&clock) + si_store::time::Duration::hours(12);
    let first = sessions.create("first", &account.id, ends).await.unwrap();
    sessions.add_client("first", "ebooks").await.unwrap();

    let renewed = sessions.reauthenticated(&first, "second", ends).await.unwrap();
    let Renewal::NewToken(renewed) = renewed else {
        panic!("{renewed:?}")
    };
    assert_eq!(renewed.digest, "first", "the session keeps its name");
    // A second login sent beside the first read the session before it was
    // renewed: the session keeps the token the first one gave it.
    let beside = sessions.reauthenticated(&first, "beside", ends).await.unwrap();
    assert!(matches!(beside, Renewal::TokenOfAnotherLogin(_)), "{beside:?}");
    assert!(sessions.find("beside").await.unwrap().is_none());
    let found = sessions.find("second").await.unwrap().unwrap();
    assert_eq!(
        (found.digest.as_str(), found.token_digest.as_str()),
        ("first", "second")
    );
    let idle = std::time::Duration::from_secs(60);
    assert!(sessions.in_use("first", idle).await.unwrap().is_none());
    assert!(sessions.in_use("second", idle).await.unwrap().is_some());
    assert_eq!(sessions.end(&found.digest).await.unwrap(), ["ebooks"]);
    assert!(sessions.find("second").await.unwrap().is_none());
    let after_the_end = sessions.reauthenticated(&found, "third", ends).await.unwrap();
    assert_eq!(after_the_end, Renewal::Ended);
    assert!(sessions.find("third").await.unwrap().is_none());
}

/// Single sign-on holds the session while it issues a code in it: a
/// logout that ended the session first makes it wait and then find nothing;
/// the code it would have issued is never written.
#[tokio::test]
async fn a_session_a_logout_is_ending_is_not_held_for_single_sign_on() {
    let (store, clock, _database) = store_with_clock().await;
    let account = store.accounts().create(new_account("sanne", None)).await.unwrap();
    let ends = si_store::Clock::now(&clock) + si_store::time::Duration::hours(12);
    for digest in ["ending", "staying"] {
        store.sessions().create(digest, &account.id, ends).await.unwrap();
    }
    let logout = store.begin().await.unwrap();
    logout.sessions().end("ending").await.unwrap();

    let single_sign_on = tokio::spawn({
        let store = store.clone();
        async move {
            let txn = store.begin().await?;
            let held = txn.sessions().hold("ending").await?;
            txn.commit().await?;
            Ok::<_, si_store::StoreError>(held)
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!single_sign_on.is_finished(), "waits for the logout");
    logout.commit().await.unwrap();

    assert!(!single_sign_on.await.unwrap().unwrap(), "ended meanwhile");
    assert!(store.sessions().hold("staying").await.unwrap());
}

/// A logout that comes while single sign-on holds the session waits for it,
/// and tells the client that sign-on gave a code to as well.
#[tokio::test]
async fn a_logout_waiting_for_single_sign_on_tells_the_client_it_signed_in() {
    let (store, clock, _database) = store_with_clock().await;
    let account = store.accounts().create(new_account("sanne", None)).await.unwrap();
    let ends = si_store::Clock::now(&clock) + si_store::time::Duration::hours(12);
    store.sessions().create("s", &account.id, ends).await.unwrap();
    let single_sign_on = store.begin().await.unwrap();
    assert!(single_sign_on.sessions().hold("s").await.unwrap());
    single_sign_on.sessions().add_client("s", "ebooks").await.unwrap();

    let logout = tokio::spawn({
        let store = store.clone();
        async move {
            let txn = store.begin().await?;
            let clients = txn.sessions().end("s").await?;
            txn.commit().await?;
            Ok::<_, si_store::StoreError>(clients)
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!logout.is_finished(), "waits for single sign-on");
    single_sign_on.commit().await.unwrap();

    assert_eq!(logout.await.unwrap().unwrap(), ["ebooks"]);
    assert!(store.sessions().clients_of("s").await.unwrap().is_empty());
}

/// The token a renewal replaced still finds the session for a login or a
/// logout (sent by a browser that had not yet the new cookie), never for
/// single sign-on, only until the next renewal, and never keeps the session
/// from going idle.
#[tokio::test]
async fn the_token_a_renewal_replaced_finds_the_session_for_a_login_until_the_next() {
    let (store, clock, _database) = store_with_clock().await;
    let account = store.accounts().create(new_account("sanne", None)).await.unwrap();
    let sessions = store.sessions();
    let ends = si_store::Clock::now(&clock) + si_store::time::Duration::hours(12);
    let idle = std::time::Duration::from_secs(60);
    let first = sessions.create("first", &account.id, ends).await.unwrap();
    let renewed = sessions.reauthenticated(&first, "second", ends).await.unwrap();
    assert!(matches!(renewed, Renewal::NewToken(_)), "{renewed:?}");

    assert!(sessions.in_use("first", idle).await.unwrap().is_none());
    let by_previous = sessions.find("first").await.unwrap().unwrap();
    assert_eq!(by_previous.digest, "first");
    assert_eq!(by_previous.token_digest, "second", "the token it has now");
    let by_current = sessions.find("second").await.unwrap().unwrap();
    assert_eq!(by_current, by_previous);

    // Someone who copied the old token and sends it now and then (to a
    // logout never confirmed) does not keep the session in use: looking it
    // up for a login or a logout is no use.
    let seconds = si_store::time::Duration::seconds;
    for _ in 0..2 {
        clock.advance(seconds(90));
        assert!(sessions.find("first").await.unwrap().is_some());
    }
    assert!(
        sessions.in_use("second", idle).await.unwrap().is_none(),
        "3 minutes unused"
    );

    // The login that found it by the old token renews it again: the token
    // in between is now the one replaced, and the first leads nowhere.
    let again = sessions
        .reauthenticated(&by_previous, "third", ends)
        .await
        .unwrap();
    assert!(matches!(again, Renewal::NewToken(_)), "{again:?}");
    assert!(sessions.find("first").await.unwrap().is_none());
    let in_between = sessions.find("second").await.unwrap().unwrap();
    assert_eq!(
        (in_between.digest.as_str(), in_between.token_digest.as_str()),
        ("first", "third")
    );
    assert!(
        sessions.in_use("third", idle).await.unwrap().is_some(),
        "the login was a use"
    );
}

/// A session past its end gives no single sign-on, but a login or a logout
/// in its browser still finds it: the member's next login goes on with it,
/// for another member's or a logout to end it with the tokens issued in it.
#[tokio::test]
async fn a_session_past_its_end_is_found_for_a_login_or_logout_only() {
    let (store, clock, _database) = store_with_clock().await;
    let account = store.accounts().create(new_account("sanne", None)).await.unwrap();
    let sessions = store.sessions();
    let hours = si_store::time::Duration::hours;
    let ends = si_store::Clock::now(&clock) + hours(12);
    sessions.create("morning", &account.id, ends).await.unwrap();

    clock.advance(hours(13));
    let never = std::time::Duration::MAX;
    assert!(sessions.in_use("morning", never).await.unwrap().is_none());
    let found = sessions.find("morning").await.unwrap().unwrap();
    assert_eq!(found.expires_at, ends);
    let later = si_store::Clock::now(&clock) + hours(12);
    let renewed = sessions.reauthenticated(&found, "evening", later).await.unwrap();
    assert!(matches!(renewed, Renewal::NewToken(_)), "{renewed:?}");
    let renewed = sessions.in_use("evening", never).await.unwrap().unwrap();
    assert_eq!((renewed.digest.as_str(), renewed.expires_at), ("morning", later));
}

/// Sessions started before tokens were kept apart still answer to their
/// cookie after the step that adds them.
#[tokio::test]
async fn a_session_from_before_the_token_step_keeps_its_cookie() {
    use sea_orm::ConnectionTrait;
    let (store, clock, _database) = store_with_clock().await;
    let account = store.accounts().create(new_account("sanne", None)).await.unwrap();
    let ends = si_store::Clock::now(&clock) + si_store::time::Duration::hours(12);
    store
        .sessions()
        .create("before", &account.id, ends)
        .await
        .unwrap();
    // Back to the schema before the step, the session's row as it was then
    // (on one connection, so that each statement sees the one before).
    let undo = "DROP INDEX ux_browser_sessions_token; \
        ALTER TABLE browser_sessions DROP COLUMN token_digest; \
        DELETE FROM schema_migrations WHERE version = 8";
    store.connection().execute_unprepared(undo).await.unwrap();
    assert_eq!(store.migrate().await.unwrap(), ["0008_session_tokens"]);
    let found = store.sessions().find("before").await.unwrap().unwrap();
    assert_eq!(found.digest, "before");
}

/// Addresses stored before the step that finds them in any case are found
/// in any case after it.
#[tokio::test]
async fn addresses_from_before_the_any_case_step_are_found_in_any_case() {
    use sea_orm::ConnectionTrait;
    let (store, _database) = fresh_store().await;
    let undo = "DROP INDEX ix_accounts_email_lower; \
        CREATE INDEX ix_accounts_email ON accounts (email); \
        DELETE FROM schema_migrations WHERE version = 11";
    store.connection().execute_unprepared(undo).await.unwrap();
    store
        .accounts()
        .create(new_account("daan", Some("Ouders@example.nl")))
        .await
        .unwrap();
    assert_eq!(store.migrate().await.unwrap(), ["0011_addresses_in_any_case"]);
    let found = store
        .accounts()
        .by_email(&email("ouders@example.nl"))
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].username.as_str(), "daan");
}

mod outbox {
    use std::{collections::BTreeSet, sync::Arc, time::Duration};

    use si_store::{
        FixedClock, Repositories, Store,
        outbox::NewMail,
        time::{self, macros::datetime},
    };

    use super::{email, store_with_clock};

    fn mail(to: &si_domain::Email, n: usize) -> NewMail<'_> {
        NewMail {
            recipient: to,
            template: "password_changed",
            language: "nl",
            payload: format!("{{\"n\":{n}}}"),
        }
    }

    #[tokio::test]
    async fn a_mail_exists_only_if_the_action_that_caused_it_committed() {
        let (store, _clock, _db) = store_with_clock().await;
        let to = email("sanne@example.nl");
        {
            let txn = store.begin().await.unwrap();
            txn.outbox().enqueue(mail(&to, 1)).await.unwrap();
        }
        assert_eq!(store.outbox().status().await.unwrap().pending, 0);
        let txn = store.begin().await.unwrap();
        txn.outbox().enqueue(mail(&to, 2)).await.unwrap();
        txn.commit().await.unwrap();
        let status = store.outbox().status().await.unwrap();
        assert_eq!(status.pending, 1);
        assert_eq!(status.oldest_pending_since, Some(datetime!(2024-06-19 10:00 UTC)));
    }

    #[tokio::test]
    async fn workers_claiming_at_once_never_get_the_same_mail() {
        let (store, _clock, database) = store_with_clock().await;
        let to = email("sanne@example.nl");
        let queued = store
            .outbox()
            .enqueue_many((0..300).map(|n| mail(&to, n)).collect())
            .await
            .unwrap();
        assert_eq!(queued, 300);
        let clock = Arc::new(FixedClock::at(datetime!(2024-06-19 10:00 UTC)));
        let other = Store::connect(&database.url, clock).await.unwrap();
        let lease = Duration::from_secs(60);
        let mut seen = BTreeSet::new();
        loop {
            let (outbox_a, outbox_b) = (store.outbox(), other.outbox());
            let (a, b) = tokio::join!(
                outbox_a.claim("node-a", 40, lease),
                outbox_b.claim("node-b", 40, lease)
            );
            let (a, b) = (a.unwrap(), b.unwrap());
            if a.is_empty() && b.is_empty() {
                break;
            }
            for claimed in a.iter().chain(&b) {
                assert!(seen.insert(claimed.id), "mail {} claimed twice", claimed.id);
                assert_eq!(claimed.attempts, 1);
            }
        }
        assert_eq!(seen.len(), 300);
        assert_eq!(store.outbox().status().await.unwrap().sending, 300);
    }

    /// A claim passes over the mails another worker is claiming, rather than
    /// waiting for them: on PostgreSQL, two claims that waited on each
    /// other's rows deadlocked. (SQLite has one writer: the second claim
    /// comes after the first.)
    #[tokio::test]
    async fn a_claim_passes_over_mails_another_worker_is_still_claiming() {
        let (store, _clock, database) = store_with_clock().await;
        let to = email("sanne@example.nl");
        let mails = (0..20).map(|n| mail(&to, n)).collect();
        store.outbox().enqueue_many(mails).await.unwrap();
        let clock = Arc::new(FixedClock::at(datetime!(2024-06-19 10:00 UTC)));
        let other = Store::connect(&database.url, clock).await.unwrap();
        let lease = Duration::from_secs(60);
        let claiming = store.begin().await.unwrap();
        let first = claiming.outbox().claim("node-a", 10, lease).await.unwrap();
        let other_outbox = other.outbox();
        let second = if database.is_postgres() {
            let passing_over = other_outbox.claim("node-b", 10, lease);
            let second = tokio::time::timeout(Duration::from_secs(5), passing_over).await;
            claiming.commit().await.unwrap();
            second.expect("node-b waited for node-a's rows").unwrap()
        } else {
            claiming.commit().await.unwrap();
            other_outbox.claim("node-b", 10, lease).await.unwrap()
        };
        let ids: BTreeSet<i64> = first.iter().chain(&second).map(|mail| mail.id).collect();
        assert_eq!((first.len(), second.len(), ids.len()), (10, 10, 20));
        let status = store.outbox().status().await.unwrap();
        assert_eq!(status.sending, 20);
        assert_eq!(
            status.sending_held_until,
            Some(store.clock().now() + time::Duration::seconds(60)),
            "a stopped worker's mails wait for the end of its lease"
        );
    }

    /// A sent mail's link is wiped from its row, and on SQLite from the
    /// database file too: a copy of the file (a backup) holds no link still
    /// valid. (PostgreSQL keeps a wiped row's old version until VACUUM;
    /// `pg_dump` copies only the wiped one.)
    #[tokio::test]
    async fn a_sent_mails_link_is_wiped_from_its_row_and_the_sqlite_file() {
        use sea_orm::{ConnectionTrait, Statement};
        let (store, _clock, database) = store_with_clock().await;
        // Long enough to spill onto an overflow page (a return address
        // carried in the link can be), and ending in a part found nowhere else.
        let link = format!(
            "https://login.example/reset-password?token=vDq3-secret&return=/login?x={}7Qz-end",
            "%2F".repeat(2000)
        );
        let link = link.as_str();
        let to = email("sanne@example.nl");
        store
            .outbox()
            .enqueue(NewMail {
                recipient: &to,
                template: "forgot_password",
                language: "nl",
                payload: serde_json::json!({ "link": link }).to_string(),
            })
            .await
            .unwrap();
        // Other mails after it, as in a day's outbox: alone in its page,
        // the wiped row's page happened to be rewritten clean.
        for n in 0..30 {
            store.outbox().enqueue(mail(&to, n)).await.unwrap();
        }
        let claimed = store
            .outbox()
            .claim("w", 10, Duration::from_secs(60))
            .await
            .unwrap();
        store.outbox().mark_sent("w", &[claimed[0].id]).await.unwrap();
        let connection = store.connection();
        let select = format!("SELECT payload FROM mail_outbox WHERE id = {}", claimed[0].id);
        let row = connection
            .query_one_raw(Statement::from_string(connection.get_database_backend(), select))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.try_get::<String>("", "payload").unwrap(), "{}");

        let Some(path) = database.url.strip_prefix("sqlite://") else {
            return;
        };
        connection
            .execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
            .await
            .unwrap();
        // Its start (the token) and its end, each on a page of its own.
        for part in ["token=vDq3-secret", "%2F7Qz-end"] {
            for file in [path.to_owned(), format!("{path}-wal")] {
                let bytes = std::fs::read(&file).unwrap_or_default();
                let found = bytes.windows(part.len()).any(|window| window == part.as_bytes());
                assert!(!found, "{part} is still in {file}");
            }
        }
    }

    #[tokio::test]
    async fn a_worker_still_sending_renews_its_lease_and_keeps_its_mails() {
        let (store, clock, _db) = store_with_clock().await;
        let to = email("sanne@example.nl");
        for n in 0..2 {
            store.outbox().enqueue(mail(&to, n)).await.unwrap();
        }
        let lease = Duration::from_secs(60);
        let claimed = store.outbox().claim("slow", 10, lease).await.unwrap();
        assert_eq!(claimed.len(), 2);
        store.outbox().mark_sent("slow", &[claimed[0].id]).await.unwrap();
        clock.advance(time::Duration::seconds(50));
        assert_eq!(
            store.outbox().renew_lease("slow", lease).await.unwrap(),
            1,
            "only the mail still being sent"
        );
        clock.advance(time::Duration::seconds(20));
        assert!(
            store.outbox().claim("other", 10, lease).await.unwrap().is_empty(),
            "past the first lease, but renewed"
        );
        assert_eq!(store.outbox().renew_lease("other", lease).await.unwrap(), 0);
        clock.advance(time::Duration::seconds(41));
        let taken = store.outbox().claim("other", 10, lease).await.unwrap();
        assert_eq!(taken.iter().map(|m| m.id).collect::<Vec<_>>(), [claimed[1].id]);
    }

    #[tokio::test]
    async fn a_crashed_workers_mails_are_taken_over_when_its_lease_ends() {
        let (store, clock, _db) = store_with_clock().await;
        let to = email("sanne@example.nl");
        store.outbox().enqueue(mail(&to, 1)).await.unwrap();
        let lease = Duration::from_secs(60);
        let first = store.outbox().claim("crashed", 10, lease).await.unwrap();
        assert_eq!(first.len(), 1);
        assert!(
            store.outbox().claim("other", 10, lease).await.unwrap().is_empty(),
            "leased mail is not due"
        );
        clock.advance(time::Duration::seconds(61));
        let taken = store.outbox().claim("other", 10, lease).await.unwrap();
        assert_eq!(taken.len(), 1);
        assert_eq!(taken[0].id, first[0].id);
        assert_eq!(
            taken[0].message_key, first[0].message_key,
            "a retry keeps its Message-ID"
        );
        assert_eq!(taken[0].attempts, 2);
        // The crashed worker coming back cannot mark what is no longer its own.
        assert_eq!(
            store.outbox().mark_sent("crashed", &[first[0].id]).await.unwrap(),
            0
        );
        assert_eq!(
            store.outbox().mark_sent("other", &[first[0].id]).await.unwrap(),
            1
        );
        let status = store.outbox().status().await.unwrap();
        assert_eq!((status.pending, status.sending, status.sent), (0, 0, 1));
        assert_eq!(status.oldest_pending_since, None);
    }

    #[tokio::test]
    async fn retries_wait_their_turn_and_failures_keep_the_servers_answer() {
        let (store, clock, _db) = store_with_clock().await;
        let to = email("sanne@example.nl");
        let retried = store.outbox().enqueue(mail(&to, 1)).await.unwrap();
        let refused = store.outbox().enqueue(mail(&to, 2)).await.unwrap();
        let lease = Duration::from_secs(60);
        assert_eq!(store.outbox().claim("w", 10, lease).await.unwrap().len(), 2);
        let later = clock.now() + time::Duration::minutes(5);
        store
            .outbox()
            .retry_at("w", retried, "421 try again later", later)
            .await
            .unwrap();
        store
            .outbox()
            .mark_failed("w", refused, "550 5.1.1 mailbox unavailable")
            .await
            .unwrap();
        assert!(store.outbox().claim("w", 10, lease).await.unwrap().is_empty());
        clock.advance(time::Duration::minutes(5));
        let again = store.outbox().claim("w", 10, lease).await.unwrap();
        assert_eq!(again.iter().map(|m| m.id).collect::<Vec<_>>(), [retried]);
        let failures = store.outbox().failures(10).await.unwrap();
        assert_eq!(failures.len(), 1);
        assert_eq!(
            failures[0].last_error.as_deref(),
            Some("550 5.1.1 mailbox unavailable")
        );
        use sea_orm::ConnectionTrait;
        let kept = store
            .connection()
            .query_one_raw(sea_orm::Statement::from_string(
                store.connection().get_database_backend(),
                format!("SELECT payload FROM mail_outbox WHERE id = {refused}"),
            ))
            .await
            .unwrap()
            .unwrap();
        let payload: String = kept.try_get_by_index(0).unwrap();
        assert_eq!(payload, "{}", "a failed mail's links do not stay behind");
    }

    use si_store::Clock as _;
}

/// Back-channel logout notices: who gets a place when many are due.
mod logout_queue {
    use std::time::Duration;

    use si_store::{Clock as _, Repositories, logout_queue::Websites, time};

    use super::store_with_clock;

    const TO_SIGN: &str = "{}";

    #[tokio::test]
    async fn a_first_attempt_goes_before_retries_due_longer() {
        let (store, clock, _db) = store_with_clock().await;
        let queue = store.logout_queue();
        let lease = Duration::from_secs(60);
        let retried = queue
            .enqueue("ebooks", "https://hangs.example/bc", TO_SIGN)
            .await
            .unwrap();
        queue
            .claim("node", 10, Websites::AllBut(&[]), lease)
            .await
            .unwrap();
        queue
            .retry_at("node", retried, "timed out", clock.now())
            .await
            .unwrap();
        clock.advance(time::Duration::minutes(1));
        let fresh = queue
            .enqueue("ebooks", "https://answers.example/bc", TO_SIGN)
            .await
            .unwrap();

        let first = queue
            .claim("node", 1, Websites::AllBut(&[]), lease)
            .await
            .unwrap();
        assert_eq!(first.iter().map(|n| n.id).collect::<Vec<_>>(), [fresh]);
        let then = queue
            .claim("node", 1, Websites::AllBut(&[]), lease)
            .await
            .unwrap();
        assert_eq!(then.iter().map(|n| n.id).collect::<Vec<_>>(), [retried]);
    }

    #[tokio::test]
    async fn notices_to_a_website_with_enough_under_way_wait() {
        let (store, _clock, _db) = store_with_clock().await;
        let queue = store.logout_queue();
        let full = "https://hangs.example/bc".to_owned();
        queue.enqueue("ebooks", &full, TO_SIGN).await.unwrap();
        let other = queue
            .enqueue("website", "https://answers.example/bc", TO_SIGN)
            .await
            .unwrap();

        let lease = Duration::from_secs(60);
        let claimed = queue
            .claim("node", 10, Websites::AllBut(std::slice::from_ref(&full)), lease)
            .await
            .unwrap();
        assert_eq!(claimed.iter().map(|n| n.id).collect::<Vec<_>>(), [other]);
        assert_eq!(
            queue
                .claim("node", 10, Websites::AllBut(&[]), lease)
                .await
                .unwrap()
                .len(),
            1
        );
    }

    #[tokio::test]
    async fn a_claim_for_one_website_takes_its_notices_only() {
        let (store, _clock, _db) = store_with_clock().await;
        let queue = store.logout_queue();
        let struggling = "https://hangs.example/bc";
        let mut its_own = Vec::new();
        for _ in 0..3 {
            its_own.push(queue.enqueue("ebooks", struggling, TO_SIGN).await.unwrap());
        }
        queue
            .enqueue("website", "https://answers.example/bc", TO_SIGN)
            .await
            .unwrap();

        let lease = Duration::from_secs(60);
        let ids = |claimed: Vec<si_store::logout_queue::LogoutNotification>| {
            claimed.into_iter().map(|n| n.id).collect::<Vec<_>>()
        };
        let first = queue
            .claim("node", 2, Websites::Only(struggling), lease)
            .await
            .unwrap();
        assert_eq!(ids(first), its_own[..2]);
        let rest = queue
            .claim("node", 10, Websites::Only(struggling), lease)
            .await
            .unwrap();
        assert_eq!(ids(rest), its_own[2..]);
        let others = queue
            .claim("node", 10, Websites::AllBut(&[]), lease)
            .await
            .unwrap();
        let to = others.iter().map(|n| n.logout_uri.as_str()).collect::<Vec<_>>();
        assert_eq!(to, ["https://answers.example/bc"]);
    }

    #[tokio::test]
    async fn the_websites_awaiting_a_retry_are_named_with_the_newest_reason() {
        let (store, clock, _db) = store_with_clock().await;
        let queue = store.logout_queue();
        let notices = [
            ("ebooks", "https://a.example/bc"),
            ("ebooks", "https://a.example/bc"),
            ("website", "https://b.example/bc"),
            ("app", "https://c.example/bc"),
            ("other", "https://d.example/bc"),
        ];
        for (client, uri) in notices {
            queue.enqueue(client, uri, TO_SIGN).await.unwrap();
        }
        let lease = Duration::from_secs(60);
        let mut claimed = queue
            .claim("node", 4, Websites::AllBut(&[]), lease)
            .await
            .unwrap();
        claimed.sort_by_key(|notice| notice.id);
        let later = clock.now() + time::Duration::minutes(5);
        let failures = [
            (claimed[0].id, "timed out"),
            (claimed[1].id, "answered 503"),
            (claimed[2].id, "connection refused"),
        ];
        for (id, reason) in failures {
            queue.retry_at("node", id, reason, later).await.unwrap();
        }
        // Given up for good: not waiting for a retry. And d.example was
        // never tried.
        queue.mark_failed("node", claimed[3].id, "gone").await.unwrap();

        let unanswered = queue.websites_awaiting_retry().await.unwrap();
        let named: Vec<_> = unanswered
            .iter()
            .map(|w| (w.logout_uri.as_str(), w.client_id.as_str(), w.last_error.as_str()))
            .collect();
        assert_eq!(
            named,
            [
                ("https://a.example/bc", "ebooks", "answered 503"),
                ("https://b.example/bc", "website", "connection refused"),
            ]
        );
    }

    #[tokio::test]
    async fn a_website_that_answers_again_has_its_waiting_notices_due_at_once() {
        let (store, clock, _db) = store_with_clock().await;
        let queue = store.logout_queue();
        let back = "https://back.example/bc";
        for uri in [back, back, back, "https://down.example/bc"] {
            queue.enqueue("ebooks", uri, TO_SIGN).await.unwrap();
        }
        let lease = Duration::from_secs(60);
        let claimed = queue
            .claim("node", 10, Websites::AllBut(&[]), lease)
            .await
            .unwrap();
        let later = clock.now() + time::Duration::minutes(30);
        for notice in &claimed {
            queue
                .retry_at("node", notice.id, "timed out", later)
                .await
                .unwrap();
        }
        let due = || queue.claim("node", 10, Websites::AllBut(&[]), lease);
        assert!(due().await.unwrap().is_empty(), "all wait out their backoff");

        assert_eq!(queue.due_now_for(back).await.unwrap(), 3);
        let now_due = due().await.unwrap();
        assert_eq!(now_due.len(), 3);
        assert!(
            now_due.iter().all(|notice| notice.logout_uri == back),
            "{now_due:?}"
        );
        assert_eq!(
            queue.due_now_for(back).await.unwrap(),
            0,
            "those under way stay so"
        );
    }
}

mod throttle {
    use std::time::Duration;

    use si_store::{Clock as _, Repositories, Store, throttle::ThrottlePolicy, time};

    use super::store_with_clock;

    const POLICY: ThrottlePolicy = ThrottlePolicy {
        free_failures: 3,
        first_block: Duration::from_secs(30),
        longest_block: Duration::from_secs(900),
        forgive_every: Duration::from_secs(60),
    };

    async fn failures(store: &Store, subject: &str) -> Vec<String> {
        store
            .throttle()
            .check(&[subject.to_owned()])
            .await
            .unwrap()
            .with_failures
    }

    #[tokio::test]
    async fn failures_leak_away_one_per_interval_and_a_steady_trickle_never_blocks() {
        let (store, clock, _database) = store_with_clock().await;
        let throttle = store.throttle();

        // One failed attempt a minute, for an hour: each is forgiven before the next.
        for _ in 0..60 {
            assert_eq!(throttle.charge("ip:a", &POLICY).await.unwrap(), None);
            clock.advance(time::Duration::seconds(61));
        }

        // Three quick attempts go ahead, the third sets the block, the
        // fourth finds it. Two and a half minutes later two are forgiven:
        // the next attempt is the second again, the one after it the third
        // (which blocks again).
        for _ in 0..3 {
            assert_eq!(throttle.charge("ip:b", &POLICY).await.unwrap(), None);
        }
        assert!(throttle.charge("ip:b", &POLICY).await.unwrap().is_some());
        clock.advance(time::Duration::seconds(150));
        for _ in 0..2 {
            assert_eq!(throttle.charge("ip:b", &POLICY).await.unwrap(), None);
        }
        assert!(
            throttle.charge("ip:b", &POLICY).await.unwrap().is_some(),
            "the count went on from what was left"
        );

        // Long enough without failures, everything is forgiven.
        clock.advance(time::Duration::minutes(10));
        assert_eq!(throttle.charge("ip:b", &POLICY).await.unwrap(), None);
        assert_eq!(failures(&store, "ip:b").await, ["ip:b"]);
    }

    /// Counts no success gave back (attempts in flight when a node was
    /// killed) leak away even while members log in more often than one
    /// is forgiven: afterwards a whole class logging in at once fits again.
    #[tokio::test]
    async fn counts_left_behind_leak_away_while_members_keep_logging_in() {
        let (store, clock, _database) = store_with_clock().await;
        let throttle = store.throttle();
        for _ in 0..2 {
            assert_eq!(throttle.charge("ip:school", &POLICY).await.unwrap(), None);
        }
        // A successful login every 40 seconds, for six minutes.
        for _ in 0..9 {
            clock.advance(time::Duration::seconds(40));
            assert_eq!(throttle.charge("ip:school", &POLICY).await.unwrap(), None);
            throttle.refund("ip:school", &POLICY).await.unwrap();
        }

        for _ in 0..3 {
            assert_eq!(
                throttle.charge("ip:school", &POLICY).await.unwrap(),
                None,
                "three side by side fit the free failures again"
            );
        }
    }

    #[tokio::test]
    async fn each_attempt_past_the_free_ones_doubles_the_wait_up_to_the_ceiling() {
        let (store, clock, _database) = store_with_clock().await;
        let throttle = store.throttle();
        let unforgiving = ThrottlePolicy {
            forgive_every: Duration::from_secs(24 * 3600),
            ..POLICY
        };
        for _ in 0..3 {
            assert_eq!(throttle.charge("user:jan", &unforgiving).await.unwrap(), None);
        }
        let mut waits = Vec::new();
        for _ in 0..7 {
            let until = throttle.charge("user:jan", &unforgiving).await.unwrap().unwrap();
            waits.push((until - clock.now()).whole_seconds());
            // The next attempt comes just after the wait; it goes ahead and sets the next one.
            clock.advance(until - clock.now() + time::Duration::seconds(1));
            assert_eq!(throttle.charge("user:jan", &unforgiving).await.unwrap(), None);
        }
        assert_eq!(waits, [30, 60, 120, 240, 480, 900, 900]);
    }

    #[tokio::test]
    async fn attempts_sent_side_by_side_go_ahead_only_up_to_the_free_ones() {
        let (store, _clock, _database) = store_with_clock().await;
        let mut attempts = tokio::task::JoinSet::new();
        for _ in 0..12 {
            let store = store.clone();
            attempts.spawn(async move { store.throttle().charge("user:jan", &POLICY).await.unwrap() });
        }
        let answers = attempts.join_all().await;
        let allowed = answers.iter().filter(|blocked| blocked.is_none()).count();
        assert_eq!(allowed, 3, "{answers:?}");
    }

    #[tokio::test]
    async fn a_refund_gives_back_one_attempt_and_a_reset_all() {
        let (store, clock, _database) = store_with_clock().await;
        let throttle = store.throttle();
        // A shared address with many successful logins is never blocked by them.
        for _ in 0..10 {
            assert_eq!(throttle.charge("ip:c", &POLICY).await.unwrap(), None);
            throttle.refund("ip:c", &POLICY).await.unwrap();
        }
        // Nor when they were all in flight at once: the third set a block,
        // which ends when their counts come back.
        for _ in 0..3 {
            assert_eq!(throttle.charge("ip:d", &POLICY).await.unwrap(), None);
        }
        assert!(throttle.charge("ip:d", &POLICY).await.unwrap().is_some());
        for _ in 0..3 {
            throttle.refund("ip:d", &POLICY).await.unwrap();
        }
        assert_eq!(throttle.charge("ip:d", &POLICY).await.unwrap(), None);
        // A block that the failures left still reach stays: three failures
        // and, after their block, a fourth that succeeds.
        for _ in 0..3 {
            assert_eq!(throttle.charge("ip:e", &POLICY).await.unwrap(), None);
        }
        clock.advance(time::Duration::seconds(31));
        assert_eq!(throttle.charge("ip:e", &POLICY).await.unwrap(), None);
        throttle.refund("ip:e", &POLICY).await.unwrap();
        assert!(throttle.charge("ip:e", &POLICY).await.unwrap().is_some());
        for _ in 0..3 {
            assert_eq!(throttle.charge("user:jan", &POLICY).await.unwrap(), None);
        }
        throttle.reset("user:jan").await.unwrap();
        assert_eq!(throttle.charge("user:jan", &POLICY).await.unwrap(), None);
    }

    /// Whether a login attempt, counted as in flight, may go ahead.
    async fn goes_ahead(store: &Store, subject: &str, policy: &ThrottlePolicy) -> bool {
        let blocked = store.throttle().charge_attempt(subject, policy).await.unwrap();
        blocked.is_none()
    }

    /// A wait made of attempts still being checked (several logins sent at
    /// once) says so: no wrong password was typed, and it lifts when they
    /// turn out right. One made of failures that ended says that.
    #[tokio::test]
    async fn a_wait_tells_whether_failures_or_attempts_being_checked_hold_it() {
        let (store, _clock, _database) = store_with_clock().await;
        let throttle = store.throttle();
        for _ in 0..3 {
            assert!(goes_ahead(&store, "user:sanne", &POLICY).await);
        }
        let wait = throttle.charge_attempt("user:sanne", &POLICY).await.unwrap();
        assert!(wait.unwrap().for_attempts_in_flight, "{wait:?}");
        for _ in 0..3 {
            throttle.attempt_failed("user:sanne").await.unwrap();
        }
        let wait = throttle.charge_attempt("user:sanne", &POLICY).await.unwrap();
        assert!(
            !wait.unwrap().for_attempts_in_flight,
            "three wrong passwords: {wait:?}"
        );
    }

    /// Login attempts in flight when their node was stopped hard never
    /// end: their counts leak away within seconds instead of keeping a
    /// library's address waiting for minutes.
    #[tokio::test]
    async fn attempts_a_stopped_node_left_in_flight_leak_away_within_seconds() {
        let (store, clock, _database) = store_with_clock().await;
        let throttle = store.throttle();
        for _ in 0..3 {
            assert!(goes_ahead(&store, "ip:library", &POLICY).await);
        }
        assert!(!goes_ahead(&store, "ip:library", &POLICY).await);

        // The node is gone: no attempt ends. One leaks away per two seconds.
        clock.advance(time::Duration::seconds(2));
        assert!(goes_ahead(&store, "ip:library", &POLICY).await);
        assert!(
            !goes_ahead(&store, "ip:library", &POLICY).await,
            "one leaked, one more fits"
        );
        clock.advance(time::Duration::seconds(10));
        for _ in 0..3 {
            assert!(
                goes_ahead(&store, "ip:library", &POLICY).await,
                "all leaked: three side by side fit again"
            );
        }

        // Failures counted as such stay where attempts in flight leak.
        for _ in 0..3 {
            assert_eq!(throttle.charge("ip:other", &POLICY).await.unwrap(), None);
        }
        clock.advance(time::Duration::seconds(12));
        assert!(throttle.charge("ip:other", &POLICY).await.unwrap().is_some());
    }

    /// An attempt that waited longer for its check than its count stayed in
    /// flight still ends right: a failure is counted once, a success gives
    /// back nothing that was not there.
    #[tokio::test]
    async fn an_attempt_whose_count_leaked_while_it_waited_ends_right() {
        let (store, clock, _database) = store_with_clock().await;
        let throttle = store.throttle();
        let unforgiving = ThrottlePolicy {
            forgive_every: Duration::from_secs(24 * 3600),
            ..POLICY
        };
        // One wrong password from the address before.
        assert!(goes_ahead(&store, "ip:c", &unforgiving).await);
        throttle.attempt_failed("ip:c").await.unwrap();
        for subject in ["user:jan", "ip:c"] {
            for _ in 0..2 {
                assert!(goes_ahead(&store, subject, &unforgiving).await);
            }
            clock.advance(time::Duration::seconds(10));
            // A third attempt comes; the two before it leak away.
            assert!(goes_ahead(&store, subject, &unforgiving).await);
        }

        // All three fail: three failures, the free ones used up.
        for _ in 0..3 {
            throttle.attempt_failed("user:jan").await.unwrap();
        }
        assert!(goes_ahead(&store, "user:jan", &unforgiving).await);
        assert!(
            !goes_ahead(&store, "user:jan", &unforgiving).await,
            "the fourth failure set a block"
        );

        // All three succeed: the earlier failure is left, not forgiven by
        // the counts that had leaked away already.
        for _ in 0..3 {
            throttle.attempt_succeeded("ip:c", &unforgiving).await.unwrap();
        }
        for _ in 0..2 {
            assert!(goes_ahead(&store, "ip:c", &unforgiving).await);
        }
        assert!(!goes_ahead(&store, "ip:c", &unforgiving).await);
    }
}

mod housekeeping {
    use std::time::Duration;

    use si_store::{
        Clock, Repositories, Store, grants::RefreshGrant, housekeeping::Retention, outbox::NewMail,
        throttle::ThrottlePolicy, time,
    };

    use super::{email, new_account, store_with_clock};

    #[tokio::test]
    async fn a_sweep_deletes_what_outlived_its_use_and_keeps_the_rest() {
        let (store, clock, _database) = store_with_clock().await;
        let account = store.accounts().create(new_account("sanne", None)).await.unwrap();
        let now = clock.now();
        let hour = time::Duration::hours(1);
        let sessions = store.sessions();
        let ending = [
            ("ended", now + hour),
            ("ended-with-tokens", now + hour),
            ("alive", now + 3 * hour),
        ];
        for (digest, expires) in ending {
            sessions.create(digest, &account.id, expires).await.unwrap();
            sessions.add_client(digest, "ebooks").await.unwrap();
        }
        let family = |id: &str, expires| RefreshGrant {
            token_digest: format!("{id}-token"),
            family_id: id.to_owned(),
            client_id: "ebooks".to_owned(),
            account: account.id,
            // A session is kept for a live family of its own, not for one revoked.
            session_digest: match id {
                "of-ended-session" => Some("ended-with-tokens".to_owned()),
                "revoked" => Some("ended".to_owned()),
                _ => None,
            },
            code_digest: None,
            scope: "openid".to_owned(),
            auth_time: now,
            expires_at: expires,
        };
        let grants = store.grants();
        grants
            .start_family(&family("expiring", now + hour))
            .await
            .unwrap();
        grants
            .start_family(&family("revoked", now + 30 * hour))
            .await
            .unwrap();
        grants
            .start_family(&family("current", now + 60 * 24 * hour))
            .await
            .unwrap();
        grants
            .start_family(&family("of-ended-session", now + 40 * hour))
            .await
            .unwrap();
        grants.revoke_family("revoked", "ebooks").await.unwrap();
        grants.revoke_access_token("jti-old", now + hour).await.unwrap();
        grants
            .revoke_access_token("jti-new", now + 3 * hour)
            .await
            .unwrap();
        let policy = ThrottlePolicy::default();
        store.throttle().charge("user:sanne", &policy).await.unwrap();
        let to = email("sanne@example.nl");
        let mail = |n: u32| NewMail {
            recipient: &to,
            template: "password_changed",
            language: "nl",
            payload: format!("{{\"n\":{n}}}"),
        };
        store.outbox().enqueue(mail(1)).await.unwrap();
        let claimed = store
            .outbox()
            .claim("w", 10, Duration::from_secs(60))
            .await
            .unwrap();
        store.outbox().mark_sent("w", &[claimed[0].id]).await.unwrap();

        // Two hours on: the expired family and the revocation of a token
        // that has expired go; sessions stay a day past their end.
        clock.advance(2 * hour);
        let swept = store.housekeeping().sweep(Retention::default()).await.unwrap();
        assert_eq!(
            (swept.refresh_families, swept.revoked_access_tokens),
            (1, 1),
            "{swept:?}"
        );
        assert_eq!(swept.total(), 2, "{swept:?}");
        assert!(grants.is_any_access_token_revoked(&["jti-new"]).await.unwrap());
        assert!(
            grants
                .is_any_access_token_revoked(&["grant-never-revoked", "jti-new"])
                .await
                .unwrap()
        );
        assert!(
            !grants
                .is_any_access_token_revoked(&["jti-old", "grant-never-revoked"])
                .await
                .unwrap()
        );

        // A day on: the session ended a day ago without live tokens, the
        // family revoked a day ago and the throttle counter go. A session
        // past its end stays while a token issued in it lives: a logout in
        // its browser still ends that, and tells its clients.
        clock.advance(24 * hour);
        let swept = store.housekeeping().sweep(Retention::default()).await.unwrap();
        assert_eq!(
            (
                swept.browser_sessions,
                swept.session_clients,
                swept.refresh_families,
                swept.login_throttle
            ),
            (1, 1, 1, 1),
            "{swept:?}"
        );
        assert!(sessions.find("ended").await.unwrap().is_none());
        for kept in ["alive", "ended-with-tokens"] {
            assert!(sessions.find(kept).await.unwrap().is_some(), "{kept}");
            assert_eq!(sessions.clients_of(kept).await.unwrap(), ["ebooks"]);
        }

        // Another day on: the other sessions go too, the one with tokens
        // now that they have expired, with their clients and that family.
        clock.advance(24 * hour);
        let swept = store.housekeeping().sweep(Retention::default()).await.unwrap();
        assert_eq!(
            (
                swept.browser_sessions,
                swept.session_clients,
                swept.refresh_families,
                swept.mail_outbox
            ),
            (2, 2, 1, 0),
            "{swept:?}"
        );
        assert!(sessions.find("ended-with-tokens").await.unwrap().is_none());
        assert!(sessions.clients_of("ended-with-tokens").await.unwrap().is_empty());
        assert_eq!(
            grants
                .current_refresh("current", "current-token", crate::LOGIN_LIFETIME)
                .await
                .unwrap()
                .map(|(g, _)| g.family_id)
                .as_deref(),
            Some("current")
        );
        // A month on, the sent mail.
        clock.advance(30 * 24 * hour);
        let swept = store.housekeeping().sweep(Retention::default()).await.unwrap();
        assert_eq!(swept.mail_outbox, 1);
        assert!(store.outbox().entries().await.unwrap().is_empty());
        assert!(
            store.accounts().by_id(&account.id).await.unwrap().is_some(),
            "accounts stay"
        );
    }
    /// A session the sweep found ended but did not delete (a login renewed
    /// it between the sweep's read and its delete; here a trigger keeps
    /// it, as that renewal would) keeps its clients: its next logout tells
    /// them.
    #[tokio::test]
    async fn a_session_renewed_while_the_sweep_runs_keeps_its_clients() {
        use sea_orm::ConnectionTrait;

        let (store, clock, database) = store_with_clock().await;
        let account = store.accounts().create(new_account("sanne", None)).await.unwrap();
        let sessions = store.sessions();
        for digest in ["ended", "renewed"] {
            let ends = clock.now() + time::Duration::hours(1);
            sessions.create(digest, &account.id, ends).await.unwrap();
            sessions.add_client(digest, "ebooks").await.unwrap();
        }
        clock.advance(time::Duration::hours(26));
        let renewal = if database.is_postgres() {
            "CREATE FUNCTION keep_renewed() RETURNS trigger AS $$ BEGIN \
               IF OLD.id_digest = 'renewed' THEN RETURN NULL; END IF; RETURN OLD; \
             END $$ LANGUAGE plpgsql; \
             CREATE TRIGGER keep_renewed BEFORE DELETE ON browser_sessions \
             FOR EACH ROW EXECUTE FUNCTION keep_renewed();"
        } else {
            "CREATE TRIGGER keep_renewed BEFORE DELETE ON browser_sessions \
             WHEN OLD.id_digest = 'renewed' BEGIN SELECT RAISE(IGNORE); END;"
        };
        store.connection().execute_unprepared(renewal).await.unwrap();

        sweep_takes_the_ended_session_and_its_client(&store).await;

        assert_eq!(sessions.clients_of("renewed").await.unwrap(), ["ebooks"]);
    }

    /// A sweep stopped between a batch's sessions and their clients (here
    /// by a client table that cannot be written) deletes neither: the next
    /// sweep finds both, where clients left alone would never be swept.
    #[tokio::test]
    async fn a_sweep_stopped_halfway_leaves_no_clients_without_their_session() {
        use sea_orm::ConnectionTrait;

        let (store, clock, _database) = store_with_clock().await;
        let account = store.accounts().create(new_account("sanne", None)).await.unwrap();
        let sessions = store.sessions();
        sessions
            .create("ended", &account.id, clock.now() + time::Duration::hours(1))
            .await
            .unwrap();
        sessions.add_client("ended", "ebooks").await.unwrap();
        clock.advance(time::Duration::hours(26));
        let stop_at_the_clients = "ALTER TABLE session_clients RENAME TO session_clients_away";
        store
            .connection()
            .execute_unprepared(stop_at_the_clients)
            .await
            .unwrap();

        let stopped = store.housekeeping().sweep(Retention::default()).await;

        assert!(stopped.is_err(), "{stopped:?}");
        let back = "ALTER TABLE session_clients_away RENAME TO session_clients";
        store.connection().execute_unprepared(back).await.unwrap();
        assert!(sessions.find("ended").await.unwrap().is_some());
        assert_eq!(sessions.clients_of("ended").await.unwrap(), ["ebooks"]);
        sweep_takes_the_ended_session_and_its_client(&store).await;
    }

    /// Sweeps: the session "ended" goes, and its one client with it.
    async fn sweep_takes_the_ended_session_and_its_client(store: &Store) {
        let swept = store.housekeeping().sweep(Retention::default()).await.unwrap();
        assert_eq!(
            (swept.browser_sessions, swept.session_clients),
            (1, 1),
            "{swept:?}"
        );
        assert!(store.sessions().clients_of("ended").await.unwrap().is_empty());
    }
}

mod refresh_rotation {
    use si_domain::AccountStatus;
    use si_store::{
        Clock, FixedClock, Repositories, Store, StoreError,
        accounts::Account,
        grants::{RefreshGrant, RefreshUse, RevokedGrants, Rotation},
        time,
    };

    use super::{new_account, store_with_clock};

    /// A store with one active member's refresh family `fam` of client
    /// `ebooks`, whose current token has the digest `first`.
    async fn family() -> (Store, FixedClock, si_domain::AccountId, super::TestDatabase) {
        let (store, clock, database) = store_with_clock().await;
        let account = store.accounts().create(new_account("sanne", None)).await.unwrap();
        store
            .accounts()
            .set_status(&account.id, AccountStatus::Active)
            .await
            .unwrap();
        let grant = RefreshGrant {
            token_digest: "first".to_owned(),
            family_id: "fam".to_owned(),
            client_id: "ebooks".to_owned(),
            account: account.id,
            session_digest: None,
            code_digest: Some("the-code".to_owned()),
            scope: "openid".to_owned(),
            auth_time: clock.now(),
            expires_at: clock.now() + time::Duration::days(30),
        };
        store.grants().start_family(&grant).await.unwrap();
        (store, clock, account.id, database)
    }

    /// A reuse of family `fam` once `newest` was its current token: its
    /// access tokens are named by that token and by the family's code.
    fn reused_after(newest: &str) -> RefreshUse {
        RefreshUse::Reused {
            revoked: RevokedGrants {
                newest_refresh_digests: vec![newest.to_owned()],
                code_digests: vec!["the-code".to_owned()],
            },
        }
    }

    /// Rotates as the token endpoint does, issuing what it was given: the
    /// grant and its account.
    async fn rotated(store: &Store, rotation: Rotation<'_>) -> Option<(RefreshGrant, Account)> {
        let issue = async |grant: &RefreshGrant, account: &Account| {
            Ok::<_, StoreError>((grant.clone(), account.clone()))
        };
        store.rotate_refresh(rotation, issue).await.unwrap()
    }

    /// Presenting `presented` of family `fam` as `client`, to be replaced by `successor`.
    fn rotation<'a>(
        presented: &'a str,
        client: &'a str,
        successor: &'a str,
        until: time::OffsetDateTime,
    ) -> Rotation<'a> {
        Rotation {
            family_id: "fam",
            presented_digest: presented,
            client_id: client,
            successor_digest: successor,
            successor_expires_at: until,
            login_lifetime: crate::LOGIN_LIFETIME,
        }
    }

    #[tokio::test]
    async fn of_two_uses_of_one_token_one_rotates_and_the_other_ends_the_family() {
        let (store, clock, account, _database) = family().await;
        let until = clock.now() + time::Duration::days(30);
        let grants = store.grants();
        let (one, other) = tokio::join!(
            rotated(&store, rotation("first", "ebooks", "second-a", until)),
            rotated(&store, rotation("first", "ebooks", "second-b", until)),
        );
        let issued: Vec<_> = [one, other].into_iter().flatten().collect();
        assert_eq!(issued.len(), 1, "exactly one use rotates");
        let (grant, member) = &issued[0];
        assert_eq!((grant.family_id.as_str(), member.id), ("fam", account));
        assert_eq!(member.username.as_str(), "sanne");
        let mut current = Vec::new();
        for successor in ["second-a", "second-b"] {
            if grants
                .current_refresh("fam", successor, crate::LOGIN_LIFETIME)
                .await
                .unwrap()
                .is_some()
            {
                current.push(successor);
            }
        }
        let [winner] = current[..] else {
            panic!("one successor is current: {current:?}");
        };
        assert_eq!(
            grants
                .refuse_refresh("fam", "first", "ebooks", crate::LOGIN_LIFETIME)
                .await
                .unwrap(),
            reused_after(winner)
        );
        assert_eq!(
            rotated(&store, rotation(winner, "ebooks", "third", until)).await,
            None,
            "the reuse revoked the family"
        );
        assert_eq!(
            grants
                .refuse_refresh("fam", "first", "ebooks", crate::LOGIN_LIFETIME)
                .await
                .unwrap(),
            RefreshUse::Revoked,
            "revoked once, not again"
        );
    }

    /// Another node rotates the family while an older token of it is
    /// refused: the reuse names the token the rotation made, whose access
    /// token is the one still to be revoked, not the one it read first.
    #[tokio::test]
    async fn a_reuse_beside_a_rotation_names_the_token_current_when_the_family_ends() {
        use sea_orm::{ConnectionTrait, TransactionTrait};
        let (store, _clock, _account, database) = family().await;
        let other_node = sea_orm::Database::connect(&database.url).await.unwrap();
        let rotation = other_node.begin().await.unwrap();
        rotation
            .execute_unprepared("UPDATE refresh_families SET token_digest = 'second' WHERE family_id = 'fam'")
            .await
            .unwrap();
        let reuse = tokio::spawn({
            let store = store.clone();
            async move {
                store
                    .grants()
                    .refuse_refresh("fam", "older", "ebooks", crate::LOGIN_LIFETIME)
                    .await
            }
        });
        // The reuse has read the family and waits for the row (or writer).
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        rotation.commit().await.unwrap();
        assert_eq!(reuse.await.unwrap().unwrap(), reused_after("second"));
        let revoked = store.grants().revoke_family("fam", "ebooks").await.unwrap();
        assert_eq!(revoked, None, "the reuse revoked it");
    }

    #[tokio::test]
    async fn only_the_current_token_of_its_own_client_and_an_active_account_rotates() {
        let (store, clock, account, _database) = family().await;
        let until = clock.now() + time::Duration::days(30);
        let grants = store.grants();
        let refused = async |digest: &str, client: &str| {
            assert_eq!(
                rotated(&store, rotation(digest, client, "next", until)).await,
                None
            );
            grants
                .refuse_refresh("fam", digest, client, crate::LOGIN_LIFETIME)
                .await
                .unwrap()
        };

        assert_eq!(refused("first", "other-client").await, RefreshUse::Unknown);
        store
            .accounts()
            .set_status(&account, AccountStatus::Disabled)
            .await
            .unwrap();
        assert_eq!(refused("first", "ebooks").await, RefreshUse::AccountNotActive);
        store
            .accounts()
            .set_status(&account, AccountStatus::Active)
            .await
            .unwrap();
        clock.advance(time::Duration::days(31));
        assert_eq!(refused("first", "ebooks").await, RefreshUse::Expired);
        let current = grants
            .current_refresh("fam", "first", crate::LOGIN_LIFETIME)
            .await
            .unwrap();
        assert_eq!(current, None, "expired, but neither rotated nor revoked");
        clock.advance(-time::Duration::days(31));
        assert!(
            rotated(&store, rotation("first", "ebooks", "next", until))
                .await
                .is_some()
        );
    }

    /// However often a family rotates, no token of it outlives its login's
    /// `auth_time` plus the login lifetime, and past that the family has
    /// expired (not been reused).
    #[tokio::test]
    async fn a_family_ends_with_its_login_however_often_it_rotates() {
        let (store, clock, _account, _database) = family().await;
        let logged_in = clock.now();
        let grants = store.grants();
        let short = |presented, successor| Rotation {
            login_lifetime: time::Duration::days(40),
            ..rotation(
                presented,
                "ebooks",
                successor,
                clock.now() + time::Duration::days(30),
            )
        };
        let expiry_of = async |digest: &str| {
            let current = grants
                .current_refresh("fam", digest, time::Duration::days(40))
                .await
                .unwrap();
            current.map(|(grant, _)| grant.expires_at)
        };

        clock.advance(time::Duration::days(5));
        assert!(rotated(&store, short("first", "second")).await.is_some());
        assert_eq!(
            expiry_of("second").await,
            Some(clock.now() + time::Duration::days(30)),
            "a successor lives its 30 days while the login has more"
        );
        clock.advance(time::Duration::days(25));
        assert!(rotated(&store, short("second", "third")).await.is_some());
        assert_eq!(
            expiry_of("third").await,
            Some(logged_in + time::Duration::days(40)),
            "and only what the login has left after that"
        );
        clock.advance(time::Duration::days(10));
        assert_eq!(rotated(&store, short("third", "fourth")).await, None);
        assert_eq!(
            grants
                .refuse_refresh("fam", "third", "ebooks", time::Duration::days(40))
                .await
                .unwrap(),
            RefreshUse::Expired
        );

        // A lifetime shortened since the last rotation ends the family at
        // once, though its token's own expiry is still ahead.
        clock.advance(-time::Duration::days(15));
        let shortened = time::Duration::days(20);
        let rotation = Rotation {
            login_lifetime: shortened,
            ..short("third", "fourth")
        };
        assert_eq!(rotated(&store, rotation).await, None);
        assert_eq!(
            grants.current_refresh("fam", "third", shortened).await.unwrap(),
            None
        );
        assert_eq!(
            grants
                .refuse_refresh("fam", "third", "ebooks", shortened)
                .await
                .unwrap(),
            RefreshUse::Expired
        );
    }
}

#[tokio::test]
async fn a_database_gone_away_is_unavailable_and_a_refused_row_is_not() {
    let (store, database) = fresh_store().await;
    library_with_catalogue(&store, "DRE01").await;
    let duplicate = store
        .catalogue()
        .create_library(&code("DRE01"), &name("Again"))
        .await
        .unwrap_err();
    assert!(matches!(duplicate, StoreError::Duplicate { .. }), "{duplicate:?}");
    assert!(
        !duplicate.is_unavailable(),
        "a refused row is the request's fault"
    );

    if database.is_postgres() {
        // Only a connection used within the last second is not checked
        // before use: end again if a slow machine let the second pass.
        let mut broken = None;
        for _ in 0..4 {
            store.catalogue().libraries().await.unwrap();
            database.end_connections().await;
            if let Err(error) = store.catalogue().libraries().await {
                broken = Some(error);
                break;
            }
        }
        let broken = broken.expect("an ended connection fails");
        assert!(broken.is_unavailable(), "{broken:?}");
        assert!(broken.is_ended_connection(), "{broken:?}");
    }

    store.connection().close_by_ref().await.unwrap();
    let closed = store.catalogue().libraries().await.unwrap_err();
    assert!(closed.is_unavailable(), "{closed:?}");
}

#[tokio::test]
async fn a_ping_after_a_database_restart_goes_past_every_ended_connection() {
    use sea_orm::ConnectionTrait;
    let (store, database) = fresh_store().await;
    // Five statements at once leave five connections idle in the pool.
    let held: Vec<_> = (0..5)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let hold = match store.backend() {
                    si_store::Backend::Postgres => "SELECT pg_sleep(0.2)",
                    si_store::Backend::Sqlite => "SELECT 1",
                };
                store.connection().execute_unprepared(hold).await.unwrap();
            })
        })
        .collect();
    for statement in held {
        statement.await.unwrap();
    }
    store.ping().await.unwrap();
    if database.end_connections().await {
        store
            .ping()
            .await
            .expect("the database is back, and so is the store");
        store.catalogue().libraries().await.expect("a live connection");
    }
}

/// A recovery request is taken once, whichever node asks; one that failed
/// waits behind the others, and one failing for a day is dropped.
#[tokio::test]
async fn a_recovery_request_is_taken_once_and_a_failing_one_waits_its_turn() {
    use si_store::recovery_requests::RecoveryRequest;
    let (store, clock, _database) = store_with_clock().await;
    let asked = |typed: &str| RecoveryRequest {
        kind: "password".to_owned(),
        typed: typed.to_owned(),
        language: "nl".to_owned(),
        login_return: String::new(),
    };
    let requests = store.recovery_requests();
    let first = requests.add(&asked("sanne")).await.unwrap();
    clock.advance(si_store::time::Duration::seconds(1));
    let second = requests.add(&asked("piet")).await.unwrap();
    let minute = std::time::Duration::from_secs(60);
    assert!(
        requests.left_over(minute, 10).await.unwrap().is_empty(),
        "none waits a minute yet"
    );
    assert_eq!(
        requests.left_over(std::time::Duration::ZERO, 10).await.unwrap(),
        [first, second]
    );

    // The first failed: back in line, behind the second.
    clock.advance(si_store::time::Duration::seconds(1));
    requests.postpone(first).await.unwrap();
    assert_eq!(
        requests.left_over(std::time::Duration::ZERO, 10).await.unwrap(),
        [second, first]
    );

    // Two nodes take the second: one gets it.
    let txn = store.begin().await.unwrap();
    assert_eq!(
        txn.recovery_requests().take(second).await.unwrap(),
        Some(asked("piet"))
    );
    txn.commit().await.unwrap();
    let txn = store.begin().await.unwrap();
    assert_eq!(txn.recovery_requests().take(second).await.unwrap(), None);
    drop(txn);
    // Taken in a transaction that rolled back: still there.
    let txn = store.begin().await.unwrap();
    assert!(txn.recovery_requests().take(first).await.unwrap().is_some());
    drop(txn);
    assert_eq!(
        requests.left_over(std::time::Duration::ZERO, 10).await.unwrap(),
        [first]
    );

    let day = std::time::Duration::from_secs(24 * 60 * 60);
    assert_eq!(requests.drop_older_than(day).await.unwrap(), 0);
    clock.advance(si_store::time::Duration::days(1));
    assert_eq!(requests.drop_older_than(day).await.unwrap(), 1);
    assert!(
        requests
            .left_over(std::time::Duration::ZERO, 10)
            .await
            .unwrap()
            .is_empty()
    );
}
