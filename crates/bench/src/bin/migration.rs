//! The go-live migration at national scale.
//!
//! `migration generate --members 3600000 --libraries 135 --out DIR` writes
//! realistic exports, one CSV per library: two thirds children, families
//! sharing an address, common first names as usernames (`emma`, `Emma`,
//! `emma1`), names that break today's rules, people registered at two
//! libraries, a few bad rows, and a mix of old hash formats.
//!
//! `migration run DIR [--database-url URL]` sets up the catalogue those
//! files need in a fresh database (SQLite under DIR by default), then runs
//! `single-identity migrate plan` and `migrate import` (the release binary)
//! and prints rows per second and the peak resident memory of each.
//!
//! `migration ceiling DIR [--members N] [--database-url URL]` measures what
//! the database alone does with rows of the import's shape, in a fresh
//! database (SQLite under DIR by default): the same schema and batch size,
//! every row made inside the database by `INSERT … SELECT`, so no client,
//! driver or plan takes any of the time. Its ids, usernames and e-mails are
//! all random, where real usernames and family e-mails cluster a little, so
//! on very large tables an import can come slightly above it. With
//! `--indexes-after` the rows go into copies of the tables without indexes
//! or constraints, built and checked once at the end instead. With
//! `--ordered-ids` the account ids rise in the order the accounts are made
//! (as time-ordered ids such as ULIDs would), so that those indexes grow at
//! their end.

use std::{
    fs::File,
    io::{BufWriter, Read, Write},
    path::{Path, PathBuf},
    process::Command,
    sync::Arc,
    time::{Duration, Instant},
};

use rand::{Rng, SeedableRng, rngs::StdRng, seq::IndexedRandom};
use sea_orm::{ConnectionTrait, DbErr, Statement, TransactionTrait};
use si_domain::{
    AgeRange, BranchCode, DisplayName, LibraryCode, Money, SubscriptionCode, SubscriptionTerms, TariffCode,
};
use si_store::{Backend, Repositories, Store, SystemClock, Workload, catalogue::NewSubscriptionType};

type Error = Box<dyn std::error::Error>;

const HEADER: &str = "library_code,card_number,branch,username,password_hash,email,name,birth_date,subscription_type,valid_until,last_login";

const FIRST_NAMES: &[&str] = &[
    "emma", "julia", "mila", "tess", "sophie", "zoë", "sara", "nora", "anna", "evi", "noah", "daan", "sem",
    "lucas", "levi", "finn", "liam", "luuk", "milan", "jesse", "jan", "piet", "kees", "maria", "johanna",
    "hendrik", "willem", "cornelis", "thomas", "lotte",
];
const LAST_NAMES: &[&str] = &[
    "de Jong",
    "Jansen",
    "de Vries",
    "van den Berg",
    "van Dijk",
    "Bakker",
    "Janssen",
    "Visser",
    "Smit",
    "Meijer",
    "de Boer",
    "Mulder",
    "de Groot",
    "Bos",
    "Vos",
    "Peters",
    "Hendriks",
    "van Leeuwen",
    "Dekker",
    "Brouwer",
];
/// Published vectors of the old formats (their passwords are in the credentials crate's tests).
const HASHES: &[&str] = &[
    "$2b$04$cVWp4XaNU8a4v1uMRum2SO026BWLIoQMD/TXg5uZV.0P.uO8m3YEm",
    "$2a$10$LgfYWkbzEvQ4JakH7rOvHe0y8pHKF9OaFgwUZ2q7W2FFZmZzJYlfS",
    "$1$dXc3I7Rw$ctlgjDdWJLMT.qwHsWhXR1",
    "{SSHA}jdALDtX0+MVMkRsX0ilHz0O6Uos95D4s",
    "$1$ec6XvcoW$ghEtNK2U1MC5l.Dwgi3020",
];

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    match args.first().map(String::as_str) {
        Some("generate") => {
            let members: usize = value("--members").unwrap_or_else(|| "3600000".into()).parse()?;
            let libraries: usize = value("--libraries").unwrap_or_else(|| "135".into()).parse()?;
            let seed: u64 = value("--seed").unwrap_or_else(|| "2024".into()).parse()?;
            let out = PathBuf::from(value("--out").ok_or("--out DIR is required")?);
            generate(members, libraries, seed, &out)
        }
        Some("run") => {
            let dir = PathBuf::from(args.get(1).ok_or("run DIR")?);
            let database_url = match value("--database-url") {
                Some(url) => url,
                None => new_sqlite_database(&dir, "bench.db")?,
            };
            tokio::runtime::Runtime::new()?.block_on(run(&dir, &database_url))
        }
        Some("ceiling") => {
            let dir = PathBuf::from(args.get(1).ok_or("ceiling DIR")?);
            let members: u64 = value("--members").unwrap_or_else(|| "367000".into()).parse()?;
            let database_url = match value("--database-url") {
                Some(url) => url,
                None => new_sqlite_database(&dir, "ceiling.db")?,
            };
            let load = if args.iter().any(|a| a == "--indexes-after") {
                Load::IndexesAfter
            } else {
                Load::Constrained
            };
            let ids = if args.iter().any(|a| a == "--ordered-ids") {
                Ids::Ordered
            } else {
                Ids::Random
            };
            tokio::runtime::Runtime::new()?.block_on(ceiling(&database_url, members, load, ids))
        }
        _ => Err("usage: migration generate --members N --libraries N --out DIR | migration run DIR [--database-url URL] | migration ceiling DIR [--members N] [--indexes-after] [--ordered-ids] [--database-url URL]".into()),
    }
}

/// The URL of a SQLite database `name` under `dir`, removed first: every
/// run writes into a new database, because on one that holds the rows
/// already an import only skips them.
fn new_sqlite_database(dir: &Path, name: &str) -> Result<String, Error> {
    for suffix in ["", "-wal", "-shm"] {
        match std::fs::remove_file(dir.join(format!("{name}{suffix}"))) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
            _ => {}
        }
    }
    Ok(format!("sqlite://{}/{name}?mode=rwc", dir.display()))
}

fn library_code(index: usize) -> String {
    format!("B{:03}", index + 1)
}

struct Member {
    first: &'static str,
    last: &'static str,
    birth: (i32, u32, u32),
    email: String,
}

fn generate(members: usize, libraries: usize, seed: u64, out: &Path) -> Result<(), Error> {
    std::fs::create_dir_all(out)?;
    let mut rng = StdRng::seed_from_u64(seed);
    let per_library = members.div_ceil(libraries);
    // People who move or hold a card at a second library: written there too.
    let mut elsewhere: Vec<Vec<String>> = vec![Vec::new(); libraries];
    // Their cards there are numbered from 9,000,000, once per library.
    let mut second_cards = vec![9_000_000usize; libraries];
    let mut written = 0usize;
    let mut family = 0usize;
    for library in 0..libraries {
        let code = library_code(library);
        let mut file = BufWriter::new(File::create(out.join(format!("{code}.csv")))?);
        writeln!(file, "{HEADER}")?;
        let mut card = 0usize;
        while card < per_library && written < members {
            // A family: one adult, often with children, sharing the address.
            family += 1;
            let last = *LAST_NAMES.choose(&mut rng).ok_or("names")?;
            let email = if rng.random_bool(0.08) {
                String::new()
            } else {
                format!("fam{family}@{}.example.nl", ["mail", "post", "thuis"][family % 3])
            };
            let size = if rng.random_bool(0.5) {
                rng.random_range(2..=4)
            } else {
                1
            };
            for person in 0..size {
                if card >= per_library || written >= members {
                    break;
                }
                let child = person > 0 || rng.random_bool(0.3);
                let member = Member {
                    first: FIRST_NAMES.choose(&mut rng).ok_or("names")?,
                    last,
                    birth: if child {
                        (
                            rng.random_range(2009..=2023),
                            rng.random_range(1..=12),
                            rng.random_range(1..=28),
                        )
                    } else {
                        (
                            rng.random_range(1940..=2005),
                            rng.random_range(1..=12),
                            rng.random_range(1..=28),
                        )
                    },
                    email: email.clone(),
                };
                let row = row_at(&mut rng, &code, library, card, &member);
                writeln!(file, "{row}")?;
                card += 1;
                written += 1;
                if rng.random_bool(0.02) && libraries > 1 {
                    let other = (library + rng.random_range(1..libraries)) % libraries;
                    let moved = row_at(
                        &mut rng,
                        &library_code(other),
                        other,
                        second_cards[other],
                        &member,
                    );
                    second_cards[other] += 1;
                    elsewhere[other].push(moved);
                }
            }
        }
        for row in std::mem::take(&mut elsewhere[library]) {
            writeln!(file, "{row}")?;
        }
        file.flush()?;
    }
    // Rows for libraries already written go to their own file.
    let mut late = BufWriter::new(File::create(out.join("B000-moved.csv"))?);
    writeln!(late, "{HEADER}")?;
    for rows in &elsewhere {
        for row in rows {
            writeln!(late, "{row}")?;
        }
    }
    late.flush()?;
    println!(
        "wrote {written} members over {libraries} libraries to {}",
        out.display()
    );
    Ok(())
}

fn row_at(rng: &mut StdRng, code: &str, library: usize, card: usize, member: &Member) -> String {
    let card_number = format!("2{:03}{:010}", library + 1, card);
    let capital = |s: &str| {
        let mut chars = s.chars();
        chars
            .next()
            .map(|c| c.to_uppercase().chain(chars).collect())
            .unwrap_or_default()
    };
    let first = member.first;
    let username = match rng.random_range(0..100) {
        0..=29 => first.to_owned(),
        30..=39 => capital(first),
        40..=59 => format!("{first}{}", rng.random_range(1..100)),
        60..=74 => format!("{first}.{}", member.last.replace(' ', "").to_lowercase()),
        75..=84 if !member.email.is_empty() => member.email.clone(),
        85..=89 => format!("{first} {}", member.last),
        90..=94 => String::new(),
        _ => format!("lezer{}", rng.random_range(1..1_000_000)),
    };
    let hash = if rng.random_bool(0.1) {
        ""
    } else {
        HASHES.choose(rng).copied().unwrap_or_default()
    };
    let (year, month, day) = member.birth;
    let subscription = if year >= 2009 { "JEUGD" } else { "VOLWASSEN" };
    let last_login = if rng.random_bool(0.7) {
        format!(
            "{}-{:02}-{:02}T{:02}:{:02}:00Z",
            rng.random_range(2021..=2024),
            rng.random_range(1..=12),
            rng.random_range(1..=28),
            rng.random_range(0..24),
            rng.random_range(0..60)
        )
    } else {
        String::new()
    };
    let mut fields = [
        code.to_owned(),
        card_number,
        "0001".to_owned(),
        username,
        hash.to_owned(),
        member.email.clone(),
        format!("{} {}", capital(first), member.last),
        format!("{year:04}-{month:02}-{day:02}"),
        subscription.to_owned(),
        format!(
            "{}-{:02}-28",
            rng.random_range(2025..=2027),
            rng.random_range(1..=12)
        ),
        last_login,
    ];
    // About three in a thousand rows are broken in one of the ways exports break.
    if rng.random_bool(0.003) {
        match rng.random_range(0..4) {
            0 => fields[1] = "12".to_owned(),
            // The card of the member before, given out twice.
            1 if card > 0 => fields[1] = format!("2{:03}{:010}", library + 1, card - 1),
            2 => fields[7] = "31-02-1990".to_owned(),
            _ => fields[8] = "ONBEKEND".to_owned(),
        }
    }
    fields
        .iter()
        .map(|f| {
            if f.contains(',') {
                format!("\"{f}\"")
            } else {
                f.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

async fn run(dir: &Path, database_url: &str) -> Result<(), Error> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "csv"))
        .collect();
    files.sort();
    let binary = create_schema(database_url)?;
    let store = Store::connect(database_url, Arc::new(SystemClock)).await?;
    let libraries = files.len().saturating_sub(1);
    for index in 0..libraries {
        catalogue(&store, &library_code(index)).await?;
    }
    drop(store);
    let rows = count_rows(&files)?;
    println!(
        "{rows} rows in {} files, database {}",
        files.len(),
        si_store::redact_url(database_url)
    );
    // The import a second time over a finished one: what the second run
    // after a `kill -9` costs at most. It must write nothing.
    for (label, step) in [
        ("migrate plan  ", "plan"),
        ("migrate import", "import"),
        ("import again  ", "import"),
    ] {
        let again = label.starts_with("import again");
        let started = Instant::now();
        let mut child = Command::new(&binary)
            .env("SI_DATABASE_URL", database_url)
            .env("SI_LOG_FILTER", "warn")
            .args(["migrate", step, "--report"])
            .arg(dir.join("report"))
            .args(&files)
            .stdout(std::process::Stdio::piped())
            .spawn()?;
        let mut peak_kib = 0u64;
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break status;
            }
            if let Ok(status) = std::fs::read_to_string(format!("/proc/{}/status", child.id())) {
                let hwm = status
                    .lines()
                    .find_map(|l| l.strip_prefix("VmHWM:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok());
                peak_kib = peak_kib.max(hwm.unwrap_or(0));
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let seconds = started.elapsed().as_secs_f64();
        if !status.success() {
            return Err(format!("migrate {step} failed ({status}); its error is above").into());
        }
        let mut said = String::new();
        child
            .stdout
            .take()
            .ok_or("no stdout")?
            .read_to_string(&mut said)?;
        let wrote_nothing = said.contains("Imported: 0 new accounts and 0 new memberships");
        if step == "import" && !again && said.contains("Imported: 0 new accounts") {
            return Err("the import found every row there already: measure on an empty database".into());
        }
        if again && !wrote_nothing {
            return Err(format!("the second import wrote rows again: {said}").into());
        }
        println!(
            "{label} {seconds:>7.1} s  {:>9.0} rows/s  peak memory {:>6.0} MiB",
            rows as f64 / seconds,
            peak_kib as f64 / 1024.0
        );
    }
    Ok(())
}

/// Brings the database at `url` to the service's schema with the release
/// binary, which it returns.
fn create_schema(url: &str) -> Result<PathBuf, Error> {
    let binary = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/release/single-identity");
    let migrate = Command::new(&binary)
        .env("SI_DATABASE_URL", url)
        .args(["db", "migrate"])
        .output()?;
    if !migrate.status.success() {
        return Err(String::from_utf8_lossy(&migrate.stderr).into_owned().into());
    }
    Ok(binary)
}

/// Members per transaction, as `migrate import` writes them.
const CEILING_BATCH: u64 = 20_000;

/// Where the rows of [`ceiling`] go.
#[derive(Clone, Copy, PartialEq)]
enum Load {
    /// Into the service's tables, every index and constraint checked per row.
    Constrained,
    /// Into copies of those tables without any index or constraint, which
    /// are built and checked once afterwards: the fastest a load that kept
    /// the service off the tables could be.
    IndexesAfter,
}

impl Load {
    fn table(self, name: &str) -> String {
        match self {
            Load::Constrained => name.to_owned(),
            Load::IndexesAfter => format!("bare_{name}"),
        }
    }

    /// The import's skip of rows an earlier run wrote; without the unique
    /// indexes there is nothing to skip against.
    fn on_conflict(self, columns: &str) -> String {
        match self {
            Load::Constrained => format!("ON CONFLICT ({columns}) DO NOTHING"),
            Load::IndexesAfter => String::new(),
        }
    }
}

/// How [`ceiling`] picks account ids.
#[derive(Clone, Copy, PartialEq)]
enum Ids {
    /// At random, as the service does: every id lands somewhere else in the
    /// indexes that hold it.
    Random,
    /// Rising in the order the accounts are made (a counter, then random
    /// bits, as a ULID has its time first): each lands at the end of them.
    Ordered,
}

const CEILING_TABLES: [&str; 3] = ["accounts", "migrated_accounts", "memberships"];

async fn ceiling(database_url: &str, members: u64, load: Load, ids: Ids) -> Result<(), Error> {
    create_schema(database_url)?;
    let store = Store::connect_for(database_url, Arc::new(SystemClock), Workload::BulkLoad).await?;
    catalogue(&store, &library_code(0)).await?;
    let db = store.connection();
    if load == Load::IndexesAfter {
        for table in CEILING_TABLES {
            db.execute_unprepared(&format!(
                "CREATE TABLE {} AS SELECT * FROM {table} WHERE false",
                load.table(table)
            ))
            .await?;
        }
    }
    let backend = store.backend();
    // Side by side on PostgreSQL, one at a time on SQLite, as the import writes.
    let writers = match backend {
        Backend::Postgres => 2,
        Backend::Sqlite => 1,
    };
    println!(
        "{members} members, database {} alone",
        si_store::redact_url(database_url)
    );
    let started = Instant::now();
    let mut writing = tokio::task::JoinSet::new();
    for writer in 0..writers {
        let store = store.clone();
        writing.spawn(async move {
            let firsts = (writer * CEILING_BATCH..members).step_by((writers * CEILING_BATCH) as usize);
            for first in firsts {
                let batch = ceiling_batch(backend, load, ids, first, (first + CEILING_BATCH).min(members));
                let txn = store.connection().begin().await?;
                for statement in batch {
                    txn.execute_unprepared(&statement).await?;
                }
                txn.commit().await?;
            }
            Ok::<_, DbErr>(())
        });
    }
    while let Some(written) = writing.join_next().await {
        written??;
    }
    let loaded = started.elapsed().as_secs_f64();
    if load == Load::IndexesAfter {
        println!("rows loaded     {loaded:>7.1} s");
        build_and_check(db, load).await?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let count = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT COUNT(*) AS n FROM {}", load.table("memberships")),
        ))
        .await?
        .ok_or("no count")?
        .try_get::<i64>("", "n")?;
    if count as u64 != members {
        return Err(format!("{count} memberships written, not {members}").into());
    }
    println!(
        "database alone  {seconds:>7.1} s  {:>9.0} rows/s",
        members as f64 / seconds
    );
    Ok(())
}

/// The indexes of the service's three tables, built on the bare copies, and
/// each reference checked in one query.
async fn build_and_check(db: &sea_orm::DatabaseConnection, load: Load) -> Result<(), Error> {
    let [accounts, migrated, memberships] = CEILING_TABLES.map(|t| load.table(t));
    for statement in [
        format!("CREATE UNIQUE INDEX bare_accounts_id ON {accounts} (id)"),
        format!("CREATE UNIQUE INDEX bare_accounts_username ON {accounts} (username)"),
        format!("CREATE INDEX bare_accounts_email ON {accounts} (email)"),
        format!("CREATE UNIQUE INDEX bare_migrated_id ON {migrated} (account_id)"),
        format!("CREATE INDEX bare_migrated_announced ON {migrated} (announced_at)"),
        format!("CREATE INDEX bare_migrated_went_live ON {migrated} (went_live_at)"),
        format!("CREATE UNIQUE INDEX bare_memberships_id ON {memberships} (id)"),
        format!("CREATE UNIQUE INDEX bare_memberships_card ON {memberships} (library_id, card_number)"),
        format!("CREATE INDEX bare_memberships_account ON {memberships} (account_id)"),
    ] {
        db.execute_unprepared(&statement).await?;
    }
    for (rows, column, referenced) in [
        (&memberships, "account_id", accounts.as_str()),
        (&migrated, "account_id", accounts.as_str()),
        (&memberships, "library_id", "libraries"),
        (&memberships, "branch_id", "branches"),
        (&memberships, "subscription_type_id", "subscription_types"),
    ] {
        let missing = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                format!(
                    "SELECT COUNT(*) AS n FROM {rows} AS r WHERE NOT EXISTS \
                     (SELECT 1 FROM {referenced} AS t WHERE t.id = r.{column})"
                ),
            ))
            .await?
            .ok_or("no count")?
            .try_get::<i64>("", "n")?;
        if missing != 0 {
            return Err(format!("{missing} rows of {rows} refer to no row of {referenced}").into());
        }
    }
    Ok(())
}

/// The statements of one batch, members `first..last`: each an account with
/// random id, username and e-mail (so they land all over the indexes, as
/// the import's do), its `migrated_accounts` row and one membership. (`WHERE
/// true`: SQLite reads `ON CONFLICT` after a bare `FROM` as a join's `ON`.)
fn ceiling_batch(backend: Backend, load: Load, ids: Ids, first: u64, last: u64) -> Vec<String> {
    let (numbers, random_hex) = match backend {
        Backend::Sqlite => (
            format!(
                "WITH RECURSIVE numbers(n) AS (SELECT {first} UNION ALL SELECT n + 1 FROM numbers WHERE n < {}) \
                 SELECT n, {} AS id FROM numbers",
                last - 1,
                match ids {
                    Ids::Random => "lower(hex(randomblob(16)))",
                    Ids::Ordered => "printf('%016x', n) || lower(hex(randomblob(8)))",
                }
            ),
            "lower(hex(randomblob(8)))",
        ),
        Backend::Postgres => (
            format!(
                "SELECT n, {} AS id FROM generate_series({first}, {}) AS n",
                match ids {
                    Ids::Random => "md5(random()::text)",
                    Ids::Ordered => "lpad(to_hex(n), 16, '0') || substr(md5(random()::text), 1, 16)",
                },
                last - 1
            ),
            "md5(random()::text)",
        ),
    };
    let drop_batch = match backend {
        Backend::Sqlite => "DROP TABLE temp.batch",
        Backend::Postgres => "DROP TABLE batch",
    };
    let [accounts, migrated, memberships] = CEILING_TABLES.map(|t| load.table(t));
    vec![
        format!("CREATE TEMP TABLE batch AS {numbers}"),
        format!(
            "INSERT INTO {accounts} (id, username, email, password_hash, status, language, created_at, updated_at) \
             SELECT id, 'u' || substr({random_hex}, 1, 6) || n, substr({random_hex}, 1, 10) || '@example.nl', \
             '$2b$10$' || id || substr(id, 1, 21), 'pending', 'nl', 0, 0 FROM batch WHERE true {}",
            load.on_conflict("id")
        ),
        format!(
            "INSERT INTO {migrated} (account_id, old_username, username_outcome) \
             SELECT id, 'emma', 'taken' FROM batch WHERE true {}",
            load.on_conflict("account_id")
        ),
        format!(
            "INSERT INTO {memberships} (id, library_id, branch_id, card_number, member_name, birth_date, email, \
             subscription_type_id, valid_until, account_id, created_at) \
             SELECT n, l.id, b.id, CAST(20000000000000 + n AS TEXT), 'Emma de Jong', '2015-03-04', \
             'ouders@example.nl', s.id, '2027-06-30', batch.id, 0 \
             FROM batch, libraries AS l JOIN branches AS b ON b.library_id = l.id \
             JOIN subscription_types AS s ON s.library_id = l.id AND s.code = 'JEUGD' WHERE true {}",
            load.on_conflict("library_id, card_number")
        ),
        drop_batch.to_owned(),
    ]
}

fn count_rows(files: &[PathBuf]) -> Result<u64, Error> {
    let mut rows = 0;
    for file in files {
        let text = std::fs::read(file)?;
        rows += text.iter().filter(|b| **b == b'\n').count() as u64 - 1;
    }
    Ok(rows)
}

async fn catalogue(store: &Store, code: &str) -> Result<(), Error> {
    let catalogue = store.catalogue();
    let code = LibraryCode::parse(code)?;
    if catalogue.library(&code).await.is_ok() {
        return Ok(());
    }
    catalogue
        .create_library(&code, &DisplayName::parse(&format!("Bibliotheek {code}"))?)
        .await?;
    catalogue
        .create_branch(
            &code,
            &BranchCode::parse("0001")?,
            &DisplayName::parse("Centrale")?,
        )
        .await?;
    for (subscription, tariff, ages, fee) in [
        ("JEUGD", "J01", AgeRange::new(0, Some(17))?, 0),
        ("VOLWASSEN", "V01", AgeRange::new(18, None)?, 5_250),
    ] {
        let new = NewSubscriptionType {
            code: SubscriptionCode::parse(subscription)?,
            name: DisplayName::parse(subscription)?,
            tariff_code: TariffCode::parse(tariff)?,
            terms: SubscriptionTerms::new(Money::from_cents(fee)?, 12, ages)?,
        };
        catalogue.create_subscription_type(&code, &new).await?;
    }
    Ok(())
}
