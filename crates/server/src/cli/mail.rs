//! `mail deliver` (one run of the delivery worker) and `mail status`.

use std::sync::Arc;

use clap::Subcommand;
use si_store::{Repositories, Store};

use crate::{
    config::Config,
    mail::delivery::{Deliverer, mail_dir},
    oidc::keys::Keyring,
};

#[derive(Debug, Subcommand)]
pub enum MailCommand {
    /// Deliver every mail that is due now, then stop.
    Deliver,
    /// Counts per state, the oldest mail still waiting, and recent failures.
    Status {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(store: Store, config: Config, command: MailCommand) -> anyhow::Result<()> {
    match command {
        MailCommand::Deliver => {
            // Run without the service's settings, it would "send" real mail
            // into files: said before anything goes.
            if config.mail.smtp_url.is_none() {
                eprintln!(
                    "note: no mail.smtp_url (SI_MAIL__SMTP_URL) is set: the mails are written as .eml files under {}, not sent",
                    mail_dir(&config).display()
                );
            }
            let sealing = Keyring::load_sealing_key(&config, &store).await?;
            let report = Deliverer::new(store, sealing, Arc::new(config))?.drain().await?;
            out!(
                "sent {}, to retry later {}, failed {}",
                report.sent,
                report.retry_later,
                report.failed
            );
            // A scheduled run must not look fine when mail did not go.
            if report.retry_later + report.failed > 0 {
                anyhow::bail!(
                    "not every mail was sent: `single-identity mail status` lists the failures; \
                     mails to retry go at the next run or from `serve`"
                );
            }
            Ok(())
        }
        MailCommand::Status { json } => {
            let outbox = store.outbox();
            let status = outbox.status().await?;
            let failures = outbox.failures(10).await?;
            if json {
                let value = serde_json::json!({ "status": status, "recent_failures": failures });
                out!("{}", serde_json::to_string_pretty(&value)?);
                return Ok(());
            }
            out!("pending  {}", status.pending);
            let now = store.clock().now();
            match status.sending_held_until {
                // A worker that stopped keeps its mails until its lease ends.
                Some(until) if until > now => out!(
                    "sending  {} (held by the workers that took them for {} at most; \
                     those of a worker that stopped go again after that)",
                    status.sending,
                    super::how_long(until - now)
                ),
                Some(_) => out!(
                    "sending  {} (their workers' leases ran out: they go at the next run)",
                    status.sending
                ),
                None => out!("sending  {}", status.sending),
            }
            out!("sent     {}", status.sent);
            out!("failed   {}", status.failed);
            match status.oldest_pending_since {
                Some(since) => {
                    let age = now - since;
                    out!("oldest waiting mail queued {} ago", super::how_long(age));
                }
                None => out!("no mail waiting"),
            }
            for failure in failures {
                out!(
                    "failed #{} {} to {} after {} attempts: {}",
                    failure.id,
                    failure.template,
                    failure.recipient,
                    failure.attempts,
                    failure.last_error.unwrap_or_default()
                );
            }
            Ok(())
        }
    }
}
