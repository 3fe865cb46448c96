//! "Mijn inlogaccount": the member's own account after logging in: the
//! username with "Gebruikersnaam wijzigen" right there, the recovery
//! address, the library memberships, and "Uitloggen". A username given up
//! stays held for the account for a while, so no one takes it over at once.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form,
    extract::{State, rejection::FormRejection},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use si_domain::Username;
use si_store::{Repositories, StoreError, accounts::Account};

use crate::{
    app::AppState,
    http::{
        csrf::{self, FormToken},
        error::{PageError, PageErrorKind, other},
        i18n::Language,
    },
    oidc::session,
};

pub const ACCOUNT_PATH: &str = "/account";
pub const USERNAME_PATH: &str = "/account/username";
/// How long a username given up stays held for its former owner.
const HOLD_DAYS: i64 = 90;

#[derive(Template, WebTemplate)]
#[template(path = "account.html")]
struct AccountPage {
    lang: Language,
    other_lang: Language,
    return_to: String,
    csrf: String,
    username: String,
    email: Option<String>,
    memberships: Vec<MembershipLine>,
    new_username: String,
    username_error: Option<String>,
    done: Option<String>,
}

struct MembershipLine {
    library: String,
    card_number: String,
    valid_until: String,
}

#[derive(Deserialize)]
pub struct UsernameForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
}

pub async fn show(
    State(state): State<AppState>,
    language: Language,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let Some(account) = signed_in(&state, language, &headers).await? else {
        return Ok(Redirect::to("/login").into_response());
    };
    page(&state, language, &headers, &account, Outcome::default()).await
}

pub async fn change_username(
    State(state): State<AppState>,
    language: Language,
    headers: HeaderMap,
    form: Result<Form<UsernameForm>, FormRejection>,
) -> Result<Response, PageError> {
    let Ok(Form(form)) = form else {
        return Err(PageError::new(language, PageErrorKind::BadRequest));
    };
    let Some(account) = signed_in(&state, language, &headers).await? else {
        return Ok(Redirect::to("/login").into_response());
    };
    let typed = form.username.trim().to_owned();
    let refuse = |key: &str| Outcome {
        new_username: typed.clone(),
        username_error: Some(language.text(key)),
        done: None,
    };
    if !csrf::is_valid(&headers, &form.csrf) {
        return page(&state, language, &headers, &account, refuse("login-expired-form")).await;
    }
    let Ok(new) = Username::parse(&typed) else {
        return page(&state, language, &headers, &account, refuse("username-invalid")).await;
    };
    if new == account.username {
        return page(&state, language, &headers, &account, refuse("username-same")).await;
    }
    let hold_until = state.clock().now() + time::Duration::days(HOLD_DAYS);
    let renamed = async {
        let txn = state.store.begin().await?;
        txn.accounts().change_username(&account, &new, hold_until).await?;
        txn.commit().await
    }
    .await;
    match renamed {
        Ok(()) => {
            let account = Account {
                username: new,
                ..account
            };
            let done = Outcome {
                done: Some(language.text("username-changed")),
                ..Outcome::default()
            };
            page(&state, language, &headers, &account, done).await
        }
        Err(StoreError::Duplicate { .. }) => {
            page(&state, language, &headers, &account, refuse("username-taken")).await
        }
        Err(err) => Err(PageError::internal(language, &err)),
    }
}

/// The account of this browser's session, if it is signed in.
async fn signed_in(
    state: &AppState,
    language: Language,
    headers: &HeaderMap,
) -> Result<Option<Account>, PageError> {
    let internal = |e: StoreError| PageError::internal(language, &e);
    let Some(session) = session::current(state, headers).await.map_err(internal)? else {
        return Ok(None);
    };
    state
        .store
        .accounts()
        .by_id(&session.account)
        .await
        .map_err(internal)
}

/// What the last action left to show.
#[derive(Default)]
struct Outcome {
    new_username: String,
    username_error: Option<String>,
    done: Option<String>,
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
            valid_until: m.valid_until.to_string(),
        })
        .collect();
    let status = match outcome.username_error {
        Some(_) => StatusCode::BAD_REQUEST,
        None => StatusCode::OK,
    };
    let csrf = FormToken::for_page(headers);
    let page = AccountPage {
        lang: language,
        other_lang: other(language),
        return_to: ACCOUNT_PATH.to_owned(),
        csrf: csrf.token.clone(),
        username: account.username.as_str().to_owned(),
        email: account.email.as_ref().map(|e| e.as_str().to_owned()),
        memberships,
        new_username: outcome.new_username,
        username_error: outcome.username_error,
        done: outcome.done,
    };
    Ok(csrf.attach((status, page).into_response()))
}
