//! Passwords in one Unicode form (NFKC), as NIST SP 800-63B §5.1.1.2 asks:
//! "é" typed as one character or as "e" and a combining accent, which
//! keyboards, phones and paste give alike, is one password.

use std::borrow::Cow;

use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};

use crate::MAX_PASSWORD_BYTES;

/// `password` in NFKC; borrowed when it is so already (every ASCII
/// password). A password whose NFKC form outgrows [`MAX_PASSWORD_BYTES`]
/// (a few characters spell out to dozens) stays as typed: the limit keeps
/// the legacy hashes' work bounded, and the password typed must still
/// count as the same one at every login.
pub fn normalized_password(password: &str) -> Cow<'_, str> {
    if is_nfkc_quick(password.chars()) == IsNormalized::Yes {
        return Cow::Borrowed(password);
    }
    let nfkc: String = password.nfkc().collect();
    if nfkc == password || nfkc.len() > MAX_PASSWORD_BYTES {
        Cow::Borrowed(password)
    } else {
        Cow::Owned(nfkc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composed_and_decomposed_accents_become_one_form_and_ascii_stays_as_it_is() {
        assert_eq!(normalized_password("Cafe\u{301}-Pw1!"), "Caf\u{e9}-Pw1!");
        assert_eq!(normalized_password("Caf\u{e9}-Pw1!"), "Caf\u{e9}-Pw1!");
        assert!(matches!(normalized_password("Bench!Passw0rd"), Cow::Borrowed(_)));
        // Compatibility forms too: a full-width letter, a ligature.
        assert_eq!(normalized_password("\u{ff21}\u{fb01}"), "Afi");
        // One character that spells out to 18 words' worth: past the limit
        // in NFKC, so kept as typed.
        let grows = format!("Aa1!{}", "\u{fdfa}".repeat(60));
        assert!(grows.len() <= MAX_PASSWORD_BYTES);
        assert!(matches!(normalized_password(&grows), Cow::Borrowed(_)));
    }
}
