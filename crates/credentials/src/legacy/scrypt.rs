//! scrypt in the `$scrypt$ln=..,r=..,p=..$salt$hash` format written by passlib and
//! by RustCrypto's PHC encoder (standard base64, unpadded).

use subtle::ConstantTimeEq;

use super::{STANDARD_B64, parse_decimal};
use crate::{CredentialError, HashFormat};

/// scrypt allocates 128·r bytes for each of N + p + 1 blocks (the table,
/// the p lanes and one scratch block): keep them together at 1 GiB or below.
const MAX_MEMORY_BYTES: u64 = 1 << 30;
/// N·r·p block mixes: 2^24 is 128 times the common N=2^14, r=8, p=1, a few seconds.
const MAX_WORK: u64 = 1 << 24;
/// scrypt's own floor and ceiling for the derived key it will produce.
const MIN_HASH_BYTES: usize = 10;
const MAX_HASH_BYTES: usize = 64;

pub(crate) struct ScryptHash {
    params: scrypt::Params,
    salt: Vec<u8>,
    expected: Vec<u8>,
}

impl ScryptHash {
    pub(crate) fn parse(body: &str) -> Result<Self, CredentialError> {
        let malformed = |reason| CredentialError::malformed(HashFormat::Scrypt, reason);
        let mut fields = body.split('$');
        let (Some(params), Some(salt), Some(hash), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(malformed("expected params$salt$hash"));
        };
        let mut params = params.split(',');
        let (Some(log_n), Some(r), Some(p), None) =
            (params.next(), params.next(), params.next(), params.next())
        else {
            return Err(malformed("expected ln=..,r=..,p=.."));
        };
        let field = |text: &str, name: &str| {
            text.strip_prefix(name)
                .and_then(|value| value.strip_prefix('='))
                .and_then(parse_decimal)
                .filter(|value| *value > 0)
                .ok_or(malformed("expected ln=..,r=..,p=.. with positive values"))
        };
        let (log_n, r, p) = (field(log_n, "ln")?, field(r, "r")?, field(p, "p")?);
        if log_n >= 64 {
            return Err(malformed("ln out of range"));
        }
        let n = 1u64 << log_n;
        let too_expensive = |reason| CredentialError::too_expensive(HashFormat::Scrypt, reason);
        let memory = n
            .checked_add(p)
            .and_then(|blocks| blocks.checked_add(1))
            .and_then(|blocks| blocks.checked_mul(r))
            .and_then(|bytes| bytes.checked_mul(128));
        if memory.is_none_or(|bytes| bytes > MAX_MEMORY_BYTES) {
            return Err(too_expensive("needs more than 1 GiB"));
        }
        let work = n.checked_mul(r).and_then(|nr| nr.checked_mul(p));
        if work.is_none_or(|work| work > MAX_WORK) {
            return Err(too_expensive("N·r·p above 2^24"));
        }
        let salt =
            base64::Engine::decode(&STANDARD_B64, salt).map_err(|_| malformed("salt is not base64"))?;
        let expected =
            base64::Engine::decode(&STANDARD_B64, hash).map_err(|_| malformed("hash is not base64"))?;
        if !(MIN_HASH_BYTES..=MAX_HASH_BYTES).contains(&expected.len()) {
            return Err(malformed("hash is not 10 to 64 bytes"));
        }
        let (Ok(log_n), Ok(r), Ok(p)) = (u8::try_from(log_n), u32::try_from(r), u32::try_from(p)) else {
            return Err(malformed("parameters out of range"));
        };
        let params = scrypt::Params::new(log_n, r, p, expected.len())
            .map_err(|_| malformed("parameters rejected by scrypt"))?;
        Ok(Self {
            params,
            salt,
            expected,
        })
    }

    /// log₂ N, r and p.
    pub(crate) fn parameters(&self) -> [u32; 3] {
        [u32::from(self.params.log_n()), self.params.r(), self.params.p()]
    }

    pub(crate) fn verify(&self, password: &str) -> bool {
        let mut computed = vec![0u8; self.expected.len()];
        // The output length was validated against the params in `parse`.
        scrypt::scrypt(password.as_bytes(), &self.salt, &self.params, &mut computed).is_ok()
            && bool::from(computed.ct_eq(&self.expected))
    }
}
