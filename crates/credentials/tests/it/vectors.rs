//! Published test vectors for every supported format: each must verify with its
//! password, fail with another, and be classified as its format.

use si_credentials::{Argon2Params, HashFormat, Verification, verify_password};

struct Vector {
    format: HashFormat,
    password: &'static str,
    stored: &'static str,
}

const fn v(format: HashFormat, password: &'static str, stored: &'static str) -> Vector {
    Vector {
        format,
        password,
        stored,
    }
}

use HashFormat::*;

const VECTORS: &[Vector] = &[
    // Argon2 reference implementation, P-H-C/phc-winner-argon2 src/test.c (Argon2id, v=0x13).
    v(
        Argon2id,
        "password",
        "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
    ),
    v(
        Argon2id,
        "password",
        "$argon2id$v=19$m=256,t=2,p=2$c29tZXNhbHQ$bQk8UB/VmZZF4Oo79iDXuL5/0ttZwg2f/5U52iv1cDc",
    ),
    v(
        Argon2id,
        "password",
        "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
    ),
    // Same file, Argon2i at version 0x13 ...
    v(
        Argon2i,
        "password",
        "$argon2i$v=19$m=256,t=2,p=2$c29tZXNhbHQ$T/XOJ2mh1/TIpJHfCdQan76Q5esCFVoT5MAeIM1Oq2E",
    ),
    v(
        Argon2i,
        "differentpassword",
        "$argon2i$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$FK6NoBr+qHAMI1jc73xTWNkCEoK9iGY6RWL1n7dNIu4",
    ),
    // ... and at version 0x10, which is written without `v=`.
    v(
        Argon2i,
        "password",
        "$argon2i$m=256,t=2,p=2$c29tZXNhbHQ$tsEVYKap1h6scGt5ovl9aLRGOqOth+AMB+KwHpDFZPs",
    ),
    v(
        Argon2i,
        "password",
        "$argon2i$m=65536,t=2,p=1$c29tZXNhbHQ$9sTbSlTio3Biev89thdrlKKiCaYsjjYVJxGAL3swxpQ",
    ),
    // Openwall crypt_blowfish wrapper.c test vectors.
    v(
        Bcrypt,
        "U*U",
        "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
    ),
    v(
        Bcrypt,
        "U*U*",
        "$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK",
    ),
    v(
        Bcrypt,
        "U*U*U",
        "$2a$05$XXXXXXXXXXXXXXXXXXXXXOAcXxm9kjPGEMsLznoKqmqw7tc8WCx4a",
    ),
    v(
        Bcrypt,
        "",
        "$2a$05$CCCCCCCCCCCCCCCCCCCCC.7uG0VCzI2bS7j6ymqJi9CdcdxiRTWNy",
    ),
    v(
        Bcrypt,
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789chars after 72 are ignored",
        "$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui",
    ),
    // jBCrypt TestBCrypt vector at the common cost 10.
    v(
        Bcrypt,
        "~!@#$%^&*()      ~!@#$%^&*()PNBFRD",
        "$2a$10$LgfYWkbzEvQ4JakH7rOvHe0y8pHKF9OaFgwUZ2q7W2FFZmZzJYlfS",
    ),
    // pyca/bcrypt tests/test_bcrypt.py ($2b$).
    v(
        Bcrypt,
        "Kk4DQuMMfZL9o",
        "$2b$04$cVWp4XaNU8a4v1uMRum2SO026BWLIoQMD/TXg5uZV.0P.uO8m3YEm",
    ),
    v(
        Bcrypt,
        "9IeRXmnGxMYbs",
        "$2b$04$pQ7gRO7e6wx/936oXhNjrOUNOHL1D0h1N2IDbJZYs.1ppzSof6SPy",
    ),
    // Not published as such: the openwall "U*U" vector under the $2y$ prefix, which
    // differs from $2a$ only for 8-bit passwords (crypt_blowfish documentation).
    v(
        Bcrypt,
        "U*U",
        "$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
    ),
    // passlib tests/test_handlers_pbkdf2.py (pbkdf2_sha*_test and ldap_pbkdf2_test).
    v(
        Pbkdf2Sha1,
        "password",
        "$pbkdf2$1212$OB.dtnSEXZK8U5cgxU/GYQ$y5LKPOplRmok7CZp/aqVDVg8zGI",
    ),
    v(
        Pbkdf2Sha256,
        "password",
        "$pbkdf2-sha256$1212$4vjV83LKPjQzk31VI4E0Vw$hsYF68OiOUPdDZ1Fg.fJPeq1h/gXXY7acBp9/6c.tmQ",
    ),
    v(
        Pbkdf2Sha512,
        "password",
        "$pbkdf2-sha512$1212$RHY0Fr3IDMSVO/RSZyb5ow$eNLfBK.eVozomMr.1gYa17k9B7KIK25NOEshvhrSX.esqY3s.FvWZViXz4KoLlQI.BzY/YTNJOiKc5gBYFYGww",
    ),
    v(
        Pbkdf2Sha1,
        "password",
        "{PBKDF2}1212$OB.dtnSEXZK8U5cgxU/GYQ$y5LKPOplRmok7CZp/aqVDVg8zGI",
    ),
    v(
        Pbkdf2Sha256,
        "password",
        "{PBKDF2-SHA256}1212$4vjV83LKPjQzk31VI4E0Vw$hsYF68OiOUPdDZ1Fg.fJPeq1h/gXXY7acBp9/6c.tmQ",
    ),
    v(
        Pbkdf2Sha512,
        "password",
        "{PBKDF2-SHA512}1212$RHY0Fr3IDMSVO/RSZyb5ow$eNLfBK.eVozomMr.1gYa17k9B7KIK25NOEshvhrSX.esqY3s.FvWZViXz4KoLlQI.BzY/YTNJOiKc5gBYFYGww",
    ),
    // 389-ds dirsrvtests test_migrate_openldap_password_hash: OpenLDAP slappasswd output.
    v(
        Pbkdf2Sha1,
        "password",
        "{PBKDF2}10000$IlfapjA351LuDSwYC0IQ8Q$saHqQTuYnjJN/tmAndT.8mJt.6w",
    ),
    v(
        Pbkdf2Sha256,
        "password",
        "{PBKDF2-SHA256}10000$henZGfPWw79Cs8ORDeVNrQ$1dTJy73v6n3bnTmTZFghxHXHLsAzKaAy8SksDfZBPIw",
    ),
    v(
        Pbkdf2Sha512,
        "password",
        "{PBKDF2-SHA512}10000$Je1Uw19Bfv5lArzZ6V3EPw$g4T/1sqBUYWl9o93MVnyQ/8zKGSkPbKaXXsT8WmysXQJhWy8MRP2JFudSL.N9RklQYgDPxPjnfum/F2f/TrppA",
    ),
    // passlib tests/test_handlers_scrypt.py; the first two and the last are the
    // scrypt paper / RFC 7914 §12 vectors truncated to 32 bytes by passlib.
    v(
        Scrypt,
        "",
        "$scrypt$ln=4,r=1,p=1$$d9ZXYjhleyA7GcpCwYoEl/FrSETjB0ro39/6P+3iFEI",
    ),
    v(
        Scrypt,
        "password",
        "$scrypt$ln=10,r=8,p=16$TmFDbA$/bq+HJ00cgB4VucZDQHp/nxq18vII3gw53N2Y0s3MWI",
    ),
    v(
        Scrypt,
        "test",
        "$scrypt$ln=8,r=8,p=1$wlhLyXmP8b53bm1NKYVQqg$mTpvG8lzuuDk+DWz8HZIB6Vum6erDuUm0As5yU+VxWA",
    ),
    v(
        Scrypt,
        "nacl",
        "$scrypt$ln=1,r=4,p=2$yhnD+J+Tci4lZCwFgHCuVQ$fAsEWmxSHuC0cHKMwKVFPzrQukgvK09Sj+NueTSxKds",
    ),
    v(
        Scrypt,
        "pleaseletmein",
        "$scrypt$ln=14,r=8,p=1$U29kaXVtQ2hsb3JpZGU$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofI",
    ),
    // Ulrich Drepper, "Unix crypt using SHA-256 and SHA-512", test vectors.
    v(
        ShaCrypt256,
        "Hello world!",
        "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5",
    ),
    v(
        ShaCrypt256,
        "Hello world!",
        "$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA",
    ),
    v(
        ShaCrypt256,
        "This is just a test",
        "$5$rounds=5000$toolongsaltstrin$Un/5jzAHMgOGZ5.mWJpuVolil07guHPvOW8mGRcvxa5",
    ),
    v(
        ShaCrypt256,
        "a very much longer text to encrypt.  This one even stretches over morethan one line.",
        "$5$rounds=1400$anotherlongsalts$Rx.j8H.h8HjEDGomFU8bDkXm3XIUnzyxf12oP84Bnq1",
    ),
    v(
        ShaCrypt256,
        "we have a short salt string but not a short password",
        "$5$rounds=77777$short$JiO1O3ZpDAxGJeaDIuqCoEFysAe1mZNJRs3pw0KQRd/",
    ),
    v(
        ShaCrypt256,
        "a short string",
        "$5$rounds=123456$asaltof16chars..$gP3VQ/6X7UUEW3HkBn2w1/Ptq2jxPyzV/cZKmF/wJvD",
    ),
    v(
        ShaCrypt256,
        "the minimum number is still observed",
        "$5$rounds=1000$roundstoolow$yfvwcWrQ8l/K0DAWyuPMDNHpIVlTQebY9l/gL972bIC",
    ),
    // The same with the requested rounds=10, which the specification raises to 1000.
    v(
        ShaCrypt256,
        "the minimum number is still observed",
        "$5$rounds=10$roundstoolow$yfvwcWrQ8l/K0DAWyuPMDNHpIVlTQebY9l/gL972bIC",
    ),
    v(
        ShaCrypt512,
        "Hello world!",
        "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1",
    ),
    v(
        ShaCrypt512,
        "Hello world!",
        "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.",
    ),
    v(
        ShaCrypt512,
        "This is just a test",
        "$6$rounds=5000$toolongsaltstrin$lQ8jolhgVRVhY4b5pZKaysCLi0QBxGoNeKQzQ3glMhwllF7oGDZxUhx1yxdYcz/e1JSbq3y6JMxxl8audkUEm0",
    ),
    v(
        ShaCrypt512,
        "a very much longer text to encrypt.  This one even stretches over morethan one line.",
        "$6$rounds=1400$anotherlongsalts$POfYwTEok97VWcjxIiSOjiykti.o/pQs.wPvMxQ6Fm7I6IoYN3CmLs66x9t0oSwbtEW7o7UmJEiDwGqd8p4ur1",
    ),
    v(
        ShaCrypt512,
        "we have a short salt string but not a short password",
        "$6$rounds=77777$short$WuQyW2YR.hBNpjjRhpYD/ifIw05xdfeEyQoMxIXbkvr0gge1a1x3yRULJ5CCaUeOxFmtlcGZelFl5CxtgfiAc0",
    ),
    v(
        ShaCrypt512,
        "the minimum number is still observed",
        "$6$rounds=10$roundstoolow$kUMsbe306n21p9R.FRkW3IGn.S9NPN0x50YhH1xhLsPuWGsUSklZt58jaTfF4ZEQpyUNGc0dqbpBYYBaHHrsX.",
    ),
    // passlib tests/test_handlers.py md5_crypt, "from JTR 1.7.9".
    v(Md5Crypt, "U*U*U*U*", "$1$dXc3I7Rw$ctlgjDdWJLMT.qwHsWhXR1"),
    v(Md5Crypt, "U*U***U", "$1$dXc3I7Rw$94JPyQc/eAgQ3MFMCoMF.0"),
    v(Md5Crypt, "U*U***U*", "$1$dXc3I7Rw$is1mVIAEtAhIzSdfn5JOO0"),
    v(Md5Crypt, "*U*U*U*U", "$1$eQT9Hwbt$XtuElNJD.eW5MN5UCWyTQ0"),
    v(Md5Crypt, "", "$1$Eu.GHtia$CFkL/nE1BYTlEPiVx1VWX0"),
    // passlib's own md5_crypt vectors in the same list.
    v(Md5Crypt, "test", "$1$ec6XvcoW$ghEtNK2U1MC5l.Dwgi3020"),
    v(Md5Crypt, " ", "$1$m/5ee7ol$bZn0kIBFipq39e.KDXX8I0"),
    // John the Ripper crypt format self-tests (8-character salt, empty salt).
    v(Md5Crypt, "0123456789ABCDE", "$1$12345678$aIccj83HRDBo6ux1bVx7D1"),
    v(Md5Crypt, "", "$1$$qRPK7m23GJusamGpoGLby/"),
    // 389-ds test_migrate_openldap_password_hash (slappasswd -s password).
    v(Sha1, "password", "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g="),
    v(Ssha1, "password", "{SSHA}jdALDtX0+MVMkRsX0ilHz0O6Uos95D4s"),
    v(
        Ssha256,
        "password",
        "{SSHA256}covFryM35UrKB3gMYxtYpQYTHbTn5kFphjcNHewfj581SLJwjA9jew==",
    ),
    v(
        Ssha512,
        "password",
        "{SSHA512}+7A8kA32q4mCBao4Cbatdyzl5imVwJ62ZAE7UOTP4pfrF90E9R2LabOfJFzx6guaYhTmUEVK2wRKC8bToqspdeTluX2d1BX2",
    ),
];

#[test]
fn every_vector_is_classified_as_its_format() {
    for vector in VECTORS {
        assert_eq!(
            HashFormat::detect(vector.stored),
            Ok(vector.format),
            "{}",
            vector.stored
        );
    }
}

#[test]
fn every_vector_verifies_with_its_password() {
    let current = Argon2Params::default();
    for vector in VECTORS {
        // None of the vectors uses our exact argon2id parameters, so all need upgrading.
        assert_eq!(
            verify_password(vector.password, vector.stored, &current),
            Ok(Verification::Match { needs_upgrade: true }),
            "{}",
            vector.stored
        );
    }
}

#[test]
fn every_vector_rejects_another_password() {
    let current = Argon2Params::default();
    for vector in VECTORS {
        // Prepended, since bcrypt ignores whatever follows the 72nd byte.
        let wrong = format!("x{}", vector.password);
        assert_eq!(
            verify_password(&wrong, vector.stored, &current),
            Ok(Verification::Mismatch),
            "{}",
            vector.stored
        );
    }
}

#[test]
fn the_argon2_reference_mismatch_vector_is_a_mismatch() {
    // src/test.c: "the encoded password is \"passwore\"".
    let stored = "$argon2i$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$8iIuixkI73Js3G1uMbezQXD0b8LG4SXGsOwoQkdAQIM";
    assert_eq!(
        verify_password("password", stored, &Argon2Params::default()),
        Ok(Verification::Mismatch)
    );
    assert_eq!(
        verify_password("passwore", stored, &Argon2Params::default()),
        Ok(Verification::Match { needs_upgrade: true })
    );
}

#[test]
fn rfc_7914_scrypt_vector_verifies_at_full_length() {
    // RFC 7914 §12: scrypt(P="password", S="NaCl", N=1024, r=8, p=16, dkLen=64).
    let derived_key = "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162\
                       2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640";
    let bytes: Vec<u8> = (0..derived_key.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&derived_key[i..i + 2], 16).unwrap())
        .collect();
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes);
    let stored = format!("$scrypt$ln=10,r=8,p=16$TmFDbA${encoded}");
    let current = Argon2Params::default();
    assert_eq!(
        verify_password("password", &stored, &current),
        Ok(Verification::Match { needs_upgrade: true })
    );
    assert_eq!(
        verify_password("Password", &stored, &current),
        Ok(Verification::Mismatch)
    );
}
