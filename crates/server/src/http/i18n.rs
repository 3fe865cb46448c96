//! Languages: Dutch by default, English on request. Every user-facing sentence
//! comes from `locales/{nl,en}/*.ftl`, compiled into the binary.

use axum::{
    extract::{FromRequestParts, Request},
    http::{HeaderValue, Method, header, request::Parts},
    middleware::Next,
    response::Response,
};
use fluent_templates::{LanguageIdentifier, Loader, fluent_bundle::FluentValue, langid};

fluent_templates::static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "nl",
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

const NL: LanguageIdentifier = langid!("nl");
const EN: LanguageIdentifier = langid!("en");

/// The cookie that remembers the member's choice.
pub const LANGUAGE_COOKIE: &str = "si_lang";
/// The language a link asked for, kept until the browser closes for the
/// pages that page leads to.
const ASKED_LANGUAGE_COOKIE: &str = "si_lang_asked";
/// The query parameter of the links in our mails that asks for the mail's
/// language; relying parties ask with `ui_locales`.
pub const LANGUAGE_PARAMETER: &str = "lang";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    #[default]
    Nl,
    En,
}

impl Language {
    pub const ALL: [Language; 2] = [Language::Nl, Language::En];

    /// A date as staff and members read it: `31-05-2025` in Dutch,
    /// `31 May 2025` in English.
    pub fn date(self, date: time::Date) -> String {
        match self {
            Language::Nl => format!("{:02}-{:02}-{}", date.day(), u8::from(date.month()), date.year()),
            Language::En => format!("{} {} {}", date.day(), date.month(), date.year()),
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Language::Nl => "nl",
            Language::En => "en",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        match code.trim().to_ascii_lowercase().as_str() {
            "nl" => Some(Language::Nl),
            "en" => Some(Language::En),
            _ => None,
        }
    }

    /// The language the member chose with the switch, remembered in a cookie.
    pub fn chosen(headers: &axum::http::HeaderMap) -> Option<Self> {
        super::cookies::value(headers, LANGUAGE_COOKIE).and_then(Language::from_code)
    }

    /// The `Set-Cookie` value that remembers this language, chosen by the
    /// member, for a year.
    pub fn remembered(self) -> String {
        format!(
            "{LANGUAGE_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax; HttpOnly",
            self.code()
        )
    }

    /// The `Set-Cookie` value that keeps this language, asked for by a
    /// link, until the browser closes: not a choice of the member, so the
    /// next link's wish and the browser's preference still count.
    fn asked_for(self) -> String {
        format!(
            "{ASKED_LANGUAGE_COOKIE}={}; Path=/; SameSite=Lax; HttpOnly",
            self.code()
        )
    }

    /// The language a link asks for in its query: a relying party's
    /// `ui_locales` (OpenID Connect Core §3.1.2.1), or `lang` in the links
    /// of our mails.
    pub fn asked_in(query: &str) -> Option<Self> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).ok()?;
        pairs.iter().find_map(|(name, value)| match name.as_str() {
            "ui_locales" => Language::from_ui_locales(value),
            LANGUAGE_PARAMETER => Language::from_code(value),
            _ => None,
        })
    }

    /// `url` with this language asked for, for a link in a mail: the page
    /// it opens speaks the mail's language, whatever the browser prefers.
    pub fn asked_by_link(self, url: &str) -> String {
        let separator = if url.contains('?') { '&' } else { '?' };
        format!("{url}{separator}{LANGUAGE_PARAMETER}={}", self.code())
    }

    /// The first supported language in `ui_locales`: BCP 47 tags in order
    /// of preference, separated by spaces (`en-GB nl`).
    pub fn from_ui_locales(locales: &str) -> Option<Self> {
        locales
            .split_whitespace()
            .find_map(|tag| Language::from_code(tag.split('-').next()?))
    }

    /// The first supported language in an `Accept-Language` header, by weight.
    pub fn from_accept_language(header: &str) -> Option<Self> {
        let mut choices: Vec<(f32, Language)> = header
            .split(',')
            .filter_map(|part| {
                let mut pieces = part.split(';');
                let tag = pieces.next()?.trim();
                let primary = tag.split('-').next()?;
                let weight = pieces
                    .find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.parse::<f32>().ok()))
                    .unwrap_or(1.0);
                Some((weight, Language::from_code(primary)?))
            })
            .filter(|(weight, _)| *weight > 0.0)
            .collect();
        choices.sort_by(|a, b| b.0.total_cmp(&a.0));
        choices.first().map(|(_, language)| *language)
    }

    /// The text for `key` in this language.
    pub fn text(self, key: &str) -> String {
        self.text_with(key, &[])
    }
}

/// The language of a request: the member's remembered choice, else the
/// language a link asked for ([`Language::asked_in`]) in this request or
/// earlier in this browser's session, else the browser's preference, else
/// Dutch.
impl<S: Send + Sync> FromRequestParts<S> for Language {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let asked = || Language::asked_in(parts.uri.query()?);
        let from_header = || {
            parts
                .headers
                .get(axum::http::header::ACCEPT_LANGUAGE)
                .and_then(|value| value.to_str().ok())
                .and_then(Language::from_accept_language)
        };
        let asked_earlier =
            || super::cookies::value(&parts.headers, ASKED_LANGUAGE_COOKIE).and_then(Language::from_code);
        Ok(Language::chosen(&parts.headers)
            .or_else(asked)
            .or_else(asked_earlier)
            .or_else(from_header)
            .unwrap_or_default())
    }
}

/// Keeps the language a page's link asked for ([`Language::asked_in`]) for
/// the pages it leads to, until the browser closes: the forms they post
/// carry no query, and a mailed link's page leads on to the account page.
/// Not over the member's own choice.
pub async fn keep_asked_language(request: Request, next: Next) -> Response {
    let asked = (request.method() == Method::GET)
        .then(|| request.uri().query().and_then(Language::asked_in))
        .flatten()
        .filter(|_| Language::chosen(request.headers()).is_none());
    let mut response = next.run(request).await;
    let is_page = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"text/html"));
    if let Some(asked) = asked.filter(|_| is_page)
        && let Ok(cookie) = HeaderValue::from_str(&asked.asked_for())
    {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

impl Language {
    /// The text for `key` in this language, with its Fluent variables filled in.
    pub fn text_with(self, key: &str, args: &[(&'static str, FluentValue<'_>)]) -> String {
        let id = match self {
            Language::Nl => &NL,
            Language::En => &EN,
        };
        let args = args
            .iter()
            .map(|(name, value)| (std::borrow::Cow::Borrowed(*name), value.clone()))
            .collect();
        LOCALES.lookup_with_args(id, key, &args)
    }
}

/// A sentence that names an address, split around it so that a page or a
/// mail can show the address as a link. Without the address in it, the
/// whole sentence is `before`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedText {
    pub before: String,
    pub url: Option<String>,
    pub after: String,
}

impl LinkedText {
    pub fn around(text: String, url: &str) -> Self {
        match text.split_once(url).filter(|_| !url.is_empty()) {
            Some((before, after)) => LinkedText {
                before: before.to_owned(),
                url: Some(url.to_owned()),
                after: after.to_owned(),
            },
            None => LinkedText {
                before: text,
                url: None,
                after: String::new(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn keys(ftl: &str) -> BTreeSet<String> {
        ftl.lines()
            .filter(|line| line.chars().next().is_some_and(|c| c.is_ascii_lowercase()))
            .filter_map(|line| line.split_once('=').map(|(key, _)| key.trim().to_owned()))
            .collect()
    }

    #[test]
    fn every_key_exists_in_both_languages() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("locales");
        let mut files = BTreeSet::new();
        for language in Language::ALL {
            for entry in std::fs::read_dir(dir.join(language.code())).expect("locale folder") {
                files.insert(entry.expect("locale file").file_name());
            }
        }
        assert!(!files.is_empty());
        for file in files {
            let nl = std::fs::read_to_string(dir.join("nl").join(&file)).unwrap_or_default();
            let en = std::fs::read_to_string(dir.join("en").join(&file)).unwrap_or_default();
            let (nl, en) = (keys(&nl), keys(&en));
            assert!(!nl.is_empty(), "{file:?} has no keys");
            let only_nl: Vec<_> = nl.difference(&en).collect();
            let only_en: Vec<_> = en.difference(&nl).collect();
            assert!(
                only_nl.is_empty() && only_en.is_empty(),
                "{file:?}: missing in en {only_nl:?}, missing in nl {only_en:?}"
            );
        }
    }

    #[test]
    fn texts_differ_per_language() {
        assert_eq!(Language::Nl.text("error-not-found-title"), "Pagina niet gevonden");
        assert_eq!(Language::En.text("error-not-found-title"), "Page not found");
    }

    #[test]
    fn accept_language_picks_the_heaviest_supported_language() {
        assert_eq!(
            Language::from_accept_language("de-DE,en;q=0.8,nl;q=0.5"),
            Some(Language::En)
        );
        assert_eq!(
            Language::from_accept_language("nl-BE,en;q=0.9"),
            Some(Language::Nl)
        );
        assert_eq!(Language::from_accept_language("fr, de"), None);
        assert_eq!(Language::from_accept_language("en;q=0"), None);
    }
}
