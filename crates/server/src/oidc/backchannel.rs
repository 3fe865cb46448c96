//! Back-channel logout (OpenID Connect Back-Channel Logout 1.0): when a
//! session ends, every client that received tokens in it and registered a
//! back-channel logout URI gets a signed logout token, through a queue that
//! retries a relying party that is down.

use std::{sync::Arc, time::Duration};

use serde_json::json;
use si_domain::AccountId;
use si_store::{Repositories, Store, StoreError, logout_queue::LogoutNotification, sessions::EndedSession};
use tokio::sync::watch;

use super::{
    keys::{KeyError, SigningAlgorithm},
    tokens::{self, find_client},
};
use crate::{app::AppState, backoff::backoff, config::Config};

/// How long a logout token is valid (the spec recommends at most two minutes).
const LOGOUT_TOKEN_SECONDS: i64 = 120;
const ATTEMPTS: u32 = 10;
const LEASE: Duration = Duration::from_secs(60);
const BATCH: u32 = 100;

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Keys(#[from] KeyError),
    #[error(transparent)]
    Tokens(#[from] tokens::TokenError),
}

/// Queues a logout token for each client of the ended session.
pub async fn session_ended(
    state: &AppState,
    session_digest: &str,
    account: &AccountId,
    client_ids: &[String],
) -> Result<u32, NotifyError> {
    let now = state.clock().now().unix_timestamp();
    let mut queued = 0;
    for client_id in client_ids {
        let Some(client) = find_client(state, client_id).await else {
            continue;
        };
        let Some(uri) = client.backchannel_logout_uri() else {
            continue;
        };
        let claims = json!({
            "iss": state.public_url.as_str(),
            "aud": client.id().as_str(),
            "iat": now,
            "exp": now + LOGOUT_TOKEN_SECONDS,
            "jti": tokens::random_jti()?,
            "sub": account.to_string(),
            "sid": tokens::session_id(session_digest),
            "events": { "http://schemas.openid.net/event/backchannel-logout": {} },
        });
        let algorithm: SigningAlgorithm = client
            .id_token_algorithm()
            .as_str()
            .parse()
            .unwrap_or(SigningAlgorithm::Rs256);
        let token = state.keyring.sign(algorithm, "logout+jwt", &claims)?;
        state
            .store
            .logout_queue()
            .enqueue(client.id().as_str(), uri.as_str(), &token)
            .await?;
        queued += 1;
    }
    Ok(queued)
}

/// Tells the clients of sessions that a password change or reset ended.
/// The sessions are gone already; a notice that cannot be queued is logged.
pub async fn sessions_ended(state: &AppState, account: &AccountId, ended: &[EndedSession]) {
    for session in ended {
        if let Err(err) = session_ended(state, &session.digest, account, &session.clients).await {
            tracing::error!("queueing back-channel logout failed: {err}");
        }
    }
}

/// Delivers queued logout tokens; runs inside `serve` on every node.
#[derive(Clone)]
pub struct Notifier {
    store: Store,
    http: reqwest::Client,
    worker: String,
    poll: Duration,
}

impl Notifier {
    pub fn new(store: Store, config: &Arc<Config>) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        let worker = format!("{}-{:08x}", std::process::id(), rand::random::<u32>());
        let poll = Duration::from_millis(config.mail.poll_interval_ms.max(10));
        Self {
            store,
            http,
            worker,
            poll,
        }
    }

    /// Delivers what is due now; returns how many were claimed.
    pub async fn round(&self) -> Result<usize, StoreError> {
        let queue = self.store.logout_queue();
        let batch = queue.claim(&self.worker, BATCH, LEASE).await?;
        for notification in &batch {
            match self.deliver(notification).await {
                Ok(()) => queue.delivered(&self.worker, notification.id).await?,
                Err(reason) if notification.attempts < ATTEMPTS => {
                    tracing::warn!(client = %notification.client_id, "back-channel logout will be retried: {reason}");
                    let at = self.store.clock().now() + backoff(notification.attempts);
                    queue.retry_at(&self.worker, notification.id, &reason, at).await?;
                }
                Err(reason) => {
                    tracing::error!(client = %notification.client_id, "back-channel logout failed: {reason}");
                    queue.mark_failed(&self.worker, notification.id, &reason).await?;
                }
            }
        }
        Ok(batch.len())
    }

    async fn deliver(&self, notification: &LogoutNotification) -> Result<(), String> {
        let response = self
            .http
            .post(&notification.logout_uri)
            .form(&[("logout_token", notification.logout_token.as_str())])
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("the relying party answered {}", response.status()))
        }
    }

    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        while !*stop.borrow() {
            let busy = match self.round().await {
                Ok(claimed) => claimed >= BATCH as usize,
                Err(err) => {
                    tracing::warn!("back-channel logout round failed: {err}");
                    false
                }
            };
            if !busy {
                tokio::select! {
                    _ = tokio::time::sleep(self.poll) => {}
                    _ = stop.changed() => {}
                }
            }
        }
    }
}
