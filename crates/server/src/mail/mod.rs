//! Mail: what we send (one `Mail` per kind, stored in the outbox as JSON),
//! how it is composed in the member's language, and how it is delivered.

pub mod compose;
pub mod delivery;

use serde::{Deserialize, Serialize};
use si_domain::Email;
use si_store::{Repositories, StoreError, legacy_import::MergedLogins, outbox::NewMail};
use time::Date;

use crate::{http::i18n::Language, oidc::keys::SealingKey};

/// Queues `mail` for `to` in the member's language, inside the caller's
/// transaction when `repositories` is one: no commit, no mail. The mail is
/// stored sealed with the key-encryption key until it is sent.
pub async fn queue<R: Repositories>(
    repositories: &R,
    sealing: &SealingKey,
    to: &Email,
    language: Language,
    mail: &Mail,
) -> Result<i64, StoreError> {
    repositories
        .outbox()
        .enqueue(NewMail {
            recipient: to,
            template: mail.template(),
            language: language.code(),
            payload: sealed_payload(sealing, to, mail).ok_or(StoreError::Unwritable {
                what: "a mail",
                cause: "it could not be sealed: the system's random source failed",
            })?,
        })
        .await
}

/// `mail` as the outbox stores it for `to`: sealed JSON; none when the
/// system's random source fails.
pub fn sealed_payload(sealing: &SealingKey, to: &Email, mail: &Mail) -> Option<String> {
    let json = serde_json::to_string(mail).ok()?;
    let context = sealing_context(to.as_str(), mail.template());
    Some(format!("{SEALED}{}", sealing.seal_mail(&context, &json)?))
}

/// Marks a sealed outbox payload. One without it is JSON that a version
/// before the sealing queued, read as it is so that an upgrade loses no mail.
const SEALED: &str = "sealed:";

/// A queued mail's JSON, opened; none when it does not open with this key
/// on this row.
pub fn open_queued(sealing: &SealingKey, recipient: &str, template: &str, payload: &str) -> Option<String> {
    match payload.strip_prefix(SEALED) {
        Some(sealed) => sealing.open_mail(&sealing_context(recipient, template), sealed),
        None => Some(payload.to_owned()),
    }
}

/// What a sealed mail is bound to: a payload moved onto a row for another
/// address or kind of mail does not open.
fn sealing_context(recipient: &str, template: &str) -> String {
    format!("{template}\n{recipient}")
}

/// Every mail the service sends, with the facts it needs. Stored in the outbox
/// until sent, so links are written here and wiped once the mail has gone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "template", rename_all = "snake_case")]
pub enum Mail {
    /// A desk generated the account: confirm the address, then set a password.
    AccountConfirmation {
        name: String,
        username: String,
        link: String,
    },
    /// About two weeks before go-live: one login for everything is coming.
    MigrationAnnouncement { name: String, go_live: Date },
    /// At go-live: the username to use from now on; the password is unchanged.
    GoLiveUsername {
        name: String,
        username: String,
        change: UsernameChange,
        /// What the other rows of a merged account logged in with, which stops working.
        #[serde(default)]
        merged: Option<MergedLogins>,
        has_password: bool,
    },
    /// "Wachtwoord vergeten": a reset link.
    ForgotPassword {
        username: String,
        link: String,
        valid_minutes: u32,
    },
    /// "Gebruikersnaam vergeten": every username on this address.
    ForgotUsername { usernames: Vec<String> },
    /// Confirm a new e-mail address before it becomes the recovery address.
    EmailChangeVerification { username: String, link: String },
    /// To the old address: the e-mail address of the account is being changed.
    EmailChangedNotice {
        username: String,
        new_email_masked: String,
    },
    /// A library linked a new registration to the account.
    AccountLinked { username: String, library_name: String },
    /// A library took its registration off the account (linked by mistake).
    AccountUnlinked { username: String, library_name: String },
    /// The password was changed.
    PasswordChanged { username: String },
    /// The username was changed on the account page.
    UsernameChanged { old: String, new: String },
    /// A desk reset the recovery address to the one in the registration.
    RecoveryEmailReset {
        username: String,
        library_name: String,
        new_email_masked: String,
    },
}

/// What happened to a member's old username at go-live.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum UsernameChange {
    /// The old portal username is kept.
    Kept,
    /// Someone else had the name (or it broke the rules): a new one was given.
    Replaced { old: String, reason: RenameReason },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RenameReason {
    /// Another member at another library used the same name.
    TakenByAnother,
    /// The old name does not meet today's rules (4–80 letters, digits, `_ - @ .`).
    NotAllowed,
    /// The member had no portal username.
    Missing,
}

impl Mail {
    /// The outbox's name for this kind of mail.
    pub fn template(&self) -> &'static str {
        match self {
            Mail::AccountConfirmation { .. } => "account_confirmation",
            Mail::MigrationAnnouncement { .. } => "migration_announcement",
            Mail::GoLiveUsername { .. } => "go_live_username",
            Mail::ForgotPassword { .. } => "forgot_password",
            Mail::ForgotUsername { .. } => "forgot_username",
            Mail::EmailChangeVerification { .. } => "email_change_verification",
            Mail::EmailChangedNotice { .. } => "email_changed_notice",
            Mail::AccountLinked { .. } => "account_linked",
            Mail::AccountUnlinked { .. } => "account_unlinked",
            Mail::PasswordChanged { .. } => "password_changed",
            Mail::UsernameChanged { .. } => "username_changed",
            Mail::RecoveryEmailReset { .. } => "recovery_email_reset",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queued_mail_opens_only_as_the_kind_and_for_the_address_it_was_queued_as() {
        let sealing = SealingKey::from_base64(&"A".repeat(43)).unwrap();
        let sanne = Email::parse("sanne@example.nl").unwrap();
        let mail = Mail::PasswordChanged {
            username: "sanne".into(),
        };
        let payload = sealed_payload(&sealing, &sanne, &mail).unwrap();
        let json = serde_json::to_string(&mail).unwrap();
        assert_eq!(
            open_queued(&sealing, "sanne@example.nl", "password_changed", &payload),
            Some(json)
        );
        assert_eq!(
            open_queued(&sealing, "sanne@example.nl", "username_changed", &payload),
            None
        );
        assert_eq!(
            open_queued(&sealing, "pieter@example.nl", "password_changed", &payload),
            None
        );
    }
}
