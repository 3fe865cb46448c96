//! Library card numbers (pasnummers): the barcode printed on a member's card.

use crate::code::{CodeError, code_type};

/// Why a card number was refused; shared with the other code-like strings.
pub type CardNumberError = CodeError;

code_type! {
    /// A library card barcode: 4–32 ASCII letters or digits, letters kept as typed.
    ///
    /// The rule is deliberately a subset of the username rule, so every card number can
    /// serve as a username (see [`crate::Username::from_card_number`]).
    CardNumber {
        min_chars: 4,
        max_chars: 32,
        allowed: |c| c.is_ascii_alphanumeric(),
        normalize: str::to_owned,
        error: CardNumberError,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_typical_barcodes_and_trims() {
        assert_eq!(
            CardNumber::parse(" 20000012345678 ").unwrap().as_str(),
            "20000012345678"
        );
        assert_eq!(CardNumber::parse("AbC1").unwrap().as_str(), "AbC1");
    }

    #[test]
    fn enforces_length_bounds() {
        assert_eq!(CardNumber::parse("   "), Err(CodeError::Empty));
        assert_eq!(CardNumber::parse("123"), Err(CodeError::TooShort { min: 4 }));
        assert!(CardNumber::parse(&"9".repeat(32)).is_ok());
        assert_eq!(
            CardNumber::parse(&"9".repeat(33)),
            Err(CodeError::TooLong { max: 32 })
        );
    }

    #[test]
    fn refuses_separators_and_non_ascii() {
        assert_eq!(
            CardNumber::parse("1234-5678"),
            Err(CodeError::InvalidCharacter('-'))
        );
        assert_eq!(
            CardNumber::parse("1234 5678"),
            Err(CodeError::InvalidCharacter(' '))
        );
        assert_eq!(CardNumber::parse("١٢٣٤"), Err(CodeError::InvalidCharacter('١')));
    }

    #[test]
    fn serializes_as_plain_string_and_deserializes_through_parser() {
        let card = CardNumber::parse("X1234").unwrap();
        assert_eq!(serde_json::to_string(&card).unwrap(), r#""X1234""#);
        let back: CardNumber = serde_json::from_str(r#"" X1234 ""#).unwrap();
        assert_eq!(back, card);
        assert!(serde_json::from_str::<CardNumber>(r#""12""#).is_err());
    }

    proptest! {
        #[test]
        fn valid_barcodes_round_trip(s in "[A-Za-z0-9]{4,32}") {
            let card = CardNumber::parse(&s).unwrap();
            prop_assert_eq!(card.as_str(), s.as_str());
            prop_assert_eq!(CardNumber::parse(card.as_str()).unwrap(), card);
        }

        #[test]
        fn any_disallowed_character_is_refused(
            head in "[A-Za-z0-9]{2,15}",
            bad in any::<char>().prop_filter("disallowed, not trimmable", |c| {
                !c.is_ascii_alphanumeric() && !c.is_whitespace()
            }),
            tail in "[A-Za-z0-9]{2,15}",
        ) {
            let input = format!("{head}{bad}{tail}");
            prop_assert_eq!(CardNumber::parse(&input), Err(CodeError::InvalidCharacter(bad)));
        }
    }
}
