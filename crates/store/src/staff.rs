//! Desk staff: which login accounts may work at which library's desk.

use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set, sea_query::OnConflict,
};
use si_domain::AccountId;

use crate::{
    Clock, StoreError,
    catalogue::Library,
    entity::{account, library, staff_role},
};

pub struct Staff<'c, C> {
    conn: &'c C,
    clock: &'c dyn Clock,
}

impl<'c, C: ConnectionTrait> Staff<'c, C> {
    pub(crate) fn new(conn: &'c C, clock: &'c dyn Clock) -> Self {
        Self { conn, clock }
    }

    /// Gives the account the staff role at the library; `false`, and no
    /// change, when it had it already.
    pub async fn grant(&self, account: &AccountId, library: &Library) -> Result<bool, StoreError> {
        let inserted = staff_role::Entity::insert(staff_role::ActiveModel {
            account_id: Set(account.to_string()),
            library_id: Set(library.id),
            granted_at: Set(self.clock.now_millis()),
            ..Default::default()
        })
        .on_conflict(
            OnConflict::columns([staff_role::Column::AccountId, staff_role::Column::LibraryId])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(self.conn)
        .await
        .map_err(|e| StoreError::on_write("staff role", e))?;
        Ok(inserted > 0)
    }

    /// Takes the role away; `false` when the account did not have it.
    pub async fn revoke(&self, account: &AccountId, library: &Library) -> Result<bool, StoreError> {
        let result = staff_role::Entity::delete_many()
            .filter(staff_role::Column::AccountId.eq(account.to_string()))
            .filter(staff_role::Column::LibraryId.eq(library.id))
            .exec(self.conn)
            .await?;
        Ok(result.rows_affected > 0)
    }

    /// The usernames of the library's desk staff, sorted.
    pub async fn usernames_at(&self, library: &Library) -> Result<Vec<String>, StoreError> {
        let account_ids: Vec<String> = staff_role::Entity::find()
            .filter(staff_role::Column::LibraryId.eq(library.id))
            .all(self.conn)
            .await?
            .into_iter()
            .map(|role| role.account_id)
            .collect();
        Ok(account::Entity::find()
            .filter(account::Column::Id.is_in(account_ids))
            .order_by_asc(account::Column::Username)
            .all(self.conn)
            .await?
            .into_iter()
            .map(|row| row.username)
            .collect())
    }

    /// The libraries whose desk the account works at, by library code.
    pub async fn libraries_of(&self, account: &AccountId) -> Result<Vec<Library>, StoreError> {
        let library_ids: Vec<i64> = staff_role::Entity::find()
            .filter(staff_role::Column::AccountId.eq(account.to_string()))
            .all(self.conn)
            .await?
            .into_iter()
            .map(|role| role.library_id)
            .collect();
        library::Entity::find()
            .filter(library::Column::Id.is_in(library_ids))
            .order_by_asc(library::Column::Code)
            .all(self.conn)
            .await?
            .into_iter()
            .map(crate::catalogue::library_from_row)
            .collect()
    }
}
