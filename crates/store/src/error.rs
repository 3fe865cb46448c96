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
    /// A password parameter the driver would not read, and would log.
    #[error(
        "write the password parameter of {0} as password=, in small letters: PostgreSQL's driver reads no other spelling"
    )]
    PasswordParameterSpelling(String),
    /// A row its caller could not make (a mail it could not seal).
    #[error("cannot write {what}: {cause}")]
    Unwritable { what: &'static str, cause: &'static str },
    /// A query parameter the driver would not read, and would log with its value.
    #[error(
        "the parameter {parameter} of {url} is not one PostgreSQL's driver reads, and it would write its value into the log: leave it out (it reads sslmode, sslrootcert, sslcert, sslkey, statement-cache-capacity, host, hostaddr, port, dbname, user, password, application_name, options and options[NAME])"
    )]
    UnknownParameter { parameter: String, url: String },
    /// The database could not be opened; `url` and `cause` with the password masked.
    #[error("cannot connect to {url}: {cause}")]
    Connect { url: String, cause: String },
    /// SQLite creates its file, but not the folders above it.
    #[error("the folder {0} of the SQLite database does not exist: create it, or name another path")]
    MissingFolder(String),
    /// The SQLite file, or a folder on its way, is not this user's to open.
    #[error(
        "cannot open {path}: {source}: run the command as the user the service runs as, who owns the data directory"
    )]
    NoAccess { path: String, source: std::io::Error },
    /// The database could not be reached or answered with an error.
    #[error("database error: {0}")]
    Database(#[from] DbErr),
}

impl StoreError {
    /// Whether the same request may well succeed a little later (see
    /// [`is_transient`]).
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Database(err) => is_transient(err),
            _ => false,
        }
    }

    /// Whether the connection the statement ran on broke or was ended by
    /// the server, so that the same statement on another connection may
    /// succeed at once.
    pub fn is_ended_connection(&self) -> bool {
        matches!(self, StoreError::Database(err) if ended_connection(err))
    }

    /// Whether `error`, or an error it was caused by, is a storage failure
    /// that [`StoreError::is_unavailable`] calls transient. Wrappers that
    /// forward a store error transparently hide it, but not its cause.
    pub fn is_unavailable_cause(error: &(dyn std::error::Error + 'static)) -> bool {
        let mut next = Some(error);
        while let Some(error) = next {
            let transient = match (error.downcast_ref::<StoreError>(), error.downcast_ref::<DbErr>()) {
                (Some(store), _) => store.is_unavailable(),
                (None, Some(database)) => is_transient(database),
                (None, None) => false,
            };
            if transient {
                return true;
            }
            next = error.source();
        }
        false
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

/// Whether the same request may well succeed a little later: the pool
/// found no connection in time, a connection broke or the server ended it (a
/// restart, a failover), a transaction lost a deadlock or a serialization
/// conflict, or SQLite stayed busy past its timeout. A refused login to the
/// database or a missing one is not transient.
fn is_transient(err: &DbErr) -> bool {
    if matches!(err, DbErr::ConnectionAcquire(_)) || ended_connection(err) {
        return true;
    }
    match sqlx_error(err) {
        Some(sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed) => true,
        Some(sqlx::Error::Database(database)) => {
            let code = database.code().unwrap_or_default();
            if database.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                // SQLITE_BUSY and SQLITE_LOCKED, with their extended codes.
                matches!(code.parse::<i32>().map(|c| c & 0xff), Ok(5 | 6))
            } else {
                // Cannot connect now (starting up), too many connections,
                // a database not accepting connections (55000, as during a
                // maintenance); serialization failure and deadlock.
                matches!(&*code, "57P03" | "53300" | "55000" | "40001" | "40P01")
            }
        }
        _ => false,
    }
}

/// Whether the connection the statement ran on is gone: it broke, or the
/// server ended it (a restart, a failover, an idle timeout). The pool drops
/// it; another connection may well work at once.
fn ended_connection(err: &DbErr) -> bool {
    match sqlx_error(err) {
        Some(sqlx::Error::Io(_) | sqlx::Error::Protocol(_)) => true,
        Some(sqlx::Error::Database(database)) => {
            let code = database.code().unwrap_or_default();
            database.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_none()
                && (code.starts_with("08") || matches!(&*code, "57P01" | "57P02" | "57P05"))
        }
        _ => false,
    }
}

pub(crate) fn sqlx_error(err: &DbErr) -> Option<&sqlx::Error> {
    match err {
        DbErr::Conn(RuntimeErr::SqlxError(sqlx))
        | DbErr::Exec(RuntimeErr::SqlxError(sqlx))
        | DbErr::Query(RuntimeErr::SqlxError(sqlx)) => Some(sqlx.as_ref()),
        _ => None,
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use sea_orm::{ConnectOptions, ConnectionTrait, Database};

    use super::*;

    /// Two connections to one SQLite file, neither waiting for a lock.
    async fn impatient(url: &str) -> sea_orm::DatabaseConnection {
        let mut options = ConnectOptions::new(url);
        options
            .sqlx_logging(false)
            .map_sqlx_sqlite_opts(|o| o.create_if_missing(true).busy_timeout(Duration::ZERO));
        Database::connect(options).await.expect("SQLite")
    }

    #[tokio::test]
    async fn a_sqlite_writer_that_stays_busy_is_unavailable_a_refused_row_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/busy.db", dir.path().display());
        let (holder, waiter) = (impatient(&url).await, impatient(&url).await);
        holder
            .execute_unprepared("CREATE TABLE t (id INTEGER PRIMARY KEY)")
            .await
            .unwrap();
        holder.execute_unprepared("BEGIN IMMEDIATE").await.unwrap();
        let busy = waiter
            .execute_unprepared("INSERT INTO t VALUES (1)")
            .await
            .unwrap_err();
        assert!(StoreError::Database(busy).is_unavailable(), "SQLITE_BUSY");
        holder.execute_unprepared("COMMIT").await.unwrap();

        waiter
            .execute_unprepared("INSERT INTO t VALUES (1)")
            .await
            .unwrap();
        let twice = waiter
            .execute_unprepared("INSERT INTO t VALUES (1)")
            .await
            .unwrap_err();
        assert!(!StoreError::Database(twice).is_unavailable(), "a constraint");
    }
}
