//! The one place errors become responses: a friendly localized page for
//! people, RFC 9457 problem+json for the API. Internals never leak.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Json,
    extract::Request,
    http::{Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde::Serialize;

use super::i18n::Language;

tokio::task_local! {
    /// The address a GET asked for, while it is answered.
    static ASKED_ADDRESS: String;
}

/// Keeps the address (path and query) a GET asked for while it is answered,
/// so that the language switch of an error page comes back to it: the same
/// page in the other language, not the start page.
pub async fn keep_asked_address(request: Request, next: Next) -> Response {
    if request.method() != Method::GET {
        return next.run(request).await;
    }
    let asked = request
        .uri()
        .path_and_query()
        .map_or_else(|| "/".to_owned(), |asked| asked.as_str().to_owned());
    ASKED_ADDRESS.scope(asked, next.run(request)).await
}

/// What kind of failure a page reports; each has its own localized text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageErrorKind {
    NotFound,
    BadRequest,
    /// A body over [`super::BODY_LIMIT`]: no form of ours sends one.
    TooLarge,
    MethodNotAllowed,
    /// A website sent the member here with an unknown client or redirect URI.
    InvalidAuthorizationRequest,
    /// A website's logout names one client in its ID token and another in
    /// `client_id`: nothing is ended.
    InvalidLogoutRequest,
    /// The database cannot be reached just now: try again in a minute.
    Unavailable,
    Internal,
}

impl PageErrorKind {
    fn status(self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::BadRequest => StatusCode::BAD_REQUEST,
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::InvalidAuthorizationRequest | Self::InvalidLogoutRequest => StatusCode::BAD_REQUEST,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn key(self) -> &'static str {
        match self {
            Self::NotFound => "error-not-found",
            Self::BadRequest => "error-bad-request",
            Self::TooLarge => "error-too-large",
            Self::MethodNotAllowed => "error-method",
            Self::InvalidAuthorizationRequest => "authorize-error",
            Self::InvalidLogoutRequest => "logout-error",
            Self::Unavailable => "error-unavailable",
            Self::Internal => "error-internal",
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
struct ErrorTemplate {
    lang: Language,
    other_lang: Language,
    return_to: String,
    title: String,
    body: String,
    reference: Option<String>,
}

/// An error shown to a person, in their language.
#[derive(Debug)]
pub struct PageError {
    pub language: Language,
    pub kind: PageErrorKind,
    /// Shown on internal errors so support can find the log line.
    pub reference: Option<String>,
}

impl PageError {
    pub fn new(language: Language, kind: PageErrorKind) -> Self {
        Self {
            language,
            kind,
            reference: None,
        }
    }

    /// A form body that could not be read: too large, or otherwise unreadable.
    /// `status` is the rejection's own.
    pub fn unread_body(language: Language, status: StatusCode) -> Self {
        let kind = match status {
            StatusCode::PAYLOAD_TOO_LARGE => PageErrorKind::TooLarge,
            _ => PageErrorKind::BadRequest,
        };
        Self::new(language, kind)
    }

    /// Logs the cause under a fresh reference and shows only the reference;
    /// a database that is down or busy for now asks to try again instead.
    pub fn internal(language: Language, cause: &(dyn std::error::Error + 'static)) -> Self {
        let reference = short_reference();
        let kind = if si_store::StoreError::is_unavailable_cause(cause) {
            tracing::warn!(reference = %reference, "database unavailable: {cause}");
            PageErrorKind::Unavailable
        } else {
            tracing::error!(reference = %reference, "internal error: {cause}");
            PageErrorKind::Internal
        };
        Self {
            language,
            kind,
            reference: Some(reference),
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let lang = self.language;
        let page = ErrorTemplate {
            lang,
            other_lang: other(lang),
            return_to: ASKED_ADDRESS
                .try_with(String::clone)
                .unwrap_or_else(|_| "/".to_owned()),
            title: lang.text(&format!("{}-title", self.kind.key())),
            body: lang.text(&format!("{}-body", self.kind.key())),
            reference: self.reference,
        };
        (self.kind.status(), page).into_response()
    }
}

/// When to try again after a page said the node is busy with password
/// checks: a few seconds, by then the queue has moved on.
pub const BUSY_RETRY_AFTER: header::HeaderValue = header::HeaderValue::from_static("5");

/// The language a page offers to switch to.
pub fn other(language: Language) -> Language {
    match language {
        Language::Nl => Language::En,
        Language::En => Language::Nl,
    }
}

/// An RFC 9457 problem document for API clients.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    /// What went wrong, for people, in the language asked for.
    pub title: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// A stable, machine-readable code, e.g. `card_number_registered`.
    pub code: String,
    /// A message per invalid input field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
}

/// One invalid field of a request.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FieldProblem {
    /// The field's name in the request body, e.g. `birth_date`.
    pub field: String,
    /// A stable, machine-readable code, e.g. `invalid_birth_date`.
    pub code: String,
    pub message: String,
}

impl Problem {
    pub fn new(status: StatusCode, code: &str, title: impl Into<String>) -> Self {
        Self {
            kind: format!("urn:single-identity:problem:{code}"),
            title: title.into(),
            status: status.as_u16(),
            detail: None,
            code: code.to_owned(),
            errors: Vec::new(),
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, Json(self)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}

/// A short random reference that ties an error page to its log line.
fn short_reference() -> String {
    format!("{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff)
}
