//! The plan's report: a summary for the screen and one CSV file per thing
//! that would otherwise go unnoticed on go-live day: renamed accounts,
//! merged accounts, accounts that may be one person's, rejected rows, rows
//! changed since an import, members who get no mail and members who must
//! use "Wachtwoord vergeten".

use std::{
    borrow::Cow,
    fmt, fs,
    os::unix::fs::{DirBuilderExt, OpenOptionsExt},
    path::{Path, PathBuf},
};

use si_store::legacy_import::UsernameOutcome;

use super::{
    Catalogue, MigrationError, Plan,
    plan::{Candidate, Presence},
};

/// The counts the screen shows.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub rows: u64,
    pub rejected: u64,
    /// Rows whose card an earlier import holds with other details.
    pub changed_since_import: u64,
    pub accounts: u64,
    pub merged_accounts: u64,
    /// Accounts with the name and birth date of an account listed before.
    pub possible_duplicates: u64,
    pub kept: u64,
    pub renamed: u64,
    pub without_email: u64,
    pub without_password: u64,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "rows read:                    {}", self.rows)?;
        writeln!(f, "rows rejected:                {}", self.rejected)?;
        writeln!(f, "rows changed since imported:  {}", self.changed_since_import)?;
        writeln!(f, "accounts:                     {}", self.accounts)?;
        writeln!(f, "  of several memberships:     {}", self.merged_accounts)?;
        writeln!(f, "  same name and birth date:   {}", self.possible_duplicates)?;
        writeln!(f, "  old username kept:          {}", self.kept)?;
        writeln!(f, "  given a new username:       {}", self.renamed)?;
        writeln!(f, "  without e-mail (no mail):   {}", self.without_email)?;
        write!(f, "  without password:           {}", self.without_password)
    }
}

fn presence(state: Presence) -> &'static str {
    match state {
        Presence::Usable => "",
        Presence::Missing => "missing",
        Presence::Unusable => "not valid",
    }
}

/// One CSV file of the report. The files are meant for a spreadsheet, and a
/// legacy username is whatever the old portal let through: a cell that
/// starts with `=`, `+`, `-` or `@` is written with a leading apostrophe,
/// so that a spreadsheet shows it as text instead of running it as a
/// formula (OWASP: CSV injection), and characters that do not show
/// themselves (a tab, a right-to-left override) are written as their codes.
///
/// The files name members, so only their owner may read them. Each is
/// written beside its place and moved there when all are complete: a run
/// that stops while writing them leaves the last complete report.
struct ReportFile {
    writer: csv::Writer<fs::File>,
    partial: PathBuf,
    path: PathBuf,
}

impl ReportFile {
    fn create(dir: &Path, name: &str, header: &[&str]) -> Result<Self, MigrationError> {
        let partial = dir.join(format!(".{name}.partial"));
        // One a stopped run left keeps its mode when opened: start anew.
        match fs::remove_file(&partial) {
            Err(source) if source.kind() != std::io::ErrorKind::NotFound => {
                return Err(report_error(&partial, source));
            }
            _ => {}
        }
        // A new file, never one (or a link) that appeared meanwhile: in a
        // directory others can write to, a link planted there would have
        // the report overwrite whatever it points at.
        let file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&partial)
            .map_err(|source| report_error(&partial, source))?;
        let mut file = Self {
            writer: csv::Writer::from_writer(file),
            partial,
            path: dir.join(name),
        };
        file.row(header)?;
        Ok(file)
    }

    fn row(&mut self, cells: &[&str]) -> Result<(), MigrationError> {
        let failed = |e: csv::Error| report_error(&self.partial, e.into());
        for cell in cells {
            self.writer
                .write_field(as_text(cell).as_bytes())
                .map_err(failed)?;
        }
        self.writer.write_record(None::<&[u8]>).map_err(failed)
    }

    /// Writes out the rest; the file stays beside its place.
    fn complete(self) -> Result<(PathBuf, PathBuf), MigrationError> {
        let file = self
            .writer
            .into_inner()
            .map_err(|e| report_error(&self.partial, e.into_error()))?;
        file.sync_all()
            .map_err(|source| report_error(&self.partial, source))?;
        Ok((self.partial, self.path))
    }
}

fn report_error(path: &Path, source: std::io::Error) -> MigrationError {
    MigrationError::Report {
        path: path.to_owned(),
        source,
    }
}

fn as_text(cell: &str) -> Cow<'_, str> {
    let cell = with_invisibles_shown(cell);
    if cell.starts_with(['=', '+', '-', '@']) {
        Cow::Owned(format!("'{cell}"))
    } else {
        cell
    }
}

/// The cell with each character that changes how text looks without
/// showing itself (a right-to-left override, a zero-width space) written as
/// its code, `\u{202e}`: an old username holding one would otherwise show
/// in the spreadsheet as another.
fn with_invisibles_shown(cell: &str) -> Cow<'_, str> {
    if !cell.contains(is_invisible) {
        return Cow::Borrowed(cell);
    }
    Cow::Owned(
        cell.chars()
            .map(|c| match is_invisible(c) {
                true => format!("\\u{{{:x}}}", u32::from(c)),
                false => c.to_string(),
            })
            .collect(),
    )
}

/// Control characters, and the characters Unicode lists as ignorable by
/// default (bidirectional controls, zero-width and blank fillers, variation
/// selectors, tags): none shows as itself.
fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{ad}' | '\u{34f}' | '\u{61c}' | '\u{115f}'..='\u{1160}'
            | '\u{17b4}'..='\u{17b5}' | '\u{180b}'..='\u{180f}' | '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{206f}' | '\u{3164}'
            | '\u{fe00}'..='\u{fe0f}' | '\u{feff}' | '\u{ffa0}' | '\u{fff0}'..='\u{fff8}'
            | '\u{e0000}'..='\u{e0fff}')
}

/// Counts the plan and writes the CSV files into `dir`.
pub fn write(
    plan: &Plan,
    catalogue: &Catalogue,
    files: &[std::path::PathBuf],
    dir: &Path,
) -> Result<Summary, MigrationError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| report_error(dir, source))?;
    let code = |c: &Candidate| catalogue.libraries[c.library].code.to_string();

    let mut renamed = ReportFile::create(
        dir,
        "renamed.csv",
        &[
            "library_code",
            "card_number",
            "old_username",
            "new_username",
            "reason",
        ],
    )?;
    // Each membership's own old username: the ones the account does not
    // keep stop working, and their owner logs in with the one it keeps.
    let mut merged = ReportFile::create(
        dir,
        "merged.csv",
        &["username", "library_code", "card_number", "old_username"],
    )?;
    let mut no_email = ReportFile::create(
        dir,
        "no_email.csv",
        &["library_code", "card_number", "username", "e-mail"],
    )?;
    let mut no_password = ReportFile::create(
        dir,
        "no_password.csv",
        &["library_code", "card_number", "username", "password_hash"],
    )?;

    let mut summary = Summary {
        rows: (plan.candidates.len() + plan.rejections.len()) as u64,
        rejected: plan.rejections.len() as u64,
        accounts: plan.accounts.len() as u64,
        ..Summary::default()
    };
    for account in &plan.accounts {
        let primary = &plan.candidates[account.primary as usize];
        let username = plan.username(account);
        let username = username.as_str();
        if account.outcome == UsernameOutcome::Kept {
            summary.kept += 1;
        } else {
            summary.renamed += 1;
            renamed.row(&[
                code(primary).as_str(),
                primary.card.as_str(),
                plan.old_username(account).unwrap_or_default(),
                username,
                account.outcome.as_str(),
            ])?;
        }
        if primary.email != Presence::Usable {
            summary.without_email += 1;
            no_email.row(&[
                code(primary).as_str(),
                primary.card.as_str(),
                username,
                presence(primary.email),
            ])?;
        }
        if primary.password != Presence::Usable {
            summary.without_password += 1;
            no_password.row(&[
                code(primary).as_str(),
                primary.card.as_str(),
                username,
                presence(primary.password),
            ])?;
        }
        summary.merged_accounts += u64::from(account.rows > 1);
    }
    for (row, candidate) in plan.candidates.iter().enumerate() {
        let account = &plan.accounts[plan.row_account[row] as usize];
        if account.rows > 1 {
            merged.row(&[
                plan.username(account).as_str(),
                code(candidate).as_str(),
                candidate.card.as_str(),
                candidate.old_username.as_deref().unwrap_or_default(),
            ])?;
        }
    }

    let possible_duplicates = possible_duplicates(plan, catalogue, dir, &mut summary)?;
    let mut changed = ReportFile::create(
        dir,
        "changed_since_import.csv",
        &["library_code", "card_number", "changed"],
    )?;
    for &(row, what) in &plan.changed {
        let candidate = &plan.candidates[row as usize];
        changed.row(&[code(candidate).as_str(), candidate.card.as_str(), what.as_str()])?;
    }
    summary.changed_since_import = plan.changed.len() as u64;

    let mut rejected = ReportFile::create(dir, "rejected.csv", &["file", "line", "reason"])?;
    for rejection in &plan.rejections {
        let file = rejection.source.file_name(files);
        rejected.row(&[
            file.as_str(),
            rejection.source.line.to_string().as_str(),
            rejection.reason.as_str(),
        ])?;
    }
    let complete = [
        renamed,
        merged,
        possible_duplicates,
        changed,
        no_email,
        no_password,
        rejected,
    ]
    .into_iter()
    .map(ReportFile::complete)
    .collect::<Result<Vec<_>, _>>()?;
    for (partial, path) in complete {
        fs::rename(&partial, &path).map_err(|source| report_error(&partial, source))?;
    }
    Ok(summary)
}

/// The accounts with the name (any case, spacing and Unicode form) and birth date of
/// another, which the plan kept apart because no e-mail address joined
/// them: a member who moved and gave the new library another address gets
/// two accounts, and the desk may want to tell them. Each such account is
/// listed beside the first of its name and birth date, in the plan's order.
fn possible_duplicates(
    plan: &Plan,
    catalogue: &Catalogue,
    dir: &Path,
    summary: &mut Summary,
) -> Result<ReportFile, MigrationError> {
    let mut file = ReportFile::create(
        dir,
        "possible_duplicates.csv",
        &[
            "username",
            "library_code",
            "card_number",
            "same_name_and_birth_date_as_username",
            "its_library_code",
            "its_card_number",
        ],
    )?;
    // Sorted pairs rather than a map: 16 bytes an account, the least memory.
    let mut namesakes: Vec<(u64, u32)> = (plan.accounts.iter().enumerate())
        .map(|(index, account)| (plan.candidates[account.primary as usize].namesake, index as u32))
        .collect();
    namesakes.sort_unstable();
    let mut pairs: Vec<(u32, u32)> = namesakes
        .chunk_by(|a, b| a.0 == b.0)
        .flat_map(|same| same[1..].iter().map(|&(_, later)| (later, same[0].1)))
        .collect();
    drop(namesakes);
    pairs.sort_unstable();
    for (account, first) in pairs {
        let (account, first) = (&plan.accounts[account as usize], &plan.accounts[first as usize]);
        let (row, its_row) = (
            &plan.candidates[account.primary as usize],
            &plan.candidates[first.primary as usize],
        );
        file.row(&[
            plan.username(account).as_str(),
            catalogue.libraries[row.library].code.as_str(),
            row.card.as_str(),
            plan.username(first).as_str(),
            catalogue.libraries[its_row.library].code.as_str(),
            its_row.card.as_str(),
        ])?;
        summary.possible_duplicates += 1;
    }
    Ok(file)
}
