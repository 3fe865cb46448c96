//! Idempotency of desk requests: a library system that repeats a request with
//! the same `Idempotency-Key` gets the first answer again instead of a second
//! membership or account.

use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::{Clock, StoreError, catalogue::Library, entity::desk_request};

/// What became of an earlier request with the same key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Earlier {
    /// The same request, answered with this status and body.
    Answered { status: u16, body: String },
    /// The same request, still being worked on by another call.
    InProgress,
    /// The key was used for a different request.
    OtherRequest,
}

/// A status that marks a reserved key whose answer is not written yet.
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
        Ok(Some(if row.request_digest != request_digest {
            Earlier::OtherRequest
        } else if row.response_status == PENDING {
            Earlier::InProgress
        } else {
            Earlier::Answered {
                status: u16::try_from(row.response_status).map_err(|_| StoreError::Corrupt {
                    what: "desk response status",
                    value: row.response_status.to_string(),
                })?,
                body: row.response_body,
            }
        }))
    }
}
