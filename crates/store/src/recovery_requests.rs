//! Recovery requests ("Wachtwoord vergeten", "Gebruikersnaam vergeten")
//! between the answer and their mail. The answer says a mail is on its way
//! before the account is looked up (so that its timing tells nothing), so
//! the request is stored first: a node that stops in between leaves it for
//! another to finish. One node takes it, in the transaction that queues the
//! mail.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use std::time::Duration;

use crate::{Clock, StoreError, entity::recovery_request};

/// A request as the member asked it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryRequest {
    /// What was forgotten: the caller's own name for it.
    pub kind: String,
    /// The username or address typed.
    pub typed: String,
    /// The language of the page it was asked on.
    pub language: String,
    /// The sign-in the member came from, as the form gave it.
    pub login_return: String,
}

pub struct RecoveryRequests<'c, C> {
    conn: &'c C,
    clock: &'c dyn Clock,
}

impl<'c, C: ConnectionTrait> RecoveryRequests<'c, C> {
    pub(crate) fn new(conn: &'c C, clock: &'c dyn Clock) -> Self {
        Self { conn, clock }
    }

    /// Stores `request`; its id, to take it by.
    pub async fn add(&self, request: &RecoveryRequest) -> Result<i64, StoreError> {
        let row = recovery_request::ActiveModel {
            kind: Set(request.kind.clone()),
            typed: Set(request.typed.clone()),
            language: Set(request.language.clone()),
            login_return: Set(request.login_return.clone()),
            asked_at: Set(self.clock.now_millis()),
            waiting_since: Set(self.clock.now_millis()),
            ..Default::default()
        }
        .insert(self.conn)
        .await
        .map_err(|e| StoreError::on_write("recovery request", e))?;
        Ok(row.id)
    }

    /// Takes the request `id` in the caller's transaction: gone once it
    /// commits; `None` when another node took it already.
    pub async fn take(&self, id: i64) -> Result<Option<RecoveryRequest>, StoreError> {
        let Some(row) = recovery_request::Entity::find_by_id(id).one(self.conn).await? else {
            return Ok(None);
        };
        let deleted = recovery_request::Entity::delete_by_id(id).exec(self.conn).await?;
        if deleted.rows_affected == 0 {
            return Ok(None);
        }
        Ok(Some(RecoveryRequest {
            kind: row.kind,
            typed: row.typed,
            language: row.language,
            login_return: row.login_return,
        }))
    }

    /// The ids of up to `limit` requests waiting `age` or longer, the
    /// longest first: left by a node that stopped before it finished them,
    /// or put back in line after a failure.
    pub async fn left_over(&self, age: Duration, limit: u64) -> Result<Vec<i64>, StoreError> {
        Ok(recovery_request::Entity::find()
            .select_only()
            .column(recovery_request::Column::Id)
            .filter(recovery_request::Column::WaitingSince.lte(self.since(age)))
            .order_by_asc(recovery_request::Column::WaitingSince)
            .order_by_asc(recovery_request::Column::Id)
            .limit(limit)
            .into_tuple()
            .all(self.conn)
            .await?)
    }

    /// Puts the request `id` back in line, behind those waiting now.
    pub async fn postpone(&self, id: i64) -> Result<(), StoreError> {
        recovery_request::Entity::update_many()
            .col_expr(
                recovery_request::Column::WaitingSince,
                self.clock.now_millis().into(),
            )
            .filter(recovery_request::Column::Id.eq(id))
            .exec(self.conn)
            .await?;
        Ok(())
    }

    /// Deletes the requests asked longer than `age` ago; how many.
    pub async fn drop_older_than(&self, age: Duration) -> Result<u64, StoreError> {
        let dropped = recovery_request::Entity::delete_many()
            .filter(recovery_request::Column::AskedAt.lt(self.since(age)))
            .exec(self.conn)
            .await?;
        Ok(dropped.rows_affected)
    }

    /// The moment `age` ago, in the table's milliseconds.
    fn since(&self, age: Duration) -> i64 {
        let age = i64::try_from(age.as_millis()).unwrap_or(i64::MAX);
        self.clock.now_millis().saturating_sub(age)
    }
}
