//! "Mijn inlogaccount": the member's own account after logging in: the
//! username with "Gebruikersnaam wijzigen" right there, the password, the
//! recovery address, the library memberships, and "Uitloggen". A username
//! given up stays held for the account for a while, so no one takes it over
//! at once. A new password ends every other session and refresh token, and
//! this one goes on under a new token; a new address becomes the recovery
//! address only once its link is followed.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use si_credentials::{
    Verification,
    secrets::{SecretToken, digest},
};
use si_domain::{Email, Username};
use si_store::{
    Repositories, StoreError,
    account_links::{AccountLink, LinkKind, LinkPurpose, LinkState},
    accounts::Account,
    sessions::{BrowserSession, Renewal},
    throttle::ThrottlePolicy,
};

use super::{
    ConfirmationError, NoticePage, dead_link_status, forgot,
    new_password::{PasswordFields, acceptable},
};
use crate::http::page_query::{PageForm, PageQuery};
use crate::{
    app::AppState,
    http::{
        csrf::{self, FormToken},
        done_notice::DoneNotice,
        error::{BUSY_RETRY_AFTER, PageError, other},
        i18n::Language,
    },
    mail::{self, Mail},
    oidc::{
        backchannel, device,
        login::{SESSION_ENDED_PATH, retry_after, throttled_message},
        session,
    },
};

pub const ACCOUNT_PATH: &str = "/account";
pub const USERNAME_PATH: &str = "/account/username";
pub const PASSWORD_PATH: &str = "/account/password";
pub const EMAIL_PATH: &str = "/account/email";
pub const EMAIL_CONFIRM_PATH: &str = "/account/email/confirm";
pub const EMAIL_CANCEL_PATH: &str = "/account/email/cancel";
/// How long a username given up stays held for its former owner.
const HOLD_DAYS: i64 = 90;
/// Names one member may hold at once by renaming: enough to correct a typo
/// twice, too few to keep names (future card numbers) from other members.
const MOST_NAMES_HELD: usize = 3;

#[derive(Template, WebTemplate)]
#[template(path = "account.html")]
struct AccountPage {
    lang: Language,
    other_lang: Language,
    return_to: String,
    csrf: String,
    username: String,
    email: Option<String>,
    /// The sentence about an address change that waits for its link.
    pending_email: Option<String>,
    memberships: Vec<MembershipLine>,
    new_username: String,
    username_error: Option<String>,
    current_error: Option<String>,
    /// The new password was refused, and the current one is asked again.
    current_again: bool,
    /// A form of the page was refused: the title says so.
    refused: bool,
    fields: PasswordFields,
    new_email: String,
    email_error: Option<String>,
    email_current_error: Option<String>,
    done: Option<String>,
}

struct MembershipLine {
    library: String,
    card_number: String,
    valid_until: String,
}

#[derive(Deserialize)]
pub struct AccountForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    current: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    repeat: String,
    #[serde(default)]
    email: String,
}

#[derive(Deserialize)]
pub struct LinkQuery {
    #[serde(default)]
    token: String,
}

/// `?confirmed`: the member just confirmed the account and set its
/// password; `?done=<id>`: a change on this page was made.
#[derive(Deserialize)]
pub struct ShowQuery {
    confirmed: Option<String>,
    done: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    language: Language,
    headers: HeaderMap,
    PageQuery(query): PageQuery<ShowQuery>,
) -> Result<Response, PageError> {
    let Some(account) = signed_in(&state, language, &headers).await? else {
        return Ok(Redirect::to("/login").into_response());
    };
    let made = query
        .done
        .as_deref()
        .and_then(|id| DoneNotice::brought_to(&headers, id, ACCOUNT_PATH))
        .and_then(|notice| notice.done);
    let outcome = Outcome {
        done: query.confirmed.map(|_| language.text("account-ready")).or(made),
        ..Outcome::default()
    };
    let mut shown = page(&state, language, &headers, &account, outcome).await?;
    if let Some(cleared) = query.done.as_deref().and_then(DoneNotice::cleared) {
        shown.headers_mut().append(header::SET_COOKIE, cleared);
    }
    Ok(shown)
}

/// A change made: to the account page by its own GET (303), which says
/// so once, so that a reload or Back never sends the form again.
fn changed(said: String) -> Response {
    DoneNotice::for_page(ACCOUNT_PATH, Some(said), Vec::new(), None).redirect()
}

pub async fn change_username(
    State(state): State<AppState>,
    language: Language,
    headers: HeaderMap,
    PageForm(form): PageForm<AccountForm>,
) -> Result<Response, PageError> {
    let Some((form, account, _)) = posted(&state, language, &headers, form).await? else {
        return Ok(Redirect::to(SESSION_ENDED_PATH).into_response());
    };
    let typed = form.username.trim().to_owned();
    let refuse = |key: &str| Outcome {
        new_username: typed.clone(),
        username_error: Some(language.text(key)),
        ..Outcome::default()
    };
    if !csrf::is_valid(&headers, &form.csrf) {
        return page(&state, language, &headers, &account, refuse("login-expired-form")).await;
    }
    if typed.is_empty() {
        return page(&state, language, &headers, &account, refuse("username-empty")).await;
    }
    let Ok(new) = Username::parse(&typed) else {
        return page(&state, language, &headers, &account, refuse("username-invalid")).await;
    };
    if new == account.username {
        return page(&state, language, &headers, &account, refuse("username-same")).await;
    }
    let renamed = rename(&state, &account, &new).await;
    match renamed {
        Ok(Renamed::TooManyHeld { days, held }) => {
            let says = language.text_with(
                "username-too-many-held",
                &[("days", days.into()), ("held", held.into())],
            );
            let refusal = Outcome {
                new_username: typed,
                username_error: Some(says),
                ..Outcome::default()
            };
            page(&state, language, &headers, &account, refusal).await
        }
        Ok(Renamed::ChangedMeanwhile) => {
            // Another change (a second tab, a double submit with another
            // name) came first: show the name it left, change nothing.
            let current = state.store.accounts().by_id(&account.id).await;
            match current.map_err(|e| PageError::internal(language, &e))? {
                Some(current) => {
                    page(
                        &state,
                        language,
                        &headers,
                        &current,
                        refuse("username-changed-meanwhile"),
                    )
                    .await
                }
                None => Ok(Redirect::to(SESSION_ENDED_PATH).into_response()),
            }
        }
        Ok(Renamed::Done) => {
            // This browser stays the member's device under the new name.
            let device_cookie = device::renamed(&state, &headers, &account.username, &new);
            let mut response = changed(language.text("username-changed"));
            if let Some(device_cookie) = device_cookie {
                response.headers_mut().append(header::SET_COOKIE, device_cookie);
            }
            Ok(response)
        }
        Err(StoreError::Duplicate { .. }) => {
            page(&state, language, &headers, &account, refuse("username-taken")).await
        }
        Err(err) => Err(PageError::internal(language, &err)),
    }
}

/// How a rename ended.
enum Renamed {
    Done,
    /// Another change of this account (a second tab, a double submit with
    /// another name) came first.
    ChangedMeanwhile,
    /// `MOST_NAMES_HELD` names are held for the member already: the days
    /// until one is freed, and the names they may take back now.
    TooManyHeld {
        days: i64,
        held: String,
    },
}

/// Renames the account, holding its old name for it, unless it holds too
/// many; the recovery address hears of it: on a shared computer it may not
/// have been the member, who would otherwise only find out at the next
/// login. The account's row is held meanwhile, so that renames sent
/// together count each other's held names.
async fn rename(state: &AppState, account: &Account, new: &Username) -> Result<Renamed, StoreError> {
    let txn = state.store.begin().await?;
    if txn.accounts().lock(&account.id).await?.is_none() {
        return Ok(Renamed::ChangedMeanwhile);
    }
    let held = txn.accounts().names_held_for(&account.id).await?;
    let taking_back = held.iter().any(|name| name.username == new.as_str());
    if held.len() >= MOST_NAMES_HELD && !taking_back {
        let freed_first = held[held.len() - MOST_NAMES_HELD].until;
        let seconds = (freed_first - state.clock().now()).whole_seconds();
        let mut names: Vec<&str> = held.iter().map(|name| name.username.as_str()).collect();
        names.sort_unstable();
        let (days, held) = ((seconds + 86_399) / 86_400, names.join(", "));
        return Ok(Renamed::TooManyHeld { days, held });
    }
    let hold_until = state.clock().now() + time::Duration::days(HOLD_DAYS);
    if !txn.accounts().change_username(account, new, hold_until).await? {
        return Ok(Renamed::ChangedMeanwhile);
    }
    if let Some(email) = &account.email {
        let notice = Mail::UsernameChanged {
            old: account.username.as_str().to_owned(),
            new: new.as_str().to_owned(),
        };
        mail::queue(
            &txn,
            state.keyring.sealing(),
            email,
            account_language(account),
            &notice,
        )
        .await?;
    }
    txn.commit().await?;
    Ok(Renamed::Done)
}

pub async fn change_password(
    State(state): State<AppState>,
    language: Language,
    headers: HeaderMap,
    PageForm(form): PageForm<AccountForm>,
) -> Result<Response, PageError> {
    let Some((form, account, session)) = posted(&state, language, &headers, form).await? else {
        return Ok(Redirect::to(SESSION_ENDED_PATH).into_response());
    };
    let internal = |e: &(dyn std::error::Error + 'static)| PageError::internal(language, e);
    let refuse = |problems: Vec<&'static str>| Outcome {
        password_problems: problems,
        ..Outcome::default()
    };
    if !csrf::is_valid(&headers, &form.csrf) {
        return page(
            &state,
            language,
            &headers,
            &account,
            refuse(vec!["login-expired-form"]),
        )
        .await;
    }
    let cards: Vec<String> = state
        .store
        .memberships()
        .of_account(&account.id)
        .await
        .map_err(|e| internal(&e))?
        .into_iter()
        .map(|m| m.card_number.as_str().to_owned())
        .collect();
    let proving = Proving {
        account: &account,
        session: &session.digest,
    };
    if let Some(refusal) = prove_current_password(&state, language, proving, &form.current).await? {
        // What is wrong with the new password too, so that one more try
        // can get everything right; not while the page is held back (no
        // strength check spent on guesses).
        let password_problems = match refusal.busy || refusal.throttled {
            true => Vec::new(),
            false => acceptable(&state, &form.password, &form.repeat, &account, &cards)
                .await
                .err()
                .unwrap_or_default(),
        };
        let outcome = Outcome {
            current_error: Some(refusal.message),
            busy: refusal.busy,
            password_problems,
            ..Outcome::default()
        };
        return page(&state, language, &headers, &account, outcome).await;
    }
    let password = match acceptable(&state, &form.password, &form.repeat, &account, &cards).await {
        Ok(password) => password,
        Err(problems) => return page(&state, language, &headers, &account, refuse(problems)).await,
    };
    let hash = state
        .hasher
        .hash(password.expose().to_owned(), state.config.argon2())
        .await
        .map_err(|e| internal(&e))?;
    let written = async {
        let txn = state.store.begin().await?;
        if let Some(meanwhile) = proof_still_holds(&txn, &account, &session).await? {
            txn.rollback().await?;
            return Ok(Err(meanwhile));
        }
        txn.accounts().set_password_hash(&account.id, hash).await?;
        txn.account_links().end_password_links(&account.id).await?;
        // A change of address asked for with the old password is off too.
        txn.account_links()
            .end_email_change_links(&account.id, None)
            .await?;
        let ended = txn
            .sessions()
            .end_all_of(&account.id, Some(&session.digest))
            .await?;
        session::revoke_tokens_of_account(&state, &txn, &account.id, &ended).await?;
        backchannel::sessions_ended(&state, &txn, &account.id, &ended).await?;
        // This one goes on under a new token, as after a login: one learnt
        // before the change (over the shoulder, planted) gives no access.
        let cookie = match session::renew(&state, &txn, &session).await? {
            (Renewal::Ended, _) => {
                txn.rollback().await?;
                return Ok(Err(Meanwhile::SessionEnded));
            }
            // Renewed by a login in another tab: its answer has the cookie.
            (_, cookie) => cookie,
        };
        if let Some(email) = &account.email {
            let notice = Mail::PasswordChanged {
                username: account.username.as_str().to_owned(),
            };
            let sealing = state.keyring.sealing();
            mail::queue(&txn, sealing, email, account_language(&account), &notice).await?;
        }
        txn.commit().await?;
        Ok::<_, session::StartError>(Ok(cookie))
    }
    .await;
    let cookie = match written.map_err(|e| internal(&e))? {
        Ok(cookie) => cookie,
        Err(meanwhile) => {
            let refused = |message| Outcome {
                current_error: Some(message),
                ..Outcome::default()
            };
            return meanwhile
                .answer(&state, language, &headers, &account, refused)
                .await;
        }
    };
    tracing::info!(account = %account.id, "password changed; the account's other sessions ended");
    let mut answer = changed(language.text("password-changed-here"));
    if let Some(cookie) = cookie {
        answer.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(answer)
}

pub async fn change_email(
    State(state): State<AppState>,
    language: Language,
    headers: HeaderMap,
    PageForm(form): PageForm<AccountForm>,
) -> Result<Response, PageError> {
    let Some((form, account, session)) = posted(&state, language, &headers, form).await? else {
        return Ok(Redirect::to(SESSION_ENDED_PATH).into_response());
    };
    let typed = form.email.trim().to_owned();
    let refuse_with = |message: String| Outcome {
        new_email: typed.clone(),
        email_error: Some(message),
        ..Outcome::default()
    };
    let refuse = |key: &str| refuse_with(language.text(key));
    if !csrf::is_valid(&headers, &form.csrf) {
        return page(&state, language, &headers, &account, refuse("login-expired-form")).await;
    }
    let Ok(new) = Email::parse(&typed) else {
        return page(
            &state,
            language,
            &headers,
            &account,
            refuse("forgot-email-invalid"),
        )
        .await;
    };
    if account.email.as_ref() == Some(&new) {
        return page(&state, language, &headers, &account, refuse("email-same")).await;
    }
    // The address that recovers the account: not for whoever finds a
    // session left open on a library's public computer.
    let proving = Proving {
        account: &account,
        session: &session.digest,
    };
    if let Some(refusal) = prove_current_password(&state, language, proving, &form.current).await? {
        let outcome = Outcome {
            new_email: typed.clone(),
            email_current_error: Some(refusal.message),
            busy: refusal.busy,
            ..Outcome::default()
        };
        return page(&state, language, &headers, &account, outcome).await;
    }
    let queued = async {
        let txn = state.store.begin().await?;
        if let Some(meanwhile) = proof_still_holds(&txn, &account, &session).await? {
            txn.rollback().await?;
            return Ok(Err(meanwhile));
        }
        // Each change mails the address typed, and the member's own: a few
        // at once, then waits, so that no member floods someone's mailbox.
        // A change that must wait writes nothing.
        let subject = format!("email-change:{}", account.id);
        if let Some(until) = forgot::recovery_mail_wait(&txn, &subject).await? {
            txn.rollback().await?;
            return Ok(Ok(Some(until)));
        }
        let notice = Mail::EmailChangedNotice {
            username: account.username.as_str().to_owned(),
            new_email_masked: new.masked(),
        };
        request_email_change(&state, &txn, &account, &new, language, notice).await?;
        txn.commit().await?;
        Ok::<_, ConfirmationError>(Ok(None))
    }
    .await;
    let must_wait = match queued.map_err(|e| PageError::internal(language, &e))? {
        Ok(must_wait) => must_wait,
        Err(meanwhile) => {
            let refused = |message| Outcome {
                new_email: typed.clone(),
                email_current_error: Some(message),
                ..Outcome::default()
            };
            return meanwhile
                .answer(&state, language, &headers, &account, refused)
                .await;
        }
    };
    if let Some(until) = must_wait {
        let now = state.clock().now();
        let says = throttled_message(language, "email-change-throttled", now, until);
        let mut wait = page(&state, language, &headers, &account, refuse_with(says)).await?;
        *wait.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        wait.headers_mut()
            .insert(header::RETRY_AFTER, retry_after(now, until));
        return Ok(wait);
    }
    let sent = language.text_with("email-verify-sent", &[("email", new.as_str().to_owned().into())]);
    Ok(changed(sent))
}

/// "Wijziging annuleren": the link mailed for a new address (a mistyped one,
/// say) stops working, and the address stays as it is. No password is
/// asked: undoing a change that is not done yet gives no one anything.
pub async fn cancel_email_change(
    State(state): State<AppState>,
    language: Language,
    headers: HeaderMap,
    PageForm(form): PageForm<AccountForm>,
) -> Result<Response, PageError> {
    let Some((form, account, session)) = posted(&state, language, &headers, form).await? else {
        return Ok(Redirect::to(SESSION_ENDED_PATH).into_response());
    };
    if !csrf::is_valid(&headers, &form.csrf) {
        let outcome = Outcome {
            email_error: Some(language.text("login-expired-form")),
            ..Outcome::default()
        };
        return page(&state, language, &headers, &account, outcome).await;
    }
    let cancelled = async {
        let txn = state.store.begin().await?;
        // The account's row first, as in every change of it.
        txn.accounts().lock(&account.id).await?;
        if !txn.sessions().hold(&session.digest).await? {
            txn.rollback().await?;
            return Ok(None);
        }
        // Confirmed or cancelled in another tab a moment ago: nothing waits.
        let waiting = txn.account_links().pending_email_change(&account.id).await?;
        if waiting.is_some() {
            txn.account_links()
                .end_email_change_links(&account.id, None)
                .await?;
        }
        txn.commit().await?;
        Ok::<_, StoreError>(Some(waiting.is_some()))
    }
    .await;
    match cancelled.map_err(|e| PageError::internal(language, &e))? {
        None => Ok(Redirect::to(SESSION_ENDED_PATH).into_response()),
        Some(true) => {
            tracing::info!(account = %account.id, "address change cancelled");
            Ok(changed(language.text("email-change-cancelled")))
        }
        Some(false) => Ok(changed(language.text("email-change-none-waiting"))),
    }
}

/// Mails a link to `new` that makes it the recovery address once followed,
/// and `notice` to the current address (the old one stays until then), in
/// the caller's transaction. Earlier such links of the account end.
pub async fn request_email_change(
    state: &AppState,
    repositories: &impl Repositories,
    account: &Account,
    new: &Email,
    language: Language,
    notice: Mail,
) -> Result<(), ConfirmationError> {
    let token = SecretToken::generate().map_err(|_| ConfirmationError::Randomness)?;
    let valid_for = time::Duration::days(i64::from(state.config.selfservice.confirm_link_days));
    // Only the newest request may be confirmed: a link sent to a mistyped
    // address before must not make that address the account's.
    repositories
        .account_links()
        .end_email_change_links(&account.id, None)
        .await?;
    let link = AccountLink {
        account: account.id,
        purpose: LinkPurpose::ChangeEmail(new.clone()),
        expires_at: state.clock().now() + valid_for,
    };
    repositories.account_links().issue(&token.digest(), &link).await?;
    let verify = Mail::EmailChangeVerification {
        username: account.username.as_str().to_owned(),
        link: format!(
            "{}{EMAIL_CONFIRM_PATH}?token={}",
            state.public_url,
            token.expose()
        ),
    };
    mail::queue(repositories, state.keyring.sealing(), new, language, &verify).await?;
    if let Some(old) = &account.email {
        let sealing = state.keyring.sealing();
        mail::queue(repositories, sealing, old, account_language(account), &notice).await?;
    }
    Ok(())
}

/// The link mailed to a new address asks first: a mail scanner or a
/// preview that fetches it must not change the recovery address (a GET
/// changes nothing). It works without being logged in (another device).
pub async fn ask_to_confirm_email(
    State(state): State<AppState>,
    language: Language,
    PageQuery(query): PageQuery<LinkQuery>,
) -> Result<Response, PageError> {
    let found = state
        .store
        .account_links()
        .check(&digest(&query.token), LinkKind::ChangeEmail)
        .await
        .map_err(|e| PageError::internal(language, &e))?;
    // The language switch comes back to this question, link and all.
    let this_page = format!(
        "{EMAIL_CONFIRM_PATH}?{}",
        serde_urlencoded::to_string([("token", &query.token)]).unwrap_or_default()
    );
    let page = match found {
        // The page names the address the member is about to confirm.
        LinkState::Valid(AccountLink {
            purpose: LinkPurpose::ChangeEmail(new),
            ..
        }) => {
            let body = language.text_with("email-confirm-body", &[("email", new.as_str().to_owned().into())]);
            NoticePage::new(language, &this_page, "email-confirm-title", "email-confirm-body")
                .with_body(body)
                .with_button(EMAIL_CONFIRM_PATH, &query.token, "email-confirm-button")
                .into_response()
        }
        dead => dead_email_link(language, &dead),
    };
    Ok(page)
}

/// A change-of-address link that does not work: a mangled one is told apart
/// from one used or expired, as the other mailed links do.
fn dead_email_link(language: Language, dead: &LinkState) -> Response {
    let (title, body) = match dead {
        LinkState::Unknown => ("link-unknown-title", "email-link-unknown-body"),
        _ => ("link-expired-title", "email-link-expired-body"),
    };
    let page =
        NoticePage::new(language, ACCOUNT_PATH, title, body).with_link(ACCOUNT_PATH, "account-to-account");
    (dead_link_status(dead), page).into_response()
}

/// The button on that page: the address becomes the recovery address.
pub async fn confirm_email(
    State(state): State<AppState>,
    language: Language,
    PageForm(query): PageForm<LinkQuery>,
) -> Result<Response, PageError> {
    let confirmed = async {
        let txn = state.store.begin().await?;
        // The account's row first, as in every change of it: a change of
        // address asked at this moment waits instead of deadlocking.
        let token_digest = digest(&query.token);
        let links = txn.account_links();
        if let LinkState::Valid(link) = links.check(&token_digest, LinkKind::ChangeEmail).await? {
            txn.accounts().lock(&link.account).await?;
        }
        let spent = links.spend(&token_digest, LinkKind::ChangeEmail).await?;
        let LinkState::Valid(AccountLink {
            account,
            purpose: LinkPurpose::ChangeEmail(email),
            ..
        }) = spent
        else {
            return Ok(Err(spent));
        };
        txn.accounts().set_verified_email(&account, &email).await?;
        // Links mailed to the old address no longer set a password.
        txn.account_links().end_password_links(&account).await?;
        txn.commit().await?;
        Ok::<_, StoreError>(Ok(()))
    }
    .await;
    let page = match confirmed.map_err(|e| PageError::internal(language, &e))? {
        Ok(()) => NoticePage::new(
            language,
            ACCOUNT_PATH,
            "email-changed-title",
            "email-changed-body",
        )
        .with_link(ACCOUNT_PATH, "account-to-account")
        .into_response(),
        Err(dead) => dead_email_link(language, &dead),
    };
    Ok(page)
}

/// Whose current password is asked, in which session.
#[derive(Clone, Copy)]
struct Proving<'a> {
    account: &'a Account,
    /// The session's digest.
    session: &'a str,
}

/// Why the current password, asked before a change to the password or the
/// recovery address (ASVS 3.7.1), does not prove the member: `None` when it
/// does. Guesses count per session, as at the login each before its check:
/// whoever finds a session left open soon waits, while guesses at the login
/// page do not keep the member out of their own account page. When the
/// hashing threads are overloaded nothing is checked or counted: "busy, try
/// again".
async fn prove_current_password(
    state: &AppState,
    language: Language,
    Proving { account, session }: Proving<'_>,
    typed: &str,
) -> Result<Option<Refusal>, PageError> {
    let refused = |message: String| {
        Ok(Some(Refusal {
            message,
            busy: false,
            throttled: false,
        }))
    };
    // Left empty: no guess, so nothing is counted or checked.
    if typed.is_empty() {
        return refused(language.text("password-current-empty"));
    }
    let Some(_admission) = state.admit_password_check() else {
        let message = language.text("login-busy");
        return Ok(Some(Refusal {
            message,
            busy: true,
            throttled: false,
        }));
    };
    let subject = format!("session:{session}");
    let blocked = async {
        let txn = state.store.begin().await?;
        let blocked = txn
            .throttle()
            .charge(&subject, &ThrottlePolicy::default())
            .await?;
        txn.commit().await?;
        Ok::<_, si_store::StoreError>(blocked)
    }
    .await
    .map_err(|e| PageError::internal(language, &e))?;
    if let Some(until) = blocked {
        let now = state.clock().now();
        return Ok(Some(Refusal {
            message: throttled_message(language, "login-throttled", now, until),
            busy: false,
            throttled: true,
        }));
    }
    if !current_password_matches(state, account, typed).await {
        return refused(language.text("password-current-wrong"));
    }
    let reset = state.store.as_writer().await.throttle().reset(&subject).await;
    reset.map_err(|e| PageError::internal(language, &e))?;
    Ok(None)
}

/// What came in between the proof of the current password and its use.
enum Meanwhile {
    /// A logout, or a reset or change in another browser, ended this session.
    SessionEnded,
    /// The password was changed (in another tab of this session) or the
    /// account blocked: the password typed proves nothing any more.
    PasswordChanged,
}

impl Meanwhile {
    /// The answer: the login page when the session ended, else the account
    /// page with `refused` (the form's own current-password error) saying
    /// that the password typed is not the account's.
    async fn answer(
        self,
        state: &AppState,
        language: Language,
        headers: &HeaderMap,
        account: &Account,
        refused: impl FnOnce(String) -> Outcome,
    ) -> Result<Response, PageError> {
        match self {
            Meanwhile::SessionEnded => Ok(Redirect::to(SESSION_ENDED_PATH).into_response()),
            Meanwhile::PasswordChanged => {
                let outcome = refused(language.text("password-current-wrong"));
                page(state, language, headers, account, outcome).await
            }
        }
    }
}

/// Holds the account and this browser's session as the current password
/// was proven against them, to the end of `txn`; what changed, if either
/// did: a reset, a logout or a change that came in between wins. The
/// account's row first, as in every change of an account (a reset, a
/// login), so that two changes wait for each other and never deadlock.
async fn proof_still_holds(
    txn: &impl Repositories,
    account: &Account,
    session: &BrowserSession,
) -> Result<Option<Meanwhile>, StoreError> {
    let proven = account.password_hash.as_deref().unwrap_or_default();
    let still_proven = txn.accounts().hold_checked(&account.id, proven).await?;
    if !txn.sessions().hold(&session.digest).await? {
        return Ok(Some(Meanwhile::SessionEnded));
    }
    if !still_proven {
        return Ok(Some(Meanwhile::PasswordChanged));
    }
    Ok(None)
}

/// Why the current password did not prove the member.
struct Refusal {
    message: String,
    /// Nothing was checked: the hashing threads are overloaded.
    busy: bool,
    /// Held back: too many wrong guesses in this session.
    throttled: bool,
}

/// Whether `typed` is the account's password (the same hashing work either way).
async fn current_password_matches(state: &AppState, account: &Account, typed: &str) -> bool {
    let params = state.config.argon2();
    match &account.password_hash {
        Some(stored) => matches!(
            state
                .hasher
                .verify(typed.to_owned(), stored.clone(), params)
                .await,
            Ok(Verification::Match { .. })
        ),
        None => {
            let _ = state.hasher.dummy_verify(typed.to_owned(), params).await;
            false
        }
    }
}

fn account_language(account: &Account) -> Language {
    Language::from_code(&account.language).unwrap_or_default()
}

/// A form posted to the account page, with the account and session it acts
/// for; none when the browser is not signed in.
///
/// A member who chose a language with the switch acts in it, so the
/// account's mails follow it from then on, the notices of this very change
/// included. A language only the browser or a website preferred changes
/// nothing: the desk may have chosen another with the member.
async fn posted(
    state: &AppState,
    language: Language,
    headers: &HeaderMap,
    form: AccountForm,
) -> Result<Option<(AccountForm, Account, BrowserSession)>, PageError> {
    let Some((mut account, session)) = signed_in_session(state, language, headers).await? else {
        return Ok(None);
    };
    let chosen = Language::chosen(headers).filter(|chosen| *chosen != account_language(&account));
    if let Some(language) = chosen
        && csrf::is_valid(headers, &form.csrf)
    {
        let writer = state.store.as_writer().await;
        let changed = writer.accounts().set_language(&account.id, language.code()).await;
        changed.map_err(|e| PageError::internal(language, &e))?;
        account.language = language.code().to_owned();
    }
    Ok(Some((form, account, session)))
}

/// The account of this browser's session, if it is signed in.
async fn signed_in(
    state: &AppState,
    language: Language,
    headers: &HeaderMap,
) -> Result<Option<Account>, PageError> {
    Ok(signed_in_session(state, language, headers)
        .await?
        .map(|(account, _)| account))
}

/// The signed-in account and the digest of its session.
async fn signed_in_session(
    state: &AppState,
    language: Language,
    headers: &HeaderMap,
) -> Result<Option<(Account, BrowserSession)>, PageError> {
    let internal = |e: StoreError| PageError::internal(language, &e);
    let Some(session) = session::current(state, headers).await.map_err(internal)? else {
        return Ok(None);
    };
    let account = state
        .store
        .accounts()
        .by_id(&session.account)
        .await
        .map_err(internal)?;
    Ok(account.map(|account| (account, session)))
}

/// What the last action left to show.
#[derive(Default)]
struct Outcome {
    new_username: String,
    username_error: Option<String>,
    current_error: Option<String>,
    /// Text keys, as [`acceptable`] gives them.
    password_problems: Vec<&'static str>,
    new_email: String,
    email_error: Option<String>,
    email_current_error: Option<String>,
    done: Option<String>,
    /// Turned away by a rush of password checks: answered 503, try again soon.
    busy: bool,
}

async fn page(
    state: &AppState,
    language: Language,
    headers: &HeaderMap,
    account: &Account,
    outcome: Outcome,
) -> Result<Response, PageError> {
    let memberships = state
        .store
        .memberships()
        .of_account(&account.id)
        .await
        .map_err(|e| PageError::internal(language, &e))?
        .into_iter()
        .map(|m| MembershipLine {
            library: m.library_name,
            card_number: m.card_number.as_str().to_owned(),
            valid_until: language.date(m.valid_until),
        })
        .collect();
    let pending_email = state
        .store
        .account_links()
        .pending_email_change(&account.id)
        .await
        .map_err(|e| PageError::internal(language, &e))?
        .map(|new| {
            language.text_with(
                "account-email-pending",
                &[("email", new.as_str().to_owned().into())],
            )
        });
    let refused = outcome.username_error.is_some()
        || outcome.current_error.is_some()
        || !outcome.password_problems.is_empty()
        || outcome.email_error.is_some()
        || outcome.email_current_error.is_some();
    let status = match (outcome.busy, refused) {
        (true, _) => StatusCode::SERVICE_UNAVAILABLE,
        (false, true) => StatusCode::BAD_REQUEST,
        (false, false) => StatusCode::OK,
    };
    let csrf = FormToken::for_page(headers);
    let page = AccountPage {
        lang: language,
        other_lang: other(language),
        return_to: ACCOUNT_PATH.to_owned(),
        csrf: csrf.token.clone(),
        username: account.username.as_str().to_owned(),
        email: account.email.as_ref().map(|e| e.as_str().to_owned()),
        pending_email,
        memberships,
        new_username: outcome.new_username,
        username_error: outcome.username_error,
        // A refused new password empties every field of the form: the
        // current password, its first, takes the focus, and asks for the
        // password again unless it was wrong itself.
        current_again: !outcome.password_problems.is_empty() && outcome.current_error.is_none(),
        current_error: outcome.current_error,
        refused,
        fields: PasswordFields::new(language, &outcome.password_problems, false),
        new_email: outcome.new_email,
        email_error: outcome.email_error,
        email_current_error: outcome.email_current_error,
        done: outcome.done,
    };
    let mut response = csrf.attach((status, page).into_response());
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, BUSY_RETRY_AFTER);
    }
    Ok(response)
}
