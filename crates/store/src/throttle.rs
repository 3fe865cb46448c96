//! Login throttling: failures counted per account and per source address in
//! the database, so the count holds across nodes. The recovery mails use it
//! too, counted per recipient. After a free number of
//! failures each further one blocks the subject a little longer, up to a
//! ceiling: slow for an attacker, never a lockout an attacker can make
//! permanent. Failures leak away with time (one per `forgive_every`), so the
//! typos of a busy library's shared address never add up to a block.

use std::time::Duration;

use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryTrait, Set,
    sea_query::{Expr, ExprTrait, OnConflict},
};
use time::OffsetDateTime;

use crate::{Clock, StoreError, accounts::millis_to_time, entity::login_throttle};

/// How failures turn into waiting.
#[derive(Debug, Clone, Copy)]
pub struct ThrottlePolicy {
    /// Failures allowed before any waiting: the next attempt after this many waits.
    pub free_failures: u32,
    /// Wait after the first failure past the free ones; doubles after each next one.
    pub first_block: Duration,
    pub longest_block: Duration,
    /// One failure on record is forgotten per this much time.
    pub forgive_every: Duration,
}

impl ThrottlePolicy {
    /// Slower after 5 failures, from 30 seconds up to 15 minutes; one
    /// failure forgiven per 15 minutes.
    pub const DEFAULT: Self = Self {
        free_failures: 5,
        first_block: Duration::from_secs(30),
        longest_block: Duration::from_secs(15 * 60),
        forgive_every: Duration::from_secs(15 * 60),
    };
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl ThrottlePolicy {
    fn block_after(&self, failures: u32) -> Duration {
        if failures < self.free_failures {
            return Duration::ZERO;
        }
        let doublings = Ord::min(failures - self.free_failures, 16);
        Ord::min(
            self.first_block.saturating_mul(1 << doublings),
            self.longest_block,
        )
    }
}

impl ThrottlePolicy {
    /// Until when a subject with `failures` counted waits, as an SQL
    /// expression: [`ThrottlePolicy::block_after`] written out as one CASE.
    fn blocked_until_expr(&self, failures: Expr, now: i64) -> Expr {
        let millis =
            |block: Duration| now.saturating_add(i64::try_from(block.as_millis()).unwrap_or(i64::MAX));
        let mut case = Expr::case(failures.clone().lt(i64::from(self.free_failures)), 0i64);
        // One WHEN per doubling, until the ceiling (block_after doubles at most 16 times).
        for counted in self.free_failures..=self.free_failures.saturating_add(16) {
            let block = self.block_after(counted);
            if block >= self.longest_block {
                break;
            }
            case = case.case(failures.clone().eq(i64::from(counted)), millis(block));
        }
        case.finally(millis(self.longest_block)).into()
    }
}

/// What [`Throttle::check`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleCheck {
    pub blocked_until: Option<OffsetDateTime>,
    /// The subjects with failures on record: a success resets only those.
    pub with_failures: Vec<String>,
}

pub struct Throttle<'c, C> {
    conn: &'c C,
    clock: &'c dyn Clock,
}

impl<'c, C: ConnectionTrait> Throttle<'c, C> {
    pub(crate) fn new(conn: &'c C, clock: &'c dyn Clock) -> Self {
        Self { conn, clock }
    }

    /// Until when any of `subjects` must wait, if one must, and which of them
    /// have failures on record (one query for all).
    pub async fn check(&self, subjects: &[String]) -> Result<ThrottleCheck, StoreError> {
        let rows = login_throttle::Entity::find()
            .filter(login_throttle::Column::Subject.is_in(subjects.iter().cloned()))
            .all(self.conn)
            .await?;
        let now = self.clock.now_millis();
        let latest = rows.iter().map(|row| row.blocked_until).max().unwrap_or(0);
        Ok(ThrottleCheck {
            blocked_until: match latest > now {
                true => Some(millis_to_time("blocked until", latest)?),
                false => None,
            },
            with_failures: rows.into_iter().map(|row| row.subject).collect(),
        })
    }

    /// Counts an attempt as a failure before its password is checked, and
    /// returns until when the subject must wait if it already must (that
    /// attempt is then not counted and must not go ahead). Counting first
    /// makes attempts sent side by side wait their turn: the one that
    /// reaches the block sets it at once, in the same statement, and every
    /// later one finds it. An attempt that succeeds gives its count back
    /// with [`Throttle::refund`] or clears the subject with [`Throttle::reset`].
    pub async fn charge(
        &self,
        subject: &str,
        policy: &ThrottlePolicy,
    ) -> Result<Option<OffsetDateTime>, StoreError> {
        use login_throttle::Column::{BlockedUntil, Failures, LastFailureAt, Subject};
        let now = self.clock.now_millis();
        let first = login_throttle::ActiveModel {
            subject: Set(subject.to_owned()),
            failures: Set(1),
            last_failure_at: Set(now),
            blocked_until: Set(0),
        };
        // The failures left after those forgiven since the last one, plus this attempt.
        let interval = Ord::max(
            i64::try_from(policy.forgive_every.as_millis()).unwrap_or(i64::MAX),
            1,
        );
        let failures = Expr::col((login_throttle::Entity, Failures));
        let forgiven = Expr::val(now)
            .sub(Expr::col((login_throttle::Entity, LastFailureAt)))
            .div(interval);
        let all_forgiven = forgiven.clone().gte(failures.clone());
        let counted: Expr = Expr::case(all_forgiven.clone(), 1i64)
            .finally(failures.sub(forgiven.clone()).add(1))
            .into();
        // Forgiveness counts on from the last failure forgiven, not from
        // this attempt: attempts coming more often than `forgive_every` (a
        // busy library's address, each given back at its success) would
        // otherwise keep every earlier count (one left by a node killed
        // during a check) for ever.
        let last = Expr::col((login_throttle::Entity, LastFailureAt));
        let forgiven_until: Expr = Expr::case(all_forgiven, now)
            .finally(last.add(forgiven.mul(interval)))
            .into();
        let mut charge = login_throttle::Entity::insert(first)
            .on_conflict(
                OnConflict::column(Subject)
                    .value(Failures, counted.clone())
                    .value(LastFailureAt, forgiven_until)
                    .value(BlockedUntil, policy.blocked_until_expr(counted, now))
                    .action_and_where(Expr::col((login_throttle::Entity, BlockedUntil)).lte(now))
                    .to_owned(),
            )
            .into_query();
        charge.returning_col(Failures);
        if self.conn.query_one(&charge).await?.is_some() {
            return Ok(None);
        }
        let row = login_throttle::Entity::find_by_id(subject.to_owned())
            .one(self.conn)
            .await?
            .ok_or(StoreError::NotFound {
                what: "throttle entry",
            })?;
        Ok(Some(millis_to_time("blocked until", row.blocked_until)?))
    }

    /// Gives back the count of an attempt that succeeded. A block the
    /// count no longer reaches is lifted: attempts in flight count as
    /// failures until they end, so a shared address whose members all log
    /// in at once can reach its block with no wrong password typed.
    pub async fn refund(&self, subject: &str, policy: &ThrottlePolicy) -> Result<(), StoreError> {
        use login_throttle::Column::{BlockedUntil, Failures, Subject};
        let left = Expr::col(Failures).sub(1);
        login_throttle::Entity::update_many()
            .col_expr(Failures, left.clone())
            .col_expr(
                BlockedUntil,
                Expr::case(left.lt(i64::from(policy.free_failures)), 0i64)
                    .finally(Expr::col(BlockedUntil))
                    .into(),
            )
            .filter(Subject.eq(subject))
            .filter(Failures.gt(0))
            .exec(self.conn)
            .await?;
        Ok(())
    }

    /// A successful login forgets the failures of its username.
    pub async fn reset(&self, subject: &str) -> Result<(), StoreError> {
        login_throttle::Entity::delete_by_id(subject.to_owned())
            .exec(self.conn)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::ThrottlePolicy;
    use std::time::Duration;

    #[test]
    fn waiting_starts_after_the_free_failures_doubles_and_stops_at_the_ceiling() {
        let policy = ThrottlePolicy::default();
        let waits: Vec<u64> = (1..=12).map(|n| policy.block_after(n).as_secs()).collect();
        assert_eq!(waits, [0, 0, 0, 0, 30, 60, 120, 240, 480, 900, 900, 900]);
        assert_eq!(policy.block_after(u32::MAX), Duration::from_secs(900));
    }
}
