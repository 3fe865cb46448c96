//! "Hulp bij inloggen": linked from every page and mail. Its text and an
//! optional link to more help are configuration.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;

use crate::{
    app::AppState,
    http::{error::other, i18n::Language},
};

#[derive(Template, WebTemplate)]
#[template(path = "help.html")]
pub struct HelpPage {
    lang: Language,
    other_lang: Language,
    return_to: String,
    paragraphs: Vec<String>,
    more_url: Option<String>,
}

pub async fn show(State(state): State<AppState>, language: Language) -> HelpPage {
    let settings = &state.config.selfservice;
    let configured = match language {
        Language::Nl => settings.help_text_nl.clone(),
        Language::En => settings.help_text_en.clone(),
    };
    let text = configured.unwrap_or_else(|| language.text("help-body"));
    HelpPage {
        lang: language,
        other_lang: other(language),
        return_to: "/help".to_owned(),
        paragraphs: text
            .split("\n\n")
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect(),
        more_url: settings.help_url.clone(),
    }
}
