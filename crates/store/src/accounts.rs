//! Login accounts: one per person, found by its opaque id, by its username
//! (exact and case-sensitive) or by its recovery e-mail address.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
    sea_query::{Expr, ExprTrait, Func, OnConflict},
};
use serde::Serialize;
use si_domain::{AccountId, AccountStatus, Email, Username};
use time::OffsetDateTime;

use crate::{
    Clock, StoreError,
    entity::{account, username_reservation},
    error::parse_stored,
};

/// A username an account gave up, held for it until `until`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldName {
    pub username: String,
    pub until: OffsetDateTime,
}

/// What a new account starts with. The id is drawn here, from the OS generator.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub username: Username,
    pub email: Option<Email>,
    pub status: AccountStatus,
    pub language: String,
    /// A PHC or legacy hash string; `None` until the member sets a password.
    pub password_hash: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Account {
    pub id: AccountId,
    pub username: Username,
    pub email: Option<Email>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub email_verified_at: Option<OffsetDateTime>,
    #[serde(skip)]
    pub password_hash: Option<String>,
    pub status: AccountStatus,
    pub language: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_login_at: Option<OffsetDateTime>,
}

pub struct Accounts<'c, C> {
    conn: &'c C,
    clock: &'c dyn Clock,
}

impl<'c, C: ConnectionTrait> Accounts<'c, C> {
    pub(crate) fn new(conn: &'c C, clock: &'c dyn Clock) -> Self {
        Self { conn, clock }
    }

    /// Creates the account; a username already in use is `StoreError::Duplicate`.
    pub async fn create(&self, new: NewAccount) -> Result<Account, StoreError> {
        let now = self.clock.now_millis();
        let row = account::ActiveModel {
            id: Set(AccountId::from_bytes(rand::random()).to_string()),
            username: Set(new.username.as_str().to_owned()),
            email: Set(new.email.as_ref().map(|e| e.as_str().to_owned())),
            email_verified_at: Set(None),
            password_hash: Set(new.password_hash),
            status: Set(new.status.as_str().to_owned()),
            language: Set(new.language),
            created_at: Set(now),
            updated_at: Set(now),
            last_login_at: Set(None),
        }
        .insert(self.conn)
        .await
        .map_err(|e| StoreError::on_write("username", e))?;
        account_from_row(row)
    }

    pub async fn by_id(&self, id: &AccountId) -> Result<Option<Account>, StoreError> {
        account::Entity::find_by_id(id.to_string())
            .one(self.conn)
            .await?
            .map(account_from_row)
            .transpose()
    }

    /// The account, its row held until the transaction ends, so that
    /// changes of one account sent together wait for each other (on
    /// PostgreSQL; SQLite's one writer does so anyway).
    pub async fn lock(&self, id: &AccountId) -> Result<Option<Account>, StoreError> {
        account::Entity::find_by_id(id.to_string())
            .lock_exclusive()
            .one(self.conn)
            .await?
            .map(account_from_row)
            .transpose()
    }

    /// Exact, case-sensitive lookup: `Jan` and `jan` are two accounts.
    pub async fn by_username(&self, username: &Username) -> Result<Option<Account>, StoreError> {
        account::Entity::find()
            .filter(account::Column::Username.eq(username.as_str()))
            .one(self.conn)
            .await?
            .map(account_from_row)
            .transpose()
    }

    /// Every account on a recovery address, in any case: families share
    /// addresses, and `Ouders@…` and `ouders@…` reach the same mailbox.
    pub async fn by_email(&self, email: &Email) -> Result<Vec<Account>, StoreError> {
        let lower_case = email.as_str().to_ascii_lowercase();
        account::Entity::find()
            .filter(Expr::expr(Func::lower(Expr::col(account::Column::Email))).eq(lower_case))
            .order_by_asc(account::Column::Username)
            .all(self.conn)
            .await?
            .into_iter()
            .map(account_from_row)
            .collect()
    }

    pub async fn set_password_hash(&self, id: &AccountId, hash: String) -> Result<(), StoreError> {
        self.update(id, |row| row.password_hash = Set(Some(hash))).await
    }

    pub async fn set_status(&self, id: &AccountId, status: AccountStatus) -> Result<(), StoreError> {
        self.update(id, |row| row.status = Set(status.as_str().to_owned()))
            .await
    }

    /// The member proved the recovery address is theirs (a mailed link was
    /// used): the address counts as verified and a pending account is active.
    pub async fn confirm_email(&self, id: &AccountId) -> Result<(), StoreError> {
        let now = self.clock.now_millis();
        self.update(id, |row| {
            row.email_verified_at = Set(Some(now));
            row.status = Set(AccountStatus::Active.as_str().to_owned());
        })
        .await
    }

    /// A new recovery address the member proved to be theirs.
    pub async fn set_verified_email(&self, id: &AccountId, email: &Email) -> Result<(), StoreError> {
        let (email, now) = (email.as_str().to_owned(), self.clock.now_millis());
        self.update(id, |row| {
            row.email = Set(Some(email));
            row.email_verified_at = Set(Some(now));
        })
        .await
    }

    /// The language of the account's mails (`nl`, `en`).
    pub async fn set_language(&self, id: &AccountId, language: &str) -> Result<(), StoreError> {
        let language = language.to_owned();
        self.update(id, |row| row.language = Set(language)).await
    }

    /// The address of an account nobody has confirmed yet, corrected at the
    /// desk: still unproven, as before.
    pub async fn readdress_pending(&self, id: &AccountId, email: &Email) -> Result<(), StoreError> {
        let email = email.as_str().to_owned();
        self.update(id, |row| {
            row.email = Set(Some(email));
            row.email_verified_at = Set(None);
        })
        .await
    }

    pub async fn rename(&self, id: &AccountId, username: &Username) -> Result<(), StoreError> {
        let username = username.as_str().to_owned();
        self.update(id, |row| row.username = Set(username)).await
    }

    /// A member's own change of username: the new one must be free (not in
    /// use, not held for someone else), and the old one is held for this
    /// account until `hold_until`, so no one takes it over at once. Run it in
    /// a transaction, and commit only on `Ok`: the checks and the writes
    /// belong together (`Duplicate` may come after the rename). False, and
    /// nothing changed, when the account no longer has the username it had
    /// in `account`: a change sent beside this one came first, and the name
    /// it left must stay held.
    pub async fn change_username(
        &self,
        account: &Account,
        new: &Username,
        hold_until: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        if !self.is_free_for(new, Some(&account.id)).await? {
            return Err(StoreError::Duplicate { what: "username" });
        }
        let renamed = account::Entity::update_many()
            .col_expr(account::Column::Username, Expr::value(new.as_str()))
            .col_expr(account::Column::UpdatedAt, Expr::value(self.clock.now_millis()))
            .filter(account::Column::Id.eq(account.id.to_string()))
            .filter(account::Column::Username.eq(account.username.as_str()))
            .exec(self.conn)
            .await
            .map_err(|e| StoreError::on_write("username", e))?;
        if renamed.rows_affected == 0 {
            return Ok(false);
        }
        // Taking a name back ends its hold, as does a hold run out. A name
        // another member gave up since the check above (their change
        // committed while it ran) is held for them: the caller's transaction
        // must not commit.
        let now = self.clock.now_millis();
        username_reservation::Entity::delete_many()
            .filter(username_reservation::Column::Username.eq(new.as_str()))
            .filter(
                Condition::any()
                    .add(username_reservation::Column::AccountId.eq(account.id.to_string()))
                    .add(username_reservation::Column::ReservedUntil.lte(now)),
            )
            .exec(self.conn)
            .await?;
        let held_for_another = username_reservation::Entity::find_by_id(new.as_str().to_owned())
            .one(self.conn)
            .await?;
        if held_for_another.is_some() {
            return Err(StoreError::Duplicate { what: "username" });
        }
        username_reservation::Entity::insert(username_reservation::ActiveModel {
            username: Set(account.username.as_str().to_owned()),
            account_id: Set(account.id.to_string()),
            reserved_until: Set(crate::sessions::to_millis(hold_until)),
        })
        .on_conflict(
            OnConflict::column(username_reservation::Column::Username)
                .update_columns([
                    username_reservation::Column::AccountId,
                    username_reservation::Column::ReservedUntil,
                ])
                .to_owned(),
        )
        .exec_without_returning(self.conn)
        .await?;
        Ok(true)
    }

    /// The usernames this account gave up that are still held for it, the
    /// one held shortest first.
    pub async fn names_held_for(&self, id: &AccountId) -> Result<Vec<HeldName>, StoreError> {
        username_reservation::Entity::find()
            .filter(username_reservation::Column::AccountId.eq(id.to_string()))
            .filter(username_reservation::Column::ReservedUntil.gt(self.clock.now_millis()))
            .order_by_asc(username_reservation::Column::ReservedUntil)
            .all(self.conn)
            .await?
            .into_iter()
            .map(|row| {
                Ok(HeldName {
                    until: millis_to_time("name held until", row.reserved_until)?,
                    username: row.username,
                })
            })
            .collect()
    }

    /// Whether a new account may take `username`: no account has it and it is
    /// not held for anyone.
    pub async fn is_free(&self, username: &Username) -> Result<bool, StoreError> {
        self.is_free_for(username, None).await
    }

    /// Free, or held for `holder` (who may take their old name back).
    async fn is_free_for(&self, username: &Username, holder: Option<&AccountId>) -> Result<bool, StoreError> {
        let held = username_reservation::Entity::find_by_id(username.as_str().to_owned())
            .one(self.conn)
            .await?
            .is_some_and(|held| {
                held.reserved_until > self.clock.now_millis()
                    && holder.is_none_or(|holder| held.account_id != holder.to_string())
            });
        Ok(!held && self.by_username(username).await?.is_none())
    }

    /// Records a login whose password was checked against the hash
    /// `checked`, if the account is still active with that hash; false when
    /// a change, a reset or a block came in between, which then wins.
    pub async fn record_login(&self, id: &AccountId, checked: &str) -> Result<bool, StoreError> {
        let now = self.clock.now_millis();
        self.update_if_checked(id, checked, |row| row.last_login_at = Set(Some(now)))
            .await
    }

    /// Replaces the password hash `checked` (the one a password was just
    /// proven against) with `hash`, if the account is still active with it;
    /// false when a change, a reset or a block came in between.
    pub async fn replace_password_hash(
        &self,
        id: &AccountId,
        checked: &str,
        hash: String,
    ) -> Result<bool, StoreError> {
        self.update_if_checked(id, checked, |row| row.password_hash = Set(Some(hash)))
            .await
    }

    async fn update(
        &self,
        id: &AccountId,
        change: impl FnOnce(&mut account::ActiveModel),
    ) -> Result<(), StoreError> {
        if self.update_where(id, Condition::all(), change).await? == 0 {
            return Err(StoreError::NotFound { what: "account" });
        }
        Ok(())
    }

    /// Holds the account to the end of the transaction (PostgreSQL locks
    /// its row, SQLite's one writer holds all), if it is still active with
    /// the password hash `checked`; false when it is not.
    pub async fn hold_checked(&self, id: &AccountId, checked: &str) -> Result<bool, StoreError> {
        use account::Column::{Id, UpdatedAt};
        let held = account::Entity::update_many()
            .col_expr(UpdatedAt, Expr::col(UpdatedAt))
            .filter(Id.eq(id.to_string()))
            .filter(still_checked(checked))
            .exec(self.conn)
            .await?;
        Ok(held.rows_affected == 1)
    }

    /// As [`Self::update`], only while the account is active with the
    /// password hash `checked`; the row is then held as by
    /// [`Self::hold_checked`].
    async fn update_if_checked(
        &self,
        id: &AccountId,
        checked: &str,
        change: impl FnOnce(&mut account::ActiveModel),
    ) -> Result<bool, StoreError> {
        Ok(self.update_where(id, still_checked(checked), change).await? == 1)
    }

    /// Changes the account `id` if it meets `condition`; how many rows changed.
    async fn update_where(
        &self,
        id: &AccountId,
        condition: Condition,
        change: impl FnOnce(&mut account::ActiveModel),
    ) -> Result<u64, StoreError> {
        let mut row = account::ActiveModel {
            id: sea_orm::Unchanged(id.to_string()),
            updated_at: Set(self.clock.now_millis()),
            ..Default::default()
        };
        change(&mut row);
        let result = account::Entity::update_many()
            .set(row)
            .filter(account::Column::Id.eq(id.to_string()))
            .filter(condition)
            .exec(self.conn)
            .await
            .map_err(|e| StoreError::on_write("username", e))?;
        Ok(result.rows_affected)
    }
}

/// An account still active with the password hash `checked`.
fn still_checked(checked: &str) -> Condition {
    Condition::all()
        .add(account::Column::PasswordHash.eq(checked))
        .add(account::Column::Status.eq(AccountStatus::Active.as_str()))
}

pub(crate) fn millis_to_time(what: &'static str, millis: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000).map_err(|_| {
        StoreError::Corrupt {
            what,
            value: millis.to_string(),
        }
    })
}

pub(crate) fn account_from_row(row: account::Model) -> Result<Account, StoreError> {
    Ok(Account {
        id: parse_stored("account id", &row.id, AccountId::parse)?,
        username: parse_stored("username", &row.username, Username::parse)?,
        email: row
            .email
            .as_deref()
            .map(|e| parse_stored("e-mail", e, Email::parse))
            .transpose()?,
        email_verified_at: row
            .email_verified_at
            .map(|m| millis_to_time("e-mail verified at", m))
            .transpose()?,
        password_hash: row.password_hash,
        status: parse_stored("account status", &row.status, str::parse)?,
        language: row.language,
        created_at: millis_to_time("created at", row.created_at)?,
        last_login_at: row
            .last_login_at
            .map(|m| millis_to_time("last login", m))
            .transpose()?,
    })
}
