//! Delivery: workers claim due mails from the outbox with a lease, compose
//! them in the member's language and hand them to SMTP (pooled connections)
//! or, in the embedded default, write them as `.eml` files. Temporary
//! failures come back later with exponential backoff and jitter; permanent
//! ones are kept with the server's answer.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use futures_util::{StreamExt, stream};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor, transport::smtp::PoolConfig};
use serde::Serialize;
use si_store::{Repositories, Store, StoreError, outbox::ClaimedMail};
use tokio::sync::watch;

use super::{Mail, compose};
use crate::backoff::backoff;
use crate::{config::Config, http::i18n::Language, oidc::keys::SealingKey};

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("invalid configuration value for mail.smtp_url (SI_MAIL__SMTP_URL): {0}")]
    SmtpUrl(String),
    #[error("cannot create the mail directory {path}: {source}")]
    MailDir { path: String, source: std::io::Error },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where composed mails go.
#[derive(Clone)]
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// The directory of the `.eml` files.
    Files(PathBuf),
}

/// Why one mail did not go.
enum SendFailure {
    /// Try again later: the server said 4xx, or could not be reached.
    Temporary(String),
    /// Never try again: the server said 5xx, or the mail cannot be composed.
    Permanent(String),
}

/// What one round or a whole run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DeliveryReport {
    pub sent: u64,
    pub retry_later: u64,
    pub failed: u64,
}

impl DeliveryReport {
    fn add(&mut self, other: DeliveryReport) {
        self.sent += other.sent;
        self.retry_later += other.retry_later;
        self.failed += other.failed;
    }
}

/// A delivery worker. Several may run at once, on one node or many.
#[derive(Clone)]
pub struct Deliverer {
    store: Store,
    /// Opens the mails, sealed in the outbox.
    sealing: SealingKey,
    transport: Transport,
    config: Arc<Config>,
    worker: String,
    message_domain: String,
}

impl Deliverer {
    pub fn new(store: Store, sealing: SealingKey, config: Arc<Config>) -> Result<Self, DeliveryError> {
        let transport = match &config.mail.smtp_url {
            Some(url) => {
                let builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| DeliveryError::SmtpUrl(e.to_string()))?;
                Transport::Smtp(
                    builder
                        .pool_config(PoolConfig::new().max_size(config.mail.concurrency.max(1)))
                        .timeout(Some(Duration::from_secs(30)))
                        .build(),
                )
            }
            None => {
                let dir = mail_dir(&config);
                crate::private_dir::create(&dir).map_err(|source| DeliveryError::MailDir {
                    path: dir.display().to_string(),
                    source,
                })?;
                Transport::Files(dir)
            }
        };
        let message_domain = config
            .mail
            .sender
            .parse::<lettre::message::Mailbox>()
            .map(|mailbox| mailbox.email.domain().to_owned())
            .unwrap_or_else(|_| "localhost".to_owned());
        let worker = format!("{}-{:08x}", std::process::id(), rand::random::<u32>());
        Ok(Self {
            store,
            sealing,
            transport,
            config,
            worker,
            message_domain,
        })
    }

    /// Claims one batch and delivers it; returns what happened and how many were claimed.
    pub async fn round(&self) -> Result<(DeliveryReport, usize), StoreError> {
        let mail = &self.config.mail;
        let lease = Duration::from_secs(u64::from(mail.lease_seconds));
        let batch = self
            .store
            .outbox()
            .claim(&self.worker, mail.batch_size, lease)
            .await?;
        let claimed = batch.len();
        let concurrency = mail.concurrency.max(1) as usize;
        let mut outcomes = stream::iter(batch)
            .map(|claimed| async move {
                let result = self.send(&claimed).await;
                (claimed, result)
            })
            .buffer_unordered(concurrency)
            // Record each outcome as soon as it is in, with whatever others
            // came in meanwhile: a worker killed mid-batch then re-sends only
            // the mails in flight and the few not recorded yet. (Waiting to
            // record `concurrency` at once left up to that many mails, all
            // accepted by the relay, to be sent again: a slow one holds the rest.)
            .ready_chunks(concurrency);
        let mut report = DeliveryReport::default();
        // A slow relay can take longer than one lease for a whole batch:
        // renew it at a third of its length while mails are still going.
        let mut renewal = tokio::time::interval_at(tokio::time::Instant::now() + lease / 3, lease / 3);
        loop {
            tokio::select! {
                chunk = outcomes.next() => match chunk {
                    Some(chunk) => report.add(self.record(chunk).await?),
                    None => break,
                },
                _ = renewal.tick() => {
                    self.store.outbox().renew_lease(&self.worker, lease).await?;
                }
            }
        }
        Ok((report, claimed))
    }

    async fn record(
        &self,
        outcomes: Vec<(ClaimedMail, Result<(), SendFailure>)>,
    ) -> Result<DeliveryReport, StoreError> {
        let mail = &self.config.mail;
        let outbox = self.store.outbox();
        let mut report = DeliveryReport::default();
        let mut sent = Vec::with_capacity(outcomes.len());
        for (claimed, outcome) in outcomes {
            match outcome {
                Ok(()) => sent.push(claimed.id),
                Err(SendFailure::Temporary(reason)) if claimed.attempts < mail.max_attempts => {
                    let at = self.store.clock().now() + backoff(claimed.attempts);
                    tracing::warn!(
                        mail = claimed.id,
                        attempt = claimed.attempts,
                        "mail delivery will be retried: {reason}"
                    );
                    outbox.retry_at(&self.worker, claimed.id, &reason, at).await?;
                    report.retry_later += 1;
                }
                Err(SendFailure::Temporary(reason) | SendFailure::Permanent(reason)) => {
                    tracing::error!(
                        mail = claimed.id,
                        attempt = claimed.attempts,
                        "mail delivery failed: {reason}"
                    );
                    outbox.mark_failed(&self.worker, claimed.id, &reason).await?;
                    report.failed += 1;
                }
            }
        }
        report.sent = outbox.mark_sent(&self.worker, &sent).await?;
        Ok(report)
    }

    /// Delivers until no due mail is left (`single-identity mail deliver`).
    pub async fn drain(&self) -> Result<DeliveryReport, StoreError> {
        let mut total = DeliveryReport::default();
        loop {
            let (report, claimed) = self.round().await?;
            total.add(report);
            if claimed < self.config.mail.batch_size as usize {
                return Ok(total);
            }
        }
    }

    /// The background worker of `serve`: delivers until `stop` turns true,
    /// then finishes the batch in hand.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let idle = Duration::from_millis(self.config.mail.poll_interval_ms.max(10));
        while !*stop.borrow() {
            let full_batch = match self.round().await {
                Ok((_, claimed)) => claimed >= self.config.mail.batch_size as usize,
                Err(err) => {
                    tracing::warn!("mail delivery round failed: {err}");
                    false
                }
            };
            if !full_batch {
                tokio::select! {
                    _ = tokio::time::sleep(idle) => {}
                    _ = stop.changed() => {}
                }
            }
        }
    }

    async fn send(&self, claimed: &ClaimedMail) -> Result<(), SendFailure> {
        let json = super::open_queued(
            &self.sealing,
            &claimed.recipient,
            &claimed.template,
            &claimed.payload,
        )
        .ok_or_else(|| {
            SendFailure::Permanent(
                "the mail does not open with this node's key-encryption key (nodes sharing a database \
                     must share oidc.key_encryption_key), or its stored form was altered"
                    .to_owned(),
            )
        })?;
        // Where, not what: serde's message may quote a value, such as a link.
        let mail: Mail = serde_json::from_str(&json).map_err(|e| {
            SendFailure::Permanent(format!(
                "unreadable mail data ({:?} error at column {})",
                e.classify(),
                e.column()
            ))
        })?;
        let language = Language::from_code(&claimed.language).unwrap_or_default();
        let message_id = format!("<{}@{}>", claimed.message_key, self.message_domain);
        let message = compose::message(
            &mail,
            language,
            &claimed.recipient,
            (&self.config.mail, self.config.public_url().as_str()),
            &message_id,
        )
        .map_err(|e| SendFailure::Permanent(without_addresses(&e.to_string())))?;
        self.transmit(message, claimed).await
    }

    async fn transmit(&self, message: Message, claimed: &ClaimedMail) -> Result<(), SendFailure> {
        let domain = claimed.recipient.rsplit('@').next().unwrap_or_default();
        match &self.transport {
            Transport::Smtp(smtp) => match smtp.send(message).await {
                Ok(_) => Ok(()),
                Err(err) if err.is_permanent() => {
                    Err(SendFailure::Permanent(without_addresses(&err.to_string())))
                }
                Err(err) => Err(SendFailure::Temporary(without_addresses(&err.to_string()))),
            },
            Transport::Files(files) => {
                let subject = message
                    .headers()
                    .get::<lettre::message::header::Subject>()
                    .map(|subject| subject.as_ref().to_owned())
                    .unwrap_or_default();
                write_eml(files, &claimed.message_key, &message.formatted())
                    .await
                    .map_err(|e| SendFailure::Temporary(e.to_string()))?;
                // Only the domain: a member's address does not belong in logs.
                tracing::info!(template = %claimed.template, recipient_domain = %domain, subject = %subject, "mail written to file");
                Ok(())
            }
        }
    }
}

/// A relay's answer without the addresses in it ("550 5.1.1
/// <anna@example.nl>: Recipient address rejected"), as it goes to the logs
/// and to `mail status`: a member's address does not belong there.
fn without_addresses(reason: &str) -> String {
    reason
        .split(' ')
        .map(|word| if word.contains('@') { "<address>" } else { word })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Writes a mail as `<key>.eml`, whole or not at all: written beside it
/// first, then renamed, so a reader (the dev mailbox, an operator's pick-up
/// job) never meets half a mail. A retry of the same mail writes the same
/// file again.
async fn write_eml(dir: &Path, message_key: &str, bytes: &[u8]) -> std::io::Result<()> {
    let partial = dir.join(format!("{message_key}.eml.partial"));
    tokio::fs::write(&partial, bytes).await?;
    tokio::fs::rename(&partial, dir.join(format!("{message_key}.eml"))).await
}

/// Where the embedded default writes mails.
pub fn mail_dir(config: &Config) -> PathBuf {
    config.data_dir.join("mail")
}
