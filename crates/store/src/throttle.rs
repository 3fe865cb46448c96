//! Login throttling: failures counted per account and per source address in
//! the database, so the count holds across nodes. After a free number of
//! failures each further one blocks the subject a little longer, up to a
//! ceiling: slow for an attacker, never a lockout an attacker can make
//! permanent. Failures leak away with time (one per `forgive_every`), so the
//! typos of a busy library's shared address never add up to a block.

use std::time::Duration;

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set,
    sea_query::{Expr, ExprTrait, OnConflict},
};
use time::OffsetDateTime;

use crate::{Clock, StoreError, accounts::millis_to_time, entity::login_throttle, sessions::to_millis};

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

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            free_failures: 5,
            first_block: Duration::from_secs(30),
            longest_block: Duration::from_secs(15 * 60),
            forgive_every: Duration::from_secs(15 * 60),
        }
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

    /// Counts a failure and returns until when the subject now waits (if at all).
    pub async fn record_failure(
        &self,
        subject: &str,
        policy: &ThrottlePolicy,
    ) -> Result<Option<OffsetDateTime>, StoreError> {
        let now = self.clock.now_millis();
        self.forgive(subject, policy, now).await?;
        login_throttle::Entity::insert(login_throttle::ActiveModel {
            subject: Set(subject.to_owned()),
            failures: Set(1),
            last_failure_at: Set(now),
            blocked_until: Set(0),
        })
        .on_conflict(
            OnConflict::column(login_throttle::Column::Subject)
                .value(
                    login_throttle::Column::Failures,
                    Expr::col((login_throttle::Entity, login_throttle::Column::Failures)).add(1),
                )
                .value(login_throttle::Column::LastFailureAt, now)
                .to_owned(),
        )
        .exec_without_returning(self.conn)
        .await?;
        let row = login_throttle::Entity::find_by_id(subject.to_owned())
            .one(self.conn)
            .await?
            .ok_or(StoreError::NotFound {
                what: "throttle entry",
            })?;
        let block = policy.block_after(u32::try_from(row.failures).unwrap_or(u32::MAX));
        if block.is_zero() {
            return Ok(None);
        }
        let until = self.clock.now() + block;
        login_throttle::ActiveModel {
            subject: sea_orm::Unchanged(subject.to_owned()),
            blocked_until: Set(to_millis(until)),
            ..Default::default()
        }
        .update(self.conn)
        .await?;
        Ok(Some(until))
    }

    /// Forgets the failures that leaked away since the last one. The time
    /// of the last failure moves on by the intervals forgiven, so a second
    /// node doing the same at the same moment forgives nothing more.
    async fn forgive(&self, subject: &str, policy: &ThrottlePolicy, now: i64) -> Result<(), StoreError> {
        use login_throttle::Column::{Failures, LastFailureAt, Subject};
        let interval = Ord::max(
            i64::try_from(policy.forgive_every.as_millis()).unwrap_or(i64::MAX),
            1,
        );
        login_throttle::Entity::delete_many()
            .filter(Subject.eq(subject))
            .filter(
                Expr::col(LastFailureAt)
                    .add(Expr::col(Failures).mul(interval))
                    .lte(now),
            )
            .exec(self.conn)
            .await?;
        let intervals = Expr::val(now).sub(Expr::col(LastFailureAt)).div(interval);
        login_throttle::Entity::update_many()
            .col_expr(Failures, Expr::col(Failures).sub(intervals.clone()))
            .col_expr(
                LastFailureAt,
                Expr::col(LastFailureAt).add(intervals.mul(interval)),
            )
            .filter(Subject.eq(subject))
            .filter(Expr::col(LastFailureAt).add(interval).lte(now))
            .exec(self.conn)
            .await?;
        Ok(())
    }

    /// A successful login forgets the failures.
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
