//! `client` commands as an operator uses them, and what they leave in the
//! database: a secret shown once and stored only as a digest, and refusals of
//! every redirect URI that could hand a login to someone else.

use std::{process::Output, sync::Arc, time::Duration};

use serde_json::Value;
use si_credentials::secrets::digest;
use si_store::{Repositories, Store, SystemClock, logout_queue::Websites, testing::TestDatabase};
use single_identity::oidc::clients::{ClientAuthError, ClientKind, authenticate};

use crate::{
    desk::{desk_library, library_system},
    support::{binary, run, spawn_app, stderr, stdout},
};

/// Runs the binary against the test database in a scratch directory.
struct Operator {
    database: TestDatabase,
    dir: tempfile::TempDir,
}

impl Operator {
    async fn new() -> Self {
        Self {
            database: TestDatabase::create().await,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        run(binary(self.dir.path())
            .env("SI_DATABASE_URL", &self.database.url)
            .args(args))
    }

    /// Runs a command that must succeed and returns its standard output.
    fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        stdout(&output)
    }

    fn json(&self, args: &[&str]) -> Value {
        serde_json::from_str(&self.ok(args)).unwrap()
    }

    async fn store(&self) -> Store {
        Store::connect(&self.database.url, Arc::new(SystemClock))
            .await
            .unwrap()
    }
}

/// The secret exists only in `client create`'s output: when that cannot be
/// written (a full disk behind a redirection), the client is not kept
/// either, rather than kept with a secret nobody saw.
#[tokio::test]
async fn a_client_whose_secret_could_not_be_written_is_not_created() {
    let si = Operator::new().await;
    let create = [
        "client",
        "create",
        "--name",
        "Site",
        "--id",
        "site",
        "--redirect-uri",
        "https://site.example/cb",
    ];
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
    let output = binary(si.dir.path())
        .env("SI_DATABASE_URL", &si.database.url)
        .args(create)
        .stdout(full)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("the client was not created: cannot write its secret"),
        "{}",
        stderr(&output)
    );
    assert_eq!(si.json(&["client", "list", "--json"]), serde_json::json!([]));
    let created = si.ok(&create);
    assert!(created.contains("Client secret: "), "{created}");
}

#[test]
fn every_client_subcommand_has_help() {
    let dir = tempfile::tempdir().unwrap();
    for command in [
        &["client"][..],
        &["client", "create"],
        &["client", "list"],
        &["client", "show"],
        &["client", "logouts"],
        &["client", "delete"],
    ] {
        let output = run(binary(dir.path()).args(command).arg("--help"));
        assert!(output.status.success(), "{command:?}: {}", stderr(&output));
        assert!(stdout(&output).contains("Usage: single-identity"));
    }
    let create = stdout(&run(binary(dir.path()).args(["client", "create", "--help"])));
    for flag in [
        "--redirect-uri",
        "--post-logout-redirect-uri",
        "--backchannel-logout-uri",
        "--grant-type",
        "--scope",
        "--library",
        "--id-token-alg",
        "printed once",
    ] {
        assert!(create.contains(flag), "{flag} in {create}");
    }
}

/// The operator sees, per client, the back-channel logout notices that
/// wait or gave up, and why the last attempt failed.
#[tokio::test]
async fn client_logouts_shows_what_waits_for_each_client_and_why() {
    let si = Operator::new().await;
    si.ok(&["db", "migrate"]);
    assert_eq!(
        si.ok(&["client", "logouts"]).trim(),
        "No back-channel logout notice is waiting or has failed."
    );
    let store = si.store().await;
    let queue = store.logout_queue();
    for client in ["mijnmenu", "ebooks", "ebooks"] {
        let uri = format!("https://{client}.example/backchannel");
        queue.enqueue(client, &uri, "{}").await.unwrap();
    }
    let lease = Duration::from_secs(60);
    let mut claimed = queue
        .claim("node", 3, Websites::AllBut(&[]), lease)
        .await
        .unwrap();
    // By id: mijnmenu's, then ebooks' two, the newer last.
    claimed.sort_by_key(|notice| notice.id);
    let later = store.clock().now() + si_store::time::Duration::minutes(5);
    let refused = "error sending request: client error (Connect): tcp connect error: Connection refused";
    queue.mark_failed("node", claimed[0].id, refused).await.unwrap();
    let timed_out = "error sending request: operation timed out";
    queue
        .retry_at("node", claimed[1].id, timed_out, later)
        .await
        .unwrap();
    let answered = "the relying party answered 503 Service Unavailable";
    queue
        .retry_at("node", claimed[2].id, answered, later)
        .await
        .unwrap();

    assert_eq!(
        si.ok(&["client", "logouts"]),
        format!(
            "ebooks: 2 waiting (the oldest queued less than a minute ago), 0 failed; last error: {answered}\n\
             mijnmenu: 0 waiting, 1 failed; last error: {refused}\n"
        )
    );
    let listed = si.json(&["client", "logouts", "--json"]);
    assert_eq!(listed[0]["client_id"], "ebooks");
    assert_eq!(
        (listed[0]["waiting"].as_u64(), listed[0]["failed"].as_u64()),
        (Some(2), Some(0))
    );
    assert!(listed[0]["oldest_waiting_since"].is_string(), "{listed}");
    assert_eq!(listed[1]["oldest_waiting_since"], Value::Null);
    assert_eq!(listed[1]["last_error"], refused);
}

#[tokio::test]
async fn a_library_system_gets_a_secret_once_and_the_database_keeps_only_its_digest() {
    let si = Operator::new().await;
    si.ok(&[
        "library",
        "create",
        "--code",
        "DRE01",
        "--name",
        "Bibliotheek Drenthe",
    ]);

    let output = si.run(&[
        "client",
        "create",
        "--name",
        "Wise Drenthe",
        "--id",
        "wise-dre01",
        "--library",
        "dre01",
        "--grant-type",
        "client_credentials",
        "--scope",
        "desk:search",
        "--scope",
        "desk:register",
        "--id-token-alg",
        "ES256",
        "--json",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stderr(&output).contains("shown only now"), "{}", stderr(&output));
    let created: Value = serde_json::from_str(&stdout(&output)).unwrap();
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 43, "256 bits of unpadded base64url");
    assert_eq!(created["id"], "wise-dre01");
    assert_eq!(created["kind"], "confidential");
    assert_eq!(
        created["library"],
        serde_json::json!({"code": "DRE01", "name": "Bibliotheek Drenthe"})
    );
    assert_eq!(created["grant_types"], serde_json::json!(["client_credentials"]));
    assert_eq!(
        created["scopes"],
        serde_json::json!(["desk:search", "desk:register"])
    );
    assert_eq!(created["id_token_algorithm"], "ES256");
    assert_eq!(created["redirect_uris"], serde_json::json!([]));

    let shown = si.json(&["client", "show", "wise-dre01", "--json"]);
    assert_eq!(shown.get("client_secret"), None);
    assert_eq!(shown.get("secret_digest"), None);
    let mut without_secret = created.clone();
    without_secret.as_object_mut().unwrap().remove("client_secret");
    assert_eq!(shown, without_secret);
    let stored_digest = digest(&secret);
    for listing in [
        si.ok(&["client", "show", "wise-dre01"]),
        si.ok(&["client", "list"]),
        si.ok(&["client", "list", "--json"]),
    ] {
        assert!(!listing.contains(&secret), "{listing}");
        assert!(!listing.contains(&stored_digest), "{listing}");
    }
    assert!(
        si.ok(&["client", "show", "wise-dre01"])
            .contains("library: DRE01 (Bibliotheek Drenthe)")
    );
    assert_eq!(
        si.ok(&["client", "list"]).trim(),
        "wise-dre01: Wise Drenthe (confidential, library DRE01)"
    );

    let store = si.store().await;
    let record = store.clients().get("wise-dre01").await.unwrap().unwrap();
    assert_eq!(record.secret_digest.as_deref(), Some(stored_digest.as_str()));

    let client = authenticate(&store, "wise-dre01", Some(&secret)).await.unwrap();
    assert_eq!(client.id().as_str(), "wise-dre01");
    assert_eq!(client.kind(), ClientKind::Confidential);
    let refusals = [
        authenticate(&store, "wise-dre01", Some(&format!("{secret}x"))).await,
        authenticate(&store, "wise-dre01", Some(&stored_digest)).await,
        authenticate(&store, "wise-dre01", None).await,
        authenticate(&store, "wise-dre02", Some(&secret)).await,
        authenticate(&store, "WISE-DRE01", Some(&secret)).await,
    ];
    for refusal in refusals {
        assert!(matches!(refusal, Err(ClientAuthError::Failed)), "{refusal:?}");
    }

    si.ok(&["client", "delete", "wise-dre01"]);
    assert!(matches!(
        authenticate(&store, "wise-dre01", Some(&secret)).await,
        Err(ClientAuthError::Failed)
    ));
    let again = si.run(&["client", "delete", "wise-dre01"]);
    assert_eq!(again.status.code(), Some(1));
    assert_eq!(stderr(&again).trim(), "error: client wise-dre01 not found");
    let show = si.run(&["client", "show", "wise-dre01"]);
    assert_eq!(show.status.code(), Some(1));
    // Who was given access, and when it was taken: in the audit log.
    let audit = si.json(&["audit", "--json"]);
    let changes: Vec<(&str, &str, &str)> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["detail"]["client_id"] == "wise-dre01")
        .map(|entry| {
            (
                entry["actor"].as_str().unwrap(),
                entry["action"].as_str().unwrap(),
                entry["detail"]["scopes"].as_array().map_or("", |_| "with scopes"),
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            ("operator", "client_deleted", ""),
            ("operator", "client_created", "with scopes")
        ]
    );
}

#[tokio::test]
async fn a_website_sees_its_secret_once_in_text_and_a_public_app_gets_none() {
    let si = Operator::new().await;
    let website = si.ok(&[
        "client",
        "create",
        "--name",
        "Website Drenthe",
        "--redirect-uri",
        "https://www.bibliotheekdrenthe.example/oidc/callback",
        "--post-logout-redirect-uri",
        "https://www.bibliotheekdrenthe.example/",
        "--backchannel-logout-uri",
        "https://www.bibliotheekdrenthe.example/oidc/logout",
    ]);
    let lines: Vec<&str> = website.lines().collect();
    assert!(
        lines[0].starts_with("Created confidential client si-"),
        "{website}"
    );
    let id = lines[0]
        .trim_start_matches("Created confidential client ")
        .trim_end_matches('.');
    assert_eq!(id.len(), 19, "si- and 16 hex digits: {id}");
    assert!(website.contains("grant types: authorization_code refresh_token"));
    assert!(website.contains("scopes: openid profile email library"));
    let secret = website
        .lines()
        .find_map(|line| line.strip_prefix("Client secret: "))
        .unwrap();
    assert_eq!(secret.len(), 43);
    assert_eq!(website.matches(secret).count(), 1, "the secret is shown once");
    assert!(website.contains("shown only now"));
    assert!(authenticate(&si.store().await, id, Some(secret)).await.is_ok());

    let app = si.json(&[
        "client",
        "create",
        "--name",
        "Bibliotheek-app",
        "--id",
        "nl.bibliotheek.app",
        "--kind",
        "public",
        "--redirect-uri",
        "nl.bibliotheek.app:/callback",
        "--redirect-uri",
        "http://127.0.0.1/callback",
        "--json",
    ]);
    assert_eq!(app.get("client_secret"), None);
    assert_eq!(app["kind"], "public");
    let app_text = si.run(&[
        "client",
        "create",
        "--name",
        "Webapp",
        "--kind",
        "public",
        "--redirect-uri",
        "https://app.example/cb",
    ]);
    assert!(!stdout(&app_text).to_lowercase().contains("secret"));
    assert!(!stderr(&app_text).to_lowercase().contains("secret"));

    let store = si.store().await;
    let record = store.clients().get("nl.bibliotheek.app").await.unwrap().unwrap();
    assert_eq!(record.secret_digest, None);
    let client = authenticate(&store, "nl.bibliotheek.app", None).await.unwrap();
    assert!(client.redirect_uri_allowed("nl.bibliotheek.app:/callback"));
    assert!(client.redirect_uri_allowed("http://127.0.0.1:49152/callback"));
    assert!(!client.redirect_uri_allowed("nl.bibliotheek.app:/callback/"));
    assert!(matches!(
        authenticate(&store, "nl.bibliotheek.app", Some("anything")).await,
        Err(ClientAuthError::Failed)
    ));
    assert_eq!(
        si.json(&["client", "list", "--json"]).as_array().unwrap().len(),
        3
    );
}

#[tokio::test]
async fn hostile_redirect_uris_are_refused_with_the_rule_and_nothing_is_written() {
    let si = Operator::new().await;
    let loopback_only = "http is allowed only for loopback hosts (127.0.0.1, [::1], localhost)";
    let cases: &[(&str, &str, &str)] = &[
        (
            "confidential",
            "https://evil.example@good.example/",
            "must not contain user information (user@)",
        ),
        (
            "confidential",
            "javascript:alert(1)",
            "private-use schemes only for public clients",
        ),
        (
            "public",
            "javascript:alert(1)",
            "must be a reverse domain name with a dot",
        ),
        ("public", "https://*.example/cb", "wildcards (*) are not allowed"),
        (
            "confidential",
            "https://good.example/c b",
            "must not contain spaces or control characters",
        ),
        (
            "confidential",
            "https://good.example/\u{7}cb",
            "must not contain spaces or control characters",
        ),
        (
            "confidential",
            "https://good.example/cb#top",
            "must not have a fragment (#)",
        ),
        ("confidential", "http://example.org/cb", loopback_only),
        (
            "confidential",
            "https://good.example/cb?iss=https%3A%2F%2Fevil.example",
            "must not have iss in its query: the service adds it to every answer",
        ),
        ("confidential", "http://127.0.0.1.nip.io/", loopback_only),
        ("confidential", "http://localhost.evil.example/", loopback_only),
        (
            "confidential",
            "http://0x7f.0.0.1/cb",
            "host is not a valid domain name or IP address",
        ),
        (
            "confidential",
            "https://good.example\\@evil.example/",
            "must not contain the character '\\\\'",
        ),
        ("confidential", "/callback", "must be absolute"),
        (
            "public",
            "nl.bibliotheek.app:callback",
            "must be followed by a path",
        ),
    ];
    for (kind, uri, rule) in cases {
        let output = si.run(&[
            "client",
            "create",
            "--name",
            "Evil",
            "--kind",
            kind,
            "--redirect-uri",
            uri,
        ]);
        assert_eq!(output.status.code(), Some(1), "{uri:?}: {}", stdout(&output));
        let message = stderr(&output);
        assert!(message.contains("redirect URI "), "{uri:?}: {message}");
        assert!(message.contains(rule), "{uri:?}: {message}");
        assert!(!message.contains('\u{7}'), "control characters are escaped");
    }
    assert_eq!(
        stderr(&si.run(&[
            "client",
            "create",
            "--name",
            "X",
            "--redirect-uri",
            "http://example.org/cb"
        ]))
        .trim(),
        format!("error: redirect URI http://example.org/cb: {loopback_only}")
    );
    let refused_elsewhere: &[(&[&str], &str)] = &[
        (
            &[
                "--redirect-uri",
                "https://ok.example/cb",
                "--post-logout-redirect-uri",
                "http://evil.example/",
            ],
            "post-logout redirect URI http://evil.example/: http is allowed only",
        ),
        (
            &[
                "--redirect-uri",
                "https://ok.example/cb",
                "--backchannel-logout-uri",
                "nl.app:/logout",
            ],
            "back-channel logout URI nl.app:/logout: must use https",
        ),
        (&[], "authorization_code needs at least one redirect URI"),
        (
            &["--kind", "public", "--grant-type", "client_credentials"],
            "public clients cannot use client_credentials",
        ),
        (
            &["--grant-type", "client_credentials", "--scope", "desk:audit"],
            "scope desk:audit is only for confidential clients bound to a library",
        ),
        (
            &[
                "--grant-type",
                "client_credentials",
                "--scope",
                "desk:search",
                "--library",
                "NOPE",
            ],
            "library NOPE not found",
        ),
        (
            &["--grant-type", "client_credentials", "--library", "DRE01"],
            "client_credentials tokens open the desk API only: give the client a desk scope",
        ),
    ];
    for (args, message) in refused_elsewhere {
        let mut command = vec!["client", "create", "--name", "X"];
        command.extend_from_slice(args);
        let output = si.run(&command);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        assert!(stderr(&output).contains(message), "{args:?}: {}", stderr(&output));
    }
    // Refused while parsing the command line, before the database is opened.
    for args in [
        &["--id", "Bad Id"][..],
        // A member's account id: the client's sub would name the member.
        &["--id", "5t62ahefyntav27w87e6pztc5f"],
        &["--grant-type", "implicit"],
        &["--scope", "admin"],
        &["--id-token-alg", "none"],
        &["--kind", "secret"],
    ] {
        let mut command = vec!["client", "create", "--name", "X"];
        command.extend_from_slice(args);
        let output = si.run(&command);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", stderr(&output));
    }
    assert_eq!(si.json(&["client", "list", "--json"]), serde_json::json!([]));

    si.ok(&[
        "client",
        "create",
        "--name",
        "Site",
        "--id",
        "site",
        "--redirect-uri",
        "HTTPS://Good.Example/cb",
    ]);
    let twice = si.run(&[
        "client",
        "create",
        "--name",
        "Site",
        "--id",
        "site",
        "--redirect-uri",
        "https://good.example/cb",
    ]);
    assert_eq!(twice.status.code(), Some(1));
    assert_eq!(stderr(&twice).trim(), "error: client site already exists");
    let site = si.json(&["client", "show", "site", "--json"]);
    assert_eq!(
        site["redirect_uris"],
        serde_json::json!(["HTTPS://Good.Example/cb"]),
        "stored exactly as given"
    );
}

/// An operator deletes a library system whose secret leaked. Both running
/// nodes gave it a token a moment before, so both hold its registration;
/// once `client delete` has ended, neither gives it another.
#[tokio::test]
async fn once_client_delete_ends_no_running_node_gives_the_client_a_token() {
    let app = spawn_app().await;
    desk_library(&app, "DRE01", "Biblionet Drenthe").await;
    let system = library_system(&app, "DRE01", "desk:search").await;
    let node = app.another_node().await;
    let grant_status = |base: String| {
        let request = app
            .client
            .post(format!("{base}/token"))
            .basic_auth(&system.0, Some(&system.1))
            .form(&[("grant_type", "client_credentials")]);
        async move { request.send().await.unwrap().status().as_u16() }
    };
    let nodes = [app.url(""), format!("http://{}", node.address)];
    for base in &nodes {
        assert_eq!(grant_status(base.clone()).await, 200, "{base}");
    }

    // Off the test's thread, which also runs both nodes.
    let mut delete = binary(app.data_dir.path());
    delete
        .env("SI_DATABASE_URL", app.database_url())
        .args(["client", "delete", &system.0]);
    let deleted = tokio::task::spawn_blocking(move || run(&mut delete))
        .await
        .unwrap();
    assert!(deleted.status.success(), "{}", stderr(&deleted));
    assert_eq!(
        stdout(&deleted).trim(),
        format!(
            "Deleted client {}; running nodes refuse it from now on.",
            system.0
        )
    );
    for base in &nodes {
        assert_eq!(grant_status(base.clone()).await, 401, "{base}");
    }
    node.stop().await.unwrap();
}
