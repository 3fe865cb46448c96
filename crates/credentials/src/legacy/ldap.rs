//! LDAP userPassword digests: `{SHA}` and the salted `{SSHA}`, `{SSHA256}`,
//! `{SSHA512}` (base64 of digest(password ‖ salt) ‖ salt), as OpenLDAP, 389-ds and
//! passlib write them.

use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};
use subtle::ConstantTimeEq;

use super::STANDARD_B64;
use crate::{CredentialError, HashFormat};

pub(crate) struct LdapDigest {
    format: HashFormat,
    expected: Vec<u8>,
    salt: Vec<u8>,
}

impl LdapDigest {
    pub(crate) fn parse(body: &str, format: HashFormat) -> Result<Self, CredentialError> {
        let malformed = |reason| CredentialError::malformed(format, reason);
        let mut decoded = base64::Engine::decode(&STANDARD_B64, body).map_err(|_| malformed("not base64"))?;
        let digest_len = digest_len(format);
        let salted = format != HashFormat::Sha1;
        if decoded.len() < digest_len || (!salted && decoded.len() != digest_len) {
            return Err(malformed("wrong length for the digest"));
        }
        if salted && decoded.len() == digest_len {
            return Err(malformed("salt is missing"));
        }
        let salt = decoded.split_off(digest_len);
        Ok(Self {
            format,
            expected: decoded,
            salt,
        })
    }

    pub(crate) fn verify(&self, password: &str) -> bool {
        let (password, salt) = (password.as_bytes(), self.salt.as_slice());
        let computed = match self.format {
            HashFormat::Sha1 | HashFormat::Ssha1 => digest::<Sha1>(password, salt),
            HashFormat::Ssha256 => digest::<Sha256>(password, salt),
            _ => digest::<Sha512>(password, salt),
        };
        computed.ct_eq(&self.expected).into()
    }
}

fn digest<D: Digest>(password: &[u8], salt: &[u8]) -> Vec<u8> {
    D::new()
        .chain_update(password)
        .chain_update(salt)
        .finalize()
        .to_vec()
}

fn digest_len(format: HashFormat) -> usize {
    match format {
        HashFormat::Sha1 | HashFormat::Ssha1 => 20,
        HashFormat::Ssha256 => 32,
        _ => 64,
    }
}
