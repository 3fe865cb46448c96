//! What can go wrong in storage, in terms a caller can act on.

use sea_orm::{DbErr, SqlErr};

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
    /// The database could not be reached or answered with an error.
    #[error("database error: {0}")]
    Database(#[from] DbErr),
}

impl StoreError {
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
