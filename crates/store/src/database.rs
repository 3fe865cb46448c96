//! Opening the database (SQLite or PostgreSQL) and the `Store` handle every
//! repository hangs off.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DbBackend,
    sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous},
};

use crate::{
    Clock, StoreError,
    migrations::{self, Schema},
};

/// Which database engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// What a store is opened for, which decides how its connections keep
/// prepared statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// The service: a few dozen statements, each prepared once per
    /// connection and reused for every request.
    Service,
    /// Bulk loads (`migrate import`): multi-row inserts of thousands of rows
    /// whose size differs from batch to batch. Keeping each prepared (a large
    /// program in SQLite) grew the importer by 350 MiB at 3.6 million rows;
    /// these connections keep only a handful.
    BulkLoad,
}

/// A handle on the database: cheap to clone, shared by every repository.
#[derive(Clone)]
pub struct Store {
    pub(crate) db: DatabaseConnection,
    pub(crate) clock: Arc<dyn Clock>,
    /// SQLite has one writer at a time. Transactions of this process queue
    /// here instead of in SQLite's busy handler, which sleeps and retries and
    /// wastes most of the time under contention. None on PostgreSQL.
    pub(crate) writer: Option<Arc<tokio::sync::Mutex<()>>>,
}

impl Store {
    /// Opens (and for SQLite, creates) the database at `url` for the
    /// service. Does not migrate.
    pub async fn connect(url: &str, clock: Arc<dyn Clock>) -> Result<Self, StoreError> {
        Self::connect_for(url, clock, Workload::Service).await
    }

    /// [`Store::connect`] for a workload.
    pub async fn connect_for(
        url: &str,
        clock: Arc<dyn Clock>,
        workload: Workload,
    ) -> Result<Self, StoreError> {
        let statements_kept = match workload {
            Workload::Service => 100,
            Workload::BulkLoad => 4,
        };
        // A bulk load writes through one connection at a time; every further
        // SQLite connection would hold its own page cache and prepared
        // multi-row statements (tens of MiB each) for nothing. Two, not one:
        // a statement beside a batch's transaction never waits for the
        // connection that transaction holds.
        let sqlite_connections = match workload {
            Workload::Service => 8,
            Workload::BulkLoad => 2,
        };
        // sqlx hands SQLite's rows from the connection's thread through a
        // channel of this many; once it is full every row taken wakes that
        // thread for the next. A bulk load reads pages of 20,000 rows.
        let sqlite_rows_buffered = match workload {
            Workload::Service => 50,
            Workload::BulkLoad => 20_000,
        };
        let mut options = ConnectOptions::new(url);
        options
            .sqlx_logging(false)
            .connect_timeout(Duration::from_secs(3))
            // A database that is down answers "try again" within 3 s: a
            // member does not wait longer, and requests do not pile up.
            .acquire_timeout(Duration::from_secs(3))
            // A ping on every checkout doubles the round trips of a one-statement
            // request under load. A connection idle for a second is checked
            // first: after a database restart (or a proxy or firewall dropping
            // it) the pool replaces it unseen, unless the restart came in the
            // very second the connection was last used.
            .test_before_acquire_if_idle_for(Duration::from_secs(1));
        if url.starts_with("sqlite:") {
            if let Some(folder) = missing_sqlite_folder(url) {
                return Err(StoreError::MissingFolder(folder));
            }
            if let Some((path, source)) = sqlite_access_denied(url) {
                return Err(StoreError::NoAccess { path, source });
            }
            // WAL lets readers run beside the one writer; the busy timeout makes
            // writers queue instead of failing while another one commits.
            // The statements kept are reused as prepared only because SQLite is
            // built with SQLITE_ENABLE_QPSG (.cargo/config.toml).
            options
                .max_connections(sqlite_connections)
                .map_sqlx_sqlite_opts(move |o| {
                    o.create_if_missing(true)
                        .journal_mode(SqliteJournalMode::Wal)
                        .synchronous(SqliteSynchronous::Normal)
                        .foreign_keys(true)
                        .busy_timeout(Duration::from_secs(10))
                        // Up to 16 MiB of pages per connection, taken as needed: with
                        // SQLite's default of 2 MiB a large transaction (an import
                        // batch) spills pages to the WAL before it commits.
                        .pragma("cache_size", "-16384")
                        // What a row held is overwritten when it is deleted or
                        // changed, overflow pages freed too: a mail's link,
                        // wiped once sent, is then gone from a copy of the
                        // file, not only from the row.
                        .pragma("secure_delete", "on")
                        .statement_cache_capacity(statements_kept)
                        .row_buffer_size(sqlite_rows_buffered)
                });
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            if misspells_password(url) {
                return Err(StoreError::PasswordParameterSpelling(redact_url(url)));
            }
            if let Some(parameter) = unknown_parameter(url) {
                return Err(StoreError::UnknownParameter {
                    parameter,
                    url: redact_url(url),
                });
            }
            options
                .max_connections(20)
                .map_sqlx_postgres_opts(move |o| o.statement_cache_capacity(statements_kept));
        } else {
            return Err(StoreError::UnsupportedUrl(redact_url(url)));
        }
        let writer = url
            .starts_with("sqlite:")
            .then(|| Arc::new(tokio::sync::Mutex::new(())));
        let db = match Database::connect(options).await {
            Ok(db) => db,
            Err(err) => return Err(connect_error(url, &err, refusal_behind_timeout(url, &err).await)),
        };
        Ok(Self { db, clock, writer })
    }

    /// Brings the schema up to date; safe to run on several nodes at once.
    pub async fn migrate(&self) -> Result<Vec<&'static str>, StoreError> {
        migrations::apply(&self.db, self.clock.now_millis()).await
    }

    /// Names of migrations not yet applied. Writes nothing.
    pub async fn pending_migrations(&self) -> Result<Vec<&'static str>, StoreError> {
        migrations::pending(&self.db).await
    }

    /// Where the schema stands: whether this is the service's database at
    /// all, and if so whether it is up to date. Writes nothing.
    pub async fn schema(&self) -> Result<Schema, StoreError> {
        migrations::schema(&self.db).await
    }

    /// Answers whether the database is reachable, for readiness probes.
    ///
    /// After a database restart the pool still holds the connections the
    /// server ended; each fails once and is dropped. The ping goes past
    /// them, one try more than the pool can hold, to a live or a new one.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut pinged = self.db.ping().await.map_err(StoreError::from);
        for _ in 0..self.max_connections() {
            if !pinged.as_ref().is_err_and(StoreError::is_ended_connection) {
                break;
            }
            pinged = self.db.ping().await.map_err(StoreError::from);
        }
        pinged
    }

    /// How many connections the pool may hold.
    fn max_connections(&self) -> u32 {
        match self.backend() {
            Backend::Postgres => self
                .db
                .get_postgres_connection_pool()
                .options()
                .get_max_connections(),
            Backend::Sqlite => self
                .db
                .get_sqlite_connection_pool()
                .options()
                .get_max_connections(),
        }
    }

    pub fn backend(&self) -> Backend {
        match self.db.get_database_backend() {
            DbBackend::Postgres => Backend::Postgres,
            _ => Backend::Sqlite,
        }
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The underlying sea-orm connection, for bulk paths that need the raw pool.
    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    pub async fn close(self) -> Result<(), StoreError> {
        Ok(self.db.close().await?)
    }
}

/// The file a SQLite URL names; None for another database, one in memory,
/// or a percent-encoded path (sqlx's to decode: let SQLite report it).
pub fn sqlite_path(url: &str) -> Option<&Path> {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let (path, options) = path.split_once('?').unwrap_or((path, ""));
    let in_memory = path == ":memory:" || options.contains("mode=memory");
    let named = !(path.is_empty() || in_memory || path.contains('%'));
    named.then(|| Path::new(path))
}

/// The folder a SQLite URL's file would go in, when it does not exist
/// (SQLite's own error names neither the path nor the cause).
/// A folder this user may not look into is not missing: opening the file
/// says so.
fn missing_sqlite_folder(url: &str) -> Option<String> {
    let folder = sqlite_path(url)?.parent()?;
    let missing = matches!(folder.try_exists(), Ok(false)) || folder.is_file();
    (!folder.as_os_str().is_empty() && missing).then(|| folder.display().to_string())
}

/// Why this user may not open the SQLite file a URL names, or its folder,
/// when it may not (SQLite's own errors, "unable to open database file" or
/// "attempt to write a readonly database", tell neither). The file is
/// opened for writing too, unless the URL asks for reading only.
fn sqlite_access_denied(url: &str) -> Option<(String, std::io::Error)> {
    let file = sqlite_path(url)?;
    let options = url.split_once('?').map_or("", |(_, options)| options);
    let read_only = options.split('&').any(|option| option == "mode=ro");
    let denied = match file.try_exists() {
        Ok(true) => std::fs::OpenOptions::new()
            .read(true)
            .write(!read_only)
            .open(file)
            .err(),
        Ok(false) => None,
        Err(err) => Some(err),
    };
    denied
        .filter(|err| err.kind() == std::io::ErrorKind::PermissionDenied)
        .map(|err| (file.display().to_string(), err))
}

/// The file a SQLite URL names, when there is none there yet: connecting
/// would make it, and a look at the database must change nothing. A file
/// this user may not see is not missing: opening it says so.
pub fn missing_sqlite_file(url: &str) -> Option<PathBuf> {
    let file = sqlite_path(url)?;
    matches!(file.try_exists(), Ok(false)).then(|| file.to_path_buf())
}

/// What is wrong with `url` as a database of the service, read as the
/// driver will read it, so that a mistake is said as one in the
/// configuration before anything is opened. Without its passwords.
pub fn url_problem(url: &str) -> Option<String> {
    use sea_orm::sqlx::{postgres::PgConnectOptions, sqlite::SqliteConnectOptions};
    use std::str::FromStr;
    if url.starts_with("sqlite:") {
        if sqlite_path(url).is_none() && !url.contains('%') {
            return Some(
                "it names no file: a database in memory would lose everything at a restart".to_owned(),
            );
        }
        return SqliteConnectOptions::from_str(url)
            .err()
            .map(|err| without_passwords(url, err.to_string()));
    }
    if misspells_password(url) {
        return Some(StoreError::PasswordParameterSpelling(redact_url(url)).to_string());
    }
    if let Some(parameter) = unknown_parameter(url) {
        let url = redact_url(url);
        return Some(StoreError::UnknownParameter { parameter, url }.to_string());
    }
    PgConnectOptions::from_str(url)
        .err()
        .map(|err| without_passwords(url, err.to_string()))
}

/// The driver takes the password parameter only as `password`; it logs any
/// other spelling, value and all, as one it does not know.
fn misspells_password(url: &str) -> bool {
    UrlParts::of(url)
        .query_passwords_named()
        .any(|(key, _)| decoded_name(key) != b"password")
}

/// The query parameters PostgreSQL's driver reads (sqlx-postgres,
/// `options/parse.rs`). It logs any other as one it does not know, value
/// and all, which may be a password (`sslpassword=`, `passwd=`).
const DRIVER_PARAMETERS: &[&str] = &[
    "sslmode",
    "ssl-mode",
    "sslrootcert",
    "ssl-root-cert",
    "ssl-ca",
    "sslcert",
    "ssl-cert",
    "sslkey",
    "ssl-key",
    "statement-cache-capacity",
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "application_name",
    "options",
];

/// Whether the driver reads a query parameter of this name: one of
/// [`DRIVER_PARAMETERS`], or a server setting as `options[NAME]`.
fn is_driver_parameter(key: &str) -> bool {
    let name = decoded_name(key);
    DRIVER_PARAMETERS.iter().any(|known| known.as_bytes() == name)
        || (name.starts_with(b"options[") && name.ends_with(b"]"))
}

/// The name of the first query parameter the driver does not read.
fn unknown_parameter(url: &str) -> Option<String> {
    let query = UrlParts::of(url).query?;
    query
        .split('&')
        .filter(|parameter| !parameter.is_empty())
        .map(|parameter| parameter.split_once('=').map_or(parameter, |(key, _)| key))
        .find(|key| !is_driver_parameter(key))
        .map(|key| String::from_utf8_lossy(&decoded_name(key)).into_owned())
}

/// A driver's message with `url` and its passwords masked.
fn without_passwords(url: &str, message: String) -> String {
    let mut message = message.replace(url, &redact_url(url));
    for password in passwords_in(url) {
        message = message.replace(password, "***");
    }
    message
}

/// What a PostgreSQL server said to one connection of its own when the pool
/// only timed out: the pool tries again on a refused connection (a server
/// still starting refuses) until its wait is over, and then names the wait,
/// not the refusal. `None` when that connection got no answer either.
async fn refusal_behind_timeout(url: &str, err: &sea_orm::DbErr) -> Option<String> {
    use sea_orm::sqlx::{Connection, PgConnection, postgres::PgConnectOptions};
    use std::str::FromStr;
    if !is_pool_timeout(err) || url.starts_with("sqlite:") {
        return None;
    }
    let options = PgConnectOptions::from_str(url).ok()?;
    match tokio::time::timeout(Duration::from_secs(3), PgConnection::connect_with(&options)).await {
        Ok(Err(refused)) => Some(refused.to_string()),
        Ok(Ok(connection)) => {
            let _ = connection.close().await;
            None
        }
        Err(_) => None,
    }
}

/// Whether sqlx's pool waited for a connection in vain.
fn is_pool_timeout(err: &sea_orm::DbErr) -> bool {
    matches!(
        crate::error::sqlx_error(err),
        Some(sea_orm::sqlx::Error::PoolTimedOut)
    )
}

/// Why `url` could not be opened, naming it (the operator sees which
/// database), without its password: the driver's own message may quote the
/// whole URL. `refusal` is what the server said when the pool only says it
/// waited.
fn connect_error(url: &str, err: &sea_orm::DbErr, refusal: Option<String>) -> StoreError {
    let waited_in_vain = refusal.is_none() && is_pool_timeout(err);
    let mut message = without_passwords(url, refusal.unwrap_or_else(|| err.to_string()));
    // PostgreSQL names the line of its own source that raised the error:
    // nothing an operator can use.
    if let Some((said, line)) = message.rsplit_once(" at line ")
        && !line.is_empty()
        && line.bytes().all(|b| b.is_ascii_digit())
    {
        message.truncate(said.len());
    }
    // sqlx says only that its pool waited: the server did not answer.
    if waited_in_vain {
        message.push_str(" (the server did not answer in time: is it running, and reachable from here?)");
    }
    StoreError::Connect {
        url: redact_url(url),
        cause: message,
    }
}

/// A URL cut where its passwords are: the user information's (`user:pw@`)
/// and a `password=` query parameter's, which PostgreSQL's driver takes too.
struct UrlParts<'a> {
    /// Up to the user name, `postgres://si`; empty without user information.
    user: &'a str,
    password: Option<&'a str>,
    /// From the host to the query, without `?`.
    place: &'a str,
    query: Option<&'a str>,
}

impl<'a> UrlParts<'a> {
    fn of(url: &'a str) -> Self {
        let (address, query) = url.split_once('?').map_or((url, None), |(a, q)| (a, Some(q)));
        let userinfo = address
            .find("://")
            .and_then(|scheme_end| Some((scheme_end, address.rfind('@').filter(|&at| at > scheme_end)?)));
        match userinfo {
            Some((scheme_end, at)) => {
                let user_starts = scheme_end + 3;
                let (user, password) = match address[user_starts..at].split_once(':') {
                    Some((user, password)) => (&address[..user_starts + user.len()], Some(password)),
                    None => (&address[..at], None),
                };
                Self {
                    user,
                    password,
                    place: &address[at + 1..],
                    query,
                }
            }
            None => Self {
                user: "",
                password: None,
                place: address,
                query,
            },
        }
    }

    fn query_passwords(&self) -> impl Iterator<Item = &'a str> {
        self.query_passwords_named().map(|(_, password)| password)
    }

    /// The password parameters, each with its name as written.
    fn query_passwords_named(&self) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.query
            .into_iter()
            .flat_map(|query| query.split('&'))
            .filter_map(|parameter| parameter.split_once('='))
            .filter(|(key, _)| is_password_key(key))
    }
}

/// Whether a query parameter is the password, named in any case and with
/// any of its letters percent-encoded.
fn is_password_key(key: &str) -> bool {
    decoded_name(key).eq_ignore_ascii_case(b"password")
}

/// A query parameter's name as the driver reads it: `%XX` decoded.
fn decoded_name(key: &str) -> Vec<u8> {
    let bytes = key.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let escaped = bytes
            .get(at + 1..at + 3)
            .filter(|hex| bytes[at] == b'%' && hex.iter().all(u8::is_ascii_hexdigit))
            .and_then(|hex| u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok());
        match escaped {
            Some(byte) => {
                decoded.push(byte);
                at += 3;
            }
            None => {
                decoded.push(bytes[at]);
                at += 1;
            }
        }
    }
    decoded
}

/// Every password in `url`, to be struck from what the driver says.
fn passwords_in(url: &str) -> Vec<&str> {
    let parts = UrlParts::of(url);
    parts
        .password
        .into_iter()
        .chain(parts.query_passwords())
        .filter(|password| !password.is_empty())
        .collect()
}

/// The URL without its passwords, for error messages and logs.
pub fn redact_url(url: &str) -> String {
    // Not a URL: a libpq keyword/value string (`host=db
    // password=…`), which the service does not take but an operator may
    // try. Its password may be quoted and hold spaces: everything from it
    // on is left out.
    let is_url = url.contains("://")
        || ["sqlite:", "postgres:", "postgresql:"].iter().any(|scheme| {
            url.get(..scheme.len())
                .is_some_and(|start| start.eq_ignore_ascii_case(scheme))
        });
    if !is_url {
        return match url.to_ascii_lowercase().find("password") {
            Some(at) => format!("{}password=***", &url[..at]),
            None => url.to_owned(),
        };
    }
    let parts = UrlParts::of(url);
    let mut redacted = match (parts.user, parts.password) {
        ("", _) => parts.place.to_owned(),
        (user, None) => format!("{user}@{}", parts.place),
        (user, Some(_)) => format!("{user}:***@{}", parts.place),
    };
    // A parameter PostgreSQL's driver does not read may hold a password too.
    let is_postgres = url
        .get(..8)
        .is_some_and(|start| start.eq_ignore_ascii_case("postgres"));
    if let Some(query) = parts.query {
        let parameters: Vec<String> = query
            .split('&')
            .map(|parameter| match parameter.split_once('=') {
                Some((key, _)) if is_password_key(key) || (is_postgres && !is_driver_parameter(key)) => {
                    format!("{key}=***")
                }
                _ => parameter.to_owned(),
            })
            .collect();
        redacted = format!("{redacted}?{}", parameters.join("&"));
    }
    redacted
}

#[cfg(test)]
mod tests {
    use sea_orm::{ConnectionTrait, Statement};

    use super::*;
    use crate::SystemClock;

    /// Without the query planner stability guarantee SQLite parses and plans
    /// every `.one()` (a bound `LIMIT`) again at each run.
    #[tokio::test]
    async fn sqlite_keeps_one_plan_per_prepared_statement() {
        let store = Store::connect("sqlite::memory:", Arc::new(SystemClock))
            .await
            .expect("in-memory SQLite");
        let options = store
            .connection()
            .query_all_raw(Statement::from_string(
                DbBackend::Sqlite,
                "PRAGMA compile_options",
            ))
            .await
            .expect("compile options");
        let options: Vec<String> = options
            .iter()
            .map(|row| row.try_get_by_index(0).expect("an option's name"))
            .collect();
        assert!(
            options.iter().any(|option| option == "ENABLE_QPSG"),
            "SQLite built without ENABLE_QPSG: {options:?}"
        );
    }

    #[tokio::test]
    async fn a_sqlite_file_in_a_missing_folder_is_named_not_sqlites_code_14() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/nowhere/si.db?mode=rwc", dir.path().display());
        let refused = Store::connect(&url, Arc::new(SystemClock)).await.err().unwrap();
        assert_eq!(
            refused.to_string(),
            format!(
                "the folder {}/nowhere of the SQLite database does not exist: create it, or name another path",
                dir.path().display()
            )
        );
        assert_eq!(missing_sqlite_folder("sqlite::memory:"), None);
        assert_eq!(
            missing_sqlite_folder("sqlite://si.db"),
            None,
            "the working directory"
        );
    }

    #[test]
    fn a_sqlite_file_not_there_is_named_and_one_in_memory_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let absent = dir.path().join("typo.db");
        let url = format!("sqlite://{}?mode=rwc", absent.display());
        assert_eq!(missing_sqlite_file(&url), Some(absent.clone()));
        std::fs::write(&absent, b"").unwrap();
        assert_eq!(missing_sqlite_file(&url), None, "it is there now");
        for in_memory in ["sqlite::memory:", "sqlite://shared?mode=memory&cache=shared"] {
            assert_eq!(missing_sqlite_file(in_memory), None, "{in_memory}");
        }
        assert_eq!(missing_sqlite_file("postgres://si@db.example/si"), None);
    }

    #[tokio::test]
    async fn a_url_the_driver_cannot_read_is_named_without_its_password() {
        let url = "postgres://si:S3cr3t-Pass@db.example:notaport/si";
        let refused = Store::connect(url, Arc::new(SystemClock)).await.err().unwrap();
        let message = refused.to_string();
        assert!(!message.contains("S3cr3t"), "{message}");
        assert!(
            message.starts_with("cannot connect to postgres://si:***@db.example:notaport/si: "),
            "{message}"
        );
    }

    /// What an operator can act on, and nothing else: a port no server
    /// listens on is a refused connection, not a wait; PostgreSQL's own
    /// source line is left out.
    #[tokio::test]
    async fn a_database_that_refuses_or_is_not_there_is_said_plainly() {
        let closed = "postgres://si@127.0.0.1:1/si";
        let message = Store::connect(closed, Arc::new(SystemClock))
            .await
            .err()
            .unwrap()
            .to_string();
        assert!(
            message.starts_with("cannot connect to postgres://si@127.0.0.1:1/si: ")
                && message.ends_with("Connection refused (os error 111)"),
            "{message}"
        );
        // A port that takes the connection and never answers.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let silent_url = format!("postgres://si@{}/si", silent.local_addr().unwrap());
        let message = Store::connect(&silent_url, Arc::new(SystemClock))
            .await
            .err()
            .unwrap()
            .to_string();
        assert!(
            message.ends_with("(the server did not answer in time: is it running, and reachable from here?)"),
            "{message}"
        );
        // With the suite on PostgreSQL: a database name the server does not have.
        let server = std::env::var("SI_TEST_DATABASE_URL").unwrap_or_default();
        if server.is_empty() {
            return;
        }
        let (server, _) = server.rsplit_once('/').unwrap();
        let missing = format!("{server}/si_no_such_database");
        let message = Store::connect(&missing, Arc::new(SystemClock))
            .await
            .err()
            .unwrap()
            .to_string();
        assert!(
            message.ends_with("database \"si_no_such_database\" does not exist"),
            "{message}"
        );
    }

    #[test]
    fn passwords_never_appear_in_redacted_urls() {
        assert_eq!(
            redact_url("host=127.0.0.1 PASSWORD='Hunter2 Secret' dbname=si"),
            "host=127.0.0.1 password=***"
        );
        assert_eq!(
            redact_url("sqlite:/srv/password-store/si.db"),
            "sqlite:/srv/password-store/si.db"
        );
        // A scheme misspelt is still a URL, its password masked.
        assert_eq!(
            redact_url("postgress://si:s3cret@db/si"),
            "postgress://si:***@db/si"
        );
        assert_eq!(
            redact_url("postgres://si:s3cret@db:5432/si"),
            "postgres://si:***@db:5432/si"
        );
        assert_eq!(redact_url("sqlite://data/si.db"), "sqlite://data/si.db");
        assert_eq!(
            redact_url("sqlite://data/si.db?mode=rwc"),
            "sqlite://data/si.db?mode=rwc"
        );
        // A user without a password is shown as is: nothing hides there.
        assert_eq!(
            redact_url("postgres://postgres@127.0.0.1:5432/si"),
            "postgres://postgres@127.0.0.1:5432/si"
        );
        // A password in the query, which the PostgreSQL driver reads too.
        assert_eq!(
            redact_url("postgres://si@db/si?sslmode=require&password=s3cret"),
            "postgres://si@db/si?sslmode=require&password=***"
        );
        assert_eq!(
            redact_url("postgres://si:p@ss:w0rd@db/si?Password=x"),
            "postgres://si:***@db/si?Password=***"
        );
        // The driver decodes the parameter's name as well.
        assert_eq!(
            redact_url("postgres://si@db/si?pass%77ord=S3cret&applic%61tion_name=x"),
            "postgres://si@db/si?pass%77ord=***&applic%61tion_name=x"
        );
        assert_eq!(
            redact_url("postgres://si@db/si?%=x&pw%7=y&sslpassword=S3cret&sslmode=require"),
            "postgres://si@db/si?%=***&pw%7=***&sslpassword=***&sslmode=require"
        );
    }

    /// `PASSWORD=` or `Pass%57ord=`: the driver would not use it, and would
    /// log it with its value as a parameter it does not know.
    #[tokio::test]
    async fn a_password_parameter_spelt_otherwise_is_refused_before_the_driver_sees_it() {
        for url in [
            "postgres://si@db.example/si?PASSWORD=S3cret",
            "postgres://si@db.example/si?Pass%57ord=S3cret",
        ] {
            let refused = Store::connect(url, Arc::new(SystemClock)).await.err().unwrap();
            let message = refused.to_string();
            assert!(!message.contains("S3cret"), "{message}");
            assert!(
                message.starts_with("write the password parameter of postgres://si@db.example/si?"),
                "{message}"
            );
        }
    }

    /// The driver logs a parameter it does not read, value and all: one
    /// that holds a password (`sslpassword=`) would reach the log.
    #[tokio::test]
    async fn a_parameter_the_driver_does_not_read_is_refused_without_its_value() {
        for (url, named) in [
            (
                "postgres://si@db.example/si?sslmode=require&sslpassword=S3cret",
                "sslpassword",
            ),
            ("postgres://si@db.example/si?passwd=S3cret", "passwd"),
        ] {
            let refused = Store::connect(url, Arc::new(SystemClock)).await.err().unwrap();
            let message = refused.to_string();
            assert!(!message.contains("S3cret"), "{message}");
            assert!(
                message.starts_with(&format!("the parameter {named} of ")),
                "{message}"
            );
            assert_eq!(url_problem(url), Some(message));
        }
        for fine in [
            "postgres://si@db.example/si?sslmode=require&application_name=si",
            "postgres://si@db.example/si?options[search_path]=si&options%5Bstatement_timeout%5D=5s",
        ] {
            assert_eq!(url_problem(fine), None, "{fine}");
            assert_eq!(redact_url(fine), fine);
        }
    }

    #[tokio::test]
    async fn a_password_in_the_query_is_struck_from_the_connect_error() {
        let url = "postgres://si@db.example:notaport/si?password=Qu3ry-Pass";
        let refused = Store::connect(url, Arc::new(SystemClock)).await.err().unwrap();
        let message = refused.to_string();
        assert!(!message.contains("Qu3ry"), "{message}");
        assert!(
            message.starts_with("cannot connect to postgres://si@db.example:notaport/si?password=***: "),
            "{message}"
        );
    }
}
