//! Single-use links mailed to a member: confirm the account and set a first
//! password, choose a new password after "Wachtwoord vergeten", or confirm a
//! new e-mail address. The link
//! carries a 256-bit random token; only its digest is stored. Using a link
//! spends it, and every other open link of the same purpose for the account.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
    sea_query::Expr,
};
use si_domain::{AccountId, Email};
use time::OffsetDateTime;

use crate::{
    Clock, StoreError, accounts::millis_to_time, entity::account_link, error::parse_stored,
    sessions::to_millis,
};

/// What a link is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkPurpose {
    /// The confirmation mail of a new account: confirms the e-mail address
    /// and lets the member set the first password.
    Confirm,
    /// "Wachtwoord vergeten": choose a new password.
    ResetPassword,
    /// Sent to a new e-mail address: it becomes the recovery address once
    /// the member follows the link.
    ChangeEmail(Email),
}

impl LinkPurpose {
    pub fn kind(&self) -> LinkKind {
        match self {
            LinkPurpose::Confirm => LinkKind::Confirm,
            LinkPurpose::ResetPassword => LinkKind::ResetPassword,
            LinkPurpose::ChangeEmail(_) => LinkKind::ChangeEmail,
        }
    }

    fn new_email(&self) -> Option<String> {
        match self {
            LinkPurpose::ChangeEmail(email) => Some(email.as_str().to_owned()),
            _ => None,
        }
    }

    /// The purpose as stored: the kind, and the new address of a change.
    fn from_row(row: &account_link::Model) -> Result<Self, StoreError> {
        match (row.purpose.as_str(), &row.new_email) {
            ("confirm", _) => Ok(LinkPurpose::Confirm),
            ("reset_password", _) => Ok(LinkPurpose::ResetPassword),
            ("change_email", Some(email)) => Ok(LinkPurpose::ChangeEmail(parse_stored(
                "e-mail",
                email,
                Email::parse,
            )?)),
            (other, _) => Err(StoreError::Corrupt {
                what: "link purpose",
                value: other.to_owned(),
            }),
        }
    }
}

/// The kinds of link, to look one up by (the new address is on the row).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    Confirm,
    ResetPassword,
    ChangeEmail,
}

impl LinkKind {
    fn as_str(self) -> &'static str {
        match self {
            LinkKind::Confirm => "confirm",
            LinkKind::ResetPassword => "reset_password",
            LinkKind::ChangeEmail => "change_email",
        }
    }
}

/// A link as issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountLink {
    pub account: AccountId,
    pub purpose: LinkPurpose,
    pub expires_at: OffsetDateTime,
}

/// What a presented link turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkState {
    Valid(AccountLink),
    /// Used already, or replaced by a newer one that was used: the member
    /// can ask for a new mail.
    Used(AccountId),
    Expired(AccountId),
    Unknown,
}

pub struct AccountLinks<'c, C> {
    conn: &'c C,
    clock: &'c dyn Clock,
}

impl<'c, C: ConnectionTrait> AccountLinks<'c, C> {
    pub(crate) fn new(conn: &'c C, clock: &'c dyn Clock) -> Self {
        Self { conn, clock }
    }

    pub async fn issue(&self, token_digest: &str, link: &AccountLink) -> Result<(), StoreError> {
        account_link::ActiveModel {
            token_digest: Set(token_digest.to_owned()),
            account_id: Set(link.account.to_string()),
            purpose: Set(link.purpose.kind().as_str().to_owned()),
            new_email: Set(link.purpose.new_email()),
            created_at: Set(self.clock.now_millis()),
            expires_at: Set(to_millis(link.expires_at)),
            used_at: Set(None),
        }
        .insert(self.conn)
        .await?;
        Ok(())
    }

    /// Whether a link of `kind` that is still open was issued to the account
    /// at `since` or later.
    pub async fn open_one_issued_since(
        &self,
        account: &AccountId,
        kind: LinkKind,
        since: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let found = account_link::Entity::find()
            .filter(account_link::Column::AccountId.eq(account.to_string()))
            .filter(account_link::Column::Purpose.eq(kind.as_str()))
            .filter(account_link::Column::CreatedAt.gte(to_millis(since)))
            .filter(account_link::Column::UsedAt.is_null())
            .one(self.conn)
            .await?;
        Ok(found.is_some())
    }

    /// The address the account's open change link would make its recovery
    /// address: the newest request that waits for its link to be followed.
    pub async fn pending_email_change(&self, account: &AccountId) -> Result<Option<Email>, StoreError> {
        let newest = account_link::Entity::find()
            .filter(account_link::Column::AccountId.eq(account.to_string()))
            .filter(account_link::Column::Purpose.eq(LinkKind::ChangeEmail.as_str()))
            .filter(account_link::Column::UsedAt.is_null())
            .filter(account_link::Column::ExpiresAt.gt(self.clock.now_millis()))
            .order_by_desc(account_link::Column::CreatedAt)
            .one(self.conn)
            .await?;
        match newest.map(|row| LinkPurpose::from_row(&row)).transpose()? {
            Some(LinkPurpose::ChangeEmail(email)) => Ok(Some(email)),
            _ => Ok(None),
        }
    }

    /// The link's state, without using it (to show its page).
    pub async fn check(&self, token_digest: &str, kind: LinkKind) -> Result<LinkState, StoreError> {
        let Some(row) = account_link::Entity::find_by_id(token_digest.to_owned())
            .filter(account_link::Column::Purpose.eq(kind.as_str()))
            .one(self.conn)
            .await?
        else {
            return Ok(LinkState::Unknown);
        };
        let account = parse_stored("account id", &row.account_id, AccountId::parse)?;
        if row.used_at.is_some() {
            return Ok(LinkState::Used(account));
        }
        if row.expires_at <= self.clock.now_millis() {
            return Ok(LinkState::Expired(account));
        }
        Ok(LinkState::Valid(AccountLink {
            account,
            purpose: LinkPurpose::from_row(&row)?,
            expires_at: millis_to_time("link expiry", row.expires_at)?,
        }))
    }

    /// Ends the open links that set a password (confirmation and reset): the
    /// password was set another way, or they went to an address that is no
    /// longer the account's.
    pub async fn end_password_links(&self, account: &AccountId) -> Result<(), StoreError> {
        let kinds = [LinkKind::Confirm.as_str(), LinkKind::ResetPassword.as_str()];
        self.end(
            account,
            Condition::all().add(account_link::Column::Purpose.is_in(kinds)),
        )
        .await
    }

    /// Ends the open links that would make an address the account's: all of
    /// them, or those to `to`. Only the newest request may be confirmed, and
    /// none to an address the library no longer holds.
    pub async fn end_email_change_links(
        &self,
        account: &AccountId,
        to: Option<&Email>,
    ) -> Result<(), StoreError> {
        let which = Condition::all()
            .add(account_link::Column::Purpose.eq(LinkKind::ChangeEmail.as_str()))
            .add_option(to.map(|to| account_link::Column::NewEmail.eq(to.as_str())));
        self.end(account, which).await
    }

    async fn end(&self, account: &AccountId, which: Condition) -> Result<(), StoreError> {
        account_link::Entity::update_many()
            .col_expr(account_link::Column::UsedAt, Expr::value(self.clock.now_millis()))
            .filter(account_link::Column::AccountId.eq(account.to_string()))
            .filter(which)
            .filter(account_link::Column::UsedAt.is_null())
            .exec(self.conn)
            .await?;
        Ok(())
    }

    /// Spends a valid link and every other open link of its purpose for the
    /// same account. The conditional UPDATE comes first, so of two uses of
    /// one link exactly one wins (and, in a transaction, holds the writer).
    pub async fn spend(&self, token_digest: &str, kind: LinkKind) -> Result<LinkState, StoreError> {
        let now = self.clock.now_millis();
        let spent = account_link::Entity::update_many()
            .col_expr(account_link::Column::UsedAt, Expr::value(now))
            .filter(account_link::Column::TokenDigest.eq(token_digest))
            .filter(account_link::Column::Purpose.eq(kind.as_str()))
            .filter(account_link::Column::UsedAt.is_null())
            .filter(account_link::Column::ExpiresAt.gt(now))
            .exec_with_returning(self.conn)
            .await?;
        let Some(row) = spent.into_iter().next() else {
            return self.check(token_digest, kind).await;
        };
        account_link::Entity::update_many()
            .col_expr(account_link::Column::UsedAt, Expr::value(now))
            .filter(account_link::Column::AccountId.eq(row.account_id.clone()))
            .filter(account_link::Column::Purpose.eq(kind.as_str()))
            .filter(account_link::Column::UsedAt.is_null())
            .exec(self.conn)
            .await?;
        Ok(LinkState::Valid(AccountLink {
            account: parse_stored("account id", &row.account_id, AccountId::parse)?,
            purpose: LinkPurpose::from_row(&row)?,
            expires_at: millis_to_time("link expiry", row.expires_at)?,
        }))
    }
}
