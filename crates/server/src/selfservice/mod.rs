//! The pages members use on their own, without the desk: help, asking for
//! a forgotten username or a new password by mail, and choosing a new
//! password through the mailed link.

mod forgot;
mod help;
mod new_password;

use askama::Template;
use askama_web::WebTemplate;
use axum::{Router, routing::get};

use crate::{
    app::AppState,
    http::{error::other, i18n::Language},
};

pub fn routes() -> Router<AppState> {
    Router::new()
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
            get(new_password::show).post(new_password::submit),
        )
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
        }
    }

    fn with_link(mut self, url: &str, text: &str) -> Self {
        self.link = Some((url.to_owned(), self.lang.text(text)));
        self
    }
}
