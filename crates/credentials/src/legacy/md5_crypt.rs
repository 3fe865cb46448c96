//! md5-crypt `$1$` (Poul-Henning Kamp's FreeBSD scheme), implemented here on `md-5`
//! because no maintained RustCrypto crate provides it.

use md5::{Digest, Md5};
use subtle::ConstantTimeEq;

use super::{CRYPT_ALPHABET, is_crypt_b64};
use crate::{CredentialError, HashFormat};

const MAX_SALT_BYTES: usize = 8;
const HASH_CHARS: usize = 22;
const ROUNDS: usize = 1_000;
const MAGIC: &[u8] = b"$1$";

pub(crate) struct Md5CryptHash<'a> {
    salt: &'a str,
    expected: &'a str,
}

impl<'a> Md5CryptHash<'a> {
    /// `body` is what follows `$1$`: `salt$hash`.
    pub(crate) fn parse(body: &'a str) -> Result<Self, CredentialError> {
        let malformed = |reason| CredentialError::malformed(HashFormat::Md5Crypt, reason);
        let (salt, expected) = body.split_once('$').ok_or(malformed("missing hash"))?;
        // crypt(3) writes at most 8 salt bytes, so a longer one can never match.
        if salt.len() > MAX_SALT_BYTES {
            return Err(malformed("salt longer than 8 characters"));
        }
        if expected.len() != HASH_CHARS || !is_crypt_b64(expected) {
            return Err(malformed("hash is not 22 characters of crypt base64"));
        }
        Ok(Self { salt, expected })
    }

    pub(crate) fn verify(&self, password: &str) -> bool {
        let computed = md5_crypt(password.as_bytes(), self.salt.as_bytes());
        computed.ct_eq(self.expected.as_bytes()).into()
    }
}

/// The checksum part of `$1$salt$checksum`.
fn md5_crypt(password: &[u8], salt: &[u8]) -> [u8; HASH_CHARS] {
    let alternate = Md5::new()
        .chain_update(password)
        .chain_update(salt)
        .chain_update(password)
        .finalize();

    let mut context = Md5::new()
        .chain_update(password)
        .chain_update(MAGIC)
        .chain_update(salt);
    for chunk in password.chunks(alternate.len()) {
        context.update(&alternate[..chunk.len()]);
    }
    // The original C walks the bits of the length and, by an old mistake that is
    // now part of the format, adds a NUL for set bits and the first password byte
    // for clear ones.
    let mut length = password.len();
    while length > 0 {
        if length & 1 == 1 {
            context.update([0u8]);
        } else {
            context.update(password.get(..1).unwrap_or_default());
        }
        length >>= 1;
    }
    let mut digest = context.finalize();

    // A fixed 1000 rounds, meant in 1994 to slow down dictionary attacks.
    for round in 0..ROUNDS {
        let mut context = Md5::new();
        if round % 2 == 1 {
            context.update(password);
        } else {
            context.update(digest);
        }
        if round % 3 != 0 {
            context.update(salt);
        }
        if round % 7 != 0 {
            context.update(password);
        }
        if round % 2 == 1 {
            context.update(digest);
        } else {
            context.update(password);
        }
        digest = context.finalize();
    }

    encode(&digest.into())
}

/// md5-crypt's own byte order and little-endian 6-bit packing, not standard base64.
fn encode(digest: &[u8; 16]) -> [u8; HASH_CHARS] {
    const GROUPS: [[usize; 3]; 5] = [[0, 6, 12], [1, 7, 13], [2, 8, 14], [3, 9, 15], [4, 10, 5]];
    let mut out = [0u8; HASH_CHARS];
    let mut chars = out.iter_mut();
    let mut emit = |mut value: u32, count: usize| {
        for slot in chars.by_ref().take(count) {
            *slot = CRYPT_ALPHABET[(value & 0x3f) as usize];
            value >>= 6;
        }
    };
    for [a, b, c] in GROUPS {
        emit(
            u32::from(digest[a]) << 16 | u32::from(digest[b]) << 8 | u32::from(digest[c]),
            4,
        );
    }
    emit(u32::from(digest[11]), 2);
    out
}
