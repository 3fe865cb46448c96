//! The pages members use on their own, without the desk: their account,
//! help, asking for a forgotten username or a new password by mail, and
//! choosing a password through a mailed link (the confirmation of a new
//! account, or a reset).

mod account;
mod dutch_words;
mod forgot;
mod help;
mod login_return;
mod new_password;
mod strength;

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Router,
    http::StatusCode,
    routing::{get, post},
};
use si_store::account_links::LinkState;

use crate::{
    app::AppState,
    http::{error::other, i18n::Language},
};

pub use account::{ACCOUNT_PATH, request_email_change};
pub use forgot::{PASSWORD_PATH as FORGOT_PASSWORD_PATH, finish_left_over as finish_recovery_requests};
pub use new_password::{ConfirmationError, send_confirmation};
pub use strength::StrengthChecks;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(ACCOUNT_PATH, get(account::show))
        .route(account::USERNAME_PATH, post(account::change_username))
        .route(account::PASSWORD_PATH, post(account::change_password))
        .route(account::EMAIL_PATH, post(account::change_email))
        .route(account::EMAIL_CANCEL_PATH, post(account::cancel_email_change))
        .route(
            account::EMAIL_CONFIRM_PATH,
            get(account::ask_to_confirm_email).post(account::confirm_email),
        )
        .route("/help", get(help::show))
        .route(
            forgot::PASSWORD_PATH,
            get(forgot::show_password).post(forgot::request_password),
        )
        .route(
            forgot::USERNAME_PATH,
            get(forgot::show_username).post(forgot::request_username),
        )
        .route(
            new_password::RESET_PATH,
            get(new_password::show_reset).post(new_password::submit_reset),
        )
        .route(new_password::RESET_DONE_PATH, get(new_password::reset_done))
        .route(
            new_password::CONFIRM_PATH,
            get(new_password::show_confirm).post(new_password::submit_confirm),
        )
        .route(new_password::RESEND_PATH, post(new_password::resend_confirmation))
        .route(strength::PATH, post(strength::judge_typed))
}

/// The status of a page for a mailed link that does not work: not found
/// for a token no link has, gone for one used or expired.
fn dead_link_status(link: &LinkState) -> StatusCode {
    match link {
        LinkState::Unknown => StatusCode::NOT_FOUND,
        _ => StatusCode::GONE,
    }
}

/// A page that tells one thing, with at most one way on.
#[derive(Template, WebTemplate)]
#[template(path = "notice.html")]
struct NoticePage {
    lang: Language,
    other_lang: Language,
    return_to: String,
    title: String,
    body: String,
    link: Option<(String, String)>,
    /// A form that posts a mailed link's token back: (action, token, text).
    button: Option<(String, String, String)>,
}

impl NoticePage {
    fn new(language: Language, return_to: &str, title: &str, body: &str) -> Self {
        Self {
            lang: language,
            other_lang: other(language),
            return_to: return_to.to_owned(),
            title: language.text(title),
            body: language.text(body),
            link: None,
            button: None,
        }
    }

    fn with_button(mut self, action: &str, token: &str, text: &str) -> Self {
        self.button = Some((action.to_owned(), token.to_owned(), self.lang.text(text)));
        self
    }

    /// The body as given, for a text with variables.
    fn with_body(mut self, body: String) -> Self {
        self.body = body;
        self
    }

    fn with_link(mut self, url: &str, text: &str) -> Self {
        self.link = Some((url.to_owned(), self.lang.text(text)));
        self
    }
}
