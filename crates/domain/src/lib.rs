//! The vocabulary of Single Identity and its rules.
//!
//! Every type here exists only after passing its rules ("parse, don't validate"); errors
//! are enums with data so callers can word them in the member's language. No I/O.

mod code;

pub mod account;
pub mod calendar;
pub mod card_number;
pub mod email;
pub mod library;
pub mod password;
pub mod subscription;
pub mod username;

pub use account::{AccountId, AccountIdError, AccountStatus, UnknownAccountStatus};
pub use calendar::{EARLIEST_BIRTH_DATE, parse_date, parse_typed_date};
pub use card_number::{CardNumber, CardNumberError};
pub use code::CodeError;
pub use email::{DomainError, Email, EmailError, LocalPartError};
pub use library::{BranchCode, DisplayName, LibraryCode, SubscriptionCode, TariffCode};
pub use password::{Password, PasswordError, PasswordPolicy, PasswordRule};
pub use subscription::{
    AgeRange, AgeRangeError, CostError, CostOverview, Money, MoneyError, SubscriptionTerms,
    SubscriptionTermsError, age_on, format_month_en, format_month_nl,
};
pub use username::{Username, UsernameError};
