//! PBKDF2-HMAC in passlib's modular format (`$pbkdf2-sha256$rounds$salt$hash`) and
//! its LDAP spelling (`{PBKDF2-SHA256}rounds$salt$hash`, OpenLDAP's pw-pbkdf2 and
//! passlib's `ldap_pbkdf2_*`). Both encode salt and hash in adapted base64.

use pbkdf2::pbkdf2_hmac;
use sha1::Sha1;
use sha2::{Sha256, Sha512};
use subtle::ConstantTimeEq;

use super::{ADAPTED_B64, parse_decimal};
use crate::{CredentialError, HashFormat};

/// A few seconds of HMAC-SHA512 on one core; passlib's defaults are 29 000 (SHA-256)
/// and 25 000 (SHA-512), OWASP's current advice 600 000.
const MAX_ROUNDS: u32 = 5_000_000;

pub(crate) struct Pbkdf2Hash {
    format: HashFormat,
    rounds: u32,
    salt: Vec<u8>,
    expected: Vec<u8>,
}

impl Pbkdf2Hash {
    pub(crate) fn parse(body: &str, format: HashFormat) -> Result<Self, CredentialError> {
        let malformed = |reason| CredentialError::malformed(format, reason);
        let mut fields = body.split('$');
        let (Some(rounds), Some(salt), Some(hash), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(malformed("expected rounds$salt$hash"));
        };
        let rounds = parse_decimal(rounds).ok_or(malformed("rounds is not a number"))?;
        if rounds == 0 {
            return Err(malformed("rounds is zero"));
        }
        let rounds = u32::try_from(rounds)
            .ok()
            .filter(|rounds| *rounds <= MAX_ROUNDS)
            .ok_or(CredentialError::too_expensive(
                format,
                "more than 5 000 000 rounds",
            ))?;
        let salt = base64::Engine::decode(&ADAPTED_B64, salt)
            .map_err(|_| malformed("salt is not adapted base64"))?;
        let expected = base64::Engine::decode(&ADAPTED_B64, hash)
            .map_err(|_| malformed("hash is not adapted base64"))?;
        // The derived key is as long as the PRF output in every writer we know of;
        // shorter checks would be weaker and longer ones cost more per byte.
        if expected.len() != digest_len(format) {
            return Err(malformed("hash length does not match the digest"));
        }
        Ok(Self {
            format,
            rounds,
            salt,
            expected,
        })
    }

    pub(crate) fn rounds(&self) -> u32 {
        self.rounds
    }

    pub(crate) fn verify(&self, password: &str) -> bool {
        let mut computed = vec![0u8; self.expected.len()];
        let password = password.as_bytes();
        match self.format {
            HashFormat::Pbkdf2Sha1 => pbkdf2_hmac::<Sha1>(password, &self.salt, self.rounds, &mut computed),
            HashFormat::Pbkdf2Sha256 => {
                pbkdf2_hmac::<Sha256>(password, &self.salt, self.rounds, &mut computed)
            }
            _ => pbkdf2_hmac::<Sha512>(password, &self.salt, self.rounds, &mut computed),
        }
        computed.ct_eq(&self.expected).into()
    }
}

fn digest_len(format: HashFormat) -> usize {
    match format {
        HashFormat::Pbkdf2Sha1 => 20,
        HashFormat::Pbkdf2Sha256 => 32,
        _ => 64,
    }
}
