//! The desk's operations, shared by the REST API of library systems and the
//! staff console: register a member with a new, an existing or no login
//! account; find and link an account, or generate one later; undo a link
//! made by mistake; reset the recovery address to the registration's; send
//! the confirmation mail again. Each runs in one transaction with its mails
//! and its audit entry. A password reset by staff does not exist: it is
//! refused, and the refusal is logged too.

use serde::{Deserialize, Serialize};
use serde_json::json;
use si_domain::{AccountStatus, CardNumber, CostError, CostOverview, Email, Username};
use si_store::{
    Repositories, StoreError,
    account_links::LinkKind,
    accounts::{Account, NewAccount},
    audit::{AuditFilter, NewAuditEntry},
    catalogue::{Branch, Library, SubscriptionType},
    desk_requests::Earlier,
    memberships::{Membership, NewMembership},
    throttle::ThrottlePolicy,
};
use time::{Date, format_description::well_known::Iso8601};
use utoipa::ToSchema;

use super::registration::{
    FieldError, LoginAccountChoice, Registration, RegistrationRequest, card_refusal, mail_language,
};
use crate::{
    app::AppState,
    http::i18n::Language,
    mail::{self, Mail},
    oidc::login::seconds_until,
    selfservice::{self, ConfirmationError},
};

/// How many numbered names to try when the card number is taken as a username.
const GENERATED_NAME_ATTEMPTS: u32 = 50;

/// How long after a confirmation mail the desk's "send again" sends none,
/// and after a reset of the recovery address a second reset to it.
const RESEND_PAUSE: time::Duration = time::Duration::minutes(1);

/// Who acts at the desk of which library, in which language answers are given.
pub struct Desk<'a> {
    state: &'a AppState,
    library: &'a Library,
    /// `client:<id>` for a library system, `staff:<username>` in the console.
    actor: String,
    language: Language,
}

/// What the desk can refuse. Each has a stable code and a localized message.
#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    #[error("some fields are not valid")]
    Invalid(Vec<FieldError>),
    #[error("this card number is already registered at this library")]
    CardNumberRegistered,
    #[error("no membership with this card number at this library")]
    MembershipNotFound,
    #[error("no login account has this username")]
    AccountNotFound,
    #[error("the login account is disabled")]
    AccountDisabled,
    #[error("the membership has no login account")]
    NoLoginAccount,
    #[error("the membership already has a login account")]
    AlreadyLinked,
    /// The registration is on another account than the one named.
    #[error("the membership is linked to another login account than the one named")]
    OtherAccountLinked,
    #[error("the registration has no e-mail address")]
    NoRegistrationEmail,
    /// A new login account needs the registration's address for its confirmation.
    #[error("the registration has no e-mail address for a new login account")]
    NoEmailForAccount,
    #[error("the registration's e-mail address is already the recovery address")]
    AlreadyRecoveryAddress,
    #[error("the login account is already confirmed")]
    AlreadyConfirmed,
    #[error("the login account has no e-mail address to send its confirmation to")]
    NoAccountEmail,
    /// A pending account's address is proved by its confirmation mail, not
    /// by a reset to the same address.
    #[error("the login account still waits for its confirmation at this address")]
    AwaitingConfirmation,
    #[error("staff cannot reset passwords")]
    PasswordResetNotOffered,
    /// The account holds the desk role at a library: its recovery address
    /// is changed only after an operator takes the role off.
    #[error("the login account belongs to desk staff")]
    StaffAccount,
    #[error("this idempotency key was used for another request")]
    IdempotencyKeyReused,
    #[error("too many attempts to link an account named a wrong birth date or username")]
    LinkAttemptsWait {
        /// Until the next attempt is taken, rounded up to whole seconds.
        seconds: i64,
        /// Whose attempts wait: the account's, or all of this caller's.
        of: LinkWait,
    },
    #[error("too many searches by this caller found no account")]
    SearchesWait {
        /// Until the next search is taken, rounded up to whole seconds.
        seconds: i64,
    },
    /// The database cannot be reached just now; the same request may succeed later.
    #[error("the database is unavailable: {0}")]
    Unavailable(#[source] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl DeskError {
    /// The machine-readable code of API problems; also names the message.
    pub fn code(&self) -> &'static str {
        match self {
            DeskError::Invalid(_) => "invalid_input",
            DeskError::CardNumberRegistered => "card_number_registered",
            DeskError::MembershipNotFound => "membership_not_found",
            DeskError::AccountNotFound => "account_not_found",
            DeskError::AccountDisabled => "account_disabled",
            DeskError::NoLoginAccount => "no_login_account",
            DeskError::AlreadyLinked => "already_linked",
            DeskError::OtherAccountLinked => "other_account_linked",
            DeskError::NoRegistrationEmail => "no_registration_email",
            DeskError::NoEmailForAccount => "no_email_for_account",
            DeskError::AlreadyRecoveryAddress => "already_recovery_address",
            DeskError::AlreadyConfirmed => "account_already_confirmed",
            DeskError::NoAccountEmail => "no_account_email",
            DeskError::AwaitingConfirmation => "awaiting_confirmation",
            DeskError::PasswordResetNotOffered => "password_reset_not_offered",
            DeskError::StaffAccount => "staff_account",
            DeskError::IdempotencyKeyReused => "idempotency_key_reused",
            DeskError::LinkAttemptsWait {
                of: LinkWait::Account,
                ..
            } => "link_attempts_wait",
            DeskError::LinkAttemptsWait {
                of: LinkWait::Caller, ..
            } => "caller_link_attempts_wait",
            DeskError::SearchesWait { .. } => "search_attempts_wait",
            DeskError::Unavailable(_) => "unavailable",
            DeskError::Internal(_) => "internal_error",
        }
    }

    /// A link refused because the username names no account, or one of
    /// another birth date: what someone guessing a birth date would get.
    fn is_wrong_guess(&self) -> bool {
        matches!(
            self.field_code("username"),
            Some("account_not_found" | "account_of_another_birth_date")
        )
    }

    /// The code of the error of `field`, when the input was refused for it.
    fn field_code(&self, field: &str) -> Option<&'static str> {
        let DeskError::Invalid(fields) = self else {
            return None;
        };
        fields
            .iter()
            .find(|error| error.field == field)
            .map(|error| error.code)
    }

    /// The message for people, in `language`.
    pub fn message(&self, language: Language, help_url: &str) -> String {
        let key = format!("desk-error-{}", self.code().replace('_', "-"));
        let minutes = match self {
            DeskError::LinkAttemptsWait { seconds, .. } | DeskError::SearchesWait { seconds } => {
                (seconds + 59) / 60
            }
            _ => 0,
        };
        language.text_with(
            &key,
            &[
                ("help_url", help_url.to_owned().into()),
                ("minutes", minutes.into()),
            ],
        )
    }
}

impl From<StoreError> for DeskError {
    fn from(error: StoreError) -> Self {
        if error.is_unavailable() {
            DeskError::Unavailable(error)
        } else {
            DeskError::Internal(error.to_string())
        }
    }
}

impl From<ConfirmationError> for DeskError {
    fn from(error: ConfirmationError) -> Self {
        match error {
            ConfirmationError::Store(store) => store.into(),
            other => DeskError::Internal(other.to_string()),
        }
    }
}

/// Which count of wrong guesses holds links back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkWait {
    /// The account's: its birth date was guessed at too often.
    Account,
    /// The caller's (a library system, or a desk employee): it guessed at
    /// too many accounts, one or a few times each.
    Caller,
}

/// A login account as the desk may see it: the username, the recovery
/// address partly masked, and whether the member has confirmed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AccountSummary {
    /// Exactly as the member types it (case-sensitive).
    pub username: String,
    /// The recovery e-mail address, partly masked and of no telling length, e.g. `j***n@e***.nl`.
    pub email_masked: Option<String>,
    /// `pending` until the member confirms the mail, then `active`; or `disabled`.
    pub status: String,
}

impl AccountSummary {
    fn of(account: &Account) -> Self {
        Self {
            username: account.username.as_str().to_owned(),
            email_masked: account.email.as_ref().map(Email::masked),
            status: account.status.as_str().to_owned(),
        }
    }
}

/// A registration (inschrijving) of this library.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MembershipView {
    pub library_code: String,
    pub library_name: String,
    pub card_number: String,
    pub name: String,
    #[schema(value_type = String, format = Date)]
    pub birth_date: String,
    /// The e-mail address the registration holds (not necessarily the account's).
    pub email: Option<String>,
    pub subscription_type: String,
    #[schema(value_type = String, format = Date)]
    pub valid_until: String,
    /// The login account, when the registration uses one.
    pub login_account: Option<AccountSummary>,
}

/// "Opbouw abonnementskosten": what the subscription costs and until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CostOverviewView {
    pub branch_code: String,
    pub branch_name: String,
    pub subscription_type: String,
    pub subscription_name: String,
    pub tariff_code: String,
    pub name: String,
    /// Age in completed years today.
    pub age: u8,
    pub subscription_fee_cents: i64,
    pub discount_cents: i64,
    pub balance_cents: i64,
    /// "Geldig t/m": the last day the subscription is valid.
    #[schema(value_type = String, format = Date)]
    pub valid_until: String,
    /// "Rechten t/m": the last day the member may borrow.
    #[schema(value_type = String, format = Date)]
    pub rights_until: String,
    /// "Vervalmaand": the month the subscription expires, `YYYY-MM`.
    pub expiry_month: String,
}

/// The login account a registration got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RegisteredAccount {
    /// `generated` for a new account, `existing` for a linked one.
    pub origin: String,
    pub username: String,
    /// In full for a new account (the desk just typed it), masked for an existing one.
    pub email: Option<String>,
    pub status: String,
    /// True when the card number could not be the username (taken, or held
    /// for someone) and a numbered one was generated instead.
    pub username_generated: bool,
}

/// [`RegisteredAccount::origin`] of an account made at the registration.
const GENERATED: &str = "generated";
/// [`RegisteredAccount::origin`] of an account the registration was linked to.
const EXISTING: &str = "existing";

impl RegisteredAccount {
    /// What the desk tells the member of this account, in `language`.
    fn notes(&self, language: Language, card: &str) -> Vec<String> {
        if self.origin == EXISTING {
            return vec![language.text("desk-note-linked-mail")];
        }
        let renamed = self.username_generated.then(|| {
            language.text_with(
                "desk-note-username-generated",
                &[
                    ("card", card.to_owned().into()),
                    ("username", self.username.clone().into()),
                ],
            )
        });
        renamed
            .into_iter()
            .chain([language.text("desk-note-confirmation-sent")])
            .collect()
    }
}

/// The answer to a registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Registered {
    /// What happened, for people: "Genereren van inlogaccount gelukt", …
    pub message: String,
    /// Further things the desk should tell the member.
    pub notes: Vec<String>,
    /// Whether the member can log in to online services with this registration.
    pub can_log_in: bool,
    pub cost_overview: CostOverviewView,
    pub login_account: Option<RegisteredAccount>,
    pub membership: MembershipView,
}

impl Registered {
    /// The answer with what happened and its notes in `language`: they
    /// follow from the account it names, so the desk can show a kept
    /// answer again in the language it reads now.
    pub fn told_in(self, language: Language) -> Self {
        let message = match self.login_account.as_ref().map(|a| a.origin.as_str()) {
            Some(EXISTING) => "desk-linked",
            Some(_) => "desk-generated",
            None => "desk-no-account",
        };
        let notes = self
            .login_account
            .as_ref()
            .map(|a| a.notes(language, &self.membership.card_number))
            .unwrap_or_default();
        Self {
            message: language.text(message),
            notes,
            ..self
        }
    }
}

/// The answer to "Nieuw inlogaccount genereren" for a registration without one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct GeneratedAccount {
    /// "Genereren van inlogaccount gelukt".
    pub message: String,
    /// Further things the desk should tell the member.
    pub notes: Vec<String>,
    pub login_account: RegisteredAccount,
    pub membership: MembershipView,
}

/// The answer to "send the confirmation mail again".
pub struct Resent {
    pub account: AccountSummary,
    /// False when a confirmation mail went less than [`RESEND_PAUSE`] ago:
    /// that one stands, and no second follows.
    pub mailed: bool,
}

/// The answer to a reset of the recovery address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RecoveryReset {
    pub message: String,
    pub username: String,
    /// The registration's address, which becomes the recovery address once
    /// the member follows the link mailed to it.
    pub new_email: String,
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditLine {
    /// RFC 3339.
    pub at: String,
    /// `client:<id>` or `staff:<username>`.
    pub actor: String,
    pub action: String,
    /// The opaque id of the login account acted on.
    pub account: Option<String>,
    /// What was done, without secrets (card number, username, …).
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

fn iso(date: Date) -> String {
    date.format(&Iso8601::DATE).unwrap_or_default()
}

impl<'a> Desk<'a> {
    pub fn new(state: &'a AppState, library: &'a Library, actor: String, language: Language) -> Self {
        Self {
            state,
            library,
            actor,
            language,
        }
    }

    fn help_url(&self) -> &str {
        &self.state.config.mail.help_url
    }

    async fn audit(
        &self,
        repositories: &impl Repositories,
        action: &str,
        account: Option<&Account>,
        detail: serde_json::Value,
    ) -> Result<(), StoreError> {
        repositories
            .audit()
            .record(NewAuditEntry {
                actor: &self.actor,
                action,
                library: Some(self.library),
                account: account.map(|a| &a.id),
                detail,
            })
            .await
            .map(drop)
    }

    /// Registers a member. With an idempotency key (see
    /// [`is_idempotency_key`]), a repeat of the same request answers as the
    /// first did and changes nothing.
    pub async fn register(
        &self,
        request: &RegistrationRequest,
        idempotency_key: Option<&str>,
    ) -> Result<Registered, DeskError> {
        let request_digest =
            si_credentials::secrets::digest(&serde_json::to_string(request).unwrap_or_default());
        if let Some(key) = idempotency_key
            && let Some(earlier) = self.earlier(key, &request_digest).await?
        {
            return Ok(earlier);
        }
        let registration = request.parse().map_err(DeskError::Invalid)?;
        let registering = self.register_parsed(&registration, idempotency_key, &request_digest);
        match &registration.login_account {
            LoginAccountChoice::Existing(username) => self.counted_link(username, registering).await,
            _ => registering.await,
        }
    }

    async fn register_parsed(
        &self,
        registration: &Registration,
        idempotency_key: Option<&str>,
        request_digest: &str,
    ) -> Result<Registered, DeskError> {
        // A race is lost to another request: one that generated the same
        // username, or one with the same key that then rolled back. Try again.
        for _ in 0..3 {
            match self
                .register_once(registration, idempotency_key, request_digest)
                .await
            {
                Ok(registered) => return Ok(registered),
                Err(RegisterFailure::Refused(error)) => return Err(error),
                Err(RegisterFailure::UsernameRace) => {}
                Err(RegisterFailure::KeyTaken) => {
                    let key = idempotency_key.unwrap_or_default();
                    if let Some(earlier) = self.earlier(key, request_digest).await? {
                        return Ok(earlier);
                    }
                }
            }
        }
        Err(DeskError::Internal("registration kept losing races".into()))
    }

    /// What the registration sent with idempotency key `key` answered, to
    /// show it again; none for a key unknown here, or not a registration's.
    pub async fn registered(&self, key: &str) -> Result<Option<Registered>, DeskError> {
        let answer = self
            .state
            .store
            .desk_requests()
            .answer_of(self.library, key)
            .await?;
        Ok(match answer {
            Some(Earlier::Answered { status: 201, body }) => serde_json::from_str::<Registered>(&body)
                .ok()
                .map(|registered| registered.told_in(self.language)),
            _ => None,
        })
    }

    async fn earlier(&self, key: &str, request_digest: &str) -> Result<Option<Registered>, DeskError> {
        match self
            .state
            .store
            .desk_requests()
            .earlier(self.library, key, request_digest)
            .await?
        {
            None => Ok(None),
            Some(Earlier::Answered { body, .. }) => serde_json::from_str(&body)
                .map(Some)
                .map_err(|e| DeskError::Internal(format!("stored answer: {e}"))),
            Some(Earlier::OtherRequest) => Err(DeskError::IdempotencyKeyReused),
        }
    }

    async fn register_once(
        &self,
        registration: &Registration,
        idempotency_key: Option<&str>,
        request_digest: &str,
    ) -> Result<Registered, RegisterFailure> {
        let txn = self.state.store.begin().await.map_err(DeskError::from)?;
        let reserved = match idempotency_key {
            None => None,
            Some(key) => match txn
                .desk_requests()
                .reserve(self.library, key, request_digest)
                .await
            {
                Ok(id) => Some(id),
                Err(StoreError::Duplicate { .. }) => return Err(RegisterFailure::KeyTaken),
                Err(error) => return Err(DeskError::from(error).into()),
            },
        };
        let registered = self.register_in(&txn, registration).await?;
        if let Some(id) = reserved {
            let body = serde_json::to_string(&registered).map_err(|e| DeskError::Internal(e.to_string()))?;
            txn.desk_requests()
                .answer(id, 201, &body)
                .await
                .map_err(DeskError::from)?;
        }
        txn.commit().await.map_err(DeskError::from)?;
        Ok(registered)
    }

    async fn register_in(
        &self,
        txn: &impl Repositories,
        registration: &Registration,
    ) -> Result<Registered, RegisterFailure> {
        let invalid = |field, code| DeskError::Invalid(vec![FieldError::new(field, code)]);
        let Terms {
            branch,
            subscription,
            cost,
        } = self.terms(txn, registration).await?;

        let (account, generated) = match &registration.login_account {
            LoginAccountChoice::None => (None, false),
            LoginAccountChoice::New => {
                let email = registration
                    .email
                    .clone()
                    .ok_or_else(|| invalid("email", "email_required_for_account"))?;
                let (account, generated) = self
                    .create_pending_account(txn, &registration.card_number, email, registration.language)
                    .await?
                    .ok_or(RegisterFailure::UsernameRace)?;
                (Some(account), generated)
            }
            LoginAccountChoice::Existing(username) => {
                let account = self
                    .existing_account(txn, username, registration.birth_date)
                    .await?;
                (Some(account), false)
            }
        };

        let membership = txn
            .memberships()
            .create(NewMembership {
                library: self.library,
                branch: &branch,
                subscription: &subscription,
                card_number: registration.card_number.clone(),
                member_name: registration.name.clone(),
                birth_date: registration.birth_date,
                email: registration.email.clone(),
                valid_until: cost.valid_until(),
                account: account.as_ref().map(|a| a.id),
            })
            .await
            .map_err(|error| match error {
                StoreError::Duplicate { .. } => DeskError::CardNumberRegistered,
                other => other.into(),
            })?;

        let (login_account, action) = match (&registration.login_account, &account) {
            (LoginAccountChoice::New, Some(account)) => {
                let registered = self.welcome(txn, account, generated).await?;
                (Some(registered), "register_new_account")
            }
            (LoginAccountChoice::Existing(_), Some(account)) => {
                self.tell_of_link(txn, account).await.map_err(DeskError::from)?;
                let registered = RegisteredAccount {
                    origin: EXISTING.into(),
                    username: account.username.as_str().to_owned(),
                    email: account.email.as_ref().map(Email::masked),
                    status: account.status.as_str().to_owned(),
                    username_generated: false,
                };
                (Some(registered), "register_existing_account")
            }
            _ => (None, "register_without_account"),
        };
        self.audit(
            txn,
            action,
            account.as_ref(),
            json!({
                "card_number": registration.card_number.as_str(),
                "branch": branch.code.as_str(),
                "subscription_type": subscription.code.as_str(),
                "username": account.as_ref().map(|a| a.username.as_str()),
            }),
        )
        .await
        .map_err(DeskError::from)?;

        let expiry = cost.valid_until().next_day().unwrap_or(cost.valid_until());
        let registered = Registered {
            message: String::new(),
            notes: Vec::new(),
            can_log_in: account.is_some(),
            cost_overview: CostOverviewView {
                branch_code: branch.code.as_str().to_owned(),
                branch_name: branch.name.as_str().to_owned(),
                subscription_type: subscription.code.as_str().to_owned(),
                subscription_name: subscription.name.as_str().to_owned(),
                tariff_code: subscription.tariff_code.as_str().to_owned(),
                name: registration.name.as_str().to_owned(),
                age: cost.age(),
                subscription_fee_cents: cost.subscription_fee().cents(),
                discount_cents: cost.discount().cents(),
                balance_cents: cost.balance().cents(),
                valid_until: iso(cost.valid_until()),
                rights_until: iso(cost.rights_until()),
                expiry_month: format!("{:04}-{:02}", expiry.year(), u8::from(expiry.month())),
            },
            login_account,
            membership: self.view(&membership, account.as_ref()),
        };
        Ok(registered.told_in(self.language))
    }

    /// What a registration would be refused for before any account is
    /// chosen: its branch, its subscription and the member's age, the
    /// discount, and its card number. The console asks this before it
    /// searches for an existing account, so that the details are corrected
    /// where they were typed.
    pub async fn check_details(&self, request: &RegistrationRequest) -> Result<(), DeskError> {
        let registration = request.parse().map_err(DeskError::Invalid)?;
        self.terms(&self.state.store, &registration).await.map(drop)
    }

    /// The registration's branch and subscription, the cost overview its
    /// member's age and discount give, and a card number not yet registered here.
    async fn terms(
        &self,
        repositories: &impl Repositories,
        registration: &Registration,
    ) -> Result<Terms, DeskError> {
        let invalid = |field, code| DeskError::Invalid(vec![FieldError::new(field, code)]);
        let catalogue = repositories.catalogue();
        let branch = match catalogue.branch(&self.library.code, &registration.branch).await {
            Err(StoreError::NotFound { .. }) => return Err(invalid("branch", "unknown_branch")),
            other => other?,
        };
        let subscription = match catalogue
            .subscription_type(&self.library.code, &registration.subscription_type)
            .await
        {
            Err(StoreError::NotFound { .. }) => {
                return Err(invalid("subscription_type", "unknown_subscription_type"));
            }
            other => other?,
        };
        let today = self.state.clock().now().date();
        let cost = CostOverview::compute(
            &subscription.terms,
            registration.birth_date,
            today,
            registration.discount,
        )
        .map_err(|error| match error {
            CostError::BirthDateInFuture { .. } => invalid("birth_date", "birth_date_in_future"),
            CostError::AgeOutOfRange { .. } => invalid("birth_date", "age_outside_subscription"),
            CostError::DiscountExceedsFee { .. } => invalid("discount_cents", "discount_exceeds_fee"),
            CostError::ValidityBeyondCalendar => invalid("subscription_type", "validity_beyond_calendar"),
        })?;
        if repositories
            .memberships()
            .by_card(self.library, &registration.card_number)
            .await?
            .is_some()
        {
            return Err(DeskError::CardNumberRegistered);
        }
        Ok(Terms {
            branch,
            subscription,
            cost,
        })
    }

    /// The card number as username when it is free, else the first free
    /// `<card>-2`, `<card>-3`, …; `true` when it had to be generated.
    async fn free_username(
        &self,
        txn: &impl Repositories,
        card: &CardNumber,
    ) -> Result<(Username, bool), DeskError> {
        let accounts = txn.accounts();
        let preferred = Username::from_card_number(card);
        if accounts.is_free(&preferred).await? {
            return Ok((preferred, false));
        }
        for number in 2..GENERATED_NAME_ATTEMPTS + 2 {
            if let Ok(candidate) = Username::parse(&format!("{card}-{number}"))
                && accounts.is_free(&candidate).await?
            {
                return Ok((candidate, true));
            }
        }
        Err(DeskError::Internal(
            "no free username near the card number".into(),
        ))
    }

    /// A login account waiting for its confirmation at `email`, named after
    /// the card number where it can be; `true` when the name had to be
    /// generated. None when another request took that name first.
    async fn create_pending_account(
        &self,
        txn: &impl Repositories,
        card: &CardNumber,
        email: Email,
        language: Language,
    ) -> Result<Option<(Account, bool)>, DeskError> {
        let (username, generated) = self.free_username(txn, card).await?;
        let created = txn
            .accounts()
            .create(NewAccount {
                username,
                email: Some(email),
                status: AccountStatus::Pending,
                language: language.code().to_owned(),
                password_hash: None,
            })
            .await;
        match created {
            Ok(account) => Ok(Some((account, generated))),
            Err(StoreError::Duplicate { .. }) => Ok(None),
            Err(other) => Err(other.into()),
        }
    }

    /// Sends a new account its confirmation mail.
    async fn welcome(
        &self,
        txn: &impl Repositories,
        account: &Account,
        generated: bool,
    ) -> Result<RegisteredAccount, DeskError> {
        selfservice::send_confirmation(self.state, txn, account).await?;
        Ok(RegisteredAccount {
            origin: GENERATED.into(),
            username: account.username.as_str().to_owned(),
            email: account.email.as_ref().map(|e| e.as_str().to_owned()),
            status: account.status.as_str().to_owned(),
            username_generated: generated,
        })
    }

    /// The account with `username`, for a registration of someone born on
    /// `birth_date`. One of its memberships must have that birth date: a
    /// username (often a card number) alone must not let any library take
    /// in someone else's account, and then reset its recovery address.
    async fn existing_account(
        &self,
        txn: &impl Repositories,
        username: &Username,
        birth_date: Date,
    ) -> Result<Account, DeskError> {
        let field_error = |code| DeskError::Invalid(vec![FieldError::new("username", code)]);
        let found = txn
            .accounts()
            .by_username(username)
            .await?
            .ok_or_else(|| field_error("account_not_found"))?;
        // Held to the end of the transaction: two desks linking the account
        // at once take turns, the second seeing the first's registration.
        let account = txn
            .accounts()
            .lock(&found.id)
            .await?
            .ok_or_else(|| field_error("account_not_found"))?;
        if account.status == AccountStatus::Disabled {
            return Err(DeskError::AccountDisabled);
        }
        let memberships = txn.memberships().of_account(&account.id).await?;
        // No registration tells whose it is (one generated by mistake and
        // unlinked, say): no library can take it in by its username.
        if memberships.is_empty() {
            return Err(field_error("account_without_registration"));
        }
        if !memberships.iter().any(|m| m.birth_date == birth_date) {
            return Err(field_error("account_of_another_birth_date"));
        }
        // The guide: an existing account is for a member who moved here from
        // another library. A second valid registration here is a duplicate;
        // one that lapsed may be followed by a new one.
        let today = self.state.clock().now().date();
        if memberships
            .iter()
            .any(|m| m.library_code == self.library.code.as_str() && m.valid_until >= today)
        {
            return Err(field_error("account_registered_here"));
        }
        Ok(account)
    }

    /// Links to one account: slower after five attempts that named another
    /// birth date, one forgiven per hour.
    const LINK_POLICY: ThrottlePolicy = ThrottlePolicy {
        free_failures: 5,
        first_block: std::time::Duration::from_secs(15 * 60),
        longest_block: std::time::Duration::from_secs(24 * 60 * 60),
        forgive_every: std::time::Duration::from_secs(60 * 60),
    };

    /// Links by one caller (a library system, or a desk employee): a desk
    /// mistypes a birth date now and then, but one that guesses at many
    /// accounts, a few times each, is held back after twenty, one forgiven
    /// every three minutes.
    const CALLER_LINK_POLICY: ThrottlePolicy = ThrottlePolicy {
        free_failures: 20,
        first_block: std::time::Duration::from_secs(15 * 60),
        longest_block: std::time::Duration::from_secs(24 * 60 * 60),
        forgive_every: std::time::Duration::from_secs(3 * 60),
    };

    /// Runs `attempt`, a link to the account named `username`, counted as a
    /// failure before it runs (so that attempts at once count too) and given
    /// back unless it named no account or one of another birth date: after a
    /// few such guesses the username's links wait, and after more the
    /// caller's, so that a birth date cannot be found by trying, neither for
    /// one account nor across many. A retry, a lost race or a refused branch
    /// is no guess and does not count.
    async fn counted_link<T>(
        &self,
        username: &Username,
        attempt: impl Future<Output = Result<T, DeskError>>,
    ) -> Result<T, DeskError> {
        let counts = [
            (
                format!("link-by:{}", self.actor),
                &Self::CALLER_LINK_POLICY,
                LinkWait::Caller,
            ),
            (format!("link:{username}"), &Self::LINK_POLICY, LinkWait::Account),
        ];
        // The caller's count first: a caller that must wait adds nothing to
        // the account's.
        for (charged, (subject, policy, of)) in counts.iter().enumerate() {
            let charge = self
                .state
                .store
                .as_writer()
                .await
                .throttle()
                .charge(subject, policy)
                .await;
            let blocked = match charge {
                Ok(blocked) => blocked,
                Err(error) => {
                    self.refund_link_counts(&counts[..charged]).await;
                    return Err(error.into());
                }
            };
            if let Some(until) = blocked {
                self.refund_link_counts(&counts[..charged]).await;
                if *of == LinkWait::Caller {
                    tracing::warn!(actor = %self.actor, library = %self.library.code, "links held back: too many wrong guesses");
                }
                let error = DeskError::LinkAttemptsWait {
                    seconds: seconds_until(self.state.clock().now(), until),
                    of: *of,
                };
                self.audit_refused_link(username, error.code()).await;
                return Err(error);
            }
        }
        let result = attempt.await;
        match &result {
            Err(error) if error.is_wrong_guess() => {
                let reason = error.field_code("username").unwrap_or_default();
                self.audit_refused_link(username, reason).await;
            }
            _ => self.refund_link_counts(&counts).await,
        }
        result
    }

    /// Gives back the link attempts charged to `counts`.
    async fn refund_link_counts(&self, counts: &[(String, &ThrottlePolicy, LinkWait)]) {
        let writer = self.state.store.as_writer().await;
        for (subject, policy, _) in counts {
            if let Err(error) = writer.throttle().refund(subject, policy).await {
                // The attempt's own answer stands; the count is forgiven in time.
                tracing::warn!(%error, "a link attempt's count was not given back");
            }
        }
    }

    /// A link refused as a guess, or held back after guesses, in the audit
    /// log: an operator sees who tries accounts by username and birth date.
    async fn audit_refused_link(&self, username: &Username, reason: &str) {
        let writer = self.state.store.as_writer().await;
        let detail = json!({ "username": username.as_str(), "reason": reason });
        let recorded = async {
            // Under the account too, when there is one, so that its owner's
            // entries show who tried it.
            let account = writer.accounts().by_username(username).await?;
            self.audit(&writer, "link_refused", account.as_ref(), detail)
                .await
        };
        if let Err(error) = recorded.await {
            // The refusal stands; only its record is missing, and said so.
            tracing::warn!(%error, "a refused link was not written to the audit log");
        }
    }

    /// The account's owner hears that this library now uses the account.
    async fn tell_of_link(&self, txn: &impl Repositories, account: &Account) -> Result<(), StoreError> {
        let mail = Mail::AccountLinked {
            username: account.username.as_str().to_owned(),
            library_name: self.library.name.as_str().to_owned(),
        };
        self.tell_owner(txn, account, &mail).await
    }

    /// `mail` to the account's recovery address, in the account's language;
    /// nothing without an address.
    async fn tell_owner(
        &self,
        txn: &impl Repositories,
        account: &Account,
        mail: &Mail,
    ) -> Result<(), StoreError> {
        let Some(email) = &account.email else {
            return Ok(());
        };
        let language = Language::from_code(&account.language).unwrap_or_default();
        mail::queue(txn, self.state.keyring.sealing(), email, language, mail)
            .await
            .map(drop)
    }

    fn view(&self, membership: &Membership, account: Option<&Account>) -> MembershipView {
        MembershipView {
            library_code: membership.library_code.clone(),
            library_name: membership.library_name.clone(),
            card_number: membership.card_number.as_str().to_owned(),
            name: membership.member_name.as_str().to_owned(),
            birth_date: iso(membership.birth_date),
            email: membership.email.as_ref().map(|e| e.as_str().to_owned()),
            subscription_type: membership.subscription_code.clone(),
            valid_until: iso(membership.valid_until),
            login_account: account.map(AccountSummary::of),
        }
    }

    /// This library's membership with the card number, and its account.
    async fn membership_and_account(
        &self,
        repositories: &impl Repositories,
        card: &CardNumber,
    ) -> Result<(Membership, Option<Account>), DeskError> {
        let membership = repositories
            .memberships()
            .by_card(self.library, card)
            .await?
            .ok_or(DeskError::MembershipNotFound)?;
        let account = match &membership.account {
            Some(id) => repositories.accounts().by_id(id).await?,
            None => None,
        };
        Ok((membership, account))
    }

    pub async fn membership(&self, card: &CardNumber) -> Result<MembershipView, DeskError> {
        let (membership, account) = self.membership_and_account(&self.state.store, card).await?;
        Ok(self.view(&membership, account.as_ref()))
    }

    /// Searches by one caller that find no account: desks mistype a
    /// username now and then (a library system's searches are those of all
    /// its desks: ten a minute go on for ever), but one that walks through
    /// card numbers to learn which have an account, and its masked address,
    /// is held back after a hundred, one forgiven every six seconds.
    const CALLER_SEARCH_POLICY: ThrottlePolicy = ThrottlePolicy {
        free_failures: 100,
        first_block: std::time::Duration::from_secs(60),
        longest_block: std::time::Duration::from_secs(60 * 60),
        forgive_every: std::time::Duration::from_secs(6),
    };

    /// "Bestaand inlogaccount zoeken": exact and case-sensitive, across all
    /// libraries; only the username and the masked address are shown.
    /// Counted as a miss before it runs, and given back when it finds the
    /// account (see [`Self::CALLER_SEARCH_POLICY`]).
    pub async fn find_account(&self, username: &Username) -> Result<AccountSummary, DeskError> {
        let writer = self.state.store.as_writer().await;
        let searches = format!("search-by:{}", self.actor);
        let policy = &Self::CALLER_SEARCH_POLICY;
        if let Some(until) = writer.throttle().charge(&searches, policy).await? {
            tracing::warn!(actor = %self.actor, library = %self.library.code, "searches held back: too many found no account");
            return Err(DeskError::SearchesWait {
                seconds: seconds_until(self.state.clock().now(), until),
            });
        }
        let account = writer.accounts().by_username(username).await?;
        if account.is_some()
            && let Err(error) = writer.throttle().refund(&searches, policy).await
        {
            // The answer stands; the count is forgiven in time.
            tracing::warn!(%error, "a search's count was not given back");
        }
        self.audit(
            &writer,
            "search_account",
            account.as_ref(),
            json!({ "username": username.as_str(), "found": account.is_some() }),
        )
        .await?;
        account
            .as_ref()
            .map(AccountSummary::of)
            .ok_or(DeskError::AccountNotFound)
    }

    /// Links this library's membership, which has no account yet, to an existing account.
    pub async fn link(&self, card: &CardNumber, username: &Username) -> Result<MembershipView, DeskError> {
        self.counted_link(username, self.link_uncounted(card, username))
            .await
    }

    async fn link_uncounted(
        &self,
        card: &CardNumber,
        username: &Username,
    ) -> Result<MembershipView, DeskError> {
        let txn = self.state.store.begin().await?;
        let (membership, current) = self.membership_and_account(&txn, card).await?;
        if current.is_some() {
            return Err(DeskError::AlreadyLinked);
        }
        let account = self
            .existing_account(&txn, username, membership.birth_date)
            .await?;
        let linked = self.put_on(&txn, membership, &account, "link_account").await?;
        self.tell_of_link(&txn, &account).await?;
        txn.commit().await?;
        Ok(self.view(&linked, Some(&account)))
    }

    /// Puts `account` on this library's `membership`, which had none when
    /// read, and logs `action`. Another desk may have put one on since:
    /// theirs stays, and this one is refused.
    async fn put_on(
        &self,
        txn: &impl Repositories,
        membership: Membership,
        account: &Account,
        action: &str,
    ) -> Result<Membership, DeskError> {
        if !txn.memberships().link(membership.id, &account.id).await? {
            return Err(DeskError::AlreadyLinked);
        }
        let detail = json!({
            "card_number": membership.card_number.as_str(),
            "username": account.username.as_str(),
        });
        self.audit(txn, action, Some(account), detail).await?;
        Ok(Membership {
            account: Some(account.id),
            ..membership
        })
    }

    /// Takes this library's registration off its login account, for a link
    /// made by mistake (a twin's account, say): the registration is then
    /// without one, to be linked or given a new one. The account stays, with
    /// its other registrations, and its owner is told. With `expected`, only
    /// off the account of that username: the one the desk was asked about.
    /// An account still waiting for its confirmation that is left without
    /// registrations is no one's: its mailed links stop working.
    pub async fn unlink(
        &self,
        card: &CardNumber,
        expected: Option<&Username>,
    ) -> Result<MembershipView, DeskError> {
        let txn = self.state.store.begin().await?;
        let (membership, account) = self.membership_and_account(&txn, card).await?;
        let account = account.ok_or(DeskError::NoLoginAccount)?;
        if expected.is_some_and(|username| *username != account.username) {
            return Err(DeskError::OtherAccountLinked);
        }
        // Another desk may have unlinked it since it was read.
        if !txn.memberships().unlink(membership.id, &account.id).await? {
            return Err(DeskError::NoLoginAccount);
        }
        if account.status == AccountStatus::Pending
            && txn.memberships().of_account(&account.id).await?.is_empty()
        {
            txn.account_links().end_password_links(&account.id).await?;
        }
        let mail = Mail::AccountUnlinked {
            username: account.username.as_str().to_owned(),
            library_name: self.library.name.as_str().to_owned(),
        };
        self.tell_owner(&txn, &account, &mail).await?;
        self.audit(
            &txn,
            "unlink_account",
            Some(&account),
            json!({ "card_number": card.as_str(), "username": account.username.as_str() }),
        )
        .await?;
        txn.commit().await?;
        let unlinked = Membership {
            account: None,
            ..membership
        };
        Ok(self.view(&unlinked, None))
    }

    /// "Nieuw inlogaccount genereren" for a registration made without one:
    /// a login account for the registration's e-mail address, named after
    /// the card number where it can be, and its confirmation mail in
    /// `mail_language`. A second request finds the registration linked.
    pub async fn generate_account(
        &self,
        card: &CardNumber,
        mail_language: Language,
    ) -> Result<GeneratedAccount, DeskError> {
        // A lost race for the generated username: try again.
        for _ in 0..3 {
            if let Some(generated) = self.generate_account_once(card, mail_language).await? {
                return Ok(generated);
            }
        }
        Err(DeskError::Internal(
            "generating an account kept losing races".into(),
        ))
    }

    async fn generate_account_once(
        &self,
        card: &CardNumber,
        mail_language: Language,
    ) -> Result<Option<GeneratedAccount>, DeskError> {
        let txn = self.state.store.begin().await?;
        let (membership, current) = self.membership_and_account(&txn, card).await?;
        if current.is_some() {
            return Err(DeskError::AlreadyLinked);
        }
        let email = membership.email.clone().ok_or(DeskError::NoEmailForAccount)?;
        let Some((account, generated)) = self
            .create_pending_account(&txn, card, email, mail_language)
            .await?
        else {
            return Ok(None);
        };
        let linked = self
            .put_on(&txn, membership, &account, "generate_account")
            .await?;
        let login_account = self.welcome(&txn, &account, generated).await?;
        txn.commit().await?;
        Ok(Some(GeneratedAccount {
            message: self.language.text("desk-generated"),
            notes: login_account.notes(self.language, card.as_str()),
            login_account,
            membership: self.view(&linked, Some(&account)),
        }))
    }

    /// A new e-mail address in the library system (none clears it). Only the
    /// registration's changes: the account's recovery address follows when
    /// the desk resets it ("Herstel-e-mailadres resetten"), unless the account
    /// still waits for its confirmation, which then goes to the new address.
    pub async fn change_registration_email(
        &self,
        card: &CardNumber,
        email: Option<Email>,
    ) -> Result<MembershipView, DeskError> {
        let txn = self.state.store.begin().await?;
        let (membership, account) = self.membership_and_account(&txn, card).await?;
        if membership.email == email {
            return Ok(self.view(&membership, account.as_ref()));
        }
        txn.memberships().set_email(membership.id, email.as_ref()).await?;
        // Staff confirm their own account: a desk moving its confirmation
        // could take it over (see `not_of_staff`).
        let of_staff = match &account {
            Some(account) => holds_staff_role(&txn, account).await?,
            None => false,
        };
        let account = match account {
            // Nobody has proved the address of an account still waiting for
            // its confirmation: it follows the registration, and only a link
            // mailed to the new address confirms it. The link mailed to the
            // old one (a typo, say) would hand a stranger the account.
            Some(pending)
                if pending.status == AccountStatus::Pending
                    && pending.email == membership.email
                    && !of_staff =>
            {
                // Without an address, nothing could ever confirm it.
                let Some(new) = &email else {
                    return Err(DeskError::NoEmailForAccount);
                };
                txn.accounts().readdress_pending(&pending.id, new).await?;
                txn.account_links().end_password_links(&pending.id).await?;
                let readdressed = Account {
                    email: email.clone(),
                    email_verified_at: None,
                    ..pending
                };
                selfservice::send_confirmation(self.state, &txn, &readdressed).await?;
                Some(readdressed)
            }
            // A reset to the address the library no longer holds must not go on.
            Some(account) => {
                if let Some(old) = &membership.email {
                    txn.account_links()
                        .end_email_change_links(&account.id, Some(old))
                        .await?;
                }
                Some(account)
            }
            None => None,
        };
        self.audit(
            &txn,
            "change_registration_email",
            account.as_ref(),
            json!({
                "card_number": card.as_str(),
                "old_email_masked": membership.email.as_ref().map(Email::masked),
                "new_email_masked": email.as_ref().map(Email::masked),
            }),
        )
        .await?;
        txn.commit().await?;
        let changed = Membership { email, ..membership };
        Ok(self.view(&changed, account.as_ref()))
    }

    /// Why "Herstel-e-mailadres resetten" would be refused for this
    /// registration now, if it would: the desk says so before it asks.
    pub async fn recovery_reset_refusal(&self, card: &CardNumber) -> Result<Option<DeskError>, DeskError> {
        let store = &self.state.store;
        let (membership, account) = self.membership_and_account(store, card).await?;
        let refusal = match recovery_reset_of(&membership, account.as_ref()) {
            Ok((account, _)) => not_of_staff(store, account).await.err(),
            Err(refusal) => Some(refusal),
        };
        Ok(refusal)
    }

    /// "Herstel-e-mailadres resetten": the registration's address becomes the
    /// recovery address once the member follows the link mailed to it; the
    /// old address is told.
    pub async fn reset_recovery_email(&self, card: &CardNumber) -> Result<RecoveryReset, DeskError> {
        let txn = self.state.store.begin().await?;
        let (membership, account) = self.membership_and_account(&txn, card).await?;
        let (as_read, _) = recovery_reset_of(&membership, account.as_ref())?;
        // Two resets at once take turns here (PostgreSQL; SQLite has one
        // writer), each judged on the account as the other left it. A reset
        // to this address a moment ago (a double click, the form sent
        // again) stands: its link would die by a second one.
        let locked = txn.accounts().lock(&as_read.id).await?;
        let (account, new) = recovery_reset_of(&membership, locked.as_ref())?;
        if let Err(refusal) = not_of_staff(&txn, account).await {
            txn.rollback().await?;
            return Err(refusal);
        }
        if !self.asked_a_moment_ago(&txn, account, new).await? {
            let notice = Mail::RecoveryEmailReset {
                username: account.username.as_str().to_owned(),
                library_name: self.library.name.as_str().to_owned(),
                new_email_masked: new.masked(),
            };
            let language = Language::from_code(&account.language).unwrap_or_default();
            selfservice::request_email_change(self.state, &txn, account, new, language, notice).await?;
            self.audit(
                &txn,
                "reset_recovery_email",
                Some(account),
                json!({ "card_number": card.as_str(), "new_email_masked": new.masked() }),
            )
            .await?;
            txn.commit().await?;
        }
        Ok(RecoveryReset {
            message: self.language.text("desk-recovery-reset-done"),
            username: account.username.as_str().to_owned(),
            new_email: new.as_str().to_owned(),
        })
    }

    /// Whether the account's newest open change of address, made less than
    /// [`RESEND_PAUSE`] ago, is to `new`.
    async fn asked_a_moment_ago(
        &self,
        txn: &impl Repositories,
        account: &Account,
        new: &Email,
    ) -> Result<bool, DeskError> {
        let pause_began = self.state.clock().now() - RESEND_PAUSE;
        let links = txn.account_links();
        Ok(links
            .open_one_issued_since(&account.id, LinkKind::ChangeEmail, pause_began)
            .await?
            && links.pending_email_change(&account.id).await?.as_ref() == Some(new))
    }

    /// Sends the confirmation mail of a pending account again, with a new
    /// link; not when one went less than [`RESEND_PAUSE`] ago (a double
    /// click, two desks at once), whose link would die by the new one.
    pub async fn resend_confirmation(&self, card: &CardNumber) -> Result<Resent, DeskError> {
        let txn = self.state.store.begin().await?;
        let (_, account) = self.membership_and_account(&txn, card).await?;
        let account = account.ok_or(DeskError::NoLoginAccount)?;
        if account.status != AccountStatus::Pending {
            return Err(DeskError::AlreadyConfirmed);
        }
        if account.email.is_none() {
            return Err(DeskError::NoAccountEmail);
        }
        // Two resends at once take turns here (PostgreSQL; SQLite has one writer).
        txn.accounts().lock(&account.id).await?;
        let pause_began = self.state.clock().now() - RESEND_PAUSE;
        if txn
            .account_links()
            .open_one_issued_since(&account.id, LinkKind::Confirm, pause_began)
            .await?
        {
            return Ok(Resent {
                account: AccountSummary::of(&account),
                mailed: false,
            });
        }
        selfservice::send_confirmation(self.state, &txn, &account).await?;
        self.audit(
            &txn,
            "resend_confirmation",
            Some(&account),
            json!({ "card_number": card.as_str() }),
        )
        .await?;
        txn.commit().await?;
        Ok(Resent {
            account: AccountSummary::of(&account),
            mailed: true,
        })
    }

    /// Staff cannot reset a password; the attempt is logged and refused with
    /// the way the member can do it.
    pub async fn refuse_password_reset(&self, card: &CardNumber) -> DeskError {
        let writer = self.state.store.as_writer().await;
        let recorded = async {
            let (_, account) = self.membership_and_account(&writer, card).await?;
            self.audit(
                &writer,
                "password_reset_refused",
                account.as_ref(),
                json!({ "card_number": card.as_str() }),
            )
            .await?;
            Ok::<_, DeskError>(())
        }
        .await;
        match recorded {
            Ok(()) => DeskError::PasswordResetNotOffered,
            Err(error) => error,
        }
    }

    /// This library's audit log, newest first.
    pub async fn audit_log(&self, limit: u64) -> Result<Vec<AuditLine>, DeskError> {
        let entries = self
            .state
            .store
            .audit()
            .list(AuditFilter {
                library: Some(self.library),
                account: None,
                limit,
            })
            .await?;
        Ok(entries
            .into_iter()
            .map(|entry| AuditLine {
                at: entry.at_rfc3339(),
                actor: entry.actor,
                action: entry.action,
                account: entry.account,
                detail: entry.detail,
            })
            .collect())
    }

    /// A refusal in words, in the desk's language, with the help address where it points there.
    pub fn refusal_message(&self, error: &DeskError) -> String {
        error.message(self.language, self.help_url())
    }
}

/// What a registration is made on: see [`Desk::terms`].
struct Terms {
    branch: Branch,
    subscription: SubscriptionType,
    cost: CostOverview,
}

/// Why one attempt at a registration did not commit.
enum RegisterFailure {
    Refused(DeskError),
    /// Another request took the generated username first.
    UsernameRace,
    /// Another request holds the idempotency key.
    KeyTaken,
}

impl From<DeskError> for RegisterFailure {
    fn from(error: DeskError) -> Self {
        RegisterFailure::Refused(error)
    }
}

/// Parsing helpers shared by the API and the console.
pub fn parse_card(input: &str) -> Result<CardNumber, DeskError> {
    let parsed = CardNumber::parse(input);
    let refusal = card_refusal(&parsed);
    parsed.map_err(|_| DeskError::Invalid(vec![FieldError::new("card_number", refusal)]))
}

/// An e-mail address as typed; blank is none.
pub fn parse_email(input: Option<&str>) -> Result<Option<Email>, DeskError> {
    match input.map(str::trim) {
        None | Some("") => Ok(None),
        Some(typed) => Email::parse(typed)
            .map(Some)
            .map_err(|_| DeskError::Invalid(vec![FieldError::new("email", "invalid_email")])),
    }
}

pub fn parse_username(input: &str) -> Result<Username, DeskError> {
    let refusal = match input.trim() {
        "" => "username_required",
        _ => "invalid_username",
    };
    Username::parse(input).map_err(|_| DeskError::Invalid(vec![FieldError::new("username", refusal)]))
}

/// The member's language for mails, as [`mail_language`] reads it.
pub fn parse_mail_language(input: Option<&str>) -> Result<Language, DeskError> {
    mail_language(input)
        .ok_or_else(|| DeskError::Invalid(vec![FieldError::new("language", "invalid_language")]))
}

/// An idempotency key the desk keeps: 1 to 255 visible ASCII characters.
pub fn is_idempotency_key(key: &str) -> bool {
    (1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic())
}

/// Refuses an account that holds the desk role at any library: a desk that
/// could move its recovery address could take it over, and with it the
/// consoles of other libraries.
async fn not_of_staff(repositories: &impl Repositories, account: &Account) -> Result<(), DeskError> {
    if holds_staff_role(repositories, account).await? {
        return Err(DeskError::StaffAccount);
    }
    Ok(())
}

async fn holds_staff_role(repositories: &impl Repositories, account: &Account) -> Result<bool, StoreError> {
    Ok(!repositories.staff().libraries_of(&account.id).await?.is_empty())
}

/// The account whose recovery address the registration's address would
/// become, and that address; or why it cannot: no account or no address,
/// or the address is already the account's (waiting for its confirmation,
/// or confirmed).
fn recovery_reset_of<'a>(
    membership: &'a Membership,
    account: Option<&'a Account>,
) -> Result<(&'a Account, &'a Email), DeskError> {
    let account = account.ok_or(DeskError::NoLoginAccount)?;
    let new = membership.email.as_ref().ok_or(DeskError::NoRegistrationEmail)?;
    if account.email.as_ref() == Some(new) {
        if account.status == AccountStatus::Pending {
            return Err(DeskError::AwaitingConfirmation);
        }
        if account.email_verified_at.is_some() {
            return Err(DeskError::AlreadyRecoveryAddress);
        }
    }
    Ok((account, new))
}
