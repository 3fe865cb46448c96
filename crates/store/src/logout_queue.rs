//! Back-channel logout notifications waiting to reach relying parties: a work
//! queue like the mail outbox, so a relying party that is down hears of the
//! logout when it is back.

use std::{collections::BTreeMap, time::Duration};

use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, sea_query::Expr,
};
use serde::Serialize;
use time::OffsetDateTime;

use crate::{
    Clock, StoreError,
    accounts::millis_to_time,
    entity::logout_notification::{self, Column},
    sessions::to_millis,
    work_queue::{self, FAILED, PENDING, SENDING},
};

const TABLE: &str = "logout_notifications";

/// A notification claimed for delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutNotification {
    pub id: i64,
    pub client_id: String,
    pub logout_uri: String,
    /// The logout token's algorithm and claims, signed afresh at each
    /// attempt: a token signed once would expire before its retries.
    pub to_sign: String,
    pub attempts: u32,
    pub status: String,
    pub last_error: Option<String>,
}

/// One client's notifications still kept, for the operator.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ClientBacklog {
    pub client_id: String,
    /// Waiting for their first attempt or a retry, or under way.
    pub waiting: u64,
    /// Given up after their last attempt (kept until housekeeping).
    pub failed: u64,
    /// When the oldest one waiting was queued.
    #[serde(with = "time::serde::rfc3339::option")]
    pub oldest_waiting_since: Option<OffsetDateTime>,
    /// The reason kept with the newest notice that failed an attempt.
    pub last_error: Option<String>,
}

/// A website whose last notice failed, as the queue keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnansweredWebsite {
    pub logout_uri: String,
    /// The client of its newest notice that failed.
    pub client_id: String,
    /// Why that notice failed.
    pub last_error: String,
}

/// The logout URIs a claim takes notifications for.
#[derive(Debug, Clone, Copy)]
pub enum Websites<'a> {
    /// Every one but these (websites that have enough under way).
    AllBut(&'a [String]),
    /// This one alone.
    Only(&'a str),
}

pub struct LogoutQueue<'c, C> {
    conn: &'c C,
    clock: &'c dyn Clock,
}

impl<'c, C: ConnectionTrait> LogoutQueue<'c, C> {
    pub(crate) fn new(conn: &'c C, clock: &'c dyn Clock) -> Self {
        Self { conn, clock }
    }

    pub async fn enqueue(&self, client_id: &str, logout_uri: &str, to_sign: &str) -> Result<i64, StoreError> {
        let now = self.clock.now_millis();
        let row = logout_notification::ActiveModel {
            created_at: Set(now),
            client_id: Set(client_id.to_owned()),
            logout_uri: Set(logout_uri.to_owned()),
            to_sign: Set(to_sign.to_owned()),
            status: Set(PENDING.to_owned()),
            attempts: Set(0),
            next_attempt_at: Set(now),
            lease_until: Set(None),
            leased_by: Set(None),
            last_error: Set(None),
            ..Default::default()
        }
        .insert(self.conn)
        .await?;
        Ok(row.id)
    }

    /// Claims up to `limit` due notifications for `worker`, to the
    /// `websites` (logout URIs) given.
    pub async fn claim(
        &self,
        worker: &str,
        limit: u32,
        websites: Websites<'_>,
        lease: Duration,
    ) -> Result<Vec<LogoutNotification>, StoreError> {
        let wanted = match websites {
            Websites::AllBut([]) => Condition::all(),
            Websites::AllBut(not_to) => {
                Condition::all().add(Column::LogoutUri.is_not_in(not_to.iter().cloned()))
            }
            Websites::Only(uri) => Condition::all().add(Column::LogoutUri.eq(uri)),
        };
        let now = self.clock.now_millis();
        let rows: Vec<logout_notification::Model> =
            work_queue::claim(self.conn, TABLE, worker, limit, wanted, lease, now).await?;
        Ok(rows.into_iter().map(notification_from_row).collect())
    }

    /// Delivered: nothing more to keep.
    pub async fn delivered(&self, worker: &str, id: i64) -> Result<(), StoreError> {
        logout_notification::Entity::delete_many()
            .filter(Column::Id.eq(id))
            .filter(Column::LeasedBy.eq(worker))
            .exec(self.conn)
            .await?;
        Ok(())
    }

    pub async fn retry_at(
        &self,
        worker: &str,
        id: i64,
        error: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        Ok(work_queue::release(self.conn, TABLE, worker, id, PENDING, error, to_millis(at)).await?)
    }

    pub async fn mark_failed(&self, worker: &str, id: i64, error: &str) -> Result<(), StoreError> {
        let now = self.clock.now_millis();
        Ok(work_queue::release(self.conn, TABLE, worker, id, FAILED, error, now).await?)
    }

    /// The websites that did not take the last notice sent to them: those
    /// with a notice waiting for its retry, or whose retry was under way on
    /// a node that stopped; each with the client and the reason of its
    /// newest such notice. By logout URI.
    pub async fn websites_awaiting_retry(&self) -> Result<Vec<UnansweredWebsite>, StoreError> {
        let newest: Vec<i64> = logout_notification::Entity::find()
            .select_only()
            .column_as(Column::Id.max(), "newest")
            .filter(Column::Status.is_in([PENDING, SENDING]))
            .filter(Column::LastError.is_not_null())
            .group_by(Column::LogoutUri)
            .into_tuple()
            .all(self.conn)
            .await?;
        let websites: Vec<(String, String, Option<String>)> = logout_notification::Entity::find()
            .select_only()
            .column(Column::LogoutUri)
            .column(Column::ClientId)
            .column(Column::LastError)
            .filter(Column::Id.is_in(newest))
            .order_by_asc(Column::LogoutUri)
            .into_tuple()
            .all(self.conn)
            .await?;
        Ok(websites
            .into_iter()
            .map(|(logout_uri, client_id, last_error)| UnansweredWebsite {
                logout_uri,
                client_id,
                last_error: last_error.unwrap_or_default(),
            })
            .collect())
    }

    /// Makes the notices to `logout_uri` that wait out a backoff due now:
    /// the website takes notices again, and they need not each wait for
    /// its own retry (up to an hour). Returns how many.
    pub async fn due_now_for(&self, logout_uri: &str) -> Result<u64, StoreError> {
        let now = self.clock.now_millis();
        let made_due = logout_notification::Entity::update_many()
            .col_expr(Column::NextAttemptAt, Expr::value(now))
            // In literals, as the index of live notices by website (step
            // 0014) has it, so that a prepared plan uses it too.
            .filter(Expr::cust(format!("status IN ('{PENDING}', '{SENDING}')")))
            .filter(Column::Status.eq(PENDING))
            .filter(Column::LogoutUri.eq(logout_uri))
            .filter(Column::NextAttemptAt.gt(now))
            .exec(self.conn)
            .await?;
        Ok(made_due.rows_affected)
    }

    /// Per client with notifications still kept: how many wait, how many
    /// failed, and the newest reason kept; by client id.
    pub async fn backlog_per_client(&self) -> Result<Vec<ClientBacklog>, StoreError> {
        let counts: Vec<(String, String, i64, i64)> = logout_notification::Entity::find()
            .select_only()
            .column(Column::ClientId)
            .column(Column::Status)
            .column_as(Column::Id.count(), "notices")
            .column_as(Column::CreatedAt.min(), "oldest")
            .group_by(Column::ClientId)
            .group_by(Column::Status)
            .into_tuple()
            .all(self.conn)
            .await?;
        let mut per_client = BTreeMap::<String, ClientBacklog>::new();
        for (client_id, status, notices, oldest) in counts {
            let backlog = per_client
                .entry(client_id.clone())
                .or_insert_with(|| ClientBacklog {
                    client_id,
                    ..Default::default()
                });
            let notices = u64::try_from(notices).unwrap_or_default();
            if status == FAILED {
                backlog.failed += notices;
            } else {
                backlog.waiting += notices;
                let since = millis_to_time("queued at", oldest)?;
                let earliest = backlog
                    .oldest_waiting_since
                    .map_or(since, |known| known.min(since));
                backlog.oldest_waiting_since = Some(earliest);
            }
        }
        let newest_failed: Vec<i64> = logout_notification::Entity::find()
            .select_only()
            .column_as(Column::Id.max(), "newest")
            .filter(Column::LastError.is_not_null())
            .group_by(Column::ClientId)
            .into_tuple()
            .all(self.conn)
            .await?;
        let errors: Vec<(String, Option<String>)> = logout_notification::Entity::find()
            .select_only()
            .column(Column::ClientId)
            .column(Column::LastError)
            .filter(Column::Id.is_in(newest_failed))
            .into_tuple()
            .all(self.conn)
            .await?;
        for (client_id, last_error) in errors {
            if let Some(backlog) = per_client.get_mut(&client_id) {
                backlog.last_error = last_error;
            }
        }
        Ok(per_client.into_values().collect())
    }

    /// Every notification still kept (waiting or failed), oldest first.
    pub async fn entries(&self) -> Result<Vec<LogoutNotification>, StoreError> {
        Ok(logout_notification::Entity::find()
            .order_by_asc(Column::Id)
            .all(self.conn)
            .await?
            .into_iter()
            .map(notification_from_row)
            .collect())
    }
}

fn notification_from_row(row: logout_notification::Model) -> LogoutNotification {
    LogoutNotification {
        id: row.id,
        client_id: row.client_id,
        logout_uri: row.logout_uri,
        to_sign: row.to_sign,
        attempts: u32::try_from(row.attempts).unwrap_or(u32::MAX),
        status: row.status,
        last_error: row.last_error,
    }
}
