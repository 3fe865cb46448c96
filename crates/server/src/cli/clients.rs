//! `client`: registering relying parties (library websites, apps, the e-book
//! service) and library systems, listing, showing and deleting them, and the
//! back-channel logout notices waiting for them. A confidential client's
//! secret is printed once, at creation, and never again.

use anyhow::anyhow;
use clap::Subcommand;
use serde::Serialize;
use si_domain::{DisplayName, LibraryCode};
use si_store::{Repositories, Store, StoreError, audit::NewAuditEntry, logout_queue::ClientBacklog};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use crate::oidc::clients::{
    Client, ClientId, ClientKind, ClientRegistration, DELETION_SEEN_WITHIN, GrantType, IdTokenAlgorithm,
    RegisterError, Scope, register,
};

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client. A confidential client's secret is printed once, now;
    /// only its digest is kept.
    Create {
        /// Name shown to members on the login page ("Log in to continue to …").
        #[arg(long, value_parser = DisplayName::parse)]
        name: DisplayName,
        /// confidential (a server that keeps a secret: websites, library
        /// systems) or public (a browser or native app, which cannot).
        #[arg(long, value_parser = ClientKind::parse, default_value = "confidential")]
        kind: ClientKind,
        /// The client_id: 3–64 characters of a-z, 0-9, '-', '_' and '.', not
        /// in the form of a member's account id; leave out to get a random
        /// one (si-…).
        #[arg(long, value_parser = ClientId::parse_new)]
        id: Option<ClientId>,
        /// Where members return after logging in, compared exactly; repeat for
        /// more. https, http only on 127.0.0.1, [::1] or localhost, or (public
        /// clients) an app scheme such as nl.bibliotheek.app:/callback.
        #[arg(long = "redirect-uri", value_name = "URI")]
        redirect_uris: Vec<String>,
        /// Where members may return after logging out, same rules; repeat for more.
        #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
        post_logout_redirect_uris: Vec<String>,
        /// Where the provider posts logout tokens (https, or http on a loopback host).
        #[arg(long, value_name = "URI")]
        backchannel_logout_uri: Option<String>,
        /// authorization_code, refresh_token or client_credentials (library
        /// systems); repeat for more.
        #[arg(
            long = "grant-type",
            value_name = "GRANT",
            value_parser = GrantType::parse,
            default_values = ["authorization_code", "refresh_token"]
        )]
        grant_types: Vec<GrantType>,
        /// openid, profile, email, library, or a desk API scope (desk:register,
        /// desk:search, desk:link, desk:recovery, desk:audit: confidential
        /// clients bound to a library only); repeat for more.
        #[arg(
            long = "scope",
            value_name = "SCOPE",
            value_parser = Scope::parse,
            default_values = ["openid", "profile", "email", "library"]
        )]
        scopes: Vec<Scope>,
        /// Code of the library this client belongs to, e.g. DRE01.
        #[arg(long, value_parser = LibraryCode::parse)]
        library: Option<LibraryCode>,
        /// How ID tokens are signed: RS256, ES256 or EdDSA.
        #[arg(long = "id-token-alg", value_parser = IdTokenAlgorithm::parse, default_value = "RS256")]
        id_token_algorithm: IdTokenAlgorithm,
        /// Print JSON instead of text (the secret is in it; the notice goes to
        /// standard error).
        #[arg(long)]
        json: bool,
    },
    /// List every client (never their secrets).
    List {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Show one client (never its secret).
    Show {
        /// The client_id.
        id: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Back-channel logout notices still kept, per client: how many wait,
    /// since when, how many failed, and why the last attempt failed.
    Logouts {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Delete a client: it can no longer log members in or get tokens.
    Delete {
        /// The client_id.
        id: String,
    },
}

/// What `create --json` prints: the client and, once, its secret.
#[derive(Serialize)]
struct Created<'a> {
    #[serde(flatten)]
    client: &'a Client,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<&'a str>,
}

/// Writes `text` and a line end to standard output and flushes it; an error
/// when it cannot. (A standard output closed at start is /dev/null to a Rust
/// program, as one chosen with `> /dev/null`.)
fn show_before_commit(text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{text}")
        .and_then(|()| stdout.flush())
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot write its secret: {e}")))
}

const SHOWN_ONCE: &str =
    "This secret is shown only now: store it safely. Only its digest is kept, so it cannot be shown again.";

pub async fn run(store: Store, command: ClientCommand) -> anyhow::Result<()> {
    match command {
        ClientCommand::Create {
            name,
            kind,
            id,
            redirect_uris,
            post_logout_redirect_uris,
            backchannel_logout_uri,
            grant_types,
            scopes,
            library,
            id_token_algorithm,
            json,
        } => {
            let registration = ClientRegistration {
                id,
                name,
                kind,
                redirect_uris,
                post_logout_redirect_uris,
                backchannel_logout_uri,
                grant_types,
                scopes,
                library,
                id_token_algorithm,
            };
            // The client and its audit entry go together, or not at all.
            let txn = store.begin().await?;
            let (client, secret) = register(&txn, registration).await.map_err(|e| match e {
                RegisterError::UnknownLibrary(code) => {
                    anyhow!("library {code} not found: create it first with `library create`")
                }
                other => other.into(),
            })?;
            let entry = NewAuditEntry {
                actor: super::OPERATOR,
                action: "client_created",
                library: client.library(),
                account: None,
                detail: serde_json::json!({
                    "client_id": client.id().as_str(),
                    "grant_types": client.grant_types(),
                    "scopes": client.scopes(),
                }),
            };
            txn.audit().record(entry).await?;
            let secret = secret.as_ref().map(|s| s.expose());
            let shown = if json {
                let created = Created {
                    client: &client,
                    client_secret: secret,
                };
                serde_json::to_string_pretty(&created)?
            } else {
                let mut shown = format!(
                    "Created {} client {}.\n{}",
                    client.kind(),
                    client.id(),
                    describe(&client)?
                );
                if let Some(secret) = secret {
                    shown.push_str(&format!("\nClient secret: {secret}\n{SHOWN_ONCE}"));
                }
                shown
            };
            // The secret exists only in this output: the client is kept
            // only once it has been written (the transaction ends unsaved
            // otherwise), so that it is never there without its secret known.
            // SQLite's writer is held meanwhile: a terminal paused then holds
            // a running serve's writes for up to its busy timeout.
            show_before_commit(&shown).map_err(|e| anyhow!("the client was not created: {e}"))?;
            txn.commit()
                .await
                .map_err(|e| anyhow!("the client was NOT created, discard the secret shown above: {e}"))?;
            if json && secret.is_some() {
                eprintln!("{SHOWN_ONCE}");
            }
        }
        ClientCommand::List { json } => {
            let clients = store
                .clients()
                .list()
                .await?
                .into_iter()
                .map(Client::from_record)
                .collect::<Result<Vec<_>, _>>()?;
            if json {
                out!("{}", serde_json::to_string_pretty(&clients)?);
            } else if clients.is_empty() {
                out!("(none)");
            } else {
                for client in &clients {
                    let library = client
                        .library()
                        .map(|l| format!(", library {}", l.code))
                        .unwrap_or_default();
                    out!("{}: {} ({}{library})", client.id(), client.name(), client.kind());
                }
            }
        }
        ClientCommand::Show { id, json } => {
            let record = store
                .clients()
                .get(&id)
                .await?
                .ok_or_else(|| anyhow!("client {id} not found"))?;
            let client = Client::from_record(record)?;
            if json {
                out!("{}", serde_json::to_string_pretty(&client)?);
            } else {
                out!("{}", describe(&client)?);
            }
        }
        ClientCommand::Logouts { json } => {
            let backlogs = store.logout_queue().backlog_per_client().await?;
            if json {
                out!("{}", serde_json::to_string_pretty(&backlogs)?);
            } else if backlogs.is_empty() {
                out!("No back-channel logout notice is waiting or has failed.");
            } else {
                let now = store.clock().now();
                for backlog in &backlogs {
                    out!("{}", describe_backlog(backlog, now));
                }
            }
        }
        ClientCommand::Delete { id } => {
            // The client and what it holds go together, or not at all.
            let txn = store.begin().await?;
            txn.clients().delete(&id).await.map_err(|e| match e {
                StoreError::NotFound { .. } => anyhow!("client {id} not found"),
                other => other.into(),
            })?;
            let entry = NewAuditEntry {
                actor: super::OPERATOR,
                action: "client_deleted",
                library: None,
                account: None,
                detail: serde_json::json!({ "client_id": id }),
            };
            txn.audit().record(entry).await?;
            txn.commit().await?;
            // Not done until the running nodes have let go of it: an
            // operator deletes a client whose secret leaked, and a script
            // may check at once that it is refused.
            tokio::time::sleep(DELETION_SEEN_WITHIN).await;
            out!("Deleted client {id}; running nodes refuse it from now on.");
        }
    }
    Ok(())
}

/// One client's logout notices on a line: "ebooks: 12 waiting (the oldest
/// queued 3 minutes ago), 0 failed; last error: …".
fn describe_backlog(backlog: &ClientBacklog, now: OffsetDateTime) -> String {
    let since = backlog.oldest_waiting_since.map_or_else(String::new, |since| {
        format!(" (the oldest queued {} ago)", super::how_long(now - since))
    });
    let reason = backlog.last_error.as_deref().unwrap_or("-");
    format!(
        "{}: {} waiting{since}, {} failed; last error: {reason}",
        backlog.client_id, backlog.waiting, backlog.failed
    )
}

/// A client as lines of `field: value`, lists joined by spaces.
fn describe(client: &Client) -> anyhow::Result<String> {
    let join = |values: Vec<&str>| {
        if values.is_empty() {
            "-".to_owned()
        } else {
            values.join(" ")
        }
    };
    let fields = [
        ("id", client.id().to_string()),
        ("name", client.name().to_string()),
        ("kind", client.kind().to_string()),
        (
            "library",
            client
                .library()
                .map_or("-".to_owned(), |l| format!("{} ({})", l.code, l.name)),
        ),
        (
            "redirect URIs",
            join(client.redirect_uris().iter().map(|u| u.as_str()).collect()),
        ),
        (
            "post-logout redirect URIs",
            join(
                client
                    .post_logout_redirect_uris()
                    .iter()
                    .map(|u| u.as_str())
                    .collect(),
            ),
        ),
        (
            "back-channel logout URI",
            client
                .backchannel_logout_uri()
                .map_or("-".to_owned(), |u| u.as_str().to_owned()),
        ),
        (
            "grant types",
            join(client.grant_types().iter().map(|g| g.as_str()).collect()),
        ),
        (
            "scopes",
            join(client.scopes().iter().map(|s| s.as_str()).collect()),
        ),
        ("ID token algorithm", client.id_token_algorithm().to_string()),
        ("created", client.created_at().format(&Rfc3339)?),
    ];
    Ok(fields
        .iter()
        .map(|(label, value)| format!("{label}: {value}"))
        .collect::<Vec<_>>()
        .join("\n"))
}
