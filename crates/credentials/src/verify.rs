//! Checking a password against whatever a user row stores, and saying whether that
//! row should be rewritten as a current argon2id hash.

use std::time::{Duration, Instant};

use crate::format::{Scheme, check_password_length, parse};
use crate::legacy::sha_crypt;
use crate::normalize::normalized_password;
use crate::{Argon2Params, CredentialError, HashFormat, MAX_PASSWORD_BYTES};

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    Mismatch,
    /// The password is right. When `needs_upgrade` is set the caller should store
    /// [`crate::hash_password`] of it now, while the plaintext is at hand.
    Match {
        needs_upgrade: bool,
    },
}

/// Checks `password` against `stored` in any supported format. Legacy formats always
/// need an upgrade; argon2 ones when they are not argon2id v1.3 with `current`.
///
/// The password is checked in NFKC, the form [`crate::hash_password`] hashes.
/// A hash made of other bytes (by an old system, or before passwords were
/// normalized) is checked with the password as typed too, and then needs an
/// upgrade: from then on any form of it matches.
pub fn verify_password(
    password: &str,
    stored: &str,
    current: &Argon2Params,
) -> Result<Verification, CredentialError> {
    let parsed = parse(stored)?;
    check_password_length(password)?;
    let check = |password: &str| -> Result<(bool, bool), CredentialError> {
        Ok(match &parsed.scheme {
            Scheme::Argon2(hash) => (hash.verify(password, parsed.format)?, hash.needs_upgrade(current)),
            Scheme::Bcrypt(hash) => (hash.verify(password), true),
            Scheme::Pbkdf2(hash) => (hash.verify(password), true),
            Scheme::Scrypt(hash) => (hash.verify(password), true),
            Scheme::ShaCrypt(hash) => (hash.verify(password), true),
            Scheme::Md5Crypt(hash) => (hash.verify(password), true),
            Scheme::Ldap(hash) => (hash.verify(password), true),
        })
    };
    let normalized = normalized_password(password);
    if let (true, needs_upgrade) = check(&normalized)? {
        return Ok(Verification::Match { needs_upgrade });
    }
    if normalized != password && check(password)?.0 {
        return Ok(Verification::Match { needs_upgrade: true });
    }
    Ok(Verification::Mismatch)
}

/// The wrong password that costs most to check against a hash of
/// `format`: as long as the format checks, and not in NFKC, so that it is
/// checked in both forms, as an attacker would send it. "\u{F900}" is
/// "\u{8C48}" in NFKC, 3 bytes either way: both checks are at full length.
pub fn costliest_password(format: HashFormat) -> String {
    let longest = match format {
        HashFormat::ShaCrypt256 | HashFormat::ShaCrypt512 => sha_crypt::MAX_PASSWORD_BYTES,
        _ => MAX_PASSWORD_BYTES,
    };
    let mut password = "\u{F900}".repeat(longest / 3);
    password.push_str(&"x".repeat(longest % 3));
    password
}

/// How long [`verify_password`] takes here to refuse the
/// [`costliest_password`] for `stored`. One try: time a few and take their
/// median.
pub fn slowest_refusal(stored: &str, current: &Argon2Params) -> Result<Duration, CredentialError> {
    let password = costliest_password(HashFormat::detect(stored)?);
    let started = Instant::now();
    verify_password(&password, stored, current)?;
    Ok(started.elapsed())
}
