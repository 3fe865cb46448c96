//! Login names: the rule inherited from the old library system.

use thiserror::Error;

use crate::CardNumber;
use crate::code::{CodeError, code_type};

/// Why a username was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UsernameError {
    #[error("username is shorter than {min} characters")]
    TooShort { min: usize },
    #[error("username is longer than {max} characters")]
    TooLong { max: usize },
    #[error("username contains the character {0:?}; only letters, digits and _ - @ . are allowed")]
    InvalidCharacter(char),
}

impl From<CodeError> for UsernameError {
    fn from(error: CodeError) -> Self {
        match error {
            // A blank username is, for the member, simply too short.
            CodeError::Empty => Self::TooShort {
                min: Username::MIN_CHARS,
            },
            CodeError::TooShort { min } => Self::TooShort { min },
            CodeError::TooLong { max } => Self::TooLong { max },
            CodeError::InvalidCharacter(c) => Self::InvalidCharacter(c),
        }
    }
}

fn is_username_char(c: char) -> bool {
    // ASCII only, so that look-alike letters from other scripts cannot impersonate a name.
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '@' | '.')
}

code_type! {
    /// A login name: 4–80 ASCII letters, digits or `_ - @ .`, surrounding whitespace
    /// trimmed. Case-sensitive and unique exactly as typed: `jan` and `Jan` are two names.
    Username {
        min_chars: 4,
        max_chars: 80,
        allowed: is_username_char,
        normalize: str::to_owned,
        error: UsernameError,
    }
}

impl Username {
    /// The card number used as login name, for members who never chose one.
    pub fn from_card_number(card: &CardNumber) -> Username {
        // CardNumber's rule (4–32 ASCII alphanumerics) is a subset of the username rule.
        Username(card.as_str().to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn length_boundaries() {
        assert_eq!(Username::parse("abc"), Err(UsernameError::TooShort { min: 4 }));
        assert!(Username::parse("abcd").is_ok());
        assert!(Username::parse(&"a".repeat(80)).is_ok());
        assert_eq!(
            Username::parse(&"a".repeat(81)),
            Err(UsernameError::TooLong { max: 80 })
        );
    }

    #[test]
    fn blank_is_too_short() {
        assert_eq!(Username::parse(""), Err(UsernameError::TooShort { min: 4 }));
        assert_eq!(Username::parse(" \t "), Err(UsernameError::TooShort { min: 4 }));
    }

    #[test]
    fn trims_surrounding_whitespace_only() {
        assert_eq!(
            Username::parse("  jan.de.vries \n").unwrap().as_str(),
            "jan.de.vries"
        );
        assert_eq!(
            Username::parse("jan de vries"),
            Err(UsernameError::InvalidCharacter(' '))
        );
        // Trimming happens before counting: three characters plus spaces is still too short.
        assert_eq!(
            Username::parse("  abc  "),
            Err(UsernameError::TooShort { min: 4 })
        );
    }

    #[test]
    fn case_sensitive() {
        let lower = Username::parse("jansen").unwrap();
        let upper = Username::parse("Jansen").unwrap();
        assert_ne!(lower, upper);
        assert_eq!(upper.as_str(), "Jansen");
    }

    #[test]
    fn allowed_punctuation_and_first_offending_char() {
        assert!(Username::parse("a_b-c@d.e").is_ok());
        assert_eq!(
            Username::parse("jan+x!"),
            Err(UsernameError::InvalidCharacter('+'))
        );
        // Cyrillic 'а' looks like Latin 'a'.
        assert_eq!(
            Username::parse("jаnsen"),
            Err(UsernameError::InvalidCharacter('а'))
        );
    }

    #[test]
    fn accessors_agree() {
        let name = Username::parse("piet_2").unwrap();
        assert_eq!(name.to_string(), "piet_2");
        assert_eq!(name.as_ref(), "piet_2");
        assert_eq!(name.clone().into_inner(), "piet_2");
        assert_eq!("piet_2".parse::<Username>().unwrap(), name);
    }

    #[test]
    fn serde_uses_the_parser() {
        let name = Username::parse("Jan.01").unwrap();
        assert_eq!(serde_json::to_string(&name).unwrap(), r#""Jan.01""#);
        assert_eq!(serde_json::from_str::<Username>(r#""Jan.01""#).unwrap(), name);
        assert!(serde_json::from_str::<Username>(r#""jan""#).is_err());
    }

    proptest! {
        #[test]
        fn valid_names_parse_and_round_trip(s in "[A-Za-z0-9_@.-]{4,80}") {
            let name = Username::parse(&s).unwrap();
            prop_assert_eq!(name.as_str(), s.as_str());
            prop_assert_eq!(Username::parse(name.as_str()).unwrap(), name);
        }

        #[test]
        fn any_disallowed_character_is_refused(
            head in "[A-Za-z0-9_@.-]{1,40}",
            bad in any::<char>().prop_filter("disallowed", |&c| !is_username_char(c)),
            tail in "[A-Za-z0-9_@.-]{1,39}",
        ) {
            // Non-empty `head` and `tail` keep a whitespace `bad` inside, out of trim's reach.
            let input = format!("{head}{bad}{tail}");
            prop_assert_eq!(Username::parse(&input), Err(UsernameError::InvalidCharacter(bad)));
        }

        #[test]
        fn every_card_number_is_a_valid_username(s in "[A-Za-z0-9]{4,32}") {
            let card = CardNumber::parse(&s).unwrap();
            let name = Username::from_card_number(&card);
            prop_assert_eq!(Username::parse(card.as_str()), Ok(name));
        }
    }
}
