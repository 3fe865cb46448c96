//! Housekeeping: what has outlived its use is deleted, so that tables do
//! not grow for ever — ended sessions (a day after their end, once no
//! refresh token issued in them lives), spent codes, dead refresh tokens,
//! revocations past the token's expiry, old throttle counters, and, after
//! a retention period, sent mail, used links and idempotency records. The
//! audit log and accounts are never touched. Deletes go in batches, so one
//! sweep never holds SQLite's writer, or a PostgreSQL lock, for long; any
//! number of nodes may sweep at once.

use std::time::Duration;

use sea_orm::{
    ConnectionTrait, DbErr, SqliteTransactionMode, TransactionOptions, TransactionSession, TransactionTrait,
    sea_query::{Alias, Condition, Expr, ExprTrait, LockType, Order, Query},
};
use serde::Serialize;

use crate::{Clock, StoreError};

/// Rows deleted per statement.
const BATCH: u64 = 5_000;

/// How long records are kept once they are of no more use to the service
/// but may still be to a person: sent and failed mail (the operator's "did
/// it go out?"), used or expired links (so a member who clicks an old link
/// hears it was used, not that it never existed).
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub records: Duration,
    /// Desk API idempotency keys: a retry later than this is a new request.
    pub idempotency: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            records: Duration::from_secs(30 * 24 * 3600),
            idempotency: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// How many rows a sweep deleted, per table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Swept {
    pub browser_sessions: u64,
    pub session_clients: u64,
    pub authorization_codes: u64,
    pub refresh_families: u64,
    pub revoked_access_tokens: u64,
    pub login_throttle: u64,
    pub mail_outbox: u64,
    pub logout_notifications: u64,
    pub account_links: u64,
    pub desk_requests: u64,
    pub username_reservations: u64,
}

impl Swept {
    pub fn total(&self) -> u64 {
        self.browser_sessions
            + self.session_clients
            + self.authorization_codes
            + self.refresh_families
            + self.revoked_access_tokens
            + self.login_throttle
            + self.mail_outbox
            + self.logout_notifications
            + self.account_links
            + self.desk_requests
            + self.username_reservations
    }
}

pub struct Housekeeping<'c, C> {
    conn: &'c C,
    clock: &'c dyn Clock,
}

fn col(name: &str) -> Expr {
    Expr::col(Alias::new(name))
}

const DAY_MS: i64 = 24 * 3600 * 1000;

impl<'c, C: ConnectionTrait> Housekeeping<'c, C> {
    pub(crate) fn new(conn: &'c C, clock: &'c dyn Clock) -> Self {
        Self { conn, clock }
    }
}

impl<C: ConnectionTrait + TransactionTrait> Housekeeping<'_, C> {
    /// Deletes everything that has outlived its use, as of now.
    pub async fn sweep(&self, retention: Retention) -> Result<Swept, StoreError> {
        let now = self.clock.now_millis();
        let kept = |d: Duration| now - i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2);
        let records = kept(retention.records);
        let (browser_sessions, session_clients) = self.sweep_sessions(now).await?;
        Ok(Swept {
            browser_sessions,
            session_clients,
            // A day after expiry a replay would be refused as unknown anyway.
            authorization_codes: self
                .delete(
                    "authorization_codes",
                    "code_digest",
                    col("expires_at").lt(now - DAY_MS).into(),
                )
                .await?,
            refresh_families: self
                .delete(
                    "refresh_families",
                    "family_id",
                    Condition::any()
                        .add(col("expires_at").lt(now))
                        .add(col("revoked_at").lt(now - DAY_MS)),
                )
                .await?,
            revoked_access_tokens: self
                .delete("revoked_access_tokens", "jti", col("expires_at").lt(now).into())
                .await?,
            // A day without failures (to within one forgiveness interval):
            // whatever was counted is forgiven.
            login_throttle: self
                .delete(
                    "login_throttle",
                    "subject",
                    Condition::all()
                        .add(col("last_failure_at").lt(now - DAY_MS))
                        .add(col("blocked_until").lt(now)),
                )
                .await?,
            mail_outbox: self
                .delete(
                    "mail_outbox",
                    "id",
                    Condition::any()
                        .add(
                            Condition::all()
                                .add(col("status").eq("sent"))
                                .add(col("sent_at").lt(records)),
                        )
                        .add(
                            Condition::all()
                                .add(col("status").eq("failed"))
                                .add(col("next_attempt_at").lt(records)),
                        ),
                )
                .await?,
            logout_notifications: self
                .delete(
                    "logout_notifications",
                    "id",
                    Condition::all()
                        .add(col("status").eq("failed"))
                        .add(col("next_attempt_at").lt(records)),
                )
                .await?,
            account_links: self
                .delete(
                    "account_links",
                    "token_digest",
                    col("expires_at").lt(records).into(),
                )
                .await?,
            desk_requests: self
                .delete(
                    "desk_requests",
                    "id",
                    col("created_at").lt(kept(retention.idempotency)).into(),
                )
                .await?,
            username_reservations: self
                .delete(
                    "username_reservations",
                    "username",
                    col("reserved_until").lt(now).into(),
                )
                .await?,
        })
    }

    /// Deletes the sessions a day past their end once no refresh token
    /// issued in them lives (a logout in their browser still ends those),
    /// with the clients they had; returns how many of each. The sessions
    /// kept can be many, each checked against its tokens, so they are
    /// passed over by a read, in key order, and only the batch found is
    /// checked again as it is deleted: no delete holds SQLite's writer for
    /// the whole table. A batch's sessions and clients go in one
    /// transaction: a sweep stopped between the two (a node killed) leaves
    /// no clients behind whose session no later sweep would find.
    async fn sweep_sessions(&self, now: i64) -> Result<(u64, u64), DbErr> {
        let (mut sessions, mut clients) = (0, 0);
        let mut after = String::new();
        loop {
            let batch = Query::select()
                .column(Alias::new("id_digest"))
                .from(Alias::new("browser_sessions"))
                .cond_where(session_ended(now))
                .and_where(col("id_digest").gt(after.as_str()))
                .order_by(Alias::new("id_digest"), Order::Asc)
                .limit(BATCH)
                .to_owned();
            let keys = (self.conn.query_all(&batch).await?.iter())
                .map(|row| row.try_get::<String>("", "id_digest"))
                .collect::<Result<Vec<_>, _>>()?;
            let Some(last) = keys.last().cloned() else {
                return Ok((sessions, clients));
            };
            // Checked again: a login may have renewed one since.
            let txn = (self.conn)
                .begin_with_options(TransactionOptions {
                    sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                    ..TransactionOptions::default()
                })
                .await?;
            // On PostgreSQL the batch's rows are locked in key order first, as
            // a password change ending an account's sessions takes them: a
            // delete takes them in whatever order its plan reads them, and the
            // two could wait for each other (SQLite has one writer, and
            // ignores the lock).
            let in_key_order = Query::select()
                .column(Alias::new("id_digest"))
                .from(Alias::new("browser_sessions"))
                .and_where(col("id_digest").is_in(keys.iter()))
                .order_by(Alias::new("id_digest"), Order::Asc)
                .lock(LockType::Update)
                .to_owned();
            txn.query_all(&in_key_order).await?;
            let delete_sessions = Query::delete()
                .from_table(Alias::new("browser_sessions"))
                .cond_where(session_ended(now))
                .and_where(col("id_digest").is_in(keys.iter()))
                .to_owned();
            sessions += txn.execute(&delete_sessions).await?.rows_affected();
            // Then the clients of those that went: a session renewed in
            // between keeps its clients, for its next logout to tell.
            let remaining = Query::select()
                .column(Alias::new("id_digest"))
                .from(Alias::new("browser_sessions"))
                .and_where(col("id_digest").is_in(keys.iter()))
                .to_owned();
            let delete_clients = Query::delete()
                .from_table(Alias::new("session_clients"))
                .and_where(col("session_digest").is_in(keys.iter()))
                .and_where(col("session_digest").not_in_subquery(remaining))
                .to_owned();
            clients += txn.execute(&delete_clients).await?.rows_affected();
            txn.commit().await?;
            if keys.len() < BATCH as usize {
                return Ok((sessions, clients));
            }
            after = last;
        }
    }

    /// Deletes the rows of `table` that meet `condition`, about `BATCH` at a
    /// time, each batch found by `key`.
    async fn delete(&self, table: &str, key: &str, condition: Condition) -> Result<u64, DbErr> {
        let mut deleted = 0;
        loop {
            let batch = Query::select()
                .column(Alias::new(key))
                .from(Alias::new(table))
                .cond_where(condition.clone())
                .limit(BATCH)
                .to_owned();
            let statement = Query::delete()
                .from_table(Alias::new(table))
                .and_where(col(key).in_subquery(batch))
                .to_owned();
            let affected = self.conn.execute(&statement).await?.rows_affected();
            deleted += affected;
            if affected < BATCH {
                return Ok(deleted);
            }
        }
    }
}

/// A session a day past its end (a code it gave just before may still be
/// redeemed, and start a refresh family in it) in which no refresh token
/// lives any more.
fn session_ended(now: i64) -> Condition {
    let family = |name: &str| Expr::col((Alias::new("refresh_families"), Alias::new(name)));
    let live_tokens_of_the_session = Query::select()
        .expr(Expr::val(1))
        .from(Alias::new("refresh_families"))
        .and_where(family("session_digest").equals((Alias::new("browser_sessions"), Alias::new("id_digest"))))
        .and_where(family("revoked_at").is_null())
        .and_where(family("expires_at").gte(now))
        .to_owned();
    Condition::all()
        .add(Expr::col((Alias::new("browser_sessions"), Alias::new("expires_at"))).lt(now - DAY_MS))
        .add(Expr::exists(live_tokens_of_the_session).not())
}
