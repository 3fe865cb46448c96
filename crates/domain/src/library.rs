//! Codes and names that identify libraries, their branches and their subscriptions.

use crate::code::{CodeError, code_type};

code_type! {
    /// A library organisation, e.g. `DRE01`: 2–16 ASCII letters, digits or `-`, stored
    /// upper-case because the national registry spells them so and staff type them anyhow.
    LibraryCode {
        min_chars: 2,
        max_chars: 16,
        allowed: |c| c.is_ascii_alphanumeric() || c == '-',
        normalize: str::to_ascii_uppercase,
        error: CodeError,
    }
}

code_type! {
    /// A branch (vestiging) of a library, e.g. `5280`: 1–16 ASCII letters or digits.
    BranchCode {
        min_chars: 1,
        max_chars: 16,
        allowed: |c| c.is_ascii_alphanumeric(),
        normalize: str::to_owned,
        error: CodeError,
    }
}

code_type! {
    /// A subscription type (abonnementsvorm) of a library: 1–32 ASCII letters, digits,
    /// `_` or `-`.
    SubscriptionCode {
        min_chars: 1,
        max_chars: 32,
        allowed: |c| c.is_ascii_alphanumeric() || c == '_' || c == '-',
        normalize: str::to_owned,
        error: CodeError,
    }
}

code_type! {
    /// A tariff of a library: 1–16 ASCII letters or digits.
    TariffCode {
        min_chars: 1,
        max_chars: 16,
        allowed: |c| c.is_ascii_alphanumeric(),
        normalize: str::to_owned,
        error: CodeError,
    }
}

code_type! {
    /// A person's or library's name as shown on screens: 1–200 characters of any script,
    /// but no control characters or line and paragraph separators (they would
    /// break layouts, mails and logs) and no
    /// bidirectional overrides, embeddings or isolates (`\u{202E}Jan` would show
    /// as another name at the desk and in mails). Arabic and Hebrew names need none:
    /// their letters carry their direction. The direction marks (U+200E, U+200F,
    /// U+061C), which pasted text often carries, move no letter and stay.
    DisplayName {
        min_chars: 1,
        max_chars: 200,
        allowed: |c| !c.is_control() && !matches!(c, '\u{2028}' | '\u{2029}') && !is_bidi_control(c),
        normalize: str::to_owned,
        error: CodeError,
    }
}

/// The explicit embeddings, overrides and isolates of Unicode's
/// bidirectional algorithm (UAX #9).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn library_code_is_upper_cased_and_bounded() {
        assert_eq!(LibraryCode::parse(" dre01 ").unwrap().as_str(), "DRE01");
        assert_eq!(LibraryCode::parse("a-b").unwrap().as_str(), "A-B");
        assert_eq!(LibraryCode::parse("D"), Err(CodeError::TooShort { min: 2 }));
        assert!(LibraryCode::parse(&"D".repeat(16)).is_ok());
        assert_eq!(
            LibraryCode::parse(&"D".repeat(17)),
            Err(CodeError::TooLong { max: 16 })
        );
        assert_eq!(
            LibraryCode::parse("DRE_01"),
            Err(CodeError::InvalidCharacter('_'))
        );
        assert_eq!(LibraryCode::parse(""), Err(CodeError::Empty));
    }

    #[test]
    fn branch_and_tariff_codes() {
        assert_eq!(BranchCode::parse("5280").unwrap().as_str(), "5280");
        assert_eq!(BranchCode::parse("a").unwrap().as_str(), "a");
        assert_eq!(BranchCode::parse("52-80"), Err(CodeError::InvalidCharacter('-')));
        assert_eq!(
            BranchCode::parse(&"1".repeat(17)),
            Err(CodeError::TooLong { max: 16 })
        );
        assert_eq!(TariffCode::parse("T18").unwrap().as_str(), "T18");
        assert_eq!(TariffCode::parse(" "), Err(CodeError::Empty));
        assert_eq!(TariffCode::parse("T 18"), Err(CodeError::InvalidCharacter(' ')));
    }

    #[test]
    fn subscription_code() {
        assert_eq!(
            SubscriptionCode::parse("JEUGD_0-17").unwrap().as_str(),
            "JEUGD_0-17"
        );
        assert!(SubscriptionCode::parse(&"x".repeat(32)).is_ok());
        assert_eq!(
            SubscriptionCode::parse(&"x".repeat(33)),
            Err(CodeError::TooLong { max: 32 })
        );
        assert_eq!(
            SubscriptionCode::parse("jeugd.0"),
            Err(CodeError::InvalidCharacter('.'))
        );
    }

    #[test]
    fn display_name() {
        assert_eq!(
            DisplayName::parse("\u{202E}naJ"),
            Err(CodeError::InvalidCharacter('\u{202E}'))
        );
        assert_eq!(
            DisplayName::parse("Jan\u{2067}x"),
            Err(CodeError::InvalidCharacter('\u{2067}'))
        );
        for separator in ['\u{2028}', '\u{2029}'] {
            assert_eq!(
                DisplayName::parse(&format!("Jan{separator}Jansen")),
                Err(CodeError::InvalidCharacter(separator))
            );
        }
        assert!(DisplayName::parse("محمد العلي").is_ok());
        for blank in [
            "\u{200B}",
            "\u{FEFF}",
            "\u{115F}",
            "\u{3164} \u{200D}",
            "\u{2800}",
        ] {
            assert_eq!(DisplayName::parse(blank), Err(CodeError::Empty), "{blank:?}");
        }
        assert!(
            DisplayName::parse("Mohammad\u{200C}Reza").is_ok(),
            "a joiner within a name"
        );
        assert!(DisplayName::parse("Jan\u{200E} Jansen").is_ok(), "a pasted mark");
        assert_eq!(
            DisplayName::parse("  Zoë van 't Hof-Đurić ").unwrap().as_str(),
            "Zoë van 't Hof-Đurić"
        );
        assert_eq!(DisplayName::parse(" \t"), Err(CodeError::Empty));
        assert_eq!(
            DisplayName::parse("Jan\nJansen"),
            Err(CodeError::InvalidCharacter('\n'))
        );
        assert_eq!(
            DisplayName::parse("Jan\u{7}"),
            Err(CodeError::InvalidCharacter('\u{7}'))
        );
        assert!(DisplayName::parse(&"é".repeat(200)).is_ok());
        assert_eq!(
            DisplayName::parse(&"é".repeat(201)),
            Err(CodeError::TooLong { max: 200 })
        );
    }

    #[test]
    fn serde_uses_the_parser() {
        let code: LibraryCode = serde_json::from_str(r#""dre01""#).unwrap();
        assert_eq!(serde_json::to_string(&code).unwrap(), r#""DRE01""#);
        assert!(serde_json::from_str::<BranchCode>(r#""""#).is_err());
    }

    proptest! {
        #[test]
        fn library_codes_round_trip_upper_cased(s in "[A-Za-z0-9-]{2,16}") {
            let code = LibraryCode::parse(&s).unwrap();
            prop_assert_eq!(code.as_str(), s.to_ascii_uppercase());
            prop_assert_eq!(LibraryCode::parse(code.as_str()).unwrap(), code);
        }

        #[test]
        fn subscription_codes_round_trip(s in "[A-Za-z0-9_-]{1,32}") {
            let code = SubscriptionCode::parse(&s).unwrap();
            prop_assert_eq!(code.as_str(), s.as_str());
        }

        #[test]
        fn branch_and_tariff_codes_refuse_other_characters(
            s in "[A-Za-z0-9]{1,7}",
            bad in any::<char>().prop_filter("disallowed", |c| !c.is_ascii_alphanumeric()),
        ) {
            let input = format!("{s}{bad}{s}");
            prop_assert_eq!(BranchCode::parse(&input), Err(CodeError::InvalidCharacter(bad)));
            prop_assert_eq!(TariffCode::parse(&input), Err(CodeError::InvalidCharacter(bad)));
        }

        #[test]
        fn display_names_are_trimmed_and_kept(s in "[^\\p{C}\\p{Zl}\\p{Zp}]{1,200}") {
            match DisplayName::parse(&s) {
                Ok(name) => prop_assert_eq!(name.as_str(), s.trim()),
                Err(error) => prop_assert_eq!(error, CodeError::Empty, "{:?}", s),
            }
        }
    }
}
