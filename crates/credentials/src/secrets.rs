//! Random secrets handed to users (reset links, session and API tokens) and the
//! SHA-256 digests the database keeps instead of the secrets themselves.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::TryRngCore;
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::CredentialError;

/// 256 bits: guessing is hopeless even at any online rate, so the digest can be a
/// plain fast hash rather than a password hash.
const TOKEN_BYTES: usize = 32;

/// A fresh random token. Its `Debug` output is redacted and it has no `Display`, so
/// it only reaches text through [`SecretToken::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct SecretToken(String);

impl SecretToken {
    /// 32 bytes from the operating system's RNG, as 43 characters of unpadded
    /// base64url, safe in URLs.
    pub fn generate() -> Result<Self, CredentialError> {
        let mut bytes = [0u8; TOKEN_BYTES];
        OsRng
            .try_fill_bytes(&mut bytes)
            .map_err(|_| CredentialError::Randomness)?;
        Ok(Self(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// The token text, to put in a link or response; never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The digest to store, see [`digest`].
    pub fn digest(&self) -> String {
        digest(&self.0)
    }
}

impl fmt::Debug for SecretToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretToken(<redacted>)")
    }
}

/// Lower-case hex SHA-256 of the token text: what the database stores.
pub fn digest(token: &str) -> String {
    let mut hex = String::with_capacity(64);
    for byte in Sha256::digest(token.as_bytes()) {
        hex.push(char::from(HEX_DIGITS[usize::from(byte >> 4)]));
        hex.push(char::from(HEX_DIGITS[usize::from(byte & 0x0f)]));
    }
    hex
}

/// Whether `token` hashes to `stored_digest` (hex, either case), compared in
/// constant time so response timing reveals nothing about the stored digest.
pub fn verify_digest(token: &str, stored_digest: &str) -> bool {
    let Some(stored) = decode_hex_digest(stored_digest) else {
        return false;
    };
    Sha256::digest(token.as_bytes()).ct_eq(&stored).into()
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

fn decode_hex_digest(text: &str) -> Option<[u8; 32]> {
    let text = text.as_bytes();
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
        let high = char::from(pair[0]).to_digit(16)?;
        let low = char::from(pair[1]).to_digit(16)?;
        *byte = u8::try_from(high << 4 | low).ok()?;
    }
    Some(out)
}
