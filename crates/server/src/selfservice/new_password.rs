//! "Stel je wachtwoord in" through a mailed link: the guide's five rules as
//! a checklist that ticks off while the member types (a small script; without
//! it the server's answer shows the same), both fields the same, not the
//! username or a card number, not among common passwords (zxcvbn score at
//! least 3). A new password ends every session and refresh token of the
//! account and sends a notice.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form,
    extract::{Query, State, rejection::FormRejection},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use si_credentials::secrets::digest;
use si_domain::{Password, PasswordError, PasswordRule};
use si_store::{
    Repositories,
    account_links::{LinkPurpose, LinkState},
    accounts::Account,
};

use super::{NoticePage, forgot};
use crate::{
    app::AppState,
    http::{
        csrf::{self, FormToken},
        error::{PageError, PageErrorKind, other},
        i18n::Language,
    },
    mail::{self, Mail},
};

pub const RESET_PATH: &str = "/reset-password";
/// The lowest zxcvbn score (0–4) a new password may have.
const MIN_STRENGTH: zxcvbn::Score = zxcvbn::Score::Three;

#[derive(Template, WebTemplate)]
#[template(path = "set_password.html")]
struct SetPasswordPage {
    lang: Language,
    other_lang: Language,
    return_to: String,
    action: &'static str,
    csrf: String,
    token: String,
    username: String,
    username_line: String,
    rules: Vec<RuleState>,
    same: bool,
    errors: Vec<String>,
}

struct RuleState {
    id: &'static str,
    text: String,
    met: bool,
}

#[derive(Deserialize)]
pub struct LinkQuery {
    #[serde(default)]
    token: String,
}

#[derive(Deserialize, Default)]
pub struct NewPasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    repeat: String,
}

pub async fn show(
    State(state): State<AppState>,
    language: Language,
    headers: HeaderMap,
    Query(query): Query<LinkQuery>,
) -> Result<Response, PageError> {
    let Some(account) = linked_account(&state, language, &query.token).await? else {
        return Ok(link_expired(language));
    };
    let entered = NewPasswordForm {
        token: query.token,
        ..NewPasswordForm::default()
    };
    Ok(page(
        language,
        &headers,
        &account,
        &entered,
        Vec::new(),
        StatusCode::OK,
    ))
}

pub async fn submit(
    State(state): State<AppState>,
    language: Language,
    headers: HeaderMap,
    form: Result<Form<NewPasswordForm>, FormRejection>,
) -> Result<Response, PageError> {
    let Ok(Form(form)) = form else {
        return Err(PageError::new(language, PageErrorKind::BadRequest));
    };
    let Some(account) = linked_account(&state, language, &form.token).await? else {
        return Ok(link_expired(language));
    };
    let again = |errors: Vec<String>| {
        page(
            language,
            &headers,
            &account,
            &form,
            errors,
            StatusCode::BAD_REQUEST,
        )
    };
    if !csrf::is_valid(&headers, &form.csrf) {
        return Ok(again(vec![language.text("login-expired-form")]));
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
    let password = match acceptable(&form.password, &form.repeat, &account, &cards) {
        Ok(password) => password,
        Err(problems) => {
            return Ok(again(
                problems.into_iter().map(|key| language.text(key)).collect(),
            ));
        }
    };
    let hash = state
        .hasher
        .hash(password.expose().to_owned(), state.config.argon2())
        .await
        .map_err(|e| PageError::internal(language, &e))?;
    let changed = change_password(&state, &form.token, &account, hash)
        .await
        .map_err(|e| PageError::internal(language, &e))?;
    if !changed {
        return Ok(link_expired(language));
    }
    Ok(NoticePage::new(
        language,
        "/help",
        "password-changed-title",
        "password-changed-body",
    )
    .into_response())
}

/// The account of a link that can still be used.
async fn linked_account(
    state: &AppState,
    language: Language,
    token: &str,
) -> Result<Option<Account>, PageError> {
    let found = state
        .store
        .account_links()
        .check(&digest(token), LinkPurpose::ResetPassword)
        .await
        .map_err(|e| PageError::internal(language, &e))?;
    let LinkState::Valid(link) = found else {
        return Ok(None);
    };
    state
        .store
        .accounts()
        .by_id(&link.account)
        .await
        .map_err(|e| PageError::internal(language, &e))
}

/// Spends the link and stores the password, ends every session and refresh
/// token, and queues the notice: all or nothing. False when the link was
/// used in the meantime.
async fn change_password(
    state: &AppState,
    token: &str,
    account: &Account,
    hash: String,
) -> Result<bool, si_store::StoreError> {
    let txn = state.store.begin().await?;
    let spent = txn
        .account_links()
        .spend(&digest(token), LinkPurpose::ResetPassword)
        .await?;
    if !matches!(spent, LinkState::Valid(_)) {
        return Ok(false);
    }
    let accounts = txn.accounts();
    accounts.set_password_hash(&account.id, hash).await?;
    accounts.confirm_email(&account.id).await?;
    txn.sessions().end_all_of(&account.id, None).await?;
    txn.grants().revoke_account(&account.id).await?;
    if let Some(email) = &account.email {
        let language = Language::from_code(&account.language).unwrap_or_default();
        let notice = Mail::PasswordChanged {
            username: account.username.as_str().to_owned(),
        };
        mail::queue(&txn, email, language, &notice).await?;
    }
    txn.commit().await?;
    Ok(true)
}

/// The password, or the text keys of what is wrong with it.
fn acceptable(
    typed: &str,
    repeat: &str,
    account: &Account,
    cards: &[String],
) -> Result<Password, Vec<&'static str>> {
    let password = match Password::parse(typed.to_owned()) {
        Ok(password) => password,
        Err(PasswordError::TooLong { .. }) => return Err(vec!["password-too-long"]),
        Err(PasswordError::Unmet(_)) => {
            let mut problems = vec!["password-rules-unmet"];
            if typed != repeat {
                problems.push("password-not-same");
            }
            return Err(problems);
        }
    };
    if typed != repeat {
        return Err(vec!["password-not-same"]);
    }
    let identifiers: Vec<&str> = std::iter::once(account.username.as_str())
        .chain(cards.iter().map(String::as_str))
        .collect();
    if identifiers.iter().any(|id| password.contains_identifier(id)) {
        return Err(vec!["password-contains-name"]);
    }
    if zxcvbn::zxcvbn(typed, &identifiers).score() < MIN_STRENGTH {
        return Err(vec!["password-too-common"]);
    }
    Ok(password)
}

/// The page, with the checklist showing what `entered` meets.
fn page(
    language: Language,
    headers: &HeaderMap,
    account: &Account,
    entered: &NewPasswordForm,
    errors: Vec<String>,
    status: StatusCode,
) -> Response {
    let (token, typed) = (entered.token.as_str(), entered.password.as_str());
    let rules = PasswordRule::ALL
        .into_iter()
        .map(|rule| {
            let (id, key) = match rule {
                PasswordRule::MinLength => ("min-length", "rule-min-length"),
                PasswordRule::UpperCase => ("upper-case", "rule-upper-case"),
                PasswordRule::LowerCase => ("lower-case", "rule-lower-case"),
                PasswordRule::Digit => ("digit", "rule-digit"),
                PasswordRule::Special => ("special", "rule-special"),
            };
            RuleState {
                id,
                text: language.text(key),
                met: rule.is_met_by(typed),
            }
        })
        .collect();
    let csrf = FormToken::for_page(headers);
    let username = account.username.as_str().to_owned();
    let page = SetPasswordPage {
        lang: language,
        other_lang: other(language),
        return_to: format!("{RESET_PATH}?token={token}"),
        action: RESET_PATH,
        csrf: csrf.token.clone(),
        token: token.to_owned(),
        username_line: language.text_with("set-password-for", &[("username", username.clone().into())]),
        username,
        rules,
        same: !typed.is_empty() && typed == entered.repeat,
        errors,
    };
    csrf.attach((status, page).into_response())
}

/// Not an error: the member asks for a new mail.
fn link_expired(language: Language) -> Response {
    NoticePage::new(
        language,
        forgot::PASSWORD_PATH,
        "link-expired-title",
        "link-expired-body",
    )
    .with_link(forgot::PASSWORD_PATH, "link-expired-new-mail")
    .into_response()
}
