//! `staff` and `audit`: who works at which library's desk, and what desks did.

use anyhow::anyhow;
use clap::{Args, Subcommand};
use serde::Serialize;
use si_domain::{LibraryCode, Username};
use si_store::{
    Repositories, Store,
    accounts::Account,
    audit::{AuditFilter, NewAuditEntry},
    catalogue::Library,
};

use super::catalogue::{Output, explain, print, table};

#[derive(Debug, Subcommand)]
pub enum StaffCommand {
    /// Give a login account the desk staff role at a library; it can then use
    /// the console at /frontoffice for that library.
    Grant {
        #[arg(long, value_parser = LibraryCode::parse)]
        library: LibraryCode,
        /// The staff member's username (case-sensitive).
        #[arg(value_parser = Username::parse)]
        username: Username,
    },
    /// Take the desk staff role at a library away.
    Revoke {
        #[arg(long, value_parser = LibraryCode::parse)]
        library: LibraryCode,
        #[arg(value_parser = Username::parse)]
        username: Username,
    },
    /// List a library's desk staff.
    List {
        #[arg(long, value_parser = LibraryCode::parse)]
        library: LibraryCode,
        #[command(flatten)]
        output: Output,
    },
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only this library's entries.
    #[arg(long, value_parser = LibraryCode::parse)]
    library: Option<LibraryCode>,
    /// Only entries about this login account (username, case-sensitive).
    #[arg(long, value_parser = Username::parse)]
    account: Option<Username>,
    /// How many entries, newest first (at least 1).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=i64::MAX.unsigned_abs()))]
    limit: u64,
    #[command(flatten)]
    output: Output,
}

pub async fn staff(store: &Store, command: StaffCommand) -> anyhow::Result<()> {
    match command {
        StaffCommand::Grant { library, username } => {
            let (library, account) = library_and_account(store, &library, &username).await?;
            let txn = store.begin().await?;
            let granted = txn.staff().grant(&account.id, &library).await?;
            // A change of the recovery address still waiting may be one a
            // desk asked for (see `not_of_staff` at the desk): it ends.
            let waiting = txn.account_links().pending_email_change(&account.id).await?;
            if granted {
                record(&txn, "staff_granted", Some(&library), &account).await?;
                txn.account_links()
                    .end_email_change_links(&account.id, None)
                    .await?;
            }
            txn.commit().await?;
            if granted {
                out!(
                    "{username} now works at the desk of {} ({}).",
                    library.code,
                    library.name
                );
                if waiting.is_some() {
                    out!(
                        "A change of its recovery e-mail address was waiting for confirmation and is ended: if the staff member asked for it, they ask again on their account page."
                    );
                }
            } else {
                out!(
                    "{username} already works at the desk of {} ({}): nothing changed.",
                    library.code,
                    library.name
                );
            }
            Ok(())
        }
        StaffCommand::Revoke { library, username } => {
            let (library, account) = library_and_account(store, &library, &username).await?;
            let txn = store.begin().await?;
            let revoked = txn.staff().revoke(&account.id, &library).await?;
            if revoked {
                record(&txn, "staff_revoked", Some(&library), &account).await?;
            }
            txn.commit().await?;
            if revoked {
                out!("{username} no longer works at the desk of {}.", library.code);
            } else {
                out!("{username} did not work at the desk of {}.", library.code);
            }
            Ok(())
        }
        StaffCommand::List { library, output } => {
            let library = library_named(store, &library).await?;
            let usernames = store.staff().usernames_at(&library).await?;
            print(&output, &usernames, || {
                table(["USERNAME"], usernames.iter().map(|u| [u.clone()]))
            })
        }
    }
}

/// Records a change of who works at a desk in the audit log, in the
/// change's transaction: an operator's doing, from the command line.
async fn record(
    repositories: &impl Repositories,
    action: &str,
    library: Option<&Library>,
    account: &Account,
) -> anyhow::Result<()> {
    let entry = NewAuditEntry {
        actor: super::OPERATOR,
        action,
        library,
        account: Some(&account.id),
        detail: serde_json::json!({ "username": account.username.as_str() }),
    };
    repositories.audit().record(entry).await?;
    Ok(())
}

async fn library_named(store: &Store, code: &LibraryCode) -> anyhow::Result<Library> {
    store
        .catalogue()
        .library(code)
        .await
        .map_err(|e| explain(e, format!("library {code}")))
}

async fn account_named(store: &Store, username: &Username) -> anyhow::Result<Account> {
    store
        .accounts()
        .by_username(username)
        .await?
        .ok_or_else(|| anyhow!("no login account has the username {username} (case-sensitive)"))
}

async fn library_and_account(
    store: &Store,
    library: &LibraryCode,
    username: &Username,
) -> anyhow::Result<(Library, Account)> {
    Ok((
        library_named(store, library).await?,
        account_named(store, username).await?,
    ))
}

/// An audit entry as the command prints it.
#[derive(Debug, Serialize)]
struct Line {
    at: String,
    actor: String,
    action: String,
    library: Option<String>,
    account: Option<String>,
    detail: serde_json::Value,
}

pub async fn audit(store: &Store, args: AuditArgs) -> anyhow::Result<()> {
    let libraries = store.catalogue().libraries().await?;
    let library = match &args.library {
        Some(code) => Some(
            libraries
                .iter()
                .find(|l| &l.code == code)
                .ok_or_else(|| anyhow!("library {code} not found"))?,
        ),
        None => None,
    };
    let account = match &args.account {
        Some(username) => Some(account_named(store, username).await?),
        None => None,
    };
    let entries = store
        .audit()
        .list(AuditFilter {
            library,
            account: account.as_ref().map(|a| &a.id),
            limit: args.limit,
        })
        .await?;
    let lines: Vec<Line> = entries
        .into_iter()
        .map(|entry| Line {
            at: entry.at_rfc3339(),
            actor: entry.actor,
            action: entry.action,
            library: entry
                .library_id
                .and_then(|id| libraries.iter().find(|l| l.id == id))
                .map(|l| l.code.to_string()),
            account: entry.account,
            detail: entry.detail,
        })
        .collect();
    print(&args.output, &lines, || {
        table(
            ["AT", "ACTOR", "ACTION", "LIBRARY", "DETAIL"],
            lines.iter().map(|l| {
                [
                    l.at.clone(),
                    l.actor.clone(),
                    l.action.clone(),
                    l.library.clone().unwrap_or_default(),
                    l.detail.to_string(),
                ]
            }),
        )
    })
}
