//! The application: shared state, the router with its middleware, and a
//! server that starts, reports its address and shuts down gracefully.

use std::{net::SocketAddr, sync::Arc};

use axum::{
    Router,
    extract::{DefaultBodyLimit, FromRef},
    http::{StatusCode, Uri, header},
    middleware,
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use serde::Deserialize;
use si_credentials::{Admission, HashingPool};
use si_store::{Clock, Repositories, Store, StoreError, SystemClock};
use tokio::{
    net::TcpListener,
    sync::{oneshot, watch},
    task::JoinHandle,
};
use tower::ServiceBuilder;
use tower_http::{
    classify::StatusInRangeAsFailures,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::{DefaultOnResponse, TraceLayer},
};

use crate::http::page_query::{PagePath, PageQuery};
use crate::{
    config::{Config, PublicUrl},
    demo, frontoffice, health,
    http::{
        error::{PageError, PageErrorKind, Problem},
        i18n::Language,
        observe::{self, Metrics, REQUEST_ID},
        security::{self, SecurityHeaders},
    },
    mail::delivery::{Deliverer, DeliveryError},
    oidc::{
        self,
        keys::{KeyError, Keyring, SealingKey},
    },
    selfservice,
};

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub public_url: PublicUrl,
    pub store: Store,
    pub hasher: HashingPool,
    pub metrics: Metrics,
    pub keyring: Keyring,
    pub clients: oidc::clients::Directory,
    pub strength_checks: selfservice::StrengthChecks,
    /// The demo sites, with `serve --demo` only.
    pub demo: Option<Arc<demo::Sites>>,
}

impl FromRef<AppState> for Keyring {
    fn from_ref(state: &AppState) -> Keyring {
        state.keyring.clone()
    }
}

impl AppState {
    pub fn clock(&self) -> &Arc<dyn Clock> {
        self.store.clock()
    }

    /// A place in line for a password check that would start within
    /// `hashing.max_wait_ms`; none when it would wait longer. An attempt
    /// turned away is neither counted for a throttle nor queued, and
    /// `/metrics` counts it.
    pub fn admit_password_check(&self) -> Option<Admission> {
        let admission = self.hasher.admit(self.config.hashing.max_wait());
        if admission.is_none() {
            self.count_turned_away();
        }
        admission
    }

    /// Whether [`AppState::admit_password_check`] would admit a check now,
    /// without taking a place in line; one it would not is counted.
    pub fn password_check_has_room(&self) -> bool {
        let room = self.hasher.has_room(self.config.hashing.max_wait());
        if !room {
            self.count_turned_away();
        }
        room
    }

    fn count_turned_away(&self) {
        self.metrics
            .record(|| metrics::counter!(observe::PASSWORD_CHECKS_TURNED_AWAY).increment(1));
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot create the data directory {path}: {source}")]
    DataDir { path: String, source: std::io::Error },
    #[error("cannot open the database: {0}")]
    Database(#[from] StoreError),
    #[error(transparent)]
    Mail(#[from] DeliveryError),
    #[error("signing keys: {0}")]
    Keys(#[from] KeyError),
    #[error("demo: {0}")]
    Demo(#[from] demo::SeedError),
    #[error("cannot listen on {address}: {source}")]
    Listen {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error(
        "another serve already runs on the SQLite database {path}: a SQLite file serves one node; stop that one first, or use PostgreSQL (database_url) for several nodes"
    )]
    SqliteInUse { path: String },
    #[error("cannot lock the SQLite database {path} for this serve: {source}")]
    SqliteLock { path: String, source: std::io::Error },
}

/// Holds a SQLite database for this `serve` alone, while the returned file
/// is open: a second one on the same file would share its sessions and
/// its throttle counts, and its `--demo` would re-register the demo sites
/// for its own address. Commands beside it (`client create`, …) take no
/// hold. None on PostgreSQL, and for servers not started by `serve`.
fn hold_sqlite_file(config: &Config) -> Result<Option<std::fs::File>, StartError> {
    if !config.sole_sqlite_node {
        return Ok(None);
    }
    let url = config.database_url();
    let Some(database) = si_store::sqlite_path(&url) else {
        return Ok(None);
    };
    let mut name = database.as_os_str().to_owned();
    name.push(".serve-lock");
    let path = std::path::PathBuf::from(name);
    let failed = |source| StartError::SqliteLock {
        path: database.display().to_string(),
        source,
    };
    // Read only when it exists: a lock needs no more, and one left by a
    // serve run as another user still opens.
    let file = match std::fs::File::open(&path) {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path),
        opened => opened,
    }
    .map_err(failed)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Err(StartError::SqliteInUse {
            path: database.display().to_string(),
        }),
        Err(std::fs::TryLockError::Error(source)) => Err(failed(source)),
    }
}

/// Opens the database, creating the data directory for the embedded default,
/// and brings the schema up to date.
pub async fn open_store(config: &Config, clock: Arc<dyn Clock>) -> Result<Store, StartError> {
    create_data_dir(config)?;
    let store = Store::connect(&config.database_url(), clock).await?;
    store.migrate().await?;
    Ok(store)
}

/// Makes the data directory, private, for the embedded database when no
/// database URL is configured. One this user may not look for is left to
/// the database to report (`cannot open …`: run as the service's user).
pub fn create_data_dir(config: &Config) -> Result<(), StartError> {
    let unseen = config.data_dir.try_exists().is_err();
    if config.database_url.is_none() && !unseen {
        crate::private_dir::create(&config.data_dir).map_err(|source| StartError::DataDir {
            path: config.data_dir.display().to_string(),
            source,
        })?;
    }
    Ok(())
}

/// A running server.
pub struct Server {
    pub address: SocketAddr,
    pub public_url: PublicUrl,
    /// With `serve --demo`: what to print for the person trying it.
    pub demo: Option<demo::Welcome>,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
    stop_mail: watch::Sender<bool>,
    mail_task: JoinHandle<()>,
    notifier_task: JoinHandle<()>,
    /// Released when the server is dropped, after it stopped.
    _sqlite_hold: Option<std::fs::File>,
}

impl Server {
    /// Starts serving `config` with the system clock.
    pub async fn start(config: Config) -> Result<Self, StartError> {
        Self::start_with_clock(config, Arc::new(SystemClock)).await
    }

    pub async fn start_with_clock(config: Config, clock: Arc<dyn Clock>) -> Result<Self, StartError> {
        // The address first: a node started on a port in use changes nothing.
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| StartError::Listen {
                address: config.listen,
                source,
            })?;
        let address = listener.local_addr().map_err(|source| StartError::Listen {
            address: config.listen,
            source,
        })?;
        // Held before the database is opened: a second serve changes
        // nothing, not even the schema, before it stops.
        create_data_dir(&config)?;
        let sqlite_hold = hold_sqlite_file(&config)?;
        let store = open_store(&config, clock).await?;
        // During a rolling upgrade an older node restarts on the newer
        // schema: it runs, and says so.
        if let si_store::Schema::Ahead(unknown) = store.schema().await? {
            tracing::warn!(
                steps = %unknown.join(", "),
                "the database has schema steps this version does not know: a newer version migrated it; upgrade this node"
            );
        }
        let public_url = config.public_url.clone().unwrap_or_else(|| {
            PublicUrl::try_from(format!("http://{address}")).expect("a socket address makes a URL")
        });
        if config.public_url.is_none() && store.backend() == si_store::Backend::Postgres {
            tracing::warn!(
                "public_url (SI_PUBLIC_URL) is not set: this node names itself {public_url} in every token and link, \
                 and a node that shares this database under another name refuses its tokens; set the one address \
                 members reach the service at on every node"
            );
        }
        let permits = match config.hashing.concurrency {
            0 => None,
            n => Some(n),
        };
        let sealing = SealingKey::load(&config, &store).await?;
        let keyring = Keyring::load_or_create(&store, &sealing).await?;
        let (demo, welcome) = if config.demo {
            let seeded = demo::seed(&store, &config, &public_url).await?;
            let sites = demo::Sites::new(
                public_url.clone(),
                seeded.website_secret.expose().to_owned(),
                seeded.ebooks_secret.expose().to_owned(),
            );
            let welcome = demo::Welcome {
                public_url: public_url.clone(),
                staff_password: seeded.staff_password,
            };
            (Some(Arc::new(sites)), Some(welcome))
        } else {
            (None, None)
        };
        let config = Arc::new(config);
        let deliverer = Deliverer::new(store.clone(), sealing.clone(), config.clone())?;
        let clients = oidc::clients::Directory::new(store.clone());
        let (stop_mail, mail_stopped) = watch::channel(false);
        let mail_task = tokio::spawn(deliverer.run(mail_stopped.clone()));
        tokio::spawn(refresh_keys(keyring.clone(), mail_stopped.clone()));
        tokio::spawn(clients.clone().watch_deletions(mail_stopped.clone()));
        tokio::spawn(keep_house(store.clone(), mail_stopped.clone()));
        let metrics = Metrics::new();
        tokio::spawn(observe::keep_metrics(metrics.clone(), mail_stopped.clone()));
        let recovery_stopped = mail_stopped.clone();
        let notifier_task = tokio::spawn(
            oidc::backchannel::Notifier::new(store.clone(), keyring.clone(), &config).run(mail_stopped),
        );
        let state = AppState {
            config,
            public_url: public_url.clone(),
            store,
            hasher: permits.map_or_else(HashingPool::sized_to_cpus, HashingPool::new),
            metrics,
            keyring: keyring.clone(),
            clients,
            strength_checks: selfservice::StrengthChecks::default(),
            demo,
        };
        tokio::spawn(selfservice::finish_recovery_requests(
            state.clone(),
            recovery_stopped,
        ));
        let (shutdown, stopped) = oneshot::channel::<()>();
        let app = router(state);
        let task = tokio::spawn(crate::http::serve::serve(listener, app, async {
            stopped.await.ok();
        }));
        Ok(Self {
            address,
            public_url,
            demo: welcome,
            shutdown,
            task,
            stop_mail,
            mail_task,
            notifier_task,
            _sqlite_hold: sqlite_hold,
        })
    }

    /// Finishes the requests under way, then stops.
    pub async fn stop(self) -> std::io::Result<()> {
        let _ = self.shutdown.send(());
        let _ = self.stop_mail.send(true);
        let served = self.task.await.unwrap_or_else(|e| Err(std::io::Error::other(e)));
        // The mail worker finishes the batch in hand, the back-channel
        // notifier the deliveries under way (each within its 10 s timeout),
        // so that no answer goes unrecorded; what they had not claimed stays
        // queued.
        let _ = tokio::join!(self.mail_task, self.notifier_task);
        served
    }

    /// Serves until `shutdown` (see [`ShutdownSignals`]), then shuts down gracefully.
    pub async fn run_until(self, shutdown: ShutdownSignals) -> std::io::Result<()> {
        shutdown.received().await;
        tracing::info!("shutting down: finishing the requests under way");
        self.stop().await
    }
}

/// SIGTERM and Ctrl-C, listened for from the moment this is made: made before
/// the service says it is up, so a signal right after cannot kill it unheard.
pub struct ShutdownSignals {
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl ShutdownSignals {
    pub fn listen() -> Self {
        Self {
            #[cfg(unix)]
            terminate: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok(),
        }
    }

    async fn received(self) {
        #[cfg(unix)]
        let terminate = async {
            match self.terminate {
                Some(mut signal) => {
                    signal.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let terminate = std::future::pending::<()>();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            () = terminate => {},
        }
    }
}

/// Reloads the signing keys now and then, so a rotation on one node reaches all.
async fn refresh_keys(keyring: Keyring, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(oidc::keys::REFRESH_INTERVAL) => {
                if let Err(err) = keyring.refresh().await {
                    tracing::warn!("reloading the signing keys failed: {err}");
                }
            }
            _ = stop.changed() => return,
        }
    }
}

/// How often each node sweeps away what has outlived its use.
const HOUSEKEEPING_INTERVAL: std::time::Duration = std::time::Duration::from_secs(600);

/// Sweeps now and then (see `si_store::housekeeping`); every node may.
async fn keep_house(store: Store, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(HOUSEKEEPING_INTERVAL) => {
                match store.housekeeping().sweep(Default::default()).await {
                    Ok(swept) if swept.total() > 0 => tracing::info!(?swept, "housekeeping"),
                    Ok(_) => {}
                    Err(err) => tracing::warn!("housekeeping failed: {err}"),
                }
            }
            _ = stop.changed() => return,
        }
    }
}

/// The pages' scripts, each at its path.
const SCRIPTS: [(&str, &str); 4] = [
    (
        "/static/password-checklist.js",
        include_str!("../static/password-checklist.js"),
    ),
    (
        "/static/desk-register.js",
        include_str!("../static/desk-register.js"),
    ),
    ("/static/carry-on.js", include_str!("../static/carry-on.js")),
    ("/static/keep-typed.js", include_str!("../static/keep-typed.js")),
];

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let security = SecurityHeaders::new(state.public_url.is_https());
    let metrics = state.metrics.clone();
    let proxies = state.config.trusted_proxies.clone();
    let demo = if state.demo.is_some() {
        demo::routes()
    } else {
        Router::new()
    };
    let scripts = SCRIPTS.into_iter().fold(Router::new(), |routes, (path, body)| {
        routes.route(path, get(move || script(body)))
    });
    let router = Router::new()
        .merge(demo)
        .merge(scripts)
        .merge(health::routes())
        .merge(oidc::routes())
        .merge(selfservice::routes())
        .merge(frontoffice::routes())
        .route("/static/site.css", get(stylesheet))
        // Browsers ask for /favicon.ico whatever a page names.
        .route("/static/favicon.svg", get(icon))
        .route("/favicon.ico", get(icon))
        .route("/language/{code}", get(switch_language))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(crate::http::BODY_LIMIT))
        .with_state(state);
    // A 503 is the designed answer to a database outage (logged where it is
    // decided) or a rush of logins (counted in /metrics): only faults are
    // logged as failed responses.
    let faults = StatusInRangeAsFailures::new(500..=502).into_make_classifier();
    router.layer(
            ServiceBuilder::new()
                .layer(middleware::from_fn_with_state(proxies, observe::keep_request_id_of_proxies))
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(TraceLayer::new(faults).make_span_with(|request: &axum::extract::Request| {
                    // The path only: query strings can carry codes and tokens.
                    let id = request
                        .headers()
                        .get(REQUEST_ID)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default();
                    tracing::info_span!("request", request_id = %id, method = %request.method(), path = %request.uri().path())
                }).on_response(DefaultOnResponse::new().level(tracing::Level::INFO)))
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(middleware::from_fn_with_state(security, security::add_security_headers))
                .layer(middleware::from_fn(crate::http::i18n::keep_asked_language))
                .layer(middleware::from_fn(crate::http::error::keep_asked_address))
                .layer(middleware::from_fn_with_state(metrics, observe::track_requests))
                .layer(middleware::from_fn(crate::http::serve::refuse_without_one_host)),
        )
}

async fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", include_str!("../static/site.css"))
}

async fn icon() -> Response {
    asset("image/svg+xml", include_str!("../static/favicon.svg"))
}

async fn script(body: &'static str) -> Response {
    asset("text/javascript; charset=utf-8", body)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// Under `/api/` a library system gets a problem document (RFC 9457),
/// everywhere else a person gets a localized page.
fn is_api(uri: &Uri) -> bool {
    uri.path().starts_with("/api/")
}

async fn not_found(language: Language, uri: Uri) -> Response {
    if is_api(&uri) {
        return Problem::new(StatusCode::NOT_FOUND, "not_found", language.text("api-not-found"))
            .into_response();
    }
    PageError::new(language, PageErrorKind::NotFound).into_response()
}

async fn method_not_allowed(language: Language, uri: Uri) -> Response {
    if is_api(&uri) {
        let problem = Problem::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            language.text("api-method-not-allowed"),
        );
        return problem.into_response();
    }
    PageError::new(language, PageErrorKind::MethodNotAllowed).into_response()
}

/// The page to go back to, as the language switch and the help page get it.
#[derive(Deserialize)]
pub struct ReturnTo {
    #[serde(rename = "return")]
    pub path: Option<String>,
}

/// Remembers the chosen language for a year and goes back to the page the
/// member came from: a local path only, never another site.
async fn switch_language(
    current: Language,
    PagePath(code): PagePath<String>,
    PageQuery(back): PageQuery<ReturnTo>,
) -> Result<Response, PageError> {
    let language = Language::from_code(&code).ok_or(PageError::new(current, PageErrorKind::NotFound))?;
    let target = back
        .path
        .filter(|p| crate::http::is_local_path(p))
        .unwrap_or_else(|| "/".to_owned());
    Ok((
        [(header::SET_COOKIE, language.remembered())],
        Redirect::to(&target),
    )
        .into_response())
}
