//! `migrate`: the old per-library portal accounts on go-live day.

use std::{path::PathBuf, sync::Arc, time::Duration};

use clap::Subcommand;
use indicatif::{ProgressBar, ProgressState, ProgressStyle};
use si_store::{Repositories, Store, legacy_import::Stage};
use time::Date;

use crate::{
    config::Config,
    migration::{self, Catalogue, HashTimes, Plan},
    oidc::keys::Keyring,
};

#[derive(Debug, Subcommand)]
pub enum MigrateCommand {
    /// Read the exports and report what an import would do. Changes nothing.
    Plan {
        /// Exports: CSV with a header, or JSON Lines (`.jsonl`); see docs/migration.md.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Where the CSV reports go.
        #[arg(long, default_value = "migration-report")]
        report: PathBuf,
    },
    /// Import the exports as the plan says. Safe to run again, also after a
    /// crash: what is there already is skipped.
    Import {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[arg(long, default_value = "migration-report")]
        report: PathBuf,
    },
    /// Queue the announcement mail for every migrated member with an e-mail
    /// address that has not had it.
    Announce {
        /// The go-live date the mail names, YYYY-MM-DD.
        #[arg(long, value_parser = parse_date)]
        go_live: Date,
    },
    /// Activate the migrated accounts and queue the mail with the username,
    /// once per account.
    GoLive,
}

fn parse_date(text: &str) -> Result<Date, String> {
    si_domain::parse_date(text).ok_or_else(|| format!("{text:?} is not a date as YYYY-MM-DD"))
}

/// A bar on the terminal (none when the output goes elsewhere) for `len`
/// of `what`, with the rate and the time left.
fn progress_bar(len: u64, what: &str) -> anyhow::Result<ProgressBar> {
    let bar = ProgressBar::new(len);
    let template = format!(
        "{{elapsed_precise}} [{{bar:40}}] {{human_pos}}/{{human_len}} {what}, {{rate}}, {{eta}} left"
    );
    bar.set_style(
        ProgressStyle::with_template(&template)?
            .with_key("rate", |state: &ProgressState, out: &mut dyn std::fmt::Write| {
                let _ = write!(out, "{:.0}/s", state.per_sec());
            })
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(500));
    Ok(bar)
}

/// The plan, with a spinner while the exports are read (tens of seconds
/// for a whole country).
async fn plan_with_spinner(store: &Store, files: &[PathBuf]) -> anyhow::Result<(Plan, Catalogue)> {
    let spinner = ProgressBar::new_spinner();
    spinner.set_style(ProgressStyle::with_template(
        "{spinner} {elapsed_precise} reading the exports and making the plan",
    )?);
    spinner.enable_steady_tick(Duration::from_millis(200));
    let planned = migration::plan(store, files).await;
    spinner.finish_and_clear();
    Ok(planned?)
}

/// What the plan's password hashes cost a failed login, with a spinner
/// while they are timed (seconds for the costliest).
async fn time_hashes_with_spinner(plan: &mut Plan, config: &Config) -> anyhow::Result<HashTimes> {
    let spinner = ProgressBar::new_spinner();
    spinner.set_style(ProgressStyle::with_template(
        "{spinner} {elapsed_precise} timing a failed login on each kind of password hash",
    )?);
    spinner.enable_steady_tick(Duration::from_millis(200));
    let settings = std::mem::take(&mut plan.hash_settings);
    let (current, wait) = (config.argon2(), config.hashing.failed_login());
    let timed = tokio::task::spawn_blocking(move || migration::time_hashes(settings, &current, wait)).await;
    spinner.finish_and_clear();
    Ok(timed?)
}

/// Queues `stage`'s mails with a bar over the accounts waiting for them.
async fn send_with_bar(
    store: &Store,
    config: &Config,
    stage: Stage,
    go_live: Option<Date>,
) -> anyhow::Result<u64> {
    let sealing = Keyring::load_sealing_key(config, store).await?;
    let waiting = store.legacy_import().waiting_count(stage).await?;
    let bar = progress_bar(waiting, "accounts")?;
    let sent = migration::send(store, &sealing, stage, go_live, |accounts| bar.inc(accounts)).await;
    match &sent {
        Ok(_) => bar.finish(),
        // A refusal stands on a line of its own.
        Err(_) => bar.finish_and_clear(),
    }
    Ok(sent?)
}

pub async fn run(store: Store, config: &Config, command: MigrateCommand) -> anyhow::Result<()> {
    match command {
        MigrateCommand::Plan { files, report } => {
            let (mut plan, catalogue) = plan_with_spinner(&store, &files).await?;
            let summary = migration::report(&plan, &catalogue, &files, &report)?;
            out!("{summary}");
            out!("{}", time_hashes_with_spinner(&mut plan, config).await?);
            out!("Nothing was changed. Reports: {}", report.display());
            Ok(())
        }
        MigrateCommand::Import { files, report } => {
            let (mut plan, catalogue) = plan_with_spinner(&store, &files).await?;
            let summary = migration::report(&plan, &catalogue, &files, &report)?;
            out!("{summary}");
            out!("{}", time_hashes_with_spinner(&mut plan, config).await?);
            let planned = plan.row_account.len() as u64;
            let bar = progress_bar(planned, "memberships")?;
            let imported = migration::import(&store, files, Arc::new(plan), Arc::new(catalogue), |rows| {
                bar.inc(rows)
            })
            .await?;
            bar.finish();
            out!(
                "Imported: {} new accounts and {} new memberships. Reports: {}",
                imported.accounts,
                imported.memberships,
                report.display()
            );
            // A run after one that stopped half-way (or after a finished one).
            let not_written = planned.saturating_sub(imported.memberships);
            if not_written > 0 {
                out!(
                    "Skipped: {not_written} of the {planned} memberships, there already (from an earlier run, or registered at the desk meanwhile){}.",
                    if imported.left_out > 0 {
                        " or left out (below)"
                    } else {
                        ""
                    }
                );
            }
            if imported.left_out > 0 {
                out!(
                    "Left out: {} accounts, because every card of theirs was registered at the desk \
                     while the import ran; `migrate plan` now lists those rows in rejected.csv.",
                    imported.left_out
                );
            }
            Ok(())
        }
        MigrateCommand::Announce { go_live } => {
            let sent = send_with_bar(&store, config, Stage::Announcement, Some(go_live)).await?;
            out!("Announcement mails queued: {sent}.");
            Ok(())
        }
        MigrateCommand::GoLive => {
            let sent = send_with_bar(&store, config, Stage::GoLive, None).await?;
            out!("Migrated accounts are active. Username mails queued: {sent}.");
            Ok(())
        }
    }
}
