//! Registrations: one member at one library, with or without a login account.

use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::Serialize;
use si_domain::{AccountId, CardNumber, DisplayName, Email};
use time::Date;

use crate::{
    Clock, StoreError,
    catalogue::{Branch, Library, SubscriptionType},
    entity::{library, membership, subscription_type},
    error::parse_stored,
};

/// A registration as the desk enters it; catalogue rows are already resolved.
#[derive(Debug, Clone)]
pub struct NewMembership<'a> {
    pub library: &'a Library,
    pub branch: &'a Branch,
    pub subscription: &'a SubscriptionType,
    pub card_number: CardNumber,
    pub member_name: DisplayName,
    pub birth_date: Date,
    pub email: Option<Email>,
    pub valid_until: Date,
    pub account: Option<AccountId>,
}

/// A membership with the names a member or a relying party needs to see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Membership {
    #[serde(skip)]
    pub id: i64,
    pub library_code: String,
    pub library_name: String,
    pub card_number: CardNumber,
    pub member_name: DisplayName,
    pub birth_date: Date,
    pub email: Option<Email>,
    pub subscription_code: String,
    /// The subscription type's name, as the library calls it ("Jeugd").
    pub subscription_name: String,
    pub valid_until: Date,
    pub account: Option<AccountId>,
}

pub struct Memberships<'c, C> {
    conn: &'c C,
    clock: &'c dyn Clock,
}

impl<'c, C: ConnectionTrait> Memberships<'c, C> {
    pub(crate) fn new(conn: &'c C, clock: &'c dyn Clock) -> Self {
        Self { conn, clock }
    }

    /// Stores the registration; a card number already used at that library is
    /// `StoreError::Duplicate`.
    pub async fn create(&self, new: NewMembership<'_>) -> Result<Membership, StoreError> {
        let row = membership::ActiveModel {
            library_id: Set(new.library.id),
            branch_id: Set(new.branch.id),
            card_number: Set(new.card_number.as_str().to_owned()),
            member_name: Set(new.member_name.as_str().to_owned()),
            birth_date: Set(new.birth_date),
            email: Set(new.email.as_ref().map(|e| e.as_str().to_owned())),
            subscription_type_id: Set(new.subscription.id),
            valid_until: Set(new.valid_until),
            account_id: Set(new.account.as_ref().map(ToString::to_string)),
            created_at: Set(self.clock.now_millis()),
            ..Default::default()
        }
        .insert(self.conn)
        .await
        .map_err(|e| StoreError::on_write("card number at this library", e))?;
        membership_from_row(
            row,
            new.library,
            new.subscription.code.as_str(),
            new.subscription.name.as_str(),
        )
    }

    /// Every membership of an account, ordered by library code.
    pub async fn of_account(&self, account: &AccountId) -> Result<Vec<Membership>, StoreError> {
        let rows = membership::Entity::find()
            .filter(membership::Column::AccountId.eq(account.to_string()))
            .all(self.conn)
            .await?;
        let mut memberships = Vec::with_capacity(rows.len());
        for row in rows {
            let library = library::Entity::find_by_id(row.library_id)
                .one(self.conn)
                .await?
                .ok_or(StoreError::NotFound { what: "library" })?;
            let subscription = subscription_type::Entity::find_by_id(row.subscription_type_id)
                .one(self.conn)
                .await?
                .ok_or(StoreError::NotFound {
                    what: "subscription type",
                })?;
            let library = Library {
                id: library.id,
                code: parse_stored("library code", &library.code, si_domain::LibraryCode::parse)?,
                name: parse_stored("library name", &library.name, DisplayName::parse)?,
            };
            memberships.push(membership_from_row(
                row,
                &library,
                &subscription.code,
                &subscription.name,
            )?);
        }
        memberships.sort_by(|a, b| a.library_code.cmp(&b.library_code));
        Ok(memberships)
    }

    /// The membership a card number has at a library, if any.
    pub async fn by_card(
        &self,
        library: &Library,
        card: &CardNumber,
    ) -> Result<Option<Membership>, StoreError> {
        let Some(row) = membership::Entity::find()
            .filter(membership::Column::LibraryId.eq(library.id))
            .filter(membership::Column::CardNumber.eq(card.as_str()))
            .one(self.conn)
            .await?
        else {
            return Ok(None);
        };
        let subscription = subscription_type::Entity::find_by_id(row.subscription_type_id)
            .one(self.conn)
            .await?
            .ok_or(StoreError::NotFound {
                what: "subscription type",
            })?;
        membership_from_row(row, library, &subscription.code, &subscription.name).map(Some)
    }

    /// Attaches a membership that has no login account to `account`; false
    /// when it has one (another desk may just have linked it), which stays.
    pub async fn link(&self, membership_id: i64, account: &AccountId) -> Result<bool, StoreError> {
        let result = membership::Entity::update_many()
            .col_expr(membership::Column::AccountId, Some(account.to_string()).into())
            .filter(membership::Column::Id.eq(membership_id))
            .filter(membership::Column::AccountId.is_null())
            .exec(self.conn)
            .await
            .map_err(|e| StoreError::on_write("membership", e))?;
        Ok(result.rows_affected == 1)
    }

    /// Detaches a membership from `account`; false when it is not attached
    /// to that account (any more), which then stays as it is.
    pub async fn unlink(&self, membership_id: i64, account: &AccountId) -> Result<bool, StoreError> {
        let result = membership::Entity::update_many()
            .col_expr(membership::Column::AccountId, Option::<String>::None.into())
            .filter(membership::Column::Id.eq(membership_id))
            .filter(membership::Column::AccountId.eq(account.to_string()))
            .exec(self.conn)
            .await
            .map_err(|e| StoreError::on_write("membership", e))?;
        Ok(result.rows_affected == 1)
    }

    /// Replaces the registration's e-mail address (none clears it); the
    /// login account's recovery address is not touched.
    pub async fn set_email(&self, membership_id: i64, email: Option<&Email>) -> Result<(), StoreError> {
        let email = email.map(|e| e.as_str().to_owned());
        self.set(membership_id, membership::Column::Email, email).await
    }

    async fn set(
        &self,
        membership_id: i64,
        column: membership::Column,
        value: Option<String>,
    ) -> Result<(), StoreError> {
        let result = membership::Entity::update_many()
            .col_expr(column, value.into())
            .filter(membership::Column::Id.eq(membership_id))
            .exec(self.conn)
            .await
            .map_err(|e| StoreError::on_write("membership", e))?;
        if result.rows_affected == 0 {
            return Err(StoreError::NotFound { what: "membership" });
        }
        Ok(())
    }

    /// Memberships of a library, newest card first order by card number.
    pub async fn of_library(&self, library: &Library) -> Result<Vec<Membership>, StoreError> {
        let rows = membership::Entity::find()
            .filter(membership::Column::LibraryId.eq(library.id))
            .order_by_asc(membership::Column::CardNumber)
            .all(self.conn)
            .await?;
        let subscriptions = subscription_type::Entity::find()
            .filter(subscription_type::Column::LibraryId.eq(library.id))
            .all(self.conn)
            .await?;
        rows.into_iter()
            .map(|row| {
                let subscription = subscriptions
                    .iter()
                    .find(|s| s.id == row.subscription_type_id)
                    .ok_or(StoreError::NotFound {
                        what: "subscription type",
                    })?;
                membership_from_row(row, library, &subscription.code, &subscription.name)
            })
            .collect()
    }
}

fn membership_from_row(
    row: membership::Model,
    library: &Library,
    subscription_code: &str,
    subscription_name: &str,
) -> Result<Membership, StoreError> {
    Ok(Membership {
        id: row.id,
        library_code: library.code.to_string(),
        library_name: library.name.to_string(),
        card_number: parse_stored("card number", &row.card_number, CardNumber::parse)?,
        member_name: parse_stored("member name", &row.member_name, DisplayName::parse)?,
        birth_date: row.birth_date,
        email: row
            .email
            .as_deref()
            .map(|e| parse_stored("e-mail", e, Email::parse))
            .transpose()?,
        subscription_code: subscription_code.to_owned(),
        subscription_name: subscription_name.to_owned(),
        valid_until: row.valid_until,
        account: row
            .account_id
            .as_deref()
            .map(|id| parse_stored("account id", id, AccountId::parse))
            .transpose()?,
    })
}
