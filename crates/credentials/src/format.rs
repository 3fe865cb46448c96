//! Recognising stored hash strings: which format a row holds, and parsing it into a
//! checked form that verification then runs.

use std::fmt;

use crate::argon2id::StoredArgon2;
use crate::legacy::{
    bcrypt::BcryptHash, ldap::LdapDigest, md5_crypt::Md5CryptHash, pbkdf2::Pbkdf2Hash, scrypt::ScryptHash,
    sha_crypt::ShaCryptHash,
};
use crate::{Argon2Params, CredentialError};

/// Longest stored string accepted. Every supported format with sane parameters fits
/// in far less; the cap keeps a corrupt row from costing more than a short parse.
const MAX_STORED_LEN: usize = 512;

/// Longest password accepted by hashing and verification. The legacy schemes cost
/// time proportional to the password length on every round, so an unbounded
/// password would be a denial-of-service lever.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// A stored password hash format that [`crate::verify_password`] can check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashFormat {
    /// `$argon2id$`: the current format.
    Argon2id,
    /// `$argon2i$`.
    Argon2i,
    /// `$argon2d$`.
    Argon2d,
    /// `$2a$`, `$2b$`, `$2y$`.
    Bcrypt,
    /// passlib `$pbkdf2$` and OpenLDAP/passlib `{PBKDF2}` / `{PBKDF2-SHA1}`.
    Pbkdf2Sha1,
    /// passlib `$pbkdf2-sha256$` and `{PBKDF2-SHA256}`.
    Pbkdf2Sha256,
    /// passlib `$pbkdf2-sha512$` and `{PBKDF2-SHA512}`.
    Pbkdf2Sha512,
    /// `$scrypt$ln=..,r=..,p=..$salt$hash` (passlib and RustCrypto PHC).
    Scrypt,
    /// `$5$`, SHA-256 crypt.
    ShaCrypt256,
    /// `$6$`, SHA-512 crypt.
    ShaCrypt512,
    /// `$1$`, MD5 crypt.
    Md5Crypt,
    /// `{SHA}`: unsalted SHA-1.
    Sha1,
    /// `{SSHA}`: salted SHA-1.
    Ssha1,
    /// `{SSHA256}`.
    Ssha256,
    /// `{SSHA512}`.
    Ssha512,
}

/// Prefix of each format. The trailing delimiter makes every prefix unambiguous,
/// so order does not matter. `{...}` LDAP schemes compare case-insensitively as
/// LDAP servers do; crypt identifiers are case-sensitive.
const PREFIXES: &[(&str, HashFormat)] = &[
    ("$argon2id$", HashFormat::Argon2id),
    ("$argon2i$", HashFormat::Argon2i),
    ("$argon2d$", HashFormat::Argon2d),
    ("$2a$", HashFormat::Bcrypt),
    ("$2b$", HashFormat::Bcrypt),
    ("$2y$", HashFormat::Bcrypt),
    ("$pbkdf2$", HashFormat::Pbkdf2Sha1),
    ("$pbkdf2-sha256$", HashFormat::Pbkdf2Sha256),
    ("$pbkdf2-sha512$", HashFormat::Pbkdf2Sha512),
    ("{PBKDF2}", HashFormat::Pbkdf2Sha1),
    ("{PBKDF2-SHA1}", HashFormat::Pbkdf2Sha1),
    ("{PBKDF2-SHA256}", HashFormat::Pbkdf2Sha256),
    ("{PBKDF2-SHA512}", HashFormat::Pbkdf2Sha512),
    ("$scrypt$", HashFormat::Scrypt),
    ("$5$", HashFormat::ShaCrypt256),
    ("$6$", HashFormat::ShaCrypt512),
    ("$1$", HashFormat::Md5Crypt),
    ("{SHA}", HashFormat::Sha1),
    ("{SSHA}", HashFormat::Ssha1),
    ("{SSHA256}", HashFormat::Ssha256),
    ("{SSHA512}", HashFormat::Ssha512),
];

/// Formats seen in the wild that we recognise but refuse, so the migration can count
/// them separately from garbage.
const UNSUPPORTED: &[(&str, &str)] = &[
    // crypt_blowfish's sign-extension bug: verifying it correctly needs the buggy
    // key schedule, which the bcrypt crate does not have.
    ("$2x$", "bcrypt $2x$ (crypt_blowfish bug-compatible variant)"),
    ("$2$", "original bcrypt $2$"),
    ("$7$", "scrypt in the $7$ crypt encoding"),
    ("{PBKDF2_SHA256}", "389-ds {PBKDF2_SHA256}"),
    (
        "{CRYPT}",
        "{CRYPT}-wrapped hashes (strip the prefix when importing)",
    ),
];

impl HashFormat {
    /// Classifies `stored` and checks that it is well formed and within the cost
    /// budget, without computing the hash: cheap enough to validate every imported row.
    pub fn detect(stored: &str) -> Result<HashFormat, CredentialError> {
        parse(stored).map(|parsed| parsed.format)
    }

    /// Whether this is anything but the current format. Argon2id hashes may still
    /// need an upgrade when their parameters are outdated; see [`crate::Verification`].
    pub fn is_legacy(self) -> bool {
        self != HashFormat::Argon2id
    }

    fn name(self) -> &'static str {
        match self {
            HashFormat::Argon2id => "argon2id",
            HashFormat::Argon2i => "argon2i",
            HashFormat::Argon2d => "argon2d",
            HashFormat::Bcrypt => "bcrypt",
            HashFormat::Pbkdf2Sha1 => "pbkdf2-sha1",
            HashFormat::Pbkdf2Sha256 => "pbkdf2-sha256",
            HashFormat::Pbkdf2Sha512 => "pbkdf2-sha512",
            HashFormat::Scrypt => "scrypt",
            HashFormat::ShaCrypt256 => "sha256-crypt",
            HashFormat::ShaCrypt512 => "sha512-crypt",
            HashFormat::Md5Crypt => "md5-crypt",
            HashFormat::Sha1 => "{SHA}",
            HashFormat::Ssha1 => "{SSHA}",
            HashFormat::Ssha256 => "{SSHA256}",
            HashFormat::Ssha512 => "{SSHA512}",
        }
    }
}

impl fmt::Display for HashFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What checking a stored hash costs: its format and work parameters. Hashes
/// made with the same settings cost the same, so a few of them stand for an
/// export of millions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HashCost {
    format: HashFormat,
    /// bcrypt's cost; PBKDF2's or SHA-crypt's rounds; scrypt's log₂ N, r
    /// and p; argon2's memory (KiB), iterations and parallelism.
    parameters: [u32; 3],
}

impl HashCost {
    /// Classifies and checks `stored` as [`HashFormat::detect`] does.
    pub fn of(stored: &str) -> Result<Self, CredentialError> {
        let parsed = parse(stored)?;
        let parameters = match &parsed.scheme {
            Scheme::Argon2(hash) => hash.parameters(),
            Scheme::Bcrypt(hash) => [hash.cost(), 0, 0],
            Scheme::Pbkdf2(hash) => [hash.rounds(), 0, 0],
            Scheme::Scrypt(hash) => hash.parameters(),
            Scheme::ShaCrypt(hash) => [hash.rounds(), 0, 0],
            Scheme::Md5Crypt(_) | Scheme::Ldap(_) => [0; 3],
        };
        Ok(Self {
            format: parsed.format,
            parameters,
        })
    }

    pub fn format(self) -> HashFormat {
        self.format
    }

    /// Whether this is a hash the nodes would make now: argon2id with
    /// `current`.
    pub fn is_current(self, current: &Argon2Params) -> bool {
        self.format == HashFormat::Argon2id
            && self.parameters == [current.memory_kib(), current.iterations(), current.parallelism()]
    }

    /// Whether the hash is as hard to crack as OWASP's Password Storage
    /// Cheat Sheet asks of its format: argon2 with one of the memory and
    /// pass pairs it lists (46 MiB × 1, 19 MiB × 2, 12 MiB × 3, 9 MiB × 4,
    /// 7 MiB × 5) or more, bcrypt cost 10, PBKDF2 of 1,300,000 (SHA-1),
    /// 600,000 (SHA-256) or 210,000 (SHA-512) rounds, scrypt with as much
    /// work as the lightest set it lists (N=2¹³, r=8, p=10). It names no
    /// minimum for SHA-crypt, whose rounds are those of PBKDF2 with the
    /// same digest: held to the same counts. Unsalted or single-round
    /// digests (`{SHA}`, `{SSHA…}`) and MD5-crypt never are.
    pub fn meets_owasp_minimum(self) -> bool {
        let [first, second, _] = self.parameters;
        match self.format {
            HashFormat::Argon2id | HashFormat::Argon2i | HashFormat::Argon2d => {
                let (memory_kib, passes) = (first, second);
                let least_memory_mib = match passes {
                    0 => return false,
                    1 => 46,
                    2 => 19,
                    3 => 12,
                    4 => 9,
                    _ => 7,
                };
                memory_kib >= least_memory_mib * 1024
            }
            HashFormat::Bcrypt => first >= 10,
            HashFormat::Pbkdf2Sha1 => first >= 1_300_000,
            HashFormat::Pbkdf2Sha256 | HashFormat::ShaCrypt256 => first >= 600_000,
            HashFormat::Pbkdf2Sha512 | HashFormat::ShaCrypt512 => first >= 210_000,
            HashFormat::Scrypt => self.work() >= (1 << 13) * 8 * 10,
            HashFormat::Md5Crypt
            | HashFormat::Sha1
            | HashFormat::Ssha1
            | HashFormat::Ssha256
            | HashFormat::Ssha512 => false,
        }
    }

    /// The work a check does, in units of its format: of two costs of one
    /// format, the one with more work takes longer.
    pub fn work(self) -> u128 {
        let [first, second, third] = self.parameters.map(u128::from);
        match self.format {
            HashFormat::Bcrypt => 1 << first,
            HashFormat::Scrypt => (1 << first) * second * third,
            HashFormat::Argon2id | HashFormat::Argon2i | HashFormat::Argon2d => first * second,
            _ => first,
        }
    }

    /// The settings alone, as `cost 12` or `29000 rounds`; empty for a
    /// format that has none.
    pub fn settings(self) -> String {
        let [first, second, third] = self.parameters;
        match self.format {
            HashFormat::Argon2id | HashFormat::Argon2i | HashFormat::Argon2d => {
                format!("m={first}, t={second}, p={third}")
            }
            HashFormat::Bcrypt => format!("cost {first}"),
            HashFormat::Pbkdf2Sha1
            | HashFormat::Pbkdf2Sha256
            | HashFormat::Pbkdf2Sha512
            | HashFormat::ShaCrypt256
            | HashFormat::ShaCrypt512 => format!("{first} rounds"),
            HashFormat::Scrypt => format!("ln={first}, r={second}, p={third}"),
            HashFormat::Md5Crypt
            | HashFormat::Sha1
            | HashFormat::Ssha1
            | HashFormat::Ssha256
            | HashFormat::Ssha512 => String::new(),
        }
    }
}

/// The format and its settings: `bcrypt (cost 12)`, `md5-crypt`.
impl fmt::Display for HashCost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.settings() {
            settings if settings.is_empty() => write!(f, "{}", self.format),
            settings => write!(f, "{} ({settings})", self.format),
        }
    }
}

/// A stored hash that passed all structural and budget checks.
pub(crate) struct ParsedHash<'a> {
    pub(crate) format: HashFormat,
    pub(crate) scheme: Scheme<'a>,
}

pub(crate) enum Scheme<'a> {
    Argon2(StoredArgon2),
    Bcrypt(BcryptHash),
    Pbkdf2(Pbkdf2Hash),
    Scrypt(ScryptHash),
    ShaCrypt(ShaCryptHash<'a>),
    Md5Crypt(Md5CryptHash<'a>),
    Ldap(LdapDigest),
}

pub(crate) fn parse(stored: &str) -> Result<ParsedHash<'_>, CredentialError> {
    if let Some((_, what)) = UNSUPPORTED.iter().find(|(prefix, _)| has_prefix(stored, prefix)) {
        return Err(CredentialError::Unsupported(what));
    }
    let (prefix, format) = PREFIXES
        .iter()
        .find(|(prefix, _)| has_prefix(stored, prefix))
        .ok_or(CredentialError::UnknownFormat)?;
    if stored.len() > MAX_STORED_LEN {
        return Err(CredentialError::malformed(*format, "longer than any valid hash"));
    }
    let body = &stored[prefix.len()..];
    let scheme = match format {
        HashFormat::Argon2id | HashFormat::Argon2i | HashFormat::Argon2d => {
            Scheme::Argon2(StoredArgon2::parse(stored, *format)?)
        }
        HashFormat::Bcrypt => Scheme::Bcrypt(BcryptHash::parse(body)?),
        HashFormat::Pbkdf2Sha1 | HashFormat::Pbkdf2Sha256 | HashFormat::Pbkdf2Sha512 => {
            Scheme::Pbkdf2(Pbkdf2Hash::parse(body, *format)?)
        }
        HashFormat::Scrypt => Scheme::Scrypt(ScryptHash::parse(body)?),
        HashFormat::ShaCrypt256 | HashFormat::ShaCrypt512 => {
            Scheme::ShaCrypt(ShaCryptHash::parse(body, *format)?)
        }
        HashFormat::Md5Crypt => Scheme::Md5Crypt(Md5CryptHash::parse(body)?),
        HashFormat::Sha1 | HashFormat::Ssha1 | HashFormat::Ssha256 | HashFormat::Ssha512 => {
            Scheme::Ldap(LdapDigest::parse(body, *format)?)
        }
    };
    Ok(ParsedHash {
        format: *format,
        scheme,
    })
}

fn has_prefix(stored: &str, prefix: &str) -> bool {
    let Some(head) = stored.as_bytes().get(..prefix.len()) else {
        return false;
    };
    if prefix.starts_with('{') {
        head.eq_ignore_ascii_case(prefix.as_bytes())
    } else {
        head == prefix.as_bytes()
    }
}

pub(crate) fn check_password_length(password: &str) -> Result<(), CredentialError> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(CredentialError::PasswordTooLong {
            max: MAX_PASSWORD_BYTES,
        });
    }
    Ok(())
}
