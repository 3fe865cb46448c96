//! Browser sessions: what gives single sign-on. The cookie holds a random
//! token; the database holds only its digest, the account and the times. A
//! session keeps the digest of its first token as its name (the `sid` its
//! clients hold is made from it), and finds its cookie by the current one;
//! a login or a logout also by the one its last renewal replaced, and also
//! after the session's end, while tokens issued in it live (housekeeping
//! keeps it until then).

use std::time::Duration;

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
    sea_query::{Expr, ExprTrait, OnConflict},
};
use si_domain::AccountId;
use time::OffsetDateTime;

use crate::{
    Clock, StoreError,
    accounts::millis_to_time,
    entity::{authorization_code, browser_session, session_client},
    error::parse_stored,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserSession {
    /// The session's name: the digest of its first token.
    pub digest: String,
    /// The digest of the session's current token when it was read (not
    /// necessarily the one it was found by: see [`Sessions::find`]).
    pub token_digest: String,
    pub account: AccountId,
    /// When the member last typed their password (OIDC `auth_time`).
    pub auth_time: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// What [`Sessions::reauthenticated`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Renewal {
    /// Renewed under the new token.
    NewToken(BrowserSession),
    /// Renewed, under the token another login gave it meanwhile.
    TokenOfAnotherLogin(BrowserSession),
    /// The session ended meanwhile (a logout in another tab).
    Ended,
}

/// A session that [`Sessions::end_all_of`] ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndedSession {
    pub digest: String,
    pub clients: Vec<String>,
}

pub struct Sessions<'c, C> {
    conn: &'c C,
    clock: &'c dyn Clock,
}

impl<'c, C: ConnectionTrait> Sessions<'c, C> {
    pub(crate) fn new(conn: &'c C, clock: &'c dyn Clock) -> Self {
        Self { conn, clock }
    }

    /// Starts a session for an account that has just logged in, named by
    /// the digest of its first token.
    pub async fn create(
        &self,
        digest: &str,
        account: &AccountId,
        expires_at: OffsetDateTime,
    ) -> Result<BrowserSession, StoreError> {
        let now = self.clock.now_millis();
        browser_session::ActiveModel {
            id_digest: Set(digest.to_owned()),
            token_digest: Set(Some(digest.to_owned())),
            previous_token_digest: Set(None),
            account_id: Set(account.to_string()),
            created_at: Set(now),
            auth_time: Set(now),
            last_seen_at: Set(now),
            expires_at: Set(to_millis(expires_at)),
        }
        .insert(self.conn)
        .await?;
        Ok(BrowserSession {
            digest: digest.to_owned(),
            token_digest: digest.to_owned(),
            account: *account,
            auth_time: self.clock.now(),
            expires_at,
        })
    }

    /// The member typed the password again in a browser that has a session
    /// of the same account: the session goes on, from now (`auth_time`),
    /// under a new token (`token_digest`): one learnt before the login, such
    /// as one planted in the browser, no longer gives access to it (the one
    /// replaced is kept only for a login or logout). Unless another
    /// login in the same browser renewed it since it was read: that login's
    /// answer brings the browser its token, and two logins sent together
    /// must not leave the browser holding the one that lost.
    pub async fn reauthenticated(
        &self,
        session: &BrowserSession,
        token_digest: &str,
        expires_at: OffsetDateTime,
    ) -> Result<Renewal, StoreError> {
        use browser_session::Column::{
            AuthTime, ExpiresAt, IdDigest, LastSeenAt, PreviousTokenDigest, TokenDigest,
        };
        let now = self.clock.now_millis();
        let renew = || {
            browser_session::Entity::update_many()
                .col_expr(AuthTime, Expr::value(now))
                .col_expr(LastSeenAt, Expr::value(now))
                .col_expr(ExpiresAt, Expr::value(to_millis(expires_at)))
                .filter(IdDigest.eq(&session.digest))
        };
        let renewed = BrowserSession {
            auth_time: self.clock.now(),
            expires_at,
            ..session.clone()
        };
        let with_new_token = renew()
            .col_expr(TokenDigest, Expr::value(token_digest))
            .col_expr(PreviousTokenDigest, Expr::value(&session.token_digest))
            .filter(TokenDigest.eq(&session.token_digest))
            .exec(self.conn)
            .await?;
        if with_new_token.rows_affected == 1 {
            return Ok(Renewal::NewToken(BrowserSession {
                token_digest: token_digest.to_owned(),
                ..renewed
            }));
        }
        if renew().exec(self.conn).await?.rows_affected == 1 {
            return Ok(Renewal::TokenOfAnotherLogin(renewed));
        }
        Ok(Renewal::Ended)
    }

    /// The session a login or a logout in the browser whose cookie's token
    /// has this digest acts on (a login renews it, a logout ends it). Found
    /// also by the token its last renewal replaced, which a browser still
    /// sends when it asked before it had the new cookie (two tabs, a lost
    /// answer); however long it was left alone, and after its end (neither
    /// may leave it behind for the tokens issued in it to outlive). Not
    /// counted as a use.
    pub async fn find(&self, token_digest: &str) -> Result<Option<BrowserSession>, StoreError> {
        use browser_session::Column::{PreviousTokenDigest, TokenDigest};
        let by_either_token = TokenDigest
            .eq(token_digest)
            .or(PreviousTokenDigest.eq(token_digest));
        let row = browser_session::Entity::find()
            .filter(by_either_token)
            .one(self.conn)
            .await?;
        row.map(session_from_row).transpose()
    }

    /// The session whose current token has this digest, if it has not
    /// expired and is in use: used within `idle` (single sign-on ends for a
    /// browser left alone, as a library's public computer may be). Asking
    /// counts as a use, recorded at most once a minute, so the limit counts
    /// from the last use to within a minute: never sooner.
    pub async fn in_use(
        &self,
        token_digest: &str,
        idle: Duration,
    ) -> Result<Option<BrowserSession>, StoreError> {
        let row = browser_session::Entity::find()
            .filter(browser_session::Column::TokenDigest.eq(token_digest))
            .one(self.conn)
            .await?;
        let now = self.clock.now_millis();
        let idle = i64::try_from(idle.as_millis()).unwrap_or(i64::MAX);
        // The last use may have come up to a minute after the last record.
        let unused_for = |row: &browser_session::Model| now - row.last_seen_at;
        let limit = idle.saturating_add(RECORD_USE_EVERY_MILLIS);
        let Some(row) = row.filter(|row| row.expires_at > now && unused_for(row) < limit) else {
            return Ok(None);
        };
        if unused_for(&row) >= RECORD_USE_EVERY_MILLIS {
            browser_session::Entity::update_many()
                .col_expr(browser_session::Column::LastSeenAt, Expr::value(now))
                .filter(browser_session::Column::IdDigest.eq(&row.id_digest))
                .exec(self.conn)
                .await?;
        }
        session_from_row(row).map(Some)
    }

    /// Whether the session is still there, holding it until the transaction
    /// ends: a code issued in it then commits before a logout ends it (and
    /// with it that code), or not at all after.
    pub async fn hold(&self, digest: &str) -> Result<bool, StoreError> {
        use browser_session::Column::{IdDigest, LastSeenAt};
        let held = browser_session::Entity::update_many()
            .col_expr(LastSeenAt, Expr::col(LastSeenAt))
            .filter(IdDigest.eq(digest))
            .exec(self.conn)
            .await?;
        Ok(held.rows_affected == 1)
    }

    /// Ends one session, and the codes it gave that are not yet redeemed
    /// (else a code issued just before a logout would start a refresh family
    /// that no logout ends); returns the clients it had signed in to.
    pub async fn end(&self, digest: &str) -> Result<Vec<String>, StoreError> {
        // The session first: a single sign-on holding it (see `hold`) has
        // committed its code and client by the time this goes on.
        browser_session::Entity::delete_by_id(digest.to_owned())
            .exec(self.conn)
            .await?;
        let clients = self.clients_of(digest).await?;
        authorization_code::Entity::delete_many()
            .filter(authorization_code::Column::ExpiresAt.gt(self.clock.now_millis()))
            .filter(authorization_code::Column::SessionDigest.eq(digest))
            .filter(authorization_code::Column::UsedAt.is_null())
            .exec(self.conn)
            .await?;
        session_client::Entity::delete_many()
            .filter(session_client::Column::SessionDigest.eq(digest))
            .exec(self.conn)
            .await?;
        Ok(clients)
    }

    /// Ends every session of an account but `keep` (after a password change)
    /// and returns each ended session's digest with the clients it had
    /// signed in to, so that they can be told.
    pub async fn end_all_of(
        &self,
        account: &AccountId,
        keep: Option<&str>,
    ) -> Result<Vec<EndedSession>, StoreError> {
        // In key order, as housekeeping locks them: two transactions ending
        // the same sessions then wait for each other's rows in one order, not
        // in a circle (a deadlock PostgreSQL ends by failing one).
        let mut query = browser_session::Entity::find()
            .filter(browser_session::Column::AccountId.eq(account.to_string()))
            .order_by_asc(browser_session::Column::IdDigest);
        if let Some(keep) = keep {
            query = query.filter(browser_session::Column::IdDigest.ne(keep));
        }
        let mut ended = Vec::new();
        for session in query.all(self.conn).await? {
            let clients = self.end(&session.id_digest).await?;
            ended.push(EndedSession {
                digest: session.id_digest,
                clients,
            });
        }
        Ok(ended)
    }

    /// Remembers that a client received tokens in this session, for logout.
    pub async fn add_client(&self, digest: &str, client_id: &str) -> Result<(), StoreError> {
        session_client::Entity::insert(session_client::ActiveModel {
            session_digest: Set(digest.to_owned()),
            client_id: Set(client_id.to_owned()),
            first_at: Set(self.clock.now_millis()),
        })
        .on_conflict(
            OnConflict::columns([
                session_client::Column::SessionDigest,
                session_client::Column::ClientId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(self.conn)
        .await?;
        Ok(())
    }

    pub async fn clients_of(&self, digest: &str) -> Result<Vec<String>, StoreError> {
        Ok(session_client::Entity::find()
            .filter(session_client::Column::SessionDigest.eq(digest))
            .all(self.conn)
            .await?
            .into_iter()
            .map(|row| row.client_id)
            .collect())
    }
}

/// How often a session's use is written down: a minute is exact enough for
/// an idle limit counted in minutes, and spares a write per request.
const RECORD_USE_EVERY_MILLIS: i64 = 60_000;

fn session_from_row(row: browser_session::Model) -> Result<BrowserSession, StoreError> {
    Ok(BrowserSession {
        account: parse_stored("account id", &row.account_id, AccountId::parse)?,
        auth_time: millis_to_time("auth time", row.auth_time)?,
        expires_at: millis_to_time("session expiry", row.expires_at)?,
        token_digest: row.token_digest.unwrap_or_else(|| row.id_digest.clone()),
        digest: row.id_digest,
    })
}

pub(crate) fn to_millis(moment: OffsetDateTime) -> i64 {
    (moment.unix_timestamp_nanos() / 1_000_000) as i64
}
