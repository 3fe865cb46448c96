//! Verifiers for the pre-argon2id formats found in the migrated library systems.
//! They only ever check passwords: nothing new is hashed in these formats.

pub(crate) mod bcrypt;
pub(crate) mod ldap;
pub(crate) mod md5_crypt;
pub(crate) mod pbkdf2;
pub(crate) mod scrypt;
pub(crate) mod sha_crypt;

use base64::alphabet::Alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// The alphabet of crypt(3) hashes, in the order md5-crypt and sha-crypt index it.
pub(crate) const CRYPT_ALPHABET: &[u8; 64] =
    b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Stored hashes come from many implementations; accepting missing or present
/// padding and non-zero trailing bits loses nothing, since the decoded bytes are
/// then compared in full.
const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(true);

pub(crate) const STANDARD_B64: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, LENIENT);

/// passlib's "adapted base64": standard base64 with `.` for `+`, unpadded. OpenLDAP's
/// pw-pbkdf2 module writes the same.
pub(crate) const ADAPTED_B64: GeneralPurpose = GeneralPurpose::new(&ADAPTED_ALPHABET, LENIENT);

const ADAPTED_ALPHABET: Alphabet =
    match Alphabet::new("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789./") {
        Ok(alphabet) => alphabet,
        Err(_) => panic!("the adapted base64 alphabet is valid"),
    };

pub(crate) const BCRYPT_B64: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::BCRYPT, LENIENT);

pub(crate) fn is_crypt_b64(text: &str) -> bool {
    text.bytes().all(|b| CRYPT_ALPHABET.contains(&b))
}

/// A decimal count as these formats write it: ASCII digits only, no sign, no spaces.
pub(crate) fn parse_decimal(text: &str) -> Option<u64> {
    if text.is_empty() || text.len() > 19 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}
