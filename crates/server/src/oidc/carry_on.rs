//! A relying party may post its authorization or logout request as a form
//! from its own page (OIDC Core 3.1.2.1, RP-Initiated Logout 1.0 §2). From
//! another site the browser holds back the SameSite=Lax session cookie, so
//! the member would seem logged out. Such a request is answered with a page
//! of ours that posts the same fields again, now from this site, so the
//! cookie comes along, and never through a URL (an ID token in the history of
//! a library's shared computer). A script sends it at once; without one the
//! member presses "Doorgaan".

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    http::{HeaderMap, header},
    response::{IntoResponse, Response},
};

use super::session::SESSION_COOKIE;
use crate::http::cookies;
use crate::http::i18n::Language;

/// The field that marks a request as posted again by [`page`]: it is never
/// carried twice, so a member without a session cannot loop.
pub const CARRIED: &str = "carried";

#[derive(Template, WebTemplate)]
#[template(path = "carry_on.html")]
struct CarryOnPage {
    lang: Language,
    action: &'static str,
    fields: Vec<(String, String)>,
}

/// Whether a posted request came without the session cookie and was not
/// carried on yet.
pub fn is_needed(headers: &HeaderMap, fields: &[(String, String)]) -> bool {
    cookies::value(headers, SESSION_COOKIE).is_none() && !fields.iter().any(|(name, _)| name == CARRIED)
}

/// The page that posts `fields` (and [`CARRIED`]) to `action` again.
pub fn page(language: Language, action: &'static str, mut fields: Vec<(String, String)>) -> Response {
    fields.push((CARRIED.to_owned(), "1".to_owned()));
    let page = CarryOnPage {
        lang: language,
        action,
        fields,
    };
    ([(header::CACHE_CONTROL, "no-store")], page).into_response()
}
