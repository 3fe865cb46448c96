//! "Wachtwoord vergeten" (by username) and "Gebruikersnaam vergeten" (by
//! e-mail address). The answer on screen is the same whatever was typed and
//! comes as fast: looking the account up and queueing the mail happen after
//! the answer has gone, so neither the words nor the timing tell whether an
//! account exists. The request is stored before the answer, so that a node
//! that stops in between leaves it for a node to finish: a member told to
//! look in their mail gets it.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use fluent_templates::fluent_bundle::FluentValue;
use serde::Deserialize;
use si_credentials::secrets::SecretToken;
use si_domain::{AccountStatus, Email, Username};
use si_store::{
    Repositories, Transaction,
    account_links::{AccountLink, LinkPurpose},
    recovery_requests::RecoveryRequest,
    throttle::ThrottlePolicy,
};
use time::OffsetDateTime;

use super::{login_return::LoginReturn, new_password::RESET_PATH};
use crate::{
    app::{AppState, ReturnTo},
    http::{
        client_address::ClientAddress,
        csrf::{self, FormToken},
        error::{PageError, other},
        i18n::Language,
        page_query::{PageForm, PageQuery},
    },
    mail::{self, Mail},
    oidc::{
        keys::SealingKey,
        login::{retry_after, throttled_message},
    },
};

pub const PASSWORD_PATH: &str = "/forgot-password";
pub const USERNAME_PATH: &str = "/forgot-username";

#[derive(Template, WebTemplate)]
#[template(path = "forgot.html")]
struct ForgotPage {
    lang: Language,
    other_lang: Language,
    return_to: String,
    title: String,
    intro: String,
    action: &'static str,
    field: Field,
    value: String,
    error: Option<String>,
    csrf: String,
    /// The `return` field: the sign-in's login page, or empty.
    login_return: String,
    login_page: String,
}

/// The one field a forgot page asks for.
struct Field {
    name: &'static str,
    label: String,
    kind: &'static str,
    autocomplete: &'static str,
    max_length: usize,
}

#[derive(Template, WebTemplate)]
#[template(path = "check_mail.html")]
struct CheckMailPage {
    lang: Language,
    other_lang: Language,
    return_to: String,
    message: String,
    login_page: String,
}

#[derive(Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    email: String,
    /// The login page of the sign-in that sent the member here.
    #[serde(default, rename = "return")]
    login_return: String,
}

/// What the member forgot.
#[derive(Clone, Copy)]
enum Forgotten {
    Password,
    Username,
}

impl Forgotten {
    /// How a stored request names what was forgotten.
    fn stored_name(self) -> &'static str {
        match self {
            Forgotten::Password => "password",
            Forgotten::Username => "username",
        }
    }

    fn from_stored_name(name: &str) -> Option<Self> {
        [Forgotten::Password, Forgotten::Username]
            .into_iter()
            .find(|forgotten| forgotten.stored_name() == name)
    }

    fn path(self) -> &'static str {
        match self {
            Forgotten::Password => PASSWORD_PATH,
            Forgotten::Username => USERNAME_PATH,
        }
    }
}

/// A forgot page as the member came to it: what was forgotten, and the way
/// back to the sign-in that sent them, if one did.
struct Forgot {
    what: Forgotten,
    back: LoginReturn,
}

impl Forgot {
    fn page(
        &self,
        state: &AppState,
        language: Language,
        headers: &HeaderMap,
        value: String,
        error: Option<String>,
        status: StatusCode,
    ) -> Response {
        let minutes = FluentValue::from(state.config.selfservice.reset_link_minutes);
        let (title, intro, field) = match self.what {
            Forgotten::Password => (
                language.text("forgot-password-title"),
                language.text_with("forgot-password-intro", &[("minutes", minutes)]),
                Field {
                    name: "username",
                    label: language.text("login-username"),
                    kind: "text",
                    autocomplete: "username",
                    max_length: 80,
                },
            ),
            Forgotten::Username => (
                language.text("forgot-username-title"),
                language.text("forgot-username-intro"),
                Field {
                    name: "email",
                    label: language.text("forgot-email"),
                    kind: "email",
                    autocomplete: "email",
                    max_length: 254,
                },
            ),
        };
        let csrf = FormToken::for_page(headers);
        let page = ForgotPage {
            lang: language,
            other_lang: other(language),
            return_to: self.back.add_to(self.what.path(), None),
            title,
            intro,
            action: self.what.path(),
            field,
            value,
            error,
            csrf: csrf.token.clone(),
            login_return: self.back.field().to_owned(),
            login_page: self.back.login_page().to_owned(),
        };
        csrf.attach((status, page).into_response())
    }

    fn check_mail(&self, state: &AppState, language: Language) -> Response {
        let message = match self.what {
            Forgotten::Password => language.text_with(
                "check-mail-password",
                &[(
                    "minutes",
                    FluentValue::from(state.config.selfservice.reset_link_minutes),
                )],
            ),
            Forgotten::Username => language.text("check-mail-username"),
        };
        CheckMailPage {
            lang: language,
            other_lang: other(language),
            return_to: self.back.add_to(self.what.path(), None),
            message,
            login_page: self.back.login_page().to_owned(),
        }
        .into_response()
    }
}

pub async fn show_password(
    State(state): State<AppState>,
    language: Language,
    headers: HeaderMap,
    PageQuery(came_from): PageQuery<ReturnTo>,
) -> Response {
    let forgot = Forgot {
        what: Forgotten::Password,
        back: LoginReturn::from_given(came_from.path.as_deref()),
    };
    forgot.page(&state, language, &headers, String::new(), None, StatusCode::OK)
}

pub async fn show_username(
    State(state): State<AppState>,
    language: Language,
    headers: HeaderMap,
    PageQuery(came_from): PageQuery<ReturnTo>,
) -> Response {
    let forgot = Forgot {
        what: Forgotten::Username,
        back: LoginReturn::from_given(came_from.path.as_deref()),
    };
    forgot.page(&state, language, &headers, String::new(), None, StatusCode::OK)
}

pub async fn request_password(
    State(state): State<AppState>,
    language: Language,
    from: ClientAddress,
    headers: HeaderMap,
    PageForm(form): PageForm<ForgotForm>,
) -> Result<Response, PageError> {
    let asked = Asked { form, from };
    request(state, language, &headers, Forgotten::Password, asked).await
}

pub async fn request_username(
    State(state): State<AppState>,
    language: Language,
    from: ClientAddress,
    headers: HeaderMap,
    PageForm(form): PageForm<ForgotForm>,
) -> Result<Response, PageError> {
    let asked = Asked { form, from };
    request(state, language, &headers, Forgotten::Username, asked).await
}

/// A forgot page's form, and where it came from.
struct Asked {
    form: ForgotForm,
    from: ClientAddress,
}

/// Checks the form, answers "Kijk in je mail", and only then looks for the
/// account(s) and queues the mail.
async fn request(
    state: AppState,
    language: Language,
    headers: &HeaderMap,
    forgotten: Forgotten,
    Asked { form, from }: Asked,
) -> Result<Response, PageError> {
    let forgot = Forgot {
        what: forgotten,
        back: LoginReturn::from_given(Some(&form.login_return)),
    };
    let (typed, max_length) = match forgotten {
        Forgotten::Password => (form.username, 80),
        Forgotten::Username => (form.email, 254),
    };
    // No username or address holds a control character (PostgreSQL would
    // not even store a NUL): left out, as the login leaves them out.
    let typed: String = typed
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(max_length)
        .collect();
    let refuse = |key: &str| {
        Ok(forgot.page(
            &state,
            language,
            headers,
            typed.clone(),
            Some(language.text(key)),
            StatusCode::BAD_REQUEST,
        ))
    };
    if !csrf::is_valid(headers, &form.csrf) {
        return refuse("login-expired-form");
    }
    if let Some(wait) = too_often_from(&state, language, headers, &forgot, &from, &typed).await? {
        return Ok(wait);
    }
    match forgotten {
        Forgotten::Password if typed.is_empty() => return refuse("forgot-username-missing"),
        Forgotten::Username if Email::parse(&typed).is_err() => return refuse("forgot-email-invalid"),
        _ => {}
    }
    let asked = RecoveryRequest {
        kind: forgotten.stored_name().to_owned(),
        typed,
        language: language.code().to_owned(),
        login_return: forgot.back.field().to_owned(),
    };
    let id = state
        .store
        .as_writer()
        .await
        .recovery_requests()
        .add(&asked)
        .await
        .map_err(|e| PageError::internal(language, &e))?;
    tokio::spawn(finish(state.clone(), id));
    Ok(forgot.check_mail(&state, language))
}

/// Looks the account(s) up and queues the mail of the stored request
/// `id`, in one transaction with taking it; nothing when another node took
/// it. A request that fails stays for [`finish_left_over`], behind the
/// others.
async fn finish(state: AppState, id: i64) {
    if let Err(err) = try_finish(&state, id).await {
        tracing::error!("a recovery mail could not be queued, it is tried again later: {err}");
        let postponed = state
            .store
            .as_writer()
            .await
            .recovery_requests()
            .postpone(id)
            .await;
        if let Err(err) = postponed {
            tracing::warn!("a recovery request could not be put back in line: {err}");
        }
    }
}

async fn try_finish(state: &AppState, id: i64) -> Result<(), QueueError> {
    let txn = state.store.begin().await?;
    let Some(asked) = txn.recovery_requests().take(id).await? else {
        return Ok(());
    };
    let language = Language::from_code(&asked.language).unwrap_or_default();
    match Forgotten::from_stored_name(&asked.kind) {
        Some(Forgotten::Password) => {
            let back = LoginReturn::from_given(Some(&asked.login_return));
            mail_reset_link(state, &txn, &asked.typed, language, &back).await?;
        }
        Some(Forgotten::Username) => {
            if let Ok(email) = Email::parse(&asked.typed) {
                mail_usernames(&txn, state.keyring.sealing(), &email, language).await?;
            }
        }
        None => tracing::warn!(
            "a recovery request of an unknown kind ({}) is dropped",
            asked.kind
        ),
    }
    Ok(txn.commit().await?)
}

/// How long a request waits before another task takes it as left over: far
/// longer than finishing it takes.
const LEFT_OVER_AFTER: std::time::Duration = std::time::Duration::from_secs(30);

/// How long a request that keeps failing is tried: past it, the member
/// has long asked again or given up, and what they typed is not kept.
const TRIED_FOR: std::time::Duration = std::time::Duration::from_secs(24 * 60 * 60);

/// Finishes the requests a node left when it stopped (or whose mail could
/// not be queued), a hundred at a time, the longest waiting first: at start
/// those stored, then every [`LEFT_OVER_AFTER`] those older than that,
/// until `stop`. Taking a request another node is finishing takes nothing.
pub async fn finish_left_over(state: AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    // A node stops with a few under way at most.
    const BATCH: u64 = 100;
    let mut age = std::time::Duration::ZERO;
    loop {
        match state
            .store
            .as_writer()
            .await
            .recovery_requests()
            .drop_older_than(TRIED_FOR)
            .await
        {
            Ok(0) => {}
            Ok(dropped) => tracing::warn!("{dropped} recovery requests failed for a day and are dropped"),
            Err(err) => tracing::warn!("recovery requests past their day could not be dropped: {err}"),
        }
        match state.store.recovery_requests().left_over(age, BATCH).await {
            Ok(ids) => {
                for id in ids {
                    finish(state.clone(), id).await;
                }
            }
            Err(err) => tracing::warn!("recovery requests left over could not be read: {err}"),
        }
        age = LEFT_OVER_AFTER;
        tokio::select! {
            () = tokio::time::sleep(LEFT_OVER_AFTER) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Recovery requests from one address (an IPv6 /64): 30 at once, then one
/// a minute. A library's public computers share an address; a script that
/// tries every card number from one network soon waits.
const REQUESTS_PER_ADDRESS: ThrottlePolicy = ThrottlePolicy {
    free_failures: 30,
    first_block: std::time::Duration::from_secs(60),
    longest_block: std::time::Duration::from_secs(15 * 60),
    forgive_every: std::time::Duration::from_secs(60),
};

/// Counts a request from `from`; the page that says to wait when it must.
/// Every request counts alike, so the answer says nothing about accounts.
async fn too_often_from(
    state: &AppState,
    language: Language,
    headers: &HeaderMap,
    forgot: &Forgot,
    from: &ClientAddress,
    typed: &str,
) -> Result<Option<Response>, PageError> {
    let subject = format!("recovery-{}", from.throttle_subject());
    let blocked = state
        .store
        .as_writer()
        .await
        .throttle()
        .charge(&subject, &REQUESTS_PER_ADDRESS)
        .await
        .map_err(|e| PageError::internal(language, &e))?;
    let Some(until) = blocked else {
        return Ok(None);
    };
    let now = state.clock().now();
    let says = throttled_message(language, "forgot-throttled-address", now, until);
    let status = StatusCode::TOO_MANY_REQUESTS;
    let mut wait = forgot.page(state, language, headers, typed.to_owned(), Some(says), status);
    wait.headers_mut()
        .insert(header::RETRY_AFTER, retry_after(now, until));
    Ok(Some(wait))
}

/// Recovery mails to one account or address: three at once, then one after
/// a wait that doubles from 5 minutes up to an hour; one is forgiven per 20
/// minutes. Enough for a member whose first mail went astray; no flood of
/// mail for anyone whose username or address another person types.
const RECOVERY_MAILS: ThrottlePolicy = ThrottlePolicy {
    free_failures: 3,
    first_block: std::time::Duration::from_secs(5 * 60),
    longest_block: std::time::Duration::from_secs(60 * 60),
    forgive_every: std::time::Duration::from_secs(20 * 60),
};

/// Counts a recovery mail to `recipient` (an account id or an address) in
/// the caller's transaction; false when it must not go now.
pub(super) async fn may_send_recovery_mail(
    repositories: &impl Repositories,
    recipient: &str,
) -> Result<bool, si_store::StoreError> {
    let blocked = recovery_mail_wait(repositories, &format!("mail:{recipient}")).await?;
    Ok(blocked.is_none())
}

/// Counts a recovery mail under `subject` in the caller's transaction;
/// until when the next must wait, when this one must not go now.
pub(super) async fn recovery_mail_wait(
    repositories: &impl Repositories,
    subject: &str,
) -> Result<Option<OffsetDateTime>, si_store::StoreError> {
    let blocked = repositories.throttle().charge(subject, &RECOVERY_MAILS).await?;
    if blocked.is_some() {
        tracing::info!("a recovery mail was asked for too often and is not sent");
    }
    Ok(blocked)
}

#[derive(Debug, thiserror::Error)]
enum QueueError {
    #[error(transparent)]
    Store(#[from] si_store::StoreError),
    #[error("the operating system's random generator failed")]
    Randomness,
}

/// A reset link to the account's recovery address, if there is such an
/// account and it may log in (a pending account proves its address this way).
/// The link carries the way `back` to the sign-in that sent the member.
async fn mail_reset_link(
    state: &AppState,
    txn: &Transaction<'_>,
    typed: &str,
    asked_in: Language,
    back: &LoginReturn,
) -> Result<(), QueueError> {
    let Ok(username) = Username::parse(typed) else {
        return Ok(());
    };
    let Some(account) = txn.accounts().by_username(&username).await? else {
        return Ok(());
    };
    let Some(email) = account.email.clone() else {
        return Ok(());
    };
    if !matches!(account.status, AccountStatus::Active | AccountStatus::Pending) {
        return Ok(());
    }
    let token = SecretToken::generate().map_err(|_| QueueError::Randomness)?;
    let minutes = state.config.selfservice.reset_link_minutes;
    if !may_send_recovery_mail(txn, &account.id.to_string()).await? {
        return Ok(());
    }
    txn.account_links()
        .issue(
            &token.digest(),
            &AccountLink {
                account: account.id,
                purpose: LinkPurpose::ResetPassword,
                expires_at: state.clock().now() + time::Duration::minutes(i64::from(minutes)),
            },
        )
        .await?;
    // In the language of the page it was asked on: the member reads that one now.
    mail::queue(
        txn,
        state.keyring.sealing(),
        &email,
        asked_in,
        &Mail::ForgotPassword {
            username: account.username.as_str().to_owned(),
            link: format!(
                "{}{}",
                state.public_url,
                back.add_to(RESET_PATH, Some(token.expose()))
            ),
            valid_minutes: minutes,
        },
    )
    .await?;
    Ok(())
}

/// One mail listing every username on the address, typed in any case
/// (families share one). It goes to the address as the accounts have it.
async fn mail_usernames(
    txn: &Transaction<'_>,
    sealing: &SealingKey,
    typed: &Email,
    asked_in: Language,
) -> Result<(), QueueError> {
    let accounts: Vec<_> = txn
        .accounts()
        .by_email(typed)
        .await?
        .into_iter()
        .filter(|account| account.status != AccountStatus::Disabled)
        .collect();
    // The spelling typed, when an account has it as typed: the member
    // knows it reaches them, where another spelling's local part might not.
    let spellings = || accounts.iter().filter_map(|account| account.email.as_ref());
    let Some(on_record) = spellings()
        .find(|spelling| *spelling == typed)
        .or_else(|| spellings().next())
        .cloned()
    else {
        return Ok(());
    };
    // Each with the name the library knows its member by, so that a
    // parent sees which child's username is which.
    let mut usernames = Vec::with_capacity(accounts.len());
    for account in &accounts {
        let memberships = txn.memberships().of_account(&account.id).await?;
        usernames.push(match memberships.first() {
            Some(membership) => format!("{} ({})", account.username, membership.member_name),
            None => account.username.as_str().to_owned(),
        });
    }
    if may_send_recovery_mail(txn, &on_record.as_str().to_ascii_lowercase()).await? {
        let mail = Mail::ForgotUsername { usernames };
        mail::queue(txn, sealing, &on_record, asked_in, &mail).await?;
    }
    Ok(())
}
