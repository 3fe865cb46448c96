//! What can go wrong in storage, in terms a caller can act on.

use sea_orm::{DbErr, RuntimeErr, SqlErr, sqlx};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique rule of the schema refused the row (a code or name already in use).
    #[error("{what} already exists")]
    Duplicate { what: &'static str },
    /// A referenced row does not exist.
    #[error("{what} not found")]
    NotFound { what: &'static str },
    /// A stored value no longer passes the domain's rules (edited by hand?).
    #[error("stored {what} is not valid: {value:?}")]
    Corrupt { what: &'static str, value: String },
    /// The database URL is not one we can open.
    #[error("unsupported database URL (use sqlite://PATH or postgres://…): {0}")]
    UnsupportedUrl(String),
    /// SQLite creates its file, but not the folders above it.
    #[error("the folder {0} of the SQLite database does not exist: create it, or name another path")]
    MissingFolder(String),
    /// The database could not be reached or answered with an error.
    #[error("database error: {0}")]
    Database(#[from] DbErr),
}

impl StoreError {
    /// Whether the database could not be reached or was too busy, so that
    /// the same request may well succeed a little later: the pool found no
    /// connection, a connection broke or was ended by the server (PostgreSQL
    /// classes 08 and 57P), or SQLite's busy timeout ran out.
    pub fn is_unavailable(&self) -> bool {
        let StoreError::Database(err) = self else {
            return false;
        };
        let runtime = match err {
            DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => return true,
            DbErr::Exec(runtime) | DbErr::Query(runtime) => runtime,
            _ => return false,
        };
        let RuntimeErr::SqlxError(sqlx) = runtime else {
            return false;
        };
        match sqlx.as_ref() {
            sqlx::Error::Io(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => true,
            sqlx::Error::Database(database) => {
                let code = database.code().unwrap_or_default();
                if database.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                    // SQLITE_BUSY and SQLITE_LOCKED, with their extended codes.
                    matches!(code.parse::<i32>().map(|c| c & 0xff), Ok(5 | 6))
                } else {
                    code.starts_with("08") || code.starts_with("57P")
                }
            }
            _ => false,
        }
    }

    /// Classifies a database error raised while writing `what`.
    pub(crate) fn on_write(what: &'static str, err: DbErr) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => Self::Duplicate { what },
            Some(SqlErr::ForeignKeyConstraintViolation(_)) => Self::NotFound {
                what: "referenced row",
            },
            _ => Self::Database(err),
        }
    }
}

/// Turns a stored value back into its domain type, or reports the row as corrupt.
pub(crate) fn parse_stored<T, E>(
    what: &'static str,
    value: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T, StoreError> {
    parse(value).map_err(|_| StoreError::Corrupt {
        what,
        value: value.to_owned(),
    })
}
