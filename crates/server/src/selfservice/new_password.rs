//! "Stel je wachtwoord in" through a mailed link, the confirmation mail of a
//! new account (which also confirms the address and logs the member in) or a
//! "Wachtwoord vergeten" mail: the guide's five rules as a checklist that
//! ticks off while the member types (a small script; without it the
//! server's answer shows the same), both fields the same, not the username
//! or a card number, not easy to guess (the `strength` module). A new
//! password ends every session and refresh token of the account and sends
//! a notice.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use si_credentials::secrets::{SecretToken, digest};
use si_domain::{AccountStatus, Password, PasswordError, PasswordPolicy, PasswordRule};
use si_store::{
    Repositories,
    account_links::{AccountLink, LinkKind, LinkPurpose, LinkState},
    accounts::Account,
};

use super::{ACCOUNT_PATH, NoticePage, dead_link_status, forgot, login_return::LoginReturn, strength};
use crate::http::page_query::{PageForm, PageQuery};
use crate::{
    app::AppState,
    http::{
        csrf::{self, FormToken},
        error::{BUSY_RETRY_AFTER, PageError, PageErrorKind, other},
        i18n::Language,
    },
    mail::{self, Mail},
    oidc::{backchannel, login, session},
};

pub const RESET_PATH: &str = "/reset-password";
/// Where a password set through a reset link is said to be changed.
pub const RESET_DONE_PATH: &str = "/reset-password/done";
pub const CONFIRM_PATH: &str = "/confirm";
pub const RESEND_PATH: &str = "/confirm/new-mail";

#[derive(Template, WebTemplate)]
#[template(path = "set_password.html")]
struct SetPasswordPage {
    lang: Language,
    other_lang: Language,
    return_to: String,
    action: &'static str,
    csrf: String,
    token: String,
    /// The `return` field: the login page of the sign-in that asked for the reset, or empty.
    login_return: String,
    username: String,
    username_line: String,
    fields: PasswordFields,
}

/// The two new-password fields (`password_fields.html`). They always come
/// back empty, so every rule starts unticked (the script ticks them as the
/// member types); each error is tied to the field it is about.
pub(super) struct PasswordFields {
    pub(super) rules: Vec<Rule>,
    pub(super) errors: Vec<String>,
    pub(super) repeat_error: Option<String>,
    /// Whether the new password's field takes the focus: it is the first
    /// field to fill in again, whichever field the error is about.
    pub(super) focus: bool,
}

/// One line of the password checklist.
pub(super) struct Rule {
    pub(super) id: &'static str,
    pub(super) text: String,
}

impl PasswordFields {
    /// The fields with `problems` (text keys, as [`acceptable`] gives them).
    pub(super) fn new(language: Language, problems: &[&str], focus: bool) -> Self {
        // The guide's five, and whether it is easy to guess: the script
        // asks the server, which refuses such a password anyway.
        let rules = PasswordRule::ALL
            .into_iter()
            .map(rule_names)
            .chain([HARD_TO_GUESS])
            .map(|(id, key)| Rule {
                id,
                text: language.text(key),
            })
            .collect();
        let (repeat, password): (Vec<&str>, Vec<&str>) = problems.iter().partition(|&&key| key == NOT_SAME);
        Self {
            rules,
            errors: password.into_iter().map(|key| language.text(key)).collect(),
            repeat_error: repeat.first().map(|key| language.text(key)),
            focus,
        }
    }

    /// Whether the password was refused: the page's title says so.
    pub(super) fn refused(&self) -> bool {
        !self.errors.is_empty() || self.repeat_error.is_some()
    }
}

/// A rule's id in the page (for the script) and its text's key.
fn rule_names(rule: PasswordRule) -> (&'static str, &'static str) {
    match rule {
        PasswordRule::MinLength => ("min-length", "rule-min-length"),
        PasswordRule::UpperCase => ("upper-case", "rule-upper-case"),
        PasswordRule::LowerCase => ("lower-case", "rule-lower-case"),
        PasswordRule::Digit => ("digit", "rule-digit"),
        PasswordRule::Special => ("special", "rule-special"),
    }
}

/// The checklist's line after the guide's five rules.
const HARD_TO_GUESS: (&str, &str) = ("hard-to-guess", "rule-hard-to-guess");

/// The problem that is the repeat field's, not the password's.
const NOT_SAME: &str = "password-not-same";

#[derive(Deserialize)]
pub struct LinkQuery {
    #[serde(default)]
    token: String,
    #[serde(default, rename = "return")]
    login_return: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct NewPasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    token: String,
    #[serde(default, rename = "return")]
    login_return: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    repeat: String,
}

/// The mailed link that brought the member here: its token and, for a
/// reset asked for from a website's sign-in, the way back to it.
struct MailedLink {
    token: String,
    back: LoginReturn,
}

impl MailedLink {
    fn new(flow: Flow, token: &str, login_return: Option<&str>) -> Self {
        let back = match flow {
            Flow::Reset => LoginReturn::from_given(login_return),
            // A confirmation logs the member in and shows the account.
            Flow::Confirm => LoginReturn::default(),
        };
        Self {
            token: token.to_owned(),
            back,
        }
    }
}

/// Which mailed link brought the member here.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Flow {
    /// The confirmation mail of an account the desk made: afterwards the
    /// member is logged in and sees the account page.
    Confirm,
    /// "Wachtwoord vergeten".
    Reset,
}

impl Flow {
    fn link_kind(self) -> LinkKind {
        match self {
            Flow::Confirm => LinkKind::Confirm,
            Flow::Reset => LinkKind::ResetPassword,
        }
    }

    fn path(self) -> &'static str {
        match self {
            Flow::Confirm => CONFIRM_PATH,
            Flow::Reset => RESET_PATH,
        }
    }
}

pub async fn show_confirm(
    State(state): State<AppState>,
    language: Language,
    headers: HeaderMap,
    PageQuery(query): PageQuery<LinkQuery>,
) -> Result<Response, PageError> {
    let link = MailedLink::new(Flow::Confirm, &query.token, None);
    show(&state, language, &headers, Flow::Confirm, link).await
}

pub async fn show_reset(
    State(state): State<AppState>,
    language: Language,
    headers: HeaderMap,
    PageQuery(query): PageQuery<LinkQuery>,
) -> Result<Response, PageError> {
    let link = MailedLink::new(Flow::Reset, &query.token, query.login_return.as_deref());
    show(&state, language, &headers, Flow::Reset, link).await
}

/// The page after a password set through a reset link, shown by its own
/// GET (the form redirects here, 303), so that a reload does not send the
/// spent link again and say it no longer works. It leads on to the login
/// page of the sign-in that sent the member, when one did.
pub async fn reset_done(language: Language, PageQuery(query): PageQuery<LinkQuery>) -> Response {
    let back = LoginReturn::from_given(query.login_return.as_deref());
    // The language switch leads on to where the page does.
    NoticePage::new(
        language,
        back.login_page(),
        "password-changed-title",
        "password-changed-body",
    )
    .with_link(back.login_page(), "help-back-to-login")
    .into_response()
}

pub async fn submit_confirm(
    State(state): State<AppState>,
    language: Language,
    headers: HeaderMap,
    PageForm(form): PageForm<NewPasswordForm>,
) -> Result<Response, PageError> {
    submit(&state, language, &headers, Flow::Confirm, form).await
}

pub async fn submit_reset(
    State(state): State<AppState>,
    language: Language,
    headers: HeaderMap,
    PageForm(form): PageForm<NewPasswordForm>,
) -> Result<Response, PageError> {
    submit(&state, language, &headers, Flow::Reset, form).await
}

async fn show(
    state: &AppState,
    language: Language,
    headers: &HeaderMap,
    flow: Flow,
    link: MailedLink,
) -> Result<Response, PageError> {
    let account = match linked_account(state, language, flow, &link.token).await? {
        Ok(account) => account,
        Err(dead) => return Ok(link_not_usable(language, headers, flow, &link, dead)),
    };
    Ok(page(
        language,
        headers,
        flow,
        &account,
        &link,
        &[],
        StatusCode::OK,
    ))
}

async fn submit(
    state: &AppState,
    language: Language,
    headers: &HeaderMap,
    flow: Flow,
    form: NewPasswordForm,
) -> Result<Response, PageError> {
    let link = MailedLink::new(flow, &form.token, Some(&form.login_return));
    let account = match linked_account(state, language, flow, &link.token).await? {
        Ok(account) => account,
        Err(dead) => return Ok(link_not_usable(language, headers, flow, &link, dead)),
    };
    let again = |problems: &[&str]| {
        page(
            language,
            headers,
            flow,
            &account,
            &link,
            problems,
            StatusCode::BAD_REQUEST,
        )
    };
    if !csrf::is_valid(headers, &form.csrf) {
        return Ok(again(&["login-expired-form"]));
    }
    let cards: Vec<String> = state
        .store
        .memberships()
        .of_account(&account.id)
        .await
        .map_err(|e| PageError::internal(language, &e))?
        .into_iter()
        .map(|m| m.card_number.as_str().to_owned())
        .collect();
    let password = match acceptable(state, &form.password, &form.repeat, &account, &cards).await {
        Ok(password) => password,
        Err(problems) => return Ok(again(&problems)),
    };
    // The link stays usable: nothing is spent until the password is set.
    let Some(admission) = state.admit_password_check() else {
        let mut busy = page(
            language,
            headers,
            flow,
            &account,
            &link,
            &["login-busy"],
            StatusCode::SERVICE_UNAVAILABLE,
        );
        busy.headers_mut().insert(header::RETRY_AFTER, BUSY_RETRY_AFTER);
        return Ok(busy);
    };
    let hash = state
        .hasher
        .hash(password.expose().to_owned(), state.config.argon2())
        .await
        .map_err(|e| PageError::internal(language, &e))?;
    drop(admission);
    let changed = set_password(state, flow, &link.token, &account, hash)
        .await
        .map_err(|e| PageError::internal(language, &e))?;
    // Spent meanwhile, by the same link sent twice at once.
    if !changed {
        return Ok(link_not_usable(
            language,
            headers,
            flow,
            &link,
            DeadLink::Link(LinkState::Used(account.id)),
        ));
    }
    match flow {
        Flow::Reset => tracing::info!(account = %account.id, "password reset through a mailed link"),
        Flow::Confirm => tracing::info!(account = %account.id, "address confirmed and password set"),
    }
    match flow {
        Flow::Reset => Ok(Redirect::to(&link.back.add_to(RESET_DONE_PATH, None)).into_response()),
        Flow::Confirm => {
            // Logged in as at the login page: another member's session in
            // this browser (a shared computer) ends, and its sites are told.
            let internal = |e: &(dyn std::error::Error + 'static)| PageError::internal(language, e);
            let earlier = session::to_log_in_or_out(state, headers)
                .await
                .map_err(|e| internal(&e))?;
            let txn = state.store.begin().await.map_err(|e| internal(&e))?;
            let (_, cookie, ended) = session::start_or_renew(state, &txn, &account.id, earlier)
                .await
                .map_err(|e| internal(&e))?;
            if let Some((earlier_account, ended)) = ended {
                backchannel::sessions_ended(state, &txn, &earlier_account, &[ended])
                    .await
                    .map_err(|e| internal(&e))?;
            }
            txn.commit().await.map_err(|e| internal(&e))?;
            let mut response = Redirect::to(&format!("{ACCOUNT_PATH}?confirmed")).into_response();
            if let Some(cookie) = cookie {
                response.headers_mut().append(header::SET_COOKIE, cookie);
            }
            Ok(response)
        }
    }
}

/// A new confirmation mail for an account whose link expired before the
/// member used it. Any other link gets the page that says what to do instead.
pub async fn resend_confirmation(
    State(state): State<AppState>,
    language: Language,
    headers: HeaderMap,
    PageForm(form): PageForm<NewPasswordForm>,
) -> Result<Response, PageError> {
    let internal = |e: &(dyn std::error::Error + 'static)| PageError::internal(language, e);
    let found = state
        .store
        .account_links()
        .check(&digest(&form.token), LinkKind::Confirm)
        .await
        .map_err(|e| internal(&e))?;
    if let LinkState::Valid(_) = found {
        // Still good (a second click, or the back button): use it.
        let query = serde_urlencoded::to_string([("token", form.token.as_str())]).unwrap_or_default();
        return Ok(Redirect::to(&format!("{CONFIRM_PATH}?{query}")).into_response());
    }
    let LinkState::Expired(account_id) = found else {
        return Ok(link_not_usable(
            language,
            &headers,
            Flow::Confirm,
            &MailedLink::new(Flow::Confirm, &form.token, None),
            DeadLink::Link(found),
        ));
    };
    if !csrf::is_valid(&headers, &form.csrf) {
        return Err(PageError::new(language, PageErrorKind::BadRequest));
    }
    let account = state
        .store
        .accounts()
        .by_id(&account_id)
        .await
        .map_err(|e| internal(&e))?
        .filter(|a| a.status == AccountStatus::Pending)
        .ok_or(PageError::new(language, PageErrorKind::NotFound))?;
    let txn = state.store.begin().await.map_err(|e| internal(&e))?;
    // An expired link can be sent here again and again.
    if forgot::may_send_recovery_mail(&txn, &account.id.to_string())
        .await
        .map_err(|e| internal(&e))?
    {
        send_confirmation(&state, &txn, &account)
            .await
            .map_err(|e| internal(&e))?;
    }
    txn.commit().await.map_err(|e| internal(&e))?;
    Ok(NoticePage::new(language, "/help", "check-mail-title", "confirm-resent-body").into_response())
}

#[derive(Debug, thiserror::Error)]
pub enum ConfirmationError {
    #[error(transparent)]
    Store(#[from] si_store::StoreError),
    #[error("the operating system's random generator failed")]
    Randomness,
}

/// Issues a confirmation link for a pending account and queues its mail,
/// in the caller's transaction (so a registration and its mail commit
/// together). Nothing to send without a recovery address.
pub async fn send_confirmation(
    state: &AppState,
    repositories: &impl Repositories,
    account: &Account,
) -> Result<(), ConfirmationError> {
    let Some(email) = &account.email else {
        return Ok(());
    };
    let token = SecretToken::generate().map_err(|_| ConfirmationError::Randomness)?;
    let days = state.config.selfservice.confirm_link_days;
    repositories
        .account_links()
        .issue(
            &token.digest(),
            &AccountLink {
                account: account.id,
                purpose: LinkPurpose::Confirm,
                expires_at: state.clock().now() + time::Duration::days(i64::from(days)),
            },
        )
        .await?;
    let name = repositories
        .memberships()
        .of_account(&account.id)
        .await?
        .first()
        .map(|m| m.member_name.as_str().to_owned())
        .unwrap_or_default();
    let language = Language::from_code(&account.language).unwrap_or_default();
    let mail = Mail::AccountConfirmation {
        name,
        username: account.username.as_str().to_owned(),
        link: format!("{}{CONFIRM_PATH}?token={}", state.public_url, token.expose()),
    };
    mail::queue(repositories, state.keyring.sealing(), email, language, &mail).await?;
    Ok(())
}

/// Why a mailed link leads nowhere.
enum DeadLink {
    Link(LinkState),
    /// The link is fine, but its account was switched off.
    AccountDisabled,
    /// A confirmation link ended unused: the account still waits, for the
    /// link of a newer mail (its address was corrected at the desk, say).
    Superseded,
}

/// The account of a link that can still be used, or what the link is
/// instead. A link of a disabled account is dead: setting a password must
/// not bring the account back.
async fn linked_account(
    state: &AppState,
    language: Language,
    flow: Flow,
    token: &str,
) -> Result<Result<Account, DeadLink>, PageError> {
    let internal = |e: si_store::StoreError| PageError::internal(language, &e);
    let found = state
        .store
        .account_links()
        .check(&digest(token), flow.link_kind())
        .await
        .map_err(internal)?;
    let (link, account) = match found {
        LinkState::Valid(ref link) => (Some(link), link.account),
        LinkState::Used(account) if flow == Flow::Confirm => (None, account),
        _ => return Ok(Err(DeadLink::Link(found))),
    };
    let account = state.store.accounts().by_id(&account).await.map_err(internal)?;
    Ok(match (link, account) {
        (None, Some(account)) if account.status == AccountStatus::Pending => Err(DeadLink::Superseded),
        (None, _) => Err(DeadLink::Link(found)),
        (Some(_), None) => Err(DeadLink::Link(LinkState::Unknown)),
        (Some(_), Some(account)) if account.status == AccountStatus::Disabled => {
            Err(DeadLink::AccountDisabled)
        }
        (Some(_), Some(account)) => Ok(account),
    })
}

/// Spends the link and stores the password (the address is confirmed by
/// the same token), ends every session and refresh token, and queues the
/// notice of a reset: all or nothing. Then the clients of the ended
/// sessions are told. False when the link was used in the meantime.
async fn set_password(
    state: &AppState,
    flow: Flow,
    token: &str,
    account: &Account,
    hash: String,
) -> Result<bool, si_store::StoreError> {
    let txn = state.store.begin().await?;
    // The account's row first, as in every change of it: a login or a
    // change on the account page at this moment waits instead of
    // deadlocking (PostgreSQL), and then finds the new password.
    txn.accounts().lock(&account.id).await?;
    let spent = txn
        .account_links()
        .spend(&digest(token), flow.link_kind())
        .await?;
    if !matches!(spent, LinkState::Valid(_)) {
        txn.rollback().await?;
        return Ok(false);
    }
    // A confirmation link and a reset link both set the password: whichever
    // was used, the other kind is spent too. So is a change of address that
    // whoever had the old password may have asked for.
    txn.account_links().end_password_links(&account.id).await?;
    txn.account_links()
        .end_email_change_links(&account.id, None)
        .await?;
    // Whoever got this link owns the recovery address: guesses at the
    // username by others no longer keep them waiting.
    txn.throttle()
        .reset(&login::username_subject(account.username.as_str()))
        .await?;
    let accounts = txn.accounts();
    accounts.set_password_hash(&account.id, hash).await?;
    accounts.confirm_email(&account.id).await?;
    let ended = txn.sessions().end_all_of(&account.id, None).await?;
    crate::oidc::session::revoke_tokens_of_account(state, &txn, &account.id, &ended).await?;
    backchannel::sessions_ended(state, &txn, &account.id, &ended).await?;
    if let (Flow::Reset, Some(email)) = (flow, &account.email) {
        let language = Language::from_code(&account.language).unwrap_or_default();
        let notice = Mail::PasswordChanged {
            username: account.username.as_str().to_owned(),
        };
        mail::queue(&txn, state.keyring.sealing(), email, language, &notice).await?;
    }
    txn.commit().await?;
    Ok(true)
}

/// The password, or the text keys of what is wrong with it.
pub(super) async fn acceptable(
    state: &AppState,
    typed: &str,
    repeat: &str,
    account: &Account,
    cards: &[String],
) -> Result<Password, Vec<&'static str>> {
    let password = match Password::parse(typed.to_owned()) {
        Ok(password) => password,
        Err(PasswordError::TooLong { .. }) => return Err(vec!["password-too-long"]),
        Err(PasswordError::UntypableCharacter) => return Err(vec!["password-untypable-character"]),
        // Each rule not met, by name: the fields come back empty.
        Err(PasswordError::Unmet(rules)) => {
            let mut problems = vec!["password-rules-unmet"];
            problems.extend(rules.into_iter().map(|rule| rule_names(rule).1));
            if typed != repeat {
                problems.push(NOT_SAME);
            }
            return Err(problems);
        }
    };
    if typed != repeat {
        return Err(vec![NOT_SAME]);
    }
    let identifiers: Vec<&str> = std::iter::once(account.username.as_str())
        .chain(cards.iter().map(String::as_str))
        .collect();
    // Judged in the form it is hashed and checked in: full-width
    // "Ｗｅｌｋｏｍ０１！" logs in as "Welkom01!" too, so it is as easy to guess.
    let as_checked = si_credentials::normalized_password(password.expose());
    if identifiers
        .iter()
        .any(|id| PasswordPolicy::contains_identifier(&as_checked, id))
    {
        return Err(vec!["password-contains-name"]);
    }
    if strength::easy_to_guess(state, &as_checked, &identifiers).await {
        return Err(vec!["password-too-common"]);
    }
    Ok(password)
}

/// The page for `link`, with `problems` (text keys) of the last try.
fn page(
    language: Language,
    headers: &HeaderMap,
    flow: Flow,
    account: &Account,
    link: &MailedLink,
    problems: &[&str],
    status: StatusCode,
) -> Response {
    let csrf = FormToken::for_page(headers);
    let username = account.username.as_str().to_owned();
    let page = SetPasswordPage {
        lang: language,
        other_lang: other(language),
        return_to: link.back.add_to(flow.path(), Some(&link.token)),
        action: flow.path(),
        csrf: csrf.token.clone(),
        token: link.token.clone(),
        login_return: link.back.field().to_owned(),
        username_line: language.text_with("set-password-for", &[("username", username.clone().into())]),
        username,
        fields: PasswordFields::new(language, problems, true),
    };
    csrf.attach((status, page).into_response())
}

/// Not an error page: what the member can do instead, answered as a link
/// that is not one (404) or no longer works (410). An expired confirmation
/// link of an account still waiting offers a new mail at once.
fn link_not_usable(
    language: Language,
    headers: &HeaderMap,
    flow: Flow,
    link: &MailedLink,
    dead: DeadLink,
) -> Response {
    let status = match &dead {
        DeadLink::Link(found) => dead_link_status(found),
        DeadLink::AccountDisabled | DeadLink::Superseded => StatusCode::GONE,
    };
    let mut response = what_to_do_instead(language, headers, flow, link, dead);
    *response.status_mut() = status;
    response
}

fn what_to_do_instead(
    language: Language,
    headers: &HeaderMap,
    flow: Flow,
    link: &MailedLink,
    dead: DeadLink,
) -> Response {
    let token = &link.token;
    let new_mail = link.back.add_to(forgot::PASSWORD_PATH, None);
    let found = match dead {
        DeadLink::Link(found) => found,
        DeadLink::AccountDisabled => {
            return NoticePage::new(
                language,
                flow.path(),
                "link-expired-title",
                "link-account-disabled-body",
            )
            .with_link("/help", "help-link")
            .into_response();
        }
        DeadLink::Superseded => {
            return NoticePage::new(
                language,
                CONFIRM_PATH,
                "link-expired-title",
                "confirm-superseded-body",
            )
            .with_link("/help", "help-link")
            .into_response();
        }
    };
    match (flow, found) {
        (Flow::Confirm, LinkState::Expired(_)) => {
            let csrf = FormToken::for_page(headers);
            let page = ResendPage {
                lang: language,
                other_lang: other(language),
                return_to: format!("{CONFIRM_PATH}?token={token}"),
                action: RESEND_PATH,
                csrf: csrf.token.clone(),
                token: token.to_owned(),
            };
            csrf.attach(page.into_response())
        }
        (Flow::Confirm, LinkState::Unknown) => NoticePage::new(
            language,
            CONFIRM_PATH,
            "link-unknown-title",
            "confirm-unknown-body",
        )
        .with_link("/help", "help-link")
        .into_response(),
        (Flow::Confirm, _) => {
            NoticePage::new(language, CONFIRM_PATH, "link-expired-title", "confirm-used-body")
                .with_link("/login", "help-back-to-login")
                .into_response()
        }
        (Flow::Reset, LinkState::Unknown) => NoticePage::new(
            language,
            forgot::PASSWORD_PATH,
            "link-unknown-title",
            "reset-unknown-body",
        )
        .with_link(&new_mail, "link-expired-new-mail")
        .into_response(),
        (Flow::Reset, _) => NoticePage::new(
            language,
            forgot::PASSWORD_PATH,
            "link-expired-title",
            "link-expired-body",
        )
        .with_link(&new_mail, "link-expired-new-mail")
        .into_response(),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "resend_confirmation.html")]
struct ResendPage {
    lang: Language,
    other_lang: Language,
    return_to: String,
    action: &'static str,
    csrf: String,
    token: String,
}
