//! The dev mailbox at `/dev/mail`, only with `serve --demo`: the mails the
//! demo wrote to `<data_dir>/mail`, newest first, each shown as its HTML
//! part exactly as a member's mail program would get it, so the link in a
//! confirmation mail can be clicked.

use std::{path::PathBuf, time::SystemTime};

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::State,
    http::header,
    response::{IntoResponse, Response},
};
use mail_parser::MessageParser;
use time::{OffsetDateTime, format_description::BorrowedFormatItem, macros::format_description};

use crate::http::page_query::PagePath;
use crate::{
    app::AppState,
    http::{
        error::{PageError, PageErrorKind, other},
        i18n::Language,
    },
    mail::delivery::mail_dir,
};

/// Lets a mail's own inline styles and https images through, nothing else.
const MAIL_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const SHOWN: usize = 200;

struct Listed {
    id: String,
    received: String,
    to: String,
    subject: String,
    /// The mail's own language (`Content-Language`), which the list's
    /// page need not share.
    language: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "demo_mailbox.html")]
struct MailboxPage {
    lang: Language,
    other_lang: Language,
    return_to: String,
    mails: Vec<Listed>,
}

const RECEIVED: &[BorrowedFormatItem<'static>] =
    format_description!("[day]-[month]-[year] [hour]:[minute]:[second] UTC");

pub async fn list(State(state): State<AppState>, language: Language) -> Result<Response, PageError> {
    let dir = mail_dir(&state.config);
    let mails = tokio::task::spawn_blocking(move || newest(dir))
        .await
        .map_err(|e| PageError::internal(language, &e))?;
    let page = MailboxPage {
        lang: language,
        other_lang: other(language),
        return_to: "/dev/mail".to_owned(),
        mails,
    };
    Ok(([(header::CACHE_CONTROL, "no-store")], page).into_response())
}

/// The newest mails in the directory; files that are not mail are passed by.
fn newest(dir: PathBuf) -> Vec<Listed> {
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<(SystemTime, String)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let id = name.strip_suffix(".eml").filter(|id| is_mail_id(id))?.to_owned();
            let modified = entry.metadata().and_then(|m| m.modified()).ok()?;
            Some((modified, id))
        })
        .collect();
    files.sort_by(|a, b| b.cmp(a));
    files
        .into_iter()
        .take(SHOWN)
        .filter_map(|(modified, id)| {
            let bytes = std::fs::read(dir.join(format!("{id}.eml"))).ok()?;
            let message = MessageParser::default().parse(&bytes)?;
            let to = message
                .to()
                .and_then(|to| to.first())
                .and_then(|address| address.address())
                .unwrap_or_default()
                .to_owned();
            Some(Listed {
                received: OffsetDateTime::from(modified)
                    .format(RECEIVED)
                    .unwrap_or_default(),
                to,
                subject: message.subject().unwrap_or_default().to_owned(),
                language: message
                    .header_raw("Content-Language")
                    .map(str::trim)
                    .filter(|code| Language::from_code(code).is_some())
                    .unwrap_or_default()
                    .to_owned(),
                id,
            })
        })
        .collect()
}

/// lettre names its files after a UUID: nothing else is ever opened.
fn is_mail_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
}

/// One mail's HTML part, as the member would see it.
pub async fn show(
    State(state): State<AppState>,
    PagePath(id): PagePath<String>,
    language: Language,
) -> Result<Response, PageError> {
    let not_found = || PageError::new(language, PageErrorKind::NotFound);
    if !is_mail_id(&id) {
        return Err(not_found());
    }
    let path = mail_dir(&state.config).join(format!("{id}.eml"));
    let bytes = tokio::fs::read(&path).await.map_err(|_| not_found())?;
    let html = MessageParser::default()
        .parse(&bytes)
        .and_then(|message| message.body_html(0).map(|html| html.into_owned()))
        .ok_or_else(not_found)?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, MAIL_POLICY),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response())
}
