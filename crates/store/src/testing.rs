//! Fresh databases for tests: a new SQLite file, or a new PostgreSQL database
//! on the server named by `SI_TEST_DATABASE_URL` (a missing server fails loudly).

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection};

/// The environment variable that switches the suite to PostgreSQL.
pub const TEST_DATABASE_URL: &str = "SI_TEST_DATABASE_URL";

/// A database that exists for one test and is removed afterwards.
pub struct TestDatabase {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
    /// The connection [`TestDatabase::end_connections`] ends the others from.
    admin: tokio::sync::OnceCell<DatabaseConnection>,
}

impl TestDatabase {
    pub async fn create() -> Self {
        match std::env::var(TEST_DATABASE_URL) {
            Ok(admin_url) if !admin_url.is_empty() => Self::postgres(admin_url).await,
            _ => Self::sqlite(),
        }
    }

    fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory for a test database");
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        Self {
            url,
            _dir: Some(dir),
            postgres: None,
            admin: tokio::sync::OnceCell::new(),
        }
    }

    async fn postgres(admin_url: String) -> Self {
        let name = format!("si_test_{:016x}", rand::random::<u64>());
        let admin = Database::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("{TEST_DATABASE_URL} is set but PostgreSQL cannot be reached: {e}"));
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create a test database");
        admin.close().await.ok();
        let url = replace_database_name(&admin_url, &name);
        Self {
            url,
            _dir: None,
            postgres: Some((admin_url, name)),
            admin: tokio::sync::OnceCell::new(),
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }

    /// Ends every connection to this PostgreSQL database, as a restart or a
    /// failover of the server does; false on SQLite, which has no server.
    pub async fn end_connections(&self) -> bool {
        if !self.is_postgres() {
            return false;
        }
        self.admin()
            .await
            .execute_unprepared(
                // Waits (up to 5 s each) until the backends have exited, so
                // every pooled connection is dead when this returns.
                "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
            )
            .await
            .expect("end the other connections");
        true
    }
}

impl TestDatabase {
    /// A connection of the test's own, kept: a test that must end the
    /// others right after a statement does not wait for a new one each time.
    async fn admin(&self) -> &DatabaseConnection {
        self.admin
            .get_or_init(|| async {
                let mut options = ConnectOptions::new(&self.url);
                options.max_connections(1).sqlx_logging(false);
                Database::connect(options)
                    .await
                    .expect("a connection of the test's own")
            })
            .await
    }

    /// Makes this PostgreSQL database refuse new connections (and ends the
    /// open ones), or take them again, as a maintenance does; false on SQLite.
    pub async fn refuse_connections(&self, refuse: bool) -> bool {
        let Some((server, name)) = &self.postgres else {
            return false;
        };
        // Opened before: it stays when the others are refused.
        self.admin().await;
        // From another database: PostgreSQL will not refuse the current one.
        let elsewhere = Database::connect(server)
            .await
            .expect("a connection to the server's own database");
        elsewhere
            .execute_unprepared(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS {}", !refuse))
            .await
            .expect("allow or refuse connections");
        elsewhere.close().await.ok();
        if refuse {
            self.end_connections().await;
        }
        true
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.postgres.take() else {
            return;
        };
        // Drop runs outside any async context we can borrow: use a thread of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let admin = Database::connect(&admin_url).await.ok()?;
                admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
                    .ok()?;
                admin.close().await.ok()
            })
        });
        let _ = dropped.join();
    }
}

/// `postgres://user@host:5432/test?x=y` with `test` replaced by `name`.
fn replace_database_name(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut result = format!("{}/{}", &base[..path_start], name);
    if let Some(query) = query {
        result.push('?');
        result.push_str(query);
    }
    result
}
