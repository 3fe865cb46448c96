//! What the token endpoint hands out and takes back: single-use
//! authorization codes, rotating refresh tokens in families (one row per
//! family, holding the digest of its one current token), and the ids of
//! revoked access tokens. Only digests of codes and tokens are stored.

use std::sync::LazyLock;

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, IdenStatic,
    Iterable, QueryFilter, QuerySelect, QueryTrait, Set, Statement,
    sea_query::{Expr, ExprTrait, OnConflict},
};
use si_domain::{AccountId, AccountStatus};
use time::OffsetDateTime;

use crate::{
    Backend, Clock, Repositories, Store, StoreError,
    accounts::{Account, account_from_row, millis_to_time},
    entity::{account, authorization_code, refresh_family, revoked_access_token},
    error::parse_stored,
    sessions::to_millis,
};

/// An authorization code's facts, as issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeGrant {
    pub code_digest: String,
    pub client_id: String,
    pub account: AccountId,
    pub session_digest: String,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub auth_time: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// What redeeming a code found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redemption {
    /// First use, not expired: the code is now spent.
    Redeemed(CodeGrant),
    /// Used before by its own client: a replay. The caller revokes what the
    /// first use issued.
    Replayed(CodeGrant),
    /// Issued to another client, and left as it was: only its own client
    /// can spend it or, using it again, end what it gave.
    OtherClient,
    Expired,
    Unknown,
}

/// A refresh token family's facts, with its current token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshGrant {
    /// Digest of the family's current token.
    pub token_digest: String,
    pub family_id: String,
    pub client_id: String,
    pub account: AccountId,
    pub session_digest: Option<String>,
    pub code_digest: Option<String>,
    pub scope: String,
    pub auth_time: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// What the access tokens of revoked grants were given with, and so can be
/// named by: each code redeemed (every access token of its grant carries
/// its mark), and each refresh family's newest token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RevokedGrants {
    pub newest_refresh_digests: Vec<String>,
    pub code_digests: Vec<String>,
}

impl RevokedGrants {
    /// Names the access tokens of one revoked family.
    pub fn of_family(family: RefreshGrant) -> Self {
        Self {
            newest_refresh_digests: vec![family.token_digest],
            code_digests: family.code_digest.into_iter().collect(),
        }
    }

    /// Names the access tokens of these revoked families, beside those of
    /// `codes` (the family's own code among them or not).
    fn of(families: Vec<refresh_family::Model>, mut codes: Vec<String>) -> Self {
        for family in &families {
            if let Some(code) = &family.code_digest
                && !codes.contains(code)
            {
                codes.push(code.clone());
            }
        }
        Self {
            newest_refresh_digests: families.into_iter().map(|family| family.token_digest).collect(),
            code_digests: codes,
        }
    }
}

/// A refresh token presented for rotation, and the successor to store.
#[derive(Debug, Clone, Copy)]
pub struct Rotation<'a> {
    pub family_id: &'a str,
    pub presented_digest: &'a str,
    pub client_id: &'a str,
    pub successor_digest: &'a str,
    pub successor_expires_at: OffsetDateTime,
    /// How long a login's refresh tokens last at most, counted from the
    /// member's authentication (`auth_time`), however often they rotate:
    /// the successor expires no later, and a family past it is expired.
    pub login_lifetime: time::Duration,
}

/// What presenting a refresh token found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshUse {
    /// An earlier token of the family: reuse. The whole family has been
    /// revoked; `revoked` names its access tokens, which the caller revokes too.
    Reused {
        revoked: RevokedGrants,
    },
    /// The family was revoked before (logout, revocation, a password
    /// change, an earlier reuse): nothing more to do.
    Revoked,
    Expired,
    /// The family's current token, but its account is disabled or still pending.
    AccountNotActive,
    Unknown,
}

/// PostgreSQL's rotation: the UPDATE joins the account and returns both rows,
/// their columns prefixed `f_` and `a_` (both tables have a `created_at`).
static ROTATE_RETURNING_ACCOUNT: LazyLock<String> = LazyLock::new(|| {
    let returned: Vec<String> = refresh_family::Column::iter()
        .map(|c| format!("f.{0} AS f_{0}", c.as_str()))
        .chain(account::Column::iter().map(|c| format!("a.{0} AS a_{0}", c.as_str())))
        .collect();
    format!(
        "UPDATE refresh_families AS f SET token_digest = $1, \
         expires_at = CASE WHEN f.auth_time + $8 < $2 THEN f.auth_time + $8 ELSE $2 END, rotated_at = $3 \
         FROM accounts AS a \
         WHERE f.family_id = $4 AND f.token_digest = $5 AND f.client_id = $6 \
         AND f.revoked_at IS NULL AND f.expires_at > $3 AND f.auth_time + $8 > $3 \
         AND a.id = f.account_id AND a.status = $7 \
         RETURNING {}",
        returned.join(", ")
    )
});

pub struct Grants<'c, C> {
    conn: &'c C,
    clock: &'c dyn Clock,
}

impl<'c, C: ConnectionTrait> Grants<'c, C> {
    pub(crate) fn new(conn: &'c C, clock: &'c dyn Clock) -> Self {
        Self { conn, clock }
    }

    pub async fn issue_code(&self, grant: &CodeGrant) -> Result<(), StoreError> {
        authorization_code::ActiveModel {
            code_digest: Set(grant.code_digest.clone()),
            client_id: Set(grant.client_id.clone()),
            account_id: Set(grant.account.to_string()),
            session_digest: Set(grant.session_digest.clone()),
            redirect_uri: Set(grant.redirect_uri.clone()),
            scope: Set(grant.scope.clone()),
            nonce: Set(grant.nonce.clone()),
            code_challenge: Set(grant.code_challenge.clone()),
            auth_time: Set(to_millis(grant.auth_time)),
            expires_at: Set(to_millis(grant.expires_at)),
            used_at: Set(None),
        }
        .insert(self.conn)
        .await?;
        Ok(())
    }

    /// Spends a code of `client_id`. The conditional UPDATE comes first, so
    /// that of two concurrent redemptions exactly one wins, and so that in a
    /// transaction the write lock is taken at once (SQLite cannot upgrade a
    /// reader that another writer overtook).
    pub async fn redeem_code(&self, code_digest: &str, client_id: &str) -> Result<Redemption, StoreError> {
        let now = self.clock.now_millis();
        let spent = authorization_code::Entity::update_many()
            .col_expr(authorization_code::Column::UsedAt, Expr::value(now))
            .filter(authorization_code::Column::CodeDigest.eq(code_digest))
            .filter(authorization_code::Column::ClientId.eq(client_id))
            .filter(authorization_code::Column::UsedAt.is_null())
            .filter(authorization_code::Column::ExpiresAt.gt(now))
            .exec_with_returning(self.conn)
            .await?;
        if let Some(row) = spent.into_iter().next() {
            return Ok(Redemption::Redeemed(code_from_row(row)?));
        }
        let Some(row) = authorization_code::Entity::find_by_id(code_digest.to_owned())
            .one(self.conn)
            .await?
        else {
            return Ok(Redemption::Unknown);
        };
        if row.client_id != client_id {
            return Ok(Redemption::OtherClient);
        }
        match row.used_at {
            Some(_) => Ok(Redemption::Replayed(code_from_row(row)?)),
            None => Ok(Redemption::Expired),
        }
    }

    /// Starts a refresh token family with its first token.
    pub async fn start_family(&self, grant: &RefreshGrant) -> Result<(), StoreError> {
        refresh_family::ActiveModel {
            family_id: Set(grant.family_id.clone()),
            token_digest: Set(grant.token_digest.clone()),
            client_id: Set(grant.client_id.clone()),
            account_id: Set(grant.account.to_string()),
            session_digest: Set(grant.session_digest.clone()),
            code_digest: Set(grant.code_digest.clone()),
            scope: Set(grant.scope.clone()),
            auth_time: Set(to_millis(grant.auth_time)),
            created_at: Set(self.clock.now_millis()),
            expires_at: Set(to_millis(grant.expires_at)),
            rotated_at: Set(None),
            revoked_at: Set(None),
        }
        .insert(self.conn)
        .await?;
        Ok(())
    }

    /// The family whose current, unexpired token has this digest, if the
    /// family is not revoked and its login within `login_lifetime` (see
    /// [`Rotation`]), with its account (one query). Reads only.
    pub async fn current_refresh(
        &self,
        family_id: &str,
        token_digest: &str,
        login_lifetime: time::Duration,
    ) -> Result<Option<(RefreshGrant, Account)>, StoreError> {
        let now = self.clock.now_millis();
        let found = refresh_family::Entity::find_by_id(family_id.to_owned())
            .find_also_related(account::Entity)
            .one(self.conn)
            .await?;
        match found {
            Some((row, Some(account)))
                if row.token_digest == token_digest
                    && row.revoked_at.is_none()
                    && !is_expired(&row, login_lifetime, now) =>
            {
                Ok(Some((refresh_from_row(row)?, account_from_row(account)?)))
            }
            _ => Ok(None),
        }
    }

    /// PostgreSQL's [`Store::rotate_refresh`]: one statement.
    async fn rotate_returning_account(
        &self,
        rotation: Rotation<'_>,
    ) -> Result<Option<(RefreshGrant, Account)>, StoreError> {
        let statement = Statement::from_sql_and_values(
            DbBackend::Postgres,
            ROTATE_RETURNING_ACCOUNT.as_str(),
            [
                rotation.successor_digest.into(),
                to_millis(rotation.successor_expires_at).into(),
                self.clock.now_millis().into(),
                rotation.family_id.into(),
                rotation.presented_digest.into(),
                rotation.client_id.into(),
                AccountStatus::Active.as_str().into(),
                millis(rotation.login_lifetime).into(),
            ],
        );
        let Some(row) = self.conn.query_one_raw(statement).await? else {
            return Ok(None);
        };
        let grant = refresh_family::Model::from_query_result(&row, "f_")?;
        let account = account::Model::from_query_result(&row, "a_")?;
        Ok(Some((refresh_from_row(grant)?, account_from_row(account)?)))
    }

    /// SQLite's rotation: the conditional UPDATE alone, after the caller read
    /// the grant (see [`Store::rotate_refresh`]); whether it rotated.
    async fn rotate_current(&self, rotation: Rotation<'_>) -> Result<bool, StoreError> {
        let now = self.clock.now_millis();
        let successor_expires_at = to_millis(rotation.successor_expires_at);
        let login_end = || Expr::col(refresh_family::Column::AuthTime).add(millis(rotation.login_lifetime));
        let active_accounts = account::Entity::find()
            .select_only()
            .column(account::Column::Id)
            .filter(account::Column::Status.eq(AccountStatus::Active.as_str()))
            .into_query();
        let rotated = refresh_family::Entity::update_many()
            .col_expr(
                refresh_family::Column::TokenDigest,
                Expr::value(rotation.successor_digest),
            )
            .col_expr(
                refresh_family::Column::ExpiresAt,
                Expr::case(login_end().lt(successor_expires_at), login_end())
                    .finally(successor_expires_at)
                    .into(),
            )
            .col_expr(refresh_family::Column::RotatedAt, Expr::value(now))
            .filter(refresh_family::Column::FamilyId.eq(rotation.family_id))
            .filter(refresh_family::Column::TokenDigest.eq(rotation.presented_digest))
            .filter(refresh_family::Column::ClientId.eq(rotation.client_id))
            .filter(refresh_family::Column::RevokedAt.is_null())
            .filter(refresh_family::Column::ExpiresAt.gt(now))
            .filter(login_end().gt(now))
            .filter(refresh_family::Column::AccountId.in_subquery(active_accounts))
            .exec(self.conn)
            .await?;
        Ok(rotated.rows_affected == 1)
    }

    /// Why a presented token is not usable. A token of the family that is not
    /// its current one leaked (RFC 9700 4.14.2): the family is revoked. The
    /// caller makes sure the token was issued, so that a made-up one cannot
    /// end a member's login.
    pub async fn refuse_refresh(
        &self,
        family_id: &str,
        presented_digest: &str,
        client_id: &str,
        login_lifetime: time::Duration,
    ) -> Result<RefreshUse, StoreError> {
        let Some(row) = refresh_family::Entity::find_by_id(family_id.to_owned())
            .one(self.conn)
            .await?
            .filter(|row| row.client_id == client_id)
        else {
            return Ok(RefreshUse::Unknown);
        };
        if row.revoked_at.is_some() {
            return Ok(RefreshUse::Revoked);
        }
        if row.token_digest != presented_digest {
            // The newest token is the one current when the family is revoked,
            // not when it was read: a rotation may commit in between.
            return Ok(match self.revoke_family(family_id, client_id).await? {
                Some(family) => RefreshUse::Reused {
                    revoked: RevokedGrants::of_family(family),
                },
                None => RefreshUse::Revoked,
            });
        }
        if is_expired(&row, login_lifetime, self.clock.now_millis()) {
            return Ok(RefreshUse::Expired);
        }
        Ok(RefreshUse::AccountNotActive)
    }

    /// Revokes a client's family; none when it is not that client's or was
    /// revoked already. One statement, which returns the family as it is
    /// when revoked: a rotation that commits while this waits for the row
    /// (PostgreSQL) or for the writer (SQLite) is seen, so the newest
    /// token, whose access token must go too, is the one named.
    pub async fn revoke_family(
        &self,
        family_id: &str,
        client_id: &str,
    ) -> Result<Option<RefreshGrant>, StoreError> {
        let revoked = refresh_family::Entity::update_many()
            .col_expr(
                refresh_family::Column::RevokedAt,
                Expr::value(self.clock.now_millis()),
            )
            .filter(refresh_family::Column::FamilyId.eq(family_id))
            .filter(refresh_family::Column::ClientId.eq(client_id))
            .filter(refresh_family::Column::RevokedAt.is_null())
            .exec_with_returning(self.conn)
            .await?;
        revoked.into_iter().next().map(refresh_from_row).transpose()
    }

    /// The client a refresh family was issued to, whatever its state; none
    /// for a family swept away or never issued.
    pub async fn family_client(&self, family_id: &str) -> Result<Option<String>, StoreError> {
        Ok(refresh_family::Entity::find()
            .select_only()
            .column(refresh_family::Column::ClientId)
            .filter(refresh_family::Column::FamilyId.eq(family_id))
            .into_tuple()
            .one(self.conn)
            .await?)
    }

    /// Revokes the refresh tokens issued in a browser session that ended,
    /// and returns what the access tokens given in it can be named by.
    pub async fn revoke_session(&self, session_digest: &str) -> Result<RevokedGrants, StoreError> {
        let families = self
            .revoke_where(refresh_family::Column::SessionDigest.eq(session_digest))
            .await?;
        // A code swept since still names its family's first access token.
        let redeemed = authorization_code::Entity::find()
            .select_only()
            .column(authorization_code::Column::CodeDigest)
            .filter(authorization_code::Column::SessionDigest.eq(session_digest))
            .filter(authorization_code::Column::UsedAt.is_not_null())
            .into_tuple()
            .all(self.conn)
            .await?;
        Ok(RevokedGrants::of(families, redeemed))
    }

    /// Revokes the refresh tokens that came from a (replayed) code, and
    /// returns what the access tokens it gave can be named by.
    pub async fn revoke_from_code(&self, code_digest: &str) -> Result<RevokedGrants, StoreError> {
        let families = self
            .revoke_where(refresh_family::Column::CodeDigest.eq(code_digest))
            .await?;
        Ok(RevokedGrants::of(families, vec![code_digest.to_owned()]))
    }

    /// Revokes every refresh token of an account (password change or
    /// reset), and returns what the access tokens of all its logins can be
    /// named by: those with a refresh token and those without.
    pub async fn revoke_account(&self, account: &AccountId) -> Result<RevokedGrants, StoreError> {
        let families = self
            .revoke_where(refresh_family::Column::AccountId.eq(account.to_string()))
            .await?;
        let redeemed = authorization_code::Entity::find()
            .select_only()
            .column(authorization_code::Column::CodeDigest)
            .filter(authorization_code::Column::AccountId.eq(account.to_string()))
            .filter(authorization_code::Column::UsedAt.is_not_null())
            .into_tuple()
            .all(self.conn)
            .await?;
        Ok(RevokedGrants::of(families, redeemed))
    }

    /// Revokes the families not revoked yet that meet `condition`, and
    /// returns them as revoked.
    async fn revoke_where(
        &self,
        condition: sea_orm::sea_query::SimpleExpr,
    ) -> Result<Vec<refresh_family::Model>, StoreError> {
        Ok(refresh_family::Entity::update_many()
            .col_expr(
                refresh_family::Column::RevokedAt,
                Expr::value(self.clock.now_millis()),
            )
            .filter(condition)
            .filter(refresh_family::Column::RevokedAt.is_null())
            .exec_with_returning(self.conn)
            .await?)
    }

    /// Remembers a revoked access token, or the grant of revoked ones (the
    /// `jti` column holds either id), until it would have expired anyway.
    pub async fn revoke_access_token(&self, id: &str, expires_at: OffsetDateTime) -> Result<(), StoreError> {
        revoked_access_token::Entity::insert(revoked_access_token::ActiveModel {
            jti: Set(id.to_owned()),
            expires_at: Set(to_millis(expires_at)),
        })
        .on_conflict(
            OnConflict::column(revoked_access_token::Column::Jti)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(self.conn)
        .await?;
        Ok(())
    }

    /// Whether any of these ids (an access token's own, its grant's) was revoked.
    pub async fn is_any_access_token_revoked(&self, ids: &[&str]) -> Result<bool, StoreError> {
        Ok(revoked_access_token::Entity::find()
            .filter(revoked_access_token::Column::Jti.is_in(ids.iter().copied()))
            .one(self.conn)
            .await?
            .is_some())
    }
}

impl Store {
    /// Replaces a refresh family's current token by its successor when the
    /// presented token is that current one, unrevoked, unexpired, of this
    /// client, and its account is active, and issues what `issue` makes of
    /// the grant and its account; none when nothing was rotated
    /// ([`Grants::refuse_refresh`] tells why). A conditional UPDATE
    /// decides, so that of two uses of the same token exactly one wins.
    ///
    /// SQLite reads the grant first, beside its one writer, then `issue`
    /// runs, and only the UPDATE takes the writer's turn: whatever fails on
    /// the way leaves the presented token current, so that the client's
    /// retry is no reuse. PostgreSQL rotates first, in one statement that
    /// returns the grant and its account, and `issue` runs after it: a
    /// read before it cost a third of the refreshes per second (BENCHMARKS.md,
    /// forty-third session), for a failure (a failover) in the moment
    /// between the rotation and the membership read of the scopes `profile`
    /// and `library`.
    pub async fn rotate_refresh<T, E: From<StoreError>>(
        &self,
        rotation: Rotation<'_>,
        issue: impl AsyncFnOnce(&RefreshGrant, &Account) -> Result<T, E>,
    ) -> Result<Option<T>, E> {
        if self.backend() == Backend::Postgres {
            let Some((grant, account)) = self.grants().rotate_returning_account(rotation).await? else {
                return Ok(None);
            };
            return issue(&grant, &account).await.map(Some);
        }
        let current = self
            .grants()
            .current_refresh(
                rotation.family_id,
                rotation.presented_digest,
                rotation.login_lifetime,
            )
            .await?;
        let Some((grant, account)) = current.filter(|(grant, account)| {
            grant.client_id == rotation.client_id && account.status == AccountStatus::Active
        }) else {
            return Ok(None);
        };
        let issued = issue(&grant, &account).await?;
        let rotated = self.as_writer().await.grants().rotate_current(rotation).await?;
        Ok(rotated.then_some(issued))
    }
}

/// Whether a family's current token has expired, or its login has outlived
/// `login_lifetime` (a family rotated before the lifetime was shortened).
/// The same rule as the rotation's SQL, and as the first token's expiry in
/// the server's `tokens::for_member`.
fn is_expired(row: &refresh_family::Model, login_lifetime: time::Duration, now: i64) -> bool {
    row.expires_at <= now || row.auth_time.saturating_add(millis(login_lifetime)) <= now
}

/// A lifetime in milliseconds, at most a thousand years: added to a moment
/// in SQL, a larger one would leave BIGINT (PostgreSQL refuses it, SQLite
/// turns to floating point).
fn millis(duration: time::Duration) -> i64 {
    const THOUSAND_YEARS: i64 = 1_000 * 366 * 86_400_000;
    i64::try_from(duration.whole_milliseconds()).map_or(THOUSAND_YEARS, |ms| Ord::min(ms, THOUSAND_YEARS))
}

fn code_from_row(row: authorization_code::Model) -> Result<CodeGrant, StoreError> {
    Ok(CodeGrant {
        account: parse_stored("account id", &row.account_id, AccountId::parse)?,
        auth_time: millis_to_time("auth time", row.auth_time)?,
        expires_at: millis_to_time("code expiry", row.expires_at)?,
        code_digest: row.code_digest,
        client_id: row.client_id,
        session_digest: row.session_digest,
        redirect_uri: row.redirect_uri,
        scope: row.scope,
        nonce: row.nonce,
        code_challenge: row.code_challenge,
    })
}

fn refresh_from_row(row: refresh_family::Model) -> Result<RefreshGrant, StoreError> {
    Ok(RefreshGrant {
        account: parse_stored("account id", &row.account_id, AccountId::parse)?,
        auth_time: millis_to_time("auth time", row.auth_time)?,
        expires_at: millis_to_time("refresh expiry", row.expires_at)?,
        token_digest: row.token_digest,
        family_id: row.family_id,
        client_id: row.client_id,
        session_digest: row.session_digest,
        code_digest: row.code_digest,
        scope: row.scope,
    })
}
