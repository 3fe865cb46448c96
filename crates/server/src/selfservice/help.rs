//! "Hulp bij inloggen": linked from every page and mail. Its text and an
//! optional link to more help are configuration.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;

use super::{forgot, login_return::LoginReturn};
use crate::{
    app::{AppState, ReturnTo},
    http::{error::other, i18n::Language, is_local_path, page_query::PageQuery},
};

#[derive(Template, WebTemplate)]
#[template(path = "help.html")]
pub struct HelpPage {
    lang: Language,
    other_lang: Language,
    return_to: String,
    paragraphs: Vec<String>,
    more_url: String,
    /// The page the member came from, or else the login page.
    back: String,
    back_label: &'static str,
    /// The forgot pages, with the way back to a website's sign-in.
    forgot_password: String,
    forgot_username: String,
}

pub async fn show(
    State(state): State<AppState>,
    language: Language,
    PageQuery(came_from): PageQuery<ReturnTo>,
) -> HelpPage {
    let settings = &state.config.selfservice;
    let configured = match language {
        Language::Nl => settings.help_text_nl.clone(),
        Language::En => settings.help_text_en.clone(),
    };
    let text = configured.unwrap_or_else(|| language.text("help-body"));
    let came_from = came_from
        .path
        .filter(|path| is_local_path(path) && !path.starts_with("/help"));
    let return_to = match &came_from {
        Some(path) => format!(
            "/help?{}",
            serde_urlencoded::to_string([("return", path)]).unwrap_or_default()
        ),
        None => "/help".to_owned(),
    };
    let sign_in = LoginReturn::from_given(came_from.as_deref());
    let (back, back_label) = match came_from {
        Some(path) => (path, "help-back"),
        None => ("/login".to_owned(), "help-back-to-login"),
    };
    HelpPage {
        lang: language,
        other_lang: other(language),
        return_to,
        back,
        back_label,
        forgot_password: sign_in.add_to(forgot::PASSWORD_PATH, None),
        forgot_username: sign_in.add_to(forgot::USERNAME_PATH, None),
        paragraphs: text
            .split("\n\n")
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect(),
        // The page the mails and the desk send members to, unless the
        // pages have one of their own.
        more_url: settings
            .help_url
            .clone()
            .unwrap_or_else(|| state.config.mail.help_url.clone()),
    }
}
