//! Mail that always arrives: the outbox, delivery over real SMTP, retries,
//! permanent refusals, the .eml default, and a delivering process killed
//! with SIGKILL in the middle of a batch.

use std::{collections::BTreeSet, sync::Arc, time::Duration};

use mail_parser::MessageParser;
use si_domain::Email;
use si_store::{FixedClock, Repositories, Store, testing::TestDatabase, time::macros::datetime};
use single_identity::{
    http::i18n::Language,
    mail::{self, Mail, delivery::Deliverer},
    oidc::keys::SealingKey,
};

use crate::{
    smtp::{SmtpServer, unused_address},
    support::{binary, run, sealing_key, spawn_app_with, stderr, stdout, test_config},
};

fn address(text: &str) -> Email {
    Email::parse(text).unwrap()
}

fn confirmation(link: &str) -> Mail {
    Mail::AccountConfirmation {
        name: "Sanne de Vries".into(),
        username: "20000000000001".into(),
        link: link.into(),
    }
}

fn password_changed() -> Mail {
    Mail::PasswordChanged {
        username: "sanne".into(),
    }
}

/// A store on a fresh database with a clock the test moves, a worker for
/// it, and the key-encryption key the mails are sealed with.
async fn worker_for(
    smtp_url: String,
) -> (
    Store,
    FixedClock,
    Deliverer,
    SealingKey,
    TestDatabase,
    tempfile::TempDir,
) {
    let database = TestDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    let clock = FixedClock::at(datetime!(2024-06-19 10:00 UTC));
    let store = Store::connect(&database.url, Arc::new(clock.clone()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let mut config = test_config(&database, dir.path());
    config.mail.smtp_url = Some(smtp_url);
    let sealing = sealing_key(dir.path(), &store).await;
    let deliverer = Deliverer::new(store.clone(), sealing.clone(), Arc::new(config)).unwrap();
    (store, clock, deliverer, sealing, database, dir)
}

#[tokio::test]
async fn a_queued_mail_arrives_over_smtp_with_both_parts_and_its_link() {
    let smtp = SmtpServer::start();
    let app = spawn_app_with(|config| config.mail.smtp_url = Some(smtp.url())).await;
    let link = "http://127.0.0.1/confirm?token=abc123";
    mail::queue(
        &app.store,
        &app.sealing().await,
        &address("Sanne@Example.NL"),
        Language::Nl,
        &confirmation(link),
    )
    .await
    .unwrap();

    let received = tokio::task::spawn_blocking(move || smtp.wait_for(1))
        .await
        .unwrap();
    assert_eq!(received.len(), 1);
    let mail = &received[0];
    assert_eq!(mail.to, ["Sanne@example.nl"]);
    let parsed = MessageParser::default()
        .parse(mail.data.as_bytes())
        .expect("a MIME message");
    let subject = parsed.subject().unwrap_or_default();
    assert!(!subject.is_empty());
    let text = parsed.body_text(0).expect("a plain-text part");
    let html = parsed.body_html(0).expect("an HTML part");
    assert!(
        text.contains("Je inlogaccount is bijna klaar voor gebruik"),
        "{text}"
    );
    assert!(text.contains(link), "{text}");
    assert!(html.contains(link), "{html}");
    assert!(
        mail.header("Message-ID")
            .is_some_and(|id| id.starts_with('<') && id.ends_with("@bibliotheek.example>"))
    );
    assert!(mail.header("Date").is_some());
    assert_eq!(mail.header("Auto-Submitted").as_deref(), Some("auto-generated"));

    // The worker marks the mail sent once the server has accepted it.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while app.store.outbox().status().await.unwrap().sent < 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "not marked sent within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let status = app.store.outbox().status().await.unwrap();
    assert_eq!((status.pending, status.sending, status.sent), (0, 0, 1));
    app.stop().await;
}

#[tokio::test]
async fn while_the_smtp_server_is_down_mails_wait_and_arrive_when_it_is_back() {
    let down = unused_address();
    let (store, clock, deliverer, sealing, _db, _dir) = worker_for(format!("smtp://{down}")).await;
    for n in 0..3 {
        mail::queue(
            &store,
            &sealing,
            &address(&format!("member{n}@example.nl")),
            Language::En,
            &password_changed(),
        )
        .await
        .unwrap();
    }
    let (report, claimed) = deliverer.round().await.unwrap();
    assert_eq!(claimed, 3);
    assert_eq!((report.sent, report.retry_later, report.failed), (0, 3, 0));
    assert_eq!(store.outbox().status().await.unwrap().pending, 3);
    let (_, claimed) = deliverer.round().await.unwrap();
    assert_eq!(claimed, 0, "nothing is retried before its backoff ends");

    let smtp = SmtpServer::start_on(std::net::TcpListener::bind(down).unwrap(), Duration::ZERO);
    clock.advance(si_store::time::Duration::minutes(1));
    let report = deliverer.drain().await.unwrap();
    assert_eq!(report.sent, 3);
    let recipients: BTreeSet<String> = smtp.received().iter().flat_map(|m| m.to.clone()).collect();
    assert_eq!(recipients.len(), 3);
    let entries = store.outbox().entries().await.unwrap();
    assert!(
        entries.iter().all(|e| e.status == "sent" && e.attempts == 2),
        "{entries:?}"
    );
}

#[tokio::test]
async fn a_permanent_refusal_is_kept_with_the_servers_answer_and_a_temporary_one_retried() {
    let smtp = SmtpServer::start();
    let (store, _clock, deliverer, sealing, _db, _dir) = worker_for(smtp.url()).await;
    mail::queue(
        &store,
        &sealing,
        &address("bounce@example.nl"),
        Language::Nl,
        &password_changed(),
    )
    .await
    .unwrap();
    mail::queue(
        &store,
        &sealing,
        &address("later@example.nl"),
        Language::Nl,
        &password_changed(),
    )
    .await
    .unwrap();
    mail::queue(
        &store,
        &sealing,
        &address("sanne@example.nl"),
        Language::Nl,
        &password_changed(),
    )
    .await
    .unwrap();
    let report = deliverer.drain().await.unwrap();
    assert_eq!((report.sent, report.retry_later, report.failed), (1, 1, 1));
    let entries = store.outbox().entries().await.unwrap();
    let bounce = entries
        .iter()
        .find(|e| e.recipient.starts_with("bounce"))
        .unwrap();
    assert_eq!(bounce.status, "failed");
    let why = bounce.last_error.as_deref().unwrap_or_default();
    assert!(why.contains("550"), "{bounce:?}");
    assert!(
        !why.contains("bounce@") && why.contains("<address>"),
        "a member's address does not belong in the outbox's errors or the logs: {why}"
    );
    let later = entries.iter().find(|e| e.recipient.starts_with("later")).unwrap();
    assert_eq!(later.status, "pending");
    assert!(
        later.last_error.as_deref().unwrap_or_default().contains("451"),
        "{later:?}"
    );
}

/// A waiting mail's link is a secret: the outbox holds the mail sealed
/// with the key-encryption key and bound to its row's address, so that a
/// copy of the database gives no link away, and a mail moved onto another
/// member's row is refused rather than sent there.
#[tokio::test]
async fn a_waiting_mail_is_sealed_and_opens_only_for_its_own_address() {
    use sea_orm::{ConnectionTrait, Statement};
    let smtp = SmtpServer::start();
    let (store, _clock, deliverer, sealing, _db, _dir) = worker_for(smtp.url()).await;
    let link = "http://127.0.0.1/confirm?token=Geheim-token-123";
    for to in ["sanne@example.nl", "pieter@example.nl"] {
        let mail = confirmation(&format!("{link}-{to}"));
        mail::queue(&store, &sealing, &address(to), Language::Nl, &mail)
            .await
            .unwrap();
    }
    let database = store.connection();
    let select = "SELECT payload FROM mail_outbox ORDER BY id";
    let rows = database
        .query_all_raw(Statement::from_string(database.get_database_backend(), select))
        .await
        .unwrap();
    let payloads: Vec<String> = rows
        .iter()
        .map(|row| row.try_get("", "payload").unwrap())
        .collect();
    for payload in &payloads {
        assert!(payload.starts_with("sealed:"), "{payload}");
        for clear in ["Geheim-token-123", "Sanne", "20000000000001"] {
            assert!(!payload.contains(clear), "{clear} in {payload}");
        }
    }
    let moved = format!(
        "UPDATE mail_outbox SET payload = '{}' WHERE recipient = 'pieter@example.nl'",
        payloads[0]
    );
    database.execute_unprepared(&moved).await.unwrap();

    let report = deliverer.drain().await.unwrap();
    assert_eq!((report.sent, report.failed), (1, 1));
    let received = smtp.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].to, ["sanne@example.nl"]);
    assert!(received[0].data.contains("Geheim-token-123-sanne@example.nl"));
    let failures = store.outbox().failures(10).await.unwrap();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].recipient, "pieter@example.nl");
    assert!(
        failures[0]
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("does not open with this node's key-encryption key"),
        "{failures:?}"
    );
}

/// A mail queued, unsealed, by a version before the sealing still goes
/// after the upgrade.
#[tokio::test]
async fn a_mail_queued_before_the_sealing_is_still_sent() {
    let smtp = SmtpServer::start();
    let (store, _clock, deliverer, _sealing, _db, _dir) = worker_for(smtp.url()).await;
    let mail = confirmation("http://127.0.0.1/confirm?token=from-before");
    store
        .outbox()
        .enqueue(si_store::outbox::NewMail {
            recipient: &address("sanne@example.nl"),
            template: mail.template(),
            language: "nl",
            payload: serde_json::to_string(&mail).unwrap(),
        })
        .await
        .unwrap();
    assert_eq!(deliverer.drain().await.unwrap().sent, 1);
    assert!(smtp.received()[0].data.contains("from-before"));
}

#[tokio::test]
async fn two_workers_at_once_send_every_mail_exactly_once() {
    let smtp = SmtpServer::start();
    let (store, _clock, first, sealing, database, dir) = worker_for(smtp.url()).await;
    let other_store = Store::connect(
        &database.url,
        Arc::new(FixedClock::at(datetime!(2024-06-19 10:00 UTC))),
    )
    .await
    .unwrap();
    let mut config = test_config(&database, dir.path());
    config.mail.smtp_url = Some(smtp.url());
    config.mail.batch_size = 25;
    let second = Deliverer::new(other_store, sealing.clone(), Arc::new(config)).unwrap();
    for n in 0..150 {
        mail::queue(
            &store,
            &sealing,
            &address(&format!("member{n}@example.nl")),
            Language::Nl,
            &password_changed(),
        )
        .await
        .unwrap();
    }
    let (a, b) = tokio::join!(first.drain(), second.drain());
    assert_eq!(a.unwrap().sent + b.unwrap().sent, 150);
    let ids: Vec<String> = smtp
        .received()
        .iter()
        .filter_map(|m| m.header("Message-ID"))
        .collect();
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!((ids.len(), unique.len()), (150, 150));
}

#[tokio::test]
async fn with_no_smtp_configured_mails_are_written_as_eml_files() {
    let app = spawn_app_with(|_| {}).await;
    mail::queue(
        &app.store,
        &app.sealing().await,
        &address("sanne@example.nl"),
        Language::En,
        &confirmation("http://x/confirm?t=1"),
    )
    .await
    .unwrap();
    let dir = app.data_dir.path().join("mail");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let file = loop {
        // Whatever else is there, a reader that takes the .eml files gets
        // whole mails only: this test once read one still being written.
        let found = std::fs::read_dir(&dir).ok().and_then(|entries| {
            entries
                .filter_map(|e| Some(e.ok()?.path()))
                .find(|path| path.extension().is_some_and(|e| e == "eml"))
        });
        if let Some(path) = found {
            break path;
        }
        assert!(std::time::Instant::now() < deadline, "no .eml file within 30 s");
        tokio::time::sleep(Duration::from_millis(1)).await;
    };
    let eml = std::fs::read(&file).unwrap();
    let parsed = MessageParser::default().parse(&eml).unwrap();
    assert_eq!(
        parsed.to().and_then(|to| to.first()).and_then(|a| a.address()),
        Some("sanne@example.nl")
    );
    assert!(parsed.body_text(0).unwrap().contains("http://x/confirm?t=1"));
    app.stop().await;
}

/// `mail deliver` in a scheduled job: a mail refused for good makes the run
/// fail, so the job's monitoring sees it.
#[tokio::test]
async fn mail_deliver_fails_when_a_mail_did_not_go() {
    let smtp = SmtpServer::start();
    let database = TestDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&database.url, Arc::new(si_store::SystemClock))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    // The command's own: its data directory is ./data.
    let sealing = &sealing_key(&dir.path().join("data"), &store).await;
    let queue = |to: &'static str| {
        let store = &store;
        async move { mail::queue(store, sealing, &address(to), Language::Nl, &password_changed()).await }
    };
    let deliver = |smtp_url: String| {
        run(binary(dir.path())
            .env("SI_DATABASE_URL", &database.url)
            .env("SI_MAIL__SMTP_URL", smtp_url)
            .args(["mail", "deliver"]))
    };
    for to in ["member@example.nl", "bounce@example.nl"] {
        queue(to).await.unwrap();
    }
    let output = deliver(smtp.url());
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(stdout(&output), "sent 1, to retry later 0, failed 1\n");
    assert!(
        stderr(&output).contains("not every mail was sent: `single-identity mail status` lists the failures"),
        "{}",
        stderr(&output)
    );
    let status = store.outbox().status().await.unwrap();
    assert_eq!((status.sent, status.failed), (1, 1));

    // So does a mail that waits for a server that is down.
    queue("member@example.nl").await.unwrap();
    let output = deliver(format!("smtp://{}", unused_address()));
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(stdout(&output), "sent 0, to retry later 1, failed 0\n");
    assert!(!stderr(&output).contains(".eml"), "{}", stderr(&output));

    // Without the service's relay the mail is written as a file, and the
    // operator is told so before it goes.
    queue("member@example.nl").await.unwrap();
    let output = run(binary(dir.path())
        .env("SI_DATABASE_URL", &database.url)
        .args(["mail", "deliver"]));
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(
            "no mail.smtp_url (SI_MAIL__SMTP_URL) is set: the mails are written as .eml files under"
        ),
        "{}",
        stderr(&output)
    );
}

#[tokio::test]
async fn killing_the_delivering_process_mid_batch_loses_no_mail() {
    let smtp = SmtpServer::start_slow(Duration::from_millis(15));
    let database = TestDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&database.url, Arc::new(si_store::SystemClock))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    // The command's own: its data directory is ./data.
    let sealing = sealing_key(&dir.path().join("data"), &store).await;
    let total = 120;
    for n in 0..total {
        mail::queue(
            &store,
            &sealing,
            &address(&format!("member{n}@example.nl")),
            Language::Nl,
            &password_changed(),
        )
        .await
        .unwrap();
    }
    let smtp_url = smtp.url();
    let deliver = || {
        let mut command = binary(dir.path());
        command
            .env("SI_DATABASE_URL", &database.url)
            .env("SI_MAIL__SMTP_URL", &smtp_url)
            .env("SI_MAIL__CONCURRENCY", "4")
            .env("SI_MAIL__BATCH_SIZE", "40")
            .env("SI_MAIL__LEASE_SECONDS", "1")
            .args(["mail", "deliver"]);
        command
    };
    let mut victim = deliver()
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let smtp = tokio::task::spawn_blocking(move || {
        smtp.wait_for(10);
        smtp
    })
    .await
    .unwrap();
    victim.kill().unwrap(); // SIGKILL: no clean-up, leases left behind
    victim.wait().unwrap();
    let delivered_before = smtp.received().len();
    assert!(
        delivered_before < total,
        "killed before the end ({delivered_before})"
    );

    // Run again until everything is sent; leases of the killed run expire after 1 s.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let output = run(&mut deliver());
        assert!(output.status.success(), "{}", stderr(&output));
        let status = store.outbox().status().await.unwrap();
        if status.pending == 0 && status.sending == 0 {
            assert_eq!(status.sent, total as u64);
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "mail still waiting after 60 s: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let recipients: BTreeSet<String> = smtp.received().iter().flat_map(|m| m.to.clone()).collect();
    assert_eq!(recipients.len(), total, "every member got the mail");
    // At-least-once: only mails in flight or not yet recorded at the kill may
    // arrive twice: at most two rounds of 4 concurrent sends.
    let duplicates = smtp.received().len() - total;
    assert!(
        duplicates <= 8,
        "{duplicates} duplicates, more than the 8 in flight or unrecorded"
    );
}

#[tokio::test]
async fn mail_status_shows_counts_and_recent_failures() {
    let smtp = SmtpServer::start();
    let (store, _clock, deliverer, sealing, database, dir) = worker_for(smtp.url()).await;
    mail::queue(
        &store,
        &sealing,
        &address("bounce@example.nl"),
        Language::Nl,
        &password_changed(),
    )
    .await
    .unwrap();
    mail::queue(
        &store,
        &sealing,
        &address("sanne@example.nl"),
        Language::Nl,
        &password_changed(),
    )
    .await
    .unwrap();
    deliverer.drain().await.unwrap();
    mail::queue(
        &store,
        &sealing,
        &address("pieter@example.nl"),
        Language::Nl,
        &password_changed(),
    )
    .await
    .unwrap();

    let output = run(binary(dir.path())
        .env("SI_DATABASE_URL", &database.url)
        .args(["mail", "status", "--json"]));
    assert!(output.status.success(), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(json["status"]["pending"], 1);
    assert_eq!(json["status"]["sent"], 1);
    assert_eq!(json["status"]["failed"], 1);
    assert_eq!(json["recent_failures"][0]["recipient"], "bounce@example.nl");
    let text = run(binary(dir.path())
        .env("SI_DATABASE_URL", &database.url)
        .args(["mail", "status"]));
    assert!(stdout(&text).contains("failed   1"), "{}", stdout(&text));

    // A worker took the waiting mail on 2024-06-19 and was stopped hard: its
    // lease has long run out, and the mail goes at the next run.
    let taken = store
        .outbox()
        .claim("stopped-node", 10, std::time::Duration::from_secs(120))
        .await
        .unwrap();
    assert_eq!(taken.len(), 1);
    let output = run(binary(dir.path())
        .env("SI_DATABASE_URL", &database.url)
        .args(["mail", "status", "--json"]));
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(json["status"]["sending_held_until"], "2024-06-19T10:02:00Z");
    let text = run(binary(dir.path())
        .env("SI_DATABASE_URL", &database.url)
        .args(["mail", "status"]));
    assert!(
        stdout(&text).contains("sending  1 (their workers' leases ran out: they go at the next run)"),
        "{}",
        stdout(&text)
    );
}
