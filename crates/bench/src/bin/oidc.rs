//! The OpenID Connect provider under load, side by side in one run: the raw
//! argon2id hash rate, full password logins (authorize → login form → code →
//! token) with the CPU time the server and this program spend on each and
//! how often the server's threads were switched, `client_credentials`
//! grants, refresh grants with rotation, and the server's resident memory
//! idle and at its peak. Last, the same logins with argon2id at its least
//! cost, on a server configured for it: what a login costs besides its
//! hash, which is what keeps the login rate under the raw hash rate. The
//! server runs as its own process (the release binary); this program is
//! the load generator.
//!
//! Usage: `oidc [--binary PATH] [--database-url URL] [--seconds N]`
//! (defaults: target/release/single-identity, a fresh SQLite file, 5 s per phase).
//! A PostgreSQL URL must name an empty database.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, ExitCode, Stdio},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use base64::Engine;
use sha2::{Digest, Sha256};
use si_credentials::{Argon2Params, HashingPool, hash_password};
use si_domain::{
    AccountStatus, AgeRange, BranchCode, CardNumber, DisplayName, Email, LibraryCode, Money,
    SubscriptionCode, SubscriptionTerms, TariffCode, Username,
};
use si_store::{
    Repositories, Store, SystemClock,
    accounts::NewAccount,
    catalogue::{Branch, Library, NewSubscriptionType, SubscriptionType},
    memberships::NewMembership,
};
use single_identity::oidc::clients::{
    ClientId, ClientKind, ClientRegistration, GrantType, IdTokenAlgorithm, Scope, register,
};

const PASSWORD: &str = "Bench!Passw0rd";
const REDIRECT_URI: &str = "http://127.0.0.1:9/callback";
const MEMBERS: usize = 64;
/// argon2id at the least cost it allows, KiB and passes: a hash of a few
/// microseconds, for measuring the rest of a login.
const LEAST_COST: (u32, u32) = (8, 1);
/// How many alternating slices the hash and login phases are cut into.
const SLICES: u32 = 4;
/// The start of every measured stretch that does not count.
const WARM_UP: Duration = Duration::from_millis(200);

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> ExitCode {
    let mut binary = "target/release/single-identity".to_owned();
    let mut database_url = None;
    let mut seconds = 5u64;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--binary", Some(path)) => binary = path,
            ("--database-url", Some(url)) => database_url = Some(url),
            ("--seconds", Some(n)) if n.parse::<u64>().is_ok_and(|n| n > 0) => {
                seconds = n.parse().unwrap_or(5)
            }
            _ => {
                eprintln!("usage: oidc [--binary PATH] [--database-url URL] [--seconds N]");
                return ExitCode::from(2);
            }
        }
    }
    match run(&binary, database_url, Duration::from_secs(seconds)).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

struct Clients {
    rp: (String, String),
    refresher: (String, String),
    system: (String, String),
}

async fn run(binary: &str, database_url: Option<String>, phase: Duration) -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let url = database_url.unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let store = Store::connect(&url, Arc::new(SystemClock)).await?;
    store.migrate().await?;
    let backend = format!("{:?}", store.backend());
    let clients = prepare(&store).await?;
    drop(store);

    let mut server = Server::start(binary, &url, dir.path(), &[])?;
    let base = server.url.clone();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_rss = server.rss_kib("VmRSS")?;

    // One connection pool for all simulated browsers: building a client per
    // login would load the system's root certificates each time and make the
    // load generator, not the server, the cost being measured.
    let http = login_http_client()?;

    // The raw hash rate and the login rate in alternating slices, so that the
    // machine's noise falls on both alike.
    let pool = HashingPool::sized_to_cpus();
    let slice = phase / SLICES;
    let (mut hashes, mut logins) = (0.0, 0.0);
    // Each pair of slices' own ratio, to show how far the machine's noise moves it.
    let mut slice_ratios = Vec::new();
    // CPU time used during the slices: this process's while it hashes; the
    // server's and this process's (the load generator) while logins run.
    let (mut hashing_cpu, mut server_cpu, mut generator_cpu) = (0.0, 0.0, 0.0);
    // Of the server's: its hashing threads', to tell a hash slowed down by
    // the work beside it from the work itself; and how often its threads
    // were switched, as every hand-off between them wakes one.
    let (mut server_hashing_cpu, mut server_switches) = (0.0, 0);
    let own_pid = std::process::id();
    for _ in 0..SLICES {
        let pool = pool.clone();
        let before = cpu_seconds(own_pid)?;
        let slice_hashes = rate(slice, 8, move |_| {
            let pool = pool.clone();
            async move {
                pool.hash(PASSWORD.to_owned(), Argon2Params::default())
                    .await
                    .is_ok()
            }
        })
        .await;
        hashing_cpu += cpu_seconds(own_pid)? - before;
        let before = (
            cpu_seconds(server.pid())?,
            cpu_seconds(own_pid)?,
            threads_so_far(server.pid())?,
        );
        let slice_logins = login_rate(slice, &http, &base, &clients.rp, "member").await;
        server_cpu += cpu_seconds(server.pid())? - before.0;
        generator_cpu += cpu_seconds(own_pid)? - before.1;
        let server_threads = threads_so_far(server.pid())?;
        server_hashing_cpu += server_threads.hashing_cpu_seconds - before.2.hashing_cpu_seconds;
        server_switches += server_threads.context_switches - before.2.context_switches;
        hashes += slice_hashes / f64::from(SLICES);
        logins += slice_logins / f64::from(SLICES);
        slice_ratios.push(slice_logins / slice_hashes);
    }
    let (lowest, highest) = slice_ratios
        .iter()
        .fold((f64::MAX, f64::MIN), |(low, high), &r| (low.min(r), high.max(r)));

    let (grant_http, grant_base, system) = (http.clone(), base.clone(), clients.system.clone());
    let grants = rate(phase, 32, move |_| {
        let (http, base, system) = (grant_http.clone(), grant_base.clone(), system.clone());
        async move {
            http.post(format!("{base}/token"))
                .basic_auth(&system.0, Some(&system.1))
                .form(&[("grant_type", "client_credentials"), ("scope", "desk:search")])
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        }
    })
    .await;

    // One refresh token per worker, from a real login, then rotation in a loop.
    let mut tokens = Vec::new();
    for worker in 0..32 {
        let refresher = clients.refresher.clone();
        let tokens_of = login(&http, &base, &refresher, &format!("member{}", worker % MEMBERS)).await?;
        tokens.push(Arc::new(tokio::sync::Mutex::new(tokens_of)));
    }
    let refresher = clients.refresher.clone();
    let refreshes = rate(phase, 32, move |worker| {
        let (http, base, refresher, slot) = (
            http.clone(),
            base.clone(),
            refresher.clone(),
            tokens[worker].clone(),
        );
        async move {
            let mut current = slot.lock().await;
            let response = http
                .post(format!("{base}/token"))
                .basic_auth(&refresher.0, Some(&refresher.1))
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", current.as_str()),
                ])
                .send()
                .await;
            let Ok(response) = response else { return false };
            let Ok(body) = response.json::<serde_json::Value>().await else {
                return false;
            };
            match body["refresh_token"].as_str() {
                Some(next) => {
                    *current = next.to_owned();
                    true
                }
                None => false,
            }
        }
    })
    .await;
    let peak_rss = server.rss_kib("VmHWM")?;
    server.stop();

    // The same logins on a server that hashes at the least cost, as members
    // whose hashes have that cost (so none is upgraded at login).
    let least_cost = [
        ("SI_HASHING__MEMORY_KIB", LEAST_COST.0.to_string()),
        ("SI_HASHING__ITERATIONS", LEAST_COST.1.to_string()),
    ];
    let mut server = Server::start(binary, &url, dir.path(), &least_cost)?;
    let quick_http = login_http_client()?;
    let before = (cpu_seconds(server.pid())?, cpu_seconds(own_pid)?);
    let quick_logins = login_rate(phase, &quick_http, &server.url, &clients.rp, "quick").await;
    if quick_logins == 0.0 {
        return Err("no login went through on the server that hashes at the least cost".into());
    }
    let quick_done = quick_logins * phase.as_secs_f64();
    let quick_server_ms = 1000.0 * (cpu_seconds(server.pid())? - before.0) / quick_done;
    let quick_generator_ms = 1000.0 * (cpu_seconds(own_pid)? - before.1) / quick_done;
    server.stop();

    println!(
        "OpenID Connect provider on {backend}, {} s per phase, load generator on the same 2 cores",
        phase.as_secs()
    );
    println!(
        "{:<58} {:>10.1} /s",
        "argon2id hashes (m=19456 t=2 p=1), all cores, raw", hashes
    );
    println!(
        "{:<58} {:>10.1} /s  ({:.2} of the raw hash rate; slices {:.2}–{:.2})",
        "password logins, authorize → login → code → token",
        logins,
        logins / hashes,
        lowest,
        highest
    );
    // Work done in the slices, counted at the steady rates (warm-up included).
    let (hashes_done, logins_done) = (
        hashes * slice.as_secs_f64() * f64::from(SLICES),
        logins * slice.as_secs_f64() * f64::from(SLICES),
    );
    let per_hash_ms = 1000.0 * hashing_cpu / hashes_done;
    let server_per_login_ms = 1000.0 * server_cpu / logins_done;
    println!(
        "{:<58} {:>10.2} ms  (of which one hash {:.2} ms; the rest {:.2} ms)",
        "server CPU per login",
        server_per_login_ms,
        per_hash_ms,
        server_per_login_ms - per_hash_ms
    );
    println!(
        "{:<58} {:>10.2} ms  (the raw hash {:.2} ms)",
        "  of which in the server's hashing threads",
        1000.0 * server_hashing_cpu / logins_done,
        per_hash_ms
    );
    println!(
        "{:<58} {:>10.0}",
        "  the server's threads switched per login",
        server_switches as f64 / logins_done
    );
    println!(
        "{:<58} {:>10.2} ms",
        "load generator CPU per login",
        1000.0 * generator_cpu / logins_done
    );
    println!(
        "{:<58} {:>10.0} /s",
        "client_credentials grants (ES256 access token)", grants
    );
    println!(
        "{:<58} {:>10.0} /s",
        "refresh grants with rotation (durable, ES256)", refreshes
    );
    println!(
        "{:<58} {:>10.1} /s  (server CPU {:.2} ms, load generator {:.2} ms each)",
        "password logins, argon2id at least cost (m=8 t=1)",
        quick_logins,
        quick_server_ms,
        quick_generator_ms
    );
    println!(
        "{:<58} {:>10.1} MiB",
        "server resident memory, idle",
        idle_rss as f64 / 1024.0
    );
    println!(
        "{:<58} {:>10.1} MiB",
        "server resident memory, peak under load",
        peak_rss as f64 / 1024.0
    );
    Ok(())
}

/// Runs `task` in `workers` loops for `phase` and returns the rate of
/// successes in its steady state: those that finished after the first
/// [`WARM_UP`] (while a multi-step flow is still filling its pipeline) and
/// before the end (work still running then counts for nothing).
async fn rate<F, Fut>(phase: Duration, workers: usize, task: F) -> f64
where
    F: Fn(usize) -> Fut + Send + Sync + 'static + Clone,
    Fut: std::future::Future<Output = bool> + Send + 'static,
{
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut handles = Vec::new();
    for worker in 0..workers {
        let (task, done) = (task.clone(), done.clone());
        handles.push(tokio::spawn(async move {
            while started.elapsed() < phase {
                let succeeded = task(worker).await;
                if succeeded && (WARM_UP..=phase).contains(&started.elapsed()) {
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for handle in handles {
        let _ = handle.await;
    }
    done.load(Ordering::Relaxed) as f64 / (phase - WARM_UP).as_secs_f64()
}

/// The steady rate of whole browser logins by 8 simulated browsers for
/// `phase`, as the members `{prefix}0`, `{prefix}1`, … in turn.
async fn login_rate(
    phase: Duration,
    http: &reqwest::Client,
    base: &str,
    client: &(String, String),
    prefix: &'static str,
) -> f64 {
    let (http, base, client) = (http.clone(), base.to_owned(), client.clone());
    rate(phase, 8, move |worker| {
        let (http, base, client) = (http.clone(), base.clone(), client.clone());
        async move {
            login(&http, &base, &client, &format!("{prefix}{}", worker % MEMBERS))
                .await
                .is_ok()
        }
    })
    .await
}

/// The HTTP client of every simulated browser: redirects are the flow's
/// own steps, not followed.
fn login_http_client() -> Result<reqwest::Client, Error> {
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .redirect(reqwest::redirect::Policy::none())
        .build()?)
}

/// A whole browser login with PKCE, as a new browser with no cookies yet;
/// returns the refresh token.
async fn login(
    browser: &reqwest::Client,
    base: &str,
    client: &(String, String),
    username: &str,
) -> Result<String, Error> {
    let verifier = format!("{:064x}", rand::random::<u128>());
    let challenge =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let query = [
        ("client_id", client.0.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("response_type", "code"),
        ("scope", "openid"),
        ("state", "bench"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let start = browser
        .get(format!("{base}/authorize"))
        .query(&query)
        .send()
        .await?;
    let login_path = location(&start)?;
    let page = browser.get(format!("{base}{login_path}")).send().await?;
    let cookies = cookies_set_by(&page);
    let page = page.text().await?;
    let form = [
        ("csrf", field(&page, "csrf")?),
        ("request", field(&page, "request")?),
        ("username", username.to_owned()),
        ("password", PASSWORD.to_owned()),
    ];
    let back = browser
        .post(format!("{base}/login"))
        .header("cookie", cookies)
        .form(&form)
        .send()
        .await?;
    let back = location(&back)?;
    let code = back
        .split_once("code=")
        .and_then(|(_, rest)| rest.split('&').next())
        .ok_or("no code in the redirect")?
        .to_owned();
    let tokens: serde_json::Value = browser
        .post(format!("{base}/token"))
        .basic_auth(&client.0, Some(&client.1))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await?
        .json()
        .await?;
    Ok(tokens["refresh_token"]
        .as_str()
        .ok_or("no refresh token")?
        .to_owned())
}

/// The `Cookie` header a browser would send back after this response.
fn cookies_set_by(response: &reqwest::Response) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok()?.split(';').next())
        .collect::<Vec<_>>()
        .join("; ")
}

fn location(response: &reqwest::Response) -> Result<String, Error> {
    Ok(response
        .headers()
        .get("location")
        .ok_or("no redirect")?
        .to_str()?
        .to_owned())
}

fn field(page: &str, name: &str) -> Result<String, Error> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.find(&marker).ok_or("no form field")? + marker.len();
    let end = page[start..].find('"').ok_or("no form field end")? + start;
    Ok(page[start..end].replace("&#38;", "&").replace("&amp;", "&"))
}

/// The CPU time a process has used so far, all its threads, user and
/// system: fields 14 and 15 of `/proc/PID/stat`, in the kernel's fixed
/// 100 ticks per second.
fn cpu_seconds(pid: u32) -> Result<f64, Error> {
    cpu_seconds_in(&std::fs::read_to_string(format!("/proc/{pid}/stat"))?)
}

/// User and system time in a `stat` file of `/proc`, in seconds.
fn cpu_seconds_in(stat: &str) -> Result<f64, Error> {
    // The command name (field 2) may hold spaces; the fields after it do not.
    let after_name = stat.rsplit_once(')').ok_or("no command name in /proc stat")?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: u64 = fields
        .get(11..13)
        .ok_or("short /proc stat")?
        .iter()
        .map(|f| f.parse::<u64>())
        .sum::<Result<_, _>>()?;
    Ok(ticks as f64 / 100.0)
}

/// The CPU time the threads named `si-hash-…` of a process (the hashing
/// pool's) have used so far, and the context switches of all its threads:
/// each switch is a thread that slept (or was preempted) and woke again.
fn threads_so_far(pid: u32) -> Result<ThreadsSoFar, Error> {
    let mut so_far = ThreadsSoFar::default();
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        let task = task?.path();
        // A thread that ended between the listing and the reading counts for nothing.
        let (Ok(name), Ok(stat), Ok(status)) = (
            std::fs::read_to_string(task.join("comm")),
            std::fs::read_to_string(task.join("stat")),
            std::fs::read_to_string(task.join("status")),
        ) else {
            continue;
        };
        if name.starts_with("si-hash-") {
            so_far.hashing_cpu_seconds += cpu_seconds_in(&stat)?;
        }
        for line in status.lines() {
            let switches = line
                .strip_prefix("voluntary_ctxt_switches:")
                .or_else(|| line.strip_prefix("nonvoluntary_ctxt_switches:"));
            if let Some(switches) = switches {
                so_far.context_switches += switches.trim().parse::<u64>()?;
            }
        }
    }
    Ok(so_far)
}

#[derive(Default)]
struct ThreadsSoFar {
    hashing_cpu_seconds: f64,
    context_switches: u64,
}

/// Members with passwords and memberships, and the three clients.
async fn prepare(store: &Store) -> Result<Clients, Error> {
    let catalogue = store.catalogue();
    let library = catalogue
        .create_library(&LibraryCode::parse("BENCH")?, &DisplayName::parse("Bench")?)
        .await?;
    let branch = catalogue
        .create_branch(
            &library.code,
            &BranchCode::parse("1")?,
            &DisplayName::parse("Main")?,
        )
        .await?;
    let terms = SubscriptionTerms::new(Money::ZERO, 12, AgeRange::new(0, None)?)?;
    let subscription = catalogue
        .create_subscription_type(
            &library.code,
            &NewSubscriptionType {
                code: SubscriptionCode::parse("ALL")?,
                name: DisplayName::parse("All")?,
                tariff_code: TariffCode::parse("A")?,
                terms,
            },
        )
        .await?;
    let least_cost = Argon2Params::new(LEAST_COST.0, LEAST_COST.1, 1)?;
    for (group, (prefix, cost)) in [("member", Argon2Params::default()), ("quick", least_cost)]
        .into_iter()
        .enumerate()
    {
        let home = Home {
            library: &library,
            branch: &branch,
            subscription: &subscription,
        };
        members(store, prefix, &cost, group * MEMBERS, home).await?;
    }
    let rp = client(
        store,
        "bench-rp",
        IdTokenAlgorithm::Rs256,
        &[GrantType::AuthorizationCode, GrantType::RefreshToken],
        &["openid"],
        None,
    )
    .await?;
    let refresher = client(
        store,
        "bench-refresh",
        IdTokenAlgorithm::Es256,
        &[GrantType::AuthorizationCode, GrantType::RefreshToken],
        &["openid"],
        None,
    )
    .await?;
    let system = client(
        store,
        "bench-system",
        IdTokenAlgorithm::Rs256,
        &[GrantType::ClientCredentials],
        &["desk:search"],
        Some(library.code.clone()),
    )
    .await?;
    Ok(Clients {
        rp,
        refresher,
        system,
    })
}

/// Where the bench's members are members.
struct Home<'a> {
    library: &'a Library,
    branch: &'a Branch,
    subscription: &'a SubscriptionType,
}

/// [`MEMBERS`] accounts `{prefix}0`, `{prefix}1`, … with [`PASSWORD`]
/// hashed at `cost`, each with a card from `first_card` on.
async fn members(
    store: &Store,
    prefix: &str,
    cost: &Argon2Params,
    first_card: usize,
    home: Home<'_>,
) -> Result<(), Error> {
    let hash = hash_password(PASSWORD, cost)?;
    for n in 0..MEMBERS {
        let account = store
            .accounts()
            .create(NewAccount {
                username: Username::parse(&format!("{prefix}{n}"))?,
                email: Some(Email::parse("bench@example.nl")?),
                status: AccountStatus::Active,
                language: "nl".into(),
                password_hash: Some(hash.clone()),
            })
            .await?;
        store
            .memberships()
            .create(NewMembership {
                library: home.library,
                branch: home.branch,
                subscription: home.subscription,
                card_number: CardNumber::parse(&format!("2000{:010}", first_card + n))?,
                member_name: DisplayName::parse("Bench Member")?,
                birth_date: time::Date::from_calendar_date(1990, time::Month::January, 1)?,
                email: None,
                valid_until: time::Date::from_calendar_date(2030, time::Month::January, 1)?,
                account: Some(account.id),
            })
            .await?;
    }
    Ok(())
}

async fn client(
    store: &Store,
    id: &str,
    algorithm: IdTokenAlgorithm,
    grants: &[GrantType],
    scopes: &[&str],
    library: Option<LibraryCode>,
) -> Result<(String, String), Error> {
    let interactive = grants.contains(&GrantType::AuthorizationCode);
    let (client, secret) = register(
        store,
        ClientRegistration {
            id: Some(ClientId::parse(id)?),
            name: DisplayName::parse(id)?,
            kind: ClientKind::Confidential,
            redirect_uris: if interactive {
                vec![REDIRECT_URI.to_owned()]
            } else {
                vec![]
            },
            post_logout_redirect_uris: vec![],
            backchannel_logout_uri: None,
            grant_types: grants.to_vec(),
            scopes: scopes.iter().map(|s| Scope::parse(s)).collect::<Result<_, _>>()?,
            library,
            id_token_algorithm: algorithm,
        },
    )
    .await?;
    Ok((
        client.id().to_string(),
        secret.ok_or("no secret")?.expose().to_owned(),
    ))
}

/// The server process under test.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    /// Starts `binary` on the database, with `settings` (environment
    /// variables) on top of the bench's own.
    fn start(
        binary: &str,
        database_url: &str,
        data_dir: &std::path::Path,
        settings: &[(&str, String)],
    ) -> Result<Self, Error> {
        let mut child = Command::new(binary)
            .arg("serve")
            .envs(settings.iter().map(|(name, value)| (name, value)))
            .env("SI_LISTEN", "127.0.0.1:0")
            .env("SI_DATABASE_URL", database_url)
            .env("SI_DATA_DIR", data_dir)
            .env("SI_LOG_FILTER", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {binary}: {e} (cargo build --release first)"))?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().ok_or("no stdout")?).read_line(&mut line)?;
        let url = line.trim().rsplit(' ').next().ok_or("no URL printed")?.to_owned();
        Ok(Self { child, url })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn rss_kib(&self, field: &str) -> Result<u64, Error> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        status
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{field}:")))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| format!("no {field} in /proc status").into())
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}
