//! Signing keys as stored: sealed private halves, rotation windows.

use std::sync::Arc;

use si_store::{
    FixedClock, Repositories, Store, StoreError,
    signing_keys::StoredKey,
    testing::TestDatabase,
    time::{Duration, OffsetDateTime, macros::datetime},
};

const START: OffsetDateTime = datetime!(2024-06-19 10:00 UTC);

async fn fresh_store() -> (Store, FixedClock, TestDatabase) {
    let database = TestDatabase::create().await;
    let clock = FixedClock::at(START);
    let store = Store::connect(&database.url, Arc::new(clock.clone()))
        .await
        .expect("connect");
    store.migrate().await.expect("migrate");
    (store, clock, database)
}

fn key(kid: &str, algorithm: &str, created_at: OffsetDateTime) -> StoredKey {
    StoredKey {
        kid: kid.to_owned(),
        algorithm: algorithm.to_owned(),
        public_jwk: format!(r#"{{"kid":"{kid}"}}"#),
        private_key_sealed: format!("sealed-{kid}"),
        created_at,
        retire_at: None,
        expires_at: None,
    }
}

fn kids(keys: &[StoredKey]) -> Vec<&str> {
    keys.iter().map(|k| k.kid.as_str()).collect()
}

#[tokio::test]
async fn a_key_round_trips_and_a_kid_is_unique() {
    let (store, _clock, _db) = fresh_store().await;
    let keys = store.signing_keys();
    let mut stored = key("k1", "ES256", START);
    stored.retire_at = Some(START + Duration::hours(1));
    stored.expires_at = Some(START + Duration::hours(2));
    keys.insert(&stored).await.unwrap();

    assert_eq!(keys.all().await.unwrap(), vec![stored.clone()]);
    assert!(matches!(
        keys.insert(&stored).await,
        Err(StoreError::Duplicate { what: "signing key" })
    ));
    assert!(!format!("{stored:?}").contains("sealed-k1"));
}

#[tokio::test]
async fn lists_are_newest_first() {
    let (store, _clock, _db) = fresh_store().await;
    let keys = store.signing_keys();
    keys.insert(&key("old", "RS256", START - Duration::days(2)))
        .await
        .unwrap();
    keys.insert(&key("new", "RS256", START)).await.unwrap();
    keys.insert(&key("mid", "EdDSA", START - Duration::days(1)))
        .await
        .unwrap();

    assert_eq!(kids(&keys.all().await.unwrap()), ["new", "mid", "old"]);
    assert_eq!(kids(&keys.signing().await.unwrap()), ["new", "mid", "old"]);
}

#[tokio::test]
async fn the_signing_window_moves_with_time_and_unpublished_keys_go_when_told() {
    let (store, clock, _db) = fresh_store().await;
    let keys = store.signing_keys();
    keys.insert(&key("old", "ES256", START - Duration::days(1)))
        .await
        .unwrap();
    keys.insert(&key("new", "ES256", START)).await.unwrap();
    keys.retire("old", START + Duration::minutes(5), START + Duration::minutes(30))
        .await
        .unwrap();

    // Before its retire time the old key still signs.
    assert_eq!(kids(&keys.signing().await.unwrap()), ["new", "old"]);

    clock.advance(Duration::minutes(5));
    assert_eq!(kids(&keys.signing().await.unwrap()), ["new"]);

    // Unpublished at +30 minutes: kept when asked to forget keys
    // unpublished before that, gone when asked to forget those of +30.
    assert_eq!(
        keys.delete_unpublished_before(START + Duration::minutes(29))
            .await
            .unwrap(),
        0
    );
    assert_eq!(kids(&keys.all().await.unwrap()), ["new", "old"]);
    assert_eq!(
        keys.delete_unpublished_before(START + Duration::minutes(30))
            .await
            .unwrap(),
        1
    );
    assert_eq!(kids(&keys.all().await.unwrap()), ["new"]);
}

#[tokio::test]
async fn retiring_an_unknown_key_is_not_found() {
    let (store, _clock, _db) = fresh_store().await;
    assert!(matches!(
        store.signing_keys().retire("nope", START, START).await,
        Err(StoreError::NotFound { .. })
    ));
}

#[tokio::test]
async fn a_transaction_rolls_back_a_rotation_it_does_not_commit() {
    let (store, _clock, _db) = fresh_store().await;
    store
        .signing_keys()
        .insert(&key("old", "RS256", START))
        .await
        .unwrap();
    let txn = store.begin().await.unwrap();
    txn.signing_keys()
        .insert(&key("new", "RS256", START))
        .await
        .unwrap();
    txn.signing_keys()
        .retire("old", START, START + Duration::hours(1))
        .await
        .unwrap();
    drop(txn);
    let all = store.signing_keys().all().await.unwrap();
    assert_eq!(kids(&all), ["old"]);
    assert_eq!(all[0].retire_at, None);
}
