//! Passwords and the desk guide's password policy.

use std::fmt;

use thiserror::Error;

/// One requirement of the password policy, so pages can tick rules off while typing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PasswordRule {
    /// At least [`PasswordPolicy::MIN_CHARS`] characters.
    MinLength,
    /// At least one upper-case letter (any script).
    UpperCase,
    /// At least one lower-case letter (any script).
    LowerCase,
    /// At least one digit (any numeric character).
    Digit,
    /// At least one character that is not a letter, digit or whitespace.
    Special,
}

impl PasswordRule {
    /// Every rule, in the order the desk guide lists them.
    pub const ALL: [PasswordRule; 5] = [
        PasswordRule::MinLength,
        PasswordRule::UpperCase,
        PasswordRule::LowerCase,
        PasswordRule::Digit,
        PasswordRule::Special,
    ];

    pub fn is_met_by(self, candidate: &str) -> bool {
        let mut chars = candidate.chars();
        match self {
            PasswordRule::MinLength => chars.nth(PasswordPolicy::MIN_CHARS - 1).is_some(),
            PasswordRule::UpperCase => chars.any(char::is_uppercase),
            PasswordRule::LowerCase => chars.any(char::is_lowercase),
            PasswordRule::Digit => chars.any(char::is_numeric),
            // Letters without case (e.g. CJK) are still letters, not special characters.
            PasswordRule::Special => {
                chars.any(|c| !(c.is_alphabetic() || c.is_numeric() || c.is_whitespace()))
            }
        }
    }
}

/// The password policy of the desk guide.
#[derive(Debug, Clone, Copy)]
pub struct PasswordPolicy;

impl PasswordPolicy {
    /// Fewest characters (Unicode scalar values, not bytes).
    pub const MIN_CHARS: usize = 8;
    /// Most bytes of UTF-8: generous for passphrases (at least 256 characters of any
    /// script), small enough that hashing cannot be abused to burn CPU.
    pub const MAX_BYTES: usize = 1024;

    /// The rules `candidate` does not meet yet, in [`PasswordRule::ALL`] order.
    pub fn unmet(candidate: &str) -> Vec<PasswordRule> {
        PasswordRule::ALL
            .into_iter()
            .filter(|rule| !rule.is_met_by(candidate))
            .collect()
    }

    /// Whether `candidate` holds a character a keyboard does not type
    /// (see [`PasswordError::UntypableCharacter`]).
    pub fn has_untypable(candidate: &str) -> bool {
        candidate.chars().any(is_untypable)
    }

    /// Whether `password` contains `identifier` (a username or card number), ignoring
    /// case, forwards or backwards. Identifiers shorter than 4 characters after trimming
    /// are ignored: they would refuse too many good passwords.
    pub fn contains_identifier(password: &str, identifier: &str) -> bool {
        const MIN_IDENTIFIER_CHARS: usize = 4;
        let identifier = identifier.trim().to_lowercase();
        let password = password.to_lowercase();
        let backwards: String = identifier.chars().rev().collect();
        identifier.chars().nth(MIN_IDENTIFIER_CHARS - 1).is_some()
            && (password.contains(&identifier) || password.contains(&backwards))
    }
}

/// Why a password was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PasswordError {
    #[error("password is longer than {max_bytes} bytes")]
    TooLong { max_bytes: usize },
    /// A NUL, tab, line break or escape, or an invisible mark such as a
    /// zero-width space or a direction override: a keyboard types none of
    /// them on purpose, so a member could not type the password again at
    /// the next login.
    #[error("password holds a character that cannot be typed")]
    UntypableCharacter,
    #[error("password does not meet the rules {0:?}")]
    Unmet(Vec<PasswordRule>),
}

/// A password that meets [`PasswordPolicy`]; kept exactly as typed (never trimmed or
/// truncated) and never shown: `Debug` prints `Password(***)` and there is no `Display`
/// or `Serialize`.
pub struct Password(String);

impl Password {
    pub fn parse(candidate: String) -> Result<Password, PasswordError> {
        // Before anything else, so that megabyte inputs cost nothing.
        if candidate.len() > PasswordPolicy::MAX_BYTES {
            return Err(PasswordError::TooLong {
                max_bytes: PasswordPolicy::MAX_BYTES,
            });
        }
        if PasswordPolicy::has_untypable(&candidate) {
            return Err(PasswordError::UntypableCharacter);
        }
        let unmet = PasswordPolicy::unmet(&candidate);
        if unmet.is_empty() {
            Ok(Password(candidate))
        } else {
            Err(PasswordError::Unmet(unmet))
        }
    }

    /// The secret itself, for hashing only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Control characters, and the invisible marks that paste or a stray
/// shortcut leave in a password: soft hyphen, combining grapheme joiner,
/// zero-width space, word joiner, direction marks and overrides, line and
/// paragraph separators, Hangul fillers, byte-order mark. The zero-width
/// (non-)joiners, variation selectors and tags stay allowed: some scripts
/// (Persian, the Indic ones) and emoji (flags of regions) need them.
fn is_untypable(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{ad}'
                | '\u{34f}'
                | '\u{61c}'
                | '\u{115f}'..='\u{1160}'
                | '\u{180e}'
                | '\u{3164}'
                | '\u{ffa0}'
                | '\u{200b}'
                | '\u{200e}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206f}'
                | '\u{feff}'
                | '\u{fff9}'..='\u{fffb}'
        )
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PasswordRule::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_a_password_meeting_every_rule() {
        let password = Password::parse("Geheim1!".to_owned()).unwrap();
        assert_eq!(password.expose(), "Geheim1!");
    }

    #[test]
    fn reports_every_unmet_rule_in_order() {
        assert_eq!(PasswordPolicy::unmet(""), PasswordRule::ALL.to_vec());
        assert_eq!(
            PasswordPolicy::unmet("geheim"),
            vec![MinLength, UpperCase, Digit, Special]
        );
        assert_eq!(PasswordPolicy::unmet("GEHEIM12"), vec![LowerCase, Special]);
        assert_eq!(
            Password::parse("Geheim12".to_owned()).unwrap_err(),
            PasswordError::Unmet(vec![Special])
        );
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        // 7 characters but 12 bytes.
        assert_eq!(PasswordPolicy::unmet("Éé1!ßßß"), vec![MinLength]);
        assert!(PasswordPolicy::unmet("Éé1!ßßßß").is_empty());
    }

    #[test]
    fn rules_are_unicode_aware() {
        assert!(UpperCase.is_met_by("Ł"));
        assert!(LowerCase.is_met_by("ж"));
        assert!(Digit.is_met_by("٣"));
        assert!(Special.is_met_by("€"));
        assert!(!Special.is_met_by("a 1中"));
        assert!(!Special.is_met_by("\u{3000}"));
    }

    #[test]
    fn whitespace_is_kept_and_counts_for_length() {
        let password = Password::parse(" Aa1!   ".to_owned()).unwrap();
        assert_eq!(password.expose(), " Aa1!   ");
    }

    #[test]
    fn control_characters_are_refused() {
        for typed in [
            "Abcdef1!\0zz",
            "Abcdef1!\tzz",
            "Abcdef1!\r\nzz",
            "Abcdef1!\u{1b}[2J",
            "Abcdefgh1\u{200b}qwz",
            "Abcdef1!\u{2028}zz",
            "Abcdef1!\u{202e}zz",
            "\u{feff}Abcdef1!zz",
            "Abcdef1!\u{3164}zz",
            "Abcdef1!\u{61c}zz",
        ] {
            assert_eq!(
                Password::parse(typed.to_owned()).err(),
                Some(PasswordError::UntypableCharacter),
                "{typed:?}"
            );
        }
    }

    #[test]
    fn joiners_that_scripts_and_emoji_need_are_kept() {
        for typed in [
            "Famil1e!\u{1f468}\u{200d}\u{1f467}",
            "Ketab1!\u{6a9}\u{200c}\u{647}A",
        ] {
            assert_eq!(Password::parse(typed.to_owned()).unwrap().expose(), typed);
        }
    }

    #[test]
    fn byte_limit() {
        let at_limit = format!("Aa1!{}", "x".repeat(1020));
        assert!(Password::parse(at_limit).is_ok());
        let over = format!("Aa1!{}", "x".repeat(1021));
        assert_eq!(
            Password::parse(over).unwrap_err(),
            PasswordError::TooLong { max_bytes: 1024 }
        );
        // Checked before the rules: a long password missing everything is still TooLong.
        assert_eq!(
            Password::parse("a".repeat(2_000_000)).unwrap_err(),
            PasswordError::TooLong { max_bytes: 1024 }
        );
    }

    #[test]
    fn accepts_128_four_byte_characters() {
        let long = format!("Aa1!{}", "𝄞".repeat(124));
        assert_eq!(long.chars().count(), 128);
        assert_eq!(Password::parse(long.clone()).unwrap().expose(), long);
    }

    #[test]
    fn debug_hides_the_secret() {
        let password = Password::parse("Geheim1!".to_owned()).unwrap();
        assert_eq!(format!("{password:?}"), "Password(***)");
        assert_eq!(format!("{:?}", Some(&password)), "Some(Password(***))");
    }

    #[test]
    fn identifier_check() {
        let contains = PasswordPolicy::contains_identifier;
        assert!(contains("xxJANSEN99!", "jansen"));
        assert!(contains("xxJANSEN99!", " Jansen "));
        assert!(contains("xxJANSEN99!", "n99!"));
        assert!(!contains("xxJANSEN99!", "jansen1"));
        assert!(!contains("xxJANSEN99!", "jan"));
        assert!(!contains("xxJANSEN99!", ""));
        assert!(contains("Pas2000001234!", "2000001234"));
        // A card number typed backwards is as easy to find.
        assert!(contains("Ab!30001111000002", "20000011110003"));
        assert!(contains("xxNESNAJ99!", "jansen"));
    }

    proptest! {
        #[test]
        fn unmet_is_empty_iff_parse_succeeds(s in "\\PC{0,40}") {
            // A line separator is no control character but is refused too.
            prop_assume!(!s.chars().any(is_untypable));
            let unmet = PasswordPolicy::unmet(&s);
            match Password::parse(s.clone()) {
                Ok(password) => {
                    prop_assert!(unmet.is_empty());
                    prop_assert_eq!(password.expose(), s.as_str());
                }
                Err(error) => prop_assert_eq!(error, PasswordError::Unmet(unmet)),
            }
        }

        #[test]
        fn unmet_follows_all_order(s in "\\PC{0,20}") {
            let unmet = PasswordPolicy::unmet(&s);
            let expected: Vec<_> =
                PasswordRule::ALL.into_iter().filter(|rule| unmet.contains(rule)).collect();
            prop_assert_eq!(unmet, expected);
        }

        #[test]
        fn over_1024_bytes_is_always_too_long(s in "\\PC{1,600}", pad in 0usize..2000) {
            let long = format!("{s}{}", "A".repeat(1025 + pad));
            prop_assert_eq!(
                Password::parse(long).unwrap_err(),
                PasswordError::TooLong { max_bytes: 1024 }
            );
        }

        #[test]
        fn any_unicode_up_to_128_chars_is_judged_by_the_rules_alone(
            s in prop::collection::vec(any::<char>(), 0..=128).prop_map(String::from_iter)
        ) {
            // 128 characters are at most 512 bytes, so only an untypable
            // character or the rules can refuse them.
            let unmet = PasswordPolicy::unmet(&s);
            let expected = if s.chars().any(is_untypable) {
                Some(PasswordError::UntypableCharacter)
            } else {
                (!unmet.is_empty()).then_some(PasswordError::Unmet(unmet))
            };
            prop_assert_eq!(Password::parse(s).err(), expected);
        }

        #[test]
        fn adding_characters_never_unmeets_a_rule(s in "\\PC{0,20}", extra in "\\PC{0,5}") {
            let before = PasswordPolicy::unmet(&s);
            let after = PasswordPolicy::unmet(&format!("{s}{extra}"));
            prop_assert!(after.iter().all(|rule| before.contains(rule)));
        }
    }
}
