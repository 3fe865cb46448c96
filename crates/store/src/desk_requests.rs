//! Idempotency of desk requests: a library system that repeats a request with
//! the same `Idempotency-Key` gets the first answer again instead of a second
//! membership or account.

use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::{Clock, StoreError, catalogue::Library, entity::desk_request, housekeeping::Retention};

/// What became of an earlier request with the same key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Earlier {
    /// The same request, answered with this status and body.
    Answered { status: u16, body: String },
    /// The key was used for a different request.
    OtherRequest,
}

/// The status of a reserved key until its answer is written. Both happen in
/// one transaction, so no other request ever reads it.
const PENDING: i64 = 0;

pub struct DeskRequests<'c, C> {
    conn: &'c C,
    clock: &'c dyn Clock,
}

impl<'c, C: ConnectionTrait> DeskRequests<'c, C> {
    pub(crate) fn new(conn: &'c C, clock: &'c dyn Clock) -> Self {
        Self { conn, clock }
    }

    /// Claims the key for this request inside the caller's transaction;
    /// `StoreError::Duplicate` when it was claimed before (look at [`Self::earlier`]).
    pub async fn reserve(
        &self,
        library: &Library,
        key: &str,
        request_digest: &str,
    ) -> Result<i64, StoreError> {
        let row = desk_request::ActiveModel {
            library_id: Set(library.id),
            idempotency_key: Set(key.to_owned()),
            request_digest: Set(request_digest.to_owned()),
            response_status: Set(PENDING),
            response_body: Set(String::new()),
            created_at: Set(self.clock.now_millis()),
            ..Default::default()
        }
        .insert(self.conn)
        .await
        .map_err(|e| StoreError::on_write("idempotency key", e))?;
        Ok(row.id)
    }

    /// Stores the answer of a reserved request, in the same transaction as its work.
    pub async fn answer(&self, id: i64, status: u16, body: &str) -> Result<(), StoreError> {
        desk_request::Entity::update_many()
            .col_expr(desk_request::Column::ResponseStatus, i64::from(status).into())
            .col_expr(desk_request::Column::ResponseBody, body.into())
            .filter(desk_request::Column::Id.eq(id))
            .exec(self.conn)
            .await?;
        Ok(())
    }

    /// The answer stored under `key` at `library`, whatever request it
    /// answered, while the housekeeping's retention keeps it: for showing
    /// again what a request did.
    pub async fn answer_of(&self, library: &Library, key: &str) -> Result<Option<Earlier>, StoreError> {
        let retention = i64::try_from(Retention::default().idempotency.as_millis()).unwrap_or(i64::MAX);
        let row = desk_request::Entity::find()
            .filter(desk_request::Column::LibraryId.eq(library.id))
            .filter(desk_request::Column::IdempotencyKey.eq(key))
            .filter(desk_request::Column::ResponseStatus.ne(PENDING))
            .filter(desk_request::Column::CreatedAt.gte(self.clock.now_millis().saturating_sub(retention)))
            .one(self.conn)
            .await?;
        Ok(row.map(|row| Earlier::Answered {
            status: u16::try_from(row.response_status).unwrap_or_default(),
            body: row.response_body,
        }))
    }

    pub async fn earlier(
        &self,
        library: &Library,
        key: &str,
        request_digest: &str,
    ) -> Result<Option<Earlier>, StoreError> {
        let Some(row) = desk_request::Entity::find()
            .filter(desk_request::Column::LibraryId.eq(library.id))
            .filter(desk_request::Column::IdempotencyKey.eq(key))
            .one(self.conn)
            .await?
        else {
            return Ok(None);
        };
        if row.request_digest != request_digest {
            return Ok(Some(Earlier::OtherRequest));
        }
        let status = u16::try_from(row.response_status)
            .ok()
            .filter(|_| row.response_status != PENDING)
            .ok_or_else(|| StoreError::Corrupt {
                what: "desk response status",
                value: row.response_status.to_string(),
            })?;
        Ok(Some(Earlier::Answered {
            status,
            body: row.response_body,
        }))
    }
}
