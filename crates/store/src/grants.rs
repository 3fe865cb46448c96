//! What the token endpoint hands out and takes back: single-use
//! authorization codes, rotating refresh tokens in families (one row per
//! family, holding the digest of its one current token), and the ids of
//! revoked access tokens. Only digests of codes and tokens are stored.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set,
    sea_query::{Expr, OnConflict},
};
use si_domain::AccountId;
use time::OffsetDateTime;

use crate::{
    Clock, StoreError,
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
    /// Used before: a replay. The caller revokes what the first use issued.
    Replayed(CodeGrant),
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

/// What presenting a refresh token found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshUse {
    /// Current and valid: its successor is now the family's current token.
    Rotated(RefreshGrant),
    /// An earlier token of the family, or a revoked one: reuse. The whole
    /// family has been revoked.
    Reused,
    Expired,
    Unknown,
}

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

    /// Spends a code. The conditional UPDATE comes first, so that of two
    /// concurrent redemptions exactly one wins, and so that in a transaction
    /// the write lock is taken at once (SQLite cannot upgrade a reader that
    /// another writer overtook).
    pub async fn redeem_code(&self, code_digest: &str) -> Result<Redemption, StoreError> {
        let now = self.clock.now_millis();
        let spent = authorization_code::Entity::update_many()
            .col_expr(authorization_code::Column::UsedAt, Expr::value(now))
            .filter(authorization_code::Column::CodeDigest.eq(code_digest))
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
    /// family is not revoked, with its account (one query). Reads only.
    pub async fn current_refresh(
        &self,
        family_id: &str,
        token_digest: &str,
    ) -> Result<Option<(RefreshGrant, Account)>, StoreError> {
        let now = self.clock.now_millis();
        let found = refresh_family::Entity::find_by_id(family_id.to_owned())
            .find_also_related(account::Entity)
            .one(self.conn)
            .await?;
        match found {
            Some((row, Some(account)))
                if row.token_digest == token_digest && row.revoked_at.is_none() && row.expires_at > now =>
            {
                Ok(Some((refresh_from_row(row)?, account_from_row(account)?)))
            }
            _ => Ok(None),
        }
    }

    /// Replaces the family's current token by its successor: one conditional
    /// UPDATE, so that of two uses of the same token exactly one wins. When
    /// the presented token is not the current one, see [`Self::refuse_refresh`].
    pub async fn rotate_refresh(
        &self,
        family_id: &str,
        presented_digest: &str,
        client_id: &str,
        successor: (&str, OffsetDateTime),
    ) -> Result<RefreshUse, StoreError> {
        let now = self.clock.now_millis();
        let (next_digest, next_expiry) = successor;
        let rotated = refresh_family::Entity::update_many()
            .col_expr(refresh_family::Column::TokenDigest, Expr::value(next_digest))
            .col_expr(
                refresh_family::Column::ExpiresAt,
                Expr::value(to_millis(next_expiry)),
            )
            .col_expr(refresh_family::Column::RotatedAt, Expr::value(now))
            .filter(refresh_family::Column::FamilyId.eq(family_id))
            .filter(refresh_family::Column::TokenDigest.eq(presented_digest))
            .filter(refresh_family::Column::ClientId.eq(client_id))
            .filter(refresh_family::Column::RevokedAt.is_null())
            .filter(refresh_family::Column::ExpiresAt.gt(now))
            .exec_with_returning(self.conn)
            .await?;
        match rotated.into_iter().next() {
            Some(row) => Ok(RefreshUse::Rotated(refresh_from_row(row)?)),
            None => self.refuse_refresh(family_id, presented_digest, client_id).await,
        }
    }

    /// Why a presented token is not usable. A token of the family that is not
    /// its current one leaked (RFC 9700 4.14.2): the family is revoked.
    pub async fn refuse_refresh(
        &self,
        family_id: &str,
        presented_digest: &str,
        client_id: &str,
    ) -> Result<RefreshUse, StoreError> {
        let Some(row) = refresh_family::Entity::find_by_id(family_id.to_owned())
            .one(self.conn)
            .await?
            .filter(|row| row.client_id == client_id)
        else {
            return Ok(RefreshUse::Unknown);
        };
        if row.revoked_at.is_some() || row.token_digest != presented_digest {
            self.revoke_family(&row.family_id).await?;
            return Ok(RefreshUse::Reused);
        }
        Ok(RefreshUse::Expired)
    }

    pub async fn revoke_family(&self, family_id: &str) -> Result<u64, StoreError> {
        self.revoke_where(refresh_family::Column::FamilyId.eq(family_id))
            .await
    }

    /// Revokes the refresh tokens issued in a browser session that ended.
    pub async fn revoke_session(&self, session_digest: &str) -> Result<u64, StoreError> {
        self.revoke_where(refresh_family::Column::SessionDigest.eq(session_digest))
            .await
    }

    /// Revokes the refresh tokens that came from a (replayed) code.
    pub async fn revoke_from_code(&self, code_digest: &str) -> Result<u64, StoreError> {
        self.revoke_where(refresh_family::Column::CodeDigest.eq(code_digest))
            .await
    }

    /// Revokes every refresh token of an account (password change or reset).
    pub async fn revoke_account(&self, account: &AccountId) -> Result<u64, StoreError> {
        self.revoke_where(refresh_family::Column::AccountId.eq(account.to_string()))
            .await
    }

    async fn revoke_where(&self, condition: sea_orm::sea_query::SimpleExpr) -> Result<u64, StoreError> {
        let result = refresh_family::Entity::update_many()
            .col_expr(
                refresh_family::Column::RevokedAt,
                Expr::value(self.clock.now_millis()),
            )
            .filter(condition)
            .filter(refresh_family::Column::RevokedAt.is_null())
            .exec(self.conn)
            .await?;
        Ok(result.rows_affected)
    }

    /// Remembers a revoked access token until it would have expired anyway.
    pub async fn revoke_access_token(&self, jti: &str, expires_at: OffsetDateTime) -> Result<(), StoreError> {
        revoked_access_token::Entity::insert(revoked_access_token::ActiveModel {
            jti: Set(jti.to_owned()),
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

    pub async fn is_access_token_revoked(&self, jti: &str) -> Result<bool, StoreError> {
        Ok(revoked_access_token::Entity::find_by_id(jti.to_owned())
            .one(self.conn)
            .await?
            .is_some())
    }
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
