//! The mail outbox: mails are written in the same transaction as the action
//! that causes them, and delivery workers claim them with a lease so that
//! several nodes never send one mail at the same time, and a crashed node's
//! mails are taken over when its lease runs out.

use std::time::Duration;

use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set, sea_query::Expr,
};
use serde::Serialize;
use si_domain::Email;
use time::OffsetDateTime;

use crate::{
    Clock, StoreError,
    accounts::millis_to_time,
    entity::outbox_mail::{self, Column},
    work_queue::{self, FAILED, PENDING, SENDING},
};

const TABLE: &str = "mail_outbox";
const SENT: &str = "sent";

/// A mail to queue: the template's name, the language, and its data as JSON.
#[derive(Debug, Clone)]
pub struct NewMail<'a> {
    pub recipient: &'a Email,
    pub template: &'a str,
    pub language: &'a str,
    pub payload: String,
}

/// A mail claimed by a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedMail {
    pub id: i64,
    pub recipient: String,
    /// Random and fixed at enqueue: retries carry the same Message-ID.
    pub message_key: String,
    pub template: String,
    pub language: String,
    pub payload: String,
    /// Including this one.
    pub attempts: u32,
}

/// Counts per state and the age of the oldest mail still waiting.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OutboxStatus {
    pub pending: u64,
    pub sending: u64,
    pub sent: u64,
    pub failed: u64,
    #[serde(with = "time::serde::rfc3339::option")]
    pub oldest_pending_since: Option<OffsetDateTime>,
    /// The end of the latest lease on a mail being sent: a worker that
    /// stopped holds its mails until then, and they go again after.
    #[serde(with = "time::serde::rfc3339::option")]
    pub sending_held_until: Option<OffsetDateTime>,
}

/// One row as the operator sees it (without its payload).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutboxEntry {
    pub id: i64,
    pub recipient: String,
    pub template: String,
    pub status: String,
    pub attempts: u32,
    pub last_error: Option<String>,
}

pub struct Outbox<'c, C> {
    conn: &'c C,
    clock: &'c dyn Clock,
}

impl<'c, C: ConnectionTrait> Outbox<'c, C> {
    pub(crate) fn new(conn: &'c C, clock: &'c dyn Clock) -> Self {
        Self { conn, clock }
    }

    /// Queues one mail; part of the caller's transaction when there is one.
    pub async fn enqueue(&self, mail: NewMail<'_>) -> Result<i64, StoreError> {
        let now = self.clock.now_millis();
        let row = new_row(mail, now).insert(self.conn).await?;
        Ok(row.id)
    }

    /// Queues many mails in multi-row inserts (go-live mails, benchmarks).
    pub async fn enqueue_many(&self, mails: Vec<NewMail<'_>>) -> Result<u64, StoreError> {
        let now = self.clock.now_millis();
        let mut queued = 0;
        let mut rows = mails.into_iter().map(|mail| new_row(mail, now));
        // 13 bound values a row: 500 rows stay under SQLite's 32,766 parameters.
        loop {
            let chunk: Vec<_> = rows.by_ref().take(500).collect();
            if chunk.is_empty() {
                return Ok(queued);
            }
            queued += chunk.len() as u64;
            outbox_mail::Entity::insert_many(chunk)
                .exec_without_returning(self.conn)
                .await?;
        }
    }

    /// Claims up to `limit` due mails for `worker`: pending mails whose time
    /// has come, and mails whose previous worker's lease ran out.
    pub async fn claim(
        &self,
        worker: &str,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<ClaimedMail>, StoreError> {
        let now = self.clock.now_millis();
        let mut rows: Vec<outbox_mail::Model> =
            work_queue::claim(self.conn, TABLE, worker, limit, Condition::all(), lease, now).await?;
        rows.sort_by_key(|row| row.id);
        Ok(rows
            .into_iter()
            .map(|row| ClaimedMail {
                id: row.id,
                recipient: row.recipient,
                message_key: row.message_key,
                template: row.template,
                language: row.language,
                payload: row.payload,
                attempts: u32::try_from(row.attempts).unwrap_or(u32::MAX),
            })
            .collect())
    }

    /// Keeps the mails `worker` is still sending for another `lease`.
    pub async fn renew_lease(&self, worker: &str, lease: Duration) -> Result<u64, StoreError> {
        let until = self.clock.now_millis() + lease.as_millis() as i64;
        Ok(work_queue::renew(self.conn, TABLE, worker, until).await?)
    }

    /// Marks mails as sent and wipes their payload: the links in it are secrets.
    pub async fn mark_sent(&self, worker: &str, ids: &[i64]) -> Result<u64, StoreError> {
        if ids.is_empty() {
            return Ok(0);
        }
        let result = outbox_mail::Entity::update_many()
            .col_expr(Column::Status, Expr::value(SENT))
            .col_expr(Column::SentAt, Expr::value(self.clock.now_millis()))
            .col_expr(Column::Payload, Expr::value("{}"))
            .col_expr(Column::LeaseUntil, Expr::value(Option::<i64>::None))
            .col_expr(Column::LastError, Expr::value(Option::<String>::None))
            .filter(Column::Id.is_in(ids.iter().copied()))
            .filter(Column::LeasedBy.eq(worker))
            .exec(self.conn)
            .await?;
        Ok(result.rows_affected)
    }

    /// A temporary failure: try again at `at`.
    pub async fn retry_at(
        &self,
        worker: &str,
        id: i64,
        error: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let at = (at.unix_timestamp_nanos() / 1_000_000) as i64;
        self.release(worker, id, PENDING, error, at).await
    }

    /// A permanent failure: keep the server's answer and stop trying. The
    /// content goes, as with a sent mail: it may hold a live link.
    pub async fn mark_failed(&self, worker: &str, id: i64, error: &str) -> Result<(), StoreError> {
        let now = self.clock.now_millis();
        self.release(worker, id, FAILED, error, now).await?;
        outbox_mail::Entity::update_many()
            .col_expr(Column::Payload, Expr::value("{}"))
            .filter(Column::Id.eq(id))
            .filter(Column::Status.eq(FAILED))
            .exec(self.conn)
            .await?;
        Ok(())
    }

    async fn release(
        &self,
        worker: &str,
        id: i64,
        status: &str,
        error: &str,
        next: i64,
    ) -> Result<(), StoreError> {
        Ok(work_queue::release(self.conn, TABLE, worker, id, status, error, next).await?)
    }

    pub async fn status(&self) -> Result<OutboxStatus, StoreError> {
        let count = |status: &'static str| {
            outbox_mail::Entity::find()
                .filter(Column::Status.eq(status))
                .count(self.conn)
        };
        let oldest = outbox_mail::Entity::find()
            .filter(Column::Status.is_in([PENDING, SENDING]))
            .order_by_asc(Column::CreatedAt)
            .one(self.conn)
            .await?;
        let latest_lease = outbox_mail::Entity::find()
            .filter(Column::Status.eq(SENDING))
            .order_by_desc(Column::LeaseUntil)
            .one(self.conn)
            .await?;
        Ok(OutboxStatus {
            pending: count(PENDING).await?,
            sending: count(SENDING).await?,
            sent: count(SENT).await?,
            failed: count(FAILED).await?,
            oldest_pending_since: oldest
                .map(|row| millis_to_time("queued at", row.created_at))
                .transpose()?,
            sending_held_until: latest_lease
                .and_then(|row| row.lease_until)
                .map(|until| millis_to_time("leased until", until))
                .transpose()?,
        })
    }

    /// The most recent mails that gave up, for `mail status`.
    pub async fn failures(&self, limit: u64) -> Result<Vec<OutboxEntry>, StoreError> {
        use sea_orm::QuerySelect;
        Ok(outbox_mail::Entity::find()
            .filter(Column::Status.eq(FAILED))
            .order_by_desc(Column::Id)
            .limit(limit)
            .all(self.conn)
            .await?
            .into_iter()
            .map(entry_from_row)
            .collect())
    }

    /// Every mail, oldest first, for tests and inspection.
    pub async fn entries(&self) -> Result<Vec<OutboxEntry>, StoreError> {
        Ok(outbox_mail::Entity::find()
            .order_by_asc(Column::Id)
            .all(self.conn)
            .await?
            .into_iter()
            .map(entry_from_row)
            .collect())
    }
}

fn new_row(mail: NewMail<'_>, now: i64) -> outbox_mail::ActiveModel {
    outbox_mail::ActiveModel {
        created_at: Set(now),
        recipient: Set(mail.recipient.as_str().to_owned()),
        message_key: Set(format!("{:032x}", rand::random::<u128>())),
        template: Set(mail.template.to_owned()),
        language: Set(mail.language.to_owned()),
        payload: Set(mail.payload),
        status: Set(PENDING.to_owned()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        lease_until: Set(None),
        leased_by: Set(None),
        last_error: Set(None),
        sent_at: Set(None),
        ..Default::default()
    }
}

fn entry_from_row(row: outbox_mail::Model) -> OutboxEntry {
    OutboxEntry {
        id: row.id,
        recipient: row.recipient,
        template: row.template,
        status: row.status,
        attempts: u32::try_from(row.attempts).unwrap_or(u32::MAX),
        last_error: row.last_error,
    }
}
