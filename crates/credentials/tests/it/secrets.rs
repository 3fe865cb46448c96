//! Random tokens and their stored digests.

use si_credentials::secrets::{SecretToken, digest, verify_digest};

#[test]
fn tokens_are_43_url_safe_characters_and_differ() {
    let first = SecretToken::generate().unwrap();
    let second = SecretToken::generate().unwrap();
    for token in [&first, &second] {
        assert_eq!(token.expose().len(), 43);
        assert!(
            token
                .expose()
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
    }
    assert_ne!(first, second);
}

#[test]
fn debug_output_is_redacted() {
    let token = SecretToken::generate().unwrap();
    let debug = format!("{token:?}");
    assert!(!debug.contains(token.expose()));
    assert!(debug.contains("redacted"));
}

#[test]
fn digest_is_lower_case_hex_sha256() {
    // FIPS 180-2 appendix B.1: SHA-256("abc").
    assert_eq!(
        digest("abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    let token = SecretToken::generate().unwrap();
    assert_eq!(token.digest(), digest(token.expose()));
}

#[test]
fn verify_digest_accepts_only_the_matching_token() {
    let stored = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    assert!(verify_digest("abc", stored));
    assert!(verify_digest("abc", &stored.to_uppercase()));
    assert!(!verify_digest("abd", stored));
    assert!(!verify_digest("abc", &stored[1..]));
    assert!(!verify_digest("abc", &stored.replace('b', "g")));
    assert!(!verify_digest("abc", ""));
    assert!(!verify_digest("abc", &"é".repeat(32)));
}
