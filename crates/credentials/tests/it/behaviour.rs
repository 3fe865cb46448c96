//! Upgrade decisions, parameter validation and the refusal of malformed or
//! over-expensive stored hashes.

use si_credentials::{
    Argon2Params, CredentialError, HashCost, HashFormat, MAX_PASSWORD_BYTES, Verification, dummy_verify,
    hash_password, slowest_refusal, verify_password,
};

#[test]
fn a_fresh_default_hash_matches_without_upgrade() {
    let current = Argon2Params::default();
    let stored = hash_password("correct horse battery staple", &current).unwrap();
    assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{stored}");
    assert_eq!(HashFormat::detect(&stored), Ok(HashFormat::Argon2id));
    assert_eq!(
        verify_password("correct horse battery staple", &stored, &current),
        Ok(Verification::Match { needs_upgrade: false })
    );
    assert_eq!(
        verify_password("correct horse battery stapler", &stored, &current),
        Ok(Verification::Mismatch)
    );
}

/// "é" as one character (NFC) or as "e" and a combining accent (NFD), as
/// keyboards and phones give either: one password (NIST SP 800-63B 5.1.1.2).
#[test]
fn a_password_is_the_same_in_either_unicode_form() {
    let current = Argon2Params::new(8, 1, 1).unwrap();
    let (composed, decomposed) = ("Caf\u{e9}-Pw1!xyz", "Cafe\u{301}-Pw1!xyz");
    for set in [composed, decomposed] {
        let stored = hash_password(set, &current).unwrap();
        for typed in [composed, decomposed] {
            assert_eq!(
                verify_password(typed, &stored, &current),
                Ok(Verification::Match { needs_upgrade: false }),
                "set {set:?}, typed {typed:?}"
            );
        }
        assert_eq!(
            verify_password("Cafe-Pw1!xyz", &stored, &current),
            Ok(Verification::Mismatch)
        );
    }
}

/// A hash made of the bytes as typed, before passwords were normalized (or
/// by an old system): the password as typed still matches it, and the hash
/// is to be upgraded, after which any form matches.
#[test]
fn a_hash_of_the_password_as_typed_still_matches_and_is_upgraded() {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let current = Argon2Params::new(8, 1, 1).unwrap();
    let decomposed = "Cafe\u{301}-Pw1!xyz";
    let salt = SaltString::encode_b64(b"sixteen byte slt").unwrap();
    let hasher = argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        argon2::Params::new(8, 1, 1, None).unwrap(),
    );
    let stored = hasher
        .hash_password(decomposed.as_bytes(), &salt)
        .unwrap()
        .to_string();
    assert_eq!(
        verify_password(decomposed, &stored, &current),
        Ok(Verification::Match { needs_upgrade: true })
    );
    assert_eq!(
        verify_password("Cafe-Pw1!xyz", &stored, &current),
        Ok(Verification::Mismatch)
    );
    let upgraded = hash_password(decomposed, &current).unwrap();
    assert_eq!(
        verify_password("Caf\u{e9}-Pw1!xyz", &upgraded, &current),
        Ok(Verification::Match { needs_upgrade: false })
    );
}

/// A password within the limit whose NFKC form is not (a few characters
/// that each spell out to many): it is hashed and checked as typed, so it
/// is set, and an old system's hash of it still matches.
#[test]
fn a_password_that_outgrows_the_limit_in_nfkc_is_kept_as_typed() {
    let current = Argon2Params::new(8, 1, 1).unwrap();
    let grows = format!("Aa1!{}", "\u{fdfa}".repeat(60));
    let stored = hash_password(&grows, &current).unwrap();
    assert_eq!(
        verify_password(&grows, &stored, &current),
        Ok(Verification::Match { needs_upgrade: false })
    );
}

#[test]
fn salts_are_random() {
    let current = Argon2Params::default();
    assert_ne!(
        hash_password("same", &current).unwrap(),
        hash_password("same", &current).unwrap()
    );
}

#[test]
fn argon2id_with_other_parameters_needs_upgrade() {
    let old = Argon2Params::new(8 * 1024, 3, 1).unwrap();
    let stored = hash_password("pw", &old).unwrap();
    assert_eq!(
        verify_password("pw", &stored, &Argon2Params::default()),
        Ok(Verification::Match { needs_upgrade: true })
    );
    assert_eq!(
        verify_password("pw", &stored, &old),
        Ok(Verification::Match { needs_upgrade: false })
    );
}

#[test]
fn argon2_parameters_are_validated() {
    let default = Argon2Params::default();
    assert_eq!(
        (default.memory_kib(), default.iterations(), default.parallelism()),
        (19_456, 2, 1)
    );
    for (m, t, p) in [
        (0, 2, 1),
        (19_456, 0, 1),
        (19_456, 2, 0),
        (2 * 1024 * 1024, 1, 1),
        (1024 * 1024, 5, 1),
        (65_536, 2, 64),
    ] {
        assert!(
            matches!(Argon2Params::new(m, t, p), Err(CredentialError::InvalidParams(_))),
            "m={m} t={t} p={p}"
        );
    }
}

#[test]
fn empty_and_unknown_strings_are_unknown_formats() {
    for stored in [
        "",
        "password",
        "$",
        "$9$abc",
        "{MD5}X03MO1qnZdYdgyfeuILPmQ==",
        "5f4dcc3b5aa765d61d8327deb882cf99",
    ] {
        assert_eq!(
            HashFormat::detect(stored),
            Err(CredentialError::UnknownFormat),
            "{stored}"
        );
        assert_eq!(
            verify_password("password", stored, &Argon2Params::default()),
            Err(CredentialError::UnknownFormat)
        );
    }
}

#[test]
fn deliberately_unsupported_formats_say_so() {
    for stored in [
        "$2x$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
        "$7$C6..../....SodiumChloride$kBGj9fHznVYFQMEn/qDCfrDevf9YDtcDdKvEqHJLV8D",
        "{CRYPT}$1$dXc3I7Rw$ctlgjDdWJLMT.qwHsWhXR1",
    ] {
        assert!(
            matches!(HashFormat::detect(stored), Err(CredentialError::Unsupported(_))),
            "{stored}"
        );
    }
}

#[test]
fn ldap_scheme_names_are_case_insensitive() {
    assert_eq!(
        verify_password(
            "password",
            "{ssha}jdALDtX0+MVMkRsX0ilHz0O6Uos95D4s",
            &Argon2Params::default()
        ),
        Ok(Verification::Match { needs_upgrade: true })
    );
}

fn assert_malformed(stored: &str, expected: HashFormat) {
    match HashFormat::detect(stored) {
        Err(CredentialError::Malformed { format, .. }) => assert_eq!(format, expected, "{stored}"),
        other => panic!("{stored}: expected Malformed, got {other:?}"),
    }
    assert!(
        matches!(
            verify_password("password", stored, &Argon2Params::default()),
            Err(CredentialError::Malformed { .. })
        ),
        "{stored}"
    );
}

fn assert_too_expensive(stored: &str, expected: HashFormat) {
    match HashFormat::detect(stored) {
        Err(CredentialError::TooExpensive { format, .. }) => {
            assert_eq!(format, expected, "{stored}")
        }
        other => panic!("{stored}: expected TooExpensive, got {other:?}"),
    }
}

#[test]
fn malformed_hashes_are_typed_errors() {
    use HashFormat::*;
    let cases = [
        ("$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ", Argon2id),
        ("$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$!!!!", Argon2id),
        (
            "$argon2id$v=19$m=256,t=2,p=1$c29t$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
            Argon2id,
        ),
        (
            "$argon2i$v=42$m=256,t=2,p=1$c29tZXNhbHQ$tsEVYKap1h6scGt5ovl9aLRGOqOth+AMB+KwHpDFZPs",
            Argon2i,
        ),
        (
            "$2a$99$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
            Bcrypt,
        ),
        (
            "$2a$5$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
            Bcrypt,
        ),
        (
            "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOe",
            Bcrypt,
        ),
        (
            "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyO!W",
            Bcrypt,
        ),
        ("$2b$", Bcrypt),
        (
            "$pbkdf2-sha256$0$4vjV83LKPjQzk31VI4E0Vw$hsYF68OiOUPdDZ1Fg.fJPeq1h/gXXY7acBp9/6c.tmQ",
            Pbkdf2Sha256,
        ),
        (
            "$pbkdf2-sha256$1212$4vjV83LKPjQzk31VI4E0Vw$hsYF68OiOUPdDZ1Fg",
            Pbkdf2Sha256,
        ),
        ("$pbkdf2-sha256$1212$4vjV83LKPjQzk31VI4E0Vw", Pbkdf2Sha256),
        (
            "$pbkdf2$-5$OB.dtnSEXZK8U5cgxU/GYQ$y5LKPOplRmok7CZp/aqVDVg8zGI",
            Pbkdf2Sha1,
        ),
        // 389-ds lists this one under "Need to check": its hash is one character short.
        (
            "{PBKDF2-SHA1}10000$ZBEH6B07rgQpJSikyvMU2w$TAA03a5IYkz1QlPsbJKvUsTqNV",
            Pbkdf2Sha1,
        ),
        (
            "$scrypt$ln=10,r=8$TmFDbA$/bq+HJ00cgB4VucZDQHp/nxq18vII3gw53N2Y0s3MWI",
            Scrypt,
        ),
        (
            "$scrypt$ln=0,r=8,p=1$TmFDbA$/bq+HJ00cgB4VucZDQHp/nxq18vII3gw53N2Y0s3MWI",
            Scrypt,
        ),
        ("$scrypt$ln=10,r=8,p=16$TmFDbA$@@@", Scrypt),
        ("$5$saltstring", ShaCrypt256),
        (
            "$5$rounds=abc$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5",
            ShaCrypt256,
        ),
        (
            "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc",
            ShaCrypt256,
        ),
        (
            "$6$saltstringsaltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1",
            ShaCrypt512,
        ),
        ("$1$dXc3I7Rw", Md5Crypt),
        ("$1$dXc3I7Rw$ctlgjDdWJLMT.qwHsWhXR", Md5Crypt),
        ("$1$dXc3I7Rwxx$ctlgjDdWJLMT.qwHsWhXR1", Md5Crypt),
        ("{SHA}W6ph5Mm5Pz8GgiULbPgzG37m", Sha1),
        ("{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9gAAAA", Sha1),
        ("{SSHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", Ssha1),
        ("{SSHA256}not base64!", Ssha256),
        ("{SSHA512}", Ssha512),
    ];
    for (stored, format) in cases {
        assert_malformed(stored, format);
    }
    assert_malformed(&format!("{{SSHA}}{}", "A".repeat(600)), HashFormat::Ssha1);
}

#[test]
fn parameters_beyond_the_budget_are_refused_without_running() {
    use HashFormat::*;
    // Each of these would take minutes or gigabytes if attempted; the test finishing
    // quickly is part of what it checks.
    let cases = [
        (
            "$argon2id$v=19$m=4194304,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
            Argon2id,
        ),
        (
            "$argon2id$v=19$m=1048576,t=100,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
            Argon2id,
        ),
        (
            "$2a$31$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
            Bcrypt,
        ),
        (
            "$pbkdf2-sha512$99999999999$RHY0Fr3IDMSVO/RSZyb5ow$eNLfBK.eVozomMr.1gYa17k9B7KIK25NOEshvhrSX.esqY3s.FvWZViXz4KoLlQI.BzY/YTNJOiKc5gBYFYGww",
            Pbkdf2Sha512,
        ),
        (
            "$scrypt$ln=30,r=8,p=1$TmFDbA$/bq+HJ00cgB4VucZDQHp/nxq18vII3gw53N2Y0s3MWI",
            Scrypt,
        ),
        (
            "$scrypt$ln=20,r=8,p=16$TmFDbA$/bq+HJ00cgB4VucZDQHp/nxq18vII3gw53N2Y0s3MWI",
            Scrypt,
        ),
        (
            "$scrypt$ln=63,r=4294967295,p=4294967295$TmFDbA$/bq+HJ00cgB4VucZDQHp/nxq18vII3gw53N2Y0s3MWI",
            Scrypt,
        ),
        // A small table, but lanes of 1 GiB: p·r·128 counts as much as N·r·128.
        (
            "$scrypt$ln=1,r=4194304,p=2$TmFDbA$/bq+HJ00cgB4VucZDQHp/nxq18vII3gw53N2Y0s3MWI",
            Scrypt,
        ),
        (
            "$5$rounds=999999999$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5",
            ShaCrypt256,
        ),
    ];
    for (stored, format) in cases {
        assert_too_expensive(stored, format);
    }
}

#[test]
fn overlong_passwords_are_refused() {
    let long = "a".repeat(MAX_PASSWORD_BYTES + 1);
    let expected = Err(CredentialError::PasswordTooLong {
        max: MAX_PASSWORD_BYTES,
    });
    assert_eq!(
        hash_password(&long, &Argon2Params::default()),
        expected.clone().map(|()| String::new())
    );
    assert_eq!(
        verify_password(
            &long,
            "$1$dXc3I7Rw$ctlgjDdWJLMT.qwHsWhXR1",
            &Argon2Params::default()
        ),
        expected.map(|()| Verification::Mismatch)
    );
}

#[test]
fn dummy_verify_costs_about_as_much_as_a_real_verification() {
    let current = Argon2Params::default();
    let stored = hash_password("pw", &current).unwrap();
    let fastest = |work: &dyn Fn()| {
        (0..3)
            .map(|_| {
                let start = std::time::Instant::now();
                work();
                start.elapsed()
            })
            .min()
            .unwrap()
    };
    let real = fastest(&|| {
        verify_password("wrong", &stored, &current).unwrap();
    });
    let dummy = fastest(&|| dummy_verify("wrong", &current));
    // Loose bounds: the machine is shared, but a skipped hash would be ~1000x faster.
    assert!(
        dummy * 3 > real && dummy < real * 3,
        "real {real:?}, dummy {dummy:?}"
    );
}

#[test]
fn errors_do_not_echo_the_stored_hash() {
    let stored = "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOe";
    let message = HashFormat::detect(stored).unwrap_err().to_string();
    assert!(!message.contains("CCCC"), "{message}");
}

/// Hashes of one setting, whatever their salt, cost the same; the setting
/// is named as an operator would look it up.
#[test]
fn a_hash_cost_names_the_format_and_its_settings() {
    let current = Argon2Params::new(8, 1, 1).unwrap();
    let bcrypt_12 = |password: &str| {
        let hash = bcrypt::hash_with_result(password, 12).unwrap();
        hash.format_for_version(bcrypt::Version::TwoB)
    };
    let (one, other) = (bcrypt_12("een"), bcrypt_12("twee"));
    assert_ne!(one, other);
    assert_eq!(HashCost::of(&one), HashCost::of(&other));
    let named = |stored: &str| HashCost::of(stored).unwrap().to_string();
    assert_eq!(named(&one), "bcrypt (cost 12)");
    assert_eq!(
        named("$scrypt$ln=8,r=8,p=1$wlhLyXmP8b53bm1NKYVQqg$mTpvG8lzuuDk+DWz8HZIB6Vum6erDuUm0As5yU+VxWA"),
        "scrypt (ln=8, r=8, p=1)"
    );
    assert_eq!(
        named("$pbkdf2-sha256$1212$4vjV83LKPjQzk31VI4E0Vw$hsYF68OiOUPdDZ1Fg.fJPeq1h/gXXY7acBp9/6c.tmQ"),
        "pbkdf2-sha256 (1212 rounds)"
    );
    assert_eq!(
        named(&hash_password("een", &current).unwrap()),
        "argon2id (m=8, t=1, p=1)"
    );
    assert_eq!(named("{SSHA}jdALDtX0+MVMkRsX0ilHz0O6Uos95D4s"), "{SSHA}");
    assert_eq!(HashCost::of("{MD5}abc"), Err(CredentialError::UnknownFormat));

    // Within a format, more work is a higher cost; a format without
    // settings has one.
    let work = |stored: &str| HashCost::of(stored).unwrap().work();
    assert!(work(&one) > work("$2b$04$cVWp4XaNU8a4v1uMRum2SO026BWLIoQMD/TXg5uZV.0P.uO8m3YEm"));
    assert!(
        work("$scrypt$ln=8,r=8,p=1$wlhLyXmP8b53bm1NKYVQqg$mTpvG8lzuuDk+DWz8HZIB6Vum6erDuUm0As5yU+VxWA")
            > work("$scrypt$ln=4,r=1,p=1$$d9ZXYjhleyA7GcpCwYoEl/FrSETjB0ro39/6P+3iFEI")
    );
    assert_eq!(
        HashCost::of("{SSHA}jdALDtX0+MVMkRsX0ilHz0O6Uos95D4s")
            .unwrap()
            .settings(),
        ""
    );

    // A hash the nodes would make now, and one they would not.
    let made_now = HashCost::of(&hash_password("een", &current).unwrap()).unwrap();
    assert!(made_now.is_current(&current));
    assert!(!made_now.is_current(&Argon2Params::new(16, 1, 1).unwrap()));
    assert!(!HashCost::of(&one).unwrap().is_current(&current));
}

/// Whether a hash is as hard to crack as OWASP asks of its format: the
/// migration plan warns of those that are not.
#[test]
fn a_hash_cost_says_whether_it_meets_owasps_minimum() {
    let meets = |stored: &str| HashCost::of(stored).unwrap().meets_owasp_minimum();
    let bcrypt = |cost| {
        let hash = bcrypt::hash_with_result("een", cost).unwrap();
        hash.format_for_version(bcrypt::Version::TwoB)
    };
    assert!(meets(&bcrypt(10)));
    assert!(!meets(&bcrypt(9)));
    let owasp = Argon2Params::new(19 * 1024, 2, 1).unwrap();
    assert!(meets(&hash_password("een", &owasp).unwrap()));
    for (memory_kib, passes) in [(8, 1), (35 * 1024, 1), (19 * 1024 - 1, 2)] {
        let cheap = Argon2Params::new(memory_kib, passes, 1).unwrap();
        assert!(
            !meets(&hash_password("een", &cheap).unwrap()),
            "m={memory_kib} t={passes}"
        );
    }
    let pbkdf2 = |rounds: u32| {
        format!("$pbkdf2-sha256${rounds}$4vjV83LKPjQzk31VI4E0Vw$hsYF68OiOUPdDZ1Fg.fJPeq1h/gXXY7acBp9/6c.tmQ")
    };
    assert!(meets(&pbkdf2(600_000)));
    assert!(!meets(&pbkdf2(599_999)));
    assert!(!meets(
        "$scrypt$ln=8,r=8,p=1$wlhLyXmP8b53bm1NKYVQqg$mTpvG8lzuuDk+DWz8HZIB6Vum6erDuUm0As5yU+VxWA"
    ));
    let scrypt = |ln: u32, p: u32| {
        format!(
            "$scrypt$ln={ln},r=8,p={p}$wlhLyXmP8b53bm1NKYVQqg$mTpvG8lzuuDk+DWz8HZIB6Vum6erDuUm0As5yU+VxWA"
        )
    };
    assert!(meets(&scrypt(15, 3)), "a set OWASP lists");
    assert!(!meets(&scrypt(16, 1)));
    let sha_crypt = |rounds: u32| format!("$6$rounds={rounds}$saltsalt$") + &"a".repeat(86);
    assert!(!meets(&sha_crypt(5_000)));
    assert!(meets(&sha_crypt(210_000)));
    for never in [
        "{SSHA}jdALDtX0+MVMkRsX0ilHz0O6Uos95D4s",
        "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=",
    ] {
        assert!(!meets(never), "{never}");
    }
}

/// The worst refusal grows with the work the hash asks: bcrypt at cost 10
/// does 64 times the work of cost 4.
#[test]
fn the_slowest_refusal_grows_with_the_hashs_cost() {
    let current = Argon2Params::new(8, 1, 1).unwrap();
    let bcrypt = |cost| {
        let hash = bcrypt::hash_with_result("geheim", cost).unwrap();
        hash.format_for_version(bcrypt::Version::TwoB)
    };
    // The shortest of three tries: a pause of the machine does not count.
    let shortest = |stored: &str| {
        (0..3)
            .map(|_| slowest_refusal(stored, &current).unwrap())
            .min()
            .unwrap()
    };
    let (cheap, dear) = (shortest(&bcrypt(4)), shortest(&bcrypt(10)));
    assert!(dear > cheap * 8, "cost 4: {cheap:?}, cost 10: {dear:?}");
    assert_eq!(
        slowest_refusal("{MD5}abc", &current),
        Err(CredentialError::UnknownFormat)
    );
}
