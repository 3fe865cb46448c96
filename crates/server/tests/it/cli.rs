//! The binary as an operator uses it: serve, db, and the catalogue commands.

use std::path::{Path, PathBuf};

use si_store::{Repositories, testing::TestDatabase};

use crate::support::{ServeProcess, binary, run, stderr, stdout};

/// The binary pointed at a fresh database of the suite's kind.
fn against(database: &TestDatabase, dir: &Path) -> std::process::Command {
    let mut command = binary(dir);
    command.env("SI_DATABASE_URL", &database.url);
    command
}

#[test]
fn every_subcommand_has_help() {
    let dir = tempfile::tempdir().unwrap();
    let commands: &[&[&str]] = &[
        &[],
        &["serve"],
        &["db"],
        &["db", "migrate"],
        &["db", "status"],
        &["library"],
        &["library", "create"],
        &["library", "list"],
        &["branch", "create"],
        &["branch", "list"],
        &["subscription", "create"],
        &["subscription", "list"],
        &["staff", "grant"],
        &["staff", "revoke"],
        &["staff", "list", "--library", "DRE01"],
        &["audit"],
        &["migrate", "plan"],
        &["migrate", "import"],
        &["migrate", "announce"],
        &["migrate", "go-live"],
    ];
    for command in commands {
        let output = run(binary(dir.path()).args(*command).arg("--help"));
        assert!(output.status.success(), "{command:?}: {}", stderr(&output));
        assert!(stdout(&output).contains("Usage: single-identity"), "{command:?}");
    }
}

#[tokio::test]
async fn serve_with_no_configuration_creates_its_sqlite_database_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    // Only the port is chosen by the test, so parallel runs cannot collide on 8080.
    let mut command = binary(dir.path());
    command.env("SI_LISTEN", "127.0.0.1:0");
    let serve = ServeProcess::start(command);
    assert!(serve.url.starts_with("http://127.0.0.1:"), "{}", serve.url);
    let ready = reqwest::get(format!("{}/readyz", serve.url)).await.unwrap();
    assert_eq!(ready.status(), 200);
    assert!(dir.path().join("data/single-identity.db").is_file());
    // Personal data, mailed links and the key-encryption key: for its user only.
    for made in ["data", "data/mail"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(made))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700, "{made}");
    }
    let status = serve.terminate();
    assert!(status.success(), "a graceful stop exits 0, got {status:?}");
}

#[test]
fn migrate_plan_without_the_services_database_says_so_and_makes_none() {
    let dir = tempfile::tempdir().unwrap();
    let sample = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/migration-sample.csv");
    let output = binary(dir.path())
        .args(["migrate", "plan"])
        .arg(&sample)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("there is no database at"), "{said}");
    assert!(said.contains("SI_DATA_DIR"), "{said}");
    assert!(!dir.path().join("data").exists(), "plan changes nothing");
}

/// A look at a database that is not there (the wrong directory, a typo)
/// is an error, not an empty database made for it that shows all is well.
#[test]
fn commands_that_only_show_refuse_a_database_that_is_not_there() {
    let dir = tempfile::tempdir().unwrap();
    let looks: [&[&str]; 6] = [
        &["client", "logouts"],
        &["client", "list", "--json"],
        &["keys", "list"],
        &["staff", "list", "--library", "DRE01"],
        &["mail", "status"],
        &["library", "list"],
    ];
    for look in looks {
        let output = binary(dir.path()).args(look).output().unwrap();
        assert!(!output.status.success(), "{look:?}");
        let said = stderr(&output);
        assert!(
            said.starts_with("error: there is no database at data/single-identity.db: set SI_DATA_DIR"),
            "{look:?}: {said}"
        );
        assert!(stdout(&output).is_empty(), "{look:?}");
    }
    assert!(!dir.path().join("data").exists(), "a look changes nothing");
}

/// The number `sql` counts in `url`'s database.
async fn count(url: &str, sql: &str) -> i64 {
    use sea_orm::{ConnectionTrait, Statement};
    let db = sea_orm::Database::connect(url).await.unwrap();
    let statement = Statement::from_string(db.get_database_backend(), sql);
    let row = db.query_one_raw(statement).await.unwrap();
    row.unwrap().try_get_by_index::<i64>(0).unwrap()
}

/// The tables in `url`'s database, counted in its own catalogue.
async fn tables_in(url: &str) -> i64 {
    let sql = match url.starts_with("postgres") {
        true => "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema()",
        false => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'",
    };
    count(url, sql).await
}

/// A wrong SI_DATABASE_URL that names some other database, empty or not:
/// a look says so, and neither it nor `db status` makes our tables there.
#[tokio::test]
async fn looks_at_a_database_without_the_services_schema_refuse_it_and_make_none() {
    let database = TestDatabase::create().await;
    // On SQLite, a file made empty (`touch`); on PostgreSQL, a new database.
    if let Some(file) = database.url.strip_prefix("sqlite://") {
        std::fs::write(file, b"").unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let sample = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/migration-sample.csv");
    let looks: [&[&str]; 4] = [
        &["client", "list"],
        &["keys", "list"],
        &["mail", "status"],
        &["migrate", "plan", sample.to_str().unwrap()],
    ];
    for look in looks {
        let output = against(&database, dir.path()).args(look).output().unwrap();
        assert!(!output.status.success(), "{look:?}");
        let said = stderr(&output);
        assert!(
            said.starts_with(&format!(
                "error: {} holds no Single Identity database: set SI_DATA_DIR (or SI_DATABASE_URL) to the service's, whose",
                database.url
            )),
            "{look:?}: {said}"
        );
        assert!(stdout(&output).is_empty(), "{look:?}");
    }
    let status = run(against(&database, dir.path()).args(["db", "status"]));
    assert_eq!(status.status.code(), Some(3), "db migrate has work");
    assert_eq!(
        stdout(&status).trim(),
        format!(
            "{} holds no Single Identity database yet: `single-identity db migrate` or `serve` makes it.",
            database.url
        )
    );
    assert_eq!(tables_in(&database.url).await, 0, "a look makes no table");
}

/// A database `db migrate` brought up to date, then changed by `sql`; and
/// the working directory of the commands run against it.
async fn migrated_then(sql: &str) -> (TestDatabase, tempfile::TempDir) {
    use sea_orm::ConnectionTrait;
    let database = TestDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    let migrated = run(against(&database, dir.path()).args(["db", "migrate"]));
    assert!(migrated.status.success(), "{}", stderr(&migrated));
    let db = sea_orm::Database::connect(&database.url).await.unwrap();
    db.execute_unprepared(sql).await.unwrap();
    (database, dir)
}

/// A look at the service's database from a newer program: it says what is
/// missing instead of bringing the schema up to date on its own.
#[tokio::test]
async fn a_look_at_a_schema_behind_the_program_says_to_migrate_and_changes_nothing() {
    // As if the last step were new in this program: its ledger row gone.
    let (database, dir) = migrated_then(
        "DELETE FROM schema_migrations WHERE version = (SELECT MAX(version) FROM schema_migrations)",
    )
    .await;
    let tables = tables_in(&database.url).await;

    let sample = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/migration-sample.csv");
    for look in [
        &["client", "list"][..],
        &["migrate", "plan", sample.to_str().unwrap()],
    ] {
        let output = against(&database, dir.path()).args(look).output().unwrap();
        assert!(!output.status.success(), "{look:?}");
        assert_eq!(
            stderr(&output).trim(),
            format!(
                "error: the database at {} lacks 1 of this program's schema steps (from 0019_merged_logins): `single-identity db migrate` brings it up to date",
                database.url
            ),
            "{look:?}"
        );
    }
    let status = run(against(&database, dir.path()).args(["db", "status"]));
    assert_eq!(stdout(&status).trim(), "pending 0019_merged_logins");
    assert_eq!(status.status.code(), Some(3), "{}", stderr(&status));
    assert_eq!(tables_in(&database.url).await, tables);
    let ledger = count(&database.url, "SELECT COUNT(*) FROM schema_migrations").await;
    assert_eq!(ledger, 18, "the look applied nothing");
}

/// A database a newer version migrated: every command of this one refuses
/// it, naming the steps it does not know, rather than read or write it
/// wrongly (and `db status` and `db migrate` do not call it up to date).
#[tokio::test]
async fn a_schema_ahead_of_the_program_is_named_and_left_alone() {
    let (database, dir) = migrated_then(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, '0999_from_a_newer_version', 0)",
    )
    .await;
    let tables = tables_in(&database.url).await;

    for command in [
        &["db", "status"][..],
        &["db", "migrate"],
        &["client", "list"],
        &["library", "create", "--code", "NEW01", "--name", "Nieuw"],
    ] {
        let output = run(against(&database, dir.path()).args(command));
        assert_eq!(output.status.code(), Some(1), "{command:?}");
        assert!(
            stderr(&output).contains(
                "has 1 schema step(s) this program does not know (0999_from_a_newer_version): a newer version migrated it; run that version"
            ),
            "{command:?}: {}",
            stderr(&output)
        );
    }
    assert_eq!(tables_in(&database.url).await, tables);
    assert_eq!(count(&database.url, "SELECT COUNT(*) FROM libraries").await, 0);
}

/// An operator who runs a command as a user who may not open the service's
/// database, or may only read it, hears that, with the path, instead of
/// "there is no database", "unable to open database file" or "attempt to
/// write a readonly database".
#[test]
fn a_command_run_by_a_user_who_may_not_open_the_database_says_so() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let mode = |path: &Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = data.join("single-identity.db");
    let migrated = run(binary(dir.path())
        .env("SI_DATA_DIR", &data)
        .args(["db", "migrate"]));
    assert!(migrated.status.success(), "{}", stderr(&migrated));
    // Root opens anything: it runs the commands as the user nobody, from a
    // copy of the binary nobody may run. Anyone else is refused by the
    // modes of their own files.
    let as_root = std::fs::metadata(dir.path()).unwrap().uid() == 0;
    let copies = tempfile::Builder::new()
        .permissions(std::fs::Permissions::from_mode(0o755))
        .tempdir()
        .unwrap();
    let copy = copies.path().join("single-identity");
    std::fs::copy(env!("CARGO_BIN_EXE_single-identity"), &copy).unwrap();
    let someone_else = |args: &[&str]| {
        let mut command = if as_root {
            let mut command = std::process::Command::new("setpriv");
            command
                .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                .arg(&copy);
            command
        } else {
            std::process::Command::new(&copy)
        };
        command
            .env_clear()
            .current_dir("/")
            .env("SI_DATA_DIR", &data)
            .args(args);
        run(&mut command)
    };
    let refused = |case: &str| {
        for command in [&["client", "list"][..], &["db", "migrate"], &["library", "list"]] {
            let output = someone_else(command);
            let said = stderr(&output);
            assert_eq!(output.status.code(), Some(1), "{case} {command:?}: {said}");
            assert!(said.starts_with("error: "), "{case} {command:?}: {said}");
            assert!(
                said.trim_end().ends_with(&format!(
                    "cannot open {}: Permission denied (os error 13): run the command as the user the service runs as, who owns the data directory",
                    file.display()
                )),
                "{case} {command:?}: {said}"
            );
        }
    };
    // The data folder they may not enter (the service made it 0700)...
    mode(dir.path(), 0o755);
    if !as_root {
        mode(&data, 0o000);
    }
    refused("closed data folder");
    // ... or the folder it is in.
    mode(&data, 0o700);
    mode(dir.path(), if as_root { 0o700 } else { 0o000 });
    refused("closed folder above");
    // A file they may read but not write.
    mode(dir.path(), 0o755);
    mode(&data, 0o755);
    mode(&file, if as_root { 0o644 } else { 0o444 });
    refused("read-only file");
    mode(&file, 0o600);
    mode(&data, 0o700);
}

#[test]
fn db_status_without_the_embedded_database_says_so_exits_3_and_makes_none() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(binary(dir.path()).args(["db", "status"]));
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert_eq!(
        stdout(&output).trim(),
        "There is no database at data/single-identity.db yet: `single-identity db migrate` or `serve` makes it."
    );
    assert!(!dir.path().join("data").exists(), "status changes nothing");

    // Nor for a SQLite URL that names a file not there (a typo, say).
    let typo = dir.path().join("singel-identity.db");
    let url = format!("sqlite://{}", typo.display());
    let output = run(binary(dir.path())
        .env("SI_DATABASE_URL", &url)
        .args(["db", "status"]));
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let said = stdout(&output);
    assert!(
        said.starts_with(&format!("There is no database at {} yet", typo.display())),
        "{said}"
    );
    assert!(!typo.exists(), "status changes nothing");
}

#[tokio::test]
async fn db_migrate_applies_once_and_status_then_has_nothing_pending() {
    let database = TestDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    let first = run(against(&database, dir.path()).args(["db", "migrate"]));
    assert!(first.status.success(), "{}", stderr(&first));
    assert_eq!(
        stdout(&first).trim(),
        "applied 0001_foundation\napplied 0002_openid_connect\napplied 0003_refresh_families\napplied 0004_account_links\napplied 0005_frontoffice\napplied 0006_legacy_import\napplied 0007_refresh_families_by_session\napplied 0008_session_tokens\napplied 0009_previous_session_tokens\napplied 0010_throttle_attempts_in_flight\napplied 0011_addresses_in_any_case\napplied 0012_names_held_by_account\napplied 0013_queues_in_claim_order\napplied 0014_logout_notifications_by_website\napplied 0015_codes_by_account\napplied 0016_client_deletions\napplied 0017_subscription_limits\napplied 0018_recovery_requests\napplied 0019_merged_logins"
    );
    let second = run(against(&database, dir.path()).args(["db", "migrate"]));
    assert_eq!(stdout(&second).trim(), "The database is up to date.");
    let status = run(against(&database, dir.path()).args(["db", "status"]));
    assert_eq!(stdout(&status).trim(), "The database is up to date.");
    assert_eq!(status.status.code(), Some(0), "{}", stderr(&status));
}

#[tokio::test]
async fn operators_set_up_libraries_branches_and_subscription_types() {
    let database = TestDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    let si = |args: &[&str]| run(against(&database, dir.path()).args(args));

    let created = si(&[
        "library",
        "create",
        "--code",
        "dre01",
        "--name",
        "Biblionet Drenthe",
    ]);
    assert!(created.status.success(), "{}", stderr(&created));
    assert_eq!(
        stdout(&created).trim(),
        "Created library DRE01 (Biblionet Drenthe)."
    );
    let twice = si(&["library", "create", "--code", "DRE01", "--name", "Again"]);
    assert_eq!(twice.status.code(), Some(1));
    assert_eq!(stderr(&twice).trim(), "error: library DRE01 already exists");

    let branch = si(&[
        "branch",
        "create",
        "--library",
        "DRE01",
        "--code",
        "5280",
        "--name",
        "Assen",
        "--json",
    ]);
    assert!(branch.status.success(), "{}", stderr(&branch));
    let json: serde_json::Value = serde_json::from_str(&stdout(&branch)).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"library": "DRE01", "code": "5280", "name": "Assen"})
    );
    let orphan = si(&[
        "branch",
        "create",
        "--library",
        "XYZ",
        "--code",
        "1",
        "--name",
        "Nowhere",
    ]);
    assert_eq!(orphan.status.code(), Some(1));
    assert!(
        stderr(&orphan).contains("library not found"),
        "{}",
        stderr(&orphan)
    );

    let youth = si(&[
        "subscription",
        "create",
        "--library",
        "DRE01",
        "--code",
        "JEUGD",
        "--name",
        "Jeugd",
        "--tariff-code",
        "J01",
        "--min-age",
        "0",
        "--max-age",
        "17",
        "--yearly-fee",
        "0",
    ]);
    assert!(youth.status.success(), "{}", stderr(&youth));
    let adult = si(&[
        "subscription",
        "create",
        "--library",
        "DRE01",
        "--code",
        "VOLW",
        "--name",
        "Volwassen",
        "--tariff-code",
        "V01",
        "--min-age",
        "18",
        "--yearly-fee",
        "52,50",
        "--validity-months",
        "12",
    ]);
    assert!(adult.status.success(), "{}", stderr(&adult));
    let inverted = si(&[
        "subscription",
        "create",
        "--library",
        "DRE01",
        "--code",
        "RAAR",
        "--name",
        "Raar",
        "--tariff-code",
        "R01",
        "--min-age",
        "18",
        "--max-age",
        "4",
        "--yearly-fee",
        "1",
    ]);
    assert_eq!(inverted.status.code(), Some(1));
    assert!(stderr(&inverted).contains("--min-age"), "{}", stderr(&inverted));

    let list = si(&["subscription", "list", "--library", "DRE01", "--json"]);
    let types: serde_json::Value = serde_json::from_str(&stdout(&list)).unwrap();
    assert_eq!(types[1]["code"], "VOLW");
    assert_eq!(types[1]["yearly_fee_cents"], 5250);
    assert_eq!(types[1]["min_age"], 18);
    assert_eq!(types[1]["max_age"], serde_json::Value::Null);
    assert_eq!(types[0]["max_age"], 17);

    let table = si(&["library", "list"]);
    assert_eq!(stdout(&table).trim(), "CODE   NAME\nDRE01  Biblionet Drenthe");
    let libraries = si(&["library", "list", "--json"]);
    let libraries: serde_json::Value = serde_json::from_str(&stdout(&libraries)).unwrap();
    assert_eq!(
        libraries,
        serde_json::json!([{"code": "DRE01", "name": "Biblionet Drenthe"}])
    );
}

#[test]
fn bad_values_are_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    // A subscription type that is right but for the values after it.
    let subscription = |bad: &[&'static str]| -> Vec<&'static str> {
        let mut args = vec![
            "subscription",
            "create",
            "--library",
            "DRE01",
            "--code",
            "X",
            "--name",
            "X",
            "--tariff-code",
            "T",
        ];
        args.extend_from_slice(bad);
        args
    };
    let cases: Vec<Vec<&str>> = vec![
        vec!["library", "create", "--code", "a b", "--name", "X"],
        vec!["library", "create", "--code", "DRE01", "--name", ""],
        subscription(&["--yearly-fee=-5"]),
        subscription(&["--yearly-fee", "1", "--min-age", "300"]),
        subscription(&["--yearly-fee", "1000000,01"]),
        subscription(&["--yearly-fee", "1", "--max-age", "131"]),
    ];
    for args in cases {
        let output = run(binary(dir.path()).args(&args));
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", stderr(&output));
        assert!(
            stderr(&output).contains("invalid value"),
            "{args:?}: {}",
            stderr(&output)
        );
    }
    assert!(!dir.path().join("data").exists());
}

#[tokio::test]
async fn operators_give_desk_roles_and_read_the_audit_log() {
    let database = TestDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    let si = |args: &[&str]| run(against(&database, dir.path()).args(args));
    assert!(si(&["db", "migrate"]).status.success());
    let store = si_store::Store::connect(&database.url, std::sync::Arc::new(si_store::SystemClock))
        .await
        .unwrap();
    let anna = crate::interop::member(&store, "balie.anna").await;

    let unknown = si(&["staff", "grant", "--library", "DRE01", "Balie.anna"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(stderr(&unknown).contains("no login account has the username Balie.anna"));
    // A change of address waiting (a desk may have asked for it) ends with the grant.
    let waiting = si_store::account_links::AccountLink {
        account: anna.id,
        purpose: si_store::account_links::LinkPurpose::ChangeEmail(
            si_domain::Email::parse("iemand@example.org").unwrap(),
        ),
        expires_at: time::OffsetDateTime::now_utc() + time::Duration::days(7),
    };
    store.account_links().issue("a-digest", &waiting).await.unwrap();
    let granted = si(&["staff", "grant", "--library", "dre01", "balie.anna"]);
    assert!(granted.status.success(), "{}", stderr(&granted));
    assert!(stdout(&granted).contains("balie.anna now works at the desk of DRE01"));
    assert!(stdout(&granted).contains("A change of its recovery e-mail address was waiting"));
    assert_eq!(
        store
            .account_links()
            .pending_email_change(&anna.id)
            .await
            .unwrap(),
        None
    );
    let again = si(&["staff", "grant", "--library", "DRE01", "balie.anna"]);
    assert!(again.status.success(), "twice is fine");
    assert_eq!(
        stdout(&again).trim(),
        "balie.anna already works at the desk of DRE01 (Biblionet Drenthe): nothing changed."
    );
    let listed = si(&["staff", "list", "--library", "DRE01", "--json"]);
    assert_eq!(stdout(&listed).trim(), "[\n  \"balie.anna\"\n]");

    let drenthe = store
        .catalogue()
        .library(&si_domain::LibraryCode::parse("DRE01").unwrap())
        .await
        .unwrap();
    store
        .audit()
        .record(si_store::audit::NewAuditEntry {
            actor: "staff:balie.anna",
            action: "search_account",
            library: Some(&drenthe),
            account: Some(&anna.id),
            detail: serde_json::json!({"username": "balie.anna"}),
        })
        .await
        .unwrap();
    let audit = si(&["audit", "--library", "DRE01", "--account", "balie.anna", "--json"]);
    assert!(audit.status.success(), "{}", stderr(&audit));
    let entries: serde_json::Value = serde_json::from_str(&stdout(&audit)).unwrap();
    assert_eq!(entries[0]["actor"], "staff:balie.anna");
    assert_eq!(entries[0]["library"], "DRE01");
    assert_eq!(entries[0]["action"], "search_account");
    // Milliseconds always written, so that the times line up.
    let at = entries[0]["at"].as_str().unwrap();
    assert_eq!(at.len(), "2026-12-07T17:05:12.150Z".len(), "{at}");
    assert_eq!(&at[19..20], ".", "{at}");
    let table = si(&["audit"]);
    assert!(stdout(&table).contains("search_account"), "{}", stdout(&table));
    // Past what a database counts: refused as the argument it is.
    let too_many = si(&["audit", "--limit", "9223372036854775808"]);
    assert_eq!(too_many.status.code(), Some(2), "{}", stderr(&too_many));
    assert!(stderr(&too_many).contains("--limit"), "{}", stderr(&too_many));

    // A reader that stops reading (`| head`) ends the command, without a
    // panic: the status of a process whose pipe closed, and nothing said.
    let mut piped = against(&database, dir.path())
        .args(["audit", "--limit", "1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(piped.stdout.take());
    let ended = piped.wait_with_output().unwrap();
    assert!(
        matches!(ended.status.code(), Some(0 | 141)),
        "{:?}: {}",
        ended.status,
        stderr(&ended)
    );
    assert!(!stderr(&ended).contains("panicked"), "{}", stderr(&ended));

    let revoked = si(&["staff", "revoke", "--library", "DRE01", "balie.anna"]);
    assert!(stdout(&revoked).contains("no longer works at the desk of DRE01"));
    assert_eq!(
        stdout(&si(&["staff", "list", "--library", "DRE01"])).trim(),
        "(none)"
    );
    // Who may work at a desk changed: the audit log says who changed it.
    let audit = si(&["audit", "--account", "balie.anna", "--json"]);
    let entries: serde_json::Value = serde_json::from_str(&stdout(&audit)).unwrap();
    let by_operator: Vec<(&str, &str)> = entries
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["actor"] == "operator")
        .map(|entry| {
            (
                entry["action"].as_str().unwrap(),
                entry["library"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        by_operator,
        // The second grant changed nothing, and wrote nothing.
        [("staff_revoked", "DRE01"), ("staff_granted", "DRE01")]
    );
}

#[test]
fn db_sweep_reports_per_table_what_it_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(binary(dir.path()).args(["db", "sweep", "--json"]));
    assert!(output.status.success(), "{}", stderr(&output));
    let swept: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let counts = swept.as_object().unwrap();
    for table in [
        "browser_sessions",
        "refresh_families",
        "mail_outbox",
        "login_throttle",
    ] {
        assert_eq!(counts[table], 0, "{table} on a new database");
    }
    let text = stdout(&run(binary(dir.path()).args(["db", "sweep"])));
    assert!(
        text.contains("browser_sessions") && text.contains("0 deleted"),
        "{text}"
    );
}

#[test]
fn a_port_in_use_is_said_once_on_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let output = run(binary(dir.path()).env("SI_LISTEN", &address).arg("serve"));
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(
        message.contains(&format!("cannot listen on {address}")),
        "{message}"
    );
    assert_eq!(message.matches("in use").count(), 1, "{message}");
    assert!(
        !dir.path().join("data").exists(),
        "no database made for a node that cannot serve"
    );
}
