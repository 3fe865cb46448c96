//! Argon2: the parameters we hash new passwords with, making argon2id PHC strings,
//! and checking stored argon2 PHC strings. Each thread hashes in one buffer it
//! keeps (19 MiB at the default cost): allocating it for every hash cost a
//! quarter of the hash in page faults or zeroing, which argon2 does not need
//! (every block is written before it is read).

use std::cell::RefCell;

use argon2::password_hash::{Output, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::TryRngCore;
use rand::rngs::OsRng;
use subtle::ConstantTimeEq;

use crate::format::check_password_length;
use crate::normalize::normalized_password;
use crate::{CredentialError, HashFormat};

/// 16 bytes as recommended by RFC 9106; more adds nothing against precomputation.
const SALT_BYTES: usize = 16;
const OUTPUT_BYTES: usize = 32;

/// Ceiling for the memory of one verification (1 GiB): beyond it a single login
/// could exhaust the server, whatever the stored hash claims.
const MAX_MEMORY_KIB: u32 = 1024 * 1024;
/// Ceiling for memory × passes (4 GiB touched), roughly a few seconds of one core.
const MAX_MEMORY_PASSES_KIB: u64 = 4 * 1024 * 1024;
const MAX_PARALLELISM: u32 = 16;

/// Argon2id cost parameters for new hashes, and the yardstick for deciding whether a
/// stored argon2 hash needs rehashing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Argon2Params {
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
}

impl Default for Argon2Params {
    /// The OWASP Password Storage Cheat Sheet minimum: 19 MiB, 2 passes, 1 lane.
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }
}

impl Argon2Params {
    /// Checks the values against argon2's own limits and our verification budget
    /// (at most 1 GiB, 4 GiB × passes, 16 lanes).
    pub fn new(memory_kib: u32, iterations: u32, parallelism: u32) -> Result<Self, CredentialError> {
        check_budget(memory_kib, iterations, parallelism).map_err(CredentialError::InvalidParams)?;
        Params::new(memory_kib, iterations, parallelism, Some(OUTPUT_BYTES))
            .map_err(|_| CredentialError::InvalidParams("outside argon2's valid range"))?;
        Ok(Self {
            memory_kib,
            iterations,
            parallelism,
        })
    }

    pub fn memory_kib(&self) -> u32 {
        self.memory_kib
    }

    pub fn iterations(&self) -> u32 {
        self.iterations
    }

    pub fn parallelism(&self) -> u32 {
        self.parallelism
    }

    fn hasher(&self) -> Result<Argon2<'static>, CredentialError> {
        let params = Params::new(
            self.memory_kib,
            self.iterations,
            self.parallelism,
            Some(OUTPUT_BYTES),
        )
        .map_err(|err| CredentialError::Hashing(err.to_string()))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

fn check_budget(memory_kib: u32, iterations: u32, parallelism: u32) -> Result<(), &'static str> {
    if memory_kib > MAX_MEMORY_KIB {
        return Err("memory above 1 GiB");
    }
    if u64::from(memory_kib) * u64::from(iterations) > MAX_MEMORY_PASSES_KIB {
        return Err("memory × iterations above 4 GiB");
    }
    if parallelism > MAX_PARALLELISM {
        return Err("parallelism above 16");
    }
    Ok(())
}

/// Buffers above this size (64 MiB, only for legacy hashes with a high cost)
/// are allocated for the one hash and freed, not kept by the thread.
const MOST_BLOCKS_KEPT: usize = 64 * 1024;

thread_local! {
    static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Runs argon2 `hasher` over `password` and `salt` into `output`, in this
/// thread's buffer.
fn hash_into(
    hasher: &Argon2<'_>,
    params: &Params,
    password: &[u8],
    salt: &[u8],
    output: &mut [u8],
) -> argon2::Result<()> {
    let count = params.block_count();
    if count > MOST_BLOCKS_KEPT {
        return hasher.hash_password_into(password, salt, output);
    }
    BLOCKS.with(|blocks| {
        let mut blocks = blocks.borrow_mut();
        if blocks.len() < count {
            blocks.resize(count, Block::default());
        }
        hasher.hash_password_into_with_memory(password, salt, output, &mut blocks[..count])
    })
}

/// Hashes `password` with argon2id, a fresh random salt from the OS and `params`;
/// the result is a PHC string that records all of them.
pub fn hash_password(password: &str, params: &Argon2Params) -> Result<String, CredentialError> {
    check_password_length(password)?;
    let password = normalized_password(password);
    let mut salt = [0u8; SALT_BYTES];
    OsRng
        .try_fill_bytes(&mut salt)
        .map_err(|_| CredentialError::Randomness)?;
    phc_string(&password, params, &salt)
}

/// The argon2id PHC string of `password` with this salt.
fn phc_string(
    password: &str,
    params: &Argon2Params,
    salt: &[u8; SALT_BYTES],
) -> Result<String, CredentialError> {
    let hashing = |err: &dyn std::fmt::Display| CredentialError::Hashing(err.to_string());
    let encoded = SaltString::encode_b64(salt).map_err(|e| hashing(&e))?;
    let mut output = [0u8; OUTPUT_BYTES];
    let hasher = params.hasher()?;
    hash_into(&hasher, hasher.params(), password.as_bytes(), salt, &mut output).map_err(|e| hashing(&e))?;
    let output = Output::new(&output).map_err(|e| hashing(&e))?;
    Ok(format!(
        "$argon2id$v=19$m={},t={},p={}${}${output}",
        params.memory_kib,
        params.iterations,
        params.parallelism,
        encoded.as_str()
    ))
}

/// Spends the same work as verifying a password hashed with `current`, for a login
/// whose username does not exist: without it, "no such user" answers measurably
/// faster than "wrong password" and leaks which usernames exist. A password
/// not in NFKC is hashed twice, as [`crate::verify_password`] checks it.
pub fn dummy_verify(password: &str, current: &Argon2Params) {
    /// Any fixed salt does: the output is thrown away.
    const DUMMY_SALT: &[u8; SALT_BYTES] = b"si-dummy-verify!";
    let mut output = [0u8; OUTPUT_BYTES];
    // A password over the limit is rejected before hashing for real users too, and
    // valid params cannot fail to hash, so there is nothing to report.
    if check_password_length(password).is_ok()
        && let Ok(hasher) = current.hasher()
    {
        let normalized = normalized_password(password);
        let forms = [
            Some(normalized.as_ref()),
            (normalized != password).then_some(password),
        ];
        for form in forms.into_iter().flatten() {
            let _ = hash_into(&hasher, hasher.params(), form.as_bytes(), DUMMY_SALT, &mut output);
        }
    }
    std::hint::black_box(output);
}

/// A stored `$argon2{id,i,d}$` PHC string whose parameters are within budget.
pub(crate) struct StoredArgon2 {
    algorithm: Algorithm,
    version: Version,
    params: Params,
    salt: Vec<u8>,
    expected: Vec<u8>,
}

impl StoredArgon2 {
    pub(crate) fn parse(stored: &str, format: HashFormat) -> Result<Self, CredentialError> {
        let malformed = |reason| CredentialError::malformed(format, reason);
        let hash = PasswordHash::new(stored).map_err(|_| malformed("not a valid PHC string"))?;
        let algorithm =
            Algorithm::try_from(hash.algorithm).map_err(|_| malformed("unknown argon2 variant"))?;
        // The reference implementation writes no `v=` for version 1.0; the argon2
        // crate's own verifier would assume 1.3 there, so we pick the version ourselves.
        let version = match hash.version {
            None => Version::V0x10,
            Some(v) => Version::try_from(v).map_err(|_| malformed("unknown argon2 version"))?,
        };
        let (Some(salt), Some(output)) = (hash.salt, hash.hash) else {
            return Err(malformed("missing salt or hash"));
        };
        let mut salt_buf = [0u8; 64];
        let salt = salt
            .decode_b64(&mut salt_buf)
            .map_err(|_| malformed("salt is not valid base64"))?;
        if salt.len() < argon2::MIN_SALT_LEN {
            return Err(malformed("salt shorter than 8 bytes"));
        }
        let params = Params::try_from(&hash).map_err(|_| malformed("parameters out of range"))?;
        check_budget(params.m_cost(), params.t_cost(), params.p_cost())
            .map_err(|reason| CredentialError::too_expensive(format, reason))?;
        Ok(Self {
            algorithm,
            version,
            params,
            salt: salt.to_vec(),
            expected: output.as_bytes().to_vec(),
        })
    }

    pub(crate) fn verify(&self, password: &str, format: HashFormat) -> Result<bool, CredentialError> {
        let mut computed = vec![0u8; self.expected.len()];
        let hasher = Argon2::new(self.algorithm, self.version, self.params.clone());
        hash_into(
            &hasher,
            &self.params,
            password.as_bytes(),
            &self.salt,
            &mut computed,
        )
        .map_err(|_| CredentialError::malformed(format, "rejected by argon2"))?;
        Ok(computed.ct_eq(&self.expected).into())
    }

    /// Memory in KiB, iterations and parallelism.
    pub(crate) fn parameters(&self) -> [u32; 3] {
        [self.params.m_cost(), self.params.t_cost(), self.params.p_cost()]
    }

    /// Anything but argon2id v1.3 with exactly `current` and our output length is
    /// rehashed, so parameter changes roll out at each user's next login.
    pub(crate) fn needs_upgrade(&self, current: &Argon2Params) -> bool {
        self.algorithm != Algorithm::Argon2id
            || self.version != Version::V0x13
            || self.params.m_cost() != current.memory_kib
            || self.params.t_cost() != current.iterations
            || self.params.p_cost() != current.parallelism
            || self.expected.len() != OUTPUT_BYTES
    }
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::{PasswordHasher, SaltString};

    use super::{Argon2Params, phc_string};

    /// The argon2 crate's own PHC string, from its own freshly allocated memory.
    fn reference(password: &str, params: &Argon2Params, salt: &[u8; 16]) -> String {
        params
            .hasher()
            .unwrap()
            .hash_password(password.as_bytes(), &SaltString::encode_b64(salt).unwrap())
            .unwrap()
            .to_string()
    }

    #[test]
    fn hashes_in_a_reused_buffer_equal_the_crates_own_whatever_came_before() {
        // Small, large, small again: a buffer left over from a larger hash,
        // full of its blocks, must not change the next result.
        let costs = [(64, 1, 1), (4096, 2, 1), (64, 3, 1), (1024, 1, 4)];
        for (n, (memory, iterations, lanes)) in costs.into_iter().enumerate() {
            let params = Argon2Params::new(memory, iterations, lanes).unwrap();
            let salt = [n as u8 + 1; 16];
            let password = format!("Wachtwoord-{n}!");
            assert_eq!(
                phc_string(&password, &params, &salt).unwrap(),
                reference(&password, &params, &salt),
                "m={memory} t={iterations} p={lanes}"
            );
        }
    }
}
