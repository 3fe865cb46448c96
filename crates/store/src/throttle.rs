//! Login throttling: failures counted per account and per source address in
//! the database, so the count holds across nodes. The recovery mails use it
//! too, counted per recipient. After a free number of
//! failures each further one blocks the subject a little longer, up to a
//! ceiling: slow for an attacker, never a lockout an attacker can make
//! permanent. Failures leak away with time (one per `forgive_every`), so the
//! typos of a busy library's shared address never add up to a block. A
//! login attempt counts as in flight until its check ends; counts whose
//! end never came (a node stopped hard) leak away within seconds.

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

/// Attempts in flight leak away one per this many milliseconds, however
/// many there are: attempts sent together still see each other (a check
/// waits at most a few seconds for its turn), while what a crash left
/// behind on an address stops holding anyone back within seconds.
const IN_FLIGHT_LEAKS_EVERY_MS: i64 = 2_000;

/// How a charge counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Counted {
    /// A failure at once, until given back.
    Failure,
    /// A failure while in flight, until its end says which it was.
    InFlight,
}

/// Why an attempt must wait, and until when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wait {
    pub until: OffsetDateTime,
    /// What holds it back are attempts still being checked, counted as
    /// failures until they end, not failures that ended: it lifts as soon
    /// as enough of them turn out right.
    pub for_attempts_in_flight: bool,
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

    /// Counts a failure (a recovery mail asked for, a link attempt) before
    /// the work it guards, and returns until when the subject must wait if
    /// it already must (that attempt is then not counted and must not go
    /// ahead). Counting first makes attempts sent side by side wait their
    /// turn: the one that reaches the block sets it at once, in the same
    /// statement, and every later one finds it. An attempt that succeeds
    /// gives its count back with [`Throttle::refund`].
    pub async fn charge(
        &self,
        subject: &str,
        policy: &ThrottlePolicy,
    ) -> Result<Option<OffsetDateTime>, StoreError> {
        let wait = self.count(subject, policy, Counted::Failure).await?;
        Ok(wait.map(|wait| wait.until))
    }

    /// Counts a login attempt as a failure until it ends, as
    /// [`Throttle::charge`] does, and as in flight: it must end with
    /// [`Throttle::attempt_succeeded`] or [`Throttle::attempt_failed`].
    /// Attempts whose end never comes (their node was stopped hard) leak
    /// away one per two seconds, so a crash during a rush does not keep a
    /// library's address waiting.
    pub async fn charge_attempt(
        &self,
        subject: &str,
        policy: &ThrottlePolicy,
    ) -> Result<Option<Wait>, StoreError> {
        self.count(subject, policy, Counted::InFlight).await
    }

    async fn count(
        &self,
        subject: &str,
        policy: &ThrottlePolicy,
        counted: Counted,
    ) -> Result<Option<Wait>, StoreError> {
        use login_throttle::Column::{
            BlockedUntil, Failures, InFlight, InFlightSince, LastFailureAt, Subject,
        };
        let now = self.clock.now_millis();
        let added_in_flight = i64::from(counted == Counted::InFlight);
        let first = login_throttle::ActiveModel {
            subject: Set(subject.to_owned()),
            failures: Set(1),
            last_failure_at: Set(now),
            blocked_until: Set(0),
            in_flight: Set(added_in_flight),
            in_flight_since: Set(now),
        };
        let column = |column| Expr::col((login_throttle::Entity, column));
        // Attempts in flight leak away, one per interval since the last
        // leak (never more than there are, never a negative number when
        // another node's clock is ahead).
        let in_flight = column(InFlight);
        let leak_due = Expr::val(now)
            .sub(column(InFlightSince))
            .div(IN_FLIGHT_LEAKS_EVERY_MS);
        let leaked: Expr = Expr::case(leak_due.clone().lte(0), 0i64)
            .case(leak_due.clone().gte(in_flight.clone()), in_flight.clone())
            .finally(leak_due)
            .into();
        let still_in_flight = in_flight.clone().sub(leaked.clone());
        let in_flight_since: Expr = Expr::case(still_in_flight.clone().eq(0), now)
            .finally(column(InFlightSince).add(leaked.mul(IN_FLIGHT_LEAKS_EVERY_MS)))
            .into();
        // The failures that ended, less those forgiven since the last one.
        let interval = Ord::max(
            i64::try_from(policy.forgive_every.as_millis()).unwrap_or(i64::MAX),
            1,
        );
        let ended = column(Failures).sub(in_flight);
        let forgiven = Expr::val(now).sub(column(LastFailureAt)).div(interval);
        let all_forgiven = forgiven.clone().gte(ended.clone());
        let left: Expr = Expr::case(all_forgiven.clone(), 0i64)
            .finally(ended.sub(forgiven.clone()))
            .into();
        let before: Expr = left.add(still_in_flight.clone());
        let counted = before.clone().add(1);
        // Forgiveness counts on from the last failure forgiven, not from
        // this attempt: attempts coming more often than `forgive_every` (a
        // busy library's address, each given back at its success) would
        // otherwise keep every earlier count for ever.
        let last = column(LastFailureAt);
        let forgiven_until: Expr = Expr::case(all_forgiven, now)
            .finally(last.add(forgiven.mul(interval)))
            .into();
        // A block that the count no longer reaches (its attempts leaked
        // away, or were forgiven) holds no one back.
        let may_go_ahead = column(BlockedUntil)
            .lte(now)
            .or(before.lt(i64::from(policy.free_failures)));
        let mut charge = login_throttle::Entity::insert(first)
            .on_conflict(
                OnConflict::column(Subject)
                    .value(Failures, counted.clone())
                    .value(LastFailureAt, forgiven_until)
                    .value(BlockedUntil, policy.blocked_until_expr(counted, now))
                    .value(InFlight, still_in_flight.add(added_in_flight))
                    .value(InFlightSince, in_flight_since)
                    .action_and_where(may_go_ahead)
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
        let ended_failures = row.failures - row.in_flight;
        Ok(Some(Wait {
            until: millis_to_time("blocked until", row.blocked_until)?,
            for_attempts_in_flight: row.in_flight > 0 && ended_failures < i64::from(policy.free_failures),
        }))
    }

    /// Gives back the count of an attempt that succeeded. A block the
    /// count no longer reaches is lifted: attempts in flight count as
    /// failures until they end, so a shared address whose members all log
    /// in at once can reach its block with no wrong password typed.
    pub async fn refund(&self, subject: &str, policy: &ThrottlePolicy) -> Result<(), StoreError> {
        self.give_back(subject, policy, Counted::Failure).await
    }

    /// Ends an attempt counted with [`Throttle::charge_attempt`] that
    /// succeeded: its count is given back as by [`Throttle::refund`]. When
    /// it leaked away already, nothing is given back twice.
    pub async fn attempt_succeeded(&self, subject: &str, policy: &ThrottlePolicy) -> Result<(), StoreError> {
        self.give_back(subject, policy, Counted::InFlight).await
    }

    async fn give_back(
        &self,
        subject: &str,
        policy: &ThrottlePolicy,
        counted: Counted,
    ) -> Result<(), StoreError> {
        use login_throttle::Column::{BlockedUntil, Failures, InFlight, Subject};
        let left = Expr::col(Failures).sub(1);
        let mut give_back = login_throttle::Entity::update_many()
            .col_expr(Failures, left.clone())
            .col_expr(
                BlockedUntil,
                Expr::case(left.lt(i64::from(policy.free_failures)), 0i64)
                    .finally(Expr::col(BlockedUntil))
                    .into(),
            )
            .filter(Subject.eq(subject));
        give_back = match counted {
            Counted::Failure => give_back.filter(Failures.gt(0)),
            Counted::InFlight => give_back
                .col_expr(InFlight, Expr::col(InFlight).sub(1))
                .filter(InFlight.gt(0)),
        };
        give_back.exec(self.conn).await?;
        Ok(())
    }

    /// Ends an attempt counted with [`Throttle::charge_attempt`] that
    /// failed: its count stays, as a failure. One that leaked away while
    /// its check waited is counted again.
    pub async fn attempt_failed(&self, subject: &str) -> Result<(), StoreError> {
        use login_throttle::Column::{Failures, InFlight, Subject};
        let was_in_flight = Expr::col(InFlight).gt(0);
        login_throttle::Entity::update_many()
            .col_expr(
                InFlight,
                Expr::case(was_in_flight.clone(), Expr::col(InFlight).sub(1))
                    .finally(0i64)
                    .into(),
            )
            .col_expr(
                Failures,
                Expr::case(was_in_flight, Expr::col(Failures))
                    .finally(Expr::col(Failures).add(1))
                    .into(),
            )
            .filter(Subject.eq(subject))
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
