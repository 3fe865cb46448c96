//! What the token endpoint hands out and takes back: single-use
//! authorization codes, rotating refresh tokens in families, and the ids of
//! revoked access tokens. Only digests of codes and tokens are stored.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set,
    sea_query::{Expr, OnConflict},
};
use si_domain::AccountId;
use time::OffsetDateTime;

use crate::{
    Clock, StoreError,
    accounts::millis_to_time,
    entity::{authorization_code, refresh_token, revoked_access_token},
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

/// A refresh token's facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshGrant {
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
    /// Current and valid: it is now rotated out; issue its successor.
    Rotated(RefreshGrant),
    /// Already rotated or revoked: reuse. The whole family has been revoked.
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

    pub async fn issue_refresh(&self, grant: &RefreshGrant) -> Result<(), StoreError> {
        refresh_token::ActiveModel {
            token_digest: Set(grant.token_digest.clone()),
            family_id: Set(grant.family_id.clone()),
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

    /// Rotates a refresh token out. Presenting one that was already rotated or
    /// revoked means it leaked: the whole family is revoked (RFC 9700 4.14.2).
    /// Write first, as in [`Self::redeem_code`].
    pub async fn use_refresh(&self, token_digest: &str, client_id: &str) -> Result<RefreshUse, StoreError> {
        let now = self.clock.now_millis();
        let rotated = refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::RotatedAt, Expr::value(now))
            .filter(refresh_token::Column::TokenDigest.eq(token_digest))
            .filter(refresh_token::Column::ClientId.eq(client_id))
            .filter(refresh_token::Column::RotatedAt.is_null())
            .filter(refresh_token::Column::RevokedAt.is_null())
            .filter(refresh_token::Column::ExpiresAt.gt(now))
            .exec_with_returning(self.conn)
            .await?;
        if let Some(row) = rotated.into_iter().next() {
            return Ok(RefreshUse::Rotated(refresh_from_row(row)?));
        }
        let Some(row) = refresh_token::Entity::find_by_id(token_digest.to_owned())
            .one(self.conn)
            .await?
        else {
            return Ok(RefreshUse::Unknown);
        };
        if row.client_id != client_id {
            return Ok(RefreshUse::Unknown);
        }
        if row.rotated_at.is_some() || row.revoked_at.is_some() {
            self.revoke_family(&row.family_id).await?;
            return Ok(RefreshUse::Reused);
        }
        Ok(RefreshUse::Expired)
    }

    /// The refresh token a client presents, without using it (revocation).
    pub async fn refresh(&self, token_digest: &str) -> Result<Option<RefreshGrant>, StoreError> {
        refresh_token::Entity::find_by_id(token_digest.to_owned())
            .one(self.conn)
            .await?
            .filter(|row| row.revoked_at.is_none() && row.rotated_at.is_none())
            .map(refresh_from_row)
            .transpose()
    }

    pub async fn revoke_family(&self, family_id: &str) -> Result<u64, StoreError> {
        self.revoke_where(refresh_token::Column::FamilyId.eq(family_id))
            .await
    }

    /// Revokes the refresh tokens that came from a (replayed) code.
    pub async fn revoke_from_code(&self, code_digest: &str) -> Result<u64, StoreError> {
        self.revoke_where(refresh_token::Column::CodeDigest.eq(code_digest))
            .await
    }

    /// Revokes every refresh token of an account (password change or reset).
    pub async fn revoke_account(&self, account: &AccountId) -> Result<u64, StoreError> {
        self.revoke_where(refresh_token::Column::AccountId.eq(account.to_string()))
            .await
    }

    async fn revoke_where(&self, condition: sea_orm::sea_query::SimpleExpr) -> Result<u64, StoreError> {
        let result = refresh_token::Entity::update_many()
            .col_expr(
                refresh_token::Column::RevokedAt,
                Expr::value(self.clock.now_millis()),
            )
            .filter(condition)
            .filter(refresh_token::Column::RevokedAt.is_null())
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

fn refresh_from_row(row: refresh_token::Model) -> Result<RefreshGrant, StoreError> {
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
