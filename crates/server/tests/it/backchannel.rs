//! Back-channel logout: the relying parties of a session hear of its end
//! through a signed logout token, and one that is down hears of it later.

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU32, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{Form, Router, http::StatusCode, routing::post};
use jsonwebtoken::{DecodingKey, Validation, jwk::JwkSet};
use si_store::{
    FixedClock, Repositories, Store,
    account_links::{AccountLink, LinkPurpose},
    logout_queue::Websites,
    testing::TestDatabase,
    time::macros::datetime,
};
use single_identity::oidc::{
    backchannel::Notifier,
    clients::{ClientId, ClientKind, ClientRegistration, GrantType, IdTokenAlgorithm, Scope, register},
    keys::{Keyring, SealingKey},
};
use tokio::sync::Semaphore;

use crate::{
    interop::{
        PASSWORD, REDIRECT_URI, browser, hidden_field, log_in_through, member, press_log_out, query_value,
        shown_after_logout,
    },
    support::{TestApp, spawn_app, test_config},
};

/// A relying party's back-channel endpoint that records the tokens it gets and
/// answers 503 to the first `refuse` requests.
struct Receiver {
    address: SocketAddr,
    tokens: Arc<Mutex<Vec<String>>>,
    /// Each request, in the order they came.
    arrivals: Arc<Mutex<Vec<Arrival>>>,
}

#[derive(Debug, Clone, Copy)]
struct Arrival {
    /// How many requests were under way as it came, itself included.
    at_once: u32,
    /// Whether a token had been taken (answered 200) before it came.
    after_one_taken: bool,
}

impl Receiver {
    /// The first logout token it got, waiting up to `within` for one.
    async fn first_token(&self, within: Duration) -> String {
        let tokens = &self.tokens;
        let came = || async move { !tokens.lock().unwrap().is_empty() };
        eventually(within, "no logout token came in time", came).await;
        self.tokens.lock().unwrap()[0].clone()
    }
}

/// Waits until `done` answers true, failing with `failure` after `within`.
async fn eventually<F: Future<Output = bool>>(within: Duration, failure: &str, mut done: impl FnMut() -> F) {
    let deadline = Instant::now() + within;
    while !done().await {
        assert!(Instant::now() < deadline, "{failure}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn receiver(refuse: u32) -> Receiver {
    receiver_answering_after(refuse, Duration::ZERO).await
}

/// A receiver that takes `delay` over each answer.
async fn receiver_answering_after(refuse: u32, delay: Duration) -> Receiver {
    receiver_with(refuse, delay, None).await
}

/// A receiver that answers each request only once `gate` lets it, a
/// permit each.
async fn receiver_held_by(gate: Arc<Semaphore>) -> Receiver {
    receiver_with(0, Duration::ZERO, Some(gate)).await
}

async fn receiver_with(refuse: u32, delay: Duration, gate: Option<Arc<Semaphore>>) -> Receiver {
    let tokens = Arc::new(Mutex::new(Vec::new()));
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    let refusals = Arc::new(AtomicU32::new(refuse));
    let under_way = Arc::new(AtomicU32::new(0));
    let (recorded, arrived) = (tokens.clone(), arrivals.clone());
    let app = Router::new().route(
        "/backchannel",
        post(move |Form(form): Form<Vec<(String, String)>>| {
            let (recorded, arrived) = (recorded.clone(), arrived.clone());
            let (refusals, under_way) = (refusals.clone(), under_way.clone());
            let gate = gate.clone();
            async move {
                let at_once = under_way.fetch_add(1, Ordering::SeqCst) + 1;
                let after_one_taken = !recorded.lock().unwrap().is_empty();
                arrived.lock().unwrap().push(Arrival {
                    at_once,
                    after_one_taken,
                });
                tokio::time::sleep(delay).await;
                if let Some(gate) = gate {
                    gate.acquire().await.unwrap().forget();
                }
                under_way.fetch_sub(1, Ordering::SeqCst);
                if refusals
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok()
                {
                    return StatusCode::SERVICE_UNAVAILABLE;
                }
                let token = form
                    .into_iter()
                    .find(|(k, _)| k == "logout_token")
                    .map(|(_, v)| v);
                recorded.lock().unwrap().extend(token);
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Receiver {
        address,
        tokens,
        arrivals,
    }
}

async fn register_with_backchannel(store: &Store, uri: &str) -> String {
    let (client, _) = register(
        store,
        ClientRegistration {
            id: Some(ClientId::parse("ebooks").unwrap()),
            name: si_domain::DisplayName::parse("Online Bibliotheek").unwrap(),
            kind: ClientKind::Confidential,
            redirect_uris: vec![REDIRECT_URI.to_owned()],
            post_logout_redirect_uris: vec![],
            backchannel_logout_uri: Some(uri.to_owned()),
            grant_types: vec![GrantType::AuthorizationCode],
            scopes: vec![Scope::parse("openid").unwrap()],
            library: None,
            id_token_algorithm: IdTokenAlgorithm::Rs256,
        },
    )
    .await
    .unwrap();
    client.id().to_string()
}

/// An app with the member "sanne" and the client "ebooks", whose
/// back-channel logout URI is a receiver of the test's own.
struct SanneAndEbooks {
    app: TestApp,
    account: si_store::accounts::Account,
    rp: Receiver,
    client_id: String,
    /// Where the client sends the browser to log in.
    authorize_url: String,
}

async fn sanne_and_ebooks() -> SanneAndEbooks {
    sanne_and_ebooks_answering(receiver(0).await).await
}

async fn sanne_and_ebooks_answering(rp: Receiver) -> SanneAndEbooks {
    let app = spawn_app().await;
    let account = member(&app.store, "sanne").await;
    let client_id =
        register_with_backchannel(&app.store, &format!("http://{}/backchannel", rp.address)).await;
    let authorize_url = format!(
        "{}?client_id={client_id}&redirect_uri={}&response_type=code&scope=openid&state=s",
        app.url("/authorize"),
        REDIRECT_URI
    );
    SanneAndEbooks {
        app,
        account,
        rp,
        client_id,
        authorize_url,
    }
}

#[tokio::test]
async fn logging_out_tells_the_relying_parties_of_the_session() {
    let SanneAndEbooks {
        app,
        account,
        rp,
        client_id,
        authorize_url,
    } = sanne_and_ebooks().await;
    let browser = browser();
    log_in_through(&app, &browser, &authorize_url, "sanne", PASSWORD).await;
    shown_after_logout(&app, &browser, press_log_out(&app, &browser).await).await;

    let token = rp.first_token(Duration::from_secs(30)).await;
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("logout+jwt"));
    let jwks: JwkSet = app.get("/jwks").await.json().await.unwrap();
    let jwk = jwks
        .find(header.kid.as_deref().unwrap())
        .expect("the signing key is published");
    let mut validation = Validation::new(header.alg);
    validation.set_audience(&[client_id.as_str()]);
    validation.set_issuer(&[app.url("").as_str()]);
    let claims =
        jsonwebtoken::decode::<serde_json::Value>(&token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
            .expect("a valid logout token")
            .claims;
    assert_eq!(claims["sub"], account.id.to_string());
    assert!(claims["sid"].as_str().is_some_and(|sid| !sid.is_empty()));
    assert!(claims["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object());
    assert!(
        claims.get("nonce").is_none(),
        "a logout token never carries a nonce"
    );
    app.stop().await;
}

/// A node stopped while a website is still answering its notice waits for
/// the answer and records it: the notice is neither lost nor, after the
/// lease, sent a second time.
#[tokio::test]
async fn a_node_that_stops_records_the_answers_under_way() {
    let rp = receiver_answering_after(0, Duration::from_secs(1)).await;
    let SanneAndEbooks {
        mut app,
        rp,
        authorize_url,
        ..
    } = sanne_and_ebooks_answering(rp).await;
    let browser = browser();
    log_in_through(&app, &browser, &authorize_url, "sanne", PASSWORD).await;
    shown_after_logout(&app, &browser, press_log_out(&app, &browser).await).await;
    let store = &app.store;
    let sending = || async move {
        let entries = store.logout_queue().entries().await.unwrap();
        entries.first().is_some_and(|entry| entry.status == "sending")
    };
    eventually(Duration::from_secs(5), "the notice was never claimed", sending).await;

    app.stop_serving().await;

    let left = app.store.logout_queue().entries().await.unwrap();
    assert!(left.is_empty(), "the answer is on record: {left:?}");
    assert_eq!(rp.tokens.lock().unwrap().len(), 1);
}

/// A logout stopped half-way (here: its notices cannot be queued; a node
/// killed is another way) ends nothing, so that the next one still finds
/// the session and ends it whole, its clients told. Ended with the notices
/// left to chance, no second logout would have found the session.
#[tokio::test]
async fn a_logout_that_cannot_finish_ends_nothing_and_the_next_one_ends_all() {
    use sea_orm::ConnectionTrait;

    let SanneAndEbooks {
        app,
        rp,
        authorize_url: url,
        ..
    } = sanne_and_ebooks().await;
    let browser = browser();
    log_in_through(&app, &browser, &url, "sanne", PASSWORD).await;
    let database = app.store.connection();
    let no_queue = "ALTER TABLE logout_notifications RENAME TO logout_notifications_away";
    database.execute_unprepared(no_queue).await.unwrap();

    let stopped = press_log_out(&app, &browser).await;

    assert_eq!(stopped.status(), 500);
    let back = "ALTER TABLE logout_notifications_away RENAME TO logout_notifications";
    database.execute_unprepared(back).await.unwrap();
    let still_signed_in = browser.get(format!("{url}&prompt=none")).send().await.unwrap();
    let location = still_signed_in.headers()["location"].to_str().unwrap();
    assert!(query_value(location, "code").is_some(), "{location}");
    shown_after_logout(&app, &browser, press_log_out(&app, &browser).await).await;
    rp.first_token(Duration::from_secs(30)).await;
    let signed_out = browser.get(format!("{url}&prompt=none")).send().await.unwrap();
    let location = signed_out.headers()["location"].to_str().unwrap();
    assert_eq!(query_value(location, "error").as_deref(), Some("login_required"));
    app.stop().await;
}

/// A store on a clock of its own, with the notifier that delivers its
/// queue (and the database and directory they live in, kept to the end).
struct Queue {
    store: Store,
    clock: FixedClock,
    notifier: Notifier,
    _database: TestDatabase,
    _dir: tempfile::TempDir,
}

async fn queue() -> Queue {
    let database = TestDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    let clock = FixedClock::at(datetime!(2024-06-19 10:00 UTC));
    let store = Store::connect(&database.url, Arc::new(clock.clone()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let config = test_config(&database, dir.path());
    let sealing = SealingKey::load(&config, &store).await.unwrap();
    let keyring = Keyring::load_or_create(&store, &sealing).await.unwrap();
    let notifier = Notifier::new(store.clone(), keyring, &Arc::new(config));
    Queue {
        store,
        clock,
        notifier,
        _database: database,
        _dir: dir,
    }
}

/// Queues a notice to `uri` for the client "ebooks".
async fn queue_notice(store: &Store, uri: &str) {
    store
        .logout_queue()
        .enqueue("ebooks", uri, TO_SIGN)
        .await
        .unwrap();
}

/// A notifier's `run` loop, as in `serve`, stopped when this is dropped.
struct Running {
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        self.task.abort();
    }
}

impl Queue {
    fn run(&self) -> Running {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(self.notifier.clone().run(stopped));
        Running { stop, task }
    }

    /// Waits until the first notice was refused and waits for its retry.
    async fn first_refusal(&self) {
        let store = &self.store;
        let refused = || async move {
            let entries = store.logout_queue().entries().await.unwrap();
            entries
                .iter()
                .any(|entry| entry.attempts == 1 && entry.status == "pending")
        };
        let failure = "the first notice was not refused";
        eventually(Duration::from_secs(5), failure, refused).await;
    }
}

/// A website that takes the connection and never reads the request nor
/// answers it, and its logout URI.
async fn hanging_website() -> (tokio::net::TcpListener, String) {
    let hanging = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let uri = format!("http://{}/backchannel", hanging.local_addr().unwrap());
    (hanging, uri)
}

/// What the queue keeps for a logout token to the client "ebooks".
const TO_SIGN: &str = r#"{"alg":"ES256","claims":{"iss":"http://si.example","aud":"ebooks","sub":"s","sid":"x","events":{"http://schemas.openid.net/event/backchannel-logout":{}}}}"#;

#[tokio::test]
async fn a_relying_party_that_is_down_hears_of_the_logout_when_it_is_back() {
    let queue = queue().await;
    let (store, clock, notifier) = (&queue.store, &queue.clock, &queue.notifier);
    let rp = receiver(1).await;
    let uri = format!("http://{}/backchannel", rp.address);
    queue_notice(store, &uri).await;

    assert_eq!(notifier.round().await.unwrap(), 1);
    let waiting = store.logout_queue().entries().await.unwrap();
    assert_eq!((waiting[0].status.as_str(), waiting[0].attempts), ("pending", 1));
    assert!(
        waiting[0]
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("503"),
        "{waiting:?}"
    );
    assert_eq!(notifier.round().await.unwrap(), 0, "not before its backoff");

    // Ten minutes later the RP is back: the token it gets is signed now, not
    // at the logout, so it has not expired on the way.
    clock.advance(si_store::time::Duration::minutes(10));
    assert_eq!(notifier.round().await.unwrap(), 1);
    let delivered = rp.tokens.lock().unwrap().clone();
    assert_eq!(delivered.len(), 1);
    let claims = jsonwebtoken::dangerous::insecure_decode::<serde_json::Value>(&delivered[0])
        .unwrap()
        .claims;
    let retried_at = datetime!(2024-06-19 10:10 UTC).unix_timestamp();
    assert_eq!(claims["iat"], retried_at);
    assert_eq!(claims["exp"], retried_at + 120);
    assert_eq!(
        (claims["aud"].as_str(), claims["sid"].as_str()),
        (Some("ebooks"), Some("x"))
    );
    assert!(
        store.logout_queue().entries().await.unwrap().is_empty(),
        "delivered notifications are removed"
    );
}

/// A relying party that never answers does not hold up the notices of the
/// others: they are told at once, not after its request times out.
#[tokio::test]
async fn a_relying_party_that_hangs_does_not_hold_up_the_others() {
    let queue = queue().await;
    let store = &queue.store;
    let (hanging, hanging_uri) = hanging_website().await;
    let rp = receiver(0).await;
    queue_notice(store, &hanging_uri).await;
    queue_notice(store, &format!("http://{}/backchannel", rp.address)).await;

    let notifier = queue.notifier.clone();
    let round = tokio::spawn(async move { notifier.round().await });

    rp.first_token(Duration::from_secs(5)).await;
    // Its answer is on record at once, not when the hanging one times out:
    // a node stopped in between would send it again.
    let recorded = || async move { store.logout_queue().entries().await.unwrap().len() == 1 };
    let waited = "the delivery waited for the hanging one to be recorded";
    eventually(Duration::from_secs(5), waited, recorded).await;
    assert!(!round.is_finished(), "the hanging request is still under way");
    round.abort();
    drop(hanging);
}

/// A website that refuses the connection: the reason kept for the operator
/// says so, and leaves out the logout URI, whose query may hold a secret.
#[tokio::test]
async fn the_reason_kept_for_a_refused_connection_says_so_without_the_uri() {
    let queue = queue().await;
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let uri = format!("http://{}/backchannel?key=geheim", closed.local_addr().unwrap());
    drop(closed);
    queue_notice(&queue.store, &uri).await;

    assert_eq!(queue.notifier.round().await.unwrap(), 1);
    let entries = queue.store.logout_queue().entries().await.unwrap();
    let reason = entries[0].last_error.clone().unwrap_or_default();
    assert!(reason.to_lowercase().contains("connection refused"), "{reason}");
    assert!(!reason.contains("geheim"), "{reason}");
}

/// Notices queued while earlier ones wait for a website that hangs go out
/// at once, however many of those are waiting (each was claimed on its
/// own), not after that website's requests time out.
#[tokio::test]
async fn notices_queued_while_others_wait_for_a_hanging_website_go_out_at_once() {
    let queue = queue().await;
    let store = &queue.store;
    let (hanging, hanging_uri) = hanging_website().await;
    let rp = receiver(0).await;
    let _running = queue.run();
    for _ in 0..6 {
        queue_notice(store, &hanging_uri).await;
        let all_claimed = || async move {
            let entries = store.logout_queue().entries().await.unwrap();
            entries.iter().all(|entry| entry.status == "sending")
        };
        let waited = "a notice to the hanging website was not claimed while others waited";
        eventually(Duration::from_secs(5), waited, all_claimed).await;
    }

    let uri = format!("http://{}/backchannel", rp.address);
    queue_notice(store, &uri).await;
    rp.first_token(Duration::from_secs(5)).await;
    drop(hanging);
}

/// A website that hangs with more notices due than a node delivers at once
/// takes only its share of the places: another website's notice still goes
/// out at once, not after the hanging requests time out.
#[tokio::test]
async fn a_website_that_hangs_with_hundreds_of_notices_due_keeps_no_other_waiting() {
    let queue = queue().await;
    let store = &queue.store;
    let (hanging, hanging_uri) = hanging_website().await;
    for _ in 0..450 {
        queue_notice(store, &hanging_uri).await;
    }
    let _running = queue.run();
    let some_sending = || async move {
        let entries = store.logout_queue().entries().await.unwrap();
        entries.iter().any(|entry| entry.status == "sending")
    };
    eventually(Duration::from_secs(5), "no notice was claimed", some_sending).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let rp = receiver(0).await;
    let uri = format!("http://{}/backchannel", rp.address);
    queue_notice(store, &uri).await;
    rp.first_token(Duration::from_secs(5)).await;
    let entries = store.logout_queue().entries().await.unwrap();
    let sending = entries.iter().filter(|entry| entry.status == "sending").count();
    assert!(
        sending <= 200,
        "{sending} notices to the hanging website under way"
    );
    drop(hanging);
}

/// A website that stops taking notices gets them two at a time, each
/// claimed for it alone, so that its notices hold no places they cannot
/// use; once one goes through, the rest go out side by side again.
#[tokio::test]
async fn a_website_that_does_not_answer_gets_its_notices_two_at_a_time_until_it_does() {
    let queue = queue().await;
    let store = &queue.store;
    // Refuses the first five notices it gets; takes 200 ms over each.
    let struggling = receiver_answering_after(5, Duration::from_millis(200)).await;
    let struggling_uri = format!("http://{}/backchannel", struggling.address);
    let _running = queue.run();
    queue_notice(store, &struggling_uri).await;
    queue.first_refusal().await;

    for _ in 0..20 {
        queue_notice(store, &struggling_uri).await;
    }
    let answering = receiver(0).await;
    queue_notice(store, &format!("http://{}/backchannel", answering.address)).await;
    answering.first_token(Duration::from_secs(5)).await;
    // Four more refused, two at a time, until one is taken; most of the
    // rest then side by side, the five refused again with them.
    let tokens = &struggling.tokens;
    let all_taken = || async move { tokens.lock().unwrap().len() == 21 };
    eventually(Duration::from_secs(10), "the notices were not taken", all_taken).await;
    let arrivals = struggling.arrivals.lock().unwrap().clone();
    assert_eq!(arrivals.len(), 26, "{arrivals:?}");
    let (before, after): (Vec<Arrival>, Vec<Arrival>) =
        arrivals.iter().partition(|arrival| !arrival.after_one_taken);
    assert!(before.iter().all(|arrival| arrival.at_once <= 2), "{arrivals:?}");
    assert!(after.iter().any(|arrival| arrival.at_once > 2), "{arrivals:?}");
}

/// A website that takes notices again gets those waiting for their retry
/// at once, not each at its own time (up to an hour away).
#[tokio::test]
async fn a_website_that_is_back_gets_the_notices_waiting_for_a_retry_at_once() {
    let queue = queue().await;
    let store = &queue.store;
    // Refuses the first three notices it gets.
    let rp = receiver(3).await;
    let uri = format!("http://{}/backchannel", rp.address);
    for _ in 0..3 {
        queue_notice(store, &uri).await;
    }
    let _running = queue.run();
    let all_refused = || async move {
        let entries = store.logout_queue().entries().await.unwrap();
        entries.len() == 3
            && entries
                .iter()
                .all(|entry| entry.attempts == 1 && entry.status == "pending")
    };
    eventually(Duration::from_secs(5), "the three were not refused", all_refused).await;

    // The store's clock stands still: their retries never come due by
    // themselves. A new notice is taken, and shows the website is back.
    queue_notice(store, &uri).await;
    let tokens = &rp.tokens;
    let all_taken = || async move { tokens.lock().unwrap().len() == 4 };
    let failure = "the notices waiting for a retry did not go when the website was back";
    eventually(Duration::from_secs(5), failure, all_taken).await;
    // The last answer may come before its delivery is on record.
    let all_recorded = || async move { store.logout_queue().entries().await.unwrap().is_empty() };
    let failure = "the notices taken were not removed from the queue";
    eventually(Duration::from_secs(5), failure, all_recorded).await;
}

/// A node that starts finds the websites that did not answer in the queue:
/// one with a notice waiting for its retry gets two at a time from the
/// start, not a batch that would hang.
#[tokio::test]
async fn a_node_that_starts_knows_the_websites_that_did_not_answer() {
    let queue = queue().await;
    let store = &queue.store;
    let (hanging, hanging_uri) = hanging_website().await;
    queue_notice(store, &hanging_uri).await;
    let logout_queue = store.logout_queue();
    let lease = Duration::from_secs(60);
    let earlier = logout_queue
        .claim("an earlier node", 1, Websites::AllBut(&[]), lease)
        .await
        .unwrap();
    let timed_out = "error sending request: operation timed out";
    let retry_at = datetime!(2024-06-19 10:30 UTC);
    logout_queue
        .retry_at("an earlier node", earlier[0].id, timed_out, retry_at)
        .await
        .unwrap();
    for _ in 0..150 {
        queue_notice(store, &hanging_uri).await;
    }
    let rp = receiver(0).await;
    queue_notice(store, &format!("http://{}/backchannel", rp.address)).await;

    let _running = queue.run();
    rp.first_token(Duration::from_secs(5)).await;
    let entries = logout_queue.entries().await.unwrap();
    let to_the_hanging_one = entries
        .iter()
        .filter(|entry| entry.logout_uri == hanging_uri && entry.status == "sending")
        .count();
    assert_eq!(to_the_hanging_one, 2);
    drop(hanging);
}

/// A website that failed once gets its next notice as soon as a place is
/// free, ahead of a backlog to other websites: else it could not show that
/// it is back before they had all gone out.
#[tokio::test]
async fn a_website_that_failed_once_is_tried_again_ahead_of_a_backlog() {
    let queue = queue().await;
    let store = &queue.store;
    let struggling = receiver(1).await;
    let struggling_uri = format!("http://{}/backchannel", struggling.address);
    let _running = queue.run();
    queue_notice(store, &struggling_uri).await;
    queue.first_refusal().await;

    // Five websites that answer only when let, 600 notices: more than a
    // node has places for.
    let gate = Arc::new(Semaphore::new(0));
    let held = receiver_held_by(gate.clone()).await;
    let backlog = store.begin().await.unwrap();
    for n in 0..600 {
        let uri = format!("http://{}/backchannel?site={}", held.address, n % 5);
        let queued = backlog.logout_queue().enqueue("ebooks", &uri, TO_SIGN).await;
        queued.unwrap();
    }
    backlog.commit().await.unwrap();
    let places_taken = || async move {
        let entries = store.logout_queue().entries().await.unwrap();
        entries.iter().filter(|entry| entry.status == "sending").count() >= 400
    };
    eventually(Duration::from_secs(10), "the places were not taken", places_taken).await;
    queue_notice(store, &struggling_uri).await;

    // Ten answers free ten places: one goes to the website that failed.
    // (Within half the 10 s the held requests take to time out and free
    // every place.)
    gate.add_permits(10);
    struggling.first_token(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_password_reset_tells_the_relying_parties_of_the_sessions_it_ends() {
    let SanneAndEbooks {
        app,
        account,
        rp,
        client_id,
        authorize_url,
    } = sanne_and_ebooks().await;
    log_in_through(&app, &browser(), &authorize_url, "sanne", PASSWORD).await;
    app.store
        .account_links()
        .issue(
            &si_credentials::secrets::digest("reset-token"),
            &AccountLink {
                account: account.id,
                purpose: LinkPurpose::ResetPassword,
                expires_at: time::OffsetDateTime::now_utc() + time::Duration::minutes(30),
            },
        )
        .await
        .unwrap();
    let member_browser = browser();
    let page = member_browser
        .get(app.url("/reset-password?token=reset-token"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let reset = member_browser
        .post(app.url("/reset-password"))
        .form(&[
            ("csrf", hidden_field(&page, "csrf").as_str()),
            ("token", "reset-token"),
            ("password", "Zonnebloem-tafel-42!"),
            ("repeat", "Zonnebloem-tafel-42!"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 303);

    let token = rp.first_token(Duration::from_secs(30)).await;
    let claims = jsonwebtoken::dangerous::insecure_decode::<serde_json::Value>(&token)
        .unwrap()
        .claims;
    assert_eq!(claims["sub"], account.id.to_string());
    assert_eq!(claims["aud"], client_id);
    app.stop().await;
}
