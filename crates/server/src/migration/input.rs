//! Reading the old portals' exports: CSV with a header or JSON Lines, one
//! row per registration. Every row is checked against the rules and the
//! catalogue; a bad row becomes a [`Rejection`] with its file, line and
//! reason, and the rows after it are read as usual.

use std::{
    collections::HashMap,
    fs::File,
    io::{BufRead, BufReader},
    ops::ControlFlow,
    path::{Path, PathBuf},
};

use serde::Deserialize;
use si_credentials::HashFormat;
use si_domain::{CardNumber, DisplayName, Email, LibraryCode, Username};
use si_store::{Repositories, Store, StoreError};
use time::{
    Date, OffsetDateTime, PrimitiveDateTime, Time,
    format_description::well_known::{Iso8601, Rfc3339},
};

/// One row as exported; every column but the first two may be empty.
#[derive(Debug, Default, Deserialize)]
struct Exported {
    library_code: String,
    card_number: String,
    #[serde(default)]
    branch: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password_hash: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    birth_date: String,
    #[serde(default)]
    subscription_type: String,
    #[serde(default)]
    valid_until: String,
    #[serde(default)]
    last_login: String,
}

/// Where a row came from: the file (as given) and its line, counting the header as line 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source {
    pub file: usize,
    pub line: u64,
}

/// A row that passed every check.
#[derive(Debug, Clone)]
pub struct Row {
    pub source: Source,
    pub library: usize,
    pub branch_id: i64,
    pub subscription_type_id: i64,
    pub card: CardNumber,
    /// The portal username exactly as exported, when there was one.
    pub old_username: Option<String>,
    pub password_hash: Option<String>,
    /// Why an exported hash is not kept (the member must use "Wachtwoord vergeten").
    pub hash_problem: Option<String>,
    pub email: Option<Email>,
    /// Why an exported address is not kept.
    pub email_problem: Option<String>,
    pub name: DisplayName,
    pub birth_date: Date,
    pub valid_until: Date,
    pub last_login: Option<OffsetDateTime>,
}

/// A row that cannot be imported, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub source: Source,
    pub reason: String,
}

/// The libraries, branches and subscription types rows refer to.
pub struct Catalogue {
    pub libraries: Vec<LibraryEntry>,
    by_code: HashMap<String, usize>,
}

pub struct LibraryEntry {
    pub id: i64,
    pub code: LibraryCode,
    /// Branch code → id; the first by code serves rows without a branch.
    branches: Vec<(String, i64)>,
    subscriptions: HashMap<String, i64>,
}

impl Catalogue {
    pub async fn load(store: &Store) -> Result<Self, StoreError> {
        let catalogue = store.catalogue();
        let mut libraries = Vec::new();
        for library in catalogue.libraries().await? {
            let branches = catalogue
                .branches(&library.code)
                .await?
                .into_iter()
                .map(|b| (b.code.to_string(), b.id))
                .collect();
            let subscriptions = catalogue
                .subscription_types(&library.code)
                .await?
                .into_iter()
                .map(|s| (s.code.to_string(), s.id))
                .collect();
            libraries.push(LibraryEntry {
                id: library.id,
                code: library.code,
                branches,
                subscriptions,
            });
        }
        let by_code = libraries
            .iter()
            .enumerate()
            .map(|(index, l)| (l.code.to_string(), index))
            .collect();
        Ok(Self { libraries, by_code })
    }
}

/// Reads every file in turn and hands each row, checked, to `each`, until
/// `each` breaks off.
pub fn read(
    files: &[PathBuf],
    catalogue: &Catalogue,
    mut each: impl FnMut(Result<Row, Rejection>) -> ControlFlow<()>,
) -> std::io::Result<()> {
    for (file, path) in files.iter().enumerate() {
        let checked = |line: u64, exported: Result<Exported, String>| {
            let source = Source { file, line };
            exported
                .and_then(|exported| check(source, exported, catalogue))
                .map_err(|reason| Rejection { source, reason })
        };
        if is_json_lines(path) {
            let reader = BufReader::new(File::open(path)?);
            for (index, line) in reader.lines().enumerate() {
                let line_number = index as u64 + 1;
                let text = line?;
                if text.trim().is_empty() {
                    continue;
                }
                let exported =
                    serde_json::from_str::<Exported>(&text).map_err(|e| format!("not a JSON row: {e}"));
                if each(checked(line_number, exported)).is_break() {
                    return Ok(());
                }
            }
        } else {
            let mut reader = csv::ReaderBuilder::new().flexible(true).from_path(path)?;
            let headers = reader.headers().map_err(std::io::Error::other)?.clone();
            let mut record = csv::StringRecord::new();
            loop {
                match reader.read_record(&mut record) {
                    Ok(false) => break,
                    Ok(true) => {
                        let line = record.position().map_or(0, |p| p.line());
                        let exported = record
                            .deserialize::<Exported>(Some(&headers))
                            .map_err(|e| format!("not a valid CSV row: {e}"));
                        if each(checked(line, exported)).is_break() {
                            return Ok(());
                        }
                    }
                    Err(error) if error.is_io_error() => return Err(std::io::Error::other(error)),
                    Err(error) => {
                        let line = error.position().map_or(0, |p| p.line());
                        if each(checked(line, Err(format!("not a valid CSV row: {error}")))).is_break() {
                            return Ok(());
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

fn is_json_lines(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("jsonl" | "ndjson")
    )
}

fn check(source: Source, exported: Exported, catalogue: &Catalogue) -> Result<Row, String> {
    let code = LibraryCode::parse(&exported.library_code)
        .map_err(|_| format!("library code {:?} is not valid", exported.library_code))?;
    let library = *catalogue
        .by_code
        .get(code.as_str())
        .ok_or_else(|| format!("library {code} is not in the catalogue"))?;
    let entry = &catalogue.libraries[library];
    let branch = exported.branch.trim();
    let branch_id = if branch.is_empty() {
        entry.branches.first().map(|(_, id)| *id)
    } else {
        entry
            .branches
            .iter()
            .find(|(c, _)| c == branch)
            .map(|(_, id)| *id)
    }
    .ok_or_else(|| format!("library {code} has no branch {branch:?}"))?;
    let card = CardNumber::parse(&exported.card_number).map_err(|_| {
        format!(
            "card number {:?} is not 4 to 32 letters or digits",
            exported.card_number
        )
    })?;
    let subscription_type_id = *entry
        .subscriptions
        .get(exported.subscription_type.trim())
        .ok_or_else(|| {
            format!(
                "library {code} has no subscription type {:?}",
                exported.subscription_type
            )
        })?;
    let name = DisplayName::parse(&exported.name).map_err(|_| "the name is empty or not valid".to_owned())?;
    let birth_date = date(&exported.birth_date)
        .ok_or_else(|| format!("birth date {:?} is not YYYY-MM-DD", exported.birth_date))?;
    let valid_until = date(&exported.valid_until)
        .ok_or_else(|| format!("valid until {:?} is not YYYY-MM-DD", exported.valid_until))?;
    let last_login = match exported.last_login.trim() {
        "" => None,
        text => {
            Some(moment(text).ok_or_else(|| format!("last login {text:?} is not a date or RFC 3339 time"))?)
        }
    };
    let (email, email_problem) = match exported.email.trim() {
        "" => (None, None),
        text => match Email::parse(text) {
            Ok(email) => (Some(email), None),
            Err(_) => (None, Some(format!("e-mail address {text:?} is not valid"))),
        },
    };
    let (password_hash, hash_problem) = match exported.password_hash.trim() {
        "" => (None, None),
        hash => match HashFormat::detect(hash) {
            Ok(_) => (Some(hash.to_owned()), None),
            Err(error) => (None, Some(format!("password hash not usable: {error}"))),
        },
    };
    let old_username = Some(exported.username.trim().to_owned()).filter(|u| !u.is_empty());
    Ok(Row {
        source,
        library,
        branch_id,
        subscription_type_id,
        card,
        old_username,
        password_hash,
        hash_problem,
        email,
        email_problem,
        name,
        birth_date,
        valid_until,
        last_login,
    })
}

fn date(text: &str) -> Option<Date> {
    Date::parse(text.trim(), &Iso8601::DATE).ok()
}

/// An RFC 3339 time, a plain `YYYY-MM-DD HH:MM:SS` (taken as UTC) or a date.
fn moment(text: &str) -> Option<OffsetDateTime> {
    if let Ok(moment) = OffsetDateTime::parse(text, &Rfc3339) {
        return Some(moment);
    }
    let plain = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    if let Ok(moment) = PrimitiveDateTime::parse(text, plain) {
        return Some(moment.assume_utc());
    }
    date(text).map(|d| PrimitiveDateTime::new(d, Time::MIDNIGHT).assume_utc())
}

/// The username rule of today, for an old name.
pub fn allowed_username(old: &str) -> Option<Username> {
    Username::parse(old).ok().filter(|u| u.as_str() == old)
}
