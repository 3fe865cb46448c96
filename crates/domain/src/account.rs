//! Login accounts: their lifecycle status and their stable identifier.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize, Serializer};
use thiserror::Error;

/// Where an account is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountStatus {
    /// Registered at the desk; the member has not yet set a password.
    Pending,
    Active,
    Disabled,
}

/// A status text that is none of `pending`, `active`, `disabled`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown account status {0:?}")]
pub struct UnknownAccountStatus(pub String);

impl AccountStatus {
    pub const ALL: [AccountStatus; 3] = [
        AccountStatus::Pending,
        AccountStatus::Active,
        AccountStatus::Disabled,
    ];

    /// The stable lower-case name, used in storage and APIs.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Pending => "pending",
            AccountStatus::Active => "active",
            AccountStatus::Disabled => "disabled",
        }
    }
}

impl FromStr for AccountStatus {
    type Err = UnknownAccountStatus;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == input)
            .ok_or_else(|| UnknownAccountStatus(input.to_owned()))
    }
}

impl fmt::Display for AccountStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a text is not an account id.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AccountIdError {
    #[error("account id has {len} characters instead of 26")]
    WrongLength { len: usize },
    #[error("account id contains {0:?}, which is not a Crockford base32 digit")]
    InvalidCharacter(char),
    #[error("account id starts with a digit above 7, so it exceeds 128 bits")]
    Overflow,
}

/// An opaque, stable account identifier: 128 bits, chosen at random by the caller.
///
/// Its text is 26 lower-case Crockford base32 digits (`0-9a-z` without `i l o u`), most
/// significant first, as in ULIDs; the first digit is at most `7` because 26 digits hold
/// 130 bits. Parsing also takes upper case, but nothing else (no hyphens, no `o`-for-`0`),
/// so each id has one lower-case spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct AccountId(u128);

const CROCKFORD: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
/// Each ASCII character's place in `CROCKFORD`, in either case, or
/// `NOT_A_DIGIT`: ids are parsed for every row a national import reads back.
const DIGITS: [u8; 128] = {
    let mut digits = [NOT_A_DIGIT; 128];
    let mut place = 0;
    while place < CROCKFORD.len() {
        digits[CROCKFORD[place] as usize] = place as u8;
        digits[CROCKFORD[place].to_ascii_uppercase() as usize] = place as u8;
        place += 1;
    }
    digits
};
const NOT_A_DIGIT: u8 = u8::MAX;

impl AccountId {
    /// Length of the textual form.
    pub const TEXT_LEN: usize = 26;

    pub fn from_bytes(bytes: [u8; 16]) -> AccountId {
        AccountId(u128::from_be_bytes(bytes))
    }

    pub fn to_bytes(self) -> [u8; 16] {
        self.0.to_be_bytes()
    }

    pub fn parse(input: &str) -> Result<AccountId, AccountIdError> {
        let len = input.chars().count();
        if len != Self::TEXT_LEN {
            return Err(AccountIdError::WrongLength { len });
        }
        let mut value: u128 = 0;
        for (position, c) in input.chars().enumerate() {
            let digit = DIGITS
                .get(c as usize)
                .copied()
                .filter(|&digit| digit != NOT_A_DIGIT)
                .ok_or(AccountIdError::InvalidCharacter(c))?;
            if position == 0 && digit > 7 {
                return Err(AccountIdError::Overflow);
            }
            value = (value << 5) | digit as u128;
        }
        Ok(AccountId(value))
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text: String = (0..Self::TEXT_LEN)
            .rev()
            .map(|place| char::from(CROCKFORD[((self.0 >> (5 * place)) & 31) as usize]))
            .collect();
        f.write_str(&text)
    }
}

impl FromStr for AccountId {
    type Err = AccountIdError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        Self::parse(input)
    }
}

impl TryFrom<String> for AccountId {
    type Error = AccountIdError;

    fn try_from(input: String) -> Result<Self, Self::Error> {
        Self::parse(&input)
    }
}

impl Serialize for AccountId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn status_names_round_trip() {
        for status in AccountStatus::ALL {
            assert_eq!(status.as_str().parse::<AccountStatus>(), Ok(status));
            assert_eq!(
                serde_json::to_string(&status).unwrap(),
                format!("\"{}\"", status.as_str())
            );
            assert_eq!(status.to_string(), status.as_str());
        }
        assert_eq!(
            "Active".parse::<AccountStatus>(),
            Err(UnknownAccountStatus("Active".to_owned()))
        );
    }

    #[test]
    fn id_extremes() {
        assert_eq!(
            AccountId::from_bytes([0; 16]).to_string(),
            "00000000000000000000000000"
        );
        assert_eq!(
            AccountId::from_bytes([0xff; 16]).to_string(),
            "7zzzzzzzzzzzzzzzzzzzzzzzzz"
        );
        let mut one = [0; 16];
        one[15] = 1;
        assert_eq!(
            AccountId::from_bytes(one).to_string(),
            "00000000000000000000000001"
        );
    }

    #[test]
    fn id_parse_errors() {
        assert_eq!(
            AccountId::parse("7zzzzzzzzzzzzzzzzzzzzzzzz"),
            Err(AccountIdError::WrongLength { len: 25 })
        );
        assert_eq!(
            AccountId::parse("8zzzzzzzzzzzzzzzzzzzzzzzzz"),
            Err(AccountIdError::Overflow)
        );
        assert_eq!(
            AccountId::parse("0000000000000000000000000u"),
            Err(AccountIdError::InvalidCharacter('u'))
        );
        assert_eq!(
            AccountId::parse("0000000000000000000000000é"),
            Err(AccountIdError::InvalidCharacter('é'))
        );
        assert_eq!(
            AccountId::parse("7ZZZZZZZZZZZZZZZZZZZZZZZZZ"),
            Ok(AccountId::from_bytes([0xff; 16]))
        );
    }

    #[test]
    fn id_serde_is_its_text() {
        let id = AccountId::from_bytes([0xab; 16]);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        assert_eq!(serde_json::from_str::<AccountId>(&json).unwrap(), id);
    }

    proptest! {
        #[test]
        fn id_text_round_trips(bytes in any::<[u8; 16]>()) {
            let id = AccountId::from_bytes(bytes);
            let text = id.to_string();
            prop_assert_eq!(text.len(), 26);
            prop_assert_eq!(&text, &text.to_ascii_lowercase());
            prop_assert_eq!(AccountId::parse(&text), Ok(id));
            prop_assert_eq!(AccountId::parse(&text.to_ascii_uppercase()), Ok(id));
            prop_assert_eq!(id.to_bytes(), bytes);
        }

        #[test]
        fn id_order_follows_bytes(a in any::<[u8; 16]>(), b in any::<[u8; 16]>()) {
            let (x, y) = (AccountId::from_bytes(a), AccountId::from_bytes(b));
            prop_assert_eq!(x.cmp(&y), a.cmp(&b));
            prop_assert_eq!(x.to_string().cmp(&y.to_string()), a.cmp(&b));
        }
    }
}
