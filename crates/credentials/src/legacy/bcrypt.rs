//! bcrypt `$2a$` / `$2b$` / `$2y$`: parsed here, computed by the `bcrypt` crate.

use subtle::ConstantTimeEq;

use super::{BCRYPT_B64, parse_decimal};
use crate::{CredentialError, HashFormat};

/// 2^16 rounds take a few seconds; real legacy systems used 10 to 12.
const MAX_COST: u32 = 16;
const MIN_COST: u32 = 4;
/// 22 characters of salt then 31 of hash.
const SALT_CHARS: usize = 22;
const BODY_CHARS: usize = 53;
/// bcrypt emits 24 bytes but the encoding keeps only 23.
const KEPT_BYTES: usize = 23;
/// bcrypt reads at most 72 key bytes, including the terminating NUL it appends.
const MAX_KEY_BYTES: usize = 72;

pub(crate) struct BcryptHash {
    cost: u32,
    salt: [u8; 16],
    expected: [u8; KEPT_BYTES],
}

impl BcryptHash {
    /// `body` is what follows `$2?$`: `NN$` then 53 characters.
    pub(crate) fn parse(body: &str) -> Result<Self, CredentialError> {
        let malformed = |reason| CredentialError::malformed(HashFormat::Bcrypt, reason);
        let (cost, rest) = body.split_once('$').ok_or(malformed("missing cost"))?;
        if cost.len() != 2 {
            return Err(malformed("cost is not two digits"));
        }
        let cost = parse_decimal(cost).ok_or(malformed("cost is not two digits"))?;
        let cost = u32::try_from(cost).map_err(|_| malformed("cost out of range"))?;
        if !(MIN_COST..=31).contains(&cost) {
            return Err(malformed("cost outside 04..31"));
        }
        if cost > MAX_COST {
            return Err(CredentialError::too_expensive(
                HashFormat::Bcrypt,
                "cost above 16",
            ));
        }
        if rest.len() != BODY_CHARS || !rest.is_char_boundary(SALT_CHARS) {
            return Err(malformed("salt and hash are not 53 characters"));
        }
        let (salt, hash) = rest.split_at(SALT_CHARS);
        let salt = decode_exact::<16>(salt).ok_or(malformed("salt is not bcrypt base64"))?;
        let expected = decode_exact::<KEPT_BYTES>(hash).ok_or(malformed("hash is not bcrypt base64"))?;
        Ok(Self { cost, salt, expected })
    }

    pub(crate) fn cost(&self) -> u32 {
        self.cost
    }

    pub(crate) fn verify(&self, password: &str) -> bool {
        // What every bcrypt does with the key: NUL-terminate, then keep 72 bytes.
        let mut key = Vec::with_capacity(password.len() + 1);
        key.extend_from_slice(password.as_bytes());
        key.push(0);
        key.truncate(MAX_KEY_BYTES);
        let output = bcrypt::bcrypt(self.cost, self.salt, &key);
        output[..KEPT_BYTES].ct_eq(&self.expected).into()
    }
}

fn decode_exact<const N: usize>(text: &str) -> Option<[u8; N]> {
    base64::Engine::decode(&BCRYPT_B64, text).ok()?.try_into().ok()
}
