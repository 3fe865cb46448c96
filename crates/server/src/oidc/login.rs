//! The central login page of the desk guide: "Inloggen", Gebruikersnaam,
//! Wachtwoord. One message for an unknown username and a wrong password,
//! with the same work done for both; failures throttled per username and
//! per source address; legacy hashes upgraded to argon2id on success. A
//! login without a client leads to the member's own account page.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use fluent_templates::fluent_bundle::FluentValue;
use serde::{Deserialize, Serialize};
use si_credentials::{Admission, HashFormat, Verification};
use si_domain::{AccountStatus, Username};
use si_store::{
    Repositories,
    accounts::Account,
    sessions::BrowserSession,
    throttle::{ThrottlePolicy, Wait},
};
use time::OffsetDateTime;

use super::{
    authorize::{self, AuthorizationRequest, Refusal, ValidRequest},
    backchannel, device, session,
};
use crate::http::page_query::{PageForm, PageQuery};
use crate::{
    app::AppState,
    frontoffice::FRONTOFFICE_PATH,
    http::{
        client_address::ClientAddress,
        csrf::{self, FormToken},
        error::{BUSY_RETRY_AFTER, PageError, other},
        i18n::Language,
    },
    selfservice::ACCOUNT_PATH,
};

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
struct LoginPage {
    lang: Language,
    other_lang: Language,
    return_to: String,
    csrf: String,
    request: String,
    /// "Log in to continue to …": the website the login leads back to.
    continue_to: Option<String>,
    username: String,
    error: Option<String>,
    /// Why the member is here, when it is no error of theirs.
    notice: Option<String>,
    /// The fields the message is about: both when the username or password
    /// was wrong, the one left empty; none when the form expired, the
    /// member must wait or the node is busy.
    username_invalid: bool,
    password_invalid: bool,
    /// Where the keyboard starts: the password once the username is filled
    /// in (a password is never shown again), unless only the username is
    /// marked as left empty.
    focus_password: bool,
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    request: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

/// What the login page carries through its form: an authorization request
/// of a client, or (none given) one of our own pages to return to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginRequest {
    #[serde(flatten)]
    authorization: AuthorizationRequest,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
    /// `?session_ended`: a form came after the member's session had ended
    /// ([`SESSION_ENDED_PATH`]). Said once, not carried on.
    #[serde(skip_serializing)]
    session_ended: Option<String>,
}

/// Where a form of the member's own pages sends a member whose session
/// ended meanwhile: the login page says why they are there and that what
/// they typed was not kept.
pub const SESSION_ENDED_PATH: &str = "/login?session_ended";

/// Where a login leads: back to a client with a code, or (no client named)
/// to one of our own pages: the desk console when asked for, else the
/// member's own account page.
enum Destination {
    Client(Box<ValidRequest>),
    OwnPage(String),
}

impl Destination {
    async fn of(state: &AppState, request: LoginRequest) -> Result<Self, Refusal> {
        if request.authorization == AuthorizationRequest::default() {
            let page = request
                .next
                .filter(|next| is_own_page(next))
                .unwrap_or_else(|| ACCOUNT_PATH.to_owned());
            return Ok(Destination::OwnPage(page));
        }
        Ok(Destination::Client(Box::new(
            authorize::validate(state, request.authorization).await?,
        )))
    }

    /// The name of the website the login leads back to, as registered.
    fn website(&self) -> Option<&str> {
        match self {
            Destination::Client(valid) => Some(valid.client.name().as_str()),
            Destination::OwnPage(_) => None,
        }
    }
}

/// Only the desk console, never another site: `next` must not become an open redirect.
fn is_own_page(next: &str) -> bool {
    let rest = next.strip_prefix(FRONTOFFICE_PATH);
    rest.is_some_and(|rest| {
        (rest.is_empty() || rest.starts_with('/'))
            && rest
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_'))
            && !rest.contains("//")
    })
}

pub async fn show(
    State(state): State<AppState>,
    language: Language,
    headers: HeaderMap,
    PageQuery(request): PageQuery<LoginRequest>,
) -> Result<Response, PageError> {
    let destination = match Destination::of(&state, request.clone()).await {
        Err(refusal) => return Ok(authorize::refuse(&state, language, refusal)),
        Ok(destination) => destination,
    };
    if let Destination::OwnPage(page) = &destination {
        let signed_in = session::current(&state, &headers)
            .await
            .map_err(|e| PageError::internal(language, &e))?;
        if signed_in.is_some() {
            return Ok(Redirect::to(page).into_response());
        }
    }
    let carried = serde_urlencoded::to_string(&request).unwrap_or_default();
    let notice = request
        .session_ended
        .is_some()
        .then(|| language.text("login-session-ended"));
    // A website's `login_hint` fills in the username (OIDC Core 3.1.2.1)
    // when it is one; the member may change it.
    let hinted_username = request
        .authorization
        .login_hint
        .as_deref()
        .and_then(|hint| Username::parse(hint).ok())
        .map(|username| username.as_str().to_owned())
        .unwrap_or_default();
    Ok(page(
        language,
        &headers,
        (carried, destination.website()),
        hinted_username,
        (None, notice),
        (StatusCode::OK, Marked::default()),
    ))
}

pub async fn submit(
    State(state): State<AppState>,
    language: Language,
    client_address: ClientAddress,
    headers: HeaderMap,
    PageForm(form): PageForm<LoginForm>,
) -> Result<Response, PageError> {
    let arrived = tokio::time::Instant::now();
    // The page wrote this field, percent-encoded and so all ASCII; one
    // that no longer reads as one request was edited, and is answered as
    // `/authorize` answers such a query, never taken for a login without a
    // website. Other characters came from bytes the form's decoding could
    // not read (U+FFFD): what `state` was is lost, and nothing goes back.
    if !form.request.is_ascii() {
        return Ok(authorize::refuse(&state, language, Refusal::Page));
    }
    let Some(request) = authorize::read_request::<LoginRequest>(&form.request) else {
        return Ok(authorize::unreadable(&state, language, &form.request).await);
    };
    // The form posts without the query that carried `ui_locales`: the
    // answer stays in the language the form was shown in.
    let language = match &request.authorization.ui_locales {
        Some(locales) if Language::chosen(&headers).is_none() => {
            Language::from_ui_locales(locales).unwrap_or(language)
        }
        _ => language,
    };
    let destination = match Destination::of(&state, request).await {
        Ok(destination) => destination,
        Err(refusal) => return Ok(authorize::refuse(&state, language, refusal)),
    };
    let website = destination.website().map(str::to_owned);
    let username_typed: String = form.username.trim().chars().take(80).collect();
    let password_empty = form.password.is_empty();
    let again = |error: String, status| {
        let marked = match status {
            StatusCode::UNAUTHORIZED => Marked {
                username: true,
                password: true,
            },
            StatusCode::UNPROCESSABLE_ENTITY => Marked {
                username: username_typed.is_empty(),
                password: password_empty,
            },
            _ => Marked::default(),
        };
        page(
            language,
            &headers,
            (form.request.clone(), website.as_deref()),
            username_typed.clone(),
            (Some(error), None),
            (status, marked),
        )
    };
    if !csrf::is_valid(&headers, &form.csrf) {
        return Ok(again(
            language.text("login-expired-form"),
            StatusCode::BAD_REQUEST,
        ));
    }
    // A field left empty (the browser's own check skipped): said so, and
    // nothing counted, for no password was tried.
    if username_typed.is_empty() || password_empty {
        return Ok(again(
            language.text("login-fields-empty"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ));
    }

    // An attempt that would wait too long for the hashing threads is
    // turned away before it counts for any throttle or joins the queue:
    // past that, a rush only makes every member wait longer, and members
    // who reload add checks for tabs already closed.
    let busy = || {
        let mut busy = again(language.text("login-busy"), StatusCode::SERVICE_UNAVAILABLE);
        busy.headers_mut().insert(header::RETRY_AFTER, BUSY_RETRY_AFTER);
        busy
    };
    if !state.password_check_has_room() {
        return Ok(busy());
    }
    let internal = |e: &(dyn std::error::Error + 'static)| PageError::internal(language, e);
    // Each attempt counts before its password is checked, so that attempts
    // sent side by side cannot all slip in before the first failure is on
    // record. The username as the check looks it up: whitespace inside what
    // was typed must not make a fresh count for the same account.
    let username = Username::parse(&form.username).ok();
    // The browser's session as it is now, before the check: a second login
    // sent beside this one with the same cookie finds the session too, not
    // the cookie this one's renewal would leave it behind with.
    let earlier = session::to_log_in_or_out(&state, &headers)
        .await
        .map_err(|e| internal(&e))?;
    let account = match &username {
        Some(username) => (state.store.accounts().by_username(username).await).map_err(|e| internal(&e))?,
        None => None,
    };
    let counted_as = username
        .as_ref()
        .map_or(username_typed.as_str(), Username::as_str);
    // Who and from where, for the log: the account, never what was typed,
    // which may be a password typed in the wrong field.
    let account_logged = account
        .as_ref()
        .map_or_else(|| "none".to_owned(), |a| a.id.to_string());
    let address = client_address.0;
    let of_this_device = account
        .as_ref()
        .and_then(|account| device::recognised(&state, &headers, account));
    // The address first: an address that must wait adds nothing to the
    // username's count. A browser that logged in to the account before is
    // counted on its own: its attempts guess at no other username, and a
    // guesser on the same network (a school's) must not keep it out with
    // the address.
    let counts = match of_this_device {
        Some(device) => vec![(device, &USERNAME)],
        None => vec![
            (client_address.throttle_subject(), &ADDRESS),
            (username_subject(counted_as), &USERNAME),
        ],
    };
    let blocked = async {
        let txn = state.store.begin().await?;
        for (charged, (subject, counter)) in counts.iter().enumerate() {
            if let Some(wait) = txn.throttle().charge_attempt(subject, &counter.policy).await? {
                // Turned away: the counts it made so far (the address's,
                // when the username must wait) stay, as failures.
                for (earlier, _) in &counts[..charged] {
                    txn.throttle().attempt_failed(earlier).await?;
                }
                txn.commit().await?;
                return Ok(Some(told(counter.says, wait, state.clock().now())));
            }
        }
        txn.commit().await?;
        Ok::<_, si_store::StoreError>(None)
    }
    .await
    .map_err(|e| internal(&e))?;
    if let Some((says, until)) = blocked {
        tracing::info!(account = %account_logged, %address, "login throttled");
        let now = state.clock().now();
        let mut wait = again(
            throttled_message(language, says, now, until),
            StatusCode::TOO_MANY_REQUESTS,
        );
        wait.headers_mut()
            .insert(header::RETRY_AFTER, retry_after(now, until));
        return Ok(wait);
    }
    // The place in line is taken only now, so that attempts waiting for the
    // throttle's write hold none. Attempts that arrived together see each
    // other here; one turned away gets its counts back.
    let Some(admission) = state.admit_password_check() else {
        let given_back = async {
            let txn = state.store.begin().await?;
            for (subject, counter) in &counts {
                txn.throttle().attempt_succeeded(subject, &counter.policy).await?;
            }
            txn.commit().await
        };
        given_back.await.map_err(|e| internal(&e))?;
        return Ok(busy());
    };
    // The check and what follows run on their own: a member who closes the
    // tab or reloads while the password is checked still gets the attempt
    // back when it was right, as if they had waited.
    let attempt = Attempt {
        account,
        earlier,
        password: form.password,
        place_in_line: admission,
    };
    let finish = finish_login(state.clone(), language, destination, attempt, counts);
    match tokio::spawn(finish).await {
        Ok(Ok(Some(response))) => {
            tracing::info!(account = %account_logged, %address, "logged in");
            Ok(response)
        }
        Ok(Ok(None)) => {
            // Counted as a failure already. A migrated account's legacy
            // check (bcrypt, scrypt: tens of milliseconds) comes on top of
            // the argon2id work an unknown username gets: the answer waits,
            // so its time does not tell which accounts still hold one.
            tracing::info!(account = %account_logged, %address, "login failed");
            tokio::time::sleep_until(arrived + state.config.hashing.failed_login()).await;
            Ok(again(language.text("login-failed"), StatusCode::UNAUTHORIZED))
        }
        Ok(Err(error)) => Err(error),
        Err(panicked) => Err(internal(&panicked)),
    }
}

/// A login attempt admitted to the password check.
struct Attempt {
    /// None when no account has the username typed.
    account: Option<Account>,
    /// The browser's session when the attempt arrived.
    earlier: Option<BrowserSession>,
    password: String,
    /// Held until the check ends, hashes and all.
    place_in_line: Admission,
}

/// Checks the password; when it is right, gives the attempt back to the
/// address, clears the count it was made under (the username's, or this
/// device's: a member logging in on their own device gives a guesser
/// elsewhere no fresh tries), records the login and answers with the
/// session and a renewed device cookie; none when it is wrong, its counts
/// kept as failures.
async fn finish_login(
    state: AppState,
    language: Language,
    destination: Destination,
    attempt: Attempt,
    counts: Vec<(String, &'static Counter)>,
) -> Result<Option<Response>, PageError> {
    let internal = |e: &(dyn std::error::Error + 'static)| PageError::internal(language, e);
    let checked = check_password(&state, attempt.account, attempt.password).await;
    drop(attempt.place_in_line);
    let failed = || async {
        let txn = state.store.begin().await?;
        for (subject, _) in &counts {
            txn.throttle().attempt_failed(subject).await?;
        }
        txn.commit().await
    };
    let Some((account, checked_hash)) = checked.map_err(|e| internal(&e))? else {
        failed().await.map_err(|e| internal(&e))?;
        return Ok(None);
    };
    // What a login writes commits at once, in one turn as SQLite's
    // writer: separate statements would each meet the others in
    // SQLite's busy handler, which sleeps while the hashing threads
    // run out of work.
    let txn = state.store.begin().await.map_err(|e| internal(&e))?;
    // The password was right for the hash it was checked against; a change
    // or a reset that came in since has ended that password. The account's
    // row first, as in every change of it, so that a reset at this moment
    // waits for this login (or this login for it) instead of deadlocking.
    let recorded = txn.accounts().record_login(&account.id, &checked_hash).await;
    if !recorded.map_err(|e| internal(&e))? {
        txn.rollback().await.map_err(|e| internal(&e))?;
        failed().await.map_err(|e| internal(&e))?;
        return Ok(None);
    }
    for (subject, counter) in &counts {
        let settled = if counter.cleared_by_success {
            txn.throttle().reset(subject).await
        } else {
            txn.throttle().attempt_succeeded(subject, &counter.policy).await
        };
        settled.map_err(|e| internal(&e))?;
    }
    let (session, session_cookie, ended) =
        session::start_or_renew(&state, &txn, &account.id, attempt.earlier)
            .await
            .map_err(|e| internal(&e))?;
    let mut response = match destination {
        Destination::Client(valid) => authorize::complete(&state, &txn, language, &session, &valid).await?,
        Destination::OwnPage(page) => Redirect::to(&page).into_response(),
    };
    if let Some((earlier_account, ended)) = ended {
        backchannel::sessions_ended(&state, &txn, &earlier_account, &[ended])
            .await
            .map_err(|e| internal(&e))?;
    }
    txn.commit().await.map_err(|e| internal(&e))?;
    if let Some(session_cookie) = session_cookie {
        response.headers_mut().append(header::SET_COOKIE, session_cookie);
    }
    if let Some(device_cookie) = device::cookie_for(&state, &account.username) {
        response.headers_mut().append(header::SET_COOKIE, device_cookie);
    }
    Ok(Some(response))
}

/// What the username throttle counts a username's attempts under: what
/// was typed without control characters, which no username holds and
/// PostgreSQL cannot store all of (a NUL).
pub(crate) fn username_subject(username: &str) -> String {
    let typed: String = username.chars().filter(|c| !c.is_control()).collect();
    format!("user:{typed}")
}

/// A throttle count that login attempts are made under.
struct Counter {
    policy: ThrottlePolicy,
    /// What a blocked attempt is told: when failures hold it back, and
    /// when attempts still being checked do (several logins sent at once).
    says: (&'static str, Option<&'static str>),
    /// A success clears the count (a username's, a device's), or only
    /// gives its attempt back (an address's, which others share).
    cleared_by_success: bool,
}

/// Per address: a library's public computers share one, so it gets far
/// more room, and its failures leak away fast: one per 30 seconds. Its
/// message fits failures and attempts in flight alike: its block need not
/// mean that anyone typed a wrong password.
const ADDRESS: Counter = Counter {
    policy: ThrottlePolicy {
        free_failures: 50,
        forgive_every: std::time::Duration::from_secs(30),
        ..ThrottlePolicy::DEFAULT
    },
    says: ("login-throttled-address", None),
    cleared_by_success: false,
};

/// Per username, or per device of a username: slower after 5 failures, one
/// forgiven per 15 minutes.
const USERNAME: Counter = Counter {
    policy: ThrottlePolicy::DEFAULT,
    says: ("login-throttled", Some("login-throttled-in-flight")),
    cleared_by_success: true,
};

/// When to try again while attempts in flight hold a username back: as
/// the page says, a few seconds.
const IN_FLIGHT_RETRY: time::Duration = time::Duration::seconds(2);

/// What a blocked attempt is told, and until when it waits: attempts in
/// flight end within seconds, and the wait with them.
fn told(
    (for_failures, for_attempts_in_flight): (&'static str, Option<&'static str>),
    wait: Wait,
    now: OffsetDateTime,
) -> (&'static str, OffsetDateTime) {
    match (wait.for_attempts_in_flight, for_attempts_in_flight) {
        (true, Some(says)) => (says, now + IN_FLIGHT_RETRY),
        _ => (for_failures, wait.until),
    }
}

#[derive(Debug, thiserror::Error)]
enum LoginError {
    #[error(transparent)]
    Store(#[from] si_store::StoreError),
    #[error(transparent)]
    Credentials(#[from] si_credentials::CredentialError),
}

/// `account` (the one with the username typed, if any) and the hash the
/// password was found right for. An unknown username, a legacy hash and an
/// unreadable one cost the same hashing work as a current hash, so timing
/// tells nothing. A hash upgraded on the way replaces the one checked only
/// while the account still has that one.
async fn check_password(
    state: &AppState,
    account: Option<Account>,
    password: String,
) -> Result<Option<(Account, String)>, LoginError> {
    let params = state.config.argon2();
    let usable = account.filter(|a| a.status == AccountStatus::Active && a.password_hash.is_some());
    let Some(account) = usable else {
        state.hasher.dummy_verify(password, params).await?;
        return Ok(None);
    };
    let stored = account.password_hash.clone().unwrap_or_default();
    match state
        .hasher
        .verify(password.clone(), stored.clone(), params)
        .await
    {
        Ok(Verification::Match { needs_upgrade: false }) => Ok(Some((account, stored))),
        Ok(Verification::Match { needs_upgrade: true }) => {
            let fresh = state.hasher.hash(password, params).await?;
            let writer = state.store.as_writer().await;
            let upgraded = writer
                .accounts()
                .replace_password_hash(&account.id, &stored, fresh.clone())
                .await?;
            Ok(upgraded.then_some((account, fresh)))
        }
        Ok(Verification::Mismatch) => {
            // A migrated legacy hash is checked in about a millisecond: without
            // the argon2id work a known account would answer faster than an
            // unknown one (a match pays it in the upgrade above).
            if HashFormat::detect(&stored).is_ok_and(HashFormat::is_legacy) {
                state.hasher.dummy_verify(password, params).await?;
            }
            Ok(None)
        }
        // Longer than any password we accept: refused before any hashing, for
        // every account alike. Wrong, not a fault of the stored hash.
        Err(si_credentials::CredentialError::PasswordTooLong { .. }) => Ok(None),
        // A stored hash we cannot read must not let anyone in, nor crash the
        // page, nor answer faster than a wrong password.
        Err(err) => {
            tracing::warn!(account = %account.id, "stored password hash unusable: {err}");
            state.hasher.dummy_verify(password, params).await?;
            Ok(None)
        }
    }
}

/// `Retry-After` for a subject blocked until `until`: whole seconds, rounded
/// up, so that a client that waits this long is not blocked still.
pub(crate) fn retry_after(now: OffsetDateTime, until: OffsetDateTime) -> HeaderValue {
    HeaderValue::from(seconds_until(now, until))
}

/// The whole seconds from `now` to `until`, rounded up, at least one: what
/// `Retry-After` says, so that a retry at that second is never early.
pub(crate) fn seconds_until(now: OffsetDateTime, until: OffsetDateTime) -> i64 {
    let millis = (until - now).whole_milliseconds().max(1);
    i64::try_from((millis + 999) / 1000).unwrap_or(i64::MAX)
}

/// "Try again in N minutes", for a throttled password attempt: the text
/// `key` (`login-throttled` for a username) with the minutes filled in.
pub(crate) fn throttled_message(
    language: Language,
    key: &str,
    now: OffsetDateTime,
    until: OffsetDateTime,
) -> String {
    let minutes = ((until - now).whole_seconds() + 59) / 60;
    language.text_with(key, &[("minutes", FluentValue::from(minutes.max(1)))])
}

/// The fields a login page marks as wrong (or left empty).
#[derive(Clone, Copy, Default)]
struct Marked {
    username: bool,
    password: bool,
}

/// The login page, carrying `request` through its form, for the website
/// named (none: one of our own pages).
fn page(
    language: Language,
    headers: &HeaderMap,
    (request, website): (String, Option<&str>),
    username: String,
    (error, notice): (Option<String>, Option<String>),
    (status, marked): (StatusCode, Marked),
) -> Response {
    let csrf = FormToken::for_page(headers);
    let focus_password = !username.is_empty() && (marked.password || !marked.username);
    let page = LoginPage {
        lang: language,
        other_lang: other(language),
        // The language switch keeps the notice, and where the login leads
        // (the desk's form, after its session ended).
        return_to: match (notice.is_some(), request.is_empty()) {
            (true, true) => SESSION_ENDED_PATH.to_owned(),
            (true, false) => format!("{SESSION_ENDED_PATH}&{request}"),
            (false, _) => format!("/login?{request}"),
        },
        csrf: csrf.token.clone(),
        request,
        continue_to: website
            .map(|name| language.text_with("login-continue-to", &[("website", name.to_owned().into())])),
        username,
        error,
        notice,
        username_invalid: marked.username,
        password_invalid: marked.password,
        focus_password,
    };
    let mut response = csrf.attach((status, page).into_response());
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use si_store::throttle::Wait;
    use time::macros::datetime;

    use super::{ADDRESS, USERNAME, is_own_page, told};

    #[test]
    fn a_wait_for_attempts_in_flight_says_a_few_seconds_for_a_username_only() {
        let now = datetime!(2026-12-05 21:00 UTC);
        let wait = |for_attempts_in_flight| Wait {
            until: now + time::Duration::seconds(30),
            for_attempts_in_flight,
        };
        let (address, username) = (ADDRESS.says, USERNAME.says);
        assert_eq!(
            told(username, wait(true), now),
            ("login-throttled-in-flight", now + time::Duration::seconds(2))
        );
        assert_eq!(
            told(username, wait(false), now),
            ("login-throttled", now + time::Duration::seconds(30))
        );
        // An address's message fits both, with the wait its count made.
        assert_eq!(
            told(address, wait(true), now),
            ("login-throttled-address", now + time::Duration::seconds(30))
        );
    }

    #[test]
    fn only_the_desk_console_is_a_page_to_return_to() {
        for good in [
            "/frontoffice",
            "/frontoffice/DRE01",
            "/frontoffice/DRE01/register",
        ] {
            assert!(is_own_page(good), "{good}");
        }
        for bad in [
            "https://evil.example/frontoffice",
            "//evil.example",
            "/frontofficex",
            "/frontoffice//evil.example",
            "/frontoffice/../account",
            "/frontoffice/a?b",
            "/account",
            "",
        ] {
            assert!(!is_own_page(bad), "{bad}");
        }
    }
}
