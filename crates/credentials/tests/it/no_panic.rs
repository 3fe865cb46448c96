//! Arbitrary stored strings and passwords never panic, whatever the prefix.

use proptest::prelude::*;
use si_credentials::{Argon2Params, HashFormat, verify_password};

const PREFIXES: &[&str] = &[
    "$argon2id$",
    "$argon2i$",
    "$argon2d$",
    "$argon2id$v=19$m=256,t=2,p=1$",
    "$2a$",
    "$2b$05$",
    "$2y$04$",
    "$pbkdf2$",
    "$pbkdf2-sha256$1$",
    "$pbkdf2-sha512$",
    "{PBKDF2}",
    "{PBKDF2-SHA256}1$",
    "$scrypt$",
    "$scrypt$ln=1,r=1,p=1$",
    "$5$",
    "$6$rounds=",
    "$1$",
    "{SHA}",
    "{SSHA}",
    "{SSHA256}",
    "{ssha512}",
];

fn stored_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        (prop::sample::select(PREFIXES), "[ -~]{0,100}").prop_map(|(prefix, rest)| format!("{prefix}{rest}")),
        (prop::sample::select(PREFIXES), any::<String>())
            .prop_map(|(prefix, rest)| format!("{prefix}{rest}")),
    ]
}

proptest! {
    #[test]
    fn detect_never_panics(stored in stored_strategy()) {
        let _ = HashFormat::detect(&stored);
    }

    #[test]
    fn verify_never_panics(password in any::<String>(), stored in stored_strategy()) {
        let detected = HashFormat::detect(&stored);
        let verified = verify_password(&password, &stored, &Argon2Params::default());
        // Verification fails exactly when detection does, with the same error.
        if let Err(error) = detected {
            prop_assert_eq!(verified, Err(error));
        }
    }
}
