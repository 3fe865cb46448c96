//! Clients of the provider: which ones may exist (kinds, ids, grant types,
//! scopes and redirect URIs per RFC 9700, OAuth 2.1 and RFC 8252), their
//! registration with a secret shown once, and how the token endpoint tells
//! which client is calling.
//!
//! Redirect URIs are stored exactly as given and later compared as strings, so
//! nothing is normalised here: a URI is either refused or kept verbatim. The
//! scheme and host are matched ignoring ASCII case when applying the rules
//! (`HTTPS://Example.org/cb` is an https URI), because RFC 3986 makes them
//! case-insensitive; the relying party must then send the spelling it
//! registered.

use std::{
    collections::HashMap,
    fmt,
    net::{Ipv4Addr, Ipv6Addr},
    sync::{
        Arc, RwLock,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use serde::{Serialize, Serializer};
use si_credentials::secrets::{SecretToken, verify_digest};
use si_domain::{DisplayName, LibraryCode};
use si_store::{
    Repositories, StoreError,
    catalogue::Library,
    clients::{ClientRecord, NewClient},
    time::OffsetDateTime,
};
use tokio::sync::watch;

/// Every scope a client may be granted. The `desk:` scopes open the desk API
/// (registering members, searching, linking cards, account recovery, audit).
pub const KNOWN_SCOPES: &[&str] = &[
    "openid",
    "profile",
    "email",
    "library",
    "desk:register",
    "desk:search",
    "desk:link",
    "desk:recovery",
    "desk:audit",
];

/// Longer URIs are certainly mistakes and would bloat every authorization request.
const MAX_URI_CHARS: usize = 2000;

/// Compared against when the client is unknown, so that case costs the same
/// hashing as a wrong secret.
const UNKNOWN_CLIENT_DIGEST: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Why a client's registration (or a stored client) breaks the rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    #[error("client id {0:?} must be 3 to 64 characters of a-z, 0-9, '-', '_' and '.'")]
    InvalidId(String),
    #[error(
        "client id {0:?} has the form of a member's account id: its access tokens' sub would name a member; choose another"
    )]
    LooksLikeAccountId(String),
    #[error("unknown {what} {value:?} (known: {known})")]
    Unknown {
        what: &'static str,
        value: String,
        known: String,
    },
    #[error("{role} {uri}: {rule}")]
    Uri {
        role: UriRole,
        /// The URI with control and non-ASCII characters escaped, safe to print.
        uri: String,
        rule: UriRule,
    },
    #[error("a client needs at least one grant type")]
    NoGrantType,
    #[error("public clients cannot use client_credentials: they cannot keep a secret")]
    PublicClientCredentials,
    #[error("refresh_token is only for clients that also use authorization_code")]
    RefreshWithoutAuthorizationCode,
    #[error("authorization_code needs at least one redirect URI")]
    RedirectUriRequired,
    #[error(
        "redirect, post-logout and back-channel logout URIs are only for clients that use authorization_code"
    )]
    UrisWithoutAuthorizationCode,
    #[error("a client needs at least one scope")]
    NoScope,
    #[error("clients that use authorization_code need the openid scope")]
    OpenidRequired,
    #[error("scope {0} is only for confidential clients bound to a library")]
    DeskScopeNotAllowed(Scope),
    #[error(
        "client_credentials tokens open the desk API only: give the client a desk scope (desk:register, desk:search, desk:link, desk:recovery, desk:audit) and its library"
    )]
    ClientCredentialsWithoutDeskScope,
}

/// Which of a client's URIs a [`UriRule`] refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UriRole {
    Redirect,
    PostLogoutRedirect,
    BackchannelLogout,
}

impl fmt::Display for UriRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Redirect => "redirect URI",
            Self::PostLogoutRedirect => "post-logout redirect URI",
            Self::BackchannelLogout => "back-channel logout URI",
        })
    }
}

/// The rule a URI breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UriRule {
    #[error("is empty")]
    Empty,
    #[error("is longer than {MAX_URI_CHARS} characters")]
    TooLong,
    #[error("must not contain spaces or control characters")]
    SpaceOrControl,
    #[error("must be ASCII (percent-encode other characters)")]
    NonAscii,
    #[error("must not contain the character {0:?}")]
    BadCharacter(char),
    #[error("has a '%' that is not followed by two hexadecimal digits")]
    BadPercentEncoding,
    #[error("wildcards (*) are not allowed: register every URI in full")]
    Wildcard,
    #[error("must not have a fragment (#)")]
    Fragment,
    #[error("must be absolute, starting with a scheme such as https://")]
    NotAbsolute,
    #[error("must have a host (scheme://host/…)")]
    NoHost,
    #[error("must not contain user information (user@)")]
    UserInfo,
    #[error("host is not a valid domain name or IP address")]
    BadHost,
    #[error("port must be a number from 1 to 65535")]
    BadPort,
    #[error("http is allowed only for loopback hosts (127.0.0.1, [::1], localhost)")]
    HttpNotLoopback,
    #[error("must use https (http only for loopback hosts)")]
    NotHttps,
    #[error("must use https (http only for loopback hosts; private-use schemes only for public clients)")]
    PrivateSchemeNotAllowed,
    #[error(
        "a private-use scheme must be a reverse domain name with a dot, such as nl.bibliotheek.app:/callback"
    )]
    PrivateSchemeWithoutDot,
    #[error("a private-use scheme must be followed by a path, such as nl.bibliotheek.app:/callback")]
    PrivateSchemeWithoutPath,
    #[error("must not have {0} in its query: the service adds it to every answer")]
    ResponseParameter(&'static str),
}

/// What the service adds to a redirect URI's query (RFC 6749 4.1.2 and
/// 4.1.2.1, RFC 9207; `state` after logout too). Registered in the URI as
/// well, it would come twice, and which one a website reads is anyone's
/// guess: a fixed `iss` would undo the mix-up defence.
const RESPONSE_PARAMETERS: [&str; 6] = ["code", "state", "iss", "error", "error_description", "error_uri"];

/// Refuses a query that holds one of [`RESPONSE_PARAMETERS`], however a
/// website's framework may read it: names in any case, percent-encoded,
/// parameters split at `;` as well as `&`.
fn check_no_response_parameters(uri: &str) -> Result<(), UriRule> {
    let Some((_, query)) = uri.split_once('?') else {
        return Ok(());
    };
    let names: Vec<(String, String)> =
        serde_urlencoded::from_str(&query.replace(';', "&")).unwrap_or_default();
    match RESPONSE_PARAMETERS
        .into_iter()
        .find(|parameter| names.iter().any(|(name, _)| name.eq_ignore_ascii_case(parameter)))
    {
        Some(parameter) => Err(UriRule::ResponseParameter(parameter)),
        None => Ok(()),
    }
}

/// Defines a closed set of protocol keywords, parsed and printed as their names.
macro_rules! keywords {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant),+
        }

        impl $name {
            pub const ALL: &[Self] = &[$(Self::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }

            /// Exactly one of the names, case-sensitive as the protocol spells them.
            pub fn parse(input: &str) -> Result<Self, ClientError> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|known| known.as_str() == input)
                    .ok_or_else(|| ClientError::Unknown {
                        what: $what,
                        value: input.to_owned(),
                        known: known_list(Self::ALL.iter().map(|k| k.as_str())),
                    })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }
    };
}

keywords! {
    /// A confidential client (a website's server, a library system) keeps a
    /// secret; a public client (a browser or native app) cannot.
    ClientKind, "client kind" {
        Confidential = "confidential",
        Public = "public",
    }
}

keywords! {
    GrantType, "grant type" {
        AuthorizationCode = "authorization_code",
        RefreshToken = "refresh_token",
        ClientCredentials = "client_credentials",
    }
}

keywords! {
    /// How the client wants its ID tokens signed.
    IdTokenAlgorithm, "ID token algorithm" {
        Rs256 = "RS256",
        Es256 = "ES256",
        EdDsa = "EdDSA",
    }
}

fn known_list<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names.collect::<Vec<_>>().join(", ")
}

/// One of [`KNOWN_SCOPES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Scope(&'static str);

impl Scope {
    pub fn parse(input: &str) -> Result<Self, ClientError> {
        KNOWN_SCOPES
            .iter()
            .copied()
            .find(|known| *known == input)
            .map(Self)
            .ok_or_else(|| ClientError::Unknown {
                what: "scope",
                value: input.to_owned(),
                known: known_list(KNOWN_SCOPES.iter().copied()),
            })
    }

    pub fn as_str(self) -> &'static str {
        self.0
    }

    /// Desk API scopes act for a library's staff, so only a library's own
    /// confidential system may hold them.
    pub fn is_desk(self) -> bool {
        self.0.starts_with("desk:")
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl Serialize for Scope {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0)
    }
}

/// The `client_id`: 3–64 characters of `a-z 0-9 - _ .`, so it is safe in URLs,
/// logs and file names without escaping.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct ClientId(String);

impl ClientId {
    /// Taken as given: ids are compared exactly, so nothing is trimmed or lower-cased.
    pub fn parse(input: &str) -> Result<Self, ClientError> {
        let allowed = |c: char| matches!(c, 'a'..='z' | '0'..='9' | '-' | '_' | '.');
        if (3..=64).contains(&input.len()) && input.chars().all(allowed) {
            Ok(Self(input.to_owned()))
        } else {
            Err(ClientError::InvalidId(input.to_owned()))
        }
    }

    /// An id for a new client: also not of the form of an account id, for a
    /// client's `sub` (`client_credentials`) must never name a member
    /// (RFC 9068 §5).
    pub fn parse_new(input: &str) -> Result<Self, ClientError> {
        let id = Self::parse(input)?;
        match si_domain::AccountId::parse(input) {
            Ok(_) => Err(ClientError::LooksLikeAccountId(input.to_owned())),
            Err(_) => Ok(id),
        }
    }

    /// `si-` and 64 random bits: unguessable enough that ids leak nothing about
    /// how many clients exist, while the secret is what authenticates.
    pub fn generate() -> Self {
        Self(format!("si-{:016x}", rand::random::<u64>()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A redirect or post-logout redirect URI that passed [`check_uri`], kept verbatim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct RedirectUri(String);

impl RedirectUri {
    /// Private-use schemes (RFC 8252) are allowed only for public clients.
    pub fn parse(input: &str, kind: ClientKind) -> Result<Self, UriRule> {
        let allowed = match kind {
            ClientKind::Public => Schemes::WebOrPrivateUse,
            ClientKind::Confidential => Schemes::Web,
        };
        check_uri(input, allowed)?;
        Ok(Self(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where the provider posts logout tokens from its own servers: https, or
/// http on a loopback host for development.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct BackchannelLogoutUri(String);

impl BackchannelLogoutUri {
    pub fn parse(input: &str) -> Result<Self, UriRule> {
        check_uri(input, Schemes::Backchannel)?;
        Ok(Self(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What an operator asks for. Values whose rules do not depend on the rest are
/// typed already; the URIs are checked by [`register`] because what is allowed
/// depends on the client's kind.
#[derive(Debug, Clone)]
pub struct ClientRegistration {
    /// `None` draws one, see [`ClientId::generate`].
    pub id: Option<ClientId>,
    pub name: DisplayName,
    pub kind: ClientKind,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    pub grant_types: Vec<GrantType>,
    pub scopes: Vec<Scope>,
    pub library: Option<LibraryCode>,
    pub id_token_algorithm: IdTokenAlgorithm,
}

/// A registered client, valid by construction: read from the store only
/// through the same rules that admitted it. It holds no secret or digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Client {
    id: ClientId,
    name: DisplayName,
    kind: ClientKind,
    #[serde(flatten)]
    settings: Settings,
    library: Option<Library>,
    id_token_algorithm: IdTokenAlgorithm,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
}

impl Client {
    pub fn id(&self) -> &ClientId {
        &self.id
    }
    pub fn name(&self) -> &DisplayName {
        &self.name
    }
    pub fn kind(&self) -> ClientKind {
        self.kind
    }
    pub fn redirect_uris(&self) -> &[RedirectUri] {
        &self.settings.redirect_uris
    }
    pub fn post_logout_redirect_uris(&self) -> &[RedirectUri] {
        &self.settings.post_logout_redirect_uris
    }
    pub fn backchannel_logout_uri(&self) -> Option<&BackchannelLogoutUri> {
        self.settings.backchannel_logout_uri.as_ref()
    }
    pub fn grant_types(&self) -> &[GrantType] {
        &self.settings.grant_types
    }
    pub fn scopes(&self) -> &[Scope] {
        &self.settings.scopes
    }
    pub fn library(&self) -> Option<&Library> {
        self.library.as_ref()
    }
    pub fn id_token_algorithm(&self) -> IdTokenAlgorithm {
        self.id_token_algorithm
    }
    pub fn created_at(&self) -> OffsetDateTime {
        self.created_at
    }

    /// Whether the client is registered for every one of `scopes`.
    pub fn allows_scopes<'s>(&self, mut scopes: impl Iterator<Item = &'s str>) -> bool {
        scopes.all(|scope| self.scopes().iter().any(|allowed| allowed.as_str() == scope))
    }

    /// Whether `uri` is one of the registered redirect URIs, compared as
    /// strings (RFC 9700 §4.1.3). The one exception is RFC 8252 §7.3: a
    /// public client registered with an http loopback IP literal may use any
    /// port, because native apps get a free port from the OS at run time.
    pub fn redirect_uri_allowed(&self, uri: &str) -> bool {
        self.settings.redirect_uris.iter().any(|registered| {
            registered.as_str() == uri
                || (self.kind == ClientKind::Public
                    && loopback_without_port(registered.as_str())
                        .is_some_and(|registered| loopback_without_port(uri) == Some(registered)))
        })
    }

    /// Whether `uri` is one of the registered post-logout redirect URIs,
    /// compared as strings (OpenID Connect RP-Initiated Logout).
    pub fn post_logout_redirect_uri_allowed(&self, uri: &str) -> bool {
        self.settings
            .post_logout_redirect_uris
            .iter()
            .any(|registered| registered.as_str() == uri)
    }

    /// Reads a stored client back through the registration rules, so a row
    /// edited by hand into something forbidden is reported, not used.
    pub fn from_record(record: ClientRecord) -> Result<Self, StoreError> {
        let corrupt = |what: &'static str, error: ClientError| StoreError::Corrupt {
            what,
            value: format!("{}: {error}", record.id),
        };
        let kind = ClientKind::parse(&record.kind).map_err(|e| corrupt("client kind", e))?;
        if record.secret_digest.is_some() != (kind == ClientKind::Confidential) {
            return Err(StoreError::Corrupt {
                what: "client secret digest",
                value: format!("{}: a {kind} client", record.id),
            });
        }
        let grant_types = record
            .grant_types
            .iter()
            .map(|g| GrantType::parse(g))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| corrupt("client grant types", e))?;
        let scopes = record
            .scopes
            .iter()
            .map(|s| Scope::parse(s))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| corrupt("client scopes", e))?;
        let settings = Settings::check(
            kind,
            &record.redirect_uris,
            &record.post_logout_redirect_uris,
            record.backchannel_logout_uri.as_deref(),
            grant_types,
            scopes,
            record.library.is_some(),
        )
        .map_err(|e| corrupt("client", e))?;
        Ok(Self {
            id: ClientId::parse(&record.id).map_err(|e| corrupt("client id", e))?,
            name: record.name,
            kind,
            settings,
            library: record.library,
            id_token_algorithm: IdTokenAlgorithm::parse(&record.id_token_algorithm)
                .map_err(|e| corrupt("client ID token algorithm", e))?,
            created_at: record.created_at,
        })
    }
}

/// The part of a client whose rules depend on each other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct Settings {
    redirect_uris: Vec<RedirectUri>,
    post_logout_redirect_uris: Vec<RedirectUri>,
    backchannel_logout_uri: Option<BackchannelLogoutUri>,
    grant_types: Vec<GrantType>,
    scopes: Vec<Scope>,
}

impl Settings {
    /// Applies every rule that spans fields; repeated values are dropped
    /// (keeping the first) since a set is meant.
    fn check(
        kind: ClientKind,
        redirect_uris: &[String],
        post_logout_redirect_uris: &[String],
        backchannel_logout_uri: Option<&str>,
        grant_types: Vec<GrantType>,
        scopes: Vec<Scope>,
        bound_to_library: bool,
    ) -> Result<Self, ClientError> {
        let redirects = |role, uris: &[String]| {
            uris.iter()
                .map(|uri| RedirectUri::parse(uri, kind).map_err(uri_error(role, uri)))
                .collect::<Result<Vec<_>, _>>()
                .map(distinct)
        };
        let redirect_uris = redirects(UriRole::Redirect, redirect_uris)?;
        let post_logout_redirect_uris = redirects(UriRole::PostLogoutRedirect, post_logout_redirect_uris)?;
        let backchannel_logout_uri = backchannel_logout_uri
            .map(|uri| BackchannelLogoutUri::parse(uri).map_err(uri_error(UriRole::BackchannelLogout, uri)))
            .transpose()?;
        let grant_types = distinct(grant_types);
        let scopes = distinct(scopes);

        let logs_in = grant_types.contains(&GrantType::AuthorizationCode);
        if grant_types.is_empty() {
            return Err(ClientError::NoGrantType);
        }
        if kind == ClientKind::Public && grant_types.contains(&GrantType::ClientCredentials) {
            return Err(ClientError::PublicClientCredentials);
        }
        if grant_types.contains(&GrantType::RefreshToken) && !logs_in {
            return Err(ClientError::RefreshWithoutAuthorizationCode);
        }
        if logs_in && redirect_uris.is_empty() {
            return Err(ClientError::RedirectUriRequired);
        }
        let has_uris = !redirect_uris.is_empty()
            || !post_logout_redirect_uris.is_empty()
            || backchannel_logout_uri.is_some();
        if !logs_in && has_uris {
            return Err(ClientError::UrisWithoutAuthorizationCode);
        }
        if scopes.is_empty() {
            return Err(ClientError::NoScope);
        }
        if logs_in && !scopes.iter().any(|s| s.as_str() == "openid") {
            return Err(ClientError::OpenidRequired);
        }
        let desk_allowed = kind == ClientKind::Confidential && bound_to_library;
        if let Some(desk) = scopes.iter().find(|s| s.is_desk() && !desk_allowed) {
            return Err(ClientError::DeskScopeNotAllowed(*desk));
        }
        Ok(Self {
            redirect_uris,
            post_logout_redirect_uris,
            backchannel_logout_uri,
            grant_types,
            scopes,
        })
    }
}

fn uri_error(role: UriRole, uri: &str) -> impl FnOnce(UriRule) -> ClientError + '_ {
    move |rule| ClientError::Uri {
        role,
        uri: printable(uri),
        rule,
    }
}

fn strings<T>(values: &[T], text: impl Fn(&T) -> &str) -> Vec<String> {
    values.iter().map(|v| text(v).to_owned()).collect()
}

fn distinct<T: PartialEq>(values: Vec<T>) -> Vec<T> {
    let mut kept = Vec::with_capacity(values.len());
    for value in values {
        if !kept.contains(&value) {
            kept.push(value);
        }
    }
    kept
}

/// A confidential client's secret: 256 random bits, shown once at
/// registration; only its SHA-256 digest is stored. `Debug` is redacted.
#[derive(Debug)]
pub struct ClientSecret(SecretToken);

impl ClientSecret {
    /// The secret text, to hand to the operator once; never log it.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error(transparent)]
    Invalid(#[from] ClientError),
    #[error("client {0} already exists")]
    Duplicate(ClientId),
    #[error("library {0} not found")]
    UnknownLibrary(LibraryCode),
    #[error("the operating system's random generator failed")]
    Randomness,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Checks and stores a client. A confidential client gets a fresh secret,
/// returned here and nowhere else.
pub async fn register(
    store: &impl Repositories,
    registration: ClientRegistration,
) -> Result<(Client, Option<ClientSecret>), RegisterError> {
    let settings = Settings::check(
        registration.kind,
        &registration.redirect_uris,
        &registration.post_logout_redirect_uris,
        registration.backchannel_logout_uri.as_deref(),
        registration.grant_types,
        registration.scopes,
        registration.library.is_some(),
    )?;
    // New registrations only: a client stored before these rules still loads.
    let library_system = settings.grant_types.contains(&GrantType::ClientCredentials);
    if library_system && !settings.scopes.iter().any(|scope| scope.is_desk()) {
        return Err(ClientError::ClientCredentialsWithoutDeskScope.into());
    }
    let redirects = [
        (UriRole::Redirect, &registration.redirect_uris),
        (
            UriRole::PostLogoutRedirect,
            &registration.post_logout_redirect_uris,
        ),
    ];
    for (role, uris) in redirects {
        for uri in uris {
            check_no_response_parameters(uri).map_err(uri_error(role, uri))?;
        }
    }
    let id = match registration.id {
        Some(id) => ClientId::parse_new(id.as_str())?,
        None => ClientId::generate(),
    };
    let secret = match registration.kind {
        ClientKind::Confidential => Some(ClientSecret(
            SecretToken::generate().map_err(|_| RegisterError::Randomness)?,
        )),
        ClientKind::Public => None,
    };
    let new = NewClient {
        id: id.as_str().to_owned(),
        name: registration.name,
        kind: registration.kind.as_str().to_owned(),
        secret_digest: secret.as_ref().map(|s| s.0.digest()),
        redirect_uris: strings(&settings.redirect_uris, RedirectUri::as_str),
        post_logout_redirect_uris: strings(&settings.post_logout_redirect_uris, RedirectUri::as_str),
        backchannel_logout_uri: settings.backchannel_logout_uri.map(|uri| uri.as_str().to_owned()),
        grant_types: strings(&settings.grant_types, |g| g.as_str()),
        scopes: strings(&settings.scopes, |s| s.as_str()),
        library: registration.library.clone(),
        id_token_algorithm: registration.id_token_algorithm.as_str().to_owned(),
    };
    let record = store.clients().create(new).await.map_err(|e| match e {
        StoreError::Duplicate { .. } => RegisterError::Duplicate(id),
        StoreError::NotFound { .. } => match registration.library {
            Some(code) => RegisterError::UnknownLibrary(code),
            None => RegisterError::Store(e),
        },
        other => RegisterError::Store(other),
    })?;
    Ok((Client::from_record(record)?, secret))
}

/// The same for an unknown client, a wrong or missing secret and a secret sent
/// by a public client, so a caller cannot learn which client ids exist.
#[derive(Debug, thiserror::Error)]
pub enum ClientAuthError {
    #[error("client authentication failed")]
    Failed,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Who is calling the token endpoint: a confidential client must present its
/// secret (checked in constant time), a public client must present none.
pub async fn authenticate(
    store: &impl Repositories,
    client_id: &str,
    secret: Option<&str>,
) -> Result<Client, ClientAuthError> {
    let record = match ClientId::parse(client_id) {
        Ok(id) => store.clients().get(id.as_str()).await?,
        Err(_) => None,
    };
    let Some(record) = record else {
        if let Some(secret) = secret {
            std::hint::black_box(verify_digest(secret, UNKNOWN_CLIENT_DIGEST));
        }
        return Err(ClientAuthError::Failed);
    };
    let digest = record.secret_digest.clone();
    let client = Client::from_record(record)?;
    if credentials_match(client.kind, digest.as_deref(), secret) {
        Ok(client)
    } else {
        Err(ClientAuthError::Failed)
    }
}

/// A confidential client must present its secret (compared in constant time),
/// a public client none.
fn credentials_match(kind: ClientKind, digest: Option<&str>, secret: Option<&str>) -> bool {
    match (kind, digest, secret) {
        (ClientKind::Confidential, Some(digest), Some(secret)) => verify_digest(secret, digest),
        (ClientKind::Public, None, None) => true,
        _ => false,
    }
}

/// How long a node keeps a client it read: every token request needs one, so
/// reading and re-checking it each time cost more than the token itself.
/// [`Directory::watch_deletions`] forgets them all sooner, whenever a client
/// is deleted; this bounds what it cannot see.
pub const DIRECTORY_TTL: Duration = Duration::from_secs(30);

/// How often each node asks the database whether a client was deleted since
/// (one small query, whatever the load).
pub const DELETIONS_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// Within this time of a client's deletion every running node that can reach
/// the database refuses it: a check, and the query's time with room to spare.
pub const DELETION_SEEN_WITHIN: Duration = Duration::from_secs(2);
const _: () = assert!(DELETION_SEEN_WITHIN.as_millis() >= 2 * DELETIONS_CHECK_INTERVAL.as_millis());

/// The registered clients as the endpoints use them, read from the database
/// at most once per [`DIRECTORY_TTL`] per client on each node.
#[derive(Clone)]
pub struct Directory {
    store: si_store::Store,
    entries: Arc<RwLock<HashMap<String, Entry>>>,
    /// Counts [`Self::forget_all`], so that a read begun before one does not
    /// put back what it read.
    forgotten: Arc<AtomicU64>,
}

#[derive(Clone)]
struct Entry {
    read_at: std::time::Instant,
    client: Client,
    secret_digest: Option<String>,
}

impl Directory {
    pub fn new(store: si_store::Store) -> Self {
        Self {
            store,
            entries: Default::default(),
            forgotten: Default::default(),
        }
    }

    /// Forgets every client this node holds whenever a client was deleted
    /// (on any node, or with `single-identity client`), looked for every
    /// [`DELETIONS_CHECK_INTERVAL`] until `stop`. While the database
    /// cannot be reached, nothing is forgotten.
    pub async fn watch_deletions(self, mut stop: watch::Receiver<bool>) {
        let mut seen = None;
        loop {
            match self.store.clients().deletions().await {
                Ok(deletions) if seen != Some(deletions) => {
                    // Also at the first look: whatever was read before it
                    // may be out of date.
                    self.forget_all();
                    seen = Some(deletions);
                }
                Ok(_) => {}
                Err(err) => tracing::debug!("looking for deleted clients failed: {err}"),
            }
            tokio::select! {
                _ = tokio::time::sleep(DELETIONS_CHECK_INTERVAL) => {}
                _ = stop.changed() => return,
            }
        }
    }

    fn forget_all(&self) {
        if let Ok(mut entries) = self.entries.write() {
            entries.clear();
            self.forgotten.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A registered client by id; unknown ids and unreadable rows alike are
    /// none, and so is a client not read before while the database is down.
    pub async fn find(&self, id: &str) -> Option<Client> {
        self.lookup(id).await.ok().flatten()
    }

    /// [`Self::find`], with an error when the database cannot tell: a
    /// client not read before while it is down is not an unknown one.
    pub async fn lookup(&self, id: &str) -> Result<Option<Client>, StoreError> {
        Ok(self.entry(id).await?.map(|entry| entry.client))
    }

    /// [`Self::find`], read from the database even when this node holds
    /// the client: for a token of a registration newer than the one held.
    pub async fn find_anew(&self, id: &str) -> Option<Client> {
        if let Ok(mut entries) = self.entries.write() {
            entries.remove(id);
        }
        self.find(id).await
    }

    /// [`authenticate`], from the directory; a failure is logged.
    pub async fn authenticate(
        &self,
        client_id: &str,
        secret: Option<&str>,
    ) -> Result<Client, ClientAuthError> {
        let Some(entry) = self.entry(client_id).await? else {
            if let Some(secret) = secret {
                std::hint::black_box(verify_digest(secret, UNKNOWN_CLIENT_DIGEST));
            }
            // Not the id as sent: it may be a secret in the wrong field.
            log_failed_authentication("unknown");
            return Err(ClientAuthError::Failed);
        };
        if credentials_match(entry.client.kind, entry.secret_digest.as_deref(), secret) {
            Ok(entry.client)
        } else {
            log_failed_authentication(entry.client.id().as_str());
            Err(ClientAuthError::Failed)
        }
    }

    /// [`Self::find`], read from the database whatever this node holds,
    /// and an error when it cannot be read.
    pub async fn find_current(&self, id: &str) -> Result<Option<Client>, StoreError> {
        Ok(self.read(id, None).await?.map(|entry| entry.client))
    }

    async fn entry(&self, id: &str) -> Result<Option<Entry>, StoreError> {
        let known = self
            .entries
            .read()
            .ok()
            .and_then(|entries| entries.get(id).cloned());
        if let Some(entry) = known.as_ref().filter(|e| e.read_at.elapsed() < DIRECTORY_TTL) {
            return Ok(Some(entry.clone()));
        }
        self.read(id, known).await
    }

    /// The client as the database holds it, kept for [`DIRECTORY_TTL`];
    /// `known` (as read before) while the database cannot be reached.
    async fn read(&self, id: &str, known: Option<Entry>) -> Result<Option<Entry>, StoreError> {
        let Ok(id) = ClientId::parse(id) else {
            return Ok(None);
        };
        let forgotten = self.forgotten.load(Ordering::Relaxed);
        let record = match self.store.clients().get(id.as_str()).await {
            Ok(Some(record)) => record,
            Ok(None) => {
                // Deleted: gone from this node too, for every endpoint.
                if let Ok(mut entries) = self.entries.write() {
                    entries.remove(id.as_str());
                }
                return Ok(None);
            }
            // Registrations rarely change: while the database cannot be
            // reached, the client as last read goes on serving.
            Err(err) if err.is_unavailable() && known.is_some() => return Ok(known),
            Err(err) => return Err(err),
        };
        let secret_digest = record.secret_digest.clone();
        let Ok(client) = Client::from_record(record) else {
            return Ok(None);
        };
        let entry = Entry {
            read_at: std::time::Instant::now(),
            client,
            secret_digest,
        };
        if let Ok(mut entries) = self.entries.write()
            && self.forgotten.load(Ordering::Relaxed) == forgotten
        {
            // Only registered clients are kept, so unknown ids cannot grow it.
            entries.insert(id.as_str().to_owned(), entry.clone());
        }
        Ok(Some(entry))
    }
}

/// The log line of a refused client authentication: a registered client by
/// its id, anything else as `unknown`.
pub(crate) fn log_failed_authentication(client: &str) {
    tracing::info!(client = %client, "client authentication failed");
}

/// Which schemes a URI may use where it is registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Schemes {
    /// https, or http for a loopback host.
    Web,
    /// Also a native app's private-use scheme (RFC 8252 §7.1).
    WebOrPrivateUse,
    /// https or loopback http, called by the provider's own servers.
    Backchannel,
}

/// The strict URI check behind [`RedirectUri`] and [`BackchannelLogoutUri`]:
/// an absolute RFC 3986 URI without fragment, wildcard or user information,
/// whose scheme and host obey `schemes`.
fn check_uri(uri: &str, schemes: Schemes) -> Result<(), UriRule> {
    if uri.is_empty() {
        return Err(UriRule::Empty);
    }
    for c in uri.chars() {
        if c == ' ' || c.is_control() {
            return Err(UriRule::SpaceOrControl);
        }
        if !c.is_ascii() {
            return Err(UriRule::NonAscii);
        }
    }
    if uri.len() > MAX_URI_CHARS {
        return Err(UriRule::TooLong);
    }
    if uri.contains('*') {
        return Err(UriRule::Wildcard);
    }
    if uri.contains('#') {
        return Err(UriRule::Fragment);
    }
    // Unreserved, reserved and '%' of RFC 3986; notably no '\', which browsers
    // read as '/' and which would let a host hide behind a path.
    if let Some(bad) = uri
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || "-._~:/?#[]@!$&'()*+,;=%".contains(c)))
    {
        return Err(UriRule::BadCharacter(bad));
    }
    check_percent_encoding(uri)?;

    let (scheme, rest) = split_scheme(uri).ok_or(UriRule::NotAbsolute)?;
    let http = scheme.eq_ignore_ascii_case("http");
    if http || scheme.eq_ignore_ascii_case("https") {
        let after_slashes = rest.strip_prefix("//").ok_or(UriRule::NoHost)?;
        let (authority, path) = split_authority(after_slashes);
        if authority.contains('@') {
            return Err(UriRule::UserInfo);
        }
        let host = check_authority(authority)?;
        check_path(path)?;
        if http && !is_loopback(host) {
            return Err(UriRule::HttpNotLoopback);
        }
        return Ok(());
    }
    match schemes {
        Schemes::Backchannel => return Err(UriRule::NotHttps),
        Schemes::Web => return Err(UriRule::PrivateSchemeNotAllowed),
        Schemes::WebOrPrivateUse => {}
    }
    // RFC 8252 §7.1: a reverse domain name the app's owner controls, so apps
    // cannot claim each other's callbacks; this also keeps out javascript:,
    // data: and file:, none of which has a dot.
    if !scheme.contains('.') || scheme.split('.').any(str::is_empty) {
        return Err(UriRule::PrivateSchemeWithoutDot);
    }
    if !rest.starts_with('/') {
        return Err(UriRule::PrivateSchemeWithoutPath);
    }
    let path = match rest.strip_prefix("//") {
        Some(after_slashes) => {
            let (authority, path) = split_authority(after_slashes);
            if authority.contains('@') {
                return Err(UriRule::UserInfo);
            }
            path
        }
        None => rest,
    };
    check_path(path)
}

fn check_percent_encoding(uri: &str) -> Result<(), UriRule> {
    let bytes = uri.as_bytes();
    for (at, _) in uri.match_indices('%') {
        let hex = |i: usize| bytes.get(i).is_some_and(u8::is_ascii_hexdigit);
        if !(hex(at + 1) && hex(at + 2)) {
            return Err(UriRule::BadPercentEncoding);
        }
    }
    Ok(())
}

/// `scheme` and what follows the first ':', if the URI starts with a valid
/// RFC 3986 scheme (a letter, then letters, digits, '+', '-' or '.').
fn split_scheme(uri: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = uri.split_once(':')?;
    let mut chars = scheme.chars();
    let starts_with_letter = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    let valid = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    (starts_with_letter && valid).then_some((scheme, rest))
}

/// Splits what follows `//` into the authority and the path with its query.
fn split_authority(after_slashes: &str) -> (&str, &str) {
    let end = after_slashes.find(['/', '?']).unwrap_or(after_slashes.len());
    after_slashes.split_at(end)
}

/// '[' and ']' belong only around an IPv6 host.
fn check_path(path: &str) -> Result<(), UriRule> {
    match path.chars().find(|c| matches!(c, '[' | ']')) {
        Some(bracket) => Err(UriRule::BadCharacter(bracket)),
        None => Ok(()),
    }
}

/// Checks `host[:port]` and returns the host as written (with brackets for IPv6).
fn check_authority(authority: &str) -> Result<&str, UriRule> {
    let (host, port) = if authority.starts_with('[') {
        let close = authority.find(']').ok_or(UriRule::BadHost)?;
        let (host, after) = authority.split_at(close + 1);
        // No zone ids: '%' makes the parse fail, and they mean nothing to a browser.
        host[1..close].parse::<Ipv6Addr>().map_err(|_| UriRule::BadHost)?;
        match after {
            "" => (host, None),
            _ => (host, Some(after.strip_prefix(':').ok_or(UriRule::BadHost)?)),
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(UriRule::NoHost);
    }
    if !host.starts_with('[') {
        check_host_name(host)?;
    }
    if let Some(port) = port {
        // Digits first: u16's parser would also take "+80".
        let digits = port.bytes().all(|b| b.is_ascii_digit());
        if !digits || !matches!(port.parse::<u16>(), Ok(1..)) {
            return Err(UriRule::BadPort);
        }
    }
    Ok(host)
}

/// A DNS name (labels of letters, digits and inner '-') or a dotted-quad IPv4
/// address. Like browsers, a name whose last label is numeric is read as an
/// address, so `0x7f.1` or `1.2.3.999` must be a proper dotted quad or nothing.
fn check_host_name(host: &str) -> Result<(), UriRule> {
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    if host.len() > 253 || !host.split('.').all(label_ok) {
        return Err(UriRule::BadHost);
    }
    let last = host.rsplit('.').next().unwrap_or(host);
    let numeric = last.bytes().all(|b| b.is_ascii_digit())
        || last
            .get(..2)
            .is_some_and(|prefix| prefix.eq_ignore_ascii_case("0x"));
    if numeric && host.parse::<Ipv4Addr>().is_err() {
        return Err(UriRule::BadHost);
    }
    Ok(())
}

/// Only the literal loopback names: `127.0.0.1.nip.io` or `localhost.evil.example`
/// resolve wherever their owner likes.
fn is_loopback(host: &str) -> bool {
    host == "127.0.0.1" || host == "[::1]" || host.eq_ignore_ascii_case("localhost")
}

/// An `http://127.0.0.1` or `http://[::1]` URI with its port removed, for the
/// RFC 8252 §7.3 comparison; `None` for anything else.
fn loopback_without_port(uri: &str) -> Option<String> {
    ["http://127.0.0.1", "http://[::1]"]
        .into_iter()
        .find_map(|origin| {
            let rest = uri.strip_prefix(origin)?;
            let rest = match rest.strip_prefix(':') {
                Some(port_and_path) => {
                    let end = port_and_path.find(['/', '?']).unwrap_or(port_and_path.len());
                    let (port, path) = port_and_path.split_at(end);
                    port.parse::<u16>().ok().filter(|p| *p > 0)?;
                    path
                }
                None => rest,
            };
            (rest.is_empty() || rest.starts_with(['/', '?'])).then(|| format!("{origin}{rest}"))
        })
        .filter(|_| check_uri(uri, Schemes::Web).is_ok())
}

/// The URI for an error message: control and non-ASCII characters escaped, so
/// a hostile URI cannot rewrite the operator's terminal.
fn printable(uri: &str) -> String {
    uri.chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c.to_string()
            } else {
                c.escape_unicode().to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn web(uri: &str) -> Result<(), UriRule> {
        check_uri(uri, Schemes::Web)
    }
    fn app(uri: &str) -> Result<(), UriRule> {
        check_uri(uri, Schemes::WebOrPrivateUse)
    }

    #[test]
    fn good_uris_are_kept() {
        for uri in [
            "https://bibliotheek.example/cb",
            "https://bibliotheek.example",
            "https://bibliotheek.example:8443/auth/cb?tenant=dre01&x=%20",
            "https://good.example.evil.example/",
            "HTTPS://Bibliotheek.Example/cb",
            "http://127.0.0.1:8080/cb",
            "http://[::1]:8080/cb",
            "http://localhost/cb",
            "http://LOCALHOST:3000",
            "https://[2001:db8::1]/cb",
            "https://10.0.0.1/cb",
            "https://good.example/path/@not-userinfo?next=a@b",
        ] {
            assert_eq!(web(uri), Ok(()), "{uri}");
        }
        for uri in [
            "nl.bibliotheek.app:/callback",
            "nl.bibliotheek.app://callback/x",
            "com.example-app.ios+dev:/cb",
        ] {
            assert_eq!(app(uri), Ok(()), "{uri}");
            assert_eq!(web(uri), Err(UriRule::PrivateSchemeNotAllowed), "{uri}");
        }
    }

    #[test]
    fn hostile_uris_are_refused_with_the_rule_they_break() {
        use UriRule::*;
        let cases: &[(&str, UriRule)] = &[
            ("", Empty),
            ("https://evil.example@good.example/", UserInfo),
            ("https://user:pw@good.example/", UserInfo),
            ("https://good.example\\@evil.example/", BadCharacter('\\')),
            ("javascript:alert(1)", PrivateSchemeWithoutDot),
            ("data:text/html,x", PrivateSchemeWithoutDot),
            ("https://*.example/cb", Wildcard),
            ("https://good.example/*", Wildcard),
            ("https://good.example/cb#frag", Fragment),
            ("https://good.example/c b", SpaceOrControl),
            (" https://good.example/cb", SpaceOrControl),
            ("https://good.example/cb\n", SpaceOrControl),
            ("https://good.example/\u{0}", SpaceOrControl),
            ("https://good.example/\u{7f}", SpaceOrControl),
            ("https://good.example/\u{85}", SpaceOrControl),
            ("https://goöd.example/", NonAscii),
            ("https://good.example/\u{202e}", NonAscii),
            ("https://good.example/<script>", BadCharacter('<')),
            ("https://good.example/%zz", BadPercentEncoding),
            ("https://good.example/%4", BadPercentEncoding),
            ("http://example.org/cb", HttpNotLoopback),
            ("http://127.0.0.1.nip.io/", HttpNotLoopback),
            ("http://localhost.evil.example/", HttpNotLoopback),
            ("http://127.0.0.2/", HttpNotLoopback),
            ("http://[::2]/", HttpNotLoopback),
            ("http://0x7f.0.0.1/", BadHost),
            ("http://2130706433/", BadHost),
            ("https://1.2.3.999/", BadHost),
            ("https://good..example/", BadHost),
            ("https://-good.example/", BadHost),
            ("https://good_example.org/", BadHost),
            ("https://good.example%2f.evil/", BadHost),
            ("https://[::1/", BadHost),
            ("https://[fe80::1%25eth0]/", BadHost),
            ("https://[::1]x/", BadHost),
            ("https://good.example:0/", BadPort),
            ("https://good.example:99999/", BadPort),
            ("https://good.example:/", BadPort),
            ("https://good.example:8a/", BadPort),
            ("https://good.example:+80/", BadPort),
            ("https:///cb", NoHost),
            ("https:good.example/cb", NoHost),
            ("//good.example/cb", NotAbsolute),
            ("/cb", NotAbsolute),
            ("good.example", NotAbsolute),
            ("1https://good.example/", NotAbsolute),
            ("https://good.example/a[1]", BadCharacter('[')),
        ];
        for (uri, rule) in cases {
            assert_eq!(app(uri), Err(*rule), "{uri:?}");
        }
        assert_eq!(
            web(&format!("https://good.example/{}", "a".repeat(MAX_URI_CHARS))),
            Err(TooLong)
        );
        assert_eq!(app("nl.bibliotheek.app:callback"), Err(PrivateSchemeWithoutPath));
        for (uri, parameter) in [
            ("https://good.example/cb?state=fixed", "state"),
            (
                "https://good.example/cb?lang=nl&iss=https%3A%2F%2Fevil.example",
                "iss",
            ),
            ("https://good.example/cb?c%6Fde=x", "code"),
            ("https://good.example/cb?error=", "error"),
            ("https://good.example/cb?STATE=fixed", "state"),
            ("https://good.example/cb?a=1;Iss=x", "iss"),
        ] {
            assert_eq!(
                check_no_response_parameters(uri),
                Err(ResponseParameter(parameter)),
                "{uri}"
            );
        }
        let own_query = "https://good.example/cb?lang=nl&codes=1&state_of=x";
        assert_eq!(check_no_response_parameters(own_query), Ok(()));
        assert_eq!(app("nl..app:/cb"), Err(PrivateSchemeWithoutDot));
        assert_eq!(app("nl.app://evil@x/cb"), Err(UserInfo));
        assert_eq!(web("javascript:alert(1)"), Err(PrivateSchemeNotAllowed));
    }

    #[test]
    fn backchannel_logout_is_https_or_loopback_http_only() {
        assert!(BackchannelLogoutUri::parse("https://site.example/logout").is_ok());
        assert!(BackchannelLogoutUri::parse("http://127.0.0.1:9000/logout").is_ok());
        assert_eq!(
            BackchannelLogoutUri::parse("nl.bibliotheek.app:/logout"),
            Err(UriRule::NotHttps)
        );
        assert_eq!(
            BackchannelLogoutUri::parse("http://site.example/logout"),
            Err(UriRule::HttpNotLoopback)
        );
    }

    #[test]
    fn errors_name_the_uri_and_the_rule_and_escape_what_a_terminal_would_obey() {
        let error = Settings::check(
            ClientKind::Confidential,
            &["http://example.org/cb".to_owned()],
            &[],
            None,
            vec![GrantType::AuthorizationCode],
            vec![Scope::parse("openid").unwrap()],
            false,
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "redirect URI http://example.org/cb: http is allowed only for loopback hosts (127.0.0.1, [::1], localhost)"
        );
        assert_eq!(
            printable("https://x/\u{1b}[2J\u{202e}"),
            "https://x/\\u{1b}[2J\\u{202e}"
        );
    }

    #[test]
    fn client_ids_are_strict_and_generated_ones_pass() {
        for good in ["abc", "wise-dre01", "a.b_c-d", &"a".repeat(64)] {
            assert!(ClientId::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "ab",
            "Wise",
            "wise dre",
            "wise/dre",
            "",
            &"a".repeat(65),
            "é-client",
        ] {
            assert!(ClientId::parse(bad).is_err(), "{bad}");
        }
        let member = si_domain::AccountId::from_bytes([7; 16]).to_string();
        assert!(ClientId::parse(&member).is_ok(), "an id as stored");
        assert_eq!(
            ClientId::parse_new(&member),
            Err(ClientError::LooksLikeAccountId(member.clone())),
            "never a new client's"
        );
        let generated = ClientId::generate();
        assert!(ClientId::parse_new(generated.as_str()).is_ok());
        assert_eq!(generated.as_str().len(), 19);
        assert!(generated.as_str().starts_with("si-"));
    }

    #[test]
    fn keywords_parse_exactly() {
        assert_eq!(
            GrantType::parse("client_credentials"),
            Ok(GrantType::ClientCredentials)
        );
        assert_eq!(IdTokenAlgorithm::parse("EdDSA"), Ok(IdTokenAlgorithm::EdDsa));
        assert!(IdTokenAlgorithm::parse("none").is_err());
        assert!(IdTokenAlgorithm::parse("HS256").is_err());
        assert!(ClientKind::parse("Public").is_err());
        assert!(Scope::parse("desk:*").is_err());
        assert!(Scope::parse("desk:search").unwrap().is_desk());
        assert_eq!(
            Scope::parse("admin").unwrap_err().to_string(),
            "unknown scope \"admin\" (known: openid, profile, email, library, desk:register, desk:search, desk:link, desk:recovery, desk:audit)"
        );
    }

    fn check(
        kind: ClientKind,
        redirects: &[&str],
        grants: &[GrantType],
        scopes: &[&str],
        bound_to_library: bool,
    ) -> Result<Settings, ClientError> {
        Settings::check(
            kind,
            &redirects.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            &[],
            None,
            grants.to_vec(),
            scopes.iter().map(|s| Scope::parse(s).unwrap()).collect(),
            bound_to_library,
        )
    }

    #[test]
    fn rules_across_fields() {
        use ClientKind::*;
        use GrantType::*;
        let cb = ["https://site.example/cb"];
        assert!(
            check(
                Confidential,
                &cb,
                &[AuthorizationCode, RefreshToken],
                &["openid"],
                false
            )
            .is_ok()
        );
        assert!(check(Confidential, &[], &[ClientCredentials], &["desk:search"], true).is_ok());
        assert_eq!(
            check(Public, &[], &[ClientCredentials], &["openid"], false).unwrap_err(),
            ClientError::PublicClientCredentials
        );
        assert_eq!(
            check(Confidential, &[], &[AuthorizationCode], &["openid"], false).unwrap_err(),
            ClientError::RedirectUriRequired
        );
        assert_eq!(
            check(Confidential, &cb, &[ClientCredentials], &["openid"], false).unwrap_err(),
            ClientError::UrisWithoutAuthorizationCode
        );
        assert_eq!(
            check(
                Confidential,
                &[],
                &[ClientCredentials, RefreshToken],
                &["openid"],
                true
            )
            .unwrap_err(),
            ClientError::RefreshWithoutAuthorizationCode
        );
        assert_eq!(
            check(Confidential, &cb, &[AuthorizationCode], &["profile"], false).unwrap_err(),
            ClientError::OpenidRequired
        );
        assert_eq!(
            check(Confidential, &cb, &[], &["openid"], false).unwrap_err(),
            ClientError::NoGrantType
        );
        assert_eq!(
            check(Confidential, &[], &[ClientCredentials], &[], true).unwrap_err(),
            ClientError::NoScope
        );
        for (kind, bound) in [(Confidential, false), (Public, true)] {
            assert!(matches!(
                check(kind, &cb, &[AuthorizationCode], &["openid", "desk:audit"], bound),
                Err(ClientError::DeskScopeNotAllowed(_))
            ));
        }
        let deduplicated = check(
            Confidential,
            &["https://a.example/", "https://a.example/"],
            &[AuthorizationCode, AuthorizationCode],
            &["openid", "openid"],
            false,
        )
        .unwrap();
        assert_eq!(deduplicated.redirect_uris.len(), 1);
        assert_eq!(deduplicated.grant_types.len(), 1);
        assert_eq!(deduplicated.scopes.len(), 1);
    }

    fn client(kind: ClientKind, redirects: &[&str]) -> Client {
        Client {
            id: ClientId::parse("site").unwrap(),
            name: DisplayName::parse("Site").unwrap(),
            kind,
            settings: check(
                kind,
                redirects,
                &[GrantType::AuthorizationCode],
                &["openid"],
                false,
            )
            .unwrap(),
            library: None,
            id_token_algorithm: IdTokenAlgorithm::Rs256,
            created_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn redirect_uris_match_exactly() {
        let site = client(
            ClientKind::Confidential,
            &["https://good.example/cb", "http://127.0.0.1:8080/cb"],
        );
        assert!(site.redirect_uri_allowed("https://good.example/cb"));
        for other in [
            "https://good.example/cb/",
            "https://good.example/cb?x=1",
            "https://good.example.evil.example/cb",
            "https://GOOD.example/cb",
            "https://good.example/CB",
            "https://good.example/cb#x",
            "http://127.0.0.1:9999/cb",
        ] {
            assert!(!site.redirect_uri_allowed(other), "{other}");
        }
        assert!(!site.post_logout_redirect_uri_allowed("https://good.example/cb"));
    }

    #[test]
    fn a_public_clients_loopback_ip_redirect_may_use_any_port() {
        let app = client(
            ClientKind::Public,
            &["http://127.0.0.1/cb", "http://[::1]:1234/cb?a"],
        );
        assert!(app.redirect_uri_allowed("http://127.0.0.1:51004/cb"));
        assert!(app.redirect_uri_allowed("http://127.0.0.1/cb"));
        assert!(app.redirect_uri_allowed("http://[::1]:9/cb?a"));
        for other in [
            "http://127.0.0.1:51004/cb/x",
            "http://127.0.0.1:0/cb",
            "http://127.0.0.1:99999/cb",
            "http://127.0.0.1:80@evil.example/cb",
            "http://127.0.0.1.nip.io/cb",
            "http://127.0.0.1:80.evil.example/cb",
            "http://localhost:8080/cb",
            "http://[::1]:9/cb",
        ] {
            assert!(!app.redirect_uri_allowed(other), "{other}");
        }
    }
}
