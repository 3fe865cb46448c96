//! Configuration: zero-config defaults, then an optional TOML file, then `SI_*`
//! environment variables (nested keys with `__`, e.g. `SI_HASHING__MEMORY_KIB`).

use std::{
    fmt,
    net::SocketAddr,
    path::{Path, PathBuf},
};

use figment::{
    Figment,
    error::Kind,
    providers::{Env, Format, Serialized, Toml},
};
use serde::{Deserialize, Serialize};
use si_credentials::MOST_HASHES_AT_ONCE;

use crate::http::client_address::TrustedProxies;

/// Every key the service reads; the environment variable is `SI_` + the key in
/// upper case, with `__` for a nested key.
pub const KEYS: &[&str] = &[
    "listen",
    "public_url",
    "data_dir",
    "database_url",
    "log_format",
    "log_filter",
    "trusted_proxies",
    "hashing.memory_kib",
    "hashing.iterations",
    "hashing.parallelism",
    "hashing.concurrency",
    "hashing.max_wait_ms",
    "hashing.failed_login_ms",
    "mail.sender",
    "mail.library_name",
    "mail.help_url",
    "mail.logo_url",
    "mail.smtp_url",
    "mail.batch_size",
    "mail.concurrency",
    "mail.lease_seconds",
    "mail.max_attempts",
    "mail.poll_interval_ms",
    "oidc.key_encryption_key",
    "oidc.access_token_seconds",
    "oidc.id_token_seconds",
    "oidc.code_seconds",
    "oidc.refresh_token_days",
    "oidc.refresh_max_days",
    "oidc.session_hours",
    "oidc.session_idle_minutes",
    "selfservice.help_url",
    "selfservice.help_text_nl",
    "selfservice.help_text_en",
    "selfservice.reset_link_minutes",
    "selfservice.confirm_link_days",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address and port to listen on.
    pub listen: SocketAddr,
    /// The URL members and relying parties reach the service at; defaults to
    /// `http://` + `listen`.
    pub public_url: Option<PublicUrl>,
    /// Where the embedded defaults keep their files (SQLite database, mail, keys).
    pub data_dir: PathBuf,
    /// `sqlite://PATH` or `postgres://…`; defaults to a SQLite file in `data_dir`.
    pub database_url: Option<String>,
    pub log_format: LogFormat,
    /// A tracing filter such as `info` or `single_identity=debug,info`.
    pub log_filter: String,
    /// The load balancers and reverse proxies in front of the service, as
    /// addresses or networks: from these, the client's address is read
    /// from `X-Forwarded-For` (for throttling). None by default.
    pub trusted_proxies: TrustedProxies,
    pub hashing: HashingConfig,
    pub mail: MailConfig,
    pub oidc: OidcConfig,
    pub selfservice: SelfServiceConfig,
    /// Set by `serve --demo` only, never by a file or the environment: seeds
    /// the demo libraries, desk account and sites, and opens `/dev/mail`.
    #[serde(skip)]
    pub demo: bool,
    /// Set by `serve` only: holds a SQLite database for this process alone
    /// (in-process servers of the tests play several nodes on one file).
    #[serde(skip)]
    pub sole_sqlite_node: bool,
}

/// The pages members use on their own: help, and recovering access.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelfServiceConfig {
    /// An external page with more help, linked from "Hulp bij inloggen".
    pub help_url: Option<String>,
    /// The text of "Hulp bij inloggen" in Dutch and in English instead of
    /// the built-in one; an empty line starts a new paragraph.
    pub help_text_nl: Option<String>,
    pub help_text_en: Option<String>,
    /// How long a "Wachtwoord vergeten" link works.
    pub reset_link_minutes: u32,
    /// How long the link in the confirmation mail of a new account works.
    pub confirm_link_days: u32,
}

impl Default for SelfServiceConfig {
    fn default() -> Self {
        Self {
            help_url: None,
            help_text_nl: None,
            help_text_en: None,
            reset_link_minutes: 30,
            confirm_link_days: 7,
        }
    }
}

/// The OpenID Connect provider: how long things live, and the key that seals
/// the signing keys' private halves in the database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// Base64 of 32 random bytes. Nodes sharing a database must share it.
    /// Without it, one is generated into `<data_dir>/key-encryption.key`.
    pub key_encryption_key: Option<String>,
    pub access_token_seconds: u32,
    pub id_token_seconds: u32,
    /// Authorization codes are single-use and short-lived.
    pub code_seconds: u32,
    /// A refresh token's life: each use gives a successor that lives this long.
    pub refresh_token_days: u32,
    /// The longest the refresh tokens of one login live, counted from the
    /// member's password, however often they are used (ASVS 5 V10.4.8).
    pub refresh_max_days: u32,
    /// How long a browser session gives single sign-on without a password.
    pub session_hours: u32,
    /// A session not used for this long ends before that (0: never).
    pub session_idle_minutes: u32,
}

impl Default for OidcConfig {
    fn default() -> Self {
        Self {
            key_encryption_key: None,
            access_token_seconds: 600,
            id_token_seconds: 600,
            code_seconds: 60,
            refresh_token_days: 30,
            refresh_max_days: 365,
            session_hours: 12,
            session_idle_minutes: 30,
        }
    }
}

impl OidcConfig {
    /// How long a refresh token given now lives.
    pub fn refresh_token_lifetime(&self) -> time::Duration {
        time::Duration::days(i64::from(self.refresh_token_days))
    }

    /// How long the refresh tokens of one login live at most, from its `auth_time`.
    pub fn refresh_login_lifetime(&self) -> time::Duration {
        time::Duration::days(i64::from(self.refresh_max_days))
    }

    /// The longest a browser session lives.
    pub fn session_lifetime(&self) -> std::time::Duration {
        std::time::Duration::from_secs(u64::from(self.session_hours) * 3600)
    }

    /// How long a session may go unused; no limit for 0.
    pub fn session_idle(&self) -> std::time::Duration {
        match self.session_idle_minutes {
            0 => std::time::Duration::MAX,
            minutes => std::time::Duration::from_secs(u64::from(minutes) * 60),
        }
    }

    /// The longest a token signed now stays valid: a retired key stays
    /// published at least this long.
    pub fn longest_token_lifetime(&self) -> std::time::Duration {
        std::time::Duration::from_secs(u64::from(self.access_token_seconds.max(self.id_token_seconds)))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Plain,
    Json,
}

/// argon2id cost for new password hashes, and how many may run at once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HashingConfig {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    /// Hashes computed at the same time; 0 means one per CPU core.
    pub concurrency: usize,
    /// A login or password change that would wait longer than this for the
    /// hashing threads is turned away with "busy, try again" at once.
    pub max_wait_ms: u64,
    /// A failed login answers no sooner than this after it arrived, so that
    /// the time does not tell a migrated account's slow legacy hash apart
    /// from an unknown username.
    pub failed_login_ms: u64,
}

impl HashingConfig {
    pub fn max_wait(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.max_wait_ms)
    }

    pub fn failed_login(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.failed_login_ms)
    }
}

/// Outgoing mail: who it is from, what it links to, and how it is delivered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailConfig {
    /// The From header, e.g. `de Bibliotheek <noreply@bibliotheek.nl>`.
    pub sender: String,
    /// How mails sign off and name the sender ("de Bibliotheek").
    pub library_name: String,
    /// "Hulp bij inloggen": linked from every mail.
    pub help_url: String,
    /// An https URL of a logo shown at the top of HTML mails; none by default.
    pub logo_url: Option<String>,
    /// `smtp://host:25` (plain, a local relay), `smtp://user:pass@host:587?tls=required`
    /// (STARTTLS) or `smtps://user:pass@host:465` (implicit TLS). Without it, mails
    /// are written as `.eml` files under `<data_dir>/mail`.
    pub smtp_url: Option<String>,
    /// Mails claimed per round by one worker.
    pub batch_size: u32,
    /// Mails sent at the same time (and SMTP connections kept open).
    pub concurrency: u32,
    /// How long a claimed mail stays with its worker before another may take it.
    pub lease_seconds: u32,
    /// Attempts after which a mail that keeps failing temporarily is given up.
    pub max_attempts: u32,
    /// How often an idle worker looks for new mail.
    pub poll_interval_ms: u64,
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            sender: "de Bibliotheek <noreply@bibliotheek.example>".to_owned(),
            library_name: "de Bibliotheek".to_owned(),
            help_url: "https://www.bibliotheek.nl/hulp-bij-inloggen.html".to_owned(),
            logo_url: None,
            smtp_url: None,
            batch_size: 500,
            // lettre's SMTP client writes a mail's final ".\r\n" as its own
            // small segment, which Nagle holds until the relay's delayed ACK
            // (about 40 ms): each connection carries about 25 mails a second.
            concurrency: 64,
            lease_seconds: 120,
            max_attempts: 12,
            poll_interval_ms: 500,
        }
    }
}

/// An absolute `http` or `https` URL without a trailing slash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PublicUrl(String);

impl PublicUrl {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_https(&self) -> bool {
        self.0.starts_with("https://")
    }

    /// Whether the host is this machine (`localhost`, `127.x.x.x`, `[::1]`):
    /// plain http there crosses no network.
    pub fn is_loopback(&self) -> bool {
        let after_scheme = self.0.split_once("://").map_or(self.0.as_str(), |(_, rest)| rest);
        let authority = after_scheme.split('/').next().unwrap_or_default();
        let host = match authority.strip_prefix('[') {
            Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
            None => authority.split(':').next().unwrap_or_default(),
        };
        host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|address| address.is_loopback())
    }

    /// What follows the host, if anything (`/sso` in `https://example.nl/sso`).
    pub fn path(&self) -> Option<&str> {
        let after_scheme = self.0.split_once("://").map_or(self.0.as_str(), |(_, rest)| rest);
        after_scheme.find('/').map(|slash| &after_scheme[slash..])
    }
}

impl TryFrom<String> for PublicUrl {
    type Error = String;

    /// The URL as relying parties will type it, since the issuer must match
    /// it exactly: the host in lower case and without a default port.
    fn try_from(value: String) -> Result<Self, Self::Error> {
        let url = WebAddress::parse(&value)?;
        if url.rest.contains(['?', '#']) {
            return Err(format!("{value:?} has a query or a fragment"));
        }
        Ok(Self(format!("{}://{}{}", url.scheme, url.authority, url.rest)))
    }
}

/// An http:// or https:// address as a browser would follow it, its
/// scheme and host in lower case and without a default port.
struct WebAddress<'v> {
    scheme: &'static str,
    authority: String,
    /// The path, query and fragment, as given.
    rest: &'v str,
}

impl<'v> WebAddress<'v> {
    fn parse(value: &'v str) -> Result<Self, String> {
        let trimmed = value.trim().trim_end_matches('/');
        let not_http = || format!("{value:?} is not an http:// or https:// URL");
        let (scheme, rest) = trimmed.split_once("://").ok_or_else(not_http)?;
        let (scheme, default_port) = match scheme.to_ascii_lowercase().as_str() {
            "https" => ("https", 443),
            "http" => ("http", 80),
            _ => return Err(not_http()),
        };
        let at = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, rest) = rest.split_at(at);
        // Browsers read a backslash as a slash, and drop tabs and line breaks.
        if rest.contains(|c: char| !c.is_ascii_graphic() || c == '\\') {
            return Err(format!(
                "{value:?} holds characters a URL cannot hold as they are (spaces, a backslash, letters outside ASCII): percent-encode them"
            ));
        }
        if authority.contains('@') {
            return Err(format!(
                "{value:?} holds a user name or password: give the scheme and the host only"
            ));
        }
        let (host, port) = match authority.strip_prefix('[') {
            Some(bracketed) => {
                let (address, after) = bracketed
                    .split_once(']')
                    .ok_or_else(|| format!("{value:?} opens an IPv6 address with [ and does not close it"))?;
                if address.is_empty()
                    || !address
                        .chars()
                        .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
                {
                    return Err(format!("{value:?} has no IPv6 address between [ and ]"));
                }
                let port = match after {
                    "" => None,
                    _ => Some(
                        after
                            .strip_prefix(':')
                            .ok_or_else(|| format!("{value:?} has text after its IPv6 address"))?,
                    ),
                };
                (&authority[..address.len() + 2], port)
            }
            None => match authority.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            },
        };
        let is_label =
            |label: &str| !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !host.starts_with('[') && !host.split('.').all(is_label) {
            return Err(format!(
                "{value:?} has no host name, or one that is not letters, digits, '-' and dots (a name outside ASCII goes in its xn-- form; no dot at the end)"
            ));
        }
        let port = match port {
            None => None,
            Some(port) => match port.parse::<u16>() {
                Ok(0) | Err(_) => {
                    return Err(format!(
                        "{value:?} has a port that is not a number from 1 to 65535"
                    ));
                }
                Ok(port) if port == default_port => None,
                Ok(port) => Some(port),
            },
        };
        let host = host.to_ascii_lowercase();
        Ok(Self {
            scheme,
            authority: match port {
                Some(port) => format!("{host}:{port}"),
                None => host,
            },
            rest,
        })
    }
}

impl From<PublicUrl> for String {
    fn from(url: PublicUrl) -> Self {
        url.0
    }
}

impl fmt::Display for PublicUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            data_dir: PathBuf::from("data"),
            database_url: None,
            log_format: LogFormat::Plain,
            log_filter: "info".to_owned(),
            trusted_proxies: TrustedProxies::default(),
            hashing: HashingConfig {
                memory_kib: 19 * 1024,
                iterations: 2,
                parallelism: 1,
                concurrency: 0,
                max_wait_ms: 3000,
                failed_login_ms: 400,
            },
            mail: MailConfig::default(),
            oidc: OidcConfig::default(),
            selfservice: SelfServiceConfig::default(),
            demo: false,
            sole_sqlite_node: false,
        }
    }
}

/// A configuration that could not be loaded, said in one line naming the key.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(String);

impl Config {
    /// Defaults, then the TOML file (if given), then `SI_*` variables.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            match std::fs::metadata(file) {
                Ok(found) if found.is_file() => {}
                Ok(_) => {
                    return Err(ConfigError(format!(
                        "configuration file {} is not a file: name the TOML file itself",
                        file.display()
                    )));
                }
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                    return Err(ConfigError(format!(
                        "configuration file {} does not exist",
                        file.display()
                    )));
                }
                Err(err) => {
                    return Err(ConfigError(format!(
                        "cannot read the configuration file {}: {err}",
                        file.display()
                    )));
                }
            }
            figment = figment.merge(Toml::file_exact(file));
        }
        figment = figment.merge(
            Env::prefixed("SI_")
                .split("__")
                .filter(|key| KEYS.iter().any(|known| key.as_str().eq_ignore_ascii_case(known))),
        );
        let config: Config = figment.extract().map_err(describe)?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), ConfigError> {
        // The routes, the links in mails and the `__Host-` cookies all
        // start at `/`: under a path, nothing would answer.
        if let Some(url) = &self.public_url
            && url.path().is_some()
        {
            return Err(ConfigError(format!(
                "invalid configuration value for public_url (SI_PUBLIC_URL): {:?} has a path; the service answers at the root of a host name of its own, such as \"https://login.bibliotheek.example\"",
                url.as_str()
            )));
        }
        // Every token and mailed link names `public_url`, and
        // "http://0.0.0.0:8080" reaches no one.
        if self.public_url.is_none() && self.listen.ip().is_unspecified() {
            return Err(ConfigError(format!(
                "invalid configuration value for public_url (SI_PUBLIC_URL): it must be set when listen is {}, which answers on every address of this machine and names none of them; set it to the address members reach the service at, such as \"https://login.bibliotheek.example\"",
                self.listen
            )));
        }
        // Plain http elsewhere than this machine sends passwords and the
        // session cookie across the network in clear, and turns off Secure
        // cookies and HSTS, which follow the scheme of `public_url`.
        if let Some(url) = &self.public_url
            && !url.is_https()
            && !url.is_loopback()
        {
            return Err(ConfigError(format!(
                "invalid configuration value for public_url (SI_PUBLIC_URL): {:?} is plain http on another machine than this one, so passwords and session cookies would cross the network unencrypted; put TLS in front of the service (see deployment.md) and give its https address, or use http://127.0.0.1 for a trial on this machine",
                url.as_str()
            )));
        }
        // The default is `http://` and the listen address: another machine's
        // is refused as a plain http `public_url` would be.
        if self.public_url.is_none() && !self.listen.ip().is_loopback() && !self.listen.ip().is_unspecified()
        {
            return Err(ConfigError(format!(
                "invalid configuration value for public_url (SI_PUBLIC_URL): it must be set when listen is {}, another address than this machine's own, since the default http://{} would carry passwords and session cookies across the network unencrypted; set it to the https address of the TLS in front of the service",
                self.listen, self.listen
            )));
        }
        // Behind a proxy the default (this node's own http address) is not
        // where members are, and would leave cookies without Secure.
        if self.public_url.is_none() && !self.trusted_proxies.is_empty() {
            return Err(ConfigError(
                "invalid configuration value for public_url (SI_PUBLIC_URL): it must be set when trusted_proxies names a proxy in front of the service; set it to the https address members reach the service at, such as \"https://login.bibliotheek.example\"".to_owned(),
            ));
        }
        if let Err(err) = tracing_subscriber::EnvFilter::try_new(&self.log_filter) {
            return Err(ConfigError(format!(
                "invalid configuration value for log_filter (SI_LOG_FILTER): {:?} is not a filter such as \"info\" or \"single_identity=debug,info\" ({err})",
                self.log_filter
            )));
        }
        if let Err(err) = si_credentials::Argon2Params::new(
            self.hashing.memory_kib,
            self.hashing.iterations,
            self.hashing.parallelism,
        ) {
            return Err(ConfigError(format!(
                "invalid configuration value for hashing (SI_HASHING__*): {err}"
            )));
        }
        let mail = &self.mail;
        if let Err(err) = mail.sender.parse::<lettre::message::Mailbox>() {
            return Err(ConfigError(format!(
                "invalid configuration value for mail.sender (SI_MAIL__SENDER): {:?} is not an address such as \"de Bibliotheek <noreply@bibliotheek.nl>\" ({err})",
                mail.sender
            )));
        }
        for (key, variable, url) in [
            ("mail.help_url", "SI_MAIL__HELP_URL", Some(&mail.help_url)),
            ("mail.logo_url", "SI_MAIL__LOGO_URL", mail.logo_url.as_ref()),
            (
                "selfservice.help_url",
                "SI_SELFSERVICE__HELP_URL",
                self.selfservice.help_url.as_ref(),
            ),
        ] {
            if let Some(url) = url
                && let Err(why) = WebAddress::parse(url)
            {
                return Err(ConfigError(format!(
                    "invalid configuration value for {key} ({variable}): {why}"
                )));
            }
        }
        // Mail programs block images over plain http, or warn about them.
        if let Some(url) = &mail.logo_url
            && WebAddress::parse(url).is_ok_and(|url| url.scheme != "https")
        {
            return Err(ConfigError(format!(
                "invalid configuration value for mail.logo_url (SI_MAIL__LOGO_URL): {url:?} is not an https:// URL"
            )));
        }
        if let Some(url) = &mail.smtp_url
            && let Err(err) = lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(url)
        {
            return Err(ConfigError(format!(
                "invalid configuration value for mail.smtp_url (SI_MAIL__SMTP_URL): {err}"
            )));
        }
        if mail.smtp_url.as_deref().is_some_and(sends_password_in_clear) {
            return Err(ConfigError(
                "invalid configuration value for mail.smtp_url (SI_MAIL__SMTP_URL): it has a password but no TLS; \
                 use smtps://…:465, or add ?tls=required (STARTTLS), so that the password never crosses the network readable"
                    .to_owned(),
            ));
        }
        at_least_one(
            "mail",
            &[
                ("batch_size", mail.batch_size),
                ("max_attempts", mail.max_attempts),
            ],
        )?;
        self.check_bounds()?;
        if self.hashing.concurrency > MOST_HASHES_AT_ONCE {
            return Err(ConfigError(format!(
                "invalid configuration value for hashing.concurrency (SI_HASHING__CONCURRENCY): at most {MOST_HASHES_AT_ONCE}, or 0 for one per CPU"
            )));
        }
        self.check_hashing_memory()?;
        // Refused here, before a database is created or migrated for a
        // node that could not open its keys.
        if let Some(key) = &self.oidc.key_encryption_key
            && crate::oidc::keys::SealingKey::from_base64(key).is_err()
        {
            return Err(ConfigError(
                "invalid configuration value for oidc.key_encryption_key (SI_OIDC__KEY_ENCRYPTION_KEY): base64 of exactly 32 bytes, for example the output of `openssl rand -base64 32`".to_owned(),
            ));
        }
        if self.hashing.failed_login_ms > 10_000 {
            return Err(ConfigError(
                "invalid configuration value for hashing.failed_login_ms (SI_HASHING__FAILED_LOGIN_MS): at most 10000 (10 s)".to_owned(),
            ));
        }
        if let Some(url) = &self.database_url
            && !(url.starts_with("sqlite:") || url.starts_with("postgres:") || url.starts_with("postgresql:"))
        {
            return Err(ConfigError(format!(
                "invalid configuration value for database_url (SI_DATABASE_URL): {} is not sqlite://PATH or postgres://…",
                si_store::redact_url(url)
            )));
        }
        if let Some(url) = &self.database_url
            && let Some(problem) = si_store::url_problem(url)
        {
            return Err(ConfigError(format!(
                "invalid configuration value for database_url (SI_DATABASE_URL): {}: {problem}",
                si_store::redact_url(url)
            )));
        }
        Ok(())
    }

    /// How long tokens, links, sessions and mail leases live, and how many
    /// mails go at once. A lifetime of 0 would be dead at birth; the upper
    /// bounds keep every end a date that the clock and the databases hold
    /// (far past them, issuing a token would fail), follow the
    /// specifications where they set one, and keep the mail worker from
    /// asking for more memory than there is, or from never looking again.
    fn check_bounds(&self) -> Result<(), ConfigError> {
        let (oidc, selfservice, mail) = (&self.oidc, &self.selfservice, &self.mail);
        for (key, value, least, most, in_words) in [
            (
                "oidc.access_token_seconds",
                oidc.access_token_seconds,
                1,
                86_400,
                "a day",
            ),
            ("oidc.id_token_seconds", oidc.id_token_seconds, 1, 86_400, "a day"),
            // RFC 6749 4.1.2 recommends ten minutes at most; housekeeping keeps
            // a session a day past its end for the codes it gave.
            ("oidc.code_seconds", oidc.code_seconds, 1, 600, "10 minutes"),
            (
                "oidc.refresh_token_days",
                oidc.refresh_token_days,
                1,
                3_650,
                "10 years",
            ),
            (
                "oidc.refresh_max_days",
                oidc.refresh_max_days,
                1,
                3_650,
                "10 years",
            ),
            ("oidc.session_hours", oidc.session_hours, 1, 8_784, "a year"),
            (
                "oidc.session_idle_minutes",
                oidc.session_idle_minutes,
                0,
                527_040,
                "a year; 0: no idle limit",
            ),
            (
                "selfservice.reset_link_minutes",
                selfservice.reset_link_minutes,
                1,
                10_080,
                "a week",
            ),
            (
                "selfservice.confirm_link_days",
                selfservice.confirm_link_days,
                1,
                366,
                "a year",
            ),
            (
                "mail.concurrency",
                mail.concurrency,
                1,
                1_024,
                "connections to the relay",
            ),
            ("mail.lease_seconds", mail.lease_seconds, 1, 3_600, "an hour"),
        ] {
            if !(least..=most).contains(&value) {
                return Err(out_of_range(key, least, most, in_words));
            }
        }
        if mail.poll_interval_ms > 60_000 {
            return Err(out_of_range("mail.poll_interval_ms", 0, 60_000, "a minute"));
        }
        Ok(())
    }

    /// The hashes that may run at once, each with its `memory_kib`, fit in
    /// 16 GiB: no machine this runs on has memory for more, and a burst of
    /// wrong passwords would end the process when an allocation failed.
    fn check_hashing_memory(&self) -> Result<(), ConfigError> {
        const MOST_KIB: u64 = 16 * 1024 * 1024;
        let at_once = match self.hashing.concurrency {
            // As the hashing pool sizes itself.
            0 => std::thread::available_parallelism()
                .map_or(1, usize::from)
                .min(MOST_HASHES_AT_ONCE) as u64,
            n => n as u64,
        };
        let needed = at_once * u64::from(self.hashing.memory_kib);
        if needed > MOST_KIB {
            return Err(ConfigError(format!(
                "invalid configuration value for hashing.memory_kib (SI_HASHING__MEMORY_KIB) and hashing.concurrency (SI_HASHING__CONCURRENCY): {at_once} hashes at once of {} KiB each need {} MiB, more than the 16384 MiB allowed; lower memory_kib, or set concurrency to fewer hashes at once",
                self.hashing.memory_kib,
                needed / 1024
            )));
        }
        Ok(())
    }

    pub fn public_url(&self) -> PublicUrl {
        self.public_url.clone().unwrap_or_else(|| {
            let listening = format!("http://{}", self.listen);
            PublicUrl::try_from(listening.clone()).unwrap_or(PublicUrl(listening))
        })
    }

    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.sqlite_file().display()))
    }

    /// The embedded database's file, when no `database_url` is set.
    pub fn sqlite_file(&self) -> PathBuf {
        self.data_dir.join("single-identity.db")
    }

    pub fn argon2(&self) -> si_credentials::Argon2Params {
        si_credentials::Argon2Params::new(
            self.hashing.memory_kib,
            self.hashing.iterations,
            self.hashing.parallelism,
        )
        .unwrap_or_default()
    }
}

/// Refuses the first of a section's counts that is 0, naming its key and
/// its environment variable.
fn at_least_one(section: &str, counts: &[(&str, u32)]) -> Result<(), ConfigError> {
    match counts.iter().find(|(_, count)| *count == 0) {
        Some((key, _)) => Err(ConfigError(format!(
            "invalid configuration value for {section}.{key} ({}): at least 1",
            variable_of(&format!("{section}.{key}"))
        ))),
        None => Ok(()),
    }
}

fn out_of_range(key: &str, least: u32, most: u32, in_words: &str) -> ConfigError {
    ConfigError(format!(
        "invalid configuration value for {key} ({}): from {least} to {most} ({in_words})",
        variable_of(key)
    ))
}

/// The environment variable of a key: `oidc.code_seconds` is
/// `SI_OIDC__CODE_SECONDS`.
fn variable_of(key: &str) -> String {
    format!("SI_{}", key.to_uppercase().replace('.', "__"))
}

/// Whether an SMTP URL logs in without TLS for certain: lettre sends the
/// password in the clear over `smtp://` unless STARTTLS is required.
fn sends_password_in_clear(text: &str) -> bool {
    // Read as lettre reads it: the scheme in any case, the first `tls`.
    let Ok(url) = url::Url::parse(text.trim()) else {
        return false;
    };
    let tls = url
        .query_pairs()
        .find(|(key, _)| key == "tls")
        .map(|(_, value)| value);
    url.scheme() == "smtp" && url.password().is_some() && tls.as_deref() != Some("required")
}

/// One line: which key, where it came from, what is wrong with it.
/// A line of a TOML error that shows the file (`1 | key = "…`, or the
/// markers under it): `|` after nothing but a line number and spaces.
fn is_quoted_source(line: &str) -> bool {
    line.split_once('|')
        .is_some_and(|(before, _)| before.trim().bytes().all(|b| b.is_ascii_digit()))
}

/// What a key takes, in an operator's words rather than the names of the
/// program's types (`u32`, `struct HashingConfig`).
fn expected_in_plain_words(expected: &str, key: &str) -> String {
    match expected {
        "u8" => format!("a whole number from 0 to {}", u8::MAX),
        "u16" => format!("a whole number from 0 to {}", u16::MAX),
        "u32" => format!("a whole number from 0 to {}", u32::MAX),
        "u64" => format!("a whole number from 0 to {}", u64::MAX),
        "usize" => format!("a whole number from 0 to {}", usize::MAX),
        "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number".to_owned(),
        "f32" | "f64" => "a number".to_owned(),
        "socket address" => "an address with a port, such as \"0.0.0.0:8080\"".to_owned(),
        table if table.starts_with("struct ") => format!("a table of keys ([{key}])"),
        other => other.to_owned(),
    }
}

fn describe(error: figment::Error) -> ConfigError {
    let key = error.path.join(".");
    let variable = variable_of(&key);
    let source = error
        .metadata
        .as_ref()
        .map(|m| m.name.to_string())
        .unwrap_or_else(|| "configuration".to_owned());
    let reason = match &error.kind {
        Kind::InvalidType(found, expected) | Kind::InvalidValue(found, expected) => {
            format!(
                "found {found}, expected {}",
                expected_in_plain_words(expected, &key)
            )
        }
        // A TOML syntax error quotes the line it is on, which may hold a
        // password: only its place and what is wrong are said.
        kind => kind
            .to_string()
            .lines()
            .filter(|line| !is_quoted_source(line))
            .collect::<Vec<_>>()
            .join(": "),
    };
    if key.is_empty() {
        ConfigError(format!("invalid configuration ({source}): {reason}"))
    } else {
        ConfigError(format!(
            "invalid configuration value for {key} ({variable}, from {source}): {reason}"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::sends_password_in_clear;

    #[test]
    fn only_a_password_over_plain_smtp_is_refused() {
        assert!(sends_password_in_clear("smtp://user:pass@relay.example:587"));
        for clear in [
            "smtp://user:pass@relay.example:587?tls=opportunistic",
            "SMTP://user:pass@relay.example:587",
            "smtp://user:pass@relay.example:587?tls=opportunistic&tls=required",
        ] {
            assert!(sends_password_in_clear(clear), "{clear}");
        }
        for fine in [
            "smtp://relay.example:25",
            "smtp://user:pass@relay.example:587?tls=required",
            "smtps://user:pass@relay.example:465",
            "smtp://relay.example:25/path@x",
            // A user name alone logs in with nothing: lettre sends no AUTH.
            "smtp://user@relay.example:25",
        ] {
            assert!(!sends_password_in_clear(fine), "{fine}");
        }
    }

    #[test]
    fn a_public_url_is_kept_as_relying_parties_type_the_issuer() {
        let kept = |value: &str| super::PublicUrl::try_from(value.to_owned()).map(String::from);
        for (given, issuer) in [
            ("https://login.example/", "https://login.example"),
            ("HTTPS://Login.Example:443", "https://login.example"),
            ("http://127.0.0.1:80", "http://127.0.0.1"),
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
            ("https://[::1]:443", "https://[::1]"),
            ("https://[::1]:8443", "https://[::1]:8443"),
            ("https://login.example:4430", "https://login.example:4430"),
            ("https://login.example:0443", "https://login.example"),
            ("https://xn--bblotheek-p3a.nl", "https://xn--bblotheek-p3a.nl"),
            ("https://www.example.nl/Hulp", "https://www.example.nl/Hulp"),
        ] {
            assert_eq!(kept(given).as_deref(), Ok(issuer), "{given}");
        }
        for refused in [
            "https://user@login.example",
            "https://user:secret@login.example",
            "https://login.example.",
            "https://login.example.:443",
            "https://:443",
            "https://",
            "ftp://login.example",
            "https://login.example?x=1",
            "https://login.example/#top",
            "https://login.example:",
            "https://login.example:abc",
            "https://login.example:99999",
            "https://login.example:443:443",
            "https://[::1",
            "https://[::1]x",
            "https://[::1]]",
            "https://[]",
            "https://login.example;x",
            "https://evil.example\\.bibliotheek.nl/help",
            "https://BÏBLIOTHEEK.NL",
            "https://login..example",
            "https://login.example/a b",
        ] {
            assert!(kept(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn only_this_machine_is_loopback() {
        let loopback = |value: &str| {
            super::PublicUrl::try_from(value.to_owned())
                .unwrap()
                .is_loopback()
        };
        for here in [
            "http://localhost:8080",
            "http://127.0.0.1",
            "http://127.8.9.10:8080",
            "http://[::1]:8080",
        ] {
            assert!(loopback(here), "{here}");
        }
        for elsewhere in [
            "http://localhost.example",
            "http://10.0.0.5:8080",
            "http://[2001:db8::1]",
            "https://login.example",
            "http://127.0.0.1.example",
        ] {
            assert!(!loopback(elsewhere), "{elsewhere}");
        }
    }

    #[test]
    fn a_link_in_mails_and_pages_may_have_a_query_and_a_fragment_but_only_a_web_host() {
        for fine in [
            "https://www.bibliotheek.nl/hulp-bij-inloggen.html#wachtwoord",
            "HTTPS://cdn.example/logo.png?v=2",
            "http://127.0.0.1:8080/help",
        ] {
            assert!(super::WebAddress::parse(fine).is_ok(), "{fine}");
        }
        assert_eq!(
            super::WebAddress::parse("HTTPS://cdn.example/logo.png").map(|url| url.scheme),
            Ok("https")
        );
        for refused in [
            "https://user@cdn.example/logo.png",
            "ftp://cdn.example/logo.png",
            "https://cdn.example/a\\b",
        ] {
            assert!(super::WebAddress::parse(refused).is_err(), "{refused}");
        }
    }
}
