//! `spawn_app()` and the binary runner shared by the tests.

use std::{
    io::{BufRead, BufReader, Lines},
    net::SocketAddr,
    path::Path,
    process::{Child, ChildStdout, Command, Output, Stdio},
    time::{Duration, Instant},
};

use std::sync::Arc;

use si_store::{Store, SystemClock, testing::TestDatabase};
use single_identity::{
    app::Server,
    config::{Config, HashingConfig},
};

pub struct TestApp {
    pub address: SocketAddr,
    pub client: reqwest::Client,
    /// A second connection to the app's database, to arrange and inspect data.
    pub store: Store,
    pub data_dir: tempfile::TempDir,
    server: Option<Server>,
    _database: TestDatabase,
}

impl TestApp {
    /// The key-encryption key the server seals its mails with.
    pub async fn sealing(&self) -> single_identity::oidc::keys::SealingKey {
        sealing_key(self.data_dir.path(), &self.store).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("request")
    }

    /// Ends the server's database connections as a PostgreSQL failover
    /// does; false on SQLite. Every connection idle in the server's pool is
    /// then dead; on a [`spawn_quiet_app`] the next request meets one.
    pub async fn end_database_connections(&self) -> bool {
        self._database.end_connections().await
    }

    /// Makes the server's database refuse connections, or take them again,
    /// as a maintenance does; false on SQLite.
    pub async fn refuse_database_connections(&self, refuse: bool) -> bool {
        self._database.refuse_connections(refuse).await
    }

    pub fn database_url(&self) -> String {
        self._database.url.clone()
    }

    /// A second node on the app's database and data directory, under the
    /// app's address as its public one (the balancer's), with caches of its
    /// own: what another node behind the balancer sees. Stop it with
    /// [`Server::stop`].
    pub async fn another_node(&self) -> Server {
        let public_url = format!("http://{}", self.address).try_into().expect("public URL");
        let config = Config {
            listen: "127.0.0.1:0".parse().expect("address"),
            public_url: Some(public_url),
            database_url: Some(self.database_url()),
            data_dir: self.data_dir.path().to_owned(),
            hashing: test_hashing(),
            ..Config::default()
        };
        Server::start(config).await.expect("a second node starts")
    }

    pub async fn stop(mut self) {
        self.stop_serving().await;
    }

    /// Stops the server gracefully and keeps its database to inspect.
    pub async fn stop_serving(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await.expect("graceful stop");
        }
    }
}

/// Test hashing cost: the real algorithm with a small memory cost, so the
/// suite stays fast on two cores.
pub fn test_hashing() -> HashingConfig {
    HashingConfig {
        memory_kib: 1024,
        iterations: 1,
        parallelism: 1,
        concurrency: 2,
        max_wait_ms: 3000,
        // The throttle tests fail many logins; the floor has its own test.
        failed_login_ms: 0,
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// How often a test ends the database connections before a request of
/// its own meets one: each time, the directory's look for deleted clients
/// (every second) may take the ended connection first.
pub const ATTEMPTS_TO_MEET_AN_ENDED_CONNECTION: usize = 30;

/// An app whose mail worker looks for work once a minute, so it does not
/// take the pool's idle connections between two requests of a test. The
/// directory still looks for deleted clients every second: a test that
/// needs a request to meet an ended connection ends them again until one
/// does ([`ATTEMPTS_TO_MEET_AN_ENDED_CONNECTION`]).
pub async fn spawn_quiet_app() -> TestApp {
    spawn_app_with(|config| config.mail.poll_interval_ms = 60_000).await
}

pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let database = TestDatabase::create().await;
    let data_dir = tempfile::tempdir().expect("data directory");
    let mut config = test_config(&database, data_dir.path());
    adjust(&mut config);
    let server = Server::start(config).await.expect("server starts");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let store = Store::connect(&database.url, Arc::new(SystemClock))
        .await
        .expect("test connection");
    TestApp {
        address: server.address,
        client,
        store,
        data_dir,
        server: Some(server),
        _database: database,
    }
}

/// The key-encryption key in `data_dir` (made there when there is none), as
/// `serve` and the commands run with that directory use it.
pub async fn sealing_key(data_dir: &Path, store: &Store) -> single_identity::oidc::keys::SealingKey {
    let config = Config {
        data_dir: data_dir.to_owned(),
        ..Config::default()
    };
    single_identity::oidc::keys::SealingKey::load(&config, store)
        .await
        .expect("the key-encryption key")
}

/// The configuration tests start from: port 0, the test database, a private
/// data directory, cheap hashing and a mail worker that looks often.
pub fn test_config(database: &TestDatabase, data_dir: &Path) -> Config {
    let mut config = Config {
        listen: "127.0.0.1:0".parse().expect("address"),
        database_url: Some(database.url.clone()),
        data_dir: data_dir.to_owned(),
        hashing: test_hashing(),
        ..Config::default()
    };
    config.mail.poll_interval_ms = 20;
    config.mail.concurrency = 4;
    config
}

/// The `single-identity` binary with a clean environment: only what a test sets.
pub fn binary(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_single-identity"));
    command.env_clear().current_dir(dir).stdin(Stdio::null());
    if let Ok(path) = std::env::var("PATH") {
        command.env("PATH", path);
    }
    command
}

/// Runs the command to its end; one that has not ended within a minute is
/// killed and fails the test instead of hanging the suite.
pub fn run(command: &mut Command) -> Output {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let output = child.wait_with_output().expect("output");
            panic!("{command:?} did not end within 60 s; stderr: {}", stderr(&output));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().expect("output")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A `serve` process and the URL it said it serves at.
pub struct ServeProcess {
    pub child: Child,
    pub url: String,
    output: Lines<BufReader<ChildStdout>>,
}

impl ServeProcess {
    pub fn start(command: Command) -> Self {
        Self::start_with(command, &[])
    }

    /// `serve` with these arguments.
    pub fn start_with(mut command: Command, args: &[&str]) -> Self {
        let mut child = command
            .arg("serve")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("serve starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let line = lines.next().expect("serve prints a line").expect("readable line");
        let url = line
            .rsplit(' ')
            .next()
            .filter(|u| u.starts_with("http://"))
            .unwrap_or_else(|| panic!("serve printed {line:?} instead of its URL"))
            .to_owned();
        Self {
            child,
            url,
            output: lines,
        }
    }

    /// The next line `serve` printed after its URL.
    pub fn next_line(&mut self) -> String {
        self.output
            .next()
            .expect("serve prints another line")
            .expect("readable line")
    }

    /// [`Self::terminate`], and what the process wrote to stderr: its log.
    pub fn terminate_and_read_log(mut self) -> (std::process::ExitStatus, String) {
        let mut stderr = self.child.stderr.take().expect("stderr");
        let status = self.terminate();
        let mut log = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut log).expect("readable log");
        (status, log)
    }

    /// Sends SIGTERM and waits (with a deadline) for the process to exit.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "serve did not stop within 10 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
