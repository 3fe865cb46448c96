//! Signing keys of the OpenID Connect provider, shared by every node: a key
//! signs new tokens until its `retire_at` and stays published (so tokens it
//! signed still verify) until its `expires_at`.

use std::fmt;

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, Select, Set,
    sea_query::{Condition, Expr},
};
use time::OffsetDateTime;

use crate::{
    Clock, StoreError,
    accounts::millis_to_time,
    entity::signing_key::{self, Column},
};

/// One key as stored: the private half only in sealed form, which the store
/// neither produces nor opens.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredKey {
    pub kid: String,
    /// The JWS `alg`, e.g. `RS256`.
    pub algorithm: String,
    /// The public JWK as JSON.
    pub public_jwk: String,
    /// Encrypted PKCS#8 private key, as the server sealed it.
    pub private_key_sealed: String,
    pub created_at: OffsetDateTime,
    /// Signs no new tokens from this moment; `None` while it is the current key.
    pub retire_at: Option<OffsetDateTime>,
    /// Leaves the JWKS from this moment; `None` while it is not retired.
    pub expires_at: Option<OffsetDateTime>,
}

// Sealed material is not printed, not even encrypted: logs are no place for it.
impl fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("public_jwk", &self.public_jwk)
            .field("private_key_sealed", &"[sealed]")
            .field("created_at", &self.created_at)
            .field("retire_at", &self.retire_at)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// The advisory lock (PostgreSQL) that nodes making signing keys take turns
/// at: any number no other lock of the database uses.
const KEY_CREATION_LOCK: i64 = 7263;

pub struct SigningKeys<'c, C> {
    conn: &'c C,
    clock: &'c dyn Clock,
}

impl<'c, C: ConnectionTrait> SigningKeys<'c, C> {
    pub(crate) fn new(conn: &'c C, clock: &'c dyn Clock) -> Self {
        Self { conn, clock }
    }

    /// Holds the keys until the transaction ends, so that nodes starting
    /// together on an empty database make one set of keys, not one each.
    /// The first statement of a transaction: on PostgreSQL an advisory lock,
    /// with each later statement seeing what was committed before it (a
    /// database whose default isolation is stricter would show the keys as
    /// they were when the lock was asked for); on SQLite the transaction
    /// holds the one writer from its start.
    pub async fn hold(&self) -> Result<(), StoreError> {
        if self.conn.get_database_backend() == DbBackend::Postgres {
            let hold = format!(
                "SET TRANSACTION ISOLATION LEVEL READ COMMITTED; SELECT pg_advisory_xact_lock({KEY_CREATION_LOCK})"
            );
            self.conn.execute_unprepared(&hold).await?;
        }
        Ok(())
    }

    /// Adds a key; a kid already in use is `StoreError::Duplicate`.
    pub async fn insert(&self, key: &StoredKey) -> Result<(), StoreError> {
        let row = signing_key::ActiveModel {
            kid: Set(key.kid.clone()),
            algorithm: Set(key.algorithm.clone()),
            public_jwk: Set(key.public_jwk.clone()),
            private_key_sealed: Set(key.private_key_sealed.clone()),
            created_at: Set(to_millis(key.created_at)),
            retire_at: Set(key.retire_at.map(to_millis)),
            expires_at: Set(key.expires_at.map(to_millis)),
        };
        signing_key::Entity::insert(row)
            .exec_without_returning(self.conn)
            .await
            .map_err(|e| StoreError::on_write("signing key", e))?;
        Ok(())
    }

    /// Every key, expired ones included, newest first.
    pub async fn all(&self) -> Result<Vec<StoredKey>, StoreError> {
        self.fetch(signing_key::Entity::find()).await
    }

    /// Keys that may sign new tokens: not retired yet. Newest first, so the
    /// first of an algorithm is the one to use.
    pub async fn signing(&self) -> Result<Vec<StoredKey>, StoreError> {
        let now = self.clock.now_millis();
        let open = Condition::any()
            .add(Column::RetireAt.is_null())
            .add(Column::RetireAt.gt(now));
        self.fetch(signing_key::Entity::find().filter(open)).await
    }

    /// Stops `kid` signing at `retire_at` and unpublishes it at `expires_at`.
    pub async fn retire(
        &self,
        kid: &str,
        retire_at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let result = signing_key::Entity::update_many()
            .col_expr(Column::RetireAt, Expr::value(to_millis(retire_at)))
            .col_expr(Column::ExpiresAt, Expr::value(to_millis(expires_at)))
            .filter(Column::Kid.eq(kid))
            .exec(self.conn)
            .await?;
        if result.rows_affected == 0 {
            return Err(StoreError::NotFound { what: "signing key" });
        }
        Ok(())
    }

    /// Removes keys whose publication ended at `before` or earlier; returns
    /// how many.
    pub async fn delete_unpublished_before(&self, before: OffsetDateTime) -> Result<u64, StoreError> {
        let result = signing_key::Entity::delete_many()
            .filter(Column::ExpiresAt.lte(to_millis(before)))
            .exec(self.conn)
            .await?;
        Ok(result.rows_affected)
    }

    async fn fetch(&self, query: Select<signing_key::Entity>) -> Result<Vec<StoredKey>, StoreError> {
        // The kid breaks ties so that every node picks the same key when two
        // were created in the same millisecond (two nodes starting at once).
        query
            .order_by_desc(Column::CreatedAt)
            .order_by_desc(Column::Kid)
            .all(self.conn)
            .await?
            .into_iter()
            .map(key_from_row)
            .collect()
    }
}

fn to_millis(moment: OffsetDateTime) -> i64 {
    (moment.unix_timestamp_nanos() / 1_000_000) as i64
}

fn key_from_row(row: signing_key::Model) -> Result<StoredKey, StoreError> {
    Ok(StoredKey {
        created_at: millis_to_time("key created at", row.created_at)?,
        retire_at: row
            .retire_at
            .map(|m| millis_to_time("key retired at", m))
            .transpose()?,
        expires_at: row
            .expires_at
            .map(|m| millis_to_time("key expires at", m))
            .transpose()?,
        kid: row.kid,
        algorithm: row.algorithm,
        public_jwk: row.public_jwk,
        private_key_sealed: row.private_key_sealed,
    })
}
