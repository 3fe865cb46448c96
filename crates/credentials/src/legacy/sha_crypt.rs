//! SHA-crypt `$5$` / `$6$` (Drepper's specification): parsed here, computed by the
//! `sha-crypt` crate.

use sha_crypt::{Sha256Params, Sha512Params, sha256_crypt_b64, sha512_crypt_b64};
use subtle::ConstantTimeEq;

use super::{is_crypt_b64, parse_decimal};
use crate::{CredentialError, HashFormat};

const DEFAULT_ROUNDS: u64 = 5_000;
/// The specification raises smaller counts to this instead of rejecting them.
const MIN_ROUNDS: u64 = 1_000;
/// The specification allows 999 999 999 rounds (minutes of CPU); passlib's defaults
/// are 535 000 / 656 000, so a million covers real systems at about a second.
const MAX_ROUNDS: u64 = 1_000_000;
const MAX_SALT_BYTES: usize = 16;
/// Every round hashes the password once or twice, so its length multiplies
/// the cost: at a million rounds a password of 1 KiB takes seconds. No real
/// password is longer than this; a longer one does not match (the member
/// can still use "Wachtwoord vergeten").
pub(crate) const MAX_PASSWORD_BYTES: usize = 256;

pub(crate) struct ShaCryptHash<'a> {
    format: HashFormat,
    rounds: usize,
    salt: &'a str,
    expected: &'a str,
}

impl<'a> ShaCryptHash<'a> {
    /// `body` is what follows `$5$` or `$6$`: `[rounds=N$]salt$hash`.
    pub(crate) fn parse(body: &'a str, format: HashFormat) -> Result<Self, CredentialError> {
        let malformed = |reason| CredentialError::malformed(format, reason);
        let (rounds, rest) = match body.strip_prefix("rounds=") {
            Some(rest) => {
                let (rounds, rest) = rest.split_once('$').ok_or(malformed("missing salt"))?;
                let rounds = parse_decimal(rounds).ok_or(malformed("rounds is not a number"))?;
                (rounds.max(MIN_ROUNDS), rest)
            }
            None => (DEFAULT_ROUNDS, body),
        };
        if rounds > MAX_ROUNDS {
            return Err(CredentialError::too_expensive(
                format,
                "more than 1 000 000 rounds",
            ));
        }
        let (salt, expected) = rest.split_once('$').ok_or(malformed("missing hash"))?;
        // crypt(3) writes at most 16 salt bytes, so a longer one can never match.
        if salt.len() > MAX_SALT_BYTES {
            return Err(malformed("salt longer than 16 characters"));
        }
        let hash_chars = if format == HashFormat::ShaCrypt256 { 43 } else { 86 };
        if expected.len() != hash_chars || !is_crypt_b64(expected) {
            return Err(malformed("hash is not crypt base64 of the digest length"));
        }
        let rounds = usize::try_from(rounds).map_err(|_| malformed("rounds out of range"))?;
        Ok(Self {
            format,
            rounds,
            salt,
            expected,
        })
    }

    pub(crate) fn rounds(&self) -> u32 {
        // At most MAX_ROUNDS.
        u32::try_from(self.rounds).unwrap_or(u32::MAX)
    }

    pub(crate) fn verify(&self, password: &str) -> bool {
        if password.len() > MAX_PASSWORD_BYTES {
            return false;
        }
        let (password, salt) = (password.as_bytes(), self.salt.as_bytes());
        let computed = if self.format == HashFormat::ShaCrypt256 {
            Sha256Params::new(self.rounds).and_then(|params| sha256_crypt_b64(password, salt, &params))
        } else {
            Sha512Params::new(self.rounds).and_then(|params| sha512_crypt_b64(password, salt, &params))
        };
        computed.is_ok_and(|computed| computed.as_bytes().ct_eq(self.expected.as_bytes()).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_longer_than_any_real_one_does_not_match() {
        for (length, matches) in [(MAX_PASSWORD_BYTES, true), (MAX_PASSWORD_BYTES + 1, false)] {
            let password = "p".repeat(length);
            let params = Sha512Params::new(1_000).unwrap();
            let hash = sha512_crypt_b64(password.as_bytes(), b"saltsalt", &params).unwrap();
            let body = format!("rounds=1000$saltsalt${hash}");
            let stored = ShaCryptHash::parse(&body, HashFormat::ShaCrypt512).unwrap();
            assert_eq!(stored.verify(&password), matches, "{length} bytes");
        }
    }
}
