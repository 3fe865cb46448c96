//! The accounts migrated from the old per-library portals: bulk inserts that
//! a repeated run skips (so an import killed half-way can simply run again),
//! and the two mails of go-live, each sent once per account.

use std::collections::{HashMap, HashSet};

use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Set, Statement,
    sea_query::{
        Alias, Expr, ExprTrait, IntoColumnRef, LockBehavior, LockType, OnConflict, Query, SelectStatement,
    },
};
use serde::{Deserialize, Serialize};
use si_domain::{AccountId, AccountStatus, CardNumber, DisplayName, Email, Username};
use time::{Date, OffsetDateTime};

use crate::{
    Backend, Clock, StoreError,
    entity::{account, membership, migrated_account, migration_setting, username_reservation},
    error::parse_stored,
    sessions::to_millis,
};

/// How many rows a paged read takes at a time.
const PAGE: u64 = 20_000;

/// What became of a member's old portal username.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UsernameOutcome {
    Kept,
    /// Another member, more recently active, had the same name.
    Taken,
    /// The old name breaks today's rules (4–80 letters, digits, `_ - @ .`).
    NotAllowed,
    /// There was no portal username.
    Missing,
}

impl UsernameOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            UsernameOutcome::Kept => "kept",
            UsernameOutcome::Taken => "taken",
            UsernameOutcome::NotAllowed => "not_allowed",
            UsernameOutcome::Missing => "missing",
        }
    }

    fn parse(stored: &str) -> Option<Self> {
        [Self::Kept, Self::Taken, Self::NotAllowed, Self::Missing]
            .into_iter()
            .find(|outcome| outcome.as_str() == stored)
    }
}

/// How the rows merged into one account logged in before. The account keeps
/// the username and password of one row (`kept_from`, its library); what
/// the other rows had stops working, and the go-live mail says so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergedLogins {
    /// The name of the library whose row the account keeps.
    pub kept_from: String,
    /// The other rows' old usernames, none the account's own.
    pub dropped: Vec<DroppedUsername>,
    /// Another row had a password hash of its own, which stops counting. It
    /// may hold the same password: hashes are salted, so no one can tell.
    pub other_passwords: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DroppedUsername {
    pub library: String,
    pub username: String,
}

/// A login account the import creates, pending until go-live.
#[derive(Debug, Clone)]
pub struct ImportedAccount {
    pub id: AccountId,
    pub username: Username,
    pub email: Option<Email>,
    /// The old hash exactly as exported; upgraded to argon2id at the first login.
    pub password_hash: Option<String>,
    pub last_login_at: Option<OffsetDateTime>,
    pub old_username: Option<String>,
    pub outcome: UsernameOutcome,
    /// For an account of several rows whose logins differed.
    pub merged: Option<MergedLogins>,
}

/// A registration the import creates; catalogue rows are already resolved.
#[derive(Debug, Clone)]
pub struct ImportedMembership {
    pub library_id: i64,
    pub branch_id: i64,
    pub subscription_type_id: i64,
    pub card_number: CardNumber,
    pub member_name: DisplayName,
    pub birth_date: Date,
    pub email: Option<Email>,
    pub valid_until: Date,
    pub account: AccountId,
}

/// A batch of the import as statements ready to run. Building them (the
/// values, the SQL text) costs about as much as SQLite takes to run them, so
/// the importer builds the next batch while the database writes this one.
pub struct ImportBatch {
    /// The accounts, each statement with its `migrated_accounts` rows and
    /// the ids it holds.
    accounts: Vec<(Statement, Statement, Vec<String>)>,
    memberships: Vec<Statement>,
    membership_rows: u64,
    /// The `created_at` of every account the batch makes.
    made_at: i64,
}

/// What a batch added.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Inserted {
    pub accounts: u64,
    pub memberships: u64,
    /// Accounts not kept: every card of theirs has an account already, so
    /// they would have had no membership.
    pub left_out: u64,
}

/// Rows per statement, within the bound on bind parameters of both databases.
const ROWS_PER_STATEMENT: usize = 2000;

impl ImportBatch {
    /// Takes the rows, so that their text moves into the statements instead
    /// of being held twice.
    pub fn build(
        backend: Backend,
        now: OffsetDateTime,
        accounts: Vec<ImportedAccount>,
        memberships: Vec<ImportedMembership>,
    ) -> Self {
        let backend = match backend {
            Backend::Sqlite => DbBackend::Sqlite,
            Backend::Postgres => DbBackend::Postgres,
        };
        let now = to_millis(now);
        let membership_rows = memberships.len() as u64;
        let accounts = in_chunks(accounts)
            .map(|chunk| {
                let ids: Vec<String> = chunk.iter().map(|new| new.id.to_string()).collect();
                let (rows, migrated): (Vec<_>, Vec<_>) = chunk
                    .into_iter()
                    .map(|new| {
                        let id = new.id.to_string();
                        let row = account::ActiveModel {
                            id: Set(id.clone()),
                            username: Set(new.username.into_inner()),
                            email: Set(new.email.map(Email::into_inner)),
                            email_verified_at: Set(None),
                            password_hash: Set(new.password_hash),
                            status: Set(AccountStatus::Pending.as_str().to_owned()),
                            language: Set("nl".to_owned()),
                            created_at: Set(now),
                            updated_at: Set(now),
                            last_login_at: Set(new.last_login_at.map(to_millis)),
                        };
                        let migrated = migrated_account::ActiveModel {
                            account_id: Set(id),
                            old_username: Set(new.old_username),
                            username_outcome: Set(new.outcome.as_str().to_owned()),
                            announced_at: Set(None),
                            went_live_at: Set(None),
                            // Strings and a bool: writing them as JSON cannot fail.
                            merged_logins: Set(new
                                .merged
                                .as_ref()
                                .and_then(|m| serde_json::to_string(m).ok())),
                        };
                        (row, migrated)
                    })
                    .unzip();
                let rows = account::Entity::insert_many(rows)
                    .on_conflict(OnConflict::column(account::Column::Id).do_nothing().to_owned());
                let migrated = migrated_account::Entity::insert_many(migrated).on_conflict(
                    OnConflict::column(migrated_account::Column::AccountId)
                        .do_nothing()
                        .to_owned(),
                );
                (rows.build(backend), migrated.build(backend), ids)
            })
            .collect();
        let memberships = in_chunks(memberships)
            .map(|chunk| {
                membership::Entity::insert_many(chunk.into_iter().map(|new| membership::ActiveModel {
                    library_id: Set(new.library_id),
                    branch_id: Set(new.branch_id),
                    card_number: Set(new.card_number.into_inner()),
                    member_name: Set(new.member_name.into_inner()),
                    birth_date: Set(new.birth_date),
                    email: Set(new.email.map(Email::into_inner)),
                    subscription_type_id: Set(new.subscription_type_id),
                    valid_until: Set(new.valid_until),
                    account_id: Set(Some(new.account.to_string())),
                    created_at: Set(now),
                    ..Default::default()
                }))
                .on_conflict(
                    OnConflict::columns([membership::Column::LibraryId, membership::Column::CardNumber])
                        .do_nothing()
                        .to_owned(),
                )
                .build(backend)
            })
            .collect();
        Self {
            accounts,
            memberships,
            membership_rows,
            made_at: now,
        }
    }
}

/// The rows in owned chunks of [`ROWS_PER_STATEMENT`].
fn in_chunks<T>(rows: Vec<T>) -> impl Iterator<Item = Vec<T>> {
    let mut rows = rows.into_iter().peekable();
    std::iter::from_fn(move || {
        rows.peek()?;
        Some(rows.by_ref().take(ROWS_PER_STATEMENT).collect())
    })
}

/// A migrated member as the go-live mails need them.
#[derive(Debug, Clone)]
pub struct MigratedMember {
    pub account: AccountId,
    pub username: Username,
    pub email: Option<Email>,
    pub language: String,
    pub name: String,
    pub old_username: Option<String>,
    pub outcome: UsernameOutcome,
    pub merged: Option<MergedLogins>,
    pub has_password: bool,
}

/// Which of the two mails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Announcement,
    GoLive,
}

const SALT: &str = "account_id_salt";

pub struct LegacyImport<'c, C> {
    conn: &'c C,
    clock: &'c dyn Clock,
}

impl<'c, C: ConnectionTrait> LegacyImport<'c, C> {
    pub(crate) fn new(conn: &'c C, clock: &'c dyn Clock) -> Self {
        Self { conn, clock }
    }

    /// The secret the import derives account ids from, made on first use.
    /// Ids then come out the same on every run without being guessable from
    /// a card number.
    pub async fn salt(&self) -> Result<String, StoreError> {
        let fresh = hex(&rand::random::<[u8; 32]>());
        migration_setting::Entity::insert(migration_setting::ActiveModel {
            name: Set(SALT.to_owned()),
            value: Set(fresh),
        })
        .on_conflict(
            OnConflict::column(migration_setting::Column::Name)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(self.conn)
        .await?;
        migration_setting::Entity::find_by_id(SALT.to_owned())
            .one(self.conn)
            .await?
            .map(|row| row.value)
            .ok_or(StoreError::NotFound {
                what: "migration salt",
            })
    }

    /// Usernames the import must not give out: those of accounts it did not
    /// create, and those held for someone.
    pub async fn usernames_in_use(&self) -> Result<HashSet<String>, StoreError> {
        let mut names: HashSet<String> = account::Entity::find()
            .select_only()
            .column(account::Column::Username)
            .filter(account::Column::Id.in_subquery(accounts_not_migrated()))
            .into_tuple::<String>()
            .all(self.conn)
            .await?
            .into_iter()
            .collect();
        let held = username_reservation::Entity::find()
            .filter(username_reservation::Column::ReservedUntil.gt(self.clock.now_millis()))
            .all(self.conn)
            .await?;
        names.extend(held.into_iter().map(|row| row.username));
        Ok(names)
    }

    /// The salt, if an import has made it: without it no import has run.
    /// Reads only, for the plan, which changes nothing.
    pub async fn salt_if_made(&self) -> Result<Option<String>, StoreError> {
        Ok(migration_setting::Entity::find_by_id(SALT.to_owned())
            .one(self.conn)
            .await?
            .map(|row| row.value))
    }

    /// How many accounts there are.
    pub async fn account_count(&self) -> Result<u64, StoreError> {
        Ok(account::Entity::find().count(self.conn).await?)
    }

    /// Hands `each` the username and id of every account, a page at a time
    /// (millions of them after a national import). Those the desk made come
    /// too: their names are taken anyway, and their random ids never match
    /// one the import derives.
    pub async fn each_account_username(
        &self,
        mut each: impl FnMut(&str, AccountId),
    ) -> Result<(), StoreError> {
        self.fresh_statistics("accounts").await?;
        match self.conn.get_database_backend() {
            // SQLite keeps a table's rows in rowid order, apart from the
            // random text ids: paged by id, every row would be a seek into
            // the table (14.5 s against 0.8 s over 3.6 million accounts).
            DbBackend::Sqlite => self.each_account_by(Expr::cust("rowid"), 0_i64, &mut each).await,
            _ => {
                let id = Expr::col(account::Column::Id);
                self.each_account_by(id, String::new(), &mut each).await
            }
        }
    }

    /// The pages of [`Self::each_account_username`], in the order of `key`.
    async fn each_account_by<Key>(
        &self,
        key: Expr,
        mut after: Key,
        each: &mut impl FnMut(&str, AccountId),
    ) -> Result<(), StoreError>
    where
        Key: sea_orm::TryGetable + Into<sea_orm::Value> + Clone,
    {
        loop {
            let page: Vec<(Key, String, String)> = account::Entity::find()
                .select_only()
                .column_as(key.clone(), "page_key")
                .column(account::Column::Id)
                .column(account::Column::Username)
                .filter(key.clone().gt(after.clone()))
                .order_by_asc(key.clone())
                .limit(PAGE)
                .into_tuple()
                .all(self.conn)
                .await?;
            let Some((last, ..)) = page.last() else {
                return Ok(());
            };
            after = last.clone();
            for (_, id, username) in &page {
                each(username, parse_stored("account id", id, AccountId::parse)?);
            }
        }
    }

    /// Hands `each` every membership that has an account, a page at a time
    /// in id order.
    pub async fn each_membership_account(
        &self,
        mut each: impl FnMut(MembershipHeld<'_>),
    ) -> Result<(), StoreError> {
        self.fresh_statistics("memberships").await?;
        let mut after = 0;
        loop {
            type Held = (i64, i64, String, String, String, Date, Option<String>);
            let page: Vec<Held> = membership::Entity::find()
                .select_only()
                .column(membership::Column::Id)
                .column(membership::Column::LibraryId)
                .column(membership::Column::CardNumber)
                .column(membership::Column::AccountId)
                .column(membership::Column::MemberName)
                .column(membership::Column::BirthDate)
                .column(membership::Column::Email)
                .filter(membership::Column::Id.gt(after))
                .filter(membership::Column::AccountId.is_not_null())
                .order_by_asc(membership::Column::Id)
                .limit(PAGE)
                .into_tuple()
                .all(self.conn)
                .await?;
            let Some((last, ..)) = page.last() else {
                return Ok(());
            };
            after = *last;
            for (_, library, card, account, name, birth_date, email) in &page {
                each(MembershipHeld {
                    library: *library,
                    card,
                    account: parse_stored("account id", account, AccountId::parse)?,
                    name,
                    birth_date: *birth_date,
                    email: email.as_deref(),
                });
            }
        }
    }

    /// Before paging a table by its key: right after a bulk import
    /// PostgreSQL's statistics still describe a small table, and it would
    /// sort the whole table for every page instead of reading the primary
    /// key's index: rows times pages.
    async fn fresh_statistics(&self, table: &str) -> Result<(), StoreError> {
        if self.conn.get_database_backend() == DbBackend::Postgres {
            self.conn.execute_unprepared(&format!("ANALYZE {table}")).await?;
        }
        Ok(())
    }

    /// Card numbers registered outside the migration (at the desk, before
    /// go-live), by library id. An export row with one of them is not
    /// imported: its membership exists, and a second account would be left
    /// without one.
    pub async fn cards_registered(&self) -> Result<HashMap<i64, HashSet<String>>, StoreError> {
        // Two reads, not one with `OR`: PostgreSQL would run the subquery
        // again for every membership (100 s over 367,000; these two, 0.5 s).
        let without_account = self.cards_where(membership::Column::AccountId.is_null()).await?;
        let of_desk_accounts = membership::Column::AccountId.in_subquery(accounts_not_migrated());
        let of_desk_accounts = self.cards_where(of_desk_accounts).await?;
        let mut cards: HashMap<i64, HashSet<String>> = HashMap::new();
        for (library, card) in without_account.into_iter().chain(of_desk_accounts) {
            cards.entry(library).or_default().insert(card);
        }
        Ok(cards)
    }

    /// The library id and card number of every membership `condition` holds for.
    async fn cards_where(&self, condition: Expr) -> Result<Vec<(i64, String)>, StoreError> {
        Ok(membership::Entity::find()
            .select_only()
            .column(membership::Column::LibraryId)
            .column(membership::Column::CardNumber)
            .filter(condition)
            .into_tuple()
            .all(self.conn)
            .await?)
    }

    /// Runs a batch: inserts what is not there yet, skipping rows an earlier
    /// run committed (by account id, and by card number per library).
    ///
    /// A card skipped may also be one the desk registered after the plan
    /// was made: an account whose every card went that way would be left
    /// without a membership, so it is taken out again, in this transaction.
    pub async fn insert(&self, batch: ImportBatch) -> Result<Inserted, StoreError> {
        let mut inserted = Inserted::default();
        let mut ids = Vec::with_capacity(batch.accounts.len());
        for (accounts, migrated, chunk) in batch.accounts {
            inserted.accounts += self
                .conn
                .execute_raw(accounts)
                .await
                .map_err(|e| StoreError::on_write("username", e))?
                .rows_affected();
            self.conn.execute_raw(migrated).await?;
            ids.push(chunk);
        }
        for memberships in batch.memberships {
            inserted.memberships += self.conn.execute_raw(memberships).await?.rows_affected();
        }
        // Only a new account can be left without a card: none when every
        // card went in (a first run) or no account was new (a run again).
        if inserted.accounts > 0 && inserted.memberships < batch.membership_rows {
            for chunk in ids {
                inserted.left_out += self.remove_without_membership(chunk, batch.made_at).await?;
            }
            inserted.accounts = inserted.accounts.saturating_sub(inserted.left_out);
        }
        Ok(inserted)
    }

    /// Deletes the accounts among `ids` that this batch made (`made_at`) and
    /// that hold no membership, and their `migrated_accounts` rows; returns
    /// how many accounts. One an earlier run made is never touched.
    async fn remove_without_membership(&self, ids: Vec<String>, made_at: i64) -> Result<u64, StoreError> {
        let empty: Vec<String> = account::Entity::find()
            .select_only()
            .column(account::Column::Id)
            .filter(account::Column::Id.is_in(ids))
            .filter(account::Column::CreatedAt.eq(made_at))
            .filter(no_membership_of((account::Entity, account::Column::Id)))
            .into_tuple()
            .all(self.conn)
            .await?;
        if empty.is_empty() {
            return Ok(0);
        }
        migrated_account::Entity::delete_many()
            .filter(migrated_account::Column::AccountId.is_in(empty.clone()))
            .exec(self.conn)
            .await?;
        let removed = account::Entity::delete_many()
            .filter(account::Column::Id.is_in(empty))
            .exec(self.conn)
            .await?;
        Ok(removed.rows_affected)
    }

    /// How many migrated accounts `stage` has not reached yet.
    pub async fn waiting_count(&self, stage: Stage) -> Result<u64, StoreError> {
        Ok(migrated_account::Entity::find()
            .filter(waiting_for(stage))
            .count(self.conn)
            .await?)
    }

    /// Up to `limit` migrated members whose mail of `stage` has not gone out,
    /// held for the transaction until it marks them: a second run beside
    /// this one takes other members, never the same (on SQLite the writer's
    /// transaction keeps it out altogether).
    pub async fn waiting(&self, stage: Stage, limit: u64) -> Result<Vec<MigratedMember>, StoreError> {
        let rows = migrated_account::Entity::find()
            .filter(waiting_for(stage))
            .order_by_asc(migrated_account::Column::AccountId)
            .limit(limit)
            .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
            .all(self.conn)
            .await?;
        let ids: Vec<String> = rows.iter().map(|row| row.account_id.clone()).collect();
        let accounts = account::Entity::find()
            .filter(account::Column::Id.is_in(ids.clone()))
            .all(self.conn)
            .await?;
        let names: Vec<(Option<String>, String)> = membership::Entity::find()
            .select_only()
            .column(membership::Column::AccountId)
            .column(membership::Column::MemberName)
            .filter(membership::Column::AccountId.is_in(ids))
            .order_by_asc(membership::Column::Id)
            .into_tuple()
            .all(self.conn)
            .await?;
        rows.into_iter()
            .filter_map(|row| {
                let account = accounts.iter().find(|a| a.id == row.account_id)?;
                Some((row, account))
            })
            .map(|(row, account)| {
                Ok(MigratedMember {
                    account: parse_stored("account id", &account.id, AccountId::parse)?,
                    username: parse_stored("username", &account.username, Username::parse)?,
                    email: account
                        .email
                        .as_deref()
                        .map(|e| parse_stored("e-mail", e, Email::parse))
                        .transpose()?,
                    language: account.language.clone(),
                    name: names
                        .iter()
                        .find(|(id, _)| id.as_deref() == Some(account.id.as_str()))
                        .map(|(_, name)| name.clone())
                        .unwrap_or_default(),
                    old_username: row.old_username,
                    outcome: UsernameOutcome::parse(&row.username_outcome).ok_or_else(|| {
                        StoreError::Corrupt {
                            what: "username outcome",
                            value: row.username_outcome.clone(),
                        }
                    })?,
                    merged: row
                        .merged_logins
                        .as_deref()
                        .map(|json| {
                            serde_json::from_str(json).map_err(|_| StoreError::Corrupt {
                                what: "merged logins",
                                value: json.to_owned(),
                            })
                        })
                        .transpose()?,
                    has_password: account.password_hash.is_some(),
                })
            })
            .collect()
    }

    /// Records that the mail of `stage` went out (or had no address to go
    /// to); at go-live the accounts become active.
    pub async fn mark(&self, stage: Stage, accounts: &[AccountId]) -> Result<(), StoreError> {
        let ids: Vec<String> = accounts.iter().map(ToString::to_string).collect();
        let now = self.clock.now_millis();
        migrated_account::Entity::update_many()
            .col_expr(done_at(stage), now.into())
            .filter(migrated_account::Column::AccountId.is_in(ids.clone()))
            .exec(self.conn)
            .await?;
        if stage == Stage::GoLive {
            account::Entity::update_many()
                .col_expr(account::Column::Status, AccountStatus::Active.as_str().into())
                .col_expr(account::Column::UpdatedAt, now.into())
                .filter(account::Column::Id.is_in(ids))
                .filter(account::Column::Status.eq(AccountStatus::Pending.as_str()))
                .exec(self.conn)
                .await?;
        }
        Ok(())
    }
}

/// No membership belongs to the account `id` names.
fn no_membership_of(id: impl IntoColumnRef) -> Expr {
    no_row_with(membership::Entity, membership::Column::AccountId, id)
}

/// The ids of the accounts the migration did not create (the desk's): a
/// few, which `usernames_in_use` and `cards_registered` then look up.
///
/// The ids are read from their own index and looked for in
/// `migrated_accounts`' in the same order. Read from the table, each of
/// the millions of random ids after a national import would be a seek into
/// another part of that index: on SQLite 11.4 s against 1.3 s over 3.6
/// million accounts. `NOT EXISTS`, not `NOT IN`: PostgreSQL runs `NOT IN`
/// over a subquery larger than its work memory row by row.
fn accounts_not_migrated() -> SelectStatement {
    let own = Alias::new("own");
    Query::select()
        .column((own.clone(), account::Column::Id))
        .from_as(account::Entity, own.clone())
        .and_where(no_row_with(
            migrated_account::Entity,
            migrated_account::Column::AccountId,
            (own, account::Column::Id),
        ))
        .to_owned()
}

/// No row of `table` has `column` equal to `id`. The column is qualified:
/// `id` may name a column of the same name in the outer query.
fn no_row_with<E: EntityTrait>(table: E, column: E::Column, id: impl IntoColumnRef) -> Expr {
    Expr::exists(
        Query::select()
            .expr(Expr::val(1))
            .from(table)
            .and_where(Expr::col((table, column)).equals(id))
            .to_owned(),
    )
    .not()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The migrated accounts `stage` has not reached yet. An account live
/// already is past its announcement: "soon one account" would be news
/// from before the mail it had at going live.
fn waiting_for(stage: Stage) -> Condition {
    let not_live = done_at(Stage::GoLive).is_null();
    match stage {
        Stage::Announcement => Condition::all()
            .add(done_at(Stage::Announcement).is_null())
            .add(not_live),
        Stage::GoLive => Condition::all().add(not_live),
    }
}

/// The column that says when an account reached `stage`.
fn done_at(stage: Stage) -> migrated_account::Column {
    match stage {
        Stage::Announcement => migrated_account::Column::AnnouncedAt,
        Stage::GoLive => migrated_account::Column::WentLiveAt,
    }
}

/// A membership with an account, as
/// [`LegacyImport::each_membership_account`] hands it.
pub struct MembershipHeld<'a> {
    pub library: i64,
    pub card: &'a str,
    pub account: AccountId,
    pub name: &'a str,
    pub birth_date: Date,
    pub email: Option<&'a str>,
}
