//! Configuration: zero-config defaults, TOML, `SI_*` variables, and one clear
//! line naming the key when a value is wrong.

use std::path::Path;

use single_identity::config::{Config, LogFormat};

use crate::support::{ServeProcess, binary, run, stderr};

#[test]
fn with_nothing_configured_the_service_listens_locally_on_8080_with_sqlite_in_data() {
    let config = Config::default();
    assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(config.database_url(), "sqlite://data/single-identity.db");
    assert_eq!(config.public_url().as_str(), "http://127.0.0.1:8080");
    assert_eq!(
        (
            config.hashing.memory_kib,
            config.hashing.iterations,
            config.hashing.parallelism
        ),
        (19 * 1024, 2, 1)
    );
}

#[test]
fn a_bad_value_stops_start_up_with_one_line_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("SI_LISTEN", "not-an-address", "SI_LISTEN"),
        ("SI_PUBLIC_URL", "ftp://x", "SI_PUBLIC_URL"),
        // Nothing is served under a path: discovery would name endpoints that 404.
        (
            "SI_PUBLIC_URL",
            "https://bibliotheek.example/sso",
            "SI_PUBLIC_URL",
        ),
        ("SI_DATABASE_URL", "mysql://root@localhost/si", "SI_DATABASE_URL"),
        // Read as the driver reads it, before anything is opened.
        (
            "SI_DATABASE_URL",
            "postgres://si@db.example:port/si",
            "SI_DATABASE_URL",
        ),
        (
            "SI_DATABASE_URL",
            "postgres://si@db.example/si?PASSWORD=x",
            "SI_DATABASE_URL",
        ),
        // Everything would be lost at a restart.
        ("SI_DATABASE_URL", "sqlite::memory:", "SI_DATABASE_URL"),
        ("SI_LOG_FORMAT", "xml", "SI_LOG_FORMAT"),
        ("SI_HASHING__MEMORY_KIB", "lots", "SI_HASHING__MEMORY_KIB"),
        ("SI_HASHING__ITERATIONS", "0", "SI_HASHING"),
        ("SI_HASHING__CONCURRENCY", "5000", "SI_HASHING__CONCURRENCY"),
        // Its database would be made before the key was found wanting.
        (
            "SI_OIDC__KEY_ENCRYPTION_KEY",
            "abc",
            "SI_OIDC__KEY_ENCRYPTION_KEY",
        ),
        (
            "SI_HASHING__FAILED_LOGIN_MS",
            "60000",
            "SI_HASHING__FAILED_LOGIN_MS",
        ),
        // A code living past the day housekeeping keeps its session could
        // start tokens in a session no logout finds.
        ("SI_OIDC__CODE_SECONDS", "86400", "SI_OIDC__CODE_SECONDS"),
        ("SI_OIDC__CODE_SECONDS", "0", "SI_OIDC__CODE_SECONDS"),
        ("SI_TRUSTED_PROXIES", "10.0.0.0/33", "SI_TRUSTED_PROXIES"),
        // Read as a number, and said to be no address rather than no variant.
        ("SI_TRUSTED_PROXIES", "0", "\"0\" is not an IP address"),
        ("SI_TRUSTED_PROXIES", "true", "\"true\" is not an IP address"),
        // Any client could write the address it is throttled under.
        ("SI_TRUSTED_PROXIES", "0.0.0.0/0", "SI_TRUSTED_PROXIES"),
        // Behind a proxy, this node's own http address is not the members'.
        ("SI_TRUSTED_PROXIES", "10.0.0.1", "SI_PUBLIC_URL"),
        // Passwords and session cookies would cross the network in clear.
        (
            "SI_PUBLIC_URL",
            "http://login.bibliotheek.example",
            "SI_PUBLIC_URL",
        ),
        ("SI_PUBLIC_URL", "http://10.0.0.5:8080", "SI_PUBLIC_URL"),
        // The default, http:// and the listen address, on another address.
        ("SI_LISTEN", "192.0.2.10:8080", "SI_PUBLIC_URL"),
        ("SI_LOG_FILTER", "single_identity=loud", "SI_LOG_FILTER"),
        // Every address, so no address to name in tokens and mails.
        ("SI_LISTEN", "0.0.0.0:8080", "SI_PUBLIC_URL"),
        (
            "SI_MAIL__LOGO_URL",
            "http://bibliotheek.example/logo.png",
            "SI_MAIL__LOGO_URL",
        ),
        // A password over plain SMTP would cross the network readable.
        (
            "SI_MAIL__SMTP_URL",
            "smtp://mailuser:geheim@relay.example:587",
            "SI_MAIL__SMTP_URL",
        ),
    ];
    for (variable, value, named) in cases {
        let output = run(binary(dir.path()).env(variable, value).arg("serve"));
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{variable}={value}: {message}");
        assert_eq!(message.trim().lines().count(), 1, "{variable}: {message}");
        assert!(message.contains(named), "{variable}: {message}");
        assert!(
            !dir.path().join("data").exists(),
            "nothing created for a bad configuration"
        );
    }
}

/// A SQLite file serves one node: a second `serve` on it, by mistake in
/// another terminal, would share the first one's sessions (and with
/// `--demo` re-register its sites). It stops and says why; once the first
/// has stopped, it starts.
#[tokio::test]
async fn a_second_serve_on_the_same_sqlite_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let serve = || {
        let mut command = binary(dir.path());
        command.env("SI_LISTEN", "127.0.0.1:0");
        command
    };
    let first = ServeProcess::start(serve());
    let second = run(serve().arg("serve"));
    assert_eq!(second.status.code(), Some(1), "{}", stderr(&second));
    assert!(
        stderr(&second).contains("another serve already runs on the SQLite database data/single-identity.db"),
        "{}",
        stderr(&second)
    );
    assert!(first.terminate().success());
    let again = ServeProcess::start(serve());
    assert!(again.terminate().success());
}

#[tokio::test]
async fn environment_variables_override_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("si.toml");
    std::fs::write(&file, "listen = \"127.0.0.1:9\"\n").unwrap();
    let mut command = binary(dir.path());
    command
        .args(["--config", file.to_str().unwrap()])
        .env("SI_LISTEN", "127.0.0.1:0");
    let serve = ServeProcess::start(command);
    assert!(
        !serve.url.ends_with(":9"),
        "SI_LISTEN wins over the file: {}",
        serve.url
    );
    assert!(serve.terminate().success());
}

#[test]
fn a_toml_file_is_read_and_typos_in_it_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("si.toml");
    std::fs::write(
        &file,
        "listen = \"127.0.0.1:9090\"\nlog_format = \"json\"\n[hashing]\nmemory_kib = 65536\n",
    )
    .unwrap();
    let config = Config::load(Some(&file)).unwrap();
    assert_eq!(config.listen.to_string(), "127.0.0.1:9090");
    assert_eq!(config.log_format, LogFormat::Json);
    assert_eq!(config.hashing.memory_kib, 65536);
    assert_eq!(config.hashing.iterations, 2, "unset keys keep their defaults");

    // A folder or a device named as the file is said to be one.
    for not_a_file in [dir.path(), Path::new("/dev/null")] {
        let message = Config::load(Some(not_a_file)).unwrap_err().to_string();
        assert!(
            message.ends_with("is not a file: name the TOML file itself"),
            "{message}"
        );
    }

    std::fs::write(&file, "listne = \"127.0.0.1:9090\"\n").unwrap();
    let output = run(binary(dir.path()).args(["--config", file.to_str().unwrap(), "db", "status"]));
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("listne"), "{}", stderr(&output));

    // A value of the wrong kind is said in words, not in the program's types.
    for (toml, said) in [
        ("hashing = 5\n", "hashing (SI_HASHING, from TOML file"),
        (
            "[hashing]\nmemory_kib = \"lots\"\n",
            "expected a whole number from 0 to 4294967295",
        ),
        (
            "[mail]\nconcurrency = -1\n",
            "expected a whole number from 0 to 4294967295",
        ),
        // A count that must be at least 1 is named alone, with its variable.
        (
            "[selfservice]\nreset_link_minutes = 5\nconfirm_link_days = 0\n",
            "invalid configuration value for selfservice.confirm_link_days (SI_SELFSERVICE__CONFIRM_LINK_DAYS): from 1 to 366 (a year)",
        ),
        // A lifetime so long that its end is no date: the service would
        // start, and then fail at every login.
        (
            "[oidc]\nsession_hours = 4000000000\n",
            "invalid configuration value for oidc.session_hours (SI_OIDC__SESSION_HOURS): from 1 to 8784 (a year)",
        ),
        (
            "[oidc]\nrefresh_token_days = 3000000\n",
            "invalid configuration value for oidc.refresh_token_days (SI_OIDC__REFRESH_TOKEN_DAYS): from 1 to 3650 (10 years)",
        ),
        (
            "[oidc]\nrefresh_max_days = 0\n",
            "invalid configuration value for oidc.refresh_max_days (SI_OIDC__REFRESH_MAX_DAYS): from 1 to 3650 (10 years)",
        ),
        (
            "[oidc]\naccess_token_seconds = 0\n",
            "invalid configuration value for oidc.access_token_seconds (SI_OIDC__ACCESS_TOKEN_SECONDS): from 1 to 86400 (a day)",
        ),
        (
            "[oidc]\nsession_idle_minutes = 4000000000\n",
            "invalid configuration value for oidc.session_idle_minutes (SI_OIDC__SESSION_IDLE_MINUTES): from 0 to 527040 (a year; 0: no idle limit)",
        ),
        (
            "[mail]\nmax_attempts = 0\n",
            "invalid configuration value for mail.max_attempts (SI_MAIL__MAX_ATTEMPTS): at least 1",
        ),
        // What would end the process at its first mail, or hold a crashed
        // worker's mails for a century.
        (
            "[mail]\nconcurrency = 4294967295\n",
            "invalid configuration value for mail.concurrency (SI_MAIL__CONCURRENCY): from 1 to 1024 (connections to the relay)",
        ),
        (
            "[mail]\nlease_seconds = 0\n",
            "invalid configuration value for mail.lease_seconds (SI_MAIL__LEASE_SECONDS): from 1 to 3600 (an hour)",
        ),
        (
            "[mail]\npoll_interval_ms = 4294967295\n",
            "invalid configuration value for mail.poll_interval_ms (SI_MAIL__POLL_INTERVAL_MS): from 0 to 60000 (a minute)",
        ),
        (
            "[hashing]\nmemory_kib = 1048576\niterations = 1\nconcurrency = 1024\n",
            "1024 hashes at once of 1048576 KiB each need 1048576 MiB, more than the 16384 MiB allowed",
        ),
        // Past the largest it takes, the message says where that is.
        (
            "[oidc]\nsession_hours = 999999999999\n",
            "`999999999999`, expected a whole number from 0 to 4294967295",
        ),
    ] {
        std::fs::write(&file, toml).unwrap();
        let message = Config::load(Some(&file)).unwrap_err().to_string();
        assert!(message.contains(said), "{message}");
        assert!(
            !message.contains("struct") && !message.contains("u32"),
            "{message}"
        );
    }
    std::fs::write(&file, "hashing = 5\n").unwrap();
    let message = Config::load(Some(&file)).unwrap_err().to_string();
    assert!(
        message.ends_with("expected a table of keys ([hashing])"),
        "{message}"
    );

    // A syntax error names its place, not the line: that may hold a password.
    std::fs::write(
        &file,
        "database_url = \"postgres://si:Geheim-wachtwoord@db.example/si\n",
    )
    .unwrap();
    let output = run(binary(dir.path()).args(["--config", file.to_str().unwrap(), "db", "status"]));
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(message.contains("TOML parse error at line 1"), "{message}");
    assert!(!message.contains("Geheim"), "{message}");
    assert_eq!(message.trim().lines().count(), 1, "{message}");

    let output = run(binary(dir.path()).args(["--config", "missing.toml", "db", "status"]));
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("missing.toml"), "{}", stderr(&output));
}

#[test]
fn the_configuration_reference_documents_every_key_and_its_variable() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/configuration.md");
    let reference = std::fs::read_to_string(&path).expect("docs/configuration.md");
    for key in single_identity::config::KEYS {
        let variable = format!("SI_{}", key.replace('.', "__").to_uppercase());
        assert!(
            reference.contains(&format!("`{key}`")),
            "{key} in docs/configuration.md"
        );
        assert!(
            reference.contains(&format!("`{variable}`")),
            "{variable} in docs/configuration.md"
        );
    }
}
