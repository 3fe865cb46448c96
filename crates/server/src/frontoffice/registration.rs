//! A registration as the desk sends it, and its parsing into domain types:
//! every field is checked and every refusal is named, so a form can show
//! them all at once.

use serde::{Deserialize, Deserializer, Serialize, de::Error as _};
use si_domain::{
    BranchCode, CardNumber, CodeError, DisplayName, EARLIEST_BIRTH_DATE, Email, Money, SubscriptionCode,
    Username, parse_date,
};
use time::Date;
use utoipa::ToSchema;

use crate::http::i18n::Language;

/// "Gebruik inlogaccount": a new account, an existing one, or none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LoginAccountMode {
    /// "Nieuw inlogaccount genereren" (the default).
    #[default]
    New,
    /// "Bestaand inlogaccount gebruiken": give `username`.
    Existing,
    /// "Nee": no login account; the member cannot log in online.
    None,
}

/// Registering a member at this library. A field it does not know is
/// refused: a misspelled `discount_cents` must not charge the full fee.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistrationRequest {
    /// Branch code (vestiging), e.g. `5280`.
    #[schema(pattern = "^[A-Za-z0-9]{1,16}$", example = "5280")]
    pub branch: String,
    /// The barcode on the library card (4–32 letters or digits).
    #[schema(pattern = "^[A-Za-z0-9]{4,32}$", example = "20000012345678")]
    pub card_number: String,
    #[schema(min_length = 1, max_length = 200, example = "Anna de Boer")]
    pub name: String,
    /// `YYYY-MM-DD`.
    #[schema(format = Date, example = "2015-03-03")]
    pub birth_date: String,
    /// Required for a new login account; may be left out without one.
    #[serde(default)]
    #[schema(format = Email, max_length = 254, example = "ouders@example.nl")]
    pub email: Option<String>,
    /// Code of one of this library's subscription types.
    #[schema(pattern = "^[A-Za-z0-9_-]{1,32}$", example = "JEUGD")]
    pub subscription_type: String,
    /// Discount (korting) on the subscription fee, in euro cents, at most a
    /// million euros (and never more than the fee).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 100000000, example = 0)]
    pub discount_cents: Option<i64>,
    #[serde(default, deserialize_with = "not_null")]
    pub login_account: LoginAccountMode,
    /// The existing account's username, exactly as the member spells it
    /// (case-sensitive); only with `login_account: existing`, refused with
    /// the others.
    #[serde(default)]
    #[schema(pattern = "^[A-Za-z0-9_.@-]{4,80}$")]
    pub username: Option<String>,
    /// The member's language for mails: `nl` (default) or `en`.
    #[serde(default)]
    #[schema(pattern = "^(nl|en)$", example = "nl")]
    pub language: Option<String>,
}

/// Left out is the default; `null` is refused as a value of the wrong type
/// (422), not read as "new" or "none", which the sender may not have meant.
fn not_null<'de, D: Deserializer<'de>>(deserializer: D) -> Result<LoginAccountMode, D::Error> {
    Option::<LoginAccountMode>::deserialize(deserializer)?
        .ok_or_else(|| D::Error::invalid_type(serde::de::Unexpected::Unit, &"new, existing or none"))
}

/// One refused field: which, and a stable code naming why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub code: &'static str,
}

impl FieldError {
    pub fn new(field: &'static str, code: &'static str) -> Self {
        Self { field, code }
    }

    /// The message for people, in `language`.
    pub fn message(&self, language: Language) -> String {
        language.text(&format!("desk-field-{}", self.code.replace('_', "-")))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginAccountChoice {
    None,
    New,
    Existing(Username),
}

/// A registration whose every field passed its rules.
#[derive(Debug, Clone)]
pub struct Registration {
    pub branch: BranchCode,
    pub card_number: CardNumber,
    pub name: DisplayName,
    pub birth_date: Date,
    pub email: Option<Email>,
    pub subscription_type: SubscriptionCode,
    pub discount: Money,
    pub login_account: LoginAccountChoice,
    pub language: Language,
}

impl RegistrationRequest {
    /// The registration, or every field that is wrong.
    pub fn parse(&self) -> Result<Registration, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut check = |ok: bool, field, code| {
            if !ok {
                errors.push(FieldError::new(field, code));
            }
        };
        let branch = BranchCode::parse(&self.branch);
        check(branch.is_ok(), "branch", "invalid_branch");
        let card_number = CardNumber::parse(&self.card_number);
        check(card_number.is_ok(), "card_number", card_refusal(&card_number));
        let name = DisplayName::parse(&self.name);
        let name_refusal = refusal_code(&name, "name_required", "invalid_name");
        check(name.is_ok(), "name", name_refusal);
        let birth_date = parse_date(&self.birth_date).ok_or(());
        check(birth_date.is_ok(), "birth_date", "invalid_birth_date");
        check(
            birth_date.is_err() || birth_date >= Ok(EARLIEST_BIRTH_DATE),
            "birth_date",
            "birth_date_too_early",
        );
        let email = match self.email.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(typed) => Email::parse(typed).map(Some),
        };
        check(email.is_ok(), "email", "invalid_email");
        let subscription_type = SubscriptionCode::parse(&self.subscription_type);
        check(
            subscription_type.is_ok(),
            "subscription_type",
            "invalid_subscription_type",
        );
        let discount = Money::from_cents(self.discount_cents.unwrap_or(0));
        check(discount.is_ok(), "discount_cents", "invalid_discount");
        let language = mail_language(self.language.as_deref());
        check(language.is_some(), "language", "invalid_language");
        let username_given = self
            .username
            .as_deref()
            .is_some_and(|typed| !typed.trim().is_empty());
        let login_account = match self.login_account {
            LoginAccountMode::None | LoginAccountMode::New if username_given => {
                // A library system that meant to link an existing account
                // must not get a new one (or none) without hearing of it.
                check(false, "username", "username_without_existing_account");
                None
            }
            LoginAccountMode::None => Some(LoginAccountChoice::None),
            LoginAccountMode::New => {
                let has_email = matches!(email, Ok(Some(_)));
                check(has_email || email.is_err(), "email", "email_required_for_account");
                Some(LoginAccountChoice::New)
            }
            LoginAccountMode::Existing => match self.username.as_deref().map(str::trim) {
                None | Some("") => {
                    check(false, "username", "username_required");
                    None
                }
                Some(typed) => {
                    let username = Username::parse(typed);
                    check(username.is_ok(), "username", "invalid_username");
                    username.ok().map(LoginAccountChoice::Existing)
                }
            },
        };
        match (
            branch,
            card_number,
            name,
            birth_date,
            email,
            subscription_type,
            discount,
            login_account,
            language,
        ) {
            (
                Ok(branch),
                Ok(card_number),
                Ok(name),
                Ok(birth_date),
                Ok(email),
                Ok(subscription_type),
                Ok(discount),
                Some(login_account),
                Some(language),
            ) if errors.is_empty() => Ok(Registration {
                branch,
                card_number,
                name,
                birth_date,
                email,
                subscription_type,
                discount,
                login_account,
                language,
            }),
            _ => Err(errors),
        }
    }
}

/// The member's language for mails as a desk gives it: exactly `nl` or
/// `en`, as the API document says, or none for Dutch. None when it is
/// anything else.
pub fn mail_language(code: Option<&str>) -> Option<Language> {
    match code {
        None => Some(Language::default()),
        Some("nl") => Some(Language::Nl),
        Some("en") => Some(Language::En),
        Some(_) => None,
    }
}

/// The field code of a value refused by its parser: `required` when
/// nothing was typed (an empty field needs no rule), else `invalid`.
fn refusal_code<T>(
    parsed: &Result<T, CodeError>,
    required: &'static str,
    invalid: &'static str,
) -> &'static str {
    match parsed {
        Err(CodeError::Empty) => required,
        _ => invalid,
    }
}

/// The field code of a card number refused by its parser.
pub fn card_refusal(parsed: &Result<CardNumber, CodeError>) -> &'static str {
    refusal_code(parsed, "card_number_required", "invalid_card_number")
}
