//! Tables used as work queues (the mail outbox, back-channel logout
//! notifications): rows are `pending`, claimed as `sending` with a lease by
//! one worker, then done, retried later, or failed. One UPDATE … RETURNING
//! claims a batch on both databases.

use std::time::Duration;

use sea_orm::{
    ConnectionTrait, DbErr, FromQueryResult,
    sea_query::{
        Alias, CommonTableExpression, Condition, Expr, ExprTrait, LockBehavior, LockType, Query, WithClause,
    },
};

pub(crate) const PENDING: &str = "pending";
pub(crate) const SENDING: &str = "sending";
pub(crate) const FAILED: &str = "failed";
const CANDIDATES: &str = "candidates";

fn column(name: &str) -> Expr {
    Expr::col(Alias::new(name))
}

/// Claims up to `limit` due rows of `table` for `worker` that also meet
/// `wanted` (`Condition::all()` for any): pending rows whose time has come,
/// and rows whose previous worker's lease ran out; rows tried fewer times
/// first.
pub(crate) async fn claim<M: FromQueryResult, C: ConnectionTrait>(
    conn: &C,
    table: &str,
    worker: &str,
    limit: u32,
    wanted: Condition,
    lease: Duration,
    now: i64,
) -> Result<Vec<M>, DbErr> {
    let due = Condition::any()
        .add(
            Condition::all()
                .add(column("status").eq(PENDING))
                .add(column("next_attempt_at").lte(now)),
        )
        .add(
            Condition::all()
                .add(column("status").eq(SENDING))
                .add(column("lease_until").lt(now)),
        );
    let candidates = Query::select()
        .column(Alias::new("id"))
        .from(Alias::new(table))
        // Implied by `due`, but said outright, in literals that a prepared
        // plan sees too, it lets both databases read the rows in claim order
        // from the index of live rows (step 0013): with half a million
        // waiting, a claim took 0.2–0.4 s, now 1 ms.
        .and_where(Expr::cust(format!("status IN ('{PENDING}', '{SENDING}')")))
        .cond_where(due)
        .cond_where(wanted)
        // First attempts before retries: rows that keep failing (a relying
        // party that hangs, a mail domain that refuses) must not hold up new
        // ones. Among these, the longest due first.
        .order_by(Alias::new("attempts"), sea_orm::Order::Asc)
        .order_by(Alias::new("next_attempt_at"), sea_orm::Order::Asc)
        .order_by(Alias::new("id"), sea_orm::Order::Asc)
        .limit(u64::from(limit))
        // PostgreSQL: rows another worker is claiming are passed over, not
        // waited for (two claims that waited on each other's rows, locked in
        // different orders, deadlocked), and a row another worker claimed
        // since is checked again and left. SQLite has one writer.
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .to_owned();
    // A materialized CTE runs once. As a subquery of `IN`, PostgreSQL may run
    // it again for each row, each run skipping what the last one locked: a
    // claim of 100 took 450.
    let candidates = CommonTableExpression::new()
        .table_name(Alias::new(CANDIDATES))
        .query(candidates)
        .materialized(true)
        .to_owned();
    let candidate_ids = Query::select()
        .column(Alias::new("id"))
        .from(Alias::new(CANDIDATES))
        .to_owned();
    let claim = Query::update()
        .table(Alias::new(table))
        .value(Alias::new("status"), SENDING)
        .value(Alias::new("lease_until"), now + lease.as_millis() as i64)
        .value(Alias::new("leased_by"), worker)
        .value(Alias::new("attempts"), column("attempts").add(1))
        .and_where(column("id").in_subquery(candidate_ids))
        .returning_all()
        .to_owned()
        .with(WithClause::new().cte(candidates).to_owned());
    let statement = conn.get_database_backend().build(&claim);
    M::find_by_statement(statement).all(conn).await
}

/// Extends the lease of the rows `worker` still holds as `sending`: a worker
/// whose batch takes longer than one lease keeps it, instead of another
/// worker claiming (and sending) it a second time.
pub(crate) async fn renew<C: ConnectionTrait>(
    conn: &C,
    table: &str,
    worker: &str,
    lease_until: i64,
) -> Result<u64, DbErr> {
    let renew = Query::update()
        .table(Alias::new(table))
        .value(Alias::new("lease_until"), lease_until)
        .and_where(column("status").eq(SENDING))
        .and_where(column("leased_by").eq(worker))
        .to_owned();
    conn.execute(&renew).await.map(|result| result.rows_affected())
}

/// Puts a claimed row back as `status` (pending for a retry, failed), keeping
/// the reason; only the worker that holds it may.
pub(crate) async fn release<C: ConnectionTrait>(
    conn: &C,
    table: &str,
    worker: &str,
    id: i64,
    status: &str,
    reason: &str,
    next_attempt_at: i64,
) -> Result<(), DbErr> {
    let release = Query::update()
        .table(Alias::new(table))
        .value(Alias::new("status"), status)
        .value(Alias::new("next_attempt_at"), next_attempt_at)
        .value(
            Alias::new("last_error"),
            reason.chars().take(1000).collect::<String>(),
        )
        .value(Alias::new("lease_until"), Option::<i64>::None)
        .and_where(column("id").eq(id))
        .and_where(column("leased_by").eq(worker))
        .to_owned();
    conn.execute(&release).await.map(drop)
}
