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

use std::{
    fs::File,
    io::{BufWriter, Read, Write},
    path::{Path, PathBuf},
    process::Command,
    sync::Arc,
    time::{Duration, Instant},
};

use rand::{Rng, SeedableRng, rngs::StdRng, seq::IndexedRandom};
use si_domain::{
    AgeRange, BranchCode, DisplayName, LibraryCode, Money, SubscriptionCode, SubscriptionTerms, TariffCode,
};
use si_store::{Repositories, Store, SystemClock, catalogue::NewSubscriptionType};

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
                None => {
                    // Every run imports into a new database: on one that holds
                    // the rows already, the import only skips them.
                    for file in ["bench.db", "bench.db-wal", "bench.db-shm"] {
                        match std::fs::remove_file(dir.join(file)) {
                            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                            _ => {}
                        }
                    }
                    format!("sqlite://{}/bench.db?mode=rwc", dir.display())
                }
            };
            tokio::runtime::Runtime::new()?.block_on(run(&dir, &database_url))
        }
        _ => Err("usage: migration generate --members N --libraries N --out DIR | migration run DIR [--database-url URL]".into()),
    }
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
    let binary = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/release/single-identity");
    let migrate = Command::new(&binary)
        .env("SI_DATABASE_URL", database_url)
        .args(["db", "migrate"])
        .output()?;
    if !migrate.status.success() {
        return Err(String::from_utf8_lossy(&migrate.stderr).into_owned().into());
    }
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
