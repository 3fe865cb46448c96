//! Signing keys: JWKS, sealing at rest, rotation across nodes.

use std::{sync::Arc, time::Duration};

use serde::{Deserialize, Serialize};
use si_store::{Repositories, Store, SystemClock, testing::TestDatabase};
use single_identity::oidc::keys::{self, KeyError, Keyring, SealingKey, SigningAlgorithm};

use crate::support::{binary, run, stderr, stdout, test_config};

const ISSUER: &str = "https://login.bibliotheek.example";

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Claims {
    iss: String,
    sub: String,
    exp: i64,
}

fn claims() -> Claims {
    Claims {
        iss: ISSUER.to_owned(),
        sub: "member-1".to_owned(),
        exp: time::OffsetDateTime::now_utc().unix_timestamp() + 600,
    }
}

/// A node: its own connection to the shared database.
async fn node(database: &TestDatabase) -> Store {
    let store = Store::connect(&database.url, Arc::new(SystemClock))
        .await
        .expect("connect");
    store.migrate().await.expect("migrate");
    store
}

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.expect("a kid")
}

fn kids(jwks: &serde_json::Value) -> Vec<String> {
    let mut kids: Vec<String> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect();
    kids.sort();
    kids
}

#[tokio::test]
async fn two_nodes_starting_at_once_publish_the_same_keys_and_follow_a_rotation() {
    let database = TestDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (node(&database).await, node(&database).await);
    let sealing = SealingKey::load(&test_config(&database, dir.path()), &a)
        .await
        .unwrap();

    let (first, second) = tokio::join!(
        Keyring::load_or_create(&a, &sealing),
        Keyring::load_or_create(&b, &sealing)
    );
    let (first, second) = (first.unwrap(), second.unwrap());
    // One set of keys, one of each algorithm, and both nodes publish it at
    // once: a relying party that fetched either JWKS verifies both.
    assert_eq!(kids(&first.jwks()), kids(&second.jwks()));
    assert_eq!(kids(&first.jwks()).len(), SigningAlgorithm::ALL.len());
    assert_eq!(
        a.signing_keys().signing().await.unwrap().len(),
        SigningAlgorithm::ALL.len()
    );
    for algorithm in SigningAlgorithm::ALL {
        let by_first = first.sign(algorithm, "at+jwt", &claims()).unwrap();
        let by_second = second.sign(algorithm, "at+jwt", &claims()).unwrap();
        assert_eq!(kid_of(&by_first), kid_of(&by_second), "{algorithm}");
        let verified: Claims = second.verify_access_token(&by_first, None, ISSUER).await.unwrap();
        assert_eq!(verified.sub, "member-1");
    }

    let old = first.sign(SigningAlgorithm::Es256, "at+jwt", &claims()).unwrap();
    // No time to publish first: the new key signs at once.
    let windows = (Duration::ZERO, Duration::from_secs(3600));
    let rotated = keys::rotate(&a, &sealing, windows, Duration::from_secs(3600), "operator")
        .await
        .unwrap();
    let new_es256 = rotated
        .iter()
        .find(|r| r.algorithm == SigningAlgorithm::Es256)
        .unwrap();
    assert!(new_es256.retired.contains(&kid_of(&old)));

    second.refresh().await.unwrap();
    let new = second.sign(SigningAlgorithm::Es256, "at+jwt", &claims()).unwrap();
    assert_eq!(kid_of(&new), new_es256.kid);
    let verified: Claims = second.verify_access_token(&old, None, ISSUER).await.unwrap();
    assert_eq!(verified.sub, "member-1");
    assert!(kids(&second.jwks()).contains(&kid_of(&old)));
    assert!(kids(&second.jwks()).contains(&new_es256.kid));

    // The first node has not refreshed: a token with a kid it does not know
    // makes it look again instead of failing.
    let verified: Claims = first.verify_access_token(&new, None, ISSUER).await.unwrap();
    assert_eq!(verified.sub, "member-1");
    assert_eq!(kids(&first.jwks()), kids(&second.jwks()));
}

#[cfg(unix)]
#[tokio::test]
async fn a_generated_key_encryption_key_is_private_to_its_owner_and_reused() {
    use std::os::unix::fs::PermissionsExt;

    let database = TestDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    // A data directory that does not exist yet.
    let data_dir = dir.path().join("nested/data");
    let config = test_config(&database, &data_dir);
    let store = node(&database).await;

    let sealing = SealingKey::load(&config, &store).await.unwrap();
    let file = data_dir.join(keys::KEY_ENCRYPTION_KEY_FILE);
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
    assert_eq!(std::fs::read_dir(&data_dir).unwrap().count(), 1, "no leftovers");
    Keyring::load_or_create(&store, &sealing).await.unwrap();

    // A restart reads the same file and can open the keys sealed before.
    let again = SealingKey::load(&config, &store).await.unwrap();
    let keyring = Keyring::load_or_create(&store, &again).await.unwrap();
    assert_eq!(kids(&keyring.jwks()).len(), 3);

    // The file lost while the database keeps keys sealed with it: an error
    // that says what to do, and no new file that could not open them.
    std::fs::remove_file(&file).unwrap();
    let err = SealingKey::load(&config, &store).await.unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("is missing") && message.contains("restore the file"),
        "{message}"
    );
    assert!(!file.exists(), "no new key file");
}

#[tokio::test]
async fn a_wrong_key_encryption_key_fails_to_load_with_a_clear_error() {
    let database = TestDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    let store = node(&database).await;
    let right = SealingKey::load(&test_config(&database, dir.path()), &store)
        .await
        .unwrap();
    Keyring::load_or_create(&store, &right).await.unwrap();

    let mut wrong = test_config(&database, dir.path());
    wrong.oidc.key_encryption_key = Some("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".to_owned());
    let err = Keyring::load_or_create(&store, &SealingKey::load(&wrong, &store).await.unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, KeyError::Unseal { .. }), "{err}");
    let message = err.to_string();
    assert!(message.contains("cannot be unsealed"), "{message}");
    assert!(message.contains("oidc.key_encryption_key"), "{message}");

    wrong.oidc.key_encryption_key = Some("c2hvcnQ=".to_owned());
    let err = SealingKey::load(&wrong, &store).await.unwrap_err();
    assert!(err.to_string().contains("exactly 32"), "{err}");
}

#[derive(Debug, Deserialize)]
struct Listed {
    kid: String,
    algorithm: String,
    retire_at: Option<String>,
    expires_at: Option<String>,
    state: String,
}

#[tokio::test]
async fn keys_rotate_then_list_shows_the_new_and_the_retired_keys() {
    let database = TestDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let store = node(&database).await;
    // The keys `serve` would create, sealed with the data directory's key file.
    let sealing = SealingKey::load(&test_config(&database, &data_dir), &store)
        .await
        .unwrap();
    let keyring = Keyring::load_or_create(&store, &sealing).await.unwrap();
    let before = kids(&keyring.jwks());

    let si = |args: &[&str]| {
        run(binary(dir.path())
            .env("SI_DATABASE_URL", &database.url)
            .env("SI_DATA_DIR", &data_dir)
            .args(args))
    };
    let rotated = si(&["keys", "rotate"]);
    assert!(rotated.status.success(), "{}", stderr(&rotated));
    let text = stdout(&rotated);
    for algorithm in ["RS256", "ES256", "EdDSA"] {
        assert!(text.contains(&format!("{algorithm:<5}  new key ")), "{text}");
    }
    assert_eq!(
        text.matches(", published now (by every node within a minute), signs from ")
            .count(),
        3,
        "{text}"
    );
    for kid in &before {
        assert!(
            text.contains(&format!("retires {kid} then, published until ")),
            "{text}"
        );
    }

    let listed = si(&["keys", "list", "--json"]);
    assert!(listed.status.success(), "{}", stderr(&listed));
    let listed: Vec<Listed> = serde_json::from_str(&stdout(&listed)).unwrap();
    assert_eq!(listed.len(), 6);
    let (old, new): (Vec<_>, Vec<_>) = listed.iter().partition(|k| before.contains(&k.kid));
    // The old keys sign until every node and cached JWKS has the new ones.
    assert!(
        old.iter()
            .all(|k| k.state == "signing" && k.retire_at.is_some() && k.expires_at.is_some())
    );
    assert!(
        new.iter()
            .all(|k| k.state == "waiting" && k.retire_at.is_none() && k.expires_at.is_none())
    );
    let mut algorithms: Vec<&str> = new.iter().map(|k| k.algorithm.as_str()).collect();
    algorithms.sort();
    assert_eq!(algorithms, ["ES256", "EdDSA", "RS256"]);

    // The binary sealed the new keys with the same key file: a node loads
    // and publishes them, and signs on with the old one meanwhile.
    keyring.refresh().await.unwrap();
    assert_eq!(kids(&keyring.jwks()).len(), 6);
    let token = keyring.sign(SigningAlgorithm::Rs256, "JWT", &claims()).unwrap();
    assert!(old.iter().any(|k| k.kid == kid_of(&token)));

    let text = stdout(&si(&["keys", "list"]));
    assert_eq!(
        text.matches("published, signs when the one it replaces retires")
            .count(),
        3,
        "{text}"
    );
    assert_eq!(
        text.lines().filter(|l| l.ends_with("  signing")).count(),
        3,
        "{text}"
    );

    // Run where the key file is missing, or with another key: refused, and
    // nothing changes.
    let elsewhere = tempfile::tempdir().unwrap();
    let refused = run(binary(elsewhere.path())
        .env("SI_DATABASE_URL", &database.url)
        .args(["keys", "rotate"]));
    assert_eq!(refused.status.code(), Some(1));
    assert!(stderr(&refused).contains("is missing"), "{}", stderr(&refused));
    assert!(
        !elsewhere
            .path()
            .join("data")
            .join(keys::KEY_ENCRYPTION_KEY_FILE)
            .exists()
    );
    let refused = run(binary(elsewhere.path())
        .env("SI_DATABASE_URL", &database.url)
        .env(
            "SI_OIDC__KEY_ENCRYPTION_KEY",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        )
        .args(["keys", "rotate"]));
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("cannot be unsealed"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(
        si_store::Repositories::signing_keys(&store)
            .all()
            .await
            .unwrap()
            .len(),
        6,
        "no keys added"
    );

    // A second rotation while the first one's keys wait: each waits its turn.
    let again = si(&["keys", "rotate"]);
    assert!(again.status.success(), "{}", stderr(&again));
    let listed = stdout(&si(&["keys", "list", "--json"]));
    let listed: Vec<Listed> = serde_json::from_str(&listed).unwrap();
    let count = |state: &str| listed.iter().filter(|k| k.state == state).count();
    assert_eq!((count("signing"), count("waiting")), (3, 6), "{listed:?}");
    keyring.refresh().await.unwrap();
    let token = keyring.sign(SigningAlgorithm::Rs256, "JWT", &claims()).unwrap();
    assert!(
        old.iter().any(|k| k.kid == kid_of(&token)),
        "the first keys sign on"
    );
}

#[test]
fn keys_subcommands_have_help() {
    let dir = tempfile::tempdir().unwrap();
    for command in [["keys", "list"], ["keys", "rotate"]] {
        let output = run(binary(dir.path()).args(command).arg("--help"));
        assert!(output.status.success(), "{}", stderr(&output));
        assert!(stdout(&output).contains("--json"), "{command:?}");
    }
}

/// On a database no node has started on yet, a rotation's keys replace
/// none: they sign at once, and the command says so, as `keys list` does.
#[tokio::test]
async fn a_rotation_on_a_database_without_keys_signs_at_once() {
    let database = TestDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    let si = |args: &[&str]| {
        let output = run(binary(dir.path())
            .env("SI_DATABASE_URL", &database.url)
            .env("SI_DATA_DIR", dir.path().join("data"))
            .args(args));
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        stdout(&output)
    };
    si(&["db", "migrate"]);
    let said = si(&["keys", "rotate"]);
    assert_eq!(
        said.matches(", published and signing now: it replaces none")
            .count(),
        3,
        "{said}"
    );
    let listed: Vec<Listed> = serde_json::from_str(&si(&["keys", "list", "--json"])).unwrap();
    assert_eq!(listed.len(), 3);
    assert!(listed.iter().all(|k| k.state == "signing"), "{listed:?}");
}
