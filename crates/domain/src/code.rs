//! The shared rule behind short typed strings: trim, allowed characters, length bounds.

use thiserror::Error;

/// Why a code-like string (card number, library code, display name, …) was refused.
///
/// Lengths count characters (Unicode scalar values), which for the ASCII-only codes is the
/// same as bytes.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CodeError {
    #[error("is empty")]
    Empty,
    #[error("is shorter than {min} characters")]
    TooShort { min: usize },
    #[error("is longer than {max} characters")]
    TooLong { max: usize },
    #[error("contains the character {0:?}, which is not allowed")]
    InvalidCharacter(char),
}

/// What a code-like string must look like once surrounding whitespace is trimmed.
pub(crate) struct CodeRule {
    pub(crate) min_chars: usize,
    pub(crate) max_chars: usize,
    pub(crate) allowed: fn(char) -> bool,
}

impl CodeRule {
    /// Returns the trimmed input if it obeys the rule.
    ///
    /// Characters are checked before length so that "jé" is reported as the character
    /// the member has to change rather than as too short.
    pub(crate) fn check<'a>(&self, input: &'a str) -> Result<&'a str, CodeError> {
        let trimmed = input.trim();
        if trimmed.chars().all(shows_nothing) {
            return Err(CodeError::Empty);
        }
        if let Some(bad) = trimmed.chars().find(|&c| !(self.allowed)(c)) {
            return Err(CodeError::InvalidCharacter(bad));
        }
        let chars = trimmed.chars().count();
        if chars < self.min_chars {
            return Err(CodeError::TooShort { min: self.min_chars });
        }
        if chars > self.max_chars {
            return Err(CodeError::TooLong { max: self.max_chars });
        }
        Ok(trimmed)
    }
}

/// Whether `c` shows nothing on its own: white space, and the invisible
/// characters text can carry (zero-width spaces and joiners, format and
/// direction marks, the byte-order mark, variation selectors, tags, and the
/// Hangul and Braille fillers, which render as blank). A string made of
/// these alone is empty to a reader; within a name, some are needed
/// (U+200C in Persian names).
fn shows_nothing(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{061C}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{17B4}'
                | '\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{2800}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{E0000}'..='\u{E007F}'
                | '\u{E0100}'..='\u{E01EF}'
        )
}

/// Defines a string newtype that exists only after passing a [`CodeRule`].
///
/// `normalize` turns the trimmed, valid input into the stored form; `error` is the type
/// `parse` returns, which must implement `From<CodeError>`.
macro_rules! code_type {
    (
        $(#[$meta:meta])*
        $name:ident {
            min_chars: $min:expr,
            max_chars: $max:expr,
            allowed: $allowed:expr,
            normalize: $normalize:expr,
            error: $error:ty $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Deserialize)]
        #[serde(try_from = "String")]
        pub struct $name(String);

        impl $name {
            /// Fewest characters accepted after trimming.
            pub const MIN_CHARS: usize = $min;
            /// Most characters accepted after trimming.
            pub const MAX_CHARS: usize = $max;

            const RULE: $crate::code::CodeRule = $crate::code::CodeRule {
                min_chars: $min,
                max_chars: $max,
                allowed: $allowed,
            };

            /// Trims surrounding whitespace and accepts the rest only if it obeys the rule.
            pub fn parse(input: &str) -> Result<Self, $error> {
                let valid = Self::RULE.check(input)?;
                let normalize: fn(&str) -> String = $normalize;
                Ok(Self(normalize(valid)))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_inner(self) -> String {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = $error;

            fn from_str(input: &str) -> Result<Self, Self::Err> {
                Self::parse(input)
            }
        }

        impl TryFrom<String> for $name {
            type Error = $error;

            fn try_from(input: String) -> Result<Self, Self::Error> {
                Self::parse(&input)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }
    };
}

pub(crate) use code_type;

#[cfg(test)]
mod tests {
    use super::*;

    const DIGITS: CodeRule = CodeRule {
        min_chars: 2,
        max_chars: 3,
        allowed: |c| c.is_ascii_digit(),
    };

    #[test]
    fn trims_then_checks() {
        assert_eq!(DIGITS.check("  12\t"), Ok("12"));
        assert_eq!(DIGITS.check(" \n "), Err(CodeError::Empty));
        assert_eq!(DIGITS.check("1"), Err(CodeError::TooShort { min: 2 }));
        assert_eq!(DIGITS.check("1234"), Err(CodeError::TooLong { max: 3 }));
        assert_eq!(DIGITS.check("1 2"), Err(CodeError::InvalidCharacter(' ')));
    }

    #[test]
    fn reports_character_before_length() {
        assert_eq!(DIGITS.check("x"), Err(CodeError::InvalidCharacter('x')));
        assert_eq!(DIGITS.check("12345x"), Err(CodeError::InvalidCharacter('x')));
    }

    #[test]
    fn counts_characters_not_bytes() {
        let any = CodeRule {
            min_chars: 2,
            max_chars: 3,
            allowed: |_| true,
        };
        assert_eq!(any.check("éé"), Ok("éé"));
        assert_eq!(any.check("ééé"), Ok("ééé"));
        assert_eq!(any.check("éééé"), Err(CodeError::TooLong { max: 3 }));
    }
}
