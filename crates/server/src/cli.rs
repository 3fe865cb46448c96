//! The command line: `serve`, `db`, the catalogue commands operators use to
//! set up libraries, branches and subscription types, clients, keys, desk
//! staff and the audit log.

/// `println!` for what a command prints, except that a reader who stops
/// reading (`| head`) ends the command as other command-line tools end,
/// where `println!` would panic.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(error) = writeln!(std::io::stdout(), $($arg)*) {
            $crate::cli::output_failed(&error);
        }
    }};
}

mod catalogue;
mod clients;
mod keys;
mod mail;
mod migrate;
mod staff;

use std::{path::PathBuf, process::ExitCode, sync::Arc};

use clap::{Parser, Subcommand};
use si_store::{Repositories, Schema, Store, SystemClock, Workload};

use crate::{
    app::{Server, ShutdownSignals, create_data_dir, open_store},
    config::Config,
    http::observe,
};

#[derive(Debug, Parser)]
#[command(
    name = "single-identity",
    version,
    about = "One login for every library service."
)]
pub struct Cli {
    /// A TOML configuration file; `SI_*` environment variables override it.
    #[arg(long, global = true, env = "SI_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the service (with no configuration: SQLite under ./data on 127.0.0.1:8080).
    Serve(ServeArgs),
    /// Database schema.
    #[command(subcommand)]
    Db(DbCommand),
    /// Libraries (library organisations).
    #[command(subcommand)]
    Library(catalogue::LibraryCommand),
    /// Branches of a library (vestigingen).
    #[command(subcommand)]
    Branch(catalogue::BranchCommand),
    /// Subscription types of a library (abonnementen).
    #[command(subcommand)]
    Subscription(catalogue::SubscriptionCommand),
    /// The mail outbox: deliver due mail, show its state.
    #[command(subcommand)]
    Mail(mail::MailCommand),
    /// OpenID Connect clients: library websites, apps and library systems.
    #[command(subcommand)]
    Client(clients::ClientCommand),
    /// The provider's signing keys.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Desk staff: who may use the console at /frontoffice for which library.
    #[command(subcommand)]
    Staff(staff::StaffCommand),
    /// The audit log of desk actions, newest first.
    Audit(staff::AuditArgs),
    /// Migrating the old per-library portal accounts: plan, import, announce, go-live.
    #[command(subcommand)]
    Migrate(migrate::MigrateCommand),
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// Try it out: seed two libraries, a desk account and two demo sites
    /// under /demo/, keep mail in files and show it at /dev/mail. Prints
    /// where to go and the desk login. Not for production.
    #[arg(long)]
    demo: bool,
}

#[derive(Debug, Subcommand)]
enum DbCommand {
    /// Apply the migrations that are not applied yet.
    Migrate,
    /// List the migrations that are not applied yet. Exits with 0 when
    /// there are none, 3 when `db migrate` has work (steps pending, or no
    /// database yet), 2 when the configuration is refused, 1 on another error.
    Status,
    /// Delete what has outlived its use now (serve does this every 10 minutes).
    Sweep {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// Parses the command line, runs it and turns every failure into one line on
/// standard error and a non-zero exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::from(2);
        }
    };
    // A configuration error too: restarting with the same settings will not help.
    if let Command::Serve(args) = &cli.command
        && args.demo
        && config.mail.smtp_url.is_some()
    {
        eprintln!(
            "error: serve --demo keeps mail in files for the dev mailbox: unset mail.smtp_url (SI_MAIL__SMTP_URL)"
        );
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, config)) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {}", one_line(&err));
            ExitCode::FAILURE
        }
    }
}

/// The actor of audit entries of what an operator did on the command line.
const OPERATOR: &str = "operator";

/// Ends the command when its output cannot be written: with the status of
/// a process whose reader has gone (128 + SIGPIPE) and nothing more to
/// say, or saying why.
pub(crate) fn output_failed(error: &std::io::Error) -> ! {
    if error.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(141);
    }
    eprintln!("error: cannot write the output: {error}");
    std::process::exit(1)
}

/// The error and its causes on one line, each cause once: many of our
/// errors already say their cause in their own message. Control characters
/// in what it quotes (an argument, a line of a file) are written as escapes,
/// so they neither break the line nor steer the operator's terminal.
fn one_line(err: &anyhow::Error) -> String {
    let mut line = err.to_string();
    for cause in err.chain().skip(1) {
        let cause = cause.to_string();
        if !line.contains(&cause) {
            line = format!("{line}: {cause}");
        }
    }
    line.chars()
        .map(|c| {
            if steers_a_terminal(c) {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// A control character, or a mark that reorders the text around it
/// (bidirectional embeddings, overrides and isolates).
fn steers_a_terminal(c: char) -> bool {
    c.is_control() || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

impl Command {
    /// Whether it only shows what the database holds: a new, empty database
    /// made for it would answer as if all were well ("no notice waiting").
    fn only_reads(&self) -> bool {
        use catalogue::{BranchCommand, LibraryCommand, SubscriptionCommand};
        use clients::ClientCommand;
        matches!(
            self,
            Command::Library(LibraryCommand::List { .. })
                | Command::Branch(BranchCommand::List { .. })
                | Command::Subscription(SubscriptionCommand::List { .. })
                | Command::Mail(mail::MailCommand::Status { .. })
                | Command::Client(
                    ClientCommand::List { .. } | ClientCommand::Show { .. } | ClientCommand::Logouts { .. }
                )
                | Command::Keys(keys::KeysCommand::List { .. })
                | Command::Staff(staff::StaffCommand::List { .. })
                | Command::Audit(_)
                | Command::Migrate(migrate::MigrateCommand::Plan { .. })
        )
    }
}

/// How long ago `span` was, as an operator reads it: "less than a minute",
/// "1 minute", "90 minutes", "5 hours", "3 days".
fn how_long(span: time::Duration) -> String {
    let (count, unit) = match span.whole_minutes() {
        ..1 => return "less than a minute".to_owned(),
        minutes @ ..120 => (minutes, "minute"),
        minutes @ ..2880 => (minutes / 60, "hour"),
        minutes => (minutes / 1440, "day"),
    };
    format!("{count} {unit}{}", if count == 1 { "" } else { "s" })
}

/// Refuses to go on without the service's SQLite file, saying `why` it is needed.
fn require_database(config: &Config, why: &str) -> anyhow::Result<()> {
    match si_store::missing_sqlite_file(&config.database_url()) {
        Some(sqlite_file) => anyhow::bail!(
            "there is no database at {}: set SI_DATA_DIR (or SI_DATABASE_URL) to the service's, {why}",
            sqlite_file.display()
        ),
        None => Ok(()),
    }
}

/// Opens the service's own database, never a new one nor another
/// program's: what runs next needs the data already there. A look
/// (`reads_only`) writes nothing, so it refuses a schema behind this
/// program's instead of bringing it up to date.
async fn open_existing(
    config: &Config,
    workload: Workload,
    why: &str,
    reads_only: bool,
) -> anyhow::Result<Store> {
    require_database(config, why)?;
    let url = config.database_url();
    let store = Store::connect_for(&url, Arc::new(SystemClock), workload).await?;
    match store.schema().await? {
        Schema::Missing => anyhow::bail!(
            "{} holds no Single Identity database: set SI_DATA_DIR (or SI_DATABASE_URL) to the service's, {why}",
            si_store::redact_url(&url)
        ),
        Schema::Behind(pending) if reads_only => anyhow::bail!(
            "the database at {} lacks {} of this program's schema steps (from {}): `single-identity db migrate` brings it up to date",
            si_store::redact_url(&url),
            pending.len(),
            pending[0]
        ),
        Schema::Behind(_) => {
            store.migrate().await?;
        }
        Schema::Ahead(unknown) => return Err(newer_schema(&url, &unknown)),
        Schema::UpToDate => {}
    }
    Ok(store)
}

/// The refusal of a database a newer version of the program migrated:
/// this one may read or write it wrongly.
fn newer_schema(url: &str, unknown: &[String]) -> anyhow::Error {
    anyhow::anyhow!(
        "the database at {} has {} schema step(s) this program does not know ({}): a newer version migrated it; run that version",
        si_store::redact_url(url),
        unknown.len(),
        unknown.join(", ")
    )
}

/// Runs the command; the exit status is success unless it says otherwise
/// (`db status`).
async fn run(command: Command, config: Config) -> anyhow::Result<ExitCode> {
    // Commands that change data bring a schema up to date, or make a new
    // database; a look takes the service's database as it is.
    let reads_only = command.only_reads();
    let open = async |config: &Config| {
        if reads_only {
            open_existing(config, Workload::Service, "whose data this shows", true).await
        } else {
            let store = open_store(config, Arc::new(SystemClock)).await?;
            if let Schema::Ahead(unknown) = store.schema().await? {
                return Err(newer_schema(&config.database_url(), &unknown));
            }
            Ok(store)
        }
    };
    let done = match command {
        Command::Serve(args) => serve(config, args).await,
        Command::Db(DbCommand::Migrate) => {
            let url = database_url_creating_dir(&config)?;
            let store = Store::connect(&url, Arc::new(SystemClock)).await?;
            let applied = store.migrate().await?;
            if let Schema::Ahead(unknown) = store.schema().await? {
                return Err(newer_schema(&url, &unknown));
            }
            if applied.is_empty() {
                out!("The database is up to date.");
            }
            for name in applied {
                out!("applied {name}");
            }
            Ok(())
        }
        Command::Db(DbCommand::Status) => return db_status(&config).await,
        Command::Db(DbCommand::Sweep { json }) => {
            let store = open(&config).await?;
            let swept = store.housekeeping().sweep(Default::default()).await?;
            if json {
                out!("{}", serde_json::to_string_pretty(&swept)?);
            } else {
                let counts = serde_json::to_value(&swept)?;
                for (table, count) in counts.as_object().into_iter().flatten() {
                    out!("{table:<24} {count:>9} deleted");
                }
            }
            Ok(())
        }
        Command::Library(command) => {
            let store = open(&config).await?;
            catalogue::library(&store, command).await
        }
        Command::Branch(command) => {
            let store = open(&config).await?;
            catalogue::branch(&store, command).await
        }
        Command::Subscription(command) => {
            let store = open(&config).await?;
            catalogue::subscription(&store, command).await
        }
        Command::Mail(command) => {
            let store = open(&config).await?;
            mail::run(store, config, command).await
        }
        Command::Client(command) => {
            let store = open(&config).await?;
            clients::run(store, command).await
        }
        Command::Staff(command) => {
            let store = open(&config).await?;
            staff::staff(&store, command).await
        }
        Command::Migrate(command) => {
            // Every step reads the service's libraries: a new, empty database
            // would only reject every row (and `plan` changes nothing).
            let store = open_existing(
                &config,
                Workload::BulkLoad,
                "whose libraries the exports name",
                reads_only,
            )
            .await?;
            migrate::run(store, &config, command).await
        }
        Command::Audit(args) => {
            let store = open(&config).await?;
            staff::audit(&store, args).await
        }
        Command::Keys(command) => {
            let store = open(&config).await?;
            keys::run(store, config, command).await
        }
    };
    done.map(|()| ExitCode::SUCCESS)
}

/// The exit status of `db status` when `db migrate` has work to do, so that
/// a deployment script can tell it from "up to date" (0) and from an error (1).
const MIGRATIONS_PENDING: u8 = 3;

/// `db status`: what `db migrate` would apply, said and told by the exit
/// status. A look changes nothing: no SQLite file is made for it.
async fn db_status(config: &Config) -> anyhow::Result<ExitCode> {
    if let Some(sqlite_file) = si_store::missing_sqlite_file(&config.database_url()) {
        out!(
            "There is no database at {} yet: `single-identity db migrate` or `serve` makes it.",
            sqlite_file.display()
        );
        return Ok(ExitCode::from(MIGRATIONS_PENDING));
    }
    let url = config.database_url();
    let store = Store::connect(&url, Arc::new(SystemClock)).await?;
    match store.schema().await? {
        Schema::Missing => out!(
            "{} holds no Single Identity database yet: `single-identity db migrate` or `serve` makes it.",
            si_store::redact_url(&url)
        ),
        Schema::Behind(pending) => {
            for name in pending {
                out!("pending {name}");
            }
        }
        Schema::UpToDate => {
            out!("The database is up to date.");
            return Ok(ExitCode::SUCCESS);
        }
        Schema::Ahead(unknown) => return Err(newer_schema(&url, &unknown)),
    }
    Ok(ExitCode::from(MIGRATIONS_PENDING))
}

fn database_url_creating_dir(config: &Config) -> anyhow::Result<String> {
    create_data_dir(config)?;
    Ok(config.database_url())
}

async fn serve(mut config: Config, args: ServeArgs) -> anyhow::Result<()> {
    config.demo = args.demo;
    config.sole_sqlite_node = true;
    observe::init_logging(&config);
    if config.demo && !config.listen.ip().is_loopback() {
        tracing::warn!(
            "serve --demo listens beyond this machine: anyone who reaches it can read every mail at /dev/mail"
        );
    }
    let database = si_store::redact_url(&config.database_url());
    let signals = ShutdownSignals::listen();
    let server = Server::start(config).await?;
    tracing::info!(database = %database, "started");
    out!("Single Identity is serving at {}", server.public_url);
    if let Some(welcome) = &server.demo {
        out!("{welcome}");
    }
    server.run_until(signals).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{how_long, one_line};
    use time::Duration;

    #[test]
    fn an_error_quoting_control_characters_stays_one_plain_line() {
        let err = anyhow::anyhow!("client \u{1b}[2Jx\nevil\u{202e}txt not found").context("cannot show");
        assert_eq!(
            one_line(&err),
            "cannot show: client \\u{1b}[2Jx\\nevil\\u{202e}txt not found"
        );
    }

    #[test]
    fn how_long_reads_as_an_operator_would_say_it() {
        let said = [
            (Duration::seconds(59), "less than a minute"),
            (Duration::minutes(1), "1 minute"),
            (Duration::minutes(119), "119 minutes"),
            (Duration::minutes(120), "2 hours"),
            (Duration::hours(47), "47 hours"),
            (Duration::hours(48), "2 days"),
            (Duration::days(1000), "1000 days"),
            (Duration::seconds(-5), "less than a minute"),
        ];
        for (span, expected) in said {
            assert_eq!(how_long(span), expected, "{span}");
        }
    }
}
