//! Migrating the old per-library portal accounts on go-live day: `plan`
//! reads the exports and reports what would happen, changing nothing;
//! `import` applies the plan in batches that a second run skips, so a run
//! killed at any moment is finished by running it again; `announce` and
//! `go-live` queue the two mails, each at most once per account. The input
//! format is in `docs/migration.md`.

mod hash_costs;
mod input;
mod plan;
mod report;

use std::{
    collections::{HashMap, HashSet},
    ops::ControlFlow,
    path::PathBuf,
    sync::Arc,
};

use si_domain::{AccountId, CardNumber, Username};
use si_store::{
    Backend, Repositories, Store, StoreError,
    legacy_import::{
        DroppedUsername, ImportBatch, ImportedAccount, ImportedMembership, Inserted, MergedLogins, Stage,
        UsernameOutcome,
    },
};
use time::Date;

use hash_costs::HashSettings;
pub use hash_costs::{HashTimes, time as time_hashes};
pub use input::Catalogue;
use input::{Rejection, Row, Source, read};
pub use plan::Plan;
use plan::{Candidate, Changed, EarlierImports, SeenCards, account_id, changed_from};
pub use report::{Summary, write as report};

use crate::{
    http::i18n::Language,
    mail::{self, Mail, RenameReason, UsernameChange},
    oidc::keys::SealingKey,
};

/// How many memberships one import transaction writes.
const BATCH_ROWS: usize = 20_000;
/// How many accounts one round of go-live mail takes.
const MAIL_BATCH: u64 = 1_000;

#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("cannot write the report {}: {source}", path.display())]
    Report { path: PathBuf, source: std::io::Error },
    #[error(
        "the go-live date {0} is in the past: the announcement names it, and each member gets it only once"
    )]
    GoLiveInThePast(Date),
    /// The desk made an account while the import ran, with a username the
    /// plan gave (the card number of a card it had just registered): the
    /// batch that met it wrote nothing.
    #[error(
        "a username this import gives was taken while it ran (the desk made an account meanwhile); what was imported stays: run the same `migrate import` again, which plans anew, leaves the taken ones out and lists them in rejected.csv"
    )]
    UsernameTakenMeanwhile,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reads every file and makes the plan (the first pass).
pub async fn plan(store: &Store, files: &[PathBuf]) -> Result<(Plan, Catalogue), MigrationError> {
    let catalogue = Catalogue::load(store).await?;
    let mut candidates = Vec::new();
    let mut rejections = Vec::new();
    let mut seen = SeenCards::default();
    let mut hash_settings = HashSettings::default();
    let registered = store.legacy_import().cards_registered().await?;
    let is_registered = |row: &Row| {
        registered
            .get(&catalogue.libraries[row.library].id)
            .is_some_and(|cards| cards.contains(row.card.as_str()))
    };
    let rejection = |row: &Row, why: &str| Rejection {
        source: row.source,
        reason: format!(
            "card number {} of library {} {why}",
            row.card, catalogue.libraries[row.library].code
        ),
        card: None,
    };
    // The cards of rejected rows no row before them holds: the first row
    // of a card decides, so a later one waits until that row is fixed.
    let mut rejected_cards: HashMap<(usize, CardNumber), Source> = HashMap::new();
    let read_error = |source| MigrationError::Read {
        path: files_named(files),
        source,
    };
    read(files, &catalogue, |row| {
        match row {
            Ok(row) if is_registered(&row) => rejections.push(rejection(
                &row,
                "is registered already, not by the migration: that registration stays and this row is not imported",
            )),
            Ok(row) => match rejected_cards.get(&(row.library, row.card.clone())) {
                Some(first) => rejections.push(rejection(
                    &row,
                    &format!(
                        "is on {} line {} too, which is rejected: the first row of a card decides, \
                         so this row is not imported until that one is fixed or removed",
                        first.file_name(files),
                        first.line
                    ),
                )),
                None if seen.repeats(&candidates, &row) => rejections.push(rejection(
                    &row,
                    "is on an earlier row too; this row is not imported",
                )),
                None => {
                    hash_settings.count(&row);
                    candidates.push(Candidate::of(&row));
                }
            },
            Err(rejected) => {
                if let Some((library, card)) = &rejected.card
                    && seen.find(&candidates, *library, card.as_str()).is_none()
                {
                    rejected_cards
                        .entry((*library, card.clone()))
                        .or_insert(rejected.source);
                }
                rejections.push(rejected);
            }
        }
        ControlFlow::Continue(())
    })
    .map_err(read_error)?;
    let in_use = store.legacy_import().usernames_in_use().await?;
    let codes: Vec<String> = catalogue.libraries.iter().map(|l| l.code.to_string()).collect();
    let (earlier, changed) = earlier_imports(store, &catalogue, &codes, (&candidates, &seen)).await?;
    drop(seen);
    let mut plan = Plan::make(candidates, rejections, &in_use, &earlier, &codes);
    plan.changed = changed;
    plan.hash_settings = hash_settings;
    let (mut plan, mut elsewhere) = without_rows_imported_elsewhere(plan, &in_use, &earlier, &codes);
    if !elsewhere.is_empty() {
        // Candidates keep no file and line (memory): those few rows are read again.
        let mut found = Vec::new();
        read(files, &catalogue, |row| {
            if let Ok(row) = row
                && elsewhere.remove(&(row.library, row.card.clone()))
            {
                found.push(row);
            }
            ControlFlow::Continue(())
        })
        .map_err(read_error)?;
        if !elsewhere.is_empty() {
            return Err(read_error(std::io::Error::other(
                "the exports changed while the plan read them; nothing was changed: make the plan again",
            )));
        }
        for row in found {
            let holder = holder_of_card(store, &catalogue, &row).await?;
            plan.rejections.push(rejection(
                &row,
                &format!(
                    "is in the account {holder} since an earlier import, and the rows as they are now \
                     would put it in another (an e-mail address, name or birth date has changed, or a \
                     row of the same person is missing): an import moves no card, so it stays there and \
                     this row is not imported"
                ),
            ));
        }
        plan.rejections
            .sort_by_key(|rejection| (rejection.source.file, rejection.source.line));
    }
    Ok((plan, catalogue))
}

/// The username of the account the row's card is in.
async fn holder_of_card(store: &Store, catalogue: &Catalogue, row: &Row) -> Result<String, MigrationError> {
    let library = store
        .catalogue()
        .library(&catalogue.libraries[row.library].code)
        .await?;
    let membership = store.memberships().by_card(&library, &row.card).await?;
    let account = match membership.and_then(|membership| membership.account) {
        Some(id) => store.accounts().by_id(&id).await?,
        None => None,
    };
    // Only a card moved by the desk since the plan's first reading has none.
    Ok(account.map_or_else(|| "?".to_owned(), |account| account.username.as_str().to_owned()))
}

/// Takes out the rows whose card an earlier run put in another account, and
/// makes the plan again without them (the accounts they were in may change,
/// and with them where other rows go); returns their library and card.
fn without_rows_imported_elsewhere(
    mut plan: Plan,
    in_use: &HashSet<String>,
    earlier: &EarlierImports,
    codes: &[String],
) -> (Plan, HashSet<(usize, CardNumber)>) {
    let mut elsewhere = HashSet::new();
    loop {
        let rows: HashSet<u32> = plan.imported_elsewhere(earlier, codes).into_iter().collect();
        if rows.is_empty() {
            return (plan, elsewhere);
        }
        let Plan {
            mut candidates,
            rejections,
            accounts,
            row_account,
            mut changed,
            hash_settings,
        } = plan;
        // Before the plan is made again, which makes its own: at 3.6 million
        // rows they weigh 80 MiB.
        drop((accounts, row_account));
        elsewhere.extend(rows.iter().map(|&row| {
            let candidate = &candidates[row as usize];
            (candidate.library, candidate.card.clone())
        }));
        let mut index = 0;
        candidates.retain(|_| {
            index += 1;
            !rows.contains(&(index - 1))
        });
        // The changed rows by their places without the rows taken out, which
        // are rejected with the reason why and not listed as changed too.
        let mut taken_out: Vec<u32> = rows.iter().copied().collect();
        taken_out.sort_unstable();
        changed.retain_mut(|(row, _)| {
            let before = taken_out.partition_point(|&out| out < *row);
            let kept = taken_out.get(before) != Some(row);
            *row -= before as u32;
            kept
        });
        plan = Plan::make(candidates, rejections, in_use, earlier, codes);
        plan.changed = changed;
        plan.hash_settings = hash_settings;
    }
}

/// What earlier runs of the import made, when one has run, and the rows
/// (`rows` read so far, and where each card is among them) whose card a
/// run made holds with another name, birth date or address.
async fn earlier_imports(
    store: &Store,
    catalogue: &Catalogue,
    codes: &[String],
    (rows, seen): (&[Candidate], &SeenCards),
) -> Result<(EarlierImports, Vec<(u32, Changed)>), MigrationError> {
    let Some(salt) = store.legacy_import().salt_if_made().await? else {
        return Ok((EarlierImports::default(), Vec::new()));
    };
    let accounts = store.legacy_import().account_count().await?;
    let mut earlier = EarlierImports::new(salt, accounts as usize);
    store
        .legacy_import()
        .each_account_username(|name, account| earlier.insert(name, account))
        .await?;
    let library_of: HashMap<i64, usize> = (catalogue.libraries.iter().enumerate())
        .map(|(index, library)| (library.id, index))
        .collect();
    let mut changed = Vec::new();
    store
        .legacy_import()
        .each_membership_account(|held| {
            let Some(&library) = library_of.get(&held.library) else {
                return;
            };
            earlier.place(library, &codes[library], held.card, held.account);
            let Some(row) = seen.find(rows, library, held.card) else {
                return;
            };
            if let Some(what) = changed_from(&rows[row as usize], held.name, held.birth_date, held.email) {
                changed.push((row, what));
            }
        })
        .await?;
    Ok((earlier, changed))
}

fn files_named(files: &[PathBuf]) -> String {
    files
        .iter()
        .map(|f| f.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// What an import wrote; rows an earlier run wrote are not counted again.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Imported {
    pub accounts: u64,
    pub memberships: u64,
    /// Accounts not made after all: every card of theirs was registered at
    /// the desk while the import ran.
    pub left_out: u64,
}

/// Applies the plan (the second pass): each account goes in with all its
/// memberships in one transaction; what an earlier run wrote is skipped.
/// The files are read on a blocking thread while the database writes, with
/// at most a few batches in between, so memory stays bounded. `progress`
/// hears of every membership written.
pub async fn import(
    store: &Store,
    files: Vec<PathBuf>,
    plan: Arc<Plan>,
    catalogue: Arc<Catalogue>,
    progress: impl Fn(u64),
) -> Result<Imported, MigrationError> {
    let salt = store.legacy_import().salt().await?;
    let (backend, clock) = (store.backend(), store.clock().clone());
    let (batches, mut ready) = tokio::sync::mpsc::channel::<Ready>(1);
    let named = files_named(&files);
    let reader = tokio::task::spawn_blocking(move || {
        let mut batch = Batch::default();
        let mut waiting: HashMap<u32, Vec<(u32, Row)>> = HashMap::new();
        let mut next_row = 0u32;
        // A send fails only when the writers have stopped (one failed and the
        // import returns its error): the reading stops too.
        let send = |batch: Batch| {
            let ready = Ready {
                memberships: batch.memberships.len() as u64,
                statements: ImportBatch::build(backend, clock.now(), batch.accounts, batch.memberships),
            };
            match batches.blocking_send(ready) {
                Ok(()) => ControlFlow::Continue(()),
                Err(_) => ControlFlow::Break(()),
            }
        };
        read(&files, &catalogue, |row| {
            let Ok(row) = row else {
                return ControlFlow::Continue(());
            };
            // Only the rows the plan took: a card number's repeat is not among them.
            let is_next = plan
                .candidates
                .get(next_row as usize)
                .is_some_and(|next| next.library == row.library && next.card == row.card);
            if !is_next {
                return ControlFlow::Continue(());
            }
            let index = next_row;
            next_row += 1;
            let account = plan.row_account[index as usize];
            let expected = plan.accounts[account as usize].rows as usize;
            let group = if expected == 1 {
                vec![(index, row)]
            } else {
                let rows = waiting.entry(account).or_default();
                rows.push((index, row));
                if rows.len() < expected {
                    return ControlFlow::Continue(());
                }
                waiting.remove(&account).unwrap_or_default()
            };
            batch.add(&plan, &catalogue, &salt, account, group);
            if batch.memberships.len() >= BATCH_ROWS {
                return send(std::mem::take(&mut batch));
            }
            ControlFlow::Continue(())
        })?;
        if !batch.accounts.is_empty() {
            let _ = send(batch);
        }
        // Only when a file changed between the plan's reading and this one.
        if next_row as usize != plan.candidates.len() || !waiting.is_empty() {
            return Err(std::io::Error::other(
                "the exports changed while the import read them; nothing is lost: run the import again",
            ));
        }
        Ok::<_, std::io::Error>(())
    });
    // PostgreSQL writes batches side by side, a backend each; SQLite has one
    // writer at a time anyway.
    let writers = match backend {
        Backend::Postgres => 2,
        Backend::Sqlite => 1,
    };
    let mut imported = Imported::default();
    let mut writing = tokio::task::JoinSet::new();
    let mut account_for = |joined: Result<Result<Written, StoreError>, tokio::task::JoinError>| {
        // A writer that panicked panics here. None is cancelled while this
        // runs; on an early return the other's transaction rolls back.
        let written = joined
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
            .map_err(|error| match error {
                StoreError::Duplicate { what: "username" } => MigrationError::UsernameTakenMeanwhile,
                other => other.into(),
            })?;
        imported.accounts += written.inserted.accounts;
        imported.memberships += written.inserted.memberships;
        imported.left_out += written.inserted.left_out;
        progress(written.rows);
        Ok::<_, MigrationError>(())
    };
    // A batch written is counted as soon as it commits, not when the next
    // one is ready: the progress bar shows what a kill would leave.
    loop {
        tokio::select! {
            Some(written) = writing.join_next(), if !writing.is_empty() => account_for(written)?,
            batch = ready.recv(), if writing.len() < writers => match batch {
                Some(batch) => {
                    writing.spawn(write(store.clone(), batch));
                }
                None => break,
            },
        }
    }
    while let Some(written) = writing.join_next().await {
        account_for(written)?;
    }
    reader
        .await
        .map_err(|e| MigrationError::Read {
            path: named.clone(),
            source: std::io::Error::other(e),
        })?
        .map_err(|source| MigrationError::Read { path: named, source })?;
    Ok(imported)
}

/// A batch as the writer gets it: its statements built on the reading thread.
struct Ready {
    statements: ImportBatch,
    /// How many memberships the batch holds, for the progress bar.
    memberships: u64,
}

/// What one batch wrote, and how many rows it held.
struct Written {
    inserted: Inserted,
    rows: u64,
}

/// Writes a batch in one transaction.
async fn write(store: Store, batch: Ready) -> Result<Written, StoreError> {
    let txn = store.begin().await?;
    let inserted = txn.legacy_import().insert(batch.statements).await?;
    txn.commit().await?;
    Ok(Written {
        inserted,
        rows: batch.memberships,
    })
}

#[derive(Default)]
struct Batch {
    accounts: Vec<ImportedAccount>,
    memberships: Vec<ImportedMembership>,
}

impl Batch {
    fn add(&mut self, plan: &Plan, catalogue: &Catalogue, salt: &str, account: u32, rows: Vec<(u32, Row)>) {
        let planned = &plan.accounts[account as usize];
        let Some((_, primary)) = rows.iter().find(|(index, _)| *index == planned.primary) else {
            return;
        };
        let username = plan.username(planned);
        let id = account_id(
            salt,
            catalogue.libraries[primary.library].code.as_str(),
            primary.card.as_str(),
        );
        self.accounts.push(ImportedAccount {
            id,
            email: primary.email.clone(),
            password_hash: primary.password_hash.clone(),
            last_login_at: primary.last_login,
            old_username: plan.old_username(planned).map(str::to_owned),
            outcome: planned.outcome,
            merged: merged_logins(
                catalogue,
                &username,
                primary,
                rows.iter()
                    .filter(|(index, _)| *index != planned.primary)
                    .map(|(_, row)| row),
            ),
            username,
        });
        for (_, row) in rows {
            self.memberships.push(ImportedMembership {
                library_id: catalogue.libraries[row.library].id,
                branch_id: row.branch_id,
                subscription_type_id: row.subscription_type_id,
                card_number: row.card,
                member_name: row.name,
                birth_date: row.birth_date,
                email: row.email,
                valid_until: row.valid_until,
                account: id,
            });
        }
    }
}

/// What the member of an account of several rows logged in with that stops
/// working: the other rows' old usernames, and whether they had passwords
/// of their own. `None` when nothing does.
fn merged_logins<'r>(
    catalogue: &Catalogue,
    kept: &Username,
    primary: &Row,
    others: impl Iterator<Item = &'r Row>,
) -> Option<MergedLogins> {
    let library = |row: &Row| catalogue.libraries[row.library].name.as_str().to_owned();
    let mut dropped: Vec<DroppedUsername> = Vec::new();
    let mut other_passwords = false;
    for row in others {
        other_passwords |= row.password_hash.is_some() && row.password_hash != primary.password_hash;
        let Some(old) = row.old_username.as_deref() else {
            continue;
        };
        // The account's own name, and the primary's old name (its mail names it already), work or are told.
        if old == kept.as_str() || Some(old) == primary.old_username.as_deref() {
            continue;
        }
        let entry = DroppedUsername {
            library: library(row),
            username: old.to_owned(),
        };
        if !dropped.contains(&entry) {
            dropped.push(entry);
        }
    }
    (!dropped.is_empty() || other_passwords).then(|| MergedLogins {
        kept_from: library(primary),
        dropped,
        other_passwords,
    })
}

/// Queues the mail of `stage` for every migrated account that has not had
/// it, in rounds that each commit with their marks; returns how many mails.
/// `progress` hears how many accounts each round took. An announcement of a
/// go-live date before today is refused: members would read it once, wrong.
pub async fn send(
    store: &Store,
    sealing: &SealingKey,
    stage: Stage,
    go_live: Option<Date>,
    progress: impl Fn(u64),
) -> Result<u64, MigrationError> {
    let today = store.clock().now().date();
    if let Some(date) = go_live.filter(|date| *date < today) {
        return Err(MigrationError::GoLiveInThePast(date));
    }
    let mut sent = 0;
    loop {
        let txn = store.begin().await?;
        let waiting = txn.legacy_import().waiting(stage, MAIL_BATCH).await?;
        if waiting.is_empty() {
            return Ok(sent);
        }
        for member in &waiting {
            let Some(email) = &member.email else { continue };
            let mail = match stage {
                Stage::Announcement => Mail::MigrationAnnouncement {
                    name: member.name.clone(),
                    go_live: go_live.unwrap_or(today),
                },
                Stage::GoLive => Mail::GoLiveUsername {
                    name: member.name.clone(),
                    username: member.username.as_str().to_owned(),
                    change: change(member.outcome, member.old_username.as_deref()),
                    merged: member.merged.clone(),
                    has_password: member.has_password,
                },
            };
            let language = Language::from_code(&member.language).unwrap_or_default();
            mail::queue(&txn, sealing, email, language, &mail).await?;
            sent += 1;
        }
        let ids: Vec<AccountId> = waiting.iter().map(|m| m.account).collect();
        txn.legacy_import().mark(stage, &ids).await?;
        txn.commit().await?;
        progress(ids.len() as u64);
    }
}

fn change(outcome: UsernameOutcome, old: Option<&str>) -> UsernameChange {
    let reason = match outcome {
        UsernameOutcome::Kept => return UsernameChange::Kept,
        UsernameOutcome::Taken => RenameReason::TakenByAnother,
        UsernameOutcome::NotAllowed => RenameReason::NotAllowed,
        UsernameOutcome::Missing => RenameReason::Missing,
    };
    UsernameChange::Replaced {
        old: old.unwrap_or_default().to_owned(),
        reason,
    }
}
