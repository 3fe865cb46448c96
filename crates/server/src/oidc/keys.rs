//! Signing keys: generation, sealing at rest, rotation, JWKS.
//!
//! Keys live in the database so that every node signs with the same keys and
//! publishes the same JWKS; their private halves are sealed there with
//! AES-256-GCM under a key-encryption key that never enters the database.

use std::{
    fmt, fs,
    io::{self, Write},
    path::Path,
    str::FromStr,
    sync::{Arc, Mutex, PoisonError, RwLock},
    time::{Duration, Instant},
};

use aws_lc_rs::{
    aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey},
    encoding::{AsDer, Pkcs8V1Der},
    hmac,
    rand::SystemRandom,
    rsa::KeySize,
    signature::{
        ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, RSA_PKCS1_SHA256, RsaKeyPair,
    },
};
use axum::{
    Json,
    extract::State,
    http::header,
    response::{IntoResponse, Response},
};
use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey, Header, Validation,
    jwk::{Jwk, PublicKeyUse},
};
use serde::{Serialize, Serializer, de::DeserializeOwned};
use si_store::{Repositories, Store, StoreError, audit::NewAuditEntry, signing_keys::StoredKey};
use time::OffsetDateTime;

use super::tokens::{ACCESS_TOKEN_TYPE, ID_TOKEN_TYPE};
use crate::config::{Config, OidcConfig};

/// The file in the data directory that holds a generated key-encryption key.
pub const KEY_ENCRYPTION_KEY_FILE: &str = "key-encryption.key";

/// How often each node should call [`Keyring::refresh`] to see other nodes'
/// rotations; a retired key stays published at least this much longer.
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(60);
/// How long relying parties (and caches between) may keep the JWKS.
const JWKS_MAX_AGE: Duration = Duration::from_secs(300);
/// How long a rotation's new key is published before it signs: every node
/// has refreshed by then and serves it in its JWKS, and a cached JWKS
/// without it has run out, so a relying party that fetches the JWKS again
/// for an unknown `kid` (OIDC Core 10.1.1) finds it, whichever node answers.
/// A minute more: a reload may start late on a busy node, and the clock
/// that set `signs from` is not every node's.
pub const PUBLISH_BEFORE_SIGNING: Duration = Duration::from_secs(60 + 300 + 60);
const _: () = assert!(PUBLISH_BEFORE_SIGNING.as_secs() > REFRESH_INTERVAL.as_secs() + JWKS_MAX_AGE.as_secs());
/// The most often a token with an unknown `kid` makes a node reload its keys.
const UNKNOWN_KID_RELOAD_EVERY: Duration = Duration::from_secs(1);

/// Time allowed for clock differences between nodes and for relying parties
/// that fetch the JWKS a little late.
const ROTATION_MARGIN: Duration = Duration::from_secs(5 * 60);

/// Clock difference between nodes tolerated on `nbf`: a token made on a node
/// whose clock runs ahead is good at once on the others. `exp` is exact: a
/// token is checked here only for this provider's own answers (introspection,
/// userinfo), which must not call an expired token active (RFC 7662 §2.2).
const NOT_BEFORE_LEEWAY_SECONDS: f64 = 60.0;

/// What a token is checked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    /// A token this provider answers for (an access token): signed by a
    /// published key, and refused past its `exp`.
    AccessToken,
    /// A website's `id_token_hint`: expired or not, and signed by a
    /// published key or one unpublished less than this long ago, for a
    /// website keeps the ID token of a login for the whole session, across
    /// a rotation.
    IdTokenHint { sessions_last: Duration },
}

impl Check {
    /// The `typ` of the header the token must have: the provider signs
    /// access, ID and logout tokens with the same keys, and one must not
    /// pass for another (RFC 8725 §3.11, RFC 9068 §4).
    fn token_type(self) -> &'static str {
        match self {
            Check::AccessToken => ACCESS_TOKEN_TYPE,
            Check::IdTokenHint { .. } => ID_TOKEN_TYPE,
        }
    }
}

/// Whether a header's `typ` names `expected`: in any case, with or without
/// the `application/` that RFC 7515 §4.1.9 lets a sender leave out.
fn is_media_type(typ: &str, expected: &str) -> bool {
    let typ = match typ.get(..12) {
        Some(prefix) if prefix.eq_ignore_ascii_case("application/") => &typ[12..],
        _ => typ,
    };
    typ.eq_ignore_ascii_case(expected)
}

/// A JWS algorithm the provider signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigningAlgorithm {
    Rs256,
    Es256,
    EdDsa,
}

impl SigningAlgorithm {
    pub const ALL: [Self; 3] = [Self::Rs256, Self::Es256, Self::EdDsa];

    /// The JWS `alg` name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
        }
    }

    fn jwt(self) -> Algorithm {
        match self {
            Self::Rs256 => Algorithm::RS256,
            Self::Es256 => Algorithm::ES256,
            Self::EdDsa => Algorithm::EdDSA,
        }
    }
}

impl fmt::Display for SigningAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SigningAlgorithm {
    type Err = UnknownAlgorithm;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| UnknownAlgorithm(s.to_owned()))
    }
}

impl Serialize for SigningAlgorithm {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown signing algorithm {0:?} (use RS256, ES256 or EdDSA)")]
pub struct UnknownAlgorithm(pub String);

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "oidc.key_encryption_key is not valid: it must be base64 of exactly 32 random bytes \
         (for example the output of `openssl rand -base64 32`)"
    )]
    BadConfiguredKey,
    #[error("the key-encryption key file {path} does not hold base64 of exactly 32 bytes")]
    BadKeyFile { path: String },
    #[error("cannot read or create the key-encryption key file {path}: {source}")]
    KeyFile { path: String, source: io::Error },
    #[error(
        "the key-encryption key file {path} is missing, but the database holds signing keys \
         sealed with it: restore the file from the backup, or set oidc.key_encryption_key \
         (SI_OIDC__KEY_ENCRYPTION_KEY) to the key the other nodes use"
    )]
    MissingKeyFile { path: String },
    #[error(
        "signing key {kid} cannot be unsealed: the key-encryption key is not the one it was \
         sealed with (nodes sharing a database must share oidc.key_encryption_key), or the \
         stored key was altered"
    )]
    Unseal { kid: String },
    #[error("stored signing key {kid} is not valid: {reason}")]
    CorruptKey { kid: String, reason: String },
    #[error("cannot generate or seal a {0} key")]
    Generate(SigningAlgorithm),
    #[error("there is no {0} key to sign with")]
    NoSigningKey(SigningAlgorithm),
    #[error("cannot sign a token")]
    Sign,
    #[error("the token is signed with a key that is not published: {kid}")]
    UnknownKey { kid: String },
    #[error("the token is not valid: {0}")]
    InvalidToken(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The key-encryption key: seals the signing keys' private halves, and the
/// mails waiting in the outbox, at rest.
#[derive(Clone)]
pub struct SealingKey {
    keys: Arc<Sealer>,
    /// Derived from the same 32 bytes: seals the outbox's mails, whose links
    /// are secrets, so that a copy of the database does not give them away.
    mail: Arc<Sealer>,
    /// Derived from the same 32 bytes: tags the refresh tokens, so that a
    /// token that was never issued is told apart from an old one that was.
    refresh_tags: hmac::Key,
    /// Derived likewise: tags the device cookies of `oidc::device`.
    device_tags: hmac::Key,
}

impl fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealingKey([redacted])")
    }
}

impl SealingKey {
    /// The configured `oidc.key_encryption_key`, or else the one in
    /// `<data_dir>/key-encryption.key`, generated there on first use: only
    /// while the database holds no signing keys. A new key could not open
    /// keys sealed before, so a missing file then is an error that says so,
    /// not a fresh file that hides the loss.
    pub async fn load(config: &Config, store: &impl Repositories) -> Result<Self, KeyError> {
        if let Some(text) = &config.oidc.key_encryption_key {
            return Self::from_base64(text);
        }
        let path = config.data_dir.join(KEY_ENCRYPTION_KEY_FILE);
        if let Some(key) = Self::read_file(&path)? {
            return Ok(key);
        }
        if !store.signing_keys().all().await?.is_empty() {
            return Err(KeyError::MissingKeyFile {
                path: path.display().to_string(),
            });
        }
        Self::create_file(&path)
    }

    /// Base64 (standard or URL-safe, padded or not) of exactly 32 bytes.
    pub fn from_base64(text: &str) -> Result<Self, KeyError> {
        base64::decode(text.trim())
            .and_then(|bytes| Self::from_bytes(&bytes))
            .ok_or(KeyError::BadConfiguredKey)
    }

    fn from_bytes(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != 32 {
            return None;
        }
        let derive_bytes = |purpose: &[u8]| hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, bytes), purpose);
        let derive = |purpose: &[u8]| hmac::Key::new(hmac::HMAC_SHA256, derive_bytes(purpose).as_ref());
        Some(Self {
            keys: Arc::new(Sealer::new(bytes)?),
            mail: Arc::new(Sealer::new(
                derive_bytes(b"single-identity mail outbox").as_ref(),
            )?),
            refresh_tags: derive(b"single-identity refresh token tags"),
            device_tags: derive(b"single-identity device cookie tags"),
        })
    }

    fn create_file(path: &Path) -> Result<Self, KeyError> {
        let failed = |source| KeyError::KeyFile {
            path: path.display().to_string(),
            source,
        };
        if let Some(dir) = path.parent() {
            crate::private_dir::create(dir).map_err(failed)?;
        }
        let mut bytes = [0u8; 32];
        aws_lc_rs::rand::fill(&mut bytes).map_err(|_| failed(io::Error::other("no randomness")))?;
        // Written aside and then linked into place: of two nodes starting at
        // once, one wins and the other reads the winner's complete file.
        let aside = path.with_extension(format!("{:016x}.tmp", rand::random::<u64>()));
        let written = write_private(&aside, format!("{}\n", base64::encode_standard(&bytes)));
        let linked = written.and_then(|()| fs::hard_link(&aside, path));
        let _ = fs::remove_file(&aside);
        match linked {
            Ok(()) => {
                tracing::info!(path = %path.display(), "generated a key-encryption key");
                Self::from_bytes(&bytes).ok_or(KeyError::BadKeyFile {
                    path: path.display().to_string(),
                })
            }
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
                Self::read_file(path)?.ok_or_else(|| failed(io::Error::from(io::ErrorKind::NotFound)))
            }
            Err(err) => Err(failed(err)),
        }
    }

    fn read_file(path: &Path) -> Result<Option<Self>, KeyError> {
        match fs::read_to_string(path) {
            Ok(text) => base64::decode(text.trim())
                .and_then(|bytes| Self::from_bytes(&bytes))
                .map(Some)
                .ok_or(KeyError::BadKeyFile {
                    path: path.display().to_string(),
                }),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(KeyError::KeyFile {
                path: path.display().to_string(),
                source,
            }),
        }
    }

    /// The kid is bound in as associated data, so a sealed key copied onto
    /// another row does not open.
    fn seal(&self, kid: &str, plaintext: &[u8]) -> Option<String> {
        self.keys.seal(kid.as_bytes(), plaintext)
    }

    fn open(&self, kid: &str, sealed: &str) -> Result<Vec<u8>, KeyError> {
        self.keys
            .open(kid.as_bytes(), sealed)
            .ok_or_else(|| KeyError::Unseal { kid: kid.to_owned() })
    }

    /// Seals a mail for the outbox; `context` (its recipient and kind) is
    /// bound in, so that it opens only on the row it was queued on.
    pub fn seal_mail(&self, context: &str, mail: &str) -> Option<String> {
        self.mail.seal(context.as_bytes(), mail.as_bytes())
    }

    /// A mail sealed by [`SealingKey::seal_mail`] with the same `context`;
    /// none when it was sealed with another key or altered.
    pub fn open_mail(&self, context: &str, sealed: &str) -> Option<String> {
        let opened = self.mail.open(context.as_bytes(), sealed)?;
        String::from_utf8(opened).ok()
    }
}

/// AES-256-GCM with a fresh random nonce per message, written as
/// base64url(nonce || ciphertext || tag).
struct Sealer(LessSafeKey);

impl Sealer {
    fn new(key: &[u8]) -> Option<Self> {
        Some(Self(LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).ok()?)))
    }

    fn seal(&self, associated: &[u8], plaintext: &[u8]) -> Option<String> {
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).ok()?;
        let mut sealed = plaintext.to_vec();
        self.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(associated),
                &mut sealed,
            )
            .ok()?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Some(base64::encode_url(&out))
    }

    fn open(&self, associated: &[u8], sealed: &str) -> Option<Vec<u8>> {
        let bytes = base64::decode(sealed)?;
        let (nonce, ciphertext) = bytes.split_at_checked(NONCE_LEN)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut in_out = ciphertext.to_vec();
        let plaintext = self
            .0
            .open_in_place(nonce, Aad::from(associated), &mut in_out)
            .ok()?;
        Some(plaintext.to_vec())
    }
}

fn write_private(path: &Path, contents: String) -> io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

/// A new key pair: PKCS#8 private half sealed, public half as a JWK.
fn new_key(
    algorithm: SigningAlgorithm,
    sealing: &SealingKey,
    now: OffsetDateTime,
) -> Result<StoredKey, KeyError> {
    let failed = || KeyError::Generate(algorithm);
    let mut kid = [0u8; 16];
    aws_lc_rs::rand::fill(&mut kid).map_err(|_| failed())?;
    let kid = base64::encode_url(&kid);
    let pkcs8 = generate_pkcs8(algorithm).ok_or_else(failed)?;
    let encoding = encoding_key(algorithm, &pkcs8).ok_or_else(failed)?;
    let jwk = public_jwk(&kid, algorithm, &encoding).ok_or_else(failed)?;
    Ok(StoredKey {
        private_key_sealed: sealing.seal(&kid, &pkcs8).ok_or_else(failed)?,
        kid,
        algorithm: algorithm.as_str().to_owned(),
        public_jwk: jwk,
        created_at: now,
        retire_at: None,
        expires_at: None,
    })
}

/// RSA key generation takes a noticeable fraction of a second: off the runtime.
async fn new_key_off_runtime(
    algorithm: SigningAlgorithm,
    sealing: &SealingKey,
    now: OffsetDateTime,
) -> Result<StoredKey, KeyError> {
    let sealing = sealing.clone();
    tokio::task::spawn_blocking(move || new_key(algorithm, &sealing, now))
        .await
        .map_err(|_| KeyError::Generate(algorithm))?
}

fn generate_pkcs8(algorithm: SigningAlgorithm) -> Option<Vec<u8>> {
    Some(match algorithm {
        SigningAlgorithm::Rs256 => {
            let pair = RsaKeyPair::generate(KeySize::Rsa2048).ok()?;
            AsDer::<Pkcs8V1Der>::as_der(&pair).ok()?.as_ref().to_vec()
        }
        SigningAlgorithm::Es256 => EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
            .ok()?
            .to_pkcs8v1()
            .ok()?
            .as_ref()
            .to_vec(),
        // Version 1 (without the public key): the form jsonwebtoken derives the JWK from.
        SigningAlgorithm::EdDsa => Ed25519KeyPair::generate()
            .ok()?
            .to_pkcs8v1()
            .ok()?
            .as_ref()
            .to_vec(),
    })
}

fn encoding_key(algorithm: SigningAlgorithm, pkcs8: &[u8]) -> Option<EncodingKey> {
    Some(match algorithm {
        // jsonwebtoken signs RSA with the PKCS#1 key that PKCS#8 wraps.
        SigningAlgorithm::Rs256 => EncodingKey::from_rsa_der(pkcs1_from_pkcs8(pkcs8)?),
        SigningAlgorithm::Es256 => EncodingKey::from_ec_der(pkcs8),
        SigningAlgorithm::EdDsa => EncodingKey::from_ed_der(pkcs8),
    })
}

fn public_jwk(kid: &str, algorithm: SigningAlgorithm, key: &EncodingKey) -> Option<String> {
    let mut jwk = Jwk::from_encoding_key(key, algorithm.jwt()).ok()?;
    jwk.common.key_id = Some(kid.to_owned());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    serde_json::to_string(&jwk).ok()
}

/// The `privateKey` OCTET STRING of a PKCS#8 `PrivateKeyInfo`
/// (SEQUENCE { INTEGER version, SEQUENCE algorithm, OCTET STRING privateKey, .. }).
fn pkcs1_from_pkcs8(der: &[u8]) -> Option<&[u8]> {
    let (0x30, info, _) = der_element(der)? else {
        return None;
    };
    let (0x02, _, rest) = der_element(info)? else {
        return None;
    };
    let (0x30, _, rest) = der_element(rest)? else {
        return None;
    };
    let (0x04, key, _) = der_element(rest)? else {
        return None;
    };
    Some(key)
}

/// One DER element: its tag, its contents and what follows it.
fn der_element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (length, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 {
            return None;
        }
        let (bytes, rest) = rest.split_at_checked(count)?;
        let length = bytes.iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (length, rest)
    };
    let (contents, rest) = rest.split_at_checked(length)?;
    Some((tag, contents, rest))
}

/// A key as a node holds it in memory: published, or kept unpublished for
/// `id_token_hint`s.
struct LoadedKey {
    kid: String,
    algorithm: SigningAlgorithm,
    jwk: serde_json::Value,
    /// Built from the published JWK, exactly as relying parties verify.
    decoding: DecodingKey,
    /// Only for keys that were still signing when loaded.
    signer: Option<Signer>,
    retire_at: Option<OffsetDateTime>,
    expires_at: Option<OffsetDateTime>,
}

impl LoadedKey {
    fn load(stored: StoredKey, sealing: &SealingKey, now: OffsetDateTime) -> Result<Option<Self>, KeyError> {
        let corrupt = |reason: &str| KeyError::CorruptKey {
            kid: stored.kid.clone(),
            reason: reason.to_owned(),
        };
        let Ok(algorithm) = stored.algorithm.parse::<SigningAlgorithm>() else {
            // A newer version may sign with more algorithms during a rolling upgrade.
            tracing::warn!(kid = %stored.kid, algorithm = %stored.algorithm, "skipping a key of an unknown algorithm");
            return Ok(None);
        };
        let jwk: Jwk = serde_json::from_str(&stored.public_jwk).map_err(|_| corrupt("public JWK"))?;
        let decoding = DecodingKey::from_jwk(&jwk).map_err(|_| corrupt("public JWK"))?;
        let signs = stored.retire_at.is_none_or(|at| at > now);
        let signer = if signs {
            let pkcs8 = sealing.open(&stored.kid, &stored.private_key_sealed)?;
            Some(Signer::from_pkcs8(algorithm, &pkcs8).ok_or_else(|| corrupt("private key"))?)
        } else {
            None
        };
        Ok(Some(Self {
            jwk: serde_json::to_value(&jwk).map_err(|_| corrupt("public JWK"))?,
            kid: stored.kid,
            algorithm,
            decoding,
            signer,
            retire_at: stored.retire_at,
            expires_at: stored.expires_at,
        }))
    }

    fn published_at(&self, now: OffsetDateTime) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }

    fn signing_at(&self, now: OffsetDateTime) -> Option<&Signer> {
        self.signer
            .as_ref()
            .filter(|_| self.retire_at.is_none_or(|at| at > now))
    }
}

/// A private key parsed and checked once, when loaded. (jsonwebtoken's
/// `encode` parses and checks the DER key again on every call, which cost
/// more than the RS256 signature itself.)
enum Signer {
    Rsa(RsaKeyPair),
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

impl Signer {
    fn from_pkcs8(algorithm: SigningAlgorithm, pkcs8: &[u8]) -> Option<Self> {
        Some(match algorithm {
            SigningAlgorithm::Rs256 => Signer::Rsa(RsaKeyPair::from_pkcs8(pkcs8).ok()?),
            SigningAlgorithm::Es256 => {
                Signer::Ecdsa(EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8).ok()?)
            }
            SigningAlgorithm::EdDsa => Signer::Ed25519(Ed25519KeyPair::from_pkcs8(pkcs8).ok()?),
        })
    }

    /// The JWS signature of `input` (RFC 7518 §3: PKCS#1 v1.5, fixed-size
    /// ECDSA, or Ed25519).
    fn sign(&self, input: &[u8]) -> Result<Vec<u8>, KeyError> {
        match self {
            Signer::Rsa(key) => {
                let mut signature = vec![0; key.public_modulus_len()];
                key.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), input, &mut signature)
                    .map_err(|_| KeyError::Sign)?;
                Ok(signature)
            }
            Signer::Ecdsa(key) => Ok(key
                .sign(&SystemRandom::new(), input)
                .map_err(|_| KeyError::Sign)?
                .as_ref()
                .to_vec()),
            Signer::Ed25519(key) => Ok(key.sign(input).as_ref().to_vec()),
        }
    }
}

/// The keys every request signs and verifies with. Cheap to clone.
#[derive(Clone)]
pub struct Keyring(Arc<Shared>);

struct Shared {
    store: Store,
    sealing: SealingKey,
    /// Newest first, as the store lists them; replaced whole on refresh.
    keys: RwLock<Arc<[LoadedKey]>>,
    /// When a token with an unknown `kid` last made this node reload.
    reloaded_for_unknown_kid: Mutex<Option<Instant>>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys = self.snapshot();
        f.debug_list()
            .entries(keys.iter().map(|k| (&k.kid, k.algorithm)))
            .finish()
    }
}

impl Keyring {
    /// The configured key-encryption key, proven to open the signing keys
    /// it sealed: for commands that seal or open mails, so that a run with
    /// another node's key fails at once rather than on every mail. In a
    /// database without signing keys they are made now, with this key, so
    /// that the key the mails are sealed with is the database's own: a
    /// `serve` given another key then stops at start, as for any node
    /// whose key does not open the signing keys, instead of failing them.
    pub async fn load_sealing_key(config: &Config, store: &Store) -> Result<SealingKey, KeyError> {
        let sealing = SealingKey::load(config, store).await?;
        Self::load_or_create(store, &sealing).await?;
        Ok(sealing)
    }

    /// The key-encryption key these keys were opened with.
    pub fn sealing(&self) -> &SealingKey {
        &self.0.sealing
    }

    /// Makes sure there is a signing key of every algorithm, then loads the
    /// keys. Nodes starting together on an empty database make one
    /// set: each makes the keys it found missing, then, one node at a time,
    /// stores those still missing.
    pub async fn load_or_create(store: &Store, sealing: &SealingKey) -> Result<Self, KeyError> {
        let missing = |signing: &[StoredKey]| -> Vec<SigningAlgorithm> {
            SigningAlgorithm::ALL
                .into_iter()
                .filter(|algorithm| !signing.iter().any(|k| k.algorithm == algorithm.as_str()))
                .collect()
        };
        let wanted = missing(&store.signing_keys().signing().await?);
        if !wanted.is_empty() {
            // Made before the hold: an RSA key takes up to a few hundred ms.
            let mut made = Vec::new();
            for algorithm in wanted {
                made.push((
                    algorithm,
                    new_key_off_runtime(algorithm, sealing, store.clock().now()).await?,
                ));
            }
            let txn = store.begin().await?;
            txn.signing_keys().hold().await?;
            let still_missing = missing(&txn.signing_keys().signing().await?);
            for (algorithm, key) in made {
                if still_missing.contains(&algorithm) {
                    txn.signing_keys().insert(&key).await?;
                    tracing::info!(kid = %key.kid, algorithm = %algorithm, "created a signing key");
                }
            }
            txn.commit().await?;
        }
        let keyring = Self(Arc::new(Shared {
            store: store.clone(),
            sealing: sealing.clone(),
            keys: RwLock::new(Arc::from(Vec::new())),
            reloaded_for_unknown_kid: Mutex::new(None),
        }));
        keyring.refresh().await?;
        Ok(keyring)
    }

    /// Reloads the keys, so this node follows rotations made elsewhere: the
    /// published ones, and those a rotation unpublished and keeps for
    /// checking `id_token_hint`s.
    pub async fn refresh(&self) -> Result<(), KeyError> {
        let now = self.now();
        let mut keys = Vec::new();
        for stored in self.0.store.signing_keys().all().await? {
            keys.extend(LoadedKey::load(stored, &self.0.sealing, now)?);
        }
        *self.0.keys.write().unwrap_or_else(PoisonError::into_inner) = Arc::from(keys);
        Ok(())
    }

    /// `body` with its tag appended (`{body}~{tag}`, so that it never has
    /// the three dotted parts of a JWT): a refresh token only this provider
    /// (and the nodes sharing its key) can have issued.
    pub fn tag_refresh_token(&self, body: &str) -> String {
        let tag = hmac::sign(&self.0.sealing.refresh_tags, body.as_bytes());
        format!("{body}~{}", base64::encode_url(tag.as_ref()))
    }

    /// `{nonce}.{tag}`: a device cookie of `username` only this provider
    /// (and the nodes sharing its key) can have issued.
    pub fn tag_device(&self, nonce: &str, username: &str) -> String {
        let tag = hmac::sign(&self.0.sealing.device_tags, &device_message(nonce, username));
        format!("{nonce}.{}", base64::encode_url(tag.as_ref()))
    }

    /// The nonce of a device cookie issued for `username`; `None` for any
    /// other value, or a cookie of another username.
    pub fn device_nonce<'a>(&self, cookie: &'a str, username: &str) -> Option<&'a str> {
        let (nonce, given) = cookie.split_once('.')?;
        let tag = base64::decode(given)?;
        let message = device_message(nonce, username);
        hmac::verify(&self.0.sealing.device_tags, &message, &tag).ok()?;
        Some(nonce)
    }

    /// The body of a refresh token whose tag holds; `None` for one that was
    /// never issued (made up, cut short, or with something appended).
    pub fn issued_refresh_body<'a>(&self, token: &'a str) -> Option<&'a str> {
        let (body, given) = token.rsplit_once('~')?;
        let tag = base64::decode(given)?;
        hmac::verify(&self.0.sealing.refresh_tags, body.as_bytes(), &tag).ok()?;
        // Only as issued: the digest is of the whole string, so another
        // spelling of the same tag (padding, `+` for `-`) would pass for an
        // old token of the family.
        (base64::encode_url(&tag) == given).then_some(body)
    }

    /// `{"keys": [...]}`: every published key.
    pub fn jwks(&self) -> serde_json::Value {
        let now = self.now();
        let keys: Vec<_> = self
            .snapshot()
            .iter()
            .filter(|k| k.published_at(now))
            .map(|k| k.jwk.clone())
            .collect();
        serde_json::json!({ "keys": keys })
    }

    /// Signs `claims` with the signing key of `algorithm` that retires first
    /// (a rotation's new key waits until its predecessor retires); the header
    /// carries its `kid` and the given `typ` (`JWT`, `at+jwt`, `logout+jwt`).
    pub fn sign(
        &self,
        algorithm: SigningAlgorithm,
        typ: &str,
        claims: &impl Serialize,
    ) -> Result<String, KeyError> {
        let now = self.now();
        let keys = self.snapshot();
        let (_, kid, signer) = keys
            .iter()
            .filter(|k| k.algorithm == algorithm)
            .filter_map(|k| Some((k.retire_at, &k.kid, k.signing_at(now)?)))
            .min_by_key(|(retire_at, ..)| {
                retire_at.unwrap_or(OffsetDateTime::new_utc(time::Date::MAX, time::Time::MIDNIGHT))
            })
            .ok_or(KeyError::NoSigningKey(algorithm))?;
        let mut header = Header::new(algorithm.jwt());
        header.kid = Some(kid.clone());
        header.typ = Some(typ.to_owned());
        let header = serde_json::to_vec(&header).map_err(|_| KeyError::Sign)?;
        let claims = serde_json::to_vec(claims).map_err(|_| KeyError::Sign)?;
        let signing_input = format!("{}.{}", base64::encode_url(&header), base64::encode_url(&claims));
        let signature = signer.sign(signing_input.as_bytes())?;
        Ok(format!("{signing_input}.{}", base64::encode_url(&signature)))
    }

    /// Checks an access token this provider signed: its `typ`, a published
    /// key by `kid`, its signature, `iss`, `aud` (when given), and
    /// `exp`/`nbf` by the store's clock.
    pub async fn verify_access_token<T: DeserializeOwned>(
        &self,
        token: &str,
        audiences: Option<&[&str]>,
        issuer: &str,
    ) -> Result<T, KeyError> {
        self.check(token, audiences, issuer, Check::AccessToken).await
    }

    /// Checks a website's `id_token_hint`: as [`Self::verify_access_token`], but an
    /// expired token passes, for it still names its client and session
    /// (RP-Initiated Logout 1.0 §2), and so does one signed by a key
    /// unpublished less than `sessions_last` ago, the longest a session the
    /// hint may name lives. Signature and issuer are checked all the same.
    pub async fn verify_id_token_hint<T: DeserializeOwned>(
        &self,
        token: &str,
        issuer: &str,
        sessions_last: Duration,
    ) -> Result<T, KeyError> {
        self.check(token, None, issuer, Check::IdTokenHint { sessions_last })
            .await
    }

    async fn check<T: DeserializeOwned>(
        &self,
        token: &str,
        audiences: Option<&[&str]>,
        issuer: &str,
        check: Check,
    ) -> Result<T, KeyError> {
        let invalid = |e: jsonwebtoken::errors::Error| KeyError::InvalidToken(e.to_string());
        let header = jsonwebtoken::decode_header(token).map_err(invalid)?;
        let expected = check.token_type();
        if !header
            .typ
            .as_deref()
            .is_some_and(|typ| is_media_type(typ, expected))
        {
            return Err(KeyError::InvalidToken(format!("the typ is not {expected}")));
        }
        let kid = header
            .kid
            .ok_or_else(|| KeyError::InvalidToken("no kid in the header".to_owned()))?;
        if self.find(&kid, check).is_none() && self.may_reload_for_unknown_kid() {
            // Perhaps another node rotated since our last refresh.
            self.refresh().await?;
        }
        let (algorithm, decoding) = self.find(&kid, check).ok_or(KeyError::UnknownKey { kid })?;
        let mut validation = Validation::new(algorithm.jwt());
        // jsonwebtoken reads the system clock; time here comes from the store's.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.set_issuer(&[issuer]);
        match audiences {
            Some(audiences) => {
                validation.set_audience(audiences);
                validation.set_required_spec_claims(&["exp", "iss", "aud"]);
            }
            None => {
                validation.validate_aud = false;
                validation.set_required_spec_claims(&["exp", "iss"]);
            }
        }
        let claims = jsonwebtoken::decode::<serde_json::Value>(token, &decoding, &validation)
            .map_err(invalid)?
            .claims;
        let now = self.now().unix_timestamp() as f64;
        let moment = |name: &str| claims.get(name).and_then(serde_json::Value::as_f64);
        match (moment("exp"), check) {
            (Some(exp), Check::AccessToken) if now >= exp => {
                return Err(KeyError::InvalidToken("expired".to_owned()));
            }
            (Some(_), _) => {}
            (None, _) => return Err(KeyError::InvalidToken("exp is not a number".to_owned())),
        }
        if moment("nbf").is_some_and(|nbf| nbf > now + NOT_BEFORE_LEEWAY_SECONDS) {
            return Err(KeyError::InvalidToken("not valid yet".to_owned()));
        }
        serde_json::from_value(claims).map_err(|e| KeyError::InvalidToken(e.to_string()))
    }

    /// At most once per [`UNKNOWN_KID_RELOAD_EVERY`]: the `kid` comes from
    /// whoever sent the token, and a reload reads and decrypts every key.
    fn may_reload_for_unknown_kid(&self) -> bool {
        let mut last = self
            .0
            .reloaded_for_unknown_kid
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        if last.is_some_and(|at| now.duration_since(at) < UNKNOWN_KID_RELOAD_EVERY) {
            return false;
        }
        *last = Some(now);
        true
    }

    /// The key `kid`, if it may check a token of this kind ([`Check`]).
    fn find(&self, kid: &str, check: Check) -> Option<(SigningAlgorithm, DecodingKey)> {
        let now = self.now();
        let usable = |key: &LoadedKey| match check {
            Check::AccessToken => key.published_at(now),
            Check::IdTokenHint { sessions_last } => {
                let sessions_last = time::Duration::try_from(sessions_last).unwrap_or(time::Duration::MAX);
                key.expires_at
                    .is_none_or(|at| at.checked_add(sessions_last).is_none_or(|until| until > now))
            }
        };
        self.snapshot()
            .iter()
            .find(|k| k.kid == kid && usable(k))
            .map(|k| (k.algorithm, k.decoding.clone()))
    }

    fn snapshot(&self) -> Arc<[LoadedKey]> {
        self.0.keys.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn now(&self) -> OffsetDateTime {
        self.0.store.clock().now()
    }
}

/// What a device cookie's tag covers: its nonce and the username, apart.
fn device_message(nonce: &str, username: &str) -> Vec<u8> {
    [nonce.as_bytes(), b"\0", username.as_bytes()].concat()
}

/// How long a retired key stays published: the longest a token lives, plus
/// the time other nodes may still sign with it before their next refresh,
/// plus a margin.
pub fn rotation_overlap(config: &OidcConfig) -> Duration {
    config.longest_token_lifetime() + REFRESH_INTERVAL + ROTATION_MARGIN
}

/// What one rotation did for one algorithm.
#[derive(Debug, Clone, Serialize)]
pub struct RotatedKey {
    pub algorithm: SigningAlgorithm,
    /// The new key, published now.
    pub kid: String,
    /// When the new key takes over the signing.
    #[serde(with = "time::serde::rfc3339")]
    pub signs_from: OffsetDateTime,
    /// The keys that stop signing then.
    pub retired: Vec<String>,
    /// Until when the retired keys stay published; none when none retires.
    #[serde(with = "time::serde::rfc3339::option")]
    pub published_until: Option<OffsetDateTime>,
}

/// Creates a new signing key of every algorithm, published at once; after
/// `publish_first` it signs instead of the key signing until then, which
/// stays published for `overlap` more. Also removes keys unpublished longer
/// than `kept_for_hints` ago: until then they check the ID tokens websites
/// send back as `id_token_hint` (as long as a session lives). The audit log
/// records it for `actor` in the same transaction.
pub async fn rotate(
    store: &Store,
    sealing: &SealingKey,
    (publish_first, overlap): (Duration, Duration),
    kept_for_hints: Duration,
    actor: &str,
) -> Result<Vec<RotatedKey>, KeyError> {
    let mut fresh = Vec::new();
    for algorithm in SigningAlgorithm::ALL {
        let created = store.clock().now();
        fresh.push((algorithm, new_key_off_runtime(algorithm, sealing, created).await?));
    }
    let txn = store.begin().await?;
    // Read the time in the transaction: a rotation run beside this one may
    // have committed keys made after this one began.
    // In whole milliseconds, as the keys are kept (and listed).
    let now = store.clock().now();
    let now = now
        .replace_nanosecond(now.nanosecond() / 1_000_000 * 1_000_000)
        .unwrap_or(now);
    let later = |from: OffsetDateTime, by: Duration| {
        time::Duration::try_from(by)
            .ok()
            .and_then(|by| from.checked_add(by))
            .unwrap_or(OffsetDateTime::new_utc(time::Date::MAX, time::Time::MIDNIGHT))
    };
    // A key retiring already (a rotation shortly before this one) keeps its time.
    let mut previous = txn.signing_keys().signing().await?;
    previous.retain(|key| key.retire_at.is_none());
    // A key-encryption key that cannot open the keys signing now is not the
    // nodes' key: keys sealed with it would stop every node at its next start.
    for old in &previous {
        sealing.open(&old.kid, &old.private_key_sealed)?;
    }
    let mut rotated = Vec::new();
    for (algorithm, key) in fresh {
        txn.signing_keys().insert(&key).await?;
        let replaced: Vec<&StoredKey> = previous
            .iter()
            .filter(|k| k.algorithm == algorithm.as_str())
            .collect();
        // A key that replaces none (a database no node has started on yet)
        // signs at once, as the nodes see it.
        let signs_from = if replaced.is_empty() {
            now
        } else {
            later(now, publish_first)
        };
        let until = later(signs_from, overlap);
        let mut retired = Vec::new();
        for old in replaced {
            // Never before it was made, however the two rotations met.
            let retired_at = signs_from.max(old.created_at);
            txn.signing_keys()
                .retire(&old.kid, retired_at, until.max(retired_at))
                .await?;
            retired.push(old.kid.clone());
        }
        let published_until = (!retired.is_empty()).then_some(until);
        rotated.push(RotatedKey {
            algorithm,
            kid: key.kid,
            signs_from,
            retired,
            published_until,
        });
    }
    let forgotten_before = now
        .checked_sub(time::Duration::try_from(kept_for_hints).unwrap_or(time::Duration::MAX))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let deleted = txn
        .signing_keys()
        .delete_unpublished_before(forgotten_before)
        .await?;
    let new_keys: Vec<&str> = rotated.iter().map(|key| key.kid.as_str()).collect();
    txn.audit()
        .record(NewAuditEntry {
            actor,
            action: "keys_rotated",
            library: None,
            account: None,
            detail: serde_json::json!({ "new_keys": new_keys }),
        })
        .await?;
    txn.commit().await?;
    tracing::info!(deleted, "rotated the signing keys");
    Ok(rotated)
}

/// `GET` the JWKS; relying parties may cache it for [`JWKS_MAX_AGE`].
pub async fn jwks_endpoint(State(keyring): State<Keyring>) -> Response {
    let cache_control = format!("public, max-age={}", JWKS_MAX_AGE.as_secs());
    ([(header::CACHE_CONTROL, cache_control)], Json(keyring.jwks())).into_response()
}

/// Base64 as the key material needs it. The server crate has no base64
/// dependency of its own, and these few lines spare it one.
mod base64 {
    const STANDARD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    /// base64url without padding.
    pub fn encode_url(bytes: &[u8]) -> String {
        encode(bytes, URL_SAFE, false)
    }

    /// Standard base64 with padding, as `openssl rand -base64` writes it.
    pub fn encode_standard(bytes: &[u8]) -> String {
        encode(bytes, STANDARD, true)
    }

    fn encode(bytes: &[u8], alphabet: &[u8; 64], pad: bool) -> String {
        let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
        for chunk in bytes.chunks(3) {
            let group = chunk
                .iter()
                .enumerate()
                .fold(0u32, |acc, (i, &b)| acc | u32::from(b) << (16 - 8 * i));
            for i in 0..=chunk.len() {
                out.push(char::from(alphabet[(group >> (18 - 6 * i) & 0x3f) as usize]));
            }
            if pad {
                out.extend(std::iter::repeat_n('=', 3 - chunk.len()));
            }
        }
        out
    }

    /// Either alphabet, padded or not; `None` for anything else.
    pub fn decode(text: &str) -> Option<Vec<u8>> {
        let text = text.as_bytes();
        let unpadded = text
            .strip_suffix(b"==")
            .or_else(|| text.strip_suffix(b"="))
            .unwrap_or(text);
        if unpadded.len() % 4 == 1 || (unpadded.len() != text.len() && !text.len().is_multiple_of(4)) {
            return None;
        }
        let mut out = Vec::with_capacity(unpadded.len() * 3 / 4);
        let (mut buffer, mut bits) = (0u32, 0u32);
        for &c in unpadded {
            let value = match c {
                b'A'..=b'Z' => c - b'A',
                b'a'..=b'z' => c - b'a' + 26,
                b'0'..=b'9' => c - b'0' + 52,
                b'+' | b'-' => 62,
                b'/' | b'_' => 63,
                _ => return None,
            };
            buffer = (buffer << 6) | u32::from(value);
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((buffer >> bits) as u8);
                buffer &= (1 << bits) - 1;
            }
        }
        // Bits left over must be zero, or two texts would decode alike.
        (buffer == 0).then_some(out)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde::Deserialize;
    use si_store::{FixedClock, audit::AuditFilter, testing::TestDatabase};

    use super::*;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct Claims {
        iss: String,
        aud: String,
        sub: String,
        exp: i64,
        iat: i64,
    }

    const ISSUER: &str = "https://login.bibliotheek.example";
    /// How long the sessions of these tests last.
    const HOUR: Duration = Duration::from_secs(3600);

    fn random_sealing_key() -> SealingKey {
        SealingKey::from_base64(&base64::encode_standard(&rand::random::<[u8; 32]>())).unwrap()
    }

    async fn keyring() -> (Keyring, Store, FixedClock, SealingKey, TestDatabase) {
        let database = TestDatabase::create().await;
        // Now, so that jsonwebtoken's own exp check (system clock) agrees.
        let clock = FixedClock::at(OffsetDateTime::now_utc());
        let store = Store::connect(&database.url, Arc::new(clock.clone()))
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let sealing = random_sealing_key();
        let keyring = Keyring::load_or_create(&store, &sealing).await.unwrap();
        (keyring, store, clock, sealing, database)
    }

    fn claims(clock: &FixedClock, lifetime: time::Duration) -> Claims {
        let now = si_store::Clock::now(clock);
        Claims {
            iss: ISSUER.to_owned(),
            aud: "wise-drenthe".to_owned(),
            sub: "member-1".to_owned(),
            exp: (now + lifetime).unix_timestamp(),
            iat: now.unix_timestamp(),
        }
    }

    fn kid_of(token: &str) -> String {
        jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
    }

    #[test]
    fn base64_round_trips_in_both_alphabets() {
        for length in 0..40 {
            let bytes: Vec<u8> = (0..length).map(|i| (i * 37 + 250) as u8).collect();
            assert_eq!(base64::decode(&base64::encode_url(&bytes)).unwrap(), bytes);
            assert_eq!(base64::decode(&base64::encode_standard(&bytes)).unwrap(), bytes);
        }
        assert_eq!(
            base64::encode_standard(b"any carnal pleas"),
            "YW55IGNhcm5hbCBwbGVhcw=="
        );
        assert_eq!(base64::encode_url(&[0xfb, 0xff]), "-_8");
        assert_eq!(base64::decode("+/8=").unwrap(), [0xfb, 0xff]);
        for bad in ["a", "ab=c", "a$bc", "-_9", "ab==="] {
            assert_eq!(base64::decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn sealing_round_trips_and_detects_tampering_and_wrong_keys() {
        let key = random_sealing_key();
        let sealed = key.seal("kid-1", b"private key").unwrap();
        assert_eq!(key.open("kid-1", &sealed).unwrap(), b"private key");
        assert_ne!(key.seal("kid-1", b"private key").unwrap(), sealed, "fresh nonce");

        let mut tampered = base64::decode(&sealed).unwrap();
        tampered[NONCE_LEN] ^= 1;
        let tampered = base64::encode_url(&tampered);
        for (k, kid, text) in [
            (&key, "kid-1", tampered.as_str()),
            (&key, "kid-2", sealed.as_str()),
            (&random_sealing_key(), "kid-1", sealed.as_str()),
            (&key, "kid-1", "short"),
            (&key, "kid-1", "not base64!"),
        ] {
            let err = k.open(kid, text).unwrap_err();
            assert!(
                matches!(&err, KeyError::Unseal { kid: named } if named == kid),
                "{err}"
            );
            assert!(err.to_string().contains(kid));
        }
    }

    #[test]
    fn a_sealed_mail_opens_only_with_its_key_and_its_context() {
        let key = random_sealing_key();
        let sealed = key
            .seal_mail("forgot_password\nsanne@example.nl", "{\"link\":\"secret\"}")
            .unwrap();
        assert!(!sealed.contains("secret"));
        assert_eq!(
            key.open_mail("forgot_password\nsanne@example.nl", &sealed)
                .as_deref(),
            Some("{\"link\":\"secret\"}")
        );
        assert_eq!(key.open_mail("forgot_password\npieter@example.nl", &sealed), None);
        assert_eq!(
            random_sealing_key().open_mail("forgot_password\nsanne@example.nl", &sealed),
            None
        );
        // The signing keys' sealing is another key: neither opens the other's.
        let as_key = key.seal("forgot_password\nsanne@example.nl", b"{}").unwrap();
        assert_eq!(key.open_mail("forgot_password\nsanne@example.nl", &as_key), None);
        assert!(key.open("forgot_password\nsanne@example.nl", &sealed).is_err());
    }

    #[test]
    fn a_configured_key_must_be_32_bytes_of_base64() {
        for bad in ["", "not base64", &base64::encode_standard(&[7; 16])] {
            let err = SealingKey::from_base64(bad).unwrap_err();
            assert!(err.to_string().contains("exactly 32"), "{err}");
        }
        let key = SealingKey::from_base64(&base64::encode_url(&[7; 32])).unwrap();
        assert_eq!(format!("{key:?}"), "SealingKey([redacted])");
    }

    #[test]
    fn algorithms_parse_from_their_names() {
        for algorithm in SigningAlgorithm::ALL {
            assert_eq!(algorithm.as_str().parse::<SigningAlgorithm>().unwrap(), algorithm);
        }
        assert!("HS256".parse::<SigningAlgorithm>().is_err());
    }

    #[tokio::test]
    async fn every_algorithm_signs_tokens_that_verify_against_the_published_jwk() {
        let (keyring, _store, clock, _sealing, _db) = keyring().await;
        let jwks = keyring.jwks();
        let published: Vec<Jwk> = serde_json::from_value(jwks["keys"].clone()).unwrap();
        assert_eq!(published.len(), 3);
        for algorithm in SigningAlgorithm::ALL {
            let claims = claims(&clock, time::Duration::minutes(10));
            let token = keyring.sign(algorithm, "at+jwt", &claims).unwrap();
            let header = jsonwebtoken::decode_header(&token).unwrap();
            assert_eq!(header.typ.as_deref(), Some("at+jwt"));
            assert_eq!(header.alg, algorithm.jwt());

            let verified: Claims = keyring
                .verify_access_token(&token, Some(&["wise-drenthe"]), ISSUER)
                .await
                .unwrap();
            assert_eq!(verified, claims);

            // As a relying party does it: only the JWKS, and jsonwebtoken.
            let jwk = published
                .iter()
                .find(|j| j.common.key_id == header.kid)
                .expect("the signing key is published");
            let raw = &jwks["keys"]
                .as_array()
                .unwrap()
                .iter()
                .find(|j| j["kid"] == header.kid.as_deref().unwrap())
                .unwrap();
            assert_eq!(raw["use"], "sig");
            assert_eq!(raw["alg"], algorithm.as_str());
            let members: Vec<&str> = match algorithm {
                SigningAlgorithm::Rs256 => vec!["n", "e"],
                SigningAlgorithm::Es256 => vec!["crv", "x", "y"],
                SigningAlgorithm::EdDsa => vec!["crv", "x"],
            };
            for member in members {
                let value = raw[member].as_str().unwrap();
                assert!(!value.contains(['=', '+', '/']), "{member}: {value}");
            }
            assert!(!raw.as_object().unwrap().contains_key("d"), "no private part");
            let mut validation = Validation::new(algorithm.jwt());
            validation.set_audience(&["wise-drenthe"]);
            validation.set_issuer(&[ISSUER]);
            let decoded =
                jsonwebtoken::decode::<Claims>(&token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
                    .unwrap();
            assert_eq!(decoded.claims, claims);
        }
    }

    #[tokio::test]
    async fn verification_checks_issuer_audience_expiry_and_signature() {
        let (keyring, _store, clock, _sealing, _db) = keyring().await;
        let signed = |typ| {
            keyring
                .sign(
                    SigningAlgorithm::Es256,
                    typ,
                    &claims(&clock, time::Duration::minutes(10)),
                )
                .unwrap()
        };
        let (token, id_token) = (signed(ACCESS_TOKEN_TYPE), signed(ID_TOKEN_TYPE));
        // One kind of token does not pass for another, though one key signed both.
        assert!(
            keyring
                .verify_access_token::<Claims>(&id_token, None, ISSUER)
                .await
                .is_err()
        );
        for not_an_id_token in [&token, &signed("logout+jwt")] {
            assert!(
                keyring
                    .verify_id_token_hint::<Claims>(not_an_id_token, ISSUER, HOUR)
                    .await
                    .is_err()
            );
        }
        assert!(
            keyring
                .verify_access_token::<Claims>(&signed("Application/AT+JWT"), None, ISSUER)
                .await
                .is_ok()
        );
        assert!(
            keyring
                .verify_access_token::<Claims>(&token, None, ISSUER)
                .await
                .is_ok()
        );
        assert!(
            keyring
                .verify_access_token::<Claims>(&token, Some(&["other"]), ISSUER)
                .await
                .is_err()
        );
        assert!(
            keyring
                .verify_access_token::<Claims>(&token, None, "https://evil.example")
                .await
                .is_err()
        );

        // A character well inside the signature, so every bit of it counts.
        let forge = |token: &str| {
            let at = token.len() - 10;
            let swapped = if &token[at..=at] == "A" { "B" } else { "A" };
            format!("{}{swapped}{}", &token[..at], &token[at + 1..])
        };
        let (forged, forged_id_token) = (forge(&token), forge(&id_token));
        assert!(
            keyring
                .verify_access_token::<Claims>(&forged, None, ISSUER)
                .await
                .is_err()
        );

        clock.advance(time::Duration::minutes(10) - time::Duration::seconds(1));
        assert!(
            keyring
                .verify_access_token::<Claims>(&token, None, ISSUER)
                .await
                .is_ok()
        );
        clock.advance(time::Duration::seconds(1));
        let err = keyring
            .verify_access_token::<Claims>(&token, None, ISSUER)
            .await
            .unwrap_err();
        assert!(
            matches!(err, KeyError::InvalidToken(ref why) if why == "expired"),
            "at its exp: {err}"
        );
        // A logout hint may be expired, but never forged or from another issuer.
        clock.advance(time::Duration::minutes(2));
        let hint: Claims = keyring
            .verify_id_token_hint(&id_token, ISSUER, HOUR)
            .await
            .unwrap();
        assert_eq!(hint.exp, claims(&clock, time::Duration::minutes(-2)).exp);
        assert!(
            keyring
                .verify_id_token_hint::<Claims>(&forged_id_token, ISSUER, HOUR)
                .await
                .is_err()
        );
        assert!(
            keyring
                .verify_id_token_hint::<Claims>(&id_token, "https://evil.example", HOUR)
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn a_retired_key_verifies_until_it_expires_and_hints_until_sessions_end() {
        let (keyring, store, clock, sealing, _db) = keyring().await;
        let long = time::Duration::hours(2);
        let signed = |typ| {
            keyring
                .sign(SigningAlgorithm::EdDsa, typ, &claims(&clock, long))
                .unwrap()
        };
        let (old, old_id_token) = (signed(ACCESS_TOKEN_TYPE), signed(ID_TOKEN_TYPE));

        let windows = (Duration::from_secs(6 * 60), Duration::from_secs(15 * 60));
        let kept_for_hints = HOUR;
        let rotated = rotate(&store, &sealing, windows, kept_for_hints, "operator")
            .await
            .unwrap();
        assert_eq!(rotated.len(), 3);
        assert!(rotated.iter().all(|r| r.retired.len() == 1));
        let everything = AuditFilter {
            limit: 10,
            ..AuditFilter::default()
        };
        let audit = store.audit().list(everything).await.unwrap();
        assert_eq!((audit.len(), audit[0].action.as_str()), (1, "keys_rotated"));
        let new_keys: Vec<&str> = rotated.iter().map(|r| r.kid.as_str()).collect();
        assert_eq!(audit[0].detail, serde_json::json!({ "new_keys": new_keys }));
        keyring.refresh().await.unwrap();
        assert_eq!(keyring.jwks()["keys"].as_array().unwrap().len(), 6);

        // Published first, everywhere, before it signs anything.
        let meanwhile = signed(ACCESS_TOKEN_TYPE);
        assert_eq!(kid_of(&meanwhile), kid_of(&old));
        clock.advance(time::Duration::minutes(6));
        let new = signed(ACCESS_TOKEN_TYPE);
        assert_ne!(kid_of(&new), kid_of(&old));
        assert!(
            rotated
                .iter()
                .any(|r| r.kid == kid_of(&new) && r.retired == [kid_of(&old)])
        );
        assert!(
            keyring
                .verify_access_token::<Claims>(&old, None, ISSUER)
                .await
                .is_ok()
        );

        clock.advance(time::Duration::minutes(14));
        assert_eq!(keyring.jwks()["keys"].as_array().unwrap().len(), 6);
        clock.advance(time::Duration::minutes(2));
        assert_eq!(keyring.jwks()["keys"].as_array().unwrap().len(), 3);
        let err = keyring
            .verify_access_token::<Claims>(&old, None, ISSUER)
            .await
            .unwrap_err();
        assert!(
            matches!(err, KeyError::UnknownKey { ref kid } if *kid == kid_of(&old)),
            "{err}"
        );
        assert!(
            keyring
                .verify_access_token::<Claims>(&new, None, ISSUER)
                .await
                .is_ok()
        );
        // A website still holds the old ID token as the hint of its session,
        let hinted: Claims = keyring
            .verify_id_token_hint(&old_id_token, ISSUER, HOUR)
            .await
            .unwrap();
        assert_eq!(hinted.sub, "member-1");
        // until every session it may name is over.
        clock.advance(time::Duration::minutes(61));
        let err = keyring
            .verify_id_token_hint::<Claims>(&old_id_token, ISSUER, HOUR)
            .await
            .unwrap_err();
        assert!(matches!(err, KeyError::UnknownKey { .. }), "{err}");
        // Then the next rotation deletes it.
        rotate(&store, &sealing, windows, kept_for_hints, "operator")
            .await
            .unwrap();
        let kept = store.signing_keys().all().await.unwrap();
        assert!(!kept.iter().any(|k| k.kid == kid_of(&old)));
    }

    #[tokio::test]
    async fn a_device_cookie_holds_only_for_its_username_and_as_issued() {
        let (ours, _store, _clock, _sealing, _db) = keyring().await;
        let cookie = ours.tag_device("nonce-1", "sanne");
        assert_eq!(ours.device_nonce(&cookie, "sanne"), Some("nonce-1"));
        assert_eq!(ours.device_nonce(&cookie, "Sanne"), None);
        let other_nonce = cookie.replacen("nonce-1", "nonce-2", 1);
        assert_eq!(ours.device_nonce(&other_nonce, "sanne"), None);
        assert_eq!(ours.device_nonce("nonce-1", "sanne"), None);
        let (other, ..) = keyring().await;
        assert_eq!(
            other.device_nonce(&cookie, "sanne"),
            None,
            "another provider's key"
        );
    }

    #[test]
    fn pkcs8_unwraps_to_the_rsa_key_aws_lc_reads() {
        let pkcs8 = generate_pkcs8(SigningAlgorithm::Rs256).unwrap();
        let pkcs1 = pkcs1_from_pkcs8(&pkcs8).unwrap();
        assert!(RsaKeyPair::from_der(pkcs1).is_ok());
        assert_eq!(pkcs1_from_pkcs8(&pkcs8[..pkcs8.len() - 1]), None);
        assert_eq!(pkcs1_from_pkcs8(b"\x30\x85\x01\x01\x01\x01\x01"), None);
    }
}
