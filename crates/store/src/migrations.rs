//! The one migration source for both databases: schema changes written with
//! sea-query's builders, applied in order, each recorded in `schema_migrations`.

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, TransactionTrait,
    sea_query::{
        Alias, ColumnDef, Expr, ExprTrait, ForeignKey, ForeignKeyAction, ForeignKeyCreateStatement, Index,
        IndexCreateStatement, Query, Table, TableAlterStatement, TableCreateStatement, UpdateStatement,
    },
};

use crate::StoreError;

/// One step of the schema, never edited once released: later changes are new steps.
struct Migration {
    version: i64,
    name: &'static str,
    /// Tables this step replaces, dropped before its own are created.
    drops: &'static [&'static str],
    tables: fn() -> Vec<TableCreateStatement>,
    /// Columns added to existing tables, and the values they start with.
    columns: fn() -> Vec<(TableAlterStatement, UpdateStatement)>,
    indexes: fn() -> Vec<IndexCreateStatement>,
    /// Plain SQL, the same on both databases, for what the builders cannot
    /// write for SQLite (an index on an expression); run last.
    statements: &'static [&'static str],
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "0001_foundation",
        drops: &[],
        tables: foundation_tables,
        columns: Vec::new,
        indexes: foundation_indexes,
        statements: &[],
    },
    Migration {
        version: 2,
        name: "0002_openid_connect",
        drops: &[],
        tables: openid_connect_tables,
        columns: Vec::new,
        indexes: openid_connect_indexes,
        statements: &[],
    },
    Migration {
        version: 3,
        name: "0003_refresh_families",
        drops: &["refresh_tokens"],
        tables: refresh_family_tables,
        columns: Vec::new,
        indexes: refresh_family_indexes,
        statements: &[],
    },
    Migration {
        version: 4,
        name: "0004_account_links",
        drops: &[],
        tables: account_link_tables,
        columns: Vec::new,
        indexes: account_link_indexes,
        statements: &[],
    },
    Migration {
        version: 5,
        name: "0005_frontoffice",
        drops: &[],
        tables: frontoffice_tables,
        columns: Vec::new,
        indexes: frontoffice_indexes,
        statements: &[],
    },
    Migration {
        version: 6,
        name: "0006_legacy_import",
        drops: &[],
        tables: legacy_import_tables,
        columns: Vec::new,
        indexes: legacy_import_indexes,
        statements: &[],
    },
    Migration {
        version: 7,
        name: "0007_refresh_families_by_session",
        drops: &[],
        tables: Vec::new,
        columns: Vec::new,
        indexes: refresh_families_by_session,
        statements: &[],
    },
    Migration {
        version: 8,
        name: "0008_session_tokens",
        drops: &[],
        tables: Vec::new,
        columns: session_token_column,
        indexes: session_token_index,
        statements: &[],
    },
    Migration {
        version: 9,
        name: "0009_previous_session_tokens",
        drops: &[],
        tables: Vec::new,
        columns: previous_session_token_column,
        indexes: previous_session_token_index,
        statements: &[],
    },
    Migration {
        version: 10,
        name: "0010_throttle_attempts_in_flight",
        drops: &[],
        tables: Vec::new,
        columns: throttle_in_flight_columns,
        indexes: Vec::new,
        statements: &[],
    },
    Migration {
        version: 11,
        name: "0011_addresses_in_any_case",
        drops: &[],
        tables: Vec::new,
        columns: Vec::new,
        indexes: Vec::new,
        // Recovery addresses are found in any case (`Ouders@…` by `ouders@…`).
        // Local parts are ASCII and domains are stored lower-case, so `LOWER`
        // means the same on both databases. The old index goes last: on
        // PostgreSQL, dropping it locks out even reads until the commit, and
        // building the new one only holds up writes.
        statements: &[
            "CREATE INDEX ix_accounts_email_lower ON accounts (LOWER(email))",
            "DROP INDEX ix_accounts_email",
        ],
    },
    Migration {
        version: 12,
        name: "0012_names_held_by_account",
        drops: &[],
        tables: Vec::new,
        columns: Vec::new,
        indexes: names_held_by_account,
        statements: &[],
    },
    Migration {
        version: 13,
        name: "0013_queues_in_claim_order",
        drops: &[],
        tables: Vec::new,
        columns: Vec::new,
        indexes: Vec::new,
        // The work queues' live rows in the order they are claimed: a claim
        // reads its batch off the index instead of sorting every row due.
        // Sent mail, kept for a while, stays out of it.
        statements: &[
            "CREATE INDEX ix_mail_outbox_claim ON mail_outbox (attempts, next_attempt_at, id) \
             WHERE status IN ('pending', 'sending')",
            "CREATE INDEX ix_logout_notifications_claim ON logout_notifications \
             (attempts, next_attempt_at, id) WHERE status IN ('pending', 'sending')",
        ],
    },
    Migration {
        version: 14,
        name: "0014_logout_notifications_by_website",
        drops: &[],
        tables: Vec::new,
        columns: Vec::new,
        indexes: Vec::new,
        // A website that did not answer is claimed for on its own, every
        // poll: off this index, not by reading every live row (with half a
        // million waiting for other websites, 53 ms a claim on PostgreSQL,
        // now 0.07 ms).
        statements: &[
            "CREATE INDEX ix_logout_notifications_website ON logout_notifications \
             (logout_uri, attempts, next_attempt_at, id) WHERE status IN ('pending', 'sending')",
        ],
    },
    Migration {
        version: 15,
        name: "0015_codes_by_account",
        drops: &[],
        tables: Vec::new,
        columns: Vec::new,
        indexes: Vec::new,
        // A password change ends the access tokens of every login of the
        // account, those without a refresh token too: found by their codes.
        statements: &["CREATE INDEX ix_authorization_codes_account ON authorization_codes (account_id)"],
    },
    Migration {
        version: 16,
        name: "0016_client_deletions",
        drops: &[],
        tables: Vec::new,
        columns: Vec::new,
        indexes: Vec::new,
        // One row counting the clients ever deleted: a node that sees the
        // count move forgets the clients it holds. A count, because a
        // client created and deleted between two looks leaves the clients
        // table as it was.
        statements: &[
            "CREATE TABLE client_deletions (id INTEGER PRIMARY KEY, deleted BIGINT NOT NULL)",
            "INSERT INTO client_deletions (id, deleted) VALUES (1, 0)",
        ],
    },
    Migration {
        version: 17,
        name: "0017_subscription_limits",
        drops: &[],
        tables: Vec::new,
        columns: Vec::new,
        indexes: Vec::new,
        // Subscription types now stop at 130 years of age and a million
        // euros a year; types stored before hold to those limits too, or
        // none of their library's types could be read. An upper age past
        // 130 leaves no one out (no upper age); a fee past a million was a
        // typing mistake no desk could charge.
        statements: &[
            "UPDATE subscription_types SET max_age = NULL WHERE max_age > 130",
            "UPDATE subscription_types SET min_age = 130 WHERE min_age > 130",
            "UPDATE subscription_types SET yearly_fee_cents = 100000000 WHERE yearly_fee_cents > 100000000",
        ],
    },
    Migration {
        version: 18,
        name: "0018_recovery_requests",
        drops: &[],
        tables: recovery_request_tables,
        columns: Vec::new,
        indexes: Vec::new,
        statements: &[],
    },
    Migration {
        version: 19,
        name: "0019_merged_logins",
        drops: &[],
        tables: Vec::new,
        columns: Vec::new,
        indexes: Vec::new,
        // The logins a merged account's other rows had (JSON), for its
        // go-live mail: which old usernames stop working. Accounts imported
        // before have none recorded.
        statements: &["ALTER TABLE migrated_accounts ADD COLUMN merged_logins TEXT"],
    },
];

const LEDGER: &str = "schema_migrations";

pub(crate) async fn apply(db: &DatabaseConnection, now_millis: i64) -> Result<Vec<&'static str>, StoreError> {
    // No DDL for a database that has its ledger: a role that may only read
    // and write rows runs the service on a schema its owner brought up to
    // date.
    if !has_ledger(db).await? {
        ensure_ledger(db).await?;
    }
    let mut applied = Vec::new();
    for migration in MIGRATIONS {
        if is_applied(db, migration.version).await? {
            continue;
        }
        let txn = db.begin().await?;
        // The ledger row goes in first: a second node migrating at the same time
        // blocks on it and then fails its insert, instead of racing the DDL.
        let record = Query::insert()
            .into_table(Alias::new(LEDGER))
            .columns([
                Alias::new("version"),
                Alias::new("name"),
                Alias::new("applied_at"),
            ])
            .values_panic([migration.version.into(), migration.name.into(), now_millis.into()])
            .to_owned();
        if let Err(err) = txn.execute(&record).await {
            txn.rollback().await?;
            if is_applied(db, migration.version).await? {
                continue;
            }
            return Err(err.into());
        }
        for dropped in migration.drops {
            txn.execute(&Table::drop().table(Alias::new(*dropped)).to_owned())
                .await?;
        }
        for table in (migration.tables)() {
            txn.execute(&table).await?;
        }
        for (column, start) in (migration.columns)() {
            txn.execute(&column).await?;
            txn.execute(&start).await?;
        }
        for index in (migration.indexes)() {
            txn.execute(&index).await?;
        }
        for statement in migration.statements {
            txn.execute_unprepared(statement).await?;
        }
        txn.commit().await?;
        applied.push(migration.name);
    }
    Ok(applied)
}

/// Where the database's schema stands against this program's migrations.
#[derive(Debug, PartialEq, Eq)]
pub enum Schema {
    /// None of them applied: a new, empty database, or another program's.
    Missing,
    /// Some applied; these, in order, not yet.
    Behind(Vec<&'static str>),
    UpToDate,
    /// All applied, and these too, which a newer version of the program
    /// applied and this one does not know.
    Ahead(Vec<String>),
}

/// The migrations not applied yet, read without writing anything: a
/// database without the ledger has all of them pending.
pub(crate) async fn pending(db: &DatabaseConnection) -> Result<Vec<&'static str>, StoreError> {
    if !has_ledger(db).await? {
        return Ok(MIGRATIONS.iter().map(|migration| migration.name).collect());
    }
    let mut pending = Vec::new();
    for migration in MIGRATIONS {
        if !is_applied(db, migration.version).await? {
            pending.push(migration.name);
        }
    }
    Ok(pending)
}

/// [`pending`], told as where the schema stands.
pub(crate) async fn schema(db: &DatabaseConnection) -> Result<Schema, StoreError> {
    let pending = pending(db).await?;
    Ok(match pending.len() {
        0 => match unknown_steps(db).await? {
            unknown if unknown.is_empty() => Schema::UpToDate,
            unknown => Schema::Ahead(unknown),
        },
        all if all == MIGRATIONS.len() => Schema::Missing,
        _ => Schema::Behind(pending),
    })
}

/// The steps in the ledger past this program's last, in order.
async fn unknown_steps(db: &DatabaseConnection) -> Result<Vec<String>, DbErr> {
    let last_known = MIGRATIONS.last().map_or(0, |migration| migration.version);
    let query = Query::select()
        .column(Alias::new("name"))
        .from(Alias::new(LEDGER))
        .and_where(Expr::col(Alias::new("version")).gt(last_known))
        .order_by(Alias::new("version"), sea_orm::Order::Asc)
        .to_owned();
    let backend = db.get_database_backend();
    db.query_all_raw(backend.build(&query))
        .await?
        .iter()
        .map(|row| row.try_get::<String>("", "name"))
        .collect()
}

/// Whether the ledger table is there, asked of the database's catalogue.
async fn has_ledger(db: &DatabaseConnection) -> Result<bool, DbErr> {
    let backend = db.get_database_backend();
    let query = match backend {
        DbBackend::Postgres => Query::select()
            .expr(Expr::val(1))
            .from((Alias::new("information_schema"), Alias::new("tables")))
            .and_where(Expr::col(Alias::new("table_schema")).eq(Expr::cust("current_schema()")))
            .and_where(Expr::col(Alias::new("table_name")).eq(LEDGER))
            .to_owned(),
        _ => Query::select()
            .expr(Expr::val(1))
            .from(Alias::new("sqlite_master"))
            .and_where(Expr::col(Alias::new("type")).eq("table"))
            .and_where(Expr::col(Alias::new("name")).eq(LEDGER))
            .to_owned(),
    };
    Ok(db.query_one_raw(backend.build(&query)).await?.is_some())
}

async fn ensure_ledger(db: &DatabaseConnection) -> Result<(), DbErr> {
    let ledger = Table::create()
        .table(Alias::new(LEDGER))
        .if_not_exists()
        .col(
            ColumnDef::new(Alias::new("version"))
                .big_integer()
                .not_null()
                .primary_key(),
        )
        .col(ColumnDef::new(Alias::new("name")).string_len(100).not_null())
        .col(ColumnDef::new(Alias::new("applied_at")).big_integer().not_null())
        .to_owned();
    // PostgreSQL's IF NOT EXISTS is not atomic: a node that loses the race to
    // create the ledger gets a duplicate error, and the table exists on retry.
    match db.execute(&ledger).await {
        Ok(_) => Ok(()),
        Err(_) => db.execute(&ledger).await.map(drop),
    }
}

async fn is_applied(db: &DatabaseConnection, version: i64) -> Result<bool, DbErr> {
    let query = Query::select()
        .column(Alias::new("version"))
        .from(Alias::new(LEDGER))
        .and_where(Expr::col(Alias::new("version")).eq(version))
        .to_owned();
    let backend = db.get_database_backend();
    let found = db.query_one_raw(backend.build(&query)).await?;
    Ok(found.is_some())
}

fn id(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .big_integer()
        .not_null()
        .auto_increment()
        .primary_key()
        .to_owned()
}
fn text(name: &str, max: u32) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .string_len(max)
        .not_null()
        .to_owned()
}
fn optional_text(name: &str, max: u32) -> ColumnDef {
    ColumnDef::new(Alias::new(name)).string_len(max).null().to_owned()
}
fn long_text(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name)).text().not_null().to_owned()
}
fn optional_long_text(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name)).text().null().to_owned()
}
fn integer(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .big_integer()
        .not_null()
        .to_owned()
}
fn optional_integer(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name)).big_integer().null().to_owned()
}
fn date(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name)).date().not_null().to_owned()
}
fn reference(
    from_table: &str,
    column: &str,
    to_table: &str,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{from_table}_{column}"))
        .from(Alias::new(from_table), Alias::new(column))
        .to(Alias::new(to_table), Alias::new("id"))
        .on_delete(on_delete)
        .to_owned()
}

fn index_on(name: &str, table: &str, columns: &[&str], unique: bool) -> IndexCreateStatement {
    let mut index = Index::create().name(name).table(Alias::new(table)).to_owned();
    if unique {
        index.unique();
    }
    for column in columns {
        index.col(Alias::new(*column));
    }
    index
}

/// Timestamps are milliseconds since the Unix epoch (BIGINT): the same type,
/// comparisons and arithmetic on both databases.
fn foundation_tables() -> Vec<TableCreateStatement> {
    use ForeignKeyAction::{Restrict, SetNull};
    vec![
        Table::create()
            .table(Alias::new("libraries"))
            .col(id("id"))
            .col(text("code", 16).unique_key())
            .col(text("name", 200))
            .col(integer("created_at"))
            .to_owned(),
        Table::create()
            .table(Alias::new("branches"))
            .col(id("id"))
            .col(integer("library_id"))
            .col(text("code", 16))
            .col(text("name", 200))
            .col(integer("created_at"))
            .foreign_key(&mut reference("branches", "library_id", "libraries", Restrict))
            .to_owned(),
        Table::create()
            .table(Alias::new("subscription_types"))
            .col(id("id"))
            .col(integer("library_id"))
            .col(text("code", 32))
            .col(text("name", 200))
            .col(text("tariff_code", 16))
            .col(integer("min_age"))
            .col(optional_integer("max_age"))
            .col(integer("yearly_fee_cents"))
            .col(integer("validity_months"))
            .col(integer("created_at"))
            .foreign_key(&mut reference(
                "subscription_types",
                "library_id",
                "libraries",
                Restrict,
            ))
            .to_owned(),
        Table::create()
            .table(Alias::new("accounts"))
            .col(
                ColumnDef::new(Alias::new("id"))
                    .string_len(32)
                    .not_null()
                    .primary_key(),
            )
            // Case-sensitive and unique exactly as typed: both engines compare
            // text byte-wise by default (SQLite BINARY, PostgreSQL deterministic).
            .col(text("username", 80).unique_key())
            .col(optional_text("email", 254))
            .col(optional_integer("email_verified_at"))
            .col(optional_long_text("password_hash"))
            .col(text("status", 16))
            .col(text("language", 8))
            .col(integer("created_at"))
            .col(integer("updated_at"))
            .col(optional_integer("last_login_at"))
            .to_owned(),
        Table::create()
            .table(Alias::new("memberships"))
            .col(id("id"))
            .col(integer("library_id"))
            .col(integer("branch_id"))
            .col(text("card_number", 32))
            .col(text("member_name", 200))
            .col(date("birth_date"))
            .col(optional_text("email", 254))
            .col(integer("subscription_type_id"))
            .col(date("valid_until"))
            .col(optional_text("account_id", 32))
            .col(integer("created_at"))
            .foreign_key(&mut reference("memberships", "library_id", "libraries", Restrict))
            .foreign_key(&mut reference("memberships", "branch_id", "branches", Restrict))
            .foreign_key(&mut reference(
                "memberships",
                "subscription_type_id",
                "subscription_types",
                Restrict,
            ))
            .foreign_key(&mut reference("memberships", "account_id", "accounts", SetNull))
            .to_owned(),
        Table::create()
            .table(Alias::new("audit_log"))
            .col(id("id"))
            .col(integer("at"))
            .col(text("actor", 200))
            .col(text("action", 64))
            .col(optional_integer("library_id"))
            .col(optional_text("account_id", 32))
            .col(long_text("detail"))
            .to_owned(),
        Table::create()
            .table(Alias::new("mail_outbox"))
            .col(id("id"))
            .col(integer("created_at"))
            .col(text("recipient", 254))
            .col(text("message_key", 64))
            .col(text("template", 64))
            .col(text("language", 8))
            .col(long_text("payload"))
            .col(text("status", 16))
            .col(integer("attempts"))
            .col(integer("next_attempt_at"))
            .col(optional_integer("lease_until"))
            .col(optional_text("leased_by", 64))
            .col(optional_long_text("last_error"))
            .col(optional_integer("sent_at"))
            .to_owned(),
    ]
}

fn foundation_indexes() -> Vec<IndexCreateStatement> {
    let index = index_on;
    vec![
        index(
            "ux_branches_library_code",
            "branches",
            &["library_id", "code"],
            true,
        ),
        index(
            "ux_subscription_types_library_code",
            "subscription_types",
            &["library_id", "code"],
            true,
        ),
        index(
            "ux_memberships_library_card",
            "memberships",
            &["library_id", "card_number"],
            true,
        ),
        index("ix_memberships_account", "memberships", &["account_id"], false),
        index("ix_accounts_email", "accounts", &["email"], false),
        index("ix_audit_log_at", "audit_log", &["at"], false),
        index("ix_audit_log_account", "audit_log", &["account_id"], false),
        index("ix_audit_log_library", "audit_log", &["library_id", "at"], false),
        index(
            "ix_mail_outbox_due",
            "mail_outbox",
            &["status", "next_attempt_at"],
            false,
        ),
    ]
}

/// The OpenID Connect provider: signing keys, clients, browser sessions,
/// authorization codes, refresh tokens, revoked access tokens, login
/// throttling and the back-channel logout queue.
fn openid_connect_tables() -> Vec<TableCreateStatement> {
    use ForeignKeyAction::Cascade;
    vec![
        Table::create()
            .table(Alias::new("signing_keys"))
            .col(
                ColumnDef::new(Alias::new("kid"))
                    .string_len(64)
                    .not_null()
                    .primary_key(),
            )
            .col(text("algorithm", 16))
            .col(long_text("public_jwk"))
            // Nonce and AES-256-GCM ciphertext of the PKCS#8 private key.
            .col(long_text("private_key_sealed"))
            .col(integer("created_at"))
            // Signs new tokens from created_at until retire_at; published until expires_at.
            .col(optional_integer("retire_at"))
            .col(optional_integer("expires_at"))
            .to_owned(),
        Table::create()
            .table(Alias::new("clients"))
            .col(
                ColumnDef::new(Alias::new("id"))
                    .string_len(64)
                    .not_null()
                    .primary_key(),
            )
            .col(text("name", 200))
            .col(text("kind", 16))
            .col(optional_text("secret_digest", 64))
            .col(long_text("redirect_uris"))
            .col(long_text("post_logout_redirect_uris"))
            .col(optional_long_text("backchannel_logout_uri"))
            .col(long_text("grant_types"))
            .col(long_text("scopes"))
            .col(optional_integer("library_id"))
            .col(text("id_token_algorithm", 16))
            .col(integer("created_at"))
            .to_owned(),
        Table::create()
            .table(Alias::new("browser_sessions"))
            .col(
                ColumnDef::new(Alias::new("id_digest"))
                    .string_len(64)
                    .not_null()
                    .primary_key(),
            )
            .col(text("account_id", 32))
            .col(integer("created_at"))
            .col(integer("auth_time"))
            .col(integer("last_seen_at"))
            .col(integer("expires_at"))
            .foreign_key(&mut reference(
                "browser_sessions",
                "account_id",
                "accounts",
                Cascade,
            ))
            .to_owned(),
        Table::create()
            .table(Alias::new("session_clients"))
            .col(text("session_digest", 64))
            .col(text("client_id", 64))
            .col(integer("first_at"))
            .primary_key(
                Index::create()
                    .col(Alias::new("session_digest"))
                    .col(Alias::new("client_id")),
            )
            .to_owned(),
        Table::create()
            .table(Alias::new("authorization_codes"))
            .col(
                ColumnDef::new(Alias::new("code_digest"))
                    .string_len(64)
                    .not_null()
                    .primary_key(),
            )
            .col(text("client_id", 64))
            .col(text("account_id", 32))
            .col(text("session_digest", 64))
            .col(long_text("redirect_uri"))
            .col(long_text("scope"))
            .col(optional_long_text("nonce"))
            .col(optional_text("code_challenge", 128))
            .col(integer("auth_time"))
            .col(integer("expires_at"))
            .col(optional_integer("used_at"))
            .to_owned(),
        Table::create()
            .table(Alias::new("refresh_tokens"))
            .col(
                ColumnDef::new(Alias::new("token_digest"))
                    .string_len(64)
                    .not_null()
                    .primary_key(),
            )
            .col(text("family_id", 64))
            .col(text("client_id", 64))
            .col(text("account_id", 32))
            .col(optional_text("session_digest", 64))
            // The authorization code the family began with, so a replayed code revokes it.
            .col(optional_text("code_digest", 64))
            .col(long_text("scope"))
            .col(integer("auth_time"))
            .col(integer("created_at"))
            .col(integer("expires_at"))
            .col(optional_integer("rotated_at"))
            .col(optional_integer("revoked_at"))
            .to_owned(),
        Table::create()
            .table(Alias::new("revoked_access_tokens"))
            .col(
                ColumnDef::new(Alias::new("jti"))
                    .string_len(64)
                    .not_null()
                    .primary_key(),
            )
            .col(integer("expires_at"))
            .to_owned(),
        Table::create()
            .table(Alias::new("login_throttle"))
            .col(
                ColumnDef::new(Alias::new("subject"))
                    .string_len(200)
                    .not_null()
                    .primary_key(),
            )
            .col(integer("failures"))
            .col(integer("last_failure_at"))
            .col(integer("blocked_until"))
            .to_owned(),
        Table::create()
            .table(Alias::new("logout_notifications"))
            .col(id("id"))
            .col(integer("created_at"))
            .col(text("client_id", 64))
            .col(long_text("logout_uri"))
            .col(long_text("logout_token"))
            .col(text("status", 16))
            .col(integer("attempts"))
            .col(integer("next_attempt_at"))
            .col(optional_integer("lease_until"))
            .col(optional_text("leased_by", 64))
            .col(optional_long_text("last_error"))
            .to_owned(),
    ]
}

fn openid_connect_indexes() -> Vec<IndexCreateStatement> {
    vec![
        index_on(
            "ix_browser_sessions_account",
            "browser_sessions",
            &["account_id"],
            false,
        ),
        index_on(
            "ix_authorization_codes_expiry",
            "authorization_codes",
            &["expires_at"],
            false,
        ),
        index_on(
            "ix_refresh_tokens_family",
            "refresh_tokens",
            &["family_id"],
            false,
        ),
        index_on(
            "ix_refresh_tokens_code",
            "refresh_tokens",
            &["code_digest"],
            false,
        ),
        index_on(
            "ix_refresh_tokens_account",
            "refresh_tokens",
            &["account_id"],
            false,
        ),
        index_on(
            "ix_logout_notifications_due",
            "logout_notifications",
            &["status", "next_attempt_at"],
            false,
        ),
    ]
}

/// One row per refresh token family instead of one per token: a rotation is
/// a single conditional UPDATE of the family's current token digest, and a
/// token of the family that is not the current one is a reuse. Replaces
/// `refresh_tokens` (tokens issued before it must log in again).
fn refresh_family_tables() -> Vec<TableCreateStatement> {
    vec![
        Table::create()
            .table(Alias::new("refresh_families"))
            .col(
                ColumnDef::new(Alias::new("family_id"))
                    .string_len(64)
                    .not_null()
                    .primary_key(),
            )
            // Digest of the one token of the family that may be used now.
            .col(text("token_digest", 64))
            .col(text("client_id", 64))
            .col(text("account_id", 32))
            .col(optional_text("session_digest", 64))
            // The authorization code the family began with, so a replayed code revokes it.
            .col(optional_text("code_digest", 64))
            .col(long_text("scope"))
            .col(integer("auth_time"))
            .col(integer("created_at"))
            // Expiry of the current token; each rotation moves it on.
            .col(integer("expires_at"))
            .col(optional_integer("rotated_at"))
            .col(optional_integer("revoked_at"))
            .to_owned(),
    ]
}

fn refresh_family_indexes() -> Vec<IndexCreateStatement> {
    vec![
        index_on(
            "ix_refresh_families_code",
            "refresh_families",
            &["code_digest"],
            false,
        ),
        index_on(
            "ix_refresh_families_account",
            "refresh_families",
            &["account_id"],
            false,
        ),
    ]
}

/// A logout revokes the refresh tokens of its session: found by index, not
/// by reading every family.
fn refresh_families_by_session() -> Vec<IndexCreateStatement> {
    vec![index_on(
        "ix_refresh_families_session",
        "refresh_families",
        &["session_digest"],
        false,
    )]
}

/// A session's cookie token, renewed at every login in its browser, apart
/// from the session's own digest, which stays (and with it the `sid` that
/// clients hold). A session from before starts with the token it had.
fn session_token_column() -> Vec<(TableAlterStatement, UpdateStatement)> {
    vec![(
        Table::alter()
            .table(Alias::new("browser_sessions"))
            .add_column(optional_text("token_digest", 64))
            .to_owned(),
        Query::update()
            .table(Alias::new("browser_sessions"))
            .value(Alias::new("token_digest"), Expr::col(Alias::new("id_digest")))
            .to_owned(),
    )]
}

fn session_token_index() -> Vec<IndexCreateStatement> {
    vec![index_on(
        "ux_browser_sessions_token",
        "browser_sessions",
        &["token_digest"],
        true,
    )]
}

/// The token a session's last renewal replaced, so that a login or logout
/// sent before the browser had the new cookie still finds the session.
fn previous_session_token_column() -> Vec<(TableAlterStatement, UpdateStatement)> {
    vec![(
        Table::alter()
            .table(Alias::new("browser_sessions"))
            .add_column(optional_text("previous_token_digest", 64))
            .to_owned(),
        Query::update()
            .table(Alias::new("browser_sessions"))
            .value(Alias::new("previous_token_digest"), Expr::null())
            .to_owned(),
    )]
}

fn previous_session_token_index() -> Vec<IndexCreateStatement> {
    vec![index_on(
        "ix_browser_sessions_previous_token",
        "browser_sessions",
        &["previous_token_digest"],
        false,
    )]
}

/// How many of a throttle subject's counts are attempts still being
/// checked, and since when they leak away (see `throttle`).
fn throttle_in_flight_columns() -> Vec<(TableAlterStatement, UpdateStatement)> {
    ["in_flight", "in_flight_since"]
        .into_iter()
        .map(|name| {
            (
                Table::alter()
                    .table(Alias::new("login_throttle"))
                    .add_column(integer(name).default(0).to_owned())
                    .to_owned(),
                Query::update()
                    .table(Alias::new("login_throttle"))
                    .value(Alias::new(name), 0)
                    .to_owned(),
            )
        })
        .collect()
}

/// The names an account holds (a member may hold only a few at once).
fn names_held_by_account() -> Vec<IndexCreateStatement> {
    vec![index_on(
        "ix_username_reservations_account",
        "username_reservations",
        &["account_id", "reserved_until"],
        false,
    )]
}

/// Single-use links mailed to members: confirm the account, reset the
/// password. Only the digest of a link's token is kept. And usernames a
/// member gave up, held for them for a while so no one else takes them over.
fn account_link_tables() -> Vec<TableCreateStatement> {
    vec![
        Table::create()
            .table(Alias::new("username_reservations"))
            .col(
                ColumnDef::new(Alias::new("username"))
                    .string_len(80)
                    .not_null()
                    .primary_key(),
            )
            .col(text("account_id", 32))
            .col(integer("reserved_until"))
            .foreign_key(&mut reference(
                "username_reservations",
                "account_id",
                "accounts",
                ForeignKeyAction::Cascade,
            ))
            .to_owned(),
        Table::create()
            .table(Alias::new("account_links"))
            .col(
                ColumnDef::new(Alias::new("token_digest"))
                    .string_len(64)
                    .not_null()
                    .primary_key(),
            )
            .col(text("account_id", 32))
            .col(text("purpose", 32))
            // The address being confirmed, for a change of e-mail address.
            .col(optional_text("new_email", 254))
            .col(integer("created_at"))
            .col(integer("expires_at"))
            .col(optional_integer("used_at"))
            .foreign_key(&mut reference(
                "account_links",
                "account_id",
                "accounts",
                ForeignKeyAction::Cascade,
            ))
            .to_owned(),
    ]
}

fn account_link_indexes() -> Vec<IndexCreateStatement> {
    vec![index_on(
        "ix_account_links_account",
        "account_links",
        &["account_id", "purpose"],
        false,
    )]
}

/// "Wachtwoord vergeten" and "Gebruikersnaam vergeten" as asked, from the
/// answer until their mail is queued: a few rows at most, for milliseconds.
fn recovery_request_tables() -> Vec<TableCreateStatement> {
    vec![
        Table::create()
            .table(Alias::new("recovery_requests"))
            .col(id("id"))
            .col(text("kind", 16))
            .col(text("typed", 254))
            .col(text("language", 8))
            .col(long_text("login_return"))
            .col(integer("asked_at"))
            // Since when it waits to be finished: its asking, or the failure
            // that put it back in line.
            .col(integer("waiting_since"))
            .to_owned(),
    ]
}

/// Who works at which library's desk, and the answers of desk requests sent
/// with an idempotency key, so a repeated request gets the first answer.
fn frontoffice_tables() -> Vec<TableCreateStatement> {
    vec![
        Table::create()
            .table(Alias::new("staff_roles"))
            .col(id("id"))
            .col(text("account_id", 32))
            .col(integer("library_id"))
            .col(integer("granted_at"))
            .foreign_key(&mut reference(
                "staff_roles",
                "account_id",
                "accounts",
                ForeignKeyAction::Cascade,
            ))
            .foreign_key(&mut reference(
                "staff_roles",
                "library_id",
                "libraries",
                ForeignKeyAction::Cascade,
            ))
            .to_owned(),
        Table::create()
            .table(Alias::new("desk_requests"))
            .col(id("id"))
            .col(integer("library_id"))
            .col(text("idempotency_key", 255))
            // SHA-256 of the request body: the same key with another body is refused.
            .col(text("request_digest", 64))
            .col(integer("response_status"))
            .col(long_text("response_body"))
            .col(integer("created_at"))
            .foreign_key(&mut reference(
                "desk_requests",
                "library_id",
                "libraries",
                ForeignKeyAction::Cascade,
            ))
            .to_owned(),
    ]
}

fn frontoffice_indexes() -> Vec<IndexCreateStatement> {
    vec![
        index_on(
            "ux_staff_roles_account_library",
            "staff_roles",
            &["account_id", "library_id"],
            true,
        ),
        index_on(
            "ux_desk_requests_library_key",
            "desk_requests",
            &["library_id", "idempotency_key"],
            true,
        ),
    ]
}

/// The accounts the migration of the old per-library accounts created, with
/// what happened to their old username and which of its mails went out; and
/// the import's settings (the salt its account ids are derived with).
fn legacy_import_tables() -> Vec<TableCreateStatement> {
    vec![
        Table::create()
            .table(Alias::new("migrated_accounts"))
            .col(
                ColumnDef::new(Alias::new("account_id"))
                    .string_len(32)
                    .not_null()
                    .primary_key(),
            )
            // The portal username as it was, when there was one (it may break today's rules).
            .col(optional_text("old_username", 255))
            // `kept`, or why it was replaced: `taken`, `not_allowed`, `missing`.
            .col(text("username_outcome", 16))
            .col(optional_integer("announced_at"))
            .col(optional_integer("went_live_at"))
            .foreign_key(&mut reference(
                "migrated_accounts",
                "account_id",
                "accounts",
                ForeignKeyAction::Cascade,
            ))
            .to_owned(),
        Table::create()
            .table(Alias::new("migration_settings"))
            .col(
                ColumnDef::new(Alias::new("name"))
                    .string_len(32)
                    .not_null()
                    .primary_key(),
            )
            .col(text("value", 255))
            .to_owned(),
    ]
}

fn legacy_import_indexes() -> Vec<IndexCreateStatement> {
    vec![
        index_on(
            "ix_migrated_accounts_announced",
            "migrated_accounts",
            &["announced_at"],
            false,
        ),
        index_on(
            "ix_migrated_accounts_went_live",
            "migrated_accounts",
            &["went_live_at"],
            false,
        ),
    ]
}
