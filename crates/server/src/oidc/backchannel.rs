//! Back-channel logout (OpenID Connect Back-Channel Logout 1.0): when a
//! session ends, every client that received tokens in it and registered a
//! back-channel logout URI gets a signed logout token, through a queue that
//! retries a relying party that is down. The queue keeps what to sign, and
//! each attempt signs a fresh token: one signed at the logout would have
//! expired before the retries of a relying party that is down for long.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::{Duration, Instant},
};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use si_domain::AccountId;
use si_store::{
    Repositories, Store, StoreError,
    logout_queue::{LogoutNotification, UnansweredWebsite, Websites},
    sessions::EndedSession,
};
use tokio::{sync::watch, task::JoinSet};

use super::{
    clients::Client,
    keys::{Keyring, SigningAlgorithm},
    tokens,
};
use crate::{
    app::AppState,
    backoff::{LONGEST_BACKOFF, backoff},
    config::Config,
};

/// How long a logout token is valid (the spec recommends at most two minutes).
const LOGOUT_TOKEN_SECONDS: i64 = 120;
const ATTEMPTS: u32 = 10;
const LEASE: Duration = Duration::from_secs(60);
const BATCH: usize = 100;
/// Deliveries under way at once on one node. A website that hangs holds
/// the places of its own notices only, each for up to its 10 s timeout.
const IN_FLIGHT: usize = 400;
/// Deliveries to one logout URI under way at once on one node before no
/// more are claimed for it (a claim may bring up to a batch beyond): a
/// website that hangs takes at most about half of the places.
const PER_WEBSITE: usize = 100;
/// Deliveries under way at once to a website whose last answer was none
/// (a timeout, a refused connection) or an error: it gets its notices a
/// few at a time, each claimed for it alone, until one goes through. So
/// websites that hang keep the places of only their first notices, for
/// one timeout.
const PER_WEBSITE_UNANSWERED: usize = 2;
/// How long a website that did not answer is claimed for on its own after
/// its last failure while none of its notices are due: until the retries
/// of its last notices are due, so that they too go a few at a time. A
/// website gone for good costs one look in the queue a poll meanwhile.
const UNANSWERED_REMEMBERED: Duration = LONGEST_BACKOFF;

/// Deliveries under way, each ending with its outcome on record, counted
/// per logout URI, and the websites that did not answer.
#[derive(Default)]
struct Deliveries {
    tasks: JoinSet<Result<(), StoreError>>,
    uris: HashMap<tokio::task::Id, String>,
    per_uri: HashMap<String, usize>,
    unanswered: Unanswered,
}

/// The websites that did not take the last notice sent to them. Each
/// delivery tells it of its answer before the outcome goes on record: a
/// claim made after that record knows.
#[derive(Default, Clone)]
struct Unanswered(Arc<Mutex<Answers>>);

/// What the websites answered, by logout URI.
#[derive(Default)]
struct Answers {
    /// Those whose last answer was none or an error, with when it came.
    failed: HashMap<String, Instant>,
    /// When each last took a notice.
    took: HashMap<String, Instant>,
}

impl Unanswered {
    fn answers(&self) -> MutexGuard<'_, Answers> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Notes whether the website took `notification`, sent at `sent_at`,
    /// logging when that changes: a website that is down is warned of
    /// once, not at each of its retries. A notice sent before the website
    /// last took one tells nothing by failing: a website back while its
    /// earlier requests time out is not down again. True when the website
    /// takes notices again.
    fn heard(
        &self,
        notification: &LogoutNotification,
        answer: &Result<(), Failure>,
        sent_at: Instant,
        now: Instant,
    ) -> bool {
        let uri = &notification.logout_uri;
        let client = &notification.client_id;
        let mut answers = self.answers();
        match answer {
            Ok(()) => {
                // Once per website, not per notice: each delivery ends here.
                match answers.took.get_mut(uri) {
                    Some(took) => *took = now,
                    None => _ = answers.took.insert(uri.clone(), now),
                }
                let again = answers.failed.remove(uri).is_some();
                if again {
                    tracing::info!(%client, "a website answers back-channel logouts again");
                }
                again
            }
            Err(Failure::Temporary(reason) | Failure::Permanent(reason)) => {
                let took_one_since = answers.took.get(uri).is_some_and(|took| *took > sent_at);
                if !took_one_since && answers.failed.insert(uri.clone(), now).is_none() {
                    tracing::warn!(
                        %client,
                        "a website did not take a back-channel logout ({reason}): {PER_WEBSITE_UNANSWERED} at a time to it until one goes through"
                    );
                }
                false
            }
        }
    }

    /// Takes the websites the queue says did not answer, as of `now`, and
    /// warns of each as if it had just failed.
    fn remember(&self, websites: Vec<UnansweredWebsite>, now: Instant) {
        let mut answers = self.answers();
        for website in websites {
            tracing::warn!(
                client = %website.client_id,
                "a website did not take its last back-channel logout before this node started ({}): {PER_WEBSITE_UNANSWERED} at a time to it until one goes through",
                website.last_error
            );
            answers.failed.insert(website.logout_uri, now);
        }
    }

    fn uris(&self) -> Vec<String> {
        self.answers().failed.keys().cloned().collect()
    }

    /// The websites, the one that failed longest ago first: each gets its
    /// turn, however many there are.
    fn longest_failed_first(&self) -> Vec<String> {
        let answers = self.answers();
        let mut in_turn: Vec<_> = answers.failed.iter().collect();
        in_turn.sort_by_key(|(_, failed)| **failed);
        in_turn.into_iter().map(|(uri, _)| uri.clone()).collect()
    }

    /// Forgets `uri` if its last failure was long before `now`.
    fn forget_if_long_ago(&self, uri: &str, now: Instant) {
        let mut answers = self.answers();
        let long_ago = |failed: &Instant| now.duration_since(*failed) >= UNANSWERED_REMEMBERED;
        if answers.failed.get(uri).is_some_and(long_ago) {
            answers.failed.remove(uri);
        }
    }
}

impl Deliveries {
    fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Starts delivering each of `notifications`; returns how many.
    fn spawn(&mut self, notifier: &Notifier, notifications: Vec<LogoutNotification>) -> usize {
        let started = notifications.len();
        for notification in notifications {
            let (notifier, unanswered) = (notifier.clone(), self.unanswered.clone());
            let uri = notification.logout_uri.clone();
            let task = self.tasks.spawn(async move {
                // A token that cannot be signed says nothing of the website.
                let (outcome, back) = match notifier.sign(&notification) {
                    Err(failure) => (Err(failure), false),
                    Ok(token) => {
                        let sent_at = Instant::now();
                        let answer = notifier.send(&notification, &token).await;
                        let back = unanswered.heard(&notification, &answer, sent_at, Instant::now());
                        (answer, back)
                    }
                };
                notifier.record(&notification, outcome).await?;
                if back {
                    // Its notices waiting out their backoff need not each
                    // wait for its own retry, up to an hour away.
                    let queue = notifier.store.logout_queue();
                    queue.due_now_for(&notification.logout_uri).await?;
                }
                Ok(())
            });
            *self.per_uri.entry(uri.clone()).or_default() += 1;
            self.uris.insert(task.id(), uri);
        }
        started
    }

    fn under_way(&self, uri: &str) -> usize {
        self.per_uri.get(uri).copied().unwrap_or(0)
    }

    /// The logout URIs not to claim for with the others: those that have
    /// as many deliveries under way as they get, and those that did not
    /// answer (claimed for on their own, a few at a time).
    fn not_with_the_others(&self) -> Vec<String> {
        let full = self.per_uri.iter().filter(|(_, count)| **count >= PER_WEBSITE);
        let full = full.map(|(uri, _)| uri.clone());
        full.chain(self.unanswered.uris()).collect()
    }

    /// The websites that did not answer and have room for another try,
    /// with how many more they get, in turn.
    fn to_try_again(&self) -> Vec<(String, usize)> {
        let with_room = self.unanswered.longest_failed_first().into_iter().map(|uri| {
            let room = PER_WEBSITE_UNANSWERED.saturating_sub(self.under_way(&uri));
            (uri, room)
        });
        with_room.filter(|(_, room)| *room > 0).collect()
    }

    /// The next delivery to end, its outcome on record or not.
    async fn next(&mut self) -> Option<Result<(), DeliveryEnded>> {
        let (id, outcome) = match self.tasks.join_next_with_id().await? {
            Ok((id, recorded)) => (id, recorded.map_err(DeliveryEnded::Unrecorded)),
            Err(err) => (err.id(), Err(DeliveryEnded::Aborted(err))),
        };
        if let Some(uri) = self.uris.remove(&id)
            && let Some(count) = self.per_uri.get_mut(&uri)
        {
            *count -= 1;
            if *count == 0 {
                self.per_uri.remove(&uri);
            }
        }
        Some(outcome)
    }

    /// Claims for `uri` found nothing due `now`: with none under way either
    /// and its last failure long ago, it is claimed for with the others again.
    fn nothing_due_for(&self, uri: &str, now: Instant) {
        if self.under_way(uri) == 0 {
            self.unanswered.forget_if_long_ago(uri, now);
        }
    }
}

/// How a delivery ended without its outcome on record.
enum DeliveryEnded {
    Unrecorded(StoreError),
    Aborted(tokio::task::JoinError),
}

/// A logout token before signing: what the queue keeps.
#[derive(Serialize, Deserialize)]
struct Unsigned {
    alg: String,
    claims: Map<String, Value>,
}

/// Queues a logout token for each client of the ended session, through
/// `repositories`: in the transaction that ended it, so that a node killed
/// in between cannot end a session without its clients ever hearing. The
/// clients are read through it too: a second connection could wait for the
/// one this transaction holds, and a client not read must not pass for one
/// without a back-channel URI.
pub async fn session_ended(
    state: &AppState,
    repositories: &impl Repositories,
    session_digest: &str,
    account: &AccountId,
    client_ids: &[String],
) -> Result<u32, StoreError> {
    let mut queued = 0;
    for client_id in client_ids {
        // A client deleted since goes untold; so does one whose registration
        // was edited by hand into something unreadable, rather than keep every
        // member of its sessions from logging out.
        let Some(record) = repositories.clients().get(client_id).await? else {
            continue;
        };
        let client = match Client::from_record(record) {
            Ok(client) => client,
            Err(err) => {
                tracing::error!(client = %client_id, "no back-channel logout for an unreadable client: {err}");
                continue;
            }
        };
        let Some(uri) = client.backchannel_logout_uri() else {
            continue;
        };
        let claims = json!({
            "iss": state.public_url.as_str(),
            "aud": client.id().as_str(),
            "sub": account.to_string(),
            "sid": tokens::session_id(session_digest),
            "events": { "http://schemas.openid.net/event/backchannel-logout": {} },
        });
        let unsigned = Unsigned {
            alg: client.id_token_algorithm().as_str().to_owned(),
            claims: match claims {
                Value::Object(claims) => claims,
                _ => unreachable!("json! of an object"),
            },
        };
        let to_sign = serde_json::to_string(&unsigned).expect("JSON values serialize");
        repositories
            .logout_queue()
            .enqueue(client.id().as_str(), uri.as_str(), &to_sign)
            .await?;
        queued += 1;
    }
    Ok(queued)
}

/// [`session_ended`] for each of the sessions a password change, a reset or
/// another member's login ended.
pub async fn sessions_ended(
    state: &AppState,
    repositories: &impl Repositories,
    account: &AccountId,
    ended: &[EndedSession],
) -> Result<(), StoreError> {
    for session in ended {
        session_ended(state, repositories, &session.digest, account, &session.clients).await?;
    }
    Ok(())
}

/// Why one delivery did not happen: worth retrying, or never.
enum Failure {
    Temporary(String),
    Permanent(String),
}

/// Delivers queued logout tokens; runs inside `serve` on every node.
#[derive(Clone)]
pub struct Notifier {
    store: Store,
    keyring: Keyring,
    http: reqwest::Client,
    worker: String,
    poll: Duration,
}

impl Notifier {
    pub fn new(store: Store, keyring: Keyring, config: &Arc<Config>) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        let worker = format!("{}-{:08x}", std::process::id(), rand::random::<u32>());
        let poll = Duration::from_millis(config.mail.poll_interval_ms.max(10));
        Self {
            store,
            keyring,
            http,
            worker,
            poll,
        }
    }

    /// Delivers what is due now, a batch at most; returns how many were
    /// claimed, once each outcome is on record.
    pub async fn round(&self) -> Result<usize, StoreError> {
        let mut deliveries = Deliveries::default();
        let started = self.start(BATCH, &mut deliveries).await;
        let mut first_error = Ok(());
        while let Some(ended) = deliveries.next().await {
            match (ended, &first_error) {
                (Err(DeliveryEnded::Unrecorded(err)), Ok(())) => first_error = Err(err),
                (ended, _) => log_delivery(ended),
            }
        }
        let started = started?;
        first_error.map(|()| started)
    }

    /// Claims up to `limit` notices that are due and starts delivering each
    /// of them on its own, relying parties being independent. Websites that
    /// did not answer come first, a few notices each and half the places at
    /// most: a backlog to the others keeps none of them from the try that
    /// shows it is back, nor do they keep the others waiting. Each outcome
    /// is recorded as it comes: a website that hangs holds up neither the
    /// others' notices nor the record of their answers, which a node
    /// stopped in between would otherwise send again. A claim that fails
    /// leaves the deliveries started before it under way.
    async fn start(&self, limit: usize, deliveries: &mut Deliveries) -> Result<usize, StoreError> {
        let for_unanswered = limit.div_ceil(2);
        let mut started = 0;
        for (uri, room) in deliveries.to_try_again() {
            let room = room.min(for_unanswered - started);
            if room == 0 {
                break;
            }
            let tried = self.claim(room, Websites::Only(&uri)).await?;
            if tried.is_empty() {
                deliveries.nothing_due_for(&uri, Instant::now());
            }
            started += deliveries.spawn(self, tried);
        }
        let room = limit - started;
        if room > 0 {
            let not_now = deliveries.not_with_the_others();
            let batch = self.claim(room, Websites::AllBut(&not_now)).await?;
            started += deliveries.spawn(self, batch);
        }
        Ok(started)
    }

    async fn claim(
        &self,
        limit: usize,
        websites: Websites<'_>,
    ) -> Result<Vec<LogoutNotification>, StoreError> {
        let limit = u32::try_from(limit).unwrap_or(u32::MAX);
        (self.store.logout_queue())
            .claim(&self.worker, limit, websites, LEASE)
            .await
    }

    async fn record(
        &self,
        notification: &LogoutNotification,
        outcome: Result<(), Failure>,
    ) -> Result<(), StoreError> {
        let queue = self.store.logout_queue();
        match outcome {
            Ok(()) => queue.delivered(&self.worker, notification.id).await,
            Err(Failure::Temporary(reason)) if notification.attempts < ATTEMPTS => {
                tracing::debug!(client = %notification.client_id, "back-channel logout will be retried: {reason}");
                let at = self.store.clock().now() + backoff(notification.attempts);
                queue.retry_at(&self.worker, notification.id, &reason, at).await
            }
            Err(Failure::Temporary(reason) | Failure::Permanent(reason)) => {
                tracing::error!(client = %notification.client_id, "back-channel logout failed: {reason}");
                queue.mark_failed(&self.worker, notification.id, &reason).await
            }
        }
    }

    /// Signs the logout token now: valid for two minutes from this attempt.
    fn sign(&self, notification: &LogoutNotification) -> Result<String, Failure> {
        let unsigned: Unsigned = serde_json::from_str(&notification.to_sign)
            .map_err(|e| Failure::Permanent(format!("unreadable queued logout token: {e}")))?;
        let algorithm: SigningAlgorithm = unsigned.alg.parse().unwrap_or(SigningAlgorithm::Rs256);
        let now = self.store.clock().now().unix_timestamp();
        let mut claims = unsigned.claims;
        claims.insert("iat".into(), json!(now));
        claims.insert("exp".into(), json!(now + LOGOUT_TOKEN_SECONDS));
        let jti = tokens::random_jti().map_err(|e| Failure::Temporary(e.to_string()))?;
        claims.insert("jti".into(), json!(jti));
        self.keyring
            .sign(algorithm, "logout+jwt", &Value::Object(claims))
            .map_err(|e| Failure::Temporary(e.to_string()))
    }

    /// Posts the signed `token` to the notice's website.
    async fn send(&self, notification: &LogoutNotification, token: &str) -> Result<(), Failure> {
        let response = self
            .http
            .post(&notification.logout_uri)
            .form(&[("logout_token", token)])
            .send()
            .await
            .map_err(|e| Failure::Temporary(no_answer(e)))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(Failure::Temporary(format!(
                "the relying party answered {}",
                response.status()
            )))
        }
    }

    /// Claims what is due every poll interval, and again at once after a
    /// full batch, while fewer than `IN_FLIGHT` deliveries are under way
    /// (places that free up between are filled at the next poll, in one
    /// claim rather than one each). Deliveries do not wait for each other: one
    /// to a website that hangs keeps no later notice waiting. On stop, the
    /// deliveries under way finish.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut deliveries = Deliveries::default();
        // A node that starts knows the websites that did not answer from the
        // queue, instead of sending each of them a batch that may hang.
        match self.store.logout_queue().websites_awaiting_retry().await {
            Ok(websites) => deliveries.unanswered.remember(websites, Instant::now()),
            Err(err) => tracing::warn!("reading the websites that did not answer failed: {err}"),
        }
        let mut next_claim = tokio::time::Instant::now();
        while !*stop.borrow() {
            let room = IN_FLIGHT.saturating_sub(deliveries.len()).min(BATCH);
            if room > 0 && tokio::time::Instant::now() >= next_claim {
                next_claim = match self.start(room, &mut deliveries).await {
                    Ok(claimed) if claimed == BATCH => tokio::time::Instant::now(),
                    Ok(_) => tokio::time::Instant::now() + self.poll,
                    Err(err) => {
                        tracing::warn!("claiming back-channel logouts failed: {err}");
                        tokio::time::Instant::now() + self.poll
                    }
                };
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep_until(next_claim), if room > 0 => {}
                Some(ended) = deliveries.next() => log_delivery(ended),
                _ = stop.changed() => {}
            }
        }
        while let Some(ended) = deliveries.next().await {
            log_delivery(ended);
        }
    }
}

/// Why a request got no answer, down to its first cause (a timeout, a
/// refused connection, a name that does not resolve), without the logout
/// URI: its query may hold what a relying party keeps secret.
fn no_answer(err: reqwest::Error) -> String {
    let err = err.without_url();
    let mut reason = err.to_string();
    let mut cause = std::error::Error::source(&err);
    while let Some(underneath) = cause {
        reason = format!("{reason}: {underneath}");
        cause = underneath.source();
    }
    reason
}

fn log_delivery(ended: Result<(), DeliveryEnded>) {
    match ended {
        Ok(()) => {}
        Err(DeliveryEnded::Unrecorded(err)) => {
            tracing::warn!("recording a back-channel logout failed: {err}")
        }
        Err(DeliveryEnded::Aborted(err)) => tracing::error!("a back-channel logout delivery ended: {err}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice_to(uri: &str) -> LogoutNotification {
        LogoutNotification {
            id: 1,
            client_id: "ebooks".into(),
            logout_uri: uri.into(),
            to_sign: String::new(),
            attempts: 1,
            status: "sending".into(),
            last_error: None,
        }
    }

    fn refused() -> Result<(), Failure> {
        Err(Failure::Temporary("the relying party answered 503".into()))
    }

    #[test]
    fn a_website_that_did_not_answer_is_claimed_with_the_others_after_long_with_nothing_due() {
        let deliveries = Deliveries::default();
        let notice = notice_to("https://hangs.example/backchannel");
        let uri = notice.logout_uri.clone();
        let failed = Instant::now();
        deliveries.unanswered.heard(&notice, &refused(), failed, failed);
        assert_eq!(deliveries.to_try_again(), [(uri.clone(), PER_WEBSITE_UNANSWERED)]);

        deliveries.nothing_due_for(&uri, failed + UNANSWERED_REMEMBERED / 2);
        assert_eq!(
            deliveries.not_with_the_others(),
            std::slice::from_ref(&uri),
            "still remembered"
        );
        deliveries.nothing_due_for(&uri, failed + UNANSWERED_REMEMBERED + Duration::from_secs(1));
        assert!(deliveries.not_with_the_others().is_empty());
        assert!(deliveries.to_try_again().is_empty());

        let later = failed + UNANSWERED_REMEMBERED * 2;
        deliveries.unanswered.heard(&notice, &refused(), later, later);
        deliveries.unanswered.heard(&notice, &Ok(()), later, later);
        assert!(
            deliveries.not_with_the_others().is_empty(),
            "an answer ends it at once"
        );
    }

    #[test]
    fn websites_that_did_not_answer_take_turns_the_longest_failed_first() {
        let deliveries = Deliveries::default();
        let start = Instant::now();
        let uris = [
            "https://a.example/bc",
            "https://b.example/bc",
            "https://c.example/bc",
        ];
        for (n, uri) in uris.iter().enumerate() {
            let failed = start + Duration::from_secs(n as u64);
            deliveries
                .unanswered
                .heard(&notice_to(uri), &refused(), failed, failed);
        }
        let in_turn = || -> Vec<String> {
            deliveries
                .to_try_again()
                .into_iter()
                .map(|(uri, _)| uri)
                .collect()
        };
        assert_eq!(in_turn(), uris);
        let later = start + Duration::from_secs(10);
        deliveries
            .unanswered
            .heard(&notice_to(uris[0]), &refused(), later, later);
        assert_eq!(
            in_turn(),
            [uris[1], uris[2], uris[0]],
            "tried and failed again: last"
        );
    }

    #[test]
    fn a_notice_sent_before_the_website_took_one_tells_nothing_by_failing() {
        let deliveries = Deliveries::default();
        let unanswered = &deliveries.unanswered;
        let notice = notice_to("https://back.example/bc");
        let uri = notice.logout_uri.clone();
        let at = |seconds| Instant::now() + Duration::from_secs(seconds);
        let (start, back) = (at(0), at(2));
        assert!(!unanswered.heard(&notice, &refused(), start, at(1)));
        assert!(unanswered.heard(&notice, &Ok(()), back, at(3)), "it is back");

        // Sent while it hung, timed out after it came back.
        assert!(!unanswered.heard(&notice, &refused(), at(1), at(11)));
        assert!(deliveries.not_with_the_others().is_empty(), "still back");
        assert!(
            !unanswered.heard(&notice, &Ok(()), at(4), at(12)),
            "not back again"
        );

        // Sent after it last took one: down again.
        assert!(!unanswered.heard(&notice, &refused(), at(13), at(14)));
        assert_eq!(deliveries.not_with_the_others(), [uri]);
    }
}
